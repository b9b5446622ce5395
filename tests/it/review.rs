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

/// The lines of a Markdown plan's `diff` blocks that head an action (its
/// marker, three spaces and what it touches), in full or in one line.
fn action_lines(markdown: &str) -> usize {
    let mut inside = false;
    let mut count = 0;
    for line in markdown.lines() {
        if line.starts_with("```") {
            inside = line.trim_start_matches('`') == "diff";
            continue;
        }
        let head = line.get(1..4) == Some("   ") && line.get(4..5).is_some_and(|c| c != " ");
        count += usize::from(inside && head);
    }
    count
}

/// `**N more actions not shown**`, when there is one.
fn not_shown(markdown: &str) -> Option<usize> {
    let (before, _) = markdown.split_once(" more actions not shown**")?;
    before.rsplit("**").next()?.parse().ok()
}

#[test]
fn a_plan_of_three_thousand_creates_fits_a_pull_request_comment() {
    let sim = TestSim::start();
    let project = Project::with_tenant(&sim);
    project.write(
        "licenses.yaml",
        &(license_yaml("keep", PLAN_ADVANCED_9, 1, "9.0", "")
            + &license_yaml("gone", PLAN_ADVANCED_9, 1, "9.0", "")),
    );
    project.write("msp.yaml", &company_yaml("acme", "Customer", None, ""));
    project.apply().expect(0);
    // 3,000 new licenses; `keep` changes plan (a replace), `gone` and the
    // Redstor customer leave the manifests (deletes, one with its data).
    let many: String = (0..3_000)
        .map(|i| license_yaml(&format!("fleet-{i:04}-web"), PLAN_ADVANCED_9, 2, "9.0", ""))
        .collect();
    project.write(
        "licenses.yaml",
        &(license_yaml("keep", PLAN_PREMIUM_9, 1, "9.0", "") + &many),
    );
    project.remove("msp.yaml");
    project
        .run(&["plan", "manifests", "--out", "plan.json"])
        .expect(0);

    for (args, budget) in [
        (vec![], 60_000),
        (vec!["--max-chars", "20000"], 20_000),
        (vec!["--max-chars", "1,000"], 1_000),
    ] {
        let markdown = project
            .run(&[&["show", "plan.json", "--format", "markdown"], &args[..]].concat())
            .expect(0)
            .stdout;
        let chars = markdown.chars().count();
        assert!(chars <= budget, "{chars} > {budget}");
        let lines: Vec<&str> = markdown.lines().collect();
        assert_eq!(
            lines[0], "### entitle plan · default · manifests",
            "{markdown}"
        );
        assert_eq!(
            lines[2],
            "**Plan: 3000 to create, 0 to update, 1 to replace, 2 to delete.**"
        );
        // The caution comes whole, even in the smallest budget.
        let caution = markdown.find("[!CAUTION]").expect("a caution");
        let rows = &markdown[caution..];
        for row in [
            "| `-/+` | `ArcserveLicense/keep` | replace |",
            "| `-` | `ArcserveLicense/gone` | delete |",
            "| `-` | `RedstorCompany/acme` | delete |",
        ] {
            assert!(rows.contains(row), "{row} in\n{markdown}");
        }
        assert!(
            rows.contains(
                "**destroys data: the company's backups and data at Redstor are deleted**"
            ),
            "{markdown}"
        );
        let hidden = not_shown(&markdown).unwrap_or_else(|| panic!("no count in\n{markdown}"));
        assert!(hidden > 0);
        assert_eq!(hidden + action_lines(&markdown), 3_003, "{markdown}");
        assert!(markdown.contains("`entitle show PLANFILE`"), "{markdown}");
    }
    // `plan` prints the same.
    let planned = project.plan_as("markdown").expect(0).stdout;
    assert!(planned.chars().count() <= 60_000);
    assert_eq!(not_shown(&planned).map(|n| n > 0), Some(true));
}

#[test]
fn a_small_plan_shows_whole_under_its_title_and_a_tiny_budget_is_refused() {
    let sim = TestSim::start();
    let project = project(&sim);
    project
        .run(&["plan", "manifests", "--out", "plan.json"])
        .expect(0);
    let shown = project
        .run(&[
            "show",
            "plan.json",
            "--format",
            "markdown",
            "--title",
            "PR #42: `prod` licenses",
        ])
        .expect(0)
        .stdout;
    assert!(
        shown.starts_with("### PR \\#42: \\`prod\\` licenses\n"),
        "{shown}"
    );
    assert_eq!(not_shown(&shown), None, "{shown}");
    assert_eq!(action_lines(&shown), 2, "{shown}");
    // Without --title, `show` heads it as `plan` did.
    let planned = project.plan_as("markdown").expect(0).stdout;
    let shown = project
        .run(&["show", "plan.json", "--format", "markdown"])
        .expect(0)
        .stdout;
    assert_eq!(shown, planned);
    for tiny in ["999", "0", "lots"] {
        let refused = project
            .run(&[
                "plan",
                "manifests",
                "--format",
                "markdown",
                "--max-chars",
                tiny,
            ])
            .expect(1);
        assert!(refused.stderr.contains("--max-chars"), "{}", refused.stderr);
        assert!(
            refused.stderr.contains("1000") || refused.stderr.contains("number of characters"),
            "{}",
            refused.stderr
        );
    }
}

#[test]
fn replace_makes_a_license_anew_whose_keys_leaked_and_names_mistakes() {
    let sim = TestSim::start();
    let project = project(&sim);
    project.apply().expect(0);
    let before = project.live_named("web");

    let plan = project
        .run(&[
            "plan",
            "manifests",
            "--replace",
            "ArcserveLicense/web",
            "--out",
            "plan.json",
            "--color",
            "never",
        ])
        .expect(0);
    assert!(
        plan.stdout
            .contains("--replace asks for a new license (and new keys) in place of this one"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("0 to create, 0 to update, 1 to replace, 0 to delete"),
        "{}",
        plan.stdout
    );
    project.run(&["apply", "plan.json"]).expect(0);
    let after = project.live_named("web");
    assert_ne!(after.id, before.id, "a new license");
    assert_eq!(
        after.number_of_standalone_keys,
        before.number_of_standalone_keys
    );
    assert_eq!(project.live_names(), ["db", "web"]);
    // Nothing forces it any more: the next plan is empty.
    project.plan().expect(0);

    let unknown = project
        .run(&["plan", "manifests", "--replace", "ArcserveLicense/nope"])
        .expect(1);
    assert!(
        unknown
            .stderr
            .contains("--replace names a resource the manifests do not declare"),
        "{}",
        unknown.stderr
    );
    let tenant = project
        .run(&["plan", "manifests", "--replace", "EclTenant/prod"])
        .expect(1);
    assert!(
        tenant.stderr.contains("has no object at a vendor"),
        "{}",
        tenant.stderr
    );
    let outside = project
        .run(&[
            "plan",
            "manifests",
            "--target",
            "ArcserveLicense/db",
            "--replace",
            "ArcserveLicense/web",
        ])
        .expect(1);
    assert!(
        outside.stderr.contains("outside --target"),
        "{}",
        outside.stderr
    );
    project
        .run(&["plan", "manifests", "--out", "again.json"])
        .expect(0);
    let saved = project
        .run(&["apply", "again.json", "--replace", "ArcserveLicense/web"])
        .expect(1);
    assert!(
        saved
            .stderr
            .contains("--replace cannot change the saved plan"),
        "{}",
        saved.stderr
    );
}

#[test]
fn a_saved_plan_applies_from_another_directory_of_the_same_checkout() {
    let sim = TestSim::start();
    let project = project(&sim);
    std::fs::create_dir_all(project.dir.path().join("plans")).unwrap();
    project
        .run(&["plan", "manifests", "--out", "plans/plan.json"])
        .expect(0);
    let saved: Value =
        serde_json::from_slice(&std::fs::read(project.dir.path().join("plans/plan.json")).unwrap())
            .unwrap();
    assert_eq!(
        saved["manifest_paths_from_plan"],
        serde_json::json!(["../manifests"])
    );

    let sub = project.dir.path().join("ci/job");
    std::fs::create_dir_all(&sub).unwrap();
    let mut apply = sim.command_in(&sub);
    apply.args([
        "apply",
        "../../plans/plan.json",
        "--state",
        "../../entitle.state.json",
    ]);
    Run::of(apply).expect(0);
    assert_eq!(project.live_names(), ["db", "web"]);

    // Copied out of the checkout, it finds its manifests nowhere and says
    // which plan file it is.
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::copy(
        project.dir.path().join("plans/plan.json"),
        elsewhere.path().join("plan.json"),
    )
    .unwrap();
    let mut lost = sim.command_in(elsewhere.path());
    lost.args(["apply", "plan.json"]);
    let lost = Run::of(lost).expect(1);
    assert!(
        lost.stderr
            .contains("the plan in plan.json was made from the manifests at `manifests`"),
        "{}",
        lost.stderr
    );
}
