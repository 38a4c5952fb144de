//! Human durations as collections write them: `250ms`, `5s`, `1.5s`, `2m`, `1h`.

use std::time::Duration;

/// The longest duration anything waits for: a year. Deadlines are `now + duration`, and a
/// duration near `u64::MAX` seconds (which parses fine) overflows that sum and panics; a year is
/// far past any test and safe to add to any clock.
pub const MAX_DURATION: Duration = Duration::from_secs(8760 * 3600);

/// Parses `250ms`, `5s`, `2m`, `1h` (a fractional number is allowed: `1.5s`), at most
/// [`MAX_DURATION`].
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("duration `{text}` needs a unit: ms, s, m or h (e.g. `5s`)"))?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid duration `{text}`: expected e.g. `250ms`, `5s`, `2m`"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        other => {
            return Err(format!(
                "invalid duration unit `{other}` in `{text}`: use ms, s, m or h"
            ))
        }
    };
    let too_long =
        || format!("duration `{text}` is too long: durations are at most 8760h (a year)");
    match Duration::try_from_secs_f64(seconds) {
        Ok(d) if d <= MAX_DURATION => Ok(d),
        Ok(_) => Err(too_long()),
        Err(_) if seconds > 0.0 => Err(too_long()),
        Err(_) => Err(format!("duration `{text}` is out of range")),
    }
}

/// Formats a duration for people: `850ms`, `1.24s`, `2m05s`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("{}ms", ms.round() as u64)
    } else if ms < 60_000.0 {
        format!("{:.2}s", ms / 1000.0)
    } else {
        let s = d.as_secs();
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
    }

    #[test]
    fn rejects_missing_or_unknown_units() {
        assert!(parse_duration("5").unwrap_err().contains("needs a unit"));
        assert!(parse_duration("5 days")
            .unwrap_err()
            .contains("unit `days`"));
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn rejects_durations_longer_than_a_year() {
        assert_eq!(parse_duration("8760h"), Ok(MAX_DURATION));
        for text in [
            "8761h",
            "9300000000000000000s",
            &format!("{}s", "9".repeat(400)),
        ] {
            let err = parse_duration(text).unwrap_err();
            assert!(err.contains("is too long"), "{text}: {err}");
        }
    }

    #[test]
    fn formats_for_people() {
        assert_eq!(format_duration(Duration::from_millis(42)), "42ms");
        assert_eq!(format_duration(Duration::from_millis(1240)), "1.24s");
        assert_eq!(format_duration(Duration::from_secs(125)), "2m05s");
    }
}

/// A duration written `250ms`, `5s`, `2m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl<'de> serde::Deserialize<'de> for Dur {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <crate::template::ScalarString as serde::Deserialize>::deserialize(d)?.0;
        parse_duration(&text)
            .map(Dur)
            .map_err(serde::de::Error::custom)
    }
}
