//! `serve(collection, mock=NAME)`: one of a collection's mocks running in-process on a free
//! loopback port (what `wsrun serve` does), stopped by `stop()`, leaving the `with` block, or
//! garbage collection.

use std::sync::Mutex;

use pyo3::prelude::*;

use super::errors::{collection_error, WsrunError};
use super::runtime::{block_interruptibly, runtime};
use super::source::{load_sources, sources_arg};
use crate::collection::LoadError;
use crate::mock::{MockServer, StandaloneError};

/// A running mock (`wsrun.serve` wraps it).
#[pyclass(frozen, module = "wsrun._wsrun", name = "_MockServer")]
pub struct PyMockServer {
    url: String,
    name: String,
    server: Mutex<Option<MockServer>>,
}

#[pymethods]
impl PyMockServer {
    /// Loads `source` (one collection: a path, YAML text or a dict) and starts its mock `mock`
    /// (the first one when None) on `port` (0: a free one).
    #[new]
    #[pyo3(signature = (source, *, mock=None, port=0))]
    fn new(
        py: Python<'_>,
        source: &Bound<'_, PyAny>,
        mock: Option<String>,
        port: u16,
    ) -> PyResult<Self> {
        let sources = sources_arg(source)?;
        let mut collections = py
            .detach(|| load_sources(&sources))
            .map_err(|e| collection_error(py, &e))?;
        let collection = match (collections.pop(), collections.is_empty()) {
            (Some(c), true) => c,
            _ => {
                return Err(WsrunError::new_err(
                    "serve() takes one collection, not a folder or a list",
                ))
            }
        };
        let path = collection.path.clone();
        let started = block_interruptibly(py, async move {
            // Started on the shared runtime, which keeps serving it after this call returns.
            runtime()
                .spawn(async move {
                    crate::mock::serve_standalone(&collection, mock.as_deref(), port).await
                })
                .await
        })?;
        let server = match started {
            Ok(Ok(server)) => server,
            Ok(Err(StandaloneError::Unknown(why))) => {
                return Err(collection_error(py, &LoadError::plain(&path, why)))
            }
            Ok(Err(StandaloneError::Vars(e))) => return Err(collection_error(py, &e)),
            Ok(Err(StandaloneError::Mock(name, e))) => {
                return Err(WsrunError::new_err(format!("mock `{name}`: {e}")))
            }
            Err(e) => {
                return Err(WsrunError::new_err(format!(
                    "the mock could not start: {e}"
                )))
            }
        };
        Ok(PyMockServer {
            url: server.url().to_string(),
            name: server.name().to_string(),
            server: Mutex::new(Some(server)),
        })
    }

    /// `ws://127.0.0.1:PORT`.
    #[getter]
    fn url(&self) -> &str {
        &self.url
    }

    /// The mock's name in the collection.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// Whether it is still serving.
    #[getter]
    fn running(&self) -> bool {
        self.server.lock().map(|s| s.is_some()).unwrap_or(false)
    }

    /// Stops listening and ends every connection.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        let server = self.server.lock().ok().and_then(|mut s| s.take());
        if let Some(server) = server {
            block_interruptibly(py, async move {
                let _ = runtime().spawn(server.stop()).await;
            })?;
        }
        Ok(())
    }

    fn __repr__(&self) -> String {
        let state = if self.running() { "" } else { ", stopped" };
        format!("<wsrun.MockServer `{}` at {}{state}>", self.name, self.url)
    }
}
