//! wsrun: a scriptable WebSocket test harness. One engine behind the CLI and the Python module.
//!
//! # Embedding
//!
//! What this crate offers another program is what this file re-exports; every module is private
//! to the crate. A run goes the way the CLI's does:
//!
//! - load a collection: [`Collection::load`] (a file) or [`Collection::parse`] (YAML text);
//!   errors are [`LoadError`]s with the file, line and column; [`collection_files`] finds the
//!   collections in a folder;
//! - choose what runs and with which variables: [`RunOptions`] (environment, variables,
//!   filters, timeouts), then [`prepare`], which checks every template name;
//! - run it: [`run`] (async, on a tokio runtime) with an [`Observer`] for live progress
//!   ([`Quiet`] for none) and a [`Cancel`] ([`cancel_pair`] to stop it from elsewhere);
//! - read the [`RunReport`]: plain data, rendered by [`json`], [`junit`] and [`html`] (the CLI's
//!   `--report` files), read back by [`read_report`] and merged across shards by
//!   [`merge_shards`];
//! - mocks: a collection's `mocks:` ([`MockDef`]) served by [`MockServer`]; [`Recording`] is a
//!   replay file.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use std::path::Path;
//!
//! let collection = wsrun::Collection::load(Path::new("collections/websocket.yaml"))?;
//! let opts = wsrun::RunOptions {
//!     env: Some("local".into()),
//!     ..Default::default()
//! };
//! let prepared = wsrun::prepare(collection, &opts)?;
//! let report = wsrun::run(&[prepared], &opts, &wsrun::Quiet, wsrun::Cancel::never()).await;
//! let failed = !report.passed();
//! println!("{}", wsrun::json::report(&report));
//! std::process::exit(if failed { 1 } else { 0 });
//! # }
//! ```
//!
//! [`main_with_args`] is the whole command line, for the `wsrun` binary; [`is_collection`] and
//! [`is_collection_text`] tell a collection from other YAML; [`collection_schema`] is the
//! editor schema of the format. The hidden `internals` module is not part of the API: engine
//! parts that wsrun's own tests and benches reach into.

// Failures are rich (path, expected, actual, message) and rare; boxing them buys nothing.
#![allow(clippy::result_large_err)]

/// Per-message JSON values are allocation-heavy, and mimalloc serves them faster than glibc
/// malloc (measured in bench/). Declared here, once, it covers the binary, the tests and the
/// Python extension alike.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cli;
mod collection;
mod contract;
mod discover;
mod duration;
mod infer;
mod jsonpath;
mod latency;
mod matcher;
mod mock;
mod options;
mod plan;
mod protocol;
#[cfg(feature = "python")]
mod python;
mod record;
mod report;
mod runner;
mod snapshot;
mod stream;
mod template;
mod threshold;
mod value;
mod watch;
mod yaml;

pub use cli::main_with_args;
pub use collection::schema::{schema as collection_schema, schema_text as collection_schema_text};
pub use collection::{Collection, LoadError, MockDef};
pub use discover::{collection_files, is_collection, is_collection_text};
pub use jsonpath::JsonPath;
pub use latency::{Latency, Stat};
pub use mock::{MockError, MockServer, Recording};
pub use options::RunOptions;
pub use plan::{prepare, Prepared};
pub use report::load::{LoadReport, StepCounts, ThresholdResult};
pub use report::merge::merge_shards;
pub use report::read::read as read_report;
pub use report::shard::{content_hash, CollectionId, Shard, ShardOf, ShardProblem};
pub use report::{
    html, human, json, junit, CollectionReport, Direction, Failure, Frame, FrameData, Outcome,
    RequestReport, RunReport, Shown, StepReport,
};
pub use runner::{cancel_pair, run, Cancel, CancelHandle, Observer, Quiet};
pub use threshold::Threshold;

/// Engine parts that wsrun's own tests and benches use on their own: fuzzing one component
/// (templates, matchers, masking, data files, importers, JSON Schemas), driving one connection's
/// protocol layer, measuring the message parser. Not part of the API: no promise they stay.
#[doc(hidden)]
pub mod internals {
    pub use crate::collection::data::parse as parse_data;
    pub use crate::contract::schema::{Draft, LocalFiles, Options as SchemaOptions, Schema};
    pub use crate::contract::{loading_from, schema_file, Contract};
    pub use crate::infer::import::{write as write_import, Import};
    pub use crate::infer::{from_har, from_insomnia};
    pub use crate::matcher::{path, Matcher, Resolved, Subject, MATCHER_KEYS};
    pub use crate::protocol::{Decoded, Protocol};
    /// MQTT's codec and client, for bench/'s `mqttdecode`.
    pub mod mqtt {
        pub use crate::protocol::mqtt::codec::{Decoder, Packet, Publish, Version};
        pub use crate::protocol::mqtt::{Mqtt, Options};
    }
    pub use crate::record::{connect_spec, record};
    pub use crate::report::truncate;
    pub use crate::runner::conn::{Conn, ConnectSpec, Incoming, Recorder, RecvError};
    pub use crate::runner::mask::Masker;
    pub use crate::runner::partial::Partial;
    pub use crate::snapshot::pending as pending_snapshots;
    pub use crate::template::{Scope, TValue, Template};
}
