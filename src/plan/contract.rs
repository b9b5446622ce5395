//! What a kind's planner works with, below both the planner and the kinds:
//! the planner's input and the context a kind plans in, the drafts it
//! proposes (actions before ordering), and the errors that stop a plan.
//! The kinds import these; only the planner calls the kinds.

use std::collections::BTreeSet;
use std::fmt;

use super::model::{Action, ActionKind, Change, Deferred, Operation};
use crate::hint::Hint;
use crate::manifest::{Address, Desired, SourceLocation};
use crate::resources::Live;
use crate::state::State;

/// What the planner works from.
pub struct PlanInput<'a> {
    pub desired: &'a Desired,
    pub prior: &'a State,
    pub live: &'a Live,
    /// Limit the plan to these addresses and what they depend on.
    pub targets: &'a [Address],
    /// Replace these (`--replace ADDR`) even where nothing forces it.
    pub replace: &'a [Address],
}

/// A problem that stops the plan, with what to do about it.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanError {
    pub address: Option<Address>,
    pub message: String,
    pub hint: Option<String>,
    pub location: Option<SourceLocation>,
}

impl PlanError {
    pub fn new(address: Option<Address>, message: impl Into<String>) -> Self {
        PlanError {
            address,
            message: message.into(),
            hint: None,
            location: None,
        }
    }

    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    #[must_use]
    pub fn at(mut self, location: Option<&SourceLocation>) -> Self {
        self.location = location.cloned();
        self
    }
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.address {
            Some(address) => write!(f, "error: {address}: {}", self.message)?,
            None => write!(f, "error: {}", self.message)?,
        }
        if let Some(location) = &self.location {
            write!(
                f,
                "\n  --> {}:{}:{}",
                location.file.display(),
                location.line,
                location.column
            )?;
        }
        write!(f, "{}", Hint(self.hint.as_deref()))
    }
}

/// Every problem that stops a plan.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanErrors(pub Vec<PlanError>);

impl fmt::Display for PlanErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for error in &self.0 {
            writeln!(f, "{error}")?;
        }
        write!(f, "error: the plan has {} problem(s)", self.0.len())
    }
}

impl std::error::Error for PlanErrors {}

/// An action a kind proposes, before ordering.
#[derive(Clone, Debug)]
pub struct Draft {
    pub action: Action,
    /// The resources whose dependencies order this action.
    pub resources: Vec<Address>,
    /// A delete (or forget) orders by the dependencies recorded in state,
    /// in reverse.
    pub removal: bool,
}

impl Draft {
    /// An action on one resource; its id is `<kind> <address>`.
    pub fn single(
        kind: ActionKind,
        address: &Address,
        reason: String,
        changes: Vec<Change>,
        operation: impl Into<Operation>,
    ) -> Draft {
        Draft {
            action: Action {
                id: format!("{} {address}", kind.word()),
                kind,
                addresses: vec![address.clone()],
                reason,
                changes,
                after: Vec::new(),
                detail: None,
                operation: operation.into(),
            },
            resources: vec![address.clone()],
            removal: false,
        }
    }

    /// A delete or forget of one resource, ordered by the dependencies
    /// recorded in the state.
    pub fn removal(
        kind: ActionKind,
        address: &Address,
        reason: String,
        operation: impl Into<Operation>,
    ) -> Draft {
        Draft {
            removal: true,
            ..Draft::single(kind, address, reason, Vec::new(), operation)
        }
    }

    #[must_use]
    pub fn with_detail(mut self, detail: Option<String>) -> Draft {
        self.action.detail = detail;
        self
    }
}

/// What a kind contributes to a plan.
#[derive(Debug, Default)]
pub struct KindPlan {
    pub drafts: Vec<Draft>,
    pub deferred: Vec<Deferred>,
    pub notes: Vec<String>,
    pub errors: Vec<PlanError>,
}

impl KindPlan {
    /// Plans the end of a resource gone from the manifests: forgotten under
    /// `deletionPolicy: Orphan` or when its object is gone too (`delete` is
    /// `None`), refused under `preventDestroy`, else deleted by `delete`
    /// (the reason and the operation).
    pub fn removal(
        &mut self,
        address: &Address,
        record: &crate::state::ResourceState,
        delete: Option<(&str, impl Into<Operation>)>,
        gone: &str,
    ) {
        if record.lifecycle.orphan_on_delete {
            self.drafts.push(Draft::removal(
                ActionKind::Forget,
                address,
                "it is gone from the manifests and its deletionPolicy is Orphan".into(),
                Operation::Forget,
            ));
            return;
        }
        let Some((reason, operation)) = delete else {
            self.drafts.push(Draft::removal(
                ActionKind::Forget,
                address,
                format!("it is gone from the manifests and {gone}"),
                Operation::Forget,
            ));
            return;
        };
        if record.lifecycle.prevent_destroy {
            self.errors.push(
                PlanError::new(
                    Some(address.clone()),
                    "it is gone from the manifests, but it was applied with lifecycle.preventDestroy: refusing to delete it",
                )
                .hint(format!(
                    "put the manifest back; or apply it once with preventDestroy: false, then remove it; or stop managing it with `entitle state rm {address}`"
                )),
            );
            return;
        }
        self.drafts.push(Draft::removal(
            ActionKind::Delete,
            address,
            reason.to_string(),
            operation,
        ));
    }
}

/// What a kind's planner may look at.
pub struct Context<'a> {
    pub input: &'a PlanInput<'a>,
    scope: Option<BTreeSet<Address>>,
}

impl<'a> Context<'a> {
    /// The context for `input`, limited to `scope` (everything when `None`).
    pub fn new(input: &'a PlanInput<'a>, scope: Option<BTreeSet<Address>>) -> Self {
        Context { input, scope }
    }

    /// Whether `--replace` names `address`: the object is made anew even
    /// though nothing in the manifests forces it.
    pub fn forced_replace(&self, address: &Address) -> bool {
        self.input.replace.contains(address)
    }

    /// Whether `address` is within `--target` (everything when none given).
    pub fn in_scope(&self, address: &Address) -> bool {
        self.scope.as_ref().is_none_or(|s| s.contains(address))
    }
}
