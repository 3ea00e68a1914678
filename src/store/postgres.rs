//! [`PgStore`]: the PostgreSQL backend, for large organizations and several replicas.
//!
//! Batched upserts bind one array per column and expand them with `UNNEST` (one fixed
//! statement per table, prepared once, whatever the page size), which measured faster than
//! multi-row `VALUES` lists built with `QueryBuilder::push_values` and has no bind-parameter
//! limit; pages are still split into statements of [`MAX_ROWS_PER_STATEMENT`] rows to bound the
//! message size.
//!
//! `raw` is JSONB: Postgres keeps the JSON *value*, not the text (key order and whitespace are
//! normalized, duplicate keys collapse), so the `raw` read back is an equal JSON value
//! re-serialized by Postgres, not the same bytes. Postgres text and JSONB cannot hold the NUL
//! character: a NUL in any text field or a `\u0000` in `raw` is replaced by U+FFFD before
//! writing (see [`without_nul`]), so that one odd PR title cannot block a page forever.

use std::borrow::Cow;
use std::collections::HashSet;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{PgConnection, Postgres, Row};

use super::common::{
    COUNTED_TABLES, LINK_CONFLICT, StateRecord, WORK_ITEM_CONFLICT, attach_reviewers,
    attach_states, group_members, last_per_key, micros, newest_per_key, proposed_deleted_at,
    reviewers_of,
};
use super::error::redact_url;
use super::{
    Batch, ClassificationNodeRow, CursorUpdate, Error, GraphUserRow, IdentityRow, PlanningRefresh,
    ProjectRow, PullRequestRow, RepositoryRow, Result, ReviewerRow, RunRecord, Store, StoredNode,
    StoredProject, StoredRepository, StoredTeam, StoredWorkItem, StoredWorkItemType, TeamMemberRow,
    TeamMembers, TeamRow, TeamsRefresh, UserProfile, UserRow, WorkItemFieldRow, WorkItemLinkRow,
    WorkItemRevisionRow, WorkItemRow, WorkItemTypeRow, WorkItemTypeStateRow,
};

/// Connections of the pool.
const MAX_CONNECTIONS: u32 = 8;

/// Rows per `INSERT … SELECT FROM UNNEST(…)` statement (about 6 MB of ~1.2 KB PR rows).
const MAX_ROWS_PER_STATEMENT: usize = 5_000;

/// Pull requests per statement. A PR row carries its whole JSON (1–5 KB), and each pooled
/// connection keeps a send buffer as large as the largest statement it sent (sqlx does not
/// shrink it): 250 rows keep that near 1 MB per connection instead of a page's 3–5 MB, at
/// no measurable cost in throughput.
const PR_ROWS_PER_STATEMENT: usize = 250;

/// The PostgreSQL backend. Cheap to clone: clones share the pool.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/database?sslmode=…`). The
    /// database must exist. Does not migrate; call [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<Self> {
        let connect_err = |source| Error::Connect {
            backend: "postgres",
            url: redact_url(url),
            source,
        };
        let options = PgConnectOptions::from_str(url).map_err(connect_err)?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_with(options)
            .await
            .map_err(connect_err)?;
        Ok(Self { pool })
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// `text` without NUL characters (which Postgres text cannot store), borrowed when it has none.
fn without_nul(text: &str) -> Cow<'_, str> {
    if text.contains('\0') {
        Cow::Owned(text.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// `raw` JSON without `\u0000` escapes, which JSONB rejects ("unsupported Unicode escape
/// sequence"): such strings are parsed and re-serialized with U+FFFD instead of NUL. Text that
/// is not JSON is returned unchanged, for the `::jsonb` cast to reject.
fn json_without_nul(raw: &str) -> Cow<'_, str> {
    if !raw.contains("\\u0000") {
        return Cow::Borrowed(raw);
    }
    fn clean(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(s) if s.contains('\0') => {
                *s = s.replace('\0', "\u{FFFD}");
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(clean),
            serde_json::Value::Object(map) => {
                let entries = std::mem::take(map);
                for (key, mut item) in entries {
                    clean(&mut item);
                    map.insert(key.replace('\0', "\u{FFFD}"), item);
                }
            }
            _ => {}
        }
    }
    match serde_json::from_str::<serde_json::Value>(raw) {
        Ok(mut value) => {
            clean(&mut value);
            Cow::Owned(value.to_string())
        }
        Err(_) => Cow::Borrowed(raw),
    }
}

fn opt_without_nul(text: &Option<String>) -> Option<Cow<'_, str>> {
    text.as_deref().map(without_nul)
}

async fn upsert_users(
    conn: &mut PgConnection,
    org: &str,
    at: DateTime<Utc>,
    users: &[UserRow],
) -> Result<u64> {
    const OP: &str = "apply users";
    let users = last_per_key(users, |u| u.id.as_str());
    let mut written = 0;
    for chunk in users.chunks(MAX_ROWS_PER_STATEMENT) {
        let id: Vec<Cow<str>> = chunk.iter().map(|u| without_nul(&u.id)).collect();
        let display_name: Vec<Option<Cow<str>>> = chunk
            .iter()
            .map(|u| opt_without_nul(&u.display_name))
            .collect();
        let unique_name: Vec<Option<Cow<str>>> = chunk
            .iter()
            .map(|u| opt_without_nul(&u.unique_name))
            .collect();
        let is_container: Vec<bool> = chunk.iter().map(|u| u.is_container).collect();
        written += sqlx::query(
            "INSERT INTO users AS t (org, id, display_name, unique_name, is_container, synced_at) \
             SELECT $1, u.id, u.display_name, u.unique_name, u.is_container, $2 \
             FROM UNNEST($3::text[], $4::text[], $5::text[], $6::bool[]) \
             AS u(id, display_name, unique_name, is_container) \
             ON CONFLICT (org, id) DO UPDATE SET display_name = excluded.display_name, \
             unique_name = excluded.unique_name, is_container = excluded.is_container, \
             synced_at = excluded.synced_at \
             WHERE excluded.synced_at >= t.synced_at",
        )
        .bind(org)
        .bind(at)
        .bind(id)
        .bind(display_name)
        .bind(unique_name)
        .bind(is_container)
        .execute(&mut *conn)
        .await
        .map_err(Error::query(OP))?
        .rows_affected();
    }
    Ok(written)
}

async fn upsert_projects(
    conn: &mut PgConnection,
    org: &str,
    at: DateTime<Utc>,
    projects: &[ProjectRow],
) -> Result<u64> {
    const OP: &str = "apply projects";
    let projects = last_per_key(projects, |p| p.id.as_str());
    let mut written = 0;
    for chunk in projects.chunks(MAX_ROWS_PER_STATEMENT) {
        let id: Vec<Cow<str>> = chunk.iter().map(|p| without_nul(&p.id)).collect();
        let name: Vec<Cow<str>> = chunk.iter().map(|p| without_nul(&p.name)).collect();
        let state: Vec<Option<Cow<str>>> =
            chunk.iter().map(|p| opt_without_nul(&p.state)).collect();
        let visibility: Vec<Option<Cow<str>>> = chunk
            .iter()
            .map(|p| opt_without_nul(&p.visibility))
            .collect();
        let last_update_time: Vec<Option<DateTime<Utc>>> = chunk
            .iter()
            .map(|p| p.last_update_time.map(micros))
            .collect();
        let raw: Vec<Cow<str>> = chunk.iter().map(|p| json_without_nul(&p.raw)).collect();
        written += sqlx::query(
            "INSERT INTO projects AS t \
             (org, id, name, state, visibility, last_update_time, raw, synced_at) \
             SELECT $1, u.id, u.name, u.state, u.visibility, u.last_update_time, u.raw::jsonb, $2 \
             FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], \
             $8::text[]) AS u(id, name, state, visibility, last_update_time, raw) \
             ON CONFLICT (org, id) DO UPDATE SET name = excluded.name, state = excluded.state, \
             visibility = excluded.visibility, last_update_time = excluded.last_update_time, \
             raw = excluded.raw, synced_at = excluded.synced_at, \
             deleted_at = CASE WHEN excluded.synced_at > t.deleted_at THEN NULL \
             ELSE t.deleted_at END \
             WHERE excluded.synced_at >= t.synced_at \
             AND (excluded.last_update_time IS NULL OR t.last_update_time IS NULL \
             OR excluded.last_update_time >= t.last_update_time)",
        )
        .bind(org)
        .bind(at)
        .bind(id)
        .bind(name)
        .bind(state)
        .bind(visibility)
        .bind(last_update_time)
        .bind(raw)
        .execute(&mut *conn)
        .await
        .map_err(Error::query(OP))?
        .rows_affected();
    }
    Ok(written)
}

async fn upsert_repositories(
    conn: &mut PgConnection,
    org: &str,
    at: DateTime<Utc>,
    repositories: &[RepositoryRow],
) -> Result<u64> {
    const OP: &str = "apply repositories";
    let repositories = last_per_key(repositories, |r| r.id.as_str());
    let mut written = 0;
    for chunk in repositories.chunks(MAX_ROWS_PER_STATEMENT) {
        let id: Vec<Cow<str>> = chunk.iter().map(|r| without_nul(&r.id)).collect();
        let project_id: Vec<Cow<str>> = chunk.iter().map(|r| without_nul(&r.project_id)).collect();
        let name: Vec<Cow<str>> = chunk.iter().map(|r| without_nul(&r.name)).collect();
        let default_branch: Vec<Option<Cow<str>>> = chunk
            .iter()
            .map(|r| opt_without_nul(&r.default_branch))
            .collect();
        let size: Vec<Option<i64>> = chunk.iter().map(|r| r.size).collect();
        let is_disabled: Vec<bool> = chunk.iter().map(|r| r.is_disabled).collect();
        let raw: Vec<Cow<str>> = chunk.iter().map(|r| json_without_nul(&r.raw)).collect();
        written += sqlx::query(
            "INSERT INTO repositories AS t \
             (org, id, project_id, name, default_branch, size, is_disabled, raw, synced_at) \
             SELECT $1, u.id, u.project_id, u.name, u.default_branch, u.size, u.is_disabled, \
             u.raw::jsonb, $2 \
             FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[], $7::int8[], \
             $8::bool[], $9::text[]) \
             AS u(id, project_id, name, default_branch, size, is_disabled, raw) \
             ON CONFLICT (org, id) DO UPDATE SET project_id = excluded.project_id, \
             name = excluded.name, default_branch = excluded.default_branch, \
             size = excluded.size, is_disabled = excluded.is_disabled, raw = excluded.raw, \
             synced_at = excluded.synced_at, \
             deleted_at = CASE WHEN excluded.synced_at > t.deleted_at THEN NULL \
             ELSE t.deleted_at END \
             WHERE excluded.synced_at >= t.synced_at",
        )
        .bind(org)
        .bind(at)
        .bind(id)
        .bind(project_id)
        .bind(name)
        .bind(default_branch)
        .bind(size)
        .bind(is_disabled)
        .bind(raw)
        .execute(&mut *conn)
        .await
        .map_err(Error::query(OP))?
        .rows_affected();
    }
    Ok(written)
}

/// Upserts pull requests, then replaces the reviewer sets of those whose upsert took effect
/// (a stale observation changes neither the PR nor its reviewers).
async fn upsert_pull_requests(
    conn: &mut PgConnection,
    org: &str,
    at: DateTime<Utc>,
    pull_requests: &[PullRequestRow],
) -> Result<u64> {
    const OP: &str = "apply pull_requests";
    let prs = last_per_key(pull_requests, |p| p.id);
    let mut effective: HashSet<i64> = HashSet::with_capacity(prs.len());
    for chunk in prs.chunks(PR_ROWS_PER_STATEMENT) {
        let text = |f: fn(&PullRequestRow) -> &str| -> Vec<Cow<str>> {
            chunk.iter().map(|p| without_nul(f(p))).collect()
        };
        let opt_text = |f: fn(&PullRequestRow) -> &Option<String>| -> Vec<Option<Cow<str>>> {
            chunk.iter().map(|p| opt_without_nul(f(p))).collect()
        };
        let id: Vec<i64> = chunk.iter().map(|p| p.id).collect();
        let is_draft: Vec<bool> = chunk.iter().map(|p| p.is_draft).collect();
        let creation_date: Vec<DateTime<Utc>> =
            chunk.iter().map(|p| micros(p.creation_date)).collect();
        let closed_date: Vec<Option<DateTime<Utc>>> =
            chunk.iter().map(|p| p.closed_date.map(micros)).collect();
        let raw: Vec<Cow<str>> = chunk.iter().map(|p| json_without_nul(&p.raw)).collect();
        let ids: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO pull_requests AS t (org, id, repository_id, project_id, title, status, \
             is_draft, created_by_id, creation_date, closed_date, source_ref, target_ref, \
             merge_status, last_merge_source_commit, last_merge_commit, raw, synced_at) \
             SELECT $1, u.id, u.repository_id, u.project_id, u.title, u.status, u.is_draft, \
             u.created_by_id, u.creation_date, u.closed_date, u.source_ref, u.target_ref, \
             u.merge_status, u.last_merge_source_commit, u.last_merge_commit, u.raw::jsonb, $2 \
             FROM UNNEST($3::int8[], $4::text[], $5::text[], $6::text[], $7::text[], \
             $8::bool[], $9::text[], $10::timestamptz[], $11::timestamptz[], $12::text[], \
             $13::text[], $14::text[], $15::text[], $16::text[], $17::text[]) \
             AS u(id, repository_id, project_id, title, status, is_draft, created_by_id, \
             creation_date, closed_date, source_ref, target_ref, merge_status, \
             last_merge_source_commit, last_merge_commit, raw) \
             ON CONFLICT (org, id) DO UPDATE SET repository_id = excluded.repository_id, \
             project_id = excluded.project_id, title = excluded.title, status = excluded.status, \
             is_draft = excluded.is_draft, created_by_id = excluded.created_by_id, \
             creation_date = excluded.creation_date, closed_date = excluded.closed_date, \
             source_ref = excluded.source_ref, target_ref = excluded.target_ref, \
             merge_status = excluded.merge_status, \
             last_merge_source_commit = excluded.last_merge_source_commit, \
             last_merge_commit = excluded.last_merge_commit, raw = excluded.raw, \
             synced_at = excluded.synced_at \
             WHERE excluded.synced_at >= t.synced_at \
             RETURNING id",
        )
        .bind(org)
        .bind(at)
        .bind(id)
        .bind(text(|p| &p.repository_id))
        .bind(text(|p| &p.project_id))
        .bind(text(|p| &p.title))
        .bind(text(|p| &p.status))
        .bind(is_draft)
        .bind(opt_text(|p| &p.created_by_id))
        .bind(creation_date)
        .bind(closed_date)
        .bind(text(|p| &p.source_ref))
        .bind(text(|p| &p.target_ref))
        .bind(opt_text(|p| &p.merge_status))
        .bind(opt_text(|p| &p.last_merge_source_commit))
        .bind(opt_text(|p| &p.last_merge_commit))
        .bind(raw)
        .fetch_all(&mut *conn)
        .await
        .map_err(Error::query(OP))?;
        effective.extend(ids);
    }
    let mut written = effective.len() as u64;
    if effective.is_empty() {
        return Ok(written);
    }

    // Replace the reviewer sets of the PRs written above: delete the reviewer rows that are
    // not in the new sets, then upsert the new sets, writing only rows that changed (an
    // incremental sync re-reads every active PR, whose reviewers mostly did not change).
    const REVIEWERS: &str = "apply pull_request_reviewers";
    let written_prs: Vec<&PullRequestRow> = prs
        .into_iter()
        .filter(|p| effective.contains(&p.id))
        .collect();
    let ids: Vec<i64> = written_prs.iter().map(|p| p.id).collect();
    let reviewers: Vec<(i64, &ReviewerRow)> = written_prs
        .iter()
        .flat_map(|p| reviewers_of(p).into_iter().map(|r| (p.id, r)))
        .collect();
    let pair_pr: Vec<i64> = reviewers.iter().map(|(id, _)| *id).collect();
    let pair_reviewer: Vec<Cow<str>> = reviewers
        .iter()
        .map(|(_, r)| without_nul(&r.reviewer_id))
        .collect();
    sqlx::query(
        "DELETE FROM pull_request_reviewers AS t \
         WHERE t.org = $1 AND t.pull_request_id = ANY($2::int8[]) \
         AND NOT EXISTS (SELECT 1 FROM UNNEST($3::int8[], $4::text[]) AS n(pr, reviewer) \
         WHERE n.pr = t.pull_request_id AND n.reviewer = t.reviewer_id)",
    )
    .bind(org)
    .bind(ids)
    .bind(&pair_pr)
    .bind(&pair_reviewer)
    .execute(&mut *conn)
    .await
    .map_err(Error::query(REVIEWERS))?;

    for (start, chunk) in reviewers
        .chunks(MAX_ROWS_PER_STATEMENT * 4)
        .enumerate()
        .map(|(i, c)| (i * MAX_ROWS_PER_STATEMENT * 4, c))
    {
        let end = start + chunk.len();
        let vote: Vec<i32> = chunk.iter().map(|(_, r)| r.vote).collect();
        let is_required: Vec<bool> = chunk.iter().map(|(_, r)| r.is_required).collect();
        let has_declined: Vec<bool> = chunk.iter().map(|(_, r)| r.has_declined).collect();
        written += sqlx::query(
            "INSERT INTO pull_request_reviewers AS t \
             (org, pull_request_id, reviewer_id, vote, is_required, has_declined) \
             SELECT $1, u.* FROM UNNEST($2::int8[], $3::text[], $4::int4[], $5::bool[], \
             $6::bool[]) AS u \
             ON CONFLICT (org, pull_request_id, reviewer_id) DO UPDATE SET \
             vote = excluded.vote, is_required = excluded.is_required, \
             has_declined = excluded.has_declined \
             WHERE (t.vote, t.is_required, t.has_declined) \
             IS DISTINCT FROM (excluded.vote, excluded.is_required, excluded.has_declined)",
        )
        .bind(org)
        .bind(&pair_pr[start..end])
        .bind(&pair_reviewer[start..end])
        .bind(vote)
        .bind(is_required)
        .bind(has_declined)
        .execute(&mut *conn)
        .await
        .map_err(Error::query(REVIEWERS))?
        .rows_affected();
    }
    Ok(written)
}

/// Stamps `deleted_at = at` on the listed rows of a table that are not marked deleted yet and
/// whose stored observation is not newer than this deletion signal.
async fn mark_deleted(
    conn: &mut PgConnection,
    op: &'static str,
    sql: &'static str,
    org: &str,
    at: DateTime<Utc>,
    ids: &[String],
) -> Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(sqlx::query(sql)
        .bind(org)
        .bind(at)
        .bind(ids)
        .execute(&mut *conn)
        .await
        .map_err(Error::query(op))?
        .rows_affected())
}

async fn upsert_cursor(
    conn: &mut PgConnection,
    org: &str,
    at: DateTime<Utc>,
    cursor: &CursorUpdate,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sync_cursors (org, connector, scope, value, updated_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (org, connector, scope) DO UPDATE \
         SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(org)
    .bind(without_nul(&cursor.connector))
    .bind(without_nul(&cursor.scope))
    .bind(without_nul(&cursor.value))
    .bind(at)
    .execute(&mut *conn)
    .await
    .map_err(Error::query("apply cursor"))?;
    Ok(())
}

/// Reads column `name` of a row; `op` names the operation for the error.
fn get<'r, T>(row: &'r PgRow, op: &'static str, name: &str) -> Result<T>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(name).map_err(Error::query(op))
}

fn project_from(row: &PgRow) -> Result<StoredProject> {
    const OP: &str = "read projects";
    Ok(StoredProject {
        row: ProjectRow {
            id: get(row, OP, "id")?,
            name: get(row, OP, "name")?,
            state: get(row, OP, "state")?,
            visibility: get(row, OP, "visibility")?,
            last_update_time: get(row, OP, "last_update_time")?,
            raw: get(row, OP, "raw")?,
        },
        deleted_at: get(row, OP, "deleted_at")?,
    })
}

fn repository_from(row: &PgRow) -> Result<StoredRepository> {
    const OP: &str = "read repositories";
    Ok(StoredRepository {
        row: RepositoryRow {
            id: get(row, OP, "id")?,
            project_id: get(row, OP, "project_id")?,
            name: get(row, OP, "name")?,
            default_branch: get(row, OP, "default_branch")?,
            size: get(row, OP, "size")?,
            is_disabled: get(row, OP, "is_disabled")?,
            raw: get(row, OP, "raw")?,
        },
        deleted_at: get(row, OP, "deleted_at")?,
    })
}

fn pull_request_from(row: &PgRow) -> Result<PullRequestRow> {
    const OP: &str = "read pull_requests";
    Ok(PullRequestRow {
        id: get(row, OP, "id")?,
        repository_id: get(row, OP, "repository_id")?,
        project_id: get(row, OP, "project_id")?,
        title: get(row, OP, "title")?,
        status: get(row, OP, "status")?,
        is_draft: get(row, OP, "is_draft")?,
        created_by_id: get(row, OP, "created_by_id")?,
        creation_date: get(row, OP, "creation_date")?,
        closed_date: get(row, OP, "closed_date")?,
        source_ref: get(row, OP, "source_ref")?,
        target_ref: get(row, OP, "target_ref")?,
        merge_status: get(row, OP, "merge_status")?,
        last_merge_source_commit: get(row, OP, "last_merge_source_commit")?,
        last_merge_commit: get(row, OP, "last_merge_commit")?,
        raw: get(row, OP, "raw")?,
        reviewers: Vec::new(),
    })
}

fn run_from(row: &PgRow) -> Result<RunRecord> {
    const OP: &str = "read sync_runs";
    Ok(RunRecord {
        id: get(row, OP, "id")?,
        connector: get(row, OP, "connector")?,
        mode: get(row, OP, "mode")?,
        started_at: get(row, OP, "started_at")?,
        finished_at: get(row, OP, "finished_at")?,
        outcome: get(row, OP, "outcome")?,
        error: get(row, OP, "error")?,
        requests: get(row, OP, "requests")?,
        rows: get(row, OP, "rows")?,
    })
}

impl Store for PgStore {
    async fn migrate(&self) -> Result<()> {
        // sqlx takes an advisory lock, so replicas starting together migrate one at a time.
        sqlx::migrate!("./migrations/postgres")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    async fn apply(&self, org: &str, batch: &Batch) -> Result<u64> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(Error::query("begin apply"))?;
        let at = micros(batch.observed_at);
        let mut written = 0;
        written += upsert_projects(&mut tx, org, at, &batch.projects).await?;
        written += upsert_repositories(&mut tx, org, at, &batch.repositories).await?;
        written += upsert_pull_requests(&mut tx, org, at, &batch.pull_requests).await?;
        written += mark_deleted(
            &mut tx,
            "apply deleted repositories",
            "UPDATE repositories SET deleted_at = $2 \
             WHERE org = $1 AND id = ANY($3::text[]) AND deleted_at IS NULL AND synced_at <= $2",
            org,
            at,
            &batch.deleted_repositories,
        )
        .await?;
        written += mark_deleted(
            &mut tx,
            "apply deleted projects",
            "UPDATE projects SET deleted_at = $2 \
             WHERE org = $1 AND id = ANY($3::text[]) AND deleted_at IS NULL AND synced_at <= $2",
            org,
            at,
            &batch.deleted_projects,
        )
        .await?;
        // Users late in the transaction: every page of every project upserts the same people,
        // and a row lock taken here is held until the commit, so concurrent pages queue on
        // these rows for as short a time as possible (first, they held them for the whole page
        // and serialized the pages).
        written += upsert_users(&mut tx, org, at, &batch.users).await?;
        written += apply_boards(&mut tx, org, at, batch).await?;
        if let Some(cursor) = &batch.cursor {
            upsert_cursor(&mut tx, org, at, cursor).await?;
        }
        tx.commit().await.map_err(Error::query("commit apply"))?;
        Ok(written)
    }

    async fn cursor(&self, org: &str, connector: &str, scope: &str) -> Result<Option<String>> {
        sqlx::query_scalar(
            "SELECT value FROM sync_cursors WHERE org = $1 AND connector = $2 AND scope = $3",
        )
        .bind(org)
        .bind(connector)
        .bind(scope)
        .fetch_optional(&self.pool)
        .await
        .map_err(Error::query("read cursor"))
    }

    async fn live_repository_ids(&self, org: &str, project_id: &str) -> Result<Vec<String>> {
        sqlx::query_scalar(
            "SELECT id FROM repositories \
             WHERE org = $1 AND project_id = $2 AND deleted_at IS NULL ORDER BY id COLLATE \"C\"",
        )
        .bind(org)
        .bind(project_id)
        .fetch_all(&self.pool)
        .await
        .map_err(Error::query("read live repository ids"))
    }

    async fn live_project_ids(&self, org: &str) -> Result<Vec<String>> {
        sqlx::query_scalar(
            "SELECT id FROM projects WHERE org = $1 AND deleted_at IS NULL \
             ORDER BY id COLLATE \"C\"",
        )
        .bind(org)
        .fetch_all(&self.pool)
        .await
        .map_err(Error::query("read live project ids"))
    }

    async fn start_run(
        &self,
        org: &str,
        connector: &str,
        mode: &str,
        started_at: DateTime<Utc>,
    ) -> Result<i64> {
        sqlx::query_scalar(
            "INSERT INTO sync_runs (org, connector, mode, started_at, outcome) \
             VALUES ($1, $2, $3, $4, 'running') RETURNING id",
        )
        .bind(org)
        .bind(connector)
        .bind(mode)
        .bind(micros(started_at))
        .fetch_one(&self.pool)
        .await
        .map_err(Error::query("start run"))
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
        sqlx::query(
            "UPDATE sync_runs SET outcome = $2, error = $3, requests = $4, rows = $5, \
             finished_at = $6 WHERE id = $1",
        )
        .bind(run_id)
        .bind(outcome)
        .bind(error.map(without_nul))
        .bind(requests)
        .bind(rows)
        .bind(micros(finished_at))
        .execute(&self.pool)
        .await
        .map_err(Error::query("finish run"))?;
        Ok(())
    }

    async fn last_run(&self, org: &str, connector: &str, mode: &str) -> Result<Option<RunRecord>> {
        let row = sqlx::query(
            "SELECT id, connector, mode, started_at, finished_at, outcome, error, requests, rows \
             FROM sync_runs WHERE org = $1 AND connector = $2 AND mode = $3 \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(org)
        .bind(connector)
        .bind(mode)
        .fetch_optional(&self.pool)
        .await
        .map_err(Error::query("read last run"))?;
        row.as_ref().map(run_from).transpose()
    }

    async fn table_counts(&self) -> Result<Vec<(String, i64)>> {
        let sql = COUNTED_TABLES
            .iter()
            .map(|t| format!("(SELECT COUNT(*) FROM {t})"))
            .collect::<Vec<_>>()
            .join(", ");
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {sql}")))
            .fetch_one(&self.pool)
            .await
            .map_err(Error::query("count rows"))?;
        COUNTED_TABLES
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let n: i64 = row.try_get(i).map_err(Error::query("count rows"))?;
                Ok((t.to_string(), n))
            })
            .collect()
    }

    async fn projects(&self, org: &str) -> Result<Vec<StoredProject>> {
        let rows = sqlx::query(
            "SELECT id, name, state, visibility, last_update_time, raw::text AS raw, deleted_at \
             FROM projects WHERE org = $1 ORDER BY id COLLATE \"C\"",
        )
        .bind(org)
        .fetch_all(&self.pool)
        .await
        .map_err(Error::query("read projects"))?;
        rows.iter().map(project_from).collect()
    }

    async fn repositories(&self, org: &str) -> Result<Vec<StoredRepository>> {
        let rows = sqlx::query(
            "SELECT id, project_id, name, default_branch, size, is_disabled, raw::text AS raw, \
             deleted_at FROM repositories WHERE org = $1 ORDER BY id COLLATE \"C\"",
        )
        .bind(org)
        .fetch_all(&self.pool)
        .await
        .map_err(Error::query("read repositories"))?;
        rows.iter().map(repository_from).collect()
    }

    async fn pull_requests(&self, org: &str) -> Result<Vec<PullRequestRow>> {
        // PRs and reviewers from one snapshot.
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(Error::query("read pull_requests"))?;
        let rows = sqlx::query(
            "SELECT id, repository_id, project_id, title, status, is_draft, created_by_id, \
             creation_date, closed_date, source_ref, target_ref, merge_status, \
             last_merge_source_commit, last_merge_commit, raw::text AS raw \
             FROM pull_requests WHERE org = $1 ORDER BY id",
        )
        .bind(org)
        .fetch_all(&mut *tx)
        .await
        .map_err(Error::query("read pull_requests"))?;
        let mut prs = rows
            .iter()
            .map(pull_request_from)
            .collect::<Result<Vec<_>>>()?;
        let reviewers: Vec<(i64, String, i32, bool, bool)> = sqlx::query_as(
            "SELECT pull_request_id, reviewer_id, vote, is_required, has_declined \
             FROM pull_request_reviewers WHERE org = $1 \
             ORDER BY pull_request_id, reviewer_id COLLATE \"C\"",
        )
        .bind(org)
        .fetch_all(&mut *tx)
        .await
        .map_err(Error::query("read pull_request_reviewers"))?;
        tx.commit()
            .await
            .map_err(Error::query("read pull_requests"))?;
        attach_reviewers(
            &mut prs,
            reviewers
                .into_iter()
                .map(|(pr, reviewer_id, vote, is_required, has_declined)| {
                    (
                        pr,
                        ReviewerRow {
                            reviewer_id,
                            vote,
                            is_required,
                            has_declined,
                        },
                    )
                }),
        );
        Ok(prs)
    }

    async fn users(&self, org: &str) -> Result<Vec<UserRow>> {
        let rows: Vec<(String, Option<String>, Option<String>, bool)> = sqlx::query_as(
            "SELECT id, display_name, unique_name, is_container FROM users \
             WHERE org = $1 ORDER BY id COLLATE \"C\"",
        )
        .bind(org)
        .fetch_all(&self.pool)
        .await
        .map_err(Error::query("read users"))?;
        Ok(rows
            .into_iter()
            .map(|(id, display_name, unique_name, is_container)| UserRow {
                id,
                display_name,
                unique_name,
                is_container,
            })
            .collect())
    }

    // Boards (implemented in the Boards section below) -------------------------------------

    async fn live_work_item_ids(&self, org: &str, project: &str) -> Result<Vec<i64>> {
        sqlx::query_scalar(
            "SELECT id FROM work_items \
             WHERE org = $1 AND project = $2 AND deleted_at IS NULL ORDER BY id",
        )
        .bind(org)
        .bind(project)
        .fetch_all(&self.pool)
        .await
        .map_err(Error::query("read live work item ids"))
    }

    async fn work_items(&self, org: &str) -> Result<Vec<StoredWorkItem>> {
        self.boards_work_items(org).await
    }

    async fn work_item_revisions(&self, org: &str) -> Result<Vec<WorkItemRevisionRow>> {
        read_all(
            &self.pool,
            "read work_item_revisions",
            "SELECT id, rev, changed_date, changed_by, state, assigned_to, iteration_path, \
             fields::text AS fields FROM work_item_revisions WHERE org = $1 ORDER BY id, rev",
            org,
            revision_from,
        )
        .await
    }

    async fn work_item_links(&self, org: &str) -> Result<Vec<WorkItemLinkRow>> {
        read_all(
            &self.pool,
            "read work_item_links",
            "SELECT source_id, target_id, rel, is_active, changed_date, raw::text AS raw \
             FROM work_item_links WHERE org = $1 \
             ORDER BY source_id, target_id, rel COLLATE \"C\"",
            org,
            link_from,
        )
        .await
    }

    async fn teams(&self, org: &str) -> Result<Vec<StoredTeam>> {
        read_all(
            &self.pool,
            "read teams",
            "SELECT id, project_id, name, description, raw::text AS raw, deleted_at FROM teams \
             WHERE org = $1 ORDER BY id COLLATE \"C\"",
            org,
            team_from,
        )
        .await
    }

    async fn team_members(&self, org: &str) -> Result<Vec<TeamMembers>> {
        self.boards_team_members(org).await
    }

    async fn user_profiles(&self, org: &str) -> Result<Vec<UserProfile>> {
        read_all(
            &self.pool,
            "read users",
            "SELECT id, display_name, unique_name, is_container, mail_address, descriptor, \
             origin, origin_id, subject_kind FROM users WHERE org = $1 ORDER BY id COLLATE \"C\"",
            org,
            user_profile_from,
        )
        .await
    }

    async fn iterations(&self, org: &str) -> Result<Vec<StoredNode>> {
        read_all(
            &self.pool,
            "read iterations",
            "SELECT project_id, id, identifier, name, path, parent_path, depth, start_date, \
             finish_date, raw::text AS raw, deleted_at FROM iterations WHERE org = $1 ORDER BY id",
            org,
            |row| node_from(row, "read iterations", true),
        )
        .await
    }

    async fn areas(&self, org: &str) -> Result<Vec<StoredNode>> {
        read_all(
            &self.pool,
            "read areas",
            "SELECT project_id, id, identifier, name, path, parent_path, depth, \
             raw::text AS raw, deleted_at FROM areas WHERE org = $1 ORDER BY id",
            org,
            |row| node_from(row, "read areas", false),
        )
        .await
    }

    async fn work_item_types(&self, org: &str) -> Result<Vec<StoredWorkItemType>> {
        self.boards_work_item_types(org).await
    }

    async fn work_item_fields(&self, org: &str) -> Result<Vec<WorkItemFieldRow>> {
        read_all(
            &self.pool,
            "read work_item_fields",
            "SELECT reference_name, name, type, read_only, is_identity, raw::text AS raw \
             FROM work_item_fields WHERE org = $1 ORDER BY reference_name COLLATE \"C\"",
            org,
            field_from,
        )
        .await
    }
}

// =============================================================================================
// Boards: users from identities and the Graph, teams and members, the planning structure
// (iterations, areas, types with states, fields), work items, revisions and links. Called from
// `apply` (in its transaction) and from the Boards read methods of the `Store` impl. Same
// semantics as the SQLite section, with one `UNNEST` statement per table and chunk.

fn texts<'a, T: 'a>(rows: &[&'a T], f: impl Fn(&'a T) -> &'a str) -> Vec<Cow<'a, str>> {
    rows.iter().map(|r| without_nul(f(r))).collect()
}

fn opt_texts<'a, T: 'a>(
    rows: &[&'a T],
    f: impl Fn(&'a T) -> Option<&'a str>,
) -> Vec<Option<Cow<'a, str>>> {
    rows.iter().map(|r| f(r).map(without_nul)).collect()
}

fn raws<'a, T: 'a>(rows: &[&'a T], f: impl Fn(&'a T) -> &'a str) -> Vec<Cow<'a, str>> {
    rows.iter().map(|r| json_without_nul(f(r))).collect()
}

fn times<T>(rows: &[&T], f: impl Fn(&T) -> Option<DateTime<Utc>>) -> Vec<Option<DateTime<Utc>>> {
    rows.iter().map(|r| f(r).map(micros)).collect()
}

/// Writes every Boards part of `batch`; `at` is `batch.observed_at` as stored.
async fn apply_boards(
    conn: &mut PgConnection,
    org: &str,
    at: DateTime<Utc>,
    batch: &Batch,
) -> Result<u64> {
    let mut written = 0;
    written += upsert_identities(conn, org, at, &batch.identities).await?;
    written += upsert_graph_users(conn, org, at, &batch.graph_users).await?;
    for refresh in &batch.teams {
        written += refresh_teams(conn, org, at, refresh).await?;
    }
    written += replace_team_members(conn, org, at, &batch.team_members).await?;
    for planning in &batch.planning {
        if let Some(nodes) = &planning.iterations {
            written += refresh_nodes(conn, NodeTable::Iterations, org, at, planning, nodes).await?;
        }
        if let Some(nodes) = &planning.areas {
            written += refresh_nodes(conn, NodeTable::Areas, org, at, planning, nodes).await?;
        }
        if let Some(types) = &planning.work_item_types {
            written += refresh_types(conn, org, at, &planning.project_id, types).await?;
        }
    }
    if let Some(fields) = &batch.work_item_fields {
        written += refresh_fields(conn, org, at, fields).await?;
    }
    written += upsert_work_items(conn, org, at, batch.observed_at, &batch.work_items).await?;
    written += insert_revisions(conn, org, at, &batch.work_item_revisions).await?;
    written += upsert_links(conn, org, at, &batch.work_item_links).await?;
    written += mark_work_items_deleted(conn, org, at, &batch.deleted_work_items).await?;
    written += mark_work_items_restored(conn, org, at, &batch.restored_work_items).await?;
    Ok(written)
}

/// Upserts people by identity id, then merges Graph rows stored under one of their
/// descriptors (see [`GraphUserRow`]) into them.
async fn upsert_identities(
    conn: &mut PgConnection,
    org: &str,
    at: DateTime<Utc>,
    rows: &[IdentityRow],
) -> Result<u64> {
    const OP: &str = "apply identities";
    let rows = last_per_key(rows, |u| u.id.as_str());
    let mut written = 0;
    for chunk in rows.chunks(MAX_ROWS_PER_STATEMENT) {
        let is_container: Vec<bool> = chunk.iter().map(|u| u.is_container).collect();
        written += sqlx::query(
            "INSERT INTO users AS t \
             (org, id, display_name, unique_name, is_container, descriptor, synced_at) \
             SELECT $1, u.id, u.display_name, u.unique_name, u.is_container, u.descriptor, $2 \
             FROM UNNEST($3::text[], $4::text[], $5::text[], $6::bool[], $7::text[]) \
             AS u(id, display_name, unique_name, is_container, descriptor) \
             ON CONFLICT (org, id) DO UPDATE SET display_name = excluded.display_name, \
             unique_name = excluded.unique_name, is_container = excluded.is_container, \
             descriptor = COALESCE(excluded.descriptor, t.descriptor), \
             synced_at = excluded.synced_at \
             WHERE excluded.synced_at >= t.synced_at",
        )
        .bind(org)
        .bind(at)
        .bind(texts(chunk, |u| &u.id))
        .bind(opt_texts(chunk, |u| u.display_name.as_deref()))
        .bind(opt_texts(chunk, |u| u.unique_name.as_deref()))
        .bind(is_container)
        .bind(opt_texts(chunk, |u| u.descriptor.as_deref()))
        .execute(&mut *conn)
        .await
        .map_err(Error::query(OP))?
        .rows_affected();
    }
    let descriptors: Vec<Cow<str>> = rows
        .iter()
        .filter_map(|u| u.descriptor.as_deref().map(without_nul))
        .collect();
    if descriptors.is_empty() {
        return Ok(written);
    }
    sqlx::query(
        "UPDATE users AS v SET mail_address = COALESCE(v.mail_address, g.mail_address), \
         origin = COALESCE(v.origin, g.origin), origin_id = COALESCE(v.origin_id, g.origin_id), \
         subject_kind = COALESCE(v.subject_kind, g.subject_kind) \
         FROM users AS g \
         WHERE v.org = $1 AND g.org = $1 AND g.id = g.descriptor AND v.descriptor = g.descriptor \
         AND v.id <> g.id AND g.descriptor = ANY($2::text[])",
    )
    .bind(org)
    .bind(&descriptors)
    .execute(&mut *conn)
    .await
    .map_err(Error::query(OP))?;
    sqlx::query(
        "DELETE FROM users AS g WHERE g.org = $1 AND g.id = g.descriptor \
         AND g.descriptor = ANY($2::text[]) \
         AND EXISTS (SELECT 1 FROM users AS v \
         WHERE v.org = $1 AND v.descriptor = g.descriptor AND v.id <> g.id)",
    )
    .bind(org)
    .bind(&descriptors)
    .execute(&mut *conn)
    .await
    .map_err(Error::query(OP))?;
    Ok(written)
}

/// Updates the `users` rows that carry a Graph user's descriptor; stores the others under
/// `id = descriptor`.
async fn upsert_graph_users(
    conn: &mut PgConnection,
    org: &str,
    at: DateTime<Utc>,
    rows: &[GraphUserRow],
) -> Result<u64> {
    const OP: &str = "apply graph users";
    const UPDATE: &str = "UPDATE users AS t SET display_name = g.display_name, \
         unique_name = g.unique_name, is_container = g.is_container, \
         mail_address = g.mail_address, origin = g.origin, origin_id = g.origin_id, \
         subject_kind = g.subject_kind, synced_at = $2 \
         FROM UNNEST($3::text[], $4::text[], $5::text[], $6::bool[], $7::text[], $8::text[], \
         $9::text[], $10::text[]) AS g(descriptor, display_name, unique_name, is_container, \
         mail_address, origin, origin_id, subject_kind) \
         WHERE t.org = $1 AND t.descriptor = g.descriptor AND t.synced_at <= $2";
    const INSERT: &str = "INSERT INTO users (org, id, display_name, unique_name, is_container, \
         mail_address, descriptor, origin, origin_id, subject_kind, synced_at) \
         SELECT $1, g.descriptor, g.display_name, g.unique_name, g.is_container, \
         g.mail_address, g.descriptor, g.origin, g.origin_id, g.subject_kind, $2 \
         FROM UNNEST($3::text[], $4::text[], $5::text[], $6::bool[], $7::text[], $8::text[], \
         $9::text[], $10::text[]) AS g(descriptor, display_name, unique_name, is_container, \
         mail_address, origin, origin_id, subject_kind) \
         WHERE NOT EXISTS (SELECT 1 FROM users AS u \
         WHERE u.org = $1 AND u.descriptor = g.descriptor) \
         ON CONFLICT (org, id) DO NOTHING";
    let rows = last_per_key(rows, |u| u.descriptor.as_str());
    let mut written = 0;
    for chunk in rows.chunks(MAX_ROWS_PER_STATEMENT) {
        for sql in [UPDATE, INSERT] {
            let is_container: Vec<bool> = chunk
                .iter()
                .map(|u| u.subject_kind.as_deref() == Some("group"))
                .collect();
            written += sqlx::query(sql)
                .bind(org)
                .bind(at)
                .bind(texts(chunk, |u| &u.descriptor))
                .bind(opt_texts(chunk, |u| u.display_name.as_deref()))
                .bind(opt_texts(chunk, |u| u.principal_name.as_deref()))
                .bind(is_container)
                .bind(opt_texts(chunk, |u| u.mail_address.as_deref()))
                .bind(opt_texts(chunk, |u| u.origin.as_deref()))
                .bind(opt_texts(chunk, |u| u.origin_id.as_deref()))
                .bind(opt_texts(chunk, |u| u.subject_kind.as_deref()))
                .execute(&mut *conn)
                .await
                .map_err(Error::query(OP))?
                .rows_affected();
        }
    }
    Ok(written)
}

/// Upserts a project's teams and stamps `deleted_at` on its stored teams that are missing.
async fn refresh_teams(
    conn: &mut PgConnection,
    org: &str,
    at: DateTime<Utc>,
    refresh: &TeamsRefresh,
) -> Result<u64> {
    const OP: &str = "apply teams";
    let teams = last_per_key(&refresh.teams, |t| t.id.as_str());
    let mut written = 0;
    for chunk in teams.chunks(MAX_ROWS_PER_STATEMENT) {
        written += sqlx::query(
            "INSERT INTO teams AS t (org, id, project_id, name, description, raw, synced_at) \
             SELECT $1, u.id, u.project_id, u.name, u.description, u.raw::jsonb, $2 \
             FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) \
             AS u(id, project_id, name, description, raw) \
             ON CONFLICT (org, id) DO UPDATE SET project_id = excluded.project_id, \
             name = excluded.name, description = excluded.description, raw = excluded.raw, \
             synced_at = excluded.synced_at, \
             deleted_at = CASE WHEN excluded.synced_at > t.deleted_at THEN NULL \
             ELSE t.deleted_at END \
             WHERE excluded.synced_at >= t.synced_at",
        )
        .bind(org)
        .bind(at)
        .bind(texts(chunk, |t| &t.id))
        .bind(texts(chunk, |t| &t.project_id))
        .bind(texts(chunk, |t| &t.name))
        .bind(opt_texts(chunk, |t| t.description.as_deref()))
        .bind(raws(chunk, |t| &t.raw))
        .execute(&mut *conn)
        .await
        .map_err(Error::query(OP))?
        .rows_affected();
    }
    written += sqlx::query(
        "UPDATE teams SET deleted_at = $2 \
         WHERE org = $1 AND project_id = $3 AND deleted_at IS NULL AND synced_at <= $2 \
         AND NOT (id = ANY($4::text[]))",
    )
    .bind(org)
    .bind(at)
    .bind(without_nul(&refresh.project_id))
    .bind(texts(&teams, |t| &t.id))
    .execute(&mut *conn)
    .await
    .map_err(Error::query(OP))?
    .rows_affected();
    Ok(written)
}

/// Replaces the member sets of the listed teams, except those whose stored set was observed
/// later than this batch.
async fn replace_team_members(
    conn: &mut PgConnection,
    org: &str,
    at: DateTime<Utc>,
    sets: &[TeamMembers],
) -> Result<u64> {
    const OP: &str = "apply team_members";
    let sets = last_per_key(sets, |s| s.team_id.as_str());
    if sets.is_empty() {
        return Ok(0);
    }
    let newer: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT team_id FROM team_members \
         WHERE org = $1 AND synced_at > $2 AND team_id = ANY($3::text[])",
    )
    .bind(org)
    .bind(at)
    .bind(texts(&sets, |s| &s.team_id))
    .fetch_all(&mut *conn)
    .await
    .map_err(Error::query(OP))?;
    let newer: HashSet<String> = newer.into_iter().collect();
    let sets: Vec<&TeamMembers> = sets
        .into_iter()
        .filter(|s| !newer.contains(without_nul(&s.team_id).as_ref()))
        .collect();
    sqlx::query("DELETE FROM team_members WHERE org = $1 AND team_id = ANY($2::text[])")
        .bind(org)
        .bind(texts(&sets, |s| &s.team_id))
        .execute(&mut *conn)
        .await
        .map_err(Error::query(OP))?;
    let members: Vec<(&str, &TeamMemberRow)> = sets
        .iter()
        .flat_map(|s| {
            last_per_key(&s.members, |m| m.user_id.as_str())
                .into_iter()
                .map(|m| (s.team_id.as_str(), m))
        })
        .collect();
    let mut written = 0;
    for chunk in members.chunks(MAX_ROWS_PER_STATEMENT) {
        let team_id: Vec<Cow<str>> = chunk.iter().map(|(t, _)| without_nul(t)).collect();
        let user_id: Vec<Cow<str>> = chunk.iter().map(|(_, m)| without_nul(&m.user_id)).collect();
        let is_team_admin: Vec<bool> = chunk.iter().map(|(_, m)| m.is_team_admin).collect();
        written += sqlx::query(
            "INSERT INTO team_members (org, team_id, user_id, is_team_admin, synced_at) \
             SELECT $1, u.team_id, u.user_id, u.is_team_admin, $2 \
             FROM UNNEST($3::text[], $4::text[], $5::bool[]) \
             AS u(team_id, user_id, is_team_admin) \
             ON CONFLICT (org, team_id, user_id) DO UPDATE SET \
             is_team_admin = excluded.is_team_admin, synced_at = excluded.synced_at",
        )
        .bind(org)
        .bind(at)
        .bind(team_id)
        .bind(user_id)
        .bind(is_team_admin)
        .execute(&mut *conn)
        .await
        .map_err(Error::query(OP))?
        .rows_affected();
    }
    Ok(written)
}

/// The two classification tables: same shape, iterations also have dates.
#[derive(Clone, Copy)]
enum NodeTable {
    Iterations,
    Areas,
}

/// Upserts a project's nodes and stamps `deleted_at` on its stored nodes that are missing.
async fn refresh_nodes(
    conn: &mut PgConnection,
    table: NodeTable,
    org: &str,
    at: DateTime<Utc>,
    planning: &PlanningRefresh,
    nodes: &[ClassificationNodeRow],
) -> Result<u64> {
    let (op, upsert, mark) = match table {
        NodeTable::Iterations => (
            "apply iterations",
            "INSERT INTO iterations AS t (org, project_id, id, identifier, name, path, \
             parent_path, depth, start_date, finish_date, raw, synced_at) \
             SELECT $1, $3, u.id, u.identifier, u.name, u.path, u.parent_path, u.depth, \
             u.start_date, u.finish_date, u.raw::jsonb, $2 \
             FROM UNNEST($4::int8[], $5::text[], $6::text[], $7::text[], $8::text[], \
             $9::int4[], $10::text[], $11::timestamptz[], $12::timestamptz[]) \
             AS u(id, identifier, name, path, parent_path, depth, raw, start_date, finish_date) \
             ON CONFLICT (org, id) DO UPDATE SET project_id = excluded.project_id, \
             identifier = excluded.identifier, name = excluded.name, path = excluded.path, \
             parent_path = excluded.parent_path, depth = excluded.depth, \
             start_date = excluded.start_date, finish_date = excluded.finish_date, \
             raw = excluded.raw, synced_at = excluded.synced_at, \
             deleted_at = CASE WHEN excluded.synced_at > t.deleted_at THEN NULL \
             ELSE t.deleted_at END \
             WHERE excluded.synced_at >= t.synced_at",
            "UPDATE iterations SET deleted_at = $2 \
             WHERE org = $1 AND project_id = $3 AND deleted_at IS NULL AND synced_at <= $2 \
             AND NOT (id = ANY($4::int8[]))",
        ),
        NodeTable::Areas => (
            "apply areas",
            "INSERT INTO areas AS t (org, project_id, id, identifier, name, path, \
             parent_path, depth, raw, synced_at) \
             SELECT $1, $3, u.id, u.identifier, u.name, u.path, u.parent_path, u.depth, \
             u.raw::jsonb, $2 \
             FROM UNNEST($4::int8[], $5::text[], $6::text[], $7::text[], $8::text[], \
             $9::int4[], $10::text[]) \
             AS u(id, identifier, name, path, parent_path, depth, raw) \
             ON CONFLICT (org, id) DO UPDATE SET project_id = excluded.project_id, \
             identifier = excluded.identifier, name = excluded.name, path = excluded.path, \
             parent_path = excluded.parent_path, depth = excluded.depth, \
             raw = excluded.raw, synced_at = excluded.synced_at, \
             deleted_at = CASE WHEN excluded.synced_at > t.deleted_at THEN NULL \
             ELSE t.deleted_at END \
             WHERE excluded.synced_at >= t.synced_at",
            "UPDATE areas SET deleted_at = $2 \
             WHERE org = $1 AND project_id = $3 AND deleted_at IS NULL AND synced_at <= $2 \
             AND NOT (id = ANY($4::int8[]))",
        ),
    };
    let dated = matches!(table, NodeTable::Iterations);
    let nodes = last_per_key(nodes, |n| n.id);
    let project_id = without_nul(&planning.project_id);
    let mut written = 0;
    for chunk in nodes.chunks(MAX_ROWS_PER_STATEMENT) {
        let id: Vec<i64> = chunk.iter().map(|n| n.id).collect();
        let depth: Vec<i32> = chunk.iter().map(|n| n.depth).collect();
        let mut query = sqlx::query(upsert)
            .bind(org)
            .bind(at)
            .bind(project_id.as_ref())
            .bind(id)
            .bind(opt_texts(chunk, |n| n.identifier.as_deref()))
            .bind(texts(chunk, |n| &n.name))
            .bind(texts(chunk, |n| &n.path))
            .bind(opt_texts(chunk, |n| n.parent_path.as_deref()))
            .bind(depth)
            .bind(raws(chunk, |n| &n.raw));
        if dated {
            query = query
                .bind(times(chunk, |n| n.start_date))
                .bind(times(chunk, |n| n.finish_date));
        }
        written += query
            .execute(&mut *conn)
            .await
            .map_err(Error::query(op))?
            .rows_affected();
    }
    let ids: Vec<i64> = nodes.iter().map(|n| n.id).collect();
    written += sqlx::query(mark)
        .bind(org)
        .bind(at)
        .bind(project_id.as_ref())
        .bind(ids)
        .execute(&mut *conn)
        .await
        .map_err(Error::query(op))?
        .rows_affected();
    Ok(written)
}

/// Replaces a project's work item types and their states.
async fn refresh_types(
    conn: &mut PgConnection,
    org: &str,
    at: DateTime<Utc>,
    project_id: &str,
    types: &[WorkItemTypeRow],
) -> Result<u64> {
    const OP: &str = "apply work_item_types";
    const STATES: &str = "apply work_item_type_states";
    let types = last_per_key(types, |t| t.name.as_str());
    let project_id = without_nul(project_id);
    let mut written = 0;
    for chunk in types.chunks(MAX_ROWS_PER_STATEMENT) {
        let is_disabled: Vec<bool> = chunk.iter().map(|t| t.is_disabled).collect();
        written += sqlx::query(
            "INSERT INTO work_item_types AS t (org, project_id, name, reference_name, \
             description, color, is_disabled, category, raw, synced_at) \
             SELECT $1, $3, u.name, u.reference_name, u.description, u.color, u.is_disabled, \
             u.category, u.raw::jsonb, $2 \
             FROM UNNEST($4::text[], $5::text[], $6::text[], $7::text[], $8::bool[], \
             $9::text[], $10::text[]) \
             AS u(name, reference_name, description, color, is_disabled, category, raw) \
             ON CONFLICT (org, project_id, name) DO UPDATE SET \
             reference_name = excluded.reference_name, description = excluded.description, \
             color = excluded.color, is_disabled = excluded.is_disabled, \
             category = excluded.category, raw = excluded.raw, synced_at = excluded.synced_at \
             WHERE excluded.synced_at >= t.synced_at",
        )
        .bind(org)
        .bind(at)
        .bind(project_id.as_ref())
        .bind(texts(chunk, |t| &t.name))
        .bind(opt_texts(chunk, |t| t.reference_name.as_deref()))
        .bind(opt_texts(chunk, |t| t.description.as_deref()))
        .bind(opt_texts(chunk, |t| t.color.as_deref()))
        .bind(is_disabled)
        .bind(opt_texts(chunk, |t| t.category.as_deref()))
        .bind(raws(chunk, |t| &t.raw))
        .execute(&mut *conn)
        .await
        .map_err(Error::query(OP))?
        .rows_affected();
    }
    written += sqlx::query(
        "DELETE FROM work_item_types WHERE org = $1 AND project_id = $2 AND synced_at <= $3 \
         AND NOT (name = ANY($4::text[]))",
    )
    .bind(org)
    .bind(project_id.as_ref())
    .bind(at)
    .bind(texts(&types, |t| &t.name))
    .execute(&mut *conn)
    .await
    .map_err(Error::query(OP))?
    .rows_affected();

    let states: Vec<(&str, &WorkItemTypeStateRow)> = types
        .iter()
        .flat_map(|t| {
            last_per_key(&t.states, |s| s.name.as_str())
                .into_iter()
                .map(|s| (t.name.as_str(), s))
        })
        .collect();
    let type_name: Vec<Cow<str>> = states.iter().map(|(t, _)| without_nul(t)).collect();
    let name: Vec<Cow<str>> = states.iter().map(|(_, s)| without_nul(&s.name)).collect();
    for (i, chunk) in states.chunks(MAX_ROWS_PER_STATEMENT).enumerate() {
        let range = i * MAX_ROWS_PER_STATEMENT..i * MAX_ROWS_PER_STATEMENT + chunk.len();
        let category: Vec<Option<Cow<str>>> = chunk
            .iter()
            .map(|(_, s)| s.category.as_deref().map(without_nul))
            .collect();
        let color: Vec<Option<Cow<str>>> = chunk
            .iter()
            .map(|(_, s)| s.color.as_deref().map(without_nul))
            .collect();
        written += sqlx::query(
            "INSERT INTO work_item_type_states AS t \
             (org, project_id, type_name, name, category, color, synced_at) \
             SELECT $1, $3, u.type_name, u.name, u.category, u.color, $2 \
             FROM UNNEST($4::text[], $5::text[], $6::text[], $7::text[]) \
             AS u(type_name, name, category, color) \
             ON CONFLICT (org, project_id, type_name, name) DO UPDATE SET \
             category = excluded.category, color = excluded.color, \
             synced_at = excluded.synced_at WHERE excluded.synced_at >= t.synced_at",
        )
        .bind(org)
        .bind(at)
        .bind(project_id.as_ref())
        .bind(&type_name[range.clone()])
        .bind(&name[range])
        .bind(category)
        .bind(color)
        .execute(&mut *conn)
        .await
        .map_err(Error::query(STATES))?
        .rows_affected();
    }
    written += sqlx::query(
        "DELETE FROM work_item_type_states AS s \
         WHERE s.org = $1 AND s.project_id = $2 AND s.synced_at <= $3 \
         AND NOT EXISTS (SELECT 1 FROM UNNEST($4::text[], $5::text[]) AS k(type_name, name) \
         WHERE k.type_name = s.type_name AND k.name = s.name)",
    )
    .bind(org)
    .bind(project_id.as_ref())
    .bind(at)
    .bind(&type_name)
    .bind(&name)
    .execute(&mut *conn)
    .await
    .map_err(Error::query(STATES))?
    .rows_affected();
    Ok(written)
}

/// Replaces the organization's field list.
async fn refresh_fields(
    conn: &mut PgConnection,
    org: &str,
    at: DateTime<Utc>,
    fields: &[WorkItemFieldRow],
) -> Result<u64> {
    const OP: &str = "apply work_item_fields";
    let fields = last_per_key(fields, |f| f.reference_name.as_str());
    let mut written = 0;
    for chunk in fields.chunks(MAX_ROWS_PER_STATEMENT) {
        let read_only: Vec<bool> = chunk.iter().map(|f| f.read_only).collect();
        let is_identity: Vec<bool> = chunk.iter().map(|f| f.is_identity).collect();
        written += sqlx::query(
            "INSERT INTO work_item_fields AS t \
             (org, reference_name, name, type, read_only, is_identity, raw, synced_at) \
             SELECT $1, u.reference_name, u.name, u.type, u.read_only, u.is_identity, \
             u.raw::jsonb, $2 \
             FROM UNNEST($3::text[], $4::text[], $5::text[], $6::bool[], $7::bool[], \
             $8::text[]) AS u(reference_name, name, type, read_only, is_identity, raw) \
             ON CONFLICT (org, reference_name) DO UPDATE SET name = excluded.name, \
             type = excluded.type, read_only = excluded.read_only, \
             is_identity = excluded.is_identity, raw = excluded.raw, \
             synced_at = excluded.synced_at WHERE excluded.synced_at >= t.synced_at",
        )
        .bind(org)
        .bind(at)
        .bind(texts(chunk, |f| &f.reference_name))
        .bind(texts(chunk, |f| &f.name))
        .bind(opt_texts(chunk, |f| f.field_type.as_deref()))
        .bind(read_only)
        .bind(is_identity)
        .bind(raws(chunk, |f| &f.raw))
        .execute(&mut *conn)
        .await
        .map_err(Error::query(OP))?
        .rows_affected();
    }
    written += sqlx::query(
        "DELETE FROM work_item_fields WHERE org = $1 AND synced_at <= $2 \
         AND NOT (reference_name = ANY($3::text[]))",
    )
    .bind(org)
    .bind(at)
    .bind(texts(&fields, |f| &f.reference_name))
    .execute(&mut *conn)
    .await
    .map_err(Error::query(OP))?
    .rows_affected();
    Ok(written)
}

/// Upserts work items; a row replaces the stored one only when it is newer (rev, then
/// observation time). See [`WORK_ITEM_CONFLICT`].
async fn upsert_work_items(
    conn: &mut PgConnection,
    org: &str,
    at: DateTime<Utc>,
    observed_at: DateTime<Utc>,
    rows: &[WorkItemRow],
) -> Result<u64> {
    const OP: &str = "apply work_items";
    let rows = newest_per_key(rows, |w| w.id, |w| w.rev);
    let mut written = 0;
    for chunk in rows.chunks(MAX_ROWS_PER_STATEMENT) {
        let int = |f: fn(&WorkItemRow) -> Option<i64>| -> Vec<Option<i64>> {
            chunk.iter().map(|w| f(w)).collect()
        };
        let float = |f: fn(&WorkItemRow) -> Option<f64>| -> Vec<Option<f64>> {
            chunk.iter().map(|w| f(w)).collect()
        };
        let id: Vec<i64> = chunk.iter().map(|w| w.id).collect();
        let rev: Vec<i64> = chunk.iter().map(|w| w.rev).collect();
        let deleted_at = times(chunk, |w| proposed_deleted_at(w, observed_at));
        let sql = format!(
            "INSERT INTO work_items AS t (org, id, rev, project, type, title, state, reason, \
             assigned_to, assigned_to_name, created_by, created_date, changed_by, changed_date, \
             closed_date, activated_date, resolved_date, area_path, iteration_path, priority, \
             severity, story_points, effort, remaining_work, parent_id, tags, comment_count, \
             last_comment_date, raw, synced_at, deleted_at) \
             SELECT $1, u.id, u.rev, u.project, u.type, u.title, u.state, u.reason, \
             u.assigned_to, u.assigned_to_name, u.created_by, u.created_date, u.changed_by, \
             u.changed_date, u.closed_date, u.activated_date, u.resolved_date, u.area_path, \
             u.iteration_path, u.priority, u.severity, u.story_points, u.effort, \
             u.remaining_work, u.parent_id, u.tags, u.comment_count, u.last_comment_date, \
             u.raw::jsonb, $2, u.deleted_at \
             FROM UNNEST($3::int8[], $4::int8[], $5::text[], $6::text[], $7::text[], \
             $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], \
             $13::timestamptz[], $14::text[], $15::timestamptz[], $16::timestamptz[], \
             $17::timestamptz[], $18::timestamptz[], $19::text[], $20::text[], $21::int8[], \
             $22::text[], $23::float8[], $24::float8[], $25::float8[], $26::int8[], \
             $27::text[], $28::int8[], $29::timestamptz[], $30::text[], $31::timestamptz[]) \
             AS u(id, rev, project, type, title, state, reason, assigned_to, \
             assigned_to_name, created_by, created_date, changed_by, changed_date, \
             closed_date, activated_date, resolved_date, area_path, iteration_path, priority, \
             severity, story_points, effort, remaining_work, parent_id, tags, comment_count, \
             last_comment_date, raw, deleted_at){WORK_ITEM_CONFLICT}"
        );
        written += sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(at)
            .bind(id)
            .bind(rev)
            .bind(opt_texts(chunk, |w| w.project.as_deref()))
            .bind(opt_texts(chunk, |w| w.work_item_type.as_deref()))
            .bind(opt_texts(chunk, |w| w.title.as_deref()))
            .bind(opt_texts(chunk, |w| w.state.as_deref()))
            .bind(opt_texts(chunk, |w| w.reason.as_deref()))
            .bind(opt_texts(chunk, |w| w.assigned_to.as_deref()))
            .bind(opt_texts(chunk, |w| w.assigned_to_name.as_deref()))
            .bind(opt_texts(chunk, |w| w.created_by.as_deref()))
            .bind(times(chunk, |w| w.created_date))
            .bind(opt_texts(chunk, |w| w.changed_by.as_deref()))
            .bind(times(chunk, |w| w.changed_date))
            .bind(times(chunk, |w| w.closed_date))
            .bind(times(chunk, |w| w.activated_date))
            .bind(times(chunk, |w| w.resolved_date))
            .bind(opt_texts(chunk, |w| w.area_path.as_deref()))
            .bind(opt_texts(chunk, |w| w.iteration_path.as_deref()))
            .bind(int(|w| w.priority))
            .bind(opt_texts(chunk, |w| w.severity.as_deref()))
            .bind(float(|w| w.story_points))
            .bind(float(|w| w.effort))
            .bind(float(|w| w.remaining_work))
            .bind(int(|w| w.parent_id))
            .bind(opt_texts(chunk, |w| w.tags.as_deref()))
            .bind(int(|w| w.comment_count))
            .bind(times(chunk, |w| w.last_comment_date))
            .bind(raws(chunk, |w| &w.raw))
            .bind(deleted_at)
            .execute(&mut *conn)
            .await
            .map_err(Error::query(OP))?
            .rows_affected();
    }
    Ok(written)
}

/// Inserts revisions not stored yet; stored revisions are never changed.
async fn insert_revisions(
    conn: &mut PgConnection,
    org: &str,
    at: DateTime<Utc>,
    rows: &[WorkItemRevisionRow],
) -> Result<u64> {
    const OP: &str = "apply work_item_revisions";
    let rows = last_per_key(rows, |r| (r.id, r.rev));
    let mut written = 0;
    for chunk in rows.chunks(MAX_ROWS_PER_STATEMENT) {
        let id: Vec<i64> = chunk.iter().map(|r| r.id).collect();
        let rev: Vec<i64> = chunk.iter().map(|r| r.rev).collect();
        written += sqlx::query(
            "INSERT INTO work_item_revisions (org, id, rev, changed_date, changed_by, state, \
             assigned_to, iteration_path, fields, synced_at) \
             SELECT $1, u.id, u.rev, u.changed_date, u.changed_by, u.state, u.assigned_to, \
             u.iteration_path, u.fields::jsonb, $2 \
             FROM UNNEST($3::int8[], $4::int8[], $5::timestamptz[], $6::text[], $7::text[], \
             $8::text[], $9::text[], $10::text[]) \
             AS u(id, rev, changed_date, changed_by, state, assigned_to, iteration_path, fields) \
             ON CONFLICT (org, id, rev) DO NOTHING",
        )
        .bind(org)
        .bind(at)
        .bind(id)
        .bind(rev)
        .bind(times(chunk, |r| r.changed_date))
        .bind(opt_texts(chunk, |r| r.changed_by.as_deref()))
        .bind(opt_texts(chunk, |r| r.state.as_deref()))
        .bind(opt_texts(chunk, |r| r.assigned_to.as_deref()))
        .bind(opt_texts(chunk, |r| r.iteration_path.as_deref()))
        .bind(raws(chunk, |r| &r.fields))
        .execute(&mut *conn)
        .await
        .map_err(Error::query(OP))?
        .rows_affected();
    }
    Ok(written)
}

/// Upserts link changes (see [`LINK_CONFLICT`]).
async fn upsert_links(
    conn: &mut PgConnection,
    org: &str,
    at: DateTime<Utc>,
    rows: &[WorkItemLinkRow],
) -> Result<u64> {
    const OP: &str = "apply work_item_links";
    let rows = newest_per_key(
        rows,
        |l| (l.source_id, l.target_id, l.rel.as_str()),
        |l| l.changed_date,
    );
    let mut written = 0;
    for chunk in rows.chunks(MAX_ROWS_PER_STATEMENT) {
        let source_id: Vec<i64> = chunk.iter().map(|l| l.source_id).collect();
        let target_id: Vec<i64> = chunk.iter().map(|l| l.target_id).collect();
        let is_active: Vec<bool> = chunk.iter().map(|l| l.is_active).collect();
        let sql = format!(
            "INSERT INTO work_item_links AS t \
             (org, source_id, target_id, rel, is_active, changed_date, raw, synced_at) \
             SELECT $1, u.source_id, u.target_id, u.rel, u.is_active, u.changed_date, \
             u.raw::jsonb, $2 \
             FROM UNNEST($3::int8[], $4::int8[], $5::text[], $6::bool[], $7::timestamptz[], \
             $8::text[]) AS u(source_id, target_id, rel, is_active, changed_date, raw)\
             {LINK_CONFLICT}"
        );
        written += sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(at)
            .bind(source_id)
            .bind(target_id)
            .bind(texts(chunk, |l| &l.rel))
            .bind(is_active)
            .bind(times(chunk, |l| l.changed_date))
            .bind(raws(chunk, |l| &l.raw))
            .execute(&mut *conn)
            .await
            .map_err(Error::query(OP))?
            .rows_affected();
    }
    Ok(written)
}

/// Stamps `deleted_at = at` on listed, live work items observed no later than `at`.
async fn mark_work_items_deleted(
    conn: &mut PgConnection,
    org: &str,
    at: DateTime<Utc>,
    ids: &[i64],
) -> Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(sqlx::query(
        "UPDATE work_items SET deleted_at = $2 \
         WHERE org = $1 AND id = ANY($3::int8[]) AND deleted_at IS NULL AND synced_at <= $2",
    )
    .bind(org)
    .bind(at)
    .bind(ids)
    .execute(&mut *conn)
    .await
    .map_err(Error::query("apply deleted work_items"))?
    .rows_affected())
}

/// Clears `deleted_at` marks of listed work items that were set no later than `at`.
async fn mark_work_items_restored(
    conn: &mut PgConnection,
    org: &str,
    at: DateTime<Utc>,
    ids: &[i64],
) -> Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(sqlx::query(
        "UPDATE work_items SET deleted_at = NULL \
         WHERE org = $1 AND id = ANY($3::int8[]) AND deleted_at <= $2",
    )
    .bind(org)
    .bind(at)
    .bind(ids)
    .execute(&mut *conn)
    .await
    .map_err(Error::query("apply restored work_items"))?
    .rows_affected())
}

fn work_item_from(row: &PgRow) -> Result<StoredWorkItem> {
    const OP: &str = "read work_items";
    let deleted_at: Option<DateTime<Utc>> = get(row, OP, "deleted_at")?;
    Ok(StoredWorkItem {
        row: WorkItemRow {
            id: get(row, OP, "id")?,
            rev: get(row, OP, "rev")?,
            project: get(row, OP, "project")?,
            work_item_type: get(row, OP, "type")?,
            title: get(row, OP, "title")?,
            state: get(row, OP, "state")?,
            reason: get(row, OP, "reason")?,
            assigned_to: get(row, OP, "assigned_to")?,
            assigned_to_name: get(row, OP, "assigned_to_name")?,
            created_by: get(row, OP, "created_by")?,
            created_date: get(row, OP, "created_date")?,
            changed_by: get(row, OP, "changed_by")?,
            changed_date: get(row, OP, "changed_date")?,
            closed_date: get(row, OP, "closed_date")?,
            activated_date: get(row, OP, "activated_date")?,
            resolved_date: get(row, OP, "resolved_date")?,
            area_path: get(row, OP, "area_path")?,
            iteration_path: get(row, OP, "iteration_path")?,
            priority: get(row, OP, "priority")?,
            severity: get(row, OP, "severity")?,
            story_points: get(row, OP, "story_points")?,
            effort: get(row, OP, "effort")?,
            remaining_work: get(row, OP, "remaining_work")?,
            parent_id: get(row, OP, "parent_id")?,
            tags: get(row, OP, "tags")?,
            comment_count: get(row, OP, "comment_count")?,
            last_comment_date: get(row, OP, "last_comment_date")?,
            is_deleted: deleted_at.is_some(),
            raw: get(row, OP, "raw")?,
        },
        deleted_at,
    })
}

fn revision_from(row: &PgRow) -> Result<WorkItemRevisionRow> {
    const OP: &str = "read work_item_revisions";
    Ok(WorkItemRevisionRow {
        id: get(row, OP, "id")?,
        rev: get(row, OP, "rev")?,
        changed_date: get(row, OP, "changed_date")?,
        changed_by: get(row, OP, "changed_by")?,
        state: get(row, OP, "state")?,
        assigned_to: get(row, OP, "assigned_to")?,
        iteration_path: get(row, OP, "iteration_path")?,
        fields: get(row, OP, "fields")?,
    })
}

fn link_from(row: &PgRow) -> Result<WorkItemLinkRow> {
    const OP: &str = "read work_item_links";
    Ok(WorkItemLinkRow {
        source_id: get(row, OP, "source_id")?,
        target_id: get(row, OP, "target_id")?,
        rel: get(row, OP, "rel")?,
        is_active: get(row, OP, "is_active")?,
        changed_date: get(row, OP, "changed_date")?,
        raw: get(row, OP, "raw")?,
    })
}

fn team_from(row: &PgRow) -> Result<StoredTeam> {
    const OP: &str = "read teams";
    Ok(StoredTeam {
        row: TeamRow {
            id: get(row, OP, "id")?,
            project_id: get(row, OP, "project_id")?,
            name: get(row, OP, "name")?,
            description: get(row, OP, "description")?,
            raw: get(row, OP, "raw")?,
        },
        deleted_at: get(row, OP, "deleted_at")?,
    })
}

fn user_profile_from(row: &PgRow) -> Result<UserProfile> {
    const OP: &str = "read users";
    Ok(UserProfile {
        id: get(row, OP, "id")?,
        display_name: get(row, OP, "display_name")?,
        unique_name: get(row, OP, "unique_name")?,
        is_container: get(row, OP, "is_container")?,
        mail_address: get(row, OP, "mail_address")?,
        descriptor: get(row, OP, "descriptor")?,
        origin: get(row, OP, "origin")?,
        origin_id: get(row, OP, "origin_id")?,
        subject_kind: get(row, OP, "subject_kind")?,
    })
}

fn node_from(row: &PgRow, op: &'static str, dated: bool) -> Result<StoredNode> {
    Ok(StoredNode {
        project_id: get(row, op, "project_id")?,
        row: ClassificationNodeRow {
            id: get(row, op, "id")?,
            identifier: get(row, op, "identifier")?,
            name: get(row, op, "name")?,
            path: get(row, op, "path")?,
            parent_path: get(row, op, "parent_path")?,
            depth: get(row, op, "depth")?,
            start_date: if dated {
                get(row, op, "start_date")?
            } else {
                None
            },
            finish_date: if dated {
                get(row, op, "finish_date")?
            } else {
                None
            },
            raw: get(row, op, "raw")?,
        },
        deleted_at: get(row, op, "deleted_at")?,
    })
}

fn work_item_type_from(row: &PgRow) -> Result<StoredWorkItemType> {
    const OP: &str = "read work_item_types";
    Ok(StoredWorkItemType {
        project_id: get(row, OP, "project_id")?,
        row: WorkItemTypeRow {
            name: get(row, OP, "name")?,
            reference_name: get(row, OP, "reference_name")?,
            description: get(row, OP, "description")?,
            color: get(row, OP, "color")?,
            is_disabled: get(row, OP, "is_disabled")?,
            category: get(row, OP, "category")?,
            raw: get(row, OP, "raw")?,
            states: Vec::new(),
        },
    })
}

fn field_from(row: &PgRow) -> Result<WorkItemFieldRow> {
    const OP: &str = "read work_item_fields";
    Ok(WorkItemFieldRow {
        reference_name: get(row, OP, "reference_name")?,
        name: get(row, OP, "name")?,
        field_type: get(row, OP, "type")?,
        read_only: get(row, OP, "read_only")?,
        is_identity: get(row, OP, "is_identity")?,
        raw: get(row, OP, "raw")?,
    })
}

/// Reads every row of a query bound to `org`, mapped by `from`.
async fn read_all<T>(
    pool: &PgPool,
    op: &'static str,
    sql: &'static str,
    org: &str,
    from: impl Fn(&PgRow) -> Result<T>,
) -> Result<Vec<T>> {
    let rows = sqlx::query(sql)
        .bind(org)
        .fetch_all(pool)
        .await
        .map_err(Error::query(op))?;
    rows.iter().map(from).collect()
}

/// The columns of a work item read, `raw` as text.
const WORK_ITEM_COLUMNS: &str = "id, rev, project, type, title, state, reason, assigned_to, \
     assigned_to_name, created_by, created_date, changed_by, changed_date, closed_date, \
     activated_date, resolved_date, area_path, iteration_path, priority, severity, \
     story_points, effort, remaining_work, parent_id, tags, comment_count, last_comment_date, \
     raw::text AS raw, deleted_at";

impl PgStore {
    async fn boards_work_items(&self, org: &str) -> Result<Vec<StoredWorkItem>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {WORK_ITEM_COLUMNS} FROM work_items WHERE org = $1 ORDER BY id"
        )))
        .bind(org)
        .fetch_all(&self.pool)
        .await
        .map_err(Error::query("read work_items"))?;
        rows.iter().map(work_item_from).collect()
    }

    async fn boards_team_members(&self, org: &str) -> Result<Vec<TeamMembers>> {
        let rows: Vec<(String, String, bool)> = sqlx::query_as(
            "SELECT team_id, user_id, is_team_admin FROM team_members \
             WHERE org = $1 ORDER BY team_id COLLATE \"C\", user_id COLLATE \"C\"",
        )
        .bind(org)
        .fetch_all(&self.pool)
        .await
        .map_err(Error::query("read team_members"))?;
        Ok(group_members(rows.into_iter().map(
            |(team_id, user_id, is_team_admin)| {
                (
                    team_id,
                    TeamMemberRow {
                        user_id,
                        is_team_admin,
                    },
                )
            },
        )))
    }

    async fn boards_work_item_types(&self, org: &str) -> Result<Vec<StoredWorkItemType>> {
        // Types and states from one snapshot.
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(Error::query("read work_item_types"))?;
        let rows = sqlx::query(
            "SELECT project_id, name, reference_name, description, color, is_disabled, \
             category, raw::text AS raw FROM work_item_types WHERE org = $1 \
             ORDER BY project_id COLLATE \"C\", name COLLATE \"C\"",
        )
        .bind(org)
        .fetch_all(&mut *tx)
        .await
        .map_err(Error::query("read work_item_types"))?;
        let mut types = rows
            .iter()
            .map(work_item_type_from)
            .collect::<Result<Vec<_>>>()?;
        let states: Vec<StateRecord> = sqlx::query_as(
            "SELECT project_id, type_name, name, category, color FROM work_item_type_states \
                 WHERE org = $1 ORDER BY project_id COLLATE \"C\", type_name COLLATE \"C\", \
                 name COLLATE \"C\"",
        )
        .bind(org)
        .fetch_all(&mut *tx)
        .await
        .map_err(Error::query("read work_item_type_states"))?;
        tx.commit()
            .await
            .map_err(Error::query("read work_item_types"))?;
        attach_states(
            &mut types,
            states
                .into_iter()
                .map(|(project_id, type_name, name, category, color)| {
                    (
                        project_id,
                        type_name,
                        WorkItemTypeStateRow {
                            name,
                            category,
                            color,
                        },
                    )
                }),
        );
        Ok(types)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_replaced_in_text_and_json() {
        assert_eq!(without_nul("a\0b"), "a\u{FFFD}b");
        assert!(matches!(without_nul("ab"), Cow::Borrowed("ab")));
        let raw = r#"{"title":"a\u0000b","k\u0000":[1,"\u0000"]}"#;
        let cleaned: serde_json::Value =
            serde_json::from_str(&json_without_nul(raw)).expect("JSON");
        assert_eq!(
            cleaned,
            serde_json::json!({"title": "a\u{FFFD}b", "k\u{FFFD}": [1, "\u{FFFD}"]})
        );
        assert!(matches!(json_without_nul("{}"), Cow::Borrowed("{}")));
    }
}
