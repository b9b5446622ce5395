//! `entitle`: commercial entitlements as code.
//!
//! YAML manifests declare Arcserve UDP licenses (NTT Smart Data Platform /
//! Enterprise Cloud), ECL partner-service proposals and Redstor companies with
//! their subscriptions. This crate loads and validates them ([`manifest`]),
//! talks to the vendor APIs ([`api`]), and ships a simulator of those APIs
//! ([`sim`]) so that everything can be tried and tested without an account.
//! See `ARCHITECTURE.md` for the code map and the invariants.

pub mod api;
pub mod apply;
pub mod cli;
mod error;
pub mod escape;
pub mod hint;
pub mod manifest;
pub mod plan;
pub mod policy;
pub mod problem;
pub mod report;
pub mod resources;
pub mod sim;
pub mod state;
pub mod watch;
pub mod workflow;

pub use error::Error;
