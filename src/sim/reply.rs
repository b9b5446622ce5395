//! Building answers: the ECL error body, JSON with a status, paging
//! parameters, and the checks every ECL route starts with (token, tenant id
//! pattern, tenant scope).

use std::collections::HashMap;

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::Shared;

/// A refused request: its status and what is wrong. Becomes the ECL error
/// body `{"error": {"code", "message"}}` (API.md 2).
#[derive(Debug)]
pub struct Reject {
    status: StatusCode,
    message: String,
}

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.status.as_u16(), "message": self.message } });
        (self.status, Json(body)).into_response()
    }
}

pub fn error(status: StatusCode, message: impl Into<String>) -> Reject {
    Reject {
        status,
        message: message.into(),
    }
}

pub fn bad_request(message: impl Into<String>) -> Reject {
    error(StatusCode::BAD_REQUEST, message)
}

pub fn not_found(message: impl Into<String>) -> Reject {
    error(StatusCode::NOT_FOUND, message)
}

pub fn json(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

/// A request body parsed as a JSON object.
pub fn body_object(bytes: &[u8]) -> Result<serde_json::Map<String, Value>, Reject> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(bad_request("the request body must be a JSON object")),
        Err(err) => Err(bad_request(format!(
            "the request body is not valid JSON: {err}"
        ))),
    }
}

/// `page` (>= 1, default 1) and `per_page` (1..=100, default 30).
pub fn paging(query: &HashMap<String, String>) -> Result<(usize, usize), Reject> {
    let number = |name: &str, default: usize, min: usize, max: usize| match query.get(name) {
        None => Ok(default),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ if max == usize::MAX => Err(bad_request(format!(
                "`{name}` must be an integer >= {min}, got `{text}`"
            ))),
            _ => Err(bad_request(format!(
                "`{name}` must be an integer from {min} to {max}, got `{text}`"
            ))),
        },
    };
    Ok((
        number("page", 1, 1, usize::MAX)?,
        number("per_page", 30, 1, 100)?,
    ))
}

/// One page of `items` with the ECL paging envelope under `key`; only the
/// page's items are rendered (`render`).
pub fn page<'a, T: 'a>(
    key: &str,
    items: impl ExactSizeIterator<Item = &'a T>,
    render: impl Fn(&T) -> Value,
    page: usize,
    per_page: usize,
) -> Response {
    let total = items.len();
    let slice: Vec<Value> = items
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .map(render)
        .collect();
    // Built by hand: `json!` would serialize the rendered items once more.
    let mut body = serde_json::Map::new();
    body.insert("page".into(), page.into());
    body.insert("per_page".into(), per_page.into());
    body.insert("total_count".into(), total.into());
    body.insert(key.into(), Value::Array(slice));
    json(StatusCode::OK, Value::Object(body))
}

/// Whether `text` is 32 lower-case hex digits.
pub fn is_tenant_id(text: &str) -> bool {
    text.len() == 32
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A UUID path parameter, or 400.
pub fn uuid_param(name: &str, text: &str) -> Result<uuid::Uuid, Reject> {
    uuid::Uuid::parse_str(text)
        .map_err(|_| bad_request(format!("`{name}` must be a UUID, got `{text}`")))
}

/// The checks of every ECL route, in the vendor's order: a valid token
/// (`bad_token`: 401 on Arcserve UDP; the Proposal API documents 403
/// "Unauthorized"), a well-formed tenant id (400), a token of this tenant
/// (403).
pub fn authorize(
    shared: &Shared,
    headers: &HeaderMap,
    tenant_id: &str,
    bad_token: StatusCode,
) -> Result<(), Reject> {
    let token = headers
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| error(bad_token, "the X-Auth-Token header is missing"))?;
    let store = shared.store();
    let now = store.now();
    let scope = match store.tokens.get(token) {
        Some(t) if t.expires_at > now => t.tenant.clone(),
        Some(_) => return Err(error(bad_token, "the token has expired")),
        None => return Err(error(bad_token, "the token is not valid")),
    };
    drop(store);
    if !is_tenant_id(tenant_id) {
        return Err(bad_request(format!(
            "`tenant_id` must match ^[0-9a-f]{{32}}$, got `{tenant_id}`"
        )));
    }
    if scope != tenant_id {
        return Err(error(
            StatusCode::FORBIDDEN,
            "the token is not scoped to this tenant",
        ));
    }
    Ok(())
}
