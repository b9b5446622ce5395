//! The rendered plan, snapshot-tested: every kind of action in one plan, as
//! text, Markdown and JSON, with the server's ids redacted.

use serde_json::json;

use crate::support::*;

/// A plan with a create, an update, a replace, a delete, a forget, a bulk
/// upgrade and a deferred upgrade, made against a simulator whose clock is
/// fixed so the dates are stable.
pub fn mixed_plan(project: &Project<'_>) {
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
    insta::assert_snapshot!("plan-text", redact(&text));
}

#[test]
fn a_plan_with_every_kind_of_action_renders_as_markdown() {
    let sim = TestSim::start();
    let project = Project::new(&sim);
    mixed_plan(&project);
    let markdown = project.plan_as("markdown").expect(0).stdout;
    insta::assert_snapshot!("plan-markdown", redact(&markdown));
}

#[test]
fn a_plan_with_every_kind_of_action_renders_as_json() {
    let sim = TestSim::start();
    let project = Project::new(&sim);
    mixed_plan(&project);
    let json = project.plan_as("json").expect(0).stdout;
    insta::assert_snapshot!("plan-json", redact(&json));
}

/// A Redstor plan with a create, a reassign with a disable, a replace (a
/// rename), a trial conversion, and the removal of a customer with its
/// subscription.
pub fn redstor_plan(project: &Project<'_>) {
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
    insta::assert_snapshot!("redstor-plan-text", redact(&text));
    let markdown = project.plan_as("markdown").expect(0).stdout;
    insta::assert_snapshot!("redstor-plan-markdown", redact(&markdown));
}
