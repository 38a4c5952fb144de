//! `protocol: graphql-ws-legacy` in collections: graphql-ws's options (`{init}`) and steps
//! (`subscribe`, `complete`), read as graphql-ws reads them, and the mock's own
//! `graphql-ws-legacy: {refuse, keep_alive}` (its `next`/`error`/`complete` replies are
//! graphql-ws's).

use serde::Deserialize;

use super::mock::Options;
use crate::collection::MockDef;
use crate::protocol::graphql_ws::yaml::{Complete, GraphqlSubscribe};
use crate::protocol::{graphql_ws, Claim, ProtocolName, StepDef};

/// `graphql-ws-legacy: {init}`, as graphql-ws's options.
pub type GraphqlWsLegacyOptions = graphql_ws::yaml::GraphqlWsOptions;

/// A graphql-ws step on a legacy connection: the same step, owned by this protocol.
#[derive(Debug, Clone)]
pub struct Legacy<S>(pub S);

/// Reads step `keyword` (one of [`super::STEPS`]) as graphql-ws reads it.
pub fn parse_step<'de, D: serde::Deserializer<'de>>(
    keyword: &str,
    d: D,
) -> Result<Box<dyn StepDef>, D::Error> {
    Ok(match keyword {
        "subscribe" => Box::new(Legacy(GraphqlSubscribe::deserialize(d)?)),
        _ => Box::new(Legacy(Complete::deserialize(d)?)),
    })
}

/// A `subscribe` with a `query` is a GraphQL operation, as on graphql-ws: the connection's
/// protocol decides which of the two reads it.
pub fn claim(keyword: &str, yaml: &serde_json::Value) -> Claim {
    graphql_ws::yaml::claim(keyword, yaml)
}

/// `graphql-ws-legacy:` options belong to a `protocol: graphql-ws-legacy` mock.
pub fn check_mock(def: &MockDef) -> Result<(), String> {
    if def.graphql_ws_legacy.is_some() && def.protocol != ProtocolName::GraphqlWsLegacy {
        return Err(format!(
            "`graphql-ws-legacy:` options are given, but this mock speaks `{}`: add `protocol: graphql-ws-legacy`",
            def.protocol.as_str()
        ));
    }
    Ok(())
}

/// The mock's options as the YAML writes them.
pub type GraphqlWsLegacyMock = Options;

/// Its part of the editor schema: graphql-ws's steps and options, and the mock's own keys.
pub mod schema {
    use serde_json::{json, Value};

    use crate::collection::schema::obj;
    use crate::protocol::graphql_ws::yaml::schema as modern;

    pub fn options() -> Value {
        modern::options()
    }

    pub fn step(keyword: &str, conn: &Value, timeout: &Value) -> Value {
        modern::step(keyword, conn, timeout)
    }

    /// A mock's `graphql-ws-legacy:` options.
    pub fn mock() -> Vec<(String, Value)> {
        vec![(
            "graphql-ws-legacy".into(),
            obj(
                json!({
                    "refuse": { "description": "Refuse connection_init with connection_error and this message", "type": "string" },
                    "keep_alive": { "description": "Send a `ka` right after connection_ack", "type": "boolean" }
                }),
                &[],
            ),
        )]
    }
}
