//! Sending proposals. A create writes a `creating` record first; when its
//! answer is lost it is looked for in the tenant's list by its rows' UUIDs
//! (adopted if there, sent again if not). A replace carries the `OrderId`
//! and may be repeated. After either, the proposal is read once for its
//! status, which drift compares later.

use std::collections::BTreeSet;

use serde_json::json;

use super::observe::observe;
use super::operation::{ProposalOperation, ProposalSubmission};
use super::plan::{ProposalAttributes, READ_LANGUAGE, to_xml};
use crate::api::proposal::{ProposalClient, Submission};
use crate::apply::context::{ApplyError, Context, subject};
use crate::apply::steps::{Resolution, create_resolving};
use crate::manifest::Address;
use crate::plan::model::Action;
use crate::resources::proposal_catalog::Service;
use crate::state::{ResourceState, Status};

/// Carries out a proposal operation.
pub async fn apply(
    operation: &ProposalOperation,
    action: &Action,
    context: &Context,
) -> Result<String, ApplyError> {
    let ProposalOperation::SubmitProposal(submission) = operation;
    let address = subject(action)?;
    let tenant = &submission.tenant;
    let client = context.clients.proposal_for(
        &tenant.tenant_id,
        &tenant.region,
        tenant.endpoint.as_deref(),
    )?;
    let service = Service::from_id(submission.service_id).ok_or_else(|| {
        ApplyError::refused(
            format!("service {} takes no proposals", submission.service_id),
            "plan again: the manifest checks refuse such a proposal",
        )
    })?;
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
            client.submit(&body(Some(order.clone()))).await?;
            order.clone()
        }
        None => create(context, &client, address, submission, &body(None)).await?,
    };
    let status = client
        .detail(submission.service_id, &order_id, READ_LANGUAGE)
        .await
        .map(|record| record.status_id)
        .ok();
    let mut attributes: ProposalAttributes = serde_json::from_value(submission.attributes.clone())
        .map_err(|err| {
            ApplyError::refused(
                format!("the plan's proposal attributes do not read back: {err}"),
                "plan again with this version of entitle",
            )
        })?;
    attributes.status_id = status;
    let record = ResourceState {
        remote_id: Some(order_id.clone()),
        status: Status::Ready,
        attributes: json!(attributes),
        ..new_record(submission)
    };
    context
        .recorder
        .set(address, Some(record))
        .await
        .map_err(|source| ApplyError::Record {
            source,
            then: "the proposal was sent; the state could not record it",
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
    address: &Address,
    submission: &ProposalSubmission,
    body: &Submission,
) -> Result<String, ApplyError> {
    context
        .record_before_sending(address, Some(new_record(submission)))
        .await?;
    let ours: &BTreeSet<&str> = &submission.models.iter().map(|m| m.uuid.as_str()).collect();
    let resolution = Resolution {
        next: "the next apply looks for it again",
        read_back_first: false,
    };
    create_resolving(
        context,
        address,
        resolution,
        || async move { Ok(client.submit(body).await?) },
        |err| {
            // A proposal without rows cannot be told apart in the list:
            // never send it again blindly.
            let rowless = ours.is_empty().then(|| {
                ApplyError::Unconfirmed(format!(
                    "{err}\n  a proposal without rows cannot be found again by its rows; the state keeps a `creating` record, and the next plan says what to check"
                ))
            });
            find_by_rows(client, submission.service_id, ours, rowless)
        },
    )
    .await
}

/// The order id of the proposal whose rows have exactly the UUIDs `ours`;
/// `rowless` is the answer when there are none to look for.
async fn find_by_rows(
    client: &ProposalClient,
    service_id: u32,
    ours: &BTreeSet<&str>,
    rowless: Option<ApplyError>,
) -> Result<Option<String>, ApplyError> {
    if let Some(err) = rowless {
        return Err(err);
    }
    let listed = client.list(service_id, READ_LANGUAGE).await?;
    Ok(listed
        .iter()
        .map(observe)
        .find(|o| {
            o.models
                .iter()
                .map(|m| m.uuid.as_str())
                .collect::<BTreeSet<_>>()
                == *ours
        })
        .map(|found| found.order_id))
}
