//! Service hooks area: subscriptions (what ADO delivers, to whom) and their notifications (each
//! delivery and how it went), API_FACTS §6. The organization's listing holds every consumer's
//! subscriptions, many not ours (Jenkins, Trello, other web hooks), so every field but the
//! id, the event type and the consumer is optional and unknown values are kept as text.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

/// `Subscription` as `GET|POST|PUT _apis/hooks/subscriptions[/{id}]` answer it. Its `Debug`
/// shows consumer inputs other than `url` redacted: `httpHeaders` carries our shared secret.
#[derive(Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// A GUID.
    pub id: String,
    #[serde(default)]
    pub url: Option<String>,
    /// Absent means enabled: the recorded listing omits it for enabled subscriptions (.NET
    /// leaves out an enum's default value).
    #[serde(default)]
    pub status: SubscriptionStatus,
    #[serde(default)]
    pub publisher_id: Option<String>,
    pub event_type: String,
    /// `null` for subscriptions made without one (the recorded listing has several); ADO
    /// then sends the event's default version.
    #[serde(default)]
    pub resource_version: Option<String>,
    pub consumer_id: String,
    #[serde(default)]
    pub consumer_action_id: Option<String>,
    /// `projectId`, the event's filters, and ADO's own `hostId`/`tfsSubscriptionId`.
    #[serde(default, deserialize_with = "string_map")]
    pub publisher_inputs: BTreeMap<String, String>,
    /// For web hooks: `url`, `httpHeaders`, `basicAuthUsername`, `basicAuthPassword` (ADO
    /// answers secrets masked as `********`), `resourceDetailsToSend`, …
    #[serde(default, deserialize_with = "string_map")]
    pub consumer_inputs: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub created_date: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub modified_date: Option<DateTime<Utc>>,
    /// How many deliveries ADO retried while on probation (the spec says "byte"; the
    /// recording has a number).
    #[serde(default, deserialize_with = "lenient_count")]
    pub probation_retries: Option<i64>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub last_probation_retry_date: Option<DateTime<Utc>>,
}

impl Subscription {
    /// `publisherInputs.projectId`: the project the subscription listens to.
    pub fn project_id(&self) -> Option<&str> {
        self.publisher_inputs.get("projectId").map(String::as_str)
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("status", &self.status)
            .field("event_type", &self.event_type)
            .field("resource_version", &self.resource_version)
            .field("consumer_id", &self.consumer_id)
            .field("consumer_action_id", &self.consumer_action_id)
            .field("publisher_inputs", &self.publisher_inputs)
            .field("consumer_inputs", &Redacted(&self.consumer_inputs))
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for SubscriptionRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubscriptionRequest")
            .field("event_type", &self.event_type)
            .field("resource_version", &self.resource_version)
            .field("consumer_id", &self.consumer_id)
            .field("consumer_action_id", &self.consumer_action_id)
            .field("publisher_inputs", &self.publisher_inputs)
            .field("consumer_inputs", &Redacted(&self.consumer_inputs))
            .finish_non_exhaustive()
    }
}

/// Consumer inputs with every value but the `url` hidden (headers, passwords, tokens).
struct Redacted<'a>(&'a BTreeMap<String, String>);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| {
                let shown = if k == "url" { v.as_str() } else { "[redacted]" };
                (k, shown)
            }))
            .finish()
    }
}

/// `SubscriptionStatus` (serviceHooks.json). ADO puts a subscription whose deliveries keep
/// failing on probation ("Enabled (restricted)" in its UI) and then disables it (API_FACTS §6).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SubscriptionStatus {
    #[default]
    Enabled,
    OnProbation,
    DisabledByUser,
    DisabledBySystem,
    DisabledByInactiveIdentity,
    /// A status this version does not know, as ADO wrote it.
    Other(String),
}

impl SubscriptionStatus {
    /// The name ADO uses.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Enabled => "enabled",
            Self::OnProbation => "onProbation",
            Self::DisabledByUser => "disabledByUser",
            Self::DisabledBySystem => "disabledBySystem",
            Self::DisabledByInactiveIdentity => "disabledByInactiveIdentity",
            Self::Other(s) => s,
        }
    }
}

impl<'de> Deserialize<'de> for SubscriptionStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Option::<String>::deserialize(d)?.unwrap_or_default();
        Ok(match text.as_str() {
            "" | "enabled" => Self::Enabled,
            "onProbation" => Self::OnProbation,
            "disabledByUser" => Self::DisabledByUser,
            "disabledBySystem" => Self::DisabledBySystem,
            "disabledByInactiveIdentity" => Self::DisabledByInactiveIdentity,
            _ => Self::Other(text),
        })
    }
}

/// The body of `POST _apis/hooks/subscriptions` (and of `PUT …/{id}`, which replaces a
/// subscription with the same fields), API_FACTS §6 [CS]. `Debug` redacts as
/// [`Subscription`]'s does.
#[derive(Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionRequest {
    pub publisher_id: String,
    pub event_type: String,
    pub resource_version: String,
    pub consumer_id: String,
    pub consumer_action_id: String,
    pub publisher_inputs: BTreeMap<String, String>,
    pub consumer_inputs: BTreeMap<String, String>,
}

/// `Notification`: one delivery of one event to a subscription's consumer
/// (`GET …/subscriptions/{id}/notifications`). No recorded example exists; the shape is the
/// spec's.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub id: i64,
    #[serde(default)]
    pub event_id: Option<String>,
    #[serde(default)]
    pub subscription_id: Option<String>,
    /// `pending`, `succeeded`, `failed`, `filtered`.
    #[serde(default)]
    pub result: Option<String>,
    /// `queued`, `processing`, `requestInProgress`, `completed`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub created_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub details: Option<NotificationDetails>,
}

/// `NotificationDetails`, as far as telling why a delivery failed needs it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NotificationDetails {
    #[serde(default)]
    pub error_message: Option<String>,
    #[serde(default)]
    pub error_detail: Option<String>,
    #[serde(default)]
    pub request_attempts: Option<i64>,
    #[serde(default)]
    pub event_type: Option<String>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub completed_date: Option<DateTime<Utc>>,
}

/// A `{string: string}` map read leniently: `null` is empty, a value that is not a string is
/// kept as its JSON text and a `null` value is left out, so one foreign subscription of an odd
/// shape never fails the organization's listing.
fn string_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    let map = Option::<BTreeMap<String, serde_json::Value>>::deserialize(d)?.unwrap_or_default();
    Ok(map
        .into_iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some((k, s)),
            other => Some((k, other.to_string())),
        })
        .collect())
}

/// A count that may come as a number or as text.
fn lenient_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ado::models::example;

    #[test]
    fn example_subscription_list_parses_every_consumer() {
        let subs: Vec<Subscription> =
            example::list("hooks/subscriptions__GET__hooks_subscriptions_.json");
        assert_eq!(subs.len(), 12);
        assert_eq!(
            subs.iter().filter(|s| s.resource_version.is_none()).count(),
            5,
            "several subscriptions carry a null resourceVersion"
        );
        let consumers: std::collections::BTreeSet<&str> =
            subs.iter().map(|s| s.consumer_id.as_str()).collect();
        assert_eq!(
            consumers.into_iter().collect::<Vec<_>>(),
            ["jenkins", "myGet", "trello", "webHooks", "zendesk"]
        );
        // Absent status is enabled; the others are read as ADO names them.
        assert_eq!(subs[0].status, SubscriptionStatus::Enabled);
        assert_eq!(subs[2].status, SubscriptionStatus::DisabledBySystem);
        let probation = &subs[3];
        assert_eq!(probation.status, SubscriptionStatus::OnProbation);
        assert_eq!(probation.probation_retries, Some(6));
        assert_eq!(probation.consumer_action_id.as_deref(), Some("httpRequest"));
        assert_eq!(
            probation.consumer_inputs.get("url").map(String::as_str),
            Some("http://requestb.in/1c6c3bh1")
        );
        assert_eq!(
            subs[0].project_id(),
            Some("6ce954b1-ce1f-45d1-b94d-e6bf2464ba2c")
        );
        // Secrets of other consumers come back masked.
        assert_eq!(
            subs[1].consumer_inputs.get("password").map(String::as_str),
            Some("********")
        );
        assert!(subs.iter().all(|s| s.created_date.is_some()));
    }

    #[test]
    fn example_single_subscription_and_create_answer_parse() {
        let one: Subscription =
            example::single("hooks/subscriptions__GET__hooks_subscriptions__subscriptionId_.json");
        assert_eq!(one.id, "8dea9aba-3a9a-4ad0-860f-2a5c7379e3eb");
        assert_eq!(one.consumer_id, "myGet");
        assert_eq!(one.resource_version, None);
        let created: Subscription =
            example::single("hooks/subscriptions__POST__hooks_subscriptions.json");
        assert_eq!(created.id, "fd672255-8b6b-4769-9260-beea83d752ce");
        assert_eq!(created.resource_version.as_deref(), Some("1.0-preview.1"));
        assert_eq!(
            created
                .publisher_inputs
                .get("tfsSubscriptionId")
                .map(String::as_str),
            Some("3e8b33e7-426d-4c92-9bf9-58e163dd7dd5")
        );
        assert_eq!(
            created.modified_date.map(|d| d.to_rfc3339()),
            Some("2014-10-27T15:37:24.873+00:00".into())
        );
    }

    #[test]
    fn the_request_body_has_the_recorded_create_shape() {
        // The recorded POST body, rebuilt from the struct, is the same JSON.
        let text = std::fs::read_to_string(example::path(
            "hooks/subscriptions__POST__hooks_subscriptions.json",
        ))
        .unwrap();
        let recorded: serde_json::Value = serde_json::from_str(&text).unwrap();
        let recorded = &recorded["parameters"]["body"];
        let inputs = |v: &serde_json::Value| -> BTreeMap<String, String> {
            serde_json::from_value(v.clone()).unwrap()
        };
        let body = SubscriptionRequest {
            publisher_id: "tfs".into(),
            event_type: "build.complete".into(),
            resource_version: "1.0-preview.1".into(),
            consumer_id: "webHooks".into(),
            consumer_action_id: "httpRequest".into(),
            publisher_inputs: inputs(&recorded["publisherInputs"]),
            consumer_inputs: inputs(&recorded["consumerInputs"]),
        };
        assert_eq!(&serde_json::to_value(&body).unwrap(), recorded);
    }

    #[test]
    fn odd_values_do_not_fail_a_subscription() {
        let s: Subscription = serde_json::from_value(serde_json::json!({
            "id": "x", "eventType": "git.push", "consumerId": "webHooks",
            "status": "pausedForMaintenance", "probationRetries": "3",
            "publisherInputs": null,
            "consumerInputs": {"url": "https://h/x", "retries": 3, "gone": null},
        }))
        .unwrap();
        assert_eq!(
            s.status,
            SubscriptionStatus::Other("pausedForMaintenance".into())
        );
        assert_eq!(s.status.as_str(), "pausedForMaintenance");
        assert_eq!(s.probation_retries, Some(3));
        assert!(s.publisher_inputs.is_empty());
        assert_eq!(
            s.consumer_inputs.get("retries").map(String::as_str),
            Some("3")
        );
        assert!(!s.consumer_inputs.contains_key("gone"));
    }

    #[test]
    fn debug_hides_the_secret_header() {
        let s: Subscription = serde_json::from_value(serde_json::json!({
            "id": "x", "eventType": "git.push", "consumerId": "webHooks",
            "consumerInputs": {"url": "https://h/x", "httpHeaders": "X-ADO-Signature:s3cret"},
        }))
        .unwrap();
        let shown = format!("{s:?}");
        assert!(
            shown.contains("https://h/x") && !shown.contains("s3cret"),
            "{shown}"
        );
        let body = SubscriptionRequest {
            publisher_id: "tfs".into(),
            event_type: "git.push".into(),
            resource_version: "1.0".into(),
            consumer_id: "webHooks".into(),
            consumer_action_id: "httpRequest".into(),
            publisher_inputs: BTreeMap::new(),
            consumer_inputs: s.consumer_inputs.clone(),
        };
        assert!(!format!("{body:?}").contains("s3cret"));
    }

    #[test]
    fn a_failed_notification_carries_its_error() {
        // The spec's `Notification` shape (no recorded example exists).
        let n: Notification = serde_json::from_value(serde_json::json!({
            "id": 42,
            "eventId": "4a5d99d6-1c75-4e53-91b9-ee80057d4ce3",
            "subscriptionId": "fd672255-8b6b-4769-9260-beea83d752ce",
            "result": "failed",
            "status": "completed",
            "createdDate": "2024-05-02T10:00:00.123Z",
            "details": {
                "errorMessage": "The remote server returned an error: (503) Server Unavailable.",
                "errorDetail": "System.Net.WebException: …",
                "requestAttempts": 9,
                "eventType": "git.pullrequest.updated",
                "completedDate": "2024-05-02T10:03:03Z",
                "publisherInputs": {"projectId": "p"}
            }
        }))
        .unwrap();
        assert_eq!(n.id, 42);
        assert_eq!(n.result.as_deref(), Some("failed"));
        let d = n.details.unwrap();
        assert_eq!(d.request_attempts, Some(9));
        assert!(d.error_message.unwrap().contains("(503)"));
        assert!(d.completed_date.is_some());
    }
}
