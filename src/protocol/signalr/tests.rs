//! The SignalR client frame by frame: handshake, records, completions, pings and closes.

use serde_json::json;

use super::*;

fn decode(p: &mut SignalR, text: &str) -> Decoded {
    p.decode(Incoming::Text(text.into()), &mut Vec::new())
}

/// Every outcome of one frame: what `decode` returns, then what `queued` holds.
fn outcomes(p: &mut SignalR, text: &str) -> Vec<Decoded> {
    let mut all = vec![decode(p, text)];
    all.extend(std::iter::from_fn(|| p.queued(&mut Vec::new())));
    all
}

fn envelopes(ds: Vec<Decoded>) -> Vec<Value> {
    ds.into_iter()
        .map(|d| match d {
            Decoded::Message(Incoming::Envelope(v)) => v,
            other => panic!("not an envelope: {other:?}"),
        })
        .collect()
}

fn failure(d: Decoded) -> String {
    match d {
        Decoded::Failed(why) => why,
        other => panic!("not a failure: {other:?}"),
    }
}

fn shaken() -> SignalR {
    let mut p = SignalR::new(None);
    assert!(matches!(decode(&mut p, "{}\u{1e}"), Decoded::Absorbed));
    p
}

#[test]
fn the_handshake_is_sent_first_and_waits_for_an_empty_answer() {
    let mut p = SignalR::new(None);
    let mut out = Vec::new();
    p.greet(&mut out);
    assert_eq!(
        out,
        [Message::text("{\"protocol\":\"json\",\"version\":1}\u{1e}")]
    );
    assert_eq!(p.pending().as_deref(), Some("handshake response (`{}`)"));
    assert!(matches!(decode(&mut p, "{}\u{1e}"), Decoded::Absorbed));
    assert_eq!(p.pending(), None);
}

#[test]
fn a_handshake_error_fails_with_the_servers_words() {
    let mut p = SignalR::new(None);
    let d = decode(
        &mut p,
        "{\"error\":\"Requested protocol 'messagepack' is not available.\"}\u{1e}",
    );
    assert_eq!(
        failure(d),
        "the server refused the SignalR handshake: Requested protocol 'messagepack' is not available."
    );
}

#[test]
fn the_handshake_answer_and_the_records_after_it_share_a_frame() {
    let mut p = SignalR::new(None);
    let frame = "{}\u{1e}{\"type\":6}\u{1e}{\"type\":1,\"target\":\"Welcome\",\"arguments\":[\"hi\"]}\u{1e}{\"type\":1,\"target\":\"Tick\",\"arguments\":[1],\"headers\":{\"a\":\"b\"}}\u{1e}";
    // In the order the hub wrote them (steps, `-v` and reports show them so).
    let texts: Vec<String> = envelopes(outcomes(&mut p, frame))
        .iter()
        .map(Value::to_string)
        .collect();
    assert_eq!(
        texts,
        [
            r#"{"target":"Welcome","arguments":["hi"]}"#,
            r#"{"target":"Tick","arguments":[1]}"#
        ]
    );
    assert_eq!(p.pending(), None);
}

#[test]
fn pings_are_absorbed_and_sent_as_keep_alives() {
    let mut p = shaken();
    assert!(matches!(
        decode(&mut p, "{\"type\":6}\u{1e}"),
        Decoded::Absorbed
    ));
    assert_eq!(p.tick_every(), Some(Duration::from_secs(15)));
    let mut out = Vec::new();
    p.tick(&mut out);
    p.farewell(&mut out);
    assert_eq!(
        out,
        [
            Message::text("{\"type\":6}\u{1e}"),
            Message::text("{\"type\":7}\u{1e}")
        ]
    );
}

#[test]
fn a_completion_reaches_the_steps_once_for_an_invocation_sent_with_its_id() {
    let mut p = shaken();
    let mut out = Vec::new();
    let invocation = wire::invocation(Some("1"), "Add", vec![json!(40), json!(2)]);
    p.encode(invocation, &mut out).unwrap();
    let sent = out[0].to_text().unwrap().to_string();
    assert_eq!(
        sent,
        "{\"type\":1,\"invocationId\":\"1\",\"target\":\"Add\",\"arguments\":[40,2]}\u{1e}"
    );
    p.sent(&sent);
    assert!(p.taken(1) && !p.taken(2));
    let completion = "{\"type\":3,\"invocationId\":\"1\",\"result\":42}\u{1e}";
    assert_eq!(
        envelopes(outcomes(&mut p, completion)),
        [json!({"type": 3, "invocationId": "1", "result": 42})]
    );
    assert_eq!(
        failure(decode(&mut p, completion)),
        "protocol violation: the server sent a completion for an invocation this connection is not waiting for: {\"type\":3,\"invocationId\":\"1\",\"result\":42}"
    );
}

#[test]
fn a_close_message_fails_the_connection_with_its_error() {
    let mut p = shaken();
    assert_eq!(
        failure(decode(
            &mut p,
            "{\"type\":7,\"error\":\"Connection closed with an error.\",\"allowReconnect\":true}\u{1e}"
        )),
        "the server closed the SignalR connection with an error: Connection closed with an error."
    );
    let mut p = shaken();
    assert_eq!(
        failure(decode(&mut p, "{\"type\":7}\u{1e}")),
        "the server closed the SignalR connection (a close message, no error)"
    );
}

#[test]
fn broken_frames_fail_naming_signalr() {
    let mut p = shaken();
    assert_eq!(
        failure(decode(&mut p, "{\"type\":6}")),
        "a SignalR frame must end with the record separator (\\x1e); this one does not: `{\"type\":6}`"
    );
    let binary = p.decode(Incoming::Binary(vec![1u8].into()), &mut Vec::new());
    assert_eq!(
        failure(binary),
        "the server sent a binary frame on a SignalR JSON connection"
    );
}

#[test]
fn a_step_sends_target_and_arguments_as_an_invocation_and_typed_messages_as_they_are() {
    assert_eq!(
        outgoing(json!({"target": "Send", "arguments": ["hi"]})).unwrap(),
        "{\"type\":1,\"target\":\"Send\",\"arguments\":[\"hi\"]}\u{1e}"
    );
    assert_eq!(
        outgoing(json!({"type": 5, "invocationId": "3"})).unwrap(),
        "{\"type\":5,\"invocationId\":\"3\"}\u{1e}"
    );
    assert_eq!(
        outgoing(json!([1])).unwrap_err(),
        "a SignalR message is a JSON object (`{target, arguments}`, or a message with its `type`), not `[1]`"
    );
}

#[test]
fn access_tokens_written_in_the_url_are_found_for_masking() {
    assert_eq!(
        query_tokens("ws://h/hub?id=1&access_token=abc%2F1&x=2#frag"),
        ["abc%2F1"]
    );
    assert!(query_tokens("ws://h/hub?access_token=").is_empty());
    assert!(query_tokens("ws://h/hub").is_empty());
}

#[test]
fn a_contract_checks_arguments_results_and_items_and_nothing_else() {
    use crate::protocol::Payload;
    let p = SignalR::new(None);
    let json = |v: Value| match p.payload(&v) {
        Payload::Json(j) => Some(j),
        Payload::None => None,
        Payload::Text(t) => panic!("text {t}"),
    };
    assert_eq!(
        json(json!({"target": "T", "arguments": [1]})),
        Some(json!([1]))
    );
    assert_eq!(
        json(json!({"type": 3, "invocationId": "1", "result": {"a": 1}})),
        Some(json!({"a": 1}))
    );
    assert_eq!(
        json(json!({"type": 2, "invocationId": "1", "item": 5})),
        Some(json!(5))
    );
    assert_eq!(
        json(json!({"type": 3, "invocationId": "1", "error": "e"})),
        None
    );
    assert_eq!(json(json!({"type": 4})), None);
}

#[test]
fn the_access_token_goes_in_the_query_encoded() {
    let p = SignalR::new(Some("a b/c".into()));
    let mut url = "ws://h/hub".to_string();
    p.prepare(&mut url, &mut Vec::new()).unwrap();
    assert_eq!(url, "ws://h/hub?access_token=a%20b%2Fc");
    let mut url = "ws://h/hub?id=1".to_string();
    p.prepare(&mut url, &mut Vec::new()).unwrap();
    assert_eq!(url, "ws://h/hub?id=1&access_token=a%20b%2Fc");
}

#[test]
fn the_messages_before_a_close_in_the_same_frame_still_count() {
    let mut p = SignalR::new(None);
    let frame = "{}\u{1e}{\"type\":1,\"target\":\"Bye\",\"arguments\":[]}\u{1e}{\"type\":7,\"error\":\"Stopping.\"}\u{1e}{\"type\":1,\"target\":\"Never\",\"arguments\":[]}\u{1e}";
    let outcomes = outcomes(&mut p, frame);
    assert!(
        matches!(&outcomes[..], [Decoded::Message(Incoming::Envelope(bye)), Decoded::Failed(why)]
            if bye["target"] == "Bye" && why == "the server closed the SignalR connection with an error: Stopping."),
        "{outcomes:?}"
    );
}
