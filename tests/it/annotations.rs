//! Problems for CI tools, through the binary: `validate --format json` (a
//! versioned document, the same bytes for the same manifests) and
//! `--format github`, and `--error-format github` (or
//! `ENTITLE_ERROR_FORMAT`) for the errors of plan and apply: one GitHub
//! Actions `::error` command per problem, at the file and line that
//! declared it when the manifests say, and escaped so that no name, path
//! or value can start a second command.

use serde_json::Value;

use crate::support::{PLAN_ADVANCED_9, Project, Run, TestSim, company_yaml, license_yaml};

/// `entitle validate manifests <args>` in the project (no simulator needed).
fn validate(project: &Project<'_>, args: &[&str]) -> Run {
    let mut command = crate::support::binary();
    command
        .current_dir(project.dir.path())
        .args(["validate", "manifests"])
        .args(args);
    Run::of(command)
}

/// Each line of `text`, which must all be workflow commands.
#[track_caller]
fn commands(text: &str) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().collect();
    for line in &lines {
        assert!(
            line.starts_with("::error ") || line.starts_with("::error::"),
            "not one command: {line:?}\n{text}"
        );
    }
    lines
}

fn broken(sim: &TestSim) -> Project<'_> {
    let project = Project::with_tenant(sim);
    project.write(
        "a.yaml",
        &license_yaml("web", PLAN_ADVANCED_9, 2, "9.0", "").replace("plan: ", "plan: x"),
    );
    project.write(
        "b.yaml",
        &license_yaml("db", PLAN_ADVANCED_9, 1, "9.0", "").replace("standaloneKeys", "keys"),
    );
    project
}

#[test]
fn validate_json_is_one_versioned_document_the_same_every_run() {
    let sim = TestSim::start();
    let project = broken(&sim);

    let first = validate(&project, &["--format", "json"]).expect(1);
    let second = validate(&project, &["--format", "json"]).expect(1);
    assert_eq!(first.stdout, second.stdout, "deterministic");
    assert!(first.stderr.is_empty(), "{}", first.stderr);
    let document: Value = serde_json::from_str(&first.stdout).unwrap();
    assert_eq!(document["format_version"], 1);
    assert_eq!(document["valid"], false);
    let problems = document["problems"].as_array().unwrap();
    let text = validate(&project, &[]).expect(1);
    assert!(
        text.stderr
            .ends_with(&format!("error: {} problems in 2 files\n", problems.len())),
        "as many as the text shows: {}",
        text.stderr
    );
    let files: Vec<&str> = problems
        .iter()
        .map(|p| p["file"].as_str().unwrap())
        .collect();
    assert!(
        files.is_sorted() && files.contains(&"manifests/b.yaml"),
        "{files:?}"
    );
    for problem in problems {
        let keys: Vec<&str> = problem
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "column", "field", "file", "hint", "line", "message", "related", "severity"
            ]
        );
        assert!(problem["line"].as_u64().unwrap() > 0, "{problem}");
        assert_eq!(problem["severity"], "error");
    }
    let keys = problems.iter().find(|p| p["field"] == "spec.keys").unwrap();
    assert_eq!(
        keys["message"],
        "unknown field `keys` in ArcserveLicense spec"
    );
    assert!(
        keys["hint"].as_str().unwrap().contains("`standaloneKeys`"),
        "{keys}"
    );

    project.write(
        "a.yaml",
        &license_yaml("web", PLAN_ADVANCED_9, 2, "9.0", ""),
    );
    project.remove("b.yaml");
    let valid = validate(&project, &["--format", "json"]).expect(0);
    let document: Value = serde_json::from_str(&valid.stdout).unwrap();
    assert_eq!(
        document,
        serde_json::json!({"format_version": 1, "valid": true, "problems": []})
    );
    let quiet = validate(&project, &["--format", "github"]).expect(0);
    assert_eq!(quiet.stdout, "", "no problem, no command");
}

#[test]
fn validate_github_is_one_command_per_problem_at_its_file_line_and_field() {
    let sim = TestSim::start();
    let project = broken(&sim);

    let run = validate(&project, &["--format", "github"]).expect(1);
    let document: Value =
        serde_json::from_str(&validate(&project, &["--format", "json"]).stdout).unwrap();
    let problems = document["problems"].as_array().unwrap();
    let lines = commands(&run.stdout);
    assert_eq!(lines.len(), problems.len(), "{}", run.stdout);
    for (line, problem) in lines.iter().zip(problems) {
        let head = format!(
            "::error file={},line={},col={},title={}::{}",
            problem["file"].as_str().unwrap(),
            problem["line"],
            problem["column"],
            problem["field"].as_str().unwrap(),
            problem["message"].as_str().unwrap(),
        );
        assert!(line.starts_with(&head), "{line}\n{head}");
    }
    assert!(
        run.stdout.contains(
            "::error file=manifests/b.yaml,line=9,col=3,title=spec.keys::unknown field `keys` in ArcserveLicense spec ("
        ),
        "{}",
        run.stdout
    );
}

/// A directory and a file whose names hold `,` `:` `%` and a line break
/// that would start a `::warning`, and a field named likewise: every
/// problem is still exactly one `::error` line.
#[test]
fn hostile_names_and_fields_cannot_forge_a_command() {
    let sim = TestSim::start();
    let project = Project::with_tenant(&sim);
    let hostile = "x,y:z%25\n::warning file=forged.yaml::forged";
    project.write(
        &format!("{hostile}/{hostile}.yaml"),
        &license_yaml("web", PLAN_ADVANCED_9, 2, "9.0", "").replace(
            "  tenant: prod\n",
            "  tenant: prod\n  \"a,b:c%\\r\\n::warning::forged\": 1\n",
        ),
    );

    let text = validate(&project, &[]).expect(1);
    assert!(
        text.stderr
            .lines()
            .all(|line| !line.trim_start().starts_with("::")),
        "the text format shows the line break as \\n:\n{}",
        text.stderr
    );
    for args in [vec!["--format", "github"], vec!["--error-format", "github"]] {
        let run = validate(&project, &args).expect(1);
        let out = if args[0] == "--format" {
            &run.stdout
        } else {
            &run.stderr
        };
        let lines = commands(out);
        assert_eq!(lines.len(), 1, "{out}");
        let escaped = "x%2Cy%3Az%2525%0A%3A%3Awarning file=forged.yaml%3A%3Aforged";
        assert!(
            lines[0].starts_with(&format!(
                "::error file=manifests/{escaped}/{escaped}.yaml,line=8,col=3,title=spec.a%2Cb%3Ac%25%0D%0A%3A%3Awarning%3A%3Aforged::unknown field `a,b:c%25%0D%0A::warning::forged`"
            )),
            "{}",
            lines[0]
        );
    }
}

#[test]
fn plan_and_apply_write_manifest_problems_as_commands_with_the_flag_or_the_variable() {
    let sim = TestSim::start();
    let project = broken(&sim);
    let expected = validate(&project, &["--format", "github"]).expect(1).stdout;
    sim.reset_metrics();

    let flag = project
        .run(&["plan", "manifests", "--error-format", "github"])
        .expect(1);
    assert_eq!(flag.stderr, expected);
    let mut command = project.std_command();
    command
        .env("ENTITLE_ERROR_FORMAT", "github")
        .args(["apply", "manifests", "--auto-approve"]);
    let variable = Run::of(command).expect(1);
    assert_eq!(variable.stderr, expected);
    assert!(sim.metrics().is_empty(), "stopped before any request");

    let mut command = project.std_command();
    command
        .env("ENTITLE_ERROR_FORMAT", "yaml")
        .args(["plan", "manifests"]);
    let wrong = Run::of(command).expect(1);
    assert!(
        wrong.stderr.contains("invalid value 'yaml'"),
        "{}",
        wrong.stderr
    );
}

#[test]
fn a_planner_error_is_annotated_at_the_document_that_declares_its_resource() {
    let sim = TestSim::start();
    // Another state made the company: this one does not manage it.
    let other = Project::new(&sim);
    other.write(
        "companies.yaml",
        &company_yaml("acme", "Customer", None, ""),
    );
    other.apply().expect(0);
    let project = Project::new(&sim);
    project.write(
        "companies.yaml",
        &(company_yaml("zeta", "Customer", None, "") + &company_yaml("acme", "Customer", None, "")),
    );

    let run = project
        .run(&["plan", "manifests", "--error-format", "github"])
        .expect(1);
    let lines = commands(&run.stderr);
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    assert!(
        lines[0].starts_with(
            "::error file=manifests/companies.yaml,line=9,col=1,title=RedstorCompany/acme::RedstorCompany/acme: a company named `acme` already exists there"
        ),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("(to manage it, `entitle import RedstorCompany/acme "));
}

#[test]
fn a_planner_error_about_a_resource_only_in_the_state_has_no_file() {
    let sim = TestSim::start();
    let project = Project::with_tenant(&sim);
    project.write(
        "licenses.yaml",
        &license_yaml(
            "web",
            PLAN_ADVANCED_9,
            1,
            "9.0",
            "  lifecycle:\n    preventDestroy: true\n",
        ),
    );
    project.apply().expect(0);
    project.remove("licenses.yaml");

    let run = project
        .run(&["plan", "manifests", "--error-format", "github"])
        .expect(1);
    let lines = commands(&run.stderr);
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    assert!(
        lines[0].starts_with("::error title=ArcserveLicense/web::ArcserveLicense/web: "),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("preventDestroy"), "{}", lines[0]);
}

#[test]
fn a_stale_saved_plan_exits_3_and_is_one_command() {
    let sim = TestSim::start();
    let project = Project::with_tenant(&sim);
    project.write(
        "licenses.yaml",
        &license_yaml("web", PLAN_ADVANCED_9, 1, "9.0", ""),
    );
    project.apply().expect(0);
    project.write(
        "licenses.yaml",
        &license_yaml("web", PLAN_ADVANCED_9, 2, "9.0", ""),
    );
    project
        .run(&["plan", "manifests", "--out", "p.plan"])
        .expect(0);
    project.write(
        "licenses.yaml",
        &license_yaml("web", PLAN_ADVANCED_9, 3, "9.0", ""),
    );

    let run = project
        .run(&["apply", "p.plan", "--error-format", "github"])
        .expect(3);
    assert_eq!(
        commands(&run.stderr),
        [
            "::error::the plan in p.plan is stale: the manifests changed since it was made%0A   = hint: run `entitle plan manifests --out p.plan` again, review it, and apply the new plan"
        ]
    );
    assert_eq!(
        project.live_named("web").number_of_standalone_keys,
        1,
        "nothing applied"
    );
}
