//! The Commits connector: every repository's default-branch history (`commits`), with its
//! own `[connectors.commits]` section, token pool and limiter (scope Code (Read)). Disabled
//! unless configured.
//!
//! Per repository (listed per project with this connector's own tokens; the repository rows
//! themselves are the Repos connector's), one cursor `commits:{repository_id}`:
//! - **Full walk** — the first pass, every backfill, every `sync.reconcile_every`, after the
//!   default branch changed, and when a rewrite is seen: the branch's whole history from
//!   `sync.since`, newest first, `$top`/`$skip` pages of 1,000 (API_FACTS §1.2, §4.4), each
//!   page committed with the position it reached, so a killed walk resumes there. New
//!   commits pushed during the walk shift the offsets later, so a resumed walk re-reads some
//!   (upserts are idempotent) and skips none. Every listed row is re-observed (`synced_at`);
//!   at the end the repository's rows the walk did not observe are the commits no longer on
//!   the branch (a force-push): they get `deleted_at` and keep their data. The sweep runs
//!   through the mass-deletion guard like every complete listing.
//! - **Incremental** — `searchCriteria.fromDate` = the newest committer date seen minus
//!   `sync.overlap` (no later than the stored tip's own dates, so the window always reaches
//!   the tip). The stored tip must be in that window: if it is not, the branch was rewritten
//!   (force-pushed, or reset), and a full walk reconciles it in the same pass. An unchanged
//!   branch costs one request.
//!
//! A commit that reaches the branch through a merge but carries an older date than the
//! window (a long-lived branch merged without squashing) is not in the incremental window;
//! the next reconciliation walk stores it. Commits of a repository that vanished stay as
//! stored: a deleted repository's row is marked by the Repos connector, and a 404 is not a
//! deletion (DESIGN.md).

use std::pin::pin;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::map::commits::{self as map, OnBranch};
use super::{
    Connector, Error, Mode, Need, Summary, SyncContext, commit, cursor_update, load_cursor,
};
use crate::ado::listing::{BranchCommits, Repositories};
use crate::ado::models::WithRaw;
use crate::ado::models::core::TeamProject;
use crate::ado::models::git::GitRepository;
use crate::ado::models::git_commits::GitCommitRef;
use crate::ado::{self, Client, Resume};
use crate::store::Batch;
use crate::store::schema::commits::CommitRow;

/// Connector name in config, cursors and logs.
pub const NAME: &str = "commits";

/// The Commits connector.
pub struct Commits;

impl Connector for Commits {
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
                endpoint: "commits",
                scopes: &["vso.code"],
                optional: false,
            },
        ]
    }

    fn run(&self, client: Client, ctx: SyncContext) -> BoxFuture<'static, Result<Summary, Error>> {
        Box::pin(async move { run(client, ctx).await })
    }
}

/// The newest commit of a branch as a pass saw it: the commit a later pass expects to find
/// again unless the branch was rewritten.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tip {
    pub id: String,
    pub author_date: Option<DateTime<Utc>>,
    pub committer_date: Option<DateTime<Utc>>,
}

impl Tip {
    fn of(c: &GitCommitRef) -> Self {
        Self {
            id: c.commit_id.clone(),
            author_date: c.author.as_ref().and_then(|a| a.date),
            committer_date: c.committer.as_ref().and_then(|a| a.date),
        }
    }
}

/// Where a repository's history stands (`sync_cursors.value`, JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum BranchCursor {
    /// A full walk in progress: the next offset, and what the walk has seen so far.
    Walking {
        run: i64,
        branch: String,
        /// When the walk's first request was about to be sent (ADO's clock): rows observed
        /// before it and not since are the ones the walk did not list.
        started_at: DateTime<Utc>,
        skip: u64,
        tip: Option<Tip>,
        watermark: Option<DateTime<Utc>>,
        /// The default branch before this walk, when the walk is there because it changed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        moved_from: Option<String>,
    },
    /// Up to date: the tip and newest committer date seen, and the last full walk.
    Done {
        branch: String,
        tip: Option<Tip>,
        watermark: Option<DateTime<Utc>>,
        reconciled_at: DateTime<Utc>,
        reconciled_run: i64,
    },
}

impl BranchCursor {
    fn branch(&self) -> &str {
        match self {
            BranchCursor::Walking { branch, .. } | BranchCursor::Done { branch, .. } => branch,
        }
    }
}

fn scope(repository_id: &str) -> String {
    format!("commits:{repository_id}")
}

/// What a pass does with one repository.
#[derive(Debug, Clone, PartialEq)]
enum Plan {
    /// Walk the whole branch: from the start (`walk = None`) or from a stored position.
    Walk {
        resume: Option<BranchCursor>,
        why: &'static str,
        /// The previous default branch, when it changed.
        moved_from: Option<String>,
    },
    Incremental {
        tip: Option<Tip>,
        watermark: Option<DateTime<Utc>>,
        reconciled_at: DateTime<Utc>,
        reconciled_run: i64,
    },
}

/// Decides between a full walk and an incremental window (see the module doc).
fn plan(
    ctx_mode: Mode,
    run_id: i64,
    reconcile_every: chrono::Duration,
    now: DateTime<Utc>,
    branch: &str,
    cursor: Option<BranchCursor>,
) -> Plan {
    let walk = |why| Plan::Walk {
        resume: None,
        why,
        moved_from: None,
    };
    let moved = |from: String| Plan::Walk {
        resume: None,
        why: "default branch changed",
        moved_from: Some(from),
    };
    match cursor {
        None => walk("first walk"),
        Some(c @ BranchCursor::Walking { .. }) if c.branch() == branch => Plan::Walk {
            resume: Some(c),
            why: "resuming a walk",
            moved_from: None,
        },
        Some(BranchCursor::Walking { branch: b, .. }) => moved(b),
        Some(BranchCursor::Done { branch: b, .. }) if b != branch => moved(b),
        Some(BranchCursor::Done { reconciled_run, .. })
            if ctx_mode == Mode::Backfill && reconciled_run != run_id =>
        {
            walk("backfill")
        }
        Some(BranchCursor::Done { reconciled_at, .. })
            if now - reconciled_at >= reconcile_every =>
        {
            walk("reconciliation")
        }
        Some(BranchCursor::Done {
            tip,
            watermark,
            reconciled_at,
            reconciled_run,
            ..
        }) => Plan::Incremental {
            tip,
            watermark,
            reconciled_at,
            reconciled_run,
        },
    }
}

/// The incremental window's `fromDate`: the watermark minus the overlap, moved back to the
/// tip's own dates if they are older, so the tip is inside the window whichever date ADO
/// filters on.
fn window_start(
    tip: Option<&Tip>,
    watermark: Option<DateTime<Utc>>,
    overlap: chrono::Duration,
) -> Option<DateTime<Utc>> {
    let tip_dates = tip
        .into_iter()
        .flat_map(|t| [t.author_date, t.committer_date])
        .flatten();
    watermark
        .map(|w| w - overlap)
        .into_iter()
        .chain(tip_dates)
        .min()
}

async fn run(client: Client, ctx: SyncContext) -> Result<Summary, Error> {
    let listing = |c: Client, x: SyncContext| async move {
        let mut s = Summary::default();
        let projects = super::projects::sync(&c, &x, NAME, &mut s).await?;
        Ok((projects, s))
    };
    super::by_project(&client, &ctx, NAME, listing, |client, ctx, p| async move {
        sync_project(&client, &ctx, &p).await
    })
    .await
}

/// Every repository of one project with a default branch, several at once.
async fn sync_project(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
) -> Result<Summary, Error> {
    let mut summary = Summary::default();
    let (repos, _) = client
        .list_all(Repositories {
            project: project.id.clone(),
        })
        .await?;
    let mut with_branch = Vec::new();
    for r in repos {
        match r.value.default_branch.clone() {
            Some(branch) if !r.value.is_disabled => with_branch.push((r, branch)),
            // An empty repository has no default branch; a disabled one answers nothing.
            _ => {
                tracing::debug!(connector = NAME, project = %project.name, repository = %r.value.name, "no default branch to read (empty or disabled repository)");
                summary.add("repositories_without_history", 1);
            }
        }
    }
    let results = futures::stream::iter(with_branch)
        .map(|(repo, branch)| async move {
            let mut s = Summary::default();
            let outcome = sync_repository(client, ctx, project, &repo, &branch, &mut s).await;
            (repo, outcome.map(|()| s))
        })
        .buffer_unordered(ctx.concurrency.max(1));
    let mut results = pin!(results);
    while let Some((repo, outcome)) = results.next().await {
        match outcome {
            Ok(s) => {
                summary.merge(&s);
                summary.add("repositories", 1);
            }
            // The branch or the repository went away since the listing; a 404 is not a
            // deletion (DESIGN.md): what is stored stays.
            Err(Error::Ado(ado::Error::NotFound { endpoint, .. })) => {
                tracing::warn!(connector = NAME, project = %project.name, repository = %repo.value.name, endpoint, "default branch not found; its commits are left as stored");
                summary.add("repositories_not_found", 1);
            }
            Err(e) => return Err(e),
        }
    }
    tracing::info!(connector = NAME, project = %project.name, repositories = summary.count("repositories"), commits = summary.count("commits"), walks = summary.count("branches_walked"), rewrites = summary.count("branches_rewritten"), "default-branch commits synced");
    Ok(summary)
}

async fn sync_repository(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    repo: &WithRaw<GitRepository>,
    branch: &str,
    summary: &mut Summary,
) -> Result<(), Error> {
    let scope = scope(&repo.value.id);
    let cursor: Option<BranchCursor> = load_cursor(ctx, NAME, &scope).await?;
    let every = chrono::Duration::from_std(ctx.reconcile_every).unwrap_or(chrono::Duration::MAX);
    let on = OnBranch {
        project_id: &project.id,
        repository_id: &repo.value.id,
        branch,
    };
    match plan(ctx.mode, ctx.run_id, every, client.now(), branch, cursor) {
        Plan::Walk {
            resume,
            why,
            moved_from,
        } => {
            tracing::info!(connector = NAME, project = %project.name, repository = %repo.value.name, why, "walking the default branch");
            walk(client, ctx, on, &scope, resume, moved_from, summary).await
        }
        Plan::Incremental {
            tip,
            watermark,
            reconciled_at,
            reconciled_run,
        } => {
            let from = window_start(tip.as_ref(), watermark, ctx.overlap());
            let seen = window(client, ctx, on, from, tip.as_ref(), summary).await?;
            match seen {
                Window::Rewritten => {
                    tracing::info!(connector = NAME, project = %project.name, repository = %repo.value.name, tip = tip.as_ref().map(|t| t.id.as_str()), "the default branch no longer has its stored tip (force-push or reset); walking it");
                    summary.add("branches_rewritten", 1);
                    walk(client, ctx, on, &scope, None, None, summary).await
                }
                Window::Kept {
                    tip: new_tip,
                    watermark: newest,
                    observed_at,
                } => {
                    let done = BranchCursor::Done {
                        branch: branch.to_string(),
                        tip: new_tip.or(tip),
                        watermark: watermark.max(newest),
                        reconciled_at,
                        reconciled_run,
                    };
                    let mut batch = Batch::new(observed_at);
                    batch.with_cursor(cursor_update(NAME, &scope, &done)?);
                    commit(client, ctx, &batch, summary).await?;
                    Ok(())
                }
            }
        }
    }
}

/// What an incremental window showed.
enum Window {
    /// The stored tip is still on the branch: the window's newest commit and date.
    Kept {
        tip: Option<Tip>,
        watermark: Option<DateTime<Utc>>,
        observed_at: DateTime<Utc>,
    },
    /// The stored tip is gone from the branch.
    Rewritten,
}

/// Lists the branch from `from`, upserting each page, and checks that `tip` is among it.
async fn window(
    client: &Client,
    ctx: &SyncContext,
    on: OnBranch<'_>,
    from: Option<DateTime<Utc>>,
    tip: Option<&Tip>,
    summary: &mut Summary,
) -> Result<Window, Error> {
    let listing = BranchCommits {
        project: on.project_id.to_string(),
        repository: on.repository_id.to_string(),
        branch: on.branch.to_string(),
        from,
    };
    let mut pages = pin!(client.pages(listing, None));
    let (mut newest_tip, mut newest, mut found) = (None, None, tip.is_none());
    let mut observed_at = client.now();
    let mut first = true;
    while let Some(page) = pages.next().await {
        let page = page?;
        if first {
            observed_at = page.sent_at;
            first = false;
        }
        if newest_tip.is_none() {
            newest_tip = page.items.first().map(|c| Tip::of(&c.value));
        }
        found |= tip.is_some_and(|t| page.items.iter().any(|c| c.value.commit_id == t.id));
        newest = newest.max(newest_date(&page.items));
        write_page(client, ctx, on, &page.items, page.sent_at, None, summary).await?;
    }
    Ok(if found {
        Window::Kept {
            tip: newest_tip,
            watermark: newest,
            observed_at,
        }
    } else {
        Window::Rewritten
    })
}

/// The greatest committer date of a page.
fn newest_date(items: &[WithRaw<GitCommitRef>]) -> Option<DateTime<Utc>> {
    items
        .iter()
        .filter_map(|c| c.value.committer.as_ref().and_then(|u| u.date))
        .max()
}

/// Upserts one page of commits, with `cursor` when given.
async fn write_page(
    client: &Client,
    ctx: &SyncContext,
    on: OnBranch<'_>,
    items: &[WithRaw<GitCommitRef>],
    observed_at: DateTime<Utc>,
    cursor: Option<&BranchCursor>,
    summary: &mut Summary,
) -> Result<(), Error> {
    let rows: Vec<CommitRow> = items.iter().map(|c| map::commit_row(on, c)).collect();
    let listed = rows.len() as u64;
    let mut batch = Batch::new(observed_at);
    batch.upsert(rows);
    if let Some(c) = cursor {
        batch.with_cursor(cursor_update(NAME, &scope(on.repository_id), c)?);
    }
    if batch.is_empty() && batch.cursor.is_none() {
        return Ok(());
    }
    commit(client, ctx, &batch, summary).await?;
    client.metrics().items(listed);
    summary.add("commits", listed);
    Ok(())
}

/// Walks the whole branch (from `sync.since`), from the start or a stored position, then
/// marks what the walk did not observe deleted and stores the tip.
async fn walk(
    client: &Client,
    ctx: &SyncContext,
    on: OnBranch<'_>,
    scope: &str,
    resume: Option<BranchCursor>,
    moved_from: Option<String>,
    summary: &mut Summary,
) -> Result<(), Error> {
    let (started_at, mut skip, mut tip, mut watermark, moved_from) = match resume {
        Some(BranchCursor::Walking {
            started_at,
            skip,
            tip,
            watermark,
            moved_from,
            ..
        }) => (started_at, skip, tip, watermark, moved_from),
        _ => (client.now(), 0, None, None, moved_from),
    };
    summary.add("branches_walked", 1);
    let listing = BranchCommits {
        project: on.project_id.to_string(),
        repository: on.repository_id.to_string(),
        branch: on.branch.to_string(),
        from: ctx.since,
    };
    let from = (skip > 0).then_some(Resume::Skip(skip));
    let mut pages = pin!(client.pages(listing, from));
    while let Some(page) = pages.next().await {
        let page = page?;
        if tip.is_none() {
            tip = page.items.first().map(|c| Tip::of(&c.value));
        }
        watermark = watermark.max(newest_date(&page.items));
        skip = match page.resume {
            Some(Resume::Skip(n)) => n,
            _ => skip + page.items.len() as u64,
        };
        let walking = BranchCursor::Walking {
            run: ctx.run_id,
            branch: on.branch.to_string(),
            started_at,
            skip,
            tip: tip.clone(),
            watermark,
            moved_from: moved_from.clone(),
        };
        write_page(
            client,
            ctx,
            on,
            &page.items,
            page.sent_at,
            Some(&walking),
            summary,
        )
        .await?;
    }
    // The sweep is observed just before the walk began: a row the walk listed was observed
    // after that and is left alone; a row it did not list was last observed before it.
    let mut sweep = ctx.listing_batch(started_at - chrono::Duration::microseconds(1));
    // A new default branch may share little with the old one: the repository listing says
    // so explicitly, so the old branch's commits are marked whatever their share (the
    // mass-deletion guard is for listings that shrink without a reason).
    if moved_from.is_some_and(|old| old != on.branch) {
        sweep.allow_mass_deletion(true);
    }
    sweep.mark_missing::<CommitRow>(vec![("repository_id", on.repository_id.into())], Vec::new());
    commit(client, ctx, &sweep, summary).await?;
    // Its own transaction, after the sweep: a run killed between the two resumes the walk
    // at its end and sweeps again, which changes nothing.
    let done = BranchCursor::Done {
        branch: on.branch.to_string(),
        tip,
        watermark,
        reconciled_at: started_at,
        reconciled_run: ctx.run_id,
    };
    let mut batch = Batch::new(client.now());
    batch.with_cursor(cursor_update(NAME, scope, &done)?);
    commit(client, ctx, &batch, summary).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn done(branch: &str, reconciled_at: &str, run: i64) -> BranchCursor {
        BranchCursor::Done {
            branch: branch.into(),
            tip: Some(Tip {
                id: "a".into(),
                author_date: Some(t("2026-01-01T00:00:00Z")),
                committer_date: Some(t("2026-01-02T00:00:00Z")),
            }),
            watermark: Some(t("2026-01-03T00:00:00Z")),
            reconciled_at: t(reconciled_at),
            reconciled_run: run,
        }
    }

    #[test]
    fn a_pass_walks_when_it_must_and_reads_a_window_otherwise() {
        let day = chrono::Duration::days(1);
        let now = t("2026-01-05T00:00:00Z");
        let main = "refs/heads/main";
        let why = |p: Plan| match p {
            Plan::Walk { why, .. } => why,
            Plan::Incremental { .. } => "incremental",
        };
        assert_eq!(why(plan(Mode::Sync, 7, day, now, main, None)), "first walk");
        let fresh = done(main, "2026-01-04T12:00:00Z", 3);
        assert_eq!(
            why(plan(Mode::Sync, 7, day, now, main, Some(fresh.clone()))),
            "incremental"
        );
        assert_eq!(
            plan(
                Mode::Sync,
                7,
                day,
                now,
                "refs/heads/trunk",
                Some(fresh.clone())
            ),
            Plan::Walk {
                resume: None,
                why: "default branch changed",
                moved_from: Some(main.into()),
            },
            "the old branch is named, so its commits may all be marked"
        );
        assert_eq!(
            why(plan(Mode::Backfill, 7, day, now, main, Some(fresh.clone()))),
            "backfill"
        );
        // A resumed backfill does not walk again what it already walked.
        let walked_now = done(main, "2026-01-04T12:00:00Z", 7);
        assert_eq!(
            why(plan(Mode::Backfill, 7, day, now, main, Some(walked_now))),
            "incremental"
        );
        let stale = done(main, "2026-01-03T23:00:00Z", 3);
        assert_eq!(
            why(plan(Mode::Sync, 7, day, now, main, Some(stale))),
            "reconciliation"
        );
        let walking = BranchCursor::Walking {
            run: 7,
            branch: main.into(),
            started_at: now,
            skip: 2000,
            tip: None,
            watermark: None,
            moved_from: None,
        };
        assert_eq!(
            plan(Mode::Sync, 8, day, now, main, Some(walking.clone())),
            Plan::Walk {
                resume: Some(walking.clone()),
                why: "resuming a walk",
                moved_from: None,
            }
        );
        assert_eq!(
            why(plan(
                Mode::Sync,
                8,
                day,
                now,
                "refs/heads/dev",
                Some(walking)
            )),
            "default branch changed"
        );
    }

    #[test]
    fn the_window_reaches_back_to_the_tip() {
        let overlap = chrono::Duration::minutes(10);
        let tip = Tip {
            id: "a".into(),
            author_date: Some(t("2026-01-01T00:00:00Z")),
            committer_date: Some(t("2026-01-02T00:00:00Z")),
        };
        // The tip's author date is older than the watermark's window: it wins.
        assert_eq!(
            window_start(Some(&tip), Some(t("2026-01-03T00:00:00Z")), overlap),
            Some(t("2026-01-01T00:00:00Z"))
        );
        let recent = Tip {
            author_date: Some(t("2026-01-03T00:00:00Z")),
            committer_date: Some(t("2026-01-03T00:00:00Z")),
            ..tip
        };
        assert_eq!(
            window_start(Some(&recent), Some(t("2026-01-03T00:00:00Z")), overlap),
            Some(t("2026-01-02T23:50:00Z"))
        );
        assert_eq!(window_start(None, None, overlap), None);
    }

    #[test]
    fn cursors_read_back_as_written() {
        let c = done("refs/heads/main", "2026-01-04T12:00:00Z", 3);
        let text = serde_json::to_string(&c).unwrap();
        assert!(text.contains(r#""state":"done""#), "{text}");
        assert_eq!(serde_json::from_str::<BranchCursor>(&text).unwrap(), c);
    }
}
