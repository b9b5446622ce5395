//! The plan value: ordered actions, each with its reason, the attribute diff
//! that justifies it, what it waits for, and the operation the executor
//! performs. It serialises to the versioned JSON plan format (documented in
//! the README) and back, so a saved plan is applied exactly as reviewed.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::state::model::RecordedLifecycle;

/// The plan format this build writes and reads.
pub const PLAN_FORMAT_VERSION: u32 = 1;

/// A complete plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    /// Actions in an order that respects every dependency.
    pub actions: Vec<Action>,
    /// Changes the API does not allow yet, with the date they become possible.
    pub deferred: Vec<Deferred>,
    /// Things worth knowing that change nothing.
    pub notes: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// The addresses of replacements that destroy data and so run only
    /// with `--allow-replace` (a Redstor company or subscription made anew).
    pub fn replacements_needing_consent(&self) -> Vec<&str> {
        self.actions
            .iter()
            .filter(|a| {
                matches!(
                    a.operation,
                    Operation::ReplaceCompany { .. } | Operation::ReplaceSubscription { .. }
                )
            })
            .flat_map(|a| a.addresses.iter().map(String::as_str))
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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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
            ActionKind::Forget => "<=",
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// Unique and stable within the plan, e.g. `create ArcserveLicense/web`.
    pub id: String,
    pub kind: ActionKind,
    /// The resources it touches (many for a bulk upgrade).
    pub addresses: Vec<String>,
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

/// One attribute's change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Deferred {
    pub address: String,
    pub field: String,
    pub before: Value,
    pub after: Value,
    /// The first day (Asia/Tokyo) the change is allowed, `YYYY-MM-DD`.
    pub from: String,
    pub reason: String,
}

/// Where an ECL tenant's requests go, as recorded in the plan so that a
/// saved plan can be applied without the manifests' help.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantRef {
    /// The `EclTenant` resource name.
    pub name: String,
    pub tenant_id: String,
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

/// The desired attributes of a license, as recorded in state after apply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenseAttributes {
    pub tenant: String,
    pub plan: Uuid,
    pub standalone_keys: u32,
    pub version: String,
    pub key_types: Vec<Uuid>,
}

/// What the executor does for an action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Operation {
    /// Create, wait until active, issue the keys.
    CreateLicense(NewLicense),
    /// Adopt the license of this name that a previous run created.
    AdoptLicense {
        tenant: TenantRef,
        name: String,
        license_id: Uuid,
        attributes: LicenseAttributes,
    },
    /// PATCH the fields that changed.
    UpdateLicense {
        tenant: TenantRef,
        license_id: Uuid,
        standalone_keys: Option<u32>,
        attributes: LicenseAttributes,
    },
    /// Delete the old license, wait until it is gone, create the new one.
    ReplaceLicense {
        old_tenant: TenantRef,
        old_id: Uuid,
        new: NewLicense,
    },
    /// Delete and wait until it is gone.
    DeleteLicense { tenant: TenantRef, license_id: Uuid },
    /// Issue one key of each type.
    IssueKeys {
        tenant: TenantRef,
        license_id: Uuid,
        key_types: Vec<Uuid>,
        attributes: LicenseAttributes,
    },
    /// One bulk-license-upgrade call (at most 100 licenses).
    BulkUpgrade {
        tenant: TenantRef,
        version: String,
        licenses: Vec<UpgradeMember>,
        contact: Option<Contact>,
    },
    /// Create (no order id) or replace a proposal.
    SubmitProposal(ProposalSubmission),
    /// Add a Redstor customer or partner (then disable it if so declared).
    CreateCompany(NewCompany),
    /// Move a company to another parent and/or enable or disable it.
    UpdateCompany {
        company_id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reassign_to: Option<CompanyParent>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        enabled: Option<bool>,
        attributes: Value,
        dependencies: Vec<String>,
    },
    /// Remove the company's subscriptions, delete it, create the new one.
    /// Destroys the company's data: runs only with `--allow-replace`.
    ReplaceCompany {
        old_id: Uuid,
        /// State records of subscriptions that go with the old company.
        subscriptions: Vec<String>,
        new: NewCompany,
    },
    /// Delete a company (its customers and subscriptions went first).
    DeleteCompany { company_id: Uuid },
    /// Subscribe a company to a product edition (as a trial or paid).
    CreateSubscription(NewSubscription),
    /// Turn an active trial into a paid subscription.
    ConvertTrial {
        company_id: Uuid,
        subscription_id: Uuid,
        attributes: Value,
    },
    /// Remove the subscription (waiting for a queued removal), add the new one.
    ReplaceSubscription {
        old_company_id: Uuid,
        old_id: Uuid,
        new: NewSubscription,
    },
    /// Remove a subscription and wait until it is gone.
    DeleteSubscription {
        company_id: Uuid,
        subscription_id: Uuid,
    },
    /// Bind the address to an object a previous run created but did not
    /// record (its answer was lost): write this record.
    Bind { record: crate::state::ResourceState },
    /// Remove the address from the state; the object stays.
    Forget,
    /// Record the resource's lifecycle rules in the state.
    RecordLifecycle { lifecycle: RecordedLifecycle },
}

/// A proposal to send, and what the state records with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProposalSubmission {
    pub tenant: TenantRef,
    pub name: String,
    /// Absent for a create.
    pub order_id: Option<String>,
    pub service_id: u32,
    pub language: crate::resources::proposal_catalog::Language,
    pub customer_email: String,
    /// The rows as sent, in the proposal's language.
    pub models: Vec<crate::resources::proposal::Model>,
    /// What the state records (the rows in English).
    pub attributes: Value,
    pub dependencies: Vec<String>,
    pub lifecycle: RecordedLifecycle,
}

/// A license to create, and what the state records with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewLicense {
    pub tenant: TenantRef,
    pub name: String,
    pub attributes: LicenseAttributes,
    pub dependencies: Vec<String>,
    pub lifecycle: RecordedLifecycle,
}

/// A license in a bulk upgrade.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradeMember {
    pub address: String,
    pub license_id: Uuid,
}

/// The upgrade contact sent with a tenant's first upgrade.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub email: String,
    pub company_name: String,
}

/// Where a Redstor company goes: under the account's root, or under a
/// managed company whose id the state holds when the action runs (it may be
/// created earlier in the same apply).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum CompanyParent {
    Root { company_id: Uuid },
    Managed { address: String },
}

/// A Redstor company to create, and what the state records with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewCompany {
    /// The company's name at Redstor.
    pub name: String,
    pub company_type: crate::api::redstor::CompanyType,
    pub parent: CompanyParent,
    pub enabled: bool,
    pub attributes: Value,
    pub dependencies: Vec<String>,
    pub lifecycle: RecordedLifecycle,
}

/// A Redstor subscription to create, and what the state records with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewSubscription {
    pub company: CompanyParent,
    pub product_id: u32,
    pub edition_id: u32,
    pub trial: bool,
    pub attributes: Value,
    pub dependencies: Vec<String>,
    pub lifecycle: RecordedLifecycle,
}
