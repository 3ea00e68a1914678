//! [`SqliteStore`]: the default backend, one database file in WAL mode with ONE writer.
//!
//! SQLite allows one writer at a time; a second connection that tries to write waits for the
//! busy timeout and then fails with "database is locked". So all writes go through a pool of
//! exactly one connection (tasks queue for it instead of racing), while reads use a small
//! separate pool that WAL lets run beside the writer.
//!
//! Timestamps are stored as UTC text in one fixed format, `2024-05-01T10:11:12.123456Z`
//! ([`TS_FORMAT`]), so that comparing the text compares the instants: the never-regress guards
//! (`excluded.synced_at >= t.synced_at`) are plain text comparisons. Sub-microsecond digits
//! (ADO sends 7) are dropped, as on Postgres.

use std::collections::HashSet;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::common::{COUNTED_TABLES, attach_reviewers, last_per_key, reviewers_of};
use super::error::redact_url;
use super::{
    Batch, CursorUpdate, Error, ProjectRow, PullRequestRow, RepositoryRow, Result, ReviewerRow,
    RunRecord, Store, StoredProject, StoredRepository, UserRow,
};

/// SQLite's default maximum number of bind parameters per statement (`SQLITE_MAX_VARIABLE_NUMBER`).
const MAX_PARAMS: usize = 32_766;

/// Rows per multi-row upsert statement, further bounded by [`MAX_PARAMS`] per table. Larger
/// statements (up to the parameter limit) measured no faster; smaller ones keep the prepared
/// statements that sqlx caches per connection small.
const MAX_ROWS_PER_STATEMENT: usize = 500;

/// How long a write waits for another process' lock before failing (`PRAGMA busy_timeout`).
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a write waits for the one write connection while other tasks use it.
const WRITER_WAIT: Duration = Duration::from_secs(600);

/// `PRAGMA cache_size` of the write connection: 64 MiB (negative = KiB).
const WRITER_CACHE: &str = "-65536";

/// Connections of the read pool.
const READERS: u32 = 4;

/// The stored timestamp format: fixed width, microseconds, `Z`.
const TS_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

/// The SQLite backend. Cheap to clone: clones share the pools.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    /// Exactly one connection: every write transaction runs here, one after the other.
    pub(super) writer: SqlitePool,
    /// Reads; the same pool as `writer` for an in-memory database (which exists only on the
    /// connection that created it).
    reader: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating it if missing) the database at `url`, e.g. `sqlite://ado-ingest.db` or
    /// `sqlite::memory:`. Does not migrate; call [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<Self> {
        let connect_err = |source| Error::Connect {
            backend: "sqlite",
            url: redact_url(url),
            source,
        };
        let options = SqliteConnectOptions::from_str(url)
            .map_err(connect_err)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(false);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(WRITER_WAIT)
            // An in-memory database disappears with its last connection.
            .idle_timeout(None)
            .max_lifetime(None)
            // The writer touches every index of a page: keep more of them in memory than
            // SQLite's default 2 MiB.
            .connect_with(options.clone().pragma("cache_size", WRITER_CACHE))
            .await
            .map_err(connect_err)?;
        let reader = if in_memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(READERS)
                .connect_with(options)
                .await
                .map_err(connect_err)?
        };
        Ok(Self { writer, reader })
    }

    /// Closes both pools, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

/// `at` as stored: UTC, microseconds, fixed width (sub-microsecond digits are truncated).
fn ts(at: DateTime<Utc>) -> String {
    at.format(TS_FORMAT).to_string()
}

fn opt_ts(at: Option<DateTime<Utc>>) -> Option<String> {
    at.map(ts)
}

/// Parses a stored timestamp of `column`.
fn parse_ts(column: &str, text: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.to_utc())
        .map_err(|e| Error::Corrupt {
            what: format!("{column} = {text:?} is not an RFC 3339 timestamp ({e})"),
        })
}

fn parse_opt_ts(column: &str, text: Option<String>) -> Result<Option<DateTime<Utc>>> {
    text.map(|t| parse_ts(column, &t)).transpose()
}

/// Reads column `name` of a row; `op` names the operation for the error.
fn get<'r, T>(row: &'r SqliteRow, op: &'static str, name: &str) -> Result<T>
where
    T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>,
{
    row.try_get(name).map_err(Error::query(op))
}

fn get_ts(row: &SqliteRow, op: &'static str, name: &str) -> Result<DateTime<Utc>> {
    parse_ts(name, &get::<String>(row, op, name)?)
}

fn get_opt_ts(row: &SqliteRow, op: &'static str, name: &str) -> Result<Option<DateTime<Utc>>> {
    parse_opt_ts(name, get(row, op, name)?)
}

/// Rows per statement for a table of `columns` bound columns.
const fn chunk_rows(columns: usize) -> usize {
    let by_params = MAX_PARAMS / columns;
    if by_params < MAX_ROWS_PER_STATEMENT {
        by_params
    } else {
        MAX_ROWS_PER_STATEMENT
    }
}

async fn upsert_users(
    conn: &mut SqliteConnection,
    org: &str,
    at: &str,
    users: &[UserRow],
) -> Result<u64> {
    const OP: &str = "apply users";
    let mut written = 0;
    let users = last_per_key(users, |u| u.id.as_str());
    for chunk in users.chunks(chunk_rows(6)) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO users AS t (org, id, display_name, unique_name, is_container, synced_at) ",
        );
        qb.push_values(chunk, |mut b, u| {
            b.push_bind(org)
                .push_bind(u.id.as_str())
                .push_bind(u.display_name.as_deref())
                .push_bind(u.unique_name.as_deref())
                .push_bind(u.is_container)
                .push_bind(at);
        });
        qb.push(
            " ON CONFLICT (org, id) DO UPDATE SET display_name = excluded.display_name, \
             unique_name = excluded.unique_name, is_container = excluded.is_container, \
             synced_at = excluded.synced_at \
             WHERE excluded.synced_at >= t.synced_at",
        );
        written += qb
            .build()
            .execute(&mut *conn)
            .await
            .map_err(Error::query(OP))?
            .rows_affected();
    }
    Ok(written)
}

async fn upsert_projects(
    conn: &mut SqliteConnection,
    org: &str,
    at: &str,
    projects: &[ProjectRow],
) -> Result<u64> {
    const OP: &str = "apply projects";
    let mut written = 0;
    let projects = last_per_key(projects, |p| p.id.as_str());
    for chunk in projects.chunks(chunk_rows(8)) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO projects AS t \
             (org, id, name, state, visibility, last_update_time, raw, synced_at) ",
        );
        qb.push_values(chunk, |mut b, p| {
            b.push_bind(org)
                .push_bind(p.id.as_str())
                .push_bind(p.name.as_str())
                .push_bind(p.state.as_deref())
                .push_bind(p.visibility.as_deref())
                .push_bind(opt_ts(p.last_update_time))
                .push_bind(p.raw.as_str())
                .push_bind(at);
        });
        qb.push(
            " ON CONFLICT (org, id) DO UPDATE SET name = excluded.name, state = excluded.state, \
             visibility = excluded.visibility, last_update_time = excluded.last_update_time, \
             raw = excluded.raw, synced_at = excluded.synced_at, \
             deleted_at = CASE WHEN excluded.synced_at > t.deleted_at THEN NULL \
             ELSE t.deleted_at END \
             WHERE excluded.synced_at >= t.synced_at \
             AND (excluded.last_update_time IS NULL OR t.last_update_time IS NULL \
             OR excluded.last_update_time >= t.last_update_time)",
        );
        written += qb
            .build()
            .execute(&mut *conn)
            .await
            .map_err(Error::query(OP))?
            .rows_affected();
    }
    Ok(written)
}

async fn upsert_repositories(
    conn: &mut SqliteConnection,
    org: &str,
    at: &str,
    repositories: &[RepositoryRow],
) -> Result<u64> {
    const OP: &str = "apply repositories";
    let mut written = 0;
    let repositories = last_per_key(repositories, |r| r.id.as_str());
    for chunk in repositories.chunks(chunk_rows(9)) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO repositories AS t \
             (org, id, project_id, name, default_branch, size, is_disabled, raw, synced_at) ",
        );
        qb.push_values(chunk, |mut b, r| {
            b.push_bind(org)
                .push_bind(r.id.as_str())
                .push_bind(r.project_id.as_str())
                .push_bind(r.name.as_str())
                .push_bind(r.default_branch.as_deref())
                .push_bind(r.size)
                .push_bind(r.is_disabled)
                .push_bind(r.raw.as_str())
                .push_bind(at);
        });
        qb.push(
            " ON CONFLICT (org, id) DO UPDATE SET project_id = excluded.project_id, \
             name = excluded.name, default_branch = excluded.default_branch, \
             size = excluded.size, is_disabled = excluded.is_disabled, raw = excluded.raw, \
             synced_at = excluded.synced_at, \
             deleted_at = CASE WHEN excluded.synced_at > t.deleted_at THEN NULL \
             ELSE t.deleted_at END \
             WHERE excluded.synced_at >= t.synced_at",
        );
        written += qb
            .build()
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
    conn: &mut SqliteConnection,
    org: &str,
    at: &str,
    pull_requests: &[PullRequestRow],
) -> Result<u64> {
    const OP: &str = "apply pull_requests";
    let prs = last_per_key(pull_requests, |p| p.id);
    if prs.is_empty() {
        return Ok(0);
    }
    let mut written = 0;
    for chunk in prs.chunks(chunk_rows(17)) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO pull_requests AS t (org, id, repository_id, project_id, title, status, \
             is_draft, created_by_id, creation_date, closed_date, source_ref, target_ref, \
             merge_status, last_merge_source_commit, last_merge_commit, raw, synced_at) ",
        );
        qb.push_values(chunk, |mut b, p| {
            b.push_bind(org)
                .push_bind(p.id)
                .push_bind(p.repository_id.as_str())
                .push_bind(p.project_id.as_str())
                .push_bind(p.title.as_str())
                .push_bind(p.status.as_str())
                .push_bind(p.is_draft)
                .push_bind(p.created_by_id.as_deref())
                .push_bind(ts(p.creation_date))
                .push_bind(opt_ts(p.closed_date))
                .push_bind(p.source_ref.as_str())
                .push_bind(p.target_ref.as_str())
                .push_bind(p.merge_status.as_deref())
                .push_bind(p.last_merge_source_commit.as_deref())
                .push_bind(p.last_merge_commit.as_deref())
                .push_bind(p.raw.as_str())
                .push_bind(at);
        });
        qb.push(
            " ON CONFLICT (org, id) DO UPDATE SET repository_id = excluded.repository_id, \
             project_id = excluded.project_id, title = excluded.title, status = excluded.status, \
             is_draft = excluded.is_draft, created_by_id = excluded.created_by_id, \
             creation_date = excluded.creation_date, closed_date = excluded.closed_date, \
             source_ref = excluded.source_ref, target_ref = excluded.target_ref, \
             merge_status = excluded.merge_status, \
             last_merge_source_commit = excluded.last_merge_source_commit, \
             last_merge_commit = excluded.last_merge_commit, raw = excluded.raw, \
             synced_at = excluded.synced_at \
             WHERE excluded.synced_at >= t.synced_at",
        );
        written += qb
            .build()
            .execute(&mut *conn)
            .await
            .map_err(Error::query(OP))?
            .rows_affected();
    }
    if written == 0 {
        return Ok(0);
    }

    // Which upserts took effect: exactly the PRs of this page whose `synced_at` is now this
    // page's observation time (a skipped upsert leaves a newer one). This transaction holds
    // the write lock, so nothing else changed them in between. One aggregated row instead of
    // `RETURNING id`, which streams a row per PR through the driver (measured ~25% slower).
    let page_ids =
        serde_json::Value::from(prs.iter().map(|p| p.id).collect::<Vec<_>>()).to_string();
    let effective: String = sqlx::query_scalar(
        "SELECT json_group_array(id) FROM pull_requests \
         WHERE org = $1 AND synced_at = $2 AND id IN (SELECT value FROM json_each($3))",
    )
    .bind(org)
    .bind(at)
    .bind(page_ids)
    .fetch_one(&mut *conn)
    .await
    .map_err(Error::query(OP))?;
    let effective: HashSet<i64> = serde_json::from_str(&effective).map_err(|e| Error::Corrupt {
        what: format!("pull request ids {effective:?} ({e})"),
    })?;

    // Replace the reviewer sets of the PRs written above.
    let written_prs: Vec<&PullRequestRow> = prs
        .into_iter()
        .filter(|p| effective.contains(&p.id))
        .collect();
    let ids_json =
        serde_json::Value::from(written_prs.iter().map(|p| p.id).collect::<Vec<_>>()).to_string();
    sqlx::query(
        "DELETE FROM pull_request_reviewers \
         WHERE org = $1 AND pull_request_id IN (SELECT value FROM json_each($2))",
    )
    .bind(org)
    .bind(ids_json)
    .execute(&mut *conn)
    .await
    .map_err(Error::query("apply pull_request_reviewers"))?;

    let reviewers: Vec<(i64, &ReviewerRow)> = written_prs
        .iter()
        .flat_map(|p| reviewers_of(p).into_iter().map(|r| (p.id, r)))
        .collect();
    for chunk in reviewers.chunks(chunk_rows(6)) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO pull_request_reviewers \
             (org, pull_request_id, reviewer_id, vote, is_required, has_declined) ",
        );
        qb.push_values(chunk, |mut b, (pr_id, r)| {
            b.push_bind(org)
                .push_bind(*pr_id)
                .push_bind(r.reviewer_id.as_str())
                .push_bind(r.vote)
                .push_bind(r.is_required)
                .push_bind(r.has_declined);
        });
        written += qb
            .build()
            .execute(&mut *conn)
            .await
            .map_err(Error::query("apply pull_request_reviewers"))?
            .rows_affected();
    }
    Ok(written)
}

/// Stamps `deleted_at = at` on the listed rows of `table` that are not marked deleted yet and
/// whose stored observation is not newer than this deletion signal.
async fn mark_deleted(
    conn: &mut SqliteConnection,
    op: &'static str,
    sql: &'static str,
    org: &str,
    at: &str,
    ids: &[String],
) -> Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let ids_json = serde_json::Value::from(ids.to_vec()).to_string();
    Ok(sqlx::query(sql)
        .bind(org)
        .bind(at)
        .bind(ids_json)
        .execute(&mut *conn)
        .await
        .map_err(Error::query(op))?
        .rows_affected())
}

async fn upsert_cursor(
    conn: &mut SqliteConnection,
    org: &str,
    at: &str,
    cursor: &CursorUpdate,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sync_cursors (org, connector, scope, value, updated_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (org, connector, scope) DO UPDATE \
         SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(org)
    .bind(cursor.connector.as_str())
    .bind(cursor.scope.as_str())
    .bind(cursor.value.as_str())
    .bind(at)
    .execute(&mut *conn)
    .await
    .map_err(Error::query("apply cursor"))?;
    Ok(())
}

fn project_from(row: &SqliteRow) -> Result<StoredProject> {
    const OP: &str = "read projects";
    Ok(StoredProject {
        row: ProjectRow {
            id: get(row, OP, "id")?,
            name: get(row, OP, "name")?,
            state: get(row, OP, "state")?,
            visibility: get(row, OP, "visibility")?,
            last_update_time: get_opt_ts(row, OP, "last_update_time")?,
            raw: get(row, OP, "raw")?,
        },
        deleted_at: get_opt_ts(row, OP, "deleted_at")?,
    })
}

fn repository_from(row: &SqliteRow) -> Result<StoredRepository> {
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
        deleted_at: get_opt_ts(row, OP, "deleted_at")?,
    })
}

fn pull_request_from(row: &SqliteRow) -> Result<PullRequestRow> {
    const OP: &str = "read pull_requests";
    Ok(PullRequestRow {
        id: get(row, OP, "id")?,
        repository_id: get(row, OP, "repository_id")?,
        project_id: get(row, OP, "project_id")?,
        title: get(row, OP, "title")?,
        status: get(row, OP, "status")?,
        is_draft: get(row, OP, "is_draft")?,
        created_by_id: get(row, OP, "created_by_id")?,
        creation_date: get_ts(row, OP, "creation_date")?,
        closed_date: get_opt_ts(row, OP, "closed_date")?,
        source_ref: get(row, OP, "source_ref")?,
        target_ref: get(row, OP, "target_ref")?,
        merge_status: get(row, OP, "merge_status")?,
        last_merge_source_commit: get(row, OP, "last_merge_source_commit")?,
        last_merge_commit: get(row, OP, "last_merge_commit")?,
        raw: get(row, OP, "raw")?,
        reviewers: Vec::new(),
    })
}

fn run_from(row: &SqliteRow) -> Result<RunRecord> {
    const OP: &str = "read sync_runs";
    Ok(RunRecord {
        id: get(row, OP, "id")?,
        connector: get(row, OP, "connector")?,
        mode: get(row, OP, "mode")?,
        started_at: get_ts(row, OP, "started_at")?,
        finished_at: get_opt_ts(row, OP, "finished_at")?,
        outcome: get(row, OP, "outcome")?,
        error: get(row, OP, "error")?,
        requests: get(row, OP, "requests")?,
        rows: get(row, OP, "rows")?,
    })
}

impl Store for SqliteStore {
    async fn migrate(&self) -> Result<()> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.writer)
            .await?;
        Ok(())
    }

    async fn apply(&self, org: &str, batch: &Batch) -> Result<u64> {
        // IMMEDIATE: take the write lock up front, so a concurrent writer in another process
        // makes this wait (busy timeout) rather than fail half-way.
        let mut tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(Error::query("begin apply"))?;
        let at = ts(batch.observed_at);
        let mut written = 0;
        written += upsert_users(&mut tx, org, &at, &batch.users).await?;
        written += upsert_projects(&mut tx, org, &at, &batch.projects).await?;
        written += upsert_repositories(&mut tx, org, &at, &batch.repositories).await?;
        written += upsert_pull_requests(&mut tx, org, &at, &batch.pull_requests).await?;
        written += mark_deleted(
            &mut tx,
            "apply deleted repositories",
            "UPDATE repositories SET deleted_at = $2 \
             WHERE org = $1 AND deleted_at IS NULL AND synced_at <= $2 \
             AND id IN (SELECT value FROM json_each($3))",
            org,
            &at,
            &batch.deleted_repositories,
        )
        .await?;
        written += mark_deleted(
            &mut tx,
            "apply deleted projects",
            "UPDATE projects SET deleted_at = $2 \
             WHERE org = $1 AND deleted_at IS NULL AND synced_at <= $2 \
             AND id IN (SELECT value FROM json_each($3))",
            org,
            &at,
            &batch.deleted_projects,
        )
        .await?;
        if let Some(cursor) = &batch.cursor {
            upsert_cursor(&mut tx, org, &at, cursor).await?;
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
        .fetch_optional(&self.reader)
        .await
        .map_err(Error::query("read cursor"))
    }

    async fn live_repository_ids(&self, org: &str, project_id: &str) -> Result<Vec<String>> {
        sqlx::query_scalar(
            "SELECT id FROM repositories \
             WHERE org = $1 AND project_id = $2 AND deleted_at IS NULL ORDER BY id",
        )
        .bind(org)
        .bind(project_id)
        .fetch_all(&self.reader)
        .await
        .map_err(Error::query("read live repository ids"))
    }

    async fn live_project_ids(&self, org: &str) -> Result<Vec<String>> {
        sqlx::query_scalar(
            "SELECT id FROM projects WHERE org = $1 AND deleted_at IS NULL ORDER BY id",
        )
        .bind(org)
        .fetch_all(&self.reader)
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
        .bind(ts(started_at))
        .fetch_one(&self.writer)
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
        .bind(error)
        .bind(requests)
        .bind(rows)
        .bind(ts(finished_at))
        .execute(&self.writer)
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
        .fetch_optional(&self.reader)
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
            .fetch_one(&self.reader)
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
            "SELECT id, name, state, visibility, last_update_time, raw, deleted_at \
             FROM projects WHERE org = $1 ORDER BY id",
        )
        .bind(org)
        .fetch_all(&self.reader)
        .await
        .map_err(Error::query("read projects"))?;
        rows.iter().map(project_from).collect()
    }

    async fn repositories(&self, org: &str) -> Result<Vec<StoredRepository>> {
        let rows = sqlx::query(
            "SELECT id, project_id, name, default_branch, size, is_disabled, raw, deleted_at \
             FROM repositories WHERE org = $1 ORDER BY id",
        )
        .bind(org)
        .fetch_all(&self.reader)
        .await
        .map_err(Error::query("read repositories"))?;
        rows.iter().map(repository_from).collect()
    }

    async fn pull_requests(&self, org: &str) -> Result<Vec<PullRequestRow>> {
        // One read transaction: PRs and reviewers from the same snapshot.
        let mut tx = self
            .reader
            .begin()
            .await
            .map_err(Error::query("read pull_requests"))?;
        let rows = sqlx::query(
            "SELECT id, repository_id, project_id, title, status, is_draft, created_by_id, \
             creation_date, closed_date, source_ref, target_ref, merge_status, \
             last_merge_source_commit, last_merge_commit, raw \
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
             FROM pull_request_reviewers WHERE org = $1 ORDER BY pull_request_id, reviewer_id",
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
             WHERE org = $1 ORDER BY id",
        )
        .bind(org)
        .fetch_all(&self.reader)
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
