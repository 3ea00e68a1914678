//! `ado-sim`: serves a simulated Azure DevOps organization until SIGINT/SIGTERM.
//!
//! Prints `listening on http://ADDR` on stdout once bound (and writes the port to
//! `--port-file`), so scripts can start it on port 0 and find it.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use ado_sim::{BudgetConfig, FaultConfig, Pat, Sim, SimConfig};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    name = "ado-sim",
    version,
    about = "A fake Azure DevOps organization over HTTP"
)]
struct Cli {
    /// Address to bind; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value = "contoso")]
    org: String,
    #[arg(long, default_value_t = 3)]
    projects: usize,
    #[arg(long, default_value_t = 4)]
    repos_per_project: usize,
    #[arg(long, default_value_t = 100)]
    prs_per_repo: usize,
    /// End of the generated history (RFC 3339); default: midnight UTC today.
    #[arg(long)]
    start_time: Option<chrono::DateTime<chrono::Utc>>,
    /// Accepted token, `TOKEN[:scope,scope]` (repeatable). Default: `demo-pat` with all scopes.
    #[arg(long = "pat")]
    pats: Vec<String>,
    /// Write the bound port number to this file.
    #[arg(long)]
    port_file: Option<PathBuf>,
    /// Usage budget drain rate (requests per second); enables the budget with --budget-burst.
    #[arg(long, requires = "budget_burst")]
    budget_rate: Option<f64>,
    /// Usage budget capacity (requests).
    #[arg(long, requires = "budget_rate")]
    budget_burst: Option<f64>,
    /// Fraction of the burst above which requests are delayed.
    #[arg(long, default_value_t = 0.8)]
    budget_delay_threshold: f64,
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    #[arg(long, default_value_t = 0)]
    latency_jitter_ms: u64,
    /// Probability of a 500/503 answer.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// Probability of a connection reset in the middle of a 200 body.
    #[arg(long, default_value_t = 0.0)]
    reset_rate: f64,
    /// Work items per project, each with 1-10 revisions (about 5 on average).
    #[arg(long, default_value_t = 20)]
    work_items_per_project: usize,
    /// Largest page of the reporting streams ($maxPageSize can only lower it).
    #[arg(long, default_value_t = 200)]
    reporting_page_cap: usize,
    /// Behave like Azure DevOps Server 2022 or 2020: a collection URL under
    /// --virtual-directory (name the collection with --org, e.g. DefaultCollection),
    /// api-version capped at 7.0 / 6.0, no Graph API, no PR time filters, releases under the
    /// collection, deploymentType onPremises.
    #[arg(long, value_name = "2022|2020")]
    server_mode: Option<ado_sim::ServerRelease>,
    /// With --server-mode: the path before the collection (`tfs` serves
    /// http://ADDR/tfs/ORG); an empty value serves http://ADDR/ORG.
    #[arg(long, default_value = "tfs", requires = "server_mode")]
    virtual_directory: String,
    /// Answer the reporting streams with 404, like an older Server that lacks them.
    #[arg(long)]
    refuse_reporting: bool,
    /// WIQL result size limit (ADO: 20000, error VS402337).
    #[arg(long, default_value_t = 20_000)]
    wiql_max_results: usize,
    /// Seconds the simulated service's clock is ahead of this host's (negative: behind);
    /// moves the Date header and the times mutations stamp.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    clock_offset_secs: i64,
    /// Changed files of the last iteration of one PR (the newest of the first repository).
    #[arg(long, default_value_t = 0)]
    big_pr_files: usize,
    /// Comments of one extra thread on that same PR.
    #[arg(long, default_value_t = 0)]
    big_thread_comments: usize,
    /// Build definitions per project (0 = no builds).
    #[arg(long, default_value_t = 3)]
    definitions_per_project: usize,
    /// Builds per definition.
    #[arg(long, default_value_t = 20)]
    builds_per_definition: usize,
    /// Share of YAML builds that failed to compile (timeline 204).
    #[arg(long, default_value_t = 0.02)]
    build_compile_failure_share: f64,
    /// Answer every N-th continued builds-list request with page one again (the reported
    /// continuation-token bug); off when absent.
    #[arg(long)]
    build_token_repeats_first_page: Option<u32>,
    /// Classic release definitions per project.
    #[arg(long, default_value_t = 2)]
    release_definitions_per_project: usize,
    /// Releases per release definition.
    #[arg(long, default_value_t = 10)]
    releases_per_definition: usize,
    /// YAML pipeline environments per project.
    #[arg(long, default_value_t = 2)]
    environments_per_project: usize,
    /// Runs of the YAML pipelines per project (≈ deployment records of its first environment).
    #[arg(long, default_value_t = 15)]
    deployment_records_per_environment: usize,
    /// Multiplies the service hooks' retry delays (ADO: ~1 s to 60 s).
    #[arg(long, default_value_t = 1.0)]
    webhook_retry_scale: f64,
    /// Send no service hook events.
    #[arg(long)]
    no_webhooks: bool,
    /// An Entra ID service principal the token endpoint `POST /{tenant}/oauth2/v2.0/token`
    /// accepts, `TENANT:CLIENT_ID:SECRET` (repeatable).
    #[arg(long = "service-principal")]
    service_principals: Vec<String>,
    /// A managed identity IMDS (`GET /metadata/identity/oauth2/token`) serves: a client id,
    /// or `system` for the system-assigned one (repeatable).
    #[arg(long = "managed-identity")]
    managed_identities: Vec<String>,
    /// Lifetime of the Entra ID tokens issued, in seconds.
    #[arg(long, default_value_t = 3599)]
    token_lifetime_secs: u64,
}

impl Cli {
    fn config(&self) -> SimConfig {
        let mut pats: Vec<Pat> = self.pats.iter().map(|p| Pat::parse_cli(p)).collect();
        if pats.is_empty() {
            pats.push(Pat::full(ado_sim::DEMO_PAT));
        }
        let budget = match (self.budget_rate, self.budget_burst) {
            (Some(rate_per_sec), Some(burst)) => Some(BudgetConfig {
                rate_per_sec,
                burst,
                delay_threshold: self.budget_delay_threshold,
            }),
            _ => None,
        };
        SimConfig {
            org: self.org.clone(),
            seed: self.seed,
            projects: self.projects,
            repos_per_project: self.repos_per_project,
            prs_per_repo: self.prs_per_repo,
            pats,
            budget,
            faults: FaultConfig {
                latency_ms: self.latency_ms,
                latency_jitter_ms: self.latency_jitter_ms,
                error_rate: self.error_rate,
                reset_rate: self.reset_rate,
                ..FaultConfig::default()
            },
            start_time: self.start_time,
            work_items_per_project: self.work_items_per_project,
            reporting_page_cap: self.reporting_page_cap,
            server: self.server_mode.map(|release| ado_sim::ServerMode {
                release,
                virtual_directory: Some(self.virtual_directory.clone())
                    .filter(|d| !d.trim_matches('/').is_empty()),
            }),
            outsiders: Vec::new(),
            refuse_reporting: self.refuse_reporting,
            wiql_max_results: self.wiql_max_results,
            clock_offset: chrono::Duration::seconds(self.clock_offset_secs),
            big_pr_files: self.big_pr_files,
            big_thread_comments: self.big_thread_comments,
            definitions_per_project: self.definitions_per_project,
            builds_per_definition: self.builds_per_definition,
            build_compile_failure_share: self.build_compile_failure_share,
            build_token_repeats_first_page: self.build_token_repeats_first_page,
            release_definitions_per_project: self.release_definitions_per_project,
            releases_per_definition: self.releases_per_definition,
            environments_per_project: self.environments_per_project,
            deployment_records_per_environment: self.deployment_records_per_environment,
            webhook_retry_scale: self.webhook_retry_scale,
            webhook_delivery: !self.no_webhooks,
            entra: ado_sim::EntraConfig {
                token_lifetime: std::time::Duration::from_secs(self.token_lifetime_secs.max(1)),
                service_principals: self
                    .service_principals
                    .iter()
                    .filter_map(|s| {
                        let mut parts = s.splitn(3, ':');
                        Some(ado_sim::ServicePrincipal {
                            tenant_id: parts.next()?.to_string(),
                            client_id: parts.next()?.to_string(),
                            client_secret: parts.next()?.to_string(),
                        })
                    })
                    .collect(),
                managed_identities: self
                    .managed_identities
                    .iter()
                    .map(|c| ado_sim::ManagedIdentity {
                        client_id: (c != "system").then(|| c.clone()),
                    })
                    .collect(),
                federated: Vec::new(),
            },
        }
    }
}

fn write_atomically(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, contents)?;
    std::fs::rename(&tmp, path)
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let sim = Sim::new(cli.config());
    let running = match sim.serve(cli.addr).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ado-sim: cannot bind {}: {e}", cli.addr);
            return std::process::ExitCode::from(2);
        }
    };
    // The port file first, so whoever sees the stdout line can read the file too; written
    // via a rename so a poller never reads it half-written.
    if let Some(path) = &cli.port_file
        && let Err(e) = write_atomically(path, &running.addr.port().to_string())
    {
        eprintln!("ado-sim: cannot write {}: {e}", path.display());
        return std::process::ExitCode::from(2);
    }
    let mut out = std::io::stdout();
    let _ = writeln!(out, "listening on http://{}", running.addr);
    let _ = out.flush();
    shutdown_signal().await;
    running.shutdown().await;
    std::process::ExitCode::SUCCESS
}
