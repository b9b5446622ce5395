//! `ArcserveLicense`: an Arcserve UDP license on NTT Enterprise Cloud, created
//! in an `EclTenant` from a plan, with its standalone keys and key version.

mod apply;
mod drift;
mod import;
mod observe;
mod operation;
mod plan;

pub use apply::attributes_of;
pub use observe::{
    LicensesLive, ObservedLicense, TOKYO, TenantLive, declared_by_tenant, observed_attributes,
    tenants_in_play, tokyo_date, version_change_in_sight, version_order,
};
pub use operation::{Contact, LicenseAttributes, LicenseOperation, NewLicense, UpgradeMember};
pub use plan::{BULK_CHUNK, FIELDS};

use crate::api::ApiError;
use crate::apply::context::{ApplyError, Context as ApplyContext};
use crate::manifest::Resource;
use crate::plan::contract::{Context as PlanContext, KindPlan};
use crate::plan::model::Action;
use crate::report::drift::DriftReport;
use crate::resources::provider::{Clients, Provider, Purpose, RefreshScope, Scope};
use crate::state::ResourceState;

use super::ecl_tenant::tenant_reference;
use super::schema_types::UuidSchema;
use super::{Kind, KindSpec, Reference, SpecProblem};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// An Arcserve UDP license. Its `metadata.name` is the license's name on the
/// server, unique within the tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArcserveLicenseSpec {
    /// The `metadata.name` of the `EclTenant` the license lives in.
    #[schemars(length(min = 1))]
    pub tenant: String,
    /// The id (UUID) of the license plan, as listed by the plans API. A
    /// different plan means a new license: the license is replaced.
    #[schemars(with = "UuidSchema")]
    pub plan: uuid::Uuid,
    /// How many standalone keys the license has, from 0 to 2147483647.
    #[schemars(range(max = 2_147_483_647))]
    pub standalone_keys: u32,
    /// The Arcserve UDP version of the license's keys, as a quoted string with
    /// exactly one decimal place, from "0.1" to "99.9" (e.g. "9.0", "10.0").
    /// Raising it upgrades the keys.
    #[schemars(pattern(r"^(0|[1-9][0-9]?)\.[0-9]$"))]
    pub version: String,
    /// Key types (UUIDs) to issue a key of, each at most once. May be empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<UuidSchema>", extend("uniqueItems" = true))]
    pub key_types: Vec<uuid::Uuid>,
}

impl KindSpec for ArcserveLicenseSpec {
    const KIND: Kind = Kind::ArcserveLicense;

    fn check(&self) -> Vec<SpecProblem> {
        let mut problems = Vec::new();
        if let Err(problem) = check_version(&self.version) {
            problems.push(problem);
        }
        let mut seen = HashSet::new();
        for (index, key_type) in self.key_types.iter().enumerate() {
            if !seen.insert(key_type) {
                problems.push(
                    SpecProblem::new(
                        format!("keyTypes[{index}]"),
                        format!(
                            "key type `{key_type}` is listed more than once (written differently)"
                        ),
                    )
                    .hint("list each key type once"),
                );
            }
        }
        problems
    }

    fn references(&self) -> Vec<Reference> {
        vec![tenant_reference(&self.tenant)]
    }

    fn references_in(spec: &serde_json::Value) -> Vec<Reference> {
        crate::resources::ecl_tenant::tenant_references_in(spec)
    }
}

/// Versions are strings with exactly one decimal place, `0.0 < v <= 99.9`.
fn check_version(version: &str) -> Result<(), SpecProblem> {
    let problem = |message: String| SpecProblem::new("version", message);
    let write = |text: &str| format!("write `version: \"{text}\"`");
    let Some(tenths) = version_tenths(version) else {
        let problem = problem(format!(
            "the version must be a number with exactly one decimal place, like \"9.0\" or \"10.0\"; found \"{version}\""
        ));
        return Err(match suggest_version(version) {
            Some(fixed) => problem.hint(write(&fixed)),
            None => problem,
        });
    };
    match tenths {
        0 => Err(problem("the version must be greater than 0.0".into())),
        1..=999 => Ok(()),
        _ => Err(problem(format!(
            "the version must be at most 99.9; found \"{version}\""
        ))),
    }
}

/// `"9.0"` -> `Some(90)`: the value in tenths, when written in the one
/// accepted form (digits without leading zeros, a dot, one digit).
fn version_tenths(version: &str) -> Option<u32> {
    let (whole, fraction) = version.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let canonical_whole = whole == "0" || !whole.starts_with('0');
    if !(digits(whole)
        && whole.len() <= 3
        && canonical_whole
        && digits(fraction)
        && fraction.len() == 1)
    {
        return None;
    }
    Some(whole.parse::<u32>().ok()? * 10 + fraction.parse::<u32>().ok()?)
}

/// The accepted spelling of a version written in another way that means the
/// same number: `9` -> `9.0`, `v9.0` -> `9.0`, `09.00` -> `9.0`.
fn suggest_version(version: &str) -> Option<String> {
    let bare = version.trim().trim_start_matches(['v', 'V']);
    if bare.is_empty() || !bare.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let value: f64 = bare.parse().ok()?;
    let fixed = format!("{value:.1}");
    let same_number = fixed.parse::<f64>().ok()? == value;
    (same_number && version_tenths(&fixed).is_some_and(|t| (1..=999).contains(&t))).then_some(fixed)
}

/// The Arcserve UDP licenses of every ECL tenant in play.
pub struct ArcserveLicenses;

impl Provider for ArcserveLicenses {
    type Live = LicensesLive;
    type Operation = LicenseOperation;

    async fn refresh(
        scope: RefreshScope<'_>,
        clients: Clients<'_>,
    ) -> Result<LicensesLive, ApiError> {
        let scope = scope.loaded().await;
        let tenants = tenants_to_read(scope);
        match scope.purpose {
            Purpose::Plan => {
                let declared = declared_by_tenant(scope.desired);
                let wants_orders = |tenant: &str, live: &TenantLive| {
                    let licenses = declared.get(tenant).map_or(&[][..], Vec::as_slice);
                    version_change_in_sight(licenses, scope.state, live)
                };
                observe::refresh(&tenants, clients.ecl, &wants_orders).await
            }
            Purpose::Drift => observe::refresh(&tenants, clients.ecl, &|_, _| false).await,
        }
    }

    fn plan(context: &PlanContext<'_>, live: &LicensesLive) -> KindPlan {
        plan::plan(context, live)
    }

    async fn apply(
        operation: &LicenseOperation,
        action: &Action,
        context: &ApplyContext,
    ) -> Result<String, ApplyError> {
        apply::apply(operation, action, context).await
    }

    fn destroys_data(operation: &LicenseOperation) -> bool {
        match operation {
            LicenseOperation::CreateLicense(_)
            | LicenseOperation::AdoptLicense { .. }
            | LicenseOperation::UpdateLicense { .. }
            | LicenseOperation::ReplaceLicense { .. }
            | LicenseOperation::DeleteLicense { .. }
            | LicenseOperation::IssueKeys { .. }
            | LicenseOperation::BulkUpgrade { .. } => false,
        }
    }

    /// A license holds keys, not backups: deleting one loses no customer data.
    fn data_lost(operation: &LicenseOperation) -> Option<&'static str> {
        match operation {
            LicenseOperation::CreateLicense(_)
            | LicenseOperation::AdoptLicense { .. }
            | LicenseOperation::UpdateLicense { .. }
            | LicenseOperation::ReplaceLicense { .. }
            | LicenseOperation::DeleteLicense { .. }
            | LicenseOperation::IssueKeys { .. }
            | LicenseOperation::BulkUpgrade { .. } => None,
        }
    }

    async fn import(
        scope: Scope<'_>,
        resource: &Resource,
        remote_id: &str,
        clients: Clients<'_>,
    ) -> Result<ResourceState, crate::Error> {
        import::import(scope.desired, resource, remote_id, clients.ecl).await
    }

    fn drift(scope: Scope<'_>, live: &LicensesLive, report: &mut DriftReport) {
        drift::drift(scope.state, live, &tenants_to_read(scope), report);
    }
}

/// The tenants whose licenses are read: those in play, and for drift also
/// every declared tenant (to list the licenses in it that no record knows).
fn tenants_to_read(scope: Scope<'_>) -> Vec<super::ecl_tenant::TenantRef> {
    let mut tenants = tenants_in_play(scope.desired, scope.state);
    if scope.purpose == Purpose::Drift {
        tenants.extend(super::ecl_tenant::declared_refs(scope.desired));
    }
    tenants
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_versions() {
        for version in ["9.0", "10.0", "0.1", "99.9", "8.5"] {
            assert_eq!(check_version(version), Ok(()), "{version}");
        }
    }

    #[test]
    fn versions_without_one_decimal_place_get_the_fixed_spelling() {
        let hint = |v: &str| check_version(v).unwrap_err().hint;
        assert_eq!(hint("9").as_deref(), Some("write `version: \"9.0\"`"));
        assert_eq!(hint("10").as_deref(), Some("write `version: \"10.0\"`"));
        assert_eq!(hint("9.00").as_deref(), Some("write `version: \"9.0\"`"));
        assert_eq!(hint("09.0").as_deref(), Some("write `version: \"9.0\"`"));
        assert_eq!(hint("v9.0").as_deref(), Some("write `version: \"9.0\"`"));
        assert_eq!(hint("9.25"), None);
        assert_eq!(hint("nine"), None);
        assert_eq!(hint(""), None);
    }

    #[test]
    fn versions_out_of_range() {
        assert!(
            check_version("100.0")
                .unwrap_err()
                .message
                .contains("at most 99.9")
        );
        assert!(
            check_version("0.0")
                .unwrap_err()
                .message
                .contains("greater than 0.0")
        );
        assert_eq!(check_version("100").unwrap_err().hint, None);
    }

    #[test]
    fn key_types_written_twice_in_different_case() {
        let spec = ArcserveLicenseSpec {
            tenant: "prod".into(),
            plan: uuid::Uuid::nil(),
            standalone_keys: 1,
            version: "9.0".into(),
            key_types: vec![uuid::Uuid::nil(), uuid::Uuid::max(), uuid::Uuid::nil()],
        };
        let problems = spec.check();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field, "keyTypes[2]");
    }

    #[test]
    fn the_tenant_is_a_reference() {
        let spec = ArcserveLicenseSpec {
            tenant: "prod".into(),
            plan: uuid::Uuid::nil(),
            standalone_keys: 0,
            version: "9.0".into(),
            key_types: vec![],
        };
        assert_eq!(
            spec.references(),
            vec![Reference {
                field: "tenant".into(),
                kind: Kind::EclTenant,
                name: "prod".into()
            }]
        );
    }
}
