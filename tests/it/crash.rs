//! A backfill stopped half-way — killed (SIGKILL: no cleanup runs) or asked to stop
//! (SIGTERM) — loses nothing and resumes where it stopped: the next run's first pull-request
//! request of a project asks for the creation-time window its committed cursor names
//! (asserted from the simulator's request log), and the final database equals an
//! uninterrupted run's.

use crate::support::{self, ORG, Setup, TestDb, truth};
use ado_ingest::connectors::pr_window::Request;
use ado_ingest::connectors::repos::PrCursor;
use ado_ingest::store::{AnyStore, Store};
use ado_sim::{FaultConfig, RunningSim, SimConfig};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn slow_org(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        projects: 3,
        repos_per_project: 3,
        prs_per_repo: 1500,
        // Slow answers stretch the backfill so a stop lands mid-walk.
        faults: FaultConfig {
            latency_ms: 120,
            latency_jitter_ms: 60,
            ..FaultConfig::default()
        },
        ..SimConfig::default()
    }
}

fn backfill(config: &Path) -> Child {
    support::binary()
        .args(["backfill", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the binary")
}

/// The committed PR cursor of every project.
async fn pr_cursors(store: &AnyStore, projects: &[String]) -> BTreeMap<String, PrCursor> {
    let mut out = BTreeMap::new();
    for p in projects {
        if let Some(text) = store
            .cursor(ORG, "repos", &format!("pull_requests:{p}"))
            .await
            .expect("read cursor")
        {
            out.insert(p.clone(), serde_json::from_str(&text).expect("cursor JSON"));
        }
    }
    out
}

/// Waits until some project's committed backfill boundary passes `beyond`; panics after 60 s.
async fn wait_for_progress(
    store: &AnyStore,
    projects: &[String],
    beyond: &BTreeMap<String, PrCursor>,
) -> BTreeMap<String, PrCursor> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = pr_cursors(store, projects).await;
        let moved = now
            .iter()
            .any(|(p, c)| matches!(c, PrCursor::Backfill { .. }) && beyond.get(p) != Some(c));
        if moved {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "the backfill made no progress in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The window (`searchCriteria.maxTime`, `$skip`) of each project's first PR request in the
/// simulator's log.
fn first_pr_requests(sim: &RunningSim) -> BTreeMap<String, Request> {
    let mut out = BTreeMap::new();
    for r in sim.sim.request_log() {
        let Some((path, query)) = r.target.split_once('?') else {
            continue;
        };
        if !path.ends_with("/_apis/git/pullrequests") {
            continue;
        }
        let project = path.split('/').nth(2).unwrap_or_default().to_string();
        let param = |name: &str| {
            url::form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let request = Request {
            max_time: param("searchCriteria.maxTime")
                .map(|v| v.parse().expect("maxTime is RFC 3339")),
            skip: param("$skip").and_then(|v| v.parse().ok()).unwrap_or(0),
        };
        out.entry(project).or_insert(request);
    }
    out
}

/// Where a resumed run must start: the window of each project left mid-walk.
fn resume_points(cursors: &BTreeMap<String, PrCursor>) -> BTreeMap<String, Request> {
    cursors
        .iter()
        .filter_map(|(p, c)| match c {
            PrCursor::Backfill { boundary, .. } => Some((p.clone(), boundary.request())),
            _ => None,
        })
        .collect()
}

fn project_ids(sim: &RunningSim) -> Vec<String> {
    sim.sim.truth_kinds(&["projects"])["projects"]
        .as_array()
        .expect("projects")
        .iter()
        .filter_map(|p| p["id"].as_str().map(str::to_string))
        .collect()
}

/// Checks the resumed run's first request per interrupted project, then the final database.
async fn resume_and_check(
    sim: &RunningSim,
    config: &Path,
    store: &AnyStore,
    before: BTreeMap<String, PrCursor>,
) {
    let expected = resume_points(&before);
    assert!(
        !expected.is_empty(),
        "a project was left mid-walk: {before:?}"
    );
    assert!(expected.values().all(|r| r.max_time.is_some()));
    sim.sim.reset_stats();
    let out = support::binary()
        .args(["backfill", "--config"])
        .arg(config)
        .output()
        .expect("run the binary");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = first_pr_requests(sim);
    for (project, window) in &expected {
        assert_eq!(
            first.get(project),
            Some(window),
            "the resumed run's first PR request of {project} asks for the committed window \
             (not from the newest PR); first requests: {first:?}"
        );
    }
    truth::compare(store, ORG, &sim.sim.truth())
        .await
        .assert_empty("after the interrupted backfill was resumed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_killed_repeatedly_then_resumed_equals_the_truth() {
    let db = TestDb::sqlite();
    let sim = support::start_sim(slow_org(21)).await;
    let url = sim.base_url();
    let mut setup = Setup::new(&url, db.url());
    setup.concurrency = 1;
    let dir = tempfile::tempdir().unwrap();
    let config = setup.write(dir.path());
    let store = db.store().await;
    let projects = project_ids(&sim);
    let mut seen = BTreeMap::new();
    for _ in 0..3 {
        let mut child = backfill(&config);
        // Kill right after a page was committed: the cursor row moved.
        wait_for_progress(&store, &projects, &seen).await;
        child.kill().unwrap(); // SIGKILL
        let _ = child.wait();
        seen = pr_cursors(&store, &projects).await;
    }
    resume_and_check(&sim, &config, &store, seen).await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_backfill_exits_promptly_as_cancelled_and_resumes() {
    for db in TestDb::all().await {
        let sim = support::start_sim(slow_org(22)).await;
        let url = sim.base_url();
        let mut setup = Setup::new(&url, db.url());
        setup.concurrency = 2;
        let dir = tempfile::tempdir().unwrap();
        let config = setup.write(dir.path());
        let store = db.store().await;
        let projects = project_ids(&sim);
        let mut child = backfill(&config);
        wait_for_progress(&store, &projects, &BTreeMap::new()).await;
        let signalled = Instant::now();
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(killed.success());
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(
                signalled.elapsed() < Duration::from_secs(10),
                "{}: still running 10 s after SIGTERM",
                db.label()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let took = signalled.elapsed();
        eprintln!("{}: exited {took:?} after SIGTERM ({status})", db.label());
        assert!(!status.success(), "a cancelled backfill is not a success");
        let run = store
            .last_run(ORG, "repos", "backfill")
            .await
            .unwrap()
            .expect("the run is recorded");
        assert_eq!(run.outcome, "cancelled", "{run:?}");
        let before = pr_cursors(&store, &projects).await;
        resume_and_check(&sim, &config, &store, before).await;
        sim.shutdown().await;
    }
}
