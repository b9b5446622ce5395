//! Keystone v3 password authentication for the ECL APIs (API.md section 1).
//!
//! Credentials come from the `OS_*` environment, the OpenStack convention
//! ECL's own tools use. Tokens are scoped to one tenant and cached per
//! (auth URL, tenant); a token is renewed when it is within five minutes of
//! its expiry, or after the server refused it once. Concurrent requests for
//! the same tenant wait for one token request instead of sending their own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, Url};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::ecl::TenantId;
use super::error::ApiError;
use super::http::{HttpClient, Request, checked_base_url};
use super::secret::Secret;

/// Renew a token this long before it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(5 * 60);

const CREDENTIALS_HINT: &str = "export OS_USERNAME=<API key> and OS_PASSWORD=<API secret> \
     (and OS_AUTH_URL for a non-default Keystone), or OS_TOKEN=<token>";

/// How to get ECL tokens: an API key and secret, or a ready token.
#[derive(Clone, Debug)]
pub struct EclCredentials {
    /// `OS_AUTH_URL`; when absent, each tenant's regional Keystone is used.
    pub auth_url: Option<Url>,
    pub login: Login,
    /// `OS_PROJECT_ID` / `OS_TENANT_ID`: the default tenant, when one is needed
    /// without a manifest.
    pub project_id: Option<String>,
}

/// The two ways to authenticate.
#[derive(Clone, Debug)]
pub enum Login {
    /// `OS_USERNAME` (API key), `OS_PASSWORD` (API secret), `OS_USER_DOMAIN_ID`.
    Password {
        username: String,
        password: Secret,
        user_domain_id: String,
    },
    /// `OS_TOKEN`: used as it is, never renewed.
    Token(Secret),
    /// No credentials were given: fine until an ECL resource needs a token.
    Missing { message: String, hint: String },
}

impl EclCredentials {
    /// Reads the `OS_*` variables of the process environment.
    pub fn from_env() -> Result<Self, ApiError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the `OS_*` variables through `get`, for callers with their own
    /// environment (the demo, tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ApiError> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let auth_url = get("OS_AUTH_URL")
            .map(|url| checked_base_url(&url, "OS_AUTH_URL"))
            .transpose()?;
        let project_id = get("OS_PROJECT_ID").or_else(|| get("OS_TENANT_ID"));
        let login = if let Some(token) = get("OS_TOKEN") {
            Login::Token(Secret::new(token))
        } else {
            let username = get("OS_USERNAME").ok_or_else(|| ApiError::Auth {
                message: "no ECL credentials: OS_USERNAME is not set".into(),
                hint: CREDENTIALS_HINT.into(),
            })?;
            let password = get("OS_PASSWORD").ok_or_else(|| ApiError::Auth {
                message: "no ECL credentials: OS_PASSWORD is not set".into(),
                hint: CREDENTIALS_HINT.into(),
            })?;
            Login::Password {
                username,
                password: Secret::new(password),
                user_domain_id: get("OS_USER_DOMAIN_ID").unwrap_or_else(|| "default".into()),
            }
        };
        Ok(EclCredentials {
            auth_url,
            login,
            project_id,
        })
    }

    /// The `OS_*` environment; when it holds no credentials, a value that
    /// says so the first time an ECL request needs a token (manifests with
    /// only Redstor resources need none). A malformed variable is still an
    /// error at once.
    pub fn from_env_or_missing() -> Result<Self, ApiError> {
        match Self::from_env() {
            Err(ApiError::Auth { message, hint }) => Ok(EclCredentials {
                auth_url: None,
                login: Login::Missing { message, hint },
                project_id: None,
            }),
            other => other,
        }
    }

    /// The simulator's default account (`demo` / `demo-secret`).
    pub fn demo(auth_url: Url) -> Self {
        EclCredentials {
            auth_url: Some(auth_url),
            login: Login::Password {
                username: "demo".into(),
                password: Secret::new("demo-secret"),
                user_domain_id: "default".into(),
            },
            project_id: None,
        }
    }
}

#[derive(Clone)]
struct CachedToken {
    token: Secret,
    expires_at: OffsetDateTime,
}

type Slot = Arc<tokio::sync::Mutex<Option<CachedToken>>>;

/// Issues and caches tenant-scoped tokens.
pub struct Keystone {
    http: HttpClient,
    credentials: EclCredentials,
    slots: Mutex<HashMap<(String, String), Slot>>,
}

impl Keystone {
    pub fn new(http: HttpClient, credentials: EclCredentials) -> Self {
        Keystone {
            http,
            credentials,
            slots: Mutex::new(HashMap::new()),
        }
    }

    pub fn credentials(&self) -> &EclCredentials {
        &self.credentials
    }

    /// A token for `tenant` from the Keystone at `auth_url`, reused while it
    /// has more than five minutes to live.
    pub async fn token(&self, auth_url: &Url, tenant: &TenantId) -> Result<Secret, ApiError> {
        let (username, password, user_domain_id) = match &self.credentials.login {
            Login::Token(token) => return Ok(token.clone()),
            Login::Missing { message, hint } => {
                return Err(ApiError::Auth {
                    message: message.clone(),
                    hint: hint.clone(),
                });
            }
            Login::Password {
                username,
                password,
                user_domain_id,
            } => (username, password, user_domain_id),
        };
        let slot = self.slot(auth_url, tenant);
        let mut cached = slot.lock().await;
        if let Some(entry) = cached.as_ref()
            && entry.expires_at - OffsetDateTime::now_utc() > RENEW_BEFORE
        {
            return Ok(entry.token.clone());
        }
        let fresh = self
            .issue(auth_url, tenant, username, password, user_domain_id)
            .await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    /// Forgets `stale` (a token the server refused) so the next call issues a
    /// new one. Returns false when the token cannot be renewed (`OS_TOKEN`).
    pub async fn invalidate(&self, auth_url: &Url, tenant: &TenantId, stale: &Secret) -> bool {
        if matches!(
            self.credentials.login,
            Login::Token(_) | Login::Missing { .. }
        ) {
            return false;
        }
        let slot = self.slot(auth_url, tenant);
        let mut cached = slot.lock().await;
        if cached.as_ref().is_some_and(|entry| &entry.token == stale) {
            *cached = None;
        }
        true
    }

    fn slot(&self, auth_url: &Url, tenant: &TenantId) -> Slot {
        let key = (auth_url.to_string(), tenant.as_str().to_string());
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        slots.entry(key).or_default().clone()
    }

    async fn issue(
        &self,
        auth_url: &Url,
        tenant: &TenantId,
        username: &str,
        password: &Secret,
        user_domain_id: &str,
    ) -> Result<CachedToken, ApiError> {
        let url = tokens_url(auth_url)?;
        let body = json!({
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "domain": {"id": user_domain_id},
                            "name": username,
                            "password": password.expose(),
                        }
                    }
                },
                "scope": {"project": {"id": tenant.as_str()}}
            }
        });
        let request = Request::new(Method::POST, url).json(body).idempotent();
        let response = self.http.send(&request).await.map_err(|err| match err {
            ApiError::Status {
                status: 401,
                message,
                ..
            } => ApiError::Auth {
                message: format!(
                    "Keystone refused the credentials of `{username}` for tenant {tenant}: {message}"
                ),
                hint: "check OS_USERNAME (API key), OS_PASSWORD (API secret) and OS_USER_DOMAIN_ID"
                    .into(),
            },
            other => other,
        })?;
        let token = response
            .header("x-subject-token")
            .ok_or_else(|| ApiError::Decode {
                request: request.label(),
                detail: "the answer has no X-Subject-Token header".into(),
            })?
            .to_string();
        let body: TokenBody = response.json()?;
        let expires_at =
            OffsetDateTime::parse(&body.token.expires_at, &Rfc3339).map_err(|err| {
                ApiError::Decode {
                    request: request.label(),
                    detail: format!(
                        "at `token.expires_at`: `{}` is not an RFC 3339 time: {err}",
                        body.token.expires_at
                    ),
                }
            })?;
        tracing::debug!("issued a Keystone token for tenant {tenant}, expires {expires_at}");
        Ok(CachedToken {
            token: Secret::new(token),
            expires_at,
        })
    }
}

/// `{auth_url}/auth/tokens`, where `auth_url` is the Keystone v3 root
/// (`.../v3`); a root without the version gets it appended.
fn tokens_url(auth_url: &Url) -> Result<Url, ApiError> {
    let mut url = auth_url.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
    }
    let has_version = url.path().trim_end_matches('/').ends_with("/v3");
    let mut segments: Vec<&str> = Vec::new();
    if !has_version {
        segments.push("v3");
    }
    segments.extend(["auth", "tokens"]);
    super::http::join_segments(&url, &segments)
}

#[derive(Deserialize)]
struct TokenBody {
    token: TokenInfo,
}

#[derive(Deserialize)]
struct TokenInfo {
    expires_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn password_credentials_come_from_os_variables() {
        let creds = EclCredentials::from_lookup(env(&[
            ("OS_AUTH_URL", "https://keystone-jp1-ecl.api.ntt.com/v3"),
            ("OS_USERNAME", "key"),
            ("OS_PASSWORD", "s3cret"),
            ("OS_TENANT_ID", "cab37c0a5c40450d9038463783b7d53e"),
        ]))
        .unwrap();
        let Login::Password {
            username,
            user_domain_id,
            ..
        } = &creds.login
        else {
            panic!("expected password login");
        };
        assert_eq!(username, "key");
        assert_eq!(user_domain_id, "default");
        assert_eq!(
            creds.project_id.as_deref(),
            Some("cab37c0a5c40450d9038463783b7d53e")
        );
        assert!(!format!("{creds:?}").contains("s3cret"));
    }

    #[test]
    fn missing_password_says_what_to_export() {
        let err = EclCredentials::from_lookup(env(&[("OS_USERNAME", "key")])).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("OS_PASSWORD is not set"), "{text}");
        assert!(text.contains("hint: export"), "{text}");
    }

    #[test]
    fn a_ready_token_needs_no_password() {
        let creds = EclCredentials::from_lookup(env(&[("OS_TOKEN", "abc")])).unwrap();
        assert!(matches!(creds.login, Login::Token(_)));
    }

    #[test]
    fn plain_http_auth_url_is_refused_off_loopback() {
        let err = EclCredentials::from_lookup(env(&[
            ("OS_AUTH_URL", "http://keystone.example.com/v3"),
            ("OS_TOKEN", "abc"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("not loopback"), "{err}");
    }

    #[test]
    fn token_url_appends_the_version_only_when_missing() {
        let with = Url::parse("https://keystone-jp1-ecl.api.ntt.com/v3/").unwrap();
        let without = Url::parse("http://127.0.0.1:9/").unwrap();
        assert_eq!(
            tokens_url(&with).unwrap().as_str(),
            "https://keystone-jp1-ecl.api.ntt.com/v3/auth/tokens"
        );
        assert_eq!(
            tokens_url(&without).unwrap().as_str(),
            "http://127.0.0.1:9/v3/auth/tokens"
        );
    }
}
