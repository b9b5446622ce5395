//! Manifests: YAML files declaring resources, loaded into the typed desired
//! state with every problem reported at once, each with its file, line,
//! column and a hint.

pub mod address;
pub mod diagnostic;
pub mod metadata;
pub mod node;
pub mod schema;
pub mod schema_check;
pub mod suggest;
