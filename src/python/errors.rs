//! The exceptions the module raises: `WsrunError` and its subclasses, and how engine errors map
//! onto them.

use pyo3::exceptions::{PyAssertionError, PyConnectionError, PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

use crate::collection::LoadError;

pyo3::create_exception!(
    wsrun,
    WsrunError,
    PyException,
    "Base class of every error wsrun raises."
);
pyo3::create_exception!(
    wsrun,
    CollectionError,
    WsrunError,
    "A collection could not be used: `.path`, `.line`, `.column` (or None) and `.message`."
);
pyo3::create_exception!(
    wsrun,
    StreamTimeout,
    WsrunError,
    "`stream(timeout=…)` passed without a message."
);

/// `ConnectionFailed(WsrunError, ConnectionError)` and `JsonPathError(WsrunError, ValueError)`:
/// `create_exception!` takes one base, these need two, so they are made with `type()`.
static CONNECTION_FAILED: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static JSONPATH_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static ASSERTION_FAILED: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn two_base_exception(
    py: Python<'_>,
    name: &str,
    second: Bound<'_, PyType>,
    doc: &str,
) -> PyResult<Py<PyType>> {
    let bases = PyTuple::new(py, [py.get_type::<WsrunError>(), second])?;
    let dict = PyDict::new(py);
    dict.set_item("__module__", "wsrun")?;
    dict.set_item("__doc__", doc)?;
    let ty = py
        .get_type::<PyType>()
        .call1((name, bases, dict))?
        .cast_into::<PyType>()?;
    Ok(ty.unbind())
}

pub fn connection_failed_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    CONNECTION_FAILED
        .get_or_try_init(py, || {
            two_base_exception(
                py,
                "ConnectionFailed",
                py.get_type::<PyConnectionError>(),
                "A WebSocket connection could not be opened, or was lost.",
            )
        })
        .map(|t| t.bind(py))
}

pub fn jsonpath_error_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    JSONPATH_ERROR
        .get_or_try_init(py, || {
            two_base_exception(
                py,
                "JsonPathError",
                py.get_type::<PyValueError>(),
                "A query that is not valid RFC 9535 JSONPath.",
            )
        })
        .map(|t| t.bind(py))
}

pub fn assertion_failed_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    ASSERTION_FAILED
        .get_or_try_init(py, || {
            two_base_exception(
                py,
                "AssertionFailed",
                py.get_type::<PyAssertionError>(),
                "A step or a run failed: the message is wsrun's failure text, as the CLI prints it.",
            )
        })
        .map(|t| t.bind(py))
}

/// An `AssertionFailed` with wsrun's failure text; `failure` (the JSON report's failure map, or
/// None) becomes its `.failure`.
pub fn assertion_failed(py: Python<'_>, text: String, failure: Option<Bound<'_, PyAny>>) -> PyErr {
    let ty = match assertion_failed_type(py) {
        Ok(ty) => ty.clone(),
        Err(e) => return e,
    };
    let err = PyErr::from_type(ty, text);
    let _ = err.value(py).setattr("failure", failure);
    err
}

/// A `ConnectionFailed` with this message.
pub fn connection_failed(py: Python<'_>, message: String) -> PyErr {
    match connection_failed_type(py) {
        Ok(ty) => PyErr::from_type(ty.clone(), message),
        Err(e) => e,
    }
}

/// A `JsonPathError` with this message.
pub fn jsonpath_error(py: Python<'_>, message: String) -> PyErr {
    match jsonpath_error_type(py) {
        Ok(ty) => PyErr::from_type(ty.clone(), message),
        Err(e) => e,
    }
}

/// A `CollectionError` carrying the load error's location as attributes.
pub fn collection_error(py: Python<'_>, e: &LoadError) -> PyErr {
    let err = CollectionError::new_err(e.to_string());
    let value = err.value(py);
    let _ = value.setattr("path", e.path.display().to_string());
    let _ = value.setattr("line", e.line);
    let _ = value.setattr("column", e.column);
    let _ = value.setattr("message", e.message.as_str());
    let _ = value.setattr("snippet", e.snippet.as_deref());
    err
}

/// Adds the exception classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("WsrunError", py.get_type::<WsrunError>())?;
    m.add("CollectionError", py.get_type::<CollectionError>())?;
    m.add("StreamTimeout", py.get_type::<StreamTimeout>())?;
    m.add("ConnectionFailed", connection_failed_type(py)?)?;
    m.add("JsonPathError", jsonpath_error_type(py)?)?;
    m.add("AssertionFailed", assertion_failed_type(py)?)?;
    Ok(())
}
