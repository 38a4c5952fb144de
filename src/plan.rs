//! The plan stage, between loading and running: the environment, the variable layers, the check
//! that every template name is defined, and which requests run (filter, names, shard).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::collection::{Collection, LoadError, MockDef, OrderedMap, Request};
use crate::options::RunOptions;
use crate::template::{self, Lookup, Scope, TValue, TemplateError, VarRef};

mod shard;
pub use shard::{shard_of, shard_path};

/// A collection checked against the options and ready to run.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub collection: Arc<Collection>,
    pub env: Option<String>,
    /// Indices of the requests the filter selected.
    pub selected: Vec<usize>,
    layers: Vec<Layer>,
}

/// One source of variables: names and their (templated) values.
type Layer = Vec<(String, TValue)>;

/// Names outside the variables: built-ins, `env.X`, `mocks.NAME.url` (and `.http_url`, the
/// same port as `http://`, for its HTTP routes).
struct Builtins<'a> {
    mocks: &'a HashMap<String, String>,
    mock_names: Vec<&'a str>,
}

impl Lookup for Builtins<'_> {
    fn lookup(&self, var: &VarRef) -> Result<Value, TemplateError> {
        match var.root.as_str() {
            name if template::BUILTINS.contains(&name) => Scope::default().lookup(var),
            "env" => template::lookup_env(var),
            "mocks" => {
                let name = var.path.first().map(String::as_str).unwrap_or_default();
                let field = var.path.get(1).map(String::as_str);
                match (self.mocks.get(name), field) {
                    (Some(url), Some("url")) if var.path.len() == 2 => {
                        Ok(Value::String(url.clone()))
                    }
                    (Some(url), Some("http_url")) if var.path.len() == 2 => {
                        Ok(Value::String(http_url(url)))
                    }
                    (Some(_), _) => Err(TemplateError::NoField {
                        name: format!("mocks.{name}"),
                        field: var.path[1..].join("."),
                    }),
                    (None, _) => Err(TemplateError::Unknown {
                        name: format!("mocks.{name}"),
                        hint: match template::closest(name, self.mock_names.iter().copied()) {
                            Some(s) => format!(" (did you mean `mocks.{s}`?)"),
                            None if self.mock_names.is_empty() => {
                                " (the collection defines no `mocks`)".into()
                            }
                            None => format!(" (mocks: {})", self.mock_names.join(", ")),
                        },
                    }),
                }
            }
            _ => Err(TemplateError::Unknown {
                name: var.root.clone(),
                hint: String::new(),
            }),
        }
    }
}

fn parse_kv(pairs: &[(String, String)]) -> Vec<(String, TValue)> {
    pairs
        .iter()
        .map(|(k, v)| (k.clone(), TValue::Literal(Value::String(v.clone()))))
        .collect()
}

/// The variables of a `--vars-file`. The file is where secrets live, so its errors name the
/// place and the problem but never show its content, and a secret's value (a name in `secrets`)
/// is taken as it is: a `{{` inside one is text, not a template.
fn load_vars_file(path: &Path, secrets: &[&str]) -> Result<Vec<(String, TValue)>, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| LoadError::io(path, &e))?;
    let map: OrderedMap<String, Value> =
        serde_saphyr::from_str_with_options(&text, crate::collection::yaml_options()).map_err(
            |e| {
                // No source: no snippet of the offending line.
                let mut error = LoadError::from_yaml(path, "", &e);
                error.message = without_quotes(&error.message);
                error
            },
        )?;
    map.0
        .into_iter()
        .map(|(name, value)| {
            if secrets.contains(&name.as_str()) {
                return Ok((name, TValue::Literal(value)));
            }
            match TValue::compile(value) {
                Ok(value) => Ok((name, value)),
                Err(e) => Err(LoadError::at(
                    path,
                    "",
                    var_line(&text, &name).unwrap_or(0),
                    0,
                    format!("variable `{name}`: {}", e.problem()),
                )),
            }
        })
        .collect()
}

/// A parser message with anything it quotes (`invalid type: string "…"`) left out.
fn without_quotes(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quote = None;
    for c in message.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '`' => {
                quote = Some(c);
                out.push('…');
            }
            None => out.push(c),
        }
    }
    out
}

/// The environment the options select and the variable layers, lowest precedence first:
/// `vars`, the environment, `--vars-file`s, `--var`, `--secret`.
fn var_layers(
    collection: &Collection,
    opts: &RunOptions,
) -> Result<(Option<String>, Vec<Layer>), LoadError> {
    let env = collection
        .select_env(opts.env.as_deref())?
        .map(str::to_string);
    let secrets: Vec<&str> = collection
        .secrets
        .iter()
        .chain(opts.secrets.iter().map(|(k, _)| k))
        .map(String::as_str)
        .collect();
    let mut files = Vec::new();
    for f in &opts.vars_files {
        files.extend(load_vars_file(f, &secrets)?);
    }
    let layers = vec![
        collection.vars.clone(),
        collection.env_vars(env.as_deref()).to_vec(),
        files,
        parse_kv(&opts.vars),
        parse_kv(&opts.secrets),
    ];
    Ok((env, layers))
}

/// A collection's variables resolved for `opts`, without checking its requests: what a mock
/// served alone (`wsrun serve`) replies with. `mocks` gives mock URLs; a mock it leaves out
/// resolves to `ws://127.0.0.1:0`.
pub fn collection_vars(
    collection: Collection,
    opts: &RunOptions,
    mocks: &HashMap<String, String>,
) -> Result<HashMap<String, Value>, LoadError> {
    let (env, layers) = var_layers(&collection, opts)?;
    let mut urls = placeholder_urls(&collection);
    urls.extend(mocks.iter().map(|(k, v)| (k.clone(), v.clone())));
    let mut vars = Prepared {
        collection: Arc::new(collection),
        env,
        selected: Vec::new(),
        layers,
    }
    .resolve(&urls)?;
    let named: serde_json::Map<String, Value> = mocks
        .iter()
        .map(|(name, url)| {
            let http = http_url(url);
            (
                name.clone(),
                serde_json::json!({ "url": url, "http_url": http }),
            )
        })
        .collect();
    vars.entry("mocks".to_string())
        .or_insert(Value::Object(named));
    Ok(vars)
}

/// A URL for every mock, for resolving names without starting anything.
fn placeholder_urls(collection: &Collection) -> HashMap<String, String> {
    collection
        .mocks
        .iter()
        .map(|(n, _)| (n.clone(), "ws://127.0.0.1:0".to_string()))
        .collect()
}

/// Checks a collection against the options without connecting: the environment exists, every
/// template name is defined (or captured earlier in its request), variables have no cycles.
pub fn prepare(collection: Collection, opts: &RunOptions) -> Result<Prepared, LoadError> {
    let (env, layers) = var_layers(&collection, opts)?;
    let filter = opts.filter.as_ref().map(|f| f.to_lowercase());
    let path_text = shard_path(&collection.path);
    let selected: Vec<usize> = collection
        .requests
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            filter
                .as_ref()
                .is_none_or(|f| r.name.to_lowercase().contains(f))
        })
        .filter(|(_, r)| {
            opts.requests
                .as_ref()
                .is_none_or(|names| names.contains(&r.name))
        })
        .filter(|(_, r)| {
            // A load runs in every shard, each with its share of the users.
            opts.shard
                .is_none_or(|(k, n)| r.load.is_some() || shard_of(&path_text, &r.name, n) == k)
        })
        .map(|(i, _)| i)
        .collect();
    let prepared = Prepared {
        collection: Arc::new(collection),
        env,
        selected,
        layers,
    };
    // Resolve with placeholder mock URLs: the names are checked, nothing is started.
    let placeholders = placeholder_urls(&prepared.collection);
    let vars = prepared.resolve(&placeholders)?;
    for name in prepared.mocks_used() {
        if let Some((_, def)) = prepared.collection.mocks.iter().find(|(n, _)| *n == name) {
            check_mock_names(&prepared.collection, &name, def, &vars, &placeholders)?;
        }
    }
    for &i in &prepared.selected {
        check_request_names(
            &prepared.collection,
            &prepared.collection.requests[i],
            &vars,
            &placeholders,
        )?;
    }
    check_files(&prepared, &vars)?;
    Ok(prepared)
}

/// The files the run will read exist: each started mock's `replay:` and each selected
/// connection's `tls.ca` (expanded), relative to the collection; errors point at their line.
fn check_files(prepared: &Prepared, vars: &HashMap<String, Value>) -> Result<(), LoadError> {
    let collection = &prepared.collection;
    let base = collection.base_dir();
    for name in prepared.mocks_used() {
        let Some((_, def)) = collection.mocks.iter().find(|(n, _)| *n == name) else {
            continue;
        };
        if let Some(replay) = &def.replay {
            let path = base.join(&replay.value);
            file_exists(&path).map_err(|why| {
                collection.error_at(
                    replay.referenced.line() as usize,
                    format!(
                        "mock `{name}`: cannot read the replay file {}: {why}",
                        path.display()
                    ),
                )
            })?;
        }
    }
    let scope = Scope {
        vars: Some(vars),
        ..Scope::default()
    };
    for &i in &prepared.selected {
        for c in &collection.requests[i].connections {
            c.tls.check_files(collection, &scope)?;
        }
    }
    Ok(())
}

/// Why `path` is not a readable file, in the words of [`LoadError::io`].
pub(crate) fn file_exists(path: &Path) -> Result<(), String> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Err("it is a folder".into()),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err("no such file".into()),
        Err(e) => Err(e.to_string()),
    }
}

fn check_request_names(
    collection: &Collection,
    request: &Request,
    vars: &HashMap<String, Value>,
    mocks: &HashMap<String, String>,
) -> Result<(), LoadError> {
    let mut captured = request.captured_names();
    let context = format!("in request `{}`", request.name);
    let refs = request.free_vars();
    if !vars.contains_key("row") {
        for (line, var) in refs.iter().filter(|(_, v)| v.root == "row") {
            crate::collection::data::Data::check_column(request.data.as_ref(), var)
                .map_err(|e| collection.error_at(*line, format!("{e} {context}")))?;
        }
        captured.push("row");
    }
    check_names(collection, refs, &captured, vars, mocks, &context)
}

/// A mock's rules may name the variables and built-ins; its replies also `message…`. Errors
/// point at the rule.
fn check_mock_names(
    collection: &Collection,
    name: &str,
    def: &MockDef,
    vars: &HashMap<String, Value>,
    mocks: &HashMap<String, String>,
) -> Result<(), LoadError> {
    for rule in &def.on {
        let line = rule.referenced.line() as usize;
        let mut matched = Vec::new();
        for (_, m) in &rule.value.matches.0 {
            m.vars(&mut matched);
        }
        if let Some(m) = &rule.value.text {
            m.vars(&mut matched);
        }
        if matched.iter().any(|v| v.root == "message") {
            return Err(collection.error_at(
                line,
                format!(
                    "mock `{name}`: `{{{{ message }}}}` names the incoming message in replies only; matchers are resolved once, when the mock starts"
                ),
            ));
        }
        let context = format!("in a `match:` or `text:` of mock `{name}`");
        let at_rule = |v: Vec<VarRef>| v.into_iter().map(|v| (line, v)).collect();
        check_names(collection, at_rule(matched), &[], vars, mocks, &context)?;
        let mut replied = Vec::new();
        for reply in &rule.value.reply {
            if let Some(j) = &reply.json {
                j.vars(&mut replied);
            }
            for t in reply.text.iter().chain(&reply.binary) {
                replied.extend(t.vars().cloned());
            }
        }
        let context = format!("in a reply of mock `{name}`");
        check_names(
            collection,
            at_rule(replied),
            &["message"],
            vars,
            mocks,
            &context,
        )?;
    }
    Ok(())
}

/// Every name in `refs` is a variable, one of `also` (captures, `message`) or a built-in; the
/// first that is none is an error at its line, with a "did you mean".
fn check_names(
    collection: &Collection,
    refs: Vec<(usize, VarRef)>,
    also: &[&str],
    vars: &HashMap<String, Value>,
    mocks: &HashMap<String, String>,
    context: &str,
) -> Result<(), LoadError> {
    let builtins = Builtins {
        mocks,
        mock_names: collection.mocks.iter().map(|(n, _)| n.as_str()).collect(),
    };
    for (line, var) in refs {
        if let Some(value) = vars.get(&var.root) {
            template::check_text(value, &var)
                .map_err(|e| collection.error_at(line, format!("{e} {context}")))?;
            continue;
        }
        if also.contains(&var.root.as_str()) {
            continue;
        }
        if let Err(e) = builtins.lookup(&var) {
            let e = match e {
                TemplateError::Unknown { name, hint } if hint.is_empty() => {
                    let known = vars.keys().map(String::as_str).chain(also.iter().copied());
                    template::unknown(&name, known)
                }
                other => other,
            };
            return Err(collection.error_at(line, format!("{e} {context}")));
        }
    }
    Ok(())
}

impl Prepared {
    /// The variables, resolved through each other, with these mock URLs.
    pub(crate) fn resolve(
        &self,
        mocks: &HashMap<String, String>,
    ) -> Result<HashMap<String, Value>, LoadError> {
        let builtins = Builtins {
            mocks,
            mock_names: self
                .collection
                .mocks
                .iter()
                .map(|(n, _)| n.as_str())
                .collect(),
        };
        let layers: Vec<&[(String, TValue)]> = self.layers.iter().map(Vec::as_slice).collect();
        template::resolve_vars(&layers, &builtins).map_err(|(name, e)| {
            let line = var_line(&self.collection.source, &name);
            let message = format!("{e} (in variable `{name}`)");
            match line {
                Some(l) => self.collection.error_at(l, message),
                None => LoadError::plain(&self.collection.path, message),
            }
        })
    }

    /// The mocks this run refers to (`{{ mocks.NAME.url }}` anywhere it uses).
    pub fn mocks_used(&self) -> Vec<String> {
        let mut refs = Vec::new();
        for layer in &self.layers {
            for (_, v) in layer {
                v.vars(&mut refs);
            }
        }
        for &i in &self.selected {
            refs.extend(
                self.collection.requests[i]
                    .free_vars()
                    .into_iter()
                    .map(|(_, v)| v),
            );
        }
        let mut names: Vec<String> = refs
            .into_iter()
            .filter(|v| v.root == "mocks")
            .filter_map(|v| v.path.first().cloned())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// The line where a variable is defined (`  name: …`, or `"name": …` in JSON), for error
/// messages.
fn var_line(source: &str, name: &str) -> Option<usize> {
    let (plain, quoted) = (format!("{name}:"), format!("\"{name}\":"));
    source
        .lines()
        .position(|l| {
            let t = l.trim_start().trim_start_matches(['{', ' ']);
            t.starts_with(&plain) || t.starts_with(&quoted)
        })
        .map(|i| i + 1)
}

/// The collections of a run, each loaded and planned on its own: one broken file does not stop
/// the others ([`load_each`]).
#[derive(Default)]
pub struct Loaded {
    pub prepared: Vec<Prepared>,
    /// Files that could not be loaded or planned: the run reports them, runs the rest, and
    /// exits 2.
    pub broken: Vec<LoadError>,
    /// Collections found in a folder that do not define the `--env` asked for: left out.
    pub without_env: Vec<PathBuf>,
}

/// Finds the collections under `paths` and loads and plans each. With `--env`, a collection
/// found in a folder that does not define that environment is left out (a file named itself
/// must define it); when none of them defines it, that is an error naming the first.
pub fn load_each(paths: &[PathBuf], opts: &RunOptions) -> Result<Loaded, LoadError> {
    let found = crate::discover::collections_in(paths);
    let mut out = Loaded {
        broken: found.broken,
        ..Loaded::default()
    };
    let mut first_env_error = None;
    for file in found.files {
        let collection = match Collection::load(&file.path) {
            Ok(c) => c,
            Err(e) => {
                out.broken.push(e);
                continue;
            }
        };
        if let Some(env) = opts.env.as_deref().filter(|_| file.in_folder) {
            if !collection.environments.iter().any(|(n, _)| n == env) {
                if first_env_error.is_none() {
                    first_env_error = collection.select_env(Some(env)).err();
                }
                out.without_env.push(file.path);
                continue;
            }
        }
        match prepare(collection, opts) {
            Ok(p) => out.prepared.push(p),
            Err(e) => out.broken.push(e),
        }
    }
    if out.prepared.is_empty() && out.broken.is_empty() {
        if let Some(e) = first_env_error {
            return Err(e);
        }
    }
    Ok(out)
}

/// A mock's `ws://` URL as `http://` (its HTTP routes answer on the same port).
pub(crate) fn http_url(ws: &str) -> String {
    match ws.strip_prefix("ws://") {
        Some(rest) => format!("http://{rest}"),
        None => ws.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vars_file_errors_leave_out_what_the_parser_quotes() {
        assert_eq!(
            without_quotes(r#"invalid type: string "p4ss", expected a map"#),
            "invalid type: string …, expected a map"
        );
        assert_eq!(
            without_quotes("non-finite float `nan`"),
            "non-finite float …"
        );
        assert_eq!(without_quotes("unclosed quote"), "unclosed quote");
    }
}
