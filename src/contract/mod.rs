//! Contracts a message must satisfy: JSON Schemas (the `schema:` matcher) and AsyncAPI channels
//! (a request's `contract:`), loaded and compiled once, with the collection (docs/matchers.md,
//! "JSON Schema" and "Contracts").

pub mod asyncapi;
mod cycles;
mod keys;
mod keywords;
mod locate;
pub mod operations;
pub mod schema;

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use crate::report::Failure;
pub use schema::Schema;

/// What the collection being loaded lends to the files it names: its folder (files are relative
/// to the collection), and the schemas and contracts compiled so far, so each file is compiled
/// once per load. Serde gives a `Deserialize` impl no context, so the loader sets this around
/// its parse of one file, on its own thread.
struct Loading {
    dir: PathBuf,
    schemas: HashMap<PathBuf, Arc<Schema>>,
    contracts: HashMap<(PathBuf, String), Arc<Contract>>,
}

thread_local! {
    static LOADING: RefCell<Option<Loading>> = const { RefCell::new(None) };
}

/// Runs `f` (the parse of a collection) with files resolved against `dir`.
pub fn loading_from<T>(dir: &Path, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Loading>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            LOADING.with(|l| *l.borrow_mut() = previous);
        }
    }
    let loading = Loading {
        dir: dir.to_path_buf(),
        schemas: HashMap::new(),
        contracts: HashMap::new(),
    };
    let _restore = Restore(LOADING.with(|l| l.replace(Some(loading))));
    f()
}

/// A file named in the collection being loaded (the current folder outside a load).
fn resolve(file: &str) -> PathBuf {
    LOADING.with(|l| match &*l.borrow() {
        Some(loading) => loading.dir.join(file),
        None => PathBuf::from(file),
    })
}

/// `schema: FILE`: the compiled schema of a file relative to the collection.
pub fn schema_file(file: &str) -> Result<Arc<Schema>, String> {
    let path = resolve(file);
    let cached = LOADING.with(|l| {
        l.borrow()
            .as_ref()
            .and_then(|x| x.schemas.get(&path).cloned())
    });
    if let Some(s) = cached {
        return Ok(s);
    }
    let compiled = Arc::new(Schema::from_file(&path, file, &schema::Options::default())?);
    let value = schema::read_document(&path).map_err(|e| format!("schema {e}"))?;
    cycles::check(cycles::Start {
        file: &path,
        pointer: "",
        legacy: cycles::legacy_draft(&value, false),
        value: Some(&value),
    })
    .map_err(|e| format!("{file}: {e}"))?;
    LOADING.with(|l| {
        if let Some(x) = l.borrow_mut().as_mut() {
            x.schemas.insert(path, compiled.clone());
        }
    });
    Ok(compiled)
}

/// `schema: {…}`: an inline schema, whose relative `$ref`s name files beside the collection.
pub fn inline_schema(value: &Value) -> Result<Arc<Schema>, String> {
    let path = resolve("inline-schema.json");
    let base = schema::file_uri(&path)?;
    let compiled = Schema::compile(
        value,
        Some(&base),
        "the inline schema",
        &schema::Options::default(),
    )?;
    cycles::check(cycles::Start {
        file: &path,
        pointer: "",
        legacy: cycles::legacy_draft(value, false),
        value: Some(value),
    })
    .map_err(|e| format!("the inline schema: {e}"))?;
    Ok(Arc::new(compiled))
}

/// A request's `contract: {asyncapi: FILE, channel: NAME}`: every message the request receives
/// must match one of the channel's message payload schemas.
pub struct Contract {
    /// The document as the collection names it.
    pub file: String,
    pub channel: String,
    messages: Vec<(String, Option<Schema>)>,
}

impl fmt::Debug for Contract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Contract({} {})", self.file, self.channel)
    }
}

impl Contract {
    /// Reads the document, finds the channel and compiles each of its messages' payloads.
    pub fn load(path: &Path, file: &str, channel: &str) -> Result<Self, String> {
        let doc = schema::read_document(path).map_err(|e| format!("AsyncAPI document {e}"))?;
        let messages =
            asyncapi::channel_messages(path, doc, channel).map_err(|e| format!("{file}: {e}"))?;
        let mut compiled = Vec::with_capacity(messages.len());
        for m in messages {
            let schema = match m.payload {
                None => None,
                Some((uri, draft)) => {
                    let options = schema::Options {
                        draft: Some(draft),
                        ..Default::default()
                    };
                    let name = format!("{file}: the payload of message `{}`", m.name);
                    let wrapper = serde_json::json!({ "$ref": uri });
                    let compiled = Schema::compile(&wrapper, Some(&uri), &name, &options)?;
                    let (doc, pointer) = uri.split_once('#').unwrap_or((&uri, ""));
                    let file = schema::uri_path(doc).unwrap_or_else(|| path.to_path_buf());
                    cycles::check(cycles::Start {
                        file: &file,
                        pointer: &asyncapi::unescape_fragment(pointer),
                        value: None,
                        legacy: matches!(
                            draft,
                            schema::Draft::Draft4 | schema::Draft::Draft6 | schema::Draft::Draft7
                        ),
                    })
                    .map_err(|e| format!("{name}: {e}"))?;
                    Some(compiled)
                }
            };
            compiled.push((m.name, schema));
        }
        Ok(Self {
            file: file.to_string(),
            channel: channel.to_string(),
            messages: compiled,
        })
    }

    /// The names of the channel's messages.
    pub fn message_names(&self) -> impl Iterator<Item = &str> {
        self.messages.iter().map(|(n, _)| n.as_str())
    }

    /// Checks one received text, the `nth` on its connection; the failure names the message and
    /// the closest of the channel's messages, with its errors.
    pub fn check(&self, text: &str, nth: u64) -> Result<(), Failure> {
        let doc: Value = match serde_json::from_str(text) {
            Ok(doc) => doc,
            Err(e) => {
                return Err(Failure {
                    summary: format!(
                        "contract: message {nth} received is not JSON ({e}), so it matches no message of channel `{}` in {}",
                        self.channel, self.file
                    ),
                    ..Failure::default()
                })
            }
        };
        self.check_json(&doc, nth)
    }

    /// Checks one received message's data, already JSON (a protocol envelope's payload).
    pub fn check_json(&self, doc: &Value, nth: u64) -> Result<(), Failure> {
        let valid = |s: &Option<Schema>| s.as_ref().is_none_or(|s| s.is_valid(doc));
        if self.messages.iter().any(|(_, s)| valid(s)) {
            return Ok(());
        }
        // The closest message: the one with the fewest errors (the first on a tie).
        let (name, errors) = self
            .messages
            .iter()
            .filter_map(|(n, s)| Some((n.as_str(), s.as_ref()?.errors(doc))))
            .min_by_key(|(_, e)| e.len())
            .unwrap_or_default();
        let names: Vec<&str> = self.message_names().collect();
        let plural = if errors.len() == 1 { "" } else { "s" };
        Err(Failure {
            summary: format!(
                "contract: message {nth} received matches no message of channel `{}` in {}",
                self.channel, self.file
            ),
            expected: Some(format!("one of the channel's messages: {}", names.join(", ")).into()),
            detail: Some(format!(
                "closest   {name} ({} error{plural})\n{}",
                errors.len(),
                schema::error_lines(&errors)
            )),
            ..Failure::default()
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContract {
    asyncapi: String,
    channel: String,
}

/// A request's contract, as the collection holds it.
#[derive(Debug, Clone)]
pub struct RequestContract(pub Arc<Contract>);

/// Loaded with the collection: the document relative to it, compiled once per load.
impl<'de> Deserialize<'de> for RequestContract {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawContract::deserialize(d)?;
        let path = resolve(&raw.asyncapi);
        let key = (path.clone(), raw.channel.clone());
        let cached = LOADING.with(|l| {
            l.borrow()
                .as_ref()
                .and_then(|x| x.contracts.get(&key).cloned())
        });
        let contract = match cached {
            Some(c) => c,
            None => {
                let c = Arc::new(
                    Contract::load(&path, &raw.asyncapi, &raw.channel)
                        .map_err(serde::de::Error::custom)?,
                );
                LOADING.with(|l| {
                    if let Some(x) = l.borrow_mut().as_mut() {
                        x.contracts.insert(key, c.clone());
                    }
                });
                c
            }
        };
        Ok(RequestContract(contract))
    }
}

/// A contract watching one connection: it checks every text message the connection reads and
/// keeps the first violation until the request collects it.
#[derive(Debug)]
pub struct Watch {
    contract: Arc<Contract>,
    /// Text and binary messages read so far.
    seen: u64,
    violation: Option<Failure>,
}

impl Watch {
    pub fn new(contract: Arc<Contract>) -> Self {
        Self {
            contract,
            seen: 0,
            violation: None,
        }
    }

    /// Checks a text message (binary messages are counted, not checked).
    pub fn observe(&mut self, text: Option<&str>) {
        self.seen += 1;
        let Some(text) = text else { return };
        if self.violation.is_some() {
            return;
        }
        if let Err(mut failure) = self.contract.check(text, self.seen) {
            failure.message = Some(crate::report::truncate(text, crate::report::PREVIEW));
            self.violation = Some(failure);
        }
    }

    /// Checks the data of a protocol's message (its envelope's payload).
    pub fn observe_json(&mut self, doc: &Value) {
        self.seen += 1;
        if self.violation.is_some() {
            return;
        }
        if let Err(mut failure) = self.contract.check_json(doc, self.seen) {
            failure.message = Some(crate::report::truncate(
                &doc.to_string(),
                crate::report::PREVIEW,
            ));
            self.violation = Some(failure);
        }
    }

    /// The first violation since the last call.
    pub fn take(&mut self) -> Option<Failure> {
        self.violation.take()
    }
}
