//! One pass through a request's steps, measuring round trips: what a plain run does once, what
//! `repeat: N` does N times, and what each of a load's users does until its load ends. Where the
//! results go is the caller's [`Sink`]: step reports (`request.rs`) or a load's totals
//! (`load.rs`).

use std::time::Duration;

use tokio::time::Instant;

use super::steps::{Ctx, State};
use crate::collection::{latency_check, measures_round_trip, Request, StepKind};
use crate::latency::{format_ms, Unit};
use crate::report::Failure;

/// What one step did in one iteration.
pub(super) struct StepRun {
    /// 0-based position in the request.
    pub index: usize,
    pub duration: Duration,
    pub messages: u64,
    /// The round trip it measured, if it waited for an answer.
    pub latency: Option<Duration>,
    pub failure: Option<Failure>,
}

/// Where an iteration's step results go.
pub(super) trait Sink {
    fn step(&mut self, run: StepRun);
}

/// Runs the steps once, in order, stopping at the first that fails; returns whether all passed.
///
/// A step measures a round trip when it says so itself ([`State::latency`]: `call`, `reply`),
/// or when it is an `expect`/`wait_for` directly after a `send` on the same connection: then
/// from the start of the `send` to the end of the step, the message it waited for. A step's
/// `latency:` limits on each round trip are checked here.
pub(super) async fn run_steps(
    ctx: &Ctx<'_>,
    request: &Request,
    st: &mut State<'_>,
    sink: &mut impl Sink,
) -> bool {
    let mut sent_at: Option<Instant> = None;
    let measure = !ctx.opts.no_latency;
    for (index, step) in request.steps.iter().enumerate() {
        let started = Instant::now();
        // Only the count is held across the connections' opening, not a whole result.
        let result = match super::steps::run(ctx, request, step, st).await {
            Ok(n) => match super::steps::after_step(ctx, request, index, st).await {
                Ok(()) => Ok(n),
                Err(f) => Err((f, n)),
            },
            failed => failed,
        };
        let result = contract_violation(st, result);
        let ended = Instant::now();
        let mut latency = st.latency.take().filter(|_| measure);
        if measure
            && latency.is_none()
            && result.is_ok()
            && measures_round_trip(&request.steps, index)
        {
            latency = sent_at.map(|at| ended - at);
        }
        sent_at = matches!(step.kind, StepKind::Send(_)).then_some(started);
        let (messages, mut failure) = match result {
            Ok(n) => (n, None),
            Err((mut f, n)) => {
                if st.several && f.connection.is_none() {
                    f.connection = step.kind.conn().map(str::to_string);
                }
                (n, Some(f))
            }
        };
        if let (None, Some(check), Some(took)) = (&failure, latency_check(&step.kind), latency) {
            let ms = took.as_secs_f64() * 1000.0;
            if !check.each.0.is_empty() && !check.each.holds(ms) {
                failure = Some(Failure::new(format!(
                    "the round trip took {}, wanted {}",
                    format_ms(ms),
                    check.each.describe(Unit::Ms)
                )));
            }
        }
        let failed = failure.is_some();
        sink.step(StepRun {
            index,
            duration: ended - started,
            messages,
            latency,
            failure,
        });
        if failed {
            return false;
        }
    }
    true
}

/// A message that broke the request's contract during the step fails it, whatever the step
/// itself found: the contract's failure explains what the step saw.
fn contract_violation(
    state: &mut State<'_>,
    result: Result<u64, (Failure, u64)>,
) -> Result<u64, (Failure, u64)> {
    let several = state.several;
    let broken = state.conns.iter_mut().find_map(|c| {
        let mut failure = c.contract.as_mut()?.take()?;
        if several {
            failure.connection = Some(c.name.to_string());
        }
        Some(failure)
    });
    match (broken, result) {
        (None, result) => result,
        (Some(failure), Ok(n)) => Err((failure, n)),
        (Some(mut failure), Err((own, n))) => {
            let also = format!("the step also failed: {}", own.summary);
            failure.detail = Some(match failure.detail {
                Some(d) => format!("{d}\n{also}"),
                None => also,
            });
            Err((failure, n))
        }
    }
}
