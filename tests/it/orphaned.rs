//! What a team keeps on purpose and what the vendor moves on its own:
//! objects an apply orphaned (`deletionPolicy: Orphan`) are named as such
//! by drift, not as unmanaged, in a state file and in PostgreSQL, where the
//! entry and the record's removal are one transaction; a deletion the
//! vendor scheduled and a trial that ran out are status with a name.

use std::time::Duration;

use entitle::sim::{Behaviour, Behaviours, SimConfig};
use serde_json::Value;

use crate::pg_cluster::PgCluster;
use crate::support::*;

const ORPHAN: &str = "  lifecycle:\n    deletionPolicy: Orphan\n";

/// `web`, and `archive` under `deletionPolicy: Orphan`, applied.
fn applied<'a>(sim: &'a TestSim, backend: Option<&str>) -> Project<'a> {
    let project = Project::on_backend(sim, backend);
    project.write(
        "web.yaml",
        &license_yaml("web", PLAN_ADVANCED_9, 1, "9.0", ""),
    );
    project.write(
        "archive.yaml",
        &license_yaml("archive", PLAN_ADVANCED_9, 1, "9.0", ORPHAN),
    );
    project.apply().expect(0);
    project
}

fn drift_json(project: &Project<'_>, code: i32) -> Value {
    serde_json::from_str(&project.drift_as("json").expect(code).stdout).unwrap()
}

/// A license made in TENANT_A outside entitle.
fn made_by_hand(sim: &TestSim, name: &str) -> String {
    let made = sim
        .block_on(sim.arcserve(TENANT_A).create_license(&new_license(name, 1)))
        .unwrap();
    sim.settle();
    made.id.to_string()
}

/// Checks the state's one orphaned entry is `archive`'s, bound to `id`.
#[track_caller]
fn assert_orphaned_archive(state: &Value, id: &str) {
    let orphaned = state["orphaned"].as_array().expect("an orphaned list");
    assert_eq!(orphaned.len(), 1, "{state:#}");
    let entry = &orphaned[0];
    assert_eq!(entry["kind"], "ArcserveLicense", "{entry:#}");
    assert_eq!(entry["address"], "ArcserveLicense/archive", "{entry:#}");
    assert_eq!(entry["remote_id"], id, "{entry:#}");
    assert_eq!(entry["scope"]["tenant_id"], TENANT_A, "{entry:#}");
    assert_eq!(entry["name"], "archive", "{entry:#}");
    assert!(entry["by"].as_str().unwrap().contains('@'), "{entry:#}");
    assert!(entry["at"].as_str().unwrap().ends_with('Z'), "{entry:#}");
    assert!(
        state["resources"].get("ArcserveLicense/archive").is_none(),
        "{state:#}"
    );
}

#[test]
fn an_orphaned_license_is_kept_on_purpose_and_another_is_still_unmanaged() {
    let sim = TestSim::start();
    let project = applied(&sim, None);
    let id = project.live_named("archive").id.to_string();
    project.remove("archive.yaml");
    project.apply().expect(0);
    assert_orphaned_archive(&project.state(), &id);
    assert!(
        !project.state_path().with_extension("json.journal").exists(),
        "the apply's changes are folded into the state file"
    );
    assert_orphaned_archive(&project.state_file(), &id);

    let text = project.drift().expect(0).stdout;
    assert!(
        text.contains("No drift")
            && text.contains("Orphaned (kept on purpose, not drift):")
            && text.contains(&format!(
                "ArcserveLicense `archive` in prod (id {id}): was ArcserveLicense/archive, orphaned"
            )),
        "{text}"
    );
    let json = drift_json(&project, 0);
    assert_eq!(json["drift"], false);
    assert_eq!(json["counts"]["orphaned"], 1);
    assert_eq!(json["counts"]["unmanaged"], 0);
    assert_eq!(json["counts"]["by_kind"]["ArcserveLicense"]["orphaned"], 1);
    let item = &json["orphaned"][0];
    assert_eq!(item["remote_id"], id.as_str(), "{item:#}");
    assert_eq!(item["address"], "ArcserveLicense/archive", "{item:#}");
    assert_eq!(item["name"], "archive", "{item:#}");
    let markdown = project.drift_as("markdown").expect(0).stdout;
    assert!(
        markdown.contains("| orphaned | ArcserveLicense `archive` | in prod"),
        "{markdown}"
    );

    // Another license in the same tenant is still unmanaged: drift.
    let stray = made_by_hand(&sim, "stray");
    let json = drift_json(&project, 2);
    assert_eq!(json["counts"]["unmanaged"], 1, "{json:#}");
    assert_eq!(json["unmanaged"][0]["remote_id"], stray.as_str());
    assert_eq!(json["counts"]["orphaned"], 1, "{json:#}");

    // `state list` and `state show` still read it; show shows the list.
    let list = project.run(&["state", "list"]).expect(0).stdout;
    assert!(
        list.contains("ArcserveLicense/web") && !list.contains("archive"),
        "{list}"
    );
    let show = project.run(&["state", "show"]).expect(0).stdout;
    assert!(show.contains("\"orphaned\""), "{show}");

    // Bound again, it is managed, and the entry goes.
    project.write(
        "archive.yaml",
        &license_yaml("archive", PLAN_ADVANCED_9, 1, "9.0", ""),
    );
    project.import("ArcserveLicense/archive", &id).expect(0);
    let state = project.state();
    assert!(state.get("orphaned").is_none(), "{state:#}");
    assert_eq!(
        state["resources"]["ArcserveLicense/archive"]["remote_id"],
        id.as_str()
    );
}

#[test]
fn an_orphaned_object_gone_at_the_vendor_is_not_shown() {
    let sim = TestSim::start();
    let project = applied(&sim, None);
    let id = project.live_named("archive").id;
    project.remove("archive.yaml");
    project.apply().expect(0);
    sim.block_on(sim.arcserve(TENANT_A).delete_license(id))
        .unwrap();
    sim.settle();
    let json = drift_json(&project, 0);
    assert_eq!(json["counts"]["orphaned"], 0, "{json:#}");
    assert_eq!(json["counts"]["deleted"], 0, "{json:#}");
    assert_eq!(json["counts"]["unmanaged"], 0, "{json:#}");
}

/// A fresh database on the shared test server; `None` (said loudly) where
/// no server can be started outside CI.
fn database(name: &str) -> Option<(PgCluster, String)> {
    let cluster = PgCluster::start()?;
    let url = cluster.create_database(name);
    Some((cluster, url))
}

/// Makes every change of `entitle_workspaces.orphaned` fail, as a crash
/// at that statement would stop it.
const REFUSE_ORPHANED: &str =
    "CREATE FUNCTION refuse_orphaned() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN RAISE EXCEPTION 'the test refuses this write'; END $$;
    CREATE TRIGGER refuse_orphaned BEFORE UPDATE OF orphaned ON entitle_workspaces
    FOR EACH ROW WHEN (NEW.orphaned IS DISTINCT FROM OLD.orphaned)
    EXECUTE FUNCTION refuse_orphaned();";

#[test]
fn postgres_keeps_the_orphaned_entry_in_the_transaction_that_removes_the_record() {
    let Some((cluster, url)) = database("orphaned") else {
        return;
    };
    let sim = TestSim::start();
    let project = applied(&sim, Some(&url));
    let id = project.live_named("archive").id.to_string();
    assert_eq!(
        cluster.sql("orphaned", "SELECT version FROM entitle_schema_version"),
        [[Some("3".to_string())]]
    );

    // The entry cannot be written: the record's removal goes back with it.
    cluster.sql("orphaned", REFUSE_ORPHANED);
    project.remove("archive.yaml");
    let failed = project.apply().expect(1);
    assert!(
        failed.stderr.contains("the test refuses this write"),
        "{}",
        failed.stderr
    );
    let state = project.state();
    assert!(
        state["resources"].get("ArcserveLicense/archive").is_some(),
        "{state:#}"
    );
    assert!(state.get("orphaned").is_none(), "{state:#}");

    cluster.sql(
        "orphaned",
        "DROP TRIGGER refuse_orphaned ON entitle_workspaces",
    );
    project.apply().expect(0);
    assert_orphaned_archive(&project.state(), &id);
    let stored = cluster.sql(
        "orphaned",
        "SELECT orphaned->0->>'remote_id' FROM entitle_workspaces",
    );
    assert_eq!(stored, [[Some(id.clone())]]);
    let json = drift_json(&project, 0);
    assert_eq!(json["counts"]["orphaned"], 1, "{json:#}");
    made_by_hand(&sim, "stray");
    let json = drift_json(&project, 2);
    assert_eq!(json["counts"]["unmanaged"], 1, "{json:#}");
    assert_eq!(json["counts"]["orphaned"], 1, "{json:#}");
}

/// A simulator whose license deletions are scheduled for the month's end.
fn scheduling_sim() -> TestSim {
    TestSim::with_config(SimConfig {
        provisioning_delay: Duration::from_millis(50),
        behaviours: Behaviours::new([Behaviour::ScheduledDeletion]),
        ..SimConfig::default()
    })
}

#[test]
fn a_deletion_the_vendor_scheduled_is_named_status_not_drift() {
    let sim = scheduling_sim();
    let project = Project::with_tenant(&sim);
    project.write(
        "web.yaml",
        &license_yaml("web", PLAN_ADVANCED_9, 1, "9.0", ""),
    );
    project.apply().expect(0);
    let id = project.live_named("web").id;
    let scheduled = sim
        .block_on(sim.arcserve(TENANT_A).delete_license(id))
        .unwrap();
    let day = scheduled.deletion_date.expect("a scheduled deletion");
    assert_eq!(scheduled.status, "Active");

    let text = project.drift().expect(0).stdout;
    assert!(
        text.contains("No drift")
            && text.contains(&format!(
                "ArcserveLicense/web: deletionDate \"{day}\" (scheduled for deletion on {day})"
            )),
        "{text}"
    );
    let json = drift_json(&project, 0);
    assert_eq!(json["counts"]["status"], 1, "{json:#}");
    assert_eq!(json["counts"]["deleted"], 0, "{json:#}");
    let status = &json["status"][0];
    assert_eq!(status["field"], "deletionDate", "{status:#}");
    assert_eq!(status["live"], day.as_str(), "{status:#}");
    assert_eq!(status["recorded"], Value::Null, "{status:#}");
    assert_eq!(
        status["name"],
        format!("scheduled for deletion on {day}").as_str()
    );
    // Nothing the record holds moved: nothing to record.
    let refresh = project
        .run(&["apply", "--refresh-only", "--auto-approve", "manifests"])
        .expect(0);
    assert!(
        refresh.stdout.contains("No drift to record."),
        "{}",
        refresh.stdout
    );
}

#[test]
fn a_trial_that_expired_by_itself_is_named_status_not_drift() {
    let sim = TestSim::start();
    let project = Project::new(&sim);
    project.write(
        "msp.yaml",
        &[
            company_yaml("contoso", "Customer", None, ""),
            subscription_yaml(
                "contoso-gws",
                "contoso",
                "GWS",
                "Standard",
                "  trial: true\n",
            ),
        ]
        .concat(),
    );
    project.apply().expect(0);
    assert_eq!(drift_json(&project, 0)["counts"]["status"], 0);
    sim.advance_clock(31 * 86_400);
    let json = drift_json(&project, 0);
    assert_eq!(json["counts"]["status"], 1, "{json:#}");
    let status = &json["status"][0];
    assert_eq!(status["address"], "RedstorSubscription/contoso-gws");
    assert_eq!(status["field"], "trialStatus", "{status:#}");
    assert_eq!(status["live"], "Expired", "{status:#}");
    assert_eq!(status["name"], "trial expired", "{status:#}");
    let text = project.drift().expect(0).stdout;
    assert!(
        text.contains("RedstorSubscription/contoso-gws: trialStatus \"Expired\" (trial expired)"),
        "{text}"
    );
}
