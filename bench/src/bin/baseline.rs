//! Hand-written Rust clients, the yardsticks of the benchmark (tokio-tungstenite, default
//! configuration, on a current-thread runtime like the `wsrun` CLI's).
//!
//! `baseline count URL N` — receive N messages, count them only (row 1).
//! `baseline check URL N` — receive N messages, parse each into `serde_json::Value` and check
//!   `e == "trade"`, `s == "BTCUSDT"`, `p` (a number or a numeric string) > 0, `T` an integer
//!   (row 2).
//! `baseline echo URL` — send one text message, wait for its echo, close (cold-start reference).
//! `baseline check-keep URL N` / `check-copy URL N` — as `check`, but keep the last 200 payloads
//!   the way a transcript tail does: `keep` holds the received `Utf8Bytes` themselves (which share
//!   tungstenite's read buffer), `copy` holds copies. An experiment: see RESULTS.md.
//!
//! Exits 0 when all N messages arrived (and passed), 1 otherwise. Prints the in-process time on
//! stderr.

use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || -> ! {
        eprintln!("usage: baseline count|check|check-keep|check-copy URL N  |  baseline echo URL");
        std::process::exit(2)
    };
    let (mode, url) = match args.as_slice() {
        [m, u, ..] => (m.clone(), u.clone()),
        _ => usage(),
    };
    let n: u64 = match (mode.as_str(), args.get(2)) {
        ("echo", _) => 1,
        (_, Some(n)) => n.replace('_', "").parse().unwrap_or_else(|_| usage()),
        _ => usage(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let started = Instant::now();
    let result = rt.block_on(async {
        match mode.as_str() {
            "count" => run(&url, n, |_| true, Keep::None).await,
            "check" => run(&url, n, check, Keep::None).await,
            "check-keep" => run(&url, n, check, Keep::Shared).await,
            "check-copy" => run(&url, n, check, Keep::Copied).await,
            "echo" => echo(&url).await,
            _ => usage(),
        }
    });
    let secs = started.elapsed().as_secs_f64();
    match result {
        Ok(()) => {
            eprintln!(
                "baseline {mode}: {n} messages in {secs:.3}s ({:.0} msgs/s)",
                n as f64 / secs
            );
        }
        Err(e) => {
            eprintln!("baseline {mode}: FAILED: {e}");
            std::process::exit(1);
        }
    }
}

/// The four checks of the benchmark on one message.
fn check(text: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<Value>(text) else {
        return false;
    };
    doc.get("e").and_then(Value::as_str) == Some("trade")
        && doc.get("s").and_then(Value::as_str) == Some("BTCUSDT")
        && match doc.get("p") {
            Some(Value::String(s)) => s.parse::<f64>().is_ok_and(|p| p > 0.0),
            Some(Value::Number(p)) => p.as_f64().is_some_and(|p| p > 0.0),
            _ => false,
        }
        && doc.get("T").is_some_and(|t| t.is_u64() || t.is_i64())
}

/// What the client keeps of the last 200 messages, like a transcript's tail.
#[derive(Clone, Copy, PartialEq)]
enum Keep {
    None,
    /// The received payloads themselves: slices of tungstenite's read buffer.
    Shared,
    /// Copies of them.
    Copied,
}

async fn run(url: &str, n: u64, ok: impl Fn(&str) -> bool, keep: Keep) -> Result<(), String> {
    let mut tail: std::collections::VecDeque<tokio_tungstenite::tungstenite::Bytes> =
        std::collections::VecDeque::with_capacity(200);
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut got = 0u64;
    let mut bad = 0u64;
    while got < n {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                got += 1;
                if !ok(t.as_str()) {
                    bad += 1;
                }
                if keep != Keep::None {
                    if tail.len() == 200 {
                        tail.pop_front();
                    }
                    let bytes = tokio_tungstenite::tungstenite::Bytes::from(t);
                    tail.push_back(match keep {
                        Keep::Copied => {
                            tokio_tungstenite::tungstenite::Bytes::copy_from_slice(&bytes)
                        }
                        _ => bytes,
                    });
                }
            }
            Some(Ok(Message::Binary(_))) => got += 1,
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(format!("after {got} messages: {e}")),
            None => break,
        }
    }
    let _ = ws.close(None).await;
    if got < n {
        return Err(format!("received {got} of {n} messages"));
    }
    if bad > 0 {
        return Err(format!("{bad} of {n} messages failed the checks"));
    }
    Ok(())
}

async fn echo(url: &str) -> Result<(), String> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    ws.send(Message::text("hello"))
        .await
        .map_err(|e| e.to_string())?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t.as_str() == "hello" => break,
            Some(Ok(Message::Text(t))) => return Err(format!("unexpected echo `{t}`")),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("closed before the echo".into()),
        }
    }
    let _ = ws.close(None).await;
    // Wait for the server's close reply, as `wsrun`'s `close:` step would not but a polite client
    // does; the server answers at once.
    while let Some(Ok(_)) = ws.next().await {}
    Ok(())
}
