//! The loop the fetchers of "what is inside" share — the Repos connector's inside of a PR,
//! the Pull Commits connector's commits, the Pipelines connector's timelines and build
//! changes: ask the store which items of a project are due (`Store::pull_requests_to_refresh`,
//! `Store::builds_to_refresh`), fetch several at once, and commit what was fetched — each
//! item's child sets with the sync row that records what they were fetched for — while the
//! next fetches are in flight. Keyset paging by id, so an item that changes again during the
//! pass is left to the next one instead of being fetched twice.
//!
//! The writer commits every PR that finished while it wrote the previous group as ONE batch
//! (up to [`MAX_GROUP`] PRs): one statement per table for the whole group instead of one set
//! per PR. That is what keeps PostgreSQL — a round trip per statement and a flush per
//! commit — from being the bound (5,100 PRs: 79 s with a transaction per PR, see
//! BENCHMARKS.md). A PR is still all-or-nothing: its sync row and its child sets are in the
//! same transaction, so a killed run re-fetches exactly the PRs of the groups it had not
//! committed.

use std::future::Future;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use tokio::sync::mpsc;

use super::{Error, Summary, SyncContext, commit};
use crate::ado::models::core::TeamProject;
use crate::ado::{self, Client};
use crate::store::{Batch, PrToRefresh, RefreshPart, Store};

/// Due PRs read from the store at a time.
pub(crate) const DUE_PAGE: u32 = 200;

/// Most PRs committed in one transaction.
pub(crate) const MAX_GROUP: usize = 64;

/// One PR's fetch, not written yet.
pub(crate) trait Fetched: Send + Sized + 'static {
    /// The PR's rows per table, for the summary.
    fn counts(&self) -> Vec<(&'static str, u64)>;
    /// When the fetch's first request was sent: its observation time.
    fn observed_at(&self) -> DateTime<Utc>;
    /// The writes of several PRs' fetches, as one batch observed at `observed_at` (the
    /// earliest of theirs, so no row is written as newer than it was seen).
    fn batch(items: Vec<Self>, observed_at: DateTime<Utc>) -> Batch;
    /// What the fetch skipped and went on, for `sync_runs.warnings` (already logged).
    fn warning(&self) -> Option<String> {
        None
    }
}

/// Fetches and commits every due PR of `project`; returns how many were refreshed. A PR
/// that answers 404 (deleted, or its repository, since the listing) is left as stored and
/// counted as `pull_requests_not_found`: a 404 is not a deletion (DESIGN.md). On an error,
/// what was fetched before it is committed first.
pub(super) async fn refresh<F, Fut, T>(
    client: &Client,
    ctx: &SyncContext,
    connector: &'static str,
    project: &TeamProject,
    part: RefreshPart,
    summary: &mut Summary,
    fetch: F,
) -> Result<u64, Error>
where
    F: Fn(PrToRefresh) -> Fut,
    Fut: Future<Output = Result<T, Error>>,
    T: Fetched,
{
    let next = |after| async move {
        Ok(ctx
            .store
            .pull_requests_to_refresh(&ctx.org, &project.id, part, after, DUE_PAGE)
            .await?)
    };
    let due = Due {
        connector,
        project,
        what: "pull request",
        not_found: "pull_requests_not_found",
    };
    refresh_each(
        client,
        ctx,
        due,
        next,
        |pr: &PrToRefresh| pr.id,
        summary,
        fetch,
    )
    .await
}

/// What a due loop is about, for its log lines and counts.
pub(crate) struct Due<'a> {
    pub connector: &'static str,
    pub project: &'a TeamProject,
    /// `pull request`, `build`, …
    pub what: &'static str,
    /// The summary count of items that answered 404.
    pub not_found: &'static str,
}

/// The loop of [`refresh`] over any kind of due item: `next(after)` names the next due items
/// by ascending id (keyset paging), `fetch` fetches one, and what was fetched is committed in
/// groups as it arrives.
pub(crate) async fn refresh_each<D, N, NFut, F, Fut, T>(
    client: &Client,
    ctx: &SyncContext,
    due: Due<'_>,
    next: N,
    id_of: fn(&D) -> i64,
    summary: &mut Summary,
    fetch: F,
) -> Result<u64, Error>
where
    N: Fn(i64) -> NFut,
    NFut: Future<Output = Result<Vec<D>, Error>>,
    F: Fn(D) -> Fut,
    Fut: Future<Output = Result<T, Error>>,
    T: Fetched,
{
    let (tx, rx) = mpsc::channel::<T>(ctx.concurrency.max(1) * 2);
    let mut written = Summary::default();
    let writer = write_groups(client, ctx, rx, &mut written);
    let fetcher = async move {
        let mut not_found = 0;
        let mut after = 0;
        loop {
            let items = next(after).await?;
            let Some(last) = items.last() else { break };
            after = id_of(last);
            let fetches = futures::stream::iter(items)
                .map(|item| {
                    let id = id_of(&item);
                    let fut = fetch(item);
                    async move { (id, fut.await) }
                })
                .buffer_unordered(ctx.concurrency.max(1));
            let mut fetches = std::pin::pin!(fetches);
            while let Some((id, fetched)) = fetches.next().await {
                match fetched {
                    Ok(item) => {
                        // The writer stopped on an error of its own, which it returns.
                        if tx.send(item).await.is_err() {
                            return Ok(not_found);
                        }
                    }
                    Err(Error::Ado(ado::Error::NotFound { endpoint, .. })) => {
                        tracing::warn!(connector = due.connector, project = %due.project.name, id, what = due.what, endpoint, "not found while fetching what is inside it; left as stored");
                        not_found += 1;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(not_found)
    };
    let (wrote, fetched) = futures::join!(writer, fetcher);
    summary.merge(&written);
    let refreshed = wrote?;
    let not_found = fetched?;
    if not_found > 0 {
        summary.add(due.not_found, not_found);
    }
    Ok(refreshed)
}

/// Commits what arrives on `rx`, every PR that is ready at once as one batch, until the
/// fetcher is done (the channel closes) or a commit fails.
async fn write_groups<T: Fetched>(
    client: &Client,
    ctx: &SyncContext,
    mut rx: mpsc::Receiver<T>,
    summary: &mut Summary,
) -> Result<u64, Error> {
    let mut refreshed = 0;
    while let Some(first) = rx.recv().await {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(item) => group.push(item),
                Err(_) => break,
            }
        }
        refreshed += group.len() as u64;
        commit_group(client, ctx, group, summary).await?;
    }
    Ok(refreshed)
}

/// Writes fetched items as one batch observed at the earliest of their times, and counts
/// their rows and warnings into `summary` once it is committed.
pub(crate) async fn commit_group<T: Fetched>(
    client: &Client,
    ctx: &SyncContext,
    group: Vec<T>,
    summary: &mut Summary,
) -> Result<(), Error> {
    let mut counts = Summary::default();
    for item in &group {
        for (kind, rows) in item.counts() {
            counts.add(kind, rows);
        }
        if let Some(w) = item.warning() {
            counts.warn(w);
        }
    }
    let observed_at = group
        .iter()
        .map(Fetched::observed_at)
        .min()
        .unwrap_or_else(|| client.now());
    let batch = T::batch(group, observed_at);
    commit(client, ctx, &batch, summary).await?;
    summary.merge(&counts);
    Ok(())
}
