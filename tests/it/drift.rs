//! Drift that can be alarmed on: fields `lifecycle.ignoreChanges` lists are
//! left out (and counted), as the plan leaves them; the JSON is versioned
//! with counts by class and kind.

use entitle::api::arcserve::LicenseChanges;
use serde_json::Value;

use crate::support::*;

/// `web` (2 keys) and `db` (1 key); `web` ignores its key count when
/// `ignore` is set.
fn project_with(sim: &TestSim, ignore: bool) -> Project<'_> {
    let lifecycle = if ignore {
        "  lifecycle:\n    ignoreChanges: [standaloneKeys]\n"
    } else {
        ""
    };
    let project = Project::with_tenant(sim);
    project.write(
        "licenses.yaml",
        &(license_yaml("web", PLAN_ADVANCED_9, 2, "9.0", lifecycle)
            + &license_yaml("db", PLAN_ADVANCED_9, 1, "9.0", "")),
    );
    project.apply().expect(0);
    project
}

/// Sets `web`'s key count behind entitle's back.
fn change_keys_by_hand(project: &Project<'_>, keys: u32) {
    let client = project.sim.arcserve(TENANT_A);
    let web = project.live_named("web");
    project
        .sim
        .block_on(client.update_license(
            web.id,
            &LicenseChanges {
                number_of_standalone_keys: Some(keys),
                ..LicenseChanges::default()
            },
        ))
        .unwrap();
    project.sim.settle();
}

fn drift_json(project: &Project<'_>, code: i32) -> Value {
    serde_json::from_str(&project.drift_as("json").expect(code).stdout).unwrap()
}

#[test]
fn a_field_ignore_changes_lists_is_left_out_of_drift_and_counted() {
    let sim = TestSim::start();
    let project = project_with(&sim, true);
    change_keys_by_hand(&project, 7);
    project.plan().expect(0);
    let text = project.drift().expect(0).stdout;
    assert!(
        text.contains("No drift") && text.contains("1 change(s) left out"),
        "{text}"
    );
    let json = drift_json(&project, 0);
    assert_eq!(json["drift"], false);
    assert_eq!(json["counts"]["ignored"], 1);
    assert_eq!(json["changed"], serde_json::json!([]));
}

#[test]
fn the_drift_json_is_versioned_with_counts_by_class_and_kind() {
    let sim = TestSim::start();
    let project = project_with(&sim, false);
    assert_eq!(drift_json(&project, 0)["counts"]["changed"], 0);
    change_keys_by_hand(&project, 7);
    let json = drift_json(&project, 2);
    assert_eq!(json["format_version"], 1);
    assert_eq!(json["drift"], true);
    assert_eq!(json["counts"]["changed"], 1);
    assert_eq!(json["counts"]["by_kind"]["ArcserveLicense"]["changed"], 1);
    assert_eq!(json["counts"]["ignored"], 0);
    let change = &json["changed"][0];
    assert_eq!(change["address"], "ArcserveLicense/web");
    assert_eq!(change["kind"], "ArcserveLicense");
    assert_eq!(change["field"], "standaloneKeys");
    assert_eq!(
        (change["recorded"].clone(), change["live"].clone()),
        (2.into(), 7.into())
    );
}
