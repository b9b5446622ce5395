//! What apply does for a license: the operations a plan carries (tagged
//! `op` in the plan file) and what they record.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::manifest::Address;
use crate::resources::ecl_tenant::TenantRef;
use crate::state::model::RecordedLifecycle;

/// A license operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum LicenseOperation {
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
}

/// The desired attributes of a license, as recorded in state after apply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LicenseAttributes {
    pub tenant: String,
    pub plan: Uuid,
    pub standalone_keys: u32,
    pub version: String,
    pub key_types: Vec<Uuid>,
}

/// A license to create, and what the state records with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NewLicense {
    pub tenant: TenantRef,
    pub name: String,
    pub attributes: LicenseAttributes,
    pub dependencies: Vec<Address>,
    pub lifecycle: RecordedLifecycle,
}

/// A license in a bulk upgrade.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UpgradeMember {
    pub address: Address,
    pub license_id: Uuid,
}

/// The upgrade contact sent with a tenant's first upgrade.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Contact {
    pub email: String,
    pub company_name: String,
}
