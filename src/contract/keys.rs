//! The keys each AsyncAPI object may hold (2.x and 3.0), so a misspelt one is an error instead of
//! a field that silently goes missing: a message whose `paylaod` is ignored accepts every payload.

use std::path::Path;

use serde_json::Value;

use super::asyncapi::Node;

/// The objects whose keys are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Channel,
    Operation,
    Reply,
    Message,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Channel => "channel",
            Kind::Operation => "operation",
            Kind::Reply => "operation reply",
            Kind::Message => "message",
        }
    }

    /// The fixed fields of the AsyncAPI specification (2.0 to 2.6 together, and 3.0).
    fn fields(self, v3: bool) -> &'static [&'static str] {
        match (self, v3) {
            (Kind::Channel, false) => &[
                "description",
                "servers",
                "subscribe",
                "publish",
                "parameters",
                "bindings",
            ],
            (Kind::Channel, true) => &[
                "address",
                "messages",
                "title",
                "summary",
                "description",
                "servers",
                "parameters",
                "tags",
                "externalDocs",
                "bindings",
            ],
            (Kind::Operation, false) => &[
                "operationId",
                "summary",
                "description",
                "security",
                "tags",
                "externalDocs",
                "bindings",
                "traits",
                "message",
            ],
            (Kind::Operation, true) => &[
                "action",
                "channel",
                "title",
                "summary",
                "description",
                "security",
                "tags",
                "externalDocs",
                "bindings",
                "traits",
                "messages",
                "reply",
            ],
            (Kind::Reply, _) => &["address", "channel", "messages"],
            (Kind::Message, false) => &[
                "headers",
                "payload",
                "correlationId",
                "schemaFormat",
                "contentType",
                "name",
                "title",
                "summary",
                "description",
                "tags",
                "externalDocs",
                "bindings",
                "examples",
                "traits",
                "messageId",
            ],
            (Kind::Message, true) => &[
                "headers",
                "payload",
                "correlationId",
                "contentType",
                "name",
                "title",
                "summary",
                "description",
                "tags",
                "externalDocs",
                "bindings",
                "examples",
                "traits",
            ],
        }
    }
}

/// Keys a `oneOf` list of messages may hold beside `oneOf`: documentation only, since anything
/// else (a `payload`) would be ignored.
const ONE_OF_FIELDS: &[&str] = &["oneOf", "title", "summary", "description"];

/// Checks that `value` (the object at `pointer`, called `name` in errors) is a map holding only
/// the keys its kind has (`x-` extensions and `$ref` are always allowed).
pub(super) fn check(kind: Kind, v3: bool, name: &str, node: &Node) -> Result<(), String> {
    let (pointer, value) = (node.pointer.as_str(), &node.value);
    let noun = kind.noun();
    let Some(map) = value.as_object() else {
        return Err(format!(
            "{noun} {name} at {} is {}, not a map",
            shown(&node.file, pointer, None),
            a_type(value)
        ));
    };
    let fields = if kind == Kind::Message && map.contains_key("oneOf") {
        ONE_OF_FIELDS
    } else {
        kind.fields(v3)
    };
    let unknown = map
        .keys()
        .find(|k| !k.starts_with("x-") && *k != "$ref" && !fields.contains(&k.as_str()));
    let Some(key) = unknown else {
        return Ok(());
    };
    let hint = crate::template::closest(key, fields.iter().copied())
        .or_else(|| {
            // `Payload`, `PAYLOAD`: the edit distance is too large, the intent is not.
            fields.iter().copied().find(|f| f.eq_ignore_ascii_case(key))
        })
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default();
    let listing = if fields == ONE_OF_FIELDS {
        "a message with `oneOf` holds only `oneOf` and a description".to_string()
    } else {
        format!("a{} {noun} has: {}", article(noun), fields.join(", "))
    };
    Err(format!(
        "unknown key `{key}` in {noun} {name}{hint} at {}; {listing}",
        shown(&node.file, pointer, Some(key))
    ))
}

/// `a string`, `an array`, `null`.
fn a_type(value: &Value) -> String {
    match crate::value::type_name(value) {
        "null" => "null".into(),
        t => format!("a{} {t}", article(t)),
    }
}

fn article(noun: &str) -> &'static str {
    if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "n"
    } else {
        ""
    }
}

/// Where the reader finds a place: `asyncapi.yaml:12, #/channels/trades` (the line of `key`
/// when given), or the pointer alone when the line cannot be found.
fn shown(file: &Path, pointer: &str, key: Option<&str>) -> String {
    let at = format!("#{pointer}");
    match super::locate::place(file, pointer, key) {
        Some(line) => format!("{line}, {at}"),
        None => at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::PathBuf;

    fn at(value: Value) -> Node {
        Node {
            file: PathBuf::from("/nowhere/doc.yaml"),
            pointer: "/m".into(),
            value,
        }
    }

    #[test]
    fn a_misspelt_key_is_named_with_did_you_mean() {
        let err = check(Kind::Message, false, "`trade`", &at(json!({"paylaod": {}}))).unwrap_err();
        assert!(
            err.starts_with("unknown key `paylaod` in message `trade` (did you mean `payload`?) at #/m; a message has: headers, payload,"),
            "{err}"
        );
    }

    #[test]
    fn extensions_refs_and_documented_keys_pass() {
        let ok = json!({"x-kafka": 1, "$ref": "#/a", "payload": {}, "name": "t"});
        assert_eq!(check(Kind::Message, true, "`t`", &at(ok)), Ok(()));
        let one_of = json!({"oneOf": [], "description": "either"});
        assert_eq!(check(Kind::Message, true, "`t`", &at(one_of)), Ok(()));
    }

    #[test]
    fn a_payload_beside_one_of_is_an_error() {
        let err = check(
            Kind::Message,
            true,
            "`t`",
            &at(json!({"oneOf": [], "payload": {}})),
        )
        .unwrap_err();
        assert!(err.contains("holds only `oneOf`"), "{err}");
    }

    #[test]
    fn a_message_that_is_not_a_map_is_an_error() {
        let err = check(Kind::Message, true, "`t`", &at(json!("#/x"))).unwrap_err();
        assert_eq!(err, "message `t` at #/m is a string, not a map");
    }
}
