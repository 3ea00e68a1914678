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
    /// Manage the Azure DevOps service hook subscriptions that send pull request, work item
    /// and build events to `run`'s receiver (POST /webhooks/ado).
    ///
    /// Each enabled connector manages its own events with its own tokens: repos (pull request
    /// events) needs scope vso.code, boards (work item events) vso.work, pipelines
    /// (build.complete) vso.build; the tokens' user also needs the "Edit subscriptions"
    /// service hooks permission in each project (Project Collection Administrators have it by
    /// default). `--connector` narrows the connectors.
    Webhooks {
        #[command(subcommand)]
        command: WebhooksCommand,
    },
    /// Check every credential of the enabled connectors (or --connector) against the
    /// endpoints each connector needs, one request per endpoint, and answer per connector and
    /// credential: ok, invalid_credentials (401/203 or refused by the token service),
    /// invalid_permissions (403, naming the endpoint and the PAT scope it needs),
    /// no_resources (it sees no project), or error (could not tell). Warns when a stored
    /// credential expires within 14 days. Exit 0 only when every one is ok.
    Validate {
        /// `table` for people, `json` (pretty-printed, stable field names) for scripts.
        #[arg(long, value_enum, default_value_t = StatusFormat::Table)]
        format: StatusFormat,
    },
    /// Manage stored credentials: PATs and Entra ID identities kept in the database,
    /// encrypted with ADO_INGEST_MASTER_KEY, and referred to in a connector's tokens as
    /// `cred:NAME`.
    ///
    /// `--connector` (repeatable) names the connectors a credential serves on create, and
    /// replaces them on update. Needs only `[database]` from the configuration. Exit 2 for a
    /// bad name, description, date, missing part or a missing or wrong master key.
    Credentials {
        #[command(subcommand)]
        command: CredentialsCommand,
    },
}

/// `ado-ingest credentials …`
#[derive(Debug, Subcommand)]
pub enum CredentialsCommand {
    /// Store a credential (encrypted with ADO_INGEST_MASTER_KEY) for the connectors named
    /// with --connector; print its view (the secret never, its sha256 fingerprint instead).
    ///
    /// The secret (a PAT, a client secret) is read from --secret-env VAR or, without it, from
    /// standard input (one line); never from the command line. A managed identity has none.
    Create {
        /// 1–64 of a-z, 0-9 and '-'; config refers to it as `cred:NAME`.
        #[arg(long)]
        name: String,
        #[arg(long, value_enum, default_value_t = CredentialMethod::Pat)]
        method: CredentialMethod,
        /// At most 256 characters.
        #[arg(long)]
        description: Option<String>,
        /// Entra tenant id (service_principal).
        #[arg(long)]
        tenant_id: Option<String>,
        /// Entra application (client) id (service_principal; a user-assigned managed identity).
        #[arg(long)]
        client_id: Option<String>,
        /// Entra authority (service_principal; default https://login.microsoftonline.com).
        #[arg(long)]
        authority: Option<String>,
        /// Token endpoint (managed_identity; default the Azure IMDS endpoint).
        #[arg(long)]
        endpoint: Option<String>,
        /// Expiry date, YYYY-MM-DD (validate warns 14 days before).
        #[arg(long, value_name = "YYYY-MM-DD")]
        expires: Option<String>,
        /// Read the secret from this environment variable instead of standard input.
        #[arg(long, value_name = "VAR")]
        secret_env: Option<String>,
        #[arg(long, value_enum, default_value_t = StatusFormat::Table)]
        format: StatusFormat,
    },
    /// Change parts of a stored credential; its version goes up by one. A running `run`
    /// uses the change within 5 seconds.
    Update {
        #[arg(long)]
        name: String,
        /// New description ("" clears it).
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        tenant_id: Option<String>,
        #[arg(long)]
        client_id: Option<String>,
        #[arg(long)]
        authority: Option<String>,
        #[arg(long)]
        endpoint: Option<String>,
        /// New expiry date, YYYY-MM-DD ("" clears it).
        #[arg(long, value_name = "YYYY-MM-DD")]
        expires: Option<String>,
        /// Rotate: read the new secret from this environment variable.
        #[arg(long, value_name = "VAR")]
        secret_env: Option<String>,
        /// Rotate: read the new secret from standard input (one line).
        #[arg(long, conflicts_with = "secret_env")]
        secret_stdin: bool,
        #[arg(long, value_enum, default_value_t = StatusFormat::Table)]
        format: StatusFormat,
    },
    /// Show one stored credential (never its secret).
    Info {
        #[arg(long)]
        name: String,
        #[arg(long, value_enum, default_value_t = StatusFormat::Table)]
        format: StatusFormat,
    },
    /// List the stored credentials (never their secrets).
    List {
        #[arg(long, value_enum, default_value_t = StatusFormat::Table)]
        format: StatusFormat,
    },
    /// Delete a stored credential; a running `run` drops it from its pools within 5 seconds.
    Delete {
        #[arg(long)]
        name: String,
    },
}

/// A stored credential's method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum CredentialMethod {
    Pat,
    ServicePrincipal,
    ManagedIdentity,
}

/// `ado-ingest webhooks …`
#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Subscribe every enabled connector's events in every project (or --project).
    ///
    /// One subscription per event and project (organization.projects, or --project), each
    /// sending
    /// `X-ADO-Signature: <server.webhook_secret>`. Idempotent: an identical subscription is
    /// kept (its secret header replaced when it differs), a missing one created; prints one
    /// line per subscription (created / kept / updated). Needs server.webhook_secret.
    Subscribe {
        /// The receiver's public URL, e.g. https://ingest.example.com/webhooks/ado. Must be
        /// https (ADO refuses localhost targets and sends the secret header as given); plain
        /// http is accepted only for a loopback host, for the simulator.
        #[arg(long, value_name = "URL")]
        url: String,
        /// Only this project (name or id, case-insensitive; repeatable).
        #[arg(long = "project", value_name = "NAME")]
        projects: Vec<String>,
        /// Show what would be created or updated; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Show the web hook subscriptions with their state and last failure.
    ///
    /// States: enabled, "Enabled (restricted)" (ADO's probation after failed deliveries),
    /// disabled by system or by user; a restricted or system-disabled one comes with its last
    /// failed delivery. With --url, only ours for that receiver; without, every web hook subscription of the
    /// enabled connectors' events, whatever its URL (to find an old receiver).
    List {
        /// Only the subscriptions that deliver to this URL.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// `table` for people, `json` (pretty-printed, stable field names) for scripts.
        #[arg(long, value_enum, default_value_t = StatusFormat::Table)]
        format: StatusFormat,
    },
    /// Delete our subscriptions for --url.
    ///
    /// Ours are web hooks posting to that URL; others' (another URL, another consumer) are
    /// never touched. Prints each one deleted.
    Delete {
        /// The receiver URL the subscriptions deliver to.
        #[arg(long, value_name = "URL")]
        url: String,
        /// Only in this project (name or id, case-insensitive; repeatable).
        #[arg(long = "project", value_name = "NAME")]
        projects: Vec<String>,
    },
}
