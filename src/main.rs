//! The `ado-ingest` binary: parse the command line, set up logging, load the configuration,
//! dispatch. Exit codes: 0 success (for `run`: a clean shutdown), 1 a sync failed (or the
//! service stopped on an error, or `healthcheck` found it unhealthy), 2 bad configuration or
//! usage, 3 another process holds the SQLite writer lock.

use ado_ingest::cli::{Cli, Command, CredentialsCommand, LogFormat, StatusFormat, WebhooksCommand};
use ado_ingest::config::{self, Settings};
use ado_ingest::connectors::Mode;
#[cfg(feature = "demo")]
use ado_ingest::demo;
use ado_ingest::metrics::Metrics;
use ado_ingest::progress::Progress;
use ado_ingest::service;
use ado_ingest::status;
use ado_ingest::store::{AnyStore, Store};
use ado_ingest::sync;
use ado_ingest::webhooks::subscriptions;
use anyhow::Context;
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

const EXIT_SYNC_FAILED: u8 = 1;
const EXIT_USAGE: u8 = 2;
/// Another ado-ingest process is writing to the database.
const EXIT_LOCKED: u8 = 3;

fn main() -> ExitCode {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    one_malloc_arena();
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    ado_ingest::install_crypto_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_SYNC_FAILED);
        }
    };
    runtime.block_on(async_main(cli))
}

/// glibc gives each thread that allocates its own malloc arena and hands little of it back:
/// with the runtime's workers parsing pages beside the SQLite writer's thread, a medium
/// backfill peaked at 142 MB RSS (large: 160 MB) with the default arenas, 103 MB with two and
/// 78 MB with one, in the same time within noise (BENCHMARKS.md, "Memory").
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn one_malloc_arena() {
    // SAFETY: mallopt only sets an allocator parameter, and no other thread exists yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// The first Ctrl-C / SIGTERM cancels the run: requests in flight, backoff sleeps and pool
/// waits stop at once, pages already fetched are committed, and the run is recorded as
/// `cancelled`. A second signal exits immediately (what was committed stays committed).
fn cancel_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        #[cfg(unix)]
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        for signals in 0.. {
            #[cfg(unix)]
            {
                let terminated = async {
                    match term.as_mut() {
                        Some(t) => {
                            t.recv().await;
                        }
                        None => std::future::pending::<()>().await,
                    }
                };
                tokio::select! {
                    r = tokio::signal::ctrl_c() => if r.is_err() { return },
                    _ = terminated => {}
                }
            }
            #[cfg(not(unix))]
            if tokio::signal::ctrl_c().await.is_err() {
                return;
            }
            if signals == 0 {
                tracing::warn!("interrupted: stopping; a second signal exits at once");
                t.cancel();
            } else {
                eprintln!("interrupted twice: exiting now");
                std::process::exit(130);
            }
        }
    });
    token
}

async fn async_main(cli: Cli) -> ExitCode {
    let cancel = cancel_on_signal();
    match &cli.command {
        #[cfg(feature = "demo")]
        Command::Demo { db } => match demo::run(db, cancel).await {
            Ok(outcome) => print_demo(&outcome),
            Err(e) => {
                eprintln!("error: {}", ado_ingest::error_chain(&e));
                ExitCode::from(EXIT_SYNC_FAILED)
            }
        },
        Command::Healthcheck { url } => healthcheck(url).await,
        Command::Status { format } => status(&cli, *format).await,
        Command::Webhooks { command } => webhooks(&cli, command, &cancel).await,
        Command::Credentials { command } => credentials(&cli, command).await,
        Command::Validate { format } => validate(&cli, *format, &cancel).await,
        Command::Migrate | Command::Backfill | Command::Sync | Command::Run => {
            let settings = match load_settings(&cli) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(EXIT_USAGE);
                }
            };
            match run_command(&cli, &settings, cancel).await {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::from(EXIT_SYNC_FAILED)
                }
            }
        }
    }
}

/// `healthcheck`: one GET with a short timeout; no configuration, no database.
async fn healthcheck(url: &str) -> ExitCode {
    let client = match reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_SYNC_FAILED);
        }
    };
    match client.get(url).send().await {
        Ok(r) if r.status().is_success() => ExitCode::SUCCESS,
        Ok(r) => {
            eprintln!("unhealthy: {url} answered {}", r.status());
            ExitCode::from(EXIT_SYNC_FAILED)
        }
        Err(e) => {
            eprintln!("unhealthy: {url}: {}", ado_ingest::error_chain(&e));
            ExitCode::from(EXIT_SYNC_FAILED)
        }
    }
}

fn config_path(cli: &Cli) -> Option<PathBuf> {
    match &cli.config {
        Some(p) => Some(p.clone()),
        None => {
            let default = PathBuf::from("ado-ingest.toml");
            default.exists().then_some(default)
        }
    }
}

fn load_settings(cli: &Cli) -> Result<Settings, config::Error> {
    Settings::load(config_path(cli).as_deref())
}

/// `status`: reads the database only. The settings are loaded without resolving token
/// references, so it works in a shell that lacks the service's token variables.
async fn status(cli: &Cli, format: StatusFormat) -> ExitCode {
    let settings = match Settings::load_without_secrets(config_path(cli).as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let enabled = match sync::select_connectors(&settings, &cli.connectors) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match read_status(&settings, &enabled, &cli.connectors).await {
        Ok(s) => {
            match format {
                StatusFormat::Table => print!("{}", status::table::render(&s)),
                StatusFormat::Json => match serde_json::to_string_pretty(&s) {
                    Ok(json) => println!("{json}"),
                    Err(e) => {
                        eprintln!("error: cannot serialize the status: {e}");
                        return ExitCode::from(EXIT_SYNC_FAILED);
                    }
                },
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_SYNC_FAILED)
        }
    }
}

/// `credentials …`: needs only the database from the configuration (no token is resolved:
/// the first credential is often created before any exists).
async fn credentials(cli: &Cli, command: &CredentialsCommand) -> ExitCode {
    let settings = match Settings::load_without_secrets(config_path(cli).as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let store = match AnyStore::connect(&settings.database.url).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "error: cannot open the database {}: {e}",
                config::redact_url(&settings.database.url)
            );
            return ExitCode::from(EXIT_SYNC_FAILED);
        }
    };
    if let Err(e) = store.migrate().await {
        eprintln!("error: cannot apply migrations: {e}");
        return ExitCode::from(EXIT_SYNC_FAILED);
    }
    let code = ado_ingest::credentials::command::run(&store, command, &cli.connectors).await;
    store.close().await;
    ExitCode::from(code)
}

/// `validate`: exit 0 when every connector and credential is ok, 1 when one is not, 2 for
/// a configuration that cannot be used.
async fn validate(cli: &Cli, format: StatusFormat, cancel: &CancellationToken) -> ExitCode {
    let mut settings = match load_settings(cli) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let connectors = match sync::select_connectors(&settings, &cli.connectors) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    // The database holds the stored credentials (`cred:`) and their validation status; a
    // configuration without them validates without one.
    let store = if missing_sqlite_file(&settings.database.url).is_some() {
        None
    } else {
        match AnyStore::connect(&settings.database.url).await {
            Ok(s) if s.migrate().await.is_ok() => Some(s),
            _ => None,
        }
    };
    if let Some(store) = &store
        && let Err(e) =
            ado_ingest::credentials::attach(&mut settings, store, &Default::default(), false).await
    {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_USAGE);
    }
    let reports =
        match ado_ingest::validate::run(&settings, store.as_ref(), &connectors, cancel).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_USAGE);
            }
        };
    if let Some(store) = store {
        store.close().await;
    }
    match format {
        StatusFormat::Table => print!("{}", ado_ingest::validate::table(&reports)),
        StatusFormat::Json => match serde_json::to_string_pretty(&reports) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                eprintln!("error: cannot serialize the results: {e}");
                return ExitCode::from(EXIT_SYNC_FAILED);
            }
        },
    }
    if reports
        .iter()
        .all(|r| r.outcome == ado_ingest::validate::Outcome::Ok)
    {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_SYNC_FAILED)
    }
}

/// `webhooks subscribe|list|delete`: ADO's service hook subscriptions for `run`'s receiver.
/// Exit 2 for a bad URL or configuration, 1 when ADO refused or failed.
async fn webhooks(cli: &Cli, command: &WebhooksCommand, cancel: &CancellationToken) -> ExitCode {
    let settings = match load_settings(cli) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let only = &cli.connectors;
    let print = |c: &subscriptions::Change| println!("{c}");
    let result = match command {
        WebhooksCommand::Subscribe {
            url,
            projects,
            dry_run,
        } => {
            let args = subscriptions::SubscribeArgs {
                url,
                projects,
                dry_run: *dry_run,
            };
            subscriptions::subscribe(&settings, only, args, cancel, print)
                .await
                .map(|changes| {
                    let created = changes
                        .iter()
                        .filter(|c| c.action == subscriptions::Action::Created)
                        .count();
                    eprintln!("{} subscriptions, {created} created", changes.len());
                })
        }
        WebhooksCommand::List { url, format } => {
            match subscriptions::list(&settings, only, url.as_deref(), cancel).await {
                Ok(rows) => {
                    match format {
                        StatusFormat::Table => {
                            print!("{}", subscriptions::table(&rows, url.is_none()))
                        }
                        StatusFormat::Json => match serde_json::to_string_pretty(&rows) {
                            Ok(json) => println!("{json}"),
                            Err(e) => {
                                eprintln!("error: cannot serialize the listing: {e}");
                                return ExitCode::from(EXIT_SYNC_FAILED);
                            }
                        },
                    }
                    Ok(())
                }
                Err(e) => Err(e),
            }
        }
        WebhooksCommand::Delete { url, projects } => {
            subscriptions::delete(&settings, only, url, projects, cancel, print)
                .await
                .map(|changes| eprintln!("{} subscriptions deleted", changes.len()))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", ado_ingest::error_chain(&e));
            ExitCode::from(if e.is_usage() {
                EXIT_USAGE
            } else {
                EXIT_SYNC_FAILED
            })
        }
    }
}

/// The status of the configured org; with `--connector`, of those connectors only.
async fn read_status(
    settings: &Settings,
    enabled: &[String],
    only: &[String],
) -> anyhow::Result<status::Status> {
    let url = &settings.database.url;
    let shown = config::redact_url(url);
    if let Some(path) = missing_sqlite_file(url) {
        anyhow::bail!(
            "cannot open the database {shown}: {} does not exist (nothing has been ingested \
             into it yet; `ado-ingest backfill` creates it)",
            path.display()
        );
    }
    let store = AnyStore::connect(url)
        .await
        .with_context(|| format!("cannot open the database {shown}"))?;
    let collected = status::collect(&store, &settings.org_key(), enabled, chrono::Utc::now())
        .await
        .with_context(|| format!("cannot read the status from the database {shown}"));
    store.close().await;
    let mut s = collected?;
    if !only.is_empty() {
        s.connectors.retain(|c| only.contains(&c.name));
    }
    Ok(s)
}

/// The file a `sqlite:` URL names when it does not exist: `status` only reads, and opening
/// would create an empty database there.
fn missing_sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") {
        return None;
    }
    let path = PathBuf::from(path);
    (!path.exists()).then_some(path)
}

async fn run_command(
    cli: &Cli,
    settings: &Settings,
    cancel: CancellationToken,
) -> anyhow::Result<ExitCode> {
    let connectors = match sync::select_connectors(settings, &cli.connectors) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let store = AnyStore::connect(&settings.database.url)
        .await
        .with_context(|| {
            format!(
                "cannot open the database {}",
                config::redact_url(&settings.database.url)
            )
        })?;
    store.migrate().await.context("cannot apply migrations")?;
    let mode = match cli.command {
        Command::Migrate => {
            println!("migrations applied ({})", store.backend());
            return Ok(ExitCode::SUCCESS);
        }
        Command::Run => {
            let metrics = Arc::new(Metrics::default());
            let result = service::run(settings, &store, &connectors, metrics, cancel, |addr| {
                // Tests and scripts read the bound port from this line (`listen` may say :0).
                println!("listening on http://{addr}");
            })
            .await;
            store.close().await;
            return Ok(match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {}", ado_ingest::error_chain(&e));
                    ExitCode::from(match e {
                        service::Error::Setup(sync::SetupError::Store(
                            ado_ingest::store::Error::Locked { .. },
                        )) => EXIT_LOCKED,
                        service::Error::Setup(_) => EXIT_USAGE,
                        _ => EXIT_SYNC_FAILED,
                    })
                }
            });
        }
        Command::Backfill => Mode::Backfill,
        _ => Mode::Sync,
    };
    let metrics = Arc::new(Metrics::default());
    let progress = Progress::start(mode.as_str(), metrics.clone());
    let reports = sync::run(settings, &store, mode, &connectors, metrics.clone(), cancel).await;
    progress.finish().await;
    let reports = match reports {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}", ado_ingest::error_chain(&e));
            let locked = matches!(
                e,
                sync::SetupError::Store(ado_ingest::store::Error::Locked { .. })
            );
            return Ok(ExitCode::from(if locked {
                EXIT_LOCKED
            } else {
                EXIT_USAGE
            }));
        }
    };
    let mut ok = true;
    for r in &reports {
        for t in &r.retired_tokens {
            eprintln!(
                "warning: connector {}: token `{t}` was refused and left the pool",
                r.connector
            );
        }
        match &r.result {
            Ok(s) => {
                let m = &r.metrics;
                println!(
                    "{}: {} ok — {}, {} rows, {} requests, {} retries, {} throttle pauses, {} throttled (429)",
                    r.connector,
                    mode.as_str(),
                    s.describe(),
                    s.rows,
                    m.requests,
                    m.retries,
                    m.throttle_pauses,
                    m.throttled_429
                )
            }
            Err(e) => {
                ok = false;
                eprintln!(
                    "{}: {} {}: {}",
                    r.connector,
                    mode.as_str(),
                    e.outcome(),
                    with_kind(e.kind(), &ado_ingest::error_chain(e))
                );
            }
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_SYNC_FAILED)
    })
}

/// `kind: text`, unless the text already starts with its kind (`invalid_credentials: …`).
fn with_kind(kind: &str, text: &str) -> String {
    match text.strip_prefix(kind) {
        Some(rest) if rest.starts_with(':') => text.to_string(),
        _ => format!("{kind}: {text}"),
    }
}

#[cfg(feature = "demo")]
fn print_demo(outcome: &demo::DemoOutcome) -> ExitCode {
    let mut ok = true;
    for r in &outcome.reports {
        if let Err(e) = &r.result {
            ok = false;
            eprintln!(
                "{}: failed: {}",
                r.connector,
                with_kind(e.kind(), &e.to_string())
            );
        }
    }
    println!(
        "Backfilled the simulated organization at {} into {}\n",
        outcome.sim_url, outcome.db
    );
    let width = outcome
        .counts
        .iter()
        .map(|(t, _)| t.len())
        .max()
        .unwrap_or(0)
        .max(5);
    println!("{:<width$} {:>10}", "table", "rows");
    for (table, n) in &outcome.counts {
        println!("{table:<width$} {n:>10}");
    }
    println!(
        "\nTry:\n  sqlite3 {db} \"SELECT status, COUNT(*), ROUND(AVG(julianday(closed_date) - julianday(creation_date)), 1) AS avg_days_open FROM pull_requests GROUP BY status;\"\n  sqlite3 {db} \"SELECT type, state, COUNT(*) FROM work_items WHERE deleted_at IS NULL GROUP BY type, state ORDER BY type;\"\n  sqlite3 {db} \"SELECT u.display_name, COUNT(*) AS comments FROM pull_request_comments c JOIN users u ON u.org = c.org AND u.id = c.author_id WHERE c.comment_type = 'text' GROUP BY 1 ORDER BY 2 DESC LIMIT 5;\"",
        db = outcome.db
    );
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_SYNC_FAILED)
    }
}
