//! The client's opening handshake (RFC 6455 §4.1), done here rather than by tungstenite so
//! that the connection's read buffer is the size asked for: tungstenite's own handshake reads
//! into a 4 KiB buffer that it then keeps as the connection's read buffer for life, most of a
//! held load user's memory (bench/RESULTS.md, "Memory per held connection").
//!
//! The request is tungstenite's (`generate_request`), the response is checked as tungstenite
//! checks it, and every failure is the `tungstenite::Error` tungstenite would give, so the
//! sentences that explain them (`open::failure`) do not change.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::error::{ProtocolError, SubProtocolError};
use tokio_tungstenite::tungstenite::handshake::client::{generate_request, Request, Response};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Error};
use tokio_tungstenite::WebSocketStream;

use super::Ws;
use crate::runner::stream::Stream;
use crate::runner::wire::Wire;

/// A response head longer than this is refused, as tungstenite refuses it.
const MAX_HEAD: usize = 64 << 10;

/// At most this many headers in the response (tungstenite's limit).
const MAX_HEADERS: usize = 124;

/// Sends `request` over `wire`, reads and checks the server's answer, and starts the
/// WebSocket with a read buffer of `config.read_buffer_size`.
pub(super) async fn upgrade(
    request: Request,
    mut wire: Wire<Stream>,
    config: WebSocketConfig,
) -> Result<(Ws, Response), Error> {
    let asked = requested_subprotocols(&request)?;
    let (head, key) = generate_request(request)?;
    wire.write_all(&head).await?;
    wire.flush().await?;
    let (response, tail) = read_response(&mut wire).await?;
    let response = verify(
        response,
        &derive_accept_key(key.as_bytes()),
        asked.as_deref(),
    )
    .map_err(|e| match e {
        Error::Http(mut refused) => {
            *refused.body_mut() = Some(tail.clone());
            Error::Http(refused)
        }
        other => other,
    })?;
    let ws = WebSocketStream::from_partially_read(wire, tail, Role::Client, Some(config)).await;
    Ok((ws, response))
}

/// The subprotocols the request asks for, if any.
fn requested_subprotocols(request: &Request) -> Result<Option<Vec<String>>, Error> {
    let Some(value) = request.headers().get("Sec-WebSocket-Protocol") else {
        return Ok(None);
    };
    let list = value.to_str()?.split(',').map(|s| s.trim().to_string());
    Ok(Some(list.collect()))
}

/// Reads the response head. The wire stops a read at the end of the head (frames after it wait
/// for the agreed extensions), so what follows is rarely more than nothing.
async fn read_response(wire: &mut Wire<Stream>) -> Result<(Response, Vec<u8>), Error> {
    let mut buf = Vec::with_capacity(512);
    loop {
        if buf.len() >= MAX_HEAD {
            return Err(Error::AttackAttempt);
        }
        if wire.read_buf(&mut buf).await? == 0 {
            return Err(Error::Protocol(ProtocolError::HandshakeIncomplete));
        }
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Response::new(&mut headers);
        if let httparse::Status::Complete(size) = parsed.parse(&buf)? {
            let response = from_httparse(&parsed)?;
            return Ok((response, buf[size..].to_vec()));
        }
    }
}

fn from_httparse(raw: &httparse::Response<'_, '_>) -> Result<Response, Error> {
    // httparse fills both in a complete parse.
    if raw.version.unwrap_or(0) < 1 {
        return Err(Error::Protocol(ProtocolError::WrongHttpVersion));
    }
    let mut headers = HeaderMap::new();
    for h in raw.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes())?;
        headers.append(name, HeaderValue::from_bytes(h.value)?);
    }
    let mut response = Response::new(None);
    *response.status_mut() = StatusCode::from_u16(raw.code.unwrap_or(0))?;
    *response.headers_mut() = headers;
    *response.version_mut() = tungstenite::http::Version::HTTP_11;
    Ok(response)
}

/// The checks of RFC 6455 §4.1 on the server's response, in tungstenite's order and with its
/// errors (`Connection` read as a list of tokens, as the RFC says).
fn verify(response: Response, accept: &str, asked: Option<&[String]>) -> Result<Response, Error> {
    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
        return Err(Error::Http(Box::new(response)));
    }
    let headers = response.headers();
    let is = |name: &str, want: &str| {
        headers
            .get(name)
            .and_then(|h| h.to_str().ok())
            .is_some_and(|h| h.eq_ignore_ascii_case(want))
    };
    if !is("Upgrade", "websocket") {
        return Err(Error::Protocol(
            ProtocolError::MissingUpgradeWebSocketHeader,
        ));
    }
    // RFC 6455 §4.1: a token of the header ("keep-alive, Upgrade" is fine), where tungstenite
    // wants the whole value.
    let connection_upgrade = headers
        .get("Connection")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| {
            h.split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("Upgrade"))
        });
    if !connection_upgrade {
        return Err(Error::Protocol(
            ProtocolError::MissingConnectionUpgradeHeader,
        ));
    }
    if headers
        .get("Sec-WebSocket-Accept")
        .is_none_or(|h| h != accept)
    {
        return Err(Error::Protocol(
            ProtocolError::SecWebSocketAcceptKeyMismatch,
        ));
    }
    let agreed = headers.get("Sec-WebSocket-Protocol");
    let refused = match (agreed, asked) {
        (None, Some(_)) => Some(SubProtocolError::NoSubProtocol),
        (Some(_), None) => Some(SubProtocolError::ServerSentSubProtocolNoneRequested),
        (Some(agreed), Some(asked)) if !asked.iter().any(|a| agreed == a.as_str()) => {
            Some(SubProtocolError::InvalidSubProtocol)
        }
        _ => None,
    };
    match refused {
        Some(e) => Err(Error::Protocol(
            ProtocolError::SecWebSocketSubProtocolError(e),
        )),
        None => Ok(response),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(connection: &str, accept: &str) -> Response {
        let mut r = Response::new(None);
        *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let h = r.headers_mut();
        h.insert("Upgrade", HeaderValue::from_static("websocket"));
        h.insert("Connection", HeaderValue::from_str(connection).unwrap());
        h.insert(
            "Sec-WebSocket-Accept",
            HeaderValue::from_str(accept).unwrap(),
        );
        r
    }

    #[test]
    fn connection_is_a_list_of_tokens() {
        assert!(verify(response("keep-alive, upgrade", "k"), "k", None).is_ok());
        assert!(matches!(
            verify(response("keep-alive", "k"), "k", None),
            Err(Error::Protocol(
                ProtocolError::MissingConnectionUpgradeHeader
            ))
        ));
    }

    #[test]
    fn a_wrong_accept_key_is_tungstenites_error() {
        assert!(matches!(
            verify(response("Upgrade", "other"), "k", None),
            Err(Error::Protocol(
                ProtocolError::SecWebSocketAcceptKeyMismatch
            ))
        ));
    }
}
