//! Connectors: the sync strategies, glue between `ado` and `store`.
//!
//! A connector asks the client for pages, maps them with the pure functions in [`map`], and
//! hands rows and cursors to the store. It never builds URLs by hand and never writes SQL.
//! Long loops stop between pages when the [`SyncContext`]'s cancellation token fires.

pub mod map;
pub mod repos;

use crate::ado;
use crate::store::{self, AnyStore};
use chrono::{DateTime, Utc};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

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

/// Counts of one connector run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub projects: u64,
    pub repositories: u64,
    pub repositories_deleted: u64,
    pub pull_requests: u64,
    pub rows: u64,
}
