//! Pull request depth: a PR's inside written as `connectors::pr_depth` writes it (every child
//! set under the PR's sync row, in one batch), and which PRs `pull_requests_to_refresh` finds
//! due for the Repos and the Pull Commits connectors.

use super::*;
use crate::store::schema::pr::*;

contract_tests! {
    a_pull_requests_inside_is_due_until_fetched_and_again_when_it_changes => case_refresh,
}

fn sync(pr: i64, marker: &str, changes_through: i64) -> PullRequestChildSyncRow {
    PullRequestChildSyncRow {
        pull_request_id: pr,
        repository_id: "r1".into(),
        marker: marker.into(),
        changes_through,
    }
}

fn thread(pr: i64, id: i64) -> PullRequestThreadRow {
    PullRequestThreadRow {
        pull_request_id: pr,
        id,
        repository_id: "r1".into(),
        status: (id % 2 == 1).then(|| "active".to_string()),
        thread_type: (id % 2 == 0).then(|| "VoteUpdate".to_string()),
        published_date: Some(at("2024-03-05T08:09:10.123456Z")),
        last_updated_date: None,
        file_path: Some("/src/a.rs".into()),
        right_line_start: Some(3),
        right_line_end: Some(4),
        change_tracking_id: Some(1),
        is_deleted: false,
        properties: Some(
            r#"{"CodeReviewThreadType":{"$type":"System.String","$value":"VoteUpdate"}}"#.into(),
        ),
        raw: format!(r#"{{"id":{id}}}"#),
    }
}

fn comment(pr: i64, thread: i64, id: i64, content: Option<&str>) -> PullRequestCommentRow {
    PullRequestCommentRow {
        pull_request_id: pr,
        thread_id: thread,
        id,
        repository_id: "r1".into(),
        parent_comment_id: if id == 1 { 0 } else { 1 },
        author_id: Some("u1".into()),
        comment_type: Some("text".into()),
        content: content.map(str::to_string),
        published_date: Some(at("2024-03-05T08:09:10.123456Z")),
        last_updated_date: Some(at("2024-03-05T08:09:11Z")),
        last_content_updated_date: None,
        is_deleted: content.is_none(),
        liked_by: 2,
        raw: "{}".into(),
    }
}

fn iteration(pr: i64, id: i64) -> PullRequestIterationRow {
    PullRequestIterationRow {
        pull_request_id: pr,
        id,
        repository_id: "r1".into(),
        description: None,
        author_id: Some("u1".into()),
        created_date: Some(at("2024-03-05T08:09:10Z")),
        updated_date: Some(at("2024-03-05T08:09:10Z")),
        source_commit: Some(format!("{id:040}")),
        target_commit: None,
        common_commit: None,
        push_id: (id > 1).then_some(id * 10),
        reason: Some(if id == 1 { "create" } else { "push" }.into()),
        raw: format!(r#"{{"id":{id}}}"#),
    }
}

fn change(pr: i64, iteration: i64, tracking: i64) -> PullRequestChangeRow {
    PullRequestChangeRow {
        pull_request_id: pr,
        iteration_id: iteration,
        change_tracking_id: tracking,
        repository_id: "r1".into(),
        change_id: Some(tracking),
        path: Some(format!("/f{tracking}")),
        change_type: "edit, rename".into(),
        original_path: Some(format!("/old{tracking}")),
        item_type: None,
        raw: "{}".into(),
    }
}

/// A PR's inside as one batch, as the connector writes it.
fn inside(
    at_: &str,
    s: PullRequestChildSyncRow,
    threads: Vec<PullRequestThreadRow>,
    comments: Vec<PullRequestCommentRow>,
    changes: Vec<PullRequestChangeRow>,
) -> Batch {
    let parent = vec![s.key()];
    let its = (1..=s.changes_through)
        .map(|i| iteration(s.pull_request_id, i))
        .collect();
    let mut b = Batch::new(at(at_));
    b.upsert(vec![s])
        .replace_children::<PullRequestChildSyncRow, _>(parent.clone(), its)
        .upsert(changes)
        .replace_children::<PullRequestChildSyncRow, _>(parent.clone(), threads)
        .replace_children::<PullRequestChildSyncRow, _>(parent, comments);
    b
}

async fn due(s: &AnyStore, part: RefreshPart) -> Vec<(i64, String, i64)> {
    s.pull_requests_to_refresh(ORG, "p1", part, 0, 100)
        .await
        .expect("due")
        .into_iter()
        .map(|p| (p.id, p.marker, p.changes_through))
        .collect()
}

const CHILDREN: RefreshPart = RefreshPart::Children { stale_before: None };

pub(super) async fn case_refresh(s: &AnyStore) {
    let mut b = Batch::new(at("2024-06-01T12:00:00Z"));
    b.upsert(vec![project("p1", None)])
        .upsert(vec![repository("r1", "p1")]);
    write_prs(&mut b, vec![pull_request(1, "one"), pull_request(2, "two")]);
    s.apply(ORG, &b).await.expect("prs");
    assert_eq!(
        due(s, CHILDREN).await,
        vec![(1, "m1".into(), 0), (2, "m1".into(), 0)],
        "never fetched: due"
    );
    // Keyset paging: only ids above `after`, at most `limit`.
    let page = s
        .pull_requests_to_refresh(ORG, "p1", CHILDREN, 1, 1)
        .await
        .expect("page");
    assert_eq!(page.iter().map(|p| p.id).collect::<Vec<_>>(), vec![2]);

    let first = inside(
        "2024-06-01T12:01:00Z",
        sync(1, "m1", 2),
        vec![thread(1, 1), thread(1, 2)],
        vec![
            comment(1, 1, 1, Some("looks good")),
            comment(1, 1, 2, None),
            comment(1, 2, 1, Some("voted")),
        ],
        vec![change(1, 1, 1), change(1, 2, 1), change(1, 2, 2)],
    );
    s.apply(ORG, &first).await.expect("inside");
    assert_eq!(
        due(s, CHILDREN).await,
        vec![(2, "m1".into(), 0)],
        "fetched: not due"
    );
    assert_eq!(plain::<PullRequestIterationRow>(s).await.len(), 2);
    assert_eq!(
        plain::<PullRequestChangeRow>(s).await,
        vec![change(1, 1, 1), change(1, 2, 1), change(1, 2, 2)]
    );
    let comments = plain::<PullRequestCommentRow>(s).await;
    assert_eq!(
        comments
            .iter()
            .map(|c| (c.thread_id, c.id, c.content.clone()))
            .collect::<Vec<_>>(),
        vec![
            (1, 1, Some("looks good".into())),
            (1, 2, None),
            (2, 1, Some("voted".into()))
        ],
        "comment ids restart per thread; a deleted comment has no text"
    );

    // A stale fetch (observed before the stored one) changes nothing.
    let stale = inside(
        "2024-06-01T11:59:00Z",
        sync(1, "m0", 1),
        vec![],
        vec![],
        vec![],
    );
    s.apply(ORG, &stale).await.expect("stale");
    assert_eq!(plain::<PullRequestThreadRow>(s).await.len(), 2);
    assert_eq!(plain::<PullRequestCommentRow>(s).await.len(), 3);

    // The PR changes (a vote): due again, with the iterations whose changes are stored.
    let mut b = Batch::new(at("2024-06-01T12:02:00Z"));
    let mut voted = pull_request(1, "one");
    voted.row.change_marker = Some("m2".into());
    write_prs(&mut b, vec![voted]);
    s.apply(ORG, &b).await.expect("vote");
    assert_eq!(
        due(s, CHILDREN).await,
        vec![(1, "m2".into(), 2), (2, "m1".into(), 0)]
    );

    // The next fetch replaces the child sets: a thread gone, a reply gone, changes kept.
    let second = inside(
        "2024-06-01T12:03:00Z",
        sync(1, "m2", 2),
        vec![thread(1, 1)],
        vec![comment(1, 1, 1, Some("looks good, really"))],
        vec![],
    );
    s.apply(ORG, &second).await.expect("second");
    assert_eq!(due(s, CHILDREN).await, vec![(2, "m1".into(), 0)]);
    assert_eq!(
        plain::<PullRequestThreadRow>(s)
            .await
            .iter()
            .map(|t| t.id)
            .collect::<Vec<_>>(),
        vec![1]
    );
    assert_eq!(
        plain::<PullRequestCommentRow>(s).await,
        vec![comment(1, 1, 1, Some("looks good, really"))]
    );
    assert_eq!(plain::<PullRequestChangeRow>(s).await.len(), 3);

    // An active PR fetched before `stale_before` is due again.
    let age = RefreshPart::Children {
        stale_before: Some(at("2024-06-01T12:04:00Z")),
    };
    assert_eq!(
        due(s, age).await,
        vec![(1, "m2".into(), 2), (2, "m1".into(), 0)]
    );

    // Commits: due until the stored source commit equals the PR's.
    assert_eq!(due(s, RefreshPart::Commits).await.len(), 2);
    let mut b = Batch::new(at("2024-06-01T12:05:00Z"));
    b.upsert(vec![PullRequestCommitSyncRow {
        pull_request_id: 2,
        repository_id: "r1".into(),
        source_commit: "a".repeat(40),
    }]);
    s.apply(ORG, &b).await.expect("commit sync");
    assert_eq!(
        due(s, RefreshPart::Commits).await,
        vec![(1, "a".repeat(40), 0)]
    );

    // PRs of a deleted repository are never due: ADO answers 404 for them.
    let mut b = Batch::new(at("2024-06-01T12:06:00Z"));
    b.mark_missing::<RepositoryRow>(vec![("project_id", "p1".into())], Vec::new());
    s.apply(ORG, &b).await.expect("repository deleted");
    assert_eq!(due(s, CHILDREN).await, vec![]);
    assert_eq!(due(s, RefreshPart::Commits).await, vec![]);
}
