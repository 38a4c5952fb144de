//! `stream(url)`: a live WebSocket read into Python, with backpressure. A background task reads
//! the socket into a bounded channel; Python takes messages in batches (`for` or `async for`).

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::exceptions::{PyStopAsyncIteration, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::{Bytes, Message, Utf8Bytes};

use super::convert::{dumps, duration_arg, JVal};
use super::errors::{connection_failed, StreamTimeout};
use super::runtime::{asyncio_runtime, block_interruptibly, runtime};
use crate::runner::conn::{Conn, ConnectSpec, Incoming, Recorder, RecvError};

/// How many messages may wait between the socket and Python: beyond this the reader stops
/// reading, and TCP pushes back on the server.
const STREAM_CAPACITY: usize = 1024;
/// How many waiting messages one trip across the GIL boundary takes.
const STREAM_BATCH: usize = 256;

enum Item {
    Json(JVal),
    Text(Utf8Bytes),
    Binary(Bytes),
    /// The end: `None` for a clean close, else what went wrong.
    End(Option<String>),
}

fn to_item(m: Incoming) -> Item {
    match m {
        Incoming::Text(t) => {
            let s = t.as_str().trim_start();
            if s.starts_with('{') || s.starts_with('[') {
                if let Ok(v) = serde_json::from_str::<JVal>(t.as_str()) {
                    return Item::Json(v);
                }
            }
            Item::Text(t)
        }
        Incoming::Binary(b) => Item::Binary(b),
        // Streams are raw connections; a JSON value always reads back as `JVal`.
        Incoming::Envelope(v) => Item::Json(serde_json::from_value(v).unwrap_or(JVal::Null)),
    }
}

#[derive(Default)]
struct StreamState {
    buf: VecDeque<Item>,
    delivered: u64,
    finished: bool,
}

struct StreamShared {
    rx: tokio::sync::Mutex<mpsc::Receiver<Item>>,
    state: Mutex<StreamState>,
}

enum FillError {
    Timeout(Duration),
}

impl FillError {
    fn into_pyerr(self) -> PyErr {
        match self {
            FillError::Timeout(t) => StreamTimeout::new_err(format!(
                "no message within {}",
                crate::duration::format_duration(t)
            )),
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
    let mut rx = shared.rx.lock().await;
    {
        let state = shared.state.lock().unwrap_or_else(|p| p.into_inner());
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
    let mut batch = Vec::with_capacity(max.min(STREAM_BATCH));
    match first {
        // The reader is gone without saying why (aborted): a plain end.
        None => batch.push(Item::End(None)),
        Some(item) => {
            let mut end = matches!(item, Item::End(_));
            batch.push(item);
            while !end && batch.len() < max {
                match rx.try_recv() {
                    Ok(item) => {
                        end = matches!(item, Item::End(_));
                        batch.push(item);
                    }
                    Err(_) => break,
                }
            }
        }
    }
    let mut state = shared.state.lock().unwrap_or_else(|p| p.into_inner());
    state.buf.extend(batch);
    Ok(())
}

/// Reads the socket into the channel until it closes, the consumer goes away, or `close`.
async fn pump(
    mut conn: Conn,
    mut rec: Recorder,
    tx: mpsc::Sender<Item>,
    mut close_rx: oneshot::Receiver<()>,
) {
    let far = || tokio::time::Instant::now() + Duration::from_secs(365 * 24 * 3600);
    loop {
        // The transcript is not needed here; keep the recorder from holding frames.
        rec.transcript = Default::default();
        tokio::select! {
            biased;
            _ = &mut close_rx => break,
            r = conn.recv(far(), &mut rec) => match r {
                Ok(m) => {
                    let item = to_item(m);
                    tokio::select! {
                        biased;
                        _ = &mut close_rx => break,
                        sent = tx.send(item) => if sent.is_err() { break },
                    }
                }
                Err(RecvError::Timeout) => continue,
                Err(RecvError::Closed(c)) => {
                    let why = (!c.clean).then(|| c.describe());
                    let _ = tx.send(Item::End(why)).await;
                    return;
                }
            }
        }
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
        let item = {
            let mut state = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
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
                Some(Item::End(why)) => {
                    state.finished = true;
                    state.buf.clear();
                    drop(state);
                    self.shutdown();
                    return match why {
                        None => Ok(Popped::Done),
                        Some(why) => Err(connection_failed(py, format!("{}: {why}", self.url))),
                    };
                }
                Some(item) => {
                    state.delivered += 1;
                    item
                }
            }
        };
        Ok(Popped::Item(match &item {
            Item::Json(v) => v.to_py(py)?,
            Item::Text(t) => PyString::new(py, t.as_str()).into_any(),
            Item::Binary(b) => PyBytes::new(py, b).into_any(),
            Item::End(_) => unreachable!("handled above"),
        }))
    }

    fn delivered(&self) -> u64 {
        self.shared
            .state
            .lock()
            .map(|s| s.delivered)
            .unwrap_or_default()
    }

    /// Tells the reader to close the connection politely and stop.
    fn shutdown(&self) {
        if let Some(tx) = self.close_tx.lock().ok().and_then(|mut g| g.take()) {
            let _ = tx.send(());
        }
    }
}

fn send_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<Message>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Vec::new());
    };
    let one = |o: &Bound<'_, PyAny>| -> PyResult<Message> {
        if let Ok(s) = o.cast::<PyString>() {
            return Ok(Message::text(s.to_cow()?.into_owned()));
        }
        if let Ok(b) = o.cast::<PyBytes>() {
            return Ok(Message::binary(b.as_bytes().to_vec()));
        }
        Ok(Message::text(dumps(o)?))
    };
    // A list of messages, or one message (a dict, a str, bytes).
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        obj.try_iter()?.map(|o| one(&o?)).collect()
    } else {
        Ok(vec![one(obj)?])
    }
}

fn headers_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<(String, String)>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Vec::new());
    };
    if let Ok(d) = obj.cast::<PyDict>() {
        return d
            .iter()
            .map(|(k, v)| Ok((k.str()?.extract()?, v.str()?.extract()?)))
            .collect();
    }
    obj.extract::<Vec<(String, String)>>()
        .map_err(|_| PyTypeError::new_err("`headers` is a dict or a list of (name, value) pairs"))
}

#[pymethods]
impl PyStream {
    #[new]
    #[pyo3(signature = (url, *, send=None, headers=None, subprotocols=None, limit=None,
        timeout=None, connect_timeout=None, insecure=false, max_message_size=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        url: String,
        send: Option<&Bound<'_, PyAny>>,
        headers: Option<&Bound<'_, PyAny>>,
        subprotocols: Option<Vec<String>>,
        limit: Option<u64>,
        timeout: Option<&Bound<'_, PyAny>>,
        connect_timeout: Option<&Bound<'_, PyAny>>,
        insecure: bool,
        max_message_size: Option<usize>,
    ) -> PyResult<Self> {
        let timeout = duration_arg(timeout)?;
        let tls = crate::runner::tls::client_config(None, insecure, Path::new("."))
            .map_err(|e| connection_failed(py, e))?;
        let spec = ConnectSpec {
            name: "stream".into(),
            url: url.clone(),
            headers: headers_arg(headers)?,
            subprotocols: subprotocols.unwrap_or_default(),
            tls,
            connect_timeout: duration_arg(connect_timeout)?
                .or(timeout)
                .unwrap_or(Duration::from_secs(10)),
            max_message_size: max_message_size
                .unwrap_or(crate::collection::DEFAULT_MAX_MESSAGE_SIZE),
        };
        let messages = send_arg(send)?;
        let opened = block_interruptibly(py, async move {
            let mut rec = Recorder::new();
            let mut conn = Conn::open(&spec).await?;
            for m in messages {
                conn.send(m, &mut rec).await?;
            }
            Ok::<_, String>((conn, rec))
        })?;
        let (conn, rec) = opened.map_err(|e| connection_failed(py, e))?;
        let (tx, rx) = mpsc::channel(STREAM_CAPACITY);
        let (close_tx, close_rx) = oneshot::channel();
        runtime().spawn(pump(conn, rec, tx, close_rx));
        Ok(PyStream {
            url,
            shared: Arc::new(StreamShared {
                rx: tokio::sync::Mutex::new(rx),
                state: Mutex::new(StreamState::default()),
            }),
            limit,
            timeout,
            close_tx: Mutex::new(Some(close_tx)),
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

    /// Closes the connection; iteration ends.
    fn close(&self) {
        {
            let mut state = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
            state.finished = true;
            state.buf.clear();
        }
        self.shutdown();
    }

    /// Whether the stream has ended (closed, limit reached, or the server closed).
    #[getter]
    fn closed(&self) -> bool {
        self.shared.state.lock().map(|s| s.finished).unwrap_or(true)
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
