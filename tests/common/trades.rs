//! Binance-format trades with faults on demand (a gap, a duplicate, a swapped pair, stale
//! times, a renamed field, any pace), for stream properties and contracts.

use std::sync::Arc;
use std::time::Duration;

use futures_util::SinkExt;
use serde_json::{json, Value};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::{accept, binance_trade, drain, serve, TestServer, FIRST_EVENT_MS, FIRST_TRADE_ID};

/// A fault [`faulty_trades`] puts into its stream. `at` counts messages from 1.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// From message `at` on, trade ids (`t`) are `missing` higher: a gap before message `at`.
    Gap { at: usize, missing: u64 },
    /// Message `at` has the trade id of the message before it.
    Duplicate { at: usize },
    /// Messages `at` and `at + 1` change places.
    Swap { at: usize },
    /// From message `at` on, event and trade times (`E`, `T`) are `by_ms` older.
    Stale { at: usize, by_ms: u64 },
    /// Message `at` calls its field `field` `to` instead.
    Rename {
        at: usize,
        field: String,
        to: String,
    },
}

/// What [`faulty_trades`] sends.
#[derive(Debug, Clone)]
pub struct Trades {
    pub count: usize,
    pub interval: Duration,
    /// Event times from the wall clock (for `fresh`); otherwise the fixed times of
    /// [`binance_trade`], so the output of a run does not vary.
    pub clock: bool,
    pub faults: Vec<Fault>,
}

/// The messages of a [`Trades`] stream, the clock read at `now_ms` for the `i`-th (0-based).
fn faulty_trade(spec: &Trades, i: usize, ids: &[u64], now_ms: u64) -> String {
    let mut trade: Value = serde_json::from_str(&binance_trade(i)).expect("a trade is JSON");
    let n = i + 1;
    let lag: u64 = spec
        .faults
        .iter()
        .map(|f| match f {
            Fault::Stale { at, by_ms } if n >= *at => *by_ms,
            _ => 0,
        })
        .sum();
    let event_ms = if spec.clock {
        now_ms
    } else {
        FIRST_EVENT_MS + 100 * i as u64
    } - lag;
    trade["E"] = json!(event_ms);
    trade["T"] = json!(event_ms - 1);
    trade["t"] = json!(ids[i]);
    for f in &spec.faults {
        if let Fault::Rename { at, field, to } = f {
            if *at == n {
                let map = trade.as_object_mut().expect("a trade is an object");
                // Keep the key's place, so the message reads as the server would send it.
                *map = std::mem::take(map)
                    .into_iter()
                    .map(|(k, v)| if &k == field { (to.clone(), v) } else { (k, v) })
                    .collect();
            }
        }
    }
    trade.to_string()
}

/// The trade id of each message, faults applied.
fn faulty_ids(spec: &Trades) -> Vec<u64> {
    let mut ids: Vec<u64> = (0..spec.count as u64).map(|i| FIRST_TRADE_ID + i).collect();
    for f in &spec.faults {
        match f {
            Fault::Gap { at, missing } => ids.iter_mut().skip(at - 1).for_each(|id| *id += missing),
            Fault::Duplicate { at } if *at >= 2 && *at <= ids.len() => ids[at - 1] = ids[at - 2],
            Fault::Swap { at } if *at < ids.len() => ids.swap(at - 1, *at),
            _ => {}
        }
    }
    ids
}

/// Streams Binance-format trades with the faults asked for, `interval` apart (the first at
/// once), then stays open.
pub fn faulty_trades(spec: Trades) -> TestServer {
    let spec = Arc::new(spec);
    serve(move |tcp| {
        let spec = Arc::clone(&spec);
        async move {
            let Some(mut ws) = accept(tcp).await else {
                return;
            };
            let ids = faulty_ids(&spec);
            let mut next_at = Instant::now();
            for i in 0..spec.count {
                tokio::time::sleep_until(next_at).await;
                let now_ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as u64)
                    .unwrap_or(0);
                let text = faulty_trade(&spec, i, &ids, now_ms);
                if ws.send(Message::text(text)).await.is_err() {
                    return;
                }
                next_at += spec.interval;
            }
            drain(ws).await;
        }
    })
}
