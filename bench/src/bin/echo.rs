//! The echo server of `bench/load`: many cheap connections on one thread, every text or binary
//! message sent back, and counts the driver asks for on stdin, so that every client (wsrun,
//! Artillery) is measured by the same server.
//!
//! `echo [--port P]` prints `port N`, then answers lines on stdin: `reset` zeroes the counts,
//! `stats` prints one JSON line: connections accepted, open now, the most open at once, the time
//! from the first accept to the last (what an opening rate is measured over), and messages
//! echoed. It runs on one thread (the client under test gets the other core) with a listen
//! backlog of 4,096 and 4 KiB buffers per connection.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncBufReadExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

#[derive(Default)]
struct Stats {
    accepted: AtomicU64,
    open: AtomicU64,
    peak: AtomicU64,
    echoed: AtomicU64,
    /// The first and the last accept since the last reset.
    span: Mutex<Option<(Instant, Instant)>>,
}

impl Stats {
    fn accepted(&self) {
        self.accepted.fetch_add(1, Relaxed);
        let open = self.open.fetch_add(1, Relaxed) + 1;
        self.peak.fetch_max(open, Relaxed);
        let now = Instant::now();
        if let Ok(mut span) = self.span.lock() {
            *span = Some(span.map_or((now, now), |(first, _)| (first, now)));
        }
    }

    fn reset(&self) {
        self.accepted.store(0, Relaxed);
        self.peak.store(self.open.load(Relaxed), Relaxed);
        self.echoed.store(0, Relaxed);
        if let Ok(mut span) = self.span.lock() {
            *span = None;
        }
    }

    fn json(&self) -> String {
        let span_ms = self
            .span
            .lock()
            .ok()
            .and_then(|s| *s)
            .map_or(0.0, |(first, last)| (last - first).as_secs_f64() * 1000.0);
        format!(
            r#"{{"accepted":{},"open":{},"peak":{},"first_to_last_ms":{span_ms:.3},"echoed":{}}}"#,
            self.accepted.load(Relaxed),
            self.open.load(Relaxed),
            self.peak.load(Relaxed),
            self.echoed.load(Relaxed),
        )
    }
}

async fn serve(tcp: TcpStream, stats: Arc<Stats>) {
    let _ = tcp.set_nodelay(true);
    let mut config = WebSocketConfig::default();
    config.read_buffer_size = 4 << 10;
    config.write_buffer_size = 0;
    let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(tcp, Some(config)).await else {
        stats.open.fetch_sub(1, Relaxed);
        return;
    };
    while let Some(Ok(msg)) = ws.next().await {
        if msg.is_text() || msg.is_binary() {
            stats.echoed.fetch_add(1, Relaxed);
            if ws.send(msg).await.is_err() {
                break;
            }
        }
    }
    stats.open.fetch_sub(1, Relaxed);
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args
        .iter()
        .position(|a| a == "--port")
        .and_then(|i| args.get(i + 1))
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let socket = TcpSocket::new_v4()?;
        socket.set_reuseaddr(true)?;
        socket.bind(([127, 0, 0, 1], port).into())?;
        let listener = socket.listen(4096)?;
        println!("port {}", listener.local_addr()?.port());
        let stats = Arc::new(Stats::default());
        let control = stats.clone();
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                match line.trim() {
                    "reset" => {
                        control.reset();
                        println!("ok");
                    }
                    "stats" => println!("{}", control.json()),
                    _ => println!("error: reset or stats"),
                }
            }
            std::process::exit(0);
        });
        loop {
            match listener.accept().await {
                Ok((tcp, _)) => {
                    stats.accepted();
                    tokio::spawn(serve(tcp, stats.clone()));
                }
                // Out of file descriptors for a moment: let connections close, then go on.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(5)).await,
            }
        }
    })
}
