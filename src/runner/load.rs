//! `load:` on a request: its users, each a copy of the request with its own connections,
//! running as its model has them (`load_model`: started over a ramp, ramping by stages, or
//! arriving at a rate) and repeating the steps until their time ends (or once, or `repeat`
//! times); their connect times, round trips, messages and failures added up as they happen, a
//! timeline, and the thresholds judged at the end.
//!
//! Users are futures of this one request, polled together: no task, no transcript and small
//! buffers each (`Conn::open_buffered`, `Recorder::lean`), so that ten thousand of them fit in
//! a few tens of MB. A user whose connect or iteration fails stops; its failure is counted by
//! kind, and the first few are kept whole as a sample.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::time::Instant;

use super::conn::{Conn, ConnectSpec, Recorder, LEAN_BUFFER};
use super::iteration::{run_steps, Sink, StepRun};
use super::load_model::Schedule;
use super::request::{connect_specs, new_state, open_failure, protocols, watch_contract};
use super::steps::Ctx;
use crate::collection::{latency_check, Metric, Model, Request, Threshold};
use crate::latency::{format_ms, Latency, Stat};
use crate::options::Progress;
use crate::report::load::{
    count_error, LoadModel, LoadReport, Point, StepCounts, ThresholdResult, Timeline, MAX_SAMPLES,
};
use crate::report::{truncate, Failure, Outcome, RequestReport, StepReport, Stop};

/// A timeline never grows past this many points (an hour of one-second buckets).
const MAX_POINTS: usize = 3_600;
/// How much of a failure's summary names its kind.
const KIND_LIMIT: usize = 100;
/// Connections being opened at once, at most: a user waits for a turn. A server that falls
/// behind then sees back-pressure rather than a burst of SYNs past its listen backlog, which the
/// kernel drops and the client retries after 1s, 3s…; and the memory a handshake takes while
/// in flight (~15 KB) stays bounded. At ~1 ms a connect on loopback, 256 at once allow far more
/// than any single server accepts.
const MAX_CONNECTING: usize = 256;

/// Runs the load and reports it as the request's result. When `stop` (Ctrl-C, the run's
/// deadline) comes first, the users stop where they are and the load reports what it measured
/// until then, marked as stopped, with the reason the run stopped.
pub(super) async fn run(
    ctx: &Ctx<'_>,
    request: &Request,
    model: &Model,
    stop: impl std::future::Future<Output = (Stop, String)>,
) -> (RequestReport, Option<Stop>) {
    let schedule = Schedule::new(model, ctx.opts.shard);
    let users = schedule.most_at_once();
    let duration = schedule.duration();
    let started = Instant::now();
    let mut report = RequestReport::new(request.name.clone(), request.line);
    let base = new_state(ctx, request, Recorder::new());
    let specs = connect_specs(ctx, request, &base.scope)
        .and_then(|specs| protocols(request, &base.scope).map(|_| specs));
    let specs = match specs {
        Ok(specs) => specs,
        Err(mut failure) => {
            base.masker.failure(&mut failure);
            report.error = Some(failure);
            return (report, None);
        }
    };
    let shared = Shared::new(request.steps.len());
    let bucket = bucket_width(duration);
    let plan = Plan {
        ctx,
        request,
        specs: &specs,
        shared: &shared,
        started,
        schedule: &schedule,
        users: super::load_users::Users::new(request, Schedule::everyone(model), ctx.opts.shard),
    };
    let mut running: FuturesUnordered<_> = (0..schedule.closed_users())
        .map(|u| plan.member(u))
        .collect();
    let mut points = Vec::new();
    let mut tick = tokio::time::interval_at(started + bucket, bucket);
    let mut seen = 0;
    let mut stopped = None;
    // An open model's arrivals: the next one's number, and how many started and were dropped.
    let (arrivals, mut next) = (schedule.arrivals(), 0);
    let (mut arrived, mut dropped) = (0, 0);
    tokio::pin!(stop);
    loop {
        if running.is_empty() && next >= arrivals {
            break;
        }
        let arrival = started + schedule.arrival_at(next);
        tokio::select! {
            Some(()) = running.next(), if !running.is_empty() => {}
            () = tokio::time::sleep_until(arrival), if next < arrivals => {
                // Late arrivals (a busy runtime) come at once: the rate is kept over the load.
                if (running.len() as u64) < users {
                    running.push(plan.member(next));
                    arrived += 1;
                } else {
                    dropped += 1;
                }
                next += 1;
            }
            why = &mut stop => {
                stopped = Some(why);
                break;
            }
            _ = tick.tick() => {
                let point = shared.point(&mut seen);
                show_live(ctx, request, users, &point, bucket);
                if points.len() < MAX_POINTS {
                    points.push(point);
                }
            }
        }
    }
    drop(running);
    if points.len() < MAX_POINTS {
        points.push(shared.point(&mut seen));
    }
    shared.hand_over_progress(ctx);
    let timeline = Timeline { bucket, points };
    let (steps, mut load_report) = shared.finish(request, &schedule, timeline);
    if let LoadModel::Arrivals(a) = &mut load_report.model {
        (a.started, a.dropped) = (arrived, dropped);
    }
    load_report.elapsed = started.elapsed();
    load_report.thresholds = thresholds(request)
        .iter()
        .map(ThresholdResult::new)
        .collect();
    let sharded = ctx.opts.shard.is_some_and(|(_, n)| n > 1);
    load_report.judge(&steps, sharded);
    load_report.stopped = stopped.as_ref().map(|(why, _)| *why);
    report.error = match &stopped {
        Some((_, text)) => Some(load_report.stopped_failure(text)),
        None => load_report.verdict(),
    };
    report.steps = steps;
    report.load = Some(Box::new(load_report));
    report.duration = started.elapsed();
    (report, stopped.map(|(why, _)| why))
}

/// One second, or wider for a long load: about 300 points over its duration.
fn bucket_width(duration: Option<Duration>) -> Duration {
    let secs = duration.map_or(1, |d| d.as_secs().div_ceil(300).max(1));
    Duration::from_secs(secs)
}

/// The thresholds that judge the load: the request's, `failed: {lte: 0}` first unless they
/// limit `failed` themselves (other thresholds do not make failed iterations acceptable), and
/// each step's limits on statistics of its round trips as `step N STAT`.
fn thresholds(request: &Request) -> Vec<Threshold> {
    let mut all = Vec::with_capacity(request.thresholds.len() + 1);
    if !request
        .thresholds
        .iter()
        .any(|t| t.metric == Metric::Failed)
    {
        all.push(Threshold::no_failures());
    }
    all.extend(request.thresholds.iter().cloned());
    for (i, step) in request.steps.iter().enumerate() {
        for (stat, bounds) in latency_check(&step.kind).map_or(&[][..], |c| &c.stats) {
            let name = format!("step {} {stat}", i + 1);
            if !all.iter().any(|t| t.name == name) {
                all.push(Threshold {
                    name,
                    metric: Metric::Step(i + 1, *stat),
                    bounds: bounds.clone(),
                });
            }
        }
    }
    all
}

/// "⋯ load `chat`: 5000/10000 connected · 12345 msgs/s · p95 1.27ms" on the progress line.
fn show_live(ctx: &Ctx<'_>, request: &Request, users: u64, point: &Point, bucket: Duration) {
    let Some(progress) = &ctx.opts.progress else {
        return;
    };
    let p95 = point
        .p95_ms
        .map(|ms| format!(" · p95 {}", format_ms(ms)))
        .unwrap_or_default();
    let rate = point.messages as f64 / bucket.as_secs_f64().max(1e-3);
    let line = format!(
        "load `{}`: {}/{users} connected · {rate:.0} msgs/s{p95}",
        request.name, point.connections
    );
    if let Ok(mut live) = progress.live.lock() {
        *live = line;
    }
}

/// What every user of the load shares.
struct Plan<'a, 'c> {
    ctx: &'a Ctx<'c>,
    request: &'a Request,
    specs: &'a [ConnectSpec],
    shared: &'a Shared,
    started: Instant,
    schedule: &'a Schedule,
    /// Who each user is: `{{ user.* }}` and its `data:` row.
    users: super::load_users::Users,
}

impl Plan<'_, '_> {
    /// User `u` (or arrival `u`) for each span of time the schedule gives it, until one fails.
    async fn member(&self, u: u64) {
        for (from, until) in self.schedule.spans(u) {
            let until = until.map(|t| self.started + t);
            if !self.user(u, self.started + from, until).await {
                return;
            }
        }
    }

    /// User `u`: from `start`, connect, then run iterations until `end` (once without it);
    /// whether it did so without a failure.
    async fn user(&self, u: u64, start: Instant, end: Option<Instant>) -> bool {
        tokio::time::sleep_until(start).await;
        let counter = self.shared.counter.clone();
        let mut st = new_state(self.ctx, self.request, Recorder::lean(counter));
        let own_specs = match self.users.enter(self.ctx, self.request, u, &mut st) {
            Ok(own) => own,
            Err(failure) => {
                self.connect_failed(u, failure);
                return false;
            }
        };
        let specs = own_specs.as_deref().unwrap_or(self.specs);
        // Exactly: a Vec of connections (several hundred bytes each) would start with room for four.
        st.conns.reserve_exact(specs.len());
        let built = protocols(self.request, &st.scope).unwrap_or_default();
        for (spec, protocol) in specs.iter().zip(built) {
            // The semaphore is never closed, so a turn always comes.
            let Ok(_turn) = self.shared.connecting.acquire().await else {
                break;
            };
            let began = Instant::now();
            // Boxed: opening (TLS, the handshake) takes ~10 KB of future that every user would
            // otherwise carry for its whole life.
            let rec = &mut st.rec;
            let opening = async move {
                let mut conn = Conn::open_buffered(spec, protocol, LEAN_BUFFER).await?;
                conn.handshake(spec.connect_timeout, rec).await?;
                Ok::<_, String>(conn)
            };
            match Box::pin(opening).await {
                Ok(mut conn) => {
                    watch_contract(self.request, std::slice::from_mut(&mut conn));
                    self.shared.totals().connected(began.elapsed());
                    self.shared.open.fetch_add(1, Relaxed);
                    st.conns.push(conn);
                }
                Err(e) => {
                    let mut failure = open_failure(self.request, spec, e);
                    st.masker.failure(&mut failure);
                    self.connect_failed(u, failure);
                    break;
                }
            }
        }
        let passed = st.conns.len() == specs.len() && self.iterate(u, &mut st, end).await;
        let open = st.conns.len() as u64;
        for conn in std::mem::take(&mut st.conns) {
            // Boxed, as opening: the closing future holds a whole connection.
            Box::pin(conn.shutdown(&mut st.rec)).await;
        }
        self.shared.open.fetch_sub(open, Relaxed);
        passed
    }

    /// Counts user `u`'s failure to connect (its summary masked already).
    fn connect_failed(&self, u: u64, mut failure: Failure) {
        let kind = format!("connect: {}", truncate(&failure.summary, KIND_LIMIT));
        failure.summary = format!("user {}: {}", u + 1, failure.summary);
        let mut totals = self.shared.totals();
        totals.connect_failed += 1;
        totals.fail(&kind, failure);
    }

    /// Runs the steps until `end` (or `repeat` times without one), stopping at the first failed
    /// iteration; whether none failed.
    async fn iterate(
        &self,
        u: u64,
        st: &mut super::steps::State<'_>,
        end: Option<Instant>,
    ) -> bool {
        let mut done = 0;
        loop {
            let mut sink = UserSink {
                shared: self.shared,
                failure: None,
            };
            let passed = run_steps(self.ctx, self.request, st, &mut sink).await;
            done += 1;
            let mut totals = self.shared.totals();
            for (took, added) in st.opened_late.drain(..) {
                totals.connected(took);
                self.shared.open.fetch_add(u64::from(added), Relaxed);
            }
            totals.iterations += 1;
            if let Some((index, mut failure)) = sink.failure.filter(|_| !passed).map(|f| *f) {
                st.masker.failure(&mut failure);
                let step = &self.request.steps[index];
                let at = format!("step {} {}", index + 1, step.kind.keyword());
                let kind = format!("{at}: {}", truncate(&failure.summary, KIND_LIMIT));
                failure.summary = format!(
                    "user {}, iteration {done}, {at}: {}",
                    u + 1,
                    failure.summary
                );
                totals.fail(&kind, failure);
                return false;
            }
            drop(totals);
            let more = match end {
                Some(end) => Instant::now() < end,
                None => done < self.request.repeat,
            };
            if !more {
                return true;
            }
        }
    }
}

/// One user's iteration: its round trips and counts go straight into the load's totals; its
/// failure waits for the user to mask it with its own secrets.
struct UserSink<'a> {
    shared: &'a Shared,
    /// Boxed: the sink lives across the iteration's steps, in every user's future.
    failure: Option<Box<(usize, Failure)>>,
}

impl Sink for UserSink<'_> {
    fn step(&mut self, run: StepRun) {
        let mut totals = self.shared.totals();
        let totals = &mut *totals;
        let step = &mut totals.steps[run.index];
        step.counts.runs += 1;
        step.messages += run.messages;
        step.duration += run.duration;
        if let Some(took) = run.latency {
            step.latency.record(took);
            totals.window.record(took);
        }
        if let Some(f) = run.failure {
            step.counts.failed += 1;
            self.failure = Some(Box::new((run.index, f)));
        }
    }
}

/// The load's totals, shared by its users (one lock, held for a few additions at a time).
struct Shared {
    totals: Mutex<Totals>,
    /// Connections open now.
    open: AtomicU64,
    /// Counts the messages every user receives.
    counter: Arc<Progress>,
    /// Turns to open a connection ([`MAX_CONNECTING`]).
    connecting: tokio::sync::Semaphore,
}

#[derive(Default)]
struct Totals {
    connect: Latency,
    /// Round trips of every step since the last timeline point.
    window: Latency,
    steps: Vec<StepTotals>,
    opened: u64,
    connect_failed: u64,
    iterations: u64,
    failed: u64,
    errors: Vec<(String, u64)>,
    samples: Vec<Failure>,
}

#[derive(Default)]
struct StepTotals {
    counts: StepCounts,
    messages: u64,
    duration: Duration,
    latency: Latency,
}

impl Totals {
    fn connected(&mut self, took: Duration) {
        self.opened += 1;
        self.connect.record(took);
    }

    fn fail(&mut self, kind: &str, failure: Failure) {
        self.failed += 1;
        count_error(&mut self.errors, kind, 1);
        if self.samples.len() < MAX_SAMPLES {
            self.samples.push(failure);
        }
    }
}

impl Shared {
    fn new(steps: usize) -> Self {
        let mut totals = Totals::default();
        totals.steps.resize_with(steps, StepTotals::default);
        Self {
            totals: Mutex::new(totals),
            open: AtomicU64::new(0),
            counter: Arc::new(Progress::default()),
            connecting: tokio::sync::Semaphore::new(MAX_CONNECTING),
        }
    }

    fn totals(&self) -> MutexGuard<'_, Totals> {
        // A user never panics while holding the lock; if one did, its totals are still counts.
        self.totals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds the load's messages to the run's progress line and clears the load's live text.
    fn hand_over_progress(&self, ctx: &Ctx<'_>) {
        if let Some(p) = &ctx.opts.progress {
            p.messages
                .fetch_add(self.counter.messages.load(Relaxed), Relaxed);
            if let Ok(mut live) = p.live.lock() {
                live.clear();
            }
        }
    }

    /// The timeline's next point: connections open now, messages since `seen`, the p95 of the
    /// round trips since the last point.
    fn point(&self, seen: &mut u64) -> Point {
        let received = self.counter.messages.load(Relaxed);
        let messages = received - *seen;
        *seen = received;
        let window = std::mem::take(&mut self.totals().window);
        Point {
            connections: self.open.load(Relaxed),
            messages,
            p50_ms: window.stat_ms(Stat::Percentile(50.0)),
            p95_ms: window.stat_ms(Stat::Percentile(95.0)),
            p99_ms: window.stat_ms(Stat::Percentile(99.0)),
        }
    }

    /// The step reports and the load report of the totals (thresholds not yet judged).
    fn finish(
        &self,
        request: &Request,
        schedule: &Schedule,
        timeline: Timeline,
    ) -> (Vec<StepReport>, LoadReport) {
        let mut totals = self.totals();
        let totals = std::mem::take(&mut *totals);
        let mut counts = Vec::with_capacity(totals.steps.len());
        let steps = totals
            .steps
            .into_iter()
            .zip(&request.steps)
            .enumerate()
            .map(|(i, (t, step))| {
                counts.push(t.counts);
                let measured = !t.latency.is_empty();
                StepReport {
                    index: i + 1,
                    keyword: step.kind.keyword(),
                    line: step.line,
                    duration: t.duration / u32::try_from(t.counts.runs.max(1)).unwrap_or(u32::MAX),
                    outcome: if t.counts.runs > 0 {
                        Outcome::Passed
                    } else {
                        Outcome::Skipped
                    },
                    messages: t.messages,
                    latency: t
                        .latency
                        .stat_ms(Stat::Percentile(50.0))
                        .map(|ms| Duration::from_secs_f64(ms / 1000.0)),
                    latencies: measured.then_some(t.latency),
                }
            })
            .collect();
        let mut errors = totals.errors;
        errors.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let ramp = match schedule {
            Schedule::Users { ramp, .. } => *ramp,
            _ => Duration::ZERO,
        };
        let load = LoadReport {
            model: schedule.report_model(),
            users: schedule.most_at_once(),
            ramp,
            duration: schedule.duration(),
            elapsed: Duration::ZERO,
            shards: 1,
            opened: totals.opened,
            connect_failed: totals.connect_failed,
            connect: totals.connect,
            iterations: totals.iterations,
            failed: totals.failed,
            received: self.counter.messages.load(Relaxed),
            errors,
            samples: totals.samples,
            steps: counts,
            timeline,
            thresholds: Vec::new(),
            stopped: None,
        };
        (steps, load)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_load_keeps_about_three_hundred_points() {
        assert_eq!(bucket_width(None), Duration::from_secs(1));
        assert_eq!(
            bucket_width(Some(Duration::from_secs(60))),
            Duration::from_secs(1)
        );
        assert_eq!(
            bucket_width(Some(Duration::from_secs(3600))),
            Duration::from_secs(12)
        );
    }
}
