//! `wsrun new --from RECORDING.jsonl`: writes a starter collection (and its shape snapshot) that
//! runs green at once, offline, against a mock replaying the recording; `wsrun new
//! --from-asyncapi DOC`: a collection with one request per operation of the document; the
//! imports from other tools (`--from-har`…) are in `new_import`.

use std::path::{Path, PathBuf};

use clap::Args;

use super::{EXIT_FAILED, EXIT_OK, EXIT_UNUSABLE};
use crate::infer::from_asyncapi;
use crate::infer::starter::{self, Input};
use crate::mock::Recording;

#[derive(Debug, Args)]
pub struct NewArgs {
    /// A recording (from `wsrun record` or `wsrun watch --save`: the format `replay:` reads)
    #[arg(
        long,
        value_name = "RECORDING.jsonl",
        required_unless_present_any = ["from_asyncapi", "from_har", "from_insomnia", "from_postman", "from_bruno"]
    )]
    pub from: Option<PathBuf>,
    /// The live server's URL: the collection's `live` environment
    #[arg(long, conflicts_with_all = ["from_har", "from_insomnia", "from_postman", "from_bruno"])]
    pub url: Option<String>,
    /// Where to write the collection (default: the recording's name, .yaml, in this folder)
    #[arg(long, value_name = "FILE.yaml")]
    pub out: Option<PathBuf>,
    /// Overwrite the collection if it exists
    #[arg(long)]
    pub force: bool,
    /// An AsyncAPI document (2.x or 3.0): one request per operation, its servers as environments
    #[arg(long, value_name = "DOC", conflicts_with = "from")]
    pub from_asyncapi: Option<PathBuf>,
    /// A browser's HAR export: one request per WebSocket connection, replayed by a mock
    #[arg(long, value_name = "FILE.har", conflicts_with_all = ["from", "from_asyncapi"])]
    pub from_har: Option<PathBuf>,
    /// An Insomnia export (format 4, JSON): its WebSocket requests and their messages
    #[arg(long, value_name = "FILE", conflicts_with_all = ["from", "from_asyncapi", "from_har"])]
    pub from_insomnia: Option<PathBuf>,
    /// A Postman collection in its local YAML format (a folder, or one `.request.yaml`)
    #[arg(long, value_name = "DIR|FILE", conflicts_with_all = ["from", "from_asyncapi", "from_har", "from_insomnia"])]
    pub from_postman: Option<PathBuf>,
    /// A Bruno collection folder (`.bru` files with `meta { type: ws }`)
    #[arg(long, value_name = "DIR", conflicts_with_all = ["from", "from_asyncapi", "from_har", "from_insomnia", "from_postman"])]
    pub from_bruno: Option<PathBuf>,
}

/// Runs `wsrun new`; returns the exit code.
pub async fn new(args: NewArgs) -> i32 {
    if let Some(doc) = args.from_asyncapi.as_deref() {
        return from_asyncapi(doc, args.out.as_deref(), args.force);
    }
    if let Some((tool, source)) = super::new_import::requested(&args) {
        return super::new_import::import(tool, source, args.out.as_deref(), args.force);
    }
    let Some(from) = args.from.as_deref() else {
        eprintln!("error: --from RECORDING.jsonl is required");
        return EXIT_UNUSABLE;
    };
    let recording = match Recording::load(from).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_UNUSABLE;
        }
    };
    if recording.is_empty() {
        eprintln!(
            "error: {} holds no messages: record some first (`wsrun record URL --out FILE.jsonl`)",
            from.display()
        );
        return EXIT_UNUSABLE;
    }
    let out = args.out.clone().unwrap_or_else(|| default_out(from));
    if let Some(code) = super::refuse_overwrite(&out, "--out", args.force) {
        return code;
    }
    match write(&recording, from, &out, args.url.as_deref()) {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            EXIT_OK
        }
        Err(Unwritten::Input(e)) => {
            eprintln!("error: {e}");
            EXIT_UNUSABLE
        }
        Err(Unwritten::Io(e)) => {
            eprintln!("error: {e}");
            EXIT_FAILED
        }
    }
}

/// Why `new --from` wrote nothing: the input cannot make a collection (exit 2), or a file
/// could not be written (exit 1).
enum Unwritten {
    Input(String),
    Io(String),
}

impl From<String> for Unwritten {
    fn from(e: String) -> Self {
        Unwritten::Io(e)
    }
}

/// `fixtures/trades.jsonl` → `trades.yaml`, in the current folder.
pub(super) fn default_out(from: &Path) -> PathBuf {
    let stem = from
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "recording".into());
    PathBuf::from(format!("{stem}.yaml"))
}

/// Writes the collection and its snapshot; returns what to tell the user.
fn write(
    recording: &Recording,
    from: &Path,
    out: &Path,
    url: Option<&str>,
) -> Result<Vec<String>, Unwritten> {
    let dir = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let canonical = |p: &Path| {
        p.canonicalize()
            .map_err(|e| format!("cannot resolve {}: {e}", p.display()))
    };
    let replay = starter::relative(&canonical(dir)?, &canonical(from)?);
    let recording_name = from.display().to_string();
    let replay = replay.to_string_lossy();
    let input = Input {
        recording: &recording_name,
        replay: &replay,
        collection: out,
        url,
    };
    let starter =
        starter::starter(recording, &input).map_err(|e| Unwritten::Input(e.to_string()))?;
    std::fs::write(out, &starter.yaml)
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    let mut said = vec![format!(
        "wrote {}: {} inferred from {}",
        out.display(),
        starter::plural(starter.checks as u64, "check"),
        starter::plural(starter.messages, "message")
    )];
    if let Some(snap) = &starter.snapshot {
        // The user asked for this file: it is written even under CI, unlike a run's snapshots.
        let store = crate::snapshot::Store {
            update: true,
            writes: true,
        };
        store.check(&snap.path, &snap.header, &snap.body)?;
        said.push(format!("wrote {}", snap.path.display()));
    }
    said.push(format!("run it: wsrun {}", out.display()));
    Ok(said)
}

/// `wsrun new --from-asyncapi DOC`: the document's operations as requests.
fn from_asyncapi(doc: &Path, out: Option<&Path>, force: bool) -> i32 {
    let out = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| default_out(doc));
    if out
        .canonicalize()
        .ok()
        .is_some_and(|o| doc.canonicalize().ok() == Some(o))
    {
        eprintln!(
            "error: {} is the document itself; choose an --out for the collection",
            out.display()
        );
        return EXIT_UNUSABLE;
    }
    if let Some(code) = super::refuse_overwrite(&out, "--out", force) {
        return code;
    }
    let outline = crate::contract::schema::read_document(doc)
        .and_then(|value| crate::contract::operations::outline(doc, value))
        .map_err(|e| format!("{}: {e}", doc.display()));
    let written = outline.and_then(|outline| {
        let dir = out
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let canonical = |p: &Path| {
            p.canonicalize()
                .map_err(|e| format!("cannot resolve {}: {e}", p.display()))
        };
        let contract = starter::relative(&canonical(dir)?, &canonical(doc)?);
        let name = out
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "asyncapi".into());
        let document = doc.display().to_string();
        let input = from_asyncapi::Input {
            document: &document,
            contract: &contract.to_string_lossy(),
            name: &name,
        };
        let yaml = from_asyncapi::collection(&outline, &input)?;
        std::fs::write(&out, yaml).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
        Ok(outline.operations.len())
    });
    match written {
        Ok(n) => {
            println!(
                "wrote {}: {} from {}",
                out.display(),
                starter::plural(n as u64, "request"),
                doc.display()
            );
            println!("run it: wsrun {}", out.display());
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_UNUSABLE
        }
    }
}
