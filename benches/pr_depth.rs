//! Pull request depth benchmark (harness-less: `cargo bench --bench pr_depth`).
//!
//! A simulated org (default 4 projects × 5 repositories × 500 PRs = 10,000 pull requests) is
//! copied by the real `ado-ingest` binary with the Repos connector (pull request depth on, the
//! product's default), Pull Commits and Commits enabled, into a fresh SQLite file (and a fresh
//! Postgres database when `TEST_DATABASE_URL` is set). Per store it measures four runs:
//! 1. `backfill`;
//! 2. `sync` after `mutate` touched ~2% of the PRs (children per touched PR, PR-commit
//!    requests against the PRs whose source commit moved, branch-commit requests per
//!    repository);
//! 3. `sync` with nothing changed (idle);
//! 4. the naive baseline, measured in the same run: the bookkeeping that lets a sync skip
//!    unchanged PRs (`pull_request_child_syncs`, `pull_request_commit_syncs`) and the Commits
//!    cursors (so every branch is walked in full) are deleted, and the same `sync` runs again:
//!    what a peer that re-fetches every PR's inside and commits on every run would send.
//!
//! Requests come from the simulator's own count by endpoint; CPU time (user + system) and peak
//! RSS (`VmHWM`) of the child from /proc, sampled every 20 ms; the simulator runs in this
//! process, so this process's CPU time over a run is the simulator's (the sampling loop is
//! negligible beside it).
//!
//! Knobs: `BENCH_PROJECTS` (default 4), `BENCH_REPOS_PER_PROJECT` (5), `BENCH_PRS_PER_REPO`
//! (500), `BENCH_LATENCY_MS` (0: the simulator's latency added to every request).

use ado_ingest::store::{AnyStore, Store};
use ado_sim::{FaultConfig, Sim, SimConfig};
use serde_json::Value;
use sqlx::Connection;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The endpoints of a PR's inside the Repos connector calls, as the simulator labels them.
const CHILD_ENDPOINTS: [&str; 6] = [
    "pullrequest_iterations",
    "pullrequest_iteration_changes",
    "pullrequest_threads",
    "pullrequest_workitems",
    "pullrequest_statuses",
    "policy_evaluations",
];
/// The PR listings (per project; per repository where a client asks that way).
const LIST_ENDPOINTS: [&str; 2] = ["pullrequests_project", "pullrequests_repo"];
const PR_COMMITS: [&str; 1] = ["pullrequest_commits"];
const BRANCH_COMMITS: [&str; 1] = ["commits"];
/// The tables the inside of a pull request is written to.
const CHILD_TABLES: [&str; 7] = [
    "pull_request_iterations",
    "pull_request_changes",
    "pull_request_threads",
    "pull_request_comments",
    "pull_request_work_items",
    "pull_request_statuses",
    "pull_request_policy_evaluations",
];

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One child run of `ado-ingest`.
#[derive(Default)]
struct Run {
    wall: Duration,
    ok: bool,
    peak_rss_kb: u64,
    /// The child's user + system CPU seconds (last sample before it exited).
    cpu_secs: f64,
    /// This process's CPU seconds during the run: the in-process simulator's.
    sim_cpu_secs: f64,
    /// The PostgreSQL server's CPU seconds during the run (`None` for SQLite, which runs
    /// inside ado-ingest).
    db_cpu_secs: Option<f64>,
    requests: u64,
    by_endpoint: BTreeMap<String, u64>,
    /// Rows the binary says it wrote, summed over its connectors' summary lines.
    rows_reported: u64,
    /// The load average when the run started.
    load1: String,
}

impl Run {
    fn sum(&self, endpoints: &[&str]) -> u64 {
        endpoints
            .iter()
            .map(|e| self.by_endpoint.get(*e).copied().unwrap_or(0))
            .sum()
    }
    fn children(&self) -> u64 {
        self.sum(&CHILD_ENDPOINTS)
    }
    fn pr_commits(&self) -> u64 {
        self.sum(&PR_COMMITS)
    }
    fn branch_commits(&self) -> u64 {
        self.sum(&BRANCH_COMMITS)
    }
    fn listing(&self) -> u64 {
        self.sum(&LIST_ENDPOINTS)
    }
    /// Requests for what is inside or behind a PR and the branches: what PR depth,
    /// Pull Commits and Commits decide to skip or send.
    fn depth(&self) -> u64 {
        self.children() + self.pr_commits() + self.branch_commits()
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

async fn run_binary(sim: &Sim, config: &Path, command: &str, postgres: bool) -> Run {
    sim.reset_stats();
    let load = load1();
    let sim_cpu0 = cpu_secs("/proc/self/stat").unwrap_or(0.0);
    let db_cpu0 = postgres.then(postgres_server_cpu);
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ado-ingest"))
        .args([command, "--config"])
        .arg(config)
        // sqlx's slow-statement warnings are expected when PRs queue for the store.
        .env("RUST_LOG", "warn,sqlx=error")
        .env("BENCH_PR_DEPTH_PAT", "demo-pat")
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

async fn table_counts(db_url: &str) -> BTreeMap<String, i64> {
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

/// Forgets what lets a sync skip unchanged PRs and branches, so the next sync re-fetches
/// every PR's inside and commits and walks every branch in full.
async fn forget_progress(db_url: &str) -> Result<(), sqlx::Error> {
    const FORGET: [&str; 3] = [
        "DELETE FROM pull_request_child_syncs",
        "DELETE FROM pull_request_commit_syncs",
        "DELETE FROM sync_cursors WHERE connector = 'commits'",
    ];
    if db_url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(db_url).await?;
        for q in FORGET {
            sqlx::query(q).execute(&mut c).await?;
        }
        c.close().await
    } else {
        let mut c = sqlx::PgConnection::connect(db_url).await?;
        for q in FORGET {
            sqlx::query(q).execute(&mut c).await?;
        }
        c.close().await
    }
}

/// Each PR's source commit (`lastMergeSourceCommit.commitId`).
fn source_commits(truth: &Value) -> BTreeMap<u64, String> {
    truth["pull_requests"]
        .as_array()
        .map(|prs| {
            prs.iter()
                .filter_map(|p| {
                    let id = p["pullRequestId"].as_u64()?;
                    let commit = p["lastMergeSourceCommit"]["commitId"]
                        .as_str()
                        .unwrap_or_default();
                    Some((id, commit.to_string()))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn ratio(n: u64, d: u64) -> String {
    if d == 0 {
        "–".to_string()
    } else {
        format!("{:.2}", n as f64 / d as f64)
    }
}

/// `n / d` as a factor with two significant digits (`0.013×`, `0.00024×`).
fn times(n: u64, d: u64) -> String {
    if d == 0 {
        return "–".to_string();
    }
    let r = n as f64 / d as f64;
    let decimals = if r > 0.0 && r < 1.0 {
        (1 - r.log10().floor() as i64).max(2) as usize
    } else {
        2
    };
    format!("{r:.decimals$}×")
}

/// The 1-minute load average: the machine may be busy with other work.
fn load1() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// The URL with its password (if any) hidden, for the printed command line.
fn shown_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// What one phase is measured against.
struct Phase<'a> {
    name: String,
    run: &'a Run,
    /// PRs whose inside is due (every PR for backfill and naive, the touched ones after a
    /// mutation, none when idle).
    due_prs: u64,
    /// PRs whose commits are due (source commit new or moved).
    moved_prs: u64,
    repositories: u64,
}

fn print_requests(phases: &[Phase]) {
    println!(
        "| phase | wall s | requests | req/s | PR list | PR children | PRs due | children / due PR | PR commits | sources moved | PR commits / moved | branch commits | repos | branch / repo | other |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for p in phases {
        let r = p.run;
        let other = r.requests - r.listing() - r.depth();
        println!(
            "| {}{} | {:.1} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            p.name,
            if r.ok { "" } else { " (FAILED)" },
            r.wall.as_secs_f64(),
            r.requests,
            r.requests as f64 / r.wall.as_secs_f64().max(1e-9),
            r.listing(),
            r.children(),
            p.due_prs,
            ratio(r.children(), p.due_prs),
            r.pr_commits(),
            p.moved_prs,
            ratio(r.pr_commits(), p.moved_prs),
            r.branch_commits(),
            p.repositories,
            ratio(r.branch_commits(), p.repositories),
            other,
        );
    }
}

fn print_resources(phases: &[Phase]) {
    println!(
        "| phase | wall s | rows written | rows/s | ado-ingest CPU s | CPU / wall | simulator CPU s | PostgreSQL server CPU s | peak RSS MB | load1 before |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for p in phases {
        let r = p.run;
        let secs = r.wall.as_secs_f64().max(1e-9);
        println!(
            "| {} | {secs:.1} | {} | {:.0} | {:.1} | {:.2} | {:.1} | {} | {:.1} | {} |",
            p.name,
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

fn print_tables(counts: &BTreeMap<String, i64>, wall: Duration) {
    let get = |t: &str| counts.get(t).copied().unwrap_or(0);
    let total: i64 = counts.values().sum();
    let children: i64 = CHILD_TABLES.iter().map(|t| get(t)).sum();
    println!("| table after backfill | rows |");
    println!("|---|---:|");
    for t in ["pull_requests", "pull_request_reviewers"]
        .iter()
        .chain(CHILD_TABLES.iter())
        .chain(["pull_request_commits", "commits"].iter())
    {
        println!("| {t} | {} |", get(t));
    }
    println!("| PR children (the 7 tables from iterations to policy evaluations) | {children} |");
    println!(
        "| every counted table, bookkeeping included ({} rows/s of backfill wall time) | {total} |",
        (total as f64 / wall.as_secs_f64().max(1e-9)).round()
    );
}

struct Target {
    label: &'static str,
    url: String,
    /// The Postgres database to drop at the end: (admin URL, name).
    pg: Option<(String, String)>,
}

async fn targets(dir: &Path) -> Vec<Target> {
    let mut out = vec![Target {
        label: "SQLite",
        url: format!("sqlite://{}", dir.join("pr_depth.db").display()),
        pg: None,
    }];
    if let Ok(admin) = std::env::var("TEST_DATABASE_URL") {
        let name = format!("ado_ingest_pr_depth_bench_{}", std::process::id());
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

#[tokio::main]
async fn main() {
    let projects = env_num("BENCH_PROJECTS", 4) as usize;
    let repos_per_project = env_num("BENCH_REPOS_PER_PROJECT", 5) as usize;
    let prs_per_repo = env_num("BENCH_PRS_PER_REPO", 500) as usize;
    let latency_ms = env_num("BENCH_LATENCY_MS", 0);
    let db_env = std::env::var("TEST_DATABASE_URL")
        .map(|u| format!("TEST_DATABASE_URL={} ", shown_url(&u)))
        .unwrap_or_default();
    println!(
        "`{db_env}BENCH_PROJECTS={projects} BENCH_REPOS_PER_PROJECT={repos_per_project} \
         BENCH_PRS_PER_REPO={prs_per_repo} BENCH_LATENCY_MS={latency_ms} cargo bench --bench pr_depth`\n"
    );
    println!(
        "Connectors repos (pull_request_depth on), pull_commits and commits; each 5,000 requests/s \
         (burst 5,000), concurrency 8, one token; simulator latency {latency_ms} ms; machine: {} CPUs.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let dir = tempfile::tempdir().expect("temp dir");
    for target in targets(dir.path()).await {
        run_target(
            &target,
            dir.path(),
            projects,
            repos_per_project,
            prs_per_repo,
            latency_ms,
        )
        .await;
        if let Some((admin, name)) = &target.pg
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

async fn run_target(
    target: &Target,
    dir: &Path,
    projects: usize,
    repos_per_project: usize,
    prs_per_repo: usize,
    latency_ms: u64,
) {
    let running = Sim::new(SimConfig {
        seed: 1,
        projects,
        repos_per_project,
        prs_per_repo,
        work_items_per_project: 0,
        faults: FaultConfig {
            latency_ms,
            ..FaultConfig::default()
        },
        ..SimConfig::default()
    })
    .serve(([127, 0, 0, 1], 0).into())
    .await
    .expect("simulator");
    let sim = running.sim.clone();
    let counts = sim.counts();
    let repositories = counts["repositories"].as_u64().unwrap_or(0);
    let truth0 = sim.truth_kinds(&["pull_requests", "commits"]);
    let before = source_commits(&truth0);
    let prs = before.len() as u64;
    let branch_commits = truth0["commits"].as_array().map_or(0, Vec::len);
    drop(truth0);
    println!("### {}\n", target.label);
    println!(
        "Simulator: seed 1, {projects} projects × {repos_per_project} repositories × {prs_per_repo} PRs \
         = {prs} pull requests in {repositories} repositories, {branch_commits} default-branch commits.\n"
    );

    let config = dir.join(format!("{}.toml", target.label));
    let section = |name: &str| {
        format!(
            "\n[connectors.{name}]\ntokens = [\"env:BENCH_PR_DEPTH_PAT\"]\n\
             requests_per_second = 5000\nburst = 5000\nconcurrency = 8\n"
        )
    };
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"{}\"\n\n[organization]\nurl = \"{}\"\n{}{}{}",
            target.url,
            running.base_url(),
            section("repos"),
            section("pull_commits"),
            section("commits"),
        ),
    )
    .expect("write config");

    let postgres = target.pg.is_some();
    let backfill = run_binary(&sim, &config, "backfill", postgres).await;
    let tables = table_counts(&target.url).await;

    // About 2% of the PRs change.
    let answer = sim.mutate(42, (prs / 50).max(1) as usize);
    let touched: BTreeSet<u64> = answer["touched_pull_requests"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    let after = source_commits(&sim.truth_kinds(&["pull_requests"]));
    let moved = after
        .iter()
        .filter(|(id, c)| before.get(id) != Some(c))
        .count() as u64;
    let prs_after = after.len() as u64;
    let repositories_after = sim.counts()["repositories"].as_u64().unwrap_or(0);
    eprintln!("{}: mutation: {}", target.label, answer["changed"]);

    let incremental = run_binary(&sim, &config, "sync", postgres).await;
    let idle = run_binary(&sim, &config, "sync", postgres).await;
    let naive = match forget_progress(&target.url).await {
        Ok(()) => Some(run_binary(&sim, &config, "sync", postgres).await),
        Err(e) => {
            eprintln!("{}: naive baseline skipped: {e}", target.label);
            None
        }
    };

    let mut phases = vec![
        Phase {
            name: "backfill".into(),
            run: &backfill,
            due_prs: prs,
            moved_prs: prs,
            repositories,
        },
        Phase {
            name: format!("incremental ({} touched)", touched.len()),
            run: &incremental,
            due_prs: touched.len() as u64,
            moved_prs: moved,
            repositories: repositories_after,
        },
        Phase {
            name: "idle sync".into(),
            run: &idle,
            due_prs: 0,
            moved_prs: 0,
            repositories: repositories_after,
        },
    ];
    if let Some(naive) = &naive {
        phases.push(Phase {
            name: "naive re-fetch".into(),
            run: naive,
            due_prs: prs_after,
            moved_prs: prs_after,
            repositories: repositories_after,
        });
    }
    println!("Requests (the simulator's count):\n");
    print_requests(&phases);
    println!("\nRows and resources (rows: the binary's summary lines):\n");
    print_resources(&phases);
    println!();
    print_tables(&tables, backfill.wall);
    if let Some(naive) = &naive {
        println!();
        println!(
            "- incremental: {} the naive re-fetch in PR-children + PR-commit + branch-commit requests \
             ({} vs {}), {} in all requests ({} vs {}); wall {:.1} s vs {:.1} s",
            times(incremental.depth(), naive.depth()),
            incremental.depth(),
            naive.depth(),
            times(incremental.requests, naive.requests),
            incremental.requests,
            naive.requests,
            incremental.wall.as_secs_f64(),
            naive.wall.as_secs_f64(),
        );
        println!(
            "- idle sync: {} the naive re-fetch in those requests ({} vs {}), {} in all ({} vs {}); wall {:.1} s",
            times(idle.depth(), naive.depth()),
            idle.depth(),
            naive.depth(),
            times(idle.requests, naive.requests),
            idle.requests,
            naive.requests,
            idle.wall.as_secs_f64(),
        );
    }
    println!();
    running.shutdown().await;
    let _ = std::fs::remove_file(&config);
}
