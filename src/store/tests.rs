//! The store contract: one suite of generic cases, run on a fresh SQLite file always and on a
//! fresh PostgreSQL database when `TEST_DATABASE_URL` is set (e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`; each test creates and drops its own
//! `ado_ingest_test_<random>` database through it).
//!
//! Timestamps: ADO sends 7 fractional digits; both backends keep 6 (microseconds, the
//! precision of Postgres TIMESTAMPTZ), truncating the 7th. `raw` is compared as a JSON value
//! because Postgres JSONB normalizes key order and whitespace.
//!
//! Throughput (not a test, ignored by default):
//! `cargo test --release --lib store::tests::apply_throughput -- --ignored --nocapture`.

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
    s.start_run(ORG, "repos", "backfill", at("2024-06-01T10:00:00Z"))
        .await
        .expect("start");
    let counts = s.table_counts().await.expect("counts");
    let expected = [
        ("projects", 1),
        ("repositories", 2),
        ("pull_requests", 3),
        ("pull_request_reviewers", 6),
        ("users", 4),
        ("sync_cursors", 1),
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
