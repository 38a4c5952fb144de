//! graphql-ws-legacy's steps run as graphql-ws's: the connection renames what they send.

use std::time::Duration;

use futures_util::future::BoxFuture;

use super::yaml::Legacy;
use crate::protocol::graphql_ws::run::{complete, subscribe};
use crate::protocol::graphql_ws::yaml::{Complete, GraphqlSubscribe};
use crate::protocol::{ProtocolName, StepDef};
use crate::runner::steps::{State, StepResult};
use crate::template::VarRef;

impl StepDef for Legacy<GraphqlSubscribe> {
    fn protocol(&self) -> ProtocolName {
        ProtocolName::GraphqlWsLegacy
    }

    fn keyword(&self) -> &'static str {
        "subscribe"
    }

    fn conn(&self) -> Option<&str> {
        self.0.conn.as_deref()
    }

    fn vars(&self, out: &mut Vec<VarRef>) {
        self.0.vars(out)
    }

    fn sets_last_id(&self) -> bool {
        true
    }

    fn misplaced(&self, conn: &str, speaks: ProtocolName) -> Option<String> {
        Some(format!(
            "`subscribe` with a `query` is graphql-ws's, but connection `{conn}` speaks `{}`: add `protocol: graphql-ws` (or `graphql-ws-legacy`) to the request or the connection",
            speaks.as_str()
        ))
    }

    fn run<'a>(
        &'a self,
        st: &'a mut State<'_>,
        conn: usize,
        _timeout: Duration,
    ) -> BoxFuture<'a, StepResult> {
        Box::pin(subscribe(st, conn, &self.0))
    }

    fn boxed(&self) -> Box<dyn StepDef> {
        Box::new(self.clone())
    }
}

impl StepDef for Legacy<Complete> {
    fn protocol(&self) -> ProtocolName {
        ProtocolName::GraphqlWsLegacy
    }

    fn keyword(&self) -> &'static str {
        "complete"
    }

    fn conn(&self) -> Option<&str> {
        self.0.conn.as_deref()
    }

    fn vars(&self, out: &mut Vec<VarRef>) {
        out.extend(self.0.id.vars().cloned())
    }

    fn run<'a>(
        &'a self,
        st: &'a mut State<'_>,
        conn: usize,
        _timeout: Duration,
    ) -> BoxFuture<'a, StepResult> {
        Box::pin(complete(st, conn, &self.0))
    }

    fn boxed(&self) -> Box<dyn StepDef> {
        Box::new(self.clone())
    }
}
