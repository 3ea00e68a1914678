//! Azure DevOps Server (API_FACTS §5, §4.3) against the simulator's Server mode: the
//! organization URL is a collection URL (`/tfs/DefaultCollection`, or `/DefaultCollection`
//! without a virtual directory), release calls go to the collection, there is no Graph API,
//! the api-version is capped (2022: 7.0, 2020: 6.0) and the PR list has no time filters. A
//! backfill of every connector and an incremental sync after mutations equal the ground truth,
//! with the version negotiated down at the first refusal.

use crate::support::{self, Setup, TestDb, truth};
use ado_ingest::connectors::Mode;
use ado_ingest::store::AnyStore;
use ado_sim::{LoggedRequest, ServerMode, ServerRelease, Sim, SimConfig};
use serde_json::Value;

/// The collection's name: the store's `org` key (the URL's last segment).
const COLLECTION: &str = "DefaultCollection";

const EVERY_CONNECTOR: [&str; 5] = ["repos", "boards", "pipelines", "commits", "pull_commits"];

fn server_sim(release: ServerRelease, virtual_directory: Option<&str>, seed: u64) -> SimConfig {
    SimConfig {
        org: COLLECTION.into(),
        seed,
        projects: 2,
        repos_per_project: 2,
        // 1,100 PRs a project: the PR list takes two pages of 1,000 per project.
        prs_per_repo: 550,
        work_items_per_project: 40,
        definitions_per_project: 2,
        builds_per_definition: 30,
        release_definitions_per_project: 2,
        releases_per_definition: 8,
        environments_per_project: 2,
        deployment_records_per_environment: 12,
        server: Some(ServerMode {
            release,
            virtual_directory: virtual_directory.map(str::to_string),
        }),
        ..SimConfig::default()
    }
}

/// Every connector's tables equal the truth (build changes are off by default, so left out).
async fn assert_equal(store: &AnyStore, sim: &Sim, context: &str) -> Value {
    let mut t = sim.truth();
    t.as_object_mut().unwrap().remove("build_changes");
    assert!(
        t["users"].as_array().unwrap().is_empty(),
        "a Server has no Graph users"
    );
    let diffs = [
        ("repos", truth::compare(store, COLLECTION, &t).await),
        ("boards", truth::compare_boards(store, COLLECTION, &t).await),
        (
            "pr depth",
            truth::compare_pr_depth(store, COLLECTION, &t).await,
        ),
        (
            "pull commits",
            truth::compare_pull_commits(store, COLLECTION, &t).await,
        ),
        (
            "commits",
            truth::compare_commits(store, COLLECTION, &t).await,
        ),
        (
            "pipelines",
            truth::compare_pipelines(store, COLLECTION, &t).await,
        ),
        (
            "releases",
            truth::compare_releases(store, COLLECTION, &t).await,
        ),
    ];
    for (what, diff) in diffs {
        diff.assert_empty(&format!("{context}: {what}"));
    }
    t
}

/// Requests an offset walk of every project's PR list takes: a page per 1,000 PRs, and the
/// page that comes back short.
fn pr_list_pages(t: &Value) -> u64 {
    let mut per_project: std::collections::BTreeMap<&str, u64> = Default::default();
    for p in t["pull_requests"].as_array().unwrap() {
        let project = p["repository"]["project"]["id"].as_str().unwrap();
        *per_project.entry(project).or_default() += 1;
    }
    per_project.values().map(|n| n / 1000 + 1).sum()
}

fn pr_pages_sent(sim: &Sim) -> u64 {
    sim.stats()["by_endpoint"]["pullrequests_project"]
        .as_u64()
        .unwrap_or(0)
}

fn api_version(target: &str) -> &str {
    target
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("api-version="))
        .unwrap_or("")
}

/// What a pass sent: every request under `root`, every one after the refusals carrying
/// `max` (or its preview), no PR list asking for a time filter; returns the number of
/// refusals (400) and of Graph requests.
fn check_requests(log: &[LoggedRequest], root: &str, max: &str, context: &str) -> (usize, usize) {
    assert!(!log.is_empty(), "{context}: requests were logged");
    let mut refused = 0;
    let mut graph = 0;
    for r in log {
        assert!(
            r.target.starts_with(&format!("{root}/")),
            "{context}: {} {} is outside the collection",
            r.method,
            r.target
        );
        let version = api_version(&r.target);
        if r.status == 400 {
            assert_eq!(version, "7.1", "{context}: refused {}", r.target);
            refused += 1;
            continue;
        }
        assert!(
            version == max || version == format!("{max}-preview.1"),
            "{context}: {} sent api-version {version}",
            r.target
        );
        let lower = r.target.to_ascii_lowercase();
        if lower.contains("/pullrequests?") {
            assert!(
                !lower.contains("mintime") && !lower.contains("maxtime"),
                "{context}: a PR list asked for a time filter the server lacks: {}",
                r.target
            );
        }
        if lower.contains("/_apis/graph/") {
            assert_eq!(r.status, 404, "{context}: {}", r.target);
            graph += 1;
        }
    }
    (refused, graph)
}

/// Server 2022 under `/tfs`: a backfill of every connector, then mutations of PRs, work items,
/// builds and releases and an incremental sync, each equal to the truth on both backends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_2022_backfill_and_sync_equal_the_ground_truth() {
    for db in TestDb::all().await {
        let sim = support::start_sim(server_sim(ServerRelease::Server2022, Some("tfs"), 61)).await;
        let url = sim.base_url();
        assert!(url.ends_with("/tfs/DefaultCollection"), "{url}");
        let root = "/tfs/DefaultCollection";
        let mut setup = Setup::new(&url, db.url());
        setup.connectors = EVERY_CONNECTOR.to_vec();
        setup.pr_depth = true;
        // Deleted builds are found by the reconciliation (a day apart by default).
        setup.sync = "reconcile_every = \"0s\"";
        let settings = setup.settings();
        assert_eq!(settings.org_key(), COLLECTION);
        assert_eq!(settings.release_url(), url, "no vsrm host on Server");
        let store = db.store().await;
        let label = db.label();

        support::run_ok(&settings, &store, Mode::Backfill).await;
        let t0 = assert_equal(&store, &sim.sim, &format!("{label} Server 2022 backfill")).await;
        let log = sim.sim.request_log();
        let (refused, graph) = check_requests(&log, root, "7.0", &format!("{label} backfill"));
        // The connectors start together, so each may be refused once before the first
        // refusal lowers the version for all of them; never more.
        assert!(
            (1..=EVERY_CONNECTOR.len()).contains(&refused),
            "{label}: {refused} refusals"
        );
        assert_eq!(graph, 1, "{label}: Graph asked once, answered 404");
        // By offset from the first page: no window request is wasted finding out that the
        // server ignores `maxTime`.
        assert_eq!(pr_pages_sent(&sim.sim), pr_list_pages(&t0), "{label}");
        let prs = t0["pull_requests"].as_array().unwrap().len();
        eprintln!(
            "{label}: Server 2022 backfill of {prs} PRs, {} work items, {} builds, {} releases: {} requests, {refused} refused for the api-version",
            t0["work_items"].as_array().unwrap().len(),
            t0["builds"].as_array().unwrap().len(),
            t0["releases"].as_array().unwrap().len(),
            log.len(),
        );

        // Changes everywhere, then an incremental pass: with no PR time filters the client
        // pages every PR and keeps the active and the recently closed ones.
        let answer = sim.sim.mutate(62, 60);
        let touched = answer["touched_pull_requests"].as_array().unwrap().len();
        assert!(touched > 0, "{answer}");
        sim.sim.mutate_builds(63, 20);
        sim.sim.mutate_releases(64, 10);
        sim.sim.reset_stats();
        support::run_ok(&settings, &store, Mode::Sync).await;
        let t1 = assert_equal(&store, &sim.sim, &format!("{label} Server 2022 sync")).await;
        let log = sim.sim.request_log();
        let (refused, graph) = check_requests(&log, root, "7.0", &format!("{label} sync"));
        assert_eq!(
            refused, 0,
            "{label}: the lowered version is kept for the process"
        );
        assert_eq!(graph, 1, "{label}: one Graph request a pass");
        // One walk over each project's whole list, not two filtered listings.
        let pr_pages = pr_pages_sent(&sim.sim);
        assert_eq!(pr_pages, pr_list_pages(&t1), "{label}");
        eprintln!(
            "{label}: Server 2022 sync after {touched} touched PRs: {} requests, {pr_pages} PR list pages",
            log.len()
        );
    }
}

/// Server 2020 without a virtual directory (`http://host/DefaultCollection`), api-version 6.0:
/// the backfill equals the truth.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_2020_without_a_virtual_directory_backfills_to_the_ground_truth() {
    let db = TestDb::sqlite();
    let sim = support::start_sim(server_sim(ServerRelease::Server2020, None, 71)).await;
    let url = sim.base_url();
    let path = url.split_once("://").unwrap().1;
    let root = &path[path.find('/').unwrap()..];
    assert_eq!(root, "/DefaultCollection");
    let mut setup = Setup::new(&url, db.url());
    setup.connectors = EVERY_CONNECTOR.to_vec();
    setup.pr_depth = true;
    let settings = setup.settings();
    let store = db.store().await;
    support::run_ok(&settings, &store, Mode::Backfill).await;
    assert_equal(&store, &sim.sim, "Server 2020 backfill").await;
    let (refused, _) = check_requests(&sim.sim.request_log(), root, "6.0", "Server 2020");
    assert!((1..=EVERY_CONNECTOR.len()).contains(&refused));

    // `validate` (the binary: a process of its own negotiates again) finds every connector
    // ok, and says what Boards' Graph 404 means.
    let dir = tempfile::tempdir().unwrap();
    let config = setup.write(dir.path());
    let mut cmd = support::binary();
    cmd.arg("--config")
        .arg(&config)
        .args(["validate", "--format", "json"]);
    // Off the runtime's threads: the simulator answers on them.
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let answers: Value = serde_json::from_str(&stdout).unwrap();
    let answers = answers.as_array().expect("an array of answers");
    assert_eq!(answers.len(), EVERY_CONNECTOR.len(), "{stdout}");
    for a in answers {
        assert_eq!(a["outcome"], "ok", "{a}");
    }
    let boards = answers.iter().find(|a| a["connector"] == "boards").unwrap();
    assert!(
        boards["warnings"].to_string().contains("no Graph API here"),
        "{boards}"
    );
}

/// With a backfill horizon (`sync.since`) and no `minTime` to send, the offset walk stops at
/// the first page created wholly before the horizon, and only PRs created since are stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_time_filters_the_backfill_horizon_still_ends_the_walk() {
    let db = TestDb::sqlite();
    let sim = support::start_sim(SimConfig {
        projects: 1,
        // 3,000 PRs over two years: about 370 in the last 90 days, all on the first page.
        prs_per_repo: 1500,
        ..server_sim(ServerRelease::Server2022, Some("tfs"), 81)
    })
    .await;
    let url = sim.base_url();
    let since = (chrono::Utc::now() - chrono::Duration::days(90)).date_naive();
    let sync = format!("since = \"{since}\"");
    let mut setup = Setup::new(&url, db.url());
    setup.sync = &sync;
    let settings = setup.settings();
    let store = db.store().await;
    support::run_ok(&settings, &store, Mode::Backfill).await;

    let t = sim.sim.truth_kinds(&["pull_requests"]);
    let horizon = since.and_hms_opt(0, 0, 0).unwrap().and_utc();
    let wanted: std::collections::BTreeSet<i64> = t["pull_requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["creationDate"]
                .as_str()
                .and_then(|d| d.parse::<chrono::DateTime<chrono::Utc>>().ok())
                .is_some_and(|d| d >= horizon)
        })
        .map(|p| p["pullRequestId"].as_i64().unwrap())
        .collect();
    assert!(
        (100..1000).contains(&wanted.len()),
        "{} PRs since the horizon",
        wanted.len()
    );
    let stored: std::collections::BTreeSet<i64> = ado_ingest::store::read::StoreRead::rows::<
        ado_ingest::store::PullRequestRow,
    >(&store, COLLECTION)
    .await
    .unwrap()
    .into_iter()
    .map(|p| p.id)
    .collect();
    assert_eq!(stored, wanted);
    // The first page holds the horizon, the second is wholly older: two of the four pages.
    assert_eq!(pr_pages_sent(&sim.sim), 2);
    assert_eq!(pr_list_pages(&t), 4);
}
