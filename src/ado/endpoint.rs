//! Every ADO endpoint this crate calls: its URL path below the organization URL and its
//! metric label. URLs are built here and nowhere else.

use std::borrow::Cow;

/// An ADO REST endpoint with its path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET {org}/_apis/projects`
    Projects,
    /// `GET {org}/_apis/git/repositories`: the repositories of every project.
    AllRepositories,
    /// `GET {org}/{project}/_apis/git/repositories`: the repositories of one project.
    Repositories { project: String },
    /// `GET {org}/{project}/_apis/git/pullrequests`: every repository of a project at once.
    ProjectPullRequests { project: String },
    /// `GET {org}/_apis/projects/{project}/teams`
    Teams { project: String },
    /// `GET {org}/_apis/projects/{project}/teams/{team}/members`
    TeamMembers { project: String, team: String },
    /// `GET {graph}/_apis/graph/users` (the `vssps` host on Services; absent on Server).
    GraphUsers,
    /// `GET {org}/{project}/_apis/wit/classificationnodes`: the Areas and Iterations trees.
    ClassificationNodes { project: String },
    /// `GET {org}/{project}/_apis/wit/workitemtypes` (with their states).
    WorkItemTypes { project: String },
    /// `GET {org}/{project}/_apis/wit/workitemtypecategories`
    WorkItemTypeCategories { project: String },
    /// `GET {org}/_apis/wit/fields`
    Fields,
    /// `GET {org}/{project}/_apis/wit/reporting/workitemrevisions`
    ReportingRevisions { project: String },
    /// `GET {org}/{project}/_apis/wit/recyclebin`
    RecycleBin { project: String },
    /// `GET {org}/{project}/_apis/wit/workitems?ids=…`
    WorkItems { project: String },
    /// `GET {org}/{project}/_apis/wit/reporting/workitemlinks`
    ReportingLinks { project: String },
    /// `GET {org}/{project}/_apis/git/repositories/{repo}/pullRequests/{id}`: one pull
    /// request (a webhook's re-fetch).
    PullRequest(PullRequestPath),
    /// `GET {org}/{project}/_apis/git/repositories/{repo}/pullRequests/{id}/iterations`
    PullRequestIterations(PullRequestPath),
    /// `GET …/pullRequests/{id}/iterations/{iteration}/changes`
    PullRequestIterationChanges { pr: PullRequestPath, iteration: i64 },
    /// `GET …/pullRequests/{id}/threads`
    PullRequestThreads(PullRequestPath),
    /// `GET …/pullRequests/{id}/workitems`
    PullRequestWorkItems(PullRequestPath),
    /// `GET …/pullRequests/{id}/statuses`
    PullRequestStatuses(PullRequestPath),
    /// `GET …/pullRequests/{id}/iterations/{iteration}/statuses`
    PullRequestIterationStatuses { pr: PullRequestPath, iteration: i64 },
    /// `GET …/pullRequests/{id}/commits`
    PullRequestCommits(PullRequestPath),
    /// `GET {org}/{project}/_apis/policy/evaluations` (preview only, API_FACTS §9.4).
    PolicyEvaluations { project: String },
    /// `GET {org}/{project}/_apis/git/repositories/{repo}/commits`
    Commits { project: String, repository: String },
    /// `GET {org}/{project}/_apis/build/definitions`
    BuildDefinitions { project: String },
    /// `GET {org}/{project}/_apis/build/builds`
    Builds { project: String },
    /// `GET {org}/{project}/_apis/build/builds/{id}`: one build (a webhook's re-fetch).
    Build { project: String, build: i64 },
    /// `GET {org}/{project}/_apis/build/builds/{id}/timeline`
    BuildTimeline { project: String, build: i64 },
    /// `GET {org}/{project}/_apis/build/builds/{id}/changes`
    BuildChanges { project: String, build: i64 },
    /// `GET {release}/{project}/_apis/release/releases` (the release host)
    Releases { project: String },
    /// `GET {release}/{project}/_apis/release/releases/{id}`
    Release { project: String, release: i64 },
    /// `GET {release}/{project}/_apis/release/deployments`
    ReleaseDeployments { project: String },
    /// `GET {release}/{project}/_apis/release/definitions`
    ReleaseDefinitions { project: String },
    /// `GET {org}/{project}/_apis/distributedtask/environments`
    Environments { project: String },
    /// `GET {org}/{project}/_apis/distributedtask/environments/{id}/environmentdeploymentrecords`
    EnvironmentDeploymentRecords { project: String, environment: i64 },
    /// `GET|POST {org}/_apis/hooks/subscriptions`: the organization's service-hook
    /// subscriptions, every project's (API_FACTS §6).
    HooksSubscriptions,
    /// `GET|PUT|DELETE {org}/_apis/hooks/subscriptions/{id}`
    HooksSubscription { id: String },
    /// `GET {org}/_apis/hooks/subscriptions/{id}/notifications`: a subscription's recent
    /// deliveries, with their results.
    HooksNotifications { id: String },
}

/// The pull request an endpoint of a PR's children is below.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PullRequestPath {
    pub project: String,
    /// The repository id (the PR's target repository, API_FACTS §9.1).
    pub repository: String,
    pub pull_request: i64,
}

impl PullRequestPath {
    /// `{project}/_apis/git/repositories/{repo}/pullRequests/{id}`, then `rest`.
    fn segments<'a>(&'a self, rest: &[&'a str]) -> Vec<Cow<'a, str>> {
        let mut s: Vec<Cow<'a, str>> = [
            self.project.as_str(),
            "_apis",
            "git",
            "repositories",
            self.repository.as_str(),
            "pullRequests",
        ]
        .into_iter()
        .map(Cow::Borrowed)
        .collect();
        s.push(Cow::Owned(self.pull_request.to_string()));
        s.extend(rest.iter().copied().map(Cow::Borrowed));
        s
    }
}

/// Which host an endpoint lives on (API_FACTS §0: Graph is on `vssps.dev.azure.com` and
/// release management on `vsrm.dev.azure.com` on Services; on Server everything is under the
/// collection URL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    Organization,
    Graph,
    /// Classic release management: `vsrm.dev.azure.com/{org}` on Services.
    Release,
}

impl Endpoint {
    /// Path segments below the organization URL (each is percent-encoded by the URL builder).
    pub fn segments(&self) -> Vec<Cow<'_, str>> {
        let fixed: Vec<&str> = match self {
            Endpoint::Projects => vec!["_apis", "projects"],
            Endpoint::AllRepositories => vec!["_apis", "git", "repositories"],
            Endpoint::Repositories { project } => vec![project, "_apis", "git", "repositories"],
            Endpoint::ProjectPullRequests { project } => {
                vec![project, "_apis", "git", "pullrequests"]
            }
            Endpoint::Teams { project } => vec!["_apis", "projects", project, "teams"],
            Endpoint::TeamMembers { project, team } => {
                vec!["_apis", "projects", project, "teams", team, "members"]
            }
            Endpoint::GraphUsers => vec!["_apis", "graph", "users"],
            Endpoint::ClassificationNodes { project } => {
                vec![project, "_apis", "wit", "classificationnodes"]
            }
            Endpoint::WorkItemTypes { project } => vec![project, "_apis", "wit", "workitemtypes"],
            Endpoint::WorkItemTypeCategories { project } => {
                vec![project, "_apis", "wit", "workitemtypecategories"]
            }
            Endpoint::Fields => vec!["_apis", "wit", "fields"],
            Endpoint::RecycleBin { project } => vec![project, "_apis", "wit", "recyclebin"],
            Endpoint::WorkItems { project } => vec![project, "_apis", "wit", "workitems"],
            Endpoint::ReportingRevisions { project } => {
                vec![project, "_apis", "wit", "reporting", "workitemrevisions"]
            }
            Endpoint::ReportingLinks { project } => {
                vec![project, "_apis", "wit", "reporting", "workitemlinks"]
            }
            Endpoint::PolicyEvaluations { project } => {
                vec![project, "_apis", "policy", "evaluations"]
            }
            Endpoint::Commits {
                project,
                repository,
            } => vec![
                project,
                "_apis",
                "git",
                "repositories",
                repository,
                "commits",
            ],
            Endpoint::BuildDefinitions { project } => {
                vec![project, "_apis", "build", "definitions"]
            }
            Endpoint::Builds { project } => vec![project, "_apis", "build", "builds"],
            Endpoint::Build { project, build } => {
                return with_id(&[project, "_apis", "build", "builds"], *build, &[]);
            }
            Endpoint::BuildTimeline { project, build } => {
                return with_id(
                    &[project, "_apis", "build", "builds"],
                    *build,
                    &["timeline"],
                );
            }
            Endpoint::BuildChanges { project, build } => {
                return with_id(&[project, "_apis", "build", "builds"], *build, &["changes"]);
            }
            Endpoint::Releases { project } => vec![project, "_apis", "release", "releases"],
            Endpoint::Release { project, release } => {
                return with_id(&[project, "_apis", "release", "releases"], *release, &[]);
            }
            Endpoint::ReleaseDeployments { project } => {
                vec![project, "_apis", "release", "deployments"]
            }
            Endpoint::ReleaseDefinitions { project } => {
                vec![project, "_apis", "release", "definitions"]
            }
            Endpoint::Environments { project } => {
                vec![project, "_apis", "distributedtask", "environments"]
            }
            Endpoint::EnvironmentDeploymentRecords {
                project,
                environment,
            } => {
                return with_id(
                    &[project, "_apis", "distributedtask", "environments"],
                    *environment,
                    &["environmentdeploymentrecords"],
                );
            }
            Endpoint::HooksSubscriptions => vec!["_apis", "hooks", "subscriptions"],
            Endpoint::HooksSubscription { id } => vec!["_apis", "hooks", "subscriptions", id],
            Endpoint::HooksNotifications { id } => {
                vec!["_apis", "hooks", "subscriptions", id, "notifications"]
            }
            Endpoint::PullRequest(pr) => return pr.segments(&[]),
            Endpoint::PullRequestIterations(pr) => return pr.segments(&["iterations"]),
            Endpoint::PullRequestThreads(pr) => return pr.segments(&["threads"]),
            Endpoint::PullRequestWorkItems(pr) => return pr.segments(&["workitems"]),
            Endpoint::PullRequestStatuses(pr) => return pr.segments(&["statuses"]),
            Endpoint::PullRequestCommits(pr) => return pr.segments(&["commits"]),
            Endpoint::PullRequestIterationChanges { pr, iteration } => {
                return with_iteration(pr, *iteration, "changes");
            }
            Endpoint::PullRequestIterationStatuses { pr, iteration } => {
                return with_iteration(pr, *iteration, "statuses");
            }
        };
        fixed.into_iter().map(Cow::Borrowed).collect()
    }

    /// Whether the endpoint exists only as a preview in api-version 7.1 (API_FACTS §0:
    /// Graph users are `7.1-preview.1`).
    pub fn preview_only(&self) -> bool {
        // Policy evaluations are `7.1-preview.1` (API_FACTS §9.4).
        matches!(
            self,
            Endpoint::GraphUsers | Endpoint::PolicyEvaluations { .. }
        )
    }

    /// The host the endpoint is served from.
    pub fn host(&self) -> Host {
        match self {
            Endpoint::GraphUsers => Host::Graph,
            Endpoint::Releases { .. }
            | Endpoint::Release { .. }
            | Endpoint::ReleaseDeployments { .. }
            | Endpoint::ReleaseDefinitions { .. } => Host::Release,
            _ => Host::Organization,
        }
    }

    /// Label for logs and metrics (low cardinality: no ids).
    pub fn label(&self) -> &'static str {
        match self {
            Endpoint::Projects => "projects",
            Endpoint::AllRepositories | Endpoint::Repositories { .. } => "repositories",
            Endpoint::ProjectPullRequests { .. } => "pull_requests",
            Endpoint::Teams { .. } => "teams",
            Endpoint::TeamMembers { .. } => "team_members",
            Endpoint::GraphUsers => "graph_users",
            Endpoint::ClassificationNodes { .. } => "classification_nodes",
            Endpoint::WorkItemTypes { .. } => "work_item_types",
            Endpoint::WorkItemTypeCategories { .. } => "work_item_type_categories",
            Endpoint::Fields => "fields",
            Endpoint::ReportingRevisions { .. } => "reporting_work_item_revisions",
            Endpoint::ReportingLinks { .. } => "reporting_work_item_links",
            Endpoint::RecycleBin { .. } => "recycle_bin",
            Endpoint::WorkItems { .. } => "work_items",
            Endpoint::PullRequest(_) => "pull_request",
            Endpoint::PullRequestIterations(_) => "pull_request_iterations",
            Endpoint::PullRequestIterationChanges { .. } => "pull_request_iteration_changes",
            Endpoint::PullRequestThreads(_) => "pull_request_threads",
            Endpoint::PullRequestWorkItems(_) => "pull_request_work_items",
            Endpoint::PullRequestStatuses(_) => "pull_request_statuses",
            Endpoint::PullRequestIterationStatuses { .. } => "pull_request_iteration_statuses",
            Endpoint::PullRequestCommits(_) => "pull_request_commits",
            Endpoint::PolicyEvaluations { .. } => "policy_evaluations",
            Endpoint::Commits { .. } => "commits",
            Endpoint::BuildDefinitions { .. } => "build_definitions",
            Endpoint::Builds { .. } => "builds",
            Endpoint::Build { .. } => "build",
            Endpoint::BuildTimeline { .. } => "build_timeline",
            Endpoint::BuildChanges { .. } => "build_changes",
            Endpoint::Releases { .. } => "releases",
            Endpoint::Release { .. } => "release",
            Endpoint::ReleaseDeployments { .. } => "release_deployments",
            Endpoint::ReleaseDefinitions { .. } => "release_definitions",
            Endpoint::Environments { .. } => "environments",
            Endpoint::EnvironmentDeploymentRecords { .. } => "environment_deployment_records",
            Endpoint::HooksSubscriptions => "hooks_subscriptions",
            Endpoint::HooksSubscription { .. } => "hooks_subscription",
            Endpoint::HooksNotifications { .. } => "hooks_notifications",
        }
    }
}

/// `prefix`, then the numeric `id`, then `rest`.
fn with_id<'a>(prefix: &[&'a str], id: i64, rest: &[&'a str]) -> Vec<Cow<'a, str>> {
    let mut s: Vec<Cow<'a, str>> = prefix.iter().copied().map(Cow::Borrowed).collect();
    s.push(Cow::Owned(id.to_string()));
    s.extend(rest.iter().copied().map(Cow::Borrowed));
    s
}

/// `…/pullRequests/{id}/iterations/{iteration}/{leaf}`.
fn with_iteration<'a>(pr: &'a PullRequestPath, iteration: i64, leaf: &'a str) -> Vec<Cow<'a, str>> {
    let mut s = pr.segments(&["iterations"]);
    s.push(Cow::Owned(iteration.to_string()));
    s.push(Cow::Borrowed(leaf));
    s
}
