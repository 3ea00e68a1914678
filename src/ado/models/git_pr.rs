//! The inside of a pull request: iterations, the files an iteration changed, comment threads
//! with their comments, linked work items and status checks (API_FACTS §4.3, §9.1). The PR
//! itself is in [`super::git`]; commits are in [`super::git_commits`].

use super::IdentityRef;
use super::git::CommitRef;
use super::git_commits::GitPushRef;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

/// `GitPullRequestIteration`: one push (or retarget) of a PR's source branch. Listed without
/// paging (API_FACTS §1.3). The first iteration of the recorded example has no `push`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GitPullRequestIteration {
    pub id: i64,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub author: Option<IdentityRef>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub created_date: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub updated_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub source_ref_commit: Option<CommitRef>,
    #[serde(default)]
    pub target_ref_commit: Option<CommitRef>,
    #[serde(default)]
    pub common_ref_commit: Option<CommitRef>,
    #[serde(default)]
    pub push: Option<GitPushRef>,
    /// `IterationReason` flags as text (e.g. `push`, `create`, `rebase, retarget`).
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub has_more_commits: bool,
}

impl GitPullRequestIteration {
    /// The id of the push that made this iteration, when ADO names one.
    pub fn push_id(&self) -> Option<i64> {
        self.push.as_ref().map(|p| p.push_id)
    }
}

/// `GitPullRequestIterationChanges`: one page of the files an iteration changed. Not a
/// `{count, value}` list: ADO pages it with `$top` (max 2,000) / `$skip` and names the next
/// offset in `nextSkip`, zero or absent when there is no more (API_FACTS §1.2); the recorded
/// examples send neither. `T` is the entry type ([`super::super::pages`] reads raw entries).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GitPullRequestIterationChanges<T = GitPullRequestChange> {
    #[serde(default = "Vec::new")]
    pub change_entries: Vec<T>,
    #[serde(default)]
    pub next_skip: Option<u64>,
    #[serde(default)]
    pub next_top: Option<u64>,
}

/// `GitPullRequestChange`: one changed path of an iteration (paths only, never contents).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GitPullRequestChange {
    /// Stable across iterations for the same file: what threads point at
    /// (`pullRequestThreadContext.changeTrackingId`).
    pub change_tracking_id: i64,
    #[serde(default)]
    pub change_id: Option<i64>,
    /// `VersionControlChangeType` flags as ADO prints them: one text, comma-separated
    /// (`"edit"`, `"edit, rename"`); see [`Self::change_types`].
    #[serde(default)]
    pub change_type: String,
    #[serde(default)]
    pub item: Option<ChangeItem>,
    /// The path before a rename.
    #[serde(default)]
    pub original_path: Option<String>,
}

impl GitPullRequestChange {
    /// The changed path.
    pub fn path(&self) -> Option<&str> {
        self.item.as_ref().and_then(|i| i.path.as_deref())
    }

    /// Each flag of [`Self::change_type`], trimmed, in ADO's order (`["edit", "rename"]`).
    pub fn change_types(&self) -> impl Iterator<Item = &str> {
        self.change_type
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// What the path is: `gitObjectType` (`blob`, `tree`, `commit` for a submodule) when
    /// sent, else `tree` for an item marked `isFolder`; `None` when ADO says neither (as in
    /// the recorded examples).
    pub fn item_type(&self) -> Option<&str> {
        let item = self.item.as_ref()?;
        match (&item.git_object_type, item.is_folder) {
            (Some(t), _) => Some(t),
            (None, true) => Some("tree"),
            (None, false) => None,
        }
    }
}

/// The `item` of a change (`GitItem`; the spec types it as a string, the examples send an
/// object).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ChangeItem {
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub git_object_type: Option<String>,
    #[serde(default)]
    pub is_folder: bool,
    #[serde(default)]
    pub object_id: Option<String>,
    #[serde(default)]
    pub original_object_id: Option<String>,
}

/// `GitPullRequestCommentThread`: a discussion thread, listed without paging (API_FACTS §1.3).
/// System threads (votes, reviewer changes, pushes, merge attempts) have no `status` and say
/// what they record in `properties.CodeReviewThreadType`; see [`Self::thread_type`].
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GitPullRequestCommentThread {
    pub id: i64,
    /// `CommentThreadStatus`: `active`, `fixed`, `wontFix`, `closed`, `byDesign`, `pending`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub published_date: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub last_updated_date: Option<DateTime<Utc>>,
    /// Where in a file the thread is anchored; `null` for PR-level threads.
    #[serde(default)]
    pub thread_context: Option<CommentThreadContext>,
    #[serde(default)]
    pub pull_request_thread_context: Option<PullRequestThreadContext>,
    #[serde(default)]
    pub is_deleted: bool,
    /// Kept whole: `{"Name": {"$type": "System.String", "$value": …}, …}`.
    #[serde(default)]
    pub properties: Option<serde_json::Value>,
    #[serde(default)]
    pub comments: Vec<Comment>,
}

impl GitPullRequestCommentThread {
    /// `CodeReviewThreadType` of a system thread (`VoteUpdate`, `ReviewersUpdate`,
    /// `RefUpdate`, `MergeAttempt`, …); `None` for a discussion.
    pub fn thread_type(&self) -> Option<&str> {
        self.properties
            .as_ref()?
            .get("CodeReviewThreadType")?
            .get("$value")?
            .as_str()
    }
}

/// `CommentThreadContext`: the file and line range a thread is about.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CommentThreadContext {
    #[serde(default)]
    pub file_path: Option<String>,
    #[serde(default)]
    pub left_file_start: Option<CommentPosition>,
    #[serde(default)]
    pub left_file_end: Option<CommentPosition>,
    #[serde(default)]
    pub right_file_start: Option<CommentPosition>,
    #[serde(default)]
    pub right_file_end: Option<CommentPosition>,
}

/// `CommentPosition`: 1-based line and character offset.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CommentPosition {
    #[serde(default)]
    pub line: i64,
    #[serde(default)]
    pub offset: i64,
}

/// `GitPullRequestCommentThreadContext`: which iterations and which changed file
/// (`changeTrackingId`) a file thread was made against.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PullRequestThreadContext {
    #[serde(default)]
    pub change_tracking_id: Option<i64>,
    #[serde(default)]
    pub iteration_context: Option<IterationContext>,
}

/// `CommentIterationContext`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct IterationContext {
    #[serde(default)]
    pub first_comparing_iteration: Option<i64>,
    #[serde(default)]
    pub second_comparing_iteration: Option<i64>,
}

/// `Comment` of a thread. Ids restart at 1 in every thread, so a comment is known by (thread
/// id, comment id); `parentCommentId` 0 is a top-level comment. A deleted comment keeps its
/// place with `isDeleted: true` and no `content`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    pub id: i64,
    #[serde(default)]
    pub parent_comment_id: i64,
    #[serde(default)]
    pub author: Option<IdentityRef>,
    /// `CommentType`: `text`, `system`, `codeChange` (or `unknown`).
    #[serde(default)]
    pub comment_type: Option<String>,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub published_date: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub last_updated_date: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub last_content_updated_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub is_deleted: bool,
    /// How many people liked it (`usersLiked` is a list of identities; only its length is
    /// kept).
    #[serde(default, rename = "usersLiked", deserialize_with = "count")]
    pub users_liked: usize,
}

/// The length of a JSON list whatever its items are; `null` is 0.
fn count<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    Ok(Option::<Vec<serde::de::IgnoredAny>>::deserialize(d)?.map_or(0, |v| v.len()))
}

/// `ResourceRef`: a work item linked to a PR. ADO sends the work item id as a **string**
/// (API_FACTS §7); see [`Self::work_item_id`].
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRef {
    pub id: String,
    #[serde(default)]
    pub url: Option<String>,
}

impl ResourceRef {
    /// The work item id as a number, when the text is one.
    pub fn work_item_id(&self) -> Option<i64> {
        self.id.trim().parse().ok()
    }
}

/// `GitPullRequestStatus`: a status check posted on a PR, or on one of its iterations
/// (`iterationId`), listed without paging (API_FACTS §9.1). Its id is unique within the PR
/// across iterations; one per (`context.genre`, `context.name`) is the natural key.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GitPullRequestStatus {
    pub id: i64,
    /// `GitStatusState`: `notSet`, `pending`, `succeeded`, `failed`, `error`, `notApplicable`.
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub context: Option<GitStatusContext>,
    #[serde(default)]
    pub target_url: Option<String>,
    #[serde(default)]
    pub iteration_id: Option<i64>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub creation_date: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub updated_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub created_by: Option<IdentityRef>,
    #[serde(default)]
    pub properties: Option<serde_json::Value>,
}

/// `GitStatusContext`: who posted a status (`genre`, may be empty) and what it checks (`name`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GitStatusContext {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub genre: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ado::models::example::{self, list, single};

    fn at(s: &str) -> Option<DateTime<Utc>> {
        Some(DateTime::parse_from_rfc3339(s).unwrap().to_utc())
    }

    const GIT: &str =
        "git/v5.0__pullRequests__GET__git_repositories__repositoryId__pullRequests__pullRequestId_";

    #[test]
    fn example_git_pull_request_iterations() {
        let it: Vec<GitPullRequestIteration> = list(&format!("{GIT}_iterations.json"));
        assert_eq!(it.len(), 2);
        assert_eq!(it[0].id, 1);
        assert_eq!(it[0].push_id(), None, "the first iteration names no push");
        assert_eq!(it[1].push_id(), Some(188));
        assert_eq!(it[0].created_date, at("2016-11-01T16:30:32.1228821Z"));
        assert_eq!(it[1].updated_date, at("2016-11-01T16:30:40.7965635Z"));
        assert_eq!(
            it[1].source_ref_commit.as_ref().unwrap().commit_id,
            "8c9396b5cf22f929767c7172e9dbbe777ddc6357"
        );
        assert_eq!(
            it[1].common_ref_commit.as_ref().unwrap().commit_id,
            "f47bbc106853afe3c1b07a81754bce5f4b8dbf62"
        );
        assert_eq!(
            it[0].author.as_ref().unwrap().unique_name.as_deref(),
            Some("fabrikamfiber16@hotmail.com")
        );
        assert_eq!(it[0].description.as_deref(), Some("Added new_feature.cpp"));
    }

    #[test]
    fn example_git_pull_request_iteration_by_id() {
        let it: GitPullRequestIteration = single(&format!("{GIT}_iterations__iterationId_.json"));
        assert_eq!(it.id, 2);
        assert_eq!(
            it.target_ref_commit.unwrap().commit_id,
            "f47bbc106853afe3c1b07a81754bce5f4b8dbf62"
        );
    }

    const CHANGES: &str = "git/pullRequestIterationChanges__GET__git_repositories__repositoryId__pullRequests__pullRequestId__iterations__iterationId__changes";

    #[test]
    fn example_git_pull_request_iteration_changes() {
        let c: GitPullRequestIterationChanges = single(&format!("{CHANGES}.json"));
        assert_eq!(c.next_skip, None, "one page: no nextSkip");
        let paths: Vec<_> = c.change_entries.iter().filter_map(|e| e.path()).collect();
        assert_eq!(paths, ["/new_feature.cpp", "/new_feature.h"]);
        assert_eq!(c.change_entries[1].change_tracking_id, 2);
        assert_eq!(c.change_entries[1].change_id, Some(2));
        assert_eq!(
            c.change_entries[0].change_types().collect::<Vec<_>>(),
            ["add"]
        );
        assert_eq!(c.change_entries[0].item_type(), None, "not sent");
    }

    #[test]
    fn example_git_pull_request_iteration_changes_compare_to() {
        let c: GitPullRequestIterationChanges = single(&format!("{CHANGES}__compareTo.json"));
        let e = &c.change_entries[0];
        assert_eq!(e.change_type, "edit");
        assert_eq!(
            e.item.as_ref().unwrap().original_object_id.as_deref(),
            Some("ff93e64a68f5538ad87cd06dcd50ebd107967933")
        );
    }

    #[test]
    fn change_types_are_comma_separated_flags() {
        let c: GitPullRequestChange = serde_json::from_value(serde_json::json!({
            "changeTrackingId": 7,
            "changeType": "edit, rename",
            "item": {"path": "/b.rs", "isFolder": false, "gitObjectType": "blob"},
            "originalPath": "/a.rs"
        }))
        .unwrap();
        assert_eq!(c.change_types().collect::<Vec<_>>(), ["edit", "rename"]);
        assert_eq!(c.original_path.as_deref(), Some("/a.rs"));
        assert_eq!(c.item_type(), Some("blob"));
        let folder: GitPullRequestChange = serde_json::from_value(serde_json::json!({
            "changeTrackingId": 8, "changeType": "add", "item": {"path": "/d", "isFolder": true}
        }))
        .unwrap();
        assert_eq!(folder.item_type(), Some("tree"));
    }

    #[test]
    fn iteration_changes_read_next_skip() {
        let c: GitPullRequestIterationChanges = serde_json::from_value(serde_json::json!({
            "changeEntries": [], "nextSkip": 2000, "nextTop": 2000
        }))
        .unwrap();
        assert_eq!((c.next_skip, c.next_top), (Some(2000), Some(2000)));
    }

    #[test]
    fn example_git_pull_request_threads() {
        let t: Vec<GitPullRequestCommentThread> = list(
            "git/pullRequestThreads__GET__git_repositories__repositoryId__pullRequests__pullRequestId__threads.json",
        );
        assert_eq!(t.len(), 8);
        assert_eq!(t[0].id, 141);
        assert_eq!(t[0].thread_type(), Some("MergeAttempt"));
        assert_eq!(t[0].status, None, "system threads have no status");
        assert_eq!(t[2].thread_type(), Some("VoteUpdate"));
        assert_eq!(t[0].comments[0].comment_type.as_deref(), Some("system"));
        assert_eq!(t[0].published_date, at("2016-11-01T16:30:32.74Z"));

        let file = &t[7];
        assert_eq!(file.id, 148);
        assert_eq!(file.status.as_deref(), Some("active"));
        assert_eq!(file.thread_type(), None);
        assert_eq!(file.last_updated_date, at("2016-11-01T16:30:52.48Z"));
        let ctx = file.thread_context.as_ref().unwrap();
        assert_eq!(ctx.file_path.as_deref(), Some("/new_feature.cpp"));
        assert_eq!(
            ctx.right_file_start,
            Some(CommentPosition { line: 5, offset: 1 })
        );
        assert_eq!(ctx.right_file_end.unwrap().offset, 13);
        assert_eq!(ctx.left_file_start, None);
        let pr_ctx = file.pull_request_thread_context.as_ref().unwrap();
        assert_eq!(pr_ctx.change_tracking_id, Some(1));
        assert_eq!(
            pr_ctx.iteration_context.unwrap().second_comparing_iteration,
            Some(2)
        );

        let (first, reply) = (&file.comments[0], &file.comments[1]);
        assert_eq!((first.id, first.parent_comment_id), (1, 0));
        assert_eq!((reply.id, reply.parent_comment_id), (2, 1));
        assert!(reply.is_deleted && reply.content.is_none());
        assert_eq!(
            first.content.as_deref(),
            Some("Should we add a comment about what this value means?")
        );
        assert_eq!(first.users_liked, 0);
        assert_eq!(reply.last_updated_date, at("2016-11-01T16:30:52.48Z"));
        // Comment ids restart in every thread.
        assert!(t.iter().all(|t| t.comments[0].id == 1));
    }

    #[test]
    fn liked_counts_the_identities() {
        let c: Comment = serde_json::from_value(serde_json::json!({
            "id": 3, "usersLiked": [{"id": "a"}, {"id": "b"}],
            "lastContentUpdatedDate": "0001-01-01T00:00:00"
        }))
        .unwrap();
        assert_eq!(c.users_liked, 2);
        assert_eq!(c.last_content_updated_date, None, "MinValue is not set");
        let none: Comment =
            serde_json::from_value(serde_json::json!({"id": 1, "usersLiked": null})).unwrap();
        assert_eq!(none.users_liked, 0);
    }

    #[test]
    fn example_git_pull_request_work_items() {
        let w: Vec<ResourceRef> = list(
            "git/v5.0__pullRequests__GET__git_repositories__repositoryId__pullRequests__autoCompletePullRequestId__workitems.json",
        );
        assert_eq!(w[0].id, "1", "ADO sends the id as a string");
        assert_eq!(w[0].work_item_id(), Some(1));
        assert_eq!(
            w[0].url.as_deref(),
            Some("https://dev.azure.com/fabrikam/_apis/wit/workItems/1")
        );
    }

    #[test]
    fn example_git_pull_request_statuses() {
        let s: Vec<GitPullRequestStatus> =
            list("git/pullRequestStatuses__GET_git_pullRequestStatuses_statuses.json");
        assert_eq!(s.iter().map(|s| s.id).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(s[1].state.as_deref(), Some("succeeded"));
        let ctx = s[1].context.as_ref().unwrap();
        assert_eq!(ctx.name.as_deref(), Some("sample-status-4"));
        assert_eq!(ctx.genre.as_deref(), Some("vsts-samples"));
        assert_eq!(s[0].creation_date, at("2017-09-19T14:50:27.064405Z"));
        assert_eq!(s[0].iteration_id, None, "a PR-level status");
        assert_eq!(
            s[0].target_url.as_deref(),
            Some("http://fabrikam-fiber-inc.com/CI/builds/1")
        );
    }

    #[test]
    fn example_git_pull_request_status_by_id() {
        let s: GitPullRequestStatus =
            single("git/pullRequestStatuses__GET_git_pullRequestStatuses_status.json");
        assert_eq!(s.id, 1);
        assert_eq!(s.description.as_deref(), Some("Sample status succeeded"));
        assert_eq!(s.updated_date, at("2017-09-19T14:50:27.4949745Z"));
        assert_eq!(
            s.created_by.unwrap().id,
            "6f168adb-59d4-4fc0-be3b-fb21b939b2a6"
        );
    }

    #[test]
    fn example_git_pull_request_iteration_statuses() {
        let s: Vec<GitPullRequestStatus> = list(
            "git/pullRequestIterationStatuses__GET_git_pullRequestStatuses_iterationStatuses.json",
        );
        assert!(s.iter().all(|s| s.iteration_id == Some(1)));
        assert_eq!(
            s[0].context.as_ref().unwrap().name.as_deref(),
            Some("sample-status-3")
        );
    }

    #[test]
    fn commit_statuses_lack_the_id_a_pr_status_has() {
        // `commits/{id}/statuses` items have no `id` (API_FACTS §9.2): not a PR status.
        let body = example::body(
            "git/statuses__GET__git_repositories__repositoryId__commits__commitId__statuses.json",
        );
        let first = body["value"][0].clone();
        assert!(serde_json::from_value::<GitPullRequestStatus>(first).is_err());
    }
}
