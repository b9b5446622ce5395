//! The examples printed in the vendor documents, kept verbatim in
//! `tests/fixtures/vendor/` and listed in its `index.json`: each with the
//! document and lines it came from, its endpoint, whether it is a request or
//! a response, and the client type it is read into.
//!
//! - The files and the index agree with each other and with the documents
//!   (a copy of which is in `tests/fixtures/vendor/documents/`): every file
//!   is indexed, every example is the document's lines byte for byte, every
//!   completed copy differs from its example only as the index says, and
//!   every example the documents print is indexed (or listed as not one).
//! - Every response example is served from a loopback stub and read by the
//!   real client method of its endpoint.
//! - Every request example is sent to the simulator over HTTP, as printed and
//!   completed as the index says, and answered with the status the index
//!   expects; the answer is then read by the same client method.
//! - The client's own request to each of those endpoints carries every key
//!   the example shows.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use entitle::api::ApiError;
use entitle::api::arcserve::{ArcserveClient, BulkUpgrade, LicenseChanges};
use entitle::api::ecl::{EclSession, EclTarget, TenantId};
use entitle::api::http::{HttpClient, checked_base_url};
use entitle::api::keystone::{EclCredentials, Keystone, Login};
use entitle::api::proposal::{ProposalClient, Submission};
use entitle::api::proposal_xml::{ArcserveModels, GenericModels, HulftModels};
use entitle::api::redstor::RedstorClient;
use entitle::api::redstor_auth::{RedstorAuth, RedstorCredentials, RedstorLogin};
use entitle::api::redstor_reports::{ConsumptionQuery, Operation};
use entitle::api::secret::Secret;
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::support::*;

// ---------------------------------------------------------------------------
// The index.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Index {
    about: String,
    documents: BTreeMap<String, String>,
    examples: Vec<Example>,
    not_examples: Vec<NotExample>,
}

/// One printed example.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Example {
    file: String,
    document: String,
    lines: [usize; 2],
    method: String,
    endpoint: String,
    role: Role,
    /// The documented success status of the endpoint.
    status: u16,
    format: String,
    rust_type: String,
    /// The client method that reads (or writes) it, a key of [`CALLS`].
    call: String,
    /// What the example is as printed, and why it cannot be read as is
    /// when it cannot.
    as_printed: String,
    #[serde(default)]
    completed: Option<Completed>,
    #[serde(default)]
    completed_why: Option<String>,
    /// Responses, and XML requests: `all` when the client reads the body
    /// (the completed copy if there is one), else the error it must give.
    #[serde(default)]
    client_reads: Option<String>,
    /// An example that is part of another example's body (XML inside
    /// `ProposalXml`): that example's file.
    #[serde(default)]
    carrier: Option<String>,
    /// For a response with a carrier: what is set in the carrier.
    #[serde(default)]
    carrier_set: Option<Value>,
    /// Requests: what is sent to the simulator, in order.
    #[serde(default)]
    sends: Vec<Send>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Role {
    Request,
    Response,
}

/// A minimally completed copy of an example that cannot be read as printed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Completed {
    file: String,
    /// `bullets removed`, or `placeholders filled` with `values`.
    how: String,
    #[serde(default)]
    values: BTreeMap<String, String>,
}

/// One request to the simulator.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Send {
    /// `as_printed` or `completed`.
    body: String,
    /// The path, with `$tenant`, `$license`, `$absent`.
    path: String,
    /// A JSON merge patch (RFC 7396) on the body (on the carrier's body for
    /// an XML example), with `$` values filled in by the test.
    #[serde(default)]
    set: Option<Value>,
    /// A change to the simulator's state made before this request.
    #[serde(default)]
    after: Option<String>,
    expect: u16,
    /// For a refusal: what the simulator's message says.
    #[serde(default)]
    refusal: Option<String>,
    why: String,
}

/// Something the documents print that is not a body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NotExample {
    document: String,
    lines: [usize; 2],
    what: String,
    why: String,
}

fn vendor_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vendor")
}

fn index() -> Index {
    let text = std::fs::read_to_string(vendor_dir().join("index.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn read(file: &str) -> String {
    std::fs::read_to_string(vendor_dir().join(file))
        .unwrap_or_else(|err| panic!("tests/fixtures/vendor/{file}: {err}"))
}

fn document_lines(document: &str) -> Vec<String> {
    read(&format!("documents/{document}"))
        .split('\n')
        .map(str::to_string)
        .collect()
}

impl Example {
    fn label(&self) -> String {
        format!(
            "{} ({} lines {}-{}, {} {} {:?})",
            self.file,
            self.document,
            self.lines[0],
            self.lines[1],
            self.method,
            self.endpoint,
            self.role
        )
    }

    fn as_printed_text(&self) -> String {
        read(&self.file)
    }

    /// The text the client is given: the completed copy when there is one.
    fn readable_text(&self) -> String {
        self.completed
            .as_ref()
            .map_or_else(|| self.as_printed_text(), |c| read(&c.file))
    }

    fn body_text(&self, which: &str) -> String {
        match which {
            "as_printed" => self.as_printed_text(),
            "completed" => read(&self.completed.as_ref().expect("a completed copy").file),
            other => panic!("{}: unknown body `{other}`", self.file),
        }
    }
}

// ---------------------------------------------------------------------------
// The files, the index and the documents agree.

/// Every file below `dir`, relative to the vendor directory.
fn files_below(dir: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_below(&path, out);
        } else {
            let relative = path.strip_prefix(vendor_dir()).unwrap();
            out.insert(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// A line where a printed body begins.
fn starts_a_body(line: &str) -> bool {
    line == "{" || line == "[" || line.starts_with("[ {") || line.starts_with("<?xml")
}

fn check_completed(example: &Example, completed: &Completed) -> Result<(), String> {
    let printed = example.as_printed_text();
    let text = read(&completed.file);
    let expected = match completed.how.as_str() {
        "bullets removed" => printed.replace("• ", ""),
        "placeholders filled" => {
            let filled = completed
                .values
                .iter()
                .fold(printed, |text, (from, to)| text.replace(from, to));
            if filled.contains('{') {
                return Err(format!("{}: a placeholder is left", completed.file));
            }
            filled
        }
        other => return Err(format!("{}: unknown completion `{other}`", completed.file)),
    };
    if text != expected {
        return Err(format!(
            "{} is not {} `{}`",
            completed.file, completed.how, example.file
        ));
    }
    Ok(())
}

/// Files not indexed, indexed twice, or indexed and missing.
fn unindexed_files(index: &Index) -> Vec<String> {
    let mut problems = Vec::new();
    let mut on_disk = BTreeSet::new();
    files_below(&vendor_dir(), &mut on_disk);
    let mut indexed = BTreeSet::from(["index.json".to_string()]);
    indexed.extend(index.documents.keys().map(|d| format!("documents/{d}")));
    for example in &index.examples {
        let completed = example.completed.iter().map(|c| &c.file);
        for file in std::iter::once(&example.file).chain(completed) {
            if !indexed.insert(file.clone()) {
                problems.push(format!("{file} is indexed twice"));
            }
        }
    }
    for file in on_disk.difference(&indexed) {
        problems.push(format!("{file} is not in index.json"));
    }
    for file in indexed.difference(&on_disk) {
        problems.push(format!("index.json names {file}, which is not there"));
    }
    problems
}

/// What is wrong with one example: not its document's lines byte for
/// byte, a completed copy that is not what the index says, or an entry
/// that does not explain itself.
fn example_problems(example: &Example, document: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    let [first, last] = example.lines;
    let printed = document
        .get(first - 1..last)
        .map(|lines| lines.join("\n") + "\n");
    if printed.as_deref() != Some(example.as_printed_text().as_str()) {
        problems.push(format!("{} is not verbatim", example.label()));
    }
    if let Some(completed) = &example.completed
        && let Err(problem) = check_completed(example, completed)
    {
        problems.push(problem);
    }
    let filled = example
        .completed
        .as_ref()
        .is_some_and(|c| !c.values.is_empty());
    let explained = !example.rust_type.is_empty()
        && !example.as_printed.is_empty()
        && (!filled || example.completed_why.is_some());
    if !explained {
        problems.push(format!(
            "{}: say its Rust type, what it is as printed, and why a completion has its values",
            example.label()
        ));
    }
    problems
}

/// Lines of `document` where a body begins that no range covers.
fn uncovered_bodies(name: &str, document: &[String], ranges: &[[usize; 2]]) -> Vec<String> {
    document
        .iter()
        .enumerate()
        .map(|(at, line)| (at + 1, line))
        .filter(|(number, line)| {
            starts_a_body(line) && !ranges.iter().any(|[a, b]| (*a..=*b).contains(number))
        })
        .map(|(number, _)| format!("{name}:{number} prints a body no example covers"))
        .collect()
}

fn print_counts(index: &Index) {
    for (document, title) in &index.documents {
        let of = |role| {
            index
                .examples
                .iter()
                .filter(|e| &e.document == document && e.role == role)
                .count()
        };
        println!(
            "{document} ({title}): {} requests, {} responses",
            of(Role::Request),
            of(Role::Response)
        );
    }
    println!(
        "{} examples, {} completed copies, {} printed blocks that are not bodies",
        index.examples.len(),
        index
            .examples
            .iter()
            .filter(|e| e.completed.is_some())
            .count(),
        index.not_examples.len()
    );
}

#[test]
fn the_fixtures_are_the_documents_examples_every_one_indexed() {
    let index = index();
    assert!(!index.about.is_empty());
    let mut problems = unindexed_files(&index);
    for name in index.documents.keys() {
        let document = document_lines(name);
        let examples = index.examples.iter().filter(|e| &e.document == name);
        let mut ranges = Vec::new();
        for example in examples {
            problems.extend(example_problems(example, &document));
            ranges.push(example.lines);
        }
        for not in index.not_examples.iter().filter(|n| &n.document == name) {
            assert!(!not.what.is_empty() && !not.why.is_empty());
            ranges.push(not.lines);
        }
        problems.extend(uncovered_bodies(name, &document, &ranges));
    }
    let known = |document: &String| index.documents.contains_key(document);
    for example in index.examples.iter().filter(|e| !known(&e.document)) {
        problems.push(format!(
            "{}: no document {}",
            example.file, example.document
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    print_counts(&index);
}

// ---------------------------------------------------------------------------
// A loopback stub that answers what it is given and records what it is asked.

/// A request the stub received.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    body: Vec<u8>,
}

/// Answers every request with one status and body, but a RedAPI request for
/// a further page (`pageToken`) with `204 No Content`, which the documents
/// list for an empty result: the documents' `nextPageToken` is followed
/// once and the listing ends.
struct Replay {
    runtime: tokio::runtime::Runtime,
    url: String,
    answer: Arc<Mutex<(u16, String)>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Replay {
    fn start() -> Self {
        use axum::response::IntoResponse;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let answer = Arc::new(Mutex::new((200, String::new())));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (given, record) = (answer.clone(), seen.clone());
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let (given, record) = (given.clone(), record.clone());
            async move {
                let (parts, body) = request.into_parts();
                let body = axum::body::to_bytes(body, 1 << 20)
                    .await
                    .unwrap_or_default();
                record.lock().unwrap().push(Seen {
                    method: parts.method.to_string(),
                    path: parts.uri.path().to_string(),
                    body: body.to_vec(),
                });
                if parts.uri.query().is_some_and(|q| q.contains("pageToken=")) {
                    return axum::http::StatusCode::NO_CONTENT.into_response();
                }
                let (status, text) = given.lock().unwrap().clone();
                let status = axum::http::StatusCode::from_u16(status).unwrap();
                (status, [("content-type", "application/json")], text).into_response()
            }
        });
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        runtime.spawn(async move { axum::serve(listener, app).await });
        Replay {
            runtime,
            url,
            answer,
            seen,
        }
    }

    fn answer(&self, status: u16, body: String) {
        *self.answer.lock().unwrap() = (status, body);
        self.seen.lock().unwrap().clear();
    }

    fn first_seen(&self) -> Seen {
        self.seen
            .lock()
            .unwrap()
            .first()
            .cloned()
            .expect("a request")
    }

    fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    fn http(&self) -> HttpClient {
        HttpClient::new(fast_retries()).unwrap()
    }

    fn ecl_session(&self) -> EclSession {
        let http = self.http();
        let credentials = EclCredentials {
            auth_url: None,
            login: Login::Token(Secret::new("fixture-token")),
            project_id: None,
        };
        let keystone = Arc::new(Keystone::new(http.clone(), credentials));
        let target = EclTarget::resolve(
            TenantId::parse(TENANT_A).unwrap(),
            "jp1",
            Some(&self.url),
            None,
        )
        .unwrap();
        EclSession::new(http, keystone, target)
    }

    fn arcserve(&self) -> ArcserveClient {
        ArcserveClient::new(self.ecl_session())
    }

    fn proposals(&self) -> ProposalClient {
        ProposalClient::new(self.ecl_session())
    }

    fn redstor(&self) -> RedstorClient {
        let http = self.http();
        let base = checked_base_url(&format!("{}/", self.url), "the stub").unwrap();
        let credentials = RedstorCredentials {
            api_url: base.clone(),
            token_url: base,
            login: RedstorLogin::Token(Secret::new("fixture-token")),
        };
        RedstorClient::new(http.clone(), Arc::new(RedstorAuth::new(http, credentials)))
    }
}

// ---------------------------------------------------------------------------
// The client method of each endpoint. Each returns how many objects it read.

type Call = fn(&Replay) -> Result<usize, ApiError>;

fn some_id() -> Uuid {
    Uuid::parse_str("046b6c7f-0b8a-43b9-b35d-6489e6daee91").unwrap()
}

fn submission() -> Submission {
    Submission {
        language: 1,
        service_id: 1,
        order_id: Some("OrderId".into()),
        customer_email: "youremail@example.com".into(),
        proposal_xml: "<HulftModels />".into(),
    }
}

fn one<T>(result: Result<T, ApiError>) -> Result<usize, ApiError> {
    result.map(|_| 1)
}

fn optional<T>(result: Result<Option<T>, ApiError>) -> Result<usize, ApiError> {
    result.map(|found| usize::from(found.is_some()))
}

fn many<T>(result: Result<Vec<T>, ApiError>) -> Result<usize, ApiError> {
    result.map(|items| items.len())
}

fn arcserve_calls() -> Vec<(&'static str, Call)> {
    vec![
        ("arcserve.list_licenses", |r| {
            many(r.block_on(r.arcserve().list_licenses(None)))
        }),
        ("arcserve.create_license", |r| {
            one(r.block_on(r.arcserve().create_license(&new_license("fixture", 1))))
        }),
        ("arcserve.update_license", |r| {
            let changes = LicenseChanges {
                name: Some("fixture".into()),
                number_of_standalone_keys: Some(2),
            };
            one(r.block_on(r.arcserve().update_license(some_id(), &changes)))
        }),
        ("arcserve.delete_license", |r| {
            one(r.block_on(r.arcserve().delete_license(some_id())))
        }),
        ("arcserve.get_license", |r| {
            one(r.block_on(r.arcserve().get_license(some_id())))
        }),
        ("arcserve.issue_key", |r| {
            let key = KEY_STANDALONE.parse().unwrap();
            one(r.block_on(r.arcserve().issue_key(some_id(), key)))
        }),
        ("arcserve.bulk_upgrade", |r| {
            let upgrade = BulkUpgrade {
                license_ids: vec![some_id()],
                version: "9.0".into(),
                email_address: None,
                company_name: None,
            };
            many(r.block_on(r.arcserve().bulk_upgrade(&upgrade)))
        }),
        ("arcserve.list_plans", |r| {
            many(r.block_on(r.arcserve().list_plans()))
        }),
        ("arcserve.list_orders", |r| {
            many(r.block_on(r.arcserve().list_orders()))
        }),
        ("arcserve.get_order", |r| {
            one(r.block_on(r.arcserve().get_order(some_id())))
        }),
    ]
}

fn proposal_calls() -> Vec<(&'static str, Call)> {
    vec![
        ("proposal.submit", |r| {
            one(r.block_on(r.proposals().submit(&submission())))
        }),
        ("proposal.detail", |r| {
            one(r.block_on(r.proposals().detail(4, "OrderId", 2)))
        }),
        ("proposal.detail+xml.arcserve", |r| {
            let record = r.block_on(r.proposals().detail(6, "OrderId", 2))?;
            ArcserveModels::from_xml(&record.proposal_xml)
                .map(|document| document.models.len())
                .map_err(|err| ApiError::Decode {
                    request: "ArcserveModels::from_xml".into(),
                    detail: err.to_string(),
                })
        }),
    ]
}

fn redstor_calls() -> Vec<(&'static str, Call)> {
    vec![
        ("redstor.root_company", |r| {
            one(r.block_on(r.redstor().root_company()))
        }),
        ("redstor.company", |r| {
            optional(r.block_on(r.redstor().company(some_id())))
        }),
        ("redstor.customers", |r| {
            many(r.block_on(r.redstor().customers(some_id())))
        }),
        ("redstor.customers_transitive", |r| {
            many(r.block_on(r.redstor().customers_transitive(some_id())))
        }),
        ("redstor.search", |r| {
            many(r.block_on(r.redstor().search("companyName")))
        }),
        ("redstor.create_customer", |r| {
            let kind = entitle::api::redstor::CompanyType::Partner;
            one(r.block_on(r.redstor().create_customer(some_id(), "companyName", kind)))
        }),
        ("redstor.users", |r| {
            many(r.block_on(r.redstor().users(some_id())))
        }),
        ("redstor.products", |r| {
            many(r.block_on(r.redstor().products()))
        }),
        ("redstor.product", |r| {
            optional(r.block_on(r.redstor().product(0)))
        }),
        ("redstor.subscriptions", |r| {
            many(r.block_on(r.redstor().subscriptions(some_id())))
        }),
        ("redstor.subscribe", |r| {
            optional(r.block_on(r.redstor().subscribe(some_id(), 0, 6, false)))
        }),
        ("redstor.subscribe_trial", |r| {
            optional(r.block_on(r.redstor().subscribe(some_id(), 0, 6, true)))
        }),
        ("redstor.consumption_summary", |r| {
            let query = ConsumptionQuery::default();
            one(r.block_on(r.redstor().consumption_summary(some_id(), &query)))
        }),
        ("redstor.consumption_company", |r| {
            let query = ConsumptionQuery::default();
            many(r.block_on(r.redstor().consumption_company(some_id(), &query)))
        }),
        ("redstor.consumption_customers_direct", |r| {
            let query = ConsumptionQuery::default();
            many(r.block_on(r.redstor().consumption_customers_direct(some_id(), &query)))
        }),
        ("redstor.consumption_customers_transitive", |r| {
            let query = ConsumptionQuery::default();
            many(
                r.block_on(
                    r.redstor()
                        .consumption_customers_transitive(some_id(), &query),
                ),
            )
        }),
    ]
}

fn operation_calls() -> Vec<(&'static str, Call)> {
    fn status(r: &Replay, op: Operation) -> Result<usize, ApiError> {
        optional(r.block_on(r.redstor().operation_status(op, some_id(), None)))
    }
    fn customers(r: &Replay, op: Operation) -> Result<usize, ApiError> {
        many(
            r.block_on(
                r.redstor()
                    .operation_status_customers(op, some_id(), None, false),
            ),
        )
    }
    fn accounts(r: &Replay, op: Operation) -> Result<usize, ApiError> {
        many(r.block_on(r.redstor().operation_status_accounts(op, some_id(), None)))
    }
    fn summary(r: &Replay, op: Operation) -> Result<usize, ApiError> {
        optional(r.block_on(r.redstor().operation_status_summary(op, some_id(), None)))
    }
    vec![
        ("redstor.backups.status", |r| status(r, Operation::Backups)),
        ("redstor.backups.status_customers", |r| {
            customers(r, Operation::Backups)
        }),
        ("redstor.backups.status_accounts", |r| {
            accounts(r, Operation::Backups)
        }),
        ("redstor.backups.status_summary", |r| {
            summary(r, Operation::Backups)
        }),
        ("redstor.restores.status", |r| {
            status(r, Operation::Restores)
        }),
        ("redstor.restores.status_customers", |r| {
            customers(r, Operation::Restores)
        }),
        ("redstor.restores.status_accounts", |r| {
            accounts(r, Operation::Restores)
        }),
        ("redstor.restores.status_summary", |r| {
            summary(r, Operation::Restores)
        }),
    ]
}

/// The XML documents the client reads on their own.
/// Reads an XML document on its own; how many models it holds.
type XmlCall = fn(&str) -> Result<usize, String>;

fn xml_calls() -> Vec<(&'static str, XmlCall)> {
    vec![
        ("xml.hulft", |text| {
            HulftModels::from_xml(text)
                .map(|d| d.models.len())
                .map_err(|e| e.to_string())
        }),
        ("xml.generic", |text| {
            GenericModels::from_xml(text)
                .map(|d| d.models.len())
                .map_err(|e| e.to_string())
        }),
    ]
}

fn call_of(name: &str) -> Call {
    [
        arcserve_calls(),
        proposal_calls(),
        redstor_calls(),
        operation_calls(),
    ]
    .concat()
    .into_iter()
    .find_map(|(key, call)| (key == name).then_some(call))
    .unwrap_or_else(|| panic!("index.json names the call `{name}`, which the test does not know"))
}

fn xml_call_of(name: &str) -> XmlCall {
    xml_calls()
        .into_iter()
        .find_map(|(key, call)| (key == name).then_some(call))
        .unwrap_or_else(|| {
            panic!("index.json names the XML call `{name}`, which the test does not know")
        })
}

/// How many objects a body holds: a list's items, or one.
fn items_in(text: &str, format: &str) -> usize {
    if format == "xml" {
        return text
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with('<') && !l.starts_with("</") && l.ends_with("Model>"))
            .count();
    }
    let value: Value = serde_json::from_str(text).unwrap();
    if let Value::Array(items) = &value {
        return items.len();
    }
    ["results", "licenses", "plans", "orders"]
        .iter()
        .find_map(|key| value.get(key).and_then(Value::as_array))
        .map_or(1, Vec::len)
}

// ---------------------------------------------------------------------------
// JSON merge patches with the test's values.

/// The values `$name` in the index stands for.
struct Refs {
    values: BTreeMap<String, String>,
}

impl Refs {
    fn text(&self, name: &str, this: &str) -> String {
        if name == "$this" {
            return this.to_string();
        }
        if let Some(file) = name.strip_prefix("$xml:") {
            return read(file);
        }
        self.values
            .get(name)
            .cloned()
            .unwrap_or_else(|| panic!("index.json uses `{name}`, which the test does not set"))
    }

    fn resolve(&self, value: &Value, this: &str) -> Value {
        match value {
            Value::String(text) if text.starts_with('$') => Value::String(self.text(text, this)),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.resolve(v, this)).collect())
            }
            other => other.clone(),
        }
    }

    /// RFC 7396: objects merge, `null` removes, anything else replaces.
    fn merge(&self, target: &mut Value, patch: &Value, this: &str) {
        let Value::Object(fields) = patch else {
            *target = self.resolve(patch, this);
            return;
        };
        if !target.is_object() {
            *target = Value::Object(serde_json::Map::new());
        }
        let object = target.as_object_mut().unwrap();
        for (key, value) in fields {
            if value.is_null() {
                object.remove(key);
            } else {
                self.merge(
                    object.entry(key.clone()).or_insert(Value::Null),
                    value,
                    this,
                );
            }
        }
    }

    fn path(&self, template: &str) -> String {
        self.values
            .iter()
            .fold(template.to_string(), |path, (name, value)| {
                path.replace(name, value)
            })
    }
}

/// `text` (or, for a part of another example, that example's body with
/// `text` in it) with `set` applied; `text` as it is when nothing is set.
fn body_with(example: &Example, text: &str, set: Option<&Value>, refs: &Refs) -> String {
    let base = example
        .carrier
        .as_deref()
        .map_or_else(|| text.to_string(), read);
    let Some(set) = set else { return base };
    let mut body: Value = serde_json::from_str(&base).unwrap_or_else(|err| {
        panic!(
            "{}: cannot set fields in a body that is not JSON: {err}",
            example.file
        )
    });
    refs.merge(&mut body, set, text);
    serde_json::to_string_pretty(&body).unwrap()
}

// ---------------------------------------------------------------------------
// Responses: the real client reads each one.

#[test]
fn the_client_reads_every_response_example() {
    let index = index();
    let replay = Replay::start();
    let refs = Refs {
        values: BTreeMap::new(),
    };
    let mut problems = Vec::new();
    let mut read_count = 0;
    let responses: Vec<&Example> = index
        .examples
        .iter()
        .filter(|e| e.role == Role::Response)
        .collect();
    for example in &responses {
        let text = example.readable_text();
        let body = body_with(example, &text, example.carrier_set.as_ref(), &refs);
        replay.answer(example.status, body);
        let outcome = call_of(&example.call)(&replay);
        let wanted = example.client_reads.as_deref().expect("client_reads");
        match (wanted, outcome) {
            ("all", Ok(count)) if count == items_in(&text, &example.format) => read_count += 1,
            ("all", Ok(count)) => problems.push(format!(
                "{}: read {count} of {} objects",
                example.label(),
                items_in(&text, &example.format)
            )),
            ("all", Err(err)) => problems.push(format!("{}: {err}", example.label())),
            (error, Err(err)) if err.to_string().contains(error) => {
                println!("not read, as index.json says: {}: {err}", example.file);
            }
            (error, outcome) => problems.push(format!(
                "{}: expected the error `{error}`, got {outcome:?}",
                example.label()
            )),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    println!(
        "{read_count} of {} response examples read by the client",
        responses.len()
    );
}

// ---------------------------------------------------------------------------
// Requests: the simulator answers each one as the documents say.

/// The simulator in the state the requests are written for: a tenant with
/// an active license two days old (`$license`), another for the upgrade
/// order, and a HULFT proposal (`$proposal`).
struct World {
    sim: TestSim,
    token: String,
    refs: Refs,
    spare_license: Uuid,
}

impl World {
    fn new() -> Self {
        let sim = TestSim::start();
        let client = sim.arcserve(TENANT_A);
        let license = sim
            .block_on(client.create_license(&new_license("fixture-license", 1)))
            .unwrap();
        let spare = sim
            .block_on(client.create_license(&new_license("fixture-spare", 1)))
            .unwrap();
        sim.settle();
        sim.advance_clock(2 * 86_400);
        let proposal = Submission {
            language: 1,
            service_id: 1,
            order_id: None,
            customer_email: "youremail@example.com".into(),
            proposal_xml: read("proposal-add/hulft-models.request.completed.xml"),
        };
        let proposal = sim
            .block_on(sim.proposals(TENANT_A).submit(&proposal))
            .unwrap();
        let target = sim.target(TENANT_A);
        let token = sim
            .block_on(
                sim.keystone(&sim.http())
                    .token(&target.auth_url, &target.tenant),
            )
            .unwrap()
            .expose()
            .to_string();
        let values = [
            ("$tenant", TENANT_A.to_string()),
            ("$license", license.id.to_string()),
            ("$absent", Uuid::new_v4().to_string()),
            ("$proposal", proposal),
        ];
        World {
            sim,
            token,
            refs: Refs {
                values: values
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            },
            spare_license: spare.id,
        }
    }

    /// The changes a send may ask for before it is made.
    fn make(&self, step: &str) {
        match step {
            "upgrade_order" => {
                let upgrade = BulkUpgrade {
                    license_ids: vec![self.spare_license],
                    version: "9.0".into(),
                    email_address: Some("licensing@example.co.jp".into()),
                    company_name: Some("Example K.K.".into()),
                };
                self.sim
                    .block_on(self.sim.arcserve(TENANT_A).bulk_upgrade(&upgrade))
                    .unwrap();
            }
            other => panic!("index.json asks for the state `{other}`, which the test cannot make"),
        }
    }

    /// Sends `body` as it is, with the tenant's token.
    fn send(&self, method: &str, path: &str, body: String) -> (u16, String) {
        let url = format!("{}{path}", self.sim.url);
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        self.sim.block_on(async {
            let response = reqwest::Client::new()
                .request(method, &url)
                .header("x-auth-token", &self.token)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        })
    }
}

/// The simulator's answer, read by the client method of the endpoint: a
/// success decodes, a refusal is that status with the simulator's message.
fn client_reads_answer(replay: &Replay, call: &str, status: u16, text: &str) -> Result<(), String> {
    replay.answer(status, text.to_string());
    let outcome = call_of(call)(replay);
    match outcome {
        Ok(_) if (200..300).contains(&status) => Ok(()),
        Err(ApiError::Status {
            status: got,
            message,
            ..
        }) if got == status => {
            let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
            let sent = body["error"]["message"].as_str().unwrap_or_default();
            if !sent.is_empty() && message.contains(sent) {
                Ok(())
            } else {
                Err(format!(
                    "the client's message `{message}` is not the simulator's `{sent}`"
                ))
            }
        }
        other => Err(format!("the client read {status} {text} as {other:?}")),
    }
}

/// A refusal in the ECL error body, for the reason the index gives.
fn refused_as_documented(send: &Send, answer: &str) -> Result<(), String> {
    let wanted = send
        .refusal
        .as_deref()
        .ok_or("a refusal must say what the simulator's message says")?;
    let body: Value = serde_json::from_str(answer).map_err(|err| format!("{answer}: {err}"))?;
    let message = body["error"]["message"].as_str().unwrap_or_default();
    if body["error"]["code"] == send.expect && message.contains(wanted) {
        Ok(())
    } else {
        Err(format!(
            "refused with {answer}, not for `{wanted}` ({})",
            send.why
        ))
    }
}

/// The client method that reads the answers to `example`: its own, or its
/// carrier's for a part of another example's body.
fn answer_call<'a>(index: &'a Index, example: &'a Example) -> &'a str {
    let Some(carrier) = example.carrier.as_deref() else {
        return &example.call;
    };
    let carrier = index.examples.iter().find(|e| e.file == carrier);
    &carrier.expect("the carrier is an example").call
}

/// Makes one send of `example`: the simulator's status is the expected
/// one, a refusal is for the reason the index gives, and the client reads
/// the answer. True when it was accepted.
fn check_send(
    world: &World,
    replay: &Replay,
    example: &Example,
    send: &Send,
    call: &str,
) -> Result<bool, String> {
    if let Some(step) = &send.after {
        world.make(step);
    }
    let text = example.body_text(&send.body);
    let body = body_with(example, &text, send.set.as_ref(), &world.refs);
    let path = world.refs.path(&send.path);
    let (status, answer) = world.send(&example.method, &path, body);
    let completed = if send.set.is_some() {
        ", completed as index.json says"
    } else {
        ""
    };
    println!(
        "{} {} {path} ({}{completed}): {status}",
        example.file, example.method, send.body
    );
    if status != send.expect {
        return Err(format!(
            "expected {} ({}), got {status}: {answer}",
            send.expect, send.why
        ));
    }
    let accepted = (200..300).contains(&status);
    if !accepted {
        refused_as_documented(send, &answer)?;
    }
    client_reads_answer(replay, call, status, &answer)?;
    Ok(accepted)
}

#[test]
fn the_simulator_answers_every_request_example_as_the_documents_say() {
    let index = index();
    let world = World::new();
    let replay = Replay::start();
    let mut problems = Vec::new();
    let (mut sends, mut accepted) = (0, 0);
    let requests: Vec<&Example> = index
        .examples
        .iter()
        .filter(|e| e.role == Role::Request)
        .collect();
    for example in &requests {
        assert!(!example.sends.is_empty(), "{}: no sends", example.label());
        let call = answer_call(&index, example);
        for send in &example.sends {
            sends += 1;
            match check_send(&world, &replay, example, send, call) {
                Ok(was_accepted) => accepted += usize::from(was_accepted),
                Err(problem) => problems.push(format!("{}: {problem}", example.label())),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    println!(
        "{} request examples, {sends} requests sent, {accepted} accepted, the rest refused as documented",
        requests.len()
    );
}

// ---------------------------------------------------------------------------
// Requests: the client writes what the documents show.

/// Every key of `shown` is in `sent`, at every depth the example shows.
fn missing_keys(shown: &Value, sent: &Value, at: &str, out: &mut Vec<String>) {
    let Value::Object(fields) = shown else { return };
    for (key, value) in fields {
        match sent.get(key) {
            Some(inner) => missing_keys(value, inner, &format!("{at}.{key}"), out),
            None => out.push(format!("{at}.{key}")),
        }
    }
}

/// The element names of an XML document, in order.
fn element_names(text: &str) -> Vec<String> {
    text.split('<')
        .skip(1)
        .filter(|part| !part.starts_with('/') && !part.starts_with('?'))
        .map(|part| {
            part.split(|c: char| c.is_whitespace() || c == '>' || c == '/')
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// Whether `part` appears in `whole` in the same order.
fn in_order(part: &[String], whole: &[String]) -> bool {
    let mut rest = whole.iter();
    part.iter().all(|name| rest.any(|other| other == name))
}

fn client_writes(example: &Example, replay: &Replay) -> Result<(), String> {
    if example.format == "xml" {
        let completed = example.body_text("completed");
        let written = match example.call.as_str() {
            "xml.hulft" => HulftModels::from_xml(&completed).map(|d| d.to_xml()),
            "xml.generic" => GenericModels::from_xml(&completed).map(|d| d.to_xml()),
            other => return Err(format!("no writer for `{other}`")),
        }
        .map_err(|err| err.to_string())?;
        let (written, shown) = (element_names(&written), element_names(&completed));
        return if in_order(&written, &shown) {
            Ok(())
        } else {
            Err(format!(
                "the client writes {written:?}, the document shows {shown:?}"
            ))
        };
    }
    replay.answer(200, "{}".into());
    let _ = call_of(&example.call)(replay);
    let seen = replay.first_seen();
    if seen.method != example.method {
        return Err(format!("the client sent {}", seen.method));
    }
    let template: Vec<&str> = example.endpoint.split('/').collect();
    let path: Vec<&str> = seen.path.split('/').collect();
    let same_path = template.len() == path.len()
        && template
            .iter()
            .zip(&path)
            .all(|(t, p)| t.starts_with('{') || t == p);
    if !same_path {
        return Err(format!("the client sent {}", seen.path));
    }
    let shown: Value = serde_json::from_str(&example.readable_text()).unwrap();
    let sent: Value = serde_json::from_slice(&seen.body).map_err(|err| err.to_string())?;
    let mut missing = Vec::new();
    missing_keys(&shown, &sent, "", &mut missing);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the client's body {sent} lacks {}",
            missing.join(", ")
        ))
    }
}

#[test]
fn the_client_writes_what_the_request_examples_show() {
    let index = index();
    let replay = Replay::start();
    let mut problems = Vec::new();
    let mut checked = 0;
    for example in index.examples.iter().filter(|e| e.role == Role::Request) {
        if let Some(wanted) = &example.client_reads {
            let read = xml_call_of(&example.call);
            match read(&example.as_printed_text()) {
                Err(err) if err.contains(wanted.as_str()) => {}
                other => problems.push(format!(
                    "{}: as printed, expected `{wanted}`, got {other:?}",
                    example.label()
                )),
            }
            if let Err(err) = read(&example.readable_text()) {
                problems.push(format!("{}: completed copy: {err}", example.label()));
            }
        }
        match client_writes(example, &replay) {
            Ok(()) => checked += 1,
            Err(problem) => problems.push(format!("{}: {problem}", example.label())),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    println!("{checked} request examples: the client writes every key they show");
}
