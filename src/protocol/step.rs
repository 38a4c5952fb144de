//! A protocol's own steps (`call`, `subscribe`, `emit`…) as the loader and the runner see them:
//! one trait object per step, so that the runner's machinery (timeouts, the inbox, reports,
//! transcripts, masking, round-trip latency) is the same for every protocol.
//!
//! A protocol reads its steps in its `yaml.rs` (the registry hands it the keyword and the YAML
//! of the step) and runs them in its `run.rs`, through the runner's `State` as every step does.
//! A keyword several protocols have (`subscribe`) is kept as YAML until the loader knows the
//! protocol of the step's connection: then that protocol reads it ([`super::resolve_step`]).

use std::fmt;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::Value;

use super::ProtocolName;
use crate::runner::steps::{State, StepResult};
use crate::template::VarRef;

/// One step of a protocol, read from the YAML.
pub trait StepDef: fmt::Debug + Send + Sync {
    /// The protocol whose step it is.
    fn protocol(&self) -> ProtocolName;

    /// The step's keyword (`call`).
    fn keyword(&self) -> &'static str;

    /// The connection it names, if any.
    fn conn(&self) -> Option<&str>;

    /// Its own `timeout:`, if it waits and has one (else the request's applies).
    fn timeout(&self) -> Option<Duration> {
        None
    }

    /// The template variables it names.
    fn vars(&self, out: &mut Vec<VarRef>);

    /// Whether it sets `{{ last_id }}` (a subscription's id) for the steps after it.
    fn sets_last_id(&self) -> bool {
        false
    }

    /// The error when its connection speaks `speaks`, if it words it better than the generic
    /// "`KEYWORD` is a step of `protocol: P`" (`subscribe` with a `query` is graphql-ws's).
    fn misplaced(&self, _conn: &str, _speaks: ProtocolName) -> Option<String> {
        None
    }

    /// Runs the step on connection `conn` of the request; `timeout` is its own or the request's.
    fn run<'a>(
        &'a self,
        st: &'a mut State<'_>,
        conn: usize,
        timeout: Duration,
    ) -> BoxFuture<'a, StepResult>;

    /// A copy (collections are cloned, e.g. for each load user's plan).
    fn boxed(&self) -> Box<dyn StepDef>;
}

/// The [`StepDef`] of a step struct with `conn`, `timeout` and its own `vars`: its protocol,
/// its keyword and the async function that runs it, `fn(st, conn, &step, timeout)`. With
/// `misplaced: (KEY, OWNER)`, a step on another protocol's connection is explained by the key
/// that marks it (`` `publish` with a `topic` is MQTT's ``).
macro_rules! step_def {
    ($protocol:ident, $ty:ty, $keyword:literal, $run:ident $(, misplaced: ($key:literal, $owner:literal))?) => {
        impl $crate::protocol::StepDef for $ty {
            fn protocol(&self) -> $crate::protocol::ProtocolName {
                $crate::protocol::ProtocolName::$protocol
            }

            fn keyword(&self) -> &'static str {
                $keyword
            }

            fn conn(&self) -> Option<&str> {
                self.conn.as_deref()
            }

            fn timeout(&self) -> Option<std::time::Duration> {
                self.timeout.map(|d| d.0)
            }

            fn vars(&self, out: &mut Vec<$crate::template::VarRef>) {
                <$ty>::vars(self, out)
            }

            $(
            fn misplaced(&self, conn: &str, speaks: $crate::protocol::ProtocolName) -> Option<String> {
                Some(format!(
                    "`{}` with a `{}` is {}, but connection `{conn}` speaks `{}`: add `protocol: {}` to the request or the connection",
                    $keyword,
                    $key,
                    $owner,
                    speaks.as_str(),
                    $crate::protocol::ProtocolName::$protocol.as_str()
                ))
            }
            )?

            fn run<'a>(
                &'a self,
                st: &'a mut $crate::runner::steps::State<'_>,
                conn: usize,
                timeout: std::time::Duration,
            ) -> futures_util::future::BoxFuture<'a, $crate::runner::steps::StepResult> {
                Box::pin($run(st, conn, self, timeout))
            }

            fn boxed(&self) -> Box<dyn $crate::protocol::StepDef> {
                Box::new(self.clone())
            }
        }
    };
}
pub(crate) use step_def;

/// How strongly a step's map reads as a protocol's own, when several protocols share its
/// keyword: a `query` is graphql-ws's, a `destination` STOMP's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Claim {
    No,
    /// The protocol reads maps of this keyword that no other protocol claims.
    Fallback,
    /// The map has a key only this protocol's step has.
    Strong,
}

/// A protocol step in a loaded collection.
#[derive(Debug)]
pub enum ProtocolStep {
    Ready(Box<dyn StepDef>),
    /// A keyword several protocols have, kept as YAML until its connection's protocol is known.
    Deferred(Deferred),
}

/// A step's YAML, and where it starts (errors reading it point there).
#[derive(Debug, Clone)]
pub struct Deferred {
    pub keyword: &'static str,
    pub yaml: Value,
    pub line: usize,
    pub column: usize,
}

impl Clone for ProtocolStep {
    fn clone(&self) -> Self {
        match self {
            ProtocolStep::Ready(s) => ProtocolStep::Ready(s.boxed()),
            ProtocolStep::Deferred(d) => ProtocolStep::Deferred(d.clone()),
        }
    }
}

impl ProtocolStep {
    pub fn keyword(&self) -> &'static str {
        match self {
            ProtocolStep::Ready(s) => s.keyword(),
            ProtocolStep::Deferred(d) => d.keyword,
        }
    }

    pub fn conn(&self) -> Option<&str> {
        match self {
            ProtocolStep::Ready(s) => s.conn(),
            ProtocolStep::Deferred(d) => d.yaml.get("conn").and_then(Value::as_str),
        }
    }

    /// The step, once read (always, in a loaded collection).
    pub fn ready(&self) -> Option<&dyn StepDef> {
        match self {
            ProtocolStep::Ready(s) => Some(s.as_ref()),
            ProtocolStep::Deferred(_) => None,
        }
    }
}
