//! Planning Redstor companies and subscriptions against the account's tree.
//!
//! A company is matched by the id in the state; a company whose create was
//! never answered is found by its name under its parent and bound. A
//! changed parent is a reassign, `enabled` an enable or disable, a changed
//! name or type a replace (RedAPI cannot rename), which removes the
//! company's data and so is refused for a company with customers and under
//! `preventDestroy`, and needs `--allow-replace` at apply.
//!
//! A subscription is matched by its id in its company's list; a changed
//! company, product or edition replaces it; `trial: true -> false` converts
//! the trial. Products and editions are named by id or name and resolved
//! against the catalog read at refresh.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::observe::{RedstorLive, in_play};
use super::operation::{CompanyParent, NewCompany, NewSubscription, RedstorOperation};
use super::{CatalogRef, ROOT, RedstorCompanySpec, RedstorSubscriptionSpec, company_name_problem};
use crate::api::redstor::{Company, CompanyType, Product, Subscription, TrialStatus};
use crate::manifest::{Address, Desired, Resource, Spec, suggest};
use crate::plan::contract::{Context, Draft, KindPlan, PlanError};
use crate::plan::model::{ActionKind, Change};
use crate::resources::{Kind, SpecOf};
use crate::state::model::RecordedLifecycle;
use crate::state::{ResourceState, Scope, State, Status};

/// What the state records of a company, as last applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompanyAttributes {
    pub company_name: String,
    #[serde(rename = "type")]
    pub company_type: CompanyType,
    /// The parent's `metadata.name`; absent for the root company.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    pub enabled: bool,
}

/// What the state records of a subscription, as last applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionAttributes {
    /// The company's `metadata.name`, or `root`.
    pub company: String,
    pub product_id: u32,
    pub edition_id: u32,
    pub trial: bool,
}

/// The live company each declared or recorded company is bound to, by
/// address: the state's id when the company still exists, else (for a
/// company not yet recorded, or whose create was not answered) the company
/// of its name under its parent.
pub fn bound_companies(
    desired: &Desired,
    state: &State,
    live: &RedstorLive,
) -> BTreeMap<Address, Uuid> {
    let mut bound = BTreeMap::new();
    for (address, record) in state.of_kind(Kind::RedstorCompany) {
        if let Some(id) = record.remote_id.as_deref().and_then(|id| id.parse().ok())
            && live.company(id).is_some()
        {
            bound.insert(address.clone(), id);
        } else if record.remote_id.is_none()
            && let Some(parent) = record.scope.company()
            && let Some(found) = live.child_named(parent, &record.natural_key)
        {
            // A create whose answer was lost: it went to the parent of that
            // time, which the manifests may have changed since.
            bound.insert(address.clone(), found.company_id);
        }
    }
    // Declared companies found by name, parents first (a parent is bound
    // before its children look under it).
    let declared: Vec<(&Resource, &RedstorCompanySpec)> =
        desired.specs::<RedstorCompanySpec>().collect();
    loop {
        let mut progress = false;
        for (resource, spec) in &declared {
            let address = resource.address.clone();
            let record = state.get(&address);
            if bound.contains_key(&address)
                || record.is_some_and(|r| r.remote_id.is_some() && r.status == Status::Ready)
            {
                continue;
            }
            let parent = match &spec.parent {
                None => Some(live.root_id()),
                Some(name) => bound.get(&company_address(name)).copied(),
            };
            if let Some(found) = parent
                .and_then(|p| live.child_named(p, spec.name_at_redstor(&resource.metadata.name)))
            {
                bound.insert(address, found.company_id);
                progress = true;
            }
        }
        if !progress {
            break;
        }
    }
    bound
}

/// Whether a company's record, not bound on the pages read so far, may
/// bind it on a later one: by its id, or by its name under the recorded
/// parent (a create whose answer was lost).
pub(super) fn may_bind_later(record: &ResourceState) -> bool {
    match record.remote_id.as_deref() {
        Some(id) => id.parse::<Uuid>().is_ok(),
        None => record.scope.company().is_some(),
    }
}

pub fn company_address(name: &str) -> Address {
    Address::new(super::COMPANY_KIND, name)
}

/// How a company comes out of this plan, for its subscriptions.
#[derive(Clone, Copy, Debug)]
struct Fate {
    /// The live company it is bound to now.
    id: Option<Uuid>,
    /// Made (or made again) by this plan: it has no subscriptions yet.
    new_object: bool,
}

/// Plans every Redstor resource in scope.
pub fn plan(context: &Context<'_>, live: Option<&RedstorLive>) -> KindPlan {
    let input = context.input;
    let mut out = KindPlan::default();
    if !in_play(input.desired, input.prior) {
        return out;
    }
    let Some(live) = live else {
        out.errors.push(PlanError::new(
            None,
            "the Redstor account was not refreshed",
        ));
        return out;
    };
    if refuse_unreadable_managed(input.prior, live, &mut out) {
        return out;
    }
    let bound = bound_companies(input.desired, input.prior, live);
    let account = Account {
        context,
        live,
        bound: &bound,
    };
    let fates = plan_companies(&account, &mut out);
    plan_subscriptions(&account, &fates, &mut out);
    out
}

/// A managed company or subscription the account lists but entitle cannot
/// read is an error naming it: planning around it could create it again.
/// True when there is one (nothing else of Redstor is planned then).
fn refuse_unreadable_managed(state: &State, live: &RedstorLive, out: &mut KindPlan) -> bool {
    let before = out.errors.len();
    for kind in [Kind::RedstorCompany, Kind::RedstorSubscription] {
        for (address, record) in state.of_kind(kind) {
            let Some(id) = record.remote_id.as_deref() else {
                continue;
            };
            if let Some(bad) = live.unreadable.iter().find(|bad| bad.is(id)) {
                out.errors.push(
                    PlanError::new(
                        Some(address.clone()),
                        format!(
                            "RedAPI lists it, but entitle cannot read it, so nothing is planned for the Redstor account: {}",
                            bad.describe()
                        ),
                    )
                    .hint("this is a server answer entitle cannot decode: check the object in the Redstor portal, and report the field to the entitle maintainers"),
                );
            }
        }
    }
    out.errors.len() > before
}

fn plan_companies(account: &Account<'_>, out: &mut KindPlan) -> BTreeMap<Address, Fate> {
    let (context, live) = (account.context, account.live);
    let input = context.input;
    let declared: BTreeMap<Address, (&Resource, &RedstorCompanySpec)> = input
        .desired
        .specs::<RedstorCompanySpec>()
        .map(|(r, spec)| (r.address.clone(), (r, spec)))
        .collect();
    // Parents before children, so that a child knows whether its parent
    // is being made in this plan.
    let mut fates: BTreeMap<Address, Fate> = BTreeMap::new();
    let mut pending: Vec<&Address> = declared.keys().collect();
    while !pending.is_empty() {
        let before = pending.len();
        pending.retain(|address| {
            let (resource, spec) = declared[*address];
            let parent_ready = spec.parent.as_ref().is_none_or(|p| {
                fates.contains_key(&company_address(p))
                    || !declared.contains_key(&company_address(p))
            });
            if !parent_ready {
                return true;
            }
            let fate = plan_company(account, &fates, resource, spec, out);
            fates.insert((*address).clone(), fate);
            false
        });
        if pending.len() == before {
            // A cycle of parents: the planner's cycle check reports it.
            break;
        }
    }
    for (address, record) in input.prior.of_kind(Kind::RedstorCompany) {
        if !declared.contains_key(address) && context.in_scope(address) {
            plan_removed_company(context, out, address, record, live);
        }
    }
    fates
}

/// What the Redstor planner's steps share: the planning context, the
/// refreshed account, and which live company each address is bound to.
struct Account<'a> {
    context: &'a Context<'a>,
    live: &'a RedstorLive,
    bound: &'a BTreeMap<Address, Uuid>,
}

/// One declared company, as the planner sees it.
struct DeclaredCompany<'a> {
    resource: &'a Resource,
    spec: &'a RedstorCompanySpec,
    /// The attributes the manifest asks for (`company_name` is its name at
    /// Redstor).
    wanted: CompanyAttributes,
    record: Option<&'a ResourceState>,
    observed: Option<&'a Company>,
}

/// Where a company should be: under the root or a managed company, and
/// that parent's id when it exists before this plan.
struct Placement {
    parent: CompanyParent,
    parent_id: Option<Uuid>,
}

fn plan_company(
    account: &Account<'_>,
    fates: &BTreeMap<Address, Fate>,
    resource: &Resource,
    spec: &RedstorCompanySpec,
    out: &mut KindPlan,
) -> Fate {
    let company = account.declared(resource, spec);
    let unchanged = Fate {
        id: company.observed.map(|c| c.company_id),
        new_object: false,
    };
    if !account.context.in_scope(company.address()) || !company.names_are_valid(out) {
        return unchanged;
    }
    let Some(placement) = account.placement(&company, fates, out) else {
        return unchanged;
    };
    let new_company = company.new_company(&placement);
    let Some(observed) = company.observed else {
        company.plan_create(out, new_company);
        return Fate {
            id: None,
            new_object: true,
        };
    };
    if company.record.is_none() {
        company.refuse_unmanaged(out, observed, account.context.input.desired);
        return unchanged;
    }
    let now = observed_company_attributes(observed, spec.parent.clone());
    let forced = account.context.forced_replace(company.address());
    if let Some(why) = company
        .replaced_because(&now)
        .or_else(|| forced.then_some(FORCED_REPLACE))
    {
        return match account.plan_replace(&company, out, why, observed, &now, new_company) {
            Some(fate) => fate,
            None => unchanged,
        };
    }
    company.plan_bind(out, observed, &now);
    account.plan_update(&company, out, observed, &now, placement);
    Fate {
        id: Some(observed.company_id),
        new_object: false,
    }
}

impl<'a> Account<'a> {
    fn declared(
        &self,
        resource: &'a Resource,
        spec: &'a RedstorCompanySpec,
    ) -> DeclaredCompany<'a> {
        DeclaredCompany {
            resource,
            spec,
            wanted: CompanyAttributes {
                company_name: spec.name_at_redstor(&resource.metadata.name).to_string(),
                company_type: spec.company_type.into(),
                parent: spec.parent.clone(),
                enabled: spec.enabled,
            },
            record: self.context.input.prior.get(&resource.address),
            observed: self
                .bound
                .get(&resource.address)
                .and_then(|id| self.live.company(*id)),
        }
    }

    /// Where it should be; an error when its parent is a customer.
    fn placement(
        &self,
        company: &DeclaredCompany<'_>,
        fates: &BTreeMap<Address, Fate>,
        out: &mut KindPlan,
    ) -> Option<Placement> {
        let Some(parent_name) = &company.spec.parent else {
            return Some(Placement {
                parent: CompanyParent::Root {
                    company_id: self.live.root_id(),
                },
                parent_id: Some(self.live.root_id()),
            });
        };
        let parent_address = company_address(parent_name);
        let parent_spec = self
            .context
            .input
            .desired
            .get(&parent_address)
            .and_then(|r| RedstorCompanySpec::spec_of(&r.spec));
        if parent_spec.is_some_and(|p| p.company_type != super::CompanyTypeSpec::Partner) {
            out.errors.push(company.error(
                format!("its parent {parent_address} is a Customer; only partners have customers"),
                "make the parent `type: Partner`, or choose another parent",
            ));
            return None;
        }
        let parent_id = fates
            .get(&parent_address)
            .filter(|f| !f.new_object)
            .and_then(|f| f.id);
        Some(Placement {
            parent: CompanyParent::Managed {
                address: parent_address,
            },
            parent_id,
        })
    }

    /// A new name or type replaces the company (RedAPI changes neither),
    /// deleting it with its subscriptions: refused under `preventDestroy`,
    /// for a company with customers, and when a subscription that would go
    /// with it must stay. `None` when refused.
    fn plan_replace(
        &self,
        company: &DeclaredCompany<'_>,
        out: &mut KindPlan,
        why: &str,
        observed: &Company,
        now: &CompanyAttributes,
        new_company: NewCompany,
    ) -> Option<Fate> {
        if company.resource.metadata.lifecycle.prevent_destroy {
            out.errors.push(company.error(
                format!("{why}: it would be replaced, but lifecycle.preventDestroy is set"),
                "undo the change, or set preventDestroy: false if the company and its data may really be deleted",
            ));
            return None;
        }
        let customers: Vec<&str> = self
            .live
            .children(observed.company_id)
            .map(|c| c.company_name.as_str())
            .collect();
        if !customers.is_empty() {
            out.errors.push(company.error(
                format!(
                    "{why}, so it would be replaced, but it has {} customer(s): {}",
                    customers.len(),
                    customers.join(", ")
                ),
                "move its customers to another parent and apply first; then change the name or type",
            ));
            return None;
        }
        let recorded_here = self.subscriptions_recorded_in(observed.company_id);
        let held = self.held(&recorded_here);
        if !held.is_empty() {
            out.errors.push(company.error(
                format!(
                    "{why}, so it would be replaced, which removes its subscriptions, but {} must not be removed by it (preventDestroy, deletionPolicy: Orphan, ignoreChanges: [company], or outside --target)",
                    held.join(", ")
                ),
                "undo the change; or move those subscriptions, or lift their rules, and apply first",
            ));
            return None;
        }
        let mut changes = company_changes(Some(now), &company.wanted);
        for change in &mut changes {
            change.forces_replacement = change.field == "companyName" || change.field == "type";
        }
        let address = company.address();
        out.notes.push(format!(
            "{address} is replaced: the company at Redstor and its data are deleted; apply runs it only with --allow-replace"
        ));
        out.drafts.push(Draft::single(
            ActionKind::Replace,
            address,
            format!("{why}; the company and its data are deleted and made anew"),
            changes,
            RedstorOperation::ReplaceCompany {
                old_id: observed.company_id,
                subscriptions: recorded_here.into_iter().cloned().collect(),
                new: new_company,
            },
        ));
        Some(Fate {
            id: None,
            new_object: true,
        })
    }

    /// The subscription records the state keeps in company `id`.
    fn subscriptions_recorded_in(&self, id: Uuid) -> Vec<&'a Address> {
        let id = id.to_string();
        self.context
            .input
            .prior
            .of_kind(Kind::RedstorSubscription)
            .filter(|(_, r)| r.scope.company_id.as_deref() == Some(id.as_str()))
            .map(|(address, _)| address)
            .collect()
    }

    /// Of `subscriptions`, those a replace of their company must not
    /// remove: protected, orphaned, ignoring their company, or outside
    /// `--target`.
    fn held(&self, subscriptions: &[&Address]) -> Vec<String> {
        let input = self.context.input;
        subscriptions
            .iter()
            .filter(|address| {
                let record = input.prior.get(address);
                record.is_some_and(|r| r.lifecycle.prevent_destroy || r.lifecycle.orphan_on_delete)
                    || !self.context.in_scope(address)
                    || input
                        .desired
                        .get(address)
                        .is_some_and(|d| ignored(d, "company"))
            })
            .map(ToString::to_string)
            .collect()
    }

    /// A move to another parent (a reassign: nothing is deleted) and an
    /// enable or disable, as one update.
    fn plan_update(
        &self,
        company: &DeclaredCompany<'_>,
        out: &mut KindPlan,
        observed: &Company,
        now: &CompanyAttributes,
        placement: Placement,
    ) {
        let attributes = &company.wanted;
        let moves = placement.parent_id != observed.parent_company_id && company.heeds("parent");
        let enable = (now.enabled != attributes.enabled && company.heeds("enabled"))
            .then_some(attributes.enabled);
        if !moves && enable.is_none() {
            return;
        }
        let mut changes = Vec::new();
        if moves {
            changes.push(Change {
                field: "parent".into(),
                before: Some(json!(parent_label(self.live, observed.parent_company_id))),
                after: Some(json!(
                    company.spec.parent.clone().unwrap_or_else(|| ROOT.into())
                )),
                forces_replacement: false,
            });
        }
        if let Some(enabled) = enable {
            changes.push(Change {
                field: "enabled".into(),
                before: Some(json!(!enabled)),
                after: Some(json!(enabled)),
                forces_replacement: false,
            });
        }
        let reason = match (moves, enable) {
            (true, Some(true)) => "it moves to another parent (reassign) and is to be enabled",
            (true, Some(false)) => "it moves to another parent (reassign) and is to be disabled",
            (true, None) => "it moves to another parent (reassign; nothing is deleted)",
            (false, Some(true)) => "it is to be enabled",
            (false, _) => "it is to be disabled",
        };
        out.drafts.push(Draft::single(
            ActionKind::Update,
            company.address(),
            reason.into(),
            changes,
            RedstorOperation::UpdateCompany {
                company_id: observed.company_id,
                reassign_to: moves.then_some(placement.parent),
                enabled: enable,
                attributes: json!(attributes),
                dependencies: recorded_dependencies(company.resource),
            },
        ));
    }
}

impl<'a> DeclaredCompany<'a> {
    fn address(&self) -> &'a Address {
        &self.resource.address
    }

    fn heeds(&self, field: &str) -> bool {
        !ignored(self.resource, field)
    }

    fn error(&self, message: String, hint: &str) -> PlanError {
        PlanError::new(Some(self.address().clone()), message)
            .hint(hint)
            .at(Some(&self.resource.source))
    }

    /// `root` is taken, and a name from `metadata.name` must be one Redstor
    /// takes.
    fn names_are_valid(&self, out: &mut KindPlan) -> bool {
        if self.resource.metadata.name == ROOT {
            out.errors.push(self.error(
                "`root` names the account's root company in a subscription's `company`".into(),
                "give the company another metadata.name",
            ));
            return false;
        }
        if self.spec.company_name.is_none()
            && let Some(problem) = company_name_problem(&self.wanted.company_name)
        {
            out.errors.push(self.error(
                format!("{problem} (the name comes from metadata.name)"),
                "set spec.companyName to the name the company should have at Redstor",
            ));
            return false;
        }
        true
    }

    fn new_company(&self, placement: &Placement) -> NewCompany {
        NewCompany {
            name: self.wanted.company_name.clone(),
            company_type: self.spec.company_type.into(),
            parent: placement.parent.clone(),
            enabled: self.spec.enabled,
            attributes: json!(self.wanted),
            dependencies: recorded_dependencies(self.resource),
            lifecycle: RecordedLifecycle::from(&self.resource.metadata.lifecycle),
        }
    }

    fn plan_create(&self, out: &mut KindPlan, new: NewCompany) {
        let reason = match self.record {
            None => "it is new",
            Some(r) if r.remote_id.is_none() => {
                "a previous run began creating it, and its parent lists no company of its name"
            }
            Some(_) => "the account no longer has it",
        };
        out.drafts.push(Draft::single(
            ActionKind::Create,
            self.address(),
            reason.into(),
            company_changes(None, &self.wanted),
            RedstorOperation::CreateCompany(new),
        ));
    }

    /// A company of its name is there already, and the state does not
    /// manage it: say how to import it.
    fn refuse_unmanaged(&self, out: &mut KindPlan, observed: &Company, desired: &Desired) {
        let (address, id) = (self.address(), observed.company_id);
        out.errors.push(
            PlanError::new(
                Some(address.clone()),
                format!(
                    "a company named `{}` already exists there ({id}), and the state does not manage it",
                    self.wanted.company_name
                ),
            )
            .hint(format!(
                "to manage it, `{}`; or give this one another companyName",
                desired.import_command(address, &id.to_string())
            ))
            .at(Some(&self.resource.source)),
        );
    }

    /// Why it must be replaced, if it must: a new name or a new type.
    fn replaced_because(&self, now: &CompanyAttributes) -> Option<&'static str> {
        let wanted = &self.wanted;
        if !same_name(&now.company_name, &wanted.company_name) && self.heeds("companyName") {
            Some("its companyName changed and RedAPI cannot rename a company")
        } else if now.company_type != wanted.company_type && self.heeds("type") {
            Some("its type changed and RedAPI cannot change a company's type")
        } else {
            None
        }
    }

    /// A company a previous run made but did not record: bind it.
    fn plan_bind(&self, out: &mut KindPlan, observed: &Company, now: &CompanyAttributes) {
        bind_unrecorded(out, self.resource, self.record, observed.company_id, || {
            ResourceState {
                remote_id: Some(observed.company_id.to_string()),
                scope: company_scope(observed.parent_company_id),
                natural_key: observed.company_name.clone(),
                attributes: json!(now),
                dependencies: recorded_dependencies(self.resource),
                status: Status::Ready,
                lifecycle: RecordedLifecycle::from(&self.resource.metadata.lifecycle),
            }
        });
    }
}

/// Binds `resource` to the object `id` a previous run made but did not
/// record as ready (`bound` is the record to write), unless its record
/// says so already.
fn bind_unrecorded(
    out: &mut KindPlan,
    resource: &Resource,
    record: Option<&ResourceState>,
    id: Uuid,
    bound: impl FnOnce() -> ResourceState,
) {
    let id = id.to_string();
    if record.is_none_or(|r| r.is_ready_as(&id)) {
        return;
    }
    out.drafts.push(Draft::single(
        ActionKind::Adopt,
        &resource.address,
        "a previous run created it but was stopped before recording it".into(),
        Vec::new(),
        RedstorOperation::Bind { record: bound() },
    ));
}

/// Whether two company names are the same to RedAPI, which compares them
/// without regard to case.
pub fn same_name(a: &str, b: &str) -> bool {
    a == b || a.to_lowercase() == b.to_lowercase()
}

/// Whether `lifecycle.ignoreChanges` lists `field` (a spec field name).
fn ignored(resource: &Resource, field: &str) -> bool {
    resource
        .metadata
        .lifecycle
        .ignore_changes
        .iter()
        .any(|f| f == field)
}

/// How a parent id reads in a plan: `root`, or the company's name.
fn parent_label(live: &RedstorLive, parent: Option<Uuid>) -> String {
    match parent {
        Some(id) if id == live.root_id() => ROOT.into(),
        Some(id) => live
            .company(id)
            .map(|c| c.company_name.clone())
            .unwrap_or_else(|| id.to_string()),
        None => "(none)".into(),
    }
}

/// A live company's attributes, with the parent named as the manifest names it.
pub fn observed_company_attributes(company: &Company, parent: Option<String>) -> CompanyAttributes {
    CompanyAttributes {
        company_name: company.company_name.clone(),
        company_type: company.company_type,
        parent,
        enabled: company.is_enabled,
    }
}

/// The scope a company record keeps: its parent's id.
pub fn company_scope(parent: Option<Uuid>) -> Scope {
    Scope {
        company_id: parent.map(|id| id.to_string()),
        ..Scope::default()
    }
}

fn company_changes(before: Option<&CompanyAttributes>, after: &CompanyAttributes) -> Vec<Change> {
    let before = before.map(|b| json!(b));
    diff_fields(before.as_ref(), &json!(after))
}

/// Field-by-field changes between two JSON objects.
fn diff_fields(before: Option<&Value>, after: &Value) -> Vec<Change> {
    let empty = serde_json::Map::new();
    let before = before.and_then(Value::as_object).unwrap_or(&empty);
    let after = after.as_object().unwrap_or(&empty);
    let fields: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    fields
        .into_iter()
        .filter(|f| before.get(*f) != after.get(*f))
        .map(|f| Change {
            field: f.clone(),
            before: before.get(f).cloned(),
            after: after.get(f).cloned(),
            forces_replacement: false,
        })
        .collect()
}

/// What a Redstor resource depends on, as the state records it: the
/// resources its spec names and its `dependsOn`, sorted.
pub(super) fn recorded_dependencies(resource: &Resource) -> Vec<Address> {
    let mut deps: BTreeSet<Address> = resource.metadata.depends_on.iter().cloned().collect();
    deps.extend(
        resource
            .spec
            .references()
            .into_iter()
            .map(|r| Address::new(r.kind, r.name)),
    );
    deps.into_iter().collect()
}

/// A removed company: delete it (its customers and subscriptions are
/// ordered first by their recorded dependencies), or forget it.
fn plan_removed_company(
    context: &Context<'_>,
    out: &mut KindPlan,
    address: &Address,
    record: &ResourceState,
    live: &RedstorLive,
) {
    let observed = match record.remote_id.as_deref().and_then(|id| id.parse().ok()) {
        Some(id) => live.company(id),
        None => record
            .scope
            .company()
            .and_then(|parent| live.child_named(parent, &record.natural_key)),
    };
    if let Some(company) = observed
        && !record.lifecycle.orphan_on_delete
    {
        let staying = staying_behind(context, live, company.company_id);
        if !staying.is_empty() {
            out.errors.push(
                PlanError::new(
                    Some(address.clone()),
                    format!(
                        "it is gone from the manifests, but RedAPI deletes a company only without customers and subscriptions, and these stay: {}",
                        staying.join(", ")
                    ),
                )
                .hint("delete or move them first (or manage them with `entitle import`); or give this company `deletionPolicy: Orphan` to stop managing it without deleting it"),
            );
            return;
        }
    }
    let delete = observed.map(|observed| {
        (
            "it is gone from the manifests; the company and its data are deleted",
            RedstorOperation::DeleteCompany {
                company_id: observed.company_id,
            },
        )
    });
    out.removal(address, record, delete, "from the account");
}

/// What this plan leaves in company `id`: customers and subscriptions
/// entitle does not manage, and managed ones it forgets (`Orphan`) or may
/// not touch (outside `--target`). A company is deleted only without them.
fn staying_behind(context: &Context<'_>, live: &RedstorLive, id: Uuid) -> Vec<String> {
    let input = context.input;
    // By remote id, or a create whose answer never came back: its record
    // has no id yet, and the plan adopts it by natural key.
    let record_of = |remote: Uuid, kind: Kind, key: &str| {
        let resources = &input.prior.resources;
        resources
            .iter()
            .find(|(_, r)| r.remote_id.as_deref().and_then(|i| i.parse().ok()) == Some(remote))
            .or_else(|| {
                resources.iter().find(|(a, r)| {
                    a.kind == kind
                        && r.remote_id.is_none()
                        && r.scope.company() == Some(id)
                        && r.natural_key.eq_ignore_ascii_case(key)
                })
            })
    };
    let stays = |found: Option<(&Address, &ResourceState)>, what: String| -> Option<String> {
        let Some((address, record)) = found else {
            return Some(format!("{what} (not managed)"));
        };
        let declared = input.desired.get(address).is_some();
        if declared {
            // Declared elsewhere: it moves away first.
            None
        } else if record.lifecycle.orphan_on_delete {
            Some(format!("{address} (deletionPolicy: Orphan)"))
        } else if !context.in_scope(address) {
            Some(format!("{address} (outside --target)"))
        } else {
            None
        }
    };
    let mut staying: Vec<String> = live
        .children(id)
        .filter_map(|child| {
            stays(
                record_of(child.company_id, Kind::RedstorCompany, &child.company_name),
                format!("company `{}`", child.company_name),
            )
        })
        .collect();
    for subscription in live.subscriptions_of(id).unwrap_or_default() {
        if being_removed(subscription) {
            continue;
        }
        let product = live
            .products
            .iter()
            .find(|p| p.id == subscription.product_id)
            .map_or_else(|| subscription.product_id.to_string(), |p| p.name.clone());
        if let Some(reason) = stays(
            record_of(
                subscription.subscription_id,
                Kind::RedstorSubscription,
                &subscription.product_id.to_string(),
            ),
            format!("a subscription to {product}"),
        ) {
            staying.push(reason);
        }
    }
    staying
}

fn plan_subscriptions(account: &Account<'_>, fates: &BTreeMap<Address, Fate>, out: &mut KindPlan) {
    let (context, live) = (account.context, account.live);
    let input = context.input;
    let mut declared = BTreeSet::new();
    for resource in &input.desired.resources {
        let Spec::RedstorSubscription(spec) = &resource.spec else {
            continue;
        };
        let address = resource.address.clone();
        declared.insert(address.clone());
        if context.in_scope(&address) {
            plan_subscription(account, fates, resource, spec, out);
        }
    }
    for (address, record) in input.prior.of_kind(Kind::RedstorSubscription) {
        if !declared.contains(address) && context.in_scope(address) {
            plan_removed_subscription(out, address, record, live);
        }
    }
}

/// A product and edition of the catalog, resolved from a manifest's names.
struct Resolved<'a> {
    product: &'a Product,
    edition_id: u32,
    has_trial: bool,
}

fn resolve<'a>(
    products: &'a [Product],
    spec: &RedstorSubscriptionSpec,
) -> Result<Resolved<'a>, (String, String, String)> {
    let product = products.iter().find(|p| match &spec.product {
        CatalogRef::Id(id) => p.id == *id,
        CatalogRef::Name(name) => {
            p.short_name
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case(name))
                || p.name.eq_ignore_ascii_case(name)
        }
    });
    let Some(product) = product else {
        let names: Vec<String> = products
            .iter()
            .map(|p| p.short_name.clone().unwrap_or_else(|| p.id.to_string()))
            .collect();
        let typed = spec.product.to_string();
        let hint = match suggest::did_you_mean(&typed, names.iter()) {
            Some(hint) => hint,
            None => format!("the catalog has {}", suggest::code_list(names.iter())),
        };
        return Err((
            "product".into(),
            format!("the product catalog has no product `{typed}`"),
            hint,
        ));
    };
    let edition = product.editions.iter().find(|e| match &spec.edition {
        CatalogRef::Id(id) => e.id == *id,
        CatalogRef::Name(name) => e.name.eq_ignore_ascii_case(name),
    });
    let Some(edition) = edition else {
        let names: Vec<String> = product
            .editions
            .iter()
            .map(|e| format!("{} ({})", e.name, e.id))
            .collect();
        let typed = spec.edition.to_string();
        let plain: Vec<&str> = product.editions.iter().map(|e| e.name.as_str()).collect();
        let hint = match suggest::did_you_mean(&typed, plain.iter()) {
            Some(hint) => hint,
            None => format!("{} has {}", product.name, suggest::code_list(names.iter())),
        };
        return Err((
            "edition".into(),
            format!("{} has no edition `{typed}`", product.name),
            hint,
        ));
    };
    Ok(Resolved {
        product,
        edition_id: edition.id,
        has_trial: edition.has_trial,
    })
}

/// One declared subscription, as the planner sees it once its product and
/// edition are resolved against the catalog.
struct DeclaredSubscription<'a> {
    resource: &'a Resource,
    spec: &'a RedstorSubscriptionSpec,
    resolved: Resolved<'a>,
    record: Option<&'a ResourceState>,
    /// Where it should be, and that company's id when it exists before
    /// this plan.
    company: CompanyParent,
    company_id: Option<Uuid>,
    /// The attributes the manifest asks for.
    wanted: SubscriptionAttributes,
}

fn plan_subscription(
    account: &Account<'_>,
    fates: &BTreeMap<Address, Fate>,
    resource: &Resource,
    spec: &RedstorSubscriptionSpec,
    out: &mut KindPlan,
) {
    let Some(subscription) = account.declared_subscription(fates, resource, spec, out) else {
        return;
    };
    let Some((observed_company, observed)) = account.bound_subscription(&subscription) else {
        subscription.plan_create(out);
        return;
    };
    if subscription.record.is_none() {
        subscription.refuse_unmanaged(out, observed, account.context.input.desired);
        return;
    }
    let now = subscription.now(observed);
    let forced = account.context.forced_replace(subscription.address());
    let why = subscription
        .replaced_because(observed_company, observed)
        .or_else(|| forced.then_some(("product", FORCED_REPLACE)));
    if why.is_none() && !subscription.trial_can_become(out, observed) {
        return;
    }
    if let Some((field, why)) = why {
        subscription.plan_replace(out, (field, why), observed_company, observed, &now);
        return;
    }
    subscription.plan_bind(out, observed_company, observed, &now);
    subscription.plan_convert(out, observed_company, observed);
}

impl<'a> Account<'a> {
    /// The subscription with its product and edition resolved, and where it
    /// should be; an error when the catalog has no such product or edition
    /// or the edition offers no trial.
    fn declared_subscription(
        &self,
        fates: &BTreeMap<Address, Fate>,
        resource: &'a Resource,
        spec: &'a RedstorSubscriptionSpec,
        out: &mut KindPlan,
    ) -> Option<DeclaredSubscription<'a>> {
        let error = |field: &str, message: String, hint: String| {
            subscription_error(resource, field, message, hint)
        };
        let resolved = match resolve(&self.live.products, spec) {
            Ok(resolved) => resolved,
            Err((field, message, hint)) => {
                out.errors.push(error(&field, message, hint));
                return None;
            }
        };
        if spec.trial && !resolved.has_trial {
            out.errors.push(error(
                "trial",
                format!(
                    "{} edition {} offers no trial",
                    resolved.product.name, resolved.edition_id
                ),
                "set trial: false, or choose an edition with a trial".into(),
            ));
            return None;
        }
        let (company, company_id) = self.subscription_company(fates, spec);
        let wanted = SubscriptionAttributes {
            company: spec.company.clone(),
            product_id: resolved.product.id,
            edition_id: resolved.edition_id,
            trial: spec.trial,
        };
        Some(DeclaredSubscription {
            resource,
            spec,
            resolved,
            record: self.context.input.prior.get(&resource.address),
            company,
            company_id,
            wanted,
        })
    }

    /// The company a subscription should be in, and its id when it exists
    /// before this plan (a company made in this plan has no subscriptions).
    fn subscription_company(
        &self,
        fates: &BTreeMap<Address, Fate>,
        spec: &RedstorSubscriptionSpec,
    ) -> (CompanyParent, Option<Uuid>) {
        if spec.company == ROOT {
            let company_id = self.live.root_id();
            return (CompanyParent::Root { company_id }, Some(company_id));
        }
        let address = company_address(&spec.company);
        let fate = fates.get(&address).copied().unwrap_or(Fate {
            id: None,
            new_object: true,
        });
        (
            CompanyParent::Managed { address },
            fate.id.filter(|_| !fate.new_object),
        )
    }

    /// The live subscription it is bound to, with its company: by id in the
    /// recorded company; after a lost create, by product in the company the
    /// create went to; with no record, by product in the desired company
    /// (to suggest an import). One on its way out is as good as gone.
    fn bound_subscription(
        &self,
        subscription: &DeclaredSubscription<'_>,
    ) -> Option<(Uuid, &'a Subscription)> {
        let live = self.live;
        let by_product = |company: Option<Uuid>, product: u32| {
            let company = company?;
            live.subscriptions_of(company)?
                .iter()
                .find(|s| s.product_id == product && !being_removed(s))
                .map(|s| (company, s))
        };
        let product = subscription.resolved.product.id;
        let found = match subscription.record {
            Some(r) => {
                let recorded_company = r.scope.company();
                match r.remote_id.as_deref() {
                    Some(id) => recorded_company
                        .and_then(|c| live.subscriptions_of(c))
                        .and_then(|subs| {
                            subs.iter()
                                .find(|s| Some(s.subscription_id) == id.parse().ok())
                        })
                        .map(|s| (recorded_company.unwrap_or_default(), s)),
                    None => by_product(recorded_company, r.natural_key.parse().unwrap_or(product)),
                }
            }
            None => by_product(subscription.company_id, product),
        };
        found.filter(|(_, s)| !being_removed(s))
    }
}

/// A problem with a subscription's spec field.
fn subscription_error(
    resource: &Resource,
    field: &str,
    message: String,
    hint: String,
) -> PlanError {
    PlanError::new(
        Some(resource.address.clone()),
        format!("spec.{field}: {message}"),
    )
    .hint(hint)
    .at(Some(&resource.source))
}

impl<'a> DeclaredSubscription<'a> {
    fn address(&self) -> &'a Address {
        &self.resource.address
    }

    fn heeds(&self, field: &str) -> bool {
        !ignored(self.resource, field)
    }

    fn error(&self, field: &str, message: String, hint: String) -> PlanError {
        subscription_error(self.resource, field, message, hint)
    }

    fn new_subscription(&self) -> NewSubscription {
        NewSubscription {
            company: self.company.clone(),
            product_id: self.resolved.product.id,
            edition_id: self.resolved.edition_id,
            trial: self.spec.trial,
            attributes: json!(self.wanted),
            dependencies: recorded_dependencies(self.resource),
            lifecycle: RecordedLifecycle::from(&self.resource.metadata.lifecycle),
        }
    }

    fn plan_create(&self, out: &mut KindPlan) {
        let reason = match self.record {
            None => "it is new",
            Some(r) if r.remote_id.is_none() => {
                "a previous run began creating it, and its company lists no subscription to the product"
            }
            Some(_) => "the company no longer has it",
        };
        out.drafts.push(Draft::single(
            ActionKind::Create,
            self.address(),
            reason.into(),
            diff_fields(None, &json!(self.wanted)),
            RedstorOperation::CreateSubscription(self.new_subscription()),
        ));
    }

    /// The company subscribes to the product already, and the state does
    /// not manage that subscription: say how to import it.
    fn refuse_unmanaged(&self, out: &mut KindPlan, observed: &Subscription, desired: &Desired) {
        let (address, id) = (self.address(), observed.subscription_id);
        out.errors.push(
            PlanError::new(
                Some(address.clone()),
                format!(
                    "the company already subscribes to {} ({id}), and the state does not manage that subscription",
                    self.resolved.product.name
                ),
            )
            .hint(format!(
                "to manage it, `{}`",
                desired.import_command(address, &id.to_string())
            ))
            .at(Some(&self.resource.source)),
        );
    }

    /// The attributes it has now (its company as recorded: the live id
    /// says nothing of the manifest's name for it).
    fn now(&self, observed: &Subscription) -> SubscriptionAttributes {
        SubscriptionAttributes {
            company: self
                .record
                .and_then(|r| r.attributes.get("company"))
                .and_then(Value::as_str)
                .unwrap_or(&self.spec.company)
                .to_string(),
            product_id: observed.product_id,
            edition_id: observed.edition_id,
            trial: observed.is_trial(),
        }
    }

    /// Why it must be replaced, if it must, and the field that says so:
    /// another company, product or edition (RedAPI changes none of them),
    /// or an expired trial that is to be paid for.
    fn replaced_because(
        &self,
        observed_company: Uuid,
        observed: &Subscription,
    ) -> Option<(&'static str, &'static str)> {
        let moved = Some(observed_company) != self.company_id;
        if moved && self.heeds("company") {
            Some(("company", "it belongs to another company now"))
        } else if observed.product_id != self.wanted.product_id && self.heeds("product") {
            Some(("product", "its product changed"))
        } else if observed.edition_id != self.wanted.edition_id && self.heeds("edition") {
            Some((
                "edition",
                "its edition changed, and RedAPI cannot change a subscription's edition",
            ))
        } else if observed.trial_status == TrialStatus::Expired
            && !self.spec.trial
            && self.heeds("trial")
        {
            Some((
                "trial",
                "its trial expired; a paid subscription replaces it",
            ))
        } else {
            None
        }
    }

    /// Whether the trial state it has may become the one it declares: an
    /// expired trial cannot start again, a paid subscription cannot become
    /// a trial. An error when it cannot.
    fn trial_can_become(&self, out: &mut KindPlan, observed: &Subscription) -> bool {
        if !self.spec.trial || !self.heeds("trial") {
            return true;
        }
        let (message, hint) = match &observed.trial_status {
            TrialStatus::Expired => (
                "the trial has expired and cannot be started again",
                "set trial: false to subscribe for real (the expired trial is replaced)",
            ),
            TrialStatus::NotUsed | TrialStatus::Converted => (
                "a paid subscription cannot become a trial again",
                "set trial: false",
            ),
            TrialStatus::Active => return true,
            TrialStatus::Other(status) => {
                out.errors.push(self.error(
                    "trial",
                    format!("RedAPI gives its trial status as `{status}`, which entitle does not know, so it cannot tell whether it is a trial"),
                    "check the subscription in the Redstor portal; if it is paid, set trial: false".into(),
                ));
                return false;
            }
        };
        out.errors
            .push(self.error("trial", message.into(), hint.into()));
        false
    }

    fn plan_replace(
        &self,
        out: &mut KindPlan,
        (field, why): (&str, &str),
        observed_company: Uuid,
        observed: &Subscription,
        now: &SubscriptionAttributes,
    ) {
        if self.resource.metadata.lifecycle.prevent_destroy {
            out.errors.push(self.error(
                field,
                format!("{why}: it would be replaced, but lifecycle.preventDestroy is set"),
                "undo the change, or set preventDestroy: false".into(),
            ));
            return;
        }
        let mut changes = diff_fields(Some(&json!(now)), &json!(self.wanted));
        for change in &mut changes {
            change.forces_replacement = change.field != "trial";
        }
        let address = self.address();
        out.notes.push(format!(
            "{address} is replaced: the subscription is removed with its data; apply runs it only with --allow-replace"
        ));
        out.drafts.push(Draft::single(
            ActionKind::Replace,
            address,
            format!("{why}; the subscription is removed and added anew"),
            changes,
            RedstorOperation::ReplaceSubscription {
                old_company_id: observed_company,
                old_id: observed.subscription_id,
                new: self.new_subscription(),
            },
        ));
    }

    /// A subscription a previous run made but did not record: bind it.
    fn plan_bind(
        &self,
        out: &mut KindPlan,
        observed_company: Uuid,
        observed: &Subscription,
        now: &SubscriptionAttributes,
    ) {
        bind_unrecorded(
            out,
            self.resource,
            self.record,
            observed.subscription_id,
            || {
                subscription_record(
                    observed_company,
                    observed.subscription_id,
                    &json!(now),
                    recorded_dependencies(self.resource),
                    RecordedLifecycle::from(&self.resource.metadata.lifecycle),
                )
            },
        );
    }

    /// An active trial that is declared paid is converted.
    fn plan_convert(&self, out: &mut KindPlan, observed_company: Uuid, observed: &Subscription) {
        if observed.trial_status != TrialStatus::Active || self.spec.trial || !self.heeds("trial") {
            return;
        }
        out.drafts.push(Draft::single(
            ActionKind::Update,
            self.address(),
            "the trial becomes a paid subscription (convert)".into(),
            vec![Change {
                field: "trial".into(),
                before: Some(json!(true)),
                after: Some(json!(false)),
                forces_replacement: false,
            }],
            RedstorOperation::ConvertTrial {
                company_id: observed_company,
                subscription_id: observed.subscription_id,
                attributes: json!(self.wanted),
            },
        ));
    }
}

/// Why an object `--replace` names is replaced.
const FORCED_REPLACE: &str = "--replace asks for it";

/// Listed but inactive, and not an expired trial: its removal is queued.
pub fn being_removed(subscription: &crate::api::redstor::Subscription) -> bool {
    !subscription.is_active && subscription.trial_status != TrialStatus::Expired
}

/// The state record of a subscription.
pub fn subscription_record(
    company: Uuid,
    subscription: Uuid,
    attributes: &Value,
    dependencies: Vec<Address>,
    lifecycle: RecordedLifecycle,
) -> ResourceState {
    ResourceState {
        remote_id: Some(subscription.to_string()),
        scope: company_scope(Some(company)),
        natural_key: attributes
            .get("productId")
            .map(ToString::to_string)
            .unwrap_or_default(),
        attributes: attributes.clone(),
        dependencies,
        status: Status::Ready,
        lifecycle,
    }
}

fn plan_removed_subscription(
    out: &mut KindPlan,
    address: &Address,
    record: &ResourceState,
    live: &RedstorLive,
) {
    let company: Option<Uuid> = record.scope.company();
    let product: Option<u32> = record.natural_key.parse().ok();
    let observed = company
        .and_then(|c| live.subscriptions_of(c))
        .and_then(|subs| {
            match record
                .remote_id
                .as_deref()
                .and_then(|id| id.parse::<Uuid>().ok())
            {
                Some(id) => subs.iter().find(|s| s.subscription_id == id),
                None => subs.iter().find(|s| Some(s.product_id) == product),
            }
        });
    let delete = company.zip(observed).map(|(company, observed)| {
        (
            "it is gone from the manifests",
            RedstorOperation::DeleteSubscription {
                company_id: company,
                subscription_id: observed.subscription_id,
            },
        )
    });
    out.removal(address, record, delete, "from its company");
}
