//! Read-only reports: [`drift`] compares the APIs with the state file;
//! [`graph`] draws the manifests' dependency graph.

pub mod drift;
pub mod graph;
