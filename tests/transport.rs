//! Transport fidelity against small hand-written servers: a `close` that ends the TCP
//! connection, binary frames in `-v`, and permessage-deflate (offered, negotiated, refused).

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
mod transport {
    pub mod servers;
}

use cli::Workspace;
use transport::servers;

#[test]
fn close_ends_the_tcp_connection_while_the_request_goes_on() {
    let addr = servers::presence();
    let ws = Workspace::new();
    let run = ws.run_collection(
        &format!(
            r#"requests:
  - name: alice leaves, bob stays
    connections:
      alice: {{url: "ws://{addr}"}}
      bob: {{url: "ws://{addr}"}}
    steps:
      - close: {{conn: alice}}
      - expect: {{conn: bob, timeout: 2s, text: left}}
"#
        ),
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        run.stdout.contains("✓ alice leaves, bob stays"),
        "{}",
        run.output()
    );
}
