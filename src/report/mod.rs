//! Read-only reports over live state: [`drift`] compares the APIs with the
//! state file.

pub mod drift;
