//! Shards: which of N runs a request belongs to (`--shard K/N`), by a hash of its file and name
//! that every runner computes alike, however it spells the path.

use std::path::{Component, Path, PathBuf};

/// Which shard (1-based) of `n` a request belongs to: a stable hash of its file (as
/// [`shard_path`] spells it) and name, so every CI runner computes the same partition.
pub fn shard_of(collection_path: &str, request_name: &str, n: u32) -> u32 {
    // FNV-1a: stable across Rust versions and platforms, unlike `DefaultHasher`.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in collection_path
        .bytes()
        .chain([0u8])
        .chain(request_name.bytes())
    {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % u64::from(n.max(1))) as u32 + 1
}

/// A collection's path as [`shard_of`] hashes it, the same however the path is spelled:
/// relative to the current folder when the file is under it (else absolute), with `.` and `..`
/// resolved and `/` between components. `dir/c.yaml`, `./dir/c.yaml`, `dir/../dir/c.yaml` and
/// `/home/me/dir/c.yaml` (run from `/home/me`) are all `dir/c.yaml`.
pub fn shard_path(path: &Path) -> String {
    let cwd = std::env::current_dir().ok().map(|c| lexical(&c));
    let full = lexical(&match &cwd {
        Some(cwd) => cwd.join(path),
        None => path.to_path_buf(),
    });
    if let Some(cwd) = &cwd {
        if let Ok(rel) = full.strip_prefix(cwd) {
            return slashed(rel);
        }
        // The current folder may be reached through a link (`/tmp` → `/private/tmp`): compare
        // real folders, leaving the file's own name as written.
        let real_dir = full.parent().and_then(|d| std::fs::canonicalize(d).ok());
        if let (Some(dir), Ok(real_cwd), Some(name)) =
            (real_dir, std::fs::canonicalize(cwd), full.file_name())
        {
            if let Ok(rel) = dir.join(name).strip_prefix(real_cwd) {
                return slashed(rel);
            }
        }
    }
    slashed(&full)
}

/// `path` with `.` dropped and `..` taking off the component before it, without touching the
/// file system.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// The components joined with `/`, whatever the platform's separator.
fn slashed(path: &Path) -> String {
    let mut out = String::new();
    for c in path.components() {
        match c {
            Component::RootDir => out.push('/'),
            other => {
                if !out.is_empty() && !out.ends_with('/') {
                    out.push('/');
                }
                out.push_str(&other.as_os_str().to_string_lossy());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_paths_are_the_same_however_the_path_is_spelled() {
        let cwd = std::env::current_dir().expect("a current folder");
        let want = "collections/websocket.yaml";
        for spelling in [
            PathBuf::from("collections/websocket.yaml"),
            PathBuf::from("./collections/./websocket.yaml"),
            PathBuf::from("collections/../collections/websocket.yaml"),
            cwd.join("collections/websocket.yaml"),
        ] {
            assert_eq!(shard_path(&spelling), want, "{}", spelling.display());
        }
        assert_eq!(
            shard_path(Path::new("/elsewhere/./x/../c.yaml")),
            "/elsewhere/c.yaml"
        );
    }
}
