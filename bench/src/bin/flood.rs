//! The flood server of the benchmark: a tokio-tungstenite WebSocket server on 127.0.0.1.
//!
//! `flood [--count N] [--port P] [--tungstenite] [--lifetime SECS]`
//!
//! Prints the port it listens on (one line), then serves every client by its URL path:
//! - `/flood` sends N Binance-format trade messages (`--count`, default 1,000,000), then a close
//!   frame; `/flood/<n>` sends n instead;
//! - `/echo` echoes every text/binary message back until the client closes;
//! - `/deflate` and `/deflate/<n>` send the same messages compressed (permessage-deflate with
//!   `server_no_context_takeover`, agreed when the client offers it): each message deflated on
//!   its own at start-up, so the cost measured is the client's inflating.
//!
//! The handshake and the close are tokio-tungstenite's. The data frames are, by default,
//! pre-encoded once (a pool of 4,096 distinct messages, cycled) and written to the socket in large
//! writes: byte for byte what tungstenite would send (unmasked, FIN, text opcode), but at
//! memcpy speed, so that the server is never what a benchmarked client waits for. `--tungstenite`
//! sends each message through tokio-tungstenite's sink instead (`feed`, one `flush` at the end).
//!
//! Loopback only; the process exits by itself after `--lifetime` seconds (default 3600).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::Message;
use wsrun_bench::trade;

const POOL: usize = 4096;

struct Opts {
    count: u64,
    port: u16,
    tungstenite: bool,
    lifetime: u64,
}

fn parse_args() -> Opts {
    let mut o = Opts {
        count: 1_000_000,
        port: 0,
        tungstenite: false,
        lifetime: 3600,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .unwrap_or_else(|| die(&format!("{name} needs a value")))
        };
        match a.as_str() {
            "--count" => o.count = num(&value("--count")),
            "--port" => o.port = num(&value("--port")) as u16,
            "--lifetime" => o.lifetime = num(&value("--lifetime")),
            "--tungstenite" => o.tungstenite = true,
            "-h" | "--help" => {
                println!("flood [--count N] [--port P] [--tungstenite] [--lifetime SECS]");
                std::process::exit(0);
            }
            other => die(&format!("unknown argument `{other}`")),
        }
    }
    o
}

fn num(s: &str) -> u64 {
    s.replace('_', "")
        .parse()
        .unwrap_or_else(|_| die(&format!("not a number: `{s}`")))
}

fn die(msg: &str) -> ! {
    eprintln!("flood: {msg}");
    std::process::exit(2)
}

/// One server-to-client text frame: FIN + text opcode, unmasked.
fn encode_frame(out: &mut Vec<u8>, payload: &[u8]) {
    encode_frame_with(out, 0x81, payload);
}

/// One message deflated on its own, its tail cut off (RFC 7692 §7.2.1).
fn deflate(text: &str) -> Vec<u8> {
    let mut c = flate2::Compress::new(flate2::Compression::default(), false);
    let mut out = Vec::with_capacity(text.len() + 64);
    c.compress_vec(text.as_bytes(), &mut out, flate2::FlushCompress::Sync)
        .expect("deflate a trade");
    out.truncate(out.len() - 4);
    out
}

fn encode_frame_with(out: &mut Vec<u8>, first: u8, payload: &[u8]) {
    out.push(first);
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n < 65536 => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
}

struct Pool {
    texts: Vec<String>,
    /// All POOL frames back to back.
    frames: Vec<u8>,
    /// `ends[i]`: the offset just past frame i.
    ends: Vec<usize>,
    /// The same messages compressed (FIN + RSV1 + text), and their ends.
    deflated: Vec<u8>,
    deflated_ends: Vec<usize>,
}

fn pool() -> Pool {
    let texts: Vec<String> = (0..POOL).map(trade).collect();
    let mut frames = Vec::new();
    let mut ends = Vec::with_capacity(POOL);
    let mut deflated = Vec::new();
    let mut deflated_ends = Vec::with_capacity(POOL);
    for t in &texts {
        encode_frame(&mut frames, t.as_bytes());
        ends.push(frames.len());
        encode_frame_with(&mut deflated, 0xc1, &deflate(t));
        deflated_ends.push(deflated.len());
    }
    Pool {
        texts,
        frames,
        ends,
        deflated,
        deflated_ends,
    }
}

fn main() {
    let opts = parse_args();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(serve(opts));
}

async fn serve(opts: Opts) {
    let listener = TcpListener::bind(("127.0.0.1", opts.port))
        .await
        .unwrap_or_else(|e| die(&format!("cannot listen: {e}")));
    let port = listener.local_addr().expect("local addr").port();
    let pool: &'static Pool = Box::leak(Box::new(pool()));
    let sizes: usize = pool.texts.iter().map(String::len).sum();
    eprintln!(
        "flood: 127.0.0.1:{port}, {} messages per client, {:.1} bytes each on average (pool of {POOL}), {}",
        opts.count,
        sizes as f64 / POOL as f64,
        if opts.tungstenite { "sent through tokio-tungstenite's sink" } else { "pre-encoded frames" }
    );
    println!("{port}");
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    let count = opts.count;
    let tungstenite = opts.tungstenite;
    let accept = async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                if let Err(e) = client(stream, pool, count, tungstenite).await {
                    eprintln!("flood: client: {e}");
                }
            });
        }
    };
    // Bounded in time: the server stops by itself.
    let _ = tokio::time::timeout(Duration::from_secs(opts.lifetime), accept).await;
    eprintln!("flood: lifetime over, exiting");
}

// tungstenite's handshake callback returns its large `ErrorResponse` by value.
#[allow(clippy::result_large_err)]
async fn client(
    stream: TcpStream,
    pool: &'static Pool,
    default_count: u64,
    tungstenite: bool,
) -> Result<(), String> {
    let mut path = String::new();
    let mut agreed = false;
    let mut ws = tokio_tungstenite::accept_hdr_async(stream, |req: &Request, mut resp: Response| {
        path = req.uri().path().to_string();
        let offered = req
            .headers()
            .get("sec-websocket-extensions")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("permessage-deflate"));
        if path.starts_with("/deflate") && offered {
            agreed = true;
            resp.headers_mut().insert(
                "sec-websocket-extensions",
                "permessage-deflate; server_no_context_takeover"
                    .parse()
                    .expect("a header value"),
            );
        }
        Ok(resp)
    })
    .await
    .map_err(|e| format!("handshake: {e}"))?;

    if path == "/echo" {
        while let Some(msg) = ws.next().await {
            match msg.map_err(|e| e.to_string())? {
                m @ (Message::Text(_) | Message::Binary(_)) => {
                    ws.send(m).await.map_err(|e| e.to_string())?
                }
                Message::Close(_) => break,
                _ => {}
            }
        }
        return Ok(());
    }

    let (frames, ends) = if agreed {
        (&pool.deflated, &pool.deflated_ends)
    } else {
        (&pool.frames, &pool.ends)
    };
    let count = match path
        .strip_prefix("/flood/")
        .or_else(|| path.strip_prefix("/deflate/"))
    {
        Some(n) => n
            .replace('_', "")
            .parse()
            .map_err(|_| format!("bad count in path `{path}`"))?,
        None => default_count,
    };
    if tungstenite {
        for i in 0..count {
            let text = pool.texts[(i % POOL as u64) as usize].as_str();
            ws.feed(Message::text(text))
                .await
                .map_err(|e| e.to_string())?;
        }
        ws.flush().await.map_err(|e| e.to_string())?;
    } else {
        let sock = ws.get_mut();
        let full = count / POOL as u64;
        let rest = (count % POOL as u64) as usize;
        for _ in 0..full {
            if sock.write_all(frames).await.is_err() {
                return Ok(()); // the client left early: fine
            }
        }
        if rest > 0
            && sock
                .write_all(&frames[..ends[rest - 1]])
                .await
                .is_err()
        {
            return Ok(());
        }
    }
    // Close, then wait (bounded) for the client's close or EOF.
    let _ = ws.close(None).await;
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
    Ok(())
}
