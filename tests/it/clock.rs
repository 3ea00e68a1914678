//! Time comes from ADO, not from this host (issue 9, item 5): with the simulated service's
//! clock an hour ahead of the host's or an hour behind, a backfill, PR closures and an
//! incremental sync still end equal to the truth, and the stored watermark is ADO's time.

use crate::support::{self, ORG, Setup, TestDb, truth};
use ado_ingest::connectors::Mode;
use ado_ingest::store::Store;
use ado_sim::SimConfig;
use chrono::{DateTime, Duration, Utc};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_clock_an_hour_off_misses_no_pull_request() {
    for hours in [-1i64, 1] {
        let offset = Duration::hours(hours);
        for db in TestDb::all().await {
            let label = format!("{} with ADO {hours:+} h from the host", db.label());
            let sim = support::start_sim(SimConfig {
                seed: 41,
                projects: 1,
                repos_per_project: 2,
                prs_per_repo: 150,
                work_items_per_project: 0,
                clock_offset: offset,
                ..SimConfig::default()
            })
            .await;
            let url = sim.base_url();
            let mut setup = Setup::new(&url, db.url());
            setup.connectors = vec!["repos"];
            let settings = setup.settings();
            let store = db.store().await;
            support::run_ok(&settings, &store, Mode::Backfill).await;

            // PRs complete and are abandoned now, by ADO's clock. A watermark taken from a
            // host clock an hour ahead would ask for PRs closed since an hour from now.
            let changes = sim.sim.mutate(7, 120);
            assert!(
                changes["changed"]["pull_requests_completed"]
                    .as_u64()
                    .unwrap_or(0)
                    + changes["changed"]["pull_requests_abandoned"]
                        .as_u64()
                        .unwrap_or(0)
                    > 0,
                "{changes}"
            );
            // A new process learns ADO's clock anew, to about a second at first
            // (`ado::clock`): a sync that started within that second of the backfill's last
            // page could see its observations lose to the backfill's. Cron does not do that.
            tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
            support::run_ok(&settings, &store, Mode::Sync).await;
            truth::compare(&store, ORG, &sim.sim.truth())
                .await
                .assert_empty(&format!("{label}: after mutations and sync"));

            // The watermark is ADO's now, not the host's.
            let truth = sim.sim.truth_kinds(&["projects"]);
            let project = truth["projects"][0]["id"].as_str().expect("a project");
            let cursor = store
                .cursor(ORG, "repos", &format!("pull_requests:{project}"))
                .await
                .expect("cursor")
                .expect("a PR cursor");
            let cursor: serde_json::Value = serde_json::from_str(&cursor).expect("JSON");
            let watermark: DateTime<Utc> = cursor["watermark"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("{label}: a watermark in {cursor}"));
            let ado_now = Utc::now() + offset;
            assert!(
                (ado_now - watermark).num_seconds().abs() < 120,
                "{label}: watermark {watermark}, ADO's now {ado_now}"
            );
            sim.shutdown().await;
        }
    }
}
