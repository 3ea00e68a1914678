//! Git area: repositories and pull requests (with reviewers).

use super::IdentityRef;
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// A project reference inside another object.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ProjectRef {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// `GitRepository`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GitRepository {
    pub id: String,
    pub name: String,
    pub project: ProjectRef,
    #[serde(default)]
    pub default_branch: Option<String>,
    #[serde(default)]
    pub size: Option<i64>,
    #[serde(default)]
    pub is_disabled: bool,
    #[serde(default)]
    pub remote_url: Option<String>,
}

/// The repository reference inside a pull request.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryRef {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub project: Option<ProjectRef>,
}

/// A commit reference (`GitCommitRef`), of which only the id matters here.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CommitRef {
    pub commit_id: String,
}

/// A reviewer with a vote (`IdentityRefWithVote`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Reviewer {
    #[serde(flatten)]
    pub identity: IdentityRef,
    #[serde(default)]
    pub vote: i32,
    #[serde(default)]
    pub is_required: bool,
    #[serde(default)]
    pub has_declined: bool,
}

/// `GitPullRequest` as the list endpoints return it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GitPullRequest {
    pub pull_request_id: i64,
    pub repository: RepositoryRef,
    pub status: String,
    #[serde(default)]
    pub created_by: Option<IdentityRef>,
    pub creation_date: DateTime<Utc>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub closed_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub source_ref_name: String,
    #[serde(default)]
    pub target_ref_name: String,
    #[serde(default)]
    pub merge_status: Option<String>,
    #[serde(default)]
    pub is_draft: bool,
    #[serde(default)]
    pub last_merge_source_commit: Option<CommitRef>,
    #[serde(default)]
    pub last_merge_commit: Option<CommitRef>,
    #[serde(default)]
    pub reviewers: Vec<Reviewer>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ado::models::example::{list, single};

    #[test]
    fn example_git_repositories() {
        let r: Vec<GitRepository> = list("git/repositories__GET__git_repositories.json");
        assert_eq!(r.len(), 3);
        assert_eq!(
            r[0].default_branch, None,
            "the first repository has no default branch"
        );
        assert_eq!(r[1].default_branch.as_deref(), Some("refs/heads/master"));
    }

    #[test]
    fn example_git_repository_by_id() {
        let r: GitRepository =
            single("git/repositories__GET__git_repositories__repositoryId_.json");
        assert_eq!(r.project.name.as_deref(), Some("Fabrikam-Fiber-Git"));
    }

    #[test]
    fn example_git_pull_requests_by_repository() {
        let p: Vec<GitPullRequest> =
            list("git/pullRequests__GET__git_repositories__repositoryId__pullRequests.json");
        assert_eq!(p[0].pull_request_id, 22);
        assert_eq!(p[0].status, "active");
        assert_eq!(p[0].reviewers[0].vote, 0);
        assert!(p[0].last_merge_commit.is_some());
    }

    #[test]
    fn example_git_pull_requests_by_project() {
        let p: Vec<GitPullRequest> = list("git/pullRequests__GET__git_pullRequests.json");
        assert!(p.iter().all(|p| p.repository.project.is_some()));
    }

    #[test]
    fn example_git_pull_requests_completed() {
        let p: Vec<GitPullRequest> = list(
            "git/pullRequests__GET__git_repositories__repositoryId__pullRequests_status-completed.json",
        );
        assert!(
            p.iter()
                .all(|p| p.status == "completed" && p.closed_date.is_some())
        );
    }

    #[test]
    fn example_git_pull_requests_target_ref() {
        let p: Vec<GitPullRequest> = list(
            "git/pullRequests__GET__git_repositories__repositoryId__pullRequests_targetRefName-refs_heads_master.json",
        );
        assert!(p.iter().all(|p| p.target_ref_name == "refs/heads/master"));
    }

    #[test]
    fn example_git_pull_request_by_id() {
        let p: GitPullRequest = single(
            "git/pullRequests__GET__git_repositories__repositoryId__pullRequests__pullRequestId_.json",
        );
        assert_eq!(p.pull_request_id, 22);
        // ADO sends 7 fractional digits; chrono keeps them (nanosecond precision).
        assert_eq!(p.creation_date.timestamp_subsec_nanos(), 665_547_100);
    }

    #[test]
    fn example_git_pull_request_by_id_v5() {
        let p: GitPullRequest =
            single("git/v5.0__pullRequests__GET__git_pullRequests__pullRequestId_.json");
        assert!(p.created_by.is_some());
    }

    #[test]
    fn example_onprem_pull_requests() {
        let p: Vec<GitPullRequest> = list(
            "onprem/azure-devops-server-7.1__pullRequests__GET__git_repositories__repositoryId__pullRequests-onprem.json",
        );
        assert!(!p.is_empty());
    }

    #[test]
    fn example_git_pull_request_reviewers() {
        let r: Vec<Reviewer> = list(
            "git/pullRequestReviewers__GET__git_repositories__repositoryId__pullRequests__pullRequestId__reviewers.json",
        );
        assert!(r.iter().all(|r| !r.identity.id.is_empty()));
    }

    #[test]
    fn a_dotnet_min_value_closed_date_is_none_not_a_page_failure() {
        let pr: GitPullRequest = serde_json::from_value(serde_json::json!({
            "pullRequestId": 7,
            "repository": {"id": "r", "name": "n", "project": {"id": "p", "name": "P"}},
            "status": "active",
            "creationDate": "2024-03-05T08:09:10.1234567Z",
            "closedDate": "0001-01-01T00:00:00"
        }))
        .expect("a PR with .NET's MinValue as closedDate parses");
        assert_eq!(pr.closed_date, None);
    }
}
