//! The store contract: one suite of generic cases, run on a fresh SQLite file always and on a
//! fresh PostgreSQL database when `TEST_DATABASE_URL` is set (e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`; each test creates and drops its own
//! `ado_ingest_test_<random>` database through it).
//!
//! Timestamps: ADO sends 7 fractional digits; both backends keep 6 (microseconds, the
//! precision of Postgres TIMESTAMPTZ), truncating the 7th. `raw` is compared as a JSON value
//! because Postgres JSONB normalizes key order and whitespace.
//!
//! Throughput is measured by the benchmarks (BENCHMARKS.md), never asserted here.

use std::panic::AssertUnwindSafe;

use chrono::{DateTime, Duration, Utc};
use futures::FutureExt;
use sqlx::{Connection, Executor, PgConnection};

use super::*;

const ORG: &str = "contoso";

// ---------------------------------------------------------------------------------------------
// Harness

/// A migrated SQLite store in a fresh file of a temporary directory (removed on drop).
async fn sqlite_store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::Builder::new()
        .prefix("ado-ingest-store-")
        .tempdir()
        .expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let store = SqliteStore::connect(&url).await.expect("open SQLite");
    store.migrate().await.expect("migrate SQLite");
    (dir, store)
}

/// A fresh, migrated Postgres database, dropped by [`PgDb::drop`].
struct PgDb {
    admin_url: String,
    name: String,
    store: PgStore,
}

impl PgDb {
    /// `None` (with a notice) when `TEST_DATABASE_URL` is not set.
    async fn create() -> Option<Self> {
        let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
            eprintln!("TEST_DATABASE_URL not set: skipping Postgres store tests");
            return None;
        };
        let name = format!("ado_ingest_test_{:016x}", fastrand::u64(..));
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .expect("connect to TEST_DATABASE_URL");
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .expect("create test database");
        admin.close().await.ok();
        let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&name);
        let store = PgStore::connect(url.as_str()).await.expect("open Postgres");
        store.migrate().await.expect("migrate Postgres");
        Some(Self {
            admin_url,
            name,
            store,
        })
    }

    async fn drop(self) {
        self.store.close().await;
        let mut admin = PgConnection::connect(&self.admin_url)
            .await
            .expect("connect to TEST_DATABASE_URL");
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            )))
            .await
            .expect("drop test database");
    }
}

/// One `#[tokio::test]` per case, running it on SQLite and then on Postgres if configured.
macro_rules! contract_tests {
    ($($test:ident => $case:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $test() {
            let (_dir, sqlite) = sqlite_store().await;
            $case(&sqlite).await;
            sqlite.close().await;
            if let Some(pg) = PgDb::create().await {
                let outcome = AssertUnwindSafe($case(&pg.store)).catch_unwind().await;
                pg.drop().await;
                if let Err(panic) = outcome {
                    std::panic::resume_unwind(panic);
                }
            }
        }
    )*};
}

contract_tests! {
    migrate_twice_is_a_no_op => case_migrate_twice,
    apply_then_read_back_returns_every_field => case_round_trip,
    older_observation_never_overwrites_newer => case_never_regress,
    project_with_newer_last_update_time_is_kept => case_project_last_update_time,
    reapplying_a_batch_is_idempotent => case_idempotent,
    deletions_are_stamped_and_undone => case_deletions,
    failed_batch_writes_neither_rows_nor_cursor => case_atomic_batch,
    duplicate_ids_in_a_batch_keep_the_last => case_duplicate_ids,
    batch_beyond_the_bind_parameter_limit => case_large_batch,
    concurrent_applies_serialize_and_never_regress => case_concurrent_applies,
    run_records => case_run_records,
    table_counts_in_fixed_order => case_table_counts,
    nul_characters_do_not_block_a_page => case_nul_characters,
}

// ---------------------------------------------------------------------------------------------
// Fixtures

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

fn user(id: &str) -> UserRow {
    UserRow {
        id: id.to_string(),
        display_name: Some(format!("User {id}")),
        unique_name: Some(format!("{id}@contoso.example")),
        is_container: false,
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

fn reviewer(id: &str, vote: i32) -> ReviewerRow {
    ReviewerRow {
        reviewer_id: id.to_string(),
        vote,
        is_required: false,
        has_declined: false,
    }
}

fn pull_request(id: i64, title: &str) -> PullRequestRow {
    PullRequestRow {
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
        raw: raw("pullRequest", &id.to_string(), 1_200),
        reviewers: vec![reviewer("u2", 10), reviewer("u3", -5)],
    }
}

/// `raw` re-serialized from its JSON value, so rows compare as JSON values.
fn normalized(raw: &str) -> String {
    serde_json::from_str::<serde_json::Value>(raw)
        .expect("raw is JSON")
        .to_string()
}

fn norm_pr(mut pr: PullRequestRow) -> PullRequestRow {
    pr.raw = normalized(&pr.raw);
    pr
}

fn norm_project(mut p: StoredProject) -> StoredProject {
    p.row.raw = normalized(&p.row.raw);
    p
}

fn norm_repo(mut r: StoredRepository) -> StoredRepository {
    r.row.raw = normalized(&r.row.raw);
    r
}

async fn prs<S: Store>(s: &S) -> Vec<PullRequestRow> {
    s.pull_requests(ORG)
        .await
        .expect("read pull requests")
        .into_iter()
        .map(norm_pr)
        .collect()
}

async fn pr<S: Store>(s: &S, id: i64) -> PullRequestRow {
    prs(s)
        .await
        .into_iter()
        .find(|p| p.id == id)
        .expect("pull request stored")
}

async fn count<S: Store>(s: &S, table: &str) -> i64 {
    s.table_counts()
        .await
        .expect("table counts")
        .into_iter()
        .find(|(t, _)| t == table)
        .map(|(_, n)| n)
        .expect("table counted")
}

// ---------------------------------------------------------------------------------------------
// Cases

async fn case_migrate_twice<S: Store>(s: &S) {
    // The harness migrated once already.
    s.migrate().await.expect("second migrate");
    s.migrate().await.expect("third migrate");
    assert!(
        s.table_counts()
            .await
            .expect("counts")
            .iter()
            .all(|(_, n)| *n == 0)
    );
}

async fn case_round_trip<S: Store>(s: &S) {
    let observed = at("2024-06-01T12:00:00.654321Z");
    let mut batch = Batch::new(observed);
    batch.users = vec![
        user("u2"),
        UserRow {
            id: "u1".to_string(),
            display_name: None,
            unique_name: None,
            is_container: true,
        },
    ];
    batch.projects = vec![
        project("p1", Some(at("2024-05-31T23:59:59.999999Z"))),
        ProjectRow {
            id: "p2".to_string(),
            name: "Bare".to_string(),
            state: None,
            visibility: None,
            last_update_time: None,
            raw: "{}".to_string(),
        },
    ];
    batch.repositories = vec![
        repository("r1", "p1"),
        RepositoryRow {
            id: "r2".to_string(),
            project_id: "p1".to_string(),
            name: "empty".to_string(),
            default_branch: None,
            size: None,
            is_disabled: true,
            raw: r#"{ "z": 1,   "a": "ü" }"#.to_string(),
        },
        repository("r3", "p2"),
    ];
    let full = PullRequestRow {
        closed_date: Some(at("2024-04-01T00:00:00.000001Z")),
        status: "completed".to_string(),
        is_draft: true,
        reviewers: vec![
            ReviewerRow {
                reviewer_id: "u3".to_string(),
                vote: -10,
                is_required: true,
                has_declined: false,
            },
            ReviewerRow {
                reviewer_id: "u1".to_string(),
                vote: 0,
                is_required: false,
                has_declined: true,
            },
            reviewer("u2", 5),
        ],
        ..pull_request(7, "Full ✓ \"quoted\"")
    };
    let bare = PullRequestRow {
        created_by_id: None,
        merge_status: None,
        last_merge_source_commit: None,
        last_merge_commit: None,
        // ADO's 7th fractional digit is dropped: .1234567 is stored as .123456.
        creation_date: at("2023-12-31T23:59:59.1234567Z"),
        reviewers: Vec::new(),
        ..pull_request(3, "Bare")
    };
    batch.pull_requests = vec![full.clone(), bare.clone()];
    batch.cursor = Some(CursorUpdate {
        connector: "repos".to_string(),
        scope: "pull_requests/p1".to_string(),
        value: "2024-06-01T11:50:00Z".to_string(),
    });

    let written = s.apply(ORG, &batch).await.expect("apply");
    assert_eq!(written, batch.row_count() as u64);

    // Another organization with the same ids is independent.
    let mut other = Batch::new(observed);
    other.pull_requests = vec![pull_request(7, "Other org")];
    other.users = vec![user("u1")];
    s.apply("fabrikam", &other).await.expect("apply other org");

    let mut users = batch.users.clone();
    users.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(s.users(ORG).await.expect("users"), users);

    let projects: Vec<StoredProject> = s
        .projects(ORG)
        .await
        .expect("projects")
        .into_iter()
        .map(norm_project)
        .collect();
    let want: Vec<StoredProject> = batch
        .projects
        .iter()
        .map(|row| {
            norm_project(StoredProject {
                row: row.clone(),
                deleted_at: None,
            })
        })
        .collect();
    assert_eq!(projects, want);

    let repositories: Vec<StoredRepository> = s
        .repositories(ORG)
        .await
        .expect("repositories")
        .into_iter()
        .map(norm_repo)
        .collect();
    let want: Vec<StoredRepository> = batch
        .repositories
        .iter()
        .map(|row| {
            norm_repo(StoredRepository {
                row: row.clone(),
                deleted_at: None,
            })
        })
        .collect();
    assert_eq!(repositories, want);

    let mut want_full = norm_pr(full);
    want_full.reviewers.sort();
    let mut want_bare = norm_pr(bare);
    want_bare.creation_date = at("2023-12-31T23:59:59.123456Z");
    assert_eq!(prs(s).await, vec![want_bare, want_full]);

    assert_eq!(
        s.cursor(ORG, "repos", "pull_requests/p1")
            .await
            .expect("cursor"),
        Some("2024-06-01T11:50:00Z".to_string())
    );
    assert_eq!(s.cursor(ORG, "repos", "other").await.expect("cursor"), None);
    assert_eq!(
        s.cursor("fabrikam", "repos", "pull_requests/p1")
            .await
            .expect("cursor"),
        None
    );
    assert_eq!(
        s.live_project_ids(ORG).await.expect("live projects"),
        vec!["p1", "p2"]
    );
    assert_eq!(
        s.live_repository_ids(ORG, "p1").await.expect("live repos"),
        vec!["r1", "r2"]
    );
    assert_eq!(pr_title(s, "fabrikam", 7).await, "Other org");
}

async fn pr_title<S: Store>(s: &S, org: &str, id: i64) -> String {
    s.pull_requests(org)
        .await
        .expect("read pull requests")
        .into_iter()
        .find(|p| p.id == id)
        .map(|p| p.title)
        .expect("pull request stored")
}

async fn case_never_regress<S: Store>(s: &S) {
    let t1 = at("2024-06-01T10:00:00Z");
    let t2 = at("2024-06-01T10:05:00Z");

    let mut newer = Batch::new(t2);
    newer.pull_requests = vec![PullRequestRow {
        reviewers: vec![reviewer("u-new", 10)],
        status: "completed".to_string(),
        ..pull_request(1, "newer")
    }];
    newer.users = vec![user("u1")];
    newer.repositories = vec![repository("r1", "p1")];
    newer.projects = vec![project("p1", None)];
    s.apply(ORG, &newer).await.expect("apply newer");

    // A slow response observed earlier arrives later: nothing it carries replaces the newer
    // rows, and the stale PR's reviewers are not written. PR 2 is new and is written.
    let mut stale = Batch::new(t1);
    stale.pull_requests = vec![
        PullRequestRow {
            reviewers: vec![reviewer("u-old", -10), reviewer("u-older", 5)],
            ..pull_request(1, "older")
        },
        pull_request(2, "fresh"),
    ];
    stale.users = vec![UserRow {
        display_name: Some("Old name".to_string()),
        ..user("u1")
    }];
    stale.repositories = vec![RepositoryRow {
        name: "old-name".to_string(),
        ..repository("r1", "p1")
    }];
    stale.projects = vec![ProjectRow {
        name: "Old name".to_string(),
        ..project("p1", None)
    }];
    let written = s.apply(ORG, &stale).await.expect("apply stale");
    assert_eq!(
        written,
        1 + 2,
        "only PR 2 and its two reviewers are written"
    );

    let kept = pr(s, 1).await;
    assert_eq!(kept.title, "newer");
    assert_eq!(kept.status, "completed");
    assert_eq!(kept.reviewers, vec![reviewer("u-new", 10)]);
    assert_eq!(pr(s, 2).await.reviewers.len(), 2);
    assert_eq!(
        s.users(ORG).await.expect("users")[0]
            .display_name
            .as_deref(),
        Some("User u1")
    );
    assert_eq!(
        s.repositories(ORG).await.expect("repositories")[0].row.name,
        "repo-r1"
    );
    assert_eq!(
        s.projects(ORG).await.expect("projects")[0].row.name,
        "Project p1"
    );
    assert_eq!(count(s, "pull_request_reviewers").await, 3);
}

async fn case_project_last_update_time<S: Store>(s: &S) {
    let mut first = Batch::new(at("2024-06-01T10:00:00Z"));
    first.projects = vec![ProjectRow {
        name: "Renamed".to_string(),
        ..project("p1", Some(at("2024-05-02T00:00:00Z")))
    }];
    s.apply(ORG, &first).await.expect("apply");

    // Observed later, but by a replica that read an older version of the project.
    let mut later = Batch::new(at("2024-06-01T11:00:00Z"));
    later.projects = vec![ProjectRow {
        name: "Original".to_string(),
        ..project("p1", Some(at("2024-05-01T00:00:00Z")))
    }];
    assert_eq!(s.apply(ORG, &later).await.expect("apply later"), 0);
    assert_eq!(
        s.projects(ORG).await.expect("projects")[0].row.name,
        "Renamed"
    );

    // A newer version is written.
    let mut newer = Batch::new(at("2024-06-01T12:00:00Z"));
    newer.projects = vec![ProjectRow {
        name: "Newest".to_string(),
        ..project("p1", Some(at("2024-05-03T00:00:00Z")))
    }];
    assert_eq!(s.apply(ORG, &newer).await.expect("apply newer"), 1);
    assert_eq!(
        s.projects(ORG).await.expect("projects")[0].row.name,
        "Newest"
    );
}

async fn case_idempotent<S: Store>(s: &S) {
    let mut batch = Batch::new(at("2024-06-01T10:00:00Z"));
    batch.users = vec![user("u1"), user("u2")];
    batch.projects = vec![project("p1", None)];
    batch.repositories = vec![repository("r1", "p1")];
    batch.pull_requests = (1..=20).map(|id| pull_request(id, "same")).collect();
    batch.cursor = Some(CursorUpdate {
        connector: "repos".to_string(),
        scope: "p1".to_string(),
        value: "1".to_string(),
    });
    s.apply(ORG, &batch).await.expect("first apply");
    let counts = s.table_counts().await.expect("counts");
    let before = prs(s).await;
    s.apply(ORG, &batch).await.expect("second apply");
    assert_eq!(s.table_counts().await.expect("counts"), counts);
    assert_eq!(prs(s).await, before);
    assert_eq!(count(s, "pull_request_reviewers").await, 40);
}

async fn case_deletions<S: Store>(s: &S) {
    let t1 = at("2024-06-01T10:00:00Z");
    let t2 = at("2024-06-01T11:00:00Z");
    let t3 = at("2024-06-01T12:00:00Z");
    let t4 = at("2024-06-01T13:00:00Z");

    let mut seen = Batch::new(t1);
    seen.projects = vec![project("p1", None), project("p2", None)];
    seen.repositories = vec![repository("r1", "p1"), repository("r2", "p1")];
    s.apply(ORG, &seen).await.expect("apply");

    let mut deleted = Batch::new(t3);
    deleted.deleted_repositories = vec!["r1".to_string(), "never-seen".to_string()];
    deleted.deleted_projects = vec!["p2".to_string()];
    assert_eq!(s.apply(ORG, &deleted).await.expect("apply deletions"), 2);
    assert_eq!(
        s.live_repository_ids(ORG, "p1").await.expect("live"),
        vec!["r2"]
    );
    assert_eq!(s.live_project_ids(ORG).await.expect("live"), vec!["p1"]);
    let repos = s.repositories(ORG).await.expect("repositories");
    assert_eq!(repos[0].deleted_at, Some(t3));
    assert_eq!(repos[1].deleted_at, None);
    assert_eq!(
        s.repositories(ORG).await.expect("repos").len(),
        2,
        "data kept"
    );

    // A second signal does not move the first deletion time.
    let mut again = Batch::new(t4);
    again.deleted_repositories = vec!["r1".to_string()];
    assert_eq!(s.apply(ORG, &again).await.expect("apply"), 0);
    assert_eq!(
        s.repositories(ORG).await.expect("repositories")[0].deleted_at,
        Some(t3)
    );

    // An observation older than the deletion updates the data but does not revive the row.
    let mut stale = Batch::new(t2);
    stale.repositories = vec![RepositoryRow {
        name: "renamed".to_string(),
        ..repository("r1", "p1")
    }];
    stale.projects = vec![project("p2", None)];
    s.apply(ORG, &stale).await.expect("apply stale");
    let r1 = &s.repositories(ORG).await.expect("repositories")[0];
    assert_eq!((r1.row.name.as_str(), r1.deleted_at), ("renamed", Some(t3)));
    assert_eq!(s.live_project_ids(ORG).await.expect("live"), vec!["p1"]);

    // Seen again after the deletion: it came back.
    let mut back = Batch::new(t4);
    back.repositories = vec![repository("r1", "p1")];
    back.projects = vec![project("p2", None)];
    s.apply(ORG, &back).await.expect("apply revival");
    assert_eq!(
        s.live_repository_ids(ORG, "p1").await.expect("live"),
        vec!["r1", "r2"]
    );
    assert_eq!(
        s.live_project_ids(ORG).await.expect("live"),
        vec!["p1", "p2"]
    );

    // A deletion signal older than the last observation of the row is stale: ignored.
    let mut late_signal = Batch::new(t3);
    late_signal.deleted_repositories = vec!["r1".to_string()];
    assert_eq!(s.apply(ORG, &late_signal).await.expect("apply"), 0);
    assert_eq!(
        s.live_repository_ids(ORG, "p1").await.expect("live"),
        vec!["r1", "r2"]
    );
}

async fn case_atomic_batch<S: Store>(s: &S) {
    let cursor = |value: &str| CursorUpdate {
        connector: "repos".to_string(),
        scope: "p1".to_string(),
        value: value.to_string(),
    };
    let mut good = Batch::new(at("2024-06-01T10:00:00Z"));
    good.pull_requests = vec![pull_request(1, "one")];
    good.cursor = Some(cursor("page-1"));
    s.apply(ORG, &good).await.expect("apply good batch");

    // Every part of this page is valid except the last PR, whose raw is not JSON: the
    // database rejects it after users, projects, repositories and PR 2 were written.
    let mut bad = Batch::new(at("2024-06-01T10:01:00Z"));
    bad.users = vec![user("u1")];
    bad.projects = vec![project("p1", None)];
    bad.repositories = vec![repository("r1", "p1")];
    bad.pull_requests = vec![
        pull_request(2, "two"),
        PullRequestRow {
            raw: "{ not json".to_string(),
            ..pull_request(3, "three")
        },
    ];
    bad.deleted_repositories = vec!["r1".to_string()];
    bad.cursor = Some(cursor("page-2"));
    let err = s
        .apply(ORG, &bad)
        .await
        .expect_err("invalid raw is rejected");
    assert!(matches!(err, Error::Query { .. }), "{err:?}");

    assert_eq!(
        s.cursor(ORG, "repos", "p1").await.expect("cursor"),
        Some("page-1".to_string())
    );
    let counts = s.table_counts().await.expect("counts");
    let expected = [
        ("projects", 0),
        ("repositories", 0),
        ("pull_requests", 1),
        ("pull_request_reviewers", 2),
        ("users", 0),
        ("teams", 0),
        ("team_members", 0),
        ("iterations", 0),
        ("areas", 0),
        ("work_item_types", 0),
        ("work_item_type_states", 0),
        ("work_item_fields", 0),
        ("work_items", 0),
        ("work_item_revisions", 0),
        ("work_item_links", 0),
        ("sync_cursors", 1),
        ("sync_runs", 0),
    ];
    assert_eq!(
        counts,
        expected.map(|(t, n)| (t.to_string(), n)).to_vec(),
        "nothing of the failed page is stored"
    );

    // The store is still usable afterwards.
    bad.pull_requests.pop();
    s.apply(ORG, &bad).await.expect("apply repaired page");
    assert_eq!(
        s.cursor(ORG, "repos", "p1").await.expect("cursor"),
        Some("page-2".to_string())
    );
}

async fn case_duplicate_ids<S: Store>(s: &S) {
    let mut batch = Batch::new(at("2024-06-01T10:00:00Z"));
    batch.pull_requests = vec![
        pull_request(1, "first"),
        pull_request(2, "other"),
        PullRequestRow {
            reviewers: vec![reviewer("u9", 5), reviewer("u8", 0), reviewer("u9", 10)],
            ..pull_request(1, "last")
        },
    ];
    batch.users = vec![
        user("u1"),
        UserRow {
            display_name: Some("Last".to_string()),
            ..user("u1")
        },
    ];
    batch.projects = vec![project("p1", None), project("p1", None)];
    batch.repositories = vec![
        repository("r1", "p1"),
        RepositoryRow {
            name: "last".to_string(),
            ..repository("r1", "p1")
        },
    ];
    s.apply(ORG, &batch).await.expect("apply duplicates");
    let one = pr(s, 1).await;
    assert_eq!(one.title, "last");
    assert_eq!(one.reviewers, vec![reviewer("u8", 0), reviewer("u9", 10)]);
    assert_eq!(prs(s).await.len(), 2);
    assert_eq!(
        s.users(ORG).await.expect("users")[0]
            .display_name
            .as_deref(),
        Some("Last")
    );
    assert_eq!(
        s.repositories(ORG).await.expect("repos")[0].row.name,
        "last"
    );
    assert_eq!(count(s, "projects").await, 1);
}

async fn case_large_batch<S: Store>(s: &S) {
    // 5,000 PRs × 17 columns and 10,000 reviewers × 6 columns: far beyond SQLite's 32,766
    // bind parameters per statement.
    let mut batch = Batch::new(at("2024-06-01T10:00:00Z"));
    batch.pull_requests = (1..=5_000)
        .map(|id| pull_request(id, &format!("PR {id}")))
        .collect();
    batch.users = (0..3_000).map(|i| user(&format!("u{i:05}"))).collect();
    let written = s.apply(ORG, &batch).await.expect("apply large batch");
    assert_eq!(written, 5_000 + 10_000 + 3_000);
    let stored = prs(s).await;
    assert_eq!(stored.len(), 5_000);
    assert_eq!(stored[4_999], norm_pr(batch.pull_requests[4_999].clone()));
    assert_eq!(count(s, "pull_request_reviewers").await, 10_000);
    assert_eq!(count(s, "users").await, 3_000);
}

async fn case_concurrent_applies<S: Store>(s: &S) {
    // 8 tasks × 15 pages of 40 PRs over 200 overlapping ids, observed at interleaved times.
    const TASKS: i64 = 8;
    const PAGES: i64 = 15;
    let base = at("2024-06-01T10:00:00Z");
    let observed = move |task: i64, page: i64| base + Duration::milliseconds(page * TASKS + task);
    let ids = |task: i64, page: i64| (0..40).map(move |i| (task * 7 + page * 13 + i * 5) % 200);
    let mut handles = Vec::new();
    for task in 0..TASKS {
        let store = s.clone();
        handles.push(tokio::spawn(async move {
            for page in 0..PAGES {
                let at = observed(task, page);
                let mut batch = Batch::new(at);
                batch.pull_requests = ids(task, page)
                    .map(|id| PullRequestRow {
                        reviewers: vec![reviewer(&format!("t{task}p{page}"), 10)],
                        ..pull_request(id, &at.to_rfc3339())
                    })
                    .collect();
                batch.users = vec![user(&format!("u{}", page % 3))];
                batch.cursor = Some(CursorUpdate {
                    connector: "repos".to_string(),
                    scope: format!("task{task}"),
                    value: page.to_string(),
                });
                store.apply(ORG, &batch).await?;
            }
            Ok::<_, Error>(())
        }));
    }
    for handle in handles {
        handle
            .await
            .expect("task")
            .expect("concurrent apply succeeds");
    }
    // Each PR holds the newest observation that contained it, with that page's reviewers.
    let mut newest = std::collections::BTreeMap::new();
    for task in 0..TASKS {
        for page in 0..PAGES {
            for id in ids(task, page) {
                let entry = newest
                    .entry(id)
                    .or_insert((observed(task, page), task, page));
                if observed(task, page) > entry.0 {
                    *entry = (observed(task, page), task, page);
                }
            }
        }
    }
    let stored = prs(s).await;
    assert_eq!(stored.len(), newest.len());
    for pr in stored {
        let (at, task, page) = newest[&pr.id];
        assert_eq!(pr.title, at.to_rfc3339(), "PR {}", pr.id);
        assert_eq!(pr.reviewers, vec![reviewer(&format!("t{task}p{page}"), 10)]);
    }
    for task in 0..TASKS {
        assert_eq!(
            s.cursor(ORG, "repos", &format!("task{task}"))
                .await
                .expect("cursor"),
            Some((PAGES - 1).to_string())
        );
    }
}

async fn case_run_records<S: Store>(s: &S) {
    assert_eq!(
        s.last_run(ORG, "repos", "backfill").await.expect("run"),
        None
    );
    let started = at("2024-06-01T10:00:00.123456Z");
    let first = s
        .start_run(ORG, "repos", "backfill", started)
        .await
        .expect("start");
    let running = s
        .last_run(ORG, "repos", "backfill")
        .await
        .expect("run")
        .expect("recorded");
    assert_eq!(
        running,
        RunRecord {
            id: first,
            connector: "repos".to_string(),
            mode: "backfill".to_string(),
            started_at: started,
            finished_at: None,
            outcome: "running".to_string(),
            error: None,
            requests: 0,
            rows: 0,
        }
    );
    let finished = at("2024-06-01T10:30:00.5Z");
    s.finish_run(
        first,
        "failed",
        Some("HTTP 503 from ado"),
        42,
        4_200,
        finished,
    )
    .await
    .expect("finish");
    let done = s
        .last_run(ORG, "repos", "backfill")
        .await
        .expect("run")
        .expect("recorded");
    assert_eq!(done.outcome, "failed");
    assert_eq!(done.error.as_deref(), Some("HTTP 503 from ado"));
    assert_eq!((done.requests, done.rows), (42, 4_200));
    assert_eq!(done.finished_at, Some(finished));

    let second = s
        .start_run(ORG, "repos", "backfill", finished)
        .await
        .expect("start");
    assert!(second > first);
    s.finish_run(second, "succeeded", None, 1, 2, finished)
        .await
        .expect("finish");
    let newest = s
        .last_run(ORG, "repos", "backfill")
        .await
        .expect("run")
        .expect("recorded");
    assert_eq!((newest.id, newest.outcome.as_str()), (second, "succeeded"));
    assert_eq!(newest.error, None);
    assert_eq!(
        s.last_run(ORG, "repos", "incremental").await.expect("run"),
        None
    );
    assert_eq!(
        s.last_run(ORG, "boards", "backfill").await.expect("run"),
        None
    );
    assert_eq!(
        s.last_run("fabrikam", "repos", "backfill")
            .await
            .expect("run"),
        None
    );
}

async fn case_table_counts<S: Store>(s: &S) {
    let mut batch = Batch::new(at("2024-06-01T10:00:00Z"));
    batch.projects = vec![project("p1", None)];
    batch.repositories = vec![repository("r1", "p1"), repository("r2", "p1")];
    batch.pull_requests = vec![
        pull_request(1, "a"),
        pull_request(2, "b"),
        pull_request(3, "c"),
    ];
    batch.users = vec![user("u1"), user("u2"), user("u3"), user("u4")];
    batch.cursor = Some(CursorUpdate {
        connector: "repos".to_string(),
        scope: "p1".to_string(),
        value: "x".to_string(),
    });
    s.apply(ORG, &batch).await.expect("apply");
    s.apply(ORG, &boards_batch(at("2024-06-01T10:00:00Z")))
        .await
        .expect("apply boards");
    s.start_run(ORG, "repos", "backfill", at("2024-06-01T10:00:00Z"))
        .await
        .expect("start");
    let counts = s.table_counts().await.expect("counts");
    let expected = [
        ("projects", 1),
        ("repositories", 2),
        ("pull_requests", 3),
        ("pull_request_reviewers", 6),
        // u1..u4 from pull requests; u1 again and u2 as identities; aad.g9 from the Graph.
        ("users", 5),
        ("teams", 2),
        ("team_members", 2),
        ("iterations", 2),
        ("areas", 1),
        ("work_item_types", 2),
        ("work_item_type_states", 2),
        ("work_item_fields", 2),
        ("work_items", 2),
        ("work_item_revisions", 4),
        ("work_item_links", 2),
        ("sync_cursors", 2),
        ("sync_runs", 1),
    ];
    assert_eq!(counts, expected.map(|(t, n)| (t.to_string(), n)).to_vec());
}

async fn case_nul_characters<S: Store>(s: &S) {
    // Postgres text cannot hold NUL and JSONB rejects `\u0000`; SQLite keeps them. Either way
    // the page is written (Postgres stores U+FFFD instead).
    let mut batch = Batch::new(at("2024-06-01T10:00:00Z"));
    batch.pull_requests = vec![PullRequestRow {
        raw: r#"{"title":"a\u0000b","id":1}"#.to_string(),
        ..pull_request(1, "a\0b")
    }];
    s.apply(ORG, &batch).await.expect("apply NUL");
    let stored = pr(s, 1).await;
    assert_eq!(stored.title.replace('\0', "\u{FFFD}"), "a\u{FFFD}b");
    let raw: serde_json::Value = serde_json::from_str(&stored.raw).expect("JSON");
    let title = raw["title"]
        .as_str()
        .expect("title")
        .replace('\0', "\u{FFFD}");
    assert_eq!(title, "a\u{FFFD}b");
}

#[tokio::test]
async fn in_memory_sqlite_works() {
    let s = SqliteStore::connect("sqlite::memory:")
        .await
        .expect("open in-memory SQLite");
    s.migrate().await.expect("migrate");
    case_round_trip(&s).await;
}

#[tokio::test]
async fn corrupt_timestamp_is_reported() {
    let (_dir, s) = sqlite_store().await;
    let mut batch = Batch::new(at("2024-06-01T10:00:00Z"));
    batch.projects = vec![project("p1", None)];
    s.apply(ORG, &batch).await.expect("apply");
    sqlx::query("UPDATE projects SET last_update_time = 'yesterday'")
        .execute(&s.writer)
        .await
        .expect("corrupt the row");
    let err = s.projects(ORG).await.expect_err("corrupt value");
    assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("last_update_time"), "{err}");
}

#[tokio::test]
async fn connect_errors_name_the_backend_without_the_password() {
    // An invalid `sslmode` fails before any network I/O.
    let err = PgStore::connect("postgres://ado:s3cret@127.0.0.1:5432/x?sslmode=bogus")
        .await
        .expect_err("invalid sslmode");
    let message = err.to_string();
    assert!(
        matches!(
            err,
            Error::Connect {
                backend: "postgres",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(message.contains("postgres://127.0.0.1:5432/x"), "{message}");
    assert!(!message.contains("s3cret"), "{message}");

    let err = SqliteStore::connect("sqlite:///nonexistent-ado-ingest-dir/x.db")
        .await
        .expect_err("directory does not exist");
    assert!(
        matches!(
            err,
            Error::Connect {
                backend: "sqlite",
                ..
            }
        ),
        "{err:?}"
    );

    let err = AnyStore::connect("mysql://localhost/x")
        .await
        .expect_err("unsupported");
    assert!(matches!(err, Error::UnsupportedUrl { ref scheme } if scheme == "mysql"));
}

// =============================================================================================
// Boards: work items, revisions, links, planning structure, teams and users.

contract_tests! {
    boards_apply_then_read_back_returns_every_field => case_boards_round_trip,
    work_items_never_regress => case_work_items_never_regress,
    work_items_are_deleted_and_restored => case_work_item_deletions,
    replaying_a_revision_page_is_idempotent => case_revision_page_replay,
    planning_refresh_replaces_or_marks_missing_rows => case_planning_refresh,
    teams_refresh_and_member_sets => case_teams_refresh,
    graph_users_merge_with_identities => case_users_merge,
    links_follow_their_changed_date => case_links,
    failed_boards_batch_writes_nothing => case_boards_atomic,
    revision_batch_beyond_the_bind_parameter_limit => case_large_revision_batch,
    concurrent_revision_pages_keep_the_newest_rev => case_concurrent_revision_pages,
}

/// The ChangedDate of revision `rev` in these fixtures: one hour per revision.
fn changed(rev: i64) -> DateTime<Utc> {
    at("2024-01-01T08:00:00Z") + Duration::hours(rev)
}

fn work_item(id: i64, rev: i64) -> WorkItemRow {
    WorkItemRow {
        id,
        rev,
        project: Some("Fabrikam".to_string()),
        work_item_type: Some("Bug".to_string()),
        title: Some(format!("Item {id} rev {rev}")),
        state: Some("Active".to_string()),
        reason: Some("Implementation started".to_string()),
        assigned_to: Some("ann@contoso.example".to_string()),
        assigned_to_name: Some("Ann Example".to_string()),
        created_by: Some("bob@contoso.example".to_string()),
        created_date: Some(at("2024-01-01T08:00:00.123456Z")),
        changed_by: Some("ann@contoso.example".to_string()),
        changed_date: Some(changed(rev)),
        closed_date: None,
        activated_date: Some(at("2024-01-01T09:30:00Z")),
        resolved_date: None,
        area_path: Some("Fabrikam\\Web".to_string()),
        iteration_path: Some("Fabrikam\\Sprint 1".to_string()),
        priority: Some(2),
        severity: Some("3 - Medium".to_string()),
        story_points: Some(5.0),
        effort: None,
        remaining_work: Some(2.5),
        parent_id: Some(1),
        tags: Some("api; backend".to_string()),
        comment_count: Some(0),
        last_comment_date: None,
        is_deleted: false,
        raw: raw("workItem", &format!("{id}.{rev}"), 800),
    }
}

fn bare_work_item(id: i64, rev: i64) -> WorkItemRow {
    WorkItemRow {
        id,
        rev,
        project: None,
        work_item_type: None,
        title: None,
        state: None,
        reason: None,
        assigned_to: None,
        assigned_to_name: None,
        created_by: None,
        created_date: None,
        changed_by: None,
        changed_date: None,
        closed_date: None,
        activated_date: None,
        resolved_date: None,
        area_path: None,
        iteration_path: None,
        priority: None,
        severity: None,
        story_points: None,
        effort: None,
        remaining_work: None,
        parent_id: None,
        tags: None,
        comment_count: None,
        last_comment_date: None,
        is_deleted: false,
        raw: "{}".to_string(),
    }
}

fn revision(id: i64, rev: i64) -> WorkItemRevisionRow {
    WorkItemRevisionRow {
        id,
        rev,
        changed_date: Some(changed(rev)),
        changed_by: Some("ann@contoso.example".to_string()),
        state: Some(if rev == 1 { "New" } else { "Active" }.to_string()),
        assigned_to: Some("ann@contoso.example".to_string()),
        iteration_path: Some("Fabrikam\\Sprint 1".to_string()),
        fields: raw("fields", &format!("{id}.{rev}"), 600),
    }
}

fn link(source: i64, target: i64, rel: &str, active: bool, when: &str) -> WorkItemLinkRow {
    WorkItemLinkRow {
        source_id: source,
        target_id: target,
        rel: rel.to_string(),
        is_active: active,
        changed_date: Some(at(when)),
        raw: serde_json::json!({ "rel": rel, "sourceId": source, "targetId": target,
            "isActive": active, "changedDate": when })
        .to_string(),
    }
}

const HIERARCHY: &str = "System.LinkTypes.Hierarchy";
const RELATED: &str = "System.LinkTypes.Related";

fn node(id: i64, path: &str, dated: bool) -> ClassificationNodeRow {
    let (parent, name) = match path.rsplit_once('\\') {
        Some((parent, name)) => (Some(parent.to_string()), name.to_string()),
        None => (None, path.to_string()),
    };
    ClassificationNodeRow {
        id,
        identifier: Some(format!("00000000-0000-0000-0000-{id:012}")),
        name,
        path: path.to_string(),
        parent_path: parent,
        depth: path.matches('\\').count() as i32,
        start_date: dated.then(|| at("2024-01-01T00:00:00Z") + Duration::days(id)),
        finish_date: dated.then(|| at("2024-01-14T00:00:00Z") + Duration::days(id)),
        raw: raw("node", &id.to_string(), 200),
    }
}

fn wit_type(name: &str, states: &[(&str, &str)]) -> WorkItemTypeRow {
    WorkItemTypeRow {
        name: name.to_string(),
        reference_name: Some(format!("Microsoft.VSTS.WorkItemTypes.{name}")),
        description: Some(format!("A {name}")),
        color: Some("CC293D".to_string()),
        is_disabled: false,
        category: Some(format!("Microsoft.{name}Category")),
        raw: raw("type", name, 300),
        states: states
            .iter()
            .map(|(state, category)| WorkItemTypeStateRow {
                name: state.to_string(),
                category: Some(category.to_string()),
                color: Some("007acc".to_string()),
            })
            .collect(),
    }
}

fn wi_field(reference_name: &str) -> WorkItemFieldRow {
    WorkItemFieldRow {
        reference_name: reference_name.to_string(),
        name: reference_name
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .to_string(),
        field_type: Some("string".to_string()),
        read_only: false,
        is_identity: false,
        raw: raw("field", reference_name, 200),
    }
}

fn team(id: &str, project_id: &str) -> TeamRow {
    TeamRow {
        id: id.to_string(),
        project_id: project_id.to_string(),
        name: format!("Team {id}"),
        description: Some(format!("The {id} team")),
        raw: raw("team", id, 200),
    }
}

fn member(user_id: &str, is_team_admin: bool) -> TeamMemberRow {
    TeamMemberRow {
        user_id: user_id.to_string(),
        is_team_admin,
    }
}

fn identity(id: &str, descriptor: Option<&str>) -> IdentityRow {
    IdentityRow {
        id: id.to_string(),
        display_name: Some(format!("Identity {id}")),
        unique_name: Some(format!("{id}@contoso.example")),
        descriptor: descriptor.map(str::to_string),
        is_container: false,
    }
}

fn graph_user(descriptor: &str) -> GraphUserRow {
    GraphUserRow {
        descriptor: descriptor.to_string(),
        display_name: Some(format!("Graph {descriptor}")),
        principal_name: Some(format!("{descriptor}@graph.example")),
        mail_address: Some(format!("{descriptor}@mail.example")),
        origin: Some("aad".to_string()),
        origin_id: Some(format!("origin-{descriptor}")),
        subject_kind: Some("user".to_string()),
    }
}

/// A batch with a bit of every Boards kind (used by the round trip and the counts).
fn boards_batch(observed: DateTime<Utc>) -> Batch {
    let mut b = Batch::new(observed);
    b.identities = vec![
        identity("u1", Some("aad.u1")),
        IdentityRow {
            display_name: None,
            unique_name: None,
            is_container: true,
            ..identity("u2", None)
        },
    ];
    b.graph_users = vec![graph_user("aad.u1"), graph_user("aad.g9")];
    b.teams = vec![TeamsRefresh {
        project_id: "p1".to_string(),
        teams: vec![
            team("t1", "p1"),
            TeamRow {
                description: None,
                ..team("t2", "p1")
            },
        ],
    }];
    b.team_members = vec![TeamMembers {
        team_id: "t1".to_string(),
        members: vec![member("u2", true), member("u1", false)],
    }];
    b.planning = vec![PlanningRefresh {
        project_id: "p1".to_string(),
        iterations: Some(vec![
            node(10, "Fabrikam", false),
            node(11, "Fabrikam\\Sprint 1", true),
        ]),
        areas: Some(vec![node(20, "Fabrikam", false)]),
        work_item_types: Some(vec![
            wit_type("Bug", &[("New", "Proposed"), ("Active", "InProgress")]),
            WorkItemTypeRow {
                reference_name: None,
                description: None,
                color: None,
                category: None,
                is_disabled: true,
                ..wit_type("Epic", &[])
            },
        ]),
    }];
    b.work_item_fields = Some(vec![wi_field("System.Title"), wi_field("System.State")]);
    b.work_items = vec![
        WorkItemRow {
            closed_date: Some(at("2024-01-05T10:00:00.1234567Z")),
            resolved_date: Some(at("2024-01-04T10:00:00Z")),
            effort: Some(8.0),
            last_comment_date: Some(at("2024-01-03T10:00:00Z")),
            comment_count: Some(4),
            ..work_item(7, 3)
        },
        bare_work_item(3, 1),
    ];
    b.work_item_revisions = vec![
        revision(7, 1),
        revision(7, 2),
        revision(7, 3),
        WorkItemRevisionRow {
            changed_date: None,
            changed_by: None,
            state: None,
            assigned_to: None,
            iteration_path: None,
            fields: "{}".to_string(),
            ..revision(3, 1)
        },
    ];
    b.work_item_links = vec![
        link(1, 7, HIERARCHY, true, "2024-01-02T00:00:00Z"),
        WorkItemLinkRow {
            changed_date: None,
            ..link(7, 9, RELATED, false, "2024-01-02T00:00:00Z")
        },
    ];
    b.cursor = Some(CursorUpdate {
        connector: "boards".to_string(),
        scope: "work_item_revisions:p1".to_string(),
        value: "813;350;1".to_string(),
    });
    b
}

fn norm_work_item(mut w: StoredWorkItem) -> StoredWorkItem {
    w.row.raw = normalized(&w.row.raw);
    w
}

async fn work_items<S: Store>(s: &S) -> Vec<StoredWorkItem> {
    s.work_items(ORG)
        .await
        .expect("read work items")
        .into_iter()
        .map(norm_work_item)
        .collect()
}

async fn work_item_of<S: Store>(s: &S, id: i64) -> StoredWorkItem {
    work_items(s)
        .await
        .into_iter()
        .find(|w| w.row.id == id)
        .expect("work item stored")
}

async fn revisions<S: Store>(s: &S) -> Vec<WorkItemRevisionRow> {
    s.work_item_revisions(ORG)
        .await
        .expect("read revisions")
        .into_iter()
        .map(|mut r| {
            r.fields = normalized(&r.fields);
            r
        })
        .collect()
}

async fn links<S: Store>(s: &S) -> Vec<WorkItemLinkRow> {
    s.work_item_links(ORG)
        .await
        .expect("read links")
        .into_iter()
        .map(|mut l| {
            l.raw = normalized(&l.raw);
            l
        })
        .collect()
}

async fn nodes<S: Store>(s: &S, iterations: bool) -> Vec<StoredNode> {
    let nodes = if iterations {
        s.iterations(ORG).await
    } else {
        s.areas(ORG).await
    };
    nodes
        .expect("read nodes")
        .into_iter()
        .map(|mut n| {
            n.row.raw = normalized(&n.row.raw);
            n
        })
        .collect()
}

async fn types<S: Store>(s: &S) -> Vec<StoredWorkItemType> {
    s.work_item_types(ORG)
        .await
        .expect("read types")
        .into_iter()
        .map(|mut t| {
            t.row.raw = normalized(&t.row.raw);
            t
        })
        .collect()
}

async fn teams_of<S: Store>(s: &S) -> Vec<StoredTeam> {
    s.teams(ORG)
        .await
        .expect("read teams")
        .into_iter()
        .map(|mut t| {
            t.row.raw = normalized(&t.row.raw);
            t
        })
        .collect()
}

/// (id, deleted?) of every stored node.
fn node_marks(nodes: &[StoredNode]) -> Vec<(i64, bool)> {
    nodes
        .iter()
        .map(|n| (n.row.id, n.deleted_at.is_some()))
        .collect()
}

fn expected_work_item(row: &WorkItemRow, deleted_at: Option<DateTime<Utc>>) -> StoredWorkItem {
    norm_work_item(StoredWorkItem {
        row: WorkItemRow {
            is_deleted: deleted_at.is_some(),
            ..row.clone()
        },
        deleted_at,
    })
}

async fn case_boards_round_trip<S: Store>(s: &S) {
    let observed = at("2024-06-01T12:00:00.654321Z");
    let b = boards_batch(observed);
    let written = s.apply(ORG, &b).await.expect("apply");
    assert_eq!(written, b.row_count() as u64);

    // Work items: every column; the 7th fractional digit is dropped.
    let mut full = b.work_items[0].clone();
    full.closed_date = Some(at("2024-01-05T10:00:00.123456Z"));
    assert_eq!(
        work_items(s).await,
        vec![
            expected_work_item(&b.work_items[1], None),
            expected_work_item(&full, None),
        ]
    );
    let mut want_revisions = b.work_item_revisions.clone();
    want_revisions.sort_by_key(|r| (r.id, r.rev));
    for r in &mut want_revisions {
        r.fields = normalized(&r.fields);
    }
    assert_eq!(revisions(s).await, want_revisions);
    let want_links: Vec<WorkItemLinkRow> = b
        .work_item_links
        .iter()
        .map(|l| WorkItemLinkRow {
            raw: normalized(&l.raw),
            ..l.clone()
        })
        .collect();
    assert_eq!(links(s).await, want_links);

    // Teams and members.
    let want_teams: Vec<StoredTeam> = b.teams[0]
        .teams
        .iter()
        .map(|t| StoredTeam {
            row: TeamRow {
                raw: normalized(&t.raw),
                ..t.clone()
            },
            deleted_at: None,
        })
        .collect();
    assert_eq!(teams_of(s).await, want_teams);
    assert_eq!(
        s.team_members(ORG).await.expect("members"),
        vec![TeamMembers {
            team_id: "t1".to_string(),
            members: vec![member("u1", false), member("u2", true)],
        }]
    );

    // Users: u1 carries the Graph columns of its descriptor; the Graph user without a known
    // identity is stored under its descriptor.
    let g9 = graph_user("aad.g9");
    let g1 = graph_user("aad.u1");
    assert_eq!(
        s.user_profiles(ORG).await.expect("users"),
        vec![
            UserProfile {
                id: "aad.g9".to_string(),
                display_name: g9.display_name.clone(),
                unique_name: g9.principal_name.clone(),
                is_container: false,
                mail_address: g9.mail_address.clone(),
                descriptor: Some("aad.g9".to_string()),
                origin: g9.origin.clone(),
                origin_id: g9.origin_id.clone(),
                subject_kind: g9.subject_kind.clone(),
            },
            UserProfile {
                id: "u1".to_string(),
                display_name: g1.display_name.clone(),
                unique_name: g1.principal_name.clone(),
                is_container: false,
                mail_address: g1.mail_address.clone(),
                descriptor: Some("aad.u1".to_string()),
                origin: g1.origin.clone(),
                origin_id: g1.origin_id.clone(),
                subject_kind: g1.subject_kind.clone(),
            },
            UserProfile {
                id: "u2".to_string(),
                display_name: None,
                unique_name: None,
                is_container: true,
                mail_address: None,
                descriptor: None,
                origin: None,
                origin_id: None,
                subject_kind: None,
            },
        ]
    );
    // The narrow view of the Repos connector sees the same rows.
    assert_eq!(s.users(ORG).await.expect("users").len(), 3);

    // Planning structure.
    let planning = &b.planning[0];
    let want_nodes = |rows: &Option<Vec<ClassificationNodeRow>>, dated: bool| -> Vec<StoredNode> {
        rows.iter()
            .flatten()
            .map(|n| StoredNode {
                project_id: "p1".to_string(),
                row: ClassificationNodeRow {
                    raw: normalized(&n.raw),
                    start_date: n.start_date.filter(|_| dated),
                    finish_date: n.finish_date.filter(|_| dated),
                    ..n.clone()
                },
                deleted_at: None,
            })
            .collect()
    };
    assert_eq!(nodes(s, true).await, want_nodes(&planning.iterations, true));
    assert!(nodes(s, true).await[1].row.start_date.is_some());
    assert_eq!(nodes(s, false).await, want_nodes(&planning.areas, false));
    let mut want_types: Vec<StoredWorkItemType> = planning
        .work_item_types
        .iter()
        .flatten()
        .map(|t| {
            let mut row = WorkItemTypeRow {
                raw: normalized(&t.raw),
                ..t.clone()
            };
            row.states.sort();
            StoredWorkItemType {
                project_id: "p1".to_string(),
                row,
            }
        })
        .collect();
    want_types.sort_by(|a, b| a.row.name.cmp(&b.row.name));
    assert_eq!(types(s).await, want_types);
    let mut want_fields: Vec<WorkItemFieldRow> = b
        .work_item_fields
        .iter()
        .flatten()
        .map(|f| WorkItemFieldRow {
            raw: normalized(&f.raw),
            ..f.clone()
        })
        .collect();
    want_fields.sort_by(|a, b| a.reference_name.cmp(&b.reference_name));
    let fields: Vec<WorkItemFieldRow> = s
        .work_item_fields(ORG)
        .await
        .expect("fields")
        .into_iter()
        .map(|f| WorkItemFieldRow {
            raw: normalized(&f.raw),
            ..f
        })
        .collect();
    assert_eq!(fields, want_fields);

    assert_eq!(
        s.cursor(ORG, "boards", "work_item_revisions:p1")
            .await
            .expect("cursor"),
        Some("813;350;1".to_string())
    );
    assert_eq!(
        s.live_work_item_ids(ORG, "Fabrikam").await.expect("live"),
        vec![7]
    );

    // Another organization with the same ids is independent.
    s.apply("fabrikam", &boards_batch(observed))
        .await
        .expect("apply other org");
    assert_eq!(work_items(s).await.len(), 2);
    assert_eq!(s.work_items("fabrikam").await.expect("read").len(), 2);
    assert!(s.work_items("nobody").await.expect("read").is_empty());
}

async fn case_work_items_never_regress<S: Store>(s: &S) {
    let t1 = at("2024-06-01T10:00:00Z");
    let t2 = at("2024-06-01T11:00:00Z");
    let t3 = at("2024-06-01T12:00:00Z");

    let mut first = Batch::new(t2);
    first.work_items = vec![
        WorkItemRow {
            title: Some("five".to_string()),
            ..work_item(1, 5)
        },
        work_item(2, 2),
    ];
    assert_eq!(s.apply(ORG, &first).await.expect("apply"), 2);

    // Older revisions, and the same revision observed earlier, change nothing.
    let mut stale = Batch::new(t1);
    stale.work_items = vec![
        work_item(1, 4),
        WorkItemRow {
            title: Some("stale five".to_string()),
            ..work_item(1, 5)
        },
    ];
    assert_eq!(s.apply(ORG, &stale).await.expect("apply stale"), 0);
    let mut older = Batch::new(t3);
    older.work_items = vec![work_item(1, 3)];
    assert_eq!(s.apply(ORG, &older).await.expect("apply older rev"), 0);
    assert_eq!(work_item_of(s, 1).await.row.title.as_deref(), Some("five"));

    // A higher revision wins even when it was observed earlier (a slow page of the stream).
    let mut slow = Batch::new(t1);
    slow.work_items = vec![work_item(2, 3)];
    assert_eq!(s.apply(ORG, &slow).await.expect("apply slow"), 1);
    assert_eq!(work_item_of(s, 2).await.row.rev, 3);

    // The same revision observed later is rewritten.
    let mut again = Batch::new(t3);
    again.work_items = vec![WorkItemRow {
        title: Some("five again".to_string()),
        ..work_item(1, 5)
    }];
    assert_eq!(s.apply(ORG, &again).await.expect("apply again"), 1);
    assert_eq!(
        work_item_of(s, 1).await.row.title.as_deref(),
        Some("five again")
    );

    // Several revisions of one item in a page: the highest rev wins, in any order.
    let mut page = Batch::new(t3);
    page.work_items = vec![work_item(3, 2), work_item(3, 4), work_item(3, 1)];
    s.apply(ORG, &page).await.expect("apply page");
    assert_eq!(work_item_of(s, 3).await.row.rev, 4);

    // A last comment date from the comments endpoint survives revisions that carry none.
    let commented = at("2024-01-09T10:00:00Z");
    let mut comment = Batch::new(t3);
    comment.work_items = vec![WorkItemRow {
        last_comment_date: Some(commented),
        ..work_item(1, 6)
    }];
    s.apply(ORG, &comment).await.expect("apply comment");
    let mut next = Batch::new(t3);
    next.work_items = vec![work_item(1, 7)];
    s.apply(ORG, &next).await.expect("apply next");
    let one = work_item_of(s, 1).await;
    assert_eq!(
        (one.row.rev, one.row.last_comment_date),
        (7, Some(commented))
    );
}

async fn case_work_item_deletions<S: Store>(s: &S) {
    let t0 = at("2024-05-31T00:00:00Z");
    let t1 = at("2024-06-01T10:00:00Z");
    let t2 = at("2024-06-01T11:00:00Z");
    let t3 = at("2024-06-01T12:00:00Z");
    let t4 = at("2024-06-01T13:00:00Z");
    let t5 = at("2024-06-01T14:00:00Z");
    let apply = |observed: DateTime<Utc>, f: &dyn Fn(&mut Batch)| {
        let mut b = Batch::new(observed);
        f(&mut b);
        async move { s.apply(ORG, &b).await.expect("apply") }
    };
    let deleted_at = |id: i64| async move { work_item_of(s, id).await.deleted_at };

    apply(t1, &|b| {
        b.work_items = (1..=3).map(|id| work_item(id, 1)).collect()
    })
    .await;

    // The stream reports a deletion as a revision with System.IsDeleted: the item keeps its
    // data and gets the revision's time as deleted_at.
    let deleted = |id, rev| WorkItemRow {
        is_deleted: true,
        state: Some("Removed".to_string()),
        ..work_item(id, rev)
    };
    apply(t2, &|b| b.work_items = vec![deleted(1, 2)]).await;
    assert_eq!(deleted_at(1).await, Some(changed(2)));
    assert_eq!(
        s.live_work_item_ids(ORG, "Fabrikam").await.expect("live"),
        vec![2, 3]
    );
    let one = work_item_of(s, 1).await;
    assert_eq!(
        (one.row.state.as_deref(), one.row.is_deleted),
        (Some("Removed"), true)
    );
    // A replay of an older revision neither changes nor revives it.
    apply(t3, &|b| b.work_items = vec![work_item(1, 1)]).await;
    assert_eq!(work_item_of(s, 1).await.row.rev, 2);
    assert_eq!(deleted_at(1).await, Some(changed(2)));
    // A later deleted revision keeps the first deletion time.
    apply(t3, &|b| b.work_items = vec![deleted(1, 3)]).await;
    assert_eq!(deleted_at(1).await, Some(changed(2)));
    // The restore is a new revision without the flag.
    apply(t3, &|b| b.work_items = vec![work_item(1, 4)]).await;
    assert_eq!(deleted_at(1).await, None);
    assert_eq!(
        s.live_work_item_ids(ORG, "Fabrikam").await.expect("live"),
        vec![1, 2, 3]
    );

    // An explicit signal (recycle bin listing) stamps the observation time, once.
    let written = apply(t3, &|b| b.deleted_work_items = vec![2, 99]).await;
    assert_eq!(written, 1, "only item 2 is stored and live");
    assert_eq!(apply(t4, &|b| b.deleted_work_items = vec![2]).await, 0);
    assert_eq!(deleted_at(2).await, Some(t3));
    // Revisions that predate the signal are no evidence of a restore: the data is updated,
    // the mark stays.
    apply(t4, &|b| b.work_items = vec![work_item(2, 1)]).await;
    apply(t4, &|b| b.work_items = vec![work_item(2, 2)]).await;
    let two = work_item_of(s, 2).await;
    assert_eq!((two.row.rev, two.deleted_at), (2, Some(t3)));
    // A revision made after the signal means the item came back.
    apply(t5, &|b| {
        b.work_items = vec![WorkItemRow {
            changed_date: Some(t3 + Duration::minutes(5)),
            ..work_item(2, 3)
        }]
    })
    .await;
    assert_eq!(deleted_at(2).await, None);

    // A deletion signal older than the row's last observation is stale: ignored.
    assert_eq!(apply(t0, &|b| b.deleted_work_items = vec![3]).await, 0);
    assert_eq!(deleted_at(3).await, None);

    // An explicit restore signal lifts marks set before it, not later ones.
    apply(t4, &|b| b.deleted_work_items = vec![3]).await;
    assert_eq!(apply(t3, &|b| b.restored_work_items = vec![3]).await, 0);
    assert_eq!(deleted_at(3).await, Some(t4));
    assert_eq!(
        apply(t5, &|b| b.restored_work_items = vec![3, 2, 99]).await,
        1
    );
    assert_eq!(deleted_at(3).await, None);
    assert_eq!(
        s.live_work_item_ids(ORG, "Fabrikam").await.expect("live"),
        vec![1, 2, 3]
    );
    assert_eq!(work_items(s).await.len(), 3, "data is always kept");
}

/// A reporting page: `items` work items with revisions `1..=revs` each, plus the current
/// rows the mapping derives from it (the last revision of each item).
fn revision_page(first_id: i64, items: i64, revs: i64, observed: DateTime<Utc>) -> Batch {
    let mut b = Batch::new(observed);
    for id in first_id..first_id + items {
        for rev in 1..=revs {
            b.work_item_revisions.push(revision(id, rev));
        }
        b.work_items.push(work_item(id, revs));
    }
    b.cursor = Some(CursorUpdate {
        connector: "boards".to_string(),
        scope: "work_item_revisions:p1".to_string(),
        value: format!("{first_id};{revs}"),
    });
    b
}

async fn case_revision_page_replay<S: Store>(s: &S) {
    let t1 = at("2024-06-01T10:00:00Z");
    let page = revision_page(1, 40, 5, t1);
    assert_eq!(page.work_item_revisions.len(), 200);
    assert_eq!(s.apply(ORG, &page).await.expect("apply"), 240);
    let counts = s.table_counts().await.expect("counts");
    let (items, revs) = (work_items(s).await, revisions(s).await);

    // The same page again (a crash before the next cursor), now and later: nothing changes
    // but the observation time of the current rows.
    assert_eq!(
        s.apply(ORG, &page).await.expect("replay"),
        40,
        "revisions are not rewritten"
    );
    let later = revision_page(1, 40, 5, t1 + Duration::hours(1));
    s.apply(ORG, &later).await.expect("replay later");
    assert_eq!(s.table_counts().await.expect("counts"), counts);
    assert_eq!(work_items(s).await, items);
    assert_eq!(revisions(s).await, revs);

    // An older page (a stream restarted from an old token) regresses nothing.
    let old = revision_page(1, 40, 3, t1 + Duration::hours(2));
    assert_eq!(s.apply(ORG, &old).await.expect("old page"), 0);
    assert_eq!(work_items(s).await, items);

    // Revisions are immutable: a revision sent again with other fields is ignored.
    let mut changed_revision = Batch::new(t1 + Duration::hours(3));
    changed_revision.work_item_revisions = vec![WorkItemRevisionRow {
        state: Some("Closed".to_string()),
        ..revision(1, 1)
    }];
    assert_eq!(s.apply(ORG, &changed_revision).await.expect("apply"), 0);
    assert_eq!(revisions(s).await, revs);
}

async fn case_planning_refresh<S: Store>(s: &S) {
    let t1 = at("2024-06-01T10:00:00Z");
    let t2 = at("2024-06-01T11:00:00Z");
    let t3 = at("2024-06-01T12:00:00Z");
    let refresh = |project: &str, base: i64, iterations: &[i64], types: &[&str]| PlanningRefresh {
        project_id: project.to_string(),
        iterations: Some(
            iterations
                .iter()
                .map(|i| node(base + i, &format!("{project}\\Sprint {i}"), true))
                .collect(),
        ),
        areas: Some(
            iterations
                .iter()
                .map(|i| node(base + 100 + i, &format!("{project}\\Area {i}"), false))
                .collect(),
        ),
        work_item_types: Some(
            types
                .iter()
                .map(|t| wit_type(t, &[("New", "Proposed"), ("Done", "Completed")]))
                .collect(),
        ),
    };

    let mut first = Batch::new(t1);
    first.planning = vec![
        refresh("p1", 0, &[1, 2, 3], &["Bug", "Task"]),
        refresh("p2", 1000, &[1], &["Bug"]),
    ];
    first.work_item_fields = Some(vec![wi_field("System.Title"), wi_field("Custom.Gone")]);
    s.apply(ORG, &first).await.expect("apply");

    // Sprint 2 and Task disappear from p1; a state of Bug disappears; Sprint 4 appears.
    let mut second = Batch::new(t2);
    let mut p1 = refresh("p1", 0, &[1, 3, 4], &["Bug"]);
    if let Some(types) = &mut p1.work_item_types {
        types[0].states.retain(|st| st.name != "Done");
    }
    second.planning = vec![p1];
    second.work_item_fields = Some(vec![wi_field("System.Title"), wi_field("System.State")]);
    s.apply(ORG, &second).await.expect("apply second");

    let iterations = nodes(s, true).await;
    assert_eq!(
        node_marks(&iterations),
        vec![(1, false), (2, true), (3, false), (4, false), (1001, false)],
        "missing iterations are marked, other projects untouched"
    );
    assert_eq!(iterations[1].deleted_at, Some(t2));
    assert_eq!(
        node_marks(&nodes(s, false).await),
        vec![
            (101, false),
            (102, true),
            (103, false),
            (104, false),
            (1101, false)
        ]
    );
    let stored: Vec<(String, String, Vec<String>)> = types(s)
        .await
        .into_iter()
        .map(|t| {
            (
                t.project_id,
                t.row.name,
                t.row.states.into_iter().map(|st| st.name).collect(),
            )
        })
        .collect();
    let owned = |p: &str, t: &str, states: &[&str]| {
        (
            p.to_string(),
            t.to_string(),
            states.iter().map(|x| x.to_string()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        stored,
        vec![
            owned("p1", "Bug", &["New"]),
            owned("p2", "Bug", &["Done", "New"]),
        ],
        "types and states are replaced"
    );
    let fields: Vec<String> = s
        .work_item_fields(ORG)
        .await
        .expect("fields")
        .into_iter()
        .map(|f| f.reference_name)
        .collect();
    assert_eq!(fields, vec!["System.State", "System.Title"]);

    // A stale refresh (observed before the stored one) neither revives, removes nor
    // overwrites anything.
    let mut stale = Batch::new(t1);
    stale.planning = vec![refresh("p1", 0, &[2], &["Task"])];
    stale.work_item_fields = Some(vec![wi_field("Custom.Gone")]);
    s.apply(ORG, &stale).await.expect("apply stale");
    assert_eq!(
        node_marks(&nodes(s, true).await),
        vec![(1, false), (2, true), (3, false), (4, false), (1001, false)]
    );
    let names: Vec<String> = types(s).await.into_iter().map(|t| t.row.name).collect();
    assert_eq!(
        names,
        vec!["Bug", "Task", "Bug"],
        "the stale Task is written back"
    );
    let fields = s.work_item_fields(ORG).await.expect("fields");
    assert_eq!(fields.len(), 3, "nothing newer is removed");

    // A node that comes back is revived; a part left out (None) is not touched.
    let mut back = Batch::new(t3);
    back.planning = vec![PlanningRefresh {
        areas: None,
        work_item_types: None,
        ..refresh("p1", 0, &[1, 2, 3, 4], &[])
    }];
    s.apply(ORG, &back).await.expect("apply back");
    assert!(nodes(s, true).await.iter().all(|n| n.deleted_at.is_none()));
    assert_eq!(
        node_marks(&nodes(s, false).await)[1],
        (102, true),
        "areas were not refreshed"
    );
    assert_eq!(types(s).await.len(), 3);

    // A renamed node keeps its id and is updated in place.
    let mut renamed = Batch::new(t3 + Duration::minutes(1));
    let mut p1 = refresh("p1", 0, &[1, 2, 3, 4], &["Bug"]);
    if let Some(iterations) = &mut p1.iterations {
        iterations[0] = ClassificationNodeRow {
            name: "Sprint One".to_string(),
            path: "p1\\Sprint One".to_string(),
            ..iterations[0].clone()
        };
    }
    renamed.planning = vec![p1];
    s.apply(ORG, &renamed).await.expect("apply renamed");
    assert_eq!(nodes(s, true).await[0].row.path, "p1\\Sprint One");
}

async fn case_teams_refresh<S: Store>(s: &S) {
    let t1 = at("2024-06-01T10:00:00Z");
    let t2 = at("2024-06-01T11:00:00Z");
    let t3 = at("2024-06-01T12:00:00Z");
    let teams = |project: &str, ids: &[&str]| TeamsRefresh {
        project_id: project.to_string(),
        teams: ids.iter().map(|id| team(id, project)).collect(),
    };
    let members = |team_id: &str, users: &[&str]| TeamMembers {
        team_id: team_id.to_string(),
        members: users.iter().map(|u| member(u, *u == "admin")).collect(),
    };

    let mut first = Batch::new(t2);
    first.teams = vec![teams("p1", &["a", "b"]), teams("p2", &["c"])];
    first.team_members = vec![members("a", &["u1", "u2", "admin"]), members("b", &["u3"])];
    s.apply(ORG, &first).await.expect("apply");

    // Team b disappears from p1; a's members change.
    let mut second = Batch::new(t3);
    second.teams = vec![teams("p1", &["a"])];
    second.team_members = vec![members("a", &["u2", "u4"])];
    s.apply(ORG, &second).await.expect("apply second");
    let marks: Vec<(String, bool)> = teams_of(s)
        .await
        .into_iter()
        .map(|t| (t.row.id, t.deleted_at.is_some()))
        .collect();
    assert_eq!(
        marks,
        vec![
            ("a".to_string(), false),
            ("b".to_string(), true),
            ("c".to_string(), false)
        ]
    );
    assert_eq!(
        s.team_members(ORG).await.expect("members"),
        vec![
            TeamMembers {
                team_id: "a".to_string(),
                members: vec![member("u2", false), member("u4", false)],
            },
            members("b", &["u3"]),
        ]
    );

    // A stale member set (observed before the stored one) is ignored; a stale team list
    // neither revives nor marks.
    let mut stale = Batch::new(t1);
    stale.teams = vec![teams("p1", &["b"])];
    stale.team_members = vec![members("a", &["u9"]), members("z", &["u1"])];
    s.apply(ORG, &stale).await.expect("apply stale");
    let sets = s.team_members(ORG).await.expect("members");
    assert_eq!(
        sets[0].members,
        vec![member("u2", false), member("u4", false)]
    );
    assert_eq!(sets.len(), 3, "a team without stored members takes the set");
    let live: Vec<String> = teams_of(s)
        .await
        .into_iter()
        .filter(|t| t.deleted_at.is_none())
        .map(|t| t.row.id)
        .collect();
    assert_eq!(live, vec!["a", "c"]);

    // An empty member set empties the team; a team that comes back is revived.
    let mut back = Batch::new(t3 + Duration::minutes(1));
    back.teams = vec![teams("p1", &["a", "b"])];
    back.team_members = vec![members("a", &[])];
    s.apply(ORG, &back).await.expect("apply back");
    assert!(teams_of(s).await.iter().all(|t| t.deleted_at.is_none()));
    let sets = s.team_members(ORG).await.expect("members");
    assert!(sets.iter().all(|t| t.team_id != "a"));
}

async fn case_users_merge<S: Store>(s: &S) {
    let t1 = at("2024-06-01T10:00:00Z");
    let t2 = at("2024-06-01T11:00:00Z");
    let profiles = || async { s.user_profiles(ORG).await.expect("users") };

    // Graph first: stored under the descriptor until the identity arrives, then merged into
    // the identity's row.
    let mut graph = Batch::new(t1);
    graph.graph_users = vec![graph_user("aad.a"), graph_user("aad.b")];
    assert_eq!(s.apply(ORG, &graph).await.expect("apply graph"), 2);
    let ids: Vec<String> = profiles().await.into_iter().map(|u| u.id).collect();
    assert_eq!(ids, vec!["aad.a", "aad.b"]);

    let mut members = Batch::new(t2);
    members.identities = vec![identity("id-a", Some("aad.a"))];
    s.apply(ORG, &members).await.expect("apply identities");
    let users = profiles().await;
    let ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, vec!["aad.b", "id-a"], "the placeholder is taken over");
    let a = &users[1];
    assert_eq!(a.display_name.as_deref(), Some("Identity id-a"));
    assert_eq!(a.descriptor.as_deref(), Some("aad.a"));
    assert_eq!(a.mail_address.as_deref(), Some("aad.a@mail.example"));
    assert_eq!(a.origin_id.as_deref(), Some("origin-aad.a"));

    // Identity first: the Graph user updates that row.
    let mut identity_first = Batch::new(t1);
    identity_first.identities = vec![identity("id-c", Some("aad.c")), identity("id-d", None)];
    s.apply(ORG, &identity_first).await.expect("apply identity");
    let mut graph_later = Batch::new(t2);
    graph_later.graph_users = vec![
        graph_user("aad.c"),
        GraphUserRow {
            subject_kind: Some("group".to_string()),
            mail_address: None,
            ..graph_user("aad.grp")
        },
    ];
    s.apply(ORG, &graph_later).await.expect("apply graph later");
    let users = profiles().await;
    let c = users.iter().find(|u| u.id == "id-c").expect("id-c");
    assert_eq!(c.unique_name.as_deref(), Some("aad.c@graph.example"));
    assert_eq!(c.subject_kind.as_deref(), Some("user"));
    let group = users.iter().find(|u| u.id == "aad.grp").expect("group");
    assert!(group.is_container);
    assert!(!users.iter().any(|u| u.id == "aad.c"));

    // A stale Graph page does not overwrite; the Repos connector's user rows keep the Graph
    // columns.
    let mut stale = Batch::new(t1);
    stale.graph_users = vec![GraphUserRow {
        display_name: Some("Old".to_string()),
        ..graph_user("aad.c")
    }];
    s.apply(ORG, &stale).await.expect("apply stale graph");
    let mut reviewers = Batch::new(t2 + Duration::minutes(1));
    reviewers.users = vec![UserRow {
        id: "id-c".to_string(),
        display_name: Some("From a PR".to_string()),
        unique_name: Some("c@contoso.example".to_string()),
        is_container: false,
    }];
    s.apply(ORG, &reviewers).await.expect("apply PR users");
    let users = profiles().await;
    let c = users.iter().find(|u| u.id == "id-c").expect("id-c");
    assert_eq!(c.display_name.as_deref(), Some("From a PR"));
    assert_eq!(c.mail_address.as_deref(), Some("aad.c@mail.example"));
    assert_eq!(c.descriptor.as_deref(), Some("aad.c"));
    assert_eq!(users.len(), 5, "aad.b, aad.grp, id-a, id-c, id-d");
}

async fn case_links<S: Store>(s: &S) {
    let t1 = at("2024-06-01T10:00:00Z");
    let t2 = at("2024-06-01T11:00:00Z");
    let mut first = Batch::new(t2);
    first.work_item_links = vec![
        link(1, 2, HIERARCHY, true, "2024-01-01T00:00:00Z"),
        link(1, 3, HIERARCHY, true, "2024-01-01T00:00:00Z"),
        link(1, 2, RELATED, true, "2024-01-01T00:00:00Z"),
    ];
    s.apply(ORG, &first).await.expect("apply");

    // A removal, then a stale re-add from an older change, then a page with the same link
    // twice (the last change in time wins).
    let mut removed = Batch::new(t1);
    removed.work_item_links = vec![link(1, 2, HIERARCHY, false, "2024-01-02T00:00:00Z")];
    assert_eq!(s.apply(ORG, &removed).await.expect("apply removal"), 1);
    let mut stale = Batch::new(t2);
    stale.work_item_links = vec![link(1, 2, HIERARCHY, true, "2024-01-01T12:00:00Z")];
    assert_eq!(s.apply(ORG, &stale).await.expect("apply stale"), 0);
    let mut page = Batch::new(t2);
    page.work_item_links = vec![
        link(1, 3, HIERARCHY, false, "2024-01-03T00:00:00Z"),
        link(1, 3, HIERARCHY, true, "2024-01-04T00:00:00Z"),
        link(1, 2, RELATED, false, "2024-01-05T00:00:00Z"),
    ];
    s.apply(ORG, &page).await.expect("apply page");

    let state: Vec<(i64, i64, String, bool)> = links(s)
        .await
        .into_iter()
        .map(|l| (l.source_id, l.target_id, l.rel, l.is_active))
        .collect();
    assert_eq!(
        state,
        vec![
            (1, 2, HIERARCHY.to_string(), false),
            (1, 2, RELATED.to_string(), false),
            (1, 3, HIERARCHY.to_string(), true),
        ]
    );
    // Replaying the same change is idempotent.
    let before = links(s).await;
    s.apply(ORG, &page).await.expect("replay");
    assert_eq!(links(s).await, before);
}

async fn case_boards_atomic<S: Store>(s: &S) {
    let cursor = |value: &str| CursorUpdate {
        connector: "boards".to_string(),
        scope: "work_item_revisions:p1".to_string(),
        value: value.to_string(),
    };
    let mut good = revision_page(1, 2, 2, at("2024-06-01T10:00:00Z"));
    good.cursor = Some(cursor("page-1"));
    s.apply(ORG, &good).await.expect("apply good page");
    let counts = s.table_counts().await.expect("counts");

    // Everything of this page is valid except the last revision's fields: nothing of it is
    // written, the cursor stays.
    let mut bad = boards_batch(at("2024-06-01T10:01:00Z"));
    bad.work_items.push(work_item(1, 9));
    bad.deleted_work_items = vec![2];
    bad.work_item_revisions.push(WorkItemRevisionRow {
        fields: "{ not json".to_string(),
        ..revision(5, 1)
    });
    bad.cursor = Some(cursor("page-2"));
    let err = s.apply(ORG, &bad).await.expect_err("invalid fields");
    assert!(matches!(err, Error::Query { .. }), "{err:?}");
    assert_eq!(s.table_counts().await.expect("counts"), counts);
    assert_eq!(work_item_of(s, 1).await.row.rev, 2);
    assert_eq!(
        s.cursor(ORG, "boards", "work_item_revisions:p1")
            .await
            .expect("cursor"),
        Some("page-1".to_string())
    );
}

async fn case_large_revision_batch<S: Store>(s: &S) {
    // 3,000 items × 31 columns and 12,000 revisions × 10 columns in one batch: far beyond
    // SQLite's 32,766 bind parameters per statement.
    let batch = revision_page(1, 3_000, 4, at("2024-06-01T10:00:00Z"));
    let written = s.apply(ORG, &batch).await.expect("apply large batch");
    assert_eq!(written, 3_000 + 12_000);
    assert_eq!(count(s, "work_items").await, 3_000);
    assert_eq!(count(s, "work_item_revisions").await, 12_000);
    let stored = work_items(s).await;
    assert_eq!(
        stored[2_999],
        expected_work_item(&work_item(3_000, 4), None)
    );
}

async fn case_concurrent_revision_pages<S: Store>(s: &S) {
    // 6 tasks write overlapping items with interleaved revisions: each item ends at its
    // highest rev, and every revision is stored once.
    const TASKS: i64 = 6;
    let mut handles = Vec::new();
    for task in 0..TASKS {
        let store = s.clone();
        handles.push(tokio::spawn(async move {
            for page in 0..5 {
                let mut b = Batch::new(at("2024-06-01T10:00:00Z") + Duration::seconds(page));
                for id in 1..=60 {
                    let rev = 1 + (task + page + id) % 10;
                    b.work_items.push(work_item(id, rev));
                    b.work_item_revisions.push(revision(id, rev));
                }
                store.apply(ORG, &b).await?;
            }
            Ok::<_, Error>(())
        }));
    }
    for handle in handles {
        handle
            .await
            .expect("task")
            .expect("concurrent apply succeeds");
    }
    let mut newest = std::collections::BTreeMap::new();
    let mut all = std::collections::BTreeSet::new();
    for task in 0..TASKS {
        for page in 0..5 {
            for id in 1..=60 {
                let rev = 1 + (task + page + id) % 10;
                let entry = newest.entry(id).or_insert(rev);
                *entry = (*entry).max(rev);
                all.insert((id, rev));
            }
        }
    }
    let stored: Vec<(i64, i64)> = work_items(s)
        .await
        .into_iter()
        .map(|w| (w.row.id, w.row.rev))
        .collect();
    assert_eq!(stored, newest.into_iter().collect::<Vec<_>>());
    let revs: Vec<(i64, i64)> = revisions(s).await.iter().map(|r| (r.id, r.rev)).collect();
    assert_eq!(revs, all.into_iter().collect::<Vec<_>>());
}
