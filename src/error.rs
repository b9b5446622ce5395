//! The library's error: whatever stops a command, from any stage. Each
//! variant prints its own message with a hint; the CLI maps every one of
//! them to exit code 1.

use crate::api::ApiError;
use crate::hint::HINT;
use crate::manifest::Diagnostics;
use crate::plan::PlanErrors;
use crate::plan::saved::SavedPlanError;
use crate::sim::SimError;
use crate::state::{LockError, StateError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Problems in the manifests; they print themselves, all of them.
    #[error("{0}")]
    Manifests(#[from] Diagnostics),

    #[error("{0}")]
    Plan(#[from] PlanErrors),

    #[error("error: {0}")]
    Api(#[from] ApiError),

    #[error("error: {0}")]
    State(#[from] StateError),

    #[error("error: {0}")]
    Lock(#[from] LockError),

    #[error("error: {0}")]
    PgLock(#[from] crate::state::postgres::LockFailed),

    #[error("error: {0}")]
    Migrate(#[from] crate::state::migrate::MigrateError),

    #[error("error: {0}")]
    SavedPlan(#[from] SavedPlanError),

    #[error("error: {0}")]
    Policy(#[from] crate::policy::PolicyRefusal),

    #[error("error: {0}")]
    Sim(#[from] SimError),

    #[error("error: {what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },

    #[error("error: {message}{HINT}{hint}")]
    Usage { message: String, hint: String },

    /// Standard output was closed by its reader (`| head`): the command
    /// ends quietly, with success.
    #[error("standard output was closed")]
    ClosedPipe,
}

impl Error {
    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            hint: hint.into(),
        }
    }
}

/// What a scoped thread returned; its panic goes on here, as it would have
/// inline.
pub(crate) fn thread_result<T>(thread: std::thread::ScopedJoinHandle<'_, T>) -> T {
    thread
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// What a task returned, or `None` when it was cancelled (only a runtime
/// shutting down cancels one); its panic goes on here, as it would have
/// inline.
pub(crate) fn task_result<T>(joined: Result<T, tokio::task::JoinError>) -> Option<T> {
    match joined {
        Ok(value) => Some(value),
        Err(failed) if failed.is_panic() => std::panic::resume_unwind(failed.into_panic()),
        Err(_) => None,
    }
}
