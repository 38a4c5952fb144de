//! `wsrun watch URL`: connect and print messages live — pretty and coloured on a terminal, one
//! compact JSON per line when piped — while lines typed on stdin are sent.

use crate::protocol::{ProtocolName, PROTOCOL_NAMES};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use clap::Args;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use super::parse::parse_dur;
use super::pretty;
use super::{EXIT_FAILED, EXIT_OK, EXIT_UNUSABLE};
use crate::collection::Dur;
use crate::jsonpath::JsonPath;
use crate::record::Saver;
use crate::runner::mask::Masker;
use crate::watch::{End, Event, Plan, Target, WatchError};

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The WebSocket URL (ws:// or wss://)
    pub url: String,
    /// A text frame to send after connecting (repeatable), e.g. a SUBSCRIBE message
    #[arg(long, value_name = "JSON")]
    pub send: Vec<String>,
    /// Print only the value(s) this JSONPath selects in each message
    #[arg(long, value_name = "JSONPATH")]
    pub path: Option<String>,
    /// Stop after N messages
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Stop after this long (e.g. 10s)
    #[arg(long, value_name = "D", value_parser = parse_dur)]
    pub duration: Option<Dur>,
    /// Also save every message received, in the format `replay:` reads
    #[arg(long, value_name = "FILE.jsonl")]
    pub save: Option<PathBuf>,
    /// Overwrite the --save file if it exists
    #[arg(long, requires = "save")]
    pub force: bool,
    /// The protocol spoken inside the frames, as a collection's `protocol:` names it (default
    /// `raw`, plain frames): its handshake and keep-alives are done, and each message is shown
    /// as its JSON envelope
    #[arg(long, value_name = "P")]
    pub protocol: Option<String>,
    #[command(flatten)]
    pub conn: super::connection::ConnectionArgs,
}

/// Everything the arguments say, checked and expanded before connecting.
struct Setup {
    target: Target,
    plan: Plan,
    path: Option<JsonPath>,
    masker: Masker,
}

fn setup(args: &WatchArgs) -> Result<Setup, String> {
    let protocol = match args.protocol.as_deref() {
        None => ProtocolName::Raw,
        Some(p) => ProtocolName::from_name(p).ok_or_else(|| {
            format!(
                "--protocol {p}: unknown protocol; wsrun speaks {}",
                PROTOCOL_NAMES.join(", ")
            )
        })?,
    };
    let super::connection::Connection {
        target,
        send,
        masker,
    } = args.conn.connection(&args.url, &args.send)?;
    let path = match &args.path {
        Some(p) => Some(JsonPath::parse(p).map_err(|e| format!("--path: {e}"))?),
        None => None,
    };
    Ok(Setup {
        target,
        plan: Plan {
            send,
            count: args.count,
            duration: args.duration.map(|d| d.0),
            protocol,
        },
        path,
        masker,
    })
}

/// Runs `wsrun watch`; returns the exit code.
pub async fn watch(args: WatchArgs, color: bool) -> i32 {
    if let Some(save) = &args.save {
        if let Some(code) = super::refuse_overwrite(save, "--save", args.force) {
            return code;
        }
    }
    let setup = match setup(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_UNUSABLE;
        }
    };
    let spec = match setup.target.connect_spec("watch") {
        Ok(spec) => spec,
        Err(e) => {
            eprintln!("error: {}", setup.masker.mask(&e));
            return EXIT_UNUSABLE;
        }
    };
    let mut printer = Printer {
        pretty: std::io::stdout().is_terminal(),
        color,
        path: setup.path,
        masker: setup.masker,
        out: std::io::stdout(),
        saver: args.save.as_deref().map(Saver::new),
    };
    let url = printer.masker.mask(&spec.url).into_owned();
    let stop = async {
        if tokio::signal::ctrl_c().await.is_err() {
            // No signal handling here: only the other ends apply.
            std::future::pending::<()>().await;
        }
    };
    let mut sink = |event: Event<'_>| printer.event(&event, &url);
    let result =
        crate::watch::watch(&spec, &setup.plan, Some(stdin_lines()), stop, &mut sink).await;
    let saved = printer
        .saver
        .as_mut()
        .map(|s| (s.finish(), s.path().to_path_buf()));
    if let Some((Err(e), path)) = &saved {
        eprintln!("error: cannot write {}: {e}", path.display());
        return EXIT_FAILED;
    }
    let saved = saved.map(|(_, path)| path);
    finish(result, saved, &printer.masker)
}

/// Says how the watch ended, on stderr, and picks the exit code.
fn finish(
    result: Result<crate::watch::Summary, WatchError>,
    saved: Option<PathBuf>,
    masker: &Masker,
) -> i32 {
    let saved = saved
        .map(|p| format!(", saved to {}", p.display()))
        .unwrap_or_default();
    match result {
        Ok(summary) => {
            let why = match summary.end {
                End::Count => "--count reached".to_string(),
                End::Duration => "--duration passed".to_string(),
                End::Closed(closed) => closed.describe(),
                End::Stopped => {
                    // The terminal echoed `^C` without a line break.
                    if std::io::stderr().is_terminal() {
                        eprintln!();
                    }
                    "stopped (Ctrl-C)".to_string()
                }
            };
            let why = crate::report::printable(&masker.mask(&why)).into_owned();
            eprintln!("{} message(s){saved}; {why}", summary.received);
            EXIT_OK
        }
        // The reader went away (`| head`): nothing more to show, which is not a failure.
        Err(WatchError::Sink(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => EXIT_OK,
        Err(e) => {
            let text = masker.mask(&e.to_string()).into_owned();
            eprintln!("error: {}", crate::report::printable(&text));
            EXIT_FAILED
        }
    }
}

/// Lines typed on stdin, read on a thread of their own (a blocking read cannot be cancelled);
/// the channel closes at the end of stdin.
fn stdin_lines() -> tokio::sync::mpsc::Receiver<String> {
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            let line = line.trim_end_matches('\r');
            if !line.trim().is_empty() && tx.blocking_send(line.to_string()).is_err() {
                break;
            }
        }
    });
    rx
}

/// Shows each frame on stdout and saves received messages when asked.
struct Printer {
    /// A terminal: pretty JSON with the time and direction; else one compact JSON per line.
    pretty: bool,
    color: bool,
    path: Option<JsonPath>,
    masker: Masker,
    out: std::io::Stdout,
    saver: Option<Saver>,
}

impl Printer {
    fn event(&mut self, event: &Event<'_>, url: &str) -> std::io::Result<()> {
        if let Some(saver) = &mut self.saver {
            saver.event(event, &self.masker).map_err(|e| {
                let path = saver.path().display();
                std::io::Error::new(e.kind(), format!("cannot write {path}: {e}"))
            })?;
        }
        let text = match event {
            Event::Connected => {
                let hint = if self.pretty {
                    " (Ctrl-C to stop; a line typed here is sent)"
                } else {
                    ""
                };
                eprintln!("{}", self.dim(&format!("connected to {url}{hint}")));
                return Ok(());
            }
            Event::Sent { at, text } if self.pretty => self.line(*at, "→", "33", &self.shown(text)),
            Event::Sent { .. } => return Ok(()),
            Event::Received { at, message } => self.received(*at, message),
        };
        if !text.is_empty() {
            let mut out = self.out.lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
        Ok(())
    }

    /// What a received message prints as: its values (all, or those `--path` selects).
    fn received(&self, at: Duration, message: &Message) -> String {
        let values: Vec<String> = match (message, &self.path) {
            (Message::Text(t), None) if is_json(t.as_str()) => vec![t.as_str().to_string()],
            (Message::Text(t), None) => vec![json_string(t.as_str())],
            (Message::Binary(b), None) => {
                vec![json_string(
                    &base64::engine::general_purpose::STANDARD.encode(b),
                )]
            }
            (Message::Text(t), Some(path)) => match serde_json::from_str::<Value>(t.as_str()) {
                Ok(doc) => path.query(&doc).iter().map(|v| v.to_string()).collect(),
                Err(_) => Vec::new(),
            },
            _ => Vec::new(),
        };
        let mut out = String::new();
        for value in values {
            let masked = self.masker.mask(&value);
            if self.pretty {
                let shown = match message {
                    Message::Text(t) if self.path.is_none() && !is_json(t.as_str()) => {
                        crate::report::printable(&self.masker.mask(t.as_str())).into_owned()
                    }
                    Message::Binary(b) if self.path.is_none() => {
                        format!("[binary, {} bytes] {}", b.len(), masked.trim_matches('"'))
                    }
                    _ => pretty::json(&masked, self.color),
                };
                out.push_str(&self.line(at, "←", "32", &shown));
            } else {
                out.push_str(&crate::value::compact_json(&masked));
                out.push('\n');
            }
        }
        out
    }

    /// A sent frame as shown on a terminal: on one line, as sent.
    fn shown(&self, text: &str) -> String {
        let masked = self.masker.mask(text);
        if is_json(text) {
            crate::value::compact_json(&masked)
        } else {
            crate::report::printable(&masked).into_owned()
        }
    }

    fn line(&self, at: Duration, arrow: &str, code: &str, body: &str) -> String {
        let time = format!("{:>9.3}s", at.as_secs_f64());
        let arrow = if self.color {
            format!("\x1b[{code}m{arrow}\x1b[0m")
        } else {
            arrow.to_string()
        };
        format!("{} {arrow} {body}\n", self.dim(&time))
    }

    fn dim(&self, text: &str) -> String {
        if self.color {
            format!("\x1b[2m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

fn is_json(text: &str) -> bool {
    serde_json::from_str::<&serde_json::value::RawValue>(text.trim()).is_ok()
}

fn json_string(text: &str) -> String {
    // Serialising a `str` cannot fail: it has no map keys or custom Serialize impl to reject.
    serde_json::to_string(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn printer(pretty: bool, path: Option<&str>) -> Printer {
        Printer {
            pretty,
            color: false,
            path: path.map(|p| JsonPath::parse(p).unwrap()),
            masker: Masker::new(["s3cret".to_string()]),
            out: std::io::stdout(),
            saver: None,
        }
    }

    #[test]
    fn piped_messages_are_one_compact_json_each() {
        let p = printer(false, None);
        let at = Duration::from_millis(5);
        assert_eq!(
            p.received(at, &Message::text("{\n \"b\": 1,\n \"a\": \"s3cret\"\n}")),
            "{\"b\":1,\"a\":\"***\"}\n"
        );
        assert_eq!(
            p.received(at, &Message::text("hi \"you\"")),
            "\"hi \\\"you\\\"\"\n"
        );
        assert_eq!(
            p.received(at, &Message::binary(vec![1u8, 2, 3])),
            "\"AQID\"\n"
        );
    }

    #[test]
    fn a_path_prints_each_value_it_selects() {
        let p = printer(false, Some("$.items[*].id"));
        let m = Message::text(r#"{"items":[{"id":1},{"id":"s3cret"}]}"#);
        assert_eq!(p.received(Duration::ZERO, &m), "1\n\"***\"\n");
        assert_eq!(p.received(Duration::ZERO, &Message::text("{}")), "");
    }

    #[test]
    fn a_terminal_shows_the_time_and_direction() {
        let p = printer(true, None);
        let at = Duration::from_millis(1500);
        assert_eq!(
            p.received(at, &Message::text(r#"{"a":[1]}"#)),
            "    1.500s ← {\n  \"a\": [\n    1\n  ]\n}\n"
        );
        assert_eq!(
            p.received(at, &Message::text("bell\x07")),
            "    1.500s ← bell\\u0007\n"
        );
        assert_eq!(
            p.shown(r#"{"op": "s3cret", "k": [1, 2]}"#),
            r#"{"op":"***","k":[1,2]}"#
        );
    }
}
