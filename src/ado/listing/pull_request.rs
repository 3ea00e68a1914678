//! The listings of one pull request's children: iterations, the files each iteration
//! changed, threads, linked work items, status checks, policy evaluations and commits (issue
//! 11). Each is below the PR ([`PullRequestPath`]) except policy evaluations, which name the
//! PR in their `artifactId`.

use super::{Listing, Paging};
use crate::ado::Endpoint;
use crate::ado::endpoint::PullRequestPath;
use crate::ado::models::WithRaw;
use crate::ado::models::git_commits::GitCommitRef;
use crate::ado::models::git_pr::{
    GitPullRequestChange, GitPullRequestCommentThread, GitPullRequestIteration,
    GitPullRequestStatus, ResourceRef,
};
use crate::ado::models::policy::PolicyEvaluationRecord;

/// `GET …/pullRequests/{id}/iterations`: every iteration at once (API_FACTS §1.3).
#[derive(Debug, Clone)]
pub struct PullRequestIterations {
    pub pr: PullRequestPath,
}

impl Listing for PullRequestIterations {
    type Item = WithRaw<GitPullRequestIteration>;
    type Key = i64;
    const PAGING: Paging = Paging::Single;
    fn endpoint(&self) -> Endpoint {
        Endpoint::PullRequestIterations(self.pr.clone())
    }
    fn key(item: &Self::Item) -> i64 {
        item.value.id
    }
}

/// Most changes ADO returns per iteration-changes page (API_FACTS §1.2).
pub const MAX_ITERATION_CHANGES_PAGE: u32 = 2000;

/// `GET …/pullRequests/{id}/iterations/{iteration}/changes`: the paths an iteration changed
/// against the common commit (no `$compareTo`), paged by `nextSkip`.
#[derive(Debug, Clone)]
pub struct PullRequestIterationChanges {
    pub pr: PullRequestPath,
    pub iteration: i64,
}

impl Listing for PullRequestIterationChanges {
    type Item = WithRaw<GitPullRequestChange>;
    type Key = i64;
    const PAGING: Paging = Paging::NextSkip {
        top: MAX_ITERATION_CHANGES_PAGE,
    };
    fn endpoint(&self) -> Endpoint {
        Endpoint::PullRequestIterationChanges {
            pr: self.pr.clone(),
            iteration: self.iteration,
        }
    }
    fn key(item: &Self::Item) -> i64 {
        item.value.change_tracking_id
    }
}

/// `GET …/pullRequests/{id}/threads`: every thread with every comment (API_FACTS §1.3).
#[derive(Debug, Clone)]
pub struct PullRequestThreads {
    pub pr: PullRequestPath,
}

impl Listing for PullRequestThreads {
    type Item = WithRaw<GitPullRequestCommentThread>;
    type Key = i64;
    const PAGING: Paging = Paging::Single;
    fn endpoint(&self) -> Endpoint {
        Endpoint::PullRequestThreads(self.pr.clone())
    }
    fn key(item: &Self::Item) -> i64 {
        item.value.id
    }
}

/// `GET …/pullRequests/{id}/workitems`: the linked work items (ids as strings, API_FACTS §7).
#[derive(Debug, Clone)]
pub struct PullRequestWorkItems {
    pub pr: PullRequestPath,
}

impl Listing for PullRequestWorkItems {
    type Item = WithRaw<ResourceRef>;
    type Key = String;
    const PAGING: Paging = Paging::Single;
    fn endpoint(&self) -> Endpoint {
        Endpoint::PullRequestWorkItems(self.pr.clone())
    }
    fn key(item: &Self::Item) -> String {
        item.value.id.clone()
    }
}

/// `GET …/pullRequests/{id}/statuses`, or one iteration's (`…/iterations/{n}/statuses`) when
/// `iteration` is set: no paging (API_FACTS §9.1).
#[derive(Debug, Clone)]
pub struct PullRequestStatuses {
    pub pr: PullRequestPath,
    pub iteration: Option<i64>,
}

impl Listing for PullRequestStatuses {
    type Item = WithRaw<GitPullRequestStatus>;
    type Key = i64;
    const PAGING: Paging = Paging::Single;
    fn endpoint(&self) -> Endpoint {
        match self.iteration {
            None => Endpoint::PullRequestStatuses(self.pr.clone()),
            Some(iteration) => Endpoint::PullRequestIterationStatuses {
                pr: self.pr.clone(),
                iteration,
            },
        }
    }
    fn key(item: &Self::Item) -> i64 {
        item.value.id
    }
}

/// `GET {project}/_apis/policy/evaluations?artifactId=…`: the policy evaluations of one PR
/// (preview only, API_FACTS §9.4).
#[derive(Debug, Clone)]
pub struct PolicyEvaluations {
    /// The project's GUID: the artifact id needs it (a name is unverified, §9.4).
    pub project_id: String,
    pub pull_request: i64,
}

impl PolicyEvaluations {
    /// `vstfs:///CodeReview/CodeReviewId/{projectId}/{pullRequestId}`; not the PR's own
    /// `vstfs:///Git/PullRequestId/…` artifact id, which finds nothing (§9.4).
    pub fn artifact_id(&self) -> String {
        format!(
            "vstfs:///CodeReview/CodeReviewId/{}/{}",
            self.project_id, self.pull_request
        )
    }
}

impl Listing for PolicyEvaluations {
    type Item = WithRaw<PolicyEvaluationRecord>;
    type Key = String;
    // 200 a page: the brief's figure for this listing, not a documented maximum (§9.4 gives
    // none); a PR has a handful of policies, so one page is the rule.
    const PAGING: Paging = Paging::Offset { top: 200 };
    fn endpoint(&self) -> Endpoint {
        Endpoint::PolicyEvaluations {
            project: self.project_id.clone(),
        }
    }
    fn query(&self) -> Vec<(&'static str, String)> {
        // Without the flag ADO leaves out the policies that do not apply to the PR (§9.4);
        // a record of "this policy did not apply" is what a merge analysis needs too.
        vec![
            ("artifactId", self.artifact_id()),
            ("includeNotApplicable", "true".into()),
        ]
    }
    fn key(item: &Self::Item) -> String {
        item.value.evaluation_id.clone()
    }
}

/// `GET …/pullRequests/{id}/commits`: the PR's commits, paged by continuation token
/// (API_FACTS §1.1). 500 a page, the documented batch maximum of the sibling
/// iteration-commits endpoint (§1.2); the token, not the page size, ends the walk.
#[derive(Debug, Clone)]
pub struct PullRequestCommits {
    pub pr: PullRequestPath,
}

impl Listing for PullRequestCommits {
    type Item = WithRaw<GitCommitRef>;
    type Key = String;
    const PAGING: Paging = Paging::HeaderToken { top: Some(500) };
    fn endpoint(&self) -> Endpoint {
        Endpoint::PullRequestCommits(self.pr.clone())
    }
    fn key(item: &Self::Item) -> String {
        item.value.commit_id.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ado::listing::tests::url_of;

    fn pr() -> PullRequestPath {
        PullRequestPath {
            project: "My Project".into(),
            repository: "3411ebc1-d5aa-464f-9615-0b527bc66719".into(),
            pull_request: 22,
        }
    }

    const PR_URL: &str = "https://dev.azure.com/org/My%20Project/_apis/git/repositories/3411ebc1-d5aa-464f-9615-0b527bc66719/pullRequests/22";

    #[test]
    fn pull_request_children_are_below_the_pull_request() {
        assert_eq!(
            url_of(&PullRequestIterations { pr: pr() }),
            format!("{PR_URL}/iterations?api-version=7.1")
        );
        assert_eq!(PullRequestIterations::PAGING, Paging::Single);
        assert_eq!(
            url_of(&PullRequestThreads { pr: pr() }),
            format!("{PR_URL}/threads?api-version=7.1")
        );
        assert_eq!(PullRequestThreads::PAGING, Paging::Single);
        assert_eq!(
            url_of(&PullRequestWorkItems { pr: pr() }),
            format!("{PR_URL}/workitems?api-version=7.1")
        );
        assert_eq!(PullRequestWorkItems::PAGING, Paging::Single);
    }

    #[test]
    fn iteration_changes_page_by_next_skip_at_ados_maximum() {
        let l = PullRequestIterationChanges {
            pr: pr(),
            iteration: 3,
        };
        assert_eq!(
            url_of(&l),
            format!("{PR_URL}/iterations/3/changes?api-version=7.1")
        );
        assert_eq!(
            PullRequestIterationChanges::PAGING,
            Paging::NextSkip { top: 2000 }
        );
        assert_eq!(l.endpoint().label(), "pull_request_iteration_changes");
    }

    #[test]
    fn statuses_of_the_pull_request_or_of_one_iteration() {
        let all = PullRequestStatuses {
            pr: pr(),
            iteration: None,
        };
        assert_eq!(url_of(&all), format!("{PR_URL}/statuses?api-version=7.1"));
        let one = PullRequestStatuses {
            pr: pr(),
            iteration: Some(2),
        };
        assert_eq!(
            url_of(&one),
            format!("{PR_URL}/iterations/2/statuses?api-version=7.1")
        );
        assert_eq!(all.endpoint().label(), "pull_request_statuses");
        assert_eq!(one.endpoint().label(), "pull_request_iteration_statuses");
        assert_eq!(PullRequestStatuses::PAGING, Paging::Single);
    }

    #[test]
    fn policy_evaluations_name_the_code_review_artifact_in_preview() {
        let l = PolicyEvaluations {
            project_id: "1be3fc5b-c58c-4173-8fd7-6647d11eccd1".into(),
            pull_request: 22,
        };
        assert_eq!(
            url_of(&l),
            "https://dev.azure.com/org/1be3fc5b-c58c-4173-8fd7-6647d11eccd1/_apis/policy/evaluations\
             ?artifactId=vstfs%3A%2F%2F%2FCodeReview%2FCodeReviewId%2F1be3fc5b-c58c-4173-8fd7-6647d11eccd1%2F22\
             &includeNotApplicable=true&api-version=7.1-preview.1"
        );
        assert_eq!(PolicyEvaluations::PAGING, Paging::Offset { top: 200 });
    }

    #[test]
    fn pull_request_commits_page_by_continuation_token() {
        assert_eq!(
            url_of(&PullRequestCommits { pr: pr() }),
            format!("{PR_URL}/commits?api-version=7.1")
        );
        assert_eq!(
            PullRequestCommits::PAGING,
            Paging::HeaderToken { top: Some(500) }
        );
    }
}
