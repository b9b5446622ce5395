//! A workspace's lock in PostgreSQL: a session-level advisory lock, which
//! the server releases the moment its holder's connection ends, so a killed
//! run never leaves a lock behind and there is nothing to force-unlock.
//!
//! Who holds it (user, host, pid, operation, since) is a row of
//! `entitle_locks`, written after the lock is taken. A row is shown only
//! while the connection it names still holds the advisory lock, so a row
//! left by a dead run is never taken for a holder.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{LOCK_CLASS, PgError, PgStore, Session};
use crate::hint::HINT;
use crate::state::lock::LockInfo;

/// A held workspace lock. [`PgLock::release`] lets go; dropping it without
/// does so in the background, and the end of the connection at the latest.
#[derive(Debug)]
pub struct PgLock {
    session: Arc<Session>,
    id: i32,
    released: bool,
}

/// Another run holds the lock.
#[derive(Debug, thiserror::Error)]
#[error(
    "workspace `{workspace}` in {url} is locked: {holder}{HINT}wait for that run to finish, or pass --lock-timeout to wait longer (waited {waited:?}); the server frees the lock the moment that run's connection ends, so there is nothing to unlock by hand"
)]
pub struct Locked {
    pub url: String,
    pub workspace: String,
    pub holder: String,
    pub waited: Duration,
}

/// A lock as `entitle state lock` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub workspace: String,
    /// `None` in the instant between taking the lock and saying who took it.
    pub info: Option<LockInfo>,
}

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockFailed {
    #[error(transparent)]
    Held(#[from] Locked),
    #[error(transparent)]
    Failed(#[from] PgError),
}

impl PgLock {
    /// Takes the lock of `store`'s workspace for `operation`, waiting up to
    /// `timeout` with backoff while another run holds it.
    pub async fn acquire(
        store: &PgStore,
        operation: &str,
        timeout: Duration,
    ) -> Result<PgLock, LockFailed> {
        let session = store.session();
        let failed = session.failed("could not take the state lock");
        let started = Instant::now();
        let mut pause = Duration::from_millis(50);
        loop {
            let taken: bool = {
                let client = session.client.lock().await;
                client
                    .query_one(
                        "SELECT pg_try_advisory_lock($1, $2)",
                        &[&LOCK_CLASS, &store.id],
                    )
                    .await
                    .map_err(&failed)?
                    .get(0)
            };
            if taken {
                let lock = PgLock {
                    session: Arc::clone(session),
                    id: store.id,
                    released: false,
                };
                if !lock.workspace_is_there().await? {
                    // Deleted by the run this one waited for.
                    lock.release().await?;
                    return Err(LockFailed::Failed(PgError::NoSuchWorkspace {
                        url: store.url().to_string(),
                        workspace: store.workspace().to_string(),
                        existing: Vec::new(),
                    }));
                }
                lock.say_who(operation).await?;
                return Ok(lock);
            }
            let waited = started.elapsed();
            if waited >= timeout {
                let holder = holders(session, Some(store.id))
                    .await?
                    .into_iter()
                    .find_map(|h| h.info)
                    .map_or_else(|| "by another entitle run".to_string(), |i| i.to_string());
                return Err(LockFailed::Held(Locked {
                    url: store.url().to_string(),
                    workspace: store.workspace().to_string(),
                    holder,
                    waited,
                }));
            }
            tokio::time::sleep(pause.min(timeout - waited)).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }

    async fn workspace_is_there(&self) -> Result<bool, PgError> {
        let client = self.session.client.lock().await;
        Ok(client
            .query_opt(
                "SELECT 1 FROM entitle_workspaces WHERE id = $1",
                &[&self.id],
            )
            .await
            .map_err(self.session.failed("could not read the workspace"))?
            .is_some())
    }

    async fn say_who(&self, operation: &str) -> Result<(), PgError> {
        let info = LockInfo::current(operation);
        let client = self.session.client.lock().await;
        client
            .execute(
                "INSERT INTO entitle_locks (workspace_id, backend_pid, holder, host, pid, operation, since)
                 VALUES ($1, pg_backend_pid(), $2, $3, $4, $5, now())
                 ON CONFLICT (workspace_id) DO UPDATE SET backend_pid = EXCLUDED.backend_pid,
                    holder = EXCLUDED.holder, host = EXCLUDED.host, pid = EXCLUDED.pid,
                    operation = EXCLUDED.operation, since = EXCLUDED.since",
                &[
                    &self.id,
                    &info.holder,
                    &info.host,
                    &i64::from(info.pid),
                    &info.operation,
                ],
            )
            .await
            .map_err(self.session.failed("could not record who holds the state lock"))?;
        Ok(())
    }

    /// Lets go of the lock and its holder row.
    pub async fn release(mut self) -> Result<(), PgError> {
        self.released = true;
        let client = self.session.client.lock().await;
        client
            .batch_execute(&release_sql(self.id))
            .await
            .map_err(self.session.failed("could not release the state lock"))
    }
}

fn release_sql(id: i32) -> String {
    format!(
        "DELETE FROM entitle_locks WHERE workspace_id = {id} AND backend_pid = pg_backend_pid();
         SELECT pg_advisory_unlock({LOCK_CLASS}, {id});"
    )
}

impl Drop for PgLock {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let session = Arc::clone(&self.session);
        let sql = release_sql(self.id);
        runtime.spawn(async move {
            let client = session.client.lock().await;
            let _ = client.batch_execute(&sql).await;
        });
    }
}

/// The live holders of entitle's locks in the database (of workspace `id`
/// only, when given): a lock whose holder row is missing or left by a dead
/// connection shows without details, and a row without a lock not at all.
pub async fn holders(session: &Session, id: Option<i32>) -> Result<Vec<Holder>, PgError> {
    let client = session.client.lock().await;
    let rows = client
        .query(
            "SELECT w.name, l.holder, l.host, l.pid,
                to_char(l.since AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), l.operation
             FROM pg_locks p
             JOIN entitle_workspaces w ON w.id = p.objid::bigint
             LEFT JOIN entitle_locks l ON l.workspace_id = w.id AND l.backend_pid = p.pid
             WHERE p.locktype = 'advisory' AND p.granted AND p.objsubid = 2
               AND p.classid = $1::bigint::oid AND ($2::integer IS NULL OR w.id = $2)
             ORDER BY w.name",
            &[&i64::from(LOCK_CLASS), &id],
        )
        .await
        .map_err(session.failed("could not list the state locks"))?;
    Ok(rows
        .iter()
        .map(|row| Holder {
            workspace: row.get(0),
            info: row.get::<_, Option<String>>(1).map(|holder| LockInfo {
                holder,
                host: row.get(2),
                pid: u32::try_from(row.get::<_, i64>(3)).unwrap_or(0),
                created_at: row.get(4),
                operation: row.get(5),
            }),
        })
        .collect())
}
