//! Renderings of a secret that a protocol escapes on the wire, for the masking target: a STOMP
//! 1.2 header value (`:` as `\c`, `\` as `\\`, line breaks as `\n` and `\r`), a Socket.IO
//! frame (JSON after the packet type), and each frame again as the text of a JSON string (a
//! frame quoted in a report).

use serde_json::json;

use super::Rng;

/// `s` as STOMP 1.2 writes a header value (or name) in any frame but `CONNECT`/`CONNECTED`.
fn stomp_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ':' => out.push_str("\\c"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            _ => out.push(c),
        }
    }
    out
}

/// Whether `text` shows `secret` as a STOMP header writes it (a leak the plain search misses).
pub fn shows_stomp_escaped(text: &str, secret: &str) -> bool {
    text.contains(&stomp_escape(secret))
}

/// A frame carrying the secret escaped in a header (its value, or its name), and that frame as
/// a JSON string's text.
pub fn stomp(rng: &mut Rng, secret: &str) -> Vec<String> {
    let escaped = stomp_escape(secret);
    let header = if rng.below(4) == 0 {
        format!("{escaped}:v")
    } else {
        format!("token:{escaped}")
    };
    let frame = format!("SEND\ndestination:/queue/a\n{header}\ncontent-length:2\n\nhi\0");
    let quoted = json!({ "frame": frame }).to_string();
    vec![frame, quoted]
}

/// A Socket.IO event carrying the secret in its arguments, and that frame as a JSON string's
/// text.
pub fn socketio(secret: &str) -> Vec<String> {
    let frame = format!("42/chat,{}", json!(["login", { "token": secret }]));
    let quoted = json!({ "frame": frame }).to_string();
    vec![frame, quoted]
}
