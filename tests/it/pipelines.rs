//! The Pipelines connector against the simulator: a backfill equals the ground truth field by
//! field (definitions, builds with deleted ones marked, timelines, build changes, releases
//! with environments, deployments, environments and their deployment records) on both
//! backends; after mutation rounds a sync restores equality with requests in proportion to
//! the changes, and no build finished in ADO stays unfinished in the database; a 204/404
//! timeline, a 403 on releases or on environments are warnings and the rest is synced; the
//! builds continuation-token quirk does not matter.

use std::collections::BTreeSet;

use crate::support::{self, ORG, Setup, TestDb, truth};
use ado_ingest::connectors::Mode;
use ado_ingest::store::read::StoreRead;
use ado_ingest::store::schema::pipelines::BuildRow;
use ado_sim::{Sim, SimConfig};
use serde_json::Value;

const KINDS: [&str; 11] = [
    "projects",
    "pipelines",
    "builds",
    "build_timeline_records",
    "releases",
    "release_environments",
    "release_deployments",
    "environments",
    "environment_deployments",
    "repositories",
    "pull_requests",
];

fn requests(stats: &Value, endpoints: &[&str]) -> u64 {
    endpoints
        .iter()
        .map(|e| stats["by_endpoint"][*e].as_u64().unwrap_or(0))
        .sum()
}

async fn assert_equal(store: &ado_ingest::store::AnyStore, sim: &Sim, context: &str) -> Value {
    assert_equal_kinds(store, sim, &KINDS, context).await
}

/// Compares the kinds named; build changes only when asked for (`build_changes = true`).
async fn assert_equal_kinds(
    store: &ado_ingest::store::AnyStore,
    sim: &Sim,
    kinds: &[&str],
    context: &str,
) -> Value {
    let t = sim.truth_kinds(kinds);
    truth::compare_pipelines(store, ORG, &t)
        .await
        .assert_empty(&format!("{context}: builds"));
    truth::compare_releases(store, ORG, &t)
        .await
        .assert_empty(&format!("{context}: releases"));
    t
}

fn count(truth: &Value, kind: &str) -> usize {
    truth[kind].as_array().map_or(0, Vec::len)
}

/// A database build is unfinished while ADO's is finished: what must never happen.
async fn stuck_builds(store: &ado_ingest::store::AnyStore, truth: &Value) -> Vec<i64> {
    let finished: BTreeSet<i64> = truth["builds"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["status"] == "completed")
        .filter_map(|b| b["id"].as_i64())
        .collect();
    store
        .rows::<BuildRow>(ORG)
        .await
        .unwrap()
        .into_iter()
        .filter(|b| b.status.as_deref() != Some("completed") && finished.contains(&b.id))
        .map(|b| b.id)
        .collect()
}

/// The endpoints of what is inside a build, as the simulator labels them.
const BUILD_INSIDE: [&str; 2] = ["build_timeline", "build_changes"];

/// 20,000 builds with timelines, 2,000 releases with deployments and 5,000+ environment
/// deployment records: backfill equals the truth on both backends; two mutation rounds
/// later a sync restores equality asking for the inside only of the builds that changed and
/// reading again only the releases a deployment touched; an idle sync asks for no build's
/// inside and no release.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelines_backfill_and_sync_equal_the_ground_truth() {
    for db in TestDb::all().await {
        let sim = support::start_sim(SimConfig {
            seed: 41,
            projects: 2,
            repos_per_project: 2,
            prs_per_repo: 5,
            work_items_per_project: 0,
            definitions_per_project: 5,
            builds_per_definition: 2000,
            release_definitions_per_project: 4,
            releases_per_definition: 250,
            environments_per_project: 4,
            deployment_records_per_environment: 1000,
            ..SimConfig::default()
        })
        .await;
        let url = sim.base_url();
        let release = sim.release_base_url();
        let mut setup = Setup::new(&url, db.url());
        setup.connectors = vec!["pipelines"];
        setup.release_url = Some(&release);
        // Retention deletions and abandoned releases are found by the reconciliation
        // (`sync.reconcile_every`, a day by default); here every pass reconciles.
        setup.sync = "reconcile_every = \"0s\"";
        let settings = setup.settings();
        let store = db.store().await;
        let label = db.label();

        support::run_ok(&settings, &store, Mode::Backfill).await;
        let t0 = assert_equal(&store, &sim.sim, &format!("{label} after backfill")).await;
        let stats = sim.sim.stats();
        let (builds, records) = (count(&t0, "builds"), count(&t0, "environment_deployments"));
        let releases = count(&t0, "releases");
        eprintln!(
            "{label}: backfill of {builds} builds ({} timeline records), {releases} releases ({} deployments), {records} environment records: {} requests, {} for timelines",
            count(&t0, "build_timeline_records"),
            count(&t0, "release_deployments"),
            support::sim_requests(&sim.sim),
            requests(&stats, &["build_timeline"]),
        );
        assert!(builds >= 20_000 && releases >= 2_000 && records >= 5_000);
        assert!(
            requests(&stats, &["release_release"]) * 10 < releases as u64,
            "{label}: a backfill reads few releases again by id"
        );

        let built = sim.sim.mutate_builds(7, 200);
        let released = sim.sim.mutate_releases(7, 100);
        let touched_builds = built["touched_builds"].as_array().unwrap().len() as u64;
        let touched_deployments = released["touched_deployments"].as_array().unwrap().len() as u64;
        sim.sim.reset_stats();
        support::run_ok(&settings, &store, Mode::Sync).await;
        let t1 = assert_equal(
            &store,
            &sim.sim,
            &format!("{label} after mutations and sync"),
        )
        .await;
        assert!(
            stuck_builds(&store, &t1).await.is_empty(),
            "{label}: a finished build stays unfinished"
        );
        let stats = sim.sim.stats();
        let inside = requests(&stats, &BUILD_INSIDE);
        let refetched = requests(&stats, &["release_release"]);
        eprintln!(
            "{label}: sync after {touched_builds} touched builds and {touched_deployments} touched deployments: {} requests, {inside} for builds' inside, {refetched} releases read again: {stats}",
            support::sim_requests(&sim.sim)
        );
        assert!(
            inside <= touched_builds,
            "{label}: {inside} timeline requests for {touched_builds} touched builds"
        );
        // A deployment moves its release; so do a new or an abandoned release. The overlap
        // re-reads the deployments of the last seconds before the watermark too.
        let touched_releases = released["touched_releases"].as_array().unwrap().len() as u64;
        assert!(
            refetched <= touched_deployments + touched_releases,
            "{label}: {refetched} releases read again for {touched_deployments} touched deployments and {touched_releases} releases"
        );

        sim.sim.reset_stats();
        support::run_ok(&settings, &store, Mode::Sync).await;
        let stats = sim.sim.stats();
        assert_eq!(
            requests(&stats, &BUILD_INSIDE) + requests(&stats, &["release_release"]),
            0,
            "{label}: an idle sync reads no build's inside and no release: {stats}"
        );
        assert_equal(&store, &sim.sim, &format!("{label} after an idle sync")).await;
        sim.shutdown().await;
    }
}

/// Deletions and late finishes, with every inside fetched: build changes on, deleted builds
/// looked for at every pass (`reconcile_every = 0s`), and the builds continuation token
/// handing back page one every other time (it is not used).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_builds_are_marked_and_late_finishes_are_caught() {
    for db in TestDb::all().await {
        let sim = support::start_sim(SimConfig {
            seed: 43,
            projects: 2,
            repos_per_project: 1,
            prs_per_repo: 5,
            work_items_per_project: 0,
            definitions_per_project: 4,
            builds_per_definition: 60,
            build_token_repeats_first_page: Some(2),
            ..SimConfig::default()
        })
        .await;
        let url = sim.base_url();
        let release = sim.release_base_url();
        let mut setup = Setup::new(&url, db.url());
        setup.connectors = vec!["pipelines"];
        setup.release_url = Some(&release);
        setup.extra = "build_changes = true\n";
        setup.sync = "reconcile_every = \"0s\"";
        let settings = setup.settings();
        let store = db.store().await;
        let label = db.label();
        let with_changes: Vec<&str> = KINDS.iter().copied().chain(["build_changes"]).collect();
        support::run_ok(&settings, &store, Mode::Backfill).await;
        assert_equal_kinds(
            &store,
            &sim.sim,
            &with_changes,
            &format!("{label} after backfill"),
        )
        .await;
        for round in 0..3 {
            sim.sim.mutate_builds(100 + round, 40);
            sim.sim.mutate_releases(100 + round, 20);
            support::run_ok(&settings, &store, Mode::Sync).await;
            let t = assert_equal_kinds(
                &store,
                &sim.sim,
                &with_changes,
                &format!("{label} after round {round}"),
            )
            .await;
            assert!(
                stuck_builds(&store, &t).await.is_empty(),
                "{label}: round {round}"
            );
        }
        let deleted = store
            .rows_with_deleted::<BuildRow>(ORG)
            .await
            .unwrap()
            .into_iter()
            .filter(|(b, at)| b.deleted && at.is_some())
            .count();
        assert!(
            deleted > 0,
            "{label}: retention deleted builds, and they are marked"
        );
        sim.shutdown().await;
    }
}

/// A token without Release (Read) and without the environments scope still syncs the builds;
/// `sync_runs` and `status` name the endpoints and the scopes; a YAML build that failed to
/// compile (204 timeline) is recorded as a warning too. With `releases = false` and
/// `environments = false` nothing is asked of them and nothing is warned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_optional_parts_are_warnings_and_the_rest_is_synced() {
    let db = TestDb::sqlite();
    let sim = support::start_sim(SimConfig {
        seed: 47,
        projects: 1,
        repos_per_project: 1,
        prs_per_repo: 5,
        work_items_per_project: 0,
        definitions_per_project: 4,
        builds_per_definition: 100,
        build_compile_failure_share: 0.2,
        pats: vec![ado_sim::Pat {
            token: "demo-pat".into(),
            scopes: vec!["vso.build".into(), "vso.project".into()],
        }],
        ..SimConfig::default()
    })
    .await;
    let url = sim.base_url();
    let release = sim.release_base_url();
    let mut setup = Setup::new(&url, db.url());
    setup.connectors = vec!["pipelines"];
    setup.release_url = Some(&release);
    let store = db.store().await;
    support::run_ok(&setup.settings(), &store, Mode::Backfill).await;
    let t = sim
        .sim
        .truth_kinds(&["pipelines", "builds", "build_timeline_records"]);
    truth::compare_pipelines(&store, ORG, &t)
        .await
        .assert_empty("builds synced without the release and environment scopes");
    use ado_ingest::store::Store;
    let run = store
        .last_run(ORG, "pipelines", "backfill")
        .await
        .unwrap()
        .expect("a run");
    assert_eq!(run.outcome, "succeeded");
    let warnings = run.warnings.unwrap_or_default();
    assert!(
        warnings.contains("releases answered 403") && warnings.contains("vso.release"),
        "{warnings}"
    );
    assert!(
        warnings.contains("environments answered 403")
            && warnings.contains("vso.environment_manage"),
        "{warnings}"
    );
    assert!(
        warnings.contains("build_timeline answered 204 for"),
        "a build without a timeline is named: {warnings}"
    );
    let status = support::binary()
        .args(["status", "--format", "json", "--config"])
        .arg(setup.write(tempfile::tempdir().unwrap().path()))
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&status.stdout).unwrap();
    let pass = &json["connectors"][0]["last_pass"];
    assert!(
        pass["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("vso.release")),
        "{pass}"
    );

    sim.sim.reset_stats();
    setup.extra = "releases = false\nenvironments = false\n";
    support::run_ok(&setup.settings(), &store, Mode::Sync).await;
    let stats = sim.sim.stats();
    assert_eq!(
        requests(
            &stats,
            &["release_releases", "release_deployments", "environments"]
        ),
        0,
        "switched off, not asked: {stats}"
    );
    let run = store
        .last_run(ORG, "pipelines", "sync")
        .await
        .unwrap()
        .unwrap();
    assert!(
        !run.warnings.unwrap_or_default().contains("403"),
        "switched off quietly"
    );
    sim.shutdown().await;
}
