//! `wsrun new --from-postman DIR|FILE`: the WebSocket requests of a collection in Postman's
//! local YAML format (v3): a folder whose `*.request.yaml` files have `$kind:
//! websocket-request` (`url`, `headers`, `queryParams`, `messages`: the folder, relative to the
//! request file, of its saved `*.message.yaml` — `$kind: websocket-message`, `content`,
//! `contentType`), the collection's `.resources/definition.yaml` giving its name and variables.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::Value;

use super::import::{
    hex_bytes, read_text, translate, with_query, Dialect, Import, ImportError, Payload, Session,
};

/// Reads a Postman collection folder, or one `.request.yaml` file.
pub fn read(path: &Path) -> Result<Import, ImportError> {
    let source = path.display().to_string();
    let mut import = Import {
        tool: "Postman",
        flag: "--from-postman",
        source: source.clone(),
        ..Import::default()
    };
    let files = if path.is_dir() {
        definition(&path.join(".resources/definition.yaml"), &mut import)?;
        let mut files = Vec::new();
        request_files(path, &mut files).map_err(|source| ImportError::Read {
            file: path.display().to_string(),
            source,
        })?;
        if files.is_empty() {
            return Err(ImportError::Format {
                file: source,
                message: "not a Postman collection folder (no `*.request.yaml` file in it)".into(),
            });
        }
        files
    } else {
        vec![path.to_path_buf()]
    };
    let mut sessions = Vec::new();
    for file in &files {
        let doc = yaml(file)?;
        let kind = doc.get("$kind").and_then(Value::as_str).unwrap_or("");
        if kind == "websocket-request" {
            sessions.push(session(file, &doc, &mut import.notes)?);
        } else if kind.ends_with("-request") {
            import.notes.push(format!(
                "{}: `$kind: {kind}` (wsrun runs WebSocket requests)",
                request_name(file, &doc)
            ));
        } else if !path.is_dir() {
            return Err(ImportError::Format {
                file: source,
                message: format!(
                    "not a Postman request (`$kind` is {})",
                    if kind.is_empty() {
                        "missing".into()
                    } else {
                        format!("`{kind}`")
                    }
                ),
            });
        }
    }
    if sessions.is_empty() {
        return Err(ImportError::Empty(format!(
            "no WebSocket requests in {source} ({} request files, none with `$kind: websocket-request`)",
            files.len()
        )));
    }
    import.sessions = sessions;
    Ok(import)
}

/// Reads a YAML file of the collection as JSON data.
fn yaml(file: &Path) -> Result<Value, ImportError> {
    let text = read_text(file)?;
    serde_saphyr::from_str_with_options(&text, crate::yaml::yaml_options()).map_err(|e| {
        ImportError::Format {
            file: file.display().to_string(),
            message: format!("not valid YAML ({e})"),
        }
    })
}

/// The collection's name and variables, from its definition when it has one.
fn definition(file: &Path, import: &mut Import) -> Result<(), ImportError> {
    if !file.is_file() {
        return Ok(());
    }
    let doc = yaml(file)?;
    if let Some(name) = doc.get("name").and_then(Value::as_str) {
        import.name = name.to_string();
    }
    for (key, value) in pairs(doc.get("variables")) {
        match translate(&value, Dialect::Postman, &mut Vec::new()) {
            Ok(v) => import.vars.push((key, v)),
            Err(why) => import
                .notes
                .push(format!("variable `{key}`, because {why}")),
        }
    }
    if doc.get("auth").is_some() {
        import
            .notes
            .push("the collection's `auth` (WebSocket requests carry theirs as `headers`)".into());
    }
    if doc.get("scripts").is_some() {
        import.notes.push("the collection's scripts".into());
    }
    Ok(())
}

/// `*.request.yaml` under `dir`, in Postman's order: at each level, requests and folders by
/// their `order` (a folder's in its `.resources/definition.yaml`), then by name; `.resources`
/// folders skipped.
fn request_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    let order_of = |file: &Path| {
        yaml(file)
            .ok()
            .and_then(|d| d.get("order").and_then(Value::as_f64))
            .unwrap_or(f64::MAX)
    };
    let mut level: Vec<(f64, PathBuf)> = Vec::new();
    for path in entries {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = name.unwrap_or_default();
        if path.is_dir() {
            if !name.starts_with('.') {
                level.push((order_of(&path.join(".resources/definition.yaml")), path));
            }
        } else if name.ends_with(".request.yaml") || name.ends_with(".request.yml") {
            level.push((order_of(&path), path));
        }
    }
    level.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (_, path) in level {
        if path.is_dir() {
            request_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// A map, or a list of `{key, value, disabled}` without the disabled ones, as pairs.
fn pairs(v: Option<&Value>) -> Vec<(String, String)> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    match v {
        Some(Value::Object(map)) => map.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter(|i| i.get("disabled").and_then(Value::as_bool) != Some(true))
            .filter_map(|i| {
                let key = i.get("key").and_then(Value::as_str)?;
                Some((
                    key.to_string(),
                    i.get("value").map(text).unwrap_or_default(),
                ))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The request's `name`, else its file's name without `.request.yaml`.
fn request_name(file: &Path, doc: &Value) -> String {
    if let Some(name) = doc.get("name").and_then(Value::as_str) {
        return name.to_string();
    }
    let file_name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    file_name
        .trim_end_matches(".yaml")
        .trim_end_matches(".yml")
        .trim_end_matches(".request")
        .to_string()
}

fn session(file: &Path, doc: &Value, notes: &mut Vec<String>) -> Result<Session, ImportError> {
    let name = request_name(file, doc);
    let mut session = Session {
        name: name.clone(),
        ..Session::default()
    };
    let url = doc.get("url").and_then(Value::as_str).unwrap_or_default();
    let url = with_query(url, &pairs(doc.get("queryParams")));
    match translate(&url, Dialect::Postman, &mut Vec::new()) {
        Ok(u) => session.url = u,
        Err(why) => {
            notes.push(format!(
                "{name}: the URL, because {why}; set `live` by hand"
            ));
            session.url = "wss://…".into();
        }
    }
    for (key, value) in pairs(doc.get("headers")) {
        session.add_header(&key, &value, Dialect::Postman, notes);
    }
    if doc.get("scripts").is_some() {
        notes.push(format!("{name}: its scripts"));
    }
    if let Some(dir) = doc.get("messages").and_then(Value::as_str) {
        let base = file.parent().unwrap_or(Path::new(""));
        for (label, payload) in messages(&base.join(dir), notes, &name)? {
            session.add_send(payload, Dialect::Postman, &label, notes);
        }
    }
    Ok(session)
}

/// The saved messages in `dir`, in their `order` (then by file name).
fn messages(
    dir: &Path,
    notes: &mut Vec<String>,
    request: &str,
) -> Result<Vec<(String, Payload)>, ImportError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        notes.push(format!(
            "{request}: its messages, because {} cannot be read",
            dir.display()
        ));
        return Ok(Vec::new());
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".message.yaml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let doc = yaml(&file)?;
        let order = doc.get("order").and_then(Value::as_f64).unwrap_or(f64::MAX);
        let label = format!(
            "message `{}`",
            doc.get("name")
                .and_then(Value::as_str)
                .map_or_else(|| request_name(&file, &Value::Null), str::to_string)
                .trim_end_matches(".message")
        );
        let content = doc
            .get("content")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let kind = doc
            .get("contentType")
            .and_then(Value::as_str)
            .unwrap_or("text");
        let payload = match kind {
            "base64" => base64::engine::general_purpose::STANDARD
                .decode(content.trim())
                .ok()
                .map(Payload::Binary),
            "hex" => hex_bytes(content).map(Payload::Binary),
            _ => Some(Payload::Text(content.to_string())),
        };
        match payload {
            Some(p) => out.push((order, label, p)),
            None => notes.push(format!(
                "{request}: {label}, because it is not valid {kind}"
            )),
        }
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(out.into_iter().map(|(_, l, p)| (l, p)).collect())
}
