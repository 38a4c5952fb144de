//! `data: FILE.csv | FILE.jsonl` on a request: rows that users and iterations take in turn as
//! `{{ row.COLUMN }}`. CSV (RFC 4180: a header row, quoted fields) gives text values; JSONL one
//! object per line, its values keeping their JSON types. Read once, when the collection loads.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};
use serde_saphyr::Spanned;

use crate::template::{closest, VarRef};

/// A data file is read whole: past this size it is refused rather than held in memory.
pub const MAX_DATA_BYTES: u64 = 64 * 1024 * 1024;

/// A request's data rows.
#[derive(Debug, Clone)]
pub struct Data {
    /// The file as the collection names it.
    pub file: String,
    /// The line of `data:`.
    pub line: usize,
    /// The column names: the CSV header, or every key of the JSONL objects in order of first use.
    pub columns: Vec<String>,
    /// At least one row, each an object.
    pub rows: Arc<Vec<Value>>,
}

impl Data {
    /// Reads the file `data:` names (relative to `dir`); an error is at the `data:` line.
    pub fn load(file: Spanned<String>, dir: &Path) -> Result<Self, (usize, String)> {
        let line = file.referenced.line() as usize;
        let path = dir.join(&file.value);
        let (columns, rows) = read(&path).map_err(|why| {
            (
                line,
                format!("cannot use the data file {}: {why}", path.display()),
            )
        })?;
        Ok(Self {
            file: file.value,
            line,
            columns,
            rows: Arc::new(rows),
        })
    }

    /// `{{ row.COLUMN }}` names a column the file has; `data` is the request's.
    pub fn check_column(data: Option<&Self>, var: &VarRef) -> Result<(), String> {
        let Some(data) = data else {
            return Err(
                "unknown variable `row`: `row` is a line of the request's data file (add `data: FILE.csv` or `FILE.jsonl` to the request)"
                    .into(),
            );
        };
        let Some(column) = var.path.first() else {
            return Ok(());
        };
        if data.columns.contains(column) {
            return Ok(());
        }
        let hint = match closest(column, data.columns.iter().map(String::as_str)) {
            Some(c) => format!(" (did you mean `row.{c}`?)"),
            None => format!(" (columns: {})", data.columns.join(", ")),
        };
        Err(format!(
            "`{var}`: the data file {} has no column `{column}`{hint}",
            data.file
        ))
    }

    /// Row `n mod rows`: user `n`'s, or iteration `n`'s.
    pub fn row(&self, n: u64) -> Value {
        let len = self.rows.len().max(1) as u64;
        self.rows
            .get((n % len) as usize)
            .cloned()
            .unwrap_or(Value::Null)
    }
}

/// Reads `path` (CSV unless it ends in `.jsonl`); the error says what is wrong and where in it.
pub fn read(path: &Path) -> Result<(Vec<String>, Vec<Value>), String> {
    let size = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        _ => e.to_string(),
    })?;
    if size.is_dir() {
        return Err("it is a folder".into());
    }
    if size.len() > MAX_DATA_BYTES {
        return Err(format!(
            "it has {} bytes, over the {} MiB a data file may hold",
            size.len(),
            MAX_DATA_BYTES / 1024 / 1024
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let text = String::from_utf8(bytes).map_err(|e| {
        format!(
            "it is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })?;
    parse(&text, path.extension().is_some_and(|e| e == "jsonl"))
}

/// The columns and rows of a data file's text: JSONL when `jsonl`, else CSV.
pub fn parse(text: &str, jsonl: bool) -> Result<(Vec<String>, Vec<Value>), String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err("the file is empty".into());
    }
    if jsonl {
        jsonl_rows(text)
    } else {
        csv_rows(text)
    }
}

fn jsonl_rows(text: &str) -> Result<(Vec<String>, Vec<Value>), String> {
    let mut columns: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: Value =
            serde_json::from_str(line).map_err(|e| format!("line {}: not JSON ({e})", i + 1))?;
        let Value::Object(map) = value else {
            return Err(format!(
                "line {}: {} is not an object: each line is one row, a map of column to value",
                i + 1,
                crate::value::type_name(&value)
            ));
        };
        for key in map.keys() {
            if !columns.contains(key) {
                columns.push(key.clone());
            }
        }
        rows.push(Value::Object(map));
    }
    Ok((columns, rows))
}

fn csv_rows(text: &str) -> Result<(Vec<String>, Vec<Value>), String> {
    let mut records = csv_records(text)?.into_iter();
    let Some((_, header)) = records.next() else {
        return Err("the file is empty".into());
    };
    if let Some(dup) = header
        .iter()
        .enumerate()
        .find_map(|(i, h)| header[..i].contains(h).then_some(h))
    {
        return Err(format!("line 1: the column `{dup}` appears twice"));
    }
    let mut rows = Vec::new();
    for (line, fields) in records {
        if fields.len() != header.len() {
            return Err(format!(
                "line {line}: {} field{}, but the header has {}",
                fields.len(),
                if fields.len() == 1 { "" } else { "s" },
                header.len()
            ));
        }
        let row: Map<String, Value> = header
            .iter()
            .cloned()
            .zip(fields.into_iter().map(Value::String))
            .collect();
        rows.push(Value::Object(row));
    }
    if rows.is_empty() {
        return Err("the file has a header but no rows".into());
    }
    Ok((header, rows))
}

/// RFC 4180 records with the line each starts on: fields split at commas, a field in double
/// quotes may hold commas, line breaks and `""` for a quote; CRLF or LF ends a record; blank
/// lines are skipped.
fn csv_records(text: &str) -> Result<Vec<(usize, Vec<String>)>, String> {
    let mut records = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while chars.peek().is_some() {
        let start = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        loop {
            match chars.next() {
                None => break,
                Some('"') if field.is_empty() && !quoted => {
                    quoted = true;
                    loop {
                        match chars.next() {
                            None => {
                                return Err(format!("line {start}: a quoted field is not closed"))
                            }
                            Some('"') if chars.peek() == Some(&'"') => {
                                chars.next();
                                field.push('"');
                            }
                            Some('"') => break,
                            Some(c) => {
                                line += usize::from(c == '\n');
                                field.push(c);
                            }
                        }
                    }
                    if !matches!(chars.peek(), None | Some(',' | '\r' | '\n')) {
                        return Err(format!(
                            "line {line}: text after a closing quote (write a quote inside a quoted field as `\"\"`)"
                        ));
                    }
                }
                Some(',') => {
                    fields.push(std::mem::take(&mut field));
                    quoted = false;
                }
                Some('\r') if chars.peek() == Some(&'\n') => {}
                Some('\n') => {
                    line += 1;
                    break;
                }
                Some(c) => field.push(c),
            }
        }
        fields.push(field);
        if !(fields.len() == 1 && fields[0].is_empty() && !quoted) {
            records.push((start, fields));
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_follows_rfc_4180_quoting() {
        let text = "id,note\r\n1,\"a, \"\"quoted\"\"\nline\"\r\n\n2,\r\n";
        let records = csv_records(text).map_err(|e| e.to_string());
        assert_eq!(
            records,
            Ok(vec![
                (1, vec!["id".to_string(), "note".into()]),
                (2, vec!["1".to_string(), "a, \"quoted\"\nline".into()]),
                (5, vec!["2".to_string(), String::new()]),
            ])
        );
    }

    #[test]
    fn bad_csv_is_located() {
        assert_eq!(
            csv_rows("a,b\n1,2\n3\n").map(|_| ()),
            Err("line 3: 1 field, but the header has 2".into())
        );
        assert_eq!(
            csv_rows("a,b\n").map(|_| ()),
            Err("the file has a header but no rows".into())
        );
        assert_eq!(
            csv_rows("a\n\"x\n").map(|_| ()),
            Err("line 2: a quoted field is not closed".into())
        );
        assert_eq!(
            csv_rows("a,a\n1,2\n").map(|_| ()),
            Err("line 1: the column `a` appears twice".into())
        );
    }

    #[test]
    fn jsonl_rows_keep_their_types_and_must_be_objects() {
        let (columns, rows) =
            jsonl_rows("{\"n\": 1, \"s\": \"x\"}\n\n{\"t\": true}\n").unwrap_or_default();
        assert_eq!(columns, ["n", "s", "t"]);
        assert_eq!(rows[0]["n"], Value::from(1));
        assert_eq!(
            jsonl_rows("{}\n[1]\n").map(|_| ()),
            Err(
                "line 2: array is not an object: each line is one row, a map of column to value"
                    .into()
            )
        );
    }
}
