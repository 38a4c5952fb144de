//! Secrets: values of variables named in `secrets:` or given with `--secret` (every text and
//! number inside them), of `Authorization`/`Cookie` headers, and values captured under a secret
//! name, replaced by `***` in everything a run reports — also where they appear JSON-escaped
//! or escaped as a STOMP header value.

use std::borrow::Cow;

use serde_json::Value;

use crate::report::{Failure, FrameData, Outcome, RequestReport, Shown};

/// Shorter values are not masked: masking every "a" would make output unreadable.
pub const MIN_SECRET_LEN: usize = 3;

/// What a secret is replaced by.
const MASK: &str = "***";

/// How many levels of JSON string escaping a secret is recognised through: one for a secret in a
/// JSON message (`"a\"b"`, `"\u0061"`), two for one in JSON text carried inside a JSON string
/// (an envelope's `"data": "{\"token\": \"a\\\"b\"}"`).
const MAX_ESCAPE_DEPTH: usize = 2;

/// The most bytes one character of a secret takes in a text: a surrogate pair escaped twice.
const MAX_RENDERED_CHAR: usize = 14;

/// How `report::truncate` marks a cut: `… (N more bytes)`.
const CUT: &str = "… (";

/// The secrets of a run or of one request, longest first (so a secret containing another is
/// masked whole), and the names of secret variables (a value captured under one is a secret).
#[derive(Debug, Clone, Default)]
pub struct Masker {
    secrets: Vec<String>,
    names: Vec<String>,
}

impl Masker {
    pub fn new(values: impl IntoIterator<Item = String>) -> Self {
        let mut m = Self::default();
        m.extend(values);
        m
    }

    /// Adds secret values (those shorter than [`MIN_SECRET_LEN`] are left out).
    pub fn extend(&mut self, values: impl IntoIterator<Item = String>) {
        for v in values {
            if v.chars().count() >= MIN_SECRET_LEN && !self.secrets.contains(&v) {
                self.secrets.push(v);
            }
        }
        self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    /// Adds a secret variable's value: a text or a number, or every text and number inside a
    /// list or a map (`{user: u, pass: p4ss}` masks `p4ss` wherever it appears, even alone).
    pub fn extend_value(&mut self, value: &Value) {
        let mut leaves = Vec::new();
        scalar_leaves(value, &mut leaves);
        self.extend(leaves);
    }

    /// Names the secret variables, so that a value captured under one of them is masked too.
    pub fn name_secrets(&mut self, names: impl IntoIterator<Item = String>) {
        self.names.extend(names);
    }

    /// Records a value captured under `name`: a secret from now on when `name` is a secret's.
    pub fn capture(&mut self, name: &str, value: &Value) {
        if self.names.iter().any(|n| n == name) {
            self.extend_value(value);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `text` with every secret replaced by `***`: written as itself, JSON-escaped in any mix
    /// (`\"`, `\\`, `\/`, `\uXXXX`), inside a larger text, or cut short by a preview's `… (N more
    /// bytes)`. Texts without a secret, a backslash or a cut come back borrowed, after one scan
    /// per secret.
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if self.secrets.is_empty() {
            return Cow::Borrowed(text);
        }
        let escaped = text.contains('\\');
        let cut = text.contains(CUT);
        if !escaped && !cut && !self.secrets.iter().any(|s| text.contains(s.as_str())) {
            return Cow::Borrowed(text);
        }
        let mut out = Cow::Borrowed(text);
        for s in &self.secrets {
            let masked = if escaped {
                replace_rendered(&out, s)
            } else if out.contains(s.as_str()) {
                Some(out.replace(s.as_str(), MASK))
            } else {
                None
            };
            if let Some(masked) = masked {
                out = Cow::Owned(masked);
            }
        }
        if cut {
            if let Some(masked) = self.mask_cut(&out) {
                out = Cow::Owned(masked);
            }
        }
        out
    }

    /// A preview cut at a character count can end in the middle of a secret: the piece before
    /// the cut mark is masked when it is how a secret starts (at least [`MIN_SECRET_LEN`]
    /// characters of it, so that a preview ending in a secret's first letter stays readable).
    fn mask_cut(&self, text: &str) -> Option<String> {
        let mut out = String::new();
        let mut copied = 0;
        for (cut, _) in text.match_indices(CUT) {
            if cut < copied || !is_cut_mark(&text[cut..]) {
                continue;
            }
            if let Some(start) = self.secret_start_before(text, copied, cut) {
                out.push_str(&text[copied..start]);
                out.push_str(MASK);
                copied = cut;
            }
        }
        (copied > 0).then(|| {
            out.push_str(&text[copied..]);
            out
        })
    }

    /// Where the longest beginning of a secret that runs into `cut` starts, not before `from`.
    fn secret_start_before(&self, text: &str, from: usize, cut: usize) -> Option<usize> {
        let head = &text[..cut];
        let mut best: Option<usize> = None;
        for s in &self.secrets {
            let want: Vec<char> = s.chars().collect();
            let mut lo = cut
                .saturating_sub(want.len().saturating_mul(MAX_RENDERED_CHAR))
                .max(from);
            while !head.is_char_boundary(lo) {
                lo += 1;
            }
            for (i, ch) in head[lo..].char_indices() {
                let start = lo + i;
                if best.is_some_and(|b| b <= start) {
                    break;
                }
                if ch != want[0] && ch != '\\' {
                    continue;
                }
                if follow(head, start, &want).ran_out >= MIN_SECRET_LEN {
                    best = Some(start);
                    break;
                }
            }
        }
        best
    }

    fn mask_string(&self, s: &mut String) {
        if let Cow::Owned(masked) = self.mask(s) {
            *s = masked;
        }
    }

    fn mask_opt(&self, s: &mut Option<String>) {
        if let Some(s) = s {
            self.mask_string(s);
        }
    }

    /// Masks a shown value: the strings inside a JSON value; a value whose JSON text still holds
    /// a secret after that (a number, a key) is shown as masked text instead.
    fn mask_shown(&self, shown: &mut Option<Shown>) {
        match shown {
            Some(Shown::Text(t)) => self.mask_string(t),
            Some(Shown::Value(v)) => {
                self.mask_value(v);
                let text = v.to_string();
                if let Cow::Owned(masked) = self.mask(&text) {
                    *shown = Some(Shown::Text(masked));
                }
            }
            None => {}
        }
    }

    pub fn failure(&self, f: &mut Failure) {
        self.mask_string(&mut f.summary);
        self.mask_opt(&mut f.path);
        self.mask_shown(&mut f.expected);
        self.mask_shown(&mut f.actual);
        self.mask_opt(&mut f.message);
        self.mask_opt(&mut f.detail);
        for v in &mut f.stream {
            self.mask_string(&mut v.reason);
            self.mask_opt(&mut v.message);
            for value in v
                .value
                .iter_mut()
                .chain(v.previous.iter_mut().map(|(_, p)| p))
            {
                self.mask_value(value);
            }
        }
    }

    /// A binary payload with every secret's bytes overwritten by `*` (the length kept, so the
    /// size `-v` shows is the size that was sent); `None` when it holds none.
    fn mask_bytes(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        let mut out: Option<Vec<u8>> = None;
        for secret in self.secrets.iter().map(String::as_bytes) {
            let mut at = 0;
            while let Some(found) = out.as_deref().unwrap_or(bytes)[at..]
                .windows(secret.len())
                .position(|w| w == secret)
            {
                let masked = out.get_or_insert_with(|| bytes.to_vec());
                let start = at + found;
                masked[start..start + secret.len()].fill(b'*');
                at = start + secret.len();
            }
        }
        out
    }

    /// Masks the texts inside a JSON value, and the keys of its maps.
    fn mask_value(&self, value: &mut Value) {
        match value {
            Value::String(t) => self.mask_string(t),
            Value::Array(items) => items.iter_mut().for_each(|v| self.mask_value(v)),
            Value::Object(map) => {
                let entries = std::mem::take(map);
                for (mut k, mut v) in entries {
                    self.mask_string(&mut k);
                    self.mask_value(&mut v);
                    map.insert(k, v);
                }
            }
            // A secret number (a PIN captured as one) is masked like its text.
            Value::Number(n) => {
                if let Cow::Owned(masked) = self.mask(&n.to_string()) {
                    *value = Value::String(masked);
                }
            }
            Value::Null | Value::Bool(_) => {}
        }
    }

    /// Masks a finished request: failures, captured values and the frames in its transcript.
    pub fn request(&self, r: &mut RequestReport) {
        if self.is_empty() {
            return;
        }
        if let Some(f) = &mut r.error {
            self.failure(f);
        }
        for (name, value) in &mut r.captures {
            if self.names.iter().any(|n| n == name) {
                *value = Value::String(MASK.into());
            } else {
                self.mask_value(value);
            }
        }
        for s in &mut r.steps {
            if let Outcome::Failed(f) = &mut s.outcome {
                self.failure(f);
            }
        }
        for h in &mut r.transcript.handshakes {
            self.mask_string(&mut h.request_line);
            for (_, value) in h.request_headers.iter_mut().chain(&mut h.response_headers) {
                self.mask_string(value);
            }
        }
        let frames = r
            .transcript
            .head
            .iter_mut()
            .chain(r.transcript.tail.iter_mut());
        for frame in frames {
            match &mut frame.data {
                FrameData::Text(t) => {
                    if let Cow::Owned(masked) = self.mask(t.as_str()) {
                        *t = masked.into();
                    }
                }
                FrameData::Close(_, reason) | FrameData::Lost(reason) => self.mask_string(reason),
                FrameData::Binary(b) => {
                    if let Some(masked) = self.mask_bytes(b) {
                        *b = masked.into();
                    }
                }
                FrameData::BinaryLen(_) | FrameData::Ping(_) | FrameData::Pong(_) => {}
            }
        }
    }
}

/// Whether a header's value is a credential.
pub fn is_secret_header(name: &str) -> bool {
    name.eq_ignore_ascii_case("authorization") || name.eq_ignore_ascii_case("cookie")
}

/// The texts and numbers inside a value; `true`, `false` and `null` are no secrets.
fn scalar_leaves(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(items) => items.iter().for_each(|i| scalar_leaves(i, out)),
        Value::Object(map) => map.values().for_each(|v| scalar_leaves(v, out)),
        Value::Bool(_) | Value::Null => {}
    }
}

/// `text` with every rendering of `secret` replaced by `***`, or `None` when it has none.
fn replace_rendered(text: &str, secret: &str) -> Option<String> {
    let want: Vec<char> = secret.chars().collect();
    let first = *want.first()?;
    let mut out = String::new();
    let mut copied = 0;
    let mut found = false;
    let mut i = 0;
    while let Some(ch) = text[i..].chars().next() {
        if ch == first || ch == '\\' {
            if let Some(&end) = follow(text, i, &want).ends.iter().max() {
                out.push_str(&text[copied..i]);
                out.push_str(MASK);
                (copied, i, found) = (end, end, true);
                continue;
            }
        }
        i += ch.len_utf8();
    }
    found.then(|| {
        out.push_str(&text[copied..]);
        out
    })
}

/// How far a rendering of a secret reaches from one place in a text.
struct Reach {
    /// Where whole renderings end (empty when there is none).
    ends: Vec<usize>,
    /// The most characters of the secret rendered up to the very end of the text (or up to an
    /// escape the end cuts short).
    ran_out: usize,
}

/// Follows `want` through `text` from `start`, each character written as itself or as a JSON
/// escape up to [`MAX_ESCAPE_DEPTH`] levels deep, in any mix. A set of positions rather than one,
/// because a backslash may stand for itself or begin an escape.
fn follow(text: &str, start: usize, want: &[char]) -> Reach {
    let mut at = vec![start];
    let mut ran_out = 0;
    for (n, &c) in want.iter().enumerate() {
        if at.iter().any(|&p| runs_out(&text[p..])) {
            ran_out = n;
        }
        let mut next: Vec<usize> = Vec::new();
        for &p in &at {
            let Some(ch) = text[p..].chars().next() else {
                continue;
            };
            if ch == c && !next.contains(&(p + ch.len_utf8())) {
                next.push(p + ch.len_utf8());
            }
            if ch != '\\' {
                // Any depth decodes a character other than a backslash as itself.
                continue;
            }
            for depth in 1..=MAX_ESCAPE_DEPTH {
                if let Some((d, end)) = decode(text, p, depth) {
                    if d == c && !next.contains(&end) {
                        next.push(end);
                    }
                }
            }
        }
        if next.is_empty() {
            return Reach {
                ends: Vec::new(),
                ran_out,
            };
        }
        at = next;
    }
    Reach { ends: at, ran_out }
}

/// Whether a rendering that got to here was cut by the end of the text.
fn runs_out(rest: &str) -> bool {
    rest.is_empty() || (rest.starts_with('\\') && rest.len() < MAX_RENDERED_CHAR)
}

/// The character at `p` read through `depth` levels of JSON string escaping (or of STOMP header
/// escaping, a subset of it but for `\c`), and where it ends.
fn decode(text: &str, p: usize, depth: usize) -> Option<(char, usize)> {
    if depth == 0 {
        let c = text.get(p..)?.chars().next()?;
        return Some((c, p + c.len_utf8()));
    }
    let (c, after) = decode(text, p, depth - 1)?;
    if c != '\\' {
        return Some((c, after));
    }
    let (e, after) = decode(text, after, depth - 1)?;
    let c = match e {
        '"' | '\\' | '/' => e,
        'b' => '\u{8}',
        'f' => '\u{c}',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        // STOMP's header escape of `:` (its `\n`, `\r` and `\\` are JSON's too).
        'c' => ':',
        'u' => return decode_unicode(text, after, depth),
        _ => return None,
    };
    Some((c, after))
}

/// The `XXXX` of a `\uXXXX` escape (and the low half of a surrogate pair after it).
fn decode_unicode(text: &str, p: usize, depth: usize) -> Option<(char, usize)> {
    let (high, p) = hex4(text, p, depth - 1)?;
    if !(0xD800..0xDC00).contains(&high) {
        return char::from_u32(high).map(|c| (c, p));
    }
    let (backslash, p) = decode(text, p, depth - 1)?;
    let (u, p) = decode(text, p, depth - 1)?;
    if backslash != '\\' || u != 'u' {
        return None;
    }
    let (low, p) = hex4(text, p, depth - 1)?;
    if !(0xDC00..0xE000).contains(&low) {
        return None;
    }
    char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)).map(|c| (c, p))
}

fn hex4(text: &str, mut p: usize, depth: usize) -> Option<(u32, usize)> {
    let mut value = 0;
    for _ in 0..4 {
        let (h, next) = decode(text, p, depth)?;
        value = value * 16 + h.to_digit(16)?;
        p = next;
    }
    Some((value, p))
}

/// Whether `rest` starts with the rest of a cut mark: `… (123 more bytes)`.
fn is_cut_mark(rest: &str) -> bool {
    let Some(after) = rest.strip_prefix(CUT) else {
        return false;
    };
    let digits = after.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && after[digits..].starts_with(" more bytes)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_are_masked_whole_under_a_secret_name_and_inside_other_values() {
        let mut m = Masker::default();
        m.name_secrets(["pin".to_string()]);
        m.capture("pin", &serde_json::json!(123456));
        let mut r = RequestReport::new("r".into(), 1);
        r.captures = vec![
            ("pin".into(), serde_json::json!(123456)),
            (
                "url".into(),
                serde_json::json!({"q": ["?pin=123456"], "n": 123456, "ok": true}),
            ),
        ];
        m.request(&mut r);
        let expected = serde_json::json!({"q": ["?pin=***"], "n": "***", "ok": true});
        assert_eq!(
            r.captures,
            [("pin".into(), "***".into()), ("url".into(), expected)]
        );
    }

    #[test]
    fn secrets_are_masked_longest_first_and_short_ones_left() {
        let m = Masker::new(["tok".to_string(), "token-123".to_string(), "ab".to_string()]);
        assert_eq!(m.mask("Bearer token-123 tok ab"), "Bearer *** *** ab");
        assert!(matches!(m.mask("nothing"), Cow::Borrowed(_)));
        assert!(matches!(m.mask(r#"{"a":"\"x\\\\"}"#), Cow::Borrowed(_)));
    }

    const QUOTED: &str = r#"q"uo\te/é-secret"#;

    fn json_text(s: &str) -> String {
        serde_json::to_string(s).unwrap()
    }

    #[test]
    fn a_secret_is_masked_json_escaped_in_any_mix_of_escapes() {
        let m = Masker::new([QUOTED.to_string()]);
        for text in [
            format!(r#"{{"q":{}}}"#, json_text(QUOTED)),
            r#"{"q":"q\u0022uo\\te\/\u00e9-secret"}"#.to_string(),
            r#"{"q":"\u0071\u0022\u0075\u006F\u005C\u0074e\/\u00E9-secret"}"#.to_string(),
        ] {
            assert_eq!(m.mask(&text), r#"{"q":"***"}"#, "{text}");
        }
        // Raw inside a text that holds backslashes elsewhere.
        assert_eq!(m.mask(&format!(r"C:\tmp {QUOTED}!")), r"C:\tmp ***!");
    }

    #[test]
    fn a_secret_in_json_text_inside_a_json_string_is_masked() {
        let m = Masker::new([QUOTED.to_string()]);
        let inner = format!(r#"{{"token":{}}}"#, json_text(QUOTED));
        let envelope = format!(r#"{{"data":{}}}"#, json_text(&inner));
        assert_eq!(m.mask(&envelope), r#"{"data":"{\"token\":\"***\"}"}"#);
    }

    #[test]
    fn a_secret_outside_the_basic_plane_is_masked_as_a_surrogate_pair() {
        let m = Masker::new(["key-😀-end".to_string()]);
        assert_eq!(m.mask(r#"["key-\ud83d\ude00-end"]"#), r#"["***"]"#);
        assert_eq!(m.mask(r#"["key-\ud83d-end"]"#), r#"["key-\ud83d-end"]"#);
    }

    #[test]
    fn a_backslash_in_a_secret_is_matched_raw_and_escaped() {
        let m = Masker::new([r"dom\user\\pw".to_string()]);
        assert_eq!(m.mask(r"login dom\user\\pw ok"), "login *** ok");
        assert_eq!(
            m.mask(r#"{"login":"dom\\user\\\\pw"}"#),
            r#"{"login":"***"}"#
        );
    }

    #[test]
    fn a_secret_in_a_stomp_header_is_masked_through_its_escapes() {
        let m = Masker::new(["pa:ss\\wo\nrd".to_string()]);
        let frame = "SEND\ntoken:pa\\css\\\\wo\\nrd\n\nhi\0";
        assert_eq!(m.mask(frame), "SEND\ntoken:***\n\nhi\0");
        // The frame as the text of a JSON string: the STOMP escapes escaped once more.
        let quoted = json_text(frame);
        assert_eq!(m.mask(&quoted), r#""SEND\ntoken:***\n\nhi\u0000""#);
    }

    #[test]
    fn a_preview_cut_inside_a_secret_hides_its_beginning() {
        let secret = "hunter2-long-secret";
        let m = Masker::new([secret.to_string()]);
        let message = format!(r#"{{"password":{}}}"#, json_text(secret));
        for limit in 0..message.len() {
            let preview = crate::report::truncate(&message, limit);
            let masked = m.mask(&preview);
            assert!(!masked.contains("hun"), "{preview} → {masked}");
        }
        let cut = crate::report::truncate(&message, 16);
        assert_eq!(m.mask(&cut), r#"{"password":"***… (18 more bytes)"#);
        // Two characters of a secret before a cut stay: a preview ending in "hu" is not a leak.
        let cut = crate::report::truncate(&message, 15);
        assert_eq!(m.mask(&cut), cut);
    }

    #[test]
    fn every_text_and_number_in_a_secret_map_is_a_secret() {
        let mut m = Masker::default();
        m.extend_value(&serde_json::json!({
            "user": "u", "pass": "p4ss", "pin": 123456, "on": true, "keys": ["k-one", {"k": "k-two"}]
        }));
        assert_eq!(
            m.mask("u p4ss 123456 true k-one k-two"),
            "u *** *** true *** ***"
        );
    }

    #[test]
    fn a_value_captured_under_a_secret_name_becomes_a_secret() {
        let mut m = Masker::default();
        m.name_secrets(["token".to_string()]);
        m.capture("id", &serde_json::json!("not-secret"));
        m.capture("token", &serde_json::json!({"t": "captured-value"}));
        assert_eq!(m.mask("not-secret captured-value"), "not-secret ***");
    }
}
