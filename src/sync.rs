//! Runs the enabled connectors for `backfill` and `sync`: builds each connector's token pool
//! and client, records the run in `sync_runs`, and reports per connector. Connectors run
//! concurrently and fail independently. Owns no HTTP or SQL of its own.

use crate::ado::{Client, TokenPool};
use crate::config::{self, Settings};
use crate::connectors::{self, Mode, Summary, SyncContext};
use crate::metrics::Metrics;
use crate::store::{AnyStore, Store};
use chrono::Utc;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// How one connector's run ended.
#[derive(Debug)]
pub struct ConnectorReport {
    pub connector: String,
    pub run_id: i64,
    pub result: Result<Summary, connectors::Error>,
    /// Tokens that were refused and left the pool, by configured name.
    pub retired_tokens: Vec<String>,
    /// This connector's own counts.
    pub metrics: crate::metrics::Snapshot,
}

impl ConnectorReport {
    pub fn succeeded(&self) -> bool {
        self.result.is_ok()
    }
}

/// A problem found before any connector ran (exit code 2).
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// `--connector` named a connector that does not exist or is not enabled.
    #[error("connector `{name}` is not {why} (enabled: {enabled})")]
    UnknownConnector {
        name: String,
        why: &'static str,
        enabled: String,
    },
    /// A token reference could not be resolved.
    #[error("connectors.{connector}.tokens: {reason}")]
    Token { connector: String, reason: String },
    /// The client could not be built (bad organization URL).
    #[error(transparent)]
    Client(#[from] crate::ado::Error),
    /// The database could not record the run.
    #[error(transparent)]
    Store(#[from] crate::store::Error),
}

/// The connectors to run: every enabled one, or those named (which must be enabled).
pub fn select_connectors(
    settings: &Settings,
    wanted: &[String],
) -> Result<Vec<String>, SetupError> {
    let enabled: Vec<String> = settings
        .connectors
        .iter()
        .filter(|(_, c)| c.enabled)
        .map(|(n, _)| n.to_string())
        .collect();
    if wanted.is_empty() {
        return Ok(enabled);
    }
    for w in wanted {
        if !enabled.contains(w) {
            let why = if connectors::find(w).is_ok() {
                "enabled in the configuration"
            } else {
                "a known connector"
            };
            return Err(SetupError::UnknownConnector {
                name: w.clone(),
                why,
                enabled: enabled.join(", "),
            });
        }
    }
    Ok(wanted.to_vec())
}

/// Runs the selected connectors once in `mode`.
pub async fn run(
    settings: &Settings,
    store: &AnyStore,
    mode: Mode,
    connectors: &[String],
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
) -> Result<Vec<ConnectorReport>, SetupError> {
    let org = settings.org_key();
    for warning in settings.transport_warnings() {
        tracing::warn!("{warning}");
    }
    // Held until every connector has finished: a second process is refused, never interleaved.
    let _writer = lock_writer(store, &org, &cancel).await?;
    // With the lock held nothing else can be running: a `running` record is a dead process's.
    let abandoned = store.abandon_running(&org, Utc::now()).await?;
    if abandoned > 0 {
        tracing::warn!(
            runs = abandoned,
            "closed runs left `running` by a process that ended without recording an outcome as `abandoned`"
        );
    }
    let mut prepared = Vec::new();
    for name in connectors {
        let Some((_, cs)) = settings.connectors.iter().find(|(n, _)| n == name) else {
            continue;
        };
        let tokens = cs.resolve_tokens().map_err(|reason| SetupError::Token {
            connector: name.clone(),
            reason,
        })?;
        for (i, t) in cs.tokens.iter().enumerate() {
            if config::is_literal(t) {
                tracing::warn!(connector = %name, token = %t.display_name(i), "token is written literally in the configuration; prefer env: or file:");
            }
        }
        // Counts per connector, adding up into the process-wide metrics.
        let connector_metrics = Arc::new(Metrics::child(metrics.clone()));
        let pool = Arc::new(TokenPool::new(
            name,
            tokens,
            cs.requests_per_second,
            cs.burst,
            connector_metrics.clone(),
        ));
        let connector = connectors::find(name).map_err(|_| SetupError::UnknownConnector {
            name: name.clone(),
            why: "a known connector",
            enabled: String::new(),
        })?;
        let client = Client::new(
            name,
            &settings.organization.url,
            &settings.graph_url(),
            &settings.organization.api_version,
            &settings.http,
            cs.concurrency,
            pool,
            connector_metrics,
            cancel.clone(),
        )?;
        let run_id = run_id_for(store, &org, name, mode).await?;
        let ctx = SyncContext {
            org: org.clone(),
            store: store.clone(),
            mode,
            run_id,
            since: settings.since(),
            overlap: settings.sync.overlap,
            projects: settings.organization.projects.clone(),
            concurrency: cs.concurrency,
            allow_mass_deletion: settings.sync.allow_mass_deletion,
            reconcile_every: settings.sync.reconcile_every,
        };
        prepared.push((name.clone(), connector, client, ctx));
    }
    // One task per connector: independent failures, and both cores busy.
    let mut tasks = tokio::task::JoinSet::new();
    let started: Vec<(String, i64)> = prepared
        .iter()
        .map(|(name, _, _, ctx)| (name.clone(), ctx.run_id))
        .collect();
    for (index, (name, connector, client, ctx)) in prepared.into_iter().enumerate() {
        let metrics = client.metrics().clone();
        tasks.spawn(async move {
            let before = metrics.snapshot();
            tracing::info!(connector = %name, mode = mode.as_str(), run_id = ctx.run_id, "connector run started");
            let result = connector.run(client.clone(), ctx.clone()).await;
            let after = metrics.snapshot();
            let requests = (after.requests - before.requests) as i64;
            let (outcome, error) = match &result {
                Ok(_) => ("succeeded", None),
                Err(e) => (
                    e.outcome(),
                    Some(format!("{}: {}", e.kind(), crate::error_chain(e))),
                ),
            };
            if let Err(e) = ctx
                .store
                .finish_run(
                    ctx.run_id,
                    outcome,
                    error.as_deref(),
                    requests,
                    result.as_ref().map(|s| s.rows as i64).unwrap_or(0),
                    Utc::now(),
                )
                .await
            {
                tracing::error!(connector = %name, error = %e, "could not record the run's outcome");
            }
            match &result {
                Ok(s) => tracing::info!(
                    connector = %name,
                    counts = %s.describe(),
                    rows = s.rows,
                    requests,
                    "connector run succeeded"
                ),
                Err(connectors::Error::Cancelled) => tracing::warn!(connector = %name, requests, "connector run cancelled"),
                Err(e) => tracing::error!(connector = %name, kind = e.kind(), error = %crate::error_chain(e), requests, "connector run failed"),
            }
            (index, ConnectorReport {
                connector: name,
                run_id: ctx.run_id,
                retired_tokens: client.pool().retired_names(),
                metrics: metrics.snapshot(),
                result,
            })
        });
    }
    let mut reports: Vec<Option<ConnectorReport>> = started.iter().map(|_| None).collect();
    let mut lost = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((i, report)) => reports[i] = Some(report),
            // A connector task panicked: the others stand; it is reported as failed below.
            Err(e) => {
                tracing::error!(error = %e, "a connector task stopped unexpectedly");
                lost = Some(e.to_string());
            }
        }
    }
    Ok(reports
        .into_iter()
        .zip(started)
        .map(|(r, (connector, run_id))| {
            r.unwrap_or_else(|| ConnectorReport {
                result: Err(connectors::Error::Task {
                    project: connector.clone(),
                    reason: lost.clone().unwrap_or_default(),
                }),
                connector,
                run_id,
                retired_tokens: Vec::new(),
                metrics: Default::default(),
            })
        })
        .collect())
}

/// How long a start waits for the writer lock before refusing: a process killed a moment ago
/// may still hold its Postgres session (the server notices the closed socket shortly after).
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

async fn lock_writer(
    store: &AnyStore,
    org: &str,
    cancel: &CancellationToken,
) -> Result<crate::store::WriterLock, SetupError> {
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

/// A backfill resumes the newest unfinished backfill run (so its finished projects are not
/// fetched again); anything else starts a new run record.
async fn run_id_for(
    store: &AnyStore,
    org: &str,
    connector: &str,
    mode: Mode,
) -> Result<i64, SetupError> {
    if mode == Mode::Backfill
        && let Some(last) = store.last_run(org, connector, mode.as_str()).await?
        && last.outcome != "succeeded"
    {
        tracing::info!(
            connector,
            run_id = last.id,
            outcome = %last.outcome,
            "resuming the unfinished backfill"
        );
        store.reopen_run(last.id).await?;
        return Ok(last.id);
    }
    Ok(store
        .start_run(org, connector, mode.as_str(), Utc::now())
        .await?)
}
