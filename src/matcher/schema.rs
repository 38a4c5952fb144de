//! The `schema:` matcher: a JSON Schema file (relative to the collection) or an inline schema,
//! compiled when the collection loads; a failure lists every error.

use std::sync::Arc;

use serde_json::Value;

use super::{Check, Resolved};
use crate::contract::{self, Schema};

/// `schema: FILE` or `schema: {…}` (a boolean schema too).
pub(super) fn compile(value: &Value) -> Result<Arc<Schema>, String> {
    match value {
        Value::String(file) if file.contains("{{") => {
            Err("`schema` takes a file name or a schema, not a template".into())
        }
        Value::String(file) => contract::schema_file(file),
        Value::Object(_) | Value::Bool(_) => contract::inline_schema(value),
        _ => Err("`schema` takes a file (`schema: schemas/trade.json`) or a schema map".into()),
    }
}

impl Resolved {
    /// Why `value` (found at the JSONPath `at`) fails the matcher, at length, when a short
    /// description cannot say it: every error of the first schema it breaks (instance path,
    /// message, keyword), with paths from the message's root.
    pub fn explain(&self, value: &Value, at: &str) -> Option<String> {
        self.checks.iter().find_map(|c| match c {
            Check::Schema(s) if !s.is_valid(value) => {
                let mut errors = s.errors(value);
                for e in &mut errors {
                    e.path = format!("{at}{}", &e.path[1..]);
                }
                Some(contract::schema::error_lines(&errors))
            }
            _ => None,
        })
    }
}
