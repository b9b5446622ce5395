//! Bulk upgrades coalesce, and a killed apply converges: the claims about
//! API calls and crash safety, measured against the simulator.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::Duration;

use entitle::api::redstor::TrialStatus;
use serde_json::json;

use crate::support::*;

fn licenses(count: usize, version: &str) -> String {
    (0..count)
        .map(|i| license_yaml(&format!("lic-{i:03}"), PLAN_ADVANCED_9, 1, version, ""))
        .collect()
}

#[test]
fn upgrading_250_licenses_costs_three_bulk_calls() {
    let sim = TestSim::start();
    let project = Project::with_tenant(&sim);
    project.write("licenses.yaml", &licenses(250, "9.0"));
    project.apply_with(&["--parallelism", "32"]).expect(0);

    // Created today: an upgrade must wait for tomorrow.
    project.write("licenses.yaml", &licenses(250, "10.0"));
    let today = project.plan().expect(0);
    assert!(today.stdout.contains("Deferred"), "{}", today.stdout);
    assert!(today.stdout.contains("250 deferred"), "{}", today.stdout);

    sim.advance_clock(86_400);
    sim.reset_metrics();
    let plan = project.plan().expect(2);
    assert!(
        plan.stdout.contains("250 to upgrade in 3 call(s)"),
        "{}",
        plan.stdout
    );
    project.apply().expect(0);
    let metrics = sim.metrics();
    assert_eq!(
        metrics.get("POST /v2/arcserve-udp/{tenant_id}/bulk-license-upgrade"),
        Some(&3),
        "{metrics:?}"
    );
    for per_license in [
        "PATCH /v2/arcserve-udp/{tenant_id}/licenses/{license_id}",
        "POST /v2/arcserve-udp/{tenant_id}/licenses/{license_id}/issue-key",
        "POST /v2/arcserve-udp/{tenant_id}/licenses",
    ] {
        assert_eq!(metrics.get(per_license), None, "{per_license}: {metrics:?}");
    }
    assert!(project.live().iter().all(|l| l.keys[0].version == "10.0"));
    project.plan().expect(0);
}

/// Kills `entitle apply` at 100 random moments while the simulator answers
/// 10% of requests 500, 5% 429 and drops 2% of answers after making the
/// change; the desired licenses, proposals, Redstor companies (moving
/// between partners, enabled and disabled) and subscriptions (trials
/// converted) change between kills. Then one clean apply must leave exactly
/// the desired objects, each once, and a state that lists exactly them.
#[test]
fn a_killed_apply_converges_without_duplicates() {
    killed_applies_converge(None, 100);
}

/// [`a_killed_apply_converges_without_duplicates`] with the state in
/// `backend` (the file when `None`), killed `runs` times.
pub fn killed_applies_converge(backend: Option<&str>, runs: usize) {
    let sim = TestSim::start();
    let project = Project::on_backend(&sim, backend);
    let seed = std::env::var("ENTITLE_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    println!("chaos seed: {seed} (set ENTITLE_CHAOS_SEED to replay)");
    let mut rng = fastrand::Rng::with_seed(seed);
    sim.set_faults(json!({
        "error_rate": 0.10,
        "rate_429": 0.05,
        "retry_after_secs": 0,
        "drop_rate": 0.02,
    }));

    let mut desired: BTreeSet<String> = BTreeSet::new();
    let mut customers = Customers::default();
    let (mut progressed, mut last_serial) = (0, None);
    // A run killed before it changed anything lets the next one live a
    // little longer, so that on a slow or busy machine the kills still
    // land while work is being done.
    let mut stalled: u64 = 0;
    for run in 0..runs {
        // Each round changes the desired set a little: add, remove, resize.
        let count = 4 + rng.usize(..6);
        desired = (0..count)
            .map(|i| format!("k-{}", (run + i) % 10))
            .collect();
        let text: String = desired
            .iter()
            .map(|name| license_yaml(name, PLAN_ADVANCED_9, 1 + rng.u32(..3), "9.0", ""))
            .collect();
        project.write("licenses.yaml", &text);
        project.write(
            "proposals.yaml",
            &proposals(1 + rng.u32(..4), 1 + rng.u32(..4)),
        );
        customers = Customers::draw(&mut rng, run >= runs / 2);
        project.write("redstor.yaml", &customers.yaml());
        let mut child = project.spawn_apply(&[]);
        std::thread::sleep(Duration::from_millis(rng.u64(100..800) + stalled * 150));
        let _ = child.kill();
        let _ = child.wait();
        let serial = project.serial();
        if serial != last_serial {
            progressed += 1;
            last_serial = serial;
            stalled = 0;
        } else {
            stalled += 1;
        }
    }
    // The kills must land while work is being done, not only before it.
    assert!(
        progressed >= runs / 4,
        "seed {seed}: only {progressed} of {runs} runs changed the state before the kill"
    );
    println!("{progressed} of {runs} killed runs had changed the state");

    sim.set_faults(json!({}));
    let last = project.apply();
    assert_eq!(
        last.code, 0,
        "seed {seed}\n{}\n{}",
        last.stdout, last.stderr
    );
    project.plan().expect(0);

    let live = project.live();
    let names: Vec<String> = live.iter().map(|l| l.name.clone()).collect();
    let unique: BTreeSet<String> = names.iter().cloned().collect();
    assert_eq!(
        names.len(),
        unique.len(),
        "seed {seed}: a license exists twice: {names:?}"
    );
    assert_eq!(unique, desired, "seed {seed}: live differs from desired");
    let state = project.state();
    let recorded: BTreeSet<String> = state["resources"]
        .as_object()
        .unwrap()
        .keys()
        .filter_map(|a| a.strip_prefix("ArcserveLicense/"))
        .map(str::to_string)
        .collect();
    assert_eq!(
        recorded, desired,
        "seed {seed}: the state lists other licenses"
    );
    // Each proposal exists once, bound in the state.
    for (service, address) in [(1, "Proposal/p-hulft"), (8, "Proposal/p-dns")] {
        let listed = sim
            .block_on(sim.proposals(TENANT_A).list(service, 2))
            .unwrap();
        assert_eq!(
            listed.len(),
            1,
            "seed {seed}: service {service}: {listed:?}"
        );
        assert_eq!(
            state["resources"][address]["remote_id"].as_str(),
            Some(listed[0].order_id.as_str()),
            "seed {seed}: {address}"
        );
    }
    customers.check(&sim, &state, seed);
    for (address, record) in state["resources"].as_object().unwrap() {
        assert_eq!(record["status"], "ready", "{address}");
        if address.starts_with("ArcserveLicense/") {
            let id = record["remote_id"].as_str().unwrap();
            assert!(
                live.iter().any(|l| l.id.to_string() == id),
                "{address} -> {id}"
            );
        }
    }
}

/// The Redstor part of a chaos round: two partners, and some of six
/// customers, each under one of them, enabled or not, each with a Google
/// Workspace subscription that is a trial in the first half of the run.
#[derive(Default)]
struct Customers {
    /// name -> (parent, enabled)
    chosen: BTreeMap<String, (&'static str, bool)>,
    trial: bool,
}

impl Customers {
    fn draw(rng: &mut fastrand::Rng, converted: bool) -> Self {
        let mut chosen = BTreeMap::new();
        for i in 0..6 {
            if rng.bool() {
                let parent = if rng.bool() { "pa" } else { "pb" };
                chosen.insert(format!("c-{i}"), (parent, rng.u8(..4) != 0));
            }
        }
        Customers {
            chosen,
            trial: !converted,
        }
    }

    fn yaml(&self) -> String {
        let mut text =
            company_yaml("pa", "Partner", None, "") + &company_yaml("pb", "Partner", None, "");
        for (name, (parent, enabled)) in &self.chosen {
            text.push_str(&company_yaml(
                name,
                "Customer",
                Some(parent),
                &format!("  enabled: {enabled}\n"),
            ));
            text.push_str(&subscription_yaml(
                &format!("{name}-gws"),
                name,
                "GWS",
                "Standard",
                &format!("  trial: {}\n", self.trial),
            ));
        }
        text
    }

    /// The account holds exactly the desired tree, each company once, and
    /// the state binds each address to it.
    fn check(&self, sim: &TestSim, state: &serde_json::Value, seed: u64) {
        let tree = sim.redstor_tree();
        let mut names: Vec<&str> = tree.iter().map(|c| c.company_name.as_str()).collect();
        names.sort_unstable();
        let mut wanted: Vec<&str> = self.chosen.keys().map(String::as_str).collect();
        wanted.extend(["pa", "pb"]);
        wanted.sort_unstable();
        assert_eq!(names, wanted, "seed {seed}: the Redstor tree");
        let id_of = |name: &str| {
            tree.iter()
                .find(|c| c.company_name == name)
                .unwrap()
                .company_id
        };
        for (name, (parent, enabled)) in &self.chosen {
            let company = tree.iter().find(|c| &c.company_name == name).unwrap();
            assert_eq!(
                company.parent_company_id,
                Some(id_of(parent)),
                "seed {seed}: {name}"
            );
            assert_eq!(company.is_enabled, *enabled, "seed {seed}: {name}");
            assert_eq!(
                state["resources"][format!("RedstorCompany/{name}")]["remote_id"],
                company.company_id.to_string(),
                "seed {seed}: {name}"
            );
            let subscriptions = sim.redstor_subscriptions(company.company_id);
            assert_eq!(
                subscriptions.len(),
                1,
                "seed {seed}: {name}: {subscriptions:?}"
            );
            let status = if self.trial {
                TrialStatus::Active
            } else {
                TrialStatus::Converted
            };
            let expected = if self.trial {
                vec![status]
            } else {
                vec![status, TrialStatus::NotUsed]
            };
            assert!(
                expected.contains(&subscriptions[0].trial_status),
                "seed {seed}: {name}: {subscriptions:?}"
            );
            assert_eq!(
                state["resources"][format!("RedstorSubscription/{name}-gws")]["remote_id"],
                subscriptions[0].subscription_id.to_string(),
                "seed {seed}: {name}"
            );
        }
        let recorded = state["resources"]
            .as_object()
            .unwrap()
            .keys()
            .filter(|a| a.starts_with("Redstor"))
            .count();
        assert_eq!(
            recorded,
            2 + 2 * self.chosen.len(),
            "seed {seed}: Redstor records"
        );
    }
}

/// A HULFT and a FastDNS proposal with the given counts.
fn proposals(hulft: u32, dns: u32) -> String {
    let hulft_row =
        format!("    - product: HULFT8 Manager\n      dc: jp1\n      number: {hulft}\n");
    let dns_row = format!("    - plan: 1zone Plan\n      number: {dns}\n");
    proposal_yaml("p-hulft", "HULFT", "en", "", &hulft_row)
        + &proposal_yaml("p-dns", "FastDNS", "en", "", &dns_row)
}

/// Starts applying 30 new licenses two at a time, the simulator taking
/// `latency_ms` over each request, output captured.
fn start_slow_apply(project: &Project<'_>, latency_ms: u64) -> std::process::Child {
    project.write("licenses.yaml", &licenses(30, "9.0"));
    project.sim.set_faults(json!({ "latency_ms": latency_ms }));
    project.spawn_apply(&["--parallelism", "2"])
}

/// Ctrl-C: nothing new starts, what is in flight finishes and is recorded,
/// the lock is released, and the next apply picks up the rest.
#[cfg(unix)]
#[test]
fn ctrl_c_finishes_what_is_in_flight_and_saves_the_state() {
    let sim = TestSim::start();
    let project = Project::with_tenant(&sim);
    let child = start_slow_apply(&project, 150);
    std::thread::sleep(Duration::from_millis(2500));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("Apply interrupted"), "{stderr}");
    assert!(
        stderr.contains("finishing the actions in flight"),
        "{stderr}"
    );
    assert!(
        !project.dir.path().join("entitle.state.json.lock").exists(),
        "the lock is released"
    );
    let journal = project.dir.path().join("entitle.state.json.journal");
    assert!(
        !journal.exists(),
        "the journal is folded into the state file on the way out"
    );
    let state = project.state();
    let records = state["resources"].as_object().unwrap();
    assert!(
        !records.is_empty() && records.len() < 30,
        "{} recorded",
        records.len()
    );
    for (address, record) in records {
        assert_eq!(
            record["status"], "ready",
            "{address} was in flight and must have finished"
        );
    }

    sim.set_faults(json!({}));
    project.apply().expect(0);
    project.plan().expect(0);
    assert_eq!(project.live().len(), 30);
}

/// A killed apply leaves its journal: every command reads it with the state
/// file, the next whole write (here `state rm`) folds it in, and the next
/// apply converges.
#[test]
fn a_killed_apply_leaves_a_journal_that_every_command_reads() {
    let sim = TestSim::start();
    let project = Project::with_tenant(&sim);
    let mut child = start_slow_apply(&project, 100);
    let journal = project.dir.path().join("entitle.state.json.journal");
    let started = std::time::Instant::now();
    while !journal.exists() && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(600));
    child.kill().unwrap();
    child.wait().unwrap();
    sim.set_faults(json!({}));
    assert!(journal.exists(), "a killed apply does not fold its journal");

    let in_file = project.state_file();
    let state = project.state();
    let records = state["resources"].as_object().unwrap();
    assert!(
        records.len() > in_file["resources"].as_object().unwrap().len(),
        "the journal holds records the file does not"
    );
    let listed = project.run(&["state", "list"]).expect(0);
    for address in records.keys() {
        assert!(
            listed.stdout.contains(address.as_str()),
            "{address} listed:\n{}",
            listed.stdout
        );
    }

    let (gone, record) = records
        .iter()
        .find(|(_, r)| r["status"] == "ready")
        .expect("a license was made before the kill");
    let (gone, id) = (
        gone.clone(),
        record["remote_id"].as_str().unwrap().to_string(),
    );
    project.run(&["state", "rm", &gone]).expect(0);
    assert!(!journal.exists(), "a whole write folds the journal in");
    let folded = project.state_file();
    assert_eq!(
        folded["resources"].as_object().unwrap().len(),
        records.len() - 1
    );
    assert_eq!(folded["resources"].get(&gone), None);

    // The license whose record was removed stays on the server, unmanaged,
    // until it is imported again.
    project.run(&["import", &gone, &id]).expect(0);
    project.apply().expect(0);
    project.plan().expect(0);
    assert_eq!(project.live().len(), 30);
}
