//! ado-ingest copies an Azure DevOps organization's engineering data into a SQL database its
//! users own (SQLite by default, PostgreSQL at scale) and keeps it fresh.
//!
//! Data flows one way:
//!
//! ```text
//! sync (backfill / sync) ─▶ connectors::{repos,…} ─▶ ado::Client ─▶ TokenPool ─▶ HTTP
//!                               │ pure mapping (connectors::map)
//!                               ▼
//!                           store::Store (SqliteStore | PgStore): a page's rows + cursor, one transaction
//! ```
//!
//! `ado` knows HTTP and ADO JSON and nothing of SQL; `store` knows SQL and row structs and
//! nothing of HTTP; `connectors` glue the two and own the sync strategy.

pub mod ado;
pub mod cli;
pub mod config;
pub mod connectors;
pub mod credentials;
#[cfg(feature = "demo")]
pub mod demo;
pub mod engine;
pub mod metrics;
pub mod progress;
pub mod redact;
pub mod server;
pub mod service;
pub mod status;
pub mod store;
pub mod sync;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
pub mod validate;
pub mod webhooks;

/// Installs the process-wide TLS crypto provider (ring) once; reqwest is built without one so
/// that the binary carries a single crypto library.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// An error with its whole cause chain on one line (`a: b: c`), for logs, `sync_runs.error`
/// and stderr. Messages of this crate do not repeat their source, so nothing is said twice.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
