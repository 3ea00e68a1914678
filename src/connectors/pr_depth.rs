//! The inside of each pull request, for the Repos connector (issue 11): iterations, the paths
//! each iteration changed, threads and comments, linked work items, status checks and policy
//! evaluations — fetched only for the PRs whose change marker moved since their last fetch.
//!
//! After a project's PR listings are committed, [`sync_project`] asks the store which PRs are
//! due (`Store::pull_requests_to_refresh`: never fetched, marker moved, or active and older
//! than `refresh_active_after`) and fetches each one's inside, writing all of it with the
//! PR's sync row (the marker it was fetched for) in ONE transaction. A run killed half-way
//! leaves the unfinished PRs due, so the next run fetches exactly those; a PR that is done
//! costs nothing until it changes again. A completed or abandoned PR gets its final fetch
//! from the listing that sees it close (its status and closed date move the marker).
//!
//! Requests per due PR: iterations, threads, work items, statuses, policy evaluations (when
//! enabled), and the changes of each iteration not stored yet (iterations never change once
//! made, so a push costs one changes listing, not one per iteration). All but the changes are
//! asked at once. Several PRs are fetched at once and committed in groups (`super::due`).

use std::sync::atomic::{AtomicBool, Ordering};

use super::due::Fetched;
use super::map::git_pr::{self, People, Pr};
use super::repos::NAME;
use super::{Error, Summary, SyncContext};
use crate::ado::endpoint::PullRequestPath;
use crate::ado::listing::{
    PolicyEvaluations, PullRequestIterationChanges, PullRequestIterations, PullRequestStatuses,
    PullRequestThreads, PullRequestWorkItems,
};
use crate::ado::models::core::TeamProject;
use crate::ado::{self, Client};
use crate::store::schema::core::write_users;
use crate::store::schema::pr::{
    PullRequestChangeRow, PullRequestChildSyncRow, PullRequestCommentRow, PullRequestIterationRow,
    PullRequestPolicyEvaluationRow, PullRequestStatusRow, PullRequestThreadRow,
    PullRequestWorkItemRow,
};
use crate::store::{Batch, PrToRefresh, Record, RefreshPart, UserRow};

/// Fetches the inside of every due PR of `project`.
pub(super) async fn sync_project(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    summary: &mut Summary,
) -> Result<(), Error> {
    let depth = ctx.pr_depth;
    if !depth.enabled {
        return Ok(());
    }
    let stale_before = chrono::Duration::from_std(depth.refresh_active_after)
        .ok()
        .map(|age| client.now() - age);
    let part = RefreshPart::Children { stale_before };
    let policy_refused = AtomicBool::new(!depth.policy_evaluations);
    let policy_refused = &policy_refused;
    let refreshed = super::due::refresh(client, ctx, NAME, project, part, summary, |pr| {
        fetch(client, project, pr, policy_refused)
    })
    .await?;
    summary.add("pull_requests_refreshed", refreshed);
    if refreshed > 0 {
        tracing::info!(connector = NAME, project = %project.name, pull_requests = refreshed, "pull request insides fetched");
    }
    Ok(())
}

/// The inside of one PR, fetched, not written yet.
pub(super) struct Inside {
    observed_at: chrono::DateTime<chrono::Utc>,
    sync: PullRequestChildSyncRow,
    iterations: Vec<PullRequestIterationRow>,
    changes: Vec<PullRequestChangeRow>,
    threads: Vec<PullRequestThreadRow>,
    comments: Vec<PullRequestCommentRow>,
    work_items: Vec<PullRequestWorkItemRow>,
    statuses: Vec<PullRequestStatusRow>,
    /// `None` when the evaluations were not asked for (refused, or switched off): the stored
    /// ones stay.
    policies: Option<Vec<PullRequestPolicyEvaluationRow>>,
    people: Vec<UserRow>,
}

impl Fetched for Inside {
    fn counts(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("pull_request_iterations", self.iterations.len() as u64),
            ("pull_request_changes", self.changes.len() as u64),
            ("pull_request_threads", self.threads.len() as u64),
            ("pull_request_comments", self.comments.len() as u64),
            ("pull_request_work_items", self.work_items.len() as u64),
            ("pull_request_statuses", self.statuses.len() as u64),
            (
                "pull_request_policy_evaluations",
                self.policies.as_ref().map_or(0, |p| p.len() as u64),
            ),
        ]
    }

    fn observed_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.observed_at
    }

    /// Every PR's sync row, then each child set replaced under the sync rows (iteration
    /// changes upserted: iterations never change once made), then the people they name.
    fn batch(items: Vec<Self>, observed_at: chrono::DateTime<chrono::Utc>) -> Batch {
        let parents: Vec<_> = items.iter().map(|i| i.sync.key()).collect();
        let with_policies: Vec<_> = items
            .iter()
            .filter(|i| i.policies.is_some())
            .map(|i| i.sync.key())
            .collect();
        let mut syncs = Vec::with_capacity(items.len());
        let (mut iterations, mut changes, mut threads, mut comments) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut work_items, mut statuses, mut policies, mut people) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for i in items {
            syncs.push(i.sync);
            iterations.extend(i.iterations);
            changes.extend(i.changes);
            threads.extend(i.threads);
            comments.extend(i.comments);
            work_items.extend(i.work_items);
            statuses.extend(i.statuses);
            policies.extend(i.policies.into_iter().flatten());
            people.extend(i.people);
        }
        let mut batch = Batch::new(observed_at);
        batch
            .upsert(syncs)
            .replace_children::<PullRequestChildSyncRow, _>(parents.clone(), iterations)
            .upsert(changes)
            .replace_children::<PullRequestChildSyncRow, _>(parents.clone(), threads)
            .replace_children::<PullRequestChildSyncRow, _>(parents.clone(), comments)
            .replace_children::<PullRequestChildSyncRow, _>(parents.clone(), work_items)
            .replace_children::<PullRequestChildSyncRow, _>(parents, statuses)
            .replace_children::<PullRequestChildSyncRow, _>(with_policies, policies);
        write_users(&mut batch, people);
        batch
    }
}

/// Everything inside one PR. The listings that do not depend on each other are asked at
/// once; only an iteration's changes wait for the iteration list.
pub(super) async fn fetch(
    client: &Client,
    project: &TeamProject,
    due: PrToRefresh,
    policy_refused: &AtomicBool,
) -> Result<Inside, Error> {
    let path = PullRequestPath {
        project: project.id.clone(),
        repository: due.repository_id.clone(),
        pull_request: due.id,
    };
    let pr = Pr {
        id: due.id,
        repository_id: &due.repository_id,
    };
    let iterations = async {
        let (iterations, observed_at) = client
            .list_all(PullRequestIterations { pr: path.clone() })
            .await?;
        let mut changes = Vec::new();
        let mut changes_through = due.changes_through;
        for it in iterations
            .iter()
            .filter(|i| i.value.id > due.changes_through)
        {
            let (entries, _) = client
                .list_all(PullRequestIterationChanges {
                    pr: path.clone(),
                    iteration: it.value.id,
                })
                .await?;
            changes.extend(
                entries
                    .iter()
                    .map(|c| git_pr::change_row(pr, it.value.id, c)),
            );
            changes_through = changes_through.max(it.value.id);
        }
        Ok::<_, ado::Error>((iterations, changes, changes_through, observed_at))
    };
    let threads = client.list_all(PullRequestThreads { pr: path.clone() });
    let work_items = client.list_all(PullRequestWorkItems { pr: path.clone() });
    let statuses = client.list_all(PullRequestStatuses {
        pr: path.clone(),
        iteration: None,
    });
    let policies = async {
        if policy_refused.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let listing = PolicyEvaluations {
            project_id: project.id.clone(),
            pull_request: due.id,
        };
        match client.list_all(listing).await {
            Ok(listed) => Ok(Some(listed)),
            // A token without the policy permission still syncs everything else; the
            // evaluations stay as stored and are not asked for again this pass.
            Err(ado::Error::Permission { endpoint, message }) => {
                if !policy_refused.swap(true, Ordering::Relaxed) {
                    tracing::warn!(connector = NAME, project = %project.name, endpoint, %message, "policy evaluations refused (403); skipped for the rest of this pass");
                }
                Ok(None)
            }
            Err(e) => Err(e),
        }
    };
    let (
        (iterations, changes, changes_through, mut observed_at),
        (threads, threads_at),
        (work_items, work_items_at),
        (statuses, statuses_at),
        policies,
    ) = futures::try_join!(iterations, threads, work_items, statuses, policies)?;
    observed_at = observed_at
        .min(threads_at)
        .min(work_items_at)
        .min(statuses_at);

    let mut people = People::default();
    let iteration_rows: Vec<_> = iterations
        .iter()
        .map(|i| {
            people.add(i.value.author.as_ref());
            git_pr::iteration_row(pr, i)
        })
        .collect();
    let mut thread_rows = Vec::with_capacity(threads.len());
    let mut comment_rows = Vec::new();
    for t in &threads {
        for c in &t.value.comments {
            people.add(c.author.as_ref());
        }
        let (row, comments) = git_pr::thread_rows(pr, t);
        thread_rows.push(row);
        comment_rows.extend(comments);
    }
    let work_item_rows: Vec<_> = work_items
        .iter()
        .filter_map(|w| {
            let row = git_pr::work_item_row(pr, w);
            if row.is_none() {
                tracing::warn!(connector = NAME, pull_request = due.id, work_item = %w.value.id, "linked work item id is not a number; left out");
            }
            row
        })
        .collect();
    let status_rows: Vec<_> = statuses
        .iter()
        .map(|s| {
            people.add(s.value.created_by.as_ref());
            git_pr::status_row(pr, s)
        })
        .collect();
    let policy_rows = policies.map(|(evaluations, at)| {
        observed_at = observed_at.min(at);
        evaluations
            .iter()
            .map(|e| git_pr::policy_evaluation_row(pr, e))
            .collect::<Vec<_>>()
    });
    Ok(Inside {
        observed_at,
        sync: PullRequestChildSyncRow {
            pull_request_id: due.id,
            repository_id: due.repository_id.clone(),
            marker: due.marker.clone(),
            changes_through,
        },
        iterations: iteration_rows,
        changes,
        threads: thread_rows,
        comments: comment_rows,
        work_items: work_item_rows,
        statuses: status_rows,
        policies: policy_rows,
        people: people.into_rows(),
    })
}
