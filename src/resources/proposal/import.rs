//! `entitle import Proposal/NAME ORDER_ID`: bind a declared proposal to one
//! that exists, read by its `OrderId`.

use serde_json::json;

use super::observe::observe;
use super::plan::{ProposalAttributes, READ_LANGUAGE};
use crate::manifest::{Desired, Resource, Spec};
use crate::resources::ecl_tenant;
use crate::resources::proposal_catalog::Language;
use crate::state::model::RecordedLifecycle;
use crate::state::{ResourceState, Status};

/// Reads proposal `order_id` of `resource`'s service in its tenant and
/// makes the state record that binds them.
pub async fn import(
    desired: &Desired,
    resource: &Resource,
    order_id: &str,
    clients: &crate::api::ecl::EclClients,
) -> Result<ResourceState, crate::Error> {
    let Spec::Proposal(spec) = &resource.spec else {
        return Err(crate::Error::usage(
            format!("{} is not a Proposal", resource.address),
            "import binds Proposal resources here",
        ));
    };
    let tenant = ecl_tenant::declared_ref(desired, &spec.tenant, "proposal")?;
    let client = clients.proposal_for(
        &tenant.tenant_id,
        &tenant.region,
        tenant.endpoint.as_deref(),
    )?;
    let record = client
        .detail(spec.service.id(), order_id, READ_LANGUAGE)
        .await
        .map_err(|err| match err.status() {
            Some(404) => crate::Error::usage(
                format!(
                    "tenant {} has no {} proposal {order_id}",
                    tenant.name,
                    spec.service.name()
                ),
                "check the order id (`entitle drift` lists the proposals entitle does not manage)",
            ),
            _ => err.into(),
        })?;
    let observed = observe(&record);
    if let Some(problem) = observed.problem {
        return Err(crate::Error::usage(
            problem,
            "check the proposal in the portal",
        ));
    }
    let attributes = ProposalAttributes {
        tenant: spec.tenant.clone(),
        service: spec.service,
        language: observed
            .language
            .as_deref()
            .and_then(Language::from_code)
            .unwrap_or(spec.language),
        customer_email: observed.customer_email.unwrap_or_default(),
        models: observed.models,
        status_id: Some(record.status_id),
    };
    Ok(ResourceState {
        remote_id: Some(record.order_id),
        scope: ecl_tenant::scope(&tenant),
        natural_key: resource.metadata.name.clone(),
        attributes: json!(attributes),
        dependencies: ecl_tenant::recorded_dependencies(resource, &spec.tenant),
        status: Status::Ready,
        lifecycle: RecordedLifecycle::from(&resource.metadata.lifecycle),
    })
}
