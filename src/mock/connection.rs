//! One client of a mock: the WebSocket handshake (agreeing to the protocol's subprotocol), a
//! single writer fed through a bounded channel, the reader that answers (echo, rules, the
//! protocol's session), and the replay.

use super::*;
use crate::runner::wire::{Agreed, Deflater, Wire};

/// What the writer of a connection is asked to do.
enum Out {
    Send(Message),
    Close(u16),
}

/// The writer has gone: the connection is closing.
struct Gone;

type Ws = WebSocketStream<Wire<TcpStream>>;

pub(super) async fn accept_loop(
    listener: TcpListener,
    behaviour: Arc<Behaviour>,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => {
                    connections.spawn(serve_connection(tcp, behaviour.clone()));
                }
                // Out of file descriptors or similar: back off instead of spinning.
                Err(_) => sleep(Duration::from_millis(20)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    connections.shutdown().await;
}

fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(BUFFER_SIZE)
        .write_buffer_size(BUFFER_SIZE)
}

/// Serves one client until it leaves or the mock closes it.
async fn serve_connection(tcp: TcpStream, behaviour: Arc<Behaviour>) {
    let _ = tcp.set_nodelay(true);
    if !behaviour.http.is_empty() {
        match timeout(HANDSHAKE_TIMEOUT, super::http::sniff(&tcp)).await {
            Ok(super::http::Sniffed::Upgrade) => {}
            Ok(super::http::Sniffed::Http) => {
                return super::http::serve(tcp, &behaviour.http).await
            }
            Ok(super::http::Sniffed::Gone) | Err(_) => return,
        }
    }
    let speaks = behaviour
        .speaker
        .as_ref()
        .map_or(&[][..], |s| s.subprotocols());
    let mut agreed = None;
    let agree = protocol::Agree {
        speaks,
        listed: &behaviour.subprotocols,
        compression: behaviour.compression,
        agreed: &mut agreed,
    };
    // Through a server-side wire, which inflates the client's compressed messages.
    let wire = Wire::server(tcp, crate::collection::DEFAULT_MAX_MESSAGE_SIZE);
    let handshake = tokio_tungstenite::accept_hdr_async_with_config(wire, agree, Some(ws_config()));
    let Ok(Ok(mut ws)) = timeout(HANDSHAKE_TIMEOUT, handshake).await else {
        return;
    };
    // The handshake's read stopped where the request ended: no frame has been read yet.
    ws.get_mut().agree(agreed.clone());
    let deflater = agreed
        .filter(Agreed::compresses_outgoing)
        .map(|a| Deflater::new(&a));
    let (sink, stream) = ws.split();
    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    let writer = write_loop(
        sink,
        rx,
        behaviour.close_after,
        behaviour.close_code,
        deflater,
    )
    .fuse();
    let mut session = behaviour.speaker.as_ref().map(|s| s.session());
    if let Some(session) = session.as_mut() {
        let mut greeting = Vec::new();
        session.greet(&mut greeting);
        for answer in greeting {
            let _ = tx.try_send(Out::Send(answer.message));
        }
    }
    let inbound = session.as_mut().and_then(|s| s.inbound());
    let forward = forward_loop(inbound, tx.clone());
    let reader = read_loop(stream, tx.clone(), &behaviour, session).fuse();
    let replay = async {
        replay_loop(&behaviour, tx).await;
        std::future::pending::<()>().await
    };
    tokio::pin!(writer, reader, replay, forward);
    tokio::select! {
        // The client closed or vanished.
        _ = &mut reader => {}
        // The mock closed: let the client answer the close frame.
        _ = &mut writer => {
            let _ = timeout(CLOSE_GRACE, &mut reader).await;
        }
        _ = &mut replay => {}
        _ = &mut forward => {}
    }
}

/// Passes frames from elsewhere (`Session::inbound`) to the client; never ends by itself.
async fn forward_loop(inbound: Option<mpsc::UnboundedReceiver<Message>>, tx: mpsc::Sender<Out>) {
    if let Some(mut inbound) = inbound {
        while let Some(message) = inbound.recv().await {
            if send(&tx, Out::Send(message)).await.is_err() {
                break;
            }
        }
    }
    std::future::pending::<()>().await
}

/// The single writer of a connection; counts messages for `close_after`.
async fn write_loop(
    mut sink: SplitSink<Ws, Message>,
    mut rx: mpsc::Receiver<Out>,
    close_after: Option<u64>,
    close_code: u16,
    mut deflater: Option<Deflater>,
) {
    let mut sent = 0u64;
    if close_after == Some(0) {
        return close(&mut sink, close_code).await;
    }
    while let Some(out) = rx.recv().await {
        match out {
            Out::Send(message) => {
                let message = match deflater.as_mut() {
                    Some(d) => d.message(message),
                    None => message,
                };
                if sink.send(message).await.is_err() {
                    return;
                }
                sent += 1;
                if close_after == Some(sent) {
                    return close(&mut sink, close_code).await;
                }
            }
            Out::Close(code) => return close(&mut sink, code).await,
        }
    }
}

async fn close(sink: &mut SplitSink<Ws, Message>, code: u16) {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: "".into(),
    };
    let _ = sink.send(Message::Close(Some(frame))).await;
}

/// Reads the client's messages and answers them (echo, rules) until it closes or vanishes.
/// A protocol error ends only this connection.
async fn read_loop(
    mut stream: SplitStream<Ws>,
    tx: mpsc::Sender<Out>,
    behaviour: &Behaviour,
    mut session: Option<Box<dyn Session + '_>>,
) {
    // Answers sent later (a JSON-RPC method's `delay`); they end with the connection.
    let mut later = JoinSet::new();
    loop {
        let mut answers = Vec::new();
        let next_tick = session.as_ref().and_then(|s| s.next_tick());
        let next = match (next_tick, session.as_mut()) {
            (Some(at), Some(s)) => tokio::select! {
                next = stream.next() => next,
                _ = sleep_until(at) => {
                    s.tick(&mut answers);
                    for answer in answers {
                        let _ = send(&tx, Out::Send(answer.message)).await;
                    }
                    continue;
                }
            },
            _ => stream.next().await,
        };
        let Some(Ok(message)) = next else {
            break;
        };
        if matches!(message, Message::Close(_)) {
            // tungstenite answers a close frame on the next read: read on until the close
            // handshake ends, so that the client gets its answer (its code echoed back).
            let _ = timeout(CLOSE_GRACE, async {
                while let Some(Ok(_)) = stream.next().await {}
            })
            .await;
            break;
        }
        let incoming = match session.as_mut() {
            None => Incoming::new(message),
            Some(s) => {
                let envelope = s.receive(&message, &mut answers);
                envelope.map(|e| Incoming::envelope(message, e))
            }
        };
        if let Some(incoming) = incoming {
            // Once the writer has gone, keep reading so the close handshake can finish.
            let _ = respond(
                &incoming,
                &tx,
                behaviour,
                session.as_deref_mut(),
                &mut answers,
            )
            .await;
        }
        for answer in answers {
            match answer.delay {
                None => {
                    let _ = send(&tx, Out::Send(answer.message)).await;
                }
                Some(delay) => {
                    let tx = tx.clone();
                    later.spawn(async move {
                        sleep(delay).await;
                        let _ = send(&tx, Out::Send(answer.message)).await;
                    });
                }
            }
        }
        while later.try_join_next().is_some() {}
    }
}

/// Echo, then the first rule that holds; with a protocol, the protocol's own answer (in
/// `answers`) when no rule holds.
async fn respond(
    incoming: &Incoming,
    tx: &mpsc::Sender<Out>,
    behaviour: &Behaviour,
    mut session: Option<&mut (dyn Session + '_)>,
    answers: &mut Vec<Answer>,
) -> Result<(), Gone> {
    if behaviour.echo {
        send(tx, Out::Send(incoming.original.clone())).await?;
    }
    let Some(rule) = behaviour.rules.iter().find(|r| r.holds(incoming)) else {
        if let (Some(s), Some(envelope)) = (session, &incoming.json) {
            s.answer(envelope, answers);
        }
        return Ok(());
    };
    let scope = Scope {
        vars: Some(&behaviour.vars),
        message: incoming.scope_value(),
        ..Default::default()
    };
    for reply in &rule.replies {
        if let Some(delay) = reply.delay {
            sleep(delay.0).await;
        }
        let envelope = session
            .as_deref_mut()
            .and_then(|s| envelope(reply, &scope).map(|e| s.encode(e)));
        let messages = envelope.unwrap_or_else(|| render(reply, &scope).into_iter().collect());
        for message in messages {
            send(tx, Out::Send(message)).await?;
        }
    }
    if let Some(code) = rule.close {
        send(tx, Out::Close(code)).await?;
    }
    Ok(())
}

async fn send(tx: &mpsc::Sender<Out>, out: Out) -> Result<(), Gone> {
    tx.send(out).await.map_err(|_| Gone)
}

/// Sends the recording to one client, at the recorded pace or every `interval`, looping if
/// asked; stops when the connection's writer has gone.
async fn replay_loop(behaviour: &Behaviour, tx: mpsc::Sender<Out>) {
    let Some(recording) = behaviour.replay.as_ref().filter(|r| !r.is_empty()) else {
        return;
    };
    let cycle = match behaviour.interval {
        Some(step) => step * recording.len() as u32,
        None => recording.cycle(),
    };
    let mut start = Instant::now();
    loop {
        for (i, entry) in recording.entries.iter().enumerate() {
            let offset = match behaviour.interval {
                Some(step) => step * i as u32,
                None => entry.at,
            };
            let due = start + offset;
            if due > Instant::now() {
                sleep_until(due).await;
            }
            if send(&tx, Out::Send(entry.message.clone())).await.is_err() {
                return;
            }
        }
        if !behaviour.looped {
            return;
        }
        start += cycle;
        tokio::task::yield_now().await;
    }
}
