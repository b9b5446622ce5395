//! Plan: refresh the live state, diff it against the manifests and the
//! state, and order the actions in a dependency graph.
//!
//! [`refresh`] is the only part that does I/O, through the providers.
//! [`planner`] is a pure function `(Desired, State, Live) -> Plan`;
//! [`contract`] is what a provider's planner works with; [`model`] is the
//! plan value and its JSON format; [`graph`] orders by dependency; `Live`
//! (one part per provider) is what refresh saw; [`render`] turns a plan
//! into text, JSON or Markdown; [`saved`] is the plan file that `apply`
//! checks for staleness.

pub mod contract;
pub mod graph;
pub mod model;
pub mod planner;
pub mod refresh;
pub mod render;
pub mod saved;

pub use crate::resources::Live;
pub use model::{Action, ActionKind, Plan};
pub use planner::{DeclaredGraph, PlanError, PlanErrors, PlanInput, plan, plan_with};
