//! The Pull Commits connector: the commits of every pull request (`pull_request_commits`),
//! with its own `[connectors.pull_commits]` section, token pool and limiter (scope Code
//! (Read)).
//!
//! It reads the pull requests from the database — the rows the Repos connector wrote — so it
//! runs alone, on a schedule of its own, and spends its requests only on commits. A PR's
//! commits are fetched when its source commit (`last_merge_source_commit`) differs from the
//! one its last fetch stored (`pull_request_commit_syncs`), written in the same transaction
//! as the commits: a push is one fetch, an unchanged PR costs nothing, a killed run resumes
//! with the PRs it had not finished. Backfill and sync are the same pass. Projects are
//! listed with this connector's own tokens (what they may see is recorded per connector).

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use super::due::Fetched;
use super::map::git_pr::{self, Pr};
use super::{Connector, Error, Need, Summary, SyncContext};
use crate::ado::Client;
use crate::ado::endpoint::PullRequestPath;
use crate::ado::listing::PullRequestCommits;
use crate::ado::models::core::TeamProject;
use crate::store::schema::pr::{PullRequestCommitRow, PullRequestCommitSyncRow};
use crate::store::{Batch, Record, RefreshPart};

/// Connector name in config, cursors and logs.
pub const NAME: &str = "pull_commits";

/// The Pull Commits connector.
pub struct PullCommits;

impl Connector for PullCommits {
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
                endpoint: "pull_request_commits",
                scopes: &["vso.code"],
                optional: false,
            },
        ]
    }

    fn run(&self, client: Client, ctx: SyncContext) -> BoxFuture<'static, Result<Summary, Error>> {
        Box::pin(async move { run(client, ctx).await })
    }

    fn reads_from(&self) -> &'static [&'static str] {
        &[super::repos::NAME]
    }
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

async fn sync_project(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
) -> Result<Summary, Error> {
    let mut summary = Summary::default();
    let refreshed = super::due::refresh(
        client,
        ctx,
        NAME,
        project,
        RefreshPart::Commits,
        &mut summary,
        |pr| fetch(client, project, pr),
    )
    .await?;
    summary.add("pull_requests_refreshed", refreshed);
    tracing::info!(connector = NAME, project = %project.name, pull_requests = refreshed, commits = summary.count("pull_request_commits"), "pull request commits synced");
    Ok(summary)
}

/// The commits of one PR, fetched, not written yet.
pub(super) struct PrCommits {
    observed_at: DateTime<Utc>,
    sync: PullRequestCommitSyncRow,
    commits: Vec<PullRequestCommitRow>,
}

impl Fetched for PrCommits {
    fn counts(&self) -> Vec<(&'static str, u64)> {
        vec![("pull_request_commits", self.commits.len() as u64)]
    }

    fn observed_at(&self) -> DateTime<Utc> {
        self.observed_at
    }

    fn batch(items: Vec<Self>, observed_at: DateTime<Utc>) -> Batch {
        let parents: Vec<_> = items.iter().map(|i| i.sync.key()).collect();
        let mut syncs = Vec::with_capacity(items.len());
        let mut commits = Vec::new();
        for i in items {
            syncs.push(i.sync);
            commits.extend(i.commits);
        }
        let mut batch = Batch::new(observed_at);
        batch
            .upsert(syncs)
            .replace_children::<PullRequestCommitSyncRow, _>(parents, commits);
        batch
    }
}

/// Every commit of one PR.
async fn fetch(
    client: &Client,
    project: &TeamProject,
    due: crate::store::PrToRefresh,
) -> Result<PrCommits, Error> {
    let listing = PullRequestCommits {
        pr: PullRequestPath {
            project: project.id.clone(),
            repository: due.repository_id.clone(),
            pull_request: due.id,
        },
    };
    let (commits, observed_at) = client.list_all(listing).await?;
    let pr = Pr {
        id: due.id,
        repository_id: &due.repository_id,
    };
    Ok(PrCommits {
        observed_at,
        sync: PullRequestCommitSyncRow {
            pull_request_id: due.id,
            repository_id: due.repository_id.clone(),
            source_commit: due.marker,
        },
        commits: commits.iter().map(|c| git_pr::commit_row(pr, c)).collect(),
    })
}
