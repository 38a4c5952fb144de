//! Python data ⇄ JSON values, and Python arguments → engine types (durations).

use std::time::Duration;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// Python data (dict, list, tuple, str, int, float, bool, None, other mappings) as JSON.
pub fn py_to_json(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::from(u));
        }
        let f: f64 = obj.extract()?;
        return Ok(Value::from(f));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return serde_json::Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| PyValueError::new_err(format!("{} is not valid JSON", f.value())));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = serde_json::Map::new();
        for (k, v) in d.iter() {
            let key = match k.cast::<PyString>() {
                Ok(s) => s.to_cow()?.into_owned(),
                Err(_) => k.str()?.to_cow()?.into_owned(),
            };
            map.insert(key, py_to_json(&v)?);
        }
        return Ok(Value::Object(map));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut out = Vec::new();
        for item in obj.try_iter()? {
            out.push(py_to_json(&item?)?);
        }
        return Ok(Value::Array(out));
    }
    // Other mappings (e.g. OrderedDict subclasses are dicts already; this catches the rest).
    if let Ok(items) = obj.call_method0("items") {
        let mut map = serde_json::Map::new();
        for pair in items.try_iter()? {
            let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = pair?.extract()?;
            map.insert(k.str()?.to_cow()?.into_owned(), py_to_json(&v)?);
        }
        return Ok(Value::Object(map));
    }
    Err(PyTypeError::new_err(format!(
        "cannot use a `{}` as JSON (expected dict, list, str, int, float, bool or None)",
        obj.get_type().name()?
    )))
}

/// A JSON value as Python data: objects → dict, arrays → list, numbers → int or float.
pub fn json_to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(a) => {
            let list = PyList::empty(py);
            for item in a {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(m) => {
            let dict = PyDict::new(py);
            for (k, item) in m {
                dict.set_item(k, json_to_py(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

/// JSON parsed off the GIL with the objects' key order kept (serde_json's `Map` sorts keys).
#[derive(Debug, Clone)]
pub enum JVal {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Arr(Vec<JVal>),
    Obj(Vec<(String, JVal)>),
}

impl<'de> Deserialize<'de> for JVal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JVal;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<JVal, E> {
                Ok(JVal::Null)
            }
            fn visit_none<E>(self) -> Result<JVal, E> {
                Ok(JVal::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<JVal, E> {
                Ok(JVal::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<JVal, E> {
                Ok(JVal::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<JVal, E> {
                Ok(JVal::UInt(v))
            }
            fn visit_f64<E>(self, v: f64) -> Result<JVal, E> {
                Ok(JVal::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<JVal, E> {
                Ok(JVal::Str(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<JVal, E> {
                Ok(JVal::Str(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JVal, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(v) = seq.next_element()? {
                    out.push(v);
                }
                Ok(JVal::Arr(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JVal, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some((k, v)) = map.next_entry::<String, JVal>()? {
                    out.push((k, v));
                }
                Ok(JVal::Obj(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl JVal {
    /// As Python data, keys in the order the JSON text had them.
    pub fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(match self {
            JVal::Null => py.None().into_bound(py),
            JVal::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
            JVal::Int(i) => i.into_pyobject(py)?.into_any(),
            JVal::UInt(u) => u.into_pyobject(py)?.into_any(),
            JVal::Float(f) => f.into_pyobject(py)?.into_any(),
            JVal::Str(s) => PyString::new(py, s).into_any(),
            JVal::Arr(a) => {
                let list = PyList::empty(py);
                for item in a {
                    list.append(item.to_py(py)?)?;
                }
                list.into_any()
            }
            JVal::Obj(m) => {
                let dict = PyDict::new(py);
                for (k, item) in m {
                    dict.set_item(k, item.to_py(py)?)?;
                }
                dict.into_any()
            }
        })
    }
}

/// `json.dumps(obj)`: Python's own serializer keeps dict order (collections, sent messages).
pub fn dumps(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    let py = obj.py();
    let json = py.import("json")?;
    json.call_method1("dumps", (obj,))?.extract()
}

/// A duration argument: seconds (int/float) or text such as `"5s"`/`"250ms"`; None is absent.
pub fn duration_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Duration>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    if let Ok(s) = obj.cast::<PyString>() {
        return crate::duration::parse_duration(&s.to_cow()?)
            .map(Some)
            .map_err(PyValueError::new_err);
    }
    let secs: f64 = obj.extract().map_err(|_| {
        PyTypeError::new_err("a duration is a number of seconds or a text such as \"5s\"")
    })?;
    Duration::try_from_secs_f64(secs)
        .map(Some)
        .map_err(|_| PyValueError::new_err(format!("invalid duration: {secs} seconds")))
}
