//! Subscriptions (`/companies/{companyId}/subscriptions...`): bought, taken
//! as a trial, converted, removed. A removal is done at once (200) for a
//! trial or a subscription with no protected data yet; otherwise it is
//! queued (202): the subscription stays listed, inactive, for the
//! simulator's provisioning delay, then is gone.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use super::super::Shared;
use super::auth::Access;
use super::catalog;
use super::companies::body_object;
use super::data::{Plan, Removal, Subscription};
use super::paging;
use super::problem::{Problem, bad_request, not_found, unprocessable};
use super::{Ctx, handle, parse_id};
use crate::sim::Behaviour;

pub fn subscription_json(subscription: &Subscription, now: time::OffsetDateTime) -> Value {
    json!({
        "productId": subscription.product_id,
        "editionId": subscription.edition_id,
        "subscriptionId": subscription.id,
        "isActive": subscription.is_active(now),
        "trialStatus": subscription.trial_status(now),
    })
}

pub async fn list(
    State(shared): State<Arc<Shared>>,
    Path(company_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    handle(&shared, &headers, Access::Read, |ctx| {
        let id = ctx.company_id(&company_id)?;
        let items: Vec<Value> = ctx
            .data
            .subscriptions_of(id)
            .into_iter()
            .map(|s| subscription_json(s, ctx.now))
            .collect();
        Ok(paging::json_or_empty(StatusCode::OK, Value::Array(items)))
    })
}

fn add(ctx: &mut Ctx, company_id: &str, body: &[u8], trial: bool) -> Result<Response, Problem> {
    let company = ctx.company_id(company_id)?;
    let body = body_object(body)?;
    let number = |name: &str| {
        body.get(name)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| bad_request(format!("`{name}` must be a product catalog id")))
    };
    let (product_id, edition_id) = (number("productId")?, number("editionId")?);
    let product = catalog::product(product_id)
        .ok_or_else(|| bad_request(format!("product {product_id} does not exist")))?;
    let edition = product.edition(edition_id).ok_or_else(|| {
        bad_request(format!(
            "edition {edition_id} is not an edition of product {product_id} ({})",
            product.short_name
        ))
    })?;
    if trial && !edition.has_trial {
        return Err(unprocessable(format!(
            "{} {} has no trial",
            product.short_name, edition.name
        )));
    }
    let existing = ctx
        .data
        .subscriptions_of(company)
        .into_iter()
        .find(|s| s.product_id == product_id && s.removal.is_none());
    if let Some(existing) = existing {
        return Err(ctx.duplicate(format!(
            "company {company} already has subscription {} to product {product_id}",
            existing.id
        )));
    }
    let subscription = Subscription {
        id: Uuid::new_v4(),
        company,
        product_id,
        edition_id,
        plan: if trial { Plan::Trial } else { Plan::Paid },
        created_at: ctx.now,
        removal: None,
    };
    let body = subscription_json(&subscription, ctx.now);
    ctx.data.add_subscription(subscription);
    ctx.changed = true;
    if ctx.behaves(Behaviour::Empty204) {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok((ctx.done(StatusCode::CREATED), Json(body)).into_response())
}

pub async fn create(
    State(shared): State<Arc<Shared>>,
    Path(company_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(&shared, &headers, Access::Write, |ctx| {
        add(ctx, &company_id, &body, false)
    })
}

pub async fn trial(
    State(shared): State<Arc<Shared>>,
    Path(company_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(&shared, &headers, Access::Write, |ctx| {
        add(ctx, &company_id, &body, true)
    })
}

/// The index of a company's subscription, or 404.
fn find(ctx: &Ctx, company: Uuid, subscription_id: &str) -> Result<usize, Problem> {
    parse_id(subscription_id)
        .and_then(|id| ctx.data.subscription_at(company, id))
        .ok_or_else(|| not_found(format!("subscription {subscription_id} not found")))
}

pub async fn convert(
    State(shared): State<Arc<Shared>>,
    Path((company_id, subscription_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    handle(&shared, &headers, Access::Write, |ctx| {
        let company = ctx.company_id(&company_id)?;
        let index = find(ctx, company, &subscription_id)?;
        let now = ctx.now;
        let subscription = ctx.data.subscription_mut(index);
        let status = subscription.trial_status(now);
        if status != "Active" || subscription.removal.is_some() {
            return Err(unprocessable(format!(
                "subscription {} is not an active trial (trialStatus {status})",
                subscription.id
            )));
        }
        subscription.plan = Plan::Converted;
        ctx.changed = true;
        let body = subscription_json(subscription, now);
        Ok((StatusCode::OK, Json(body)).into_response())
    })
}

pub async fn remove(
    State(shared): State<Arc<Shared>>,
    Path((company_id, subscription_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    handle(&shared, &headers, Access::Write, |ctx| {
        let company = ctx.company_id(&company_id)?;
        let index = find(ctx, company, &subscription_id)?;
        let now = ctx.now;
        let delay = time::Duration::try_from(ctx.removal_delay).unwrap_or(time::Duration::ZERO);
        let subscription = ctx.data.subscription_mut(index);
        if subscription.removal.is_some() {
            return Ok(StatusCode::ACCEPTED.into_response());
        }
        ctx.changed = true;
        if subscription.has_protected_data(now) {
            subscription.removal = Some(Removal {
                requested_at: now,
                gone_at: now + delay,
            });
            ctx.data.expiring_added();
            return Ok(StatusCode::ACCEPTED.into_response());
        }
        ctx.data.remove_subscription(index);
        Ok(StatusCode::OK.into_response())
    })
}
