//! An [`Import`] written as a collection: one request per session (its sends as `send` steps,
//! what it received as `expect` steps inferred like `wsrun new --from` does), a mock per session
//! as the default environment `local` — replaying what the connection received, or echoing when
//! nothing was — and the recorded URLs as the environment `live`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::Duration;

use base64::Engine as _;

use super::steps;
use super::{comment_text, name_from_url, slug, Import, Payload, Session, SECRET_HEADERS};
use crate::infer::starter::plural;
use crate::infer::yaml::{json_string, yaml_string};

/// The mock every session without received messages connects to offline.
const ECHO_MOCK: &str = "echo";
/// A replay whose messages took longer than this is sent 10ms apart offline (as `new --from`).
const SLOW: Duration = Duration::from_secs(3);
/// The longest `defaults.timeout` written, in seconds.
const MAX_TIMEOUT_SECS: u64 = 300;
/// The value a secret gets offline, where the mock ignores it.
const OFFLINE_SECRET: &str = "offline";

/// The collection's text and the replay files it names.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub yaml: String,
    /// (file name beside the collection, its lines)
    pub replays: Vec<(String, String)>,
    pub requests: usize,
    pub messages: usize,
    /// How many things the comments at the top say were not carried over.
    pub notes: usize,
}

/// One session with the names it gets in the collection.
struct Named<'a> {
    session: &'a Session,
    request: String,
    slug: String,
    /// The replay file, when the session received something.
    replay: Option<String>,
    /// (header, variable) for credentials replaced by a secret variable.
    secret_headers: Vec<(String, String)>,
}

/// Writes `import` as a collection whose file stem is `stem` (replay files are named after it).
pub fn collection(import: &Import, stem: &str) -> Written {
    let (sessions, from_env) = env_variables(&import.sessions);
    let named = name_sessions(&sessions, stem);
    let mut import = import.clone();
    let mut notes = std::mem::take(&mut import.notes);
    import.vars.retain(|(name, _)| {
        let usable = usable_variable(name);
        if !usable {
            notes.push(format!(
                "variable `{name}`: wsrun gives that name a meaning of its own, or cannot refer to it"
            ));
        }
        usable
    });
    let import = &import;
    let mut secrets: BTreeSet<String> = BTreeSet::new();
    for n in &named {
        for (header, var) in &n.secret_headers {
            secrets.insert(var.clone());
            notes.push(format!(
                "{}: the {header} header's value; `--env live` needs --secret {var}=VALUE",
                n.request
            ));
        }
        for (name, value) in &n.session.headers {
            if SECRET_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                for var in template_names(value) {
                    let given = from_env.iter().any(|(v, _)| *v == var);
                    if secrets.insert(var.clone()) && !given {
                        notes.push(format!(
                            "`{var}` (in the {name} header) is a secret, its value not written; `--env live` needs --secret {var}=VALUE"
                        ));
                    }
                }
            }
        }
    }
    let mut y = String::new();
    header(&mut y, import, &named, &notes);
    line(&mut y, format!("name: {}", yaml_string(&import.name)));
    if !secrets.is_empty() {
        let names: Vec<String> = secrets.iter().map(|s| yaml_string(s)).collect();
        line(&mut y, format!("secrets: [{}]", names.join(", ")));
    }
    vars(&mut y, import, &named, &secrets, &from_env);
    environments(&mut y, &named, &secrets, import, &from_env);
    let timeout = mocks(&mut y, &named);
    line(&mut y, "defaults:");
    line(&mut y, format!("  timeout: {timeout}s"));
    line(&mut y, "requests:");
    let mut messages = 0;
    for n in &named {
        messages += n.session.frames.len();
        request(&mut y, n);
    }
    let replays = named
        .iter()
        .filter_map(|n| Some((n.replay.clone()?, replay_lines(n.session))))
        .collect();
    Written {
        yaml: escape_separators(&y),
        replays,
        requests: named.len(),
        messages,
        notes: notes.len(),
    }
}

/// Unique request names, variable/mock slugs and replay file names.
fn name_sessions<'a>(sessions: &'a [Session], stem: &str) -> Vec<Named<'a>> {
    let mut requests: Vec<String> = Vec::new();
    // The echo mock's name is taken only when some session needs it.
    let mut slugs: Vec<String> = Vec::new();
    if sessions.iter().any(|s| s.frames.iter().all(|f| f.sent)) {
        slugs.push(ECHO_MOCK.into());
    }
    let mut out = Vec::new();
    for s in sessions {
        let base = if s.name.trim().is_empty() {
            name_from_url(&s.url)
        } else {
            s.name.clone()
        };
        let request = unique(&requests, &base, |b, i| format!("{b} ({i})"));
        requests.push(request.clone());
        let short = base.rsplit('/').find(|p| !p.is_empty()).unwrap_or(&base);
        let slug = unique(&slugs, &slug(short), |b, i| format!("{b}_{i}"));
        slugs.push(slug.clone());
        let replay = s
            .frames
            .iter()
            .any(|f| !f.sent)
            .then(|| format!("{stem}.{slug}.jsonl"));
        let secret_headers = s
            .headers
            .iter()
            .filter(|(k, v)| {
                SECRET_HEADERS.contains(&k.to_ascii_lowercase().as_str()) && !v.contains("{{")
            })
            .map(|(k, _)| (k.clone(), format!("{slug}_{}", self::slug(k))))
            .collect();
        out.push(Named {
            session: s,
            request,
            slug,
            replay,
            secret_headers,
        });
    }
    out
}

fn unique(taken: &[String], base: &str, nth: impl Fn(&str, usize) -> String) -> String {
    let mut name = base.to_string();
    let mut i = 2;
    while taken.contains(&name) {
        name = nth(base, i);
        i += 1;
    }
    name
}

pub(super) fn line(y: &mut String, text: impl AsRef<str>) {
    let _ = writeln!(y, "{}", text.as_ref().trim_end());
}

/// The comments at the top: where it comes from, how it runs, what was left out.
fn header(y: &mut String, import: &Import, named: &[Named<'_>], notes: &[String]) {
    let frames: usize = named.iter().map(|n| n.session.frames.len()).sum();
    line(
        y,
        format!(
            "# Written by `wsrun new {}` from {} ({}): {}, {}.",
            import.flag,
            comment_text(&import.source),
            import.tool,
            plural(named.len() as u64, "request"),
            plural(frames as u64, "message")
        ),
    );
    let replays = named.iter().any(|n| n.replay.is_some());
    if replays {
        line(
            y,
            "# Each request sends what was sent and expects what was received, in that order.",
        );
    } else {
        line(
            y,
            "# Each request sends the messages the export saved; it saved nothing received, so add",
        );
        line(y, "# `expect` steps for the server's answers.");
    }
    let echoes = named.iter().any(|n| n.replay.is_none());
    let offline = match (replays, echoes) {
        (true, false) => "a mock replaying what its connection received",
        (false, _) => "a mock that echoes (nothing received was saved)",
        (true, true) => "a mock replaying what its connection received (or echoing)",
    };
    line(
        y,
        format!("# Offline by default (environment `local`), each request connects to {offline};"),
    );
    line(
        y,
        "# `--env live` runs the same steps against the export's URLs.",
    );
    if !notes.is_empty() {
        line(y, "# Not carried over:");
        for n in notes {
            line(y, format!("# - {}", comment_text(n)));
        }
    }
}

/// `vars:` — the export's variables, and a placeholder for each one used but not defined;
/// secrets get no value here (it would be written in clear).
fn vars(
    y: &mut String,
    import: &Import,
    named: &[Named<'_>],
    secrets: &BTreeSet<String>,
    from_env: &[(String, String)],
) {
    // The export's own variables may refer to others, defined or not.
    let mut used: Vec<String> = Vec::new();
    for (_, value) in &import.vars {
        for name in template_names(value) {
            if !used.contains(&name) {
                used.push(name);
            }
        }
    }
    for n in named {
        let s = n.session;
        let texts = std::iter::once(&s.url)
            .chain(s.headers.iter().map(|(_, v)| v))
            .chain(s.subprotocols.iter());
        for t in texts {
            for name in template_names(t) {
                if !used.contains(&name) {
                    used.push(name);
                }
            }
        }
        for f in &s.frames {
            if let (true, Payload::Text(t)) = (f.sent, &f.payload) {
                for name in template_names(t) {
                    if !used.contains(&name) {
                        used.push(name);
                    }
                }
            }
        }
    }
    let defined: Vec<&(String, String)> = import
        .vars
        .iter()
        .filter(|(k, _)| !secrets.contains(k))
        .collect();
    let missing: Vec<&String> = used
        .iter()
        .filter(|u| {
            !secrets.contains(*u)
                && !import.vars.iter().any(|(k, _)| k == *u)
                && !from_env.iter().any(|(v, _)| v == *u)
                && root_of(u)
        })
        .collect();
    if defined.is_empty() && missing.is_empty() {
        return;
    }
    line(y, "vars:");
    for (k, v) in defined {
        line(y, format!("  {}: {}", yaml_string(k), json_string(v)));
    }
    for m in missing {
        line(
            y,
            format!(
                "  {}: \"\"   # not defined in the export: give it with --var {}=…",
                yaml_string(m),
                comment_text(m)
            ),
        );
    }
}

/// Whether an export's variable can be one of the collection's: a name templates can refer
/// to, and none that wsrun already gives a meaning (`{{ mocks.… }}`, `{{ env.… }}`…).
fn usable_variable(name: &str) -> bool {
    const RESERVED: [&str; 6] = ["mocks", "env", "uuid", "now_ms", "message", "last_id"];
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !RESERVED.contains(&name)
}

/// Whether a template name is a variable of its own (not `env.X`, not a built-in).
fn root_of(name: &str) -> bool {
    !name.starts_with("env.") && !name.starts_with("mocks.") && name != "uuid" && name != "now_ms"
}

/// The names `{{ name }}` in `text` refers to (the part before the first dot).
fn template_names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open..].find("}}") else {
            break;
        };
        let inner = rest[open + 2..open + close].trim();
        if root_of(inner) {
            let root = inner.split('.').next().unwrap_or(inner).to_string();
            if !out.contains(&root) {
                out.push(root);
            }
        }
        rest = &rest[open + close + 2..];
    }
    out
}

fn environments(
    y: &mut String,
    named: &[Named<'_>],
    secrets: &BTreeSet<String>,
    import: &Import,
    from_env: &[(String, String)],
) {
    line(y, "environments:");
    line(y, "  local:");
    for n in named {
        let mock = if n.replay.is_some() {
            &n.slug
        } else {
            ECHO_MOCK
        };
        line(
            y,
            format!(
                "    {}: \"{{{{ mocks.{mock}.url }}}}\"",
                yaml_string(&format!("{}_url", n.slug))
            ),
        );
    }
    for (var, env) in from_env.iter().filter(|(v, _)| !secrets.contains(v)) {
        line(
            y,
            format!(
                "    {}: \"\"   # `live` reads it from ${}",
                yaml_string(var),
                comment_text(env)
            ),
        );
    }
    for s in secrets {
        if let Some((_, env)) = from_env.iter().find(|(v, _)| v == s) {
            line(
                y,
                format!(
                    "    {}: {OFFLINE_SECRET}   # `live` reads it from ${}",
                    yaml_string(s),
                    comment_text(env)
                ),
            );
            continue;
        }
        let from_export = import.vars.iter().any(|(k, _)| k == s);
        let why = if from_export {
            "   # the export's value is not written here"
        } else {
            ""
        };
        line(y, format!("    {}: {OFFLINE_SECRET}{why}", yaml_string(s)));
    }
    line(y, "  live:");
    for n in named {
        line(
            y,
            format!(
                "    {}: {}",
                yaml_string(&format!("{}_url", n.slug)),
                json_string(&n.session.url)
            ),
        );
    }
    for (var, env) in from_env {
        line(
            y,
            format!("    {}: \"{{{{ env.{env} }}}}\"", yaml_string(var)),
        );
    }
    line(y, "default_env: local");
}

/// The sessions with each `{{ env.NAME }}` (a process environment variable, which would have to
/// be set even offline) turned into a variable of its own, which `live` reads from the
/// environment and `local` sets; returns them and the (variable, NAME) pairs.
fn env_variables(sessions: &[Session]) -> (Vec<Session>, Vec<(String, String)>) {
    let mut found: Vec<(String, String)> = Vec::new();
    let mut rewrite = |text: &str| -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(open) = rest.find("{{ env.") {
            let Some(close) = rest[open..].find(" }}") else {
                break;
            };
            let env = &rest[open + 7..open + close];
            let var = match found.iter().find(|(_, e)| e == env) {
                Some((v, _)) => v.clone(),
                None => {
                    let v = format!("env_{}", slug(env));
                    found.push((v.clone(), env.to_string()));
                    v
                }
            };
            out.push_str(&rest[..open]);
            out.push_str(&format!("{{{{ {var} }}}}"));
            rest = &rest[open + close + 3..];
        }
        out.push_str(rest);
        out
    };
    let mut out = Vec::with_capacity(sessions.len());
    for s in sessions {
        let mut s = s.clone();
        s.url = rewrite(&s.url);
        for (_, v) in s.headers.iter_mut() {
            *v = rewrite(v);
        }
        for p in s.subprotocols.iter_mut() {
            *p = rewrite(p);
        }
        for f in s.frames.iter_mut().filter(|f| f.sent) {
            if let Payload::Text(t) = &mut f.payload {
                *t = rewrite(t);
            }
        }
        out.push(s);
    }
    (out, found)
}

/// `mocks:`; returns the timeout (seconds) that leaves room for the recorded pace.
fn mocks(y: &mut String, named: &[Named<'_>]) -> u64 {
    line(y, "mocks:");
    let mut slowest = Duration::ZERO;
    for n in named {
        let Some(replay) = &n.replay else { continue };
        let last = n
            .session
            .frames
            .iter()
            .filter(|f| !f.sent)
            .map(|f| f.at)
            .max()
            .unwrap_or_default();
        slowest = slowest.max(last);
        let mut options = vec![format!("replay: {}", yaml_string(replay))];
        if last > SLOW {
            options.push("interval: 10ms".into());
        }
        if !n.session.subprotocols.is_empty() {
            options.push(subprotocols(&n.session.subprotocols));
        }
        let pace = if last > SLOW {
            format!("   # received over {:.1}s", last.as_secs_f64())
        } else {
            String::new()
        };
        line(
            y,
            format!("  {}: {{ {} }}{pace}", n.slug, options.join(", ")),
        );
    }
    let echoing: Vec<&Named<'_>> = named.iter().filter(|n| n.replay.is_none()).collect();
    if !echoing.is_empty() {
        let mut all: Vec<String> = Vec::new();
        for p in echoing.iter().flat_map(|n| &n.session.subprotocols) {
            if !all.contains(p) {
                all.push(p.clone());
            }
        }
        if all.is_empty() {
            line(y, format!("  {ECHO_MOCK}: {{ echo: true }}"));
        } else {
            line(
                y,
                format!("  {ECHO_MOCK}: {{ echo: true, {} }}", subprotocols(&all)),
            );
        }
    }
    // A broken export's times can be years apart: no wait needs more than five minutes.
    ((slowest.as_secs_f64() * 2.0 + 2.0).ceil() as u64).clamp(5, MAX_TIMEOUT_SECS)
}

/// `subprotocols: [a, b]`, for a mock to agree to what the request asks for.
fn subprotocols(list: &[String]) -> String {
    let items: Vec<String> = list.iter().map(|p| yaml_string(p)).collect();
    format!("subprotocols: [{}]", items.join(", "))
}

fn request(y: &mut String, n: &Named<'_>) {
    let s = n.session;
    line(y, format!("  - name: {}", yaml_string(&n.request)));
    line(y, format!("    url: \"{{{{ {}_url }}}}\"", n.slug));
    if !s.subprotocols.is_empty() {
        line(y, format!("    {}", subprotocols(&s.subprotocols)));
    }
    if !s.headers.is_empty() {
        line(y, "    headers:");
        for (k, v) in &s.headers {
            let value = match n.secret_headers.iter().find(|(h, _)| h == k) {
                Some((_, var)) => format!("\"{{{{ {var} }}}}\""),
                None => json_string(v),
            };
            line(y, format!("      {}: {value}", yaml_string(k)));
        }
    }
    line(y, "    steps:");
    let frames = &s.frames;
    let mut i = 0;
    while i < frames.len() {
        if frames[i].sent {
            steps::send(y, &frames[i].payload);
            i += 1;
            continue;
        }
        let kind = steps::signature(&frames[i].payload);
        let mut j = i;
        while j < frames.len() && !frames[j].sent && steps::signature(&frames[j].payload) == kind {
            j += 1;
        }
        steps::expect(y, &frames[i..j]);
        i = j;
    }
    if s.frames.iter().all(|f| f.sent) {
        line(
            y,
            "      # Nothing received was saved: add `expect` steps for the server's answers.",
        );
    }
    line(y, "      - close: { code: 1000 }");
}

/// Characters YAML does not allow as they are (DEL, the C1 controls, U+FFFE/U+FFFF) or that
/// some readers take as line breaks (NEL, U+2028, U+2029), as `\uXXXX` escapes. Here they can
/// only be inside double-quoted (JSON) strings — comments escape them themselves and plain
/// scalars are ASCII — where the escape means the same character.
fn escape_separators(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let unsafe_in_yaml = matches!(
            c,
            '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
        );
        if unsafe_in_yaml {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// The replay file of a session: what it received, at the recorded times.
fn replay_lines(s: &Session) -> String {
    let mut out = String::new();
    for f in s.frames.iter().filter(|f| !f.sent) {
        let ms = f.at.as_millis();
        let record = match &f.payload {
            Payload::Text(t) => serde_json::json!({ "ms": ms as u64, "text": t }),
            Payload::Binary(b) => serde_json::json!({
                "ms": ms as u64,
                "binary": base64::engine::general_purpose::STANDARD.encode(b),
            }),
        };
        let _ = writeln!(out, "{record}");
    }
    out
}
