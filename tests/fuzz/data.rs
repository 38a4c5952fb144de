//! Fuzz target: `data:` files. Any text read as CSV or JSONL never panics, and what loads is
//! rows of the right shape: every CSV row has exactly the header's columns, every JSONL row is
//! an object whose keys are all columns.

use serde_json::Value;
use wsrun::internals::parse_data as parse;

use super::fuzz;

#[test]
fn parsing_any_data_file_never_panics_and_rows_fit_the_columns() {
    fuzz("data", 0xA076_1D64_78BD_642F, |bytes| {
        let text = String::from_utf8_lossy(bytes);
        // Collections and their lines make odd CSV; commas and quotes make it odder.
        let csv = text.replace(": ", ",").replace('\'', "\"");
        for (input, jsonl) in [(text.as_ref(), true), (text.as_ref(), false), (&csv, false)] {
            let Ok((columns, rows)) = parse(input, jsonl) else {
                continue;
            };
            assert!(jsonl || !rows.is_empty(), "a CSV has rows");
            for row in &rows {
                let Value::Object(map) = row else {
                    panic!("a row that is not an object: {row}");
                };
                assert!(map.keys().all(|k| columns.contains(k)), "{row}");
                if !jsonl {
                    assert_eq!(map.len(), columns.len(), "{row}");
                }
            }
        }
    });
}
