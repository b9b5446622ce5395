//! `entitle import ArcserveLicense/NAME ID`: bind a declared license to one
//! that exists, found by its id in the resource's tenant.

use serde_json::json;
use uuid::Uuid;

use super::apply::attributes_of;
use super::operation::LicenseAttributes;
use crate::api::ecl::EclClients;
use crate::manifest::{Desired, Resource, Spec};
use crate::resources::ecl_tenant;
use crate::state::model::RecordedLifecycle;
use crate::state::{ResourceState, Status};

/// Reads license `id` in the tenant of `resource` and makes the state record
/// that binds them. The license's name must be the resource's name.
pub async fn import(
    desired: &Desired,
    resource: &Resource,
    remote_id: &str,
    clients: &EclClients,
) -> Result<ResourceState, crate::Error> {
    let id: Uuid = remote_id.parse().map_err(|_| {
        crate::Error::usage(
            format!("`{remote_id}` is not a license id"),
            "a license id is a UUID, as `entitle drift` or the portal shows it",
        )
    })?;
    let Spec::ArcserveLicense(spec) = &resource.spec else {
        return Err(crate::Error::usage(
            format!("{} is not an ArcserveLicense", resource.address),
            "import binds ArcserveLicense resources",
        ));
    };
    let tenant = ecl_tenant::declared_ref(desired, &spec.tenant, "license")?;
    let client = clients.arcserve_for(
        &tenant.tenant_id,
        &tenant.region,
        tenant.endpoint.as_deref(),
    )?;
    let license = client
        .get_license(id)
        .await
        .map_err(|err| match err.status() {
            Some(404) => crate::Error::usage(
                format!("tenant {} has no license {id}", tenant.name),
                "check the id (`entitle drift` lists the licenses entitle does not manage)",
            ),
            _ => err.into(),
        })?;
    if license.name != resource.metadata.name {
        return Err(crate::Error::usage(
            format!(
                "license {id} is named `{}`, but the resource is {}",
                license.name, resource.address
            ),
            format!(
                "a license is found by its name: rename the resource to ArcserveLicense/{}",
                license.name
            ),
        ));
    }
    let plan_version = if license.keys.is_empty() {
        client
            .list_plans()
            .await?
            .into_iter()
            .find(|p| p.id == license.plan_id)
            .map(|p| p.version)
            .unwrap_or_default()
    } else {
        String::new()
    };
    let intended = LicenseAttributes {
        tenant: spec.tenant.clone(),
        plan: license.plan_id,
        standalone_keys: license.number_of_standalone_keys,
        version: plan_version,
        key_types: Vec::new(),
    };
    let attributes = attributes_of(&license, &intended);
    Ok(ResourceState {
        remote_id: Some(id.to_string()),
        scope: ecl_tenant::scope(&tenant),
        natural_key: license.name.clone(),
        attributes: json!(attributes),
        dependencies: ecl_tenant::recorded_dependencies(resource, &spec.tenant),
        status: Status::Ready,
        lifecycle: RecordedLifecycle::from(&resource.metadata.lifecycle),
    })
}
