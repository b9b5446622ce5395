//! The history of a workspace in PostgreSQL: every serial kept, listed,
//! rebuilt, pruned on request, and copied whole between databases.

use std::collections::BTreeMap;

use tokio_postgres::types::Json;
use uuid::Uuid;

use super::{HistoryEntry, HistoryRow, PgError, PgStore, Session, format_version, to_u64};
use crate::manifest::Address;
use crate::state::journal::Changes;
use crate::state::model::{FORMAT_VERSION, ResourceState, State};

impl PgStore {
    /// The kept serials, newest first, at most `limit` of them.
    pub async fn history(&self, limit: Option<u64>) -> Result<Vec<HistoryEntry>, PgError> {
        let limit = limit.map_or(i64::MAX, |n| i64::try_from(n).unwrap_or(i64::MAX));
        let client = self.session.client.lock().await;
        let rows = client
            .query(
                "SELECT serial,
                    to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                    who, operation, added,
                    ARRAY(SELECT key FROM jsonb_each(changes) WHERE value <> 'null'::jsonb
                          AND NOT key = ANY(added) ORDER BY key),
                    ARRAY(SELECT key FROM jsonb_each(changes) WHERE value = 'null'::jsonb ORDER BY key)
                 FROM entitle_history WHERE workspace_id = $1
                 ORDER BY serial DESC LIMIT $2",
                &[&self.id, &limit],
            )
            .await
            .map_err(self.failed("could not read the history"))?;
        Ok(rows
            .iter()
            .map(|row| HistoryEntry {
                serial: to_u64(row.get(0)),
                at: row.get(1),
                who: row.get(2),
                operation: row.get(3),
                added: row.get(4),
                changed: row.get(5),
                removed: row.get(6),
            })
            .collect())
    }

    /// The state as it was at `serial`: the nearest snapshot at or below
    /// it, with the changes of every serial from there on.
    pub async fn state_at(&self, serial: u64) -> Result<State, PgError> {
        let wanted = i64::try_from(serial).unwrap_or(i64::MAX);
        let failed = self.failed("could not read the history");
        let client = self.session.client.lock().await;
        let base = client
            .query_opt(
                "SELECT serial, snapshot::text FROM entitle_history
                 WHERE workspace_id = $1 AND serial <= $2 AND snapshot IS NOT NULL
                 ORDER BY serial DESC LIMIT 1",
                &[&self.id, &wanted],
            )
            .await
            .map_err(&failed)?;
        let Some(base) = base else {
            drop(client);
            return Err(self.no_serial(serial).await);
        };
        let from: i64 = base.get(0);
        let mut resources: BTreeMap<Address, ResourceState> = self.parse(base.get(1), from)?;
        let rows = client
            .query(
                "SELECT serial, lineage, changes::text FROM entitle_history
                 WHERE workspace_id = $1 AND serial >= $2 AND serial <= $3 ORDER BY serial",
                &[&self.id, &from, &wanted],
            )
            .await
            .map_err(&failed)?;
        drop(client);
        let mut lineage = None;
        for (expected, row) in (from..).zip(&rows) {
            let at: i64 = row.get(0);
            if at != expected {
                return Err(self.no_serial(serial).await);
            }
            let changes: Changes = self.parse(row.get(2), at)?;
            for (address, record) in changes {
                match record {
                    Some(record) => resources.insert(address, record),
                    None => resources.remove(&address),
                };
            }
            lineage = Some(row.get::<_, Uuid>(1));
        }
        match (lineage, rows.last().map(|row| row.get::<_, i64>(0))) {
            (Some(lineage), Some(last)) if last == wanted => Ok(State {
                format_version: FORMAT_VERSION,
                lineage,
                serial,
                resources,
                policy_overrides: Vec::new(),
                orphaned: Vec::new(),
            }),
            _ => Err(self.no_serial(serial).await),
        }
    }

    fn parse<T: serde::de::DeserializeOwned>(&self, text: &str, serial: i64) -> Result<T, PgError> {
        serde_json::from_str(text).map_err(|err| PgError::Corrupt {
            url: self.url().to_string(),
            workspace: self.workspace.clone(),
            at: format!("entitle_history, serial {serial}"),
            message: err.to_string(),
        })
    }

    /// Why `serial` cannot be rebuilt: pruned, or never written.
    async fn no_serial(&self, serial: u64) -> PgError {
        let range = {
            let client = self.session.client.lock().await;
            client
                .query_one(
                    "SELECT min(serial), max(serial) FROM entitle_history WHERE workspace_id = $1",
                    &[&self.id],
                )
                .await
        };
        let why = match range {
            Ok(row) => match (row.get::<_, Option<i64>>(0), row.get::<_, Option<i64>>(1)) {
                (Some(first), Some(last)) if i128::from(serial) < i128::from(first) => {
                    format!("the history kept starts at serial {first} (up to {last})")
                }
                (Some(first), Some(last)) => {
                    format!("the history kept goes from serial {first} to {last}")
                }
                _ => "it has no history yet".to_string(),
            },
            Err(err) => {
                return PgError::query(err, &self.session.target, "could not read the history");
            }
        };
        PgError::NoSerial {
            url: self.url().to_string(),
            workspace: self.workspace.clone(),
            serial,
            why,
        }
    }

    /// Keeps the `keep` newest serials and deletes older history, the
    /// oldest kept serial taking a snapshot of what came before it.
    /// Returns how many serials were deleted. The caller holds the lock.
    pub async fn prune(&self, keep: u64) -> Result<u64, PgError> {
        let current = self.load().await?.serial;
        let Some(oldest_kept) = current.checked_sub(keep).map(|n| n + 1) else {
            return Ok(0);
        };
        let oldest = {
            let client = self.session.client.lock().await;
            client
                .query_one(
                    "SELECT min(serial) FROM entitle_history WHERE workspace_id = $1",
                    &[&self.id],
                )
                .await
                .map_err(self.failed("could not read the history"))?
                .get::<_, Option<i64>>(0)
        };
        if oldest.is_none_or(|oldest| to_u64(oldest) >= oldest_kept) {
            return Ok(0);
        }
        let before = self.state_at(oldest_kept - 1).await?;
        let kept = i64::try_from(oldest_kept).unwrap_or(i64::MAX);
        let failed = self.failed("could not prune the history");
        let mut client = self.session.client.lock().await;
        let tx = client.transaction().await.map_err(&failed)?;
        tx.execute(
            "UPDATE entitle_history SET snapshot = $3 WHERE workspace_id = $1 AND serial = $2",
            &[&self.id, &kept, &Json(&before.resources)],
        )
        .await
        .map_err(&failed)?;
        let deleted = tx
            .execute(
                "DELETE FROM entitle_history WHERE workspace_id = $1 AND serial < $2",
                &[&self.id, &kept],
            )
            .await
            .map_err(&failed)?;
        tx.commit().await.map_err(&failed)?;
        Ok(deleted)
    }

    /// Every history row, oldest first, to copy elsewhere.
    pub async fn history_rows(&self) -> Result<Vec<HistoryRow>, PgError> {
        let client = self.session.client.lock().await;
        let rows = client
            .query(
                "SELECT serial, lineage, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),
                    who, operation, added, changes, snapshot
                 FROM entitle_history WHERE workspace_id = $1 ORDER BY serial",
                &[&self.id],
            )
            .await
            .map_err(self.failed("could not read the history"))?;
        Ok(rows
            .iter()
            .map(|row| HistoryRow {
                serial: to_u64(row.get(0)),
                lineage: row.get(1),
                at: row.get(2),
                who: row.get(3),
                operation: row.get(4),
                added: row.get(5),
                changes: row.get::<_, Json<serde_json::Value>>(6).0,
                snapshot: row
                    .get::<_, Option<Json<serde_json::Value>>>(7)
                    .map(|json| json.0),
            })
            .collect())
    }

    /// Puts `state` here as it is, lineage and serial included, with
    /// `history` (or, when there is none, one serial holding all of it,
    /// recorded as `operation`). Refuses a workspace that holds another
    /// lineage or a newer serial. The caller holds the lock.
    pub async fn put(
        &self,
        state: &State,
        history: &[HistoryRow],
        operation: &str,
    ) -> Result<(), PgError> {
        let failed = self.failed("could not write the state");
        let serial = i64::try_from(state.serial).unwrap_or(i64::MAX);
        let mut client = self.session.client.lock().await;
        let tx = client.transaction().await.map_err(&failed)?;
        let row = tx
            .query_one(
                "SELECT lineage, serial,
                    EXISTS (SELECT 1 FROM entitle_resources WHERE workspace_id = $1)
                 FROM entitle_workspaces WHERE id = $1 FOR UPDATE",
                &[&self.id],
            )
            .await
            .map_err(&failed)?;
        let (lineage, on_server, holds): (Uuid, i64, bool) = (row.get(0), row.get(1), row.get(2));
        let blank = on_server == 0 && !holds;
        if !blank && lineage != state.lineage {
            return Err(PgError::LineageMismatch {
                url: self.url().to_string(),
                workspace: self.workspace.clone(),
                on_server: lineage,
                ours: state.lineage,
            });
        }
        if !blank && on_server > serial {
            return Err(self.moved(to_u64(on_server), state.serial));
        }
        let addresses: Vec<String> = state.resources.keys().map(ToString::to_string).collect();
        let records: Vec<Json<&ResourceState>> = state.resources.values().map(Json).collect();
        let statements = [
            "UPDATE entitle_workspaces SET lineage = $2, serial = $3, format_version = $4, policy_overrides = $5, orphaned = $6, updated_at = now() WHERE id = $1",
            "DELETE FROM entitle_resources WHERE workspace_id = $1",
            "DELETE FROM entitle_history WHERE workspace_id = $1",
        ];
        tx.execute(
            statements[0],
            &[
                &self.id,
                &state.lineage,
                &serial,
                &format_version(),
                &Json(&state.policy_overrides),
                &Json(&state.orphaned),
            ],
        )
        .await
        .map_err(&failed)?;
        for statement in &statements[1..] {
            tx.execute(*statement, &[&self.id]).await.map_err(&failed)?;
        }
        tx.execute(
            "INSERT INTO entitle_resources (workspace_id, address, record)
             SELECT $1::integer, a, r FROM unnest($2::text[], $3::jsonb[]) AS t(a, r)",
            &[&self.id, &addresses, &records],
        )
        .await
        .map_err(&failed)?;
        let whole;
        let history = if history.is_empty() {
            whole = [self.whole_row(state, operation)];
            &whole[..]
        } else {
            history
        };
        for row in history {
            tx.execute(
                "INSERT INTO entitle_history (workspace_id, serial, lineage, at, who, operation, added, changes, snapshot)
                 VALUES ($1, $2, $3, $4::text::timestamptz, $5, $6, $7, $8, $9)",
                &[
                    &self.id,
                    &i64::try_from(row.serial).unwrap_or(i64::MAX),
                    &row.lineage,
                    &row.at,
                    &row.who,
                    &row.operation,
                    &row.added,
                    &Json(&row.changes),
                    &row.snapshot.as_ref().map(Json),
                ],
            )
            .await
            .map_err(&failed)?;
        }
        tx.commit().await.map_err(&failed)
    }

    /// One history row that makes `state` from nothing.
    fn whole_row(&self, state: &State, operation: &str) -> HistoryRow {
        let changes: Changes = state
            .resources
            .iter()
            .map(|(address, record)| (address.clone(), Some(record.clone())))
            .collect();
        HistoryRow {
            serial: state.serial,
            lineage: state.lineage,
            at: crate::state::lock::now_rfc3339(),
            who: self.session.who.clone(),
            operation: operation.to_string(),
            added: state.resources.keys().map(ToString::to_string).collect(),
            changes: serde_json::to_value(&changes).unwrap_or_default(),
            snapshot: Some(serde_json::json!({})),
        }
    }
}

impl Session {
    /// Deletes workspace `name` and its history, refusing one that still
    /// holds records. The caller holds its lock.
    pub async fn delete_workspace(&self, name: &str) -> Result<(), DeleteRefused> {
        let failed = |err| {
            DeleteRefused::Failed(PgError::query(
                err,
                &self.target,
                "could not delete the workspace",
            ))
        };
        let mut client = self.client.lock().await;
        let tx = client.transaction().await.map_err(failed)?;
        let held = tx
            .query_one(
                "SELECT count(r.address) FROM entitle_workspaces w
                 LEFT JOIN entitle_resources r ON r.workspace_id = w.id
                 WHERE w.name = $1",
                &[&name],
            )
            .await
            .map_err(failed)?
            .get::<_, i64>(0);
        if held > 0 {
            return Err(DeleteRefused::NotEmpty(to_u64(held)));
        }
        tx.execute("DELETE FROM entitle_workspaces WHERE name = $1", &[&name])
            .await
            .map_err(failed)?;
        tx.commit().await.map_err(failed)
    }
}

/// Why a workspace was not deleted.
#[derive(Debug)]
pub enum DeleteRefused {
    /// It holds this many records.
    NotEmpty(u64),
    Failed(PgError),
}
