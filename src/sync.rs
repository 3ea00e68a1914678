//! `backfill` and `sync`: one pass of each selected connector, concurrently (a connector that
//! reads another's rows after it), then exit.
//! Takes the SQLite writer lock (PostgreSQL: leases only), closes the runs dead processes
//! left `running`, registers this process's leases, and reports per connector. Connectors
//! fail independently. Owns no HTTP or SQL of its own (`engine` runs a pass).

pub use crate::engine::{ConnectorReport, SetupError, select_connectors};

use crate::config::Settings;
use crate::connectors::Mode;
use crate::engine::Prepared;
use crate::engine::lease::Work;
use crate::metrics::Metrics;
use crate::store::{AnyStore, Coordination, Store, WriterLock};
use chrono::Utc;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Runs the selected connectors once in `mode`.
pub async fn run(
    settings: &Settings,
    store: &AnyStore,
    mode: Mode,
    connectors: &[String],
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
) -> Result<Vec<ConnectorReport>, SetupError> {
    let mut settings = settings.clone();
    crate::credentials::attach(&mut settings, store, &metrics, false).await?;
    let settings = Arc::new(settings);
    let (_writer, work) = begin(&settings, store, &cancel, true).await?;
    let prepared = Prepared::all(&settings, connectors, &metrics, &cancel)?;
    // A one-shot pass works on every scope not finished since it started.
    let due_before = Utc::now();
    // Connectors that read another selected connector's rows (Pull Commits reads the pull
    // requests Repos writes) run after it, so one command leaves both complete.
    let selected: Vec<&str> = prepared.iter().map(|p| p.name.as_str()).collect();
    let (later, first): (Vec<&Prepared>, Vec<&Prepared>) = prepared
        .iter()
        .partition(|p| p.reads_from().iter().any(|r| selected.contains(r)));
    let mut reports = Vec::with_capacity(prepared.len());
    for wave in [first, later] {
        let passes = wave.iter().map(|p| p.pass(store, &work, mode, due_before));
        reports.extend(futures::future::join_all(passes).await);
    }
    // Reported in the order the connectors were selected.
    reports.sort_by_key(|r| selected.iter().position(|n| *n == r.connector));
    work.shutdown().await;
    Ok(reports)
}

/// What every command that writes does first: the writer lock (SQLite: one process; a
/// process killed a moment ago may still hold its lock for an instant, so a start waits a
/// little), closing the runs dead processes left `running`, and this process's leases.
/// `patient`: a one-shot command waits for scopes another process holds (see
/// [`Work::claim`]); the service does not.
pub async fn begin(
    settings: &Settings,
    store: &AnyStore,
    cancel: &CancellationToken,
    patient: bool,
) -> Result<(WriterLock, Arc<Work>), SetupError> {
    let org = settings.org_key();
    for warning in settings.transport_warnings() {
        tracing::warn!("{warning}");
    }
    let writer = lock_writer(store, &org, cancel).await?;
    let abandoned = match store {
        // With the file lock held nothing else can be running: a `running` run is a dead
        // process's.
        AnyStore::Sqlite(_) => {
            // ... and the leases a killed predecessor held would only make this run wait
            // out their expiry (or skip those projects as another process's).
            let freed = store.forget_holders(&org).await?;
            if freed > 0 {
                tracing::info!(
                    leases = freed,
                    "freed the leases of a process that ended without releasing them"
                );
            }
            store.abandon_running(&org, Utc::now()).await?
        }
        // Replicas share PostgreSQL: only runs whose process stopped renewing its lease.
        AnyStore::Postgres(_) => store.abandon_dead(&org, Utc::now()).await?,
    };
    if abandoned > 0 {
        tracing::warn!(
            runs = abandoned,
            "closed runs left `running` by a process that ended without recording an outcome as `abandoned`"
        );
    }
    let work = Work::start(store.clone(), &org, settings.sync.lease_ttl, patient).await?;
    Ok((writer, work))
}

/// How long a start waits for the writer lock before refusing.
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

async fn lock_writer(
    store: &AnyStore,
    org: &str,
    cancel: &CancellationToken,
) -> Result<WriterLock, SetupError> {
    let deadline = tokio::time::Instant::now() + LOCK_PATIENCE;
    loop {
        match store.lock_writer(org).await {
            Err(e @ crate::store::Error::Locked { .. }) => {
                if tokio::time::Instant::now() >= deadline || cancel.is_cancelled() {
                    return Err(e.into());
                }
                tokio::select! {
                    _ = cancel.cancelled() => {}
                    _ = tokio::time::sleep(std::time::Duration::from_millis(250)) => {}
                }
            }
            other => return Ok(other?),
        }
    }
}
