//! `subscribe:`, the one keyword of the protocols that have subscriptions: which protocol's
//! options a step holds follows from its keys, and each protocol reads its own.

use serde::Deserialize;
use serde_json::Value;

use super::graphql_ws::GraphqlSubscribe;
use super::stomp::StompSubscribe;

/// A `subscribe` step's options. The map is buffered, then read by the protocol whose key it
/// holds (`query`: graphql-ws's; otherwise STOMP's, `stomp::subscribe_from`, whose errors name
/// `destination`); loading then checks that protocol against the connection's
/// (`protocol::check_step_protocol`).
#[derive(Debug, Clone)]
pub enum Subscribe {
    /// `{destination, id?, ack?, headers?, receipt?}`.
    Stomp(StompSubscribe),
    /// `{query, id?, variables?, operationName?}`.
    Graphql(GraphqlSubscribe),
}

impl Subscribe {
    pub fn conn(&self) -> Option<&str> {
        match self {
            Subscribe::Stomp(s) => s.conn.as_deref(),
            Subscribe::Graphql(s) => s.conn.as_deref(),
        }
    }
}

impl<'de> Deserialize<'de> for Subscribe {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let map = match Value::deserialize(d)? {
            Value::Object(map) => map,
            other => {
                return Err(D::Error::custom(format!(
                    "`subscribe` takes a map such as `{{destination: /topic/x}}`, found {}",
                    crate::value::type_name(&other)
                )))
            }
        };
        // graphql-ws's options are told apart by `query`; any other map is read as STOMP's
        // (whose errors name its keys, `destination` first).
        if map.contains_key("query") {
            return GraphqlSubscribe::deserialize(Value::Object(map))
                .map(Subscribe::Graphql)
                .map_err(D::Error::custom);
        }
        super::stomp::subscribe_from(map)
            .map(Subscribe::Stomp)
            .map_err(D::Error::custom)
    }
}
