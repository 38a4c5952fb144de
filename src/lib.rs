//! wsrun: a scriptable WebSocket test harness. One engine behind the CLI and the Python module.

// Failures are rich (path, expected, actual, message) and rare; boxing them buys nothing.
#![allow(clippy::result_large_err)]

/// Per-message JSON values are allocation-heavy, and mimalloc serves them faster than glibc
/// malloc (measured in bench/). Declared here, once, it covers the binary, the tests and the
/// Python extension alike.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod cli;
pub mod collection;
pub mod contract;
pub mod discover;
pub mod duration;
pub mod infer;
pub mod jsonpath;
pub mod latency;
pub mod matcher;
pub mod mock;
pub mod options;
pub mod plan;
pub mod protocol;
#[cfg(feature = "python")]
pub mod python;
pub mod record;
pub mod report;
pub mod runner;
pub mod snapshot;
pub mod stream;
pub mod template;
pub mod threshold;
pub mod value;
pub mod watch;
pub mod yaml;
