//! `entitle report consumption|backups|restores` through the binary against
//! the simulated RedAPI, on a small tree made through the API:
//!
//! ```text
//! Entitle Demo MSP (root)
//! ├── Reseller (partner)         Machines
//! │   ├── Client A              O365, Google Workspace (trial)
//! │   └── Client B | Pipes      O365
//! └── Other Co                   Salesforce
//! ```
//!
//! The simulator draws seats, bytes and job outcomes from random
//! subscription ids, so snapshots hide the numbers, and the ordering and
//! totals are checked on the JSON instead.

use std::path::PathBuf;
use std::sync::Arc;

use entitle::api::http::{HttpClient, Request};
use entitle::api::redstor::{CompanyType, RedstorClient};
use entitle::api::redstor_auth::{RedstorAuth, RedstorCredentials, SigningKey};
use entitle::state::{ResourceState, Scope, State, StateFile, Status};
use reqwest::Method;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::support::{Run, TestSim, fast_retries};

/// The simulator, the service account's key on disk, and a client of it.
struct Tree {
    sim: TestSim,
    dir: tempfile::TempDir,
    key: PathBuf,
    client: RedstorClient,
    reseller: Uuid,
}

impl Tree {
    fn start() -> Self {
        let sim = TestSim::start();
        let dir = tempfile::tempdir().unwrap();
        let key = sim.redstor_key_in(dir.path());
        let client = sim.redstor();
        let reseller = sim.block_on(async {
            let company = |parent, name, company_type| {
                let client = &client;
                async move {
                    client
                        .create_customer(parent, name, company_type)
                        .await
                        .unwrap()
                        .company_id
                }
            };
            let root = client.root_company().await.unwrap().company_id;
            let partner = company(root, "Reseller", CompanyType::Partner).await;
            let a = company(partner, "Client A", CompanyType::Customer).await;
            let b = company(partner, "Client B | Pipes", CompanyType::Customer).await;
            let other = company(root, "Other Co", CompanyType::Customer).await;
            for (company, product, edition, trial) in [
                (partner, 130, 1301, false),
                (a, 4, 41, false),
                (a, 91, 911, true),
                (b, 4, 41, false),
                (other, 105, 1051, false),
            ] {
                client
                    .subscribe(company, product, edition, trial)
                    .await
                    .unwrap();
            }
            partner
        });
        Tree {
            sim,
            dir,
            key,
            client,
            reseller,
        }
    }

    /// `entitle --no-progress <args>` with the service account's variables.
    fn report(&self, args: &[&str]) -> Run {
        let mut command = self.sim.command_in(self.dir.path());
        command.args(args);
        Run::of(command)
    }

    /// A bearer token for the account, asked for by hand.
    fn token(&self) -> String {
        let now = OffsetDateTime::now_utc();
        let key = SigningKey::read(&self.key).unwrap();
        let token_url = self.sim.redstor_token_url();
        let assertion = key
            .assertion(&self.sim.redstor_account().client_id, &token_url, now)
            .unwrap();
        let http = HttpClient::new(fast_retries()).unwrap();
        let request = Request::new(Method::POST, token_url.parse().unwrap()).form(&[
            ("grant_type", "client_credentials"),
            ("scope", "api.read api.write"),
            ("resource", "https://api.redstor.com/"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion.expose()),
        ]);
        let response = self.sim.block_on(http.send(&request)).unwrap();
        let body: Value = response.json().unwrap();
        body["access_token"].as_str().unwrap().to_string()
    }
}

/// Numbers hidden as `n` (they come from random ids) and runs of spaces
/// made one, since column widths follow the numbers.
fn without_numbers(text: &str) -> String {
    let mut out = String::new();
    let mut last = '\n';
    for c in text.chars() {
        let digit = c.is_ascii_digit();
        if (digit && last.is_ascii_digit()) || (c == ' ' && last == ' ') {
            continue;
        }
        out.push(if digit { 'n' } else { c });
        last = c;
    }
    out.replace("n.n ", "n ")
}

fn json_of(run: Run) -> Value {
    serde_json::from_str(&run.expect(0).stdout).unwrap()
}

#[test]
fn consumption_of_a_company_named_in_any_case() {
    let tree = Tree::start();
    let text = tree
        .report(&["report", "consumption", "--company", "reseller"])
        .expect(0)
        .stdout;
    insta::assert_snapshot!("consumption-text", without_numbers(&text));
    let markdown = tree
        .report(&[
            "report",
            "consumption",
            "--company",
            "RESELLER",
            "--format",
            "markdown",
        ])
        .expect(0)
        .stdout;
    insta::assert_snapshot!("consumption-markdown", without_numbers(&markdown));

    let json = json_of(tree.report(&[
        "report",
        "consumption",
        "--company",
        "Reseller",
        "--format",
        "json",
    ]));
    assert_eq!(json["format_version"], 1);
    assert_eq!(json["report"], "consumption");
    assert_eq!(json["company"]["id"], tree.reseller.to_string());
    let rows = json["rows"].as_array().unwrap();
    for field in ["active_seats", "inactive_seats", "data_protected_bytes"] {
        let sum: u64 = rows.iter().map(|r| r[field].as_u64().unwrap()).sum();
        assert_eq!(json["totals"][field], sum, "{field}");
    }
    // The summary endpoint agrees with the rows.
    let summary = tree.sim.block_on(tree.client.consumption_summary(
        tree.reseller,
        &entitle::api::redstor_reports::ConsumptionQuery::default(),
    ));
    let summary = summary.unwrap();
    assert_eq!(
        json["totals"]["active_seats"],
        summary.company_summary.active_seats + summary.customer_summary.active_seats
    );

    let before_anything = tree
        .report(&[
            "report",
            "consumption",
            "--company",
            "Reseller",
            "--date",
            "2020-01-01T00:00:00Z",
        ])
        .expect(0)
        .stdout;
    assert_eq!(
        before_anything,
        "Consumption of Reseller and its customers (at 2020-01-01T00:00:00Z)\n\nNo consumption.\n"
    );

    let without_trials = json_of(tree.report(&[
        "report",
        "consumption",
        "--company",
        "Reseller",
        "--exclude-trials",
        "--format",
        "json",
    ]));
    assert_eq!(
        without_trials["rows"].as_array().unwrap().len(),
        rows.len() - 1
    );
    assert!(
        without_trials["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["trial"] == false)
    );
}

#[test]
fn backups_and_restores_before_and_after_the_first_jobs() {
    let tree = Tree::start();
    // Nothing has run an hour after nothing: every company without jobs.
    for report in ["backups", "restores"] {
        let text = tree
            .report(&["report", report, "--company", "Reseller"])
            .expect(0)
            .stdout;
        insta::assert_snapshot!(format!("{report}-text"), text);
        let markdown = tree
            .report(&[
                "report",
                report,
                "--company",
                "Reseller",
                "--format",
                "markdown",
            ])
            .expect(0)
            .stdout;
        insta::assert_snapshot!(format!("{report}-markdown"), markdown);
    }

    tree.sim.advance_clock(2 * 3600);
    for report in ["backups", "restores"] {
        let json = json_of(tree.report(&[
            "report",
            report,
            "--company",
            "Reseller",
            "--format",
            "json",
        ]));
        assert_eq!(json["report"], report);
        let companies = json["companies"].as_array().unwrap();
        let names: Vec<&str> = companies
            .iter()
            .map(|c| c["company_name"].as_str().unwrap())
            .collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, ["Client A", "Client B | Pipes", "Reseller"]);
        // Troubled first: failed, then errors, descending; then by name.
        let key = |c: &Value| {
            let failed = c["total"]["failed"].as_u64().unwrap();
            let errors = c["total"]["errors"].as_u64().unwrap();
            (
                failed == 0 && errors == 0,
                std::cmp::Reverse(failed),
                std::cmp::Reverse(errors),
                c["company_name"].as_str().unwrap().to_lowercase(),
            )
        };
        assert!(
            companies.windows(2).all(|w| key(&w[0]) <= key(&w[1])),
            "{json:#}"
        );
        for field in ["success", "warnings", "errors", "failed"] {
            let sum: u64 = companies
                .iter()
                .map(|c| c["total"][field].as_u64().unwrap())
                .sum();
            assert_eq!(json["totals"][field], sum, "{field}");
        }
        if report == "backups" {
            let consumption = json_of(tree.report(&[
                "report",
                "consumption",
                "--company",
                "Reseller",
                "--format",
                "json",
            ]));
            assert!(
                consumption["totals"]["data_protected_bytes"]
                    .as_u64()
                    .unwrap()
                    > 0
            );
        }
        // Every subscription in use runs backups and restores every day.
        assert!(
            companies
                .iter()
                .all(|c| !c["products"].as_array().unwrap().is_empty()),
            "{json:#}"
        );
        let only_o365 = json_of(tree.report(&[
            "report",
            report,
            "--company",
            "Reseller",
            "--product",
            "4",
            "--format",
            "json",
        ]));
        assert!(
            only_o365["companies"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|c| c["products"].as_array().unwrap())
                .all(|p| p["product_id"] == 4)
        );
    }
}

#[test]
fn company_from_the_state_then_the_account_else_close_names() {
    let tree = Tree::start();
    // A state record wins over names: `RedstorCompany/partner` is Reseller.
    let state_path = tree.dir.path().join("entitle.state.json");
    let mut state = State::new();
    state.resources.insert(
        "RedstorCompany/partner".parse().unwrap(),
        ResourceState {
            remote_id: Some(tree.reseller.to_string().to_uppercase()),
            scope: Scope::default(),
            natural_key: "Reseller".into(),
            attributes: serde_json::json!({}),
            dependencies: Vec::new(),
            status: Status::Ready,
            lifecycle: Default::default(),
        },
    );
    StateFile::new(&state_path).write(&mut state).unwrap();
    let json = json_of(tree.report(&[
        "report",
        "backups",
        "--company",
        "partner",
        "--format",
        "json",
    ]));
    assert_eq!(json["company"]["name"], "Reseller");

    // No --company: the root, with every customer below it.
    let json = json_of(tree.report(&["report", "consumption", "--format", "json"]));
    assert_eq!(json["company"]["name"], "Entitle Demo MSP");
    let mut companies: Vec<&str> = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["company_name"].as_str().unwrap())
        .collect();
    companies.dedup();
    assert_eq!(
        companies,
        ["Client A", "Client B | Pipes", "Other Co", "Reseller"]
    );

    let run = tree
        .report(&["report", "consumption", "--company", "Resseler"])
        .expect(1);
    assert_eq!(run.stdout, "");
    insta::assert_snapshot!("unknown-company", run.stderr);
    assert!(!run.stderr.contains("PRIVATE KEY"));

    let run = tree
        .report(&["report", "consumption", "--product", "4"])
        .expect(1);
    insta::assert_snapshot!("misplaced-flag", run.stderr);
}

#[test]
fn every_report_read_fits_what_the_simulator_answers() {
    use entitle::api::redstor_reports::{ConsumptionQuery, Operation};
    let tree = Tree::start();
    tree.sim.advance_clock(2 * 3600);
    let token = tree.token();
    let http = HttpClient::new(fast_retries()).unwrap();
    let credentials = RedstorCredentials::from_lookup(|name| {
        Some(match name {
            "REDSTOR_TOKEN" => token.clone(),
            "REDSTOR_API_URL" => tree.sim.redstor_api_url(),
            "REDSTOR_TOKEN_URL" => tree.sim.redstor_token_url(),
            _ => return None,
        })
    })
    .unwrap();
    let client = RedstorClient::new(http.clone(), Arc::new(RedstorAuth::new(http, credentials)));
    let query = ConsumptionQuery::default();
    let id = tree.reseller;
    tree.sim.block_on(async {
        let summary = client.consumption_summary(id, &query).await.unwrap();
        assert!(summary.company_summary.total_data_protected_in_bytes > 0);
        let direct = client
            .consumption_customers_direct(id, &query)
            .await
            .unwrap();
        let names: Vec<_> = direct.iter().map(|c| c.company_name.as_deref()).collect();
        assert_eq!(names, [Some("Client A"), Some("Client B | Pipes")]);
        assert_eq!(direct[0].product_consumption.len(), 2);
        let transitive = client
            .consumption_customers_transitive(id, &query)
            .await
            .unwrap();
        assert!(transitive.iter().all(|t| t.parent_company_id == Some(id)));
        for operation in [Operation::Backups, Operation::Restores] {
            let summary = client
                .operation_status_summary(operation, id, None)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(summary.company_summary.unwrap().company_id, id);
            let customers = client
                .operation_status_customers(operation, id, None, false)
                .await
                .unwrap();
            assert_eq!(customers.len(), 2);
            // Reseller's own Machines subscription, with only its accounts.
            let accounts = client
                .operation_status_accounts(operation, id, Some(130))
                .await
                .unwrap();
            assert!(accounts.iter().all(|a| a.product_id == 130
                && a.company_id == Some(id)
                && a.backup_set_guid.is_some()
                && (1..=4).contains(&a.status)));
            if operation == Operation::Backups {
                assert!(!accounts.is_empty());
            }
            // No subscription to Salesforce here: 204, read as nothing.
            assert_eq!(
                client
                    .operation_status(operation, id, Some(105))
                    .await
                    .unwrap(),
                None
            );
        }
    });
}
