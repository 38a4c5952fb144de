//! JUnit XML (`--report junit=FILE`) as GitHub test reporters, GitLab and Jenkins read it: a
//! `<testsuite>` per collection, a `<testcase>` per request, the failure text as the body of
//! `<failure>`, the frame transcript in `<system-out>`.

use std::fmt::Write as _;

use super::human::{self, Style};
use super::{RequestReport, RunReport};

pub fn report(r: &RunReport) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total = r.total();
    let failures = r.failed();
    let _ = writeln!(
        out,
        "<testsuites name=\"wsrun\" tests=\"{total}\" failures=\"{failures}\" errors=\"0\" time=\"{:.3}\">",
        r.duration.as_secs_f64()
    );
    for c in &r.collections {
        let failed = c.requests.iter().filter(|q| !q.passed()).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" errors=\"0\" skipped=\"0\" time=\"{:.3}\">",
            escape(&c.path),
            c.requests.len(),
            c.duration.as_secs_f64()
        );
        for q in &c.requests {
            testcase(&mut out, &c.path, q);
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn testcase(out: &mut String, path: &str, q: &RequestReport) {
    let _ = write!(
        out,
        "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" line=\"{}\" time=\"{:.3}\"",
        escape(path),
        escape(&q.name),
        escape(path),
        q.line,
        q.duration.as_secs_f64()
    );
    let style = Style::default();
    let failure = q.failure();
    let transcript = human::transcript(
        &Style {
            timings: true,
            ..style
        },
        q,
    );
    if failure.is_none() && transcript.is_empty() {
        out.push_str("/>\n");
        return;
    }
    out.push_str(">\n");
    if let Some((step, f)) = failure {
        let text = human::failure_text(&style, path, step, f);
        let _ = writeln!(
            out,
            "      <failure message=\"{}\" type=\"{}\">{}</failure>",
            escape(&super::printable(&f.summary)),
            step.map(|s| s.keyword).unwrap_or("connection"),
            escape(text.trim_end())
        );
    }
    if !transcript.is_empty() {
        let _ = writeln!(
            out,
            "      <system-out>{}</system-out>",
            escape(&transcript)
        );
    }
    out.push_str("    </testcase>\n");
}

/// Escapes text for XML attributes and bodies; drops characters XML 1.0 cannot carry.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}
