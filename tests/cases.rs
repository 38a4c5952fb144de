//! Runs every collection under `tests/cases/<family>/` through the `wsrun` binary, each as its
//! own named test, and compares the output with the `.snap` beside it (tests/cases/README.md).
//!
//! A plain `harness = false` runner rather than libtest-mimic: that crate turns on clap's default
//! features, which would change the `wsrun` binary under test whenever tests are built.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;

use cli::Workspace;
use common::TestServer;

/// The placeholder a case uses for its test server's URL.
const SERVER: &str = "ws://SERVER";

/// The name of the case's collection in the run's workspace: its output stays short.
const CASE_FILE: &str = "case.yaml";

/// Cases mostly wait on sockets and timeouts, so more of them run at once than there are cores.
const DEFAULT_THREADS: usize = 4;

/// One `tests/cases/<family>/<name>.yaml`.
struct Case {
    family: String,
    name: String,
    path: PathBuf,
}

impl Case {
    /// `family::name`, the test's name on the command line and in the results.
    fn test_name(&self) -> String {
        format!("{}::{}", self.family, self.name)
    }

    fn dir(&self) -> &Path {
        self.path
            .parent()
            .expect("a case file lies in its family folder")
    }
}

/// How a case is run: the leading `# key: value` comment lines of its file, read as YAML.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Header {
    /// The loopback server that `ws://SERVER` stands for.
    server: Option<Server>,
    /// The command line after `wsrun`, split at whitespace; the collection is `case.yaml`.
    args: Option<String>,
    /// The expected exit code.
    #[serde(default)]
    exit: i32,
    /// Extra environment variables for the run.
    #[serde(default)]
    env: BTreeMap<String, String>,
    /// How many TCP connections the server must have accepted by the end of the run.
    connections: Option<usize>,
}

/// The servers of `tests/common`, by name; see there for what each one does.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Server {
    Echo,
    Chat,
    Silent,
    /// `header_echo`: agrees to the first requested subprotocol.
    HeaderEcho,
    /// `header_echo_with(false)`: agrees to no subprotocol.
    HeaderEchoRefusingSubprotocols,
    /// Nothing listens: connecting is refused.
    Refused,
    /// `text_server`: these text messages on connect.
    Text(Vec<String>),
    /// `text_server` with the lines of this file (beside the case) as messages.
    TextFile(String),
    /// `binary_server`: these byte strings on connect.
    Binary(Vec<Vec<u8>>),
    Closer {
        code: u16,
        reason: String,
        after: usize,
    },
    Dropper {
        after: usize,
    },
    BinanceStream {
        count: usize,
        interval_ms: u64,
    },
    /// `faulty_trades`: Binance-format trades with faults on demand.
    Trades {
        count: usize,
        interval_ms: u64,
        #[serde(default)]
        clock: bool,
        #[serde(default)]
        faults: Vec<common::Fault>,
    },
}

impl Server {
    /// Starts the server; its handle (none for `refused`) and the URL that replaces `ws://SERVER`.
    fn start(&self, case_dir: &Path) -> (Option<TestServer>, String) {
        let server = match self {
            Server::Echo => common::echo(),
            Server::Chat => common::chat(),
            Server::Silent => common::silent(),
            Server::HeaderEcho => common::header_echo(),
            Server::HeaderEchoRefusingSubprotocols => common::header_echo_with(false),
            Server::Refused => return (None, common::refused_url()),
            Server::Text(messages) => common::text_server(messages.clone()),
            Server::TextFile(file) => {
                let path = case_dir.join(file);
                let text = fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
                common::text_server(text.lines().map(str::to_owned).collect())
            }
            Server::Binary(messages) => common::binary_server(messages.clone()),
            Server::Closer {
                code,
                reason,
                after,
            } => common::closer(*code, reason, *after),
            Server::Dropper { after } => common::dropper(*after),
            Server::BinanceStream { count, interval_ms } => {
                common::binance_stream(*count, Duration::from_millis(*interval_ms))
            }
            Server::Trades {
                count,
                interval_ms,
                clock,
                faults,
            } => common::faulty_trades(common::Trades {
                count: *count,
                interval: Duration::from_millis(*interval_ms),
                clock: *clock,
                faults: faults.clone(),
            }),
        };
        let url = server.url();
        (Some(server), url)
    }
}

impl Header {
    /// Reads the header: the `#` lines at the very top, up to the first line that is not one.
    fn parse(text: &str) -> Result<Header, String> {
        let yaml: String = text
            .lines()
            .map_while(|line| line.strip_prefix('#'))
            .map(|line| format!("{}\n", line.strip_prefix(' ').unwrap_or(line)))
            .collect();
        if yaml.trim().is_empty() {
            return Ok(Header::default());
        }
        serde_saphyr::from_str(&yaml).map_err(|e| e.to_string())
    }
}

/// Runs one case; panics (naming what differs) when it does not behave as its files say.
fn run_case(case: &Case) {
    let text = fs::read_to_string(&case.path)
        .unwrap_or_else(|e| panic!("read {}: {e}", case.path.display()));
    let header = Header::parse(&text)
        .unwrap_or_else(|e| panic!("{}: bad case header: {e}", case.path.display()));
    let (server, url) = match &header.server {
        Some(server) => {
            let (handle, url) = server.start(case.dir());
            (handle, Some(url))
        }
        None => (None, None),
    };
    let serve = |text: &str| match &url {
        Some(url) => text.replace(SERVER, url),
        None => text.to_owned(),
    };

    let ws = Workspace::new();
    ws.write(CASE_FILE, &serve(&text));
    let extra = case.dir().join(&case.name);
    if extra.is_dir() {
        copy_folder(&extra, ws.path(), &serve);
    }

    let args: Vec<&str> = header
        .args
        .as_deref()
        .unwrap_or(CASE_FILE)
        .split_whitespace()
        .collect();
    let env: Vec<(&str, &str)> = header
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let run = ws.wsrun_env(&args, &env);

    let mut output = run.output();
    if let Some(url) = &url {
        output = output.replace(url, SERVER);
        // The handshake's `host:` header (`-v`) names the server without the scheme.
        output = output.replace(url.trim_start_matches("ws://"), "SERVER");
    }
    let workspace = ws.path().to_string_lossy();
    output = output.replace(workspace.as_ref(), "[WORKSPACE]");

    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(case.dir());
    settings.set_prepend_module_to_snapshot(false);
    settings.set_input_file(&case.path);
    settings.set_omit_expression(true);
    // A handshake's key is random, and the server's accept is derived from it (`-v`).
    settings.add_filter(r"(sec-websocket-(?:key|accept): )\S+", "$1[KEY]");
    // A mock's port (the server's is `SERVER` already).
    settings.add_filter(r"(host: 127\.0\.0\.1:)\d+", "$1[PORT]");
    settings.bind(|| insta::assert_snapshot!(case.name.as_str(), output));

    assert_eq!(
        run.code,
        header.exit,
        "exit code of `wsrun {}`:\n{output}",
        args.join(" ")
    );
    if let Some(expected) = header.connections {
        let server = server.expect("`connections:` needs a `server:` that listens");
        assert_eq!(
            server.connections(),
            expected,
            "TCP connections the server accepted:\n{output}"
        );
    }
}

/// Copies `from/*` into `to`, recursively, with `serve` applied to every file's text.
fn copy_folder(from: &Path, to: &Path, serve: &dyn Fn(&str) -> String) {
    for entry in fs::read_dir(from).expect("read a case folder") {
        let entry = entry.expect("read a case folder entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            fs::create_dir_all(&target).expect("create a workspace folder");
            copy_folder(&entry.path(), &target, serve);
        } else {
            let text = fs::read_to_string(entry.path()).expect("read a case file");
            fs::write(&target, serve(&text)).expect("write a workspace file");
        }
    }
}

/// Every `tests/cases/<family>/<name>.yaml`, sorted by test name. Panics on a `.snap` without
/// its case (left behind by a rename), which would otherwise never be checked again.
fn discover() -> Vec<Case> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut cases = Vec::new();
    let mut orphans = Vec::new();
    for family in fs::read_dir(&root).expect("read tests/cases") {
        let family = family.expect("read tests/cases").path();
        if !family.is_dir() {
            continue;
        }
        for file in fs::read_dir(&family).expect("read a case family") {
            let path = file.expect("read a case family").path();
            match path.extension().and_then(|ext| ext.to_str()) {
                Some("yaml") => cases.push(Case {
                    family: file_stem(&family),
                    name: file_stem(&path),
                    path,
                }),
                Some("snap") if !path.with_extension("yaml").is_file() => orphans.push(path),
                _ => {}
            }
        }
    }
    assert!(
        orphans.is_empty(),
        "snapshots without a case beside them (delete or rename them): {orphans:#?}"
    );
    cases.sort_by_key(Case::test_name);
    cases
}

fn file_stem(path: &Path) -> String {
    path.file_stem()
        .expect("a file name")
        .to_string_lossy()
        .into_owned()
}

/// The libtest command-line options that matter here; the others (`--nocapture`, `--color`,
/// `--format`, …) are accepted and ignored.
#[derive(Default)]
struct Options {
    filters: Vec<String>,
    skip: Vec<String>,
    exact: bool,
    list: bool,
    ignored: bool,
    threads: Option<usize>,
}

impl Options {
    fn from_args() -> Options {
        let mut options = Options::default();
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value)),
                _ => (arg.clone(), None),
            };
            let mut value = || inline.map(str::to_owned).or_else(|| args.next());
            match flag.as_str() {
                "--list" => options.list = true,
                "--exact" => options.exact = true,
                "--ignored" => options.ignored = true,
                "--skip" => options.skip.extend(value()),
                "--test-threads" => options.threads = value().and_then(|n| n.parse().ok()),
                "--color" | "--format" | "--logfile" | "-Z" | "--shuffle-seed" => {
                    value();
                }
                _ if flag.starts_with('-') => {}
                _ => options.filters.push(arg),
            }
        }
        options
    }

    fn selects(&self, name: &str) -> bool {
        let hit = |pattern: &String| {
            if self.exact {
                name == pattern
            } else {
                name.contains(pattern.as_str())
            }
        };
        !self.ignored
            && (self.filters.is_empty() || self.filters.iter().any(hit))
            && !self.skip.iter().any(hit)
    }

    fn threads(&self) -> usize {
        self.threads
            .or_else(|| std::env::var("RUST_TEST_THREADS").ok()?.parse().ok())
            .unwrap_or(DEFAULT_THREADS)
            .max(1)
    }
}

fn main() -> ExitCode {
    let options = Options::from_args();
    let all = discover();
    let total = all.len();
    let cases: Vec<Case> = all
        .into_iter()
        .filter(|case| options.selects(&case.test_name()))
        .collect();
    if options.list {
        for case in &cases {
            println!("{}: test", case.test_name());
        }
        return ExitCode::SUCCESS;
    }

    let plural = if cases.len() == 1 { "" } else { "s" };
    println!("\nrunning {} test{plural}", cases.len());
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let failed = Mutex::new(Vec::new());
    let (next, failed_ref, cases_ref) = (&next, &failed, &cases);
    std::thread::scope(|scope| {
        for _ in 0..options.threads().min(cases.len()) {
            scope.spawn(move || {
                while let Some(case) = cases_ref.get(next.fetch_add(1, Ordering::SeqCst)) {
                    // Its own thread, named for the case, so a panic message names the case.
                    let name = case.test_name();
                    let passed = std::thread::Builder::new()
                        .name(name.clone())
                        .spawn_scoped(scope, || run_case(case))
                        .expect("spawn a case thread")
                        .join()
                        .is_ok();
                    println!("test {name} ... {}", if passed { "ok" } else { "FAILED" });
                    if !passed {
                        failed_ref
                            .lock()
                            .expect("no case panics holding it")
                            .push(name);
                    }
                }
            });
        }
    });

    let mut failed = failed.into_inner().expect("no case panics holding it");
    failed.sort();
    if !failed.is_empty() {
        println!("\nfailures:");
        for name in &failed {
            println!("    {name}");
        }
    }
    println!(
        "\ntest result: {}. {} passed; {} failed; 0 ignored; 0 measured; {} filtered out; finished in {:.2}s\n",
        if failed.is_empty() { "ok" } else { "FAILED" },
        cases.len() - failed.len(),
        failed.len(),
        total - cases.len(),
        started.elapsed().as_secs_f64()
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(101)
    }
}
