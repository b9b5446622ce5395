//! Drift of the Redstor kinds: companies renamed, retyped, moved, enabled
//! or disabled, or deleted; subscriptions changed or removed; and what was
//! made outside entitle under the root or managed companies. A trial that
//! expired by itself is status, not drift.

use crate::manifest::Address;
use std::collections::BTreeSet;

use serde_json::json;
use uuid::Uuid;

use super::observe::RedstorLive;
use super::plan::{
    CompanyAttributes, SubscriptionAttributes, being_removed, observed_company_attributes,
    same_name,
};
use crate::api::redstor::TrialStatus;
use crate::report::drift::{Changed, Deleted, DriftReport, StatusMove, Unmanaged, changed_fields};
use crate::resources::Kind;
use crate::state::State;

/// Redstor: companies renamed, retyped, moved, enabled or disabled, or
/// deleted; subscriptions changed or removed; and companies and
/// subscriptions made outside entitle under the root or managed companies.
pub fn drift(state: &State, live: &RedstorLive, report: &mut DriftReport) {
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
    let container = |id: Option<Uuid>| -> Option<Address> {
        let id = id?.to_string();
        state
            .of_kind(Kind::RedstorCompany)
            .find(|(_, record)| record.remote_id.as_deref() == Some(id.as_str()))
            .map(|(address, _)| address.clone())
    };
    let mut known_subscriptions: BTreeSet<Uuid> = BTreeSet::new();
    let remote = |record: &crate::state::ResourceState| -> Option<Uuid> {
        record.remote_id.as_deref().and_then(|id| id.parse().ok())
    };
    for (address, record) in &state.resources {
        let Some(id) = remote(record) else { continue };
        if address.kind == Kind::RedstorCompany {
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
            if same_name(&now.company_name, &recorded.company_name) {
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
        } else if address.kind == Kind::RedstorSubscription {
            known_subscriptions.insert(id);
            let company = record.scope.company();
            let Some(listed) = company.and_then(|c| live.subscriptions_of(c)) else {
                continue;
            };
            let observed = listed
                .iter()
                .find(|s| s.subscription_id == id && !being_removed(s));
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
            if recorded.trial && observed.trial_status == TrialStatus::Expired {
                // The trial ran out by itself; `trial` (which the manifest
                // declares) still holds: status, not drift.
                report.status.push(StatusMove {
                    address: address.clone(),
                    field: "trialStatus".into(),
                    recorded: None,
                    live: json!("Expired"),
                    name: Some("trial expired".into()),
                });
            }
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
                container: container(company.parent_company_id),
                kind: Kind::RedstorCompany,
                detail: Some(company.company_type.as_str().to_string()),
                remote_id: company.company_id.to_string(),
                name: company.company_name.clone(),
            });
        }
    }
    for (company, listed) in &live.subscriptions {
        for subscription in listed {
            if known_subscriptions.contains(&subscription.subscription_id)
                || being_removed(subscription)
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
                container: container(Some(*company)),
                kind: Kind::RedstorSubscription,
                detail: None,
                remote_id: subscription.subscription_id.to_string(),
                name: product,
            });
        }
    }
}
