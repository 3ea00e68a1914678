//! The Repos connector: projects, repositories, pull requests with reviewers, and the users
//! they mention.
//!
//! Strategy (DESIGN.md "Sync strategy per entity", API_FACTS §4.3):
//! - projects and repositories: the full list every run (repositories of every project in one
//!   organization-level call), diffed against the database to mark deletions (a complete
//!   listing is an explicit signal; a 404 never is);
//! - pull requests, per project through the project-level list (one request covers every
//!   repository, so small repositories cost nothing extra):
//!   - backfill: `status=all`, `$top=1000` pages walked by `$skip`, the offset stored as the
//!     cursor with each page so a killed run resumes where it stopped;
//!   - incremental: ADO has no "updated since" filter. Every change since the watermark is on
//!     a PR that is active now (votes, pushes, retitles and reactivations only happen to active
//!     PRs) or on one that closed since the watermark, so two listings cover everything: every
//!     active PR, and PRs closed since the watermark. A third "created since" listing would be
//!     redundant: a PR created since the watermark is active now or closed after its creation.
//!     The watermark is the start of the previous pass minus `sync.overlap`.

use super::map::git;
use super::{Error, Mode, Summary, SyncContext};
use crate::ado::models::core::TeamProject;
use crate::ado::models::git::{GitPullRequest, GitRepository};
use crate::ado::models::{ListEnvelope, WithRaw};
use crate::ado::paging::{GuardTrip, SkipPager};
use crate::ado::{self, Client, Endpoint};
use crate::store::{Batch, CursorUpdate, Store};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Connector name in config, cursors and logs.
pub const NAME: &str = "repos";
/// ADO caps PR pages at 1000 whatever `$top` asks (API_FACTS §1.2).
const PR_PAGE: u32 = 1000;

/// Where a project's pull-request sync stands (`sync_cursors.value`, JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PrCursor {
    /// A backfill walk in progress: the next `$skip`, and when the walk started.
    Backfill {
        run: i64,
        skip: u64,
        started_at: DateTime<Utc>,
    },
    /// Up to date as of `watermark` (the start of the pass that completed).
    Done { run: i64, watermark: DateTime<Utc> },
}

fn pr_scope(project_id: &str) -> String {
    format!("pull_requests:{project_id}")
}

/// Runs the Repos connector once.
pub async fn run(client: &Client, ctx: &SyncContext) -> Result<Summary, Error> {
    let mut summary = Summary::default();
    let projects = super::projects::sync(client, ctx, NAME, &mut summary).await?;
    sync_repositories(client, ctx, &projects, &mut summary).await?;
    super::for_each_project(ctx, NAME, projects, summary, |p| async move {
        sync_project(client, ctx, &p).await
    })
    .await
}

use super::check_cancel;

fn guard(endpoint: &'static str, project: &str, trip: GuardTrip) -> Error {
    super::guard(NAME, endpoint, project, trip)
}

/// Lists the repositories of every project in one organization-level call, writes those of
/// the selected projects, and marks the ones that vanished deleted.
async fn sync_repositories(
    client: &Client,
    ctx: &SyncContext,
    projects: &[TeamProject],
    summary: &mut Summary,
) -> Result<(), Error> {
    check_cancel(ctx)?;
    let repos: ado::Response<ListEnvelope<WithRaw<GitRepository>>> =
        client.get(&Endpoint::AllRepositories, &[]).await?;
    let selected: HashSet<&str> = projects.iter().map(|p| p.id.as_str()).collect();
    let mut batch = Batch::new(repos.sent_at);
    batch.repositories = repos
        .body
        .value
        .iter()
        .filter(|r| selected.contains(r.value.project.id.as_str()))
        .map(git::repository_row)
        .collect();
    let listed: HashSet<&str> = batch.repositories.iter().map(|r| r.id.as_str()).collect();
    for project in projects {
        for id in ctx.store.live_repository_ids(&ctx.org, &project.id).await? {
            if !listed.contains(id.as_str()) {
                tracing::info!(connector = NAME, project = %project.name, repository = %id, "repository no longer listed; marked deleted");
                batch.deleted_repositories.push(id);
            }
        }
    }
    let rows = ctx.store.apply(&ctx.org, &batch).await?;
    client.metrics().rows(rows);
    client.metrics().items(batch.repositories.len() as u64);
    summary.add("repositories", batch.repositories.len() as u64);
    summary.add(
        "repositories_deleted",
        batch.deleted_repositories.len() as u64,
    );
    summary.rows += rows;
    Ok(())
}

/// The pull requests of one project, from where its cursor stands.
async fn sync_project(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
) -> Result<Summary, Error> {
    let mut summary = Summary::default();
    check_cancel(ctx)?;
    let scope = pr_scope(&project.id);
    let stored = ctx.store.cursor(&ctx.org, NAME, &scope).await?;
    let cursor = match stored {
        None => None,
        Some(text) => Some(
            serde_json::from_str::<PrCursor>(&text).map_err(|e| Error::Cursor {
                scope: scope.clone(),
                reason: e.to_string(),
            })?,
        ),
    };
    let plan = match (ctx.mode, cursor) {
        (Mode::Backfill, Some(PrCursor::Done { run, .. })) if run == ctx.run_id => {
            tracing::info!(connector = NAME, project = %project.name, "already backfilled in this run; skipped");
            return Ok(summary);
        }
        (
            Mode::Backfill,
            Some(PrCursor::Backfill {
                run,
                skip,
                started_at,
            }),
        ) if run == ctx.run_id => Plan::Backfill { skip, started_at },
        (Mode::Backfill, _) | (Mode::Incremental, None) => Plan::Backfill {
            skip: 0,
            started_at: Utc::now(),
        },
        // An interrupted backfill is finished first, whichever command comes next.
        (
            Mode::Incremental,
            Some(PrCursor::Backfill {
                skip, started_at, ..
            }),
        ) => Plan::Backfill { skip, started_at },
        (Mode::Incremental, Some(PrCursor::Done { watermark, .. })) => Plan::Incremental {
            since: watermark - chrono::Duration::from_std(ctx.overlap).unwrap_or_default(),
        },
    };
    let prs = match plan {
        Plan::Backfill { skip, started_at } => {
            backfill_pull_requests(client, ctx, project, skip, started_at).await?
        }
        Plan::Incremental { since } => {
            incremental_pull_requests(client, ctx, project, since).await?
        }
    };
    summary.add("pull_requests", prs.0);
    summary.rows += prs.1;
    Ok(summary)
}

enum Plan {
    Backfill {
        skip: u64,
        started_at: DateTime<Utc>,
    },
    Incremental {
        since: DateTime<Utc>,
    },
}

fn ado_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Walks `status=all` from `skip`, committing each page with the offset after it.
async fn backfill_pull_requests(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    skip: u64,
    started_at: DateTime<Utc>,
) -> Result<(u64, u64), Error> {
    tracing::info!(connector = NAME, project = %project.name, skip, "backfilling pull requests");
    let mut base = vec![("searchCriteria.status", "all".to_string())];
    if let Some(since) = ctx.since {
        base.push(("searchCriteria.queryTimeRangeType", "created".into()));
        base.push(("searchCriteria.minTime", ado_time(since)));
    }
    let scope = pr_scope(&project.id);
    let mut pager = SkipPager::<i64>::new(PR_PAGE, skip);
    let (mut items, mut rows) = (0, 0);
    while let Some((top, skip)) = pager.next_request() {
        check_cancel(ctx)?;
        let (page, sent_at) = fetch_pr_page(client, project, &base, top, skip).await?;
        let fresh = pager
            .accept(page, |p| p.value.pull_request_id)
            .map_err(|t| guard("pull_requests", &project.name, t))?;
        let cursor = if pager.is_done() {
            PrCursor::Done {
                run: ctx.run_id,
                watermark: started_at,
            }
        } else {
            PrCursor::Backfill {
                run: ctx.run_id,
                skip: pager.skip(),
                started_at,
            }
        };
        let (n, r) = commit_prs(
            client,
            ctx,
            project,
            fresh,
            sent_at,
            Some((&scope, &cursor)),
        )
        .await?;
        items += n;
        rows += r;
    }
    tracing::info!(connector = NAME, project = %project.name, pull_requests = items, "pull requests backfilled");
    Ok((items, rows))
}

/// Every active PR, and PRs closed since the watermark (see the module docs for why that
/// covers every change); the watermark moves only when both listings are committed.
async fn incremental_pull_requests(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    since: DateTime<Utc>,
) -> Result<(u64, u64), Error> {
    let pass_started = Utc::now();
    let since_text = ado_time(since);
    let listings: [Vec<(&str, String)>; 2] = [
        vec![
            ("searchCriteria.status", "all".into()),
            ("searchCriteria.queryTimeRangeType", "closed".into()),
            ("searchCriteria.minTime", since_text),
        ],
        vec![("searchCriteria.status", "active".into())],
    ];
    let (mut items, mut rows) = (0, 0);
    for base in &listings {
        let mut pager = SkipPager::<i64>::new(PR_PAGE, 0);
        while let Some((top, skip)) = pager.next_request() {
            check_cancel(ctx)?;
            let (page, sent_at) = fetch_pr_page(client, project, base, top, skip).await?;
            let fresh = pager
                .accept(page, |p| p.value.pull_request_id)
                .map_err(|t| guard("pull_requests", &project.name, t))?;
            let (n, r) = commit_prs(client, ctx, project, fresh, sent_at, None).await?;
            items += n;
            rows += r;
        }
    }
    let scope = pr_scope(&project.id);
    let done = PrCursor::Done {
        run: ctx.run_id,
        watermark: pass_started,
    };
    commit_prs(
        client,
        ctx,
        project,
        Vec::new(),
        pass_started,
        Some((&scope, &done)),
    )
    .await?;
    tracing::info!(connector = NAME, project = %project.name, pull_requests = items, since = %since, "pull requests synced");
    Ok((items, rows))
}

async fn fetch_pr_page(
    client: &Client,
    project: &TeamProject,
    base: &[(&str, String)],
    top: u32,
    skip: u64,
) -> Result<(Vec<WithRaw<GitPullRequest>>, DateTime<Utc>), Error> {
    let mut query: Vec<(&str, String)> = base.to_vec();
    query.push(("$top", top.to_string()));
    query.push(("$skip", skip.to_string()));
    let endpoint = Endpoint::ProjectPullRequests {
        project: project.id.clone(),
    };
    let page: ado::Response<ListEnvelope<WithRaw<GitPullRequest>>> =
        client.get(&endpoint, &query).await?;
    Ok((page.body.value, page.sent_at))
}

/// Maps a page and writes it with its cursor in one transaction. Takes the page by value: its
/// JSON moves into the rows rather than being copied, so a page waiting for the store holds
/// it once.
async fn commit_prs(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    page: Vec<WithRaw<GitPullRequest>>,
    observed_at: DateTime<Utc>,
    cursor: Option<(&str, &PrCursor)>,
) -> Result<(u64, u64), Error> {
    let in_horizon =
        |p: &WithRaw<GitPullRequest>| ctx.since.is_none_or(|s| p.value.creation_date >= s);
    let kept: Vec<WithRaw<GitPullRequest>> = page.into_iter().filter(in_horizon).collect();
    let kept_len = kept.len() as u64;
    let mut batch = Batch::new(observed_at);
    batch.users = git::users_of(kept.iter().map(|p| &p.value));
    batch.pull_requests = kept
        .into_iter()
        .map(|p| git::into_pull_request_row(p, &project.id))
        .collect();
    batch.cursor = match cursor {
        Some((scope, c)) => Some(CursorUpdate {
            connector: NAME.to_string(),
            scope: scope.to_string(),
            value: serde_json::to_string(c).map_err(|e| Error::Cursor {
                scope: scope.to_string(),
                reason: e.to_string(),
            })?,
        }),
        None => None,
    };
    let started = std::time::Instant::now();
    let rows = ctx.store.apply(&ctx.org, &batch).await?;
    client.metrics().rows(rows);
    client.metrics().items(kept_len);
    tracing::debug!(
        connector = NAME,
        project = %project.name,
        endpoint = "pull_requests",
        rows,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "page committed"
    );
    Ok((kept_len, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_as_tagged_json() {
        let c = PrCursor::Backfill {
            run: 3,
            skip: 2000,
            started_at: "2026-01-02T03:04:05Z".parse().unwrap(),
        };
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(
            text,
            r#"{"state":"backfill","run":3,"skip":2000,"started_at":"2026-01-02T03:04:05Z"}"#
        );
        assert_eq!(serde_json::from_str::<PrCursor>(&text).unwrap(), c);
    }
}
