//! The legacy dialect's translation, handshake and violations, frame by frame.

use serde_json::json;

use super::*;
use crate::protocol::graphql_ws;

fn decode(p: &mut GraphqlWsLegacy, text: &str) -> (Decoded, Vec<Message>) {
    let mut out = Vec::new();
    let d = p.decode(Incoming::Text(text.into()), &mut out);
    (d, out)
}

fn envelope(d: Decoded) -> Value {
    match d {
        Decoded::Message(Incoming::Envelope(v)) => v,
        other => panic!("not an envelope: {other:?}"),
    }
}

fn failure(d: Decoded) -> String {
    match d {
        Decoded::Failed(why) => why,
        other => panic!("not a failure: {other:?}"),
    }
}

fn sent(p: &mut GraphqlWsLegacy, v: Value) -> String {
    let mut out = Vec::new();
    p.encode(v, &mut out).unwrap();
    let text = out[0].to_text().unwrap().to_string();
    p.sent(&text);
    text
}

#[test]
fn the_legacy_subprotocol_is_asked_for_and_init_carries_its_payload() {
    let p = GraphqlWsLegacy::new(None);
    let mut protocols = Vec::new();
    p.prepare(&mut String::new(), &mut protocols).unwrap();
    assert_eq!(protocols, ["graphql-ws"]);
    let mut out = Vec::new();
    GraphqlWsLegacy::new(Some(json!({"token": "t"}))).greet(&mut out);
    assert_eq!(
        out,
        [Message::text(
            r#"{"type":"connection_init","payload":{"token":"t"}}"#
        )]
    );
}

#[test]
fn the_handshake_waits_for_connection_ack_and_keep_alives_are_absorbed() {
    let mut p = GraphqlWsLegacy::new(None);
    assert_eq!(p.pending().as_deref(), Some("`connection_ack`"));
    let (d, out) = decode(&mut p, r#"{"type":"ka"}"#);
    assert!(matches!(d, Decoded::Absorbed) && out.is_empty());
    assert_eq!(p.pending().as_deref(), Some("`connection_ack`"));
    let (d, _) = decode(&mut p, r#"{"type":"connection_ack"}"#);
    assert!(matches!(d, Decoded::Absorbed));
    assert_eq!(p.pending(), None);
}

#[test]
fn connection_error_fails_naming_it_with_the_servers_message() {
    let mut p = GraphqlWsLegacy::new(None);
    let (d, _) = decode(
        &mut p,
        r#"{"type":"connection_error","payload":{"message":"Forbidden"}}"#,
    );
    assert_eq!(
        failure(d),
        r#"the server refused the connection with `connection_error`: "Forbidden""#
    );
    let (d, _) = decode(&mut p, r#"{"type":"connection_error","payload":[1]}"#);
    assert_eq!(
        failure(d),
        "the server refused the connection with `connection_error`: [1]"
    );
}

#[test]
fn subscribe_and_complete_go_out_as_start_and_stop() {
    let mut p = GraphqlWsLegacy::new(None);
    let start = sent(
        &mut p,
        graphql_ws::subscribe("1", "subscription { n }".into(), None, None),
    );
    assert_eq!(
        start,
        r#"{"id":"1","type":"start","payload":{"query":"subscription { n }"}}"#
    );
    assert_eq!(
        sent(&mut p, graphql_ws::complete("1")),
        r#"{"id":"1","type":"stop"}"#
    );
    // What a step sends by hand in the legacy dialect goes out untouched, and counts.
    let by_hand = json!({"id": "7", "type": "start", "payload": {"query": "q"}});
    assert_eq!(sent(&mut p, by_hand.clone()), by_hand.to_string());
    assert!(p.taken(7) && p.taken(1) && !p.taken(2));
}

#[test]
fn data_error_and_complete_reach_the_steps_in_the_graphql_ws_envelope() {
    let mut p = GraphqlWsLegacy::new(None);
    sent(&mut p, graphql_ws::subscribe("1", "q".into(), None, None));
    sent(&mut p, graphql_ws::subscribe("2", "q".into(), None, None));
    let (d, _) = decode(
        &mut p,
        r#"{"type":"data","id":"1","payload":{"data":{"countdown":2}}}"#,
    );
    assert_eq!(
        envelope(d),
        json!({"id": "1", "type": "next", "payload": {"data": {"countdown": 2}}})
    );
    let (d, _) = decode(&mut p, r#"{"type":"complete","id":"1","payload":null}"#);
    assert_eq!(envelope(d), json!({"id": "1", "type": "complete"}));
    let (d, _) = decode(
        &mut p,
        r#"{"type":"error","id":"2","payload":{"message":"boom"}}"#,
    );
    assert_eq!(
        envelope(d),
        json!({"id": "2", "type": "error", "payload": [{"message": "boom"}]})
    );
}

#[test]
fn violations_are_worded_in_the_legacy_names() {
    let mut p = GraphqlWsLegacy::new(None);
    let (d, _) = decode(&mut p, r#"{"type":"data","id":"9","payload":{}}"#);
    assert_eq!(
        failure(d),
        r#"protocol violation: the server sent `data` for id "9", which this connection never subscribed: {"type":"data","id":"9","payload":{}}"#
    );
    sent(&mut p, graphql_ws::subscribe("1", "q".into(), None, None));
    decode(&mut p, r#"{"type":"complete","id":"1"}"#);
    let (d, _) = decode(&mut p, r#"{"type":"data","id":"1","payload":{}}"#);
    assert!(failure(d).starts_with(
        r#"protocol violation: the server sent `data` for id "1" after its `complete` for it: "#
    ));
}

#[test]
fn other_messages_reach_the_steps_as_they_are() {
    let mut p = GraphqlWsLegacy::new(None);
    let (d, _) = decode(&mut p, r#"{"type":"custom","n":1}"#);
    assert_eq!(envelope(d), json!({"type": "custom", "n": 1}));
    let (d, _) = decode(&mut p, "not json");
    assert!(matches!(d, Decoded::Message(Incoming::Text(t)) if t.as_str() == "not json"));
    let mut out = Vec::new();
    p.farewell(&mut out);
    assert_eq!(out, [Message::text(r#"{"type":"connection_terminate"}"#)]);
}
