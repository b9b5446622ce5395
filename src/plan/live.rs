//! `Live`: what the APIs said at refresh time, per tenant, in the shape the
//! planner compares against. Built by [`super::refresh`]; a plain value, so
//! the planner stays pure and tests can build one by hand.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime, UtcOffset};
use uuid::Uuid;

use crate::api::arcserve::{License, Order, Plan as CatalogPlan};
use crate::api::redstor::{Company, Product, Subscription};

/// Asia/Tokyo: UTC+9 all year (no daylight saving), the zone of the API's
/// date rules.
pub const TOKYO: UtcOffset = match UtcOffset::from_hms(9, 0, 0) {
    Ok(offset) => offset,
    Err(_) => UtcOffset::UTC,
};

/// Everything refreshed, keyed by tenant id.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Live {
    /// Arcserve UDP licenses, catalog and orders.
    pub tenants: BTreeMap<String, TenantLive>,
    /// Proposals per tenant id and service id.
    #[serde(default)]
    pub proposals: BTreeMap<String, BTreeMap<u32, Vec<ObservedProposal>>>,
    /// The Redstor account, when Redstor resources are in play.
    #[serde(default)]
    pub redstor: Option<RedstorLive>,
}

/// The Redstor account as refresh saw it: the root company, every company
/// below it, the product catalog, and the subscriptions of the companies
/// in play (not of every company).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RedstorLive {
    pub root: Option<Company>,
    /// Every company below the root, at any depth.
    pub companies: Vec<Company>,
    pub products: Vec<Product>,
    /// Per company id, for the companies that were read.
    pub subscriptions: BTreeMap<Uuid, Vec<Subscription>>,
    /// Where each company is in `companies`, made on the first lookup (a
    /// plan looks up every company and its parent's children). `companies`
    /// is not changed after the first lookup.
    #[serde(skip)]
    index: OnceLock<CompanyIndex>,
}

/// Positions in `RedstorLive::companies`: by id, by parent and lower-case
/// name (the first of each), and the children of each parent.
#[derive(Clone, Debug, Default)]
struct CompanyIndex {
    by_id: HashMap<Uuid, usize>,
    by_parent_and_name: HashMap<(Uuid, String), usize>,
    children: HashMap<Uuid, Vec<usize>>,
}

impl RedstorLive {
    /// The root company's id (nil when the account has none, which refresh
    /// refuses).
    pub fn root_id(&self) -> Uuid {
        self.root.as_ref().map(|c| c.company_id).unwrap_or_default()
    }

    /// What refresh read: the root, every company below it, the catalog.
    pub fn new(root: Option<Company>, companies: Vec<Company>, products: Vec<Product>) -> Self {
        RedstorLive {
            root,
            companies,
            products,
            ..RedstorLive::default()
        }
    }

    fn index(&self) -> &CompanyIndex {
        self.index.get_or_init(|| {
            let mut index = CompanyIndex::default();
            for (at, company) in self.companies.iter().enumerate() {
                index.by_id.entry(company.company_id).or_insert(at);
                if let Some(parent) = company.parent_company_id {
                    index
                        .by_parent_and_name
                        .entry((parent, company.company_name.to_lowercase()))
                        .or_insert(at);
                    index.children.entry(parent).or_default().push(at);
                }
            }
            index
        })
    }

    /// A company of the tree, the root included.
    pub fn company(&self, id: Uuid) -> Option<&Company> {
        match &self.root {
            Some(root) if root.company_id == id => Some(root),
            _ => self.index().by_id.get(&id).map(|&at| &self.companies[at]),
        }
    }

    /// The company called `name` (case-insensitively, as RedAPI compares)
    /// directly below `parent`.
    pub fn child_named(&self, parent: Uuid, name: &str) -> Option<&Company> {
        self.index()
            .by_parent_and_name
            .get(&(parent, name.to_lowercase()))
            .map(|&at| &self.companies[at])
    }

    /// The companies directly below `parent`.
    pub fn children(&self, parent: Uuid) -> impl Iterator<Item = &Company> {
        self.index()
            .children
            .get(&parent)
            .into_iter()
            .flatten()
            .map(|&at| &self.companies[at])
    }

    /// The subscriptions of a company, when they were read.
    pub fn subscriptions_of(&self, company: Uuid) -> Option<&[Subscription]> {
        self.subscriptions.get(&company).map(Vec::as_slice)
    }
}

impl Live {
    /// The proposals of a service in a tenant, when they were refreshed.
    pub fn proposals_of(&self, tenant_id: &str, service_id: u32) -> Option<&[ObservedProposal]> {
        self.proposals
            .get(tenant_id)
            .and_then(|services| services.get(&service_id))
            .map(Vec::as_slice)
    }
}

/// A proposal as the planner sees it: its rows spelt in English, whatever
/// language it was made in, so that rows compare across languages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObservedProposal {
    pub order_id: String,
    pub service_id: u32,
    pub status_id: u32,
    /// `ja` / `en`, from the document's `Language`.
    pub language: Option<String>,
    pub customer_email: Option<String>,
    pub models: Vec<crate::resources::proposal::Model>,
    /// Why the document could not be read, when it could not.
    pub problem: Option<String>,
}

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
    /// Where each license is in `licenses`, by id and by name, made on the
    /// first lookup (a plan looks up every license: a scan each time would
    /// be quadratic). `licenses` is not changed after construction.
    #[serde(skip)]
    index: OnceLock<LicenseIndex>,
}

/// Positions in `TenantLive::licenses`: the first license of each id, and
/// the first of each name that is not being deleted.
#[derive(Clone, Debug, Default)]
struct LicenseIndex {
    by_id: HashMap<Uuid, usize>,
    by_name: HashMap<String, usize>,
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
            index: OnceLock::new(),
        }
    }

    fn index(&self) -> &LicenseIndex {
        self.index.get_or_init(|| {
            let mut index = LicenseIndex::default();
            for (at, license) in self.licenses.iter().enumerate() {
                index.by_id.entry(license.id).or_insert(at);
                if license.status != "Deleting" {
                    index.by_name.entry(license.name.clone()).or_insert(at);
                }
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
        let mut last_upgrade: HashMap<Uuid, Date> = HashMap::new();
        let has_upgrade_order =
            orders.map(|orders| orders.iter().any(|o| o.order_type == "upgrade_version"));
        for order in orders
            .unwrap_or_default()
            .iter()
            .filter(|o| o.order_type == "upgrade_version")
        {
            let Some(day) = tokyo_date(&order.created_at) else {
                continue;
            };
            for id in &order.license_ids {
                let entry = last_upgrade.entry(*id).or_insert(day);
                *entry = (*entry).max(day);
            }
        }
        let licenses = licenses
            .into_iter()
            .map(|license| ObservedLicense::from_api(license, &plans, &last_upgrade))
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

    pub fn plan(&self, id: Uuid) -> Option<&CatalogPlan> {
        self.plans.iter().find(|p| p.id == id)
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
}

impl ObservedLicense {
    fn from_api(
        license: License,
        plans: &[CatalogPlan],
        last_upgrade: &HashMap<Uuid, Date>,
    ) -> Self {
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
        let last_changed = match (created, last_upgrade.get(&license.id)) {
            (Some(c), Some(u)) => Some(c.max(*u)),
            (c, u) => c.or(u.copied()),
        };
        ObservedLicense {
            id: license.id,
            name: license.name,
            status: license.status,
            plan: license.plan_id,
            standalone_keys: license.number_of_standalone_keys,
            version,
            key_types: license.keys.iter().map(|k| k.key_type_id).collect(),
            last_changed,
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
