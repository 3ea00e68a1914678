//! Pipelines tables written as `connectors::pipelines` writes them: builds that never regress
//! and whose retention deletion stays marked, a timeline's records replaced under their sync
//! row only when it took effect, change sets under a sync row with no column but its key,
//! release environments as children of their release.

use super::*;
use crate::store::schema::deployments::*;
use crate::store::schema::pipelines::*;

contract_tests! {
    builds_keep_their_deletion_and_timelines_follow_their_sync_row => case_builds,
    releases_carry_their_environments => case_releases,
    timelines_changes_and_unfinished_builds_are_due_until_fetched => case_due,
    unfinished_deployment_records_are_named => case_open_records,
}

fn build(id: i64, status: &str, deleted: bool) -> BuildRow {
    BuildRow {
        id,
        project_id: "p1".into(),
        definition_id: Some(7),
        build_number: Some(format!("2026.{id}")),
        status: Some(status.into()),
        result: (status == "completed").then(|| "succeeded".to_string()),
        reason: Some("manual".into()),
        queue_time: Some(at("2026-01-01T10:00:00Z")),
        start_time: Some(at("2026-01-01T10:01:00Z")),
        finish_time: (status == "completed").then(|| at("2026-01-01T10:09:00Z")),
        source_branch: Some("refs/heads/main".into()),
        source_version: Some("abc".into()),
        repository_id: Some("r1".into()),
        requested_for_id: Some("u1".into()),
        retained_by_release: false,
        deleted,
        last_changed_date: Some(at("2026-01-01T10:09:00Z")),
        deleted_date: None,
        raw: format!(r#"{{"id":{id}}}"#),
    }
}

fn record(build_id: i64, id: &str, state: &str) -> BuildTimelineRecordRow {
    BuildTimelineRecordRow {
        build_id,
        id: id.into(),
        parent_id: None,
        record_type: Some("Job".into()),
        name: Some(format!("job {id}")),
        identifier: None,
        state: Some(state.into()),
        result: (state == "completed").then(|| "succeeded".to_string()),
        start_time: Some(at("2026-01-01T10:01:00Z")),
        finish_time: None,
        attempt: Some(1),
        worker_name: Some("Hosted Agent".into()),
        error_count: Some(0),
        warning_count: Some(0),
        sort_order: Some(1),
        raw: "{}".into(),
    }
}

async fn case_builds(store: &AnyStore) {
    let t0 = at("2026-01-02T00:00:00Z");
    let mut b = Batch::new(t0);
    b.upsert(vec![
        build(1, "inProgress", false),
        build(2, "completed", false),
    ]);
    store.apply(ORG, &b).await.unwrap();

    // Finished, then removed by retention: the deletion is stamped with the observation.
    let mut b = Batch::new(t0 + Duration::minutes(5));
    b.upsert(vec![
        build(1, "completed", false),
        build(2, "completed", true),
    ]);
    store.apply(ORG, &b).await.unwrap();
    // A stale observation of build 1 changes nothing.
    let mut b = Batch::new(t0 + Duration::minutes(1));
    b.upsert(vec![build(1, "inProgress", false)]);
    store.apply(ORG, &b).await.unwrap();
    let rows = store.rows_with_deleted::<BuildRow>(ORG).await.unwrap();
    assert_eq!(rows[0].0.status.as_deref(), Some("completed"));
    assert_eq!(rows[0].1, None);
    assert_eq!(rows[1].1, Some(t0 + Duration::minutes(5)));
    // Seen deleted again later: the first mark stays.
    let mut b = Batch::new(t0 + Duration::minutes(9));
    b.upsert(vec![build(2, "completed", true)]);
    store.apply(ORG, &b).await.unwrap();
    let rows = store.rows_with_deleted::<BuildRow>(ORG).await.unwrap();
    assert_eq!(rows[1].1, Some(t0 + Duration::minutes(5)));

    // A timeline under its sync row, replaced when fetched again.
    let sync = |outcome: &str| BuildTimelineSyncRow {
        build_id: 1,
        last_changed_date: Some(t0),
        outcome: outcome.into(),
    };
    let mut b = Batch::new(t0 + Duration::minutes(10));
    b.upsert(vec![sync("stored")])
        .replace_children::<BuildTimelineSyncRow, _>(
            vec![vec![1.into()]],
            vec![record(1, "a", "completed"), record(1, "b", "inProgress")],
        );
    store.apply(ORG, &b).await.unwrap();
    let mut b = Batch::new(t0 + Duration::minutes(20));
    b.upsert(vec![sync("stored")])
        .replace_children::<BuildTimelineSyncRow, _>(
            vec![vec![1.into()]],
            vec![record(1, "b", "completed")],
        );
    store.apply(ORG, &b).await.unwrap();
    let records = store.rows::<BuildTimelineRecordRow>(ORG).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].state.as_deref(), Some("completed"));
    // A stale fetch (observed before the stored one) leaves the records alone.
    let mut b = Batch::new(t0 + Duration::minutes(15));
    b.upsert(vec![sync("stored")])
        .replace_children::<BuildTimelineSyncRow, BuildTimelineRecordRow>(
            vec![vec![1.into()]],
            vec![],
        );
    store.apply(ORG, &b).await.unwrap();
    assert_eq!(
        store
            .rows::<BuildTimelineRecordRow>(ORG)
            .await
            .unwrap()
            .len(),
        1
    );

    // A sync row with no column but its key.
    let change = BuildChangeRow {
        build_id: 2,
        id: "c1".into(),
        change_type: Some("TfsGit".into()),
        message: Some("fix".into()),
        message_truncated: false,
        author_name: Some("Ann".into()),
        author_unique_name: Some("ann@contoso.example".into()),
        timestamp: Some(t0),
        location: None,
        pusher: None,
        raw: "{}".into(),
    };
    for _ in 0..2 {
        let mut b = Batch::new(t0 + Duration::minutes(30));
        b.upsert(vec![BuildChangeSyncRow { build_id: 2 }])
            .replace_children::<BuildChangeSyncRow, _>(vec![vec![2.into()]], vec![change.clone()]);
        store.apply(ORG, &b).await.unwrap();
    }
    assert_eq!(
        store.rows::<BuildChangeSyncRow>(ORG).await.unwrap().len(),
        1
    );
    let changes = store.rows::<BuildChangeRow>(ORG).await.unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].message.as_deref(), Some("fix"));
}

async fn case_releases(store: &AnyStore) {
    let release = |status: &str| ReleaseRow {
        id: 18,
        project_id: "p1".into(),
        name: Some("Release-18".into()),
        definition_id: Some(1),
        definition_name: Some("web-cd".into()),
        status: Some(status.into()),
        reason: Some("manual".into()),
        description: None,
        created_on: Some(at("2026-01-01T10:00:00Z")),
        modified_on: Some(at("2026-01-01T10:00:00Z")),
        created_by_id: Some("u1".into()),
        keep_forever: false,
        raw: r#"{"id":18}"#.into(),
    };
    let env = |id: i64, status: &str| ReleaseEnvironmentRow {
        release_id: 18,
        id,
        project_id: "p1".into(),
        name: Some(format!("env {id}")),
        status: Some(status.into()),
        rank: Some(id),
        definition_environment_id: Some(id),
        created_on: Some(at("2026-01-01T10:00:00Z")),
        modified_on: None,
        time_to_deploy: Some(2.5),
        trigger_reason: None,
        raw: "{}".into(),
    };
    let t0 = at("2026-01-02T00:00:00Z");
    let mut b = Batch::new(t0);
    b.upsert(vec![release("active")])
        .replace_children::<ReleaseRow, _>(
            vec![vec!["p1".into(), 18.into()]],
            vec![env(1, "succeeded"), env(2, "notStarted")],
        );
    store.apply(ORG, &b).await.unwrap();
    let mut b = Batch::new(t0 + Duration::hours(1));
    b.upsert(vec![release("active")])
        .replace_children::<ReleaseRow, _>(
            vec![vec!["p1".into(), 18.into()]],
            vec![env(1, "succeeded"), env(2, "inProgress")],
        );
    store.apply(ORG, &b).await.unwrap();
    let envs = store.rows::<ReleaseEnvironmentRow>(ORG).await.unwrap();
    assert_eq!(envs.len(), 2);
    assert_eq!(envs[1].status.as_deref(), Some("inProgress"));
    assert_eq!(envs[1].time_to_deploy, Some(2.5));
}

async fn due(store: &AnyStore, part: crate::store::BuildPart) -> Vec<i64> {
    store
        .builds_to_refresh(ORG, "p1", part, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.id)
        .collect()
}

async fn case_due(store: &AnyStore) {
    use crate::store::BuildPart::*;
    let t0 = at("2026-01-02T00:00:00Z");
    let mut other = build(9, "completed", false);
    other.project_id = "p2".into();
    let mut b = Batch::new(t0);
    b.upsert(vec![
        build(1, "completed", false),
        build(2, "inProgress", false),
        build(3, "completed", true),
        other,
    ]);
    store.apply(ORG, &b).await.unwrap();
    assert_eq!(
        due(store, Timeline).await,
        [1],
        "finished, not deleted, this project"
    );
    assert_eq!(due(store, Changes).await, [1]);
    assert_eq!(due(store, Unfinished).await, [2]);

    let fetched = store
        .builds_to_refresh(ORG, "p1", Timeline, 0, 100)
        .await
        .unwrap();
    let mut b = Batch::new(t0 + Duration::minutes(1));
    b.upsert(vec![BuildTimelineSyncRow {
        build_id: 1,
        last_changed_date: fetched[0].last_changed_date,
        outcome: "none".into(),
    }])
    .upsert(vec![BuildChangeSyncRow { build_id: 1 }]);
    store.apply(ORG, &b).await.unwrap();
    assert!(
        due(store, Timeline).await.is_empty(),
        "a 204 is remembered too"
    );
    assert!(due(store, Changes).await.is_empty());

    // A retried job moves lastChangedDate: the timeline is due again, the changes are not.
    let mut retried = build(1, "completed", false);
    retried.last_changed_date = Some(at("2026-01-01T12:00:00Z"));
    let mut b = Batch::new(t0 + Duration::minutes(2));
    b.upsert(vec![retried, build(2, "completed", false)]);
    store.apply(ORG, &b).await.unwrap();
    assert_eq!(due(store, Timeline).await, [1, 2]);
    assert_eq!(due(store, Changes).await, [2]);
    assert!(due(store, Unfinished).await.is_empty());
    let after_one = store
        .builds_to_refresh(ORG, "p1", Timeline, 1, 100)
        .await
        .unwrap();
    assert_eq!(after_one.len(), 1, "keyset paging by id");
}

async fn case_open_records(store: &AnyStore) {
    let record = |id: i64, environment_id: i64, finished: bool| EnvironmentDeploymentRow {
        id,
        environment_id,
        project_id: "p1".into(),
        request_identifier: None,
        plan_id: None,
        plan_type: Some("Build".into()),
        definition_id: Some(1),
        definition_name: None,
        owner_id: Some(100 + id),
        owner_name: None,
        stage_name: Some("Deploy".into()),
        stage_attempt: Some(1),
        job_name: Some("Deploy".into()),
        job_attempt: Some(1),
        resource_id: None,
        queue_time: Some(at("2026-01-01T10:00:00Z")),
        start_time: Some(at("2026-01-01T10:01:00Z")),
        finish_time: finished.then(|| at("2026-01-01T10:05:00Z")),
        result: finished.then(|| "succeeded".to_string()),
        raw: "{}".into(),
    };
    let mut b = Batch::new(at("2026-01-02T00:00:00Z"));
    b.upsert(vec![
        record(5, 1, true),
        record(7, 1, false),
        record(3, 1, false),
        record(8, 2, false),
    ]);
    store.apply(ORG, &b).await.unwrap();
    assert_eq!(
        store.open_deployment_records(ORG, "p1", 1).await.unwrap(),
        [3, 7]
    );
    assert_eq!(
        store.open_deployment_records(ORG, "p1", 3).await.unwrap(),
        Vec::<i64>::new()
    );
}
