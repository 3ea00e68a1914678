//! Command-line definitions (clap). Nothing else lives here.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Copies an Azure DevOps organization into SQLite or PostgreSQL and keeps it fresh.
#[derive(Debug, Parser)]
#[command(name = "ado-ingest", version, about)]
pub struct Cli {
    /// Configuration file (default: ./ado-ingest.toml when it exists).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Only these connectors (repeatable); default: every enabled connector.
    #[arg(long = "connector", global = true, value_name = "NAME")]
    pub connectors: Vec<String>,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the bundled ADO simulator, backfill it into ./ado-ingest-demo.db and show the result.
    #[cfg(feature = "demo")]
    Demo {
        /// SQLite file to create (replaced if it exists).
        #[arg(long, default_value = "ado-ingest-demo.db")]
        db: PathBuf,
    },
    /// Ingest the full history (from sync.since) of the enabled connectors, resumably, then exit.
    Backfill,
    /// One incremental pass from the stored cursors, then exit (for cron).
    Sync,
    /// The long-running service: every enabled connector on its own interval, and the HTTP
    /// server (/healthz, /readyz, /metrics, the status page) on `server.listen`. SIGTERM or
    /// Ctrl-C stops it within 10 seconds.
    Run,
    /// Apply the database schema migrations, then exit.
    Migrate,
    /// Show, from the database alone, each connector's last pass, last success, cursor age
    /// and recent errors, and the rows per table. Calls no ADO API and needs no token.
    Status {
        /// `table` for people, `json` (pretty-printed, stable field names) for scripts.
        #[arg(long, value_enum, default_value_t = StatusFormat::Table)]
        format: StatusFormat,
    },
    /// Ask a running service whether it is up (for container health checks): exit 0 when
    /// the URL answers 200, 1 otherwise. Needs no configuration.
    Healthcheck {
        /// The URL to ask.
        #[arg(long, default_value = "http://127.0.0.1:8080/healthz")]
        url: String,
    },
}
