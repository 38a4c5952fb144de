//! The documentation holds together: every relative link in the README and `docs/` points at a
//! file that exists and, with `#anchor`, at a heading it has; the README stays a newcomer's
//! page (at most 450 lines, the two commands in its first section).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The README and every Markdown file under docs/ and its folders (docs/protocols/).
fn documents() -> Vec<PathBuf> {
    fn under(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir).expect("docs/ and its folders are readable");
        for path in entries.map(|e| e.expect("a docs/ entry").path()) {
            if path.is_dir() {
                under(&path, out);
            } else if path.extension().is_some_and(|x| x == "md") {
                out.push(path);
            }
        }
    }
    let mut more = Vec::new();
    under(&root().join("docs"), &mut more);
    more.sort();
    let mut docs = vec![root().join("README.md")];
    docs.extend(more);
    docs
}

/// The text with fenced code blocks and inline code spans blanked out: links and headings
/// inside code are not links or headings.
fn prose(text: &str) -> String {
    let mut out = String::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            out.push('\n');
            continue;
        }
        if fenced {
            out.push('\n');
            continue;
        }
        let mut in_code = false;
        for c in line.chars() {
            if c == '`' {
                in_code = !in_code;
            }
            out.push(if in_code || c == '`' { ' ' } else { c });
        }
        out.push('\n');
    }
    out
}

/// GitHub's anchor for a heading: lower case, punctuation dropped (but `-` and `_`), spaces
/// as `-`; a repeated heading gets `-1`, `-2`.
fn anchors(text: &str) -> HashSet<String> {
    let mut seen = HashSet::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        if fenced || !line.starts_with('#') {
            continue;
        }
        let title = line.trim_start_matches('#').trim();
        let slug: String = title
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let mut candidate = slug.clone();
        let mut n = 0;
        while seen.contains(&candidate) {
            n += 1;
            candidate = format!("{slug}-{n}");
        }
        seen.insert(candidate);
    }
    seen
}

/// Every `[text](target)` of the prose, with its line.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, line) in prose(text).lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            out.push((i + 1, after[..end].to_string()));
            rest = &after[end..];
        }
    }
    out
}

fn check(doc: &Path, target: &str) -> Result<(), String> {
    if target.starts_with("http://")
        || target.starts_with("https://")
        || target.starts_with("mailto:")
    {
        return Ok(());
    }
    let (path, anchor) = match target.split_once('#') {
        Some((p, a)) => (p, Some(a)),
        None => (target, None),
    };
    let file = if path.is_empty() {
        doc.to_path_buf()
    } else {
        doc.parent().expect("a document's folder").join(path)
    };
    if !file.exists() {
        return Err(format!("{path}: no such file"));
    }
    if let Some(anchor) = anchor {
        let text = std::fs::read_to_string(&file).map_err(|e| format!("{path}: {e}"))?;
        if !anchors(&text).contains(anchor) {
            return Err(format!("{target}: no heading with that anchor"));
        }
    }
    Ok(())
}

#[test]
fn every_relative_link_in_the_readme_and_docs_points_at_a_file_and_heading_that_exist() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).expect("a readable document");
        for (line, target) in links(&text) {
            checked += 1;
            if let Err(why) = check(&doc, &target) {
                let name = doc
                    .strip_prefix(root())
                    .unwrap_or(&doc)
                    .display()
                    .to_string();
                broken.push(format!("{name}:{line}: {why}"));
            }
        }
    }
    assert!(
        checked > 30,
        "only {checked} links found: is the link scanner broken?"
    );
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_link_checker_finds_a_broken_file_and_a_broken_anchor() {
    let doc = root().join("README.md");
    assert!(check(&doc, "docs/matchers.md#matchers").is_ok());
    assert!(check(&doc, "docs/nothing.md").is_err());
    assert!(check(&doc, "docs/format.md#no-such-heading").is_err());
    assert_eq!(
        links("see [a](x.md) and `[b](y.md)` and [c](z.md#w)"),
        vec![(1, "x.md".to_string()), (1, "z.md#w".to_string())]
    );
    let slugs = anchors("# A `b` c!\n## Steps\n## Steps\n```\n# not\n```\n");
    assert!(slugs.contains("a-b-c") && slugs.contains("steps") && slugs.contains("steps-1"));
    assert!(!slugs.contains("not"));
}

#[test]
fn the_readme_is_a_newcomers_page_with_the_two_commands_first() {
    let text = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let lines = text.lines().count();
    assert!(
        lines <= 450,
        "README.md has {lines} lines: move details to docs/"
    );
    let first = text.split("\n## ").nth(1).expect("a first section");
    assert!(first.starts_with("Quick start"), "{first}");
    assert!(first.contains("cargo run --release -- collections/websocket.yaml"));
    assert!(first.contains("./scripts/test"));
    assert!(std::fs::read_to_string(root().join(".ci/run"))
        .expect(".ci/run")
        .contains("./scripts/test"));
}
