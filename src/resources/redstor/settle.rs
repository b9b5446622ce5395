//! The companies the pages of the tree read so far settle, kept up to date
//! page by page at the cost of the page, while refresh reads the rest. The
//! state's records settle from the first page read once they are parsed;
//! the manifests' names join whenever the manifests are loaded, before,
//! between or after the pages, so that the tree's reading starts as soon
//! as the state file's header says a Redstor record is in it.
//!
//! Only bindings no later page can change are made: an id when it is read,
//! a name to the first company of that name under the parent (pages keep
//! the tree's order), and a declared company by name only when its record
//! cannot bind it on a later page. Each is one [`bound_companies`] makes
//! from the whole tree, and the whole tree settles all of them. Working
//! them out again from the start after each page made reading a tree of
//! 10,000 companies (100 pages) quadratic.
//!
//! [`bound_companies`]: super::plan::bound_companies

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use uuid::Uuid;

use super::RedstorCompanySpec;
use super::observe::subscribes_root;
use super::plan::{company_address, may_bind_later};
use crate::api::redstor::Company;
use crate::manifest::{Address, Desired};
use crate::resources::Kind;
use crate::state::{State, Status};

/// A company's place in the tree: its parent and its name in lower case
/// (RedAPI compares names without case).
type Place = (Uuid, String);

/// The bindings settled by the pages read so far, and what each new page
/// settles.
pub struct Settling<'a> {
    root: Uuid,
    state: &'a State,
    /// Recorded companies by their recorded id.
    by_recorded_id: HashMap<Uuid, Vec<&'a Address>>,
    /// Recorded companies whose create was not answered, by the place they
    /// were created at.
    lost: HashMap<Place, Vec<&'a Address>>,
    /// Declared companies a name may bind, by their parent's address
    /// (`None`: the root), then by their name in lower case.
    by_name: HashMap<Option<Address>, HashMap<String, Vec<&'a Address>>>,
    /// The first company read at each place.
    first_at: HashMap<Place, Uuid>,
    bound: BTreeMap<Address, Uuid>,
    /// The addresses bound to each company.
    bound_to: HashMap<Uuid, Vec<Address>>,
    /// Companies recorded as holding a subscription.
    holders: HashSet<Uuid>,
    /// Companies whose subscriptions are wanted, as settled so far.
    wanted: BTreeSet<Uuid>,
}

impl<'a> Settling<'a> {
    /// Nothing read yet but the root, and nothing declared yet: what the
    /// state alone settles.
    pub fn new(state: &'a State, root: &Company) -> Self {
        let mut settling = Settling {
            root: root.company_id,
            state,
            by_recorded_id: HashMap::new(),
            lost: HashMap::new(),
            by_name: HashMap::new(),
            first_at: HashMap::new(),
            bound: BTreeMap::new(),
            bound_to: HashMap::new(),
            holders: HashSet::new(),
            wanted: BTreeSet::new(),
        };
        settling.index_records(state);
        settling.arrived(root, None);
        settling
    }

    fn index_records(&mut self, state: &'a State) {
        for (address, record) in state.of_kind(Kind::RedstorCompany) {
            let recorded_id = record.remote_id.as_deref().and_then(|id| id.parse().ok());
            if let Some(id) = recorded_id {
                self.by_recorded_id.entry(id).or_default().push(address);
            } else if record.remote_id.is_none()
                && let Some(parent) = record.scope.company()
            {
                let place = (parent, record.natural_key.to_lowercase());
                self.lost.entry(place).or_default().push(address);
            }
        }
        for (_, record) in state.of_kind(Kind::RedstorSubscription) {
            self.holders.extend(record.scope.company());
        }
    }

    /// Takes in the manifests, once loaded (before, between or after the
    /// pages): binds the declared companies whose place the pages read so
    /// far settle. The companies it newly makes wanted.
    pub fn declare(&mut self, desired: &'a Desired) -> Vec<Uuid> {
        let mut new = Vec::new();
        if subscribes_root(desired) && self.wanted.insert(self.root) {
            new.push(self.root);
        }
        self.index_declarations(desired);
        let to_bind = self.declared_at_places_read();
        self.bind_all(to_bind, &mut new);
        new
    }

    /// The declared companies a name may bind while pages are still to
    /// come: those without a record that binds them, or could on a later
    /// page.
    fn index_declarations(&mut self, desired: &'a Desired) {
        for (resource, spec) in desired.specs::<RedstorCompanySpec>() {
            let record = self.state.get(&resource.address);
            if record.is_some_and(|r| r.remote_id.is_some() && r.status == Status::Ready)
                || record.is_some_and(may_bind_later)
            {
                continue;
            }
            let parent = spec.parent.as_deref().map(company_address);
            let name = spec.name_at_redstor(&resource.metadata.name).to_lowercase();
            self.by_name
                .entry(parent)
                .or_default()
                .entry(name)
                .or_default()
                .push(&resource.address);
        }
    }

    /// The declared companies whose parent is bound (or is the root) and
    /// whose place a page already read: each to the first company there.
    fn declared_at_places_read(&self) -> Vec<(Address, Uuid)> {
        let mut to_bind = Vec::new();
        for (parent, names) in &self.by_name {
            let parent_id = match parent {
                None => Some(self.root),
                Some(parent) => self.bound.get(parent).copied(),
            };
            let Some(parent_id) = parent_id else {
                continue;
            };
            for (name, addresses) in names {
                if let Some(&id) = self.first_at.get(&(parent_id, name.clone())) {
                    to_bind.extend(addresses.iter().map(|address| ((*address).clone(), id)));
                }
            }
        }
        to_bind
    }

    /// Takes in the next page of the tree; the companies whose
    /// subscriptions it newly makes wanted.
    pub fn page(&mut self, companies: &[Company]) -> Vec<Uuid> {
        let before = self.wanted.len();
        let mut new = Vec::new();
        for company in companies {
            let place = company
                .parent_company_id
                .map(|parent| (parent, company.company_name.to_lowercase()));
            new.extend(self.arrived(company, place));
        }
        debug_assert_eq!(self.wanted.len(), before + new.len());
        new
    }

    /// The companies wanted so far.
    pub fn wanted(&self) -> &BTreeSet<Uuid> {
        &self.wanted
    }

    /// The bindings settled so far.
    #[cfg(test)]
    pub fn bound(&self) -> &BTreeMap<Address, Uuid> {
        &self.bound
    }

    /// One company read: bound by a recorded id, or, when it is the first
    /// at its place, by the place of a lost create or by a declared name.
    /// The companies it newly makes wanted.
    fn arrived(&mut self, company: &Company, place: Option<Place>) -> Vec<Uuid> {
        let id = company.company_id;
        let mut new = Vec::new();
        if self.holders.contains(&id) && self.wanted.insert(id) {
            new.push(id);
        }
        let mut to_bind: Vec<(Address, Uuid)> = self
            .by_recorded_id
            .get(&id)
            .into_iter()
            .flatten()
            .map(|address| ((*address).clone(), id))
            .collect();
        if let Some(place) = place
            && !self.first_at.contains_key(&place)
        {
            let lost = self.lost.get(&place).into_iter().flatten();
            to_bind.extend(lost.map(|address| ((*address).clone(), id)));
            to_bind.extend(
                self.declared_at(&place)
                    .into_iter()
                    .map(|address| (address, id)),
            );
            self.first_at.insert(place, id);
        }
        self.bind_all(to_bind, &mut new);
        new
    }

    /// The declared companies a name binds to the company first read at
    /// `place`: those named so under a parent bound to the place's parent.
    fn declared_at(&self, (parent, name): &Place) -> Vec<Address> {
        let mut parents: Vec<Option<Address>> = self
            .bound_to
            .get(parent)
            .into_iter()
            .flatten()
            .cloned()
            .map(Some)
            .collect();
        if *parent == self.root {
            parents.push(None);
        }
        parents
            .iter()
            .filter_map(|parent| self.by_name.get(parent)?.get(name))
            .flatten()
            .map(|address| (*address).clone())
            .collect()
    }

    /// Binds each address (the first binding of an address is final), and
    /// then the declared companies below it that pages already read.
    fn bind_all(&mut self, mut to_bind: Vec<(Address, Uuid)>, new: &mut Vec<Uuid>) {
        while let Some((address, id)) = to_bind.pop() {
            if self.bound.contains_key(&address) {
                continue;
            }
            if self.wanted.insert(id) {
                new.push(id);
            }
            for (name, children) in self
                .by_name
                .get(&Some(address.clone()))
                .into_iter()
                .flatten()
            {
                if let Some(&child_id) = self.first_at.get(&(id, name.clone())) {
                    to_bind.extend(children.iter().map(|child| ((*child).clone(), child_id)));
                }
            }
            self.bound_to.entry(id).or_default().push(address.clone());
            self.bound.insert(address, id);
        }
    }
}
