//! `entitle validate`, and the loading every command does, through the
//! binary: what planning or the vendor would refuse is found offline, every
//! problem in one run, each at its file, line and column; and a key file
//! cut short is named, not dumped.

use crate::support::{KEY_STANDALONE, PLAN_ADVANCED_9};
use crate::support::{
    Project, TENANT_YAML, TestSim, company_yaml, document, entitle, license_yaml, proposal_yaml,
    subscription_yaml,
};

/// A project with one defect per file, each of which `validate` once let
/// through, to fail at plan time or halfway through an apply.
fn write_refused_by_planning(project: &Project<'_>) {
    project.write("tenant.yaml", TENANT_YAML);
    project.write(
        "license-cycle.yaml",
        &[
            license_yaml(
                "db",
                PLAN_ADVANCED_9,
                1,
                "9.0",
                "  dependsOn: [ArcserveLicense/web]\n",
            ),
            license_yaml(
                "web",
                PLAN_ADVANCED_9,
                1,
                "9.0",
                "  dependsOn: [ArcserveLicense/db]\n",
            ),
        ]
        .concat(),
    );
    project.write(
        "parent-cycle.yaml",
        &[
            company_yaml("northwind", "Partner", Some("tailspin"), ""),
            company_yaml("tailspin", "Partner", Some("northwind"), ""),
        ]
        .concat(),
    );
    project.write(
        "own-parent.yaml",
        &company_yaml("adatum", "Partner", Some("adatum"), ""),
    );
    project.write(
        "customer-parent.yaml",
        &[
            company_yaml("contoso", "Customer", None, "  companyName: Contoso\n"),
            company_yaml("contoso-branch", "Customer", Some("contoso"), ""),
        ]
        .concat(),
    );
    project.write(
        "same-name.yaml",
        &company_yaml("contoso-uk", "Customer", None, "  companyName: CONTOSO\n"),
    );
    project.write(
        "product-twice.yaml",
        &[
            subscription_yaml("m365", "contoso", "O365", "Advanced", ""),
            subscription_yaml("m365-again", "contoso", "O365", "Standard", ""),
        ]
        .concat(),
    );
    let rows = "    - product: HULFT8 for Windows-Server\n      cluster: Yes (Active-CL)\n      aes: Yes\n      script: None\n      dc: jp1\n      number: 1\n      parentSerial: \"4\"\n";
    project.write(
        "parent-row.yaml",
        &proposal_yaml("hulft", "HULFT", "en", "", rows),
    );
}

/// (file, line, column, the start of the message) of every problem found.
const REFUSED: [(&str, u32, u32, &str); 7] = [
    (
        "customer-parent.yaml",
        16,
        11,
        "`parent` names `RedstorCompany/contoso`, a Customer",
    ),
    (
        "license-cycle.yaml",
        6,
        15,
        "the resources depend on each other in a cycle: ArcserveLicense/db -> ArcserveLicense/web -> ArcserveLicense/db",
    ),
    (
        "own-parent.yaml",
        8,
        11,
        "`parent` names `RedstorCompany/adatum`, which is this resource itself",
    ),
    (
        "parent-cycle.yaml",
        8,
        11,
        "the resources depend on each other in a cycle: RedstorCompany/northwind -> RedstorCompany/tailspin -> RedstorCompany/northwind",
    ),
    (
        "parent-row.yaml",
        18,
        21,
        "`parentSerial` \"4\" is a row number, and this proposal has no row 4",
    ),
    (
        "product-twice.yaml",
        17,
        12,
        "`RedstorCompany/contoso` is already subscribed to product `O365` by `RedstorSubscription/m365`",
    ),
    (
        "same-name.yaml",
        8,
        16,
        "the company name `CONTOSO` is taken under the account's root company by `RedstorCompany/contoso`",
    ),
];

/// Asserts that `stderr` reports exactly the problems of [`REFUSED`].
#[track_caller]
fn assert_refused(stderr: &str) {
    for (file, line, column, message) in REFUSED {
        let block = stderr
            .split("\n\n")
            .find(|block| block.contains(message))
            .unwrap_or_else(|| panic!("no `{message}` in\n{stderr}"));
        let at = format!("manifests/{file}:{line}:{column}\n");
        assert!(block.contains(&at), "`{message}` not at {at}:\n{stderr}");
        assert!(block.contains("= hint: "), "no hint:\n{block}");
    }
    assert!(
        stderr.ends_with("error: 7 problems in 7 files\n"),
        "{stderr}"
    );
}

#[test]
fn validate_finds_offline_what_planning_would_refuse() {
    let sim = TestSim::start();
    let project = Project::new(&sim);
    write_refused_by_planning(&project);
    let output = entitle()
        .current_dir(project.dir.path())
        .args(["validate", "manifests"])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert_refused(&String::from_utf8_lossy(&output.stderr));
}

#[test]
fn plan_refuses_the_same_before_any_request() {
    let sim = TestSim::start();
    let project = Project::new(&sim);
    write_refused_by_planning(&project);
    sim.reset_metrics();
    let run = project.plan().expect(1);
    assert_refused(&run.stderr);
    assert_eq!(sim.metrics(), Default::default(), "requests were made");
    assert!(!project.state_path().exists());
}

#[test]
fn schema_errors_and_what_can_still_be_checked_show_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    // A license missing two fields whose tenant is misspelt; a company
    // without its type whose parent makes a cycle; a license whose tenant
    // broke the schema (no reference is made up from it).
    let text = [
        TENANT_YAML.to_owned(),
        document(
            "ArcserveLicense",
            "db",
            "",
            &format!("  tenant: prdo\n  plan: {PLAN_ADVANCED_9}\n"),
        ),
        document("RedstorCompany", "northwind", "", "  parent: tailspin\n"),
        company_yaml("tailspin", "Partner", Some("northwind"), ""),
        document(
            "ArcserveLicense",
            "web",
            "",
            &format!(
                "  tenant: 5\n  plan: {PLAN_ADVANCED_9}\n  standaloneKeys: 1\n  version: \"9.0\"\n  keyTypes: [{KEY_STANDALONE}]\n"
            ),
        ),
    ]
    .concat();
    std::fs::write(dir.path().join("all.yaml"), text).unwrap();
    let output = entitle().arg("validate").arg(dir.path()).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let messages: Vec<&str> = stderr
        .lines()
        .filter_map(|line| line.strip_prefix("error: "))
        .collect();
    assert_eq!(
        messages,
        [
            "missing field `standaloneKeys` in ArcserveLicense spec",
            "missing field `version` in ArcserveLicense spec",
            "`tenant` refers to EclTenant `prdo`, which is not declared",
            "missing field `type` in RedstorCompany spec",
            "the resources depend on each other in a cycle: RedstorCompany/northwind -> RedstorCompany/tailspin -> RedstorCompany/northwind",
            "`tenant` must be a string, found the number `5`",
            "6 problems in 1 file",
        ],
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `prod`?"), "{stderr}");
}

#[test]
fn a_redstor_key_cut_short_is_named_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("service-account.pem");
    std::fs::write(
        &key,
        "-----BEGIN PRIVATE KEY-----\nMIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQC7\n",
    )
    .unwrap();
    let output = entitle()
        .args(["report", "consumption"])
        .env_clear()
        .env("REDSTOR_CLIENT_ID", "entitle-sim")
        .env("REDSTOR_PRIVATE_KEY_FILE", &key)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "the Redstor private key {} is cut short: it has a `-----BEGIN PRIVATE KEY-----` line and no `-----END PRIVATE KEY-----` line",
            key.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("into the file REDSTOR_PRIVATE_KEY_FILE names"),
        "{stderr}"
    );
    assert!(!stderr.contains("[80, 82"), "a byte list:\n{stderr}");
    assert!(!stderr.contains("MIIEvg"), "the key was printed:\n{stderr}");
}
