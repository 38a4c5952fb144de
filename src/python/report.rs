//! Run results → Python dicts (wrapped in small classes by `python/wsrun/__init__.py`).

use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};

use crate::report::human::{self, Style};
use crate::report::{
    Direction, Failure, FrameData, Outcome, RequestReport, RunReport, StepReport, Stop,
};

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn failure_fields(dict: &Bound<'_, PyDict>, f: Option<&Failure>) -> PyResult<()> {
    dict.set_item("error", f.map(|f| f.summary.as_str()))?;
    dict.set_item("connection", f.and_then(|f| f.connection.as_deref()))?;
    dict.set_item("path", f.and_then(|f| f.path.as_deref()))?;
    dict.set_item("expected", f.and_then(|f| f.expected.as_deref()))?;
    dict.set_item("actual", f.and_then(|f| f.actual.as_deref()))?;
    dict.set_item("message", f.and_then(|f| f.message.as_deref()))?;
    dict.set_item("detail", f.and_then(|f| f.detail.as_deref()))?;
    Ok(())
}

/// The CLI indents failure text under the request line; alone, it reads better flush left.
fn dedent(text: &str) -> String {
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

fn step_to_py<'py>(py: Python<'py>, s: &StepReport) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("index", s.index)?;
    d.set_item("keyword", s.keyword)?;
    d.set_item("line", s.line)?;
    let (passed, status, failure) = match &s.outcome {
        Outcome::Passed => (true, "passed", None),
        Outcome::Failed(f) => (false, "failed", Some(f)),
        Outcome::Skipped => (false, "skipped", None),
    };
    d.set_item("passed", passed)?;
    d.set_item("status", status)?;
    d.set_item("duration", secs(s.duration))?;
    d.set_item("messages", s.messages)?;
    failure_fields(&d, failure)?;
    Ok(d)
}

fn frame_payload<'py>(py: Python<'py>, data: &FrameData) -> PyResult<Bound<'py, PyAny>> {
    Ok(match data {
        FrameData::Text(t) => PyString::new(py, t.as_str()).into_any(),
        FrameData::Binary(b) | FrameData::Ping(b) | FrameData::Pong(b) => {
            PyBytes::new(py, b).into_any()
        }
        FrameData::Close(code, reason) => {
            let d = PyDict::new(py);
            d.set_item("code", *code)?;
            d.set_item("reason", reason)?;
            d.into_any()
        }
        FrameData::Lost(why) => PyString::new(py, why).into_any(),
    })
}

fn request_to_py<'py>(
    py: Python<'py>,
    path: &str,
    r: &RequestReport,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("name", &r.name)?;
    d.set_item("line", r.line)?;
    d.set_item("passed", r.passed())?;
    d.set_item("duration", secs(r.duration))?;
    d.set_item("error", r.error.as_ref().map(|f| f.summary.as_str()))?;
    let failure = r.failure();
    d.set_item(
        "failure_text",
        failure.map(|(step, f)| dedent(&human::failure_text(&Style::default(), path, step, f))),
    )?;
    let steps = PyList::empty(py);
    for s in &r.steps {
        steps.append(step_to_py(py, s)?)?;
    }
    d.set_item("steps", steps)?;
    let transcript = PyList::empty(py);
    for frame in r.transcript.frames() {
        let f = PyDict::new(py);
        f.set_item("at", secs(frame.at))?;
        f.set_item(
            "direction",
            match frame.direction {
                Direction::Sent => "sent",
                Direction::Received => "received",
            },
        )?;
        f.set_item("connection", &*frame.connection)?;
        f.set_item("kind", frame.data.kind())?;
        f.set_item("payload", frame_payload(py, &frame.data)?)?;
        transcript.append(f)?;
    }
    d.set_item("transcript", transcript)?;
    d.set_item("transcript_elided", r.transcript.elided)?;
    Ok(d)
}

pub fn report_to_py<'py>(py: Python<'py>, report: &RunReport) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("passed", report.passed())?;
    d.set_item("duration", secs(report.duration))?;
    d.set_item(
        "stopped",
        report.stopped.map(|s| match s {
            Stop::Interrupted => "interrupted",
            Stop::TimedOut(_) => "timed_out",
            Stop::FailFast => "fail_fast",
        }),
    )?;
    let collections = PyList::empty(py);
    for c in &report.collections {
        let cd = PyDict::new(py);
        cd.set_item("path", &c.path)?;
        cd.set_item("name", &c.name)?;
        cd.set_item("env", c.env.as_deref())?;
        cd.set_item("passed", c.passed())?;
        cd.set_item("duration", secs(c.duration))?;
        let requests = PyList::empty(py);
        for r in &c.requests {
            requests.append(request_to_py(py, &c.path, r)?)?;
        }
        cd.set_item("requests", requests)?;
        collections.append(cd)?;
    }
    d.set_item("collections", collections)?;
    Ok(d)
}

/// A finished run on its way to Python (asyncio futures convert it under the GIL).
pub struct ReportOut(pub RunReport);

impl<'py> IntoPyObject<'py> for ReportOut {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> Result<Self::Output, Self::Error> {
        report_to_py(py, &self.0).map(Bound::into_any)
    }
}
