//! How an `ArcserveLicense` turns into actions.
//!
//! Matching: a state record binds an address to a license id; a record left
//! `creating` by a killed run is resolved by the license's name (its natural
//! key) and adopted. Diffing: a `plan` change (or a move to another tenant)
//! replaces the license; `standaloneKeys` updates it in place; missing
//! `keyTypes` are issued; a `version` change joins its tenant's bulk upgrade,
//! one call per tenant and version for up to 100 licenses, unless the license
//! was created or upgraded today (Tokyo), in which case it is deferred to the
//! day after. The first upgrade in a tenant needs the tenant's
//! `upgradeContact`.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde_json::{Value, json};
use time::Duration;
use uuid::Uuid;

use super::observe::{
    LicensesLive, ObservedLicense, TenantLive, observed_attributes, version_order,
};
use super::operation::{Contact, LicenseAttributes, LicenseOperation, NewLicense, UpgradeMember};
use crate::api::arcserve::Plan as CatalogPlan;
use crate::manifest::Address;
use crate::manifest::{Resource, Spec};
use crate::plan::contract::{Context, Draft, KindPlan, PlanError};
use crate::plan::model::{Action, ActionKind, Change, Deferred};
use crate::resources::ArcserveLicenseSpec;
use crate::resources::Kind;
use crate::resources::ecl_tenant::{self, DeclaredTenant, tenant_ref_from_state};
use crate::state::model::RecordedLifecycle;
use crate::state::{ResourceState, Status};

/// The most licenses one bulk-upgrade call takes.
pub const BULK_CHUNK: usize = 100;

/// The fields of the spec, as `ignoreChanges` names them.
pub const FIELDS: [&str; 4] = ["plan", "standaloneKeys", "version", "keyTypes"];

/// Version changes to coalesce: per (tenant name, version), the licenses
/// and the version each has now.
type Upgrades = BTreeMap<(String, String), Vec<(UpgradeMember, Option<String>)>>;

/// Plans every license in scope.
pub fn plan(context: &Context<'_>, live: &LicensesLive) -> KindPlan {
    let input = context.input;
    let mut out = KindPlan::default();
    let tenants = ecl_tenant::declared(input.desired);

    let mut upgrades: Upgrades = BTreeMap::new();
    let mut desired_addresses = HashSet::new();
    for resource in &input.desired.resources {
        let Spec::ArcserveLicense(spec) = &resource.spec else {
            continue;
        };
        let address = &resource.address;
        desired_addresses.insert(address);
        if !context.in_scope(address) {
            continue;
        }
        let Some(tenant) = tenants.get(spec.tenant.as_str()) else {
            out.errors.push(
                PlanError::new(
                    Some(address.clone()),
                    format!("the EclTenant `{}` is not declared", spec.tenant),
                )
                .at(Some(&resource.source)),
            );
            continue;
        };
        let Some(tenant_live) = live.tenants.get(&tenant.reference.tenant_id) else {
            out.errors.push(PlanError::new(
                Some(address.clone()),
                format!("tenant {} was not refreshed", tenant.reference.tenant_id),
            ));
            continue;
        };
        let license = Declared {
            resource,
            spec,
            tenant,
            live: tenant_live,
            record: input.prior.get(address),
            forced: context.forced_replace(address),
            ignore: resource
                .metadata
                .lifecycle
                .ignore_changes
                .iter()
                .map(String::as_str)
                .collect(),
        };
        plan_desired(&mut out, &mut upgrades, &license);
    }

    for (address, record) in input.prior.of_kind(Kind::ArcserveLicense) {
        if desired_addresses.contains(address) || !context.in_scope(address) {
            continue;
        }
        plan_removed(&mut out, address, record, live);
    }

    plan_upgrades(&mut out, upgrades, &tenants, live);
    out
}

/// One declared license and what the planner knows of it: the manifest,
/// its tenant, what the tenant shows, what the state recorded.
struct Declared<'a> {
    resource: &'a Resource,
    spec: &'a ArcserveLicenseSpec,
    tenant: &'a DeclaredTenant<'a>,
    live: &'a TenantLive,
    record: Option<&'a ResourceState>,
    /// `--replace` names it.
    forced: bool,
    /// The fields `lifecycle.ignoreChanges` names.
    ignore: BTreeSet<&'a str>,
}

/// What a declared license is planned from once its catalog plan is known.
struct Wanted<'a> {
    catalog_plan: &'a CatalogPlan,
    new_license: NewLicense,
}

/// A license the manifests declare.
fn plan_desired(out: &mut KindPlan, upgrades: &mut Upgrades, license: &Declared<'_>) {
    let Some(catalog_plan) = license.catalog_plan(out) else {
        return;
    };
    // Made only for the actions that send it: most licenses need none.
    let wanted = || Wanted {
        catalog_plan,
        new_license: license.new_license(catalog_plan),
    };
    let Ok(observed) = license.bound(out) else {
        return;
    };
    if license.moved() {
        license.plan_move(out, &wanted());
        return;
    }
    let Some(observed) = observed else {
        license.plan_create(out, &wanted());
        return;
    };
    license.plan_adopt(out, observed);
    if observed.plan != license.spec.plan && !license.ignores("plan") {
        license.plan_new_plan(out, &wanted(), observed);
        return;
    }
    if license.forced {
        license.plan_forced_replace(out, &wanted(), observed);
        return;
    }
    let version = license.current_version(observed);
    let current = LicenseAttributes {
        version: version.clone().unwrap_or_default(),
        ..observed_attributes(observed, &license.spec.tenant)
    };
    license.plan_standalone_keys(out, observed, &current);
    if !license.ignores("keyTypes") {
        license.plan_key_types(out, observed, &current);
    }
    if !license.ignores("version") {
        license.plan_version(out, upgrades, observed, version.as_deref());
    }
}

impl<'a> Declared<'a> {
    fn address(&self) -> &'a Address {
        &self.resource.address
    }

    fn ignores(&self, field: &str) -> bool {
        self.ignore.contains(field)
    }

    /// Whether it was applied in another tenant than the one it names now.
    fn moved(&self) -> bool {
        self.record.is_some_and(|r| {
            r.scope.tenant_id.as_deref() != Some(self.tenant.reference.tenant_id.as_str())
        })
    }

    fn prevent_destroy(&self) -> bool {
        self.resource.metadata.lifecycle.prevent_destroy
            || self.record.is_some_and(|r| r.lifecycle.prevent_destroy)
    }

    fn error(&self, message: String, hint: String) -> PlanError {
        PlanError::new(Some(self.address().clone()), message)
            .hint(hint)
            .at(Some(&self.resource.source))
    }

    /// The catalog plan it names, when the tenant offers it with the key
    /// types it lists at a version it can reach; else an error.
    fn catalog_plan(&self, out: &mut KindPlan) -> Option<&'a CatalogPlan> {
        let (spec, live) = (self.spec, self.live);
        let Some(catalog_plan) = live.plan(spec.plan) else {
            let plans: Vec<String> = live
                .plans
                .iter()
                .map(|p| format!("{} ({})", p.id, p.name_en))
                .collect();
            out.errors.push(self.error(
                format!(
                    "plan {} is not offered in tenant {}",
                    spec.plan, self.tenant.reference.name
                ),
                format!("the tenant's plans are: {}", plans.join(", ")),
            ));
            return None;
        };
        let unknown_keys: Vec<String> = spec
            .key_types
            .iter()
            .filter(|k| !catalog_plan.key_types.iter().any(|c| c.id == **k))
            .map(Uuid::to_string)
            .collect();
        if !unknown_keys.is_empty() {
            let offered: Vec<String> = catalog_plan
                .key_types
                .iter()
                .map(|k| format!("{} ({})", k.id, k.name))
                .collect();
            out.errors.push(self.error(
                format!(
                    "plan `{}` does not issue the key type(s) {}",
                    catalog_plan.name_en,
                    unknown_keys.join(", ")
                ),
                format!("this plan issues: {}", offered.join(", ")),
            ));
            return None;
        }
        if version_order(&spec.version) < version_order(&catalog_plan.version) {
            out.errors.push(self.error(
                format!(
                    "version {} is lower than {}, the version plan `{}` starts at; the API only upgrades",
                    spec.version, catalog_plan.version, catalog_plan.name_en
                ),
                format!(
                    "write `version: \"{}\"` or higher, or choose an older plan",
                    catalog_plan.version
                ),
            ));
            return None;
        }
        Some(catalog_plan)
    }

    /// The license a create makes: at its plan's version, upgraded later.
    fn new_license(&self, catalog_plan: &CatalogPlan) -> NewLicense {
        let spec = self.spec;
        NewLicense {
            tenant: self.tenant.reference.clone(),
            name: self.resource.metadata.name.clone(),
            attributes: LicenseAttributes {
                tenant: spec.tenant.clone(),
                plan: spec.plan,
                standalone_keys: spec.standalone_keys,
                version: catalog_plan.version.clone(),
                key_types: spec.key_types.clone(),
            },
            dependencies: ecl_tenant::recorded_dependencies(self.resource, &spec.tenant),
            lifecycle: RecordedLifecycle::from(&self.resource.metadata.lifecycle),
        }
    }

    /// The live license this address is bound to (by the state's id, or by
    /// name after an unanswered create); `None` when there is none or it
    /// is on its way out. An error when a license of its name exists that
    /// entitle does not manage.
    fn bound(&self, out: &mut KindPlan) -> Result<Option<&'a ObservedLicense>, ()> {
        let (live, name) = (self.live, self.resource.metadata.name.as_str());
        let recorded_id = self.record.and_then(|r| r.remote_id.as_deref());
        if let Some(bad) = live.unreadable(recorded_id, name) {
            out.errors.push(self.error(
                format!(
                    "its license in tenant {} could not be read, so nothing is planned for it: {}",
                    self.tenant.reference.name,
                    bad.describe()
                ),
                "this is a server answer entitle cannot decode: check the license in the portal, and report the field to the entitle maintainers".into(),
            ));
            return Err(());
        }
        let observed = match self.record {
            None => {
                if let Some(existing) = live.by_name(name) {
                    out.errors.push(self.error(
                        format!(
                            "a license named `{name}` already exists in tenant {} (id {}), but entitle does not manage it",
                            self.tenant.reference.name, existing.id
                        ),
                        format!(
                            "bind it with `entitle import {} {}`, or give this resource another name",
                            self.address(),
                            existing.id
                        ),
                    ));
                    return Err(());
                }
                None
            }
            Some(_) if self.moved() => None,
            Some(r) if r.status == Status::Creating && r.remote_id.is_none() => {
                live.by_name(&r.natural_key)
            }
            Some(r) => r
                .remote_id
                .as_deref()
                .and_then(|id| id.parse().ok())
                .and_then(|id| live.by_id(id))
                .or_else(|| {
                    (r.status == Status::Creating)
                        .then(|| live.by_name(&r.natural_key))
                        .flatten()
                }),
        };
        // A license on its way out is as good as gone: make a new one (the
        // create waits for the name to be free).
        Ok(observed.filter(|o| !o.leaving()))
    }

    /// A new license starts at its plan's version: the declared one is
    /// deferred to the day after.
    fn defer_created_version(&self, out: &mut KindPlan, wanted: &Wanted<'_>) {
        let (catalog_plan, spec) = (wanted.catalog_plan, self.spec);
        if catalog_plan.version != spec.version {
            out.deferred.push(Deferred {
                address: self.address().clone(),
                field: "version".into(),
                before: json!(catalog_plan.version),
                after: json!(spec.version),
                from: (self.live.today + Duration::days(1)).to_string(),
                reason: "a new license starts at its plan's version and can be upgraded from the day after it is created".into(),
            });
        }
    }

    /// Moving to another tenant replaces it.
    fn plan_move(&self, out: &mut KindPlan, wanted: &Wanted<'_>) {
        let Some(record) = self.record else {
            return;
        };
        if self.prevent_destroy() {
            out.errors.push(prevent_destroy_error(
                self.address(),
                "moving it to another tenant replaces it",
                self.resource,
            ));
            return;
        }
        let old_tenant = tenant_ref_from_state(record);
        let change = Change {
            field: "tenant".into(),
            before: Some(json!(old_tenant.name)),
            after: Some(json!(self.tenant.reference.name)),
            forces_replacement: true,
        };
        let operation = match record.remote_id.as_deref().and_then(|id| id.parse().ok()) {
            Some(old_id) => LicenseOperation::ReplaceLicense {
                old_tenant,
                old_id,
                new: wanted.new_license.clone(),
            },
            None => LicenseOperation::CreateLicense(wanted.new_license.clone()),
        };
        out.drafts.push(Draft::single(
            ActionKind::Replace,
            self.address(),
            "it moves to another tenant".into(),
            vec![change],
            operation,
        ));
        self.defer_created_version(out, wanted);
    }

    /// No live license: create one, saying why; deferred while a license
    /// scheduled for deletion holds the name.
    fn plan_create(&self, out: &mut KindPlan, wanted: &Wanted<'_>) {
        if self.defer_behind_scheduled_deletion(out) {
            return;
        }
        let reason = match self.record {
            None => "it is new",
            Some(r) if r.status == Status::Creating => {
                "a previous run began creating it, and the server has no license of that name"
            }
            Some(r) if r.status == Status::Deleting => {
                "a previous run deleted its license (to replace it, or when its manifest was removed)"
            }
            Some(_) => "it was deleted outside entitle, or is being deleted",
        };
        out.drafts.push(Draft::single(
            ActionKind::Create,
            self.address(),
            reason.to_string(),
            attribute_changes(None, &wanted.new_license.attributes),
            LicenseOperation::CreateLicense(wanted.new_license.clone()),
        ));
        self.defer_created_version(out, wanted);
    }

    /// A license of this name scheduled for deletion holds the name until
    /// the day after its deletion date: the create waits for it, and the
    /// plan says so.
    fn defer_behind_scheduled_deletion(&self, out: &mut KindPlan) -> bool {
        let name = self.resource.metadata.name.as_str();
        let Some(holder) = self.live.leaving_by_name(name) else {
            return false;
        };
        let Some(day) = holder.scheduled_deletion() else {
            return false;
        };
        let from = time::Date::parse(
            day,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .ok()
        .and_then(|d| d.next_day())
        .map_or_else(|| day.to_string(), |d| d.to_string());
        out.deferred.push(Deferred {
            address: self.address().clone(),
            field: "create".into(),
            before: json!(holder.id.to_string()),
            after: json!(name),
            from,
            reason: format!(
                "license {} of the same name is scheduled for deletion on {day} and holds the name until it is gone",
                holder.id
            ),
        });
        true
    }

    /// A license a previous run made but did not record as ready.
    fn plan_adopt(&self, out: &mut KindPlan, observed: &ObservedLicense) {
        let id = observed.id.to_string();
        let unrecorded = self.record.is_some_and(|r| !r.is_ready_as(&id));
        if !unrecorded {
            return;
        }
        out.drafts.push(Draft::single(
            ActionKind::Adopt,
            self.address(),
            format!(
                "a previous run created it (id {}) but was stopped before it was recorded as ready",
                observed.id
            ),
            Vec::new(),
            LicenseOperation::AdoptLicense {
                tenant: self.tenant.reference.clone(),
                name: self.resource.metadata.name.clone(),
                license_id: observed.id,
                attributes: observed_attributes(observed, &self.spec.tenant),
            },
        ));
    }

    /// `--replace`: a new license (new keys) replaces the one there is.
    fn plan_forced_replace(
        &self,
        out: &mut KindPlan,
        wanted: &Wanted<'_>,
        observed: &ObservedLicense,
    ) {
        self.plan_replace(
            out,
            wanted,
            observed,
            "--replace asks for a new license (and new keys) in place of this one",
            Vec::new(),
        );
    }

    /// The plan of a license cannot change: a new license replaces it.
    fn plan_new_plan(&self, out: &mut KindPlan, wanted: &Wanted<'_>, observed: &ObservedLicense) {
        let before_plan = self
            .live
            .plan(observed.plan)
            .map(|p| format!("{} ({})", observed.plan, p.name_en))
            .unwrap_or_else(|| observed.plan.to_string());
        let change = Change {
            field: "plan".into(),
            before: Some(json!(before_plan)),
            after: Some(json!(format!(
                "{} ({})",
                self.spec.plan, wanted.catalog_plan.name_en
            ))),
            forces_replacement: true,
        };
        self.plan_replace(
            out,
            wanted,
            observed,
            "the plan of a license cannot change: a new license replaces it",
            vec![change],
        );
    }

    /// A new license in place of `observed`, `why`; refused under
    /// `preventDestroy`.
    fn plan_replace(
        &self,
        out: &mut KindPlan,
        wanted: &Wanted<'_>,
        observed: &ObservedLicense,
        why: &str,
        changes: Vec<Change>,
    ) {
        if self.prevent_destroy() {
            out.errors
                .push(prevent_destroy_error(self.address(), why, self.resource));
            return;
        }
        out.drafts.push(Draft::single(
            ActionKind::Replace,
            self.address(),
            why.into(),
            changes,
            LicenseOperation::ReplaceLicense {
                old_tenant: self.tenant.reference.clone(),
                old_id: observed.id,
                new: wanted.new_license.clone(),
            },
        ));
        self.defer_created_version(out, wanted);
    }

    /// The version it has now; a license without keys shows none, so the
    /// one last applied stands for it.
    fn current_version(&self, observed: &ObservedLicense) -> Option<String> {
        if observed.key_types.is_empty() {
            self.record
                .and_then(|r| r.attributes.get("version"))
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| observed.version.clone())
        } else {
            observed.version.clone()
        }
    }

    fn plan_standalone_keys(
        &self,
        out: &mut KindPlan,
        observed: &ObservedLicense,
        current: &LicenseAttributes,
    ) {
        let wanted = self.spec.standalone_keys;
        if observed.standalone_keys == wanted || self.ignores("standaloneKeys") {
            return;
        }
        out.drafts.push(Draft::single(
            ActionKind::Update,
            self.address(),
            "standaloneKeys differs".into(),
            vec![Change {
                field: "standaloneKeys".into(),
                before: Some(json!(observed.standalone_keys)),
                after: Some(json!(wanted)),
                forces_replacement: false,
            }],
            LicenseOperation::UpdateLicense {
                tenant: self.tenant.reference.clone(),
                license_id: observed.id,
                standalone_keys: Some(wanted),
                attributes: LicenseAttributes {
                    standalone_keys: wanted,
                    ..current.clone()
                },
            },
        ));
    }

    /// The key types it lists that have no key yet are issued; keys of
    /// types it does not list stay (the API cannot revoke them).
    fn plan_key_types(
        &self,
        out: &mut KindPlan,
        observed: &ObservedLicense,
        current: &LicenseAttributes,
    ) {
        let spec = self.spec;
        let missing: Vec<Uuid> = spec
            .key_types
            .iter()
            .filter(|k| !observed.key_types.contains(k))
            .copied()
            .collect();
        let current = LicenseAttributes {
            standalone_keys: self.keys_after_update(observed),
            ..current.clone()
        };
        if !missing.is_empty() {
            let mut after = current.key_types.clone();
            after.extend(missing.iter().copied());
            after.sort();
            out.drafts.push(Draft::single(
                ActionKind::IssueKey,
                self.address(),
                format!("{} key type(s) have no key yet", missing.len()),
                vec![Change {
                    field: "keyTypes".into(),
                    before: Some(json!(current.key_types)),
                    after: Some(json!(after)),
                    forces_replacement: false,
                }],
                LicenseOperation::IssueKeys {
                    tenant: self.tenant.reference.clone(),
                    license_id: observed.id,
                    key_types: missing,
                    attributes: LicenseAttributes {
                        key_types: after.clone(),
                        ..current.clone()
                    },
                },
            ));
        }
        let extra: Vec<String> = observed
            .key_types
            .iter()
            .filter(|k| !spec.key_types.contains(k))
            .map(Uuid::to_string)
            .collect();
        if !extra.is_empty() {
            out.notes.push(format!(
                "{} has keys of type(s) {} that the manifest does not list; the API cannot revoke keys, so they stay",
                self.address(),
                extra.join(", ")
            ));
        }
    }

    /// The standalone key count once a planned update is done.
    fn keys_after_update(&self, observed: &ObservedLicense) -> u32 {
        if self.ignores("standaloneKeys") {
            observed.standalone_keys
        } else {
            self.spec.standalone_keys
        }
    }

    /// A version change joins its tenant's bulk upgrade, unless the license
    /// was created or upgraded today (then it is deferred); a lower version
    /// is an error (the API only upgrades).
    fn plan_version(
        &self,
        out: &mut KindPlan,
        upgrades: &mut Upgrades,
        observed: &ObservedLicense,
        now: Option<&str>,
    ) {
        let spec = self.spec;
        if now == Some(spec.version.as_str()) {
            return;
        }
        if let Some(now) = now
            && version_order(&spec.version) < version_order(now)
        {
            out.errors.push(self.error(
                format!(
                    "version {} is lower than the license's {now}; the API only upgrades",
                    spec.version
                ),
                format!(
                    "keep `version: \"{now}\"`, or replace the license with one of an older plan"
                ),
            ));
            return;
        }
        let today = self.live.today;
        match observed.last_changed {
            Some(day) if day >= today || observed.status != "Active" => {
                out.deferred.push(Deferred {
                    address: self.address().clone(),
                    field: "version".into(),
                    before: json!(now),
                    after: json!(spec.version),
                    from: (day.max(today) + Duration::days(1)).to_string(),
                    reason: format!(
                        "it was created or last upgraded on {day}; the API upgrades a license from the day after"
                    ),
                });
            }
            _ => upgrades
                .entry((self.tenant.reference.name.clone(), spec.version.clone()))
                .or_default()
                .push((
                    UpgradeMember {
                        address: self.address().clone(),
                        license_id: observed.id,
                    },
                    now.map(str::to_string),
                )),
        }
    }
}

/// A license in the state that the manifests no longer declare.
fn plan_removed(
    out: &mut KindPlan,
    address: &Address,
    record: &ResourceState,
    live: &LicensesLive,
) {
    let tenant = tenant_ref_from_state(record);
    let unreadable = live
        .tenants
        .get(&tenant.tenant_id)
        .and_then(|tl| tl.unreadable(record.remote_id.as_deref(), &record.natural_key));
    if let Some(bad) = unreadable {
        out.errors.push(PlanError::new(
            Some(address.clone()),
            format!(
                "it is gone from the manifests, but its license could not be read, so it is not deleted: {}",
                bad.describe()
            ),
        ));
        return;
    }
    let observed = live.tenants.get(&tenant.tenant_id).and_then(|tl| {
        record
            .remote_id
            .as_deref()
            .and_then(|id| id.parse().ok())
            .and_then(|id| tl.by_id(id))
            .or_else(|| {
                (record.status == Status::Creating)
                    .then(|| tl.by_name(&record.natural_key))
                    .flatten()
            })
    });
    if let Some(day) = observed.and_then(ObservedLicense::scheduled_deletion) {
        out.notes.push(format!(
            "{address}: license {} is scheduled for deletion on {day}; the state forgets it once it is gone",
            record.remote_id.as_deref().unwrap_or_default()
        ));
        return;
    }
    let delete = observed.map(|observed| {
        (
            "it is gone from the manifests",
            LicenseOperation::DeleteLicense {
                tenant,
                license_id: observed.id,
            },
        )
    });
    out.removal(address, record, delete, "from the server");
}

/// Coalesces version changes: one call per tenant and version, 100 a call.
fn plan_upgrades(
    out: &mut KindPlan,
    upgrades: Upgrades,
    tenants: &BTreeMap<&str, DeclaredTenant<'_>>,
    live: &LicensesLive,
) {
    for ((tenant_name, version), mut members) in upgrades {
        let Some(tenant) = tenants.get(tenant_name.as_str()) else {
            continue;
        };
        let has_order = live
            .tenants
            .get(&tenant.reference.tenant_id)
            .and_then(|t| t.has_upgrade_order);
        let Some(has_order) = has_order else {
            out.errors.push(PlanError::new(
                Some(tenant.resource.address.clone()),
                "this is a bug in entitle: the tenant's orders were not read, and a version upgrade needs them",
            ));
            continue;
        };
        let contact = tenant.spec.upgrade_contact.as_ref().map(|c| Contact {
            email: c.email.clone(),
            company_name: c.company_name.clone(),
        });
        if !has_order && contact.is_none() {
            let tenant_address = &tenant.resource.address;
            out.errors.push(
                PlanError::new(
                    Some(tenant_address.clone()),
                    format!(
                        "upgrading {} license(s) to {version} is the tenant's first version upgrade, and the API then needs contact details",
                        members.len()
                    ),
                )
                .hint(format!(
                    "add to {tenant_address}:\n      spec:\n        upgradeContact:\n          email: licensing@example.com\n          companyName: Example K.K."
                ))
                .at(Some(&tenant.resource.source)),
            );
            continue;
        }
        members.sort_by(|a, b| a.0.address.cmp(&b.0.address));
        let chunks: Vec<&[(UpgradeMember, Option<String>)]> = members.chunks(BULK_CHUNK).collect();
        let total = chunks.len();
        for (i, chunk) in chunks.into_iter().enumerate() {
            let id = format!("bulk-upgrade {tenant_name} {version} ({}/{total})", i + 1);
            let changes = chunk
                .iter()
                .map(|(m, before)| Change {
                    field: format!("{}.version", m.address),
                    before: Some(json!(before)),
                    after: Some(json!(version)),
                    forces_replacement: false,
                })
                .collect();
            let members: Vec<UpgradeMember> = chunk.iter().map(|(m, _)| m.clone()).collect();
            out.drafts.push(Draft {
                action: Action {
                    id,
                    kind: ActionKind::BulkUpgrade,
                    addresses: members.iter().map(|m| m.address.clone()).collect(),
                    reason: format!(
                        "{} license(s) in {tenant_name} move to version {version}",
                        chunk.len()
                    ),
                    changes,
                    after: Vec::new(),
                    detail: None,
                    operation: LicenseOperation::BulkUpgrade {
                        tenant: tenant.reference.clone(),
                        version: version.clone(),
                        licenses: members.clone(),
                        contact: if has_order { None } else { contact.clone() },
                    }
                    .into(),
                },
                resources: members.iter().map(|m| m.address.clone()).collect(),
                removal: false,
            });
        }
    }
}

fn prevent_destroy_error(address: &Address, why: &str, resource: &Resource) -> PlanError {
    PlanError::new(
        Some(address.clone()),
        format!("{why}, but lifecycle.preventDestroy is set"),
    )
    .hint("undo the change, or set preventDestroy: false if the license may really be destroyed")
    .at(Some(&resource.source))
}

/// Every attribute as a change from nothing, for a create.
fn attribute_changes(before: Option<&LicenseAttributes>, after: &LicenseAttributes) -> Vec<Change> {
    let to_map = |a: &LicenseAttributes| -> BTreeMap<String, Value> {
        serde_json::to_value(a)
            .ok()
            .and_then(|v| v.as_object().cloned())
            .map(|m| m.into_iter().collect())
            .unwrap_or_default()
    };
    let before = before.map(to_map).unwrap_or_default();
    to_map(after)
        .into_iter()
        .filter(|(field, value)| before.get(field) != Some(value))
        .map(|(field, value)| Change {
            before: before.get(&field).cloned(),
            field,
            after: Some(value),
            forces_replacement: false,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;
    use time::macros::date;

    use super::*;
    use crate::api::arcserve::{KeyType, Plan as CatalogPlan};
    use crate::plan::model::Plan;
    use crate::plan::{PlanErrors, PlanInput};
    use crate::resources::Live;
    use crate::state::{Scope, State};

    const TENANT: &str = "3f6c2a9e81d04b7f9a5e2c1d0b8f7a61";
    const PLAN_9: &str = "7f5a3c1e-2b4d-4e8f-9a6b-0c1d2e3f4a5b";
    const PLAN_PREMIUM: &str = "8e6b4d2f-3c5e-4f9a-8b7c-1d2e3f4a5b6c";
    const KEY: &str = "a1b2c3d4-0001-4000-8000-000000000001";

    fn tenant_yaml(contact: bool) -> String {
        let contact = if contact {
            "  upgradeContact:\n    email: a@example.com\n    companyName: Example\n"
        } else {
            ""
        };
        format!(
            "apiVersion: entitle/v1\nkind: EclTenant\nmetadata:\n  name: prod\nspec:\n  region: jp1\n  tenantId: {TENANT}\n{contact}"
        )
    }

    fn license_yaml(name: &str, plan: &str, keys: u32, version: &str, metadata: &str) -> String {
        format!(
            "---\napiVersion: entitle/v1\nkind: ArcserveLicense\nmetadata:\n  name: {name}\n{metadata}spec:\n  tenant: prod\n  plan: {plan}\n  standaloneKeys: {keys}\n  version: \"{version}\"\n  keyTypes: [{KEY}]\n"
        )
    }

    fn load(text: &str) -> crate::manifest::Desired {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.yaml");
        std::fs::write(&path, text).unwrap();
        crate::manifest::load(&[path]).unwrap()
    }

    fn catalog() -> Vec<CatalogPlan> {
        let key = |id: &str, name: &str| KeyType {
            id: id.parse().unwrap(),
            name: name.into(),
        };
        vec![
            CatalogPlan {
                id: PLAN_9.parse().unwrap(),
                name_ja: "A".into(),
                name_en: "Advanced 9".into(),
                version: "9.0".into(),
                edition: "Advanced".into(),
                key_types: vec![key(KEY, "UDP Standalone Key")],
            },
            CatalogPlan {
                id: PLAN_PREMIUM.parse().unwrap(),
                name_ja: "P".into(),
                name_en: "Premium 9".into(),
                version: "9.0".into(),
                edition: "Premium".into(),
                key_types: vec![key(KEY, "UDP Standalone Key")],
            },
        ]
    }

    fn observed(name: &str, keys: u32, version: &str, created: time::Date) -> ObservedLicense {
        ObservedLicense {
            id: Uuid::from_u128(name.bytes().map(u128::from).sum::<u128>() + 1),
            name: name.into(),
            status: "Active".into(),
            plan: PLAN_9.parse().unwrap(),
            standalone_keys: keys,
            version: Some(version.into()),
            key_types: [KEY.parse().unwrap()].into_iter().collect(),
            last_changed: Some(created),
            deletion_date: None,
        }
    }

    fn live(licenses: Vec<ObservedLicense>, has_upgrade_order: bool) -> Live {
        Live {
            licenses: LicensesLive {
                tenants: BTreeMap::from([(
                    TENANT.to_string(),
                    TenantLive::new(
                        date!(2026 - 11 - 26),
                        licenses,
                        catalog(),
                        Some(has_upgrade_order),
                    ),
                )]),
            },
            ..Live::default()
        }
    }

    /// A state that manages each observed license under its name.
    fn state_of(licenses: &[ObservedLicense], lifecycle: RecordedLifecycle) -> State {
        let mut state = State::new();
        for l in licenses {
            state.resources.insert(
                format!("ArcserveLicense/{}", l.name).into(),
                ResourceState {
                    remote_id: Some(l.id.to_string()),
                    scope: Scope {
                        tenant_id: Some(TENANT.into()),
                        region: Some("jp1".into()),
                        endpoint: None,
                        company_id: None,
                    },
                    natural_key: l.name.clone(),
                    attributes: json!(observed_attributes(l, "prod")),
                    dependencies: vec!["EclTenant/prod".into()],
                    status: Status::Ready,
                    lifecycle: lifecycle.clone(),
                },
            );
        }
        state
    }

    fn run(desired: &str, state: &State, live: &Live) -> Result<Plan, PlanErrors> {
        let desired = load(desired);
        crate::plan::plan(&PlanInput {
            desired: &desired,
            prior: state,
            live,
            targets: &[],
            replace: &[],
        })
    }

    use crate::plan::model::ActionKind;
    use crate::state::model::RecordedLifecycle;

    fn kinds(plan: &Plan) -> Vec<(ActionKind, String)> {
        plan.actions
            .iter()
            .map(|a| {
                (
                    a.kind,
                    a.addresses
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                )
            })
            .collect()
    }

    const OLD: time::Date = date!(2026 - 11 - 01);

    #[test]
    fn new_licenses_are_created_and_known_ones_left_alone() {
        let existing = observed("db", 1, "9.0", OLD);
        let state = state_of(
            std::slice::from_ref(&existing),
            RecordedLifecycle::default(),
        );
        let text = tenant_yaml(true)
            + &license_yaml("db", PLAN_9, 1, "9.0", "")
            + &license_yaml("web", PLAN_9, 2, "9.0", "");
        let plan = run(&text, &state, &live(vec![existing], false)).unwrap();
        assert_eq!(
            kinds(&plan),
            [(ActionKind::Create, "ArcserveLicense/web".to_string())]
        );
    }

    #[test]
    fn a_key_count_change_updates_and_ignore_changes_silences_it() {
        let existing = observed("db", 1, "9.0", OLD);
        let state = state_of(
            std::slice::from_ref(&existing),
            RecordedLifecycle::default(),
        );
        let live = live(vec![existing], false);
        let text = tenant_yaml(true) + &license_yaml("db", PLAN_9, 4, "9.0", "");
        let plan = run(&text, &state, &live).unwrap();
        assert_eq!(
            kinds(&plan),
            [(ActionKind::Update, "ArcserveLicense/db".into())]
        );
        assert_eq!(plan.actions[0].changes[0].before, Some(json!(1)));
        assert_eq!(plan.actions[0].changes[0].after, Some(json!(4)));

        let ignored = tenant_yaml(true)
            + &license_yaml(
                "db",
                PLAN_9,
                4,
                "9.0",
                "  lifecycle:\n    ignoreChanges: [standaloneKeys]\n",
            );
        assert!(run(&ignored, &state, &live).unwrap().is_empty());
    }

    #[test]
    fn a_plan_change_replaces_unless_destruction_is_prevented() {
        let existing = observed("db", 1, "9.0", OLD);
        let state = state_of(
            std::slice::from_ref(&existing),
            RecordedLifecycle::default(),
        );
        let live = live(vec![existing], false);
        let text = tenant_yaml(true) + &license_yaml("db", PLAN_PREMIUM, 1, "9.0", "");
        let plan = run(&text, &state, &live).unwrap();
        assert_eq!(
            kinds(&plan),
            [(ActionKind::Replace, "ArcserveLicense/db".into())]
        );
        assert!(plan.actions[0].changes[0].forces_replacement);

        let guarded = tenant_yaml(true)
            + &license_yaml(
                "db",
                PLAN_PREMIUM,
                1,
                "9.0",
                "  lifecycle:\n    preventDestroy: true\n",
            );
        let errors = run(&guarded, &state, &live).unwrap_err();
        assert!(errors.to_string().contains("preventDestroy"), "{errors}");
    }

    #[test]
    fn version_changes_coalesce_into_bulk_calls_of_100() {
        let existing: Vec<ObservedLicense> = (0..250)
            .map(|i| observed(&format!("l{i:03}"), 1, "9.0", OLD))
            .collect();
        let state = state_of(&existing, RecordedLifecycle::default());
        let text: String = std::iter::once(tenant_yaml(true))
            .chain((0..250).map(|i| license_yaml(&format!("l{i:03}"), PLAN_9, 1, "10.0", "")))
            .collect();
        let plan = run(&text, &state, &live(existing, false)).unwrap();
        let sizes: Vec<usize> = plan.actions.iter().map(|a| a.addresses.len()).collect();
        assert_eq!(sizes, [100, 100, 50]);
        assert!(
            plan.actions
                .iter()
                .all(|a| a.kind == ActionKind::BulkUpgrade)
        );
        let summary = plan.summary();
        assert_eq!((summary.upgrade, summary.upgrade_calls), (250, 3));
        let crate::plan::model::Operation::Provider(crate::resources::ProviderOperation::Licenses(
            LicenseOperation::BulkUpgrade { contact, .. },
        )) = &plan.actions[0].operation
        else {
            panic!("not a bulk upgrade");
        };
        assert!(contact.is_some(), "the first upgrade carries the contact");
    }

    #[test]
    fn a_license_changed_today_is_deferred_to_tomorrow() {
        let fresh = observed("db", 1, "9.0", date!(2026 - 11 - 26));
        let state = state_of(std::slice::from_ref(&fresh), RecordedLifecycle::default());
        let text = tenant_yaml(true) + &license_yaml("db", PLAN_9, 1, "10.0", "");
        let plan = run(&text, &state, &live(vec![fresh], false)).unwrap();
        assert!(plan.is_empty());
        assert_eq!(plan.deferred.len(), 1);
        assert_eq!(plan.deferred[0].from, "2026-11-27");
    }

    #[test]
    fn a_first_upgrade_without_contact_says_which_field_to_add() {
        let existing = observed("db", 1, "9.0", OLD);
        let state = state_of(
            std::slice::from_ref(&existing),
            RecordedLifecycle::default(),
        );
        let text = tenant_yaml(false) + &license_yaml("db", PLAN_9, 1, "10.0", "");
        let errors = run(&text, &state, &live(vec![existing.clone()], false)).unwrap_err();
        let message = errors.to_string();
        assert!(message.contains("EclTenant/prod"), "{message}");
        assert!(message.contains("upgradeContact"), "{message}");
        // With an upgrade order in the tenant, no contact is needed.
        let plan = run(&text, &state, &live(vec![existing], true)).unwrap();
        assert_eq!(plan.summary().upgrade, 1);
    }

    #[test]
    fn removed_licenses_are_deleted_or_forgotten_by_policy() {
        let a = observed("a", 1, "9.0", OLD);
        let b = observed("b", 1, "9.0", OLD);
        let mut state = state_of(&[a.clone(), b.clone()], RecordedLifecycle::default());
        if let Some(record) = state.resources.get_mut(&"ArcserveLicense/b".into()) {
            record.lifecycle.orphan_on_delete = true;
        }
        let plan = run(&tenant_yaml(true), &state, &live(vec![a, b], false)).unwrap();
        let mut found = kinds(&plan);
        found.sort();
        assert_eq!(
            found,
            [
                (ActionKind::Delete, "ArcserveLicense/a".into()),
                (ActionKind::Forget, "ArcserveLicense/b".into())
            ]
        );
    }

    #[test]
    fn a_creating_record_is_adopted_by_name() {
        let made = observed("db", 1, "9.0", OLD);
        let mut state = state_of(std::slice::from_ref(&made), RecordedLifecycle::default());
        if let Some(record) = state.resources.get_mut(&"ArcserveLicense/db".into()) {
            record.remote_id = None;
            record.status = Status::Creating;
        }
        let text = tenant_yaml(true) + &license_yaml("db", PLAN_9, 1, "9.0", "");
        let plan = run(&text, &state, &live(vec![made.clone()], false)).unwrap();
        assert_eq!(
            kinds(&plan),
            [(ActionKind::Adopt, "ArcserveLicense/db".into())]
        );
        // Nothing on the server: create it.
        let plan = run(&text, &state, &live(vec![], false)).unwrap();
        assert_eq!(
            kinds(&plan),
            [(ActionKind::Create, "ArcserveLicense/db".into())]
        );
    }

    #[test]
    fn a_created_but_unready_record_is_adopted_to_ready() {
        let made = observed("db", 1, "9.0", OLD);
        let mut state = state_of(std::slice::from_ref(&made), RecordedLifecycle::default());
        if let Some(record) = state.resources.get_mut(&"ArcserveLicense/db".into()) {
            record.status = Status::Creating;
        }
        let text = tenant_yaml(true) + &license_yaml("db", PLAN_9, 1, "9.0", "");
        let plan = run(&text, &state, &live(vec![made], false)).unwrap();
        assert_eq!(
            kinds(&plan),
            [(ActionKind::Adopt, "ArcserveLicense/db".into())]
        );
    }

    #[test]
    fn a_license_being_deleted_is_made_again() {
        let mut leaving = observed("db", 1, "9.0", OLD);
        leaving.status = "Deleting".into();
        let state = state_of(std::slice::from_ref(&leaving), RecordedLifecycle::default());
        let text = tenant_yaml(true) + &license_yaml("db", PLAN_9, 1, "9.0", "");
        let plan = run(&text, &state, &live(vec![leaving], false)).unwrap();
        assert_eq!(
            kinds(&plan),
            [(ActionKind::Create, "ArcserveLicense/db".into())]
        );
    }

    #[test]
    fn an_unmanaged_license_of_the_same_name_asks_for_import() {
        let stranger = observed("db", 1, "9.0", OLD);
        let text = tenant_yaml(true) + &license_yaml("db", PLAN_9, 1, "9.0", "");
        let errors = run(&text, &State::new(), &live(vec![stranger], false)).unwrap_err();
        assert!(
            errors
                .to_string()
                .contains("entitle import ArcserveLicense/db"),
            "{errors}"
        );
    }

    #[test]
    fn depends_on_orders_creates_and_a_cycle_is_an_error() {
        let text = tenant_yaml(true)
            + &license_yaml("a", PLAN_9, 1, "9.0", "  dependsOn: [ArcserveLicense/b]\n")
            + &license_yaml("b", PLAN_9, 1, "9.0", "");
        let plan = run(&text, &State::new(), &live(vec![], false)).unwrap();
        let order: Vec<&str> = plan.actions.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(
            order,
            ["create ArcserveLicense/b", "create ArcserveLicense/a"]
        );
        assert_eq!(plan.actions[1].after, ["create ArcserveLicense/b"]);

        let cyclic = tenant_yaml(true)
            + &license_yaml("a", PLAN_9, 1, "9.0", "  dependsOn: [ArcserveLicense/b]\n")
            + &license_yaml("b", PLAN_9, 1, "9.0", "  dependsOn: [ArcserveLicense/a]\n");
        // Loading finds the cycle before the planner (whose own check
        // `plan::planner` tests).
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.yaml");
        std::fs::write(&path, cyclic).unwrap();
        let errors = crate::manifest::load(&[path]).unwrap_err();
        assert!(
            errors
                .to_string()
                .contains("ArcserveLicense/a -> ArcserveLicense/b -> ArcserveLicense/a"),
            "{errors}"
        );
    }

    #[test]
    fn upgrades_of_dependent_licenses_with_other_changes_make_no_cycle() {
        let a = observed("a", 1, "9.0", OLD);
        let c = observed("c", 1, "9.0", OLD);
        let state = state_of(&[a.clone(), c.clone()], RecordedLifecycle::default());
        let text = tenant_yaml(true)
            + &license_yaml("a", PLAN_9, 3, "10.0", "  dependsOn: [ArcserveLicense/c]\n")
            + &license_yaml("c", PLAN_9, 2, "10.0", "");
        let plan = run(&text, &state, &live(vec![a, c], false)).unwrap();
        let mut found = kinds(&plan);
        found.sort();
        assert_eq!(
            found,
            [
                (ActionKind::Update, "ArcserveLicense/a".into()),
                (ActionKind::Update, "ArcserveLicense/c".into()),
                (
                    ActionKind::BulkUpgrade,
                    "ArcserveLicense/a,ArcserveLicense/c".into()
                ),
            ]
        );
    }

    #[test]
    fn targets_limit_the_plan_to_the_target_and_its_dependencies() {
        let text = tenant_yaml(true)
            + &license_yaml("a", PLAN_9, 1, "9.0", "  dependsOn: [ArcserveLicense/b]\n")
            + &license_yaml("b", PLAN_9, 1, "9.0", "")
            + &license_yaml("c", PLAN_9, 1, "9.0", "");
        let desired = load(&text);
        let live = live(vec![], false);
        let state = State::new();
        let targets = ["ArcserveLicense/a".parse().unwrap()];
        let plan = crate::plan::plan(&PlanInput {
            desired: &desired,
            prior: &state,
            live: &live,
            targets: &targets,
            replace: &[],
        })
        .unwrap();
        let mut ids: Vec<&str> = plan.actions.iter().map(|a| a.id.as_str()).collect();
        ids.sort();
        assert_eq!(
            ids,
            ["create ArcserveLicense/a", "create ArcserveLicense/b"]
        );
    }

    #[test]
    fn the_same_inputs_give_the_same_plan_byte_for_byte() {
        let existing: Vec<ObservedLicense> = (0..30)
            .map(|i| observed(&format!("l{i:02}"), 1, "9.0", OLD))
            .collect();
        let state = state_of(&existing[..20], RecordedLifecycle::default());
        let text: String = std::iter::once(tenant_yaml(true))
            .chain((0..20).map(|i| license_yaml(&format!("l{i:02}"), PLAN_9, 2, "10.0", "")))
            .chain((40..45).map(|i| license_yaml(&format!("n{i:02}"), PLAN_9, 1, "9.0", "")))
            .collect();
        let first = run(&text, &state, &live(existing.clone(), true)).unwrap();
        let second = run(&text, &state, &live(existing, true)).unwrap();
        assert_eq!(
            serde_json::to_string(&first).unwrap(),
            serde_json::to_string(&second).unwrap()
        );
    }
}
