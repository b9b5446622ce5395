//! The kinds of resource `entitle` manages, one file per kind.
//!
//! Each kind's file holds its spec (the Rust type that manifests deserialize
//! into and that generates its JSON Schema) and the rules the schema cannot
//! express. To add a kind, add its file and one line to the `kinds!` call below.

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
pub use redstor::{RedstorCompanySpec, RedstorSubscriptionSpec};
pub use registry::{KindSpec, Reference, SpecProblem, SpecVisitor, UnknownKind};

registry::kinds! {
    EclTenant => EclTenantSpec,
    ArcserveLicense => ArcserveLicenseSpec,
    Proposal => ProposalSpec,
    RedstorCompany => RedstorCompanySpec,
    RedstorSubscription => RedstorSubscriptionSpec,
}
