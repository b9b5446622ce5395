//! The typed client of the Redstor RedAPI v1 (API.md section 4): companies,
//! users, products and subscriptions, with the vendor's camelCase JSON spelt
//! here and nowhere else on the client side. Consumption and backup / restore
//! statuses are read in [`super::redstor_reports`], for `crate::report`.
//!
//! Lists follow `nextPageToken` with `maxResults=100` (the pages of one
//! listing cannot be fetched concurrently: each token comes with the page
//! before). An empty result may be `204 No Content`, read as an empty list.
//! Ids are [`Uuid`]s, so the vendor's mixed spellings (upper case, hyphens)
//! compare equal.

use std::sync::Arc;

use reqwest::header::AUTHORIZATION;
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::error::{ApiError, AuthHints};
use super::http::{HttpClient, Request, Response, join_segments};
use super::lenient::{Lenient, Read};
use super::redstor_auth::{RedstorAuth, RedstorCredentials};
use super::secret::Secret;

/// The largest page the API serves.
pub const MAX_RESULTS: u32 = 100;

/// A company: the account's root, a partner or a customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Company {
    pub company_id: Uuid,
    pub company_name: String,
    pub is_enabled: bool,
    #[serde(rename = "type")]
    pub company_type: CompanyType,
    #[serde(default)]
    pub parent_company_id: Option<Uuid>,
}

/// Whether a company can have customers of its own.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
pub enum CompanyType {
    Partner,
    Customer,
}

impl CompanyType {
    pub fn as_str(self) -> &'static str {
        match self {
            CompanyType::Partner => "Partner",
            CompanyType::Customer => "Customer",
        }
    }
}

/// A user of a company.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub user_id: Uuid,
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// A product of the catalog, with its editions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    pub id: u32,
    pub name: String,
    #[serde(default)]
    pub short_name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub editions: Vec<Edition>,
}

/// An edition of a product.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Edition {
    pub id: u32,
    pub name: String,
    #[serde(default)]
    pub has_trial: bool,
}

/// A company's subscription to one product edition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub subscription_id: Uuid,
    pub product_id: u32,
    pub edition_id: u32,
    pub is_active: bool,
    pub trial_status: TrialStatus,
}

impl Subscription {
    /// Started as a trial and not converted (running or expired).
    pub fn is_trial(&self) -> bool {
        matches!(
            self.trial_status,
            TrialStatus::Active | TrialStatus::Expired
        )
    }
}

/// Where a subscription is in its trial. The documents list `NotUsed`
/// only; a value entitle does not know is kept as text (the robustness
/// principle), never a reason to fail a whole listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum TrialStatus {
    /// Never a trial: a paid subscription from the start.
    NotUsed,
    Active,
    Converted,
    Expired,
    /// A value the documents do not list.
    Other(String),
}

impl From<String> for TrialStatus {
    fn from(text: String) -> Self {
        match text.as_str() {
            "NotUsed" => TrialStatus::NotUsed,
            "Active" => TrialStatus::Active,
            "Converted" => TrialStatus::Converted,
            "Expired" => TrialStatus::Expired,
            _ => TrialStatus::Other(text),
        }
    }
}

impl From<TrialStatus> for String {
    fn from(status: TrialStatus) -> Self {
        match status {
            TrialStatus::NotUsed => "NotUsed".into(),
            TrialStatus::Active => "Active".into(),
            TrialStatus::Converted => "Converted".into(),
            TrialStatus::Expired => "Expired".into(),
            TrialStatus::Other(text) => text,
        }
    }
}

/// What a removal request achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Removal {
    /// 200: the subscription is gone.
    Done,
    /// 202: the removal is queued; the subscription is listed, inactive,
    /// until it is carried out.
    Queued,
    /// 404: it was not there (gone already).
    Absent,
}

/// One page of a paged list.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page<T> {
    #[serde(default)]
    next_page_token: Option<String>,
    #[serde(default = "Vec::new")]
    results: Vec<T>,
}

/// The RedAPI client of one service account. Cheap to clone.
#[derive(Clone)]
pub struct RedstorClient {
    http: HttpClient,
    auth: Arc<RedstorAuth>,
}

impl RedstorClient {
    pub fn new(http: HttpClient, auth: Arc<RedstorAuth>) -> Self {
        RedstorClient { http, auth }
    }

    /// A client with the credentials of the `REDSTOR_*` environment.
    pub fn from_env(http: HttpClient) -> Result<Self, ApiError> {
        let credentials = RedstorCredentials::from_env()?;
        Ok(Self::new(
            http.clone(),
            Arc::new(RedstorAuth::new(http, credentials)),
        ))
    }

    /// `{api_url}/{segments...}`, every segment percent-encoded.
    pub fn url(&self, segments: &[&str]) -> Result<Url, ApiError> {
        join_segments(&self.auth.credentials().api_url, segments)
    }

    /// Sends `request` with the bearer token; after a 401 the token is
    /// renewed and the request sent once more.
    pub async fn send(&self, request: Request) -> Result<Response, ApiError> {
        let bearer = |token: &Secret| Secret::new(format!("Bearer {}", token.expose()));
        let token = self.auth.token().await?;
        let first = request
            .clone()
            .secret_header(AUTHORIZATION, &bearer(&token))?;
        match self.http.send(&first).await {
            Err(ApiError::Status { status: 401, .. }) if self.auth.invalidate(&token).await => {
                tracing::debug!("{}: token refused; issuing a new one", first.label());
                let token = self.auth.token().await?;
                let second = request.secret_header(AUTHORIZATION, &bearer(&token))?;
                self.http
                    .send(&second)
                    .await
                    .map_err(|err| err.with_auth_hints(&AUTH_HINTS))
            }
            other => other.map_err(|err| err.with_auth_hints(&AUTH_HINTS)),
        }
    }

    /// GET and decode one object; `None` on 404 (outside the account's
    /// tree, or gone).
    async fn get_optional<T: DeserializeOwned>(
        &self,
        segments: &[&str],
    ) -> Result<Option<T>, ApiError> {
        match self
            .send(Request::new(Method::GET, self.url(segments)?))
            .await
        {
            // The documents list 204 for a read that finds nothing.
            Ok(response)
                if response.status == StatusCode::NO_CONTENT || response.body.is_empty() =>
            {
                Ok(None)
            }
            Ok(response) => Ok(Some(response.json()?)),
            Err(ApiError::Status { status: 404, .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// GET a JSON array; 204 is an empty one. Items that cannot be read
    /// are left out with a warning.
    pub(crate) async fn get_array<T: DeserializeOwned>(
        &self,
        request: Request,
        what: &str,
    ) -> Result<Vec<T>, ApiError> {
        Ok(self.get_array_read(request).await?.warned(what))
    }

    /// GET a JSON array, and the items that could not be read.
    async fn get_array_read<T: DeserializeOwned>(
        &self,
        request: Request,
    ) -> Result<Read<T>, ApiError> {
        let response = self.send(request).await?;
        if response.status == StatusCode::NO_CONTENT || response.body.is_empty() {
            return Ok(Read::all(Vec::new()));
        }
        match response.json::<Vec<T>>() {
            Ok(items) => Ok(Read::all(items)),
            Err(strict) => {
                let items: Vec<Lenient<T>> = response.json().map_err(|_| strict)?;
                Ok(Read::from(items))
            }
        }
    }

    /// One page strictly, or item by item when that fails: its items and
    /// those that could not be read, and the next page's token.
    fn page_of<T: DeserializeOwned>(
        response: &Response,
    ) -> Result<(Read<T>, Option<String>), ApiError> {
        match response.json::<Page<T>>() {
            Ok(page) => Ok((Read::all(page.results), page.next_page_token)),
            Err(strict) => {
                let page: Page<Lenient<T>> = response.json().map_err(|_| strict)?;
                Ok((Read::from(page.results), page.next_page_token))
            }
        }
    }

    /// Every item of a paged list, following `nextPageToken`; items that
    /// cannot be read are left out with a warning.
    pub(crate) async fn list_all<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        extra: &[(&'static str, String)],
        what: &str,
    ) -> Result<Vec<T>, ApiError> {
        Ok(self.list_all_read(segments, extra).await?.warned(what))
    }

    /// Every item of a paged list, following `nextPageToken`, and the
    /// items that could not be read. `extra` adds query parameters to
    /// every page.
    async fn list_all_read<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        extra: &[(&'static str, String)],
    ) -> Result<Read<T>, ApiError> {
        self.list_all_read_each(segments, extra, |_| {}).await
    }

    /// [`RedstorClient::list_all_read`], showing `on_page` the items of
    /// each page as it arrives (before the next is asked for).
    async fn list_all_read_each<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        extra: &[(&'static str, String)],
        mut on_page: impl FnMut(&[T]),
    ) -> Result<Read<T>, ApiError> {
        let url = self.url(segments)?;
        let mut read = Read::all(Vec::new());
        let mut token: Option<String> = None;
        loop {
            let mut request =
                Request::new(Method::GET, url.clone()).query("maxResults", MAX_RESULTS);
            for (name, value) in extra {
                request = request.query(name, value);
            }
            request = match &token {
                None => request.query("shouldReturnCount", true),
                Some(token) => request.query("pageToken", token),
            };
            let response = self.send(request).await?;
            if response.status == StatusCode::NO_CONTENT || response.body.is_empty() {
                break;
            }
            let (page, next) = Self::page_of(&response)?;
            on_page(&page.items);
            read.extend(page);
            match next.filter(|t| !t.is_empty()) {
                Some(next) if Some(&next) != token.as_ref() => token = Some(next),
                Some(_) => {
                    return Err(ApiError::Decode {
                        request: format!("GET {}", url.path()),
                        detail: "at `nextPageToken`: the same token came back twice".into(),
                    });
                }
                None => break,
            }
        }
        Ok(read)
    }

    /// The account's root company (`GET /companies`).
    pub async fn root_company(&self) -> Result<Company, ApiError> {
        let response = self
            .send(Request::new(Method::GET, self.url(&["companies"])?))
            .await?;
        if response.status == StatusCode::NO_CONTENT {
            return Err(ApiError::Decode {
                request: "GET /companies".into(),
                detail: "the account has no root company".into(),
            });
        }
        response.json()
    }

    pub async fn company(&self, id: Uuid) -> Result<Option<Company>, ApiError> {
        self.get_optional(&["companies", &id.to_string()]).await
    }

    /// Every company below `id`, at any depth.
    pub async fn customers_transitive(&self, id: Uuid) -> Result<Vec<Company>, ApiError> {
        Ok(self.customers_transitive_read(id).await?.warned("company"))
    }

    /// Every company below `id`, at any depth, and those that could not be
    /// read.
    pub async fn customers_transitive_read(&self, id: Uuid) -> Result<Read<Company>, ApiError> {
        self.list_all_read(
            &["companies", &id.to_string(), "customers", "transitive"],
            &[],
        )
        .await
    }

    /// [`RedstorClient::customers_transitive_read`], showing `on_page` the
    /// companies of each page as it arrives, so that what depends on them
    /// can start while the next page is fetched.
    pub async fn customers_transitive_each(
        &self,
        id: Uuid,
        on_page: impl FnMut(&[Company]),
    ) -> Result<Read<Company>, ApiError> {
        self.list_all_read_each(
            &["companies", &id.to_string(), "customers", "transitive"],
            &[],
            on_page,
        )
        .await
    }

    /// Requests in flight to RedAPI at most: the width of a batch of
    /// independent reads (one at least, as the limiter allows).
    pub fn max_in_flight(&self) -> usize {
        self.http.max_in_flight_per_host().max(1)
    }

    /// The companies directly below `id`.
    pub async fn customers(&self, id: Uuid) -> Result<Vec<Company>, ApiError> {
        let segments = ["companies", &id.to_string(), "customers"];
        self.list_all(&segments, &[], "company").await
    }

    /// Companies of the account whose name contains `text`.
    pub async fn search(&self, text: &str) -> Result<Vec<Company>, ApiError> {
        let query = [("search", text.to_string())];
        self.list_all(&["companies", "search"], &query, "company")
            .await
    }

    /// Adds a customer or partner below `parent`. Not idempotent: an
    /// ambiguous failure must be resolved by looking for the name.
    pub async fn create_customer(
        &self,
        parent: Uuid,
        name: &str,
        company_type: CompanyType,
    ) -> Result<Company, ApiError> {
        let url = self.url(&["companies", &parent.to_string(), "customers"])?;
        let body = json!({ "companyName": name, "type": company_type.as_str() });
        self.send(Request::new(Method::POST, url).json(body))
            .await?
            .json()
    }

    /// Enables or disables a company.
    pub async fn set_enabled(&self, id: Uuid, enabled: bool) -> Result<(), ApiError> {
        let action = if enabled { "enable" } else { "disable" };
        let url = self.url(&["companies", &id.to_string(), action])?;
        self.send(Request::new(Method::PATCH, url)).await?;
        Ok(())
    }

    /// Moves `customer` below `new_parent`.
    pub async fn reassign(&self, new_parent: Uuid, customer: Uuid) -> Result<(), ApiError> {
        let url = self.url(&[
            "companies",
            &new_parent.to_string(),
            "customers",
            &customer.to_string(),
            "reassign",
        ])?;
        self.send(Request::new(Method::PATCH, url)).await?;
        Ok(())
    }

    /// Deletes a company (which must have no customers and no
    /// subscriptions). False when it was not there.
    pub async fn delete_company(&self, id: Uuid) -> Result<bool, ApiError> {
        let url = self.url(&["companies", &id.to_string()])?;
        match self.send(Request::new(Method::DELETE, url)).await {
            Ok(_) => Ok(true),
            Err(ApiError::Status { status: 404, .. }) => Ok(false),
            Err(err) => Err(err),
        }
    }

    pub async fn users(&self, company: Uuid) -> Result<Vec<User>, ApiError> {
        let query = [("companyId", company.to_string())];
        self.list_all(&["users", "list"], &query, "user").await
    }

    /// The product catalog.
    pub async fn products(&self) -> Result<Vec<Product>, ApiError> {
        let request = Request::new(Method::GET, self.url(&["products"])?);
        self.get_array(request, "product").await
    }

    pub async fn product(&self, id: u32) -> Result<Option<Product>, ApiError> {
        self.get_optional(&["products", &id.to_string()]).await
    }

    /// A company's subscriptions, including those being removed.
    pub async fn subscriptions(&self, company: Uuid) -> Result<Vec<Subscription>, ApiError> {
        Ok(self
            .subscriptions_read(company)
            .await?
            .warned("subscription"))
    }

    /// A company's subscriptions, and those that could not be read.
    pub async fn subscriptions_read(&self, company: Uuid) -> Result<Read<Subscription>, ApiError> {
        let url = self.url(&["companies", &company.to_string(), "subscriptions"])?;
        self.get_array_read(Request::new(Method::GET, url)).await
    }

    /// Subscribes a company to a product edition, as a trial or paid. Not
    /// idempotent: an ambiguous failure is resolved by listing. `None` when
    /// the server answered `204 No Content` (documented): the subscription
    /// is then found by listing too.
    pub async fn subscribe(
        &self,
        company: Uuid,
        product_id: u32,
        edition_id: u32,
        trial: bool,
    ) -> Result<Option<Subscription>, ApiError> {
        let company = company.to_string();
        let mut segments = vec!["companies", company.as_str(), "subscriptions"];
        if trial {
            segments.push("trial");
        }
        let body = json!({ "productId": product_id, "editionId": edition_id });
        let response = self
            .send(Request::new(Method::POST, self.url(&segments)?).json(body))
            .await?;
        if response.status == StatusCode::NO_CONTENT || response.body.is_empty() {
            return Ok(None);
        }
        response.json().map(Some)
    }

    /// Turns an active trial into a paid subscription.
    pub async fn convert_trial(&self, company: Uuid, subscription: Uuid) -> Result<(), ApiError> {
        let url = self.url(&[
            "companies",
            &company.to_string(),
            "subscriptions",
            &subscription.to_string(),
            "trial",
            "convert",
        ])?;
        self.send(Request::new(Method::PATCH, url)).await?;
        Ok(())
    }

    /// Removes a subscription: done at once, or queued.
    pub async fn unsubscribe(
        &self,
        company: Uuid,
        subscription: Uuid,
    ) -> Result<Removal, ApiError> {
        let url = self.url(&[
            "companies",
            &company.to_string(),
            "subscriptions",
            &subscription.to_string(),
        ])?;
        match self.send(Request::new(Method::DELETE, url)).await {
            Ok(response) if response.status == StatusCode::ACCEPTED => Ok(Removal::Queued),
            Ok(_) => Ok(Removal::Done),
            Err(ApiError::Status { status: 404, .. }) => Ok(Removal::Absent),
            Err(err) => Err(err),
        }
    }
}

/// What a refused or forbidden token means here.
const AUTH_HINTS: AuthHints = AuthHints {
    refused: (
        "RedAPI refused the token",
        "if REDSTOR_TOKEN is set it may have expired: unset it or supply a fresh one; otherwise check REDSTOR_CLIENT_ID and REDSTOR_PRIVATE_KEY_FILE",
    ),
    forbidden: (
        "the token may not do this",
        "the service account needs the scopes api.read and api.write",
    ),
};

/// The RedAPI client, or why there is none. Credentials are read up front
/// but a missing one is reported only when a Redstor resource needs them,
/// so that ECL-only manifests need no `REDSTOR_*` variable.
#[derive(Clone)]
pub struct RedstorAccess(Result<RedstorClient, (String, String)>);

impl RedstorAccess {
    pub fn new(client: RedstorClient) -> Self {
        RedstorAccess(Ok(client))
    }

    /// No client: any Redstor resource is refused with this reason.
    pub fn unavailable(message: impl Into<String>, hint: impl Into<String>) -> Self {
        RedstorAccess(Err((message.into(), hint.into())))
    }

    /// The client of the `REDSTOR_*` environment, or the reason there is none.
    pub fn from_env(http: HttpClient) -> Self {
        RedstorAccess(RedstorClient::from_env(http).map_err(|err| match err {
            ApiError::Config { message, hint } | ApiError::Auth { message, hint } => {
                (message, hint)
            }
            other => (other.to_string(), String::new()),
        }))
    }

    /// The client; the configuration error when there is none.
    pub fn client(&self) -> Result<&RedstorClient, ApiError> {
        self.0.as_ref().map_err(|(message, hint)| ApiError::Config {
            message: message.clone(),
            hint: hint.clone(),
        })
    }
}
