//! `capture`: values of the last matched message stored as variables.

use serde_json::Value;

use super::{fail, State, StepResult};
use crate::collection::OrderedMap;
use crate::jsonpath::JsonPath;
use crate::report::Failure;

pub(super) fn run(st: &mut State<'_>, captures: &OrderedMap<String, JsonPath>) -> StepResult {
    let Some(doc) = st.last.json() else {
        return Err(fail(
            "nothing to capture from: no JSON message has been matched yet (capture reads the message the last `expect`/`wait_for` matched)",
        ));
    };
    for (name, path) in &captures.0 {
        let nodes = path.query(doc);
        let value = match nodes.as_slice() {
            [] => {
                return Err((
                    Failure {
                        summary: format!(
                            "capture `{name}`: {path} selected nothing in the last matched message"
                        ),
                        path: Some(path.to_string()),
                        message: Some(crate::report::truncate(
                            &doc.to_string(),
                            crate::runner::check::PREVIEW,
                        )),
                        ..Failure::default()
                    },
                    0,
                ))
            }
            [one] => (*one).clone(),
            many => Value::Array(many.iter().map(|v| (*v).clone()).collect()),
        };
        st.masker.capture(name, &value);
        st.scope.captures.insert(name.clone(), value);
    }
    Ok(0)
}
