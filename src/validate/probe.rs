//! One cheap request per endpoint a connector needs (its [`crate::connectors::Need`] labels),
//! in an order that finds the ids later probes need: a project first, then a repository, a
//! pull request, a team, a build. Owns the mapping from a label to a request; judging the
//! answers is `validate`'s.

use serde_json::Value;

use crate::ado::endpoint::PullRequestPath;
use crate::ado::{Client, Endpoint, Error};

/// Ids found by earlier probes.
#[derive(Debug, Default, Clone)]
pub struct Found {
    pub project: Option<String>,
    pub repository: Option<String>,
    pub pull_request: Option<PullRequestPath>,
    pub team: Option<String>,
    pub build: Option<i64>,
    pub environment: Option<i64>,
}

/// The order labels are probed in: the ones that find ids first.
pub const ORDER: &[&str] = &[
    "projects",
    "repositories",
    "pull_requests",
    "teams",
    "builds",
    "environments",
];

/// What a probe of one label came to.
#[derive(Debug)]
pub enum Probed {
    /// The endpoint answered.
    Answered,
    /// Nothing to call it with (no repository, no build…): not probed.
    Skipped(&'static str),
    /// The call failed.
    Failed(Error),
}

fn first_str(v: &Value, field: &str) -> Option<String> {
    v["value"]
        .as_array()?
        .first()?
        .get(field)?
        .as_str()
        .map(str::to_string)
}

fn first_i64(v: &Value, field: &str) -> Option<i64> {
    v["value"].as_array()?.first()?.get(field)?.as_i64()
}

/// A request's query.
type Query = Vec<(&'static str, String)>;

fn top(n: u32) -> Query {
    vec![("$top", n.to_string())]
}

/// The request for `label`, given what was found; `Err` names what is missing.
fn request(label: &str, f: &Found) -> Result<(Endpoint, Query), &'static str> {
    let project = || f.project.clone().ok_or("no project visible");
    Ok(match label {
        "projects" => (Endpoint::Projects, top(100)),
        "fields" => (Endpoint::Fields, vec![]),
        "graph_users" => (Endpoint::GraphUsers, vec![]),
        "repositories" => (
            Endpoint::Repositories {
                project: project()?,
            },
            vec![],
        ),
        "pull_requests" => (
            Endpoint::ProjectPullRequests {
                project: project()?,
            },
            vec![
                ("$top", "1".into()),
                ("searchCriteria.status", "all".into()),
            ],
        ),
        "teams" => (
            Endpoint::Teams {
                project: project()?,
            },
            top(1),
        ),
        "team_members" => (
            Endpoint::TeamMembers {
                project: project()?,
                team: f.team.clone().ok_or("no team")?,
            },
            top(1),
        ),
        "classification_nodes" => (
            Endpoint::ClassificationNodes {
                project: project()?,
            },
            vec![("$depth", "1".into())],
        ),
        "work_item_types" => (
            Endpoint::WorkItemTypes {
                project: project()?,
            },
            vec![],
        ),
        "work_item_type_categories" => (
            Endpoint::WorkItemTypeCategories {
                project: project()?,
            },
            vec![],
        ),
        "reporting_work_item_revisions" => (
            Endpoint::ReportingRevisions {
                project: project()?,
            },
            vec![("$maxPageSize", "1".into())],
        ),
        "reporting_work_item_links" => (
            Endpoint::ReportingLinks {
                project: project()?,
            },
            vec![],
        ),
        "recycle_bin" => (
            Endpoint::RecycleBin {
                project: project()?,
            },
            vec![],
        ),
        "pull_request" => (
            Endpoint::PullRequest(f.pull_request.clone().ok_or("no pull request")?),
            vec![],
        ),
        "pull_request_threads" => (
            Endpoint::PullRequestThreads(f.pull_request.clone().ok_or("no pull request")?),
            vec![],
        ),
        "pull_request_commits" => (
            Endpoint::PullRequestCommits(f.pull_request.clone().ok_or("no pull request")?),
            top(1),
        ),
        "commits" => (
            Endpoint::Commits {
                project: project()?,
                repository: f.repository.clone().ok_or("no repository")?,
            },
            vec![("$top", "1".into())],
        ),
        "build_definitions" => (
            Endpoint::BuildDefinitions {
                project: project()?,
            },
            top(1),
        ),
        "builds" => (
            Endpoint::Builds {
                project: project()?,
            },
            top(1),
        ),
        "build_timeline" => (
            Endpoint::BuildTimeline {
                project: project()?,
                build: f.build.ok_or("no build")?,
            },
            vec![],
        ),
        "build_changes" => (
            Endpoint::BuildChanges {
                project: project()?,
                build: f.build.ok_or("no build")?,
            },
            top(1),
        ),
        "releases" => (
            Endpoint::Releases {
                project: project()?,
            },
            top(1),
        ),
        "release_deployments" => (
            Endpoint::ReleaseDeployments {
                project: project()?,
            },
            top(1),
        ),
        "environments" => (
            Endpoint::Environments {
                project: project()?,
            },
            top(1),
        ),
        "environment_deployment_records" => (
            Endpoint::EnvironmentDeploymentRecords {
                project: project()?,
                environment: f.environment.ok_or("no environment")?,
            },
            top(1),
        ),
        "hooks_subscriptions" => (Endpoint::HooksSubscriptions, vec![]),
        // Work items are read by id (what the streams found); a policy evaluation needs a
        // pull request's artifact id. Their scopes are the ones of the probes above.
        _ => return Err("read by id only; its scope is checked by the other probes"),
    })
}

/// Probes `label`, recording in `found` the ids its answer gives.
pub async fn probe(client: &Client, label: &str, found: &mut Found) -> Probed {
    let (endpoint, query) = match request(label, found) {
        Ok(r) => r,
        Err(why) => return Probed::Skipped(why),
    };
    let body = match client.get::<Value>(&endpoint, &query).await {
        Ok(r) => r.body,
        // Nothing to show is an answer.
        Err(Error::NoContent { .. }) => return Probed::Answered,
        Err(e) => return Probed::Failed(e),
    };
    match label {
        "projects" => found.project = first_str(&body, "id"),
        "repositories" => found.repository = first_str(&body, "id"),
        "pull_requests" => {
            found.pull_request = (|| {
                let pr = body["value"].as_array()?.first()?;
                Some(PullRequestPath {
                    project: found.project.clone()?,
                    repository: pr["repository"]["id"].as_str()?.to_string(),
                    pull_request: pr["pullRequestId"].as_i64()?,
                })
            })();
        }
        "teams" => found.team = first_str(&body, "id"),
        "builds" => found.build = first_i64(&body, "id"),
        "environments" => found.environment = first_i64(&body, "id"),
        _ => {}
    }
    Probed::Answered
}

/// The probe that finds the id a skipped probe missed.
fn finder(why: &str) -> Option<&'static str> {
    match why {
        "no repository" => Some("repositories"),
        "no pull request" => Some("pull_requests"),
        "no team" => Some("teams"),
        "no build" => Some("builds"),
        "no environment" => Some("environments"),
        _ => None,
    }
}

/// [`probe`], first finding the id it needs when a connector does not list the endpoint that
/// gives it (Pull Commits reads pull requests it does not list). The finder asks with the
/// same scope, so its refusal is this endpoint's.
pub async fn probe_needed(client: &Client, label: &str, found: &mut Found) -> Probed {
    let mut tried = Vec::new();
    loop {
        match probe(client, label, found).await {
            Probed::Skipped(why) => match finder(why) {
                Some(f) if !tried.contains(&f) => {
                    tried.push(f);
                    match Box::pin(probe_needed(client, f, found)).await {
                        Probed::Answered => continue,
                        other => return other,
                    }
                }
                _ => return Probed::Skipped(why),
            },
            other => return other,
        }
    }
}

/// How many projects a projects answer listed (0 = the credential sees nothing).
pub fn visible(found: &Found) -> bool {
    found.project.is_some()
}
