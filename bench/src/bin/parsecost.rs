//! In-memory cost of the per-message JSON work, without the network: what `bench/run` row 3
//! spends per message once a frame is in hand, and what it could spend.
//!
//! `parsecost [VARIANT] [N]` — VARIANT is one of those below or `all` (default), N messages
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
//! - `visitor`: the first version of the engine's partial parse: the wanted members parsed
//!   into a map kept from message to message (strings overwritten in place, no allocation when
//!   the shape repeats), the rest skipped through `deserialize_any` so that exactly the texts
//!   `Value` refuses are refused; then the four checks through map lookups.
//!
//! With `--features engine`, the engine itself (wsrun as a library):
//! - `engine`: `wsrun::internals::Partial` for the four paths (the quick scan, the members
//!   in slots) and the four matchers as a step applies them.
//!
//! With `--features sonic` (`cargo build --release --features sonic` in bench/), the sonic-rs
//! candidates too:
//! - `sonic-dom`: `sonic_rs::from_str::<sonic_rs::Value>` (its own DOM) and the four checks on it.
//! - `sonic-serde`: sonic-rs's serde deserializer building a `serde_json::Value` (what the
//!   engine's JSONPath layer, serde_json_path, evaluates).
//! - `sonic-get`: `sonic_rs::get_many` for the four keys (one scan), each value turned into a
//!   `serde_json::Value`.

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

/// The first version of the engine's partial parse (serde visitors only), reduced to what this
/// message needs.
mod visitor {
    use std::cell::RefCell;
    use std::fmt;

    use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde_json::{Map, Value};

    const KEYS: [&str; 4] = ["e", "s", "p", "T"];

    thread_local! {
        static DOC: RefCell<(Map<String, Value>, u64)> = RefCell::new((Map::new(), 0));
    }

    pub fn run(text: &str) -> bool {
        DOC.with(|d| {
            let (map, present) = &mut *d.borrow_mut();
            let mut de = serde_json::Deserializer::from_str(text);
            let seen = Members { map }.deserialize(&mut de).expect("JSON");
            de.end().expect("trailing characters");
            let mut gone = *present & !seen;
            while gone != 0 {
                map.remove(KEYS[gone.trailing_zeros() as usize]);
                gone &= gone - 1;
            }
            *present = seen;
            super::checks_map(map)
        })
    }

    struct Members<'a> {
        map: &'a mut Map<String, Value>,
    }

    impl<'de> DeserializeSeed<'de> for Members<'_> {
        type Value = u64;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Members<'_> {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<u64, A::Error> {
            let mut seen = 0;
            while let Some(key) = access.next_key_seed(Wanted)? {
                match key {
                    Some(i) => {
                        match self.map.get_mut(KEYS[i]) {
                            Some(slot) => access.next_value_seed(Overwrite(slot))?,
                            None => {
                                let v = access.next_value::<Value>()?;
                                self.map.insert(KEYS[i].to_string(), v);
                            }
                        }
                        seen |= 1 << i;
                    }
                    None => access.next_value_seed(Skip)?,
                }
            }
            Ok(seen)
        }
    }

    struct Wanted;
    impl<'de> DeserializeSeed<'de> for Wanted {
        type Value = Option<usize>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(self)
        }
    }
    impl<'de> Visitor<'de> for Wanted {
        type Value = Option<usize>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a key")
        }
        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok(KEYS.iter().position(|k| *k == v))
        }
    }

    #[derive(Clone, Copy)]
    struct Skip;
    impl<'de> DeserializeSeed<'de> for Skip {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Skip {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<(), A::Error> {
            while a.next_element_seed(Skip)?.is_some() {}
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<(), A::Error> {
            while a.next_key_seed(Skip)?.is_some() {
                a.next_value_seed(Skip)?;
            }
            Ok(())
        }
    }

    struct Overwrite<'a>(&'a mut Value);
    impl<'de> DeserializeSeed<'de> for Overwrite<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Overwrite<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, v: bool) -> Result<(), E> {
            *self.0 = Value::Bool(v);
            Ok(())
        }
        fn visit_i64<E>(self, v: i64) -> Result<(), E> {
            *self.0 = Value::from(v);
            Ok(())
        }
        fn visit_u64<E>(self, v: u64) -> Result<(), E> {
            *self.0 = Value::from(v);
            Ok(())
        }
        fn visit_f64<E>(self, v: f64) -> Result<(), E> {
            *self.0 = serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number);
            Ok(())
        }
        fn visit_str<E>(self, v: &str) -> Result<(), E> {
            match self.0 {
                Value::String(s) => {
                    s.clear();
                    s.push_str(v);
                }
                other => *other = Value::String(v.to_string()),
            }
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            *self.0 = Value::Null;
            Ok(())
        }
    }
}

fn by_visitor(text: &str) -> bool {
    visitor::run(text)
}

#[cfg(feature = "engine")]
mod wsrun_engine {
    use std::cell::RefCell;

    use wsrun::JsonPath;
    use wsrun::internals::{path, Matcher, Resolved};
    use wsrun::internals::Partial;
    use wsrun::internals::Scope;

    struct Step {
        checks: Vec<(JsonPath, Resolved)>,
        json: Partial,
    }

    thread_local! {
        static STEP: RefCell<Step> = RefCell::new({
            let checks: Vec<(JsonPath, Resolved)> = [
                ("$.e", serde_json::json!("trade")),
                ("$.s", serde_json::json!("BTCUSDT")),
                ("$.p", serde_json::json!({"gt": 0})),
                ("$.T", serde_json::json!({"type": "integer"})),
            ]
            .into_iter()
            .map(|(p, m)| {
                let matcher = Matcher::from_value(m).expect("a matcher");
                (JsonPath::parse(p).expect("a path"), matcher.resolve(&Scope::default()).expect("resolves"))
            })
            .collect();
            let json = Partial::for_paths(checks.iter().map(|(p, _)| p));
            Step { checks, json }
        });
    }

    pub fn run(text: &str) -> bool {
        STEP.with(|s| {
            let Step { checks, json } = &mut *s.borrow_mut();
            json.parse(text).is_ok()
                && checks
                    .iter()
                    .all(|(p, m)| json.select(p).is_some_and(|node| path::holds_one(node, m)))
        })
    }
}

fn checks_map(doc: &Map<String, Value>) -> bool {
    doc.get("e").and_then(Value::as_str) == Some("trade")
        && doc.get("s").and_then(Value::as_str) == Some("BTCUSDT")
        && match doc.get("p") {
            Some(Value::String(s)) => s.parse::<f64>().is_ok_and(|p| p > 0.0),
            Some(Value::Number(p)) => p.as_f64().is_some_and(|p| p > 0.0),
            _ => false,
        }
        && doc.get("T").is_some_and(|t| t.is_u64() || t.is_i64())
}

#[cfg(feature = "sonic")]
mod sonic {
    use serde_json::Value;
    use sonic_rs::{JsonContainerTrait, JsonValueTrait};

    pub fn dom(text: &str) -> bool {
        let doc: sonic_rs::Value = sonic_rs::from_str(text).expect("JSON");
        let obj = doc.as_object().expect("an object");
        obj.get(&"e").and_then(|v| v.as_str()) == Some("trade")
            && obj.get(&"s").and_then(|v| v.as_str()) == Some("BTCUSDT")
            && obj
                .get(&"p")
                .and_then(|v| v.as_str())
                .is_some_and(|p| p.parse::<f64>().is_ok_and(|p| p > 0.0))
            && obj.get(&"T").is_some_and(|t| t.is_u64() || t.is_i64())
    }

    pub fn serde(text: &str) -> bool {
        let doc: Value = sonic_rs::from_str(text).expect("JSON");
        super::checks(&doc)
    }

    pub fn get(text: &str) -> bool {
        let tree = {
            let mut t = sonic_rs::PointerTree::new();
            for k in ["e", "s", "p", "T"] {
                t.add_path(&[k]);
            }
            t
        };
        let found = sonic_rs::get_many(text, &tree).expect("JSON");
        let mut map = serde_json::Map::new();
        for (k, v) in ["e", "s", "p", "T"].iter().zip(found) {
            if let Some(v) = v {
                map.insert(k.to_string(), serde_json::from_str(v.as_raw_str()).expect("JSON"));
            }
        }
        super::checks_map(&map)
    }
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
    #[allow(unused_mut)]
    let mut variants: Vec<Variant> = vec![
        ("full", full),
        ("picked", picked),
        ("slots", slots),
        ("visitor", by_visitor),
        ("validate", validate),
    ];
    #[cfg(feature = "engine")]
    variants.push(("engine", wsrun_engine::run));
    #[cfg(feature = "sonic")]
    variants.extend([
        ("sonic-dom", sonic::dom as fn(&str) -> bool),
        ("sonic-serde", sonic::serde),
        ("sonic-get", sonic::get),
    ]);
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
            "{name:>11}: {:6.0} ns/message ({n} messages, best of {passes})",
            best * 1e9 / n as f64
        );
    }
}
