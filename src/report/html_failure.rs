//! A failure as HTML: its summary, the values it shows and its detail (a diff), escaped.

use std::fmt::Write as _;

use super::junit::escape;

pub(super) fn failure(out: &mut String, f: &super::Failure) {
    let _ = write!(
        out,
        "<div class=\"failure\"><div class=\"fail\"><b>{}</b></div><dl>",
        escape(&f.summary)
    );
    let rows = [
        ("connection", f.connection.clone()),
        ("path", f.path.clone()),
        ("expected", f.expected.as_ref().map(ToString::to_string)),
        ("actual", f.actual.as_ref().map(ToString::to_string)),
        ("message", f.message.clone()),
    ];
    for (label, value) in rows {
        if let Some(v) = value {
            let _ = write!(out, "<dt>{label}</dt><dd>{}</dd>", escape(&v));
        }
    }
    out.push_str("</dl>");
    if let Some(detail) = &f.detail {
        out.push_str("<pre class=\"diff\">");
        for line in detail.lines() {
            let class = match line.chars().next() {
                Some('-') => "del",
                Some('+') => "ins",
                _ => "",
            };
            let _ = writeln!(out, "<span class=\"{class}\">{}</span>", escape(line));
        }
        out.push_str("</pre>");
    }
    out.push_str("</div>\n");
}
