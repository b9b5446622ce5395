//! Properties over generated inputs: planning is deterministic, the action
//! order respects every dependency, apply-then-plan is empty (licenses, and
//! Redstor trees changing into other trees), and the manifest loader never
//! panics, whatever the bytes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use entitle::api::ecl::EclClients;
use entitle::api::redstor::RedstorAccess;
use entitle::apply::{ApplyOptions, ApplyReport, Silent};
use entitle::manifest::Desired;
use entitle::plan::{Live, Plan, PlanInput};
use entitle::state::State;
use entitle::workflow::{Planned, Workspace};
use proptest::prelude::*;

use crate::support::*;

const PLANS: [&str; 3] = [
    "7f5a3c1e-2b4d-4e8f-9a6b-0c1d2e3f4a5b",
    "8e6b4d2f-3c5e-4f9a-8b7c-1d2e3f4a5b6c",
    "9f7c5e3a-4d6f-4a0b-9c8d-2e3f4a5b6c7d",
];

/// One generated license: plan index, key count, version, whether it
/// depends on an earlier license (by index), whether it has a key type.
#[derive(Clone, Debug)]
struct Gen {
    plan: usize,
    keys: u32,
    version: &'static str,
    depends_on: Option<usize>,
    keyed: bool,
}

fn gen_license() -> impl Strategy<Value = Gen> {
    (
        0..PLANS.len(),
        0u32..5,
        prop::sample::select(vec!["9.0", "10.0"]),
        prop::option::of(0usize..8),
        any::<bool>(),
    )
        .prop_map(|(plan, keys, version, depends_on, keyed)| Gen {
            plan,
            keys,
            // The third plan starts at 10.0; a lower version is a plan error.
            version: if plan == 2 { "10.0" } else { version },
            depends_on,
            keyed,
        })
}

/// Manifests for the generated licenses; a dependency points only to an
/// earlier license, so the graph has no cycle.
fn manifests(licenses: &[Gen]) -> String {
    let mut text = TENANT_YAML.to_string();
    for (i, license) in licenses.iter().enumerate() {
        let depends = match license.depends_on {
            Some(d) if d < i => format!("  dependsOn: [ArcserveLicense/l{d}]\n"),
            _ => String::new(),
        };
        let yaml = if license.keyed {
            license_yaml
        } else {
            keyless_license_yaml
        };
        text.push_str(&yaml(
            &format!("l{i}"),
            PLANS[license.plan],
            license.keys,
            license.version,
            &depends,
        ));
    }
    text
}

fn load(text: &str) -> Desired {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.yaml");
    std::fs::write(&path, text).unwrap();
    entitle::manifest::load(&[path]).unwrap()
}

/// An empty tenant, as refresh would see it, with the simulator's catalog.
fn empty_live() -> Live {
    let plans = entitle::sim::catalog::PLANS
        .iter()
        .map(|p| entitle::api::arcserve::Plan {
            id: p.id.parse().unwrap(),
            name_ja: p.name_ja.into(),
            name_en: p.name_en.into(),
            version: p.version.into(),
            edition: p.edition.into(),
            key_types: p
                .key_types
                .iter()
                .map(|k| entitle::api::arcserve::KeyType {
                    id: k.id.parse().unwrap(),
                    name: k.name.into(),
                })
                .collect(),
        })
        .collect();
    let tenant = entitle::resources::arcserve_license::TenantLive::from_api(
        time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000),
        Vec::new(),
        plans,
        Some(&[]),
    );
    Live {
        licenses: entitle::resources::arcserve_license::LicensesLive {
            tenants: BTreeMap::from([(TENANT_A.to_string(), tenant)]),
        },
        ..Live::default()
    }
}

fn plan_of(desired: &Desired, state: &State, live: &Live) -> Plan {
    entitle::plan::plan(&PlanInput {
        desired,
        prior: state,
        live,
        targets: &[],
        replace: &[],
    })
    .unwrap()
}

/// Each action's index in `plan`, by id.
fn positions(plan: &Plan) -> BTreeMap<&str, usize> {
    plan.actions
        .iter()
        .enumerate()
        .map(|(i, a)| (a.id.as_str(), i))
        .collect()
}

/// Every action of `plan` comes after each action in its `after` list.
fn assert_after_lists_kept(plan: &Plan) -> Result<(), TestCaseError> {
    let position = positions(plan);
    for (i, action) in plan.actions.iter().enumerate() {
        for before in &action.after {
            prop_assert!(
                position[before.as_str()] < i,
                "{} runs before {}",
                action.id,
                before
            );
        }
    }
    Ok(())
}

/// A workspace of `dir/m.yaml` and `dir/state.json` against the simulator.
fn workspace(sim: &TestSim, dir: &std::path::Path, redstor: RedstorAccess) -> Workspace {
    let http = sim.http();
    Workspace {
        paths: vec![dir.join("m.yaml")],
        store: entitle::state::Store::in_file(dir.join("state.json")),
        lock_timeout: Duration::ZERO,
        clients: EclClients::new(http.clone(), sim.keystone(&http), Some(sim.url.clone())),
        redstor,
    }
}

/// Applies what `workspace` planned, polling fast, replacing if allowed.
fn apply(
    sim: &TestSim,
    workspace: &Workspace,
    planned: Planned,
    allow_replace: bool,
) -> ApplyReport {
    sim.block_on(async {
        let (_tx, cancel) = tokio::sync::watch::channel(false);
        let options = ApplyOptions {
            poll_interval: Duration::from_millis(20),
            allow_replace,
            ..ApplyOptions::default()
        };
        workspace
            .apply(
                &planned.plan,
                planned.state,
                options,
                Arc::new(Silent),
                cancel,
            )
            .await
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn planning_is_deterministic(licenses in prop::collection::vec(gen_license(), 0..8)) {
        let desired = load(&manifests(&licenses));
        let live = empty_live();
        let state = State::new();
        let first = serde_json::to_string(&plan_of(&desired, &state, &live)).unwrap();
        let second = serde_json::to_string(&plan_of(&desired, &state, &live)).unwrap();
        prop_assert_eq!(first, second);
    }

    #[test]
    fn the_order_respects_every_dependency(licenses in prop::collection::vec(gen_license(), 1..8)) {
        let desired = load(&manifests(&licenses));
        let plan = plan_of(&desired, &State::new(), &empty_live());
        assert_after_lists_kept(&plan)?;
        let position = positions(&plan);
        for (i, license) in licenses.iter().enumerate() {
            if let Some(d) = license.depends_on.filter(|d| *d < i) {
                let me = position[format!("create ArcserveLicense/l{i}").as_str()];
                let dep = position[format!("create ArcserveLicense/l{d}").as_str()];
                prop_assert!(dep < me, "l{} is created before l{}, which it depends on", i, d);
            }
        }
    }

    #[test]
    fn the_loader_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.yaml");
        std::fs::write(&path, &bytes).unwrap();
        let _ = entitle::manifest::load(&[path]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    /// Through the real executor and HTTP: from an empty state, with some
    /// licenses made outside entitle, apply, then plan: nothing is left.
    #[test]
    fn apply_then_plan_is_empty(
        licenses in prop::collection::vec(gen_license(), 0..6),
        outside in 0usize..4,
    ) {
        let sim = TestSim::start();
        let client = sim.arcserve(TENANT_A);
        for i in 0..outside {
            sim.block_on(client.create_license(&entitle::api::arcserve::NewLicense {
                name: format!("outside-{i}"),
                plan_id: PLANS[i % PLANS.len()].parse().unwrap(),
                number_of_standalone_keys: 1,
            }))
            .unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.yaml"), manifests(&licenses)).unwrap();
        let workspace = workspace(
            &sim,
            dir.path(),
            RedstorAccess::unavailable("no Redstor account in this test", ""),
        );
        let planned = sim.block_on(workspace.plan(&[])).unwrap();
        let report = apply(&sim, &workspace, planned, false);
        prop_assert!(report.succeeded(), "{:?}", report.outcomes);
        let again = sim.block_on(workspace.plan(&[])).unwrap();
        prop_assert!(again.plan.is_empty(), "{:?}", again.plan.actions);
    }
}

/// One generated Redstor company: `c{i}` is a partner when `i` is even (so
/// a type never changes between two trees), under the root or an earlier
/// partner, enabled or not, with some subscriptions.
#[derive(Clone, Debug)]
struct GenCompany {
    present: bool,
    /// Index of the parent among earlier companies (a partner), if any.
    parent: Option<usize>,
    enabled: bool,
    /// Per product slot: absent, or (edition choice, trial).
    subscriptions: [Option<(bool, bool)>; 3],
}

/// Products with a trial edition, as (product, [editions]).
const PRODUCTS: [(&str, [&str; 2]); 3] = [
    ("O365", ["Standard", "Advanced"]),
    ("GWS", ["Standard", "Standard"]),
    ("Machines", ["Workstation", "Workstation"]),
];

fn gen_company() -> impl Strategy<Value = GenCompany> {
    (
        any::<bool>(),
        prop::option::of(0usize..6),
        prop::bool::weighted(0.8),
        prop::array::uniform3(prop::option::of((any::<bool>(), any::<bool>()))),
    )
        .prop_map(|(present, parent, enabled, subscriptions)| GenCompany {
            present,
            parent,
            enabled,
            subscriptions,
        })
}

/// The parent that `tree[i]` really gets: its drawn parent when that is an
/// earlier partner present in the tree, else the root.
fn parent_in(tree: &[GenCompany], i: usize) -> Option<usize> {
    tree[i]
        .parent
        .filter(|&p| p < i && p % 2 == 0 && tree[p].present)
}

/// Manifests of a tree; in `after`, a subscription that was paid in
/// `before` stays paid (a paid subscription cannot become a trial again).
fn redstor_manifests(tree: &[GenCompany], before: Option<&[GenCompany]>) -> String {
    // One company in every tree, so that no tree is an empty set of files.
    let mut text = company_yaml("anchor", "Partner", None, "");
    for (i, company) in tree.iter().enumerate().filter(|(_, c)| c.present) {
        let kind = if i % 2 == 0 { "Partner" } else { "Customer" };
        let parent = parent_in(tree, i).map(|p| format!("c{p}"));
        text.push_str(&company_yaml(
            &format!("c{i}"),
            kind,
            parent.as_deref(),
            &format!("  enabled: {}\n", company.enabled),
        ));
        for (slot, subscription) in company.subscriptions.iter().enumerate() {
            let Some((edition, mut trial)) = *subscription else {
                continue;
            };
            let was_paid = before
                .and_then(|b| b.get(i))
                .filter(|b| b.present)
                .and_then(|b| b.subscriptions[slot])
                .is_some_and(|(_, trial)| !trial);
            if was_paid {
                trial = false;
            }
            let (product, editions) = PRODUCTS[slot];
            text.push_str(&subscription_yaml(
                &format!("c{i}-{product}"),
                &format!("c{i}"),
                product,
                editions[usize::from(edition)],
                &format!("  trial: {trial}\n"),
            ));
        }
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Redstor through the real executor and HTTP: apply one random tree,
    /// then another (companies moving, appearing, going, enabled or not;
    /// subscriptions added, removed, converted, their editions replaced),
    /// with companies made outside entitle alongside. Each plan's order
    /// respects its `after` lists, every apply succeeds (the simulator
    /// refuses deleting a company that still has customers or
    /// subscriptions), and the plan after each apply is empty.
    #[test]
    fn redstor_trees_converge(
        first in prop::collection::vec(gen_company(), 6),
        second in prop::collection::vec(gen_company(), 6),
        outside in 0usize..3,
    ) {
        let sim = TestSim::start();
        let client = sim.redstor();
        let root = sim.redstor_root();
        for i in 0..outside {
            sim.block_on(client.create_customer(
                root,
                &format!("outside-{i}"),
                entitle::api::redstor::CompanyType::Customer,
            ))
            .unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let workspace = workspace(&sim, dir.path(), RedstorAccess::new(client.clone()));
        for (tree, before) in [(&first, None), (&second, Some(first.as_slice()))] {
            std::fs::write(dir.path().join("m.yaml"), redstor_manifests(tree, before)).unwrap();
            let planned = sim.block_on(workspace.plan(&[])).unwrap();
            assert_after_lists_kept(&planned.plan)?;
            let report = apply(&sim, &workspace, planned, true);
            prop_assert!(report.succeeded(), "{:?}", report.outcomes);
            let again = sim.block_on(workspace.plan(&[])).unwrap();
            prop_assert!(again.plan.is_empty(), "{:?}", again.plan.actions);
        }
        // What entitle did not make is still there.
        let names: Vec<String> = sim
            .redstor_tree()
            .into_iter()
            .map(|c| c.company_name)
            .collect();
        for i in 0..outside {
            let name = format!("outside-{i}");
            prop_assert!(names.contains(&name), "{} is gone", name);
        }
    }
}
