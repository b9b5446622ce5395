//! The HTTP side of `entitle watch`, on axum: `/metrics` (Prometheus
//! text), `/healthz` (200 while the last successful refresh is at most two
//! intervals old, else 503) and `/drift` (the latest drift JSON, as
//! `entitle drift --format json` prints it; 503 before the first refresh
//! succeeds). Read-only: nothing here starts a refresh.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::Shared;
use super::metrics::CONTENT_TYPE;

/// The routes, over the watch's shared view.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/drift", get(drift))
        .with_state(shared)
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        shared.metrics.encode(),
    )
        .into_response()
}

async fn healthz(State(shared): State<Arc<Shared>>) -> Response {
    let health = shared.health();
    let status = if health.healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": health.status,
        "last_success_unix_seconds": health.last_success_unix,
        "seconds_since_success": health.seconds_since_success,
        "consecutive_failures": health.consecutive_failures,
    });
    (status, axum::Json(body)).into_response()
}

async fn drift(State(shared): State<Arc<Shared>>) -> Response {
    match shared.drift_json() {
        Some(document) => ([(header::CONTENT_TYPE, "application/json")], document).into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"error": "no refresh has succeeded yet"})),
        )
            .into_response(),
    }
}
