//! Backfill benchmark (harness-less: `cargo bench --bench backfill`).
//!
//! Starts the simulator in this process with a 50,000-PR organization (20 projects × 10
//! repositories × 250 PRs), runs the real `ado-ingest backfill` binary against it as a child
//! process into a fresh SQLite file (and a fresh Postgres database when `TEST_DATABASE_URL` is
//! set), then an incremental `sync` after a 1% mutation, and prints a Markdown table: requests,
//! requests per 1,000 PRs, wall time, PRs/s (org size ÷ wall time), rows written per second and the child's peak RSS.
//!
//! Knobs (environment): `BENCH_PRS_PER_REPO` (default 250), `BENCH_LATENCY_MS` (default 0).
//! Peak RSS is the child's `VmHWM` read from /proc while it runs (the high-water mark only
//! grows, so the last reading before exit is the peak within one sampling period).

use ado_ingest::store::{AnyStore, Store};
use ado_sim::{FaultConfig, Sim, SimConfig};
use sqlx::Connection;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Measured {
    wall: Duration,
    requests: u64,
    peak_rss_kb: u64,
    ok: bool,
    /// Rows the run wrote, from its summary line ("… N rows, …").
    rows: u64,
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

async fn run_binary(sim: &Sim, config: &std::path::Path, command: &str) -> Measured {
    sim.reset_stats();
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ado-ingest"))
        .args([command, "--config"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn ado-ingest");
    let pid = child.id();
    let mut peak = 0;
    let status = loop {
        if let Some(kb) = peak_rss_kb(pid) {
            peak = peak.max(kb);
        }
        match child.try_wait().expect("wait") {
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
    let rows = out
        .split(", ")
        .find_map(|part| {
            part.strip_suffix(" rows")
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0);
    Measured {
        wall,
        rows,
        requests: sim.stats()["requests"].as_u64().unwrap_or(0),
        peak_rss_kb: peak,
        ok: status.success(),
    }
}

async fn fresh_postgres(admin: &str) -> Option<(String, String)> {
    let mut conn = sqlx::PgConnection::connect(admin).await.ok()?;
    let name = format!("ado_ingest_bench_{}", std::process::id());
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .ok()?;
    let mut url = url::Url::parse(admin).ok()?;
    url.set_path(&format!("/{name}"));
    Some((url.to_string(), name))
}

async fn drop_postgres(admin: &str, name: &str) {
    if let Ok(mut conn) = sqlx::PgConnection::connect(admin).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await;
    }
}

#[tokio::main]
async fn main() {
    ado_ingest::install_crypto_provider();
    let prs_per_repo = env_num("BENCH_PRS_PER_REPO", 250) as usize;
    let latency = env_num("BENCH_LATENCY_MS", 0);
    let mut targets: Vec<(&str, String, Option<String>)> = Vec::new();
    let dir = tempfile::tempdir().expect("temp dir");
    targets.push((
        "SQLite",
        format!("sqlite://{}", dir.path().join("bench.db").display()),
        None,
    ));
    let admin = std::env::var("TEST_DATABASE_URL").ok();
    if let Some(admin) = &admin {
        if let Some((url, name)) = fresh_postgres(admin).await {
            targets.push(("PostgreSQL", url, Some(name)));
        } else {
            eprintln!("cannot create a Postgres bench database at TEST_DATABASE_URL; skipping it");
        }
    }

    println!(
        "| store | phase | PRs in org | requests | requests / 1k PRs | wall s | PRs/s | rows | rows/s | peak RSS MB |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (label, db_url, pg_name) in &targets {
        let running = Sim::new(SimConfig {
            seed: 1,
            projects: 20,
            repos_per_project: 10,
            prs_per_repo,
            faults: FaultConfig {
                latency_ms: latency,
                ..FaultConfig::default()
            },
            ..SimConfig::default()
        })
        .serve(([127, 0, 0, 1], 0).into())
        .await
        .expect("simulator");
        let sim = running.sim.clone();
        let config = dir.path().join(format!("{label}.toml"));
        std::fs::write(
            &config,
            format!(
                "[database]\nurl = \"{db_url}\"\n[organization]\nurl = \"{}\"\n[connectors.repos]\ntokens = [\"demo-pat\"]\nrequests_per_second = 1000\nburst = 1000\nconcurrency = 8\n",
                running.base_url()
            ),
        )
        .expect("write config");
        let prs = 20 * 10 * prs_per_repo as u64;
        let store = AnyStore::connect(db_url).await.expect("open store");
        store.migrate().await.expect("migrate");
        let b = run_binary(&sim, &config, "backfill").await;
        report(label, "backfill", prs, &b);
        let changes = (prs / 100) as usize;
        sim.mutate(42, changes);
        let s = run_binary(&sim, &config, "sync").await;
        report(label, "sync after 1% mutation", prs, &s);
        running.shutdown().await;
        if let (Some(admin), Some(name)) = (&admin, pg_name) {
            drop(store);
            drop_postgres(admin, name).await;
        }
    }
}

fn report(store: &str, phase: &str, prs: u64, m: &Measured) {
    let rows = m.rows;
    let secs = m.wall.as_secs_f64();
    println!(
        "| {store} | {phase} | {prs} | {} | {:.2} | {:.2} | {:.0} | {rows} | {:.0} | {:.1} |{}",
        m.requests,
        m.requests as f64 * 1000.0 / prs.max(1) as f64,
        secs,
        prs as f64 / secs,
        rows as f64 / secs,
        m.peak_rss_kb as f64 / 1024.0,
        if m.ok { "" } else { " (FAILED)" }
    );
}
