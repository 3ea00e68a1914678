//! [`PgStore`]: the PostgreSQL backend, for large organizations and several replicas. Owns
//! the connection pool and how a [`Statement`]'s binds become Postgres arguments; every
//! statement comes from [`super::sql`].
//!
//! Batched upserts bind one array per column and expand them with `UNNEST` (one fixed
//! statement per table, prepared once, whatever the page size), so a page is one statement
//! per table whatever its row count, with no bind-parameter limit.
//!
//! `raw` is JSONB: Postgres keeps the JSON *value*, not the text (key order and whitespace are
//! normalized, duplicate keys collapse), so the `raw` read back is an equal JSON value
//! re-serialized by Postgres, not the same bytes. Postgres text and JSONB cannot hold the NUL
//! character: a NUL in any text field or a `\u0000` in `raw` is replaced by U+FFFD before
//! writing (see [`without_nul`]), so that one odd PR title cannot block a page forever.

use std::borrow::Cow;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{PgConnection, Postgres, Row, Transaction};

use super::apply::{Cell, Exec};
use super::backend::{Backend, store_via_backend};
use super::common::micros;
use super::error::redact_url;
use super::schema::{Type, Value};
use super::sql::{Bind, Dialect, Statement};
use super::{Error, Result};

/// Connections of the pool.
const MAX_CONNECTIONS: u32 = 8;

/// The PostgreSQL backend. Cheap to clone: clones share the pool.
#[derive(Clone, Debug)]
pub struct PgStore {
    pub(super) pool: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/database?sslmode=…`). The
    /// database must exist. Does not migrate; call [`super::Store::migrate`].
    pub async fn connect(url: &str) -> Result<Self> {
        let connect_err = |source| Error::Connect {
            backend: "postgres",
            url: redact_url(url),
            source,
        };
        // Every statement planned for its own binds. sqlx prepares and caches each statement,
        // and after five executions Postgres may switch to a generic plan, chosen while a
        // backfill's tables were still empty: for the child-set deletes that plan scans the
        // organization's whole key prefix, so each write got slower as the table grew (a PR
        // depth backfill of 20,000 PRs: 68.5 s; see BENCHMARKS.md). The statements are
        // multi-row and few per transaction, so planning each costs little.
        let options = PgConnectOptions::from_str(url)
            .map_err(connect_err)?
            .options([("plan_cache_mode", "force_custom_plan")]);
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

fn text_of<'v>(ty: Type, v: &'v Value<'_>) -> Option<Cow<'v, str>> {
    match (ty, v) {
        (Type::Json, Value::Text(s) | Value::Json(s)) => Some(json_without_nul(s)),
        (Type::Json, Value::Owned(s)) => Some(json_without_nul(s)),
        (_, Value::Text(s) | Value::Json(s)) => Some(without_nul(s)),
        (_, Value::Owned(s)) => Some(without_nul(s)),
        _ => None,
    }
}

fn int_of(v: &Value<'_>) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

fn bool_of(v: &Value<'_>) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Int(i) => Some(*i != 0),
        _ => None,
    }
}

fn real_of(v: &Value<'_>) -> Option<f64> {
    match v {
        Value::Real(f) => Some(*f),
        _ => None,
    }
}

fn time_of(v: &Value<'_>) -> Option<DateTime<Utc>> {
    match v {
        Value::Time(t) => Some(micros(*t)),
        _ => None,
    }
}

type Query<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

fn bind_one<'q>(q: Query<'q>, ty: Type, v: &Value<'_>) -> Query<'q> {
    match ty {
        Type::Text | Type::Json => q.bind(text_of(ty, v)),
        Type::Int => q.bind(int_of(v)),
        Type::Bool => q.bind(bool_of(v)),
        Type::Real => q.bind(real_of(v)),
        Type::Time => q.bind(time_of(v)),
    }
}

fn bind_column<'q>(q: Query<'q>, ty: Type, vs: &[Value<'_>]) -> Query<'q> {
    match ty {
        Type::Text | Type::Json => q.bind(vs.iter().map(|v| text_of(ty, v)).collect::<Vec<_>>()),
        Type::Int => q.bind(vs.iter().map(int_of).collect::<Vec<_>>()),
        Type::Bool => q.bind(vs.iter().map(bool_of).collect::<Vec<_>>()),
        Type::Real => q.bind(vs.iter().map(real_of).collect::<Vec<_>>()),
        Type::Time => q.bind(vs.iter().map(time_of).collect::<Vec<_>>()),
    }
}

fn build<'q>(st: &Statement<'_>) -> Query<'q> {
    let mut q: Query<'q> = sqlx::query(sqlx::AssertSqlSafe(st.sql.clone()));
    for b in &st.binds {
        q = match b {
            Bind::One(ty, v) => bind_one(q, *ty, v),
            Bind::Column(ty, vs) => bind_column(q, *ty, vs),
        };
    }
    q
}

fn decode(row: &PgRow, i: usize, ty: Type) -> std::result::Result<Cell, sqlx::Error> {
    Ok(match ty {
        Type::Text | Type::Json => row
            .try_get::<Option<String>, _>(i)?
            .map_or(Cell::Null, Cell::Text),
        Type::Int => row
            .try_get::<Option<i64>, _>(i)?
            .map_or(Cell::Null, Cell::Int),
        Type::Bool => row
            .try_get::<Option<bool>, _>(i)?
            .map_or(Cell::Null, Cell::Bool),
        Type::Real => row
            .try_get::<Option<f64>, _>(i)?
            .map_or(Cell::Null, Cell::Real),
        Type::Time => row
            .try_get::<Option<DateTime<Utc>>, _>(i)?
            .map_or(Cell::Null, Cell::Time),
    })
}

/// A connection (a transaction or a pooled one) the generic code runs statements on.
pub(crate) struct Conn<C>(C);

impl<C> Exec for Conn<C>
where
    C: std::ops::DerefMut<Target = PgConnection> + Send,
{
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn execute(&mut self, st: Statement<'_>) -> Result<u64> {
        let q = build(&st);
        q.execute(&mut *self.0)
            .await
            .map(|r| r.rows_affected())
            .map_err(|e| Error::statement(&st, e))
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
                    .map(|(i, ty)| decode(row, i, *ty))
                    .collect::<std::result::Result<Vec<_>, _>>()
            })
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::statement(&st, e))
    }
}

impl Backend for PgStore {
    type Tx = Conn<Transaction<'static, Postgres>>;
    type Conn = Conn<PoolConnection<Postgres>>;

    async fn begin(&self) -> Result<Self::Tx> {
        self.pool
            .begin()
            .await
            .map(Conn)
            .map_err(Error::query("begin a write transaction"))
    }

    async fn commit(tx: Self::Tx) -> Result<()> {
        tx.0.commit().await.map_err(Error::query("commit"))
    }

    async fn reader(&self) -> Result<Self::Conn> {
        self.pool
            .acquire()
            .await
            .map(Conn)
            .map_err(Error::query("acquire a connection"))
    }

    async fn writer(&self) -> Result<Self::Conn> {
        self.reader().await
    }

    async fn lock_writer(&self, _org: &str) -> Result<super::WriterLock> {
        // Several processes may write PostgreSQL at once: they split the work by leases
        // (`store::coordination`) instead of excluding each other.
        Ok(super::WriterLock::unshared())
    }
}

// sqlx takes an advisory lock while migrating, so replicas starting together migrate one at
// a time.
store_via_backend!(PgStore, "./migrations/postgres", pool);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_replaced_in_text_and_json() {
        assert_eq!(without_nul("a\0b"), "a\u{FFFD}b");
        assert!(matches!(without_nul("ab"), Cow::Borrowed(_)));
        let cleaned = json_without_nul(r#"{"t":"a\u0000b","k\u0000":1}"#);
        let v: serde_json::Value = serde_json::from_str(&cleaned).unwrap();
        assert_eq!(v["t"], "a\u{FFFD}b");
        assert_eq!(v["k\u{FFFD}"], 1);
        assert_eq!(json_without_nul("not json \\u0000"), "not json \\u0000");
    }

    /// `sslmode` in the URL reaches the driver: `verify-full` against the local test server
    /// (no TLS, or a self-signed certificate for another name) must refuse to connect, where
    /// an ignored parameter would connect in clear text. The error shows no password.
    #[tokio::test]
    async fn sslmode_verify_full_is_honoured_and_the_error_hides_the_password() {
        let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
            eprintln!("TEST_DATABASE_URL not set: skipping the Postgres sslmode test");
            return;
        };
        let mut url = url::Url::parse(&admin).unwrap();
        let _ = url.set_password(Some("pw-s3cret"));
        url.query_pairs_mut().append_pair("sslmode", "verify-full");
        let err = PgStore::connect(url.as_str())
            .await
            .expect_err("verify-full cannot succeed against the local test server");
        let chain = crate::error_chain(&err);
        assert!(!chain.contains("pw-s3cret"), "{chain}");
        assert!(
            chain.contains("cannot connect to the postgres database"),
            "{chain}"
        );
    }
}
