//! The hub mock's conversation: handshake, canned answers, invocations of the client.

use serde_json::json;

use super::*;

fn options(yaml: &str) -> HubOptions {
    serde_saphyr::from_str(yaml).unwrap()
}

fn texts(out: &[Send]) -> Vec<String> {
    out.iter().map(|s| s.message.to_string()).collect()
}

fn text(t: &str) -> Message {
    Message::text(t)
}

const HANDSHAKE: &str = "{\"protocol\":\"json\",\"version\":1}\u{1e}";

#[test]
fn the_handshake_is_answered_then_the_hubs_own_invocations_follow() {
    let o = options("{ invoke: [ { target: Welcome, args: [hi, 2] } ] }");
    let mut c = Conversation::new(&o);
    let mut out = Vec::new();
    assert!(c.receive(&text(HANDSHAKE), &mut out).is_empty());
    assert_eq!(
        texts(&out),
        [
            "{}\u{1e}",
            "{\"type\":1,\"target\":\"Welcome\",\"arguments\":[\"hi\",2]}\u{1e}"
        ]
    );
}

#[test]
fn a_refused_or_unknown_protocol_is_an_error_answer_then_a_close() {
    let o = options("{ refuse: Unauthorized }");
    let mut out = Vec::new();
    Conversation::new(&o).receive(&text(HANDSHAKE), &mut out);
    assert_eq!(
        out[0].message.to_string(),
        "{\"error\":\"Unauthorized\"}\u{1e}"
    );
    assert!(matches!(out[1].message, Message::Close(_)));
    let o = HubOptions::default();
    let mut out = Vec::new();
    let msgpack = text("{\"protocol\":\"messagepack\",\"version\":1}\u{1e}");
    Conversation::new(&o).receive(&msgpack, &mut out);
    assert_eq!(
        out[0].message.to_string(),
        "{\"error\":\"The protocol 'messagepack' is not supported.\"}\u{1e}"
    );
}

#[test]
fn invocations_reach_the_rules_and_methods_answer_them_by_target() {
    let o = options(
        "{ methods: { Add: { result: '{{ message.arguments.0 }}' }, Fail: { error: \"It didn't work!\" }, \
         Shout: { invoke: [ { target: Heard, args: ['{{ message.arguments.0 }}'] } ] } } }",
    );
    let mut c = Conversation::new(&o);
    let mut out = Vec::new();
    c.receive(&text(HANDSHAKE), &mut out);
    out.clear();
    let frame = "{\"type\":1,\"invocationId\":\"1\",\"target\":\"Add\",\"arguments\":[40,2]}\u{1e}{\"type\":6}\u{1e}{\"type\":1,\"invocationId\":\"2\",\"target\":\"Fail\",\"arguments\":[]}\u{1e}";
    let envelopes = c.receive(&text(frame), &mut out);
    assert_eq!(
        envelopes,
        [
            json!({"invocationId": "1", "target": "Add", "arguments": [40, 2]}),
            json!({"invocationId": "2", "target": "Fail", "arguments": []})
        ]
    );
    assert!(out.is_empty());
    for e in &envelopes {
        c.answer(e, &mut out);
    }
    c.answer(
        &json!({"invocationId": "3", "target": "Nope", "arguments": []}),
        &mut out,
    );
    c.answer(&json!({"target": "Shout", "arguments": ["hey"]}), &mut out);
    assert_eq!(
        texts(&out),
        [
            "{\"type\":3,\"invocationId\":\"1\",\"result\":40}\u{1e}",
            "{\"type\":3,\"invocationId\":\"2\",\"error\":\"It didn't work!\"}\u{1e}",
            "{\"type\":3,\"invocationId\":\"3\",\"error\":\"Failed to invoke 'Nope' due to an error on the server. HubException: Method does not exist.\"}\u{1e}",
            "{\"type\":1,\"target\":\"Heard\",\"arguments\":[\"hey\"]}\u{1e}",
        ]
    );
}

#[test]
fn a_broken_frame_is_answered_with_a_close_message_naming_it() {
    let o = HubOptions::default();
    let mut c = Conversation::new(&o);
    let mut out = Vec::new();
    c.receive(&text(HANDSHAKE), &mut out);
    out.clear();
    c.receive(&text("{\"type\":6}"), &mut out);
    assert_eq!(
        out[0].message.to_string(),
        "{\"type\":7,\"error\":\"a SignalR frame must end with the record separator (\\\\x1e); this one does not: `{\\\"type\\\":6}`\"}\u{1e}"
    );
}

#[test]
fn the_hub_pings_every_fifteen_seconds_once_the_handshake_is_done() {
    let o = HubOptions::default();
    let mut c = Conversation::new(&o);
    let mut out = Vec::new();
    assert_eq!(c.next_ping, None, "no ping before the handshake");
    let before = tokio::time::Instant::now();
    c.receive(&text(HANDSHAKE), &mut out);
    let due = c.next_ping.expect("a ping due after the handshake");
    assert!(due >= before + std::time::Duration::from_secs(15));
    out.clear();
    c.tick(&mut out);
    assert!(out.is_empty(), "no ping before it is due");
    // As if the 15 seconds had passed.
    c.next_ping = Some(tokio::time::Instant::now());
    c.tick(&mut out);
    assert_eq!(texts(&out), ["{\"type\":6}\u{1e}"]);
    assert!(c
        .next_ping
        .is_some_and(|at| at > tokio::time::Instant::now()));
    // A client's close message ends the pings.
    c.receive(&text("{\"type\":7}\u{1e}"), &mut out);
    assert_eq!(c.next_ping, None);
}

#[test]
fn a_rules_reply_is_an_invocation_of_the_client() {
    let o = HubOptions::default();
    let mut c = Conversation::new(&o);
    assert_eq!(
        c.encode(json!({"target": "Notify", "arguments": [1]})),
        [text(
            "{\"type\":1,\"target\":\"Notify\",\"arguments\":[1]}\u{1e}"
        )]
    );
}
