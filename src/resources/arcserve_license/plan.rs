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

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use time::Duration;
use uuid::Uuid;

use super::observe::{
    LicensesLive, ObservedLicense, TenantLive, observed_attributes, version_order,
};
use super::operation::{Contact, LicenseAttributes, LicenseOperation, NewLicense, UpgradeMember};
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
    let mut desired_addresses = BTreeSet::new();
    for resource in &input.desired.resources {
        let Spec::ArcserveLicense(spec) = &resource.spec else {
            continue;
        };
        let address = resource.address.clone();
        desired_addresses.insert(address.clone());
        if !context.in_scope(&address) {
            continue;
        }
        let Some(tenant) = tenants.get(spec.tenant.as_str()) else {
            out.errors.push(
                PlanError::new(
                    Some(address),
                    format!("the EclTenant `{}` is not declared", spec.tenant),
                )
                .at(Some(&resource.source)),
            );
            continue;
        };
        let Some(tenant_live) = live.tenants.get(&tenant.reference.tenant_id) else {
            out.errors.push(PlanError::new(
                Some(address),
                format!("tenant {} was not refreshed", tenant.reference.tenant_id),
            ));
            continue;
        };
        plan_desired(
            &mut out,
            &mut upgrades,
            resource,
            spec,
            tenant,
            tenant_live,
            input.prior.get(&address),
            input.desired,
        );
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

/// A license the manifests declare.
#[allow(clippy::too_many_arguments)]
fn plan_desired(
    out: &mut KindPlan,
    upgrades: &mut Upgrades,
    resource: &Resource,
    spec: &ArcserveLicenseSpec,
    tenant: &DeclaredTenant<'_>,
    live: &TenantLive,
    record: Option<&ResourceState>,
    desired: &crate::manifest::Desired,
) {
    let address = resource.address.clone();
    let name = resource.metadata.name.as_str();
    let ignore: BTreeSet<&str> = resource
        .metadata
        .lifecycle
        .ignore_changes
        .iter()
        .map(String::as_str)
        .collect();
    let lifecycle = &resource.metadata.lifecycle;
    let dependencies = ecl_tenant::recorded_dependencies(resource, &spec.tenant);

    // The plan and key types must exist in the tenant's catalog.
    let Some(catalog_plan) = live.plan(spec.plan) else {
        let plans: Vec<String> = live
            .plans
            .iter()
            .map(|p| format!("{} ({})", p.id, p.name_en))
            .collect();
        out.errors.push(
            PlanError::new(
                Some(address),
                format!(
                    "plan {} is not offered in tenant {}",
                    spec.plan, tenant.reference.name
                ),
            )
            .hint(format!("the tenant's plans are: {}", plans.join(", ")))
            .at(Some(&resource.source)),
        );
        return;
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
        out.errors.push(
            PlanError::new(
                Some(address),
                format!(
                    "plan `{}` does not issue the key type(s) {}",
                    catalog_plan.name_en,
                    unknown_keys.join(", ")
                ),
            )
            .hint(format!("this plan issues: {}", offered.join(", ")))
            .at(Some(&resource.source)),
        );
        return;
    }

    if version_order(&spec.version) < version_order(&catalog_plan.version) {
        out.errors.push(
            PlanError::new(
                Some(address),
                format!(
                    "version {} is lower than {}, the version plan `{}` starts at; the API only upgrades",
                    spec.version, catalog_plan.version, catalog_plan.name_en
                ),
            )
            .hint(format!(
                "write `version: \"{}\"` or higher, or choose an older plan",
                catalog_plan.version
            ))
            .at(Some(&resource.source)),
        );
        return;
    }
    let desired_attributes = LicenseAttributes {
        tenant: spec.tenant.clone(),
        plan: spec.plan,
        standalone_keys: spec.standalone_keys,
        version: spec.version.clone(),
        key_types: spec.key_types.clone(),
    };
    let created_attributes = LicenseAttributes {
        version: catalog_plan.version.clone(),
        ..desired_attributes.clone()
    };
    let new_license = NewLicense {
        tenant: tenant.reference.clone(),
        name: name.to_string(),
        attributes: created_attributes,
        dependencies,
        lifecycle: RecordedLifecycle::from(lifecycle),
    };
    let create = || LicenseOperation::CreateLicense(new_license.clone());
    let defer_created_version = |out: &mut KindPlan| {
        if catalog_plan.version != spec.version {
            out.deferred.push(Deferred {
                address: address.clone(),
                field: "version".into(),
                before: json!(catalog_plan.version),
                after: json!(spec.version),
                from: (live.today + Duration::days(1)).to_string(),
                reason: "a new license starts at its plan's version and can be upgraded from the day after it is created".into(),
            });
        }
    };

    // Find the live license this address is bound to.
    let moved = record
        .is_some_and(|r| r.scope.tenant_id.as_deref() != Some(tenant.reference.tenant_id.as_str()));
    let observed: Option<&ObservedLicense> = match record {
        None => {
            if let Some(existing) = live.by_name(name) {
                out.errors.push(
                    PlanError::new(
                        Some(address.clone()),
                        format!(
                            "a license named `{name}` already exists in tenant {} (id {}), but entitle does not manage it",
                            tenant.reference.name, existing.id
                        ),
                    )
                    .hint(format!(
                        "bind it with `entitle import {address} {}`, or give this resource another name",
                        existing.id
                    ))
                    .at(Some(&resource.source)),
                );
                return;
            }
            None
        }
        Some(_) if moved => None,
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
    let observed = observed.filter(|o| o.status != "Deleting");

    if moved && let Some(r) = record {
        let old_tenant = tenant_ref_from_state(r);
        let old_id = r.remote_id.as_deref().and_then(|id| id.parse().ok());
        if r.lifecycle.prevent_destroy || lifecycle.prevent_destroy {
            out.errors.push(prevent_destroy_error(
                &address,
                "moving it to another tenant replaces it",
                resource,
            ));
            return;
        }
        let change = Change {
            field: "tenant".into(),
            before: Some(json!(old_tenant.name)),
            after: Some(json!(tenant.reference.name)),
            forces_replacement: true,
        };
        let operation = match old_id {
            Some(old_id) => LicenseOperation::ReplaceLicense {
                old_tenant,
                old_id,
                new: new_license.clone(),
            },
            None => create(),
        };
        out.drafts.push(Draft::single(
            ActionKind::Replace,
            &address,
            "it moves to another tenant".into(),
            vec![change],
            operation,
        ));
        defer_created_version(out);
        return;
    }

    let Some(observed) = observed else {
        let reason = match record {
            None => "it is new".to_string(),
            Some(r) if r.status == Status::Creating => {
                "a previous run began creating it, and the server has no license of that name"
                    .to_string()
            }
            Some(r) if r.status == Status::Deleting => {
                "a previous run was deleting it for a replacement".to_string()
            }
            Some(_) => "it was deleted outside entitle, or is being deleted".to_string(),
        };
        out.drafts.push(Draft::single(
            ActionKind::Create,
            &address,
            reason.clone(),
            attribute_changes(None, &new_license.attributes),
            create(),
        ));
        defer_created_version(out);
        return;
    };

    let unrecorded = record.is_some_and(|r| {
        r.remote_id.as_deref() != Some(observed.id.to_string().as_str())
            || r.status != Status::Ready
    });
    if unrecorded {
        out.drafts.push(Draft::single(
            ActionKind::Adopt,
            &address,
            format!(
                "a previous run created it (id {}) but was stopped before it was recorded as ready",
                observed.id
            ),
            Vec::new(),
            LicenseOperation::AdoptLicense {
                tenant: tenant.reference.clone(),
                name: name.to_string(),
                license_id: observed.id,
                attributes: observed_attributes(observed, &spec.tenant),
            },
        ));
    }

    if observed.plan != spec.plan && !ignore.contains("plan") {
        if lifecycle.prevent_destroy || record.is_some_and(|r| r.lifecycle.prevent_destroy) {
            out.errors.push(prevent_destroy_error(
                &address,
                "changing its plan replaces it",
                resource,
            ));
            return;
        }
        let before_plan = live
            .plan(observed.plan)
            .map(|p| format!("{} ({})", observed.plan, p.name_en))
            .unwrap_or_else(|| observed.plan.to_string());
        let change = Change {
            field: "plan".into(),
            before: Some(json!(before_plan)),
            after: Some(json!(format!("{} ({})", spec.plan, catalog_plan.name_en))),
            forces_replacement: true,
        };
        out.drafts.push(Draft::single(
            ActionKind::Replace,
            &address,
            "the plan of a license cannot change: a new license replaces it".into(),
            vec![change],
            LicenseOperation::ReplaceLicense {
                old_tenant: tenant.reference.clone(),
                old_id: observed.id,
                new: new_license.clone(),
            },
        ));
        defer_created_version(out);
        return;
    }

    // A license without keys shows no version: trust the one last applied.
    let current_version = if observed.key_types.is_empty() {
        record
            .and_then(|r| r.attributes.get("version"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| observed.version.clone())
    } else {
        observed.version.clone()
    };
    let mut current = observed_attributes(observed, &spec.tenant);
    current.version = current_version.clone().unwrap_or_default();
    if observed.standalone_keys != spec.standalone_keys && !ignore.contains("standaloneKeys") {
        current.standalone_keys = spec.standalone_keys;
        out.drafts.push(Draft::single(
            ActionKind::Update,
            &address,
            "standaloneKeys differs".into(),
            vec![Change {
                field: "standaloneKeys".into(),
                before: Some(json!(observed.standalone_keys)),
                after: Some(json!(spec.standalone_keys)),
                forces_replacement: false,
            }],
            LicenseOperation::UpdateLicense {
                tenant: tenant.reference.clone(),
                license_id: observed.id,
                standalone_keys: Some(spec.standalone_keys),
                attributes: current.clone(),
            },
        ));
    }

    if !ignore.contains("keyTypes") {
        let missing: Vec<Uuid> = spec
            .key_types
            .iter()
            .filter(|k| !observed.key_types.contains(k))
            .copied()
            .collect();
        if !missing.is_empty() {
            let mut after = current.key_types.clone();
            after.extend(missing.iter().copied());
            after.sort();
            out.drafts.push(Draft::single(
                ActionKind::IssueKey,
                &address,
                format!("{} key type(s) have no key yet", missing.len()),
                vec![Change {
                    field: "keyTypes".into(),
                    before: Some(json!(current.key_types)),
                    after: Some(json!(after)),
                    forces_replacement: false,
                }],
                LicenseOperation::IssueKeys {
                    tenant: tenant.reference.clone(),
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
                "{address} has keys of type(s) {} that the manifest does not list; the API cannot revoke keys, so they stay",
                extra.join(", ")
            ));
        }
    }

    let version_differs = current_version.as_deref() != Some(spec.version.as_str());
    if version_differs
        && !ignore.contains("version")
        && let Some(now) = current_version.as_deref()
        && version_order(&spec.version) < version_order(now)
    {
        out.errors.push(
            PlanError::new(
                Some(address.clone()),
                format!(
                    "version {} is lower than the license's {now}; the API only upgrades",
                    spec.version
                ),
            )
            .hint(format!(
                "keep `version: \"{now}\"`, or replace the license with one of an older plan"
            ))
            .at(Some(&resource.source)),
        );
        return;
    }
    if version_differs && !ignore.contains("version") {
        let before = json!(current_version);
        match observed.last_changed {
            Some(day) if day >= live.today || observed.status != "Active" => {
                out.deferred.push(Deferred {
                    address: address.clone(),
                    field: "version".into(),
                    before,
                    after: json!(spec.version),
                    from: (day.max(live.today) + Duration::days(1)).to_string(),
                    reason: format!(
                        "it was created or last upgraded on {day}; the API upgrades a license from the day after"
                    ),
                });
            }
            _ => upgrades
                .entry((tenant.reference.name.clone(), spec.version.clone()))
                .or_default()
                .push((
                    UpgradeMember {
                        address: address.clone(),
                        license_id: observed.id,
                    },
                    current_version.clone(),
                )),
        }
    }
    let _ = desired;
}

/// A license in the state that the manifests no longer declare.
fn plan_removed(
    out: &mut KindPlan,
    address: &Address,
    record: &ResourceState,
    live: &LicensesLive,
) {
    let tenant = tenant_ref_from_state(record);
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
        let errors = run(&cyclic, &State::new(), &live(vec![], false)).unwrap_err();
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
