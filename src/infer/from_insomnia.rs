//! `wsrun new --from-insomnia FILE`: the WebSocket requests of an Insomnia export (format 4:
//! `{_type: export, __export_format: 4, resources: [...]}`), each a `websocket_request`
//! resource with the `websocket_payload` whose `parentId` is its `_id` (the message to send).
//! The workspace's base environment becomes `vars:`.

use std::path::Path;

use serde_json::Value;

use super::import::{
    basic_auth, name_from_url, read_text, translate, Dialect, Import, ImportError, Payload, Session,
};

/// Reads the Insomnia export at `path`.
pub fn read(path: &Path) -> Result<Import, ImportError> {
    let text = read_text(path)?;
    parse(&text, &path.display().to_string())
}

/// Reads the text of an Insomnia export; `file` names it in messages.
pub fn parse(text: &str, file: &str) -> Result<Import, ImportError> {
    let format = |message: String| ImportError::Format {
        file: file.to_string(),
        message,
    };
    let doc: Value = serde_json::from_str(text).map_err(|e| format(format!("not JSON ({e})")))?;
    let version = doc.get("__export_format").and_then(Value::as_u64);
    let resources = doc.get("resources").and_then(Value::as_array);
    let (Some(4), Some(resources)) = (version, resources) else {
        return Err(format(match version {
            Some(v) => format!(
                "Insomnia export format {v}; this reads format 4 (Insomnia › Export › \"Insomnia v4 (JSON)\")"
            ),
            None => "not an Insomnia export (it has no `__export_format: 4` and `resources`)".into(),
        }));
    };
    let of_type = |t: &'static str| {
        resources
            .iter()
            .filter(move |r| r.get("_type").and_then(Value::as_str) == Some(t))
    };
    let mut import = Import {
        tool: "Insomnia",
        flag: "--from-insomnia",
        source: file.to_string(),
        name: of_type("workspace")
            .next()
            .and_then(|w| str_of(w, "name"))
            .unwrap_or_default()
            .to_string(),
        ..Import::default()
    };
    environments(resources, &mut import);
    let mut requests: Vec<&Value> = of_type("websocket_request").collect();
    if requests.is_empty() {
        return Err(ImportError::Empty(format!(
            "no WebSocket requests in {file} ({} resources, none of _type websocket_request)",
            resources.len()
        )));
    }
    // Insomnia's own order: by `metaSortKey`, the file's order among equals.
    requests.sort_by(|a, b| {
        let key = |r: &Value| r.get("metaSortKey").and_then(Value::as_f64).unwrap_or(0.0);
        key(a).total_cmp(&key(b))
    });
    for request in requests {
        let session = session(request, resources, &mut import.notes);
        import.sessions.push(session);
    }
    let other: usize = ["request", "grpc_request"]
        .iter()
        .map(|t| of_type(t).count())
        .sum();
    if other > 0 {
        import.notes.push(format!(
            "{} over HTTP or gRPC (wsrun runs the WebSocket ones)",
            super::starter::plural(other as u64, "request")
        ));
    }
    Ok(import)
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// The base environment (the one whose parent is the workspace) as `vars`; sub-environments
/// are only named.
fn environments(resources: &[Value], import: &mut Import) {
    let workspaces: Vec<&str> = resources
        .iter()
        .filter(|r| str_of(r, "_type") == Some("workspace"))
        .filter_map(|r| str_of(r, "_id"))
        .collect();
    for env in resources
        .iter()
        .filter(|r| str_of(r, "_type") == Some("environment"))
    {
        let name = str_of(env, "name").unwrap_or("?");
        let is_base = str_of(env, "parentId").is_some_and(|p| workspaces.contains(&p));
        if !is_base {
            import.notes.push(format!(
                "environment `{name}`: give its values with --var NAME=VALUE"
            ));
            continue;
        }
        let Some(data) = env.get("data").and_then(Value::as_object) else {
            continue;
        };
        for (key, value) in data {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            match translate(&text, Dialect::Insomnia, &mut Vec::new()) {
                Ok(t) => import.vars.push((key.clone(), t)),
                Err(why) => import
                    .notes
                    .push(format!("variable `{key}`, because {why}")),
            }
        }
    }
}

/// One `websocket_request` with its payload.
fn session(request: &Value, resources: &[Value], notes: &mut Vec<String>) -> Session {
    let url = str_of(request, "url").unwrap_or_default();
    let name = str_of(request, "name")
        .filter(|n| !n.trim().is_empty())
        .map_or_else(|| name_from_url(url), str::to_string);
    let mut session = Session {
        name: name.clone(),
        ..Session::default()
    };
    let params: Vec<(String, String)> = enabled(request, "parameters");
    let url = super::import::with_query(url, &params);
    match translate(&url, Dialect::Insomnia, &mut Vec::new()) {
        Ok(u) => session.url = u,
        Err(why) => {
            notes.push(format!(
                "{name}: the URL, because {why}; set `live` by hand"
            ));
            session.url = "wss://…".into();
        }
    }
    for (key, value) in enabled(request, "headers") {
        session.add_header(&key, &value, Dialect::Insomnia, notes);
    }
    authentication(request, &mut session, notes);
    let id = str_of(request, "_id");
    for payload in resources.iter().filter(|r| {
        str_of(r, "_type") == Some("websocket_payload")
            && id.is_some()
            && str_of(r, "parentId") == id
    }) {
        let value = str_of(payload, "value").unwrap_or_default();
        if !value.is_empty() {
            session.add_send(
                Payload::Text(value.to_string()),
                Dialect::Insomnia,
                "its message",
                notes,
            );
        }
    }
    session
}

/// `[{name, value, disabled}]` without the disabled ones.
fn enabled(request: &Value, key: &str) -> Vec<(String, String)> {
    request
        .get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|h| h.get("disabled").and_then(Value::as_bool) != Some(true))
        .filter_map(|h| {
            Some((
                str_of(h, "name")?.to_string(),
                str_of(h, "value")?.to_string(),
            ))
        })
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

/// Bearer and Basic authentication as an `Authorization` header; other schemes are listed.
fn authentication(request: &Value, session: &mut Session, notes: &mut Vec<String>) {
    let Some(auth) = request.get("authentication").filter(|a| {
        a.as_object().is_some_and(|o| !o.is_empty())
            && a.get("disabled").and_then(Value::as_bool) != Some(true)
    }) else {
        return;
    };
    let kind = str_of(auth, "type").unwrap_or("?");
    let header = match kind {
        "bearer" => {
            let prefix = str_of(auth, "prefix")
                .filter(|p| !p.is_empty())
                .unwrap_or("Bearer");
            Some(format!(
                "{prefix} {}",
                str_of(auth, "token").unwrap_or_default()
            ))
        }
        "basic" => basic_auth(
            str_of(auth, "username").unwrap_or_default(),
            str_of(auth, "password").unwrap_or_default(),
        ),
        "none" => return,
        _ => None,
    };
    match header {
        Some(h) => session.add_header("Authorization", &h, Dialect::Insomnia, notes),
        None => notes.push(format!(
            "{}: its `{kind}` authentication (set the header it makes under `headers:`)",
            session.name
        )),
    }
}
