//! The shared parts of the importers: template dialects, names, comments, headers.

use super::*;

#[test]
fn each_dialect_s_variables_become_wsrun_templates() {
    let mut used = Vec::new();
    let postman = translate("{{host}}/ws?id={{$guid}}", Dialect::Postman, &mut used);
    assert_eq!(postman.as_deref(), Ok("{{ host }}/ws?id={{ uuid }}"));
    let insomnia = translate("{{ _.base }}/x", Dialect::Insomnia, &mut used);
    assert_eq!(insomnia.as_deref(), Ok("{{ base }}/x"));
    let bruno = translate("Bearer {{process.env.TOKEN}}", Dialect::Bruno, &mut used);
    assert_eq!(bruno.as_deref(), Ok("Bearer {{ env.TOKEN }}"));
    assert_eq!(used, ["host", "base"]);
}

#[test]
fn what_wsrun_cannot_express_is_refused_with_a_reason() {
    let mut used = Vec::new();
    assert_eq!(
        translate("{{$timestamp}}", Dialect::Postman, &mut used),
        Err("its variable `$timestamp` has no wsrun equivalent".into())
    );
    assert_eq!(
        translate("{% now %}", Dialect::Insomnia, &mut used),
        Err("it uses an Insomnia template tag (`{% … %}`)".into())
    );
    assert_eq!(
        translate("a {{ b", Dialect::Bruno, &mut used),
        Err("it has an unclosed `{{`".into())
    );
    assert_eq!(
        translate("{\"t\":\"{{x}}\"}", Dialect::Literal, &mut used),
        Err("it holds `{{`, which wsrun reads as a template".into())
    );
    assert_eq!(
        translate("plain", Dialect::Literal, &mut used).as_deref(),
        Ok("plain")
    );
}

#[test]
fn comment_text_cannot_start_a_new_yaml_line() {
    let text = comment_text("a\nb\rc\u{2028}d\u{85}e\tf");
    assert_eq!(text, "a\\u{a}b\\u{d}c\\u{2028}d\\u{85}e\\u{9}f");
    assert!(!text.contains(['\n', '\r', '\u{2028}', '\u{85}']));
}

#[test]
fn slugs_and_names_come_from_urls() {
    assert_eq!(slug("Chat room #2"), "chat_room_2");
    assert_eq!(slug("2fa"), "ws_2fa");
    assert_eq!(slug("¿?"), "ws");
    assert_eq!(name_from_url("wss://x.io/ws/chat?token=1"), "x.io/ws/chat");
    assert_eq!(name_from_url("wss://x.io/"), "x.io");
    assert_eq!(
        with_query(
            "ws://h/p",
            &[("a".into(), "1".into()), ("b".into(), String::new())]
        ),
        "ws://h/p?a=1&b"
    );
}

#[test]
fn handshake_headers_are_dropped_credentials_become_secrets() {
    assert_eq!(header_use("Sec-WebSocket-Key", "x"), HeaderUse::Drop);
    assert_eq!(header_use(":authority", "x"), HeaderUse::Drop);
    assert_eq!(header_use("Cookie", "a=b"), HeaderUse::Secret);
    assert_eq!(header_use("authorization", "Bearer x"), HeaderUse::Secret);
    assert_eq!(header_use("X-Client", "1"), HeaderUse::Keep);
    assert_eq!(header_use("X-Note", "one\ntwo"), HeaderUse::Unsendable);
    assert_eq!(header_use("Bad Name", "x"), HeaderUse::Unsendable);
    assert_eq!(
        header_use("Sec-WebSocket-Protocol", "v2.chat, v1.chat"),
        HeaderUse::Subprotocols(vec!["v2.chat".into(), "v1.chat".into()])
    );
}
