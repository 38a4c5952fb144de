//! Collections: YAML text → typed, validated structures with JSONPaths, matchers and templates
//! compiled once (docs/collection.md and docs/steps.md). Errors carry the file, line and column.

mod control;
pub mod data;
pub(crate) mod de;
mod error;
mod http;
mod load;
mod mock;
mod opening;
mod protocol;
pub mod schema;
mod step;
mod transport;
mod vars;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

pub use crate::protocol::graphql_ws::yaml::{GraphqlWsMock, GraphqlWsOptions};
use crate::protocol::graphql_ws_legacy::yaml::GraphqlWsLegacyOptions;
pub use crate::protocol::jsonrpc::yaml::MockMethod;
use crate::protocol::mqtt::yaml::MqttOptions;
pub use crate::protocol::phoenix::yaml::PhoenixOptions;
use crate::protocol::signalr::yaml::SignalROptions;
pub use crate::protocol::socketio::yaml::{MockEmit, MockSocketIo, SocketIoOptions};
pub use crate::protocol::stomp::yaml::StompOptions;
pub use crate::yaml::yaml_options;
pub use control::{Close, ExpectClose, Ping};
pub use de::{Dur, OrderedMap, Size};
pub use error::LoadError;
pub use http::{check_method, check_url, Http, HttpBody};
pub use load::{latency_check, measures_round_trip, Load, Metric, Model, Threshold};
pub use mock::{MockDef, MockHttpRoute, MockReply, MockRule};
pub use opening::Opens;
pub use protocol::*;
pub use step::*;
use transport::check_proxy;
pub use transport::Tls;
pub use vars::LAST_ID;

use crate::template::{TValue, Template, VarRef};

/// The default for every waiting step and for connecting.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The default `max_message_size`.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 << 20;

/// A loaded collection file.
#[derive(Debug, Clone)]
pub struct Collection {
    pub path: PathBuf,
    pub source: String,
    pub name: String,
    pub description: Option<String>,
    pub vars: Vec<(String, TValue)>,
    pub environments: Vec<(String, Vec<(String, TValue)>)>,
    pub default_env: Option<String>,
    pub mocks: Vec<(String, MockDef)>,
    pub defaults: Defaults,
    pub secrets: Vec<String>,
    pub requests: Vec<Request>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    pub timeout: Option<Dur>,
    pub connect_timeout: Option<Dur>,
    pub max_message_size: Option<Size>,
    /// The proxy of every connection (`none`: connect directly), over the environment's.
    pub proxy: Option<Spanned<Template>>,
    /// `compression: false`: permessage-deflate is not offered.
    pub compression: Option<bool>,
}

/// One request: its connections (all opened before the first step) and its steps.
#[derive(Debug, Clone)]
pub struct Request {
    pub name: String,
    pub description: Option<String>,
    pub line: usize,
    pub connections: Vec<Connection>,
    pub timeout: Option<Duration>,
    /// Every message the request receives must match a message of this AsyncAPI channel.
    pub contract: Option<crate::contract::RequestContract>,
    pub steps: Vec<Step>,
    /// `repeat: N`: the steps run N times on the same connections (1 without it).
    pub repeat: u64,
    /// `load:`: concurrent copies of the request, and how they come and go (`collection::load`).
    pub load: Option<Model>,
    /// `thresholds:` that judge the load (with `load:` and none given: `failed: {lte: 0}`).
    pub thresholds: Vec<Threshold>,
    /// `data:`: rows for `{{ row.COLUMN }}`, one per load user or `repeat` iteration.
    pub data: Option<data::Data>,
    /// When each of `connections` opens (`collection::opening`).
    pub opens: Vec<Opens>,
}

/// The name a request's single `url:` connection goes by.
pub const DEFAULT_CONN: &str = "default";

#[derive(Debug, Clone)]
pub struct Connection {
    pub name: String,
    pub line: usize,
    pub url: Template,
    pub headers: Vec<(String, Template)>,
    pub subprotocols: Vec<Template>,
    pub tls: Tls,
    pub connect_timeout: Option<Duration>,
    /// Its `proxy:` (or its request's): a URL or `none`, over `defaults.proxy` and the
    /// environment's.
    pub proxy: Option<Spanned<Template>>,
    /// Its own or its request's `compression:` (else `defaults.compression`, else on).
    pub compression: Option<bool>,
    /// What it speaks inside the frames (`raw` unless `protocol:` says otherwise).
    pub protocol: ProtocolConfig,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCollection {
    name: Option<String>,
    description: Option<String>,
    #[serde(default)]
    vars: OrderedMap<String, TValue>,
    #[serde(default)]
    environments: OrderedMap<String, OrderedMap<String, TValue>>,
    default_env: Option<Spanned<String>>,
    #[serde(default)]
    mocks: OrderedMap<String, Spanned<MockDef>>,
    #[serde(default)]
    defaults: Defaults,
    #[serde(default)]
    secrets: Vec<String>,
    requests: Vec<Spanned<RawRequest>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    name: Spanned<String>,
    description: Option<String>,
    url: Option<Spanned<Template>>,
    #[serde(default)]
    headers: OrderedMap<String, Template>,
    #[serde(default)]
    subprotocols: Vec<Template>,
    #[serde(default)]
    tls: Tls,
    connect_timeout: Option<Dur>,
    proxy: Option<Spanned<Template>>,
    compression: Option<bool>,
    timeout: Option<Dur>,
    protocol: Option<ProtocolName>,
    socketio: Option<Spanned<SocketIoOptions>>,
    #[serde(rename = "graphql-ws")]
    graphql_ws: Option<Spanned<GraphqlWsOptions>>,
    stomp: Option<Spanned<StompOptions>>,
    mqtt: Option<Spanned<MqttOptions>>,
    #[serde(rename = "graphql-ws-legacy")]
    graphql_ws_legacy: Option<Spanned<GraphqlWsLegacyOptions>>,
    signalr: Option<Spanned<SignalROptions>>,
    phoenix: Option<Spanned<PhoenixOptions>>,
    contract: Option<crate::contract::RequestContract>,
    connections: Option<OrderedMap<String, Spanned<RawConnection>>>,
    #[serde(default)]
    steps: Vec<Spanned<StepKind>>,
    repeat: Option<Spanned<u64>>,
    load: Option<Spanned<Load>>,
    #[serde(default)]
    thresholds: OrderedMap<String, Spanned<serde_json::Value>>,
    data: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConnection {
    url: Spanned<Template>,
    #[serde(default)]
    headers: OrderedMap<String, Template>,
    #[serde(default)]
    subprotocols: Vec<Template>,
    #[serde(default)]
    tls: Tls,
    connect_timeout: Option<Dur>,
    proxy: Option<Spanned<Template>>,
    compression: Option<bool>,
    protocol: Option<ProtocolName>,
    socketio: Option<Spanned<SocketIoOptions>>,
    #[serde(rename = "graphql-ws")]
    graphql_ws: Option<Spanned<GraphqlWsOptions>>,
    stomp: Option<Spanned<StompOptions>>,
    mqtt: Option<Spanned<MqttOptions>>,
    #[serde(rename = "graphql-ws-legacy")]
    graphql_ws_legacy: Option<Spanned<GraphqlWsLegacyOptions>>,
    signalr: Option<Spanned<SignalROptions>>,
    phoenix: Option<Spanned<PhoenixOptions>>,
}

impl RawConnection {
    fn protocol_keys(&self) -> ProtocolKeys {
        ProtocolKeys {
            protocol: self.protocol,
            socketio: self.socketio.clone(),
            graphql_ws: self.graphql_ws.clone(),
            stomp: self.stomp.clone(),
            mqtt: self.mqtt.clone(),
            graphql_ws_legacy: self.graphql_ws_legacy.clone(),
            signalr: self.signalr.clone(),
            phoenix: self.phoenix.clone(),
        }
    }
}

/// Reads a file that must be UTF-8 text.
pub fn read_text(path: &Path) -> Result<String, LoadError> {
    let bytes = std::fs::read(path).map_err(|e| LoadError::io(path, &e))?;
    String::from_utf8(bytes).map_err(|e| {
        LoadError::plain(
            path,
            format!(
                "the file is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

impl Collection {
    /// Reads and validates a collection file.
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        Self::parse(&read_text(path)?, path)
    }

    /// Validates a collection given as text; `path` names it in errors and anchors relative
    /// files (fixtures, CAs, snapshots).
    pub fn parse(text: &str, path: &Path) -> Result<Self, LoadError> {
        let blank = text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#') || l.trim() == "---");
        if blank {
            return Err(LoadError::plain(
                path,
                "the file is empty: a collection needs at least `requests:`",
            ));
        }
        // Files the collection names (`schema:`, `contract:`) are relative to it.
        let dir = path.parent().unwrap_or(Path::new("."));
        let raw: RawCollection = crate::contract::loading_from(dir, || {
            crate::template::keeping_long_numbers(text, || {
                serde_saphyr::from_str_with_options(text, yaml_options())
            })
        })
        .map_err(|e| LoadError::from_yaml(path, text, &e))?;
        let at = |line: usize, message: String| LoadError::at(path, text, line, 0, message);
        let at_column = |line: usize, column: usize, message: String| {
            LoadError::at(path, text, line, column, message)
        };

        let environments: Vec<(String, Vec<(String, TValue)>)> = raw
            .environments
            .0
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect();
        if let Some(env) = &raw.default_env {
            if !environments.iter().any(|(n, _)| *n == env.value) {
                return Err(at(
                    env.referenced.line() as usize,
                    unknown_env_message(&env.value, &environments),
                ));
            }
        }

        let mut mocks = Vec::with_capacity(raw.mocks.0.len());
        for (name, def) in raw.mocks.0 {
            crate::protocol::check_mock(&def.value)
                .map_err(|m| at(def.referenced.line() as usize, m))?;
            if let Some(replay) = def
                .value
                .replay
                .as_ref()
                .filter(|r| r.value.to_string_lossy().contains("{{"))
            {
                return Err(at(
                    replay.referenced.line() as usize,
                    format!(
                        "mock `{name}`: `replay` is a file path and takes no template: a mock starts before the variables, which may name its URL"
                    ),
                ));
            }
            crate::protocol::check_mock_late(&def.value)
                .map_err(|m| at(def.referenced.line() as usize, m))?;
            mocks.push((name, def.value));
        }

        let mut requests: Vec<Request> = Vec::with_capacity(raw.requests.len());
        for spanned in raw.requests {
            requests.push(build_request(spanned, &requests, dir, &at, &at_column)?);
        }

        check_proxy(raw.defaults.proxy.as_ref()).map_err(|(l, m)| at(l, m))?;
        let name = raw.name.unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "collection".into())
        });
        Ok(Collection {
            path: path.to_path_buf(),
            source: text.to_string(),
            name,
            description: raw.description,
            vars: raw.vars.0,
            environments,
            default_env: raw.default_env.map(|s| s.value),
            mocks,
            defaults: raw.defaults,
            secrets: raw.secrets,
            requests,
        })
    }

    /// The folder relative files are resolved against.
    pub fn base_dir(&self) -> PathBuf {
        self.path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }

    /// An error pointing at a line of this collection.
    pub fn error_at(&self, line: usize, message: impl Into<String>) -> LoadError {
        LoadError::at(&self.path, &self.source, line, 0, message.into())
    }

    /// The environment a run uses: `--env`, else `default_env`, else the first one.
    pub fn select_env(&self, requested: Option<&str>) -> Result<Option<&str>, LoadError> {
        match requested {
            Some(name) => match self.environments.iter().find(|(n, _)| n == name) {
                Some((n, _)) => Ok(Some(n.as_str())),
                None => Err(LoadError::plain(
                    &self.path,
                    unknown_env_message(name, &self.environments),
                )),
            },
            None => Ok(self
                .default_env
                .as_deref()
                .or_else(|| self.environments.first().map(|(n, _)| n.as_str()))),
        }
    }

    /// The variables of an environment.
    pub fn env_vars(&self, env: Option<&str>) -> &[(String, TValue)] {
        env.and_then(|e| self.environments.iter().find(|(n, _)| n == e))
            .map(|(_, v)| v.as_slice())
            .unwrap_or(&[])
    }
}

/// A request as the runner reads it: its connections (`url` or `connections`), its steps, each
/// step's connection checked; its name must differ from every `previous` request's.
fn build_request(
    spanned: Spanned<RawRequest>,
    previous: &[Request],
    dir: &Path,
    at: &dyn Fn(usize, String) -> LoadError,
    at_column: &dyn Fn(usize, usize, String) -> LoadError,
) -> Result<Request, LoadError> {
    let line = spanned.referenced.line() as usize;
    let r = spanned.value;
    if let Some(prev) = previous.iter().find(|p| p.name == r.name.value) {
        return Err(at(
            r.name.referenced.line() as usize,
            format!(
                "duplicate request name `{}` (first used on line {}): names identify requests in reports, filters and shards",
                r.name.value, prev.line
            ),
        ));
    }
    let keys = ProtocolKeys {
        protocol: r.protocol,
        socketio: r.socketio,
        graphql_ws: r.graphql_ws,
        stomp: r.stomp,
        mqtt: r.mqtt,
        graphql_ws_legacy: r.graphql_ws_legacy,
        signalr: r.signalr,
        phoenix: r.phoenix,
    };
    r.tls.check().map_err(|(l, m)| at(l, m))?;
    check_proxy(r.proxy.as_ref()).map_err(|(l, m)| at(l, m))?;
    let connections = match (r.url, r.connections) {
        (Some(url), None) => vec![Connection {
            name: DEFAULT_CONN.to_string(),
            line: url.referenced.line() as usize,
            url: url.value,
            headers: r.headers.0,
            subprotocols: r.subprotocols,
            tls: r.tls,
            connect_timeout: r.connect_timeout.map(|d| d.0),
            proxy: r.proxy.clone(),
            compression: r.compression,
            protocol: keys.config(None).map_err(|(l, m)| at(l, m))?,
        }],
        (None, Some(conns)) if !conns.0.is_empty() => conns
            .0
            .into_iter()
            .map(|(name, c)| {
                let line = c.referenced.line() as usize;
                let protocol = c.value.protocol_keys().config(Some(&keys));
                c.value.tls.check().map_err(|(l, m)| at(l, m))?;
                check_proxy(c.value.proxy.as_ref()).map_err(|(l, m)| at(l, m))?;
                Ok(Connection {
                    name,
                    line,
                    url: c.value.url.value,
                    headers: c.value.headers.0,
                    subprotocols: c.value.subprotocols,
                    tls: c.value.tls,
                    connect_timeout: c.value.connect_timeout.map(|d| d.0),
                    proxy: c.value.proxy.or_else(|| r.proxy.clone()),
                    compression: c.value.compression.or(r.compression),
                    protocol: protocol.map_err(|(l, m)| at(l, m))?,
                })
            })
            .collect::<Result<_, LoadError>>()?,
        (Some(_), Some(_)) => {
            return Err(at(
                line,
                format!(
                    "request `{}` has both `url` and `connections`: use one",
                    r.name.value
                ),
            ))
        }
        _ => {
            return Err(at(
                line,
                format!(
                    "request `{}` needs a `url` (or `connections`)",
                    r.name.value
                ),
            ))
        }
    };
    let mut steps = Vec::with_capacity(r.steps.len());
    for s in r.steps {
        let mut step = Step {
            line: s.referenced.line() as usize,
            kind: s.value,
        };
        check_step_connection(&step, &connections).map_err(|m| at(step.line, m))?;
        let conn = step
            .kind
            .conn()
            .and_then(|n| connections.iter().find(|c| c.name == n))
            .unwrap_or(&connections[0]);
        let (name, speaks) = (conn.name.clone(), conn.protocol.name());
        check_step_protocol(&mut step, &name, speaks).map_err(|(line, column, m)| {
            if column == 0 {
                at(line, m)
            } else {
                at_column(line, column, error::hinted(&m))
            }
        })?;
        steps.push(step);
    }
    let repeat = match r.repeat {
        Some(n) if n.value == 0 => {
            return Err(at(
                n.referenced.line() as usize,
                "`repeat` must be at least 1".into(),
            ))
        }
        Some(n) => n.value,
        None => 1,
    };
    let mut thresholds = Vec::with_capacity(r.thresholds.0.len());
    for (name, limits) in r.thresholds.0 {
        let t_line = limits.referenced.line() as usize;
        let t = Threshold::parse(&name, &limits.value).map_err(|m| at(t_line, m))?;
        thresholds.push((t_line, t));
    }
    let load = r
        .load
        .as_ref()
        .map(|l| (l.referenced.line() as usize, &l.value));
    let load = load::check_request(&steps, load, &thresholds).map_err(|(l, m)| at(l, m))?;
    let again = repeat > 1 || r.load.is_some();
    let opens = opening::schedule(&connections, &steps, again).map_err(|(l, m)| at(l, m))?;
    let data = r
        .data
        .map(|file| data::Data::load(file, dir))
        .transpose()
        .map_err(|(l, m)| at(l, m))?;
    Ok(Request {
        name: r.name.value,
        description: r.description,
        line,
        connections,
        timeout: r.timeout.map(|d| d.0),
        contract: r.contract,
        steps,
        repeat,
        load,
        thresholds: thresholds.into_iter().map(|(_, t)| t).collect(),
        data,
        opens,
    })
}

fn unknown_env_message(name: &str, envs: &[(String, Vec<(String, TValue)>)]) -> String {
    if envs.is_empty() {
        return format!("unknown environment `{name}`: the collection defines no `environments`");
    }
    let names: Vec<&str> = envs.iter().map(|(n, _)| n.as_str()).collect();
    let hint = crate::template::closest(name, names.iter().copied())
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default();
    format!(
        "unknown environment `{name}`{hint}; this collection has: {}",
        names.join(", ")
    )
}

fn check_step_connection(step: &Step, conns: &[Connection]) -> Result<(), String> {
    match step.kind.conn() {
        Some(name) if !conns.iter().any(|c| c.name == name) => {
            let names: Vec<&str> = conns.iter().map(|c| c.name.as_str()).collect();
            let hint = crate::template::closest(name, names.iter().copied())
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            Err(format!(
                "`{}` names connection `{name}`, which this request does not open{hint}; it has: {}",
                step.kind.keyword(),
                names.join(", ")
            ))
        }
        None if conns.len() > 1 && step.kind.uses_connection() => Err(format!(
            "this request opens several connections, so `{}` must say which: add `conn: {}`",
            step.kind.keyword(),
            conns[0].name
        )),
        _ => Ok(()),
    }
}
