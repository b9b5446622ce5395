//! The Arcserve UDP API v2 (API.md section 2): licenses, keys, bulk version
//! upgrades, plans and orders, per tenant, with the vendor's validation and
//! its asynchronous provisioning and deletion.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};
use uuid::Uuid;

use super::catalog::{self, CatalogPlan};
use super::reply::Reject;
use super::store::{ArcserveTenant, Key, License, Order, Phase};
use super::{Behaviour, Shared, reply, text};

type Params = Query<HashMap<String, String>>;

pub fn routes() -> Router<Arc<Shared>> {
    let base = "/v2/arcserve-udp/{tenant_id}";
    Router::new()
        .route(&format!("{base}/licenses"), get(list_licenses).post(create))
        .route(
            &format!("{base}/licenses/{{license_id}}"),
            get(show).patch(update).delete(delete),
        )
        .route(
            &format!("{base}/licenses/{{license_id}}/issue-key"),
            post(issue_key),
        )
        .route(&format!("{base}/bulk-license-upgrade"), post(bulk_upgrade))
        .route(&format!("{base}/plans"), get(list_plans))
        .route(&format!("{base}/orders"), get(list_orders))
        .route(&format!("{base}/orders/{{order_id}}"), get(show_order))
}

/// Runs `work` on the tenant's data after the auth checks; writes the data
/// file when `work` says it changed something.
fn with_tenant(
    shared: &Shared,
    headers: &HeaderMap,
    tenant_id: &str,
    work: impl FnOnce(&mut ArcserveTenant, OffsetDateTime, &Shared) -> Result<(Response, bool), Reject>,
) -> Response {
    if let Err(reject) = reply::authorize(shared, headers, tenant_id, StatusCode::UNAUTHORIZED) {
        return reject.into_response();
    }
    let (response, changed) = {
        let mut store = shared.store();
        let now = store.now();
        let tenant = store.arcserve.entry(tenant_id.to_string()).or_default();
        tenant.licenses.retain(|l| l.phase(now) != Phase::Gone);
        work(tenant, now, shared).unwrap_or_else(|reject| (reject.into_response(), false))
    };
    if changed {
        shared.persist();
    }
    response
}

fn tokyo_date(t: OffsetDateTime) -> String {
    let tokyo = UtcOffset::from_hms(9, 0, 0).unwrap_or(UtcOffset::UTC);
    t.to_offset(tokyo).date().to_string()
}

fn stamp(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// The license object, byte for byte as API.md 2.1 spells it.
fn license_json(license: &License, now: OffsetDateTime) -> Value {
    let plan = catalog::plan(&license.plan_id);
    let keys: Vec<Value> = license
        .keys
        .iter()
        .map(|k| {
            json!({
                "id": k.id,
                "key_type_id": k.key_type_id,
                "name": k.name,
                "version": k.version,
                "value": k.value,
                "is_additional_component": k.is_additional_component,
                "activated_at": stamp(k.activated_at),
                "deactivated_at": null,
            })
        })
        .collect();
    json!({
        "id": license.id,
        "name": license.name,
        "status": license.phase(now).as_str(),
        "type": "Hypervisor",
        "order_id": license.order_id,
        "plan_id": license.plan_id,
        "plan_name_ja": plan.map(|p| p.name_ja).unwrap_or_default(),
        "plan_name_en": plan.map(|p| p.name_en).unwrap_or_default(),
        "number_of_standalone_keys": license.number_of_standalone_keys,
        "offer_start_date": tokyo_date(license.created_at),
        "deletion_date": license.deleted_at.map(tokyo_date),
        "created_at": stamp(license.created_at),
        "updated_at": stamp(license.updated_at),
        "keys": keys,
    })
}

fn order_json(order: &Order, bare: bool) -> Value {
    if bare {
        return json!({ "id": order.id });
    }
    json!({
        "id": order.id,
        "type": order.order_type,
        "status": "completed",
        "email_address": order.email_address,
        "company_name": order.company_name,
        "created_at": stamp(order.created_at),
        "license_ids": order.license_ids,
    })
}

fn plan_json(plan: &CatalogPlan) -> Value {
    let key_types: Vec<Value> = plan
        .key_types
        .iter()
        .map(|k| json!({ "id": k.id, "name": k.name }))
        .collect();
    json!({
        "id": plan.id,
        "name_ja": plan.name_ja,
        "name_en": plan.name_en,
        "version": plan.version,
        "edition": plan.edition,
        "key_types": key_types,
    })
}

/// The `license` object of a request body, or 400.
fn license_envelope(body: &[u8]) -> Result<Map<String, Value>, Reject> {
    let mut body = reply::body_object(body)?;
    match body.remove("license") {
        Some(Value::Object(license)) => Ok(license),
        _ => Err(reply::bad_request("the body must be {\"license\": {...}}")),
    }
}

fn check_name(name: &Value) -> Result<String, Reject> {
    match name.as_str() {
        Some(text) if !text.is_empty() && text.chars().count() <= 255 => {
            text::printable("`name`", text).map_err(reply::bad_request)?;
            Ok(text.to_string())
        }
        _ => Err(reply::bad_request(
            "`name` must be a string of 1 to 255 characters",
        )),
    }
}

/// The most standalone keys a license can have: the document types the
/// field as `int`, which the OpenAPI format reads as int32.
const MAX_KEY_COUNT: u64 = i32::MAX as u64;

fn check_key_count(value: &Value) -> Result<u64, Reject> {
    value
        .as_u64()
        .filter(|n| *n <= MAX_KEY_COUNT)
        .ok_or_else(|| {
            reply::bad_request(format!(
                "`number_of_standalone_keys` must be an integer from 0 to {MAX_KEY_COUNT} (int); got {value}"
            ))
        })
}

fn name_taken(tenant: &ArcserveTenant, name: &str, except: Option<Uuid>) -> bool {
    tenant
        .licenses
        .iter()
        .any(|l| l.name == name && Some(l.id) != except)
}

fn find(tenant: &mut ArcserveTenant, license_id: &str) -> Result<usize, Reject> {
    let id = reply::uuid_param("license_id", license_id)?;
    tenant
        .licenses
        .iter()
        .position(|l| l.id == id)
        .ok_or_else(|| reply::not_found(format!("license {id} not found")))
}

fn require_active(license: &License, now: OffsetDateTime) -> Result<(), Reject> {
    match license.phase(now) {
        Phase::Active => Ok(()),
        phase => Err(reply::bad_request(format!(
            "license {} is {}; try again when it is Active",
            license.id,
            phase.as_str()
        ))),
    }
}

async fn list_licenses(
    State(shared): State<Arc<Shared>>,
    Path(tenant_id): Path<String>,
    headers: HeaderMap,
    Query(query): Params,
) -> Response {
    with_tenant(&shared, &headers, &tenant_id, |tenant, now, _| {
        let (page, per_page) = reply::paging(&query)?;
        let order = match query.get("order_id") {
            Some(text) => Some(reply::uuid_param("order_id", text)?),
            None => None,
        };
        let matching: Vec<&License> = tenant
            .licenses
            .iter()
            .filter(|l| order.is_none_or(|o| l.order_id == o))
            .collect();
        let render = |l: &&License| license_json(l, now);
        Ok((
            reply::page("licenses", matching.iter(), render, page, per_page),
            false,
        ))
    })
}

async fn create(
    State(shared): State<Arc<Shared>>,
    Path(tenant_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    with_tenant(&shared, &headers, &tenant_id, |tenant, now, shared| {
        let license = license_envelope(&body)?;
        let name = check_name(license.get("name").unwrap_or(&Value::Null))?;
        let plan_id = license.get("plan_id").and_then(Value::as_str).unwrap_or("");
        let plan = catalog::plan(&plan_id.to_ascii_lowercase()).ok_or_else(|| {
            reply::bad_request(format!(
                "`plan_id` `{plan_id}` is not a plan of this tenant"
            ))
        })?;
        let keys = check_key_count(
            license
                .get("number_of_standalone_keys")
                .unwrap_or(&Value::Null),
        )?;
        if name_taken(tenant, &name, None) {
            return Err(reply::bad_request(format!(
                "a license named `{name}` already exists"
            )));
        }
        let id = Uuid::new_v4();
        let order = Order {
            id: Uuid::new_v4(),
            order_type: "new".into(),
            email_address: None,
            company_name: None,
            created_at: now,
            license_ids: vec![id],
        };
        let delay =
            time::Duration::try_from(shared.provisioning_delay).unwrap_or(time::Duration::ZERO);
        let license = License {
            id,
            name,
            plan_id: plan.id.to_string(),
            number_of_standalone_keys: keys,
            order_id: order.id,
            version: plan.version.to_string(),
            created_at: now,
            updated_at: now,
            ready_at: now + delay,
            upgraded_at: None,
            gone_at: None,
            deleted_at: None,
            scheduled: false,
            keys: Vec::new(),
        };
        let body = json!({ "license": license_json(&license, now) });
        tenant.orders.push(order);
        tenant.licenses.push(license);
        Ok((reply::json(StatusCode::ACCEPTED, body), true))
    })
}

async fn show(
    State(shared): State<Arc<Shared>>,
    Path((tenant_id, license_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    with_tenant(&shared, &headers, &tenant_id, |tenant, now, _| {
        let at = find(tenant, &license_id)?;
        let body = json!({ "license": license_json(&tenant.licenses[at], now) });
        Ok((reply::json(StatusCode::OK, body), false))
    })
}

async fn update(
    State(shared): State<Arc<Shared>>,
    Path((tenant_id, license_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    with_tenant(&shared, &headers, &tenant_id, |tenant, now, _| {
        let changes = license_envelope(&body)?;
        let at = find(tenant, &license_id)?;
        let id = tenant.licenses[at].id;
        let name = changes.get("name").map(check_name).transpose()?;
        let keys = changes
            .get("number_of_standalone_keys")
            .map(check_key_count)
            .transpose()?;
        if let Some(plan) = changes.get("plan_id").and_then(Value::as_str)
            && !plan.eq_ignore_ascii_case(&tenant.licenses[at].plan_id)
        {
            return Err(reply::bad_request(
                "plan_id cannot be changed; replace the license",
            ));
        }
        if let Some(name) = &name
            && name_taken(tenant, name, Some(id))
        {
            return Err(reply::bad_request(format!(
                "a license named `{name}` already exists"
            )));
        }
        let license = &mut tenant.licenses[at];
        require_active(license, now)?;
        if let Some(name) = name {
            license.name = name;
        }
        if let Some(keys) = keys {
            license.number_of_standalone_keys = keys;
        }
        license.updated_at = now;
        let body = json!({ "license": license_json(license, now) });
        Ok((reply::json(StatusCode::OK, body), true))
    })
}

async fn delete(
    State(shared): State<Arc<Shared>>,
    Path((tenant_id, license_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    with_tenant(&shared, &headers, &tenant_id, |tenant, now, shared| {
        let at = find(tenant, &license_id)?;
        let license = &mut tenant.licenses[at];
        match license.phase(now) {
            Phase::Provisioning => {
                return Err(reply::bad_request(format!(
                    "license {} is Provisioning; delete it when it is Active",
                    license.id
                )));
            }
            Phase::Active if license.gone_at.is_some() => {}
            Phase::Active if shared.behaves(Behaviour::ScheduledDeletion) => {
                let (last_day, gone) = end_of_month(now);
                license.deleted_at = Some(last_day);
                license.gone_at = Some(gone);
                license.scheduled = true;
                license.updated_at = now;
            }
            Phase::Active => {
                let delay = time::Duration::try_from(shared.provisioning_delay)
                    .unwrap_or(time::Duration::ZERO);
                license.gone_at = Some(now + delay);
                license.deleted_at = Some(now);
                license.updated_at = now;
            }
            Phase::Deleting | Phase::Gone => {}
        }
        let body = json!({ "license": license_json(license, now) });
        Ok((reply::json(StatusCode::ACCEPTED, body), true))
    })
}

/// The last day of `now`'s month in Tokyo (noon, Tokyo), and the moment
/// it ends: when a scheduled deletion is carried out.
fn end_of_month(now: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
    let tokyo = UtcOffset::from_hms(9, 0, 0).unwrap_or(UtcOffset::UTC);
    let today = now.to_offset(tokyo).date();
    let last = today
        .replace_day(today.month().length(today.year()))
        .unwrap_or(today);
    let at = |date: time::Date, hour: u8| {
        date.with_hms(hour, 0, 0)
            .map(|t| t.assume_offset(tokyo))
            .unwrap_or(now)
    };
    let next = last.next_day().unwrap_or(last);
    (at(last, 12), at(next, 0))
}

/// A fake but stable key value, from the key's id.
fn key_value(version: &str, id: Uuid) -> String {
    let hex = id.simple().to_string().to_ascii_uppercase();
    let major = version.split('.').next().unwrap_or("0");
    format!(
        "UDP{major}-{}-{}-{}-{}",
        &hex[0..4],
        &hex[4..8],
        &hex[8..12],
        &hex[12..16]
    )
}

/// The key type an issue-key body asks for. The document makes the body
/// and its `license` object optional; when either is missing, or it names
/// no `key_type_id`, a UDP Standalone Key is issued. The document does not
/// say which type that is; API.md only shows the body with a key type, and
/// the standalone key is the one every plan offers.
fn requested_key_type(body: &[u8]) -> Result<String, Reject> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(catalog::STANDALONE_KEY.id.to_string());
    }
    let license = match reply::body_object(body)?.remove("license") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(license)) => license,
        Some(_) => {
            return Err(reply::bad_request(
                "`license` must be an object, {\"key_type_id\": \"<uuid>\"}, or left out",
            ));
        }
    };
    match license.get("key_type_id") {
        None | Some(Value::Null) => Ok(catalog::STANDALONE_KEY.id.to_string()),
        Some(value) => value
            .as_str()
            .and_then(|t| Uuid::parse_str(t).ok())
            .map(|id| id.to_string())
            .ok_or_else(|| {
                reply::bad_request(format!("`key_type_id` must be a UUID; got {value}"))
            }),
    }
}

async fn issue_key(
    State(shared): State<Arc<Shared>>,
    Path((tenant_id, license_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    with_tenant(&shared, &headers, &tenant_id, |tenant, now, _| {
        let key_type = requested_key_type(&body)?;
        let at = find(tenant, &license_id)?;
        let license = &mut tenant.licenses[at];
        require_active(license, now)?;
        let plan = catalog::plan(&license.plan_id)
            .ok_or_else(|| reply::bad_request("the license's plan is unknown"))?;
        let Some(kind) = plan.key_types.iter().find(|k| k.id == key_type) else {
            let offered: Vec<String> = plan
                .key_types
                .iter()
                .map(|k| format!("{} ({})", k.id, k.name))
                .collect();
            return Err(reply::bad_request(format!(
                "key type {key_type} is not offered by this plan; it offers {}",
                offered.join(", ")
            )));
        };
        let id = Uuid::new_v4();
        license.keys.push(Key {
            id,
            key_type_id: kind.id.to_string(),
            name: kind.name.to_string(),
            version: license.version.clone(),
            value: key_value(&license.version, id),
            is_additional_component: kind.id != catalog::STANDALONE_KEY.id,
            activated_at: now,
        });
        license.updated_at = now;
        let body = json!({ "license": license_json(license, now) });
        Ok((reply::json(StatusCode::CREATED, body), true))
    })
}

/// "9.0": one decimal place, 0.0 < v <= 99.9.
fn valid_version(version: &str) -> bool {
    let Some((whole, tenth)) = version.split_once('.') else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(whole)
        && whole.len() <= 2
        && tenth.len() == 1
        && digits(tenth)
        && version != "0.0"
        && !(whole == "00" && tenth == "0")
}

fn valid_email(email: &str) -> bool {
    let mut parts = email.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    email.chars().count() <= 254
        && !local.is_empty()
        && !domain.is_empty()
        && !email.chars().any(char::is_whitespace)
}

async fn bulk_upgrade(
    State(shared): State<Arc<Shared>>,
    Path(tenant_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    with_tenant(&shared, &headers, &tenant_id, |tenant, now, _| {
        let body = reply::body_object(&body)?;
        let ids = license_ids(&body)?;
        let version = body.get("version").and_then(Value::as_str).unwrap_or("");
        if !valid_version(version) {
            return Err(reply::bad_request(format!(
                "`version` must have one decimal place with 0.0 < version <= 99.9, got `{version}`"
            )));
        }
        let (email, company) = upgrade_contact(&body)?;
        let first_order = tenant
            .orders
            .iter()
            .find(|o| o.order_type == "upgrade_version")
            .cloned();
        if first_order.is_none() && (email.is_none() || company.is_none()) {
            let missing = if email.is_none() {
                "email_address"
            } else {
                "company_name"
            };
            return Err(reply::bad_request(format!(
                "`{missing}` is required: this tenant has no upgrade version order yet, so email_address and company_name must both be given"
            )));
        }
        let positions = upgradable(tenant, &ids, now)?;
        let licenses = upgrade(tenant, positions, version, now);
        tenant.orders.push(Order {
            id: Uuid::new_v4(),
            order_type: "upgrade_version".into(),
            email_address: email
                .map(str::to_string)
                .or_else(|| first_order.as_ref().and_then(|o| o.email_address.clone())),
            company_name: company
                .map(str::to_string)
                .or_else(|| first_order.as_ref().and_then(|o| o.company_name.clone())),
            created_at: now,
            license_ids: ids,
        });
        Ok((
            reply::json(StatusCode::ACCEPTED, json!({ "licenses": licenses })),
            true,
        ))
    })
}

/// `license_ids`: a non-empty array of UUIDs.
fn license_ids(body: &serde_json::Map<String, Value>) -> Result<Vec<Uuid>, Reject> {
    match body.get("license_ids") {
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|v| {
                v.as_str()
                    .and_then(|t| Uuid::parse_str(t).ok())
                    .ok_or_else(|| {
                        reply::bad_request(format!("`license_ids` holds {v}, which is not a UUID"))
                    })
            })
            .collect(),
        _ => Err(reply::bad_request(
            "`license_ids` must be a non-empty array of UUIDs",
        )),
    }
}

/// The upgrade contact given (`email_address`, `company_name`), each checked.
fn upgrade_contact(
    body: &serde_json::Map<String, Value>,
) -> Result<(Option<&str>, Option<&str>), Reject> {
    let email = body.get("email_address").and_then(Value::as_str);
    let company = body.get("company_name").and_then(Value::as_str);
    if email.is_some_and(|email| !valid_email(email)) {
        return Err(reply::bad_request(
            "`email_address` must be an email address of at most 254 characters",
        ));
    }
    if company.is_some_and(|company| !(1..=100).contains(&company.chars().count())) {
        return Err(reply::bad_request(
            "`company_name` must be 1 to 100 characters",
        ));
    }
    Ok((email, company))
}

/// Where each license of `ids` is in the tenant: each must exist, be
/// active, and not have been created or upgraded today (Tokyo).
fn upgradable(
    tenant: &ArcserveTenant,
    ids: &[Uuid],
    now: OffsetDateTime,
) -> Result<Vec<usize>, Reject> {
    let today = tokyo_date(now);
    let mut too_soon = Vec::new();
    let mut positions = Vec::new();
    for id in ids {
        let at = tenant
            .licenses
            .iter()
            .position(|l| l.id == *id)
            .ok_or_else(|| reply::not_found(format!("license {id} not found")))?;
        let license = &tenant.licenses[at];
        require_active(license, now)?;
        let last = license
            .upgraded_at
            .unwrap_or(license.created_at)
            .max(license.created_at);
        if tokyo_date(last) >= today {
            too_soon.push(id.to_string());
        }
        positions.push(at);
    }
    if !too_soon.is_empty() {
        let tomorrow = tokyo_date(now + time::Duration::days(1));
        return Err(reply::bad_request(format!(
            "licenses can be upgraded only from the day after they were created or upgraded; not before {tomorrow}: {}",
            too_soon.join(", ")
        )));
    }
    Ok(positions)
}

/// Upgrades the licenses at `positions` and their keys to `version`; the
/// licenses as the answer shows them.
fn upgrade(
    tenant: &mut ArcserveTenant,
    positions: Vec<usize>,
    version: &str,
    now: OffsetDateTime,
) -> Vec<Value> {
    positions
        .into_iter()
        .map(|at| {
            let license = &mut tenant.licenses[at];
            license.version = version.to_string();
            for key in &mut license.keys {
                key.version = version.to_string();
                key.value = key_value(version, key.id);
            }
            license.upgraded_at = Some(now);
            license.updated_at = now;
            license_json(license, now)
        })
        .collect()
}

async fn list_plans(
    State(shared): State<Arc<Shared>>,
    Path(tenant_id): Path<String>,
    headers: HeaderMap,
    Query(query): Params,
) -> Response {
    with_tenant(&shared, &headers, &tenant_id, |_, _, _| {
        let (page, per_page) = reply::paging(&query)?;
        Ok((
            reply::page("plans", catalog::PLANS.iter(), plan_json, page, per_page),
            false,
        ))
    })
}

async fn list_orders(
    State(shared): State<Arc<Shared>>,
    Path(tenant_id): Path<String>,
    headers: HeaderMap,
    Query(query): Params,
) -> Response {
    with_tenant(&shared, &headers, &tenant_id, |tenant, _, shared| {
        let bare = shared.behaves(Behaviour::BareOrders);
        let (page, per_page) = reply::paging(&query)?;
        Ok((
            reply::page(
                "orders",
                tenant.orders.iter(),
                |o| order_json(o, bare),
                page,
                per_page,
            ),
            false,
        ))
    })
}

async fn show_order(
    State(shared): State<Arc<Shared>>,
    Path((tenant_id, order_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    with_tenant(&shared, &headers, &tenant_id, |tenant, _, shared| {
        let bare = shared.behaves(Behaviour::BareOrders);
        let id = reply::uuid_param("order_id", &order_id)?;
        let order = tenant
            .orders
            .iter()
            .find(|o| o.id == id)
            .ok_or_else(|| reply::not_found(format!("order {id} not found")))?;
        Ok((
            reply::json(StatusCode::OK, json!({ "order": order_json(order, bare) })),
            false,
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_have_one_decimal_place_within_range() {
        for ok in ["9.0", "10.0", "0.1", "99.9"] {
            assert!(valid_version(ok), "{ok}");
        }
        for bad in ["9", "9.00", "0.0", "100.0", "", "a.b", "-1.0", "9."] {
            assert!(!valid_version(bad), "{bad}");
        }
    }

    #[test]
    fn emails_are_checked_for_shape_and_length() {
        assert!(valid_email("a@example.com"));
        assert!(!valid_email("a@b@c"));
        assert!(!valid_email("no-at"));
        assert!(!valid_email("a b@example.com"));
        assert!(!valid_email(&format!("{}@example.com", "a".repeat(250))));
    }
}
