//! Repos tables: repositories, pull requests and their reviewers.

use chrono::{DateTime, Utc};

use super::{Col, Guard, Record, Table, Value, json};

/// A Git repository (`GET _apis/git/repositories`). A complete listing marks the repositories
/// of a project that it lacks deleted.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RepositoryRow {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub default_branch: Option<String>,
    pub size: Option<i64>,
    pub is_disabled: bool,
    pub raw: String,
}

pub static REPOSITORIES: Table = Table {
    name: "repositories",
    key: &[Col::text("id")],
    columns: &[
        Col::text("project_id"),
        Col::text("name"),
        Col::text("default_branch"),
        Col::int("size"),
        Col::bool("is_disabled"),
        Col::json("raw"),
    ],
    observed: true,
    guard: Guard::Observed,
    revive: true,
    newest_by: None,
};

impl Record for RepositoryRow {
    const TABLE: &'static Table = &REPOSITORIES;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            (&self.id).into(),
            (&self.project_id).into(),
            (&self.name).into(),
            (&self.default_branch).into(),
            self.size.into(),
            self.is_disabled.into(),
            json(&self.raw),
        ]);
    }
}

/// A pull request as the list endpoint returns it. ADO gives PRs no revision, so the newer
/// observation wins (`synced_at`, the time the request was sent).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
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
    /// What the PR list shows of a change inside the PR (see `connectors::map::git`): the
    /// Repos connector fetches a PR's inside when this differs from the marker its last fetch
    /// stored (`pull_request_child_syncs`).
    pub change_marker: Option<String>,
    pub raw: String,
}

pub static PULL_REQUESTS: Table = Table {
    name: "pull_requests",
    key: &[Col::int("id")],
    columns: &[
        Col::text("repository_id"),
        Col::text("project_id"),
        Col::text("title"),
        Col::text("status"),
        Col::bool("is_draft"),
        Col::text("created_by_id"),
        Col::time("creation_date"),
        Col::time("closed_date"),
        Col::text("source_ref"),
        Col::text("target_ref"),
        Col::text("merge_status"),
        Col::text("last_merge_source_commit"),
        Col::text("last_merge_commit"),
        Col::text("change_marker"),
        Col::json("raw"),
    ],
    observed: true,
    guard: Guard::Observed,
    revive: false,
    newest_by: None,
};

impl Record for PullRequestRow {
    const TABLE: &'static Table = &PULL_REQUESTS;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            self.id.into(),
            (&self.repository_id).into(),
            (&self.project_id).into(),
            (&self.title).into(),
            (&self.status).into(),
            self.is_draft.into(),
            (&self.created_by_id).into(),
            self.creation_date.into(),
            self.closed_date.into(),
            (&self.source_ref).into(),
            (&self.target_ref).into(),
            (&self.merge_status).into(),
            (&self.last_merge_source_commit).into(),
            (&self.last_merge_commit).into(),
            (&self.change_marker).into(),
            json(&self.raw),
        ]);
    }
}

/// One reviewer's vote on a pull request (`pull_request_reviewers`): the reviewer set of a PR
/// is a child set, replaced when the PR's own upsert takes effect.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, sqlx::FromRow)]
pub struct ReviewerRow {
    pub pull_request_id: i64,
    pub reviewer_id: String,
    pub vote: i32,
    pub is_required: bool,
    pub has_declined: bool,
}

pub static PULL_REQUEST_REVIEWERS: Table = Table {
    name: "pull_request_reviewers",
    key: &[Col::int("pull_request_id"), Col::text("reviewer_id")],
    columns: &[
        Col::int("vote"),
        Col::bool("is_required"),
        Col::bool("has_declined"),
    ],
    observed: false,
    guard: Guard::Changed,
    revive: false,
    newest_by: None,
};

impl Record for ReviewerRow {
    const TABLE: &'static Table = &PULL_REQUEST_REVIEWERS;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            self.pull_request_id.into(),
            (&self.reviewer_id).into(),
            self.vote.into(),
            self.is_required.into(),
            self.has_declined.into(),
        ]);
    }
}

pub(super) static TABLES: &[&Table] = &[&REPOSITORIES, &PULL_REQUESTS, &PULL_REQUEST_REVIEWERS];

#[cfg(test)]
mod tests {
    use super::super::check::record_matches_table;
    use super::*;

    #[test]
    fn records_match_their_tables() {
        record_matches_table(&RepositoryRow {
            id: "r".into(),
            project_id: "p".into(),
            name: "n".into(),
            default_branch: None,
            size: Some(3),
            is_disabled: false,
            raw: "{}".into(),
        });
        record_matches_table(&PullRequestRow {
            id: 1,
            repository_id: "r".into(),
            project_id: "p".into(),
            title: "t".into(),
            status: "active".into(),
            is_draft: false,
            created_by_id: None,
            creation_date: Utc::now(),
            closed_date: None,
            source_ref: "refs/heads/a".into(),
            target_ref: "refs/heads/main".into(),
            merge_status: None,
            last_merge_source_commit: None,
            last_merge_commit: None,
            change_marker: None,
            raw: "{}".into(),
        });
        record_matches_table(&ReviewerRow {
            pull_request_id: 1,
            reviewer_id: "u".into(),
            vote: 10,
            is_required: false,
            has_declined: false,
        });
    }
}
