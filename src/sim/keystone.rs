//! Keystone v3 password authentication (API.md section 1): the account
//! `demo` / `demo-secret` in domain `default` gets a token scoped to any
//! tenant it asks for.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

use super::reply::Reject;
use super::store::Token;
use super::{Shared, reply};

const USER: &str = "demo";
const PASSWORD: &str = "demo-secret";

pub fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/v3/auth/tokens", post(issue))
}

/// `Content-Type` must be JSON (`application/json`, parameters allowed, or
/// an `application/…+json` type, as Keystone's own check reads it). A wrong
/// type is 400 with Keystone's message: Keystone answers a
/// `ValidationError` there, not 415. Keystone itself also reads a body
/// without the header as JSON; the simulator refuses that too, since ECL
/// documents `Content-Type: application/json` on its JSON requests and a
/// client should not lean on the leniency.
fn require_json(headers: &HeaderMap) -> Result<(), Reject> {
    let essence = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let json = essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|subtype| subtype.ends_with("+json"));
    if json {
        Ok(())
    } else {
        Err(reply::bad_request(
            "Expecting to find application/json in Content-Type header - the server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.",
        ))
    }
}

async fn issue(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Reject> {
    require_json(&headers)?;
    let body = Value::Object(reply::body_object(&body)?);
    let text = |pointer: &str| body.pointer(pointer).and_then(Value::as_str);
    let methods_ok = body
        .pointer("/auth/identity/methods")
        .and_then(Value::as_array)
        .is_some_and(|m| m.iter().any(|v| v == "password"));
    let (Some(name), Some(password), Some(project)) = (
        text("/auth/identity/password/user/name"),
        text("/auth/identity/password/user/password"),
        text("/auth/scope/project/id"),
    ) else {
        return Err(reply::bad_request(
            "expected auth.identity.password.user.{name,password} and auth.scope.project.id",
        ));
    };
    if !methods_ok {
        return Err(reply::bad_request(
            "auth.identity.methods must include \"password\"",
        ));
    }
    let domain = text("/auth/identity/password/user/domain/id").unwrap_or("default");
    let tenant: String = project
        .chars()
        .filter(|c| *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if !reply::is_tenant_id(&tenant) {
        return Err(reply::bad_request(format!(
            "`{project}` is not a tenant id"
        )));
    }
    if name != USER || password != PASSWORD || domain != "default" {
        return Err(reply::error(
            StatusCode::UNAUTHORIZED,
            "The request you have made requires authentication.",
        ));
    }

    let token = uuid::Uuid::new_v4().simple().to_string();
    let mut store = shared.store();
    let now = store.now();
    let expires_at =
        now + time::Duration::try_from(shared.token_ttl).unwrap_or(time::Duration::HOUR);
    store.tokens.retain(|_, t| t.expires_at > now);
    store.tokens.insert(
        token.clone(),
        Token {
            tenant: tenant.clone(),
            user: name.to_string(),
            expires_at,
        },
    );
    drop(store);
    shared.persist();

    let stamp = |t: time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    let mut response = reply::json(
        StatusCode::CREATED,
        json!({
            "token": {
                "methods": ["password"],
                "expires_at": stamp(expires_at),
                "issued_at": stamp(now),
                "project": { "id": tenant },
                "user": { "name": name, "domain": { "id": domain } }
            }
        }),
    );
    if let Ok(value) = HeaderValue::from_str(&token) {
        response.headers_mut().insert("x-subject-token", value);
    }
    Ok(response)
}
