//! `protocol: stomp` (STOMP 1.2 over WebSocket): asks for the subprotocols `v12.stomp`,
//! `v11.stomp` and `v10.stomp`, sends `CONNECT` and waits for `CONNECTED` (an `ERROR` instead
//! fails the connection with the server's words), absorbs the server's heart-beats and sends
//! its own as negotiated, and hands every other frame to the steps as an envelope:
//! `{"command", "headers", "body", "json"?}` ([`frame::Frame::envelope`]).

pub mod frame;
pub(crate) mod mock;
pub(crate) mod run;
pub mod yaml;

/// Its reference page.
pub const DOCS: &str = "docs/protocols/stomp.md";

/// Its own steps (and `send` with a `destination`, see `yaml::StompSend`).
pub const STEPS: &[&str] = &["subscribe", "unsubscribe", "ack", "nack"];

/// The client side, `stomp: {host, login, passcode, heartbeat}` expanded.
pub fn client(o: &StompOptions, scope: &dyn Lookup) -> Result<Box<dyn Protocol>, String> {
    Ok(Box::new(Stomp::new(o, scope)?))
}

/// A mock's side: a broker shared by its clients.
pub(crate) fn mock(
    def: &crate::collection::MockDef,
) -> Result<Box<dyn crate::mock::protocol::Speaker>, String> {
    Ok(Box::new(mock::Broker::compile(def)?))
}

use std::cell::OnceCell;
use std::time::Duration;

use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use super::Incoming;
use super::{Decoded, Payload, Protocol};
use crate::template::{Lookup, Template};
use frame::{Frame, Parsed};
use yaml::StompOptions;

/// The subprotocols a STOMP client asks for, most wanted first.
pub const SUBPROTOCOLS: [&str; 3] = ["v12.stomp", "v11.stomp", "v10.stomp"];

/// The one version wsrun speaks.
pub const VERSION: &str = "1.2";

/// How much of an `ERROR` body a failure quotes.
const BODY_PREVIEW: usize = 300;

/// One STOMP connection.
pub struct Stomp {
    host: Option<String>,
    /// The URL's host, the default `host` header, known once `prepare` has seen the URL.
    url_host: OnceCell<String>,
    login: Option<String>,
    passcode: Option<String>,
    /// `[cx, cy]`: how often we can send heart-beats, and want to receive them (ms, 0: never).
    heartbeat: [u64; 2],
    connected: bool,
    /// How often we send a heart-beat, as negotiated in `CONNECTED`.
    send_every: Option<Duration>,
}

impl Stomp {
    /// The connection `stomp:` describes, its templates expanded with `scope`.
    pub fn new(options: &StompOptions, scope: &dyn Lookup) -> Result<Self, String> {
        let expand = |key: &str, t: &Option<Template>| -> Result<Option<String>, String> {
            let Some(t) = t else { return Ok(None) };
            let value = t.expand(scope).map_err(|e| e.to_string())?;
            // CONNECT headers are not escaped: a line break would end the header early.
            if value.contains(['\n', '\r']) {
                return Err(format!("`stomp.{key}` cannot hold a line break"));
            }
            Ok(Some(value))
        };
        Ok(Self {
            host: expand("host", &options.host)?,
            url_host: OnceCell::new(),
            login: expand("login", &options.login)?,
            passcode: expand("passcode", &options.passcode)?,
            heartbeat: options.heartbeat.unwrap_or([0, 0]),
            connected: false,
            send_every: None,
        })
    }

    /// `CONNECTED`: the version must be 1.2; the heart-beats are negotiated (STOMP 1.2,
    /// "Heart-beating"): we send every max(cx, sy) when both are above zero.
    fn connected(&mut self, frame: &Frame) -> Result<(), String> {
        match frame.get("version") {
            Some(VERSION) => {}
            Some(other) => {
                return Err(format!(
                    "the server answered CONNECT with version {other}, but wsrun speaks STOMP {VERSION} only"
                ))
            }
            None => {
                return Err(format!(
                    "the server answered CONNECT without a version (STOMP 1.0), but wsrun speaks STOMP {VERSION} only"
                ))
            }
        }
        let [_, sy] = match frame.get("heart-beat") {
            None => [0, 0],
            Some(hb) => parse_heartbeat(hb).ok_or_else(|| {
                format!("the server's CONNECTED has `heart-beat:{hb}`, not two numbers `sx,sy`")
            })?,
        };
        let cx = self.heartbeat[0];
        if cx > 0 && sy > 0 {
            self.send_every = Some(Duration::from_millis(cx.max(sy)));
        }
        self.connected = true;
        Ok(())
    }

    /// An `ERROR` in answer to `CONNECT`, in words; when it is about the host and `host` was
    /// not given, the words say which host was sent.
    fn refused(&self, frame: &Frame) -> String {
        let mut why = format!(
            "the server refused the STOMP connection: {}",
            describe_error(&frame.envelope())
        );
        if self.host.is_none() && why.to_lowercase().contains("host") {
            why.push_str(&format!(
                " (`stomp.host` is not given, so CONNECT sent `host:{}`, the URL's host; RabbitMQ reads `host` as a virtual host: `stomp: {{host: /}}`)",
                self.url_host.get().map_or("localhost", String::as_str)
            ));
        }
        why
    }
}

impl Protocol for Stomp {
    /// A MESSAGE's body (parsed when it is JSON); RECEIPT and ERROR frames are the protocol's.
    fn payload(&self, envelope: &Value) -> Payload {
        if envelope["command"] != "MESSAGE" {
            return Payload::None;
        }
        match envelope.get("json") {
            Some(json) => Payload::Json(json.clone()),
            None => Payload::Text(envelope["body"].as_str().unwrap_or_default().to_string()),
        }
    }

    fn name(&self) -> &'static str {
        "stomp"
    }

    fn prepare(&self, url: &mut String, subprotocols: &mut Vec<String>) -> Result<(), String> {
        for p in SUBPROTOCOLS {
            if !subprotocols.iter().any(|s| s == p) {
                subprotocols.push(p.to_string());
            }
        }
        let host = url_host(url).unwrap_or("localhost").to_string();
        let _ = self.url_host.set(host);
        Ok(())
    }

    fn greet(&mut self, out: &mut Vec<Message>) {
        let host = self
            .host
            .clone()
            .or_else(|| self.url_host.get().cloned())
            .unwrap_or_else(|| "localhost".into());
        let mut connect = Frame::new("CONNECT")
            .header("accept-version", VERSION)
            .header("host", host);
        if let Some(login) = &self.login {
            connect = connect.header("login", login.clone());
        }
        if let Some(passcode) = &self.passcode {
            connect = connect.header("passcode", passcode.clone());
        }
        let [cx, cy] = self.heartbeat;
        connect = connect.header("heart-beat", format!("{cx},{cy}"));
        out.push(to_message(&connect));
    }

    fn pending(&self) -> Option<String> {
        (!self.connected).then(|| "CONNECTED".to_string())
    }

    fn decode(&mut self, frame: Incoming, _out: &mut Vec<Message>) -> Decoded {
        let parsed = match &frame {
            Incoming::Text(t) => frame::parse(t.as_bytes()),
            Incoming::Binary(b) => frame::parse(b),
            Incoming::Envelope(_) => return Decoded::Message(frame),
        };
        let frame = match parsed {
            Ok(Parsed::HeartBeat) => return Decoded::Absorbed,
            Ok(Parsed::Frame(f)) => f,
            Err(why) => {
                return Decoded::Failed(format!("the server sent a broken STOMP frame: {why}"))
            }
        };
        if self.connected {
            return Decoded::Message(Incoming::Envelope(frame.envelope()));
        }
        match frame.command.as_str() {
            "CONNECTED" => match self.connected(&frame) {
                Ok(()) => Decoded::Absorbed,
                Err(why) => Decoded::Failed(why),
            },
            "ERROR" => Decoded::Failed(self.refused(&frame)),
            other => Decoded::Failed(format!(
                "the server sent {other} before CONNECTED, in answer to CONNECT"
            )),
        }
    }

    /// An envelope (`{command, headers, body}`) as one text frame.
    fn sends_json_as_is(&self) -> bool {
        false
    }

    fn encode(&mut self, envelope: Value, out: &mut Vec<Message>) -> Result<(), String> {
        out.push(to_message(&Frame::from_envelope(&envelope)?));
        Ok(())
    }

    fn tick_every(&self) -> Option<Duration> {
        self.send_every
    }

    /// A heart-beat: one end of line.
    fn tick(&mut self, out: &mut Vec<Message>) {
        out.push(Message::text("\n"));
    }

    fn farewell(&mut self, out: &mut Vec<Message>) {
        if self.connected {
            out.push(to_message(&Frame::new("DISCONNECT")));
        }
    }
}

/// A frame as a WebSocket message: text when it is UTF-8 (always, for frames built from
/// envelopes), else binary.
pub fn to_message(frame: &Frame) -> Message {
    match String::from_utf8(frame.encode()) {
        Ok(text) => Message::text(text),
        Err(e) => Message::binary(e.into_bytes()),
    }
}

/// `sx,sy` → `[sx, sy]`.
pub fn parse_heartbeat(text: &str) -> Option<[u64; 2]> {
    let (x, y) = text.split_once(',')?;
    Some([x.trim().parse().ok()?, y.trim().parse().ok()?])
}

/// An `ERROR` envelope in words: `ERROR "Bad CONNECT": Access refused for user 'x'`.
pub fn describe_error(envelope: &Value) -> String {
    let message = match envelope["headers"].get("message").and_then(Value::as_str) {
        Some(m) => format!("ERROR \"{m}\""),
        None => "ERROR (without a `message` header)".into(),
    };
    match envelope["body"].as_str().map(str::trim) {
        None | Some("") => message,
        Some(body) => {
            let body = body.split_whitespace().collect::<Vec<_>>().join(" ");
            format!(
                "{message}: {}",
                crate::report::truncate(&body, BODY_PREVIEW)
            )
        }
    }
}

/// The host of a `ws://host:port/path` URL.
fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        host_port.split(':').next()?
    };
    (!host.is_empty()).then_some(host)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::template::Scope;

    fn stomp(heartbeat: [u64; 2]) -> Stomp {
        let options = StompOptions {
            login: Some(Template::parse("guest").unwrap()),
            heartbeat: Some(heartbeat),
            ..StompOptions::default()
        };
        Stomp::new(&options, &Scope::default()).unwrap()
    }

    fn text(frame: &str) -> Incoming {
        Incoming::Text(frame.to_string().into())
    }

    #[test]
    fn it_asks_for_the_stomp_subprotocols_and_connects_to_the_urls_host() {
        let mut s = stomp([0, 0]);
        let mut url = "ws://broker.example:15674/ws".to_string();
        let mut subprotocols = vec!["v12.stomp".to_string()];
        s.prepare(&mut url, &mut subprotocols).unwrap();
        assert_eq!(subprotocols, ["v12.stomp", "v11.stomp", "v10.stomp"]);
        let mut out = Vec::new();
        s.greet(&mut out);
        assert_eq!(
            out[0].to_text().unwrap(),
            "CONNECT\naccept-version:1.2\nhost:broker.example\nlogin:guest\nheart-beat:0,0\n\n\0"
        );
        assert_eq!(s.pending().as_deref(), Some("CONNECTED"));
    }

    #[test]
    fn connected_ends_the_handshake_and_negotiates_heart_beats() {
        let mut s = stomp([100, 0]);
        let mut out = Vec::new();
        let d = s.decode(
            text("CONNECTED\nversion:1.2\nheart-beat:0,250\n\n\0"),
            &mut out,
        );
        assert!(matches!(d, Decoded::Absorbed));
        assert_eq!(s.pending(), None);
        assert_eq!(s.tick_every(), Some(Duration::from_millis(250)));
        assert!(matches!(s.decode(text("\n"), &mut out), Decoded::Absorbed));
        s.tick(&mut out);
        assert_eq!(out[0].to_text().unwrap(), "\n");
    }

    #[test]
    fn no_heart_beats_unless_both_sides_want_them() {
        let mut s = stomp([100, 100]);
        s.decode(
            text("CONNECTED\nversion:1.2\nheart-beat:100,0\n\n\0"),
            &mut Vec::new(),
        );
        assert_eq!(s.tick_every(), None);
    }

    #[test]
    fn an_error_instead_of_connected_fails_naming_its_message_and_body() {
        let mut s = stomp([0, 0]);
        let d = s.decode(
            text("ERROR\nmessage:Bad CONNECT\n\nAccess refused for user 'x'\n\0"),
            &mut Vec::new(),
        );
        let Decoded::Failed(why) = d else {
            panic!("{d:?}")
        };
        assert_eq!(
            why,
            "the server refused the STOMP connection: ERROR \"Bad CONNECT\": Access refused for user 'x'"
        );
    }

    #[test]
    fn another_version_than_1_2_fails_the_handshake() {
        let mut s = stomp([0, 0]);
        let d = s.decode(text("CONNECTED\nversion:1.1\n\n\0"), &mut Vec::new());
        assert!(matches!(d, Decoded::Failed(why) if why.contains("version 1.1")));
    }

    #[test]
    fn frames_after_connected_reach_the_steps_as_envelopes() {
        let mut s = stomp([0, 0]);
        s.decode(text("CONNECTED\nversion:1.2\n\n\0"), &mut Vec::new());
        let d = s.decode(
            text("MESSAGE\ndestination:/q\n\n{\"n\":1}\0"),
            &mut Vec::new(),
        );
        let Decoded::Message(Incoming::Envelope(v)) = d else {
            panic!("{d:?}")
        };
        assert_eq!(v["json"], json!({"n": 1}));
        let mut out = Vec::new();
        s.farewell(&mut out);
        assert_eq!(out[0].to_text().unwrap(), "DISCONNECT\n\n\0");
    }

    #[test]
    fn the_url_host_is_found_in_its_authority() {
        assert_eq!(url_host("ws://h:1/x"), Some("h"));
        assert_eq!(url_host("wss://u:p@h/x"), Some("h"));
        assert_eq!(url_host("ws://[::1]:80/"), Some("::1"));
        assert_eq!(url_host("ws://h?x"), Some("h"));
    }
}
