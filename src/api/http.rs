//! The one HTTP layer every vendor client goes through.
//!
//! It owns the reqwest client (rustls on `ring`), timeouts, and the retry
//! policy: exponential backoff with jitter, `Retry-After` honoured, and the
//! rule that decides what may be sent twice. An idempotent request is retried
//! on a connection error, a 5xx or a 429. A non-idempotent one (a create) is
//! retried only when it certainly did not reach the handler (the connection
//! could not be made, or a 429); any other failure comes back as
//! [`ApiError::Ambiguous`] for the caller to resolve by reading back.
//!
//! Only paths are logged, never headers or bodies, so tokens stay out of logs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::limiter::{Limiters, Signal};
use super::routes::{self, Route};
use super::secret::Secret;

/// Timeouts and retry budget of the HTTP layer.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Whole-request timeout.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: usize,
    /// Retries after a 429, which is always safe to repeat: the server
    /// asked for it, and the request was not carried out.
    pub max_rate_limited_retries: usize,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// Upper bound for a server's `Retry-After`.
    pub max_retry_after: Duration,
    /// Requests in flight to one host at most; 429s lower it for a while.
    pub max_in_flight_per_host: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_retries: 6,
            max_rate_limited_retries: 20,
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
            max_in_flight_per_host: 32,
        }
    }
}

/// Whether a request may be sent again after a failure whose outcome is unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Idempotency {
    /// Sending it twice has the effect of sending it once (GET, PATCH with
    /// absolute values, DELETE, token requests).
    Idempotent,
    /// Sending it twice may make two objects (creates).
    NotIdempotent,
}

/// One request, described before it is sent so that it can be sent again.
#[derive(Clone)]
pub struct Request {
    method: Method,
    url: Url,
    query: Vec<(&'static str, String)>,
    headers: HeaderMap,
    body: Option<Body>,
    idempotency: Idempotency,
    /// Names the request in errors and logs instead of its path, for a URL
    /// whose path is itself a secret (a chat webhook's).
    label: Option<&'static str>,
}

/// A request body.
#[derive(Clone)]
enum Body {
    Json(serde_json::Value),
    /// `application/x-www-form-urlencoded`, already encoded.
    Form(String),
}

impl Request {
    /// A request; GET, PUT, PATCH and DELETE are idempotent, POST is not
    /// unless [`Request::idempotent`] says otherwise.
    pub fn new(method: Method, url: Url) -> Self {
        let idempotency = if method == Method::POST {
            Idempotency::NotIdempotent
        } else {
            Idempotency::Idempotent
        };
        Request {
            method,
            url,
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: None,
            idempotency,
            label: None,
        }
    }

    pub fn query(mut self, name: &'static str, value: impl ToString) -> Self {
        self.query.push((name, value.to_string()));
        self
    }

    pub fn json(mut self, body: serde_json::Value) -> Self {
        self.body = Some(Body::Json(body));
        self
    }

    /// A form body (OAuth token requests).
    pub fn form(mut self, fields: &[(&str, &str)]) -> Self {
        let encoded = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.body = Some(Body::Form(encoded));
        self
    }

    /// Marks a POST that is safe to repeat (token requests, absolute updates).
    pub fn idempotent(mut self) -> Self {
        self.idempotency = Idempotency::Idempotent;
        self
    }

    /// Sets a header whose value is a secret; it is marked sensitive so that
    /// no `Debug` of the request shows it.
    pub fn secret_header(mut self, name: HeaderName, value: &Secret) -> Result<Self, ApiError> {
        let mut value = HeaderValue::from_str(value.expose()).map_err(|_| {
            ApiError::config(
                format!(
                    "the credential for the {name} header contains characters that cannot be sent"
                ),
                "check the token or key in the environment for stray characters",
            )
        })?;
        value.set_sensitive(true);
        self.headers.insert(name, value);
        Ok(self)
    }

    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// Names the request `METHOD what` in errors and logs instead of
    /// `METHOD /path`: for a URL whose path holds a secret.
    pub fn labelled(mut self, what: &'static str) -> Self {
        self.label = Some(what);
        self
    }

    /// `METHOD /path` (or what [`Request::labelled`] set), the label used
    /// in errors and logs.
    pub fn label(&self) -> String {
        match self.label {
            Some(what) => format!("{} {what}", self.method),
            None => format!("{} {}", self.method, self.url.path()),
        }
    }

    pub fn url(&self) -> &Url {
        &self.url
    }
}

/// Shows the method, path and query only: the body may hold a credential
/// (a token request does) and secret headers are marked sensitive.
impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = match self.label {
            Some(what) => what,
            None => self.url.path(),
        };
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &path)
            .field("query", &self.query)
            .field("idempotency", &self.idempotency)
            .finish_non_exhaustive()
    }
}

/// A successful answer, fully read. Its `Debug` shows no headers or body
/// (a token answer carries the token in a header).
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    label: String,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("request", &self.label)
            .field("status", &self.status)
            .field("body_bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl Response {
    /// The request it answers, `METHOD path`, as errors name it.
    pub fn request(&self) -> &str {
        &self.label
    }

    /// Decodes the body, naming the JSON path of whatever does not fit.
    /// The path is tracked only on a second reading, once the first failed:
    /// tracking it costs on every field.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        serde_json::from_slice(&self.body).or_else(|_| self.json_with_path())
    }

    /// Decodes the body again, tracking the path, for the error.
    fn json_with_path<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        let deserializer = &mut serde_json::Deserializer::from_slice(&self.body);
        serde_path_to_error::deserialize(deserializer).map_err(|err| {
            let path = err.path().to_string();
            let inner = err.into_inner();
            ApiError::Decode {
                request: self.label.clone(),
                detail: if path == "." {
                    inner.to_string()
                } else {
                    format!("at `{path}`: {inner}")
                },
            }
        })
    }

    /// A header as text, when present and readable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The shared client. Cheap to clone.
#[derive(Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    config: Arc<HttpConfig>,
    limiters: Arc<Limiters>,
    /// Told of every attempt, when someone watches (`entitle watch`'s
    /// metrics); `None` costs one branch per attempt.
    observer: Option<Arc<dyn RequestObserver>>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("config", &self.config)
            .field("observed", &self.observer.is_some())
            .finish_non_exhaustive()
    }
}

/// Told of every attempt the HTTP layer makes (retries included): the
/// request's route as [`routes::classify`] names it (no id, name or token
/// of the path), and the answer's status, or `None` when none came.
pub trait RequestObserver: Send + Sync {
    fn attempted(&self, route: Route, status: Option<u16>);
}

/// One attempt's failure, with what the retry loop needs to know about it.
struct AttemptError {
    error: ApiError,
    retryable: bool,
}

impl HttpClient {
    pub fn new(config: HttpConfig) -> Result<Self, ApiError> {
        install_crypto_provider();
        let inner = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("entitle/", env!("CARGO_PKG_VERSION")))
            // Requests carry passwords, tokens and signed assertions: they
            // go to the host they are meant for and nowhere else.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| {
                ApiError::config(
                    format!("could not set up the HTTP client: {err}"),
                    "this is a bug in entitle; please report it",
                )
            })?;
        Ok(HttpClient {
            inner,
            limiters: Arc::new(Limiters::new(config.max_in_flight_per_host)),
            config: Arc::new(config),
            observer: None,
        })
    }

    /// This client, and every clone made of it after, telling `observer`
    /// of every attempt.
    pub fn observed_by(mut self, observer: Arc<dyn RequestObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Requests in flight to one host at most (429s lower it for a while):
    /// the width worth giving a batch of independent requests.
    pub fn max_in_flight_per_host(&self) -> usize {
        self.config.max_in_flight_per_host
    }

    /// Sends a request, retrying what the policy allows, and returns the
    /// successful answer or the last error.
    pub async fn send(&self, request: &Request) -> Result<Response, ApiError> {
        self.send_each(request.label(), || Ok(request.clone()))
            .await
    }

    /// Like [`HttpClient::send`], but builds the request anew for every
    /// attempt, for a body that must not be sent twice (a signed assertion
    /// with a one-time `jti`). `label` names the request in logs.
    pub async fn send_each(
        &self,
        label: String,
        make: impl Fn() -> Result<Request, ApiError>,
    ) -> Result<Response, ApiError> {
        let backoff = ExponentialBuilder::default()
            .with_jitter()
            .with_min_delay(self.config.min_backoff)
            .with_max_delay(self.config.max_backoff)
            .with_max_times(
                self.config
                    .max_retries
                    .max(self.config.max_rate_limited_retries),
            );
        let retries = std::sync::atomic::AtomicUsize::new(0);
        let (max_retries, max_429) = (
            self.config.max_retries,
            self.config.max_rate_limited_retries,
        );
        let max_retry_after = self.config.max_retry_after;
        let attempt = || async {
            let request = make().map_err(|error| AttemptError {
                error,
                retryable: false,
            })?;
            self.attempt(&request).await
        };
        attempt
            .retry(backoff)
            .when(|failure| {
                let done = retries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let limit = if failure.error.status() == Some(429) {
                    max_429
                } else {
                    max_retries
                };
                failure.retryable && done < limit
            })
            .adjust(|failure, delay| {
                let retry_after = match &failure.error {
                    ApiError::Status { retry_after, .. } => *retry_after,
                    _ => None,
                };
                match (delay, retry_after) {
                    (Some(delay), Some(wait)) => Some(delay.max(wait.min(max_retry_after))),
                    (delay, _) => delay,
                }
            })
            .notify(|failure, delay| {
                tracing::debug!(
                    "{label}: {}; retrying in {} ms",
                    failure.error,
                    delay.as_millis()
                );
            })
            .await
            .map_err(|failure| failure.error)
    }

    async fn attempt(&self, request: &Request) -> Result<Response, AttemptError> {
        let label = request.label();
        let started = Instant::now();
        let mut builder = self
            .inner
            .request(request.method.clone(), request.url.clone())
            .headers(request.headers.clone());
        if !request.query.is_empty() {
            builder = builder.query(&request.query);
        }
        match &request.body {
            Some(Body::Json(body)) => builder = builder.json(body),
            Some(Body::Form(body)) => {
                builder = builder
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(body.clone());
            }
            None => {}
        }
        let idempotent = request.idempotency == Idempotency::Idempotent;
        let host = format!(
            "{}:{}",
            request.url.host_str().unwrap_or_default(),
            request.url.port_or_known_default().unwrap_or_default()
        );
        let permit = self.limiters.host(&host).permit().await;
        let outcome = match builder.send().await {
            Ok(response) => {
                let status = response.status();
                let headers = response.headers().clone();
                response
                    .bytes()
                    .await
                    .map(|body| (status, headers, body.to_vec()))
            }
            Err(err) => Err(err),
        };
        permit.finish(match &outcome {
            Ok((status, _, _)) if *status == StatusCode::TOO_MANY_REQUESTS => Signal::RateLimited,
            Ok((status, _, _)) if status.is_success() => Signal::Fine,
            _ => Signal::Neutral,
        });
        if let Some(observer) = &self.observer {
            let status = outcome.as_ref().ok().map(|(status, _, _)| status.as_u16());
            observer.attempted(
                routes::classify(&request.method, request.url.path()),
                status,
            );
        }
        let (status, headers, body) = match outcome {
            Ok(parts) => parts,
            Err(err) => {
                tracing::debug!("{label} -> no answer: {}", describe(&err));
                return Err(transport_failure(label, &err, idempotent));
            }
        };
        tracing::debug!(
            "{label} -> {} ({} ms)",
            status.as_u16(),
            started.elapsed().as_millis()
        );
        if status.is_success() {
            return Ok(Response {
                status,
                headers,
                body,
                label,
            });
        }
        if status.is_redirection() {
            return Err(AttemptError {
                error: ApiError::Redirected {
                    request: label,
                    status: status.as_u16(),
                    to: redirect_origin(&request.url, &headers),
                },
                retryable: false,
            });
        }
        let message = error_message(&body);
        let retry_after = headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(retry_after);
        if status.is_server_error() && !idempotent {
            return Err(AttemptError {
                error: ApiError::Ambiguous {
                    request: label,
                    cause: format!("the server answered {}: {message}", status.as_u16()),
                },
                retryable: false,
            });
        }
        let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
        Err(AttemptError {
            error: ApiError::Status {
                request: label,
                status: status.as_u16(),
                message,
                retry_after,
            },
            retryable,
        })
    }
}

/// `Retry-After` as seconds or as an HTTP date.
fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Installs `ring` as the process's TLS crypto provider (one provider for
/// the whole tree); any reqwest client needs it, and a second call is a no-op.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Classifies a reqwest failure: a connection that was never made is safe to
/// retry for any request; anything later is ambiguous for a create.
fn transport_failure(label: String, err: &reqwest::Error, idempotent: bool) -> AttemptError {
    let cause = describe(err);
    if err.is_connect() {
        return AttemptError {
            error: ApiError::Unreachable {
                request: label,
                cause,
            },
            retryable: true,
        };
    }
    if idempotent {
        AttemptError {
            error: ApiError::Unreachable {
                request: label,
                cause: format!("no answer ({cause})"),
            },
            retryable: true,
        }
    } else {
        AttemptError {
            error: ApiError::Ambiguous {
                request: label,
                cause: format!("no answer ({cause})"),
            },
            retryable: false,
        }
    }
}

/// A reqwest error with its causes, without the URL (the label has the path).
fn describe(err: &reqwest::Error) -> String {
    let mut text = if err.is_timeout() {
        "timed out".to_string()
    } else if err.is_connect() {
        "connection failed".to_string()
    } else {
        "connection closed".to_string()
    };
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The human message of an error body in any of the vendors' shapes:
/// `{"error": {"message"}}` (ECL), ProblemDetails `{title, detail}` (Redstor),
/// an OAuth error's `error_description`, or the text itself, shortened.
fn error_message(body: &[u8]) -> String {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        let pick = |v: &serde_json::Value| v.as_str().map(str::to_string);
        if let Some(message) = value.pointer("/error/message").and_then(pick) {
            return message;
        }
        if let Some(detail) = value.get("detail").and_then(pick) {
            return detail;
        }
        if let Some(description) = value.get("error_description").and_then(pick) {
            return description;
        }
        if let Some(title) = value.get("title").and_then(pick) {
            return title;
        }
    }
    let text = String::from_utf8_lossy(body);
    let text: String = text
        .chars()
        .filter(|c| !c.is_control() || *c == ' ')
        .take(300)
        .collect();
    if text.trim().is_empty() {
        "(no message)".to_string()
    } else {
        text
    }
}

/// Parses a base URL and refuses plain `http://` except on a loopback host
/// (a local simulator): credentials must not cross a network in clear text.
pub fn checked_base_url(value: &str, what: &str) -> Result<Url, ApiError> {
    let url = Url::parse(value).map_err(|err| {
        ApiError::config(
            format!("{what} `{value}` is not a valid URL: {err}"),
            "write an absolute URL such as https://soy-jp1-ecl.api.ntt.com",
        )
    })?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(ApiError::config(
            format!("{what} `{value}` uses plain http:// to a host that is not loopback"),
            "use https://; plain http:// is allowed only for 127.0.0.1, ::1 or localhost",
        )),
        other => Err(ApiError::config(
            format!("{what} `{value}` has the scheme `{other}`"),
            "use an https:// URL",
        )),
    }
}

/// Whether `url`'s host is loopback (127.0.0.0/8, ::1 or `localhost`).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Appends path segments to a base URL, percent-encoding each one so that no
/// value can add a segment; `.`, `..`, empty segments and control characters,
/// which would climb, collapse or be silently dropped from the path, are
/// refused.
pub fn join_segments(base: &Url, segments: &[&str]) -> Result<Url, ApiError> {
    if let Some(bad) = segments
        .iter()
        .find(|s| s.is_empty() || **s == "." || **s == ".." || s.chars().any(char::is_control))
    {
        return Err(ApiError::config(
            format!("refusing to send the path segment {bad:?}"),
            "ids in paths must be non-empty, cannot be `.` or `..`, and cannot hold control characters",
        ));
    }
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
        path.extend(segments);
    }
    Ok(url)
}

/// Where a redirect points, shown as its origin alone (a location may carry
/// a token in its path or query).
fn redirect_origin(from: &Url, headers: &reqwest::header::HeaderMap) -> String {
    let location = headers
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok());
    match location.map(|l| from.join(l)) {
        Some(Ok(to)) => to.origin().ascii_serialization(),
        Some(Err(_)) => "an address that is not a URL".into(),
        None => "no address (no Location header)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_only_for_loopback() {
        assert!(checked_base_url("http://127.0.0.1:8080", "endpoint").is_ok());
        assert!(checked_base_url("http://localhost:1", "endpoint").is_ok());
        assert!(checked_base_url("http://[::1]:1", "endpoint").is_ok());
        assert!(checked_base_url("https://soy-jp1-ecl.api.ntt.com", "endpoint").is_ok());
        let err = checked_base_url("http://soy-jp1-ecl.api.ntt.com", "endpoint").unwrap_err();
        assert!(err.to_string().contains("not loopback"), "{err}");
        assert!(checked_base_url("ftp://127.0.0.1", "endpoint").is_err());
        assert!(checked_base_url("not a url", "endpoint").is_err());
    }

    #[test]
    fn segments_are_encoded_not_interpreted() {
        let base = Url::parse("http://127.0.0.1:1/v2/").unwrap();
        let url = join_segments(&base, &["a/b", "%2F", "x y"]).unwrap();
        assert_eq!(url.path(), "/v2/a%2Fb/%252F/x%20y");
        for bad in ["..", ".", "", "a\nb", "\u{7f}"] {
            assert!(join_segments(&base, &["x", bad]).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn retry_after_is_seconds_or_a_date() {
        assert_eq!(retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after("Thu, 01 Jan 1970 00:00:00 GMT"),
            Some(Duration::ZERO)
        );
        let later = std::time::SystemTime::now() + Duration::from_secs(120);
        let waited = retry_after(&httpdate::fmt_http_date(later)).unwrap();
        assert!(waited > Duration::from_secs(100), "{waited:?}");
        assert_eq!(retry_after("soon"), None);
    }

    #[test]
    fn error_messages_are_read_from_every_vendor_shape() {
        assert_eq!(
            error_message(br#"{"error":{"code":400,"message":"bad page"}}"#),
            "bad page"
        );
        assert_eq!(
            error_message(br#"{"type":"x","title":"Bad","status":400,"detail":"no"}"#),
            "no"
        );
        assert_eq!(error_message(b""), "(no message)");
        assert_eq!(error_message(b"oops\n\x07"), "oops");
    }
}
