//! Python data ⇄ JSON values, and Python arguments → engine types (durations).

use std::time::Duration;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
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

/// A JSON text parsed off the GIL into one flat buffer, which [`Packed::to_py`] turns into Python
/// objects with the GIL: one allocation per message instead of one per string, array and object
/// (allocated on the reader's thread and freed on Python's, each of them), and the objects' keys
/// in the order the text had them.
///
/// The layout: a tag byte, then `null`, `false`, `true`: nothing; an integer or a float: 8
/// bytes; a string: its length (4 bytes) and its UTF-8 bytes; an array: its length (4 bytes)
/// and its items; an object: its length (4 bytes), then each key (as a string, without the tag)
/// and its value. Little-endian throughout.
#[derive(Debug, Clone, PartialEq)]
pub struct Packed(Vec<u8>);

const NULL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const INT: u8 = 3;
const UINT: u8 = 4;
const FLOAT: u8 = 5;
const STR: u8 = 6;
const ARR: u8 = 7;
const OBJ: u8 = 8;

impl Packed {
    /// Parses a JSON text (numbers as serde_json reads them: integers past 64 bits as floats).
    pub fn parse(text: &str) -> serde_json::Result<Self> {
        let mut buf = Vec::with_capacity(text.len() + 16);
        let mut de = serde_json::Deserializer::from_str(text);
        Pack(&mut buf).deserialize(&mut de)?;
        de.end()?;
        Ok(Packed(buf))
    }

    /// As Python data: objects → dict (keys in the text's order), arrays → list, numbers →
    /// int or float. `keys` remembers the dict keys made so far.
    pub fn to_py<'py>(&self, py: Python<'py>, keys: &mut KeyCache) -> PyResult<Bound<'py, PyAny>> {
        let mut reader = Unpack {
            buf: &self.0,
            at: 0,
        };
        reader.value(py, keys)
    }
}

/// Writes one value into the buffer.
struct Pack<'a>(&'a mut Vec<u8>);

impl Pack<'_> {
    fn len<E: serde::de::Error>(&mut self, n: usize) -> Result<(), E> {
        let n = u32::try_from(n).map_err(|_| E::custom("a JSON string or container over 4 GiB"))?;
        self.0.extend_from_slice(&n.to_le_bytes());
        Ok(())
    }

    fn str<E: serde::de::Error>(&mut self, s: &str) -> Result<(), E> {
        self.len(s.len())?;
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }

    /// Reserves a length, to be written by [`Pack::patch`] once the items are counted.
    fn placeholder(&mut self, tag: u8) -> usize {
        self.0.push(tag);
        self.0.extend_from_slice(&[0; 4]);
        self.0.len() - 4
    }

    fn patch<E: serde::de::Error>(&mut self, at: usize, n: usize) -> Result<(), E> {
        let n = u32::try_from(n).map_err(|_| E::custom("a JSON container over 4 GiB"))?;
        self.0[at..at + 4].copy_from_slice(&n.to_le_bytes());
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Pack<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Pack<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.0.push(NULL);
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        self.0.push(NULL);
        Ok(())
    }
    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.0.push(if v { TRUE } else { FALSE });
        Ok(())
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.0.push(INT);
        self.0.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }
    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.0.push(UINT);
        self.0.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }
    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        self.0.push(FLOAT);
        self.0.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }
    fn visit_str<E: serde::de::Error>(mut self, v: &str) -> Result<(), E> {
        self.0.push(STR);
        self.str(v)
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let at = self.placeholder(ARR);
        let mut n = 0;
        while seq.next_element_seed(Pack(&mut *self.0))?.is_some() {
            n += 1;
        }
        self.patch(at, n)
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let at = self.placeholder(OBJ);
        let mut n = 0;
        while map.next_key_seed(PackKey(&mut *self.0))?.is_some() {
            map.next_value_seed(Pack(&mut *self.0))?;
            n += 1;
        }
        self.patch(at, n)
    }
}

/// Writes an object's key (a string without its tag).
struct PackKey<'a>(&'a mut Vec<u8>);

impl<'de> DeserializeSeed<'de> for PackKey<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for PackKey<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        Pack(self.0).str(v)
    }
}

/// Reads a [`Packed`] buffer back, into Python objects.
struct Unpack<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Unpack<'a> {
    fn take(&mut self, n: usize) -> PyResult<&'a [u8]> {
        let bytes = self
            .buf
            .get(self.at..self.at + n)
            .ok_or_else(|| PyValueError::new_err("wsrun: a packed JSON value ends early"))?;
        self.at += n;
        Ok(bytes)
    }

    fn eight(&mut self) -> PyResult<[u8; 8]> {
        let mut b = [0; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(b)
    }

    fn len(&mut self) -> PyResult<usize> {
        let mut b = [0; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(b) as usize)
    }

    fn str(&mut self) -> PyResult<&'a str> {
        let n = self.len()?;
        std::str::from_utf8(self.take(n)?).map_err(|e| PyValueError::new_err(e.to_string()))
    }

    fn value<'py>(&mut self, py: Python<'py>, keys: &mut KeyCache) -> PyResult<Bound<'py, PyAny>> {
        let tag = self.take(1)?[0];
        Ok(match tag {
            NULL => py.None().into_bound(py),
            FALSE => PyBool::new(py, false).to_owned().into_any(),
            TRUE => PyBool::new(py, true).to_owned().into_any(),
            INT => i64::from_le_bytes(self.eight()?)
                .into_pyobject(py)?
                .into_any(),
            UINT => u64::from_le_bytes(self.eight()?)
                .into_pyobject(py)?
                .into_any(),
            FLOAT => f64::from_le_bytes(self.eight()?)
                .into_pyobject(py)?
                .into_any(),
            STR => PyString::new(py, self.str()?).into_any(),
            ARR => {
                let n = self.len()?;
                let list = PyList::empty(py);
                for _ in 0..n {
                    list.append(self.value(py, keys)?)?;
                }
                list.into_any()
            }
            OBJ => {
                let n = self.len()?;
                let dict = PyDict::new(py);
                for _ in 0..n {
                    let key = keys.get(py, self.str()?);
                    dict.set_item(key, self.value(py, keys)?)?;
                }
                dict.into_any()
            }
            other => {
                return Err(PyValueError::new_err(format!(
                    "wsrun: a packed JSON value has an unknown tag {other}"
                )))
            }
        })
    }
}

/// The Python strings made for dict keys so far, by key: a stream's messages repeat their keys,
/// and a key found here is neither allocated again nor hashed again by the dict (a string keeps
/// its hash). Direct-mapped: a key that collides replaces the one before.
pub struct KeyCache {
    slots: Vec<Option<(Box<str>, Py<PyString>)>>,
}

impl KeyCache {
    const SLOTS: usize = 128;
    /// Longer keys are rare as repeated keys, and not worth keeping.
    const LONGEST: usize = 32;

    pub fn new() -> Self {
        Self {
            slots: (0..Self::SLOTS).map(|_| None).collect(),
        }
    }

    fn get<'py>(&mut self, py: Python<'py>, key: &str) -> Bound<'py, PyString> {
        // Python keeps one string of each single Latin-1 character already.
        if key.len() > Self::LONGEST || key.len() == 1 {
            return PyString::new(py, key);
        }
        // FNV-1a: short keys, no need for more.
        let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        let slot = &mut self.slots[hash as usize % Self::SLOTS];
        match slot {
            Some((k, s)) if **k == *key => s.bind(py).clone(),
            _ => {
                let s = PyString::new(py, key);
                *slot = Some((key.into(), s.clone().unbind()));
                s
            }
        }
    }
}

impl Default for KeyCache {
    fn default() -> Self {
        Self::new()
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
