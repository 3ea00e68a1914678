//! Coordination between processes that write one database: leases on scopes of work
//! (`leases`, migration 0007), which process runs a run, and what a process that did not list
//! the projects itself reads to know them. Owns no scheduling: `engine::lease` decides what to
//! claim and when; this module only says yes or no, atomically, on both backends.
//!
//! A claim is one conditional upsert: the row is taken only when it is free (no holder, or its
//! lease has expired) and due (not finished since `due_before`). Two replicas claiming the same
//! scope at once serialize on the row for the length of that one statement — Postgres
//! re-checks the `WHERE` of the second after the first commits — so exactly one wins. A lease
//! is a row value with an expiry, never a lock held across the work, so there is no long row
//! lock for `FOR UPDATE SKIP LOCKED` to skip; a held scope costs the loser one statement.
//! Expiry compares times taken on the processes' clocks: replicas need their clocks within a
//! small fraction of `sync.lease_ttl` (NTP gives milliseconds; the default TTL is a minute).

use chrono::{DateTime, Utc};
use std::future::Future;

use super::apply::{Cell, Exec};
use super::backend::{Backend, text, time};
use super::schema::{Type, Value};
use super::{AnyStore, Result, sql};

/// The connector name of the liveness rows (`scope` = the holder).
pub const REPLICA: &str = "_replica";

/// A project as the last listing stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownProject {
    pub id: String,
    pub name: String,
    pub state: Option<String>,
    pub visibility: Option<String>,
    pub last_update_time: Option<DateTime<Utc>>,
}

/// A lease row as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub holder: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub done_at: Option<DateTime<Utc>>,
}

/// Leases and the run bookkeeping replicas need.
pub trait Coordination: Send + Sync {
    /// Takes `(connector, scope)` for `holder` until `expires_at` when it is free at `now` and
    /// has not been finished at or after `due_before`. Re-claiming a scope one already holds
    /// succeeds (and extends it). Returns whether the scope is now held by `holder`.
    #[allow(clippy::too_many_arguments)]
    fn claim(
        &self,
        org: &str,
        connector: &str,
        scope: &str,
        holder: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        due_before: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Extends every lease `holder` holds to `expires_at`; returns how many it holds.
    fn renew(
        &self,
        org: &str,
        holder: &str,
        expires_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// Gives a scope back; `done_at` records a finished pass over it (a failed one leaves the
    /// scope due, for whoever comes next).
    fn release(
        &self,
        org: &str,
        connector: &str,
        scope: &str,
        holder: &str,
        done_at: Option<DateTime<Utc>>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Gives back everything `holder` holds and drops its liveness row (shutdown).
    fn release_all(&self, org: &str, holder: &str) -> impl Future<Output = Result<u64>> + Send;

    /// The lease row of `(connector, scope)`, if there is one.
    fn lease(
        &self,
        org: &str,
        connector: &str,
        scope: &str,
    ) -> impl Future<Output = Result<Option<Lease>>> + Send;

    /// Frees every lease of `org` and drops every liveness row: for a process that knows no
    /// other can be running (SQLite's writer lock is held), so a killed predecessor's leases
    /// do not make it wait out their expiry. Returns how many leases were freed.
    fn forget_holders(&self, org: &str) -> impl Future<Output = Result<u64>> + Send;

    /// Records which process runs `run_id`.
    fn own_run(&self, run_id: i64, holder: &str) -> impl Future<Output = Result<()>> + Send;

    /// Closes as `abandoned` the runs of `org` still `running` whose holder has no live
    /// liveness lease at `now` (a replica that died), and forgets liveness rows expired for
    /// a day. Returns how many runs it closed.
    fn abandon_dead(
        &self,
        org: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// The live projects `connector` saw in its last listing, by name: what a process that
    /// leaves the listing to another replica syncs.
    fn visible_projects(
        &self,
        org: &str,
        connector: &str,
    ) -> impl Future<Output = Result<Vec<KnownProject>>> + Send;
}

fn opt_time(t: Option<DateTime<Utc>>) -> (Type, Value<'static>) {
    (
        Type::Time,
        t.map_or(Value::Null, |t| Value::Time(super::common::micros(t))),
    )
}

/// Why a run is `abandoned` by another replica, in its `error` column.
const ABANDONED: &str = "abandoned: the replica running it stopped renewing its lease \
                         (killed, crashed or cut off from the database)";

impl<B: Backend> Coordination for B {
    async fn claim(
        &self,
        org: &str,
        connector: &str,
        scope: &str,
        holder: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        due_before: DateTime<Utc>,
    ) -> Result<bool> {
        let mut c = self.writer().await?;
        let d = c.dialect();
        let changed = c
            .execute(sql::query(
                d,
                "leases",
                "INSERT INTO leases AS l (org, connector, scope, holder, expires_at) \
                 VALUES ({}, {}, {}, {}, {}) \
                 ON CONFLICT (org, connector, scope) DO UPDATE \
                 SET holder = excluded.holder, expires_at = excluded.expires_at \
                 WHERE (l.holder IS NULL OR l.holder = excluded.holder OR l.expires_at < {}) \
                 AND (l.done_at IS NULL OR l.done_at < {})",
                vec![
                    text(org),
                    text(connector),
                    text(scope),
                    text(holder),
                    time(expires_at),
                    time(now),
                    time(due_before),
                ],
            ))
            .await?;
        Ok(changed > 0)
    }

    async fn renew(&self, org: &str, holder: &str, expires_at: DateTime<Utc>) -> Result<u64> {
        let mut c = self.writer().await?;
        let d = c.dialect();
        c.execute(sql::query(
            d,
            "leases",
            "UPDATE leases SET expires_at = {} WHERE org = {} AND holder = {}",
            vec![time(expires_at), text(org), text(holder)],
        ))
        .await
    }

    async fn release(
        &self,
        org: &str,
        connector: &str,
        scope: &str,
        holder: &str,
        done_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let mut c = self.writer().await?;
        let d = c.dialect();
        c.execute(sql::query(
            d,
            "leases",
            "UPDATE leases SET holder = NULL, expires_at = NULL, \
             done_at = COALESCE({}, done_at) \
             WHERE org = {} AND connector = {} AND scope = {} AND holder = {}",
            vec![
                opt_time(done_at),
                text(org),
                text(connector),
                text(scope),
                text(holder),
            ],
        ))
        .await?;
        Ok(())
    }

    async fn release_all(&self, org: &str, holder: &str) -> Result<u64> {
        let mut c = self.writer().await?;
        let d = c.dialect();
        c.execute(sql::query(
            d,
            "leases",
            "DELETE FROM leases WHERE org = {} AND connector = {} AND scope = {}",
            vec![text(org), text(REPLICA), text(holder)],
        ))
        .await?;
        c.execute(sql::query(
            d,
            "leases",
            "UPDATE leases SET holder = NULL, expires_at = NULL WHERE org = {} AND holder = {}",
            vec![text(org), text(holder)],
        ))
        .await
    }

    async fn lease(&self, org: &str, connector: &str, scope: &str) -> Result<Option<Lease>> {
        let mut c = self.reader().await?;
        let d = c.dialect();
        let rows = c
            .fetch(
                sql::query(
                    d,
                    "leases",
                    "SELECT holder, expires_at, done_at FROM leases \
                     WHERE org = {} AND connector = {} AND scope = {}",
                    vec![text(org), text(connector), text(scope)],
                ),
                &[Type::Text, Type::Time, Type::Time],
            )
            .await?;
        Ok(rows.into_iter().next().map(|row| {
            let mut it = row.into_iter();
            Lease {
                holder: it.next().and_then(Cell::into_text),
                expires_at: it.next().and_then(|c| c.as_time()),
                done_at: it.next().and_then(|c| c.as_time()),
            }
        }))
    }

    async fn forget_holders(&self, org: &str) -> Result<u64> {
        let mut c = self.writer().await?;
        let d = c.dialect();
        c.execute(sql::query(
            d,
            "leases",
            "DELETE FROM leases WHERE org = {} AND connector = {}",
            vec![text(org), text(REPLICA)],
        ))
        .await?;
        c.execute(sql::query(
            d,
            "leases",
            "UPDATE leases SET holder = NULL, expires_at = NULL \
             WHERE org = {} AND holder IS NOT NULL",
            vec![text(org)],
        ))
        .await
    }

    async fn own_run(&self, run_id: i64, holder: &str) -> Result<()> {
        let mut c = self.writer().await?;
        let d = c.dialect();
        c.execute(sql::query(
            d,
            "sync_runs",
            "UPDATE sync_runs SET holder = {} WHERE id = {}",
            vec![text(holder), (Type::Int, Value::Int(run_id))],
        ))
        .await?;
        Ok(())
    }

    async fn abandon_dead(&self, org: &str, now: DateTime<Utc>) -> Result<u64> {
        let mut c = self.writer().await?;
        let d = c.dialect();
        let closed = c
            .execute(sql::query(
                d,
                "sync_runs",
                "UPDATE sync_runs SET outcome = 'abandoned', finished_at = {}, error = {} \
                 WHERE org = {} AND outcome = 'running' AND (holder IS NULL OR holder NOT IN \
                 (SELECT scope FROM leases WHERE org = {} AND connector = {} \
                  AND holder IS NOT NULL AND expires_at >= {}))",
                vec![
                    time(now),
                    text(ABANDONED),
                    text(org),
                    text(org),
                    text(REPLICA),
                    time(now),
                ],
            ))
            .await?;
        c.execute(sql::query(
            d,
            "leases",
            "DELETE FROM leases WHERE org = {} AND connector = {} AND expires_at < {}",
            vec![
                text(org),
                text(REPLICA),
                time(now - chrono::Duration::days(1)),
            ],
        ))
        .await?;
        Ok(closed)
    }

    async fn visible_projects(&self, org: &str, connector: &str) -> Result<Vec<KnownProject>> {
        let mut c = self.reader().await?;
        let d = c.dialect();
        let rows = c
            .fetch(
                sql::query(
                    d,
                    "projects",
                    "SELECT p.id, p.name, p.state, p.visibility, p.last_update_time \
                     FROM projects AS p JOIN project_visibility AS v \
                     ON v.org = p.org AND v.project_id = p.id \
                     WHERE p.org = {} AND v.connector = {} \
                     AND p.deleted_at IS NULL AND v.deleted_at IS NULL ORDER BY p.name",
                    vec![text(org), text(connector)],
                ),
                &[Type::Text, Type::Text, Type::Text, Type::Text, Type::Time],
            )
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let mut it = row.into_iter();
                let id = it.next().and_then(Cell::into_text)?;
                let name = it.next().and_then(Cell::into_text)?;
                let state = it.next().and_then(Cell::into_text);
                let visibility = it.next().and_then(Cell::into_text);
                let last_update_time = it.next().and_then(|c| c.as_time());
                Some(KnownProject {
                    id,
                    name,
                    state,
                    visibility,
                    last_update_time,
                })
            })
            .collect())
    }
}

macro_rules! delegate {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            AnyStore::Sqlite($s) => $call.await,
            AnyStore::Postgres($s) => $call.await,
        }
    };
}

impl Coordination for AnyStore {
    async fn claim(
        &self,
        org: &str,
        connector: &str,
        scope: &str,
        holder: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        due_before: DateTime<Utc>,
    ) -> Result<bool> {
        delegate!(self, s => s.claim(org, connector, scope, holder, now, expires_at, due_before))
    }
    async fn renew(&self, org: &str, holder: &str, expires_at: DateTime<Utc>) -> Result<u64> {
        delegate!(self, s => s.renew(org, holder, expires_at))
    }
    async fn release(
        &self,
        org: &str,
        connector: &str,
        scope: &str,
        holder: &str,
        done_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        delegate!(self, s => s.release(org, connector, scope, holder, done_at))
    }
    async fn release_all(&self, org: &str, holder: &str) -> Result<u64> {
        delegate!(self, s => s.release_all(org, holder))
    }
    async fn lease(&self, org: &str, connector: &str, scope: &str) -> Result<Option<Lease>> {
        delegate!(self, s => s.lease(org, connector, scope))
    }
    async fn forget_holders(&self, org: &str) -> Result<u64> {
        delegate!(self, s => s.forget_holders(org))
    }
    async fn own_run(&self, run_id: i64, holder: &str) -> Result<()> {
        delegate!(self, s => s.own_run(run_id, holder))
    }
    async fn abandon_dead(&self, org: &str, now: DateTime<Utc>) -> Result<u64> {
        delegate!(self, s => s.abandon_dead(org, now))
    }
    async fn visible_projects(&self, org: &str, connector: &str) -> Result<Vec<KnownProject>> {
        delegate!(self, s => s.visible_projects(org, connector))
    }
}
