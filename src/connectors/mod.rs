//! Connectors: the sync strategies, glue between `ado` and `store`.
//!
//! A connector asks the client for pages, maps them with the pure functions in [`map`], and
//! hands rows and cursors to the store. It never builds URLs by hand and never writes SQL.
//! Long loops stop between pages when the [`SyncContext`]'s cancellation token fires.

pub mod boards;
pub mod map;
pub mod projects;
pub mod repos;

use crate::ado;
use crate::store::{self, AnyStore};
use chrono::{DateTime, Utc};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Stops between pages once the run is cancelled.
pub(crate) fn check_cancel(ctx: &SyncContext) -> Result<(), Error> {
    if ctx.cancel.is_cancelled() {
        Err(Error::Ado(ado::Error::Cancelled))
    } else {
        Ok(())
    }
}

/// Runs `sync_project` for every project, `ctx.concurrency` at a time, and folds the outcomes
/// into `summary` with [`combine_failures`]: one project's failure is logged and does not stop
/// the others.
pub(crate) async fn for_each_project<F, Fut>(
    ctx: &SyncContext,
    connector: &'static str,
    projects: Vec<ado::models::core::TeamProject>,
    mut summary: Summary,
    sync_project: F,
) -> Result<Summary, Error>
where
    F: Fn(ado::models::core::TeamProject) -> Fut,
    Fut: std::future::Future<Output = Result<Summary, Error>>,
{
    use futures::StreamExt;
    let total = projects.len();
    let results: Vec<(String, Result<Summary, Error>)> =
        futures::stream::iter(projects.into_iter().map(|p| {
            let name = p.name.clone();
            let run = sync_project(p);
            async move { (name, run.await) }
        }))
        .buffer_unordered(ctx.concurrency.max(1))
        .collect()
        .await;
    let mut failures = Vec::new();
    for (name, r) in results {
        match r {
            Ok(s) => summary.merge(&s),
            Err(e) => {
                tracing::error!(connector, project = %name, error = %e, "project sync failed");
                failures.push(e);
            }
        }
    }
    combine_failures(summary, failures, total)
}

/// The outcome of a connector run over several projects: the summary when every project
/// succeeded; otherwise a refused pool or a cancellation (the whole connector's outcome), the
/// single project's error, or a `Partial` failure naming the first error.
pub(crate) fn combine_failures(
    summary: Summary,
    mut failures: Vec<Error>,
    total: usize,
) -> Result<Summary, Error> {
    if failures.is_empty() {
        return Ok(summary);
    }
    if let Some(pos) = failures.iter().position(|e| {
        matches!(
            e,
            Error::Ado(ado::Error::InvalidCredentials { .. } | ado::Error::Cancelled)
        )
    }) {
        return Err(failures.swap_remove(pos));
    }
    if total == 1 {
        return Err(failures.remove(0));
    }
    Err(Error::Partial {
        failed: failures.len(),
        total,
        first: Box::new(failures.remove(0)),
    })
}

/// Logs a fired paging guard with its endpoint and turns it into an error.
pub(crate) fn guard(
    connector: &'static str,
    endpoint: &'static str,
    project: &str,
    trip: ado::paging::GuardTrip,
) -> Error {
    tracing::error!(connector, project, endpoint, reason = %trip, "paging guard fired");
    Error::Ado(ado::Error::PagingGuard {
        endpoint,
        reason: trip.to_string(),
    })
}

/// Backfill (full history from `sync.since`) or one incremental pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Backfill,
    Incremental,
}

impl Mode {
    /// As recorded in `sync_runs.mode`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Backfill => "backfill",
            Mode::Incremental => "sync",
        }
    }
}

/// What every connector run needs besides its client.
#[derive(Clone, Debug)]
pub struct SyncContext {
    pub org: String,
    pub store: AnyStore,
    pub mode: Mode,
    /// The `sync_runs` id this run writes into its cursors (a resumed backfill keeps its id).
    pub run_id: i64,
    pub since: Option<DateTime<Utc>>,
    pub overlap: Duration,
    /// Project allow-list (names or ids, case-insensitive); empty = every project.
    pub projects: Vec<String>,
    pub concurrency: usize,
    pub cancel: CancellationToken,
}

/// A connector run failure.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An ADO call failed after its retries.
    #[error(transparent)]
    Ado(#[from] ado::Error),
    /// The database refused a read or write.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// A stored cursor could not be read back (written by an incompatible version).
    #[error("cursor {scope} is unreadable: {reason}")]
    Cursor { scope: String, reason: String },
    /// Some projects failed; the others were synced. Each failure is listed.
    #[error("{failed} of {total} projects failed; first error: {first}")]
    Partial {
        failed: usize,
        total: usize,
        first: Box<Error>,
    },
}

impl Error {
    /// The stable kind name printed for users and recorded in `sync_runs`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Ado(e) => e.kind(),
            Error::Store(_) => "database_error",
            Error::Cursor { .. } => "bad_cursor",
            Error::Partial { first, .. } => first.kind(),
        }
    }
}

/// Counts of one connector run: entities fetched by kind, and rows written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Entities by kind (`pull_requests`, `repositories_deleted`, …), in a stable order.
    pub counts: std::collections::BTreeMap<&'static str, u64>,
    pub rows: u64,
}

impl Summary {
    /// Adds `n` to an entity count.
    pub fn add(&mut self, kind: &'static str, n: u64) {
        *self.counts.entry(kind).or_default() += n;
    }

    /// Adds another summary's counts and rows into this one.
    pub fn merge(&mut self, other: &Summary) {
        for (k, v) in &other.counts {
            self.add(k, *v);
        }
        self.rows += other.rows;
    }

    /// A count, 0 when absent.
    pub fn count(&self, kind: &str) -> u64 {
        self.counts.get(kind).copied().unwrap_or(0)
    }

    /// `3 projects, 12 repositories, …` for the command's summary line.
    pub fn describe(&self) -> String {
        self.counts
            .iter()
            .map(|(k, v)| format!("{v} {}", k.replace('_', " ")))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
