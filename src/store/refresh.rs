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

/// What of a build is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildPart {
    /// Its timeline: a finished build never fetched, or whose `lastChangedDate` moved since
    /// (a retried job changes a finished build's timeline).
    Timeline,
    /// Its changes (the commits it built): a finished build never fetched.
    Changes,
    /// Its state: a build the database holds as not finished, to be read again by id.
    Unfinished,
}

/// A build whose `part` is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildToRefresh {
    pub id: i64,
    /// The `lastChangedDate` to store with a timeline fetch.
    pub last_changed_date: Option<DateTime<Utc>>,
}

const BUILD_TIMELINES: &str = "SELECT b.id, b.last_changed_date FROM builds b \
     LEFT JOIN build_timeline_syncs s ON s.org = b.org AND s.build_id = b.id \
     WHERE b.org = {} AND b.project_id = {} AND b.id > {} \
     AND b.status = 'completed' AND b.deleted_at IS NULL \
     AND (s.build_id IS NULL OR s.last_changed_date <> b.last_changed_date \
          OR (s.last_changed_date IS NULL AND b.last_changed_date IS NOT NULL)) \
     ORDER BY b.id LIMIT {}";

const BUILD_CHANGES: &str = "SELECT b.id, b.last_changed_date FROM builds b \
     LEFT JOIN build_change_syncs s ON s.org = b.org AND s.build_id = b.id \
     WHERE b.org = {} AND b.project_id = {} AND b.id > {} \
     AND b.status = 'completed' AND b.deleted_at IS NULL AND s.build_id IS NULL \
     ORDER BY b.id LIMIT {}";

const BUILDS_UNFINISHED: &str = "SELECT b.id, b.last_changed_date FROM builds b \
     WHERE b.org = {} AND b.project_id = {} AND b.id > {} \
     AND (b.status IS NULL OR b.status <> 'completed') AND b.deleted_at IS NULL \
     ORDER BY b.id LIMIT {}";

/// At most `limit` builds of `project_id` with an id above `after` whose `part` is due, by id.
pub(crate) async fn builds_to_refresh<B: Backend>(
    b: &B,
    org: &str,
    project_id: &str,
    part: BuildPart,
    after: i64,
    limit: u32,
) -> Result<Vec<BuildToRefresh>> {
    let mut c = b.reader().await?;
    let d = c.dialect();
    let binds = vec![
        (Type::Text, Value::Text(org)),
        (Type::Text, Value::Text(project_id)),
        (Type::Int, Value::Int(after)),
        (Type::Int, Value::Int(i64::from(limit))),
    ];
    let text = match part {
        BuildPart::Timeline => BUILD_TIMELINES,
        BuildPart::Changes => BUILD_CHANGES,
        BuildPart::Unfinished => BUILDS_UNFINISHED,
    };
    let rows = c
        .fetch(
            sql::query(d, "builds", text, binds),
            &[Type::Int, Type::Time],
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let mut r = r.into_iter();
            let id = r.next()?.as_int()?;
            let last_changed_date = r.next().and_then(|c| c.as_time());
            Some(BuildToRefresh {
                id,
                last_changed_date,
            })
        })
        .collect())
}

const OPEN_RECORDS: &str = "SELECT id FROM environment_deployments \
     WHERE org = {} AND project_id = {} AND environment_id = {} \
     AND (finish_time IS NULL OR result IS NULL) ORDER BY id";

/// The deployment records of `environment_id` stored as unfinished (no finish time or no
/// result yet), by id: the ones a walk of the environment's records must reach again.
pub(crate) async fn open_deployment_records<B: Backend>(
    b: &B,
    org: &str,
    project_id: &str,
    environment_id: i64,
) -> Result<Vec<i64>> {
    let mut c = b.reader().await?;
    let d = c.dialect();
    let binds = vec![
        (Type::Text, Value::Text(org)),
        (Type::Text, Value::Text(project_id)),
        (Type::Int, Value::Int(environment_id)),
    ];
    let rows = c
        .fetch(
            sql::query(d, "environment_deployments", OPEN_RECORDS, binds),
            &[Type::Int],
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| r.into_iter().next()?.as_int())
        .collect())
}
