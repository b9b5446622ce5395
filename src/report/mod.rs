//! Read-only reports: [`drift`] compares the APIs with the state file;
//! [`budget`] keeps Markdown for a pull request or an issue (a plan's, a
//! drift's) under a size;
//! [`graph`] draws the manifests' dependency graph; [`usage`] shows a
//! Redstor company's consumption and backup or restore outcomes, with
//! [`usage_read`] reading what it needs through the RedAPI client.

pub mod budget;
pub mod drift;
pub mod graph;
pub mod usage;
pub mod usage_read;
