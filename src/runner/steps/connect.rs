//! Opening a connection between steps: `connect` (again, after a `close`: the same name, a fresh
//! socket and inbox), and the connections that open right after the step that provides the last
//! value their settings name (`collection::Opens::After`).

use super::{Ctx, State, StepResult};
use crate::collection::{Opens, Request};
use crate::report::Failure;
use crate::runner::conn::Conn;
use crate::runner::request::{connect_spec, connection_secrets, open_failure, protocol};

/// Whether a socket is open: not closed by either side.
fn is_open(conn: &Conn) -> bool {
    conn.closed().is_none() && !conn.close_sent
}

/// `connect`: opens connection `name` (the request's only one when `None`), which must not be
/// open.
pub(super) async fn run(
    ctx: &Ctx<'_>,
    request: &Request,
    st: &mut State<'_>,
    name: Option<&str>,
) -> StepResult {
    let c = request.connection(name);
    if let Some(conn) = st.conns.iter().find(|s| s.base_name() == c.name) {
        if is_open(conn) {
            return Err((
                Failure {
                    summary: format!(
                        "cannot connect: connection `{}` is still open; `close` it first to reconnect",
                        c.name
                    ),
                    connection: Some(c.name.clone()),
                    ..Failure::default()
                },
                0,
            ));
        }
    }
    Box::pin(open(ctx, request, st, &c.name))
        .await
        .map_err(|f| (f, 0))?;
    Ok(0)
}

/// Opens the connections that wait for step `index` (0-based) and are not open yet; a failure
/// belongs to that step.
pub(in crate::runner) async fn after_step(
    ctx: &Ctx<'_>,
    request: &Request,
    index: usize,
    st: &mut State<'_>,
) -> Result<(), Failure> {
    for (c, opens) in request.connections.iter().zip(&request.opens) {
        if *opens != Opens::After(index) {
            continue;
        }
        let open_now = st
            .conns
            .iter()
            .any(|s| s.base_name() == c.name && is_open(s));
        if !open_now {
            Box::pin(open(ctx, request, st, &c.name))
                .await
                .map_err(|mut f| {
                    f.summary = format!(
                        "connection `{}` (which waits for this step) could not open: {}",
                        c.name, f.summary
                    );
                    f
                })?;
        }
    }
    Ok(())
}

/// Opens connection `name` with the values captured so far, in place of its earlier socket if
/// it had one (closed already): that one's inbox goes with it. Callers box it: opening (TCP,
/// TLS, the handshake) is a future of kilobytes that every load user would otherwise carry
/// through every step. A later socket of the same connection is named `NAME#2`, `NAME#3`… in transcripts.
async fn open(
    ctx: &Ctx<'_>,
    request: &Request,
    st: &mut State<'_>,
    name: &str,
) -> Result<(), Failure> {
    let c = request.connection(Some(name));
    connection_secrets(ctx.collection, c, &st.scope, &mut st.masker);
    let mut spec = connect_spec(ctx, c, &st.scope)?;
    // The cookies the request's `http` steps were given so far go on the handshake.
    crate::runner::http::add_cookies(&st.jar, std::slice::from_mut(&mut spec));
    let built = protocol(c, &st.scope)?;
    let slot = st.conns.iter().position(|s| s.base_name() == c.name);
    let socket = slot.map_or(1, |i| st.conns[i].socket + 1);
    if socket > 1 {
        spec.name = format!("{}#{socket}", c.name);
    }
    let failed = |e: String| {
        let mut f = open_failure(request, &spec, e);
        f.connection = Some(c.name.clone());
        f.line = Some(c.line);
        f
    };
    let began = tokio::time::Instant::now();
    let mut conn = Conn::open_with(&spec, built).await.map_err(failed)?;
    conn.socket = socket;
    if let Some(h) = conn.take_handshake() {
        st.rec.handshake(h);
    }
    conn.handshake(spec.connect_timeout, &mut st.rec)
        .await
        .map_err(failed)?;
    if let Some(contract) = &request.contract {
        conn.contract = Some(Box::new(crate::contract::Watch::new(contract.0.clone())));
    }
    st.opened_late.push((began.elapsed(), slot.is_none()));
    match slot {
        Some(i) => {
            let old = std::mem::replace(&mut st.conns[i], conn);
            old.shutdown(&mut st.rec).await;
        }
        None => st.conns.push(conn),
    }
    Ok(())
}
