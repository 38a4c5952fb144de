//! `wsrun record` (being written).
use std::path::Path;
use std::time::Duration;
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RecordError(String);
pub async fn record(
    _url: &str,
    _out: &Path,
    _send: &[String],
    _count: Option<u64>,
    _duration: Option<Duration>,
    _progress: Option<&dyn Fn(u64, f64)>,
) -> Result<u64, RecordError> {
    Err(RecordError(
        "recording is not available in this build yet".into(),
    ))
}
