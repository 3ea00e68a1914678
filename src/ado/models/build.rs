//! Build area: definitions (YAML and classic pipelines alike), builds (a YAML pipeline's run is
//! a build: API_FACTS §8.3), their timelines, and the commits a build built.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::IdentityRef;
use super::git::ProjectRef;

/// A definition or build's repository: `{id, type, name}` (`type` `TfsGit`, `GitHub`, …).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BuildRepository {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default, rename = "type")]
    pub repository_type: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// A definition's process: `type` 1 is a classic (designer) pipeline, 2 a YAML one, which
/// names its file.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BuildProcess {
    #[serde(default, rename = "type")]
    pub process_type: Option<i64>,
    #[serde(default)]
    pub yaml_filename: Option<String>,
}

/// `BuildDefinitionReference` as `build/definitions?includeAllProperties=true` lists it
/// (`process` and `repository` come only with that flag).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BuildDefinition {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub revision: Option<i64>,
    /// `build` or `xaml`.
    #[serde(default, rename = "type")]
    pub definition_type: Option<String>,
    /// `enabled`, `paused`, `disabled`.
    #[serde(default)]
    pub queue_status: Option<String>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub created_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub project: Option<ProjectRef>,
    #[serde(default)]
    pub repository: Option<BuildRepository>,
    #[serde(default)]
    pub process: Option<BuildProcess>,
}

/// The definition a build ran.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DefinitionRef {
    pub id: i64,
    #[serde(default)]
    pub name: Option<String>,
}

/// `Build`. Every time is optional: a queued build has no start, an unfinished one no finish.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Build {
    pub id: i64,
    #[serde(default)]
    pub build_number: Option<String>,
    /// `BuildStatus`: `notStarted`, `inProgress`, `completed`, `cancelling`, `postponed`.
    #[serde(default)]
    pub status: Option<String>,
    /// `succeeded`, `partiallySucceeded`, `failed`, `canceled`; absent until completed.
    #[serde(default)]
    pub result: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub queue_time: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub start_time: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub finish_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub source_branch: Option<String>,
    #[serde(default)]
    pub source_version: Option<String>,
    #[serde(default)]
    pub repository: Option<BuildRepository>,
    #[serde(default)]
    pub requested_for: Option<IdentityRef>,
    #[serde(default)]
    pub retained_by_release: bool,
    /// Removed by retention (listed only with `deletedFilter=includeDeleted|onlyDeleted`).
    #[serde(default)]
    pub deleted: bool,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub deleted_date: Option<DateTime<Utc>>,
    /// Moves with every change to the build (a retried job included); not a query filter
    /// (API_FACTS §4.1), but what tells a timeline to be fetched again.
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub last_changed_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub definition: Option<DefinitionRef>,
    #[serde(default)]
    pub project: Option<ProjectRef>,
}

impl Build {
    /// Whether the build can still change its outcome: anything not `completed`.
    pub fn is_unfinished(&self) -> bool {
        self.status.as_deref() != Some("completed")
    }
}

/// `Timeline`: a build's stages, phases, jobs and tasks. The records are kept as raw JSON and
/// decoded one by one, so one record of an odd shape does not lose the others.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timeline {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub change_id: Option<i64>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub last_changed_on: Option<DateTime<Utc>>,
    #[serde(default)]
    pub records: Vec<Box<RawValue>>,
}

/// A record's earlier attempt (a retried job or stage).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PreviousAttempt {
    pub attempt: i64,
    #[serde(default)]
    pub timeline_id: Option<String>,
    #[serde(default)]
    pub record_id: Option<String>,
}

/// `TimelineRecord`. `lastModified` is often .NET's `0001-01-01T00:00:00` (no `Z`): read as
/// not set (API_FACTS §4.1).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TimelineRecord {
    pub id: String,
    #[serde(default)]
    pub parent_id: Option<String>,
    /// `Stage`, `Phase`, `Job`, `Task`, `Checkpoint`, …
    #[serde(default, rename = "type")]
    pub record_type: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub identifier: Option<String>,
    /// `pending`, `inProgress`, `completed`.
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub result: Option<String>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub start_time: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub finish_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub attempt: Option<i64>,
    #[serde(default)]
    pub previous_attempts: Vec<PreviousAttempt>,
    #[serde(default)]
    pub worker_name: Option<String>,
    #[serde(default)]
    pub error_count: Option<i64>,
    #[serde(default)]
    pub warning_count: Option<i64>,
    #[serde(default)]
    pub order: Option<i64>,
    #[serde(default)]
    pub change_id: Option<i64>,
}

/// The author of a build change: a display name and sign-in name; `id` is often null.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ChangeAuthor {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub unique_name: Option<String>,
}

/// `Change`: a commit (or changeset) a build built (API_FACTS §8.5). `type` is `TfsGit` in the
/// recorded example.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BuildChange {
    /// A commit SHA, or a TFVC changeset number, as a string.
    pub id: String,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub message_truncated: bool,
    #[serde(default, rename = "type")]
    pub change_type: Option<String>,
    #[serde(default)]
    pub author: Option<ChangeAuthor>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub timestamp: Option<DateTime<Utc>>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub pusher: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ado::models::example::{list, single};

    fn at(s: &str) -> Option<DateTime<Utc>> {
        Some(DateTime::parse_from_rfc3339(s).unwrap().to_utc())
    }

    const BUILDS: &str = "build/v5.0__builds__GET__build_builds";

    #[test]
    fn example_build_by_id() {
        let b: Build = single(&format!("{BUILDS}__knownBuildId_.json"));
        assert_eq!(b.id, 391);
        assert_eq!(b.build_number.as_deref(), Some("20150716.2"));
        assert_eq!(b.status.as_deref(), Some("completed"));
        assert_eq!(b.result.as_deref(), Some("succeeded"));
        assert_eq!(b.reason.as_deref(), Some("manual"));
        assert_eq!(b.queue_time, at("2015-07-16T19:52:38.65Z"));
        assert_eq!(b.finish_time, at("2015-07-16T19:54:41.7842973Z"));
        assert_eq!(b.definition.as_ref().map(|d| d.id), Some(25));
        assert_eq!(
            b.requested_for.as_ref().map(|i| i.id.as_str()),
            Some("d6245f20-2af8-44f4-9451-8107cb2767db")
        );
        assert!(!b.is_unfinished());
        assert!(!b.deleted);
    }

    fn builds(file: &str) -> Vec<Build> {
        let file = format!("{BUILDS}{file}");
        let builds: Vec<Build> = list(&file);
        for b in &builds {
            assert!(b.id > 0, "{file}");
            assert!(b.project.is_some(), "{file}");
            assert!(b.queue_time.is_some(), "{file}");
        }
        builds
    }

    #[test]
    fn example_builds_of_a_definition_top_1() {
        let b = builds("_definitions-_definitionId__statusFilter-completed__top-1.json");
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].status.as_deref(), Some("completed"));
    }

    #[test]
    fn example_builds_continued() {
        let b = builds(
            "_definitions-_definitionId__statusFilter-completed_continuationToken-_continuationToken_.json",
        );
        assert!(
            b.iter()
                .all(|b| b.definition.as_ref().is_some_and(|d| d.id == 25))
        );
    }

    #[test]
    fn example_builds_by_tag() {
        let b = builds("_tagFilters-myTag.json");
        assert_eq!(b.len(), 21);
    }

    #[test]
    fn example_timeline_records_with_the_min_value_sentinel() {
        let t: Timeline =
            single("build/v5.0__timeline__GET__build_builds__knownBuildId__timeline.json");
        assert!(!t.records.is_empty());
        let records: Vec<TimelineRecord> = t
            .records
            .iter()
            .map(|r| serde_json::from_str(r.get()).unwrap())
            .collect();
        let job = records
            .iter()
            .find(|r| r.record_type.as_deref() == Some("Job"))
            .expect("a job");
        assert_eq!(job.parent_id, None);
        assert_eq!(job.name.as_deref(), Some("Build"));
        let task = records
            .iter()
            .find(|r| r.id == "bcddc27d-c891-4209-85d6-387e155439b0")
            .unwrap();
        assert_eq!(task.parent_id.as_deref(), Some(job.id.as_str()));
        assert_eq!(task.warning_count, Some(1));
        assert_eq!(task.order, Some(2));
        assert_eq!(task.worker_name.as_deref(), Some("Hosted Agent"));
        assert_eq!(task.start_time, at("2015-07-16T19:53:20.853Z"));
    }

    #[test]
    fn example_build_changes() {
        let changes: Vec<BuildChange> =
            list("build/v5.0__changes__GET__build_builds__knownBuildId__changes.json");
        assert_eq!(changes.len(), 8);
        let c = &changes[0];
        assert_eq!(c.id, "b13b8f7261ec6a4ebfa4d98aa63bf164f4be64c5");
        assert_eq!(c.change_type.as_deref(), Some("TfsGit"));
        let author = c.author.as_ref().unwrap();
        assert_eq!(author.id, None, "the example's author id is null");
        assert_eq!(author.display_name.as_deref(), Some("Normal Paulk"));
        assert_eq!(c.timestamp, at("2015-06-23T18:25:15Z"));
    }

    #[test]
    fn a_definition_as_the_list_gives_it_with_all_properties() {
        // No definitions example is recorded; the shape is the spec's
        // `BuildDefinitionReference` plus what `includeAllProperties=true` adds.
        let d: BuildDefinition = serde_json::from_str(
            r#"{"id": 7, "name": "web-ci", "path": "\\team", "revision": 4, "type": "build",
                "queueStatus": "enabled", "createdDate": "2024-03-01T10:00:00.123Z",
                "project": {"id": "p1", "name": "Fabrikam"},
                "repository": {"id": "r1", "type": "TfsGit", "name": "web"},
                "process": {"type": 2, "yamlFilename": "azure-pipelines.yml"},
                "quality": "definition", "uri": "vstfs:///Build/Definition/7"}"#,
        )
        .unwrap();
        assert_eq!(
            d.process.unwrap().yaml_filename.as_deref(),
            Some("azure-pipelines.yml")
        );
        assert_eq!(
            d.repository.unwrap().repository_type.as_deref(),
            Some("TfsGit")
        );
        let bare: BuildDefinition = serde_json::from_str(r#"{"id": 8, "name": "x"}"#).unwrap();
        assert_eq!(bare.process, None);
    }
}
