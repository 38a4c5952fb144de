//! SignalR in collections: `signalr: {access_token}`, the `invoke` and `send` steps, and a
//! mock's `signalr:` hub options ([`super::hub::HubOptions`]).

use serde::Deserialize;

use crate::collection::Dur;
use crate::collection::{matcher_vars, MatcherMap, MockDef};
use crate::protocol::{ProtocolName, StepDef};
use crate::template::{TValue, Template, VarRef};

/// Reads step `keyword` (one of [`super::STEPS`]).
pub fn parse_step<'de, D: serde::Deserializer<'de>>(
    _keyword: &str,
    d: D,
) -> Result<Box<dyn StepDef>, D::Error> {
    Ok(Box::new(Invoke::deserialize(d)?))
}

/// `signalr:` options belong to a `protocol: signalr` mock.
pub fn check_mock(def: &MockDef) -> Result<(), String> {
    if def.signalr.is_some() && def.protocol != ProtocolName::SignalR {
        return Err(format!(
            "`signalr:` options are given, but this mock speaks `{}`: add `protocol: signalr`",
            def.protocol.as_str()
        ));
    }
    Ok(())
}

/// `send: {target, args}` belongs to a `protocol: signalr` connection.
pub fn check_send(send: &SendInvocation, conn: &str, speaks: ProtocolName) -> Result<(), String> {
    let _ = send;
    if speaks == ProtocolName::SignalR {
        return Ok(());
    }
    Err(format!(
        "`send` with a `target` is a SignalR invocation, but connection `{conn}` speaks `{}`: add `protocol: signalr` to the request or the connection",
        speaks.as_str()
    ))
}

/// `signalr: {access_token}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalROptions {
    /// Sent as the URL's `access_token` query parameter; a secret.
    pub access_token: Option<Template>,
}

impl SignalROptions {
    pub fn vars(&self, out: &mut Vec<VarRef>) {
        out.extend(self.access_token.iter().flat_map(Template::vars).cloned());
    }

    /// The access token, as given and as the URL's query carries it: masked in every output
    /// whether or not its variable is among the `secrets:`.
    pub fn secrets(&self, scope: &dyn crate::template::Lookup) -> Vec<String> {
        let token = self
            .access_token
            .as_ref()
            .and_then(|t| t.expand(scope).ok());
        token
            .map(|t| vec![super::query_encoded(&t), t])
            .unwrap_or_default()
    }
}

/// `invoke: {target, args, result, error}`: an invocation with an id, waiting for its completion.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Invoke {
    pub conn: Option<String>,
    pub timeout: Option<Dur>,
    pub target: Template,
    #[serde(default)]
    pub args: Vec<TValue>,
    /// Matchers over the completion's `result`, as `$`.
    pub result: Option<MatcherMap>,
    /// Matchers over the completion's `error`, as `$`: the invocation is expected to fail.
    pub error: Option<MatcherMap>,
}

/// `send: {target, args}`: an invocation without an id (the hub sends nothing back).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendInvocation {
    pub conn: Option<String>,
    pub target: Template,
    #[serde(default)]
    pub args: Vec<TValue>,
}

impl SendInvocation {
    pub fn vars(&self, out: &mut Vec<VarRef>) {
        invocation_vars(&self.target, &self.args, out);
    }
}

/// The variables a target and its arguments name.
pub fn invocation_vars(target: &Template, args: &[TValue], out: &mut Vec<VarRef>) {
    out.extend(target.vars().cloned());
    args.iter().for_each(|a| a.vars(out));
}

impl Invoke {
    pub fn vars(&self, out: &mut Vec<VarRef>) {
        invocation_vars(&self.target, &self.args, out);
        matcher_vars(self.result.as_ref(), out);
        matcher_vars(self.error.as_ref(), out);
    }
}

/// Its part of the editor schema (`src/collection/schema.rs`).
pub mod schema {
    use serde_json::{json, Value};

    use crate::collection::schema::{obj, r};

    /// `signalr: {access_token}`.
    pub fn options() -> Value {
        obj(
            json!({
                "access_token": { "description": "Sent as the URL's access_token query parameter (masked)", "type": "string" }
            }),
            &[],
        )
    }

    /// `invoke`'s schema.
    pub fn step(_keyword: &str, conn: &Value, timeout: &Value) -> Value {
        obj(
            json!({
                "conn": conn, "timeout": timeout,
                "target": { "description": "SignalR: the hub method", "type": "string" },
                "args": { "description": "Its arguments", "type": "array" },
                "result": r("matchers"),
                "error": r("matchers")
            }),
            &["target"],
        )
    }

    fn invocation() -> Value {
        obj(
            json!({ "target": { "type": "string" }, "args": { "type": "array" } }),
            &["target"],
        )
    }

    /// A mock's `signalr:` hub.
    pub fn mock() -> Vec<(String, Value)> {
        vec![(
            "signalr".into(),
            obj(
                json!({
                    "methods": { "type": "object", "additionalProperties": obj(json!({
                        "result": {},
                        "error": { "type": "string" },
                        "invoke": { "type": "array", "items": invocation() },
                        "delay": r("duration")
                    }), &[]) },
                    "invoke": { "description": "Invocations of the client's methods after the handshake", "type": "array", "items": invocation() },
                    "refuse": { "description": "Refuse the handshake with this error", "type": "string" }
                }),
                &[],
            ),
        )]
    }
}
