//! Boards: work items (never regress by rev, deletion and restore), revisions, links, and the
//! Boards batch as a whole (round trip, atomicity, size, concurrency).

use super::*;

contract_tests! {
    boards_apply_then_read_back_returns_every_field => case_boards_round_trip,
    work_items_never_regress => case_work_items_never_regress,
    work_items_are_deleted_and_restored => case_work_item_deletions,
    replaying_a_revision_page_is_idempotent => case_revision_page_replay,
    links_follow_their_changed_date => case_links,
    failed_boards_batch_writes_nothing => case_boards_atomic,
    revision_batch_beyond_the_bind_parameter_limit => case_large_revision_batch,
    concurrent_revision_pages_keep_the_newest_rev => case_concurrent_revision_pages,
}

async fn case_boards_round_trip(s: &AnyStore) {
    let observed = at("2024-06-01T12:00:00.654321Z");
    let b = boards_batch(observed);
    let written = s.apply(ORG, &b).await.expect("apply");
    assert_eq!(written, b.row_count() as u64);

    // Work items: every column; the 7th fractional digit is dropped.
    let items = boards_work_items();
    let mut full = items[0].clone();
    full.closed_date = Some(at("2024-01-05T10:00:00.123456Z"));
    assert_eq!(
        stored::<WorkItemRow>(s).await,
        vec![
            expected_work_item(&items[1], None),
            expected_work_item(&full, None),
        ]
    );
    let mut want_revisions: Vec<WorkItemRevisionRow> =
        boards_revisions().into_iter().map(norm).collect();
    want_revisions.sort_by_key(|r| (r.id, r.rev));
    assert_eq!(rows_of::<WorkItemRevisionRow>(s).await, want_revisions);
    let want_links: Vec<WorkItemLinkRow> = boards_links().into_iter().map(norm).collect();
    assert_eq!(rows_of::<WorkItemLinkRow>(s).await, want_links);

    // Teams and members.
    assert_eq!(
        stored::<TeamRow>(s).await,
        vec![
            (norm(team("t1", "p1")), None),
            (
                norm(TeamRow {
                    description: None,
                    ..team("t2", "p1")
                }),
                None
            ),
        ]
    );
    assert_eq!(
        member_sets(s).await,
        vec![(
            "t1".to_string(),
            vec![member("t1", "u1", false), member("t1", "u2", true)]
        )]
    );

    // Users: u1 carries the Graph columns of its descriptor; the Graph user without a known
    // identity is stored under its descriptor.
    let g9 = graph_user("aad.g9");
    let g1 = graph_user("aad.u1");
    assert_eq!(
        plain::<UserProfile>(s).await,
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
    assert_eq!(plain::<UserRow>(s).await.len(), 3);

    // Planning structure.
    let planning = boards_planning();
    let want_iterations: Vec<(IterationRow, _)> = planning
        .iterations
        .into_iter()
        .flatten()
        .map(|n| (norm(n), None))
        .collect();
    let iterations = stored::<IterationRow>(s).await;
    assert_eq!(iterations, want_iterations);
    assert!(iterations[1].0.start_date.is_some());
    let want_areas: Vec<(AreaRow, _)> = planning
        .areas
        .into_iter()
        .flatten()
        .map(|n| {
            // Areas have no dates.
            (
                norm(AreaRow {
                    start_date: None,
                    finish_date: None,
                    ..n
                }),
                None,
            )
        })
        .collect();
    assert_eq!(stored::<AreaRow>(s).await, want_areas);
    let mut want_types: Vec<Wit> = planning
        .types
        .into_iter()
        .flatten()
        .map(|mut t| {
            t.row = norm(t.row);
            t.states.sort();
            t
        })
        .collect();
    want_types.sort_by(|a, b| a.row.name.cmp(&b.row.name));
    assert_eq!(types(s).await, want_types);
    let want_fields = vec![
        norm(wi_field("System.State")),
        norm(wi_field("System.Title")),
    ];
    assert_eq!(rows_of::<WorkItemFieldRow>(s).await, want_fields);

    assert_eq!(
        s.cursor(ORG, "boards", "work_item_revisions:p1")
            .await
            .expect("cursor"),
        Some("813;350;1".to_string())
    );
    assert_eq!(
        live::<WorkItemRow>(s, |w| w.project.as_deref() == Some("Fabrikam")).await,
        keys([7i64])
    );

    // Another organization with the same ids is independent.
    s.apply("fabrikam", &boards_batch(observed))
        .await
        .expect("apply other org");
    assert_eq!(stored::<WorkItemRow>(s).await.len(), 2);
    assert_eq!(stored_in::<WorkItemRow>(s, "fabrikam").await.len(), 2);
    assert!(stored_in::<WorkItemRow>(s, "nobody").await.is_empty());
}

async fn case_work_items_never_regress(s: &AnyStore) {
    let t1 = at("2024-06-01T10:00:00Z");
    let t2 = at("2024-06-01T11:00:00Z");
    let t3 = at("2024-06-01T12:00:00Z");
    let apply = |observed, items: Vec<WorkItemRow>| async move {
        let mut b = Batch::new(observed);
        b.upsert(items);
        s.apply(ORG, &b).await.expect("apply")
    };
    let title = |id| async move { work_item_of(s, id).await.0.title };

    let first = vec![
        WorkItemRow {
            title: Some("five".to_string()),
            ..work_item(1, 5)
        },
        work_item(2, 2),
    ];
    assert_eq!(apply(t2, first).await, 2);

    // Older revisions, and the same revision observed earlier, change nothing.
    let stale = vec![
        work_item(1, 4),
        WorkItemRow {
            title: Some("stale five".to_string()),
            ..work_item(1, 5)
        },
    ];
    assert_eq!(apply(t1, stale).await, 0);
    assert_eq!(apply(t3, vec![work_item(1, 3)]).await, 0, "older rev");
    assert_eq!(title(1).await.as_deref(), Some("five"));

    // A higher revision wins even when it was observed earlier (a slow page of the stream).
    assert_eq!(apply(t1, vec![work_item(2, 3)]).await, 1);
    assert_eq!(work_item_of(s, 2).await.0.rev, 3);

    // The same revision observed later is rewritten.
    let again = vec![WorkItemRow {
        title: Some("five again".to_string()),
        ..work_item(1, 5)
    }];
    assert_eq!(apply(t3, again).await, 1);
    assert_eq!(title(1).await.as_deref(), Some("five again"));

    // Several revisions of one item in a page: the highest rev wins, in any order.
    apply(t3, vec![work_item(3, 2), work_item(3, 4), work_item(3, 1)]).await;
    assert_eq!(work_item_of(s, 3).await.0.rev, 4);

    // A last comment date from the comments endpoint survives revisions that carry none.
    let commented = at("2024-01-09T10:00:00Z");
    let comment = vec![WorkItemRow {
        last_comment_date: Some(commented),
        ..work_item(1, 6)
    }];
    apply(t3, comment).await;
    apply(t3, vec![work_item(1, 7)]).await;
    let (one, _) = work_item_of(s, 1).await;
    assert_eq!((one.rev, one.last_comment_date), (7, Some(commented)));
}

async fn case_work_item_deletions(s: &AnyStore) {
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
    let deleted_at = |id: i64| async move { work_item_of(s, id).await.1 };
    let live_items = || live::<WorkItemRow>(s, |w| w.project.as_deref() == Some("Fabrikam"));

    apply(t1, &|b| {
        b.upsert((1..=3).map(|id| work_item(id, 1)).collect());
    })
    .await;

    // The stream reports a deletion as a revision with System.IsDeleted: the item keeps its
    // data and gets the revision's time as deleted_at.
    let deleted = |id, rev| WorkItemRow {
        is_deleted: true,
        state: Some("Removed".to_string()),
        ..work_item(id, rev)
    };
    apply(t2, &|b| {
        b.upsert(vec![deleted(1, 2)]);
    })
    .await;
    assert_eq!(deleted_at(1).await, Some(changed(2)));
    assert_eq!(live_items().await, keys([2i64, 3]));
    let (one, one_deleted) = work_item_of(s, 1).await;
    assert_eq!(
        (one.state.as_deref(), one_deleted.is_some()),
        (Some("Removed"), true)
    );
    // A replay of an older revision neither changes nor revives it.
    apply(t3, &|b| {
        b.upsert(vec![work_item(1, 1)]);
    })
    .await;
    assert_eq!(work_item_of(s, 1).await.0.rev, 2);
    assert_eq!(deleted_at(1).await, Some(changed(2)));
    // A later deleted revision keeps the first deletion time.
    apply(t3, &|b| {
        b.upsert(vec![deleted(1, 3)]);
    })
    .await;
    assert_eq!(deleted_at(1).await, Some(changed(2)));
    // The restore is a new revision without the flag.
    apply(t3, &|b| {
        b.upsert(vec![work_item(1, 4)]);
    })
    .await;
    assert_eq!(deleted_at(1).await, None);
    assert_eq!(live_items().await, keys([1i64, 2, 3]));

    // An explicit signal (recycle bin listing) stamps the observation time, once.
    let written = apply(t3, &|b| {
        b.mark_deleted::<WorkItemRow>(keys([2i64, 99]));
    })
    .await;
    assert_eq!(written, 1, "only item 2 is stored and live");
    let again = apply(t4, &|b| {
        b.mark_deleted::<WorkItemRow>(keys([2i64]));
    })
    .await;
    assert_eq!(again, 0);
    assert_eq!(deleted_at(2).await, Some(t3));
    // Revisions that predate the signal are no evidence of a restore: the data is updated,
    // the mark stays.
    apply(t4, &|b| {
        b.upsert(vec![work_item(2, 1)]);
    })
    .await;
    apply(t4, &|b| {
        b.upsert(vec![work_item(2, 2)]);
    })
    .await;
    let (two, two_deleted) = work_item_of(s, 2).await;
    assert_eq!((two.rev, two_deleted), (2, Some(t3)));
    // A revision made after the signal means the item came back.
    apply(t5, &|b| {
        b.upsert(vec![WorkItemRow {
            changed_date: Some(t3 + Duration::minutes(5)),
            ..work_item(2, 3)
        }]);
    })
    .await;
    assert_eq!(deleted_at(2).await, None);

    // A deletion signal older than the row's last observation is stale: ignored.
    let stale = apply(t0, &|b| {
        b.mark_deleted::<WorkItemRow>(keys([3i64]));
    })
    .await;
    assert_eq!(stale, 0);
    assert_eq!(deleted_at(3).await, None);

    // An explicit restore signal lifts marks set before it, not later ones.
    apply(t4, &|b| {
        b.mark_deleted::<WorkItemRow>(keys([3i64]));
    })
    .await;
    let early = apply(t3, &|b| {
        b.restore::<WorkItemRow>(keys([3i64]));
    })
    .await;
    assert_eq!(early, 0);
    assert_eq!(deleted_at(3).await, Some(t4));
    let restored = apply(t5, &|b| {
        b.restore::<WorkItemRow>(keys([3i64, 2, 99]));
    })
    .await;
    assert_eq!(restored, 1);
    assert_eq!(deleted_at(3).await, None);
    assert_eq!(live_items().await, keys([1i64, 2, 3]));
    assert_eq!(
        stored::<WorkItemRow>(s).await.len(),
        3,
        "data is always kept"
    );
}

async fn case_revision_page_replay(s: &AnyStore) {
    let t1 = at("2024-06-01T10:00:00Z");
    let page = revision_page(1, 40, 5, t1);
    assert_eq!(page.row_count(), 40 + 200);
    assert_eq!(s.apply(ORG, &page).await.expect("apply"), 240);
    let counts = s.table_counts().await.expect("counts");
    let items = stored::<WorkItemRow>(s).await;
    let revs = rows_of::<WorkItemRevisionRow>(s).await;

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
    assert_eq!(stored::<WorkItemRow>(s).await, items);
    assert_eq!(rows_of::<WorkItemRevisionRow>(s).await, revs);

    // An older page (a stream restarted from an old token) regresses nothing.
    let old = revision_page(1, 40, 3, t1 + Duration::hours(2));
    assert_eq!(s.apply(ORG, &old).await.expect("old page"), 0);
    assert_eq!(stored::<WorkItemRow>(s).await, items);

    // Revisions do not change: one sent again with other values and no more fields, or
    // with fewer, is ignored.
    for field_count in [Some(20), Some(19)] {
        let mut changed_revision = Batch::new(t1 + Duration::hours(3));
        changed_revision.upsert(vec![WorkItemRevisionRow {
            state: Some("Closed".to_string()),
            fields: r#"{"System.State":"Closed"}"#.to_string(),
            field_count,
            ..revision(1, 1)
        }]);
        assert_eq!(s.apply(ORG, &changed_revision).await.expect("apply"), 0);
        assert_eq!(rows_of::<WorkItemRevisionRow>(s).await, revs);
    }

    // An observation with more fields (the long-text fields a stream read without
    // `$expand=fields` lacked) replaces it, whatever its observation time.
    let richer = WorkItemRevisionRow {
        fields: r#"{"System.Description":"<div>text</div>"}"#.to_string(),
        field_count: Some(21),
        ..revision(1, 1)
    };
    let mut fuller = Batch::new(t1 - Duration::hours(5));
    fuller.upsert(vec![richer.clone()]);
    assert_eq!(s.apply(ORG, &fuller).await.expect("apply"), 1);
    let stored = rows_of::<WorkItemRevisionRow>(s).await;
    assert_eq!(
        stored.iter().find(|r| (r.id, r.rev) == (1, 1)),
        Some(&richer)
    );
    assert_eq!(stored.len(), revs.len());
}

async fn case_links(s: &AnyStore) {
    let t1 = at("2024-06-01T10:00:00Z");
    let t2 = at("2024-06-01T11:00:00Z");
    let batch = |observed, links: Vec<WorkItemLinkRow>| {
        let mut b = Batch::new(observed);
        b.upsert(links);
        b
    };
    let first = batch(
        t2,
        vec![
            link(1, 2, HIERARCHY, true, "2024-01-01T00:00:00Z"),
            link(1, 3, HIERARCHY, true, "2024-01-01T00:00:00Z"),
            link(1, 2, RELATED, true, "2024-01-01T00:00:00Z"),
        ],
    );
    s.apply(ORG, &first).await.expect("apply");

    // A removal, then a stale re-add from an older change, then a page with the same link
    // twice (the last change in time wins).
    let removed = batch(
        t1,
        vec![link(1, 2, HIERARCHY, false, "2024-01-02T00:00:00Z")],
    );
    assert_eq!(s.apply(ORG, &removed).await.expect("apply removal"), 1);
    let stale = batch(
        t2,
        vec![link(1, 2, HIERARCHY, true, "2024-01-01T12:00:00Z")],
    );
    assert_eq!(s.apply(ORG, &stale).await.expect("apply stale"), 0);
    let page = batch(
        t2,
        vec![
            link(1, 3, HIERARCHY, false, "2024-01-03T00:00:00Z"),
            link(1, 3, HIERARCHY, true, "2024-01-04T00:00:00Z"),
            link(1, 2, RELATED, false, "2024-01-05T00:00:00Z"),
        ],
    );
    s.apply(ORG, &page).await.expect("apply page");

    let state: Vec<(i64, i64, String, bool)> = rows_of::<WorkItemLinkRow>(s)
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
    let before = rows_of::<WorkItemLinkRow>(s).await;
    s.apply(ORG, &page).await.expect("replay");
    assert_eq!(rows_of::<WorkItemLinkRow>(s).await, before);
}

async fn case_boards_atomic(s: &AnyStore) {
    let mut good = revision_page(1, 2, 2, at("2024-06-01T10:00:00Z"));
    good.with_cursor(cursor("boards", "work_item_revisions:p1", "page-1"));
    s.apply(ORG, &good).await.expect("apply good page");
    let counts = s.table_counts().await.expect("counts");

    // Everything of this page is valid except the last revision's fields: nothing of it is
    // written, the cursor stays.
    let mut bad = boards_batch(at("2024-06-01T10:01:00Z"));
    bad.upsert(vec![work_item(1, 9)])
        .mark_deleted::<WorkItemRow>(keys([2i64]))
        .upsert(vec![WorkItemRevisionRow {
            fields: "{ not json".to_string(),
            ..revision(5, 1)
        }])
        .with_cursor(cursor("boards", "work_item_revisions:p1", "page-2"));
    let err = s.apply(ORG, &bad).await.expect_err("invalid fields");
    assert!(
        matches!(
            err,
            Error::Statement {
                table: "work_item_revisions",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(s.table_counts().await.expect("counts"), counts);
    assert_eq!(work_item_of(s, 1).await.0.rev, 2);
    assert_eq!(work_item_of(s, 2).await.1, None);
    assert_eq!(
        s.cursor(ORG, "boards", "work_item_revisions:p1")
            .await
            .expect("cursor"),
        Some("page-1".to_string())
    );
}

async fn case_large_revision_batch(s: &AnyStore) {
    // 3,000 items × 31 columns and 12,000 revisions × 10 columns in one batch: far beyond
    // SQLite's 32,766 bind parameters per statement.
    let batch = revision_page(1, 3_000, 4, at("2024-06-01T10:00:00Z"));
    let written = s.apply(ORG, &batch).await.expect("apply large batch");
    assert_eq!(written, 3_000 + 12_000);
    assert_eq!(count(s, "work_items").await, 3_000);
    assert_eq!(count(s, "work_item_revisions").await, 12_000);
    let stored = stored::<WorkItemRow>(s).await;
    assert_eq!(
        stored[2_999],
        expected_work_item(&work_item(3_000, 4), None)
    );
}

async fn case_concurrent_revision_pages(s: &AnyStore) {
    // 6 tasks write overlapping items with interleaved revisions: each item ends at its
    // highest rev, and every revision is stored once.
    const TASKS: i64 = 6;
    let mut handles = Vec::new();
    for task in 0..TASKS {
        let store = s.clone();
        handles.push(tokio::spawn(async move {
            for page in 0..5 {
                let mut items = Vec::new();
                let mut revisions = Vec::new();
                for id in 1..=60 {
                    let rev = 1 + (task + page + id) % 10;
                    items.push(work_item(id, rev));
                    revisions.push(revision(id, rev));
                }
                let mut b = Batch::new(at("2024-06-01T10:00:00Z") + Duration::seconds(page));
                b.upsert(items).upsert(revisions);
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
    let stored: Vec<(i64, i64)> = stored::<WorkItemRow>(s)
        .await
        .into_iter()
        .map(|(w, _)| (w.id, w.rev))
        .collect();
    assert_eq!(stored, newest.into_iter().collect::<Vec<_>>());
    let revs: Vec<(i64, i64)> = rows_of::<WorkItemRevisionRow>(s)
        .await
        .iter()
        .map(|r| (r.id, r.rev))
        .collect();
    assert_eq!(revs, all.into_iter().collect::<Vec<_>>());
}
