//! `set`: values computed from templates once and stored like captures, so that a timestamp in a
//! payload and in its signature is the same value.

use super::{fail, State, StepResult};
use crate::collection::OrderedMap;
use crate::template::TValue;

pub(super) fn run(st: &mut State<'_>, set: &OrderedMap<String, TValue>) -> StepResult {
    for (name, template) in &set.0 {
        let value = template
            .expand(&st.scope)
            .map_err(|e| fail(format!("set `{name}`: {e}")))?;
        st.masker.capture(name, &value);
        st.scope.captures.insert(name.clone(), value);
    }
    Ok(0)
}
