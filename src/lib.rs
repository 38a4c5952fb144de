//! wsrun: a scriptable WebSocket test harness. One engine behind the CLI and the Python module.

pub mod collection;
pub mod duration;
pub mod jsonpath;
pub mod matcher;
pub mod template;
