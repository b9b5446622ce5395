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

/// Every API call of a drift run, summed over routes.
fn calls(sim: &TestSim) -> u64 {
    sim.metrics().values().sum()
}

#[test]
fn one_refresh_writes_several_outputs() {
    let sim = TestSim::start();
    let project = project_with(&sim, false);
    change_keys_by_hand(&project, 7);
    sim.reset_metrics();
    project.drift().expect(2);
    let one = calls(&sim);
    sim.reset_metrics();
    let run = project
        .run(&[
            "drift",
            "manifests",
            "--out",
            "json=drift.json",
            "--out",
            "markdown=drift.md",
        ])
        .expect(2);
    assert_eq!(calls(&sim), one, "one refresh for both files and stdout");
    assert!(run.stdout.contains("Drift: 1 changed"), "{}", run.stdout);
    let json_path = project.dir.path().join("drift.json");
    let json: Value = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
    assert_eq!(json["counts"]["changed"], 1);
    let markdown = std::fs::read_to_string(project.dir.path().join("drift.md")).unwrap();
    assert!(
        markdown.starts_with("### entitle drift: 1 changed"),
        "{markdown}"
    );
    assert_owner_only(&json_path);

    let bad = project.run(&["drift", "manifests", "--out", "yaml=x"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("`yaml` is not a format"),
        "{}",
        bad.stderr
    );
}

#[test]
fn the_committed_drift_schema_is_current_and_describes_the_json() {
    let schema = entitle::report::drift::schema();
    let committed = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/drift.json"),
    )
    .unwrap_or_default();
    assert_eq!(
        committed,
        entitle::manifest::schema_text(&schema),
        "schemas/drift.json differs from the types; run `entitle schema --out schemas/`"
    );
    let sim = TestSim::start();
    let project = project_with(&sim, false);
    let json = drift_json(&project, 0);
    let keys: std::collections::BTreeSet<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let required: std::collections::BTreeSet<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(keys, required);
}

#[test]
fn drift_markdown_keeps_to_max_chars_in_a_file_and_on_stdout() {
    let sim = TestSim::start();
    let project = project_with(&sim, false);
    let client = sim.arcserve(TENANT_A);
    sim.block_on(async {
        for i in 0..30 {
            let name = format!("made-by-hand-{i:02}-{}", "x".repeat(40));
            client.create_license(&new_license(&name, 1)).await.unwrap();
        }
    });
    sim.settle();
    let run = project
        .run(&[
            "drift",
            "manifests",
            "--format",
            "markdown",
            "--max-chars",
            "1000",
            "--out",
            "markdown=drift.md",
        ])
        .expect(2);
    let file = std::fs::read_to_string(project.dir.path().join("drift.md")).unwrap();
    assert_eq!(file, run.stdout);
    assert!(file.chars().count() <= 1_000, "{file}");
    let rows = file
        .lines()
        .filter(|l| l.starts_with("| unmanaged"))
        .count();
    let hidden: usize = file
        .split_once(" more items not shown**")
        .and_then(|(before, _)| before.rsplit("**").next()?.parse().ok())
        .unwrap_or_else(|| panic!("no count in {file}"));
    assert_eq!(rows + hidden, 30, "{file}");
    // Without the option, all 30 fit in the default budget.
    let whole = project.drift_as("markdown").expect(2).stdout;
    assert_eq!(
        whole
            .lines()
            .filter(|l| l.starts_with("| unmanaged"))
            .count(),
        30
    );
    assert!(!whole.contains("not shown"), "{whole}");
    let refused = project
        .run(&["drift", "manifests", "--max-chars", "500"])
        .expect(1);
    assert!(
        refused.stderr.contains("1000 characters"),
        "{}",
        refused.stderr
    );
}

/// The README's example of the drift JSON has every key the schema
/// requires, at the top, in `counts` and in each kind of item.
#[test]
fn the_readme_drift_json_example_keeps_in_step_with_the_schema() {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let section = readme
        .split_once("## Drift and watch")
        .and_then(|(_, rest)| rest.split_once("```json\n"))
        .and_then(|(_, rest)| rest.split_once("\n```"))
        .map(|(json, _)| json)
        .expect("a JSON example in the README's Drift and watch section");
    let example: Value = serde_json::from_str(section).unwrap();
    let schema = entitle::report::drift::schema();
    let keys = |value: &Value| -> std::collections::BTreeSet<String> {
        value.as_object().unwrap().keys().cloned().collect()
    };
    let required = |schema: &Value| -> std::collections::BTreeSet<String> {
        schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    assert_eq!(keys(&example), required(&schema));
    let definitions = &schema["$defs"];
    assert_eq!(
        keys(&example["counts"]),
        required(&definitions["DriftCounts"])
    );
    for (array, definition) in [
        ("changed", "FieldItem"),
        ("deleted", "DeletedItem"),
        ("unmanaged", "UnmanagedItem"),
        ("status", "StatusItem"),
        ("orphaned", "OrphanedItem"),
    ] {
        let items = example[array].as_array().unwrap();
        assert!(!items.is_empty(), "the README shows no {array} item");
        for item in items {
            assert_eq!(keys(item), required(&definitions[definition]), "{array}");
        }
    }
}
