//! What apply does for Redstor companies and subscriptions: the
//! operations a plan carries (tagged `op` in the plan file) and what they
//! record.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::manifest::Address;
use crate::state::model::RecordedLifecycle;

/// A Redstor operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum RedstorOperation {
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
        dependencies: Vec<Address>,
    },
    /// Remove the company's subscriptions, delete it, create the new one.
    /// Destroys the company's data: runs only with `--allow-replace`.
    ReplaceCompany {
        old_id: Uuid,
        /// State records of subscriptions that go with the old company.
        subscriptions: Vec<Address>,
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
}

/// Where a Redstor company goes: under the account's root, or under a
/// managed company whose id the state holds when the action runs (it may be
/// created earlier in the same apply).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum CompanyParent {
    Root { company_id: Uuid },
    Managed { address: Address },
}

/// A Redstor company to create, and what the state records with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NewCompany {
    /// The company's name at Redstor.
    pub name: String,
    pub company_type: crate::api::redstor::CompanyType,
    pub parent: CompanyParent,
    pub enabled: bool,
    pub attributes: Value,
    pub dependencies: Vec<Address>,
    pub lifecycle: RecordedLifecycle,
}

/// A Redstor subscription to create, and what the state records with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NewSubscription {
    pub company: CompanyParent,
    pub product_id: u32,
    pub edition_id: u32,
    pub trial: bool,
    pub attributes: Value,
    pub dependencies: Vec<Address>,
    pub lifecycle: RecordedLifecycle,
}
