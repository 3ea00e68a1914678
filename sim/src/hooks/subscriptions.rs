//! Web hook subscriptions: validation, storage and ADO's JSON shapes (API_FACTS §6,
//! `specs/serviceHooks.json` definitions `Subscription`, `Notification`,
//! `NotificationDetails`; `examples/hooks/`).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{Delivery, SubscriptionStatus};
use crate::model::Org;
use crate::rng::Rng;

/// The event types the simulator publishes (API_FACTS §6 lists them for publisher `tfs`).
pub(crate) const EVENT_TYPES: [&str; 9] = [
    "git.pullrequest.created",
    "git.pullrequest.updated",
    "git.pullrequest.merged",
    "ms.vss-code.git-pullrequest-comment-event",
    "workitem.created",
    "workitem.updated",
    "workitem.deleted",
    "workitem.restored",
    "build.complete",
];

/// The read scope of an event type's area: the spec lists `vso.work`, `vso.build` and
/// `vso.code` for the hooks API (API_FACTS §13), the event decides which one applies.
pub(crate) fn scope_of(event_type: &str) -> &'static str {
    let t = event_type.to_ascii_lowercase();
    if t.starts_with("workitem.") {
        "vso.work"
    } else if t.starts_with("build.") {
        "vso.build"
    } else {
        "vso.code"
    }
}

/// ADO masks confidential consumer inputs in every answer (the GET example shows
/// `"password": "********"`).
const MASK: &str = "********";
const CONFIDENTIAL: [&str; 1] = ["basicAuthPassword"];

pub(crate) struct Subscription {
    pub id: String,
    pub event_type: String,
    pub resource_version: Value,
    /// As sent, plus `hostId` and `tfsSubscriptionId`.
    pub publisher_inputs: Map<String, Value>,
    /// As sent (the password unmasked: the sender needs it).
    pub consumer_inputs: Map<String, Value>,
    /// The project events must come from; `None` = every project.
    pub project: Option<usize>,
    pub status: SubscriptionStatus,
    pub created_by: String,
    pub modified_by: String,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    pub event_description: String,
    pub action_description: String,
}

/// What a create (or replace) body says, validated.
pub(crate) struct Request {
    pub event_type: String,
    pub resource_version: Value,
    pub publisher_inputs: Map<String, Value>,
    pub consumer_inputs: Map<String, Value>,
    pub project: Option<usize>,
    pub status: Option<SubscriptionStatus>,
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).map(str::trim)
}

/// Validates a create or replace body; the error is the 400's message.
pub(crate) fn parse(org: &Org, body: Option<&[u8]>) -> Result<Request, String> {
    let v: Value = body
        .and_then(|b| serde_json::from_slice(b).ok())
        .filter(Value::is_object)
        .ok_or("The subscription is missing or is not a valid JSON object.")?;
    if !text(&v, "publisherId").is_some_and(|p| p.eq_ignore_ascii_case("tfs")) {
        return Err(format!(
            "Publisher '{}' is not supported: the only publisher is 'tfs'.",
            text(&v, "publisherId").unwrap_or("")
        ));
    }
    let consumer = text(&v, "consumerId").unwrap_or("");
    let action = text(&v, "consumerActionId").unwrap_or("");
    if !consumer.eq_ignore_ascii_case("webHooks") || !action.eq_ignore_ascii_case("httpRequest") {
        return Err(format!(
            "Consumer '{consumer}' with action '{action}' is not supported: use consumer \
             'webHooks' with action 'httpRequest'."
        ));
    }
    let event = text(&v, "eventType").unwrap_or("");
    let Some(event_type) = EVENT_TYPES.iter().find(|t| t.eq_ignore_ascii_case(event)) else {
        return Err(format!(
            "Event type '{event}' is not supported by publisher 'tfs'."
        ));
    };
    let publisher_inputs = object(&v, "publisherInputs")?;
    let consumer_inputs = object(&v, "consumerInputs")?;
    let project = match publisher_inputs.get("projectId").and_then(Value::as_str) {
        Some(p) if !p.trim().is_empty() => Some(org.find_project(p.trim()).ok_or_else(|| {
            format!("The project '{p}' does not exist or you do not have access to it.")
        })?),
        _ => None,
    };
    let url = consumer_inputs
        .get("url")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or("");
    if url.is_empty() {
        return Err("The consumer input 'url' is required.".to_string());
    }
    let lower = url.to_ascii_lowercase();
    let http = ["http://", "https://"]
        .iter()
        .any(|s| lower.starts_with(s) && lower.len() > s.len());
    if !http {
        return Err(format!(
            "The consumer input 'url' ('{url}') must be an absolute http or https URL."
        ));
    }
    let status = match text(&v, "status") {
        None => None,
        Some(s) => {
            Some(SubscriptionStatus::parse(s).ok_or_else(|| format!("Unknown status '{s}'."))?)
        }
    };
    Ok(Request {
        event_type: (*event_type).to_string(),
        resource_version: v.get("resourceVersion").cloned().unwrap_or(Value::Null),
        publisher_inputs,
        consumer_inputs,
        project,
        status,
    })
}

fn object(v: &Value, key: &str) -> Result<Map<String, Value>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(_) => Err(format!("'{key}' must be an object of input values.")),
    }
}

/// A new GUID of kind `salt`, deterministic from the sim's seed and a counter.
pub(crate) fn guid(seed: u64, salt: u64, n: u64) -> String {
    Rng::derive(seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15), salt).guid()
}

fn event_description(org: &Org, r: &Request) -> String {
    let what = match r.event_type.as_str() {
        "git.pullrequest.created" => "Pull request created",
        "git.pullrequest.updated" => "Pull request updated",
        "git.pullrequest.merged" => "Pull request merge attempted",
        "ms.vss-code.git-pullrequest-comment-event" => "Pull request commented on",
        "workitem.created" => "Work item created",
        "workitem.updated" => "Work item updated",
        "workitem.deleted" => "Work item deleted",
        "workitem.restored" => "Work item restored",
        _ => "Any completed build",
    };
    match r.project {
        Some(p) => format!("{what}, project {}", org.projects[p].name),
        None => format!("{what}, any project"),
    }
}

fn action_description(r: &Request) -> String {
    let url = r.consumer_inputs["url"].as_str().unwrap_or("");
    let host = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split(['/', '?', '#'])
        .next()
        .unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or(host);
    let host = host.split(':').next().unwrap_or(host);
    format!("To host {host}")
}

impl Subscription {
    /// A new subscription from a validated body.
    pub(crate) fn new(
        org: &Org,
        r: Request,
        id: String,
        tfs_id: String,
        by: String,
        now: DateTime<Utc>,
    ) -> Subscription {
        let mut s = Subscription {
            id,
            event_type: String::new(),
            resource_version: Value::Null,
            publisher_inputs: Map::new(),
            consumer_inputs: Map::new(),
            project: None,
            status: SubscriptionStatus::Enabled,
            created_by: by.clone(),
            modified_by: by.clone(),
            created: now,
            modified: now,
            event_description: String::new(),
            action_description: String::new(),
        };
        s.replace(org, r, tfs_id, by, now);
        s
    }

    /// Replaces what a PUT may change; keeps the id, creator and creation date.
    pub(crate) fn replace(
        &mut self,
        org: &Org,
        r: Request,
        tfs_id: String,
        by: String,
        now: DateTime<Utc>,
    ) {
        self.event_description = event_description(org, &r);
        self.action_description = action_description(&r);
        let mut publisher_inputs = r.publisher_inputs;
        publisher_inputs.insert("hostId".into(), Value::String(org.instance_id.clone()));
        let tfs_id = match self.publisher_inputs.get("tfsSubscriptionId") {
            Some(Value::String(old)) => old.clone(),
            _ => tfs_id,
        };
        publisher_inputs.insert("tfsSubscriptionId".into(), Value::String(tfs_id));
        self.event_type = r.event_type;
        self.resource_version = r.resource_version;
        self.publisher_inputs = publisher_inputs;
        self.consumer_inputs = r.consumer_inputs;
        self.project = r.project;
        if let Some(st) = r.status {
            self.status = st;
        }
        self.modified_by = by;
        self.modified = now;
    }

    pub(crate) fn url(&self) -> &str {
        self.consumer_inputs
            .get("url")
            .and_then(Value::as_str)
            .map_or("", str::trim)
    }

    pub(crate) fn input(&self, key: &str) -> Option<&str> {
        self.consumer_inputs
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    /// ADO's JSON, confidential inputs masked.
    pub(crate) fn to_json(&self, base: &str) -> Value {
        let mut consumer_inputs = self.consumer_inputs.clone();
        for k in CONFIDENTIAL {
            if let Some(v) = consumer_inputs.get_mut(k) {
                *v = Value::String(MASK.to_string());
            }
        }
        json!({
            "id": self.id,
            "url": format!("{base}/_apis/hooks/subscriptions/{}", self.id),
            "status": self.status.as_str(),
            "publisherId": "tfs",
            "eventType": self.event_type,
            "resourceVersion": self.resource_version,
            "eventDescription": self.event_description,
            "consumerId": "webHooks",
            "consumerActionId": "httpRequest",
            "actionDescription": self.action_description,
            "createdBy": { "id": self.created_by },
            "createdDate": ts(self.created),
            "modifiedBy": { "id": self.modified_by },
            "modifiedDate": ts(self.modified),
            "publisherInputs": self.publisher_inputs,
            "consumerInputs": consumer_inputs,
        })
    }

    /// Whether the list filter (`publisherId`, `eventType`, `consumerId`,
    /// `consumerActionId`, each optional) keeps it.
    pub(crate) fn matches_filter(&self, filter: &[(&str, Option<&str>)]) -> bool {
        filter.iter().all(|(key, want)| {
            let Some(want) = want.map(str::trim).filter(|w| !w.is_empty()) else {
                return true;
            };
            let have = match *key {
                "publisherId" => "tfs",
                "eventType" => self.event_type.as_str(),
                "consumerId" => "webHooks",
                _ => "httpRequest",
            };
            have.eq_ignore_ascii_case(want)
        })
    }
}

pub(crate) fn ts(t: DateTime<Utc>) -> String {
    crate::time::format(crate::time::to_ticks(t))
}

/// A delivery as ADO's `Notification`.
pub(crate) fn notification(d: &Delivery) -> Value {
    let mut details = json!({
        "eventType": d.event_type,
        "publisherId": "tfs",
        "consumerId": "webHooks",
        "consumerActionId": "httpRequest",
        "requestAttempts": d.attempts,
        "queuedDate": ts(d.created),
    });
    if let Some(e) = &d.error {
        details["errorMessage"] = json!(e);
        details["errorDetail"] = json!(format!("{e} ({})", d.url));
    }
    if let Some(c) = d.completed {
        details["completedDate"] = json!(ts(c));
    }
    json!({
        "id": d.notification_id,
        "subscriptionId": d.subscription_id,
        "eventId": d.event_id,
        "result": d.result,
        "status": d.status,
        "createdDate": ts(d.created),
        "modifiedDate": ts(d.modified),
        "details": details,
    })
}
