//! `--report csv=FILE`: one row per step result of every request, in run order, for a
//! spreadsheet or a dataframe; a request's own failure (a refused connection, say) is a row of
//! its own with an empty `step`, before its steps. The columns are those of the Python
//! module's `Report.rows()`. RFC 4180: a header row, CRLF line ends, fields holding a comma, a
//! double quote or a line break in double quotes (a quote doubled). Times are in seconds;
//! `expected` and `actual` are JSON unless text.

use serde_json::Value;

use super::RunReport;

/// The columns, in order.
pub const COLUMNS: [&str; 15] = [
    "collection",
    "request",
    "step",
    "keyword",
    "line",
    "status",
    "passed",
    "duration_s",
    "latency_s",
    "messages",
    "connection",
    "path",
    "expected",
    "actual",
    "error",
];

/// The CSV text of a run.
pub fn report(run: &RunReport) -> String {
    let doc = super::json::report(run);
    let mut out = String::new();
    row(&mut out, COLUMNS.iter().map(|c| c.to_string()));
    let empty = Vec::new();
    let list = |v: &Value| v.as_array().unwrap_or(&empty).clone();
    for c in list(&doc["collections"]) {
        for r in list(&c["requests"]) {
            let base = [field(&c["path"]), field(&r["name"])];
            let steps = list(&r["steps"]);
            if !r["error"].is_null() || steps.is_empty() {
                let passed = r["passed"].as_bool().unwrap_or(false);
                let status = if passed { "passed" } else { "failed" };
                let mut fields = base.to_vec();
                fields.extend(["", "", "", status].map(String::from));
                fields.push(passed.to_string());
                fields.push(seconds(&r["duration_ms"]));
                fields.extend(["", "", "", "", "", ""].map(String::from));
                fields.push(field(&r["error"]["summary"]));
                row(&mut out, fields);
            }
            for s in steps {
                let f = &s["failure"];
                let mut fields = base.to_vec();
                fields.extend([
                    field(&s["index"]),
                    field(&s["keyword"]),
                    field(&s["line"]),
                    field(&s["status"]),
                    (s["status"] == "passed").to_string(),
                    seconds(&s["duration_ms"]),
                    seconds(&s["latency_ms"]),
                    field(&s["messages"]),
                    field(&f["connection"]),
                    field(&f["path"]),
                    field(&f["expected"]),
                    field(&f["actual"]),
                    field(&f["summary"]),
                ]);
                row(&mut out, fields);
            }
        }
    }
    out
}

/// A value as a field: empty for null (or missing), text as it is, anything else as JSON.
fn field(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Milliseconds as seconds, to the microsecond as every time in the reports; empty for null.
fn seconds(ms: &Value) -> String {
    ms.as_f64()
        .map(|ms| format!("{}", (ms * 1000.0).round() / 1_000_000.0))
        .unwrap_or_default()
}

/// One record, CRLF-terminated.
fn row(out: &mut String, fields: impl IntoIterator<Item = String>) {
    let mut first = true;
    for f in fields {
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(&quote(&f));
    }
    out.push_str("\r\n");
}

/// A field in double quotes when it holds a comma, a double quote or a line break.
fn quote(field: &str) -> String {
    if field.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_as_rfc_4180_has_them() {
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("a,b"), "\"a,b\"");
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quote("two\nlines"), "\"two\nlines\"");
        let mut out = String::new();
        row(
            &mut out,
            ["x".to_string(), String::new(), "y,z".to_string()],
        );
        assert_eq!(out, "x,,\"y,z\"\r\n");
    }
}
