//! Default-branch commits, written as `connectors::commits` writes them: pages upserted with
//! the walk's cursor, then the sweep — a complete listing of the repository with no keys,
//! observed just before the walk began — marks what the walk did not observe deleted, and a
//! later walk that lists a commit again lifts the mark.

use super::*;
use crate::store::schema::commits::CommitRow;

contract_tests! {
    a_walk_marks_the_commits_it_did_not_list_and_revives_those_listed_again => case_sweep,
}

fn commit(repo: &str, id: &str, date: &str) -> CommitRow {
    CommitRow {
        repository_id: repo.into(),
        commit_id: id.into(),
        project_id: "p1".into(),
        branch: "refs/heads/main".into(),
        author_name: Some("Ann".into()),
        author_email: Some("ann@contoso.example".into()),
        author_date: Some(at(date)),
        committer_name: Some("Ann".into()),
        committer_email: Some("ann@contoso.example".into()),
        committer_date: Some(at(date)),
        title: Some(format!("Merged {id}")),
        comment: Some(format!("Merged {id}\n\nbody")),
        comment_truncated: false,
        adds: Some(1),
        edits: None,
        deletes: Some(0),
        parents: None,
        raw: raw("commit", id, 400),
    }
}

async fn live(store: &AnyStore, repo: &str) -> Vec<String> {
    store
        .rows_with_deleted::<CommitRow>(ORG)
        .await
        .expect("read commits")
        .into_iter()
        .filter(|(r, deleted)| r.repository_id == repo && deleted.is_none())
        .map(|(r, _)| r.commit_id)
        .collect()
}

/// One walk: each page upserted at its own observation time, then the sweep just before the
/// walk's start.
async fn walk(store: &AnyStore, started: &str, pages: &[Vec<CommitRow>]) {
    let start = at(started);
    for (i, page) in pages.iter().enumerate() {
        let mut batch = Batch::new(start + Duration::seconds(i as i64));
        batch.upsert(page.clone());
        store.apply(ORG, &batch).await.expect("page");
    }
    let mut sweep = Batch::new(start - Duration::microseconds(1));
    sweep.mark_missing::<CommitRow>(vec![("repository_id", "r1".into())], Vec::new());
    store.apply(ORG, &sweep).await.expect("sweep");
}

async fn case_sweep(store: &AnyStore) {
    let day = |d: u32| format!("2026-01-{d:02}T10:00:00Z");
    let history: Vec<CommitRow> = (1..=8)
        .map(|d| commit("r1", &format!("c{d}"), &day(d)))
        .collect();
    // Another repository's commits are outside the sweep's scope.
    let other = vec![commit("r2", "x1", &day(1))];
    let mut batch = Batch::new(at("2026-02-01T00:00:00Z"));
    batch.upsert(other);
    store.apply(ORG, &batch).await.unwrap();

    walk(
        store,
        "2026-02-01T00:00:00Z",
        &[history[4..].to_vec(), history[..4].to_vec()],
    )
    .await;
    assert_eq!(live(store, "r1").await.len(), 8);

    // A force-push rewrote the two newest commits: c7 and c8 are gone, n7 and n8 are new.
    let mut rewritten = history[..6].to_vec();
    rewritten.push(commit("r1", "n7", &day(20)));
    rewritten.push(commit("r1", "n8", &day(21)));
    walk(store, "2026-02-02T00:00:00Z", &[rewritten.clone()]).await;
    let mut now = live(store, "r1").await;
    now.sort();
    assert_eq!(now, ["c1", "c2", "c3", "c4", "c5", "c6", "n7", "n8"]);
    let all = store.rows_with_deleted::<CommitRow>(ORG).await.unwrap();
    let c8 = all
        .iter()
        .find(|(r, _)| r.commit_id == "c8")
        .expect("c8 kept");
    let kept = CommitRow {
        raw: normalized(&c8.0.raw),
        ..c8.0.clone()
    };
    let want = CommitRow {
        raw: normalized(&history[7].raw),
        ..history[7].clone()
    };
    assert_eq!(kept, want, "a commit off the branch keeps its data");
    assert!(c8.1.is_some());
    assert_eq!(
        live(store, "r2").await,
        ["x1"],
        "other repositories untouched"
    );

    // The branch is reset back: c7 and c8 are listed again and lose their mark; n7, n8 go.
    walk(
        store,
        "2026-02-03T00:00:00Z",
        std::slice::from_ref(&history),
    )
    .await;
    let mut now = live(store, "r1").await;
    now.sort();
    assert_eq!(now, ["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"]);

    // A stale page (observed before the rows it lists were last seen) regresses nothing and
    // a sweep observed before them marks nothing.
    walk(store, "2026-01-15T00:00:00Z", &[Vec::new()]).await;
    assert_eq!(live(store, "r1").await.len(), 8);
}
