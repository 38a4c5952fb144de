//! The run's metrics as text for Prometheus: `--report openmetrics=FILE` writes the OpenMetrics
//! text format (`# EOF` at the end), `--push URL` sends the Prometheus text format (0.0.4) to a
//! Pushgateway. One set of families in both, named `wsrun_…`, labelled by collection, request
//! and step: each request's verdict and duration, each step's messages and round trips (a
//! summary), and each load's users, connections, iterations, messages, errors, arrivals,
//! connect times and thresholds. The two formats differ only in how counters are named (the
//! family `x` with the sample `x_total`, or the family `x_total`), `# UNIT` and `# EOF`.

use std::fmt::Write as _;

use super::load::{LoadModel, LoadReport};
use super::{CollectionReport, RequestReport, RunReport};
use crate::latency::{Latency, Stat};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
    /// `text/plain; version=0.0.4`, which every Pushgateway takes.
    Prometheus,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gauge,
    Counter,
    Summary,
}

/// One family: its samples (labels, value) in the order they were added.
struct Family {
    name: &'static str,
    kind: Kind,
    help: &'static str,
    /// `seconds` for a family whose name ends so.
    unit: Option<&'static str>,
    samples: Vec<(String, String, f64)>,
}

/// The quantiles a summary gives.
const QUANTILES: [f64; 4] = [0.5, 0.9, 0.95, 0.99];

/// The families, in the order they are written.
struct Families(Vec<Family>);

impl Families {
    fn new() -> Self {
        let f = |name, kind, help, unit| Family {
            name,
            kind,
            help,
            unit,
            samples: Vec::new(),
        };
        use Kind::*;
        let s = Some("seconds");
        Families(vec![
            f("wsrun_request_passed", Gauge, "1 when the request passed, 0 when it failed.", None),
            f("wsrun_request_duration_seconds", Gauge, "How long the request ran.", s),
            f("wsrun_step_messages", Counter, "Messages the step consumed (over every iteration and user).", None),
            f("wsrun_step_round_trip_seconds", Summary, "Round trips the step measured: from a send to the answer the step waited for.", s),
            f("wsrun_load_users", Gauge, "The load's users: started, the most at once with stages, max_users with an arrival rate.", None),
            f("wsrun_load_connections", Counter, "Connections the load opened.", None),
            f("wsrun_load_connections_failed", Counter, "Connections the load could not open.", None),
            f("wsrun_load_connect_seconds", Summary, "Connect times: TCP, TLS and the WebSocket handshake.", s),
            f("wsrun_load_iterations", Counter, "Iterations the load ran, passed or failed.", None),
            f("wsrun_load_iterations_failed", Counter, "Iterations that failed (a user that could not connect counts as one).", None),
            f("wsrun_load_messages_received", Counter, "Data messages the load received.", None),
            f("wsrun_load_messages_per_second", Gauge, "Messages received per second of the load.", None),
            f("wsrun_load_errors", Counter, "Failures by kind.", None),
            f("wsrun_load_arrivals", Counter, "Arrivals of an open model (arrival_rate) that started a user.", None),
            f("wsrun_load_arrivals_dropped", Counter, "Arrivals dropped because max_users were busy.", None),
            f("wsrun_load_duration_seconds", Gauge, "How long the load ran.", s),
            f("wsrun_load_threshold_passed", Gauge, "1 when the threshold held, 0 when it failed.", None),
        ])
    }

    fn add(&mut self, name: &str, labels: &str, suffix: &str, value: f64) {
        if let Some(f) = self.0.iter_mut().find(|f| f.name == name) {
            f.samples
                .push((suffix.to_string(), labels.to_string(), value));
        }
    }

    /// A summary of `l`'s round trips, in seconds.
    fn summary(&mut self, name: &str, labels: &str, l: &Latency) {
        if l.is_empty() {
            return;
        }
        for q in QUANTILES {
            if let Some(ms) = l.stat_ms(Stat::Percentile(q * 100.0)) {
                self.add(name, &format!("{labels},quantile=\"{q}\""), "", ms / 1000.0);
            }
        }
        let mean = l.stat_ms(Stat::Mean).unwrap_or_default();
        self.add(name, labels, "_sum", mean / 1000.0 * l.count() as f64);
        self.add(name, labels, "_count", l.count() as f64);
    }

    fn request(&mut self, c: &CollectionReport, r: &RequestReport) {
        let labels = format!(
            "collection=\"{}\",request=\"{}\"",
            escape(&c.path),
            escape(&r.name)
        );
        self.add(
            "wsrun_request_passed",
            &labels,
            "",
            f64::from(u8::from(r.passed())),
        );
        self.add(
            "wsrun_request_duration_seconds",
            &labels,
            "",
            r.duration.as_secs_f64(),
        );
        for s in &r.steps {
            let step = format!("{labels},step=\"{}\",keyword=\"{}\"", s.index, s.keyword);
            self.add("wsrun_step_messages", &step, "_total", s.messages as f64);
            match (&s.latencies, s.latency) {
                (Some(l), _) => self.summary("wsrun_step_round_trip_seconds", &step, l),
                (None, Some(took)) => {
                    let mut one = Latency::default();
                    one.record(took);
                    self.summary("wsrun_step_round_trip_seconds", &step, &one);
                }
                (None, None) => {}
            }
        }
        if let Some(load) = &r.load {
            self.load(&labels, load);
        }
    }

    fn load(&mut self, labels: &str, l: &LoadReport) {
        let t = "_total";
        self.add("wsrun_load_users", labels, "", l.users as f64);
        self.add("wsrun_load_connections", labels, t, l.opened as f64);
        self.add(
            "wsrun_load_connections_failed",
            labels,
            t,
            l.connect_failed as f64,
        );
        self.summary("wsrun_load_connect_seconds", labels, &l.connect);
        self.add("wsrun_load_iterations", labels, t, l.iterations as f64);
        self.add("wsrun_load_iterations_failed", labels, t, l.failed as f64);
        self.add("wsrun_load_messages_received", labels, t, l.received as f64);
        self.add("wsrun_load_messages_per_second", labels, "", l.rate());
        for (kind, n) in &l.errors {
            let with = format!("{labels},kind=\"{}\"", escape(kind));
            self.add("wsrun_load_errors", &with, t, *n as f64);
        }
        if let LoadModel::Arrivals(a) = &l.model {
            self.add("wsrun_load_arrivals", labels, t, a.started as f64);
            self.add("wsrun_load_arrivals_dropped", labels, t, a.dropped as f64);
        }
        self.add(
            "wsrun_load_duration_seconds",
            labels,
            "",
            l.elapsed.as_secs_f64(),
        );
        for th in &l.thresholds {
            let with = format!("{labels},threshold=\"{}\"", escape(&th.name));
            let held = th.passed && !th.at_merge;
            self.add(
                "wsrun_load_threshold_passed",
                &with,
                "",
                f64::from(u8::from(held)),
            );
        }
    }

    fn write(&self, format: Format) -> String {
        let mut out = String::new();
        for f in self.0.iter().filter(|f| !f.samples.is_empty()) {
            let counter = f.kind == Kind::Counter;
            let family = match format {
                Format::Prometheus if counter => format!("{}_total", f.name),
                _ => f.name.to_string(),
            };
            let kind = match f.kind {
                Kind::Gauge => "gauge",
                Kind::Counter => "counter",
                Kind::Summary => "summary",
            };
            let _ = writeln!(out, "# HELP {family} {}", f.help);
            let _ = writeln!(out, "# TYPE {family} {kind}");
            if let (Format::OpenMetrics, Some(unit)) = (format, f.unit) {
                let _ = writeln!(out, "# UNIT {family} {unit}");
            }
            for (suffix, labels, value) in &f.samples {
                let _ = writeln!(out, "{}{suffix}{{{labels}}} {}", f.name, number(*value));
            }
        }
        if format == Format::OpenMetrics {
            out.push_str("# EOF\n");
        }
        out
    }
}

/// The run's metrics in `format`.
pub fn report(run: &RunReport, format: Format) -> String {
    let mut families = Families::new();
    for c in &run.collections {
        for r in &c.requests {
            families.request(c, r);
        }
    }
    families.write(format)
}

/// A label value: backslash, double quote and line feed escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            other => out.push(other),
        }
    }
    out
}

/// A sample value: integers without a fraction, others to the nanosecond (times are in
/// seconds) without trailing zeros; never with an exponent.
fn number(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{}", v as i64);
    }
    let text = format!("{v:.9}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    match text {
        "" | "-" | "-0" => "0".into(),
        t => t.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_and_numbers_plain() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(0.000041), "0.000041");
        assert_eq!(number(0.09721500000000001), "0.097215");
        assert_eq!(number(1e-12), "0");
    }
}
