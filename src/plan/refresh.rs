//! Refresh: read the live state of what is in play, concurrently: per
//! tenant with licenses, one paged listing of licenses (never one request
//! per license) and its plan catalog; per tenant and service with
//! proposals, one proposal list. A tenant's orders (which grow with every
//! license) are read only when a version change is in sight, because only
//! the upgrade rules need them. With Redstor resources in play: the root
//! company, one transitive listing of the tree (paged by 100), the product
//! catalog, and one subscription list per company in play, concurrently.

use std::collections::BTreeMap;

use futures_util::future::try_join_all;
use futures_util::{StreamExt, TryStreamExt, stream};
use time::OffsetDateTime;

use super::live::{Live, ObservedProposal, RedstorLive, TenantLive};
use super::model::TenantRef;
use crate::api::ApiError;
use crate::api::ecl::EclClients;
use crate::api::redstor::RedstorAccess;
use crate::manifest::Desired;
use crate::resources::{arcserve_license, proposal, redstor};
use crate::state::State;

/// Whether a tenant's orders must be read, given what was listed.
pub type WantsOrders<'a> = &'a (dyn Fn(&str, &TenantLive) -> bool + Sync);

/// Reads everything the manifests and the state put in play.
pub async fn refresh(
    desired: &Desired,
    state: &State,
    clients: &EclClients,
    redstor: &RedstorAccess,
) -> Result<Live, ApiError> {
    let license_tenants = arcserve_license::tenants_in_play(desired, state);
    let proposal_scopes = proposal::tenants_and_services(desired, state);
    let wants_orders = |tenant: &str, live: &TenantLive| {
        arcserve_license::version_change_in_sight(desired, state, tenant, live)
    };
    let (mut live, redstor) = tokio::try_join!(
        refresh_scopes(&license_tenants, &proposal_scopes, clients, &wants_orders),
        refresh_redstor_in_play(desired, state, redstor)
    )?;
    live.redstor = redstor;
    Ok(live)
}

/// How many companies' subscriptions are read at once.
pub const SUBSCRIPTION_CONCURRENCY: usize = 16;

/// The Redstor account, when a Redstor resource is declared or recorded.
pub async fn refresh_redstor_in_play(
    desired: &Desired,
    state: &State,
    redstor: &RedstorAccess,
) -> Result<Option<RedstorLive>, ApiError> {
    if !redstor::in_play(desired, state) {
        return Ok(None);
    }
    let client = redstor.client()?;
    let root = client.root_company().await?;
    let (companies, products) = tokio::try_join!(
        client.customers_transitive(root.company_id),
        client.products()
    )?;
    let mut live = RedstorLive::new(Some(root), companies, products);
    let wanted = redstor::subscription_companies(desired, state, &live);
    live.subscriptions =
        stream::iter(wanted)
            .map(|company| async move {
                Ok::<_, ApiError>((company, client.subscriptions(company).await?))
            })
            .buffer_unordered(SUBSCRIPTION_CONCURRENCY)
            .try_collect()
            .await?;
    tracing::info!(
        "refreshed the Redstor account: {} companies, subscriptions of {}",
        live.companies.len(),
        live.subscriptions.len()
    );
    Ok(Some(live))
}

/// Reads the licenses of `license_tenants` (with orders where
/// `wants_orders` says so) and the proposals of each (tenant, service) in
/// `proposal_scopes`.
pub async fn refresh_scopes(
    license_tenants: &[TenantRef],
    proposal_scopes: &[(TenantRef, u32)],
    clients: &EclClients,
    wants_orders: WantsOrders<'_>,
) -> Result<Live, ApiError> {
    let (tenants, proposals) = tokio::try_join!(
        refresh_licenses(license_tenants, clients, wants_orders),
        refresh_proposals(proposal_scopes, clients)
    )?;
    Ok(Live {
        tenants,
        proposals,
        redstor: None,
    })
}

/// Every proposal of each (tenant, service), with rows read from its XML.
async fn refresh_proposals(
    scopes: &[(TenantRef, u32)],
    clients: &EclClients,
) -> Result<BTreeMap<String, BTreeMap<u32, Vec<ObservedProposal>>>, ApiError> {
    let reads = scopes.iter().map(|(tenant, service_id)| async move {
        let client = clients.proposal_for(
            &tenant.tenant_id,
            &tenant.region,
            tenant.endpoint.as_deref(),
        )?;
        let records = client.list(*service_id, proposal::READ_LANGUAGE).await?;
        let observed: Vec<ObservedProposal> = records.iter().map(proposal::observe).collect();
        Ok::<_, ApiError>((tenant.tenant_id.clone(), *service_id, observed))
    });
    let mut out: BTreeMap<String, BTreeMap<u32, Vec<ObservedProposal>>> = BTreeMap::new();
    for (tenant, service, observed) in try_join_all(reads).await? {
        out.entry(tenant).or_default().insert(service, observed);
    }
    Ok(out)
}

/// Reads the licenses of every tenant in `tenants` (deduplicated by id).
async fn refresh_licenses(
    tenants: &[TenantRef],
    clients: &EclClients,
    wants_orders: WantsOrders<'_>,
) -> Result<BTreeMap<String, TenantLive>, ApiError> {
    let mut unique: BTreeMap<&str, &TenantRef> = BTreeMap::new();
    for tenant in tenants {
        unique.entry(tenant.tenant_id.as_str()).or_insert(tenant);
    }
    let reads = unique.into_values().map(|tenant| async move {
        let client = clients.arcserve_for(
            &tenant.tenant_id,
            &tenant.region,
            tenant.endpoint.as_deref(),
        )?;
        let ((licenses, server_time), plans) =
            tokio::try_join!(client.list_licenses_dated(), client.list_plans())?;
        let now = server_time.unwrap_or_else(OffsetDateTime::now_utc);
        let first = TenantLive::from_api(now, licenses.clone(), plans.clone(), None);
        let live = if wants_orders(&tenant.tenant_id, &first) {
            let orders = client.list_orders().await?;
            TenantLive::from_api(now, licenses, plans, Some(&orders))
        } else {
            first
        };
        tracing::info!(
            "refreshed tenant {} ({}): {} licenses",
            tenant.name,
            tenant.tenant_id,
            live.licenses.len()
        );
        Ok::<_, ApiError>((tenant.tenant_id.clone(), live))
    });
    Ok(try_join_all(reads).await?.into_iter().collect())
}
