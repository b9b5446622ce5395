//! The simulator's own surface: its controls, its error bodies, its Keystone
//! answers, and its data file across a restart.

use std::time::Duration;

use entitle::sim::SimConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

fn token_body(user: &str, password: &str, tenant: &str) -> Value {
    json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "domain": {"id": "default"}, "name": user, "password": password}}},
        "scope": {"project": {"id": tenant}}}})
}

#[test]
fn keystone_answers_like_the_api_guide() {
    let sim = TestSim::start();
    let reply = sim.call(
        None,
        Method::POST,
        "/v3/auth/tokens",
        Some(token_body("demo", "demo-secret", TENANT_A)),
    );
    assert_eq!(reply.status, StatusCode::CREATED);
    assert!(
        reply
            .header("x-subject-token")
            .is_some_and(|t| t.len() >= 32)
    );
    let body = reply.body;
    assert_eq!(body["token"]["project"]["id"], TENANT_A);
    assert!(body["token"]["expires_at"].as_str().unwrap().ends_with('Z'));

    let reply = sim.call(
        None,
        Method::POST,
        "/v3/auth/tokens",
        Some(token_body("demo", "wrong", TENANT_A)),
    );
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.body["error"]["code"], 401);
    let reply = sim.call(
        None,
        Method::POST,
        "/v3/auth/tokens",
        Some(json!({"auth": {}})),
    );
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[test]
fn requests_without_a_token_are_401_with_a_json_body() {
    let sim = TestSim::start();
    let reply = sim.call(
        None,
        Method::GET,
        &format!("/v2/arcserve-udp/{TENANT_A}/licenses"),
        None,
    );
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.body["error"]["code"], 401);
    assert!(reply.body["error"]["message"].is_string());
    let reply = sim.call(None, Method::GET, "/v2/nowhere", None);
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(sim.calls("GET <unmatched>"), 1);
}

#[test]
fn metrics_count_per_route_template_and_reset_clears_everything() {
    let sim = TestSim::start();
    let client = sim.arcserve(TENANT_A);
    sim.block_on(client.list_licenses(None)).unwrap();
    sim.block_on(client.list_plans()).unwrap();
    let metrics = sim.metrics();
    assert_eq!(metrics.get("POST /v3/auth/tokens"), Some(&1));
    assert_eq!(
        metrics.get("GET /v2/arcserve-udp/{tenant_id}/licenses"),
        Some(&1)
    );
    assert_eq!(
        metrics.get("GET /v2/arcserve-udp/{tenant_id}/plans"),
        Some(&1)
    );

    sim.block_on(client.create_license(&new_license("x", 0)))
        .unwrap();
    sim.set_faults(json!({"latency_ms": 1}));
    sim.control(Method::POST, "reset", None);
    assert!(sim.metrics().is_empty());
    let dump = sim.control(Method::GET, "dump", None);
    assert_eq!(dump["arcserve"], json!({}));
    assert_eq!(sim.control(Method::GET, "faults", None)["latency_ms"], 0);
}

#[test]
fn fault_settings_are_validated() {
    let sim = TestSim::start();
    let reply = sim.call(
        None,
        Method::PUT,
        "/_sim/faults",
        Some(json!({"error_rate": 1.5})),
    );
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    let reply = sim.call(None, Method::PUT, "/_sim/faults", Some(json!({"bogus": 1})));
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[test]
fn a_429_carries_retry_after() {
    let sim = TestSim::start();
    sim.set_faults(json!({"rate_429": 1.0, "retry_after_secs": 7}));
    let reply = sim.call(
        None,
        Method::GET,
        &format!("/v2/arcserve-udp/{TENANT_A}/plans"),
        None,
    );
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.header("retry-after"), Some("7"));
}

#[test]
fn the_clock_can_be_set_and_drives_the_date_header() {
    let sim = TestSim::start();
    let set = sim.control(
        Method::PUT,
        "clock",
        Some(json!({"now": "2030-01-02T03:04:05Z"})),
    );
    assert!(
        set["now"].as_str().unwrap().starts_with("2030-01-02T03:04"),
        "{set}"
    );
    let reply = sim.call(
        None,
        Method::GET,
        &format!("/v2/arcserve-udp/{TENANT_A}/plans"),
        None,
    );
    let date = reply.header("date").unwrap();
    assert!(date.contains("02 Jan 2030"), "{date}");
    let reply = sim.call(
        None,
        Method::PUT,
        "/_sim/clock",
        Some(json!({"now": "soon"})),
    );
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[test]
fn the_data_file_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("sim.json");
    let config = || SimConfig {
        data: Some(data.clone()),
        provisioning_delay: Duration::from_millis(10),
        ..SimConfig::default()
    };
    {
        let sim = TestSim::with_config(config());
        sim.block_on(
            sim.arcserve(TENANT_A)
                .create_license(&new_license("kept", 2)),
        )
        .unwrap();
    }
    let sim = TestSim::with_config(config());
    let live = sim
        .block_on(sim.arcserve(TENANT_A).list_licenses(None))
        .unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].name, "kept");

    std::fs::write(&data, b"{ not json").unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let err = runtime
        .block_on(entitle::sim::Simulator::start(
            ([127, 0, 0, 1], 0).into(),
            config(),
        ))
        .err()
        .unwrap();
    assert!(err.to_string().contains("sim.json"), "{err}");
}

#[test]
fn a_wrong_method_is_405_with_a_json_body() {
    let sim = TestSim::start();
    let reply = sim.call(
        None,
        Method::PUT,
        &format!("/v2/arcserve-udp/{TENANT_A}/licenses"),
        None,
    );
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.body["error"]["code"], 405);
}

#[test]
fn the_clock_cannot_leave_the_years_it_can_show() {
    let sim = TestSim::start();
    for body in [
        json!({"now": "1969-12-31T23:59:59Z"}),
        json!({"advance_secs": i64::MAX}),
        json!({"advance_secs": -4_000_000_000_i64}),
    ] {
        let reply = sim.call(None, Method::PUT, "/_sim/clock", Some(body.clone()));
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
    }
    // Still answering, with a date.
    sim.block_on(sim.arcserve(TENANT_A).list_plans()).unwrap();
}
