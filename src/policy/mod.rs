//! Guardrails on what a plan may do: the `Policy` manifest document.
//!
//! A policy caps deletes and replaces (`maxDeletes`, `maxReplaces`), shields
//! resources from deletion and replacement (`protect`: address globs, ECL
//! tenants, Redstor company subtrees) and limits when apply may run
//! (`changeWindows`). It is evaluated when a plan is made (violations are
//! shown in every format and fail the plan) and again before apply starts
//! anything, saved plans included, against the policy the manifests hold
//! then. `--override-policy RULE` lets one rule's violations through; the
//! state records each override.

mod drift_ignore;
mod evaluate;
mod spec;
mod window;

pub use evaluate::{PolicyRefusal, PolicyReport, Stage, Violation, evaluate};
pub use spec::{DriftIgnore, Policy, PolicySpec, Protect, policy_schema};
pub use window::{ChangeWindow, Day};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The kind name a policy document has in `kind:`.
pub const POLICY_KIND: &str = "Policy";

/// A rule of a policy, as `--override-policy` names it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum Rule {
    MaxDeletes,
    MaxReplaces,
    Protect,
    ChangeWindows,
}

impl Rule {
    /// The rule's name as written in the policy and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Rule::MaxDeletes => "maxDeletes",
            Rule::MaxReplaces => "maxReplaces",
            Rule::Protect => "protect",
            Rule::ChangeWindows => "changeWindows",
        }
    }

    pub fn all() -> [Rule; 4] {
        [
            Rule::MaxDeletes,
            Rule::MaxReplaces,
            Rule::Protect,
            Rule::ChangeWindows,
        ]
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Rule {
    type Err = String;

    fn from_str(text: &str) -> Result<Rule, String> {
        Rule::all()
            .into_iter()
            .find(|rule| rule.name().eq_ignore_ascii_case(text))
            .ok_or_else(|| {
                let names: Vec<&str> = Rule::all().iter().map(|r| r.name()).collect();
                format!(
                    "`{text}` is not a policy rule; the rules are {}",
                    names.join(", ")
                )
            })
    }
}

/// An override of a rule, as the state keeps it: which rule, what it let
/// through, when and by whom.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyOverride {
    pub rule: Rule,
    /// The violation it let through, as the plan stated it.
    pub violation: String,
    /// RFC 3339, UTC.
    pub at: String,
    /// `user@host`.
    pub by: String,
    /// The operation it was part of (`apply`, `apply plan.json`).
    pub operation: String,
}
