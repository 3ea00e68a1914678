//! SQL generation for both backends from the table descriptions of [`super::schema`]: the one
//! place statements are written. A [`Statement`] is SQL text plus typed binds; each backend
//! only turns binds into its own arguments (`super::sqlite`, `super::postgres`).
//!
//! What differs between the dialects is confined to [`Builder`]: placeholders (`?` / `$n`),
//! and how a set of rows becomes a table in a statement — SQLite: a multi-row `VALUES` list
//! for upserts and a `json_each` over one JSON array for key sets (no bind-parameter limit);
//! Postgres: one array per column expanded with `UNNEST` (one statement shape whatever the
//! row count, JSON columns cast to `jsonb`).

use chrono::{DateTime, Utc};

use super::batch::{Mark, Missing, Scope, Template};
use super::schema::{Col, Guard, KeyPart, Table, Type, Update, Value};

/// The two SQL dialects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A bound value: one scalar, or a whole column (Postgres arrays).
#[derive(Debug, Clone, PartialEq)]
pub enum Bind<'a> {
    One(Type, Value<'a>),
    Column(Type, Vec<Value<'a>>),
}

/// One statement ready to run: what it writes (for errors), the SQL and its binds.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement<'a> {
    pub table: &'static str,
    pub what: &'static str,
    pub sql: String,
    pub binds: Vec<Bind<'a>>,
}

/// Builds one statement's text and binds.
struct Builder<'a> {
    dialect: Dialect,
    sql: String,
    binds: Vec<Bind<'a>>,
}

impl<'a> Builder<'a> {
    fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            sql: String::with_capacity(512),
            binds: Vec::new(),
        }
    }

    fn push(&mut self, text: &str) -> &mut Self {
        self.sql.push_str(text);
        self
    }

    fn placeholder(&mut self) {
        match self.dialect {
            Dialect::Sqlite => self.sql.push('?'),
            Dialect::Postgres => {
                self.sql.push('$');
                self.sql.push_str(&(self.binds.len() + 1).to_string());
            }
        }
    }

    fn bind(&mut self, ty: Type, value: Value<'a>) -> &mut Self {
        self.placeholder();
        self.binds.push(Bind::One(ty, value));
        self
    }

    fn bind_text(&mut self, text: &'a str) -> &mut Self {
        self.bind(Type::Text, Value::Text(text))
    }

    fn bind_time(&mut self, at: DateTime<Utc>) -> &mut Self {
        self.bind(Type::Time, Value::Time(at))
    }

    /// `rows` (each one value per column of `cols`) as a table aliased `s` with columns named
    /// as `cols`. For sets of keys and template rows; upserts use [`Builder::values_list`] on
    /// SQLite.
    fn source(&mut self, cols: &[&'static Col], rows: &[&[Value<'a>]]) -> &mut Self {
        match self.dialect {
            Dialect::Sqlite => {
                // One JSON array of row arrays, one bind whatever the size; typed back by
                // json_extract (integers stay integers, booleans become 0/1).
                let mut array = Vec::with_capacity(rows.len());
                for row in rows {
                    array.push(serde_json::Value::Array(
                        row.iter().map(|v| json_value(v)).collect(),
                    ));
                }
                self.push("(SELECT ");
                for (i, c) in cols.iter().enumerate() {
                    if i > 0 {
                        self.push(", ");
                    }
                    self.push(&format!("json_extract(value, '$[{i}]') AS {}", c.name));
                }
                self.push(" FROM json_each(");
                self.placeholder();
                self.binds.push(Bind::One(
                    Type::Json,
                    Value::Owned(serde_json::Value::Array(array).to_string()),
                ));
                self.push(")) AS s");
            }
            Dialect::Postgres => {
                self.push("UNNEST(");
                for (i, c) in cols.iter().enumerate() {
                    if i > 0 {
                        self.push(", ");
                    }
                    self.placeholder();
                    self.push("::").push(pg_array(c.ty));
                    self.binds.push(Bind::Column(
                        c.ty,
                        rows.iter().map(|r| r[i].clone()).collect(),
                    ));
                }
                self.push(") AS s(");
                self.push(&names(cols.iter().copied(), ""));
                self.push(")");
            }
        }
        self
    }

    /// SQLite's multi-row `VALUES (…), (…)` of `org`, the row's values and (when `at` is
    /// given) the observation time.
    fn values_list(
        &mut self,
        org: &'a str,
        rows: &[&[Value<'a>]],
        cols: &[&'static Col],
        at: Option<DateTime<Utc>>,
    ) {
        self.push(" VALUES ");
        for (r, row) in rows.iter().enumerate() {
            if r > 0 {
                self.push(", ");
            }
            self.push("(");
            self.bind_text(org);
            for (c, v) in cols.iter().zip(row.iter()) {
                self.push(", ");
                self.bind(c.ty, v.clone());
            }
            if let Some(at) = at {
                self.push(", ");
                self.bind_time(at);
            }
            self.push(")");
        }
    }

    fn finish(self, table: &'static str, what: &'static str) -> Statement<'a> {
        Statement {
            table,
            what,
            sql: self.sql,
            binds: self.binds,
        }
    }
}

/// A value as JSON, for SQLite's key-set sources.
fn json_value(v: &Value<'_>) -> serde_json::Value {
    match v {
        Value::Null | Value::Observed => serde_json::Value::Null,
        Value::Text(s) | Value::Json(s) => serde_json::Value::String((*s).to_string()),
        Value::Owned(s) => serde_json::Value::String(s.clone()),
        Value::Int(i) => (*i).into(),
        Value::Bool(b) => i64::from(*b).into(),
        Value::Real(f) => serde_json::Number::from_f64(*f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::Time(t) => serde_json::Value::String(super::sqlite::ts(*t)),
    }
}

fn pg_array(ty: Type) -> &'static str {
    match ty {
        Type::Text | Type::Json => "text[]",
        Type::Int => "int8[]",
        Type::Bool => "bool[]",
        Type::Real => "float8[]",
        Type::Time => "timestamptz[]",
    }
}

/// `a, b, c` with each name prefixed.
fn names<'c>(cols: impl Iterator<Item = &'c Col>, prefix: &str) -> String {
    cols.map(|c| format!("{prefix}{}", c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `(a, b)` or `a` for one column, prefixed.
fn tuple<'c>(cols: impl Iterator<Item = &'c Col>, prefix: &str) -> String {
    let list: Vec<String> = cols.map(|c| format!("{prefix}{}", c.name)).collect();
    if list.len() == 1 {
        list[0].clone()
    } else {
        format!("({})", list.join(", "))
    }
}

/// The `ON CONFLICT` clause of `table`'s upsert.
fn conflict_clause(table: &Table) -> String {
    let mut sets: Vec<String> = Vec::new();
    let mut changed: Vec<String> = Vec::new();
    for c in table.columns {
        let n = c.name;
        match c.update {
            Update::Set => sets.push(format!("{n} = excluded.{n}")),
            Update::Coalesce => sets.push(format!("{n} = COALESCE(excluded.{n}, t.{n})")),
            Update::Expr(e) => sets.push(format!("{n} = {e}")),
            Update::Keep => continue,
        }
        changed.push(format!("t.{n} IS DISTINCT FROM excluded.{n}"));
    }
    if table.observed {
        sets.push("synced_at = excluded.synced_at".into());
    }
    if table.revive {
        sets.push(
            "deleted_at = CASE WHEN excluded.synced_at > t.deleted_at THEN NULL \
             ELSE t.deleted_at END"
                .into(),
        );
    }
    let key = names(table.key.iter(), "");
    let guard = match table.guard {
        Guard::Immutable => None,
        Guard::Observed => Some("excluded.synced_at >= t.synced_at".to_string()),
        Guard::Changed if changed.is_empty() => None,
        Guard::Changed => Some(changed.join(" OR ")),
        Guard::Expr(e) => Some(e.to_string()),
    };
    match guard {
        Some(guard) if !sets.is_empty() => format!(
            " ON CONFLICT (org, {key}) DO UPDATE SET {} WHERE {guard}",
            sets.join(", ")
        ),
        _ => format!(" ON CONFLICT (org, {key}) DO NOTHING"),
    }
}

/// Upsert statements for `rows` of `table` (already one per key), chunked; with `returning`,
/// each statement returns the keys of the rows it wrote (on Postgres followed by whether the
/// row was inserted).
pub fn upsert<'a>(
    dialect: Dialect,
    table: &'static Table,
    org: &'a str,
    at: DateTime<Utc>,
    rows: &[&[Value<'a>]],
    returning: bool,
) -> Vec<Statement<'a>> {
    let cols: Vec<&'static Col> = table.all_columns().collect();
    let conflict = conflict_clause(table);
    let mut target = format!(
        "INSERT INTO {} AS t (org, {}",
        table.name,
        names(cols.iter().copied(), "")
    );
    if table.observed {
        target.push_str(", synced_at");
    }
    target.push(')');
    // Postgres also says which rows the statement inserted (a new row version has no xmax):
    // their child sets cannot be stored yet, so `apply` need not read them.
    let returning = returning.then(|| match dialect {
        Dialect::Sqlite => format!(" RETURNING {}", names(table.key.iter(), "")),
        Dialect::Postgres => format!(
            " RETURNING {}, (t.xmax = 0) AS inserted",
            names(table.key.iter(), "t.")
        ),
    });
    chunks(dialect, rows, cols.len())
        .map(|chunk| {
            let mut b = Builder::new(dialect);
            b.push(&target);
            match dialect {
                Dialect::Sqlite => {
                    b.values_list(org, chunk, &cols, table.observed.then_some(at));
                }
                Dialect::Postgres => {
                    b.push(" SELECT ").bind_text(org);
                    for c in &cols {
                        b.push(", s.").push(c.name);
                        if c.ty == Type::Json {
                            b.push("::jsonb");
                        }
                    }
                    if table.observed {
                        b.push(", ").bind_time(at);
                    }
                    b.push(" FROM ").source(&cols, chunk);
                }
            }
            b.push(&conflict);
            if let Some(r) = &returning {
                b.push(r);
            }
            let mut st = b.finish(table.name, "upsert");
            resolve_observed(&mut st, at);
            st
        })
        .collect()
}

/// The single-row upsert of `table` with numbered placeholders: `?1` is `org`, `?2…` the row's
/// values in column order, and the last one the observation time (when the table has
/// `synced_at`). For backends that prepare it once and step it per row (SQLite's fast path).
pub fn upsert_one(table: &'static Table) -> String {
    let cols: Vec<&'static Col> = table.all_columns().collect();
    let mut sql = format!(
        "INSERT INTO {} AS t (org, {}",
        table.name,
        names(cols.iter().copied(), "")
    );
    if table.observed {
        sql.push_str(", synced_at");
    }
    sql.push_str(") VALUES (?1");
    for i in 0..cols.len() {
        sql.push_str(&format!(", ?{}", i + 2));
    }
    if table.observed {
        sql.push_str(&format!(", ?{}", cols.len() + 2));
    }
    sql.push(')');
    sql.push_str(&conflict_clause(table));
    sql
}

/// The stored rows of one parent's child set, for backends that compare it with the new set
/// before writing: `?1` is `org`, `?2…` the parent's key; the columns are the child's key and
/// columns in order.
pub fn children_of_one(child: &'static Table, parent_key_len: usize) -> String {
    let mut sql = format!(
        "SELECT {} FROM {} WHERE org = ?1",
        names(child.all_columns(), ""),
        child.name
    );
    for (i, c) in child.key.iter().take(parent_key_len).enumerate() {
        sql.push_str(&format!(" AND {} = ?{}", c.name, i + 2));
    }
    sql
}

/// Deletes one row by key: `?1` is `org`, `?2…` the key.
pub fn delete_one(table: &'static Table) -> String {
    let mut sql = format!("DELETE FROM {} WHERE org = ?1", table.name);
    for (i, c) in table.key.iter().enumerate() {
        sql.push_str(&format!(" AND {} = ?{}", c.name, i + 2));
    }
    sql
}

/// Replaces [`Value::Observed`] with the observation time.
fn resolve_observed(st: &mut Statement<'_>, at: DateTime<Utc>) {
    for b in &mut st.binds {
        match b {
            Bind::One(_, v) if *v == Value::Observed => *v = Value::Time(at),
            Bind::Column(_, vs) => {
                for v in vs.iter_mut().filter(|v| **v == Value::Observed) {
                    *v = Value::Time(at);
                }
            }
            Bind::One(..) => {}
        }
    }
}

/// Rows per statement: SQLite binds every value (at most 32,766 parameters, and 500 rows
/// measured as fast as larger statements); Postgres binds one array per column, and a
/// statement of about a megabyte keeps each pooled connection's send buffer (which sqlx never
/// shrinks) small.
fn chunks<'r, 'a>(
    dialect: Dialect,
    rows: &'r [&'r [Value<'a>]],
    width: usize,
) -> impl Iterator<Item = &'r [&'r [Value<'a>]]> + 'r {
    const SQLITE_PARAMS: usize = 32_000;
    const SQLITE_ROWS: usize = 500;
    const PG_ROWS: usize = 5_000;
    const PG_BYTES: usize = 1 << 20;
    let max_rows = match dialect {
        Dialect::Sqlite => (SQLITE_PARAMS / (width + 2)).clamp(1, SQLITE_ROWS),
        Dialect::Postgres => PG_ROWS,
    };
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= rows.len() {
            return None;
        }
        let mut end = start;
        let mut bytes = 0;
        while end < rows.len() && end - start < max_rows && (end == start || bytes < PG_BYTES) {
            if dialect == Dialect::Postgres {
                bytes += rows[end].iter().map(value_bytes).sum::<usize>();
            }
            end += 1;
        }
        let chunk = &rows[start..end];
        start = end;
        Some(chunk)
    })
}

fn value_bytes(v: &Value<'_>) -> usize {
    match v {
        Value::Text(s) | Value::Json(s) => s.len(),
        Value::Owned(s) => s.len(),
        _ => 8,
    }
}

/// ` AND <cols> [NOT] IN (SELECT s.<cols> FROM <keys>)`.
fn push_key_filter<'a>(
    b: &mut Builder<'a>,
    cols: &[&'static Col],
    prefix: &str,
    keys: &[&[Value<'a>]],
    negate: bool,
) {
    b.push(" AND ").push(&tuple(cols.iter().copied(), prefix));
    b.push(if negate {
        " NOT IN (SELECT "
    } else {
        " IN (SELECT "
    });
    b.push(&names(cols.iter().copied(), "s."));
    b.push(" FROM ");
    b.source(cols, keys);
    b.push(")");
}

/// The stored child rows of `parents`: the child's key and columns in order.
pub fn children_of<'a>(
    dialect: Dialect,
    child: &'static Table,
    parent: &'static Table,
    org: &'a str,
    parents: &[&[Value<'a>]],
) -> Statement<'a> {
    let parent_cols: Vec<&'static Col> = child.key.iter().take(parent.key.len()).collect();
    let mut b = Builder::new(dialect);
    b.push("SELECT ");
    for (i, c) in child.all_columns().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        b.push("t.").push(c.name);
        // Read back as the types `Exec::fetch` decodes, whatever width the column has.
        if dialect == Dialect::Postgres {
            match c.ty {
                Type::Json => b.push("::text"),
                Type::Int => b.push("::int8"),
                Type::Real => b.push("::float8"),
                _ => &mut b,
            };
        }
    }
    b.push(" FROM ")
        .push(child.name)
        .push(" AS t WHERE t.org = ");
    b.bind_text(org);
    push_key_filter(&mut b, &parent_cols, "t.", parents, false);
    b.finish(child.name, "read children")
}

/// Deletes the child rows of `parents` whose key is not among `children` (the new sets).
pub fn delete_other_children<'a>(
    dialect: Dialect,
    child: &'static Table,
    parent: &'static Table,
    org: &'a str,
    parents: &[&[Value<'a>]],
    children: &[&[Value<'a>]],
) -> Statement<'a> {
    let parent_cols: Vec<&'static Col> = child.key.iter().take(parent.key.len()).collect();
    let key_cols: Vec<&'static Col> = child.key.iter().collect();
    let mut b = Builder::new(dialect);
    b.push("DELETE FROM ")
        .push(child.name)
        .push(" AS t WHERE t.org = ");
    b.bind_text(org);
    push_key_filter(&mut b, &parent_cols, "t.", parents, false);
    if !children.is_empty() {
        push_key_filter(&mut b, &key_cols, "t.", children, true);
    }
    b.finish(child.name, "replace children")
}

/// `WHERE org = ? AND <scope>` of a scoped listing.
fn push_scope<'a>(b: &mut Builder<'a>, org: &'a str, scope: &'a Scope, prefix: &str) {
    b.push(" WHERE ").push(prefix).push("org = ");
    b.bind_text(org);
    for (col, value) in scope {
        b.push(" AND ").push(prefix).push(col).push(" = ");
        match value {
            KeyPart::Text(s) => b.bind_text(s),
            KeyPart::Int(i) => b.bind(Type::Int, Value::Int(*i)),
        };
    }
}

/// `(live, missing)`: the live rows of `scope`, and those of them a complete listing
/// `present` lacks (what [`missing`] would mark or remove), for the mass-deletion guard.
pub fn missing_counts<'a>(
    dialect: Dialect,
    table: &'static Table,
    org: &'a str,
    at: DateTime<Utc>,
    scope: &'a Scope,
    present: &[&[Value<'a>]],
) -> Statement<'a> {
    let key: Vec<&'static Col> = table.key.iter().collect();
    let live = |b: &mut Builder<'a>| {
        if table.revive || table.columns.iter().any(|c| c.name == "deleted_at") {
            b.push(" AND deleted_at IS NULL");
        }
    };
    let mut b = Builder::new(dialect);
    b.push("SELECT (SELECT COUNT(*) FROM ").push(table.name);
    push_scope(&mut b, org, scope, "");
    live(&mut b);
    b.push("), (SELECT COUNT(*) FROM ").push(table.name);
    push_missing(&mut b, table, &key, org, at, scope, present, "");
    live(&mut b);
    b.push(")");
    b.finish(table.name, "count missing")
}

/// `WHERE <scope> AND observed no later AND key NOT IN <present>`: the rows of `scope` a
/// complete listing no longer has.
#[allow(clippy::too_many_arguments)]
fn push_missing<'a>(
    b: &mut Builder<'a>,
    table: &'static Table,
    key: &[&'static Col],
    org: &'a str,
    at: DateTime<Utc>,
    scope: &'a Scope,
    present: &[&[Value<'a>]],
    prefix: &str,
) {
    push_scope(b, org, scope, prefix);
    if table.observed {
        b.push(" AND ").push(prefix).push("synced_at <= ");
        b.bind_time(at);
    }
    if !present.is_empty() {
        push_key_filter(b, key, prefix, present, true);
    }
}

/// The statements that mark or remove the rows of `scope` missing from `present`; for a
/// removal, the cascaded children first.
pub fn missing<'a>(
    dialect: Dialect,
    table: &'static Table,
    org: &'a str,
    at: DateTime<Utc>,
    scope: &'a Scope,
    present: &[&[Value<'a>]],
    action: Missing,
) -> Vec<Statement<'a>> {
    let key: Vec<&'static Col> = table.key.iter().collect();
    let missing_filter = |b: &mut Builder<'a>, prefix: &str| {
        push_missing(b, table, &key, org, at, scope, present, prefix);
    };
    let mut out = Vec::new();
    match action {
        Missing::MarkDeleted => {
            let mut b = Builder::new(dialect);
            b.push("UPDATE ")
                .push(table.name)
                .push(" SET deleted_at = ");
            b.bind_time(at);
            missing_filter(&mut b, "");
            b.push(" AND deleted_at IS NULL");
            out.push(b.finish(table.name, "mark missing deleted"));
        }
        Missing::Remove { cascade } => {
            for child in cascade {
                let mut b = Builder::new(dialect);
                b.push("DELETE FROM ")
                    .push(child.name)
                    .push(" WHERE org = ");
                b.bind_text(org);
                let prefix_cols = child.key.iter().take(table.key.len());
                b.push(" AND ").push(&tuple(prefix_cols, ""));
                b.push(" IN (SELECT ").push(&names(table.key.iter(), "p."));
                b.push(" FROM ").push(table.name).push(" AS p");
                missing_filter(&mut b, "p.");
                b.push(")");
                out.push(b.finish(child.name, "remove children of missing"));
            }
            let mut b = Builder::new(dialect);
            b.push("DELETE FROM ").push(table.name);
            missing_filter(&mut b, "");
            out.push(b.finish(table.name, "remove missing"));
        }
    }
    out
}

/// An explicit deletion mark or restore of `keys`.
pub fn mark<'a>(
    dialect: Dialect,
    table: &'static Table,
    org: &'a str,
    at: DateTime<Utc>,
    keys: &[&[Value<'a>]],
    action: Mark,
) -> Statement<'a> {
    let key: Vec<&'static Col> = table.key.iter().collect();
    let mut b = Builder::new(dialect);
    b.push("UPDATE ").push(table.name);
    match action {
        Mark::Deleted => {
            b.push(" SET deleted_at = ");
            b.bind_time(at);
            b.push(" WHERE org = ");
            b.bind_text(org);
            b.push(" AND deleted_at IS NULL");
            if table.observed {
                b.push(" AND synced_at <= ");
                b.bind_time(at);
            }
        }
        Mark::Restored => {
            b.push(" SET deleted_at = NULL WHERE org = ");
            b.bind_text(org);
            b.push(" AND deleted_at <= ");
            b.bind_time(at);
        }
        Mark::Destroyed => {
            b.push(" SET destroyed_at = ");
            b.bind_time(at);
            b.push(", deleted_at = COALESCE(deleted_at, ");
            b.bind_time(at);
            b.push(") WHERE org = ");
            b.bind_text(org);
            b.push(" AND destroyed_at IS NULL");
        }
    }
    push_key_filter(&mut b, &key, "", keys, false);
    b.finish(
        table.name,
        match action {
            Mark::Deleted => "mark deleted",
            Mark::Restored => "restore",
            Mark::Destroyed => "mark destroyed",
        },
    )
}

/// The statements of `template` over `rows`.
pub fn template<'a>(
    dialect: Dialect,
    template: &'static Template,
    org: &'a str,
    at: DateTime<Utc>,
    rows: &[&[Value<'a>]],
) -> Vec<Statement<'a>> {
    let cols: Vec<&'static Col> = template.rows.all_columns().collect();
    template
        .statements
        .iter()
        .map(|text| {
            let mut b = Builder::new(dialect);
            let mut rest: &str = text;
            while let Some(open) = rest.find('{') {
                b.push(&rest[..open]);
                let after = &rest[open..];
                let end = after.find('}').map_or(after.len(), |i| i + 1);
                match &after[..end] {
                    "{org}" => {
                        b.bind_text(org);
                    }
                    "{at}" => {
                        b.bind_time(at);
                    }
                    "{rows}" => {
                        b.source(&cols, rows);
                    }
                    other => {
                        b.push(other);
                    }
                }
                rest = &after[end..];
            }
            b.push(rest);
            let mut st = b.finish(template.name, "template");
            resolve_observed(&mut st, at);
            st
        })
        .collect()
}

/// `INSERT … ON CONFLICT` of a cursor.
pub fn cursor<'a>(
    dialect: Dialect,
    org: &'a str,
    at: DateTime<Utc>,
    cursor: &'a super::batch::CursorUpdate,
) -> Statement<'a> {
    let mut b = Builder::new(dialect);
    b.push("INSERT INTO sync_cursors (org, connector, scope, value, updated_at) VALUES (");
    b.bind_text(org).push(", ");
    b.bind_text(&cursor.connector).push(", ");
    b.bind_text(&cursor.scope).push(", ");
    b.bind_text(&cursor.value).push(", ");
    b.bind_time(at);
    b.push(
        ") ON CONFLICT (org, connector, scope) DO UPDATE \
         SET value = excluded.value, updated_at = excluded.updated_at",
    );
    b.finish("sync_cursors", "upsert")
}

/// A statement with positional binds, for the store's bookkeeping queries: `sql` uses `{}`
/// for each bind in order.
pub fn query<'a>(
    dialect: Dialect,
    table: &'static str,
    sql: &str,
    binds: Vec<(Type, Value<'a>)>,
) -> Statement<'a> {
    let mut b = Builder::new(dialect);
    let mut parts = sql.split("{}");
    if let Some(first) = parts.next() {
        b.push(first);
    }
    let mut binds = binds.into_iter();
    for part in parts {
        if let Some((ty, v)) = binds.next() {
            b.bind(ty, v);
        }
        b.push(part);
    }
    b.finish(table, "query")
}

#[cfg(test)]
mod tests;
