//! Finding collections: files named as they are, folders searched for YAML files whose top level
//! is a collection. The CLI, the Python module and the pytest plugin all discover this way.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::collection::{read_text, yaml_options, LoadError};

/// What [`collections_in`] found: the collection files, and the files that may be collections
/// but could not be read as YAML.
#[derive(Debug, Default)]
pub struct Discovery {
    pub files: Vec<Found>,
    /// One error for each file that could not be read as YAML, and for each folder that holds no
    /// collection; a run reports them and runs the rest.
    pub broken: Vec<LoadError>,
}

/// A collection file, and whether it was named itself or found in a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub path: PathBuf,
    pub in_folder: bool,
}

/// Files named in `paths` as they are; folders searched (sorted) for collections.
///
/// A `.yaml`/`.yml` file in a folder that is not YAML at all (not UTF-8, a syntax error) is
/// broken: it may be a collection, and skipping it would pass a run that never ran it, so it is
/// kept as an error beside the collections found.
/// Symbolic links to folders are followed, but never into a folder already searched, so a link
/// to `.` or `..` neither loops nor finds a collection twice; a link to a collection already
/// found is skipped too (the first path in sorted order is kept).
pub fn collections_in(paths: &[PathBuf]) -> Discovery {
    let mut out = Discovery::default();
    for p in paths {
        if p.is_dir() {
            let before = (out.files.len(), out.broken.len());
            walk(p, &mut HashSet::new(), &mut out);
            if (out.files.len(), out.broken.len()) == before {
                out.broken.push(LoadError::plain(
                    p,
                    "no collections found in this folder (YAML files with a top-level `requests:`)",
                ));
            }
        } else {
            out.files.push(Found {
                path: p.clone(),
                in_folder: false,
            });
        }
    }
    out
}

/// The collection files under `paths` ([`collections_in`]), or the first file that could not
/// be read as YAML.
pub fn collection_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    let found = collections_in(paths);
    match found.broken.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(found.files.into_iter().map(|f| f.path).collect()),
    }
}

/// Searches `dir` depth first, entries in name order, so the result is sorted by path and the
/// same on every run; `seen` holds the canonical paths of the folders searched and the
/// collections found.
fn walk(dir: &Path, seen: &mut HashSet<PathBuf>, out: &mut Discovery) {
    if !first_visit(dir, seen) {
        return;
    }
    for path in sorted_entries(dir) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') || name == "__snapshots__" || name == "target" {
            continue;
        }
        if path.is_dir() {
            walk(&path, seen, out);
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            match is_collection(&path) {
                Ok(true) if first_visit(&path, seen) => out.files.push(Found {
                    path,
                    in_folder: true,
                }),
                Ok(_) => {}
                Err(e) => out.broken.push(e),
            }
        }
    }
}

/// Records `path` as visited; false when it (or what a link resolves to) already was, or
/// cannot be resolved.
pub(crate) fn first_visit(path: &Path, seen: &mut HashSet<PathBuf>) -> bool {
    std::fs::canonicalize(path).is_ok_and(|real| seen.insert(real))
}

/// The entries of a folder, sorted by name; none when it cannot be read.
pub(crate) fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    entries
}

/// Whether the file at `path` is a collection: YAML whose top level is a map with a `requests`
/// list (see [`is_collection_text`]). A file that cannot be read, is not UTF-8 or is not YAML
/// is an error, located where the parser says.
pub fn is_collection(path: &Path) -> Result<bool, LoadError> {
    is_collection_text(&read_text(path)?, path)
}

/// Whether YAML text is a collection: a map at the top with a `requests` key holding a list.
/// YAML that is something else — a Kubernetes manifest whose `requests` is a map, a list, a
/// scalar, several documents none of which is a collection — is not one. `path` names the text
/// in errors.
///
/// ```
/// # use std::path::Path;
/// use wsrun::is_collection_text;
/// let p = Path::new("x.yaml");
/// assert!(is_collection_text("\u{feff}{\"requests\": []}", p).unwrap());
/// assert!(!is_collection_text("requests: {cpu: 100m}", p).unwrap());
/// assert!(is_collection_text("requests: [", p).is_err());
/// ```
pub fn is_collection_text(text: &str, path: &Path) -> Result<bool, LoadError> {
    // Several documents are read too, so that a folder of multi-document manifests is not an
    // error; one of them with a `requests` list is a collection (and loading it says why it
    // cannot be one file of several documents).
    let docs: Vec<Probe> = serde_saphyr::from_multiple_with_options(text, yaml_options())
        .map_err(|e| LoadError::from_yaml(path, text, &e))?;
    Ok(docs.iter().any(|d| d.0))
}

/// Visitor methods for every scalar but text (and the null and tagged forms), all giving `$value`.
macro_rules! other_values_are {
    ($value:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_i128<E: de::Error>(self, _: i128) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_u128<E: de::Error>(self, _: u128) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            IgnoredAny::deserialize(d).map(|_| $value)
        }
        fn visit_newtype_struct<D2: Deserializer<'de>>(
            self,
            d: D2,
        ) -> Result<Self::Value, D2::Error> {
            Self::Value::deserialize(d)
        }
        fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
            IgnoredAny.visit_enum(data).map(|_| $value)
        }
    };
}

/// One YAML document, read only as far as telling whether it is a collection.
struct Probe(bool);

impl<'de> Deserialize<'de> for Probe {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Top;
        impl<'de> Visitor<'de> for Top {
            type Value = Probe;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any YAML document")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Probe, A::Error> {
                let mut found = false;
                while let Some(key) = map.next_key::<IsRequests>()? {
                    if key.0 {
                        found |= map.next_value::<IsList>()?.0;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(Probe(found))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Probe, A::Error> {
                IgnoredAny.visit_seq(seq).map(|_| Probe(false))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Probe, E> {
                Ok(Probe(false))
            }
            other_values_are!(Probe(false));
        }
        d.deserialize_any(Top)
    }
}

/// A map key: whether it is the text `requests`.
struct IsRequests(bool);

impl<'de> Deserialize<'de> for IsRequests {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Key;
        impl<'de> Visitor<'de> for Key {
            type Value = IsRequests;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<IsRequests, E> {
                Ok(IsRequests(v == "requests"))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<IsRequests, A::Error> {
                IgnoredAny.visit_map(map).map(|_| IsRequests(false))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<IsRequests, A::Error> {
                IgnoredAny.visit_seq(seq).map(|_| IsRequests(false))
            }
            other_values_are!(IsRequests(false));
        }
        d.deserialize_any(Key)
    }
}

/// A value: whether it is a list.
struct IsList(bool);

impl<'de> Deserialize<'de> for IsList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Value;
        impl<'de> Visitor<'de> for Value {
            type Value = IsList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<IsList, A::Error> {
                IgnoredAny.visit_seq(seq).map(|_| IsList(true))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<IsList, A::Error> {
                IgnoredAny.visit_map(map).map(|_| IsList(false))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<IsList, E> {
                Ok(IsList(false))
            }
            other_values_are!(IsList(false));
        }
        d.deserialize_any(Value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(text: &str) -> Result<bool, LoadError> {
        is_collection_text(text, Path::new("x.yaml"))
    }

    #[test]
    fn collections_are_found_however_their_yaml_is_spelled() {
        for text in [
            "requests:\n  - name: a\n",
            "\u{feff}requests:\n  - name: a\n",
            "{\"requests\": [{\"name\": \"a\"}]}",
            "requests :\n  - name: a\n",
            "name: x\nvars: {a: 1}\nrequests: []\n",
            "? requests\n: [1]\n",
            "a: !Ref x\nrequests: [1]\n",
            "a: &x 1\nb: *x\nrequests: []\n",
            "---\nrequests: []\n",
            "other: 1\n---\nrequests: []\n",
        ] {
            assert!(probe(text).unwrap(), "{text:?}");
        }
    }

    #[test]
    fn yaml_that_is_not_a_collection_is_not_one() {
        for text in [
            "",
            "# a comment\n",
            "hello",
            "- requests\n- 1\n",
            "requests: {cpu: 100m}\n",
            "requests: 3\n",
            "requests:\n",
            "spec:\n  resources:\n    requests: {cpu: 100m}\n",
            "kind: A\n---\nkind: B\n",
            "1: x\n? [a, b]\n: c\n? {k: v}\n: d\n",
            "a: !!python/object:foo {x: 1}\n",
        ] {
            assert!(!probe(text).unwrap(), "{text:?}");
        }
    }

    #[test]
    fn text_that_is_not_yaml_is_an_error_at_its_line() {
        let e = probe("requests:\n  - name: [a\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        assert!(probe("a: 1\na: 2\n").is_err());
    }
}
