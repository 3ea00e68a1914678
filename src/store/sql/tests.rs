//! Unit tests of the generated SQL.

use super::*;
use crate::store::schema::repos::{PULL_REQUEST_REVIEWERS, PULL_REQUESTS};

fn at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
        .unwrap()
        .to_utc()
}

#[test]
fn upsert_guards_and_revives_as_described() {
    let clause = conflict_clause(&super::super::schema::repos::REPOSITORIES);
    assert!(
        clause.starts_with(" ON CONFLICT (org, id) DO UPDATE SET project_id = excluded.project_id")
    );
    assert!(clause.contains("deleted_at = CASE WHEN excluded.synced_at > t.deleted_at"));
    assert!(clause.ends_with("WHERE excluded.synced_at >= t.synced_at"));
    let children = conflict_clause(&PULL_REQUEST_REVIEWERS);
    assert!(children.ends_with(
        "WHERE t.vote IS DISTINCT FROM excluded.vote OR t.is_required IS DISTINCT FROM \
         excluded.is_required OR t.has_declined IS DISTINCT FROM excluded.has_declined"
    ));
}

#[test]
fn postgres_upsert_binds_one_array_per_column() {
    let row = [
        Value::Int(1),
        Value::Text("r"),
        Value::Text("p"),
        Value::Text("t"),
        Value::Text("active"),
        Value::Bool(false),
        Value::Null,
        Value::Time(at()),
        Value::Null,
        Value::Text("a"),
        Value::Text("b"),
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Text("m"),
        Value::Json("{}"),
    ];
    let rows: Vec<&[Value]> = vec![&row, &row];
    let st = upsert(Dialect::Postgres, &PULL_REQUESTS, "o", at(), &rows, true);
    assert_eq!(st.len(), 1);
    let s = &st[0];
    assert!(
        s.sql
            .starts_with("INSERT INTO pull_requests AS t (org, id, repository_id")
    );
    assert!(s.sql.contains("SELECT $1, s.id, s.repository_id"));
    assert!(
        s.sql
            .contains("s.raw::jsonb, $2 FROM UNNEST($3::int8[], $4::text[]")
    );
    assert!(s.sql.ends_with("RETURNING t.id, (t.xmax = 0) AS inserted"));
    assert_eq!(s.binds.len(), 2 + 16);
    assert!(matches!(&s.binds[2], Bind::Column(Type::Int, v) if v.len() == 2));
}

#[test]
fn sqlite_upsert_is_a_values_list_chunked_under_the_parameter_limit() {
    let row = [
        Value::Int(1),
        Value::Text("u"),
        Value::Int(10),
        Value::Bool(false),
        Value::Bool(true),
    ];
    let rows: Vec<&[Value]> = (0..1200).map(|_| &row[..]).collect();
    let st = upsert(
        Dialect::Sqlite,
        &PULL_REQUEST_REVIEWERS,
        "o",
        at(),
        &rows,
        false,
    );
    assert_eq!(st.len(), 3, "500 rows per statement");
    assert!(st[0].sql.contains(" VALUES (?, ?, ?, ?, ?, ?), (?, "));
    assert_eq!(st[0].binds.len(), 500 * 6);
}

#[test]
fn templates_expand_their_placeholders() {
    let row = [
        Value::Text("d"),
        Value::Null,
        Value::Null,
        Value::Bool(false),
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
    ];
    let rows: Vec<&[Value]> = vec![&row];
    let st = template(
        Dialect::Postgres,
        &super::super::schema::core::GRAPH_USERS,
        "o",
        at(),
        &rows,
    );
    assert_eq!(st.len(), 2);
    assert!(st[0].sql.contains("synced_at = $1 FROM UNNEST($2::text[]"));
    assert!(!st[1].sql.contains('{'));
}
