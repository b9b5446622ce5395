//! The planner: a pure function of (desired, prior state, live) to a plan.
//!
//! It is generic over kinds. It checks the resource graph for cycles, limits
//! the work to `--target` addresses and what they depend on, asks each kind
//! for its actions, then orders them: an action on a resource waits for the
//! actions on what that resource depends on; a delete waits for the deletes
//! of what depended on it; actions on one resource run in the order the kind
//! gave them. No clock, no randomness, no I/O: the same inputs give the same
//! plan, byte for byte.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use petgraph::graph::{DiGraph, NodeIndex};

use super::graph::{Cycle, OrderGraph};
use serde_json::json;

pub use super::contract::{Context, Draft, KindPlan, PlanError, PlanErrors, PlanInput};
use super::model::{Action, ActionKind, Change, Operation, PLAN_FORMAT_VERSION, Plan};
use crate::manifest::{Address, Desired};
use crate::state::State;
use crate::state::model::RecordedLifecycle;

/// Per desired resource, what it depends on, sorted, each once.
pub type Dependencies = BTreeMap<Address, Vec<Address>>;

/// The dependencies of every desired resource: its references and its
/// `dependsOn`.
pub fn dependencies(desired: &Desired) -> Dependencies {
    desired
        .resources
        .iter()
        .map(|resource| {
            let deps = resource
                .spec
                .references()
                .into_iter()
                .map(|r| Address::new(r.kind, r.name))
                .chain(resource.metadata.depends_on.iter().cloned());
            (resource.address.clone(), sorted_once(deps))
        })
        .collect()
}

/// `addresses` sorted, each once, as [`Dependencies`] keeps them.
fn sorted_once(addresses: impl IntoIterator<Item = Address>) -> Vec<Address> {
    let mut addresses: Vec<Address> = addresses.into_iter().collect();
    addresses.sort();
    addresses.dedup();
    addresses
}

/// What of a plan the manifests alone settle: every declared resource's
/// dependencies, checked for cycles. [`plan`] makes it first; a caller that
/// has the manifests before the live view (the workflow, while refresh
/// reads) makes it then and plans with [`plan_with`].
#[derive(Debug)]
pub struct DeclaredGraph {
    deps: Dependencies,
}

impl DeclaredGraph {
    pub fn of(desired: &Desired) -> Result<Self, PlanErrors> {
        let deps = dependencies(desired);
        check_cycles(desired, &deps)?;
        Ok(DeclaredGraph { deps })
    }
}

/// Makes the plan.
pub fn plan(input: &PlanInput<'_>) -> Result<Plan, PlanErrors> {
    plan_with(input, &DeclaredGraph::of(input.desired)?)
}

/// Makes the plan from `declared`, made of `input.desired`. The kinds plan
/// side by side, each on a thread of its own, and so do the lifecycle
/// changes: each is a pure function of the input.
pub fn plan_with(input: &PlanInput<'_>, declared: &DeclaredGraph) -> Result<Plan, PlanErrors> {
    let deps = &declared.deps;
    let scope = target_scope(input, deps)?;
    let context = Context::new(input, scope);
    check_replace(&context)?;

    let (kind_plans, lifecycle) = std::thread::scope(|threads| {
        let lifecycle = threads.spawn(|| lifecycle_changes(&context));
        let kind_plans = crate::resources::plan(&context);
        (kind_plans, crate::error::thread_result(lifecycle))
    });
    let mut outcome = KindPlan::default();
    for kind_plan in kind_plans {
        outcome.drafts.extend(kind_plan.drafts);
        outcome.deferred.extend(kind_plan.deferred);
        outcome.notes.extend(kind_plan.notes);
        outcome.errors.extend(kind_plan.errors);
    }
    if !outcome.errors.is_empty() {
        return Err(placed(outcome.errors, input.desired));
    }
    outcome.drafts.extend(lifecycle);
    let actions = order(outcome.drafts, deps, input.prior)?;
    outcome.deferred.sort_by(|a, b| a.address.cmp(&b.address));
    Ok(Plan {
        format_version: PLAN_FORMAT_VERSION,
        actions,
        deferred: outcome.deferred,
        notes: outcome.notes,
        policy: None,
    })
}

/// The errors, each about a resource the manifests declare and without a
/// place of its own given the place of the document that declares it (a
/// resource only in the state has none).
fn placed(mut errors: Vec<PlanError>, desired: &Desired) -> PlanErrors {
    for error in &mut errors {
        if error.location.is_none()
            && let Some(resource) = error.address.as_ref().and_then(|a| desired.get(a))
        {
            error.location = Some(resource.source.clone());
        }
    }
    PlanErrors(errors)
}

/// `--replace` names declared resources with an object at a vendor,
/// within `--target`.
fn check_replace(context: &Context<'_>) -> Result<(), PlanErrors> {
    let input = context.input;
    let problems: Vec<PlanError> = input
        .replace
        .iter()
        .filter_map(|address| {
            let problem = if input.desired.get(address).is_none() {
                PlanError::new(
                    Some(address.clone()),
                    "--replace names a resource the manifests do not declare",
                )
                .hint("name a declared resource as `Kind/name`; `entitle state list` shows those applied")
            } else if address.kind.provider().is_none() {
                PlanError::new(
                    Some(address.clone()),
                    format!("--replace: a {} has no object at a vendor to replace", address.kind),
                )
                .hint("replace the resources in it instead")
            } else if !context.in_scope(address) {
                PlanError::new(Some(address.clone()), "--replace names a resource outside --target")
                    .hint("add it to --target, or leave --target out")
            } else {
                return None;
            };
            Some(problem)
        })
        .collect();
    match problems.is_empty() {
        true => Ok(()),
        false => Err(PlanErrors(problems)),
    }
}

/// Resources whose lifecycle rules differ from those recorded: the state
/// must learn them (a later removal honours `deletionPolicy` and
/// `preventDestroy` as they were applied). Nothing changes on the server.
fn lifecycle_changes(context: &Context<'_>) -> Vec<Draft> {
    let input = context.input;
    input
        .desired
        .resources
        .iter()
        .filter_map(|resource| {
            let address = &resource.address;
            let record = input.prior.get(address)?;
            let wanted = RecordedLifecycle::from(&resource.metadata.lifecycle);
            if record.lifecycle == wanted || !context.in_scope(address) {
                return None;
            }
            let change = |field: &str, before: bool, after: bool| {
                (before != after).then(|| Change {
                    field: field.into(),
                    before: Some(json!(before)),
                    after: Some(json!(after)),
                    forces_replacement: false,
                })
            };
            let changes = [
                change(
                    "lifecycle.preventDestroy",
                    record.lifecycle.prevent_destroy,
                    wanted.prevent_destroy,
                ),
                change(
                    "lifecycle.orphan",
                    record.lifecycle.orphan_on_delete,
                    wanted.orphan_on_delete,
                ),
            ]
            .into_iter()
            .flatten()
            .collect();
            Some(Draft::single(
                ActionKind::Record,
                address,
                "its lifecycle rules changed; the state records them".into(),
                changes,
                Operation::RecordLifecycle { lifecycle: wanted },
            ))
        })
        .collect()
}

/// Refuses dependencies in a cycle. The check is on positions; only a
/// cycle found is named, through the labelled graph.
fn check_cycles(desired: &Desired, deps: &Dependencies) -> Result<(), PlanErrors> {
    let index: HashMap<&Address, usize> = deps.keys().enumerate().map(|(at, a)| (a, at)).collect();
    let mut graph: DiGraph<(), ()> = DiGraph::with_capacity(deps.len(), deps.len());
    deps.keys().for_each(|_| _ = graph.add_node(()));
    for (at, targets) in deps.values().enumerate() {
        for &from in targets.iter().filter_map(|dep| index.get(dep)) {
            graph.add_edge(NodeIndex::new(from), NodeIndex::new(at), ());
        }
    }
    // A resource naming itself is a loop, which `toposort` counts as a cycle.
    if petgraph::algo::toposort(&graph, None).is_err() {
        return Err(cycle(desired, deps));
    }
    Ok(())
}

/// The cycle among `deps`, named along its path and placed at the first
/// resource's manifest.
fn cycle(desired: &Desired, deps: &Dependencies) -> PlanErrors {
    let mut graph = OrderGraph::new();
    let index: BTreeMap<&Address, usize> = deps
        .keys()
        .map(|address| (address, graph.add(address.to_string())))
        .collect();
    for (address, targets) in deps {
        for dep in targets {
            if let (Some(&from), Some(&to)) = (index.get(dep), index.get(address)) {
                graph.before(from, to);
            }
        }
    }
    let cycle = match graph.order() {
        // Not reached: both graphs have the same edges.
        Ok(_) => Cycle(Vec::new()),
        Err(cycle) => cycle,
    };
    let first = cycle.0.first().cloned();
    let location = first.as_ref().and_then(|address| {
        desired
            .resources
            .iter()
            .find(|r| r.address.to_string() == *address)
            .map(|r| r.source.clone())
    });
    PlanErrors(vec![
        PlanError::new(
            None,
            format!("the resources depend on each other in a cycle: {cycle}"),
        )
        .hint("remove one of these references or dependsOn entries")
        .at(location.as_ref()),
    ])
}

/// The targets and everything they depend on; `None` when no target is given.
fn target_scope(
    input: &PlanInput<'_>,
    deps: &Dependencies,
) -> Result<Option<BTreeSet<Address>>, PlanErrors> {
    if input.targets.is_empty() {
        return Ok(None);
    }
    let mut scope = BTreeSet::new();
    let mut errors = Vec::new();
    let mut stack: Vec<Address> = Vec::new();
    for target in input.targets {
        let address = target.clone();
        if !deps.contains_key(&address) && input.prior.get(&address).is_none() {
            errors.push(
                PlanError::new(
                    Some(address.clone()),
                    "--target names a resource that is neither in the manifests nor in the state",
                )
                .hint("check the spelling: Kind/name, e.g. ArcserveLicense/backup-prod-web"),
            );
        }
        stack.push(address);
    }
    while let Some(address) = stack.pop() {
        if scope.insert(address.clone())
            && let Some(next) = deps.get(&address)
        {
            stack.extend(next.iter().cloned());
        }
    }
    if errors.is_empty() {
        Ok(Some(scope))
    } else {
        Err(PlanErrors(errors))
    }
}

/// Orders the drafts into the plan's actions and fills in `after`.
fn order(
    drafts: Vec<Draft>,
    deps: &Dependencies,
    prior: &State,
) -> Result<Vec<Action>, PlanErrors> {
    let mut graph = OrderGraph::new();
    for draft in &drafts {
        graph.add(draft.action.id.clone());
    }
    let touching = Touching::of(&drafts);
    touching.keep_each_resource_in_order(&mut graph);
    touching.build_dependencies_first(&mut graph, deps);
    let recorded = touching.recorded_rules(prior);
    let order = order_giving_way(&mut graph, &recorded).map_err(|cycle| {
        PlanErrors(vec![
            PlanError::new(None, format!("the planned actions form a cycle: {cycle}"))
                .hint("this is a bug in entitle; please report it with the manifests"),
        ])
    })?;
    Ok(into_actions(drafts, &graph, order))
}

/// Which drafts touch each resource, split by the building side (create,
/// update, replace...) and removals, and which are bulk upgrades.
struct Touching<'a> {
    building: BTreeMap<&'a Address, Vec<usize>>,
    removing: BTreeMap<&'a Address, Vec<usize>>,
    kinds: Vec<ActionKind>,
}

impl<'a> Touching<'a> {
    fn of(drafts: &'a [Draft]) -> Self {
        let mut touching = Touching {
            building: BTreeMap::new(),
            removing: BTreeMap::new(),
            kinds: drafts.iter().map(|d| d.action.kind).collect(),
        };
        for (i, draft) in drafts.iter().enumerate() {
            for resource in &draft.resources {
                let map = if draft.removal {
                    &mut touching.removing
                } else {
                    &mut touching.building
                };
                map.entry(resource).or_default().push(i);
            }
        }
        touching
    }

    fn is_bulk(&self, draft: usize) -> bool {
        self.kinds[draft] == ActionKind::BulkUpgrade
    }

    fn is_replace(&self, draft: usize) -> bool {
        self.kinds[draft] == ActionKind::Replace
    }

    /// Actions on one resource keep the order the kind gave them.
    fn keep_each_resource_in_order(&self, graph: &mut OrderGraph) {
        for list in self.building.values().chain(self.removing.values()) {
            for pair in list.windows(2) {
                graph.before(pair[0], pair[1]);
            }
        }
    }

    /// Build what a resource depends on before the resource. Bulk upgrades,
    /// which cover many resources at once, only follow each member's own
    /// actions: ordering them by dependencies could only make cycles.
    fn build_dependencies_first(&self, graph: &mut OrderGraph, deps: &Dependencies) {
        for (resource, list) in &self.building {
            for dep in deps.get(*resource).into_iter().flatten() {
                for &first in self.building.get(dep).into_iter().flatten() {
                    for &then in list {
                        if first != then && !self.is_bulk(first) && !self.is_bulk(then) {
                            graph.before(first, then);
                        }
                    }
                }
            }
        }
    }

    /// The rules that come from what depended on each resource when it was
    /// applied (the reverse of the recorded dependencies), most important
    /// first: remove what depended on a resource before the resource; what
    /// leaves a resource (a company moving to another parent, a
    /// subscription moving to another company) leaves before the resource
    /// is removed; a replace, which removes the old object, waits for the
    /// removals of what depended on it. Without a removal or a replace
    /// there is none, and the state is not walked.
    fn recorded_rules(&self, prior: &'a State) -> Vec<(usize, usize)> {
        let replaces = || {
            self.building
                .values()
                .flatten()
                .any(|&i| self.is_replace(i))
        };
        if self.removing.is_empty() && !replaces() {
            return Vec::new();
        }
        let mut dependents: BTreeMap<&Address, Vec<&Address>> = BTreeMap::new();
        for (dependent, record) in &prior.resources {
            for dependency in &record.dependencies {
                dependents.entry(dependency).or_default().push(dependent);
            }
        }
        let dependents_of =
            |resource: &Address| dependents.get(resource).into_iter().flatten().copied();
        let removals_of = |resource: &Address| self.removing.get(resource).into_iter().flatten();
        let mut rules = Vec::new();
        let mut rule = |first: usize, then: usize| {
            if first != then {
                rules.push((first, then));
            }
        };
        for (resource, list) in &self.removing {
            for dependent in dependents_of(resource) {
                for &first in removals_of(dependent) {
                    list.iter().for_each(|&then| rule(first, then));
                }
                let leaving = self.building.get(dependent).into_iter().flatten();
                for &first in leaving.filter(|&&i| !self.is_bulk(i)) {
                    list.iter().for_each(|&then| rule(first, then));
                }
            }
        }
        for (resource, list) in &self.building {
            for &then in list.iter().filter(|&&i| self.is_replace(i)) {
                for dependent in dependents_of(resource) {
                    removals_of(dependent).for_each(|&first| rule(first, then));
                }
            }
        }
        rules
    }
}

/// The order with every recorded rule when they fit (the usual case, and
/// the cheap one); else with each only where it closes no cycle with what
/// the manifests now declare (the dependencies may have turned around
/// since they were recorded).
fn order_giving_way(
    graph: &mut OrderGraph,
    recorded: &[(usize, usize)],
) -> Result<Vec<usize>, crate::plan::graph::Cycle> {
    let declared = (!recorded.is_empty()).then(|| graph.clone());
    for &(first, then) in recorded {
        graph.before(first, then);
    }
    match (graph.order(), declared) {
        (Ok(order), _) => Ok(order),
        (Err(_), Some(declared)) => {
            *graph = declared;
            for &(first, then) in recorded {
                graph.before_unless_cycle(first, then);
            }
            graph.order()
        }
        (Err(cycle), None) => Err(cycle),
    }
}

/// The drafts' actions in `order`, each with the sorted ids of the actions
/// it waits for.
fn into_actions(drafts: Vec<Draft>, graph: &OrderGraph, order: Vec<usize>) -> Vec<Action> {
    let ids: Vec<String> = drafts.iter().map(|d| d.action.id.clone()).collect();
    let mut slots: Vec<Option<Draft>> = drafts.into_iter().map(Some).collect();
    let mut actions = Vec::with_capacity(order.len());
    for index in order {
        if let Some(draft) = slots[index].take() {
            let mut action = draft.action;
            action.after = graph
                .predecessors(index)
                .into_iter()
                .map(|p| ids[p].clone())
                .collect();
            action.after.sort();
            actions.push(action);
        }
    }
    actions
}

#[cfg(test)]
mod tests {
    //! The generic ordering rules, on hand-made drafts (any operation will
    //! do: the planner orders by kind, resources and removal alone), and the
    //! cycle check and `--target` scope on small inputs.

    use super::*;
    use crate::resources::Live;
    use crate::state::ResourceState;
    use crate::state::model::Status;

    fn build(kind: ActionKind, address: &str) -> Draft {
        Draft::single(
            kind,
            &address.into(),
            "test".into(),
            Vec::new(),
            Operation::Forget,
        )
    }

    fn delete(address: &str) -> Draft {
        Draft::removal(
            ActionKind::Delete,
            &address.into(),
            "test".into(),
            Operation::Forget,
        )
    }

    /// A bulk upgrade of `members`, with its own id.
    fn bulk(id: &str, members: &[&str]) -> Draft {
        let mut draft = build(ActionKind::BulkUpgrade, members[0]);
        draft.action.id = id.into();
        draft.resources = members.iter().map(|m| (*m).into()).collect();
        draft.action.addresses = draft.resources.clone();
        draft
    }

    /// Declared dependencies: each address with what it depends on.
    fn deps(pairs: &[(&str, &[&str])]) -> Dependencies {
        pairs
            .iter()
            .map(|(address, on)| {
                (
                    (*address).into(),
                    sorted_once(on.iter().map(|a| (*a).into())),
                )
            })
            .collect()
    }

    /// A state whose records depended on these addresses when applied.
    fn recorded(pairs: &[(&str, &[&str])]) -> State {
        let mut state = State::new();
        for (address, on) in pairs {
            state.resources.insert(
                (*address).into(),
                ResourceState {
                    remote_id: Some("1".into()),
                    scope: crate::state::Scope::default(),
                    natural_key: String::new(),
                    attributes: json!({}),
                    dependencies: on.iter().map(|a| (*a).into()).collect(),
                    status: Status::Ready,
                    lifecycle: RecordedLifecycle::default(),
                },
            );
        }
        state
    }

    fn ordered(drafts: Vec<Draft>, deps: &Dependencies, prior: &State) -> Vec<Action> {
        order(drafts, deps, prior).unwrap()
    }

    fn ids(actions: &[Action]) -> Vec<&str> {
        actions.iter().map(|a| a.id.as_str()).collect()
    }

    fn after<'a>(actions: &'a [Action], id: &str) -> Vec<&'a str> {
        let action = actions.iter().find(|a| a.id == id).unwrap();
        action.after.iter().map(String::as_str).collect()
    }

    #[test]
    fn an_action_waits_for_the_actions_on_what_it_depends_on() {
        let deps = deps(&[
            ("RedstorCompany/a-child", &["RedstorCompany/z-parent"]),
            ("RedstorCompany/z-parent", &[]),
        ]);
        let drafts = vec![
            build(ActionKind::Create, "RedstorCompany/a-child"),
            build(ActionKind::Create, "RedstorCompany/z-parent"),
        ];
        let actions = ordered(drafts, &deps, &State::new());
        assert_eq!(
            ids(&actions),
            [
                "create RedstorCompany/z-parent",
                "create RedstorCompany/a-child"
            ]
        );
        assert_eq!(
            after(&actions, "create RedstorCompany/a-child"),
            ["create RedstorCompany/z-parent"]
        );
        assert!(after(&actions, "create RedstorCompany/z-parent").is_empty());
    }

    #[test]
    fn actions_on_one_resource_keep_the_order_given() {
        let drafts = vec![
            build(ActionKind::Update, "RedstorSubscription/s"),
            build(ActionKind::Adopt, "RedstorSubscription/s"),
        ];
        let actions = ordered(drafts, &BTreeMap::new(), &State::new());
        assert_eq!(
            ids(&actions),
            [
                "update RedstorSubscription/s",
                "adopt RedstorSubscription/s"
            ]
        );
        assert_eq!(
            after(&actions, "adopt RedstorSubscription/s"),
            ["update RedstorSubscription/s"]
        );
    }

    #[test]
    fn bulk_upgrades_follow_only_their_members_own_actions() {
        let deps = deps(&[
            ("ArcserveLicense/web", &["EclTenant/prod"]),
            ("ArcserveLicense/db", &["EclTenant/prod"]),
            ("ArcserveLicense/app", &["EclTenant/prod"]),
        ]);
        let drafts = vec![
            build(ActionKind::Record, "EclTenant/prod"),
            build(ActionKind::IssueKey, "ArcserveLicense/web"),
            bulk(
                "bulk-upgrade 1",
                &["ArcserveLicense/web", "ArcserveLicense/db"],
            ),
            bulk("bulk-upgrade 2", &["ArcserveLicense/app"]),
        ];
        let actions = ordered(drafts, &deps, &State::new());
        // The key issue follows the tenant's action (a dependency); the
        // bulk calls follow neither the tenant nor each other.
        assert_eq!(
            after(&actions, "issue-key ArcserveLicense/web"),
            ["record EclTenant/prod"]
        );
        assert_eq!(
            after(&actions, "bulk-upgrade 1"),
            ["issue-key ArcserveLicense/web"]
        );
        assert!(after(&actions, "bulk-upgrade 2").is_empty());
        assert_eq!(
            ids(&actions),
            [
                "bulk-upgrade 2",
                "record EclTenant/prod",
                "issue-key ArcserveLicense/web",
                "bulk-upgrade 1"
            ]
        );
    }

    #[test]
    fn a_removal_waits_for_the_removals_of_what_depended_on_it() {
        let prior = recorded(&[
            ("RedstorCompany/a-partner", &[]),
            ("RedstorCompany/z-customer", &["RedstorCompany/a-partner"]),
        ]);
        let drafts = vec![
            delete("RedstorCompany/a-partner"),
            delete("RedstorCompany/z-customer"),
        ];
        let actions = ordered(drafts, &BTreeMap::new(), &prior);
        assert_eq!(
            ids(&actions),
            [
                "delete RedstorCompany/z-customer",
                "delete RedstorCompany/a-partner"
            ]
        );
        assert_eq!(
            after(&actions, "delete RedstorCompany/a-partner"),
            ["delete RedstorCompany/z-customer"]
        );
    }

    #[test]
    fn what_moves_away_from_a_resource_leaves_before_its_removal() {
        // The customer was applied under `a-old` and now declares `new`.
        let prior = recorded(&[
            ("RedstorCompany/a-old", &[]),
            ("RedstorCompany/customer", &["RedstorCompany/a-old"]),
        ]);
        let deps = deps(&[
            ("RedstorCompany/customer", &["RedstorCompany/new"]),
            ("RedstorCompany/new", &[]),
        ]);
        let drafts = vec![
            delete("RedstorCompany/a-old"),
            build(ActionKind::Update, "RedstorCompany/customer"),
        ];
        let actions = ordered(drafts, &deps, &prior);
        assert_eq!(
            ids(&actions),
            [
                "update RedstorCompany/customer",
                "delete RedstorCompany/a-old"
            ]
        );
        assert_eq!(
            after(&actions, "delete RedstorCompany/a-old"),
            ["update RedstorCompany/customer"]
        );
    }

    #[test]
    fn a_replace_waits_for_the_removals_of_its_dependents() {
        let prior = recorded(&[
            ("RedstorCompany/c", &[]),
            ("RedstorSubscription/s", &["RedstorCompany/c"]),
        ]);
        let deps = deps(&[("RedstorCompany/c", &[])]);
        let drafts = vec![
            build(ActionKind::Replace, "RedstorCompany/c"),
            delete("RedstorSubscription/s"),
        ];
        let actions = ordered(drafts, &deps, &prior);
        assert_eq!(
            after(&actions, "replace RedstorCompany/c"),
            ["delete RedstorSubscription/s"]
        );
        assert!(after(&actions, "delete RedstorSubscription/s").is_empty());

        // An update is no replace: it does not wait for the removal.
        let drafts = vec![
            build(ActionKind::Update, "RedstorCompany/c"),
            delete("RedstorSubscription/s"),
        ];
        let actions = ordered(drafts, &deps, &prior);
        assert!(after(&actions, "update RedstorCompany/c").is_empty());
    }

    /// A customer that depended on a subscription moves to a partner being
    /// replaced, while the subscription, which depended on the partner,
    /// goes: the recorded rules and the declared dependency make a cycle.
    #[test]
    fn recorded_rules_give_way_to_dependencies_turned_around() {
        let prior = recorded(&[
            ("RedstorCompany/acme", &[]),
            ("RedstorCompany/globex", &[]),
            (
                "RedstorSubscription/globex-m365",
                &["RedstorCompany/acme", "RedstorCompany/globex"],
            ),
            (
                "RedstorCompany/initech",
                &["RedstorCompany/globex", "RedstorSubscription/globex-m365"],
            ),
        ]);
        let deps = deps(&[
            ("RedstorCompany/acme", &[]),
            ("RedstorCompany/globex", &[]),
            ("RedstorCompany/initech", &["RedstorCompany/acme"]),
        ]);
        let drafts = vec![
            build(ActionKind::Replace, "RedstorCompany/acme"),
            build(ActionKind::Update, "RedstorCompany/initech"),
            delete("RedstorSubscription/globex-m365"),
        ];
        let actions = ordered(drafts, &deps, &prior);
        assert_eq!(
            ids(&actions),
            [
                "replace RedstorCompany/acme",
                "update RedstorCompany/initech",
                "delete RedstorSubscription/globex-m365"
            ]
        );
        // The declared rule and the move-away rule stay; the replace no
        // longer waits for the subscription's removal.
        assert!(after(&actions, "replace RedstorCompany/acme").is_empty());
        assert_eq!(
            after(&actions, "update RedstorCompany/initech"),
            ["replace RedstorCompany/acme"]
        );
        assert_eq!(
            after(&actions, "delete RedstorSubscription/globex-m365"),
            ["update RedstorCompany/initech"]
        );
    }

    #[test]
    fn after_lists_are_sorted_action_ids() {
        let deps = deps(&[(
            "RedstorSubscription/s",
            &["RedstorCompany/b", "RedstorCompany/a"],
        )]);
        let drafts = vec![
            build(ActionKind::Update, "RedstorCompany/b"),
            build(ActionKind::Create, "RedstorSubscription/s"),
            build(ActionKind::Update, "RedstorCompany/a"),
            build(ActionKind::Adopt, "RedstorCompany/b"),
        ];
        let actions = ordered(drafts, &deps, &State::new());
        assert_eq!(
            after(&actions, "create RedstorSubscription/s"),
            [
                "adopt RedstorCompany/b",
                "update RedstorCompany/a",
                "update RedstorCompany/b"
            ]
        );
    }

    fn load(text: &str) -> Desired {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.yaml");
        std::fs::write(&path, text).unwrap();
        crate::manifest::load(&[path]).unwrap()
    }

    /// A Partner company under the root.
    fn partner(name: &str) -> String {
        format!(
            "---\napiVersion: entitle/v1\nkind: RedstorCompany\nmetadata:\n  name: {name}\nspec:\n  type: Partner\n"
        )
    }

    #[test]
    fn an_error_about_a_declared_resource_points_at_its_document() {
        let desired = load(&(partner("a") + &partner("b")));
        let errors = placed(
            vec![
                PlanError::new(Some("RedstorCompany/b".into()), "declared"),
                PlanError::new(Some("RedstorCompany/gone".into()), "only in the state"),
                PlanError::new(None, "about no resource"),
            ],
            &desired,
        );
        let lines: Vec<Option<u64>> = errors
            .0
            .iter()
            .map(|e| e.location.as_ref().map(|l| l.line))
            .collect();
        assert_eq!(
            lines,
            [Some(9), None, None],
            "b's document starts on line 9"
        );
        assert_eq!(
            errors.0[0].location.as_ref().map(|l| l.file.clone()),
            desired.resources.get(1).map(|r| r.source.file.clone())
        );
    }

    #[test]
    fn a_cycle_of_declared_dependencies_is_reported_as_its_path() {
        // The loader refuses manifests with a cycle; the planner still
        // checks the `Desired` it is given.
        let mut desired = load(&(partner("a") + &partner("b") + &partner("c")));
        for (resource, on) in desired.resources.iter_mut().zip(["b", "c", "a"]) {
            resource.metadata.depends_on = vec![Address::new(resource.address.kind, on)];
        }
        let errors = plan(&PlanInput {
            desired: &desired,
            prior: &State::new(),
            live: &Live::default(),
            targets: &[],
            replace: &[],
        })
        .unwrap_err();
        assert_eq!(errors.0.len(), 1);
        let error = &errors.0[0];
        assert_eq!(error.address, None);
        assert_eq!(
            error.message,
            "the resources depend on each other in a cycle: RedstorCompany/a -> RedstorCompany/c -> RedstorCompany/b -> RedstorCompany/a"
        );
        assert_eq!(
            error.hint.as_deref(),
            Some("remove one of these references or dependsOn entries")
        );
        let location = error.location.as_ref().unwrap();
        assert_eq!(location.file.file_name().unwrap(), "m.yaml");
        assert_eq!(location.line, 2);
    }

    #[test]
    fn a_resource_naming_itself_is_a_cycle_and_an_acyclic_graph_plans_alike() {
        let mut desired = load(&(partner("a") + &partner("b")));
        let (prior, live) = (State::new(), Live::default());
        let input = PlanInput {
            desired: &desired,
            prior: &prior,
            live: &live,
            targets: &[],
            replace: &[],
        };
        let declared = DeclaredGraph::of(&desired).unwrap();
        assert_eq!(plan_with(&input, &declared), plan(&input));
        desired.resources[1].metadata.depends_on = vec!["RedstorCompany/b".into()];
        let errors = DeclaredGraph::of(&desired).unwrap_err();
        assert_eq!(
            errors.0[0].message,
            "the resources depend on each other in a cycle: RedstorCompany/b -> RedstorCompany/b"
        );
    }

    fn scope_of(
        targets: &[Address],
        prior: &State,
        deps: &Dependencies,
    ) -> Result<Option<BTreeSet<Address>>, PlanErrors> {
        let input = PlanInput {
            desired: &Desired::default(),
            prior,
            live: &Live::default(),
            targets,
            replace: &[],
        };
        target_scope(&input, deps)
    }

    #[test]
    fn target_scope_is_the_targets_and_what_they_depend_on() {
        let deps = deps(&[
            ("RedstorSubscription/s", &["RedstorCompany/customer"]),
            ("RedstorCompany/customer", &["RedstorCompany/partner"]),
            ("RedstorCompany/partner", &[]),
            ("RedstorCompany/other", &[]),
        ]);
        let prior = recorded(&[("RedstorCompany/gone", &[])]);
        assert_eq!(scope_of(&[], &prior, &deps).unwrap(), None);
        let scope = scope_of(
            &["RedstorSubscription/s".into(), "RedstorCompany/gone".into()],
            &prior,
            &deps,
        )
        .unwrap()
        .unwrap();
        let expected: BTreeSet<Address> = [
            "RedstorCompany/customer",
            "RedstorCompany/gone",
            "RedstorCompany/partner",
            "RedstorSubscription/s",
        ]
        .into_iter()
        .map(Address::from)
        .collect();
        assert_eq!(scope, expected);
    }

    #[test]
    fn an_unknown_target_is_an_error() {
        let deps = deps(&[("RedstorCompany/partner", &[])]);
        let errors = scope_of(
            &[
                "RedstorCompany/partner".into(),
                "RedstorCompany/nobody".into(),
            ],
            &State::new(),
            &deps,
        )
        .unwrap_err();
        assert_eq!(errors.0.len(), 1);
        assert_eq!(errors.0[0].address, Some("RedstorCompany/nobody".into()));
        assert_eq!(
            errors.0[0].message,
            "--target names a resource that is neither in the manifests nor in the state"
        );
    }
}
