//! Test support, kept once for every module: a simulator on its own runtime,
//! clients bound to it and raw requests to it; the `entitle` binary with a
//! clean environment, and a project of manifests and state to run it in;
//! builders for the manifests of each kind; and the redaction of the ids
//! that vary between runs, for snapshots.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use entitle::api::arcserve::ArcserveClient;
use entitle::api::ecl::{EclSession, EclTarget, TenantId};
use entitle::api::http::{HttpClient, HttpConfig, checked_base_url, join_segments};
use entitle::api::keystone::{EclCredentials, Keystone, Login};
use entitle::api::proposal::ProposalClient;
use entitle::api::redstor::RedstorClient;
use entitle::api::redstor_auth::{RedstorAuth, RedstorCredentials};
use entitle::sim::{RedstorAccount, SimConfig, Simulator};
use serde_json::Value;

pub const TENANT_A: &str = "3f6c2a9e81d04b7f9a5e2c1d0b8f7a61";
pub const TENANT_B: &str = "9b1e7d3c5a2f4e8db6c0a9f1e2d3c4b5";
pub const PLAN_ADVANCED_9: &str = "7f5a3c1e-2b4d-4e8f-9a6b-0c1d2e3f4a5b";
pub const PLAN_PREMIUM_9: &str = "8e6b4d2f-3c5e-4f9a-8b7c-1d2e3f4a5b6c";
pub const KEY_STANDALONE: &str = "a1b2c3d4-0001-4000-8000-000000000001";

/// One Redstor key pair for the whole test process: making one takes a while.
pub fn shared_account() -> RedstorAccount {
    static ACCOUNT: OnceLock<RedstorAccount> = OnceLock::new();
    ACCOUNT
        .get_or_init(|| RedstorAccount::generate().unwrap())
        .clone()
}

/// A simulator serving on a free loopback port, with the runtime it runs on.
pub struct TestSim {
    runtime: tokio::runtime::Runtime,
    sim: Option<Simulator>,
    pub url: String,
}

impl TestSim {
    /// A simulator with a short provisioning delay.
    pub fn start() -> Self {
        Self::with_provisioning_delay(Duration::from_millis(50))
    }

    /// A simulator whose licenses and proposals take `delay` to provision
    /// and whose queued Redstor removals take as long to be done.
    pub fn with_provisioning_delay(delay: Duration) -> Self {
        Self::with_config(SimConfig {
            provisioning_delay: delay,
            ..SimConfig::default()
        })
    }

    /// A simulator with `config`; without a data file (which keeps its own
    /// key), it trusts the process's one Redstor account unless the config
    /// names another.
    pub fn with_config(mut config: SimConfig) -> Self {
        entitle::api::http::install_crypto_provider();
        if config.data.is_none() {
            config.redstor_account.get_or_insert_with(shared_account);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sim = runtime
            .block_on(Simulator::start(([127, 0, 0, 1], 0).into(), config))
            .unwrap();
        let url = sim.base_url();
        TestSim {
            runtime,
            sim: Some(sim),
            url,
        }
    }

    /// The Redstor service account the simulator trusts.
    pub fn redstor_account(&self) -> RedstorAccount {
        self.sim.as_ref().unwrap().redstor_account().clone()
    }

    /// The id of the Redstor account's root company.
    pub fn redstor_root(&self) -> uuid::Uuid {
        uuid::Uuid::parse_str(&self.sim.as_ref().unwrap().redstor_root_company_id()).unwrap()
    }

    /// RedAPI's base URL, with the trailing slash.
    pub fn redstor_api_url(&self) -> String {
        self.sim.as_ref().unwrap().redstor_api_url()
    }

    /// The Redstor token endpoint.
    pub fn redstor_token_url(&self) -> String {
        self.sim.as_ref().unwrap().redstor_token_url()
    }

    /// Every company below the Redstor root, read through the client.
    pub fn redstor_tree(&self) -> Vec<entitle::api::redstor::Company> {
        self.block_on(self.redstor().customers_transitive(self.redstor_root()))
            .unwrap()
    }

    /// The Redstor subscriptions of `company`, read through the client.
    pub fn redstor_subscriptions(
        &self,
        company: uuid::Uuid,
    ) -> Vec<entitle::api::redstor::Subscription> {
        self.block_on(self.redstor().subscriptions(company))
            .unwrap()
    }

    /// A RedAPI client signed in as the simulator's account.
    pub fn redstor(&self) -> RedstorClient {
        self.redstor_with_key(self.redstor_account().private_key_pem())
    }

    /// A RedAPI client of the simulator's client id, signing with `pem`.
    pub fn redstor_with_key(&self, pem: &str) -> RedstorClient {
        self.redstor_over(self.http(), pem)
    }

    /// A RedAPI client of the simulator's client id, signing with `pem`,
    /// sending through `http`.
    pub fn redstor_over(&self, http: HttpClient, pem: &str) -> RedstorClient {
        let credentials = RedstorCredentials::service_account(
            &self.redstor_api_url(),
            &self.redstor_token_url(),
            &self.redstor_account().client_id,
            pem.as_bytes(),
            std::path::Path::new("test key"),
        )
        .unwrap();
        RedstorClient::new(http.clone(), Arc::new(RedstorAuth::new(http, credentials)))
    }

    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// A request to `path` as it is, with a bearer `token` and a JSON `body`
    /// when given: for what the typed clients never send.
    pub fn call(
        &self,
        token: Option<&str>,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let url = format!("{}{path}", self.url);
        self.block_on(async {
            let mut request = reqwest::Client::new().request(method, &url);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            let headers = response.headers().clone();
            let text = response.text().await.unwrap();
            Reply {
                status,
                headers,
                body: serde_json::from_str(&text).unwrap_or(Value::Null),
                text,
            }
        })
    }

    /// Calls a `/_sim/...` control endpoint and returns its JSON answer.
    pub fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let reply = self.call(None, method, &format!("/_sim/{path}"), body);
        assert!(reply.status.is_success(), "/_sim/{path}: {}", reply.status);
        if reply.text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&reply.text).unwrap()
        }
    }

    /// Waits out the provisioning delay of [`TestSim::start`], so that what
    /// was just made is active and what was just deleted is gone.
    pub fn settle(&self) {
        std::thread::sleep(Duration::from_millis(150));
    }

    /// Changes the simulator's store behind its API, as the vendor's back
    /// office can: every string equal to `from` becomes `to` (a name the
    /// API itself would refuse).
    pub fn rename_behind_the_api(&self, from: &str, to: &str) {
        fn walk(value: &mut Value, from: &str, to: &str) {
            match value {
                Value::String(text) if text == from => *text = to.to_string(),
                Value::Array(items) => items.iter_mut().for_each(|v| walk(v, from, to)),
                Value::Object(object) => object.values_mut().for_each(|v| walk(v, from, to)),
                _ => {}
            }
        }
        let mut store = self.control(reqwest::Method::GET, "dump", None);
        walk(&mut store, from, to);
        self.control(reqwest::Method::PUT, "dump", Some(store));
    }

    pub fn set_faults(&self, faults: Value) {
        self.control(reqwest::Method::PUT, "faults", Some(faults));
    }

    pub fn advance_clock(&self, seconds: u64) {
        self.control(
            reqwest::Method::PUT,
            "clock",
            Some(serde_json::json!({ "advance_secs": seconds })),
        );
    }

    /// Request counts per route since the last [`TestSim::reset_metrics`].
    pub fn metrics(&self) -> BTreeMap<String, u64> {
        let value = self.control(reqwest::Method::GET, "metrics", None);
        serde_json::from_value(value["requests"].clone()).unwrap()
    }

    pub fn calls(&self, route: &str) -> u64 {
        self.metrics().get(route).copied().unwrap_or(0)
    }

    pub fn reset_metrics(&self) {
        self.control(reqwest::Method::DELETE, "metrics", None);
    }

    /// The HTTP layer with short backoffs, so retry tests stay fast.
    pub fn http(&self) -> HttpClient {
        HttpClient::new(fast_retries()).unwrap()
    }

    pub fn keystone(&self, http: &HttpClient) -> Arc<Keystone> {
        Arc::new(Keystone::new(http.clone(), self.credentials()))
    }

    pub fn credentials(&self) -> EclCredentials {
        EclCredentials::demo(self.auth_url())
    }

    pub fn auth_url(&self) -> reqwest::Url {
        join_segments(&checked_base_url(&self.url, "sim").unwrap(), &["v3"]).unwrap()
    }

    pub fn target(&self, tenant: &str) -> EclTarget {
        EclTarget::resolve(
            TenantId::parse(tenant).unwrap(),
            "jp1",
            Some(&self.url),
            Some(&self.auth_url()),
        )
        .unwrap()
    }

    /// A session for `tenant` with the demo account.
    pub fn session(&self, tenant: &str) -> EclSession {
        self.session_as(tenant, self.credentials().login)
    }

    /// A session for `tenant` that signs in with `login`.
    pub fn session_as(&self, tenant: &str, login: Login) -> EclSession {
        let http = self.http();
        let credentials = EclCredentials {
            login,
            ..self.credentials()
        };
        let keystone = Arc::new(Keystone::new(http.clone(), credentials));
        EclSession::new(http, keystone, self.target(tenant))
    }

    /// An Arcserve client for `tenant` with the demo account.
    pub fn arcserve(&self, tenant: &str) -> ArcserveClient {
        ArcserveClient::new(self.session(tenant))
    }

    /// A Proposal API client for `tenant` with the demo account.
    pub fn proposals(&self, tenant: &str) -> ProposalClient {
        ProposalClient::new(self.session(tenant))
    }
}

/// The simulator's answer to a request sent as it is.
#[derive(Debug)]
pub struct Reply {
    pub status: reqwest::StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    /// The body as JSON, or null when it is not JSON.
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

impl Drop for TestSim {
    fn drop(&mut self) {
        if let Some(sim) = self.sim.take() {
            self.runtime.block_on(sim.shutdown());
        }
    }
}

pub fn fast_retries() -> HttpConfig {
    HttpConfig {
        min_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(50),
        max_retries: 10,
        timeout: Duration::from_secs(10),
        ..HttpConfig::default()
    }
}

/// The `entitle` binary, with no ECL, Redstor or entitle variables from the
/// outside.
pub fn binary() -> std::process::Command {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("entitle"));
    for (name, _) in std::env::vars() {
        if name.starts_with("OS_") || name.starts_with("REDSTOR_") || name.starts_with("ENTITLE_") {
            command.env_remove(name);
        }
    }
    command
}

/// The `entitle` binary, in the repository, with no ECL or Redstor
/// variables from the outside.
pub fn entitle() -> assert_cmd::Command {
    let mut command = assert_cmd::Command::from_std(binary());
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    command
}

impl TestSim {
    /// `entitle --no-progress`, run in `dir` and pointed at this simulator:
    /// the demo ECL account, and the Redstor service account with its key
    /// written to `dir/redstor-key.pem`.
    pub fn command_in(&self, dir: &std::path::Path) -> std::process::Command {
        let mut command = binary();
        self.point_at(&mut command, dir);
        command.arg("--no-progress");
        command
    }

    /// Points `command` (the binary, or a script that runs it) at this
    /// simulator, run in `dir`: the environment of [`TestSim::command_in`].
    pub fn point_at(&self, command: &mut std::process::Command, dir: &std::path::Path) {
        let key = self.redstor_key_in(dir);
        command
            .current_dir(dir)
            .env("REDSTOR_CLIENT_ID", &self.redstor_account().client_id)
            .env("REDSTOR_PRIVATE_KEY_FILE", &key)
            .env("REDSTOR_API_URL", self.redstor_api_url())
            .env("REDSTOR_TOKEN_URL", self.redstor_token_url())
            .env("OS_AUTH_URL", format!("{}/v3", self.url))
            .env("OS_USERNAME", "demo")
            .env("OS_PASSWORD", "demo-secret")
            .env("ENTITLE_ECL_ENDPOINT", &self.url);
    }

    /// The Redstor account's private key, written to
    /// `dir/redstor-key.pem` unless it is there already.
    pub fn redstor_key_in(&self, dir: &std::path::Path) -> std::path::PathBuf {
        let key = dir.join("redstor-key.pem");
        if !key.exists() {
            std::fs::write(&key, self.redstor_account().private_key_pem()).unwrap();
        }
        key
    }
}

/// A directory of manifests and a state file, run with the `entitle` binary
/// against a simulator.
pub struct Project<'a> {
    pub dir: tempfile::TempDir,
    pub sim: &'a TestSim,
    /// `ENTITLE_BACKEND` for every run, when the state is not the file.
    pub backend: Option<String>,
}

/// What a run of the binary printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Runs `command` with no input and captures what it printed.
    pub fn of(mut command: std::process::Command) -> Self {
        let output = command.stdin(std::process::Stdio::null()).output().unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    #[track_caller]
    pub fn expect(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

pub const TENANT_YAML: &str = "apiVersion: entitle/v1
kind: EclTenant
metadata:
  name: prod
spec:
  region: jp1
  tenantId: 3f6c2a9e81d04b7f9a5e2c1d0b8f7a61
  upgradeContact:
    email: licensing@example.co.jp
    companyName: Example K.K.
";

/// One YAML document of `kind` named `name`, with `extra_metadata` lines
/// below the name and `spec` lines below `spec:`.
pub fn document(kind: &str, name: &str, extra_metadata: &str, spec: &str) -> String {
    format!(
        "---
apiVersion: entitle/v1
kind: {kind}
metadata:
  name: {name}
{extra_metadata}spec:
{spec}"
    )
}

/// An ArcserveLicense manifest in tenant `prod`.
pub fn license_yaml(
    name: &str,
    plan: &str,
    keys: u32,
    version: &str,
    extra_metadata: &str,
) -> String {
    document(
        "ArcserveLicense",
        name,
        extra_metadata,
        &format!(
            "  tenant: prod
  plan: {plan}
  standaloneKeys: {keys}
  version: \"{version}\"
  keyTypes: [{KEY_STANDALONE}]
"
        ),
    )
}

/// The same license without key types.
pub fn keyless_license_yaml(
    name: &str,
    plan: &str,
    keys: u32,
    version: &str,
    extra_metadata: &str,
) -> String {
    license_yaml(name, plan, keys, version, extra_metadata)
        .replace(&format!("keyTypes: [{KEY_STANDALONE}]"), "keyTypes: []")
}

/// A RedstorCompany manifest of `company_type` (`Partner` or `Customer`),
/// under `parent` when given, with `extra` lines of spec.
pub fn company_yaml(name: &str, company_type: &str, parent: Option<&str>, extra: &str) -> String {
    let parent = parent
        .map(|p| format!("  parent: {p}\n"))
        .unwrap_or_default();
    document(
        "RedstorCompany",
        name,
        "",
        &format!("  type: {company_type}\n{parent}{extra}"),
    )
}

/// A RedstorSubscription manifest, with `extra` lines of spec.
pub fn subscription_yaml(
    name: &str,
    company: &str,
    product: &str,
    edition: &str,
    extra: &str,
) -> String {
    document(
        "RedstorSubscription",
        name,
        "",
        &format!("  company: {company}\n  product: {product}\n  edition: {edition}\n{extra}"),
    )
}

/// A Proposal manifest in tenant `prod` for `service`, in `language`, with
/// `extra_metadata` lines below the name and the YAML list `rows` (if any)
/// as its models.
pub fn proposal_yaml(
    name: &str,
    service: &str,
    language: &str,
    extra_metadata: &str,
    rows: &str,
) -> String {
    let models = if rows.is_empty() {
        String::new()
    } else {
        format!("  models:\n{rows}")
    };
    document(
        "Proposal",
        name,
        extra_metadata,
        &format!(
            "  tenant: prod\n  service: {service}\n  language: {language}\n  customerEmail: ops@example.co.jp\n{models}"
        ),
    )
}

/// A license as the API takes it, on PLAN_ADVANCED_9.
pub fn new_license(name: &str, keys: u32) -> entitle::api::arcserve::NewLicense {
    entitle::api::arcserve::NewLicense {
        name: name.to_string(),
        plan_id: PLAN_ADVANCED_9.parse().unwrap(),
        number_of_standalone_keys: keys,
    }
}

/// Asserts that only the file's owner may read or write it.
#[cfg(unix)]
#[track_caller]
pub fn assert_owner_only(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{}", path.display());
}

impl<'a> Project<'a> {
    pub fn new(sim: &'a TestSim) -> Self {
        Project {
            dir: tempfile::tempdir().unwrap(),
            sim,
            backend: None,
        }
    }

    /// A project whose state is kept at `backend` (`ENTITLE_BACKEND`).
    pub fn on_backend(sim: &'a TestSim, backend: Option<&str>) -> Self {
        let mut project = Project::with_tenant(sim);
        project.backend = backend.map(str::to_string);
        project
    }

    /// A project whose manifests declare the `prod` tenant (TENANT_YAML).
    pub fn with_tenant(sim: &'a TestSim) -> Self {
        let project = Project::new(sim);
        project.write("tenant.yaml", TENANT_YAML);
        project
    }

    /// Writes `manifests/<file>`.
    pub fn write(&self, file: &str, text: &str) -> &Self {
        let path = self.dir.path().join("manifests").join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    pub fn remove(&self, file: &str) -> &Self {
        std::fs::remove_file(self.dir.path().join("manifests").join(file)).unwrap();
        self
    }

    pub fn state_path(&self) -> std::path::PathBuf {
        self.dir.path().join("entitle.state.json")
    }

    /// The binary, in the project directory, pointed at the simulator, as a
    /// process to start and stop at will.
    pub fn std_command(&self) -> std::process::Command {
        let mut command = self.sim.command_in(self.dir.path());
        if let Some(backend) = &self.backend {
            command.env("ENTITLE_BACKEND", backend);
        }
        command
    }

    /// Starts `entitle apply manifests --auto-approve` with `extra` flags,
    /// output captured.
    pub fn spawn_apply(&self, extra: &[&str]) -> std::process::Child {
        self.std_command()
            .args(["apply", "manifests", "--auto-approve"])
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// `entitle <args>` in the project, run to its end.
    pub fn run(&self, args: &[&str]) -> Run {
        let mut command = self.std_command();
        command.args(args);
        Run::of(command)
    }

    pub fn plan(&self) -> Run {
        self.run(&["plan", "manifests", "--detailed-exitcode"])
    }

    pub fn apply(&self) -> Run {
        self.apply_with(&[])
    }

    /// `entitle apply manifests --auto-approve` with `extra` flags.
    pub fn apply_with(&self, extra: &[&str]) -> Run {
        self.run(&[&["apply", "manifests", "--auto-approve"], extra].concat())
    }

    /// `entitle plan manifests --format <format>`.
    pub fn plan_as(&self, format: &str) -> Run {
        self.run(&["plan", "manifests", "--format", format])
    }

    pub fn drift(&self) -> Run {
        self.run(&["drift", "manifests"])
    }

    /// `entitle drift manifests --format <format>`.
    pub fn drift_as(&self, format: &str) -> Run {
        self.run(&["drift", "manifests", "--format", format])
    }

    /// `entitle import <address> <id> manifests`.
    pub fn import(&self, address: &str, id: &str) -> Run {
        self.run(&["import", address, id, "manifests"])
    }

    /// The state as entitle reads it (the file and any journal left by a
    /// run that was stopped).
    pub fn state(&self) -> Value {
        if self.backend.is_some() {
            let shown = self.run(&["state", "show"]).expect(0);
            return serde_json::from_str(&shown.stdout).unwrap();
        }
        let state = entitle::state::StateFile::new(self.state_path())
            .load()
            .unwrap()
            .expect("a state file");
        serde_json::to_value(state).unwrap()
    }

    /// The state's serial, `None` before there is a state file.
    pub fn serial(&self) -> Option<u64> {
        if self.backend.is_some() {
            return self.state()["serial"].as_u64();
        }
        entitle::state::StateFile::new(self.state_path())
            .load()
            .unwrap()
            .map(|state| state.serial)
    }

    /// The state file alone, without any journal beside it.
    pub fn state_file(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.state_path()).unwrap()).unwrap()
    }

    /// The live licenses of TENANT_A, read through the client.
    pub fn live(&self) -> Vec<entitle::api::arcserve::License> {
        self.sim
            .block_on(self.sim.arcserve(TENANT_A).list_licenses(None))
            .unwrap()
    }

    /// The names of the live licenses of TENANT_A, sorted.
    pub fn live_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.live().into_iter().map(|l| l.name).collect();
        names.sort();
        names
    }

    /// The live license of TENANT_A named `name`.
    #[track_caller]
    pub fn live_named(&self, name: &str) -> entitle::api::arcserve::License {
        let live = self.live();
        let found = live.iter().position(|l| l.name == name);
        let Some(i) = found else {
            panic!("no license {name} in {live:?}")
        };
        live.into_iter().nth(i).unwrap()
    }
}

/// `text` with every UUID that varies between runs (what the simulator and
/// entitle made: licenses, orders, proposal rows, companies, subscriptions)
/// as `[id]`. The catalog's plan and key type ids stay: they are fixed.
pub fn redact(text: &str) -> String {
    let fixed: Vec<&str> = entitle::sim::catalog::PLANS
        .iter()
        .flat_map(|p| std::iter::once(p.id).chain(p.key_types.iter().map(|k| k.id)))
        .collect();
    let is_uuid = |candidate: &str| {
        candidate.len() == 36
            && candidate.bytes().enumerate().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == b'-',
                _ => c.is_ascii_hexdigit(),
            })
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        match rest.get(..36) {
            Some(candidate)
                if is_uuid(candidate)
                    && !fixed.iter().any(|f| f.eq_ignore_ascii_case(candidate)) =>
            {
                out.push_str("[id]");
                rest = &rest[36..];
            }
            _ => {
                let c = rest.chars().next().unwrap();
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out
}

/// A server on loopback, on its own runtime, that answers every request
/// with one status (and one header), and counts what it is asked: a vendor
/// behaviour the simulator does not have, or a host that must get nothing.
pub struct StubServer {
    pub url: String,
    hits: Arc<std::sync::atomic::AtomicUsize>,
    _runtime: tokio::runtime::Runtime,
}

impl StubServer {
    pub fn start(
        status: axum::http::StatusCode,
        header: Option<(axum::http::HeaderName, String)>,
    ) -> Self {
        use axum::response::IntoResponse;
        use std::sync::atomic::Ordering;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = hits.clone();
        let app = axum::Router::new().fallback(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            let header = header.clone();
            async move {
                match header {
                    Some((name, value)) => (status, [(name, value)]).into_response(),
                    None => status.into_response(),
                }
            }
        });
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        runtime.spawn(async move { axum::serve(listener, app).await });
        StubServer {
            url,
            hits,
            _runtime: runtime,
        }
    }

    /// How many requests it was sent.
    pub fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::SeqCst)
    }
}
