//! Boards benchmark (harness-less: `cargo bench --bench boards`).
//!
//! A simulated org of 50,000 work items (5 projects × 10,000, ≈ 255,000 revisions) is
//! backfilled by the real `ado-ingest backfill` binary (Boards connector only) into a fresh
//! SQLite file (and Postgres when `TEST_DATABASE_URL` is set), then synced after 1% of the
//! work items changed. Prints a Markdown table: requests, requests per 1,000 work items, the
//! minimum the page caps allow (revisions ÷ reporting page cap + links ÷ cap + the fixed
//! per-project structure calls) and our ratio to it, wall time, rows/s, the child's peak RSS.
//!
//! Knobs: `BENCH_WORK_ITEMS_PER_PROJECT` (default 10,000), `BENCH_PROJECTS` (default 5).

use ado_sim::{Sim, SimConfig};
use sqlx::Connection;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Run {
    wall: Duration,
    requests: u64,
    by_endpoint: serde_json::Value,
    rows: u64,
    peak_rss_kb: u64,
    ok: bool,
}

async fn run_binary(sim: &Sim, config: &std::path::Path, command: &str) -> Run {
    sim.reset_stats();
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ado-ingest"))
        .args([command, "--connector", "boards", "--config"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .env("BENCH_BOARDS_PAT", "demo-pat")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn ado-ingest");
    let pid = child.id();
    let mut peak = 0;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/status"))
            && let Some(kb) = text
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        {
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
        .find_map(|p| p.strip_suffix(" rows").and_then(|n| n.trim().parse().ok()))
        .unwrap_or(0);
    let stats = sim.stats();
    Run {
        wall,
        requests: stats["requests"].as_u64().unwrap_or(0),
        by_endpoint: stats["by_endpoint"].clone(),
        rows,
        peak_rss_kb: peak,
        ok: status.success(),
    }
}

#[tokio::main]
async fn main() {
    let per_project = env_num("BENCH_WORK_ITEMS_PER_PROJECT", 10_000) as usize;
    let projects = env_num("BENCH_PROJECTS", 5) as usize;
    let cap = 200u64;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut targets = vec![(
        "SQLite",
        format!("sqlite://{}", dir.path().join("boards.db").display()),
        None,
    )];
    let admin = std::env::var("TEST_DATABASE_URL").ok();
    if let Some(admin) = &admin {
        let name = format!("ado_ingest_boards_bench_{}", std::process::id());
        if let Ok(mut c) = sqlx::PgConnection::connect(admin).await
            && sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut c)
                .await
                .is_ok()
            && let Ok(mut u) = url::Url::parse(admin)
        {
            u.set_path(&format!("/{name}"));
            targets.push(("PostgreSQL", u.to_string(), Some(name)));
        }
    }
    println!(
        "| store | phase | work items | revisions | requests | requests / 1k items | minimum | ratio | wall s | rows | rows/s | peak RSS MB |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (label, db_url, pg_name) in &targets {
        let running = Sim::new(SimConfig {
            seed: 1,
            projects,
            repos_per_project: 1,
            prs_per_repo: 1,
            work_items_per_project: per_project,
            reporting_page_cap: cap as usize,
            ..SimConfig::default()
        })
        .serve(([127, 0, 0, 1], 0).into())
        .await
        .expect("simulator");
        let sim = running.sim.clone();
        let counts = sim.counts();
        let items = (projects * per_project) as u64;
        let truth = sim.truth_kinds(&["work_item_revisions", "work_item_links"]);
        let revisions = truth["work_item_revisions"].as_array().map_or(0, Vec::len) as u64;
        let links = truth["work_item_links"].as_array().map_or(0, Vec::len) as u64;
        drop(truth);
        let config = dir.path().join(format!("{label}.toml"));
        std::fs::write(
            &config,
            format!(
                "[database]\nurl = \"{db_url}\"\n[organization]\nurl = \"{}\"\n[connectors.boards]\ntokens = [\"env:BENCH_BOARDS_PAT\"]\nrequests_per_second = 1000\nburst = 1000\nconcurrency = 8\n",
                running.base_url()
            ),
        )
        .expect("write config");
        let b = run_binary(&sim, &config, "backfill").await;
        // The minimum: every page full. Fixed calls are everything but the two streams.
        let stream_calls = b.by_endpoint["reporting_workitemrevisions"]
            .as_u64()
            .unwrap_or(0)
            + b.by_endpoint["reporting_workitemlinks"]
                .as_u64()
                .unwrap_or(0);
        let fixed = b.requests - stream_calls;
        let minimum = revisions.div_ceil(cap) + links.div_ceil(cap) + fixed;
        report(label, "backfill", items, revisions, &b, minimum);
        let answer = sim.mutate_split(7, 0, (items / 100) as usize);
        let changed: u64 = answer["changed"]
            .as_object()
            .map(|m| m.values().filter_map(|v| v.as_u64()).sum())
            .unwrap_or(0);
        let s = run_binary(&sim, &config, "sync").await;
        let stream_calls = s.by_endpoint["reporting_workitemrevisions"]
            .as_u64()
            .unwrap_or(0)
            + s.by_endpoint["reporting_workitemlinks"]
                .as_u64()
                .unwrap_or(0);
        let fixed = s.requests - stream_calls;
        // Each project's two streams need at least one call each, plus the changed pages.
        let minimum = fixed + (projects as u64 * 2).max(changed.div_ceil(cap));
        report(label, "sync after 1% changed", items, changed, &s, minimum);
        eprintln!("{label}: simulator counts {counts}");
        running.shutdown().await;
        if let (Some(admin), Some(name)) = (&admin, pg_name)
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

fn report(store: &str, phase: &str, items: u64, revisions: u64, r: &Run, minimum: u64) {
    let secs = r.wall.as_secs_f64();
    println!(
        "| {store} | {phase} | {items} | {revisions} | {} | {:.1} | {minimum} | {:.2}× | {secs:.1} | {} | {:.0} | {:.1} |{}",
        r.requests,
        r.requests as f64 * 1000.0 / items.max(1) as f64,
        r.requests as f64 / minimum.max(1) as f64,
        r.rows,
        r.rows as f64 / secs,
        r.peak_rss_kb as f64 / 1024.0,
        if r.ok { "" } else { " (FAILED)" }
    );
}
