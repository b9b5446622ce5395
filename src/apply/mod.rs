//! Apply: carry out a plan against the APIs and record every step in the
//! state.
//!
//! [`context`] is what an operation works with and how it fails;
//! [`steps`] the waiting and read-back steps the kinds share; [`executor`] walks the plan's graph with bounded concurrency; [`operation`]
//! dispatches each action to the code of its kind; [`recorder`] writes the
//! state after every change, so a run killed at any instant loses nothing and
//! duplicates nothing on the next run.

pub mod context;
pub mod executor;
pub mod operation;
pub mod recorder;
pub mod steps;

pub use executor::{ApplyOptions, ApplyReport, Context, Observer, Outcome, Silent, execute};
pub use recorder::Recorder;
