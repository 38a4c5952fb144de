//! SignalR in collections: `signalr: {access_token}`, the `invoke` and `send` steps, and a
//! mock's `signalr:` hub options ([`super::hub::HubOptions`]).

use serde::Deserialize;

use crate::collection::Dur;
use crate::collection::{matcher_vars, MatcherMap};
use crate::template::{TValue, Template, VarRef};

/// `signalr: {access_token}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalROptions {
    /// Sent as the URL's `access_token` query parameter; a secret.
    pub access_token: Option<Template>,
}

impl SignalROptions {
    pub fn vars(&self, out: &mut Vec<VarRef>) {
        out.extend(self.access_token.iter().flat_map(Template::vars).cloned());
    }

    /// The access token, as given and as the URL's query carries it: masked in every output
    /// whether or not its variable is among the `secrets:`.
    pub fn secrets(&self, scope: &dyn crate::template::Lookup) -> Vec<String> {
        let token = self
            .access_token
            .as_ref()
            .and_then(|t| t.expand(scope).ok());
        token
            .map(|t| vec![super::query_encoded(&t), t])
            .unwrap_or_default()
    }
}

/// `invoke: {target, args, result, error}`: an invocation with an id, waiting for its completion.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Invoke {
    pub conn: Option<String>,
    pub timeout: Option<Dur>,
    pub target: Template,
    #[serde(default)]
    pub args: Vec<TValue>,
    /// Matchers over the completion's `result`, as `$`.
    pub result: Option<MatcherMap>,
    /// Matchers over the completion's `error`, as `$`: the invocation is expected to fail.
    pub error: Option<MatcherMap>,
}

/// `send: {target, args}`: an invocation without an id (the hub sends nothing back).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendInvocation {
    pub conn: Option<String>,
    pub target: Template,
    #[serde(default)]
    pub args: Vec<TValue>,
}

/// The variables a target and its arguments name.
pub fn invocation_vars(target: &Template, args: &[TValue], out: &mut Vec<VarRef>) {
    out.extend(target.vars().cloned());
    args.iter().for_each(|a| a.vars(out));
}

impl Invoke {
    pub fn vars(&self, out: &mut Vec<VarRef>) {
        invocation_vars(&self.target, &self.args, out);
        matcher_vars(self.result.as_ref(), out);
        matcher_vars(self.error.as_ref(), out);
    }
}
