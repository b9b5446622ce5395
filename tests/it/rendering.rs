//! The rendered plan, snapshot-tested: every kind of action in one plan, as
//! text, Markdown and JSON, with the server's ids redacted.

use serde_json::json;

use crate::support::*;

const PLAN_PREMIUM_9: &str = "8e6b4d2f-3c5e-4f9a-8b7c-1d2e3f4a5b6c";

/// Replaces every license and order id the simulator made with `[id]`.
fn redact(text: &str, sim: &TestSim) -> String {
    let dump = sim.control(reqwest::Method::GET, "dump", None);
    let mut out = text.to_string();
    for tenant in dump["arcserve"]
        .as_object()
        .into_iter()
        .flat_map(|t| t.values())
    {
        for license in tenant["licenses"].as_array().into_iter().flatten() {
            out = out.replace(license["id"].as_str().unwrap_or("-"), "[id]");
            out = out.replace(license["order_id"].as_str().unwrap_or("-"), "[id]");
        }
    }
    out
}

/// A plan with a create, an update, a replace, a delete, a forget, a bulk
/// upgrade and a deferred upgrade, made against a simulator whose clock is
/// fixed so the dates are stable.
fn mixed_plan(project: &Project<'_>) {
    let sim = project.sim;
    sim.control(
        reqwest::Method::PUT,
        "clock",
        Some(json!({ "now": "2026-06-01T01:00:00Z" })),
    );
    project.write("tenant.yaml", TENANT_YAML);
    project.write(
        "licenses.yaml",
        &[
            license_yaml("alpha", PLAN_ADVANCED_9, 1, "9.0", ""),
            license_yaml("bravo", PLAN_ADVANCED_9, 1, "9.0", ""),
            license_yaml("charlie", PLAN_ADVANCED_9, 1, "9.0", ""),
            license_yaml(
                "delta",
                PLAN_ADVANCED_9,
                1,
                "9.0",
                "  lifecycle:\n    deletionPolicy: Orphan\n",
            ),
        ]
        .concat(),
    );
    project.apply().expect(0);
    sim.advance_clock(86_400);
    project.write(
        "licenses.yaml",
        &[
            license_yaml("alpha", PLAN_ADVANCED_9, 3, "10.0", ""),
            license_yaml("bravo", PLAN_PREMIUM_9, 1, "9.0", ""),
            license_yaml("echo", PLAN_ADVANCED_9, 2, "10.0", ""),
        ]
        .concat(),
    );
}

#[test]
fn a_plan_with_every_kind_of_action_renders_as_text() {
    let sim = TestSim::start();
    let project = Project::new(&sim);
    mixed_plan(&project);
    let text = project.plan().expect(2).stdout;
    insta::assert_snapshot!("plan-text", redact(&text, &sim));
}

#[test]
fn a_plan_with_every_kind_of_action_renders_as_markdown() {
    let sim = TestSim::start();
    let project = Project::new(&sim);
    mixed_plan(&project);
    let markdown = project
        .run(&["plan", "manifests", "--format", "markdown"])
        .expect(0)
        .stdout;
    insta::assert_snapshot!("plan-markdown", redact(&markdown, &sim));
}

#[test]
fn a_plan_with_every_kind_of_action_renders_as_json() {
    let sim = TestSim::start();
    let project = Project::new(&sim);
    mixed_plan(&project);
    let json = project
        .run(&["plan", "manifests", "--format", "json"])
        .expect(0)
        .stdout;
    insta::assert_snapshot!("plan-json", redact(&json, &sim));
}
