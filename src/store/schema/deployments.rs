//! Deployments (issue 10): classic releases with their environments and deployments (the
//! release host), and YAML environments with their deployment records — where DORA's
//! deployment frequency, change failure rate and time to restore come from. Release,
//! deployment and environment ids are numbered per project, so every key carries the project.

use chrono::{DateTime, Utc};

use super::{Col, Guard, Record, Table, Value, json};

/// A classic release (`raw` without its environments, which are rows of their own).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ReleaseRow {
    pub id: i64,
    pub project_id: String,
    pub name: Option<String>,
    pub definition_id: Option<i64>,
    pub definition_name: Option<String>,
    pub status: Option<String>,
    pub reason: Option<String>,
    pub description: Option<String>,
    pub created_on: Option<DateTime<Utc>>,
    pub modified_on: Option<DateTime<Utc>>,
    pub created_by_id: Option<String>,
    pub keep_forever: bool,
    pub raw: String,
}

pub static RELEASES: Table = Table {
    name: "releases",
    key: &[Col::text("project_id"), Col::int("id")],
    columns: &[
        Col::text("name"),
        Col::int("definition_id"),
        Col::text("definition_name"),
        Col::text("status"),
        Col::text("reason"),
        Col::text("description"),
        Col::time("created_on"),
        Col::time("modified_on"),
        Col::text("created_by_id"),
        Col::bool("keep_forever"),
        Col::json("raw"),
    ],
    observed: true,
    guard: Guard::Observed,
    revive: false,
    newest_by: None,
};

impl Record for ReleaseRow {
    const TABLE: &'static Table = &RELEASES;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            (&self.project_id).into(),
            self.id.into(),
            (&self.name).into(),
            self.definition_id.into(),
            (&self.definition_name).into(),
            (&self.status).into(),
            (&self.reason).into(),
            (&self.description).into(),
            self.created_on.into(),
            self.modified_on.into(),
            (&self.created_by_id).into(),
            self.keep_forever.into(),
            json(&self.raw),
        ]);
    }
}

/// One environment (stage) of one release, a child of the release.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ReleaseEnvironmentRow {
    pub release_id: i64,
    pub id: i64,
    pub project_id: String,
    pub name: Option<String>,
    pub status: Option<String>,
    pub rank: Option<i64>,
    pub definition_environment_id: Option<i64>,
    pub created_on: Option<DateTime<Utc>>,
    pub modified_on: Option<DateTime<Utc>>,
    pub time_to_deploy: Option<f64>,
    pub trigger_reason: Option<String>,
    pub raw: String,
}

pub static RELEASE_ENVIRONMENTS: Table = Table {
    name: "release_environments",
    key: &[
        Col::text("project_id"),
        Col::int("release_id"),
        Col::int("id"),
    ],
    columns: &[
        Col::text("name"),
        Col::text("status"),
        Col::int("rank"),
        Col::int("definition_environment_id"),
        Col::time("created_on"),
        Col::time("modified_on"),
        Col::real("time_to_deploy"),
        Col::text("trigger_reason"),
        Col::json("raw"),
    ],
    observed: false,
    guard: Guard::Changed,
    revive: false,
    newest_by: None,
};

impl Record for ReleaseEnvironmentRow {
    const TABLE: &'static Table = &RELEASE_ENVIRONMENTS;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            (&self.project_id).into(),
            self.release_id.into(),
            self.id.into(),
            (&self.name).into(),
            (&self.status).into(),
            self.rank.into(),
            self.definition_environment_id.into(),
            self.created_on.into(),
            self.modified_on.into(),
            self.time_to_deploy.into(),
            (&self.trigger_reason).into(),
            json(&self.raw),
        ]);
    }
}

/// One attempt to deploy a release to one of its environments.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ReleaseDeploymentRow {
    pub id: i64,
    pub project_id: String,
    pub release_id: Option<i64>,
    pub release_environment_id: Option<i64>,
    pub definition_id: Option<i64>,
    pub definition_environment_id: Option<i64>,
    pub attempt: Option<i64>,
    pub reason: Option<String>,
    pub deployment_status: Option<String>,
    pub operation_status: Option<String>,
    pub requested_by_id: Option<String>,
    pub requested_for_id: Option<String>,
    pub queued_on: Option<DateTime<Utc>>,
    pub started_on: Option<DateTime<Utc>>,
    pub completed_on: Option<DateTime<Utc>>,
    pub last_modified_on: Option<DateTime<Utc>>,
    pub raw: String,
}

pub static RELEASE_DEPLOYMENTS: Table = Table {
    name: "release_deployments",
    key: &[Col::text("project_id"), Col::int("id")],
    columns: &[
        Col::int("release_id"),
        Col::int("release_environment_id"),
        Col::int("definition_id"),
        Col::int("definition_environment_id"),
        Col::int("attempt"),
        Col::text("reason"),
        Col::text("deployment_status"),
        Col::text("operation_status"),
        Col::text("requested_by_id"),
        Col::text("requested_for_id"),
        Col::time("queued_on"),
        Col::time("started_on"),
        Col::time("completed_on"),
        Col::time("last_modified_on"),
        Col::json("raw"),
    ],
    observed: true,
    guard: Guard::Observed,
    revive: false,
    newest_by: None,
};

impl Record for ReleaseDeploymentRow {
    const TABLE: &'static Table = &RELEASE_DEPLOYMENTS;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            (&self.project_id).into(),
            self.id.into(),
            self.release_id.into(),
            self.release_environment_id.into(),
            self.definition_id.into(),
            self.definition_environment_id.into(),
            self.attempt.into(),
            (&self.reason).into(),
            (&self.deployment_status).into(),
            (&self.operation_status).into(),
            (&self.requested_by_id).into(),
            (&self.requested_for_id).into(),
            self.queued_on.into(),
            self.started_on.into(),
            self.completed_on.into(),
            self.last_modified_on.into(),
            json(&self.raw),
        ]);
    }
}

/// A YAML pipeline environment.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct EnvironmentRow {
    pub id: i64,
    pub project_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub created_on: Option<DateTime<Utc>>,
    pub created_by_id: Option<String>,
    pub last_modified_on: Option<DateTime<Utc>>,
    pub raw: String,
}

pub static ENVIRONMENTS: Table = Table {
    name: "environments",
    key: &[Col::text("project_id"), Col::int("id")],
    columns: &[
        Col::text("name"),
        Col::text("description"),
        Col::time("created_on"),
        Col::text("created_by_id"),
        Col::time("last_modified_on"),
        Col::json("raw"),
    ],
    observed: true,
    guard: Guard::Observed,
    // Listed in full every pass: one missing from its project's listing is marked deleted.
    revive: true,
    newest_by: None,
};

impl Record for EnvironmentRow {
    const TABLE: &'static Table = &ENVIRONMENTS;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            (&self.project_id).into(),
            self.id.into(),
            (&self.name).into(),
            (&self.description).into(),
            self.created_on.into(),
            (&self.created_by_id).into(),
            self.last_modified_on.into(),
            json(&self.raw),
        ]);
    }
}

/// One deployment record of an environment: a job of a pipeline run that deployed to it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct EnvironmentDeploymentRow {
    pub id: i64,
    pub environment_id: i64,
    pub project_id: String,
    pub request_identifier: Option<String>,
    pub plan_id: Option<String>,
    pub plan_type: Option<String>,
    /// The pipeline (build definition).
    pub definition_id: Option<i64>,
    pub definition_name: Option<String>,
    /// The run (build id).
    pub owner_id: Option<i64>,
    pub owner_name: Option<String>,
    pub stage_name: Option<String>,
    pub stage_attempt: Option<i64>,
    pub job_name: Option<String>,
    pub job_attempt: Option<i64>,
    pub resource_id: Option<i64>,
    pub queue_time: Option<DateTime<Utc>>,
    pub start_time: Option<DateTime<Utc>>,
    pub finish_time: Option<DateTime<Utc>>,
    pub result: Option<String>,
    pub raw: String,
}

pub static ENVIRONMENT_DEPLOYMENTS: Table = Table {
    name: "environment_deployments",
    key: &[Col::text("project_id"), Col::int("id")],
    columns: &[
        Col::int("environment_id"),
        Col::text("request_identifier"),
        Col::text("plan_id"),
        Col::text("plan_type"),
        Col::int("definition_id"),
        Col::text("definition_name"),
        Col::int("owner_id"),
        Col::text("owner_name"),
        Col::text("stage_name"),
        Col::int("stage_attempt"),
        Col::text("job_name"),
        Col::int("job_attempt"),
        Col::int("resource_id"),
        Col::time("queue_time"),
        Col::time("start_time"),
        Col::time("finish_time"),
        Col::text("result"),
        Col::json("raw"),
    ],
    observed: true,
    guard: Guard::Observed,
    revive: false,
    newest_by: None,
};

impl Record for EnvironmentDeploymentRow {
    const TABLE: &'static Table = &ENVIRONMENT_DEPLOYMENTS;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            (&self.project_id).into(),
            self.id.into(),
            self.environment_id.into(),
            (&self.request_identifier).into(),
            (&self.plan_id).into(),
            (&self.plan_type).into(),
            self.definition_id.into(),
            (&self.definition_name).into(),
            self.owner_id.into(),
            (&self.owner_name).into(),
            (&self.stage_name).into(),
            self.stage_attempt.into(),
            (&self.job_name).into(),
            self.job_attempt.into(),
            self.resource_id.into(),
            self.queue_time.into(),
            self.start_time.into(),
            self.finish_time.into(),
            (&self.result).into(),
            json(&self.raw),
        ]);
    }
}

pub(super) static TABLES: &[&Table] = &[
    &RELEASES,
    &RELEASE_ENVIRONMENTS,
    &RELEASE_DEPLOYMENTS,
    &ENVIRONMENTS,
    &ENVIRONMENT_DEPLOYMENTS,
];

#[cfg(test)]
mod tests {
    use super::super::check::record_matches_table;
    use super::*;

    #[test]
    fn records_match_their_tables() {
        let t = Some(Utc::now());
        let s = || Some("x".to_string());
        record_matches_table(&ReleaseRow {
            id: 1,
            project_id: "p".into(),
            name: s(),
            definition_id: Some(1),
            definition_name: s(),
            status: s(),
            reason: s(),
            description: None,
            created_on: t,
            modified_on: t,
            created_by_id: s(),
            keep_forever: false,
            raw: "{}".into(),
        });
        record_matches_table(&ReleaseEnvironmentRow {
            release_id: 1,
            id: 2,
            project_id: "p".into(),
            name: s(),
            status: s(),
            rank: Some(1),
            definition_environment_id: Some(1),
            created_on: t,
            modified_on: t,
            time_to_deploy: Some(1.5),
            trigger_reason: s(),
            raw: "{}".into(),
        });
        record_matches_table(&ReleaseDeploymentRow {
            id: 1,
            project_id: "p".into(),
            release_id: Some(1),
            release_environment_id: Some(2),
            definition_id: Some(3),
            definition_environment_id: Some(4),
            attempt: Some(1),
            reason: s(),
            deployment_status: s(),
            operation_status: s(),
            requested_by_id: s(),
            requested_for_id: s(),
            queued_on: t,
            started_on: t,
            completed_on: None,
            last_modified_on: t,
            raw: "{}".into(),
        });
        record_matches_table(&EnvironmentRow {
            id: 1,
            project_id: "p".into(),
            name: s(),
            description: s(),
            created_on: t,
            created_by_id: s(),
            last_modified_on: t,
            raw: "{}".into(),
        });
        record_matches_table(&EnvironmentDeploymentRow {
            id: 1,
            environment_id: 2,
            project_id: "p".into(),
            request_identifier: s(),
            plan_id: s(),
            plan_type: s(),
            definition_id: Some(3),
            definition_name: s(),
            owner_id: Some(4),
            owner_name: s(),
            stage_name: s(),
            stage_attempt: Some(1),
            job_name: s(),
            job_attempt: Some(1),
            resource_id: None,
            queue_time: t,
            start_time: t,
            finish_time: None,
            result: None,
            raw: "{}".into(),
        });
    }
}
