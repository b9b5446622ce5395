//! Errors of the vendor API clients.
//!
//! Every variant names the request (`METHOD path`) it belongs to, and says
//! whether the server may have carried it out: a create that ends in
//! [`ApiError::Ambiguous`] must be resolved by reading back, never by sending
//! it again blindly. No variant carries a credential or a token. What the
//! server wrote (its message, a decoding problem quoting its answer, where
//! it redirects) is shown through [`crate::escape::text`].

use crate::escape::text as shown;
use crate::hint::HINT;
use std::time::Duration;

/// What went wrong talking to a vendor API.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The server answered with an error status.
    #[error("{request}: the server answered {status}: {}", shown(.message))]
    Status {
        request: String,
        status: u16,
        message: String,
        /// `Retry-After` of a 429 or 503, when the server sent one.
        retry_after: Option<Duration>,
    },

    /// The request was sent but no answer came back (timeout, connection
    /// closed), or a non-idempotent request got a 5xx: the server may or may
    /// not have made the change.
    #[error(
        "{request}: {}; the server may or may not have carried it out{HINT}read the object back before sending the request again",
        shown(.cause)
    )]
    Ambiguous { request: String, cause: String },

    /// The server answered with a redirect, which is not followed: a
    /// request may carry a password, a token or a signed assertion, which
    /// must reach only the host it is meant for.
    #[error(
        "{request}: the server answered {status}, redirecting to {}; entitle does not follow redirects, so that credentials and tokens reach only the host they are meant for{HINT}if that address is the API's own, point the endpoint at it (OS_AUTH_URL, ENTITLE_ECL_ENDPOINT, the tenant's `endpoint`, REDSTOR_API_URL or REDSTOR_TOKEN_URL)",
        shown(.to)
    )]
    Redirected {
        request: String,
        status: u16,
        to: String,
    },

    /// The request never reached the server.
    #[error("{request}: could not reach the server: {cause}")]
    Unreachable { request: String, cause: String },

    /// The answer did not have the shape the contract promises.
    #[error("{request}: unexpected answer from the server: {}", shown(.detail))]
    Decode { request: String, detail: String },

    /// Credentials are missing or were refused.
    #[error("{message}{HINT}{hint}")]
    Auth { message: String, hint: String },

    /// The client is configured wrongly (bad URL, missing variable).
    #[error("{message}{HINT}{hint}")]
    Config { message: String, hint: String },
}

/// What a 401 and a 403 mean at one vendor, and what to check: each is
/// (what happened, hint).
pub(crate) struct AuthHints {
    pub refused: (&'static str, &'static str),
    pub forbidden: (&'static str, &'static str),
}

impl ApiError {
    /// What a task working on `request` left: its value or its error; its
    /// panic goes on here. A task is cancelled only when the runtime shuts
    /// down, and `request` is then told as not answered.
    pub(crate) fn from_task<T>(
        request: &str,
        joined: Result<Result<T, ApiError>, tokio::task::JoinError>,
    ) -> Result<T, ApiError> {
        crate::error::task_result(joined).unwrap_or_else(|| {
            Err(ApiError::Unreachable {
                request: request.to_string(),
                cause: "cancelled: entitle is shutting down".to_string(),
            })
        })
    }

    /// The HTTP status, when the server answered with one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True when the server may have carried out the request even though it
    /// failed; the caller must read back before trying again.
    pub fn is_ambiguous(&self) -> bool {
        matches!(self, ApiError::Ambiguous { .. })
    }

    /// Turns a 401 (after a renewal, or with a token the user supplied) or
    /// a 403 into an [`ApiError::Auth`] that says what to check; other
    /// errors pass through.
    pub(crate) fn with_auth_hints(self, hints: &AuthHints) -> Self {
        match self {
            ApiError::Status {
                status: status @ (401 | 403),
                request,
                message,
                ..
            } => {
                let (what, hint) = if status == 401 {
                    hints.refused
                } else {
                    hints.forbidden
                };
                ApiError::Auth {
                    message: format!("{request}: {what}: {}", shown(&message)),
                    hint: hint.into(),
                }
            }
            other => other,
        }
    }

    pub(crate) fn config(message: impl Into<String>, hint: impl Into<String>) -> Self {
        ApiError::Config {
            message: message.into(),
            hint: hint.into(),
        }
    }
}
