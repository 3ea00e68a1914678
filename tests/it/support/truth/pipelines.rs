//! The Pipelines tables against the simulator's truth, field by field: definitions, builds
//! (retention-deleted ones included, with `deleted_at`), timeline records, build changes,
//! releases with their environments, deployments, environments and their deployment
//! records.

use super::*;
use ado_ingest::store::schema::deployments::*;
use ado_ingest::store::schema::pipelines::*;

/// Rows with their deletion mark as a field, for tables whose truth lists deleted rows too.
type Marked<R> = (R, bool);

async fn marked<R: Readable>(
    store: &AnyStore,
    org: &str,
) -> Vec<(Marked<R>, Option<DateTime<Utc>>)> {
    read::<R>(store, org)
        .await
        .into_iter()
        .map(|(r, deleted)| ((r, deleted.is_some()), None))
        .collect()
}

fn dt(v: &Value, ptr: &str) -> Value {
    ts(v, ptr)
}

/// Compares every Pipelines table present in `truth` (kinds not exported are skipped).
pub async fn compare_pipelines(store: &AnyStore, org: &str, truth: &Value) -> Diff {
    let mut diff = Diff::default();
    if truth.get("pipelines").is_some() {
        definitions(&mut diff, store, org, truth).await;
    }
    if truth.get("builds").is_some() {
        builds(&mut diff, store, org, truth).await;
    }
    if truth.get("build_timeline_records").is_some() {
        timeline_records(&mut diff, store, org, truth).await;
    }
    if truth.get("build_changes").is_some() {
        changes(&mut diff, store, org, truth).await;
    }
    diff
}

async fn definitions(diff: &mut Diff, store: &AnyStore, org: &str, truth: &Value) {
    let rows = read::<PipelineRow>(store, org).await;
    compare_table(
        diff,
        list(truth, "pipelines"),
        rows,
        Spec {
            kind: "pipeline",
            truth_key: Box::new(|v| {
                format!(
                    "{}/{}",
                    v["project"]["id"].as_str().unwrap_or_default(),
                    v["id"]
                )
            }),
            db_key: Box::new(|r: &PipelineRow| format!("{}/{}", r.project_id, r.id)),
            deletion: Deletion::Marked,
            fields: vec![
                (
                    "name",
                    Box::new(|r: &PipelineRow| text(&r.name)),
                    Box::new(|v| s(v, "/name")),
                ),
                (
                    "path",
                    Box::new(|r: &PipelineRow| opt(&r.path)),
                    Box::new(|v| s(v, "/path")),
                ),
                (
                    "revision",
                    Box::new(|r: &PipelineRow| opt_int(r.revision)),
                    Box::new(|v| at(v, "/revision")),
                ),
                (
                    "definition_type",
                    Box::new(|r: &PipelineRow| opt(&r.definition_type)),
                    Box::new(|v| s(v, "/type")),
                ),
                (
                    "queue_status",
                    Box::new(|r: &PipelineRow| opt(&r.queue_status)),
                    Box::new(|v| s(v, "/queueStatus")),
                ),
                (
                    "repository_id",
                    Box::new(|r: &PipelineRow| opt(&r.repository_id)),
                    Box::new(|v| s(v, "/repository/id")),
                ),
                (
                    "repository_type",
                    Box::new(|r: &PipelineRow| opt(&r.repository_type)),
                    Box::new(|v| s(v, "/repository/type")),
                ),
                (
                    "process",
                    Box::new(|r: &PipelineRow| opt(&r.process)),
                    Box::new(
                        |v| match v.pointer("/process/type").and_then(Value::as_i64) {
                            Some(2) => text("yaml"),
                            Some(1) => text("classic"),
                            Some(n) => text(&n.to_string()),
                            None => Value::Null,
                        },
                    ),
                ),
                (
                    "yaml_filename",
                    Box::new(|r: &PipelineRow| opt(&r.yaml_filename)),
                    Box::new(|v| s(v, "/process/yamlFilename")),
                ),
                (
                    "created_date",
                    Box::new(|r: &PipelineRow| time(r.created_date)),
                    Box::new(|v| dt(v, "/createdDate")),
                ),
                (
                    "raw",
                    Box::new(|r: &PipelineRow| bare(&raw(&r.raw), &[])),
                    Box::new(|v| bare(v, &[])),
                ),
            ],
        },
    );
}

async fn builds(diff: &mut Diff, store: &AnyStore, org: &str, truth: &Value) {
    let rows = marked::<BuildRow>(store, org).await;
    type B = Marked<BuildRow>;
    compare_table(
        diff,
        list(truth, "builds"),
        rows,
        Spec {
            kind: "build",
            truth_key: Box::new(|v| v["id"].to_string()),
            db_key: Box::new(|r: &B| r.0.id.to_string()),
            deletion: Deletion::Removed,
            fields: vec![
                (
                    "project_id",
                    Box::new(|r: &B| text(&r.0.project_id)),
                    Box::new(|v| s(v, "/project/id")),
                ),
                (
                    "definition_id",
                    Box::new(|r: &B| opt_int(r.0.definition_id)),
                    Box::new(|v| at(v, "/definition/id")),
                ),
                (
                    "build_number",
                    Box::new(|r: &B| opt(&r.0.build_number)),
                    Box::new(|v| s(v, "/buildNumber")),
                ),
                (
                    "status",
                    Box::new(|r: &B| opt(&r.0.status)),
                    Box::new(|v| s(v, "/status")),
                ),
                (
                    "result",
                    Box::new(|r: &B| opt(&r.0.result)),
                    Box::new(|v| s(v, "/result")),
                ),
                (
                    "reason",
                    Box::new(|r: &B| opt(&r.0.reason)),
                    Box::new(|v| s(v, "/reason")),
                ),
                (
                    "queue_time",
                    Box::new(|r: &B| time(r.0.queue_time)),
                    Box::new(|v| dt(v, "/queueTime")),
                ),
                (
                    "start_time",
                    Box::new(|r: &B| time(r.0.start_time)),
                    Box::new(|v| dt(v, "/startTime")),
                ),
                (
                    "finish_time",
                    Box::new(|r: &B| time(r.0.finish_time)),
                    Box::new(|v| dt(v, "/finishTime")),
                ),
                (
                    "source_branch",
                    Box::new(|r: &B| opt(&r.0.source_branch)),
                    Box::new(|v| s(v, "/sourceBranch")),
                ),
                (
                    "source_version",
                    Box::new(|r: &B| opt(&r.0.source_version)),
                    Box::new(|v| s(v, "/sourceVersion")),
                ),
                (
                    "repository_id",
                    Box::new(|r: &B| opt(&r.0.repository_id)),
                    Box::new(|v| s(v, "/repository/id")),
                ),
                (
                    "requested_for_id",
                    Box::new(|r: &B| opt(&r.0.requested_for_id)),
                    Box::new(|v| s(v, "/requestedFor/id")),
                ),
                (
                    "retained_by_release",
                    Box::new(|r: &B| json!(r.0.retained_by_release)),
                    Box::new(|v| flag(v, "/retainedByRelease")),
                ),
                (
                    "deleted",
                    Box::new(|r: &B| json!(r.0.deleted)),
                    Box::new(|v| flag(v, "/deleted")),
                ),
                (
                    "deleted_at set",
                    Box::new(|r: &B| json!(r.1)),
                    Box::new(|v| flag(v, "/deleted")),
                ),
                (
                    "last_changed_date",
                    Box::new(|r: &B| time(r.0.last_changed_date)),
                    Box::new(|v| dt(v, "/lastChangedDate")),
                ),
                (
                    "raw",
                    Box::new(|r: &B| bare(&raw(&r.0.raw), &[])),
                    Box::new(|v| bare(v, &[])),
                ),
            ],
        },
    );
}

/// The builds whose inside the connector stores: finished and not deleted. (A timeline is
/// fetched once a build has finished; a deleted build's is gone from ADO and kept here.)
fn finished_builds(truth: &Value) -> BTreeSet<i64> {
    list(truth, "builds")
        .iter()
        .filter(|b| b["status"] == "completed" && b["deleted"] != true)
        .filter_map(|b| b["id"].as_i64())
        .collect()
}

/// The truth's children of `kind` whose build is in `builds`.
fn of_builds(truth: &Value, kind: &str, builds: &BTreeSet<i64>) -> Vec<Value> {
    list(truth, kind)
        .iter()
        .filter(|v| v["buildId"].as_i64().is_some_and(|b| builds.contains(&b)))
        .cloned()
        .collect()
}

async fn timeline_records(diff: &mut Diff, store: &AnyStore, org: &str, truth: &Value) {
    let finished = finished_builds(truth);
    let expected = of_builds(truth, "build_timeline_records", &finished);
    let rows: Vec<_> = read::<BuildTimelineRecordRow>(store, org)
        .await
        .into_iter()
        .filter(|(r, _)| finished.contains(&r.build_id))
        .collect();
    type R = BuildTimelineRecordRow;
    compare_table(
        diff,
        &expected,
        rows,
        Spec {
            kind: "build_timeline_record",
            truth_key: Box::new(|v| {
                format!("{}/{}", v["buildId"], v["id"].as_str().unwrap_or_default())
            }),
            db_key: Box::new(|r: &R| format!("{}/{}", r.build_id, r.id)),
            deletion: Deletion::Removed,
            fields: vec![
                (
                    "parent_id",
                    Box::new(|r: &R| opt(&r.parent_id)),
                    Box::new(|v| s(v, "/parentId")),
                ),
                (
                    "record_type",
                    Box::new(|r: &R| opt(&r.record_type)),
                    Box::new(|v| s(v, "/type")),
                ),
                (
                    "name",
                    Box::new(|r: &R| opt(&r.name)),
                    Box::new(|v| s(v, "/name")),
                ),
                (
                    "identifier",
                    Box::new(|r: &R| opt(&r.identifier)),
                    Box::new(|v| s(v, "/identifier")),
                ),
                (
                    "state",
                    Box::new(|r: &R| opt(&r.state)),
                    Box::new(|v| s(v, "/state")),
                ),
                (
                    "result",
                    Box::new(|r: &R| opt(&r.result)),
                    Box::new(|v| s(v, "/result")),
                ),
                (
                    "start_time",
                    Box::new(|r: &R| time(r.start_time)),
                    Box::new(|v| dt(v, "/startTime")),
                ),
                (
                    "finish_time",
                    Box::new(|r: &R| time(r.finish_time)),
                    Box::new(|v| dt(v, "/finishTime")),
                ),
                (
                    "attempt",
                    Box::new(|r: &R| opt_int(r.attempt)),
                    Box::new(|v| at(v, "/attempt")),
                ),
                (
                    "worker_name",
                    Box::new(|r: &R| opt(&r.worker_name)),
                    Box::new(|v| s(v, "/workerName")),
                ),
                (
                    "error_count",
                    Box::new(|r: &R| opt_int(r.error_count)),
                    Box::new(|v| at(v, "/errorCount")),
                ),
                (
                    "warning_count",
                    Box::new(|r: &R| opt_int(r.warning_count)),
                    Box::new(|v| at(v, "/warningCount")),
                ),
                (
                    "sort_order",
                    Box::new(|r: &R| opt_int(r.sort_order)),
                    Box::new(|v| at(v, "/order")),
                ),
                (
                    "raw",
                    Box::new(|r: &R| bare(&raw(&r.raw), &[])),
                    Box::new(|v| bare(v, &["buildId"])),
                ),
            ],
        },
    );
}

async fn changes(diff: &mut Diff, store: &AnyStore, org: &str, truth: &Value) {
    let finished = finished_builds(truth);
    let expected = of_builds(truth, "build_changes", &finished);
    let rows: Vec<_> = read::<BuildChangeRow>(store, org)
        .await
        .into_iter()
        .filter(|(r, _)| finished.contains(&r.build_id))
        .collect();
    type C = BuildChangeRow;
    compare_table(
        diff,
        &expected,
        rows,
        Spec {
            kind: "build_change",
            truth_key: Box::new(|v| {
                format!("{}/{}", v["buildId"], v["id"].as_str().unwrap_or_default())
            }),
            db_key: Box::new(|r: &C| format!("{}/{}", r.build_id, r.id)),
            deletion: Deletion::Removed,
            fields: vec![
                (
                    "change_type",
                    Box::new(|r: &C| opt(&r.change_type)),
                    Box::new(|v| s(v, "/type")),
                ),
                (
                    "message",
                    Box::new(|r: &C| opt(&r.message)),
                    Box::new(|v| s(v, "/message")),
                ),
                (
                    "message_truncated",
                    Box::new(|r: &C| json!(r.message_truncated)),
                    Box::new(|v| flag(v, "/messageTruncated")),
                ),
                (
                    "author_name",
                    Box::new(|r: &C| opt(&r.author_name)),
                    Box::new(|v| s(v, "/author/displayName")),
                ),
                (
                    "author_unique_name",
                    Box::new(|r: &C| opt(&r.author_unique_name)),
                    Box::new(|v| s(v, "/author/uniqueName")),
                ),
                (
                    "timestamp",
                    Box::new(|r: &C| time(r.timestamp)),
                    Box::new(|v| dt(v, "/timestamp")),
                ),
                (
                    "location",
                    Box::new(|r: &C| opt(&r.location)),
                    Box::new(|v| s(v, "/location")),
                ),
                (
                    "raw",
                    Box::new(|r: &C| bare(&raw(&r.raw), &[])),
                    Box::new(|v| bare(v, &["buildId"])),
                ),
            ],
        },
    );
}

/// Compares the release side present in `truth`: releases, their environments, deployments,
/// YAML environments and their deployment records.
pub async fn compare_releases(store: &AnyStore, org: &str, truth: &Value) -> Diff {
    let mut diff = Diff::default();
    if truth.get("releases").is_some() {
        releases(&mut diff, store, org, truth).await;
    }
    if truth.get("release_environments").is_some() {
        release_environments(&mut diff, store, org, truth).await;
    }
    if truth.get("release_deployments").is_some() {
        deployments(&mut diff, store, org, truth).await;
    }
    if truth.get("environments").is_some() {
        environments(&mut diff, store, org, truth).await;
    }
    if truth.get("environment_deployments").is_some() {
        environment_deployments(&mut diff, store, org, truth).await;
    }
    diff
}

async fn releases(diff: &mut Diff, store: &AnyStore, org: &str, truth: &Value) {
    type R = ReleaseRow;
    let rows = read::<R>(store, org).await;
    compare_table(
        diff,
        list(truth, "releases"),
        rows,
        Spec {
            kind: "release",
            truth_key: Box::new(|v| {
                format!(
                    "{}/{}",
                    v["projectReference"]["id"].as_str().unwrap_or_default(),
                    v["id"]
                )
            }),
            db_key: Box::new(|r: &R| format!("{}/{}", r.project_id, r.id)),
            deletion: Deletion::Removed,
            fields: vec![
                (
                    "name",
                    Box::new(|r: &R| opt(&r.name)),
                    Box::new(|v| s(v, "/name")),
                ),
                (
                    "definition_id",
                    Box::new(|r: &R| opt_int(r.definition_id)),
                    Box::new(|v| at(v, "/releaseDefinition/id")),
                ),
                (
                    "definition_name",
                    Box::new(|r: &R| opt(&r.definition_name)),
                    Box::new(|v| s(v, "/releaseDefinition/name")),
                ),
                (
                    "status",
                    Box::new(|r: &R| opt(&r.status)),
                    Box::new(|v| s(v, "/status")),
                ),
                (
                    "reason",
                    Box::new(|r: &R| opt(&r.reason)),
                    Box::new(|v| s(v, "/reason")),
                ),
                (
                    "description",
                    Box::new(|r: &R| opt(&r.description)),
                    Box::new(|v| s(v, "/description")),
                ),
                (
                    "created_on",
                    Box::new(|r: &R| time(r.created_on)),
                    Box::new(|v| dt(v, "/createdOn")),
                ),
                (
                    "modified_on",
                    Box::new(|r: &R| time(r.modified_on)),
                    Box::new(|v| dt(v, "/modifiedOn")),
                ),
                (
                    "created_by_id",
                    Box::new(|r: &R| opt(&r.created_by_id)),
                    Box::new(|v| s(v, "/createdBy/id")),
                ),
                (
                    "keep_forever",
                    Box::new(|r: &R| json!(r.keep_forever)),
                    Box::new(|v| flag(v, "/keepForever")),
                ),
                (
                    "raw",
                    Box::new(|r: &R| bare(&raw(&r.raw), &["projectReference"])),
                    Box::new(|v| bare(v, &["projectReference"])),
                ),
            ],
        },
    );
}

async fn release_environments(diff: &mut Diff, store: &AnyStore, org: &str, truth: &Value) {
    type E = ReleaseEnvironmentRow;
    let rows = read::<E>(store, org).await;
    compare_table(
        diff,
        list(truth, "release_environments"),
        rows,
        Spec {
            kind: "release_environment",
            truth_key: Box::new(|v| {
                format!(
                    "{}/{}/{}",
                    v["projectId"].as_str().unwrap_or_default(),
                    v["releaseId"],
                    v["id"]
                )
            }),
            db_key: Box::new(|r: &E| format!("{}/{}/{}", r.project_id, r.release_id, r.id)),
            deletion: Deletion::Removed,
            fields: vec![
                (
                    "name",
                    Box::new(|r: &E| opt(&r.name)),
                    Box::new(|v| s(v, "/name")),
                ),
                (
                    "status",
                    Box::new(|r: &E| opt(&r.status)),
                    Box::new(|v| s(v, "/status")),
                ),
                (
                    "rank",
                    Box::new(|r: &E| opt_int(r.rank)),
                    Box::new(|v| at(v, "/rank")),
                ),
                (
                    "definition_environment_id",
                    Box::new(|r: &E| opt_int(r.definition_environment_id)),
                    Box::new(|v| at(v, "/definitionEnvironmentId")),
                ),
                (
                    "created_on",
                    Box::new(|r: &E| time(r.created_on)),
                    Box::new(|v| dt(v, "/createdOn")),
                ),
                (
                    "modified_on",
                    Box::new(|r: &E| time(r.modified_on)),
                    Box::new(|v| dt(v, "/modifiedOn")),
                ),
                (
                    "time_to_deploy",
                    Box::new(|r: &E| r.time_to_deploy.map_or(Value::Null, |t| json!(t))),
                    Box::new(|v| {
                        v.get("timeToDeploy")
                            .and_then(Value::as_f64)
                            .map_or(Value::Null, |t| json!(t))
                    }),
                ),
                (
                    "raw",
                    Box::new(|r: &E| bare(&raw(&r.raw), &[])),
                    Box::new(|v| bare(v, &["projectId"])),
                ),
            ],
        },
    );
}

async fn deployments(diff: &mut Diff, store: &AnyStore, org: &str, truth: &Value) {
    type D = ReleaseDeploymentRow;
    let rows = read::<D>(store, org).await;
    compare_table(
        diff,
        list(truth, "release_deployments"),
        rows,
        Spec {
            kind: "release_deployment",
            truth_key: Box::new(|v| {
                format!(
                    "{}/{}",
                    v["projectReference"]["id"].as_str().unwrap_or_default(),
                    v["id"]
                )
            }),
            db_key: Box::new(|r: &D| format!("{}/{}", r.project_id, r.id)),
            deletion: Deletion::Removed,
            fields: vec![
                (
                    "release_id",
                    Box::new(|r: &D| opt_int(r.release_id)),
                    Box::new(|v| at(v, "/release/id")),
                ),
                (
                    "release_environment_id",
                    Box::new(|r: &D| opt_int(r.release_environment_id)),
                    Box::new(|v| at(v, "/releaseEnvironment/id")),
                ),
                (
                    "definition_id",
                    Box::new(|r: &D| opt_int(r.definition_id)),
                    Box::new(|v| at(v, "/releaseDefinition/id")),
                ),
                (
                    "attempt",
                    Box::new(|r: &D| opt_int(r.attempt)),
                    Box::new(|v| at(v, "/attempt")),
                ),
                (
                    "reason",
                    Box::new(|r: &D| opt(&r.reason)),
                    Box::new(|v| s(v, "/reason")),
                ),
                (
                    "deployment_status",
                    Box::new(|r: &D| opt(&r.deployment_status)),
                    Box::new(|v| s(v, "/deploymentStatus")),
                ),
                (
                    "operation_status",
                    Box::new(|r: &D| opt(&r.operation_status)),
                    Box::new(|v| s(v, "/operationStatus")),
                ),
                (
                    "requested_for_id",
                    Box::new(|r: &D| opt(&r.requested_for_id)),
                    Box::new(|v| s(v, "/requestedFor/id")),
                ),
                (
                    "queued_on",
                    Box::new(|r: &D| time(r.queued_on)),
                    Box::new(|v| dt_set(v, "/queuedOn")),
                ),
                (
                    "started_on",
                    Box::new(|r: &D| time(r.started_on)),
                    Box::new(|v| dt_set(v, "/startedOn")),
                ),
                (
                    "completed_on",
                    Box::new(|r: &D| time(r.completed_on)),
                    Box::new(|v| dt_set(v, "/completedOn")),
                ),
                (
                    "last_modified_on",
                    Box::new(|r: &D| time(r.last_modified_on)),
                    Box::new(|v| dt_set(v, "/lastModifiedOn")),
                ),
                (
                    "raw",
                    Box::new(|r: &D| bare(&raw(&r.raw), &[])),
                    Box::new(|v| bare(v, &[])),
                ),
            ],
        },
    );
}

/// A truth time that .NET's `0001-01-01T00:00:00` (ADO's "not set") turns into null.
fn dt_set(v: &Value, ptr: &str) -> Value {
    match v.pointer(ptr).and_then(Value::as_str) {
        Some(t) if t.starts_with("0001-01-01") => Value::Null,
        Some(t) => time(Some(
            chrono::NaiveDateTime::parse_from_str(t.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S%.f")
                .map(|n| n.and_utc())
                .unwrap_or_else(|e| panic!("truth {ptr} `{t}`: {e}")),
        )),
        None => Value::Null,
    }
}

async fn environments(diff: &mut Diff, store: &AnyStore, org: &str, truth: &Value) {
    type E = EnvironmentRow;
    let rows = read::<E>(store, org).await;
    compare_table(
        diff,
        list(truth, "environments"),
        rows,
        Spec {
            kind: "environment",
            truth_key: Box::new(|v| {
                format!(
                    "{}/{}",
                    v["project"]["id"].as_str().unwrap_or_default(),
                    v["id"]
                )
            }),
            db_key: Box::new(|r: &E| format!("{}/{}", r.project_id, r.id)),
            deletion: Deletion::Marked,
            fields: vec![
                (
                    "name",
                    Box::new(|r: &E| opt(&r.name)),
                    Box::new(|v| s(v, "/name")),
                ),
                (
                    "description",
                    Box::new(|r: &E| opt(&r.description)),
                    Box::new(|v| s(v, "/description")),
                ),
                (
                    "created_on",
                    Box::new(|r: &E| time(r.created_on)),
                    Box::new(|v| dt(v, "/createdOn")),
                ),
                (
                    "created_by_id",
                    Box::new(|r: &E| opt(&r.created_by_id)),
                    Box::new(|v| s(v, "/createdBy/id")),
                ),
                (
                    "last_modified_on",
                    Box::new(|r: &E| time(r.last_modified_on)),
                    Box::new(|v| dt(v, "/lastModifiedOn")),
                ),
                (
                    "raw",
                    Box::new(|r: &E| bare(&raw(&r.raw), &[])),
                    Box::new(|v| bare(v, &[])),
                ),
            ],
        },
    );
}

async fn environment_deployments(diff: &mut Diff, store: &AnyStore, org: &str, truth: &Value) {
    type D = EnvironmentDeploymentRow;
    let rows = read::<D>(store, org).await;
    compare_table(
        diff,
        list(truth, "environment_deployments"),
        rows,
        Spec {
            kind: "environment_deployment",
            truth_key: Box::new(|v| {
                format!("{}/{}", v["scopeId"].as_str().unwrap_or_default(), v["id"])
            }),
            db_key: Box::new(|r: &D| format!("{}/{}", r.project_id, r.id)),
            deletion: Deletion::Removed,
            fields: vec![
                (
                    "environment_id",
                    Box::new(|r: &D| int(r.environment_id)),
                    Box::new(|v| at(v, "/environmentId")),
                ),
                (
                    "plan_type",
                    Box::new(|r: &D| opt(&r.plan_type)),
                    Box::new(|v| s(v, "/planType")),
                ),
                (
                    "definition_id",
                    Box::new(|r: &D| opt_int(r.definition_id)),
                    Box::new(|v| at(v, "/definition/id")),
                ),
                (
                    "owner_id",
                    Box::new(|r: &D| opt_int(r.owner_id)),
                    Box::new(|v| at(v, "/owner/id")),
                ),
                (
                    "stage_name",
                    Box::new(|r: &D| opt(&r.stage_name)),
                    Box::new(|v| s(v, "/stageName")),
                ),
                (
                    "stage_attempt",
                    Box::new(|r: &D| opt_int(r.stage_attempt)),
                    Box::new(|v| at(v, "/stageAttempt")),
                ),
                (
                    "job_name",
                    Box::new(|r: &D| opt(&r.job_name)),
                    Box::new(|v| s(v, "/jobName")),
                ),
                (
                    "job_attempt",
                    Box::new(|r: &D| opt_int(r.job_attempt)),
                    Box::new(|v| at(v, "/jobAttempt")),
                ),
                (
                    "queue_time",
                    Box::new(|r: &D| time(r.queue_time)),
                    Box::new(|v| dt(v, "/queueTime")),
                ),
                (
                    "start_time",
                    Box::new(|r: &D| time(r.start_time)),
                    Box::new(|v| dt(v, "/startTime")),
                ),
                (
                    "finish_time",
                    Box::new(|r: &D| time(r.finish_time)),
                    Box::new(|v| dt(v, "/finishTime")),
                ),
                (
                    "result",
                    Box::new(|r: &D| opt(&r.result)),
                    Box::new(|v| s(v, "/result")),
                ),
                (
                    "raw",
                    Box::new(|r: &D| bare(&raw(&r.raw), &[])),
                    Box::new(|v| bare(v, &[])),
                ),
            ],
        },
    );
}
