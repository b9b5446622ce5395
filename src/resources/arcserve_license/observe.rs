//! What refresh reads of the Arcserve UDP licenses, and the planner's view
//! of it: per tenant in play, one paged listing of licenses (never one
//! request per license) and its plan catalog; the tenant's orders (which
//! grow with every license) only when a version change is in sight,
//! because only the upgrade rules need them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

use futures_util::future::try_join_all;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::{Date, OffsetDateTime, UtcOffset};
use uuid::Uuid;

use super::ArcserveLicenseSpec;
use super::operation::LicenseAttributes;
use crate::api::ApiError;
use crate::api::arcserve::{self, License, Order, Plan as CatalogPlan};
use crate::api::ecl::EclClients;
use crate::api::lenient::Unreadable;
use crate::manifest::{Desired, Resource, Spec};
use crate::resources::Kind;
use crate::resources::ecl_tenant::{self, TenantRef, tenant_ref_from_state};
use crate::state::State;

/// The licenses of every tenant refreshed, by tenant id.
#[derive(Clone, Debug, Default)]
pub struct LicensesLive {
    pub tenants: BTreeMap<String, TenantLive>,
}

/// Asia/Tokyo: UTC+9 all year (no daylight saving), the zone of the API's
/// date rules.
pub const TOKYO: UtcOffset = match UtcOffset::from_hms(9, 0, 0) {
    Ok(offset) => offset,
    Err(_) => UtcOffset::UTC,
};

/// One tenant's licenses, catalog and upgrade history.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TenantLive {
    /// The server's calendar day in Tokyo when the licenses were read.
    pub today: Date,
    pub licenses: Vec<ObservedLicense>,
    pub plans: Vec<CatalogPlan>,
    /// Whether the tenant already has an `upgrade_version` order, which
    /// makes the upgrade contact optional; `None` when the orders were not
    /// read (they are read only when a version change is in sight).
    pub has_upgrade_order: Option<bool>,
    /// Licenses listed that could not be read (left out of `licenses`).
    #[serde(skip)]
    pub unreadable: Vec<Unreadable>,
    /// Where each license is in `licenses`, by id and by name, made on the
    /// first lookup (a plan looks up every license: a scan each time would
    /// be quadratic). `licenses` is not changed after construction.
    #[serde(skip)]
    index: OnceLock<LicenseIndex>,
}

/// Positions in `TenantLive::licenses`: the first license of each id, the
/// first of each name that is not on its way out, and the first of each
/// name that is.
#[derive(Clone, Debug, Default)]
struct LicenseIndex {
    by_id: HashMap<Uuid, usize>,
    by_name: HashMap<String, usize>,
    leaving_by_name: HashMap<String, usize>,
}

impl TenantLive {
    pub fn new(
        today: Date,
        licenses: Vec<ObservedLicense>,
        plans: Vec<CatalogPlan>,
        has_upgrade_order: Option<bool>,
    ) -> Self {
        TenantLive {
            today,
            licenses,
            plans,
            has_upgrade_order,
            unreadable: Vec::new(),
            index: OnceLock::new(),
        }
    }

    /// The listed license of this id or name that could not be read.
    pub fn unreadable(&self, id: Option<&str>, name: &str) -> Option<&Unreadable> {
        self.unreadable
            .iter()
            .find(|bad| id.is_some_and(|id| bad.is(id)) || bad.name.as_deref() == Some(name))
    }

    fn index(&self) -> &LicenseIndex {
        self.index.get_or_init(|| {
            let mut index = LicenseIndex::default();
            for (at, license) in self.licenses.iter().enumerate() {
                index.by_id.entry(license.id).or_insert(at);
                let by_name = if license.leaving() {
                    &mut index.leaving_by_name
                } else {
                    &mut index.by_name
                };
                by_name.entry(license.name.clone()).or_insert(at);
            }
            index
        })
    }

    /// Derives the planner's view from the API's answers; `orders` is
    /// `None` when they were not read.
    pub fn from_api(
        server_time: OffsetDateTime,
        licenses: Vec<License>,
        plans: Vec<CatalogPlan>,
        orders: Option<&[Order]>,
    ) -> Self {
        let upgrades = orders.map(Upgrades::from_orders);
        let has_upgrade_order = upgrades.as_ref().map(|u| u.any);
        let licenses = licenses
            .into_iter()
            .map(|license| ObservedLicense::from_api(license, &plans, upgrades.as_ref()))
            .collect();
        TenantLive::new(
            server_time.to_offset(TOKYO).date(),
            licenses,
            plans,
            has_upgrade_order,
        )
    }

    pub fn by_id(&self, id: Uuid) -> Option<&ObservedLicense> {
        self.index()
            .by_id
            .get(&id)
            .and_then(|&at| self.licenses.get(at))
    }

    /// The license of this name that is not on its way out.
    pub fn by_name(&self, name: &str) -> Option<&ObservedLicense> {
        self.index()
            .by_name
            .get(name)
            .and_then(|&at| self.licenses.get(at))
    }

    /// A license of this name that is on its way out (being deleted, or
    /// scheduled for deletion): it holds the name until it is gone.
    pub fn leaving_by_name(&self, name: &str) -> Option<&ObservedLicense> {
        self.index()
            .leaving_by_name
            .get(name)
            .and_then(|&at| self.licenses.get(at))
    }

    pub fn plan(&self, id: Uuid) -> Option<&CatalogPlan> {
        self.plans.iter().find(|p| p.id == id)
    }
}

/// What a tenant's orders say about version upgrades.
#[derive(Debug, Default)]
struct Upgrades {
    /// The tenant has an `upgrade_version` order (which makes the upgrade
    /// contact optional). Orders that do not say their type count as none:
    /// the contact is then required, which is never wrong to send.
    any: bool,
    /// The last upgrade day (Tokyo) of each license.
    last: HashMap<Uuid, Date>,
    /// Some order that may be an upgrade does not say when or of which
    /// licenses: the day-after rule then goes by each license's
    /// `updated_at`, which is never earlier than its last upgrade.
    incomplete: bool,
}

impl Upgrades {
    fn from_orders(orders: &[Order]) -> Self {
        let mut upgrades = Upgrades::default();
        for order in orders {
            match order.is_upgrade() {
                Some(false) => continue,
                Some(true) => upgrades.any = true,
                None => {}
            }
            let day = order.created_at.as_deref().and_then(tokyo_date);
            let (Some(day), Some(ids)) = (day, &order.license_ids) else {
                upgrades.incomplete = true;
                continue;
            };
            for id in ids {
                let entry = upgrades.last.entry(*id).or_insert(day);
                *entry = (*entry).max(day);
            }
        }
        upgrades
    }

    /// The last day (Tokyo) this license was upgraded, as far as known.
    fn last_of(&self, license: &License) -> Option<Date> {
        let recorded = self.last.get(&license.id).copied();
        if self.incomplete {
            let updated = tokyo_date(&license.updated_at);
            return recorded.max(updated);
        }
        recorded
    }
}

/// A license as the planner sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObservedLicense {
    pub id: Uuid,
    pub name: String,
    pub status: String,
    pub plan: Uuid,
    pub standalone_keys: u32,
    /// The version of its keys; for a license without keys, the plan's.
    pub version: Option<String>,
    pub key_types: BTreeSet<Uuid>,
    /// The last day (Tokyo) it was created or upgraded: the API upgrades a
    /// license only from the day after.
    pub last_changed: Option<Date>,
    /// The day it is deleted (the API's `deletion_date`), once a delete
    /// was asked for: today while it is `Deleting`, or a later day when
    /// the deletion is scheduled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_date: Option<String>,
}

impl ObservedLicense {
    /// Being deleted, or scheduled for deletion: as good as gone for the
    /// plan, though it holds its name until it is.
    pub fn leaving(&self) -> bool {
        arcserve::leaving(&self.status, self.deletion_date.as_deref())
    }

    /// The day of a scheduled deletion: the license is listed, not
    /// `Deleting`, and goes on that day.
    pub fn scheduled_deletion(&self) -> Option<&str> {
        arcserve::scheduled_deletion(&self.status, self.deletion_date.as_deref())
    }
}

impl ObservedLicense {
    fn from_api(license: License, plans: &[CatalogPlan], upgrades: Option<&Upgrades>) -> Self {
        let version = license
            .keys
            .iter()
            .map(|k| k.version.clone())
            .max_by(|a, b| version_order(a).cmp(&version_order(b)))
            .or_else(|| {
                plans
                    .iter()
                    .find(|p| p.id == license.plan_id)
                    .map(|p| p.version.clone())
            });
        let created = tokyo_date(&license.created_at);
        let upgraded = upgrades.and_then(|u| u.last_of(&license));
        let last_changed = created.max(upgraded);
        ObservedLicense {
            id: license.id,
            name: license.name,
            status: license.status,
            plan: license.plan_id,
            standalone_keys: license.number_of_standalone_keys,
            version,
            key_types: license.keys.iter().map(|k| k.key_type_id).collect(),
            last_changed,
            deletion_date: license.deletion_date,
        }
    }
}

/// "9.0" -> (9, 0), for comparing versions as numbers.
pub fn version_order(version: &str) -> (u32, u32) {
    let (whole, tenth) = version.split_once('.').unwrap_or((version, "0"));
    (whole.parse().unwrap_or(0), tenth.parse().unwrap_or(0))
}

/// The Tokyo calendar day of an RFC 3339 time.
pub fn tokyo_date(text: &str) -> Option<Date> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.to_offset(TOKYO).date())
}

/// The attributes a live license has now.
pub fn observed_attributes(observed: &ObservedLicense, tenant: &str) -> LicenseAttributes {
    LicenseAttributes {
        tenant: tenant.to_string(),
        plan: observed.plan,
        standalone_keys: observed.standalone_keys,
        version: observed.version.clone().unwrap_or_default(),
        key_types: observed.key_types.iter().copied().collect(),
    }
}

/// The declared licenses, by the id of their tenant: made once per
/// refresh, so that each tenant's listing looks at its own licenses only.
pub fn declared_by_tenant(
    desired: &Desired,
) -> HashMap<String, Vec<(&Resource, &ArcserveLicenseSpec)>> {
    let tenants = ecl_tenant::declared(desired);
    let mut by_tenant: HashMap<String, Vec<_>> = HashMap::new();
    for (resource, spec) in desired.specs::<ArcserveLicenseSpec>() {
        let Some(tenant) = tenants.get(spec.tenant.as_str()) else {
            continue;
        };
        let id = tenant.reference.tenant_id.as_str();
        match by_tenant.get_mut(id) {
            Some(licenses) => licenses.push((resource, spec)),
            None => {
                by_tenant.insert(id.to_owned(), vec![(resource, spec)]);
            }
        }
    }
    by_tenant
}

/// Whether any of a tenant's declared `licenses` has another version
/// live: only then does refresh read the tenant's orders (for the upgrade
/// rules).
pub fn version_change_in_sight(
    licenses: &[(&Resource, &ArcserveLicenseSpec)],
    state: &State,
    live: &TenantLive,
) -> bool {
    licenses.iter().any(|(resource, spec)| {
        let record = state.get(&resource.address);
        let by_state = record
            .and_then(|r| r.remote_id.as_deref())
            .and_then(|id| id.parse().ok())
            .and_then(|id| live.by_id(id));
        let recorded = record
            .and_then(|r| r.attributes.get("version"))
            .and_then(Value::as_str);
        by_state
            .or_else(|| live.by_name(&resource.metadata.name))
            .is_some_and(|o| {
                let now = match (o.key_types.is_empty(), recorded) {
                    (true, Some(recorded)) => Some(recorded),
                    _ => o.version.as_deref(),
                };
                now != Some(spec.version.as_str())
            })
    })
}

/// The tenants a plan must refresh: those of the declared licenses and
/// those of the licenses in the state.
pub fn tenants_in_play(desired: &Desired, state: &State) -> Vec<TenantRef> {
    let declared = ecl_tenant::declared(desired);
    let mut tenants: BTreeMap<String, TenantRef> = BTreeMap::new();
    for resource in &desired.resources {
        if let Spec::ArcserveLicense(spec) = &resource.spec
            && let Some(tenant) = declared.get(spec.tenant.as_str())
        {
            let reference = tenant.reference.clone();
            tenants
                .entry(reference.tenant_id.clone())
                .or_insert(reference);
        }
    }
    for (_, record) in state.of_kind(Kind::ArcserveLicense) {
        if record.scope.tenant_id.is_some() {
            let reference = tenant_ref_from_state(record);
            tenants
                .entry(reference.tenant_id.clone())
                .or_insert(reference);
        }
    }
    tenants.into_values().collect()
}

/// Whether a tenant's orders must be read, given what was listed.
pub type WantsOrders<'a> = &'a (dyn Fn(&str, &TenantLive) -> bool + Sync);

/// Reads the licenses of every tenant in `tenants` (deduplicated by id).
pub async fn refresh(
    tenants: &[TenantRef],
    clients: &EclClients,
    wants_orders: WantsOrders<'_>,
) -> Result<LicensesLive, ApiError> {
    let mut unique: BTreeMap<&str, &TenantRef> = BTreeMap::new();
    for tenant in tenants {
        unique.entry(tenant.tenant_id.as_str()).or_insert(tenant);
    }
    let reads = unique.into_values().map(|tenant| async move {
        let client = clients.arcserve_for(
            &tenant.tenant_id,
            &tenant.region,
            tenant.endpoint.as_deref(),
        )?;
        let (listing, plans) = tokio::try_join!(client.list_licenses_dated(), client.list_plans())?;
        let now = listing.server_time.unwrap_or_else(OffsetDateTime::now_utc);
        let licenses = listing.read.items;
        for bad in &listing.read.unreadable {
            tracing::warn!(
                "a license of tenant {} could not be read and is left alone: {}",
                tenant.name,
                bad.describe()
            );
        }
        let first = TenantLive::from_api(now, licenses.clone(), plans.clone(), None);
        let mut live = if wants_orders(&tenant.tenant_id, &first) {
            let orders = client.list_orders().await?;
            TenantLive::from_api(now, licenses, plans, Some(&orders))
        } else {
            first
        };
        live.unreadable = listing.read.unreadable;
        tracing::info!(
            "refreshed tenant {} ({}): {} licenses",
            tenant.name,
            tenant.tenant_id,
            live.licenses.len()
        );
        Ok::<_, ApiError>((tenant.tenant_id.clone(), live))
    });
    Ok(LicensesLive {
        tenants: try_join_all(reads).await?.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_find_the_first_by_id_and_skip_licenses_being_deleted_by_name() {
        let license = |id: u128, name: &str, status: &str| ObservedLicense {
            id: Uuid::from_u128(id),
            name: name.into(),
            status: status.into(),
            plan: Uuid::nil(),
            standalone_keys: 1,
            version: None,
            key_types: BTreeSet::new(),
            last_changed: None,
            deletion_date: None,
        };
        let live = TenantLive::new(
            time::macros::date!(2026 - 11 - 26),
            vec![
                license(1, "a", "Deleting"),
                license(2, "a", "Active"),
                license(3, "b", "Deleting"),
                license(2, "c", "Active"),
            ],
            Vec::new(),
            None,
        );
        assert_eq!(live.by_id(Uuid::from_u128(1)).unwrap().name, "a");
        assert_eq!(live.by_id(Uuid::from_u128(2)).unwrap().name, "a");
        assert_eq!(live.by_name("a").unwrap().id, Uuid::from_u128(2));
        assert_eq!(live.by_name("b"), None);
        assert_eq!(live.by_name("c").unwrap().id, Uuid::from_u128(2));
        assert_eq!(live.by_id(Uuid::from_u128(9)), None);
    }

    #[test]
    fn tokyo_days_start_at_15_utc() {
        assert_eq!(
            tokyo_date("2026-11-26T14:59:59Z").unwrap().to_string(),
            "2026-11-26"
        );
        assert_eq!(
            tokyo_date("2026-11-26T15:00:00Z").unwrap().to_string(),
            "2026-11-27"
        );
        assert_eq!(tokyo_date("yesterday"), None);
    }

    #[test]
    fn versions_compare_as_numbers() {
        assert!(version_order("10.0") > version_order("9.9"));
        assert!(version_order("9.1") > version_order("9.0"));
    }
}
