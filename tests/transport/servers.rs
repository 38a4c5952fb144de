//! Small hand-written servers for the transport tests: one that tells the others when a
//! client's TCP connection ends, and raw ones that answer the handshake and send frames as
//! given (compressed, corrupt, or agreeing on what was never offered).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::OnceLock;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;

fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("build the transport test runtime")
    })
}

/// Serves `handler` on every connection to a loopback port until the process ends.
fn serve<F, Fut>(handler: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener
        .set_nonblocking(true)
        .expect("non-blocking listener");
    let addr = listener.local_addr().expect("the bound address");
    runtime().spawn(async move {
        let listener = TcpListener::from_std(listener).expect("register the listener");
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(handler(tcp));
        }
    });
    addr
}

/// Tells every client `left` when another client's TCP connection ends. After a client's
/// close frame it answers the close and then waits for the client to end the TCP connection,
/// as RFC 6455 lets a server do: a client that keeps its socket open never "leaves".
pub fn presence() -> SocketAddr {
    let (tx, _) = broadcast::channel::<()>(16);
    serve(move |tcp| {
        let tx = tx.clone();
        async move {
            let mut left = tx.subscribe();
            let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                return;
            };
            loop {
                tokio::select! {
                    next = ws.next() => match next {
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                        Some(Ok(_)) => {}
                    },
                    Ok(()) = left.recv() => {
                        if ws.send(Message::text("left")).await.is_err() {
                            break;
                        }
                    }
                }
            }
            let _ = ws.flush().await;
            // The close answered, the TCP connection ends when the client ends it.
            let mut rest = [0u8; 64];
            while let Ok(n) = ws.get_mut().read(&mut rest).await {
                if n == 0 {
                    break;
                }
            }
            let _ = tx.send(());
        }
    })
}

/// Reads the client's handshake request (up to the blank line) and returns it.
async fn read_request(tcp: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if tcp.read(&mut byte).await.ok()? == 0 || head.len() > 16 << 10 {
            return None;
        }
        head.push(byte[0]);
    }
    String::from_utf8(head).ok()
}

/// Answers the handshake with `extensions` as its `Sec-WebSocket-Extensions` header (none when
/// empty), sends `frames` (whole frames, bytes as given), then waits for the client to leave.
/// The request it got is sent on `seen`.
pub fn raw(
    extensions: &'static str,
    frames: Vec<Vec<u8>>,
    seen: Option<std::sync::mpsc::Sender<String>>,
) -> SocketAddr {
    serve(move |mut tcp| {
        let frames = frames.clone();
        let seen = seen.clone();
        async move {
            let Some(request) = read_request(&mut tcp).await else {
                return;
            };
            let key = request
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("sec-websocket-key")
                        .then(|| value.trim().to_string())
                })
                .unwrap_or_default();
            if let Some(seen) = seen {
                let _ = seen.send(request);
            }
            let accept =
                tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
            let mut response = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
            );
            if !extensions.is_empty() {
                response.push_str(&format!("Sec-WebSocket-Extensions: {extensions}\r\n"));
            }
            response.push_str("\r\n");
            if tcp.write_all(response.as_bytes()).await.is_err() {
                return;
            }
            for frame in frames {
                if tcp.write_all(&frame).await.is_err() {
                    return;
                }
            }
            let mut rest = [0u8; 1024];
            while let Ok(n) = tcp.read(&mut rest).await {
                if n == 0 {
                    break;
                }
            }
        }
    })
}

/// An unmasked server frame: `first` is FIN, the reserved bits and the opcode.
pub fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    match payload.len() {
        n if n <= 125 => out.push(n as u8),
        n if n <= 0xffff => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}
