//! Every ADO endpoint this crate calls: its URL path below the organization URL and its
//! metric label. URLs are built here and nowhere else.

/// An ADO REST endpoint with its path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET {org}/_apis/connectionData`: who the token is.
    ConnectionData,
    /// `GET {org}/_apis/projects`
    Projects,
    /// `GET {org}/_apis/git/repositories`: the repositories of every project.
    AllRepositories,
    /// `GET {org}/{project}/_apis/git/pullrequests`: every repository of a project at once.
    ProjectPullRequests { project: String },
    /// `GET {org}/{project}/_apis/git/repositories/{repo}/pullrequests`
    RepositoryPullRequests { project: String, repository: String },
}

impl Endpoint {
    /// Path segments below the organization URL (each is percent-encoded by the URL builder).
    pub fn segments(&self) -> Vec<&str> {
        match self {
            Endpoint::ConnectionData => vec!["_apis", "connectionData"],
            Endpoint::Projects => vec!["_apis", "projects"],
            Endpoint::AllRepositories => vec!["_apis", "git", "repositories"],
            Endpoint::ProjectPullRequests { project } => {
                vec![project, "_apis", "git", "pullrequests"]
            }
            Endpoint::RepositoryPullRequests {
                project,
                repository,
            } => vec![
                project,
                "_apis",
                "git",
                "repositories",
                repository,
                "pullrequests",
            ],
        }
    }

    /// Label for logs and metrics (low cardinality: no ids).
    pub fn label(&self) -> &'static str {
        match self {
            Endpoint::ConnectionData => "connection_data",
            Endpoint::Projects => "projects",
            Endpoint::AllRepositories => "repositories",
            Endpoint::ProjectPullRequests { .. } => "pull_requests",
            Endpoint::RepositoryPullRequests { .. } => "repository_pull_requests",
        }
    }
}
