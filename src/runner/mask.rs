//! Secrets: values of variables named in `secrets:` or given with `--secret`, and of
//! `Authorization`/`Cookie` headers, replaced by `***` in everything a run reports.

use std::borrow::Cow;

use crate::report::{Failure, FrameData, Outcome, RequestReport, Shown};

/// Shorter values are not masked: masking every "a" would make output unreadable.
pub const MIN_SECRET_LEN: usize = 3;

/// The secret values of a run, longest first (so a secret containing another is masked whole).
#[derive(Debug, Clone, Default)]
pub struct Masker {
    secrets: Vec<String>,
}

impl Masker {
    pub fn new(values: impl IntoIterator<Item = String>) -> Self {
        let mut m = Self::default();
        m.extend(values);
        m
    }

    pub fn extend(&mut self, values: impl IntoIterator<Item = String>) {
        for v in values {
            if v.chars().count() >= MIN_SECRET_LEN && !self.secrets.contains(&v) {
                self.secrets.push(v);
            }
        }
        self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `text` with every secret replaced by `***`.
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if !self.secrets.iter().any(|s| text.contains(s.as_str())) {
            return Cow::Borrowed(text);
        }
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "***");
            }
        }
        Cow::Owned(out)
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

    fn mask_value(&self, v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => self.mask_string(s),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|i| self.mask_value(i)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|i| self.mask_value(i)),
            _ => {}
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

    /// Masks a finished request: failures and the frames kept in its transcript.
    pub fn request(&self, r: &mut RequestReport) {
        if self.is_empty() {
            return;
        }
        if let Some(f) = &mut r.error {
            self.failure(f);
        }
        for s in &mut r.steps {
            if let Outcome::Failed(f) = &mut s.outcome {
                self.failure(f);
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
                FrameData::Binary(_) | FrameData::Ping(_) | FrameData::Pong(_) => {}
            }
        }
    }
}

/// Whether a header's value is a credential.
pub fn is_secret_header(name: &str) -> bool {
    name.eq_ignore_ascii_case("authorization") || name.eq_ignore_ascii_case("cookie")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_longest_first_and_short_ones_left() {
        let m = Masker::new(["tok".to_string(), "token-123".to_string(), "ab".to_string()]);
        assert_eq!(m.mask("Bearer token-123 tok ab"), "Bearer *** *** ab");
        assert!(matches!(m.mask("nothing"), Cow::Borrowed(_)));
    }
}
