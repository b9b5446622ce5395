//! Where output goes when its reader is gone or its disk is full: every
//! command that prints ends quietly with exit 0 on a closed pipe, and with
//! one clear error and exit 1 on a full disk, never with a panic; a saved
//! plan is written before anything is printed.

use std::process::Stdio;

use crate::support::{PLAN_ADVANCED_9, Project, TestSim, license_yaml};

/// Where stdout goes in a run.
#[derive(Clone, Copy, Debug)]
enum Sink {
    /// A pipe whose reading end is closed before the command starts.
    ClosedPipe,
    /// `/dev/full`: every write fails with "no space left on device".
    FullDisk,
}

impl Sink {
    fn stdio(self) -> Stdio {
        match self {
            Sink::ClosedPipe => {
                let (reader, writer) = std::io::pipe().unwrap();
                drop(reader);
                writer.into()
            }
            Sink::FullDisk => std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap()
                .into(),
        }
    }
}

/// Runs `entitle <args>` in `project` with stdout into `sink`; its exit
/// code and stderr.
fn run_into(project: &Project<'_>, args: &[&str], sink: Sink) -> (i32, String) {
    let output = project
        .std_command()
        .args(args)
        .stdout(sink.stdio())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code().unwrap_or(-1), stderr)
}

#[track_caller]
fn assert_ends_quietly(what: &str, (code, stderr): (i32, String)) {
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    assert_eq!(code, 0, "{what} on a closed pipe: {stderr}");
    assert!(
        !stderr.contains("standard output"),
        "{what} says nothing of the closed pipe: {stderr}"
    );
}

#[track_caller]
fn assert_one_clear_error(what: &str, (code, stderr): (i32, String)) {
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    assert_eq!(code, 1, "{what} on a full disk: {stderr}");
    assert_eq!(
        stderr
            .matches("error: could not write to standard output: No space left on device")
            .count(),
        1,
        "{what}: {stderr}"
    );
}

fn project(sim: &TestSim) -> Project<'_> {
    let project = Project::with_tenant(sim);
    project.write(
        "licenses.yaml",
        &license_yaml("web", PLAN_ADVANCED_9, 2, "9.0", ""),
    );
    project
}

/// Every command that prints, against the simulator.
const COMMANDS: &[&[&str]] = &[
    &["plan", "manifests"],
    &["plan", "manifests", "--format", "json"],
    &["plan", "manifests", "--format", "markdown"],
    &["plan", "manifests", "--refresh-only"],
    &["drift", "manifests"],
    &["drift", "manifests", "--format", "json"],
    &["validate", "manifests"],
    &["graph", "manifests"],
    &["state", "list"],
    &["state", "show", "ArcserveLicense/web"],
    &["schema"],
    &["completions", "bash"],
    &["report", "consumption"],
    &["state", "unlock"],
    &["sim", "--listen", "127.0.0.1:0"],
    &["demo", "manifests"],
];

#[test]
fn every_command_ends_quietly_when_its_reader_is_gone() {
    let sim = TestSim::start();
    let project = project(&sim);
    project.apply().expect(0);
    for args in COMMANDS {
        assert_ends_quietly(&args.join(" "), run_into(&project, args, Sink::ClosedPipe));
    }
}

#[test]
fn every_command_fails_once_and_clearly_on_a_full_disk() {
    let sim = TestSim::start();
    let project = project(&sim);
    project.apply().expect(0);
    for args in COMMANDS {
        assert_one_clear_error(&args.join(" "), run_into(&project, args, Sink::FullDisk));
    }
}

#[test]
fn a_saved_plan_is_written_before_printing_and_survives_a_full_disk() {
    let sim = TestSim::start();
    let project = project(&sim);
    for sink in [Sink::FullDisk, Sink::ClosedPipe] {
        let saved = project.dir.path().join("p.json");
        let _ = std::fs::remove_file(&saved);
        let outcome = run_into(&project, &["plan", "manifests", "--out", "p.json"], sink);
        match sink {
            Sink::FullDisk => assert_one_clear_error("plan --out", outcome),
            Sink::ClosedPipe => assert_ends_quietly("plan --out", outcome),
        }
        let plan: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
        assert_eq!(
            plan["plan"]["actions"][0]["id"],
            "create ArcserveLicense/web"
        );
    }
    // The plan saved while stdout was full applies as it is.
    project.run(&["apply", "p.json"]).expect(0);
    assert_eq!(project.live().len(), 1);
}

/// Apply goes on when its reader is gone (its exit code says what happened
/// to the objects), and a failure to print its summary says the apply
/// itself is complete.
#[test]
fn apply_completes_whatever_happens_to_stdout() {
    let sim = TestSim::start();
    let project = project(&sim);
    assert_ends_quietly(
        "apply",
        run_into(
            &project,
            &["apply", "manifests", "--auto-approve"],
            Sink::ClosedPipe,
        ),
    );
    assert_eq!(project.live().len(), 1);

    project.write(
        "licenses.yaml",
        &license_yaml("web", PLAN_ADVANCED_9, 3, "9.0", ""),
    );
    project
        .run(&["plan", "manifests", "--out", "p.json"])
        .expect(0);
    let (code, stderr) = run_into(&project, &["apply", "p.json"], Sink::FullDisk);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("Apply complete: 1 done, 0 failed")
            && stderr.contains("but could not write to standard output"),
        "{stderr}"
    );
    assert_eq!(project.live()[0].number_of_standalone_keys, 3);
}
