//! The store contract: one suite of generic cases, run on a fresh SQLite file always and on a
//! fresh PostgreSQL database when `TEST_DATABASE_URL` is set (e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`), both through [`crate::testing::TestDb`].
//!
//! Batches are built the way the connectors build them (`src/connectors/*.rs`): upserts,
//! child sets replaced under their parents, complete listings marking or removing what they
//! lack, explicit marks; rows are read back with [`StoreRead`]. Files by domain: `repos`,
//! `core`, `boards`, `planning`, `bookkeeping`; shared fixtures here (Repos and Core rows,
//! reading back) and in `fixtures` (Boards rows and batches).
//!
//! Timestamps: ADO sends 7 fractional digits; both backends keep 6 (microseconds, the
//! precision of Postgres TIMESTAMPTZ), truncating the 7th. `raw` is compared as a JSON value
//! because Postgres JSONB normalizes key order and whitespace.
//!
//! Throughput is measured by the benchmarks (BENCHMARKS.md), never asserted here.

use chrono::{DateTime, Duration, Utc};

use super::read::{Readable, StoreRead};
use super::schema::core::{GRAPH_USERS, write_users};
use super::*;
use crate::testing::TestDb;

/// One `#[tokio::test]` per case, running it on SQLite (with each of its two writers) and then
/// on Postgres if configured.
/// A panic propagates; each database is removed when its [`TestDb`] is dropped either way.
macro_rules! contract_tests {
    ($($test:ident => $case:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $test() {
            let sqlite = $crate::testing::TestDb::sqlite();
            let store = $crate::store::tests::open(&sqlite, stringify!($case)).await;
            $case(&store).await;
            store.close().await;
            let sqlite = $crate::testing::TestDb::sqlite();
            let store = $crate::store::tests::open_values_writer(&sqlite, stringify!($case)).await;
            $case(&store).await;
            store.close().await;
            if let Some(pg) = $crate::testing::TestDb::postgres().await {
                let store = $crate::store::tests::open(&pg, stringify!($case)).await;
                $case(&store).await;
                store.close().await;
            }
        }
    )*};
}

mod boards;
mod bookkeeping;
mod commits;
mod coordination;
mod core;
mod credentials;
mod fixtures;
mod pipelines;
mod planning;
mod pr;
mod repos;
mod schema;
mod webhooks;

use fixtures::*;

/// The migrated store of `db`, for case `name`.
async fn open(db: &TestDb, name: &str) -> AnyStore {
    eprintln!("{name} on {}", db.label());
    db.store().await
}

/// The migrated SQLite store of `db` with the multi-row `VALUES` writer, for case `name`.
async fn open_values_writer(db: &TestDb, name: &str) -> AnyStore {
    eprintln!("{name} on sqlite (VALUES writer)");
    let s = SqliteStore::connect_with(db.url(), SqliteWriter::Values)
        .await
        .map(AnyStore::Sqlite)
        .expect("open test database");
    s.migrate().await.expect("migrate test database");
    s
}

const ORG: &str = "contoso";

// ---------------------------------------------------------------------------------------------
// Shared fixtures (the Boards ones are in `fixtures`)

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("test timestamp")
        .to_utc()
}

/// A JSON object of about `size` bytes.
fn raw(kind: &str, id: &str, size: usize) -> String {
    let body = serde_json::json!({ "kind": kind, "id": id, "padding": "" }).to_string();
    let padding = "x".repeat(size.saturating_sub(body.len()));
    serde_json::json!({ "kind": kind, "id": id, "nested": { "b": [1, 2.5, null], "a": true },
        "padding": padding })
    .to_string()
}

/// `raw` re-serialized from its JSON value, so rows compare as JSON values.
fn normalized(raw: &str) -> String {
    serde_json::from_str::<serde_json::Value>(raw)
        .expect("raw is JSON")
        .to_string()
}

/// The primary key of a one-column key.
fn key(k: impl Into<KeyPart>) -> Key {
    vec![k.into()]
}

/// Keys of one-column keys.
fn keys<K: Into<KeyPart>>(ks: impl IntoIterator<Item = K>) -> Vec<Key> {
    ks.into_iter().map(key).collect()
}

/// A complete listing limited to one project.
fn project_scope(project_id: &str) -> Scope {
    vec![("project_id", project_id.into())]
}

/// A cursor update.
fn cursor(connector: &str, scope: &str, value: &str) -> CursorUpdate {
    CursorUpdate {
        connector: connector.to_string(),
        scope: scope.to_string(),
        value: value.to_string(),
    }
}

fn user(id: &str) -> UserRow {
    UserRow {
        id: id.to_string(),
        display_name: Some(format!("User {id}")),
        unique_name: Some(format!("{id}@contoso.example")),
        is_container: false,
        descriptor: None,
    }
}

fn project(id: &str, last_update_time: Option<DateTime<Utc>>) -> ProjectRow {
    ProjectRow {
        id: id.to_string(),
        name: format!("Project {id}"),
        state: Some("wellFormed".to_string()),
        visibility: Some("private".to_string()),
        last_update_time,
        raw: raw("project", id, 300),
    }
}

fn repository(id: &str, project_id: &str) -> RepositoryRow {
    RepositoryRow {
        id: id.to_string(),
        project_id: project_id.to_string(),
        name: format!("repo-{id}"),
        default_branch: Some("refs/heads/main".to_string()),
        size: Some(123_456),
        is_disabled: false,
        raw: raw("repository", id, 300),
    }
}

/// A pull request with its reviewer set, as the mapping gives them (and as read back, the
/// reviewers sorted by id).
#[derive(Debug, Clone, PartialEq)]
struct Pr {
    row: PullRequestRow,
    reviewers: Vec<ReviewerRow>,
}

impl Pr {
    /// The same pull request with another reviewer set.
    fn with_reviewers(mut self, reviewers: &[(&str, i32)]) -> Self {
        self.reviewers = reviewers
            .iter()
            .map(|(r, vote)| reviewer(self.row.id, r, *vote))
            .collect();
        self
    }
}

fn reviewer(pull_request_id: i64, id: &str, vote: i32) -> ReviewerRow {
    ReviewerRow {
        pull_request_id,
        reviewer_id: id.to_string(),
        vote,
        is_required: false,
        has_declined: false,
    }
}

fn pull_request(id: i64, title: &str) -> Pr {
    Pr {
        row: PullRequestRow {
            id,
            repository_id: "r1".to_string(),
            project_id: "p1".to_string(),
            title: title.to_string(),
            status: "active".to_string(),
            is_draft: false,
            created_by_id: Some("u1".to_string()),
            creation_date: at("2024-03-05T08:09:10.123456Z"),
            closed_date: None,
            source_ref: "refs/heads/feature".to_string(),
            target_ref: "refs/heads/main".to_string(),
            merge_status: Some("succeeded".to_string()),
            last_merge_source_commit: Some("a".repeat(40)),
            last_merge_commit: Some("b".repeat(40)),
            change_marker: Some("m1".into()),
            raw: raw("pullRequest", &id.to_string(), 1_200),
        },
        reviewers: vec![reviewer(id, "u2", 10), reviewer(id, "u3", -5)],
    }
}

/// Pull requests and their reviewer sets, written as the Repos connector writes a page.
fn write_prs(b: &mut Batch, prs: Vec<Pr>) {
    let parents = prs.iter().map(|p| p.row.key()).collect();
    let (rows, reviewers): (Vec<_>, Vec<_>) = prs.into_iter().map(|p| (p.row, p.reviewers)).unzip();
    b.upsert(rows)
        .replace_children::<PullRequestRow, _>(parents, reviewers.concat());
}

// ---------------------------------------------------------------------------------------------
// Reading back

/// Row types with a JSON column, normalized for comparison.
trait Json {
    fn json_mut(&mut self) -> &mut String;
}

macro_rules! json_column {
    ($($ty:ty => $field:ident),* $(,)?) => {$(
        impl Json for $ty {
            fn json_mut(&mut self) -> &mut String {
                &mut self.$field
            }
        }
    )*};
}

json_column! {
    ProjectRow => raw,
    RepositoryRow => raw,
    PullRequestRow => raw,
    TeamRow => raw,
    IterationRow => raw,
    AreaRow => raw,
    WorkItemTypeRow => raw,
    WorkItemFieldRow => raw,
    WorkItemRow => raw,
    WorkItemRevisionRow => fields,
    WorkItemLinkRow => raw,
}

/// `row` with its JSON column normalized.
fn norm<R: Json>(mut row: R) -> R {
    let json = row.json_mut();
    *json = normalized(json);
    row
}

/// Every row of `R`'s table in [`ORG`] with its deletion mark, JSON normalized.
async fn stored<R: Readable + Json>(s: &AnyStore) -> Vec<(R, Option<DateTime<Utc>>)> {
    stored_in(s, ORG).await
}

async fn stored_in<R: Readable + Json>(s: &AnyStore, org: &str) -> Vec<(R, Option<DateTime<Utc>>)> {
    s.rows_with_deleted::<R>(org)
        .await
        .unwrap_or_else(|e| panic!("read {}: {e:?}", R::TABLE.name))
        .into_iter()
        .map(|(r, d)| (norm(r), d))
        .collect()
}

/// Every row of `R`'s table in [`ORG`], JSON normalized.
async fn rows_of<R: Readable + Json>(s: &AnyStore) -> Vec<R> {
    stored::<R>(s).await.into_iter().map(|(r, _)| r).collect()
}

/// Every row of a table without JSON columns.
async fn plain<R: Readable>(s: &AnyStore) -> Vec<R> {
    s.rows::<R>(ORG)
        .await
        .unwrap_or_else(|e| panic!("read {}: {e:?}", R::TABLE.name))
}

/// Every pull request of `org` with its reviewers (sorted by reviewer id), ordered by id.
async fn prs_in(s: &AnyStore, org: &str) -> Vec<Pr> {
    let reviewers = s.rows::<ReviewerRow>(org).await.expect("read reviewers");
    stored_in::<PullRequestRow>(s, org)
        .await
        .into_iter()
        .map(|(row, _)| Pr {
            reviewers: reviewers
                .iter()
                .filter(|r| r.pull_request_id == row.id)
                .cloned()
                .collect(),
            row,
        })
        .collect()
}

async fn prs(s: &AnyStore) -> Vec<Pr> {
    prs_in(s, ORG).await
}

async fn pr(s: &AnyStore, id: i64) -> Pr {
    prs(s)
        .await
        .into_iter()
        .find(|p| p.row.id == id)
        .expect("pull request stored")
}

/// Every work item type of [`ORG`] with its states (sorted by name), ordered by project, name.
async fn types(s: &AnyStore) -> Vec<Wit> {
    let states = plain::<WorkItemTypeStateRow>(s).await;
    rows_of::<WorkItemTypeRow>(s)
        .await
        .into_iter()
        .map(|row| Wit {
            states: states
                .iter()
                .filter(|st| st.project_id == row.project_id && st.type_name == row.name)
                .cloned()
                .collect(),
            row,
        })
        .collect()
}

/// The member set of every team of [`ORG`] that has members, ordered by team id (members by
/// user id).
async fn member_sets(s: &AnyStore) -> Vec<(String, Vec<TeamMemberRow>)> {
    let mut sets: Vec<(String, Vec<TeamMemberRow>)> = Vec::new();
    for m in plain::<TeamMemberRow>(s).await {
        match sets.last_mut() {
            Some((team, members)) if *team == m.team_id => members.push(m),
            _ => sets.push((m.team_id.clone(), vec![m])),
        }
    }
    sets
}

/// Ids of the rows of `R` that match `filter` and are not marked deleted.
async fn live<R: Readable + Json>(s: &AnyStore, filter: impl Fn(&R) -> bool) -> Vec<Key> {
    stored::<R>(s)
        .await
        .into_iter()
        .filter(|(r, deleted)| deleted.is_none() && filter(r))
        .map(|(r, _)| r.key())
        .collect()
}

/// The rows of `table`, as `table_counts` reports them.
async fn count(s: &AnyStore, table: &str) -> i64 {
    s.table_counts()
        .await
        .expect("table counts")
        .into_iter()
        .find(|(t, _)| t == table)
        .map(|(_, n)| n)
        .expect("table counted")
}

/// The work item `id` with its deletion mark.
async fn work_item_of(s: &AnyStore, id: i64) -> (WorkItemRow, Option<DateTime<Utc>>) {
    stored::<WorkItemRow>(s)
        .await
        .into_iter()
        .find(|(w, _)| w.id == id)
        .expect("work item stored")
}

/// A work item as read back: JSON normalized. `is_deleted` is not a column: read back, the
/// deletion is the mark next to the row.
fn expected_work_item(
    row: &WorkItemRow,
    deleted_at: Option<DateTime<Utc>>,
) -> (WorkItemRow, Option<DateTime<Utc>>) {
    (
        norm(WorkItemRow {
            is_deleted: false,
            ..row.clone()
        }),
        deleted_at,
    )
}
