//! The inside of pull requests (issue 11): after a backfill the iterations, changes, threads,
//! comments, work items, statuses, policy evaluations and commits equal the simulator's
//! ground truth field by field; after mutations a sync restores equality while fetching the
//! inside only of the PRs that changed — asserted from the simulator's request counts and
//! request log — and Pull Commits works alone from the PRs the Repos connector stored.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::{self, ORG, Setup, TestDb, truth};
use ado_ingest::connectors::Mode;
use ado_ingest::store::read::StoreRead;
use ado_ingest::store::schema::pr::{PullRequestChangeRow, PullRequestCommentRow};
use ado_sim::{Change, SimConfig};
use serde_json::Value;

/// The endpoints of a PR's inside the Repos connector calls, as the simulator labels them.
const CHILD_ENDPOINTS: [&str; 6] = [
    "pullrequest_iterations",
    "pullrequest_iteration_changes",
    "pullrequest_threads",
    "pullrequest_workitems",
    "pullrequest_statuses",
    "policy_evaluations",
];

fn requests(stats: &Value, endpoints: &[&str]) -> u64 {
    endpoints
        .iter()
        .map(|e| stats["by_endpoint"][*e].as_u64().unwrap_or(0))
        .sum()
}

/// The PR a child request is about: `…/pullRequests/{id}/…`, or the artifact id of a policy
/// evaluation (`…CodeReviewId%2F{project}%2F{id}`).
fn pr_of_request(target: &str) -> Option<u32> {
    if let Some((_, rest)) = target.split_once("/pullRequests/") {
        return rest.split(['/', '?']).next()?.parse().ok();
    }
    if target.contains("/policy/evaluations") {
        let artifact = target.split("artifactId=").nth(1)?.split('&').next()?;
        return artifact.rsplit("%2F").next()?.parse().ok();
    }
    None
}

async fn assert_equal(store: &ado_ingest::store::AnyStore, truth: &Value, context: &str) {
    truth::compare(store, ORG, truth)
        .await
        .assert_empty(&format!("{context}: repos"));
    truth::compare_pr_depth(store, ORG, truth)
        .await
        .assert_empty(&format!("{context}: inside of pull requests"));
    truth::compare_pull_commits(store, ORG, truth)
        .await
        .assert_empty(&format!("{context}: pull request commits"));
}

fn source_commits(truth: &Value) -> BTreeMap<u64, String> {
    truth["pull_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let id = p["pullRequestId"].as_u64().unwrap();
            let commit = p["lastMergeSourceCommit"]["commitId"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            (id, commit)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_and_sync_of_pull_request_depth_equal_the_ground_truth() {
    for db in TestDb::all().await {
        let sim = support::start_sim(SimConfig {
            seed: 11,
            projects: 2,
            repos_per_project: 3,
            // 5,100 PRs.
            prs_per_repo: 850,
            work_items_per_project: 40,
            big_pr_files: 5000,
            big_thread_comments: 300,
            ..SimConfig::default()
        })
        .await;
        let url = sim.base_url();
        let mut setup = Setup::new(&url, db.url());
        setup.connectors = vec!["repos", "pull_commits"];
        setup.pr_depth = true;
        let settings = setup.settings();
        let store = db.store().await;
        let label = db.label();

        let truth0 = sim.sim.truth();
        let prs = truth0["pull_requests"].as_array().unwrap().len() as u64;
        assert!(prs >= 5000, "{prs} PRs");
        support::run_ok(&settings, &store, Mode::Backfill).await;
        let stats = sim.sim.stats();
        assert_equal(&store, &truth0, &format!("{label} after backfill")).await;

        // The PR with 5,000 changed files and the thread with 300 comments are whole.
        let changes = store
            .rows::<PullRequestChangeRow>(ORG)
            .await
            .expect("changes");
        let mut per_iteration: BTreeMap<(i64, i64), usize> = BTreeMap::new();
        for c in &changes {
            *per_iteration
                .entry((c.pull_request_id, c.iteration_id))
                .or_default() += 1;
        }
        assert!(
            per_iteration.values().any(|n| *n >= 5000),
            "{label}: an iteration with 5,000 changed files is stored whole"
        );
        let comments = store
            .rows::<PullRequestCommentRow>(ORG)
            .await
            .expect("comments");
        let mut per_thread: BTreeMap<(i64, i64), usize> = BTreeMap::new();
        for c in &comments {
            *per_thread
                .entry((c.pull_request_id, c.thread_id))
                .or_default() += 1;
        }
        assert!(
            per_thread.values().any(|n| *n >= 300),
            "{label}: a thread with 300 comments is stored whole"
        );
        let backfill_children = requests(&stats, &CHILD_ENDPOINTS);
        let backfill_commits = requests(&stats, &["pullrequest_commits"]);
        eprintln!(
            "{label}: backfill of {prs} PRs: {} requests in all, {backfill_children} for the inside ({:.2}/PR), {backfill_commits} for commits",
            support::sim_requests(&sim.sim),
            backfill_children as f64 / prs as f64
        );

        // Mutations touching about 2% of the PRs.
        let answer = sim.sim.mutate(21, (prs / 50) as usize);
        let touched: BTreeSet<u32> = answer["touched_pull_requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        assert!(!touched.is_empty(), "the round touched PRs: {answer}");
        let truth1 = sim.sim.truth();
        let before = source_commits(&truth0);
        let moved = source_commits(&truth1)
            .into_iter()
            .filter(|(id, c)| before.get(id) != Some(c))
            .count() as u64;

        sim.sim.reset_stats();
        support::run_ok(&settings, &store, Mode::Sync).await;
        let stats = sim.sim.stats();
        assert_equal(
            &store,
            &truth1,
            &format!("{label} after mutations and sync"),
        )
        .await;
        let children = requests(&stats, &CHILD_ENDPOINTS);
        let bound = touched.len() as f64 * CHILD_ENDPOINTS.len() as f64 * 1.2;
        eprintln!(
            "{label}: sync after {} touched PRs: {children} requests for the inside (bound {bound:.0}), {} for commits ({moved} source commits moved)",
            touched.len(),
            requests(&stats, &["pullrequest_commits"])
        );
        assert!(
            children as f64 <= bound,
            "{label}: {children} child requests for {} touched PRs",
            touched.len()
        );
        let strangers: Vec<_> = sim
            .sim
            .request_log()
            .iter()
            .filter_map(|r| pr_of_request(&r.target).map(|id| (id, r.target.clone())))
            .filter(|(id, _)| !touched.contains(id))
            .take(5)
            .collect();
        assert!(
            strangers.is_empty(),
            "{label}: untouched PRs cost no request: {strangers:?}"
        );
        let commit_requests = requests(&stats, &["pullrequest_commits"]);
        assert!(
            commit_requests >= moved && commit_requests as f64 <= moved as f64 * 1.2,
            "{label}: {commit_requests} commit requests for {moved} moved source commits"
        );

        // Nothing changed: nothing inside a PR is asked for.
        sim.sim.reset_stats();
        support::run_ok(&settings, &store, Mode::Sync).await;
        let stats = sim.sim.stats();
        assert_eq!(
            requests(&stats, &CHILD_ENDPOINTS) + requests(&stats, &["pullrequest_commits"]),
            0,
            "{label}: an idle sync fetches no PR's inside: {stats}"
        );
        assert_equal(&store, &truth1, &format!("{label} after an idle sync")).await;
        sim.shutdown().await;
    }
}

/// ADO's PR list shows nothing of a comment, so a comment alone waits for the PR's next
/// change or for `refresh_active_after`, after which the PR's inside is fetched again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_alone_is_caught_once_the_fetch_is_older_than_refresh_active_after() {
    for db in TestDb::all().await {
        let sim = support::start_sim(SimConfig {
            seed: 5,
            projects: 1,
            repos_per_project: 1,
            prs_per_repo: 30,
            ..SimConfig::default()
        })
        .await;
        let url = sim.base_url();
        let mut setup = Setup::new(&url, db.url());
        setup.pr_depth = true;
        let store = db.store().await;
        let label = db.label();
        support::run_ok(&setup.settings(), &store, Mode::Backfill).await;
        let truth0 = sim.sim.truth();
        truth::compare_pr_depth(&store, ORG, &truth0)
            .await
            .assert_empty(&format!("{label} after backfill"));

        let active = truth0["pull_requests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["status"] == "active")
            .expect("an active PR")["pullRequestId"]
            .as_u64()
            .unwrap() as u32;
        sim.sim
            .apply(&Change::CommentOnPullRequest { pr: active })
            .expect("comment");
        let truth1 = sim.sim.truth();

        sim.sim.reset_stats();
        support::run_ok(&setup.settings(), &store, Mode::Sync).await;
        assert_eq!(
            requests(&sim.sim.stats(), &CHILD_ENDPOINTS),
            0,
            "{label}: within refresh_active_after the comment is not looked for"
        );
        assert!(
            !truth::compare_pr_depth(&store, ORG, &truth1)
                .await
                .lines
                .is_empty(),
            "{label}: so the database lacks it"
        );

        let extra = "\n[connectors.repos.pull_request_depth]\nrefresh_active_after = \"1s\"\n";
        setup.extra = extra;
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
        support::run_ok(&setup.settings(), &store, Mode::Sync).await;
        truth::compare_pr_depth(&store, ORG, &truth1)
            .await
            .assert_empty(&format!("{label} after the refresh age passed"));
        sim.shutdown().await;
    }
}

/// Pull Commits runs alone: with no pull requests stored it does nothing (and succeeds);
/// after Repos stored them it fetches each PR's commits once, and after a push only the
/// pushed PR's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_commits_alone_fetches_only_pull_requests_whose_source_commit_moved() {
    for db in TestDb::all().await {
        let sim = support::start_sim(SimConfig {
            seed: 9,
            projects: 2,
            repos_per_project: 2,
            prs_per_repo: 25,
            ..SimConfig::default()
        })
        .await;
        let url = sim.base_url();
        let store = db.store().await;
        let label = db.label();
        let mut commits_only = Setup::new(&url, db.url());
        commits_only.connectors = vec!["pull_commits"];
        let mut repos_only = Setup::new(&url, db.url());
        repos_only.connectors = vec!["repos"];

        support::run_ok(&commits_only.settings(), &store, Mode::Sync).await;
        assert_eq!(
            requests(&sim.sim.stats(), &["pullrequest_commits"]),
            0,
            "{label}: no PR stored yet, no commit asked for"
        );

        support::run_ok(&repos_only.settings(), &store, Mode::Backfill).await;
        sim.sim.reset_stats();
        support::run_ok(&commits_only.settings(), &store, Mode::Backfill).await;
        let truth0 = sim.sim.truth();
        truth::compare_pull_commits(&store, ORG, &truth0)
            .await
            .assert_empty(&format!("{label}: commits after Pull Commits alone"));
        let prs = truth0["pull_requests"].as_array().unwrap().len() as u64;
        assert_eq!(
            requests(&sim.sim.stats(), &["pullrequest_commits"]),
            prs,
            "{label}: one request per PR (none has more than a page of commits)"
        );

        let active = truth0["pull_requests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["status"] == "active")
            .expect("an active PR")["pullRequestId"]
            .as_u64()
            .unwrap() as u32;
        sim.sim
            .apply(&Change::PushToPullRequest { pr: active })
            .expect("push");
        support::run_ok(&repos_only.settings(), &store, Mode::Sync).await;
        sim.sim.reset_stats();
        support::run_ok(&commits_only.settings(), &store, Mode::Sync).await;
        let log: Vec<_> = sim
            .sim
            .request_log()
            .into_iter()
            .filter(|r| r.target.contains("/commits"))
            .collect();
        assert_eq!(log.len(), 1, "{label}: only the pushed PR: {log:?}");
        assert_eq!(pr_of_request(&log[0].target), Some(active));
        truth::compare_pull_commits(&store, ORG, &sim.sim.truth())
            .await
            .assert_empty(&format!("{label}: commits after the push"));
        sim.shutdown().await;
    }
}
