//! The server: the route table, the layer that counts requests and injects
//! faults, and the connection loop.
//!
//! The connection loop is hyper's, not `axum::serve`, because a dropped
//! response needs the connection closed before a status line is written:
//! the fault layer marks the response, and the connection's service then
//! fails instead of answering, which makes hyper close the connection.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use tokio::sync::watch;
use tower::ServiceExt;

use super::{Faults, Shared, redstor, reply};

/// Marks a response that must not be delivered.
#[derive(Clone, Copy)]
struct Dropped;

/// Every route: the APIs behind the fault layer, `/_sim` without it.
pub fn router(shared: Arc<Shared>) -> Router {
    let apis = Router::new()
        .merge(super::keystone::routes())
        .merge(super::arcserve::routes())
        .merge(super::proposal::routes())
        .merge(super::redstor::routes())
        .route_layer(middleware::from_fn_with_state(
            shared.clone(),
            super::behaviour::unknowns,
        ))
        .route_layer(middleware::from_fn_with_state(shared.clone(), faults))
        .fallback(unmatched)
        .method_not_allowed_fallback(wrong_method);
    Router::new()
        .merge(super::control::routes())
        .merge(apis)
        .layer(middleware::from_fn_with_state(shared.clone(), server_date))
        .with_state(shared)
}

/// Counts the request under its route template, then applies the faults:
/// latency, 429, 500 (nothing done), or drop (done, then no answer). On
/// RedAPI routes the 429 and 500 are ProblemDetails.
///
/// The latency is the server's response time, as a vendor's is: the answer
/// leaves `latency_ms` after the request arrived, the work done within it
/// (later only when the work takes longer).
async fn faults(
    State(shared): State<Arc<Shared>>,
    path: MatchedPath,
    request: Request,
    next: Next,
) -> Response {
    let route = format!("{} {}", request.method(), path.as_str());
    let redstor = redstor::is_redstor_route(path.as_str());
    let instance = request.uri().path().to_string();
    let refuse = |status: StatusCode, detail: &str| {
        if redstor {
            redstor::problem_response(status, detail, Some(&instance))
        } else {
            reply::error(status, detail).into_response()
        }
    };
    shared.count(route.clone());
    let faults = shared.faults();
    if faults.only.as_ref().is_some_and(|only| *only != route) {
        return next.run(request).await;
    }
    let answer_at = Instant::now() + Duration::from_millis(faults.latency_ms);
    let response = faulted(&faults, request, next, refuse).await;
    wait_until(answer_at).await;
    response
}

/// The answer under `faults`, their latency aside.
async fn faulted(
    faults: &Faults,
    request: Request,
    next: Next,
    refuse: impl Fn(StatusCode, &str) -> Response,
) -> Response {
    if faults.rate_429 > 0.0 && fastrand::f64() < faults.rate_429 {
        let mut response = refuse(StatusCode::TOO_MANY_REQUESTS, "too many requests");
        if let Ok(value) = HeaderValue::from_str(&faults.retry_after_secs.to_string()) {
            response.headers_mut().insert("retry-after", value);
        }
        return response;
    }
    if faults.error_rate > 0.0 && fastrand::f64() < faults.error_rate {
        return refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal server error (injected)",
        );
    }
    let mut response = next.run(request).await;
    if faults.drop_rate > 0.0 && fastrand::f64() < faults.drop_rate {
        response.extensions_mut().insert(Dropped);
    }
    response
}

/// Waits until `deadline`, to within the operating system's timer: tokio's
/// rounds every sleep up to its next millisecond and wakes what falls in
/// the same one together, which would add up to a millisecond to every
/// round trip and bunch the answers. So tokio's sleep (which a shutdown
/// cancels) covers all but the last two milliseconds, and a thread's sleep
/// the rest.
async fn wait_until(deadline: Instant) {
    const FINE: Duration = Duration::from_millis(2);
    if let Some(coarse) = deadline.checked_sub(FINE) {
        tokio::time::sleep_until(coarse.into()).await;
    }
    if Instant::now() < deadline {
        // The sleep ends by itself; a failed join only means the runtime is
        // shutting down.
        _ = tokio::task::spawn_blocking(move || {
            std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
        })
        .await;
    }
}

/// The `Date` header from the simulated clock, so that clients judge date
/// rules by the simulator's day, as they would by the vendor's.
async fn server_date(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let now = shared.store().now();
    if now.year() >= 1970 {
        let now: SystemTime = now.into();
        if let Ok(value) = HeaderValue::from_str(&httpdate::fmt_http_date(now)) {
            response.headers_mut().insert("date", value);
        }
    }
    response
}

async fn unmatched(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    shared.count(format!("{} <unmatched>", request.method()));
    let path = request.uri().path();
    let detail = format!("no route for {} {path}", request.method());
    if redstor::is_redstor_route(path) {
        return redstor::problem_response(StatusCode::NOT_FOUND, &detail, Some(path));
    }
    reply::not_found(detail).into_response()
}

async fn wrong_method(request: Request) -> Response {
    let path = request.uri().path();
    let detail = format!("{} is not allowed on {path}", request.method());
    if redstor::is_redstor_route(path) {
        return redstor::problem_response(StatusCode::METHOD_NOT_ALLOWED, &detail, Some(path));
    }
    reply::error(StatusCode::METHOD_NOT_ALLOWED, detail).into_response()
}

/// The error that makes hyper close a connection without answering.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("response dropped by fault injection")
    }
}

impl std::error::Error for DropConnection {}

/// Accepts connections until `stop` turns true, then lets every connection
/// finish its request and close.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    mut stop: watch::Receiver<bool>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                connections.spawn(connection(stream, router.clone(), stop.clone()));
            }
            _ = stop.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(5), drain)
        .await
        .is_err()
    {
        connections.abort_all();
    }
}

async fn connection(
    stream: tokio::net::TcpStream,
    router: Router,
    mut stop: watch::Receiver<bool>,
) {
    let service =
        hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let router = router.clone();
            async move {
                let response = router
                    .oneshot(request.map(axum::body::Body::new))
                    .await
                    .unwrap_or_else(|never: Infallible| match never {});
                if response.extensions().get::<Dropped>().is_some() {
                    return Err(DropConnection);
                }
                Ok(response)
            }
        });
    let conn =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = stop.wait_for(|stopped| *stopped) => {}
    }
    // Finish the request in flight, if any, and close.
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}
