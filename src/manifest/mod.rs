//! Manifests: YAML files declaring resources, loaded into the typed desired
//! state with every problem reported at once, each with its file, line,
//! column and a hint.
//!
//! The pipeline for each file: read and decode (`load`), parse into a tree
//! that keeps positions (`node`), check each document's structure against
//! its kind's JSON Schema generated from the Rust types (`schema`,
//! `schema_check`), read it into those types and apply the rules the schema
//! cannot express (`document`, `metadata`, and each kind's file in
//! `crate::resources`), then check across documents: duplicates and
//! references (`refs`), dependency cycles (`cycles`) and each kind's own
//! rules between its resources (`across`).
//!
//! Invariants: loading never touches the network, and never panics,
//! whatever the input.

mod across;
mod address;
mod cycles;
mod desired;
mod diagnostic;
mod document;
mod load;
mod metadata;
mod node;
mod policy;
mod refs;
mod schema;
mod schema_check;
pub(crate) mod suggest;

pub use crate::resources::{Kind, Spec};
pub use address::{Address, AddressError};
pub use desired::{Desired, Resource};
pub use diagnostic::{Diagnostic, Diagnostics, SourceLocation};
pub use load::{MAX_FILE_BYTES, STDIN, load};
pub use metadata::{DeletionPolicy, Lifecycle, Metadata};
pub use schema::{API_VERSION, schema_text, schemas, write_schemas};
