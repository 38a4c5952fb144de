//! `protocol: graphql-ws-legacy`, Apollo's subscriptions-transport-ws: the `graphql-ws`
//! subprotocol, `connection_init` answered by `connection_ack` (or `connection_error`, which
//! fails the connection), `start`/`stop` from the client, `data`/`error`/`complete` from the
//! server, and `ka` keep-alives absorbed.
//!
//! Steps see the same envelopes as on a `graphql-ws` connection, and the same steps
//! (`subscribe`, `complete`) send them: this connection translates between the two dialects and
//! hands the rest (operation bookkeeping, protocol violations) to [`GraphqlWs`], so that both
//! protocols judge a server alike. The transcript keeps the frames as they were on the wire.

pub mod mock;
pub(crate) mod run;
pub mod yaml;

use serde_json::{Map, Value};
use tokio_tungstenite::tungstenite::Message;

use super::graphql_ws::{message, GraphqlWs};
use super::{Decoded, Incoming, Protocol};
use crate::report::truncate;

/// Its reference page.
pub const DOCS: &str = "docs/protocols/graphql-ws-legacy.md";

/// Its steps: graphql-ws's.
pub const STEPS: &[&str] = &["subscribe", "complete"];

/// The client side, its `init` expanded with `scope`.
pub fn client(
    o: &yaml::GraphqlWsLegacyOptions,
    scope: &dyn crate::template::Lookup,
) -> Result<Box<dyn Protocol>, String> {
    let init = o.init.as_ref().map(|i| i.expand(scope)).transpose();
    let init = init.map_err(|e| format!("`graphql-ws-legacy: {{init}}`: {e}"))?;
    Ok(Box::new(GraphqlWsLegacy::new(init)))
}

/// The mock side.
pub(crate) fn mock(
    def: &crate::collection::MockDef,
) -> Result<Box<dyn crate::mock::protocol::Speaker>, String> {
    Ok(Box::new(mock::Legacy::compile(def)))
}

/// The subprotocol of subscriptions-transport-ws (graphql-transport-ws's predecessor took the
/// name first, hence the confusing pair).
pub const SUBPROTOCOL: &str = "graphql-ws";

/// How much of a refusal's payload, or of an offending message, a failure quotes (as much as
/// graphql-ws quotes, so that its quote can be swapped for the frame's own).
const QUOTE: usize = 160;

/// A subscriptions-transport-ws connection.
pub struct GraphqlWsLegacy {
    /// The operation bookkeeping, in graphql-transport-ws terms.
    modern: GraphqlWs,
    init: Option<Value>,
}

impl GraphqlWsLegacy {
    /// A connection that sends `init` as the payload of its `connection_init`.
    pub fn new(init: Option<Value>) -> Self {
        Self {
            modern: GraphqlWs::new(None),
            init,
        }
    }

    /// A server's operation message in graphql-transport-ws terms, through the shared
    /// bookkeeping; a violation is worded in this protocol's names.
    /// `wire` is the frame as the server sent it, which a violation quotes.
    fn operation(&mut self, wire: &str, v: Value, out: &mut Vec<Message>) -> Decoded {
        let modern = v.to_string();
        match self
            .modern
            .decode(Incoming::Text(modern.as_str().into()), out)
        {
            Decoded::Failed(why) => Decoded::Failed(
                legacy_words(&why).replace(&truncate(&modern, QUOTE), &truncate(wire, QUOTE)),
            ),
            other => other,
        }
    }
}

/// A violation the shared bookkeeping worded with graphql-transport-ws's names (`next`, the
/// client's `complete`), in the names this protocol's frames carry (`data`, `stop`).
fn legacy_words(why: &str) -> String {
    why.replace("`next`", "`data`")
        .replace("the client's `complete`", "the client's `stop`")
}

/// A server message renamed to graphql-transport-ws's dialect: `data` → `next`, an `error`
/// payload always a list, and no `payload: null` on `complete`.
pub fn modernise(mut v: Value) -> Value {
    let Some(m) = v.as_object_mut() else {
        return v;
    };
    match m.get("type").and_then(Value::as_str) {
        Some("data") => {
            m.insert("type".into(), "next".into());
        }
        Some("error") => {
            if let Some(p) = m.get_mut("payload") {
                if !p.is_array() {
                    *p = Value::Array(vec![p.take()]);
                }
            }
        }
        Some("complete") if m.get("payload").is_some_and(Value::is_null) => {
            m.shift_remove("payload");
        }
        _ => {}
    }
    v
}

/// A client message in graphql-transport-ws's dialect renamed to this protocol's:
/// `subscribe` → `start`, `complete` → `stop`; anything else is sent as it is.
pub fn legacy(mut v: Value) -> Value {
    if let Some(m) = v.as_object_mut() {
        let renamed = match m.get("type").and_then(Value::as_str) {
            Some("subscribe") => "start",
            Some("complete") => "stop",
            _ => return v,
        };
        m.insert("type".into(), renamed.into());
    }
    v
}

/// A client message in this protocol's dialect as graphql-transport-ws's (`start` →
/// `subscribe`, `stop` → `complete`), for the shared bookkeeping.
fn client_modernised(v: &mut Map<String, Value>) {
    let renamed = match v.get("type").and_then(Value::as_str) {
        Some("start") => "subscribe",
        Some("stop") => "complete",
        _ => return,
    };
    v.insert("type".into(), renamed.into());
}

impl Protocol for GraphqlWsLegacy {
    fn name(&self) -> &'static str {
        "graphql-ws-legacy"
    }

    fn prepare(&self, _url: &mut String, subprotocols: &mut Vec<String>) -> Result<(), String> {
        if !subprotocols.iter().any(|p| p == SUBPROTOCOL) {
            subprotocols.push(SUBPROTOCOL.into());
        }
        Ok(())
    }

    fn greet(&mut self, out: &mut Vec<Message>) {
        let init = message("connection_init", self.init.clone());
        out.push(Message::text(init.to_string()));
    }

    fn pending(&self) -> Option<String> {
        self.modern.pending()
    }

    /// The envelopes are graphql-ws's, so is what a contract checks: a `next`'s payload.
    fn payload(&self, envelope: &Value) -> super::Payload {
        self.modern.payload(envelope)
    }

    /// `connection_ack` and `ka` are the protocol's own and `connection_error` a refusal;
    /// `data`, `error` and `complete` reach the steps in graphql-transport-ws's form. A text
    /// that is not JSON reaches them as it is.
    fn decode(&mut self, frame: Incoming, out: &mut Vec<Message>) -> Decoded {
        let Incoming::Text(t) = &frame else {
            return Decoded::Message(frame);
        };
        let Ok(v) = serde_json::from_str::<Value>(t.as_str()) else {
            return Decoded::Message(frame);
        };
        match v.get("type").and_then(Value::as_str) {
            Some("ka") => Decoded::Absorbed,
            Some("connection_ack") => self.modern.decode(frame, out),
            Some("connection_error") => {
                let payload = v.get("payload").cloned().unwrap_or(Value::Null);
                let words = payload
                    .get("message")
                    .and_then(Value::as_str)
                    .map(|m| format!("\"{m}\""))
                    .unwrap_or_else(|| truncate(&payload.to_string(), QUOTE));
                Decoded::Failed(format!(
                    "the server refused the connection with `connection_error`: {words}"
                ))
            }
            Some("data" | "error" | "complete") => self.operation(t.as_str(), modernise(v), out),
            _ => Decoded::Message(Incoming::Envelope(v)),
        }
    }

    /// The dialect differs: a message is renamed before it is sent.
    fn sends_json_as_is(&self) -> bool {
        false
    }

    fn encode(&mut self, envelope: Value, out: &mut Vec<Message>) -> Result<(), String> {
        out.push(Message::text(legacy(envelope).to_string()));
        Ok(())
    }

    /// Notes the operations the client starts and stops, however sent.
    fn sent(&mut self, text: &str) {
        if !text.contains("\"start\"") && !text.contains("\"stop\"") {
            return;
        }
        if let Ok(Value::Object(mut v)) = serde_json::from_str::<Value>(text) {
            client_modernised(&mut v);
            self.modern.sent(&Value::Object(v).to_string());
        }
    }

    fn taken(&mut self, id: u64) -> bool {
        self.modern.taken(id)
    }

    /// `connection_terminate`, as the reference client says goodbye.
    fn farewell(&mut self, out: &mut Vec<Message>) {
        out.push(Message::text(
            message("connection_terminate", None).to_string(),
        ));
    }
}

#[cfg(test)]
mod tests;
