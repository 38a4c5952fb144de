//! The `wsrun` command line: parses arguments, calls the library, renders, picks the exit code.

mod args;
mod connection;
mod merge;
mod new;
mod new_import;
mod parse;
mod pretty;
mod push;
mod watch;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use clap::Parser;

use crate::collection::{Collection, LoadError};
use crate::plan::{load_each, Loaded};
use crate::report::human::{self, Style};
use crate::report::RequestReport;
use crate::runner::{self, Observer};

pub use args::{Cli, Command};

/// Exit codes (docs/cli.md, "Exit codes").
pub const EXIT_OK: i32 = 0;
pub const EXIT_FAILED: i32 = 1;
pub const EXIT_UNUSABLE: i32 = 2;
pub const EXIT_INTERRUPTED: i32 = 130;

/// Runs the CLI with `argv` (program name first) and returns the exit code.
pub fn main_with_args(argv: Vec<String>) -> i32 {
    crate::runner::tls::install_crypto_provider();
    let argv = args::insert_default_command(argv);
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                EXIT_UNUSABLE
            } else {
                EXIT_OK
            };
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return EXIT_UNUSABLE;
        }
    };
    runtime.block_on(dispatch(cli))
}

async fn dispatch(cli: Cli) -> i32 {
    let color = use_color(cli.no_color);
    match cli.command {
        Command::Run(args) => run(args, color).await,
        Command::Validate(args) => validate(args, color),
        Command::Snapshots(args) => snapshots(args),
        Command::Serve(args) => serve(args).await,
        Command::Record(args) => record(args).await,
        Command::Merge(args) => merge::merge(args, color),
        Command::Watch(args) => watch::watch(args, color).await,
        Command::New(args) => new::new(args).await,
        Command::Schema => {
            print!("{}", crate::collection::schema::schema_text());
            EXIT_OK
        }
    }
}

fn use_color(no_color: bool) -> bool {
    !no_color
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stdout().is_terminal()
}

fn print_load_error(e: &LoadError, color: bool) {
    let label = if color {
        "\x1b[1;31merror\x1b[0m"
    } else {
        "error"
    };
    eprintln!("{label}: {e}");
}

struct Printer {
    style: Style,
    out: Mutex<std::io::Stdout>,
    /// Set while a live progress line may be on the terminal: cleared before each print.
    live: bool,
}

impl Observer for Printer {
    fn collection_started(&self, collection: &Collection, env: Option<&str>) {
        let text =
            human::collection_header(&self.style, &collection.path.display().to_string(), env);
        self.emit(&text);
    }
    fn request_finished(&self, collection: &Collection, request: &RequestReport) {
        let text = human::request(&self.style, &collection.path.display().to_string(), request);
        self.emit(&text);
    }
}

impl Printer {
    fn style_dim(&self, text: &str) -> String {
        if self.style.color {
            format!("\x1b[2m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn emit(&self, text: &str) {
        if text.is_empty() {
            return;
        }
        if let Ok(mut out) = self.out.lock() {
            if self.live {
                eprint!("\r\x1b[2K");
            }
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
    }
}

async fn run(args: args::RunArgs, color: bool) -> i32 {
    let mut opts = args.options();
    // A live progress line for long runs, only on a terminal and never with -q or -v.
    let live = std::io::stderr().is_terminal()
        && std::io::stdout().is_terminal()
        && !args.quiet
        && !args.verbose;
    if live {
        opts.progress = Some(Default::default());
    }
    let Some(loaded) = load_each_reporting(&args.paths, &opts, color) else {
        return EXIT_UNUSABLE;
    };
    let prepared = loaded.prepared;
    if let Some(filter) = &opts.filter {
        if prepared.iter().all(|p| p.selected.is_empty()) {
            eprintln!("error: no request name contains `{filter}` (--filter)");
            return EXIT_UNUSABLE;
        }
    }
    let style = Style {
        color,
        verbose: args.verbose,
        quiet: args.quiet,
        timings: std::env::var_os("WSRUN_NO_TIMINGS").is_none(),
    };
    let printer = std::sync::Arc::new(Printer {
        style,
        out: Mutex::new(std::io::stdout()),
        live,
    });
    let ticker = opts
        .progress
        .clone()
        .map(|p| tokio::spawn(progress_line(p, printer.clone())));
    let (handle, cancel) = runner::cancel_pair();
    let watcher = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            handle.cancel();
        }
    });
    let report = runner::run(&prepared, &opts, printer.as_ref(), cancel).await;
    watcher.abort();
    if let Some(t) = ticker {
        t.abort();
    }
    printer.emit(&human::summary(&style, &report));
    let mut code = match report.stopped {
        Some(crate::report::Stop::Interrupted) => EXIT_INTERRUPTED,
        _ if report.passed() => EXIT_OK,
        _ => EXIT_FAILED,
    };
    if !loaded.broken.is_empty() && code != EXIT_INTERRUPTED {
        let n = loaded.broken.len();
        let label = if color {
            "\x1b[1;31merror\x1b[0m"
        } else {
            "error"
        };
        eprintln!(
            "{label}: {n} collection file{} could not be loaded (above); the others ran",
            if n == 1 { "" } else { "s" }
        );
        code = EXIT_UNUSABLE;
    }
    for (kind, file) in &args.reports {
        if let Err(e) = write_report(*kind, file, &report) {
            eprintln!("error: cannot write the report {}: {e}", file.display());
            code = code.max(EXIT_FAILED);
        }
    }
    if let Some(to) = &args.push {
        code = code.max(push::push_report(to, &report));
    }
    if std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true") {
        printer.emit(&human::github_annotations(&report));
    }
    code
}

/// Redraws "⋯ 3/10 requests · BTC/USDT trades · 120,000 msgs (61k/s)" on stderr every 250 ms,
/// starting once the run has taken a second.
async fn progress_line(
    progress: std::sync::Arc<crate::options::Progress>,
    printer: std::sync::Arc<Printer>,
) {
    use std::sync::atomic::Ordering::Relaxed;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let mut last = progress.messages.load(Relaxed);
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
    loop {
        tick.tick().await;
        let now = progress.messages.load(Relaxed);
        let rate = (now - last) * 4;
        last = now;
        let current = progress
            .current
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default();
        let live = progress.live.lock().map(|l| l.clone()).unwrap_or_default();
        let line = if !live.is_empty() {
            format!("⋯ {live}")
        } else {
            format!(
                "⋯ {}/{} requests · {} · {} msgs ({}/s)",
                progress.requests_done.load(Relaxed),
                progress.requests_total.load(Relaxed),
                current,
                now,
                rate
            )
        };
        // Hold the stdout lock so the line never lands in the middle of a result.
        if let Ok(_out) = printer.out.lock() {
            eprint!("\r\x1b[2K{}", printer.style_dim(&line));
        }
    }
}

/// Writes one `--report` file.
pub fn write_report(
    kind: args::ReportKind,
    file: &Path,
    report: &crate::report::RunReport,
) -> std::io::Result<()> {
    let text = match kind {
        args::ReportKind::Junit => crate::report::junit::report(report),
        args::ReportKind::Json => {
            let mut t = serde_json::to_string_pretty(&crate::report::json::report(report))
                .unwrap_or_default();
            t.push('\n');
            t
        }
        args::ReportKind::Html => crate::report::html::report(report),
        args::ReportKind::OpenMetrics => crate::report::openmetrics::report(
            report,
            crate::report::openmetrics::Format::OpenMetrics,
        ),
        args::ReportKind::Csv => crate::report::csv::report(report),
    };
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(file, text)
}

/// Loads every collection under `paths` ([`load_each`]), printing each file that could not be
/// loaded and the collections left out for `--env`; `None` when there is nothing to run.
fn load_each_reporting(
    paths: &[PathBuf],
    opts: &crate::options::RunOptions,
    color: bool,
) -> Option<Loaded> {
    let loaded = match load_each(paths, opts) {
        Ok(l) => l,
        Err(e) => {
            print_load_error(&e, color);
            return None;
        }
    };
    for e in &loaded.broken {
        print_load_error(e, color);
    }
    if let (Some(env), false) = (&opts.env, loaded.without_env.is_empty()) {
        let names: Vec<String> = loaded
            .without_env
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        eprintln!(
            "note: --env {env}: left out {} collection{} that do{} not define it: {}",
            names.len(),
            if names.len() == 1 { "" } else { "s" },
            if names.len() == 1 { "es" } else { "" },
            names.join(", ")
        );
    }
    (!loaded.prepared.is_empty()).then_some(loaded)
}

fn validate(args: args::ValidateArgs, color: bool) -> i32 {
    let opts = args.options();
    let Some(loaded) = load_each_reporting(&args.paths, &opts, color) else {
        return EXIT_UNUSABLE;
    };
    for p in &loaded.prepared {
        println!(
            "{} {}: {} request(s) OK",
            if color { "\x1b[32m✓\x1b[0m" } else { "✓" },
            p.collection.path.display(),
            p.selected.len()
        );
    }
    if loaded.broken.is_empty() {
        EXIT_OK
    } else {
        EXIT_UNUSABLE
    }
}

fn snapshots(args: args::SnapshotsArgs) -> i32 {
    let root = args.path.clone().unwrap_or_else(|| PathBuf::from("."));
    if !root.exists() {
        eprintln!("error: {}: no such file or folder", root.display());
        return EXIT_UNUSABLE;
    }
    let result = match args.action {
        args::SnapshotAction::Accept => crate::snapshot::accept(&root),
        args::SnapshotAction::Reject => crate::snapshot::reject(&root),
    };
    match result {
        Ok(files) => {
            let verb = match args.action {
                args::SnapshotAction::Accept => "accepted",
                args::SnapshotAction::Reject => "rejected",
            };
            for f in &files {
                println!("{verb} {}", f.display());
            }
            println!("{} snapshot(s) {verb}", files.len());
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_UNUSABLE
        }
    }
}

async fn serve(args: args::ServeArgs) -> i32 {
    let collection = match Collection::load(&args.file) {
        Ok(c) => c,
        Err(e) => {
            print_load_error(&e, false);
            return EXIT_UNUSABLE;
        }
    };
    let server =
        match crate::mock::serve_standalone(&collection, args.mock.as_deref(), args.port).await {
            Ok(s) => s,
            Err(crate::mock::StandaloneError::Unknown(why)) => {
                eprintln!("error: {}: {why}", args.file.display());
                return EXIT_UNUSABLE;
            }
            Err(crate::mock::StandaloneError::Mock(name, e)) => {
                eprintln!("error: mock `{name}`: {e}");
                return EXIT_UNUSABLE;
            }
            Err(crate::mock::StandaloneError::Vars(e)) => {
                print_load_error(&e, false);
                return EXIT_UNUSABLE;
            }
        };
    let name = server.name().to_string();
    println!("serving mock `{name}` at {}", server.url());
    println!("press Ctrl-C to stop");
    let _ = std::io::stdout().flush();
    let _ = tokio::signal::ctrl_c().await;
    drop(server);
    println!("stopped");
    EXIT_OK
}

/// Refuses to write over an existing `path` unless `--force`: one message, exit 2, before
/// anything connects (a session that records nothing would otherwise empty the file).
pub(crate) fn refuse_overwrite(path: &std::path::Path, flag: &str, force: bool) -> Option<i32> {
    if force || !path.exists() {
        return None;
    }
    eprintln!(
        "error: {} exists; choose another {flag}, or --force to overwrite it",
        path.display()
    );
    Some(EXIT_UNUSABLE)
}

async fn record(args: args::RecordArgs) -> i32 {
    if let Some(code) = refuse_overwrite(&args.out, "--out", args.force) {
        return code;
    }
    let interactive = std::io::stderr().is_terminal();
    let progress = move |n: u64, secs: f64| {
        if interactive {
            let rate = n as f64 / secs.max(1e-3);
            eprint!("\r{n} messages ({rate:.0}/s)   ");
        }
    };
    let connection = match args.conn.connection(&args.url, &args.send) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_UNUSABLE;
        }
    };
    let masker = connection.masker;
    let spec = match connection.target.connect_spec("record") {
        Ok(spec) => spec,
        Err(e) => {
            eprintln!("error: {}", masker.mask(&e));
            return EXIT_UNUSABLE;
        }
    };
    let result = crate::record::record(
        &spec,
        &args.out,
        &connection.send,
        args.count,
        args.duration.map(|d| d.0),
        Some(&progress),
        &masker,
    )
    .await;
    if interactive {
        eprintln!();
    }
    match result {
        Ok(n) => {
            println!("recorded {n} message(s) to {}", args.out.display());
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: {}", masker.mask(&e.to_string()));
            EXIT_FAILED
        }
    }
}
