//! Walks the schemas a message meets: refuses misspelt constraint keywords (`requried`), and
//! schemas whose `$ref`s come back to themselves at the same place in the message (`$ref: '#'`,
//! a → b → a). JSON Schema leaves such a loop undefined and the `jsonschema` crate reads it as
//! `true`, so the schema accepted every message; wsrun refuses it at load instead.
//!
//! A schema may refer to itself below a property or an item (a tree's `children`): each step
//! there moves deeper into the message, so validation ends. Only the keywords that apply a
//! schema to the same value (`$ref`, `allOf`, `anyOf`, `oneOf`, `not`, `if`/`then`/`else`,
//! dependent schemas) are edges of the loop looked for here.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::schema::read_document;

/// How far one value may be passed from schema to schema before the chain is refused (each
/// step a `$ref` or an applicator, with no loop): deeper than any hand-written schema goes.
const MAX_CHAIN: usize = 512;
/// How many schema objects one check visits at most; a larger document is not checked further.
const MAX_NODES: usize = 200_000;

/// Where a walk starts: a schema (`value`, read as if it were the file `file`), or a place in a
/// document on disk (`value: None`).
pub struct Start<'a> {
    pub file: &'a Path,
    pub pointer: &'a str,
    pub value: Option<&'a Value>,
    /// Drafts 4 to 7, where keywords beside a `$ref` are ignored.
    pub legacy: bool,
}

/// Whether a schema is read by draft 4, 6 or 7 rules: its `$schema`, else `fallback`.
pub fn legacy_draft(schema: &Value, fallback: bool) -> bool {
    match schema.get("$schema").and_then(Value::as_str) {
        Some(s) => ["draft-03", "draft-04", "draft-06", "draft-07"]
            .iter()
            .any(|d| s.contains(d)),
        None => fallback,
    }
}

/// Refuses a schema with a `$ref` loop that never moves into the message, naming the loop:
/// "schema `$ref`s refer to each other in a cycle …: #/$defs/a → #/$defs/b → #/$defs/a".
pub fn check(start: Start<'_>) -> Result<(), String> {
    let mut walker = Walker {
        files: HashMap::new(),
        state: HashMap::new(),
        pending: Vec::new(),
        legacy: start.legacy,
        first: start.file.to_path_buf(),
    };
    if let Some(v) = start.value {
        walker.files.insert(start.file.to_path_buf(), v.clone());
    } else if !walker.load(start.file) {
        return Ok(());
    }
    walker.pending.push(Loc {
        file: start.file.to_path_buf(),
        pointer: start.pointer.to_string(),
        root: String::new(),
        own_file: true,
    });
    let mut stack = Vec::new();
    while let Some(loc) = walker.pending.pop() {
        if walker.state.len() > MAX_NODES {
            break;
        }
        walker.visit(loc, &mut stack)?;
    }
    Ok(())
}

/// A schema object: its file, its JSON pointer there, the pointer of the resource `#` names
/// (the file's root, or the nearest schema with its own `$id`), and whether relative file
/// names may be resolved against the file (not once an `$id` changed the base).
#[derive(Clone)]
struct Loc {
    file: PathBuf,
    pointer: String,
    root: String,
    own_file: bool,
}

enum Edge {
    /// A schema applied to the same value.
    Same(Loc),
    /// A `$ref`, from the schema at the `Loc`.
    Ref(String, Loc),
    /// A schema applied to a part of the value: a fresh start.
    Below(Loc),
}

struct Walker {
    files: HashMap<PathBuf, Value>,
    /// `false` while a schema is on the walk's stack, `true` once every path from it is done.
    state: HashMap<(PathBuf, String), bool>,
    pending: Vec<Loc>,
    legacy: bool,
    first: PathBuf,
}

const SAME: &[&str] = &["allOf", "anyOf", "oneOf", "not", "if", "then", "else"];
const SAME_MAPS: &[&str] = &["dependentSchemas", "dependencies"];
const BELOW: &[&str] = &[
    "additionalProperties",
    "propertyNames",
    "items",
    "prefixItems",
    "additionalItems",
    "contains",
    "unevaluatedItems",
    "unevaluatedProperties",
];
const BELOW_MAPS: &[&str] = &["properties", "patternProperties"];

impl Walker {
    fn load(&mut self, file: &Path) -> bool {
        if self.files.contains_key(file) {
            return true;
        }
        // An unreadable file was reported when the schema was compiled.
        match read_document(file) {
            Ok(v) => {
                self.files.insert(file.to_path_buf(), v);
                true
            }
            Err(_) => false,
        }
    }

    fn visit(&mut self, loc: Loc, stack: &mut Vec<(PathBuf, String)>) -> Result<(), String> {
        let key = (loc.file.clone(), loc.pointer.clone());
        match self.state.get(&key) {
            Some(true) => return Ok(()),
            Some(false) => {
                let from = stack.iter().position(|k| *k == key).unwrap_or(0);
                let mut names: Vec<String> = stack[from..].iter().map(|k| self.name(k)).collect();
                names.push(self.name(&key));
                return Err(format!(
                    "schema `$ref`s refer to each other in a cycle at one place in the message: {} (a schema may refer back to itself only below a property or an item)",
                    names.join(" → ")
                ));
            }
            None => {}
        }
        if stack.len() >= MAX_CHAIN || self.state.len() > MAX_NODES {
            return Err(format!(
                "schema `$ref`s chain more than {MAX_CHAIN} schemas at one place in the message"
            ));
        }
        if let Some((typo, keyword)) = self.misspelt(&loc) {
            return Err(format!(
                "unknown keyword `{typo}` at {} (did you mean `{keyword}`?): JSON Schema ignores unknown keywords, so it would check nothing there",
                self.name(&key)
            ));
        }
        self.state.insert(key.clone(), false);
        stack.push(key.clone());
        for edge in self.edges(&loc) {
            match edge {
                Edge::Same(next) => self.visit(next, stack)?,
                Edge::Ref(target, from) => {
                    if let Some(next) = self.resolve(&target, &from) {
                        self.visit(next, stack)?;
                    }
                }
                Edge::Below(next) => self.pending.push(next),
            }
        }
        stack.pop();
        self.state.insert(key, true);
        Ok(())
    }

    /// `#/pointer` in the first file, `file.json#/pointer` in another.
    fn name(&self, (file, pointer): &(PathBuf, String)) -> String {
        if *file == self.first {
            format!("#{pointer}")
        } else {
            let shown = file.file_name().unwrap_or(file.as_os_str());
            format!("{}#{pointer}", shown.to_string_lossy())
        }
    }

    /// A misspelt constraint keyword of the schema at `loc`, and the keyword it is close to.
    fn misspelt(&self, loc: &Loc) -> Option<(String, &'static str)> {
        let map = self
            .files
            .get(&loc.file)?
            .pointer(&loc.pointer)?
            .as_object()?;
        if self.legacy && map.contains_key("$ref") {
            return None; // beside a `$ref`, drafts 4 to 7 ignore every keyword anyway
        }
        super::keywords::misspelt(map).map(|(k, c)| (k.to_string(), c))
    }

    fn edges(&self, loc: &Loc) -> Vec<Edge> {
        let Some(map) = self
            .files
            .get(&loc.file)
            .and_then(|d| d.pointer(&loc.pointer))
            .and_then(Value::as_object)
        else {
            return Vec::new();
        };
        let mut here = loc.clone();
        let id = map.get("$id").and_then(Value::as_str);
        if id.is_some_and(|id| !id.starts_with('#')) && !(self.legacy && map.contains_key("$ref")) {
            here.root = loc.pointer.clone();
            here.own_file = false;
        }
        let at = |suffix: String| Loc {
            pointer: format!("{}/{suffix}", loc.pointer),
            ..here.clone()
        };
        let mut out = Vec::new();
        if let Some(r) = map.get("$ref").and_then(Value::as_str) {
            out.push(Edge::Ref(r.to_string(), here.clone()));
            if self.legacy {
                return out;
            }
        }
        for (k, v) in map {
            let k = k.as_str();
            let key = super::asyncapi::escape(k);
            if SAME.contains(&k) || BELOW.contains(&k) {
                let edge = |l| {
                    if SAME.contains(&k) {
                        Edge::Same(l)
                    } else {
                        Edge::Below(l)
                    }
                };
                match v {
                    Value::Array(items) => {
                        out.extend((0..items.len()).map(|i| edge(at(format!("{key}/{i}")))))
                    }
                    _ => out.push(edge(at(key))),
                }
            } else if SAME_MAPS.contains(&k) || BELOW_MAPS.contains(&k) {
                for (name, sub) in v.as_object().into_iter().flatten() {
                    if sub.is_array() {
                        continue; // `dependencies: {a: [b]}` lists names, not a schema
                    }
                    let l = at(format!("{key}/{}", super::asyncapi::escape(name)));
                    out.push(if SAME_MAPS.contains(&k) {
                        Edge::Same(l)
                    } else {
                        Edge::Below(l)
                    });
                }
            }
        }
        out
    }

    /// The schema a `$ref` names, when it is in a file wsrun reads; `None` for what it cannot
    /// place (the compiler resolved those, or refused them).
    fn resolve(&mut self, target: &str, from: &Loc) -> Option<Loc> {
        let (file_part, fragment) = target.split_once('#').unwrap_or((target, ""));
        let fragment = super::asyncapi::unescape_fragment(fragment);
        let (file, root) = if file_part.is_empty() {
            (from.file.clone(), from.root.clone())
        } else if let Some(rest) = file_part.strip_prefix("file://") {
            (
                PathBuf::from(super::asyncapi::unescape_fragment(rest)),
                String::new(),
            )
        } else if from.own_file && !file_part.contains(':') {
            let dir = from.file.parent().unwrap_or(Path::new("."));
            (
                dir.join(super::asyncapi::unescape_fragment(file_part)),
                String::new(),
            )
        } else {
            return None;
        };
        if !self.load(&file) {
            return None;
        }
        let pointer = if fragment.is_empty() {
            root.clone()
        } else if fragment.starts_with('/') {
            format!("{root}{fragment}")
        } else {
            let resource = self.files.get(&file)?.pointer(&root)?;
            format!("{root}{}", find_anchor(resource, &fragment, 0)?)
        };
        self.files.get(&file)?.pointer(&pointer)?;
        Some(Loc {
            file,
            pointer,
            root,
            own_file: !file_part.is_empty() || from.own_file,
        })
    }
}

/// The pointer (within `value`) of the schema whose `$anchor` is `name`, or whose `$id`/`id` is
/// `#name` (drafts 4 to 7).
fn find_anchor(value: &Value, name: &str, depth: usize) -> Option<String> {
    if depth > 64 {
        return None;
    }
    match value {
        Value::Object(map) => {
            let named = |k: &str| map.get(k).and_then(Value::as_str);
            if named("$anchor") == Some(name)
                || [named("$id"), named("id")]
                    .into_iter()
                    .flatten()
                    .any(|id| id.strip_prefix('#') == Some(name))
            {
                return Some(String::new());
            }
            map.iter().find_map(|(k, v)| {
                let below = find_anchor(v, name, depth + 1)?;
                Some(format!("/{}{below}", super::asyncapi::escape(k)))
            })
        }
        Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| {
            let below = find_anchor(v, name, depth + 1)?;
            Some(format!("/{i}{below}"))
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn inline(schema: Value) -> Result<(), String> {
        check(Start {
            file: Path::new("/nowhere/inline.json"),
            pointer: "",
            value: Some(&schema),
            legacy: false,
        })
    }

    #[test]
    fn a_ref_to_the_root_in_place_is_a_cycle() {
        let err = inline(json!({ "$ref": "#" })).unwrap_err();
        assert_eq!(
            err,
            "schema `$ref`s refer to each other in a cycle at one place in the message: # → # (a schema may refer back to itself only below a property or an item)"
        );
    }

    #[test]
    fn two_definitions_referring_to_each_other_are_named_in_order() {
        let err = inline(json!({
            "$defs": { "a": { "$ref": "#/$defs/b" }, "b": { "$ref": "#/$defs/a" } },
            "properties": { "p": { "$ref": "#/$defs/a" } }
        }))
        .unwrap_err();
        assert!(
            err.contains(": #/$defs/a → #/$defs/b → #/$defs/a ("),
            "{err}"
        );
    }

    #[test]
    fn a_cycle_through_all_of_or_an_anchor_is_found() {
        let err = inline(json!({ "allOf": [{ "type": "object" }, { "$ref": "#" }] })).unwrap_err();
        assert!(err.contains(": # → #/allOf/1 → # ("), "{err}");
        let anchor = json!({ "$defs": { "n": { "$anchor": "node", "anyOf": [{ "$ref": "#node" }] } }, "$ref": "#node" });
        assert!(inline(anchor).is_err());
    }

    #[test]
    fn a_tree_that_recurses_below_its_items_is_not_a_cycle() {
        let tree = json!({
            "type": "object",
            "properties": { "children": { "type": "array", "items": { "$ref": "#" } } }
        });
        assert_eq!(inline(tree), Ok(()));
        let list = json!({ "$defs": { "node": { "properties": { "next": { "$ref": "#/$defs/node" } } } }, "$ref": "#/$defs/node" });
        assert_eq!(inline(list), Ok(()));
    }

    #[test]
    fn an_id_makes_hash_name_its_own_resource() {
        // `#` inside the `$id`'d schema is that schema, whose `$ref` sits below a property.
        let nested = json!({
            "properties": { "tree": { "$id": "https://example.com/tree", "properties": { "c": { "$ref": "#" } } } }
        });
        assert_eq!(inline(nested), Ok(()));
    }

    #[test]
    fn a_long_chain_without_a_loop_is_refused_not_overflowed() {
        let mut defs = serde_json::Map::new();
        for i in 0..2000 {
            defs.insert(
                format!("d{i}"),
                json!({ "$ref": format!("#/$defs/d{}", i + 1) }),
            );
        }
        defs.insert("d2000".into(), json!({ "type": "string" }));
        let err = inline(json!({ "$defs": defs, "$ref": "#/$defs/d0" })).unwrap_err();
        assert!(err.contains("more than 512"), "{err}");
    }
}
