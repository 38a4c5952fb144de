//! The shape of messages and the body a snapshot stores: redaction, pretty key-sorted JSON, and
//! shapes merged over several messages (optional fields marked `?`, several types joined by `|`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// Replaces every node the paths select with `"[redacted]"`.
pub fn redact(value: &mut Value, paths: &[crate::jsonpath::JsonPath]) {
    for path in paths {
        for pointer in path.pointers(value) {
            if let Some(node) = value.pointer_mut(&pointer) {
                *node = Value::String("[redacted]".into());
            }
        }
    }
}

/// The snapshot body: one message as pretty key-sorted JSON, several as an array, or the merged
/// shape.
pub fn render_body(messages: &[Value], shape: bool) -> String {
    let mut value = if shape {
        let mut merged = Shape::default();
        for m in messages {
            merged.add(m);
        }
        merged.render()
    } else if messages.len() == 1 {
        messages[0].clone()
    } else {
        Value::Array(messages.to_vec())
    };
    // Messages keep the order their keys arrived in; a snapshot sorts them, so that it does not
    // change when a server sends the same object in another order.
    value.sort_all_objects();
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// The merged type of values: scalar type names, an object's fields, an array's items.
#[derive(Debug, Default, Clone)]
pub struct Shape {
    scalars: BTreeSet<&'static str>,
    object: Option<ObjectShape>,
    array: Option<Box<Shape>>,
    empty_array: bool,
}

#[derive(Debug, Default, Clone)]
struct ObjectShape {
    seen: u64,
    fields: BTreeMap<String, (Shape, u64)>,
}

impl Shape {
    #[cfg(test)]
    pub fn of(values: &[Value]) -> Value {
        let mut s = Shape::default();
        values.iter().for_each(|v| s.add(v));
        s.render()
    }

    pub fn add(&mut self, v: &Value) {
        match v {
            Value::Object(map) => {
                let o = self.object.get_or_insert_with(ObjectShape::default);
                o.seen += 1;
                for (k, child) in map {
                    let entry = o.fields.entry(k.clone()).or_default();
                    entry.0.add(child);
                    entry.1 += 1;
                }
            }
            Value::Array(items) => {
                if items.is_empty() {
                    self.empty_array = true;
                }
                let item = self.array.get_or_insert_with(Box::default);
                items.iter().for_each(|i| item.add(i));
            }
            other => {
                self.scalars.insert(crate::value::type_name(other));
            }
        }
    }

    fn is_blank(&self) -> bool {
        self.scalars.is_empty() && self.object.is_none() && self.array.is_none()
    }

    pub fn render(&self) -> Value {
        let mut scalars = self.scalars.clone();
        if scalars.contains("number") {
            scalars.remove("integer");
        }
        let mut alternatives: Vec<Value> = Vec::new();
        if let Some(o) = &self.object {
            let mut map = Map::new();
            for (k, (shape, n)) in &o.fields {
                let key = if *n < o.seen {
                    format!("{k}?")
                } else {
                    k.clone()
                };
                map.insert(key, shape.render());
            }
            alternatives.push(Value::Object(map));
        }
        if let Some(item) = &self.array {
            alternatives.push(if item.is_blank() {
                Value::Array(vec![])
            } else {
                Value::Array(vec![item.render()])
            });
        }
        if !scalars.is_empty() {
            alternatives.push(Value::String(
                scalars.into_iter().collect::<Vec<_>>().join(" | "),
            ));
        }
        match alternatives.len() {
            0 => Value::String("never".into()),
            1 => alternatives.remove(0),
            _ => serde_json::json!({ "one of": alternatives }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes_merge_with_optional_fields_and_several_types() {
        let shape = Shape::of(&[
            json!({"p": "1.0", "t": 1, "x": null, "tags": ["a"]}),
            json!({"p": "2.0", "t": 2.5, "x": "s", "tags": []}),
            json!({"p": "3.0", "t": 3, "y": true, "x": null, "tags": []}),
        ]);
        assert_eq!(
            shape,
            json!({"p": "string", "t": "number", "x": "null | string", "y?": "boolean", "tags": ["string"]})
        );
    }

    #[test]
    fn redaction_reaches_every_selected_node() {
        let mut v = json!({"id": 1, "items": [{"id": 2}, {"id": 3}]});
        redact(
            &mut v,
            &[crate::jsonpath::JsonPath::parse("$..id").unwrap()],
        );
        assert_eq!(
            v,
            json!({"id": "[redacted]", "items": [{"id": "[redacted]"}, {"id": "[redacted]"}]})
        );
    }

    #[test]
    fn bodies_are_pretty_and_key_sorted() {
        assert_eq!(
            render_body(&[json!({"b": 1, "a": 2})], false),
            "{\n  \"a\": 2,\n  \"b\": 1\n}"
        );
    }
}
