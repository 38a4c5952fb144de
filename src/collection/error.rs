//! Load errors: a message with the file, line and column, and the source line underlined.

use std::fmt;
use std::path::{Path, PathBuf};

/// Why a collection could not be used (exit code 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    /// The offending source line, rendered with a caret.
    pub snippet: Option<String>,
}

impl std::error::Error for LoadError {}

impl LoadError {
    pub fn plain(path: &Path, message: impl Into<String>) -> Self {
        Self {
            path: path.to_path_buf(),
            line: None,
            column: None,
            message: message.into(),
            snippet: None,
        }
    }

    pub fn io(path: &Path, e: &std::io::Error) -> Self {
        let what = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            _ if path.is_dir() => "is a folder".to_string(),
            _ => e.to_string(),
        };
        Self::plain(path, format!("cannot read: {what}"))
    }

    /// An error at `line` (1-based; `column` 0 means the whole line).
    pub fn at(path: &Path, source: &str, line: usize, column: usize, message: String) -> Self {
        Self {
            path: path.to_path_buf(),
            line: Some(line).filter(|l| *l > 0),
            column: Some(column).filter(|c| *c > 0),
            message,
            snippet: snippet(source, line, column),
        }
    }

    pub fn from_yaml(path: &Path, source: &str, e: &serde_saphyr::Error) -> Self {
        let rendered = e.to_string();
        let first = rendered.lines().next().unwrap_or_default();
        let mut message = first.strip_prefix("error: ").unwrap_or(first).to_string();
        // serde-saphyr starts with "line L column C: "; we print the location ourselves.
        if message.starts_with("line ") {
            if let Some((_, rest)) = message.split_once(": ") {
                message = rest.to_string();
            }
        }
        message = add_hint(&plain_words(&message));
        match e.location() {
            Some(loc) if loc.line() > 0 => Self::at(
                path,
                source,
                loc.line() as usize,
                loc.column() as usize,
                message,
            ),
            _ => Self::plain(path, message),
        }
    }
}

/// A serde message in the collection's terms, with its "did you mean" (for a step read after
/// the YAML was, such as one whose keyword several protocols share).
pub(crate) fn hinted(message: &str) -> String {
    add_hint(&plain_words(message))
}

/// Rewrites library phrasing into the collection's terms.
fn plain_words(message: &str) -> String {
    if let Some(breach) = message.strip_prefix("budget breached: ") {
        // serde-saphyr names the limit as a Rust value, e.g. `Events { events: 1000001 }`.
        let limit = match breach.split_whitespace().next().unwrap_or_default() {
            "Depth" | "MaxDepth" => "nesting is too deep",
            "Aliases" | "MaxAliases" => "too many aliases",
            "Anchors" => "too many anchors",
            "Nodes" => "too many nodes",
            "Events" => "too many parser events",
            _ => "a size limit was reached",
        };
        return format!(
            "the YAML is too large once its aliases are expanded ({limit}); wsrun refuses alias bombs and very deep nesting"
        );
    }
    if message == "recursion limit exceeded" {
        return "nesting is too deep (more than 128 levels)".into();
    }
    let message = message.replace(", set DuplicateKeyPolicy in Options if acceptable", "");
    let message = message.replace("duplicate mapping key: ", "duplicate key: ");
    if message.contains("unknown variant `") {
        let is_step = crate::collection::step_keys()
            .iter()
            .all(|k| message.contains(k));
        let noun = if is_step { "step" } else { "value" };
        return message.replace("unknown variant", &format!("unknown {noun}"));
    }
    message
}

/// Adds "did you mean" to serde's "unknown field `x`, expected one of a, b" messages.
fn add_hint(message: &str) -> String {
    let Some(start) = message
        .find("unknown field `")
        .map(|i| i + "unknown field `".len())
        .or_else(|| {
            message
                .find("unknown step `")
                .map(|i| i + "unknown step `".len())
        })
        .or_else(|| {
            message
                .find("unknown value `")
                .map(|i| i + "unknown value `".len())
        })
    else {
        return message.to_string();
    };
    let Some(len) = message[start..].find('`') else {
        return message.to_string();
    };
    let word = &message[start..start + len];
    let expected = message
        .split_once("expected one of ")
        .map(|(_, rest)| rest)
        .or_else(|| message.split_once("expected ").map(|(_, rest)| rest))
        .unwrap_or_default();
    let candidates: Vec<String> = expected
        .split(", ")
        .map(|s| s.trim_matches(|c| c == '`' || c == ' ').to_string())
        .collect();
    match crate::template::closest(word, candidates.iter().map(String::as_str)) {
        Some(best) => format!("{message} (did you mean `{best}`?)"),
        None => message.to_string(),
    }
}

fn snippet(source: &str, line: usize, column: usize) -> Option<String> {
    let text = source.lines().nth(line.checked_sub(1)?)?;
    let width = line.to_string().len();
    let pad = " ".repeat(width);
    let text: String = text.chars().take(160).collect();
    let caret = if column > 160 {
        String::new()
    } else if column > 0 {
        format!("{}^", " ".repeat(column - 1))
    } else {
        let indent = text.len() - text.trim_start().len();
        format!(
            "{}{}",
            " ".repeat(indent),
            "^".repeat(text.trim().chars().count().max(1))
        )
    };
    Some(format!("{pad} |\n{line} | {text}\n{pad} | {caret}"))
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        write!(f, ": {}", self.message)?;
        if let Some(snippet) = &self.snippet {
            write!(f, "\n{snippet}")?;
        }
        Ok(())
    }
}
