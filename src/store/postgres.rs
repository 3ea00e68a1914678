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

use super::common::{COUNTED_TABLES, attach_reviewers, last_per_key, micros, reviewers_of};
use super::error::redact_url;
use super::{
    Batch, CursorUpdate, Error, ProjectRow, PullRequestRow, RepositoryRow, Result, ReviewerRow,
    RunRecord, Store, StoredProject, StoredRepository, UserRow,
};

/// Connections of the pool.
const MAX_CONNECTIONS: u32 = 8;

/// Rows per `INSERT … SELECT FROM UNNEST(…)` statement (about 6 MB of ~1.2 KB PR rows).
const MAX_ROWS_PER_STATEMENT: usize = 5_000;

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
    for chunk in prs.chunks(MAX_ROWS_PER_STATEMENT) {
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

    // Replace the reviewer sets of the PRs written above.
    const REVIEWERS: &str = "apply pull_request_reviewers";
    let written_prs: Vec<&PullRequestRow> = prs
        .into_iter()
        .filter(|p| effective.contains(&p.id))
        .collect();
    let ids: Vec<i64> = written_prs.iter().map(|p| p.id).collect();
    sqlx::query(
        "DELETE FROM pull_request_reviewers WHERE org = $1 AND pull_request_id = ANY($2::int8[])",
    )
    .bind(org)
    .bind(ids)
    .execute(&mut *conn)
    .await
    .map_err(Error::query(REVIEWERS))?;

    let reviewers: Vec<(i64, &ReviewerRow)> = written_prs
        .iter()
        .flat_map(|p| reviewers_of(p).into_iter().map(|r| (p.id, r)))
        .collect();
    for chunk in reviewers.chunks(MAX_ROWS_PER_STATEMENT * 4) {
        let pr_id: Vec<i64> = chunk.iter().map(|(id, _)| *id).collect();
        let reviewer_id: Vec<Cow<str>> = chunk
            .iter()
            .map(|(_, r)| without_nul(&r.reviewer_id))
            .collect();
        let vote: Vec<i32> = chunk.iter().map(|(_, r)| r.vote).collect();
        let is_required: Vec<bool> = chunk.iter().map(|(_, r)| r.is_required).collect();
        let has_declined: Vec<bool> = chunk.iter().map(|(_, r)| r.has_declined).collect();
        written += sqlx::query(
            "INSERT INTO pull_request_reviewers \
             (org, pull_request_id, reviewer_id, vote, is_required, has_declined) \
             SELECT $1, u.* FROM UNNEST($2::int8[], $3::text[], $4::int4[], $5::bool[], \
             $6::bool[]) AS u",
        )
        .bind(org)
        .bind(pr_id)
        .bind(reviewer_id)
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
        written += upsert_users(&mut tx, org, at, &batch.users).await?;
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
