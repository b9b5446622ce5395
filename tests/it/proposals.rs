//! Proposals end to end: create, change a row, add and remove rows, switch
//! language, refuse what cannot be done, drift, import, and read Arcserve
//! orders back. The plans and drift reports are snapshot-tested, the ids
//! redacted.

use entitle::api::proposal::Submission;
use entitle::api::proposal_xml::{ArcserveModels, HulftModels};
use serde_json::json;

use crate::support::*;

const HULFT_ROW: &str = "    - product: HULFT8 for Windows-Server
      cluster: Yes (Active-CL)
      aes: Yes
      script: None
      dc: jp1
      number: {number}
";

/// A stand-by node whose parent, the active node, was ordered before: named
/// by its serial number (a row number would name a row of this proposal).
const HULFT_STANDBY_ROW: &str = "    - product: HULFT8 for Windows-Server
      cluster: Yes (Stand-By(New) CL Add)
      aes: Yes
      script: None
      dc: jp1
      number: 1
      parentSerial: \"SN-0001\"
";

fn hulft(language: &str, rows: &[String], metadata: &str) -> String {
    proposal_yaml("hulft", "HULFT", language, metadata, &rows.concat())
}

fn row(number: u32) -> String {
    HULFT_ROW.replace("{number}", &number.to_string())
}

/// The tenant's HULFT proposals, read through the client in `language`.
fn listed(project: &Project<'_>, language: u32) -> Vec<(String, HulftModels)> {
    let sim = project.sim;
    let client = sim.proposals(TENANT_A);
    sim.block_on(client.list(1, language))
        .unwrap()
        .into_iter()
        .map(|p| (p.order_id, HulftModels::from_xml(&p.proposal_xml).unwrap()))
        .collect()
}

/// A HULFT proposal as the portal submits it, in English: a new order or
/// a change of `order_id`.
fn hulft_in_english(order_id: Option<String>, xml: String) -> Submission {
    Submission {
        language: 2,
        service_id: 1,
        order_id,
        customer_email: "ops@example.co.jp".into(),
        proposal_xml: xml,
    }
}

#[test]
fn a_hulft_proposal_is_created_changed_extended_and_trimmed() {
    let sim = TestSim::start();
    let project = Project::with_tenant(&sim);
    project.write("hulft.yaml", &hulft("en", &[row(1)], ""));

    let plan = project.plan().expect(2);
    insta::assert_snapshot!("hulft-create", redact(&plan.stdout));
    project.apply().expect(0);
    let first = listed(&project, 2);
    assert_eq!(first.len(), 1);
    let (order, doc) = &first[0];
    assert_eq!(doc.models.len(), 1);
    assert_eq!(doc.models[0].row_number, 1);
    assert_eq!(doc.models[0].status, 1);
    assert_eq!(doc.models[0].aes.as_deref(), Some("Yes"));
    let uuid = doc.models[0].uuid.clone();
    project.plan().expect(0);

    // A changed count keeps the row's UUID and the order.
    project.write("hulft.yaml", &hulft("en", &[row(3)], ""));
    let plan = project.plan().expect(2);
    insta::assert_snapshot!("hulft-count-changed", redact(&plan.stdout));
    project.apply().expect(0);
    let after = listed(&project, 2);
    assert_eq!(after.len(), 1, "replaced, not added");
    assert_eq!(&after[0].0, order);
    assert_eq!(after[0].1.models[0].uuid, uuid);
    assert_eq!(after[0].1.models[0].number, 3);

    // Add a stand-by row, then remove the first.
    project.write(
        "hulft.yaml",
        &hulft("en", &[row(3), HULFT_STANDBY_ROW.to_string()], ""),
    );
    project.apply().expect(0);
    assert_eq!(listed(&project, 2)[0].1.models.len(), 2);
    project.write(
        "hulft.yaml",
        &hulft("en", &[HULFT_STANDBY_ROW.to_string()], ""),
    );
    let plan = project.plan().expect(2);
    insta::assert_snapshot!("hulft-row-removed", redact(&plan.stdout));
    project.apply().expect(0);
    let last = listed(&project, 2);
    assert_eq!(last[0].1.models.len(), 1);
    assert_eq!(last[0].1.models[0].row_number, 1);
    assert!(
        last[0].1.models[0]
            .cluster
            .as_deref()
            .unwrap()
            .contains("Stand-By")
    );
    project.plan().expect(0);
}

#[test]
fn switching_language_changes_only_the_language() {
    let sim = TestSim::start();
    let project = Project::with_tenant(&sim);
    project.write("hulft.yaml", &hulft("en", &[row(1)], ""));
    project.apply().expect(0);
    project.write("hulft.yaml", &hulft("ja", &[row(1)], ""));
    let plan = project.plan().expect(2);
    insta::assert_snapshot!("hulft-language", redact(&plan.stdout));
    project.apply().expect(0);
    let in_japanese = listed(&project, 1);
    assert_eq!(in_japanese[0].1.language, "ja");
    assert_eq!(in_japanese[0].1.models[0].aes.as_deref(), Some("あり"));
    project.plan().expect(0);
}

#[test]
fn an_invalid_combination_is_refused_offline_with_the_closest_one() {
    let sim = TestSim::start();
    let project = Project::with_tenant(&sim);
    let bad = "    - product: HULFT8 for Linux-Enterprise
      cluster: None
      aes: None
      script: Yes
      dc: jp1
      number: 1
";
    project.write("hulft.yaml", &hulft("en", &[bad.to_string()], ""));
    let run = project.run(&["validate", "manifests"]).expect(1);
    assert!(run.stderr.contains("models[0]"), "{}", run.stderr);
    assert!(
        run.stderr.contains("closest allowed combination"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("HULFT8 for Linux-Enterprise"),
        "{}",
        run.stderr
    );
}

#[test]
fn removing_a_proposal_needs_orphan_or_state_rm() {
    let sim = TestSim::start();
    let project = Project::with_tenant(&sim);
    project.write("hulft.yaml", &hulft("en", &[row(1)], ""));
    project.apply().expect(0);
    project.remove("hulft.yaml");
    let refused = project.plan().expect(1);
    assert!(
        refused.stderr.contains("cannot delete a proposal"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("entitle state rm Proposal/hulft"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("deletionPolicy: Orphan"),
        "{}",
        refused.stderr
    );

    project.write(
        "hulft.yaml",
        &hulft(
            "en",
            &[row(1)],
            "  lifecycle:\n    deletionPolicy: Orphan\n",
        ),
    );
    project.apply().expect(0);
    project.remove("hulft.yaml");
    let plan = project.plan().expect(2);
    insta::assert_snapshot!("hulft-forget", redact(&plan.stdout));
    project.apply().expect(0);
    assert!(project.state()["resources"].get("Proposal/hulft").is_none());
    assert_eq!(listed(&project, 2).len(), 1, "the vendor keeps it");
}

#[test]
fn a_lost_create_answer_is_found_in_the_list_not_sent_twice() {
    let sim = TestSim::start();
    let project = Project::with_tenant(&sim);
    project.write("hulft.yaml", &hulft("en", &[row(2)], ""));
    sim.set_faults(json!({ "drop_rate": 0.5 }));
    for _ in 0..5 {
        if project.apply().code == 0 {
            break;
        }
    }
    sim.set_faults(json!({}));
    project.apply().expect(0);
    project.plan().expect(0);
    assert_eq!(listed(&project, 2).len(), 1, "exactly one proposal");
}

#[test]
fn arcserve_orders_read_back_as_proposals_match_the_licenses() {
    let sim = TestSim::start();
    let project = Project::with_tenant(&sim);
    project.write(
        "licenses.yaml",
        &license_yaml("web", PLAN_ADVANCED_9, 3, "9.0", ""),
    );
    project.apply().expect(0);
    let license = project.live().remove(0);

    let client = sim.proposals(TENANT_A);
    let listed = sim.block_on(client.list(6, 2)).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].order_id, license.order_id.to_string());
    let detail = sim
        .block_on(client.detail(6, &license.order_id.to_string(), 2))
        .unwrap();
    let doc = ArcserveModels::from_xml(&detail.proposal_xml).unwrap();
    assert_eq!(doc.models.len(), 1);
    let model = &doc.models[0];
    assert_eq!(
        model.license_id.as_deref(),
        Some(license.id.to_string().as_str())
    );
    let keys: Vec<&str> = model.license_keys.iter().map(|k| k.key.as_str()).collect();
    let expected: Vec<&str> = license.keys.iter().map(|k| k.value.as_str()).collect();
    assert_eq!(keys, expected);
}

#[test]
fn drift_reports_status_moves_apart_and_sees_changed_rows_and_undeclared_proposals() {
    let sim = TestSim::with_provisioning_delay(std::time::Duration::from_secs(3600));
    let project = Project::with_tenant(&sim);
    project.write("hulft.yaml", &hulft("en", &[row(1)], ""));
    project.apply().expect(0);
    project.drift().expect(0);

    // The vendor accepts the proposal: its status moves, which is its
    // workflow, not drift.
    sim.advance_clock(2 * 3600);
    let moved = project.drift().expect(0);
    insta::assert_snapshot!("drift-status-moved", redact(&moved.stdout));
    project.apply_with(&["--refresh-only"]).expect(0);
    let recorded = project.drift().expect(0);
    assert!(!recorded.stdout.contains("statusId"), "{}", recorded.stdout);

    // Someone changes the count in the portal, and adds a proposal of their own.
    let (order, mut doc) = listed(&project, 2).remove(0);
    doc.models[0].number = 5;
    let client = sim.proposals(TENANT_A);
    sim.block_on(client.submit(&hulft_in_english(Some(order.clone()), doc.to_xml())))
        .unwrap();
    let mut theirs = doc.clone();
    theirs.models[0].uuid = "0b0e3a2c-7f39-4d5a-9a7e-1c2d3e4f5a6b".into();
    sim.block_on(client.submit(&hulft_in_english(None, theirs.to_xml())))
        .unwrap();

    let drift = project.drift().expect(2);
    insta::assert_snapshot!("drift-rows-and-undeclared", redact(&drift.stdout));

    // The plan puts the count back, and -v shows the XML diff.
    let plan = project.run(&["-v", "plan", "manifests"]).expect(0);
    insta::assert_snapshot!("plan-xml-diff", redact(&plan.stdout));
    project.apply().expect(0);
    let after = listed(&project, 2);
    let ours = after.iter().find(|(id, _)| *id == order).unwrap();
    assert_eq!(ours.1.models[0].number, 1);
}

#[test]
fn a_proposal_made_elsewhere_is_imported_and_then_managed() {
    let sim = TestSim::start();
    let project = Project::with_tenant(&sim);
    project.write("hulft.yaml", &hulft("en", &[row(2)], ""));
    let client = sim.proposals(TENANT_A);
    let xml = entitle::api::proposal_xml::HulftModels {
        customer_email: "ops@example.co.jp".into(),
        language: "en".into(),
        models: vec![entitle::api::proposal_xml::HulftModel {
            uuid: "0b0e3a2c-7f39-4d5a-9a7e-1c2d3e4f5a6b".into(),
            dc: "jp1".into(),
            product: "HULFT8 for Windows-Server".into(),
            cluster: Some("Yes (Active-CL)".into()),
            aes: Some("Yes".into()),
            script: Some("None".into()),
            license_pack: None,
            name: "HULFT8 for Windows-Server CL with AES Cipher Option".into(),
            row_number: 1,
            parent_serial: None,
            number: 2,
            status: 1,
        }],
    }
    .to_xml();
    let order = sim
        .block_on(client.submit(&hulft_in_english(None, xml)))
        .unwrap();
    project.import("Proposal/hulft", &order).expect(0);
    // The rows carry the vendor's UUIDs; entitle replaces them with its own.
    project.plan().expect(2);
    project.apply().expect(0);
    project.plan().expect(0);
    let listed = listed(&project, 2);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].0, order);
}

#[test]
fn a_rowless_proposal_whose_answer_was_lost_is_never_sent_twice() {
    let sim = TestSim::start();
    let project = Project::with_tenant(&sim);
    project.write(
        "power.yaml",
        &proposal_yaml("power", "PowerSystems", "en", "", ""),
    );
    sim.set_faults(json!({ "drop_rate": 1.0, "only": "POST /v1/proposal/update/{tenant_id}" }));
    let lost = project.apply().expect(1);
    assert!(
        lost.stderr.contains("cannot be found again"),
        "{}",
        lost.stderr
    );
    sim.set_faults(json!({}));
    let listed = sim.block_on(sim.proposals(TENANT_A).list(5, 2)).unwrap();
    assert_eq!(listed.len(), 1, "the dropped create was made once");

    let refused = project.plan().expect(1);
    assert!(
        refused.stderr.contains("entitle import Proposal/power"),
        "{}",
        refused.stderr
    );
    project
        .run(&[
            "import",
            "Proposal/power",
            &listed[0].order_id,
            "--manifests",
            "manifests",
        ])
        .expect(0);
    project.plan().expect(0);
    assert_eq!(
        sim.block_on(sim.proposals(TENANT_A).list(5, 2))
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn ignore_changes_on_a_proposal_is_refused_not_silently_dropped() {
    let sim = TestSim::start();
    let project = Project::with_tenant(&sim);
    project.write(
        "hulft.yaml",
        &hulft(
            "en",
            &[row(1)],
            "  lifecycle:\n    ignoreChanges: [customerEmail]\n",
        ),
    );
    let refused = project.plan().expect(1);
    assert!(
        refused
            .stderr
            .contains("ignoreChanges is not supported for Proposal"),
        "{}",
        refused.stderr
    );
}
