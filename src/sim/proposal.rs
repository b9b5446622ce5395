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

use super::proposal_xml::{self, ArcserveEntry, ArcserveKeyEntry, ArcserveProposal};
use super::reply::{self, Reject};
use super::store::{ArcserveTenant, License, Order, Phase, StoredDocument, StoredProposal};
use super::{Behaviour, Shared, catalog, text};
use crate::resources::proposal_catalog::{self, Language, Service};

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
    let bad_token = if shared.behaves(Behaviour::ProposalAuth401) {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::FORBIDDEN
    };
    reply::authorize(shared, headers, &compact, bad_token)?;
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
        .ok_or_else(|| {
            reply::bad_request("the Language header must be 1 (Japanese) or 2 (English)")
        })
}

fn service_param(text: &str) -> Result<u32, Reject> {
    let id: u32 = text.parse().map_err(|_| {
        reply::bad_request(format!("`service_id` must be an integer, got `{text}`"))
    })?;
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
    let number = |name: &str| {
        body.get(name)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
    };
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
        .ok_or_else(|| reply::bad_request("`CustomerEMailAddress` must be an e-mail address"))?;
    text::printable("`CustomerEMailAddress`", email).map_err(reply::bad_request)?;
    let xml = body
        .get("ProposalXml")
        .and_then(Value::as_str)
        .ok_or_else(|| reply::bad_request("`ProposalXml` is required"))?;
    let order_id = match body.get("OrderId") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) if !id.is_empty() => {
            text::printable("`OrderId`", id).map_err(reply::bad_request)?;
            Some(id.clone())
        }
        Some(_) => return Err(reply::bad_request("`OrderId` must be a non-empty string")),
    };
    let document = read_document(service, language, xml)?;
    check_update_order_id(order_id.as_deref(), &document)?;
    let order_id = {
        let mut store = shared.store();
        let now = store.now();
        let proposals = store.proposals.entry(tenant_id).or_default();
        match order_id {
            Some(id) => {
                let existing = proposals
                    .iter_mut()
                    .find(|p| p.order_id == id && p.service_id == service.id())
                    .ok_or_else(|| {
                        reply::not_found(format!(
                            "order {id} not found for service {}",
                            service.id()
                        ))
                    })?;
                existing.document = document;
                existing.update_date = now;
                id
            }
            None => {
                let id = uuid::Uuid::new_v4().to_string();
                proposals.push(StoredProposal {
                    order_id: id.clone(),
                    service_id: service.id(),
                    document,
                    proposal_date: now,
                    update_date: now,
                });
                id
            }
        }
    };
    shared.persist();
    Ok(reply::json(
        StatusCode::OK,
        json!({ "OrderId": order_id, "Result": true }),
    ))
}

/// Reads and checks the document inside the body, by the vendor's rules;
/// its `Language` must be the body's.
fn read_document(
    service: Service,
    language: Language,
    xml: &str,
) -> Result<StoredDocument, Reject> {
    let invalid = |err: String| reply::bad_request(format!("`ProposalXml` is not valid: {err}"));
    let (document, document_language) = if service.is_hulft() {
        let proposal = proposal_xml::parse_hulft(xml).map_err(invalid)?;
        proposal_xml::check_hulft(&proposal).map_err(invalid)?;
        let code = proposal.language.clone();
        (StoredDocument::Hulft(proposal), code)
    } else {
        let proposal = proposal_xml::parse_generic(xml).map_err(invalid)?;
        proposal_xml::check_generic(service.id(), &proposal).map_err(invalid)?;
        let code = proposal.language.clone();
        (StoredDocument::Generic(proposal), code)
    };
    if document_language != language.code() {
        return Err(reply::bad_request(format!(
            "the document's Language `{document_language}` does not match Language {}",
            language.id()
        )));
    }
    Ok(document)
}

/// An update (a submit with `OrderId`) of a `GenericModels` proposal must
/// name the same order inside the document: Add Proposal marks its
/// `<OrderId>` "required when update". `HulftModels` has no such element.
fn check_update_order_id(order_id: Option<&str>, document: &StoredDocument) -> Result<(), Reject> {
    let (Some(order_id), StoredDocument::Generic(proposal)) = (order_id, document) else {
        return Ok(());
    };
    match proposal.order_id.as_deref() {
        Some(inside) if inside == order_id => Ok(()),
        Some(inside) => Err(reply::bad_request(format!(
            "`ProposalXml` is not valid: its <OrderId> `{inside}` is not the `OrderId` `{order_id}` being updated"
        ))),
        None => Err(reply::bad_request(format!(
            "`ProposalXml` is not valid: <OrderId> is required when updating a proposal; add <OrderId>{order_id}</OrderId> to the <GenericModels> document"
        ))),
    }
}

/// The document as Get Proposal answers it. A HULFT proposal's rows are
/// spelt in its own `<Language>` whatever the `Language` header asks, so
/// that the document reads in one language (the header chooses among the
/// `…En` pairs of `ArcserveModels`; a HULFT row has no such pairs).
fn render(document: &StoredDocument) -> String {
    match document {
        StoredDocument::Hulft(proposal) => {
            let language = Language::from_code(&proposal.language).unwrap_or(Language::En);
            let mut shown = proposal.clone();
            for row in &mut shown.rows {
                if let Ok(found) = proposal_catalog::find_hulft(&row.choice()) {
                    let text =
                        |t: Option<proposal_catalog::Text>| t.map(|t| t.get(language).to_string());
                    row.product = found.product.get(language).to_string();
                    row.cluster = text(found.cluster);
                    row.aes = text(found.aes);
                    row.script = text(found.script);
                    row.license_pack = text(found.license_pack);
                    row.name = found.name.get(language).to_string();
                }
            }
            proposal_xml::render_hulft(&shown)
        }
        StoredDocument::Generic(proposal) => proposal_xml::render_generic(proposal),
    }
}

fn valid_email(email: &str) -> bool {
    let mut parts = email.split('@');
    matches!((parts.next(), parts.next(), parts.next()), (Some(l), Some(d), None) if !l.is_empty() && !d.is_empty())
        && email.chars().count() <= 254
        && !email.chars().any(char::is_whitespace)
}

/// One proposal in the vendor's response shape. Its status is 1 (under
/// review) after a submission, and 2 (accepted) once the simulator's
/// provisioning delay has passed since the last one. The charge and delete
/// dates stay null: Get Proposal fills them "Only SAP HANA", a service no
/// one can submit to.
fn record_json(tenant: &str, proposal: &StoredProposal, accepted_since: OffsetDateTime) -> Value {
    let status = if proposal.update_date <= accepted_since {
        2
    } else {
        1
    };
    json!({
        "OrderId": proposal.order_id,
        "ServiceId": proposal.service_id,
        "StatusId": status,
        "TenantId": hyphenated(tenant),
        "ChargeStartDate": null,
        "ChargeEndDate": null,
        "ChargeChangeDate": null,
        "ChargeExpectedDate": null,
        "DeleteDate": null,
        "ProposalDate": stamp(proposal.proposal_date),
        "UpdateDate": stamp(proposal.update_date),
        "ProposalXml": render(&proposal.document),
    })
}

/// The Arcserve orders of a tenant as proposals (service 6).
fn arcserve_records(
    tenant: &str,
    data: &ArcserveTenant,
    now: OffsetDateTime,
    language: Language,
) -> Vec<(String, Value)> {
    data.orders
        .iter()
        .filter(|o| o.order_type == "new")
        .map(|order| {
            let licenses: Vec<_> = data
                .licenses
                .iter()
                .filter(|l| l.order_id == order.id && l.phase(now) != Phase::Gone)
                .collect();
            let xml = arcserve_document(order, &licenses, now, language);
            let record = json!({
                "OrderId": order.id.to_string(),
                "ServiceId": 6,
                "StatusId": 1,
                "TenantId": hyphenated(tenant),
                // The charge and delete dates are "Only SAP HANA" in Get
                // Proposal; an Arcserve order's charge start is in its XML.
                "ChargeStartDate": null,
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

/// An Arcserve order and its licenses as an `ArcserveModels` document.
fn arcserve_document(
    order: &Order,
    licenses: &[&License],
    now: OffsetDateTime,
    language: Language,
) -> String {
    let plan = licenses.first().and_then(|l| catalog::plan(&l.plan_id));
    let pick = |ja: &str, en: &str| {
        if language == Language::Ja {
            ja.to_string()
        } else {
            en.to_string()
        }
    };
    let entries = licenses
        .iter()
        .map(|license| {
            let plan = catalog::plan(&license.plan_id);
            let phase = license.phase(now);
            ArcserveEntry {
                uuid: license.id.to_string(),
                status_id: Some(if phase == Phase::Active { "2" } else { "1" }.into()),
                status_name: Some(pick(
                    if phase == Phase::Active {
                        "提供中"
                    } else {
                        "手配中"
                    },
                    phase.as_str(),
                )),
                status_name_en: Some(phase.as_str().into()),
                license_id: Some(license.id.to_string()),
                license_name1: plan.map(|p| p.name_ja.to_string()),
                license_name1_en: plan.map(|p| p.name_en.to_string()),
                license_name2: Some("Hypervisor".into()),
                license_name2_en: Some("Hypervisor".into()),
                license_name3: None,
                license_name3_en: None,
                quantity_win: Some(license.number_of_standalone_keys.to_string()),
                quantity_lin: Some("0".into()),
                charge_start_date: Some(stamp(license.created_at)),
                charge_end_date: None,
                proposal_date: Some(stamp(license.created_at)),
                delete_date: license.deleted_at.map(stamp),
                keys: license
                    .keys
                    .iter()
                    .map(|key| ArcserveKeyEntry {
                        key: key.value.clone(),
                        name1: plan.map(|p| p.name_ja.to_string()),
                        name1_en: plan.map(|p| p.name_en.to_string()),
                        name2: Some(key.name.clone()),
                        name2_en: Some(key.name.clone()),
                    })
                    .collect(),
            }
        })
        .collect();
    proposal_xml::render_arcserve(&ArcserveProposal {
        language: language.code().to_string(),
        email: order.email_address.clone(),
        company_name: order.company_name.clone(),
        product_id: plan.map(|p| p.id.to_string()),
        product_name: plan.map(|p| p.name_ja.to_string()),
        product_name_en: plan.map(|p| p.name_en.to_string()),
        support_desk_id: Some("1".into()),
        support_desk_name: Some("NTT Com サポートデスク".into()),
        support_desk_name_en: Some("NTT Com Support Desk".into()),
        arcserve_order_id: Some(order.id.to_string()),
        licenses: entries,
    })
}

/// Every proposal of a service in a tenant, in the vendor's shape.
fn records(
    shared: &Shared,
    tenant: &str,
    service: u32,
    language: Language,
) -> Vec<(String, Value)> {
    let store = shared.store();
    if service == 6 {
        let now = store.now();
        return store
            .arcserve
            .get(tenant)
            .map(|data| arcserve_records(tenant, data, now, language))
            .unwrap_or_default();
    }
    let delay = time::Duration::try_from(shared.provisioning_delay).unwrap_or(time::Duration::ZERO);
    let accepted_since = store.now() - delay;
    store
        .proposals
        .get(tenant)
        .into_iter()
        .flatten()
        .filter(|p| p.service_id == service)
        .map(|p| (p.order_id.clone(), record_json(tenant, p, accepted_since)))
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
    if shared.behaves(Behaviour::NoProposalList) {
        return Err(reply::not_found("no route for this request"));
    }
    let tenant_id = tenant(&shared, &headers, &tenant_id)?;
    let service = service_param(&service_id)?;
    let language = language_header(&headers)?;
    let all: Vec<Value> = records(&shared, &tenant_id, service, language)
        .into_iter()
        .map(|(_, record)| record)
        .collect();
    Ok(reply::json(StatusCode::OK, json!({ "Proposalses": all })))
}
