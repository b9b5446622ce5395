//! Drift of proposals: rows, e-mail or language changed, gone from the
//! list; and proposals of the listed services that no state knows. A status
//! the vendor's workflow moved on is reported as status, not drift.

use crate::manifest::Address;
use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::observe::ProposalsLive;
use super::plan::ProposalAttributes;
use crate::report::drift::{Changed, Deleted, DriftReport, StatusMove, Unmanaged};
use crate::resources::Kind;
use crate::state::State;

/// Proposals: rows, e-mail or language changed, status moved, gone from
/// the list; and proposals of the listed services that no state knows.
pub fn drift(state: &State, live: &ProposalsLive, report: &mut DriftReport) {
    let mut known: BTreeSet<&str> = BTreeSet::new();
    for (address, record) in state.of_kind(Kind::Proposal) {
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
        // The vendor's workflow moves the status on: status, not drift.
        // The documents give no names for its values: the number it is.
        if let Some(status) = recorded.status_id.filter(|s| *s != observed.status_id) {
            report.status.push(StatusMove {
                address: address.clone(),
                field: "statusId".into(),
                recorded: Some(json!(status)),
                live: json!(observed.status_id),
                name: None,
            });
        }
    }
    for (tenant, services) in &live.proposals {
        for (service, listed) in services {
            for observed in listed {
                if !known.contains(observed.order_id.as_str()) {
                    report.unmanaged.push(Unmanaged {
                        tenant: tenant.clone(),
                        container: Some(Address::new(Kind::EclTenant, tenant.clone())),
                        kind: Kind::Proposal,
                        detail: Some(
                            crate::resources::proposal_catalog::service_name(*service)
                                .unwrap_or("?")
                                .to_string(),
                        ),
                        remote_id: observed.order_id.clone(),
                        name: observed.order_id.clone(),
                    });
                }
            }
        }
    }
}
