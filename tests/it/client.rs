//! The ECL clients against the simulator: authentication, tenant isolation,
//! pagination, the vendor's validation rules, retries under faults, and
//! token renewal.

use std::time::{Duration, Instant};

use entitle::api::ApiError;
use entitle::api::arcserve::{ArcserveClient, BulkUpgrade, License, LicenseChanges, NewLicense};
use entitle::api::ecl::{EclSession, TenantId};
use entitle::api::http::{Request, join_segments};
use entitle::api::keystone::Login;
use entitle::api::secret::Secret;
use entitle::sim::SimConfig;
use futures_util::future::try_join_all;
use reqwest::Method;
use reqwest::header::HeaderName;
use serde_json::json;
use uuid::Uuid;

use crate::support::*;

const TOKENS: &str = "POST /v3/auth/tokens";
const LIST: &str = "GET /v2/arcserve-udp/{tenant_id}/licenses";

/// Creates `count` licenses named `{prefix}-{i}` in one tenant, 16 at a time.
fn create_many(sim: &TestSim, tenant: &str, prefix: &str, count: usize) {
    let client = sim.arcserve(tenant);
    sim.block_on(async {
        let bodies: Vec<NewLicense> = (0..count)
            .map(|i| new_license(&format!("{prefix}-{i:04}"), 1))
            .collect();
        for chunk in bodies.chunks(16) {
            try_join_all(chunk.iter().map(|body| client.create_license(body)))
                .await
                .unwrap();
        }
    });
}

/// Lists the tenant's licenses through `client` while the simulator's
/// faults, set before, are lifted `after` the read has started.
fn list_lifting_faults_after(
    sim: &TestSim,
    client: &ArcserveClient,
    after: Duration,
) -> Result<Vec<License>, ApiError> {
    let url = sim.url.clone();
    sim.block_on(async {
        let lift = tokio::spawn(async move {
            tokio::time::sleep(after).await;
            reqwest::Client::new()
                .put(format!("{url}/_sim/faults"))
                .json(&json!({}))
                .send()
                .await
                .unwrap();
        });
        let listed = client.list_licenses(None).await;
        lift.await.unwrap();
        listed
    })
}

#[test]
fn one_token_serves_many_requests_of_a_tenant() {
    let sim = TestSim::start();
    let client = sim.arcserve(TENANT_A);
    sim.block_on(async {
        let requests = (0..6).map(|_| client.list_licenses(None));
        try_join_all(requests).await.unwrap();
    });
    assert_eq!(sim.calls(TOKENS), 1, "{:?}", sim.metrics());
    assert_eq!(sim.calls(LIST), 6);
}

#[test]
fn a_token_of_one_tenant_is_refused_in_another() {
    let sim = TestSim::start();
    let http = sim.http();
    let keystone = sim.keystone(&http);
    let target_a = sim.target(TENANT_A);
    let token_a = sim
        .block_on(keystone.token(&target_a.auth_url, &target_a.tenant))
        .unwrap();
    let url = sim
        .target(TENANT_B)
        .url(&["v2", "arcserve-udp", TENANT_B, "licenses"])
        .unwrap();
    let request = Request::new(Method::GET, url)
        .secret_header(HeaderName::from_static("x-auth-token"), &token_a)
        .unwrap();
    let err = sim.block_on(http.send(&request)).unwrap_err();
    assert_eq!(err.status(), Some(403), "{err}");

    // Through a session the same refusal says what to check.
    let session = EclSession::new(http, keystone, sim.target(TENANT_B));
    let forged = Request::new(
        Method::GET,
        sim.target(TENANT_A)
            .url(&["v2", "arcserve-udp", TENANT_A, "licenses"])
            .unwrap(),
    );
    let err = sim.block_on(session.send(forged)).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("not allowed here"), "{text}");
    assert!(text.contains("hint:"), "{text}");
}

#[test]
fn licenses_of_another_tenant_are_not_found() {
    let sim = TestSim::start();
    create_many(&sim, TENANT_A, "a", 1);
    let a = sim.arcserve(TENANT_A);
    let b = sim.arcserve(TENANT_B);
    let id = sim.block_on(a.list_licenses(None)).unwrap()[0].id;
    let err = sim.block_on(b.get_license(id)).unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");
    assert!(sim.block_on(b.list_licenses(None)).unwrap().is_empty());
}

#[test]
fn wrong_credentials_are_refused_without_echoing_the_secret() {
    let sim = TestSim::start();
    let login = Login::Password {
        username: "demo".into(),
        password: Secret::new("not-the-secret-42"),
        user_domain_id: "default".into(),
    };
    let client = ArcserveClient::new(sim.session_as(TENANT_A, login));
    let err = sim.block_on(client.list_licenses(None)).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ApiError::Auth { .. }), "{text}");
    assert!(text.contains("refused the credentials"), "{text}");
    assert!(text.contains("hint:"), "{text}");
    assert!(!text.contains("not-the-secret-42"), "{text}");
    assert!(!format!("{err:?}").contains("not-the-secret-42"));
}

#[test]
fn listing_260_licenses_reads_three_pages() {
    let sim = TestSim::start();
    create_many(&sim, TENANT_A, "bulk", 260);
    sim.reset_metrics();
    let licenses = sim
        .block_on(sim.arcserve(TENANT_A).list_licenses(None))
        .unwrap();
    assert_eq!(licenses.len(), 260);
    let mut names: Vec<&str> = licenses.iter().map(|l| l.name.as_str()).collect();
    names.sort_unstable();
    let expected: Vec<String> = (0..260).map(|i| format!("bulk-{i:04}")).collect();
    assert_eq!(names, expected, "each license exactly once");
    assert_eq!(sim.calls(LIST), 3, "{:?}", sim.metrics());
}

#[test]
fn a_license_goes_through_its_whole_life() {
    let sim = TestSim::start();
    let client = sim.arcserve(TENANT_A);
    let created = sim
        .block_on(client.create_license(&new_license("life", 1)))
        .unwrap();
    assert_eq!(created.status, "Provisioning");
    assert!(created.keys.is_empty());

    // Not usable until provisioned.
    let early = sim.block_on(client.issue_key(created.id, KEY_STANDALONE.parse().unwrap()));
    assert_eq!(early.unwrap_err().status(), Some(400));
    sim.settle();
    let active = sim.block_on(client.get_license(created.id)).unwrap();
    assert_eq!(active.status, "Active");

    let keyed = sim
        .block_on(client.issue_key(created.id, KEY_STANDALONE.parse().unwrap()))
        .unwrap();
    assert_eq!(keyed.keys.len(), 1);
    assert_eq!(keyed.keys[0].name, "UDP Standalone Key");
    assert_eq!(keyed.keys[0].version, "9.0");

    let changes = LicenseChanges {
        number_of_standalone_keys: Some(7),
        ..LicenseChanges::default()
    };
    let updated = sim
        .block_on(client.update_license(created.id, &changes))
        .unwrap();
    assert_eq!(updated.number_of_standalone_keys, 7);
    assert_eq!(updated.name, "life");

    let orders = sim.block_on(client.list_orders()).unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].order_type.as_deref(), Some("new"));
    let order_id = orders[0].id.expect("the simulator's orders carry their id");
    let order = sim.block_on(client.get_order(order_id)).unwrap();
    assert_eq!(order.license_ids, Some(vec![created.id]));
    let of_order = sim.block_on(client.list_licenses(Some(order_id))).unwrap();
    assert_eq!(of_order.len(), 1);

    let deleting = sim.block_on(client.delete_license(created.id)).unwrap();
    assert_eq!(deleting.status, "Deleting");
    assert!(deleting.deletion_date.is_some());
    sim.settle();
    let gone = sim.block_on(client.get_license(created.id)).unwrap_err();
    assert_eq!(gone.status(), Some(404));
    assert!(sim.block_on(client.list_licenses(None)).unwrap().is_empty());
}

#[test]
fn bulk_upgrade_follows_the_day_after_and_contact_rules() {
    let sim = TestSim::start();
    create_many(&sim, TENANT_A, "up", 3);
    sim.settle();
    let client = sim.arcserve(TENANT_A);
    let ids: Vec<Uuid> = sim
        .block_on(client.list_licenses(None))
        .unwrap()
        .iter()
        .map(|l| l.id)
        .collect();
    let upgrade = |contact: bool| BulkUpgrade {
        license_ids: ids.clone(),
        version: "10.0".into(),
        email_address: contact.then(|| "licensing@example.co.jp".into()),
        company_name: contact.then(|| "Example K.K.".into()),
    };

    let same_day = sim
        .block_on(client.bulk_upgrade(&upgrade(true)))
        .unwrap_err();
    assert_eq!(same_day.status(), Some(400), "{same_day}");
    assert!(
        same_day.to_string().contains(&ids[0].to_string()),
        "{same_day}"
    );

    sim.advance_clock(86_400);
    let no_contact = sim
        .block_on(client.bulk_upgrade(&upgrade(false)))
        .unwrap_err();
    assert_eq!(no_contact.status(), Some(400), "{no_contact}");
    assert!(
        no_contact.to_string().contains("email_address"),
        "{no_contact}"
    );

    let upgraded = sim.block_on(client.bulk_upgrade(&upgrade(true))).unwrap();
    assert_eq!(upgraded.len(), 3);

    // The tenant now has its upgrade order: later upgrades need no contact.
    sim.advance_clock(86_400);
    let again = BulkUpgrade {
        version: "10.1".into(),
        ..upgrade(false)
    };
    sim.block_on(client.bulk_upgrade(&again)).unwrap();
    let orders = sim.block_on(client.list_orders()).unwrap();
    assert!(orders.iter().any(|o| o.is_upgrade() == Some(true)));
}

#[test]
fn the_vendor_validation_rules_are_enforced() {
    let sim = TestSim::start();
    create_many(&sim, TENANT_A, "v", 1);
    sim.settle();
    let client = sim.arcserve(TENANT_A);
    let id = sim.block_on(client.list_licenses(None)).unwrap()[0].id;

    let duplicate = sim.block_on(client.create_license(&new_license("v-0000", 1)));
    assert_eq!(duplicate.unwrap_err().status(), Some(400));

    let bulk = |ids: Vec<Uuid>, version: &str, email: Option<String>, company: Option<String>| {
        BulkUpgrade {
            license_ids: ids,
            version: version.into(),
            email_address: email,
            company_name: company,
        }
    };
    let ok_email = || Some("a@example.com".to_string());
    let ok_company = || Some("Example".to_string());
    let cases = [
        (
            "empty license_ids",
            bulk(vec![], "10.0", ok_email(), ok_company()),
        ),
        (
            "version without a decimal",
            bulk(vec![id], "10", ok_email(), ok_company()),
        ),
        (
            "version with two decimals",
            bulk(vec![id], "9.00", ok_email(), ok_company()),
        ),
        (
            "version zero",
            bulk(vec![id], "0.0", ok_email(), ok_company()),
        ),
        (
            "version above 99.9",
            bulk(vec![id], "100.0", ok_email(), ok_company()),
        ),
        (
            "email longer than 254",
            bulk(
                vec![id],
                "10.0",
                Some(format!("{}@example.com", "a".repeat(250))),
                ok_company(),
            ),
        ),
        (
            "empty company name",
            bulk(vec![id], "10.0", ok_email(), Some(String::new())),
        ),
        (
            "company name of 101",
            bulk(vec![id], "10.0", ok_email(), Some("c".repeat(101))),
        ),
    ];
    sim.advance_clock(86_400);
    for (what, body) in cases {
        let err = sim.block_on(client.bulk_upgrade(&body)).unwrap_err();
        assert_eq!(err.status(), Some(400), "{what}: {err}");
    }
    let unknown = bulk(vec![Uuid::new_v4()], "10.0", ok_email(), ok_company());
    let err = sim.block_on(client.bulk_upgrade(&unknown)).unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");

    // What the typed client never sends, sent raw.
    let session = sim.session(TENANT_A);
    let licenses = sim
        .target(TENANT_A)
        .url(&["v2", "arcserve-udp", TENANT_A, "licenses"])
        .unwrap();
    for (name, value) in [
        ("per_page", "0"),
        ("per_page", "101"),
        ("page", "0"),
        ("page", "x"),
    ] {
        let request = Request::new(Method::GET, licenses.clone()).query(name, value);
        let err = sim.block_on(session.send(request)).unwrap_err();
        assert_eq!(err.status(), Some(400), "{name}={value}: {err}");
    }
    let bad_id = sim
        .target(TENANT_A)
        .url(&["v2", "arcserve-udp", TENANT_A, "licenses", "not-a-uuid"])
        .unwrap();
    let err = sim
        .block_on(session.send(Request::new(Method::GET, bad_id)))
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    let bad_tenant = join_segments(
        &sim.target(TENANT_A).api_base,
        &["v2", "arcserve-udp", "not-a-tenant", "licenses"],
    )
    .unwrap();
    let err = sim
        .block_on(session.send(Request::new(Method::GET, bad_tenant)))
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
}

#[test]
fn reads_survive_thirty_percent_injected_500s_and_429s() {
    let sim = TestSim::start();
    create_many(&sim, TENANT_A, "f", 150);
    sim.set_faults(json!({ "error_rate": 0.15, "rate_429": 0.15, "retry_after_secs": 0 }));
    sim.reset_metrics();
    let client = sim.arcserve(TENANT_A);
    for _ in 0..20 {
        let licenses = sim.block_on(client.list_licenses(None)).unwrap();
        assert_eq!(licenses.len(), 150);
    }
    let pages = sim.calls(LIST);
    assert!(
        pages > 40,
        "faults should have forced retries beyond the 40 pages read: {pages}"
    );
}

#[test]
fn retry_after_is_honoured() {
    let sim = TestSim::start();
    let client = sim.arcserve(TENANT_A);
    sim.block_on(client.list_licenses(None)).unwrap();
    sim.set_faults(json!({ "rate_429": 1.0, "retry_after_secs": 1 }));
    let started = Instant::now();
    let listed = list_lifting_faults_after(&sim, &client, Duration::from_millis(300));
    assert!(listed.is_ok(), "{listed:?}");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the client waited {:?}, less than Retry-After",
        started.elapsed()
    );
}

#[test]
fn a_create_whose_answer_is_lost_is_ambiguous_and_not_repeated() {
    let sim = TestSim::start();
    let client = sim.arcserve(TENANT_A);
    sim.block_on(client.list_licenses(None)).unwrap();
    sim.set_faults(json!({ "drop_rate": 1.0 }));
    sim.reset_metrics();
    let err = sim
        .block_on(client.create_license(&new_license("lost-answer", 1)))
        .unwrap_err();
    assert!(err.is_ambiguous(), "{err}");
    assert!(err.to_string().contains("read the object back"), "{err}");
    assert_eq!(
        sim.calls("POST /v2/arcserve-udp/{tenant_id}/licenses"),
        1,
        "a create is never sent twice blindly"
    );
    sim.set_faults(json!({}));
    let live = sim.block_on(client.list_licenses(None)).unwrap();
    assert_eq!(live.len(), 1, "the server made the change before the drop");
    assert_eq!(live[0].name, "lost-answer");
}

#[test]
fn reads_survive_dropped_connections() {
    let sim = TestSim::start();
    create_many(&sim, TENANT_A, "d", 5);
    sim.set_faults(json!({ "drop_rate": 0.3 }));
    let client = sim.arcserve(TENANT_A);
    for _ in 0..10 {
        assert_eq!(sim.block_on(client.list_licenses(None)).unwrap().len(), 5);
    }
}

#[test]
fn an_expired_token_is_renewed_once_and_the_request_repeated() {
    let sim = TestSim::start();
    let client = sim.arcserve(TENANT_A);
    sim.block_on(client.list_licenses(None)).unwrap();
    // The server's clock moves past the token's expiry; the client's cache
    // still believes in it, gets a 401, renews and repeats.
    sim.advance_clock(2 * 3600);
    sim.reset_metrics();
    sim.block_on(client.list_licenses(None)).unwrap();
    assert_eq!(sim.calls(TOKENS), 1, "{:?}", sim.metrics());
    assert_eq!(sim.calls(LIST), 2, "{:?}", sim.metrics());
}

/// The Proposal API answers an expired token with 403, as its documents
/// say: the client renews on that too, once.
#[test]
fn an_expired_token_refused_with_403_by_the_proposal_api_is_renewed_once() {
    const PROPOSALS: &str = "GET /v1/proposal/list/{tenant_id}/{service_id}";
    let sim = TestSim::start();
    let client = sim.proposals(TENANT_A);
    sim.block_on(client.list(8, 2)).unwrap();
    sim.advance_clock(2 * 3600);
    sim.reset_metrics();
    sim.block_on(client.list(8, 2)).unwrap();
    assert_eq!(sim.calls(TOKENS), 1, "{:?}", sim.metrics());
    assert_eq!(sim.calls(PROPOSALS), 2, "{:?}", sim.metrics());
}

/// A token the Proposal API refuses even when fresh is reported once, with
/// what to check, and without the token.
#[test]
fn a_refused_token_on_the_proposal_api_says_what_to_check() {
    let sim = TestSim::start();
    let reply = sim.call(
        None,
        Method::GET,
        &format!("/v1/proposal/list/{TENANT_A}/8"),
        None,
    );
    assert_eq!(reply.status, reqwest::StatusCode::FORBIDDEN);
    let login = Login::Token(Secret::new("stale-token-value"));
    let client = entitle::api::proposal::ProposalClient::new(sim.session_as(TENANT_A, login));
    let err = sim.block_on(client.list(8, 2)).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("the Proposal API refused the token") && text.contains("OS_TOKEN"),
        "{text}"
    );
    assert!(!text.contains("stale-token-value"), "{text}");
}

#[test]
fn a_token_close_to_expiry_is_renewed_before_use() {
    let sim = TestSim::with_config(SimConfig {
        token_ttl: Duration::from_secs(240),
        ..SimConfig::default()
    });
    let client = sim.arcserve(TENANT_A);
    sim.block_on(client.list_licenses(None)).unwrap();
    sim.block_on(client.list_licenses(None)).unwrap();
    // Each token lives 4 minutes, under the 5-minute renewal margin.
    assert_eq!(sim.calls(TOKENS), 2, "{:?}", sim.metrics());
    assert_eq!(sim.calls(LIST), 2);
}

#[test]
fn a_refused_ready_token_says_how_to_fix_it() {
    let sim = TestSim::start();
    let login = Login::Token(Secret::new("stale-token-value"));
    let client = ArcserveClient::new(sim.session_as(TENANT_A, login));
    let err = sim.block_on(client.list_licenses(None)).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("OS_TOKEN"), "{text}");
    assert!(!text.contains("stale-token-value"), "{text}");
}

#[test]
fn tenant_ids_in_either_spelling_reach_the_same_tenant() {
    let sim = TestSim::start();
    create_many(&sim, TENANT_A, "s", 2);
    let hyphenated = "3F6C2A9E-81D0-4B7F-9A5E-2C1D0B8F7A61";
    assert_eq!(TenantId::parse(hyphenated).unwrap().as_str(), TENANT_A);
    let listed = sim
        .block_on(sim.arcserve(hyphenated).list_licenses(None))
        .unwrap();
    assert_eq!(listed.len(), 2);
}

#[test]
fn rate_limited_reads_are_retried_longer_than_failed_ones() {
    let sim = TestSim::start();
    let config = entitle::api::http::HttpConfig {
        max_retries: 1,
        max_rate_limited_retries: 40,
        ..fast_retries()
    };
    let http = entitle::api::http::HttpClient::new(config).unwrap();
    let client = ArcserveClient::new(EclSession::new(
        http.clone(),
        sim.keystone(&http),
        sim.target(TENANT_A),
    ));
    sim.block_on(client.list_licenses(None)).unwrap();
    // Faults are on before the read starts, and lifted 500 ms later: far
    // within the 429 budget (40 retries), far beyond the 500 one (1 retry).
    let with_faults = |faults: serde_json::Value| {
        sim.set_faults(faults);
        list_lifting_faults_after(&sim, &client, Duration::from_millis(500))
    };
    let listed = with_faults(json!({ "rate_429": 1.0, "retry_after_secs": 0 }));
    assert!(listed.is_ok(), "{listed:?}");
    let failed = with_faults(json!({ "error_rate": 1.0 }));
    assert_eq!(failed.unwrap_err().status(), Some(500));
}

/// RedAPI documents 204 for `GET /companies/{id}` that finds nothing: the
/// client reads it as no company, as it reads a 404.
#[test]
fn a_company_read_answered_204_is_no_company() {
    let sim = TestSim::start();
    let api = StubServer::start(reqwest::StatusCode::NO_CONTENT, None);
    let account = sim.redstor_account();
    let credentials = entitle::api::redstor_auth::RedstorCredentials::service_account(
        &api.url,
        &sim.redstor_token_url(),
        &account.client_id,
        account.private_key_pem().as_bytes(),
        std::path::Path::new("test key"),
    )
    .unwrap();
    let http = sim.http();
    let client = entitle::api::redstor::RedstorClient::new(
        http.clone(),
        std::sync::Arc::new(entitle::api::redstor_auth::RedstorAuth::new(
            http,
            credentials,
        )),
    );
    let company = sim.block_on(client.company(Uuid::from_u128(7))).unwrap();
    assert_eq!(company, None);
    assert_eq!(api.hits(), 1);
}
