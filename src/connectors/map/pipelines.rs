//! Pipelines, from ADO models to rows: definitions, builds, timeline records, build changes,
//! releases with their environments, deployments, environments and their deployment records.

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;

use crate::ado::models::WithRaw;
use crate::ado::models::build::{Build, BuildChange, BuildDefinition, TimelineRecord};
use crate::ado::models::environment::{EnvironmentDeploymentRecord, EnvironmentInstance};
use crate::ado::models::release::{Deployment, Release, ReleaseEnvironment};
use crate::store::schema::deployments::{
    EnvironmentDeploymentRow, EnvironmentRow, ReleaseDeploymentRow, ReleaseEnvironmentRow,
    ReleaseRow,
};
use crate::store::schema::pipelines::{
    BuildChangeRow, BuildRow, BuildTimelineRecordRow, PipelineRow,
};

fn raw_text(raw: &RawValue) -> String {
    raw.get().to_string()
}

/// A definition of `project_id`. `process` is `yaml` for process type 2, `classic` for 1.
pub fn pipeline_row(project_id: &str, d: &WithRaw<BuildDefinition>) -> PipelineRow {
    let v = &d.value;
    let process = v.process.as_ref();
    PipelineRow {
        id: v.id,
        project_id: v
            .project
            .as_ref()
            .map_or_else(|| project_id.to_string(), |p| p.id.clone()),
        name: v.name.clone(),
        path: v.path.clone(),
        revision: v.revision,
        definition_type: v.definition_type.clone(),
        queue_status: v.queue_status.clone(),
        repository_id: v.repository.as_ref().and_then(|r| r.id.clone()),
        repository_type: v
            .repository
            .as_ref()
            .and_then(|r| r.repository_type.clone()),
        process: process.and_then(|p| p.process_type).map(|t| match t {
            2 => "yaml".to_string(),
            1 => "classic".to_string(),
            other => other.to_string(),
        }),
        yaml_filename: process.and_then(|p| p.yaml_filename.clone()),
        created_date: v.created_date,
        raw: raw_text(&d.raw),
    }
}

/// A build of `project_id`.
pub fn build_row(project_id: &str, b: &WithRaw<Build>) -> BuildRow {
    let v = &b.value;
    BuildRow {
        id: v.id,
        project_id: v
            .project
            .as_ref()
            .map_or_else(|| project_id.to_string(), |p| p.id.clone()),
        definition_id: v.definition.as_ref().map(|d| d.id),
        build_number: v.build_number.clone(),
        status: v.status.clone(),
        result: v.result.clone(),
        reason: v.reason.clone(),
        queue_time: v.queue_time,
        start_time: v.start_time,
        finish_time: v.finish_time,
        source_branch: v.source_branch.clone(),
        source_version: v.source_version.clone(),
        repository_id: v.repository.as_ref().and_then(|r| r.id.clone()),
        requested_for_id: v.requested_for.as_ref().map(|i| i.id.clone()),
        retained_by_release: v.retained_by_release,
        deleted: v.deleted,
        last_changed_date: v.last_changed_date,
        deleted_date: v.deleted.then_some(v.deleted_date).flatten(),
        raw: raw_text(&b.raw),
    }
}

/// A timeline record of build `build_id`, from its own JSON text.
pub fn timeline_record_row(
    build_id: i64,
    r: &TimelineRecord,
    raw: &RawValue,
) -> BuildTimelineRecordRow {
    BuildTimelineRecordRow {
        build_id,
        id: r.id.clone(),
        parent_id: r.parent_id.clone(),
        record_type: r.record_type.clone(),
        name: r.name.clone(),
        identifier: r.identifier.clone(),
        state: r.state.clone(),
        result: r.result.clone(),
        start_time: r.start_time,
        finish_time: r.finish_time,
        attempt: r.attempt,
        worker_name: r.worker_name.clone(),
        error_count: r.error_count,
        warning_count: r.warning_count,
        sort_order: r.order,
        raw: raw_text(raw),
    }
}

/// A change (commit) build `build_id` built.
pub fn build_change_row(build_id: i64, c: &WithRaw<BuildChange>) -> BuildChangeRow {
    let v = &c.value;
    BuildChangeRow {
        build_id,
        id: v.id.clone(),
        change_type: v.change_type.clone(),
        message: v.message.clone(),
        message_truncated: v.message_truncated,
        author_name: v.author.as_ref().and_then(|a| a.display_name.clone()),
        author_unique_name: v.author.as_ref().and_then(|a| a.unique_name.clone()),
        timestamp: v.timestamp,
        location: v.location.clone(),
        pusher: v.pusher.clone(),
        raw: raw_text(&c.raw),
    }
}

/// A release of `project_id` and its environments. The release's `raw` leaves the
/// environments out (they are rows of their own, each with its own `raw`); an environment
/// whose JSON does not read is left out and named in the returned list.
pub fn release_rows(
    project_id: &str,
    r: &WithRaw<Release>,
) -> (ReleaseRow, Vec<ReleaseEnvironmentRow>, Vec<String>) {
    let v = &r.value;
    let project_id = v
        .project_reference
        .as_ref()
        .map_or_else(|| project_id.to_string(), |p| p.id.clone());
    let mut raw: serde_json::Value =
        serde_json::from_str(r.raw.get()).unwrap_or(serde_json::Value::Null);
    if let Some(o) = raw.as_object_mut() {
        o.remove("environments");
    }
    let release = ReleaseRow {
        id: v.id,
        project_id: project_id.clone(),
        name: v.name.clone(),
        definition_id: v.release_definition.as_ref().map(|d| d.id),
        definition_name: v.release_definition.as_ref().and_then(|d| d.name.clone()),
        status: v.status.clone(),
        reason: v.reason.clone(),
        description: v.description.clone(),
        created_on: v.created_on,
        modified_on: v.modified_on,
        created_by_id: v.created_by.as_ref().map(|i| i.id.clone()),
        keep_forever: v.keep_forever,
        raw: raw.to_string(),
    };
    let mut environments = Vec::with_capacity(v.environments.len());
    let mut skipped = Vec::new();
    for e in &v.environments {
        match serde_json::from_value::<ReleaseEnvironment>(e.clone()) {
            Ok(env) => environments.push(ReleaseEnvironmentRow {
                release_id: v.id,
                id: env.id,
                project_id: project_id.clone(),
                name: env.name,
                status: env.status,
                rank: env.rank,
                definition_environment_id: env.definition_environment_id,
                created_on: env.created_on,
                modified_on: env.modified_on,
                time_to_deploy: env.time_to_deploy,
                trigger_reason: env.trigger_reason,
                raw: e.to_string(),
            }),
            Err(err) => skipped.push(format!("release {} environment: {err}", v.id)),
        }
    }
    (release, environments, skipped)
}

/// A deployment of `project_id`.
pub fn deployment_row(project_id: &str, d: &WithRaw<Deployment>) -> ReleaseDeploymentRow {
    let v = &d.value;
    ReleaseDeploymentRow {
        id: v.id,
        project_id: project_id.to_string(),
        release_id: v.release.as_ref().map(|r| r.id),
        release_environment_id: v.release_environment.as_ref().map(|e| e.id),
        definition_id: v.release_definition.as_ref().map(|d| d.id),
        definition_environment_id: v.definition_environment_id,
        attempt: v.attempt,
        reason: v.reason.clone(),
        deployment_status: v.deployment_status.clone(),
        operation_status: v.operation_status.clone(),
        requested_by_id: v.requested_by.as_ref().map(|i| i.id.clone()),
        requested_for_id: v.requested_for.as_ref().map(|i| i.id.clone()),
        queued_on: v.queued_on,
        started_on: v.started_on,
        completed_on: v.completed_on,
        last_modified_on: v.last_modified_on,
        raw: raw_text(&d.raw),
    }
}

/// An environment of `project_id`.
pub fn environment_row(project_id: &str, e: &WithRaw<EnvironmentInstance>) -> EnvironmentRow {
    let v = &e.value;
    EnvironmentRow {
        id: v.id,
        project_id: v
            .project
            .as_ref()
            .map_or_else(|| project_id.to_string(), |p| p.id.clone()),
        name: v.name.clone(),
        description: v.description.clone(),
        created_on: v.created_on,
        created_by_id: v.created_by.as_ref().map(|i| i.id.clone()),
        last_modified_on: v.last_modified_on,
        raw: raw_text(&e.raw),
    }
}

/// A deployment record of environment `environment_id` in `project_id`.
pub fn environment_deployment_row(
    project_id: &str,
    environment_id: i64,
    r: &WithRaw<EnvironmentDeploymentRecord>,
) -> EnvironmentDeploymentRow {
    let v = &r.value;
    EnvironmentDeploymentRow {
        id: v.id,
        environment_id: v.environment_id.unwrap_or(environment_id),
        project_id: project_id.to_string(),
        request_identifier: v.request_identifier.clone(),
        plan_id: v.plan_id.clone(),
        plan_type: v.plan_type.clone(),
        definition_id: v.definition.as_ref().and_then(|d| d.id),
        definition_name: v.definition.as_ref().and_then(|d| d.name.clone()),
        owner_id: v.owner.as_ref().and_then(|o| o.id),
        owner_name: v.owner.as_ref().and_then(|o| o.name.clone()),
        stage_name: v.stage_name.clone(),
        stage_attempt: v.stage_attempt,
        job_name: v.job_name.clone(),
        job_attempt: v.job_attempt,
        resource_id: v.resource_id,
        queue_time: v.queue_time,
        start_time: v.start_time,
        finish_time: v.finish_time,
        result: v.result.clone(),
        raw: raw_text(&r.raw),
    }
}

/// The newest of some times.
pub fn newest(times: impl IntoIterator<Item = Option<DateTime<Utc>>>) -> Option<DateTime<Utc>> {
    times.into_iter().flatten().max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ado::models::ListEnvelope;
    use crate::ado::models::build::Timeline;
    use crate::ado::models::example::body_text;

    fn list<T: serde::de::DeserializeOwned>(file: &str) -> Vec<WithRaw<T>> {
        let env: ListEnvelope<WithRaw<T>> = serde_json::from_str(&body_text(file)).unwrap();
        env.value
    }

    #[test]
    fn a_build_row_from_the_recorded_build() {
        let b: WithRaw<Build> = serde_json::from_str(&body_text(
            "build/v5.0__builds__GET__build_builds__knownBuildId_.json",
        ))
        .unwrap();
        let row = build_row("fallback", &b);
        assert_eq!(row.id, 391);
        assert_eq!(row.project_id, "6ce954b1-ce1f-45d1-b94d-e6bf2464ba2c");
        assert_eq!(row.definition_id, Some(25));
        assert_eq!(row.status.as_deref(), Some("completed"));
        assert_eq!(
            row.requested_for_id.as_deref(),
            Some("d6245f20-2af8-44f4-9451-8107cb2767db")
        );
        assert!(!row.deleted);
        let raw: serde_json::Value = serde_json::from_str(&row.raw).unwrap();
        assert_eq!(raw["id"], 391);
    }

    #[test]
    fn timeline_records_keep_their_tree_and_order() {
        let t: Timeline = serde_json::from_str(&body_text(
            "build/v5.0__timeline__GET__build_builds__knownBuildId__timeline.json",
        ))
        .unwrap();
        let rows: Vec<_> = t
            .records
            .iter()
            .map(|raw| {
                let r: TimelineRecord = serde_json::from_str(raw.get()).unwrap();
                timeline_record_row(391, &r, raw)
            })
            .collect();
        assert_eq!(rows.len(), t.records.len());
        let job = rows
            .iter()
            .find(|r| r.record_type.as_deref() == Some("Job"))
            .unwrap();
        assert!(
            rows.iter()
                .filter(|r| r.record_type.as_deref() == Some("Task"))
                .all(|r| r.parent_id.as_deref() == Some(job.id.as_str()))
        );
        assert!(
            rows.iter()
                .all(|r| r.build_id == 391 && r.sort_order.is_some())
        );
    }

    #[test]
    fn build_changes_name_their_author() {
        let changes: Vec<WithRaw<BuildChange>> =
            list("build/v5.0__changes__GET__build_builds__knownBuildId__changes.json");
        let rows: Vec<_> = changes.iter().map(|c| build_change_row(391, c)).collect();
        assert_eq!(rows.len(), 8);
        assert_eq!(rows[0].author_name.as_deref(), Some("Normal Paulk"));
        assert_eq!(
            rows[0].author_unique_name.as_deref(),
            Some("fabrikamfiber16@hotmail.com")
        );
        assert_eq!(rows[0].change_type.as_deref(), Some("TfsGit"));
    }

    #[test]
    fn a_release_splits_into_its_row_and_its_environments() {
        let r: WithRaw<Release> =
            serde_json::from_str(&body_text("release/releases__GET__GetARelease.json")).unwrap();
        let (release, envs, skipped) = release_rows("fallback", &r);
        assert!(skipped.is_empty(), "{skipped:?}");
        assert_eq!(release.id, 18);
        assert_eq!(release.project_id, "d07908bc-118f-47d2-8a13-ff75601a6b1a");
        assert_eq!(release.definition_id, Some(1));
        let raw: serde_json::Value = serde_json::from_str(&release.raw).unwrap();
        assert!(raw.get("environments").is_none(), "environments are rows");
        assert_eq!(envs.len(), r.value.environments.len());
        assert!(envs.iter().all(|e| e.release_id == 18));
        assert_eq!(envs[0].name.as_deref(), Some("Dev"));
    }

    #[test]
    fn deployments_map_their_release_and_environment() {
        let ds: Vec<WithRaw<Deployment>> = list("release/deployments__GET__ListDeployments.json");
        let row = deployment_row("p", &ds[0]);
        assert_eq!(row.id, 79);
        assert_eq!(row.release_id, Some(55));
        assert_eq!(row.release_environment_id, Some(118));
        assert_eq!(row.definition_id, Some(38));
        assert_eq!(row.queued_on, None);
        assert_eq!(
            row.requested_for_id.as_deref(),
            Some("4adb1680-0eac-6149-b5ee-fc8b4f6ca227")
        );
    }

    #[test]
    fn a_deployment_record_names_its_run() {
        let r: WithRaw<EnvironmentDeploymentRecord> = serde_json::from_str(
            r#"{"id": 12, "environmentId": 3, "definition": {"id": 7, "name": "cd"},
                "owner": {"id": 4711, "name": "20260102.1"}, "stageName": "Prod",
                "jobName": "Deploy", "queueTime": "2026-01-02T03:04:05Z"}"#,
        )
        .unwrap();
        let row = environment_deployment_row("p", 99, &r);
        assert_eq!(
            row.environment_id, 3,
            "the record's own environment id wins"
        );
        assert_eq!(row.owner_id, Some(4711));
        assert_eq!(row.definition_id, Some(7));
        assert_eq!(row.finish_time, None);
    }
}
