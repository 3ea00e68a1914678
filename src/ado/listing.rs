//! Typed requests: each listing this crate reads is a struct of its parameters that knows its
//! endpoint, its query string and how the endpoint pages ([`Paging`]), so connectors never
//! write a query parameter by hand. [`super::Client::pages`] walks any of them.

use chrono::{DateTime, Utc};
use std::hash::Hash;

use super::Endpoint;
use super::endpoint::PullRequestPath;
use super::models::core::{Team, TeamMember, TeamProject};
use super::models::git::{GitPullRequest, GitRepository};
use super::models::git_commits::GitCommitRef;
use super::models::git_pr::{
    GitPullRequestChange, GitPullRequestCommentThread, GitPullRequestIteration,
    GitPullRequestStatus, ResourceRef,
};
use super::models::graph::GraphUser;
use super::models::policy::PolicyEvaluationRecord;
use super::models::wit::{
    ClassificationNode, ReportingWorkItemLink, WorkItem, WorkItemDeleteReference, WorkItemField,
    WorkItemRevision, WorkItemType, WorkItemTypeCategory,
};
use super::models::{ListedItem, WithRaw};

/// How an endpoint pages (API_FACTS §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// One response `{count, value}`, no paging (§1.3).
    Single,
    /// `$top`/`$skip` offsets; a page shorter than `top` is the last (§1.2).
    Offset { top: u32 },
    /// `$top`/`$skip` with the next offset named by the body: `{changeEntries, nextSkip}`,
    /// zero or absent at the end (PR iteration changes, §1.2).
    NextSkip { top: u32 },
    /// `{count, value}` pages; the next one is named by the `x-ms-continuationtoken` response
    /// header, sent back as `continuationToken`; `top` is sent as `$top` (§1.1).
    HeaderToken { top: Option<u32> },
    /// A reporting stream: `{values, continuationToken, isLastBatch}` (§1.6); the token is a
    /// watermark to resume from on the next run.
    Stream,
}

/// A listing request.
pub trait Listing: Send + Sync + 'static {
    /// One listed item (usually `WithRaw<Model>`, keeping its JSON).
    type Item: ListedItem + Send + 'static;
    /// What identifies an item, for de-duplication across pages.
    type Key: Eq + Hash + Clone + Send + 'static;
    const PAGING: Paging;

    fn endpoint(&self) -> Endpoint;
    /// Query parameters besides the paging ones.
    fn query(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
    fn key(item: &Self::Item) -> Self::Key;
}

/// A time as ADO's query parameters take it, to ADO's 100 ns tick like its JSON prints it:
/// a bound cut to the second would move a backfill window's edge by up to a second (see
/// `connectors::pr_window`). ADO accepts the fraction (Azure/azure-rest-api-specs#26287 sends
/// `2023-10-16T14:36:23.6280246Z`).
pub fn ado_time(t: DateTime<Utc>) -> String {
    let mut s = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    // A leap second's nanoseconds exceed a second; ADO has no such instant.
    let ticks = (t.timestamp_subsec_nanos() / 100).min(9_999_999);
    if ticks != 0 {
        s.push('.');
        s.push_str(format!("{ticks:07}").trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// `GET _apis/projects`.
#[derive(Debug, Clone, Default)]
pub struct Projects;

impl Listing for Projects {
    type Item = WithRaw<TeamProject>;
    type Key = String;
    // Its `continuationToken` counts projects already fetched (API_FACTS §1.1).
    const PAGING: Paging = Paging::HeaderToken { top: Some(100) };
    fn endpoint(&self) -> Endpoint {
        Endpoint::Projects
    }
    fn key(item: &Self::Item) -> String {
        item.value.id.clone()
    }
}

/// `GET _apis/git/repositories`: the repositories of every project at once.
#[derive(Debug, Clone, Default)]
pub struct AllRepositories;

impl Listing for AllRepositories {
    type Item = WithRaw<GitRepository>;
    type Key = String;
    const PAGING: Paging = Paging::Single;
    fn endpoint(&self) -> Endpoint {
        Endpoint::AllRepositories
    }
    fn key(item: &Self::Item) -> String {
        item.value.id.clone()
    }
}

/// `searchCriteria.status` of the PR list (default `active` when unset, API_FACTS §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrStatus {
    Active,
    All,
}

/// Which date `minTime`/`maxTime` filter on (`searchCriteria.queryTimeRangeType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrTimeRange {
    Created,
    Closed,
}

/// A date filter of the PR list: `minTime`/`maxTime` on the creation or the closing date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrTimeFilter {
    pub range: PrTimeRange,
    pub min: Option<DateTime<Utc>>,
    pub max: Option<DateTime<Utc>>,
}

/// `GET {project}/_apis/git/pullrequests`: every repository of a project at once.
#[derive(Debug, Clone)]
pub struct PullRequests {
    pub project: String,
    pub status: PrStatus,
    pub time: Option<PrTimeFilter>,
}

impl Listing for PullRequests {
    type Item = WithRaw<GitPullRequest>;
    type Key = i64;
    // ADO caps PR pages at 1,000 whatever `$top` asks (API_FACTS §1.2).
    const PAGING: Paging = Paging::Offset { top: 1000 };
    fn endpoint(&self) -> Endpoint {
        Endpoint::ProjectPullRequests {
            project: self.project.clone(),
        }
    }
    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![(
            "searchCriteria.status",
            match self.status {
                PrStatus::Active => "active",
                PrStatus::All => "all",
            }
            .to_string(),
        )];
        if let Some(PrTimeFilter { range, min, max }) = self.time {
            q.push((
                "searchCriteria.queryTimeRangeType",
                match range {
                    PrTimeRange::Created => "created",
                    PrTimeRange::Closed => "closed",
                }
                .into(),
            ));
            if let Some(min) = min {
                q.push(("searchCriteria.minTime", ado_time(min)));
            }
            if let Some(max) = max {
                q.push(("searchCriteria.maxTime", ado_time(max)));
            }
        }
        q
    }
    fn key(item: &Self::Item) -> i64 {
        item.value.pull_request_id
    }
}

/// `GET _apis/projects/{project}/teams`.
#[derive(Debug, Clone)]
pub struct Teams {
    pub project: String,
}

impl Listing for Teams {
    type Item = WithRaw<Team>;
    type Key = String;
    const PAGING: Paging = Paging::Offset { top: 100 };
    fn endpoint(&self) -> Endpoint {
        Endpoint::Teams {
            project: self.project.clone(),
        }
    }
    fn key(item: &Self::Item) -> String {
        item.value.id.clone()
    }
}

/// `GET _apis/projects/{project}/teams/{team}/members`.
#[derive(Debug, Clone)]
pub struct TeamMembers {
    pub project: String,
    pub team: String,
}

impl Listing for TeamMembers {
    type Item = TeamMember;
    type Key = String;
    const PAGING: Paging = Paging::Offset { top: 100 };
    fn endpoint(&self) -> Endpoint {
        Endpoint::TeamMembers {
            project: self.project.clone(),
            team: self.team.clone(),
        }
    }
    fn key(item: &Self::Item) -> String {
        item.identity.id.clone()
    }
}

/// `GET {graph}/_apis/graph/users` (Services only).
#[derive(Debug, Clone, Default)]
pub struct GraphUsers;

impl Listing for GraphUsers {
    type Item = WithRaw<GraphUser>;
    type Key = String;
    const PAGING: Paging = Paging::HeaderToken { top: None };
    fn endpoint(&self) -> Endpoint {
        Endpoint::GraphUsers
    }
    fn key(item: &Self::Item) -> String {
        item.value.descriptor.clone()
    }
}

/// `GET {project}/_apis/wit/classificationnodes?$depth=`: the Areas and Iterations trees.
#[derive(Debug, Clone)]
pub struct ClassificationNodes {
    pub project: String,
    pub depth: u32,
}

impl Listing for ClassificationNodes {
    type Item = WithRaw<ClassificationNode>;
    type Key = i64;
    const PAGING: Paging = Paging::Single;
    fn endpoint(&self) -> Endpoint {
        Endpoint::ClassificationNodes {
            project: self.project.clone(),
        }
    }
    fn query(&self) -> Vec<(&'static str, String)> {
        vec![("$depth", self.depth.to_string())]
    }
    fn key(item: &Self::Item) -> i64 {
        item.value.id
    }
}

/// `GET {project}/_apis/wit/workitemtypes` (with their states).
#[derive(Debug, Clone)]
pub struct WorkItemTypes {
    pub project: String,
}

impl Listing for WorkItemTypes {
    type Item = WithRaw<WorkItemType>;
    type Key = String;
    const PAGING: Paging = Paging::Single;
    fn endpoint(&self) -> Endpoint {
        Endpoint::WorkItemTypes {
            project: self.project.clone(),
        }
    }
    fn key(item: &Self::Item) -> String {
        item.value.name.clone()
    }
}

/// `GET {project}/_apis/wit/workitemtypecategories`.
#[derive(Debug, Clone)]
pub struct WorkItemTypeCategories {
    pub project: String,
}

impl Listing for WorkItemTypeCategories {
    type Item = WorkItemTypeCategory;
    type Key = String;
    const PAGING: Paging = Paging::Single;
    fn endpoint(&self) -> Endpoint {
        Endpoint::WorkItemTypeCategories {
            project: self.project.clone(),
        }
    }
    fn key(item: &Self::Item) -> String {
        item.reference_name.clone()
    }
}

/// `GET _apis/wit/fields`.
#[derive(Debug, Clone, Default)]
pub struct Fields;

impl Listing for Fields {
    type Item = WithRaw<WorkItemField>;
    type Key = String;
    const PAGING: Paging = Paging::Single;
    fn endpoint(&self) -> Endpoint {
        Endpoint::Fields
    }
    fn key(item: &Self::Item) -> String {
        item.value.reference_name.clone()
    }
}

/// `GET {project}/_apis/wit/reporting/workitemrevisions`: every revision with every field
/// (long text included), deleted items included (API_FACTS §1.6).
#[derive(Debug, Clone)]
pub struct ReportingRevisions {
    pub project: String,
    /// `$maxPageSize`; ADO caps it server-side.
    pub max_page_size: u32,
}

impl Listing for ReportingRevisions {
    type Item = WithRaw<WorkItemRevision>;
    type Key = (i64, i64);
    const PAGING: Paging = Paging::Stream;
    fn endpoint(&self) -> Endpoint {
        Endpoint::ReportingRevisions {
            project: self.project.clone(),
        }
    }
    fn query(&self) -> Vec<(&'static str, String)> {
        vec![
            ("includeDeleted", "true".into()),
            // Without it the stream leaves out every long-text field: Description, Repro
            // Steps, Acceptance Criteria, custom HTML fields (API_FACTS §1.6).
            ("$expand", "fields".into()),
            ("$maxPageSize", self.max_page_size.to_string()),
        ]
    }
    fn key(item: &Self::Item) -> (i64, i64) {
        (item.value.id, item.value.rev)
    }
}

/// `GET {project}/_apis/wit/reporting/workitemlinks`.
#[derive(Debug, Clone)]
pub struct ReportingLinks {
    pub project: String,
}

impl Listing for ReportingLinks {
    type Item = WithRaw<ReportingWorkItemLink>;
    type Key = (i64, i64, String);
    const PAGING: Paging = Paging::Stream;
    fn endpoint(&self) -> Endpoint {
        Endpoint::ReportingLinks {
            project: self.project.clone(),
        }
    }
    fn key(item: &Self::Item) -> (i64, i64, String) {
        (
            item.value.source_id,
            item.value.target_id,
            item.value.rel.clone(),
        )
    }
}

/// `GET {project}/_apis/wit/recyclebin`: the project's deleted work items, ids only.
#[derive(Debug, Clone)]
pub struct RecycleBin {
    pub project: String,
}

impl Listing for RecycleBin {
    type Item = WorkItemDeleteReference;
    type Key = i64;
    const PAGING: Paging = Paging::Single;
    fn endpoint(&self) -> Endpoint {
        Endpoint::RecycleBin {
            project: self.project.clone(),
        }
    }
    fn key(item: &Self::Item) -> i64 {
        item.id
    }
}

/// Most ids per work item request (VS403474, API_FACTS §1.5).
pub const MAX_WORK_ITEM_IDS: usize = 200;

/// `GET {project}/_apis/wit/workitems?ids=…&errorPolicy=omit`: up to
/// [`MAX_WORK_ITEM_IDS`] work items by id, `null` for each id ADO cannot return (deleted to
/// the recycle bin, or destroyed).
#[derive(Debug, Clone)]
pub struct WorkItemsByIds {
    pub project: String,
    pub ids: Vec<i64>,
}

impl Listing for WorkItemsByIds {
    type Item = Option<WithRaw<WorkItem>>;
    type Key = Option<i64>;
    const PAGING: Paging = Paging::Single;
    fn endpoint(&self) -> Endpoint {
        Endpoint::WorkItems {
            project: self.project.clone(),
        }
    }
    fn query(&self) -> Vec<(&'static str, String)> {
        let ids: Vec<String> = self.ids.iter().map(i64::to_string).collect();
        vec![("ids", ids.join(",")), ("errorPolicy", "omit".into())]
    }
    fn key(item: &Self::Item) -> Option<i64> {
        item.as_ref().map(|w| w.value.id)
    }
}

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
        vec![("artifactId", self.artifact_id())]
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

/// `GET {project}/_apis/git/repositories/{repo}/commits?searchCriteria.itemVersion.version=`:
/// one branch's history, newest first, optionally only commits after `from` (API_FACTS
/// §4.4). The `searchCriteria.` prefix may be left off (§1.2), which lets the offset walker's
/// plain `$top`/`$skip` page it, as the recorded `$skip/$top` example does.
#[derive(Debug, Clone)]
pub struct BranchCommits {
    pub project: String,
    pub repository: String,
    /// The branch, as `refs/heads/main` (a repository's `defaultBranch`) or `main`.
    pub branch: String,
    /// `searchCriteria.fromDate`: the connector's cursor minus its overlap.
    pub from: Option<DateTime<Utc>>,
}

impl Listing for BranchCommits {
    type Item = WithRaw<GitCommitRef>;
    type Key = String;
    // Like PR lists (§1.2), 1,000 a page. No cap is documented; a lower server cap would end
    // the walk at its first short page, so the connector's tests should watch for one.
    const PAGING: Paging = Paging::Offset { top: 1000 };
    fn endpoint(&self) -> Endpoint {
        Endpoint::Commits {
            project: self.project.clone(),
            repository: self.repository.clone(),
        }
    }
    fn query(&self) -> Vec<(&'static str, String)> {
        // `itemVersion.version` takes the branch name without `refs/heads/`.
        let branch = self
            .branch
            .strip_prefix("refs/heads/")
            .unwrap_or(&self.branch);
        let mut q = vec![
            ("searchCriteria.itemVersion.version", branch.to_string()),
            ("searchCriteria.itemVersion.versionType", "branch".into()),
        ];
        if let Some(from) = self.from {
            q.push(("searchCriteria.fromDate", ado_time(from)));
        }
        q
    }
    fn key(item: &Self::Item) -> String {
        item.value.commit_id.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_request_query_names_ado_parameters() {
        let at = DateTime::parse_from_rfc3339("2026-01-02T03:04:05.6Z")
            .unwrap()
            .to_utc();
        let q = PullRequests {
            project: "p".into(),
            status: PrStatus::All,
            time: Some(PrTimeFilter {
                range: PrTimeRange::Closed,
                min: Some(at),
                max: None,
            }),
        }
        .query();
        assert_eq!(
            q,
            vec![
                ("searchCriteria.status", "all".to_string()),
                ("searchCriteria.queryTimeRangeType", "closed".to_string()),
                (
                    "searchCriteria.minTime",
                    "2026-01-02T03:04:05.6Z".to_string()
                ),
            ]
        );
    }

    /// The URL of a listing's request before the paging parameters: path, query and
    /// api-version as [`crate::ado::Client::url`] builds them.
    fn url_of<L: Listing>(listing: &L) -> String {
        crate::ado::tests::capped_client("https://dev.azure.com/org", 1)
            .url(&listing.endpoint(), &listing.query())
            .unwrap()
            .to_string()
    }

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
             &api-version=7.1-preview.1"
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

    #[test]
    fn branch_commits_name_the_branch_without_refs_heads_and_the_from_date() {
        let from = DateTime::parse_from_rfc3339("2026-01-02T03:04:05.6Z")
            .unwrap()
            .to_utc();
        let l = BranchCommits {
            project: "P".into(),
            repository: "r1".into(),
            branch: "refs/heads/main".into(),
            from: Some(from),
        };
        assert_eq!(
            url_of(&l),
            "https://dev.azure.com/org/P/_apis/git/repositories/r1/commits\
             ?searchCriteria.itemVersion.version=main\
             &searchCriteria.itemVersion.versionType=branch\
             &searchCriteria.fromDate=2026-01-02T03%3A04%3A05.6Z&api-version=7.1"
        );
        let plain = BranchCommits {
            branch: "release/1.0".into(),
            from: None,
            ..l
        };
        assert_eq!(
            plain.query(),
            vec![
                ("searchCriteria.itemVersion.version", "release/1.0".into()),
                ("searchCriteria.itemVersion.versionType", "branch".into()),
            ]
        );
        assert_eq!(BranchCommits::PAGING, Paging::Offset { top: 1000 });
    }

    #[test]
    fn times_keep_ados_tick_precision() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        assert_eq!(
            ado_time(t("2016-11-01T16:30:31.6655471Z")),
            "2016-11-01T16:30:31.6655471Z"
        );
        assert_eq!(
            ado_time(t("2019-01-07T21:43:21.330Z")),
            "2019-01-07T21:43:21.33Z"
        );
        assert_eq!(ado_time(t("2019-01-07T21:43:21Z")), "2019-01-07T21:43:21Z");
    }
}
