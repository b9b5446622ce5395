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
use crate::state::{ResourceState, State};

/// Redstor: companies renamed, retyped, moved, enabled or disabled, or
/// deleted; subscriptions changed or removed; and companies and
/// subscriptions made outside entitle under the root or managed companies.
pub fn drift(state: &State, live: &RedstorLive, report: &mut DriftReport) {
    let account = Account { state, live };
    let mut managed: BTreeSet<Uuid> = BTreeSet::from([live.root_id()]);
    let mut known_subscriptions: BTreeSet<Uuid> = BTreeSet::new();
    for (address, record) in &state.resources {
        let Some(id) = record.remote_id.as_deref().and_then(|id| id.parse().ok()) else {
            continue;
        };
        if address.kind == Kind::RedstorCompany {
            managed.insert(id);
            account.company_drift(address, record, id, report);
        } else if address.kind == Kind::RedstorSubscription {
            known_subscriptions.insert(id);
            subscription_drift(live, address, record, id, report);
        }
    }
    account.unmanaged_companies(&managed, report);
    account.unmanaged_subscriptions(&known_subscriptions, report);
}

/// The state and the account it is compared with.
struct Account<'a> {
    state: &'a State,
    live: &'a RedstorLive,
}

impl Account<'_> {
    /// A company as messages name it: `root`, its name, or its id.
    fn label(&self, id: Option<Uuid>) -> String {
        match id {
            Some(id) if id == self.live.root_id() => "root".to_string(),
            Some(id) => self
                .live
                .company(id)
                .map(|c| c.company_name.clone())
                .unwrap_or_else(|| id.to_string()),
            None => "(none)".into(),
        }
    }

    /// The managed company whose object is `id`.
    fn container(&self, id: Option<Uuid>) -> Option<Address> {
        let id = id?.to_string();
        self.state
            .of_kind(Kind::RedstorCompany)
            .find(|(_, record)| record.remote_id.as_deref() == Some(id.as_str()))
            .map(|(address, _)| address.clone())
    }

    /// A managed company: deleted, or its fields and parent changed.
    fn company_drift(
        &self,
        address: &Address,
        record: &ResourceState,
        id: Uuid,
        report: &mut DriftReport,
    ) {
        let Some(company) = self.live.company(id) else {
            report.deleted.push(Deleted {
                address: address.clone(),
                remote_id: id.to_string(),
            });
            return;
        };
        let Ok(recorded) = serde_json::from_value::<CompanyAttributes>(record.attributes.clone())
        else {
            return;
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
                recorded: json!(self.label(recorded_parent)),
                live: json!(self.label(company.parent_company_id)),
                live_parent_id: company.parent_company_id.map(|id| id.to_string()),
            });
        }
    }

    /// Companies below the root or a managed company that no record knows.
    fn unmanaged_companies(&self, managed: &BTreeSet<Uuid>, report: &mut DriftReport) {
        for company in &self.live.companies {
            if !managed.contains(&company.company_id)
                && company
                    .parent_company_id
                    .is_some_and(|p| managed.contains(&p))
            {
                report.unmanaged.push(Unmanaged {
                    tenant: format!("company {}", self.label(company.parent_company_id)),
                    container: self.container(company.parent_company_id),
                    kind: Kind::RedstorCompany,
                    detail: Some(company.company_type.as_str().to_string()),
                    remote_id: company.company_id.to_string(),
                    name: company.company_name.clone(),
                });
            }
        }
    }

    /// Subscriptions of listed companies that no record knows (those being
    /// removed left out).
    fn unmanaged_subscriptions(&self, known: &BTreeSet<Uuid>, report: &mut DriftReport) {
        for (company, listed) in &self.live.subscriptions {
            for subscription in listed {
                if known.contains(&subscription.subscription_id) || being_removed(subscription) {
                    continue;
                }
                let product = self
                    .live
                    .products
                    .iter()
                    .find(|p| p.id == subscription.product_id)
                    .map(|p| p.short_name.clone().unwrap_or_else(|| p.name.clone()))
                    .unwrap_or_else(|| subscription.product_id.to_string());
                report.unmanaged.push(Unmanaged {
                    tenant: format!("company {}", self.label(Some(*company))),
                    container: self.container(Some(*company)),
                    kind: Kind::RedstorSubscription,
                    detail: None,
                    remote_id: subscription.subscription_id.to_string(),
                    name: product,
                });
            }
        }
    }
}

/// A managed subscription: removed, its fields changed, or its trial
/// expired by itself (status, not drift).
fn subscription_drift(
    live: &RedstorLive,
    address: &Address,
    record: &ResourceState,
    id: Uuid,
    report: &mut DriftReport,
) {
    let Some(listed) = record
        .scope
        .company()
        .and_then(|c| live.subscriptions_of(c))
    else {
        return;
    };
    let observed = listed
        .iter()
        .find(|s| s.subscription_id == id && !being_removed(s));
    let Some(observed) = observed else {
        report.deleted.push(Deleted {
            address: address.clone(),
            remote_id: id.to_string(),
        });
        return;
    };
    let Ok(recorded) = serde_json::from_value::<SubscriptionAttributes>(record.attributes.clone())
    else {
        return;
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
