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
pub mod demo;
pub mod metrics;
pub mod progress;
pub mod store;
pub mod sync;

/// Installs the process-wide TLS crypto provider (ring) once; reqwest is built without one so
/// that the binary carries a single crypto library.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
