//! Read-only reports: [`drift`] compares the APIs with the state file;
//! [`graph`] draws the manifests' dependency graph; [`usage`] shows a
//! Redstor company's consumption and backup or restore outcomes, with
//! [`usage_read`] reading what it needs through the RedAPI client.

pub mod drift;
pub mod graph;
pub mod usage;
pub mod usage_read;
