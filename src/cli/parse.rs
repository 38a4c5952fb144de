//! Value parsers for flags that several subcommands share (`K=V`, durations).

use crate::collection::Dur;

pub(super) fn parse_kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("expected K=V, got `{s}`"))
}

pub(super) fn parse_dur(s: &str) -> Result<Dur, String> {
    crate::duration::parse_duration(s).map(Dur)
}
