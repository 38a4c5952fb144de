//! What a window's failed properties look like: [`StreamViolation`]s (data, for the reports) and
//! the step's [`Failure`], which names the first offending message and lists every gap.

use std::fmt::Write as _;

use super::props::gap_text;
use crate::report::{Failure, Shown, StreamViolation};

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
