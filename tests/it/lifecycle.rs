//! The whole loop through the real binary: plan, apply, update, replace,
//! delete, orphan, preventDestroy, import, drift, saved plans, the lock. The
//! plans and drift reports each step prints are snapshot-tested, the ids the
//! simulator made redacted.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entitle::api::arcserve::LicenseChanges;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::support::*;

/// A project with two licenses in `prod`: `web` with 2 keys, `db` with 1.
pub fn two_licenses(sim: &TestSim) -> Project<'_> {
    let project = Project::with_tenant(sim);
    project.write(
        "licenses.yaml",
        &(license_yaml("web", PLAN_ADVANCED_9, 2, "9.0", "")
            + &license_yaml("db", PLAN_ADVANCED_9, 1, "9.0", "")),
    );
    project
}

#[test]
fn apply_from_empty_then_a_second_plan_is_empty() {
    let sim = TestSim::start();
    let project = two_licenses(&sim);

    let plan = project.plan().expect(2);
    insta::assert_snapshot!("create-two", redact(&plan.stdout));

    project.apply().expect(0);
    let live = project.live();
    assert_eq!(live.len(), 2);
    for license in &live {
        assert_eq!(license.status, "Active");
        assert_eq!(license.keys.len(), 1, "{license:?}");
    }
    let state = project.state();
    assert_eq!(state["resources"].as_object().unwrap().len(), 2);
    assert_eq!(state["resources"]["ArcserveLicense/web"]["status"], "ready");

    let again = project.plan().expect(0);
    assert!(again.stdout.contains("No changes"), "{}", again.stdout);
}

#[test]
fn a_changed_key_count_is_updated_in_place() {
    let sim = TestSim::start();
    let project = two_licenses(&sim);
    project.apply().expect(0);
    let id_before = project.state()["resources"]["ArcserveLicense/web"]["remote_id"].clone();

    project.write(
        "licenses.yaml",
        &(license_yaml("web", PLAN_ADVANCED_9, 5, "9.0", "")
            + &license_yaml("db", PLAN_ADVANCED_9, 1, "9.0", "")),
    );
    let plan = project.plan().expect(2);
    insta::assert_snapshot!("update-in-place", redact(&plan.stdout));
    project.apply().expect(0);
    let web = project.live_named("web");
    assert_eq!(web.number_of_standalone_keys, 5);
    assert_eq!(
        project.state()["resources"]["ArcserveLicense/web"]["remote_id"],
        id_before
    );
    project.plan().expect(0);
}

#[test]
fn a_changed_plan_replaces_the_license() {
    let sim = TestSim::start();
    let project = two_licenses(&sim);
    project.apply().expect(0);
    let old = project.state()["resources"]["ArcserveLicense/web"]["remote_id"].clone();

    project.write(
        "licenses.yaml",
        &(license_yaml("web", PLAN_PREMIUM_9, 2, "9.0", "")
            + &license_yaml("db", PLAN_ADVANCED_9, 1, "9.0", "")),
    );
    let plan = project.plan().expect(2);
    insta::assert_snapshot!("replace", redact(&plan.stdout));
    project.apply().expect(0);
    let new = project.state()["resources"]["ArcserveLicense/web"]["remote_id"].clone();
    assert_ne!(old, new);
    let live = project.live();
    assert_eq!(live.len(), 2);
    assert!(
        live.iter()
            .all(|l| l.id.to_string() != old.as_str().unwrap())
    );
    project.plan().expect(0);
}

#[test]
fn a_removed_manifest_deletes_and_orphan_forgets() {
    let sim = TestSim::start();
    let project = Project::with_tenant(&sim);
    project.write(
        "web.yaml",
        &license_yaml("web", PLAN_ADVANCED_9, 1, "9.0", ""),
    );
    project.write(
        "archive.yaml",
        &license_yaml(
            "archive",
            PLAN_ADVANCED_9,
            1,
            "9.0",
            "  lifecycle:\n    deletionPolicy: Orphan\n",
        ),
    );
    project.apply().expect(0);

    project.remove("web.yaml").remove("archive.yaml");
    let plan = project.plan().expect(2);
    insta::assert_snapshot!("delete-and-forget", redact(&plan.stdout));
    project.apply().expect(0);

    let names: Vec<String> = project.live().into_iter().map(|l| l.name).collect();
    assert_eq!(names, ["archive"], "the orphan stays, the other is gone");
    assert_eq!(project.state()["resources"], json!({}));
    project.plan().expect(0);
}

#[test]
fn prevent_destroy_refuses_the_delete() {
    let sim = TestSim::start();
    let project = Project::with_tenant(&sim);
    project.write(
        "db.yaml",
        &license_yaml(
            "db",
            PLAN_ADVANCED_9,
            1,
            "9.0",
            "  lifecycle:\n    preventDestroy: true\n",
        ),
    );
    project.apply().expect(0);
    project.remove("db.yaml");
    let plan = project.plan().expect(1);
    assert!(plan.stderr.contains("preventDestroy"), "{}", plan.stderr);
    assert!(plan.stderr.contains("hint:"), "{}", plan.stderr);
    assert_eq!(project.live().len(), 1);
}

#[test]
fn import_binds_an_existing_license() {
    let sim = TestSim::start();
    let project = Project::with_tenant(&sim);
    let client = sim.arcserve(TENANT_A);
    let made = sim
        .block_on(client.create_license(&new_license("legacy", 3)))
        .unwrap();
    sim.settle();
    project.write(
        "legacy.yaml",
        &license_yaml("legacy", PLAN_ADVANCED_9, 3, "9.0", ""),
    );

    let refused = project.plan().expect(1);
    assert!(
        refused
            .stderr
            .contains("entitle import ArcserveLicense/legacy"),
        "{}",
        refused.stderr
    );

    project
        .import("ArcserveLicense/legacy", &made.id.to_string())
        .expect(0);
    let plan = project.plan().expect(2);
    // Only the key the manifest asks for is missing.
    insta::assert_snapshot!("after-import", redact(&plan.stdout));
    project.apply().expect(0);
    assert_eq!(project.live().len(), 1);
    project.plan().expect(0);
}

#[test]
fn drift_reports_changes_deletions_and_unmanaged_licenses() {
    let sim = TestSim::start();
    let project = two_licenses(&sim);
    project.apply().expect(0);
    project.drift().expect(0);

    let client = sim.arcserve(TENANT_A);
    let (web, db) = (project.live_named("web"), project.live_named("db"));
    sim.block_on(client.update_license(
        web.id,
        &LicenseChanges {
            number_of_standalone_keys: Some(9),
            ..LicenseChanges::default()
        },
    ))
    .unwrap();
    sim.block_on(client.delete_license(db.id)).unwrap();
    sim.block_on(client.create_license(&new_license("shadow-it", 1)))
        .unwrap();
    sim.settle();

    let drift = project.drift().expect(2);
    insta::assert_snapshot!("drift-text", redact(&drift.stdout));
    let markdown = project.drift_as("markdown").expect(2);
    insta::assert_snapshot!("drift-markdown", redact(&markdown.stdout));

    let json = project.drift_as("json").expect(2);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["changed"][0]["field"], "standaloneKeys");
    assert_eq!(report["unmanaged"][0]["name"], "shadow-it");
}

#[test]
fn a_stale_saved_plan_is_refused() {
    let sim = TestSim::start();
    let project = two_licenses(&sim);
    project
        .run(&["plan", "manifests", "--out", "first.plan"])
        .expect(0);
    project
        .run(&["plan", "manifests", "--out", "second.plan"])
        .expect(0);
    project.run(&["apply", "first.plan"]).expect(0);
    let stale = project.run(&["apply", "second.plan"]).expect(3);
    assert!(stale.stderr.contains("is stale"), "{}", stale.stderr);
    assert!(
        stale
            .stderr
            .contains("entitle plan manifests --out second.plan"),
        "{}",
        stale.stderr
    );
    assert_eq!(project.live().len(), 2, "nothing applied twice");

    #[cfg(unix)]
    for file in ["first.plan", "entitle.state.json"] {
        assert_owner_only(&project.dir.path().join(file));
    }
}

#[test]
fn a_changed_manifest_makes_a_saved_plan_stale() {
    let sim = TestSim::start();
    let project = two_licenses(&sim);
    project
        .run(&["plan", "manifests", "--out", "p.plan"])
        .expect(0);
    project.write(
        "extra.yaml",
        &license_yaml("extra", PLAN_ADVANCED_9, 1, "9.0", ""),
    );
    let stale = project.run(&["apply", "p.plan"]).expect(3);
    assert!(
        stale.stderr.contains("manifests changed"),
        "{}",
        stale.stderr
    );
    assert!(project.live().is_empty());
}

#[test]
fn apply_without_a_terminal_needs_auto_approve() {
    let sim = TestSim::start();
    let project = two_licenses(&sim);
    let refused = project.run(&["apply", "manifests"]).expect(1);
    assert!(
        refused.stderr.contains("--auto-approve"),
        "{}",
        refused.stderr
    );
    assert!(project.live().is_empty());
}

#[test]
fn two_concurrent_applies_never_lose_state() {
    let sim = TestSim::start();
    let project = two_licenses(&sim);
    project.apply().expect(0);
    let serial_before = project.state()["serial"].as_u64().unwrap();
    project.write(
        "licenses.yaml",
        &(license_yaml("web", PLAN_ADVANCED_9, 4, "9.0", "")
            + &license_yaml("db", PLAN_ADVANCED_9, 3, "9.0", "")),
    );
    let (a, b) = (project.spawn_apply(&[]), project.spawn_apply(&[]));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let codes = [a.status.code(), b.status.code()];
    assert!(codes.contains(&Some(0)), "{codes:?}");
    for output in [&a, &b] {
        if output.status.code() != Some(0) {
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(stderr.contains("the state is locked"), "{stderr}");
        }
    }
    let state = project.state();
    assert!(state["serial"].as_u64().unwrap() > serial_before);
    assert_eq!(state["resources"].as_object().unwrap().len(), 2);
    project.plan().expect(0);
}

#[test]
fn a_waiting_apply_takes_the_lock_when_it_is_released() {
    let sim = TestSim::start();
    let project = two_licenses(&sim);
    let held =
        entitle::state::StateLock::acquire(&project.state_path(), "test", Duration::ZERO).unwrap();
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        drop(held);
    });
    project
        .run(&[
            "--lock-timeout",
            "20s",
            "apply",
            "manifests",
            "--auto-approve",
        ])
        .expect(0);
    releaser.join().unwrap();
    assert_eq!(project.live().len(), 2);
}

#[test]
fn plan_formats_json_and_markdown() {
    let sim = TestSim::start();
    let project = two_licenses(&sim);
    let json = project.plan_as("json").expect(0);
    let plan: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(plan["format_version"], 1);
    assert_eq!(plan["summary"]["create"], 2);
    assert_eq!(plan["actions"][0]["kind"], "create");
    assert!(plan["actions"][0]["reason"].is_string());
    let markdown = project.plan_as("markdown").expect(0);
    insta::assert_snapshot!("create-two-markdown", redact(&markdown.stdout));
}

#[test]
fn state_commands_list_show_mv_and_rm() {
    let sim = TestSim::start();
    let project = two_licenses(&sim);
    project.apply().expect(0);
    let list = project.run(&["state", "list"]).expect(0);
    assert!(
        list.stdout.contains("ArcserveLicense/db"),
        "{}",
        list.stdout
    );
    let show = project
        .run(&["state", "show", "ArcserveLicense/web"])
        .expect(0);
    let record: serde_json::Value = serde_json::from_str(&show.stdout).unwrap();
    assert_eq!(record["natural_key"], "web");
    project
        .run(&["state", "mv", "ArcserveLicense/web", "ArcserveLicense/web2"])
        .expect(0);
    project
        .run(&["state", "rm", "ArcserveLicense/web2"])
        .expect(0);
    let missing = project
        .run(&["state", "show", "ArcserveLicense/web"])
        .expect(1);
    assert!(
        missing.stderr.contains("not in the state"),
        "{}",
        missing.stderr
    );
    assert_eq!(
        project.live().len(),
        2,
        "state edits never touch the server"
    );
    project.run(&["state", "unlock"]).expect(0);
}

#[test]
fn a_failed_action_skips_its_dependents_but_not_independent_ones() {
    let sim = TestSim::start();
    let project = Project::with_tenant(&sim);
    let manifests = |keys: u32| {
        [
            license_yaml("base", PLAN_ADVANCED_9, keys, "9.0", ""),
            license_yaml(
                "child",
                PLAN_ADVANCED_9,
                keys,
                "9.0",
                "  dependsOn: [ArcserveLicense/base]\n",
            ),
            license_yaml("other", PLAN_ADVANCED_9, keys, "9.0", ""),
        ]
        .concat()
    };
    project.write("licenses.yaml", &manifests(1));
    project.apply().expect(0);
    project.write("licenses.yaml", &manifests(2));
    project
        .run(&["plan", "manifests", "--out", "p.plan"])
        .expect(0);

    // `base` disappears behind entitle's back after the plan was made.
    let client = sim.arcserve(TENANT_A);
    let base = project.live_named("base");
    sim.block_on(client.delete_license(base.id)).unwrap();
    sim.settle();

    let run = project.run(&["apply", "p.plan"]).expect(1);
    assert!(
        run.stderr.contains("failed:  update ArcserveLicense/base"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "skipped: update ArcserveLicense/child: update ArcserveLicense/base did not succeed"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("1 done, 1 failed, 1 skipped"),
        "{}",
        run.stderr
    );
    let other = project.live_named("other");
    assert_eq!(
        other.number_of_standalone_keys, 2,
        "the independent branch went on"
    );
}

/// Credentials, keys, assertions and tokens never reach stdout, stderr, the
/// state or a plan file, even at the most verbose log level: ECL and
/// Redstor resources together, through plan, apply, drift and report.
#[test]
fn no_secret_reaches_output_state_or_plans() {
    let sim = TestSim::start();
    let project = two_licenses(&sim);
    project.write(
        "redstor.yaml",
        &(company_yaml("northwind", "Partner", None, "")
            + &subscription_yaml("northwind-m365", "northwind", "O365", "Standard", "")),
    );
    let mut outputs = Vec::new();
    for args in [
        vec!["-vvv", "plan", "manifests", "--out", "p.plan"],
        vec!["-vvv", "apply", "p.plan"],
        vec!["-vvv", "drift", "manifests"],
        vec!["-vvv", "plan", "manifests", "--format", "json"],
        vec!["-vvv", "report", "consumption", "--format", "json"],
        vec!["-vvv", "report", "backups", "--company", "northwind"],
    ] {
        let run = project.run(&args);
        outputs.push(run.stdout);
        outputs.push(run.stderr);
    }
    assert!(
        project.state()["resources"]["RedstorSubscription/northwind-m365"]["remote_id"].is_string(),
        "the Redstor resources were applied"
    );
    for file in ["p.plan", "entitle.state.json", "entitle.state.json.backup"] {
        outputs.push(std::fs::read_to_string(project.dir.path().join(file)).unwrap());
    }
    // The tokens the simulator issued during the runs.
    let dump = sim.control(reqwest::Method::GET, "dump", None);
    let tokens: Vec<String> = dump["tokens"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert!(!tokens.is_empty());
    assert!(
        outputs
            .iter()
            .any(|o| o.contains("DEBUG") || o.contains("TRACE")),
        "the runs were verbose"
    );
    // Redstor tokens are kept by the simulator only as digests: every word
    // of the outputs that could be one is hashed and looked up.
    let redstor_digests: Vec<String> = dump["redstor"]["tokens"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert!(!redstor_digests.is_empty());
    let key = sim.redstor_account().private_key_pem().to_string();
    let key_line = key.lines().nth(5).unwrap().to_string();
    // The start of every assertion entitle signs: {"alg":"RS256","typ":"JWT"}.
    let assertion_start = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9";
    for text in &outputs {
        assert!(
            !text.contains("demo-secret"),
            "the password leaked:\n{text}"
        );
        for token in &tokens {
            assert!(!text.contains(token.as_str()), "a token leaked:\n{text}");
        }
        assert!(!text.contains("PRIVATE KEY"), "a key leaked:\n{text}");
        assert!(!text.contains(&key_line), "a key leaked:\n{text}");
        assert!(
            !text.contains(assertion_start),
            "an assertion leaked:\n{text}"
        );
        for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')) {
            if word.len() >= 40 {
                let digest = URL_SAFE_NO_PAD.encode(Sha256::digest(word.as_bytes()));
                assert!(
                    !redstor_digests.contains(&digest),
                    "a Redstor token leaked:\n{text}"
                );
            }
        }
    }
    // The files that hold state and plans are the owner's alone.
    #[cfg(unix)]
    for file in ["p.plan", "entitle.state.json"] {
        assert_owner_only(&project.dir.path().join(file));
    }
}

#[test]
fn refresh_only_records_drift_in_the_state_and_changes_nothing_live() {
    let sim = TestSim::start();
    let project = two_licenses(&sim);
    project.apply().expect(0);
    let client = sim.arcserve(TENANT_A);
    let web = project.live_named("web");
    sim.block_on(client.update_license(
        web.id,
        &LicenseChanges {
            number_of_standalone_keys: Some(7),
            ..LicenseChanges::default()
        },
    ))
    .unwrap();
    let db = project.live_named("db");
    sim.block_on(client.delete_license(db.id)).unwrap();
    sim.settle();

    let plan = project
        .run(&["plan", "manifests", "--refresh-only", "--detailed-exitcode"])
        .expect(2);
    insta::assert_snapshot!("refresh-only", redact(&plan.stdout));
    sim.reset_metrics();
    project.apply_with(&["--refresh-only"]).expect(0);
    let writes: u64 = sim
        .metrics()
        .iter()
        .filter(|(route, _)| !route.starts_with("GET") && !route.contains("auth/tokens"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(writes, 0, "refresh-only changes nothing on the server");
    let state = project.state();
    assert_eq!(
        state["resources"]["ArcserveLicense/web"]["attributes"]["standaloneKeys"],
        7
    );
    assert!(state["resources"].get("ArcserveLicense/db").is_none());
    project.drift().expect(0);
    // The manifests still say 2 keys and want db: a normal plan puts them back.
    let plan = project.plan().expect(2);
    insta::assert_snapshot!("after-refresh-only", redact(&plan.stdout));
}

#[test]
fn a_wait_that_runs_out_says_so_and_the_next_apply_finishes() {
    let sim = TestSim::with_provisioning_delay(Duration::from_secs(3600));
    let project = Project::with_tenant(&sim);
    project.write(
        "web.yaml",
        &license_yaml("web", PLAN_ADVANCED_9, 1, "9.0", ""),
    );
    let run = project.apply_with(&["--wait-timeout", "1s"]).expect(1);
    assert!(
        run.stderr.contains("still Provisioning after 1s"),
        "{}",
        run.stderr
    );
    let record = &project.state()["resources"]["ArcserveLicense/web"];
    assert_eq!(record["status"], "creating");
    assert!(
        record["remote_id"].is_string(),
        "the id is recorded: {record}"
    );

    sim.advance_clock(7200);
    project.apply().expect(0);
    project.plan().expect(0);
    assert_eq!(project.live().len(), 1, "adopted, not created again");
}

#[test]
fn a_license_without_keys_is_upgraded_once_and_never_downgraded() {
    let sim = TestSim::start();
    let project = Project::with_tenant(&sim);
    let keyless = |version: &str| keyless_license_yaml("bare", PLAN_ADVANCED_9, 1, version, "");
    project.write("bare.yaml", &keyless("9.0"));
    project.apply().expect(0);
    sim.advance_clock(86_400);
    project.write("bare.yaml", &keyless("10.0"));
    let plan = project.plan().expect(2);
    insta::assert_snapshot!("keyless-upgrade", redact(&plan.stdout));
    project.apply().expect(0);
    // Its version cannot be seen on the server; the state remembers it.
    project.plan().expect(0);
    sim.advance_clock(86_400);
    project.plan().expect(0);

    project.write("bare.yaml", &keyless("9.0"));
    let refused = project.plan().expect(1);
    assert!(
        refused.stderr.contains("lower than the license's 10.0"),
        "{}",
        refused.stderr
    );
}

/// A full disk (a file-size limit, which binds root too) in the middle of
/// an apply: a write to the state's journal fails, entitle says so and
/// stops, the state as last recorded reads back whole, and the next apply
/// (with room again) converges without making anything twice. SIGXFSZ is
/// left at its default action (death): entitle itself must keep it from
/// killing the apply.
#[cfg(unix)]
#[test]
fn a_full_disk_leaves_the_previous_state_intact_and_says_so() {
    let sim = TestSim::start();
    let project = two_licenses(&sim);
    project.apply().expect(0);
    let before = std::fs::read(project.state_path()).unwrap();

    // Ten licenses with long names: the journal outgrows the limit (the old
    // state rounded up to 512 bytes) after a few of them.
    let long = |i: usize| format!("{i}-{}", "x".repeat(240));
    let more: String = (0..10)
        .map(|i| license_yaml(&long(i), PLAN_ADVANCED_9, 1, "9.0", ""))
        .collect();
    project.write("more.yaml", &more);
    let blocks = before.len().div_ceil(512);
    let inner = project.std_command();
    let mut command = std::process::Command::new("sh");
    command
        .arg("-c")
        .arg(format!("ulimit -f {blocks}; exec \"$0\" \"$@\""))
        .arg(inner.get_program())
        .args(inner.get_args())
        // One at a time, so that some changes are recorded before the limit.
        .args(["apply", "manifests", "--auto-approve", "--parallelism", "1"]);
    for (name, value) in inner.get_envs() {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    command.current_dir(inner.get_current_dir().unwrap());
    let output = command.output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    println!("{stdout}");
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("entitle.state.json") && stderr.contains("File too large"),
        "the failure names the state file and the cause:\n{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("the state is as last recorded"),
        "it says what is kept:\n{stderr}"
    );
    assert_eq!(
        std::fs::read(project.state_path()).unwrap(),
        before,
        "the state file itself is not touched"
    );
    let recorded = project.state()["resources"].as_object().unwrap().len();
    assert!(
        (3..12).contains(&recorded),
        "the journal's whole lines read back: {recorded} records"
    );
    assert!(
        std::fs::read_dir(project.dir.path()).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".entitle-state-")),
        "no temporary file is left behind"
    );

    project.apply().expect(0);
    project.plan().expect(0);
    let live = project.live();
    assert_eq!(live.len(), 12, "each license once: {live:?}");
}

/// A state file lost while its backup stays: every command refuses, says
/// how to restore it, and nothing is made again.
#[test]
fn a_lost_state_with_its_backup_left_is_refused_not_started_anew() {
    let sim = TestSim::start();
    let project = two_licenses(&sim);
    project.apply().expect(0);
    project
        .run(&["state", "rm", "ArcserveLicense/db"])
        .expect(0);
    let backup = project.dir.path().join("entitle.state.json.backup");
    assert!(backup.exists(), "a whole write keeps the previous state");
    std::fs::remove_file(project.state_path()).unwrap();

    for args in [
        &["plan", "manifests"][..],
        &["apply", "manifests", "--auto-approve"],
        &["drift", "manifests"],
        &["state", "list"],
    ] {
        let run = project.run(args).expect(1);
        assert!(
            run.stderr
                .contains("entitle.state.json does not exist, but its backup")
                && run.stderr.contains("cp "),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert_eq!(project.live().len(), 2, "nothing was made twice");

    std::fs::copy(&backup, project.state_path()).unwrap();
    project.plan().expect(0);
}
