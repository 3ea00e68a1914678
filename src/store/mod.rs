//! Storage: everything SQL, nothing of HTTP.
//!
//! One [`Store`] trait with two implementations, [`SqliteStore`] and [`PgStore`], chosen from the
//! URL scheme by [`AnyStore::connect`]. Every write of a fetched page goes through
//! [`Store::apply`], which writes the page's rows and the cursor it advances in one
//! transaction (DESIGN.md "A page is the unit of progress"). This module must not know about
//! ADO JSON models or HTTP; connectors hand it row structs.

mod common;
mod error;
mod postgres;
mod rows;
mod sqlite;
#[cfg(test)]
mod tests;

pub use error::Error;
pub use postgres::PgStore;
pub use rows::*;
pub use sqlite::SqliteStore;

use chrono::{DateTime, Utc};
use std::future::Future;

/// Result type of this module.
pub type Result<T> = std::result::Result<T, Error>;

/// The operations every storage backend provides. Methods are `async`; their futures are
/// `Send` so connectors can run on a multi-threaded runtime.
pub trait Store: Send + Sync + Clone + 'static {
    /// Applies the migrations that are not applied yet.
    fn migrate(&self) -> impl Future<Output = Result<()>> + Send;

    /// Writes one page: rows (upserts that never regress), deletion marks and the cursor, in
    /// one transaction. Returns the number of rows written.
    fn apply(&self, org: &str, batch: &Batch) -> impl Future<Output = Result<u64>> + Send;

    /// Reads a cursor value.
    fn cursor(
        &self,
        org: &str,
        connector: &str,
        scope: &str,
    ) -> impl Future<Output = Result<Option<String>>> + Send;

    /// Ids of repositories of `project_id` that are not marked deleted.
    fn live_repository_ids(
        &self,
        org: &str,
        project_id: &str,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// Ids of projects that are not marked deleted.
    fn live_project_ids(&self, org: &str) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// Records the start of a connector run; returns its id.
    fn start_run(
        &self,
        org: &str,
        connector: &str,
        mode: &str,
        started_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<i64>> + Send;

    /// Records how a run ended (`succeeded` / `failed`), with counts.
    fn finish_run(
        &self,
        run_id: i64,
        outcome: &str,
        error: Option<&str>,
        requests: i64,
        rows: i64,
        finished_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The newest run of a connector in a mode, if any.
    fn last_run(
        &self,
        org: &str,
        connector: &str,
        mode: &str,
    ) -> impl Future<Output = Result<Option<RunRecord>>> + Send;

    /// Row counts per table, in a fixed table order (for `demo` and `status`).
    fn table_counts(&self) -> impl Future<Output = Result<Vec<(String, i64)>>> + Send;

    /// Every project of `org`, ordered by id.
    fn projects(&self, org: &str) -> impl Future<Output = Result<Vec<StoredProject>>> + Send;

    /// Every repository of `org`, ordered by id.
    fn repositories(&self, org: &str)
    -> impl Future<Output = Result<Vec<StoredRepository>>> + Send;

    /// Every pull request of `org` with its reviewers (sorted by reviewer id), ordered by id.
    fn pull_requests(&self, org: &str) -> impl Future<Output = Result<Vec<PullRequestRow>>> + Send;

    /// Every user of `org`, ordered by id.
    fn users(&self, org: &str) -> impl Future<Output = Result<Vec<UserRow>>> + Send;

    // Boards ---------------------------------------------------------------------------------

    /// Ids of the work items of project `project` (by name, `System.TeamProject`) that are
    /// not marked deleted, ascending (for reconciliation).
    fn live_work_item_ids(
        &self,
        org: &str,
        project: &str,
    ) -> impl Future<Output = Result<Vec<i64>>> + Send;

    /// Every work item of `org` with its deletion mark, ordered by id.
    fn work_items(&self, org: &str) -> impl Future<Output = Result<Vec<StoredWorkItem>>> + Send;

    /// Every revision of `org`, ordered by id, then rev.
    fn work_item_revisions(
        &self,
        org: &str,
    ) -> impl Future<Output = Result<Vec<WorkItemRevisionRow>>> + Send;

    /// Every link of `org` (inactive ones too), ordered by source, target, rel.
    fn work_item_links(
        &self,
        org: &str,
    ) -> impl Future<Output = Result<Vec<WorkItemLinkRow>>> + Send;

    /// Every team of `org` with its deletion mark, ordered by id.
    fn teams(&self, org: &str) -> impl Future<Output = Result<Vec<StoredTeam>>> + Send;

    /// The member set of every team of `org`, ordered by team id (members by user id).
    fn team_members(&self, org: &str) -> impl Future<Output = Result<Vec<TeamMembers>>> + Send;

    /// Every user of `org` with every column (Graph ones included), ordered by id.
    fn user_profiles(&self, org: &str) -> impl Future<Output = Result<Vec<UserProfile>>> + Send;

    /// Every iteration of `org` with its deletion mark, ordered by id.
    fn iterations(&self, org: &str) -> impl Future<Output = Result<Vec<StoredNode>>> + Send;

    /// Every area of `org` with its deletion mark, ordered by id (no dates).
    fn areas(&self, org: &str) -> impl Future<Output = Result<Vec<StoredNode>>> + Send;

    /// Every work item type of `org` with its states (by name), ordered by project, name.
    fn work_item_types(
        &self,
        org: &str,
    ) -> impl Future<Output = Result<Vec<StoredWorkItemType>>> + Send;

    /// Every work item field of `org`, ordered by reference name.
    fn work_item_fields(
        &self,
        org: &str,
    ) -> impl Future<Output = Result<Vec<WorkItemFieldRow>>> + Send;
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
    async fn live_repository_ids(&self, org: &str, project_id: &str) -> Result<Vec<String>> {
        delegate!(self, s => s.live_repository_ids(org, project_id))
    }
    async fn live_project_ids(&self, org: &str) -> Result<Vec<String>> {
        delegate!(self, s => s.live_project_ids(org))
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
    async fn last_run(&self, org: &str, connector: &str, mode: &str) -> Result<Option<RunRecord>> {
        delegate!(self, s => s.last_run(org, connector, mode))
    }
    async fn table_counts(&self) -> Result<Vec<(String, i64)>> {
        delegate!(self, s => s.table_counts())
    }
    async fn projects(&self, org: &str) -> Result<Vec<StoredProject>> {
        delegate!(self, s => s.projects(org))
    }
    async fn repositories(&self, org: &str) -> Result<Vec<StoredRepository>> {
        delegate!(self, s => s.repositories(org))
    }
    async fn pull_requests(&self, org: &str) -> Result<Vec<PullRequestRow>> {
        delegate!(self, s => s.pull_requests(org))
    }
    async fn users(&self, org: &str) -> Result<Vec<UserRow>> {
        delegate!(self, s => s.users(org))
    }
    async fn live_work_item_ids(&self, org: &str, project: &str) -> Result<Vec<i64>> {
        delegate!(self, s => s.live_work_item_ids(org, project))
    }
    async fn work_items(&self, org: &str) -> Result<Vec<StoredWorkItem>> {
        delegate!(self, s => s.work_items(org))
    }
    async fn work_item_revisions(&self, org: &str) -> Result<Vec<WorkItemRevisionRow>> {
        delegate!(self, s => s.work_item_revisions(org))
    }
    async fn work_item_links(&self, org: &str) -> Result<Vec<WorkItemLinkRow>> {
        delegate!(self, s => s.work_item_links(org))
    }
    async fn teams(&self, org: &str) -> Result<Vec<StoredTeam>> {
        delegate!(self, s => s.teams(org))
    }
    async fn team_members(&self, org: &str) -> Result<Vec<TeamMembers>> {
        delegate!(self, s => s.team_members(org))
    }
    async fn user_profiles(&self, org: &str) -> Result<Vec<UserProfile>> {
        delegate!(self, s => s.user_profiles(org))
    }
    async fn iterations(&self, org: &str) -> Result<Vec<StoredNode>> {
        delegate!(self, s => s.iterations(org))
    }
    async fn areas(&self, org: &str) -> Result<Vec<StoredNode>> {
        delegate!(self, s => s.areas(org))
    }
    async fn work_item_types(&self, org: &str) -> Result<Vec<StoredWorkItemType>> {
        delegate!(self, s => s.work_item_types(org))
    }
    async fn work_item_fields(&self, org: &str) -> Result<Vec<WorkItemFieldRow>> {
        delegate!(self, s => s.work_item_fields(org))
    }
}
