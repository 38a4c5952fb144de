//! `stream(url)`: a live WebSocket read into Python, with backpressure. A background task
//! connects, then reads the socket into a bounded channel and sends what `send()` queues;
//! Python takes messages in batches (`for` or `async for`). Connecting never blocks an event
//! loop: `async with`/`async for` await it, the blocking calls wait for it with the GIL released.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use pyo3::exceptions::PyStopAsyncIteration;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::convert::{duration_arg, KeyCache};
use super::errors::{collection_error, connection_failed, StreamTimeout};
use super::message::{self, Item, PyMessage};
use super::runtime::{asyncio_runtime, block_interruptibly, runtime};
use crate::collection::{Collection, ProtocolName};
use crate::options::RunOptions;
use crate::runner::conn::{Conn, Recorder, RecvError};
use crate::runner::session::Session;

/// How many messages may wait between the socket and Python: beyond this the reader stops
/// reading, and TCP pushes back on the server. The channel holds batches (`READ_BATCH` at the
/// most), so its capacity is this divided by that: a channel of 1,024 batches let 65,536
/// messages wait, 64 MB of a compressed stream of 1 KB messages (whose frames arrive many to a
/// read, so batches are full).
const STREAM_CAPACITY: usize = 1024;
/// How many waiting messages one trip across the GIL boundary takes.
const STREAM_BATCH: usize = 256;
/// The reader hands messages over in batches of those already read, up to this many: one wake-up
/// of the Python thread per batch instead of one per message on a firehose, and no wait for a
/// batch to fill on a slow stream (measured: handing over one by one left both threads waiting
/// for each other, at 0.5M messages/s).
const READ_BATCH: usize = 64;

/// A received message and when it arrived (read off the socket, or into the connection's inbox
/// during the handshake).
struct Timed {
    item: Item,
    at: Instant,
}

impl Timed {
    fn now(item: Item) -> Timed {
        Timed {
            item,
            at: Instant::now(),
        }
    }
}

/// What `send()` queues: a frame as it is, or (on a protocol's connection) a JSON message the
/// protocol wraps in its envelope.
enum Out {
    Frame(Message),
    Json(Value),
}

impl Out {
    async fn send(self, conn: &mut Conn, rec: &mut Recorder) -> Result<(), String> {
        match self {
            Out::Frame(m) => conn.send(m, rec).await,
            Out::Json(v) => conn.send_json(v, rec).await,
        }
    }
}

#[derive(Default)]
struct StreamState {
    buf: VecDeque<Timed>,
    delivered: u64,
    finished: bool,
    /// The close code the server sent, once it closed.
    close_code: Option<u16>,
}

/// Whether the connection opened: the reader's answer, once it came.
enum Opening {
    Pending(oneshot::Receiver<Result<(), String>>),
    Done(Result<(), String>),
}

struct StreamShared {
    rx: tokio::sync::Mutex<mpsc::Receiver<Vec<Timed>>>,
    state: Mutex<StreamState>,
    opening: tokio::sync::Mutex<Opening>,
}

impl StreamShared {
    fn state(&self) -> std::sync::MutexGuard<'_, StreamState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Waits until the connection is open (or could not open).
async fn wait_open(shared: &StreamShared) -> Result<(), String> {
    let mut opening = shared.opening.lock().await;
    if let Opening::Pending(rx) = &mut *opening {
        let result = rx
            .await
            .unwrap_or_else(|_| Err("the stream was closed before it connected".into()));
        *opening = Opening::Done(result);
    }
    let result = match &*opening {
        Opening::Done(r) => r.clone(),
        Opening::Pending(_) => Ok(()),
    };
    if result.is_err() {
        shared.state().finished = true;
    }
    result
}

enum FillError {
    Timeout(Duration),
    Connect(String),
}

impl FillError {
    fn into_pyerr(self) -> PyErr {
        match self {
            FillError::Timeout(t) => StreamTimeout::new_err(format!(
                "no message within {}",
                crate::duration::format_duration(t)
            )),
            FillError::Connect(e) => Python::attach(|py| connection_failed(py, e)),
        }
    }
}

/// Waits for at least one message (or the end) and moves up to `max` waiting ones into the
/// buffer.
async fn fill(
    shared: Arc<StreamShared>,
    timeout: Option<Duration>,
    max: usize,
) -> Result<(), FillError> {
    wait_open(&shared).await.map_err(FillError::Connect)?;
    let mut rx = shared.rx.lock().await;
    {
        let state = shared.state();
        if !state.buf.is_empty() || state.finished {
            return Ok(());
        }
    }
    let first = match timeout {
        Some(t) => tokio::time::timeout(t, rx.recv())
            .await
            .map_err(|_| FillError::Timeout(t))?,
        None => rx.recv().await,
    };
    let mut state = shared.state();
    match first {
        // The reader is gone without saying why (aborted): a plain end.
        None => state.buf.push_back(Timed::now(Item::End(None))),
        Some(batch) => {
            let mut end = batch.iter().any(|t| matches!(t.item, Item::End(_)));
            state.buf.extend(batch);
            while !end && state.buf.len() < max {
                match rx.try_recv() {
                    Ok(batch) => {
                        end = batch.iter().any(|t| matches!(t.item, Item::End(_)));
                        state.buf.extend(batch);
                    }
                    Err(_) => break,
                }
            }
        }
    }
    Ok(())
}

/// What the reader works with: the channel to Python, the messages `send()` queues, the signal
/// of `close()`, and where it reports the connection opening and the server's close code.
struct Pipes {
    tx: mpsc::Sender<Vec<Timed>>,
    outgoing: mpsc::UnboundedReceiver<Out>,
    close_rx: oneshot::Receiver<()>,
    shared: Arc<StreamShared>,
}

/// What the reader does next.
enum Event<'a> {
    /// Send what `send()` queued.
    Send(Out),
    /// A read from the socket.
    Read(Result<crate::runner::conn::Incoming, RecvError>),
    /// Hand the batch read so far to Python (room in the channel, or the consumer is gone).
    Hand(Result<mpsc::Permit<'a, Vec<Timed>>, mpsc::error::SendError<()>>),
}

/// Connects (the protocol's handshake included), sends `initial`, then reads the socket into
/// the channel (and sends what `send()` queues) until the server closes, the consumer goes
/// away, or `close`.
async fn pump(
    collection: Collection,
    initial: Vec<Out>,
    opened: oneshot::Sender<Result<(), String>>,
    mut p: Pipes,
) {
    // A stream has no report: the recorder keeps nothing.
    let mut rec = Recorder::off();
    let connecting = async {
        // The session opens the connection as a run would (TLS, proxy, protocol handshake),
        // then hands it over: its transcript of the handshake is dropped with it.
        let session = Session::open(collection, RunOptions::default())
            .await
            .map_err(|f| f.summary)?;
        let mut conn = session
            .into_conn()
            .ok_or_else(|| String::from("the connection did not open"))?;
        for m in initial {
            m.send(&mut conn, &mut rec).await?;
        }
        Ok::<_, String>(conn)
    };
    let mut conn = tokio::select! {
        biased;
        _ = &mut p.close_rx => return,
        result = connecting => match result {
            Ok(conn) => conn,
            Err(e) => {
                let _ = opened.send(Err(e));
                return;
            }
        },
    };
    let _ = opened.send(Ok(()));
    // No deadline: one far away, the same for every read (the connection's timer is set once).
    let far = tokio::time::Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600);
    // Messages read and not yet handed over: those the socket has ready, up to `READ_BATCH`.
    let mut batch: Vec<Timed> = Vec::with_capacity(READ_BATCH);
    loop {
        let event = tokio::select! {
            biased;
            _ = &mut p.close_rx => break,
            Some(m) = p.outgoing.recv() => Event::Send(m),
            r = conn.recv(far, &mut rec), if batch.len() < READ_BATCH => Event::Read(r),
            permit = p.tx.reserve(), if !batch.is_empty() => Event::Hand(permit),
        };
        let item = match event {
            Event::Hand(Ok(permit)) => {
                permit.send(std::mem::replace(
                    &mut batch,
                    Vec::with_capacity(READ_BATCH),
                ));
                continue;
            }
            // The consumer is gone.
            Event::Hand(Err(_)) => return,
            Event::Send(out) => match out.send(&mut conn, &mut rec).await {
                Ok(()) => continue,
                Err(e) => Item::End(Some(e)),
            },
            Event::Read(Ok(m)) => {
                // A message that waited in the inbox (read during the handshake) keeps its time.
                let at = conn.arrived().unwrap_or_else(Instant::now);
                batch.push(Timed {
                    item: Item::from_incoming(m),
                    at,
                });
                continue;
            }
            Event::Read(Err(RecvError::Timeout)) => continue,
            Event::Read(Err(RecvError::Closed(c))) => {
                p.shared.state().close_code = c.code;
                Item::End((!c.clean).then(|| c.describe()))
            }
        };
        batch.push(Timed::now(item));
        tokio::select! {
            biased;
            _ = &mut p.close_rx => {}
            _ = p.tx.send(batch) => {}
        }
        return;
    }
    conn.shutdown(&mut rec).await;
}

/// A live WebSocket read into Python: `for msg in stream` / `async for msg in stream`.
#[pyclass(subclass, module = "wsrun._wsrun", name = "_Stream")]
pub struct PyStream {
    url: String,
    shared: Arc<StreamShared>,
    limit: Option<u64>,
    timeout: Option<Duration>,
    close_tx: Mutex<Option<oneshot::Sender<()>>>,
    outgoing: mpsc::UnboundedSender<Out>,
    /// Whether `send()` hands dicts and lists to the protocol (anything but `raw`).
    enveloped: bool,
    /// Dict keys made so far (the messages of a stream repeat theirs).
    keys: Mutex<KeyCache>,
    /// Messages come as `Message` objects with their arrival times.
    timed: bool,
    /// When `stream()` was called, on the monotonic clock and the wall clock: a message's
    /// wall-clock time is the second plus its monotonic distance from the first.
    started: (Instant, SystemTime),
}

/// What `_pop` found.
enum Popped<'py> {
    Item(Bound<'py, PyAny>),
    Empty,
    Done,
}

impl PyStream {
    fn batch_size(&self, delivered: u64) -> usize {
        match self.limit {
            Some(l) => (l.saturating_sub(delivered) as usize).clamp(1, STREAM_BATCH),
            None => STREAM_BATCH,
        }
    }

    fn pop<'py>(&self, py: Python<'py>) -> PyResult<Popped<'py>> {
        let timed = {
            let mut state = self.shared.state();
            if state.finished {
                return Ok(Popped::Done);
            }
            if self.limit.is_some_and(|l| state.delivered >= l) {
                state.finished = true;
                drop(state);
                self.shutdown();
                return Ok(Popped::Done);
            }
            match state.buf.pop_front() {
                None => return Ok(Popped::Empty),
                Some(Timed {
                    item: Item::End(why),
                    ..
                }) => {
                    state.finished = true;
                    state.buf.clear();
                    drop(state);
                    self.shutdown();
                    return match why {
                        None => Ok(Popped::Done),
                        Some(why) => Err(connection_failed(py, format!("{}: {why}", self.url))),
                    };
                }
                Some(timed) => {
                    state.delivered += 1;
                    timed
                }
            }
        };
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        let data = timed.item.to_py(py, &mut keys)?;
        if !self.timed {
            return Ok(Popped::Item(data));
        }
        let elapsed = timed.at.saturating_duration_since(self.started.0);
        let wall = (self.started.1 + elapsed)
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let message = PyMessage::new(data, wall.as_secs_f64(), elapsed.as_secs_f64());
        Ok(Popped::Item(Bound::new(py, message)?.into_any()))
    }

    /// One message to send: dicts and lists through the protocol's envelope when the
    /// connection speaks one, else the frame `message::frame` makes.
    fn out(&self, o: &Bound<'_, PyAny>) -> PyResult<Out> {
        if self.enveloped && !o.is_instance_of::<PyString>() && !o.is_instance_of::<PyBytes>() {
            return Ok(Out::Json(super::convert::py_to_json(o)?));
        }
        Ok(Out::Frame(message::frame(o)?))
    }

    fn delivered(&self) -> u64 {
        self.shared.state().delivered
    }

    /// Tells the reader to close the connection politely and stop.
    fn shutdown(&self) {
        if let Some(tx) = self.close_tx.lock().ok().and_then(|mut g| g.take()) {
            let _ = tx.send(());
        }
    }
}

#[pymethods]
impl PyStream {
    /// Starts connecting in the background; `_wait_open` / `_open_async` wait for it.
    /// `collection`: JSON text of a collection with one request (the connection: URL, headers,
    /// TLS, proxy, protocol) and no steps, as `connect()` builds it.
    #[new]
    #[pyo3(signature = (collection, url, *, send=None, limit=None, timeout=None, timed=false))]
    fn new(
        py: Python<'_>,
        collection: &str,
        url: String,
        send: Option<&Bound<'_, PyAny>>,
        limit: Option<u64>,
        timeout: Option<&Bound<'_, PyAny>>,
        timed: bool,
    ) -> PyResult<Self> {
        let started = (Instant::now(), SystemTime::now());
        let timeout = duration_arg(timeout)?;
        let collection = Collection::parse(collection, Path::new("stream"))
            .map_err(|e| collection_error(py, &e))?;
        let enveloped = collection.requests[0].connections[0].protocol.name() != ProtocolName::Raw;
        let (tx, rx) = mpsc::channel(STREAM_CAPACITY / READ_BATCH);
        let (close_tx, close_rx) = oneshot::channel();
        let (opened_tx, opened_rx) = oneshot::channel();
        let (outgoing, outgoing_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(StreamShared {
            rx: tokio::sync::Mutex::new(rx),
            state: Mutex::new(StreamState::default()),
            opening: tokio::sync::Mutex::new(Opening::Pending(opened_rx)),
        });
        let stream = PyStream {
            url,
            shared: shared.clone(),
            limit,
            timeout,
            close_tx: Mutex::new(Some(close_tx)),
            outgoing,
            enveloped,
            keys: Mutex::new(KeyCache::new()),
            timed,
            started,
        };
        let initial = message::messages(send)?
            .iter()
            .map(|m| stream.out(m))
            .collect::<PyResult<Vec<_>>>()?;
        let pipes = Pipes {
            tx,
            outgoing: outgoing_rx,
            close_rx,
            shared,
        };
        runtime().spawn(pump(collection, initial, opened_tx, pipes));
        Ok(stream)
    }

    /// Waits (GIL released, Ctrl-C stops it) until the connection is open; raises
    /// `ConnectionFailed` when it cannot open.
    fn _wait_open(&self, py: Python<'_>) -> PyResult<()> {
        let shared = self.shared.clone();
        block_interruptibly(py, async move { wait_open(&shared).await })?
            .map_err(|e| connection_failed(py, e))
    }

    /// `_wait_open` as an awaitable, for `async with`.
    fn _open_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let shared = self.shared.clone();
        asyncio_runtime();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            wait_open(&shared)
                .await
                .map_err(|e| Python::attach(|py| connection_failed(py, e)))
        })
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        loop {
            match self.pop(py)? {
                Popped::Item(o) => return Ok(Some(o)),
                Popped::Done => return Ok(None),
                Popped::Empty => {}
            }
            let max = self.batch_size(self.delivered());
            let shared = self.shared.clone();
            block_interruptibly(py, fill(shared, self.timeout, max))?
                .map_err(FillError::into_pyerr)?;
        }
    }

    /// The next buffered message, `empty` when none is buffered; raises `StopAsyncIteration` at
    /// the end. (For `__anext__`, in Python.)
    fn _pop<'py>(&self, py: Python<'py>, empty: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        match self.pop(py)? {
            Popped::Item(o) => Ok(o),
            Popped::Empty => Ok(empty),
            Popped::Done => Err(PyStopAsyncIteration::new_err(())),
        }
    }

    /// An awaitable that waits for messages (or the end) without blocking the event loop.
    fn _fill_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let max = self.batch_size(self.delivered());
        let shared = self.shared.clone();
        let timeout = self.timeout;
        asyncio_runtime();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            fill(shared, timeout, max)
                .await
                .map_err(FillError::into_pyerr)
        })
    }

    /// Queues a message to send (a dict/list as JSON, `str` as text, `bytes` as binary); it goes
    /// out in order, after the connection opens. Never blocks.
    fn send(&self, py: Python<'_>, message: &Bound<'_, PyAny>) -> PyResult<()> {
        let out = self.out(message)?;
        if self.shared.state().finished || self.outgoing.send(out).is_err() {
            return Err(connection_failed(
                py,
                format!("{}: cannot send: the stream has ended", self.url),
            ));
        }
        Ok(())
    }

    /// Closes the connection; iteration ends.
    fn close(&self) {
        {
            let mut state = self.shared.state();
            state.finished = true;
            state.buf.clear();
        }
        self.shutdown();
    }

    /// Whether the stream has ended (closed, limit reached, or the server closed).
    #[getter]
    fn closed(&self) -> bool {
        self.shared.state().finished
    }

    /// The close code the server sent, once it closed the connection (None before, or when it
    /// closed without a code or dropped the connection).
    #[getter]
    fn close_code(&self) -> Option<u16> {
        self.shared.state().close_code
    }

    /// Messages handed to Python so far.
    #[getter]
    fn count(&self) -> u64 {
        self.delivered()
    }

    #[getter]
    fn url(&self) -> &str {
        &self.url
    }

    fn __repr__(&self) -> String {
        format!(
            "<wsrun.Stream {} ({} messages{})>",
            self.url,
            self.delivered(),
            if self.closed() { ", closed" } else { "" }
        )
    }
}

impl Drop for PyStream {
    fn drop(&mut self) {
        // Garbage collected: the reader closes the connection and ends.
        self.shutdown();
    }
}
