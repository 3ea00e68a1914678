//! Runs a [`Batch`] on one backend transaction: the generic half of `Store::apply`. Each write
//! becomes the statements of [`super::sql`]; a backend only provides [`Exec`] (run a
//! statement, fetch typed rows). Nothing here is backend-specific.

use std::collections::{HashMap, HashSet};
use std::future::Future;

use chrono::{DateTime, Utc};

use super::Result;
use super::batch::{Batch, Rows, Write};
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
    let mut written_keys: HashMap<&'static str, HashSet<Key>> = HashMap::new();
    let mut written = 0u64;
    for write in batch.writes() {
        match write {
            Write::Upsert(rows) => {
                let table = rows.table();
                let flat = flat_values(&**rows);
                let unique = one_per_key(table, flat.chunks_exact(table.width()).collect());
                if parents.contains(table.name) {
                    let types: Vec<Type> = table.key.iter().map(|c| c.ty).collect();
                    let keys = written_keys.entry(table.name).or_default();
                    for st in sql::upsert(d, table, org, at, &unique, true) {
                        for row in e.fetch(st, &types).await? {
                            written += 1;
                            keys.insert(row.iter().map(Cell::as_key).collect());
                        }
                    }
                } else {
                    for st in sql::upsert(d, table, org, at, &unique, false) {
                        written += e.execute(st).await?;
                    }
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
                    .filter(|k| effective.contains(*k))
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
                let parent_values = key_values(&live);
                let parent_rows: Vec<&[Value]> = parent_values.iter().map(Vec::as_slice).collect();
                let child_keys: Vec<&[Value]> =
                    unique.iter().map(|r| &r[..child.key.len()]).collect();
                written += e
                    .execute(sql::delete_other_children(
                        d,
                        child,
                        parent,
                        org,
                        &parent_rows,
                        &child_keys,
                    ))
                    .await?;
                for st in sql::upsert(d, child, org, at, &unique, false) {
                    written += e.execute(st).await?;
                }
            }
            Write::Missing {
                table,
                scope,
                present,
                action,
            } => {
                let values = key_values(present);
                let rows: Vec<&[Value]> = values.iter().map(Vec::as_slice).collect();
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
