//! `wsrun new` writes names from an AsyncAPI document, a recording's file name and `--url` into
//! the collection: a newline (or `\r`, U+2028, `#`, `: `, quotes, `{{ }}`) in one of them must not
//! start a line of its own (a request injected into the collection) or a template. The written
//! collection validates and holds exactly the requests expected.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;

use serde_json::json;

/// What an attacker would put in a name: each way out of a comment or a quoted string.
const EVIL: &str = "x\n  - name: injected\n    url: ws://127.0.0.1:9/\n    steps: []\r\u{2028}\u{2029}\u{85} # : 'q' \"qq\" {{ nope }}";

/// The request names a collection holds, through the loader (`-v` is not needed: validate
/// counts them) and as lines of the file.
fn request_lines(yaml: &str) -> usize {
    yaml.lines().filter(|l| l.starts_with("  - name:")).count()
}

#[test]
fn names_from_an_asyncapi_document_cannot_inject_requests_or_templates() {
    let ws = cli::Workspace::new();
    let channel = format!("chan{EVIL}");
    let op = format!("op{EVIL}");
    let pointer = channel.replace('~', "~0").replace('/', "~1");
    let doc = json!({
        "asyncapi": "3.0.0",
        "info": { "title": "t", "version": "1" },
        "servers": { format!("srv{EVIL}"): { "host": "127.0.0.1:9{{ x }}", "protocol": "ws" } },
        "channels": { &channel: {
            "address": format!("/a{{b}}/{{ c }}/{EVIL}"),
            "parameters": { "b": { "default": "{{ d }}" } },
            "messages": { format!("m{EVIL}"): {
                "name": format!("msg{EVIL}"),
                "payload": { "type": "object", "required": ["k"], "properties": { "k": { "const": "{{ e }}" } } },
                "examples": [{ "payload": { "k": "{{ e }}" } }]
            } }
        } },
        "operations": {
            &op: { "action": "send", "channel": { "$ref": format!("#/channels/{pointer}") } },
            "listen": { "action": "receive", "channel": { "$ref": format!("#/channels/{pointer}") } }
        }
    });
    ws.write("doc.json", &doc.to_string());
    let run = ws.wsrun(&["new", "--from-asyncapi", "doc.json", "--out", "out.yaml"]);
    assert_eq!(run.code, 0, "{}", run.output());
    let yaml = std::fs::read_to_string(ws.path().join("out.yaml")).unwrap();
    assert!(
        !yaml.contains(['\r', '\u{2028}', '\u{2029}', '\u{85}']),
        "{yaml}"
    );
    assert_eq!(request_lines(&yaml), 2, "{yaml}");
    assert!(!yaml.contains("\n  - name: injected"), "{yaml}");
    let run = ws.wsrun(&["validate", "out.yaml"]);
    assert_eq!(run.code, 0, "{}\n{yaml}", run.output());
    assert_eq!(run.stdout, "✓ out.yaml: 2 request(s) OK\n", "{yaml}");
}

#[test]
fn a_recording_name_and_url_cannot_inject_requests_or_templates() {
    let ws = cli::Workspace::new();
    let name = "rec\n  - name: injected\r\u{2028} # : 'q' \"qq\".jsonl";
    ws.write(
        name,
        "{\"ms\":1,\"json\":{\"p\":1}}\n{\"ms\":2,\"json\":{\"p\":2}}\n",
    );
    let url = format!("ws://127.0.0.1:9/{{{{ nope }}}}{EVIL}");
    let run = ws.wsrun(&["new", "--from", name, "--url", &url, "--out", "out.yaml"]);
    assert_eq!(run.code, 0, "{}", run.output());
    let yaml = std::fs::read_to_string(ws.path().join("out.yaml")).unwrap();
    assert!(
        !yaml.contains(['\r', '\u{2028}', '\u{2029}', '\u{85}']),
        "{yaml}"
    );
    assert_eq!(request_lines(&yaml), 1, "{yaml}");
    assert!(!yaml.contains("not in this version"), "stale: {yaml}");
    let run = ws.wsrun(&["validate", "out.yaml"]);
    assert_eq!(run.code, 0, "{}\n{yaml}", run.output());
    assert_eq!(run.stdout, "✓ out.yaml: 1 request(s) OK\n", "{yaml}");
}

#[test]
fn a_recording_whose_path_holds_braces_is_refused_rather_than_written_as_a_template() {
    let ws = cli::Workspace::new();
    ws.write("{{ x }}.jsonl", "{\"ms\":1,\"json\":{\"p\":1}}\n");
    let run = ws.wsrun(&["new", "--from", "{{ x }}.jsonl", "--out", "out.yaml"]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert_eq!(
        run.stderr,
        "error: the recording's path {{ x }}.jsonl holds `{{`, which a collection would read as a template: rename or move it\n"
    );
    assert!(!ws.path().join("out.yaml").exists());
}
