//! How a run is configured: the CLI flags and the Python keyword arguments, as one struct that
//! the plan stage and the runner both read.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How a run is configured (the CLI flags and the Python keyword arguments).
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub env: Option<String>,
    /// `--var K=V`, highest precedence after captures.
    pub vars: Vec<(String, String)>,
    /// `--vars-file FILE`: YAML or JSON maps of variables.
    pub vars_files: Vec<PathBuf>,
    /// `--secret K=V`: variables whose values are never printed.
    pub secrets: Vec<(String, String)>,
    /// Only requests whose name contains this text (case-insensitive).
    pub filter: Option<String>,
    /// Only the requests with exactly these names (the pytest plugin runs one request an item).
    pub requests: Option<Vec<String>>,
    pub fail_fast: bool,
    /// A deadline for the whole run.
    pub timeout: Option<Duration>,
    pub update_snapshots: bool,
    /// How the caller asks for an update, named in a snapshot failure: `--update-snapshots`
    /// when None (the Python module says `update_snapshots=True`, pytest
    /// `--wsrun-update-snapshots`).
    pub update_hint: Option<String>,
    /// How many requests run at once (0 or 1: one after another). Output keeps file order.
    pub jobs: usize,
    /// `--shard K/N`: run only the K-th of N stable partitions of all requests (K from 1).
    pub shard: Option<(u32, u32)>,
    /// Live counters for a progress line (the CLI shows one on a terminal).
    pub progress: Option<Arc<Progress>>,
    /// Measure no round trips (`--no-latency`): what bench/ compares against to price them.
    pub no_latency: bool,
}

/// Live counters a progress display reads while a run goes on.
#[derive(Debug, Default)]
pub struct Progress {
    /// Data messages received so far, across all requests.
    pub messages: std::sync::atomic::AtomicU64,
    pub requests_done: std::sync::atomic::AtomicUsize,
    pub requests_total: std::sync::atomic::AtomicUsize,
    /// The request that started last.
    pub current: std::sync::Mutex<String>,
    /// While a load runs, its own line (users, messages, p95), shown instead of the counts.
    pub live: std::sync::Mutex<String>,
}
