//! Finding collections: files named as they are, folders searched for YAML files whose top level
//! is a collection. The CLI, the Python module and the pytest plugin all discover this way.

use std::path::{Path, PathBuf};

use crate::collection::{looks_like_collection, LoadError};

/// Files named in `paths` as they are; folders searched (sorted) for collections.
pub fn collection_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found);
            found.sort();
            if found.is_empty() {
                return Err(LoadError::plain(
                    p,
                    "no collections found in this folder (YAML files with a top-level `requests:`)",
                ));
            }
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "__snapshots__" || name == "target" {
            continue;
        }
        if path.is_dir() {
            walk(&path, out);
        } else if (name.ends_with(".yaml") || name.ends_with(".yml"))
            && std::fs::read_to_string(&path).is_ok_and(|t| looks_like_collection(&t))
        {
            out.push(path);
        }
    }
}
