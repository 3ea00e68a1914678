//! Classic releases and deployments of one project, on the release host (API_FACTS §4.5).
//!
//! - Releases by creation time, oldest first (`minCreatedTime`, `queryOrder=ascending`,
//!   `$expand=environments,artifacts`), the newest creation time committed with each page
//!   (`releases:{project}`); from the start every `sync.reconcile_every` and in every
//!   backfill, since a release can change without a deployment (abandoned).
//! - Deployments by modification time (`minModifiedTime`): a release's environments change
//!   long after it was created, and a deployment of an old release is new; this listing is
//!   what finds both. Its order is not documented by time, so its watermark
//!   (`release_deployments:{project}`) is committed once the walk is complete — and once
//!   the releases it touched are read.
//! - The releases a deployment touched are read again by id, for their environments'
//!   statuses (on a backfill, only those touched since the release walk began); a deployment
//!   listed again by the overlap, unchanged since the last pass, touches nothing.

use std::collections::BTreeSet;
use std::pin::pin;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use super::builds::Watermark;
use super::{NAME, people, reconcile_due, start_from};
use crate::ado::endpoint::Endpoint;
use crate::ado::listing::{ReleaseDeployments, Releases};
use crate::ado::models::WithRaw;
use crate::ado::models::core::TeamProject;
use crate::ado::models::release::Release;
use crate::ado::{self, Client};
use crate::connectors::map::pipelines::{deployment_row, newest, release_rows};
use crate::connectors::{Error, Mode, Summary, SyncContext, commit, cursor_update, load_cursor};
use crate::store::schema::core::write_users;
use crate::store::schema::deployments::ReleaseRow;
use crate::store::{Batch, Record};

/// Releases read again by id per transaction.
const REFRESH_GROUP: usize = 50;

pub(super) async fn sync(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    summary: &mut Summary,
) -> Result<(), Error> {
    let walk_started = client.now();
    sync_releases(client, ctx, project, summary).await?;
    let walk = sync_deployments(client, ctx, project, walk_started, summary).await?;
    refresh_releases(client, ctx, project, walk.touched, summary).await?;
    // Only now: a run killed before its touched releases were read lists the deployments,
    // and reads the releases, again.
    if let Some(cursor) = walk.cursor {
        let mut batch = Batch::new(client.now());
        batch.with_cursor(cursor_update(NAME, &deployments_scope(project), &cursor)?);
        commit(client, ctx, &batch, summary).await?;
    }
    Ok(())
}

async fn sync_releases(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    summary: &mut Summary,
) -> Result<(), Error> {
    let scope = format!("releases:{}", project.id);
    let stored: Option<Watermark> = load_cursor(ctx, NAME, &scope).await?;
    let mut mark = continued(ctx, stored);
    // A release can change without a deployment (abandoned, kept forever) and the list has
    // no modification filter: every `sync.reconcile_every` the walk starts from the start.
    let reconcile_scope = format!("releases_reconciled:{}", project.id);
    let reconciled: Option<Watermark> = load_cursor(ctx, NAME, &reconcile_scope).await?;
    let now = client.now();
    let full = reconcile_due(ctx, reconciled.map(|w| (w.run, w.at)), now);
    let listing = Releases {
        project: project.id.clone(),
        min_created: if full {
            ctx.since
        } else {
            start_from(ctx, stored.map(|w| (w.run, w.at)))
        },
    };
    let mut pages = pin!(client.pages(listing, None));
    while let Some(page) = pages.next().await {
        let page = page?;
        mark = mark.max(newest(page.items.iter().map(|r| r.value.created_on)));
        let mut batch = release_batch(project, &page.items, page.sent_at, summary);
        if let Some(at) = mark {
            batch.with_cursor(cursor_update(
                NAME,
                &scope,
                &Watermark {
                    run: ctx.run_id,
                    at,
                },
            )?);
        }
        commit(client, ctx, &batch, summary).await?;
        client.metrics().items(page.items.len() as u64);
        summary.add("releases", page.items.len() as u64);
    }
    if full {
        let mut batch = Batch::new(now);
        let mark = Watermark {
            run: ctx.run_id,
            at: now,
        };
        batch.with_cursor(cursor_update(NAME, &reconcile_scope, &mark)?);
        commit(client, ctx, &batch, summary).await?;
    }
    Ok(())
}

/// The stored watermark when this walk continues from it (a sync, or the backfill run that
/// wrote it); a new backfill starts afresh.
fn continued(ctx: &SyncContext, stored: Option<Watermark>) -> Option<DateTime<Utc>> {
    match (ctx.mode, stored) {
        (Mode::Sync, Some(w)) => Some(w.at),
        (Mode::Backfill, Some(w)) if w.run == ctx.run_id => Some(w.at),
        _ => None,
    }
}

/// Releases with their environments (each release's set replaced), and their creators.
fn release_batch(
    project: &TeamProject,
    releases: &[WithRaw<Release>],
    observed_at: DateTime<Utc>,
    summary: &mut Summary,
) -> Batch {
    let mut rows = Vec::with_capacity(releases.len());
    let mut environments = Vec::new();
    for r in releases {
        let (row, envs, skipped) = release_rows(&project.id, r);
        for s in skipped {
            tracing::error!(connector = NAME, project = %project.name, release = row.id, error = %s, "release environment skipped: its JSON does not have the expected shape");
            summary.warn(format!("project {}: {s}", project.name));
        }
        rows.push(row);
        environments.extend(envs);
    }
    summary.add("release_environments", environments.len() as u64);
    let parents: Vec<_> = rows.iter().map(Record::key).collect();
    let users = people(releases.iter().map(|r| r.value.created_by.as_ref()));
    let mut batch = Batch::new(observed_at);
    batch
        .upsert(rows)
        .replace_children::<ReleaseRow, _>(parents, environments);
    write_users(&mut batch, users);
    batch
}

/// Where the deployment walk stands (`release_deployments:{project}`): the newest
/// modification time seen, and the deployments modified within `sync.overlap` of it as they
/// were seen, so the next pass, which lists them again, reads their releases again only if
/// they changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentCursor {
    pub run: i64,
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub recent: Vec<(i64, DateTime<Utc>)>,
}

/// What a deployment walk found: the releases to read again, and the cursor to commit once
/// they are read.
struct DeploymentWalk {
    touched: BTreeSet<i64>,
    cursor: Option<DeploymentCursor>,
}

/// Walks the deployments modified since the watermark.
async fn sync_deployments(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    walk_started: DateTime<Utc>,
    summary: &mut Summary,
) -> Result<DeploymentWalk, Error> {
    let scope = deployments_scope(project);
    let stored: Option<DeploymentCursor> = load_cursor(ctx, NAME, &scope).await?;
    let listing = ReleaseDeployments {
        project: project.id.clone(),
        min_modified: start_from(ctx, stored.as_ref().map(|c| (c.run, c.at))),
    };
    // On a backfill the release walk just read every environment; only what changed while
    // it ran needs another look.
    let touched_since = match ctx.mode {
        Mode::Backfill => Some(walk_started - ctx.overlap()),
        Mode::Sync => None,
    };
    let known: BTreeSet<(i64, DateTime<Utc>)> = stored
        .as_ref()
        .filter(|_| ctx.mode == Mode::Sync)
        .map(|c| c.recent.iter().copied().collect())
        .unwrap_or_default();
    let mut newest_modified = match (ctx.mode, &stored) {
        (Mode::Sync, Some(c)) => Some(c.at),
        (Mode::Backfill, Some(c)) if c.run == ctx.run_id => Some(c.at),
        _ => None,
    };
    let mut seen: Vec<(i64, DateTime<Utc>)> = Vec::new();
    let mut touched = BTreeSet::new();
    let mut pages = pin!(client.pages(listing, None));
    while let Some(page) = pages.next().await {
        let page = page?;
        let rows: Vec<_> = page
            .items
            .iter()
            .map(|d| deployment_row(&project.id, d))
            .collect();
        for d in &rows {
            newest_modified = newest_modified.max(d.last_modified_on);
            let unchanged = d
                .last_modified_on
                .is_some_and(|m| known.contains(&(d.id, m)));
            if let Some(m) = d.last_modified_on {
                seen.push((d.id, m));
            }
            if let Some(release) = d.release_id
                && !unchanged
                && touched_since.is_none_or(|t| d.last_modified_on.is_none_or(|m| m >= t))
            {
                touched.insert(release);
            }
        }
        let users = people(page.items.iter().flat_map(|d| {
            [
                d.value.requested_by.as_ref(),
                d.value.requested_for.as_ref(),
            ]
        }));
        let listed = rows.len() as u64;
        let mut batch = Batch::new(page.sent_at);
        batch.upsert(rows);
        write_users(&mut batch, users);
        commit(client, ctx, &batch, summary).await?;
        client.metrics().items(listed);
        summary.add("release_deployments", listed);
    }
    let cursor = newest_modified.map(|at| {
        let floor = at - ctx.overlap();
        DeploymentCursor {
            run: ctx.run_id,
            at,
            recent: seen.into_iter().filter(|(_, m)| *m >= floor).collect(),
        }
    });
    Ok(DeploymentWalk { touched, cursor })
}

fn deployments_scope(project: &TeamProject) -> String {
    format!("release_deployments:{}", project.id)
}

/// Reads the touched releases again by id, for their environments: `concurrency` at once
/// (the client's limit still bounds what is in flight), each group written in one batch.
async fn refresh_releases(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    touched: BTreeSet<i64>,
    summary: &mut Summary,
) -> Result<(), Error> {
    let ids: Vec<i64> = touched.into_iter().collect();
    for group in ids.chunks(REFRESH_GROUP) {
        let mut releases = Vec::with_capacity(group.len());
        let mut observed_at: Option<DateTime<Utc>> = None;
        let fetched: Vec<_> = futures::stream::iter(group.iter().copied())
            .map(|id| async move {
                let endpoint = Endpoint::Release {
                    project: project.id.clone(),
                    release: id,
                };
                (id, client.get::<WithRaw<Release>>(&endpoint, &[]).await)
            })
            .buffered(ctx.concurrency.max(1))
            .collect()
            .await;
        for (id, fetched) in fetched {
            match fetched {
                Ok(r) => {
                    observed_at = Some(observed_at.map_or(r.sent_at, |t| t.min(r.sent_at)));
                    releases.push(r.body);
                }
                // Deleted since the deployment was listed: left as stored (404 is not a
                // deletion).
                Err(ado::Error::NotFound { .. }) => {
                    tracing::warn!(connector = NAME, project = %project.name, release = id, "release not found while reading its environments; left as stored");
                    summary.add("releases_not_found", 1);
                }
                Err(e) => return Err(e.into()),
            }
        }
        let Some(observed_at) = observed_at else {
            continue;
        };
        let batch = release_batch(project, &releases, observed_at, summary);
        commit(client, ctx, &batch, summary).await?;
        summary.add("releases_refreshed", releases.len() as u64);
    }
    Ok(())
}
