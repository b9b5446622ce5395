//! The policy's `driftIgnore`: unmanaged objects a team keeps outside
//! entitle on purpose, left out of drift.

use super::evaluate::Containment;
use super::spec::{DriftIgnore, Policy, Protect};
use crate::manifest::{Address, Desired, Kind};
use crate::report::drift::Unmanaged;
use crate::state::State;

impl Policy {
    /// Whether `driftIgnore` lists `item`.
    pub fn ignores_unmanaged(&self, desired: &Desired, prior: &State, item: &Unmanaged) -> bool {
        let places = Containment { desired, prior };
        self.spec
            .drift_ignore
            .iter()
            .any(|rule| rule.matches(item, &places))
    }
}

impl DriftIgnore {
    fn matches(&self, item: &Unmanaged, places: &Containment<'_>) -> bool {
        let kind = self
            .kind
            .as_deref()
            .is_none_or(|kind| kind.parse::<Kind>().is_ok_and(|kind| kind == item.kind));
        let name = self.name.as_deref().is_none_or(|glob| {
            Protect::matcher(glob).is_ok_and(|matcher| matcher.is_match(&item.name))
        });
        let inside = |key: &str, container: &Option<String>| {
            container.as_deref().is_none_or(|name| {
                let Some(kind) = Kind::of_container_key(key) else {
                    return false;
                };
                let wanted = Address::new(kind, name);
                item.container
                    .as_ref()
                    .is_some_and(|at| places.within(at, &wanted))
            })
        };
        kind && name
            && inside("tenant", &self.tenant)
            && inside("redstorCompany", &self.redstor_company)
    }
}
