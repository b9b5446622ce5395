//! Drift: what changed outside entitle. A pure comparison of the state (what
//! was last applied) with what refresh saw: attributes changed, objects
//! deleted, and objects in managed tenants that no state record knows.

use std::collections::BTreeSet;
use std::fmt::Write;

use serde::Serialize;
use serde_json::{Value, json};

use uuid::Uuid;

use crate::plan::live::{Live, RedstorLive};
use crate::plan::model::{LicenseAttributes, TenantRef};
use crate::resources::arcserve_license::observed_attributes;
use crate::resources::proposal::ProposalAttributes;
use crate::resources::redstor::{
    self, CompanyAttributes, SubscriptionAttributes, observed_company_attributes,
};
use crate::state::{State, Status};

/// Everything drift found.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DriftReport {
    pub changed: Vec<Changed>,
    pub deleted: Vec<Deleted>,
    pub unmanaged: Vec<Unmanaged>,
}

/// A managed object whose attributes differ from what was applied.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Changed {
    pub address: String,
    pub field: String,
    pub recorded: Value,
    pub live: Value,
    /// For a Redstor company that moved: the live parent's id, which
    /// `accept_into` records as the company's scope (the field shows the
    /// parent's name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_parent_id: Option<String>,
}

/// A managed object that is gone from the server.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Deleted {
    pub address: String,
    pub remote_id: String,
}

/// An object in a managed tenant that entitle does not manage.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Unmanaged {
    pub tenant: String,
    pub kind: String,
    pub remote_id: String,
    pub name: String,
}

impl DriftReport {
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.deleted.is_empty() && self.unmanaged.is_empty()
    }

    /// Records what drift found in `state` (`apply --refresh-only`): changed
    /// attributes take their live values, deleted objects leave the state.
    /// Unmanaged objects stay unmanaged. Returns how many records changed.
    pub fn accept_into(&self, state: &mut State) -> usize {
        let mut touched = BTreeSet::new();
        for change in &self.changed {
            let Some(record) = state.resources.get_mut(&change.address) else {
                continue;
            };
            if let Some(parent) = &change.live_parent_id {
                // Where the company is now; its manifest's parent name is
                // not known here, so the planner compares by id.
                record.scope.company_id = Some(parent.clone());
                touched.insert(change.address.clone());
            } else if let Some(attributes) = record.attributes.as_object_mut() {
                attributes.insert(change.field.clone(), change.live.clone());
                touched.insert(change.address.clone());
            }
        }
        for gone in &self.deleted {
            if state.resources.remove(&gone.address).is_some() {
                touched.insert(gone.address.clone());
            }
        }
        touched.len()
    }
}

/// Compares the state with `live` for the license kind; `tenants` are the
/// managed tenants whose unmanaged licenses are listed.
pub fn drift(state: &State, live: &Live, tenants: &[TenantRef]) -> DriftReport {
    let mut report = DriftReport::default();
    let mut known: BTreeSet<String> = BTreeSet::new();
    for (address, record) in &state.resources {
        if !address.starts_with("ArcserveLicense/") {
            continue;
        }
        let Some(id) = record.remote_id.as_deref() else {
            continue;
        };
        known.insert(id.to_string());
        let tenant = record.scope.tenant_id.as_deref().unwrap_or_default();
        let Some(tenant_live) = live.tenants.get(tenant) else {
            continue;
        };
        let observed = id.parse().ok().and_then(|id| tenant_live.by_id(id));
        let Some(observed) = observed.filter(|o| o.status != "Deleting") else {
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
        changed_fields(&mut report, address, &json!(recorded), &json!(now), skip);
    }
    proposal_drift(state, live, &mut report);
    if let Some(redstor) = &live.redstor {
        redstor_drift(state, redstor, &mut report);
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
            if !known.contains(&license.id.to_string()) && license.status != "Deleting" {
                report.unmanaged.push(Unmanaged {
                    tenant: tenant.name.clone(),
                    kind: "ArcserveLicense".into(),
                    remote_id: license.id.to_string(),
                    name: license.name.clone(),
                });
            }
        }
    }
    report
}

/// Proposals: rows, e-mail or language changed, status moved, gone from
/// the list; and proposals of the listed services that no state knows.
fn proposal_drift(state: &State, live: &Live, report: &mut DriftReport) {
    let mut known: BTreeSet<&str> = BTreeSet::new();
    for (address, record) in &state.resources {
        if !address.starts_with("Proposal/") {
            continue;
        }
        let (Some(order), Ok(recorded)) = (
            record.remote_id.as_deref(),
            serde_json::from_value::<ProposalAttributes>(record.attributes.clone()),
        ) else {
            continue;
        };
        known.insert(order);
        let tenant = record.scope.tenant_id.as_deref().unwrap_or_default();
        let Some(listed) = live.proposals_of(tenant, recorded.service.id()) else {
            continue;
        };
        let Some(observed) = listed.iter().find(|o| o.order_id == order) else {
            report.deleted.push(Deleted {
                address: address.clone(),
                remote_id: order.to_string(),
            });
            continue;
        };
        let mut changed = |field: &str, recorded: Value, live: Value| {
            if recorded != live {
                report.changed.push(Changed {
                    address: address.clone(),
                    field: field.into(),
                    recorded,
                    live,
                    live_parent_id: None,
                });
            }
        };
        changed("models", json!(recorded.models), json!(observed.models));
        changed(
            "customerEmail",
            json!(recorded.customer_email),
            json!(observed.customer_email),
        );
        changed(
            "language",
            json!(recorded.language.code()),
            json!(observed.language),
        );
        if let Some(status) = recorded.status_id {
            changed("statusId", json!(status), json!(observed.status_id));
        }
    }
    for (tenant, services) in &live.proposals {
        for (service, listed) in services {
            for observed in listed {
                if !known.contains(observed.order_id.as_str()) {
                    report.unmanaged.push(Unmanaged {
                        tenant: tenant.clone(),
                        kind: format!(
                            "Proposal ({})",
                            crate::resources::proposal_catalog::service_name(*service)
                                .unwrap_or("?")
                        ),
                        remote_id: observed.order_id.clone(),
                        name: observed.order_id.clone(),
                    });
                }
            }
        }
    }
}

/// Redstor: companies renamed, retyped, moved, enabled or disabled, or
/// deleted; subscriptions changed or removed; and companies and
/// subscriptions made outside entitle under the root or managed companies.
fn redstor_drift(state: &State, live: &RedstorLive, report: &mut DriftReport) {
    let root = live.root_id();
    let label = |id: Option<Uuid>| match id {
        Some(id) if id == root => "root".to_string(),
        Some(id) => live
            .company(id)
            .map(|c| c.company_name.clone())
            .unwrap_or_else(|| id.to_string()),
        None => "(none)".into(),
    };
    let mut managed: BTreeSet<Uuid> = BTreeSet::from([root]);
    let mut known_subscriptions: BTreeSet<Uuid> = BTreeSet::new();
    let remote = |record: &crate::state::ResourceState| -> Option<Uuid> {
        record.remote_id.as_deref().and_then(|id| id.parse().ok())
    };
    for (address, record) in &state.resources {
        let Some(id) = remote(record) else { continue };
        if address.starts_with("RedstorCompany/") {
            managed.insert(id);
            let Some(company) = live.company(id) else {
                report.deleted.push(Deleted {
                    address: address.clone(),
                    remote_id: id.to_string(),
                });
                continue;
            };
            let Ok(recorded) =
                serde_json::from_value::<CompanyAttributes>(record.attributes.clone())
            else {
                continue;
            };
            let mut now = observed_company_attributes(company, recorded.parent.clone());
            if redstor::same_name(&now.company_name, &recorded.company_name) {
                // RedAPI does not tell names apart by case.
                now.company_name.clone_from(&recorded.company_name);
            }
            changed_fields(report, address, &json!(recorded), &json!(now), &["parent"]);
            let recorded_parent = record.scope.company();
            if recorded_parent != company.parent_company_id {
                report.changed.push(Changed {
                    address: address.clone(),
                    field: "parent".into(),
                    recorded: json!(label(recorded_parent)),
                    live: json!(label(company.parent_company_id)),
                    live_parent_id: company.parent_company_id.map(|id| id.to_string()),
                });
            }
        } else if address.starts_with("RedstorSubscription/") {
            known_subscriptions.insert(id);
            let company = record.scope.company();
            let Some(listed) = company.and_then(|c| live.subscriptions_of(c)) else {
                continue;
            };
            let observed = listed
                .iter()
                .find(|s| s.subscription_id == id && !redstor::being_removed(s));
            let Some(observed) = observed else {
                report.deleted.push(Deleted {
                    address: address.clone(),
                    remote_id: id.to_string(),
                });
                continue;
            };
            let Ok(recorded) =
                serde_json::from_value::<SubscriptionAttributes>(record.attributes.clone())
            else {
                continue;
            };
            let now = SubscriptionAttributes {
                company: recorded.company.clone(),
                product_id: observed.product_id,
                edition_id: observed.edition_id,
                trial: observed.is_trial(),
            };
            changed_fields(report, address, &json!(recorded), &json!(now), &[]);
        }
    }
    for company in &live.companies {
        if !managed.contains(&company.company_id)
            && company
                .parent_company_id
                .is_some_and(|p| managed.contains(&p))
        {
            report.unmanaged.push(Unmanaged {
                tenant: format!("company {}", label(company.parent_company_id)),
                kind: format!("RedstorCompany ({})", company.company_type.as_str()),
                remote_id: company.company_id.to_string(),
                name: company.company_name.clone(),
            });
        }
    }
    for (company, listed) in &live.subscriptions {
        for subscription in listed {
            if known_subscriptions.contains(&subscription.subscription_id)
                || redstor::being_removed(subscription)
            {
                continue;
            }
            let product = live
                .products
                .iter()
                .find(|p| p.id == subscription.product_id)
                .map(|p| p.short_name.clone().unwrap_or_else(|| p.name.clone()))
                .unwrap_or_else(|| subscription.product_id.to_string());
            report.unmanaged.push(Unmanaged {
                tenant: format!("company {}", label(Some(*company))),
                kind: "RedstorSubscription".into(),
                remote_id: subscription.subscription_id.to_string(),
                name: product,
            });
        }
    }
}

/// Adds a change for each field of `recorded` whose live value differs,
/// but those in `skip`.
fn changed_fields(
    report: &mut DriftReport,
    address: &str,
    recorded: &Value,
    now: &Value,
    skip: &[&str],
) {
    let Some(fields) = recorded.as_object() else {
        return;
    };
    for (field, value) in fields {
        let current = now.get(field).cloned().unwrap_or(Value::Null);
        if *value != current && !skip.contains(&field.as_str()) {
            report.changed.push(Changed {
                address: address.to_string(),
                field: field.clone(),
                recorded: value.clone(),
                live: current,
                live_parent_id: None,
            });
        }
    }
}

/// Text for a terminal.
pub fn text(report: &DriftReport) -> String {
    if report.is_empty() {
        return "No drift: the live state matches the state file.\n".into();
    }
    let mut out = String::new();
    if !report.changed.is_empty() {
        out.push_str("Changed outside entitle:\n");
        for c in &report.changed {
            let _ = writeln!(
                out,
                "  ~ {}: {} = {} (applied: {})",
                c.address, c.field, c.live, c.recorded
            );
        }
    }
    if !report.deleted.is_empty() {
        out.push_str("Deleted outside entitle:\n");
        for d in &report.deleted {
            let _ = writeln!(out, "  - {} (was {})", d.address, d.remote_id);
        }
    }
    if !report.unmanaged.is_empty() {
        out.push_str("Not managed by entitle:\n");
        for u in &report.unmanaged {
            let _ = writeln!(
                out,
                "  ? {} `{}` in {} (id {})",
                u.kind, u.name, u.tenant, u.remote_id
            );
        }
    }
    let _ = writeln!(
        out,
        "\nDrift: {} changed, {} deleted, {} unmanaged.",
        report.changed.len(),
        report.deleted.len(),
        report.unmanaged.len()
    );
    out
}

/// Markdown for a chat or an issue.
pub fn markdown(report: &DriftReport) -> String {
    if report.is_empty() {
        return "### entitle drift: none\n\nThe live state matches the state file.\n".into();
    }
    let mut out = format!(
        "### entitle drift: {} changed, {} deleted, {} unmanaged\n\n| | resource | detail |\n|---|---|---|\n",
        report.changed.len(),
        report.deleted.len(),
        report.unmanaged.len()
    );
    for c in &report.changed {
        let _ = writeln!(
            out,
            "| changed | `{}` | `{}`: {} → {} |",
            c.address, c.field, c.recorded, c.live
        );
    }
    for d in &report.deleted {
        let _ = writeln!(out, "| deleted | `{}` | was `{}` |", d.address, d.remote_id);
    }
    for u in &report.unmanaged {
        let _ = writeln!(
            out,
            "| unmanaged | {} `{}` | in {}, id `{}` |",
            u.kind, u.name, u.tenant, u.remote_id
        );
    }
    out
}
