//! Refresh: read the live state of every tenant in play, one paged listing
//! of licenses per tenant (never one request per license), with its plan
//! catalog and orders, all tenants concurrently.

use std::collections::BTreeMap;

use futures_util::future::try_join_all;
use time::OffsetDateTime;

use super::live::{Live, TenantLive};
use super::model::TenantRef;
use crate::api::ApiError;
use crate::api::ecl::EclClients;

/// Reads every tenant in `tenants` (deduplicated by tenant id).
pub async fn refresh(tenants: &[TenantRef], clients: &EclClients) -> Result<Live, ApiError> {
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
        let ((licenses, server_time), plans, orders) = tokio::try_join!(
            client.list_licenses_dated(),
            client.list_plans(),
            client.list_orders()
        )?;
        let now = server_time.unwrap_or_else(OffsetDateTime::now_utc);
        tracing::info!(
            "refreshed tenant {} ({}): {} licenses",
            tenant.name,
            tenant.tenant_id,
            licenses.len()
        );
        Ok::<_, ApiError>((
            tenant.tenant_id.clone(),
            TenantLive::from_api(now, licenses, plans, &orders),
        ))
    });
    let tenants = try_join_all(reads).await?.into_iter().collect();
    Ok(Live { tenants })
}
