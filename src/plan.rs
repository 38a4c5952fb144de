//! The plan stage, between loading and running: the environment, the variable layers, the check
//! that every template name is defined, and which requests run (filter, names, shard).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::collection::{Collection, LoadError, OrderedMap, Request};
use crate::options::RunOptions;
use crate::template::{self, Lookup, TValue, TemplateError, VarRef};

/// A collection checked against the options and ready to run.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub collection: Arc<Collection>,
    pub env: Option<String>,
    /// Indices of the requests the filter selected.
    pub selected: Vec<usize>,
    layers: Vec<Vec<(String, TValue)>>,
}

/// Which shard (1-based) of `n` a request belongs to: a stable hash of its file and name, so
/// every CI runner computes the same partition.
pub fn shard_of(collection_path: &str, request_name: &str, n: u32) -> u32 {
    // FNV-1a: stable across Rust versions and platforms, unlike `DefaultHasher`.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in collection_path
        .bytes()
        .chain([0u8])
        .chain(request_name.bytes())
    {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % u64::from(n.max(1))) as u32 + 1
}

/// Names outside the variables: built-ins, `env.X`, `mocks.NAME.url`.
struct Builtins<'a> {
    mocks: &'a HashMap<String, String>,
    mock_names: Vec<&'a str>,
}

impl Lookup for Builtins<'_> {
    fn lookup(&self, var: &VarRef) -> Result<Value, TemplateError> {
        match var.root.as_str() {
            "uuid" | "now_ms" => template::Scope::default().lookup(var),
            "env" => template::lookup_env(var),
            "mocks" => {
                let name = var.path.first().map(String::as_str).unwrap_or_default();
                let field = var.path.get(1).map(String::as_str);
                match (self.mocks.get(name), field) {
                    (Some(url), Some("url")) if var.path.len() == 2 => {
                        Ok(Value::String(url.clone()))
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

/// Checks a collection against the options without connecting: the environment exists, every
/// template name is defined (or captured earlier in its request), variables have no cycles.
pub fn prepare(collection: Collection, opts: &RunOptions) -> Result<Prepared, LoadError> {
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
    let filter = opts.filter.as_ref().map(|f| f.to_lowercase());
    let path_text = collection.path.display().to_string();
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
    let placeholders: HashMap<String, String> = prepared
        .collection
        .mocks
        .iter()
        .map(|(n, _)| (n.clone(), "ws://127.0.0.1:0".to_string()))
        .collect();
    let vars = prepared.resolve(&placeholders)?;
    for &i in &prepared.selected {
        check_request_names(
            &prepared.collection,
            &prepared.collection.requests[i],
            &vars,
            &placeholders,
        )?;
    }
    Ok(prepared)
}

fn check_request_names(
    collection: &Collection,
    request: &Request,
    vars: &HashMap<String, Value>,
    mocks: &HashMap<String, String>,
) -> Result<(), LoadError> {
    let captured = request.captured_names();
    let builtins = Builtins {
        mocks,
        mock_names: collection.mocks.iter().map(|(n, _)| n.as_str()).collect(),
    };
    for (line, var) in request.free_vars() {
        if vars.contains_key(&var.root) || captured.contains(&var.root.as_str()) {
            continue;
        }
        if let Err(e) = builtins.lookup(&var) {
            let e = match e {
                TemplateError::Unknown { name, hint } if hint.is_empty() => {
                    let known = vars
                        .keys()
                        .map(String::as_str)
                        .chain(captured.iter().copied());
                    template::unknown(&name, known)
                }
                other => other,
            };
            return Err(collection.error_at(line, format!("{e} in request `{}`", request.name)));
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

/// Finds the collections under `paths`, loads and plans each, or returns the first error.
pub fn load_all(paths: &[PathBuf], opts: &RunOptions) -> Result<Vec<Prepared>, LoadError> {
    crate::discover::collection_files(paths)?
        .iter()
        .map(|f| prepare(Collection::load(f)?, opts))
        .collect()
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
