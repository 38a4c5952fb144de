//! A quick scan of a message that finds where the wanted members' values are, when the text is
//! surely JSON as serde_json reads it; anything it is not sure about (an escape it would have to
//! judge, a number that might overflow, deep nesting, serde_json's raw-value key) is left to
//! serde_json. So it only ever says "yes, and here they are" for texts serde_json accepts.
//!
//! Measured in bench/ (callgrind, the row-3 firehose): serde_json's visitor machinery spent
//! ~4,600 instructions per message validating and skipping members nobody reads.

use super::{Names, RAW_VALUE_KEY};

/// Nesting deeper than this is left to serde_json (which refuses 128 levels).
const MAX_DEPTH: u32 = 100;

/// Where a member's value is in the text.
#[derive(Clone, Copy, Default)]
pub(super) struct Found {
    pub start: usize,
    pub end: usize,
    /// A string without escapes: its characters are the text between the quotes.
    pub plain: bool,
}

/// Where the values of the wanted members are in a text: `Some(bits)` (bit `i`: `found[i]` is
/// the last value of `names[i]`), or `None` to leave the text to serde_json.
pub(super) fn members(text: &str, names: &Names, found: &mut [Found]) -> Option<u64> {
    let mut s = Scanner {
        b: text.as_bytes(),
        at: 0,
    };
    s.ws();
    if s.peek()? != b'{' {
        return None;
    }
    s.at += 1;
    let mut seen = 0u64;
    s.ws();
    if s.peek()? == b'}' {
        s.at += 1;
    } else {
        let mut first = true;
        loop {
            // A one-character key (`"e"`, as exchanges send them) is read in place.
            let key = match s.b.get(s.at..s.at + 3) {
                Some(&[b'"', c, b'"']) if !STOPS[usize::from(c)] => {
                    s.at += 3;
                    (s.at - 2, s.at - 1)
                }
                _ => s.key(first)?,
            };
            first = false;
            s.ws();
            s.expect(b':')?;
            s.ws();
            let start = s.at;
            let plain = match s.peek()? {
                b'"' => !s.string()?,
                _ => {
                    s.value(1)?;
                    false
                }
            };
            if let Some(i) = names.find_bytes(&s.b[key.0..key.1]) {
                found[i] = Found {
                    start,
                    end: s.at,
                    plain,
                };
                seen |= 1 << i;
            }
            s.ws();
            match s.peek()? {
                b',' => {
                    s.at += 1;
                    s.ws();
                }
                b'}' => {
                    s.at += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    s.ws();
    (s.at == s.b.len()).then_some(seen)
}

/// The bytes that end a run of plain characters in a string: the quote, the backslash and the
/// control characters.
static STOPS: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 0x20 {
        t[c] = true;
        c += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

struct Scanner<'t> {
    b: &'t [u8],
    at: usize,
}

impl Scanner<'_> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.at).copied()
    }

    #[inline]
    fn expect(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.at += 1)
    }

    /// JSON's whitespace: space, tab, line feed, carriage return.
    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// A key without escapes (an escaped key could spell anything): its byte range, quotes
    /// excluded. The first key of an object may not be serde_json's raw-value key.
    #[inline]
    fn key(&mut self, first: bool) -> Option<(usize, usize)> {
        if self.peek()? != b'"' {
            return None;
        }
        let start = self.at + 1;
        let mut end = start;
        while let Some(&c) = self.b.get(end) {
            if STOPS[usize::from(c)] {
                break;
            }
            end += 1;
        }
        // Only a closing quote ends a key here: an escape or a control character is not plain.
        if self.b.get(end) != Some(&b'"') {
            return None;
        }
        self.at = end + 1;
        let range = (start, end);
        if first && &self.b[range.0..range.1] == RAW_VALUE_KEY.as_bytes() {
            return None;
        }
        Some(range)
    }

    /// A string, from its opening quote to after its closing one. Returns whether it had an
    /// escape; `None` for a raw control character, a bad escape, or a `\u` escape of a
    /// surrogate (serde_json refuses lone ones; pairs are left to it too).
    fn string(&mut self) -> Option<bool> {
        self.at += 1;
        let mut escaped = false;
        loop {
            // The plain characters, one table look-up each.
            while let Some(&c) = self.b.get(self.at) {
                if STOPS[usize::from(c)] {
                    break;
                }
                self.at += 1;
            }
            let c = self.peek()?;
            self.at += 1;
            match c {
                b'"' => return Some(escaped),
                b'\\' => {
                    escaped = true;
                    match self.peek()? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.at += 1,
                        b'u' => {
                            let hex = self.b.get(self.at + 1..self.at + 5)?;
                            let mut code = 0u32;
                            for &h in hex {
                                code = code << 4 | (h as char).to_digit(16)?;
                            }
                            if (0xD800..=0xDFFF).contains(&code) {
                                return None;
                            }
                            self.at += 5;
                        }
                        _ => return None,
                    }
                }
                0..=0x1f => return None,
                _ => {}
            }
        }
    }

    /// A number, by JSON's grammar, small enough that serde_json cannot find it out of range.
    fn number(&mut self) -> Option<()> {
        if self.peek()? == b'-' {
            self.at += 1;
        }
        let int_start = self.at;
        match self.peek()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        let int_digits = self.at - int_start;
        if self.peek() == Some(b'.') {
            self.at += 1;
            let start = self.at;
            self.digits();
            if self.at == start {
                return None;
            }
        }
        let mut exponent = 0usize;
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            let negative = match self.peek()? {
                b'-' => {
                    self.at += 1;
                    true
                }
                b'+' => {
                    self.at += 1;
                    false
                }
                _ => false,
            };
            let start = self.at;
            self.digits();
            let digits = &self.b[start..self.at];
            if digits.is_empty() || digits.len() > 4 {
                return None;
            }
            if !negative {
                exponent = digits.iter().fold(0, |e, d| e * 10 + usize::from(d - b'0'));
            }
        }
        // Below 10^300, far from f64's limit of 1.8e308: serde_json reads it without error.
        (int_digits + exponent <= 300).then_some(())
    }

    /// Skips ASCII digits, eight at a time while eight bytes are left.
    #[inline]
    fn digits(&mut self) {
        while let Some(chunk) = self.b.get(self.at..self.at + 8) {
            let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
            // Per byte, no carries between bytes: the high nibble is not 3, or the low nibble
            // is past 9 (adding 6 carries it into the high nibble).
            let high = (word & 0xF0F0_F0F0_F0F0_F0F0) ^ 0x3030_3030_3030_3030;
            let low =
                ((word & 0x0F0F_0F0F_0F0F_0F0F) + 0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0;
            let others = high | low;
            if others != 0 {
                self.at += (others.trailing_zeros() / 8) as usize;
                return;
            }
            self.at += 8;
        }
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        (self.b.get(self.at..self.at + word.len())? == word).then(|| self.at += word.len())
    }

    /// Any value, `depth` containers deep.
    fn value(&mut self, depth: u32) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                self.at += 1;
                self.ws();
                if self.peek()? == b'}' {
                    self.at += 1;
                    return Some(());
                }
                let mut first = true;
                loop {
                    self.key(first)?;
                    first = false;
                    self.ws();
                    self.expect(b':')?;
                    self.ws();
                    self.value(depth + 1)?;
                    self.ws();
                    match self.peek()? {
                        b',' => {
                            self.at += 1;
                            self.ws();
                        }
                        b'}' => {
                            self.at += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                self.at += 1;
                self.ws();
                if self.peek()? == b']' {
                    self.at += 1;
                    return Some(());
                }
                loop {
                    self.value(depth + 1)?;
                    self.ws();
                    match self.peek()? {
                        b',' => {
                            self.at += 1;
                            self.ws();
                        }
                        b']' => {
                            self.at += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Scanner;

    #[test]
    fn digits_stop_at_the_first_byte_that_is_not_one_whatever_it_is_and_wherever() {
        for stop in (0..=255u8).filter(|b| !b.is_ascii_digit()) {
            for at in 0..20 {
                // Digits, the stop byte, then digits again: eight-byte words and the tail alike.
                let mut bytes: Vec<u8> = (0..at).map(|i| b'0' + (i % 10) as u8).collect();
                bytes.push(stop);
                bytes.extend(b"123456789");
                let mut s = Scanner { b: &bytes, at: 0 };
                s.digits();
                assert_eq!(s.at, at, "stop byte {stop:#04x} after {at} digits");
            }
        }
        let mut all = Scanner {
            b: b"12345678901234567",
            at: 0,
        };
        all.digits();
        assert_eq!(all.at, 17);
    }
}
