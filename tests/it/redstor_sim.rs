//! The simulator's Redstor RedAPI v1 over real HTTP: the token endpoint
//! (assertions signed here with ring), tenancy, errors, paging, the company
//! tree, subscriptions and their removal, and the generated reports.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use entitle::sim::SimConfig;
use reqwest::{Method, StatusCode};
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rustls_pki_types::PrivatePkcs8KeyDer;
use rustls_pki_types::pem::PemObject;
use serde_json::{Value, json};

use crate::support::{Reply, TestSim};

/// A simulator whose queued subscription removals take two seconds by its
/// clock: long enough to be seen queued however slow the machine, short
/// enough for a few seconds' advance of the clock to finish them.
fn with_slow_removals() -> TestSim {
    TestSim::with_provisioning_delay(Duration::from_secs(2))
}

/// A JWS compact JWT over `claims` with header `alg`, signed RS256 with the
/// simulator's account key (whatever `alg` says).
fn sign_for(sim: &TestSim, claims: &Value, alg: &str) -> String {
    let header = B64.encode(json!({ "alg": alg, "typ": "JWT" }).to_string());
    let payload = B64.encode(claims.to_string());
    let input = format!("{header}.{payload}");
    let account = sim.redstor_account();
    let der = PrivatePkcs8KeyDer::from_pem_slice(account.private_key_pem().as_bytes()).unwrap();
    let pair = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).unwrap();
    let mut signature = vec![0; pair.public().modulus_len()];
    pair.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut signature,
    )
    .unwrap();
    format!("{input}.{}", B64.encode(signature))
}

/// Now by the wall clock, in Unix seconds: the simulator checks assertions
/// by it, whatever its simulated clock says.
fn wall_now(_sim: &TestSim) -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn token_url(sim: &TestSim) -> String {
    format!("{}/connect/token", sim.url)
}

/// Good claims for an assertion, by the simulated clock.
fn claims(sim: &TestSim) -> Value {
    let now = wall_now(sim);
    json!({
        "iss": "entitle-sim",
        "sub": "entitle-sim",
        "aud": token_url(sim),
        "jti": uuid::Uuid::new_v4().to_string(),
        "iat": now,
        "nbf": now,
        "exp": now + 300,
    })
}

fn form(fields: &[(&str, &str)]) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields {
        serializer.append_pair(name, value);
    }
    serializer.finish()
}

/// Posts a token request with `assertion` and `scope`.
fn request_token(sim: &TestSim, assertion: &str, scope: Option<&str>) -> (StatusCode, Value) {
    let mut fields = vec![
        ("grant_type", "client_credentials"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion),
        ("resource", "https://api.redstor.com/"),
    ];
    if let Some(scope) = scope {
        fields.push(("scope", scope));
    }
    post_form(sim, &form(&fields))
}

fn post_form(sim: &TestSim, body: &str) -> (StatusCode, Value) {
    let url = token_url(sim);
    let body = body.to_string();
    sim.block_on(async {
        let response = reqwest::Client::new()
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    })
}

/// A fresh read-write token.
fn token(sim: &TestSim) -> String {
    let (status, body) = request_token(sim, &sign_for(sim, &claims(sim), "RS256"), None);
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

/// A client with a token, for brevity.
struct Api<'a> {
    sim: &'a TestSim,
    token: String,
}

impl<'a> Api<'a> {
    fn new(sim: &'a TestSim) -> Self {
        Api {
            sim,
            token: token(sim),
        }
    }

    fn renew(&mut self) {
        self.token = token(self.sim);
    }

    fn get(&self, path: &str) -> Reply {
        self.sim.call(Some(&self.token), Method::GET, path, None)
    }

    fn send(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.sim.call(Some(&self.token), method, path, body)
    }

    fn root(&self) -> String {
        let reply = self.get("/companies");
        assert_eq!(reply.status, StatusCode::OK);
        reply.body["companyId"].as_str().unwrap().to_string()
    }

    #[track_caller]
    fn create(&self, parent: &str, name: &str, kind: &str) -> String {
        let reply = self.send(
            Method::POST,
            &format!("/companies/{parent}/customers"),
            Some(json!({ "companyName": name, "type": kind })),
        );
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        reply.body["companyId"].as_str().unwrap().to_string()
    }

    #[track_caller]
    fn subscribe(&self, company: &str, product: u32, edition: u32, trial: bool) -> Reply {
        let path = if trial {
            format!("/companies/{company}/subscriptions/trial")
        } else {
            format!("/companies/{company}/subscriptions")
        };
        self.send(
            Method::POST,
            &path,
            Some(json!({ "productId": product, "editionId": edition })),
        )
    }

    fn names(&self, path: &str) -> Vec<String> {
        let reply = self.get(path);
        assert_eq!(reply.status, StatusCode::OK, "{path}: {:?}", reply.body);
        reply.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["companyName"].as_str().unwrap().to_string())
            .collect()
    }
}

#[track_caller]
fn assert_oauth_error(reply: (StatusCode, Value), status: StatusCode, error: &str) {
    assert_eq!(reply.0, status, "{}", reply.1);
    assert_eq!(reply.1["error"], error, "{}", reply.1);
    assert!(reply.1["error_description"].is_string());
}

#[test]
fn a_token_is_issued_for_a_good_assertion_only() {
    let sim = TestSim::start();
    let (status, body) = request_token(&sim, &sign_for(&sim, &claims(&sim), "RS256"), None);
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "api.read api.write");
    assert!(body["access_token"].as_str().unwrap().len() >= 32);
    let debug = format!("{:?}", sim.redstor_account());
    assert!(
        debug.contains("entitle-sim") && !debug.contains("PRIVATE KEY"),
        "{debug}"
    );

    // The vendor's own token URL is accepted as the audience too.
    let mut vendor = claims(&sim);
    vendor["aud"] = json!("https://id.redstor.com/connect/token");
    let (status, _) = request_token(&sim, &sign_for(&sim, &vendor, "RS256"), Some("api.read"));
    assert_eq!(status, StatusCode::OK);

    // A bad signature: the payload changed after signing.
    let good = sign_for(&sim, &claims(&sim), "RS256");
    let parts: Vec<&str> = good.split('.').collect();
    let mut other = claims(&sim);
    other["jti"] = json!("tampered");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        B64.encode(other.to_string()),
        parts[2]
    );
    assert_oauth_error(
        request_token(&sim, &forged, None),
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );

    let mut wrong_aud = claims(&sim);
    wrong_aud["aud"] = json!("https://example.com/connect/token");
    assert_oauth_error(
        request_token(&sim, &sign_for(&sim, &wrong_aud, "RS256"), None),
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );

    let mut expired = claims(&sim);
    let now = wall_now(&sim);
    expired["iat"] = json!(now - 400);
    expired["nbf"] = json!(now - 400);
    expired["exp"] = json!(now - 100);
    assert_oauth_error(
        request_token(&sim, &sign_for(&sim, &expired, "RS256"), None),
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );

    let mut too_long = claims(&sim);
    too_long["exp"] = json!(now + 3600);
    assert_oauth_error(
        request_token(&sim, &sign_for(&sim, &too_long, "RS256"), None),
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );

    // alg none, with and without a signature.
    let none = format!(
        "{}.{}.",
        B64.encode(json!({ "alg": "none" }).to_string()),
        B64.encode(claims(&sim).to_string())
    );
    assert_oauth_error(
        request_token(&sim, &none, None),
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );
    assert_oauth_error(
        request_token(&sim, &sign_for(&sim, &claims(&sim), "none"), None),
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );

    let mut wrong_sub = claims(&sim);
    wrong_sub["sub"] = json!("someone-else");
    assert_oauth_error(
        request_token(&sim, &sign_for(&sim, &wrong_sub, "RS256"), None),
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );

    // A replayed jti.
    let once = sign_for(&sim, &claims(&sim), "RS256");
    assert_eq!(request_token(&sim, &once, None).0, StatusCode::OK);
    assert_oauth_error(
        request_token(&sim, &once, None),
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );

    assert_oauth_error(
        request_token(
            &sim,
            &sign_for(&sim, &claims(&sim), "RS256"),
            Some("api.read api.admin"),
        ),
        StatusCode::BAD_REQUEST,
        "invalid_scope",
    );
    let assertion = sign_for(&sim, &claims(&sim), "RS256");
    assert_oauth_error(
        post_form(
            &sim,
            &form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "someone-else"),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", &assertion),
            ]),
        ),
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );
    assert_oauth_error(
        post_form(&sim, &form(&[("grant_type", "password")])),
        StatusCode::BAD_REQUEST,
        "unsupported_grant_type",
    );
    assert_oauth_error(
        post_form(&sim, &form(&[("grant_type", "client_credentials")])),
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
}

#[test]
fn requests_need_a_live_token_with_the_scope_and_see_only_their_tree() {
    let sim = TestSim::start();
    let reply = sim.call(None, Method::GET, "/companies", None);
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
    assert_eq!(reply.body["status"], 401);
    assert_eq!(reply.body["instance"], "/companies");
    assert_eq!(reply.body["title"], "Unauthorized");
    assert!(reply.body["type"].is_string() && reply.body["detail"].is_string());

    let reply = sim.call(Some("not-a-token"), Method::GET, "/companies", None);
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

    let api = Api::new(&sim);
    let root = api.root();
    let company = api.get(&format!("/companies/{root}")).body;
    assert_eq!(company["companyName"], "Entitle Demo MSP");
    assert_eq!(company["type"], "Partner");
    assert_eq!(company["isEnabled"], true);
    assert!(company["parentCompanyId"].is_null());
    // Ids compare case-insensitively, hyphens ignored.
    let shouted = root.replace('-', "").to_uppercase();
    assert_eq!(api.get(&format!("/companies/{shouted}")).body, company);

    let stranger = uuid::Uuid::new_v4();
    for path in [
        format!("/companies/{stranger}"),
        format!("/companies/{stranger}/customers"),
        format!("/companies/{stranger}/subscriptions"),
        "/companies/not-a-company".to_string(),
    ] {
        let reply = api.get(&path);
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(reply.body["instance"], path.as_str());
    }

    // A read-only token cannot write.
    let (status, body) = request_token(
        &sim,
        &sign_for(&sim, &claims(&sim), "RS256"),
        Some("api.read"),
    );
    assert_eq!(status, StatusCode::OK);
    let read_only = body["access_token"].as_str().unwrap();
    let reply = sim.call(
        Some(read_only),
        Method::POST,
        &format!("/companies/{root}/customers"),
        Some(json!({ "companyName": "Nope", "type": "Customer" })),
    );
    // The documents list 401, not 403, for a token that may not do this.
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(
        reply.body["detail"]
            .as_str()
            .unwrap()
            .contains("lacks the scope api.write")
    );
    assert_eq!(
        sim.call(Some(read_only), Method::GET, "/products", None)
            .status,
        StatusCode::OK
    );

    // Tokens expire by the simulated clock.
    sim.advance_clock(3601);
    assert_eq!(api.get("/companies").status, StatusCode::UNAUTHORIZED);
}

#[test]
fn a_three_level_tree_is_listed_direct_and_transitive() {
    let sim = TestSim::start();
    let api = Api::new(&sim);
    let root = api.root();
    let partner = api.create(&root, "Northwind Partner", "Partner");
    let alpha = api.create(&partner, "Alpha Ltd", "Customer");
    let beta = api.create(&partner, "Beta Ltd", "Customer");
    let _gamma = api.create(&root, "Gamma Ltd", "Customer");

    let created = api.get(&format!("/companies/{alpha}")).body;
    assert_eq!(created["parentCompanyId"], partner.as_str());
    assert_eq!(created["type"], "Customer");

    assert_eq!(
        api.names(&format!("/companies/{root}/customers")),
        ["Northwind Partner", "Gamma Ltd"]
    );
    assert_eq!(
        api.names(&format!("/companies/{root}/customers/transitive")),
        ["Northwind Partner", "Alpha Ltd", "Beta Ltd", "Gamma Ltd"]
    );
    assert_eq!(
        api.names(&format!("/companies/{partner}/customers?orderBy=desc")),
        ["Beta Ltd", "Alpha Ltd"]
    );
    assert_eq!(
        api.names(&format!(
            "/companies/{root}/customers/transitive?search=LTD&orderBy=asc"
        )),
        ["Alpha Ltd", "Beta Ltd", "Gamma Ltd"]
    );
    assert_eq!(
        api.names("/companies/search?search=north"),
        ["Northwind Partner"]
    );
    assert_eq!(api.get("/companies/search").status, StatusCode::BAD_REQUEST);

    // Only partners have customers; names are unique among siblings.
    let reply = api.send(
        Method::POST,
        &format!("/companies/{alpha}/customers"),
        Some(json!({ "companyName": "Sub", "type": "Customer" })),
    );
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = api.send(
        Method::POST,
        &format!("/companies/{partner}/customers"),
        Some(json!({ "companyName": "alpha LTD", "type": "Customer" })),
    );
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    for bad in [
        json!({ "companyName": "  ", "type": "Customer" }),
        json!({ "companyName": "x".repeat(101), "type": "Customer" }),
        json!({ "companyName": "Fine", "type": "Reseller" }),
    ] {
        let reply = api.send(
            Method::POST,
            &format!("/companies/{root}/customers"),
            Some(bad),
        );
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    }

    // Disable and enable; the root cannot be disabled.
    let reply = api.send(Method::PATCH, &format!("/companies/{beta}/disable"), None);
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["isEnabled"], false);
    let reply = api.send(Method::PATCH, &format!("/companies/{beta}/enable"), None);
    assert_eq!(reply.body["isEnabled"], true);
    let reply = api.send(Method::PATCH, &format!("/companies/{root}/disable"), None);
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);

    // Users are generated per company.
    let users = api.get(&format!("/users/list?companyId={alpha}"));
    assert_eq!(users.status, StatusCode::OK);
    let first = &users.body["results"][0];
    assert_eq!(first["email"], "admin@alpha-ltd.example");
    assert_eq!(first["companyId"], alpha.as_str());
    assert_eq!(
        api.get(&format!("/users/list?companyId={alpha}")).body,
        users.body
    );
    assert_eq!(api.get("/users/list").status, StatusCode::BAD_REQUEST);

    // The products are the fixed catalog.
    let products = api.get("/products").body;
    let ids: Vec<u64> = products
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [4, 91, 105, 130, 140]);
    let o365 = api.get("/products/4").body;
    assert_eq!(o365["shortName"], "O365");
    assert_eq!(
        o365["editions"][1],
        json!({ "id": 42, "name": "Advanced", "hasTrial": true })
    );
    assert_eq!(api.get("/products/5").status, StatusCode::NOT_FOUND);
    let reply = api.send(Method::PUT, "/products", None);
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
    let reply = api.get(&format!("/companies/{root}/nothing-here"));
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(
        reply.body["instance"],
        format!("/companies/{root}/nothing-here")
    );

    // Metrics name the vendor's route templates.
    let metrics = sim.metrics();
    assert!(metrics.contains_key("GET /companies/{companyId}/customers/transitive"));
    assert!(metrics.contains_key("POST /companies/{companyId}/customers"));
}

#[test]
fn lists_page_by_token_and_answer_204_when_empty() {
    let sim = TestSim::start();
    let api = Api::new(&sim);
    let root = api.root();
    for n in 0..250 {
        api.create(&root, &format!("Customer {n:03}"), "Customer");
    }
    let mut path = format!("/companies/{root}/customers?maxResults=100");
    let mut pages = Vec::new();
    loop {
        let reply = api.get(&path);
        assert_eq!(reply.status, StatusCode::OK);
        pages.push(reply.body.clone());
        match reply.body["nextPageToken"].as_str() {
            Some(token) => {
                path = format!("/companies/{root}/customers?maxResults=100&pageToken={token}");
            }
            None => break,
        }
    }
    assert_eq!(pages.len(), 3);
    let sizes: Vec<usize> = pages
        .iter()
        .map(|p| p["results"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [100, 100, 50]);
    assert_eq!(pages[0]["totalCount"], 250);
    assert_eq!(pages[1]["totalCount"], -1);
    assert_eq!(pages[2]["totalCount"], -1);
    assert!(pages[2].get("nextPageToken").is_none());
    assert_eq!(pages[0]["results"][0]["companyName"], "Customer 000");
    assert_eq!(pages[2]["results"][49]["companyName"], "Customer 249");

    // The default page is 30.
    let first = api.get(&format!("/companies/{root}/customers"));
    assert_eq!(first.body["results"].as_array().unwrap().len(), 30);

    for bad in [
        "maxResults=0",
        "maxResults=101",
        "maxResults=ten",
        "pageToken=%21%21",
    ] {
        let reply = api.get(&format!("/companies/{root}/customers?{bad}"));
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json")
        );
    }

    let leaf = api.create(&root, "Leaf", "Customer");
    let reply = api.get(&format!("/companies/{leaf}/customers"));
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(reply.body, Value::Null);
    let reply = api.get(&format!("/companies/{leaf}/subscriptions"));
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
}

#[test]
fn deleting_waits_for_customers_and_subscriptions_and_reassigning_refuses_cycles() {
    let sim = TestSim::start();
    let api = Api::new(&sim);
    let root = api.root();
    let partner = api.create(&root, "Partner A", "Partner");
    let other = api.create(&root, "Partner B", "Partner");
    let sub_partner = api.create(&partner, "Partner A1", "Partner");
    let customer = api.create(&sub_partner, "Customer X", "Customer");

    let delete = |id: &str| api.send(Method::DELETE, &format!("/companies/{id}"), None);
    assert_eq!(delete(&root).status, StatusCode::BAD_REQUEST);
    let reply = delete(&sub_partner);
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body["detail"].as_str().unwrap().contains("customer"));

    // Reassign: a cycle is refused, a move is made.
    let reassign = |to: &str, id: &str| {
        api.send(
            Method::PATCH,
            &format!("/companies/{to}/customers/{id}/reassign"),
            None,
        )
    };
    assert_eq!(
        reassign(&sub_partner, &partner).status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(reassign(&partner, &partner).status, StatusCode::BAD_REQUEST);
    assert_eq!(reassign(&customer, &other).status, StatusCode::BAD_REQUEST);
    assert_eq!(reassign(&other, &root).status, StatusCode::BAD_REQUEST);
    let moved = reassign(&other, &customer);
    assert_eq!(moved.status, StatusCode::OK);
    assert_eq!(moved.body["parentCompanyId"], other.as_str());
    assert_eq!(
        api.names(&format!("/companies/{other}/customers")),
        ["Customer X"]
    );
    // A name clash under the new parent.
    api.create(&partner, "Customer X", "Customer");
    assert_eq!(
        reassign(&partner, &customer).status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    assert_eq!(delete(&sub_partner).status, StatusCode::OK);
    assert_eq!(
        api.get(&format!("/companies/{sub_partner}")).status,
        StatusCode::NOT_FOUND
    );

    // A subscription blocks a delete until it is removed.
    let subscription = api.subscribe(&customer, 4, 41, false);
    assert_eq!(subscription.status, StatusCode::OK);
    let id = subscription.body["subscriptionId"].as_str().unwrap();
    let reply = delete(&customer);
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.body["detail"]
            .as_str()
            .unwrap()
            .contains("subscription")
    );
    let removed = api.send(
        Method::DELETE,
        &format!("/companies/{customer}/subscriptions/{id}"),
        None,
    );
    assert_eq!(removed.status, StatusCode::OK);
    assert_eq!(delete(&customer).status, StatusCode::OK);
}

#[test]
fn subscriptions_trials_conversion_and_queued_removal() {
    let sim = with_slow_removals();
    let mut api = Api::new(&sim);
    let root = api.root();
    let company = api.create(&root, "Contoso", "Customer");
    let path = format!("/companies/{company}/subscriptions");

    let paid = api.subscribe(&company, 4, 41, false);
    assert_eq!(paid.status, StatusCode::OK);
    assert_eq!(paid.body["trialStatus"], "NotUsed");
    assert_eq!(paid.body["isActive"], true);
    let paid_id = paid.body["subscriptionId"].as_str().unwrap().to_string();
    assert_eq!(paid_id, paid_id.to_lowercase());
    assert_eq!(
        api.subscribe(&company, 4, 42, false).status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        api.subscribe(&company, 4, 911, false).status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        api.subscribe(&company, 7, 1, false).status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        api.subscribe(&company, 105, 1051, true).status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let trial = api.subscribe(&company, 91, 911, true);
    assert_eq!(trial.status, StatusCode::OK);
    assert_eq!(trial.body["trialStatus"], "Active");
    let trial_id = trial.body["subscriptionId"].as_str().unwrap().to_string();
    let convert =
        |api: &Api, id: &str| api.send(Method::PATCH, &format!("{path}/{id}/trial/convert"), None);
    let converted = convert(&api, &trial_id);
    assert_eq!(converted.status, StatusCode::OK);
    assert_eq!(converted.body["trialStatus"], "Converted");
    assert_eq!(
        convert(&api, &trial_id).status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        convert(&api, &paid_id).status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // A subscription with no protected data yet goes at once.
    let remove = |api: &Api, id: &str| api.send(Method::DELETE, &format!("{path}/{id}"), None);
    assert_eq!(remove(&api, &paid_id).status, StatusCode::OK);
    let listed = api.get(&path).body;
    assert_eq!(listed.as_array().unwrap().len(), 1);

    // After its first backup, a removal is queued.
    let machines = api.subscribe(&company, 130, 1301, false);
    let machines_id = machines.body["subscriptionId"]
        .as_str()
        .unwrap()
        .to_string();
    let workstation_trial = api.subscribe(&company, 4, 42, true);
    let trial_id = workstation_trial.body["subscriptionId"]
        .as_str()
        .unwrap()
        .to_string();
    sim.advance_clock(2 * 3600);
    api.renew();
    assert_eq!(remove(&api, &machines_id).status, StatusCode::ACCEPTED);
    let listed = api.get(&path).body;
    let queued = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["subscriptionId"] == machines_id.as_str())
        .unwrap();
    assert_eq!(queued["isActive"], false);
    // The product can be taken again while the old one is being removed.
    let again = api.subscribe(&company, 130, 1302, true);
    assert_eq!(again.status, StatusCode::OK);
    let again_id = again.body["subscriptionId"].as_str().unwrap().to_string();
    // A trial goes at once, whatever its age.
    assert_eq!(remove(&api, &trial_id).status, StatusCode::OK);

    sim.advance_clock(5);
    let listed = api.get(&path).body;
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["subscriptionId"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&machines_id.as_str()), "{listed}");

    // Trials expire after 30 days.
    sim.advance_clock(31 * 86_400);
    api.renew();
    let listed = api.get(&path).body;
    let expired = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["subscriptionId"] == again_id.as_str())
        .unwrap();
    assert_eq!(expired["trialStatus"], "Expired");
    assert_eq!(expired["isActive"], false);
    assert_eq!(
        convert(&api, &again_id).status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[test]
fn a_queued_removal_blocks_the_company_delete_until_it_is_done() {
    let sim = with_slow_removals();
    let mut api = Api::new(&sim);
    let root = api.root();
    let company = api.create(&root, "Fabrikam", "Customer");
    let created = api.subscribe(&company, 140, 1401, false);
    let id = created.body["subscriptionId"].as_str().unwrap().to_string();
    sim.advance_clock(3 * 3600);
    api.renew();
    let reply = api.send(
        Method::DELETE,
        &format!("/companies/{company}/subscriptions/{id}"),
        None,
    );
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    let reply = api.send(Method::DELETE, &format!("/companies/{company}"), None);
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.body["detail"]
            .as_str()
            .unwrap()
            .contains("being removed")
    );
    sim.advance_clock(5);
    let reply = api.send(Method::DELETE, &format!("/companies/{company}"), None);
    assert_eq!(reply.status, StatusCode::OK);
}

#[test]
fn consumption_and_job_statuses_are_generated_deterministically() {
    let sim = TestSim::start();
    let mut api = Api::new(&sim);
    let root = api.root();
    let partner = api.create(&root, "Reseller", "Partner");
    let customers: Vec<String> = (0..4)
        .map(|n| api.create(&partner, &format!("Client {n}"), "Customer"))
        .collect();
    assert_eq!(
        api.subscribe(&root, 130, 1301, false).status,
        StatusCode::OK
    );
    for (n, customer) in customers.iter().enumerate() {
        assert_eq!(api.subscribe(customer, 4, 41, false).status, StatusCode::OK);
        if n % 2 == 0 {
            assert_eq!(
                api.subscribe(customer, 91, 911, true).status,
                StatusCode::OK
            );
        }
    }
    sim.advance_clock(2 * 3600);
    api.renew();

    let twice = |api: &Api, path: &str| {
        let first = api.get(path);
        let second = api.get(path);
        assert_eq!(first.status, StatusCode::OK, "{path}: {:?}", first.body);
        assert_eq!(first.body, second.body, "{path}");
        first.body
    };

    let summary = twice(&api, &format!("/companies/{root}/consumption/summary"));
    assert!(summary["companySummary"]["activeSeats"].as_u64().unwrap() > 0);
    assert!(
        summary["customerSummary"]["totalDataProtectedInBytes"]
            .as_u64()
            .unwrap()
            > 0
    );
    let company = twice(&api, &format!("/companies/{root}/consumption/company"));
    assert_eq!(company[0]["sku"], "RS-MACHINES-SRV");
    assert_eq!(company[0]["isTrial"], false);
    let direct = twice(
        &api,
        &format!("/companies/{root}/consumption/customers/direct"),
    );
    assert_eq!(direct["results"][0]["companyName"], "Reseller");
    assert_eq!(
        direct["results"][0]["productConsumption"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let transitive = twice(
        &api,
        &format!("/companies/{root}/consumption/customers/transitive"),
    );
    assert_eq!(transitive["totalCount"], 6);
    let without_trials = twice(
        &api,
        &format!("/companies/{root}/consumption/customers/transitive?shouldExcludeTrials=true"),
    );
    assert_eq!(without_trials["totalCount"], 4);
    // Before anything existed there is nothing.
    let past = api.get(&format!(
        "/companies/{root}/consumption/summary?date=2020-01-01T00:00:00Z"
    ));
    assert_eq!(past.status, StatusCode::NO_CONTENT);
    assert_eq!(
        api.get(&format!(
            "/companies/{root}/consumption/summary?date=yesterday"
        ))
        .status,
        StatusCode::BAD_REQUEST
    );

    for area in ["backups", "restores"] {
        let base = format!("/companies/{root}/{area}/status");
        let summary = twice(&api, &format!("{base}/summary"));
        let customer_statuses = summary["customerSummary"].as_array().unwrap();
        assert!(!customer_statuses.is_empty(), "{summary}");
        let own = twice(&api, &base);
        assert_eq!(own["statuses"][0]["productName"], "Machines");
        let per_customer = twice(&api, &format!("{base}/customers?aggregate=true"));
        assert_eq!(per_customer["results"][0]["companyName"], "Reseller");
        let flat = twice(&api, &format!("{base}/customers"));
        assert_eq!(flat["results"][0]["statuses"], json!([]));
        let filtered = api.get(&format!(
            "/companies/{}/{area}/status?productId=105",
            customers[0]
        ));
        assert_eq!(filtered.status, StatusCode::NO_CONTENT);
    }
    let accounts = twice(
        &api,
        &format!(
            "/companies/{}/backups/status/accounts?maxResults=100",
            customers[0]
        ),
    );
    let results = accounts["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for account in results {
        let id = account["accountId"].as_str().unwrap();
        assert_eq!(id, id.to_uppercase());
        assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 4);
        assert!((1..=4).contains(&account["status"].as_u64().unwrap()));
        let set_key = if account["productId"] == 91 {
            "groupId"
        } else {
            "BackupSetGuid"
        };
        assert!(account[set_key].is_string(), "{account}");
        assert!(account["timestamp"].as_str().unwrap().ends_with("+00:00"));
    }

    // The numbers move with the day.
    let before = twice(&api, &format!("/companies/{root}/backups/status/summary"));
    sim.advance_clock(86_400);
    api.renew();
    let after = twice(&api, &format!("/companies/{root}/backups/status/summary"));
    assert_ne!(before, after);
}

#[test]
fn injected_faults_are_problem_details_and_reset_keeps_the_root() {
    let sim = TestSim::start();
    let api = Api::new(&sim);
    let root = api.root();
    api.create(&root, "Short Lived", "Customer");
    sim.set_faults(json!({
        "rate_429": 1.0,
        "retry_after_secs": 7,
        "only": "GET /companies/{companyId}/subscriptions",
    }));
    let reply = api.get(&format!("/companies/{root}/subscriptions"));
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.header("retry-after"), Some("7"));
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
    sim.set_faults(json!({ "error_rate": 1.0, "only": "GET /companies" }));
    let reply = api.get("/companies");
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.body["status"], 500);
    assert_eq!(reply.body["instance"], "/companies");

    let dump = sim.control(Method::GET, "dump", None);
    assert_eq!(dump["redstor"]["companies"].as_array().unwrap().len(), 2);
    assert!(!dump.to_string().contains(&api.token));

    sim.control(Method::POST, "reset", None);
    let api = Api::new(&sim);
    assert_eq!(api.root(), root);
    assert_eq!(
        api.get(&format!("/companies/{root}/customers")).status,
        StatusCode::NO_CONTENT
    );
}

#[test]
fn the_key_is_kept_beside_the_data_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("sim.json");
    let key_file = entitle::sim::redstor::key_path(&data);
    let first = TestSim::with_config(SimConfig {
        data: Some(data.clone()),
        ..SimConfig::default()
    });
    let root = Api::new(&first).root();
    drop(first);
    let pem = std::fs::read_to_string(&key_file).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    #[cfg(unix)]
    crate::support::assert_owner_only(&key_file);
    let second = TestSim::with_config(SimConfig {
        data: Some(data),
        ..SimConfig::default()
    });
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), pem);
    // The same root company, and the same key signs for it.
    let api = Api::new(&second);
    assert_eq!(api.root(), root);
}

#[test]
fn a_key_file_that_is_not_a_key_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("sim.json");
    let key_file = entitle::sim::redstor::key_path(&data);
    std::fs::write(&key_file, "not a key").unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = runtime.block_on(entitle::sim::Simulator::start(
        ([127, 0, 0, 1], 0).into(),
        SimConfig {
            data: Some(data),
            ..SimConfig::default()
        },
    ));
    let Err(err) = started else {
        panic!("the simulator started with a broken key file");
    };
    let message = err.to_string();
    assert!(message.contains("sim.json.redstor-key.pem"), "{message}");
    assert!(message.contains("hint:"), "{message}");
}
