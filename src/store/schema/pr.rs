//! Pull request depth (issue 11): what is inside a PR — iterations, the paths each iteration
//! changed, threads and their comments, linked work items, status checks and policy
//! evaluations — and the bookkeeping that fetches it only when the PR changed.
//!
//! PR ids are unique in a collection (the PR list and every PR URL name them alone), so the
//! key of every table here starts with `pull_request_id`; `repository_id` is a plain column.
//!
//! [`PullRequestChildSyncRow`] is the parent of every child set: one row per PR whose inside
//! was fetched, with the PR's change marker at the time of the fetch. A fetch writes it
//! together with every child set in one transaction, so a run killed half-way re-fetches
//! exactly the PRs whose sync row still lags their marker (`store::refresh`).

use chrono::{DateTime, Utc};

use super::{Col, Guard, Record, Table, Value, json};

/// When, and at which change marker, the inside of a PR was last fetched.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PullRequestChildSyncRow {
    pub pull_request_id: i64,
    pub repository_id: String,
    /// The PR's `change_marker` the fetch was made for.
    pub marker: String,
    /// The newest iteration whose changes are stored: iterations never change once made, so
    /// a later fetch lists only the changes of newer ones.
    pub changes_through: i64,
}

pub static PULL_REQUEST_CHILD_SYNCS: Table = Table {
    name: "pull_request_child_syncs",
    key: &[Col::int("pull_request_id")],
    columns: &[
        Col::text("repository_id"),
        Col::text("marker"),
        Col::int("changes_through"),
    ],
    observed: true,
    guard: Guard::Observed,
    revive: false,
    newest_by: None,
};

impl Record for PullRequestChildSyncRow {
    const TABLE: &'static Table = &PULL_REQUEST_CHILD_SYNCS;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            self.pull_request_id.into(),
            (&self.repository_id).into(),
            (&self.marker).into(),
            self.changes_through.into(),
        ]);
    }
}

/// When, and at which source commit, the commits of a PR were last fetched (the Pull Commits
/// connector's parent row, as [`PullRequestChildSyncRow`] is the Repos connector's).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PullRequestCommitSyncRow {
    pub pull_request_id: i64,
    pub repository_id: String,
    pub source_commit: String,
}

pub static PULL_REQUEST_COMMIT_SYNCS: Table = Table {
    name: "pull_request_commit_syncs",
    key: &[Col::int("pull_request_id")],
    columns: &[Col::text("repository_id"), Col::text("source_commit")],
    observed: true,
    guard: Guard::Observed,
    revive: false,
    newest_by: None,
};

impl Record for PullRequestCommitSyncRow {
    const TABLE: &'static Table = &PULL_REQUEST_COMMIT_SYNCS;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            self.pull_request_id.into(),
            (&self.repository_id).into(),
            (&self.source_commit).into(),
        ]);
    }
}

/// One iteration (a push or retarget of the source branch).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PullRequestIterationRow {
    pub pull_request_id: i64,
    pub id: i64,
    pub repository_id: String,
    pub description: Option<String>,
    pub author_id: Option<String>,
    pub created_date: Option<DateTime<Utc>>,
    pub updated_date: Option<DateTime<Utc>>,
    pub source_commit: Option<String>,
    pub target_commit: Option<String>,
    pub common_commit: Option<String>,
    /// `None` for the first iteration, which ADO makes without a push.
    pub push_id: Option<i64>,
    pub reason: Option<String>,
    pub raw: String,
}

pub static PULL_REQUEST_ITERATIONS: Table = Table {
    name: "pull_request_iterations",
    key: &[Col::int("pull_request_id"), Col::int("id")],
    columns: &[
        Col::text("repository_id"),
        Col::text("description"),
        Col::text("author_id"),
        Col::time("created_date"),
        Col::time("updated_date"),
        Col::text("source_commit"),
        Col::text("target_commit"),
        Col::text("common_commit"),
        Col::int("push_id"),
        Col::text("reason"),
        Col::json("raw"),
    ],
    observed: false,
    guard: Guard::Changed,
    revive: false,
    newest_by: None,
};

impl Record for PullRequestIterationRow {
    const TABLE: &'static Table = &PULL_REQUEST_ITERATIONS;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            self.pull_request_id.into(),
            self.id.into(),
            (&self.repository_id).into(),
            (&self.description).into(),
            (&self.author_id).into(),
            self.created_date.into(),
            self.updated_date.into(),
            (&self.source_commit).into(),
            (&self.target_commit).into(),
            (&self.common_commit).into(),
            self.push_id.into(),
            (&self.reason).into(),
            json(&self.raw),
        ]);
    }
}

/// One path an iteration changed, against the common commit (paths only, never contents).
/// Upserted rather than replaced: an iteration's changes never change once it exists, and a
/// later fetch lists only the newer iterations'.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PullRequestChangeRow {
    pub pull_request_id: i64,
    pub iteration_id: i64,
    /// Stable across iterations for one file; what file threads point at.
    pub change_tracking_id: i64,
    pub repository_id: String,
    pub change_id: Option<i64>,
    pub path: Option<String>,
    /// ADO's comma-separated flags as sent (`edit`, `edit, rename`).
    pub change_type: String,
    pub original_path: Option<String>,
    pub item_type: Option<String>,
    pub raw: String,
}

pub static PULL_REQUEST_CHANGES: Table = Table {
    name: "pull_request_changes",
    key: &[
        Col::int("pull_request_id"),
        Col::int("iteration_id"),
        Col::int("change_tracking_id"),
    ],
    columns: &[
        Col::text("repository_id"),
        Col::int("change_id"),
        Col::text("path"),
        Col::text("change_type"),
        Col::text("original_path"),
        Col::text("item_type"),
        Col::json("raw"),
    ],
    observed: false,
    guard: Guard::Changed,
    revive: false,
    newest_by: None,
};

impl Record for PullRequestChangeRow {
    const TABLE: &'static Table = &PULL_REQUEST_CHANGES;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            self.pull_request_id.into(),
            self.iteration_id.into(),
            self.change_tracking_id.into(),
            (&self.repository_id).into(),
            self.change_id.into(),
            (&self.path).into(),
            (&self.change_type).into(),
            (&self.original_path).into(),
            (&self.item_type).into(),
            json(&self.raw),
        ]);
    }
}

/// A comment thread. `raw` is the thread without its `comments` (they are rows of
/// [`PullRequestCommentRow`], each with its own raw), so a thread's text is stored once.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PullRequestThreadRow {
    pub pull_request_id: i64,
    pub id: i64,
    pub repository_id: String,
    /// `None` for system threads (votes, pushes, reviewer changes).
    pub status: Option<String>,
    /// `properties.CodeReviewThreadType` of a system thread (`VoteUpdate`, `RefUpdate`, …).
    pub thread_type: Option<String>,
    pub published_date: Option<DateTime<Utc>>,
    pub last_updated_date: Option<DateTime<Utc>>,
    pub file_path: Option<String>,
    pub right_line_start: Option<i64>,
    pub right_line_end: Option<i64>,
    pub change_tracking_id: Option<i64>,
    pub is_deleted: bool,
    pub properties: Option<String>,
    pub raw: String,
}

pub static PULL_REQUEST_THREADS: Table = Table {
    name: "pull_request_threads",
    key: &[Col::int("pull_request_id"), Col::int("id")],
    columns: &[
        Col::text("repository_id"),
        Col::text("status"),
        Col::text("thread_type"),
        Col::time("published_date"),
        Col::time("last_updated_date"),
        Col::text("file_path"),
        Col::int("right_line_start"),
        Col::int("right_line_end"),
        Col::int("change_tracking_id"),
        Col::bool("is_deleted"),
        Col::json("properties"),
        Col::json("raw"),
    ],
    observed: false,
    guard: Guard::Changed,
    revive: false,
    newest_by: None,
};

impl Record for PullRequestThreadRow {
    const TABLE: &'static Table = &PULL_REQUEST_THREADS;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            self.pull_request_id.into(),
            self.id.into(),
            (&self.repository_id).into(),
            (&self.status).into(),
            (&self.thread_type).into(),
            self.published_date.into(),
            self.last_updated_date.into(),
            (&self.file_path).into(),
            self.right_line_start.into(),
            self.right_line_end.into(),
            self.change_tracking_id.into(),
            self.is_deleted.into(),
            self.properties.as_deref().map_or(Value::Null, json),
            json(&self.raw),
        ]);
    }
}

/// A comment of a thread: comment ids restart at 1 in every thread, so the thread is part of
/// the key.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PullRequestCommentRow {
    pub pull_request_id: i64,
    pub thread_id: i64,
    pub id: i64,
    pub repository_id: String,
    /// 0 for a top-level comment.
    pub parent_comment_id: i64,
    pub author_id: Option<String>,
    pub comment_type: Option<String>,
    /// `None` for a deleted comment: ADO drops its text.
    pub content: Option<String>,
    pub published_date: Option<DateTime<Utc>>,
    pub last_updated_date: Option<DateTime<Utc>>,
    pub last_content_updated_date: Option<DateTime<Utc>>,
    pub is_deleted: bool,
    pub liked_by: i64,
    pub raw: String,
}

pub static PULL_REQUEST_COMMENTS: Table = Table {
    name: "pull_request_comments",
    key: &[
        Col::int("pull_request_id"),
        Col::int("thread_id"),
        Col::int("id"),
    ],
    columns: &[
        Col::text("repository_id"),
        Col::int("parent_comment_id"),
        Col::text("author_id"),
        Col::text("comment_type"),
        Col::text("content"),
        Col::time("published_date"),
        Col::time("last_updated_date"),
        Col::time("last_content_updated_date"),
        Col::bool("is_deleted"),
        Col::int("liked_by"),
        Col::json("raw"),
    ],
    observed: false,
    guard: Guard::Changed,
    revive: false,
    newest_by: None,
};

impl Record for PullRequestCommentRow {
    const TABLE: &'static Table = &PULL_REQUEST_COMMENTS;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            self.pull_request_id.into(),
            self.thread_id.into(),
            self.id.into(),
            (&self.repository_id).into(),
            self.parent_comment_id.into(),
            (&self.author_id).into(),
            (&self.comment_type).into(),
            (&self.content).into(),
            self.published_date.into(),
            self.last_updated_date.into(),
            self.last_content_updated_date.into(),
            self.is_deleted.into(),
            self.liked_by.into(),
            json(&self.raw),
        ]);
    }
}

/// A work item linked to a PR.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, sqlx::FromRow)]
pub struct PullRequestWorkItemRow {
    pub pull_request_id: i64,
    /// ADO sends the id as a string (API_FACTS §7); stored as the number it is.
    pub work_item_id: i64,
    pub repository_id: String,
    pub url: Option<String>,
}

pub static PULL_REQUEST_WORK_ITEMS: Table = Table {
    name: "pull_request_work_items",
    key: &[Col::int("pull_request_id"), Col::int("work_item_id")],
    columns: &[Col::text("repository_id"), Col::text("url")],
    observed: false,
    guard: Guard::Changed,
    revive: false,
    newest_by: None,
};

impl Record for PullRequestWorkItemRow {
    const TABLE: &'static Table = &PULL_REQUEST_WORK_ITEMS;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            self.pull_request_id.into(),
            self.work_item_id.into(),
            (&self.repository_id).into(),
            (&self.url).into(),
        ]);
    }
}

/// A status check posted on the PR or on one of its iterations.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PullRequestStatusRow {
    pub pull_request_id: i64,
    /// Unique within the PR across its iterations (API_FACTS §9.1).
    pub id: i64,
    pub repository_id: String,
    pub iteration_id: Option<i64>,
    pub state: Option<String>,
    pub description: Option<String>,
    pub genre: Option<String>,
    pub name: Option<String>,
    pub target_url: Option<String>,
    pub created_by_id: Option<String>,
    pub creation_date: Option<DateTime<Utc>>,
    pub updated_date: Option<DateTime<Utc>>,
    pub raw: String,
}

pub static PULL_REQUEST_STATUSES: Table = Table {
    name: "pull_request_statuses",
    key: &[Col::int("pull_request_id"), Col::int("id")],
    columns: &[
        Col::text("repository_id"),
        Col::int("iteration_id"),
        Col::text("state"),
        Col::text("description"),
        Col::text("genre"),
        Col::text("name"),
        Col::text("target_url"),
        Col::text("created_by_id"),
        Col::time("creation_date"),
        Col::time("updated_date"),
        Col::json("raw"),
    ],
    observed: false,
    guard: Guard::Changed,
    revive: false,
    newest_by: None,
};

impl Record for PullRequestStatusRow {
    const TABLE: &'static Table = &PULL_REQUEST_STATUSES;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            self.pull_request_id.into(),
            self.id.into(),
            (&self.repository_id).into(),
            self.iteration_id.into(),
            (&self.state).into(),
            (&self.description).into(),
            (&self.genre).into(),
            (&self.name).into(),
            (&self.target_url).into(),
            (&self.created_by_id).into(),
            self.creation_date.into(),
            self.updated_date.into(),
            json(&self.raw),
        ]);
    }
}

/// A branch policy evaluated against the PR: which required reviewers and build validations
/// held a merge.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PullRequestPolicyEvaluationRow {
    pub pull_request_id: i64,
    pub evaluation_id: String,
    pub repository_id: String,
    pub configuration_id: Option<i64>,
    pub configuration_revision: Option<i64>,
    pub policy_type_id: Option<String>,
    pub policy_type: Option<String>,
    pub is_blocking: bool,
    pub is_enabled: bool,
    pub status: Option<String>,
    pub started_date: Option<DateTime<Utc>>,
    pub completed_date: Option<DateTime<Utc>>,
    pub raw: String,
}

pub static PULL_REQUEST_POLICY_EVALUATIONS: Table = Table {
    name: "pull_request_policy_evaluations",
    key: &[Col::int("pull_request_id"), Col::text("evaluation_id")],
    columns: &[
        Col::text("repository_id"),
        Col::int("configuration_id"),
        Col::int("configuration_revision"),
        Col::text("policy_type_id"),
        Col::text("policy_type"),
        Col::bool("is_blocking"),
        Col::bool("is_enabled"),
        Col::text("status"),
        Col::time("started_date"),
        Col::time("completed_date"),
        Col::json("raw"),
    ],
    observed: false,
    guard: Guard::Changed,
    revive: false,
    newest_by: None,
};

impl Record for PullRequestPolicyEvaluationRow {
    const TABLE: &'static Table = &PULL_REQUEST_POLICY_EVALUATIONS;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            self.pull_request_id.into(),
            (&self.evaluation_id).into(),
            (&self.repository_id).into(),
            self.configuration_id.into(),
            self.configuration_revision.into(),
            (&self.policy_type_id).into(),
            (&self.policy_type).into(),
            self.is_blocking.into(),
            self.is_enabled.into(),
            (&self.status).into(),
            self.started_date.into(),
            self.completed_date.into(),
            json(&self.raw),
        ]);
    }
}

/// A commit of a PR (the Pull Commits connector), as `pullRequests/{id}/commits` lists it: no
/// parents, and usually no change counts (API_FACTS §4.3); `comment` may be cut short
/// (`comment_truncated`).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PullRequestCommitRow {
    pub pull_request_id: i64,
    pub commit_id: String,
    pub repository_id: String,
    pub author_name: Option<String>,
    pub author_email: Option<String>,
    pub author_date: Option<DateTime<Utc>>,
    pub committer_name: Option<String>,
    pub committer_email: Option<String>,
    pub committer_date: Option<DateTime<Utc>>,
    /// The first line of the message.
    pub title: Option<String>,
    pub comment: Option<String>,
    pub comment_truncated: bool,
    pub adds: Option<i64>,
    pub edits: Option<i64>,
    pub deletes: Option<i64>,
    pub raw: String,
}

pub static PULL_REQUEST_COMMITS: Table = Table {
    name: "pull_request_commits",
    key: &[Col::int("pull_request_id"), Col::text("commit_id")],
    columns: &[
        Col::text("repository_id"),
        Col::text("author_name"),
        Col::text("author_email"),
        Col::time("author_date"),
        Col::text("committer_name"),
        Col::text("committer_email"),
        Col::time("committer_date"),
        Col::text("title"),
        Col::text("comment"),
        Col::bool("comment_truncated"),
        Col::int("adds"),
        Col::int("edits"),
        Col::int("deletes"),
        Col::json("raw"),
    ],
    observed: false,
    guard: Guard::Changed,
    revive: false,
    newest_by: None,
};

impl Record for PullRequestCommitRow {
    const TABLE: &'static Table = &PULL_REQUEST_COMMITS;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            self.pull_request_id.into(),
            (&self.commit_id).into(),
            (&self.repository_id).into(),
            (&self.author_name).into(),
            (&self.author_email).into(),
            self.author_date.into(),
            (&self.committer_name).into(),
            (&self.committer_email).into(),
            self.committer_date.into(),
            (&self.title).into(),
            (&self.comment).into(),
            self.comment_truncated.into(),
            self.adds.into(),
            self.edits.into(),
            self.deletes.into(),
            json(&self.raw),
        ]);
    }
}

pub(super) static TABLES: &[&Table] = &[
    &PULL_REQUEST_CHILD_SYNCS,
    &PULL_REQUEST_COMMIT_SYNCS,
    &PULL_REQUEST_ITERATIONS,
    &PULL_REQUEST_CHANGES,
    &PULL_REQUEST_THREADS,
    &PULL_REQUEST_COMMENTS,
    &PULL_REQUEST_WORK_ITEMS,
    &PULL_REQUEST_STATUSES,
    &PULL_REQUEST_POLICY_EVALUATIONS,
    &PULL_REQUEST_COMMITS,
];

#[cfg(test)]
mod tests {
    use super::super::check::record_matches_table;
    use super::*;

    #[test]
    fn records_match_their_tables() {
        let t = Some(Utc::now());
        let s = || Some("x".to_string());
        record_matches_table(&PullRequestChildSyncRow {
            pull_request_id: 1,
            repository_id: "r".into(),
            marker: "m".into(),
            changes_through: 2,
        });
        record_matches_table(&PullRequestCommitSyncRow {
            pull_request_id: 1,
            repository_id: "r".into(),
            source_commit: "c".into(),
        });
        record_matches_table(&PullRequestIterationRow {
            pull_request_id: 1,
            id: 1,
            repository_id: "r".into(),
            description: s(),
            author_id: s(),
            created_date: t,
            updated_date: t,
            source_commit: s(),
            target_commit: s(),
            common_commit: s(),
            push_id: Some(3),
            reason: s(),
            raw: "{}".into(),
        });
        record_matches_table(&PullRequestChangeRow {
            pull_request_id: 1,
            iteration_id: 1,
            change_tracking_id: 4,
            repository_id: "r".into(),
            change_id: Some(4),
            path: s(),
            change_type: "edit".into(),
            original_path: None,
            item_type: s(),
            raw: "{}".into(),
        });
        record_matches_table(&PullRequestThreadRow {
            pull_request_id: 1,
            id: 2,
            repository_id: "r".into(),
            status: s(),
            thread_type: None,
            published_date: t,
            last_updated_date: t,
            file_path: s(),
            right_line_start: Some(1),
            right_line_end: Some(2),
            change_tracking_id: Some(4),
            is_deleted: false,
            properties: Some("{}".into()),
            raw: "{}".into(),
        });
        record_matches_table(&PullRequestCommentRow {
            pull_request_id: 1,
            thread_id: 2,
            id: 1,
            repository_id: "r".into(),
            parent_comment_id: 0,
            author_id: s(),
            comment_type: s(),
            content: s(),
            published_date: t,
            last_updated_date: t,
            last_content_updated_date: t,
            is_deleted: false,
            liked_by: 2,
            raw: "{}".into(),
        });
        record_matches_table(&PullRequestWorkItemRow {
            pull_request_id: 1,
            work_item_id: 7,
            repository_id: "r".into(),
            url: s(),
        });
        record_matches_table(&PullRequestStatusRow {
            pull_request_id: 1,
            id: 1,
            repository_id: "r".into(),
            iteration_id: Some(1),
            state: s(),
            description: s(),
            genre: s(),
            name: s(),
            target_url: s(),
            created_by_id: s(),
            creation_date: t,
            updated_date: t,
            raw: "{}".into(),
        });
        record_matches_table(&PullRequestPolicyEvaluationRow {
            pull_request_id: 1,
            evaluation_id: "e".into(),
            repository_id: "r".into(),
            configuration_id: Some(1),
            configuration_revision: Some(1),
            policy_type_id: s(),
            policy_type: s(),
            is_blocking: true,
            is_enabled: true,
            status: s(),
            started_date: t,
            completed_date: t,
            raw: "{}".into(),
        });
        record_matches_table(&PullRequestCommitRow {
            pull_request_id: 1,
            commit_id: "c".into(),
            repository_id: "r".into(),
            author_name: s(),
            author_email: s(),
            author_date: t,
            committer_name: s(),
            committer_email: s(),
            committer_date: t,
            title: s(),
            comment: s(),
            comment_truncated: false,
            adds: Some(1),
            edits: None,
            deletes: Some(0),
            raw: "{}".into(),
        });
    }
}
