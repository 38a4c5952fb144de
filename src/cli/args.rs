//! Command-line arguments (docs/cli.md, "The command line").

use super::parse::{parse_dur, parse_kv};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::collection::Dur;
use crate::options::RunOptions;

#[derive(Debug, Parser)]
#[command(
    name = "wsrun",
    version,
    about = "A scriptable WebSocket test harness: run YAML collections of connect/send/expect steps",
    after_help = "Exit codes: 0 all passed, 1 a request failed, 2 nothing could run, 130 interrupted."
)]
pub struct Cli {
    /// No colours (also NO_COLOR)
    #[arg(long, global = true)]
    pub no_color: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run collections (the default command: `wsrun PATH…`)
    Run(RunArgs),
    /// Check collections without connecting
    Validate(ValidateArgs),
    /// Accept or reject pending snapshots (`.snap.new`)
    Snapshots(SnapshotsArgs),
    /// Serve one of a collection's mocks until Ctrl-C
    Serve(ServeArgs),
    /// Record what a server sends, in the format `replay:` reads
    Record(RecordArgs),
    /// Merge the JSON reports of shards into one report
    Merge(MergeArgs),
    /// Connect and print messages live; lines typed on stdin are sent
    Watch(super::watch::WatchArgs),
    /// Write a collection from a recording (`--from FILE.jsonl`), an AsyncAPI document, or a
    /// HAR, Insomnia, Postman or Bruno export
    New(super::new::NewArgs),
    /// Print the JSON Schema of the collection format (for editors)
    Schema,
}

/// `wsrun PATH` means `wsrun run PATH`.
pub fn insert_default_command(mut argv: Vec<String>) -> Vec<String> {
    const KNOWN: [&str; 14] = [
        "run",
        "merge",
        "watch",
        "new",
        "validate",
        "snapshots",
        "serve",
        "record",
        "schema",
        "help",
        "-h",
        "--help",
        "-V",
        "--version",
    ];
    let first = argv.iter().skip(1).find(|a| *a != "--no-color");
    match first {
        Some(a) if KNOWN.contains(&a.as_str()) => argv,
        None => argv,
        Some(_) => {
            argv.insert(1, "run".into());
            argv
        }
    }
}

#[derive(Debug, Args)]
pub struct VarArgs {
    /// Environment to use (default: the collection's `default_env`, else its first)
    #[arg(long)]
    pub env: Option<String>,
    /// Set a variable (repeatable)
    #[arg(long = "var", value_name = "K=V", value_parser = parse_kv)]
    pub vars: Vec<(String, String)>,
    /// Read variables from a YAML or JSON file (repeatable)
    #[arg(long = "vars-file", value_name = "FILE")]
    pub vars_files: Vec<PathBuf>,
    /// A variable whose value is never printed (repeatable)
    #[arg(long = "secret", value_name = "K=V", value_parser = parse_kv)]
    pub secrets: Vec<(String, String)>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Collection files or folders of collections
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub vars: VarArgs,
    /// Only requests whose name contains TEXT (case-insensitive)
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// Write snapshots that are missing or differ
    #[arg(long)]
    pub update_snapshots: bool,
    /// Stop at the first failed request
    #[arg(long)]
    pub fail_fast: bool,
    /// A deadline for the whole run (e.g. 30s, 5m)
    #[arg(long, value_name = "D", value_parser = parse_dur)]
    pub timeout: Option<Dur>,
    /// Run N requests at once (output stays in file order)
    #[arg(long, short = 'j', value_name = "N", default_value_t = 1)]
    pub jobs: usize,
    /// Run only the K-th of N stable partitions of all requests (for CI matrices); a load runs
    /// in every shard with its share of the users. `auto/N`: K from JOB_COMPLETION_INDEX + 1
    /// (a Kubernetes Indexed Job)
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<(u32, u32)>,
    /// Write a report: junit=FILE, json=FILE, html=FILE, openmetrics=FILE or csv=FILE
    /// (repeatable)
    #[arg(long = "report", value_name = "KIND=FILE", value_parser = parse_report)]
    pub reports: Vec<(ReportKind, PathBuf)>,
    /// Push the run's metrics to a Prometheus Pushgateway (http://HOST:PORT; PUT to
    /// URL/metrics/job/wsrun)
    #[arg(long, value_name = "URL", value_parser = super::push::parse_push_url)]
    pub push: Option<super::push::PushUrl>,
    /// Print the frame transcript of each request
    #[arg(short, long)]
    pub verbose: bool,
    /// Print only failures and the summary
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Measure no round trips (bench/ prices measuring them against this)
    #[arg(long, hide = true)]
    pub no_latency: bool,
}

impl RunArgs {
    pub fn options(&self) -> RunOptions {
        RunOptions {
            env: self.vars.env.clone(),
            vars: self.vars.vars.clone(),
            vars_files: self.vars.vars_files.clone(),
            secrets: self.vars.secrets.clone(),
            filter: self.filter.clone(),
            fail_fast: self.fail_fast,
            timeout: self.timeout.map(|d| d.0),
            update_snapshots: self.update_snapshots,
            jobs: self.jobs,
            shard: self.shard,
            no_latency: self.no_latency,
            ..RunOptions::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub vars: VarArgs,
}

impl ValidateArgs {
    pub fn options(&self) -> RunOptions {
        RunOptions {
            env: self.vars.env.clone(),
            vars: self.vars.vars.clone(),
            vars_files: self.vars.vars_files.clone(),
            secrets: self.vars.secrets.clone(),
            ..RunOptions::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct SnapshotsArgs {
    #[arg(value_enum)]
    pub action: SnapshotAction,
    /// A collection or a folder (default: the current folder)
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SnapshotAction {
    Accept,
    Reject,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The collection that defines the mock
    pub file: PathBuf,
    /// Which mock (default: the first)
    #[arg(long)]
    pub mock: Option<String>,
    /// Port to listen on (default: a free one)
    #[arg(long, default_value_t = 0)]
    pub port: u16,
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The WebSocket URL to record
    pub url: String,
    /// The JSONL file to write
    #[arg(long)]
    pub out: PathBuf,
    /// A text frame to send after connecting (repeatable), e.g. a SUBSCRIBE message
    #[arg(long, value_name = "JSON")]
    pub send: Vec<String>,
    /// Stop after N messages
    #[arg(long)]
    pub count: Option<u64>,
    /// Stop after this long (e.g. 10s)
    #[arg(long, value_parser = parse_dur)]
    pub duration: Option<Dur>,
    /// Overwrite the --out file if it exists
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub conn: super::connection::ConnectionArgs,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// JSON reports (`--report json=FILE`) of the shards of one run
    #[arg(required = true, value_name = "REPORT.json")]
    pub files: Vec<PathBuf>,
    /// Write the merged report: junit=FILE, json=FILE, html=FILE, openmetrics=FILE or
    /// csv=FILE (repeatable)
    #[arg(long = "report", value_name = "KIND=FILE", value_parser = parse_report)]
    pub reports: Vec<(ReportKind, PathBuf)>,
    /// Push the merged metrics to a Prometheus Pushgateway (as `run --push`)
    #[arg(long, value_name = "URL", value_parser = super::push::parse_push_url)]
    pub push: Option<super::push::PushUrl>,
    /// Print only failures and the summary
    #[arg(short, long)]
    pub quiet: bool,
    /// Merge even when shards are missing, given twice (counted once) or of other collections,
    /// warning about each instead of stopping with exit 2
    #[arg(long)]
    pub allow_partial: bool,
}

/// The report formats of `--report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    Junit,
    Json,
    Html,
    OpenMetrics,
    Csv,
}

fn parse_report(s: &str) -> Result<(ReportKind, PathBuf), String> {
    let (kind, file) = s.split_once('=').ok_or_else(|| {
        format!("expected KIND=FILE (junit, json, html, openmetrics or csv), got `{s}`")
    })?;
    let kind = match kind {
        "junit" => ReportKind::Junit,
        "json" => ReportKind::Json,
        "html" => ReportKind::Html,
        "openmetrics" => ReportKind::OpenMetrics,
        "csv" => ReportKind::Csv,
        other => {
            return Err(format!(
                "unknown report kind `{other}`: use junit, json, html, openmetrics or csv"
            ))
        }
    };
    if file.is_empty() {
        return Err("the report needs a file name: KIND=FILE".into());
    }
    Ok((kind, PathBuf::from(file)))
}

/// The variable a Kubernetes Indexed Job sets in each pod: its index, from 0.
pub const JOB_INDEX_VAR: &str = "JOB_COMPLETION_INDEX";

fn parse_shard(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("expected K/N with 1 ≤ K ≤ N (e.g. 1/4, or auto/4), got `{s}`");
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let k: u32 = if k.trim() == "auto" {
        let index = std::env::var(JOB_INDEX_VAR).map_err(|_| {
            format!("`--shard auto/N` takes the shard from {JOB_INDEX_VAR} (set in each pod of a Kubernetes Indexed Job), which is not set")
        })?;
        let index: u32 = index
            .trim()
            .parse()
            .map_err(|_| format!("{JOB_INDEX_VAR} is `{index}`, not a shard index (0, 1, 2, …)"))?;
        index.checked_add(1).ok_or_else(bad)?
    } else {
        k.trim().parse().map_err(|_| bad())?
    };
    let n: u32 = n.trim().parse().map_err(|_| bad())?;
    if k == 0 || n == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}
