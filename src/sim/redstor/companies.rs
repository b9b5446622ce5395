//! Companies (`/companies...`) and their users (`/users/list`): the token's
//! tree of partners and customers, created, disabled, enabled, deleted and
//! reassigned with the checks a tree needs (only partners have customers,
//! names unique among siblings, no cycles, the root stays).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::super::Shared;
use super::auth::Access;
use super::data::{Company, CompanyType};
use super::paging::{self, Query as Params};
use super::problem::{Problem, bad_request, not_found};
use super::{Ctx, handle};
use crate::sim::{Behaviour, text};

const MAX_NAME: usize = 100;

pub fn company_json(company: &Company) -> Value {
    json!({
        "companyId": company.id,
        "companyName": company.name,
        "isEnabled": company.enabled,
        "type": company.kind.as_str(),
        "parentCompanyId": company.parent,
    })
}

fn ok(body: Value) -> Result<Response, Problem> {
    Ok((StatusCode::OK, Json(body)).into_response())
}

/// A request body parsed as a JSON object, or 400.
pub fn body_object(bytes: &[u8]) -> Result<Map<String, Value>, Problem> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(bad_request("the request body must be a JSON object")),
        Err(err) => Err(bad_request(format!(
            "the request body is not valid JSON: {err}"
        ))),
    }
}

/// A lower-case, hyphen-separated form of a name, for e-mail domains.
pub fn slug(name: &str) -> String {
    let words: Vec<String> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    if words.is_empty() {
        "company".to_string()
    } else {
        words.join("-")
    }
}

pub async fn root(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    handle(&shared, &headers, Access::Read, |ctx| {
        let root = ctx.root.to_string();
        ok(company_json(ctx.company(&root)?))
    })
}

pub async fn show(
    State(shared): State<Arc<Shared>>,
    Path(company_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    handle(&shared, &headers, Access::Read, |ctx| {
        match ctx.company(&company_id) {
            Ok(company) => ok(company_json(company)),
            Err(_) if ctx.behaves(Behaviour::Empty204) => {
                Ok(StatusCode::NO_CONTENT.into_response())
            }
            Err(problem) => Err(problem),
        }
    })
}

/// `search` (case-insensitive substring of the name) and `orderBy`
/// (`asc` / `desc` by name; creation order when absent).
fn filtered<'a>(
    mut companies: Vec<&'a Company>,
    query: &Params,
) -> Result<Vec<&'a Company>, Problem> {
    if let Some(search) = query.get("search").filter(|s| !s.is_empty()) {
        let needle = search.to_lowercase();
        companies.retain(|c| c.name.to_lowercase().contains(&needle));
    }
    match query
        .get("orderBy")
        .map(|o| o.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("") => {}
        Some("asc") => companies.sort_by_key(|c| c.name.to_lowercase()),
        Some("desc") => {
            companies.sort_by_key(|c| c.name.to_lowercase());
            companies.reverse();
        }
        Some(other) => {
            return Err(bad_request(format!(
                "`orderBy` must be asc or desc, got `{other}`"
            )));
        }
    }
    Ok(companies)
}

fn list(query: &Params, companies: Vec<&Company>) -> Result<Response, Problem> {
    let request = paging::page_request(query)?;
    Ok(paging::page_of(
        request,
        filtered(companies, query)?,
        company_json,
    ))
}

pub async fn customers(
    State(shared): State<Arc<Shared>>,
    Path(company_id): Path<String>,
    headers: HeaderMap,
    Query(query): Query<Params>,
) -> Response {
    handle(&shared, &headers, Access::Read, |ctx| {
        let id = ctx.company_id(&company_id)?;
        list(&query, ctx.data.children(id))
    })
}

pub async fn transitive(
    State(shared): State<Arc<Shared>>,
    Path(company_id): Path<String>,
    headers: HeaderMap,
    Query(query): Query<Params>,
) -> Response {
    handle(&shared, &headers, Access::Read, |ctx| {
        let id = ctx.company_id(&company_id)?;
        list(&query, ctx.data.descendants(id))
    })
}

/// Every company of the token's tree, the root first, whose name matches.
pub async fn search(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<Params>,
) -> Response {
    handle(&shared, &headers, Access::Read, |ctx| {
        if query.get("search").is_none_or(|s| s.trim().is_empty()) {
            return Err(bad_request("`search` is required"));
        }
        let root = ctx.root;
        let mut all: Vec<&Company> = ctx.data.company(root).into_iter().collect();
        all.extend(ctx.data.descendants(root));
        list(&query, all)
    })
}

fn check_name(body: &Map<String, Value>) -> Result<String, Problem> {
    let raw = body.get("companyName").and_then(Value::as_str);
    if let Some(raw) = raw {
        text::printable("`companyName`", raw).map_err(bad_request)?;
    }
    match raw.map(str::trim) {
        Some(name) if !name.is_empty() && name.chars().count() <= MAX_NAME => Ok(name.to_string()),
        _ => Err(bad_request(format!(
            "`companyName` must be a non-blank string of at most {MAX_NAME} characters"
        ))),
    }
}

/// 409 when a direct customer of `parent` other than `except` has `name`.
fn check_sibling_name(
    ctx: &Ctx,
    parent: Uuid,
    name: &str,
    except: Option<Uuid>,
) -> Result<(), Problem> {
    let lower = name.to_lowercase();
    let clash = ctx
        .data
        .children(parent)
        .into_iter()
        .any(|c| Some(c.id) != except && c.name.to_lowercase() == lower);
    if clash {
        return Err(ctx.duplicate(format!(
            "a customer named `{name}` already exists under company {parent}"
        )));
    }
    Ok(())
}

pub async fn create(
    State(shared): State<Arc<Shared>>,
    Path(company_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(&shared, &headers, Access::Write, |ctx| {
        let parent = ctx.company(&company_id)?;
        let (parent_id, parent_kind) = (parent.id, parent.kind);
        let body = body_object(&body)?;
        let name = check_name(&body)?;
        let kind = match body.get("type").and_then(Value::as_str) {
            Some("Partner") => CompanyType::Partner,
            Some("Customer") => CompanyType::Customer,
            _ => return Err(bad_request("`type` must be Customer or Partner")),
        };
        if parent_kind != CompanyType::Partner {
            return Err(bad_request(format!(
                "company {parent_id} is a Customer; only partners have customers"
            )));
        }
        check_sibling_name(ctx, parent_id, &name, None)?;
        let company = Company {
            id: Uuid::new_v4(),
            name,
            enabled: true,
            kind,
            parent: Some(parent_id),
            created_at: ctx.now,
        };
        let body = company_json(&company);
        ctx.data.add_company(company);
        ctx.changed = true;
        Ok((StatusCode::CREATED, Json(body)).into_response())
    })
}

fn set_enabled(ctx: &mut Ctx, company_id: &str, enabled: bool) -> Result<Response, Problem> {
    let id = ctx.company_id(company_id)?;
    if !enabled && id == ctx.root {
        return Err(bad_request("the root company cannot be disabled"));
    }
    let Some(changed) = ctx.data.set_enabled(id, enabled) else {
        return Err(not_found(format!("company {company_id} not found")));
    };
    ctx.changed |= changed;
    ok(company_json(ctx.company(company_id)?))
}

pub async fn disable(
    State(shared): State<Arc<Shared>>,
    Path(company_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    handle(&shared, &headers, Access::Write, |ctx| {
        set_enabled(ctx, &company_id, false)
    })
}

pub async fn enable(
    State(shared): State<Arc<Shared>>,
    Path(company_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    handle(&shared, &headers, Access::Write, |ctx| {
        set_enabled(ctx, &company_id, true)
    })
}

pub async fn delete(
    State(shared): State<Arc<Shared>>,
    Path(company_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    handle(&shared, &headers, Access::Write, |ctx| {
        let id = ctx.company_id(&company_id)?;
        if id == ctx.root {
            return Err(bad_request("the root company cannot be deleted"));
        }
        let customers = ctx.data.children(id).len();
        if customers > 0 {
            return Err(bad_request(format!(
                "company {id} still has {customers} customer(s); delete or reassign them first"
            )));
        }
        let subscriptions = ctx.data.subscriptions_of(id);
        if !subscriptions.is_empty() {
            let removing = subscriptions.iter().filter(|s| s.removal.is_some()).count();
            let detail = if removing == subscriptions.len() {
                format!(
                    "company {id} still has {removing} subscription(s) being removed; try again when they are gone"
                )
            } else {
                format!(
                    "company {id} still has {} subscription(s) ({removing} being removed); remove them first",
                    subscriptions.len()
                )
            };
            return Err(bad_request(detail));
        }
        ctx.data.remove_company(id);
        ctx.changed = true;
        Ok(ctx.done(StatusCode::NO_CONTENT).into_response())
    })
}

pub async fn reassign(
    State(shared): State<Arc<Shared>>,
    Path((company_id, customer_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    handle(&shared, &headers, Access::Write, |ctx| {
        let target = ctx.company(&company_id)?;
        let (target_id, target_kind) = (target.id, target.kind);
        let customer = ctx.company(&customer_id)?;
        let (customer, name) = (customer.id, customer.name.clone());
        if customer == ctx.root {
            return Err(bad_request("the root company cannot be reassigned"));
        }
        if target_kind != CompanyType::Partner {
            return Err(bad_request(format!(
                "company {target_id} is a Customer; only partners have customers"
            )));
        }
        if ctx.data.is_within(target_id, customer) {
            return Err(bad_request(format!(
                "company {customer} cannot be moved under itself or one of its own customers"
            )));
        }
        check_sibling_name(ctx, target_id, &name, Some(customer))?;
        let Some(moved) = ctx.data.reassign(customer, target_id) else {
            return Err(not_found(format!("company {customer_id} not found")));
        };
        ctx.changed |= moved;
        ok(company_json(ctx.company(&customer_id)?))
    })
}

/// splitmix64 over the parts: the simulator's deterministic dice.
pub fn mix(parts: &[u64]) -> u64 {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for part in parts {
        state = state
            .wrapping_add(*part)
            .wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        state = z ^ (z >> 31);
    }
    state
}

/// A well-formed version 4 UUID made from two draws of [`mix`].
pub fn derived_uuid(high: u64, low: u64) -> Uuid {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&high.to_be_bytes());
    bytes[8..].copy_from_slice(&low.to_be_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// The two halves of a UUID, for [`mix`].
pub fn halves(id: Uuid) -> [u64; 2] {
    let (high, low) = id.as_u64_pair();
    [high, low]
}

/// The users of a company: one to three, drawn from its id.
fn users_of(company: &Company) -> Vec<Value> {
    let [high, low] = halves(company.id);
    let count = 1 + mix(&[high, low, 7]) % 3;
    let domain = format!("{}.example", slug(&company.name));
    let created = company.created_at.format(&Rfc3339).unwrap_or_default();
    (0..count)
        .map(|i| {
            let (local, name, role) = match i {
                0 => (
                    "admin".to_string(),
                    "Administrator".to_string(),
                    "Administrator",
                ),
                n => (format!("user{n}"), format!("User {n}"), "User"),
            };
            let id = derived_uuid(mix(&[high, low, 8, i]), mix(&[high, low, 9, i]));
            json!({
                "userId": id,
                "name": format!("{name} ({})", company.name),
                "email": format!("{local}@{domain}"),
                "dateCreated": created,
                "role": role,
                "companyId": company.id,
                "companyName": company.name,
                "enabled": company.enabled,
                "verified": i == 0 || mix(&[high, low, 10, i]).is_multiple_of(2),
                "sso": "None",
            })
        })
        .collect()
}

pub async fn users(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<Params>,
) -> Response {
    handle(&shared, &headers, Access::Read, |ctx| {
        let Some(company_id) = query.get("companyId").filter(|c| !c.is_empty()) else {
            return Err(bad_request("`companyId` is required"));
        };
        let request = paging::page_request(&query)?;
        let company = ctx.company(company_id)?;
        Ok(paging::page(request, users_of(company)))
    })
}
