//! When each connection of a request opens: before the first step, right after the step that
//! provides the last value its templates name, or at an explicit `connect` step — and the
//! load-time checks that no step uses a connection before it opens and that `connect` never
//! opens a connection that is already open.

use serde_json::Value;

use super::de::{map_or_scalar, scalar_text};
use super::step::{Step, StepKind};
use super::{Connection, LAST_ID};

/// `connect: NAME`, `connect:` (the single connection) or `connect: {conn: NAME}`: opens the
/// connection at this point; after a `close`, opens it again (a fresh socket and inbox).
#[derive(Debug, Clone, Default)]
pub struct Connect {
    pub conn: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConnect {
    conn: Option<String>,
}

impl TryFrom<RawConnect> for Connect {
    type Error = String;
    fn try_from(r: RawConnect) -> Result<Self, String> {
        Ok(Connect { conn: r.conn })
    }
}

map_or_scalar!(
    Connect,
    RawConnect,
    "a connection name, or nothing for the request's single connection",
    |v| match v {
        Value::Null => Ok(Connect::default()),
        other => match scalar_text(&other) {
            Some(name) => Ok(Connect { conn: Some(name) }),
            None => Err(format!(
                "`connect` takes a connection name, found {}",
                crate::value::type_name(&other)
            )),
        },
    }
);

/// When a connection opens (the first time; `connect` after a `close` opens it again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opens {
    /// Before the first step.
    Start,
    /// Right after this step (0-based), which provides the last value its templates name.
    After(usize),
    /// At its first `connect` step (0-based).
    AtConnect(usize),
}

impl StepKind {
    /// The template names this step provides to the steps after it (and to connections that
    /// wait for them): what it captures or sets. Any step kind that stores values answers here.
    pub fn provides(&self) -> Vec<&str> {
        match self {
            StepKind::Capture(c) => c.0.iter().map(|(n, _)| n.as_str()).collect(),
            StepKind::Set(s) => s.0.iter().map(|(n, _)| n.as_str()).collect(),
            StepKind::Http(h) => h.captured().collect(),
            StepKind::Protocol(p) if p.ready().is_some_and(|p| p.sets_last_id()) => vec![LAST_ID],
            _ => Vec::new(),
        }
    }
}

/// Why a connection waits past the start: the name it needs and the step that provides it.
struct Wait {
    name: String,
    step: usize,
}

/// The step (0-based) after which each of a connection's names is provided, the latest one.
fn waits_for(c: &Connection, steps: &[Step]) -> Option<Wait> {
    c.template_vars()
        .into_iter()
        .filter_map(|name| {
            let step = steps
                .iter()
                .position(|s| s.kind.provides().contains(&name.as_str()))?;
            Some(Wait { name, step })
        })
        .max_by_key(|w| w.step)
}

/// The step's `(index, line)` as users read it: `step 3 (line 12)`.
fn step_at(steps: &[Step], index: usize) -> String {
    format!("step {} (line {})", index + 1, steps[index].line)
}

/// The name of the connection a step talks to (the first one when it names none).
fn conn_of<'a>(kind: &'a StepKind, conns: &'a [Connection]) -> &'a str {
    kind.conn().unwrap_or(conns[0].name.as_str())
}

/// Where a connection stands at a point of the steps, as the loader can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    NotYet,
    Open,
    Closed,
}

/// When each connection opens, checked against the steps: the line and message of the first
/// step that uses a connection before it opens, or `connect`s one that is open. With `again`
/// (`repeat` or a load), the steps are checked for a second pass too, from where the first
/// left the connections.
pub fn schedule(
    conns: &[Connection],
    steps: &[Step],
    again: bool,
) -> Result<Vec<Opens>, (usize, String)> {
    let mut opens = Vec::with_capacity(conns.len());
    for c in conns {
        let on_it = |s: &Step| conn_of(&s.kind, conns) == c.name;
        let first_connect = steps
            .iter()
            .position(|s| matches!(s.kind, StepKind::Connect(_)) && on_it(s));
        let closed_before = |at: usize| {
            steps[..at].iter().any(|s| {
                on_it(s) && matches!(s.kind, StepKind::Close(_) | StepKind::ExpectClose(_))
            })
        };
        let wait = waits_for(c, steps);
        opens.push(match (first_connect, &wait) {
            (Some(at), Some(w)) if !closed_before(at) && at <= w.step => {
                return Err((
                    steps[at].line,
                    format!(
                        "`connect` opens connection `{}` here, but its settings name `{}`, which {} provides later",
                        c.name,
                        w.name,
                        step_at(steps, w.step)
                    ),
                ))
            }
            (Some(at), _) if !closed_before(at) => Opens::AtConnect(at),
            (_, Some(w)) => Opens::After(w.step),
            _ => Opens::Start,
        });
    }
    let mut state: Vec<State> = opens
        .iter()
        .map(|o| match o {
            Opens::Start => State::Open,
            _ => State::NotYet,
        })
        .collect();
    for again in [false, true].into_iter().take(if again { 2 } else { 1 }) {
        for (i, step) in steps.iter().enumerate() {
            walk(conns, steps, &opens, &mut state, i, again)
                .map_err(|message| (step.line, message))?;
        }
    }
    Ok(opens)
}

/// Step `i` against where each connection stands, then the connections that open after it
/// (`again`: in a second pass through the steps).
fn walk(
    conns: &[Connection],
    steps: &[Step],
    opens: &[Opens],
    state: &mut [State],
    i: usize,
    again: bool,
) -> Result<(), String> {
    let kind = &steps[i].kind;
    let name = conn_of(kind, conns);
    // The loader checked every step's connection name before this runs.
    let at = conns.iter().position(|c| c.name == name);
    if let (true, Some(c)) = (kind.uses_connection(), at) {
        match (kind, state[c]) {
            (StepKind::Connect(_), State::Open) if again => {
                return Err(format!(
                    "`connect`: connection `{name}` is still open when the steps run again (`repeat`, or a load's users, run them more than once); `close` it before the steps end"
                ))
            }
            (StepKind::Connect(_), State::Open) => {
                return Err(format!(
                    "`connect`: connection `{name}` is already open here; `close` it first to reconnect"
                ))
            }
            (StepKind::Connect(_), _) => state[c] = State::Open,
            (_, State::NotYet) => {
                let why = match opens[c] {
                    Opens::AtConnect(at) => {
                        format!("it opens at the `connect` of {}", step_at(steps, at))
                    }
                    Opens::After(at) => format!(
                        "it opens after {}, which provides a value its settings name",
                        step_at(steps, at)
                    ),
                    Opens::Start => "it is not open".into(),
                };
                return Err(format!(
                    "`{}` uses connection `{name}` before it opens: {why}",
                    kind.keyword()
                ));
            }
            (StepKind::Close(_) | StepKind::ExpectClose(_), _) => state[c] = State::Closed,
            _ => {}
        }
    }
    for (c, o) in opens.iter().enumerate() {
        if *o == Opens::After(i) {
            state[c] = State::Open;
        }
    }
    Ok(())
}
