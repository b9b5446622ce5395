//! What an operation works with, below both the executor and the kinds:
//! the clients, the recorder that makes each change durable, and the
//! options of the run. The kinds' apply code imports this; only the
//! executor (through `operation.rs`) calls the kinds.

use std::time::Duration;

use super::recorder::Recorder;
use crate::api::ApiError;
use crate::api::ecl::EclClients;
use crate::api::redstor::RedstorAccess;
use crate::hint::HINT;
use crate::manifest::Address;
use crate::plan::model::Action;
use crate::state::{ResourceState, StateError};

/// How the executor runs.
#[derive(Clone, Debug)]
pub struct ApplyOptions {
    /// Actions in flight at once.
    pub parallelism: usize,
    /// How long to wait for an asynchronous operation (provisioning,
    /// deletion) before giving up on it.
    pub wait_timeout: Duration,
    /// First pause between polls; it grows to two seconds.
    pub poll_interval: Duration,
    /// Carry out replacements that destroy data (a Redstor company or
    /// subscription made anew).
    pub allow_replace: bool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            parallelism: 8,
            wait_timeout: Duration::from_secs(600),
            poll_interval: Duration::from_millis(200),
            allow_replace: false,
        }
    }
}

/// What the operations need.
pub struct Context {
    pub clients: EclClients,
    pub redstor: RedstorAccess,
    pub recorder: Recorder,
    pub options: ApplyOptions,
}

impl Context {
    /// Changes the record of `address` after its object was changed on the
    /// server, and returns once that is on disk; a failure says the object
    /// is fine and only its record is missing.
    pub async fn record(
        &self,
        address: &Address,
        change: impl FnOnce(&mut Option<ResourceState>),
    ) -> Result<(), ApplyError> {
        self.recorder
            .change(address, change)
            .await
            .map_err(|source| ApplyError::Record {
                source,
                then: "the object on the server is fine; the state could not record it",
            })
    }

    /// Writes the record of `address` before anything is sent for it (a
    /// `creating` record, so that a lost answer is looked for again).
    pub async fn record_before_sending(
        &self,
        address: &Address,
        record: Option<ResourceState>,
    ) -> Result<(), ApplyError> {
        self.recorder
            .set(address, record)
            .await
            .map_err(|source| ApplyError::Record {
                source,
                then: "nothing was sent to the server",
            })
    }
}

/// The resource an action is about: its first address (a plan file edited
/// by hand may name none).
pub fn subject(action: &Action) -> Result<&Address, ApplyError> {
    action.addresses.first().ok_or_else(|| {
        ApplyError::refused(
            format!("{} names no resource", action.id),
            "make the plan again with `entitle plan --out`; do not edit plan files",
        )
    })
}

/// Why an operation did not succeed. Each message says where the object
/// stands and what the next run does about it.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// A request failed as the API said.
    #[error("{0}")]
    Api(#[from] ApiError),
    /// A request failed after an earlier attempt may have been carried out;
    /// `then` says what the state keeps and how the next run resolves it.
    #[error("{source}\n  {then}")]
    Ambiguous { source: ApiError, then: String },
    /// A create was refused because the object exists already, unmanaged:
    /// `id` is the one read back.
    #[error(
        "{source}{HINT}it exists already (id {id}); `entitle import {address} {id}` manages it"
    )]
    Exists {
        source: ApiError,
        address: String,
        id: String,
    },
    /// A change could not be recorded in the state; `then` says where the
    /// object stands.
    #[error("{source}\n  {then}")]
    Record {
        source: StateError,
        then: &'static str,
    },
    /// Refused before anything was sent, with what to do.
    #[error("{message}{HINT}{hint}")]
    Refused { message: String, hint: String },
    /// The server did not get where it was waited for in time.
    #[error("{what} after {waited:?}; {then}")]
    TimedOut {
        what: String,
        waited: Duration,
        then: &'static str,
    },
    /// What read-backs could not confirm either way.
    #[error("{0}")]
    Unconfirmed(String),
}

impl ApplyError {
    pub fn refused(message: impl Into<String>, hint: impl Into<String>) -> Self {
        ApplyError::Refused {
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// Whether the request surely was not carried out: the server refused
    /// it (4xx), or nothing was sent.
    pub fn certainly_not_done(&self) -> bool {
        match self {
            ApplyError::Api(source) => source.status().is_some_and(|s| (400..500).contains(&s)),
            ApplyError::Refused { .. } | ApplyError::TimedOut { .. } => true,
            ApplyError::Ambiguous { .. }
            | ApplyError::Exists { .. }
            | ApplyError::Record { .. }
            | ApplyError::Unconfirmed(_) => false,
        }
    }
}
