//! Core: projects' own never-regress rule, deletion marks of projects and repositories, teams
//! with their member sets, and users merged between identities and Graph users.

use super::*;

contract_tests! {
    project_with_newer_last_update_time_is_kept => case_project_last_update_time,
    deletions_are_stamped_and_undone => case_deletions,
    complete_listings_mark_what_they_lack => case_listing_marks_missing,
    teams_refresh_and_member_sets => case_teams_refresh,
    graph_users_merge_with_identities => case_users_merge,
    projects_go_only_when_no_connector_sees_them => case_project_visibility,
    most_of_a_scope_missing_is_refused_unless_allowed => case_mass_deletion_guard,
}

/// Each connector lists projects with its own tokens (issue 9, item 4): a project one of
/// them cannot see stays live while another lists it, instead of flipping between deleted
/// and live run after run; when none sees it, it goes with its repositories, teams,
/// iterations and work items.
async fn case_project_visibility(s: &AnyStore) {
    let t = |m: i64| at("2024-06-01T10:00:00Z") + Duration::minutes(m);
    let listing = |observed, connector: &str, ids: &[&str]| {
        let mut b = Batch::new(observed);
        let rows = ids.iter().map(|p| project(p, None)).collect();
        crate::connectors::projects::write_listing(&mut b, connector, rows, true);
        b
    };
    let live_projects = || async {
        stored::<ProjectRow>(s)
            .await
            .into_iter()
            .filter(|(_, d)| d.is_none())
            .map(|(p, _)| p.id)
            .collect::<Vec<_>>()
    };
    let all = ["p1", "p2", "p3", "p4"];
    s.apply(ORG, &listing(t(0), "repos", &all))
        .await
        .expect("repos");
    s.apply(ORG, &listing(t(1), "boards", &all))
        .await
        .expect("boards");
    let mut children = Batch::new(t(2));
    children
        .upsert(vec![repository("r1", "p1"), repository("r4", "p4")])
        .upsert(vec![team("t4", "p4")])
        .upsert(vec![WorkItemRow {
            project: Some("Project p4".to_string()),
            ..work_item(40, 1)
        }]);
    s.apply(ORG, &children).await.expect("children");

    // The repos token no longer sees p4; the boards token does. Run after run, p4 stays.
    for round in 0..2 {
        let m = 3 + 2 * round;
        s.apply(ORG, &listing(t(m), "repos", &all[..3]))
            .await
            .expect("repos");
        assert_eq!(live_projects().await, all, "after repos, round {round}");
        s.apply(ORG, &listing(t(m + 1), "boards", &all))
            .await
            .expect("boards");
        assert_eq!(live_projects().await, all, "after boards, round {round}");
    }

    // Neither sees it: p4 is deleted, and what lived in it with it.
    s.apply(ORG, &listing(t(10), "boards", &all[..3]))
        .await
        .expect("boards");
    assert_eq!(live_projects().await, all[..3]);
    let repos: Vec<(String, bool)> = stored::<RepositoryRow>(s)
        .await
        .into_iter()
        .map(|(r, d)| (r.id, d.is_some()))
        .collect();
    assert_eq!(repos, [("r1".to_string(), false), ("r4".to_string(), true)]);
    assert!(stored::<TeamRow>(s).await[0].1.is_some(), "the team of p4");
    assert!(work_item_of(s, 40).await.1.is_some(), "the work item of p4");

    // Seen again (a restored project): live again.
    s.apply(ORG, &listing(t(11), "repos", &all))
        .await
        .expect("repos");
    assert_eq!(live_projects().await, all);
}

/// A complete listing that lacks most of what is stored is what a token that lost its
/// permissions returns: refused, unless `sync.allow_mass_deletion` allows it.
async fn case_mass_deletion_guard(s: &AnyStore) {
    let t = |m: i64| at("2024-06-01T10:00:00Z") + Duration::minutes(m);
    let listing = |observed, ids: &[&str], allow: bool| {
        let mut b = Batch::new(observed);
        b.allow_mass_deletion(allow);
        let rows: Vec<RepositoryRow> = ids.iter().map(|r| repository(r, "p1")).collect();
        let present = rows.iter().map(Record::key).collect();
        b.upsert(rows)
            .mark_missing::<RepositoryRow>(project_scope("p1"), present);
        b
    };
    let live = || async {
        stored::<RepositoryRow>(s)
            .await
            .into_iter()
            .filter(|(_, d)| d.is_none())
            .count()
    };
    let five = ["r1", "r2", "r3", "r4", "r5"];
    s.apply(ORG, &listing(t(0), &five, false))
        .await
        .expect("first");
    // Two of five gone: applied.
    s.apply(ORG, &listing(t(1), &five[..3], false))
        .await
        .expect("two");
    assert_eq!(live().await, 3);
    s.apply(ORG, &listing(t(2), &five, false))
        .await
        .expect("back");
    assert_eq!(live().await, 5);
    // Four of five gone: refused, nothing marked.
    s.apply(ORG, &listing(t(3), &five[..1], false))
        .await
        .expect("refused");
    assert_eq!(live().await, 5);
    // An empty listing: refused too.
    s.apply(ORG, &listing(t(4), &[], false))
        .await
        .expect("refused");
    assert_eq!(live().await, 5);
    // Allowed: applied.
    s.apply(ORG, &listing(t(5), &five[..1], true))
        .await
        .expect("allowed");
    assert_eq!(live().await, 1);
}

async fn case_project_last_update_time(s: &AnyStore) {
    let mut first = Batch::new(at("2024-06-01T10:00:00Z"));
    first.upsert(vec![ProjectRow {
        name: "Renamed".to_string(),
        ..project("p1", Some(at("2024-05-02T00:00:00Z")))
    }]);
    s.apply(ORG, &first).await.expect("apply");

    // Observed later, but by a replica that read an older version of the project.
    let mut later = Batch::new(at("2024-06-01T11:00:00Z"));
    later.upsert(vec![ProjectRow {
        name: "Original".to_string(),
        ..project("p1", Some(at("2024-05-01T00:00:00Z")))
    }]);
    assert_eq!(s.apply(ORG, &later).await.expect("apply later"), 0);
    assert_eq!(rows_of::<ProjectRow>(s).await[0].name, "Renamed");

    // A newer version is written.
    let mut newer = Batch::new(at("2024-06-01T12:00:00Z"));
    newer.upsert(vec![ProjectRow {
        name: "Newest".to_string(),
        ..project("p1", Some(at("2024-05-03T00:00:00Z")))
    }]);
    assert_eq!(s.apply(ORG, &newer).await.expect("apply newer"), 1);
    assert_eq!(rows_of::<ProjectRow>(s).await[0].name, "Newest");
}

async fn case_deletions(s: &AnyStore) {
    let t1 = at("2024-06-01T10:00:00Z");
    let t2 = at("2024-06-01T11:00:00Z");
    let t3 = at("2024-06-01T12:00:00Z");
    let t4 = at("2024-06-01T13:00:00Z");
    let live_repos = || live::<RepositoryRow>(s, |r| r.project_id == "p1");
    let live_projects = || live::<ProjectRow>(s, |_| true);

    let mut seen = Batch::new(t1);
    seen.upsert(vec![project("p1", None), project("p2", None)])
        .upsert(vec![repository("r1", "p1"), repository("r2", "p1")]);
    s.apply(ORG, &seen).await.expect("apply");

    let mut deleted = Batch::new(t3);
    deleted
        .mark_deleted::<RepositoryRow>(keys(["r1", "never-seen"]))
        .mark_deleted::<ProjectRow>(keys(["p2"]));
    assert_eq!(s.apply(ORG, &deleted).await.expect("apply deletions"), 2);
    assert_eq!(live_repos().await, keys(["r2"]));
    assert_eq!(live_projects().await, keys(["p1"]));
    let repos = stored::<RepositoryRow>(s).await;
    assert_eq!(repos[0].1, Some(t3));
    assert_eq!(repos[1].1, None);
    assert_eq!(repos.len(), 2, "data kept");

    // A second signal does not move the first deletion time.
    let mut again = Batch::new(t4);
    again.mark_deleted::<RepositoryRow>(keys(["r1"]));
    assert_eq!(s.apply(ORG, &again).await.expect("apply"), 0);
    assert_eq!(stored::<RepositoryRow>(s).await[0].1, Some(t3));

    // An observation older than the deletion updates the data but does not revive the row.
    let mut stale = Batch::new(t2);
    stale
        .upsert(vec![project("p2", None)])
        .upsert(vec![RepositoryRow {
            name: "renamed".to_string(),
            ..repository("r1", "p1")
        }]);
    s.apply(ORG, &stale).await.expect("apply stale");
    let (r1, r1_deleted) = stored::<RepositoryRow>(s).await.remove(0);
    assert_eq!((r1.name.as_str(), r1_deleted), ("renamed", Some(t3)));
    assert_eq!(live_projects().await, keys(["p1"]));

    // Seen again after the deletion: it came back.
    let mut back = Batch::new(t4);
    back.upsert(vec![project("p2", None)])
        .upsert(vec![repository("r1", "p1")]);
    s.apply(ORG, &back).await.expect("apply revival");
    assert_eq!(live_repos().await, keys(["r1", "r2"]));
    assert_eq!(live_projects().await, keys(["p1", "p2"]));

    // A deletion signal older than the last observation of the row is stale: ignored.
    let mut late_signal = Batch::new(t3);
    late_signal.mark_deleted::<RepositoryRow>(keys(["r1"]));
    assert_eq!(s.apply(ORG, &late_signal).await.expect("apply"), 0);
    assert_eq!(live_repos().await, keys(["r1", "r2"]));
}

/// The connectors' complete listings (every project; every repository of a project) mark
/// what they lack, within their scope, only when observed no earlier than the stored rows;
/// the rows they list come back.
async fn case_listing_marks_missing(s: &AnyStore) {
    let t1 = at("2024-06-01T10:00:00Z");
    let t2 = at("2024-06-01T11:00:00Z");
    let t3 = at("2024-06-01T12:00:00Z");
    let listing = |observed, projects: &[&str], repos: &[(&str, &str)]| {
        let mut b = Batch::new(observed);
        let rows: Vec<ProjectRow> = projects.iter().map(|p| project(p, None)).collect();
        let present = rows.iter().map(Record::key).collect();
        b.upsert(rows)
            .mark_missing::<ProjectRow>(Vec::new(), present);
        // As `connectors::repos::sync_repositories`: the upsert first, then each listed
        // project's repositories that the listing lacks.
        let rows: Vec<RepositoryRow> = repos.iter().map(|(r, p)| repository(r, p)).collect();
        let present: Vec<(&str, Vec<Key>)> = projects
            .iter()
            .map(|p| {
                let keys = rows
                    .iter()
                    .filter(|r| r.project_id == *p)
                    .map(Record::key)
                    .collect();
                (*p, keys)
            })
            .collect();
        b.upsert(rows);
        for (p, keys) in present {
            b.mark_missing::<RepositoryRow>(project_scope(p), keys);
        }
        b
    };
    let marks = || async {
        let projects: Vec<(String, bool)> = stored::<ProjectRow>(s)
            .await
            .into_iter()
            .map(|(p, d)| (p.id, d.is_some()))
            .collect();
        let repos: Vec<(String, bool)> = stored::<RepositoryRow>(s)
            .await
            .into_iter()
            .map(|(r, d)| (r.id, d.is_some()))
            .collect();
        (projects, repos)
    };
    let owned = |v: &[(&str, bool)]| v.iter().map(|(id, d)| (id.to_string(), *d)).collect();

    let first = listing(
        t2,
        &["p1", "p2"],
        &[("r1", "p1"), ("r2", "p1"), ("r3", "p2")],
    );
    s.apply(ORG, &first).await.expect("apply");

    // p2 and r2 vanish; r3 belongs to p2, which is not listed, and keeps its state.
    let second = listing(t3, &["p1"], &[("r1", "p1")]);
    assert_eq!(s.apply(ORG, &second).await.expect("apply second"), 2 + 2);
    assert_eq!(
        marks().await,
        (
            owned(&[("p1", false), ("p2", true)]),
            owned(&[("r1", false), ("r2", true), ("r3", false)])
        )
    );
    assert_eq!(stored::<RepositoryRow>(s).await[1].1, Some(t3));

    // A stale listing (observed before the stored rows) marks nothing and revives nothing.
    let stale = listing(t1, &["p2"], &[("r2", "p1"), ("r3", "p2")]);
    s.apply(ORG, &stale).await.expect("apply stale");
    assert_eq!(
        marks().await,
        (
            owned(&[("p1", false), ("p2", true)]),
            owned(&[("r1", false), ("r2", true), ("r3", false)])
        )
    );

    // Listed again later: back.
    let back = listing(
        t3 + Duration::minutes(1),
        &["p1", "p2"],
        &[("r1", "p1"), ("r2", "p1"), ("r3", "p2")],
    );
    s.apply(ORG, &back).await.expect("apply back");
    assert_eq!(
        marks().await,
        (
            owned(&[("p1", false), ("p2", false)]),
            owned(&[("r1", false), ("r2", false), ("r3", false)])
        )
    );
}

async fn case_teams_refresh(s: &AnyStore) {
    let t1 = at("2024-06-01T10:00:00Z");
    let t2 = at("2024-06-01T11:00:00Z");
    let t3 = at("2024-06-01T12:00:00Z");
    let teams =
        |project: &str, ids: &[&str]| ids.iter().map(|id| team(id, project)).collect::<Vec<_>>();
    let members = |team_id: &str, users: &[&str]| {
        users
            .iter()
            .map(|u| member(team_id, u, *u == "admin"))
            .collect::<Vec<_>>()
    };
    let marks = || async {
        stored::<TeamRow>(s)
            .await
            .into_iter()
            .map(|(t, d)| (t.id, d))
            .collect::<Vec<_>>()
    };

    let mut first = Batch::new(t2);
    write_teams(
        &mut first,
        "p1",
        teams("p1", &["a", "b"]),
        [members("a", &["u1", "u2", "admin"]), members("b", &["u3"])].concat(),
    );
    write_teams(&mut first, "p2", teams("p2", &["c"]), Vec::new());
    s.apply(ORG, &first).await.expect("apply");

    // Team b disappears from p1; a's members change.
    let mut second = Batch::new(t3);
    write_teams(
        &mut second,
        "p1",
        teams("p1", &["a"]),
        members("a", &["u2", "u4"]),
    );
    s.apply(ORG, &second).await.expect("apply second");
    assert_eq!(
        marks().await,
        vec![
            ("a".to_string(), None),
            ("b".to_string(), Some(t3)),
            ("c".to_string(), None)
        ]
    );
    assert_eq!(
        member_sets(s).await,
        vec![
            ("a".to_string(), members("a", &["u2", "u4"])),
            ("b".to_string(), members("b", &["u3"])),
        ]
    );

    // A stale page (observed before the stored rows): the member sets of stored teams are
    // ignored, the team list neither revives b nor marks anything (an empty list of p2
    // included); a team new to the store is written with its members.
    let mut stale = Batch::new(t1);
    write_teams(
        &mut stale,
        "p1",
        teams("p1", &["a", "b"]),
        [members("a", &["u9"]), members("b", &["u7"])].concat(),
    );
    write_teams(&mut stale, "p2", Vec::new(), Vec::new());
    write_teams(&mut stale, "p3", teams("p3", &["z"]), members("z", &["u1"]));
    s.apply(ORG, &stale).await.expect("apply stale");
    let sets = member_sets(s).await;
    assert_eq!(sets[0].1, members("a", &["u2", "u4"]));
    assert_eq!(sets[1].1, members("b", &["u3"]));
    assert_eq!(sets.len(), 3, "a team new to the store takes its set");
    assert_eq!(sets[2], ("z".to_string(), members("z", &["u1"])));
    assert_eq!(
        marks().await,
        vec![
            ("a".to_string(), None),
            ("b".to_string(), Some(t3)),
            ("c".to_string(), None),
            ("z".to_string(), None)
        ]
    );

    // An empty member set empties the team; a team that comes back is revived.
    let mut back = Batch::new(t3 + Duration::minutes(1));
    write_teams(
        &mut back,
        "p1",
        teams("p1", &["a", "b"]),
        members("b", &["u3"]),
    );
    s.apply(ORG, &back).await.expect("apply back");
    assert!(marks().await.iter().all(|(_, d)| d.is_none()));
    let sets = member_sets(s).await;
    assert!(sets.iter().all(|(team, _)| team != "a"));
    assert_eq!(sets[0], ("b".to_string(), members("b", &["u3"])));
}

async fn case_users_merge(s: &AnyStore) {
    let t1 = at("2024-06-01T10:00:00Z");
    let t2 = at("2024-06-01T11:00:00Z");
    let profiles = || plain::<UserProfile>(s);

    // Graph first: stored under the descriptor until the identity arrives, then merged into
    // the identity's row.
    let mut graph = Batch::new(t1);
    graph.template(&GRAPH_USERS, vec![graph_user("aad.a"), graph_user("aad.b")]);
    assert_eq!(s.apply(ORG, &graph).await.expect("apply graph"), 2);
    let ids: Vec<String> = profiles().await.into_iter().map(|u| u.id).collect();
    assert_eq!(ids, vec!["aad.a", "aad.b"]);

    let mut members = Batch::new(t2);
    write_users(&mut members, vec![identity("id-a", Some("aad.a"))]);
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
    write_users(
        &mut identity_first,
        vec![identity("id-c", Some("aad.c")), identity("id-d", None)],
    );
    s.apply(ORG, &identity_first).await.expect("apply identity");
    let mut graph_later = Batch::new(t2);
    graph_later.template(
        &GRAPH_USERS,
        vec![
            graph_user("aad.c"),
            GraphUserRow {
                subject_kind: Some("group".to_string()),
                mail_address: None,
                ..graph_user("aad.grp")
            },
        ],
    );
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
    stale.template(
        &GRAPH_USERS,
        vec![GraphUserRow {
            display_name: Some("Old".to_string()),
            ..graph_user("aad.c")
        }],
    );
    s.apply(ORG, &stale).await.expect("apply stale graph");
    let users = profiles().await;
    let c = users.iter().find(|u| u.id == "id-c").expect("id-c");
    assert_eq!(c.display_name.as_deref(), Some("Graph aad.c"));
    let mut reviewers = Batch::new(t2 + Duration::minutes(1));
    write_users(
        &mut reviewers,
        vec![UserRow {
            id: "id-c".to_string(),
            display_name: Some("From a PR".to_string()),
            unique_name: Some("c@contoso.example".to_string()),
            is_container: false,
            descriptor: None,
        }],
    );
    s.apply(ORG, &reviewers).await.expect("apply PR users");
    let users = profiles().await;
    let c = users.iter().find(|u| u.id == "id-c").expect("id-c");
    assert_eq!(c.display_name.as_deref(), Some("From a PR"));
    assert_eq!(c.mail_address.as_deref(), Some("aad.c@mail.example"));
    assert_eq!(c.descriptor.as_deref(), Some("aad.c"));
    assert_eq!(users.len(), 5, "aad.b, aad.grp, id-a, id-c, id-d");
}
