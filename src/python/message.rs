//! Messages between Python and a socket: what the server sent as Python data (dict/list for
//! JSON, `str` for other text, `bytes` for binary), with its arrival time when asked, and Python
//! arguments as frames.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use tokio_tungstenite::tungstenite::{Bytes, Message, Utf8Bytes};

use super::convert::{dumps, KeyCache, Packed};
use crate::runner::conn::Incoming;

/// A received message, parsed off the GIL.
pub enum Item {
    Json(Packed),
    Text(Utf8Bytes),
    Binary(Bytes),
    /// The end: `None` for a clean close, else what went wrong.
    End(Option<String>),
}

impl Item {
    /// JSON text parsed (keeping key order), other text and binary as they are.
    pub fn from_incoming(m: Incoming) -> Item {
        match m {
            Incoming::Text(t) => {
                let s = t.as_str().trim_start();
                if s.starts_with('{') || s.starts_with('[') {
                    if let Ok(v) = Packed::parse(t.as_str()) {
                        return Item::Json(v);
                    }
                }
                Item::Text(t)
            }
            Incoming::Binary(b) => Item::Binary(b),
            // A protocol's envelope: a JSON value always reads back.
            Incoming::Envelope(v) => match Packed::parse(&v.to_string()) {
                Ok(p) => Item::Json(p),
                Err(_) => Item::Text(v.to_string().into()),
            },
        }
    }

    /// As Python data; `End` is None. `keys` remembers the dict keys made so far.
    pub fn to_py<'py>(&self, py: Python<'py>, keys: &mut KeyCache) -> PyResult<Bound<'py, PyAny>> {
        Ok(match self {
            Item::Json(v) => v.to_py(py, keys)?,
            Item::Text(t) => PyString::new(py, t.as_str()).into_any(),
            Item::Binary(b) => PyBytes::new(py, b).into_any(),
            Item::End(_) => py.None().into_bound(py),
        })
    }
}

/// One message to send: `str` as text, `bytes` as binary, anything else as JSON.
pub fn frame(o: &Bound<'_, PyAny>) -> PyResult<Message> {
    if let Ok(s) = o.cast::<PyString>() {
        return Ok(Message::text(s.to_cow()?.into_owned()));
    }
    if let Ok(b) = o.cast::<PyBytes>() {
        return Ok(Message::binary(b.as_bytes().to_vec()));
    }
    Ok(Message::text(dumps(o)?))
}

/// The `send=` argument: a list of messages, or one message (a dict, a str, bytes).
pub fn messages<'py>(obj: Option<&Bound<'py, PyAny>>) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Vec::new());
    };
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        obj.try_iter()?.collect()
    } else {
        Ok(vec![obj.clone()])
    }
}

/// A streamed message with the time it arrived (`stream(…, timed=True)`): `data` is what a
/// plain stream yields, `received_at` the wall clock in seconds since the epoch (as
/// `time.time()`), `elapsed` the seconds since `stream()` was called.
#[pyclass(frozen, module = "wsrun._wsrun", name = "Message")]
pub struct PyMessage {
    #[pyo3(get)]
    data: Py<PyAny>,
    #[pyo3(get)]
    received_at: f64,
    #[pyo3(get)]
    elapsed: f64,
}

impl PyMessage {
    pub fn new(data: Bound<'_, PyAny>, received_at: f64, elapsed: f64) -> Self {
        PyMessage {
            data: data.unbind(),
            received_at,
            elapsed,
        }
    }
}

#[pymethods]
impl PyMessage {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "<wsrun.Message at +{:.6}s: {}>",
            self.elapsed,
            self.data.bind(py).repr()?
        ))
    }
}
