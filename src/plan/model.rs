//! The plan value: ordered actions, each with its reason, the attribute diff
//! that justifies it, what it waits for, and the operation the executor
//! performs. It serialises to the versioned JSON plan format (documented in
//! the README) and back, so a saved plan is applied exactly as reviewed.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::manifest::Address;
use crate::state::model::RecordedLifecycle;

/// The plan format this build writes and reads.
pub const PLAN_FORMAT_VERSION: u32 = 1;

/// A complete plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Plan {
    pub format_version: u32,
    /// Actions in an order that respects every dependency.
    pub actions: Vec<Action>,
    /// Changes the API does not allow yet, with the date they become possible.
    pub deferred: Vec<Deferred>,
    /// Things worth knowing that change nothing.
    pub notes: Vec<String>,
    /// What the manifests' `Policy` says of this plan (absent without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<crate::policy::PolicyReport>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// The addresses of replacements that destroy data and so run only
    /// with `--allow-replace` (a Redstor company or subscription made anew).
    pub fn replacements_needing_consent(&self) -> Vec<&Address> {
        self.actions
            .iter()
            .filter(|a| match &a.operation {
                Operation::Provider(operation) => operation.destroys_data(),
                Operation::Forget | Operation::RecordLifecycle { .. } => false,
            })
            .flat_map(|a| &a.addresses)
            .collect()
    }

    /// Counts per kind of action, for the summary line.
    pub fn summary(&self) -> Summary {
        let mut summary = Summary::default();
        for action in &self.actions {
            match action.kind {
                ActionKind::Create => summary.create += 1,
                ActionKind::Update => summary.update += 1,
                ActionKind::Replace => summary.replace += 1,
                ActionKind::Delete => summary.delete += 1,
                ActionKind::Forget => summary.forget += 1,
                ActionKind::IssueKey => summary.issue_key += 1,
                ActionKind::Adopt => summary.adopt += 1,
                ActionKind::Record => summary.record += 1,
                ActionKind::BulkUpgrade => {
                    summary.upgrade += action.addresses.len();
                    summary.upgrade_calls += 1;
                }
            }
        }
        summary.deferred = self.deferred.len();
        summary
    }
}

/// How many actions of each kind a plan holds.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
    pub forget: usize,
    pub issue_key: usize,
    pub adopt: usize,
    /// State-only changes (a resource's lifecycle rules).
    #[serde(default)]
    pub record: usize,
    /// Resources upgraded, and the bulk calls that do it.
    pub upgrade: usize,
    pub upgrade_calls: usize,
    pub deferred: usize,
}

/// What an action does, in the vocabulary of the rendered plan.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ActionKind {
    Create,
    Update,
    Replace,
    Delete,
    Forget,
    IssueKey,
    BulkUpgrade,
    /// Bind an object this tool created (a `creating` record) without
    /// creating it again.
    Adopt,
    /// Change only the state (the lifecycle rules recorded with a resource).
    Record,
}

impl ActionKind {
    /// The Terraform-style symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            ActionKind::Create => "+",
            ActionKind::Update | ActionKind::IssueKey | ActionKind::Adopt | ActionKind::Record => {
                "~"
            }
            ActionKind::Replace => "-/+",
            ActionKind::Delete => "-",
            // Terraform's mark for "no longer managed, not destroyed".
            ActionKind::Forget => ".",
            ActionKind::BulkUpgrade => ">>",
        }
    }

    /// The kind as one word, as in action ids and the JSON format.
    pub fn word(self) -> &'static str {
        match self {
            ActionKind::Create => "create",
            ActionKind::Update => "update",
            ActionKind::Replace => "replace",
            ActionKind::Delete => "delete",
            ActionKind::Forget => "forget",
            ActionKind::IssueKey => "issue-key",
            ActionKind::BulkUpgrade => "bulk-upgrade",
            ActionKind::Adopt => "adopt",
            ActionKind::Record => "record",
        }
    }

    pub fn is_destructive(self) -> bool {
        matches!(self, ActionKind::Replace | ActionKind::Delete)
    }
}

/// One step of the plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Action {
    /// Unique and stable within the plan, e.g. `create ArcserveLicense/web`.
    pub id: String,
    pub kind: ActionKind,
    /// The resources it touches (many for a bulk upgrade).
    pub addresses: Vec<Address>,
    /// Why, in a sentence.
    pub reason: String,
    /// The attribute diff behind it.
    pub changes: Vec<Change>,
    /// Ids of the actions that must finish first.
    pub after: Vec<String>,
    /// A longer account, e.g. the diff of a proposal's XML; shown in JSON,
    /// in Markdown's details and in text with `-v`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub operation: Operation,
}

impl Action {
    /// The customer data this action destroys at the vendor, in a phrase
    /// (a Redstor company's backups); `None` when it destroys none.
    pub fn data_lost(&self) -> Option<&'static str> {
        match &self.operation {
            Operation::Provider(operation) => operation.data_lost(),
            Operation::Forget | Operation::RecordLifecycle { .. } => None,
        }
    }

    /// Whether a reviewer must look twice: it deletes or replaces an
    /// object, or destroys customer data.
    pub fn is_destructive(&self) -> bool {
        self.kind.is_destructive() || self.data_lost().is_some()
    }
}

/// One attribute's change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Change {
    /// The manifest field (`standaloneKeys`), or `address.field` in a group.
    pub field: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    /// This change alone forces a replacement.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forces_replacement: bool,
}

/// A change that must wait for a date.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Deferred {
    pub address: Address,
    pub field: String,
    pub before: Value,
    pub after: Value,
    /// The first day (Asia/Tokyo) the change is allowed, `YYYY-MM-DD`.
    pub from: String,
    pub reason: String,
}

/// What the executor does for an action: a change to the state alone, or
/// a provider's operation (written into the plan file with its own `op`
/// tag, beside these).
// Most actions carry a provider's operation; boxing it to shrink the two
// rare state-only variants would cost an allocation per action.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Operation {
    /// Remove the address from the state; the object stays.
    Forget,
    /// Record the resource's lifecycle rules in the state.
    RecordLifecycle { lifecycle: RecordedLifecycle },
    #[serde(untagged)]
    Provider(crate::resources::ProviderOperation),
}
