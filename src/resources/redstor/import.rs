//! `entitle import RedstorCompany/NAME ID` and
//! `entitle import RedstorSubscription/NAME ID`: bind a declared company or
//! subscription to one that exists.

use serde_json::json;
use uuid::Uuid;

use super::ROOT;
use super::plan::{
    SubscriptionAttributes, company_address, company_scope, observed_company_attributes,
    recorded_dependencies, subscription_record,
};
use super::{RedstorCompanySpec, RedstorSubscriptionSpec};
use crate::api::redstor::RedstorClient;
use crate::manifest::{Desired, Resource};
use crate::resources::SpecOf;
use crate::state::model::RecordedLifecycle;
use crate::state::{ResourceState, State, Status};

/// Reads the object `remote_id` for `resource` and makes the state record
/// that binds them: a company by its id (it must be in the account's tree),
/// a subscription by its id in its declared company.
pub async fn import(
    desired: &Desired,
    state: &State,
    resource: &Resource,
    remote_id: &str,
    client: &RedstorClient,
) -> Result<ResourceState, crate::Error> {
    let id: Uuid = remote_id.parse().map_err(|_| {
        crate::Error::usage(
            format!("`{remote_id}` is not a Redstor id"),
            "company and subscription ids are UUIDs, as `entitle drift` or the portal shows them",
        )
    })?;
    let lifecycle = RecordedLifecycle::from(&resource.metadata.lifecycle);
    if let Some(spec) = RedstorCompanySpec::spec_of(&resource.spec) {
        return import_company(resource, spec, id, lifecycle, client).await;
    }
    if let Some(spec) = RedstorSubscriptionSpec::spec_of(&resource.spec) {
        return import_subscription(desired, state, resource, spec, id, lifecycle, client).await;
    }
    Err(crate::Error::usage(
        format!("{} is not a Redstor resource", resource.address),
        "this is a bug in entitle; please report it",
    ))
}

/// A company, by its id in the account's tree.
async fn import_company(
    resource: &Resource,
    spec: &RedstorCompanySpec,
    id: Uuid,
    lifecycle: RecordedLifecycle,
    client: &RedstorClient,
) -> Result<ResourceState, crate::Error> {
    let company = client.company(id).await?.ok_or_else(|| {
        crate::Error::usage(
            format!("the account has no company {id}"),
            "check the id: a service account sees only its own company and the customers below it",
        )
    })?;
    if company.parent_company_id.is_none() {
        return Err(crate::Error::usage(
            format!("{id} is the account's root company, which entitle does not manage"),
            "subscriptions of the root company use `company: root`; import a company below it",
        ));
    }
    Ok(ResourceState {
        remote_id: Some(company.company_id.to_string()),
        scope: company_scope(company.parent_company_id),
        natural_key: company.company_name.clone(),
        attributes: json!(observed_company_attributes(&company, spec.parent.clone())),
        dependencies: recorded_dependencies(resource),
        status: Status::Ready,
        lifecycle,
    })
}

/// A subscription, by its id in its declared company.
async fn import_subscription(
    desired: &Desired,
    state: &State,
    resource: &Resource,
    spec: &RedstorSubscriptionSpec,
    id: Uuid,
    lifecycle: RecordedLifecycle,
    client: &RedstorClient,
) -> Result<ResourceState, crate::Error> {
    let company_id = if spec.company == ROOT {
        client.root_company().await?.company_id
    } else {
        let company = company_address(&spec.company);
        state
            .get(&company)
            .and_then(|r| r.remote_id.as_deref())
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| {
                crate::Error::usage(
                    format!(
                        "{company} is not in the state, so its subscriptions cannot be looked up"
                    ),
                    format!("import or apply {company} first"),
                )
            })?
    };
    let subscriptions = client.subscriptions(company_id).await?;
    let found = subscriptions
        .iter()
        .find(|s| s.subscription_id == id)
        .ok_or_else(|| {
            crate::Error::usage(
                format!("company {company_id} has no subscription {id}"),
                "check the id, and that spec.company names the company that holds it",
            )
        })?;
    let attributes = SubscriptionAttributes {
        company: spec.company.clone(),
        product_id: found.product_id,
        edition_id: found.edition_id,
        trial: found.is_trial(),
    };
    let _ = desired;
    Ok(subscription_record(
        company_id,
        found.subscription_id,
        &json!(attributes),
        recorded_dependencies(resource),
        lifecycle,
    ))
}
