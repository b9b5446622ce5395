//! Regression tests for what the vendors really do, each named after what
//! it protects: Arcserve deletions scheduled for the month's end, license
//! objects the client cannot read, orders that carry nothing but their id;
//! RedAPI trial statuses outside the documents, duplicates refused with 422
//! or 409, a subscribe answered 204; the Proposal API without its list, a
//! lost state, and a token refused with 401 or 403. Each runs the real
//! binary against the simulator switched to that reading.

use std::time::Duration;

use entitle::api::redstor::CompanyType;
use entitle::sim::{Behaviour, Behaviours, SimConfig};
use reqwest::Method;

use crate::support::*;

/// A simulator with `behaviours` switched on and a short provisioning delay.
fn sim_with(behaviours: impl IntoIterator<Item = Behaviour>) -> TestSim {
    TestSim::with_config(SimConfig {
        provisioning_delay: Duration::from_millis(50),
        behaviours: Behaviours::new(behaviours),
        ..SimConfig::default()
    })
}

/// Stdout and stderr of a run, for assertions on what was said anywhere.
fn said(run: &Run) -> String {
    format!("{}\n{}", run.stdout, run.stderr)
}

/// The simulated clock's day in Tokyo, the zone of the API's date rules.
fn today_in_tokyo(sim: &TestSim) -> time::Date {
    let clock = sim.control(Method::GET, "clock", None);
    let now = time::OffsetDateTime::parse(
        clock["now"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    now.to_offset(time::UtcOffset::from_hms(9, 0, 0).unwrap())
        .date()
}

/// The last day of the simulated clock's month in Tokyo, as the API
/// writes a `deletion_date`.
fn last_day_of_the_month_in_tokyo(sim: &TestSim) -> String {
    let today = today_in_tokyo(sim);
    today
        .replace_day(today.month().length(today.year()))
        .unwrap()
        .to_string()
}

#[test]
fn a_scheduled_license_deletion_is_recorded_and_a_create_of_its_name_waits_for_it() {
    let sim = sim_with([Behaviour::ScheduledDeletion]);
    let project = Project::with_tenant(&sim);
    let web = license_yaml("web", PLAN_ADVANCED_9, 2, "9.0", "");
    project.write("web.yaml", &web);
    project.write(
        "db.yaml",
        &license_yaml("db", PLAN_ADVANCED_9, 1, "9.0", ""),
    );
    project.apply().expect(0);
    let old_id = project.live_named("web").id.to_string();

    // The delete is accepted and scheduled: the apply succeeds and says so.
    project.remove("web.yaml").remove("db.yaml");
    let day = last_day_of_the_month_in_tokyo(&sim);
    let run = project.apply().expect(0);
    assert!(
        run.stdout
            .contains(&format!("{old_id} is scheduled for deletion on {day}")),
        "{}",
        said(&run)
    );
    assert!(run.stdout.contains("2 done, 0 failed"), "{}", said(&run));
    let listed = project.live_named("web");
    assert_eq!(listed.deletion_date.as_deref(), Some(day.as_str()));
    let record = &project.state()["resources"]["ArcserveLicense/web"];
    assert_eq!(record["status"], "deleting", "{record:#}");
    assert_eq!(record["remote_id"], old_id.as_str(), "{record:#}");
    assert_eq!(
        record["attributes"]["deletionDate"],
        day.as_str(),
        "{record:#}"
    );

    // Nothing more to do until it is gone, and the plan says why.
    let plan = project.plan().expect(0);
    assert!(
        plan.stdout.contains(&format!(
            "ArcserveLicense/web: license {old_id} is scheduled for deletion on {day}; the state forgets it once it is gone"
        )),
        "{}",
        said(&plan)
    );

    // A new license of the name waits for the old one to go.
    project.write("web.yaml", &web);
    let plan = project.plan().expect(0);
    assert!(plan.stdout.contains("1 deferred"), "{}", said(&plan));
    assert!(plan.stdout.contains("0 to create"), "{}", said(&plan));
    assert!(
        plan.stdout.contains(&format!(
            "ArcserveLicense/web: create \"{old_id}\" -> \"web\""
        )) && plan
            .stdout
            .contains(&format!("scheduled for deletion on {day}")),
        "{}",
        said(&plan)
    );
    project.apply().expect(0);
    assert_eq!(
        project.live().len(),
        2,
        "nothing created: {:?}",
        project.live()
    );

    // Past the month's end the old license is gone: the plan forgets the
    // record of `db` and creates `web` anew.
    sim.advance_clock(32 * 86_400);
    let plan = project.plan().expect(2);
    assert!(
        plan.stdout.contains("+ ArcserveLicense/web")
            && plan.stdout.contains(
                "ArcserveLicense/web will be created: a previous run deleted its license"
            ),
        "{}",
        said(&plan)
    );
    assert!(
        plan.stdout.contains("ArcserveLicense/db will be forgotten"),
        "{}",
        said(&plan)
    );
    assert!(plan.stdout.contains("1 to create"), "{}", said(&plan));
    project.apply().expect(0);
    let live = project.live();
    assert_eq!(live.len(), 1, "{live:?}");
    let new_id = live[0].id.to_string();
    assert_ne!(new_id, old_id);
    let state = project.state();
    let record = &state["resources"]["ArcserveLicense/web"];
    assert_eq!(record["status"], "ready", "{record:#}");
    assert_eq!(record["remote_id"], new_id.as_str(), "{record:#}");
    assert!(
        record["attributes"].get("deletionDate").is_none(),
        "{record:#}"
    );
    assert!(
        state["resources"].get("ArcserveLicense/db").is_none(),
        "{state:#}"
    );
    project.plan().expect(0);
}

/// Sets the standalone key count of TENANT_A's license `name` in the
/// simulator's store, as the vendor's back office can: beyond what the
/// API takes and what entitle reads (u32).
fn set_keys_behind_the_api(sim: &TestSim, name: &str, keys: u64) {
    let mut store = sim.control(Method::GET, "dump", None);
    let licenses = store["arcserve"][TENANT_A]["licenses"]
        .as_array_mut()
        .unwrap();
    let license = licenses
        .iter_mut()
        .find(|l| l["name"] == name)
        .unwrap_or_else(|| panic!("no license {name} in the store"));
    license["number_of_standalone_keys"] = keys.into();
    sim.control(Method::PUT, "dump", Some(store));
}

/// How many licenses TENANT_A holds in the simulator's store, those the
/// client cannot read included.
fn licenses_held(sim: &TestSim) -> usize {
    let store = sim.control(Method::GET, "dump", None);
    store["arcserve"][TENANT_A]["licenses"]
        .as_array()
        .map_or(0, Vec::len)
}

const BEYOND_U32: u64 = 4_294_967_296;

#[test]
fn one_unreadable_foreign_license_is_set_aside_and_the_managed_ones_still_plan_and_drift() {
    let sim = TestSim::start();
    let project = Project::with_tenant(&sim);
    project.write(
        "web.yaml",
        &license_yaml("web", PLAN_ADVANCED_9, 2, "9.0", ""),
    );
    project.apply().expect(0);
    let client = sim.arcserve(TENANT_A);
    let foreign = sim
        .block_on(client.create_license(&new_license("foreign", 1)))
        .unwrap();
    set_keys_behind_the_api(&sim, "foreign", BEYOND_U32);

    project.write(
        "web.yaml",
        &license_yaml("web", PLAN_ADVANCED_9, 3, "9.0", ""),
    );
    let plan = project.plan().expect(2);
    assert!(
        plan.stdout.contains("~ ArcserveLicense/web") && plan.stdout.contains("1 to update"),
        "{}",
        said(&plan)
    );
    let warning = plan
        .stderr
        .lines()
        .find(|line| line.contains(&foreign.id.to_string()))
        .unwrap_or_else(|| panic!("no warning naming {}: {}", foreign.id, said(&plan)));
    assert!(
        warning.contains("(foreign)") && warning.contains("number_of_standalone_keys"),
        "{warning}"
    );

    project.apply().expect(0);
    assert_eq!(project.live_named("web").number_of_standalone_keys, 3);
    // Drift still compares the managed license: a change behind entitle's
    // back is seen.
    let web = project.live_named("web");
    sim.block_on(client.update_license(
        web.id,
        &entitle::api::arcserve::LicenseChanges {
            name: None,
            number_of_standalone_keys: Some(7),
        },
    ))
    .unwrap();
    let drift = project.drift();
    assert_eq!(drift.code, 2, "{}", said(&drift));
    assert!(
        drift.stdout.contains("ArcserveLicense/web") && drift.stdout.contains("standaloneKeys"),
        "{}",
        said(&drift)
    );
    assert!(
        drift.stderr.contains(&foreign.id.to_string()),
        "{}",
        said(&drift)
    );
}

#[test]
fn an_unreadable_managed_license_is_an_error_for_its_address_only() {
    let sim = TestSim::start();
    let project = Project::with_tenant(&sim);
    project.write(
        "web.yaml",
        &license_yaml("web", PLAN_ADVANCED_9, 2, "9.0", ""),
    );
    project.write(
        "db.yaml",
        &license_yaml("db", PLAN_ADVANCED_9, 1, "9.0", ""),
    );
    project.write(
        "app.yaml",
        &license_yaml("app", PLAN_ADVANCED_9, 1, "9.0", ""),
    );
    project.apply().expect(0);
    let db = project.live_named("db").id.to_string();
    set_keys_behind_the_api(&sim, "db", BEYOND_U32);

    let plan = project.plan().expect(1);
    let errors = plan.stderr.as_str();
    assert!(
        errors.contains("ArcserveLicense/db") && errors.contains(&db),
        "{}",
        said(&plan)
    );
    assert!(errors.contains("could not be read"), "{}", said(&plan));
    assert!(
        !errors.contains("ArcserveLicense/web") && !errors.contains("ArcserveLicense/app"),
        "only db is in error: {}",
        said(&plan)
    );

    // Gone from the manifests, it is not deleted blindly either.
    project.remove("db.yaml");
    let plan = project.plan().expect(1);
    assert!(
        plan.stderr.contains("ArcserveLicense/db")
            && plan
                .stderr
                .contains("could not be read, so it is not deleted"),
        "{}",
        said(&plan)
    );
    assert!(
        !plan.stderr.contains("ArcserveLicense/web"),
        "{}",
        said(&plan)
    );
    let refused = project.apply().expect(1);
    assert!(
        refused.stderr.contains("ArcserveLicense/db"),
        "{}",
        said(&refused)
    );
    assert_eq!(licenses_held(&sim), 3, "nothing deleted");
}

/// A customer with a paid Microsoft 365 subscription.
fn paid_subscription(trial: bool) -> String {
    let trial = if trial { "  trial: true\n" } else { "" };
    [
        company_yaml("contoso", "Customer", None, ""),
        subscription_yaml("contoso-m365", "contoso", "O365", "Advanced", trial),
    ]
    .concat()
}

#[test]
fn an_unknown_trial_status_of_a_paid_subscription_converges_and_is_named_when_a_trial_is_declared()
{
    let sim = sim_with([Behaviour::Unknowns]);
    let project = Project::with_tenant(&sim);
    project.write("msp.yaml", &paid_subscription(false));
    project.write(
        "web.yaml",
        &license_yaml("web", PLAN_ADVANCED_9, 2, "9.0", ""),
    );
    let run = project.apply().expect(0);
    assert!(run.stdout.contains("3 done, 0 failed"), "{}", said(&run));
    let company = sim
        .redstor_tree()
        .into_iter()
        .find(|c| c.company_name == "contoso")
        .unwrap();
    let subscriptions = sim.redstor_subscriptions(company.company_id);
    assert_eq!(subscriptions.len(), 1);
    assert_eq!(
        subscriptions[0].trial_status,
        entitle::api::redstor::TrialStatus::Other("NotApplicable".into()),
        "the simulator answers the status the documents do not list"
    );
    let record = &project.state()["resources"]["RedstorSubscription/contoso-m365"];
    assert_eq!(
        record["remote_id"],
        subscriptions[0].subscription_id.to_string()
    );
    assert_eq!(record["attributes"]["trial"], false, "{record:#}");

    project.plan().expect(0);
    let drift = project.drift().expect(0);
    assert!(drift.stdout.contains("No drift"), "{}", said(&drift));

    project.write("msp.yaml", &paid_subscription(true));
    let plan = project.plan().expect(1);
    assert!(
        plan.stderr.contains("RedstorSubscription/contoso-m365")
            && plan.stderr.contains("`NotApplicable`"),
        "{}",
        said(&plan)
    );
}

#[test]
fn with_bare_orders_the_day_after_rule_goes_by_updated_at_and_the_upgrade_contact_is_required() {
    let sim = sim_with([Behaviour::BareOrders]);
    let project = Project::with_tenant(&sim);
    let web = |version: &str| license_yaml("web", PLAN_ADVANCED_9, 1, version, "");
    project.write("web.yaml", &web("9.0"));
    project.apply().expect(0);

    // Created today: the upgrade waits for tomorrow.
    project.write("web.yaml", &web("10.0"));
    let tomorrow = today_in_tokyo(&sim).next_day().unwrap();
    let plan = project.plan().expect(0);
    assert!(
        plan.stdout.contains("1 deferred") && plan.stdout.contains(&format!("from {tomorrow}")),
        "{}",
        said(&plan)
    );

    sim.advance_clock(86_400);
    let plan = project.plan().expect(2);
    assert!(
        plan.stdout.contains("bulk-upgrade prod 10.0"),
        "{}",
        said(&plan)
    );
    project.apply().expect(0);
    assert_eq!(project.live_named("web").keys[0].version, "10.0");

    // Upgraded today, which the bare orders do not say: the license's
    // updated_at does, and the next upgrade waits for tomorrow.
    let today = today_in_tokyo(&sim);
    project.write("web.yaml", &web("10.1"));
    let plan = project.plan().expect(0);
    assert!(
        plan.stdout.contains("1 deferred")
            && plan
                .stdout
                .contains(&format!("created or last upgraded on {today}")),
        "{}",
        said(&plan)
    );

    // The orders do not say that the tenant has an upgrade order already,
    // so the contact the first upgrade needs is asked for again.
    sim.advance_clock(86_400);
    project.write(
        "tenant.yaml",
        TENANT_YAML.split("  upgradeContact:").next().unwrap(),
    );
    let plan = project.plan().expect(1);
    assert!(
        plan.stderr.contains("EclTenant/prod")
            && plan.stderr.contains("first version upgrade")
            && plan.stderr.contains("upgradeContact"),
        "{}",
        said(&plan)
    );
    project.write("tenant.yaml", TENANT_YAML);
    project.apply().expect(0);
    assert_eq!(project.live_named("web").keys[0].version, "10.1");
    project.plan().expect(0);
}

/// `entitle apply <plan>` of a saved plan in the project.
fn apply_saved(project: &Project<'_>, plan: &str) -> Run {
    project.run(&["apply", plan])
}

/// A company and then a subscription, each planned, then made by hand at
/// RedAPI before the saved plan is applied: the create is refused as a
/// duplicate, and entitle says it exists and how to import it.
fn duplicates_made_between_plan_and_apply_are_refused_as_existing(sim: &TestSim) {
    let project = Project::new(sim);
    let client = sim.redstor();
    let root = sim.redstor_root();

    project.write("msp.yaml", &company_yaml("contoso", "Customer", None, ""));
    project
        .run(&["plan", "manifests", "--out", "company.plan"])
        .expect(0);
    let by_hand = sim
        .block_on(client.create_customer(root, "contoso", CompanyType::Customer))
        .unwrap();
    let run = apply_saved(&project, "company.plan").expect(1);
    let import = format!(
        "`entitle import RedstorCompany/contoso {}`",
        by_hand.company_id
    );
    assert!(
        run.stderr.contains("exists already") && run.stderr.contains(&import),
        "{import}: {}",
        said(&run)
    );
    let named: Vec<_> = sim
        .redstor_tree()
        .into_iter()
        .filter(|c| c.company_name == "contoso")
        .collect();
    assert_eq!(named.len(), 1, "{named:?}");
    assert!(
        project.state()["resources"]
            .get("RedstorCompany/contoso")
            .is_none()
    );

    // Imported, the company is managed; its subscription is planned, and
    // made by hand in the meantime.
    project
        .import("RedstorCompany/contoso", &by_hand.company_id.to_string())
        .expect(0);
    project.write("msp.yaml", &paid_subscription(false));
    project
        .run(&["plan", "manifests", "--out", "subscription.plan"])
        .expect(0);
    sim.block_on(client.subscribe(by_hand.company_id, 4, 42, false))
        .unwrap();
    let subscribed = sim.redstor_subscriptions(by_hand.company_id);
    let run = apply_saved(&project, "subscription.plan").expect(1);
    let import = format!(
        "`entitle import RedstorSubscription/contoso-m365 {}`",
        subscribed[0].subscription_id
    );
    assert!(
        run.stderr.contains("exists already") && run.stderr.contains(&import),
        "{import}: {}",
        said(&run)
    );
    assert_eq!(sim.redstor_subscriptions(by_hand.company_id), subscribed);
}

#[test]
fn a_duplicate_refused_with_422_at_apply_time_says_it_exists_and_how_to_import_it() {
    let sim = sim_with([]);
    duplicates_made_between_plan_and_apply_are_refused_as_existing(&sim);
}

#[test]
fn a_duplicate_refused_with_409_at_apply_time_says_it_exists_and_how_to_import_it() {
    let sim = sim_with([Behaviour::Duplicate409]);
    duplicates_made_between_plan_and_apply_are_refused_as_existing(&sim);
}

/// A RedAPI that refuses every request with `status`: a create refused
/// for a reason other than a duplicate, which the read-back cannot
/// confirm either.
fn refused_by_a_redapi_answering(status: axum::http::StatusCode) {
    let sim = sim_with([]);
    let project = Project::new(&sim);
    project.write("msp.yaml", &company_yaml("contoso", "Customer", None, ""));
    project
        .run(&["plan", "manifests", "--out", "company.plan"])
        .expect(0);
    let refusing = StubServer::start(status, None);
    let mut command = project.std_command();
    command
        .env("REDSTOR_API_URL", format!("{}/", refusing.url))
        .args(["apply", "company.plan"]);
    let run = Run::of(command).expect(1);
    assert!(refusing.hits() > 0, "RedAPI was not asked: {}", said(&run));
    assert!(
        run.stderr.contains(&status.as_u16().to_string()),
        "the server's refusal: {}",
        said(&run)
    );
    assert!(
        !run.stderr.contains("exists already") && !run.stderr.contains("entitle import"),
        "{}",
        said(&run)
    );
}

#[test]
fn a_422_that_is_not_a_duplicate_is_the_servers_refusal_not_exists() {
    refused_by_a_redapi_answering(axum::http::StatusCode::UNPROCESSABLE_ENTITY);
}

#[test]
fn a_409_that_is_not_a_duplicate_is_the_servers_refusal_not_exists() {
    refused_by_a_redapi_answering(axum::http::StatusCode::CONFLICT);
}

const PROPOSAL_DETAIL: &str = "GET /v1/proposal/detail/{tenant_id}/{service_id}/{order_id}";

/// A FastDNS proposal of `zones` two-zone plans.
fn dns_proposal(zones: u32) -> String {
    proposal_yaml(
        "dns",
        "FastDNS",
        "en",
        "",
        &format!("    - plan: 2zone Plan\n      number: {zones}\n"),
    )
}

/// A HULFT proposal of one active node.
fn hulft_proposal() -> String {
    proposal_yaml(
        "hulft",
        "HULFT",
        "en",
        "",
        "    - product: HULFT8 for Windows-Server
      cluster: Yes (Active-CL)
      aes: Yes
      script: None
      dc: jp1
      number: 1
",
    )
}

/// The proposals the simulator holds, in every tenant and service.
fn proposals_held(sim: &TestSim) -> usize {
    let store = sim.control(Method::GET, "dump", None);
    store["proposals"].as_object().map_or(0, |tenants| {
        tenants
            .values()
            .map(|p| p.as_array().map_or(0, Vec::len))
            .sum()
    })
}

/// The OrderId the state records for `address`.
fn recorded_order(project: &Project<'_>, address: &str) -> String {
    project.state()["resources"][address]["remote_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no OrderId recorded for {address}"))
        .to_string()
}

#[test]
fn a_lost_state_never_creates_a_proposal_twice_and_names_each_import() {
    let sim = sim_with([]);
    let project = Project::with_tenant(&sim);
    project.write("dns.yaml", &dns_proposal(1));
    project.write("hulft.yaml", &hulft_proposal());
    project.apply().expect(0);
    let dns = recorded_order(&project, "Proposal/dns");
    let hulft = recorded_order(&project, "Proposal/hulft");
    assert_eq!(proposals_held(&sim), 2);

    let state = entitle::state::StateFile::new(project.state_path());
    for path in [
        state.backup_path(),
        state.journal_path(),
        project.state_path(),
    ] {
        if path.exists() {
            std::fs::remove_file(path).unwrap();
        }
    }
    let imports = [
        format!("`entitle import Proposal/dns {dns} manifests`"),
        format!("`entitle import Proposal/hulft {hulft} manifests`"),
    ];
    let plan = project.plan().expect(1);
    let refused = project.apply().expect(1);
    for run in [&plan, &refused] {
        for import in &imports {
            assert!(
                run.stderr.contains(import.as_str()),
                "{import}: {}",
                said(run)
            );
        }
    }
    assert_eq!(proposals_held(&sim), 2, "nothing submitted twice");

    // The commands the errors give bind them again.
    project.import("Proposal/dns", &dns).expect(0);
    project.import("Proposal/hulft", &hulft).expect(0);
    project.plan().expect(0);
    assert_eq!(proposals_held(&sim), 2);
}

#[test]
fn without_the_proposal_list_proposals_are_read_by_order_id_and_a_lost_create_is_refused() {
    let sim = sim_with([Behaviour::NoProposalList]);
    let project = Project::with_tenant(&sim);
    project.write("dns.yaml", &dns_proposal(1));
    project.apply().expect(0);
    let order = recorded_order(&project, "Proposal/dns");

    // A changed row is an update of the proposal read by its OrderId.
    project.write("dns.yaml", &dns_proposal(2));
    sim.reset_metrics();
    let plan = project.plan().expect(2);
    assert!(
        plan.stdout.contains("~ Proposal/dns") && plan.stdout.contains("0 to create"),
        "{}",
        said(&plan)
    );
    assert!(sim.calls(PROPOSAL_DETAIL) >= 1, "{:?}", sim.metrics());
    project.apply().expect(0);
    assert_eq!(recorded_order(&project, "Proposal/dns"), order);
    assert_eq!(proposals_held(&sim), 1);
    project.plan().expect(0);

    // A create whose answer was lost: the state has no OrderId, and the
    // proposal cannot be looked for by its rows without the list.
    let mut state = project.state_file();
    let record = &mut state["resources"]["Proposal/dns"];
    record.as_object_mut().unwrap().remove("remote_id");
    record["status"] = "creating".into();
    std::fs::write(
        project.state_path(),
        serde_json::to_vec_pretty(&state).unwrap(),
    )
    .unwrap();
    let plan = project.plan().expect(1);
    let refused = project.apply().expect(1);
    for run in [&plan, &refused] {
        assert!(
            run.stderr.contains("Proposal/dns")
                && run.stderr.contains("did not learn its OrderId")
                && run
                    .stderr
                    .contains("`entitle import Proposal/dns ORDER_ID manifests`"),
            "{}",
            said(run)
        );
    }
    assert_eq!(proposals_held(&sim), 1, "not submitted again");
}

const TOKENS: &str = "POST /v3/auth/tokens";
const PROPOSAL_SUBMIT: &str = "POST /v1/proposal/update/{tenant_id}";

/// A simulator with `behaviours` whose Keystone tokens live two and a
/// quarter seconds, its clock ten minutes ahead, so that the client trusts
/// a cached token until the server refuses it.
fn sim_whose_tokens_expire_mid_run(behaviours: &[Behaviour]) -> TestSim {
    let sim = TestSim::with_config(SimConfig {
        provisioning_delay: Duration::from_millis(50),
        token_ttl: Duration::from_millis(2250),
        behaviours: Behaviours::new(behaviours.iter().copied()),
        ..SimConfig::default()
    });
    sim.advance_clock(600);
    sim
}

/// A one-row DNS proposal applied, then two rows declared, with every
/// request taking a second and a half and the metrics cleared: the next
/// run's token expires at the server between two of its requests.
fn applied_then_changed_on_a_slow_server(project: &Project<'_>, sim: &TestSim) {
    project.write("dns.yaml", &dns_proposal(1));
    project.apply().expect(0);
    project.write("dns.yaml", &dns_proposal(2));
    sim.set_faults(serde_json::json!({ "latency_ms": 1500 }));
    sim.reset_metrics();
}

/// A proposal change applied with a token that expires between the list
/// and the submission: every request takes a second and a half, a token
/// lives two and a quarter, and the simulator's clock runs ten minutes
/// ahead, so the client trusts its cached token until the server refuses
/// it (with 401 or 403, as `behaviours` say). The token is renewed and the
/// submission sent once more (and so is the read-back after it).
fn a_refused_proposal_token_is_renewed(behaviours: &[Behaviour]) {
    let sim = sim_whose_tokens_expire_mid_run(behaviours);
    let project = Project::with_tenant(&sim);
    applied_then_changed_on_a_slow_server(&project, &sim);
    let run = project.apply().expect(0);
    assert!(run.stdout.contains("1 done, 0 failed"), "{}", said(&run));
    assert_eq!(
        sim.calls(PROPOSAL_SUBMIT),
        2,
        "refused once, then sent again: {:?}",
        sim.metrics()
    );
    assert!(sim.calls(TOKENS) >= 2, "renewed: {:?}", sim.metrics());
    sim.set_faults(serde_json::json!({}));
    project.plan().expect(0);
    assert_eq!(proposals_held(&sim), 1);
}

#[test]
fn a_proposal_token_refused_with_401_is_renewed_and_the_apply_succeeds() {
    a_refused_proposal_token_is_renewed(&[Behaviour::ProposalAuth401]);
}

#[test]
fn a_proposal_token_refused_with_403_is_renewed_and_the_apply_succeeds() {
    a_refused_proposal_token_is_renewed(&[]);
}

const SUBSCRIBE: &str = "POST /companies/{companyId}/subscriptions";

#[test]
fn a_subscribe_answered_204_is_read_back_and_recorded_with_its_id() {
    let sim = sim_with([Behaviour::Empty204]);
    let project = Project::new(&sim);
    project.write("msp.yaml", &paid_subscription(false));
    let run = project.apply().expect(0);
    assert!(run.stdout.contains("2 done, 0 failed"), "{}", said(&run));
    assert_eq!(sim.calls(SUBSCRIBE), 1, "{:?}", sim.metrics());
    // The empty answer is expected, not a failure to resolve.
    assert!(!run.stderr.contains("reading back"), "{}", said(&run));

    let company = sim
        .redstor_tree()
        .into_iter()
        .find(|c| c.company_name == "contoso")
        .unwrap();
    let subscriptions = sim.redstor_subscriptions(company.company_id);
    assert_eq!(subscriptions.len(), 1);
    let id = subscriptions[0].subscription_id.to_string();
    assert!(
        run.stdout.contains(&format!("subscribed ({id})")),
        "{}",
        said(&run)
    );
    let record = &project.state()["resources"]["RedstorSubscription/contoso-m365"];
    assert_eq!(record["remote_id"], id.as_str(), "{record:#}");
    assert_eq!(record["status"], "ready", "{record:#}");
    project.plan().expect(0);
}

/// The same in a plan: without the list (which answers 404 before it
/// looks at the token), the proposal is read by its OrderId after the
/// token has expired at the server; the refused read is renewed and
/// repeated, and the plan shows the change.
#[test]
fn a_proposal_token_refused_with_401_while_reading_by_order_id_is_renewed_and_the_plan_succeeds() {
    let sim =
        sim_whose_tokens_expire_mid_run(&[Behaviour::ProposalAuth401, Behaviour::NoProposalList]);
    let project = Project::with_tenant(&sim);
    applied_then_changed_on_a_slow_server(&project, &sim);
    let plan = project.plan().expect(2);
    assert!(plan.stdout.contains("~ Proposal/dns"), "{}", said(&plan));
    assert_eq!(
        sim.calls(PROPOSAL_DETAIL),
        2,
        "refused once, then read again: {:?}",
        sim.metrics()
    );
    assert_eq!(sim.calls(TOKENS), 2, "renewed once: {:?}", sim.metrics());
}
