//! `/_sim/...`: the simulator's own controls. Request counts per route,
//! faults, the documented behaviours switched on, the simulated clock, reset and a dump of the whole store. No
//! auth and no faults here: these are for the person or test driving it.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::reply::Reject;
use super::store::Store;
use super::{Behaviour, Behaviours, Faults, Shared, reply};

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_sim/metrics", get(metrics).delete(clear_metrics))
        .route("/_sim/faults", get(get_faults).put(put_faults))
        .route("/_sim/behaviours", get(get_behaviours).put(put_behaviours))
        .route("/_sim/clock", get(get_clock).put(put_clock))
        .route("/_sim/reset", post(reset))
        .route("/_sim/dump", get(dump).put(restore))
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let requests = Shared::lock(&shared.metrics).clone();
    let total: u64 = requests.values().sum();
    reply::json(
        StatusCode::OK,
        json!({ "requests": requests, "total": total }),
    )
}

async fn clear_metrics(State(shared): State<Arc<Shared>>) -> Response {
    Shared::lock(&shared.metrics).clear();
    reply::json(StatusCode::OK, json!({}))
}

async fn get_faults(State(shared): State<Arc<Shared>>) -> Response {
    reply::json(StatusCode::OK, json!(shared.faults()))
}

async fn put_faults(State(shared): State<Arc<Shared>>, body: Bytes) -> Result<Response, Reject> {
    let faults: Faults = match serde_json::from_slice(&body) {
        Ok(faults) => faults,
        Err(err) => return Err(reply::bad_request(format!("not a faults object: {err}"))),
    };
    let rates = [faults.error_rate, faults.rate_429, faults.drop_rate];
    if rates.iter().any(|r| !(0.0..=1.0).contains(r)) {
        return Err(reply::bad_request(
            "error_rate, rate_429 and drop_rate must be between 0 and 1",
        ));
    }
    *Shared::lock(&shared.faults) = faults.clone();
    Ok(reply::json(StatusCode::OK, json!(faults)))
}

async fn get_behaviours(State(shared): State<Arc<Shared>>) -> Response {
    let behaviours = Shared::lock(&shared.behaviours).clone();
    reply::json(StatusCode::OK, json!(behaviours))
}

/// A JSON array of behaviour names replaces the set switched on.
async fn put_behaviours(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<Response, Reject> {
    let behaviours: Behaviours = serde_json::from_slice(&body).map_err(|err| {
        let known: Vec<String> = Behaviour::all().into_iter().map(Behaviour::name).collect();
        reply::bad_request(format!(
            "send a JSON array of behaviour names ({}): {err}",
            known.join(", ")
        ))
    })?;
    *Shared::lock(&shared.behaviours) = behaviours.clone();
    Ok(reply::json(StatusCode::OK, json!(behaviours)))
}

fn clock_json(now: OffsetDateTime) -> Value {
    json!({ "now": now.format(&Rfc3339).unwrap_or_default() })
}

async fn get_clock(State(shared): State<Arc<Shared>>) -> Response {
    let now = shared.store().now();
    reply::json(StatusCode::OK, clock_json(now))
}

/// `{"now": RFC 3339}` sets the simulated now; `{"advance_secs": N}` moves
/// it. Either way the clock keeps ticking from there.
async fn put_clock(State(shared): State<Arc<Shared>>, body: Bytes) -> Result<Response, Reject> {
    let body = reply::body_object(&body)?;
    let now = {
        let mut store = shared.store();
        let before = store.clock_offset_ms;
        if let Some(text) = body.get("now").and_then(Value::as_str) {
            let Ok(target) = OffsetDateTime::parse(text, &Rfc3339) else {
                return Err(reply::bad_request(format!(
                    "`now` must be an RFC 3339 time, got `{text}`"
                )));
            };
            let offset = target - OffsetDateTime::now_utc();
            store.clock_offset_ms = i64::try_from(offset.whole_milliseconds()).unwrap_or(0);
        } else if let Some(seconds) = body.get("advance_secs").and_then(Value::as_i64) {
            store.clock_offset_ms = store
                .clock_offset_ms
                .saturating_add(seconds.saturating_mul(1000));
        } else {
            return Err(reply::bad_request(
                "send {\"now\": \"<RFC 3339>\"} or {\"advance_secs\": N}",
            ));
        }
        let shown = OffsetDateTime::now_utc()
            .checked_add(time::Duration::milliseconds(store.clock_offset_ms))
            .filter(|t| (1970..=9999).contains(&t.year()));
        let Some(now) = shown else {
            store.clock_offset_ms = before;
            return Err(reply::bad_request(
                "the simulated clock must stay between the years 1970 and 9999",
            ));
        };
        now
    };
    shared.persist();
    Ok(reply::json(StatusCode::OK, clock_json(now)))
}

/// Forgets everything but the Redstor root company, which is seeded again
/// with the same id.
async fn reset(State(shared): State<Arc<Shared>>) -> Response {
    {
        let mut store = shared.store();
        let root = store.redstor.root().map(|c| c.id);
        *store = Store::default();
        let now = store.now();
        store.redstor.seed(root, now);
    }
    Shared::lock(&shared.metrics).clear();
    *Shared::lock(&shared.faults) = Faults::default();
    *Shared::lock(&shared.behaviours) = Behaviours::default();
    shared.persist();
    reply::json(StatusCode::OK, json!({}))
}

async fn dump(State(shared): State<Arc<Shared>>) -> Response {
    let store = shared.store().clone();
    reply::json(StatusCode::OK, json!(store))
}

/// Replaces the whole store with a dump: what the vendor's back office
/// can make that its API refuses (names with control characters, key
/// counts beyond the API's range), for the tests of what entitle reads.
async fn restore(State(shared): State<Arc<Shared>>, body: Bytes) -> Result<Response, Reject> {
    let store: Store = serde_json::from_slice(&body)
        .map_err(|err| reply::bad_request(format!("not a dump of the simulator: {err}")))?;
    *shared.store() = store;
    shared.persist();
    Ok(reply::json(StatusCode::OK, json!({})))
}
