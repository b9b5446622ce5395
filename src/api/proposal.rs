//! The typed client of the ECL Proposal API v1 (API.md section 3): submit a
//! proposal (create, or replace with its `OrderId`), read one, list a
//! service's proposals. The vendor's PascalCase JSON, including the list's
//! misspelt `Proposalses` envelope, is spelt here and nowhere else on the
//! client side; the proposal XML is in [`super::proposal_xml`].

use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

use super::ecl::{EclClients, EclSession};
use super::error::{ApiError, AuthHints};
use super::http::Request;

/// The body of `POST /v1/proposal/update/{tenant_id}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Submission {
    /// 1 Japanese, 2 English.
    pub language: u32,
    pub service_id: u32,
    /// Absent to create; the proposal's id to replace it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(rename = "CustomerEMailAddress")]
    pub customer_email: String,
    pub proposal_xml: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SubmitAnswer {
    order_id: String,
    result: bool,
}

/// A proposal as Get Proposal and the list return it. Unknown fields are
/// ignored.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProposalRecord {
    pub order_id: String,
    pub service_id: u32,
    pub status_id: u32,
    pub tenant_id: String,
    #[serde(default)]
    pub proposal_date: Option<String>,
    #[serde(default)]
    pub update_date: Option<String>,
    #[serde(default)]
    pub delete_date: Option<String>,
    pub proposal_xml: String,
}

#[derive(Deserialize)]
struct DetailEnvelope {
    #[serde(rename = "Proposals")]
    proposals: ProposalRecord,
}

#[derive(Deserialize)]
struct ListEnvelope {
    #[serde(rename = "Proposalses")]
    proposalses: Vec<ProposalRecord>,
}

const LANGUAGE: HeaderName = HeaderName::from_static("language");

/// The Proposal API of one tenant.
#[derive(Clone)]
pub struct ProposalClient {
    session: EclSession,
}

/// The Proposal API answers a bad or expired token with 403
/// ("Unauthorized" in its documents), as it does a token of another tenant:
/// after one renewal, a 403 is one of the two.
const AUTH_HINTS: AuthHints = AuthHints {
    refused: super::ecl::AUTH_HINTS.refused,
    forbidden: (
        "the Proposal API refused the token, also after renewing it",
        "check OS_USERNAME and OS_PASSWORD (or OS_TOKEN), and that the credentials have access to the tenantId in the manifest",
    ),
};

/// The Proposal API on the tenant's regional host.
impl EclClients {
    /// The Proposal API client of one tenant (the same regional host).
    pub fn proposal_for(
        &self,
        tenant_id: &str,
        region: &str,
        endpoint: Option<&str>,
    ) -> Result<ProposalClient, ApiError> {
        Ok(ProposalClient::new(
            self.session(tenant_id, region, endpoint)?,
        ))
    }
}

impl ProposalClient {
    pub fn new(session: EclSession) -> Self {
        ProposalClient {
            session: session.renewing_on(&[401, 403], &AUTH_HINTS),
        }
    }

    fn url(&self, rest: &[&str]) -> Result<reqwest::Url, ApiError> {
        let tenant = self.session.target().tenant.as_str();
        let mut segments = vec!["v1", "proposal"];
        segments.push(rest[0]);
        segments.push(tenant);
        segments.extend_from_slice(&rest[1..]);
        self.session.target().url(&segments)
    }

    /// Creates (no `order_id`) or replaces a proposal; returns its `OrderId`.
    /// A create is not repeated after an ambiguous failure; a replace is.
    pub async fn submit(&self, submission: &Submission) -> Result<String, ApiError> {
        let mut request =
            Request::new(Method::POST, self.url(&["update"])?).json(serde_json::json!(submission));
        if submission.order_id.is_some() {
            request = request.idempotent();
        }
        let label = request.label();
        let answer: SubmitAnswer = self.session.send(request).await?.json()?;
        if !answer.result {
            return Err(ApiError::Decode {
                request: label,
                detail: format!("`Result` is false for order {}", answer.order_id),
            });
        }
        Ok(answer.order_id)
    }

    /// One proposal, its XML in `language` (1 Japanese, 2 English).
    pub async fn detail(
        &self,
        service_id: u32,
        order_id: &str,
        language: u32,
    ) -> Result<ProposalRecord, ApiError> {
        let url = self.url(&["detail", &service_id.to_string(), order_id])?;
        let request = Request::new(Method::GET, url).header(LANGUAGE, HeaderValue::from(language));
        let envelope: DetailEnvelope = self.session.send(request).await?.json()?;
        Ok(envelope.proposals)
    }

    /// Every proposal of a service in the tenant.
    pub async fn list(
        &self,
        service_id: u32,
        language: u32,
    ) -> Result<Vec<ProposalRecord>, ApiError> {
        let url = self.url(&["list", &service_id.to_string()])?;
        let request = Request::new(Method::GET, url).header(LANGUAGE, HeaderValue::from(language));
        let envelope: ListEnvelope = self.session.send(request).await?.json()?;
        Ok(envelope.proposalses)
    }
}
