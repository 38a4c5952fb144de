//! Messages between Python and a socket: what the server sent as Python data (dict/list for
//! JSON, `str` for other text, `bytes` for binary), and Python arguments as frames and headers.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
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
pub fn frames(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<Message>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Vec::new());
    };
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        obj.try_iter()?.map(|o| frame(&o?)).collect()
    } else {
        Ok(vec![frame(obj)?])
    }
}

/// The `headers=` argument: a dict or a list of (name, value) pairs.
pub fn headers(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<(String, String)>> {
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
