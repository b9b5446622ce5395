//! The tables of a PostgreSQL state, created and migrated on first use.
//!
//! `entitle_schema_version` holds the version the tables are at; each
//! migration brings them one version further. Migrating runs in one
//! transaction under a transaction-level advisory lock, so two processes
//! that start at once on a new database take turns: the second finds the
//! tables made and does nothing.

use tokio_postgres::{Client, GenericClient};

use super::{LOCK_CLASS, PgError, Target};

/// The migrations, in order: `MIGRATIONS[n]` brings version `n` to `n + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: workspaces, their current records, every serial's changes, and
    // who holds each workspace's lock.
    "CREATE TABLE entitle_workspaces (
        id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name text NOT NULL UNIQUE,
        lineage uuid NOT NULL,
        serial bigint NOT NULL CHECK (serial >= 0),
        format_version integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE entitle_resources (
        workspace_id integer NOT NULL REFERENCES entitle_workspaces (id) ON DELETE CASCADE,
        address text NOT NULL,
        record jsonb NOT NULL,
        PRIMARY KEY (workspace_id, address)
    );
    CREATE TABLE entitle_history (
        workspace_id integer NOT NULL REFERENCES entitle_workspaces (id) ON DELETE CASCADE,
        serial bigint NOT NULL,
        lineage uuid NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        who text NOT NULL,
        operation text NOT NULL,
        added text[] NOT NULL,
        changes jsonb NOT NULL,
        snapshot jsonb,
        PRIMARY KEY (workspace_id, serial)
    );
    CREATE TABLE entitle_locks (
        workspace_id integer PRIMARY KEY REFERENCES entitle_workspaces (id) ON DELETE CASCADE,
        backend_pid integer NOT NULL,
        holder text NOT NULL,
        host text NOT NULL,
        pid bigint NOT NULL,
        operation text NOT NULL,
        since timestamptz NOT NULL DEFAULT now()
    );",
    // 2: the policy overrides applies used, kept with the workspace.
    "ALTER TABLE entitle_workspaces ADD COLUMN policy_overrides jsonb NOT NULL DEFAULT '[]'::jsonb;",
    // 3: the objects applies orphaned, kept with the workspace and written
    // in the transaction that removes their records.
    "ALTER TABLE entitle_workspaces ADD COLUMN orphaned jsonb NOT NULL DEFAULT '[]'::jsonb;",
];

/// The version this build's tables are at.
pub const VERSION: i32 = MIGRATIONS.len() as i32;

/// Brings the tables to [`VERSION`], refusing a database a newer entitle
/// migrated further.
pub async fn migrate(client: &mut Client, target: &Target) -> Result<(), PgError> {
    let failed = |err| {
        PgError::query_hinted(
            err,
            target,
            "could not create or migrate the state tables",
            CREATE_HINT,
        )
    };
    // Tables already at this version need no right to create anything, so
    // a user allowed only to read and write them is let in.
    if check_version(client, target).await? == Some(VERSION) {
        return Ok(());
    }
    let tx = client.transaction().await.map_err(failed)?;
    // Object id 0 is no workspace's (their ids start at 1).
    tx.execute("SELECT pg_advisory_xact_lock($1, 0)", &[&LOCK_CLASS])
        .await
        .map_err(failed)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS entitle_schema_version (version integer NOT NULL)",
    )
    .await
    .map_err(failed)?;
    let found = read_version(&tx, target).await?;
    if found == VERSION {
        return Ok(());
    }
    for migration in &MIGRATIONS[usize::try_from(found).unwrap_or(0)..] {
        tx.batch_execute(migration).await.map_err(failed)?;
    }
    tx.execute("DELETE FROM entitle_schema_version", &[])
        .await
        .map_err(failed)?;
    tx.execute(
        "INSERT INTO entitle_schema_version (version) VALUES ($1)",
        &[&VERSION],
    )
    .await
    .map_err(failed)?;
    tx.commit().await.map_err(failed)
}

/// What the first use of a database needs, and how a user without it gets in.
const CREATE_HINT: &str = "the first use of a database creates the entitle_* tables, which needs CREATE on its schema: run entitle once as a user who has it (the database owner, say), or GRANT CREATE ON SCHEMA public to this user; once the tables are there, SELECT, INSERT, UPDATE and DELETE on them are enough";

/// The version the tables are at, without creating anything; `None` when
/// there are no tables yet.
async fn check_version(client: &Client, target: &Target) -> Result<Option<i32>, PgError> {
    let failed = |err| PgError::query(err, target, "could not read the state tables' version");
    let exists: bool = client
        .query_one(
            "SELECT to_regclass('entitle_schema_version') IS NOT NULL",
            &[],
        )
        .await
        .map_err(failed)?
        .get(0);
    if !exists {
        return Ok(None);
    }
    read_version(client, target).await.map(Some)
}

/// The version in `entitle_schema_version` (0 when it is empty), refusing
/// one newer than this build's.
async fn read_version(client: &impl GenericClient, target: &Target) -> Result<i32, PgError> {
    let found: Option<i32> = client
        .query_one("SELECT max(version) FROM entitle_schema_version", &[])
        .await
        .map_err(|err| PgError::query(err, target, "could not read the state tables' version"))?
        .get(0);
    let found = found.unwrap_or(0);
    refuse_newer(found, target)?;
    Ok(found)
}

fn refuse_newer(found: i32, target: &Target) -> Result<(), PgError> {
    if found > VERSION {
        return Err(PgError::NewerSchema {
            url: target.redacted().to_string(),
            found,
        });
    }
    Ok(())
}
