//! How every message renders its hint: one place, so that an error from the
//! manifests, the planner, an API or the state reads the same way.
//!
//! A hint is its own line under the message, `   = hint: what to do`.
//! Messages written as format strings use [`HINT`] (`"{message}{HINT}{what}"`);
//! values that carry an optional hint use [`Hint`].

use std::fmt;

/// What goes between a message and its hint.
pub const HINT: &str = "\n   = hint: ";

/// An optional hint, rendered with its line break, or nothing.
pub struct Hint<'a>(pub Option<&'a str>);

impl fmt::Display for Hint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(hint) => write!(f, "{HINT}{hint}"),
            None => Ok(()),
        }
    }
}
