//! The `http` step against servers wsrun did not write: an HTTP API on Python's http.server and
//! a WebSocket server on the `websockets` package, sharing one state (tests/http/flow_server.py).

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};

/// The flow server, stopped (its stdin closed, then killed) when dropped.
struct Flow {
    child: Child,
    http: u16,
    ws: u16,
}

impl Flow {
    fn start() -> Flow {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/http/flow_server.py");
        let mut child = Command::new("python3")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the flow server (with the `websockets` package)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout is piped"))
            .read_line(&mut line)
            .expect("the flow server prints its ports");
        let ports: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("ports line {line:?}: {e}"));
        let port = |k: &str| ports[k].as_u64().expect("a port") as u16;
        Flow {
            http: port("http"),
            ws: port("ws"),
            child,
        }
    }

    /// `{"tokens_used": [...]}` from the API, read with a bare HTTP/1.0 request.
    fn stats(&self) -> serde_json::Value {
        let mut tcp = std::net::TcpStream::connect(("127.0.0.1", self.http)).expect("connect");
        tcp.write_all(b"GET /stats HTTP/1.0\r\n\r\n")
            .expect("write");
        let mut answer = String::new();
        tcp.read_to_string(&mut answer).expect("read");
        let body = answer.split("\r\n\r\n").nth(1).expect("a body");
        serde_json::from_str(body).expect("JSON stats")
    }

    /// `yaml` with `HTTP` and `WS` standing for the servers' addresses.
    fn fill(&self, yaml: &str) -> String {
        yaml.replace("HTTP", &format!("http://127.0.0.1:{}", self.http))
            .replace("WS", &format!("ws://127.0.0.1:{}", self.ws))
    }
}

impl Drop for Flow {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const FLOW: &str = r#"requests:
  - name: login then stream
    url: WS/stream
    steps:
      - http:
          method: POST
          url: HTTP/login
          json: { user: ada }
          expect:
            status: 200
            json: { $.user: ada, $.token: { matches: "^t\\+" } }
            headers: { Content-Type: application/json }
          capture: { token: $.token, key: $.key }
          capture_headers: { set_cookie: Set-Cookie }
      - http: { url: HTTP/me, expect: { json: { $.user: ada } } }
      - set: { ts: "{{ now_ms }}" }
      - send:
          json:
            token: "{{ token | urlencode }}"
            cookie: "{{ set_cookie }}"
            ts: "{{ ts }}"
            sig: "{{ ts | hmac_sha256(key) }}"
      - expect: { json: { $.ok: true, $.user: ada } }
"#;

/// The whole flow: a token (with `+/=`), a cookie and a key over HTTP, the cookie sent back by
/// the jar on the next `http` step, then a message with the token URL-encoded and a signature
/// over a `set:` timestamp, which the WebSocket server verifies against the login.
#[test]
fn a_flow_logs_in_over_http_and_signs_its_first_message() {
    let flow = Flow::start();
    let ws = cli::Workspace::new();
    let run = ws.run_collection(&flow.fill(FLOW), &["-v"]);
    let out = run.output();
    assert_eq!(run.code, 0, "{out}");
    assert!(
        out.contains(
            "http → POST HTTP/login HTTP/1.1"
                .replace(
                    "HTTP/login",
                    &format!("http://127.0.0.1:{}/login", flow.http)
                )
                .as_str()
        ),
        "{out}"
    );
    assert!(out.contains("http ← HTTP/1.1 200 OK"), "{out}");
    // The cookie is a credential: masked in -v, in the Set-Cookie answered and the Cookie sent.
    assert!(
        out.contains("Set-Cookie: sid=***; Path=/; HttpOnly"),
        "{out}"
    );
    assert!(out.contains("Cookie: sid=***"), "{out}");
    let used = flow.stats()["tokens_used"].clone();
    assert_eq!(used.as_array().map(Vec::len), Some(1), "{used}");
    assert!(used[0]
        .as_str()
        .is_some_and(|t| t.contains('+') && t.contains('/') && t.ends_with("==")));
}

/// The stream's URL is the path and the token the login returned: the connection opens right
/// after the step that captures them, with the login's cookie (from the jar) on its handshake.
#[test]
fn a_connection_opens_after_the_login_with_its_token_and_cookie() {
    let flow = Flow::start();
    let ws = cli::Workspace::new();
    let yaml = r#"requests:
  - name: login then stream
    url: WS{{ ws_path }}?token={{ token | urlencode }}
    steps:
      - http:
          method: POST
          url: HTTP/login
          json: { user: ada }
          capture: { token: $.token, key: $.key, ws_path: $.ws_path }
      - set: { ts: "{{ now_ms }}" }
      - send: { json: { ts: "{{ ts }}", sig: "{{ ts | hmac_sha256(key) }}" } }
      - expect: { json: { $.ok: true, $.user: ada, $.cookie_on_handshake: true } }
"#;
    let run = ws.run_collection(&flow.fill(yaml), &[]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(
        flow.stats()["tokens_used"].as_array().map(Vec::len),
        Some(1)
    );
}

/// Without `| urlencode` the server reads `+` as a space: the flow fails, proving the filter
/// is what makes it pass.
#[test]
fn without_urlencode_the_server_refuses_the_token() {
    let flow = Flow::start();
    let ws = cli::Workspace::new();
    let yaml = flow
        .fill(FLOW)
        .replace("{{ token | urlencode }}", "{{ token }}");
    let run = ws.run_collection(&yaml, &[]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(run.output().contains("unknown token"), "{}", run.output());
}

/// Each of 20 load users logs in itself and presents its own token; the server refuses a token
/// a second connection presents.
#[test]
fn each_load_user_runs_its_own_http_steps() {
    let flow = Flow::start();
    let ws = cli::Workspace::new();
    let yaml = FLOW
        .replace("user: ada", "user: \"u{{ user.index }}\"")
        .replace("$.user: ada", "$.user: \"u{{ user.index }}\"")
        .replace(
            "    url: WS/stream\n",
            "    url: WS/stream\n    load: { users: 20 }\n",
        );
    let run = ws.run_collection(&flow.fill(&yaml), &[]);
    assert_eq!(run.code, 0, "{}", run.output());
    let used = flow.stats()["tokens_used"].clone();
    let mut tokens: Vec<&str> = used
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|t| t.as_str())
        .collect();
    tokens.sort();
    tokens.dedup();
    assert_eq!(tokens.len(), 20, "{used}");
}

/// One request with one `http` step, run; returns the exit code and output.
fn one_step(flow: &Flow, step: &str, defaults: &str) -> (i32, String) {
    let yaml = format!(
        "{defaults}requests:\n  - name: one\n    url: WS/stream\n    steps:\n      - http: {step}\n"
    );
    let run = cli::Workspace::new().run_collection(&flow.fill(&yaml), &[]);
    (run.code, run.output())
}

#[test]
fn failures_name_the_status_the_body_and_the_step_line() {
    let flow = Flow::start();
    let (code, out) = one_step(&flow, "{ url: HTTP/me, expect: { status: 200 } }", "");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("step 1 http c.yaml:5: expected status 200, got 401\n        message   {\"error\": \"no session\"}"),
        "{out}"
    );

    let (code, out) = one_step(&flow, "{ url: HTTP/me }", "");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("expected a 2xx status, got 401 Unauthorized"),
        "{out}"
    );

    let (code, out) = one_step(&flow, "{ url: HTTP/text, capture: { x: $.x } }", "");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("capture `x`: the response body is not JSON (text/plain: expected value at line 1 column 1)"),
        "{out}"
    );

    let (code, out) = one_step(&flow, "{ url: HTTP/slow, timeout: 300ms }", "");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "GET HTTP/slow: no response within 300ms"
                .replace("HTTP", &format!("http://127.0.0.1:{}", flow.http))
                .as_str()
        ),
        "{out}"
    );

    let (code, out) = one_step(
        &flow,
        "{ url: HTTP/big }",
        "defaults: { max_message_size: 1MiB }\n",
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the response body is larger than 1 MiB"),
        "{out}"
    );

    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let (code, out) = one_step(
        &flow,
        &format!("{{ url: \"http://127.0.0.1:{refused}/x\" }}"),
        "",
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "cannot connect to 127.0.0.1:{refused}: connection refused"
        )),
        "{out}"
    );
}

#[test]
fn forms_chunked_bodies_and_a_cookie_kept_for_its_own_host() {
    let flow = Flow::start();
    let yaml = r#"requests:
  - name: several
    url: WS/stream
    steps:
      - http:
          method: post
          url: HTTP/form
          form: { q: "a b&c", n: 1 }
          expect:
            json: { $.q: "a b&c", $.n: "1" }
            headers: { X-Got-Type: application/x-www-form-urlencoded }
      - http: { url: HTTP/chunked, capture: { parts: $.parts } }
      - http: { method: POST, url: HTTP/login, json: {user: bo} }
      - http: { url: HTTP/me, expect: { status: 200 } }
      - http: { url: "http://localhost:PORT/me", expect: { status: 401 } }
      - http:
          method: POST
          url: HTTP/form
          form: { parts: "{{ parts | json }}" }
          expect: { json: { $.parts: "[1,2,3]" } }
"#
    .replace("PORT", &flow.http.to_string());
    let run = cli::Workspace::new().run_collection(&flow.fill(&yaml), &[]);
    assert_eq!(run.code, 0, "{}", run.output());
}
