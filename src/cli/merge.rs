//! `wsrun merge REPORT.json… --report KIND=FILE`: one report from the JSON reports of a run's
//! shards (a CI matrix, a Kubernetes Indexed Job), printed like a run and written in any format.
//! A file that is not a `wsrun-report/1` document stops it (exit 2), naming the file; so do
//! shards missing, given twice or of other collections, unless `--allow-partial`.

use std::path::Path;

use super::args::MergeArgs;
use super::{write_report, EXIT_FAILED, EXIT_OK, EXIT_UNUSABLE};
use crate::report::human::{self, Style};
use crate::report::{merge, read, RunReport};

pub fn merge(args: MergeArgs, color: bool) -> i32 {
    let mut reports = Vec::with_capacity(args.files.len());
    for file in &args.files {
        match load(file) {
            Ok(r) => reports.push((file.display().to_string(), r)),
            Err(e) => {
                eprintln!("error: {}: {e}", file.display());
                return EXIT_UNUSABLE;
            }
        }
    }
    let merged = match merge::merge_shards(reports, args.allow_partial) {
        Ok((merged, warnings)) => {
            for w in &warnings {
                eprintln!(
                    "warning[{}]: {w}; merged anyway (--allow-partial)",
                    w.name()
                );
            }
            merged
        }
        Err(problems) => {
            for p in &problems {
                eprintln!("error[{}]: {p}", p.name());
            }
            eprintln!("(--allow-partial merges them anyway, warning about each)");
            return EXIT_UNUSABLE;
        }
    };
    let style = Style {
        color,
        verbose: false,
        quiet: args.quiet,
        timings: std::env::var_os("WSRUN_NO_TIMINGS").is_none(),
    };
    let mut out = String::new();
    for c in &merged.collections {
        out.push_str(&human::collection_header(&style, &c.path, c.env.as_deref()));
        for r in &c.requests {
            out.push_str(&human::request(&style, &c.path, r));
        }
    }
    out.push_str(&human::summary(&style, &merged));
    print!("{out}");
    let mut code = if merged.passed() {
        EXIT_OK
    } else {
        EXIT_FAILED
    };
    for (kind, file) in &args.reports {
        if let Err(e) = write_report(*kind, file, &merged) {
            eprintln!("error: cannot write the report {}: {e}", file.display());
            code = code.max(EXIT_FAILED);
        }
    }
    if let Some(to) = &args.push {
        code = code.max(super::push::push_report(to, &merged));
    }
    code
}

/// One shard's results, or why the file cannot be one.
fn load(file: &Path) -> Result<RunReport, String> {
    let text = std::fs::read_to_string(file).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        _ => format!("cannot read: {e}"),
    })?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("not a wsrun-report/1 document: not JSON ({e})"))?;
    if !read::is_report(&doc) {
        let found = match doc.get("format") {
            Some(serde_json::Value::String(f)) => format!("its `format` is `{f}`"),
            _ => "it has no `format: wsrun-report/1`".to_string(),
        };
        return Err(format!(
            "not a wsrun-report/1 document ({found}); merge reads what `--report json=FILE` writes"
        ));
    }
    read::read(&doc).map_err(|e| format!("a broken wsrun-report/1 document: {e}"))
}
