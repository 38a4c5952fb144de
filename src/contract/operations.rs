//! An AsyncAPI document's servers and operations, with an example of each message: what
//! `wsrun new --from-asyncapi` writes a collection from.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::asyncapi::{escape, message_name, version, Docs, Node};
use super::keys::{self, Kind};

/// The document, as far as a collection needs it.
#[derive(Debug, Clone)]
pub struct Outline {
    /// The `asyncapi:` version.
    pub version: String,
    pub servers: Vec<Server>,
    /// Servers whose protocol is not WebSocket: named in a comment, not made environments.
    pub skipped_servers: Vec<String>,
    pub operations: Vec<Operation>,
    /// The channels' address parameters (`{symbol}`) and a value from the document, if any.
    pub parameters: Vec<(String, Option<Value>)>,
}

/// A server as a WebSocket URL (`wss://host/pathname`).
#[derive(Debug, Clone)]
pub struct Server {
    pub name: String,
    pub url: String,
}

/// One operation on a channel.
#[derive(Debug, Clone)]
pub struct Operation {
    /// The operation's id (3.0), `operationId` or `publish`/`subscribe` (2.x).
    pub name: String,
    /// The channel's key in `channels` (what `contract: {channel:}` names).
    pub channel: String,
    /// The channel's address (`/ws/{symbol}@trade`), `None` when it has none.
    pub address: Option<String>,
    /// The client sends (2.x `publish`, 3.0 `send`); else it receives.
    pub sends: bool,
    /// The operation's messages.
    pub messages: Vec<Sample>,
    /// What the server answers with: the reply (3.0), else what it sends on the channel.
    pub replies: Vec<Sample>,
}

/// A message: its name, an example payload from the document, and its schema's required
/// properties.
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    /// `examples[0].payload`, the payload's `examples[0]` or `example`.
    pub example: Option<Value>,
    /// A payload built from the schema: its required properties, each its `const`, `default`,
    /// example or first `enum` value, else an empty value of its type.
    pub skeleton: Value,
    /// The required top-level properties, each with its `const` when it has one.
    pub required: Vec<(String, Option<Value>)>,
    /// Whether the payload is declared an object.
    pub object: bool,
}

/// Reads the outline of the AsyncAPI document at `path` (read already as `doc`).
pub fn outline(path: &Path, doc: Value) -> Result<Outline, String> {
    let (version, major3) = version(&doc)?;
    let channels = doc
        .get("channels")
        .and_then(Value::as_object)
        .filter(|c| !c.is_empty())
        .ok_or("the document has no `channels`: there is nothing to write requests for")?
        .clone();
    let servers = doc.get("servers").and_then(Value::as_object).cloned();
    let operations = doc.get("operations").and_then(Value::as_object).cloned();
    let mut docs = Docs {
        files: HashMap::from([(path.to_path_buf(), doc)]),
    };
    let at = |pointer: String, value: &Value| Node {
        file: path.to_path_buf(),
        pointer,
        value: value.clone(),
    };
    let mut out = Outline {
        version,
        servers: Vec::new(),
        skipped_servers: Vec::new(),
        operations: Vec::new(),
        parameters: Vec::new(),
    };
    for (name, server) in servers.iter().flatten() {
        let node = docs.resolve(at(format!("/servers/{}", escape(name)), server))?;
        match server_url(&node.value) {
            Some(url) => out.servers.push(Server {
                name: name.clone(),
                url,
            }),
            None => out.skipped_servers.push(name.clone()),
        }
    }
    for (key, channel) in &channels {
        let node = docs.resolve(at(format!("/channels/{}", escape(key)), channel))?;
        keys::check(Kind::Channel, major3, &format!("`{key}`"), &node)?;
        docs.parameters(&node, &mut out.parameters)?;
    }
    if major3 {
        for (id, op) in operations.iter().flatten() {
            let op = docs.resolve(at(format!("/operations/{}", escape(id)), op))?;
            out.operations.push(docs.operation_v3(id, op)?);
        }
        // A send without a reply expects what the server sends on the channel, if it says.
        let received: HashMap<String, Vec<Sample>> = out
            .operations
            .iter()
            .filter(|o| !o.sends)
            .map(|o| (o.channel.clone(), o.messages.clone()))
            .collect();
        for op in out.operations.iter_mut().filter(|o| o.sends) {
            if op.replies.is_empty() {
                op.replies = received.get(&op.channel).cloned().unwrap_or_default();
            }
        }
    } else {
        for (key, channel) in &channels {
            let node = docs.resolve(at(format!("/channels/{}", escape(key)), channel))?;
            let subscribe = docs.samples_v2(&node, "subscribe")?;
            for (op, sends) in [("publish", true), ("subscribe", false)] {
                let Some(o) = node.value.get(op) else {
                    continue;
                };
                let at = Node {
                    file: node.file.clone(),
                    pointer: format!("{}/{op}", node.pointer),
                    value: o.clone(),
                };
                keys::check(Kind::Operation, false, &format!("`{op}`"), &at)?;
                let name = o
                    .get("operationId")
                    .and_then(Value::as_str)
                    .unwrap_or(op)
                    .to_string();
                out.operations.push(Operation {
                    name,
                    channel: key.clone(),
                    address: Some(key.clone()),
                    sends,
                    messages: if sends {
                        docs.samples_v2(&node, op)?
                    } else {
                        subscribe.clone()
                    },
                    replies: if sends { subscribe.clone() } else { Vec::new() },
                });
            }
        }
    }
    Ok(out)
}

/// A server's WebSocket URL: 2.x `url`, 3.0 `host` + `pathname`, with `protocol` for its scheme
/// and `{variables}` filled with their defaults; `None` for a protocol other than WebSocket.
fn server_url(server: &Value) -> Option<String> {
    let text = |k: &str| server.get(k).and_then(Value::as_str);
    let protocol = text("protocol").unwrap_or("ws").to_ascii_lowercase();
    let secure = match protocol.as_str() {
        "ws" | "http" | "websocket" => false,
        "wss" | "https" | "websockets" | "secure-websocket" => true,
        _ => return None,
    };
    let mut url = match text("host") {
        Some(host) => format!("{host}{}", text("pathname").unwrap_or("")),
        None => text("url")?.to_string(),
    };
    if let Some(vars) = server.get("variables").and_then(Value::as_object) {
        for (name, var) in vars {
            let value = var
                .get("default")
                .or_else(|| var.get("enum").and_then(|e| e.get(0)))
                .and_then(Value::as_str);
            if let Some(v) = value {
                url = url.replace(&format!("{{{name}}}"), v);
            }
        }
    }
    let scheme = if secure { "wss" } else { "ws" };
    Some(match url.split_once("://") {
        Some(("http", rest)) => format!("ws://{rest}"),
        Some(("https", rest)) => format!("wss://{rest}"),
        Some(_) => url,
        None => format!("{scheme}://{url}"),
    })
}

impl Docs {
    /// The `parameters` of a channel, each with a value (`default`, an example, the first of
    /// `enum`; in 2.x inside its `schema`), added to `out` once.
    fn parameters(
        &mut self,
        channel: &Node,
        out: &mut Vec<(String, Option<Value>)>,
    ) -> Result<(), String> {
        let Some(params) = channel.value.get("parameters").and_then(Value::as_object) else {
            return Ok(());
        };
        for (name, param) in params {
            let node = self.resolve(Node {
                file: channel.file.clone(),
                pointer: format!("{}/parameters/{}", channel.pointer, escape(name)),
                value: param.clone(),
            })?;
            let p = node.value.get("schema").unwrap_or(&node.value);
            let value = p
                .get("default")
                .or_else(|| p.get("examples").and_then(|e| e.get(0)))
                .or_else(|| p.get("enum").and_then(|e| e.get(0)))
                .cloned();
            if !out.iter().any(|(n, _)| n == name) {
                out.push((name.clone(), value));
            }
        }
        Ok(())
    }

    /// A 3.0 operation: its channel, its messages (all the channel's when it lists none) and
    /// its reply's messages.
    fn operation_v3(&mut self, id: &str, op: Node) -> Result<Operation, String> {
        keys::check(Kind::Operation, true, &format!("`{id}`"), &op)?;
        let sends = match op.value.get("action").and_then(Value::as_str) {
            Some("send") => true,
            Some("receive") => false,
            other => {
                return Err(format!(
                    "operation `{id}`: `action` is {other:?}; it must be `send` or `receive`"
                ))
            }
        };
        let channel = self
            .child(&op, "channel")?
            .ok_or_else(|| format!("operation `{id}` names no `channel`"))?;
        let key = match channel.pointer.strip_prefix("/channels/") {
            Some(k) if !k.contains('/') => k.replace("~1", "/").replace("~0", "~"),
            _ => {
                return Err(format!(
                    "operation `{id}`: its channel is not under `channels`"
                ))
            }
        };
        let address = channel
            .value
            .get("address")
            .and_then(Value::as_str)
            .map(str::to_string);
        let messages = self.samples_v3(&op, &channel)?;
        let replies = match self.child(&op, "reply")? {
            Some(reply) => {
                let name = format!("of `{id}`");
                keys::check(Kind::Reply, true, &name, &reply)?;
                let reply_channel = self.child(&reply, "channel")?.unwrap_or(channel);
                self.samples_v3(&reply, &reply_channel)?
            }
            None => Vec::new(),
        };
        Ok(Operation {
            name: id.to_string(),
            channel: key,
            address,
            sends,
            messages,
            replies,
        })
    }

    /// The messages `holder` (an operation or a reply) lists, else all of `channel`'s.
    fn samples_v3(&mut self, holder: &Node, channel: &Node) -> Result<Vec<Sample>, String> {
        let mut out = Vec::new();
        if let Some(list) = holder.value.get("messages").and_then(Value::as_array) {
            for (i, m) in list.iter().enumerate() {
                let node = self.resolve(Node {
                    file: holder.file.clone(),
                    pointer: format!("{}/messages/{i}", holder.pointer),
                    value: m.clone(),
                })?;
                self.samples_of(&format!("message {}", i + 1), node, &mut out)?;
            }
            return Ok(out);
        }
        if let Some(map) = channel.value.get("messages").and_then(Value::as_object) {
            for (key, m) in map {
                let node = self.resolve(Node {
                    file: channel.file.clone(),
                    pointer: format!("{}/messages/{}", channel.pointer, escape(key)),
                    value: m.clone(),
                })?;
                self.samples_of(key, node, &mut out)?;
            }
        }
        Ok(out)
    }

    /// A 3.0 message as samples: itself, or each message of its `oneOf`.
    fn samples_of(
        &mut self,
        fallback: &str,
        node: Node,
        out: &mut Vec<Sample>,
    ) -> Result<(), String> {
        let Some(items) = node.value.get("oneOf").and_then(Value::as_array) else {
            out.push(self.sample(fallback, node, true)?);
            return Ok(());
        };
        let name = message_name(fallback, &node);
        for (i, v) in items.iter().enumerate() {
            let part = self.resolve(Node {
                file: node.file.clone(),
                pointer: format!("{}/oneOf/{i}", node.pointer),
                value: v.clone(),
            })?;
            out.push(self.sample(&format!("{name} (oneOf {})", i + 1), part, true)?);
        }
        Ok(())
    }

    /// The messages of a 2.x channel's `publish` or `subscribe` (one, or `oneOf`).
    fn samples_v2(&mut self, channel: &Node, op: &str) -> Result<Vec<Sample>, String> {
        let Some(m) = channel.value.get(op).and_then(|o| o.get("message")) else {
            return Ok(Vec::new());
        };
        let node = self.resolve(Node {
            file: channel.file.clone(),
            pointer: format!("{}/{op}/message", channel.pointer),
            value: m.clone(),
        })?;
        let mut out = Vec::new();
        match node.value.get("oneOf").and_then(Value::as_array) {
            Some(items) => {
                for (i, v) in items.iter().enumerate() {
                    let part = self.resolve(Node {
                        file: node.file.clone(),
                        pointer: format!("{}/oneOf/{i}", node.pointer),
                        value: v.clone(),
                    })?;
                    out.push(self.sample(&format!("{op} message {}", i + 1), part, false)?);
                }
            }
            None => out.push(self.sample(&format!("{op} message"), node, false)?),
        }
        Ok(out)
    }

    /// `parent[key]`, its `$ref`s followed; `None` when absent.
    fn child(&mut self, parent: &Node, key: &str) -> Result<Option<Node>, String> {
        let Some(v) = parent.value.get(key) else {
            return Ok(None);
        };
        self.resolve(Node {
            file: parent.file.clone(),
            pointer: format!("{}/{}", parent.pointer, escape(key)),
            value: v.clone(),
        })
        .map(Some)
    }

    /// A message object as a [`Sample`].
    fn sample(&mut self, fallback: &str, message: Node, v3: bool) -> Result<Sample, String> {
        let name = message_name(fallback, &message);
        keys::check(Kind::Message, v3, &format!("`{name}`"), &message)?;
        let mut payload = self.child(&message, "payload")?;
        // AsyncAPI 3: a Multi Format Schema Object, `{schemaFormat, schema}`.
        if let Some(p) = &payload {
            if p.value.get("schemaFormat").is_some() && p.value.get("schema").is_some() {
                payload = self.child(p, "schema")?;
            }
        }
        let from_message = message
            .value
            .get("examples")
            .and_then(|e| e.get(0))
            .and_then(|e| e.get("payload"));
        let from_payload = payload.as_ref().and_then(|p| {
            p.value
                .get("examples")
                .and_then(|e| e.get(0))
                .or_else(|| p.value.get("example"))
        });
        let example = from_message.or(from_payload).cloned();
        let Some(payload) = payload else {
            return Ok(Sample {
                name,
                example,
                skeleton: Value::Object(Map::new()),
                required: Vec::new(),
                object: false,
            });
        };
        let mut required = Vec::new();
        for p in required_names(&payload.value) {
            let prop = self.property(&payload, &p)?;
            required.push((p, prop.and_then(|n| n.value.get("const").cloned())));
        }
        let object = is_object(&payload.value);
        let skeleton = self.skeleton(payload, 0)?;
        Ok(Sample {
            name,
            example,
            skeleton,
            required,
            object,
        })
    }

    /// `schema.properties[name]`, its `$ref`s followed.
    fn property(&mut self, schema: &Node, name: &str) -> Result<Option<Node>, String> {
        let Some(props) = self.child(schema, "properties")? else {
            return Ok(None);
        };
        self.child(&props, name)
    }

    /// A value the schema accepts, as far as its required properties go.
    fn skeleton(&mut self, schema: Node, depth: usize) -> Result<Value, String> {
        let schema = self.resolve(schema)?;
        let v = &schema.value;
        let given = v
            .get("const")
            .or_else(|| v.get("default"))
            .or_else(|| v.get("examples").and_then(|e| e.get(0)))
            .or_else(|| v.get("example"))
            .or_else(|| v.get("enum").and_then(|e| e.get(0)));
        if let Some(given) = given {
            return Ok(given.clone());
        }
        let ty = match v.get("type") {
            Some(Value::String(t)) => t.as_str(),
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .unwrap_or("null"),
            _ if v.get("properties").is_some() => "object",
            _ => "",
        };
        Ok(match ty {
            "object" if depth < 8 => {
                let mut map = Map::new();
                for p in required_names(v) {
                    let value = match self.property(&schema, &p)? {
                        Some(prop) => self.skeleton(prop, depth + 1)?,
                        None => Value::Null,
                    };
                    map.insert(p, value);
                }
                Value::Object(map)
            }
            "object" => Value::Object(Map::new()),
            "array" => Value::Array(Vec::new()),
            "string" => Value::String(String::new()),
            "integer" | "number" => Value::from(0),
            "boolean" => Value::Bool(false),
            _ => Value::Null,
        })
    }
}

/// The names a schema's `required` lists.
fn required_names(schema: &Value) -> Vec<String> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a schema declares an object (`type: object`, or properties).
fn is_object(schema: &Value) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == "object",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "object"),
        _ => schema.get("properties").is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_one_of_message_of_a_3_0_channel_is_each_of_its_messages() {
        let doc = serde_json::json!({
            "asyncapi": "3.0.0",
            "channels": { "c": { "address": "/c", "messages": { "events": { "oneOf": [
                { "name": "trade", "payload": { "required": ["p"] } },
                { "payload": { "required": ["ping"] } }
            ] } } } },
            "operations": { "listen": { "action": "receive", "channel": { "$ref": "#/channels/c" } } }
        });
        let outline = outline(Path::new("/nowhere/doc.yaml"), doc).unwrap();
        let names: Vec<&str> = outline.operations[0]
            .messages
            .iter()
            .map(|m| m.name.as_str())
            .collect();
        assert_eq!(names, ["trade", "events (oneOf 2)"]);
        assert_eq!(outline.operations[0].messages[1].required[0].0, "ping");
    }

    #[test]
    fn a_misspelt_operation_key_is_an_error() {
        let doc = serde_json::json!({
            "asyncapi": "3.0.0",
            "channels": { "c": { "address": "/c", "messages": { "m": { "payload": {} } } } },
            "operations": { "say": { "action": "send", "channel": { "$ref": "#/channels/c" }, "mesages": [] } }
        });
        let err = outline(Path::new("/nowhere/doc.yaml"), doc).unwrap_err();
        assert!(
            err.starts_with("unknown key `mesages` in operation `say` (did you mean `messages`?) at #/operations/say;"),
            "{err}"
        );
    }

    #[test]
    fn servers_become_websocket_urls_and_other_protocols_none() {
        let v3 = serde_json::json!({"host": "stream.example.com:9443", "pathname": "/v1", "protocol": "wss"});
        assert_eq!(
            server_url(&v3).as_deref(),
            Some("wss://stream.example.com:9443/v1")
        );
        let v2 = serde_json::json!({"url": "ws://{host}:8080", "protocol": "ws",
            "variables": {"host": {"default": "localhost"}}});
        assert_eq!(server_url(&v2).as_deref(), Some("ws://localhost:8080"));
        let kafka = serde_json::json!({"url": "broker:9092", "protocol": "kafka"});
        assert_eq!(server_url(&kafka), None);
    }
}
