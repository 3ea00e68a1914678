//! Policy area: branch policy evaluations of a pull request and the policy configuration each
//! one evaluates (API_FACTS §9.3, §9.4) — which required reviewers and build validations held
//! a merge.

use chrono::{DateTime, Utc};
use serde::Deserialize;

/// `PolicyEvaluationRecord`: one policy evaluated against one PR. The endpoint is preview-only
/// in 7.1 (`7.1-preview.1`) and no recorded example exists (API_FACTS §9.4); the shape is the
/// spec's. `artifactId` is `vstfs:///CodeReview/CodeReviewId/{projectId}/{pullRequestId}`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PolicyEvaluationRecord {
    /// A GUID.
    pub evaluation_id: String,
    #[serde(default)]
    pub artifact_id: Option<String>,
    /// `PolicyEvaluationStatus`: `queued`, `running`, `approved`, `rejected`,
    /// `notApplicable`, `broken`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub started_date: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub completed_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub configuration: Option<PolicyConfiguration>,
    /// Free JSON; for build policies `buildId`, `buildDefinitionId`, `buildIsNotCurrent`,
    /// `isExpired` (API_FACTS §9.4).
    #[serde(default)]
    pub context: Option<serde_json::Value>,
}

/// `PolicyConfiguration`, as far as an evaluation needs it. It has no modified date: a change
/// shows as a new `revision` (API_FACTS §9.3).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PolicyConfiguration {
    pub id: i64,
    #[serde(default)]
    pub revision: Option<i64>,
    #[serde(default, rename = "type")]
    pub policy_type: Option<PolicyTypeRef>,
    #[serde(default)]
    pub is_blocking: bool,
    #[serde(default)]
    pub is_enabled: bool,
    #[serde(default)]
    pub is_deleted: bool,
}

/// `PolicyTypeRef`: the kind of policy (a GUID, e.g. `fd2167ab-…` "Required reviewers").
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PolicyTypeRef {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ado::models::example::list;

    #[test]
    fn example_policy_configurations() {
        // No evaluation is recorded; the configurations list is the shape an evaluation
        // embeds (`configuration`), so it checks those field names.
        let c: Vec<PolicyConfiguration> =
            list("policy/configurations__GET__policy_configurations.json");
        assert_eq!(c.len(), 3);
        assert_eq!((c[0].id, c[0].revision), (17, Some(2)));
        assert!(c[0].is_blocking && c[0].is_enabled && !c[0].is_deleted);
        let t = c[0].policy_type.as_ref().unwrap();
        assert_eq!(t.id, "fd2167ab-b0be-447a-8ec8-39368250530e");
        assert_eq!(t.display_name.as_deref(), Some("Required reviewers"));
        assert!(!c[1].is_blocking, "the second is advisory");
    }

    #[test]
    fn an_evaluation_in_the_specs_shape_parses() {
        let e: PolicyEvaluationRecord = serde_json::from_value(serde_json::json!({
            "evaluationId": "6b1e4ec6-2a4b-4b56-9f19-4d6b9d2d4e01",
            "artifactId": "vstfs:///CodeReview/CodeReviewId/1be3fc5b-c58c-4173-8fd7-6647d11eccd1/22",
            "status": "approved",
            "startedDate": "2026-01-02T03:04:05.1234567Z",
            "completedDate": "0001-01-01T00:00:00",
            "configuration": {
                "id": 17, "revision": 2, "isBlocking": true, "isEnabled": true,
                "type": {"id": "0609b952-1397-4640-95ec-e00a01b2c241", "displayName": "Build"},
                "settings": {"buildDefinitionId": 5}
            },
            "context": {"buildId": 42, "isExpired": false}
        }))
        .unwrap();
        assert_eq!(e.status.as_deref(), Some("approved"));
        assert!(e.started_date.is_some());
        assert_eq!(e.completed_date, None, "MinValue is not set");
        let c = e.configuration.unwrap();
        assert_eq!(
            c.policy_type.unwrap().display_name.as_deref(),
            Some("Build")
        );
        assert_eq!(e.context.unwrap()["buildId"], 42);
    }
}
