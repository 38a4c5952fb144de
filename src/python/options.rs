//! The keyword arguments of `run`, `run_async` and `validate`, defined once: each option's name,
//! default, which functions take it and how it becomes a [`RunOptions`] field. The extension
//! exposes the table (`RUN_OPTIONS`, `VALIDATE_OPTIONS`), and a test holds the Python wrappers and
//! the `.pyi` stubs to it.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyMapping, PyString};

use super::convert::{duration_arg, py_to_json};
use crate::options::RunOptions;

/// What a run call asked for.
#[derive(Default)]
pub struct Options {
    pub run: RunOptions,
}

/// The functions that take options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// `run` and `run_async`: every option.
    Run,
    /// `validate`: the options that decide how collections load.
    Validate,
}

/// An option's value when it is not given (or given as None).
#[derive(Debug, Clone, Copy)]
enum Default {
    None,
    False,
    Int(i64),
}

struct Spec {
    name: &'static str,
    default: Default,
    /// Whether `validate` takes it too.
    loads: bool,
    /// Stores a value that is not None.
    set: fn(&mut Options, &Bound<'_, PyAny>) -> PyResult<()>,
}

/// Every option, in the order the signatures list them.
const OPTIONS: &[Spec] = &[
    Spec {
        name: "env",
        default: Default::None,
        loads: true,
        set: |o, v| {
            o.run.env = Some(v.extract()?);
            Ok(())
        },
    },
    Spec {
        name: "vars",
        default: Default::None,
        loads: true,
        set: |o, v| {
            o.run.vars = pairs(v)?;
            Ok(())
        },
    },
    Spec {
        name: "secrets",
        default: Default::None,
        loads: true,
        set: |o, v| {
            o.run.secrets = pairs(v)?;
            Ok(())
        },
    },
    Spec {
        name: "update_snapshots",
        default: Default::False,
        loads: false,
        set: |o, v| {
            o.run.update_snapshots = v.extract()?;
            Ok(())
        },
    },
    Spec {
        name: "timeout",
        default: Default::None,
        loads: false,
        set: |o, v| {
            o.run.timeout = duration_arg(Some(v))?;
            Ok(())
        },
    },
    Spec {
        name: "filter",
        default: Default::None,
        loads: false,
        set: |o, v| {
            o.run.filter = Some(v.extract()?);
            Ok(())
        },
    },
    Spec {
        name: "requests",
        default: Default::None,
        loads: false,
        set: |o, v| {
            o.run.requests = Some(strings(v)?);
            Ok(())
        },
    },
    Spec {
        name: "fail_fast",
        default: Default::False,
        loads: false,
        set: |o, v| {
            o.run.fail_fast = v.extract()?;
            Ok(())
        },
    },
    Spec {
        name: "vars_files",
        default: Default::None,
        loads: true,
        set: |o, v| {
            o.run.vars_files = v.extract()?;
            Ok(())
        },
    },
    Spec {
        name: "jobs",
        default: Default::Int(1),
        loads: false,
        set: |o, v| {
            o.run.jobs = v.extract()?;
            Ok(())
        },
    },
];

impl Function {
    fn name(self) -> &'static str {
        match self {
            Function::Run => "run",
            Function::Validate => "validate",
        }
    }

    fn specs(self) -> impl Iterator<Item = &'static Spec> {
        OPTIONS
            .iter()
            .filter(move |s| self == Function::Run || s.loads)
    }
}

/// Parses a call's `**options`; a name the function does not take is a `TypeError` naming it.
pub fn parse(function: Function, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Options> {
    let mut out = Options {
        run: RunOptions {
            jobs: 1,
            update_hint: Some("update_snapshots=True".into()),
            ..RunOptions::default()
        },
    };
    let Some(kwargs) = kwargs else {
        return Ok(out);
    };
    let mut unknown = Vec::new();
    for (key, value) in kwargs.iter() {
        let name = key.cast::<PyString>()?.to_cow()?.into_owned();
        let Some(spec) = function.specs().find(|s| s.name == name) else {
            unknown.push(format!("'{name}'"));
            continue;
        };
        if !value.is_none() {
            (spec.set)(&mut out, &value).map_err(|e| {
                let py = value.py();
                let message = format!("{}() argument '{name}': {}", function.name(), e.value(py));
                PyErr::from_type(e.get_type(py), message)
            })?;
        }
    }
    match unknown.len() {
        0 => Ok(out),
        1 => Err(PyTypeError::new_err(format!(
            "{}() got an unexpected keyword argument {}",
            function.name(),
            unknown[0]
        ))),
        _ => Err(PyTypeError::new_err(format!(
            "{}() got unexpected keyword arguments {}",
            function.name(),
            unknown.join(", ")
        ))),
    }
}

/// The options `function` takes, with their defaults, as a read-only mapping in signature order
/// (`_wsrun.RUN_OPTIONS`, `_wsrun.VALIDATE_OPTIONS`).
pub fn table(py: Python<'_>, function: Function) -> PyResult<Bound<'_, PyAny>> {
    let dict = PyDict::new(py);
    for spec in function.specs() {
        match spec.default {
            Default::None => dict.set_item(spec.name, py.None())?,
            Default::False => dict.set_item(spec.name, false)?,
            Default::Int(i) => dict.set_item(spec.name, i)?,
        }
    }
    py.import("types")?
        .getattr("MappingProxyType")?
        .call1((dict,))
}

/// `{"K": V}` (any mapping) → `[("K", "V")]`: strings as they are, other values as JSON.
fn pairs(obj: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    let mapping = obj
        .cast::<PyMapping>()
        .map_err(|_| PyTypeError::new_err("expected a dict of names to values"))?;
    let mut out = Vec::new();
    for item in mapping.items()?.iter() {
        let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract()?;
        let key: String = k.str()?.extract()?;
        let value = match v.cast::<PyString>() {
            Ok(s) => s.to_cow()?.into_owned(),
            Err(_) => py_to_json(&v)?.to_string(),
        };
        out.push((key, value));
    }
    Ok(out)
}

/// A sequence of names; a lone string is refused rather than read as its characters.
fn strings(obj: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if obj.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "expected a list of names, not one string",
        ));
    }
    obj.extract()
}
