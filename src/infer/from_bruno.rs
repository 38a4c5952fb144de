//! `wsrun new --from-bruno DIR`: the WebSocket requests of a Bruno collection — `.bru` files
//! with `meta { type: ws }`, their `ws { url, auth }`, `headers`, `auth:bearer`/`auth:basic`
//! and the `body:ws { name, type, content: '''…''' }` messages to send. The collection's name
//! comes from its `bruno.json`.

use std::path::{Path, PathBuf};

use super::import::{
    basic_auth, name_from_url, read_text, translate, Dialect, Import, ImportError, Payload, Session,
};

/// One `tag { … }` block of a `.bru` file: its inner lines and the line it starts on.
struct Block {
    tag: String,
    lines: Vec<String>,
}

/// A block's `key: value` entries (a `'''` value spans the lines up to the closing `'''`),
/// with whether each is enabled (`~key` is not).
type Entries = Vec<(String, String, bool)>;

/// Reads a Bruno collection folder (or one `.bru` file).
pub fn read(path: &Path) -> Result<Import, ImportError> {
    let source = path.display().to_string();
    let mut import = Import {
        tool: "Bruno",
        flag: "--from-bruno",
        source: source.clone(),
        ..Import::default()
    };
    let files = if path.is_dir() {
        import.name = collection_name(path);
        let mut files = Vec::new();
        bru_files(path, &mut files).map_err(|source| ImportError::Read {
            file: path.display().to_string(),
            source,
        })?;
        environment(&path.join("environments"), &mut import)?;
        files
    } else {
        vec![path.to_path_buf()]
    };
    let mut requests = Vec::new();
    for file in &files {
        let text = read_text(file)?;
        let blocks = blocks(&text).map_err(|(line, message)| ImportError::Format {
            file: format!("{}:{line}", file.display()),
            message,
        })?;
        let meta = entries(find(&blocks, "meta"));
        if value(&meta, "type") != Some("ws") {
            continue;
        }
        let seq = value(&meta, "seq")
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(f64::MAX);
        requests.push((file.parent().map(Path::to_path_buf), seq, blocks, meta));
    }
    if requests.is_empty() {
        return Err(ImportError::Empty(format!(
            "no WebSocket requests in {source} ({} .bru {}, none with `meta {{ type: ws }}`)",
            files.len(),
            if files.len() == 1 { "file" } else { "files" }
        )));
    }
    // Bruno's order: by folder, then `seq` within it.
    requests.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    for (_, _, blocks, meta) in requests {
        let session = session(&blocks, &meta, &mut import.notes);
        import.sessions.push(session);
    }
    Ok(import)
}

/// The first environment's `vars` (by file name) as the collection's variables; the others,
/// and secrets (`vars:secret`, whose values Bruno keeps outside the file), are listed.
fn environment(dir: &Path, import: &mut Import) -> Result<(), ImportError> {
    let Ok(entries_of_dir) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let mut files: Vec<PathBuf> = entries_of_dir
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "bru"))
        .collect();
    files.sort();
    let stem = |p: &Path| {
        p.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    for (i, file) in files.iter().enumerate() {
        if i > 0 {
            import.notes.push(format!(
                "environment `{}`: give its values with --var NAME=VALUE",
                stem(file)
            ));
            continue;
        }
        let text = read_text(file)?;
        let blocks = blocks(&text).map_err(|(line, message)| ImportError::Format {
            file: format!("{}:{line}", file.display()),
            message,
        })?;
        for (key, value, on) in entries(find(&blocks, "vars")) {
            if !on {
                continue;
            }
            match translate(&value, Dialect::Bruno, &mut Vec::new()) {
                Ok(v) => import.vars.push((key, v)),
                Err(why) => import
                    .notes
                    .push(format!("variable `{key}`, because {why}")),
            }
        }
        if let Some(secret) = find(&blocks, "vars:secret") {
            let names: Vec<String> = secret
                .lines
                .iter()
                .map(|l| {
                    l.trim()
                        .trim_end_matches(',')
                        .trim_start_matches('~')
                        .to_string()
                })
                .filter(|l| !l.is_empty())
                .collect();
            if !names.is_empty() {
                import.notes.push(format!(
                    "environment `{}`'s secrets ({}): give them with --secret NAME=VALUE",
                    stem(file),
                    names.join(", ")
                ));
            }
        }
    }
    Ok(())
}

/// `bruno.json`'s `name`, else the folder's.
fn collection_name(dir: &Path) -> String {
    let from_json = std::fs::read_to_string(dir.join("bruno.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(String::from));
    from_json.unwrap_or_else(|| {
        dir.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    })
}

/// The request files under `dir`, by path; the collection's and folders' own settings files
/// and `environments/` left out.
fn bru_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if path.is_dir() {
            if !name.starts_with('.') && name != "environments" && name != "node_modules" {
                bru_files(&path, out)?;
            }
        } else if name.ends_with(".bru") && name != "collection.bru" && name != "folder.bru" {
            out.push(path);
        }
    }
    Ok(())
}

/// Splits a `.bru` file into its blocks; `Err` holds a line number and what is wrong there.
fn blocks(text: &str) -> Result<Vec<Block>, (usize, String)> {
    let mut out: Vec<Block> = Vec::new();
    let mut open: Option<Block> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        match open.as_mut() {
            Some(block) => {
                if line == "}" || line == "]" {
                    out.extend(open.take());
                } else {
                    block.lines.push(line.to_string());
                }
            }
            None if line.trim().is_empty() => {}
            None => {
                // `tag {` opens a block of entries or text; `tag [` a list (`vars:secret [`).
                let Some(tag) = line.strip_suffix(['{', '[']).map(str::trim) else {
                    return Err((
                        i + 1,
                        format!(
                            "expected a block such as `meta {{`, found `{}`",
                            line.trim()
                        ),
                    ));
                };
                if tag.is_empty() || tag.contains(char::is_whitespace) {
                    return Err((i + 1, format!("`{line}` does not name a block")));
                }
                open = Some(Block {
                    tag: tag.to_string(),
                    lines: Vec::new(),
                });
            }
        }
    }
    if let Some(block) = open {
        return Err((
            text.lines().count(),
            format!("the `{}` block is not closed with `}}`", block.tag),
        ));
    }
    Ok(out)
}

fn find<'a>(blocks: &'a [Block], tag: &str) -> Option<&'a Block> {
    blocks.iter().find(|b| b.tag == tag)
}

/// The `key: value` entries of a block.
fn entries(block: Option<&Block>) -> Entries {
    let Some(block) = block else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut lines = block.lines.iter();
    while let Some(line) = lines.next() {
        let line = line.trim();
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let (key, enabled) = match key.trim().strip_prefix('~') {
            Some(k) => (k, false),
            None => (key.trim(), true),
        };
        let key = key.trim_matches('"').replace("\\\"", "\"");
        let value = value.trim();
        if value == "'''" {
            let mut text = Vec::new();
            for l in lines.by_ref() {
                if l.trim() == "'''" {
                    break;
                }
                // Bruno indents a multi-line value by four spaces inside its block.
                text.push(l.strip_prefix("    ").unwrap_or(l.trim_start()).to_string());
            }
            out.push((key, text.join("\n"), enabled));
        } else {
            out.push((key, value.to_string(), enabled));
        }
    }
    out
}

fn value<'a>(entries: &'a Entries, key: &str) -> Option<&'a str> {
    entries
        .iter()
        .find(|(k, _, on)| k == key && *on)
        .map(|(_, v, _)| v.as_str())
}

fn session(blocks: &[Block], meta: &Entries, notes: &mut Vec<String>) -> Session {
    let ws = entries(find(blocks, "ws"));
    let url = value(&ws, "url").unwrap_or_default();
    let name = value(meta, "name")
        .filter(|n| !n.trim().is_empty())
        .map_or_else(|| name_from_url(url), str::to_string);
    let mut session = Session {
        name: name.clone(),
        ..Session::default()
    };
    let mut params: Vec<(String, String)> = Vec::new();
    for (k, v, on) in entries(find(blocks, "params:query")) {
        if on && !url.contains(&format!("{k}=")) {
            params.push((k, v));
        }
    }
    let url = super::import::with_query(url, &params);
    match translate(&url, Dialect::Bruno, &mut Vec::new()) {
        Ok(u) => session.url = u,
        Err(why) => {
            notes.push(format!(
                "{name}: the URL, because {why}; set `live` by hand"
            ));
            session.url = "wss://…".into();
        }
    }
    for (k, v, on) in entries(find(blocks, "headers")) {
        if on {
            session.add_header(&k, &v, Dialect::Bruno, notes);
        }
    }
    auth(
        value(&ws, "auth").unwrap_or("none"),
        blocks,
        &mut session,
        notes,
    );
    for b in blocks.iter().filter(|b| b.tag == "body:ws") {
        let message = entries(Some(b));
        let label = format!("message `{}`", value(&message, "name").unwrap_or("?"));
        let content = value(&message, "content").unwrap_or_default();
        session.add_send(
            Payload::Text(content.to_string()),
            Dialect::Bruno,
            &label,
            notes,
        );
    }
    let left: Vec<&str> = blocks
        .iter()
        .map(|b| b.tag.as_str())
        .filter(|t| {
            t.starts_with("script") || t.starts_with("vars") || *t == "tests" || *t == "assert"
        })
        .collect();
    if !left.is_empty() {
        notes.push(format!("{name}: its {}", left.join(", ")));
    }
    session
}

/// `auth: bearer`/`basic` as an `Authorization` header; other modes are listed.
fn auth(mode: &str, blocks: &[Block], session: &mut Session, notes: &mut Vec<String>) {
    let header = match mode {
        "none" => return,
        "bearer" => {
            let e = entries(find(blocks, "auth:bearer"));
            Some(format!("Bearer {}", value(&e, "token").unwrap_or_default()))
        }
        "basic" => {
            let e = entries(find(blocks, "auth:basic"));
            basic_auth(
                value(&e, "username").unwrap_or_default(),
                value(&e, "password").unwrap_or_default(),
            )
        }
        _ => None,
    };
    match header {
        Some(h) => session.add_header("Authorization", &h, Dialect::Bruno, notes),
        None => notes.push(format!(
            "{}: its `{mode}` auth (set the header it makes under `headers:`)",
            session.name
        )),
    }
}
