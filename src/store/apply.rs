//! Runs a [`Batch`] on one backend transaction: the generic half of `Store::apply`. Each write
//! becomes the statements of [`super::sql`]; a backend only provides [`Exec`] (run a
//! statement, fetch typed rows). Nothing here is backend-specific.

use std::collections::{HashMap, HashSet};
use std::future::Future;

use chrono::{DateTime, Utc};

use super::Result;
use super::batch::{Batch, MASS_DELETION_MIN, Rows, Write};
use super::common::micros;
use super::schema::{Key, KeyPart, Table, Type, Value};
use super::sql::{self, Dialect, Statement};

/// A value read back by [`Exec::fetch`].
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Text(String),
    Int(i64),
    Bool(bool),
    Real(f64),
    Time(DateTime<Utc>),
}

impl Cell {
    pub fn as_key(&self) -> KeyPart {
        match self {
            Cell::Int(i) => KeyPart::Int(*i),
            Cell::Text(s) => KeyPart::Text(s.clone()),
            Cell::Bool(b) => KeyPart::Int(i64::from(*b)),
            other => KeyPart::Text(format!("{other:?}")),
        }
    }

    /// Whether `v`, written now (observation time `at`), would be stored as this cell. JSON
    /// is compared as a value (Postgres normalizes it), times at the stored microseconds.
    fn matches(&self, v: &Value<'_>, at: DateTime<Utc>) -> bool {
        match (self, v) {
            (Cell::Null, Value::Null) => true,
            (Cell::Int(a), Value::Int(b)) => a == b,
            (Cell::Int(a), Value::Bool(b)) | (Cell::Bool(b), Value::Int(a)) => *a == i64::from(*b),
            (Cell::Bool(a), Value::Bool(b)) => a == b,
            (Cell::Real(a), Value::Real(b)) => a == b,
            (Cell::Text(a), Value::Text(b)) => a == b,
            (Cell::Text(a), Value::Owned(b)) => a == b,
            (Cell::Text(a), Value::Json(b)) => {
                let parse = |t: &str| serde_json::from_str::<serde_json::Value>(t).ok();
                a == b || matches!((parse(a), parse(b)), (Some(x), Some(y)) if x == y)
            }
            (Cell::Time(a), Value::Time(b)) => *a == micros(*b),
            (Cell::Time(a), Value::Observed) => *a == at,
            _ => false,
        }
    }

    pub fn into_text(self) -> Option<String> {
        match self {
            Cell::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Cell::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_time(&self) -> Option<DateTime<Utc>> {
        match self {
            Cell::Time(t) => Some(*t),
            _ => None,
        }
    }
}

/// What a backend's connection provides to the generic code.
pub(crate) trait Exec: Send {
    fn dialect(&self) -> Dialect;

    /// Runs a statement; returns the rows it changed.
    fn execute(&mut self, st: Statement<'_>) -> impl Future<Output = Result<u64>> + Send;

    /// Runs a query; returns its rows, one cell per column decoded as `types`.
    fn fetch(
        &mut self,
        st: Statement<'_>,
        types: &[Type],
    ) -> impl Future<Output = Result<Vec<Vec<Cell>>>> + Send;

    /// Replaces the child sets of `parents` (keys of `parent`) with `rows` (one per key,
    /// sorted by key, each starting with its parent's key), leaving alone the parents whose
    /// stored set equals the new one; `fresh` parents were just inserted, so they have no
    /// stored set to read. Returns the rows written. [`generic_replace_children`]
    /// unless a backend has a faster way.
    #[allow(clippy::too_many_arguments)]
    fn replace_children<'a>(
        &mut self,
        child: &'static Table,
        parent: &'static Table,
        org: &'a str,
        at: DateTime<Utc>,
        parents: &[Key],
        fresh: &HashSet<Key>,
        rows: &[&[Value<'a>]],
    ) -> impl Future<Output = Result<u64>> + Send
    where
        Self: Sized,
    {
        generic_replace_children(self, child, parent, org, at, parents, fresh, rows)
    }

    /// Upserts `rows` (one per key) of `table`; returns the rows written and, with
    /// `want_keys`, the keys of those written, each with whether it is known to have been
    /// inserted rather than updated. [`generic_upsert`] unless a backend has a faster way.
    fn upsert<'a>(
        &mut self,
        table: &'static Table,
        org: &'a str,
        at: DateTime<Utc>,
        rows: &[&[Value<'a>]],
        want_keys: bool,
    ) -> impl Future<Output = Result<(u64, Vec<(Key, bool)>)>> + Send
    where
        Self: Sized,
    {
        generic_upsert(self, table, org, at, rows, want_keys)
    }
}

/// [`Exec::upsert`] through the multi-row statements of [`sql::upsert`].
pub(crate) async fn generic_upsert<'a, E: Exec>(
    e: &mut E,
    table: &'static Table,
    org: &'a str,
    at: DateTime<Utc>,
    rows: &[&[Value<'a>]],
    want_keys: bool,
) -> Result<(u64, Vec<(Key, bool)>)> {
    let mut written = 0;
    let mut keys = Vec::new();
    let mut types: Vec<Type> = table.key.iter().map(|c| c.ty).collect();
    if e.dialect() == Dialect::Postgres {
        types.push(Type::Bool);
    }
    let k = table.key.len();
    for st in sql::upsert(e.dialect(), table, org, at, rows, want_keys) {
        if want_keys {
            for row in e.fetch(st, &types).await? {
                written += 1;
                let inserted = matches!(row.get(k), Some(Cell::Bool(true)));
                keys.push((row[..k].iter().map(Cell::as_key).collect(), inserted));
            }
        } else {
            written += e.execute(st).await?;
        }
    }
    Ok((written, keys))
}

/// [`Exec::replace_children`] in generated statements: one read of the stored sets, then, for
/// the parents whose set changed only, one delete of the children their new sets lack and
/// the upserts of their new rows. An incremental sync sees unchanged reviewers for most pull
/// requests, so most pages end after the read.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn generic_replace_children<'a, E: Exec>(
    e: &mut E,
    child: &'static Table,
    parent: &'static Table,
    org: &'a str,
    at: DateTime<Utc>,
    parents: &[Key],
    fresh: &HashSet<Key>,
    rows: &[&[Value<'a>]],
) -> Result<u64> {
    let d = e.dialect();
    let n = parent.key.len();
    let k = child.key.len();
    let parent_values = key_values(parents);
    let parent_rows: Vec<&[Value]> = parent_values.iter().map(Vec::as_slice).collect();
    let types: Vec<Type> = child.all_columns().map(|c| c.ty).collect();
    // A backfill page inserts all its parents: then there is nothing to read.
    let to_read: Vec<&[Value]> = parents
        .iter()
        .zip(&parent_rows)
        .filter(|(p, _)| !fresh.contains(*p))
        .map(|(_, r)| *r)
        .collect();
    let stored_rows = if to_read.is_empty() {
        Vec::new()
    } else {
        let read = sql::children_of(d, child, parent, org, &to_read);
        e.fetch(read, &types).await?
    };
    // parent key → (child key → stored row)
    let mut stored: HashMap<Key, HashMap<Key, Vec<Cell>>> = HashMap::new();
    for row in stored_rows {
        let parent_key: Key = row[..n].iter().map(Cell::as_key).collect();
        let key: Key = row[..k].iter().map(Cell::as_key).collect();
        stored.entry(parent_key).or_default().insert(key, row);
    }
    let mut new: HashMap<Key, Vec<&[Value<'a>]>> = HashMap::new();
    for row in rows {
        new.entry(prefix_key(row, n)).or_default().push(row);
    }
    let empty = HashMap::new();
    let changed: HashSet<&Key> = parents
        .iter()
        .filter(|p| {
            let old = stored.get(*p).unwrap_or(&empty);
            let new: &[&[Value]] = new.get(*p).map_or(&[], Vec::as_slice);
            old.len() != new.len()
                || !new.iter().all(|row| {
                    old.get(&prefix_key(row, k))
                        .is_some_and(|s| s.iter().zip(row.iter()).all(|(c, v)| c.matches(v, at)))
                })
        })
        .collect();
    if changed.is_empty() {
        return Ok(0);
    }
    let changed_parents: Vec<&[Value]> = parents
        .iter()
        .zip(&parent_rows)
        .filter(|(p, _)| changed.contains(p))
        .map(|(_, r)| *r)
        .collect();
    let changed_rows: Vec<&[Value<'a>]> = rows
        .iter()
        .copied()
        .filter(|row| changed.contains(&prefix_key(row, n)))
        .collect();
    let child_keys: Vec<&[Value]> = changed_rows.iter().map(|r| &r[..k]).collect();
    let delete = sql::delete_other_children(d, child, parent, org, &changed_parents, &child_keys);
    let deleted = e.execute(delete).await?;
    Ok(deleted
        + generic_upsert(e, child, org, at, &changed_rows, false)
            .await?
            .0)
}

/// The values of every row, flat (`width` per row).
fn flat_values<'a>(rows: &'a dyn Rows) -> Vec<Value<'a>> {
    let width = rows.table().width();
    let mut out = Vec::with_capacity(rows.len() * width);
    for i in 0..rows.len() {
        let before = out.len();
        rows.values_of(i, &mut out);
        debug_assert_eq!(out.len() - before, width, "{}", rows.table().name);
    }
    out
}

fn cmp_keys(a: &[Value<'_>], b: &[Value<'_>]) -> std::cmp::Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.cmp_total(y))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

/// One row per key, sorted by key: the last of equal keys wins, or the one with the greatest
/// `newest_by` value (the last of equals). Postgres rejects an upsert that touches one row
/// twice, and sorted keys make concurrent writers lock rows in the same order (no deadlock).
pub(crate) fn one_per_key<'r, 'a>(
    table: &Table,
    rows: Vec<&'r [Value<'a>]>,
) -> Vec<&'r [Value<'a>]> {
    let k = table.key.len();
    let order = table.newest_by.and_then(|c| table.position(c));
    let mut sorted = rows;
    // Stable: among equal keys (and orders) the original order is kept, so the last wins.
    sorted.sort_by(|a, b| {
        cmp_keys(&a[..k], &b[..k]).then_with(|| match order {
            Some(i) => a[i].cmp_total(&b[i]),
            None => std::cmp::Ordering::Equal,
        })
    });
    let mut out: Vec<&[Value<'a>]> = Vec::with_capacity(sorted.len());
    for row in sorted {
        match out.last_mut() {
            Some(last) if cmp_keys(&last[..k], &row[..k]).is_eq() => *last = row,
            _ => out.push(row),
        }
    }
    out
}

fn key_values(keys: &[Key]) -> Vec<Vec<Value<'_>>> {
    keys.iter()
        .map(|k| k.iter().map(KeyPart::as_value).collect())
        .collect()
}

fn prefix_key(row: &[Value<'_>], n: usize) -> Key {
    row[..n].iter().map(Value::to_key).collect()
}

/// Writes `batch` through `e` (one open transaction); returns the rows written.
pub(crate) async fn apply<E: Exec>(e: &mut E, org: &str, batch: &Batch) -> Result<u64> {
    let d = e.dialect();
    let at = micros(batch.observed_at);
    // Tables whose upsert decides which child sets are replaced: their upserts return keys.
    let parents: HashSet<&'static str> = batch
        .writes()
        .iter()
        .filter_map(|w| match w {
            Write::Children { parent, .. } => Some(parent.name),
            _ => None,
        })
        .collect();
    // Per parent table: the keys its upserts wrote, each with whether it was inserted.
    let mut written_keys: HashMap<&'static str, HashMap<Key, bool>> = HashMap::new();
    let mut written = 0u64;
    for write in batch.writes() {
        match write {
            Write::Upsert(rows) => {
                let table = rows.table();
                let flat = flat_values(&**rows);
                let unique = one_per_key(table, flat.chunks_exact(table.width()).collect());
                let want_keys = parents.contains(table.name);
                let (n, keys) = e.upsert(table, org, at, &unique, want_keys).await?;
                written += n;
                if want_keys {
                    written_keys.entry(table.name).or_default().extend(keys);
                }
            }
            Write::Children {
                parent,
                parents,
                rows,
            } => {
                let child = rows.table();
                let n = parent.key.len();
                let Some(effective) = written_keys.get(parent.name) else {
                    continue;
                };
                let mut live: Vec<Key> = parents
                    .iter()
                    .filter(|k| effective.contains_key(*k))
                    .cloned()
                    .collect();
                live.sort();
                live.dedup();
                if live.is_empty() {
                    continue;
                }
                let live_set: HashSet<&Key> = live.iter().collect();
                let flat = flat_values(&**rows);
                let mine: Vec<&[Value]> = flat
                    .chunks_exact(child.width())
                    .filter(|row| live_set.contains(&prefix_key(row, n)))
                    .collect();
                let unique = one_per_key(child, mine);
                let fresh: HashSet<Key> = live
                    .iter()
                    .filter(|k| effective.get(*k).copied().unwrap_or(false))
                    .cloned()
                    .collect();
                written += e
                    .replace_children(child, parent, org, at, &live, &fresh, &unique)
                    .await?;
            }
            Write::Missing {
                table,
                scope,
                present,
                action,
            } => {
                let values = key_values(present);
                let rows: Vec<&[Value]> = values.iter().map(Vec::as_slice).collect();
                if !batch.mass_deletion_allowed {
                    let counts = sql::missing_counts(d, table, org, at, scope, &rows);
                    let cells = e.fetch(counts, &[Type::Int, Type::Int]).await?;
                    let count = |i: usize| match cells.first().and_then(|r| r.get(i)) {
                        Some(Cell::Int(n)) => *n,
                        _ => 0,
                    };
                    let (live, missing) = (count(0), count(1));
                    if missing >= MASS_DELETION_MIN && missing * 2 > live {
                        tracing::error!(
                            table = table.name,
                            scope = ?scope,
                            live,
                            missing,
                            "a complete listing lacks more than half of the stored rows: \
                             not marking them deleted (a token that lost its permissions?); \
                             if ADO really deleted them, run once with \
                             sync.allow_mass_deletion = true"
                        );
                        continue;
                    }
                }
                for st in sql::missing(d, table, org, at, scope, &rows, *action) {
                    written += e.execute(st).await?;
                }
            }
            Write::Mark {
                table,
                keys,
                action,
            } => {
                let values = key_values(keys);
                let rows: Vec<&[Value]> = values.iter().map(Vec::as_slice).collect();
                written += e
                    .execute(sql::mark(d, table, org, at, &rows, *action))
                    .await?;
            }
            Write::Template { template, rows } => {
                let table = rows.table();
                let flat = flat_values(&**rows);
                let unique = one_per_key(table, flat.chunks_exact(table.width()).collect());
                for st in sql::template(d, template, org, at, &unique) {
                    written += e.execute(st).await?;
                }
            }
        }
    }
    if let Some(cursor) = &batch.cursor {
        e.execute(sql::cursor(d, org, at, cursor)).await?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema::boards::WORK_ITEMS;
    use crate::store::schema::repos::PULL_REQUEST_REVIEWERS;

    #[test]
    fn one_per_key_keeps_the_last_occurrence_sorted() {
        let rows: Vec<Vec<Value>> = [(3, "a"), (1, "b"), (3, "c"), (2, "d"), (1, "e")]
            .iter()
            .map(|(id, r)| {
                vec![
                    Value::Int(*id),
                    Value::Text("x"),
                    Value::Text(r),
                    Value::Bool(false),
                    Value::Bool(false),
                ]
            })
            .collect();
        let out = one_per_key(
            &PULL_REQUEST_REVIEWERS,
            rows.iter().map(Vec::as_slice).collect(),
        );
        let got: Vec<(Value, Value)> = out.iter().map(|r| (r[0].clone(), r[2].clone())).collect();
        assert_eq!(
            got,
            vec![
                (Value::Int(1), Value::Text("e")),
                (Value::Int(2), Value::Text("d")),
                (Value::Int(3), Value::Text("c")),
            ]
        );
    }

    #[test]
    fn one_per_key_keeps_the_newest_revision() {
        let width = WORK_ITEMS.width();
        let row = |id: i64, rev: i64, title: &'static str| {
            let mut v = vec![Value::Null; width];
            v[0] = Value::Int(id);
            v[1] = Value::Int(rev);
            v[4] = Value::Text(title);
            v
        };
        let rows = [
            row(1, 3, "a"),
            row(2, 1, "b"),
            row(1, 5, "c"),
            row(1, 4, "d"),
            row(2, 1, "e"),
        ];
        let out = one_per_key(&WORK_ITEMS, rows.iter().map(Vec::as_slice).collect());
        let got: Vec<&Value> = out.iter().map(|r| &r[4]).collect();
        assert_eq!(got, vec![&Value::Text("c"), &Value::Text("e")]);
    }
}
