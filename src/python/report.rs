//! `_Report`: a finished run kept as the engine's own result and rendered on demand by the same
//! renderers as `--report`: the `wsrun-report/1` document, JUnit XML, the HTML page, and the
//! terminal's failure text. `wsrun.Report` (Python) reads its attributes off the document.

use std::path::{Path, PathBuf};

use pyo3::exceptions::PyIndexError;
use pyo3::prelude::*;

use super::convert::json_to_py;
use crate::report::human::{self, Style};
use crate::report::{html, json, junit, RunReport};

/// What one run produced (`wsrun.Report` wraps it).
#[pyclass(frozen, module = "wsrun._wsrun", name = "_Report")]
pub struct PyReport {
    report: RunReport,
}

impl From<RunReport> for PyReport {
    fn from(report: RunReport) -> Self {
        PyReport { report }
    }
}

#[pymethods]
impl PyReport {
    /// The `wsrun-report/1` document that `--report json=FILE` writes, as Python data.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &json::report(&self.report))
    }

    /// The JUnit XML that `--report junit=FILE` writes.
    fn to_junit(&self) -> String {
        junit::report(&self.report)
    }

    /// The HTML page that `--report html=FILE` writes.
    fn to_html(&self) -> String {
        html::report(&self.report)
    }

    /// The values request `request` of collection `collection` captured or `set`, by name, as
    /// it ended (secret ones `***`), as a dict.
    fn captures<'py>(
        &self,
        py: Python<'py>,
        collection: usize,
        request: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let r = self
            .report
            .collections
            .get(collection)
            .and_then(|c| c.requests.get(request))
            .ok_or_else(|| PyIndexError::new_err("no such request"))?;
        let map: serde_json::Map<String, serde_json::Value> = r.captures.iter().cloned().collect();
        json_to_py(py, &serde_json::Value::Object(map))
    }

    /// The failure of request `request` of collection `collection` as the terminal shows it
    /// (flush left, without colors), or None when the request passed. With `root`, the
    /// collection's path is shown relative to it (when it lies under it).
    #[pyo3(signature = (collection, request, root=None))]
    fn failure_text(
        &self,
        collection: usize,
        request: usize,
        root: Option<PathBuf>,
    ) -> PyResult<Option<String>> {
        let c = self
            .report
            .collections
            .get(collection)
            .ok_or_else(|| PyIndexError::new_err("no such collection"))?;
        let r = c
            .requests
            .get(request)
            .ok_or_else(|| PyIndexError::new_err("no such request"))?;
        let path = match &root {
            Some(root) => relative_to(&c.path, root),
            None => c.path.clone(),
        };
        Ok(r.failure()
            .map(|(step, f)| dedent(&human::failure_text(&Style::default(), &path, step, f))))
    }
}

/// `path` relative to `root` when it lies under it, else as it is.
fn relative_to(path: &str, root: &Path) -> String {
    match Path::new(path).strip_prefix(root) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
        _ => path.to_string(),
    }
}

/// The terminal indents failure text under the request line; alone, it reads better flush left.
pub(super) fn dedent(text: &str) -> String {
    let indent = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches(' ').len())
        .min()
        .unwrap_or(0);
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        out.push_str(line.get(indent..).unwrap_or(line.trim_start()));
        out.push('\n');
    }
    out
}
