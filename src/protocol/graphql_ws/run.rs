//! graphql-ws steps: `subscribe` (starts an operation, its id kept as `{{ last_id }}`) and
//! `complete` (ends one). Neither waits: the operation's messages are for the steps after.

use std::time::Duration;

use serde_json::Value;

use super::yaml::{Complete, GraphqlSubscribe};
use crate::collection::LAST_ID;
use crate::protocol::graphql_ws;
use crate::runner::steps::{fail, State, StepResult};
use futures_util::future::BoxFuture;

use crate::protocol::{ProtocolName, StepDef};
use crate::template::VarRef;

pub(crate) async fn subscribe(st: &mut State<'_>, conn: usize, s: &GraphqlSubscribe) -> StepResult {
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

pub(crate) async fn complete(st: &mut State<'_>, conn: usize, c: &Complete) -> StepResult {
    let id = c.id.expand(&st.scope).map_err(|e| fail(e.to_string()))?;
    st.conns[conn]
        .send_json(graphql_ws::complete(&id), &mut st.rec)
        .await
        .map_err(fail)?;
    Ok(0)
}

impl StepDef for GraphqlSubscribe {
    fn protocol(&self) -> ProtocolName {
        ProtocolName::GraphqlWs
    }

    fn keyword(&self) -> &'static str {
        "subscribe"
    }

    fn conn(&self) -> Option<&str> {
        self.conn.as_deref()
    }

    fn vars(&self, out: &mut Vec<VarRef>) {
        GraphqlSubscribe::vars(self, out)
    }

    fn sets_last_id(&self) -> bool {
        true
    }

    fn misplaced(&self, conn: &str, speaks: ProtocolName) -> Option<String> {
        Some(format!(
            "`subscribe` with a `query` is graphql-ws's, but connection `{conn}` speaks `{}`: add `protocol: graphql-ws` to the request or the connection",
            speaks.as_str()
        ))
    }

    fn run<'a>(
        &'a self,
        st: &'a mut State<'_>,
        conn: usize,
        timeout: Duration,
    ) -> BoxFuture<'a, StepResult> {
        let _ = timeout;
        Box::pin(subscribe(st, conn, self))
    }

    fn boxed(&self) -> Box<dyn StepDef> {
        Box::new(self.clone())
    }
}

impl StepDef for Complete {
    fn protocol(&self) -> ProtocolName {
        ProtocolName::GraphqlWs
    }

    fn keyword(&self) -> &'static str {
        "complete"
    }

    fn conn(&self) -> Option<&str> {
        self.conn.as_deref()
    }

    fn vars(&self, out: &mut Vec<VarRef>) {
        out.extend(self.id.vars().cloned())
    }

    fn run<'a>(
        &'a self,
        st: &'a mut State<'_>,
        conn: usize,
        timeout: Duration,
    ) -> BoxFuture<'a, StepResult> {
        let _ = timeout;
        Box::pin(complete(st, conn, self))
    }

    fn boxed(&self) -> Box<dyn StepDef> {
        Box::new(self.clone())
    }
}
