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
//! made, so a push costs one changes listing, not one per iteration).

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
use crate::store::schema::pr::PullRequestChildSyncRow;
use crate::store::{Batch, PrToRefresh, Record, RefreshPart};

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

async fn fetch(
    client: &Client,
    project: &TeamProject,
    due: PrToRefresh,
    policy_refused: &AtomicBool,
) -> Result<Fetched, Error> {
    let path = PullRequestPath {
        project: project.id.clone(),
        repository: due.repository_id.clone(),
        pull_request: due.id,
    };
    let pr = Pr {
        id: due.id,
        repository_id: &due.repository_id,
    };
    let mut people = People::default();

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
    let iteration_rows: Vec<_> = iterations
        .iter()
        .map(|i| {
            people.add(i.value.author.as_ref());
            git_pr::iteration_row(pr, i)
        })
        .collect();

    let (threads, _) = client
        .list_all(PullRequestThreads { pr: path.clone() })
        .await?;
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

    let (work_items, _) = client
        .list_all(PullRequestWorkItems { pr: path.clone() })
        .await?;
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

    let (statuses, _) = client
        .list_all(PullRequestStatuses {
            pr: path.clone(),
            iteration: None,
        })
        .await?;
    let status_rows: Vec<_> = statuses
        .iter()
        .map(|s| {
            people.add(s.value.created_by.as_ref());
            git_pr::status_row(pr, s)
        })
        .collect();

    let policy_rows = if policy_refused.load(Ordering::Relaxed) {
        None
    } else {
        let listing = PolicyEvaluations {
            project_id: project.id.clone(),
            pull_request: due.id,
        };
        match client.list_all(listing).await {
            Ok((evaluations, _)) => Some(
                evaluations
                    .iter()
                    .map(|e| git_pr::policy_evaluation_row(pr, e))
                    .collect::<Vec<_>>(),
            ),
            // A token without the policy permission still syncs everything else; the
            // evaluations stay as stored and are not asked for again this pass.
            Err(ado::Error::Permission { endpoint, message }) => {
                if !policy_refused.swap(true, Ordering::Relaxed) {
                    tracing::warn!(connector = NAME, project = %project.name, endpoint, %message, "policy evaluations refused (403); skipped for the rest of this pass");
                }
                None
            }
            Err(e) => return Err(e.into()),
        }
    };

    let counts = vec![
        ("pull_request_iterations", iteration_rows.len() as u64),
        ("pull_request_changes", changes.len() as u64),
        ("pull_request_threads", thread_rows.len() as u64),
        ("pull_request_comments", comment_rows.len() as u64),
        ("pull_request_work_items", work_item_rows.len() as u64),
        ("pull_request_statuses", status_rows.len() as u64),
        (
            "pull_request_policy_evaluations",
            policy_rows.as_ref().map_or(0, |p| p.len() as u64),
        ),
    ];
    let sync = PullRequestChildSyncRow {
        pull_request_id: due.id,
        repository_id: due.repository_id.clone(),
        marker: due.marker.clone(),
        changes_through,
    };
    let parent = vec![sync.key()];
    let mut batch = Batch::new(observed_at);
    batch
        .upsert(vec![sync])
        .replace_children::<PullRequestChildSyncRow, _>(parent.clone(), iteration_rows)
        .upsert(changes)
        .replace_children::<PullRequestChildSyncRow, _>(parent.clone(), thread_rows)
        .replace_children::<PullRequestChildSyncRow, _>(parent.clone(), comment_rows)
        .replace_children::<PullRequestChildSyncRow, _>(parent.clone(), work_item_rows)
        .replace_children::<PullRequestChildSyncRow, _>(parent.clone(), status_rows);
    if let Some(rows) = policy_rows {
        batch.replace_children::<PullRequestChildSyncRow, _>(parent, rows);
    }
    write_users(&mut batch, people.into_rows());
    Ok((batch, counts))
}
