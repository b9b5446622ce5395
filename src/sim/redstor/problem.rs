//! RedAPI errors: RFC 7807 `ProblemDetails` (`type`, `title`, `status`,
//! `detail`, `instance`) as `application/problem+json`. A handler returns a
//! [`Problem`]; the layer [`instance`] fills `instance` with the request path.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A refused RedAPI request.
#[derive(Debug, Clone)]
pub struct Problem {
    status: StatusCode,
    detail: String,
}

pub fn problem(status: StatusCode, detail: impl Into<String>) -> Problem {
    Problem {
        status,
        detail: detail.into(),
    }
}

pub fn bad_request(detail: impl Into<String>) -> Problem {
    problem(StatusCode::BAD_REQUEST, detail)
}

pub fn not_found(detail: impl Into<String>) -> Problem {
    problem(StatusCode::NOT_FOUND, detail)
}

pub fn conflict(detail: impl Into<String>) -> Problem {
    problem(StatusCode::CONFLICT, detail)
}

pub fn unprocessable(detail: impl Into<String>) -> Problem {
    problem(StatusCode::UNPROCESSABLE_ENTITY, detail)
}

fn type_uri(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        401 => "https://tools.ietf.org/html/rfc9110#section-15.5.2",
        403 => "https://tools.ietf.org/html/rfc9110#section-15.5.4",
        404 => "https://tools.ietf.org/html/rfc9110#section-15.5.5",
        405 => "https://tools.ietf.org/html/rfc9110#section-15.5.6",
        409 => "https://tools.ietf.org/html/rfc9110#section-15.5.10",
        422 => "https://tools.ietf.org/html/rfc9110#section-15.5.21",
        429 => "https://tools.ietf.org/html/rfc6585#section-4",
        _ => "https://tools.ietf.org/html/rfc9110#section-15.6.1",
    }
}

fn body(status: StatusCode, detail: &str, instance: Option<&str>) -> Value {
    json!({
        "type": type_uri(status),
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
        "instance": instance,
    })
}

/// A ProblemDetails response for `instance` (the request path).
pub fn response(status: StatusCode, detail: &str, instance: Option<&str>) -> Response {
    let bytes = serde_json::to_vec(&body(status, detail, instance)).unwrap_or_default();
    let mut response = (status, bytes).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut response = response(self.status, &self.detail, None);
        response.extensions_mut().insert(self);
        response
    }
}

/// Fills in `instance` of a [`Problem`] answer with the request's path.
pub async fn instance(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let mut response = next.run(request).await;
    if let Some(problem) = response.extensions_mut().remove::<Problem>() {
        let bytes = serde_json::to_vec(&body(problem.status, &problem.detail, Some(&path)))
            .unwrap_or_default();
        response.headers_mut().remove(header::CONTENT_LENGTH);
        *response.body_mut() = Body::from(bytes);
    }
    response
}

/// Whether a route template (as `MatchedPath` gives it), or a request path,
/// is RedAPI's.
pub fn is_redstor_route(path: &str) -> bool {
    ["/companies", "/users", "/products", "/connect"]
        .iter()
        .any(|root| {
            path.strip_prefix(root)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redstor_routes_are_told_by_their_root() {
        for path in [
            "/companies",
            "/companies/{companyId}/subscriptions",
            "/users/list",
            "/products/4",
            "/connect/token",
        ] {
            assert!(is_redstor_route(path), "{path}");
        }
        for path in [
            "/v2/arcserve-udp/x/licenses",
            "/v3/auth/tokens",
            "/companiesx",
            "/_sim/dump",
        ] {
            assert!(!is_redstor_route(path), "{path}");
        }
    }
}
