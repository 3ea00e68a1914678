//! Storage: everything SQL, nothing of HTTP.
//!
//! - [`schema`]: every table described once (key, typed columns, conflict policy) with the
//!   row struct that fills it;
//! - [`Batch`]: a page's writes (upserts, child sets, deletions) and its cursor;
//! - `sql`: the statements of both backends, generated from the descriptions; `apply`: a
//!   batch run on one transaction; `backend`: every [`Store`] operation written once;
//! - [`SqliteStore`] / [`PgStore`]: only what is truly backend-specific (connection, pragmas,
//!   migrations, how binds become arguments), chosen from the URL scheme by
//!   [`AnyStore::connect`].
//!
//! Every write of a fetched page goes through [`Store::apply`], which writes the page's rows
//! and the cursor it advances in one transaction (DESIGN.md "A page is the unit of
//! progress"). This module must not know about ADO JSON models or HTTP; connectors hand it
//! row structs.

mod apply;
mod backend;
mod batch;
mod common;
mod coordination;
mod credentials;
mod error;
mod lock;
mod postgres;
#[cfg(any(test, feature = "test-support"))]
pub mod read;
pub(crate) mod refresh;
pub mod schema;
mod sql;
mod sqlite;
#[cfg(test)]
mod tests;
mod webhook_events;

pub use batch::{Batch, CursorUpdate, Mark, Missing, Rows, Scope, Template, Write};
pub use coordination::{Coordination, KnownProject, REPLICA};
pub use credentials::{CredentialFields, CredentialStore};
pub use error::Error;
pub use lock::WriterLock;
pub use postgres::PgStore;
pub use refresh::{BuildPart, BuildToRefresh, PrToRefresh, RefreshPart};
pub use schema::boards::{
    AreaRow, IterationRow, NodeRow, WorkItemFieldRow, WorkItemLinkRow, WorkItemRevisionRow,
    WorkItemRow, WorkItemTypeRow, WorkItemTypeStateRow,
};
pub use schema::core::{
    GraphUserRow, ProjectRow, ProjectVisibilityRow, TeamMemberRow, TeamRow, UserProfile, UserRow,
};
pub use schema::repos::{PullRequestRow, RepositoryRow, ReviewerRow};
pub use schema::{Key, KeyPart, Record};
pub use sqlite::{SqliteStore, SqliteWriter};
pub use webhook_events::{
    StoredWebhookEvent, WebhookEvent, WebhookLog, WebhookOutcome, WebhookSummary,
};

use chrono::{DateTime, Utc};
use std::future::Future;

/// Result type of this module.
pub type Result<T> = std::result::Result<T, Error>;

/// The outcome of one connector run, recorded in `sync_runs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    pub id: i64,
    pub connector: String,
    pub mode: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// `running`, `succeeded`, `failed`, `cancelled` or `abandoned`.
    pub outcome: String,
    pub error: Option<String>,
    pub requests: i64,
    pub rows: i64,
    /// What the run skipped and went on (a 204/404 timeline, a 403 on an optional
    /// endpoint), one line each.
    pub warnings: Option<String>,
}

/// When a connector's cursors were last written (`status`: how far behind its scopes are).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CursorUpdates {
    /// How many cursors (scopes) the connector has.
    pub scopes: i64,
    /// The update of the cursor written longest ago.
    pub oldest: DateTime<Utc>,
    /// The most recent cursor update.
    pub newest: DateTime<Utc>,
}

/// The operations the product performs on its database. Methods are `async`; their futures
/// are `Send` so connectors can run on a multi-threaded runtime.
pub trait Store: Send + Sync + Clone + 'static {
    /// Applies the migrations that are not applied yet.
    fn migrate(&self) -> impl Future<Output = Result<()>> + Send;

    /// Writes one page: its writes (upserts that never regress, child sets, deletion marks)
    /// and the cursor, in one transaction. Returns the number of rows written.
    fn apply(&self, org: &str, batch: &Batch) -> impl Future<Output = Result<u64>> + Send;

    /// Reads a cursor value.
    fn cursor(
        &self,
        org: &str,
        connector: &str,
        scope: &str,
    ) -> impl Future<Output = Result<Option<String>>> + Send;

    /// Records the start of a connector run; returns its id.
    fn start_run(
        &self,
        org: &str,
        connector: &str,
        mode: &str,
        started_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<i64>> + Send;

    /// Takes the single-writer lock for `org` (see [`WriterLock`]): held for as long as this
    /// process writes; refused with [`Error::Locked`] while another process holds it.
    fn lock_writer(&self, org: &str) -> impl Future<Output = Result<WriterLock>> + Send;

    /// Closes the runs of `org` still recorded as `running` as `abandoned`: called with the
    /// writer lock held, when no other process can be running them. Returns how many.
    fn abandon_running(
        &self,
        org: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// Marks a resumed run `running` again (an unfinished backfill picked up by a new process).
    fn reopen_run(&self, run_id: i64) -> impl Future<Output = Result<()>> + Send;

    /// The ids of `project`'s (by name) work items marked deleted and not destroyed, in
    /// order: what the recycle bin reconciliation checks against ADO.
    fn deleted_work_items(
        &self,
        org: &str,
        project: &str,
    ) -> impl Future<Output = Result<Vec<i64>>> + Send;

    /// Records how a run ended, with counts.
    /// Records what a run skipped and went on, one line each (`sync_runs.warnings`).
    fn set_run_warnings(
        &self,
        run_id: i64,
        warnings: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    fn finish_run(
        &self,
        run_id: i64,
        outcome: &str,
        error: Option<&str>,
        requests: i64,
        rows: i64,
        finished_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Deletes `connector`'s finished `sync` runs older than its newest `keep`, except its
    /// newest succeeded one (backfill runs are kept). Returns how many it deleted.
    fn prune_runs(
        &self,
        org: &str,
        connector: &str,
        keep: u32,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// The newest run of a connector in a mode, if any.
    fn last_run(
        &self,
        org: &str,
        connector: &str,
        mode: &str,
    ) -> impl Future<Output = Result<Option<RunRecord>>> + Send;

    /// At most `limit` runs of a connector in any mode, newest first; with `outcome`, only
    /// the runs that ended so (for `status`: the last pass, the last success, recent failures).
    fn recent_runs(
        &self,
        org: &str,
        connector: &str,
        outcome: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<RunRecord>>> + Send;

    /// The connectors with at least one run recorded in `org`, by name (for `status`, which
    /// also lists connectors no longer enabled).
    fn run_connectors(&self, org: &str) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// How many cursors a connector has and when the oldest and newest were written; `None`
    /// when it has none.
    fn cursor_updates(
        &self,
        org: &str,
        connector: &str,
    ) -> impl Future<Output = Result<Option<CursorUpdates>>> + Send;

    /// Row counts per table, in a fixed table order (for `demo` and `status`).
    fn table_counts(&self) -> impl Future<Output = Result<Vec<(String, i64)>>> + Send;

    /// At most `limit` pull requests of a project (by id) with an id above `after` whose
    /// `part` is due: never fetched, or changed since the last fetch (see [`RefreshPart`]).
    fn pull_requests_to_refresh(
        &self,
        org: &str,
        project_id: &str,
        part: RefreshPart,
        after: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<PrToRefresh>>> + Send;

    /// At most `limit` builds of a project (by id) with an id above `after` whose `part` is
    /// due (see [`BuildPart`]).
    fn builds_to_refresh(
        &self,
        org: &str,
        project_id: &str,
        part: BuildPart,
        after: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<BuildToRefresh>>> + Send;

    /// The ids of an environment's deployment records stored as unfinished, ascending.
    fn open_deployment_records(
        &self,
        org: &str,
        project_id: &str,
        environment_id: i64,
    ) -> impl Future<Output = Result<Vec<i64>>> + Send;
}

/// The backend picked at start from the database URL; delegates every call.
#[derive(Clone, Debug)]
pub enum AnyStore {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl AnyStore {
    /// Connects by URL scheme: `sqlite:` (file created if missing) or `postgres:`/`postgresql:`.
    pub async fn connect(url: &str) -> Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite(SqliteStore::connect(url).await?))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Self::Postgres(PgStore::connect(url).await?))
        } else {
            Err(Error::UnsupportedUrl {
                scheme: url.split(':').next().unwrap_or_default().to_string(),
            })
        }
    }

    /// `sqlite` or `postgres`, for logs.
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    /// Closes the connection pools, waiting for connections in use to be returned.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(s) => s.close().await,
            Self::Postgres(s) => s.close().await,
        }
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

impl Store for AnyStore {
    async fn migrate(&self) -> Result<()> {
        delegate!(self, s => s.migrate())
    }
    async fn apply(&self, org: &str, batch: &Batch) -> Result<u64> {
        delegate!(self, s => s.apply(org, batch))
    }
    async fn cursor(&self, org: &str, connector: &str, scope: &str) -> Result<Option<String>> {
        delegate!(self, s => s.cursor(org, connector, scope))
    }
    async fn start_run(
        &self,
        org: &str,
        connector: &str,
        mode: &str,
        started_at: DateTime<Utc>,
    ) -> Result<i64> {
        delegate!(self, s => s.start_run(org, connector, mode, started_at))
    }
    async fn set_run_warnings(&self, run_id: i64, warnings: &str) -> Result<()> {
        delegate!(self, s => s.set_run_warnings(run_id, warnings))
    }
    async fn finish_run(
        &self,
        run_id: i64,
        outcome: &str,
        error: Option<&str>,
        requests: i64,
        rows: i64,
        finished_at: DateTime<Utc>,
    ) -> Result<()> {
        delegate!(self, s => s.finish_run(run_id, outcome, error, requests, rows, finished_at))
    }
    async fn prune_runs(&self, org: &str, connector: &str, keep: u32) -> Result<u64> {
        delegate!(self, s => s.prune_runs(org, connector, keep))
    }
    async fn lock_writer(&self, org: &str) -> Result<WriterLock> {
        delegate!(self, s => s.lock_writer(org))
    }
    async fn abandon_running(&self, org: &str, at: DateTime<Utc>) -> Result<u64> {
        delegate!(self, s => s.abandon_running(org, at))
    }
    async fn reopen_run(&self, run_id: i64) -> Result<()> {
        delegate!(self, s => s.reopen_run(run_id))
    }
    async fn deleted_work_items(&self, org: &str, project: &str) -> Result<Vec<i64>> {
        delegate!(self, s => s.deleted_work_items(org, project))
    }
    async fn last_run(&self, org: &str, connector: &str, mode: &str) -> Result<Option<RunRecord>> {
        delegate!(self, s => s.last_run(org, connector, mode))
    }
    async fn recent_runs(
        &self,
        org: &str,
        connector: &str,
        outcome: Option<&str>,
        limit: u32,
    ) -> Result<Vec<RunRecord>> {
        delegate!(self, s => s.recent_runs(org, connector, outcome, limit))
    }
    async fn run_connectors(&self, org: &str) -> Result<Vec<String>> {
        delegate!(self, s => s.run_connectors(org))
    }
    async fn cursor_updates(&self, org: &str, connector: &str) -> Result<Option<CursorUpdates>> {
        delegate!(self, s => s.cursor_updates(org, connector))
    }
    async fn table_counts(&self) -> Result<Vec<(String, i64)>> {
        delegate!(self, s => s.table_counts())
    }
    async fn pull_requests_to_refresh(
        &self,
        org: &str,
        project_id: &str,
        part: RefreshPart,
        after: i64,
        limit: u32,
    ) -> Result<Vec<PrToRefresh>> {
        delegate!(self, s => s.pull_requests_to_refresh(org, project_id, part, after, limit))
    }
    async fn builds_to_refresh(
        &self,
        org: &str,
        project_id: &str,
        part: BuildPart,
        after: i64,
        limit: u32,
    ) -> Result<Vec<BuildToRefresh>> {
        delegate!(self, s => s.builds_to_refresh(org, project_id, part, after, limit))
    }
    async fn open_deployment_records(
        &self,
        org: &str,
        project_id: &str,
        environment_id: i64,
    ) -> Result<Vec<i64>> {
        delegate!(self, s => s.open_deployment_records(org, project_id, environment_id))
    }
}
