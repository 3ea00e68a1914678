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
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::common::{
    COUNTED_TABLES, LINK_CONFLICT, StateRecord, WORK_ITEM_CONFLICT, attach_reviewers,
    attach_states, group_members, last_per_key, newest_per_key, proposed_deleted_at, reviewers_of,
};
use super::error::redact_url;
use super::{
    Batch, ClassificationNodeRow, CursorUpdate, Error, GraphUserRow, IdentityRow, PlanningRefresh,
    ProjectRow, PullRequestRow, RepositoryRow, Result, ReviewerRow, RunRecord, Store, StoredNode,
    StoredProject, StoredRepository, StoredTeam, StoredWorkItem, StoredWorkItemType, TeamMemberRow,
    TeamMembers, TeamRow, TeamsRefresh, UserProfile, UserRow, WorkItemFieldRow, WorkItemLinkRow,
    WorkItemRevisionRow, WorkItemRow, WorkItemTypeRow, WorkItemTypeStateRow,
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

/// `PRAGMA cache_size` of the write connection: 16 MiB (negative = KiB). The page cache is
/// part of the process's resident memory, which must stay under 100 MB whatever the org's
/// size; 64 MiB put a 50,000-work-item backfill at 122 MB peak RSS.
const WRITER_CACHE: &str = "-16384";

/// Connections of the read pool.
const READERS: u32 = 4;

/// How often the background checkpointer copies committed WAL frames into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// WAL pages after which the writer checkpoints by itself at commit (SQLite's default: 1,000).
/// Normally the background checkpointer has done it long before; this bounds the WAL if it
/// cannot keep up.
const WRITER_AUTOCHECKPOINT: &str = "10000";

/// The stored timestamp format: fixed width, microseconds, `Z`.
const TS_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

/// The SQLite backend. Cheap to clone: clones share the pools.
///
/// A file database is checkpointed in the background: every [`CHECKPOINT_EVERY`] a read
/// connection copies the committed WAL frames into the database file (`PASSIVE`: it never
/// waits for the writer). SQLite's automatic checkpoint would do that work inside the
/// writer's commits, on the one connection every page queues for; a 500,000-PR backfill spent
/// a quarter of its time there.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    /// Exactly one connection: every write transaction runs here, one after the other.
    pub(super) writer: SqlitePool,
    /// Reads; the same pool as `writer` for an in-memory database (which exists only on the
    /// connection that created it).
    reader: SqlitePool,
    /// The background checkpointer of a file database; held only so that it stops with the
    /// last clone.
    _checkpointer: Option<Arc<Checkpointer>>,
}

/// Aborts the background checkpoint task when dropped.
#[derive(Debug)]
struct Checkpointer(tokio::task::AbortHandle);

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts the task that checkpoints the WAL through `pool` until the pool is closed.
fn start_checkpointer(pool: SqlitePool) -> Checkpointer {
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if pool.is_closed() {
                break;
            }
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
            {
                tracing::debug!(error = %e, "background WAL checkpoint failed");
            }
        }
    });
    Checkpointer(task.abort_handle())
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
            .connect_with(
                options
                    .clone()
                    .pragma("cache_size", WRITER_CACHE)
                    .pragma("wal_autocheckpoint", WRITER_AUTOCHECKPOINT),
            )
            .await
            .map_err(connect_err)?;
        if in_memory {
            return Ok(Self {
                reader: writer.clone(),
                writer,
                _checkpointer: None,
            });
        }
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(options)
            .await
            .map_err(connect_err)?;
        Ok(Self {
            _checkpointer: Some(Arc::new(start_checkpointer(reader.clone()))),
            writer,
            reader,
        })
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
/// (a stale observation changes neither the PR nor its reviewers); a reviewer set equal to the
/// stored one is left as it is.
///
/// This is the hottest write of a backfill, so it runs on the connection's raw handle
/// ([`raw`]): one prepared single-row statement per table, stepped once per row, parameters
/// bound without copies. Against multi-row `INSERT … VALUES` statements through sqlx's
/// arguments it measured ~40% less CPU per pull request (no argument copies, no statement
/// journal, no per-row value coroutine), and `sqlite3_changes` tells per row whether the
/// upsert took effect, which saves the query that found out afterwards. Runs in
/// `block_in_place` on a multi-threaded runtime so the async tasks around it keep going.
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
    let mut handle = conn.lock_handle().await.map_err(Error::query(OP))?;
    let db = handle.as_raw_handle();
    let write = || {
        // SAFETY: `handle` keeps the connection locked away from sqlx's worker thread for the
        // whole call, so this thread is its only user, and every statement is finalized before
        // `write_pull_requests` returns.
        unsafe { raw::write_pull_requests(db, org, at, &prs) }
    };
    let result = match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(write),
        _ => write(),
    };
    drop(handle);
    result
}

/// Direct SQLite calls for [`upsert_pull_requests`]: prepared statements on a connection that
/// sqlx has handed over with `lock_handle`. Everything unsafe about it is in [`Statement`].
mod raw {
    use std::borrow::Cow;
    use std::ffi::{CStr, c_int};
    use std::marker::PhantomData;
    use std::ptr::NonNull;

    use libsqlite3_sys as ffi;

    use super::{Error, PullRequestRow, Result, opt_ts, reviewers_of, ts};

    const PR_UPSERT: &str = "INSERT INTO pull_requests AS t (org, id, repository_id, project_id, \
        title, status, is_draft, created_by_id, creation_date, closed_date, source_ref, \
        target_ref, merge_status, last_merge_source_commit, last_merge_commit, raw, synced_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
        ON CONFLICT (org, id) DO UPDATE SET repository_id = excluded.repository_id, \
        project_id = excluded.project_id, title = excluded.title, status = excluded.status, \
        is_draft = excluded.is_draft, created_by_id = excluded.created_by_id, \
        creation_date = excluded.creation_date, closed_date = excluded.closed_date, \
        source_ref = excluded.source_ref, target_ref = excluded.target_ref, \
        merge_status = excluded.merge_status, \
        last_merge_source_commit = excluded.last_merge_source_commit, \
        last_merge_commit = excluded.last_merge_commit, raw = excluded.raw, \
        synced_at = excluded.synced_at \
        WHERE excluded.synced_at >= t.synced_at";
    const REVIEWERS_READ: &str = "SELECT reviewer_id, vote, is_required, has_declined \
        FROM pull_request_reviewers WHERE org = $1 AND pull_request_id = $2 \
        ORDER BY reviewer_id";
    const REVIEWERS_DELETE: &str =
        "DELETE FROM pull_request_reviewers WHERE org = $1 AND pull_request_id = $2";
    const REVIEWER_INSERT: &str = "INSERT INTO pull_request_reviewers \
        (org, pull_request_id, reviewer_id, vote, is_required, has_declined) \
        VALUES ($1, $2, $3, $4, $5, $6)";

    /// Writes `prs` (one per id) and the reviewer sets of those whose upsert took effect;
    /// returns the rows written (PRs and reviewer rows inserted).
    ///
    /// # Safety
    /// `db` must be an open connection that no other thread uses until this returns.
    pub(super) unsafe fn write_pull_requests(
        db: NonNull<ffi::sqlite3>,
        org: &str,
        at: &str,
        prs: &[&PullRequestRow],
    ) -> Result<u64> {
        // SAFETY (all four): the caller's contract.
        let mut upsert = unsafe { Statement::prepare(db, "apply pull_requests", PR_UPSERT)? };
        let mut read = unsafe { Statement::prepare(db, REVIEWERS, REVIEWERS_READ)? };
        let mut delete = unsafe { Statement::prepare(db, REVIEWERS, REVIEWERS_DELETE)? };
        let mut insert = unsafe { Statement::prepare(db, REVIEWERS, REVIEWER_INSERT)? };
        upsert.bind_text(1, org)?;
        upsert.bind_text(17, at)?;
        for s in [&mut read, &mut delete, &mut insert] {
            s.bind_text(1, org)?;
        }
        let mut written = 0;
        let mut stored = Vec::new();
        for p in prs {
            upsert.bind_i64(2, p.id)?;
            upsert.bind_text(3, &p.repository_id)?;
            upsert.bind_text(4, &p.project_id)?;
            upsert.bind_text(5, &p.title)?;
            upsert.bind_text(6, &p.status)?;
            upsert.bind_i64(7, i64::from(p.is_draft))?;
            upsert.bind_opt_text(8, p.created_by_id.as_deref())?;
            upsert.bind_text_copy(9, &ts(p.creation_date))?;
            upsert.bind_opt_text_copy(10, opt_ts(p.closed_date).as_deref())?;
            upsert.bind_text(11, &p.source_ref)?;
            upsert.bind_text(12, &p.target_ref)?;
            upsert.bind_opt_text(13, p.merge_status.as_deref())?;
            upsert.bind_opt_text(14, p.last_merge_source_commit.as_deref())?;
            upsert.bind_opt_text(15, p.last_merge_commit.as_deref())?;
            upsert.bind_text(16, &p.raw)?;
            if upsert.execute()? == 0 {
                // An older observation than the stored one: neither the PR nor its reviewers.
                continue;
            }
            written += 1;
            let reviewers = reviewers_of(p);
            read.bind_i64(2, p.id)?;
            stored.clear();
            read.query(|row| {
                stored.push((
                    row.text(0).into_owned(),
                    row.i64(1),
                    row.i64(2) != 0,
                    row.i64(3) != 0,
                ))
            })?;
            let unchanged = stored.len() == reviewers.len()
                && stored.iter().zip(&reviewers).all(|(s, r)| {
                    s.0 == r.reviewer_id
                        && s.1 == i64::from(r.vote)
                        && s.2 == r.is_required
                        && s.3 == r.has_declined
                });
            if unchanged {
                continue;
            }
            if !stored.is_empty() {
                delete.bind_i64(2, p.id)?;
                delete.execute()?;
            }
            insert.bind_i64(2, p.id)?;
            for r in reviewers {
                insert.bind_text(3, &r.reviewer_id)?;
                insert.bind_i64(4, i64::from(r.vote))?;
                insert.bind_i64(5, i64::from(r.is_required))?;
                insert.bind_i64(6, i64::from(r.has_declined))?;
                written += insert.execute()?;
            }
        }
        Ok(written)
    }

    const REVIEWERS: &str = "apply pull_request_reviewers";

    /// A prepared statement; text bound with [`Statement::bind_text`] is borrowed, not copied,
    /// so it must live as long as the statement (`'a`).
    struct Statement<'a> {
        stmt: NonNull<ffi::sqlite3_stmt>,
        db: NonNull<ffi::sqlite3>,
        op: &'static str,
        borrows: PhantomData<&'a str>,
    }

    /// The current row of a query.
    struct Row<'s>(&'s Statement<'s>);

    impl Row<'_> {
        fn text(&self, column: c_int) -> Cow<'_, str> {
            // SAFETY: the statement has a current row (SQLITE_ROW); the pointer and length
            // describe the column's UTF-8 text, valid until the next step or reset.
            unsafe {
                let ptr = ffi::sqlite3_column_text(self.0.stmt.as_ptr(), column);
                if ptr.is_null() {
                    return Cow::Borrowed("");
                }
                let len = ffi::sqlite3_column_bytes(self.0.stmt.as_ptr(), column);
                let bytes = std::slice::from_raw_parts(ptr, usize::try_from(len).unwrap_or(0));
                String::from_utf8_lossy(bytes)
            }
        }

        fn i64(&self, column: c_int) -> i64 {
            // SAFETY: the statement has a current row.
            unsafe { ffi::sqlite3_column_int64(self.0.stmt.as_ptr(), column) }
        }
    }

    impl<'a> Statement<'a> {
        /// # Safety
        /// `db` must be an open connection that no other thread uses while the statement lives.
        unsafe fn prepare(
            db: NonNull<ffi::sqlite3>,
            op: &'static str,
            sql: &str,
        ) -> Result<Statement<'a>> {
            let mut stmt = std::ptr::null_mut();
            let len = c_int::try_from(sql.len()).unwrap_or(c_int::MAX);
            // SAFETY: the caller's contract; `sql` is valid for `len` bytes.
            let rc = unsafe {
                ffi::sqlite3_prepare_v2(
                    db.as_ptr(),
                    sql.as_ptr().cast(),
                    len,
                    &mut stmt,
                    std::ptr::null_mut(),
                )
            };
            match NonNull::new(stmt) {
                Some(stmt) if rc == ffi::SQLITE_OK => Ok(Statement {
                    stmt,
                    db,
                    op,
                    borrows: PhantomData,
                }),
                _ => Err(error(db, op, rc)),
            }
        }

        fn check(&self, rc: c_int) -> Result<()> {
            if rc == ffi::SQLITE_OK {
                Ok(())
            } else {
                Err(error(self.db, self.op, rc))
            }
        }

        /// Binds text that outlives the statement, without copying it.
        fn bind_text(&mut self, index: c_int, text: &'a str) -> Result<()> {
            self.bind_with(index, text, ffi::SQLITE_STATIC())
        }

        /// Binds text that SQLite copies (for temporaries).
        fn bind_text_copy(&mut self, index: c_int, text: &str) -> Result<()> {
            self.bind_with(index, text, ffi::SQLITE_TRANSIENT())
        }

        fn bind_with(
            &mut self,
            index: c_int,
            text: &str,
            lifetime: ffi::sqlite3_destructor_type,
        ) -> Result<()> {
            // SAFETY: the pointer and length describe valid UTF-8; with SQLITE_STATIC the text
            // outlives the statement (`'a`), with SQLITE_TRANSIENT SQLite copies it now.
            let rc = unsafe {
                ffi::sqlite3_bind_text64(
                    self.stmt.as_ptr(),
                    index,
                    text.as_ptr().cast(),
                    text.len() as u64,
                    lifetime,
                    ffi::SQLITE_UTF8 as u8,
                )
            };
            self.check(rc)
        }

        fn bind_opt_text(&mut self, index: c_int, text: Option<&'a str>) -> Result<()> {
            match text {
                Some(t) => self.bind_text(index, t),
                None => self.bind_null(index),
            }
        }

        fn bind_opt_text_copy(&mut self, index: c_int, text: Option<&str>) -> Result<()> {
            match text {
                Some(t) => self.bind_text_copy(index, t),
                None => self.bind_null(index),
            }
        }

        fn bind_null(&mut self, index: c_int) -> Result<()> {
            // SAFETY: a valid statement.
            let rc = unsafe { ffi::sqlite3_bind_null(self.stmt.as_ptr(), index) };
            self.check(rc)
        }

        fn bind_i64(&mut self, index: c_int, value: i64) -> Result<()> {
            // SAFETY: a valid statement.
            let rc = unsafe { ffi::sqlite3_bind_int64(self.stmt.as_ptr(), index, value) };
            self.check(rc)
        }

        /// Runs a statement that returns no rows; returns the rows it changed.
        fn execute(&mut self) -> Result<u64> {
            // SAFETY: a valid statement whose parameters are all bound to live values.
            let rc = unsafe { ffi::sqlite3_step(self.stmt.as_ptr()) };
            let result = if rc == ffi::SQLITE_DONE {
                // SAFETY: a valid connection.
                Ok(unsafe { ffi::sqlite3_changes64(self.db.as_ptr()) }.max(0) as u64)
            } else {
                Err(error(self.db, self.op, rc))
            };
            // SAFETY: a valid statement; reset keeps the bindings.
            unsafe { ffi::sqlite3_reset(self.stmt.as_ptr()) };
            result
        }

        /// Runs a query, calling `each` for every row.
        fn query(&mut self, mut each: impl FnMut(&Row<'_>)) -> Result<()> {
            let result = loop {
                // SAFETY: a valid statement whose parameters are all bound to live values.
                let rc = unsafe { ffi::sqlite3_step(self.stmt.as_ptr()) };
                match rc {
                    ffi::SQLITE_ROW => each(&Row(self)),
                    ffi::SQLITE_DONE => break Ok(()),
                    _ => break Err(error(self.db, self.op, rc)),
                }
            };
            // SAFETY: a valid statement.
            unsafe { ffi::sqlite3_reset(self.stmt.as_ptr()) };
            result
        }
    }

    impl Drop for Statement<'_> {
        fn drop(&mut self) {
            // SAFETY: a valid statement, finalized once.
            unsafe { ffi::sqlite3_finalize(self.stmt.as_ptr()) };
        }
    }

    /// The connection's last error as a [`Error::Query`] of `op`.
    fn error(db: NonNull<ffi::sqlite3>, op: &'static str, rc: c_int) -> Error {
        // SAFETY: a valid connection; the message is a NUL-terminated string owned by SQLite,
        // copied before any other call.
        let (code, message) = unsafe {
            let code = ffi::sqlite3_extended_errcode(db.as_ptr());
            let msg = ffi::sqlite3_errmsg(db.as_ptr());
            let text = if msg.is_null() {
                format!("SQLite error {rc}")
            } else {
                CStr::from_ptr(msg).to_string_lossy().into_owned()
            };
            (code, text)
        };
        Error::Query {
            op,
            source: sqlx::Error::Database(Box::new(SqliteCallError { code, message })),
        }
    }

    /// An error SQLite returned to a direct call, as sqlx reports database errors.
    #[derive(Debug)]
    struct SqliteCallError {
        code: c_int,
        message: String,
    }

    impl std::fmt::Display for SqliteCallError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "(code: {}) {}", self.code, self.message)
        }
    }

    impl std::error::Error for SqliteCallError {}

    impl sqlx::error::DatabaseError for SqliteCallError {
        fn message(&self) -> &str {
            &self.message
        }

        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Owned(self.code.to_string()))
        }

        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }

        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }

        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }

        fn kind(&self) -> sqlx::error::ErrorKind {
            use sqlx::error::ErrorKind;
            match self.code {
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                    ErrorKind::UniqueViolation
                }
                ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
                ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
                ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
                _ => ErrorKind::Other,
            }
        }
    }
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
        written += apply_boards(&mut tx, org, &at, batch).await?;
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

    // Boards (implemented in the Boards section below) -------------------------------------

    async fn live_work_item_ids(&self, org: &str, project: &str) -> Result<Vec<i64>> {
        sqlx::query_scalar(
            "SELECT id FROM work_items \
             WHERE org = $1 AND project = $2 AND deleted_at IS NULL ORDER BY id",
        )
        .bind(org)
        .bind(project)
        .fetch_all(&self.reader)
        .await
        .map_err(Error::query("read live work item ids"))
    }

    async fn work_items(&self, org: &str) -> Result<Vec<StoredWorkItem>> {
        self.boards_work_items(org).await
    }

    async fn work_item_revisions(&self, org: &str) -> Result<Vec<WorkItemRevisionRow>> {
        read_all(
            &self.reader,
            "read work_item_revisions",
            "SELECT id, rev, changed_date, changed_by, state, assigned_to, iteration_path, \
             fields FROM work_item_revisions WHERE org = $1 ORDER BY id, rev",
            org,
            revision_from,
        )
        .await
    }

    async fn work_item_links(&self, org: &str) -> Result<Vec<WorkItemLinkRow>> {
        read_all(
            &self.reader,
            "read work_item_links",
            "SELECT source_id, target_id, rel, is_active, changed_date, raw \
             FROM work_item_links WHERE org = $1 ORDER BY source_id, target_id, rel",
            org,
            link_from,
        )
        .await
    }

    async fn teams(&self, org: &str) -> Result<Vec<StoredTeam>> {
        read_all(
            &self.reader,
            "read teams",
            "SELECT id, project_id, name, description, raw, deleted_at FROM teams \
             WHERE org = $1 ORDER BY id",
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
            &self.reader,
            "read users",
            "SELECT id, display_name, unique_name, is_container, mail_address, descriptor, \
             origin, origin_id, subject_kind FROM users WHERE org = $1 ORDER BY id",
            org,
            user_profile_from,
        )
        .await
    }

    async fn iterations(&self, org: &str) -> Result<Vec<StoredNode>> {
        read_all(
            &self.reader,
            "read iterations",
            "SELECT * FROM iterations WHERE org = $1 ORDER BY id",
            org,
            |row| node_from(row, "read iterations", true),
        )
        .await
    }

    async fn areas(&self, org: &str) -> Result<Vec<StoredNode>> {
        read_all(
            &self.reader,
            "read areas",
            "SELECT * FROM areas WHERE org = $1 ORDER BY id",
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
            &self.reader,
            "read work_item_fields",
            "SELECT reference_name, name, type, read_only, is_identity, raw \
             FROM work_item_fields WHERE org = $1 ORDER BY reference_name",
            org,
            field_from,
        )
        .await
    }
}

// =============================================================================================
// Boards: users from identities and the Graph, teams and members, the planning structure
// (iterations, areas, types with states, fields), work items, revisions and links. Called from
// `apply` (in its transaction) and from the Boards read methods of the `Store` impl.

/// A JSON array of `items`, for `json_each` filters.
fn json_array<T: Into<serde_json::Value> + Clone>(items: &[T]) -> String {
    serde_json::Value::from(items.to_vec()).to_string()
}

async fn execute(
    conn: &mut SqliteConnection,
    op: &'static str,
    mut qb: QueryBuilder<Sqlite>,
) -> Result<u64> {
    Ok(qb
        .build()
        .execute(&mut *conn)
        .await
        .map_err(Error::query(op))?
        .rows_affected())
}

/// Writes every Boards part of `batch`; `at` is `batch.observed_at` as stored.
async fn apply_boards(
    conn: &mut SqliteConnection,
    org: &str,
    at: &str,
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
    conn: &mut SqliteConnection,
    org: &str,
    at: &str,
    rows: &[IdentityRow],
) -> Result<u64> {
    const OP: &str = "apply identities";
    let rows = last_per_key(rows, |u| u.id.as_str());
    let mut written = 0;
    for chunk in rows.chunks(chunk_rows(7)) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO users AS t \
             (org, id, display_name, unique_name, is_container, descriptor, synced_at) ",
        );
        qb.push_values(chunk, |mut b, u| {
            b.push_bind(org)
                .push_bind(u.id.as_str())
                .push_bind(u.display_name.as_deref())
                .push_bind(u.unique_name.as_deref())
                .push_bind(u.is_container)
                .push_bind(u.descriptor.as_deref())
                .push_bind(at);
        });
        qb.push(
            " ON CONFLICT (org, id) DO UPDATE SET display_name = excluded.display_name, \
             unique_name = excluded.unique_name, is_container = excluded.is_container, \
             descriptor = COALESCE(excluded.descriptor, t.descriptor), \
             synced_at = excluded.synced_at \
             WHERE excluded.synced_at >= t.synced_at",
        );
        written += execute(conn, OP, qb).await?;
    }
    let descriptors: Vec<&str> = rows
        .iter()
        .filter_map(|u| u.descriptor.as_deref())
        .collect();
    if descriptors.is_empty() {
        return Ok(written);
    }
    let descriptors = json_array(&descriptors);
    sqlx::query(
        "UPDATE users AS v SET mail_address = COALESCE(v.mail_address, g.mail_address), \
         origin = COALESCE(v.origin, g.origin), origin_id = COALESCE(v.origin_id, g.origin_id), \
         subject_kind = COALESCE(v.subject_kind, g.subject_kind) \
         FROM users AS g \
         WHERE v.org = $1 AND g.org = $1 AND g.id = g.descriptor AND v.descriptor = g.descriptor \
         AND v.id <> g.id AND g.descriptor IN (SELECT value FROM json_each($2))",
    )
    .bind(org)
    .bind(descriptors.as_str())
    .execute(&mut *conn)
    .await
    .map_err(Error::query(OP))?;
    sqlx::query(
        "DELETE FROM users WHERE org = $1 AND id = descriptor \
         AND descriptor IN (SELECT value FROM json_each($2)) \
         AND EXISTS (SELECT 1 FROM users AS v \
         WHERE v.org = $1 AND v.descriptor = users.descriptor AND v.id <> users.id)",
    )
    .bind(org)
    .bind(descriptors.as_str())
    .execute(&mut *conn)
    .await
    .map_err(Error::query(OP))?;
    Ok(written)
}

/// The Graph columns of a page of users as a `g(...)` table for `UPDATE … FROM` / `INSERT …
/// SELECT`.
fn push_graph_values(qb: &mut QueryBuilder<Sqlite>, chunk: &[&GraphUserRow]) {
    qb.push(
        "(SELECT column1 AS descriptor, column2 AS display_name, column3 AS unique_name, \
         column4 AS is_container, column5 AS mail_address, column6 AS origin, \
         column7 AS origin_id, column8 AS subject_kind FROM (",
    );
    qb.push_values(chunk, |mut b, u| {
        b.push_bind(u.descriptor.as_str())
            .push_bind(u.display_name.as_deref())
            .push_bind(u.principal_name.as_deref())
            .push_bind(u.subject_kind.as_deref() == Some("group"))
            .push_bind(u.mail_address.as_deref())
            .push_bind(u.origin.as_deref())
            .push_bind(u.origin_id.as_deref())
            .push_bind(u.subject_kind.as_deref());
    });
    qb.push(")) AS g");
}

/// Updates the `users` rows that carry a Graph user's descriptor; stores the others under
/// `id = descriptor`.
async fn upsert_graph_users(
    conn: &mut SqliteConnection,
    org: &str,
    at: &str,
    rows: &[GraphUserRow],
) -> Result<u64> {
    const OP: &str = "apply graph users";
    let rows = last_per_key(rows, |u| u.descriptor.as_str());
    let mut written = 0;
    for chunk in rows.chunks(chunk_rows(10)) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "UPDATE users AS t SET display_name = g.display_name, unique_name = g.unique_name, \
             is_container = g.is_container, mail_address = g.mail_address, origin = g.origin, \
             origin_id = g.origin_id, subject_kind = g.subject_kind, synced_at = ",
        );
        qb.push_bind(at).push(" FROM ");
        push_graph_values(&mut qb, chunk);
        qb.push(" WHERE t.org = ")
            .push_bind(org)
            .push(" AND t.descriptor = g.descriptor AND t.synced_at <= ")
            .push_bind(at);
        written += execute(conn, OP, qb).await?;

        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO users (org, id, display_name, unique_name, is_container, mail_address, \
             descriptor, origin, origin_id, subject_kind, synced_at) SELECT ",
        );
        qb.push_bind(org).push(
            ", g.descriptor, g.display_name, g.unique_name, g.is_container, g.mail_address, \
             g.descriptor, g.origin, g.origin_id, g.subject_kind, ",
        );
        qb.push_bind(at).push(" FROM ");
        push_graph_values(&mut qb, chunk);
        qb.push(" WHERE NOT EXISTS (SELECT 1 FROM users AS u WHERE u.org = ")
            .push_bind(org)
            .push(" AND u.descriptor = g.descriptor) ON CONFLICT (org, id) DO NOTHING");
        written += execute(conn, OP, qb).await?;
    }
    Ok(written)
}

/// Upserts a project's teams and stamps `deleted_at` on its stored teams that are missing.
async fn refresh_teams(
    conn: &mut SqliteConnection,
    org: &str,
    at: &str,
    refresh: &TeamsRefresh,
) -> Result<u64> {
    const OP: &str = "apply teams";
    let teams = last_per_key(&refresh.teams, |t| t.id.as_str());
    let mut written = 0;
    for chunk in teams.chunks(chunk_rows(7)) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO teams AS t (org, id, project_id, name, description, raw, synced_at) ",
        );
        qb.push_values(chunk, |mut b, t| {
            b.push_bind(org)
                .push_bind(t.id.as_str())
                .push_bind(t.project_id.as_str())
                .push_bind(t.name.as_str())
                .push_bind(t.description.as_deref())
                .push_bind(t.raw.as_str())
                .push_bind(at);
        });
        qb.push(
            " ON CONFLICT (org, id) DO UPDATE SET project_id = excluded.project_id, \
             name = excluded.name, description = excluded.description, raw = excluded.raw, \
             synced_at = excluded.synced_at, \
             deleted_at = CASE WHEN excluded.synced_at > t.deleted_at THEN NULL \
             ELSE t.deleted_at END \
             WHERE excluded.synced_at >= t.synced_at",
        );
        written += execute(conn, OP, qb).await?;
    }
    let ids: Vec<&str> = teams.iter().map(|t| t.id.as_str()).collect();
    written += sqlx::query(
        "UPDATE teams SET deleted_at = $2 \
         WHERE org = $1 AND project_id = $3 AND deleted_at IS NULL AND synced_at <= $2 \
         AND id NOT IN (SELECT value FROM json_each($4))",
    )
    .bind(org)
    .bind(at)
    .bind(refresh.project_id.as_str())
    .bind(json_array(&ids))
    .execute(&mut *conn)
    .await
    .map_err(Error::query(OP))?
    .rows_affected();
    Ok(written)
}

/// Replaces the member sets of the listed teams, except those whose stored set was observed
/// later than this batch.
async fn replace_team_members(
    conn: &mut SqliteConnection,
    org: &str,
    at: &str,
    sets: &[TeamMembers],
) -> Result<u64> {
    const OP: &str = "apply team_members";
    let sets = last_per_key(sets, |s| s.team_id.as_str());
    if sets.is_empty() {
        return Ok(0);
    }
    let ids: Vec<&str> = sets.iter().map(|s| s.team_id.as_str()).collect();
    let newer: String = sqlx::query_scalar(
        "SELECT json_group_array(DISTINCT team_id) FROM team_members \
         WHERE org = $1 AND synced_at > $2 AND team_id IN (SELECT value FROM json_each($3))",
    )
    .bind(org)
    .bind(at)
    .bind(json_array(&ids))
    .fetch_one(&mut *conn)
    .await
    .map_err(Error::query(OP))?;
    let newer: HashSet<String> = serde_json::from_str(&newer).map_err(|e| Error::Corrupt {
        what: format!("team ids {newer:?} ({e})"),
    })?;
    let sets: Vec<&TeamMembers> = sets
        .into_iter()
        .filter(|s| !newer.contains(&s.team_id))
        .collect();
    let ids: Vec<&str> = sets.iter().map(|s| s.team_id.as_str()).collect();
    sqlx::query(
        "DELETE FROM team_members WHERE org = $1 AND team_id IN (SELECT value FROM json_each($2))",
    )
    .bind(org)
    .bind(json_array(&ids))
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
    for chunk in members.chunks(chunk_rows(5)) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO team_members (org, team_id, user_id, is_team_admin, synced_at) ",
        );
        qb.push_values(chunk, |mut b, (team_id, m)| {
            b.push_bind(org)
                .push_bind(*team_id)
                .push_bind(m.user_id.as_str())
                .push_bind(m.is_team_admin)
                .push_bind(at);
        });
        // A concurrent refresh of the same team may have inserted the row meanwhile.
        qb.push(
            " ON CONFLICT (org, team_id, user_id) DO UPDATE SET \
             is_team_admin = excluded.is_team_admin, synced_at = excluded.synced_at",
        );
        written += execute(conn, OP, qb).await?;
    }
    Ok(written)
}

/// The two classification tables: same shape, iterations also have dates.
#[derive(Clone, Copy)]
enum NodeTable {
    Iterations,
    Areas,
}

impl NodeTable {
    fn name(self) -> &'static str {
        match self {
            Self::Iterations => "iterations",
            Self::Areas => "areas",
        }
    }

    fn op(self) -> &'static str {
        match self {
            Self::Iterations => "apply iterations",
            Self::Areas => "apply areas",
        }
    }
}

/// Upserts a project's nodes and stamps `deleted_at` on its stored nodes that are missing.
async fn refresh_nodes(
    conn: &mut SqliteConnection,
    table: NodeTable,
    org: &str,
    at: &str,
    planning: &PlanningRefresh,
    nodes: &[ClassificationNodeRow],
) -> Result<u64> {
    let op = table.op();
    let dated = matches!(table, NodeTable::Iterations);
    let nodes = last_per_key(nodes, |n| n.id);
    let mut written = 0;
    for chunk in nodes.chunks(chunk_rows(12)) {
        let mut qb = QueryBuilder::<Sqlite>::new(format!(
            "INSERT INTO {} AS t (org, project_id, id, identifier, name, path, parent_path, \
             depth, {}raw, synced_at) ",
            table.name(),
            if dated {
                "start_date, finish_date, "
            } else {
                ""
            }
        ));
        qb.push_values(chunk, |mut b, n| {
            b.push_bind(org)
                .push_bind(planning.project_id.as_str())
                .push_bind(n.id)
                .push_bind(n.identifier.as_deref())
                .push_bind(n.name.as_str())
                .push_bind(n.path.as_str())
                .push_bind(n.parent_path.as_deref())
                .push_bind(n.depth);
            if dated {
                b.push_bind(opt_ts(n.start_date))
                    .push_bind(opt_ts(n.finish_date));
            }
            b.push_bind(n.raw.as_str()).push_bind(at);
        });
        qb.push(format!(
            " ON CONFLICT (org, id) DO UPDATE SET project_id = excluded.project_id, \
             identifier = excluded.identifier, name = excluded.name, path = excluded.path, \
             parent_path = excluded.parent_path, depth = excluded.depth, {}\
             raw = excluded.raw, synced_at = excluded.synced_at, \
             deleted_at = CASE WHEN excluded.synced_at > t.deleted_at THEN NULL \
             ELSE t.deleted_at END \
             WHERE excluded.synced_at >= t.synced_at",
            if dated {
                "start_date = excluded.start_date, finish_date = excluded.finish_date, "
            } else {
                ""
            }
        ));
        written += execute(conn, op, qb).await?;
    }
    let ids: Vec<i64> = nodes.iter().map(|n| n.id).collect();
    let mut qb = QueryBuilder::<Sqlite>::new(format!("UPDATE {} SET deleted_at = ", table.name()));
    qb.push_bind(at)
        .push(" WHERE org = ")
        .push_bind(org)
        .push(" AND project_id = ")
        .push_bind(planning.project_id.as_str())
        .push(" AND deleted_at IS NULL AND synced_at <= ")
        .push_bind(at)
        .push(" AND id NOT IN (SELECT value FROM json_each(")
        .push_bind(json_array(&ids))
        .push("))");
    written += execute(conn, op, qb).await?;
    Ok(written)
}

/// Replaces a project's work item types and their states.
async fn refresh_types(
    conn: &mut SqliteConnection,
    org: &str,
    at: &str,
    project_id: &str,
    types: &[WorkItemTypeRow],
) -> Result<u64> {
    const OP: &str = "apply work_item_types";
    const STATES: &str = "apply work_item_type_states";
    let types = last_per_key(types, |t| t.name.as_str());
    let mut written = 0;
    for chunk in types.chunks(chunk_rows(10)) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO work_item_types AS t (org, project_id, name, reference_name, \
             description, color, is_disabled, category, raw, synced_at) ",
        );
        qb.push_values(chunk, |mut b, t| {
            b.push_bind(org)
                .push_bind(project_id)
                .push_bind(t.name.as_str())
                .push_bind(t.reference_name.as_deref())
                .push_bind(t.description.as_deref())
                .push_bind(t.color.as_deref())
                .push_bind(t.is_disabled)
                .push_bind(t.category.as_deref())
                .push_bind(t.raw.as_str())
                .push_bind(at);
        });
        qb.push(
            " ON CONFLICT (org, project_id, name) DO UPDATE SET \
             reference_name = excluded.reference_name, description = excluded.description, \
             color = excluded.color, is_disabled = excluded.is_disabled, \
             category = excluded.category, raw = excluded.raw, synced_at = excluded.synced_at \
             WHERE excluded.synced_at >= t.synced_at",
        );
        written += execute(conn, OP, qb).await?;
    }
    let names: Vec<&str> = types.iter().map(|t| t.name.as_str()).collect();
    written += sqlx::query(
        "DELETE FROM work_item_types WHERE org = $1 AND project_id = $2 AND synced_at <= $3 \
         AND name NOT IN (SELECT value FROM json_each($4))",
    )
    .bind(org)
    .bind(project_id)
    .bind(at)
    .bind(json_array(&names))
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
    for chunk in states.chunks(chunk_rows(7)) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO work_item_type_states AS t \
             (org, project_id, type_name, name, category, color, synced_at) ",
        );
        qb.push_values(chunk, |mut b, (type_name, s)| {
            b.push_bind(org)
                .push_bind(project_id)
                .push_bind(*type_name)
                .push_bind(s.name.as_str())
                .push_bind(s.category.as_deref())
                .push_bind(s.color.as_deref())
                .push_bind(at);
        });
        qb.push(
            " ON CONFLICT (org, project_id, type_name, name) DO UPDATE SET \
             category = excluded.category, color = excluded.color, \
             synced_at = excluded.synced_at WHERE excluded.synced_at >= t.synced_at",
        );
        written += execute(conn, STATES, qb).await?;
    }
    let keys: Vec<serde_json::Value> = states
        .iter()
        .map(|(t, s)| serde_json::json!([t, s.name]))
        .collect();
    written += sqlx::query(
        "DELETE FROM work_item_type_states \
         WHERE org = $1 AND project_id = $2 AND synced_at <= $3 \
         AND NOT EXISTS (SELECT 1 FROM json_each($4) AS k \
         WHERE json_extract(k.value, '$[0]') = type_name \
         AND json_extract(k.value, '$[1]') = name)",
    )
    .bind(org)
    .bind(project_id)
    .bind(at)
    .bind(json_array(&keys))
    .execute(&mut *conn)
    .await
    .map_err(Error::query(STATES))?
    .rows_affected();
    Ok(written)
}

/// Replaces the organization's field list.
async fn refresh_fields(
    conn: &mut SqliteConnection,
    org: &str,
    at: &str,
    fields: &[WorkItemFieldRow],
) -> Result<u64> {
    const OP: &str = "apply work_item_fields";
    let fields = last_per_key(fields, |f| f.reference_name.as_str());
    let mut written = 0;
    for chunk in fields.chunks(chunk_rows(8)) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO work_item_fields AS t \
             (org, reference_name, name, type, read_only, is_identity, raw, synced_at) ",
        );
        qb.push_values(chunk, |mut b, f| {
            b.push_bind(org)
                .push_bind(f.reference_name.as_str())
                .push_bind(f.name.as_str())
                .push_bind(f.field_type.as_deref())
                .push_bind(f.read_only)
                .push_bind(f.is_identity)
                .push_bind(f.raw.as_str())
                .push_bind(at);
        });
        qb.push(
            " ON CONFLICT (org, reference_name) DO UPDATE SET name = excluded.name, \
             type = excluded.type, read_only = excluded.read_only, \
             is_identity = excluded.is_identity, raw = excluded.raw, \
             synced_at = excluded.synced_at WHERE excluded.synced_at >= t.synced_at",
        );
        written += execute(conn, OP, qb).await?;
    }
    let names: Vec<&str> = fields.iter().map(|f| f.reference_name.as_str()).collect();
    written += sqlx::query(
        "DELETE FROM work_item_fields WHERE org = $1 AND synced_at <= $2 \
         AND reference_name NOT IN (SELECT value FROM json_each($3))",
    )
    .bind(org)
    .bind(at)
    .bind(json_array(&names))
    .execute(&mut *conn)
    .await
    .map_err(Error::query(OP))?
    .rows_affected();
    Ok(written)
}

/// Upserts work items; a row replaces the stored one only when it is newer (rev, then
/// observation time).
async fn upsert_work_items(
    conn: &mut SqliteConnection,
    org: &str,
    at: &str,
    observed_at: DateTime<Utc>,
    rows: &[WorkItemRow],
) -> Result<u64> {
    const OP: &str = "apply work_items";
    let rows = newest_per_key(rows, |w| w.id, |w| w.rev);
    let mut written = 0;
    for chunk in rows.chunks(chunk_rows(31)) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO work_items AS t (org, id, rev, project, type, title, state, reason, \
             assigned_to, assigned_to_name, created_by, created_date, changed_by, changed_date, \
             closed_date, activated_date, resolved_date, area_path, iteration_path, priority, \
             severity, story_points, effort, remaining_work, parent_id, tags, comment_count, \
             last_comment_date, raw, synced_at, deleted_at) ",
        );
        qb.push_values(chunk, |mut b, w| {
            b.push_bind(org)
                .push_bind(w.id)
                .push_bind(w.rev)
                .push_bind(w.project.as_deref())
                .push_bind(w.work_item_type.as_deref())
                .push_bind(w.title.as_deref())
                .push_bind(w.state.as_deref())
                .push_bind(w.reason.as_deref())
                .push_bind(w.assigned_to.as_deref())
                .push_bind(w.assigned_to_name.as_deref())
                .push_bind(w.created_by.as_deref())
                .push_bind(opt_ts(w.created_date))
                .push_bind(w.changed_by.as_deref())
                .push_bind(opt_ts(w.changed_date))
                .push_bind(opt_ts(w.closed_date))
                .push_bind(opt_ts(w.activated_date))
                .push_bind(opt_ts(w.resolved_date))
                .push_bind(w.area_path.as_deref())
                .push_bind(w.iteration_path.as_deref())
                .push_bind(w.priority)
                .push_bind(w.severity.as_deref())
                .push_bind(w.story_points)
                .push_bind(w.effort)
                .push_bind(w.remaining_work)
                .push_bind(w.parent_id)
                .push_bind(w.tags.as_deref())
                .push_bind(w.comment_count)
                .push_bind(opt_ts(w.last_comment_date))
                .push_bind(w.raw.as_str())
                .push_bind(at)
                .push_bind(opt_ts(proposed_deleted_at(w, observed_at)));
        });
        qb.push(WORK_ITEM_CONFLICT);
        written += execute(conn, OP, qb).await?;
    }
    Ok(written)
}

/// Inserts revisions not stored yet; stored revisions are never changed.
async fn insert_revisions(
    conn: &mut SqliteConnection,
    org: &str,
    at: &str,
    rows: &[WorkItemRevisionRow],
) -> Result<u64> {
    const OP: &str = "apply work_item_revisions";
    let rows = last_per_key(rows, |r| (r.id, r.rev));
    let mut written = 0;
    for chunk in rows.chunks(chunk_rows(10)) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO work_item_revisions (org, id, rev, changed_date, changed_by, state, \
             assigned_to, iteration_path, fields, synced_at) ",
        );
        qb.push_values(chunk, |mut b, r| {
            b.push_bind(org)
                .push_bind(r.id)
                .push_bind(r.rev)
                .push_bind(opt_ts(r.changed_date))
                .push_bind(r.changed_by.as_deref())
                .push_bind(r.state.as_deref())
                .push_bind(r.assigned_to.as_deref())
                .push_bind(r.iteration_path.as_deref())
                .push_bind(r.fields.as_str())
                .push_bind(at);
        });
        qb.push(" ON CONFLICT (org, id, rev) DO NOTHING");
        written += execute(conn, OP, qb).await?;
    }
    Ok(written)
}

/// Upserts link changes; a change replaces the stored one when its `changed_date` is newer
/// (or equal and observed no earlier; a missing date is the oldest).
async fn upsert_links(
    conn: &mut SqliteConnection,
    org: &str,
    at: &str,
    rows: &[WorkItemLinkRow],
) -> Result<u64> {
    const OP: &str = "apply work_item_links";
    let rows = newest_per_key(
        rows,
        |l| (l.source_id, l.target_id, l.rel.as_str()),
        |l| l.changed_date,
    );
    let mut written = 0;
    for chunk in rows.chunks(chunk_rows(8)) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO work_item_links AS t \
             (org, source_id, target_id, rel, is_active, changed_date, raw, synced_at) ",
        );
        qb.push_values(chunk, |mut b, l| {
            b.push_bind(org)
                .push_bind(l.source_id)
                .push_bind(l.target_id)
                .push_bind(l.rel.as_str())
                .push_bind(l.is_active)
                .push_bind(opt_ts(l.changed_date))
                .push_bind(l.raw.as_str())
                .push_bind(at);
        });
        qb.push(LINK_CONFLICT);
        written += execute(conn, OP, qb).await?;
    }
    Ok(written)
}

/// Stamps `deleted_at = at` on listed, live work items observed no later than `at`.
async fn mark_work_items_deleted(
    conn: &mut SqliteConnection,
    org: &str,
    at: &str,
    ids: &[i64],
) -> Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(sqlx::query(
        "UPDATE work_items SET deleted_at = $2 \
         WHERE org = $1 AND deleted_at IS NULL AND synced_at <= $2 \
         AND id IN (SELECT value FROM json_each($3))",
    )
    .bind(org)
    .bind(at)
    .bind(json_array(ids))
    .execute(&mut *conn)
    .await
    .map_err(Error::query("apply deleted work_items"))?
    .rows_affected())
}

/// Clears `deleted_at` marks of listed work items that were set no later than `at`.
async fn mark_work_items_restored(
    conn: &mut SqliteConnection,
    org: &str,
    at: &str,
    ids: &[i64],
) -> Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(sqlx::query(
        "UPDATE work_items SET deleted_at = NULL \
         WHERE org = $1 AND deleted_at <= $2 AND id IN (SELECT value FROM json_each($3))",
    )
    .bind(org)
    .bind(at)
    .bind(json_array(ids))
    .execute(&mut *conn)
    .await
    .map_err(Error::query("apply restored work_items"))?
    .rows_affected())
}

fn work_item_from(row: &SqliteRow) -> Result<StoredWorkItem> {
    const OP: &str = "read work_items";
    let deleted_at = get_opt_ts(row, OP, "deleted_at")?;
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
            created_date: get_opt_ts(row, OP, "created_date")?,
            changed_by: get(row, OP, "changed_by")?,
            changed_date: get_opt_ts(row, OP, "changed_date")?,
            closed_date: get_opt_ts(row, OP, "closed_date")?,
            activated_date: get_opt_ts(row, OP, "activated_date")?,
            resolved_date: get_opt_ts(row, OP, "resolved_date")?,
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
            last_comment_date: get_opt_ts(row, OP, "last_comment_date")?,
            is_deleted: deleted_at.is_some(),
            raw: get(row, OP, "raw")?,
        },
        deleted_at,
    })
}

fn revision_from(row: &SqliteRow) -> Result<WorkItemRevisionRow> {
    const OP: &str = "read work_item_revisions";
    Ok(WorkItemRevisionRow {
        id: get(row, OP, "id")?,
        rev: get(row, OP, "rev")?,
        changed_date: get_opt_ts(row, OP, "changed_date")?,
        changed_by: get(row, OP, "changed_by")?,
        state: get(row, OP, "state")?,
        assigned_to: get(row, OP, "assigned_to")?,
        iteration_path: get(row, OP, "iteration_path")?,
        fields: get(row, OP, "fields")?,
    })
}

fn link_from(row: &SqliteRow) -> Result<WorkItemLinkRow> {
    const OP: &str = "read work_item_links";
    Ok(WorkItemLinkRow {
        source_id: get(row, OP, "source_id")?,
        target_id: get(row, OP, "target_id")?,
        rel: get(row, OP, "rel")?,
        is_active: get(row, OP, "is_active")?,
        changed_date: get_opt_ts(row, OP, "changed_date")?,
        raw: get(row, OP, "raw")?,
    })
}

fn team_from(row: &SqliteRow) -> Result<StoredTeam> {
    const OP: &str = "read teams";
    Ok(StoredTeam {
        row: TeamRow {
            id: get(row, OP, "id")?,
            project_id: get(row, OP, "project_id")?,
            name: get(row, OP, "name")?,
            description: get(row, OP, "description")?,
            raw: get(row, OP, "raw")?,
        },
        deleted_at: get_opt_ts(row, OP, "deleted_at")?,
    })
}

fn user_profile_from(row: &SqliteRow) -> Result<UserProfile> {
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

fn node_from(row: &SqliteRow, op: &'static str, dated: bool) -> Result<StoredNode> {
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
                get_opt_ts(row, op, "start_date")?
            } else {
                None
            },
            finish_date: if dated {
                get_opt_ts(row, op, "finish_date")?
            } else {
                None
            },
            raw: get(row, op, "raw")?,
        },
        deleted_at: get_opt_ts(row, op, "deleted_at")?,
    })
}

fn work_item_type_from(row: &SqliteRow) -> Result<StoredWorkItemType> {
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

fn field_from(row: &SqliteRow) -> Result<WorkItemFieldRow> {
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
    pool: &SqlitePool,
    op: &'static str,
    sql: &'static str,
    org: &str,
    from: impl Fn(&SqliteRow) -> Result<T>,
) -> Result<Vec<T>> {
    let rows = sqlx::query(sql)
        .bind(org)
        .fetch_all(pool)
        .await
        .map_err(Error::query(op))?;
    rows.iter().map(from).collect()
}

impl SqliteStore {
    async fn boards_work_items(&self, org: &str) -> Result<Vec<StoredWorkItem>> {
        read_all(
            &self.reader,
            "read work_items",
            "SELECT * FROM work_items WHERE org = $1 ORDER BY id",
            org,
            work_item_from,
        )
        .await
    }

    async fn boards_team_members(&self, org: &str) -> Result<Vec<TeamMembers>> {
        let rows: Vec<(String, String, bool)> = sqlx::query_as(
            "SELECT team_id, user_id, is_team_admin FROM team_members \
             WHERE org = $1 ORDER BY team_id, user_id",
        )
        .bind(org)
        .fetch_all(&self.reader)
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
        // One read transaction: types and states from the same snapshot.
        let mut tx = self
            .reader
            .begin()
            .await
            .map_err(Error::query("read work_item_types"))?;
        let rows = sqlx::query(
            "SELECT project_id, name, reference_name, description, color, is_disabled, \
             category, raw FROM work_item_types WHERE org = $1 ORDER BY project_id, name",
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
                 WHERE org = $1 ORDER BY project_id, type_name, name",
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
