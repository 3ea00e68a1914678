//! Every table described in `store::schema` exists in both backends' migrations with exactly
//! the columns its description writes (`org`, the key, the columns, `synced_at` when observed,
//! `deleted_at` when revivable), so a description and its migration cannot drift apart.

use std::collections::BTreeSet;

use super::*;
use crate::store::schema::all_tables;

contract_tests! {
    every_described_table_has_its_columns_in_the_migrations => case_columns,
}

async fn columns(store: &AnyStore, table: &str) -> BTreeSet<String> {
    let names: Vec<String> = match store {
        AnyStore::Sqlite(s) => sqlx::query_scalar("SELECT name FROM pragma_table_info(?)")
            .bind(table)
            .fetch_all(&s.reader)
            .await
            .expect("table info"),
        AnyStore::Postgres(s) => sqlx::query_scalar(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1",
        )
        .bind(table)
        .fetch_all(&s.pool)
        .await
        .expect("columns"),
    };
    names.into_iter().collect()
}

async fn case_columns(store: &AnyStore) {
    for t in all_tables() {
        let mut want: BTreeSet<String> = std::iter::once("org")
            .chain(t.all_columns().map(|c| c.name))
            .map(str::to_string)
            .collect();
        if t.observed {
            want.insert("synced_at".into());
        }
        if t.revive {
            want.insert("deleted_at".into());
        }
        let have = columns(store, t.name).await;
        assert!(!have.is_empty(), "{}: no such table", t.name);
        let missing: Vec<_> = want.difference(&have).collect();
        assert!(
            missing.is_empty(),
            "{}: the migration lacks {missing:?}",
            t.name
        );
    }
}
