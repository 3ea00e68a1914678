//! The product's promise: after a backfill, and after mutations plus an incremental sync, the
//! database equals the simulator's ground truth field by field — with the sync spending far
//! fewer requests than the backfill.

use crate::support::{self, ORG, Setup, TestDb, truth};
use ado_ingest::connectors::Mode;
use ado_sim::SimConfig;

fn org_config(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        projects: 3,
        repos_per_project: 4,
        // 30,000 PRs; the first repository of each project holds 40% of its 10,000.
        prs_per_repo: 2500,
        ..SimConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_then_sync_equal_the_ground_truth() {
    for db in TestDb::all().await {
        let sim = support::start_sim(org_config(7)).await;
        let url = sim.base_url();
        let setup = Setup::new(&url, db.url());
        let settings = setup.settings();
        let store = db.store().await;
        let truth0 = sim.sim.truth();
        let prs = truth0["pull_requests"].as_array().unwrap();
        assert!(prs.len() >= 3000);
        for status in ["active", "completed", "abandoned"] {
            assert!(
                prs.iter().any(|p| p["status"] == status),
                "the org has {status} PRs"
            );
        }

        sim.sim.reset_stats();
        support::run_ok(&settings, &store, Mode::Backfill).await;
        let backfill_requests = support::sim_requests(&sim.sim);
        truth::compare(&store, ORG, &truth0)
            .await
            .assert_empty(&format!("{} after backfill", db.label()));

        // Mutate until the round includes a repository deletion (the simulator deletes one
        // only sometimes), so deletion handling is always exercised.
        let mut deleted = 0;
        let mut seed = 100;
        let mut changes = serde_json::Value::Null;
        while deleted == 0 {
            changes = sim.sim.mutate(seed, 300);
            deleted = changes["changed"]["repositories_deleted"]
                .as_u64()
                .unwrap_or(0);
            seed += 1;
            assert!(
                seed < 130,
                "the simulator never deleted a repository: {changes}"
            );
        }
        let truth1 = sim.sim.truth();
        assert_ne!(truth0, truth1, "the mutations changed the org: {changes}");

        sim.sim.reset_stats();
        support::run_ok(&settings, &store, Mode::Sync).await;
        let sync_requests = support::sim_requests(&sim.sim);
        truth::compare(&store, ORG, &truth1)
            .await
            .assert_empty(&format!("{} after mutations and sync", db.label()));
        eprintln!(
            "{}: backfill {backfill_requests} requests, incremental sync {sync_requests} requests",
            db.label()
        );
        assert!(
            sync_requests * 3 <= backfill_requests,
            "an incremental sync must cost far less than a backfill: {sync_requests} vs {backfill_requests}"
        );

        // A second sync with nothing changed keeps the database equal to the truth.
        support::run_ok(&settings, &store, Mode::Sync).await;
        truth::compare(&store, ORG, &truth1)
            .await
            .assert_empty(&format!("{} after an idle sync", db.label()));
        sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_allow_list_limits_what_is_ingested() {
    let db = TestDb::sqlite();
    let sim = support::start_sim(SimConfig {
        seed: 3,
        projects: 3,
        repos_per_project: 2,
        prs_per_repo: 50,
        ..SimConfig::default()
    })
    .await;
    let truth = sim.sim.truth();
    let wanted = truth["projects"][1]["name"].as_str().unwrap().to_string();
    let wanted_id = truth["projects"][1]["id"].as_str().unwrap().to_string();
    let url = sim.base_url();
    let mut setup = Setup::new(&url, db.url());
    setup.projects = vec![wanted.to_lowercase()];
    let settings = setup.settings();
    let store = db.store().await;
    support::run_ok(&settings, &store, Mode::Backfill).await;
    use ado_ingest::store::read::StoreRead;
    use ado_ingest::store::{PullRequestRow, RepositoryRow};
    let prs = store.rows::<PullRequestRow>(ORG).await.unwrap();
    assert!(!prs.is_empty());
    assert!(prs.iter().all(|p| p.project_id == wanted_id));
    let repos = store.rows::<RepositoryRow>(ORG).await.unwrap();
    assert!(!repos.is_empty());
    assert!(repos.iter().all(|r| r.project_id == wanted_id));
    sim.shutdown().await;
}
