//! Refresh: read the live state of every tenant in play, one paged listing
//! of licenses per tenant (never one request per license) and its plan
//! catalog, all tenants concurrently. A tenant's orders (which grow with
//! every license) are read only when a version change is in sight, because
//! only the upgrade rules need them.

use std::collections::BTreeMap;

use futures_util::future::try_join_all;
use time::OffsetDateTime;

use super::live::{Live, TenantLive};
use super::model::TenantRef;
use crate::api::ApiError;
use crate::api::ecl::EclClients;

/// Whether a tenant's orders must be read, given what was listed.
pub type WantsOrders<'a> = &'a (dyn Fn(&str, &TenantLive) -> bool + Sync);

/// Reads every tenant in `tenants` (deduplicated by tenant id), with its
/// orders where `wants_orders` says so.
pub async fn refresh(
    tenants: &[TenantRef],
    clients: &EclClients,
    wants_orders: WantsOrders<'_>,
) -> Result<Live, ApiError> {
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
    let tenants = try_join_all(reads).await?.into_iter().collect();
    Ok(Live { tenants })
}
