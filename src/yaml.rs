//! The YAML 1.2 loader options every file wsrun reads goes through: collections, vars files,
//! schemas and AsyncAPI documents.

/// YAML limits: no alias bombs, no absurd nesting, no duplicate keys.
pub fn yaml_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = 64;
    budget.max_aliases = 1_000;
    budget.max_nodes = 1_000_000;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    // YAML 1.2: `no`, `yes`, `on`, `off` are text, not booleans (`country: NO` stays "NO").
    options.strict_booleans = true;
    options
}
