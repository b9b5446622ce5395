//! The typed client of the Arcserve UDP API v2 (API.md section 2): all ten
//! endpoints, with the vendor's snake_case JSON spelt here and nowhere else
//! on the client side.
//!
//! Lists fetch the first page with `per_page=100`, learn `total_count` from
//! it, then fetch the remaining pages concurrently (bounded) and return the
//! items in page order. A page is read tolerantly ([`super::lenient`]):
//! one license the client cannot read is set aside, never the tenant.

use futures_util::{StreamExt, TryStreamExt, stream};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::ecl::{EclClients, EclSession};
use super::error::ApiError;
use super::http::{Request, Response};
use super::lenient::{Lenient, Read};

/// The largest page the API serves.
pub const MAX_PER_PAGE: u32 = 100;
/// How many pages of one listing are fetched at once.
pub const PAGE_CONCURRENCY: usize = 8;

/// A license as the API returns it (API.md 2.1). Unknown fields are ignored.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct License {
    pub id: Uuid,
    pub name: String,
    pub status: String,
    #[serde(rename = "type")]
    pub license_type: String,
    pub order_id: Uuid,
    pub plan_id: Uuid,
    pub plan_name_ja: String,
    pub plan_name_en: String,
    pub number_of_standalone_keys: u32,
    pub offer_start_date: String,
    pub deletion_date: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub keys: Vec<Key>,
}

impl License {
    /// Being deleted, or scheduled for deletion.
    pub fn leaving(&self) -> bool {
        leaving(&self.status, self.deletion_date.as_deref())
    }

    /// The day of a scheduled deletion.
    pub fn scheduled_deletion(&self) -> Option<&str> {
        scheduled_deletion(&self.status, self.deletion_date.as_deref())
    }
}

/// Whether a license of this `status` and `deletion_date` is on its way
/// out: `Deleting`, or given a deletion date (a delete was asked for; the
/// API may carry it out at once or schedule it).
pub fn leaving(status: &str, deletion_date: Option<&str>) -> bool {
    status == "Deleting" || deletion_date.is_some()
}

/// The day a license that is listed, and not `Deleting`, is scheduled to
/// be deleted on.
pub fn scheduled_deletion<'a>(status: &str, deletion_date: Option<&'a str>) -> Option<&'a str> {
    (status != "Deleting").then_some(deletion_date).flatten()
}

/// A license key.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct Key {
    pub id: Uuid,
    pub key_type_id: Uuid,
    pub name: String,
    pub version: String,
    pub value: String,
    pub is_additional_component: bool,
    pub activated_at: Option<String>,
    pub deactivated_at: Option<String>,
}

/// A plan of the tenant's catalog.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct Plan {
    pub id: Uuid,
    pub name_ja: String,
    pub name_en: String,
    pub version: String,
    pub edition: String,
    pub key_types: Vec<KeyType>,
}

/// A key type a plan can issue.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct KeyType {
    pub id: Uuid,
    pub name: String,
}

/// An order (a new license, or a version upgrade). The documents show the
/// object as `{}`: every field is optional, and what the upgrade rules
/// need but an order does not say is worked around where it is used.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct Order {
    pub id: Option<Uuid>,
    #[serde(rename = "type")]
    pub order_type: Option<String>,
    pub status: Option<String>,
    pub email_address: Option<String>,
    pub company_name: Option<String>,
    pub created_at: Option<String>,
    pub license_ids: Option<Vec<Uuid>>,
}

impl Order {
    /// A version upgrade; `None` when the order does not say its type.
    pub fn is_upgrade(&self) -> Option<bool> {
        self.order_type
            .as_deref()
            .map(|order_type| order_type == "upgrade_version")
    }
}

/// The body of a create.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NewLicense {
    pub name: String,
    pub plan_id: Uuid,
    pub number_of_standalone_keys: u32,
}

/// The body of an update: only the fields that change.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LicenseChanges {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number_of_standalone_keys: Option<u32>,
}

/// The body of a bulk version upgrade.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BulkUpgrade {
    pub license_ids: Vec<Uuid>,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
}

#[derive(Deserialize)]
struct LicenseEnvelope {
    license: License,
}

#[derive(Deserialize)]
struct LicensesEnvelope {
    licenses: Vec<License>,
}

#[derive(Deserialize)]
struct OrderEnvelope {
    order: Order,
}

/// One page of a listing; the item list's key differs per endpoint.
#[derive(Deserialize)]
struct Page<T> {
    total_count: u64,
    #[serde(alias = "licenses", alias = "plans", alias = "orders")]
    items: Vec<T>,
}

/// One listing: the objects read and those that could not be, and the
/// server's time of its first page (its `Date` header).
pub struct Listing<T> {
    pub read: Read<T>,
    pub server_time: Option<OffsetDateTime>,
}

/// A page strictly, or item by item when that fails; with its
/// `total_count`.
fn decode_page<T: DeserializeOwned>(response: &Response) -> Result<(u64, Read<T>), ApiError> {
    match response.json::<Page<T>>() {
        Ok(page) => Ok((page.total_count, Read::all(page.items))),
        Err(strict) => {
            let page: Page<Lenient<T>> = response.json().map_err(|_| strict)?;
            Ok((page.total_count, Read::from(page.items)))
        }
    }
}

/// [`decode_page`] on a blocking thread. A full page of licenses takes
/// about a millisecond to decode, and every request of a refresh is polled
/// by one task: decoded inline, each page would hold the answers of every
/// other API (a RedAPI list keeps 32 requests in flight) waiting.
async fn decode_page_aside<T: DeserializeOwned + Send + 'static>(
    response: Response,
) -> Result<(u64, Read<T>), ApiError> {
    let request = response.request().to_string();
    let decoded = tokio::task::spawn_blocking(move || decode_page(&response)).await;
    ApiError::from_task(&request, decoded)
}

/// The Arcserve UDP API of one tenant.
#[derive(Clone)]
pub struct ArcserveClient {
    session: EclSession,
}

/// The Arcserve UDP API beside the tenant's other ECL APIs: the client
/// lives here, on top of the session, so `ecl.rs` names no API.
impl EclClients {
    /// The Arcserve UDP client of one tenant.
    pub fn arcserve_for(
        &self,
        tenant_id: &str,
        region: &str,
        endpoint: Option<&str>,
    ) -> Result<ArcserveClient, ApiError> {
        Ok(ArcserveClient::new(
            self.session(tenant_id, region, endpoint)?,
        ))
    }
}

impl ArcserveClient {
    pub fn new(session: EclSession) -> Self {
        ArcserveClient { session }
    }

    pub fn session(&self) -> &EclSession {
        &self.session
    }

    fn url(&self, rest: &[&str]) -> Result<reqwest::Url, ApiError> {
        let tenant = self.session.target().tenant.as_str();
        let mut segments = vec!["v2", "arcserve-udp", tenant];
        segments.extend_from_slice(rest);
        self.session.target().url(&segments)
    }

    /// Every license of the tenant (optionally of one order), all pages.
    pub async fn list_licenses(&self, order_id: Option<Uuid>) -> Result<Vec<License>, ApiError> {
        let filter = order_id.map(|id| ("order_id", id.to_string()));
        Ok(self
            .list_all(&["licenses"], filter)
            .await?
            .read
            .warned("license"))
    }

    /// Every license, those that could not be read, and the server's time
    /// of the first page, which the day-after rule is judged by.
    pub async fn list_licenses_dated(&self) -> Result<Listing<License>, ApiError> {
        self.list_all(&["licenses"], None).await
    }

    /// Creates a license. The answer is usually 202 with `Provisioning`.
    pub async fn create_license(&self, license: &NewLicense) -> Result<License, ApiError> {
        let request = Request::new(Method::POST, self.url(&["licenses"])?)
            .json(json!({ "license": license }));
        self.license_call(request).await
    }

    pub async fn get_license(&self, id: Uuid) -> Result<License, ApiError> {
        let url = self.url(&["licenses", &id.to_string()])?;
        self.license_call(Request::new(Method::GET, url)).await
    }

    pub async fn update_license(
        &self,
        id: Uuid,
        changes: &LicenseChanges,
    ) -> Result<License, ApiError> {
        let url = self.url(&["licenses", &id.to_string()])?;
        let request = Request::new(Method::PATCH, url).json(json!({ "license": changes }));
        self.license_call(request).await
    }

    /// Starts a delete (202, `Deleting`).
    pub async fn delete_license(&self, id: Uuid) -> Result<License, ApiError> {
        let url = self.url(&["licenses", &id.to_string()])?;
        self.license_call(Request::new(Method::DELETE, url)).await
    }

    /// Issues a key of `key_type_id`. Not idempotent: each call adds a key.
    pub async fn issue_key(&self, id: Uuid, key_type_id: Uuid) -> Result<License, ApiError> {
        let url = self.url(&["licenses", &id.to_string(), "issue-key"])?;
        let request = Request::new(Method::POST, url)
            .json(json!({ "license": { "key_type_id": key_type_id } }));
        self.license_call(request).await
    }

    /// Upgrades the version of up to 100 licenses in one call. Not retried
    /// after an ambiguous failure: a repeat of a call that did succeed is
    /// refused by the day-after rule, so the caller reads back instead.
    pub async fn bulk_upgrade(&self, upgrade: &BulkUpgrade) -> Result<Vec<License>, ApiError> {
        let request =
            Request::new(Method::POST, self.url(&["bulk-license-upgrade"])?).json(json!(upgrade));
        let envelope: LicensesEnvelope = self.session.send(request).await?.json()?;
        Ok(envelope.licenses)
    }

    pub async fn list_plans(&self) -> Result<Vec<Plan>, ApiError> {
        Ok(self.list_all(&["plans"], None).await?.read.warned("plan"))
    }

    pub async fn list_orders(&self) -> Result<Vec<Order>, ApiError> {
        Ok(self.list_all(&["orders"], None).await?.read.warned("order"))
    }

    pub async fn get_order(&self, id: Uuid) -> Result<Order, ApiError> {
        let url = self.url(&["orders", &id.to_string()])?;
        let envelope: OrderEnvelope = self
            .session
            .send(Request::new(Method::GET, url))
            .await?
            .json()?;
        Ok(envelope.order)
    }

    async fn license_call(&self, request: Request) -> Result<License, ApiError> {
        let envelope: LicenseEnvelope = self.session.send(request).await?.json()?;
        Ok(envelope.license)
    }

    /// Fetches page 1 at the largest page size, then the rest concurrently;
    /// also returns the server's time of page 1.
    async fn list_all<T: DeserializeOwned + Send + 'static>(
        &self,
        path: &[&str],
        filter: Option<(&'static str, String)>,
    ) -> Result<Listing<T>, ApiError> {
        let response = self.page_response(path, &filter, 1).await?;
        let server_time = response
            .header("date")
            .and_then(|d| httpdate::parse_http_date(d).ok())
            .map(OffsetDateTime::from);
        let (total_count, mut read) = decode_page_aside(response).await?;
        let pages = total_count.div_ceil(u64::from(MAX_PER_PAGE));
        let rest: Vec<Read<T>> = stream::iter(2..=pages)
            .map(|page| {
                let filter = &filter;
                async move {
                    let response = self.page_response(path, filter, page).await?;
                    Ok::<_, ApiError>(decode_page_aside(response).await?.1)
                }
            })
            .buffered(PAGE_CONCURRENCY)
            .try_collect()
            .await?;
        rest.into_iter().for_each(|page| read.extend(page));
        Ok(Listing { read, server_time })
    }

    async fn page_response(
        &self,
        path: &[&str],
        filter: &Option<(&'static str, String)>,
        page: u64,
    ) -> Result<Response, ApiError> {
        let mut request = Request::new(Method::GET, self.url(path)?)
            .query("page", page)
            .query("per_page", MAX_PER_PAGE);
        if let Some((name, value)) = filter {
            request = request.query(name, value);
        }
        self.session.send(request).await
    }
}
