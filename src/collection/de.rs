//! Deserialisation helpers for the collection format: ordered maps, durations, sizes, and
//! steps that accept a scalar shorthand (`sleep: 1s`) as well as a map.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

/// A YAML map that keeps its order (environments: "else the first"; assertions run in order).
#[derive(Debug, Clone)]
pub struct OrderedMap<K, V>(pub Vec<(K, V)>);

impl<K, V> Default for OrderedMap<K, V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<K, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V2<K, V>(PhantomData<(K, V)>);
        impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for V2<K, V> {
            type Value = OrderedMap<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(OrderedMap(Vec::new()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry()? {
                    out.push((k, v));
                }
                Ok(OrderedMap(out))
            }
        }
        d.deserialize_map(V2(PhantomData))
    }
}

pub use crate::duration::Dur;

/// A size in bytes: `1048576`, `64MiB`, `512KiB`, `1MB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub usize);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = crate::template::ScalarString::deserialize(d)?.0;
        parse_size(&text).map(Size).map_err(de::Error::custom)
    }
}

pub fn parse_size(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num
        .parse()
        .map_err(|_| format!("invalid size `{text}`: write bytes or e.g. `64MiB`"))?;
    let mult = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        other => {
            return Err(format!(
                "invalid size unit `{other}`: use B, KiB, MiB, GiB, KB, MB or GB"
            ))
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size `{text}` is too large"))
}

/// Implements `Deserialize` for a step body that is either a map (the derived `$raw` form) or
/// a scalar shorthand converted by `$from_scalar`.
macro_rules! map_or_scalar {
    ($ty:ty, $raw:ty, $what:literal, $from_scalar:expr) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Vis;
                impl<'de> serde::de::Visitor<'de> for Vis {
                    type Value = $ty;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str($what)
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        map: A,
                    ) -> Result<Self::Value, A::Error> {
                        let raw = <$raw as serde::Deserialize>::deserialize(
                            serde::de::value::MapAccessDeserializer::new(map),
                        )?;
                        <$ty as std::convert::TryFrom<$raw>>::try_from(raw)
                            .map_err(serde::de::Error::custom)
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                        self.scalar(serde_json::Value::String(v.to_string()))
                    }
                    fn visit_string<E: serde::de::Error>(
                        self,
                        v: String,
                    ) -> Result<Self::Value, E> {
                        self.scalar(serde_json::Value::String(v))
                    }
                    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                        self.scalar(serde_json::Value::from(v))
                    }
                    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
                        self.scalar(serde_json::Value::from(v))
                    }
                    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
                        self.scalar(serde_json::Value::from(v))
                    }
                    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
                        self.scalar(serde_json::Value::from(v))
                    }
                    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                        self.scalar(serde_json::Value::Null)
                    }
                    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                        self.scalar(serde_json::Value::Null)
                    }
                }
                impl Vis {
                    fn scalar<E: serde::de::Error>(self, v: serde_json::Value) -> Result<$ty, E> {
                        let f: fn(serde_json::Value) -> Result<$ty, String> = $from_scalar;
                        f(v).map_err(E::custom)
                    }
                }
                d.deserialize_any(Vis)
            }
        }
    };
}
pub(crate) use map_or_scalar;

/// Reads a scalar shorthand as a string.
pub fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
