//! Stream properties: what must hold across the messages of an `expect`/`wait_for` window
//! (`stream:`), checked as the messages arrive, in constant memory (docs/matchers.md, "Stream
//! properties").

mod props;
mod report;
mod window;

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use crate::duration::Dur;
use crate::jsonpath::JsonPath;
use crate::matcher::Matcher;
use crate::template::closest;

pub use props::short_duration;
pub use report::failure;
pub use window::Window;

/// The properties a path may have.
pub const PROPERTY_KEYS: [&str; 5] = ["increasing", "decreasing", "unique", "consecutive", "fresh"];

/// `stream:` as written: properties per JSONPath, and the window's `rate`.
#[derive(Debug, Clone, Default)]
pub struct StreamSpec {
    pub paths: Vec<(JsonPath, Props)>,
    /// Messages per second over the window: a numeric matcher.
    pub rate: Option<Matcher>,
}

/// The properties of one path.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Props {
    pub increasing: Option<Order>,
    pub decreasing: Option<Order>,
    pub unique: bool,
    pub consecutive: bool,
    /// The value is an epoch time within this much of the receive time.
    pub fresh: Option<Duration>,
}

/// `increasing: true` (each value ≥ the previous) or `increasing: strict` (each value >).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Loose,
    Strict,
}

impl StreamSpec {
    /// The variables its `rate` matcher names.
    pub fn vars(&self, out: &mut Vec<crate::template::VarRef>) {
        if let Some(m) = &self.rate {
            m.vars(out);
        }
    }

    /// Whether checking needs each message's JSON.
    pub fn needs_json(&self) -> bool {
        !self.paths.is_empty()
    }
}

impl<'de> Deserialize<'de> for StreamSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis;
        impl<'de> Visitor<'de> for Vis {
            type Value = StreamSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of JSONPaths to properties, and `rate`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StreamSpec, A::Error> {
                let mut spec = StreamSpec::default();
                while let Some(key) = map.next_key::<String>()? {
                    if key == "rate" {
                        spec.rate = Some(map.next_value()?);
                    } else if key.starts_with('$') {
                        let path = JsonPath::parse(&key).map_err(de::Error::custom)?;
                        if !path.is_singular() {
                            return Err(de::Error::custom(format!(
                                "stream path `{key}` may select several values: use a path to one value, such as `$.t`"
                            )));
                        }
                        let props: RawProps = map.next_value()?;
                        spec.paths
                            .push((path, props.check(&key).map_err(de::Error::custom)?));
                    } else {
                        let hint = closest(&key, PROPERTY_KEYS.iter().copied().chain(["rate"]))
                            .map(|s| match s {
                                "rate" => " (did you mean `rate`?)".to_string(),
                                p => format!(" (properties belong to a path: `$.t: {{{p}: …}}`)"),
                            })
                            .unwrap_or_default();
                        return Err(de::Error::custom(format!(
                            "unknown `stream` key `{key}`{hint}: `stream` takes JSONPaths (`$.t: {{increasing: strict}}`) and `rate`"
                        )));
                    }
                }
                if spec.paths.is_empty() && spec.rate.is_none() {
                    return Err(de::Error::custom(
                        "empty `stream`: name a path (`$.t: {increasing: strict}`) or `rate`",
                    ));
                }
                Ok(spec)
            }
        }
        d.deserialize_map(Vis)
    }
}

/// A path's properties as written.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProps {
    increasing: Option<OrderFlag>,
    decreasing: Option<OrderFlag>,
    #[serde(default)]
    unique: bool,
    #[serde(default)]
    consecutive: bool,
    fresh: Option<Dur>,
}

impl RawProps {
    fn check(self, path: &str) -> Result<Props, String> {
        let props = Props {
            increasing: self.increasing.and_then(|o| o.0),
            decreasing: self.decreasing.and_then(|o| o.0),
            unique: self.unique,
            consecutive: self.consecutive,
            fresh: self.fresh.map(|d| d.0),
        };
        if props.increasing.is_some() && props.decreasing.is_some() {
            return Err(format!(
                "`{path}` cannot be both `increasing` and `decreasing`"
            ));
        }
        if props == Props::default() {
            return Err(format!(
                "`{path}` has no property: use {}",
                PROPERTY_KEYS.join(", ")
            ));
        }
        Ok(props)
    }
}

/// `true`, `false` or `strict`.
struct OrderFlag(Option<Order>);

impl<'de> Deserialize<'de> for OrderFlag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Bool(true) => Ok(OrderFlag(Some(Order::Loose))),
            Value::Bool(false) => Ok(OrderFlag(None)),
            Value::String(s) if s == "strict" => Ok(OrderFlag(Some(Order::Strict))),
            other => Err(de::Error::custom(format!(
                "expected `true` (each value ≥ the previous) or `strict` (each value >), found {other}"
            ))),
        }
    }
}
