//! Misspelt JSON Schema keywords. JSON Schema ignores a keyword it does not know, so
//! `requried: [p]` or `Type: object` would leave a schema that checks nothing there; a key close
//! to a keyword that constrains is refused instead. Other unknown keys (annotations, vendor
//! keywords) are left alone, as the specification allows them.

use serde_json::{Map, Value};

/// Every keyword of drafts 4 to 2020-12, and the annotations AsyncAPI and OpenAPI schemas add.
const KNOWN: &[&str] = &[
    "$schema",
    "$id",
    "id",
    "$ref",
    "$anchor",
    "$dynamicRef",
    "$dynamicAnchor",
    "$recursiveRef",
    "$recursiveAnchor",
    "$vocabulary",
    "$comment",
    "$defs",
    "definitions",
    "title",
    "description",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
    "examples",
    "example",
    "contentEncoding",
    "contentMediaType",
    "contentSchema",
    "discriminator",
    "externalDocs",
    "nullable",
    "xml",
];

/// The keywords that constrain a value: a typo of one of them is refused.
const CONSTRAINTS: &[&str] = &[
    "type",
    "enum",
    "const",
    "multipleOf",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "maxContains",
    "minContains",
    "maxProperties",
    "minProperties",
    "required",
    "dependentRequired",
    "dependencies",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "dependentSchemas",
    "prefixItems",
    "items",
    "additionalItems",
    "contains",
    "properties",
    "patternProperties",
    "additionalProperties",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "format",
];

/// The first key of a schema object that looks like a misspelt constraint, and the keyword it
/// is close to.
pub(super) fn misspelt(schema: &Map<String, Value>) -> Option<(&str, &'static str)> {
    schema.keys().find_map(|key| {
        if key.starts_with("x-")
            || KNOWN.contains(&key.as_str())
            || CONSTRAINTS.contains(&key.as_str())
        {
            return None;
        }
        let close = crate::template::closest(key, CONSTRAINTS.iter().copied()).or_else(|| {
            CONSTRAINTS
                .iter()
                .copied()
                .find(|c| c.eq_ignore_ascii_case(key))
        })?;
        Some((key.as_str(), close))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn first(v: Value) -> Option<(String, &'static str)> {
        let map = v.as_object().cloned().unwrap_or_default();
        misspelt(&map).map(|(k, c)| (k.to_string(), c))
    }

    #[test]
    fn typos_of_constraints_are_found() {
        assert_eq!(
            first(json!({"requried": ["p"]})),
            Some(("requried".into(), "required"))
        );
        assert_eq!(
            first(json!({"Type": "object"})),
            Some(("Type".into(), "type"))
        );
        assert_eq!(
            first(json!({"proprties": {}})),
            Some(("proprties".into(), "properties"))
        );
    }

    #[test]
    fn keywords_annotations_and_unrelated_keys_pass() {
        let ok = json!({"type": "object", "example": {}, "examples": [], "x-unit": "ms",
            "description": "d", "name": "n", "units": "ms", "deprecated": true});
        assert_eq!(first(ok), None);
    }
}
