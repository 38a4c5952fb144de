//! `subscribe:`, the one keyword of the protocols that have subscriptions: which protocol's
//! options a step holds follows from its keys, and each protocol reads its own.

use serde::Deserialize;
use serde_json::Value;

use super::stomp::StompSubscribe;

/// A `subscribe` step's options. The map is buffered, then read by the protocol whose key it
/// holds (`destination`: STOMP's, `stomp::subscribe_from`); loading then checks that protocol
/// against the connection's (`stomp::check_step`).
#[derive(Debug, Clone)]
pub enum Subscribe {
    /// `{destination, id?, ack?, headers?, receipt?}`.
    Stomp(StompSubscribe),
}

impl Subscribe {
    pub fn conn(&self) -> Option<&str> {
        match self {
            Subscribe::Stomp(s) => s.conn.as_deref(),
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
        // Only STOMP's options exist so far, so every map is read as STOMP's (whose errors
        // name its keys); another protocol's would be told apart by a key of its own.
        super::stomp::subscribe_from(map)
            .map(Subscribe::Stomp)
            .map_err(D::Error::custom)
    }
}
