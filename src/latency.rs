//! Round-trip times: distributions of them (HDR histograms in microseconds), their statistics
//! (`min`, `p95`, `max`…), the limits that `latency:` and `thresholds:` put on measures, and the
//! text form reports carry histograms in (base64 of HdrHistogram's V2 serialisation), which
//! `wsrun merge` adds up exactly.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use hdrhistogram::Histogram;

/// Significant digits kept: a 41.7 ms round trip is recorded as 41.7 ms, never 42.
const SIGFIG: u8 = 3;

/// A distribution of durations, recorded to the microsecond with three significant digits.
#[derive(Clone)]
pub struct Latency(Histogram<u64>);

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

impl Latency {
    pub fn new() -> Self {
        // Three significant digits are within the 0..=5 the crate accepts, and a histogram
        // without a highest value resizes itself: this cannot fail.
        Self(Histogram::new(SIGFIG).expect("3 significant digits are supported"))
    }

    /// Records one duration (a few nanoseconds: an index computation and an add).
    pub fn record(&mut self, d: Duration) {
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        // `record` grows the histogram as needed; `saturating_record` would clamp the value to
        // the current highest instead of growing (hdrhistogram 7.6).
        if self.0.record(micros).is_err() {
            self.0.saturating_record(micros);
        }
    }

    /// How many durations were recorded.
    pub fn count(&self) -> u64 {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A statistic of the recorded durations, in milliseconds; `None` when nothing was recorded.
    pub fn stat_ms(&self, stat: Stat) -> Option<f64> {
        if self.0.is_empty() {
            return None;
        }
        let micros = match stat {
            Stat::Min => self.0.min() as f64,
            Stat::Max => self.0.max() as f64,
            Stat::Mean => self.0.mean(),
            Stat::Percentile(p) => self.0.value_at_percentile(p) as f64,
        };
        Some(micros / 1000.0)
    }

    /// Adds every duration of `other`, exactly (the histograms' counts are summed).
    pub fn add(&mut self, other: &Latency) {
        // Only a histogram with a fixed highest value can refuse another's values; ours resize.
        let _ = self.0.add(&other.0);
    }

    /// The V2 serialisation, base64: what the JSON report carries.
    pub fn encode(&self) -> String {
        let mut bytes = Vec::new();
        // Serialising into a Vec cannot fail for a histogram of u64 counts.
        let _ = V2Serializer::new().serialize(&self.0, &mut bytes);
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// Reads [`Latency::encode`]'s text back (plain or DEFLATE-compressed V2).
    pub fn decode(text: &str) -> Result<Self, String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| format!("a histogram that is not base64: {e}"))?;
        let mut h: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| format!("a histogram that is not HdrHistogram V2: {e:?}"))?;
        h.auto(true);
        Ok(Self(h))
    }
}

impl fmt::Debug for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Latency({} values", self.count())?;
        for stat in Stat::REPORTED {
            if let Some(v) = self.stat_ms(stat) {
                write!(f, ", {stat} {v}ms")?;
            }
        }
        f.write_str(")")
    }
}

/// A statistic of a distribution: `min`, `mean`, `max`, or a percentile `pNN` (`p99.9`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stat {
    Min,
    Mean,
    Max,
    Percentile(f64),
}

impl Stat {
    /// What reports show for every distribution.
    pub const REPORTED: [Stat; 7] = [
        Stat::Min,
        Stat::Percentile(50.0),
        Stat::Percentile(90.0),
        Stat::Percentile(95.0),
        Stat::Percentile(99.0),
        Stat::Max,
        Stat::Mean,
    ];

    /// `min`, `mean`, `max`, `p50`, `p99.9` (a percentile above 0, at most 100).
    pub fn parse(text: &str) -> Option<Stat> {
        match text {
            "min" => Some(Stat::Min),
            "mean" => Some(Stat::Mean),
            "max" => Some(Stat::Max),
            _ => {
                let digits = text.strip_prefix('p')?;
                if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit() || c == '.') {
                    return None;
                }
                let p: f64 = digits.parse().ok()?;
                (p > 0.0 && p <= 100.0).then_some(Stat::Percentile(p))
            }
        }
    }
}

impl fmt::Display for Stat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stat::Min => f.write_str("min"),
            Stat::Mean => f.write_str("mean"),
            Stat::Max => f.write_str("max"),
            Stat::Percentile(p) => write!(f, "p{p}"),
        }
    }
}

/// A comparison of a measure with a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Lte,
    Gt,
    Gte,
    Eq,
}

impl Op {
    pub const KEYS: [&'static str; 5] = ["lt", "lte", "gt", "gte", "eq"];

    /// `lt`, `lte`: a limit only a larger value breaks.
    pub fn is_upper(self) -> bool {
        matches!(self, Op::Lt | Op::Lte)
    }

    pub fn parse(key: &str) -> Option<Op> {
        Some(match key {
            "lt" => Op::Lt,
            "lte" => Op::Lte,
            "gt" => Op::Gt,
            "gte" => Op::Gte,
            "eq" => Op::Eq,
            _ => return None,
        })
    }

    pub fn key(self) -> &'static str {
        match self {
            Op::Lt => "lt",
            Op::Lte => "lte",
            Op::Gt => "gt",
            Op::Gte => "gte",
            Op::Eq => "eq",
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Lte => "≤",
            Op::Gt => ">",
            Op::Gte => "≥",
            Op::Eq => "=",
        }
    }

    pub fn holds(self, measured: f64, limit: f64) -> bool {
        match self {
            Op::Lt => measured < limit,
            Op::Lte => measured <= limit,
            Op::Gt => measured > limit,
            Op::Gte => measured >= limit,
            Op::Eq => measured == limit,
        }
    }
}

/// What a measure counts in: milliseconds, a plain count, or a rate per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Ms,
    Count,
    PerSecond,
}

impl Unit {
    pub fn key(self) -> &'static str {
        match self {
            Unit::Ms => "ms",
            Unit::Count => "count",
            Unit::PerSecond => "per_s",
        }
    }

    pub fn parse(key: &str) -> Option<Unit> {
        match key {
            "ms" => Some(Unit::Ms),
            "count" => Some(Unit::Count),
            "per_s" => Some(Unit::PerSecond),
            _ => None,
        }
    }

    /// A value for people: `41.7ms`, `12`, `950/s`.
    pub fn format(self, value: f64) -> String {
        match self {
            Unit::Ms => format_ms(value),
            Unit::Count => format!("{}", value.round() as i64),
            Unit::PerSecond if value >= 100.0 => format!("{:.0}/s", value),
            Unit::PerSecond => format!("{:.1}/s", value),
        }
    }

    /// A limit as the collection wrote it, never rounded: `0.5`, `0.25/s`, `50ms`, `1.5ms`, `5s`
    /// (a limit of `failed ≤ 0.5` shown as `≤ 1` would read as allowing one failure).
    pub fn format_limit(self, value: f64) -> String {
        match self {
            Unit::Ms if value >= 1000.0 => format!("{}s", value / 1000.0),
            Unit::Ms => format!("{value}ms"),
            Unit::Count => format!("{value}"),
            Unit::PerSecond => format!("{value}/s"),
        }
    }
}

/// The limits of one map (`{gt: 1ms, lt: 50ms}`), every one of which must hold; values are in
/// the measure's unit.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Bounds(pub Vec<(Op, f64)>);

impl Bounds {
    pub fn holds(&self, measured: f64) -> bool {
        self.0.iter().all(|(op, limit)| op.holds(measured, *limit))
    }

    /// `< 50ms`, `> 1ms and < 50ms`.
    pub fn describe(&self, unit: Unit) -> String {
        self.0
            .iter()
            .map(|(op, v)| format!("{} {}", op.symbol(), unit.format_limit(*v)))
            .collect::<Vec<_>>()
            .join(" and ")
    }

    /// Reads `{lt: 50ms}`: durations for [`Unit::Ms`], numbers otherwise.
    pub fn from_json(value: &serde_json::Value, unit: Unit) -> Result<Self, String> {
        let serde_json::Value::Object(map) = value else {
            return Err(format!(
                "expected a map of limits such as `{{lt: {}}}`",
                example(unit)
            ));
        };
        if map.is_empty() {
            return Err(format!(
                "no limit given: write e.g. `{{lt: {}}}`",
                example(unit)
            ));
        }
        let mut bounds = Vec::with_capacity(map.len());
        for (key, v) in map {
            let op = Op::parse(key).ok_or_else(|| {
                format!(
                    "unknown limit `{key}`: use {}",
                    Op::KEYS.map(|k| format!("`{k}`")).join(", ")
                )
            })?;
            bounds.push((op, limit_value(v, unit)?));
        }
        // Lower limits first, however the map was written: `≥ 1.00ms and < 50.0ms`.
        bounds.sort_by_key(|(op, _)| !matches!(op, Op::Gt | Op::Gte));
        Ok(Bounds(bounds))
    }
}

fn example(unit: Unit) -> &'static str {
    match unit {
        Unit::Ms => "50ms",
        Unit::Count => "1",
        Unit::PerSecond => "100",
    }
}

/// A limit's value: a duration (`50ms`) in milliseconds, or a number.
fn limit_value(v: &serde_json::Value, unit: Unit) -> Result<f64, String> {
    match (unit, v) {
        (Unit::Ms, serde_json::Value::String(s)) => {
            // From nanoseconds in one division, so that `1.1ms` is 1.1 and not 1.1000000000000001.
            crate::duration::parse_duration(s).map(|d| d.as_nanos() as f64 / 1e6)
        }
        (Unit::Ms, other) => Err(format!(
            "a time limit needs a unit: write a duration such as `50ms`, not {other}"
        )),
        (_, serde_json::Value::Number(n)) => n
            .as_f64()
            .ok_or_else(|| format!("`{n}` is not a usable number")),
        (_, other) => Err(format!("expected a number, found {other}")),
    }
}

/// Milliseconds for people, three significant digits: `41µs`, `1.27ms`, `41.7ms`, `2.35s`.
pub fn format_ms(ms: f64) -> String {
    if ms < 1.0 {
        format!("{}µs", (ms * 1000.0).round() as u64)
    } else if ms < 10.0 {
        format!("{ms:.2}ms")
    } else if ms < 100.0 {
        format!("{ms:.1}ms")
    } else if ms < 1000.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{:.2}s", ms / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_recorded_durations() {
        let mut l = Latency::new();
        for ms in 1..=100 {
            l.record(Duration::from_millis(ms));
        }
        assert_eq!(l.count(), 100);
        assert_eq!(l.stat_ms(Stat::Min), Some(1.0));
        let p95 = l.stat_ms(Stat::Percentile(95.0)).unwrap();
        assert!((94.9..95.1).contains(&p95), "{p95}");
        let max = l.stat_ms(Stat::Max).unwrap();
        assert!((99.9..100.1).contains(&max), "{max}");
        assert_eq!(Latency::new().stat_ms(Stat::Max), None);
    }

    #[test]
    fn a_histogram_survives_its_text_form_and_adds_up_exactly() {
        let (mut a, mut b) = (Latency::new(), Latency::new());
        for us in [40, 41, 900, 12_000] {
            a.record(Duration::from_micros(us));
        }
        b.record(Duration::from_secs(3));
        let decoded = Latency::decode(&a.encode()).unwrap();
        assert_eq!(decoded.encode(), a.encode());
        let mut sum = decoded;
        sum.add(&Latency::decode(&b.encode()).unwrap());
        assert_eq!(sum.count(), 5);
        assert_eq!(sum.stat_ms(Stat::Min), Some(0.04));
        assert!(sum.stat_ms(Stat::Max).unwrap() >= 3000.0);
        assert!(Latency::decode("bm90IGEgaGlzdG9ncmFt").is_err());
        assert!(Latency::decode("%%%").is_err());
    }

    #[test]
    fn stats_parse_by_name_and_percentile() {
        assert_eq!(Stat::parse("p95"), Some(Stat::Percentile(95.0)));
        assert_eq!(Stat::parse("p99.9"), Some(Stat::Percentile(99.9)));
        assert_eq!(Stat::parse("max"), Some(Stat::Max));
        for bad in ["p", "p0", "p101", "pxx", "median", "p-5"] {
            assert_eq!(Stat::parse(bad), None, "{bad}");
        }
        assert_eq!(Stat::Percentile(99.9).to_string(), "p99.9");
        assert_eq!(Stat::Percentile(95.0).to_string(), "p95");
    }

    #[test]
    fn bounds_read_durations_for_times_and_numbers_for_counts() {
        let b = Bounds::from_json(&serde_json::json!({"lt": "50ms", "gte": "1ms"}), Unit::Ms);
        let b = b.unwrap();
        assert!(b.holds(20.0));
        assert!(!b.holds(50.0));
        assert_eq!(b.describe(Unit::Ms), "≥ 1ms and < 50ms");
        let e = Bounds::from_json(&serde_json::json!({"lt": 50}), Unit::Ms).unwrap_err();
        assert!(e.contains("needs a unit"), "{e}");
        let c = Bounds::from_json(&serde_json::json!({"lte": 0}), Unit::Count).unwrap();
        assert!(c.holds(0.0) && !c.holds(1.0));
        let e = Bounds::from_json(&serde_json::json!({"below": 3}), Unit::Count).unwrap_err();
        assert!(e.contains("unknown limit `below`"), "{e}");
    }

    #[test]
    fn milliseconds_read_with_three_significant_digits() {
        assert_eq!(format_ms(0.041), "41µs");
        assert_eq!(format_ms(1.274), "1.27ms");
        assert_eq!(format_ms(41.74), "41.7ms");
        assert_eq!(format_ms(412.4), "412ms");
        assert_eq!(format_ms(2345.0), "2.35s");
    }
}
