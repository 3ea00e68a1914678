//! A backfill while ADO changes under it (issue 9, items 2 and 3): a repository holding PRs
//! the walk has already passed is deleted, new PRs are created, and work items are edited,
//! deleted and restored, in the middle of the walk and between a kill and the resume. A PR
//! walk resumed by offset jumps over as many PRs as vanished before the offset; the final
//! database must still equal the ground truth, Repos and Boards alike.

use crate::support::{self, ORG, Setup, TestDb, truth};
use ado_ingest::connectors::Mode;
use ado_ingest::store::{AnyStore, Store};
use ado_sim::{Change, FaultConfig, RunningSim, SimConfig};
use serde_json::Value;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Two projects of three repositories, 4,500 PRs each: five pages of 1,000 per project.
fn org(seed: u64, latency_ms: u64) -> SimConfig {
    SimConfig {
        seed,
        projects: 2,
        repos_per_project: 3,
        prs_per_repo: 1500,
        work_items_per_project: 300,
        faults: FaultConfig {
            latency_ms,
            ..FaultConfig::default()
        },
        ..SimConfig::default()
    }
}

/// A project's repositories, the one holding its newest PR first: deleting that one removes
/// PRs from the front of the newest-first listing, before any offset the walk has reached.
fn repositories_newest_first(sim: &RunningSim, project: &str) -> Vec<String> {
    let t = sim.sim.truth_kinds(&["repositories", "pull_requests"]);
    let newest = t["pull_requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["repository"]["project"]["id"] == project)
        .max_by_key(|p| p["pullRequestId"].as_i64())
        .map(|p| p["repository"]["id"].as_str().unwrap().to_string())
        .expect("the project has PRs");
    let mut repos: Vec<String> = t["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["project"]["id"] == project)
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    repos.sort_by_key(|r| *r != newest);
    assert!(repos.len() >= 2);
    repos
}

fn project_ids(sim: &RunningSim) -> Vec<String> {
    sim.sim.truth_kinds(&["projects"])["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect()
}

/// Deletes the repository with the project's newest PRs, creates PRs in another one, and
/// changes work items (deletions and restores among them).
fn shift(repos: &[String], created: usize, seed: u64) -> Vec<Change> {
    vec![
        Change::DeleteRepository {
            repository: repos[0].clone(),
        },
        Change::CreatePullRequests {
            repository: repos[1].clone(),
            count: created,
        },
        Change::MutateWorkItems { seed, changes: 80 },
    ]
}

/// Repos and Boards both.
fn setup<'a>(url: &'a str, db: &'a str) -> Setup<'a> {
    let mut s = Setup::new(url, db);
    s.connectors = vec!["repos", "boards"];
    s
}

fn live_repositories(sim: &RunningSim) -> usize {
    sim.sim.counts()["repositories"].as_u64().unwrap() as usize
}

async fn sync_and_compare(sim: &RunningSim, setup: &Setup<'_>, store: &AnyStore, label: &str) {
    // New PRs are newer than every backfill window; the incremental pass after the walk
    // finds them (they are active), and marks the deleted repository.
    support::run_ok(&setup.settings(), store, Mode::Sync).await;
    let t = sim.sim.truth();
    truth::compare(store, ORG, &t).await.assert_empty(label);
    truth::compare_boards(store, ORG, &t)
        .await
        .assert_empty(&format!("{label} (boards)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repositories_deleted_and_prs_created_mid_backfill_hide_no_pr() {
    for db in TestDb::all().await {
        let sim = support::start_sim(org(31, 0)).await;
        let projects = project_ids(&sim);
        // Project 0 shifts after its first page, project 1 after its third.
        for ((project, nth), seed) in projects.iter().zip([2, 4]).zip([41, 42]) {
            let repos = repositories_newest_first(&sim, project);
            sim.sim
                .apply_before_pr_listing(project, nth, shift(&repos, 7, seed))
                .unwrap();
        }
        let before = live_repositories(&sim);
        let url = sim.base_url();
        let setup = setup(&url, db.url());
        let store = db.store().await;
        support::run_ok(&setup.settings(), &store, Mode::Backfill).await;
        assert_eq!(
            live_repositories(&sim),
            before - 2,
            "both scripted deletions happened during the walk"
        );
        sync_and_compare(
            &sim,
            &setup,
            &store,
            &format!(
                "{}: backfill with mid-walk deletions, then sync",
                db.label()
            ),
        )
        .await;
        sim.shutdown().await;
    }
}

/// Each project's committed PR cursor, as JSON.
async fn cursors(store: &AnyStore, projects: &[String]) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for p in projects {
        if let Some(text) = store
            .cursor(ORG, "repos", &format!("pull_requests:{p}"))
            .await
            .unwrap()
        {
            out.push((p.clone(), serde_json::from_str(&text).unwrap()));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repository_deleted_between_a_kill_and_the_resume_hides_no_pr() {
    for db in TestDb::all().await {
        // Slow answers stretch the walk so the kill lands in the middle of it.
        let sim = support::start_sim(org(32, 150)).await;
        let projects = project_ids(&sim);
        let url = sim.base_url();
        let mut setup = setup(&url, db.url());
        setup.concurrency = 1;
        let dir = tempfile::tempdir().unwrap();
        let config = setup.write(dir.path());
        let store = db.store().await;
        let mut child = support::binary()
            .args(["backfill", "--config"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill right after some project committed a page mid-walk.
        let deadline = Instant::now() + Duration::from_secs(60);
        let walking = loop {
            let mid: Vec<String> = cursors(&store, &projects)
                .await
                .into_iter()
                .filter(|(_, c)| c["state"] != "done")
                .map(|(p, _)| p)
                .collect();
            if !mid.is_empty() {
                break mid;
            }
            assert!(Instant::now() < deadline, "no page committed in 60 s");
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        child.kill().unwrap(); // SIGKILL
        let _ = child.wait();
        for (project, seed) in walking.iter().zip(50..) {
            for change in shift(&repositories_newest_first(&sim, project), 5, seed) {
                let done = sim.sim.apply(&change).unwrap();
                if matches!(change, Change::MutateWorkItems { .. }) {
                    assert!(
                        done["work_items_deleted"].as_u64() > Some(0)
                            && done["work_items_restored"].as_u64() > Some(0),
                        "the work item changes delete and restore: {done}"
                    );
                }
            }
        }
        let out = support::binary()
            .args(["backfill", "--config"])
            .arg(&config)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        sync_and_compare(
            &sim,
            &setup,
            &store,
            &format!(
                "{}: killed backfill, repositories of {walking:?} deleted, resumed, synced",
                db.label()
            ),
        )
        .await;
        sim.shutdown().await;
    }
}
