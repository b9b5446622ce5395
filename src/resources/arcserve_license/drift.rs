//! Drift of licenses: recorded attributes against the live license, a
//! license gone, and licenses in managed tenants that no record knows; and,
//! as status, where the vendor moves a license on its own (still
//! provisioning, its deletion scheduled).

use crate::manifest::Address;
use std::collections::BTreeSet;

use serde_json::json;

use super::observe::{LicensesLive, ObservedLicense, observed_attributes};
use super::operation::LicenseAttributes;
use crate::report::drift::{Deleted, DriftReport, StatusMove, Unmanaged, changed_fields};
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
        // A deletion the vendor scheduled leaves the license listed and
        // working until its day: status, not gone.
        let listed = |o: &&ObservedLicense| !o.leaving() || o.scheduled_deletion().is_some();
        let Some(observed) = observed.filter(listed) else {
            if record.status != Status::Deleting {
                report.deleted.push(Deleted {
                    address: address.clone(),
                    remote_id: id.to_string(),
                });
            }
            continue;
        };
        if record.status == Status::Deleting {
            // entitle asked for the deletion: nothing moved on its own.
            continue;
        }
        lifecycle(address, observed, report);
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

/// What the vendor moves on its own, as status: a license still
/// `Provisioning` (it turns `Active` by itself), a deletion scheduled for a
/// day. No manifest field declares either, and the record keeps neither.
fn lifecycle(address: &Address, observed: &ObservedLicense, report: &mut DriftReport) {
    let mut status = |field: &str, live: &str, name: String| {
        report.status.push(StatusMove {
            address: address.clone(),
            field: field.into(),
            recorded: None,
            live: json!(live),
            name: Some(name),
        });
    };
    if observed.status == "Provisioning" {
        status(
            "status",
            &observed.status,
            "being provisioned; it turns Active by itself".into(),
        );
    }
    if let Some(day) = observed.scheduled_deletion() {
        status(
            "deletionDate",
            day,
            format!("scheduled for deletion on {day}"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::arcserve_license::observe::TenantLive;
    use crate::state::{ResourceState, Scope};

    const TENANT: &str = "t1";

    fn license(status: &str, deletion_date: Option<&str>) -> ObservedLicense {
        ObservedLicense {
            id: uuid::Uuid::from_u128(7),
            name: "web".into(),
            status: status.into(),
            plan: uuid::Uuid::from_u128(1),
            standalone_keys: 1,
            version: None,
            key_types: BTreeSet::new(),
            last_changed: None,
            deletion_date: deletion_date.map(str::to_string),
        }
    }

    /// The drift of one Ready record of `observed`.
    fn drift_of(observed: ObservedLicense) -> DriftReport {
        let mut state = State::new();
        let attributes = observed_attributes(&observed, "prod");
        state.resources.insert(
            "ArcserveLicense/web".into(),
            ResourceState {
                remote_id: Some(observed.id.to_string()),
                scope: Scope {
                    tenant_id: Some(TENANT.into()),
                    ..Scope::default()
                },
                natural_key: "web".into(),
                attributes: json!(attributes),
                dependencies: Vec::new(),
                status: Status::Ready,
                lifecycle: Default::default(),
            },
        );
        let today = time::Date::from_calendar_date(2026, time::Month::November, 30).unwrap();
        let mut live = LicensesLive::default();
        live.tenants.insert(
            TENANT.into(),
            TenantLive::new(today, vec![observed], Vec::new(), None),
        );
        let mut report = DriftReport::default();
        drift(&state, &live, &[], &mut report);
        report
    }

    fn named(report: &DriftReport) -> Vec<(String, Option<String>)> {
        report
            .status
            .iter()
            .map(|s| (s.field.clone(), s.name.clone()))
            .collect()
    }

    #[test]
    fn a_license_still_provisioning_is_named_status() {
        let report = drift_of(license("Provisioning", None));
        assert!(report.is_empty(), "{report:?}");
        assert_eq!(
            named(&report),
            [(
                "status".to_string(),
                Some("being provisioned; it turns Active by itself".to_string())
            )]
        );
        assert!(drift_of(license("Active", None)).status.is_empty());
    }

    #[test]
    fn a_scheduled_deletion_is_status_and_deleting_is_gone() {
        let report = drift_of(license("Active", Some("2026-11-30")));
        assert!(report.is_empty(), "{report:?}");
        assert_eq!(
            named(&report),
            [(
                "deletionDate".to_string(),
                Some("scheduled for deletion on 2026-11-30".to_string())
            )]
        );
        assert!(!report.recordable(), "the record keeps no deletion date");
        let report = drift_of(license("Deleting", Some("2026-11-30")));
        assert_eq!(report.deleted.len(), 1, "{report:?}");
        assert!(report.status.is_empty(), "{report:?}");
    }
}
