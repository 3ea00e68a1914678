//! The Commits connector (default-branch history), alone: a backfill equals the simulator's
//! ground truth field by field; new merges arrive with one request per repository; a
//! force-push (commits rewritten and dropped) and a moved default branch are reconciled —
//! the commits no longer on the branch carry `deleted_at`, none is duplicated — on both
//! backends; and a walk killed mid-way resumes at the offset it committed (asserted from the
//! simulator's request log).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{self, ORG, Setup, TestDb, truth};
use ado_ingest::connectors::Mode;
use ado_ingest::connectors::commits::BranchCursor;
use ado_ingest::store::Store;
use ado_ingest::store::read::StoreRead;
use ado_ingest::store::schema::commits::CommitRow;
use ado_sim::{Change, FaultConfig, SimConfig};
use serde_json::Value;

fn commit_requests(stats: &Value) -> u64 {
    stats["by_endpoint"]["commits"].as_u64().unwrap_or(0)
}

fn repositories(truth: &Value) -> Vec<Value> {
    truth["repositories"].as_array().unwrap().clone()
}

async fn assert_equal(store: &ado_ingest::store::AnyStore, sim: &ado_sim::Sim, context: &str) {
    let truth = sim.truth_kinds(&["repositories", "commits"]);
    let diff = truth::compare_commits(store, ORG, &truth).await;
    diff.assert_empty(context);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_branch_history_follows_merges_force_pushes_and_a_moved_branch() {
    for db in TestDb::all().await {
        let sim = support::start_sim(SimConfig {
            seed: 23,
            projects: 2,
            repos_per_project: 2,
            prs_per_repo: 400,
            ..SimConfig::default()
        })
        .await;
        let url = sim.base_url();
        let mut setup = Setup::new(&url, db.url());
        setup.connectors = vec!["commits"];
        let settings = setup.settings();
        let store = db.store().await;
        let label = db.label();

        support::run_ok(&settings, &store, Mode::Backfill).await;
        assert_equal(&store, &sim.sim, &format!("{label} after backfill")).await;
        let truth0 = sim.sim.truth_kinds(&["repositories", "commits"]);
        let repos = repositories(&truth0);
        let on_branch = truth0["commits"].as_array().unwrap().len();
        assert!(on_branch > 500, "{label}: {on_branch} commits to compare");
        let stored = store.rows::<CommitRow>(ORG).await.unwrap().len();
        assert_eq!(stored, on_branch, "{label}: no commit stored twice");

        // An idle pass: one request per repository, nothing rewritten.
        sim.sim.reset_stats();
        support::run_ok(&settings, &store, Mode::Sync).await;
        assert_eq!(
            commit_requests(&sim.sim.stats()),
            repos.len() as u64,
            "{label}: an unchanged branch costs one request"
        );

        // Merges: a random round completes PRs (new merge commits on top).
        sim.sim.mutate(31, 60);
        sim.sim.reset_stats();
        support::run_ok(&settings, &store, Mode::Sync).await;
        assert_equal(&store, &sim.sim, &format!("{label} after merges")).await;
        // (A random round may also delete a repository.)
        let repos = repositories(&sim.sim.truth_kinds(&["repositories"]));
        assert_eq!(
            commit_requests(&sim.sim.stats()),
            repos.len() as u64,
            "{label}: new merges cost one request per repository"
        );

        // A force-push: the newest commit dropped, the two before it rewritten.
        let first = repos[0]["id"].as_str().unwrap().to_string();
        let pushed = sim
            .sim
            .apply(&Change::ForcePushDefaultBranch {
                repository: first.clone(),
                rewrite: 2,
                drop: 1,
            })
            .expect("force-push");
        let gone: Vec<String> = pushed["rewritten"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["old"].as_str().unwrap().to_string())
            .chain(
                pushed["dropped"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap().to_string()),
            )
            .collect();
        assert_eq!(gone.len(), 3);
        support::run_ok(&settings, &store, Mode::Sync).await;
        assert_equal(&store, &sim.sim, &format!("{label} after a force-push")).await;
        let rows = store.rows_with_deleted::<CommitRow>(ORG).await.unwrap();
        for sha in &gone {
            let (row, deleted) = rows
                .iter()
                .find(|(r, _)| &r.commit_id == sha)
                .unwrap_or_else(|| panic!("{label}: {sha} kept"));
            assert!(deleted.is_some(), "{label}: {sha} off the branch is marked");
            assert!(row.comment.is_some(), "{label}: and keeps its data");
        }

        // The second repository's default branch moves to a release branch PRs merged into.
        let second = repos[1]["id"].as_str().unwrap().to_string();
        let release = sim.sim.truth_kinds(&["pull_requests"])["pull_requests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["repository"]["id"] == second.as_str() && p["status"] == "completed")
            .filter_map(|p| p["targetRefName"].as_str())
            .find(|r| *r != "refs/heads/main")
            .expect("a PR completed into a release branch")
            .to_string();
        sim.sim
            .apply(&Change::SetDefaultBranch {
                repository: second.clone(),
                branch: release.clone(),
            })
            .expect("move the default branch");
        support::run_ok(&settings, &store, Mode::Sync).await;
        assert_equal(
            &store,
            &sim.sim,
            &format!("{label} after the default branch moved"),
        )
        .await;
        let live_second: Vec<_> = store
            .rows_with_deleted::<CommitRow>(ORG)
            .await
            .unwrap()
            .into_iter()
            .filter(|(r, d)| r.repository_id == second && d.is_none())
            .collect();
        assert!(
            !live_second.is_empty() && live_second.iter().all(|(r, _)| r.branch == release),
            "{label}: the live history of the moved repository is {release}'s"
        );
        sim.shutdown().await;
    }
}

/// A Commits backfill of a long history killed (SIGKILL) mid-walk resumes at the `$skip` its
/// last committed page reached, and ends equal to the truth with no commit stored twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_walk_resumes_at_its_committed_offset() {
    let db = TestDb::sqlite();
    let sim = support::start_sim(SimConfig {
        seed: 29,
        projects: 1,
        repos_per_project: 1,
        prs_per_repo: 9000,
        faults: FaultConfig {
            latency_ms: 400,
            ..FaultConfig::default()
        },
        ..SimConfig::default()
    })
    .await;
    let url = sim.base_url();
    let mut setup = Setup::new(&url, db.url());
    setup.connectors = vec!["commits"];
    let dir = tempfile::tempdir().unwrap();
    let config = setup.write(dir.path());
    let store = db.store().await;
    let repo = sim.sim.truth_kinds(&["repositories"])["repositories"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let scope = format!("commits:{repo}");

    let mut child = backfill(&config);
    let deadline = Instant::now() + Duration::from_secs(120);
    let committed = loop {
        let cursor = store.cursor(ORG, "commits", &scope).await.unwrap();
        if let Some(BranchCursor::Walking { skip, .. }) =
            cursor.map(|t| serde_json::from_str::<BranchCursor>(&t).unwrap())
        {
            child.kill().expect("kill");
            child.wait().unwrap();
            break skip;
        }
        assert!(
            Instant::now() < deadline,
            "the walk committed no page in 120 s"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the backfill ended before it was killed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    // The kill may land after a later page was committed too: read what was left.
    let left: BranchCursor =
        serde_json::from_str(&store.cursor(ORG, "commits", &scope).await.unwrap().unwrap())
            .unwrap();
    let BranchCursor::Walking { skip, .. } = left else {
        panic!("the kill landed after the walk ended: {left:?}")
    };
    assert!(skip >= committed && skip >= 1000, "{skip}");

    sim.sim.reset_stats();
    let status = backfill(&config).wait().unwrap();
    assert!(status.success(), "the resumed backfill succeeds");
    let first: BTreeMap<&str, String> = sim
        .sim
        .request_log()
        .iter()
        .filter(|r| r.target.contains("/commits?"))
        .take(1)
        .flat_map(|r| {
            let query = r.target.split_once('?').map(|(_, q)| q).unwrap_or_default();
            url::form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect::<Vec<_>>()
        })
        .filter(|(k, _)| k == "$skip")
        .map(|(_, v)| ("$skip", v))
        .collect();
    assert_eq!(
        first.get("$skip").map(String::as_str),
        Some(skip.to_string().as_str()),
        "the resumed walk starts at the committed offset"
    );
    assert_equal(&store, &sim.sim, "after the resumed walk").await;
    let truth = sim.sim.truth_kinds(&["commits"]);
    assert_eq!(
        store.rows::<CommitRow>(ORG).await.unwrap().len(),
        truth["commits"].as_array().unwrap().len(),
        "no commit stored twice"
    );
    sim.shutdown().await;
}

fn backfill(config: &Path) -> std::process::Child {
    support::binary()
        .args(["backfill", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the binary")
}
