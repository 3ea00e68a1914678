//! The HTTP surface: URL matching, and the checks every ADO request goes through.
//!
//! ADO matches routes case-insensitively (`pullRequests` and `pullrequests` both work, and
//! Microsoft's Python client lower-cases the organization for discovery, CLIENT_DISCOVERY.md),
//! and clients percent-encode segments and query keys (`%24top`, API_FACTS §7). axum's router
//! is case-sensitive, so `_apis` URLs are matched here by hand on decoded segments; only the
//! `/_sim/` admin API uses axum routes.
//!
//! Order of the checks for an `_apis` request, chosen so each failure looks like ADO's:
//! injected latency → authentication (203 / 401) → usage budget (429, or a delay) → PAT scope
//! (403) → api-version (400) → injected 5xx → the handler → injected mid-body reset.
//! Discovery (`OPTIONS`, `ResourceAreas`) skips all of them: clients call it unauthenticated.
//! So do routes the simulated server does not have: the Graph API in server mode (Azure
//! DevOps Server has none, API_FACTS §5) and the reporting streams with `refuse_reporting`
//! (an older Server), which answer 404 exactly like any unknown route; and the release API
//! asked on the wrong host (`release`): on Services it is served only under `/vsrm/{org}`,
//! and the organization URL answers its routes with ADO's HTML 404 page.
//!
//! POST is accepted only where ADO reads a body (WIQL, `workitemsbatch`, the reporting
//! revisions filter, service hook subscriptions, which also take PUT and DELETE); everything
//! else is GET.

pub(crate) mod admin;
mod build;
mod children;
mod core;
mod entra;
mod environments;
mod git;
mod graph;
mod hooks;
mod release;
mod teams;
mod wit;

use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Serialize;

use crate::{Sim, auth, faults, lock};

pub(crate) fn router(sim: Sim) -> Router {
    Router::new()
        .route("/_sim/truth", get(admin::truth))
        .route("/_sim/mutate", post(admin::mutate))
        .route("/_sim/mutate_builds", post(build::mutate_builds))
        .route("/_sim/mutate_releases", post(admin::mutate_releases))
        .route("/_sim/change", post(admin::change))
        .route("/_sim/stats", get(admin::stats).delete(admin::reset_stats))
        .route("/_sim/requests", get(admin::requests))
        .route("/_sim/faults", get(admin::faults).post(admin::set_faults))
        .route("/_sim/deliveries", get(admin::deliveries))
        // The Entra ID tenant, at the host root like login.microsoftonline.com and IMDS.
        .route("/{tenant}/oauth2/v2.0/token", post(entra::token))
        .route("/metadata/identity/oauth2/token", get(entra::imds))
        .fallback(dispatch)
        .with_state(sim)
}

/// A response computed while the org lock is held: plain data, turned into HTTP afterwards.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Vec<u8>,
    pub content_type: String,
    pub headers: Vec<(&'static str, String)>,
}

const JSON: &str = "application/json; charset=utf-8";

impl Reply {
    pub(crate) fn json<T: Serialize>(value: &T) -> Reply {
        Reply {
            status: StatusCode::OK,
            body: serde_json::to_vec(value).unwrap_or_default(),
            content_type: JSON.to_string(),
            headers: Vec::new(),
        }
    }

    /// ADO's error envelope (API_FACTS §3): `$id, innerException, message, typeName, typeKey,
    /// errorCode, eventId`.
    pub(crate) fn error(status: StatusCode, message: &str, type_key: &str) -> Reply {
        Reply::error_event(status, message, type_key, 3000)
    }

    /// [`Reply::error`] with ADO's `eventId` (3200 for work item tracking query errors).
    pub(crate) fn error_event(
        status: StatusCode,
        message: &str,
        type_key: &str,
        event_id: i32,
    ) -> Reply {
        let body = Envelope {
            id: "1",
            inner_exception: None,
            message,
            type_name: type_name(type_key),
            type_key,
            error_code: 0,
            event_id,
        };
        Reply {
            status,
            ..Reply::json(&body)
        }
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: String) -> Reply {
        self.headers.push((name, value));
        self
    }
}

/// ADO's error body, fields in ADO's order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    #[serde(rename = "$id")]
    id: &'a str,
    inner_exception: Option<()>,
    message: &'a str,
    type_name: String,
    type_key: &'a str,
    error_code: i32,
    event_id: i32,
}

/// The .NET type behind a `typeKey`, as ADO prints it in `typeName`.
fn type_name(type_key: &str) -> String {
    let ns = match type_key {
        "ProjectDoesNotExistWithNameException" => "Microsoft.TeamFoundation.Core.WebApi",
        "GitRepositoryNotFoundException" | "GitPullRequestNotFoundException" => {
            "Microsoft.TeamFoundation.Git.Server"
        }
        k if k.starts_with("Vss") => "Microsoft.VisualStudio.Services.WebApi",
        "InvalidArgumentValueException" => "Microsoft.TeamFoundation.SourceControl.WebServer",
        "ArgumentException" => return "System.ArgumentException, mscorlib".to_string(),
        k if k.starts_with("WorkItem") || k.starts_with("Field") || k.starts_with("Wiql") => {
            "Microsoft.TeamFoundation.WorkItemTracking.Server"
        }
        "TeamNotFoundException" => "Microsoft.TeamFoundation.Core.WebApi",
        "ReleaseNotFoundException" | "ReleaseEnvironmentNotFoundException" => {
            "Microsoft.VisualStudio.Services.ReleaseManagement.WebApi.Exceptions"
        }
        "EnvironmentNotFoundException" => "Microsoft.TeamFoundation.DistributedTask.WebApi",
        "SubscriptionNotFoundException" => "Microsoft.VisualStudio.Services.ServiceHooks.WebApi",
        _ => "Microsoft.TeamFoundation.Framework.Server",
    };
    format!("{ns}.{type_key}, {ns}")
}

/// Query parameters with percent-decoded, lower-cased keys (ADO binds them case-insensitively).
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    pub(crate) fn parse(raw: &str) -> Query {
        Query(
            raw.split('&')
                .filter(|kv| !kv.is_empty())
                .map(|kv| {
                    let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                    (decode(k, true).to_lowercase(), decode(v, true))
                })
                .collect(),
        )
    }

    /// The first value of `key` (give it in lower case).
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Percent-decoding; `plus` also turns `+` into a space (query strings only).
pub(crate) fn decode(s: &str, plus: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' if plus => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An `_apis` resource the simulator serves (after authentication).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Api {
    ConnectionData,
    Projects,
    Project(String),
    Repositories {
        project: Option<String>,
    },
    Repository {
        project: Option<String>,
        repo: String,
    },
    PullRequestsRepo {
        project: Option<String>,
        repo: String,
    },
    PullRequestsProject {
        project: String,
    },
    PullRequest {
        project: Option<String>,
        repo: Option<String>,
        id: String,
    },
    /// Iterations, changes, threads, work items, statuses or commits of one PR.
    PullRequestChild {
        project: Option<String>,
        repo: String,
        id: String,
        child: children::Child,
    },
    PolicyEvaluations {
        project: String,
    },
    /// A branch's history (`searchCriteria.itemVersion.version`).
    Commits {
        project: Option<String>,
        repo: String,
    },
    Teams {
        project: String,
    },
    Team {
        project: String,
        team: String,
    },
    TeamMembers {
        project: String,
        team: String,
    },
    AllTeams,
    GraphUsers,
    ClassificationRoots {
        project: String,
    },
    ClassificationNode {
        project: String,
        group: String,
        path: Vec<String>,
    },
    WorkItemTypes {
        project: String,
    },
    WorkItemType {
        project: String,
        name: String,
    },
    WorkItemTypeStates {
        project: String,
        name: String,
    },
    WorkItemTypeCategories {
        project: String,
        name: Option<String>,
    },
    Fields {
        project: Option<String>,
    },
    Field {
        project: Option<String>,
        name: String,
    },
    ReportingRevisions {
        project: Option<String>,
    },
    ReportingLinks {
        project: Option<String>,
    },
    Wiql {
        project: Option<String>,
    },
    WorkItemsBatch {
        project: Option<String>,
    },
    WorkItems {
        project: Option<String>,
    },
    WorkItem {
        project: Option<String>,
        id: String,
    },
    RecycleBin {
        project: String,
        id: Option<String>,
    },
    Comments {
        project: String,
        id: String,
    },
    /// Definitions, builds, timelines, build changes (`{project}/_apis/build/…`).
    Build {
        project: String,
        route: build::Route,
    },
    /// Classic release management, on the release host (`release`).
    Release {
        project: String,
        route: release::ReleaseRoute,
    },
    /// YAML environments and their deployment records (`environments`).
    Environments {
        project: String,
        route: environments::EnvRoute,
    },
    /// Service hook subscriptions and their notifications, organization level (`hooks`).
    Hooks(hooks::Route),
}

impl Api {
    /// The endpoint label used in the statistics.
    fn label(&self) -> &'static str {
        match self {
            Api::ConnectionData => "connectionData",
            Api::Projects => "projects",
            Api::Project(_) => "project",
            Api::Repositories { .. } => "repositories",
            Api::Repository { .. } => "repository",
            Api::PullRequestsRepo { .. } => "pullrequests_repo",
            Api::PullRequestsProject { .. } => "pullrequests_project",
            Api::PullRequest { .. } => "pullrequest",
            Api::PullRequestChild { child, .. } => child.label(),
            Api::PolicyEvaluations { .. } => "policy_evaluations",
            Api::Commits { .. } => "commits",
            Api::Teams { .. } => "teams",
            Api::Team { .. } => "team",
            Api::TeamMembers { .. } => "team_members",
            Api::AllTeams => "teams_all",
            Api::GraphUsers => "graph_users",
            Api::ClassificationRoots { .. } | Api::ClassificationNode { .. } => {
                "classification_nodes"
            }
            Api::WorkItemTypes { .. } => "work_item_types",
            Api::WorkItemType { .. } => "work_item_type",
            Api::WorkItemTypeStates { .. } => "work_item_type_states",
            Api::WorkItemTypeCategories { .. } => "work_item_type_categories",
            Api::Fields { .. } => "fields",
            Api::Field { .. } => "field",
            Api::ReportingRevisions { .. } => "reporting_workitemrevisions",
            Api::ReportingLinks { .. } => "reporting_workitemlinks",
            Api::Wiql { .. } => "wiql",
            Api::WorkItemsBatch { .. } => "workitemsbatch",
            Api::WorkItems { .. } => "workitems",
            Api::WorkItem { .. } => "workitem",
            Api::RecycleBin { id: None, .. } => "recyclebin",
            Api::RecycleBin { id: Some(_), .. } => "recyclebin_item",
            Api::Comments { .. } => "comments",
            Api::Build { route, .. } => route.label(),
            Api::Release { route, .. } => route.label(),
            Api::Environments { route, .. } => route.label(),
            Api::Hooks(route) => route.label(),
        }
    }

    /// PAT scopes that grant access (any one of them): `vso.project` for core (teams),
    /// `vso.graph` for users, `vso.work` for work item tracking (API_FACTS §3), `vso.code`
    /// for git, PR children and policy evaluations (§9.4 says `vso.code` for those).
    fn scopes(&self) -> &'static [&'static str] {
        match self {
            Api::ConnectionData | Api::Projects | Api::Project(_) => &["vso.project", "vso.code"],
            Api::Teams { .. } | Api::Team { .. } | Api::TeamMembers { .. } | Api::AllTeams => {
                &["vso.project"]
            }
            Api::GraphUsers => &["vso.graph"],
            Api::Build { .. } => &["vso.build"],
            Api::Repositories { .. }
            | Api::Repository { .. }
            | Api::PullRequestsRepo { .. }
            | Api::PullRequestsProject { .. }
            | Api::PullRequest { .. }
            | Api::PullRequestChild { .. }
            | Api::PolicyEvaluations { .. }
            | Api::Commits { .. } => &["vso.code"],
            // API_FACTS §3; environments list only `vso.environment_manage` in 7.1 (§8.1).
            Api::Release { .. } => &["vso.release"],
            Api::Environments { .. } => &["vso.environment_manage"],
            // The spec's list; the handler then wants the one of the event's area (§13).
            Api::Hooks(_) => &["vso.code", "vso.work", "vso.build"],
            _ => &["vso.work"],
        }
    }

    /// APIs that exist only as previews in 7.1 (API_FACTS §0): a version without `-preview`
    /// is refused as ADO refuses it.
    fn preview_only(&self) -> bool {
        // Policy evaluations are `7.1-preview.1` only (API_FACTS §9.4).
        matches!(
            self,
            Api::AllTeams | Api::GraphUsers | Api::Comments { .. } | Api::PolicyEvaluations { .. }
        )
    }

    fn allows(&self, m: &Method) -> bool {
        match self {
            Api::Wiql { .. } | Api::WorkItemsBatch { .. } => m == Method::POST,
            Api::ReportingRevisions { .. } => {
                m == Method::GET || m == Method::HEAD || m == Method::POST
            }
            Api::Hooks(route) => route.allows(m),
            _ => m == Method::GET || m == Method::HEAD,
        }
    }

    fn is_reporting(&self) -> bool {
        matches!(
            self,
            Api::ReportingRevisions { .. } | Api::ReportingLinks { .. }
        )
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Route {
    Discovery(Option<String>),
    ResourceAreas,
    Api(Api),
    NotFound,
    MethodNotAllowed,
    /// A release route on the organization host of Services (`release::host_rule`).
    WrongHost,
}

impl Route {
    fn label(&self) -> &'static str {
        match self {
            Route::Discovery(_) => "options",
            Route::ResourceAreas => "resourceAreas",
            Route::Api(a) => a.label(),
            Route::NotFound | Route::MethodNotAllowed => "unknown",
            Route::WrongHost => "release_wrong_host",
        }
    }
}

fn match_route(method: &Method, path: &str, org: &str) -> Route {
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| decode(s, false))
        .collect();
    let Some(k) = segs.iter().position(|s| s.eq_ignore_ascii_case("_apis")) else {
        return Route::NotFound;
    };
    let (prefix, rest) = (&segs[..k], &segs[k + 1..]);
    let org_ok = prefix.first().is_some_and(|o| o.eq_ignore_ascii_case(org));
    if method == Method::OPTIONS {
        // Discovery at the organization and, as the Python client's fallback, at the host root.
        return match prefix.len() {
            0 => Route::Discovery(rest.first().cloned()),
            1 if org_ok => Route::Discovery(rest.first().cloned()),
            _ => Route::NotFound,
        };
    }
    let lc: Vec<String> = rest.iter().map(|s| s.to_ascii_lowercase()).collect();
    let lc: Vec<&str> = lc.iter().map(String::as_str).collect();
    // WIQL alone may carry a team segment: `{org}/{project}/{team}/_apis/wit/wiql`.
    let team_wiql = prefix.len() == 3 && lc.as_slice() == ["wit", "wiql"];
    if !org_ok || (prefix.len() > 2 && !team_wiql) {
        return Route::NotFound;
    }
    let project = prefix.get(1).cloned();
    let arg = |i: usize| rest[i].clone();
    let p = || project.clone().unwrap_or_default();
    let route = match (project.is_some(), lc.as_slice()) {
        (false, ["resourceareas", ..]) => Route::ResourceAreas,
        (false, ["connectiondata"]) => Route::Api(Api::ConnectionData),
        (false, ["projects"]) => Route::Api(Api::Projects),
        (false, ["projects", _]) => Route::Api(Api::Project(arg(1))),
        (_, ["git", "repositories"]) => Route::Api(Api::Repositories { project }),
        (_, ["git", "repositories", _]) => Route::Api(Api::Repository {
            project,
            repo: arg(2),
        }),
        (_, ["git", "repositories", _, "pullrequests"]) => Route::Api(Api::PullRequestsRepo {
            project,
            repo: arg(2),
        }),
        (_, ["git", "repositories", _, "pullrequests", _]) => Route::Api(Api::PullRequest {
            project,
            repo: Some(arg(2)),
            id: arg(4),
        }),
        (_, ["git", "repositories", _, "commits"]) => Route::Api(Api::Commits {
            project,
            repo: arg(2),
        }),
        (_, ["git", "repositories", _, "pullrequests", _, leaf @ ..]) => {
            let child = match leaf {
                ["iterations"] => Some(children::Child::Iterations),
                ["iterations", _, "changes"] => Some(children::Child::IterationChanges(arg(6))),
                ["iterations", _, "statuses"] => Some(children::Child::IterationStatuses(arg(6))),
                ["threads"] => Some(children::Child::Threads),
                ["workitems"] => Some(children::Child::WorkItems),
                ["statuses"] => Some(children::Child::Statuses),
                ["commits"] => Some(children::Child::Commits),
                _ => None,
            };
            match child {
                Some(child) => Route::Api(Api::PullRequestChild {
                    project,
                    repo: arg(2),
                    id: arg(4),
                    child,
                }),
                None => Route::NotFound,
            }
        }
        (true, ["policy", "evaluations"]) => Route::Api(Api::PolicyEvaluations { project: p() }),
        (true, ["git", "pullrequests"]) => Route::Api(Api::PullRequestsProject {
            project: project.unwrap_or_default(),
        }),
        (_, ["git", "pullrequests", _]) => Route::Api(Api::PullRequest {
            project,
            repo: None,
            id: arg(2),
        }),
        (false, ["projects", _, "teams"]) => Route::Api(Api::Teams { project: arg(1) }),
        (false, ["projects", _, "teams", _]) => Route::Api(Api::Team {
            project: arg(1),
            team: arg(3),
        }),
        (false, ["projects", _, "teams", _, "members"]) => Route::Api(Api::TeamMembers {
            project: arg(1),
            team: arg(3),
        }),
        (false, ["teams"]) => Route::Api(Api::AllTeams),
        (false, ["graph", "users"]) => Route::Api(Api::GraphUsers),
        (false, ["hooks", tail @ ..]) => match hooks::Route::parse(tail, &rest[1..]) {
            Some(route) => Route::Api(Api::Hooks(route)),
            None => Route::NotFound,
        },
        (true, ["wit", "classificationnodes"]) => {
            Route::Api(Api::ClassificationRoots { project: p() })
        }
        (true, ["wit", "classificationnodes", _, ..]) => Route::Api(Api::ClassificationNode {
            project: p(),
            group: arg(2),
            path: rest[3..].to_vec(),
        }),
        (true, ["wit", "workitemtypes"]) => Route::Api(Api::WorkItemTypes { project: p() }),
        (true, ["wit", "workitemtypes", _]) => Route::Api(Api::WorkItemType {
            project: p(),
            name: arg(2),
        }),
        (true, ["wit", "workitemtypes", _, "states"]) => Route::Api(Api::WorkItemTypeStates {
            project: p(),
            name: arg(2),
        }),
        (true, ["wit", "workitemtypecategories"]) => Route::Api(Api::WorkItemTypeCategories {
            project: p(),
            name: None,
        }),
        (true, ["wit", "workitemtypecategories", _]) => Route::Api(Api::WorkItemTypeCategories {
            project: p(),
            name: Some(arg(2)),
        }),
        (_, ["wit", "fields"]) => Route::Api(Api::Fields { project }),
        (_, ["wit", "fields", _]) => Route::Api(Api::Field {
            project,
            name: arg(2),
        }),
        (_, ["wit", "reporting", "workitemrevisions"]) => {
            Route::Api(Api::ReportingRevisions { project })
        }
        (_, ["wit", "reporting", "workitemlinks"]) => Route::Api(Api::ReportingLinks { project }),
        (_, ["wit", "wiql"]) => Route::Api(Api::Wiql { project }),
        (_, ["wit", "workitemsbatch"]) => Route::Api(Api::WorkItemsBatch { project }),
        (_, ["wit", "workitems"]) => Route::Api(Api::WorkItems { project }),
        (_, ["wit", "workitems", _]) => Route::Api(Api::WorkItem {
            project,
            id: arg(2),
        }),
        (true, ["wit", "workitems", _, "comments"]) => Route::Api(Api::Comments {
            project: p(),
            id: arg(2),
        }),
        (true, ["wit", "recyclebin"]) => Route::Api(Api::RecycleBin {
            project: p(),
            id: None,
        }),
        (true, ["wit", "recyclebin", _]) => Route::Api(Api::RecycleBin {
            project: p(),
            id: Some(arg(2)),
        }),
        (true, ["build", tail @ ..]) => match build::Route::parse(tail, &rest[1..]) {
            Some(route) => Route::Api(Api::Build {
                project: p(),
                route,
            }),
            None => Route::NotFound,
        },
        (true, ["release", tail @ ..]) => match release::route(tail, &rest[1..]) {
            Some(route) => Route::Api(Api::Release {
                project: p(),
                route,
            }),
            None => Route::NotFound,
        },
        (true, ["distributedtask", "environments", tail @ ..]) => {
            match environments::route(tail, &rest[2..]) {
                Some(route) => Route::Api(Api::Environments {
                    project: p(),
                    route,
                }),
                None => Route::NotFound,
            }
        }
        _ => Route::NotFound,
    };
    match &route {
        Route::Api(api) if !api.allows(method) => Route::MethodNotAllowed,
        _ => route,
    }
}

/// The path after the virtual directory (`/tfs` of `/tfs/DefaultCollection/...`, matched
/// case-insensitively like IIS does); `None` when the path is not under it.
fn below_virtual_directory<'p>(path: &'p str, directory: &[String]) -> Option<&'p str> {
    let mut rest = path;
    for d in directory {
        let tail = rest.strip_prefix('/')?;
        let (seg, after) = tail.split_at(tail.find('/').unwrap_or(tail.len()));
        if !decode(seg, false).eq_ignore_ascii_case(d) {
            return None;
        }
        rest = after;
    }
    Some(rest)
}

/// Where a request's api-version came from, validated (API_FACTS §0, CLIENT_DISCOVERY.md:
/// the Python client sends it only in `Accept`).
fn api_version(
    query: &Query,
    headers: &HeaderMap,
    method: &Method,
    max: (u32, u32),
) -> Result<String, Reply> {
    let from_accept = || {
        headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| {
                let lower = v.to_ascii_lowercase();
                let at = lower.find("api-version=")? + "api-version=".len();
                let tail = &v[at..];
                let end = tail
                    .find(|c: char| c == ';' || c == ',' || c.is_whitespace())
                    .unwrap_or(tail.len());
                Some(tail[..end].to_string())
            })
    };
    let Some(v) = query
        .get("api-version")
        .map(str::to_string)
        .or_else(from_accept)
        .filter(|v| !v.trim().is_empty())
    else {
        return Err(Reply::error(
            StatusCode::BAD_REQUEST,
            &format!(
                "No api-version was supplied for the \"{method}\" request. The version must be \
                 supplied either as part of the Accept header (e.g. \"application/json; \
                 api-version=1.0\") or as a query parameter (e.g. '?api-version=1.0')."
            ),
            "VssVersionNotSpecifiedException",
        ));
    };
    let v = v.trim().to_string();
    let (number, preview) = match v.split_once('-') {
        Some((n, p)) => (n, Some(p)),
        None => (v.as_str(), None),
    };
    let preview_ok = preview.is_none_or(|p| {
        let p = p.to_ascii_lowercase();
        p == "preview"
            || p.strip_prefix("preview.")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    });
    let parsed = number
        .split_once('.')
        .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)));
    let Some((major, minor)) = parsed.filter(|_| preview_ok) else {
        return Err(Reply::error(
            StatusCode::BAD_REQUEST,
            &format!(
                "The api-version '{v}' is not valid. Specify a version such as '7.1' or \
                 '7.1-preview.1'."
            ),
            "VssInvalidApiVersionException",
        ));
    };
    if (major, minor) > max {
        // Word for word what Server answers (API_FACTS §5), which clients parse.
        let (a, b) = max;
        return Err(Reply::error(
            StatusCode::BAD_REQUEST,
            &format!(
                "The requested REST API version of {number} is out of range for this server. \
                 The latest REST API version this server supports is {a}.{b}."
            ),
            "VssVersionOutOfRangeException",
        ));
    }
    Ok(v)
}

/// ADO's answer to a GA version of an API that is still in preview.
fn preview_required(version: &str) -> Option<Reply> {
    if version.to_ascii_lowercase().contains("-preview") {
        return None;
    }
    Some(Reply::error(
        StatusCode::BAD_REQUEST,
        &format!(
            "The requested version \"{version}\" of the resource is under preview. The -preview \
             flag must be supplied in the api-version for such requests. For example: \
             \"{version}-preview\""
        ),
        "VssInvalidPreviewVersionException",
    ))
}

fn unix_now() -> f64 {
    crate::time::seconds_f64(crate::time::now_ticks())
}

/// Counts the request and turns a [`Reply`] into the HTTP response.
fn finish(
    sim: &Sim,
    label: &str,
    token: Option<&str>,
    reply: Reply,
    extra: &[(&'static str, String)],
    reset: bool,
) -> Response {
    lock(&sim.inner.stats).record(label, token, reply.status.as_u16());
    tracing::debug!(
        endpoint = label,
        status = reply.status.as_u16(),
        reset,
        "request"
    );
    // The service's clock, not the host's (hyper adds the host's only when none is set), so
    // a clock offset is visible to clients the way a skewed host sees ADO (RFC 9110 §6.6.1).
    let date = sim.now().format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let mut resp = Response::builder()
        .status(reply.status)
        .header(header::DATE, date);
    // A 204 has no body and no content type.
    if !reply.content_type.is_empty() {
        resp = resp.header(header::CONTENT_TYPE, reply.content_type);
    }
    for (k, v) in reply.headers.iter().chain(extra) {
        resp = resp.header(*k, v);
    }
    let body = if reset {
        faults::broken_body(reply.body)
    } else {
        Body::from(reply.body)
    };
    resp.body(body).unwrap_or_else(|_| {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}

/// Largest request body read (WIQL is limited to 32,000 characters, API_FACTS §1.4; a batch
/// of 200 ids with fields is far smaller).
const MAX_BODY: usize = 1 << 20;

/// Serves one ADO request and appends it to the request log.
async fn dispatch(State(sim): State<Sim>, req: Request) -> Response {
    let target = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_string(), |p| p.as_str().to_string());
    let method = req.method().to_string();
    let response = serve(sim.clone(), req).await;
    sim.log_request(method, target, response.status().as_u16());
    response
}

async fn serve(sim: Sim, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let (on_release_host, path) = release::split_host(parts.uri.path());
    let route = match below_virtual_directory(path, &sim.inner.virtual_directory) {
        Some(path) => match_route(&parts.method, path, &sim.inner.org_name),
        // A Server collection is reachable only under its virtual directory.
        None => Route::NotFound,
    };
    let mut route = release::host_rule(route, on_release_host, sim.inner.server_mode);
    let refused = match &route {
        Route::Api(Api::GraphUsers) => sim.inner.server_mode,
        Route::Api(a) if a.is_reporting() => sim.refuses_reporting(),
        _ => false,
    };
    if refused {
        route = Route::NotFound;
    }
    let label = route.label();
    let query = Query::parse(parts.uri.query().unwrap_or(""));
    let api = match route {
        Route::Discovery(area) => {
            return finish(
                &sim,
                label,
                None,
                core::discovery(area.as_deref()),
                &[],
                false,
            );
        }
        Route::ResourceAreas => {
            return finish(&sim, label, None, core::resource_areas(), &[], false);
        }
        Route::WrongHost => {
            return finish(&sim, label, None, release::wrong_host(), &[], false);
        }
        Route::NotFound => {
            let r = Reply::error(
                StatusCode::NOT_FOUND,
                &format!("The resource '{}' could not be found.", parts.uri.path()),
                "ResourceNotFoundException",
            );
            return finish(&sim, label, None, r, &[], false);
        }
        Route::MethodNotAllowed => {
            let r = Reply::error(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!(
                    "The requested resource does not support http method '{}'.",
                    parts.method
                ),
                "MethodNotAllowedException",
            );
            return finish(&sim, label, None, r, &[], false);
        }
        Route::Api(api) => api,
    };

    let request_no = sim
        .inner
        .request_counter
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let draw = faults::draw(&lock(&sim.inner.faults), sim.inner.seed, request_no);
    if !draw.latency.is_zero() {
        tokio::time::sleep(draw.latency).await;
    }

    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let caller = crate::entra::authenticate(&sim.inner, authorization);
    let (token, scopes) = match caller {
        auth::Caller::Known { token, scopes } => (token, scopes),
        auth::Caller::Rejected { presented } => {
            let suppress = parts
                .headers
                .get("x-tfs-fedauthredirect")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("suppress"));
            let reply = if suppress {
                Reply::error(
                    StatusCode::UNAUTHORIZED,
                    auth::UNAUTHORIZED_MESSAGE,
                    "UnauthorizedRequestException",
                )
            } else {
                Reply {
                    status: StatusCode::NON_AUTHORITATIVE_INFORMATION,
                    body: auth::SIGN_IN_PAGE.as_bytes().to_vec(),
                    content_type: "text/html; charset=utf-8".to_string(),
                    headers: Vec::new(),
                }
            };
            return finish(&sim, label, presented.as_deref(), reply, &[], false);
        }
    };
    let who = Some(token.as_str());

    let admission = lock(&sim.inner.budget).admit(&token, Instant::now(), unix_now());
    let mut rate_headers = Vec::new();
    if let Some(a) = admission {
        rate_headers = a.headers;
        if a.blocked {
            lock(&sim.inner.stats).throttled();
            let reply = Reply::error(
                StatusCode::TOO_MANY_REQUESTS,
                "TF400733: The request has been canceled: Request was blocked due to exceeding \
                 usage of resource 'Core' in namespace 'User'.",
                "RequestBlockedException",
            );
            return finish(&sim, label, who, reply, &rate_headers, false);
        }
        if !a.delay.is_zero() {
            lock(&sim.inner.stats).delayed();
            tokio::time::sleep(a.delay).await;
        }
    }

    if !auth::has_scope(&scopes, api.scopes()) {
        let reply = Reply::error(
            StatusCode::FORBIDDEN,
            &auth::missing_scope_message(api.scopes()),
            "UnauthorizedRequestException",
        );
        return finish(&sim, label, who, reply, &rate_headers, false);
    }

    let version = match api_version(
        &query,
        &parts.headers,
        &parts.method,
        sim.inner.max_api_version,
    ) {
        Ok(v) => v,
        Err(reply) => return finish(&sim, label, who, reply, &rate_headers, false),
    };

    if api.preview_only()
        && let Some(reply) = preview_required(&version)
    {
        return finish(&sim, label, who, reply, &rate_headers, false);
    }

    if let Some(code) = draw.error {
        let (message, key) = faults::error_message(code);
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let reply = Reply::error(status, message, key);
        return finish(&sim, label, who, reply, &rate_headers, false);
    }
    if draw.html {
        let reply = Reply {
            status: StatusCode::OK,
            body: faults::MAINTENANCE_PAGE.as_bytes().to_vec(),
            content_type: "text/html; charset=utf-8".to_string(),
            headers: Vec::new(),
        };
        return finish(&sim, label, who, reply, &rate_headers, false);
    }

    let body = if parts.method == Method::POST || parts.method == Method::PUT {
        match axum::body::to_bytes(body, MAX_BODY).await {
            Ok(b) => Some(b),
            Err(_) => {
                let reply = Reply::error(
                    StatusCode::BAD_REQUEST,
                    "The request body could not be read.",
                    "VssRequestContentException",
                );
                return finish(&sim, label, who, reply, &rate_headers, false);
            }
        }
    } else {
        None
    };
    let body = body.as_deref();
    let raw_query = parts.uri.query().unwrap_or("");

    let mut reply = match &api {
        Api::ConnectionData => core::connection_data(&sim, &token),
        // A user in no project sees an empty organization (validate's no_resources).
        Api::Projects if sim.inner.outsiders.contains(&token) => {
            Reply::json(&serde_json::json!({"count": 0, "value": []}))
        }
        Api::Projects => core::projects(&sim, &query),
        Api::Project(key) => core::project(&sim, key),
        Api::Repositories { project } => git::repositories(&sim, project.as_deref()),
        Api::Repository { project, repo } => git::repository(&sim, project.as_deref(), repo),
        Api::PullRequestsRepo { project, repo } => {
            git::pull_requests(&sim, project.as_deref(), Some(repo), &query)
        }
        Api::PullRequestsProject { project } => {
            git::pull_requests(&sim, Some(project), None, &query)
        }
        Api::PullRequest { project, repo, id } => {
            git::pull_request(&sim, project.as_deref(), repo.as_deref(), id)
        }
        Api::PullRequestChild {
            project,
            repo,
            id,
            child,
        } => children::child(&sim, project.as_deref(), repo, id, child, &query),
        Api::Commits { project, repo } => git::commits(&sim, project.as_deref(), repo, &query),
        Api::PolicyEvaluations { project } => children::policy_evaluations(&sim, project, &query),
        Api::Teams { project } => teams::teams(&sim, Some(project), &query),
        Api::AllTeams => teams::teams(&sim, None, &query),
        Api::Team { project, team } => teams::team(&sim, project, team),
        Api::TeamMembers { project, team } => teams::members(&sim, project, team, &query),
        Api::GraphUsers => graph::users(&sim, &query),
        Api::ClassificationRoots { project } => wit::classification_roots(&sim, project, &query),
        Api::ClassificationNode {
            project,
            group,
            path,
        } => wit::classification_node(&sim, project, group, path, &query),
        Api::WorkItemTypes { project } => wit::work_item_types(&sim, project, None, false),
        Api::WorkItemType { project, name } => {
            wit::work_item_types(&sim, project, Some(name), false)
        }
        Api::WorkItemTypeStates { project, name } => {
            wit::work_item_types(&sim, project, Some(name), true)
        }
        Api::WorkItemTypeCategories { project, name } => {
            wit::categories(&sim, project, name.as_deref())
        }
        Api::Fields { project } => wit::fields(&sim, project.as_deref(), None),
        Api::Field { project, name } => wit::fields(&sim, project.as_deref(), Some(name)),
        Api::ReportingRevisions { project } => {
            wit::reporting_revisions(&sim, project.as_deref(), &query, raw_query, body, &version)
        }
        Api::ReportingLinks { project } => {
            wit::reporting_links(&sim, project.as_deref(), &query, raw_query, &version)
        }
        Api::Wiql { project } => wit::wiql(&sim, project.as_deref(), &query, body),
        Api::WorkItemsBatch { project } => wit::work_items_batch(&sim, project.as_deref(), body),
        Api::WorkItems { project } => wit::work_items(&sim, project.as_deref(), &query),
        Api::WorkItem { project, id } => wit::work_item(&sim, project.as_deref(), id, &query),
        Api::RecycleBin { project, id } => wit::recycle_bin(&sim, project, id.as_deref()),
        Api::Comments { project, id } => wit::comments(&sim, project, id, &query),
        Api::Build { project, route } => build::serve(&sim, project, route, &query),
        Api::Release { project, route } => release::serve(&sim, project, route, &query),
        Api::Environments { project, route } => environments::serve(&sim, project, route, &query),
        Api::Hooks(route) => {
            let call = hooks::Call {
                method: &parts.method,
                query: &query,
                body,
                token: &token,
                scopes: &scopes,
            };
            hooks::serve(&sim, route, &call)
        }
    };
    if reply.status == StatusCode::OK && reply.content_type == JSON {
        reply.content_type = format!("{JSON}; api-version={version}");
    }
    let reset = draw.reset && reply.status == StatusCode::OK;
    finish(&sim, label, who, reply, &rate_headers, reset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(method: Method, path: &str) -> Route {
        match_route(&method, path, "contoso")
    }

    #[test]
    fn routes_match_case_insensitively() {
        assert_eq!(
            r(Method::GET, "/Contoso/_apis/projects"),
            Route::Api(Api::Projects)
        );
        assert_eq!(
            r(
                Method::GET,
                "/contoso/P1/_apis/git/repositories/R1/pullRequests"
            ),
            Route::Api(Api::PullRequestsRepo {
                project: Some("P1".into()),
                repo: "R1".into()
            })
        );
        assert_eq!(
            r(Method::GET, "/contoso/P1/_APIS/Git/PullRequests"),
            Route::Api(Api::PullRequestsProject {
                project: "P1".into()
            })
        );
        assert_eq!(
            r(Method::GET, "/contoso/_apis/git/pullrequests/12"),
            Route::Api(Api::PullRequest {
                project: None,
                repo: None,
                id: "12".into()
            })
        );
        assert_eq!(r(Method::GET, "/other/_apis/projects"), Route::NotFound);
        assert_eq!(
            r(Method::GET, "/contoso/_apis/ResourceAreas"),
            Route::ResourceAreas
        );
        assert_eq!(r(Method::OPTIONS, "/_apis"), Route::Discovery(None));
        assert_eq!(
            r(Method::OPTIONS, "/CONTOSO/_apis/git"),
            Route::Discovery(Some("git".into()))
        );
        assert_eq!(
            r(Method::POST, "/contoso/_apis/projects"),
            Route::MethodNotAllowed
        );
        assert_eq!(
            r(Method::GET, "/contoso/My%20Project/_apis/git/repositories"),
            Route::Api(Api::Repositories {
                project: Some("My Project".into())
            })
        );
    }

    #[test]
    fn boards_routes() {
        assert_eq!(
            r(Method::POST, "/contoso/P1/Team%20A/_apis/wit/wiql"),
            Route::Api(Api::Wiql {
                project: Some("P1".into())
            })
        );
        assert_eq!(
            r(Method::GET, "/contoso/P1/_apis/wit/wiql"),
            Route::MethodNotAllowed
        );
        assert_eq!(
            r(
                Method::POST,
                "/contoso/P1/_apis/wit/reporting/workItemRevisions"
            ),
            Route::Api(Api::ReportingRevisions {
                project: Some("P1".into())
            })
        );
        assert_eq!(
            r(
                Method::GET,
                "/contoso/P1/_apis/wit/classificationNodes/Iterations/Release%201/Sprint%202"
            ),
            Route::Api(Api::ClassificationNode {
                project: "P1".into(),
                group: "Iterations".into(),
                path: vec!["Release 1".into(), "Sprint 2".into()],
            })
        );
        assert_eq!(
            r(Method::GET, "/contoso/_apis/projects/P1/teams/T/members"),
            Route::Api(Api::TeamMembers {
                project: "P1".into(),
                team: "T".into()
            })
        );
        assert_eq!(
            r(Method::GET, "/contoso/_apis/wit/classificationnodes"),
            Route::NotFound
        );
        assert_eq!(
            r(Method::GET, "/contoso/P1/T/_apis/git/repositories"),
            Route::NotFound
        );
    }

    #[test]
    fn query_keys_are_decoded() {
        let q = Query::parse("%24top=5&searchCriteria.Status=all&x=a+b%2Fc");
        assert_eq!(q.get("$top"), Some("5"));
        assert_eq!(q.get("searchcriteria.status"), Some("all"));
        assert_eq!(q.get("x"), Some("a b/c"));
        assert_eq!(decode("100%", false), "100%");
        assert_eq!(decode("%zz", false), "%zz");
    }

    #[test]
    fn api_versions() {
        const MAX: (u32, u32) = crate::SERVICES_MAX_API_VERSION;
        let h = HeaderMap::new();
        let q = |s: &str| Query::parse(s);
        assert!(api_version(&q("api-version=7.1"), &h, &Method::GET, MAX).is_ok());
        assert!(api_version(&q("api-version=7.1-preview.1"), &h, &Method::GET, MAX).is_ok());
        assert!(api_version(&q("api-version=7.2-preview.3"), &h, &Method::GET, MAX).is_ok());
        assert!(api_version(&q("api-version=5.0"), &h, &Method::GET, MAX).is_ok());
        let out = api_version(&q("api-version=8.0"), &h, &Method::GET, MAX)
            .err()
            .unwrap();
        assert_eq!(out.status, StatusCode::BAD_REQUEST);
        assert!(String::from_utf8_lossy(&out.body).contains("version of 8.0 is out of range"));
        let out = api_version(&q(""), &h, &Method::GET, MAX).err().unwrap();
        assert!(String::from_utf8_lossy(&out.body).contains("VssVersionNotSpecifiedException"));
        assert!(api_version(&q("api-version=banana"), &h, &Method::GET, MAX).is_err());
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT,
            "application/json;api-version=7.1-preview.4;excludeUrls=true"
                .parse()
                .unwrap(),
        );
        assert_eq!(
            api_version(&q(""), &h, &Method::GET, MAX).ok().as_deref(),
            Some("7.1-preview.4")
        );
        // Azure DevOps Server 2022 answers 7.0 at most, with the message clients parse.
        let out = api_version(&q("api-version=7.1"), &h, &Method::GET, (7, 0))
            .err()
            .unwrap();
        let body = String::from_utf8_lossy(&out.body).to_string();
        assert!(
            body.contains(
                "The requested REST API version of 7.1 is out of range for this server. The \
                 latest REST API version this server supports is 7.0."
            ),
            "{body}"
        );
        assert!(api_version(&q("api-version=7.0-preview.1"), &h, &Method::GET, (7, 0)).is_ok());
        assert!(api_version(&q("api-version=6.1"), &h, &Method::GET, (6, 0)).is_err());
    }

    #[test]
    fn virtual_directory_is_a_case_insensitive_path_prefix() {
        let tfs = vec!["tfs".to_string()];
        assert_eq!(
            below_virtual_directory("/TFS/DefaultCollection/_apis/projects", &tfs),
            Some("/DefaultCollection/_apis/projects")
        );
        assert_eq!(
            below_virtual_directory("/DefaultCollection/_apis/projects", &tfs),
            None
        );
        assert_eq!(below_virtual_directory("/tfsx/c/_apis", &tfs), None);
        assert_eq!(below_virtual_directory("/c/_apis", &[]), Some("/c/_apis"));
    }
}
