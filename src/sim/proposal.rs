//! The ECL Proposal API v1 (API.md section 3): submit (create or replace),
//! detail and list, with the vendor's validation of the JSON body and of
//! the XML inside it. Service 6 (Arcserve) is read-only and built from the
//! tenant's Arcserve UDP licenses, so both APIs tell one story.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use super::proposal_xml::{self, SimDocument, SimItem};
use super::reply::{self, Reject};
use super::store::{ArcserveTenant, Phase, StoredProposal};
use super::Shared;
use crate::resources::proposal_catalog::{self, HulftChoice, Language, Service};

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v1/proposal/update/{tenant_id}", post(submit))
        .route(
            "/v1/proposal/detail/{tenant_id}/{service_id}/{order_id}",
            get(detail),
        )
        .route("/v1/proposal/list/{tenant_id}/{service_id}", get(list))
}

/// The tenant id in either spelling (API.md 5), as 32 hex digits, after
/// the token checks.
fn tenant(shared: &Shared, headers: &HeaderMap, raw: &str) -> Result<String, Reject> {
    let compact: String = raw
        .chars()
        .filter(|c| *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    reply::authorize(shared, headers, &compact)?;
    Ok(compact)
}

/// `8f…` -> `8f0c…-…`: the hyphenated form the vendor answers with.
fn hyphenated(tenant: &str) -> String {
    uuid::Uuid::parse_str(tenant)
        .map(|u| u.hyphenated().to_string())
        .unwrap_or_else(|_| tenant.to_string())
}

fn stamp(t: OffsetDateTime) -> String {
    t.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]"
    ))
    .unwrap_or_default()
}

fn language_header(headers: &HeaderMap) -> Result<Language, Reject> {
    headers
        .get("language")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u32>().ok())
        .and_then(Language::from_id)
        .ok_or_else(|| reply::bad_request("the Language header must be 1 (Japanese) or 2 (English)"))
}

fn service_param(text: &str) -> Result<u32, Reject> {
    let id: u32 = text
        .parse()
        .map_err(|_| reply::bad_request(format!("`service_id` must be an integer, got `{text}`")))?;
    if proposal_catalog::service_name(id).is_none() {
        return Err(reply::not_found(format!("service {id} has no proposals")));
    }
    Ok(id)
}

async fn submit(
    State(shared): State<Arc<Shared>>,
    Path(tenant_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Reject> {
    let tenant_id = tenant(&shared, &headers, &tenant_id)?;
    let body = reply::body_object(&body)?;
    let number = |name: &str| body.get(name).and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok());
    let language = number("Language")
        .and_then(Language::from_id)
        .ok_or_else(|| reply::bad_request("`Language` must be 1 (Japanese) or 2 (English)"))?;
    let service = number("ServiceId")
        .and_then(Service::from_id)
        .ok_or_else(|| reply::bad_request("`ServiceId` must be one of 1, 5, 8, 13, 16"))?;
    let email = body
        .get("CustomerEMailAddress")
        .and_then(Value::as_str)
        .filter(|e| valid_email(e))
        .ok_or_else(|| reply::bad_request("`CustomerEMailAddress` must be an e-mail address"))?
        .to_string();
    let xml = body
        .get("ProposalXml")
        .and_then(Value::as_str)
        .ok_or_else(|| reply::bad_request("`ProposalXml` is required"))?;
    let order_id = match body.get("OrderId") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) if !id.is_empty() => Some(id.clone()),
        Some(_) => return Err(reply::bad_request("`OrderId` must be a non-empty string")),
    };
    let document = proposal_xml::parse(service, xml)
        .map_err(|err| reply::bad_request(format!("`ProposalXml` is not valid: {err}")))?;
    check_document(service, language, &document)?;

    let order_id = {
        let mut store = shared.store();
        let now = store.now();
        let proposals = store.proposals.entry(tenant_id).or_default();
        match order_id {
            Some(id) => {
                let existing = proposals
                    .iter_mut()
                    .find(|p| p.order_id == id && p.service_id == service.id())
                    .ok_or_else(|| reply::not_found(format!("order {id} not found for service {}", service.id())))?;
                existing.language = language.code().to_string();
                existing.customer_email = email;
                existing.rows = document.rows;
                existing.update_date = now;
                id
            }
            None => {
                let id = uuid::Uuid::new_v4().to_string();
                proposals.push(StoredProposal {
                    order_id: id.clone(),
                    service_id: service.id(),
                    status_id: 1,
                    language: language.code().to_string(),
                    customer_email: email,
                    rows: document.rows,
                    proposal_date: now,
                    update_date: now,
                });
                id
            }
        }
    };
    shared.persist();
    Ok(reply::json(StatusCode::OK, json!({ "OrderId": order_id, "Result": true })))
}

/// The vendor's rules for the document inside the body.
fn check_document(service: Service, language: Language, document: &SimDocument) -> Result<(), Reject> {
    if document.language != language.code() {
        return Err(reply::bad_request(format!(
            "the document's Language `{}` does not match Language {}",
            document.language,
            language.id()
        )));
    }
    if !service.takes_rows() && !document.rows.is_empty() {
        return Err(reply::bad_request("Power Systems proposals must have empty Models"));
    }
    for (index, row) in document.rows.iter().enumerate() {
        let at = format!("row {}", index + 1);
        if row.row_number as usize != index + 1 {
            return Err(reply::bad_request(format!(
                "{at}: RowNumber must count from 1, found {}",
                row.row_number
            )));
        }
        if row.status != 1 {
            return Err(reply::bad_request(format!("{at}: Status must be 1")));
        }
        if uuid::Uuid::parse_str(&row.uuid).is_err() {
            return Err(reply::bad_request(format!("{at}: Uuid `{}` is not a UUID", row.uuid)));
        }
        if row.number == 0 {
            return Err(reply::bad_request(format!("{at}: Number must be at least 1")));
        }
        match &row.item {
            SimItem::Hulft { dc, product, cluster, aes, script, license_pack, name, .. } => {
                if !service.is_hulft() {
                    return Err(reply::bad_request(format!("{at}: a HULFT row in a {} proposal", service.name())));
                }
                if !matches!(dc.as_str(), "jp1" | "jp2" | "jp3" | "jp4" | "jp5" | "jp6" | "jp7") {
                    return Err(reply::bad_request(format!("{at}: Dc must be jp1 to jp7, got `{dc}`")));
                }
                let choice = HulftChoice {
                    product: product.clone(),
                    license_pack: license_pack.clone(),
                    cluster: cluster.clone(),
                    aes: aes.clone(),
                    script: script.clone(),
                    name: Some(name.clone()),
                };
                let found = proposal_catalog::find_hulft(&choice)
                    .map_err(|miss| reply::bad_request(format!("{at}: {}", miss.message)))?;
                // The cells must be spelt in the proposal's language.
                let spelt = |cell: Option<proposal_catalog::Text>, value: &Option<String>| {
                    cell.map(|t| t.get(language).to_string()) == value.clone().filter(|v| !v.is_empty())
                };
                if found.product.get(language) != product
                    || found.name.get(language) != name
                    || !spelt(found.cluster, cluster)
                    || !spelt(found.aes, aes)
                    || !spelt(found.script, script)
                    || !spelt(found.license_pack, license_pack)
                {
                    return Err(reply::bad_request(format!(
                        "{at}: the combination must be spelt in {}",
                        if language == Language::Ja { "Japanese" } else { "English" }
                    )));
                }
            }
            SimItem::Plan { id } => {
                if service.is_hulft() {
                    return Err(reply::bad_request(format!("{at}: HULFT rows name a product")));
                }
                let plan = proposal_catalog::find_generic_plan(service, &id.to_string())
                    .map_err(|message| reply::bad_request(format!("{at}: {message}")))?;
                let _ = plan;
            }
        }
    }
    Ok(())
}

fn valid_email(email: &str) -> bool {
    let mut parts = email.split('@');
    matches!((parts.next(), parts.next(), parts.next()), (Some(l), Some(d), None) if !l.is_empty() && !d.is_empty())
        && email.chars().count() <= 254
        && !email.chars().any(char::is_whitespace)
}

/// One proposal in the vendor's response shape.
fn record_json(tenant: &str, proposal: &StoredProposal, language: Language) -> Value {
    json!({
        "OrderId": proposal.order_id,
        "ServiceId": proposal.service_id,
        "StatusId": proposal.status_id,
        "TenantId": hyphenated(tenant),
        "ChargeStartDate": null,
        "ChargeEndDate": null,
        "ChargeChangeDate": null,
        "ChargeExpectedDate": null,
        "DeleteDate": null,
        "ProposalDate": stamp(proposal.proposal_date),
        "UpdateDate": stamp(proposal.update_date),
        "ProposalXml": proposal_xml::render(proposal, language),
    })
}

/// The Arcserve orders of a tenant as proposals (service 6).
fn arcserve_records(tenant: &str, data: &ArcserveTenant, now: OffsetDateTime, language: Language) -> Vec<(String, Value)> {
    data.orders
        .iter()
        .filter(|o| o.order_type == "new")
        .map(|order| {
            let licenses: Vec<_> = data
                .licenses
                .iter()
                .filter(|l| l.order_id == order.id && l.phase(now) != Phase::Gone)
                .collect();
            let xml = proposal_xml::render_arcserve(order, &licenses, now, language);
            let record = json!({
                "OrderId": order.id.to_string(),
                "ServiceId": 6,
                "StatusId": 1,
                "TenantId": hyphenated(tenant),
                "ChargeStartDate": stamp(order.created_at),
                "ChargeEndDate": null,
                "ChargeChangeDate": null,
                "ChargeExpectedDate": null,
                "DeleteDate": null,
                "ProposalDate": stamp(order.created_at),
                "UpdateDate": stamp(order.created_at),
                "ProposalXml": xml,
            });
            (order.id.to_string(), record)
        })
        .collect()
}

/// Every proposal of a service in a tenant, in the vendor's shape.
fn records(shared: &Shared, tenant: &str, service: u32, language: Language) -> Vec<(String, Value)> {
    let store = shared.store();
    if service == 6 {
        let now = store.now();
        return store
            .arcserve
            .get(tenant)
            .map(|data| arcserve_records(tenant, data, now, language))
            .unwrap_or_default();
    }
    store
        .proposals
        .get(tenant)
        .into_iter()
        .flatten()
        .filter(|p| p.service_id == service)
        .map(|p| (p.order_id.clone(), record_json(tenant, p, language)))
        .collect()
}

async fn detail(
    State(shared): State<Arc<Shared>>,
    Path((tenant_id, service_id, order_id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, Reject> {
    let tenant_id = tenant(&shared, &headers, &tenant_id)?;
    let service = service_param(&service_id)?;
    let language = language_header(&headers)?;
    let found = records(&shared, &tenant_id, service, language)
        .into_iter()
        .find(|(id, _)| *id == order_id)
        .ok_or_else(|| reply::not_found(format!("order {order_id} not found")))?;
    Ok(reply::json(StatusCode::OK, json!({ "Proposals": found.1 })))
}

async fn list(
    State(shared): State<Arc<Shared>>,
    Path((tenant_id, service_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Reject> {
    let tenant_id = tenant(&shared, &headers, &tenant_id)?;
    let service = service_param(&service_id)?;
    let language = language_header(&headers).unwrap_or(Language::Ja);
    let all: Vec<Value> = records(&shared, &tenant_id, service, language)
        .into_iter()
        .map(|(_, record)| record)
        .collect();
    Ok(reply::json(StatusCode::OK, json!({ "Proposalses": all })))
}
