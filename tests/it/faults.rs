//! Backfills stay exact under server faults, throttling and refused tokens.

use crate::support::{self, ORG, Setup, TestDb, truth};
use ado_ingest::connectors::Mode;
use ado_ingest::metrics::Metrics;
use ado_ingest::sync;
use ado_sim::{BudgetConfig, FaultConfig, Pat, SimConfig};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

async fn backfill_under(faults: FaultConfig, check: impl Fn(&serde_json::Value)) {
    for db in TestDb::all().await {
        let sim = support::start_sim(SimConfig {
            seed: 11,
            projects: 8,
            repos_per_project: 2,
            prs_per_repo: 600,
            faults,
            ..SimConfig::default()
        })
        .await;
        let url = sim.base_url();
        let mut setup = Setup::new(&url, db.url());
        setup.concurrency = 8;
        setup.max_retries = 25;
        let settings = setup.settings();
        let store = db.store().await;
        support::run_ok(&settings, &store, Mode::Backfill).await;
        let stats = sim.sim.stats();
        eprintln!("{}: simulator stats: {stats}", db.label());
        check(&stats);
        truth::compare(&store, ORG, &sim.sim.truth())
            .await
            .assert_empty(&format!("{} under faults", db.label()));
        sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_is_exact_despite_5xx_and_connection_resets() {
    // 40% of attempts fail; with 25 retries a request still fails only with p ≈ 1e-10.
    let faults = FaultConfig {
        latency_ms: 2,
        latency_jitter_ms: 5,
        error_rate: 0.3,
        reset_rate: 0.1,
        ..FaultConfig::default()
    };
    backfill_under(faults, |stats| {
        let by_status = &stats["by_status"];
        let errors =
            by_status["500"].as_u64().unwrap_or(0) + by_status["503"].as_u64().unwrap_or(0);
        assert!(errors > 0, "the run met 5xx answers: {stats}");
    })
    .await;
}

/// A proxy's maintenance page (200, HTML) says nothing about the token: it is retried, and no
/// token is retired for it (only ADO's sign-in page means a refused token, API_FACTS §3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_is_exact_despite_html_maintenance_pages() {
    let faults = FaultConfig {
        html_rate: 0.2,
        ..FaultConfig::default()
    };
    backfill_under(faults, |stats| {
        let ok = stats["by_status"]["200"].as_u64().unwrap_or(0);
        assert!(ok > 0, "{stats}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_is_exact_despite_delays_and_429s() {
    // ADO's budget is per identity (API_FACTS §2): another tool using the same identity eats
    // into it, so our client meets delays and 429s however politely it paces itself. A
    // neighbour hammering the simulator with the same PAT makes that certain.
    for db in TestDb::all().await {
        let sim = support::start_sim(SimConfig {
            seed: 12,
            projects: 8,
            repos_per_project: 2,
            prs_per_repo: 600,
            budget: Some(BudgetConfig {
                rate_per_sec: 40.0,
                burst: 8.0,
                delay_threshold: 0.5,
            }),
            ..SimConfig::default()
        })
        .await;
        let url = sim.base_url();
        let stop = CancellationToken::new();
        let metrics = Arc::new(Metrics::default());
        // Several concurrent neighbours: the simulator delays answers above the threshold,
        // which would slow a single sequential neighbour down to the budget; concurrent ones
        // keep the budget pinned at its limit until our client has met a 429, then stop, so
        // the backfill is never starved.
        let neighbours: Vec<_> = (0..6)
            .map(|_| {
                let stop = stop.clone();
                let ours = metrics.clone();
                let url = format!("{url}/_apis/connectionData?api-version=7.1");
                tokio::spawn(async move {
                    let client = reqwest::Client::new();
                    for _ in 0..3000 {
                        if stop.is_cancelled() || ours.snapshot().throttled_429 > 0 {
                            break;
                        }
                        let _ = client
                            .get(&url)
                            .basic_auth("", Some("demo-pat"))
                            .send()
                            .await;
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                })
            })
            .collect();
        let mut setup = Setup::new(&url, db.url());
        setup.concurrency = 8;
        setup.max_retries = 40;
        let settings = setup.settings();
        let store = db.store().await;
        let reports = sync::run(
            &settings,
            &store,
            Mode::Backfill,
            &["repos".to_string()],
            metrics.clone(),
            CancellationToken::new(),
        )
        .await
        .unwrap();
        stop.cancel();
        for n in neighbours {
            let _ = n.await;
        }
        for r in &reports {
            assert!(r.result.is_ok(), "{:?}", r.result);
        }
        let ours = metrics.snapshot();
        eprintln!(
            "{}: our client: {ours:?}; simulator: {}",
            db.label(),
            sim.sim.stats()
        );
        assert!(ours.throttled_429 > 0, "the run met 429s: {ours:?}");
        assert!(
            ours.throttle_pauses > 0,
            "the pool paused on server hints: {ours:?}"
        );
        truth::compare(&store, ORG, &sim.sim.truth())
            .await
            .assert_empty(&format!("{} under throttling", db.label()));
        sim.shutdown().await;
    }
}

fn pats(tokens: &[&str]) -> Vec<Pat> {
    tokens
        .iter()
        .map(|t| Pat {
            token: t.to_string(),
            scopes: vec![],
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_leaves_the_pool_and_the_other_finishes() {
    let db = TestDb::sqlite();
    let sim = support::start_sim(SimConfig {
        seed: 5,
        projects: 2,
        repos_per_project: 2,
        prs_per_repo: 300,
        pats: pats(&["revoked-s3cr3t-aaa", "good-s3cr3t-bbb"]),
        ..SimConfig::default()
    })
    .await;
    sim.sim.revoke_pat("revoked-s3cr3t-aaa");
    let dir = tempfile::tempdir().unwrap();
    let url = sim.base_url();
    let mut setup = Setup::new(&url, db.url());
    setup.tokens = r#"{ name = "svc-revoked", secret = "env:IT_PAT_REVOKED" }, { name = "svc-good", secret = "env:IT_PAT_GOOD" }"#;
    let config = setup.write(dir.path());
    let out = support::binary()
        .args(["backfill", "--config"])
        .arg(&config)
        .env("IT_PAT_REVOKED", "revoked-s3cr3t-aaa")
        .env("IT_PAT_GOOD", "good-s3cr3t-bbb")
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stderr.contains("svc-revoked"),
        "the refused token is named:\n{stderr}"
    );
    for secret in ["revoked-s3cr3t-aaa", "good-s3cr3t-bbb"] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "a token value leaked into the output"
        );
    }
    let store = db.store().await;
    truth::compare(&store, ORG, &sim.sim.truth())
        .await
        .assert_empty("backfill on the remaining token");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_bad_tokens_exit_1_with_invalid_credentials() {
    let db = TestDb::sqlite();
    let sim = support::start_sim(SimConfig {
        seed: 5,
        projects: 1,
        repos_per_project: 1,
        prs_per_repo: 10,
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let url = sim.base_url();
    let mut setup = Setup::new(&url, db.url());
    setup.tokens = r#"{ name = "svc-a", secret = "env:IT_PAT_A" }, { name = "svc-b", secret = "env:IT_PAT_B" }"#;
    let config = setup.write(dir.path());
    let out = support::binary()
        .args(["sync", "--config"])
        .arg(&config)
        .env("IT_PAT_A", "wrong-s3cr3t-one")
        .env("IT_PAT_B", "wrong-s3cr3t-two")
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("invalid_credentials"), "{all}");
    assert!(
        all.contains("svc-a") && all.contains("svc-b"),
        "both tokens are named: {all}"
    );
    assert!(
        !all.contains("wrong-s3cr3t"),
        "a token value leaked into the output"
    );
    sim.shutdown().await;
}
