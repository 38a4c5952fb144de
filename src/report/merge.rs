//! One run's results from the reports of its shards (`wsrun merge`): checked to be every shard
//! of one run of the same collections, each once ([`shard::check`]). Collections are matched by
//! path and environment, in the order first seen; their requests are kept in file order. A
//! load that ran in several shards becomes one: its counts added, its histograms merged exactly,
//! its thresholds judged again on the sum. Any other request found in several reports (shards
//! that overlapped) is kept once per report.

use std::time::Duration;

use super::load::LoadReport;
use super::shard::{self, ShardProblem};
use super::{CollectionReport, Outcome, RequestReport, RunReport, StepReport, Stop};
use crate::latency::Stat;

/// The merged results of the shards `reports` (each with its file name), once [`shard::check`]
/// found them to be every shard of one run, each once. Otherwise the problems are an error, or
/// with `allow_partial` warnings beside a merge of what there is (a shard given twice counted
/// once).
pub fn merge_shards(
    reports: Vec<(String, RunReport)>,
    allow_partial: bool,
) -> Result<(RunReport, Vec<ShardProblem>), Vec<ShardProblem>> {
    let named: Vec<(&str, &shard::ShardOf)> = reports
        .iter()
        .map(|(file, r)| (file.as_str(), &r.shard))
        .collect();
    let checked = shard::check(&named);
    if !checked.problems.is_empty() && !allow_partial {
        return Err(checked.problems);
    }
    let kept = reports
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !checked.duplicates.contains(i))
        .map(|(_, (_, r))| r)
        .collect();
    Ok((merge(kept), checked.problems))
}

/// The merged results of `reports`, in the order given.
pub fn merge(reports: Vec<RunReport>) -> RunReport {
    let mut out = RunReport::default();
    for report in reports {
        out.duration = out.duration.max(report.duration);
        out.stopped = out.stopped.or(report.stopped);
        out.not_run += report.not_run;
        for c in report.collections {
            let same = |mine: &&mut CollectionReport| mine.path == c.path && mine.env == c.env;
            match out.collections.iter_mut().find(same) {
                Some(mine) => add_collection(mine, c),
                None => out.collections.push(c),
            }
        }
    }
    for c in &mut out.collections {
        // Stable: a request kept once per report stays in report order.
        c.requests.sort_by_key(|r| r.line);
    }
    out
}

fn add_collection(mine: &mut CollectionReport, theirs: CollectionReport) {
    mine.duration = mine.duration.max(theirs.duration);
    for r in theirs.requests {
        let same_load = |m: &&mut RequestReport| m.name == r.name && m.load.is_some();
        match (r.load.is_some(), mine.requests.iter_mut().find(same_load)) {
            (true, Some(m)) => add_load(m, r),
            _ => mine.requests.push(r),
        }
    }
}

/// Adds another shard's run of the same load to `mine`, then judges the sum.
fn add_load(mine: &mut RequestReport, theirs: RequestReport) {
    let (Some(load), Some(other)) = (mine.load.as_deref_mut(), theirs.load.as_deref()) else {
        return;
    };
    mine.duration = mine.duration.max(theirs.duration);
    for (i, s) in theirs.steps.into_iter().enumerate() {
        let runs = |l: &LoadReport| l.steps.get(i).map_or(0, |c| c.runs);
        match mine.steps.get_mut(i) {
            Some(m) => add_step(m, s, runs(load), runs(other)),
            None => mine.steps.push(s),
        }
    }
    load.add(other);
    load.judge(&mine.steps, false);
    mine.error = match load.stopped {
        // Still failed: a shard's share of the load was cut short.
        Some(stop) => Some(load.stopped_failure(match stop {
            Stop::TimedOut(_) => "a shard's run timed out (--timeout)",
            Stop::Interrupted => "a shard's run was interrupted (Ctrl-C)",
            Stop::FailFast => "a shard's run stopped at its first failure (--fail-fast)",
        })),
        None => load.verdict(),
    };
}

/// Adds the runs of a step in another shard: messages summed, round trips merged, the time of
/// one run averaged over both.
fn add_step(mine: &mut StepReport, theirs: StepReport, my_runs: u64, their_runs: u64) {
    mine.messages += theirs.messages;
    let total = my_runs + their_runs;
    if total > 0 {
        let weighted = mine.duration.as_secs_f64() * my_runs as f64
            + theirs.duration.as_secs_f64() * their_runs as f64;
        mine.duration = Duration::from_secs_f64(weighted / total as f64);
    }
    match (&mut mine.latencies, theirs.latencies) {
        (Some(m), Some(t)) => m.add(&t),
        (m @ None, t) => *m = t,
        (Some(_), None) => {}
    }
    if let Some(l) = &mine.latencies {
        mine.latency = l
            .stat_ms(Stat::Percentile(50.0))
            .map(|ms| Duration::from_secs_f64(ms / 1000.0));
    }
    if matches!(mine.outcome, Outcome::Skipped) {
        mine.outcome = theirs.outcome;
    }
}
