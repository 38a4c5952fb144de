//! The terminal renderer: a line per request, failure details, the `-v` transcript, a summary.

use std::fmt::Write as _;

use super::{printable, Direction, Failure, FrameData, RequestReport, RunReport, StepReport, Stop};
use crate::duration::format_duration;

pub use super::style::Style;

/// The header printed before a collection's requests.
pub fn collection_header(style: &Style, path: &str, env: Option<&str>) -> String {
    if style.quiet {
        return String::new();
    }
    match env {
        Some(env) => format!(
            "{} {}\n",
            style.bold(path),
            style.dim(&format!("(env: {env})"))
        ),
        None => format!("{}\n", style.bold(path)),
    }
}

/// A finished request: its line, and for a failure the details.
pub fn request(style: &Style, path: &str, r: &RequestReport) -> String {
    let mut out = String::new();
    if r.passed() {
        if style.quiet {
            return out;
        }
        let _ = writeln!(
            out,
            "  {} {}{}",
            style.green("✓"),
            r.name,
            style.time(r.duration)
        );
    } else {
        let _ = writeln!(
            out,
            "  {} {}{}",
            style.red("✗"),
            style.bold(&r.name),
            style.time(r.duration)
        );
        if let Some((step, failure)) = r.failure() {
            out.push_str(&failure_text(style, path, step, failure));
        }
    }
    out.push_str(&super::human_load::request_latency(style, r));
    if style.verbose {
        out.push_str(&transcript(style, r));
    }
    out
}

/// The failure block under a request line. Every value in it may hold a server's text, so each
/// is passed through [`printable`].
pub fn failure_text(style: &Style, path: &str, step: Option<&StepReport>, f: &Failure) -> String {
    let mut out = String::new();
    let conn = f
        .connection
        .as_ref()
        .map(|c| format!(" [{c}]"))
        .unwrap_or_default();
    match step {
        Some(s) => {
            let _ = writeln!(
                out,
                "      {} {}:{}{conn}: {}",
                style.red(&format!("step {} {}", s.index, s.keyword)),
                path,
                s.line,
                printable(&f.summary)
            );
        }
        None => {
            let at = f.line.map(|l| format!(" {path}:{l}")).unwrap_or_default();
            let summary = printable(&f.summary);
            let _ = writeln!(out, "      {}{at}{conn}: {summary}", style.red("error"));
        }
    }
    let rows = [
        ("path", f.path.clone()),
        ("expected", f.expected.as_ref().map(ToString::to_string)),
        ("actual", f.actual.as_ref().map(ToString::to_string)),
        ("message", f.message.clone()),
    ];
    for (label, value) in rows {
        if let Some(v) = value {
            let label = style.dim(&format!("{label:<8}"));
            let _ = writeln!(out, "        {label}  {}", printable(&v));
        }
    }
    if let Some(detail) = &f.detail {
        for line in detail.lines() {
            let line = &printable(line);
            let painted = match line.chars().next() {
                Some('-') => style.red(line),
                Some('+') => style.green(line),
                _ => style.dim(line),
            };
            let _ = writeln!(out, "        {painted}");
        }
    }
    out
}

/// The `-v` frame transcript: time, direction, connection, payload.
pub fn transcript(style: &Style, r: &RequestReport) -> String {
    let mut out = String::new();
    let t = &r.transcript;
    for h in &t.handshakes {
        handshake(&mut out, style, h);
    }
    for (i, frame) in t.frames().enumerate() {
        if i == t.head.len() && t.elided > 0 {
            let _ = writeln!(
                out,
                "      {}",
                style.dim(&format!("… {} frames not shown …", t.elided))
            );
        }
        let arrow = match frame.direction {
            Direction::Sent => "→",
            Direction::Received => "←",
        };
        let at = if style.timings {
            format!("{:>9.3}s ", frame.at.as_secs_f64())
        } else {
            String::new()
        };
        let payload = match &frame.data {
            FrameData::Text(_) => frame.data.preview(200),
            FrameData::Binary(b) => format!("[binary] {}", binary_preview(b)),
            _ => format!("[{}] {}", frame.data.kind(), frame.data.preview(200)),
        };
        let payload = printable(&payload);
        let _ = writeln!(
            out,
            "      {}{} {} {}",
            style.dim(&at),
            style.dim(&frame.connection),
            arrow,
            payload
        );
    }
    out
}

/// A connection's opening handshake: the request line and headers sent, the status and headers
/// answered, each line under its connection's name and arrow as the frames are.
fn handshake(out: &mut String, style: &Style, h: &super::Handshake) {
    let sides = [
        ("→", &h.request_line, &h.request_headers),
        ("←", &h.status_line, &h.response_headers),
    ];
    for (arrow, first, headers) in sides {
        let conn = style.dim(&h.connection);
        let _ = writeln!(out, "      {conn} {arrow} {}", printable(first));
        for (name, value) in headers {
            let _ = writeln!(
                out,
                "      {conn} {arrow}   {}: {}",
                style.dim(name),
                printable(value)
            );
        }
    }
}

/// How many bytes of a binary frame `-v` shows.
const BINARY_SHOWN: usize = 16;

/// A binary payload for `-v`: its size and its first bytes in hex (`3 bytes: 00 01 ff`).
pub fn binary_preview(bytes: &[u8]) -> String {
    let mut out = format!("{} bytes", bytes.len());
    for (i, b) in bytes.iter().take(BINARY_SHOWN).enumerate() {
        let _ = write!(out, "{}{b:02x}", if i == 0 { ": " } else { " " });
    }
    if bytes.len() > BINARY_SHOWN {
        out.push_str(" …");
    }
    out
}

/// The closing summary line (and why the run stopped, if it did).
pub fn summary(style: &Style, report: &RunReport) -> String {
    let total = report.total();
    let failed = report.failed();
    let passed = total - failed;
    let mut out = String::new();
    match report.stopped {
        Some(Stop::Interrupted) => {
            let _ = writeln!(
                out,
                "{}",
                style.red("interrupted: the run was stopped (Ctrl-C)")
            );
        }
        Some(Stop::TimedOut(d)) => {
            // A report read back (`wsrun merge`) says that a run timed out, not after how long.
            let of = d
                .map(|d| format!(" of {}", format_duration(d)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "{}",
                style.red(&format!("timed out: the run passed its --timeout{of}"))
            );
        }
        Some(Stop::FailFast) => {
            let _ = writeln!(
                out,
                "{}",
                style.dim(&format!(
                    "stopped at the first failure (--fail-fast); {} request(s) not run",
                    report.not_run
                ))
            );
        }
        None => {}
    }
    let noun = if total == 1 { "request" } else { "requests" };
    let counts = if failed == 0 {
        style.green(&format!("{passed} passed"))
    } else {
        format!(
            "{}, {}",
            style.green(&format!("{passed} passed")),
            style.red(&format!("{failed} failed"))
        )
    };
    let time = if style.timings {
        format!(
            " {}",
            style.dim(&format!("({})", format_duration(report.duration)))
        )
    } else {
        String::new()
    };
    let _ = writeln!(out, "\n{total} {noun}: {counts}{time}");
    out
}

/// GitHub Actions annotations for failures (`::error file=…,line=…::…`).
pub fn github_annotations(report: &RunReport) -> String {
    let mut out = String::new();
    for c in &report.collections {
        for r in &c.requests {
            if let Some((step, f)) = r.failure() {
                let line = step.map(|s| s.line).unwrap_or(r.line);
                let mut msg = format!("{}: {}", r.name, f.summary);
                if let (Some(e), Some(a)) = (&f.expected, &f.actual) {
                    let _ = write!(msg, " (expected {e}, actual {a})");
                }
                // No newline of a server's may end the command early (GitHub's own escapes
                // would also do for that), and no escape sequence may reach the log.
                let msg = printable(&msg)
                    .replace('%', "%25")
                    .replace('\r', "%0D")
                    .replace('\n', "%0A");
                let _ = writeln!(out, "::error file={},line={line}::{msg}", c.path);
            }
        }
    }
    out
}
