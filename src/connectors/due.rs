//! The loop both pull-request-depth fetchers share (the Repos connector's inside of a PR, the
//! Pull Commits connector's commits): ask the store which PRs of a project are due
//! (`Store::pull_requests_to_refresh`), fetch several at once, and commit each PR's batch —
//! its child sets with the sync row that records the marker they were fetched for — as it
//! arrives. Keyset paging by PR id, so a PR that changes again during the pass is left to
//! the next one instead of being fetched twice.

use std::future::Future;

use futures::StreamExt;

use super::{Error, Summary, SyncContext, commit};
use crate::ado::models::core::TeamProject;
use crate::ado::{self, Client};
use crate::store::{Batch, PrToRefresh, RefreshPart, Store};

/// Due PRs read from the store at a time.
const DUE_PAGE: u32 = 200;

/// What one PR's fetch gives: its batch and the rows per table, for the summary.
pub(super) type Fetched = (Batch, Vec<(&'static str, u64)>);

/// Fetches and commits every due PR of `project`; returns how many were refreshed. A PR
/// that answers 404 (deleted, or its repository, since the listing) is left as stored and
/// counted as `pull_requests_not_found`: a 404 is not a deletion (DESIGN.md).
pub(super) async fn refresh<F, Fut>(
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
    Fut: Future<Output = Result<Fetched, Error>>,
{
    let mut refreshed = 0;
    let mut after = 0;
    loop {
        let due = ctx
            .store
            .pull_requests_to_refresh(&ctx.org, &project.id, part, after, DUE_PAGE)
            .await?;
        let Some(last) = due.last() else { break };
        after = last.id;
        let fetches = futures::stream::iter(due)
            .map(|pr| {
                let id = pr.id;
                let fut = fetch(pr);
                async move { (id, fut.await) }
            })
            .buffer_unordered(ctx.concurrency.max(1));
        let mut fetches = std::pin::pin!(fetches);
        while let Some((id, fetched)) = fetches.next().await {
            match fetched {
                Ok((batch, counts)) => {
                    commit(client, ctx, &batch, summary).await?;
                    refreshed += 1;
                    for (kind, n) in counts {
                        summary.add(kind, n);
                    }
                }
                Err(Error::Ado(ado::Error::NotFound { endpoint, .. })) => {
                    tracing::warn!(connector, project = %project.name, pull_request = id, endpoint, "pull request not found while fetching what is inside it; left as stored");
                    summary.add("pull_requests_not_found", 1);
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(refreshed)
}
