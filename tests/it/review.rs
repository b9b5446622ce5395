//! Plans reviewed in pull requests: a saved plan shown again as `plan`
//! printed it, with its summary in the file, and plans that do not queue
//! behind the state lock.

use std::time::Duration;

use serde_json::Value;

use crate::lifecycle::two_licenses as project;
use crate::support::*;

#[test]
fn show_prints_a_saved_plan_as_plan_printed_it_without_the_lock() {
    let sim = TestSim::start();
    let project = project(&sim);
    let planned = project
        .run(&[
            "plan",
            "manifests",
            "--out",
            "plan.json",
            "--color",
            "never",
        ])
        .expect(0)
        .stdout;
    let (printed, saved_line) = planned.rsplit_once("\nSaved the plan").unwrap();
    assert!(saved_line.contains("plan.json"), "{planned}");
    let _held =
        entitle::state::StateLock::acquire(&project.state_path(), "test", Duration::ZERO).unwrap();
    let shown = entitle()
        .current_dir(project.dir.path())
        .args(["show", "plan.json", "--color", "never"])
        .output()
        .unwrap();
    assert!(shown.status.success(), "{shown:?}");
    assert_eq!(String::from_utf8_lossy(&shown.stdout), printed);

    let json: Value = serde_json::from_slice(
        &entitle()
            .current_dir(project.dir.path())
            .args(["show", "plan.json", "--format", "json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(json["summary"]["create"], 2, "{json}");
    let file: Value =
        serde_json::from_slice(&std::fs::read(project.dir.path().join("plan.json")).unwrap())
            .unwrap();
    assert_eq!(
        file["plan"]["summary"], json["summary"],
        "the saved plan carries it"
    );
    // Still applies as saved.
    project.run(&["apply", "plan.json"]).expect(1);
    drop(_held);
    project.run(&["apply", "plan.json"]).expect(0);

    let missing = entitle()
        .current_dir(project.dir.path())
        .args(["show", "nope.json"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.json"));
}

#[test]
fn a_plan_without_the_lock_runs_while_another_run_holds_it() {
    let sim = TestSim::start();
    let project = project(&sim);
    let _held =
        entitle::state::StateLock::acquire(&project.state_path(), "apply", Duration::ZERO).unwrap();
    let locked = project.run(&["plan", "manifests"]);
    assert_eq!(locked.code, 1);
    assert!(
        locked.stderr.contains("the state is locked"),
        "{}",
        locked.stderr
    );
    let unlocked = project
        .run(&["plan", "manifests", "--lock=false", "--detailed-exitcode"])
        .expect(2);
    assert!(
        unlocked.stdout.contains("2 to create"),
        "{}",
        unlocked.stdout
    );
}

/// `-` reads the manifests from standard input, as a generator prints them
/// (`ytt … | entitle apply -`); problems name `-` and their line.
#[test]
fn manifests_can_come_from_standard_input() {
    use std::io::Write;
    let sim = TestSim::start();
    let project = project(&sim);
    let manifests: String = ["tenant.yaml", "licenses.yaml"]
        .iter()
        .map(|file| {
            std::fs::read_to_string(project.dir.path().join("manifests").join(file)).unwrap()
        })
        .collect::<Vec<_>>()
        .join("\n---\n");
    let piped = |args: &[&str], input: &str| {
        let mut child = project
            .std_command()
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let planned = piped(&["plan", "-", "--detailed-exitcode"], &manifests);
    assert_eq!(planned.status.code(), Some(2), "{planned:?}");
    assert!(String::from_utf8_lossy(&planned.stdout).contains("2 to create"));
    let applied = piped(&["apply", "-", "--auto-approve"], &manifests);
    assert!(applied.status.success(), "{applied:?}");
    assert_eq!(project.live().len(), 2);
    let bad = piped(
        &["validate", "-"],
        "apiVersion: entitle/v1\nkind: EclTenant\n",
    );
    assert_eq!(bad.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("--> -:"), "{stderr}");
}
