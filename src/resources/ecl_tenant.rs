//! `EclTenant`: an NTT Enterprise Cloud tenant (project) in one region, the
//! scope in which Arcserve UDP licenses live.

use std::collections::BTreeMap;

use super::text_rules;
use super::{Kind, KindSpec, Reference, SpecProblem};
use crate::manifest::{Address, Desired, Resource};
use crate::state::ResourceState;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An ECL tenant that licenses are created in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EclTenantSpec {
    /// The ECL region the tenant lives in: `jp1` to `jp9`. It selects the API
    /// hosts (`soy-{region}-ecl.api.ntt.com`).
    pub region: Region,
    /// The tenant id: 32 lowercase hexadecimal digits, as the ECL portal shows
    /// it (a UUID written without hyphens).
    #[schemars(pattern(r"^[0-9a-f]{32}$"))]
    pub tenant_id: String,
    /// Base URL of the Arcserve UDP API, instead of the region's host. Must be
    /// `https://`; plain `http://` is allowed only for a loopback host
    /// (127.0.0.1, ::1, localhost), where a simulator listens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(url)]
    pub endpoint: Option<String>,
    /// Who the vendor contacts about version upgrades. The bulk-upgrade API
    /// needs it for the tenant's first upgrade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade_contact: Option<UpgradeContact>,
}

/// An ECL region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    Jp1,
    Jp2,
    Jp3,
    Jp4,
    Jp5,
    Jp6,
    Jp7,
    Jp8,
    Jp9,
}

impl Region {
    /// `jp1` .. `jp9`, as the API hosts spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Region::Jp1 => "jp1",
            Region::Jp2 => "jp2",
            Region::Jp3 => "jp3",
            Region::Jp4 => "jp4",
            Region::Jp5 => "jp5",
            Region::Jp6 => "jp6",
            Region::Jp7 => "jp7",
            Region::Jp8 => "jp8",
            Region::Jp9 => "jp9",
        }
    }
}

impl std::fmt::Display for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The contact details sent with a tenant's first bulk license upgrade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpgradeContact {
    /// Email address of the person to contact, at most 254 characters.
    #[schemars(email, length(max = 254))]
    pub email: String,
    /// Company name, 1 to 100 characters.
    #[schemars(length(min = 1, max = 100))]
    pub company_name: String,
}

/// A declared tenant: its resource, its spec, and where its requests go.
pub struct DeclaredTenant<'a> {
    pub resource: &'a Resource,
    pub spec: &'a EclTenantSpec,
    pub reference: TenantRef,
}

/// The tenants the manifests declare, by name.
pub fn declared(desired: &Desired) -> BTreeMap<&str, DeclaredTenant<'_>> {
    desired
        .specs::<EclTenantSpec>()
        .map(|(resource, spec)| {
            (
                resource.metadata.name.as_str(),
                DeclaredTenant {
                    resource,
                    spec,
                    reference: tenant_ref(&resource.metadata.name, spec),
                },
            )
        })
        .collect()
}

/// Where the declared tenant `name` sends its requests; an error naming
/// what lives in it (`what`) when no such tenant is declared.
pub fn declared_ref(desired: &Desired, name: &str, what: &str) -> Result<TenantRef, crate::Error> {
    declared(desired)
        .remove(name)
        .map(|t| t.reference)
        .ok_or_else(|| {
            crate::Error::usage(
                format!("the EclTenant `{name}` is not declared"),
                format!("declare the tenant the {what} lives in"),
            )
        })
}

/// Where a declared tenant's requests go.
pub fn tenant_ref(name: &str, spec: &EclTenantSpec) -> TenantRef {
    TenantRef {
        name: name.to_string(),
        tenant_id: spec.tenant_id.clone(),
        region: spec.region.to_string(),
        endpoint: spec.endpoint.clone(),
    }
}

/// Where a tenant's objects live, as the state records it.
pub fn scope(tenant: &TenantRef) -> crate::state::Scope {
    crate::state::Scope {
        tenant_id: Some(tenant.tenant_id.clone()),
        region: Some(tenant.region.clone()),
        endpoint: tenant.endpoint.clone(),
        company_id: None,
    }
}

/// What a resource in tenant `tenant` depends on, as the state records it
/// (for ordering its delete after the manifest is gone): its tenant and its
/// `dependsOn`, sorted.
pub fn recorded_dependencies(resource: &Resource, tenant: &str) -> Vec<Address> {
    let mut deps: std::collections::BTreeSet<Address> =
        resource.metadata.depends_on.iter().cloned().collect();
    deps.insert(Address::new(super::Kind::EclTenant, tenant));
    deps.into_iter().collect()
}

/// The tenant a state record was applied in (its scope, and the tenant's
/// name from its attributes).
pub fn tenant_ref_from_state(record: &ResourceState) -> TenantRef {
    TenantRef {
        name: record
            .attributes
            .get("tenant")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_string(),
        tenant_id: record.scope.tenant_id.clone().unwrap_or_default(),
        region: record.scope.region.clone().unwrap_or_default(),
        endpoint: record.scope.endpoint.clone(),
    }
}

impl KindSpec for EclTenantSpec {
    const KIND: Kind = Kind::EclTenant;

    fn check(&self) -> Vec<SpecProblem> {
        let mut problems = Vec::new();
        if let Err(problem) = check_tenant_id(&self.tenant_id) {
            problems.push(problem);
        }
        if let Some(endpoint) = &self.endpoint
            && let Err((message, hint)) = text_rules::endpoint(endpoint)
        {
            problems.push(SpecProblem {
                field: "endpoint".into(),
                message,
                hint,
            });
        }
        if let Some(contact) = &self.upgrade_contact
            && let Err((message, hint)) = text_rules::email(&contact.email)
        {
            problems.push(SpecProblem {
                field: "upgradeContact.email".into(),
                message,
                hint,
            });
        }
        problems
    }

    fn references(&self) -> Vec<Reference> {
        Vec::new()
    }

    fn references_in(_spec: &serde_json::Value) -> Vec<Reference> {
        Vec::new()
    }
}

/// A spec's `tenant` field: a reference to the `EclTenant` called `name`.
pub fn tenant_reference(name: &str) -> Reference {
    Reference {
        field: "tenant".into(),
        kind: Kind::EclTenant,
        name: name.to_owned(),
    }
}

/// The tenant reference in a spec as written (for a spec that failed the
/// schema): its `tenant` field, when that is text.
pub fn tenant_references_in(spec: &serde_json::Value) -> Vec<Reference> {
    super::registry::text_field(spec, "tenant")
        .map(tenant_reference)
        .into_iter()
        .collect()
}

/// A tenant id is 32 lowercase hex digits. The common mistakes — the
/// hyphenated UUID form, upper case — get the exact text to write instead.
fn check_tenant_id(id: &str) -> Result<(), SpecProblem> {
    let is_hex32 = |s: &str| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit());
    if is_hex32(id) && !id.bytes().any(|b| b.is_ascii_uppercase()) {
        return Ok(());
    }
    let problem = |message: String| SpecProblem::new("tenantId", message);
    let compact: String = id
        .chars()
        .filter(|&c| c != '-')
        .collect::<String>()
        .to_ascii_lowercase();
    if id.contains('-') && uuid::Uuid::try_parse(id).is_ok() && is_hex32(&compact) {
        return Err(problem("the tenant id is written as a hyphenated UUID; ECL tenant ids are 32 hex digits without hyphens".into())
            .hint(format!("write `tenantId: {compact}`")));
    }
    if is_hex32(id) {
        return Err(problem(
            "the tenant id has upper-case letters; ECL tenant ids are lower case".into(),
        )
        .hint(format!("write `tenantId: {compact}`")));
    }
    let length = id.chars().count();
    if length != 32 {
        return Err(problem(format!(
            "the tenant id must be exactly 32 hex digits (0-9, a-f), but `{id}` has {length} characters"
        )));
    }
    Err(problem(format!(
        "the tenant id must contain only hex digits (0-9, a-f), but `{id}` has `{}`",
        id.chars().find(|c| !c.is_ascii_hexdigit()).unwrap_or('?')
    )))
}

/// The tenants the manifests declare, each as where its requests go.
pub fn declared_refs(desired: &Desired) -> Vec<TenantRef> {
    declared(desired)
        .into_values()
        .map(|t| t.reference)
        .collect()
}

/// Where an ECL tenant's requests go, as recorded in the plan so that a
/// saved plan can be applied without the manifests' help.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TenantRef {
    /// The `EclTenant` resource name.
    pub name: String,
    pub tenant_id: String,
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> EclTenantSpec {
        EclTenantSpec {
            region: Region::Jp1,
            tenant_id: "0123456789abcdef0123456789abcdef".into(),
            endpoint: None,
            upgrade_contact: None,
        }
    }

    #[test]
    fn a_good_tenant_has_no_problems() {
        let mut tenant = spec();
        tenant.endpoint = Some("http://127.0.0.1:8080".into());
        tenant.upgrade_contact = Some(UpgradeContact {
            email: "ops@example.com".into(),
            company_name: "Example KK".into(),
        });
        assert_eq!(tenant.check(), vec![]);
    }

    #[test]
    fn hyphenated_tenant_id_shows_the_compact_form() {
        let problem = check_tenant_id("01234567-89AB-cdef-0123-456789abcdef").unwrap_err();
        assert!(problem.message.contains("hyphenated"), "{problem:?}");
        assert_eq!(
            problem.hint.as_deref(),
            Some("write `tenantId: 0123456789abcdef0123456789abcdef`")
        );
    }

    #[test]
    fn upper_case_tenant_id_shows_the_lower_case_form() {
        let problem = check_tenant_id("0123456789ABCDEF0123456789ABCDEF").unwrap_err();
        assert!(problem.message.contains("upper-case"), "{problem:?}");
        assert_eq!(
            problem.hint.as_deref(),
            Some("write `tenantId: 0123456789abcdef0123456789abcdef`")
        );
    }

    #[test]
    fn wrong_length_and_non_hex_are_explained() {
        let short = check_tenant_id("0123456789abcdef0123456789abcde").unwrap_err();
        assert!(short.message.contains("has 31 characters"), "{short:?}");
        let non_hex = check_tenant_id("0123456789abcdef0123456789abcdeg").unwrap_err();
        assert!(non_hex.message.contains("has `g`"), "{non_hex:?}");
    }

    #[test]
    fn bad_endpoint_and_email_name_their_fields() {
        let mut tenant = spec();
        tenant.endpoint = Some("http://example.com".into());
        tenant.upgrade_contact = Some(UpgradeContact {
            email: "nobody".into(),
            company_name: "X".into(),
        });
        let fields: Vec<_> = tenant.check().into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["endpoint", "upgradeContact.email"]);
    }
}
