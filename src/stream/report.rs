//! What a window's failed properties look like: [`StreamViolation`]s (data, for the reports) and
//! the step's [`Failure`], which names the first offending message and lists every gap.

use std::fmt::Write as _;

use super::props::{gap_text, int_value};
use super::window::{PathState, Tracked};
use crate::report::{Failure, Shown, StreamViolation};

/// The violations of one path's properties, in a fixed order: selection, order, consecutive,
/// unique, fresh.
pub(super) fn path_violations(p: &PathState, window: u64, out: &mut Vec<StreamViolation>) {
    let path = p.path.to_string();
    let base = |property: &'static str, expected: String| StreamViolation {
        property,
        path: Some(path.clone()),
        expected,
        window,
        ..StreamViolation::default()
    };
    if let Some(v) = from_tracked(&p.absent, base("selects", "to select a value".into())) {
        let mut v = v;
        v.value = None;
        v.reason = "the path selected nothing".into();
        out.push(v);
    }
    if let Some(t) = &p.order {
        let property = if t.prop.up {
            "increasing"
        } else {
            "decreasing"
        };
        out.extend(from_tracked(t, base(property, t.prop.describe())));
    }
    if let Some(t) = &p.consecutive {
        if let Some(mut v) = from_tracked(t, base("consecutive", "consecutive".into())) {
            let c = &t.prop;
            v.gaps = c
                .gaps
                .iter()
                .map(|(a, b)| (int_value(*a), int_value(*b)))
                .collect();
            v.gaps_total = c.gaps_total;
            v.missing_total = c.missing_total;
            out.push(v);
        }
    }
    if let Some(t) = &p.unique {
        out.extend(from_tracked(t, base("unique", "unique".into())));
    }
    if let Some(t) = &p.fresh {
        let within = super::props::short_duration(t.prop.max);
        out.extend(from_tracked(
            t,
            base("fresh", format!("within {within} of the receive time")),
        ));
    }
}

fn from_tracked<P>(t: &Tracked<P>, base: StreamViolation) -> Option<StreamViolation> {
    let (offence, message) = t.first.as_ref()?;
    Some(StreamViolation {
        index: Some(offence.index),
        value: Some(offence.value.clone()),
        previous: offence.previous.clone(),
        reason: offence.reason.clone(),
        offenders: t.offenders,
        message: Some(message.clone()),
        ..base
    })
}

/// One line naming a violation: `$.t is not consecutive at message 4 of 10: a gap: …`.
pub fn headline(v: &StreamViolation) -> String {
    match (v.property, &v.path, v.index) {
        ("rate", _, _) => format!(
            "the rate is {} messages/s, expected {} ({})",
            v.value
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            v.expected,
            v.reason
        ),
        ("selects", Some(path), Some(i)) => {
            format!("{path} selected nothing in message {i} of {}", v.window)
        }
        (_, Some(path), Some(i)) => format!(
            "{path} is not {} at message {i} of {}: {}",
            v.expected, v.window, v.reason
        ),
        _ => v.reason.clone(),
    }
}

/// The failure of a step whose window broke these properties (at least one).
pub fn failure(violations: Vec<StreamViolation>) -> Failure {
    let Some(first) = violations.first() else {
        return Failure::default();
    };
    let mut detail = String::new();
    if let Some((i, prev)) = &first.previous {
        let _ = writeln!(detail, "previous  {prev} (message {i})");
    }
    if first.offenders > 1 {
        let _ = writeln!(
            detail,
            "broken    in {} of {} messages",
            first.offenders, first.window
        );
    }
    for (a, b) in &first.gaps {
        let _ = writeln!(detail, "missing   {}", gap_value_text(a, b));
    }
    if first.gaps_total > first.gaps.len() as u64 {
        let _ = writeln!(
            detail,
            "… and {} more gaps ({} values missing in all)",
            first.gaps_total - first.gaps.len() as u64,
            first.missing_total
        );
    }
    for other in &violations[1..] {
        let _ = writeln!(detail, "also      {}", headline(other));
    }
    Failure {
        summary: headline(first),
        path: first.path.clone(),
        expected: Some(Shown::described(first.expected.clone())),
        actual: first.value.as_ref().map(Shown::node),
        message: first.message.clone(),
        detail: (!detail.is_empty()).then(|| detail.trim_end().to_string()),
        stream: violations,
        ..Failure::default()
    }
}

fn gap_value_text(a: &serde_json::Value, b: &serde_json::Value) -> String {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => gap_text(x.into(), y.into()),
        _ if a == b => a.to_string(),
        _ => format!("{a}..{b}"),
    }
}
