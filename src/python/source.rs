//! The `source` argument: paths (files or folders), YAML text, dicts, or lists of these, loaded
//! and prepared the way the CLI loads its paths.

use std::path::PathBuf;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use super::convert::dumps;
use crate::collection::{Collection, LoadError};
use crate::options::RunOptions;
use crate::plan::{self, Prepared};

/// Where collections come from.
pub enum Source {
    /// Files or folders (searched for collections like the CLI does).
    Path(PathBuf),
    /// Collection text, named by a pseudo path for errors and relative files.
    Text { text: String, path: PathBuf },
}

fn is_collection_text(s: &str) -> bool {
    s.contains('\n') || s.trim_start().starts_with("requests:")
}

/// Reads the `source` argument.
pub fn sources_arg(obj: &Bound<'_, PyAny>) -> PyResult<Vec<Source>> {
    if let Ok(s) = obj.cast::<PyString>() {
        let s = &*s.to_cow()?;
        return Ok(vec![if is_collection_text(s) {
            Source::Text {
                text: s.to_string(),
                path: PathBuf::from("<string>"),
            }
        } else {
            Source::Path(PathBuf::from(s))
        }]);
    }
    if obj.is_instance_of::<PyDict>() {
        return Ok(vec![Source::Text {
            text: dumps(obj)?,
            path: PathBuf::from("<dict>"),
        }]);
    }
    if obj.hasattr("__fspath__")? {
        let os = obj.py().import("os")?;
        let p: PathBuf = os.call_method1("fspath", (obj,))?.extract()?;
        return Ok(vec![Source::Path(p)]);
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut out = Vec::new();
        for item in obj.try_iter()? {
            out.extend(sources_arg(&item?)?);
        }
        return Ok(out);
    }
    Err(PyTypeError::new_err(
        "a collection is a path (str or os.PathLike), YAML text, a dict, or a list of these",
    ))
}

/// Parses every collection the sources name (folders are searched).
pub fn load_sources(sources: &[Source]) -> Result<Vec<Collection>, LoadError> {
    let mut out = Vec::new();
    for s in sources {
        match s {
            Source::Path(p) => {
                for file in crate::discover::collection_files(std::slice::from_ref(p))? {
                    out.push(Collection::load(&file)?);
                }
            }
            Source::Text { text, path } => out.push(Collection::parse(text, path)?),
        }
    }
    Ok(out)
}

/// Loads and prepares (the plan stage picks `opts.requests`, and checks only their variables).
pub fn prepare_all(sources: &[Source], opts: &RunOptions) -> Result<Vec<Prepared>, LoadError> {
    load_sources(sources)?
        .into_iter()
        .map(|c| plan::prepare(c, opts))
        .collect()
}
