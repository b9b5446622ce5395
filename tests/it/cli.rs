//! The `entitle` binary: validate, schema, sim and demo, run for real.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::support::entitle;

#[test]
fn the_examples_validate() {
    let output = entitle().args(["validate", "examples"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("21 resources are valid"), "{stdout}");
    assert!(stdout.contains("5 RedstorCompany"), "{stdout}");
    assert!(stdout.contains("6 RedstorSubscription"), "{stdout}");
    assert!(stdout.contains("3 Proposal"), "{stdout}");
    assert!(stdout.contains("2 EclTenant"), "{stdout}");
    assert!(stdout.contains("5 ArcserveLicense"), "{stdout}");
}

#[test]
fn a_bad_manifest_exits_1_naming_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        "apiVersion: entitle/v1\nkind: EclTenant\nmetadata:\n  name: t\nspec:\n  region: jp1\n  tenantID: 3f6c2a9e81d04b7f9a5e2c1d0b8f7a61\n",
    )
    .unwrap();
    let output = entitle().arg("validate").arg(&file).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.yaml:7:3"), "{stderr}");
    assert!(stderr.contains("tenantId"), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn the_committed_schemas_are_what_the_binary_writes() {
    let dir = tempfile::tempdir().unwrap();
    entitle()
        .args(["schema", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    for kind in ["EclTenant", "ArcserveLicense", "drift", "plan"] {
        let written = std::fs::read_to_string(dir.path().join(format!("{kind}.json"))).unwrap();
        let committed = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("schemas/{kind}.json")),
        )
        .unwrap();
        assert_eq!(
            written, committed,
            "schemas/{kind}.json is out of date: run `entitle schema --out schemas/`"
        );
    }
}

#[test]
fn sim_prints_its_url_and_serves_until_stopped() {
    // With a data file the demo key lives beside it, so the kill below
    // leaves nothing behind outside the temporary directory.
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("entitle"))
        .args(["sim", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("sim.json"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).unwrap();
    let url = first
        .trim()
        .strip_prefix("entitle simulator listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {first}"))
        .to_string();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    entitle::api::http::install_crypto_provider();
    let status = runtime.block_on(async {
        reqwest::get(format!("{url}/_sim/metrics"))
            .await
            .unwrap()
            .status()
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(status.is_success(), "{status}");
}

#[test]
fn the_demo_runs_end_to_end() {
    let output = entitle().arg("demo").output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for expected in [
        "21 resources, all valid",
        "+ ArcserveLicense/backup-dr-replica",
        "Plan: 19 to create",
        "+ RedstorCompany/tailspin",
        "+ RedstorSubscription/fabrikam-workspace",
        "create RedstorCompany/adatum: created company",
        "enabled = false (applied: true)",
        "`Walk-in Customer` in company root",
        "### Backup outcomes of Entitle Demo MSP",
        "| Northwind Managed Services | O365 |",
        "+ Proposal/hulft-file-transfer",
        "create Proposal/gcp-interconnect: created order",
        "create ArcserveLicense/backup-prod-web: created",
        "No changes.",
        "Changed outside entitle:",
        "standaloneKeys",
        "`made-in-the-portal`",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in\n{stdout}"
        );
    }
}

#[test]
fn graph_draws_the_dependencies_of_the_examples() {
    let dot = entitle().args(["graph", "examples"]).output().unwrap();
    let dot = String::from_utf8_lossy(&dot.stdout);
    assert!(
        dot.contains(
            "\"ArcserveLicense/backup-dr-replica\" -> \"ArcserveLicense/backup-prod-db\";"
        ),
        "{dot}"
    );
    assert!(
        dot.contains("\"ArcserveLicense/backup-prod-web\" -> \"EclTenant/prod-jp1\";"),
        "{dot}"
    );
    let mermaid = entitle()
        .args(["graph", "examples", "--format", "mermaid"])
        .output()
        .unwrap();
    let mermaid = String::from_utf8_lossy(&mermaid.stdout);
    assert!(mermaid.starts_with("flowchart LR\n"), "{mermaid}");
    assert!(mermaid.contains("[\"EclTenant/dr-jp2\"]"), "{mermaid}");
}

#[test]
fn completions_are_generated_for_bash() {
    let output = entitle().args(["completions", "bash"]).output().unwrap();
    assert!(output.status.success());
    let script = String::from_utf8_lossy(&output.stdout);
    assert!(script.contains("_entitle()"), "{script}");
    assert!(script.contains("--detailed-exitcode"), "{script}");
}

/// Every subcommand's help ends with examples, and each example is a
/// command line entitle accepts (what follows a pipe or a redirection, and
/// a leading variable assignment, aside).
#[test]
fn every_subcommand_shows_examples_that_parse() {
    use clap::Parser;
    let subcommands = [
        "validate",
        "plan",
        "apply",
        "show",
        "drift",
        "watch",
        "import",
        "graph",
        "report",
        "completions",
        "state",
        "workspace",
        "schema",
        "sim",
        "demo",
    ];
    for subcommand in subcommands {
        let help = entitle().args([subcommand, "--help"]).output().unwrap();
        let help = String::from_utf8(help.stdout).unwrap();
        let (_, examples) = help
            .split_once("Examples:\n")
            .unwrap_or_else(|| panic!("`entitle {subcommand} --help` has no examples:\n{help}"));
        let lines: Vec<&str> = examples
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        assert!(!lines.is_empty(), "{subcommand}");
        for line in lines {
            let command = line.split(['|', '>']).next().unwrap();
            let words: Vec<&str> = command
                .split_whitespace()
                .skip_while(|word| word.contains('='))
                .collect();
            assert_eq!(words.first(), Some(&"entitle"), "{subcommand}: {line}");
            if let Err(err) = entitle::cli::Cli::try_parse_from(&words) {
                panic!("`entitle {subcommand} --help` shows `{line}`, which does not parse: {err}");
            }
        }
    }
}
