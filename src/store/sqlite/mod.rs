//! [`SqliteStore`]: the default backend, one database file in WAL mode with ONE writer. Owns
//! the connection, its pragmas, the background checkpointer and how a [`Statement`]'s binds
//! become SQLite arguments; every statement comes from [`super::sql`].
//!
//! SQLite allows one writer at a time; a second connection that tries to write waits for the
//! busy timeout and then fails with "database is locked". So all writes go through a pool of
//! exactly one connection (tasks queue for it instead of racing; sqlx runs each connection on
//! its own worker thread, so the writes never block the async runtime), while reads use a
//! small separate pool that WAL lets run beside the writer.
//!
//! Timestamps are stored as UTC text in one fixed format, `2024-05-01T10:11:12.123456Z`
//! ([`ts`]), so that comparing the text compares the instants: the never-regress guards
//! (`excluded.synced_at >= t.synced_at`) are plain text comparisons. Sub-microsecond digits
//! (ADO sends 7) are dropped, as on Postgres.

use std::collections::HashSet;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Column, Row, Sqlite, SqliteConnection, Transaction};

mod raw;

use super::apply::{Cell, Exec, generic_replace_children, generic_upsert};
use super::backend::{Backend, store_via_backend};
use super::error::redact_url;
use super::schema::{Key, Table, Type, Value};
use super::sql::{Bind, Dialect, Statement};
use super::{Error, Result};

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

/// `at` as stored: UTC, microseconds, fixed width (sub-microsecond digits are truncated).
pub(crate) fn ts(at: DateTime<Utc>) -> String {
    at.format(TS_FORMAT).to_string()
}

/// Parses a stored timestamp of `column`.
fn parse_ts(column: &str, text: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.to_utc())
        .map_err(|e| Error::Corrupt {
            what: format!("{column} = {text:?} is not an RFC 3339 timestamp ({e})"),
        })
}

/// How the SQLite backend writes upserts and child sets. Both run the statements generated
/// from the table descriptions and the same changed-children-only logic; they differ in how
/// rows reach SQLite. `ADO_INGEST_SQLITE_WRITER=values` selects [`SqliteWriter::Values`], so
/// the benches can measure one against the other on the same build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SqliteWriter {
    /// One prepared single-row statement stepped per row on the raw handle (module `raw`,
    /// the only `unsafe`). The default: see `raw` for the measured difference.
    Raw,
    /// The multi-row `INSERT … VALUES … ON CONFLICT` statements bound through sqlx.
    Values,
}

impl SqliteWriter {
    /// The environment variable that selects the writer.
    pub const ENV: &'static str = "ADO_INGEST_SQLITE_WRITER";

    /// The writer `ADO_INGEST_SQLITE_WRITER` names (`raw`, `values`), [`SqliteWriter::Raw`]
    /// when unset.
    pub fn from_env() -> Result<Self> {
        match std::env::var(Self::ENV).as_deref() {
            Err(_) | Ok("raw") => Ok(Self::Raw),
            Ok("values") => Ok(Self::Values),
            Ok(other) => Err(Error::Setting {
                what: format!("{} = {other:?}: expected `raw` or `values`", Self::ENV),
            }),
        }
    }
}

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
    pub(super) reader: SqlitePool,
    /// How upserts reach SQLite.
    writes: SqliteWriter,
    /// The database file (`None` in memory), whose `.lock` file is the writer lock.
    path: Option<std::path::PathBuf>,
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
    /// `sqlite::memory:`, with the writer `ADO_INGEST_SQLITE_WRITER` names (see [`SqliteWriter`]).
    /// Does not migrate; call [`super::Store::migrate`].
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, SqliteWriter::from_env()?).await
    }

    /// [`SqliteStore::connect`] with the upsert writer chosen by the caller.
    pub async fn connect_with(url: &str, writes: SqliteWriter) -> Result<Self> {
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
                writes,
                path: None,
                _checkpointer: None,
            });
        }
        let path = Some(options.get_filename().to_path_buf());
        // Every reader opened up front: a connection (its worker thread and page cache)
        // first opened hours into a run would look like growth, and a service opens them
        // all sooner or later anyway.
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .min_connections(READERS)
            .connect_with(options)
            .await
            .map_err(connect_err)?;
        Ok(Self {
            _checkpointer: Some(Arc::new(start_checkpointer(reader.clone()))),
            writer,
            writes,
            path,
            reader,
        })
    }

    /// Closes both pools, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

type Query<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments>;

fn bind_value<'q>(q: Query<'q>, ty: Type, v: &Value<'_>) -> Query<'q> {
    match v {
        Value::Null | Value::Observed => match ty {
            Type::Int => q.bind(None::<i64>),
            Type::Bool => q.bind(None::<bool>),
            Type::Real => q.bind(None::<f64>),
            Type::Text | Type::Json | Type::Time => q.bind(None::<String>),
        },
        Value::Text(s) | Value::Json(s) => q.bind(*s),
        Value::Owned(s) => q.bind(s.as_str()),
        Value::Int(i) => q.bind(*i),
        Value::Bool(b) => q.bind(*b),
        Value::Real(f) => q.bind(*f),
        Value::Time(t) => q.bind(ts(*t)),
    }
}

fn build<'q>(st: &Statement<'_>) -> Query<'q> {
    let mut q: Query<'q> = sqlx::query(sqlx::AssertSqlSafe(st.sql.clone()));
    for b in &st.binds {
        q = match b {
            Bind::One(ty, v) => bind_value(q, *ty, v),
            // SQLite statements bind scalars only (see `sql::Builder::source`).
            Bind::Column(ty, vs) => vs.iter().fold(q, |q, v| bind_value(q, *ty, v)),
        };
    }
    q
}

// A malformed timestamp (text something other than this daemon wrote) is reported as
// `Error::Corrupt` naming its column, as the documented contract of `Error::Corrupt` says and
// the previous backend did; wrapping it into a `sqlx::Error::Decode` of the statement lost
// both the variant and the column.
fn decode(st: &Statement<'_>, row: &sqlx::sqlite::SqliteRow, i: usize, ty: Type) -> Result<Cell> {
    let failed = |e| Error::statement(st, e);
    Ok(match ty {
        Type::Text | Type::Json => row
            .try_get::<Option<String>, _>(i)
            .map_err(failed)?
            .map_or(Cell::Null, Cell::Text),
        Type::Int => row
            .try_get::<Option<i64>, _>(i)
            .map_err(failed)?
            .map_or(Cell::Null, Cell::Int),
        Type::Bool => row
            .try_get::<Option<bool>, _>(i)
            .map_err(failed)?
            .map_or(Cell::Null, Cell::Bool),
        Type::Real => row
            .try_get::<Option<f64>, _>(i)
            .map_err(failed)?
            .map_or(Cell::Null, Cell::Real),
        Type::Time => match row.try_get::<Option<String>, _>(i).map_err(failed)? {
            None => Cell::Null,
            Some(text) => {
                let column = format!("{}.{}", st.table, row.column(i).name());
                Cell::Time(parse_ts(&column, &text)?)
            }
        },
    })
}

/// A connection (a transaction or a pooled one) the generic code runs statements on, and how
/// it writes upserts.
pub(crate) struct Conn<C>(C, SqliteWriter);

impl<C> Exec for Conn<C>
where
    C: std::ops::DerefMut<Target = SqliteConnection> + Send,
{
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn execute(&mut self, st: Statement<'_>) -> Result<u64> {
        let q = build(&st);
        q.execute(&mut *self.0)
            .await
            .map(|r| r.rows_affected())
            .map_err(|e| Error::statement(&st, e))
    }

    #[allow(clippy::too_many_arguments)]
    async fn replace_children<'a>(
        &mut self,
        child: &'static Table,
        parent: &'static Table,
        org: &'a str,
        at: DateTime<Utc>,
        parents: &[Key],
        fresh: &HashSet<Key>,
        rows: &[&[Value<'a>]],
    ) -> Result<u64> {
        if self.1 == SqliteWriter::Values {
            return generic_replace_children(self, child, parent, org, at, parents, fresh, rows)
                .await;
        }
        let n = parent.key.len();
        self.with_handle(|db| {
            // SAFETY: see `with_handle`.
            unsafe { raw::replace_children(db, child, n, org, at, parents, rows) }
        })
        .await
    }

    async fn upsert<'a>(
        &mut self,
        table: &'static Table,
        org: &'a str,
        at: DateTime<Utc>,
        rows: &[&[Value<'a>]],
        want_keys: bool,
    ) -> Result<(u64, Vec<(Key, bool)>)> {
        if self.1 == SqliteWriter::Values {
            return generic_upsert(self, table, org, at, rows, want_keys).await;
        }
        self.with_handle(|db| {
            // SAFETY: see `with_handle`.
            unsafe { raw::upsert_rows(db, table, org, at, rows, want_keys) }
        })
        .await
    }

    async fn fetch(&mut self, st: Statement<'_>, types: &[Type]) -> Result<Vec<Vec<Cell>>> {
        let q = build(&st);
        let rows = q
            .fetch_all(&mut *self.0)
            .await
            .map_err(|e| Error::statement(&st, e))?;
        rows.iter()
            .map(|row| {
                types
                    .iter()
                    .enumerate()
                    .map(|(i, ty)| decode(&st, row, i, *ty))
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()
    }
}

impl<C> Conn<C>
where
    C: std::ops::DerefMut<Target = SqliteConnection> + Send,
{
    /// Runs `write` with this connection's raw handle. The statements block the calling
    /// thread for the page's write (milliseconds); on a multi-threaded runtime
    /// `block_in_place` first hands this worker's other tasks to another thread, so the
    /// projects' requests and parsing go on meanwhile. Writes only ever run in spawned tasks
    /// (the connectors'), never in the future `main` blocks on.
    ///
    /// `write` may use the handle unsafely: the lock guard keeps the connection away from
    /// sqlx's worker thread for the whole call, so this thread is its only user; `raw`'s
    /// functions finalize their statements before they return.
    async fn with_handle<T>(
        &mut self,
        write: impl FnOnce(std::ptr::NonNull<libsqlite3_sys::sqlite3>) -> Result<T>,
    ) -> Result<T> {
        let mut handle = self
            .0
            .lock_handle()
            .await
            .map_err(Error::query("lock the write connection"))?;
        let db = handle.as_raw_handle();
        let result = match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) => {
                tokio::task::block_in_place(|| write(db))
            }
            _ => write(db),
        };
        drop(handle);
        result
    }
}

impl Backend for SqliteStore {
    type Tx = Conn<Transaction<'static, Sqlite>>;
    type Conn = Conn<PoolConnection<Sqlite>>;

    async fn begin(&self) -> Result<Self::Tx> {
        // IMMEDIATE: take the write lock up front, so a concurrent writer in another process
        // makes this wait (busy timeout) rather than fail half-way.
        self.writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map(|c| Conn(c, self.writes))
            .map_err(Error::query("begin a write transaction"))
    }

    async fn commit(tx: Self::Tx) -> Result<()> {
        tx.0.commit().await.map_err(Error::query("commit"))
    }

    async fn reader(&self) -> Result<Self::Conn> {
        self.reader
            .acquire()
            .await
            .map(|c| Conn(c, self.writes))
            .map_err(Error::query("acquire a read connection"))
    }

    async fn writer(&self) -> Result<Self::Conn> {
        self.writer
            .acquire()
            .await
            .map(|c| Conn(c, self.writes))
            .map_err(Error::query("acquire the write connection"))
    }

    async fn lock_writer(&self, _org: &str) -> Result<super::WriterLock> {
        // One writer per file, whatever the organization: SQLite serializes writers anyway.
        match &self.path {
            Some(path) => super::WriterLock::file(path),
            None => Ok(super::WriterLock::unshared()),
        }
    }
}

store_via_backend!(SqliteStore, "./migrations/sqlite", writer);
