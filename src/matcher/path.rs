//! How a path's matcher holds over a document — the one rule `expect`, `wait_for` and the mocks'
//! `match:` share: the path must select something (unless `exists: false`), and every selected
//! node must match (one is enough with `any: true`).

use serde_json::Value;

use super::{Resolved, Subject};
use crate::jsonpath::JsonPath;

/// What applying a path's matcher to a document found.
#[derive(Debug, PartialEq)]
pub enum PathOutcome<'a> {
    Holds,
    /// `exists: false`, but the path selected this node (the first one).
    Exists(&'a Value),
    /// The path selected nothing.
    Nothing,
    /// This node did not match (the first that failed); `expected` describes the matcher.
    NoMatch {
        node: &'a Value,
        expected: String,
    },
}

/// Applies `matcher` to the nodes `path` selects in `doc`, stopping as soon as the answer is
/// known (the per-message hot path).
pub fn apply<'a>(doc: &'a Value, path: &JsonPath, matcher: &Resolved) -> PathOutcome<'a> {
    let mut first_bad: Option<(&Value, String)> = None;
    let mut first: Option<&Value> = None;
    let mut good = 0usize;
    let selected = path.for_each(doc, |node| {
        first.get_or_insert(node);
        match matcher.mismatch(Subject::Json(node)) {
            None => {
                good += 1;
                !matcher.any
            }
            Some(expected) => {
                if first_bad.is_none() {
                    first_bad = Some((node, expected));
                }
                matcher.any
            }
        }
    });
    match (matcher.exists(), first) {
        (Some(false), None) => return PathOutcome::Holds,
        (Some(false), Some(node)) => return PathOutcome::Exists(node),
        _ => {}
    }
    if selected == 0 {
        return PathOutcome::Nothing;
    }
    let holds = if matcher.any {
        good > 0
    } else {
        first_bad.is_none()
    };
    match first_bad {
        _ if holds => PathOutcome::Holds,
        Some((node, expected)) => PathOutcome::NoMatch { node, expected },
        None => PathOutcome::NoMatch {
            node: &Value::Null,
            expected: matcher.describe(),
        },
    }
}

/// Whether `matcher` holds for a path that selects at most one node, given that node: the rule
/// of [`apply`] for such paths, without the details of a failure.
pub fn holds_one(node: Option<&Value>, matcher: &Resolved) -> bool {
    match (matcher.exists(), node) {
        (Some(false), found) => found.is_none(),
        (_, None) => false,
        (_, Some(node)) => matcher.mismatch(Subject::Json(node)).is_none(),
    }
}
