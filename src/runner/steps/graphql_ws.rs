//! graphql-ws steps: `subscribe` (starts an operation, its id kept as `{{ last_id }}`) and
//! `complete` (ends one). Neither waits: the operation's messages are for the steps after.

use serde_json::Value;

use super::{fail, State, StepResult};
use crate::collection::{Complete, GraphqlSubscribe, LAST_ID};
use crate::protocol::graphql_ws;

pub(super) async fn subscribe(st: &mut State<'_>, conn: usize, s: &GraphqlSubscribe) -> StepResult {
    let text = |t: &crate::template::Template| t.expand(&st.scope).map_err(|e| fail(e.to_string()));
    let id = match &s.id {
        Some(id) => text(id)?,
        None => st.conns[conn].fresh_id().to_string(),
    };
    let query = text(&s.query)?;
    let operation_name = s.operation_name.as_ref().map(text).transpose()?;
    let variables = s
        .variables
        .as_ref()
        .map(|v| v.expand(&st.scope))
        .transpose()
        .map_err(|e| fail(e.to_string()))?;
    let message = graphql_ws::subscribe(&id, query, variables, operation_name);
    st.conns[conn]
        .send_json(message, &mut st.rec)
        .await
        .map_err(fail)?;
    st.scope.captures.insert(LAST_ID.into(), Value::String(id));
    Ok(0)
}

pub(super) async fn complete(st: &mut State<'_>, conn: usize, c: &Complete) -> StepResult {
    let id = c.id.expand(&st.scope).map_err(|e| fail(e.to_string()))?;
    st.conns[conn]
        .send_json(graphql_ws::complete(&id), &mut st.rec)
        .await
        .map_err(fail)?;
    Ok(0)
}
