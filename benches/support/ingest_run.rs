//! The real `ado-ingest` binary as a measured child process against a simulator that runs in
//! the bench's own process, and the stores it writes to (`pr_depth`, `pipelines`).
//!
//! A [`Run`] holds the simulator's request count by endpoint, the child's wall time, CPU
//! time (user + system) and peak RSS (`VmHWM`) from /proc sampled every 20 ms, this
//! process's CPU time over the run (the in-process simulator's: the sampling loop is
//! negligible beside it), the PostgreSQL server's CPU time when the store is Postgres on this
//! host, and the rows the binary says it wrote.

use ado_ingest::store::{AnyStore, Store};
use ado_sim::Sim;
use sqlx::Connection;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The client-side ceiling of every connector section [`connector_section`] writes: high
/// enough that the limiter never binds, so a run measures ado-ingest, not its pacing.
const REQUESTS_PER_SECOND: u32 = 5000;
/// Requests in flight per connector.
const CONCURRENCY: u32 = 8;
/// The environment variable the token of every section is read from.
const PAT_ENV: &str = "BENCH_PAT";

pub fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What every connector section is limited to, for the printed setup.
pub fn limits_shown() -> String {
    let rps = format!(
        "{},{:03}",
        REQUESTS_PER_SECOND / 1000,
        REQUESTS_PER_SECOND % 1000
    );
    format!("each {rps} requests/s (burst {rps}), concurrency {CONCURRENCY}, one token")
}

/// `[connectors.NAME]` with one token, [`REQUESTS_PER_SECOND`] (burst the same) and
/// [`CONCURRENCY`]; `extra` holds further `key = value` lines.
pub fn connector_section(name: &str, extra: &str) -> String {
    format!(
        "\n[connectors.{name}]\ntokens = [\"env:{PAT_ENV}\"]\n\
         requests_per_second = {REQUESTS_PER_SECOND}\nburst = {REQUESTS_PER_SECOND}\n\
         concurrency = {CONCURRENCY}\n{extra}"
    )
}

/// One child run of `ado-ingest`.
#[derive(Default)]
pub struct Run {
    pub wall: Duration,
    pub ok: bool,
    pub peak_rss_kb: u64,
    /// The child's user + system CPU seconds (last sample before it exited).
    pub cpu_secs: f64,
    /// This process's CPU seconds during the run: the in-process simulator's.
    pub sim_cpu_secs: f64,
    /// The PostgreSQL server's CPU seconds during the run (`None` for SQLite, which runs
    /// inside ado-ingest).
    pub db_cpu_secs: Option<f64>,
    pub requests: u64,
    pub by_endpoint: BTreeMap<String, u64>,
    /// Rows the binary says it wrote, summed over its connectors' summary lines.
    pub rows_reported: u64,
    /// The load average when the run started.
    pub load1: String,
}

impl Run {
    /// Requests to the endpoints named (the simulator's labels).
    pub fn sum(&self, endpoints: &[&str]) -> u64 {
        endpoints
            .iter()
            .map(|e| self.by_endpoint.get(*e).copied().unwrap_or(0))
            .sum()
    }
}

/// User + system CPU seconds of a process from its `/proc/…/stat`.
fn cpu_secs(stat_path: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    // Fields after the parenthesized command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')')?.1;
    let ticks: u64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    // USER_HZ is 100 on Linux.
    Some(ticks as f64 / 100.0)
}

/// CPU seconds of every `postgres` process on this host: user + system of the live ones plus
/// the reaped children's of each (the postmaster's `cutime` + `cstime` hold the backends that
/// served a connection and exited). A server on another host, or other clients of this one
/// during the run, make it meaningless; the bench's own statements are few.
fn postgres_server_cpu() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    let mut ticks = 0u64;
    for entry in dir.flatten() {
        let path = entry.path();
        if std::fs::read_to_string(path.join("comm")).map_or(true, |c| c.trim() != "postgres") {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(path.join("stat")) else {
            continue;
        };
        if let Some((_, rest)) = stat.rsplit_once(')') {
            // utime, stime, cutime, cstime.
            ticks += rest
                .split_whitespace()
                .skip(11)
                .take(4)
                .filter_map(|v| v.parse::<u64>().ok())
                .sum::<u64>();
        }
    }
    ticks as f64 / 100.0
}

fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// `repos: sync ok — …, N rows, N requests, …` for every connector: the sum of the rows.
fn reported_rows(out: &str) -> u64 {
    out.lines()
        .filter(|l| l.contains(" ok — "))
        .flat_map(|l| l.split(", "))
        .filter_map(|p| p.trim().strip_suffix(" rows")?.parse::<u64>().ok())
        .sum()
}

/// Runs `ado-ingest COMMAND --config CONFIG` with the simulator's statistics reset first.
pub async fn run_binary(sim: &Sim, config: &Path, command: &str, postgres: bool) -> Run {
    sim.reset_stats();
    let load = load1();
    let sim_cpu0 = cpu_secs("/proc/self/stat").unwrap_or(0.0);
    let db_cpu0 = postgres.then(postgres_server_cpu);
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ado-ingest"))
        .args([command, "--config"])
        .arg(config)
        // sqlx's slow-statement warnings are expected when rows queue for the store.
        .env("RUST_LOG", "warn,sqlx=error")
        .env(PAT_ENV, "demo-pat")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn ado-ingest");
    let pid = child.id();
    let mut peak = 0;
    let mut cpu = 0.0;
    let status = loop {
        if let Some(kb) = peak_rss_kb(pid) {
            peak = peak.max(kb);
        }
        if let Some(c) = cpu_secs(&format!("/proc/{pid}/stat")) {
            cpu = c;
        }
        match child.try_wait().expect("wait for ado-ingest") {
            Some(s) => break s,
            None => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    let wall = start.elapsed();
    let sim_cpu = cpu_secs("/proc/self/stat").unwrap_or(0.0) - sim_cpu0;
    // The backends exit with the child; give the postmaster a moment to reap them.
    if db_cpu0.is_some() {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let db_cpu = db_cpu0.map(|c0| postgres_server_cpu() - c0);
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        use std::io::Read;
        let _ = stdout.read_to_string(&mut out);
    }
    if !status.success() {
        eprintln!("ado-ingest {command} failed ({status}); stdout: {out}");
    }
    let stats = sim.stats();
    Run {
        wall,
        ok: status.success(),
        peak_rss_kb: peak,
        cpu_secs: cpu,
        sim_cpu_secs: sim_cpu,
        db_cpu_secs: db_cpu,
        requests: stats["requests"].as_u64().unwrap_or(0),
        by_endpoint: stats["by_endpoint"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                    .collect()
            })
            .unwrap_or_default(),
        rows_reported: reported_rows(&out),
        load1: load,
    }
}

/// Rows per counted table of the database at `db_url` (empty when it cannot be read).
pub async fn table_counts(db_url: &str) -> BTreeMap<String, i64> {
    match AnyStore::connect(db_url).await {
        Ok(store) => {
            let counts = store.table_counts().await.unwrap_or_default();
            store.close().await;
            counts.into_iter().collect()
        }
        Err(e) => {
            eprintln!("cannot read the table counts: {e}");
            BTreeMap::new()
        }
    }
}

pub fn ratio(n: u64, d: u64) -> String {
    if d == 0 {
        "–".to_string()
    } else {
        format!("{:.2}", n as f64 / d as f64)
    }
}

/// The 1-minute load average: the machine may be busy with other work.
fn load1() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// `TEST_DATABASE_URL=… ` (password hidden) for the printed command line, or nothing.
pub fn db_env_shown() -> String {
    std::env::var("TEST_DATABASE_URL")
        .map(|u| format!("TEST_DATABASE_URL={} ", shown_url(&u)))
        .unwrap_or_default()
}

/// The URL with its password (if any) hidden.
fn shown_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// Wall time, rows, CPU of ado-ingest, the simulator and PostgreSQL, peak RSS and load, one
/// line per `(phase, run)`.
pub fn print_resources(phases: &[(&str, &Run)]) {
    println!(
        "| phase | wall s | rows written | rows/s | ado-ingest CPU s | CPU / wall | simulator CPU s | PostgreSQL server CPU s | peak RSS MB | load1 before |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (name, r) in phases {
        let secs = r.wall.as_secs_f64().max(1e-9);
        println!(
            "| {name} | {secs:.1} | {} | {:.0} | {:.1} | {:.2} | {:.1} | {} | {:.1} | {} |",
            r.rows_reported,
            r.rows_reported as f64 / secs,
            r.cpu_secs,
            r.cpu_secs / secs,
            r.sim_cpu_secs,
            r.db_cpu_secs
                .map_or_else(|| "– (in ado-ingest)".to_string(), |c| format!("{c:.1}")),
            r.peak_rss_kb as f64 / 1024.0,
            r.load1,
        );
    }
}

/// A store to measure: a fresh SQLite file, or a fresh Postgres database.
pub struct Target {
    pub label: &'static str,
    pub url: String,
    /// The Postgres database to drop at the end: (admin URL, name).
    pg: Option<(String, String)>,
}

impl Target {
    pub fn postgres(&self) -> bool {
        self.pg.is_some()
    }

    /// Drops the Postgres database this target created (nothing for SQLite).
    pub async fn drop_database(&self) {
        if let Some((admin, name)) = &self.pg
            && let Ok(mut c) = sqlx::PgConnection::connect(admin).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut c)
            .await;
        }
    }
}

/// SQLite (`DIR/BENCH.db`) always, and a fresh database `ado_ingest_BENCH_bench_PID` on the
/// server of `TEST_DATABASE_URL` when it is set and reachable.
pub async fn targets(dir: &Path, bench: &str) -> Vec<Target> {
    let mut out = vec![Target {
        label: "SQLite",
        url: format!("sqlite://{}", dir.join(format!("{bench}.db")).display()),
        pg: None,
    }];
    if let Ok(admin) = std::env::var("TEST_DATABASE_URL") {
        let name = format!("ado_ingest_{bench}_bench_{}", std::process::id());
        match sqlx::PgConnection::connect(&admin).await {
            Ok(mut c) => {
                let created = sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut c)
                    .await;
                match (created, url::Url::parse(&admin)) {
                    (Ok(_), Ok(mut u)) => {
                        u.set_path(&format!("/{name}"));
                        out.push(Target {
                            label: "PostgreSQL",
                            url: u.to_string(),
                            pg: Some((admin.clone(), name)),
                        });
                    }
                    (Err(e), _) => eprintln!("PostgreSQL skipped: cannot create {name}: {e}"),
                    (_, Err(e)) => eprintln!("PostgreSQL skipped: TEST_DATABASE_URL: {e}"),
                }
            }
            Err(e) => eprintln!("PostgreSQL skipped: cannot connect: {e}"),
        }
    }
    out
}
