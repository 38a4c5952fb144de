//! JSON text for people: re-indented as received (key order and number spelling kept), with
//! keys, strings, numbers and literals in colour, every token made printable
//! ([`crate::report::printable`]) so a message cannot move the cursor or retitle the terminal.

use std::fmt::Write as _;

use crate::report::printable;

const KEY: &str = "34";
const STRING: &str = "32";
const NUMBER: &str = "36";
const LITERAL: &str = "35";

/// `json` (valid JSON text, or JSON text after masking) indented by two spaces per level.
///
/// `{"a":[1,{}],"b":"x"}` becomes
/// ```text
/// {
///   "a": [
///     1,
///     {}
///   ],
///   "b": "x"
/// }
/// ```
pub fn json(text: &str, color: bool) -> String {
    let compact = crate::value::compact_json(text);
    let mut out = String::with_capacity(compact.len() * 2);
    let mut depth = 0usize;
    let mut rest = compact.as_str();
    while let Some(c) = rest.chars().next() {
        match c {
            '"' => {
                let len = string_len(rest);
                let (token, after) = rest.split_at(len);
                let color_code = if after.starts_with(':') { KEY } else { STRING };
                paint(&mut out, color, color_code, &printable(token));
                rest = after;
                continue;
            }
            '{' | '[' => {
                let close = if c == '{' { '}' } else { ']' };
                if rest[1..].starts_with(close) {
                    out.push(c);
                    out.push(close);
                    rest = &rest[2..];
                    continue;
                }
                depth += 1;
                out.push(c);
                newline(&mut out, depth);
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            _ => {
                let len = rest
                    .find([',', ':', '{', '}', '[', ']', '"'])
                    .unwrap_or(rest.len());
                let (token, after) = rest.split_at(len);
                let code = match token {
                    "true" | "false" | "null" => LITERAL,
                    t if t.starts_with(|ch: char| ch == '-' || ch.is_ascii_digit()) => NUMBER,
                    _ => "",
                };
                paint(&mut out, color, code, &printable(token));
                rest = after;
                continue;
            }
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The byte length of the JSON string at the start of `text` (quotes included); the rest of the
/// text when it is not closed.
fn string_len(text: &str) -> usize {
    let mut escaped = false;
    for (i, c) in text.char_indices().skip(1) {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '"' {
            return i + 1;
        }
    }
    text.len()
}

fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str("  ");
    }
}

fn paint(out: &mut String, color: bool, code: &str, token: &str) {
    if color && !code.is_empty() {
        let _ = write!(out, "\x1b[{code}m{token}\x1b[0m");
    } else {
        out.push_str(token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_indented_in_the_order_received() {
        assert_eq!(
            json(r#"{"b": [1, {}], "a": "x,y:\"z\"", "c": {"d": null}}"#, false),
            "{\n  \"b\": [\n    1,\n    {}\n  ],\n  \"a\": \"x,y:\\\"z\\\"\",\n  \"c\": {\n    \"d\": null\n  }\n}"
        );
        assert_eq!(json("[]", false), "[]");
        assert_eq!(
            json("12345678901234567890123", false),
            "12345678901234567890123"
        );
    }

    #[test]
    fn keys_strings_numbers_and_literals_have_their_colours() {
        assert_eq!(
            json(r#"{"k":"v","n":-1.5,"t":true}"#, true),
            "{\n  \x1b[34m\"k\"\x1b[0m: \x1b[32m\"v\"\x1b[0m,\n  \x1b[34m\"n\"\x1b[0m: \x1b[36m-1.5\x1b[0m,\n  \x1b[34m\"t\"\x1b[0m: \x1b[35mtrue\x1b[0m\n}"
        );
    }

    #[test]
    fn bidi_overrides_are_shown_escaped_and_masked_text_passes() {
        assert_eq!(json("[\"a\u{202e}b\"]", false), "[\n  \"a\\u202eb\"\n]");
        assert_eq!(json("{\"a\":***}", false), "{\n  \"a\": ***\n}");
    }
}
