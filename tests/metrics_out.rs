//! Metrics out: `--report openmetrics=FILE` and `--report csv=FILE` on a real run, and `--push
//! URL` to an HTTP receiver started here on 127.0.0.1:0 that records the request (method, path,
//! content type, body) and answers as a Pushgateway would, or refuses. A parser we did not
//! write checks both text formats in tests/python/test_metrics_out.py.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::thread::JoinHandle;

/// A load of 3 users running twice each, and a request whose name and failure need quoting.
const SUITE: &str = r#"mocks:
  echo: { echo: true }
requests:
  - name: load
    url: "{{ mocks.echo.url }}"
    load: { users: 3 }
    repeat: 2
    thresholds: { iterations: { gte: 6 } }
    steps:
      - send: hi
      - expect: { text: hi }
  - name: wrong, "quoted"
    url: "{{ mocks.echo.url }}"
    steps:
      - send: hi
      - expect: { text: "a,b" }
"#;

/// What the receiver was sent.
#[derive(Debug)]
struct Received {
    request_line: String,
    content_type: String,
    body: String,
}

/// Accepts one request on 127.0.0.1:0 and answers it with `status` and `answer`.
fn receiver(status: &'static str, answer: &'static str) -> (String, JoinHandle<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("the push");
        let mut reader = BufReader::new(stream);
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        let (mut length, mut content_type) = (0, String::new());
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(": ").unwrap();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse().unwrap(),
                "content-type" => content_type = value.to_string(),
                _ => {}
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let reply = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
            answer.len()
        );
        reader.get_mut().write_all(reply.as_bytes()).unwrap();
        Received {
            request_line: request_line.trim_end().to_string(),
            content_type,
            body: String::from_utf8(body).unwrap(),
        }
    });
    (url, handle)
}

#[test]
fn openmetrics_has_the_load_and_step_families_labelled_and_ends_with_eof() {
    let ws = cli::Workspace::new();
    let run = ws.run_collection(SUITE, &["--report", "openmetrics=out/m.txt"]);
    assert_eq!(run.code, 1, "{}", run.output());
    let text = std::fs::read_to_string(ws.path().join("out/m.txt")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let load = r#"{collection="c.yaml",request="load"}"#;
    for want in [
        "# TYPE wsrun_request_passed gauge".to_string(),
        r#"wsrun_request_passed{collection="c.yaml",request="load"} 1"#.into(),
        r#"wsrun_request_passed{collection="c.yaml",request="wrong, \"quoted\""} 0"#.into(),
        "# TYPE wsrun_load_iterations counter".into(),
        format!("wsrun_load_iterations_total{load} 6"),
        format!("wsrun_load_connections_total{load} 3"),
        format!("wsrun_load_users{load} 3"),
        "# TYPE wsrun_step_round_trip_seconds summary".into(),
        "# UNIT wsrun_step_round_trip_seconds seconds".into(),
        r#"wsrun_step_round_trip_seconds_count{collection="c.yaml",request="load",step="2",keyword="expect"} 6"#.into(),
        r#"wsrun_step_messages_total{collection="c.yaml",request="load",step="2",keyword="expect"} 6"#.into(),
        r#"wsrun_load_threshold_passed{collection="c.yaml",request="load",threshold="iterations"} 1"#.into(),
    ] {
        assert!(lines.contains(&want.as_str()), "no `{want}` in\n{text}");
    }
    assert!(lines.iter().any(|l| l.starts_with(
        r#"wsrun_step_round_trip_seconds{collection="c.yaml",request="load",step="2",keyword="expect",quantile="0.95"} "#
    )), "{text}");
    assert!(text.ends_with("\n# EOF\n"), "{text}");
    assert_eq!(text.matches("# EOF").count(), 1);
}

#[test]
fn csv_has_one_row_per_step_quoted_as_rfc_4180() {
    let ws = cli::Workspace::new();
    let run = ws.run_collection(SUITE, &["--report", "csv=r.csv"]);
    assert_eq!(run.code, 1, "{}", run.output());
    let text = std::fs::read_to_string(ws.path().join("r.csv")).unwrap();
    let rows: Vec<&str> = text.split_terminator("\r\n").collect();
    assert_eq!(
        rows[0],
        "collection,request,step,keyword,line,status,passed,duration_s,latency_s,messages,connection,path,expected,actual,error"
    );
    assert_eq!(rows.len(), 5, "{text}");
    assert!(
        rows[1].starts_with("c.yaml,load,1,send,10,passed,true,"),
        "{text}"
    );
    assert!(
        rows[2].starts_with("c.yaml,load,2,expect,11,passed,true,"),
        "{text}"
    );
    assert!(rows[2].ends_with(",6,,,,,"), "{text}");
    assert!(
        rows[4].starts_with(r#"c.yaml,"wrong, ""quoted""",2,expect,16,failed,false,"#),
        "{text}"
    );
    assert!(
        rows[4].ends_with(r#",1,,,"a,b",hi,the text does not match"#),
        "{text}"
    );
}

#[test]
fn push_puts_the_prometheus_text_to_the_job_path() {
    let ws = cli::Workspace::new();
    let (url, got) = receiver("200 OK", "");
    let run = ws.run_collection(SUITE, &["--push", &url]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert_eq!(run.stderr, "");
    let got = got.join().unwrap();
    assert_eq!(got.request_line, "PUT /metrics/job/wsrun HTTP/1.1");
    assert_eq!(got.content_type, "text/plain; version=0.0.4; charset=utf-8");
    let lines: Vec<&str> = got.body.lines().collect();
    for want in [
        "# TYPE wsrun_load_iterations_total counter",
        r#"wsrun_load_iterations_total{collection="c.yaml",request="load"} 6"#,
        "# TYPE wsrun_step_round_trip_seconds summary",
    ] {
        assert!(lines.contains(&want), "no `{want}` in\n{}", got.body);
    }
    assert!(!got.body.contains("# EOF") && !got.body.contains("# UNIT"));
}

#[test]
fn push_to_a_grouping_key_keeps_the_path() {
    let ws = cli::Workspace::new();
    let (url, got) = receiver("202 Accepted", "");
    let to = format!("{url}/metrics/job/ci/shard/2");
    let run = ws.run_collection(SUITE, &["--push", &to]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert_eq!(
        got.join().unwrap().request_line,
        "PUT /metrics/job/ci/shard/2 HTTP/1.1"
    );
}

#[test]
fn a_push_the_gateway_refuses_fails_the_run_saying_why() {
    let ws = cli::Workspace::new();
    let (url, got) = receiver("400 Bad Request", "text format parsing error in line 3\n");
    let passing = "mocks:\n  echo: { echo: true }\nrequests:\n  - name: one\n    url: \"{{ mocks.echo.url }}\"\n    steps:\n      - send: hi\n      - expect: { text: hi }\n";
    let run = ws.run_collection(passing, &["--push", &url]);
    got.join().unwrap();
    assert_eq!(run.code, 1, "{}", run.output());
    assert_eq!(
        run.stderr,
        format!("error: --push {url}: the Pushgateway answered 400 Bad Request: text format parsing error in line 3\n")
    );
}

#[test]
fn a_push_nobody_listens_for_fails_the_run_saying_so() {
    let ws = cli::Workspace::new();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let passing = "mocks:\n  echo: { echo: true }\nrequests:\n  - name: one\n    url: \"{{ mocks.echo.url }}\"\n    steps:\n      - send: hi\n";
    let run = ws.run_collection(passing, &["--push", &url]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stderr
            .starts_with(&format!("error: --push {url}: cannot connect: ")),
        "{}",
        run.stderr
    );
}

#[test]
fn an_https_push_url_is_a_usage_error() {
    let ws = cli::Workspace::new();
    let run = ws.run_collection("requests: []\n", &["--push", "https://gw:9091"]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert!(
        run.stderr.contains("https is not supported by --push"),
        "{}",
        run.stderr
    );
}

#[test]
fn merge_pushes_the_merged_metrics() {
    let ws = cli::Workspace::new();
    ws.write("c.yaml", SUITE);
    let run = ws.wsrun(&["c.yaml", "--shard", "1/1", "--report", "json=s.json"]);
    assert_eq!(run.code, 1, "{}", run.output());
    let (url, got) = receiver("200 OK", "");
    let run = ws.wsrun(&["merge", "s.json", "--push", &url]);
    assert_eq!(run.code, 1, "{}", run.output());
    let got = got.join().unwrap();
    assert_eq!(got.request_line, "PUT /metrics/job/wsrun HTTP/1.1");
    assert!(
        got.body
            .lines()
            .any(|l| l == r#"wsrun_load_iterations_total{collection="c.yaml",request="load"} 6"#),
        "{}",
        got.body
    );
}
