//! The JSON Schema (`wsrun schema`) is the shipped file, and every object in it accepts exactly
//! the keys the loader accepts: the test asks the loader (by offering it an unknown key at each
//! level and reading the keys its error lists) and compares.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use wsrun::Collection;
use wsrun::{collection_schema as schema, collection_schema_text as schema_text};

#[test]
fn the_shipped_schema_file_is_the_generated_one() {
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/wsrun.schema.json"
    ))
    .expect("read schema/wsrun.schema.json");
    assert!(
        shipped == schema_text(),
        "schema/wsrun.schema.json is stale: regenerate it with `cargo run -- schema > schema/wsrun.schema.json`"
    );
}

/// The keys the loader accepts where `yaml` has `zzz_unknown`.
fn accepted_keys(yaml: &str) -> BTreeSet<String> {
    let err = Collection::parse(yaml, Path::new("probe.yaml"))
        .expect_err("the probe key must be rejected")
        .message;
    let list = err
        .split_once("expected one of ")
        .or_else(|| err.split_once("expected "))
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("no key list in: {err}"));
    let list = list.split(" (did you mean").next().unwrap_or(list);
    // "one of `a`, `b`, `c`", or for two keys "`a` or `b`" (a step several protocols share is
    // read from its YAML as JSON, whose errors word two keys so).
    list.split(", ")
        .flat_map(|k| k.split("` or `"))
        .map(|k| k.trim_matches(|c| c == '`' || c == ' ').to_string())
        .collect()
}

fn schema_keys(node: &Value) -> BTreeSet<String> {
    let props = node
        .get("properties")
        .or_else(|| {
            node["anyOf"]
                .as_array()?
                .iter()
                .find_map(|alt| alt.get("properties"))
        })
        .unwrap_or_else(|| panic!("no properties in {node}"));
    props
        .as_object()
        .expect("properties is an object")
        .keys()
        .cloned()
        .collect()
}

fn req(body: &str) -> String {
    format!("requests:\n  - name: r\n    url: ws://x\n{body}")
}

#[test]
fn every_schema_object_accepts_exactly_the_loaders_keys() {
    let s = schema();
    let d = &s["definitions"];
    let step = |name: &str| d["step"]["properties"][name].clone();
    // The form of step `name` that has property `key`: the protocols sharing a keyword
    // (`subscribe`) each add one to its `anyOf`, in no order a test should depend on.
    let form = |name: &str, key: &str| -> Value {
        fn find(v: &Value, key: &str) -> Option<Value> {
            if v["properties"].get(key).is_some() {
                return Some(v.clone());
            }
            v["anyOf"].as_array()?.iter().find_map(|f| find(f, key))
        }
        find(&step(name), key).unwrap_or_else(|| panic!("no form of `{name}` has `{key}`"))
    };
    let resolve = |v: Value| -> Value {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => d[r.trim_start_matches("#/definitions/")].clone(),
            None => v,
        }
    };
    let cases: Vec<(&str, String, Value)> = vec![
        (
            "collection",
            "zzz_unknown: 1\nrequests: []\n".into(),
            s.clone(),
        ),
        ("request", req("    zzz_unknown: 1\n"), d["request"].clone()),
        (
            "connection",
            "requests:\n  - name: r\n    connections:\n      a: {url: ws://x, zzz_unknown: 1}\n"
                .into(),
            d["connection"].clone(),
        ),
        ("tls", req("    tls: {zzz_unknown: 1}\n"), d["tls"].clone()),
        (
            "load",
            req("    load: {users: 1, zzz_unknown: 1}\n"),
            d["request"]["properties"]["load"].clone(),
        ),
        (
            "defaults",
            "defaults: {zzz_unknown: 1}\nrequests: []\n".into(),
            s["properties"]["defaults"].clone(),
        ),
        (
            "mock",
            "mocks: {m: {zzz_unknown: 1}}\nrequests: []\n".into(),
            d["mock"].clone(),
        ),
        (
            "mock rule",
            "mocks: {m: {on: [{zzz_unknown: 1}]}}\nrequests: []\n".into(),
            d["mock"]["properties"]["on"]["items"].clone(),
        ),
        (
            "mock reply",
            "mocks: {m: {on: [{reply: {zzz_unknown: 1}}]}}\nrequests: []\n".into(),
            d["mock"]["properties"]["on"]["items"]["properties"]["reply"]["anyOf"][0].clone(),
        ),
        (
            "step keys",
            req("    steps:\n      - zzz_unknown: 1\n"),
            d["step"].clone(),
        ),
        (
            "send",
            req("    steps:\n      - send: {zzz_unknown: 1}\n"),
            step("send"),
        ),
        (
            "expect",
            req("    steps:\n      - expect: {zzz_unknown: 1}\n"),
            resolve(step("expect")),
        ),
        (
            "stream path properties",
            req("    steps:\n      - expect: {count: 2, stream: {$.t: {zzz_unknown: 1}}}\n"),
            resolve(step("expect"))["anyOf"][1]["properties"]["stream"]["patternProperties"]
                ["^\\$"]
                .clone(),
        ),
        (
            "contract",
            req("    contract: {zzz_unknown: 1}\n"),
            d["request"]["properties"]["contract"].clone(),
        ),
        (
            "no_message",
            req("    steps:\n      - no_message: {zzz_unknown: 1}\n"),
            step("no_message")["anyOf"][1].clone(),
        ),
        (
            "snapshot",
            req("    steps:\n      - snapshot: {zzz_unknown: 1}\n"),
            step("snapshot"),
        ),
        (
            "ping",
            req("    steps:\n      - ping: {zzz_unknown: 1}\n"),
            step("ping"),
        ),
        (
            "close",
            req("    steps:\n      - close: {zzz_unknown: 1}\n"),
            step("close"),
        ),
        (
            "expect_close",
            req("    steps:\n      - expect_close: {zzz_unknown: 1}\n"),
            step("expect_close"),
        ),
        (
            "socketio options",
            req("    protocol: socketio\n    socketio: {zzz_unknown: 1}\n"),
            d["connection"]["properties"]["socketio"].clone(),
        ),
        (
            "graphql-ws options",
            req("    protocol: graphql-ws\n    graphql-ws: {zzz_unknown: 1}\n"),
            d["connection"]["properties"]["graphql-ws"].clone(),
        ),
        (
            "stomp options",
            req("    protocol: stomp\n    stomp: {zzz_unknown: 1}\n"),
            d["connection"]["properties"]["stomp"].clone(),
        ),
        (
            "phoenix options",
            req("    protocol: phoenix\n    phoenix: {zzz_unknown: 1}\n"),
            d["connection"]["properties"]["phoenix"].clone(),
        ),
        (
            "join",
            req("    protocol: phoenix\n    steps:\n      - join: {topic: t, zzz_unknown: 1}\n"),
            step("join"),
        ),
        (
            "push",
            req("    protocol: phoenix\n    steps:\n      - push: {topic: t, event: e, zzz_unknown: 1}\n"),
            step("push"),
        ),
        (
            "leave",
            req("    protocol: phoenix\n    steps:\n      - leave: {topic: t, zzz_unknown: 1}\n"),
            step("leave"),
        ),
        (
            "subscribe (actioncable)",
            req("    protocol: actioncable\n    steps:\n      - subscribe: {channel: C, zzz_unknown: 1}\n"),
            form("subscribe", "channel"),
        ),
        (
            "perform",
            req("    protocol: actioncable\n    steps:\n      - perform: {channel: C, action: a, zzz_unknown: 1}\n"),
            step("perform"),
        ),
        (
            "send reply",
            req("    steps:\n      - send: {json: {}, reply: {zzz_unknown: 1}}\n"),
            step("send")["anyOf"][1]["properties"]["reply"].clone(),
        ),
        (
            "call",
            req("    protocol: jsonrpc\n    steps:\n      - call: {zzz_unknown: 1}\n"),
            step("call"),
        ),
        (
            "calls item",
            req("    protocol: jsonrpc\n    steps:\n      - calls: [{zzz_unknown: 1}]\n"),
            step("calls")["anyOf"][0]["items"].clone(),
        ),
        (
            "calls",
            req("    protocol: jsonrpc\n    steps:\n      - calls: {zzz_unknown: 1}\n"),
            step("calls"),
        ),
        (
            "notify",
            req("    protocol: jsonrpc\n    steps:\n      - notify: {zzz_unknown: 1}\n"),
            step("notify"),
        ),
        (
            "subscribe (graphql-ws)",
            req("    protocol: graphql-ws\n    steps:\n      - subscribe: {query: q, zzz_unknown: 1}\n"),
            form("subscribe", "query"),
        ),
        (
            "complete",
            req("    protocol: graphql-ws\n    steps:\n      - complete: {zzz_unknown: 1}\n"),
            step("complete")["anyOf"][1].clone(),
        ),
        (
            "mock graphql-ws options",
            "mocks: {m: {protocol: graphql-ws, graphql-ws: {zzz_unknown: 1}}}\nrequests: []\n"
                .into(),
            d["mock"]["properties"]["graphql-ws"].clone(),
        ),
        (
            "emit",
            req("    protocol: socketio\n    steps:\n      - emit: {zzz_unknown: 1}\n"),
            step("emit")["anyOf"][1].clone(),
        ),
        (
            "emit ack",
            req("    protocol: socketio\n    steps:\n      - emit: {event: e, ack: {zzz_unknown: 1}}\n"),
            step("emit")["anyOf"][1]["properties"]["ack"]["anyOf"][1].clone(),
        ),
        (
            "mock emit reply",
            "mocks: {m: {protocol: socketio, on: [{reply: {emit: {zzz_unknown: 1}}}]}}\nrequests: []\n"
                .into(),
            d["mock"]["properties"]["on"]["items"]["properties"]["reply"]["anyOf"][0]["properties"]
                ["emit"]
                .clone(),
        ),
        (
            "mock socketio options",
            "mocks: {m: {protocol: socketio, socketio: {zzz_unknown: 1}}}\nrequests: []\n".into(),
            d["mock"]["properties"]["socketio"].clone(),
        ),
        (
            "subscribe (stomp)",
            req("    protocol: stomp\n    steps:\n      - subscribe: {zzz_unknown: 1}\n"),
            form("subscribe", "destination"),
        ),
        (
            "unsubscribe",
            req("    protocol: stomp\n    steps:\n      - unsubscribe: {zzz_unknown: 1}\n"),
            form("unsubscribe", "receipt"),
        ),
        (
            "mqtt options",
            req("    protocol: mqtt\n    mqtt: {zzz_unknown: 1}\n"),
            d["connection"]["properties"]["mqtt"].clone(),
        ),
        (
            "publish",
            req("    protocol: mqtt\n    steps:\n      - publish: {topic: t, zzz_unknown: 1}\n"),
            step("publish"),
        ),
        (
            "subscribe (mqtt)",
            req("    protocol: mqtt\n    steps:\n      - subscribe: {topic: t, zzz_unknown: 1}\n"),
            form("subscribe", "qos"),
        ),
        (
            "unsubscribe (mqtt)",
            req("    protocol: mqtt\n    steps:\n      - unsubscribe: {topic: t, zzz_unknown: 1}\n"),
            form("unsubscribe", "topic"),
        ),
        (
            "graphql-ws-legacy options",
            req("    protocol: graphql-ws-legacy\n    graphql-ws-legacy: {zzz_unknown: 1}\n"),
            d["connection"]["properties"]["graphql-ws-legacy"].clone(),
        ),
        (
            "mock graphql-ws-legacy options",
            "mocks: {m: {protocol: graphql-ws-legacy, graphql-ws-legacy: {zzz_unknown: 1}}}\nrequests: []\n"
                .into(),
            d["mock"]["properties"]["graphql-ws-legacy"].clone(),
        ),
        (
            "signalr options",
            req("    protocol: signalr\n    signalr: {zzz_unknown: 1}\n"),
            d["connection"]["properties"]["signalr"].clone(),
        ),
        (
            "invoke",
            req("    protocol: signalr\n    steps:\n      - invoke: {target: t, zzz_unknown: 1}\n"),
            step("invoke"),
        ),
        (
            "mock signalr options",
            "mocks: {m: {protocol: signalr, signalr: {zzz_unknown: 1}}}\nrequests: []\n".into(),
            d["mock"]["properties"]["signalr"].clone(),
        ),
        (
            "mock signalr method",
            "mocks: {m: {protocol: signalr, signalr: {methods: {Add: {zzz_unknown: 1}}}}}\nrequests: []\n"
                .into(),
            d["mock"]["properties"]["signalr"]["properties"]["methods"]["additionalProperties"]
                .clone(),
        ),
        (
            "mock method",
            "mocks: {m: {protocol: jsonrpc, methods: {add: {zzz_unknown: 1}}}}\nrequests: []\n"
                .into(),
            d["mock"]["properties"]["methods"]["additionalProperties"].clone(),
        ),
        (
            "mock method error",
            "mocks: {m: {protocol: jsonrpc, methods: {add: {error: {zzz_unknown: 1}}}}}\nrequests: []\n"
                .into(),
            d["mock"]["properties"]["methods"]["additionalProperties"]["properties"]["error"]
                .clone(),
        ),
    ];
    for (what, yaml, node) in cases {
        assert_eq!(
            schema_keys(&node),
            accepted_keys(&yaml),
            "the schema's `{what}` object disagrees with the loader"
        );
    }
}

#[test]
fn the_schema_lists_every_matcher_key_the_loader_knows() {
    let s = schema();
    let keys = schema_keys(&s["definitions"]["matcher"]["anyOf"][1]);
    let expected: BTreeSet<String> = wsrun::internals::MATCHER_KEYS
        .iter()
        .map(|k| k.to_string())
        .collect();
    assert_eq!(keys, expected);
    let err = Collection::parse(
        &req("    steps:\n      - expect: {json: {$.a: {zzz: 1}}}\n"),
        Path::new("probe.yaml"),
    )
    .unwrap_err();
    assert!(
        err.message.contains("unknown matcher `zzz`"),
        "{}",
        err.message
    );
}
