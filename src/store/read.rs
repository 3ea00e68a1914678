//! Reading whole tables back, for tests and benchmarks only (the product reads cursors and run
//! records, nothing else): [`StoreRead`], one generic `SELECT` per table built from its
//! description and decoded with `sqlx::FromRow`. Compiled with `cfg(test)` or the
//! `test-support` feature.

use std::future::Future;

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, Row};

use super::schema::{Record, Table, Type};
use super::sql::Dialect;
use super::{AnyStore, Error, PgStore, Result, SqliteStore};

/// A row struct that both backends can decode.
pub trait Readable:
    Record + Unpin + for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow>
{
}
impl<T> Readable for T where
    T: Record + Unpin + for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow>
{
}

/// Reads every row of a table.
pub trait StoreRead {
    /// Every row of `R`'s table in `org`, ordered by key, with its deletion mark (`None` for
    /// tables without one).
    fn rows_with_deleted<R: Readable>(
        &self,
        org: &str,
    ) -> impl Future<Output = Result<Vec<(R, Option<DateTime<Utc>>)>>> + Send;

    /// Every row of `R`'s table in `org`, ordered by key.
    fn rows<R: Readable>(&self, org: &str) -> impl Future<Output = Result<Vec<R>>> + Send
    where
        Self: Sync,
    {
        async move {
            Ok(self
                .rows_with_deleted::<R>(org)
                .await?
                .into_iter()
                .map(|(r, _)| r)
                .collect())
        }
    }

    /// Rows of any table (all organizations).
    fn count(&self, table: &str) -> impl Future<Output = Result<i64>> + Send;
}

fn has_deleted_at(t: &Table) -> bool {
    t.revive || t.columns.iter().any(|c| c.name == "deleted_at")
}

/// `SELECT <columns> FROM <table> WHERE org = <p> ORDER BY <key>`.
fn select(d: Dialect, t: &Table) -> String {
    let mut cols: Vec<String> = t
        .all_columns()
        .map(|c| match (d, c.ty) {
            (Dialect::Postgres, Type::Json) => format!("{0}::text AS {0}", c.name),
            _ => c.name.to_string(),
        })
        .collect();
    if t.revive {
        cols.push("deleted_at".into());
    }
    let order: Vec<String> = t
        .key
        .iter()
        .map(|c| match (d, c.ty) {
            (Dialect::Postgres, Type::Text) => format!("{} COLLATE \"C\"", c.name),
            _ => c.name.to_string(),
        })
        .collect();
    let p = match d {
        Dialect::Sqlite => "?",
        Dialect::Postgres => "$1",
    };
    format!(
        "SELECT {} FROM {} WHERE org = {p} ORDER BY {}",
        cols.join(", "),
        t.name,
        order.join(", ")
    )
}

fn read_err(table: &'static str, sql: &str, source: sqlx::Error) -> Error {
    Error::Statement {
        table,
        what: "read",
        sql: sql.chars().take(240).collect(),
        source,
    }
}

impl StoreRead for SqliteStore {
    async fn rows_with_deleted<R: Readable>(
        &self,
        org: &str,
    ) -> Result<Vec<(R, Option<DateTime<Utc>>)>> {
        let t = R::TABLE;
        let sql = select(Dialect::Sqlite, t);
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(org)
            .fetch_all(&self.reader)
            .await
            .map_err(|e| read_err(t.name, &sql, e))?;
        rows.iter()
            .map(|row| {
                let deleted = if has_deleted_at(t) {
                    row.try_get::<Option<DateTime<Utc>>, _>("deleted_at")?
                } else {
                    None
                };
                Ok((R::from_row(row)?, deleted))
            })
            .collect::<std::result::Result<_, sqlx::Error>>()
            .map_err(|e| read_err(t.name, &sql, e))
    }

    async fn count(&self, table: &str) -> Result<i64> {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
            .fetch_one(&self.reader)
            .await
            .map_err(|e| read_err("count", &sql, e))
    }
}

impl StoreRead for PgStore {
    async fn rows_with_deleted<R: Readable>(
        &self,
        org: &str,
    ) -> Result<Vec<(R, Option<DateTime<Utc>>)>> {
        let t = R::TABLE;
        let sql = select(Dialect::Postgres, t);
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(org)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| read_err(t.name, &sql, e))?;
        rows.iter()
            .map(|row| {
                let deleted = if has_deleted_at(t) {
                    row.try_get::<Option<DateTime<Utc>>, _>("deleted_at")?
                } else {
                    None
                };
                Ok((R::from_row(row)?, deleted))
            })
            .collect::<std::result::Result<_, sqlx::Error>>()
            .map_err(|e| read_err(t.name, &sql, e))
    }

    async fn count(&self, table: &str) -> Result<i64> {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
            .fetch_one(&self.pool)
            .await
            .map_err(|e| read_err("count", &sql, e))
    }
}

impl StoreRead for AnyStore {
    async fn rows_with_deleted<R: Readable>(
        &self,
        org: &str,
    ) -> Result<Vec<(R, Option<DateTime<Utc>>)>> {
        match self {
            AnyStore::Sqlite(s) => s.rows_with_deleted(org).await,
            AnyStore::Postgres(s) => s.rows_with_deleted(org).await,
        }
    }

    async fn count(&self, table: &str) -> Result<i64> {
        match self {
            AnyStore::Sqlite(s) => s.count(table).await,
            AnyStore::Postgres(s) => s.count(table).await,
        }
    }
}
