//! `ado-ingest run`, the real binary against the simulator: two connectors on short intervals
//! keep the database equal to the truth across mutation rounds; one connector's tokens revoked
//! shows as `invalid_credentials` in `/metrics` and `/readyz` while the other keeps syncing;
//! an idle org costs a bounded number of requests per cycle; replicas on one PostgreSQL share
//! the work and take over a killed replica's scopes; SIGTERM stops it within 10 s, mid-backfill
//! included, and the next start resumes the same run. Every `/metrics` read goes through a
//! strict Prometheus text parser.

use crate::support::service::{self, SERVER, Service, two_token_org};
use crate::support::{self, ORG, Setup, TestDb, truth};
use ado_ingest::store::Store;
use ado_sim::{FaultConfig, Pat, RunningSim, SimConfig};
use std::time::{Duration, Instant};

/// Repos and Boards, each with its own token, on `interval`, serving on a free port.
fn two_connectors<'a>(sim_url: &'a str, db_url: &'a str, interval: &'a str) -> Setup<'a> {
    let mut setup = service::two_connectors(sim_url, db_url);
    setup.interval = interval;
    setup.extra = SERVER;
    setup
}

fn assert_exits_cleanly(svc: &mut Service, label: &str) {
    let (status, took) = svc.terminate();
    eprintln!("{label}: exited {took:?} after SIGTERM ({status})");
    assert!(
        took < Duration::from_secs(10),
        "{label}: {took:?} to stop after SIGTERM"
    );
    assert!(status.success(), "{label}: {status}\n{}", svc.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_keeps_both_connectors_equal_to_the_truth_and_isolates_revoked_tokens() {
    for db in TestDb::all().await {
        let label = db.label();
        let sim = support::start_sim(two_token_org(31)).await;
        let url = sim.base_url();
        let dir = tempfile::tempdir().unwrap();
        let config = two_connectors(&url, db.url(), "1s").write(dir.path());
        let store = db.store().await;
        let mut svc = Service::start(&config);
        let both = ["repos", "boards"];
        svc.wait_passes(&both, 1, Duration::from_secs(120)).await;
        let (status, body) = svc.get("/readyz").await;
        assert_eq!(status, 200, "{label}: ready after the first passes: {body}");
        for round in 0..2u64 {
            let answer = sim.sim.mutate_split(3100 + round, 6, 6);
            // A pass in flight when the org changed may miss the change; the one after it
            // starts later and cannot.
            let done = [
                svc.passes("repos", "succeeded").await,
                svc.passes("boards", "succeeded").await,
            ];
            svc.wait_passes(
                &both,
                done.into_iter().max().unwrap() + 2,
                Duration::from_secs(60),
            )
            .await;
            let truth = sim.sim.truth();
            truth::compare(&store, ORG, &truth)
                .await
                .assert_empty(&format!("{label}: repos after round {round}: {answer}"));
            truth::compare_boards(&store, ORG, &truth)
                .await
                .assert_empty(&format!("{label}: boards after round {round}: {answer}"));
        }

        // Boards loses its only token; Repos must not notice.
        sim.sim.revoke_pat("boards-pat");
        svc.wait_error("boards", "invalid_credentials").await;
        let m = svc.metrics().await;
        assert_eq!(
            m.value("ado_ingest_connector_ready", &[("connector", "boards")]),
            Some(0.0)
        );
        let tokens = |state| {
            m.value(
                "ado_ingest_tokens",
                &[("connector", "boards"), ("state", state)],
            )
        };
        assert_eq!(
            (tokens("active"), tokens("retired")),
            (Some(0.0), Some(1.0)),
            "the pool retired the refused token"
        );
        let (status, body) = svc.get("/readyz").await;
        assert_eq!(status, 503, "{label}: {body}");
        let ready: serde_json::Value = serde_json::from_str(&body).expect("/readyz is JSON");
        assert_eq!(
            ready["connectors"]["boards"]["last_error_kind"], "invalid_credentials",
            "{body}"
        );
        assert_eq!(ready["connectors"]["repos"]["ready"], true, "{body}");
        // `status` reads the same from the database while the service runs.
        let out = support::binary()
            .args(["status", "--format", "json", "--config"])
            .arg(&config)
            .output()
            .expect("run status");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let status: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("status --format json is JSON");
        let connector = |name: &str| {
            status["connectors"]
                .as_array()
                .and_then(|cs| cs.iter().find(|c| c["name"] == name))
                .cloned()
                .unwrap_or_default()
        };
        assert_eq!(
            connector("boards")["last_pass"]["error_kind"],
            "invalid_credentials",
            "{status}"
        );
        // Repos may be mid-pass (`running`), but it has never failed.
        assert_eq!(
            connector("repos")["recent_errors"],
            serde_json::json!([]),
            "{status}"
        );
        let answer = sim.sim.mutate_split(3199, 8, 0);
        let after = svc.passes("repos", "succeeded").await;
        svc.wait_passes(&["repos"], after + 2, Duration::from_secs(60))
            .await;
        truth::compare(&store, ORG, &sim.sim.truth())
            .await
            .assert_empty(&format!(
                "{label}: repos keeps syncing beside a failing boards: {answer}"
            ));
        let boards = store
            .last_run(ORG, "boards", "sync")
            .await
            .unwrap()
            .expect("boards ran");
        assert_eq!(boards.outcome, "failed", "{boards:?}");
        assert!(
            boards
                .error
                .as_deref()
                .is_some_and(|e| e.starts_with("invalid_credentials")),
            "{boards:?}"
        );

        assert_exits_cleanly(&mut svc, label);
        let running = db
            .scalar(
                "SELECT count(*) FROM sync_runs WHERE outcome = 'running'",
                "SELECT count(*) FROM sync_runs WHERE outcome = 'running'",
            )
            .await;
        assert_eq!(running, 0, "{label}: every run is closed at shutdown");
        let leases = db
            .scalar("SELECT count(*) FROM leases", "SELECT count(*) FROM leases")
            .await;
        let held = db
            .scalar(
                "SELECT count(*) FROM leases WHERE done_at IS NULL",
                "SELECT count(*) FROM leases WHERE done_at IS NULL",
            )
            .await;
        assert_eq!(
            held, 0,
            "{label}: no lease of {leases} is left held at shutdown"
        );
        sim.shutdown().await;
    }
}

/// Requests each connector's token made since the last `reset_stats`.
fn requests_by_token(sim: &RunningSim, token_name: &str) -> u64 {
    let stats = sim.sim.stats();
    stats["by_token"][token_name].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_hour_costs_a_bounded_number_of_requests_per_cycle() {
    // An hour at 5-minute intervals, accelerated 1000×: 300 ms intervals, the hourly
    // reconciliation every 3.6 s, twelve cycles.
    let db = TestDb::sqlite();
    let cfg = two_token_org(32);
    let projects = cfg.projects as u64;
    let sim = support::start_sim(cfg).await;
    let url = sim.base_url();
    let dir = tempfile::tempdir().unwrap();
    let mut setup = two_connectors(&url, db.url(), "300ms");
    setup.sync = "reconcile_every = \"3600ms\"";
    let config = setup.write(dir.path());
    let mut svc = Service::start(&config);
    let both = ["repos", "boards"];
    svc.wait_passes(&both, 1, Duration::from_secs(120)).await;
    sim.sim.reset_stats();
    let start = [
        svc.passes("repos", "succeeded").await,
        svc.passes("boards", "succeeded").await,
    ];
    svc.wait_passes(
        &both,
        start.into_iter().max().unwrap() + 12,
        Duration::from_secs(120),
    )
    .await;
    let passes = [
        svc.passes("repos", "succeeded").await - start[0],
        svc.passes("boards", "succeeded").await - start[1],
    ];
    // Requests of passes still in flight are counted too: at most one more per connector.
    let per_cycle = |token: &str, n: u64| requests_by_token(&sim, token) as f64 / n as f64;
    let repos_per_cycle = per_cycle("demo-pat", passes[0]);
    let boards_per_cycle = per_cycle("boards-pat", passes[1]);
    eprintln!(
        "idle: repos {repos_per_cycle:.1} requests per cycle over {} cycles, boards \
         {boards_per_cycle:.1} over {} ({projects} projects)",
        passes[0], passes[1]
    );
    // Nothing changed, so nothing is paged: each count is a fixed call per org or per
    // project, and one request more per connector covers a pass still in flight.
    // Repos: the project and repository listings, then per project the two pull request
    // queries (new since the cursor, recently closed).
    let repos_bound = 2.0 + 2.0 * projects as f64 + 1.0;
    // Boards: the project listing, fields and the Graph users (up to 3 pages here), then per
    // project its planning calls (nodes, types, categories, teams), the two reporting
    // streams and, once an hour, the recycle bin; one members call per team.
    let teams = sim.sim.counts()["teams"].as_u64().unwrap_or(0) as f64;
    let boards_bound = 5.0 + 7.0 * projects as f64 + teams + 1.0;
    assert!(
        repos_per_cycle <= repos_bound,
        "repos: {repos_per_cycle:.1} requests per idle cycle > {repos_bound}\n{}",
        sim.sim.stats()
    );
    assert!(
        boards_per_cycle <= boards_bound,
        "boards: {boards_per_cycle:.1} requests per idle cycle > {boards_bound}\n{}",
        sim.sim.stats()
    );
    eprintln!(
        "idle requests by endpoint: {}",
        sim.sim.stats()["by_endpoint"]
    );
    let m = svc.metrics().await;
    for c in both {
        let rows = m.sum("ado_ingest_rows_upserted_total", &[("connector", c)]);
        assert!(rows > 0.0, "{c} upserted its backfill");
    }
    assert_exits_cleanly(&mut svc, "sqlite");
    sim.shutdown().await;
}

/// A slow org: answers take 60–90 ms, so a stop or a kill lands mid-walk. Repos and Boards
/// tokens are distinct.
fn slow_org(seed: u64, prs_per_repo: usize) -> SimConfig {
    SimConfig {
        seed,
        projects: 4,
        repos_per_project: 2,
        prs_per_repo,
        work_items_per_project: 10,
        pats: vec![Pat::full("demo-pat"), Pat::full("boards-pat")],
        faults: FaultConfig {
            latency_ms: 60,
            latency_jitter_ms: 30,
            ..FaultConfig::default()
        },
        ..SimConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_backfill_stops_within_ten_seconds_and_the_next_run_resumes_it() {
    for db in TestDb::all().await {
        let label = db.label();
        // 24 pages of 1,000 pull requests at ~300 ms each, one project at a time: the stop
        // after the first page lands with seconds of walk left.
        let mut cfg = slow_org(33, 3000);
        cfg.faults.latency_ms = 300;
        let sim = support::start_sim(cfg).await;
        let url = sim.base_url();
        let dir = tempfile::tempdir().unwrap();
        let mut setup = Setup::new(&url, db.url());
        setup.concurrency = 1;
        setup.interval = "1s";
        setup.extra = SERVER;
        let config = setup.write(dir.path());
        let store = db.store().await;
        let mut svc = Service::start(&config);
        // Stop once the first page is committed, well before the backfill ends.
        svc.eventually(
            Duration::from_secs(60),
            "pull requests committed",
            || async {
                db.scalar(
                    "SELECT count(*) FROM pull_requests",
                    "SELECT count(*) FROM pull_requests",
                )
                .await
                    > 50
            },
        )
        .await;
        assert_eq!(
            svc.passes("repos", "succeeded").await,
            0,
            "still backfilling"
        );
        assert_exits_cleanly(&mut svc, label);
        let committed = db
            .scalar(
                "SELECT count(*) FROM pull_requests",
                "SELECT count(*) FROM pull_requests",
            )
            .await;
        let total = sim.sim.counts()["pull_requests"].as_i64().unwrap_or(0);
        eprintln!("{label}: stopped with {committed} of {total} pull requests committed");
        assert!(committed < total, "{label}: the stop landed mid-backfill");
        let run = store
            .last_run(ORG, "repos", "backfill")
            .await
            .unwrap()
            .expect("the backfill is recorded");
        assert_eq!(run.outcome, "cancelled", "{label}: {run:?}");

        let mut svc = Service::start(&config);
        svc.wait_passes(&["repos"], 1, Duration::from_secs(180))
            .await;
        let resumed = store
            .last_run(ORG, "repos", "backfill")
            .await
            .unwrap()
            .expect("the backfill is recorded");
        assert_eq!(
            (resumed.id, resumed.outcome.as_str()),
            (run.id, "succeeded"),
            "{label}: the next start finishes the same run"
        );
        truth::compare(&store, ORG, &sim.sim.truth())
            .await
            .assert_empty(&format!(
                "{label}: after a backfill stopped by SIGTERM and resumed"
            ));
        assert_exits_cleanly(&mut svc, label);
        sim.shutdown().await;
    }
}

/// Two replicas on one PostgreSQL database: together they make about the requests one
/// makes, both do part of the work, and the database equals the truth.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_the_work_of_one() {
    let Some(single_db) = TestDb::postgres().await else {
        return;
    };
    let Some(shared_db) = TestDb::postgres().await else {
        return;
    };
    // Two pages of pull requests per project at ~250 ms an answer, one project at a time:
    // the first replica is still walking when the second one starts.
    let mut cfg = slow_org(34, 1000);
    cfg.faults.latency_ms = 250;
    let sim = support::start_sim(cfg).await;
    let url = sim.base_url();
    // A long interval: each replica's connectors pass once, so the counts compare one
    // backfill with one backfill.
    let dir = tempfile::tempdir().unwrap();
    let mut setup = two_connectors(&url, single_db.url(), "1h");
    setup.concurrency = 1;
    let single_config = setup.write(dir.path());

    sim.sim.reset_stats();
    let mut one = Service::start(&single_config);
    one.wait_passes(&["repos", "boards"], 1, Duration::from_secs(180))
        .await;
    assert_exits_cleanly(&mut one, "single");
    let single = support::sim_requests(&sim.sim);

    let dir_b = tempfile::tempdir().unwrap();
    let mut setup = two_connectors(&url, shared_db.url(), "1h");
    setup.concurrency = 1;
    let shared_config = setup.write(dir_b.path());
    let store = shared_db.store().await;
    sim.sim.reset_stats();
    let mut a = Service::start(&shared_config);
    // The second replica starts once the first has listed the projects, as a replica added
    // to a running deployment would.
    a.eventually(Duration::from_secs(60), "projects listed", || async {
        shared_db
            .scalar(
                "SELECT count(*) FROM projects",
                "SELECT count(*) FROM projects",
            )
            .await
            > 0
    })
    .await;
    let mut b = Service::start(&shared_config);
    for svc in [&a, &b] {
        svc.wait_passes(&["repos", "boards"], 1, Duration::from_secs(180))
            .await;
    }
    let total = support::sim_requests(&sim.sim);
    let truth = sim.sim.truth();
    truth::compare(&store, ORG, &truth)
        .await
        .assert_empty("two replicas: repos");
    truth::compare_boards(&store, ORG, &truth)
        .await
        .assert_empty("two replicas: boards");
    // Each replica logs the projects whose pull requests it backfilled.
    let worked = |svc: &Service| svc.log().matches("pull requests backfilled").count();
    let (by_a, by_b) = (worked(&a), worked(&b));
    let ratio = total as f64 / single as f64;
    eprintln!(
        "replicas: {total} requests for two, {single} for one ({ratio:.3}x); projects synced \
         by a: {by_a}, by b: {by_b}"
    );
    assert!(
        ratio <= 1.1,
        "two replicas made {ratio:.3}x one replica's requests"
    );
    assert!(
        by_a > 0 && by_b > 0,
        "both replicas did part of the work (a: {by_a}, b: {by_b})"
    );
    assert_exits_cleanly(&mut a, "replica a");
    assert_exits_cleanly(&mut b, "replica b");
    sim.shutdown().await;
}

/// A replica killed mid-backfill (SIGKILL: its leases stay until they expire): another
/// replica takes its scopes once its leases expire, closes its run as `abandoned` while
/// running, and the database ends equal to the truth.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_replicas_scopes_are_taken_over_after_its_leases_expire() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    // Three pages of pull requests per project at ~200 ms an answer: a project takes
    // seconds, so the kill lands while scopes are held.
    let mut cfg = slow_org(35, 1500);
    cfg.faults.latency_ms = 200;
    let sim = support::start_sim(cfg).await;
    let url = sim.base_url();
    let dir = tempfile::tempdir().unwrap();
    let mut setup = Setup::new(&url, db.url());
    setup.concurrency = 2;
    setup.interval = "1s";
    setup.sync = "lease_ttl = \"2s\"";
    setup.extra = SERVER;
    let config = setup.write(dir.path());
    let store = db.store().await;
    let held = "SELECT count(*) FROM leases WHERE scope LIKE 'project:%' AND holder IS NOT NULL";
    let mut a = Service::start(&config);
    a.eventually(
        Duration::from_secs(60),
        "a holds project leases",
        || async { db.scalar("SELECT 0", held).await > 0 },
    )
    .await;
    a.kill();
    let killed = Instant::now();
    let mut b = Service::start(&config);
    b.eventually(
        Duration::from_secs(120),
        "the database equals the truth",
        || async {
            truth::compare(&store, ORG, &sim.sim.truth())
                .await
                .lines
                .is_empty()
        },
    )
    .await;
    let took = killed.elapsed();
    eprintln!("takeover: the truth was reached {took:?} after the kill");
    // The scopes a held could not be worked before its leases expired: renewed every
    // ttl/3, they expire between 1.33 s and 2 s after the kill.
    assert!(
        took >= Duration::from_millis(1300),
        "a's scopes were taken {took:?} after the kill, before its leases expired"
    );
    b.eventually(
        Duration::from_secs(10),
        "a's run closed as abandoned",
        || async {
            db.scalar(
                "SELECT 0",
                "SELECT count(*) FROM sync_runs WHERE outcome = 'abandoned'",
            )
            .await
                >= 1
        },
    )
    .await;
    assert_exits_cleanly(&mut b, "survivor");
    sim.shutdown().await;
}

/// Memory does not grow with uptime: the resident set after 1,000 idle cycles (accelerated:
/// 20 ms intervals) is within 10% of the one after 10.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resident_memory_after_a_thousand_idle_cycles_stays_within_ten_percent() {
    let db = TestDb::sqlite();
    let sim = support::start_sim(SimConfig {
        seed: 36,
        projects: 1,
        repos_per_project: 1,
        prs_per_repo: 5,
        work_items_per_project: 5,
        pats: vec![Pat::full("demo-pat"), Pat::full("boards-pat")],
        ..SimConfig::default()
    })
    .await;
    let url = sim.base_url();
    let dir = tempfile::tempdir().unwrap();
    let mut setup = two_connectors(&url, db.url(), "20ms");
    // The run history is bounded as in production (`keep_runs`, default 2,000 ≈ a week at
    // 5 minutes), scaled to the accelerated run: without a bound the SQLite page cache grows
    // with `sync_runs` (about 0.8 KB per cycle) until it reaches its own size limit. The
    // reconciliation runs every few cycles, so its paths are warm by the tenth.
    setup.sync = "reconcile_every = \"100ms\"\nkeep_runs = 100";
    let config = setup.write(dir.path());
    let mut svc = Service::start(&config);
    let both = ["repos", "boards"];
    let started = Instant::now();
    svc.wait_passes(&both, 10, Duration::from_secs(120)).await;
    let after_10 = svc.rss_kib();
    svc.wait_passes(&both, 1000, Duration::from_secs(600)).await;
    let after_1000 = svc.rss_kib();
    let ratio = after_1000 as f64 / after_10 as f64;
    eprintln!(
        "idle memory: {after_10} KiB after 10 cycles, {after_1000} KiB after 1000 ({ratio:.3}x), \
         {:?} in all",
        started.elapsed()
    );
    assert!(after_10 > 0, "the resident set is readable");
    assert!(
        ratio <= 1.10,
        "resident memory grew {ratio:.3}x from 10 to 1000 idle cycles"
    );
    assert_exits_cleanly(&mut svc, "sqlite");
    sim.shutdown().await;
}
