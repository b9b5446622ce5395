//! The kinds of resource `entitle` manages, and the providers that manage
//! them: one provider per API family, one folder each, split by job
//! (`observe` what refresh reads, `plan`, `apply`, `operation`, `import`,
//! `drift`), behind the [`Provider`] trait.
//!
//! `kinds!` declares the kinds (their specs and schemas), `providers!` the
//! providers (their part of `Live`, of `Operation`, and the dispatch from
//! the core); `Kind::provider` says which provider manages which kind.
//! ARCHITECTURE.md, "Adding a kind", lists every file a new kind touches.

pub mod provider;
mod registry;
mod schema_types;
pub mod text_rules;

pub mod arcserve_license;
pub mod ecl_tenant;
pub mod proposal;
pub mod proposal_catalog;
pub mod redstor;

pub use arcserve_license::ArcserveLicenseSpec;
pub use ecl_tenant::{EclTenantSpec, Region, UpgradeContact};
pub use proposal::ProposalSpec;
pub use provider::Provider;
pub use redstor::{RedstorCompanySpec, RedstorSubscriptionSpec};
pub use registry::{
    AcrossProblem, DeclaredSpec, KindSpec, Reference, SpecOf, SpecProblem, SpecVisitor,
    UnknownKind, text_field,
};

registry::kinds! {
    EclTenant => EclTenantSpec,
    ArcserveLicense => ArcserveLicenseSpec,
    Proposal => ProposalSpec,
    RedstorCompany => RedstorCompanySpec,
    RedstorSubscription => RedstorSubscriptionSpec,
}

provider::providers! {
    Licenses(licenses): arcserve_license::ArcserveLicenses,
    Proposals(proposals): proposal::Proposals,
    Redstor(redstor): redstor::Redstor,
}

impl Kind {
    /// The provider that manages resources of this kind; `None` for a kind
    /// that is only a scope (a tenant has no remote object).
    pub fn provider(self) -> Option<ProviderId> {
        match self {
            Kind::EclTenant => None,
            Kind::ArcserveLicense => Some(ProviderId::Licenses),
            Kind::Proposal => Some(ProviderId::Proposals),
            Kind::RedstorCompany | Kind::RedstorSubscription => Some(ProviderId::Redstor),
        }
    }

    /// For a kind whose resources hold others (a tenant its licenses and
    /// proposals, a Redstor company its customers and their
    /// subscriptions), the key a `Policy`'s `protect` names one by.
    pub fn container_key(self) -> Option<&'static str> {
        match self {
            Kind::EclTenant => Some("tenant"),
            Kind::RedstorCompany => Some("redstorCompany"),
            Kind::ArcserveLicense | Kind::Proposal | Kind::RedstorSubscription => None,
        }
    }

    /// The kind a `protect` key names.
    pub fn of_container_key(key: &str) -> Option<Kind> {
        Kind::all()
            .into_iter()
            .find(|kind| kind.container_key() == Some(key))
    }
}
