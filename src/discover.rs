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

/// Whether the YAML file at `path` is a collection: its top level is a map with a `requests`
/// list of maps. Other YAML (a Kubernetes manifest with `requests: {cpu: 100m}`, a config file)
/// is not; a file that cannot be read or parsed is an error.
pub fn is_collection(path: &Path) -> Result<bool, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| LoadError::io(path, &e))?;
    let top: serde_json::Value =
        serde_saphyr::from_str_with_options(&text, crate::collection::yaml_options())
            .map_err(|e| LoadError::from_yaml(path, &text, &e))?;
    Ok(match top.get("requests") {
        Some(serde_json::Value::Array(requests)) => requests.iter().all(|r| r.is_object()),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<bool, LoadError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.yaml");
        std::fs::write(&path, text).unwrap();
        is_collection(&path)
    }

    #[test]
    fn only_a_top_level_requests_list_of_maps_is_a_collection() {
        assert_eq!(check("requests:\n  - name: a\n    url: ws://h\n"), Ok(true));
        assert_eq!(check("name: empty\nrequests: []\n"), Ok(true));
        assert_eq!(check("requests: {cpu: 100m}\n"), Ok(false));
        assert_eq!(check("requests: [a, b]\n"), Ok(false));
        assert_eq!(check("spec:\n  requests:\n    - name: a\n"), Ok(false));
        assert_eq!(check("- requests: []\n"), Ok(false));
        assert!(check("requests: [\n").is_err());
    }
}
