//! What apply does for a proposal: the operation a plan carries (tagged
//! `op` in the plan file) and what it records.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::manifest::Address;
use crate::resources::ecl_tenant::TenantRef;
use crate::state::model::RecordedLifecycle;

/// A proposal operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum ProposalOperation {
    /// Create (no order id) or replace a proposal.
    SubmitProposal(ProposalSubmission),
}

/// A proposal to send, and what the state records with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
    pub dependencies: Vec<Address>,
    pub lifecycle: RecordedLifecycle,
}
