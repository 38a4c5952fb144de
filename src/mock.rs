//! Mock WebSocket servers defined in a collection's `mocks:` (SPEC §6).
// Replaced by the full implementation (replay, echo, scripted replies) being written now.

use std::path::Path;

use crate::collection::MockDef;

pub struct MockServer {
    url: String,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MockError(String);

impl MockServer {
    pub async fn start(
        name: &str,
        _def: &MockDef,
        _base: &Path,
        _port: u16,
    ) -> Result<Self, MockError> {
        Err(MockError(format!(
            "mock `{name}`: mocks are not available in this build yet"
        )))
    }
    pub fn url(&self) -> &str {
        &self.url
    }
}
