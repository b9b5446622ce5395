//! The rendered plan, snapshot-tested: every kind of action in one plan, as
//! text, Markdown and JSON, with the server's ids redacted.

use serde_json::json;

use crate::support::*;

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

/// Every UUID in `text` (company and subscription ids) as `[id]`.
fn redact_uuids(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let shape = |window: &[char]| {
        window.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == '-',
            _ => c.is_ascii_hexdigit(),
        })
    };
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if i + 36 <= chars.len() && shape(&chars[i..i + 36]) {
            out.push_str("[id]");
            i += 36;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// A Redstor plan with a create, a reassign with a disable, a replace (a
/// rename), a trial conversion, and the removal of a customer with its
/// subscription.
fn redstor_plan(project: &Project<'_>) {
    let trial = |trial: bool| format!("  trial: {trial}\n");
    project.write(
        "msp.yaml",
        &[
            company_yaml("northwind", "Partner", None, ""),
            company_yaml("tailspin", "Partner", Some("northwind"), ""),
            company_yaml("contoso", "Customer", Some("northwind"), ""),
            company_yaml("fabrikam", "Customer", Some("northwind"), ""),
            company_yaml("adatum", "Customer", Some("northwind"), ""),
            subscription_yaml("contoso-gws", "contoso", "GWS", "Standard", &trial(true)),
            subscription_yaml("adatum-gws", "adatum", "GWS", "Standard", &trial(false)),
        ]
        .concat(),
    );
    project.apply().expect(0);
    project.write(
        "msp.yaml",
        &[
            company_yaml("northwind", "Partner", None, ""),
            company_yaml("tailspin", "Partner", Some("northwind"), ""),
            company_yaml(
                "contoso",
                "Customer",
                Some("tailspin"),
                "  enabled: false\n",
            ),
            company_yaml(
                "fabrikam",
                "Customer",
                Some("northwind"),
                "  companyName: Fabrikam Group\n",
            ),
            company_yaml("wingtip", "Customer", Some("tailspin"), ""),
            subscription_yaml("contoso-gws", "contoso", "GWS", "Standard", &trial(false)),
        ]
        .concat(),
    );
}

#[test]
fn a_redstor_plan_renders_as_text_and_markdown() {
    let sim = TestSim::start();
    let project = Project::new(&sim);
    redstor_plan(&project);
    let text = project.plan().expect(2).stdout;
    insta::assert_snapshot!("redstor-plan-text", redact_uuids(&text));
    let markdown = project
        .run(&["plan", "manifests", "--format", "markdown"])
        .expect(0)
        .stdout;
    insta::assert_snapshot!("redstor-plan-markdown", redact_uuids(&markdown));
}
