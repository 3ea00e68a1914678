//! What surrounds the rows: migrations, the atomicity of a batch with its cursor, run records,
//! table counts, connections and their errors.

use super::*;

contract_tests! {
    migrate_twice_is_a_no_op => case_migrate_twice,
    failed_batch_writes_neither_rows_nor_cursor => case_atomic_batch,
    run_records => case_run_records,
    one_writer_at_a_time_and_dead_runs_are_abandoned => case_writer_lock,
    table_counts_in_fixed_order => case_table_counts,
    status_reads_recent_runs_and_cursor_updates => case_status_reads,
    old_sync_runs_are_pruned_keeping_backfills_and_the_last_success => case_prune_runs,
}

async fn case_prune_runs(s: &AnyStore) {
    let t0 = at("2024-06-01T10:00:00Z");
    let run = |mode: &'static str, outcome: &'static str, i: i64| {
        let s = s.clone();
        async move {
            let t = t0 + chrono::Duration::minutes(i);
            let id = s.start_run(ORG, "repos", mode, t).await.unwrap();
            if outcome != "running" {
                s.finish_run(id, outcome, None, 1, 1, t).await.unwrap();
            }
            id
        }
    };
    let backfill = run("backfill", "succeeded", 0).await;
    let success = run("sync", "succeeded", 1).await;
    let mut failed = Vec::new();
    for i in 2..14 {
        failed.push(run("sync", "failed", i).await);
    }
    let other = s.start_run(ORG, "boards", "sync", t0).await.unwrap();
    assert_eq!(
        s.prune_runs(ORG, "repos", 20).await.unwrap(),
        0,
        "fewer than kept"
    );
    assert_eq!(s.prune_runs(ORG, "repos", 10).await.unwrap(), 2);
    let left: Vec<i64> = s
        .recent_runs(ORG, "repos", None, 100)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    let mut want: Vec<i64> = failed[2..].iter().rev().copied().collect();
    want.extend([success, backfill]);
    assert_eq!(
        left, want,
        "the newest 10 syncs, the newest success, the backfill"
    );
    assert_eq!(
        s.recent_runs(ORG, "boards", None, 10).await.unwrap()[0].id,
        other,
        "other connectors are untouched"
    );
    // A run still going is never pruned, however old.
    let running = s.start_run(ORG, "repos", "sync", t0).await.unwrap();
    for i in 20..40 {
        run("sync", "succeeded", i).await;
    }
    s.prune_runs(ORG, "repos", 10).await.unwrap();
    assert!(
        s.recent_runs(ORG, "repos", None, 100)
            .await
            .unwrap()
            .iter()
            .any(|r| r.id == running)
    );
}

async fn case_migrate_twice(s: &AnyStore) {
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

async fn case_atomic_batch(s: &AnyStore) {
    let mut good = Batch::new(at("2024-06-01T10:00:00Z"));
    write_prs(&mut good, vec![pull_request(1, "one")]);
    good.with_cursor(cursor("repos", "p1", "page-1"));
    s.apply(ORG, &good).await.expect("apply good batch");

    // Every write of this page is valid except the last PR, whose raw is not JSON: the
    // database rejects it after users, projects, repositories, PR 2 with its reviewers and a
    // deletion mark were written in the same transaction.
    let page = |with_bad_pr: bool| {
        let mut bad = Batch::new(at("2024-06-01T10:01:00Z"));
        write_users(&mut bad, vec![user("u1")]);
        bad.upsert(vec![project("p1", None)])
            .upsert(vec![repository("r1", "p1")]);
        write_prs(&mut bad, vec![pull_request(2, "two")]);
        bad.mark_deleted::<RepositoryRow>(keys(["r1"]));
        if with_bad_pr {
            let three = pull_request(3, "three");
            write_prs(
                &mut bad,
                vec![Pr {
                    row: PullRequestRow {
                        raw: "{ not json".to_string(),
                        ..three.row
                    },
                    ..three
                }],
            );
        }
        bad.with_cursor(cursor("repos", "p1", "page-2"));
        bad
    };
    let err = s
        .apply(ORG, &page(true))
        .await
        .expect_err("invalid raw is rejected");
    assert!(
        matches!(
            err,
            Error::Statement {
                table: "pull_requests",
                ..
            }
        ),
        "{err:?}"
    );

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
        ("pull_request_iterations", 0),
        ("pull_request_changes", 0),
        ("pull_request_threads", 0),
        ("pull_request_comments", 0),
        ("pull_request_work_items", 0),
        ("pull_request_statuses", 0),
        ("pull_request_policy_evaluations", 0),
        ("pull_request_commits", 0),
        ("commits", 0),
        ("pipelines", 0),
        ("builds", 0),
        ("build_timeline_records", 0),
        ("build_changes", 0),
        ("releases", 0),
        ("release_environments", 0),
        ("release_deployments", 0),
        ("environments", 0),
        ("environment_deployments", 0),
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
    s.apply(ORG, &page(false))
        .await
        .expect("apply repaired page");
    assert_eq!(
        s.cursor(ORG, "repos", "p1").await.expect("cursor"),
        Some("page-2".to_string())
    );
}

async fn case_run_records(s: &AnyStore) {
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
            warnings: None,
        }
    );
    let finished = at("2024-06-01T10:30:00.5Z");
    s.set_run_warnings(
        first,
        "build_timeline answered 204 for build 7\nreleases: 403",
    )
    .await
    .expect("warnings");
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
    assert_eq!(
        done.warnings.as_deref(),
        Some("build_timeline answered 204 for build 7\nreleases: 403")
    );

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

/// What `status` reads: a connector's newest runs across modes (optionally of one outcome),
/// the connectors that ever ran, and the span of a connector's cursor updates, each kept to
/// its org and connector.
async fn case_status_reads(s: &AnyStore) {
    assert_eq!(s.recent_runs(ORG, "repos", None, 5).await.unwrap(), vec![]);
    assert_eq!(s.run_connectors(ORG).await.unwrap(), Vec::<String>::new());
    assert_eq!(s.cursor_updates(ORG, "repos").await.unwrap(), None);

    // repos: a failed backfill, a succeeded backfill, then a failed and a running sync;
    // boards and another org alongside.
    let t = |m: u32| at("2024-06-01T10:00:00Z") + Duration::minutes(i64::from(m));
    let mut ids = Vec::new();
    for (mode, outcome, error, m) in [
        ("backfill", "failed", Some("requests: HTTP 503 from ado"), 0),
        ("backfill", "succeeded", None, 10),
        (
            "sync",
            "failed",
            Some("invalid_credentials: every token was refused"),
            20,
        ),
    ] {
        let id = s.start_run(ORG, "repos", mode, t(m)).await.unwrap();
        s.finish_run(id, outcome, error, 3, 4, t(m + 1))
            .await
            .unwrap();
        ids.push(id);
    }
    let boards = s.start_run(ORG, "boards", "backfill", t(25)).await.unwrap();
    s.finish_run(boards, "succeeded", None, 1, 1, t(26))
        .await
        .unwrap();
    let other = s
        .start_run("fabrikam", "pipelines", "sync", t(27))
        .await
        .unwrap();
    let running = s.start_run(ORG, "repos", "sync", t(30)).await.unwrap();
    ids.push(running);

    let all = s.recent_runs(ORG, "repos", None, 10).await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.id).collect::<Vec<_>>(),
        ids.iter().rev().copied().collect::<Vec<_>>(),
        "newest first, both modes, only this connector"
    );
    assert_eq!(all[0].outcome, "running");
    assert_eq!(all[0].finished_at, None);
    assert_eq!(
        all[1],
        RunRecord {
            id: ids[2],
            connector: "repos".into(),
            mode: "sync".into(),
            started_at: t(20),
            finished_at: Some(t(21)),
            outcome: "failed".into(),
            error: Some("invalid_credentials: every token was refused".into()),
            requests: 3,
            rows: 4,
            warnings: None,
        }
    );
    let newest_two = s.recent_runs(ORG, "repos", None, 2).await.unwrap();
    assert_eq!(newest_two, all[..2].to_vec(), "the limit keeps the newest");
    let failed = s
        .recent_runs(ORG, "repos", Some("failed"), 5)
        .await
        .unwrap();
    assert_eq!(
        failed.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![ids[2], ids[0]]
    );
    let succeeded = s
        .recent_runs(ORG, "repos", Some("succeeded"), 1)
        .await
        .unwrap();
    assert_eq!(
        succeeded.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![ids[1]]
    );
    assert_eq!(
        s.recent_runs("fabrikam", "repos", None, 5).await.unwrap(),
        vec![]
    );
    assert_eq!(
        s.run_connectors(ORG).await.unwrap(),
        vec!["boards".to_string(), "repos".to_string()]
    );
    assert_eq!(
        s.run_connectors("fabrikam").await.unwrap(),
        vec!["pipelines".to_string()]
    );
    s.finish_run(other, "cancelled", None, 0, 0, t(28))
        .await
        .unwrap();

    // Cursors: two repos scopes written at different times, one rewritten later; one of
    // boards; one of repos in another org.
    for (org, connector, scope, value, when) in [
        (ORG, "repos", "p1", "a", "2024-06-01T11:00:00.123456Z"),
        (ORG, "repos", "p2", "b", "2024-06-01T12:00:00Z"),
        (ORG, "boards", "p1", "c", "2024-06-01T09:00:00Z"),
        ("fabrikam", "repos", "p9", "d", "2024-06-01T08:00:00Z"),
        (ORG, "repos", "p2", "e", "2024-06-01T13:30:00.5Z"),
    ] {
        let mut b = Batch::new(at(when));
        b.with_cursor(cursor(connector, scope, value));
        s.apply(org, &b).await.unwrap();
    }
    assert_eq!(
        s.cursor_updates(ORG, "repos").await.unwrap(),
        Some(CursorUpdates {
            scopes: 2,
            oldest: at("2024-06-01T11:00:00.123456Z"),
            newest: at("2024-06-01T13:30:00.5Z"),
        })
    );
    assert_eq!(
        s.cursor_updates(ORG, "boards").await.unwrap(),
        Some(CursorUpdates {
            scopes: 1,
            oldest: at("2024-06-01T09:00:00Z"),
            newest: at("2024-06-01T09:00:00Z"),
        })
    );
    assert_eq!(s.cursor_updates(ORG, "pipelines").await.unwrap(), None);
}

async fn case_writer_lock(s: &AnyStore) {
    // SQLite has one writer process (a file lock); PostgreSQL replicas share the database
    // and coordinate by leases (`case_leases`), so a second writer is welcome there.
    let held = s
        .lock_writer(ORG)
        .await
        .expect("the first writer gets the lock");
    if matches!(s, AnyStore::Sqlite(_)) {
        let err = s
            .lock_writer(ORG)
            .await
            .expect_err("a second writer is refused");
        assert!(matches!(err, Error::Locked { .. }), "{err:?}");
        assert!(
            err.to_string().contains("another ado-ingest process"),
            "{err}"
        );
    } else {
        let _second = s.lock_writer(ORG).await.expect("replicas share PostgreSQL");
    }
    drop(held);
    let _held = s.lock_writer(ORG).await.expect("free again once released");

    // Runs a killed process left `running` are closed; other organizations' are not touched,
    // nor finished runs.
    let t = at("2024-06-01T10:00:00Z");
    let dead = s
        .start_run(ORG, "repos", "backfill", t)
        .await
        .expect("start");
    let done = s
        .start_run(ORG, "boards", "backfill", t)
        .await
        .expect("start");
    s.finish_run(done, "succeeded", None, 1, 1, t)
        .await
        .expect("finish");
    let other = s
        .start_run("fabrikam", "repos", "backfill", t)
        .await
        .expect("start");
    let later = at("2024-06-02T10:00:00Z");
    assert_eq!(s.abandon_running(ORG, later).await.expect("abandon"), 1);
    let r = s.last_run(ORG, "repos", "backfill").await.unwrap().unwrap();
    assert_eq!((r.id, r.outcome.as_str()), (dead, "abandoned"));
    assert_eq!(r.finished_at, Some(later));
    assert!(
        r.error
            .as_deref()
            .unwrap_or_default()
            .contains("ended without"),
        "{r:?}"
    );
    let b = s
        .last_run(ORG, "boards", "backfill")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.outcome, "succeeded");
    let f = s
        .last_run("fabrikam", "repos", "backfill")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((f.id, f.outcome.as_str()), (other, "running"));

    // A resumed backfill is `running` again while it runs.
    s.reopen_run(dead).await.expect("reopen");
    let r = s.last_run(ORG, "repos", "backfill").await.unwrap().unwrap();
    assert_eq!(
        (r.outcome.as_str(), r.finished_at, r.error),
        ("running", None, None)
    );
}

async fn case_table_counts(s: &AnyStore) {
    let mut batch = Batch::new(at("2024-06-01T10:00:00Z"));
    batch
        .upsert(vec![project("p1", None)])
        .upsert(vec![repository("r1", "p1"), repository("r2", "p1")]);
    write_prs(
        &mut batch,
        vec![
            pull_request(1, "a"),
            pull_request(2, "b"),
            pull_request(3, "c"),
        ],
    );
    write_users(
        &mut batch,
        vec![user("u1"), user("u2"), user("u3"), user("u4")],
    );
    batch.with_cursor(cursor("repos", "p1", "x"));
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
        ("pull_request_iterations", 0),
        ("pull_request_changes", 0),
        ("pull_request_threads", 0),
        ("pull_request_comments", 0),
        ("pull_request_work_items", 0),
        ("pull_request_statuses", 0),
        ("pull_request_policy_evaluations", 0),
        ("pull_request_commits", 0),
        ("commits", 0),
        ("pipelines", 0),
        ("builds", 0),
        ("build_timeline_records", 0),
        ("build_changes", 0),
        ("releases", 0),
        ("release_environments", 0),
        ("release_deployments", 0),
        ("environments", 0),
        ("environment_deployments", 0),
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

#[tokio::test]
async fn in_memory_sqlite_works() {
    let s = AnyStore::connect("sqlite::memory:")
        .await
        .expect("open in-memory SQLite");
    s.migrate().await.expect("migrate");
    super::repos::case_round_trip(&s).await;
}

#[tokio::test]
async fn corrupt_timestamp_is_reported() {
    // A value something other than this daemon wrote into a SQLite text column: reading it
    // back names the column instead of returning a wrong time.
    let db = TestDb::sqlite();
    let s = db.store().await;
    let AnyStore::Sqlite(sqlite) = &s else {
        unreachable!("TestDb::sqlite opens SQLite")
    };
    s.start_run(ORG, "repos", "backfill", at("2024-06-01T10:00:00Z"))
        .await
        .expect("start");
    sqlx::query("UPDATE sync_runs SET started_at = 'yesterday'")
        .execute(&sqlite.writer)
        .await
        .expect("corrupt the row");
    let err = s
        .last_run(ORG, "repos", "backfill")
        .await
        .expect_err("corrupt value");
    assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("started_at"), "{err}");
    s.close().await;
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
