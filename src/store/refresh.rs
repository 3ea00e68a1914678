//! Which pull requests need their inside fetched (issue 11, "only when changed"): the PRs of
//! a project whose stored change marker moved past the marker of their last fetch, or that
//! were never fetched. Read by the Repos connector (iterations, threads, …, against
//! `pull_request_child_syncs`) and the Pull Commits connector (commits, against
//! `pull_request_commit_syncs` and the source commit). A fetch writes its sync row in the
//! transaction of its child sets, so this read is also what a killed run resumes from.
//!
//! PRs of a repository marked deleted are left out: ADO answers 404 for them, and their rows
//! are kept as they were.

use chrono::{DateTime, Utc};

use super::Result;
use super::apply::Exec;
use super::backend::Backend;
use super::schema::{Type, Value};
use super::sql;

/// Which inside of a PR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshPart {
    /// Iterations, changes, threads, work items, statuses, policy evaluations: due when the
    /// change marker moved, and for an active PR also when the last fetch is older than
    /// `stale_before` (a comment alone moves no marker).
    Children { stale_before: Option<DateTime<Utc>> },
    /// Commits: due when the source commit moved.
    Commits,
}

/// A pull request whose inside is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrToRefresh {
    pub id: i64,
    pub repository_id: String,
    /// The marker to store with the fetch: the change marker for children, the source
    /// commit for commits.
    pub marker: String,
    /// The newest iteration whose changes are stored (0: none).
    pub changes_through: i64,
    pub status: String,
}

const CHILDREN: &str = "SELECT p.id, p.repository_id, p.change_marker, \
     COALESCE(s.changes_through, 0), p.status \
     FROM pull_requests p \
     JOIN repositories r ON r.org = p.org AND r.id = p.repository_id AND r.deleted_at IS NULL \
     LEFT JOIN pull_request_child_syncs s ON s.org = p.org AND s.pull_request_id = p.id \
     WHERE p.org = {} AND p.project_id = {} AND p.id > {} AND p.change_marker IS NOT NULL \
     AND (s.pull_request_id IS NULL OR s.marker <> p.change_marker \
          OR (p.status = 'active' AND s.synced_at < {})) \
     ORDER BY p.id LIMIT {}";

const COMMITS: &str = "SELECT p.id, p.repository_id, p.last_merge_source_commit, CAST(0 AS BIGINT), p.status \
     FROM pull_requests p \
     JOIN repositories r ON r.org = p.org AND r.id = p.repository_id AND r.deleted_at IS NULL \
     LEFT JOIN pull_request_commit_syncs s ON s.org = p.org AND s.pull_request_id = p.id \
     WHERE p.org = {} AND p.project_id = {} AND p.id > {} \
     AND p.last_merge_source_commit IS NOT NULL \
     AND (s.pull_request_id IS NULL OR s.source_commit <> p.last_merge_source_commit) \
     ORDER BY p.id LIMIT {}";

/// At most `limit` PRs of `project_id` with an id above `after` whose `part` is due, by id.
pub(crate) async fn pull_requests_to_refresh<B: Backend>(
    b: &B,
    org: &str,
    project_id: &str,
    part: RefreshPart,
    after: i64,
    limit: u32,
) -> Result<Vec<PrToRefresh>> {
    let mut c = b.reader().await?;
    let d = c.dialect();
    let mut binds = vec![
        (Type::Text, Value::Text(org)),
        (Type::Text, Value::Text(project_id)),
        (Type::Int, Value::Int(after)),
    ];
    let text = match part {
        RefreshPart::Children { stale_before } => {
            // No age limit: a time before any fetch.
            let stale = stale_before.unwrap_or(DateTime::UNIX_EPOCH);
            binds.push((Type::Time, Value::Time(super::common::micros(stale))));
            CHILDREN
        }
        RefreshPart::Commits => COMMITS,
    };
    binds.push((Type::Int, Value::Int(i64::from(limit))));
    let rows = c
        .fetch(
            sql::query(d, "pull_requests", text, binds),
            &[Type::Int, Type::Text, Type::Text, Type::Int, Type::Text],
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let mut r = r.into_iter();
            let id = r.next()?.as_int()?;
            let repository_id = r.next()?.into_text()?;
            let marker = r.next()?.into_text()?;
            let changes_through = r.next()?.as_int().unwrap_or(0);
            let status = r.next()?.into_text()?;
            Some(PrToRefresh {
                id,
                repository_id,
                marker,
                changes_through,
                status,
            })
        })
        .collect())
}
