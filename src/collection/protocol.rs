//! The parts of a request that meet its connections' protocols: the rule that a protocol's
//! own steps need that protocol (the registry, `src/protocol/mod.rs`, reads and checks them),
//! and the generic correlation of `send … reply` (docs/steps.md).

use serde::Deserialize;

use super::de::OrderedMap;
use super::{Step, StepKind};
use crate::jsonpath::JsonPath;
use crate::matcher::Matcher;
pub use crate::protocol::{ProtocolConfig, ProtocolKeys, ProtocolName};

/// Checks step `step` against the protocol its connection `conn` speaks: a protocol step is
/// read (if its keyword is shared) by that protocol, and a step of another protocol is an
/// error naming it. Returns the location (line, column; 0 for the whole line) and message.
pub fn check_step_protocol(
    step: &mut Step,
    conn: &str,
    speaks: ProtocolName,
) -> Result<(), (usize, usize, String)> {
    match &mut step.kind {
        StepKind::Send(send) => {
            if let Some(invocation) = &send.signalr {
                crate::protocol::signalr::yaml::check_send(invocation, conn, speaks)
                    .map_err(|m| (step.line, 0, m))?;
            }
            crate::protocol::stomp::yaml::check_send(send, conn, speaks)
                .map_err(|m| (step.line, 0, m))
        }
        StepKind::Protocol(p) => {
            let resolved = crate::protocol::resolve_step(p.clone(), conn, speaks);
            let resolved = resolved.map_err(|(at, m)| match at {
                Some((line, column)) => (line, column, m),
                None => (step.line, 0, m),
            })?;
            *p = crate::protocol::ProtocolStep::Ready(resolved);
            Ok(())
        }
        _ => Ok(()),
    }
}

/// JSONPath → matcher, as `expect: {json: …}` takes it.
pub type MatcherMap = OrderedMap<JsonPath, Matcher>;

/// `send: {json: …, reply: {match: PATH, json: {PATH: MATCHER…}}}`: the answer to a message,
/// found by the value it shares with it at `match`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    #[serde(rename = "match")]
    pub matches: JsonPath,
    pub json: Option<MatcherMap>,
}

/// The variables a matcher map names.
pub fn matcher_vars(map: Option<&MatcherMap>, out: &mut Vec<crate::template::VarRef>) {
    for (_, m) in map.iter().flat_map(|j| j.0.iter()) {
        m.vars(out);
    }
}
