//! RedAPI authentication (API.md section 1): OAuth 2.0 client credentials
//! with `private_key_jwt`. A service account's private key signs a short
//! RS256 assertion; the token endpoint trades it for a bearer token, which is
//! cached until five minutes before it expires and renewed after one 401.
//!
//! The key is read from `REDSTOR_PRIVATE_KEY_FILE` as PEM (PKCS#8 or PKCS#1)
//! or as the JWK the Redstor portal hands out, and signed with `ring`. Neither
//! the key, the assertion nor the token ever reaches a log, an error or a
//! `Debug` output.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, Url};
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use super::error::ApiError;
use super::http::{HttpClient, Request, checked_base_url};
use super::secret::Secret;

/// The vendor's token endpoint.
pub const DEFAULT_TOKEN_URL: &str = "https://id.redstor.com/connect/token";
/// The vendor's API root.
pub const DEFAULT_API_URL: &str = "https://api.redstor.com/";
/// The scopes entitle asks for: it reads and changes companies and subscriptions.
pub const SCOPE: &str = "api.read api.write";
/// Where the token will be used (the `resource` form field).
const RESOURCE: &str = "https://api.redstor.com/";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// How long an assertion is valid (API.md: `exp` = now + 5 min).
const ASSERTION_LIFETIME: time::Duration = time::Duration::minutes(5);
/// How far `iat` and `nbf` are set back, for clocks that disagree a little.
const CLOCK_SKEW: time::Duration = time::Duration::seconds(30);
/// A token is renewed when it has less than this left.
const RENEW_BEFORE: time::Duration = time::Duration::minutes(5);

/// How entitle signs in to RedAPI, from the `REDSTOR_*` environment.
#[derive(Clone, Debug)]
pub struct RedstorCredentials {
    pub api_url: Url,
    pub token_url: Url,
    pub login: RedstorLogin,
}

/// A service account's key, or a ready token.
#[derive(Clone, Debug)]
pub enum RedstorLogin {
    /// `REDSTOR_CLIENT_ID` + `REDSTOR_PRIVATE_KEY_FILE`.
    ServiceAccount {
        client_id: String,
        key: Arc<SigningKey>,
    },
    /// `REDSTOR_TOKEN`: used as it is, never renewed.
    Token(Secret),
}

impl RedstorCredentials {
    /// A service account whose key is already in memory (the simulator's
    /// demo account); `source` names the key in errors.
    pub fn service_account(
        api_url: &str,
        token_url: &str,
        client_id: &str,
        key: &[u8],
        source: &Path,
    ) -> Result<Self, ApiError> {
        Ok(RedstorCredentials {
            api_url: checked_base_url(api_url, "the RedAPI URL")?,
            token_url: checked_base_url(token_url, "the Redstor token URL")?,
            login: RedstorLogin::ServiceAccount {
                client_id: client_id.to_string(),
                key: Arc::new(SigningKey::parse(key, source)?),
            },
        })
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ApiError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Reads credentials through `get` (the environment, or a test's table).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ApiError> {
        let api_url = checked_base_url(
            get("REDSTOR_API_URL").as_deref().unwrap_or(DEFAULT_API_URL),
            "REDSTOR_API_URL",
        )?;
        let token_url = checked_base_url(
            get("REDSTOR_TOKEN_URL")
                .as_deref()
                .unwrap_or(DEFAULT_TOKEN_URL),
            "REDSTOR_TOKEN_URL",
        )?;
        let login = if let Some(token) = get("REDSTOR_TOKEN") {
            RedstorLogin::Token(Secret::new(token))
        } else {
            let missing = |name: &str| {
                ApiError::config(
                    format!("{name} is not set, and Redstor resources need it"),
                    "set REDSTOR_CLIENT_ID and REDSTOR_PRIVATE_KEY_FILE (the service account's \
                     client id and private key file from the Redstor portal), or REDSTOR_TOKEN",
                )
            };
            let client_id = get("REDSTOR_CLIENT_ID").ok_or_else(|| missing("REDSTOR_CLIENT_ID"))?;
            let path = get("REDSTOR_PRIVATE_KEY_FILE")
                .ok_or_else(|| missing("REDSTOR_PRIVATE_KEY_FILE"))?;
            let key = SigningKey::read(Path::new(&path))?;
            RedstorLogin::ServiceAccount {
                client_id,
                key: Arc::new(key),
            }
        };
        Ok(RedstorCredentials {
            api_url,
            token_url,
            login,
        })
    }
}

/// An RSA private key that signs assertions. Its `Debug` shows only where
/// it came from.
pub struct SigningKey {
    pair: RsaKeyPair,
    source: PathBuf,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Reads a PEM (PKCS#8 or PKCS#1) or JWK file.
    pub fn read(path: &Path) -> Result<Self, ApiError> {
        let bytes = std::fs::read(path).map_err(|err| {
            ApiError::config(
                format!(
                    "could not read the Redstor private key {}: {err}",
                    path.display()
                ),
                "REDSTOR_PRIVATE_KEY_FILE must name a readable PEM or JWK file",
            )
        })?;
        Self::parse(&bytes, path)
    }

    /// Parses key bytes; `source` names them in errors.
    pub fn parse(bytes: &[u8], source: &Path) -> Result<Self, ApiError> {
        let refuse = |what: String| {
            ApiError::config(
                format!("{} {what}", source.display()),
                "use the private key the Redstor portal gave for the service account: a PEM \
                 file (BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY) or its JWK",
            )
        };
        let text = String::from_utf8_lossy(bytes);
        let pair = if text.trim_start().starts_with('{') {
            let jwk: JwkFile = serde_json::from_slice(bytes)
                .map_err(|err| refuse(format!("is not a JWK: {err}")))?;
            jwk.key_pair().map_err(refuse)?
        } else {
            match PrivateKeyDer::from_pem_slice(bytes) {
                Ok(PrivateKeyDer::Pkcs8(der)) => RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()),
                Ok(PrivateKeyDer::Pkcs1(der)) => RsaKeyPair::from_der(der.secret_pkcs1_der()),
                Ok(_) => return Err(refuse("holds a key that is not RSA".into())),
                Err(err) => return Err(pem_refusal(&err, source)),
            }
            .map_err(|err| refuse(format!("is not a usable RSA key: {err}")))?
        };
        Ok(SigningKey {
            pair,
            source: source.to_path_buf(),
        })
    }

    /// A signed `private_key_jwt` assertion for `client_id` at `audience`.
    pub fn assertion(
        &self,
        client_id: &str,
        audience: &str,
        now: OffsetDateTime,
    ) -> Result<Secret, ApiError> {
        let header = json!({ "alg": "RS256", "typ": "JWT" });
        // Back-dated a little, so that a client clock slightly ahead of the
        // identity server's does not make the assertion "not yet valid".
        let issued = (now - CLOCK_SKEW).unix_timestamp();
        let claims = json!({
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "jti": uuid::Uuid::new_v4().to_string(),
            "iat": issued,
            "nbf": issued,
            "exp": (now + ASSERTION_LIFETIME).unix_timestamp(),
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.pair.public().modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| {
                ApiError::config(
                    format!("could not sign with the key in {}", self.source.display()),
                    "check that REDSTOR_PRIVATE_KEY_FILE holds an RSA key of 2048 bits or more",
                )
            })?;
        Ok(Secret::new(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        )))
    }
}

/// Why a key file is not PEM, in words (the parser's own message lists the
/// bytes of the marker it missed), with what to do.
fn pem_refusal(error: &rustls_pki_types::pem::Error, source: &Path) -> ApiError {
    use rustls_pki_types::pem::Error;
    let copy_again = "copy the service account's whole private key from the Redstor portal \
                      again, from its `-----BEGIN` line to its `-----END` line, into the file \
                      REDSTOR_PRIVATE_KEY_FILE names";
    let (problem, hint) = match error {
        Error::MissingSectionEnd { end_marker } => {
            let label = String::from_utf8_lossy(end_marker);
            (
                format!(
                    "is cut short: it has a `-----BEGIN {label}-----` line and no `-----END {label}-----` line"
                ),
                copy_again,
            )
        }
        Error::IllegalSectionStart { .. } => ("has a damaged `-----BEGIN` line".into(), copy_again),
        Error::Base64Decode(_) => (
            "is damaged: the text between its BEGIN and END lines is not base64".into(),
            copy_again,
        ),
        Error::SectionTooLarge => ("is far too large for a private key".into(), copy_again),
        // `NoItemsFound`, and what a later version of the parser adds.
        _ => (
            "holds no PEM private key (no `-----BEGIN PRIVATE KEY-----` or `-----BEGIN RSA PRIVATE KEY-----` line)".into(),
            "use the private key the Redstor portal gave for the service account: a PEM \
             file (BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY) or its JWK",
        ),
    };
    ApiError::config(
        format!("the Redstor private key {} {problem}", source.display()),
        hint,
    )
}

/// A JWK, or a JWK set holding one key.
#[derive(Deserialize)]
#[serde(untagged)]
enum JwkFile {
    Set { keys: Vec<Jwk> },
    One(Jwk),
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    n: String,
    e: String,
    d: Option<String>,
    p: Option<String>,
    q: Option<String>,
    dp: Option<String>,
    dq: Option<String>,
    qi: Option<String>,
}

impl JwkFile {
    fn key_pair(self) -> Result<RsaKeyPair, String> {
        let jwk = match self {
            JwkFile::One(jwk) => jwk,
            JwkFile::Set { mut keys } if keys.len() == 1 => keys.remove(0),
            JwkFile::Set { keys } => {
                return Err(format!(
                    "is a JWK set of {} keys; keep only one",
                    keys.len()
                ));
            }
        };
        if jwk.kty != "RSA" {
            return Err(format!("is a `{}` JWK, not an RSA one", jwk.kty));
        }
        let decode = |name: &str, value: &Option<String>| -> Result<Vec<u8>, String> {
            let value = value
                .as_deref()
                .ok_or_else(|| format!("is a public JWK: `{name}` is missing"))?;
            URL_SAFE_NO_PAD
                .decode(value.trim_end_matches('='))
                .map_err(|_| format!("has a `{name}` that is not base64url"))
        };
        let (n, e) = (
            decode("n", &Some(jwk.n.clone()))?,
            decode("e", &Some(jwk.e.clone()))?,
        );
        let (d, p, q) = (
            decode("d", &jwk.d)?,
            decode("p", &jwk.p)?,
            decode("q", &jwk.q)?,
        );
        let (dp, dq, qi) = (
            decode("dp", &jwk.dp)?,
            decode("dq", &jwk.dq)?,
            decode("qi", &jwk.qi)?,
        );
        let components = ring::rsa::KeyPairComponents {
            public_key: ring::rsa::PublicKeyComponents { n, e },
            d,
            p,
            q,
            dP: dp,
            dQ: dq,
            qInv: qi,
        };
        RsaKeyPair::from_components(&components)
            .map_err(|err| format!("is not a usable RSA key: {err}"))
    }
}

#[derive(Clone)]
struct CachedToken {
    token: Secret,
    expires_at: OffsetDateTime,
}

/// Issues and caches the bearer token of one service account.
pub struct RedstorAuth {
    http: HttpClient,
    credentials: RedstorCredentials,
    cached: tokio::sync::Mutex<Option<CachedToken>>,
}

impl RedstorAuth {
    pub fn new(http: HttpClient, credentials: RedstorCredentials) -> Self {
        RedstorAuth {
            http,
            credentials,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    pub fn credentials(&self) -> &RedstorCredentials {
        &self.credentials
    }

    /// The bearer token, reused while it has more than five minutes to live.
    pub async fn token(&self) -> Result<Secret, ApiError> {
        let (client_id, key) = match &self.credentials.login {
            RedstorLogin::Token(token) => return Ok(token.clone()),
            RedstorLogin::ServiceAccount { client_id, key } => (client_id, key),
        };
        let mut cached = self.cached.lock().await;
        if let Some(entry) = cached.as_ref()
            && entry.expires_at - OffsetDateTime::now_utc() > RENEW_BEFORE
        {
            return Ok(entry.token.clone());
        }
        let fresh = self.issue(client_id, key).await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    /// Forgets `stale` (a token the server refused). False when the token
    /// cannot be renewed (`REDSTOR_TOKEN`).
    pub async fn invalidate(&self, stale: &Secret) -> bool {
        if matches!(self.credentials.login, RedstorLogin::Token(_)) {
            return false;
        }
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|entry| &entry.token == stale) {
            *cached = None;
        }
        true
    }

    async fn issue(&self, client_id: &str, key: &SigningKey) -> Result<CachedToken, ApiError> {
        let token_url = &self.credentials.token_url;
        let label = format!("POST {}", token_url.path());
        // Every attempt signs a new assertion: its `jti` may be used once.
        let make = || {
            let assertion =
                key.assertion(client_id, token_url.as_str(), OffsetDateTime::now_utc())?;
            let form = [
                ("grant_type", "client_credentials"),
                ("scope", SCOPE),
                ("resource", RESOURCE),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", assertion.expose()),
            ];
            Ok(Request::new(Method::POST, token_url.clone())
                .form(&form)
                .idempotent())
        };
        let now = OffsetDateTime::now_utc();
        let response = self
            .http
            .send_each(label.clone(), make)
            .await
            .map_err(|err| match err {
                ApiError::Status {
                    status: 400 | 401,
                    message,
                    ..
                } => ApiError::Auth {
                    message: format!(
                        "the Redstor token endpoint refused service account `{client_id}`: {message}"
                    ),
                    hint: "check REDSTOR_CLIENT_ID and that REDSTOR_PRIVATE_KEY_FILE is the key \
                           registered for it, and that this machine's clock is right"
                        .into(),
                },
                other => other,
            })?;
        let body: TokenAnswer = response.json()?;
        if !body.token_type.eq_ignore_ascii_case("bearer") {
            return Err(ApiError::Decode {
                request: label,
                detail: format!(
                    "at `token_type`: `{}` is not a bearer token",
                    body.token_type
                ),
            });
        }
        tracing::debug!(
            "issued a Redstor token for `{client_id}`, valid {} s",
            body.expires_in
        );
        Ok(CachedToken {
            token: Secret::new(body.access_token),
            expires_at: now + time::Duration::seconds(body.expires_in),
        })
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: i64,
    token_type: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn missing_credentials_say_what_to_set() {
        let err = RedstorCredentials::from_lookup(env(&[])).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("REDSTOR_CLIENT_ID is not set"), "{text}");
        assert!(text.contains("REDSTOR_TOKEN"), "{text}");
    }

    #[test]
    fn a_ready_token_needs_no_key_and_plain_http_only_on_loopback() {
        let creds = RedstorCredentials::from_lookup(env(&[
            ("REDSTOR_TOKEN", "t0ken"),
            ("REDSTOR_API_URL", "http://127.0.0.1:9/"),
        ]))
        .unwrap();
        assert!(matches!(creds.login, RedstorLogin::Token(_)));
        assert_eq!(creds.token_url.as_str(), DEFAULT_TOKEN_URL);
        assert!(!format!("{creds:?}").contains("t0ken"));
        let err = RedstorCredentials::from_lookup(env(&[
            ("REDSTOR_TOKEN", "t"),
            ("REDSTOR_API_URL", "http://api.example.com/"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("REDSTOR_API_URL"), "{err}");
    }

    #[test]
    fn keys_that_are_not_rsa_private_keys_are_refused_by_name() {
        let source = Path::new("svc.pem");
        let err = SigningKey::parse(b"hello", source).unwrap_err().to_string();
        assert!(err.contains("svc.pem holds no PEM private key"), "{err}");
        let cut = SigningKey::parse(
            b"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAA\n",
            source,
        )
        .unwrap_err()
        .to_string();
        assert!(
            cut.contains("the Redstor private key svc.pem is cut short: it has a `-----BEGIN PRIVATE KEY-----` line and no `-----END PRIVATE KEY-----` line"),
            "{cut}"
        );
        assert!(!cut.contains("[80, 82"), "{cut}");
        let err = SigningKey::parse(br#"{"kty":"EC","n":"AQ","e":"AQ"}"#, source)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not an RSA one"), "{err}");
        let err = SigningKey::parse(br#"{"kty":"RSA","n":"AQ","e":"AQAB"}"#, source)
            .unwrap_err()
            .to_string();
        assert!(err.contains("public JWK: `d` is missing"), "{err}");
    }
}
