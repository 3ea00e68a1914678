//! The benchmark suite (harness-less): every table of `BENCHMARKS.md` comes from
//!
//! ```sh
//! TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench backfill -- --all
//! ```
//!
//! One scenario at a time: `cargo bench --bench backfill -- --profile medium --latency-ms 100
//! --budget-rate 10 --tokens 2` (see `--help`); `--server-mode 2022` runs it against a
//! simulated Azure DevOps Server collection (no PR time filters: the sync pages every PR).
//!
//! Each run starts the simulator (the `ado-sim` binary, as its own process: its JSON
//! generation must not count as ours) with a named profile, runs the
//! real `ado-ingest backfill` binary against it as a child process into a fresh SQLite file and
//! (when `TEST_DATABASE_URL` is set) a fresh Postgres database, applies a 1% mutation, runs
//! `ado-ingest sync`, and reports whole-process figures: requests (from the simulator's own
//! count), requests per 1,000 entities, wall time, entities/s, rows/s, the child's peak RSS
//! (`VmHWM` sampled from /proc every 20 ms), its CPU time (user + system, from /proc),
//! throttle pauses and 429s. In the rate-limit-bound scenario the simulator is pinned to the
//! last CPU and ado-ingest to the others where the machine allows. With `--repeat N` each
//! measurement runs N times on a fresh simulator and database and the median wall time is
//! reported.
//!
//! `--all` runs:
//! 1. throughput: small, medium and large without latency or budget, on both stores (this is
//!    also the scaling table);
//! 2. the rate-limit bound: medium and large with L = 100 ms, R = 10 requests/s per token,
//!    T = 2 tokens, reported as a ratio to the best possible time (see [`Bound`]);
//! 3. the store alone (`benches/support/store_alone.rs`, also `cargo bench --bench store`);
//! 4. the peer, `ado-git-repo-insights`, through `benches/peer/run.sh` (it installs the peer
//!    into a virtualenv under `target/`; `--no-peer` skips it).
//!
//! Profiles hold pull requests only for now (`work_items_per_project = 0`): the Boards
//! connector joins them when it lands.

#[path = "support/sim_process.rs"]
mod sim_process;
#[path = "support/store_alone.rs"]
mod store_alone;

use ado_ingest::store::{AnyStore, Store};
use ado_sim::BudgetConfig;
use clap::{Parser, ValueEnum};
use sim_process::{Pinning, SimProcess};
use sqlx::Connection;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Repositories per project in every profile.
const REPOS_PER_PROJECT: usize = 10;
/// PRs per repository in every profile (the first repository holds 40% of a project's PRs).
const PRS_PER_REPO: usize = 250;
/// ADO's largest PR page (API_FACTS §1.2), as the connector asks for it.
const PR_PAGE: u64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
enum Profile {
    /// 2 projects, 20 repositories, 5,000 pull requests.
    Small,
    /// 20 projects, 200 repositories, 50,000 pull requests.
    Medium,
    /// 200 projects, 2,000 repositories, 500,000 pull requests.
    Large,
}

impl Profile {
    fn projects(self) -> usize {
        match self {
            Profile::Small => 2,
            Profile::Medium => 20,
            Profile::Large => 200,
        }
    }
    fn prs(self) -> u64 {
        (self.projects() * REPOS_PER_PROJECT * PRS_PER_REPO) as u64
    }
    fn name(self) -> &'static str {
        match self {
            Profile::Small => "small",
            Profile::Medium => "medium",
            Profile::Large => "large",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn label(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// The benchmark suite of ado-ingest against the ADO simulator.
#[derive(Debug, Parser)]
#[command(name = "backfill-bench")]
struct Args {
    /// Every table of BENCHMARKS.md: throughput per profile (the scaling table), the
    /// rate-limit bound, the store alone and the peer.
    #[arg(long)]
    all: bool,
    /// Organization size (pull requests only until the Boards connector lands).
    #[arg(long, value_enum, default_value_t = Profile::Medium)]
    profile: Profile,
    /// Simulated latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Uniform extra latency in 0..=jitter, in milliseconds.
    #[arg(long, default_value_t = 0)]
    jitter_ms: u64,
    /// Usage budget per token in requests per second (the simulator's leaky bucket drain).
    #[arg(long)]
    budget_rate: Option<f64>,
    /// Bucket capacity in requests; default: one second of budget (= --budget-rate).
    #[arg(long)]
    budget_burst: Option<f64>,
    /// Tokens in the pool: distinct PATs, each with its own budget.
    #[arg(long, default_value_t = 1)]
    tokens: usize,
    /// Stores to measure (PostgreSQL needs TEST_DATABASE_URL).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Backend::Sqlite, Backend::Postgres])]
    stores: Vec<Backend>,
    /// `connectors.repos.concurrency` of the runs.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// `connectors.repos.requests_per_second` (and `burst`), the client's own ceiling per
    /// token; set above the server budget so that the server's headers do the pacing.
    #[arg(long, default_value_t = 1000.0)]
    client_rps: f64,
    /// Runs per measurement; the median wall time is reported.
    #[arg(long)]
    repeat: Option<usize>,
    /// Play Azure DevOps Server 2022 or 2020 (`ado-sim --server-mode`): the collection
    /// `/tfs/DefaultCollection`, a capped api-version, no PR time filters. Not with --all.
    #[arg(long, value_name = "2022|2020")]
    server_mode: Option<String>,
    /// With --all: skip the peer comparison.
    #[arg(long)]
    no_peer: bool,
    /// With --all: skip the large profile (the quick version of the suite).
    #[arg(long)]
    no_large: bool,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// What one scenario runs against.
#[derive(Debug, Clone)]
struct Scenario {
    name: &'static str,
    profile: Profile,
    latency_ms: u64,
    jitter_ms: u64,
    budget: Option<BudgetConfig>,
    tokens: usize,
    concurrency: usize,
    client_rps: f64,
    /// `ado-sim --server-mode` (a Server collection), or `None` for Services.
    server: Option<String>,
}

/// The collection a `--server-mode` simulator serves.
const SERVER_COLLECTION: &str = "tfs/DefaultCollection";

impl Scenario {
    fn describe(&self) -> String {
        let mut s = format!(
            "{} ({} PRs), L = {} ms",
            self.profile.name(),
            thousands(self.profile.prs()),
            self.latency_ms
        );
        if self.jitter_ms > 0 {
            let _ = write!(s, " + 0..{} ms", self.jitter_ms);
        }
        match self.budget {
            Some(b) => {
                let _ = write!(
                    s,
                    ", budget R = {}/s per token (burst {}), T = {}",
                    b.rate_per_sec, b.burst, self.tokens
                );
            }
            None => {
                let _ = write!(s, ", no budget, T = {}", self.tokens);
            }
        }
        let _ = write!(s, ", concurrency {}", self.concurrency);
        if let Some(release) = &self.server {
            let _ = write!(s, ", Azure DevOps Server {release} (/{SERVER_COLLECTION})");
        }
        s
    }
}

/// One child run (`backfill` or `sync`).
#[derive(Debug, Clone, Default)]
struct Measured {
    wall: Duration,
    ok: bool,
    peak_rss_kb: u64,
    /// The child's user + system CPU seconds (last sample before it exited).
    cpu_secs: f64,
    /// From the simulator's own accounting.
    requests: u64,
    by_endpoint: BTreeMap<String, u64>,
    throttled_429: u64,
    delayed: u64,
    /// From the child's summary line (`… N rows, N requests, N retries, N throttle pauses, …`).
    summary: BTreeMap<String, u64>,
    /// Rows per table after the run.
    tables: BTreeMap<String, i64>,
}

impl Measured {
    fn field(&self, name: &str) -> u64 {
        self.summary.get(name).copied().unwrap_or(0)
    }
}

/// Backfill and sync of one store in one scenario (medians over the repeats).
#[derive(Debug, Clone)]
struct Outcome {
    scenario: Scenario,
    backend: Backend,
    backfill: Measured,
    sync: Measured,
    /// Wall times of every repeat, for the spread.
    backfill_walls: Vec<f64>,
    sync_walls: Vec<f64>,
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The binary under test: this build's, or `BENCH_INGEST_BIN` (another build, e.g. the
/// previous commit's, measured with the same harness and simulator).
fn ingest_binary() -> PathBuf {
    std::env::var_os("BENCH_INGEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_ado-ingest")))
}

/// User + system CPU seconds of a process, from /proc.
fn cpu_secs(pid: u32) -> Option<f64> {
    store_alone::cpu_secs(&format!("/proc/{pid}/stat"))
}

fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// `"N label"` parts of the summary line, e.g. `rows`, `requests`, `throttle pauses`.
fn summary_fields(out: &str) -> BTreeMap<String, u64> {
    let line = out
        .lines()
        .find(|l| l.starts_with("repos:"))
        .unwrap_or_default();
    let body = line.split_once(" — ").map_or(line, |(_, b)| b);
    body.split(", ")
        .filter_map(|part| {
            let (n, label) = part.trim().split_once(' ')?;
            Some((label.to_string(), n.parse().ok()?))
        })
        .collect()
}

fn load1() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

async fn run_binary(
    sim: &SimProcess,
    config: &Path,
    command: &str,
    tokens: usize,
    cpus: Option<&str>,
) -> Measured {
    sim.reset_stats().await;
    let mut cmd = Pinning::command(cpus, &ingest_binary());
    cmd.args([command, "--config"])
        .arg(config)
        // sqlx's slow-statement warnings are expected when pages queue for the store.
        .env("RUST_LOG", "warn,sqlx=error")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for i in 0..tokens {
        cmd.env(format!("BENCH_PAT_{i}"), format!("bench-pat-{i}"));
    }
    let start = Instant::now();
    let mut child = cmd.spawn().expect("spawn ado-ingest");
    let pid = child.id();
    let mut peak = 0;
    let mut cpu = 0.0;
    let status = loop {
        if let Some(kb) = peak_rss_kb(pid) {
            peak = peak.max(kb);
        }
        if let Some(c) = cpu_secs(pid) {
            cpu = c;
        }
        match child.try_wait().expect("wait for ado-ingest") {
            Some(s) => break s,
            None => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    let wall = start.elapsed();
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        use std::io::Read;
        let _ = stdout.read_to_string(&mut out);
    }
    let stats = sim.stats().await;
    let num = |k: &str| stats[k].as_u64().unwrap_or(0);
    let by_endpoint = stats["by_endpoint"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();
    if !status.success() {
        eprintln!("ado-ingest {command} failed ({status}); stdout: {out}");
    }
    Measured {
        wall,
        ok: status.success(),
        peak_rss_kb: peak,
        cpu_secs: cpu,
        requests: num("requests"),
        by_endpoint,
        throttled_429: num("throttled"),
        delayed: num("delayed"),
        summary: summary_fields(&out),
        tables: BTreeMap::new(),
    }
}

/// A fresh database for one run: a SQLite file in `dir`, or a new Postgres database.
struct Database {
    url: String,
    pg: Option<(String, String)>,
}

impl Database {
    async fn create(backend: Backend, dir: &Path, tag: &str) -> Option<Database> {
        match backend {
            Backend::Sqlite => Some(Database {
                url: format!("sqlite://{}", dir.join(format!("{tag}.db")).display()),
                pg: None,
            }),
            Backend::Postgres => {
                let admin = std::env::var("TEST_DATABASE_URL").ok()?;
                let mut conn = sqlx::PgConnection::connect(&admin).await.ok()?;
                let name = format!("ado_ingest_bench_{}_{tag}", std::process::id());
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .ok()?;
                let mut url = url::Url::parse(&admin).ok()?;
                url.set_path(&format!("/{name}"));
                Some(Database {
                    url: url.to_string(),
                    pg: Some((admin, name)),
                })
            }
        }
    }

    async fn tables(&self) -> BTreeMap<String, i64> {
        match AnyStore::connect(&self.url).await {
            Ok(store) => {
                let counts = store.table_counts().await.unwrap_or_default();
                match &store {
                    AnyStore::Sqlite(s) => s.close().await,
                    AnyStore::Postgres(s) => s.close().await,
                }
                counts.into_iter().collect()
            }
            Err(_) => BTreeMap::new(),
        }
    }

    async fn drop(self, dir: &Path) {
        if let Some((admin, name)) = self.pg {
            if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await;
            }
        } else if let Some(path) = self.url.strip_prefix("sqlite://") {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{path}{suffix}"));
            }
            let _ = dir;
        }
    }
}

/// The simulator's command line for `s`.
fn sim_args(s: &Scenario) -> Vec<String> {
    let mut a: Vec<String> = [
        "--seed",
        "1",
        "--projects",
        &s.profile.projects().to_string(),
        "--repos-per-project",
        &REPOS_PER_PROJECT.to_string(),
        "--prs-per-repo",
        &PRS_PER_REPO.to_string(),
        "--work-items-per-project",
        "0",
        "--latency-ms",
        &s.latency_ms.to_string(),
        "--latency-jitter-ms",
        &s.jitter_ms.to_string(),
    ]
    .iter()
    .map(|x| x.to_string())
    .collect();
    for i in 0..s.tokens {
        a.extend(["--pat".to_string(), format!("bench-pat-{i}")]);
    }
    if let Some(release) = &s.server {
        a.extend([
            "--server-mode".to_string(),
            release.clone(),
            "--org".to_string(),
            "DefaultCollection".to_string(),
        ]);
    }
    if let Some(b) = s.budget {
        a.extend([
            "--budget-rate".to_string(),
            b.rate_per_sec.to_string(),
            "--budget-burst".to_string(),
            b.burst.to_string(),
            "--budget-delay-threshold".to_string(),
            b.delay_threshold.to_string(),
        ]);
    }
    a
}

fn write_config(path: &Path, s: &Scenario, db_url: &str, org_url: &str) {
    let tokens = (0..s.tokens)
        .map(|i| format!("\"env:BENCH_PAT_{i}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let burst = s.client_rps.ceil().max(1.0) as u64;
    std::fs::write(
        path,
        format!(
            "[database]\nurl = \"{db_url}\"\n\n[organization]\nurl = \"{org_url}\"\n\n\
             [connectors.repos]\ntokens = [{tokens}]\nrequests_per_second = {}\nburst = {burst}\n\
             concurrency = {}\n\n\
             # The listing scenarios measure pull requests and reviewers; the inside of each PR\n\
             # has a scenario of its own.\n\
             [connectors.repos.pull_request_depth]\nenabled = false\n",
            s.client_rps, s.concurrency
        ),
    )
    .expect("write config");
}

/// One backfill + sync of `s` into a fresh database.
async fn run_once(
    s: &Scenario,
    backend: Backend,
    dir: &Path,
    tag: &str,
) -> Option<(Measured, Measured)> {
    let db = Database::create(backend, dir, tag).await?;
    // Under a budget the bound ratio must measure ado-ingest alone: the simulator gets a CPU
    // of its own where the machine has one to spare.
    let pinning = s.budget.and_then(|_| Pinning::split());
    let sim = SimProcess::start(&sim_args(s), pinning.as_ref().map(|p| p.sim.as_str())).await;
    let ingest_cpus = pinning.as_ref().map(|p| p.ingest.as_str());
    let config = dir.join(format!("{tag}.toml"));
    let org_url = match &s.server {
        Some(_) => sim.url_of(SERVER_COLLECTION),
        None => sim.base_url(),
    };
    write_config(&config, s, &db.url, &org_url);
    let load = load1();
    let mut backfill = run_binary(&sim, &config, "backfill", s.tokens, ingest_cpus).await;
    backfill.tables = db.tables().await;
    // 1% of the org's pull requests change (work items: none in these profiles).
    sim.mutate(42, (s.profile.prs() / 100) as usize, 0).await;
    let mut sync = run_binary(&sim, &config, "sync", s.tokens, ingest_cpus).await;
    sync.tables = db.tables().await;
    drop(sim);
    db.drop(dir).await;
    let _ = std::fs::remove_file(&config);
    eprintln!(
        "  {} {} {}: backfill {:.2} s ({} requests, {} rows, 429s {}), sync {:.2} s (load1 before: {load})",
        s.name,
        s.profile.name(),
        backend.label(),
        backfill.wall.as_secs_f64(),
        backfill.requests,
        backfill.field("rows"),
        backfill.throttled_429,
        sync.wall.as_secs_f64(),
    );
    Some((backfill, sync))
}

fn median_by_wall(mut runs: Vec<Measured>) -> (Measured, Vec<f64>) {
    let walls: Vec<f64> = runs.iter().map(|m| m.wall.as_secs_f64()).collect();
    runs.sort_by_key(|a| a.wall);
    let mid = runs.len() / 2;
    (runs.swap_remove(mid), walls)
}

async fn measure(s: &Scenario, stores: &[Backend], repeat: usize, dir: &Path) -> Vec<Outcome> {
    eprintln!("scenario {}: {}", s.name, s.describe());
    let mut out = Vec::new();
    for &backend in stores {
        let (mut backfills, mut syncs) = (Vec::new(), Vec::new());
        for i in 0..repeat.max(1) {
            let tag = format!("{}_{}_{}_{i}", s.name, s.profile.name(), backend.label())
                .to_lowercase()
                .replace(['-', ' '], "_");
            match run_once(s, backend, dir, &tag).await {
                Some((b, y)) => {
                    backfills.push(b);
                    syncs.push(y);
                }
                None => {
                    eprintln!(
                        "  {}: no database (set TEST_DATABASE_URL); skipped",
                        backend.label()
                    );
                    break;
                }
            }
        }
        if backfills.is_empty() {
            continue;
        }
        let (backfill, backfill_walls) = median_by_wall(backfills);
        let (sync, sync_walls) = median_by_wall(syncs);
        out.push(Outcome {
            scenario: s.clone(),
            backend,
            backfill,
            sync,
            backfill_walls,
            sync_walls,
        });
    }
    out
}

fn spread(walls: &[f64]) -> String {
    if walls.len() < 2 {
        return String::new();
    }
    let min = walls.iter().copied().fold(f64::INFINITY, f64::min);
    let max = walls.iter().copied().fold(0.0, f64::max);
    format!(" ({min:.2}–{max:.2})")
}

fn mb(kb: u64) -> String {
    format!("{:.1}", kb as f64 / 1024.0)
}

/// The per-run table: one row per store and phase.
fn runs_table(outcomes: &[Outcome]) -> String {
    let mut t = String::from(
        "| profile | store | phase | PRs in org | requests | requests / 1k PRs | wall s (median, min–max) | CPU s (user+sys) | PRs/s | rows | rows/s | peak RSS MB | throttle pauses | 429s |\n\
         |---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for o in outcomes {
        let prs = o.scenario.profile.prs();
        for (phase, m, walls) in [
            ("backfill", &o.backfill, &o.backfill_walls),
            ("sync after 1% mutation", &o.sync, &o.sync_walls),
        ] {
            let secs = m.wall.as_secs_f64();
            let rows = m.field("rows");
            let _ = writeln!(
                t,
                "| {} | {} | {phase} | {} | {} | {:.2} | {secs:.2}{} | {:.2} | {} | {} | {} | {} | {} | {} |{}",
                o.scenario.profile.name(),
                o.backend.label(),
                thousands(prs),
                m.requests,
                m.requests as f64 * 1000.0 / prs as f64,
                spread(walls),
                m.cpu_secs,
                thousands((prs as f64 / secs) as u64),
                thousands(rows),
                thousands((rows as f64 / secs) as u64),
                mb(m.peak_rss_kb),
                m.field("throttle pauses"),
                m.throttled_429,
                if m.ok { "" } else { " **FAILED**" }
            );
        }
    }
    t
}

/// Per connector and entity: requests of its endpoint, entities stored, requests per 1,000.
fn entities_table(outcomes: &[Outcome]) -> String {
    let mut t = String::from(
        "| profile | connector | entity (table) | endpoint | backfill requests | entities stored | requests / 1k entities | entities/s (backfill wall) |\n\
         |---|---|---|---|---:|---:|---:|---:|\n",
    );
    // Requests per entity do not depend on the store: the first store of each profile.
    let mut seen = Vec::new();
    for o in outcomes {
        if seen.contains(&o.scenario.profile) {
            continue;
        }
        seen.push(o.scenario.profile);
        let m = &o.backfill;
        let secs = m.wall.as_secs_f64();
        for (table, endpoint) in [
            ("projects", Some("projects")),
            ("repositories", Some("repositories")),
            ("pull_requests", Some("pullrequests_project")),
            ("pull_request_reviewers", None),
            ("users", None),
        ] {
            let n = m.tables.get(table).copied().unwrap_or(0).max(0) as u64;
            let requests = endpoint.map_or(0, |e| m.by_endpoint.get(e).copied().unwrap_or(0));
            let _ = writeln!(
                t,
                "| {} | repos | {table} | {} | {requests} | {} | {:.2} | {} |",
                o.scenario.profile.name(),
                endpoint.map_or("(with pull requests)".to_string(), |e| format!("`{e}`")),
                thousands(n),
                requests as f64 * 1000.0 / n.max(1) as f64,
                thousands((n as f64 / secs) as u64),
            );
        }
    }
    t
}

/// The best possible backfill time under a latency and a usage budget.
///
/// With latency L per request and a budget of R requests/s per token over T tokens, no client
/// can do better than `max(N / (R·T), C × L)`, N the requests the org needs and C the
/// critical path: the projects listing, then the repositories listing, then one project's
/// pages, which depend on each other (each window starts below the previous page). The
/// simulator's bucket also lets B requests per token go before the rate applies, so the
/// strict bound is `max((N − B·T) / (R·T), C × L)`.
struct Bound {
    requests: u64,
    critical_path: u64,
    issue: f64,
    strict: f64,
}

impl Bound {
    fn of(s: &Scenario, requests: u64) -> Option<Bound> {
        let b = s.budget?;
        let per_project = (REPOS_PER_PROJECT * PRS_PER_REPO) as u64;
        let critical_path = 2 + per_project / PR_PAGE + 1;
        let rt = b.rate_per_sec * s.tokens as f64;
        let path = critical_path as f64 * s.latency_ms as f64 / 1000.0;
        Some(Bound {
            requests,
            critical_path,
            issue: (requests as f64 / rt).max(path),
            strict: ((requests as f64 - b.burst * s.tokens as f64).max(0.0) / rt).max(path),
        })
    }
}

fn bound_table(outcomes: &[Outcome]) -> String {
    let mut t = String::from(
        "| profile | store | requests N | critical path C | bound max(N/(R·T), C·L) s | strict bound (burst) s | backfill wall s (median, min–max) | ratio to bound | ratio to strict bound | 429s | delayed by server | throttle pauses | sync wall s | sync 429s |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for o in outcomes {
        let m = &o.backfill;
        let Some(b) = Bound::of(&o.scenario, m.requests) else {
            continue;
        };
        let secs = m.wall.as_secs_f64();
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {:.2} | {:.2} | {secs:.2}{} | **{:.2}×** | {:.2}× | {} | {} | {} | {:.2} | {} |{}",
            o.scenario.profile.name(),
            o.backend.label(),
            b.requests,
            b.critical_path,
            b.issue,
            b.strict,
            spread(&o.backfill_walls),
            secs / b.issue,
            secs / b.strict,
            m.throttled_429,
            m.delayed,
            m.field("throttle pauses"),
            o.sync.wall.as_secs_f64(),
            o.sync.throttled_429,
            if m.ok && o.sync.ok { "" } else { " **FAILED**" }
        );
    }
    t
}

/// Wall time and peak RSS per profile: time should grow with entities, RSS stay flat.
fn scaling_table(outcomes: &[Outcome]) -> String {
    let mut t = String::from(
        "| store | profile | PRs | backfill wall s | s per 100k PRs | × small's time per PR | backfill peak RSS MB | sync peak RSS MB |\n\
         |---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let mut rows: Vec<&Outcome> = outcomes.iter().filter(|o| o.backend == backend).collect();
        rows.sort_by_key(|o| o.scenario.profile);
        let base = rows
            .first()
            .map(|o| o.backfill.wall.as_secs_f64() / o.scenario.profile.prs() as f64);
        for o in rows {
            let prs = o.scenario.profile.prs();
            let secs = o.backfill.wall.as_secs_f64();
            let per = secs / prs as f64;
            let _ = writeln!(
                t,
                "| {} | {} | {} | {secs:.2} | {:.2} | {:.2} | {} | {} |",
                backend.label(),
                o.scenario.profile.name(),
                thousands(prs),
                per * 100_000.0,
                base.map_or(1.0, |b| per / b),
                mb(o.backfill.peak_rss_kb),
                mb(o.sync.peak_rss_kb),
            );
        }
    }
    t
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpu
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("?".to_string(), |(_, m)| m.trim().to_string());
    let cores = cpu.lines().filter(|l| l.starts_with("processor")).count();
    let mem = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let total_kb: u64 = mem
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    format!(
        "{cores} cores ({model}), {:.0} GB RAM, load average {}",
        total_kb as f64 / 1024.0 / 1024.0,
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )
}

fn stores_available(wanted: &[Backend]) -> Vec<Backend> {
    let pg = std::env::var("TEST_DATABASE_URL").is_ok();
    if !pg && wanted.contains(&Backend::Postgres) {
        eprintln!("TEST_DATABASE_URL is not set: PostgreSQL is not measured");
    }
    wanted
        .iter()
        .copied()
        .filter(|b| *b == Backend::Sqlite || pg)
        .collect()
}

fn budget(rate: Option<f64>, burst: Option<f64>) -> Option<BudgetConfig> {
    rate.map(|r| BudgetConfig {
        rate_per_sec: r,
        burst: burst.unwrap_or(r).max(1.0),
        delay_threshold: 0.8,
    })
}

/// `benches/peer/run.sh` (the peer in a virtualenv, side by side with ado-ingest), its
/// table on stdout.
fn run_peer(root: &Path) -> String {
    let script = root.join("benches/peer/run.sh");
    let out = Command::new("bash")
        .arg(&script)
        .env("ADO_INGEST_BIN", env!("CARGO_BIN_EXE_ado-ingest"))
        .stderr(Stdio::inherit())
        .output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
        Ok(o) => format!(
            "(the peer comparison failed: {}; run `bash benches/peer/run.sh` for details)\n{}",
            o.status,
            String::from_utf8_lossy(&o.stdout)
        ),
        Err(e) => format!("(cannot run {}: {e})\n", script.display()),
    }
}

#[tokio::main]
async fn main() {
    ado_ingest::install_crypto_provider();
    let args = Args::parse();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("temp dir");
    let stores = stores_available(&args.stores);
    let started = Instant::now();
    let mut report = String::new();
    let _ = writeln!(report, "Machine: {}\n", machine());

    if !args.all {
        let s = Scenario {
            name: "custom",
            profile: args.profile,
            latency_ms: args.latency_ms,
            jitter_ms: args.jitter_ms,
            budget: budget(args.budget_rate, args.budget_burst),
            tokens: args.tokens.max(1),
            concurrency: args.concurrency,
            client_rps: args.client_rps,
            server: args.server_mode.clone(),
        };
        let outcomes = measure(&s, &stores, args.repeat.unwrap_or(1), dir.path()).await;
        let _ = writeln!(report, "### {}\n\n{}", s.describe(), runs_table(&outcomes));
        let _ = writeln!(report, "{}", entities_table(&outcomes));
        if s.budget.is_some() {
            let _ = writeln!(report, "{}", bound_table(&outcomes));
        }
        println!("{report}");
        return;
    }

    let repeat = args.repeat.unwrap_or(3);
    let mut profiles = vec![Profile::Small, Profile::Medium, Profile::Large];
    if args.no_large {
        profiles.pop();
    }

    // 1. Throughput (and scaling): no latency, no budget.
    let mut throughput = Vec::new();
    for &profile in &profiles {
        let s = Scenario {
            name: "throughput",
            profile,
            latency_ms: 0,
            jitter_ms: 0,
            budget: None,
            tokens: 1,
            concurrency: args.concurrency,
            client_rps: args.client_rps,
            server: None,
        };
        throughput.extend(measure(&s, &stores, repeat, dir.path()).await);
    }
    let _ = writeln!(
        report,
        "### Throughput: backfill and sync, no latency, no budget (median of {repeat})\n\n{}\n{}",
        runs_table(&throughput),
        entities_table(&throughput)
    );
    let _ = writeln!(
        report,
        "### Scaling (from the throughput runs)\n\n{}",
        scaling_table(&throughput)
    );
    println!("{report}");
    report.clear();

    // 2. The rate-limit bound: L = 100 ms, R = 10/s per token, T = 2.
    let mut bound = Vec::new();
    for &profile in profiles.iter().filter(|p| **p != Profile::Small) {
        let s = Scenario {
            name: "bound",
            profile,
            latency_ms: 100,
            jitter_ms: 0,
            budget: budget(Some(10.0), None),
            tokens: 2,
            concurrency: args.concurrency,
            client_rps: args.client_rps,
            server: None,
        };
        bound.extend(measure(&s, &stores, repeat, dir.path()).await);
    }
    let _ = writeln!(
        report,
        "### Rate-limit bound: L = 100 ms, R = 10 requests/s per token (burst 10), T = 2 (median of {repeat})\n\n{}\n{}",
        bound_table(&bound),
        runs_table(&bound)
    );
    println!("{report}");
    report.clear();

    // 3. The store alone.
    let _ = writeln!(
        report,
        "### Store alone: mapped PR rows straight into Store::apply\n\n{}",
        store_alone::run(repeat).await
    );
    println!("{report}");
    report.clear();

    // 4. The peer.
    if !args.no_peer {
        let _ = writeln!(
            report,
            "### Peer: ado-git-repo-insights\n\n{}",
            run_peer(&root)
        );
    }
    let _ = writeln!(
        report,
        "Suite finished in {:.0} s; {}",
        started.elapsed().as_secs_f64(),
        machine()
    );
    println!("{report}");
}
