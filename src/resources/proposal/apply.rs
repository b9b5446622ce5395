//! Sending proposals. A create writes a `creating` record first; when its
//! answer is lost it is looked for in the tenant's list by its rows' UUIDs
//! (adopted if there, sent again if not). A replace carries the `OrderId`
//! and may be repeated. After either, the proposal is read once for its
//! status, which drift compares later.

use serde_json::json;

use super::plan::{ProposalAttributes, READ_LANGUAGE, observe, to_xml};
use crate::api::proposal::{ProposalClient, Submission};
use crate::apply::executor::Context;
use crate::plan::model::{Action, Operation, ProposalSubmission};
use crate::resources::proposal_catalog::Service;
use crate::state::{ResourceState, Status};

/// How many times an ambiguous create is resolved and retried.
const AMBIGUOUS_ROUNDS: usize = 3;

/// Carries out a proposal operation.
pub async fn apply(action: &Action, context: &Context) -> Result<String, String> {
    let Operation::SubmitProposal(submission) = &action.operation else {
        return Err(format!("{}: not a proposal operation", action.id));
    };
    let address = action.addresses.first().cloned().unwrap_or_default();
    let tenant = &submission.tenant;
    let client = context
        .clients
        .proposal_for(
            &tenant.tenant_id,
            &tenant.region,
            tenant.endpoint.as_deref(),
        )
        .map_err(|e| e.to_string())?;
    let service = Service::from_id(submission.service_id)
        .ok_or_else(|| format!("service {} takes no proposals", submission.service_id))?;
    let body = |order_id: Option<String>| Submission {
        language: submission.language.id(),
        service_id: submission.service_id,
        customer_email: submission.customer_email.clone(),
        proposal_xml: to_xml(
            service,
            submission.language,
            &submission.customer_email,
            order_id.as_deref(),
            &submission.models,
        ),
        order_id,
    };

    let order_id = match &submission.order_id {
        Some(order) => {
            client
                .submit(&body(Some(order.clone())))
                .await
                .map_err(|e| e.to_string())?;
            order.clone()
        }
        None => create(context, &client, &address, submission, &body(None)).await?,
    };
    let status = client
        .detail(submission.service_id, &order_id, READ_LANGUAGE)
        .await
        .map(|record| record.status_id)
        .ok();
    let mut attributes: ProposalAttributes =
        serde_json::from_value(submission.attributes.clone()).map_err(|e| e.to_string())?;
    attributes.status_id = status;
    let record = ResourceState {
        remote_id: Some(order_id.clone()),
        status: Status::Ready,
        attributes: json!(attributes),
        ..new_record(submission)
    };
    context
        .recorder
        .set(&address, Some(record))
        .await
        .map_err(|err| {
            format!("{err}\n  the proposal {order_id} was sent; the state could not record it")
        })?;
    Ok(match &submission.order_id {
        Some(_) => format!("replaced order {order_id}"),
        None => format!("created order {order_id}"),
    })
}

fn new_record(submission: &ProposalSubmission) -> ResourceState {
    ResourceState {
        remote_id: None,
        scope: crate::resources::ecl_tenant::scope(&submission.tenant),
        natural_key: submission.name.clone(),
        attributes: submission.attributes.clone(),
        dependencies: submission.dependencies.clone(),
        status: Status::Creating,
        lifecycle: submission.lifecycle.clone(),
    }
}

/// Sends a new proposal; resolves a lost answer through the list.
async fn create(
    context: &Context,
    client: &ProposalClient,
    address: &str,
    submission: &ProposalSubmission,
    body: &Submission,
) -> Result<String, String> {
    context
        .recorder
        .set(address, Some(new_record(submission)))
        .await
        .map_err(|err| format!("{err}\n  nothing was sent to the server"))?;
    let ours: std::collections::BTreeSet<&str> =
        submission.models.iter().map(|m| m.uuid.as_str()).collect();
    let mut uncertain = false;
    for _ in 0..AMBIGUOUS_ROUNDS {
        match client.submit(body).await {
            Ok(order_id) => return Ok(order_id),
            Err(err) => {
                let definite = err.status().is_some_and(|s| (400..500).contains(&s));
                if definite && !uncertain {
                    // Certainly not created: the record must not claim otherwise.
                    let _ = context.recorder.set(address, None).await;
                    return Err(err.to_string());
                }
                uncertain = true;
                if ours.is_empty() {
                    // A proposal without rows cannot be told apart in the
                    // list: never send it again blindly.
                    return Err(format!(
                        "{err}\n  a proposal without rows cannot be found again by its rows; the state keeps a `creating` record, and the next plan says what to check"
                    ));
                }
                tracing::warn!("{address}: {err}; looking for it in the tenant's list");
                let listed = client
                    .list(submission.service_id, READ_LANGUAGE)
                    .await
                    .map_err(|e| e.to_string())?;
                let found = listed.iter().map(observe).find(|o| {
                    o.models
                        .iter()
                        .map(|m| m.uuid.as_str())
                        .collect::<std::collections::BTreeSet<_>>()
                        == ours
                });
                if let Some(found) = found {
                    return Ok(found.order_id);
                }
                if definite {
                    return Err(format!(
                        "{err}\n  an earlier attempt may have made it; the state keeps a `creating` record, and the next apply looks for it again"
                    ));
                }
            }
        }
    }
    Err(format!(
        "{address}: the create stayed ambiguous after {AMBIGUOUS_ROUNDS} read-backs; the state keeps a `creating` record, and the next apply looks for it again"
    ))
}
