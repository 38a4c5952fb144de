//! In-memory cost of the per-message JSON work, without the network: what `bench/run` row 3
//! spends per message once a frame is in hand, and what it could spend.
//!
//! `parsecost [VARIANT] [N]` — VARIANT is `full`, `picked`, `slots`, `validate` or `all` (default), N messages
//! (default 1,000,000, cycling the flood server's pool of 4,096 trades). Prints ns/message, best
//! of 5 passes.
//!
//! - `full`: what the engine does today: `serde_json::from_str::<Value>` of the whole message,
//!   the four checks through map lookups, then drop the `Value`.
//! - `picked`: the same four checks, but the message is parsed by a visitor that keeps only the
//!   top-level members the paths start with (`e`, `s`, `p`, `T`) as `Value`s and skips the rest
//!   with `IgnoredAny` (still fully validated: malformed JSON is still an error). The result is a
//!   `Value::Object` holding just those members, so a simple-path walk over it gives the same
//!   answers as over the full document.
//! - `slots`: as `picked`, but the kept members go into one slot per wanted key (no key strings,
//!   no B-tree map).
//! - `validate`: the floor: serde_json validating the message and keeping nothing.

use std::fmt;
use std::hint::black_box;
use std::time::Instant;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};
use wsrun_bench::trade;

fn checks(doc: &Value) -> bool {
    doc.get("e").and_then(Value::as_str) == Some("trade")
        && doc.get("s").and_then(Value::as_str) == Some("BTCUSDT")
        && match doc.get("p") {
            Some(Value::String(s)) => s.parse::<f64>().is_ok_and(|p| p > 0.0),
            Some(Value::Number(p)) => p.as_f64().is_some_and(|p| p > 0.0),
            _ => false,
        }
        && doc.get("T").is_some_and(|t| t.is_u64() || t.is_i64())
}

fn full(text: &str) -> bool {
    let doc: Value = serde_json::from_str(text).expect("JSON");
    checks(&doc)
}

/// Parses a JSON object keeping only the members named in `keys`.
struct Picked<'k> {
    keys: &'k [&'k str],
}

/// Which of the wanted keys a member's key is, without allocating it.
struct KeyIndex<'k>(&'k [&'k str]);

impl<'de> DeserializeSeed<'de> for KeyIndex<'_> {
    type Value = Option<usize>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIndex<'_> {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.0.iter().position(|k| *k == v))
    }
}

impl<'de> DeserializeSeed<'de> for Picked<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Picked<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(k) = map.next_key_seed(KeyIndex(self.keys))? {
            match k {
                Some(i) => {
                    let v: Value = map.next_value()?;
                    out.insert(self.keys[i].to_string(), v); // duplicate keys: the last wins, as in Value
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(out))
    }
}

fn picked(text: &str) -> bool {
    const KEYS: [&str; 4] = ["e", "s", "p", "T"];
    let mut de = serde_json::Deserializer::from_str(text);
    let doc = Picked { keys: &KEYS }.deserialize(&mut de).expect("JSON");
    de.end().expect("trailing characters");
    checks(&doc)
}

/// Like `Picked`, but the kept members go into fixed slots (one per wanted key) instead of a map:
/// no key strings, no B-tree. A simple path then starts from `slots[i]` for its first segment.
struct Slots<'k> {
    keys: &'k [&'k str],
}

impl<'de> DeserializeSeed<'de> for Slots<'_> {
    type Value = Vec<Option<Value>>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Slots<'_> {
    type Value = Vec<Option<Value>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out: Vec<Option<Value>> = vec![None; self.keys.len()];
        while let Some(k) = map.next_key_seed(KeyIndex(self.keys))? {
            match k {
                Some(i) => out[i] = Some(map.next_value()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

fn slots(text: &str) -> bool {
    const KEYS: [&str; 4] = ["e", "s", "p", "T"];
    let mut de = serde_json::Deserializer::from_str(text);
    let v = Slots { keys: &KEYS }.deserialize(&mut de).expect("JSON");
    de.end().expect("trailing characters");
    v[0].as_ref().and_then(Value::as_str) == Some("trade")
        && v[1].as_ref().and_then(Value::as_str) == Some("BTCUSDT")
        && match &v[2] {
            Some(Value::String(s)) => s.parse::<f64>().is_ok_and(|p| p > 0.0),
            Some(Value::Number(p)) => p.as_f64().is_some_and(|p| p > 0.0),
            _ => false,
        }
        && v[3].as_ref().is_some_and(|t| t.is_u64() || t.is_i64())
}

/// The floor: how long serde_json takes just to validate the message (skip everything).
fn validate(text: &str) -> bool {
    serde_json::from_str::<IgnoredAny>(text).is_ok()
}

/// A variant's name and its per-message work.
type Variant = (&'static str, fn(&str) -> bool);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let variant = args.first().map(String::as_str).unwrap_or("all");
    let n: usize = args
        .get(1)
        .map(|s| s.replace('_', "").parse().expect("N"))
        .unwrap_or(1_000_000);
    let pool: Vec<String> = (0..4096).map(trade).collect();
    let variants: Vec<Variant> = vec![
        ("full", full),
        ("picked", picked),
        ("slots", slots),
        ("validate", validate),
    ];
    for (name, f) in variants {
        if variant != "all" && variant != name {
            continue;
        }
        assert!(pool.iter().all(|m| f(m)), "{name}: a check failed");
        let passes = if variant == "all" { 5 } else { 1 };
        let mut best = f64::MAX;
        for _ in 0..passes {
            let t = Instant::now();
            let mut ok = 0usize;
            for i in 0..n {
                ok += f(black_box(&pool[i % pool.len()])) as usize;
            }
            assert_eq!(black_box(ok), n);
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!(
            "{name:>7}: {:6.0} ns/message ({n} messages, best of {passes})",
            best * 1e9 / n as f64
        );
    }
}
