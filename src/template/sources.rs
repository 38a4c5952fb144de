//! Built-in template sources: the clock (`now_s`, `now_ms`, `now_iso`), `uuid` and
//! `random_int(A, B)`; each evaluation reads them afresh (a `set:` step keeps one value).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// The built-in names that are always defined (besides `env.*`, `mocks.*`, `user.*`).
pub const BUILTINS: [&str; 5] = ["uuid", "now_ms", "now_s", "now_iso", "user"];

/// The value of a built-in name, or `None` when `name` is not one.
pub fn builtin(name: &str, user: Option<(u64, u64)>) -> Option<Value> {
    Some(match name {
        "uuid" => Value::String(uuid::Uuid::new_v4().to_string()),
        "now_ms" => Value::from(now_ms()),
        "now_s" => Value::from(since_epoch().as_secs()),
        "now_iso" => Value::String(iso8601(since_epoch())),
        "user" => {
            // A request without `load:` is the only user of its run.
            let (index, count) = user.unwrap_or((0, 1));
            serde_json::json!({ "index": index, "count": count })
        }
        _ => return None,
    })
}

fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    since_epoch().as_millis() as u64
}

/// `2026-12-04T17:03:09.123Z`: UTC, milliseconds, as RFC 3339 writes it.
pub fn iso8601(since_epoch: Duration) -> String {
    let secs = since_epoch.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since_epoch.subsec_millis()
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm,
/// exact for every day a clock can show).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A uniformly drawn integer in `low..=high` (`low <= high`, checked when the template is
/// compiled): 128 random bits modulo a span of at most 2^64, a bias below 2^-64.
pub fn random_int(low: i64, high: i64) -> Value {
    use ring::rand::SecureRandom as _;
    let span = (i128::from(high) - i128::from(low) + 1) as u128;
    let mut bytes = [0u8; 16];
    if ring::rand::SystemRandom::new().fill(&mut bytes).is_err() {
        // The system's generator failed (it does not on the platforms wsrun runs on): a v4
        // UUID's bits are random too.
        bytes = *uuid::Uuid::new_v4().as_bytes();
    }
    let bits = u128::from_le_bytes(bytes);
    Value::from((i128::from(low) + (bits % span) as i128) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_writes_utc_dates_with_milliseconds() {
        assert_eq!(iso8601(Duration::ZERO), "1970-01-01T00:00:00.000Z");
        // 2000-02-29 (a leap day of a century leap year) 12:34:56.789.
        assert_eq!(
            iso8601(Duration::from_millis(951_827_696_789)),
            "2000-02-29T12:34:56.789Z"
        );
        assert_eq!(
            iso8601(Duration::from_secs(1_732_460_000)),
            "2024-11-24T14:53:20.000Z"
        );
    }

    #[test]
    fn random_ints_stay_in_their_bounds_and_cover_them() {
        let mut seen = [false; 3];
        for _ in 0..300 {
            let n = random_int(-1, 1).as_i64().unwrap_or(99);
            assert!((-1..=1).contains(&n), "{n}");
            seen[(n + 1) as usize] = true;
        }
        assert_eq!(seen, [true; 3]);
        assert_eq!(random_int(7, 7), Value::from(7));
        let wide = random_int(i64::MIN, i64::MAX);
        assert!(wide.is_i64());
    }
}
