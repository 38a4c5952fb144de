//! Exact ordering of numbers and numeric strings: `"9007199254740993"` is not `9007199254740992`,
//! and a decimal string of any length compares digit by digit.
//!
//! Why not serde_json's `arbitrary_precision` feature (numbers kept as their text)? It changes
//! `Value` for the whole crate, and it made the per-message parse 27% slower (a Binance trade
//! parsed and checked in memory: 396 → 513 ns, mimalloc, fat LTO, best of 7 × 2M messages):
//! every number becomes a heap string. What it would buy is exactness for JSON *numbers* beyond
//! 64-bit integers; those stay doubles here (a failure still shows their digits as sent, see
//! `runner::check`). Where the digits reach us intact — integers that fit 64 bits, and numeric
//! strings, which is how exchanges send big ids and prices — exactness is nearly free: a string is
//! compared by its digits, not parsed as a float. Measured against the float comparison it
//! replaces (best of 9 × 20M): `gt: 0` on a price string 16.3 vs 14.9 ns (the sign settles it),
//! string against string 31 vs 24 ns; a message costs ~900 ns end to end (bench/RESULTS.md).

use std::cmp::Ordering;

use serde_json::Value;

/// A value read as a number without losing digits: a JSON integer, a JSON float (a double
/// already), or a numeric string (its digits).
enum Num<'a> {
    Int(i128),
    Float(f64),
    Dec(Decimal<'a>),
}

impl<'a> Num<'a> {
    fn of(v: &'a Value) -> Option<Self> {
        match v {
            Value::Number(n) => Some(match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => Num::Int(i.into()),
                (_, Some(u)) => Num::Int(u.into()),
                // Without `arbitrary_precision` every other number is a double.
                _ => Num::Float(n.as_f64()?),
            }),
            Value::String(s) => Decimal::parse(s).map(Num::Dec),
            _ => None,
        }
    }
}

/// Orders two values that are numbers or numeric strings; `None` if either is neither.
///
/// Integers and numeric strings compare exactly. A JSON float was rounded to a double when the
/// message was parsed, so against a float the other side is read as a double too: `97012.34`
/// equals `"97012.34"` (their exact decimal expansions differ in the 12th digit).
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    use Num::*;
    Some(match (Num::of(a)?, Num::of(b)?) {
        (Int(x), Int(y)) => x.cmp(&y),
        (Dec(x), Dec(y)) => x.cmp(&y),
        (Float(x), Float(y)) => x.partial_cmp(&y)?,
        (Int(i), Float(f)) => int_vs_float(i, f)?,
        (Float(f), Int(i)) => int_vs_float(i, f)?.reverse(),
        (Int(i), Dec(d)) => int_vs_decimal(i, &d),
        (Dec(d), Int(i)) => int_vs_decimal(i, &d).reverse(),
        (Float(f), Dec(d)) => f.partial_cmp(&d.to_f64()?)?,
        (Dec(d), Float(f)) => d.to_f64()?.partial_cmp(&f)?,
    })
}

/// A number or numeric string as one text per value, for hashing what [`compare`] calls equal:
/// `1`, `1.0`, `"1"`, `"1.0"` and `"1e0"` all read `1e1` (sign, significant digits, `e`, the
/// exponent of 0.DIGITS × 10^exp); `None` if `v` is neither. Integers and numeric strings keep
/// every digit. A double is keyed by its shortest decimal, the digits it was sent with when it
/// has 17 significant digits or fewer; [`compare`] reads a numeric string against a double as a
/// double, so only a string with more digits than a double holds can equal a float there and
/// key apart here.
pub fn canonical(v: &Value) -> Option<String> {
    let mut buf = [0u8; 40];
    let float_text;
    let d = match Num::of(v)? {
        Num::Int(i) => Decimal::of_int(i, &mut buf),
        Num::Float(f) if f.is_finite() => {
            // Display writes the shortest text that reads back as `f`, without an exponent.
            float_text = f.to_string();
            Decimal::parse(&float_text)?
        }
        Num::Float(_) => return None,
        Num::Dec(d) => d,
    };
    if d.is_zero() {
        return Some("0".into());
    }
    let digits = d.digits();
    let mut out = String::with_capacity(digits.int.len() + digits.frac.len() + 8);
    if d.negative {
        out.push('-');
    }
    for &c in digits.int.iter().chain(digits.frac) {
        out.push(char::from(c));
    }
    out.push('e');
    out.push_str(&digits.exp.to_string());
    Some(out)
}

/// Orders an integer against a decimal string; the sign alone settles `gt: 0` on a price.
fn int_vs_decimal(i: i128, d: &Decimal<'_>) -> Ordering {
    let by_sign = i.signum().cmp(&d.signum());
    if by_sign != Ordering::Equal || i == 0 {
        return by_sign;
    }
    let mut digits = [0u8; 40];
    Decimal::of_int(i, &mut digits).cmp(d)
}

/// Orders an integer against a double exactly (`9007199254740993 > 9007199254740992.0`).
fn int_vs_float(i: i128, f: f64) -> Option<Ordering> {
    // 2^127: every double in [-2^127, 2^127) truncates to an i128 without loss.
    const LIMIT: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;
    if f.is_nan() {
        return None;
    }
    if f >= LIMIT {
        return Some(Ordering::Less);
    }
    if f < -LIMIT {
        return Some(Ordering::Greater);
    }
    let whole = f.trunc();
    Some(i.cmp(&(whole as i128)).then(if f > whole {
        Ordering::Less
    } else if f < whole {
        Ordering::Greater
    } else {
        Ordering::Equal
    }))
}

/// A decimal number as written: ±INT.FRAC × 10^exp (digits only, either part may be empty).
#[derive(Debug, Clone, Copy)]
struct Decimal<'a> {
    text: &'a str,
    negative: bool,
    int: &'a [u8],
    frac: &'a [u8],
    exp: i64,
}

/// The significant digits of a non-zero decimal: value = 0.DIGITS × 10^exp, where DIGITS is
/// `int` then `frac`, with no leading and no trailing zeros.
struct Digits<'a> {
    int: &'a [u8],
    frac: &'a [u8],
    exp: i64,
}

/// Exponents are clamped to ±2^40, so the arithmetic on them cannot overflow; only numbers
/// written with exponents past a trillion could then compare equal when they are not.
const EXP_LIMIT: i64 = 1 << 40;

impl<'a> Decimal<'a> {
    /// Reads what a JSON number (or Rust's float parser) accepts, around optional whitespace:
    /// `-12`, `+3.50`, `.5`, `5.`, `1e-7`, `1.5E+3`. Anything else is not a number.
    fn parse(s: &'a str) -> Option<Self> {
        // `trim` decodes characters; a number's ends are ASCII, and then there is none to trim.
        let plain_end =
            |b: Option<&u8>| b.is_some_and(|b| b.is_ascii() && !b.is_ascii_whitespace());
        let text = match plain_end(s.as_bytes().first()) && plain_end(s.as_bytes().last()) {
            true => s,
            false => s.trim(),
        };
        let b = text.as_bytes();
        let mut i = 0;
        let negative = match b.first() {
            Some(b'-') => {
                i = 1;
                true
            }
            Some(b'+') => {
                i = 1;
                false
            }
            _ => false,
        };
        let digits =
            |from: usize| from + b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
        let int_end = digits(i);
        let int = &b[i..int_end];
        let mut frac: &[u8] = &[];
        i = int_end;
        if b.get(i) == Some(&b'.') {
            let frac_end = digits(i + 1);
            frac = &b[i + 1..frac_end];
            i = frac_end;
        }
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let mut exp: i64 = 0;
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            let exp_negative = match b.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            let exp_end = digits(i);
            if exp_end == i {
                return None;
            }
            for d in &b[i..exp_end] {
                exp = (exp * 10 + i64::from(d - b'0')).min(EXP_LIMIT);
            }
            if exp_negative {
                exp = -exp;
            }
            i = exp_end;
        }
        if i != b.len() {
            return None;
        }
        Some(Self {
            text,
            negative,
            int,
            frac,
            exp,
        })
    }

    /// The decimal digits of `i`, written into `buf`.
    fn of_int(i: i128, buf: &'a mut [u8; 40]) -> Self {
        let mut start = buf.len();
        let mut put = |digit: u8| {
            start -= 1;
            buf[start] = b'0' + digit;
        };
        // u64 division compiles to multiplications; u128 division is a library call.
        match u64::try_from(i.unsigned_abs()) {
            Ok(mut n) => loop {
                put((n % 10) as u8);
                n /= 10;
                if n == 0 {
                    break;
                }
            },
            Err(_) => {
                let mut n = i.unsigned_abs();
                loop {
                    put((n % 10) as u8);
                    n /= 10;
                    if n == 0 {
                        break;
                    }
                }
            }
        }
        Self {
            text: "",
            negative: i < 0,
            int: &buf[start..],
            frac: &[],
            exp: 0,
        }
    }

    /// Its significant digits; only a comparison of two magnitudes needs them.
    fn digits(&self) -> Digits<'a> {
        let skip = |d: &[u8]| d.iter().take_while(|&&c| c == b'0').count();
        let trim_end =
            |d: &'a [u8]| &d[..d.len() - d.iter().rev().take_while(|&&c| c == b'0').count()];
        let int = &self.int[skip(self.int)..];
        if int.is_empty() {
            let zeros = skip(self.frac);
            return Digits {
                int,
                frac: trim_end(&self.frac[zeros..]),
                exp: self.exp - zeros as i64,
            };
        }
        // The point sits after every digit of `int`, trailing zeros included.
        let point = int.len() as i64;
        let frac = trim_end(self.frac);
        // `int` starts with a non-zero digit, so trimming its zeros leaves it non-empty.
        let int = if frac.is_empty() { trim_end(int) } else { int };
        Digits {
            int,
            frac,
            exp: self.exp + point,
        }
    }

    fn is_zero(&self) -> bool {
        self.int.iter().chain(self.frac).all(|&c| c == b'0')
    }

    fn to_f64(self) -> Option<f64> {
        self.text.parse().ok()
    }

    fn signum(&self) -> i128 {
        match (self.is_zero(), self.negative) {
            (true, _) => 0,
            (false, true) => -1,
            (false, false) => 1,
        }
    }

    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (self.signum(), other.signum());
        if a != b || a == 0 {
            return a.cmp(&b);
        }
        let (x, y) = (self.digits(), other.digits());
        let magnitude = x.exp.cmp(&y.exp).then_with(|| {
            let digits = |d: &Digits<'a>| d.int.iter().chain(d.frac);
            digits(&x).cmp(digits(&y))
        });
        if a < 0 {
            magnitude.reverse()
        } else {
            magnitude
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cmp(a: Value, b: Value) -> Option<Ordering> {
        compare(&a, &b)
    }

    #[test]
    fn integers_past_2_pow_53_are_exact_as_numbers_and_strings() {
        use Ordering::*;
        assert_eq!(
            cmp(json!("9007199254740993"), json!(9007199254740992u64)),
            Some(Greater)
        );
        assert_eq!(
            cmp(json!(9007199254740993u64), json!("9007199254740993")),
            Some(Equal)
        );
        assert_eq!(cmp(json!(-1), json!(u64::MAX)), Some(Less));
        assert_eq!(
            cmp(json!("18446744073709551617"), json!("18446744073709551616")),
            Some(Greater)
        );
        assert_eq!(
            cmp(json!(9007199254740993u64), json!(9007199254740992.0)),
            Some(Greater)
        );
    }

    #[test]
    fn decimal_strings_compare_digit_by_digit() {
        use Ordering::*;
        assert_eq!(cmp(json!("97012.34000000"), json!(0)), Some(Greater));
        assert_eq!(
            cmp(json!("0.30000000000000000001"), json!("0.3")),
            Some(Greater)
        );
        assert_eq!(cmp(json!("1.5e3"), json!(1500)), Some(Equal));
        assert_eq!(cmp(json!("-0.0"), json!(0)), Some(Equal));
        assert_eq!(cmp(json!("-2"), json!("-10")), Some(Greater));
        assert_eq!(cmp(json!("100"), json!("99.999")), Some(Greater));
        assert_eq!(cmp(json!("0.001"), json!("1e-3")), Some(Equal));
        assert_eq!(cmp(json!(" 5. "), json!(".5e1")), Some(Equal));
        assert_eq!(cmp(json!("1e400"), json!(u64::MAX)), Some(Greater));
    }

    #[test]
    fn floats_compare_as_doubles() {
        assert_eq!(
            cmp(json!(97012.34), json!("97012.34")),
            Some(Ordering::Equal)
        );
        assert_eq!(cmp(json!(1), json!(1.0)), Some(Ordering::Equal));
        assert_eq!(cmp(json!(2.5), json!(2)), Some(Ordering::Greater));
        assert_eq!(cmp(json!(-2.5), json!(-2)), Some(Ordering::Less));
    }

    #[test]
    fn equal_numbers_have_one_canonical_text_and_unequal_ones_differ() {
        let key = |v: Value| canonical(&v);
        for v in [
            json!(1),
            json!(1.0),
            json!("1"),
            json!("1.0"),
            json!("1e0"),
            json!(" +1.000 "),
        ] {
            assert_eq!(key(v.clone()).as_deref(), Some("1e1"), "{v}");
        }
        for v in [json!(0), json!(-0.0), json!("-0.00"), json!("0e5")] {
            assert_eq!(key(v.clone()).as_deref(), Some("0"), "{v}");
        }
        assert_eq!(key(json!(97012.34)), key(json!("97012.340")));
        assert_eq!(key(json!(-2.5)).as_deref(), Some("-25e1"));
        assert_eq!(key(json!(1500)), key(json!("1.5e3")));
        assert_ne!(
            key(json!("9007199254740993")),
            key(json!(9007199254740992u64))
        );
        assert_eq!(
            key(json!(9007199254740993u64)),
            key(json!("9007199254740993"))
        );
        assert_ne!(key(json!("0.30000000000000000001")), key(json!("0.3")));
        assert_ne!(key(json!("18446744073709551617")), key(json!(u64::MAX)));
        assert_eq!(key(json!("abc")), None);
        assert_eq!(key(json!(true)), None);
    }

    #[test]
    fn strings_that_are_not_numbers_are_not_compared_as_numbers() {
        for s in [
            "", "-", ".", "e5", "1e", "1e+", "--1", "0x10", "1_000", "NaN", "inf", "1.2.3",
        ] {
            assert_eq!(cmp(json!(s), json!(1)), None, "{s:?}");
        }
    }
}
