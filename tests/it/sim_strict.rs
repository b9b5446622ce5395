//! The simulator is as strict as the vendor documents, over real HTTP:
//! what they require is required, what they leave optional is optional,
//! fields documented for one service stay empty for the others, numbers
//! stay in their documented type, and names and free text hold no control
//! characters. Each refusal is 400 with a message naming what is wrong;
//! entitle's own clients are checked to send what is accepted.

use entitle::api::proposal_xml::HulftModels;
use entitle::api::redstor_auth::{RedstorAuth, RedstorCredentials};
use entitle::resources::proposal_catalog::{HulftChoice, Language, find_hulft};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

/// A client that sends requests as they are, with an ECL token.
struct Ecl<'a> {
    sim: &'a TestSim,
    token: String,
}

impl<'a> Ecl<'a> {
    fn new(sim: &'a TestSim, tenant: &str) -> Self {
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "domain": {"id": "default"}, "name": "demo", "password": "demo-secret"}}},
            "scope": {"project": {"id": tenant}}}});
        let reply = sim.call(None, Method::POST, "/v3/auth/tokens", Some(body));
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        let token = reply.header("x-subject-token").unwrap().to_string();
        Ecl { sim, token }
    }

    /// `body` sent as it is, with `content_type` when given.
    fn raw(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let url = format!("{}{path}", self.sim.url);
        self.sim.block_on(async {
            let mut request = reqwest::Client::new()
                .request(method, &url)
                .header("x-auth-token", &self.token)
                .body(body);
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            for (name, value) in headers {
                request = request.header(*name, *value);
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

    fn json(&self, method: Method, path: &str, body: &Value) -> Reply {
        let bytes = serde_json::to_vec(body).unwrap();
        self.raw(method, path, Some("application/json"), bytes, &[])
    }

    fn get(&self, path: &str, language: &str) -> Reply {
        self.raw(
            Method::GET,
            path,
            None,
            Vec::new(),
            &[("language", language)],
        )
    }
}

#[track_caller]
fn assert_refused(reply: &Reply, needle: &str) {
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    let message = reply.body["error"]["message"]
        .as_str()
        .or_else(|| reply.body["detail"].as_str())
        .unwrap_or_else(|| panic!("no message in {}", reply.text));
    assert!(message.contains(needle), "`{needle}` not in: {message}");
}

// ---------------------------------------------------------------------------
// Proposal API

const UPDATE: &str = "/v1/proposal/update/";

fn fastdns_xml(order_id: Option<&str>, email: &str, number: u32) -> String {
    let order = order_id
        .map(|id| format!("<OrderId>{id}</OrderId>"))
        .unwrap_or_default();
    format!(
        "<?xml version=\"1.0\"?>\r\n<GenericModels>{order}\
         <CustomerEMailAddress>{email}</CustomerEMailAddress><Language>en</Language>\
         <Models><GenericModel><Uuid>6f1d2c3b-4a59-4e68-8d7c-1b2a3c4d5e6f</Uuid><Id>801</Id>\
         <RowNumber>1</RowNumber><Number>{number}</Number><Status>1</Status></GenericModel></Models>\
         </GenericModels>"
    )
}

fn submission(order_id: Option<&str>, xml: &str) -> Value {
    let mut body = json!({
        "Language": 2,
        "ServiceId": 8,
        "CustomerEMailAddress": "ops@example.co.jp",
        "ProposalXml": xml,
    });
    if let Some(id) = order_id {
        body["OrderId"] = json!(id);
    }
    body
}

fn create_fastdns(ecl: &Ecl<'_>) -> String {
    let xml = fastdns_xml(None, "ops@example.co.jp", 1);
    let reply = ecl.json(
        Method::POST,
        &format!("{UPDATE}{TENANT_A}"),
        &submission(None, &xml),
    );
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body["OrderId"].as_str().unwrap().to_string()
}

#[test]
fn a_generic_update_must_carry_its_order_id_in_the_document() {
    let sim = TestSim::start();
    let ecl = Ecl::new(&sim, TENANT_A);
    let order = create_fastdns(&ecl);
    let path = format!("{UPDATE}{TENANT_A}");

    let without = fastdns_xml(None, "ops@example.co.jp", 2);
    let reply = ecl.json(Method::POST, &path, &submission(Some(&order), &without));
    assert_refused(&reply, "<OrderId> is required when updating");
    assert_refused(&reply, &order);

    let other = fastdns_xml(Some("another-order"), "ops@example.co.jp", 2);
    let reply = ecl.json(Method::POST, &path, &submission(Some(&order), &other));
    assert_refused(&reply, "`another-order` is not the `OrderId`");

    let with = fastdns_xml(Some(&order), "ops@example.co.jp", 2);
    let reply = ecl.json(Method::POST, &path, &submission(Some(&order), &with));
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["OrderId"], order.as_str());
    let detail = ecl.get(&format!("/v1/proposal/detail/{TENANT_A}/8/{order}"), "2");
    let xml = detail.body["Proposals"]["ProposalXml"].as_str().unwrap();
    assert!(xml.contains("<Number>2</Number>"), "{xml}");
}

#[test]
fn entitles_own_proposal_updates_carry_the_order_id() {
    let sim = TestSim::start();
    let project = Project::with_tenant(&sim);
    let row = |number: u32| format!("    - plan: 1zone Plan\n      number: {number}\n");
    project.write(
        "dns.yaml",
        &proposal_yaml("dns", "FastDNS", "en", "", &row(1)),
    );
    project.apply().expect(0);
    project.write(
        "dns.yaml",
        &proposal_yaml("dns", "FastDNS", "en", "", &row(3)),
    );
    let run = project.apply().expect(0);
    assert!(run.stdout.contains("replaced order"), "{}", run.stdout);
    let listed = sim.block_on(sim.proposals(TENANT_A).list(8, 2)).unwrap();
    assert_eq!(listed.len(), 1);
    assert!(
        listed[0].proposal_xml.contains("<Number>3</Number>"),
        "{}",
        listed[0].proposal_xml
    );
}

const HULFT_JA: (&str, &str, &str, &str, &str) = (
    "ja",
    "なし",
    "あり",
    "なし",
    "HULFT8 for Windows-Server AES暗号オプション付",
);
const HULFT_EN: (&str, &str, &str, &str, &str) = (
    "en",
    "None",
    "Yes",
    "None",
    "HULFT8 for Windows-Server with AES Cipher Option",
);

fn hulft_xml(
    (language, cluster, aes, script, name): (&str, &str, &str, &str, &str),
    parent_serial: &str,
) -> String {
    format!(
        "<?xml version=\"1.0\"?>\r\n<HulftModels>\
         <CustomerEMailAddress>ops@example.co.jp</CustomerEMailAddress><Language>{language}</Language>\
         <Models><HulftModel><Uuid>0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d</Uuid><Dc>jp1</Dc>\
         <Product>HULFT8 for Windows-Server</Product><Cluster>{cluster}</Cluster><Aes>{aes}</Aes>\
         <Script>{script}</Script><Name>{name}</Name><RowNumber>1</RowNumber>\
         <ParentSerial>{parent_serial}</ParentSerial><Number>1</Number><Status>1</Status>\
         </HulftModel></Models></HulftModels>"
    )
}

fn submit_hulft(ecl: &Ecl<'_>, language_id: u32, xml: &str) -> Reply {
    let body = json!({
        "Language": language_id,
        "ServiceId": 1,
        "CustomerEMailAddress": "ops@example.co.jp",
        "ProposalXml": xml,
    });
    ecl.json(Method::POST, &format!("{UPDATE}{TENANT_A}"), &body)
}

/// Every cell of every row of `doc` is the catalog's spelling in the
/// document's own `<Language>`.
#[track_caller]
fn assert_one_language(doc: &HulftModels) {
    let language = Language::from_code(&doc.language).unwrap();
    assert!(!doc.models.is_empty());
    for model in &doc.models {
        let line = find_hulft(&HulftChoice {
            product: model.product.clone(),
            license_pack: model.license_pack.clone(),
            cluster: model.cluster.clone(),
            aes: model.aes.clone(),
            script: model.script.clone(),
            name: Some(model.name.clone()),
        })
        .unwrap_or_else(|miss| panic!("{}", miss.message));
        let spelt = |text: Option<entitle::resources::proposal_catalog::Text>| {
            text.map(|t| t.get(language).to_string())
        };
        assert_eq!(model.product, line.product.get(language));
        assert_eq!(model.name, line.name.get(language));
        assert_eq!(model.cluster, spelt(line.cluster));
        assert_eq!(model.aes, spelt(line.aes));
        assert_eq!(model.script, spelt(line.script));
        assert_eq!(model.license_pack, spelt(line.license_pack));
    }
}

#[test]
fn hulft_read_back_is_in_the_proposals_own_language_whatever_the_header() {
    let sim = TestSim::start();
    let ecl = Ecl::new(&sim, TENANT_A);
    for (language_id, cells) in [(1, HULFT_JA), (2, HULFT_EN)] {
        let reply = submit_hulft(&ecl, language_id, &hulft_xml(cells, ""));
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        let order = reply.body["OrderId"].as_str().unwrap();
        for header in ["1", "2"] {
            let detail = ecl.get(&format!("/v1/proposal/detail/{TENANT_A}/1/{order}"), header);
            assert_eq!(detail.status, StatusCode::OK, "{}", detail.text);
            let xml = detail.body["Proposals"]["ProposalXml"].as_str().unwrap();
            let doc = HulftModels::from_xml(xml).unwrap();
            assert_eq!(doc.language, cells.0, "{xml}");
            assert_one_language(&doc);
            assert_eq!(doc.models[0].name, cells.4, "Language: {header}\n{xml}");
        }
    }
}

#[test]
fn charge_dates_are_null_outside_sap_hana() {
    let sim = TestSim::start();
    let ecl = Ecl::new(&sim, TENANT_A);
    let fastdns = create_fastdns(&ecl);
    let license = sim
        .block_on(
            sim.arcserve(TENANT_A)
                .create_license(&new_license("web", 1)),
        )
        .unwrap();
    let dates = [
        "ChargeStartDate",
        "ChargeEndDate",
        "ChargeExpectedDate",
        "DeleteDate",
    ];
    for (service, order) in [(8, fastdns), (6, license.order_id.to_string())] {
        let detail = ecl.get(
            &format!("/v1/proposal/detail/{TENANT_A}/{service}/{order}"),
            "2",
        );
        assert_eq!(detail.status, StatusCode::OK, "{}", detail.text);
        let listed = ecl.get(&format!("/v1/proposal/list/{TENANT_A}/{service}"), "2");
        let records = [&detail.body["Proposals"], &listed.body["Proposalses"][0]];
        for record in records {
            for date in dates {
                assert_eq!(
                    record[date],
                    Value::Null,
                    "service {service} {date}: {record}"
                );
            }
            assert!(record["ProposalDate"].is_string(), "{record}");
        }
    }
    // The Arcserve document's own charge start, which its XML format lists,
    // is still there.
    let detail = ecl.get(
        &format!("/v1/proposal/detail/{TENANT_A}/6/{}", license.order_id),
        "2",
    );
    let xml = detail.body["Proposals"]["ProposalXml"].as_str().unwrap();
    assert!(xml.contains("<ChargeStartDate>"), "{xml}");
}

#[test]
fn control_characters_in_proposal_text_are_refused() {
    let sim = TestSim::start();
    let ecl = Ecl::new(&sim, TENANT_A);
    let path = format!("{UPDATE}{TENANT_A}");
    let good = fastdns_xml(None, "ops@example.co.jp", 1);

    let mut body = submission(None, &good);
    body["CustomerEMailAddress"] = json!("ops\u{0}@example.co.jp");
    assert_refused(
        &ecl.json(Method::POST, &path, &body),
        "`CustomerEMailAddress` contains the control character U+0000",
    );

    let order = create_fastdns(&ecl);
    let with_newline = format!("{order}\n");
    let body = submission(
        Some(&with_newline),
        &fastdns_xml(Some(&order), "ops@example.co.jp", 1),
    );
    assert_refused(
        &ecl.json(Method::POST, &path, &body),
        "`OrderId` contains the control character U+000A",
    );

    let xml = fastdns_xml(None, "ops&#27;x@example.co.jp", 1);
    assert_refused(
        &ecl.json(Method::POST, &path, &submission(None, &xml)),
        "<CustomerEMailAddress> contains the control character U+001B",
    );

    let reply = submit_hulft(&ecl, 2, &hulft_xml(HULFT_EN, "SN-1&#10;SN-2"));
    assert_refused(
        &reply,
        "<ParentSerial> of model 1 contains the control character U+000A",
    );
    let reply = submit_hulft(&ecl, 2, &hulft_xml(HULFT_EN, "SN-1 | \u{202e}2-NS"));
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

// ---------------------------------------------------------------------------
// Arcserve UDP API

fn licenses_path() -> String {
    format!("/v2/arcserve-udp/{TENANT_A}/licenses")
}

fn create_body(name: &str, keys: Value) -> Value {
    json!({"license": {"name": name, "plan_id": PLAN_ADVANCED_9, "number_of_standalone_keys": keys}})
}

#[test]
fn issue_key_takes_no_body_and_then_issues_a_standalone_key() {
    let sim = TestSim::start();
    let ecl = Ecl::new(&sim, TENANT_A);
    let license = sim
        .block_on(
            sim.arcserve(TENANT_A)
                .create_license(&new_license("keys", 0)),
        )
        .unwrap();
    sim.settle();
    let path = format!("{}/{}/issue-key", licenses_path(), license.id);

    let bodies: [(Option<&str>, &[u8]); 4] = [
        (None, b""),
        (Some("application/json"), b""),
        (Some("application/json"), b"{}"),
        (Some("application/json"), b"{\"license\": {}}"),
    ];
    for (at, (content_type, body)) in bodies.iter().enumerate() {
        let reply = ecl.raw(Method::POST, &path, *content_type, body.to_vec(), &[]);
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "{body:?}: {}",
            reply.text
        );
        let keys = reply.body["license"]["keys"].as_array().unwrap();
        assert_eq!(keys.len(), at + 1, "{body:?}");
        assert_eq!(keys[at]["key_type_id"], KEY_STANDALONE, "{body:?}");
        assert_eq!(keys[at]["name"], "UDP Standalone Key");
    }

    let named = json!({"license": {"key_type_id": "a1b2c3d4-0002-4000-8000-000000000002"}});
    let reply = ecl.json(Method::POST, &path, &named);
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(
        reply.body["license"]["keys"][4]["name"],
        "Backup Socket Key"
    );

    let reply = ecl.json(Method::POST, &path, &json!({"license": "standalone"}));
    assert_refused(&reply, "`license` must be an object");
    let reply = ecl.json(Method::POST, &path, &json!({"license": {"key_type_id": 7}}));
    assert_refused(&reply, "`key_type_id` must be a UUID");

    // entitle's client always names the type.
    let issued = sim
        .block_on(
            sim.arcserve(TENANT_A)
                .issue_key(license.id, KEY_STANDALONE.parse().unwrap()),
        )
        .unwrap();
    assert_eq!(issued.keys.len(), 6);
}

#[test]
fn standalone_key_counts_stay_within_int32() {
    let sim = TestSim::start();
    let ecl = Ecl::new(&sim, TENANT_A);
    let refused = [
        json!(u64::MAX),
        json!(2_147_483_648_u64),
        json!(-1),
        json!(1.5),
    ];
    for (at, keys) in refused.iter().enumerate() {
        let reply = ecl.json(
            Method::POST,
            &licenses_path(),
            &create_body(&format!("big-{at}"), keys.clone()),
        );
        assert_refused(&reply, "from 0 to 2147483647");
        assert_refused(&reply, &keys.to_string());
    }
    let reply = ecl.json(
        Method::POST,
        &licenses_path(),
        &create_body("max", json!(2_147_483_647)),
    );
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text);
    assert_eq!(
        reply.body["license"]["number_of_standalone_keys"],
        2_147_483_647
    );

    sim.settle();
    let id = reply.body["license"]["id"].as_str().unwrap();
    let path = format!("{}/{id}", licenses_path());
    let patch = json!({"license": {"number_of_standalone_keys": u64::MAX}});
    assert_refused(
        &ecl.json(Method::PATCH, &path, &patch),
        "from 0 to 2147483647",
    );
    let patch = json!({"license": {"number_of_standalone_keys": 0}});
    assert_eq!(
        ecl.json(Method::PATCH, &path, &patch).status,
        StatusCode::OK
    );
}

/// The control characters refused in names: all of Unicode's `Cc`.
const CONTROLS: [(char, &str); 8] = [
    ('\u{0}', "U+0000"),
    ('\n', "U+000A"),
    ('\r', "U+000D"),
    ('\t', "U+0009"),
    ('\u{1b}', "U+001B"),
    ('\u{1f}', "U+001F"),
    ('\u{7f}', "U+007F"),
    ('\u{9b}', "U+009B"),
];

/// Names that are odd but printable, which stay accepted.
const ODD_BUT_PRINTABLE: [&str; 3] = ["pipe | name", "bidi \u{202e}eman", "quote \"<&>\""];

#[test]
fn control_characters_in_license_names_are_refused() {
    let sim = TestSim::start();
    let ecl = Ecl::new(&sim, TENANT_A);
    for (c, code) in CONTROLS {
        let reply = ecl.json(
            Method::POST,
            &licenses_path(),
            &create_body(&format!("web{c}1"), json!(1)),
        );
        assert_refused(
            &reply,
            &format!("`name` contains the control character {code}"),
        );
    }
    for name in ODD_BUT_PRINTABLE {
        let reply = ecl.json(Method::POST, &licenses_path(), &create_body(name, json!(1)));
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{name}: {}", reply.text);
        assert_eq!(reply.body["license"]["name"], name);
    }
    sim.settle();
    let id = sim
        .block_on(sim.arcserve(TENANT_A).list_licenses(None))
        .unwrap()[0]
        .id;
    let patch = json!({"license": {"name": "renamed\nline"}});
    let reply = ecl.json(Method::PATCH, &format!("{}/{id}", licenses_path()), &patch);
    assert_refused(&reply, "U+000A");
}

// ---------------------------------------------------------------------------
// Keystone

#[test]
fn keystone_takes_only_json_and_entitle_sends_json() {
    let sim = TestSim::start();
    let body = serde_json::to_vec(&json!({"auth": {"identity": {"methods": ["password"],
        "password": {"user": {"domain": {"id": "default"}, "name": "demo",
        "password": "demo-secret"}}}, "scope": {"project": {"id": TENANT_A}}}}))
    .unwrap();
    let post = |content_type: Option<&str>| {
        let url = format!("{}/v3/auth/tokens", sim.url);
        let body = body.clone();
        sim.block_on(async {
            let mut request = reqwest::Client::new().post(&url).body(body);
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            let text = response.text().await.unwrap();
            (status, text)
        })
    };
    for refused in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/jsonp"),
        None,
    ] {
        let (status, text) = post(refused);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{refused:?}: {text}");
        assert!(
            text.contains("Expecting to find application/json in Content-Type header"),
            "{text}"
        );
    }
    for accepted in ["application/json", "Application/JSON; charset=utf-8"] {
        let (status, text) = post(Some(accepted));
        assert_eq!(status, StatusCode::CREATED, "{accepted}: {text}");
    }

    sim.reset_metrics();
    sim.block_on(sim.arcserve(TENANT_A).list_plans()).unwrap();
    assert_eq!(sim.calls("POST /v3/auth/tokens"), 1);
}

// ---------------------------------------------------------------------------
// Redstor RedAPI

/// A RedAPI access token for the simulator's account, through entitle's
/// own token client.
fn redstor_token(sim: &TestSim) -> String {
    let credentials = RedstorCredentials::service_account(
        &sim.redstor_api_url(),
        &sim.redstor_token_url(),
        &sim.redstor_account().client_id,
        sim.redstor_account().private_key_pem().as_bytes(),
        std::path::Path::new("test key"),
    )
    .unwrap();
    let auth = RedstorAuth::new(sim.http(), credentials);
    sim.block_on(auth.token()).unwrap().expose().to_string()
}

#[test]
fn control_characters_in_company_names_are_refused() {
    let sim = TestSim::start();
    let root = sim.redstor_root();
    let token = redstor_token(&sim);
    let token = token.as_str();
    let path = format!("/companies/{root}/customers");
    for (c, code) in CONTROLS {
        for name in [format!("Acme{c}Ltd"), format!("Acme Ltd{c}")] {
            let body = json!({"companyName": name, "type": "Customer"});
            let reply = sim.call(Some(token), Method::POST, &path, Some(body));
            assert_refused(
                &reply,
                &format!("`companyName` contains the control character {code}"),
            );
        }
    }
    for name in ODD_BUT_PRINTABLE {
        let body = json!({"companyName": name, "type": "Customer"});
        let reply = sim.call(Some(token), Method::POST, &path, Some(body));
        assert_eq!(reply.status, StatusCode::CREATED, "{name}: {}", reply.text);
        assert_eq!(reply.body["companyName"], name);
    }
}
