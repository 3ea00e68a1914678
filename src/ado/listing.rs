//! Typed requests: each listing this crate reads is a struct of its parameters that knows its
//! endpoint, its query string and how the endpoint pages ([`Paging`]), so connectors never
//! write a query parameter by hand. [`super::Client::pages`] walks any of them.

use chrono::{DateTime, Utc};
use std::hash::Hash;

use super::Endpoint;
use super::models::core::{Team, TeamMember, TeamProject};
use super::models::git::{GitPullRequest, GitRepository};
use super::models::git_commits::GitCommitRef;
use super::models::graph::GraphUser;
use super::models::wit::{
    ClassificationNode, ReportingWorkItemLink, WorkItem, WorkItemDeleteReference, WorkItemField,
    WorkItemRevision, WorkItemType, WorkItemTypeCategory,
};
use super::models::{ListedItem, WithRaw};

mod pipelines;
mod pull_request;
pub use pipelines::{
    BUILDS_PAGE, BuildChanges, BuildDefinitions, BuildIds, BuildOrder, Builds, DeletedFilter,
    EnvironmentDeploymentRecords, Environments, ReleaseDefinitions, ReleaseDeployments, Releases,
};
pub use pull_request::{
    MAX_ITERATION_CHANGES_PAGE, PolicyEvaluations, PullRequestCommits, PullRequestIterationChanges,
    PullRequestIterations, PullRequestStatuses, PullRequestThreads, PullRequestWorkItems,
};

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
    /// As `HeaderToken`, with the page size sent as `top` without the `$` (environment
    /// deployment records, API_FACTS §8.2).
    HeaderTokenPlainTop { top: u32 },
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

/// `GET {project}/_apis/git/repositories`: the repositories of one project (for a connector
/// that works project by project and may not hold the organization-level listing).
#[derive(Debug, Clone)]
pub struct Repositories {
    pub project: String,
}

impl Listing for Repositories {
    type Item = WithRaw<GitRepository>;
    type Key = String;
    const PAGING: Paging = Paging::Single;
    fn endpoint(&self) -> Endpoint {
        Endpoint::Repositories {
            project: self.project.clone(),
        }
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
    pub(super) fn url_of<L: Listing>(listing: &L) -> String {
        crate::ado::tests::capped_client("https://dev.azure.com/org", 1)
            .url(&listing.endpoint(), &listing.query())
            .unwrap()
            .to_string()
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
    fn repositories_of_one_project() {
        let l = Repositories {
            project: "My Project".into(),
        };
        assert_eq!(
            url_of(&l),
            "https://dev.azure.com/org/My%20Project/_apis/git/repositories?api-version=7.1"
        );
        assert_eq!(Repositories::PAGING, Paging::Single);
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
