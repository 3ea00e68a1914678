//! Git area mapping: repositories, pull requests, reviewers and the users they mention.

use crate::ado::models::git::{GitPullRequest, GitRepository};
use crate::ado::models::{IdentityRef, WithRaw};
use crate::store::{PullRequestRow, RepositoryRow, ReviewerRow, UserRow};
use std::collections::BTreeMap;

/// A listed repository → its row.
pub fn repository_row(r: &WithRaw<GitRepository>) -> RepositoryRow {
    let v = &r.value;
    RepositoryRow {
        id: v.id.clone(),
        project_id: v.project.id.clone(),
        name: v.name.clone(),
        default_branch: v.default_branch.clone(),
        size: v.size,
        is_disabled: v.is_disabled,
        raw: r.raw.get().to_string(),
    }
}

/// A listed pull request → its row and its reviewer set. `project_id` is the project the
/// listing was made in; the PR's own repository reference wins when it names one.
pub fn pull_request_row(
    p: &WithRaw<GitPullRequest>,
    project_id: &str,
) -> (PullRequestRow, Vec<ReviewerRow>) {
    let mut row = fields_of(&p.value, project_id);
    row.raw = p.raw.get().to_string();
    (row, reviewers_of(&p.value))
}

/// [`pull_request_row`] that consumes the listed item and moves its JSON into the row instead
/// of copying it: a page of 1,000 PRs carries megabytes of it, and every page in flight
/// counts towards the process's peak memory.
pub fn into_pull_request_row(
    p: WithRaw<GitPullRequest>,
    project_id: &str,
) -> (PullRequestRow, Vec<ReviewerRow>) {
    let reviewers = reviewers_of(&p.value);
    let mut row = fields_of(&p.value, project_id);
    let raw: Box<str> = p.raw.into();
    row.raw = raw.into_string();
    (row, reviewers)
}

/// A PR's reviewers, one row per reviewer id (the first listed wins), sorted.
fn reviewers_of(v: &GitPullRequest) -> Vec<ReviewerRow> {
    let mut reviewers: Vec<ReviewerRow> = v
        .reviewers
        .iter()
        .map(|r| ReviewerRow {
            pull_request_id: v.pull_request_id,
            reviewer_id: r.identity.id.clone(),
            vote: r.vote,
            is_required: r.is_required,
            has_declined: r.has_declined,
        })
        .collect();
    reviewers.sort();
    reviewers.dedup_by(|a, b| a.reviewer_id == b.reviewer_id);
    reviewers
}

/// Every column of a PR row but `raw` (left empty).
fn fields_of(v: &GitPullRequest, project_id: &str) -> PullRequestRow {
    PullRequestRow {
        id: v.pull_request_id,
        repository_id: v.repository.id.clone(),
        project_id: v
            .repository
            .project
            .as_ref()
            .map(|p| p.id.clone())
            .unwrap_or_else(|| project_id.to_string()),
        title: v.title.clone(),
        status: v.status.clone(),
        is_draft: v.is_draft,
        created_by_id: v.created_by.as_ref().map(|c| c.id.clone()),
        creation_date: v.creation_date,
        closed_date: v.closed_date,
        source_ref: v.source_ref_name.clone(),
        target_ref: v.target_ref_name.clone(),
        merge_status: v.merge_status.clone(),
        last_merge_source_commit: v
            .last_merge_source_commit
            .as_ref()
            .map(|c| c.commit_id.clone()),
        last_merge_commit: v.last_merge_commit.as_ref().map(|c| c.commit_id.clone()),
        change_marker: Some(change_marker(v)),
        raw: String::new(),
    }
}

/// What the PR list shows of a change inside a PR: its status, closed date, source commit,
/// draft flag and every reviewer's vote, hashed (FNV-1a, 64 bits, hex). ADO's PR has no
/// "updated" date and the list carries no thread or iteration counter (API_FACTS §4.3), so
/// this is the whole signal: a push moves the source commit (new iterations, commits and
/// changes), a vote moves the votes (and adds a system thread), completion moves the status.
/// A comment alone moves none of them; it is caught by the next change of the PR, by its
/// final fetch after closing, or by a webhook. A hash rather than the text so that a PR with
/// many reviewers has a short marker; a collision can only delay a refresh, never corrupt a
/// row. Not `std::hash`: its output may change between Rust releases, and a stored marker
/// must compare equal across upgrades.
pub fn change_marker(v: &GitPullRequest) -> String {
    let mut votes: Vec<(&str, i32)> = v
        .reviewers
        .iter()
        .map(|r| (r.identity.id.as_str(), r.vote))
        .collect();
    votes.sort_unstable();
    let mut h = Fnv::default();
    h.field(v.status.as_bytes());
    h.field(
        v.closed_date
            .map(|t| t.timestamp_micros().to_string())
            .unwrap_or_default()
            .as_bytes(),
    );
    h.field(
        v.last_merge_source_commit
            .as_ref()
            .map_or("", |c| c.commit_id.as_str())
            .as_bytes(),
    );
    h.field(if v.is_draft { b"d" } else { b"-" });
    for (id, vote) in votes {
        h.field(id.as_bytes());
        h.field(vote.to_string().as_bytes());
    }
    format!("{:016x}", h.0)
}

/// FNV-1a, 64 bits, over fields separated by a byte no field contains.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn field(&mut self, bytes: &[u8]) {
        for b in bytes.iter().chain(std::iter::once(&0xff)) {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

pub(crate) fn user_row(i: &IdentityRef) -> UserRow {
    UserRow {
        id: i.id.clone(),
        display_name: i.display_name.clone(),
        unique_name: i.unique_name.clone(),
        is_container: i.is_container,
        descriptor: i.descriptor.clone(),
    }
}

/// Creators and reviewers of a page of pull requests, one row per identity.
pub fn users_of<'a>(prs: impl IntoIterator<Item = &'a GitPullRequest>) -> Vec<UserRow> {
    let mut users = BTreeMap::new();
    for pr in prs {
        if let Some(c) = &pr.created_by {
            users.entry(c.id.clone()).or_insert_with(|| user_row(c));
        }
        for r in &pr.reviewers {
            users
                .entry(r.identity.id.clone())
                .or_insert_with(|| user_row(&r.identity));
        }
    }
    users.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ado::models::{ListEnvelope, example};

    fn prs(file: &str) -> Vec<WithRaw<GitPullRequest>> {
        let env: ListEnvelope<WithRaw<GitPullRequest>> =
            serde_json::from_str(&example::body_text(file)).unwrap();
        env.value
    }

    #[test]
    fn pull_request_maps_every_typed_column() {
        let page = prs(
            "git/pullRequests__GET__git_repositories__repositoryId__pullRequests_status-completed.json",
        );
        let (row, reviewers) = pull_request_row(&page[0], "fallback");
        let raw: serde_json::Value = serde_json::from_str(&row.raw).unwrap();
        assert_eq!(row.id, raw["pullRequestId"].as_i64().unwrap());
        assert_eq!(row.status, "completed");
        assert_eq!(row.repository_id, raw["repository"]["id"].as_str().unwrap());
        assert_eq!(
            row.project_id,
            raw["repository"]["project"]["id"].as_str().unwrap()
        );
        assert_eq!(
            row.created_by_id.as_deref(),
            raw["createdBy"]["id"].as_str()
        );
        assert_eq!(row.title, raw["title"].as_str().unwrap());
        assert_eq!(row.source_ref, raw["sourceRefName"].as_str().unwrap());
        assert_eq!(row.target_ref, raw["targetRefName"].as_str().unwrap());
        assert_eq!(
            row.last_merge_source_commit.as_deref(),
            raw["lastMergeSourceCommit"]["commitId"].as_str()
        );
        assert_eq!(
            row.last_merge_commit.as_deref(),
            raw["lastMergeCommit"]["commitId"].as_str()
        );
        assert!(row.closed_date.is_some());
        assert!(
            !row.is_draft,
            "old recordings have no isDraft: default false"
        );
        assert_eq!(reviewers.len(), raw["reviewers"].as_array().unwrap().len());
        assert!(reviewers.iter().all(|r| r.pull_request_id == row.id));
    }

    #[test]
    fn users_are_deduplicated_across_creators_and_reviewers() {
        let page = prs("git/pullRequests__GET__git_repositories__repositoryId__pullRequests.json");
        let users = users_of(page.iter().map(|p| &p.value));
        let mut ids: Vec<_> = users.iter().map(|u| u.id.clone()).collect();
        ids.dedup();
        assert_eq!(ids.len(), users.len());
        assert!(
            users
                .iter()
                .any(|u| u.display_name.as_deref() == Some("Normal Paulk"))
        );
    }

    #[test]
    fn repository_without_default_branch_maps_to_null() {
        let env: ListEnvelope<WithRaw<GitRepository>> = serde_json::from_str(&example::body_text(
            "git/repositories__GET__git_repositories.json",
        ))
        .unwrap();
        let rows: Vec<_> = env.value.iter().map(repository_row).collect();
        assert_eq!(rows[0].default_branch, None);
        assert_eq!(rows[1].default_branch.as_deref(), Some("refs/heads/master"));
        assert!(rows.iter().all(|r| !r.is_disabled));
    }
}
