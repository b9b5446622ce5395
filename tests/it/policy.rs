//! Guardrails: a `Policy` in the manifests stops plans and applies that
//! delete, replace or touch what it protects, or apply outside its change
//! windows; `--override-policy` lets one rule through and the state
//! records it. The real binary against the simulator.

use serde_json::Value;

use crate::lifecycle::two_licenses as project;
use crate::pg_cluster::PgCluster;
use crate::support::*;

fn policy_yaml(spec: &str) -> String {
    format!("apiVersion: entitle/v1\nkind: Policy\nmetadata:\n  name: guardrails\nspec:\n{spec}")
}

/// Two licenses applied, then `db` gone from the manifests.
fn one_license_to_delete(sim: &TestSim) -> Project<'_> {
    let project = project(sim);
    project.apply().expect(0);
    project.write(
        "licenses.yaml",
        &license_yaml("web", PLAN_ADVANCED_9, 2, "9.0", ""),
    );
    project
}

#[test]
fn max_deletes_zero_stops_a_plan_that_deletes_one_license_in_every_format() {
    let sim = TestSim::start();
    let project = one_license_to_delete(&sim);
    project.write("policy.yaml", &policy_yaml("  maxDeletes: 0\n"));

    let text = project
        .run(&["plan", "manifests", "--color", "never"])
        .expect(1);
    assert!(
        text.stdout.contains(
            "BROKEN maxDeletes: the plan deletes 1 resource, more than maxDeletes (0) allows: ArcserveLicense/db"
        ),
        "{}",
        text.stdout
    );
    assert!(
        text.stderr
            .contains("the plan breaks policy `guardrails` (manifests/policy.yaml:1:1)"),
        "{}",
        text.stderr
    );
    assert!(
        text.stderr.contains("--override-policy maxDeletes"),
        "{}",
        text.stderr
    );

    let json = project.plan_as("json").expect(1);
    let plan: Value = serde_json::from_str(&json.stdout).unwrap();
    let violation = &plan["policy"]["violations"][0];
    assert_eq!(violation["rule"], "maxDeletes", "{plan}");
    assert_eq!(violation["addresses"][0], "ArcserveLicense/db");
    assert_eq!(violation["overridden"], false);

    let markdown = project.plan_as("markdown").expect(1);
    assert!(
        markdown.stdout.contains("maxDeletes"),
        "{}",
        markdown.stdout
    );

    // A blocked plan is not saved.
    project
        .run(&["plan", "manifests", "--out", "plan.json"])
        .expect(1);
    assert!(!project.dir.path().join("plan.json").exists());

    let overridden = project
        .run(&[
            "plan",
            "manifests",
            "--override-policy",
            "maxDeletes",
            "--color",
            "never",
        ])
        .expect(0);
    assert!(
        overridden.stdout.contains("overridden maxDeletes:"),
        "{}",
        overridden.stdout
    );
    // Nothing was deleted by any of it.
    assert_eq!(project.live_names(), ["db", "web"]);

    // The plan apply prints shows the override it was given.
    let applied = project
        .apply_with(&["--override-policy", "maxDeletes", "--color", "never"])
        .expect(0);
    assert!(
        applied.stdout.contains("overridden maxDeletes:") && !applied.stdout.contains("BROKEN"),
        "{}",
        applied.stdout
    );
    assert_eq!(project.live_names(), ["web"]);
}

#[test]
fn a_saved_plan_made_before_the_policy_is_refused_until_overridden_and_the_state_records_it() {
    let sim = TestSim::start();
    let project = one_license_to_delete(&sim);
    project
        .run(&["plan", "manifests", "--out", "plan.json"])
        .expect(0);
    project.write("policy.yaml", &policy_yaml("  maxDeletes: 0\n"));
    let serial = project.serial();

    let refused = project.run(&["apply", "plan.json"]).expect(1);
    assert!(refused.stderr.contains("maxDeletes"), "{}", refused.stderr);
    assert_eq!(project.live_names(), ["db", "web"], "nothing applied");
    assert_eq!(project.serial(), serial, "nothing recorded");

    let applied = project
        .run(&["apply", "plan.json", "--override-policy", "maxDeletes"])
        .expect(0);
    assert!(
        applied
            .stderr
            .contains("Policy `guardrails`: maxDeletes overridden; recorded in the state"),
        "{}",
        applied.stderr
    );
    assert_eq!(project.live_names(), ["web"]);
    let state = project.state();
    let recorded = &state["policy_overrides"][0];
    assert_eq!(recorded["rule"], "maxDeletes", "{state}");
    assert!(
        recorded["violation"]
            .as_str()
            .unwrap()
            .contains("ArcserveLicense/db"),
        "{recorded}"
    );
    assert_eq!(recorded["operation"], "apply plan.json");
    assert!(recorded["by"].as_str().unwrap().contains('@'));
}

#[test]
fn an_override_made_at_plan_time_travels_with_the_saved_plan() {
    let sim = TestSim::start();
    let project = one_license_to_delete(&sim);
    project.write("policy.yaml", &policy_yaml("  maxDeletes: 0\n"));
    project
        .run(&[
            "plan",
            "manifests",
            "--override-policy",
            "maxDeletes",
            "--out",
            "plan.json",
        ])
        .expect(0);
    project.run(&["apply", "plan.json"]).expect(0);
    assert_eq!(project.live_names(), ["web"]);
    assert_eq!(project.state()["policy_overrides"][0]["rule"], "maxDeletes");
}

#[test]
fn protected_tenants_addresses_and_company_subtrees_are_neither_deleted_nor_replaced() {
    let sim = TestSim::start();
    let project = one_license_to_delete(&sim);
    for (protect, says) in [
        (
            "    - tenant: prod\n",
            "`tenant: prod` is protected, and the plan deletes ArcserveLicense/db",
        ),
        (
            "    - address: \"ArcserveLicense/d*\"\n",
            "`address: ArcserveLicense/d*` is protected, and the plan deletes ArcserveLicense/db",
        ),
    ] {
        project.write(
            "policy.yaml",
            &policy_yaml(&format!("  protect:\n{protect}")),
        );
        let run = project
            .run(&["plan", "manifests", "--color", "never"])
            .expect(1);
        assert!(run.stdout.contains(says), "{}", run.stdout);
    }
    // A glob that does not reach it lets the plan through.
    project.write(
        "policy.yaml",
        &policy_yaml("  protect:\n    - address: \"ArcserveLicense/web\"\n"),
    );
    let run = project
        .run(&["plan", "manifests", "--color", "never"])
        .expect(0);
    assert!(
        run.stdout.contains(
            "Policy `guardrails` (manifests/policy.yaml:1:1): the plan keeps every rule."
        ),
        "{}",
        run.stdout
    );

    // A customer below a protected partner.
    let redstor =
        company_yaml("pa", "Partner", None, "") + &company_yaml("c1", "Customer", Some("pa"), "");
    project.write("redstor.yaml", &redstor);
    project.remove("policy.yaml");
    project
        .apply_with(&["--override-policy", "maxDeletes"])
        .expect(0);
    project.write("redstor.yaml", &company_yaml("pa", "Partner", None, ""));
    project.write(
        "policy.yaml",
        &policy_yaml("  protect:\n    - redstorCompany: pa\n"),
    );
    let run = project
        .run(&["plan", "manifests", "--color", "never"])
        .expect(1);
    assert!(
        run.stdout
            .contains("`redstorCompany: pa` is protected, and the plan deletes RedstorCompany/c1"),
        "{}",
        run.stdout
    );
    let refused = project.apply().expect(1);
    assert!(refused.stderr.contains("protect"), "{}", refused.stderr);
    assert!(sim.redstor_tree().iter().any(|c| c.company_name == "c1"));
}

/// `HH:00-HH:00` an hour long, starting two hours from now (UTC): closed now.
fn closed_window() -> String {
    let hour = time::OffsetDateTime::now_utc().hour();
    let (start, end) = ((hour + 2) % 24, (hour + 3) % 24);
    format!(
        "  changeWindows:\n    - days: [Mon, Tue, Wed, Thu, Fri, Sat, Sun]\n      hours: \"{start:02}:00-{end:02}:00\"\n      timeZone: UTC\n"
    )
}

#[test]
fn outside_the_change_windows_plan_warns_and_apply_refuses() {
    let sim = TestSim::start();
    let project = one_license_to_delete(&sim);
    project.write("policy.yaml", &policy_yaml(&closed_window()));
    let plan = project
        .run(&["plan", "manifests", "--color", "never"])
        .expect(0);
    assert!(
        plan.stdout
            .contains("warning: it is outside every change window"),
        "{}",
        plan.stdout
    );
    let refused = project.apply().expect(1);
    assert!(
        refused
            .stderr
            .contains("changeWindows: it is outside every change window"),
        "{}",
        refused.stderr
    );
    assert_eq!(project.live_names(), ["db", "web"]);

    // A window open all week lets it through.
    project.write(
        "policy.yaml",
        &policy_yaml(
            "  changeWindows:\n    - days: [Mon, Tue, Wed, Thu, Fri, Sat, Sun]\n      hours: \"00:00-24:00\"\n      timeZone: Asia/Tokyo\n",
        ),
    );
    project.apply().expect(0);
    assert_eq!(project.live_names(), ["web"]);
}

#[test]
fn an_emergency_change_outside_the_windows_is_an_override_on_record() {
    let sim = TestSim::start();
    let project = one_license_to_delete(&sim);
    project.write("policy.yaml", &policy_yaml(&closed_window()));
    project
        .apply_with(&["--override-policy", "changeWindows"])
        .expect(0);
    assert_eq!(project.live_names(), ["web"]);
    assert_eq!(
        project.state()["policy_overrides"][0]["rule"],
        "changeWindows"
    );
}

#[test]
fn policy_mistakes_name_the_file_line_and_field() {
    let sim = TestSim::start();
    let project = project(&sim);
    let cases = [
        ("  maxDeletes: -1\n", "spec.maxDeletes"),
        (
            "  protect:\n    - address: \"ArcserveLicense/[\"\n",
            "spec.protect[0].address",
        ),
        (
            "  changeWindows:\n    - days: [Mon]\n      hours: \"09:00-17:00\"\n      timeZone: Europe/Berln\n",
            "spec.changeWindows[0].timeZone",
        ),
        (
            "  changeWindows:\n    - days: [Monday]\n      hours: \"09:00-17:00\"\n      timeZone: UTC\n",
            "spec.changeWindows[0].days[0]",
        ),
        ("  maxDelete: 1\n", "spec.maxDelete"),
    ];
    for (spec, field) in cases {
        project.write("policy.yaml", &policy_yaml(spec));
        let run = project.run(&["validate", "manifests"]).expect(1);
        assert!(
            run.stderr.contains("manifests/policy.yaml:"),
            "{spec}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains(&format!("field: {field}")),
            "{spec}: {}",
            run.stderr
        );
    }
    project.write("policy.yaml", &policy_yaml("  maxDeletes: 1\n"));
    project.write(
        "z-policy.yaml",
        &policy_yaml("  maxDeletes: 2\n").replace("guardrails", "second"),
    );
    let run = project.run(&["validate", "manifests"]).expect(1);
    assert!(
        run.stderr.contains("a second Policy, `second`")
            && run.stderr.contains("manifests/z-policy.yaml:1:1")
            && run
                .stderr
                .contains("manifests/policy.yaml:1:1 (policy `guardrails` is declared here)"),
        "{}",
        run.stderr
    );
    let run = project.run(&["plan", "manifests", "--override-policy", "maxDelets"]);
    assert_eq!(run.code, 1, "a usage error: {}", run.stderr);
    assert!(
        run.stderr
            .contains("the rules are maxDeletes, maxReplaces, protect, changeWindows"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_database_keeps_the_override_and_its_history_names_it() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.create_database("policy");
    let sim = TestSim::start();
    let project = Project::on_backend(&sim, Some(&url));
    project.write(
        "licenses.yaml",
        &(license_yaml("web", PLAN_ADVANCED_9, 2, "9.0", "")
            + &license_yaml("db", PLAN_ADVANCED_9, 1, "9.0", "")),
    );
    project.apply().expect(0);
    project.write(
        "licenses.yaml",
        &license_yaml("web", PLAN_ADVANCED_9, 2, "9.0", ""),
    );
    project.write("policy.yaml", &policy_yaml("  maxDeletes: 0\n"));
    project.apply().expect(1);
    project
        .apply_with(&["--override-policy", "maxDeletes"])
        .expect(0);
    let state = project.state();
    assert_eq!(
        state["policy_overrides"][0]["rule"], "maxDeletes",
        "{state}"
    );
    let history = project.run(&["state", "history"]).expect(0);
    assert!(
        history
            .stdout
            .contains("apply --override-policy maxDeletes"),
        "{}",
        history.stdout
    );
    // Later writes keep it.
    project
        .run(&["state", "rm", "ArcserveLicense/web"])
        .expect(0);
    assert_eq!(project.state()["policy_overrides"][0]["rule"], "maxDeletes");
}

#[test]
fn drift_leaves_out_what_drift_ignore_lists_and_counts_it() {
    let sim = TestSim::start();
    let project = project(&sim);
    project.apply().expect(0);
    for name in ["legacy-1", "legacy-2", "stray"] {
        sim.block_on(sim.arcserve(TENANT_A).create_license(&new_license(name, 1)))
            .unwrap();
    }
    let before = project.drift().expect(2);
    assert!(before.stdout.contains("legacy-1"), "{}", before.stdout);

    project.write(
        "policy.yaml",
        &policy_yaml(
            "  driftIgnore:\n    - kind: ArcserveLicense\n      name: \"legacy-*\"\n      tenant: prod\n",
        ),
    );
    let after = project.drift().expect(2);
    assert!(!after.stdout.contains("legacy-"), "{}", after.stdout);
    assert!(after.stdout.contains("stray"), "{}", after.stdout);
    assert!(
        after
            .stdout
            .contains("2 unmanaged object(s) left out: the policy's driftIgnore lists them."),
        "{}",
        after.stdout
    );
    let json: Value = serde_json::from_str(&project.drift_as("json").expect(2).stdout).unwrap();
    assert_eq!(json["counts"]["ignored_unmanaged"], 2, "{json}");
    assert_eq!(json["counts"]["unmanaged"], 1);

    // Another tenant's name does not match: nothing is left out.
    project.write(
        "policy.yaml",
        &policy_yaml("  driftIgnore:\n    - name: \"*\"\n      tenant: staging\n"),
    );
    let json: Value = serde_json::from_str(&project.drift_as("json").expect(2).stdout).unwrap();
    assert_eq!(json["counts"]["ignored_unmanaged"], 0, "{json}");
    // Everything unmanaged ignored: no drift, exit 0.
    project.write(
        "policy.yaml",
        &policy_yaml("  driftIgnore:\n    - tenant: prod\n"),
    );
    project.drift().expect(0);

    project.write(
        "policy.yaml",
        &policy_yaml("  driftIgnore:\n    - kind: License\n"),
    );
    let run = project.run(&["validate", "manifests"]).expect(1);
    assert!(
        run.stderr.contains("field: spec.driftIgnore[0].kind"),
        "{}",
        run.stderr
    );
    project.write("policy.yaml", &policy_yaml("  driftIgnore:\n    - {}\n"));
    project.run(&["validate", "manifests"]).expect(1);
}

#[test]
fn a_policy_refusal_annotates_the_policy_document_in_github_format() {
    let sim = TestSim::start();
    let project = one_license_to_delete(&sim);
    project.write("policy.yaml", &policy_yaml("  maxDeletes: 0\n"));
    let run = project
        .run(&["plan", "manifests", "--error-format", "github"])
        .expect(1);
    assert!(
        run.stderr.contains(
            "::error file=manifests/policy.yaml,line=1,col=1,title=spec.maxDeletes::policy `guardrails`: the plan deletes 1 resource"
        ),
        "{}",
        run.stderr
    );
}
