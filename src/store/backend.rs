//! What a backend provides ([`Backend`]: a write transaction and a read connection, both
//! [`Exec`]) and every [`Store`](super::Store) operation written once on top of it, so the two
//! backends share all SQL but their connection handling.

use std::future::Future;

use chrono::{DateTime, Utc};

use super::apply::{self, Cell, Exec};
use super::batch::Batch;
use super::common::COUNTED_TABLES;
use super::schema::{Type, Value};
use super::sql;
use super::{CursorUpdates, Error, Result, RunRecord};

/// A backend's connection handling.
pub(crate) trait Backend: Send + Sync {
    /// An open write transaction.
    type Tx: Exec;
    /// A pooled connection for reads.
    type Conn: Exec;

    /// Starts the one write transaction of a batch.
    fn begin(&self) -> impl Future<Output = Result<Self::Tx>> + Send;
    fn commit(tx: Self::Tx) -> impl Future<Output = Result<()>> + Send;
    /// A connection that reads committed data.
    fn reader(&self) -> impl Future<Output = Result<Self::Conn>> + Send;
    /// A connection for bookkeeping writes outside a batch (run records).
    fn writer(&self) -> impl Future<Output = Result<Self::Conn>> + Send;
    /// The single-writer lock (a file lock or an advisory lock).
    fn lock_writer(&self, org: &str) -> impl Future<Output = Result<super::WriterLock>> + Send;
}

pub(crate) async fn apply<B: Backend>(b: &B, org: &str, batch: &Batch) -> Result<u64> {
    let mut tx = b.begin().await?;
    let written = apply::apply(&mut tx, org, batch).await?;
    B::commit(tx).await?;
    Ok(written)
}

pub(super) fn text(s: &str) -> (Type, Value<'_>) {
    (Type::Text, Value::Text(s))
}

pub(super) fn time(t: DateTime<Utc>) -> (Type, Value<'static>) {
    (Type::Time, Value::Time(super::common::micros(t)))
}

pub(crate) async fn cursor<B: Backend>(
    b: &B,
    org: &str,
    connector: &str,
    scope: &str,
) -> Result<Option<String>> {
    let mut c = b.reader().await?;
    let d = c.dialect();
    let rows = c
        .fetch(
            sql::query(
                d,
                "sync_cursors",
                "SELECT value FROM sync_cursors WHERE org = {} AND connector = {} AND scope = {}",
                vec![text(org), text(connector), text(scope)],
            ),
            &[Type::Text],
        )
        .await?;
    Ok(rows
        .into_iter()
        .next()
        .and_then(|r| r.into_iter().next())
        .and_then(Cell::into_text))
}

pub(crate) async fn start_run<B: Backend>(
    b: &B,
    org: &str,
    connector: &str,
    mode: &str,
    started_at: DateTime<Utc>,
) -> Result<i64> {
    let mut c = b.writer().await?;
    let d = c.dialect();
    let rows = c
        .fetch(
            sql::query(
                d,
                "sync_runs",
                "INSERT INTO sync_runs (org, connector, mode, started_at, outcome) \
                 VALUES ({}, {}, {}, {}, 'running') RETURNING id",
                vec![text(org), text(connector), text(mode), time(started_at)],
            ),
            &[Type::Int],
        )
        .await?;
    rows.first()
        .and_then(|r| r.first())
        .and_then(Cell::as_int)
        .ok_or_else(|| Error::Corrupt {
            what: "INSERT INTO sync_runs returned no id".into(),
        })
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn finish_run<B: Backend>(
    b: &B,
    run_id: i64,
    outcome: &str,
    error: Option<&str>,
    requests: i64,
    rows: i64,
    finished_at: DateTime<Utc>,
) -> Result<()> {
    let mut c = b.writer().await?;
    let d = c.dialect();
    c.execute(sql::query(
        d,
        "sync_runs",
        "UPDATE sync_runs SET outcome = {}, error = {}, requests = {}, rows = {}, \
         finished_at = {} WHERE id = {}",
        vec![
            text(outcome),
            (Type::Text, error.map_or(Value::Null, Value::Text)),
            (Type::Int, Value::Int(requests)),
            (Type::Int, Value::Int(rows)),
            time(finished_at),
            (Type::Int, Value::Int(run_id)),
        ],
    ))
    .await?;
    Ok(())
}

/// Records what a run skipped and went on (one line each), before it finishes.
pub(crate) async fn set_run_warnings<B: Backend>(b: &B, run_id: i64, warnings: &str) -> Result<()> {
    let mut c = b.writer().await?;
    let d = c.dialect();
    c.execute(sql::query(
        d,
        "sync_runs",
        "UPDATE sync_runs SET warnings = {} WHERE id = {}",
        vec![text(warnings), (Type::Int, Value::Int(run_id))],
    ))
    .await?;
    Ok(())
}

/// The `sync` runs to delete: finished, older than the `keep`-th newest (the subquery is
/// NULL while there are fewer, and then nothing matches), and not the newest success.
pub(crate) async fn prune_runs<B: Backend>(
    b: &B,
    org: &str,
    connector: &str,
    keep: u32,
) -> Result<u64> {
    let mut c = b.writer().await?;
    let d = c.dialect();
    c.execute(sql::query(
        d,
        "sync_runs",
        "DELETE FROM sync_runs WHERE org = {} AND connector = {} AND mode = 'sync' \
         AND outcome <> 'running' \
         AND id < (SELECT id FROM sync_runs WHERE org = {} AND connector = {} \
                   AND mode = 'sync' ORDER BY id DESC LIMIT 1 OFFSET {}) \
         AND id <> COALESCE((SELECT max(id) FROM sync_runs WHERE org = {} AND connector = {} \
                   AND mode = 'sync' AND outcome = 'succeeded'), 0)",
        vec![
            text(org),
            text(connector),
            text(org),
            text(connector),
            (Type::Int, Value::Int(i64::from(keep.max(1)) - 1)),
            text(org),
            text(connector),
        ],
    ))
    .await
}

/// Why a run is `abandoned`, in its `error` column.
const ABANDONED: &str = "abandoned: the process running it ended without recording an outcome \
                         (killed, crashed or the machine stopped)";

pub(crate) async fn abandon_running<B: Backend>(
    b: &B,
    org: &str,
    at: DateTime<Utc>,
) -> Result<u64> {
    let mut c = b.writer().await?;
    let d = c.dialect();
    c.execute(sql::query(
        d,
        "sync_runs",
        "UPDATE sync_runs SET outcome = 'abandoned', finished_at = {}, error = {} \
         WHERE org = {} AND outcome = 'running'",
        vec![time(at), text(ABANDONED), text(org)],
    ))
    .await
}

pub(crate) async fn deleted_work_items<B: Backend>(
    b: &B,
    org: &str,
    project: &str,
) -> Result<Vec<i64>> {
    let mut c = b.reader().await?;
    let d = c.dialect();
    let rows = c
        .fetch(
            sql::query(
                d,
                "work_items",
                "SELECT id FROM work_items WHERE org = {} AND project = {} \
                 AND deleted_at IS NOT NULL AND destroyed_at IS NULL ORDER BY id",
                vec![text(org), text(project)],
            ),
            &[Type::Int],
        )
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| r.first().and_then(Cell::as_int))
        .collect())
}

pub(crate) async fn reopen_run<B: Backend>(b: &B, run_id: i64) -> Result<()> {
    let mut c = b.writer().await?;
    let d = c.dialect();
    c.execute(sql::query(
        d,
        "sync_runs",
        "UPDATE sync_runs SET outcome = 'running', finished_at = NULL, error = NULL \
         WHERE id = {}",
        vec![(Type::Int, Value::Int(run_id))],
    ))
    .await?;
    Ok(())
}

const RUN_COLUMNS: [Type; 10] = [
    Type::Int,
    Type::Text,
    Type::Text,
    Type::Time,
    Type::Time,
    Type::Text,
    Type::Text,
    Type::Int,
    Type::Int,
    Type::Text,
];

fn run_from(row: Vec<Cell>) -> Result<RunRecord> {
    let corrupt = || Error::Corrupt {
        what: "a sync_runs row lacks a required column".into(),
    };
    let mut it = row.into_iter();
    let mut next = || it.next().ok_or_else(corrupt);
    Ok(RunRecord {
        id: next()?.as_int().ok_or_else(corrupt)?,
        connector: next()?.into_text().ok_or_else(corrupt)?,
        mode: next()?.into_text().ok_or_else(corrupt)?,
        started_at: next()?.as_time().ok_or_else(corrupt)?,
        finished_at: next()?.as_time(),
        outcome: next()?.into_text().ok_or_else(corrupt)?,
        error: next()?.into_text(),
        requests: next()?.as_int().unwrap_or(0),
        rows: next()?.as_int().unwrap_or(0),
        warnings: next()?.into_text(),
    })
}

pub(crate) async fn last_run<B: Backend>(
    b: &B,
    org: &str,
    connector: &str,
    mode: &str,
) -> Result<Option<RunRecord>> {
    let mut c = b.reader().await?;
    let d = c.dialect();
    let rows = c
        .fetch(
            sql::query(
                d,
                "sync_runs",
                "SELECT id, connector, mode, started_at, finished_at, outcome, error, requests, \
                 rows, warnings FROM sync_runs WHERE org = {} AND connector = {} AND mode = {} \
                 ORDER BY id DESC LIMIT 1",
                vec![text(org), text(connector), text(mode)],
            ),
            &RUN_COLUMNS,
        )
        .await?;
    rows.into_iter().next().map(run_from).transpose()
}

/// At most `limit` runs of a connector in any mode, newest first; only those that ended in
/// `outcome` when given.
pub(crate) async fn recent_runs<B: Backend>(
    b: &B,
    org: &str,
    connector: &str,
    outcome: Option<&str>,
    limit: u32,
) -> Result<Vec<RunRecord>> {
    let mut c = b.reader().await?;
    let d = c.dialect();
    let mut binds = vec![text(org), text(connector)];
    let filter = match outcome {
        Some(o) => {
            binds.push(text(o));
            " AND outcome = {}"
        }
        None => "",
    };
    binds.push((Type::Int, Value::Int(i64::from(limit))));
    let rows = c
        .fetch(
            sql::query(
                d,
                "sync_runs",
                &format!(
                    "SELECT id, connector, mode, started_at, finished_at, outcome, error, \
                     requests, rows, warnings FROM sync_runs \
                     WHERE org = {{}} AND connector = {{}}{filter} \
                     ORDER BY id DESC LIMIT {{}}"
                ),
                binds,
            ),
            &RUN_COLUMNS,
        )
        .await?;
    rows.into_iter().map(run_from).collect()
}

/// The connectors with at least one run in `org`, by name.
pub(crate) async fn run_connectors<B: Backend>(b: &B, org: &str) -> Result<Vec<String>> {
    let mut c = b.reader().await?;
    let d = c.dialect();
    let rows = c
        .fetch(
            sql::query(
                d,
                "sync_runs",
                "SELECT DISTINCT connector FROM sync_runs WHERE org = {} ORDER BY connector",
                vec![text(org)],
            ),
            &[Type::Text],
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| r.into_iter().next().and_then(Cell::into_text))
        .collect())
}

/// How many cursors a connector has and the oldest and newest of their updates.
pub(crate) async fn cursor_updates<B: Backend>(
    b: &B,
    org: &str,
    connector: &str,
) -> Result<Option<CursorUpdates>> {
    let mut c = b.reader().await?;
    let d = c.dialect();
    let rows = c
        .fetch(
            sql::query(
                d,
                "sync_cursors",
                "SELECT COUNT(*), MIN(updated_at), MAX(updated_at) FROM sync_cursors \
                 WHERE org = {} AND connector = {}",
                vec![text(org), text(connector)],
            ),
            &[Type::Int, Type::Time, Type::Time],
        )
        .await?;
    let mut row = rows.into_iter().next().unwrap_or_default().into_iter();
    let scopes = row.next().and_then(|c| c.as_int()).unwrap_or(0);
    let (oldest, newest) = (row.next(), row.next());
    match (
        oldest.and_then(|c| c.as_time()),
        newest.and_then(|c| c.as_time()),
    ) {
        (Some(oldest), Some(newest)) if scopes > 0 => Ok(Some(CursorUpdates {
            scopes,
            oldest,
            newest,
        })),
        _ => Ok(None),
    }
}

pub(crate) async fn table_counts<B: Backend>(b: &B) -> Result<Vec<(String, i64)>> {
    let mut c = b.reader().await?;
    let d = c.dialect();
    let select = COUNTED_TABLES
        .iter()
        .map(|t| format!("(SELECT COUNT(*) FROM {t})"))
        .collect::<Vec<_>>()
        .join(", ");
    let types = vec![Type::Int; COUNTED_TABLES.len()];
    let rows = c
        .fetch(
            sql::query(d, "counts", &format!("SELECT {select}"), vec![]),
            &types,
        )
        .await?;
    let row = rows.into_iter().next().unwrap_or_default();
    Ok(COUNTED_TABLES
        .iter()
        .zip(
            row.iter()
                .map(|c| c.as_int().unwrap_or(0))
                .chain(std::iter::repeat(0)),
        )
        .map(|(t, n)| (t.to_string(), n))
        .collect())
}

/// Implements [`super::Store`] for a [`Backend`] by the generic operations above.
macro_rules! store_via_backend {
    ($ty:ty, $migrations:literal, $pool:ident) => {
        impl $crate::store::Store for $ty {
            async fn migrate(&self) -> $crate::store::Result<()> {
                sqlx::migrate!($migrations).run(&self.$pool).await?;
                Ok(())
            }
            async fn apply(
                &self,
                org: &str,
                batch: &$crate::store::Batch,
            ) -> $crate::store::Result<u64> {
                $crate::store::backend::apply(self, org, batch).await
            }
            async fn cursor(
                &self,
                org: &str,
                connector: &str,
                scope: &str,
            ) -> $crate::store::Result<Option<String>> {
                $crate::store::backend::cursor(self, org, connector, scope).await
            }
            async fn start_run(
                &self,
                org: &str,
                connector: &str,
                mode: &str,
                started_at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<i64> {
                $crate::store::backend::start_run(self, org, connector, mode, started_at).await
            }
            async fn set_run_warnings(
                &self,
                run_id: i64,
                warnings: &str,
            ) -> $crate::store::Result<()> {
                $crate::store::backend::set_run_warnings(self, run_id, warnings).await
            }
            async fn finish_run(
                &self,
                run_id: i64,
                outcome: &str,
                error: Option<&str>,
                requests: i64,
                rows: i64,
                finished_at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<()> {
                $crate::store::backend::finish_run(
                    self,
                    run_id,
                    outcome,
                    error,
                    requests,
                    rows,
                    finished_at,
                )
                .await
            }
            async fn prune_runs(
                &self,
                org: &str,
                connector: &str,
                keep: u32,
            ) -> $crate::store::Result<u64> {
                $crate::store::backend::prune_runs(self, org, connector, keep).await
            }
            async fn lock_writer(
                &self,
                org: &str,
            ) -> $crate::store::Result<$crate::store::WriterLock> {
                $crate::store::backend::Backend::lock_writer(self, org).await
            }
            async fn abandon_running(
                &self,
                org: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<u64> {
                $crate::store::backend::abandon_running(self, org, at).await
            }
            async fn reopen_run(&self, run_id: i64) -> $crate::store::Result<()> {
                $crate::store::backend::reopen_run(self, run_id).await
            }
            async fn deleted_work_items(
                &self,
                org: &str,
                project: &str,
            ) -> $crate::store::Result<Vec<i64>> {
                $crate::store::backend::deleted_work_items(self, org, project).await
            }
            async fn last_run(
                &self,
                org: &str,
                connector: &str,
                mode: &str,
            ) -> $crate::store::Result<Option<$crate::store::RunRecord>> {
                $crate::store::backend::last_run(self, org, connector, mode).await
            }
            async fn recent_runs(
                &self,
                org: &str,
                connector: &str,
                outcome: Option<&str>,
                limit: u32,
            ) -> $crate::store::Result<Vec<$crate::store::RunRecord>> {
                $crate::store::backend::recent_runs(self, org, connector, outcome, limit).await
            }
            async fn run_connectors(&self, org: &str) -> $crate::store::Result<Vec<String>> {
                $crate::store::backend::run_connectors(self, org).await
            }
            async fn cursor_updates(
                &self,
                org: &str,
                connector: &str,
            ) -> $crate::store::Result<Option<$crate::store::CursorUpdates>> {
                $crate::store::backend::cursor_updates(self, org, connector).await
            }
            async fn table_counts(&self) -> $crate::store::Result<Vec<(String, i64)>> {
                $crate::store::backend::table_counts(self).await
            }
            async fn pull_requests_to_refresh(
                &self,
                org: &str,
                project_id: &str,
                part: $crate::store::RefreshPart,
                after: i64,
                limit: u32,
            ) -> $crate::store::Result<Vec<$crate::store::PrToRefresh>> {
                $crate::store::refresh::pull_requests_to_refresh(
                    self, org, project_id, part, after, limit,
                )
                .await
            }
            async fn builds_to_refresh(
                &self,
                org: &str,
                project_id: &str,
                part: $crate::store::BuildPart,
                after: i64,
                limit: u32,
            ) -> $crate::store::Result<Vec<$crate::store::BuildToRefresh>> {
                $crate::store::refresh::builds_to_refresh(self, org, project_id, part, after, limit)
                    .await
            }
            async fn open_deployment_records(
                &self,
                org: &str,
                project_id: &str,
                environment_id: i64,
            ) -> $crate::store::Result<Vec<i64>> {
                $crate::store::refresh::open_deployment_records(
                    self,
                    org,
                    project_id,
                    environment_id,
                )
                .await
            }
        }
    };
}
pub(crate) use store_via_backend;
