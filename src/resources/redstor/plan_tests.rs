//! Unit tests of the Redstor planner: manifests loaded from YAML, a state
//! and an account (`RedstorLive`) built by hand, planned through
//! `crate::plan::plan`. They check which actions come out, their order and
//! `after` links, and the operations' fields: creates under the root and
//! under a new parent, an unmanaged company of the same name, reassign,
//! disable, replacements and their consent, trial conversion, the removal
//! rules (left-behind subscriptions, `Orphan`, `preventDestroy`),
//! `ignoreChanges`, the catalog check, and determinism.

use serde_json::json;
use uuid::Uuid;

use super::plan::{
    SubscriptionAttributes, company_address, company_scope, observed_company_attributes,
    subscription_record,
};
use super::{CompanyParent, NewCompany, NewSubscription, RedstorLive, RedstorOperation};
use crate::api::redstor::{Company, CompanyType, Edition, Product, Subscription, TrialStatus};
use crate::manifest::Address;
use crate::plan::contract::PlanError;
use crate::plan::model::{Action, ActionKind, Change, Operation, Plan};
use crate::plan::{PlanErrors, PlanInput};
use crate::resources::{Live, ProviderOperation};
use crate::state::model::RecordedLifecycle;
use crate::state::{ResourceState, State, Status};

const ROOT_ID: Uuid = Uuid::from_u128(0x100);
const NORTHWIND: Uuid = Uuid::from_u128(1);
const TAILSPIN: Uuid = Uuid::from_u128(2);
const CONTOSO: Uuid = Uuid::from_u128(3);
const SUBSCRIPTION: Uuid = Uuid::from_u128(21);

// --- manifests ---------------------------------------------------------

fn document(kind: &str, name: &str, metadata: &str, spec: &str) -> String {
    format!(
        "---\napiVersion: entitle/v1\nkind: {kind}\nmetadata:\n  name: {name}\n{metadata}spec:\n{spec}"
    )
}

/// A RedstorCompany manifest, with `extra` lines of spec.
fn company_yaml(name: &str, company_type: &str, parent: Option<&str>, extra: &str) -> String {
    let parent = parent
        .map(|p| format!("  parent: {p}\n"))
        .unwrap_or_default();
    document(
        "RedstorCompany",
        name,
        "",
        &format!("  type: {company_type}\n{parent}{extra}"),
    )
}

/// A RedstorSubscription manifest, with `extra` lines of spec.
fn subscription_yaml(
    name: &str,
    company: &str,
    product: &str,
    edition: &str,
    extra: &str,
) -> String {
    document(
        "RedstorSubscription",
        name,
        "",
        &format!("  company: {company}\n  product: {product}\n  edition: {edition}\n{extra}"),
    )
}

/// The customer `contoso` under the root, with `metadata` lines.
fn contoso_yaml(metadata: &str, extra: &str) -> String {
    document(
        "RedstorCompany",
        "contoso",
        metadata,
        &format!("  type: Customer\n{extra}"),
    )
}

// --- the account -------------------------------------------------------

fn root() -> Company {
    Company {
        company_id: ROOT_ID,
        company_name: "MSP".into(),
        is_enabled: true,
        company_type: CompanyType::Partner,
        parent_company_id: None,
    }
}

fn company(id: Uuid, name: &str, company_type: CompanyType, parent: Uuid) -> Company {
    Company {
        company_id: id,
        company_name: name.into(),
        is_enabled: true,
        company_type,
        parent_company_id: Some(parent),
    }
}

fn contoso() -> Company {
    company(CONTOSO, "contoso", CompanyType::Customer, ROOT_ID)
}

fn products() -> Vec<Product> {
    let edition = |id: u32, name: &str, has_trial: bool| Edition {
        id,
        name: name.into(),
        has_trial,
    };
    vec![
        Product {
            id: 4,
            name: "Office 365".into(),
            short_name: Some("O365".into()),
            description: None,
            editions: vec![edition(40, "Standard", true), edition(41, "Advanced", true)],
        },
        Product {
            id: 7,
            name: "Machines".into(),
            short_name: Some("Machines".into()),
            description: None,
            editions: vec![edition(70, "Server", false)],
        },
    ]
}

/// An active Office 365 subscription in `edition`.
fn o365(edition_id: u32, trial_status: TrialStatus) -> Subscription {
    Subscription {
        subscription_id: SUBSCRIPTION,
        product_id: 4,
        edition_id,
        is_active: true,
        trial_status,
    }
}

fn live(companies: Vec<Company>, subscriptions: Vec<(Uuid, Vec<Subscription>)>) -> Live {
    let mut redstor = RedstorLive::new(Some(root()), companies, products());
    redstor.subscriptions = subscriptions.into_iter().collect();
    Live {
        redstor: Some(redstor),
        ..Live::default()
    }
}

// --- the state ---------------------------------------------------------

/// The record of `company` as applied under the manifest parent `parent`.
fn company_record(
    company: &Company,
    parent: Option<&str>,
    lifecycle: RecordedLifecycle,
) -> ResourceState {
    ResourceState {
        remote_id: Some(company.company_id.to_string()),
        scope: company_scope(company.parent_company_id),
        natural_key: company.company_name.clone(),
        attributes: json!(observed_company_attributes(
            company,
            parent.map(String::from)
        )),
        dependencies: parent.map(company_address).into_iter().collect(),
        status: Status::Ready,
        lifecycle,
    }
}

/// The record of the Office 365 subscription of `contoso`.
fn o365_record(edition_id: u32, trial: bool) -> ResourceState {
    let attributes = SubscriptionAttributes {
        company: "contoso".into(),
        product_id: 4,
        edition_id,
        trial,
    };
    subscription_record(
        CONTOSO,
        SUBSCRIPTION,
        &json!(attributes),
        vec![company_address("contoso")],
        RecordedLifecycle::default(),
    )
}

fn state(records: Vec<(&str, ResourceState)>) -> State {
    let mut state = State::new();
    for (address, record) in records {
        state.resources.insert(address.into(), record);
    }
    state
}

/// A state that manages `contoso` only.
fn contoso_state(lifecycle: RecordedLifecycle) -> State {
    state(vec![(
        "RedstorCompany/contoso",
        company_record(&contoso(), None, lifecycle),
    )])
}

// --- planning and reading the plan ---------------------------------------

fn run(text: &str, prior: &State, live: &Live) -> Result<Plan, PlanErrors> {
    run_replacing(text, prior, live, &[])
}

/// [`run`] with `--replace` naming `replace`.
fn run_replacing(
    text: &str,
    prior: &State,
    live: &Live,
    replace: &[Address],
) -> Result<Plan, PlanErrors> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("redstor.yaml");
    std::fs::write(&path, text).unwrap();
    let desired = crate::manifest::load(&[path]).unwrap();
    crate::plan::plan(&PlanInput {
        desired: &desired,
        prior,
        live,
        targets: &[],
        replace,
    })
}

fn ids(plan: &Plan) -> Vec<&str> {
    plan.actions.iter().map(|a| a.id.as_str()).collect()
}

fn action<'a>(plan: &'a Plan, id: &str) -> &'a Action {
    plan.actions.iter().find(|a| a.id == id).unwrap()
}

fn redstor(action: &Action) -> &RedstorOperation {
    match &action.operation {
        Operation::Provider(ProviderOperation::Redstor(operation)) => operation,
        other => panic!("not a Redstor operation: {other:?}"),
    }
}

/// The one error of a plan that fails.
fn only_error(result: Result<Plan, PlanErrors>) -> PlanError {
    let mut errors = result.unwrap_err().0;
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors.remove(0)
}

fn change(field: &str, before: serde_json::Value, after: serde_json::Value) -> Change {
    Change {
        field: field.into(),
        before: Some(before),
        after: Some(after),
        forces_replacement: false,
    }
}

fn addr(text: &str) -> Address {
    text.into()
}

// --- companies ---------------------------------------------------------

#[test]
fn new_companies_are_created_parents_first_under_the_root_and_a_new_parent() {
    let text = company_yaml(
        "northwind",
        "Partner",
        None,
        "  companyName: Northwind MS\n",
    ) + &company_yaml("contoso", "Customer", Some("northwind"), "")
        + &subscription_yaml("contoso-m365", "contoso", "O365", "Advanced", "");
    let plan = run(&text, &State::new(), &live(Vec::new(), Vec::new())).unwrap();
    assert_eq!(
        ids(&plan),
        [
            "create RedstorCompany/northwind",
            "create RedstorCompany/contoso",
            "create RedstorSubscription/contoso-m365"
        ]
    );
    assert_eq!(
        action(&plan, "create RedstorCompany/contoso").after,
        ["create RedstorCompany/northwind"]
    );
    assert_eq!(
        action(&plan, "create RedstorSubscription/contoso-m365").after,
        ["create RedstorCompany/contoso"]
    );
    assert_eq!(
        redstor(action(&plan, "create RedstorCompany/northwind")),
        &RedstorOperation::CreateCompany(NewCompany {
            name: "Northwind MS".into(),
            company_type: CompanyType::Partner,
            parent: CompanyParent::Root {
                company_id: ROOT_ID
            },
            enabled: true,
            attributes: json!({"companyName": "Northwind MS", "type": "Partner", "enabled": true}),
            dependencies: Vec::new(),
            lifecycle: RecordedLifecycle::default(),
        })
    );
    assert_eq!(
        redstor(action(&plan, "create RedstorCompany/contoso")),
        &RedstorOperation::CreateCompany(NewCompany {
            name: "contoso".into(),
            company_type: CompanyType::Customer,
            parent: CompanyParent::Managed {
                address: addr("RedstorCompany/northwind")
            },
            enabled: true,
            attributes: json!({
                "companyName": "contoso", "type": "Customer", "parent": "northwind", "enabled": true
            }),
            dependencies: vec![addr("RedstorCompany/northwind")],
            lifecycle: RecordedLifecycle::default(),
        })
    );
    assert_eq!(
        redstor(action(&plan, "create RedstorSubscription/contoso-m365")),
        &RedstorOperation::CreateSubscription(NewSubscription {
            company: CompanyParent::Managed {
                address: addr("RedstorCompany/contoso")
            },
            product_id: 4,
            edition_id: 41,
            trial: false,
            attributes: json!({"company": "contoso", "productId": 4, "editionId": 41, "trial": false}),
            dependencies: vec![addr("RedstorCompany/contoso")],
            lifecycle: RecordedLifecycle::default(),
        })
    );
}

#[test]
fn a_company_of_the_same_name_that_the_state_does_not_know_must_be_imported() {
    // Names compare without case, as RedAPI does.
    let account = live(
        vec![company(
            CONTOSO,
            "contoso ltd",
            CompanyType::Customer,
            ROOT_ID,
        )],
        Vec::new(),
    );
    let text = contoso_yaml("", "  companyName: Contoso Ltd\n");
    let error = only_error(run(&text, &State::new(), &account));
    assert_eq!(error.address, Some(addr("RedstorCompany/contoso")));
    assert_eq!(
        error.message,
        format!(
            "a company named `Contoso Ltd` already exists there ({CONTOSO}), and the state does not manage it"
        )
    );
    // The command names the manifests this plan loaded, ready to paste.
    let hint = error.hint.unwrap();
    assert!(
        hint.starts_with(&format!(
            "to manage it, `entitle import RedstorCompany/contoso {CONTOSO} /"
        )) && hint.ends_with("/redstor.yaml`; or give this one another companyName"),
        "{hint}"
    );
}

#[test]
fn a_new_parent_is_a_reassign() {
    let northwind = company(NORTHWIND, "northwind", CompanyType::Partner, ROOT_ID);
    let tailspin = company(TAILSPIN, "tailspin", CompanyType::Partner, ROOT_ID);
    let customer = company(CONTOSO, "contoso", CompanyType::Customer, NORTHWIND);
    let prior = state(vec![
        (
            "RedstorCompany/northwind",
            company_record(&northwind, None, RecordedLifecycle::default()),
        ),
        (
            "RedstorCompany/tailspin",
            company_record(&tailspin, None, RecordedLifecycle::default()),
        ),
        (
            "RedstorCompany/contoso",
            company_record(&customer, Some("northwind"), RecordedLifecycle::default()),
        ),
    ]);
    let text = company_yaml("northwind", "Partner", None, "")
        + &company_yaml("tailspin", "Partner", None, "")
        + &company_yaml("contoso", "Customer", Some("tailspin"), "");
    let plan = run(
        &text,
        &prior,
        &live(vec![northwind, tailspin, customer], Vec::new()),
    )
    .unwrap();
    assert_eq!(ids(&plan), ["update RedstorCompany/contoso"]);
    let update = &plan.actions[0];
    assert_eq!(update.kind, ActionKind::Update);
    assert_eq!(
        update.reason,
        "it moves to another parent (reassign; nothing is deleted)"
    );
    assert_eq!(
        update.changes,
        [change("parent", json!("northwind"), json!("tailspin"))]
    );
    assert_eq!(
        redstor(update),
        &RedstorOperation::UpdateCompany {
            company_id: CONTOSO,
            reassign_to: Some(CompanyParent::Managed {
                address: addr("RedstorCompany/tailspin")
            }),
            enabled: None,
            attributes: json!({
                "companyName": "contoso", "type": "Customer", "parent": "tailspin", "enabled": true
            }),
            dependencies: vec![addr("RedstorCompany/tailspin")],
        }
    );
    assert!(plan.replacements_needing_consent().is_empty());
}

#[test]
fn replace_makes_an_unchanged_company_anew_and_says_it_deletes_its_data() {
    let prior = contoso_state(RecordedLifecycle::default());
    let plan = run_replacing(
        &contoso_yaml("", ""),
        &prior,
        &live(vec![contoso()], Vec::new()),
        &[addr("RedstorCompany/contoso")],
    )
    .unwrap();
    assert_eq!(ids(&plan), ["replace RedstorCompany/contoso"]);
    assert_eq!(
        plan.actions[0].reason,
        "--replace asks for it; the company and its data are deleted and made anew"
    );
    assert_eq!(plan.replacements_needing_consent().len(), 1);
}

#[test]
fn disabling_a_company_is_an_update() {
    let prior = contoso_state(RecordedLifecycle::default());
    let plan = run(
        &contoso_yaml("", "  enabled: false\n"),
        &prior,
        &live(vec![contoso()], Vec::new()),
    )
    .unwrap();
    assert_eq!(ids(&plan), ["update RedstorCompany/contoso"]);
    assert_eq!(plan.actions[0].reason, "it is to be disabled");
    assert_eq!(
        plan.actions[0].changes,
        [change("enabled", json!(true), json!(false))]
    );
    assert_eq!(
        redstor(&plan.actions[0]),
        &RedstorOperation::UpdateCompany {
            company_id: CONTOSO,
            reassign_to: None,
            enabled: Some(false),
            attributes: json!({"companyName": "contoso", "type": "Customer", "enabled": false}),
            dependencies: Vec::new(),
        }
    );
}

#[test]
fn a_new_company_name_is_a_replace_that_needs_consent() {
    let prior = contoso_state(RecordedLifecycle::default());
    let text = contoso_yaml("", "  companyName: Contoso Group\n");
    let plan = run(&text, &prior, &live(vec![contoso()], Vec::new())).unwrap();
    assert_eq!(ids(&plan), ["replace RedstorCompany/contoso"]);
    let replace = &plan.actions[0];
    assert_eq!(
        replace.changes,
        [Change {
            forces_replacement: true,
            ..change("companyName", json!("contoso"), json!("Contoso Group"))
        }]
    );
    assert_eq!(
        redstor(replace),
        &RedstorOperation::ReplaceCompany {
            old_id: CONTOSO,
            subscriptions: Vec::new(),
            new: NewCompany {
                name: "Contoso Group".into(),
                company_type: CompanyType::Customer,
                parent: CompanyParent::Root {
                    company_id: ROOT_ID
                },
                enabled: true,
                attributes: json!({"companyName": "Contoso Group", "type": "Customer", "enabled": true}),
                dependencies: Vec::new(),
                lifecycle: RecordedLifecycle::default(),
            },
        }
    );
    assert_eq!(
        plan.replacements_needing_consent(),
        [&addr("RedstorCompany/contoso")]
    );
    assert_eq!(
        plan.notes,
        [
            "RedstorCompany/contoso is replaced: the company at Redstor and its data are deleted; apply runs it only with --allow-replace"
        ]
    );
}

#[test]
fn a_company_with_customers_is_not_replaced() {
    let northwind = company(NORTHWIND, "northwind", CompanyType::Partner, ROOT_ID);
    let customer = company(CONTOSO, "contoso", CompanyType::Customer, NORTHWIND);
    let prior = state(vec![
        (
            "RedstorCompany/northwind",
            company_record(&northwind, None, RecordedLifecycle::default()),
        ),
        (
            "RedstorCompany/contoso",
            company_record(&customer, Some("northwind"), RecordedLifecycle::default()),
        ),
    ]);
    let text = company_yaml(
        "northwind",
        "Partner",
        None,
        "  companyName: Northwind Group\n",
    ) + &company_yaml("contoso", "Customer", Some("northwind"), "");
    let error = only_error(run(
        &text,
        &prior,
        &live(vec![northwind, customer], Vec::new()),
    ));
    assert_eq!(error.address, Some(addr("RedstorCompany/northwind")));
    assert_eq!(
        error.message,
        "its companyName changed and RedAPI cannot rename a company, so it would be replaced, but it has 1 customer(s): contoso"
    );
}

// --- subscriptions -----------------------------------------------------

/// `contoso` and its Office 365 subscription, as recorded.
fn subscribed_state(edition_id: u32, trial: bool) -> State {
    state(vec![
        (
            "RedstorCompany/contoso",
            company_record(&contoso(), None, RecordedLifecycle::default()),
        ),
        (
            "RedstorSubscription/contoso-m365",
            o365_record(edition_id, trial),
        ),
    ])
}

#[test]
fn a_new_edition_replaces_the_subscription() {
    let prior = subscribed_state(40, false);
    let account = live(
        vec![contoso()],
        vec![(CONTOSO, vec![o365(40, TrialStatus::NotUsed)])],
    );
    let text = contoso_yaml("", "")
        + &subscription_yaml("contoso-m365", "contoso", "O365", "Advanced", "");
    let plan = run(&text, &prior, &account).unwrap();
    assert_eq!(ids(&plan), ["replace RedstorSubscription/contoso-m365"]);
    let replace = &plan.actions[0];
    assert_eq!(
        replace.changes,
        [Change {
            forces_replacement: true,
            ..change("editionId", json!(40), json!(41))
        }]
    );
    assert_eq!(
        redstor(replace),
        &RedstorOperation::ReplaceSubscription {
            old_company_id: CONTOSO,
            old_id: SUBSCRIPTION,
            new: NewSubscription {
                company: CompanyParent::Managed {
                    address: addr("RedstorCompany/contoso")
                },
                product_id: 4,
                edition_id: 41,
                trial: false,
                attributes: json!({"company": "contoso", "productId": 4, "editionId": 41, "trial": false}),
                dependencies: vec![addr("RedstorCompany/contoso")],
                lifecycle: RecordedLifecycle::default(),
            },
        }
    );
    assert_eq!(
        plan.replacements_needing_consent(),
        [&addr("RedstorSubscription/contoso-m365")]
    );
}

#[test]
fn prevent_destroy_refuses_a_replace_naming_the_field_that_forces_it() {
    let prior = subscribed_state(40, false);
    let account = live(
        vec![contoso()],
        vec![(CONTOSO, vec![o365(40, TrialStatus::NotUsed)])],
    );
    let text = contoso_yaml("", "")
        + &document(
            "RedstorSubscription",
            "contoso-m365",
            "  lifecycle:\n    preventDestroy: true\n",
            "  company: contoso\n  product: O365\n  edition: Advanced\n",
        );
    let error = only_error(run(&text, &prior, &account));
    assert_eq!(
        error.message,
        "spec.edition: its edition changed, and RedAPI cannot change a subscription's edition: it would be replaced, but lifecycle.preventDestroy is set"
    );
}

#[test]
fn ending_a_trial_converts_it() {
    let prior = subscribed_state(40, true);
    let account = live(
        vec![contoso()],
        vec![(CONTOSO, vec![o365(40, TrialStatus::Active)])],
    );
    let text = contoso_yaml("", "")
        + &subscription_yaml("contoso-m365", "contoso", "O365", "Standard", "");
    let plan = run(&text, &prior, &account).unwrap();
    assert_eq!(ids(&plan), ["update RedstorSubscription/contoso-m365"]);
    let convert = &plan.actions[0];
    assert_eq!(
        convert.changes,
        [change("trial", json!(true), json!(false))]
    );
    assert_eq!(
        redstor(convert),
        &RedstorOperation::ConvertTrial {
            company_id: CONTOSO,
            subscription_id: SUBSCRIPTION,
            attributes: json!({"company": "contoso", "productId": 4, "editionId": 40, "trial": false}),
        }
    );
    assert!(plan.replacements_needing_consent().is_empty());
}

#[test]
fn an_unknown_product_or_edition_is_an_error_naming_close_ones() {
    let account = live(Vec::new(), Vec::new());
    let product = subscription_yaml("own-m365", "root", "O356", "Standard", "");
    let error = only_error(run(&product, &State::new(), &account));
    assert_eq!(error.address, Some(addr("RedstorSubscription/own-m365")));
    assert_eq!(
        error.message,
        "spec.product: the product catalog has no product `O356`"
    );
    assert_eq!(error.hint.as_deref(), Some("did you mean `O365`?"));

    let edition = subscription_yaml("own-m365", "root", "O365", "Advnced", "");
    let error = only_error(run(&edition, &State::new(), &account));
    assert_eq!(
        error.message,
        "spec.edition: Office 365 has no edition `Advnced`"
    );
    assert_eq!(error.hint.as_deref(), Some("did you mean `Advanced`?"));
}

// --- removals and lifecycle rules --------------------------------------

/// Another company, declared, recorded and unchanged, so that a manifest
/// without `contoso` still has a document.
fn bystander() -> (String, Company) {
    (
        company_yaml("tailspin", "Partner", None, ""),
        company(TAILSPIN, "tailspin", CompanyType::Partner, ROOT_ID),
    )
}

/// `contoso`, gone from the manifests, recorded with `lifecycle`, holding
/// `subscriptions` that no record knows.
fn remove_contoso(
    lifecycle: RecordedLifecycle,
    subscriptions: Vec<Subscription>,
) -> Result<Plan, PlanErrors> {
    let (text, tailspin) = bystander();
    let mut prior = contoso_state(lifecycle);
    prior.resources.insert(
        addr("RedstorCompany/tailspin"),
        company_record(&tailspin, None, RecordedLifecycle::default()),
    );
    let account = live(vec![contoso(), tailspin], vec![(CONTOSO, subscriptions)]);
    run(&text, &prior, &account)
}

#[test]
fn a_removed_company_is_deleted() {
    let plan = remove_contoso(RecordedLifecycle::default(), Vec::new()).unwrap();
    assert_eq!(ids(&plan), ["delete RedstorCompany/contoso"]);
    assert_eq!(
        redstor(&plan.actions[0]),
        &RedstorOperation::DeleteCompany {
            company_id: CONTOSO
        }
    );
}

#[test]
fn a_removed_company_with_subscriptions_outside_entitle_is_not_deleted() {
    let result = remove_contoso(
        RecordedLifecycle::default(),
        vec![o365(40, TrialStatus::NotUsed)],
    );
    let error = only_error(result);
    assert_eq!(error.address, Some(addr("RedstorCompany/contoso")));
    assert_eq!(
        error.message,
        "it is gone from the manifests, but RedAPI deletes a company only without customers and subscriptions, and these stay: a subscription to Office 365 (not managed)"
    );
}

/// A create killed before its answer was recorded leaves a record without
/// an id; the subscription it made is still entitle's, deleted first.
#[test]
fn a_removed_company_holding_an_unanswered_subscription_create_is_deleted() {
    let (text, tailspin) = bystander();
    let mut prior = contoso_state(RecordedLifecycle::default());
    prior.resources.insert(
        addr("RedstorCompany/tailspin"),
        company_record(&tailspin, None, RecordedLifecycle::default()),
    );
    let mut creating = o365_record(40, false);
    creating.remote_id = None;
    creating.status = Status::Creating;
    prior
        .resources
        .insert(addr("RedstorSubscription/contoso-o365"), creating);
    let account = live(
        vec![contoso(), tailspin],
        vec![(CONTOSO, vec![o365(40, TrialStatus::NotUsed)])],
    );
    let plan = run(&text, &prior, &account).unwrap();
    assert_eq!(
        ids(&plan),
        [
            "delete RedstorSubscription/contoso-o365",
            "delete RedstorCompany/contoso"
        ]
    );
}

#[test]
fn deletion_policy_orphan_forgets_a_removed_company() {
    let orphan = RecordedLifecycle {
        orphan_on_delete: true,
        ..RecordedLifecycle::default()
    };
    let plan = remove_contoso(orphan, vec![o365(40, TrialStatus::NotUsed)]).unwrap();
    assert_eq!(ids(&plan), ["forget RedstorCompany/contoso"]);
    assert_eq!(plan.actions[0].operation, Operation::Forget);
    assert_eq!(
        plan.actions[0].reason,
        "it is gone from the manifests and its deletionPolicy is Orphan"
    );
}

#[test]
fn prevent_destroy_refuses_to_delete_a_removed_company() {
    let guarded = RecordedLifecycle {
        prevent_destroy: true,
        ..RecordedLifecycle::default()
    };
    let error = only_error(remove_contoso(guarded, Vec::new()));
    assert_eq!(error.address, Some(addr("RedstorCompany/contoso")));
    assert_eq!(
        error.message,
        "it is gone from the manifests, but it was applied with lifecycle.preventDestroy: refusing to delete it"
    );
}

#[test]
fn ignore_changes_on_enabled_leaves_a_disabled_company_alone() {
    let disabled = Company {
        is_enabled: false,
        ..contoso()
    };
    let prior = state(vec![(
        "RedstorCompany/contoso",
        company_record(&disabled, None, RecordedLifecycle::default()),
    )]);
    let account = live(vec![disabled], Vec::new());
    let ignoring = contoso_yaml("  lifecycle:\n    ignoreChanges: [enabled]\n", "");
    assert_eq!(run(&ignoring, &prior, &account).unwrap().actions, []);

    // Without the rule, the company is enabled again.
    let plan = run(&contoso_yaml("", ""), &prior, &account).unwrap();
    assert_eq!(ids(&plan), ["update RedstorCompany/contoso"]);
    assert_eq!(plan.actions[0].reason, "it is to be enabled");
}

// --- determinism -------------------------------------------------------

#[test]
fn the_plan_is_the_same_byte_for_byte_on_two_runs() {
    let once = || {
        let prior = subscribed_state(40, false);
        let account = live(
            vec![
                contoso(),
                company(TAILSPIN, "tailspin", CompanyType::Partner, ROOT_ID),
            ],
            vec![(CONTOSO, vec![o365(40, TrialStatus::NotUsed)])],
        );
        let text = contoso_yaml("", "  enabled: false\n")
            + &subscription_yaml("contoso-m365", "contoso", "4", "41", "")
            + &company_yaml("northwind", "Partner", None, "")
            + &company_yaml("fabrikam", "Customer", Some("northwind"), "")
            + &subscription_yaml("fabrikam-servers", "fabrikam", "Machines", "Server", "");
        let plan = run(&text, &prior, &account).unwrap();
        serde_json::to_string_pretty(&plan).unwrap()
    };
    let first = once();
    assert_eq!(first, once());
    let plan: Plan = serde_json::from_str(&first).unwrap();
    assert_eq!(
        ids(&plan),
        [
            "create RedstorCompany/northwind",
            "create RedstorCompany/fabrikam",
            "create RedstorSubscription/fabrikam-servers",
            "update RedstorCompany/contoso",
            "replace RedstorSubscription/contoso-m365"
        ]
    );
}

#[test]
fn a_managed_company_that_cannot_be_read_is_an_error_naming_it_and_never_created_again() {
    // RedAPI lists contoso, but with a field entitle cannot read: it is
    // left out of the companies, and must not look deleted.
    let mut live = live(Vec::new(), Vec::new());
    if let Some(redstor) = live.redstor.as_mut() {
        redstor.unreadable.push(crate::api::lenient::Unreadable {
            id: Some(CONTOSO.hyphenated().to_string().to_uppercase()),
            name: Some("contoso".into()),
            reason: "at `type`: unknown variant `Reseller`".into(),
        });
    }
    let error = only_error(run(
        &contoso_yaml("", ""),
        &contoso_state(RecordedLifecycle::default()),
        &live,
    ));
    assert_eq!(error.address, Some(addr("RedstorCompany/contoso")));
    assert!(
        error.message.contains("unknown variant `Reseller`"),
        "{}",
        error.message
    );
}

// --- bindings settled page by page ------------------------------------

/// Every binding made on the pages read so far is one the whole tree
/// makes, whatever comes later: a record whose id is on a later page, a
/// lost create found by name on a later page, a declared child whose
/// parent comes later; and here, once the whole tree is read, every
/// binding is settled.
#[test]
fn bindings_settled_page_by_page_are_those_of_the_whole_tree() {
    use super::plan::bound_companies;
    use super::settle::Settling;
    use super::subscription_companies;
    const ALPHA: Uuid = Uuid::from_u128(11);
    const DELTA: Uuid = Uuid::from_u128(14);
    const BETA: Uuid = Uuid::from_u128(12);
    const SECOND_ALPHA: Uuid = Uuid::from_u128(15);
    // Depth first, as RedAPI lists: alpha first, the others later.
    let tree = vec![
        company(ALPHA, "alpha", CompanyType::Partner, ROOT_ID),
        company(TAILSPIN, "tailspin", CompanyType::Partner, ROOT_ID),
        company(DELTA, "delta", CompanyType::Customer, TAILSPIN),
        company(NORTHWIND, "northwind", CompanyType::Partner, ROOT_ID),
        company(BETA, "beta", CompanyType::Customer, NORTHWIND),
        company(CONTOSO, "contoso", CompanyType::Customer, ROOT_ID),
        company(SECOND_ALPHA, "alpha", CompanyType::Customer, TAILSPIN),
    ];
    let text = [
        // Named `alpha`, but recorded with contoso's id (not yet ready):
        // the id binds it, not the name of a company seen first.
        document(
            "RedstorCompany",
            "x",
            "",
            "  type: Customer\n  companyName: alpha\n",
        ),
        // A create under tailspin whose answer was lost.
        company_yaml("delta", "Customer", Some("tailspin"), ""),
        company_yaml("tailspin", "Partner", None, ""),
        // Found by name under a parent found by name later.
        company_yaml("northwind", "Partner", None, ""),
        company_yaml("beta", "Customer", Some("northwind"), ""),
        subscription_yaml("on-root", "root", "O365", "Standard", ""),
    ]
    .concat();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("redstor.yaml");
    std::fs::write(&path, text).unwrap();
    let desired = crate::manifest::load(&[path]).unwrap();
    let mut creating = company_record(&contoso(), None, RecordedLifecycle::default());
    creating.status = Status::Creating;
    let mut lost = company_record(&tree[2], Some("tailspin"), RecordedLifecycle::default());
    lost.remote_id = None;
    let prior = state(vec![
        ("RedstorCompany/x", creating),
        ("RedstorCompany/delta", lost),
        (
            "RedstorCompany/tailspin",
            company_record(&tree[1], None, RecordedLifecycle::default()),
        ),
    ]);
    let whole = RedstorLive::new(Some(root()), tree.clone(), products());
    let all = bound_companies(&desired, &prior, &whole);
    assert_eq!(all[&addr("RedstorCompany/x")], CONTOSO);
    assert_eq!(all[&addr("RedstorCompany/delta")], DELTA);
    assert_eq!(all[&addr("RedstorCompany/beta")], BETA);
    let wanted = subscription_companies(&desired, &prior, &whole);
    // Every split of the tree into pages: one company a page is the finest.
    let mut settling = Settling::new(&prior, &root());
    settling.declare(&desired);
    assert!(
        settling.wanted().contains(&ROOT_ID),
        "the root's list is wanted from the start"
    );
    let mut listed = settling.wanted().clone();
    for (seen, company) in tree.iter().enumerate() {
        for id in settling.page(std::slice::from_ref(company)) {
            assert!(listed.insert(id), "{id} made wanted twice");
        }
        for (address, id) in settling.bound() {
            assert_eq!(
                all.get(address),
                Some(id),
                "{address} after {seen} companies"
            );
        }
        assert!(listed.is_subset(&wanted), "after {seen}: {listed:?}");
        if seen == 0 {
            // Without waiting for contoso's id, `x` would be bound to alpha.
            assert!(!settling.bound().contains_key(&addr("RedstorCompany/x")));
        }
    }
    assert_eq!(
        settling.bound(),
        &all,
        "the whole tree settles every binding"
    );
    assert_eq!(&listed, settling.wanted());
    assert_eq!(listed, wanted, "the whole tree wants every list");
    let mut at_once = Settling::new(&prior, &root());
    at_once.declare(&desired);
    at_once.page(&tree);
    assert_eq!(at_once.bound(), &all, "one page settles as many");
    assert_eq!(at_once.wanted(), &wanted);
    // The manifests after the whole tree: the names bind all at once.
    let mut declared_last = Settling::new(&prior, &root());
    declared_last.page(&tree);
    assert!(
        !declared_last
            .bound()
            .contains_key(&addr("RedstorCompany/beta"))
    );
    declared_last.declare(&desired);
    assert_eq!(declared_last.bound(), &all, "names bind the pages read");
    assert_eq!(declared_last.wanted(), &wanted);
    let first = RedstorLive::new(Some(root()), tree[..1].to_vec(), products());
    assert_eq!(
        bound_companies(&desired, &prior, &first).get(&addr("RedstorCompany/x")),
        Some(&ALPHA)
    );
}

/// A declared company of a generated case: its name at Redstor (from a
/// few, so that names meet, in either case), its parent among the earlier
/// ones (`None`: the root), and what the state records of it.
#[derive(Clone, Debug)]
struct DeclaredCase {
    name: String,
    parent: Option<usize>,
    record: RecordCase,
}

#[derive(Clone, Debug)]
enum RecordCase {
    None,
    /// The id of the tree's company at this index, ready or still being created.
    Id(usize, bool),
    /// An id the tree does not have (deleted outside entitle).
    Gone,
    /// A create whose answer was lost, under the tree's company at this
    /// index (`None`: the root).
    Lost(Option<usize>),
}

const NAMES: [&str; 4] = ["alpha", "Alpha", "beta", "gamma"];

fn tree_case() -> impl proptest::strategy::Strategy<Value = Vec<(usize, usize)>> {
    // Each company: its name, and its parent as a count back from it (0:
    // the root), so that parents come first as RedAPI lists them.
    proptest::collection::vec((0..NAMES.len(), 0..4usize), 1..14)
}

fn declared_case() -> impl proptest::strategy::Strategy<Value = Vec<DeclaredCase>> {
    use proptest::prelude::*;
    let record = prop_oneof![
        Just(RecordCase::None),
        (0..14usize, any::<bool>()).prop_map(|(at, ready)| RecordCase::Id(at, ready)),
        Just(RecordCase::Gone),
        proptest::option::of(0..14usize).prop_map(RecordCase::Lost),
    ];
    proptest::collection::vec((0..NAMES.len(), 0..4usize, record), 0..8).prop_map(|items| {
        // Two declared companies of one name under one parent are refused
        // by the manifest checks: the second is named apart.
        let mut taken = std::collections::BTreeSet::new();
        items
            .into_iter()
            .enumerate()
            .map(|(at, (name, back, record))| {
                let parent = (back > 0 && back <= at).then(|| at - back);
                let name = if taken.insert((parent, NAMES[name].to_lowercase())) {
                    NAMES[name].to_owned()
                } else {
                    format!("apart{at}")
                };
                DeclaredCase {
                    name,
                    parent,
                    record,
                }
            })
            .collect()
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(96))]

    /// However the tree comes in pages, what the pages read so far settle is
    /// what the whole tree binds, and each list is wanted once.
    #[test]
    fn settling_page_by_page_binds_as_the_whole_tree_does(
        shape in tree_case(),
        declared in declared_case(),
        cuts in proptest::collection::vec(0..14usize, 0..5),
        declared_after in 0..6usize,
        root_used in proptest::bool::ANY,
    ) {
        use super::plan::bound_companies;
        use super::settle::Settling;
        use super::subscription_companies;

        let id = |at: usize| Uuid::from_u128(0x1000 + at as u128);
        let tree: Vec<Company> = shape
            .iter()
            .enumerate()
            .map(|(at, (name, back))| {
                let parent = if *back == 0 || *back > at { ROOT_ID } else { id(at - back) };
                company(id(at), NAMES[*name], CompanyType::Partner, parent)
            })
            .collect();
        let mut text = String::new();
        let mut records = Vec::new();
        for (at, case) in declared.iter().enumerate() {
            let parent = case.parent.map(|p| format!("d{p}"));
            let extra = format!("  companyName: {}\n", case.name);
            text.push_str(&company_yaml(&format!("d{at}"), "Partner", parent.as_deref(), &extra));
            let recorded = |remote_id: Option<String>, parent: Option<Uuid>, ready: bool| {
                let mut record = company_record(&root(), None, RecordedLifecycle::default());
                record.remote_id = remote_id;
                record.scope = company_scope(parent);
                record.natural_key = case.name.clone();
                record.status = if ready { Status::Ready } else { Status::Creating };
                record
            };
            let record = match &case.record {
                RecordCase::None => None,
                RecordCase::Id(t, ready) => Some(recorded(Some(id(t % tree.len()).to_string()), None, *ready)),
                RecordCase::Gone => Some(recorded(Some(Uuid::from_u128(0xdead).to_string()), None, true)),
                RecordCase::Lost(under) => {
                    let parent = under.map_or(ROOT_ID, |t| id(t % tree.len()));
                    Some(recorded(None, Some(parent), false))
                }
            };
            if let Some(record) = record {
                records.push((format!("RedstorCompany/d{at}"), record));
            }
        }
        if root_used {
            text.push_str(&subscription_yaml("on-root", "root", "O365", "Standard", ""));
        }
        // A subscription recorded on the last company of the tree.
        let attributes = json!({"company": "elsewhere", "productId": 4, "editionId": 40, "trial": false});
        let holder = id(tree.len() - 1);
        records.push((
            "RedstorSubscription/held".to_owned(),
            subscription_record(holder, SUBSCRIPTION, &attributes, Vec::new(), RecordedLifecycle::default()),
        ));
        let desired = if text.is_empty() {
            crate::manifest::Desired::default()
        } else {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("redstor.yaml");
            std::fs::write(&path, &text).unwrap();
            crate::manifest::load(&[path]).unwrap()
        };
        let prior = state(records.iter().map(|(a, r)| (a.as_str(), r.clone())).collect());
        let whole = RedstorLive::new(Some(root()), tree.clone(), products());
        let all = bound_companies(&desired, &prior, &whole);
        let wanted = subscription_companies(&desired, &prior, &whole);

        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (tree.len() + 1)).collect();
        cuts.push(tree.len());
        cuts.sort_unstable();
        // The manifests arrive before the first page, between two pages or
        // after the last.
        let declared_after = declared_after % (cuts.len() + 1);
        let mut settling = Settling::new(&prior, &root());
        let mut listed = settling.wanted().clone();
        let mut from = 0;
        for (page, to) in std::iter::once(0).chain(cuts).enumerate() {
            let mut new = settling.page(&tree[from..to]);
            if page == declared_after {
                new.extend(settling.declare(&desired));
            }
            for new in new {
                proptest::prop_assert!(listed.insert(new), "{} made wanted twice", new);
            }
            from = to;
            for (address, bound) in settling.bound() {
                proptest::prop_assert_eq!(all.get(address), Some(bound), "{} after {} companies", address, to);
            }
            proptest::prop_assert!(listed.is_subset(&wanted), "after {}: {:?} not all in {:?}", to, listed, wanted);
        }
        proptest::prop_assert!(listed.contains(&holder), "a recorded holder's list is wanted");
        proptest::prop_assert_eq!(root_used, listed.contains(&ROOT_ID));
        // When the manifests arrive does not change what is settled.
        let mut declared_first = Settling::new(&prior, &root());
        declared_first.declare(&desired);
        declared_first.page(&tree);
        proptest::prop_assert_eq!(settling.bound(), declared_first.bound());
        proptest::prop_assert_eq!(settling.wanted(), declared_first.wanted());
    }
}
