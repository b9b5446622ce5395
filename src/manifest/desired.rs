//! The desired state: every resource the manifests declare, typed per kind.

use super::address::Address;
use super::diagnostic::SourceLocation;
use super::metadata::Metadata;
use crate::policy::Policy;
use crate::resources::{Kind, Spec};

/// One declared resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub address: Address,
    pub metadata: Metadata,
    pub spec: Spec,
    /// Where the document that declares it starts.
    pub source: SourceLocation,
}

/// Every declared resource, sorted by address (no two share one), and the
/// policy that governs them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Desired {
    pub resources: Vec<Resource>,
    pub policy: Option<Policy>,
    /// The paths they were loaded from, as given (for commands in hints).
    pub paths: Vec<std::path::PathBuf>,
}

impl Desired {
    /// Sorts `resources` by address; no policy. The order is found on
    /// indexes and each resource moved once: a resource is large.
    pub fn new(resources: Vec<Resource>) -> Self {
        let mut order: Vec<usize> = (0..resources.len()).collect();
        order.sort_by(|&a, &b| resources[a].address.cmp(&resources[b].address));
        let mut slots: Vec<Option<Resource>> = resources.into_iter().map(Some).collect();
        let resources = order
            .into_iter()
            .filter_map(|at| slots.get_mut(at).and_then(Option::take))
            .collect();
        Desired {
            resources,
            policy: None,
            paths: Vec::new(),
        }
    }

    /// The resources of the kind whose spec is `S`, with their specs.
    pub fn specs<S: crate::resources::KindSpec + 'static>(
        &self,
    ) -> impl Iterator<Item = (&Resource, &S)> {
        self.resources
            .iter()
            .filter_map(|resource| Some((resource, S::spec_of(&resource.spec)?)))
    }

    /// `entitle import ADDRESS ID PATHS...`, ready to paste: the paths
    /// these manifests were loaded from.
    pub fn import_command(&self, address: &Address, id: &str) -> String {
        crate::hint::command(&["import", &address.to_string(), id], &self.paths)
    }

    pub fn get(&self, address: &Address) -> Option<&Resource> {
        self.resources
            .binary_search_by(|resource| resource.address.cmp(address))
            .ok()
            .and_then(|index| self.resources.get(index))
    }

    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &Resource> {
        self.resources
            .iter()
            .filter(move |resource| resource.address.kind == kind)
    }
}
