//! Reading an AsyncAPI document (2.x, 2.6 included, and 3.0): a channel, its messages, and where
//! each message's payload schema is.
//!
//! No maintained Rust AsyncAPI parser exists, so the document is read with serde-saphyr into a
//! `serde_json::Value` (the loader the collections use), and the `$ref`s that lead from a channel
//! to its messages are followed here. The payload schemas themselves are compiled by the
//! `jsonschema` crate from their place in the document, so their own `$ref`s
//! (`#/components/schemas/…`, or files beside it) resolve as JSON Schema says.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use jsonschema::Draft;
use serde_json::Value;

use super::keys::{self, Kind};
use super::schema::{file_uri, read_document};

/// One message a channel carries: its name and its payload schema's place.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub name: String,
    /// The payload: its URI (`file:///…/doc.yaml#/components/…/payload`) and the draft it is
    /// read as; `None` when the message has no payload (any payload is then accepted).
    pub payload: Option<(String, Draft)>,
}

/// A loaded document and the files its `$ref`s led to.
pub(super) struct Docs {
    pub(super) files: HashMap<PathBuf, Value>,
}

/// A node of a document: the file, the JSON pointer to it, and its value.
pub(super) struct Node {
    pub(super) file: PathBuf,
    pub(super) pointer: String,
    pub(super) value: Value,
}

/// The messages of `channel` in the AsyncAPI document at `path` (read already as `doc`).
pub fn channel_messages(path: &Path, doc: Value, channel: &str) -> Result<Vec<Message>, String> {
    let (_, major3) = version(&doc)?;
    let mut docs = Docs {
        files: HashMap::from([(path.to_path_buf(), doc)]),
    };
    let channels = docs.files[path]
        .get("channels")
        .and_then(Value::as_object)
        .ok_or("the document has no `channels`")?;
    let found = channels
        .get(channel)
        .map(|_| channel.to_string())
        .or_else(|| {
            // AsyncAPI 3 keys channels by id; the address is a field.
            channels
                .iter()
                .find(|(_, c)| c.get("address").and_then(Value::as_str) == Some(channel))
                .map(|(k, _)| k.clone())
        });
    let Some(key) = found else {
        let names: Vec<&str> = channels.keys().map(String::as_str).collect();
        let hint = crate::template::closest(channel, names.iter().copied())
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        return Err(format!(
            "no channel `{channel}`{hint}; the document has: {}",
            names.join(", ")
        ));
    };
    let node = docs.resolve(Node {
        file: path.to_path_buf(),
        pointer: format!("/channels/{}", escape(&key)),
        value: channels[&key].clone(),
    })?;
    keys::check(Kind::Channel, major3, &format!("`{key}`"), &node)?;
    let messages = if major3 {
        docs.messages_v3(node)?
    } else {
        docs.messages_v2(node)?
    };
    if messages.is_empty() {
        return Err(format!("channel `{channel}` lists no messages"));
    }
    Ok(messages)
}

/// The document's `asyncapi:` version, and whether it is 3.x; 2.x and 3.x are read.
pub(super) fn version(doc: &Value) -> Result<(String, bool), String> {
    let version = doc
        .get("asyncapi")
        .and_then(Value::as_str)
        .ok_or("not an AsyncAPI document: it has no `asyncapi:` version")?
        .to_string();
    let major3 = version.starts_with("3.");
    if !major3 && !version.starts_with("2.") {
        return Err(format!(
            "AsyncAPI {version} is not supported: use 2.x (2.6) or 3.0"
        ));
    }
    Ok((version, major3))
}

impl Docs {
    /// AsyncAPI 3: `channel.messages` is a map of message objects (each one message or `oneOf`).
    fn messages_v3(&mut self, channel: Node) -> Result<Vec<Message>, String> {
        let Some(map) = channel.value.get("messages").and_then(Value::as_object) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (key, value) in map {
            let node = Node {
                file: channel.file.clone(),
                pointer: format!("{}/messages/{}", channel.pointer, escape(key)),
                value: value.clone(),
            };
            self.expand(node, key, true, 0, &mut out)?;
        }
        Ok(out)
    }

    /// AsyncAPI 2: `subscribe.message` and `publish.message`, each one message or `oneOf`.
    fn messages_v2(&mut self, channel: Node) -> Result<Vec<Message>, String> {
        let mut out = Vec::new();
        for op in ["subscribe", "publish"] {
            let Some(operation) = channel.value.get(op) else {
                continue;
            };
            let at = Node {
                file: channel.file.clone(),
                pointer: format!("{}/{op}", channel.pointer),
                value: operation.clone(),
            };
            keys::check(Kind::Operation, false, &format!("`{op}`"), &at)?;
            let Some(m) = operation.get("message") else {
                continue;
            };
            let node = Node {
                file: channel.file.clone(),
                pointer: format!("{}/message", at.pointer),
                value: m.clone(),
            };
            let fallback = format!("{op} message {}", out.len() + 1);
            self.expand(node, &fallback, false, 0, &mut out)?;
        }
        Ok(out)
    }

    /// Adds the message at `node` to `out`: its `$ref`s followed, its keys checked, and each of
    /// its `oneOf` messages when it is a list (a message matches the list when it matches one).
    fn expand(
        &mut self,
        node: Node,
        fallback: &str,
        v3: bool,
        depth: usize,
        out: &mut Vec<Message>,
    ) -> Result<(), String> {
        let node = self.resolve(node)?;
        let name = message_name(fallback, &node);
        keys::check(Kind::Message, v3, &format!("`{name}`"), &node)?;
        let Some(items) = node.value.get("oneOf") else {
            out.push(message(&name, node, v3)?);
            return Ok(());
        };
        let Some(items) = items.as_array() else {
            return Err(format!(
                "message `{name}`: `oneOf` is {}, not a list of messages",
                crate::value::type_name(items)
            ));
        };
        if depth >= 8 {
            return Err(format!("message `{name}`: `oneOf` nested deeper than 8"));
        }
        if items.is_empty() {
            return Err(format!("message `{name}`: `oneOf` lists no messages"));
        }
        for (i, v) in items.iter().enumerate() {
            let part = Node {
                file: node.file.clone(),
                pointer: format!("{}/oneOf/{i}", node.pointer),
                value: v.clone(),
            };
            self.expand(
                part,
                &format!("{name} (oneOf {})", i + 1),
                v3,
                depth + 1,
                out,
            )?;
        }
        Ok(())
    }

    /// Follows `$ref`s until a node that is not one (within the document or to files beside it).
    pub(super) fn resolve(&mut self, mut node: Node) -> Result<Node, String> {
        for _ in 0..32 {
            let Some(target) = node.value.get("$ref").and_then(Value::as_str) else {
                return Ok(node);
            };
            let (file_part, pointer) = target.split_once('#').unwrap_or((target, ""));
            let file = if file_part.is_empty() {
                node.file.clone()
            } else {
                if file_part.contains("://") {
                    return Err(format!(
                        "`$ref: {target}`: only local files are read (no network)"
                    ));
                }
                let beside = node.file.parent().unwrap_or(Path::new("."));
                beside.join(file_part)
            };
            if !self.files.contains_key(&file) {
                let doc = read_document(&file)?;
                self.files.insert(file.clone(), doc);
            }
            let value = self.files[&file]
                .pointer(&unescape_fragment(pointer))
                .ok_or_else(|| format!("`$ref: {target}` points to nothing"))?
                .clone();
            node = Node {
                file,
                pointer: unescape_fragment(pointer),
                value,
            };
        }
        Err("a `$ref` chain longer than 32 (a cycle?)".into())
    }
}

/// A message object's name: `name`, `messageId`, its key under `components/messages`, or
/// `fallback`.
pub(super) fn message_name(fallback: &str, node: &Node) -> String {
    node.value
        .get("name")
        .or_else(|| node.value.get("messageId"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| {
            // A message reached through `$ref: '#/components/messages/trade'` is called `trade`.
            match node.pointer.rsplit_once("/components/messages/") {
                Some((_, key)) if !key.contains('/') => key.replace("~1", "/").replace("~0", "~"),
                _ => fallback.to_string(),
            }
        })
}

/// A message object: its name and its payload schema's place and draft.
fn message(fallback: &str, node: Node, v3: bool) -> Result<Message, String> {
    let name = message_name(fallback, &node);
    let Some(payload) = node.value.get("payload") else {
        return Ok(Message {
            name,
            payload: None,
        });
    };
    let mut pointer = format!("{}/payload", node.pointer);
    let mut format = node.value.get("schemaFormat").and_then(Value::as_str);
    // AsyncAPI 3: a Multi Format Schema Object, `{schemaFormat, schema}`.
    // Its `schema` misspelt would leave a schema of unknown keywords: one that accepts anything.
    if let (true, Some(f)) = (v3, payload.get("schemaFormat")) {
        let f = f.as_str().ok_or_else(|| {
            format!("message `{name}`: the payload's `schemaFormat` is not a string")
        })?;
        let unknown = payload.as_object().into_iter().flatten().find(|(k, _)| {
            !matches!(k.as_str(), "schemaFormat" | "schema") && !k.starts_with("x-")
        });
        if let Some((key, _)) = unknown {
            let hint = crate::template::closest(key, ["schema"])
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(format!(
                "message `{name}`: unknown key `{key}` in its payload{hint}; a payload with `schemaFormat` holds the schema under `schema`"
            ));
        }
        if payload.get("schema").is_none() {
            return Err(format!(
                "message `{name}`: its payload has a `schemaFormat` but no `schema`"
            ));
        }
        format = Some(f);
        pointer.push_str("/schema");
    }
    let draft = schema_format_draft(format).map_err(|f| {
        format!(
            "message `{name}`: payload schema format `{f}` is not supported; wsrun validates JSON Schema payloads (AsyncAPI schema or application/schema+json)"
        )
    })?;
    let uri = format!("{}#{}", file_uri(&node.file)?, encode_fragment(&pointer));
    Ok(Message {
        name,
        payload: Some((uri, draft)),
    })
}

/// The JSON Schema draft a `schemaFormat` means; the format itself when it is not JSON Schema.
/// The AsyncAPI schema (the default) is a superset of draft 07.
fn schema_format_draft(format: Option<&str>) -> Result<Draft, &str> {
    let Some(f) = format else {
        return Ok(Draft::Draft7);
    };
    let (media, params) = f.split_once(';').unwrap_or((f, ""));
    let version = params
        .split(';')
        .find_map(|p| p.trim().strip_prefix("version="))
        .unwrap_or("");
    match media.trim() {
        m if m.starts_with("application/vnd.aai.asyncapi") => Ok(Draft::Draft7),
        "application/schema+json" | "application/schema+yaml" => Ok(match version {
            "draft-04" => Draft::Draft4,
            "draft-06" => Draft::Draft6,
            "2019-09" | "draft-2019-09" => Draft::Draft201909,
            "2020-12" | "draft-2020-12" => Draft::Draft202012,
            _ => Draft::Draft7,
        }),
        _ => Err(f),
    }
}

/// A key as a JSON Pointer segment.
pub(super) fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// A JSON Pointer as a URI fragment: characters a fragment may not hold are percent-encoded.
fn encode_fragment(pointer: &str) -> String {
    let mut out = String::with_capacity(pointer.len());
    for b in pointer.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A `$ref` fragment as a JSON Pointer (percent-decoded).
pub(super) fn unescape_fragment(fragment: &str) -> String {
    let bytes = fragment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| std::str::from_utf8(&bytes[i + 1..i + 3]).ok())
            .flatten()
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_formats_map_to_drafts_and_others_are_refused() {
        assert_eq!(schema_format_draft(None), Ok(Draft::Draft7));
        assert_eq!(
            schema_format_draft(Some("application/vnd.aai.asyncapi+json;version=3.0.0")),
            Ok(Draft::Draft7)
        );
        assert_eq!(
            schema_format_draft(Some("application/schema+json;version=draft-04")),
            Ok(Draft::Draft4)
        );
        assert_eq!(
            schema_format_draft(Some("application/vnd.apache.avro;version=1.9.0")),
            Err("application/vnd.apache.avro;version=1.9.0")
        );
    }

    #[test]
    fn fragments_round_trip() {
        let p = "/channels/~1ws~1{symbol}@trade/messages";
        assert_eq!(unescape_fragment(&encode_fragment(p)), p);
    }
}
