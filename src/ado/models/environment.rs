//! YAML pipeline environments and their deployment records (`distributedtask`, API_FACTS
//! §8.1, §8.2). No recorded example exists anywhere: the models follow `taskAgent.json`
//! (`EnvironmentInstance`, `EnvironmentDeploymentExecutionRecord`) and tolerate any field
//! missing but the id.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::IdentityRef;
use super::git::ProjectRef;

/// `EnvironmentInstance`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentInstance {
    pub id: i64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub created_by: Option<IdentityRef>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub created_on: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_modified_by: Option<IdentityRef>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub last_modified_on: Option<DateTime<Utc>>,
    #[serde(default)]
    pub project: Option<ProjectRef>,
}

/// A `{id, name}` reference whose id may come as a number or a string.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TaskOrchestrationOwner {
    #[serde(default, deserialize_with = "int_or_string")]
    pub id: Option<i64>,
    #[serde(default)]
    pub name: Option<String>,
}

/// `EnvironmentDeploymentExecutionRecord`: one job of one pipeline run that deployed to the
/// environment. There is no state field: an unfinished record has no `finishTime` and no
/// `result` (API_FACTS §8.2).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentDeploymentRecord {
    pub id: i64,
    #[serde(default)]
    pub environment_id: Option<i64>,
    #[serde(default)]
    pub request_identifier: Option<String>,
    #[serde(default)]
    pub plan_id: Option<String>,
    #[serde(default)]
    pub plan_type: Option<String>,
    /// The project id.
    #[serde(default)]
    pub scope_id: Option<String>,
    #[serde(default)]
    pub service_owner: Option<String>,
    /// The pipeline (build definition).
    #[serde(default)]
    pub definition: Option<TaskOrchestrationOwner>,
    /// The run (build id).
    #[serde(default)]
    pub owner: Option<TaskOrchestrationOwner>,
    #[serde(default)]
    pub stage_name: Option<String>,
    #[serde(default)]
    pub stage_attempt: Option<i64>,
    #[serde(default)]
    pub job_name: Option<String>,
    #[serde(default)]
    pub job_attempt: Option<i64>,
    #[serde(default)]
    pub resource_id: Option<i64>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub queue_time: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub start_time: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub finish_time: Option<DateTime<Utc>>,
    /// `succeeded`, `succeededWithIssues`, `failed`, `canceled`, `skipped`, `abandoned`.
    #[serde(default)]
    pub result: Option<String>,
}

impl EnvironmentDeploymentRecord {
    /// Whether the record may still change: no finish time or no result yet.
    pub fn is_unfinished(&self) -> bool {
        self.finish_time.is_none() || self.result.is_none()
    }
}

/// An integer that ADO may send as a JSON number or a numeric string; anything else is `None`.
fn int_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_environment_as_the_spec_shapes_it() {
        let e: EnvironmentInstance = serde_json::from_str(
            r#"{"id": 3, "name": "production", "description": "",
                "createdBy": {"id": "u1", "displayName": "Ann"},
                "createdOn": "2025-01-02T03:04:05.6789012Z",
                "lastModifiedBy": {"id": "u1"}, "lastModifiedOn": "2025-02-02T03:04:05Z",
                "project": {"id": "p1", "name": "Fabrikam"},
                "resources": [{"id": 1, "name": "aks", "type": "kubernetes", "tags": []}]}"#,
        )
        .unwrap();
        assert_eq!(e.id, 3);
        assert_eq!(e.project.unwrap().id, "p1");
        let bare: EnvironmentInstance = serde_json::from_str(r#"{"id": 4}"#).unwrap();
        assert_eq!(bare.name, None);
    }

    #[test]
    fn a_deployment_record_finished_and_unfinished() {
        let done: EnvironmentDeploymentRecord = serde_json::from_str(
            r#"{"id": 9007199254740993, "environmentId": 3, "requestIdentifier": "r",
                "planId": "0f4a…", "planType": "Build", "scopeId": "p1",
                "serviceOwner": "00025394-6065-48ca-87d9-7f5672854ef7",
                "definition": {"id": 12, "name": "web-cd"},
                "owner": {"id": 4711, "name": "20250102.3"},
                "stageName": "Deploy", "stageAttempt": 1, "jobName": "Deploy_prod",
                "jobAttempt": 2, "resourceId": 1,
                "queueTime": "2025-01-02T03:04:05Z", "startTime": "2025-01-02T03:05:05Z",
                "finishTime": "2025-01-02T03:09:05Z", "result": "succeeded"}"#,
        )
        .unwrap();
        assert_eq!(done.id, 9_007_199_254_740_993, "ids are 64-bit");
        assert_eq!(done.owner.as_ref().and_then(|o| o.id), Some(4711));
        assert!(!done.is_unfinished());
        let running: EnvironmentDeploymentRecord = serde_json::from_str(
            r#"{"id": 5, "environmentId": 3, "owner": {"id": "4712"},
                "queueTime": "2025-01-02T03:04:05Z"}"#,
        )
        .unwrap();
        assert_eq!(
            running.owner.as_ref().and_then(|o| o.id),
            Some(4712),
            "a numeric string id"
        );
        assert!(running.is_unfinished());
    }
}
