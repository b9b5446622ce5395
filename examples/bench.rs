//! Refresh and plan at scale, against the simulator with injected latency.
//!
//! Seeds the simulator with licenses spread over tenants, writes matching
//! manifests and a state that binds them, then times `plan` (refresh and
//! the pure planner) through the real code, and the per-resource refresh
//! that Terraform-style providers do (one GET per managed object, 10 at a
//! time) as the baseline. Prints API calls per route and wall time next to
//! the lower bound. Not a test: figures are measured, not asserted.
//!
//! ```sh
//! cargo run --release --example bench -- --licenses 10000 --tenants 4 --latency-ms 20 --runs 5
//! cargo run --release --example bench -- --licenses 100 --apply 1000 --rate-429-percent 20
//! ```
//!
//! With `--apply N` it also creates N licenses twice, without and with a
//! share of 429 answers, and prints how much longer the second took.

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use entitle::api::arcserve::{ArcserveClient, NewLicense};
use entitle::api::ecl::{EclClients, TenantId};
use entitle::api::http::{HttpClient, HttpConfig, checked_base_url, join_segments};
use entitle::api::keystone::{EclCredentials, Keystone};
use entitle::api::redstor::RedstorAccess;
use entitle::sim::{SimConfig, Simulator};
use entitle::state::{ResourceState, Scope, State, StateFile, Status};
use entitle::workflow::Workspace;
use futures_util::{StreamExt, stream};
use serde_json::json;

const PLAN: &str = "7f5a3c1e-2b4d-4e8f-9a6b-0c1d2e3f4a5b";

struct Options {
    licenses: usize,
    tenants: usize,
    latency_ms: u64,
    runs: usize,
    /// Licenses to create in the apply measurement (0: skip it).
    apply: usize,
    /// Percent of requests answered 429 in the second apply.
    rate_429_percent: u64,
}

fn options() -> Options {
    let mut options = Options {
        licenses: 10_000,
        tenants: 4,
        latency_ms: 20,
        runs: 3,
        apply: 0,
        rate_429_percent: 20,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        match pair[0].as_str() {
            "--licenses" => options.licenses = value as usize,
            "--tenants" => options.tenants = (value as usize).max(1),
            "--latency-ms" => options.latency_ms = value,
            "--runs" => options.runs = (value as usize).max(1),
            "--apply" => options.apply = value as usize,
            "--rate-429-percent" => options.rate_429_percent = value.min(100),
            other => panic!("unknown option {other}; use --licenses --tenants --latency-ms --runs"),
        }
    }
    options
}

fn tenant_id(index: usize) -> String {
    format!("{:032x}", 0xbe4c_0000_u128 + index as u128)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

async fn metrics(http: &reqwest::Client, base: &str) -> BTreeMap<String, u64> {
    let value: serde_json::Value = http
        .get(format!("{base}/_sim/metrics"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    serde_json::from_value(value["requests"].clone()).unwrap()
}

async fn control(
    http: &reqwest::Client,
    base: &str,
    method: reqwest::Method,
    path: &str,
    body: serde_json::Value,
) {
    http.request(method, format!("{base}/_sim/{path}"))
        .json(&body)
        .send()
        .await
        .unwrap();
}

#[tokio::main]
async fn main() {
    let options = options();
    let sim = Simulator::start(
        ([127, 0, 0, 1], 0).into(),
        SimConfig {
            provisioning_delay: Duration::ZERO,
            ..SimConfig::default()
        },
    )
    .await
    .unwrap();
    let base = sim.base_url();
    entitle::api::http::install_crypto_provider();
    let raw = reqwest::Client::new();
    let http = HttpClient::new(HttpConfig::default()).unwrap();
    let url = checked_base_url(&base, "sim").unwrap();
    let keystone = Arc::new(Keystone::new(
        http.clone(),
        EclCredentials::demo(join_segments(&url, &["v3"]).unwrap()),
    ));
    let clients = EclClients::new(http, keystone, Some(base.clone()));

    // Seed: licenses spread over the tenants, and the state that binds them.
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("manifests");
    std::fs::create_dir_all(&manifests).unwrap();
    let mut state = State::new();
    let per_tenant = options.licenses.div_ceil(options.tenants);
    let seed_started = Instant::now();
    for t in 0..options.tenants {
        let tenant = tenant_id(t);
        let mut yaml = String::new();
        let _ = write!(
            yaml,
            "---\napiVersion: entitle/v1\nkind: EclTenant\nmetadata:\n  name: t{t}\nspec:\n  region: jp1\n  tenantId: {tenant}\n"
        );
        let client: ArcserveClient = clients.arcserve_for(&tenant, "jp1", None).unwrap();
        let count = per_tenant.min(options.licenses - t * per_tenant.min(options.licenses));
        let created: Vec<_> = stream::iter(0..count)
            .map(|i| {
                let client = client.clone();
                async move {
                    client
                        .create_license(&NewLicense {
                            name: format!("t{t}-license-{i:05}"),
                            plan_id: PLAN.parse().unwrap(),
                            number_of_standalone_keys: 1,
                        })
                        .await
                        .unwrap()
                }
            })
            .buffer_unordered(64)
            .collect()
            .await;
        for license in created {
            let _ = write!(
                yaml,
                "---\napiVersion: entitle/v1\nkind: ArcserveLicense\nmetadata:\n  name: {}\nspec:\n  tenant: t{t}\n  plan: {PLAN}\n  standaloneKeys: 1\n  version: \"9.0\"\n",
                license.name
            );
            state.resources.insert(
                format!("ArcserveLicense/{}", license.name),
                ResourceState {
                    remote_id: Some(license.id.to_string()),
                    scope: Scope {
                        tenant_id: Some(TenantId::parse(&tenant).unwrap().to_string()),
                        region: Some("jp1".into()),
                        endpoint: None,
                        company_id: None,
                    },
                    natural_key: license.name.clone(),
                    attributes: json!({"tenant": format!("t{t}"), "plan": PLAN, "standaloneKeys": 1, "version": "9.0", "keyTypes": []}),
                    dependencies: vec![format!("EclTenant/t{t}")],
                    status: Status::Ready,
                    lifecycle: Default::default(),
                },
            );
        }
        std::fs::write(manifests.join(format!("t{t}.yaml")), &yaml).unwrap();
    }
    let state_file = StateFile::new(dir.path().join("entitle.state.json"));
    state_file.write(&mut state).unwrap();
    println!(
        "seeded {} licenses over {} tenants in {:.1}s",
        options.licenses,
        options.tenants,
        seed_started.elapsed().as_secs_f64()
    );

    let workspace = Workspace {
        paths: vec![manifests],
        state_file,
        lock_timeout: Duration::ZERO,
        clients: clients.clone(),
        redstor: RedstorAccess::unavailable("the benchmark has no Redstor account", ""),
    };
    control(
        &raw,
        &base,
        reqwest::Method::PUT,
        "faults",
        json!({ "latency_ms": options.latency_ms }),
    )
    .await;

    // entitle: load, refresh, plan, each timed.
    let mut loads = Vec::new();
    let mut refreshes = Vec::new();
    let mut plans = Vec::new();
    let mut calls = BTreeMap::new();
    for _ in 0..options.runs {
        // A fresh token cache each run, like a fresh process.
        let keystone = Arc::new(Keystone::new(
            HttpClient::new(HttpConfig::default()).unwrap(),
            EclCredentials::demo(join_segments(&url, &["v3"]).unwrap()),
        ));
        let run_clients = EclClients::new(
            HttpClient::new(HttpConfig::default()).unwrap(),
            keystone,
            Some(base.clone()),
        );
        raw.delete(format!("{base}/_sim/metrics"))
            .send()
            .await
            .unwrap();
        let started = Instant::now();
        let desired = workspace.load().unwrap();
        let state = workspace.state_file.load_or_new().unwrap();
        loads.push(started.elapsed().as_secs_f64());
        let started = Instant::now();
        let live =
            entitle::plan::refresh::refresh(&desired, &state, &run_clients, &workspace.redstor)
                .await
                .unwrap();
        refreshes.push(started.elapsed().as_secs_f64());
        let started = Instant::now();
        let plan = entitle::plan::plan(&entitle::plan::PlanInput {
            desired: &desired,
            prior: &state,
            live: &live,
            targets: &[],
        })
        .unwrap();
        plans.push(started.elapsed().as_secs_f64());
        assert!(plan.is_empty(), "the seeded state should plan no changes");
        calls = metrics(&raw, &base).await;
    }
    let entitle_calls: u64 = calls.values().sum();

    // Baseline: one GET per managed license, 10 at a time.
    raw.delete(format!("{base}/_sim/metrics"))
        .send()
        .await
        .unwrap();
    let started = Instant::now();
    let targets: Vec<(String, String)> = state
        .resources
        .values()
        .map(|r| {
            (
                r.scope.tenant_id.clone().unwrap(),
                r.remote_id.clone().unwrap(),
            )
        })
        .collect();
    stream::iter(targets)
        .map(|(tenant, id)| {
            let client = clients.arcserve_for(&tenant, "jp1", None).unwrap();
            async move { client.get_license(id.parse().unwrap()).await.unwrap() }
        })
        .buffer_unordered(10)
        .collect::<Vec<_>>()
        .await;
    let baseline_wall = started.elapsed().as_secs_f64();
    let baseline_calls: u64 = metrics(&raw, &base).await.values().sum();

    // The lower bound: per tenant, a token, then page 1, then the other
    // pages 8 at a time (plans and orders ride alongside).
    let pages_per_tenant = per_tenant.div_ceil(100).max(1) as u64;
    let list_lower_bound = pages_per_tenant * options.tenants as u64;
    let rounds = 2 + (pages_per_tenant - 1).div_ceil(8);
    let wall_lower_bound = rounds as f64 * options.latency_ms as f64 / 1000.0;
    let list_calls = calls
        .get("GET /v2/arcserve-udp/{tenant_id}/licenses")
        .copied()
        .unwrap_or(0);

    println!();
    println!(
        "refresh + plan of {} licenses, {} tenants, {} ms latency, median of {} run(s)",
        options.licenses, options.tenants, options.latency_ms, options.runs
    );
    println!();
    println!("| route | calls | lower bound |");
    println!("|---|---:|---:|");
    for (route, count) in &calls {
        let bound = match route.as_str() {
            "GET /v2/arcserve-udp/{tenant_id}/licenses" => list_lower_bound.to_string(),
            _ => options.tenants.to_string(),
        };
        println!("| `{route}` | {count} | {bound} |");
    }
    let (load, refresh, plan) = (median(loads), median(refreshes), median(plans));
    println!();
    println!("| | entitle | lower bound | per-resource baseline |");
    println!("|---|---:|---:|---:|");
    println!("| license list calls | {list_calls} | {list_lower_bound} | - |");
    println!(
        "| API calls | {entitle_calls} | {} | {baseline_calls} |",
        list_lower_bound + 2 * options.tenants as u64
    );
    println!(
        "| refresh wall time (s) | {refresh:.3} | {wall_lower_bound:.3} | {baseline_wall:.3} |"
    );
    println!("| load manifests + state (s) | {load:.3} | | |");
    println!("| plan, no I/O (s) | {plan:.3} | | |");
    println!();
    println!(
        "ratios: refresh / lower bound = {:.2}; baseline calls / entitle calls = {:.0}; baseline wall / entitle refresh = {:.0}",
        refresh / wall_lower_bound.max(f64::EPSILON),
        baseline_calls as f64 / entitle_calls.max(1) as f64,
        baseline_wall / refresh.max(f64::EPSILON)
    );
    if options.apply > 0 {
        apply_under_rate_limits(&options, &base, &url, &raw).await;
    }
    sim.shutdown().await;
}

/// Creates `options.apply` licenses in a fresh tenant twice, once as is and
/// once with a share of requests answered 429 (`Retry-After: 1`), through
/// the real planner and executor; prints wall times and failed actions.
async fn apply_under_rate_limits(
    options: &Options,
    base: &str,
    url: &reqwest::Url,
    raw: &reqwest::Client,
) {
    println!();
    println!(
        "apply: {} licenses (create, wait, issue a key), {} ms latency, parallelism 8",
        options.apply, options.latency_ms
    );
    println!();
    println!("| 429 share | wall (s) | actions failed | API calls |");
    println!("|---:|---:|---:|---:|");
    let mut walls = Vec::new();
    for (round, percent) in [0, options.rate_429_percent].into_iter().enumerate() {
        let tenant = tenant_id(1000 + round);
        let dir = tempfile::tempdir().unwrap();
        let mut yaml = format!(
            "apiVersion: entitle/v1\nkind: EclTenant\nmetadata:\n  name: bench\nspec:\n  region: jp1\n  tenantId: {tenant}\n"
        );
        for i in 0..options.apply {
            let _ = write!(
                yaml,
                "---\napiVersion: entitle/v1\nkind: ArcserveLicense\nmetadata:\n  name: a{round}-{i:05}\nspec:\n  tenant: bench\n  plan: {PLAN}\n  standaloneKeys: 1\n  version: \"9.0\"\n  keyTypes: [a1b2c3d4-0001-4000-8000-000000000001]\n"
            );
        }
        std::fs::write(dir.path().join("m.yaml"), yaml).unwrap();
        let http = HttpClient::new(HttpConfig::default()).unwrap();
        let keystone = Arc::new(Keystone::new(
            http.clone(),
            EclCredentials::demo(join_segments(url, &["v3"]).unwrap()),
        ));
        let workspace = Workspace {
            paths: vec![dir.path().join("m.yaml")],
            state_file: StateFile::new(dir.path().join("state.json")),
            lock_timeout: Duration::ZERO,
            clients: EclClients::new(http, keystone, Some(base.to_string())),
            redstor: RedstorAccess::unavailable("the benchmark has no Redstor account", ""),
        };
        control(
            raw,
            base,
            reqwest::Method::PUT,
            "faults",
            json!({ "latency_ms": options.latency_ms, "rate_429": percent as f64 / 100.0, "retry_after_secs": 1 }),
        )
        .await;
        raw.delete(format!("{base}/_sim/metrics"))
            .send()
            .await
            .unwrap();
        let started = Instant::now();
        let planned = workspace.plan(&[]).await.unwrap();
        let (_tx, cancel) = tokio::sync::watch::channel(false);
        let report = workspace
            .apply(
                &planned.plan,
                planned.state,
                entitle::apply::ApplyOptions {
                    poll_interval: Duration::from_millis(50),
                    ..entitle::apply::ApplyOptions::default()
                },
                Arc::new(entitle::apply::Silent),
                cancel,
            )
            .await;
        let wall = started.elapsed().as_secs_f64();
        walls.push(wall);
        let failed = report
            .outcomes
            .iter()
            .filter(|(_, o)| !matches!(o, entitle::apply::Outcome::Done(_)))
            .count();
        let calls: u64 = metrics(raw, base).await.values().sum();
        println!("| {percent}% | {wall:.2} | {failed} | {calls} |");
    }
    control(raw, base, reqwest::Method::PUT, "faults", json!({})).await;
    println!();
    println!(
        "with {}% 429s the apply took {:.2} times as long",
        options.rate_429_percent,
        walls[1] / walls[0].max(f64::EPSILON)
    );
}
