//! The keyword arguments of `run`, `run_async` and `validate` → [`RunOptions`].

use std::path::PathBuf;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use super::convert::{duration_arg, py_to_json};
use super::source::{sources_arg, Source};
use crate::runner::RunOptions;

/// `{"K": V}` → `[("K", "V")]`: strings as they are, other values as JSON (`1`, `true`).
pub fn pairs_arg(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Vec<(String, String)>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Vec::new());
    };
    let dict = obj
        .cast::<PyDict>()
        .map_err(|_| PyTypeError::new_err(format!("`{what}` must be a dict of names to values")))?;
    let mut out = Vec::new();
    for (k, v) in dict.iter() {
        let key: String = k.str()?.extract()?;
        let value = match v.cast::<PyString>() {
            Ok(s) => s.to_cow()?.into_owned(),
            Err(_) => py_to_json(&v)?.to_string(),
        };
        out.push((key, value));
    }
    Ok(out)
}

pub struct RunArgs {
    pub sources: Vec<Source>,
    pub opts: RunOptions,
    pub only: Option<Vec<String>>,
}

#[allow(clippy::too_many_arguments)]
pub fn run_args(
    source: &Bound<'_, PyAny>,
    env: Option<String>,
    vars: Option<&Bound<'_, PyAny>>,
    secrets: Option<&Bound<'_, PyAny>>,
    update_snapshots: bool,
    timeout: Option<&Bound<'_, PyAny>>,
    filter: Option<String>,
    requests: Option<Vec<String>>,
    fail_fast: bool,
    vars_files: Option<Vec<PathBuf>>,
    jobs: usize,
) -> PyResult<RunArgs> {
    let opts = RunOptions {
        env,
        vars: pairs_arg(vars, "vars")?,
        vars_files: vars_files.unwrap_or_default(),
        secrets: pairs_arg(secrets, "secrets")?,
        filter,
        fail_fast,
        timeout: duration_arg(timeout)?,
        update_snapshots,
        jobs,
        ..RunOptions::default()
    };
    Ok(RunArgs {
        sources: sources_arg(source)?,
        opts,
        only: requests,
    })
}
