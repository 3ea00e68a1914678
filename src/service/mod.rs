//! `ado-ingest run`: the long-running service. Starts the HTTP server, one loop per enabled
//! connector ([`scheduler`]), the lease renewal and, with `server.webhook_secret` set, the
//! webhook re-fetch queue (`webhooks::processor`); on shutdown (the cancellation token:
//! SIGTERM / Ctrl-C) turns `/readyz` to 503 at once, cancels the passes in flight (what
//! they fetched is committed, their runs recorded `cancelled`), releases the leases and
//! returns — within [`SHUTDOWN_BUDGET`]. Owns the wiring only: passes are `engine`'s, HTTP
//! is `server`'s.

pub mod scheduler;
pub mod state;

use crate::config::Settings;
use crate::engine::{Prepared, SetupError};
use crate::metrics::Metrics;
use crate::store::AnyStore;
use chrono::Utc;
use state::{ConnectorState, ServiceState};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long shutdown waits for passes to stop before it gives up on them: they are
/// cancelled at once and stop at their next request or commit, well within this.
pub const SHUTDOWN_BUDGET: Duration = Duration::from_secs(8);

/// Why the service could not start or stopped early.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Setting up a connector or the database failed (see the inner error).
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The HTTP server could not start.
    #[error(transparent)]
    Server(#[from] crate::server::Error),
    /// `server.webhook_secret` names a secret that cannot be read.
    #[error("server.webhook_secret: {reason}")]
    WebhookSecret { reason: String },
    /// `server.admin_token` names a secret that cannot be read.
    #[error("server.admin_token: {reason}")]
    AdminToken { reason: String },
    /// The HTTP server stopped with an I/O error.
    #[error("the HTTP server stopped: {0}")]
    Serve(std::io::Error),
}

/// Runs until `shutdown` fires. `on_listening` gets the bound address once the server
/// accepts connections (the binary prints it; tests read it to find port 0).
pub async fn run(
    settings: &Settings,
    store: &AnyStore,
    connectors: &[String],
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    on_listening: impl FnOnce(std::net::SocketAddr),
) -> Result<(), Error> {
    let mut settings = settings.clone();
    let api = settings.server.admin_token.is_some();
    crate::credentials::attach(&mut settings, store, &metrics, api).await?;
    if let Some(live) = &settings.stored {
        // A credential changed by the CLI (another process) reaches the pools within POLL.
        tokio::spawn(live.clone().watch(shutdown.clone()));
    }
    let settings = Arc::new(settings);
    let org = settings.org_key();
    let (_writer, work) = crate::sync::begin(&settings, store, &shutdown, false).await?;
    // The passes stop on their own token, cancelled after `/readyz` has turned.
    let passes = CancellationToken::new();
    let prepared = Prepared::all(&settings, connectors, &metrics, &passes)?;
    let states: Vec<Arc<ConnectorState>> = prepared
        .iter()
        .map(|p| {
            Arc::new(ConnectorState::new(
                &p.name,
                p.interval(),
                p.metrics.clone(),
                p.pool().len(),
            ))
        })
        .collect();
    let webhooks = match &settings.server.webhook_secret {
        Some(reference) => {
            let secret = crate::config::resolve_secret(reference)
                .map_err(|reason| Error::WebhookSecret { reason })?;
            let refetchers = prepared
                .iter()
                .map(|p| (p.name.clone(), p.refetch_context(store, &work)))
                .collect();
            let stats = Arc::new(crate::webhooks::Stats::default());
            let (queue, _processor) = crate::webhooks::processor::spawn(
                store.clone(),
                org.clone(),
                refetchers,
                stats.clone(),
                passes.clone(),
            );
            tracing::info!(path = "/webhooks/ado", "webhook receiver on");
            Some(Arc::new(crate::webhooks::Receiver::new(
                org.clone(),
                settings.organization.url.clone(),
                secret,
                store.clone(),
                queue,
                stats,
            )))
        }
        None => {
            tracing::info!("webhook receiver off (server.webhook_secret is not set)");
            None
        }
    };
    let admin = match &settings.server.admin_token {
        Some(reference) => {
            let token = crate::config::resolve_secret(reference)
                .map_err(|reason| Error::AdminToken { reason })?;
            tracing::info!(path = "/api/v1/credentials", "credentials API on");
            Some(Arc::new(crate::server::credentials::Admin {
                token,
                settings: settings.clone(),
                store: store.clone(),
                cancel: passes.clone(),
            }))
        }
        None => None,
    };
    let state = Arc::new(ServiceState {
        org: org.clone(),
        store: store.clone(),
        started_at: Utc::now(),
        shutdown: shutdown.clone(),
        connectors: states.clone(),
        webhooks,
        admin,
    });
    let (listener, addr) = crate::server::bind(&settings.server.listen).await?;
    tracing::info!(listen = %addr, connectors = %connectors.join(","), "service started");
    on_listening(addr);
    let server_stop = CancellationToken::new();
    let server = tokio::spawn({
        let stop = server_stop.clone();
        crate::server::serve(
            listener,
            state.clone(),
            async move { stop.cancelled().await },
        )
    });
    let mut loops = tokio::task::JoinSet::new();
    for (p, s) in prepared.into_iter().zip(states) {
        loops.spawn(scheduler::connector_loop(
            p,
            s,
            store.clone(),
            work.clone(),
            org.clone(),
            passes.clone(),
        ));
    }
    let server_failed = tokio::select! {
        _ = shutdown.cancelled() => None,
        r = wait_server(&server) => Some(r),
    };
    tracing::info!("shutting down: no new passes; cancelling the ones in flight");
    passes.cancel();
    let stopped = tokio::time::timeout(SHUTDOWN_BUDGET, async {
        while loops.join_next().await.is_some() {}
    })
    .await;
    if stopped.is_err() {
        tracing::error!(
            budget_secs = SHUTDOWN_BUDGET.as_secs(),
            "passes did not stop in time; leaving them (their leases expire on their own)"
        );
        loops.abort_all();
    }
    work.shutdown().await;
    server_stop.cancel();
    if let Some(result) = server_failed {
        return result;
    }
    match tokio::time::timeout(Duration::from_secs(1), server).await {
        Ok(Ok(Err(e))) => Err(Error::Serve(e)),
        _ => Ok(()),
    }
}

/// Resolves if the server task ends on its own (it only does on an I/O error).
async fn wait_server(server: &tokio::task::JoinHandle<std::io::Result<()>>) -> Result<(), Error> {
    loop {
        if server.is_finished() {
            return Err(Error::Serve(std::io::Error::other(
                "the HTTP server ended unexpectedly",
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
