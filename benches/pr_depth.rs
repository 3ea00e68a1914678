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

#[path = "support/ingest_run.rs"]
mod ingest_run;

use ado_sim::{FaultConfig, Sim, SimConfig};
use ingest_run::{
    Run, Target, connector_section, db_env_shown, env_num, limits_shown, print_resources, ratio,
    run_binary, table_counts, targets,
};
use serde_json::Value;
use sqlx::Connection;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

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

/// What a [`Run`]'s requests were for, by the PR-side endpoint groups.
trait PrRequests {
    fn children(&self) -> u64;
    fn pr_commits(&self) -> u64;
    fn branch_commits(&self) -> u64;
    fn listing(&self) -> u64;
    /// Requests for what is inside or behind a PR and the branches: what PR depth,
    /// Pull Commits and Commits decide to skip or send.
    fn depth(&self) -> u64 {
        self.children() + self.pr_commits() + self.branch_commits()
    }
}

impl PrRequests for Run {
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

#[tokio::main]
async fn main() {
    let projects = env_num("BENCH_PROJECTS", 4) as usize;
    let repos_per_project = env_num("BENCH_REPOS_PER_PROJECT", 5) as usize;
    let prs_per_repo = env_num("BENCH_PRS_PER_REPO", 500) as usize;
    let latency_ms = env_num("BENCH_LATENCY_MS", 0);
    let db_env = db_env_shown();
    println!(
        "`{db_env}BENCH_PROJECTS={projects} BENCH_REPOS_PER_PROJECT={repos_per_project} \
         BENCH_PRS_PER_REPO={prs_per_repo} BENCH_LATENCY_MS={latency_ms} cargo bench --bench pr_depth`\n"
    );
    println!(
        "Connectors repos (pull_request_depth on), pull_commits and commits; {}; simulator \
         latency {latency_ms} ms; machine: {} CPUs.\n",
        limits_shown(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let dir = tempfile::tempdir().expect("temp dir");
    for target in targets(dir.path(), "pr_depth").await {
        run_target(
            &target,
            dir.path(),
            projects,
            repos_per_project,
            prs_per_repo,
            latency_ms,
        )
        .await;
        target.drop_database().await;
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
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"{}\"\n\n[organization]\nurl = \"{}\"\n{}{}{}",
            target.url,
            running.base_url(),
            connector_section("repos", ""),
            connector_section("pull_commits", ""),
            connector_section("commits", ""),
        ),
    )
    .expect("write config");

    let postgres = target.postgres();
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
    let resources: Vec<(&str, &Run)> = phases.iter().map(|p| (p.name.as_str(), p.run)).collect();
    print_resources(&resources);
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
