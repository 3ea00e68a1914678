//! Every ADO endpoint this crate calls: its URL path below the organization URL and its
//! metric label. URLs are built here and nowhere else.

/// An ADO REST endpoint with its path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET {org}/_apis/projects`
    Projects,
    /// `GET {org}/_apis/git/repositories`: the repositories of every project.
    AllRepositories,
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
}

/// Which host an endpoint lives on (API_FACTS §0: Graph is on `vssps.dev.azure.com` on
/// Services; on Server everything is under the collection URL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    Organization,
    Graph,
}

impl Endpoint {
    /// Path segments below the organization URL (each is percent-encoded by the URL builder).
    pub fn segments(&self) -> Vec<&str> {
        match self {
            Endpoint::Projects => vec!["_apis", "projects"],
            Endpoint::AllRepositories => vec!["_apis", "git", "repositories"],
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
        }
    }

    /// Whether the endpoint exists only as a preview in api-version 7.1 (API_FACTS §0:
    /// Graph users are `7.1-preview.1`).
    pub fn preview_only(&self) -> bool {
        matches!(self, Endpoint::GraphUsers)
    }

    /// The host the endpoint is served from.
    pub fn host(&self) -> Host {
        match self {
            Endpoint::GraphUsers => Host::Graph,
            _ => Host::Organization,
        }
    }

    /// Label for logs and metrics (low cardinality: no ids).
    pub fn label(&self) -> &'static str {
        match self {
            Endpoint::Projects => "projects",
            Endpoint::AllRepositories => "repositories",
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
        }
    }
}
