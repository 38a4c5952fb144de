//! The line of a place in a JSON or YAML document, for errors about a document that was read as
//! a plain `serde_json::Value` (which keeps no positions). Read again only when an error needs it.

use std::fmt;
use std::path::Path;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A document's tree with the position of every key and value.
enum Located {
    Scalar,
    Seq(Vec<Spanned<Located>>),
    Map(Vec<(Spanned<String>, Spanned<Located>)>),
}

/// `file:line` of the JSON pointer `pointer` in `path`, or of its `key` when one is given;
/// `None` when the file cannot be read again or the place is not found.
pub(super) fn place(path: &Path, pointer: &str, key: Option<&str>) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let doc: Spanned<Located> =
        serde_saphyr::from_str_with_options(&text, crate::yaml::yaml_options()).ok()?;
    let mut node = &doc;
    for raw in pointer.split('/').skip(1) {
        let segment = raw.replace("~1", "/").replace("~0", "~");
        node = match &node.value {
            Located::Map(entries) => &entries.iter().find(|(k, _)| k.value == segment)?.1,
            Located::Seq(items) => items.get(segment.parse::<usize>().ok()?)?,
            Located::Scalar => return None,
        };
    }
    let line = match (key, &node.value) {
        (Some(key), Located::Map(entries)) => entries
            .iter()
            .find(|(k, _)| k.value == key)?
            .0
            .referenced
            .line(),
        _ => node.referenced.line(),
    };
    let name = path.file_name()?.to_string_lossy();
    Some(format!("{name}:{line}"))
}

impl<'de> Deserialize<'de> for Located {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LocatedVisitor)
    }
}

struct LocatedVisitor;

impl<'de> Visitor<'de> for LocatedVisitor {
    type Value = Located;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML or JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Located, E> {
        Ok(Located::Scalar)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Located, E> {
        Ok(Located::Scalar)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Located, E> {
        Ok(Located::Scalar)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Located, E> {
        Ok(Located::Scalar)
    }
    fn visit_str<E>(self, _: &str) -> Result<Located, E> {
        Ok(Located::Scalar)
    }
    fn visit_unit<E>(self) -> Result<Located, E> {
        Ok(Located::Scalar)
    }
    fn visit_none<E>(self) -> Result<Located, E> {
        Ok(Located::Scalar)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Located, D::Error> {
        Located::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Located, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Located::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Located, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            entries.push((key, map.next_value()?));
        }
        Ok(Located::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_are_found_by_pointer() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("doc.yaml");
        let text = "a:\n  b:\n    - x\n    - { c: 1, paylaod: 2 }\n  'd/e': 3\n";
        std::fs::write(&path, text).expect("write");
        assert_eq!(
            place(&path, "/a/b/1", Some("paylaod")).as_deref(),
            Some("doc.yaml:4")
        );
        assert_eq!(place(&path, "/a/b/0", None).as_deref(), Some("doc.yaml:3"));
        assert_eq!(
            place(&path, "/a", Some("d/e")).as_deref(),
            Some("doc.yaml:5")
        );
        assert_eq!(place(&path, "/a/nothing", None), None);
    }
}
