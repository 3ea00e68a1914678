//! The Repos connector: projects, repositories, pull requests with reviewers and their
//! inside (iterations, changes, threads, work items, statuses, policy evaluations:
//! [`super::pr_depth`]), and the users they mention.
//!
//! Strategy (DESIGN.md "Sync strategy per entity", API_FACTS §4.3):
//! - projects and repositories: the full list every run (repositories of every project in one
//!   organization-level call), diffed against the database to mark deletions (a complete
//!   listing is an explicit signal; a 404 never is);
//! - pull requests, per project through the project-level list (one request covers every
//!   repository, so small repositories cost nothing extra):
//!   - backfill: `status=all`, `$top=1000` pages newest first in creation-time windows
//!     (`searchCriteria.maxTime`), the window's boundary stored as the cursor with each page
//!     so a killed run resumes where it stopped. Not by `$skip`: an offset shifts when PRs
//!     before it vanish (a repository deleted mid-walk) and the walk would jump over PRs;
//!     see [`super::pr_window`];
//!   - incremental: ADO has no "updated since" filter. Every change since the watermark is on
//!     a PR that is active now (votes, pushes, retitles and reactivations only happen to active
//!     PRs) or on one that closed since the watermark, so two listings cover everything: every
//!     active PR, and PRs closed since the watermark. A third "created since" listing would be
//!     redundant: a PR created since the watermark is active now or closed after its creation.
//!     The watermark is the start of the previous pass minus `sync.overlap`.
//!   - a server without the PR list's time filters (before api-version 7.1: Azure DevOps
//!     Server 2022 RTM and older, API_FACTS §4.3) ignores `minTime`/`maxTime`: the backfill
//!     walks by offset from the start, and the incremental pass pages the whole `status=all`
//!     list once and keeps, on the client side, what the two listings above would have held
//!     (active PRs and PRs closed since the watermark).

use std::collections::HashSet;
use std::pin::pin;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::map::git;
use super::pr_window::Boundary;
use super::{
    Connector, Error, Mode, Need, Summary, SyncContext, commit, cursor_update, load_cursor,
};
use crate::ado::listing::{
    AllRepositories, Listing, PrStatus, PrTimeFilter, PrTimeRange, PullRequests,
};
use crate::ado::models::WithRaw;
use crate::ado::models::core::TeamProject;
use crate::ado::models::git::GitPullRequest;
use crate::ado::version::PR_TIME_FILTERS;
use crate::ado::{Client, Resume};
use crate::store::schema::core::write_users;
use crate::store::{Batch, PullRequestRow, Record, RepositoryRow};

/// Connector name in config, cursors and logs.
pub const NAME: &str = "repos";

/// The Repos connector.
pub struct Repos;

impl Connector for Repos {
    fn name(&self) -> &'static str {
        NAME
    }

    fn needs(&self) -> &'static [Need] {
        &[
            Need {
                endpoint: "projects",
                scopes: &["vso.project", "vso.code"],
                optional: false,
            },
            Need {
                endpoint: "repositories",
                scopes: &["vso.code"],
                optional: false,
            },
            Need {
                endpoint: "pull_requests",
                scopes: &["vso.code"],
                optional: false,
            },
            Need {
                endpoint: "pull_request_threads",
                scopes: &["vso.code"],
                optional: false,
            },
            Need {
                endpoint: "policy_evaluations",
                scopes: &["vso.code"],
                optional: true,
            },
        ]
    }

    fn run(&self, client: Client, ctx: SyncContext) -> BoxFuture<'static, Result<Summary, Error>> {
        Box::pin(async move { run(client, ctx).await })
    }
}

/// Where a project's pull-request sync stands (`sync_cursors.value`, JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PrCursor {
    /// A backfill walk in progress: the creation-time boundary it has reached, and when the
    /// walk started.
    #[serde(rename = "backfill_window")]
    Backfill {
        run: i64,
        started_at: DateTime<Utc>,
        boundary: Boundary,
    },
    /// A backfill walk in progress as versions before the creation-time windows stored it:
    /// the next `$skip`. Read, never written; the walk restarts from the newest PR.
    #[serde(rename = "backfill")]
    OffsetBackfill {
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

async fn run(client: Client, ctx: SyncContext) -> Result<Summary, Error> {
    let listing = |c: Client, x: SyncContext| async move {
        let mut s = Summary::default();
        let projects = super::projects::sync(&c, &x, NAME, &mut s).await?;
        sync_repositories(&c, &x, &projects, &mut s).await?;
        Ok((projects, s))
    };
    super::by_project(&client, &ctx, NAME, listing, |client, ctx, p| async move {
        sync_project(&client, &ctx, &p).await
    })
    .await
}

/// Lists the repositories of every project in one organization-level call, writes those of
/// the selected projects, and marks the ones that vanished deleted.
async fn sync_repositories(
    client: &Client,
    ctx: &SyncContext,
    projects: &[TeamProject],
    summary: &mut Summary,
) -> Result<(), Error> {
    let (repos, observed_at) = client.list_all(AllRepositories).await?;
    let selected: HashSet<&str> = projects.iter().map(|p| p.id.as_str()).collect();
    let rows: Vec<RepositoryRow> = repos
        .iter()
        .filter(|r| selected.contains(r.value.project.id.as_str()))
        .map(git::repository_row)
        .collect();
    let listed = rows.len() as u64;
    let present: Vec<(&TeamProject, Vec<_>)> = projects
        .iter()
        .map(|p| {
            let keys = rows
                .iter()
                .filter(|r| r.project_id == p.id)
                .map(Record::key)
                .collect();
            (p, keys)
        })
        .collect();
    // The upsert comes first, so a listed repository is never marked.
    let mut batch = ctx.listing_batch(observed_at);
    batch.upsert(rows);
    for (project, keys) in present {
        batch.mark_missing::<RepositoryRow>(vec![("project_id", project.id.as_str().into())], keys);
    }
    commit(client, ctx, &batch, summary).await?;
    client.metrics().items(listed);
    summary.add("repositories", listed);
    Ok(())
}

/// The pull requests of one project, from where its cursor stands.
async fn sync_project(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
) -> Result<Summary, Error> {
    let mut summary = Summary::default();
    let scope = pr_scope(&project.id);
    let cursor: Option<PrCursor> = load_cursor(ctx, NAME, &scope).await?;
    let plan = match (ctx.mode, cursor) {
        (Mode::Backfill, Some(PrCursor::Done { run, .. })) if run == ctx.run_id => {
            tracing::info!(connector = NAME, project = %project.name, "pull requests already backfilled in this run; finishing what is inside them");
            // A resumed backfill killed while fetching the inside of the PRs finishes it.
            super::pr_depth::sync_project(client, ctx, project, &mut summary).await?;
            return Ok(summary);
        }
        (
            Mode::Backfill,
            Some(PrCursor::Backfill {
                run,
                started_at,
                boundary,
            }),
        ) if run == ctx.run_id => Plan::Backfill {
            boundary,
            started_at,
        },
        (
            Mode::Backfill,
            Some(PrCursor::OffsetBackfill {
                run, started_at, ..
            }),
        ) if run == ctx.run_id => offset_cursor_restarts(project, started_at),
        (Mode::Backfill, _) | (Mode::Sync, None) => Plan::Backfill {
            boundary: Boundary::default(),
            started_at: client.now(),
        },
        // An interrupted backfill is finished first, whichever command comes next.
        (
            Mode::Sync,
            Some(PrCursor::Backfill {
                started_at,
                boundary,
                ..
            }),
        ) => Plan::Backfill {
            boundary,
            started_at,
        },
        (Mode::Sync, Some(PrCursor::OffsetBackfill { started_at, .. })) => {
            offset_cursor_restarts(project, started_at)
        }
        (Mode::Sync, Some(PrCursor::Done { watermark, .. })) => Plan::Incremental {
            since: watermark - ctx.overlap(),
        },
    };
    match plan {
        Plan::Backfill {
            boundary,
            started_at,
        } => {
            backfill_pull_requests(client, ctx, project, boundary, started_at, &mut summary).await?
        }
        Plan::Incremental { since } => {
            incremental_pull_requests(client, ctx, project, since, &mut summary).await?
        }
    }
    super::pr_depth::sync_project(client, ctx, project, &mut summary).await?;
    Ok(summary)
}

/// An older version's `$skip` cursor cannot be turned into a boundary (the offset may
/// already be off by the PRs that vanished since), so the walk starts again from the newest
/// PR: the PRs it re-reads are upserted again, which changes nothing (upserts are idempotent
/// and never regress a row). The walk keeps its original start, so the watermark it ends
/// with still precedes every change made while either walk ran.
fn offset_cursor_restarts(project: &TeamProject, started_at: DateTime<Utc>) -> Plan {
    tracing::info!(connector = NAME, project = %project.name, "offset backfill cursor from an older version; walking again from the newest pull request");
    Plan::Backfill {
        boundary: Boundary::default(),
        started_at,
    }
}

enum Plan {
    Backfill {
        boundary: Boundary,
        started_at: DateTime<Utc>,
    },
    Incremental {
        since: DateTime<Utc>,
    },
}

/// Full pages in a row without a new PR before the backfill walk gives up (a repeated-page
/// guard, as `ado::paging` has for offset walks).
const MAX_STALE_PAGES: u32 = 2;

/// Walks `status=all` newest first in creation-time windows from `boundary`, committing
/// each page with the boundary after it (see [`super::pr_window`] for why not by offset).
async fn backfill_pull_requests(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    mut boundary: Boundary,
    started_at: DateTime<Utc>,
    summary: &mut Summary,
) -> Result<(), Error> {
    // Known before the first PR request: the projects listing has already negotiated the
    // api-version (ado::version).
    let filters = client.speaks(PR_TIME_FILTERS);
    if !filters && !boundary.by_offset && boundary.created.is_none() {
        tracing::info!(connector = NAME, project = %project.name, "no pull request time filters before api-version 7.1; backfilling by offset");
        boundary.by_offset = true;
    }
    tracing::info!(connector = NAME, project = %project.name, boundary = ?boundary.created, skip = boundary.skip, "backfilling pull requests");
    let scope = pr_scope(&project.id);
    let before = summary.count("pull_requests");
    let mut stale = 0;
    loop {
        let request = boundary.request();
        let listing = PullRequests {
            project: project.id.clone(),
            status: PrStatus::All,
            time: (filters && (request.max_time.is_some() || ctx.since.is_some())).then_some(
                PrTimeFilter {
                    range: PrTimeRange::Created,
                    min: ctx.since,
                    max: request.max_time,
                },
            ),
        };
        let endpoint = listing.endpoint().label();
        // One request per window: the next one depends on what this page held.
        let mut pages = pin!(client.pages(listing, Some(Resume::Skip(request.skip))));
        let Some(page) = pages.next().await.transpose()? else {
            break;
        };
        let rows = match page.resume {
            Some(Resume::Skip(next)) => next.saturating_sub(request.skip),
            _ => 0,
        };
        // Without `minTime` the list goes on past the backfill horizon (`sync.since`); ids
        // are handed out at creation and the list is newest first, so a page created wholly
        // before the horizon ends the walk.
        let past_horizon = !filters
            && ctx.since.is_some_and(|since| {
                !page.items.is_empty() && page.items.iter().all(|p| p.value.creation_date < since)
            });
        let (cursor, next) = if page.last || past_horizon {
            let done = PrCursor::Done {
                run: ctx.run_id,
                watermark: started_at,
            };
            (done, None)
        } else {
            let dated: Vec<_> = page
                .items
                .iter()
                .map(|p| (p.value.pull_request_id, p.value.creation_date))
                .collect();
            let next = boundary.after_page(&dated, rows);
            if next.by_offset && !boundary.by_offset {
                tracing::warn!(connector = NAME, project = %project.name, endpoint, "the server ignores searchCriteria.maxTime (older than Azure DevOps Server 2022.1?); backfilling this project by offset");
            }
            let walking = PrCursor::Backfill {
                run: ctx.run_id,
                started_at,
                boundary: next.clone(),
            };
            (walking, Some(next))
        };
        let fresh: Vec<_> = page
            .items
            .into_iter()
            .filter(|p| !boundary.is_seen(p.value.pull_request_id))
            .collect();
        // Each full page moves the boundary or the offset inside its window, so a walk ends
        // unless the server ignores both `maxTime` and `$skip`: then pages repeat forever.
        stale = if fresh.is_empty() && !page.last {
            stale + 1
        } else {
            0
        };
        if stale > MAX_STALE_PAGES {
            tracing::error!(connector = NAME, project = %project.name, endpoint, boundary = ?boundary.created, skip = boundary.skip, "paging guard fired: backfill pages bring no new pull request");
            return Err(crate::ado::Error::PagingGuard {
                endpoint,
                reason: format!("{stale} full pages in a row held no new pull request"),
            }
            .into());
        }
        commit_prs(
            client,
            ctx,
            project,
            fresh,
            page.sent_at,
            Some((&scope, &cursor)),
            summary,
        )
        .await?;
        match next {
            Some(next) => boundary = next,
            None => break,
        }
    }
    tracing::info!(connector = NAME, project = %project.name, pull_requests = summary.count("pull_requests") - before, "pull requests backfilled");
    Ok(())
}

/// Every active PR, and PRs closed since the watermark (see the module docs for why that
/// covers every change); the watermark moves only when both listings are committed.
async fn incremental_pull_requests(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    since: DateTime<Utc>,
    summary: &mut Summary,
) -> Result<(), Error> {
    // By ADO's clock: the next pass asks ADO for PRs closed since then (ado::clock).
    let pass_started = client.now();
    let listing = |status, time| PullRequests {
        project: project.id.clone(),
        status,
        time,
    };
    let filters = client.speaks(PR_TIME_FILTERS);
    let listings = if filters {
        let closed = PrTimeFilter {
            range: PrTimeRange::Closed,
            min: Some(since),
            max: None,
        };
        vec![
            listing(PrStatus::All, Some(closed)),
            listing(PrStatus::Active, None),
        ]
    } else {
        // One walk over everything, filtered here (see the module docs).
        vec![listing(PrStatus::All, None)]
    };
    let before = summary.count("pull_requests");
    for listing in listings {
        let mut pages = pin!(client.pages(listing, None));
        while let Some(page) = pages.next().await {
            let page = page?;
            let mut items = page.items;
            if !filters {
                items.retain(|p| changed_since(&p.value, since));
            }
            if items.is_empty() {
                continue;
            }
            commit_prs(client, ctx, project, items, page.sent_at, None, summary).await?;
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
        summary,
    )
    .await?;
    tracing::info!(connector = NAME, project = %project.name, pull_requests = summary.count("pull_requests") - before, since = %since, "pull requests synced");
    Ok(())
}

/// Whether a PR listed without time filters is one the incremental listings would have
/// held: active now, or closed since `since`.
fn changed_since(pr: &GitPullRequest, since: DateTime<Utc>) -> bool {
    pr.status.eq_ignore_ascii_case("active") || pr.closed_date.is_some_and(|c| c >= since)
}

/// Maps a page and writes it with its cursor in one transaction. Takes the page by value: its
/// JSON moves into the rows rather than being copied, so a page waiting for the store holds
/// it once.
pub(super) async fn commit_prs(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    page: Vec<WithRaw<GitPullRequest>>,
    observed_at: DateTime<Utc>,
    cursor: Option<(&str, &PrCursor)>,
    summary: &mut Summary,
) -> Result<(), Error> {
    let in_horizon =
        |p: &WithRaw<GitPullRequest>| ctx.since.is_none_or(|s| p.value.creation_date >= s);
    let mut kept: Vec<WithRaw<GitPullRequest>> = page.into_iter().filter(in_horizon).collect();
    // One entry per PR (the last), so a PR listed twice gets one reviewer set, not both.
    kept.reverse();
    let mut ids = HashSet::new();
    kept.retain(|p| ids.insert(p.value.pull_request_id));
    kept.reverse();
    let kept_len = kept.len() as u64;
    let users = git::users_of(kept.iter().map(|p| &p.value));
    let mut prs: Vec<PullRequestRow> = Vec::with_capacity(kept.len());
    let mut reviewers = Vec::new();
    for p in kept {
        let (row, r) = git::into_pull_request_row(p, &project.id);
        prs.push(row);
        reviewers.extend(r);
    }
    let parents = prs.iter().map(Record::key).collect();
    let mut batch = Batch::new(observed_at);
    batch
        .upsert(prs)
        .replace_children::<PullRequestRow, _>(parents, reviewers)
        // Users late in the transaction: every page of every project upserts the same people,
        // and a row lock taken here is held until the commit, so concurrent pages (Postgres)
        // queue on these rows for as short a time as possible.
        ;
    write_users(&mut batch, users);
    if let Some((scope, c)) = cursor {
        batch.with_cursor(cursor_update(NAME, scope, c)?);
    }
    commit(client, ctx, &batch, summary).await?;
    client.metrics().items(kept_len);
    summary.add("pull_requests", kept_len);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_as_tagged_json() {
        let c = PrCursor::Backfill {
            run: 3,
            started_at: "2026-01-02T03:04:05Z".parse().unwrap(),
            boundary: Boundary {
                created: Some("2025-12-30T10:00:00.5Z".parse().unwrap()),
                seen: vec![812],
                skip: 0,
                by_offset: false,
            },
        };
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(
            text,
            r#"{"state":"backfill_window","run":3,"started_at":"2026-01-02T03:04:05Z","boundary":{"created":"2025-12-30T10:00:00.500Z","seen":[812]}}"#
        );
        assert_eq!(serde_json::from_str::<PrCursor>(&text).unwrap(), c);
    }

    #[test]
    fn without_time_filters_active_and_recently_closed_prs_are_kept() {
        let pr = |status: &str, closed: Option<&str>| {
            let mut v = serde_json::json!({
                "pullRequestId": 1,
                "status": status,
                "creationDate": "2026-01-01T00:00:00Z",
                "repository": {"id": "r", "name": "r", "project": {"id": "p", "name": "p"}},
                "createdBy": {"id": "u", "displayName": "U"},
                "sourceRefName": "refs/heads/a",
                "targetRefName": "refs/heads/main",
                "title": "t"
            });
            if let Some(c) = closed {
                v["closedDate"] = c.into();
            }
            serde_json::from_value::<GitPullRequest>(v).unwrap()
        };
        let since: DateTime<Utc> = "2026-02-01T00:00:00Z".parse().unwrap();
        assert!(changed_since(&pr("active", None), since));
        assert!(changed_since(
            &pr("completed", Some("2026-02-01T00:00:00Z")),
            since
        ));
        assert!(changed_since(
            &pr("abandoned", Some("2026-03-01T00:00:00Z")),
            since
        ));
        assert!(!changed_since(
            &pr("completed", Some("2026-01-31T23:59:59Z")),
            since
        ));
        assert!(!changed_since(&pr("abandoned", None), since));
    }

    #[test]
    fn an_offset_cursor_of_an_older_version_is_still_read() {
        let text =
            r#"{"state":"backfill","run":3,"skip":2000,"started_at":"2026-01-02T03:04:05Z"}"#;
        assert_eq!(
            serde_json::from_str::<PrCursor>(text).unwrap(),
            PrCursor::OffsetBackfill {
                run: 3,
                skip: 2000,
                started_at: "2026-01-02T03:04:05Z".parse().unwrap(),
            }
        );
    }
}
