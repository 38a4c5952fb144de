//! How a connection ended, and how failures say it.

/// How a connection ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Closed {
    pub code: Option<u16>,
    pub reason: String,
    /// True when the peer sent a valid close frame; false when the connection was lost, or
    /// when its close frame broke the protocol (then `code` is the invalid code it sent).
    pub clean: bool,
    /// True when this request closed first (a `close` step) and the server answered.
    pub by_us: bool,
    /// What went wrong when it was lost.
    pub error: Option<String>,
    /// It was lost to a message over `max_message_size`: a message did arrive, too big.
    pub too_big: bool,
}

impl Closed {
    /// What ended the connection, as a failure's `actual` line names it.
    pub fn received(&self) -> String {
        match (self.clean, self.code) {
            (false, Some(code)) => format!("close code {code} (not a valid close code)"),
            (false, None) => "no close frame".into(),
            (true, Some(code)) => format!("close code {code}"),
            (true, None) => "no close code".into(),
        }
    }

    /// Why a step waiting for a message got none: "the server closed the connection (code
    /// 4001) before a message arrived", or for a message over the limit, just that.
    pub fn before_a_message(&self) -> String {
        if self.too_big {
            self.describe()
        } else {
            format!("{} before a message arrived", self.describe())
        }
    }

    pub fn describe(&self) -> String {
        if let Some(e) = &self.error {
            return e.clone();
        }
        if self.by_us {
            return "the connection was closed by this request's `close` step".into();
        }
        match (self.clean, self.code) {
            (true, Some(code)) if self.reason.is_empty() => {
                format!("the server closed the connection (code {code})")
            }
            (true, Some(code)) => format!(
                "the server closed the connection (code {code}, reason \"{}\")",
                self.reason
            ),
            (true, None) => "the server closed the connection (no close code)".into(),
            (false, _) => "the connection was dropped without a close frame".into(),
        }
    }
}
