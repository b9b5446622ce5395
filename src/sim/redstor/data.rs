//! The Redstor section of the simulator's store: companies, subscriptions,
//! access tokens and the assertion ids already used. Wire shapes live in the
//! handler modules; this is only what the simulator remembers.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// The name of the seeded root company.
pub const ROOT_NAME: &str = "Entitle Demo MSP";

/// How long a trial lasts.
pub const TRIAL_DAYS: i64 = 30;

/// How long after its creation a subscription first holds protected data
/// (its first backup); removing it after that is queued (202).
pub const FIRST_BACKUP_AFTER: time::Duration = time::Duration::HOUR;

/// Everything the simulator knows about RedAPI.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RedstorData {
    /// In creation order; the root has no parent.
    #[serde(default)]
    companies: Vec<Company>,
    /// In creation order.
    #[serde(default)]
    subscriptions: Vec<Subscription>,
    /// Access tokens by the base64url SHA-256 of the token (the token itself
    /// is never kept, so a dump does not leak it).
    #[serde(default)]
    pub tokens: BTreeMap<String, AccessToken>,
    /// Client assertion `jti`s already used, until their `exp`.
    #[serde(default)]
    pub seen_jtis: BTreeMap<String, OffsetDateTime>,
    /// When [`RedstorData::purge`] next has anything to forget; `None`
    /// when not known (after a load, or since something that expires was
    /// added), and then the next purge looks at everything. Every request
    /// purges: without this, each one went over every subscription.
    #[serde(skip)]
    purge_due: Option<PurgeDue>,
    /// Where each company and each company's subscriptions are, made on
    /// the first lookup, kept up to date by what is added and made again
    /// after anything else changes. Without it, every request went over
    /// the whole account.
    #[serde(skip)]
    index: OnceLock<Index>,
}

/// Positions in `RedstorData::companies` and `RedstorData::subscriptions`,
/// each list in creation order.
#[derive(Clone, Debug, Default)]
struct Index {
    company_at: HashMap<Uuid, usize>,
    children: HashMap<Uuid, Vec<usize>>,
    subscriptions_of: HashMap<Uuid, Vec<usize>>,
}

impl Index {
    fn of(companies: &[Company], subscriptions: &[Subscription]) -> Self {
        let mut index = Index::default();
        for (at, company) in companies.iter().enumerate() {
            index.company_added(company, at);
        }
        for (at, subscription) in subscriptions.iter().enumerate() {
            index.subscription_added(subscription, at);
        }
        index
    }

    fn company_added(&mut self, company: &Company, at: usize) {
        self.company_at.entry(company.id).or_insert(at);
        if let Some(parent) = company.parent {
            self.children.entry(parent).or_default().push(at);
        }
    }

    fn subscription_added(&mut self, subscription: &Subscription, at: usize) {
        self.subscriptions_of
            .entry(subscription.company)
            .or_default()
            .push(at);
    }
}

/// The earliest expiry among what [`RedstorData::purge`] forgets, by each
/// clock (`None`: nothing expires by it).
#[derive(Clone, Copy, Debug)]
struct PurgeDue {
    simulated: Option<OffsetDateTime>,
    wall: Option<OffsetDateTime>,
}

impl PurgeDue {
    fn passed(&self, now: OffsetDateTime, wall: OffsetDateTime) -> bool {
        self.simulated.is_some_and(|due| due <= now) || self.wall.is_some_and(|due| due <= wall)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CompanyType {
    Partner,
    Customer,
}

impl CompanyType {
    pub fn as_str(self) -> &'static str {
        match self {
            CompanyType::Partner => "Partner",
            CompanyType::Customer => "Customer",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Company {
    pub id: Uuid,
    pub name: String,
    pub enabled: bool,
    #[serde(rename = "type")]
    pub kind: CompanyType,
    pub parent: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// How a subscription was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Plan {
    /// Bought outright (`trialStatus: NotUsed`).
    Paid,
    /// A trial (`Active`, then `Expired` after [`TRIAL_DAYS`]).
    Trial,
    /// A trial converted to a paid subscription.
    Converted,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Subscription {
    pub id: Uuid,
    pub company: Uuid,
    pub product_id: u32,
    pub edition_id: u32,
    pub plan: Plan,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Set by a queued removal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removal: Option<Removal>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Removal {
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub gone_at: OffsetDateTime,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccessToken {
    pub root: Uuid,
    pub scopes: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl Subscription {
    pub fn trial_ends(&self) -> OffsetDateTime {
        self.created_at + time::Duration::days(TRIAL_DAYS)
    }

    /// `trialStatus` at `now`.
    pub fn trial_status(&self, now: OffsetDateTime) -> &'static str {
        match self.plan {
            Plan::Paid => "NotUsed",
            Plan::Converted => "Converted",
            Plan::Trial if now >= self.trial_ends() => "Expired",
            Plan::Trial => "Active",
        }
    }

    /// `isActive` at `now`: not being removed, not an expired trial.
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        self.removal.is_none() && self.trial_status(now) != "Expired"
    }

    /// Whether it was in use at `t` (created, not yet removed, trial not
    /// over): what consumption and job reports count.
    pub fn in_use_at(&self, t: OffsetDateTime) -> bool {
        self.created_at <= t
            && self.removal.as_ref().is_none_or(|r| t < r.requested_at)
            && (self.plan != Plan::Trial || t < self.trial_ends())
    }

    /// Whether it holds protected data at `t`: a paid (or converted)
    /// subscription after its first backup. Trials never hold data that
    /// delays a removal.
    pub fn has_protected_data(&self, t: OffsetDateTime) -> bool {
        self.plan != Plan::Trial && t >= self.created_at + FIRST_BACKUP_AFTER
    }
}

impl RedstorData {
    fn index(&self) -> &Index {
        self.index
            .get_or_init(|| Index::of(&self.companies, &self.subscriptions))
    }

    /// Where the company `id` is in `companies`.
    fn position(&self, id: Uuid) -> Option<usize> {
        self.index().company_at.get(&id).copied()
    }

    /// Forgets the index; the next lookup makes it again.
    fn reindex(&mut self) {
        self.index = OnceLock::new();
    }

    pub fn add_company(&mut self, company: Company) {
        let at = self.companies.len();
        if let Some(index) = self.index.get_mut() {
            index.company_added(&company, at);
        }
        self.companies.push(company);
    }

    /// Enables or disables a company; whether that changed it (`None`: no
    /// such company).
    pub fn set_enabled(&mut self, id: Uuid, enabled: bool) -> Option<bool> {
        let at = self.position(id)?;
        let company = &mut self.companies[at];
        let changed = company.enabled != enabled;
        company.enabled = enabled;
        Some(changed)
    }

    /// Moves a company below `parent`; whether it moved (`None`: no such
    /// company).
    pub fn reassign(&mut self, id: Uuid, parent: Uuid) -> Option<bool> {
        let at = self.position(id)?;
        let company = &mut self.companies[at];
        if company.parent == Some(parent) {
            return Some(false);
        }
        company.parent = Some(parent);
        self.reindex();
        Some(true)
    }

    pub fn remove_company(&mut self, id: Uuid) {
        self.companies.retain(|c| c.id != id);
        self.reindex();
    }

    pub fn add_subscription(&mut self, subscription: Subscription) {
        let at = self.subscriptions.len();
        if let Some(index) = self.index.get_mut() {
            index.subscription_added(&subscription, at);
        }
        self.subscriptions.push(subscription);
    }

    /// Where the subscription `id` of `company` is.
    pub fn subscription_at(&self, company: Uuid, id: Uuid) -> Option<usize> {
        self.index()
            .subscriptions_of
            .get(&company)?
            .iter()
            .copied()
            .find(|&at| self.subscriptions[at].id == id)
    }

    /// The subscription at `at` ([`RedstorData::subscription_at`]), to
    /// change anything but its company.
    pub fn subscription_mut(&mut self, at: usize) -> &mut Subscription {
        &mut self.subscriptions[at]
    }

    pub fn remove_subscription(&mut self, at: usize) {
        self.subscriptions.remove(at);
        self.reindex();
    }

    /// The root company, if seeded.
    pub fn root(&self) -> Option<&Company> {
        self.companies.iter().find(|c| c.parent.is_none())
    }

    /// Seeds the root company when there is none, with `id` if given (a
    /// reset keeps the root's id).
    pub fn seed(&mut self, id: Option<Uuid>, now: OffsetDateTime) -> bool {
        if self.root().is_some() {
            return false;
        }
        self.companies.insert(
            0,
            Company {
                id: id.unwrap_or_else(Uuid::new_v4),
                name: ROOT_NAME.to_string(),
                enabled: true,
                kind: CompanyType::Partner,
                parent: None,
                created_at: now,
            },
        );
        self.reindex();
        true
    }

    /// Forgets what is over at `now`: removed subscriptions, expired tokens
    /// and assertion ids. Says whether anything changed.
    pub fn purge(&mut self, now: OffsetDateTime) -> bool {
        // Assertions are signed by the client's wall clock, not the
        // simulated one.
        let wall = OffsetDateTime::now_utc();
        if self.purge_due.is_some_and(|due| !due.passed(now, wall)) {
            return false;
        }
        let before = (
            self.subscriptions.len(),
            self.tokens.len(),
            self.seen_jtis.len(),
        );
        self.subscriptions
            .retain(|s| s.removal.as_ref().is_none_or(|r| r.gone_at > now));
        if self.subscriptions.len() != before.0 {
            self.reindex();
        }
        self.tokens.retain(|_, t| t.expires_at > now);
        self.seen_jtis.retain(|_, exp| *exp > wall);
        let removals = self
            .subscriptions
            .iter()
            .filter_map(|s| Some(s.removal.as_ref()?.gone_at));
        let tokens = self.tokens.values().map(|t| t.expires_at);
        self.purge_due = Some(PurgeDue {
            simulated: removals.chain(tokens).min(),
            wall: self.seen_jtis.values().min().copied(),
        });
        before
            != (
                self.subscriptions.len(),
                self.tokens.len(),
                self.seen_jtis.len(),
            )
    }

    /// Something that expires was added: the next purge looks at everything.
    pub fn expiring_added(&mut self) {
        self.purge_due = None;
    }

    pub fn company(&self, id: Uuid) -> Option<&Company> {
        let at = self.position(id)?;
        self.companies.get(at)
    }

    /// Whether `id` is `ancestor` or below it.
    pub fn is_within(&self, id: Uuid, ancestor: Uuid) -> bool {
        let mut current = Some(id);
        for _ in 0..=self.companies.len() {
            match current {
                Some(c) if c == ancestor => return true,
                Some(c) => current = self.company(c).and_then(|c| c.parent),
                None => return false,
            }
        }
        false
    }

    /// Direct customers of `id`, in creation order.
    pub fn children(&self, id: Uuid) -> Vec<&Company> {
        self.children_at(id).map(|at| &self.companies[at]).collect()
    }

    fn children_at(&self, id: Uuid) -> impl DoubleEndedIterator<Item = usize> + '_ {
        self.index()
            .children
            .get(&id)
            .into_iter()
            .flatten()
            .copied()
    }

    /// Every company below `id`, depth first in creation order (pre-order).
    pub fn descendants(&self, id: Uuid) -> Vec<&Company> {
        let mut out = Vec::new();
        let mut stack: Vec<usize> = self.children_at(id).rev().collect();
        while let Some(at) = stack.pop() {
            if out.len() > self.companies.len() {
                break;
            }
            let company = &self.companies[at];
            out.push(company);
            stack.extend(self.children_at(company.id).rev());
        }
        out
    }

    /// The subscriptions of `company`, in creation order.
    pub fn subscriptions_of(&self, company: Uuid) -> Vec<&Subscription> {
        let positions = self.index().subscriptions_of.get(&company);
        positions
            .into_iter()
            .flatten()
            .map(|&at| &self.subscriptions[at])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn company(data: &mut RedstorData, name: &str, parent: Uuid) -> Uuid {
        let id = Uuid::new_v4();
        data.add_company(Company {
            id,
            name: name.to_string(),
            enabled: true,
            kind: CompanyType::Partner,
            parent: Some(parent),
            created_at: OffsetDateTime::UNIX_EPOCH,
        });
        id
    }

    #[test]
    fn descendants_are_depth_first_in_creation_order() {
        let mut data = RedstorData::default();
        data.seed(None, OffsetDateTime::UNIX_EPOCH);
        let root = data.root().unwrap().id;
        let a = company(&mut data, "a", root);
        let b = company(&mut data, "b", root);
        company(&mut data, "a1", a);
        company(&mut data, "b1", b);
        company(&mut data, "a2", a);
        assert_eq!(names(data.descendants(root)), ["a", "a1", "a2", "b", "b1"]);
        assert!(data.is_within(a, root) && !data.is_within(root, a));
        assert!(!data.seed(None, OffsetDateTime::UNIX_EPOCH));
    }

    #[test]
    fn purge_forgets_what_is_over_and_looks_again_only_when_something_is_due() {
        let start = OffsetDateTime::UNIX_EPOCH;
        let mut data = RedstorData::default();
        let token = |expires_at| AccessToken {
            root: Uuid::nil(),
            scopes: Vec::new(),
            expires_at,
        };
        data.tokens
            .insert("a".into(), token(start + time::Duration::seconds(10)));
        data.expiring_added();
        assert!(!data.purge(start), "nothing is over yet");
        assert!(!data.purge(start + time::Duration::seconds(9)));
        // Added behind the purge's back: not looked at until something is due.
        data.tokens.insert("b".into(), token(start));
        assert!(!data.purge(start + time::Duration::seconds(9)));
        data.expiring_added();
        assert!(data.purge(start + time::Duration::seconds(9)), "b is over");
        assert!(data.tokens.contains_key("a") && !data.tokens.contains_key("b"));
        assert!(data.purge(start + time::Duration::seconds(10)), "a is over");
        assert!(data.tokens.is_empty());
    }

    fn subscription(data: &mut RedstorData, company: Uuid) -> Uuid {
        let id = Uuid::new_v4();
        data.add_subscription(Subscription {
            id,
            company,
            product_id: 1,
            edition_id: 1,
            plan: Plan::Paid,
            created_at: OffsetDateTime::UNIX_EPOCH,
            removal: None,
        });
        id
    }

    fn names(companies: Vec<&Company>) -> Vec<&str> {
        companies.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn lookups_follow_every_change() {
        let mut data = RedstorData::default();
        data.seed(None, OffsetDateTime::UNIX_EPOCH);
        let root = data.root().unwrap().id;
        let a = company(&mut data, "a", root);
        let b = company(&mut data, "b", root);
        assert_eq!(names(data.descendants(root)), ["a", "b"]);
        // Added after the first lookup made the index.
        let a1 = company(&mut data, "a1", a);
        assert_eq!(names(data.descendants(root)), ["a", "a1", "b"]);
        assert_eq!(data.reassign(a1, b), Some(true));
        assert_eq!(data.set_enabled(a1, false), Some(true));
        assert_eq!(names(data.descendants(root)), ["a", "b", "a1"]);
        assert!(data.is_within(a1, b) && !data.is_within(a1, a));
        assert!(!data.company(a1).unwrap().enabled);

        let first = subscription(&mut data, b);
        let second = subscription(&mut data, b);
        let of_a1 = subscription(&mut data, a1);
        assert_eq!(data.subscriptions_of(b).len(), 2);
        assert_eq!(data.subscription_at(a1, first), None, "b's, not a1's");
        let at = data.subscription_at(b, first).unwrap();
        data.remove_subscription(at);
        let left: Vec<Uuid> = data.subscriptions_of(b).iter().map(|s| s.id).collect();
        assert_eq!(left, [second]);
        let at = data.subscription_at(a1, of_a1).unwrap();
        assert_eq!(data.subscription_mut(at).id, of_a1);

        // Removing a company moves the ones after it.
        data.remove_company(a);
        assert!(data.company(a).is_none());
        assert_eq!(data.company(b).unwrap().name, "b");
        assert_eq!(data.company(a1).unwrap().name, "a1");
        assert_eq!(names(data.children(b)), ["a1"]);
    }
}
