//! `protocol: graphql-ws` (graphql-transport-ws) in collections: the `subscribe` and `complete`
//! steps, a mock's `graphql-ws: {refuse, ping}`, and the `next`/`error`/`complete` replies of
//! its rules (docs/format.md, "Protocols").

use serde::Deserialize;

use crate::collection::de::{map_or_scalar, scalar_text};
use crate::collection::{MockDef, MockReply, ProtocolName};
use crate::protocol::{Claim, StepDef};
use crate::template::{TValue, Template, VarRef};

/// Reads step `keyword` (one of [`super::STEPS`]).
pub fn parse_step<'de, D: serde::Deserializer<'de>>(
    keyword: &str,
    d: D,
) -> Result<Box<dyn StepDef>, D::Error> {
    Ok(match keyword {
        "subscribe" => Box::new(GraphqlSubscribe::deserialize(d)?),
        _ => Box::new(Complete::deserialize(d)?),
    })
}

/// A `subscribe` with a `query` is a GraphQL operation.
pub fn claim(_keyword: &str, yaml: &serde_json::Value) -> Claim {
    if yaml.get("query").is_some() {
        Claim::Strong
    } else {
        Claim::No
    }
}

/// `graphql-ws: {init}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphqlWsOptions {
    /// The payload of `connection_init`.
    pub init: Option<TValue>,
}

impl GraphqlWsOptions {
    /// The variables its options name.
    pub fn vars(&self, out: &mut Vec<VarRef>) {
        self.init.iter().for_each(|i| i.vars(out));
    }
}

/// `subscribe: {id, query, variables, operationName}`: starts an operation. Without `id` the
/// connection picks a fresh one; either way it becomes `{{ last_id }}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphqlSubscribe {
    pub conn: Option<String>,
    pub id: Option<Template>,
    pub query: Template,
    pub variables: Option<TValue>,
    #[serde(rename = "operationName")]
    pub operation_name: Option<Template>,
}

impl GraphqlSubscribe {
    /// The variables it names.
    pub fn vars(&self, out: &mut Vec<VarRef>) {
        for t in [&self.id, &self.operation_name].into_iter().flatten() {
            out.extend(t.vars().cloned());
        }
        out.extend(self.query.vars().cloned());
        if let Some(v) = &self.variables {
            v.vars(out);
        }
    }
}

/// `complete: ID` or `complete: {id, conn}`: ends the operation with that id.
#[derive(Debug, Clone)]
pub struct Complete {
    pub conn: Option<String>,
    pub id: Template,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComplete {
    conn: Option<String>,
    id: Template,
}

impl TryFrom<RawComplete> for Complete {
    type Error = String;
    fn try_from(raw: RawComplete) -> Result<Self, String> {
        Ok(Complete {
            conn: raw.conn,
            id: raw.id,
        })
    }
}

map_or_scalar!(
    Complete,
    RawComplete,
    "an operation id or {id, conn}",
    |v| {
        let id = scalar_text(&v).ok_or(
            "`complete` needs the id of an operation, such as `complete: \"{{ last_id }}\"`",
        )?;
        Ok(Complete {
            conn: None,
            id: Template::parse(&id)?,
        })
    }
);

/// A graphql-ws mock's own options: `graphql-ws: {refuse: 4403, ping: true}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphqlWsMock {
    /// Refuse every `connection_init` by closing with this code (4403 Forbidden, 4401
    /// Unauthorized…) instead of acknowledging it.
    pub refuse: Option<u16>,
    /// Send the client a `ping` right after `connection_ack`.
    #[serde(default)]
    pub ping: bool,
}

/// Whether a reply uses graphql-ws's `next`, `error` or `complete`.
pub fn is_operation_reply(reply: &MockReply) -> bool {
    reply.next.is_some() || reply.error.is_some() || reply.complete.is_some()
}

/// `graphql-ws:` options and `next`/`error`/`complete` replies belong to a `protocol: graphql-ws`
/// mock, and such a reply sends no `json`, `text` or `binary` beside them.
pub fn check_mock(def: &MockDef) -> Result<(), String> {
    // graphql-ws-legacy's mock answers with the same replies, renamed on the wire.
    let speaks = matches!(
        def.protocol,
        ProtocolName::GraphqlWs | ProtocolName::GraphqlWsLegacy
    );
    if def.graphql_ws.is_some() && def.protocol != ProtocolName::GraphqlWs {
        return Err(format!(
            "`graphql-ws:` options are given, but this mock speaks `{}`: add `protocol: graphql-ws`",
            def.protocol.as_str()
        ));
    }
    let replies = def.on.iter().flat_map(|r| &r.value.reply);
    for reply in replies.filter(|r| is_operation_reply(r)) {
        if !speaks {
            return Err(format!(
                "`next`, `error` and `complete` answer graphql-ws subscriptions, but this mock speaks `{}`: add `protocol: graphql-ws`",
                def.protocol.as_str()
            ));
        }
        if reply.json.is_some() || reply.text.is_some() || reply.binary.is_some() {
            return Err(
                "a reply sends either `next`/`error`/`complete` or one of `json`, `text`, `binary`, not both"
                    .into(),
            );
        }
    }
    Ok(())
}

/// Its part of the editor schema (`src/collection/schema.rs`).
pub mod schema {
    use serde_json::{json, Value};

    use crate::collection::schema::obj;

    /// `graphql-ws: {init}`.
    pub fn options() -> Value {
        obj(
            json!({ "init": { "description": "The connection_init payload" } }),
            &[],
        )
    }

    /// Step `keyword`'s schema.
    pub fn step(keyword: &str, conn: &Value, _timeout: &Value) -> Value {
        match keyword {
            "subscribe" => obj(
                json!({
                    "conn": conn,
                    "id": { "description": "The operation id (default: a fresh one); later steps see it as {{ last_id }}", "type": ["string", "number"] },
                    "query": { "description": "graphql-ws: the GraphQL document", "type": "string" },
                    "variables": { "type": "object" },
                    "operationName": { "type": "string" }
                }),
                &["query"],
            ),
            _ => json!({ "anyOf": [
                { "description": "The id of the operation to end", "type": ["string", "number"] },
                obj(json!({ "conn": conn, "id": { "type": ["string", "number"] } }), &["id"])
            ]}),
        }
    }

    /// A mock's `graphql-ws:` options.
    pub fn mock() -> Vec<(String, Value)> {
        vec![(
            "graphql-ws".into(),
            obj(
                json!({
                    "refuse": { "description": "Refuse connection_init, closing with this code (4403, 4401…)", "type": "integer" },
                    "ping": { "description": "Ping each client right after connection_ack", "type": "boolean" }
                }),
                &[],
            ),
        )]
    }

    /// Its keys of a mock's reply.
    pub fn mock_reply() -> Vec<(String, Value)> {
        vec![
            (
                "next".into(),
                json!({ "description": "graphql-ws: payloads sent as `next` messages with the subscription's id" }),
            ),
            (
                "error".into(),
                json!({ "description": "graphql-ws: the payload of an `error` message (GraphQL errors)" }),
            ),
            (
                "complete".into(),
                json!({ "description": "graphql-ws: end the subscription with `complete`", "type": "boolean" }),
            ),
        ]
    }
}
