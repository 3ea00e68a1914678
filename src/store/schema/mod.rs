//! The table description language: what a table is (key, typed columns, conflict policy), what
//! a row of it gives the store ([`Record`]), and the tables themselves, one module per domain
//! (`core`, `repos`, `pr`, `commits`, `boards`, `pipelines`, `deployments`).
//!
//! A table is described once, here; the SQL of both backends (column lists, `ON CONFLICT … DO
//! UPDATE SET … WHERE <guard>`, SQLite's multi-row `VALUES`, Postgres' `UNNEST` arrays) is
//! generated from the description by [`super::sql`]. Descriptions and guards are plain data and
//! SQL fragments that both backends accept (`excluded.c`, `t.c`, `CASE`, `COALESCE`); nothing
//! here talks to a database.
//!
//! Every table has an `org` column first in its primary key, which is implicit: `key` lists the
//! columns after it.

pub mod boards;
pub mod commits;
pub mod core;
pub mod deployments;
pub mod pipelines;
pub mod pr;
pub mod repos;

use chrono::{DateTime, Utc};
use std::cmp::Ordering;

/// The SQL type of a column, as both backends store it (SQLite: TEXT timestamps in one fixed
/// format and TEXT JSON; Postgres: TIMESTAMPTZ and JSONB).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Text,
    /// BIGINT / INTEGER, bound as 64-bit.
    Int,
    Bool,
    /// Double precision.
    Real,
    /// A UTC timestamp, microsecond precision.
    Time,
    /// JSON text (Postgres JSONB).
    Json,
}

/// How the upsert updates a column of a stored row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Update {
    /// `c = excluded.c`
    Set,
    /// `c = COALESCE(excluded.c, t.c)`: a row without the value keeps the stored one.
    Coalesce,
    /// Written on insert only.
    Keep,
    /// A SQL expression both backends accept, over `t.*` and `excluded.*`.
    Expr(&'static str),
}

/// A column of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Col {
    pub name: &'static str,
    pub ty: Type,
    pub update: Update,
}

impl Col {
    const fn new(name: &'static str, ty: Type) -> Self {
        Self {
            name,
            ty,
            update: Update::Set,
        }
    }
    pub const fn text(name: &'static str) -> Self {
        Self::new(name, Type::Text)
    }
    pub const fn int(name: &'static str) -> Self {
        Self::new(name, Type::Int)
    }
    pub const fn bool(name: &'static str) -> Self {
        Self::new(name, Type::Bool)
    }
    pub const fn real(name: &'static str) -> Self {
        Self::new(name, Type::Real)
    }
    pub const fn time(name: &'static str) -> Self {
        Self::new(name, Type::Time)
    }
    pub const fn json(name: &'static str) -> Self {
        Self::new(name, Type::Json)
    }
    /// Keeps the stored value when the new row has none.
    pub const fn coalesce(mut self) -> Self {
        self.update = Update::Coalesce;
        self
    }
    /// Written on insert only; later upserts leave it (set by other writes).
    pub const fn keep(mut self) -> Self {
        self.update = Update::Keep;
        self
    }
    /// Updated with a custom expression.
    pub const fn expr(mut self, sql: &'static str) -> Self {
        self.update = Update::Expr(sql);
        self
    }
}

/// When an upsert replaces a stored row (DESIGN.md "Never regress a row").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// The new observation is not older: `excluded.synced_at >= t.synced_at`.
    Observed,
    /// Any column differs (null-safe): rows that did not change are not rewritten. For child
    /// sets, whose parent's own guard decides whether the set is replaced at all.
    Changed,
    /// Never updated once written (`DO NOTHING`).
    Immutable,
    /// A custom condition both backends accept, over `t.*` and `excluded.*`.
    Expr(&'static str),
}

/// A table (or, for custom writes, the column layout of a row source).
#[derive(Debug, PartialEq, Eq)]
pub struct Table {
    pub name: &'static str,
    /// Primary key columns after `org`.
    pub key: &'static [Col],
    /// The other columns a row writes, after the key (not `org`, `synced_at` or, unless
    /// listed, `deleted_at`).
    pub columns: &'static [Col],
    /// Has `synced_at`, written with the batch's observation time.
    pub observed: bool,
    pub guard: Guard,
    /// Has `deleted_at` (not among `columns`), lifted by a newer observation of the row: a
    /// row that reappears in a listing after it was marked deleted is live again.
    pub revive: bool,
    /// Among rows of one batch with the same key, the one with the greatest value of this
    /// column wins (revision numbers, change dates); otherwise the last one does.
    pub newest_by: Option<&'static str>,
}

impl Table {
    /// Key columns, then the other columns: the order of [`Record::values`].
    pub fn all_columns(&self) -> impl Iterator<Item = &'static Col> + use<> {
        let (key, columns): (&'static [Col], &'static [Col]) = (self.key, self.columns);
        key.iter().chain(columns.iter())
    }

    /// Number of values a row gives.
    pub fn width(&self) -> usize {
        self.key.len() + self.columns.len()
    }

    /// Position of column `name` among [`Table::all_columns`].
    pub fn position(&self, name: &str) -> Option<usize> {
        self.all_columns().position(|c| c.name == name)
    }
}

/// One value of a row, borrowed from the row struct.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Text(&'a str),
    Int(i64),
    Bool(bool),
    Real(f64),
    Time(DateTime<Utc>),
    /// JSON text.
    Json(&'a str),
    /// Text owned by the value (keys built by the store).
    Owned(String),
    /// The observation time of the batch the row is written in.
    Observed,
}

impl Value<'_> {
    /// Total order for de-duplication and key sorting: NULL first, then by type, then value.
    pub fn cmp_total(&self, other: &Self) -> Ordering {
        fn rank(v: &Value<'_>) -> u8 {
            match v {
                Value::Null => 0,
                Value::Bool(_) => 1,
                Value::Int(_) => 2,
                Value::Real(_) => 3,
                Value::Time(_) | Value::Observed => 4,
                Value::Text(_) | Value::Owned(_) => 5,
                Value::Json(_) => 6,
            }
        }
        match (self, other) {
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::Real(a), Value::Real(b)) => a.total_cmp(b),
            (Value::Time(a), Value::Time(b)) => a.cmp(b),
            (Value::Text(a), Value::Text(b)) | (Value::Json(a), Value::Json(b)) => a.cmp(b),
            (Value::Owned(a), Value::Owned(b)) => a.cmp(b),
            (Value::Text(a), Value::Owned(b)) => (*a).cmp(b.as_str()),
            (Value::Owned(a), Value::Text(b)) => a.as_str().cmp(b),
            (a, b) => rank(a).cmp(&rank(b)),
        }
    }

    /// The owned form of a key value.
    pub fn to_key(&self) -> KeyPart {
        match self {
            Value::Text(s) | Value::Json(s) => KeyPart::Text((*s).to_string()),
            Value::Owned(s) => KeyPart::Text(s.clone()),
            Value::Int(i) => KeyPart::Int(*i),
            Value::Bool(b) => KeyPart::Int(i64::from(*b)),
            other => KeyPart::Text(format!("{other:?}")),
        }
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(s: &'a str) -> Self {
        Value::Text(s)
    }
}
impl<'a> From<&'a String> for Value<'a> {
    fn from(s: &'a String) -> Self {
        Value::Text(s)
    }
}
impl<'a> From<&'a Option<String>> for Value<'a> {
    fn from(s: &'a Option<String>) -> Self {
        s.as_deref().map_or(Value::Null, Value::Text)
    }
}
impl From<i64> for Value<'_> {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<i32> for Value<'_> {
    fn from(i: i32) -> Self {
        Value::Int(i64::from(i))
    }
}
impl From<Option<i64>> for Value<'_> {
    fn from(i: Option<i64>) -> Self {
        i.map_or(Value::Null, Value::Int)
    }
}
impl From<bool> for Value<'_> {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<Option<f64>> for Value<'_> {
    fn from(f: Option<f64>) -> Self {
        f.map_or(Value::Null, Value::Real)
    }
}
impl From<DateTime<Utc>> for Value<'_> {
    fn from(t: DateTime<Utc>) -> Self {
        Value::Time(t)
    }
}
impl From<Option<DateTime<Utc>>> for Value<'_> {
    fn from(t: Option<DateTime<Utc>>) -> Self {
        t.map_or(Value::Null, Value::Time)
    }
}

/// A JSON column's value.
pub fn json(raw: &str) -> Value<'_> {
    Value::Json(raw)
}

/// One column of an owned key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyPart {
    Text(String),
    Int(i64),
}

impl KeyPart {
    pub fn as_value(&self) -> Value<'_> {
        match self {
            KeyPart::Text(s) => Value::Text(s),
            KeyPart::Int(i) => Value::Int(*i),
        }
    }
}

impl From<&str> for KeyPart {
    fn from(s: &str) -> Self {
        KeyPart::Text(s.to_string())
    }
}
impl From<String> for KeyPart {
    fn from(s: String) -> Self {
        KeyPart::Text(s)
    }
}
impl From<&String> for KeyPart {
    fn from(s: &String) -> Self {
        KeyPart::Text(s.clone())
    }
}
impl From<i64> for KeyPart {
    fn from(i: i64) -> Self {
        KeyPart::Int(i)
    }
}

/// An owned primary key (the columns after `org`).
pub type Key = Vec<KeyPart>;

/// A row struct of a table: its values in the order of [`Table::all_columns`].
pub trait Record: Send + Sync + 'static {
    const TABLE: &'static Table;

    /// Pushes the row's values: key columns, then the other columns.
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>);

    /// The row's primary key.
    fn key(&self) -> Key {
        let mut values = Vec::with_capacity(Self::TABLE.width());
        self.values(&mut values);
        values
            .iter()
            .take(Self::TABLE.key.len())
            .map(Value::to_key)
            .collect()
    }
}

/// Every table with rows of its own, for checks against the migrations.
pub fn all_tables() -> Vec<&'static Table> {
    let mut v = core::TABLES.to_vec();
    v.extend_from_slice(repos::TABLES);
    v.extend_from_slice(pr::TABLES);
    v.extend_from_slice(commits::TABLES);
    v.extend_from_slice(boards::TABLES);
    v.extend_from_slice(pipelines::TABLES);
    v.extend_from_slice(deployments::TABLES);
    v
}

#[cfg(test)]
pub(crate) mod check {
    //! Shared checks of every domain module's tables.
    use super::*;

    /// A record gives exactly one value per column, of the column's type (or NULL).
    pub fn record_matches_table<R: Record>(row: &R) {
        let mut values = Vec::new();
        row.values(&mut values);
        let table = R::TABLE;
        assert_eq!(
            values.len(),
            table.width(),
            "{}: {} values for {} columns",
            table.name,
            values.len(),
            table.width()
        );
        for (col, v) in table.all_columns().zip(&values) {
            let ok = matches!(
                (col.ty, v),
                (_, Value::Null)
                    | (Type::Text, Value::Text(_) | Value::Owned(_))
                    | (Type::Int, Value::Int(_))
                    | (Type::Bool, Value::Bool(_))
                    | (Type::Real, Value::Real(_))
                    | (Type::Time, Value::Time(_) | Value::Observed)
                    | (Type::Json, Value::Json(_))
            );
            assert!(
                ok,
                "{}.{}: {:?} is not a {:?}",
                table.name, col.name, v, col.ty
            );
        }
    }
}
