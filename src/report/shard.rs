//! Which share of a run a report holds (`--shard K/N`, and the collections it ran, by content
//! hash), and what `wsrun merge` checks before it adds reports up: every shard once, none
//! missing, all of one run of the same collections.

use std::fmt::Write as _;

/// Which share of a run a report holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ShardOf {
    /// The whole run (no `--shard`), or shards merged into one.
    #[default]
    Whole,
    Part(Shard),
    /// Read from a report that does not say (written by a wsrun before reports carried it).
    Unknown,
}

/// Shard `index` of `count` (`--shard 2/4`), and the collections the run loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
    pub collections: Vec<CollectionId>,
}

/// A collection file as a shard ran it: its path, environment and a hash of its text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CollectionId {
    pub path: String,
    pub env: Option<String>,
    /// `fnv1a64:` and 16 hex digits ([`content_hash`]).
    pub hash: String,
}

/// A hash of a collection's text, to tell shards of different versions of a file apart (not a
/// defence against forgery): FNV-1a, 64 bits, stable across versions and platforms.
pub fn content_hash(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("fnv1a64:{hash:016x}")
}

/// Why reports cannot be merged as the shards of one run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardProblem {
    #[error("{file} and {first} are both {which}: merging would count its results twice")]
    Duplicate {
        file: String,
        first: String,
        which: String,
    },
    #[error("{} of {count} missing ({}): the merged results would lack {}", plural_shards(*.missing_total), ranges(.missing), if *.missing_total == 1 { "its requests" } else { "their requests" })]
    Missing {
        count: u32,
        /// The missing shards as ranges, the first few only.
        missing: Vec<(u32, u32)>,
        missing_total: u64,
    },
    #[error("{file} is {which}, but {first} is {first_which}: not shards of one run")]
    OtherCount {
        file: String,
        which: String,
        first: String,
        first_which: String,
    },
    #[error("{file} ran {what} than {first}: not shards of one run of the same collections")]
    OtherCollections {
        file: String,
        first: String,
        what: String,
    },
    #[error("{file} does not say which shard it holds (a report of an older wsrun): run the shards again to merge them safely")]
    Unknown { file: String },
}

impl ShardProblem {
    /// The name a warning carries under `--allow-partial`.
    pub fn name(&self) -> &'static str {
        match self {
            ShardProblem::Duplicate { .. } => "duplicate-shard",
            ShardProblem::Missing { .. } => "missing-shard",
            ShardProblem::OtherCount { .. } => "other-shard-count",
            ShardProblem::OtherCollections { .. } => "other-collections",
            ShardProblem::Unknown { .. } => "unknown-shard",
        }
    }
}

/// How many missing ranges a problem lists.
const RANGES_LISTED: usize = 10;

fn plural_shards(n: u64) -> String {
    if n == 1 {
        "1 shard".into()
    } else {
        format!("{n} shards")
    }
}

/// `3, 5..7` (and `…` past the ones listed).
fn ranges(list: &[(u32, u32)]) -> String {
    let mut out = String::new();
    for (i, (from, to)) in list.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if from == to {
            let _ = write!(out, "{from}");
        } else {
            let _ = write!(out, "{from}..{to}");
        }
    }
    if list.len() >= RANGES_LISTED {
        out.push_str(", …");
    }
    out
}

/// What [`check`] found: the problems, and the reports to leave out (later copies of a shard).
#[derive(Debug, Default)]
pub struct Checked {
    pub problems: Vec<ShardProblem>,
    pub duplicates: Vec<usize>,
}

/// Checks that `reports` (each with its file name) are the shards of one run, each once.
pub fn check(reports: &[(&str, &ShardOf)]) -> Checked {
    let mut out = Checked::default();
    // Shards seen, by index: the report that brought each.
    let mut seen: Vec<(u32, usize)> = Vec::new();
    let mut first: Option<(usize, u32, &[CollectionId])> = None;
    for (i, (file, shard)) in reports.iter().enumerate() {
        let (index, count, collections): (u32, u32, &[CollectionId]) = match shard {
            ShardOf::Unknown => {
                out.problems.push(ShardProblem::Unknown {
                    file: file.to_string(),
                });
                continue;
            }
            ShardOf::Whole => (1, 1, &[]),
            ShardOf::Part(s) => (s.index, s.count, &s.collections),
        };
        let Some((f, first_count, first_collections)) = first else {
            first = Some((i, count, collections));
            seen.push((index, i));
            continue;
        };
        let first_file = reports[f].0.to_string();
        if count != first_count {
            out.problems.push(ShardProblem::OtherCount {
                file: file.to_string(),
                which: describe(reports[i].1),
                first: first_file,
                first_which: describe(reports[f].1),
            });
            continue;
        }
        if let Some((_, earlier)) = seen.iter().find(|(k, _)| *k == index) {
            out.problems.push(ShardProblem::Duplicate {
                file: file.to_string(),
                first: reports[*earlier].0.to_string(),
                which: describe(reports[i].1),
            });
            out.duplicates.push(i);
            continue;
        }
        seen.push((index, i));
        if let Some(what) = collections_differ(first_collections, collections) {
            out.problems.push(ShardProblem::OtherCollections {
                file: file.to_string(),
                first: first_file,
                what,
            });
        }
    }
    if let Some((_, count, _)) = first {
        if let Some(problem) = missing(count, &seen) {
            out.problems.push(problem);
        }
    }
    out
}

/// `shard 2/4`, or `a whole run (no --shard)`.
fn describe(shard: &ShardOf) -> String {
    match shard {
        ShardOf::Part(s) => format!("shard {}/{}", s.index, s.count),
        _ => "a whole run (no --shard)".into(),
    }
}

/// The shards of `count` no report brought, as ranges (the first [`RANGES_LISTED`]).
fn missing(count: u32, seen: &[(u32, usize)]) -> Option<ShardProblem> {
    let mut have: Vec<u32> = seen.iter().map(|(k, _)| *k).collect();
    have.sort_unstable();
    let mut list = Vec::new();
    let mut total: u64 = 0;
    let mut next: u32 = 1;
    for k in have.into_iter().chain([count.saturating_add(1)]) {
        if k > next {
            total += u64::from(k - next);
            if list.len() < RANGES_LISTED {
                list.push((next, k - 1));
            }
        }
        next = next.max(k.saturating_add(1));
    }
    (total > 0).then_some(ShardProblem::Missing {
        count,
        missing: list,
        missing_total: total,
    })
}

/// How `theirs` differs from `mine`, in words, or `None` when they hold the same files.
fn collections_differ(mine: &[CollectionId], theirs: &[CollectionId]) -> Option<String> {
    let key = |c: &CollectionId| (c.path.clone(), c.env.clone());
    for t in theirs {
        match mine.iter().find(|m| key(m) == key(t)) {
            None => return Some(format!("{}, which is not among the collections", t.path)),
            Some(m) if m.hash != t.hash => {
                return Some(format!(
                    "another version of {} ({} against {})",
                    t.path, t.hash, m.hash
                ))
            }
            Some(_) => {}
        }
    }
    mine.iter()
        .find(|m| !theirs.iter().any(|t| key(t) == key(m)))
        .map(|m| format!("no {}, fewer collections", m.path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(index: u32, count: u32) -> ShardOf {
        ShardOf::Part(Shard {
            index,
            count,
            collections: vec![CollectionId {
                path: "c.yaml".into(),
                env: None,
                hash: content_hash("requests: []"),
            }],
        })
    }

    #[test]
    fn every_shard_once_is_no_problem() {
        let (a, b) = (part(1, 2), part(2, 2));
        let checked = check(&[("a", &a), ("b", &b)]);
        assert!(checked.problems.is_empty(), "{:?}", checked.problems);
        assert!(check(&[("w", &ShardOf::Whole)]).problems.is_empty());
    }

    #[test]
    fn missing_shards_are_listed_as_ranges_and_counted() {
        let (a, b) = (part(2, 1_000_000), part(5, 1_000_000));
        let checked = check(&[("a", &a), ("b", &b)]);
        assert_eq!(
            checked.problems[0].to_string(),
            "999998 shards of 1000000 missing (1, 3..4, 6..1000000): the merged results would lack their requests"
        );
    }

    #[test]
    fn the_hash_tells_versions_of_a_file_apart() {
        assert_eq!(content_hash(""), "fnv1a64:cbf29ce484222325");
        assert_ne!(content_hash("a: 1"), content_hash("a: 2"));
    }
}
