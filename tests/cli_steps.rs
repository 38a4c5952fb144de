//! Step behaviour that an exact-output case under `tests/cases/` cannot pin down, because the
//! output itself varies from run to run. Every other step test is a case file there.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
mod common;

use std::time::Duration;

use cli::Workspace;

#[test]
fn wait_for_timeout_is_not_extended_by_a_noisy_stream() {
    // 1000 trades 5ms apart: a per-message timeout would wait for the whole 5s stream and skip
    // all 1000; a timeout for the step as a whole gives up after ~60. How many depends on the
    // machine, so the count is checked as a range.
    let server = common::binance_stream(1000, Duration::from_millis(5));
    let r = Workspace::new().run_collection(
        &format!(
            r#"
requests:
  - name: noisy
    url: {}
    steps:
      - wait_for: {{timeout: 300ms, json: {{$.s: ETHUSDT}}}}
"#,
            server.url()
        ),
        &[],
    );
    assert_eq!(r.code, 1, "expected a failed request:\n{}", r.output());
    let skipped: u64 = r
        .stdout
        .split("no matching message within 300ms; ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a skipped count in:\n{}", r.output()));
    assert!(
        (1..1000).contains(&skipped),
        "skipped {skipped} messages:\n{}",
        r.output()
    );
}
