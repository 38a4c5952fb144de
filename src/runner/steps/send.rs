//! `send`: one text, JSON or binary frame, templates expanded.

use base64::Engine as _;
use tokio_tungstenite::tungstenite::Message;

use super::{fail, State, StepResult};
use crate::collection::{Payload, Send};

pub(super) async fn run(st: &mut State<'_>, conn: usize, send: &Send) -> StepResult {
    let message = match &send.payload {
        Payload::Text(t) => Message::text(t.expand(&st.scope).map_err(|e| fail(e.to_string()))?),
        Payload::Json(j) => {
            let v = j.expand(&st.scope).map_err(|e| fail(e.to_string()))?;
            Message::text(v.to_string())
        }
        Payload::Binary(b) => {
            let text = b.expand(&st.scope).map_err(|e| fail(e.to_string()))?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|e| fail(format!("`binary` is not valid base64: {e}")))?;
            Message::binary(bytes)
        }
    };
    st.conns[conn]
        .send(message, &mut st.rec)
        .await
        .map_err(fail)?;
    Ok(0)
}
