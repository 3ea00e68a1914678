//! Row structs: what the store writes and reads back. Plain data, no SQL and no HTTP.
//!
//! Timestamps are UTC. `raw` is the source object exactly as ADO returned it (serialized
//! JSON text), so nothing the typed columns leave out is lost.

use chrono::{DateTime, Utc};

/// A project (`GET _apis/projects`).
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectRow {
    pub id: String,
    pub name: String,
    pub state: Option<String>,
    pub visibility: Option<String>,
    pub last_update_time: Option<DateTime<Utc>>,
    pub raw: String,
}

/// A Git repository (`GET {project}/_apis/git/repositories`).
#[derive(Debug, Clone, PartialEq)]
pub struct RepositoryRow {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub default_branch: Option<String>,
    pub size: Option<i64>,
    pub is_disabled: bool,
    pub raw: String,
}

/// A pull request as the list endpoint returns it, with its reviewers.
#[derive(Debug, Clone, PartialEq)]
pub struct PullRequestRow {
    pub id: i64,
    pub repository_id: String,
    pub project_id: String,
    pub title: String,
    pub status: String,
    pub is_draft: bool,
    pub created_by_id: Option<String>,
    pub creation_date: DateTime<Utc>,
    pub closed_date: Option<DateTime<Utc>>,
    pub source_ref: String,
    pub target_ref: String,
    pub merge_status: Option<String>,
    pub last_merge_source_commit: Option<String>,
    pub last_merge_commit: Option<String>,
    pub raw: String,
    /// The full reviewer set: writing a PR replaces its reviewer rows with these.
    pub reviewers: Vec<ReviewerRow>,
}

/// One reviewer's vote on a pull request (`pull_request_reviewers`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReviewerRow {
    pub reviewer_id: String,
    pub vote: i32,
    pub is_required: bool,
    pub has_declined: bool,
}

/// A person or group seen as a PR creator or reviewer (`users`).
#[derive(Debug, Clone, PartialEq)]
pub struct UserRow {
    pub id: String,
    pub display_name: Option<String>,
    pub unique_name: Option<String>,
    pub is_container: bool,
}

/// A cursor position to commit together with a batch: `(connector, scope) -> value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorUpdate {
    pub connector: String,
    pub scope: String,
    pub value: String,
}

/// Everything one fetched page produces, written in ONE transaction.
///
/// `observed_at` is when the page's request was sent: an upsert only replaces a row whose
/// stored observation is not newer, so a slow, stale response can never regress a row that a
/// later request already wrote (DESIGN.md "Never regress a row").
#[derive(Debug, Clone)]
pub struct Batch {
    pub observed_at: DateTime<Utc>,
    pub projects: Vec<ProjectRow>,
    pub repositories: Vec<RepositoryRow>,
    pub pull_requests: Vec<PullRequestRow>,
    pub users: Vec<UserRow>,
    /// Repository ids to stamp `deleted_at = observed_at` (only rows not already deleted).
    pub deleted_repositories: Vec<String>,
    /// Project ids to stamp `deleted_at = observed_at` (only rows not already deleted).
    pub deleted_projects: Vec<String>,
    pub cursor: Option<CursorUpdate>,
}

impl Batch {
    pub fn new(observed_at: DateTime<Utc>) -> Self {
        Self {
            observed_at,
            projects: Vec::new(),
            repositories: Vec::new(),
            pull_requests: Vec::new(),
            users: Vec::new(),
            deleted_repositories: Vec::new(),
            deleted_projects: Vec::new(),
            cursor: None,
        }
    }

    /// Rows this batch writes (reviewers included), for metrics.
    pub fn row_count(&self) -> usize {
        self.projects.len()
            + self.repositories.len()
            + self.pull_requests.len()
            + self
                .pull_requests
                .iter()
                .map(|p| p.reviewers.len())
                .sum::<usize>()
            + self.users.len()
    }
}

/// A repository as read back, with its deletion mark.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRepository {
    pub row: RepositoryRow,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A project as read back, with its deletion mark.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredProject {
    pub row: ProjectRow,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// The outcome of one connector run, recorded in `sync_runs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    pub id: i64,
    pub connector: String,
    pub mode: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// `running`, `succeeded` or `failed`.
    pub outcome: String,
    pub error: Option<String>,
    pub requests: i64,
    pub rows: i64,
}
