//! `POST /connect/token` (API.md section 1): OAuth 2.0 client credentials
//! with a `private_key_jwt` client assertion signed RS256 by the trusted
//! service account; and the bearer check every other RedAPI route starts
//! with. Neither the assertion nor the token is ever logged; the store keeps
//! only a digest of each token.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::super::Shared;
use super::account::RedstorAccount;
use super::data::{AccessToken, RedstorData};
use super::problem::{Problem, problem};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const SCOPES: [&str; 2] = ["api.read", "api.write"];
/// The vendor's own token URL, accepted as `aud` besides the simulator's.
const VENDOR_TOKEN_URL: &str = "https://id.redstor.com/connect/token";
/// The longest an assertion may live (`exp - iat`).
const MAX_LIFETIME_SECS: i64 = 600;
/// How far ahead of the wall clock `iat` and `nbf` may be.
const SKEW_SECS: i64 = 60;

/// An OAuth 2.0 error answer (RFC 6749 5.2).
struct OAuthError {
    code: &'static str,
    description: String,
}

fn oauth(code: &'static str, description: impl Into<String>) -> OAuthError {
    OAuthError {
        code,
        description: description.into(),
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = if self.code == "invalid_client" {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        let body = json!({ "error": self.code, "error_description": self.description });
        let mut response = (status, Json(body)).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// The digest under which a token is stored.
pub fn token_key(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        token.as_bytes(),
    ))
}

fn new_token() -> Option<String> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new().fill(&mut bytes).ok()?;
    Some(URL_SAFE_NO_PAD.encode(bytes))
}

pub async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    issue(&shared, &headers, &body).unwrap_or_else(IntoResponse::into_response)
}

fn form(headers: &HeaderMap, body: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_type {
        return Err(oauth(
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let mut fields = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(body) {
        if fields.insert(name.to_string(), value.to_string()).is_some() {
            return Err(oauth(
                "invalid_request",
                format!("the parameter `{name}` is repeated"),
            ));
        }
    }
    Ok(fields)
}

fn issue(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    let fields = form(headers, body)?;
    let field = |name: &str| fields.get(name).map(String::as_str);
    match field("grant_type") {
        None => return Err(oauth("invalid_request", "`grant_type` is missing")),
        Some("client_credentials") => {}
        Some(other) => {
            return Err(oauth(
                "unsupported_grant_type",
                format!("the grant type `{other}` is not supported; use client_credentials"),
            ));
        }
    }
    if field("client_assertion_type") != Some(ASSERTION_TYPE) {
        return Err(oauth(
            "invalid_request",
            format!("`client_assertion_type` must be {ASSERTION_TYPE}"),
        ));
    }
    let Some(assertion) = field("client_assertion").filter(|a| !a.is_empty()) else {
        return Err(oauth("invalid_request", "`client_assertion` is missing"));
    };
    let scopes: Vec<String> = match field("scope").map(str::trim).filter(|s| !s.is_empty()) {
        None => SCOPES.iter().map(|s| s.to_string()).collect(),
        Some(text) => {
            let mut scopes: Vec<String> = Vec::new();
            for scope in text.split_whitespace() {
                if !SCOPES.contains(&scope) {
                    return Err(oauth(
                        "invalid_scope",
                        format!("the scope `{scope}` is not one of api.read, api.write"),
                    ));
                }
                if !scopes.iter().any(|s| s == scope) {
                    scopes.push(scope.to_string());
                }
            }
            scopes
        }
    };
    let account = shared.redstor_account().map_err(|err| {
        tracing::error!("{err}");
        oauth("server_error", "the simulator has no service account key")
    })?;
    if field("client_id").is_some_and(|id| id != account.client_id) {
        return Err(invalid_client("`client_id` is not a registered client"));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let audiences = [
        format!("http://{host}/connect/token"),
        VENDOR_TOKEN_URL.to_string(),
    ];
    let claims = verify_signature(assertion, account)?;

    let token = new_token().ok_or_else(|| oauth("server_error", "no randomness"))?;
    let ttl = time::Duration::try_from(shared.token_ttl).unwrap_or(time::Duration::HOUR);
    {
        let mut store = shared.store();
        let now = store.now();
        let data = &mut store.redstor;
        data.purge(now);
        // The client signs by its wall clock: assertions are checked by the
        // real time, so that advancing the simulated clock (to age
        // subscriptions and jobs) does not expire every new assertion.
        let wall = OffsetDateTime::now_utc();
        let (jti, exp) = check_claims(&claims, account, &audiences, wall, data)?;
        let Some(root) = data.root().map(|c| c.id) else {
            return Err(oauth("server_error", "the simulator has no root company"));
        };
        data.seen_jtis.insert(jti, exp);
        data.expiring_added();
        data.tokens.insert(
            token_key(&token),
            AccessToken {
                root,
                scopes: scopes.clone(),
                expires_at: now + ttl,
            },
        );
    }
    shared.persist();
    let mut response = (
        StatusCode::OK,
        Json(json!({
            "access_token": token,
            "expires_in": ttl.whole_seconds(),
            "scope": scopes.join(" "),
            "token_type": "Bearer",
        })),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

fn invalid_client(description: impl Into<String>) -> OAuthError {
    oauth("invalid_client", description)
}

fn decode_json(part: &str, what: &str) -> Result<serde_json::Map<String, Value>, OAuthError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| invalid_client(format!("the assertion's {what} is not base64url")))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(invalid_client(format!(
            "the assertion's {what} is not a JSON object"
        ))),
    }
}

/// Checks the JWS header and signature; returns the claims.
fn verify_signature(
    assertion: &str,
    account: &RedstorAccount,
) -> Result<serde_json::Map<String, Value>, OAuthError> {
    let parts: Vec<&str> = assertion.split('.').collect();
    let [head, payload, signature] = parts.as_slice() else {
        return Err(invalid_client(
            "the client assertion is not a JWS compact JWT",
        ));
    };
    let header = decode_json(head, "header")?;
    match header.get("alg").and_then(Value::as_str) {
        Some("RS256") => {}
        Some(alg) => {
            return Err(invalid_client(format!(
                "the assertion's alg `{alg}` is not accepted; sign with RS256"
            )));
        }
        None => return Err(invalid_client("the assertion has no alg; sign with RS256")),
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| invalid_client("the assertion's signature is not base64url"))?;
    let signed = format!("{head}.{payload}");
    ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        account.public_key(),
    )
    .verify(signed.as_bytes(), &signature)
    .map_err(|_| {
        invalid_client("the assertion's signature does not verify with the registered key")
    })?;
    decode_json(payload, "payload")
}

fn seconds(claims: &serde_json::Map<String, Value>, name: &str) -> Option<i64> {
    let value = claims.get(name)?;
    value
        .as_i64()
        .or_else(|| value.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
}

/// Checks the claims by the wall clock `now`; returns the `jti` and `exp`.
fn check_claims(
    claims: &serde_json::Map<String, Value>,
    account: &RedstorAccount,
    audiences: &[String],
    now: OffsetDateTime,
    data: &RedstorData,
) -> Result<(String, OffsetDateTime), OAuthError> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(account.client_id.as_str()) {
        return Err(invalid_client(
            "the assertion's iss is not a registered client",
        ));
    }
    if text("sub") != Some(account.client_id.as_str()) {
        return Err(invalid_client("the assertion's sub must equal its iss"));
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(aud)) => audiences.contains(aud),
        Some(Value::Array(auds)) => auds
            .iter()
            .any(|a| a.as_str().is_some_and(|a| audiences.iter().any(|b| b == a))),
        _ => false,
    };
    if !aud_ok {
        return Err(invalid_client(format!(
            "the assertion's aud must be {}",
            audiences.first().map(String::as_str).unwrap_or_default()
        )));
    }
    let now_secs = now.unix_timestamp();
    let Some(exp) = seconds(claims, "exp") else {
        return Err(invalid_client("the assertion has no exp"));
    };
    let Some(iat) = seconds(claims, "iat") else {
        return Err(invalid_client("the assertion has no iat"));
    };
    if exp <= now_secs {
        return Err(invalid_client("the assertion has expired"));
    }
    if exp - iat > MAX_LIFETIME_SECS {
        return Err(invalid_client(
            "the assertion's exp is more than 10 minutes after its iat",
        ));
    }
    if iat > now_secs + SKEW_SECS {
        return Err(invalid_client("the assertion's iat is in the future"));
    }
    if seconds(claims, "nbf").is_some_and(|nbf| nbf > now_secs + SKEW_SECS) {
        return Err(invalid_client("the assertion is not valid yet (nbf)"));
    }
    let Some(jti) = text("jti").filter(|j| !j.is_empty()) else {
        return Err(invalid_client("the assertion has no jti"));
    };
    if data.seen_jtis.contains_key(jti) {
        return Err(invalid_client(
            "the assertion's jti has been used before; sign a new assertion",
        ));
    }
    let exp = OffsetDateTime::from_unix_timestamp(exp)
        .map_err(|_| invalid_client("the assertion's exp is out of range"))?;
    Ok((jti.to_string(), exp))
}

/// What a request needs its token to allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// The bearer check: 401 without a live token or without the scope (the
/// documents list no 403).
/// Returns the token's root company.
pub fn authorize(
    data: &RedstorData,
    headers: &HeaderMap,
    now: OffsetDateTime,
    access: Access,
) -> Result<Uuid, Problem> {
    let unauthorized = |detail: &str| problem(StatusCode::UNAUTHORIZED, detail);
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| unauthorized("the Authorization header is missing"))?;
    let token = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => {
            return Err(unauthorized(
                "the Authorization header must be `Bearer <token>`",
            ));
        }
    };
    let Some(stored) = data.tokens.get(&token_key(token)) else {
        return Err(unauthorized("the access token is not valid"));
    };
    if stored.expires_at <= now {
        return Err(unauthorized("the access token has expired"));
    }
    let needed = match access {
        Access::Read => "api.read",
        Access::Write => "api.write",
    };
    if !stored.scopes.iter().any(|s| s == needed) {
        // The documents list 401, not 403, for every endpoint.
        return Err(unauthorized(&format!(
            "the access token lacks the scope {needed}"
        )));
    }
    Ok(stored.root)
}
