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
    /// Its `error` is a sentence of its own rather than how the connection ended: a message
    /// over `max_message_size`, a protocol the server broke, an invalid close code, a full
    /// inbox. What a step waited for is then not glued on as "… before X arrived".
    pub broken: bool,
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

    /// Why a step waiting for any message got none: "the server closed the connection (code
    /// 4001) before a message arrived", or when the connection broke (a message over the limit,
    /// a protocol error), just why.
    pub fn before_a_message(&self) -> String {
        if self.broken {
            self.describe()
        } else {
            format!("{} before a message arrived", self.describe())
        }
    }

    /// Why a step waiting for one answer (`what`: "the ack for `add` (ack id 1)") got none:
    /// "the server closed the connection (code 1000) before the ack … arrived", or when the
    /// connection broke, "the server sent a broken STOMP frame: …, while waiting for the ack …".
    pub fn before(&self, what: &str) -> String {
        if self.broken {
            format!("{}, while waiting for {what}", self.describe())
        } else {
            format!("{} before {what} arrived", self.describe())
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
