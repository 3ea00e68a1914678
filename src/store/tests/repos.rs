//! Repos: projects, repositories, pull requests with their reviewer sets, and the users they
//! mention, written the way `connectors::repos` writes a page.

use super::*;

contract_tests! {
    apply_then_read_back_returns_every_field => case_round_trip,
    older_observation_never_overwrites_newer => case_never_regress,
    reapplying_a_batch_is_idempotent => case_idempotent,
    only_changed_reviewer_sets_are_rewritten => case_changed_reviewer_sets,
    duplicate_ids_in_a_batch_keep_the_last => case_duplicate_ids,
    batch_beyond_the_bind_parameter_limit => case_large_batch,
    concurrent_applies_serialize_and_never_regress => case_concurrent_applies,
    nul_characters_do_not_block_a_page => case_nul_characters,
}

pub(super) async fn case_round_trip(s: &AnyStore) {
    let observed = at("2024-06-01T12:00:00.654321Z");
    let users = vec![
        user("u2"),
        UserRow {
            id: "u1".to_string(),
            display_name: None,
            unique_name: None,
            is_container: true,
            descriptor: None,
        },
    ];
    let projects = vec![
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
    let repositories = vec![
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
    let base = pull_request(7, "Full ✓ \"quoted\"");
    let full = Pr {
        row: PullRequestRow {
            closed_date: Some(at("2024-04-01T00:00:00.000001Z")),
            status: "completed".to_string(),
            is_draft: true,
            ..base.row
        },
        reviewers: vec![
            ReviewerRow {
                pull_request_id: 7,
                reviewer_id: "u3".to_string(),
                vote: -10,
                is_required: true,
                has_declined: false,
            },
            ReviewerRow {
                pull_request_id: 7,
                reviewer_id: "u1".to_string(),
                vote: 0,
                is_required: false,
                has_declined: true,
            },
            reviewer(7, "u2", 5),
        ],
    };
    let bare = Pr {
        row: PullRequestRow {
            created_by_id: None,
            merge_status: None,
            last_merge_source_commit: None,
            last_merge_commit: None,
            change_marker: None,
            // ADO's 7th fractional digit is dropped: .1234567 is stored as .123456.
            creation_date: at("2023-12-31T23:59:59.1234567Z"),
            ..pull_request(3, "Bare").row
        },
        reviewers: Vec::new(),
    };
    let mut batch = Batch::new(observed);
    batch.upsert(projects.clone()).upsert(repositories.clone());
    write_prs(&mut batch, vec![full.clone(), bare.clone()]);
    write_users(&mut batch, users.clone());
    batch.with_cursor(cursor("repos", "pull_requests/p1", "2024-06-01T11:50:00Z"));

    let written = s.apply(ORG, &batch).await.expect("apply");
    assert_eq!(written, batch.row_count() as u64);

    // Another organization with the same ids is independent.
    let mut other = Batch::new(observed);
    write_prs(&mut other, vec![pull_request(7, "Other org")]);
    write_users(&mut other, vec![user("u1")]);
    s.apply("fabrikam", &other).await.expect("apply other org");

    let mut want_users = users;
    want_users.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(plain::<UserRow>(s).await, want_users);

    let want: Vec<_> = projects.into_iter().map(|p| (norm(p), None)).collect();
    assert_eq!(stored::<ProjectRow>(s).await, want);
    let want: Vec<_> = repositories.into_iter().map(|r| (norm(r), None)).collect();
    assert_eq!(stored::<RepositoryRow>(s).await, want);

    let mut want_full = Pr {
        row: norm(full.row),
        reviewers: full.reviewers,
    };
    want_full.reviewers.sort();
    let want_bare = Pr {
        row: norm(PullRequestRow {
            creation_date: at("2023-12-31T23:59:59.123456Z"),
            ..bare.row
        }),
        reviewers: Vec::new(),
    };
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
    assert_eq!(live::<ProjectRow>(s, |_| true).await, keys(["p1", "p2"]));
    assert_eq!(
        live::<RepositoryRow>(s, |r| r.project_id == "p1").await,
        keys(["r1", "r2"])
    );
    let other_pr = prs_in(s, "fabrikam")
        .await
        .into_iter()
        .find(|p| p.row.id == 7)
        .expect("pull request stored");
    assert_eq!(other_pr.row.title, "Other org");
}

async fn case_never_regress(s: &AnyStore) {
    let t1 = at("2024-06-01T10:00:00Z");
    let t2 = at("2024-06-01T10:05:00Z");

    let mut newer = Batch::new(t2);
    newer
        .upsert(vec![project("p1", None)])
        .upsert(vec![repository("r1", "p1")]);
    let newest = pull_request(1, "newer").with_reviewers(&[("u-new", 10)]);
    write_prs(
        &mut newer,
        vec![Pr {
            row: PullRequestRow {
                status: "completed".to_string(),
                ..newest.row
            },
            ..newest
        }],
    );
    write_users(&mut newer, vec![user("u1")]);
    s.apply(ORG, &newer).await.expect("apply newer");

    // A slow response observed earlier arrives later: nothing it carries replaces the newer
    // rows, and the stale PR's reviewers are not written. PR 2 is new and is written.
    let mut stale = Batch::new(t1);
    stale
        .upsert(vec![ProjectRow {
            name: "Old name".to_string(),
            ..project("p1", None)
        }])
        .upsert(vec![RepositoryRow {
            name: "old-name".to_string(),
            ..repository("r1", "p1")
        }]);
    write_prs(
        &mut stale,
        vec![
            pull_request(1, "older").with_reviewers(&[("u-old", -10), ("u-older", 5)]),
            pull_request(2, "fresh"),
        ],
    );
    write_users(
        &mut stale,
        vec![UserRow {
            display_name: Some("Old name".to_string()),
            ..user("u1")
        }],
    );
    let written = s.apply(ORG, &stale).await.expect("apply stale");
    assert_eq!(
        written,
        1 + 2,
        "only PR 2 and its two reviewers are written"
    );

    let kept = pr(s, 1).await;
    assert_eq!(kept.row.title, "newer");
    assert_eq!(kept.row.status, "completed");
    assert_eq!(kept.reviewers, vec![reviewer(1, "u-new", 10)]);
    assert_eq!(pr(s, 2).await.reviewers.len(), 2);
    assert_eq!(
        plain::<UserRow>(s).await[0].display_name.as_deref(),
        Some("User u1")
    );
    assert_eq!(rows_of::<RepositoryRow>(s).await[0].name, "repo-r1");
    assert_eq!(rows_of::<ProjectRow>(s).await[0].name, "Project p1");
    assert_eq!(count(s, "pull_request_reviewers").await, 3);
}

async fn case_idempotent(s: &AnyStore) {
    let mut batch = Batch::new(at("2024-06-01T10:00:00Z"));
    batch
        .upsert(vec![project("p1", None)])
        .upsert(vec![repository("r1", "p1")]);
    write_prs(
        &mut batch,
        (1..=20).map(|id| pull_request(id, "same")).collect(),
    );
    write_users(&mut batch, vec![user("u1"), user("u2")]);
    batch.with_cursor(cursor("repos", "p1", "1"));
    s.apply(ORG, &batch).await.expect("first apply");
    let counts = s.table_counts().await.expect("counts");
    let before = prs(s).await;
    s.apply(ORG, &batch).await.expect("second apply");
    assert_eq!(s.table_counts().await.expect("counts"), counts);
    assert_eq!(prs(s).await, before);
    assert_eq!(count(s, "pull_request_reviewers").await, 40);
}

/// A newer page with the same reviewers writes its PRs and nothing of the unchanged sets; a
/// set that lost, gained or changed a reviewer is rewritten, and only that one.
async fn case_changed_reviewer_sets(s: &AnyStore) {
    let page = |observed: &str, change: bool| {
        let mut b = Batch::new(at(observed));
        let prs = (1..=20)
            .map(|id| {
                let mut pr = pull_request(id, "same");
                if change && id == 5 {
                    pr.reviewers = vec![reviewer(5, "u2", 10), reviewer(5, "u4", 0)];
                }
                if change && id == 6 {
                    pr.reviewers[0].vote = -10;
                }
                pr
            })
            .collect();
        write_prs(&mut b, prs);
        b
    };
    s.apply(ORG, &page("2024-06-01T10:00:00Z", false))
        .await
        .expect("first page");
    // 20 PRs, newer: written; every reviewer set as stored.
    let same = s
        .apply(ORG, &page("2024-06-01T11:00:00Z", false))
        .await
        .expect("same reviewers");
    assert_eq!(same, 20, "only the PRs are written");
    // PR 5: u3 deleted, u4 added; PR 6: one vote changed.
    let changed = s
        .apply(ORG, &page("2024-06-01T12:00:00Z", true))
        .await
        .expect("changed reviewers");
    assert_eq!(changed, 20 + 2 + 1);
    let mut stored: Vec<(i64, String, i32)> = s
        .rows::<ReviewerRow>(ORG)
        .await
        .expect("reviewers")
        .into_iter()
        .filter(|r| r.pull_request_id == 5 || r.pull_request_id == 6)
        .map(|r| (r.pull_request_id, r.reviewer_id, r.vote))
        .collect();
    stored.sort();
    let expected = [(5, "u2", 10), (5, "u4", 0), (6, "u2", -10), (6, "u3", -5)]
        .map(|(id, r, v)| (id, r.to_string(), v));
    assert_eq!(stored, expected);
    assert_eq!(count(s, "pull_request_reviewers").await, 40);
}

async fn case_duplicate_ids(s: &AnyStore) {
    // PR 1 is listed twice: its row is the last occurrence; its reviewer set is the one of
    // that occurrence, which names u9 twice (the last vote counts). Reviewers are child rows
    // matched to their PR by key, so the set given for PR 1 is the last occurrence's.
    let last = pull_request(1, "last").with_reviewers(&[("u9", 5), ("u8", 0), ("u9", 10)]);
    let other = pull_request(2, "other");
    let rows = vec![
        pull_request(1, "first").row,
        other.row.clone(),
        last.row.clone(),
    ];
    let parents = rows.iter().map(Record::key).collect();
    let mut reviewers = other.reviewers.clone();
    reviewers.extend(last.reviewers.clone());
    let mut batch = Batch::new(at("2024-06-01T10:00:00Z"));
    batch
        .upsert(vec![project("p1", None), project("p1", None)])
        .upsert(vec![
            repository("r1", "p1"),
            RepositoryRow {
                name: "last".to_string(),
                ..repository("r1", "p1")
            },
        ])
        .upsert(rows)
        .replace_children::<PullRequestRow, _>(parents, reviewers);
    write_users(
        &mut batch,
        vec![
            user("u1"),
            UserRow {
                display_name: Some("Last".to_string()),
                ..user("u1")
            },
        ],
    );
    s.apply(ORG, &batch).await.expect("apply duplicates");
    let one = pr(s, 1).await;
    assert_eq!(one.row.title, "last");
    assert_eq!(
        one.reviewers,
        vec![reviewer(1, "u8", 0), reviewer(1, "u9", 10)]
    );
    assert_eq!(prs(s).await.len(), 2);
    assert_eq!(pr(s, 2).await.reviewers, other.reviewers);
    assert_eq!(
        plain::<UserRow>(s).await[0].display_name.as_deref(),
        Some("Last")
    );
    assert_eq!(rows_of::<RepositoryRow>(s).await[0].name, "last");
    assert_eq!(count(s, "projects").await, 1);
}

async fn case_large_batch(s: &AnyStore) {
    // 5,000 PRs × 17 columns and 10,000 reviewers × 6 columns: far beyond SQLite's 32,766
    // bind parameters per statement.
    let prs_in_batch: Vec<Pr> = (1..=5_000)
        .map(|id| pull_request(id, &format!("PR {id}")))
        .collect();
    let last = prs_in_batch[4_999].clone();
    let mut batch = Batch::new(at("2024-06-01T10:00:00Z"));
    write_prs(&mut batch, prs_in_batch);
    write_users(
        &mut batch,
        (0..3_000).map(|i| user(&format!("u{i:05}"))).collect(),
    );
    let written = s.apply(ORG, &batch).await.expect("apply large batch");
    assert_eq!(written, 5_000 + 10_000 + 3_000);
    let stored = prs(s).await;
    assert_eq!(stored.len(), 5_000);
    assert_eq!(
        stored[4_999],
        Pr {
            row: norm(last.row),
            reviewers: last.reviewers
        }
    );
    assert_eq!(count(s, "pull_request_reviewers").await, 10_000);
    assert_eq!(count(s, "users").await, 3_000);
}

async fn case_concurrent_applies(s: &AnyStore) {
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
                let voter = format!("t{task}p{page}");
                write_prs(
                    &mut batch,
                    ids(task, page)
                        .map(|id| {
                            pull_request(id, &at.to_rfc3339())
                                .with_reviewers(&[(voter.as_str(), 10)])
                        })
                        .collect(),
                );
                write_users(&mut batch, vec![user(&format!("u{}", page % 3))]);
                batch.with_cursor(cursor("repos", &format!("task{task}"), &page.to_string()));
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
        let (at, task, page) = newest[&pr.row.id];
        assert_eq!(pr.row.title, at.to_rfc3339(), "PR {}", pr.row.id);
        assert_eq!(
            pr.reviewers,
            vec![reviewer(pr.row.id, &format!("t{task}p{page}"), 10)]
        );
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

async fn case_nul_characters(s: &AnyStore) {
    // Postgres text cannot hold NUL and JSONB rejects `\u0000`; SQLite keeps them. Either way
    // the page is written (Postgres stores U+FFFD instead).
    let base = pull_request(1, "a\0b");
    let mut batch = Batch::new(at("2024-06-01T10:00:00Z"));
    write_prs(
        &mut batch,
        vec![Pr {
            row: PullRequestRow {
                raw: r#"{"title":"a\u0000b","id":1}"#.to_string(),
                ..base.row
            },
            ..base
        }],
    );
    s.apply(ORG, &batch).await.expect("apply NUL");
    let stored = pr(s, 1).await;
    assert_eq!(stored.row.title.replace('\0', "\u{FFFD}"), "a\u{FFFD}b");
    let raw: serde_json::Value = serde_json::from_str(&stored.row.raw).expect("JSON");
    let title = raw["title"]
        .as_str()
        .expect("title")
        .replace('\0', "\u{FFFD}");
    assert_eq!(title, "a\u{FFFD}b");
}
