//! `wsrun new --from-asyncapi DOC` through the binary: the collection it writes from an AsyncAPI
//! 3.0 and a 2.6 document passes `wsrun validate`, and one written from an echo document runs
//! green against a loopback echo server; a document without channels is a usage error.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
mod common;

/// An AsyncAPI 3.0 echo service on `server_url`: one send operation whose reply is the same
/// message.
fn echo_v3(host: &str) -> String {
    format!(
        r#"asyncapi: 3.0.0
info: {{ title: Echo, version: 1.0.0 }}
servers:
  loopback: {{ host: "{host}", protocol: ws }}
channels:
  echo:
    address: /
    messages:
      ping:
        name: ping
        examples:
          - payload: {{ type: ping, id: 7 }}
        payload:
          type: object
          required: [type, id]
          properties:
            type: {{ const: ping }}
            id: {{ type: integer }}
operations:
  sendPing:
    action: send
    channel: {{ $ref: '#/channels/echo' }}
    messages: [{{ $ref: '#/channels/echo/messages/ping' }}]
    reply:
      channel: {{ $ref: '#/channels/echo' }}
      messages: [{{ $ref: '#/channels/echo/messages/ping' }}]
"#
    )
}

/// An AsyncAPI 2.6 chat: the client publishes a message (its example in the schema) and
/// subscribes to what the room sends.
const CHAT_V26: &str = r#"asyncapi: 2.6.0
info: { title: Chat, version: 1.0.0 }
servers:
  production: { url: "chat.example.com/{room}", protocol: wss, variables: { room: { default: lobby } } }
  broker: { url: "broker.example.com:9092", protocol: kafka }
channels:
  /rooms/{room}:
    parameters:
      room: { schema: { type: string, default: general } }
    publish:
      operationId: say
      message:
        $ref: '#/components/messages/say'
    subscribe:
      operationId: hear
      message:
        payload:
          type: object
          required: [from, text]
          properties:
            from: { type: string }
            text: { type: string }
components:
  messages:
    say:
      payload:
        type: object
        required: [text]
        properties:
          text: { type: string, example: hello }
"#;

#[test]
fn the_binance_document_becomes_a_collection_that_validates() {
    let ws = cli::Workspace::new();
    let doc = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/collections/asyncapi/binance-trades.yaml"
    );
    let text = std::fs::read_to_string(doc).expect("read the document");
    ws.write("asyncapi/binance-trades.yaml", &text);
    let made = ws.wsrun(&[
        "new",
        "--from-asyncapi",
        "asyncapi/binance-trades.yaml",
        "--out",
        "suite/binance.yaml",
    ]);
    assert_eq!(made.code, 0, "{}", made.output());
    assert!(
        made.stdout.contains("wrote suite/binance.yaml: 2 requests"),
        "{}",
        made.stdout
    );
    let yaml = std::fs::read_to_string(ws.path().join("suite/binance.yaml")).expect("written");
    insta::assert_snapshot!("binance_from_asyncapi", yaml);
    assert!(
        yaml.contains("live: { url: \"wss://stream.binance.com:9443\" }"),
        "{yaml}"
    );
    assert!(
        yaml.contains(
            r#"contract: { asyncapi: "../asyncapi/binance-trades.yaml", channel: trades }"#
        ),
        "{yaml}"
    );
    let valid = ws.wsrun(&["validate", "suite/binance.yaml"]);
    assert_eq!(valid.code, 0, "{}", valid.output());
}

#[test]
fn an_echo_document_becomes_a_collection_that_runs_green_against_an_echo_server() {
    let server = common::echo();
    let ws = cli::Workspace::new();
    ws.write("echo.asyncapi.yaml", &echo_v3(&server.addr().to_string()));
    let made = ws.wsrun(&[
        "new",
        "--from-asyncapi",
        "echo.asyncapi.yaml",
        "--out",
        "echo.yaml",
    ]);
    assert_eq!(made.code, 0, "{}", made.output());
    let yaml = std::fs::read_to_string(ws.path().join("echo.yaml")).expect("written");
    assert!(
        yaml.contains(r#"- send: { json: {"type":"ping","id":7} }"#),
        "{yaml}"
    );
    assert!(yaml.contains("$.type: ping"), "{yaml}");
    let valid = ws.wsrun(&["validate", "echo.yaml"]);
    assert_eq!(valid.code, 0, "{}", valid.output());

    let run = ws.wsrun(&["echo.yaml", "--env", "loopback"]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(run.stdout.contains("1 request: 1 passed"), "{}", run.stdout);
}

#[test]
fn a_2_6_document_becomes_one_request_per_publish_and_subscribe() {
    let ws = cli::Workspace::new();
    ws.write("chat.yaml", CHAT_V26);
    let made = ws.wsrun(&[
        "new",
        "--from-asyncapi",
        "chat.yaml",
        "--out",
        "chat-suite.yaml",
    ]);
    assert_eq!(made.code, 0, "{}", made.output());
    let yaml = std::fs::read_to_string(ws.path().join("chat-suite.yaml")).expect("written");
    for needle in [
        "production: { url: \"wss://chat.example.com/lobby\" }",
        "# server `broker` is not a WebSocket server: left out",
        "room: general",
        "- name: say",
        "url: \"{{ url }}/rooms/{{ room }}\"",
        r#"- send: { json: {"text":"hello"} }"#,
        "- name: hear",
        "$.from: { exists: true }",
        "contract: { asyncapi: chat.yaml, channel: \"/rooms/{room}\" }",
    ] {
        assert!(yaml.contains(needle), "no {needle:?} in:\n{yaml}");
    }
    let valid = ws.wsrun(&["validate", "chat-suite.yaml"]);
    assert_eq!(valid.code, 0, "{}", valid.output());
}

#[test]
fn a_document_without_channels_is_a_usage_error() {
    let ws = cli::Workspace::new();
    ws.write(
        "empty.yaml",
        "asyncapi: 3.0.0\ninfo: { title: Nothing, version: 1.0.0 }\n",
    );
    let made = ws.wsrun(&["new", "--from-asyncapi", "empty.yaml", "--out", "x.yaml"]);
    assert_eq!(made.code, 2, "{}", made.output());
    assert!(made.stderr.contains("no `channels`"), "{}", made.stderr);
    assert!(!ws.path().join("x.yaml").exists());
}

#[test]
fn the_default_output_never_overwrites_the_document_itself() {
    let ws = cli::Workspace::new();
    ws.write("chat.yaml", CHAT_V26);
    let made = ws.wsrun(&["new", "--from-asyncapi", "chat.yaml", "--force"]);
    assert_eq!(made.code, 2, "{}", made.output());
    assert!(
        made.stderr.contains("is the document itself"),
        "{}",
        made.stderr
    );
    let kept = std::fs::read_to_string(ws.path().join("chat.yaml")).expect("kept");
    assert_eq!(kept, CHAT_V26);
}
