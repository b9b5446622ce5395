//! Names that a vendor's server (or a manifest) chose, made hostile: escape
//! sequences that clear the screen or retitle the terminal, C1 controls,
//! bidi overrides that reorder what a reviewer reads, table pipes,
//! backticks and code fences, HTML. Objects with such names are made at the
//! simulator by hand, through the API, as someone outside entitle would;
//! then the real binary prints plans, drift, reports and errors in text,
//! Markdown and JSON, and each output is checked for what it must keep:
//! no raw control byte on a terminal, every table row with its cells,
//! every fence closed where it should be, and JSON with the exact name.
//!
//! The checks here are written independently of `entitle::escape`, so that
//! they test it rather than repeat it.

use entitle::api::arcserve::LicenseChanges;
use entitle::api::redstor::CompanyType;
use serde_json::Value;

use crate::support::*;

/// A company name at Redstor (100 characters at most): clears the screen,
/// sets the window title, a C1 CSI, a bidi override, a table pipe,
/// backticks, a fence and HTML.
const HOSTILE_COMPANY: &str = "Evil\u{1b}[2J\u{1b}]0;pwned\u{7} | `x` ```\u{9b}31m<img src=x onerror=alert(1)>\u{202e}gnp.exe";

/// A license name (255 characters at most) with the same, and an isolate.
const HOSTILE_LICENSE: &str =
    "shadow\u{1b}[2J\u{1b}[1;1H| forged | row |```<script>x</script>\u{2066}\u{7f}*_[a](b)_*";

/// A manifest name that YAML can carry (the loader refuses control
/// characters, not bidi overrides nor Markdown): `web|`, a backtick, an
/// override.
const MANIFEST_NAME_YAML: &str = "\"web|`\\u202Etxt\"";
const MANIFEST_NAME: &str = "web|`\u{202e}txt";

/// Whether `c` may not reach a terminal as it is: a control character
/// other than a line break or a tab (which `state list` separates its
/// columns with), or a bidi override or isolate.
fn dangerous(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || ('\u{202A}'..='\u{202E}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

#[track_caller]
fn assert_inert(what: &str, output: &str) {
    let found: Vec<String> = output
        .chars()
        .filter(|c| dangerous(*c))
        .map(|c| format!("U+{:04X}", u32::from(c)))
        .collect();
    assert!(
        found.is_empty(),
        "{what}: raw {found:?} in\n{}",
        output.escape_debug()
    );
}

/// The cells of a Markdown table row, split as GitHub splits them: on each
/// `|` without a backslash before it.
fn cells(row: &str) -> usize {
    let mut previous = ' ';
    let mut pipes = 0;
    for c in row.chars() {
        pipes += usize::from(c == '|' && previous != '\\');
        previous = c;
    }
    pipes.saturating_sub(1)
}

/// Every table keeps its header's number of cells on every row, and every
/// line after a table's rows is outside it. Returns the tables' rows.
#[track_caller]
fn assert_tables_whole(markdown: &str) -> usize {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut rows = 0;
    let mut i = 0;
    while i + 1 < lines.len() {
        if lines[i].starts_with('|') && lines[i + 1].starts_with("|--") {
            let width = cells(lines[i]);
            assert_eq!(cells(lines[i + 1]), width, "{markdown}");
            i += 2;
            while i < lines.len() && lines[i].starts_with('|') {
                assert_eq!(cells(lines[i]), width, "row {:?} in\n{markdown}", lines[i]);
                rows += 1;
                i += 1;
            }
            let after = lines.get(i).copied().unwrap_or_default();
            assert!(after.is_empty(), "a table ends at {after:?} in\n{markdown}");
        }
        i += 1;
    }
    rows
}

/// The fenced code blocks of `markdown` as CommonMark finds them: (info
/// string, body lines). Fails when one is left open.
#[track_caller]
fn fences(markdown: &str) -> Vec<(String, Vec<String>)> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, String, Vec<String>)> = None;
    for line in markdown.lines() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let bare = line.trim_start_matches(' ');
        let ticks = bare.chars().take_while(|c| *c == '`').count();
        match open.take() {
            None => {
                if indent <= 3 && ticks >= 3 {
                    open = Some((ticks, bare[ticks..].to_string(), Vec::new()));
                }
            }
            Some((fence, info, body)) => {
                if indent <= 3 && ticks >= fence && bare[ticks..].trim().is_empty() {
                    blocks.push((info, body));
                } else {
                    let mut body = body;
                    body.push(line.to_string());
                    open = Some((fence, info, body));
                }
            }
        }
    }
    assert!(open.is_none(), "a fence left open in\n{markdown}");
    blocks
}

/// The Markdown plan: its tables whole, one `diff` block per collapsible
/// kind section, each running to its section's end (no name closed it
/// early), and the summary line once, under the heading.
#[track_caller]
fn assert_plan_markdown(markdown: &str) {
    assert_inert("plan markdown", markdown);
    assert_tables_whole(markdown);
    let blocks = fences(markdown);
    let diff: Vec<&(String, Vec<String>)> = blocks.iter().filter(|(i, _)| i == "diff").collect();
    let sections = markdown
        .lines()
        .filter(|l| l.starts_with("<details><summary>"))
        .count();
    assert!(!diff.is_empty(), "{markdown}");
    assert_eq!(diff.len(), sections, "{markdown}");
    for (_, body) in &diff {
        assert!(body.iter().all(|l| !l.contains("</details>")), "{markdown}");
    }
    let summaries: Vec<usize> = markdown
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with("**Plan: "))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(summaries, [2], "{markdown}");
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|err| panic!("{err}: {}", run.stdout))
}

#[test]
fn hostile_redstor_company_names_stay_inert_in_plan_drift_and_reports() {
    let sim = TestSim::start();
    let project = Project::new(&sim);
    project.write("msp.yaml", &company_yaml("northwind", "Partner", None, ""));
    project.apply().expect(0);
    // Outside entitle: a company with a hostile name under the root, with a
    // subscription, and the managed company moved under it.
    let client = sim.redstor();
    let root = sim.redstor_root();
    sim.block_on(async {
        let evil = client
            .create_customer(root, "evil-placeholder", CompanyType::Partner)
            .await
            .unwrap()
            .company_id;
        client.subscribe(evil, 4, 41, false).await.unwrap();
        let northwind = client
            .customers(root)
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.company_name == "northwind")
            .unwrap()
            .company_id;
        client.reassign(evil, northwind).await.unwrap();
    });
    // The API refuses control characters in names; the vendor's back
    // office need not.
    sim.rename_behind_the_api("evil-placeholder", HOSTILE_COMPANY);

    let drift = project.drift().expect(2);
    assert_inert("drift text", &drift.stdout);
    assert_inert("drift stderr", &drift.stderr);
    assert!(drift.stdout.contains("Evil\\u{1b}[2J"), "{}", drift.stdout);
    let markdown = project.drift_as("markdown").expect(2);
    assert_inert("drift markdown", &markdown.stdout);
    assert_eq!(
        assert_tables_whole(&markdown.stdout),
        2,
        "{}",
        markdown.stdout
    );
    assert!(fences(&markdown.stdout).is_empty(), "{}", markdown.stdout);
    let report = json(&project.drift_as("json").expect(2));
    assert_eq!(report["changed"][0]["live"], HOSTILE_COMPANY);
    assert_eq!(report["unmanaged"][0]["name"], HOSTILE_COMPANY);

    // The plan moves the company back, from under the hostile name.
    let plan = project.plan().expect(2);
    assert_inert("plan text", &plan.stdout);
    // Values are shown as JSON.
    assert!(plan.stdout.contains("\"Evil\\u001b[2J"), "{}", plan.stdout);
    assert_plan_markdown(&project.plan_as("markdown").expect(0).stdout);
    let plan = json(&project.plan_as("json").expect(0));
    let before: Vec<&Value> = plan["actions"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c.get("before"))
        .collect();
    assert!(before.contains(&&Value::from(HOSTILE_COMPANY)), "{plan:#}");

    for format in ["text", "markdown", "json"] {
        for report in ["consumption", "backups"] {
            let run = project
                .run(&["report", report, "--format", format])
                .expect(0);
            assert_inert(&format!("report {report} {format}"), &run.stdout);
            match format {
                "markdown" => {
                    assert!(assert_tables_whole(&run.stdout) >= 2, "{}", run.stdout);
                    let cell =
                        "Evil\\\\u{1b}\\[2J\\\\u{1b}\\]0;pwned\\\\u{7} \\| \\`x\\` \\`\\`\\`";
                    assert!(run.stdout.contains(cell), "{}", run.stdout);
                    assert!(run.stdout.contains("\\<img src=x"), "{}", run.stdout);
                }
                "json" => {
                    let value = json(&run);
                    let rows = value.get("rows").or(value.get("companies")).unwrap();
                    let names: Vec<&str> = rows
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter_map(|r| r["company_name"].as_str())
                        .collect();
                    assert!(names.contains(&HOSTILE_COMPANY), "{names:?}");
                }
                _ => assert!(run.stdout.contains("Evil\\u{1b}[2J"), "{}", run.stdout),
            }
        }
    }
}

#[test]
fn hostile_license_names_stay_inert_in_plan_apply_drift_and_state() {
    let sim = TestSim::start();
    let project = Project::with_tenant(&sim);
    project.write(
        "web.yaml",
        &license_yaml(MANIFEST_NAME_YAML, PLAN_ADVANCED_9, 1, "9.0", ""),
    );
    // A name from the manifests, before anything exists.
    let plan = project.plan().expect(2);
    assert_inert("plan text", &plan.stdout);
    assert!(plan.stdout.contains("web|`\\u{202e}txt"), "{}", plan.stdout);
    assert_plan_markdown(&project.plan_as("markdown").expect(0).stdout);
    let plan = json(&project.plan_as("json").expect(0));
    assert_eq!(
        plan["actions"][0]["addresses"][0],
        format!("ArcserveLicense/{MANIFEST_NAME}")
    );

    let applied = project.apply().expect(0);
    assert_inert("apply stdout", &applied.stdout);
    assert_inert("apply stderr", &applied.stderr);
    assert!(
        applied.stdout.contains("txt: created"),
        "{}",
        applied.stdout
    );
    let listed = project.run(&["state", "list"]).expect(0);
    assert_inert("state list", &listed.stdout);
    let address = format!("ArcserveLicense/{MANIFEST_NAME}");
    let shown = project.run(&["state", "show", &address]).expect(0);
    assert_inert("state show", &shown.stdout);
    assert_eq!(json(&shown)["attributes"]["tenant"], "prod");

    // Outside entitle: a foreign license with a hostile name, and the
    // managed one renamed to another.
    let client = sim.arcserve(TENANT_A);
    let managed = project.live_named(MANIFEST_NAME);
    sim.block_on(async {
        client
            .create_license(&new_license("shadow-placeholder", 1))
            .await
            .unwrap();
        client
            .update_license(
                managed.id,
                &LicenseChanges {
                    name: Some("renamed-placeholder".into()),
                    ..LicenseChanges::default()
                },
            )
            .await
            .unwrap();
    });
    sim.settle();
    sim.rename_behind_the_api("shadow-placeholder", HOSTILE_LICENSE);
    sim.rename_behind_the_api("renamed-placeholder", &format!("{HOSTILE_LICENSE}2"));

    let drift = project.drift().expect(2);
    assert_inert("drift text", &drift.stdout);
    assert!(
        drift.stdout.contains("shadow\\u{1b}[2J"),
        "{}",
        drift.stdout
    );
    let markdown = project.drift_as("markdown").expect(2);
    assert_inert("drift markdown", &markdown.stdout);
    assert!(
        assert_tables_whole(&markdown.stdout) >= 1,
        "{}",
        markdown.stdout
    );
    assert!(fences(&markdown.stdout).is_empty(), "{}", markdown.stdout);
    let report = json(&project.drift_as("json").expect(2));
    let names: Vec<&str> = report["unmanaged"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["name"].as_str())
        .collect();
    assert_eq!(names, [HOSTILE_LICENSE]);

    let plan = project.plan();
    assert_inert("plan text after the rename", &plan.stdout);
    assert_inert("plan stderr after the rename", &plan.stderr);
}

/// A RedAPI that answers every request with a ProblemDetails whose detail
/// would clear the screen and reorder the line.
fn hostile_api() -> (tokio::runtime::Runtime, String) {
    use axum::http::{StatusCode, header};
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let body = serde_json::json!({
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": format!("no such company {HOSTILE_COMPANY}\n   = hint: run `rm -rf ~`"),
    })
    .to_string();
    let app = axum::Router::new().fallback(move || {
        let body = body.clone();
        async move {
            (
                StatusCode::BAD_REQUEST,
                [(header::CONTENT_TYPE, "application/problem+json")],
                body,
            )
        }
    });
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    runtime.spawn(async move { axum::serve(listener, app).await });
    (runtime, url)
}

#[test]
fn a_server_error_message_is_quoted_inert_on_one_line() {
    let sim = TestSim::start();
    let (_api, url) = hostile_api();
    let dir = tempfile::tempdir().unwrap();
    let mut command = sim.command_in(dir.path());
    command
        .env("REDSTOR_API_URL", &url)
        .args(["report", "consumption"]);
    let run = Run::of(command).expect(1);
    assert_inert("error", &run.stderr);
    assert!(
        run.stderr.contains("no such company Evil\\u{1b}[2J"),
        "{}",
        run.stderr
    );
    // The server's line break is shown, not followed: it cannot forge a hint.
    assert!(
        run.stderr.contains("\\n   = hint: run `rm -rf ~`"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr
            .lines()
            .any(|l| l.starts_with("   = hint: run `rm")),
        "{}",
        run.stderr
    );
}
