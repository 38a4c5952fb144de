//! `wsrun new --from-har FILE | --from-postman DIR|FILE | --from-insomnia FILE | --from-bruno
//! DIR`: a collection (and the replay files of its mocks) from another tool's WebSocket
//! requests, written beside `--out`.

use std::path::{Path, PathBuf};

use super::new::NewArgs;
use super::{EXIT_FAILED, EXIT_OK, EXIT_UNUSABLE};
use crate::infer::import::write;
use crate::infer::starter::plural;
use crate::infer::{from_bruno, from_har, from_insomnia, from_postman};

/// The tool an import comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tool {
    Har,
    Insomnia,
    Postman,
    Bruno,
}

/// The import flag given, if any.
pub fn requested(args: &NewArgs) -> Option<(Tool, &Path)> {
    [
        (Tool::Har, &args.from_har),
        (Tool::Insomnia, &args.from_insomnia),
        (Tool::Postman, &args.from_postman),
        (Tool::Bruno, &args.from_bruno),
    ]
    .into_iter()
    .find_map(|(tool, path)| Some((tool, path.as_deref()?)))
}

/// Reads `source`, writes the collection; returns the exit code.
pub fn import(tool: Tool, source: &Path, out: Option<&Path>, force: bool) -> i32 {
    let out = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| super::new::default_out(source));
    let read = match tool {
        Tool::Har => from_har::read(source),
        Tool::Insomnia => from_insomnia::read(source),
        Tool::Postman => from_postman::read(source),
        Tool::Bruno => from_bruno::read(source),
    };
    let mut import = match read {
        Ok(import) => import,
        Err(e) => {
            // Unreadable, not the tool's format, or nothing to import: nothing could be written.
            eprintln!("error: {e}");
            return EXIT_UNUSABLE;
        }
    };
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "imported".into());
    if import.name.trim().is_empty() {
        import.name = stem.clone();
    }
    let written = write::collection(&import, &stem);
    let dir = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let files: Vec<(PathBuf, &str)> = std::iter::once((out.clone(), written.yaml.as_str()))
        .chain(
            written
                .replays
                .iter()
                .map(|(name, text)| (out.with_file_name(name), text.as_str())),
        )
        .collect();
    if !force {
        if let Some((path, _)) = files.iter().find(|(p, _)| p.exists()) {
            eprintln!(
                "error: {} exists; choose another --out, or --force to overwrite it",
                path.display()
            );
            return EXIT_UNUSABLE;
        }
    }
    if let Err(e) = write_all(&dir, &files) {
        eprintln!("error: {e}");
        return EXIT_FAILED;
    }
    println!(
        "wrote {}: {} from {} ({})",
        out.display(),
        plural(written.requests as u64, "request"),
        source.display(),
        plural(written.messages as u64, "message")
    );
    for (path, _) in files.iter().skip(1) {
        println!("wrote {}", path.display());
    }
    if written.notes > 0 {
        println!(
            "not carried over: {} (listed at the top of {})",
            plural(written.notes as u64, "item"),
            out.display()
        );
    }
    println!("run it: wsrun {}", out.display());
    EXIT_OK
}

fn write_all(dir: &Path, files: &[(PathBuf, &str)]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for (path, text) in files {
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}
