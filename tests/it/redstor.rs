//! Redstor companies and subscriptions end to end: the binary plans and
//! applies manifests against the simulator's RedAPI over HTTP; the tree is
//! checked through the client, call counts through `/_sim/metrics`, and the
//! plans and drift reports printed on the way are snapshot-tested with the
//! ids redacted.

use std::sync::Arc;

use entitle::api::ecl::EclClients;
use entitle::api::http::RequestObserver;
use entitle::api::redstor::{Company, CompanyType, RedstorAccess, TrialStatus};
use entitle::api::routes::Route;
use entitle::plan::refresh::refresh;
use entitle::resources::provider::{Clients, Manifests, Purpose, Recorded, RefreshScope};
use entitle::state::State;
use entitle::state::model::RecordedKinds;

use crate::support::{Project, Run, TestSim, company_yaml, document, redact, subscription_yaml};

const TRANSITIVE: &str = "GET /companies/{companyId}/customers/transitive";
const SUBSCRIPTIONS: &str = "GET /companies/{companyId}/subscriptions";
const REASSIGN: &str = "PATCH /companies/{companyId}/customers/{customerId}/reassign";
const CONVERT: &str = "PATCH /companies/{companyId}/subscriptions/{subscriptionId}/trial/convert";
const DELETE_COMPANY: &str = "DELETE /companies/{companyId}";
const CREATE_CUSTOMER: &str = "POST /companies/{companyId}/customers";

/// A partner, a nested partner, customers at two levels, subscriptions
/// including a trial.
fn tree() -> String {
    [
        company_yaml("northwind", "Partner", None, ""),
        company_yaml("contoso", "Customer", Some("northwind"), ""),
        company_yaml("tailspin", "Partner", Some("northwind"), ""),
        company_yaml("adatum", "Customer", Some("tailspin"), ""),
        subscription_yaml("contoso-m365", "contoso", "O365", "Advanced", ""),
        subscription_yaml("adatum-gws", "adatum", "GWS", "Standard", "  trial: true\n"),
        subscription_yaml("adatum-archive", "adatum", "Archive", "Standard", ""),
    ]
    .concat()
}

fn named<'a>(tree: &'a [Company], name: &str) -> &'a Company {
    tree.iter()
        .find(|c| c.company_name == name)
        .unwrap_or_else(|| panic!("no company {name} in {tree:?}"))
}

#[test]
fn a_three_level_tree_is_built_from_empty_and_then_plans_empty() {
    let sim = TestSim::start();
    let project = Project::new(&sim);
    project.write("msp.yaml", &tree());
    let run = project.apply().expect(0);
    assert!(run.stdout.contains("7 done, 0 failed"), "{}", run.stdout);

    let tree = sim.redstor_tree();
    let root = sim.redstor_root();
    let northwind = named(&tree, "northwind");
    assert_eq!(northwind.company_type, CompanyType::Partner);
    assert_eq!(northwind.parent_company_id, Some(root));
    let tailspin = named(&tree, "tailspin");
    assert_eq!(tailspin.parent_company_id, Some(northwind.company_id));
    let adatum = named(&tree, "adatum");
    assert_eq!(adatum.parent_company_id, Some(tailspin.company_id));
    assert_eq!(adatum.company_type, CompanyType::Customer);
    assert_eq!(
        named(&tree, "contoso").parent_company_id,
        Some(northwind.company_id)
    );
    let subscriptions = sim.redstor_subscriptions(adatum.company_id);
    assert_eq!(subscriptions.len(), 2);
    let gws = subscriptions.iter().find(|s| s.product_id == 91).unwrap();
    assert_eq!(gws.trial_status, TrialStatus::Active);

    project.plan().expect(0);
    // The state binds every address to what was made.
    let state = project.state();
    assert_eq!(
        state["resources"]["RedstorCompany/adatum"]["remote_id"],
        adatum.company_id.to_string()
    );
}

#[test]
fn moving_a_customer_is_one_reassign_and_deletes_nothing() {
    let sim = TestSim::start();
    let project = Project::new(&sim);
    project.write("msp.yaml", &tree());
    project.apply().expect(0);
    let before = named(&sim.redstor_tree(), "contoso").company_id;

    project.write(
        "msp.yaml",
        &tree().replace(
            "  name: contoso\nspec:\n  type: Customer\n  parent: northwind\n",
            "  name: contoso\nspec:\n  type: Customer\n  parent: tailspin\n",
        ),
    );
    let plan = project.plan().expect(2);
    insta::assert_snapshot!("move-customer", redact(&plan.stdout));
    sim.reset_metrics();
    project.apply().expect(0);
    assert_eq!(sim.calls(REASSIGN), 1);
    assert_eq!(sim.calls(DELETE_COMPANY), 0);
    assert_eq!(sim.calls(CREATE_CUSTOMER), 0);
    let tree = sim.redstor_tree();
    let contoso = named(&tree, "contoso");
    assert_eq!(contoso.company_id, before, "the company kept its id");
    assert_eq!(
        contoso.parent_company_id,
        Some(named(&tree, "tailspin").company_id)
    );
    // Its subscription moved with it.
    assert_eq!(sim.redstor_subscriptions(before).len(), 1);
    project.plan().expect(0);
}

#[test]
fn disabling_and_enabling_a_company() {
    let sim = TestSim::start();
    let project = Project::new(&sim);
    project.write("msp.yaml", &tree());
    project.apply().expect(0);
    let disabled = tree().replace(
        "  name: contoso\nspec:\n  type: Customer\n  parent: northwind\n",
        "  name: contoso\nspec:\n  type: Customer\n  parent: northwind\n  enabled: false\n",
    );
    project.write("msp.yaml", &disabled);
    project.apply().expect(0);
    assert!(!named(&sim.redstor_tree(), "contoso").is_enabled);
    project.plan().expect(0);

    project.write("msp.yaml", &tree());
    project.apply().expect(0);
    assert!(named(&sim.redstor_tree(), "contoso").is_enabled);
    project.plan().expect(0);
}

#[test]
fn turning_trial_off_converts_the_trial() {
    let sim = TestSim::start();
    let project = Project::new(&sim);
    project.write("msp.yaml", &tree());
    project.apply().expect(0);
    let adatum = named(&sim.redstor_tree(), "adatum").company_id;
    let before = sim
        .redstor_subscriptions(adatum)
        .into_iter()
        .find(|s| s.product_id == 91)
        .unwrap();

    project.write("msp.yaml", &tree().replace("  trial: true\n", ""));
    let plan = project.plan().expect(2);
    insta::assert_snapshot!("convert-trial", redact(&plan.stdout));
    sim.reset_metrics();
    project.apply().expect(0);
    assert_eq!(sim.calls(CONVERT), 1);
    let after = sim
        .redstor_subscriptions(adatum)
        .into_iter()
        .find(|s| s.product_id == 91)
        .unwrap();
    assert_eq!(after.subscription_id, before.subscription_id);
    assert_eq!(after.trial_status, TrialStatus::Converted);
    project.plan().expect(0);
}

#[test]
fn removing_a_subtree_deletes_children_and_subscriptions_first() {
    let sim = TestSim::start();
    let project = Project::new(&sim);
    project.write("msp.yaml", &tree());
    project.apply().expect(0);

    // Without tailspin, adatum and adatum's subscriptions. The simulator
    // refuses to delete a company that still has customers or
    // subscriptions, so success proves the order.
    let kept = [
        company_yaml("northwind", "Partner", None, ""),
        company_yaml("contoso", "Customer", Some("northwind"), ""),
        subscription_yaml("contoso-m365", "contoso", "O365", "Advanced", ""),
    ]
    .concat();
    project.write("msp.yaml", &kept);
    let run = project.apply().expect(0);
    assert!(run.stdout.contains("4 done, 0 failed"), "{}", run.stdout);
    let names: Vec<String> = sim
        .redstor_tree()
        .into_iter()
        .map(|c| c.company_name)
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(!names.contains(&"tailspin".to_string()));
    let state = project.state();
    assert!(state["resources"]["RedstorCompany/adatum"].is_null());
    assert!(state["resources"]["RedstorSubscription/adatum-gws"].is_null());
    project.plan().expect(0);
}

#[test]
fn a_rename_is_a_replace_that_needs_allow_replace() {
    let sim = TestSim::start();
    let project = Project::new(&sim);
    project.write("msp.yaml", &tree());
    project.apply().expect(0);
    let old = named(&sim.redstor_tree(), "contoso").company_id;
    project.write(
        "msp.yaml",
        &tree().replace(
            "  name: contoso\nspec:\n",
            "  name: contoso\nspec:\n  companyName: Contoso Group\n",
        ),
    );
    let plan = project.plan().expect(2);
    insta::assert_snapshot!("rename-replace", redact(&plan.stdout));

    let refused = project.apply().expect(1);
    assert!(
        refused.stderr.contains("--allow-replace"),
        "{}",
        refused.stderr
    );
    assert_eq!(named(&sim.redstor_tree(), "contoso").company_id, old);

    project.apply_with(&["--allow-replace"]).expect(0);
    let tree = sim.redstor_tree();
    let renamed = named(&tree, "Contoso Group");
    assert_ne!(renamed.company_id, old);
    assert!(tree.iter().all(|c| c.company_name != "contoso"));
    // Its subscription was made again in the new company.
    assert_eq!(sim.redstor_subscriptions(renamed.company_id).len(), 1);
    project.plan().expect(0);
}

#[test]
fn a_token_signed_with_another_key_is_refused() {
    let sim = TestSim::start();
    let stranger = entitle::sim::RedstorAccount::generate().unwrap();
    let client = sim.redstor_with_key(stranger.private_key_pem());
    let err = sim.block_on(client.root_company()).unwrap_err().to_string();
    assert!(err.contains("refused service account"), "{err}");
    assert!(!err.contains("eyJ"), "no assertion in errors: {err}");
}

#[test]
fn refresh_costs_one_transitive_page_per_hundred_companies_and_one_list_per_managed_company() {
    let sim = TestSim::start();
    let client = sim.redstor();
    let root = sim.redstor_root();
    // 260 companies made outside entitle, flat under the root.
    sim.block_on(async {
        for i in 0..260 {
            client
                .create_customer(root, &format!("outside-{i:03}"), CompanyType::Customer)
                .await
                .unwrap();
        }
    });
    let project = Project::new(&sim);
    project.write("msp.yaml", &tree());
    project.apply().expect(0);

    // 264 companies below the root: 3 pages of 100; 4 managed companies.
    sim.reset_metrics();
    project.plan().expect(0);
    assert_eq!(sim.calls(TRANSITIVE), 3);
    assert_eq!(sim.calls(SUBSCRIPTIONS), 4);
    assert_eq!(sim.calls("GET /companies/{companyId}"), 0);

    // Every outside company is listed by drift as unmanaged under the root.
    let drift = project.drift().expect(2);
    assert_eq!(drift.stdout.matches("outside-").count(), 260);
}

/// Every route answered and its status, in the order the answers came.
#[derive(Default)]
struct AnswerLog(std::sync::Mutex<Vec<(&'static str, Option<u16>)>>);

impl RequestObserver for AnswerLog {
    fn attempted(&self, route: Route, status: Option<u16>) {
        self.0.lock().unwrap().push((route.route, status));
    }
}

#[test]
fn subscriptions_of_the_first_page_are_read_while_the_later_pages_come() {
    let sim = TestSim::start();
    let client = sim.redstor();
    let root = sim.redstor_root();
    // 350 customers under the root, all declared: 4 transitive pages.
    let names: Vec<String> = (0..350).map(|i| format!("c{i:03}")).collect();
    sim.block_on(async {
        for name in &names {
            client
                .create_customer(root, name, CompanyType::Customer)
                .await
                .unwrap();
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("msp.yaml");
    let text: String = names
        .iter()
        .map(|name| company_yaml(name, "Customer", None, ""))
        .collect();
    std::fs::write(&manifests, text).unwrap();
    let desired = entitle::manifest::load(&[manifests]).unwrap();

    let log = Arc::new(AnswerLog::default());
    let http = sim.http().observed_by(log.clone());
    let redstor =
        RedstorAccess::new(sim.redstor_over(http, sim.redstor_account().private_key_pem()));
    let ecl = EclClients::new(sim.http(), sim.keystone(&sim.http()), Some(sim.url.clone()));
    sim.set_faults(serde_json::json!({ "latency_ms": 50 }));
    sim.reset_metrics();
    let live = sim
        .block_on(refresh(
            &desired,
            &State::new(),
            &ecl,
            &redstor,
            Purpose::Plan,
        ))
        .unwrap();
    sim.set_faults(serde_json::json!({}));

    let log = log.0.lock().unwrap().clone();
    assert!(
        log.iter()
            .all(|(_, status)| matches!(status, Some(200 | 204))),
        "{log:?}"
    );
    let answers: Vec<&str> = log.iter().map(|(route, _)| *route).collect();
    let last_page = answers.iter().rposition(|r| *r == TRANSITIVE).unwrap();
    let first_list = answers.iter().position(|r| *r == SUBSCRIPTIONS).unwrap();
    assert!(
        first_list < last_page,
        "the first subscription list was answered after the last page: {answers:?}"
    );
    // As many calls as reading the tree first, and the same view.
    assert_eq!(sim.calls(TRANSITIVE), 4);
    assert_eq!(sim.calls(SUBSCRIPTIONS), 350);
    let redstor = live.redstor.unwrap();
    assert_eq!(redstor.companies.len(), 350);
    assert_every_company_listed(&redstor);
}

/// Applies `manifests` to the simulator: the manifests loaded and the
/// state written, as a plan would read them.
fn applied(sim: &TestSim, manifests: &str) -> (entitle::manifest::Desired, State) {
    let project = Project::new(sim);
    project.write("msp.yaml", manifests);
    project.apply().expect(0);
    let state = entitle::state::StateFile::new(project.state_path())
        .load()
        .unwrap()
        .unwrap();
    let desired = entitle::manifest::load(&[project.dir.path().join("manifests")]).unwrap();
    (desired, state)
}

/// Every company read had its subscriptions listed.
#[track_caller]
fn assert_every_company_listed(live: &entitle::resources::redstor::RedstorLive) {
    let listed: std::collections::BTreeSet<_> = live.subscriptions.keys().copied().collect();
    let companies: std::collections::BTreeSet<_> =
        live.companies.iter().map(|c| c.company_id).collect();
    assert_eq!(listed, companies);
}

/// The pages go on while the state's records parse: a page read before
/// they arrive is settled as soon as they do, not only once the tree is
/// read, and with no list more or less.
#[test]
fn a_page_read_before_the_state_arrives_is_settled_when_it_does() {
    let sim = TestSim::start();
    // 250 customers: 3 transitive pages.
    let text: String = (0..250)
        .map(|i| company_yaml(&format!("c{i:03}"), "Customer", None, ""))
        .collect();
    let (desired, state) = applied(&sim, &text);

    let log = Arc::new(AnswerLog::default());
    let http = sim.http().observed_by(log.clone());
    let redstor =
        RedstorAccess::new(sim.redstor_over(http, sim.redstor_account().private_key_pem()));
    let ecl = EclClients::new(sim.http(), sim.keystone(&sim.http()), Some(sim.url.clone()));
    let kinds = RecordedKinds::of(&state);
    let slot = tokio::sync::SetOnce::new();
    // Pages slow, lists fast: page 1's lists can all be answered before
    // page 2 is.
    sim.set_faults(serde_json::json!({ "latency_ms": 300, "only": TRANSITIVE }));
    sim.reset_metrics();
    let (live, state_arrived_at) = sim.block_on(async {
        let scope = RefreshScope {
            manifests: Manifests::Loaded(&desired),
            state: Recorded::Arriving {
                kinds: Some(&kinds),
                slot: &slot,
            },
            purpose: Purpose::Plan,
        };
        let clients = Clients {
            ecl: &ecl,
            redstor: &redstor,
        };
        // The state is held back until the first page was answered.
        let hold = async {
            loop {
                let answered = log.0.lock().unwrap().len();
                if log.0.lock().unwrap().iter().any(|(r, _)| *r == TRANSITIVE) {
                    slot.set(state.clone()).unwrap();
                    return answered;
                }
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
        };
        tokio::join!(entitle::resources::refresh(scope, clients), hold)
    });
    sim.set_faults(serde_json::json!({}));
    let live = live.unwrap().redstor.unwrap();
    let answers: Vec<&str> = log.0.lock().unwrap().iter().map(|(r, _)| *r).collect();
    let (before, after) = answers.split_at(state_arrived_at);
    assert!(
        !before.contains(&SUBSCRIPTIONS),
        "a list went before the state settled it: {answers:?}"
    );
    let second_page = after.iter().position(|r| *r == TRANSITIVE).unwrap();
    let lists_before_page_2 = after[..second_page]
        .iter()
        .filter(|r| **r == SUBSCRIPTIONS)
        .count();
    assert_eq!(
        lists_before_page_2, 100,
        "page 1's companies are listed once the state arrives: {answers:?}"
    );
    // As many calls as with the state at hand, and the same view.
    assert_eq!(sim.calls(TRANSITIVE), 3);
    assert_eq!(sim.calls(SUBSCRIPTIONS), 250);
    assert_every_company_listed(&live);
}

/// A client configured for no requests in flight still lists every
/// company's subscriptions, one at a time, as its limiter sends them.
#[test]
fn a_width_of_zero_still_lists_every_company() {
    let sim = TestSim::start();
    let (desired, state) = applied(&sim, &tree());
    let http = entitle::api::http::HttpClient::new(entitle::api::http::HttpConfig {
        max_in_flight_per_host: 0,
        ..crate::support::fast_retries()
    })
    .unwrap();
    let redstor =
        RedstorAccess::new(sim.redstor_over(http, sim.redstor_account().private_key_pem()));
    let ecl = EclClients::new(sim.http(), sim.keystone(&sim.http()), Some(sim.url.clone()));
    sim.reset_metrics();
    let live = sim
        .block_on(refresh(&desired, &state, &ecl, &redstor, Purpose::Plan))
        .unwrap()
        .redstor
        .unwrap();
    assert_eq!(sim.calls(SUBSCRIPTIONS), 4);
    assert_eq!(live.subscriptions.len(), 4);
}

#[test]
fn a_lost_create_answer_is_resolved_by_name_not_sent_twice() {
    let sim = TestSim::start();
    let project = Project::new(&sim);
    project.write("msp.yaml", &company_yaml("northwind", "Partner", None, ""));
    sim.set_faults(serde_json::json!({
        "drop_rate": 1.0,
        "only": CREATE_CUSTOMER,
    }));
    project.apply().expect(0);
    sim.set_faults(serde_json::json!({}));
    let tree = sim.redstor_tree();
    assert_eq!(
        tree.iter()
            .filter(|c| c.company_name == "northwind")
            .count(),
        1
    );
    assert_eq!(sim.calls(CREATE_CUSTOMER), 1);
    project.plan().expect(0);
}

#[test]
fn unknown_products_and_editions_are_plan_errors_with_suggestions() {
    let sim = TestSim::start();
    let project = Project::new(&sim);
    project.write(
        "msp.yaml",
        &[
            company_yaml("northwind", "Partner", None, ""),
            subscription_yaml("a", "northwind", "O356", "Standard", ""),
            subscription_yaml("b", "northwind", "Machines", "Servr", ""),
            subscription_yaml(
                "c",
                "northwind",
                "Salesforce",
                "Standard",
                "  trial: true\n",
            ),
        ]
        .concat(),
    );
    let run = project.plan().expect(1);
    assert!(run.stderr.contains("no product `O356`"), "{}", run.stderr);
    assert!(run.stderr.contains("did you mean `O365`"), "{}", run.stderr);
    assert!(run.stderr.contains("no edition `Servr`"), "{}", run.stderr);
    assert!(
        run.stderr.contains("did you mean `Server`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("offers no trial"), "{}", run.stderr);
}

#[test]
fn drift_shows_changes_made_outside() {
    let sim = TestSim::start();
    let project = Project::new(&sim);
    project.write("msp.yaml", &tree());
    project.apply().expect(0);
    let client = sim.redstor();
    let tree = sim.redstor_tree();
    let contoso = named(&tree, "contoso").company_id;
    let northwind = named(&tree, "northwind").company_id;
    sim.block_on(async {
        client.set_enabled(contoso, false).await.unwrap();
        client
            .create_customer(northwind, "Walk-in Customer", CompanyType::Customer)
            .await
            .unwrap();
    });
    let drift = project.drift().expect(2);
    insta::assert_snapshot!("drift-text", redact(&drift.stdout));
    let markdown = project.drift_as("markdown").expect(2);
    insta::assert_snapshot!("drift-markdown", redact(&markdown.stdout));
}

#[test]
fn ignore_changes_leaves_a_field_to_the_portal() {
    let sim = TestSim::start();
    let project = Project::new(&sim);
    let tree_ignoring = tree().replace(
        "  name: contoso\nspec:\n",
        "  name: contoso\n  lifecycle:\n    ignoreChanges: [enabled, parent]\nspec:\n",
    );
    project.write("msp.yaml", &tree_ignoring);
    project.apply().expect(0);
    let client = sim.redstor();
    let live = sim.redstor_tree();
    let contoso = named(&live, "contoso").company_id;
    let tailspin = named(&live, "tailspin").company_id;
    // Someone disables Contoso and moves it, in the portal.
    sim.block_on(async {
        client.set_enabled(contoso, false).await.unwrap();
        client.reassign(tailspin, contoso).await.unwrap();
    });
    project.plan().expect(0);
    // Without the rule, both are put back.
    project.write("msp.yaml", &tree());
    let plan = project.plan().expect(2);
    insta::assert_snapshot!("without-ignore-changes", redact(&plan.stdout));
    project.apply().expect(0);
    let contoso = named(&sim.redstor_tree(), "contoso").clone();
    assert!(contoso.is_enabled);
    assert_eq!(
        contoso.parent_company_id,
        Some(named(&sim.redstor_tree(), "northwind").company_id)
    );
}

#[test]
fn a_refused_token_is_renewed_once_and_a_cached_one_reused() {
    let sim = TestSim::start();
    let client = sim.redstor();
    sim.reset_metrics();
    sim.block_on(async {
        client.root_company().await.unwrap();
        client.products().await.unwrap();
    });
    assert_eq!(sim.calls("POST /connect/token"), 1, "the token is cached");
    // The simulator forgets every token (and its counts): the next call
    // gets a 401, signs a new assertion and goes through.
    sim.control(reqwest::Method::POST, "reset", None);
    sim.block_on(client.root_company()).unwrap();
    assert_eq!(
        sim.calls("GET /companies"),
        2,
        "refused once, then sent again"
    );
    assert_eq!(sim.calls("POST /connect/token"), 1, "one new token");
}

#[test]
fn companies_and_subscriptions_made_elsewhere_are_imported_then_managed() {
    let sim = TestSim::start();
    let client = sim.redstor();
    let root = sim.redstor_root();
    let (made, subscribed) = sim.block_on(async {
        let company = client
            .create_customer(root, "contoso", CompanyType::Customer)
            .await
            .unwrap();
        let subscription = client
            .subscribe(company.company_id, 4, 41, false)
            .await
            .unwrap()
            .expect("the simulator answers a subscribe with the subscription by default");
        (company, subscription)
    });
    let project = Project::new(&sim);
    project.write(
        "msp.yaml",
        &[
            company_yaml("contoso", "Customer", None, ""),
            subscription_yaml("contoso-m365", "contoso", "O365", "Advanced", ""),
        ]
        .concat(),
    );
    // Not adopted silently: the plan says how to import it.
    let refused = project.plan().expect(1);
    let id = made.company_id.to_string();
    assert!(
        refused
            .stderr
            .contains(&format!("entitle import RedstorCompany/contoso {id}")),
        "{}",
        refused.stderr
    );
    project.import("RedstorCompany/contoso", &id).expect(0);
    // The subscription's hint comes once its company is known.
    let refused = project.plan().expect(1);
    let sid = subscribed.subscription_id.to_string();
    assert!(refused.stderr.contains(&sid), "{}", refused.stderr);
    project
        .import("RedstorSubscription/contoso-m365", &sid.to_uppercase())
        .expect(0);
    // Managed now: the edition differs (41 live, Advanced declared), so the
    // plan replaces the subscription rather than making a second one.
    let plan = project.plan().expect(2);
    insta::assert_snapshot!("after-import", redact(&plan.stdout));
}

/// A company is replaced while its subscription moves to another company:
/// the subscription's state record must survive.
#[test]
fn replace_company_while_its_subscription_moves_away_keeps_the_record() {
    let sim = TestSim::start();
    let project = Project::new(&sim);
    let before = [
        company_yaml("contoso", "Customer", None, ""),
        company_yaml("fabrikam", "Customer", None, ""),
        subscription_yaml("m365", "contoso", "O365", "Advanced", ""),
    ]
    .concat();
    project.write("msp.yaml", &before);
    project.apply().expect(0);
    // contoso is renamed (replace) and put under a new partner; its
    // subscription moves to fabrikam. The partner's create is slow (as
    // a real create can be), so the subscription's replace runs first.
    let after = [
        company_yaml("northwind", "Partner", None, ""),
        company_yaml(
            "contoso",
            "Customer",
            Some("northwind"),
            "  companyName: Contoso Two\n",
        ),
        company_yaml("fabrikam", "Customer", None, ""),
        subscription_yaml("m365", "fabrikam", "O365", "Advanced", ""),
    ]
    .concat();
    project.write("msp.yaml", &after);
    sim.set_faults(serde_json::json!({
        "latency_ms": 1500,
        "only": "POST /companies/{companyId}/customers"
    }));
    project.plan().expect(2);
    project.apply_with(&["--allow-replace"]).expect(0);
    sim.set_faults(serde_json::json!({}));
    let state = project.state();
    let fabrikam = named(&sim.redstor_tree(), "fabrikam").company_id;
    let live = sim.redstor_subscriptions(fabrikam);
    assert_eq!(live.len(), 1, "subscribed in fabrikam");
    assert!(
        state["resources"].get("RedstorSubscription/m365").is_some(),
        "the subscription made in fabrikam lost its state record: {state:#}"
    );
    project.plan().expect(0);
}

/// `entitle import` refuses an id already bound, whatever its case.
#[test]
fn import_refuses_an_id_already_bound_in_another_case() {
    let sim = TestSim::start();
    let project = Project::new(&sim);
    project.write("a.yaml", &company_yaml("contoso", "Customer", None, ""));
    project.apply().expect(0);
    let id = named(&sim.redstor_tree(), "contoso").company_id;
    project.write(
        "b.yaml",
        &company_yaml("contoso-again", "Customer", None, ""),
    );
    let upper = id.to_string().to_uppercase();
    let run = project
        .import("RedstorCompany/contoso-again", &upper)
        .expect(1);
    assert!(
        run.stderr
            .contains("already bound to RedstorCompany/contoso"),
        "{}",
        run.stderr
    );
    let state = project.state();
    assert!(
        state["resources"]
            .get("RedstorCompany/contoso-again")
            .is_none(),
        "one company bound to two addresses: {state:#}"
    );
}

/// A company created in the portal as `CONTOSO LTD` and imported for a
/// manifest saying `Contoso Ltd` (the same name to RedAPI) plans no replace.
#[test]
fn an_imported_company_differing_only_in_case_is_not_replaced() {
    let sim = TestSim::start();
    let project = Project::new(&sim);
    let root = sim.redstor_root();
    let made = sim
        .block_on(sim.redstor().create_customer(
            root,
            "CONTOSO LTD",
            entitle::api::redstor::CompanyType::Customer,
        ))
        .unwrap();
    project.write(
        "a.yaml",
        &company_yaml("contoso", "Customer", None, "  companyName: Contoso Ltd\n"),
    );
    project.plan().expect(1);
    project
        .import("RedstorCompany/contoso", &made.company_id.to_string())
        .expect(0);
    let plan = project.plan();
    assert_eq!(
        plan.code, 0,
        "plans a data-destroying replace for a case-only difference:\n{}",
        plan.stdout
    );
    let drift = project.drift().expect(0);
    assert!(drift.stdout.contains("No drift"), "{}", drift.stdout);
}

/// `apply --refresh-only` after a company was moved outside entitle: the
/// drift is accepted once, and the state keeps manifest names in `parent`.
#[test]
fn refresh_only_accepts_a_moved_company_once() {
    let sim = TestSim::start();
    let project = Project::new(&sim);
    project.write(
        "a.yaml",
        &[
            company_yaml(
                "northwind",
                "Partner",
                None,
                "  companyName: Northwind Traders\n",
            ),
            company_yaml("contoso", "Customer", Some("northwind"), ""),
        ]
        .concat(),
    );
    project.apply().expect(0);
    let root = sim.redstor_root();
    let contoso = named(&sim.redstor_tree(), "contoso").company_id;
    sim.block_on(sim.redstor().reassign(root, contoso)).unwrap();
    project.apply_with(&["--refresh-only"]).expect(0);
    let state = project.state();
    assert_eq!(
        state["resources"]["RedstorCompany/contoso"]["attributes"]["parent"], "northwind",
        "the state keeps the manifest's name"
    );
    let drift = project.drift().expect(0);
    assert!(
        !drift.stdout.contains("parent"),
        "the accepted drift is reported again"
    );
}

/// A company is not deleted while something stays in it: a customer made
/// outside entitle, or a subscription forgotten under deletionPolicy: Orphan.
#[test]
fn a_company_with_customers_or_subscriptions_left_behind_is_not_deleted() {
    let sim = TestSim::start();
    let project = Project::new(&sim);
    project.write(
        "a.yaml",
        &[
            company_yaml("northwind", "Partner", None, ""),
            subscription_yaml("nw-m365", "northwind", "O365", "Standard", "").replace(
                "  name: nw-m365\n",
                "  name: nw-m365\n  lifecycle:\n    deletionPolicy: Orphan\n",
            ),
        ]
        .concat(),
    );
    project.apply().expect(0);
    let northwind = named(&sim.redstor_tree(), "northwind").company_id;
    sim.block_on(sim.redstor().create_customer(
        northwind,
        "Walk-in",
        entitle::api::redstor::CompanyType::Customer,
    ))
    .unwrap();
    project.write("a.yaml", &company_yaml("other", "Partner", None, ""));
    let refused = project.plan().expect(1);
    assert!(
        refused.stderr.contains("company `Walk-in` (not managed)")
            && refused
                .stderr
                .contains("RedstorSubscription/nw-m365 (deletionPolicy: Orphan)"),
        "{}",
        refused.stderr
    );
    assert!(sim.redstor_tree().iter().any(|c| c.company_id == northwind));
}

/// A document of `kind` named `name` that depends on `on`, with `spec`.
fn depending(kind: &str, name: &str, on: &str, spec: &str) -> String {
    document(kind, name, &format!("  dependsOn: [{on}]\n"), spec)
}

/// Declared dependencies between companies and subscriptions that turn
/// around in one change: a customer that depended on a subscription moves
/// to a partner being renamed (replaced), while that subscription, which
/// depended on the partner, goes. The customer moves before the
/// subscription is removed, the subscription is removed before the partner
/// is replaced, and the partner is replaced before the customer moves to
/// it: a cycle, which the plan must break rather than refuse.
#[test]
fn dependencies_turned_around_with_a_replace_still_plan() {
    let sim = TestSim::start();
    let project = Project::new(&sim);
    let before = [
        company_yaml("acme", "Partner", None, ""),
        company_yaml("globex", "Partner", None, ""),
        depending(
            "RedstorSubscription",
            "globex-m365",
            "RedstorCompany/acme",
            "  company: globex\n  product: O365\n  edition: Advanced\n",
        ),
        depending(
            "RedstorCompany",
            "initech",
            "RedstorSubscription/globex-m365",
            "  type: Customer\n  parent: globex\n",
        ),
    ]
    .concat();
    project.write("msp.yaml", &before);
    project.apply().expect(0);

    let after = [
        company_yaml("acme", "Partner", None, "  companyName: Acme Group\n"),
        company_yaml("globex", "Partner", None, ""),
        company_yaml("initech", "Customer", Some("acme"), ""),
    ]
    .concat();
    project.write("msp.yaml", &after);
    let plan = project.plan().expect(2);
    insta::assert_snapshot!("dependencies-turned-around", redact(&plan.stdout));
    project.apply_with(&["--allow-replace"]).expect(0);
    let tree = sim.redstor_tree();
    let acme = named(&tree, "Acme Group");
    assert_eq!(
        named(&tree, "initech").parent_company_id,
        Some(acme.company_id)
    );
    project.plan().expect(0);
}

/// Refresh starts from the state while the manifests parse. A problem in
/// the manifests is still what a run reports, even when the reading of a
/// recorded company has failed first; with the manifests mended, the
/// reading's failure is.
#[test]
fn a_manifest_problem_is_told_before_a_refresh_that_failed_first() {
    let sim = TestSim::start();
    let project = Project::new(&sim);
    project.write("msp.yaml", &company_yaml("northwind", "Partner", None, ""));
    project.apply().expect(0);
    let without_redapi = |verb: &str| {
        let mut command = project.std_command();
        command
            .args([verb, "manifests"])
            .env_remove("REDSTOR_CLIENT_ID");
        Run::of(command).expect(1)
    };

    project.write("msp.yaml", &company_yaml("northwind", "Partnr", None, ""));
    for verb in ["plan", "drift"] {
        let run = without_redapi(verb);
        assert!(run.stderr.contains("msp.yaml:"), "{verb}: {}", run.stderr);
        assert!(run.stderr.contains("Partnr"), "{verb}: {}", run.stderr);
        assert!(
            !run.stderr.contains("REDSTOR_CLIENT_ID"),
            "{verb}: {}",
            run.stderr
        );
    }

    project.write("msp.yaml", &company_yaml("northwind", "Partner", None, ""));
    for verb in ["plan", "drift"] {
        let run = without_redapi(verb);
        assert!(
            run.stderr.contains("REDSTOR_CLIENT_ID"),
            "{verb}: {}",
            run.stderr
        );
    }
}
