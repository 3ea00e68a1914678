//! Git commits: `GitCommitRef` as the PR commits list and the repository history
//! (`commits?searchCriteria.*`) return it, with its author/committer and change counts, and
//! the push reference that commits and PR iterations carry.

use super::IdentityRef;
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// `GitCommitRef`: one commit of a PR (`pullRequests/{id}/commits`) or of a branch's history
/// (`commits?searchCriteria.itemVersion.version=`, API_FACTS §4.4).
///
/// Quirks in the recorded examples: list responses carry no `parents` (only a single commit's
/// GET does), PR commit lists carry no `changeCounts`, and `comment` may be cut short with
/// `commentTruncated: true` (the full text needs the single-commit GET).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GitCommitRef {
    pub commit_id: String,
    #[serde(default)]
    pub author: Option<GitUserDate>,
    #[serde(default)]
    pub committer: Option<GitUserDate>,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub comment_truncated: bool,
    #[serde(default)]
    pub change_counts: Option<ChangeCounts>,
    /// Parent commit ids; `None` when the listing does not send them (see above), empty for
    /// a root commit.
    #[serde(default)]
    pub parents: Option<Vec<String>>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub remote_url: Option<String>,
    #[serde(default)]
    pub push: Option<GitPushRef>,
}

/// `GitUserDate`: a commit's author or committer as git records them (name and e-mail, not
/// an ADO identity).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GitUserDate {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub date: Option<DateTime<Utc>>,
}

/// `ChangeCountDictionary`: files added, edited and deleted by a commit. ADO spells the keys
/// with a capital (`{"Add": 0, "Edit": 1, "Delete": 0}`) and leaves a kind out when its count
/// is zero (`commitsBatch` sends `{"Edit": 1}` alone), so a missing key is 0.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
pub struct ChangeCounts {
    #[serde(default, rename = "Add")]
    pub add: i64,
    #[serde(default, rename = "Edit")]
    pub edit: i64,
    #[serde(default, rename = "Delete")]
    pub delete: i64,
}

/// `GitPushRef`: the push that brought a commit or a PR iteration.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GitPushRef {
    pub push_id: i64,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub pushed_by: Option<IdentityRef>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ado::models::example::{list, single};

    fn at(s: &str) -> Option<DateTime<Utc>> {
        Some(DateTime::parse_from_rfc3339(s).unwrap().to_utc())
    }

    #[test]
    fn example_git_commits() {
        let c: Vec<GitCommitRef> =
            list("git/commits__GET__git_repositories__repositoryId__commits.json");
        assert_eq!(c.len(), 8);
        assert_eq!(c[0].commit_id, "9991b4f66def4c0a9ad8f9f27043ece7eddcf1c7");
        assert!(c[0].comment_truncated);
        assert_eq!(
            c[0].change_counts,
            Some(ChangeCounts {
                add: 0,
                edit: 0,
                delete: 1
            })
        );
        let author = c[0].author.as_ref().unwrap();
        assert_eq!(author.email.as_deref(), Some("Fabrikamfiber16@hotmail.com"));
        assert_eq!(author.date, at("2018-06-15T17:06:53Z"));
        assert!(
            c.iter().all(|c| c.parents.is_none()),
            "lists send no parents"
        );
    }

    #[test]
    fn example_git_commits_skip_top() {
        let c: Vec<GitCommitRef> = list(
            "git/commits__GET__git_repositories__repositoryId__commits__skip-_skip___top-_top_.json",
        );
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].commit_id, "c771e2e3605c69d2435a6b34b28ac3db2c89efd2");
        assert_eq!(
            c[0].comment.as_deref(),
            Some("Merge pull request 2 from b2 into master")
        );
    }

    #[test]
    fn example_git_commits_branch() {
        let c: Vec<GitCommitRef> =
            list("git/commits__GET__git_repositories__repositoryId__commits_branch.json");
        assert_eq!(c.len(), 6);
        assert_eq!(c[0].commit_id, "9991b4f66def4c0a9ad8f9f27043ece7eddcf1c7");
        assert!(
            c.iter()
                .all(|c| c.committer.as_ref().is_some_and(|u| u.date.is_some()))
        );
    }

    #[test]
    fn example_git_commits_by_author() {
        let c: Vec<GitCommitRef> =
            list("git/commits__GET__git_repositories__repositoryId__commits_author-_author_.json");
        assert!(
            c.iter()
                .all(|c| c.author.as_ref().unwrap().name.as_deref() == Some("Norman Paulk"))
        );
    }

    #[test]
    fn example_git_commits_from_to_date() {
        let c: Vec<GitCommitRef> = list(
            "git/commits__GET__git_repositories__repositoryId__commits_fromDate-_fromDate__toDate-_toDate_.json",
        );
        let (from, to) = (at("2018-06-14T00:00:00Z"), at("2018-06-16T00:00:00Z"));
        assert!(c.iter().all(|c| {
            let d = c.author.as_ref().unwrap().date;
            d >= from && d < to
        }));
    }

    #[test]
    fn example_git_commit_by_id_has_parents_and_push() {
        let c: GitCommitRef =
            single("git/commits__GET__git_repositories__repositoryId__commits__commitId_.json");
        assert_eq!(c.commit_id, "be67f8871a4d2c75f13a51c1d3c30ac0d74d4ef4");
        assert_eq!(
            c.parents.as_deref(),
            Some(&[][..]),
            "the first commit has no parent, and says so"
        );
        let push = c.push.unwrap();
        assert_eq!(push.push_id, 1);
        assert_eq!(push.date, at("2014-01-29T23:33:15.2434002Z"));
        assert_eq!(c.comment.as_deref(), Some("First cut\n"));
    }

    #[test]
    fn example_git_commit_with_changes() {
        let c: GitCommitRef = single(
            "git/commits__GET__git_repositories__repositoryId__commits__commitId__changeCount-10.json",
        );
        assert_eq!(c.change_counts.unwrap().add, 456);
    }

    #[test]
    fn example_git_commits_batch_leaves_zero_counts_out() {
        let c: Vec<GitCommitRef> =
            list("git/commitsBatch__POST__git_repositories__repositoryId__commitsBatch__ids.json");
        assert_eq!(c[0].commit_id, "23d0bc5b128a10056dc68afece360d8a0fabb014");
        assert_eq!(
            c[0].change_counts,
            Some(ChangeCounts {
                add: 0,
                edit: 1,
                delete: 0
            })
        );
    }

    #[test]
    fn example_git_pull_request_commits() {
        let c: Vec<GitCommitRef> = list(
            "git/v5.0__pullRequests__GET__git_repositories__repositoryId__pullRequests__pullRequestId__commits.json",
        );
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].commit_id, "8c9396b5cf22f929767c7172e9dbbe777ddc6357");
        assert_eq!(c[0].change_counts, None, "PR commit lists send no counts");
        assert_eq!(
            c[0].author.as_ref().unwrap().date,
            at("2016-11-01T16:30:37Z")
        );
    }

    #[test]
    fn example_git_pull_request_iteration_commits() {
        let c: Vec<GitCommitRef> = list(
            "git/v5.0__pullRequests__GET__git_repositories__repositoryId__pullRequests__pullRequestId__iterations__iterationId__commits.json",
        );
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].comment.as_deref(), Some("Updated new_feature.cpp"));
    }

    #[test]
    fn example_onprem_commits() {
        let c: Vec<GitCommitRef> = list(
            "onprem/azure-devops-server-7.1__commits__GET__git_repositories__repositoryId__commits-onprem.json",
        );
        assert_eq!(c.len(), 8);
        assert!(
            c[0].url
                .as_deref()
                .unwrap()
                .starts_with("https://fabrikam:8080/")
        );
    }
}
