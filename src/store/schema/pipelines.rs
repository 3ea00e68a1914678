//! Pipelines (issue 10): build definitions (`pipelines`, YAML and classic alike), builds,
//! their timelines and the commits they built — what DORA's lead time and the build side of
//! its other metrics are computed from. Releases and environments are in `deployments`.
//!
//! A build's timeline and its changes hang under sync rows ([`BuildTimelineSyncRow`],
//! [`BuildChangeSyncRow`]) written in the same transaction as they are, like a PR's inside
//! (`schema::pr`): the timeline sync row records the build's `lastChangedDate` it was fetched
//! for, so a timeline is fetched again exactly when the build changed (a retried job), and a
//! killed run re-fetches what it had not committed (`store::refresh`).

use chrono::{DateTime, Utc};

use super::{Col, Guard, Record, Table, Value, json};

/// A build definition: a YAML pipeline (`yaml_filename` set) or a classic one.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PipelineRow {
    pub id: i64,
    pub project_id: String,
    pub name: String,
    pub path: Option<String>,
    pub revision: Option<i64>,
    /// `build` or `xaml`.
    pub definition_type: Option<String>,
    pub queue_status: Option<String>,
    pub repository_id: Option<String>,
    pub repository_type: Option<String>,
    /// `yaml` or `classic` (`process.type` 2 or 1).
    pub process: Option<String>,
    pub yaml_filename: Option<String>,
    pub created_date: Option<DateTime<Utc>>,
    pub raw: String,
}

pub static PIPELINES: Table = Table {
    name: "pipelines",
    key: &[Col::text("project_id"), Col::int("id")],
    columns: &[
        Col::text("name"),
        Col::text("path"),
        Col::int("revision"),
        Col::text("definition_type"),
        Col::text("queue_status"),
        Col::text("repository_id"),
        Col::text("repository_type"),
        Col::text("process"),
        Col::text("yaml_filename"),
        Col::time("created_date"),
        Col::json("raw"),
    ],
    observed: true,
    guard: Guard::Observed,
    // A definition missing from its project's complete listing is marked deleted.
    revive: true,
    newest_by: None,
};

impl Record for PipelineRow {
    const TABLE: &'static Table = &PIPELINES;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            (&self.project_id).into(),
            self.id.into(),
            (&self.name).into(),
            (&self.path).into(),
            self.revision.into(),
            (&self.definition_type).into(),
            (&self.queue_status).into(),
            (&self.repository_id).into(),
            (&self.repository_type).into(),
            (&self.process).into(),
            (&self.yaml_filename).into(),
            self.created_date.into(),
            json(&self.raw),
        ]);
    }
}

/// A build (a YAML pipeline's run is a build).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct BuildRow {
    pub id: i64,
    pub project_id: String,
    pub definition_id: Option<i64>,
    pub build_number: Option<String>,
    pub status: Option<String>,
    pub result: Option<String>,
    pub reason: Option<String>,
    pub queue_time: Option<DateTime<Utc>>,
    pub start_time: Option<DateTime<Utc>>,
    pub finish_time: Option<DateTime<Utc>>,
    pub source_branch: Option<String>,
    pub source_version: Option<String>,
    pub repository_id: Option<String>,
    pub requested_for_id: Option<String>,
    pub retained_by_release: bool,
    /// Removed by retention: ADO lists it only when asked for deleted builds.
    pub deleted: bool,
    pub last_changed_date: Option<DateTime<Utc>>,
    /// When ADO deleted it (`deletedDate`, else when it was first seen deleted).
    #[sqlx(default)]
    pub deleted_date: Option<DateTime<Utc>>,
    pub raw: String,
}

pub static BUILDS: Table = Table {
    name: "builds",
    key: &[Col::int("id")],
    columns: &[
        Col::text("project_id"),
        Col::int("definition_id"),
        Col::text("build_number"),
        Col::text("status"),
        Col::text("result"),
        Col::text("reason"),
        Col::time("queue_time"),
        Col::time("start_time"),
        Col::time("finish_time"),
        Col::text("source_branch"),
        Col::text("source_version"),
        Col::text("repository_id"),
        Col::text("requested_for_id"),
        Col::bool("retained_by_release"),
        Col::bool("deleted"),
        Col::time("last_changed_date"),
        Col::json("raw"),
        // A retention deletion is final: the first mark stays.
        Col::time("deleted_at").expr("COALESCE(t.deleted_at, excluded.deleted_at)"),
    ],
    observed: true,
    guard: Guard::Observed,
    revive: false,
    newest_by: None,
};

impl Record for BuildRow {
    const TABLE: &'static Table = &BUILDS;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        let deleted_at = if self.deleted {
            self.deleted_date.map_or(Value::Observed, Value::Time)
        } else {
            Value::Null
        };
        out.extend([
            self.id.into(),
            (&self.project_id).into(),
            self.definition_id.into(),
            (&self.build_number).into(),
            (&self.status).into(),
            (&self.result).into(),
            (&self.reason).into(),
            self.queue_time.into(),
            self.start_time.into(),
            self.finish_time.into(),
            (&self.source_branch).into(),
            (&self.source_version).into(),
            (&self.repository_id).into(),
            (&self.requested_for_id).into(),
            self.retained_by_release.into(),
            self.deleted.into(),
            self.last_changed_date.into(),
            json(&self.raw),
            deleted_at,
        ]);
    }
}

/// When, and for which `lastChangedDate` of the build, its timeline was last fetched, and
/// what came back: `stored`, `none` (204: a YAML pipeline that failed to compile has no
/// timeline) or `not_found` (404: cleaned up).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct BuildTimelineSyncRow {
    pub build_id: i64,
    pub last_changed_date: Option<DateTime<Utc>>,
    pub outcome: String,
}

pub static BUILD_TIMELINE_SYNCS: Table = Table {
    name: "build_timeline_syncs",
    key: &[Col::int("build_id")],
    columns: &[Col::time("last_changed_date"), Col::text("outcome")],
    observed: true,
    guard: Guard::Observed,
    revive: false,
    newest_by: None,
};

impl Record for BuildTimelineSyncRow {
    const TABLE: &'static Table = &BUILD_TIMELINE_SYNCS;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            self.build_id.into(),
            self.last_changed_date.into(),
            (&self.outcome).into(),
        ]);
    }
}

/// A record of a build's timeline: a stage, phase, job, task or checkpoint.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct BuildTimelineRecordRow {
    pub build_id: i64,
    pub id: String,
    pub parent_id: Option<String>,
    pub record_type: Option<String>,
    pub name: Option<String>,
    pub identifier: Option<String>,
    pub state: Option<String>,
    pub result: Option<String>,
    pub start_time: Option<DateTime<Utc>>,
    pub finish_time: Option<DateTime<Utc>>,
    pub attempt: Option<i64>,
    pub worker_name: Option<String>,
    pub error_count: Option<i64>,
    pub warning_count: Option<i64>,
    /// The record's `order` among its siblings (`order` is an SQL keyword).
    pub sort_order: Option<i64>,
    pub raw: String,
}

pub static BUILD_TIMELINE_RECORDS: Table = Table {
    name: "build_timeline_records",
    key: &[Col::int("build_id"), Col::text("id")],
    columns: &[
        Col::text("parent_id"),
        Col::text("record_type"),
        Col::text("name"),
        Col::text("identifier"),
        Col::text("state"),
        Col::text("result"),
        Col::time("start_time"),
        Col::time("finish_time"),
        Col::int("attempt"),
        Col::text("worker_name"),
        Col::int("error_count"),
        Col::int("warning_count"),
        Col::int("sort_order"),
        Col::json("raw"),
    ],
    observed: false,
    guard: Guard::Changed,
    revive: false,
    newest_by: None,
};

impl Record for BuildTimelineRecordRow {
    const TABLE: &'static Table = &BUILD_TIMELINE_RECORDS;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            self.build_id.into(),
            (&self.id).into(),
            (&self.parent_id).into(),
            (&self.record_type).into(),
            (&self.name).into(),
            (&self.identifier).into(),
            (&self.state).into(),
            (&self.result).into(),
            self.start_time.into(),
            self.finish_time.into(),
            self.attempt.into(),
            (&self.worker_name).into(),
            self.error_count.into(),
            self.warning_count.into(),
            self.sort_order.into(),
            json(&self.raw),
        ]);
    }
}

/// That a build's changes were fetched (a build's changes are fixed when it is queued).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct BuildChangeSyncRow {
    pub build_id: i64,
}

pub static BUILD_CHANGE_SYNCS: Table = Table {
    name: "build_change_syncs",
    key: &[Col::int("build_id")],
    columns: &[],
    observed: true,
    guard: Guard::Observed,
    revive: false,
    newest_by: None,
};

impl Record for BuildChangeSyncRow {
    const TABLE: &'static Table = &BUILD_CHANGE_SYNCS;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.push(self.build_id.into());
    }
}

/// A commit (or changeset) a build built, for lead time.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct BuildChangeRow {
    pub build_id: i64,
    /// A commit SHA or changeset number.
    pub id: String,
    pub change_type: Option<String>,
    pub message: Option<String>,
    pub message_truncated: bool,
    pub author_name: Option<String>,
    pub author_unique_name: Option<String>,
    pub timestamp: Option<DateTime<Utc>>,
    pub location: Option<String>,
    pub pusher: Option<String>,
    pub raw: String,
}

pub static BUILD_CHANGES: Table = Table {
    name: "build_changes",
    key: &[Col::int("build_id"), Col::text("id")],
    columns: &[
        Col::text("change_type"),
        Col::text("message"),
        Col::bool("message_truncated"),
        Col::text("author_name"),
        Col::text("author_unique_name"),
        Col::time("timestamp"),
        Col::text("location"),
        Col::text("pusher"),
        Col::json("raw"),
    ],
    observed: false,
    guard: Guard::Changed,
    revive: false,
    newest_by: None,
};

impl Record for BuildChangeRow {
    const TABLE: &'static Table = &BUILD_CHANGES;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            self.build_id.into(),
            (&self.id).into(),
            (&self.change_type).into(),
            (&self.message).into(),
            self.message_truncated.into(),
            (&self.author_name).into(),
            (&self.author_unique_name).into(),
            self.timestamp.into(),
            (&self.location).into(),
            (&self.pusher).into(),
            json(&self.raw),
        ]);
    }
}

pub(super) static TABLES: &[&Table] = &[
    &PIPELINES,
    &BUILDS,
    &BUILD_TIMELINE_SYNCS,
    &BUILD_TIMELINE_RECORDS,
    &BUILD_CHANGE_SYNCS,
    &BUILD_CHANGES,
];

#[cfg(test)]
mod tests {
    use super::super::check::record_matches_table;
    use super::*;

    #[test]
    fn records_match_their_tables() {
        let t = Some(Utc::now());
        let s = || Some("x".to_string());
        record_matches_table(&PipelineRow {
            id: 1,
            project_id: "p".into(),
            name: "n".into(),
            path: s(),
            revision: Some(2),
            definition_type: s(),
            queue_status: s(),
            repository_id: s(),
            repository_type: s(),
            process: s(),
            yaml_filename: s(),
            created_date: t,
            raw: "{}".into(),
        });
        let build = BuildRow {
            id: 1,
            project_id: "p".into(),
            definition_id: Some(2),
            build_number: s(),
            status: s(),
            result: None,
            reason: s(),
            queue_time: t,
            start_time: t,
            finish_time: None,
            source_branch: s(),
            source_version: s(),
            repository_id: s(),
            requested_for_id: s(),
            retained_by_release: false,
            deleted: true,
            last_changed_date: t,
            deleted_date: None,
            raw: "{}".into(),
        };
        record_matches_table(&build);
        record_matches_table(&BuildRow {
            deleted: false,
            ..build
        });
        record_matches_table(&BuildTimelineSyncRow {
            build_id: 1,
            last_changed_date: t,
            outcome: "stored".into(),
        });
        record_matches_table(&BuildTimelineRecordRow {
            build_id: 1,
            id: "r".into(),
            parent_id: None,
            record_type: s(),
            name: s(),
            identifier: s(),
            state: s(),
            result: s(),
            start_time: t,
            finish_time: t,
            attempt: Some(1),
            worker_name: s(),
            error_count: Some(0),
            warning_count: Some(1),
            sort_order: Some(3),
            raw: "{}".into(),
        });
        record_matches_table(&BuildChangeSyncRow { build_id: 1 });
        record_matches_table(&BuildChangeRow {
            build_id: 1,
            id: "c".into(),
            change_type: s(),
            message: s(),
            message_truncated: false,
            author_name: s(),
            author_unique_name: s(),
            timestamp: t,
            location: s(),
            pusher: None,
            raw: "{}".into(),
        });
    }
}
