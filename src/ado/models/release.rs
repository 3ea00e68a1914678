//! Classic release management (the release host: `vsrm.dev.azure.com/{org}` on Services, the
//! collection URL on Server): releases, their environments (one per stage of the
//! definition) and deployments (each attempt to deploy a release to an environment).

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::IdentityRef;
use super::git::ProjectRef;

/// A `{id, name}` reference (release definition, release, release environment).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NamedRef {
    pub id: i64,
    #[serde(default)]
    pub name: Option<String>,
}

/// `ReleaseDefinition` as `release/definitions` lists it (what `validate` reads to see that a
/// token may read releases).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseDefinition {
    pub id: i64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub revision: Option<i64>,
}

/// `Release`. The list gives environments only with `$expand=environments`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Release {
    pub id: i64,
    #[serde(default)]
    pub name: Option<String>,
    /// `active`, `abandoned`, `draft`, `undefined`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub created_on: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub modified_on: Option<DateTime<Utc>>,
    #[serde(default)]
    pub created_by: Option<IdentityRef>,
    #[serde(default)]
    pub release_definition: Option<NamedRef>,
    #[serde(default)]
    pub project_reference: Option<ProjectRef>,
    #[serde(default)]
    pub keep_forever: bool,
    #[serde(default)]
    pub environments: Vec<serde_json::Value>,
}

/// `ReleaseEnvironment`: one stage of one release.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseEnvironment {
    pub id: i64,
    #[serde(default)]
    pub release_id: Option<i64>,
    #[serde(default)]
    pub name: Option<String>,
    /// `notStarted`, `queued`, `scheduled`, `inProgress`, `succeeded`, `partiallySucceeded`,
    /// `canceled`, `rejected`, `undefined`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub rank: Option<i64>,
    #[serde(default)]
    pub definition_environment_id: Option<i64>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub created_on: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub modified_on: Option<DateTime<Utc>>,
    /// Minutes the last deployment took.
    #[serde(default)]
    pub time_to_deploy: Option<f64>,
    #[serde(default)]
    pub trigger_reason: Option<String>,
}

/// `Deployment`: one attempt to deploy a release to one of its environments.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub id: i64,
    #[serde(default)]
    pub release: Option<NamedRef>,
    #[serde(default)]
    pub release_definition: Option<NamedRef>,
    #[serde(default)]
    pub release_environment: Option<NamedRef>,
    #[serde(default)]
    pub definition_environment_id: Option<i64>,
    #[serde(default)]
    pub attempt: Option<i64>,
    #[serde(default)]
    pub reason: Option<String>,
    /// `notDeployed`, `inProgress`, `succeeded`, `partiallySucceeded`, `failed`, `all`.
    #[serde(default)]
    pub deployment_status: Option<String>,
    /// `Queued`, `Scheduled`, `Pending`, `Approved`, `Rejected`, `Deferred`, `QueuedForAgent`,
    /// `PhaseInProgress`, `PhaseSucceeded`, `PhasePartiallySucceeded`, `PhaseFailed`,
    /// `Canceled`, `PhaseCanceled`, `ManualInterventionPending`, …
    #[serde(default)]
    pub operation_status: Option<String>,
    #[serde(default)]
    pub requested_by: Option<IdentityRef>,
    #[serde(default)]
    pub requested_for: Option<IdentityRef>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub queued_on: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub started_on: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub completed_on: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub last_modified_on: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ado::models::example::{list, single};

    fn at(s: &str) -> Option<DateTime<Utc>> {
        Some(DateTime::parse_from_rfc3339(s).unwrap().to_utc())
    }

    fn releases(file: &str) -> Vec<Release> {
        let releases: Vec<Release> = list(file);
        for r in &releases {
            assert!(r.id > 0, "{file}");
            assert!(r.created_on.is_some(), "{file}");
            assert!(r.release_definition.is_some(), "{file}");
        }
        releases
    }

    #[test]
    fn example_releases_query_list_all() {
        let r = releases("release/releases__Query_ListAllReleases.json");
        assert_eq!(r[0].id, 18);
        assert_eq!(r[0].status.as_deref(), Some("abandoned"));
        assert_eq!(r[0].created_on, at("2017-06-16T01:36:20.397Z"));
        assert!(r[0].environments.is_empty(), "no $expand, no environments");
    }

    #[test]
    fn example_releases_of_a_definition() {
        let r = releases("release/releases__GET__ListAllReleasesForAReleaseDefinition.json");
        assert!(
            r.iter()
                .all(|r| r.release_definition.as_ref().is_some_and(|d| d.id > 0))
        );
    }

    #[test]
    fn example_release_definitions() {
        let d: Vec<ReleaseDefinition> =
            list("release/definitions__GET__ListAllReleaseDefinitions.json");
        assert!(d.iter().all(|d| d.id > 0 && d.name.is_some()));
    }

    #[test]
    fn example_release_revision_has_no_json_body() {
        // Recorded without a body: a definition snapshot served as text, nothing to model.
        let v = crate::ado::models::example::body(
            "release/releases__GET__GetReleaseRevisionOfRelease.json",
        );
        assert!(v.pointer("/responses/200/body").is_none());
    }

    #[test]
    fn example_release_with_its_environments() {
        // (`GetReleaseRevisionOfRelease` is recorded without a body: a definition snapshot
        // served as text.)
        for file in ["release/releases__GET__GetARelease.json"] {
            let r: Release = single(file);
            assert!(!r.environments.is_empty(), "{file}");
            for e in &r.environments {
                let e: ReleaseEnvironment = serde_json::from_value(e.clone()).unwrap();
                assert_eq!(e.release_id, Some(r.id), "{file}");
                assert!(e.rank.is_some(), "{file}");
            }
        }
        let r: Release = single("release/releases__GET__GetARelease.json");
        let dev: ReleaseEnvironment = serde_json::from_value(r.environments[0].clone()).unwrap();
        assert_eq!(dev.name.as_deref(), Some("Dev"));
        assert_eq!(dev.status.as_deref(), Some("notStarted"));
        assert_eq!(dev.definition_environment_id, Some(1));
    }

    fn deployments(file: &str) -> Vec<Deployment> {
        let ds: Vec<Deployment> = list(file);
        for d in &ds {
            assert!(d.release.is_some(), "{file}");
            assert!(d.release_environment.is_some(), "{file}");
        }
        ds
    }

    #[test]
    fn example_deployments_of_a_definition() {
        let ds = deployments("release/deployments__GET__ListDeploymentsForAGivenDefinitionId.json");
        assert!(ds.iter().all(|d| d.attempt.is_some()));
    }

    #[test]
    fn example_deployments_with_min_value_dates() {
        let ds = deployments("release/deployments__GET__ListDeployments.json");
        let d = &ds[0];
        assert_eq!(d.id, 79);
        assert_eq!(d.release.as_ref().map(|r| r.id), Some(55));
        assert_eq!(d.release_environment.as_ref().map(|e| e.id), Some(118));
        assert_eq!(d.deployment_status.as_deref(), Some("notDeployed"));
        assert_eq!(d.operation_status.as_deref(), Some("PhaseFailed"));
        assert_eq!(d.queued_on, None, "0001-01-01T00:00:00 is not set");
        assert_eq!(d.started_on, at("2017-08-29T16:51:32.09Z"));
        assert_eq!(d.last_modified_on, at("2017-08-29T16:51:40.133Z"));
    }
}
