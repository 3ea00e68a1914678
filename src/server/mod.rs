//! The HTTP side of `run` (axum): `/healthz`, `/readyz`, `/metrics`, the status page `/`, the
//! webhook receiver `POST /webhooks/ado` and the credentials API `/api/v1/credentials`. Reads
//! the service's state and the database; writes only what the webhook receiver records and
//! the credentials the API manages (calling ADO only to validate one).

pub mod credentials;
mod health;
mod metrics;
mod page;
mod webhooks;

use crate::service::state::ServiceState;
use axum::Router;
use axum::routing::{get, post};
use std::net::SocketAddr;
use std::sync::Arc;

/// The server failed to start.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `server.listen` could not be bound (in use, no permission, not an address).
    #[error("cannot listen on {listen}: {source}")]
    Bind {
        listen: String,
        source: std::io::Error,
    },
}

/// Every route.
pub fn router(state: Arc<ServiceState>) -> Router {
    Router::new()
        .route("/", get(page::page))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .route("/webhooks/ado", post(webhooks::receive))
        .route(
            "/api/v1/credentials",
            get(credentials::list).post(credentials::create),
        )
        .route(
            "/api/v1/credentials/{name}",
            get(credentials::get_one)
                .patch(credentials::patch)
                .delete(credentials::delete),
        )
        .route(
            "/api/v1/credentials/{name}/validate",
            post(credentials::validate),
        )
        .with_state(state)
}

/// Binds `listen` (`host:port`; port 0 picks a free one).
pub async fn bind(listen: &str) -> Result<(tokio::net::TcpListener, SocketAddr), Error> {
    let err = |source| Error::Bind {
        listen: listen.to_string(),
        source,
    };
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(err)?;
    let addr = listener.local_addr().map_err(err)?;
    Ok((listener, addr))
}

/// Serves until `stop` resolves, then finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<ServiceState>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(stop)
        .await
}
