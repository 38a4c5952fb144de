//! What the benchmark binaries share: the message they flood with.

/// The i-th message of the pool: a Binance trade, like those the README's quick start replays.
pub fn trade(i: usize) -> String {
    let t = 4_221_990_001u64 + i as u64;
    let time = 1_732_460_000_123u64 + (i as u64) * 7;
    let cents = 9_701_234u64 + ((i as u64 * 7919) % 5000);
    let qty = 1_000 + (i as u64 * 104_729) % 99_000_000;
    format!(
        r#"{{"e":"trade","E":{e},"s":"BTCUSDT","t":{t},"p":"{}.{:02}000000","q":"{}.{:08}","T":{tt},"m":{m},"M":true}}"#,
        cents / 100,
        cents % 100,
        qty / 100_000_000,
        qty % 100_000_000,
        e = time + 1,
        tt = time,
        m = i.is_multiple_of(2),
    )
}
