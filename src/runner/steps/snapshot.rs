//! `snapshot`: the next message(s), or their merged shape, compared with the snapshot store.

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::{Ctx, State, StepResult};
use crate::collection::{Request, Snapshot, Step};
use crate::duration::format_duration;
use crate::report::Failure;
use crate::runner::conn::{Incoming, RecvError};
use crate::snapshot::{self as store, shape, Verdict};

/// Runs a snapshot step: reads the messages, builds the body, compares, writes as the flow says.
pub(super) async fn run(
    ctx: &Ctx<'_>,
    request: &Request,
    step: &Step,
    spec: &Snapshot,
    st: &mut State<'_>,
    conn: usize,
    timeout: Duration,
) -> StepResult {
    let index = request
        .steps
        .iter()
        .position(|s| std::ptr::eq(s, step))
        .unwrap_or(0)
        + 1;
    let name = match &spec.name {
        Some(t) => t
            .expand(&st.scope)
            .map_err(|e| (Failure::new(e.to_string()), 0))?,
        None => store::default_name(&request.name, index),
    };
    let (conn, rec) = (&mut st.conns[conn], &mut st.rec);
    let count = spec.count.unwrap_or(1).max(1);
    let deadline = Instant::now() + timeout;
    let mut messages = Vec::with_capacity(count.min(10_000) as usize);
    while (messages.len() as u64) < count {
        match conn.recv(deadline, rec).await {
            Ok(m) => messages.push(to_value(&m)),
            Err(e) => {
                let why = match e {
                    RecvError::Timeout => format!("no message within {}", format_duration(timeout)),
                    RecvError::Closed(c) => c.describe(),
                };
                return Err((
                    Failure::new(format!(
                        "snapshot: {why}; received {} of {count} message(s)",
                        messages.len()
                    )),
                    messages.len() as u64,
                ));
            }
        }
    }
    let n = messages.len() as u64;
    for m in &mut messages {
        shape::redact(m, &spec.redact);
    }
    let body = st
        .masker
        .mask(&shape::render_body(&messages, spec.shape))
        .into_owned();
    let path = store::snapshot_path(&ctx.collection.path, &name);
    let header = store::Header {
        source: store::source_header(&ctx.collection.path),
        description: format!("{} › step {index} (line {})", request.name, step.line),
        expression: if spec.shape {
            format!("shape of {n} message(s)")
        } else {
            format!("{n} message(s)")
        },
    };
    let hint = ctx
        .opts
        .update_hint
        .as_deref()
        .unwrap_or("--update-snapshots");
    verdict(&ctx.snapshots, &path, &header, &body, hint).map_err(|f| (f, n))?;
    Ok(n)
}

/// Compares with the store and turns a difference into a failure with its diff.
fn verdict(
    store: &store::Store,
    path: &std::path::Path,
    header: &store::Header,
    body: &str,
    update_hint: &str,
) -> Result<(), Failure> {
    let (old, pending) = match store.check(path, header, body).map_err(Failure::new)? {
        Verdict::Same | Verdict::Updated => return Ok(()),
        Verdict::Differs { old, pending } => (old, pending),
    };
    let where_ = match pending {
        Some(pending) => format!(
            "wrote {}; accept it with `wsrun snapshots accept` or rerun with {update_hint}",
            pending.display()
        ),
        None => "CI is set, so nothing was written".into(),
    };
    Err(match old {
        None => Failure {
            summary: format!("no snapshot {} yet; {where_}", path.display()),
            detail: Some(store::diff("", body)),
            ..Failure::default()
        },
        Some(old) => Failure {
            summary: format!(
                "snapshot {} differs ({}); {where_}",
                path.display(),
                store::changed_fields(&old, body)
            ),
            detail: Some(store::diff(&old, body)),
            ..Failure::default()
        },
    })
}

fn to_value(m: &Incoming) -> Value {
    match m {
        Incoming::Text(t) => {
            serde_json::from_str(t.as_str()).unwrap_or_else(|_| Value::String(t.as_str().into()))
        }
        Incoming::Envelope(v) => v.clone(),
        Incoming::Binary(b) => {
            use base64::Engine as _;
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
    }
}
