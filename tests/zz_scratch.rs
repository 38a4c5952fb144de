#![allow(dead_code)]
mod common;
#[path = "common/cli.rs"]
mod cli;
use std::time::Duration;

fn show(title: &str, url: &str, yaml: &str, args: &[&str]) {
    let ws = cli::Workspace::new();
    let yaml = yaml.replace("URL", url);
    let r = ws.run_collection(&yaml, args);
    println!("===== {title} (code {})\n{}", r.code, r.output().replace(url, "ws://SERVER"));
}

#[test]
fn explore() {
    let echo = common::echo();
    show("send text", &echo.url(), r#"
requests:
  - name: echo text
    url: URL
    steps:
      - send: {text: hello}
      - expect: {text: hello}
      - send: {json: {a: 1, b: [true, null]}}
      - expect: {json: {$.a: 1, $.b[0]: true, $.b[1]: null}}
      - send: {binary: AAEC/w==}
      - expect: {binary: {len: 4}}
      - send: {binary: AAEC/w==}
      - expect: {binary: {eq: AAEC/w==}}
"#, &["-v"]);
    show("send text fail", &echo.url(), r#"
requests:
  - name: echo text
    url: URL
    steps:
      - send: {text: hello}
      - expect: {text: goodbye}
"#, &[]);
    show("json fail", &echo.url(), r#"
requests:
  - name: echo json
    url: URL
    steps:
      - send: {json: {a: 1}}
      - expect: {json: {$.a: 2}}
"#, &[]);
    show("binary fail", &echo.url(), r#"
requests:
  - name: echo bin
    url: URL
    steps:
      - send: {binary: AAEC/w==}
      - expect: {binary: {len: 3}}
      - send: {binary: AAEC/w==}
      - expect: {binary: {eq: AAEC}}
"#, &[]);
    show("binary eq fail", &echo.url(), r#"
requests:
  - name: echo bin
    url: URL
    steps:
      - send: {binary: AAEC/w==}
      - expect: {binary: {eq: AAEC}}
"#, &[]);
    show("text where json", &echo.url(), r#"
requests:
  - name: not json
    url: URL
    steps:
      - send: {text: hello there}
      - expect: {json: {$.a: 1}}
"#, &[]);
    let slow = common::binance_stream(10, Duration::from_millis(200));
    show("count within fail", &slow.url(), r#"
requests:
  - name: slow
    url: URL
    steps:
      - expect: {count: 5, within: 300ms, json: {$.e: trade}}
"#, &[]);
    let fast = common::binance_stream(10, Duration::from_millis(5));
    show("count within pass + wait_for", &fast.url(), r#"
requests:
  - name: fast
    url: URL
    steps:
      - expect: {count: 5, within: 3s, json: {$.e: trade, $.p: {gt: 0}}}
      - wait_for: {json: {$.t: 4221990008}}
      - expect: {json: {$.t: 4221990009}}
"#, &[]);
    show("wait_for timeout", &fast.url(), r#"
requests:
  - name: never
    url: URL
    steps:
      - wait_for: {timeout: 500ms, json: {$.s: ETHUSDT}}
"#, &[]);
    let silent = common::silent();
    show("silent", &silent.url(), r#"
requests:
  - name: quiet
    url: URL
    steps:
      - no_message: {within: 200ms}
      - ping: hi
      - expect: {timeout: 300ms}
"#, &["-v"]);
    show("no_message fail", &fast.url(), r#"
requests:
  - name: noisy
    url: URL
    steps:
      - no_message: {within: 500ms}
"#, &[]);
    let closer = common::closer(4001, "bye now", 2);
    show("closer ok", &closer.url(), r#"
requests:
  - name: closes
    url: URL
    steps:
      - expect_close: {code: 4001}
  - name: closes wrong
    url: URL
    steps:
      - expect: {json: {$.n: 0}}
      - expect_close: {code: 1000}
"#, &["-v"]);
    let dropper = common::dropper(1);
    show("dropper", &dropper.url(), r#"
requests:
  - name: drops
    url: URL
    steps:
      - expect_close: {code: 1000}
"#, &["-v"]);
    show("refused", &common::refused_url(), r#"
requests:
  - name: nobody
    url: URL
    steps:
      - send: {text: hi}
"#, &[]);
}
