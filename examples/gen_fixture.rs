//! Generates `collections/fixtures/btcusdt-trades.jsonl`: a deterministic recording in the
//! Binance trade-stream format (`wss://stream.binance.com:9443/ws/btcusdt@trade`), about 300
//! messages roughly 20 ms apart, in the replay format `wsrun record` writes.
//!
//! `cargo run --example gen_fixture [OUT]` (default: the fixture path in this repository).

use std::fmt::Write as _;
use std::path::PathBuf;

/// Number of trades in the recording.
const TRADES: u64 = 300;
/// Event time of the first trade (2024-11-24T14:53:20.123Z).
const FIRST_EVENT_MS: u64 = 1_732_460_000_123;
const FIRST_TRADE_ID: u64 = 4_221_990_001;
/// Starting price in cents: 97012.34 USDT.
const FIRST_PRICE_CENTS: u64 = 9_701_234;

/// A 64-bit linear congruential generator (Knuth's MMIX constants): tiny and reproducible.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u32
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + u64::from(self.next()) % (hi - lo + 1)
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.range(0, 99) < percent
    }
}

/// The price moves a few cents per trade, with the occasional larger jump.
fn next_price(rng: &mut Lcg, cents: u64) -> u64 {
    let step = if rng.chance(8) {
        rng.range(10, 60)
    } else {
        rng.range(0, 4)
    };
    // Drift back toward the start so the walk stays near 97000.
    let up = if cents > FIRST_PRICE_CENTS + 5_000 {
        rng.chance(35)
    } else if cents + 5_000 < FIRST_PRICE_CENTS {
        rng.chance(65)
    } else {
        rng.chance(50)
    };
    if up {
        cents + step
    } else {
        cents - step
    }
}

/// Quantity in units of 0.00001 BTC: mostly small retail fills, a few large ones.
fn next_quantity(rng: &mut Lcg) -> u64 {
    match rng.range(0, 99) {
        0..=59 => rng.range(5, 200),
        60..=89 => rng.range(200, 5_000),
        _ => rng.range(5_000, 80_000),
    }
}

fn generate() -> String {
    let mut rng = Lcg(0x5eed_b7c0_0000_0001);
    let mut out = String::new();
    let mut ms = 2u64;
    let mut price = FIRST_PRICE_CENTS;
    let mut maker = true;
    for i in 0..TRADES {
        let event = FIRST_EVENT_MS + ms;
        let trade_time = event - rng.range(0, 2);
        if rng.chance(30) {
            maker = !maker;
        }
        let qty = next_quantity(&mut rng);
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "{{\"ms\":{ms},\"json\":{{\"e\":\"trade\",\"E\":{event},\"s\":\"BTCUSDT\",\"t\":{id},\"p\":\"{pi}.{pf:02}000000\",\"q\":\"{qi}.{qf:05}000\",\"T\":{trade_time},\"m\":{maker},\"M\":true}}}}",
            id = FIRST_TRADE_ID + i,
            pi = price / 100,
            pf = price % 100,
            qi = qty / 100_000,
            qf = qty % 100_000,
        );
        ms += rng.range(12, 28);
        price = next_price(&mut rng, price);
    }
    out
}

fn main() -> std::io::Result<()> {
    let out = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("collections/fixtures/btcusdt-trades.jsonl")
        });
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&out, generate())?;
    eprintln!("wrote {TRADES} trades to {}", out.display());
    Ok(())
}
