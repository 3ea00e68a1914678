//! The inside of a pull request, from ADO models to rows: iterations, changes, threads and
//! comments, linked work items, statuses and policy evaluations.

use std::collections::BTreeMap;

use serde_json::value::RawValue;

use super::git::user_row;
use crate::ado::models::git_commits::GitCommitRef;
use crate::ado::models::git_pr::{
    GitPullRequestChange, GitPullRequestCommentThread, GitPullRequestIteration,
    GitPullRequestStatus, ResourceRef,
};
use crate::ado::models::policy::PolicyEvaluationRecord;
use crate::ado::models::{IdentityRef, WithRaw};
use crate::store::UserRow;
use crate::store::schema::pr::{
    PullRequestChangeRow, PullRequestCommentRow, PullRequestCommitRow, PullRequestIterationRow,
    PullRequestPolicyEvaluationRow, PullRequestStatusRow, PullRequestThreadRow,
    PullRequestWorkItemRow,
};

/// The PR the rows belong to.
#[derive(Debug, Clone, Copy)]
pub struct Pr<'a> {
    pub id: i64,
    pub repository_id: &'a str,
}

fn raw_text(raw: &RawValue) -> String {
    raw.get().to_string()
}

pub fn iteration_row(pr: Pr<'_>, it: &WithRaw<GitPullRequestIteration>) -> PullRequestIterationRow {
    let v = &it.value;
    PullRequestIterationRow {
        pull_request_id: pr.id,
        id: v.id,
        repository_id: pr.repository_id.to_string(),
        description: v.description.clone(),
        author_id: v.author.as_ref().map(|a| a.id.clone()),
        created_date: v.created_date,
        updated_date: v.updated_date,
        source_commit: v.source_ref_commit.as_ref().map(|c| c.commit_id.clone()),
        target_commit: v.target_ref_commit.as_ref().map(|c| c.commit_id.clone()),
        common_commit: v.common_ref_commit.as_ref().map(|c| c.commit_id.clone()),
        push_id: v.push_id(),
        reason: v.reason.clone(),
        raw: raw_text(&it.raw),
    }
}

pub fn change_row(
    pr: Pr<'_>,
    iteration: i64,
    c: &WithRaw<GitPullRequestChange>,
) -> PullRequestChangeRow {
    let v = &c.value;
    PullRequestChangeRow {
        pull_request_id: pr.id,
        iteration_id: iteration,
        change_tracking_id: v.change_tracking_id,
        repository_id: pr.repository_id.to_string(),
        change_id: v.change_id,
        path: v.path().map(str::to_string),
        change_type: v.change_type.clone(),
        original_path: v.original_path.clone(),
        item_type: v.item_type().map(str::to_string),
        raw: raw_text(&c.raw),
    }
}

/// A thread's row, with its raw JSON minus `comments`, and one row per comment, each with its
/// own JSON: a comment's text is stored once.
pub fn thread_rows(
    pr: Pr<'_>,
    t: &WithRaw<GitPullRequestCommentThread>,
) -> (PullRequestThreadRow, Vec<PullRequestCommentRow>) {
    let v = &t.value;
    let mut object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(t.raw.get()).unwrap_or_default();
    let comments_json = match object.remove("comments") {
        Some(serde_json::Value::Array(list)) => list,
        _ => Vec::new(),
    };
    let context = v.thread_context.as_ref();
    let thread = PullRequestThreadRow {
        pull_request_id: pr.id,
        id: v.id,
        repository_id: pr.repository_id.to_string(),
        status: v.status.clone(),
        thread_type: v.thread_type().map(str::to_string),
        published_date: v.published_date,
        last_updated_date: v.last_updated_date,
        file_path: context.and_then(|c| c.file_path.clone()),
        right_line_start: context.and_then(|c| c.right_file_start).map(|p| p.line),
        right_line_end: context.and_then(|c| c.right_file_end).map(|p| p.line),
        change_tracking_id: v
            .pull_request_thread_context
            .as_ref()
            .and_then(|c| c.change_tracking_id),
        is_deleted: v.is_deleted,
        properties: v.properties.as_ref().map(|p| p.to_string()),
        raw: serde_json::Value::Object(object).to_string(),
    };
    // The typed comments and their JSON come from the same array, in the same order.
    let comments = v
        .comments
        .iter()
        .zip(comments_json.iter())
        .map(|(c, raw)| PullRequestCommentRow {
            pull_request_id: pr.id,
            thread_id: v.id,
            id: c.id,
            repository_id: pr.repository_id.to_string(),
            parent_comment_id: c.parent_comment_id,
            author_id: c.author.as_ref().map(|a| a.id.clone()),
            comment_type: c.comment_type.clone(),
            content: c.content.clone(),
            published_date: c.published_date,
            last_updated_date: c.last_updated_date,
            last_content_updated_date: c.last_content_updated_date,
            is_deleted: c.is_deleted,
            liked_by: i64::try_from(c.users_liked).unwrap_or(i64::MAX),
            raw: raw.to_string(),
        })
        .collect();
    (thread, comments)
}

/// `None` when the id is not a number (never seen; logged by the caller).
pub fn work_item_row(pr: Pr<'_>, w: &WithRaw<ResourceRef>) -> Option<PullRequestWorkItemRow> {
    Some(PullRequestWorkItemRow {
        pull_request_id: pr.id,
        work_item_id: w.value.work_item_id()?,
        repository_id: pr.repository_id.to_string(),
        url: w.value.url.clone(),
    })
}

pub fn status_row(pr: Pr<'_>, s: &WithRaw<GitPullRequestStatus>) -> PullRequestStatusRow {
    let v = &s.value;
    PullRequestStatusRow {
        pull_request_id: pr.id,
        id: v.id,
        repository_id: pr.repository_id.to_string(),
        iteration_id: v.iteration_id,
        state: v.state.clone(),
        description: v.description.clone(),
        genre: v.context.as_ref().and_then(|c| c.genre.clone()),
        name: v.context.as_ref().and_then(|c| c.name.clone()),
        target_url: v.target_url.clone(),
        created_by_id: v.created_by.as_ref().map(|c| c.id.clone()),
        creation_date: v.creation_date,
        updated_date: v.updated_date,
        raw: raw_text(&s.raw),
    }
}

pub fn policy_evaluation_row(
    pr: Pr<'_>,
    e: &WithRaw<PolicyEvaluationRecord>,
) -> PullRequestPolicyEvaluationRow {
    let v = &e.value;
    let config = v.configuration.as_ref();
    let kind = config.and_then(|c| c.policy_type.as_ref());
    PullRequestPolicyEvaluationRow {
        pull_request_id: pr.id,
        evaluation_id: v.evaluation_id.clone(),
        repository_id: pr.repository_id.to_string(),
        configuration_id: config.map(|c| c.id),
        configuration_revision: config.and_then(|c| c.revision),
        policy_type_id: kind.map(|k| k.id.clone()),
        policy_type: kind.and_then(|k| k.display_name.clone()),
        is_blocking: config.is_some_and(|c| c.is_blocking),
        is_enabled: config.is_some_and(|c| c.is_enabled),
        status: v.status.clone(),
        started_date: v.started_date,
        completed_date: v.completed_date,
        raw: raw_text(&e.raw),
    }
}

/// A commit of a PR. `title` is the first line of the message as listed (a truncated
/// message still starts with it).
pub fn commit_row(pr: Pr<'_>, c: &WithRaw<GitCommitRef>) -> PullRequestCommitRow {
    let v = &c.value;
    let counts = v.change_counts;
    PullRequestCommitRow {
        pull_request_id: pr.id,
        commit_id: v.commit_id.clone(),
        repository_id: pr.repository_id.to_string(),
        author_name: v.author.as_ref().and_then(|a| a.name.clone()),
        author_email: v.author.as_ref().and_then(|a| a.email.clone()),
        author_date: v.author.as_ref().and_then(|a| a.date),
        committer_name: v.committer.as_ref().and_then(|a| a.name.clone()),
        committer_email: v.committer.as_ref().and_then(|a| a.email.clone()),
        committer_date: v.committer.as_ref().and_then(|a| a.date),
        title: super::commits::title(v.comment.as_deref()),
        comment: v.comment.clone(),
        comment_truncated: v.comment_truncated,
        adds: counts.map(|c| c.add),
        edits: counts.map(|c| c.edit),
        deletes: counts.map(|c| c.delete),
        raw: raw_text(&c.raw),
    }
}

/// The people the inside of a PR names (iteration authors, comment authors, status posters),
/// one row per identity, so every `*_id` column joins `users`.
#[derive(Default)]
pub struct People(BTreeMap<String, UserRow>);

impl People {
    pub fn add(&mut self, i: Option<&IdentityRef>) {
        if let Some(i) = i {
            self.0.entry(i.id.clone()).or_insert_with(|| user_row(i));
        }
    }

    pub fn into_rows(self) -> Vec<UserRow> {
        self.0.into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ado::models::ListEnvelope;
    use crate::ado::models::example::body_text;

    const PR: Pr<'static> = Pr {
        id: 22,
        repository_id: "r",
    };

    fn list<T: serde::de::DeserializeOwned>(file: &str) -> Vec<WithRaw<T>> {
        let env: ListEnvelope<WithRaw<T>> = serde_json::from_str(&body_text(file)).unwrap();
        env.value
    }

    const GIT: &str =
        "git/v5.0__pullRequests__GET__git_repositories__repositoryId__pullRequests__pullRequestId_";

    #[test]
    fn threads_keep_comments_once_and_deleted_ones_without_text() {
        let threads: Vec<WithRaw<GitPullRequestCommentThread>> = list(
            "git/pullRequestThreads__GET__git_repositories__repositoryId__pullRequests__pullRequestId__threads.json",
        );
        let mut all = Vec::new();
        for t in &threads {
            let (row, comments) = thread_rows(PR, t);
            let raw: serde_json::Value = serde_json::from_str(&row.raw).unwrap();
            assert!(
                raw.get("comments").is_none(),
                "a thread's raw lacks comments"
            );
            assert_eq!(raw["id"].as_i64(), Some(row.id));
            assert_eq!(comments.len(), t.value.comments.len());
            for c in &comments {
                let craw: serde_json::Value = serde_json::from_str(&c.raw).unwrap();
                assert_eq!(craw["id"].as_i64(), Some(c.id));
                assert_eq!(c.thread_id, row.id);
                assert_eq!(c.content.as_deref(), craw["content"].as_str());
            }
            all.push((row, comments));
        }
        assert!(
            all.iter()
                .any(|(t, _)| t.status.is_none() && t.thread_type.is_some()),
            "the example has a system thread"
        );
    }

    #[test]
    fn iterations_changes_work_items_and_statuses_map_their_columns() {
        let its: Vec<WithRaw<GitPullRequestIteration>> = list(&format!("{GIT}_iterations.json"));
        let first = iteration_row(PR, &its[0]);
        assert_eq!((first.id, first.push_id), (1, None));
        let second = iteration_row(PR, &its[1]);
        assert_eq!(second.push_id, Some(188));
        assert_eq!(
            second.source_commit.as_deref(),
            Some("8c9396b5cf22f929767c7172e9dbbe777ddc6357")
        );
        let env: crate::ado::models::git_pr::GitPullRequestIterationChanges<
            WithRaw<GitPullRequestChange>,
        > = serde_json::from_str(&body_text(
            "git/pullRequestIterationChanges__GET__git_repositories__repositoryId__pullRequests__pullRequestId__iterations__iterationId__changes.json",
        ))
        .unwrap();
        let changes: Vec<_> = env
            .change_entries
            .iter()
            .map(|c| change_row(PR, 2, c))
            .collect();
        assert!(!changes.is_empty());
        assert!(
            changes
                .iter()
                .all(|c| c.iteration_id == 2 && c.path.is_some())
        );
        let wi: Vec<WithRaw<ResourceRef>> = list(
            "git/v5.0__pullRequests__GET__git_repositories__repositoryId__pullRequests__autoCompletePullRequestId__workitems.json",
        );
        let rows: Vec<_> = wi.iter().filter_map(|w| work_item_row(PR, w)).collect();
        assert_eq!(rows.len(), wi.len(), "every recorded id is numeric text");
        let statuses: Vec<WithRaw<GitPullRequestStatus>> =
            list("git/pullRequestStatuses__GET_git_pullRequestStatuses_statuses.json");
        let s = status_row(PR, &statuses[0]);
        assert_eq!(s.id, statuses[0].value.id);
        assert_eq!(
            s.name,
            statuses[0]
                .value
                .context
                .as_ref()
                .and_then(|c| c.name.clone())
        );
    }

    #[test]
    fn pull_request_commits_map_authors_and_the_first_line() {
        let commits: Vec<WithRaw<GitCommitRef>> = list(&format!("{GIT}_commits.json"));
        let rows: Vec<_> = commits.iter().map(|c| commit_row(PR, c)).collect();
        assert!(!rows.is_empty());
        for (row, c) in rows.iter().zip(&commits) {
            let raw: serde_json::Value = serde_json::from_str(&row.raw).unwrap();
            assert_eq!(row.commit_id, raw["commitId"].as_str().unwrap());
            assert_eq!(row.author_email.as_deref(), raw["author"]["email"].as_str());
            assert_eq!(row.committer_date, c.value.committer.as_ref().unwrap().date);
            let first = raw["comment"].as_str().unwrap().lines().next().unwrap();
            assert_eq!(row.title.as_deref(), Some(first.trim_end()));
            assert_eq!(row.adds, None, "PR commit lists carry no change counts");
        }
    }

    #[test]
    fn a_policy_evaluation_maps_its_configuration() {
        let raw = r#"{"evaluationId":"e1","artifactId":"vstfs:///CodeReview/CodeReviewId/p/22","status":"approved","startedDate":"2026-01-02T03:04:05Z","configuration":{"id":17,"revision":2,"isBlocking":true,"isEnabled":true,"type":{"id":"fd2167ab-b0be-447a-8ec8-39368250530e","displayName":"Required reviewers"}}}"#;
        let e: WithRaw<PolicyEvaluationRecord> = serde_json::from_str(raw).unwrap();
        let row = policy_evaluation_row(PR, &e);
        assert_eq!(row.configuration_id, Some(17));
        assert_eq!(row.policy_type.as_deref(), Some("Required reviewers"));
        assert!(row.is_blocking && row.is_enabled);
        assert_eq!(row.status.as_deref(), Some("approved"));
        assert_eq!(row.raw, raw);
    }
}
