//! Refresh, plan and apply at scale, against the simulator with injected
//! latency.
//!
//! The scenario: licenses over ECL tenants, a three-level Redstor tree of
//! companies (partners, sub-partners, customers) with their subscriptions,
//! and FastDNS proposals. The simulator runs as a child process (this same
//! binary, `--serve-sim`), so the CPU time and peak memory printed are
//! entitle's alone. The harness writes the manifests, creates everything
//! through `apply` with no latency (which also writes the state), then
//! injects latency and times load, refresh and plan through the real code
//! next to the lower bound, and the per-resource refresh that
//! Terraform-style providers do (one GET per managed object, 10 at a time)
//! as the baseline. Not a test: figures are measured, not asserted.
//!
//! ```sh
//! cargo run --release --example bench -- --licenses 10000 --tenants 4 --companies 1000 \
//!     --subscriptions 3000 --proposals 50 --latency-ms 20 --runs 5
//! cargo run --release --example bench -- --apply 1 --rate-429-percent 20   # + apply from empty
//! cargo run --release --example bench -- --pure 100000                      # planner, no I/O
//! cargo run --release --example bench -- --backends 3                        # apply: file vs PostgreSQL
//! cargo run --release --example bench -- --scale 10 --apply-only 1 --apply 1   # apply only, x10
//! cargo run --release --example bench -- --load 1 --runs 7                   # loading vs a bare parse
//! cargo run --release --example bench -- --scale 10 --baseline 0 --runs 5    # ten times the scenario
//! ```
//!
//! With `--apply N` it also creates the whole scenario from empty N times
//! without and N times with a share of 429 answers, each time in a fresh
//! simulator, and prints the medians next to the lower bound (the calls made
//! without 429s, 32 in flight, at the injected latency) and how much longer
//! the apply took with 429s. With `--pure N` it only
//! times loading N license manifests against planning them (all bound, no
//! changes) on a prepared live view. With `--load 1` it only times loading
//! the scenario's manifests against a bare `serde-saphyr` parse of the same
//! files. `--scale F` sets the scenario to F times the target one.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use entitle::api::arcserve::{ArcserveClient, NewLicense};

#[path = "../tests/support/pg_cluster.rs"]
mod pg_cluster;
use entitle::api::ecl::{EclClients, TenantId};
use entitle::api::http::{HttpClient, HttpConfig, checked_base_url, join_segments};
use entitle::api::keystone::{EclCredentials, Keystone};
use entitle::api::redstor::{RedstorAccess, RedstorClient};
use entitle::api::redstor_auth::{RedstorAuth, RedstorCredentials};
use entitle::manifest::{Address, Kind};
use entitle::plan::Live;
use entitle::resources::arcserve_license::TenantLive;
use entitle::sim::{RedstorAccount, SimConfig, Simulator};
use entitle::state::{
    Backend, DEFAULT_WORKSPACE, ResourceState, Scope, State, StateFile, Status, Store,
};
use entitle::workflow::Workspace;
use futures_util::{StreamExt, stream};
use pg_cluster::PgCluster;
use serde_json::json;
use uuid::Uuid;

const PLAN: &str = "7f5a3c1e-2b4d-4e8f-9a6b-0c1d2e3f4a5b";

/// Products and editions the subscriptions cycle through: (short name,
/// edition name), at most one per product and company.
const OFFERS: [(&str, [&str; 2]); 5] = [
    ("O365", ["Standard", "Advanced"]),
    ("GWS", ["Standard", "Standard"]),
    ("Salesforce", ["Standard", "Standard"]),
    ("Machines", ["Server", "Workstation"]),
    ("Archive", ["Standard", "Standard"]),
];

struct Options {
    licenses: usize,
    tenants: usize,
    companies: usize,
    subscriptions: usize,
    proposals: usize,
    latency_ms: u64,
    runs: usize,
    /// Also time the apply of the whole scenario from empty, this many
    /// times at each 429 share (0: not at all).
    apply: usize,
    /// Percent of requests answered 429 in the second apply.
    rate_429_percent: u64,
    /// Actions in flight during an apply.
    parallelism: usize,
    /// Time only the pure planner on this many licenses (0: off).
    pure: usize,
    /// Time only the apply from empty per state backend, this many times
    /// each (0: off; `--apply` times it too).
    backends: usize,
    /// Time only loading the scenario's manifests against a bare parse of
    /// the same files.
    load: bool,
    /// Time only the apply from empty, without and with 429s (`--apply`
    /// times each; no plan, no backend comparison).
    apply_only: bool,
    /// Also time the per-resource baseline refresh (`--baseline 0`: not;
    /// at ten times the scenario it takes minutes).
    baseline: bool,
}

impl Options {
    /// The target scenario times `factor`: 10,000 licenses over 4 tenants,
    /// 1,000 companies, 3,000 subscriptions, 50 proposals at `--scale 1`.
    fn scale(&mut self, factor: f64) {
        let times = |count: f64| (count * factor).round().max(1.0) as usize;
        self.licenses = times(10_000.0);
        self.tenants = times(4.0);
        self.companies = times(1_000.0);
        self.subscriptions = times(3_000.0);
        self.proposals = times(50.0);
    }
}

fn options() -> Options {
    let mut options = Options {
        licenses: 10_000,
        tenants: 4,
        companies: 1_000,
        subscriptions: 3_000,
        proposals: 50,
        latency_ms: 20,
        runs: 3,
        apply: 0,
        rate_429_percent: 20,
        parallelism: 32,
        pure: 0,
        backends: 0,
        load: false,
        apply_only: false,
        baseline: true,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        match pair[0].as_str() {
            "--licenses" => options.licenses = value as usize,
            "--tenants" => options.tenants = (value as usize).max(1),
            "--companies" => options.companies = value as usize,
            "--subscriptions" => options.subscriptions = value as usize,
            "--proposals" => options.proposals = value as usize,
            "--latency-ms" => options.latency_ms = value,
            "--runs" => options.runs = (value as usize).max(1),
            "--apply" => options.apply = value as usize,
            "--rate-429-percent" => options.rate_429_percent = value.min(100),
            "--parallelism" => options.parallelism = (value as usize).max(1),
            "--pure" => options.pure = value as usize,
            "--backends" => options.backends = value as usize,
            "--apply-only" => options.apply_only = value > 0,
            "--load" => options.load = value > 0,
            "--baseline" => options.baseline = value > 0,
            "--scale" => {
                let factor: f64 = pair.get(1).and_then(|v| v.parse().ok()).unwrap_or(1.0);
                options.scale(factor);
            }
            other => panic!(
                "unknown option {other}; use --licenses --tenants --companies --subscriptions \
                 --proposals --latency-ms --runs --apply --rate-429-percent --parallelism --pure --backends --load --apply-only --baseline --scale"
            ),
        }
    }
    // At most one subscription per product and company.
    options.subscriptions = options.subscriptions.min(options.companies * OFFERS.len());
    options
}

fn tenant_id(index: usize) -> String {
    format!("{:032x}", 0xbe4c_0000_u128 + index as u128)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

/// User + system CPU time of this process, all threads, from
/// `/proc/self/stat` (clock ticks of 10 ms).
fn cpu_seconds() -> f64 {
    cpu_seconds_of("self")
}

/// User + sys CPU seconds of the process `pid` (`self`: this one).
fn cpu_seconds_of(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here.
    (ticks(11) + ticks(12)) / 100.0
}

/// VmHWM in MiB.
fn peak_memory_mib() -> f64 {
    status_mib("VmHWM:")
}

/// A `/proc/self/status` figure given in kB, in MiB.
fn status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// The simulator in a child process (this binary with `--serve-sim`).
struct SimProcess {
    child: Child,
    at: SimAddress,
    _dir: tempfile::TempDir,
}

/// Where the simulator answers, and the RedAPI service account's key.
struct SimAddress {
    base: String,
    client_id: String,
    /// The key's file, for a plan in another process.
    key: std::path::PathBuf,
    pem: String,
}

impl std::ops::Deref for SimProcess {
    type Target = SimAddress;

    fn deref(&self) -> &SimAddress {
        &self.at
    }
}

impl SimProcess {
    /// The simulator's CPU seconds so far.
    fn cpu_seconds(&self) -> f64 {
        cpu_seconds_of(&self.child.id().to_string())
    }

    fn spawn() -> SimProcess {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("redstor-key.pem");
        let mut child = Command::new(std::env::current_exe().unwrap())
            .arg("--serve-sim")
            .arg(&key)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let mut words = line.split_whitespace();
        let base = words.next().expect("the simulator's address").to_string();
        let client_id = words.next().expect("the Redstor client id").to_string();
        let pem = std::fs::read_to_string(&key).unwrap();
        SimProcess {
            child,
            at: SimAddress {
                base,
                client_id,
                key,
                pem,
            },
            _dir: dir,
        }
    }
}

impl SimAddress {
    fn ecl_clients(&self) -> EclClients {
        let url = checked_base_url(&self.base, "sim").unwrap();
        let keystone = Arc::new(Keystone::new(
            HttpClient::new(HttpConfig::default()).unwrap(),
            EclCredentials::demo(join_segments(&url, &["v3"]).unwrap()),
        ));
        EclClients::new(
            HttpClient::new(HttpConfig::default()).unwrap(),
            keystone,
            Some(self.base.clone()),
        )
    }

    /// A RedAPI client with a fresh token cache, like a fresh process.
    fn redstor(&self) -> RedstorClient {
        let credentials = RedstorCredentials::service_account(
            &format!("{}/", self.base),
            &format!("{}/connect/token", self.base),
            &self.client_id,
            self.pem.as_bytes(),
            Path::new("the simulator's key"),
        )
        .unwrap();
        let http = HttpClient::new(HttpConfig::default()).unwrap();
        RedstorClient::new(http.clone(), Arc::new(RedstorAuth::new(http, credentials)))
    }

    fn workspace(&self, manifests: &Path, state: &Path) -> Workspace {
        self.workspace_in(manifests, Store::in_file(state))
    }

    fn workspace_in(&self, manifests: &Path, store: Store) -> Workspace {
        Workspace {
            paths: vec![manifests.to_path_buf()],
            store,
            lock_timeout: Duration::ZERO,
            clients: self.ecl_clients(),
            redstor: RedstorAccess::new(self.redstor()),
        }
    }

    /// Plans `manifests` against `state` once in a fresh process, as
    /// `entitle plan` does: (wall, CPU, peak memory in MiB) of that process.
    fn plan_in_a_process(&self, manifests: &Path, state: &Path) -> (f64, f64, f64) {
        let out = Command::new(std::env::current_exe().unwrap())
            .arg("--plan-once")
            .args([&self.base, &self.client_id])
            .args([&self.key, manifests, state])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let figures: Vec<f64> = text
            .split_whitespace()
            .map(|f| f.parse().unwrap())
            .collect();
        (figures[0], figures[1], figures[2])
    }
}

/// `--plan-once BASE CLIENT_ID KEY MANIFESTS STATE`: one `Workspace::plan`
/// in this fresh process; prints its wall time, then the CPU seconds and
/// peak memory (MiB) of the process.
async fn plan_once(args: &[String]) {
    let key = Path::new(&args[2]);
    let sim = SimAddress {
        base: args[0].clone(),
        client_id: args[1].clone(),
        key: key.to_path_buf(),
        pem: std::fs::read_to_string(key).unwrap(),
    };
    let workspace = sim.workspace(Path::new(&args[3]), Path::new(&args[4]));
    let started = Instant::now();
    let planned = workspace.plan(&[]).await.unwrap();
    let wall = started.elapsed().as_secs_f64();
    assert!(
        planned.plan.is_empty(),
        "the seeded state should plan no changes"
    );
    println!("{wall} {} {}", cpu_seconds(), peak_memory_mib());
}

impl SimProcess {
    async fn faults(&self, raw: &reqwest::Client, faults: serde_json::Value) {
        raw.put(format!("{}/_sim/faults", self.base))
            .json(&faults)
            .send()
            .await
            .unwrap();
    }

    async fn reset_metrics(&self, raw: &reqwest::Client) {
        raw.delete(format!("{}/_sim/metrics", self.base))
            .send()
            .await
            .unwrap();
    }

    async fn metrics(&self, raw: &reqwest::Client) -> BTreeMap<String, u64> {
        let value: serde_json::Value = raw
            .get(format!("{}/_sim/metrics", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        serde_json::from_value(value["requests"].clone()).unwrap()
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        // Closing stdin asks the child to stop; it is ours, so make sure.
        drop(self.child.stdin.take());
        if self.child.try_wait().ok().flatten().is_none() {
            std::thread::sleep(Duration::from_millis(200));
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The child: serves the simulator until stdin closes.
async fn serve_sim(key: &Path) {
    let account = RedstorAccount::generate().unwrap();
    account.write_private_key(key).unwrap();
    let client_id = account.client_id.clone();
    let sim = Simulator::start(
        ([127, 0, 0, 1], 0).into(),
        SimConfig {
            provisioning_delay: Duration::ZERO,
            redstor_account: Some(account),
            ..SimConfig::default()
        },
    )
    .await
    .unwrap();
    println!("{} {client_id}", sim.base_url());
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await
    .unwrap();
    sim.shutdown().await;
}

/// The shape of the Redstor tree: each company's name, type and parent.
fn companies(count: usize) -> Vec<(String, &'static str, Option<String>)> {
    let partners = count.div_ceil(100).min(count);
    let subs = (partners * 9).min(count - partners);
    let customers = count - partners - subs;
    let mut out = Vec::with_capacity(count);
    for p in 0..partners {
        out.push((format!("p{p:02}"), "Partner", None));
    }
    for s in 0..subs {
        let parent = format!("p{:02}", s % partners);
        out.push((format!("{parent}-s{s:03}"), "Partner", Some(parent)));
    }
    for c in 0..customers {
        let parent = if subs > 0 {
            out[partners + c % subs].0.clone()
        } else {
            format!("p{:02}", c % partners)
        };
        out.push((format!("c{c:04}"), "Customer", Some(parent)));
    }
    out
}

/// Writes the scenario's manifests into `dir`: one file per tenant, one
/// for companies, one for subscriptions.
fn write_manifests(options: &Options, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let per_tenant = options.licenses.div_ceil(options.tenants);
    for t in 0..options.tenants {
        let mut yaml = format!(
            "apiVersion: entitle/v1\nkind: EclTenant\nmetadata:\n  name: t{t}\nspec:\n  region: jp1\n  tenantId: {}\n",
            tenant_id(t)
        );
        // Files of at most 5,000 licenses (a manifest file is capped at 4 MiB).
        let first = t * per_tenant;
        let mut licenses = String::new();
        for i in first..(first + per_tenant).min(options.licenses) {
            if i > first && (i - first).is_multiple_of(5_000) {
                let chunk = (i - first) / 5_000;
                std::fs::write(dir.join(format!("t{t}-{chunk}.yaml")), &licenses).unwrap();
                licenses.clear();
            }
            let _ = write!(
                licenses,
                "---\napiVersion: entitle/v1\nkind: ArcserveLicense\nmetadata:\n  name: l{i:06}\nspec:\n  tenant: t{t}\n  plan: {PLAN}\n  standaloneKeys: 1\n  version: \"9.0\"\n"
            );
        }
        std::fs::write(dir.join(format!("t{t}-last.yaml")), &licenses).unwrap();
        for i in (t..options.proposals).step_by(options.tenants) {
            let _ = write!(
                yaml,
                "---\napiVersion: entitle/v1\nkind: Proposal\nmetadata:\n  name: dns{i:03}\nspec:\n  tenant: t{t}\n  service: FastDNS\n  language: en\n  customerEmail: dns{i:03}@example.co.jp\n  models:\n    - plan: 2zone Plan\n      number: 1\n"
            );
        }
        std::fs::write(dir.join(format!("t{t}.yaml")), yaml).unwrap();
    }
    let tree = companies(options.companies);
    let documents = tree.iter().map(|(name, kind, parent)| {
        let mut yaml = format!(
            "---\napiVersion: entitle/v1\nkind: RedstorCompany\nmetadata:\n  name: {name}\nspec:\n  companyName: Company {name}\n  type: {kind}\n"
        );
        if let Some(parent) = parent {
            let _ = writeln!(yaml, "  parent: {parent}");
        }
        yaml
    });
    write_in_files(dir, "companies", documents);
    let documents = (0..options.subscriptions).map(|k| {
        let company = &tree[k % tree.len()].0;
        let slot = k / tree.len();
        let (product, editions) = OFFERS[(k + slot) % OFFERS.len()];
        let edition = editions[k % 2];
        format!(
            "---\napiVersion: entitle/v1\nkind: RedstorSubscription\nmetadata:\n  name: {company}-{product}\nspec:\n  company: {company}\n  product: {product}\n  edition: {edition}\n"
        )
    });
    write_in_files(dir, "subscriptions", documents);
}

/// Writes `documents` to `<stem>.yaml`, `<stem>-1.yaml`, ... at most 5,000
/// to a file (a manifest file is capped at 4 MiB).
fn write_in_files(dir: &Path, stem: &str, documents: impl Iterator<Item = String>) {
    let documents: Vec<String> = documents.collect();
    for (at, chunk) in documents.chunks(5_000).enumerate() {
        let name = match at {
            0 => format!("{stem}.yaml"),
            at => format!("{stem}-{at}.yaml"),
        };
        std::fs::write(dir.join(name), chunk.concat()).unwrap();
    }
}

/// What one apply from the plan did.
struct Applied {
    wall: f64,
    actions: usize,
    failed: usize,
    calls: u64,
    left: usize,
}

/// Plans and applies the manifests in `workspace`; then plans again to
/// count what is left.
async fn apply_all(
    sim: &SimProcess,
    raw: &reqwest::Client,
    workspace: &Workspace,
    parallelism: usize,
) -> Applied {
    sim.reset_metrics(raw).await;
    let started = Instant::now();
    let planned = workspace.plan(&[]).await.unwrap();
    let (_tx, cancel) = tokio::sync::watch::channel(false);
    let report = workspace
        .apply(
            &planned.plan,
            planned.state,
            entitle::apply::ApplyOptions {
                parallelism,
                poll_interval: Duration::from_millis(50),
                ..entitle::apply::ApplyOptions::default()
            },
            Arc::new(entitle::apply::Silent),
            cancel,
        )
        .await;
    let wall = started.elapsed().as_secs_f64();
    let calls = sim.metrics(raw).await.values().sum();
    let failed = report
        .outcomes
        .iter()
        .filter(|(_, o)| !matches!(o, entitle::apply::Outcome::Done(_)))
        .count();
    let left = workspace.plan(&[]).await.unwrap().plan.actions.len();
    Applied {
        wall,
        actions: planned.plan.actions.len(),
        failed,
        calls,
        left,
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve-sim") {
        serve_sim(Path::new(&args[2])).await;
        return;
    }
    entitle::api::http::install_crypto_provider();
    if args.get(1).map(String::as_str) == Some("--plan-once") {
        plan_once(&args[2..]).await;
        return;
    }
    let options = options();
    if options.pure > 0 {
        pure(&options).await;
        return;
    }
    if options.load {
        load_against_bare_parse(&options);
        return;
    }
    if options.backends > 0 {
        apply_per_backend(&options, &reqwest::Client::new(), options.backends).await;
        return;
    }
    if options.apply_only {
        let mut options = options;
        options.apply = options.apply.max(1);
        apply_under_rate_limits(&options, &reqwest::Client::new()).await;
        return;
    }
    let raw = reqwest::Client::new();
    let sim = SimProcess::spawn();
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("manifests");
    let state_path = dir.path().join("entitle.state.json");
    write_manifests(&options, &manifests);

    // Seed: everything created through apply, with no latency.
    let seed = apply_all(&sim, &raw, &sim.workspace(&manifests, &state_path), 64).await;
    assert_eq!(seed.failed, 0, "seeding failed");
    assert_eq!(seed.left, 0, "the seeded state should plan no changes");
    println!(
        "seeded {} licenses over {} tenants, {} companies, {} subscriptions, {} proposals: {} actions in {:.1}s",
        options.licenses,
        options.tenants,
        options.companies,
        options.subscriptions,
        options.proposals,
        seed.actions,
        seed.wall
    );

    sim.faults(&raw, json!({ "latency_ms": options.latency_ms }))
        .await;
    let measured = measure(&options, &sim, &raw, &manifests, &state_path).await;
    let baseline = match options.baseline {
        true => Some(baseline(&sim, &raw, &state_path).await),
        false => None,
    };
    report(&options, &measured, baseline.as_ref());
    drop(sim);
    if options.apply > 0 {
        apply_under_rate_limits(&options, &raw).await;
        apply_per_backend(&options, &raw, options.apply).await;
    }
}

/// Medians of the runs: the whole plan as `entitle plan` makes it
/// (`Workspace::plan`: the state read, refresh started while the manifests parse, plan)
/// in a fresh process each run, with that process's CPU and peak memory and
/// the calls; then, in this process, its stages one after another.
struct Measured {
    wall: f64,
    /// The simulator's CPU during the plan in its own process.
    sim_cpu: f64,
    load: f64,
    /// The state's part of `load`.
    state_load: f64,
    refresh: f64,
    plan: f64,
    cpu: f64,
    peak_mib: f64,
    calls: BTreeMap<String, u64>,
}

async fn measure(
    options: &Options,
    sim: &SimProcess,
    raw: &reqwest::Client,
    manifests: &Path,
    state_path: &Path,
) -> Measured {
    let (mut walls, mut loads, mut refreshes, mut plans, mut cpus, mut peaks) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    let mut calls = BTreeMap::new();
    let (mut sim_cpus, mut state_loads) = (Vec::new(), Vec::new());
    for _ in 0..options.runs {
        sim.reset_metrics(raw).await;
        let sim_cpu = sim.cpu_seconds();
        let (wall, cpu, peak) = sim.plan_in_a_process(manifests, state_path);
        sim_cpus.push(sim.cpu_seconds() - sim_cpu);
        walls.push(wall);
        cpus.push(cpu);
        peaks.push(peak);
        calls = sim.metrics(raw).await;

        // Fresh token caches each run, like a fresh process.
        let workspace = sim.workspace(manifests, state_path);
        let started = Instant::now();
        let desired = workspace.load().unwrap();
        let loaded = started.elapsed().as_secs_f64();
        let state = workspace.store.load_or_new().await.unwrap();
        loads.push(started.elapsed().as_secs_f64());
        state_loads.push(started.elapsed().as_secs_f64() - loaded);
        let started = Instant::now();
        let live = entitle::plan::refresh::refresh(
            &desired,
            &state,
            &workspace.clients,
            &workspace.redstor,
            entitle::resources::provider::Purpose::Plan,
        )
        .await
        .unwrap();
        refreshes.push(started.elapsed().as_secs_f64());
        let started = Instant::now();
        let plan = entitle::plan::plan(&entitle::plan::PlanInput {
            desired: &desired,
            prior: &state,
            live: &live,
            targets: &[],
            replace: &[],
        })
        .unwrap();
        plans.push(started.elapsed().as_secs_f64());
        assert!(plan.is_empty(), "the seeded state should plan no changes");
    }
    Measured {
        wall: median(walls),
        sim_cpu: median(sim_cpus),
        load: median(loads),
        state_load: median(state_loads),
        refresh: median(refreshes),
        plan: median(plans),
        cpu: median(cpus),
        peak_mib: median(peaks),
        calls,
    }
}

/// One GET per managed object, 10 at a time: a license, a company, a
/// subscription's company's subscriptions, a proposal's detail.
struct Baseline {
    wall: f64,
    calls: u64,
}

async fn baseline(sim: &SimProcess, raw: &reqwest::Client, state_path: &Path) -> Baseline {
    let state = StateFile::new(state_path.to_path_buf())
        .load()
        .unwrap()
        .unwrap();
    let clients = sim.ecl_clients();
    let redstor = sim.redstor();
    sim.reset_metrics(raw).await;
    let started = Instant::now();
    let reads: Vec<(Address, ResourceState)> = state.resources.into_iter().collect();
    stream::iter(reads)
        .map(|(address, record)| {
            let (clients, redstor) = (&clients, &redstor);
            async move {
                let id = record.remote_id.clone().unwrap_or_default();
                let tenant = record.scope.tenant_id.clone().unwrap_or_default();
                match address.kind {
                    Kind::ArcserveLicense => {
                        let client = clients.arcserve_for(&tenant, "jp1", None).unwrap();
                        client.get_license(id.parse().unwrap()).await.unwrap();
                    }
                    Kind::Proposal => {
                        let client = clients.proposal_for(&tenant, "jp1", None).unwrap();
                        client
                            .detail(8, &id, entitle::resources::proposal::READ_LANGUAGE)
                            .await
                            .unwrap();
                    }
                    Kind::RedstorCompany => {
                        redstor.company(id.parse().unwrap()).await.unwrap();
                    }
                    Kind::RedstorSubscription => {
                        let company: Uuid = record.scope.company_id.unwrap().parse().unwrap();
                        redstor.subscriptions(company).await.unwrap();
                    }
                    Kind::EclTenant => {}
                }
            }
        })
        .buffer_unordered(10)
        .collect::<Vec<_>>()
        .await;
    Baseline {
        wall: started.elapsed().as_secs_f64(),
        calls: sim.metrics(raw).await.values().sum(),
    }
}

/// The fewest calls per route, and the fewest round trips on the longest
/// chain, given the concurrency limits.
fn lower_bound(options: &Options, route: &str) -> Option<u64> {
    let tenants = options.tenants as u64;
    let per_tenant = options.licenses.div_ceil(options.tenants);
    let pages = per_tenant.div_ceil(100).max(1) as u64;
    let proposal_tenants = options.proposals.min(options.tenants) as u64;
    let license_tenants = if options.licenses > 0 { tenants } else { 0 };
    let redstor = options.companies > 0;
    Some(match route {
        "GET /v2/arcserve-udp/{tenant_id}/licenses" => pages * license_tenants,
        "GET /v2/arcserve-udp/{tenant_id}/plans" => license_tenants,
        "POST /v3/auth/tokens" => license_tenants.max(proposal_tenants),
        "GET /v1/proposal/list/{tenant_id}/{service_id}" => proposal_tenants,
        "GET /companies" | "GET /products" | "POST /connect/token" => u64::from(redstor),
        "GET /companies/{companyId}/customers/transitive" => {
            options.companies.div_ceil(100).max(1) as u64 * u64::from(redstor)
        }
        "GET /companies/{companyId}/subscriptions" => options.companies as u64,
        _ => return None,
    })
}

/// Round trips of the schedule refresh had before the Redstor chain was
/// pipelined, kept for comparison: the longest of the Arcserve chain
/// (token, page 1, the other pages 8 at a time), the proposal chain (token,
/// list) and the Redstor chain (token, root, the transitive pages one after
/// another, then subscriptions 16 at a time).
fn round_trips_serial(options: &Options) -> u64 {
    let redstor = if options.companies > 0 {
        2 + options.companies.div_ceil(100).max(1) as u64 + options.companies.div_ceil(16) as u64
    } else {
        0
    };
    ecl_round_trips(options).max(redstor)
}

/// The longest ECL chain: Arcserve (token, page 1, the other pages 8 at a
/// time) or proposals (token, list).
fn ecl_round_trips(options: &Options) -> u64 {
    let per_tenant = options.licenses.div_ceil(options.tenants);
    let pages = per_tenant.div_ceil(100).max(1) as u64;
    let arcserve = if options.licenses > 0 {
        2 + (pages - 1).div_ceil(8)
    } else {
        0
    };
    let proposals = if options.proposals > 0 { 2 } else { 0 };
    arcserve.max(proposals)
}

/// Round trips on the critical path of a refresh whose Redstor lists start
/// as each transitive page arrives, at most `in_flight` requests to RedAPI
/// at once: the longest ECL chain, or the Redstor one, which is the longer
/// of the page chain (token, root, the pages one after another, then the
/// lists of the last page's companies, which cannot overlap it) and the
/// throughput (token, root, page 1 come before any list; then every list
/// and the other pages share the slots).
fn round_trips(options: &Options, in_flight: u64) -> u64 {
    let redstor = if options.companies > 0 {
        let companies = options.companies as u64;
        let pages = companies.div_ceil(100).max(1);
        let last_page = companies - 100 * (pages - 1);
        let chain = 2 + pages + last_page.div_ceil(in_flight);
        let throughput = 3 + (companies + pages - 1).div_ceil(in_flight);
        chain.max(throughput)
    } else {
        0
    };
    ecl_round_trips(options).max(redstor)
}

fn report(options: &Options, measured: &Measured, baseline: Option<&Baseline>) {
    println!();
    println!(
        "refresh + plan of {} licenses over {} tenants, {} Redstor companies, {} subscriptions, \
         {} proposals; {} ms latency; median of {} run(s)",
        options.licenses,
        options.tenants,
        options.companies,
        options.subscriptions,
        options.proposals,
        options.latency_ms,
        options.runs
    );
    println!();
    println!("| route | calls | lower bound |");
    println!("|---|---:|---:|");
    let mut bound_total = 0;
    for (route, count) in &measured.calls {
        let bound = lower_bound(options, route);
        bound_total += bound.unwrap_or(0);
        let bound = bound.map_or_else(|| "?".to_string(), |b| b.to_string());
        println!("| `{route}` | {count} | {bound} |");
    }
    let calls: u64 = measured.calls.values().sum();
    let in_flight = HttpConfig::default().max_in_flight_per_host as u64;
    let rounds = round_trips(options, in_flight);
    let wall_bound = rounds as f64 * options.latency_ms as f64 / 1000.0;
    let serial_rounds = round_trips_serial(options);
    let serial_bound = serial_rounds as f64 * options.latency_ms as f64 / 1000.0;
    let stages = measured.load + measured.refresh + measured.plan;
    let (baseline_calls, baseline_wall) = baseline.map_or_else(
        || ("not run".to_string(), "not run".to_string()),
        |b| (b.calls.to_string(), format!("{:.3}", b.wall)),
    );
    println!("| total | {calls} | {bound_total} |");
    println!();
    println!("| | entitle | lower bound | per-resource baseline |");
    println!("|---|---:|---:|---:|");
    println!("| API calls | {calls} | {bound_total} | {baseline_calls} |");
    println!(
        "| refresh wall time (s) | {:.3} | {wall_bound:.3} ({rounds} round trips, {in_flight} in flight) | {baseline_wall} |",
        measured.refresh
    );
    println!(
        "| old bound: Redstor lists after the last page, 16 at a time (s) | | {serial_bound:.3} ({serial_rounds} round trips) | |"
    );
    println!(
        "| load manifests + state, one after the other (s) | {:.3} (the state {:.3}) | | |",
        measured.load, measured.state_load
    );
    println!("| plan, no I/O (s) | {:.3} | | |", measured.plan);
    println!("| the three stages one after another (s) | {stages:.3} | | |");
    println!(
        "| plan wall, `Workspace::plan` as `entitle plan` runs it (s) | {:.3} | {wall_bound:.3} | |",
        measured.wall
    );
    let resources = resources(options) as f64;
    println!(
        "| CPU of the planning process, user + sys (s) | {:.2} ({:.0} µs per resource) | | |",
        measured.cpu,
        measured.cpu * 1e6 / resources
    );
    println!(
        "| simulator CPU in the same time (s) | {:.2} | | |",
        measured.sim_cpu
    );
    println!(
        "| peak memory of the planning process, VmHWM (MiB) | {:.0} ({:.1} KiB per resource) | | |",
        measured.peak_mib,
        measured.peak_mib * 1024.0 / resources,
    );
    println!();
    println!(
        "ratios: refresh calls / lower bound = {:.2}; plan wall / lower bound = {:.2}; \
         refresh wall / lower bound = {:.2}",
        calls as f64 / bound_total.max(1) as f64,
        measured.wall / wall_bound.max(f64::EPSILON),
        measured.refresh / wall_bound.max(f64::EPSILON),
    );
    if let Some(baseline) = baseline {
        println!(
            "baseline calls / entitle calls = {:.1}; baseline wall / entitle refresh = {:.1}",
            baseline.calls as f64 / calls.max(1) as f64,
            baseline.wall / measured.refresh.max(f64::EPSILON)
        );
    }
    println!(
        "against the old bound ({serial_bound:.3} s): refresh wall / old bound = {:.2}; \
         plan wall / old bound = {:.2}",
        measured.refresh / serial_bound.max(f64::EPSILON),
        measured.wall / serial_bound.max(f64::EPSILON)
    );
    println!(
        "(the simulator runs in a child process, and each end-to-end plan in a process of its \
         own: the CPU and memory are the planning process's alone)"
    );
    println!(
        "scale row: | {resources:.0} | {calls} | {bound_total} | {:.3} s | {wall_bound:.3} s | {:.2} | {:.0} µs | {:.1} KiB |",
        measured.wall,
        measured.wall / wall_bound.max(f64::EPSILON),
        measured.cpu * 1e6 / resources,
        measured.peak_mib * 1024.0 / resources,
    );
}

/// The resources the manifests declare: tenants, licenses, proposals,
/// companies and subscriptions.
fn resources(options: &Options) -> usize {
    options.tenants
        + options.licenses
        + options.proposals
        + options.companies
        + options.subscriptions
}

/// Creates the whole scenario from empty, `options.apply` times as is and
/// as many times with a share of requests answered 429
/// (`Retry-After: 1`), each time in a fresh simulator, through the real
/// planner and executor.
async fn apply_under_rate_limits(options: &Options, raw: &reqwest::Client) {
    println!();
    println!(
        "apply from empty: {} licenses, {} companies, {} subscriptions, {} proposals; \
         {} ms latency, parallelism {}; {} run(s) each",
        options.licenses,
        options.companies,
        options.subscriptions,
        options.proposals,
        options.latency_ms,
        options.parallelism,
        options.apply
    );
    println!();
    println!("| 429 share | run | wall (s) | actions | failed | API calls | left after |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let mut medians = Vec::new();
    // `--rate-429-percent 0`: the applies without 429s only.
    let mut shares = vec![0, options.rate_429_percent];
    shares.dedup();
    for percent in shares {
        let mut runs = Vec::new();
        for run in 1..=options.apply {
            let sim = SimProcess::spawn();
            let dir = tempfile::tempdir().unwrap();
            let manifests = dir.path().join("manifests");
            write_manifests(options, &manifests);
            let workspace = sim.workspace(&manifests, &dir.path().join("state.json"));
            sim.faults(
                raw,
                json!({ "latency_ms": options.latency_ms, "rate_429": percent as f64 / 100.0, "retry_after_secs": 1 }),
            )
            .await;
            let applied = apply_all(&sim, raw, &workspace, options.parallelism).await;
            println!(
                "| {percent}% | {run} | {:.2} | {} | {} | {} | {} |",
                applied.wall, applied.actions, applied.failed, applied.calls, applied.left
            );
            runs.push(applied);
        }
        let wall = median(runs.iter().map(|r| r.wall).collect());
        let calls = median(runs.iter().map(|r| r.calls as f64).collect());
        medians.push((wall, calls));
    }
    let (clean_wall, clean_calls) = medians[0];
    let (limited_wall, limited_calls) = medians[medians.len() - 1];
    // Every call takes the injected latency, and at most this many are in
    // flight (the per-host limit; the simulator is one host).
    let in_flight = options
        .parallelism
        .min(HttpConfig::default().max_in_flight_per_host) as f64;
    let bound = clean_calls * options.latency_ms as f64 / 1000.0 / in_flight;
    println!();
    println!(
        "medians: {clean_wall:.2} s without 429s, {limited_wall:.2} s with {}%; lower bound {bound:.2} s \
         ({clean_calls:.0} calls x {} ms / {in_flight:.0} in flight)",
        options.rate_429_percent, options.latency_ms
    );
    // With 429s each extra call is a 429, after which its action waits the
    // second the server asks for while holding its place among the actions
    // in flight.
    let rejected = (limited_calls - clean_calls).max(0.0);
    let limited_bound = (limited_calls * options.latency_ms as f64 / 1000.0 + rejected * 1.0)
        / options.parallelism as f64;
    println!(
        "with {}% 429s: lower bound {limited_bound:.2} s ({limited_calls:.0} calls x {} ms \
         + {rejected:.0} 429s x 1 s Retry-After, / {} actions in flight)",
        options.rate_429_percent, options.latency_ms, options.parallelism
    );
    println!(
        "ratios: apply / lower bound = {:.2}; with {}% 429s: apply / lower bound = {:.2}, \
         and / apply without = {:.2}",
        clean_wall / bound.max(f64::EPSILON),
        options.rate_429_percent,
        limited_wall / limited_bound.max(f64::EPSILON),
        limited_wall / clean_wall.max(f64::EPSILON)
    );
}

/// Creates the whole scenario from empty with the state in a file and in
/// PostgreSQL (a throwaway server that flushes every commit, as a real one
/// does), `runs` times each, alternating, each in a fresh
/// simulator and a fresh state. Both record every change before its action
/// goes on (the same recorder, group-committed); the commits are the
/// serials written.
async fn apply_per_backend(options: &Options, raw: &reqwest::Client, runs: usize) {
    let Some(cluster) = PgCluster::start_durable() else {
        println!("\nPostgreSQL backend: not measured (no PostgreSQL server could be started)");
        return;
    };
    println!();
    println!(
        "apply from empty per state backend: {} ms latency, parallelism {}, PostgreSQL with fsync on",
        options.latency_ms, options.parallelism,
    );
    println!();
    println!("| backend | run | wall (s) | actions | failed | commits | left after |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let (mut file_walls, mut pg_walls) = (Vec::new(), Vec::new());
    for run in 1..=runs {
        for backend in ["file", "postgres"] {
            let sim = SimProcess::spawn();
            let dir = tempfile::tempdir().unwrap();
            let manifests = dir.path().join("manifests");
            write_manifests(options, &manifests);
            let store = match backend {
                "file" => Store::in_file(dir.path().join("state.json")),
                _ => {
                    let url = cluster.create_database(&format!("bench_{run}"));
                    Backend::from_url(&url)
                        .unwrap()
                        .open(DEFAULT_WORKSPACE)
                        .await
                        .unwrap()
                }
            };
            let workspace = sim.workspace_in(&manifests, store);
            sim.faults(raw, json!({ "latency_ms": options.latency_ms }))
                .await;
            let applied = apply_all(&sim, raw, &workspace, options.parallelism).await;
            let commits = workspace
                .store
                .load()
                .await
                .unwrap()
                .map_or(0, |s| s.serial);
            println!(
                "| {backend} | {run} | {:.2} | {} | {} | {commits} | {} |",
                applied.wall, applied.actions, applied.failed, applied.left
            );
            match backend {
                "file" => file_walls.push(applied.wall),
                _ => pg_walls.push(applied.wall),
            }
        }
    }
    let (file, pg) = (median(file_walls), median(pg_walls));
    println!();
    println!(
        "medians: {file:.2} s with the state file, {pg:.2} s with PostgreSQL; ratio postgres / file = {:.2}",
        pg / file.max(f64::EPSILON)
    );
}

/// Times `manifest::load` of `options.pure` license documents against
/// `plan::plan` of them on a live view built by hand (every license bound
/// and matching: the plan is empty).
async fn pure(options: &Options) {
    let raw = reqwest::Client::new();
    let sim = SimProcess::spawn();
    let clients = sim.ecl_clients();
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("manifests");
    let scenario = Options {
        licenses: options.pure,
        companies: 0,
        subscriptions: 0,
        proposals: 0,
        ..*options
    };
    write_manifests(&scenario, &manifests);

    // One real license per tenant, as the API shows it, copied for each.
    let per_tenant = options.pure.div_ceil(options.tenants);
    let mut live = Live::default();
    let mut state = State::new();
    for t in 0..options.tenants {
        let tenant = tenant_id(t);
        let client: ArcserveClient = clients.arcserve_for(&tenant, "jp1", None).unwrap();
        client
            .create_license(&NewLicense {
                name: "template".into(),
                plan_id: PLAN.parse().unwrap(),
                number_of_standalone_keys: 1,
            })
            .await
            .unwrap();
        let listing = client.list_licenses_dated().await.unwrap();
        let (mut listed, now) = (listing.read.items, listing.server_time);
        let plans = client.list_plans().await.unwrap();
        let template = listed.pop().unwrap();
        let first = t * per_tenant;
        let mut licenses = Vec::new();
        for i in first..(first + per_tenant).min(options.pure) {
            let mut license = template.clone();
            license.id = Uuid::new_v4();
            license.name = format!("l{i:06}");
            state.resources.insert(
                Address::new(Kind::ArcserveLicense, license.name.clone()),
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
                    dependencies: vec![Address::new(Kind::EclTenant, format!("t{t}"))],
                    status: Status::Ready,
                    lifecycle: Default::default(),
                },
            );
            licenses.push(license);
        }
        let tenant_live = TenantLive::from_api(
            now.unwrap_or_else(time::OffsetDateTime::now_utc),
            licenses,
            plans,
            None,
        );
        live.licenses.tenants.insert(tenant, tenant_live);
    }
    drop(sim);
    drop(raw);

    let (mut loads, mut plans) = (Vec::new(), Vec::new());
    for _ in 0..options.runs {
        let started = Instant::now();
        let desired = entitle::manifest::load(std::slice::from_ref(&manifests)).unwrap();
        loads.push(started.elapsed().as_secs_f64());
        let started = Instant::now();
        let plan = entitle::plan::plan(&entitle::plan::PlanInput {
            desired: &desired,
            prior: &state,
            live: &live,
            targets: &[],
            replace: &[],
        })
        .unwrap();
        plans.push(started.elapsed().as_secs_f64());
        assert!(plan.is_empty(), "every license is bound and matches");
    }
    let (load, plan) = (median(loads), median(plans));
    println!(
        "pure planning of {} licenses over {} tenants, median of {} run(s)",
        options.pure, options.tenants, options.runs
    );
    println!();
    println!("| step | wall (s) |");
    println!("|---|---:|");
    println!(
        "| `manifest::load` of {} documents | {load:.3} |",
        options.pure
    );
    println!("| `plan::plan` on a prepared live view | {plan:.3} |");
    println!();
    println!("ratio: plan / load = {:.2}", plan / load.max(f64::EPSILON));
}

/// Times `manifest::load` of the scenario's manifests against a bare
/// `serde-saphyr` parse of the same files into untyped values, file read
/// included, on as many threads as `load` uses, in the same run.
fn load_against_bare_parse(options: &Options) {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("manifests");
    write_manifests(options, &manifests);
    let mut files: Vec<_> = std::fs::read_dir(&manifests)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    // Largest first, as `manifest::load` schedules them.
    files.sort_by_key(|file| std::cmp::Reverse(std::fs::metadata(file).unwrap().len()));
    let documents = bare_parse(&files);
    let (mut bares, mut loads) = (Vec::new(), Vec::new());
    for _ in 0..options.runs {
        let started = Instant::now();
        assert_eq!(bare_parse(&files), documents);
        bares.push(started.elapsed().as_secs_f64());
        let started = Instant::now();
        let desired = entitle::manifest::load(std::slice::from_ref(&manifests)).unwrap();
        loads.push(started.elapsed().as_secs_f64());
        assert_eq!(desired.resources.len(), documents);
    }
    let (bare, load) = (median(bares), median(loads));
    println!(
        "loading {documents} documents in {} files, median of {} run(s)",
        files.len(),
        options.runs
    );
    println!();
    println!("| step | wall (s) |");
    println!("|---|---:|");
    println!(
        "| bare parse: read + `serde_saphyr::from_multiple::<serde_json::Value>` | {bare:.3} |"
    );
    println!("| `manifest::load`: parse, schema, checks, typed resources | {load:.3} |");
    println!();
    println!(
        "ratio: load / bare parse = {:.2}",
        load / bare.max(f64::EPSILON)
    );
}

/// Reads and parses every file into untyped values, the files shared
/// between threads in the given order as `manifest::load` shares them; the
/// documents read.
fn bare_parse(files: &[std::path::PathBuf]) -> usize {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut documents = 0;
                    while let Some(file) =
                        files.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
                    {
                        let text = std::fs::read_to_string(file).unwrap();
                        let values: Vec<serde_json::Value> =
                            serde_saphyr::from_multiple_with_options(&text, bare_options())
                                .unwrap();
                        documents += values.len();
                    }
                    documents
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    })
}

/// The budgets `manifest::load` parses with (a file holds up to 50,000
/// documents), and nothing else.
fn bare_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: 2_000_000,
            max_nodes: 1_000_000,
            max_documents: 50_000,
        },
    }
}
