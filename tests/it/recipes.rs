//! The CI recipes of `examples/ci/`: the scripts both pipelines call, run
//! step for step with the real binary against the simulator (a pull
//! request, a merge, a stale merge, the nightly drift check), and the
//! pipelines themselves put through their linters (actionlint,
//! check-jsonschema, shellcheck). The linters are not part of the Rust
//! toolchain: `.ci/run` installs them; elsewhere, when they are missing,
//! the lint test says NOT RUN, and fails when `CI` is set.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{
    PLAN_ADVANCED_9, Project, Run, TENANT_A, TestSim, company_yaml, license_yaml,
};
use entitle::api::arcserve::LicenseChanges;

const MARKER: &str = "<!-- entitle-plan -->";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `bash examples/ci/scripts/<script>` in the project, as a pipeline runs
/// it: the binary in `ENTITLE`, the manifests in `manifests`, the files in
/// `out`, errors as GitHub annotations, the Redstor key given as the
/// secret's text (REDSTOR_PRIVATE_KEY), and a job summary file.
fn script(project: &Project<'_>, name: &str) -> Command {
    let mut command = Command::new("bash");
    command.arg(repo().join("examples/ci/scripts").join(name));
    for (variable, _) in std::env::vars() {
        let outside = ["OS_", "REDSTOR_", "ENTITLE_", "GITHUB_"];
        if outside.iter().any(|prefix| variable.starts_with(prefix)) {
            command.env_remove(variable);
        }
    }
    project.sim.point_at(&mut command, project.dir.path());
    let tmp = project.dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    command
        .env_remove("REDSTOR_PRIVATE_KEY_FILE")
        .env(
            "REDSTOR_PRIVATE_KEY",
            project.sim.redstor_account().private_key_pem(),
        )
        .env("TMPDIR", &tmp)
        .env("ENTITLE", assert_cmd::cargo::cargo_bin("entitle"))
        .env("ENTITLE_MANIFESTS", "manifests")
        .env("ENTITLE_OUT", "out")
        .env("ENTITLE_ERROR_FORMAT", "github")
        .env("GITHUB_STEP_SUMMARY", project.dir.path().join("summary.md"));
    command
}

/// Runs a script to its end, and checks that it left no copy of the key.
fn run_script(project: &Project<'_>, name: &str) -> Run {
    let run = Run::of(script(project, name));
    let left: Vec<_> = std::fs::read_dir(project.dir.path().join("tmp"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "{name} left {left:?} behind");
    let account = project.sim.redstor_account();
    let body = account.private_key_pem().lines().nth(1).unwrap();
    assert!(
        !run.stdout.contains(body) && !run.stderr.contains(body),
        "{name} printed the key"
    );
    run
}

fn out(project: &Project<'_>, file: &str) -> PathBuf {
    project.dir.path().join("out").join(file)
}

fn read(project: &Project<'_>, file: &str) -> String {
    std::fs::read_to_string(out(project, file)).unwrap_or_else(|err| panic!("out/{file}: {err}"))
}

fn json(project: &Project<'_>, file: &str) -> Value {
    serde_json::from_str(&read(project, file)).unwrap()
}

/// Two licenses and a Redstor company (whose key the scripts write from
/// the secret's text).
fn estate(sim: &TestSim) -> Project<'_> {
    let project = Project::with_tenant(sim);
    project.write(
        "licenses.yaml",
        &(license_yaml("web", PLAN_ADVANCED_9, 2, "9.0", "")
            + &license_yaml("db", PLAN_ADVANCED_9, 1, "9.0", "")),
    );
    project.write(
        "companies.yaml",
        &company_yaml("acme", "Customer", None, ""),
    );
    project
}

#[test]
fn a_pull_request_with_a_broken_manifest_is_annotated_and_not_planned() {
    let sim = TestSim::start();
    let project = estate(&sim);
    project.write(
        "broken.yaml",
        &license_yaml("cache", PLAN_ADVANCED_9, 1, "9.0", "")
            .replace("standaloneKeys: 1", "standaloneKey: 1")
            .replace("tenant: prod", "tenant: nowhere"),
    );
    sim.reset_metrics();

    let run = run_script(&project, "pr.sh").expect(1);

    let problems = json(&project, "problems.json");
    assert_eq!(problems["valid"], false);
    let problems = problems["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 2, "{problems:?}");
    let commands: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(commands.len(), problems.len(), "{}", run.stdout);
    for (command, problem) in commands.iter().zip(problems) {
        let expected = format!(
            "::error file=manifests/broken.yaml,line={},col={},title={}::",
            problem["line"],
            problem["column"],
            problem["field"].as_str().unwrap()
        );
        assert!(command.starts_with(&expected), "{command}\n{expected}");
    }
    assert!(
        commands
            .iter()
            .any(|c| c.contains("title=spec.standaloneKey::unknown field")),
        "{}",
        run.stdout
    );
    let quality = json(&project, "codequality.json");
    let quality = quality.as_array().unwrap();
    assert_eq!(quality.len(), problems.len(), "{quality:?}");
    for (entry, problem) in quality.iter().zip(problems) {
        assert_eq!(entry["location"]["path"], "manifests/broken.yaml");
        assert_eq!(entry["location"]["lines"]["begin"], problem["line"]);
        assert_eq!(entry["check_name"], problem["field"]);
    }
    let comment = read(&project, "comment.md");
    assert!(comment.starts_with(&format!("{MARKER}\n")), "{comment}");
    assert!(comment.contains("do not validate"), "{comment}");
    assert!(!out(&project, "plan.json").exists());
    assert!(
        sim.metrics().is_empty(),
        "validation is offline: {:?}",
        sim.metrics()
    );
}

#[test]
fn a_pull_request_saves_the_plan_and_its_markdown_and_applies_nothing() {
    let sim = TestSim::start();
    let project = estate(&sim);

    let run = run_script(&project, "pr.sh").expect(0);

    let saved = json(&project, "plan.json");
    assert_eq!(saved["manifest_paths"], serde_json::json!(["manifests"]));
    assert_eq!(saved["plan"]["summary"]["create"], 3, "{saved}");
    let markdown = read(&project, "plan.md");
    assert!(markdown.contains("ArcserveLicense/web"), "{markdown}");
    assert!(markdown.contains("RedstorCompany/acme"), "{markdown}");
    assert_eq!(
        read(&project, "comment.md"),
        format!("{MARKER}\n{markdown}"),
        "the comment is the marker, then the plan"
    );
    let summary = std::fs::read_to_string(project.dir.path().join("summary.md")).unwrap();
    assert_eq!(summary, markdown);
    assert!(run.stdout.contains("out/plan.json"), "{}", run.stdout);
    assert_eq!(json(&project, "codequality.json"), serde_json::json!([]));
    assert!(project.live().is_empty(), "a plan changes nothing");
    assert_eq!(project.serial(), None, "nor the state");
}

#[test]
fn a_merge_applies_the_reviewed_plan() {
    let sim = TestSim::start();
    let project = estate(&sim);
    run_script(&project, "pr.sh").expect(0);

    let run = run_script(&project, "merge.sh").expect(0);

    assert!(
        run.stdout
            .contains("applied the reviewed plan out/plan.json"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert!(!out(&project, "merge-plan.json").exists(), "no second plan");
    assert_eq!(project.live_names(), ["db", "web"]);
    assert_eq!(sim.redstor_tree().len(), 1);
    project.plan().expect(0);
}

#[test]
fn a_merge_after_the_state_moved_plans_again_and_applies() {
    let sim = TestSim::start();
    let project = estate(&sim);
    project
        .apply_with(&["--target", "RedstorCompany/acme"])
        .expect(0);
    run_script(&project, "pr.sh").expect(0);
    // Another merge applied first: one license is made, the serial moves.
    project
        .apply_with(&["--target", "ArcserveLicense/web"])
        .expect(0);

    let run = run_script(&project, "merge.sh").expect(0);

    assert!(
        run.stdout.contains("the reviewed plan is stale"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert!(
        run.stderr
            .contains("is stale: the state changed since it was made"),
        "{}",
        run.stderr
    );
    let replanned = json(&project, "merge-plan.json");
    assert_eq!(
        replanned["plan"]["summary"]["create"], 1,
        "only db: web is made already"
    );
    assert!(!read(&project, "merge-plan.md").contains("ArcserveLicense/web"));
    assert_eq!(project.live_names(), ["db", "web"], "each made once");
    project.plan().expect(0);
}

#[test]
fn a_merge_does_not_plan_again_when_the_saved_plan_is_refused_for_another_reason() {
    let sim = TestSim::start();
    let project = estate(&sim);
    run_script(&project, "pr.sh").expect(0);
    let edited = read(&project, "plan.json").replace("\"web\"", "\"www\"");
    std::fs::write(out(&project, "plan.json"), edited).unwrap();

    let run = run_script(&project, "merge.sh").expect(1);

    assert!(
        run.stderr
            .contains("was changed after `entitle plan --out` wrote it"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.starts_with("::error::"), "{}", run.stderr);
    assert!(!out(&project, "merge-plan.json").exists());
    assert!(project.live().is_empty());
}

#[test]
fn the_nightly_run_exits_0_without_drift_and_2_with_it_the_files_written() {
    let sim = TestSim::start();
    let project = estate(&sim);
    project.apply().expect(0);

    let quiet = run_script(&project, "nightly.sh").expect(0);
    assert!(quiet.stdout.contains("no drift"), "{}", quiet.stdout);
    assert_eq!(
        json(&project, "drift.json")["changed"],
        serde_json::json!([])
    );
    assert!(out(&project, "drift.md").exists());
    assert!(!out(&project, "issue.md").exists());

    let web = project.live_named("web");
    sim.block_on(sim.arcserve(TENANT_A).update_license(
        web.id,
        &LicenseChanges {
            number_of_standalone_keys: Some(7),
            ..LicenseChanges::default()
        },
    ))
    .unwrap();
    sim.settle();

    let drifted = run_script(&project, "nightly.sh").expect(2);
    assert!(drifted.stdout.contains("drift found"), "{}", drifted.stdout);
    let report = json(&project, "drift.json");
    assert_eq!(
        report["changed"][0]["address"], "ArcserveLicense/web",
        "{report}"
    );
    assert_eq!(report["changed"][0]["field"], "standaloneKeys", "{report}");
    let markdown = read(&project, "drift.md");
    assert!(markdown.contains("standaloneKeys"), "{markdown}");
    let issue = read(&project, "issue.md");
    assert_eq!(issue, format!("### entitle: drift found\n{markdown}"));
    assert!(read(&project, "drift.txt").contains("ArcserveLicense/web"));
}

/// A linter, on PATH or in the build directory's `ci-tools` (where
/// `.ci/run` installs them).
fn tool(name: &str) -> Option<PathBuf> {
    let installed = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map(|target| target.join("ci-tools/bin"));
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(installed)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false"))
}

/// Runs `tool args...` in the repository; the exit code and what it said.
fn lint(tool: &Path, args: &[&str]) -> (i32, String) {
    let mut command = Command::new(tool);
    command.args(args).current_dir(repo());
    // actionlint runs shellcheck on every `run:` script when it finds one.
    if let Some(dir) = tool.parent() {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let dirs = std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&path));
        command.env("PATH", std::env::join_paths(dirs).unwrap());
    }
    let output = command.output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), said)
}

const WORKFLOW: &str = "examples/ci/github/.github/workflows/entitle.yml";
const GITLAB: &str = "examples/ci/gitlab/.gitlab-ci.yml";

#[test]
fn the_recipes_pass_their_linters() {
    let tools = ["actionlint", "check-jsonschema", "shellcheck"].map(|name| (name, tool(name)));
    let missing: Vec<&str> = tools
        .iter()
        .filter(|(_, found)| found.is_none())
        .map(|(name, _)| *name)
        .collect();
    if !missing.is_empty() {
        let reason = format!(
            "{} not found (on PATH or in the build directory's ci-tools; .ci/run installs them)",
            missing.join(", ")
        );
        assert!(
            !in_ci(),
            "the CI recipes' lints must run in CI (CI is set), but {reason}"
        );
        eprintln!("\n*** CI recipe lints NOT RUN: {reason}\n");
        return;
    }
    let [
        (_, Some(actionlint)),
        (_, Some(check_jsonschema)),
        (_, Some(shellcheck)),
    ] = tools
    else {
        unreachable!("every tool was found")
    };
    let scripts: Vec<String> = std::fs::read_dir(repo().join("examples/ci/scripts"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "sh"))
        .map(|path| path.strip_prefix(repo()).unwrap().display().to_string())
        .collect();
    assert!(scripts.len() >= 4, "{scripts:?}");
    let mut shellcheck_args = vec!["-x"];
    shellcheck_args.extend(scripts.iter().map(String::as_str));

    let runs = [
        (&actionlint, vec![WORKFLOW]),
        (
            &check_jsonschema,
            vec!["--builtin-schema", "vendor.github-workflows", WORKFLOW],
        ),
        (
            &check_jsonschema,
            vec!["--builtin-schema", "vendor.gitlab-ci", GITLAB],
        ),
        (&shellcheck, shellcheck_args),
    ];
    for (tool, args) in runs {
        let (code, said) = lint(tool, &args);
        assert_eq!(code, 0, "{} {}\n{said}", tool.display(), args.join(" "));
    }

    // The linters do find what is wrong: a workflow reading a step output
    // that no step has, and a GitLab job without a script.
    let dir = tempfile::tempdir().unwrap();
    let broken_workflow = dir.path().join("broken.yml");
    let workflow = std::fs::read_to_string(repo().join(WORKFLOW)).unwrap();
    std::fs::write(
        &broken_workflow,
        workflow.replace(
            "steps.drift.outputs.status == '2'",
            "steps.drfit.outputs.status == '2'",
        ),
    )
    .unwrap();
    let (code, said) = lint(&actionlint, &[broken_workflow.to_str().unwrap()]);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("drfit"), "{said}");
    let broken_gitlab = dir.path().join("broken.yml");
    let gitlab = std::fs::read_to_string(repo().join(GITLAB)).unwrap();
    std::fs::write(
        &broken_gitlab,
        gitlab.replace("resource_group:", "resource_groups:"),
    )
    .unwrap();
    let (code, said) = lint(
        &check_jsonschema,
        &[
            "--builtin-schema",
            "vendor.gitlab-ci",
            broken_gitlab.to_str().unwrap(),
        ],
    );
    assert_ne!(code, 0, "{said}");
}

/// check-jsonschema has no schema of `.pre-commit-hooks.yaml`: its fields
/// are checked here, as pre-commit reads them, and its entry is run.
#[test]
fn the_pre_commit_hook_runs_entitle_validate_on_yaml_changes() {
    let text = std::fs::read_to_string(repo().join(".pre-commit-hooks.yaml")).unwrap();
    let hooks: Value = serde_saphyr::from_str(&text).unwrap();
    let hooks = hooks.as_array().unwrap();
    assert_eq!(hooks.len(), 1);
    let hook = hooks[0].as_object().unwrap();
    for field in ["id", "name", "entry", "language"] {
        assert!(hook[field].is_string(), "{field} is required");
    }
    assert_eq!(hook["id"], "entitle-validate");
    assert_eq!(hook["entry"], "entitle validate");
    assert_eq!(hook["language"], "rust", "built from this repository");
    assert_eq!(hook["files"], r"\.ya?ml$");
    assert_eq!(hook["pass_filenames"], false, "references span files");
    let known = [
        "id",
        "name",
        "entry",
        "language",
        "files",
        "exclude",
        "types",
        "types_or",
        "exclude_types",
        "always_run",
        "fail_fast",
        "verbose",
        "pass_filenames",
        "require_serial",
        "description",
        "language_version",
        "minimum_pre_commit_version",
        "args",
        "stages",
    ];
    for field in hook.keys() {
        assert!(
            known.contains(&field.as_str()),
            "pre-commit has no field {field}"
        );
    }

    // The entry, with args as the README shows them: the examples pass, a
    // broken manifest fails, and pre-commit shows what it printed.
    let entry = |dir: &Path| {
        crate::support::entitle()
            .args(["validate", dir.to_str().unwrap()])
            .output()
            .unwrap()
    };
    assert!(entry(&repo().join("examples")).status.success());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yml"),
        "apiVersion: entitle/v1\nkind: Nope\n",
    )
    .unwrap();
    let failed = entry(dir.path());
    assert_eq!(failed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&failed.stderr).contains("bad.yml"));
}
