//! The state in a PostgreSQL database, shared by a team: one row per
//! workspace (its lineage and serial), one per record, one per serial in the
//! history, and who holds each workspace's lock.
//!
//! Every write is one transaction that first moves the workspace's serial
//! on by compare-and-set (`WHERE lineage = $ours AND serial = $read`), so a
//! writer that somehow lost its lock still cannot overwrite a newer state.
//! The statements of a write are pipelined: a commit costs three round
//! trips (begin, the statements, commit) whatever it changes.
//!
//! Each serial's history row holds the records it set (`changes`, `null`
//! for a removal) and the addresses it added; the first row of a workspace,
//! and the oldest kept after pruning, also hold the records as they were
//! before it (`snapshot`), so that any kept serial can be rebuilt.

pub mod connect;
mod lock;
mod schema;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio_postgres::types::{Json, ToSql};
use tokio_postgres::{Client, Statement, Transaction};
use uuid::Uuid;

use super::journal::Changes;
use super::model::{FORMAT_VERSION, ResourceState, State};
use crate::hint::HINT;
use crate::manifest::Address;
pub use connect::{ConnectError, Target};
pub use lock::{Holder, LockFailed, Locked, PgLock, holders};

mod history;
pub use history::DeleteRefused;

/// The first key of every advisory lock entitle takes ("enti"); the second
/// is the workspace's id, or 0 while migrating.
pub const LOCK_CLASS: i32 = 0x656e_7469;

/// Why the PostgreSQL state could not be read or written. Each names the
/// server (its URL without the password) and, where there is one, the
/// workspace.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error(transparent)]
    Connect(#[from] ConnectError),

    #[error("{what} ({url}): {message}{HINT}{hint}")]
    Query {
        url: String,
        what: &'static str,
        message: String,
        hint: &'static str,
    },

    #[error(
        "the state tables in {url} are at schema version {found}, newer than this entitle knows ({}){HINT}upgrade entitle; an older one must not write a newer schema",
        schema::VERSION
    )]
    NewerSchema { url: String, found: i32 },

    #[error(
        "there is no workspace `{workspace}` in {url}{}{HINT}create it with `entitle workspace new {workspace}`, or pick one of `entitle workspace list`",
        existing_list(existing)
    )]
    NoSuchWorkspace {
        url: String,
        workspace: String,
        existing: Vec<String>,
    },

    #[error(
        "workspace `{workspace}` in {url} was written by someone else since it was read (serial {on_server}, expected {expected}){HINT}run the command again; it will start from the new state"
    )]
    Moved {
        url: String,
        workspace: String,
        on_server: u64,
        expected: u64,
    },

    #[error(
        "workspace `{workspace}` in {url} belongs to another state (lineage {on_server}, this run has {ours}); refusing to overwrite it{HINT}point --backend and --workspace at the right state"
    )]
    LineageMismatch {
        url: String,
        workspace: String,
        on_server: Uuid,
        ours: Uuid,
    },

    #[error(
        "workspace `{workspace}` in {url} has state format {found}, newer than this entitle reads ({FORMAT_VERSION}){HINT}upgrade entitle; an older one must not rewrite a newer state"
    )]
    NewerFormat {
        url: String,
        workspace: String,
        found: i32,
    },

    #[error(
        "workspace `{workspace}` in {url} holds a record that is not valid ({at}): {message}{HINT}fix or delete that row of entitle_resources or entitle_history, or roll back with `entitle state rollback SERIAL`"
    )]
    Corrupt {
        url: String,
        workspace: String,
        at: String,
        message: String,
    },

    #[error(
        "workspace `{workspace}` in {url} is at serial {serial}, at or near the largest a serial can be there: no more changes can be recorded in it{HINT}entitle adds one per write, so this serial was set by hand; copy the state to a new workspace (`entitle state migrate`) after setting its serial to a small number"
    )]
    SerialExhausted {
        url: String,
        workspace: String,
        serial: u64,
    },

    #[error(
        "workspace `{workspace}` in {url} has no serial {serial}: {why}{HINT}`entitle state history` lists the serials kept"
    )]
    NoSerial {
        url: String,
        workspace: String,
        serial: u64,
        why: String,
    },
}

pub(crate) fn existing_list(existing: &[String]) -> String {
    if existing.is_empty() {
        String::new()
    } else {
        format!(" (it has {})", existing.join(", "))
    }
}

impl PgError {
    /// A failed statement: a lost connection says so, anything else gives
    /// the server's own message.
    fn query(err: tokio_postgres::Error, target: &Target, what: &'static str) -> PgError {
        Self::query_hinted(
            err,
            target,
            what,
            "check that this database user may create and write the entitle_* tables; the state is as last recorded",
        )
    }

    /// [`PgError::query`] with `hint` for a refusal by the server.
    fn query_hinted(
        err: tokio_postgres::Error,
        target: &Target,
        what: &'static str,
        hint: &'static str,
    ) -> PgError {
        if err.is_closed() || err.as_db_error().is_none() {
            return PgError::Connect(ConnectError::from_pg(err, target));
        }
        let message = err
            .as_db_error()
            .map_or_else(|| err.to_string(), |db| db.message().to_string());
        PgError::Query {
            url: target.redacted().to_string(),
            what,
            message,
            hint,
        }
    }
}

/// The statements of a commit, prepared once per connection.
#[derive(Clone)]
struct Statements {
    bump: Statement,
    history: Statement,
    delete: Statement,
    upsert: Statement,
}

impl Statements {
    async fn prepare(client: &Client) -> Result<Statements, tokio_postgres::Error> {
        let (bump, history, delete, upsert) = tokio::try_join!(
            client.prepare("UPDATE entitle_workspaces SET serial = $3::bigint, format_version = $4, updated_at = now()
             WHERE id = $1 AND lineage = $2 AND serial = $3::bigint - 1 RETURNING serial"),
            client.prepare("INSERT INTO entitle_history (workspace_id, serial, lineage, who, operation, added, changes, snapshot)
             SELECT $1::integer, $2::bigint, $3::uuid, $4::text, $5::text,
                ARRAY(SELECT a FROM unnest($6::text[]) AS a WHERE NOT EXISTS
                    (SELECT 1 FROM entitle_resources r WHERE r.workspace_id = $1 AND r.address = a)),
                $7::jsonb,
                CASE WHEN EXISTS (SELECT 1 FROM entitle_history h WHERE h.workspace_id = $1) THEN NULL
                ELSE (SELECT coalesce(jsonb_object_agg(address, record), '{}'::jsonb)
                      FROM entitle_resources WHERE workspace_id = $1) END"),
            client.prepare("DELETE FROM entitle_resources WHERE workspace_id = $1 AND address = ANY($2)"),
            client.prepare("INSERT INTO entitle_resources (workspace_id, address, record)
             SELECT $1::integer, a, r FROM unnest($2::text[], $3::jsonb[]) AS t(a, r)
             ON CONFLICT (workspace_id, address) DO UPDATE SET record = EXCLUDED.record"),
        )?;
        Ok(Statements {
            bump,
            history,
            delete,
            upsert,
        })
    }
}

/// One connection to the server, shared by the lock and the writes of a
/// process: the lock is the connection's, so it ends with it.
pub struct Session {
    client: tokio::sync::Mutex<Client>,
    /// Prepared on the first commit.
    statements: tokio::sync::OnceCell<Statements>,
    target: Arc<Target>,
    /// `user@host`, for the history and the lock.
    who: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("url", &self.url()).finish()
    }
}

/// A workspace as `entitle workspace list` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkspaceInfo {
    pub name: String,
    pub serial: u64,
    pub resources: u64,
}

impl Session {
    /// Connects to `target` and brings its tables to this build's schema.
    pub async fn open(target: &Arc<Target>, who: String) -> Result<Arc<Session>, PgError> {
        let mut client = target.connect().await?;
        // The commit's statements are prepared once, while the tables grow
        // from nothing during an apply: a plan cached when they were empty
        // (sequential scans) would stay. Each execution is planned anew.
        client
            .batch_execute("SET plan_cache_mode = force_custom_plan")
            .await
            .map_err(|err| PgError::query(err, target, "could not set up the session"))?;
        schema::migrate(&mut client, target).await?;
        Ok(Arc::new(Session {
            client: tokio::sync::Mutex::new(client),
            statements: tokio::sync::OnceCell::new(),
            target: Arc::clone(target),
            who,
        }))
    }

    pub fn url(&self) -> &str {
        self.target.redacted()
    }

    fn failed(&self, what: &'static str) -> impl Fn(tokio_postgres::Error) -> PgError + '_ {
        move |err| PgError::query(err, &self.target, what)
    }

    /// The commit's statements, prepared on `client` (this session's).
    async fn statements(&self, client: &Client) -> Result<Statements, PgError> {
        self.statements
            .get_or_try_init(|| Statements::prepare(client))
            .await
            .cloned()
            .map_err(self.failed("could not prepare the state's statements"))
    }

    /// Every workspace, by name.
    pub async fn workspaces(&self) -> Result<Vec<WorkspaceInfo>, PgError> {
        let client = self.client.lock().await;
        let rows = client
            .query(
                "SELECT w.name, w.serial,
                    (SELECT count(*) FROM entitle_resources r WHERE r.workspace_id = w.id)
                 FROM entitle_workspaces w ORDER BY w.name",
                &[],
            )
            .await
            .map_err(self.failed("could not list the workspaces"))?;
        Ok(rows
            .iter()
            .map(|row| WorkspaceInfo {
                name: row.get(0),
                serial: to_u64(row.get(1)),
                resources: to_u64(row.get(2)),
            })
            .collect())
    }

    /// Every workspace's name, the default one included (it is made on
    /// first use).
    async fn names(&self) -> Result<Vec<String>, PgError> {
        let mut names: Vec<String> = self
            .workspaces()
            .await?
            .into_iter()
            .map(|w| w.name)
            .collect();
        if !names
            .iter()
            .any(|name| name == crate::state::DEFAULT_WORKSPACE)
        {
            names.push(crate::state::DEFAULT_WORKSPACE.to_string());
            names.sort();
        }
        Ok(names)
    }

    /// Makes workspace `name` with an empty state of a new lineage; `false`
    /// when it was there already.
    pub async fn create_workspace(&self, name: &str) -> Result<bool, PgError> {
        let client = self.client.lock().await;
        let made = client
            .execute(
                "INSERT INTO entitle_workspaces (name, lineage, serial, format_version)
                 VALUES ($1, $2, 0, $3) ON CONFLICT (name) DO NOTHING",
                &[&name, &Uuid::new_v4(), &format_version()],
            )
            .await
            .map_err(self.failed("could not create the workspace"))?;
        Ok(made == 1)
    }

    /// Opens workspace `name`; the default one is made on first use, any
    /// other must have been made with `entitle workspace new`.
    pub async fn workspace(
        self: &Arc<Self>,
        name: &str,
        is_default: bool,
    ) -> Result<PgStore, PgError> {
        let mut id = self.workspace_id(name).await?;
        if id.is_none() && is_default {
            // Made only when missing, so that a user who may only read
            // the tables can still read the default workspace.
            self.create_workspace(name).await?;
            id = self.workspace_id(name).await?;
        }
        let Some(id) = id else {
            return Err(PgError::NoSuchWorkspace {
                url: self.url().to_string(),
                workspace: name.to_string(),
                existing: self.names().await?,
            });
        };
        Ok(PgStore {
            session: Arc::clone(self),
            workspace: name.to_string(),
            id,
        })
    }
}

impl Session {
    async fn workspace_id(&self, name: &str) -> Result<Option<i32>, PgError> {
        let client = self.client.lock().await;
        Ok(client
            .query_opt(
                "SELECT id FROM entitle_workspaces WHERE name = $1",
                &[&name],
            )
            .await
            .map_err(self.failed("could not read the workspace"))?
            .map(|row| row.get(0)))
    }
}

/// One workspace's state in the database.
#[derive(Clone, Debug)]
pub struct PgStore {
    session: Arc<Session>,
    workspace: String,
    id: i32,
}

/// One row of `entitle state history`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub serial: u64,
    /// RFC 3339, UTC.
    pub at: String,
    pub who: String,
    pub operation: String,
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

/// A history row as it is copied between databases.
#[derive(Clone, Debug)]
pub struct HistoryRow {
    pub serial: u64,
    pub lineage: Uuid,
    pub at: String,
    pub who: String,
    pub operation: String,
    pub added: Vec<String>,
    pub changes: serde_json::Value,
    pub snapshot: Option<serde_json::Value>,
}

impl PgStore {
    pub fn url(&self) -> &str {
        self.session.url()
    }

    pub fn workspace(&self) -> &str {
        &self.workspace
    }

    /// `workspace `NAME` in URL`, as messages name it.
    pub fn describe(&self) -> String {
        format!("workspace `{}` in {}", self.workspace, self.url())
    }

    /// The server and database, whichever user reaches them.
    pub fn place(&self) -> String {
        self.session.target.place()
    }

    pub fn session(&self) -> &Arc<Session> {
        &self.session
    }

    fn failed(&self, what: &'static str) -> impl Fn(tokio_postgres::Error) -> PgError + '_ {
        self.session.failed(what)
    }

    /// Refuses to start an apply from `state` when its serial leaves no
    /// room to record what the apply does (the column is a `bigint`).
    pub fn check_room(&self, state: &State) -> Result<(), PgError> {
        const ROOM: u64 = 1 << 32;
        if state.serial > (i64::MAX as u64) - ROOM {
            return Err(PgError::SerialExhausted {
                url: self.url().to_string(),
                workspace: self.workspace.clone(),
                serial: state.serial,
            });
        }
        Ok(())
    }

    /// The workspace's state: its records as of one consistent snapshot.
    pub async fn load(&self) -> Result<State, PgError> {
        let failed = self.failed("could not read the state");
        let mut client = self.session.client.lock().await;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(&failed)?;
        let header = self.header(&tx).await?;
        let resources = self.records(&tx).await?;
        tx.commit().await.map_err(&failed)?;
        Ok(State {
            format_version: FORMAT_VERSION,
            lineage: header.lineage,
            serial: header.serial,
            resources,
            policy_overrides: header.policy_overrides,
            orphaned: header.orphaned,
        })
    }

    /// The workspace's row, refusing a newer format.
    async fn header(&self, tx: &Transaction<'_>) -> Result<Header, PgError> {
        let row = tx
            .query_one(
                "SELECT lineage, serial, format_version, policy_overrides::text, orphaned::text
                 FROM entitle_workspaces WHERE id = $1",
                &[&self.id],
            )
            .await
            .map_err(self.failed("could not read the workspace"))?;
        let found: i32 = row.get(2);
        if found > format_version() {
            return Err(PgError::NewerFormat {
                url: self.url().to_string(),
                workspace: self.workspace.clone(),
                found,
            });
        }
        Ok(Header {
            lineage: row.get(0),
            serial: to_u64(row.get(1)),
            policy_overrides: self.column(row.get(3), "policy_overrides")?,
            orphaned: self.column(row.get(4), "orphaned")?,
        })
    }

    /// A JSON column of the workspace's row.
    fn column<T: serde::de::DeserializeOwned>(&self, text: &str, name: &str) -> Result<T, PgError> {
        serde_json::from_str(text).map_err(|err| PgError::Corrupt {
            url: self.url().to_string(),
            workspace: self.workspace.clone(),
            at: format!("entitle_workspaces, {name}"),
            message: err.to_string(),
        })
    }

    fn record(&self, address: &str, record: &str) -> Result<(Address, ResourceState), PgError> {
        let corrupt = |message: String| PgError::Corrupt {
            url: self.url().to_string(),
            workspace: self.workspace.clone(),
            at: format!("entitle_resources, address {address}"),
            message,
        };
        let parsed: Address = address
            .parse()
            .map_err(|e: crate::manifest::AddressError| corrupt(e.to_string()))?;
        let record = serde_json::from_str(record).map_err(|e| corrupt(e.to_string()))?;
        Ok((parsed, record))
    }

    /// Records `changes` on top of the state of `lineage` at `serial`, as
    /// the next serial, which it returns once committed.
    pub async fn commit(
        &self,
        lineage: Uuid,
        serial: u64,
        changes: &Changes,
        operation: &str,
    ) -> Result<u64, PgError> {
        let failed = self.failed("could not record the changes");
        let mut client = self.session.client.lock().await;
        let statements = self.session.statements(&client).await?;
        let refused = {
            let tx = client.transaction().await.map_err(&failed)?;
            match self
                .write_changes(&tx, &statements, lineage, serial, changes, operation)
                .await
            {
                Ok(Some(next)) => {
                    tx.commit().await.map_err(&failed)?;
                    return Ok(next);
                }
                Ok(None) => None,
                Err(err) => Some(err),
            }
            // Dropping the transaction rolls it back.
        };
        Err(self.refused(&client, lineage, serial, refused).await)
    }

    /// Writes `state` whole as the next serial: the records that differ
    /// from the server's are set, those it lacks removed. On success
    /// `state.serial` is the new serial.
    pub async fn write(&self, state: &mut State, operation: &str) -> Result<(), PgError> {
        let failed = self.failed("could not write the state");
        state.settle_orphaned();
        let mut client = self.session.client.lock().await;
        let statements = self.session.statements(&client).await?;
        let refused = {
            let tx = client.transaction().await.map_err(&failed)?;
            let on_server = self.records(&tx).await?;
            let changes = difference(&on_server, &state.resources);
            match self
                .write_changes(
                    &tx,
                    &statements,
                    state.lineage,
                    state.serial,
                    &changes,
                    operation,
                )
                .await
            {
                Ok(Some(next)) => {
                    self.write_overrides(&tx, state).await?;
                    self.write_orphaned(&tx, state).await?;
                    tx.commit().await.map_err(&failed)?;
                    state.serial = next;
                    state.format_version = FORMAT_VERSION;
                    return Ok(());
                }
                Ok(None) => None,
                Err(err) => Some(err),
            }
        };
        Err(self
            .refused(&client, state.lineage, state.serial, refused)
            .await)
    }

    /// Keeps `state`'s policy overrides with the workspace. They only
    /// grow: a state without any (one rebuilt from the history for a
    /// rollback) leaves those kept alone.
    async fn write_overrides(&self, tx: &Transaction<'_>, state: &State) -> Result<(), PgError> {
        if state.policy_overrides.is_empty() {
            return Ok(());
        }
        tx.execute(
            "UPDATE entitle_workspaces SET policy_overrides = $2 WHERE id = $1",
            &[&self.id, &Json(&state.policy_overrides)],
        )
        .await
        .map_err(self.failed("could not write the state"))?;
        Ok(())
    }

    /// Keeps `state`'s orphaned entries with the workspace, in the
    /// transaction that removes (or brings back) their records.
    async fn write_orphaned(&self, tx: &Transaction<'_>, state: &State) -> Result<(), PgError> {
        tx.execute(
            "UPDATE entitle_workspaces SET orphaned = $2 WHERE id = $1",
            &[&self.id, &Json(&state.orphaned)],
        )
        .await
        .map_err(self.failed("could not write the state"))?;
        Ok(())
    }

    /// Every record of the workspace, as `tx` sees them.
    async fn records(
        &self,
        tx: &Transaction<'_>,
    ) -> Result<BTreeMap<Address, ResourceState>, PgError> {
        let rows = tx
            .query(
                "SELECT address, record::text FROM entitle_resources WHERE workspace_id = $1",
                &[&self.id],
            )
            .await
            .map_err(self.failed("could not read the state"))?;
        rows.iter()
            .map(|row| self.record(row.get(0), row.get(1)))
            .collect()
    }

    /// The statements of one write, pipelined, in `tx`: the serial moves on
    /// only from `lineage` at `serial`. `None` when it had moved (or the
    /// lineage differs): the caller rolls back.
    async fn write_changes(
        &self,
        tx: &Transaction<'_>,
        statements: &Statements,
        lineage: Uuid,
        serial: u64,
        changes: &Changes,
        operation: &str,
    ) -> Result<Option<u64>, tokio_postgres::Error> {
        let Some(next) = serial.checked_add(1).and_then(|n| i64::try_from(n).ok()) else {
            return Ok(None);
        };
        let (set, removed): (Vec<_>, Vec<_>) = changes.iter().partition(|(_, r)| r.is_some());
        let set_addresses: Vec<String> = set.iter().map(|(a, _)| a.to_string()).collect();
        let set_records: Vec<Json<&ResourceState>> = set
            .iter()
            .filter_map(|(_, r)| r.as_ref().map(Json))
            .collect();
        let removed: Vec<String> = removed.iter().map(|(a, _)| a.to_string()).collect();
        let version = format_version();
        let changes = Json(changes);
        let bump_params: [&(dyn ToSql + Sync); 4] = [&self.id, &lineage, &next, &version];
        let history_params: [&(dyn ToSql + Sync); 7] = [
            &self.id,
            &next,
            &lineage,
            &self.session.who,
            &operation,
            &set_addresses,
            &changes,
        ];
        let delete_params: [&(dyn ToSql + Sync); 2] = [&self.id, &removed];
        let upsert_params: [&(dyn ToSql + Sync); 3] = [&self.id, &set_addresses, &set_records];
        let bump = tx.query_opt(&statements.bump, &bump_params);
        let history = tx.execute(&statements.history, &history_params);
        let delete = tx.execute(&statements.delete, &delete_params);
        let upsert = tx.execute(&statements.upsert, &upsert_params);
        let (bumped, ..) = tokio::try_join!(bump, history, delete, upsert)?;
        Ok(bumped.map(|_| to_u64(next)))
    }

    /// Why a write from `lineage` at `serial` was refused (`err`: the
    /// statement that failed, if one did), read after the rollback.
    async fn refused(
        &self,
        client: &Client,
        lineage: Uuid,
        serial: u64,
        err: Option<tokio_postgres::Error>,
    ) -> PgError {
        let target = &self.session.target;
        let failed = |err| PgError::query(err, target, "could not record the changes");
        let err = match err {
            Some(err) if err.is_closed() => return failed(err),
            other => other,
        };
        let found = client
            .query_opt(
                "SELECT lineage, serial FROM entitle_workspaces WHERE id = $1",
                &[&self.id],
            )
            .await;
        match found {
            Ok(Some(row)) if row.get::<_, Uuid>(0) != lineage => PgError::LineageMismatch {
                url: self.url().to_string(),
                workspace: self.workspace.clone(),
                on_server: row.get(0),
                ours: lineage,
            },
            Ok(Some(row)) if to_u64(row.get(1)) != serial => self.moved(to_u64(row.get(1)), serial),
            Ok(Some(_)) => match err {
                Some(err) => failed(err),
                // Same lineage and serial, and yet not moved on: only a
                // serial at the end of its range does that.
                None => self.moved(serial, serial),
            },
            Ok(None) => PgError::NoSuchWorkspace {
                url: self.url().to_string(),
                workspace: self.workspace.clone(),
                existing: Vec::new(),
            },
            Err(err) => failed(err),
        }
    }

    fn moved(&self, on_server: u64, expected: u64) -> PgError {
        PgError::Moved {
            url: self.url().to_string(),
            workspace: self.workspace.clone(),
            on_server,
            expected,
        }
    }
}

/// What turns `from` into `to`: each record that differs, `None` for those
/// `to` lacks.
pub fn difference(
    from: &BTreeMap<Address, ResourceState>,
    to: &BTreeMap<Address, ResourceState>,
) -> Changes {
    let removed = from
        .keys()
        .filter(|address| !to.contains_key(*address))
        .map(|address| (address.clone(), None));
    let set = to
        .iter()
        .filter(|(address, record)| from.get(*address) != Some(*record))
        .map(|(address, record)| (address.clone(), Some(record.clone())));
    removed.chain(set).collect()
}

fn format_version() -> i32 {
    i32::try_from(FORMAT_VERSION).unwrap_or(i32::MAX)
}

/// A count or serial the schema keeps non-negative.
fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// A workspace's row.
struct Header {
    lineage: Uuid,
    serial: u64,
    policy_overrides: Vec<crate::policy::PolicyOverride>,
    orphaned: Vec<crate::state::Orphaned>,
}
