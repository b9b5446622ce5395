//! Drift of licenses: recorded attributes against the live license, a
//! license gone, and licenses in managed tenants that no record knows.

use crate::manifest::Address;
use std::collections::BTreeSet;

use serde_json::json;

use super::observe::{LicensesLive, observed_attributes};
use super::operation::LicenseAttributes;
use crate::report::drift::{Deleted, DriftReport, Unmanaged, changed_fields};
use crate::resources::Kind;
use crate::resources::ecl_tenant::TenantRef;
use crate::state::{State, Status};

/// Compares the state with `live` for the license kind; `tenants` are the
/// managed tenants whose unmanaged licenses are listed.
pub fn drift(state: &State, live: &LicensesLive, tenants: &[TenantRef], report: &mut DriftReport) {
    let mut known: BTreeSet<String> = BTreeSet::new();
    for (address, record) in state.of_kind(Kind::ArcserveLicense) {
        let Some(id) = record.remote_id.as_deref() else {
            continue;
        };
        known.insert(id.to_string());
        let tenant = record.scope.tenant_id.as_deref().unwrap_or_default();
        let Some(tenant_live) = live.tenants.get(tenant) else {
            continue;
        };
        let observed = id.parse().ok().and_then(|id| tenant_live.by_id(id));
        let Some(observed) = observed.filter(|o| !o.leaving()) else {
            if record.status != Status::Deleting {
                report.deleted.push(Deleted {
                    address: address.clone(),
                    remote_id: id.to_string(),
                });
            }
            continue;
        };
        let Ok(recorded) = serde_json::from_value::<LicenseAttributes>(record.attributes.clone())
        else {
            continue;
        };
        let now = observed_attributes(observed, &recorded.tenant);
        // A license without keys shows no version; nothing to compare.
        let skip: &[&str] = if observed.key_types.is_empty() {
            &["version"]
        } else {
            &[]
        };
        changed_fields(report, address, &json!(recorded), &json!(now), skip);
    }
    let mut seen = BTreeSet::new();
    for tenant in tenants {
        if !seen.insert(tenant.tenant_id.clone()) {
            continue;
        }
        let Some(tenant_live) = live.tenants.get(&tenant.tenant_id) else {
            continue;
        };
        for license in &tenant_live.licenses {
            if !known.contains(&license.id.to_string()) && !license.leaving() {
                report.unmanaged.push(Unmanaged {
                    tenant: tenant.name.clone(),
                    container: Some(Address::new(Kind::EclTenant, tenant.name.clone())),
                    kind: Kind::ArcserveLicense,
                    detail: None,
                    remote_id: license.id.to_string(),
                    name: license.name.clone(),
                });
            }
        }
    }
}
