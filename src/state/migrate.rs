//! `entitle state migrate`: a state copied between backends and
//! workspaces with its lineage and serial (and its history, between
//! databases), never over a different state.

use super::StateError;
use super::model::State;
use super::postgres::HistoryRow;
use super::store::Store;
use crate::hint::HINT;

/// Why a state was not copied.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(
        "{from} holds no state: there is nothing to copy{HINT}check --backend, --state and --workspace"
    )]
    NothingThere { from: String },

    #[error(
        "{to} holds another state (lineage {theirs}, with {records} records); refusing to overwrite it with {from} (lineage {ours}){HINT}copy to an empty workspace (`entitle workspace new NAME`, then --to-workspace NAME), or delete that state first if it is really unwanted"
    )]
    OtherLineage {
        from: String,
        to: String,
        ours: uuid::Uuid,
        theirs: uuid::Uuid,
        records: usize,
    },

    #[error(
        "{to} is ahead of {from} (serial {theirs} there, {ours} here): copying would lose what was recorded there since{HINT}copy the other way, or roll {to} back first"
    )]
    Ahead {
        from: String,
        to: String,
        ours: u64,
        theirs: u64,
    },

    #[error(
        "{to} and {from} are both at serial {serial} but hold different records: they went separate ways{HINT}decide which is right, and copy that one to an empty workspace"
    )]
    Diverged {
        from: String,
        to: String,
        serial: u64,
    },

    #[error(transparent)]
    State(#[from] StateError),
}

/// What a copy did.
#[derive(Debug, PartialEq, Eq)]
pub enum Migrated {
    /// The state was copied: its serial, records and history rows.
    Copied {
        serial: u64,
        records: usize,
        history: usize,
    },
    /// The destination already held this very state.
    AlreadyThere { serial: u64 },
}

/// Copies the state of `from` to `to`. The caller holds both locks.
pub async fn migrate(from: &Store, to: &Store) -> Result<Migrated, MigrateError> {
    let state = source(from).await?;
    if let Some(there) = to.load().await?
        && let Some(done) = check_destination(from, to, &state, &there)?
    {
        return Ok(done);
    }
    let history = match from {
        Store::Postgres(store) => store.history_rows().await.map_err(StateError::from)?,
        Store::File(_) => Vec::new(),
    };
    put(
        to,
        &state,
        &history,
        &format!("migrate from {}", from.describe()),
    )
    .await?;
    Ok(Migrated::Copied {
        serial: state.serial,
        records: state.resources.len(),
        history: history.len(),
    })
}

/// The state of `from`, refusing one that holds nothing to copy.
pub async fn source(from: &Store) -> Result<State, MigrateError> {
    from.load()
        .await?
        .filter(|state| state.serial > 0 || !state.resources.is_empty())
        .ok_or_else(|| MigrateError::NothingThere {
            from: from.describe(),
        })
}

/// Refuses a destination holding another state or a newer one; `Some`
/// when it holds this one already.
fn check_destination(
    from: &Store,
    to: &Store,
    ours: &State,
    there: &State,
) -> Result<Option<Migrated>, MigrateError> {
    if there.resources.is_empty() && there.lineage != ours.lineage {
        // An empty state of its own: nothing there to lose.
        return Ok(None);
    }
    if there.lineage != ours.lineage {
        return Err(MigrateError::OtherLineage {
            from: from.describe(),
            to: to.describe(),
            ours: ours.lineage,
            theirs: there.lineage,
            records: there.resources.len(),
        });
    }
    if there.serial > ours.serial {
        return Err(MigrateError::Ahead {
            from: from.describe(),
            to: to.describe(),
            ours: ours.serial,
            theirs: there.serial,
        });
    }
    if there.serial == ours.serial {
        if there.resources == ours.resources {
            return Ok(Some(Migrated::AlreadyThere {
                serial: ours.serial,
            }));
        }
        return Err(MigrateError::Diverged {
            from: from.describe(),
            to: to.describe(),
            serial: ours.serial,
        });
    }
    Ok(None)
}

async fn put(
    to: &Store,
    state: &State,
    history: &[HistoryRow],
    operation: &str,
) -> Result<(), StateError> {
    match to {
        Store::File(store) => store.file().put(state),
        Store::Postgres(store) => Ok(store.put(state, history, operation).await?),
    }
}
