//! Scripted changes: one exact event (this repository deleted, that many PRs created) instead
//! of `mutate`'s random draw, applied at once or just before a chosen PR-list request is
//! answered, so a test can change the org in the middle of a client's walk and know where.

use std::sync::atomic::Ordering;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::model::PrStatus;
use crate::rng::Rng;
use crate::{Sim, history, lock, mutate, read, write};

/// One precise change to the org.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Deletes a live repository (id or name): it and its PRs vanish from every endpoint, as
    /// when a repository is deleted, disabled or hidden from the caller in ADO.
    DeleteRepository { repository: String },
    /// Creates `count` active PRs in a live repository (id or name), created now.
    CreatePullRequests { repository: String, count: usize },
    /// `changes` random work item changes drawn from `seed`, as [`Sim::mutate_split`] makes
    /// them: edits, creations, deletions to the recycle bin, restores, link changes.
    MutateWorkItems { seed: u64, changes: usize },
    /// One edit of a live work item now, as the random round's edits: a new revision that
    /// changes its title, priority, tags, remaining work or a custom field.
    EditWorkItem { id: u32 },
    /// A push to an active PR, as `mutate`'s pushes: a new source commit (the PR list shows
    /// it), a new iteration with 1–10 commits, a RefUpdate thread, maybe a pending status.
    PushToPullRequest { pr: u32 },
    /// A new discussion, a reply, an edit or a deletion of a comment on a visible PR (any
    /// status). Changes nothing the PR list shows — ADO's list does not show comments.
    CommentOnPullRequest { pr: u32 },
    /// A status posted on a visible PR's last iteration. Changes nothing the PR list shows.
    PostPullRequestStatus { pr: u32 },
    /// A reviewer of an active PR changes their vote, with a VoteUpdate thread.
    VotePullRequest { pr: u32 },
    /// Completes an active PR now, as `mutate`'s completions: a new merge commit on top of
    /// its target branch's history, closed by a random user, policy evaluations final.
    CompletePullRequest { pr: u32 },
    /// Makes `branch` (`refs/heads/x` or `x`) a live repository's (id or name) default
    /// branch: the repository JSON shows it and a history asked without a version is its.
    SetDefaultBranch { repository: String, branch: String },
    /// A force-push of a live repository's (id or name) default branch, as `git reset` +
    /// `git rebase` + `git push --force` do: of its history (newest first) the newest `drop`
    /// commits disappear and the next `rewrite` get new shas and committer date now (authors,
    /// messages, change counts stay). The PRs' `lastMergeCommit` does not change, as in ADO.
    /// An error when the branch has fewer than `drop + rewrite` commits.
    ForcePushDefaultBranch {
        repository: String,
        rewrite: usize,
        drop: usize,
    },
    /// Queues a build of a definition (its id within the project, id or name) now, as a
    /// person would: `notStarted`, or `postponed` when the definition is paused; an error when
    /// it is disabled.
    QueueBuild { project: String, definition: u32 },
    /// A queued or postponed build starts now (its timeline: the first task in progress).
    StartBuild { build: u32 },
    /// An unfinished build completes now with `result` (`succeeded`, `partiallySucceeded`,
    /// `failed`, `canceled`; a cancelling build only `canceled`).
    FinishBuild { build: u32, result: String },
    /// A failed YAML build reruns its failed jobs now: `inProgress` again, without result
    /// and finish time, attempt 2 (3, 4) of those jobs in its timeline.
    RetryBuild { build: u32 },
    /// A queued build ends canceled now; a running one turns `cancelling`.
    CancelBuild { build: u32 },
    /// Retention deletes a completed build now: `deleted: true`, listed only with
    /// `deletedFilter`, its timeline 404.
    DeleteBuild { build: u32 },
    /// A new active release of release definition `definition` (its id) of `project` (id or
    /// name), created now; its first stage starts deploying (a deployment in progress).
    CreateRelease { project: String, definition: u32 },
    /// Deploys release environment `environment` (its id) of release `release` now — a new
    /// deployment with the next attempt, in progress (its approval given at once). The
    /// release's `modifiedOn` and the environment's status move, its `createdOn` does not.
    /// An error when the release is not active or the environment is still deploying.
    DeployRelease {
        project: String,
        release: u32,
        environment: u32,
    },
    /// Finishes a pending or in-progress deployment now with `status`: succeeded,
    /// partiallySucceeded, failed or canceled.
    FinishDeployment {
        project: String,
        deployment: u32,
        status: String,
    },
    /// Abandons an active release that is not deploying.
    AbandonRelease { project: String, release: u32 },
    /// A new deployment record of YAML environment `environment` (its id), queued and started
    /// now by a new run: finished (`succeeded`) at once, or still running (no `finishTime`, no
    /// `result`).
    AddEnvironmentRecord { environment: u32, finished: bool },
    /// Finishes an unfinished deployment record now with `result` (succeeded,
    /// succeededWithIssues, failed, canceled, skipped, abandoned).
    FinishEnvironmentRecord { record: u64, result: String },
    /// `changes` random release-side changes drawn from `seed`, as [`Sim::mutate_releases`].
    MutateReleases { seed: u64, changes: usize },
}

/// `Ok` when PR `id` is visible and active.
fn active(org: &crate::model::Org, id: u32) -> Result<(), String> {
    match org.pr(id) {
        Some(p) if p.status == PrStatus::Active => Ok(()),
        Some(_) => Err(format!("pull request {id} is not active")),
        None => Err(format!("no visible pull request {id}")),
    }
}

/// Changes waiting for a project's `nth` PR-list request.
pub(crate) struct Scheduled {
    project: usize,
    remaining: usize,
    changes: Vec<Change>,
}

impl Sim {
    /// Applies one change; answers `{"deleted": id}`, `{"created": [ids]}`, `{"pull_request",
    /// "iteration"}` (push), `{"pull_request", "comment": "thread_created" | "replied" |
    /// "edited" | "deleted", "thread", "comment_id"}`, `{"pull_request", "status"}`,
    /// `{"pull_request", "merge_commit"}` (completion), `{"work_item", "rev"}` (a work item
    /// edit), `{"repository", "default_branch"}`,
    /// `{"repository", "rewritten": [{"old", "new"}], "dropped": [sha]}` (force-push, shas
    /// newest first), `{"build", "status", "result", "deleted", "lastChangedDate"}` (the
    /// build changes); for the release side `{"projectId", "release", "deployment"}` (create),
    /// `{"projectId", "release", "environment", "deployment", "attempt"}` (deploy),
    /// `{"projectId", "release", "deployment", "deploymentStatus"}` (finish),
    /// `{"projectId", "release", "status"}` (abandon), `{"environment", "record"}` (new
    /// record), `{"record", "result"}` (finished record), or what
    /// [`Sim::mutate_releases`] answers; or an error naming what was not found.
    pub fn apply(&self, change: &Change) -> Result<Value, String> {
        let mut org = write(&self.inner.state);
        let answer = self.apply_to(&mut org, change);
        // Even a failed change may have done part of its work (a round of several).
        self.publish(&mut org);
        answer
    }

    fn apply_to(&self, org: &mut crate::model::Org, change: &Change) -> Result<Value, String> {
        match change {
            Change::DeleteRepository { repository } => {
                let r = org
                    .find_repo(repository, None)
                    .ok_or_else(|| format!("no live repository {repository}"))?;
                org.delete_repo(r);
                org.change_id += 1;
                Ok(json!({ "deleted": org.repos[r].id }))
            }
            Change::CreatePullRequests { repository, count } => {
                let r = org
                    .find_repo(repository, None)
                    .ok_or_else(|| format!("no live repository {repository}"))?;
                let mut rng = self.script_rng();
                let ids: Vec<u32> = (0..*count)
                    .map(|_| {
                        org.change_id += 1;
                        mutate::create_pr_in(org, &mut rng, r)
                    })
                    .collect();
                debug_assert!(
                    ids.iter()
                        .all(|id| org.prs[*id as usize - 1].status == PrStatus::Active)
                );
                Ok(json!({ "created": ids }))
            }
            Change::PushToPullRequest { pr } => {
                active(org, *pr)?;
                let mut rng = self.script_rng();
                mutate::push(org, &mut rng, *pr);
                org.change_id += 1;
                let c = crate::children::of_mut(org, *pr);
                Ok(json!({ "pull_request": pr, "iteration": c.last_iteration() }))
            }
            Change::VotePullRequest { pr } => {
                active(org, *pr)?;
                let mut rng = self.script_rng();
                if !mutate::vote(org, &mut rng, *pr) {
                    return Err(format!("pull request {pr} has no reviewers"));
                }
                org.change_id += 1;
                Ok(json!({ "pull_request": pr }))
            }
            Change::CommentOnPullRequest { pr } => {
                org.pr(*pr)
                    .ok_or_else(|| format!("no visible pull request {pr}"))?;
                org.change_id += 1;
                let answer = crate::children::mutate::comment(org, *pr);
                let ids = (answer["thread"].as_u64(), answer["comment_id"].as_u64());
                if let (Some(thread), Some(comment)) = ids {
                    org.hook_events.push(crate::hooks::Event::PrComment {
                        pr: *pr,
                        thread: thread as u32,
                        comment: comment as u32,
                    });
                }
                Ok(answer)
            }
            Change::PostPullRequestStatus { pr } => {
                org.pr(*pr)
                    .ok_or_else(|| format!("no visible pull request {pr}"))?;
                org.change_id += 1;
                let id = crate::children::mutate::post_status(org, *pr);
                org.hook_events.push(crate::hooks::Event::PrUpdated(
                    *pr,
                    crate::hooks::Update::Status,
                ));
                Ok(json!({ "pull_request": pr, "status": id }))
            }
            Change::CompletePullRequest { pr } => {
                active(org, *pr)?;
                let mut rng = self.script_rng();
                mutate::close(org, &mut rng, *pr, true);
                org.change_id += 1;
                let sha = org.prs[*pr as usize - 1].merge_commit.clone();
                Ok(json!({ "pull_request": pr, "merge_commit": sha }))
            }
            Change::SetDefaultBranch { repository, branch } => {
                let r = org
                    .find_repo(repository, None)
                    .ok_or_else(|| format!("no live repository {repository}"))?;
                let name = branch.trim();
                if name.is_empty() || name == "refs/heads/" {
                    return Err(format!("no branch name in {branch:?}"));
                }
                org.repos[r].default_branch = history::branch_ref(name);
                org.change_id += 1;
                let repo = &org.repos[r];
                Ok(json!({ "repository": repo.id, "default_branch": repo.default_branch }))
            }
            Change::ForcePushDefaultBranch {
                repository,
                rewrite,
                drop,
            } => {
                let r = org
                    .find_repo(repository, None)
                    .ok_or_else(|| format!("no live repository {repository}"))?;
                let mut rng = self.script_rng();
                let answer = history::force_push(org, &mut rng, r, *rewrite, *drop)?;
                org.change_id += 1;
                Ok(answer)
            }
            Change::QueueBuild { .. }
            | Change::StartBuild { .. }
            | Change::FinishBuild { .. }
            | Change::RetryBuild { .. }
            | Change::CancelBuild { .. }
            | Change::DeleteBuild { .. } => crate::builds::mutate::apply_change(org, change),
            Change::CreateRelease { .. }
            | Change::DeployRelease { .. }
            | Change::FinishDeployment { .. }
            | Change::AbandonRelease { .. }
            | Change::AddEnvironmentRecord { .. }
            | Change::FinishEnvironmentRecord { .. }
            | Change::MutateReleases { .. } => crate::releases::mutate::apply(org, change),
            Change::MutateWorkItems { seed, changes } => {
                let counts = crate::boards::mutate::mutate(org, *seed, *changes);
                org.change_id += 1;
                let map: serde_json::Map<String, Value> = counts
                    .entries()
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), json!(v)))
                    .collect();
                Ok(Value::Object(map))
            }
            Change::EditWorkItem { id } => {
                let mut rng = self.script_rng();
                let rev = crate::boards::mutate::edit(org, &mut rng, *id)
                    .ok_or_else(|| format!("no live work item {id}"))?;
                Ok(json!({ "work_item": id, "rev": rev }))
            }
        }
    }

    /// The RNG of the next scripted change (seeded by the sim's seed and the change count).
    fn script_rng(&self) -> Rng {
        let n = self.inner.scripted.fetch_add(1, Ordering::Relaxed);
        Rng::derive(self.inner.seed ^ n, 0x5C21_F7ED)
    }

    /// Applies `changes` just before the `nth` PR-list request (project-level or of one of
    /// its repositories, counted from this call, 1 = the next) of `project` (id or name) is
    /// answered, so that request already sees them.
    pub fn apply_before_pr_listing(
        &self,
        project: &str,
        nth: usize,
        changes: Vec<Change>,
    ) -> Result<(), String> {
        let p = read(&self.inner.state)
            .find_project(project)
            .ok_or_else(|| format!("no project {project}"))?;
        lock(&self.inner.scheduled).push(Scheduled {
            project: p,
            remaining: nth.max(1),
            changes,
        });
        Ok(())
    }

    /// Called by the PR-list route with the project the request named, before it reads the org.
    pub(crate) fn before_pr_listing(&self, project: Option<&str>) {
        let mut scheduled = lock(&self.inner.scheduled);
        if scheduled.is_empty() {
            return;
        }
        let Some(p) = project.and_then(|key| read(&self.inner.state).find_project(key)) else {
            return;
        };
        let mut due = Vec::new();
        scheduled.retain_mut(|s| {
            if s.project != p {
                return true;
            }
            s.remaining -= 1;
            if s.remaining > 0 {
                return true;
            }
            due.append(&mut s.changes);
            false
        });
        drop(scheduled);
        for change in &due {
            if let Err(e) = self.apply(change) {
                tracing::warn!(change = ?change, error = %e, "scripted change not applied");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Sim, SimConfig};

    use super::Change;

    #[test]
    fn deletes_and_creates_exactly_what_was_asked() {
        let sim = Sim::new(SimConfig {
            projects: 1,
            repos_per_project: 2,
            prs_per_repo: 20,
            work_items_per_project: 0,
            ..SimConfig::default()
        });
        let truth = sim.truth_kinds(&["repositories", "pull_requests"]);
        let repo = truth["repositories"][0]["id"].as_str().unwrap().to_string();
        let other = truth["repositories"][1]["id"].as_str().unwrap().to_string();
        let created = sim
            .apply(&Change::CreatePullRequests {
                repository: other.clone(),
                count: 3,
            })
            .unwrap();
        assert_eq!(created["created"].as_array().unwrap().len(), 3);
        sim.apply(&Change::DeleteRepository {
            repository: repo.clone(),
        })
        .unwrap();
        let after = sim.truth_kinds(&["repositories", "pull_requests"]);
        let prs = after["pull_requests"].as_array().unwrap();
        assert!(prs.iter().all(|p| p["repository"]["id"] == other.as_str()));
        assert_eq!(
            prs.len(),
            3 + truth["pull_requests"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["repository"]["id"] == other.as_str())
                .count()
        );
        assert!(
            sim.apply(&Change::DeleteRepository { repository: repo })
                .is_err(),
            "already deleted"
        );
    }
}
