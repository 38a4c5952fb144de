//! Variables defined through each other (`url: "{{ base }}/ws"`), resolved once before a run.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::{descend, unknown, Lookup, TValue, TemplateError, VarRef};

/// Resolves variable definitions that may refer to each other (`url: "{{ base }}/ws"`), in
/// layers from lowest to highest precedence. Cycles and unknown names are errors.
pub fn resolve_vars(
    layers: &[&[(String, TValue)]],
    extra: &dyn Lookup,
) -> Result<HashMap<String, Value>, (String, TemplateError)> {
    let mut defs: HashMap<&str, &TValue> = HashMap::new();
    for layer in layers {
        for (k, v) in layer.iter() {
            defs.insert(k, v);
        }
    }
    let mut resolver = Resolver {
        defs: &defs,
        extra,
        done: HashMap::new(),
        stack: Vec::new(),
    };
    let names: BTreeSet<&str> = defs.keys().copied().collect();
    for name in names {
        resolver.resolve(name).map_err(|e| (name.to_string(), e))?;
    }
    Ok(resolver.done)
}

struct Resolver<'a> {
    defs: &'a HashMap<&'a str, &'a TValue>,
    extra: &'a dyn Lookup,
    done: HashMap<String, Value>,
    stack: Vec<String>,
}

impl Resolver<'_> {
    fn resolve(&mut self, name: &str) -> Result<Value, TemplateError> {
        if let Some(v) = self.done.get(name) {
            return Ok(v.clone());
        }
        if let Some(pos) = self.stack.iter().position(|n| n == name) {
            let mut cycle = self.stack[pos..].to_vec();
            cycle.push(name.to_string());
            return Err(TemplateError::Cycle(cycle.join(" → ")));
        }
        let Some(def) = self.defs.get(name).copied() else {
            return Err(unknown(name, self.defs.keys().copied()));
        };
        self.stack.push(name.to_string());
        let value = def.expand(&ResolverLookup(std::cell::RefCell::new(self)));
        self.stack.pop();
        let value = value?;
        self.done.insert(name.to_string(), value.clone());
        Ok(value)
    }
}

struct ResolverLookup<'r, 'a>(std::cell::RefCell<&'r mut Resolver<'a>>);

impl Lookup for ResolverLookup<'_, '_> {
    fn lookup(&self, var: &VarRef) -> Result<Value, TemplateError> {
        let mut resolver = self.0.borrow_mut();
        if resolver.defs.contains_key(var.root.as_str()) {
            let root = resolver.resolve(&var.root)?;
            return descend(root, var);
        }
        match resolver.extra.lookup(var) {
            Err(TemplateError::Unknown { name, .. }) => {
                Err(unknown(&name, resolver.defs.keys().copied()))
            }
            other => other,
        }
    }
}
