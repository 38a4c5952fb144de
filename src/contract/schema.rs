//! JSON Schemas compiled once, at load time (drafts 4, 6, 7, 2019-09 and 2020-12, by the
//! `jsonschema` crate), with `$ref`s reaching local files only, and their errors as instance
//! path, keyword and message.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use jsonschema::Draft;
use jsonschema::{Retrieve, Uri, Validator};
use serde_json::Value;

/// How many errors a failure lists; the rest are counted.
pub const ERRORS_SHOWN: usize = 20;

/// A compiled schema and the name failures call it by (its file as written, or "inline schema").
pub struct Schema {
    validator: Validator,
    pub name: String,
}

impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Schema({})", self.name)
    }
}

/// One way an instance breaks a schema.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaError {
    /// Where in the instance, as a JSONPath: `$.data[0].p` (`$` for the instance itself).
    pub path: String,
    /// The schema keyword that failed: `type`, `required`, `additionalProperties`, …
    pub keyword: String,
    pub message: String,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.path, self.message, self.keyword)
    }
}

/// How a schema is compiled: the draft a schema without `$schema` is read as, and where `$ref`s
/// may reach.
#[derive(Clone, Default)]
pub struct Options {
    /// `None`: the `$schema` keyword decides, else 2020-12.
    pub draft: Option<Draft>,
    pub files: LocalFiles,
}

impl Schema {
    /// Compiles `schema`, whose relative `$ref`s resolve against `base` (a file URI).
    pub fn compile(
        schema: &Value,
        base: Option<&str>,
        name: &str,
        options: &Options,
    ) -> Result<Self, String> {
        let mut builder = jsonschema::options().with_retriever(options.files.clone());
        if let Some(base) = base {
            builder = builder.with_base_uri(base);
        }
        if let Some(draft) = options.draft {
            builder = builder.with_draft(draft);
        }
        let validator = builder.build(schema).map_err(|e| {
            if let jsonschema::error::ValidationErrorKind::Referencing(r) = e.kind() {
                return format!("{name}: {}", one_line(&r.to_string()));
            }
            let at = e.instance_path().as_str();
            let at = if at.is_empty() {
                String::new()
            } else {
                format!(" at {at}")
            };
            format!(
                "{name} is not a valid JSON Schema{at}: {}",
                one_line(&e.to_string())
            )
        })?;
        Ok(Self {
            validator,
            name: name.to_string(),
        })
    }

    /// Reads and compiles a schema file (JSON, or YAML for `.yaml`/`.yml`); `name` is how the
    /// collection wrote it.
    pub fn from_file(path: &Path, name: &str, options: &Options) -> Result<Self, String> {
        let value = read_document(path).map_err(|e| format!("schema {e}"))?;
        Self::compile(&value, Some(&file_uri(path)?), name, options)
    }

    pub fn is_valid(&self, instance: &Value) -> bool {
        self.validator.is_valid(instance)
    }

    /// Every error, in the validator's order.
    pub fn errors(&self, instance: &Value) -> Vec<SchemaError> {
        self.validator
            .iter_errors(instance)
            .map(|e| SchemaError {
                path: pointer_to_path(e.instance_path().as_str()),
                keyword: e.kind().keyword().to_string(),
                message: crate::report::truncate(&one_line(&e.to_string()), 200),
            })
            .collect()
    }
}

/// The errors as lines for a failure's detail: at most [`ERRORS_SHOWN`], then how many more.
pub fn error_lines(errors: &[SchemaError]) -> String {
    let mut out: Vec<String> = errors
        .iter()
        .take(ERRORS_SHOWN)
        .map(ToString::to_string)
        .collect();
    if errors.len() > ERRORS_SHOWN {
        out.push(format!("… and {} more errors", errors.len() - ERRORS_SHOWN));
    }
    out.join("\n")
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A JSON Pointer (`/data/0/p`) as a JSONPath (`$.data[0].p`). Array indices and object keys
/// made of digits look alike in a pointer; digits are shown as an index.
pub fn pointer_to_path(pointer: &str) -> String {
    let mut out = String::from("$");
    for raw in pointer.split('/').skip(1) {
        let seg = raw.replace("~1", "/").replace("~0", "~");
        let ident = seg
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !seg.is_empty() && seg.chars().all(|c| c.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else if ident {
            out.push('.');
            out.push_str(&seg);
        } else {
            out.push_str(&format!(
                "['{}']",
                seg.replace('\\', "\\\\").replace('\'', "\\'")
            ));
        }
    }
    out
}

/// Reads a JSON or YAML document: YAML for `.yaml`/`.yml`, JSON otherwise.
pub fn read_document(path: &Path) -> Result<Value, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: {}", io_reason(&e)))?;
    let yaml = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    );
    if yaml {
        serde_saphyr::from_str_with_options(&text, crate::yaml::yaml_options())
            .map_err(|e| format!("{shown} is not valid YAML: {}", one_line(&e.to_string())))
    } else {
        serde_json::from_str(&text).map_err(|e| format!("{shown} is not valid JSON: {e}"))
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        _ => e.to_string(),
    }
}

/// `file:///abs/path`, percent-encoding what a URI may not hold.
pub fn file_uri(path: &Path) -> Result<String, String> {
    let abs =
        std::path::absolute(path).map_err(|e| format!("cannot resolve {}: {e}", path.display()))?;
    let text = abs.to_string_lossy().replace('\\', "/");
    let mut out = String::from("file://");
    if !text.starts_with('/') {
        out.push('/');
    }
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    Ok(out)
}

/// The path a `file://` URI names (its fragment dropped).
pub(super) fn uri_path(uri: &str) -> Option<PathBuf> {
    let rest = uri.strip_prefix("file://")?;
    let rest = rest.split(['#', '?']).next().unwrap_or(rest);
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(PathBuf::from(String::from_utf8(out).ok()?))
}

/// The `$ref` retriever: local files (`file://`), JSON or YAML, and nothing from the network.
/// `mount` serves a URL prefix from a folder (the official test suite's remote schemas).
#[derive(Clone, Default)]
pub struct LocalFiles {
    mounts: Arc<Vec<(String, PathBuf)>>,
}

impl LocalFiles {
    /// Serves URIs starting with `prefix` from `dir` (the rest of the URI is the file's path).
    pub fn mount(mut self, prefix: &str, dir: &Path) -> Self {
        Arc::make_mut(&mut self.mounts).push((prefix.to_string(), dir.to_path_buf()));
        self
    }
}

impl Retrieve for LocalFiles {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let uri = uri.as_str();
        let mounted = self.mounts.iter().find_map(|(prefix, dir)| {
            let rest = uri.strip_prefix(prefix.as_str())?;
            Some(dir.join(rest.split('#').next().unwrap_or(rest)))
        });
        let path = mounted
            .or_else(|| uri_path(uri))
            .ok_or_else(|| format!("`$ref` to {uri}: only local files are read (no network)"))?;
        Ok(read_document(&path)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn inline(schema: Value) -> Result<Schema, String> {
        Schema::compile(
            &schema,
            Some("file:///nowhere/"),
            "inline schema",
            &Options::default(),
        )
    }

    #[test]
    fn every_error_names_its_instance_path_and_keyword() {
        let s = inline(json!({
            "type": "object",
            "required": ["p", "q"],
            "properties": { "p": { "type": "string" }, "items": { "items": { "type": "integer" } } }
        }))
        .unwrap();
        let errors = s.errors(&json!({ "p": 1, "items": [1, "x"] }));
        let shown: Vec<(String, String)> = errors
            .iter()
            .map(|e| (e.path.clone(), e.keyword.clone()))
            .collect();
        assert!(shown.contains(&("$.p".into(), "type".into())), "{shown:?}");
        assert!(
            shown.contains(&("$".into(), "required".into())),
            "{shown:?}"
        );
        assert!(
            shown.contains(&("$.items[1]".into(), "type".into())),
            "{shown:?}"
        );
        assert!(s.is_valid(&json!({ "p": "a", "q": 1 })));
    }

    #[test]
    fn a_bad_schema_is_an_error_naming_where_it_is_wrong() {
        let err = inline(json!({ "properties": { "p": { "type": 5 } } })).unwrap_err();
        assert!(
            err.starts_with("inline schema is not a valid JSON Schema"),
            "{err}"
        );
        assert!(err.contains("/properties/p/type"), "{err}");
    }

    #[test]
    fn a_ref_to_the_network_is_refused() {
        let err = inline(json!({ "$ref": "https://example.com/s.json" })).unwrap_err();
        assert!(err.contains("only local files are read"), "{err}");
    }

    #[test]
    fn pointers_read_as_jsonpaths() {
        assert_eq!(pointer_to_path(""), "$");
        assert_eq!(pointer_to_path("/data/0/p"), "$.data[0].p");
        assert_eq!(pointer_to_path("/a b/x~1y"), "$['a b']['x/y']");
    }

    #[test]
    fn file_uris_round_trip_with_spaces() {
        let uri = file_uri(Path::new("/tmp/a b/s.json")).unwrap();
        assert_eq!(uri, "file:///tmp/a%20b/s.json");
        assert_eq!(uri_path(&uri), Some(PathBuf::from("/tmp/a b/s.json")));
    }
}
