//! What a delivery says: its event id and type, the organization it comes from, and the one
//! thing it asks to re-fetch ([`Target`]). The payload is a hint, never data: nothing here is
//! written to the database but the event's identity (API_FACTS §6, "treat the webhook as a
//! trigger and re-fetch the PR via REST").

use serde::Deserialize;
use serde_json::Value;

/// Whether the receiver takes `event_type`: exactly the events `webhooks subscribe` creates
/// subscriptions for (`subscriptions::AREAS`, one table for both sides).
pub fn taken(event_type: &str) -> bool {
    super::subscriptions::AREAS
        .iter()
        .any(|a| a.events.iter().any(|e| e.event_type == event_type))
}

/// Why a delivery was refused (400).
#[non_exhaustive]
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Malformed {
    /// The body is not a JSON service-hook event (or misses `id` / `eventType`).
    #[error("not an ADO service-hook event: {0}")]
    Json(String),
    /// An event type this receiver does not take.
    #[error("event type {0:?} is not one this receiver takes")]
    UnknownType(String),
    /// The resource lacks what names the thing to re-fetch.
    #[error("{event_type} event without {missing}")]
    Incomplete {
        event_type: String,
        missing: &'static str,
    },
}

/// What one event asks to re-fetch. Events for the same target coalesce into one re-fetch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// One pull request with its inside (reviewers, iterations, threads, statuses…).
    PullRequest {
        project: String,
        repository: String,
        id: i64,
    },
    /// A project's new work item revisions (and links): the reporting streams from their
    /// stored positions, so the rows keep the stream's representation (see `refetch`).
    WorkItems { project: String },
    /// One build with its timeline (and changes).
    Build { project: String, id: i64 },
}

impl Target {
    /// The key stored in `webhook_events.target`; [`Target::parse`] reads it back.
    pub fn key(&self) -> String {
        match self {
            Target::PullRequest {
                project,
                repository,
                id,
            } => format!("pull_request:{project}:{repository}:{id}"),
            Target::WorkItems { project } => format!("work_items:{project}"),
            Target::Build { project, id } => format!("build:{project}:{id}"),
        }
    }

    /// Reads a stored key back (`None` for a key of another version).
    pub fn parse(key: &str) -> Option<Target> {
        let parts: Vec<&str> = key.split(':').collect();
        match parts.as_slice() {
            ["pull_request", project, repository, id] => Some(Target::PullRequest {
                project: project.to_string(),
                repository: repository.to_string(),
                id: id.parse().ok()?,
            }),
            ["work_items", project] => Some(Target::WorkItems {
                project: project.to_string(),
            }),
            ["build", project, id] => Some(Target::Build {
                project: project.to_string(),
                id: id.parse().ok()?,
            }),
            _ => None,
        }
    }

    /// The connector whose client and tables the re-fetch uses.
    pub fn connector(&self) -> &'static str {
        match self {
            Target::PullRequest { .. } => "repos",
            Target::WorkItems { .. } => "boards",
            Target::Build { .. } => "pipelines",
        }
    }

    /// The kind, for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::PullRequest { .. } => "pull_request",
            Target::WorkItems { .. } => "work_items",
            Target::Build { .. } => "build",
        }
    }

    /// The project (id, or a name when the payload had no id).
    pub fn project(&self) -> &str {
        match self {
            Target::PullRequest { project, .. }
            | Target::WorkItems { project }
            | Target::Build { project, .. } => project,
        }
    }
}

/// A parsed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: String,
    pub event_type: String,
    pub subscription_id: Option<String>,
    /// The `baseUrl`s of `resourceContainers` (collection, account, project), as sent.
    pub base_urls: Vec<String>,
    pub target: Target,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    id: String,
    event_type: String,
    #[serde(default)]
    subscription_id: Option<String>,
    #[serde(default)]
    resource: Value,
    #[serde(default)]
    resource_containers: Option<Containers>,
}

#[derive(Deserialize, Default)]
struct Containers {
    #[serde(default)]
    collection: Option<Container>,
    #[serde(default)]
    account: Option<Container>,
    #[serde(default)]
    project: Option<Container>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Container {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    base_url: Option<String>,
}

/// Parses a delivery body.
pub fn parse(body: &[u8]) -> Result<Event, Malformed> {
    let env: Envelope = serde_json::from_slice(body).map_err(|e| Malformed::Json(e.to_string()))?;
    if env.id.trim().is_empty() {
        return Err(Malformed::Json("empty event id".into()));
    }
    if !taken(&env.event_type) {
        return Err(Malformed::UnknownType(env.event_type));
    }
    let containers = env.resource_containers.unwrap_or_default();
    let container_project = containers
        .project
        .as_ref()
        .and_then(|p| p.id.clone())
        .filter(|s| !s.is_empty());
    let base_urls = [
        &containers.collection,
        &containers.account,
        &containers.project,
    ]
    .into_iter()
    .flatten()
    .filter_map(|c| c.base_url.clone())
    .collect();
    let incomplete = |missing| Malformed::Incomplete {
        event_type: env.event_type.clone(),
        missing,
    };
    let r = &env.resource;
    let target = match env.event_type.as_str() {
        t if t.starts_with("git.pullrequest.") => pull_request(r, container_project, incomplete)?,
        "ms.vss-code.git-pullrequest-comment-event" => {
            pull_request(&r["pullRequest"], container_project, incomplete)?
        }
        t if t.starts_with("workitem.") => {
            // `workitem.updated` carries the update with the item under `revision`; the
            // others carry the item itself. The project is in the containers, or in the
            // item's fields by name.
            let fields = if r.get("revision").is_some() {
                &r["revision"]["fields"]
            } else {
                &r["fields"]
            };
            let project = container_project
                .or_else(|| str_of(&fields["System.TeamProject"]))
                .ok_or_else(|| incomplete("a project"))?;
            Target::WorkItems { project }
        }
        _ => {
            let id = r["id"].as_i64().ok_or_else(|| incomplete("resource.id"))?;
            let project = str_of(&r["project"]["id"])
                .or(container_project)
                .ok_or_else(|| incomplete("a project"))?;
            Target::Build { project, id }
        }
    };
    Ok(Event {
        id: env.id,
        event_type: env.event_type,
        subscription_id: env.subscription_id,
        base_urls,
        target,
    })
}

fn str_of(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

fn pull_request(
    pr: &Value,
    container_project: Option<String>,
    incomplete: impl Fn(&'static str) -> Malformed,
) -> Result<Target, Malformed> {
    let id = pr["pullRequestId"]
        .as_i64()
        .ok_or_else(|| incomplete("resource.pullRequestId"))?;
    let repository = str_of(&pr["repository"]["id"]).ok_or_else(|| incomplete("a repository"))?;
    let project = str_of(&pr["repository"]["project"]["id"])
        .or(container_project)
        .ok_or_else(|| incomplete("a project"))?;
    Ok(Target::PullRequest {
        project,
        repository,
        id,
    })
}

/// Whether an event whose containers name `base_urls` comes from the organization at
/// `org_url`. The org URL may be written as `https://dev.azure.com/{org}` or as the older
/// `https://{org}.visualstudio.com`; both name the same organization. Server collections
/// compare as written (scheme and host case-insensitively, a trailing slash ignored).
pub fn same_org(base_url: &str, org_url: &str) -> bool {
    match (canonical(base_url), canonical(org_url)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

fn canonical(u: &str) -> Option<String> {
    let url = url::Url::parse(u.trim()).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    let path = url.path().trim_end_matches('/').to_string();
    if let Some(org) = host.strip_suffix(".visualstudio.com") {
        // `{org}.visualstudio.com[/DefaultCollection]`: the collection segment is implied.
        return Some(format!("dev.azure.com/{}", org.to_ascii_lowercase()));
    }
    if host == "dev.azure.com" {
        let org = path.trim_start_matches('/').split('/').next()?;
        return Some(format!("dev.azure.com/{}", org.to_ascii_lowercase()));
    }
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    Some(format!("{host}{port}{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/../shared/ado-api/examples/webhooks/docs_events_md__{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn the_recorded_pull_request_events_name_their_pull_request() {
        for name in [
            "git.pullrequest.created",
            "git.pullrequest.updated",
            "git.pullrequest.merged",
        ] {
            let e = parse(&example(name)).unwrap();
            assert_eq!(e.event_type, name);
            assert_eq!(
                e.target,
                Target::PullRequest {
                    project: "6ce954b1-ce1f-45d1-b94d-e6bf2464ba2c".into(),
                    repository: "4bc14d40-c903-45e2-872e-0462c7748079".into(),
                    id: 1,
                },
                "{name}"
            );
            assert!(!e.id.is_empty());
            assert_eq!(Target::parse(&e.target.key()), Some(e.target.clone()));
        }
    }

    #[test]
    fn a_comment_event_names_the_pull_request_under_it() {
        let body = serde_json::json!({
            "id": "e1", "eventType": "ms.vss-code.git-pullrequest-comment-event",
            "resource": {"comment": {"id": 3}, "pullRequest": {"pullRequestId": 7,
                "repository": {"id": "r", "project": {"id": "p"}}}},
            "resourceContainers": {"collection": {"id": "c", "baseUrl": "https://dev.azure.com/fabrikam/"}}
        });
        let e = parse(body.to_string().as_bytes()).unwrap();
        assert_eq!(
            e.target,
            Target::PullRequest {
                project: "p".into(),
                repository: "r".into(),
                id: 7
            }
        );
        assert_eq!(e.base_urls, vec!["https://dev.azure.com/fabrikam/"]);
    }

    #[test]
    fn work_item_and_build_events_name_their_project() {
        let wi = serde_json::json!({"id": "e2", "eventType": "workitem.updated",
            "resource": {"workItemId": 5, "revision": {"id": 5, "fields": {"System.TeamProject": "Fabrikam"}}}});
        assert_eq!(
            parse(wi.to_string().as_bytes()).unwrap().target,
            Target::WorkItems {
                project: "Fabrikam".into()
            }
        );
        let build = serde_json::json!({"id": "e3", "eventType": "build.complete",
            "resource": {"id": 42, "project": {"id": "p1"}},
            "resourceContainers": {"project": {"id": "p2"}}});
        assert_eq!(
            parse(build.to_string().as_bytes()).unwrap().target,
            Target::Build {
                project: "p1".into(),
                id: 42
            }
        );
    }

    #[test]
    fn malformed_and_unknown_events_are_refused() {
        assert!(matches!(parse(b"not json"), Err(Malformed::Json(_))));
        assert!(matches!(parse(b"{}"), Err(Malformed::Json(_))));
        let unknown = br#"{"id":"x","eventType":"git.push","resource":{}}"#;
        assert!(matches!(parse(unknown), Err(Malformed::UnknownType(_))));
        let no_pr = br#"{"id":"x","eventType":"git.pullrequest.updated","resource":{}}"#;
        assert!(matches!(parse(no_pr), Err(Malformed::Incomplete { .. })));
    }

    #[test]
    fn organizations_compare_by_host_and_collection() {
        assert!(same_org(
            "https://dev.azure.com/Fabrikam/",
            "https://dev.azure.com/fabrikam"
        ));
        assert!(same_org(
            "https://fabrikam.visualstudio.com/",
            "https://dev.azure.com/fabrikam"
        ));
        assert!(same_org(
            "https://fabrikam.visualstudio.com/DefaultCollection/",
            "https://dev.azure.com/fabrikam/"
        ));
        assert!(!same_org(
            "https://dev.azure.com/contoso/",
            "https://dev.azure.com/fabrikam"
        ));
        assert!(same_org(
            "http://127.0.0.1:8080/contoso/",
            "http://127.0.0.1:8080/contoso"
        ));
        assert!(!same_org(
            "http://127.0.0.1:8081/contoso/",
            "http://127.0.0.1:8080/contoso"
        ));
        assert!(same_org(
            "https://TFS.example.com/tfs/DefaultCollection/",
            "https://tfs.example.com/tfs/DefaultCollection"
        ));
        assert!(!same_org("not a url", "https://dev.azure.com/fabrikam"));
    }
}
