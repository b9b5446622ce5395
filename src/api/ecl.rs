//! What the ECL APIs (Arcserve UDP, Proposal) share: the tenant id, the
//! regional hosts, and an authenticated session that sends a request with a
//! tenant-scoped token and renews the token once when the server refuses it.

use std::fmt;
use std::sync::Arc;

use reqwest::Url;
use reqwest::header::HeaderName;

use super::error::{ApiError, AuthHints};
use super::http::{HttpClient, Request, Response, checked_base_url, join_segments};
use super::keystone::Keystone;

/// An ECL tenant id: 32 lower-case hex digits, the form the Arcserve API
/// wants. Hyphens and upper case are accepted on input and normalised
/// (API.md section 5).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(String);

impl TenantId {
    pub fn parse(value: &str) -> Result<Self, ApiError> {
        let normalised: String = value
            .chars()
            .filter(|c| *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if normalised.len() == 32 && normalised.chars().all(|c| c.is_ascii_hexdigit()) {
            Ok(TenantId(normalised))
        } else {
            Err(ApiError::config(
                format!("`{value}` is not an ECL tenant id"),
                "a tenant id is 32 hexadecimal digits, e.g. cab37c0a5c40450d9038463783b7d53e",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where one tenant's requests go: the API host and the Keystone that issues
/// its tokens.
#[derive(Clone, Debug)]
pub struct EclTarget {
    pub tenant: TenantId,
    pub api_base: Url,
    pub auth_url: Url,
}

impl EclTarget {
    /// Resolves the hosts of a tenant in `region` (`jp1`..`jp9`):
    /// `endpoint` (the manifest's override, or `ENTITLE_ECL_ENDPOINT`) wins
    /// over the regional `https://soy-{region}-ecl.api.ntt.com`; the
    /// credentials' `OS_AUTH_URL` wins over `{endpoint}/v3` and the regional
    /// `https://keystone-{region}-ecl.api.ntt.com/v3`.
    pub fn resolve(
        tenant: TenantId,
        region: &str,
        endpoint: Option<&str>,
        auth_url: Option<&Url>,
    ) -> Result<Self, ApiError> {
        let region_ok = region.len() == 3
            && region.starts_with("jp")
            && region[2..].chars().all(|c| ('1'..='9').contains(&c));
        if !region_ok {
            return Err(ApiError::config(
                format!("`{region}` is not an ECL region"),
                "regions are jp1 to jp9",
            ));
        }
        let api_base = match endpoint {
            Some(endpoint) => checked_base_url(endpoint, "the ECL endpoint")?,
            None => checked_base_url(
                &format!("https://soy-{region}-ecl.api.ntt.com"),
                "the ECL endpoint",
            )?,
        };
        let auth_url = match (auth_url, endpoint) {
            (Some(url), _) => url.clone(),
            (None, Some(_)) => join_segments(&api_base, &["v3"])?,
            (None, None) => checked_base_url(
                &format!("https://keystone-{region}-ecl.api.ntt.com/v3"),
                "the Keystone URL",
            )?,
        };
        Ok(EclTarget {
            tenant,
            api_base,
            auth_url,
        })
    }

    /// `{api_base}/{segments...}` with every segment percent-encoded.
    pub fn url(&self, segments: &[&str]) -> Result<Url, ApiError> {
        join_segments(&self.api_base, segments)
    }
}

/// Sends requests for one tenant with its token.
#[derive(Clone)]
pub struct EclSession {
    http: HttpClient,
    keystone: Arc<Keystone>,
    target: EclTarget,
    /// The statuses that mean the token was refused (renew and repeat).
    renew_on: &'static [u16],
    hints: &'static AuthHints,
}

const X_AUTH_TOKEN: HeaderName = HeaderName::from_static("x-auth-token");

impl EclSession {
    pub fn new(http: HttpClient, keystone: Arc<Keystone>, target: EclTarget) -> Self {
        EclSession {
            http,
            keystone,
            target,
            renew_on: &[401],
            hints: &AUTH_HINTS,
        }
    }

    /// The same session for an API that answers a refused token with one
    /// of `statuses` (the Proposal API documents 403), saying `hints`.
    #[must_use]
    pub(crate) fn renewing_on(
        mut self,
        statuses: &'static [u16],
        hints: &'static AuthHints,
    ) -> Self {
        self.renew_on = statuses;
        self.hints = hints;
        self
    }

    pub fn target(&self) -> &EclTarget {
        &self.target
    }

    /// Sends `request` with the tenant's token; after a refusal (a 401, or
    /// what [`EclSession::renewing_on`] says) the token is renewed and the
    /// request sent once more.
    pub async fn send(&self, request: Request) -> Result<Response, ApiError> {
        let target = &self.target;
        let token = self
            .keystone
            .token(&target.auth_url, &target.tenant)
            .await?;
        let first = request.clone().secret_header(X_AUTH_TOKEN, &token)?;
        match self.http.send(&first).await {
            Err(ApiError::Status { status, .. })
                if self.renew_on.contains(&status)
                    && self
                        .keystone
                        .invalidate(&target.auth_url, &target.tenant, &token)
                        .await =>
            {
                tracing::debug!("{}: token refused; issuing a new one", first.label());
                let token = self
                    .keystone
                    .token(&target.auth_url, &target.tenant)
                    .await?;
                let second = request.secret_header(X_AUTH_TOKEN, &token)?;
                self.http
                    .send(&second)
                    .await
                    .map_err(|err| err.with_auth_hints(self.hints))
            }
            other => other.map_err(|err| err.with_auth_hints(self.hints)),
        }
    }
}

/// What a refused or forbidden token means here.
pub(crate) const AUTH_HINTS: AuthHints = AuthHints {
    refused: (
        "the server refused the token",
        "if OS_TOKEN is set it may have expired: unset it or supply a fresh one; otherwise check OS_USERNAME and OS_PASSWORD",
    ),
    forbidden: (
        "the token is not allowed here",
        "the credentials must have access to this tenant; check the tenantId in the manifest",
    ),
};

/// What it takes to reach any ECL tenant: the HTTP layer, one token cache
/// for all tenants, and the endpoint override (`ENTITLE_ECL_ENDPOINT`).
#[derive(Clone)]
pub struct EclClients {
    http: HttpClient,
    keystone: Arc<Keystone>,
    endpoint_override: Option<String>,
}

impl EclClients {
    pub fn new(
        http: HttpClient,
        keystone: Arc<Keystone>,
        endpoint_override: Option<String>,
    ) -> Self {
        EclClients {
            http,
            keystone,
            endpoint_override,
        }
    }

    /// A session for one tenant; the override wins over the manifest's
    /// `endpoint`, which wins over the regional host.
    pub fn session(
        &self,
        tenant_id: &str,
        region: &str,
        endpoint: Option<&str>,
    ) -> Result<EclSession, ApiError> {
        let endpoint = self.endpoint_override.as_deref().or(endpoint);
        let target = EclTarget::resolve(
            TenantId::parse(tenant_id)?,
            region,
            endpoint,
            self.keystone.credentials().auth_url.as_ref(),
        )?;
        Ok(EclSession::new(
            self.http.clone(),
            self.keystone.clone(),
            target,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_are_normalised() {
        let id = TenantId::parse("CAB37C0A-5C40-450D-9038-463783B7D53E").unwrap();
        assert_eq!(id.as_str(), "cab37c0a5c40450d9038463783b7d53e");
        assert!(TenantId::parse("cab37c0a").is_err());
        assert!(TenantId::parse("../../../etc/passwd0000000000000").is_err());
    }

    #[test]
    fn regional_hosts_are_the_default() {
        let tenant = TenantId::parse("cab37c0a5c40450d9038463783b7d53e").unwrap();
        let target = EclTarget::resolve(tenant.clone(), "jp3", None, None).unwrap();
        assert_eq!(target.api_base.as_str(), "https://soy-jp3-ecl.api.ntt.com/");
        assert_eq!(
            target.auth_url.as_str(),
            "https://keystone-jp3-ecl.api.ntt.com/v3"
        );
        let local =
            EclTarget::resolve(tenant.clone(), "jp1", Some("http://127.0.0.1:7000"), None).unwrap();
        assert_eq!(local.auth_url.as_str(), "http://127.0.0.1:7000/v3");
        assert!(EclTarget::resolve(tenant, "jp0", None, None).is_err());
    }
}
