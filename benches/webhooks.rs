//! Webhooks benchmark (harness-less: `cargo bench --bench webhooks`).
//!
//! A simulated org (4 projects × 3 repositories × 40 PRs, 40 work items and 2 × 60 builds per
//! project) is backfilled by the library into a fresh SQLite file (and a fresh Postgres
//! database when `TEST_DATABASE_URL` is set); then `run` — in this process, every connector
//! polling hourly, the receiver on — gets the simulator's own deliveries, through
//! subscriptions made with the simulator's service-hooks API. Three phases:
//! 1. one change at a time, `BENCH_ROUNDS` (default 20) of each kind — a PR vote, a PR
//!    comment, a work item edit, a finished build: the requests of each re-fetch by endpoint
//!    (the simulator's count) and the time from a delivery's receipt to the end of its
//!    re-fetch (`webhook_events.received_at` → `processed_at`; it includes the 100 ms the
//!    queue waits for a burst to go quiet);
//! 2. a burst: 100 deliveries for one PR posted at once: the re-fetches they cost;
//! 3. a flood: 1,000 deliveries for 200 different PRs posted 16 at a time: deliveries
//!    answered per second, the answer time (p50/p99) and the re-fetches.

#[allow(dead_code)]
#[path = "support/ingest_run.rs"]
mod ingest_run;

use ado_ingest::config::Settings;
use ado_ingest::connectors::Mode;
use ado_ingest::metrics::Metrics;
use ado_ingest::store::{AnyStore, Store, WebhookLog};
use ado_sim::{Change, Sim, SimConfig};
use ingest_run::{env_num, targets};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const SECRET: &str = "bench-secret";
const ORG: &str = "contoso";

fn config(sim: &Sim, db_url: &str) -> String {
    let mut toml = format!(
        "[database]\nurl = \"{db_url}\"\n\n[organization]\nurl = \"{}\"\nrelease_url = \"{}\"\n\n\
         [server]\nlisten = \"127.0.0.1:0\"\nwebhook_secret = \"{SECRET}\"\n",
        sim.base_url(),
        sim.release_base_url()
    );
    for c in ["repos", "boards", "pipelines"] {
        toml.push_str(&format!(
            "\n[connectors.{c}]\ntokens = [\"demo-pat\"]\nrequests_per_second = 5000\n\
             burst = 5000\nconcurrency = 8\ninterval = \"1h\"\n"
        ));
    }
    toml.push_str("build_changes = true\n");
    toml
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn ms(v: &[f64]) -> String {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    format!(
        "{:.0} / {:.0} / {:.0}",
        percentile(&v, 0.0),
        percentile(&v, 0.5),
        percentile(&v, 1.0)
    )
}

/// Endpoint → requests since the last reset, without the zeros.
fn requests(sim: &Sim) -> Vec<(String, u64)> {
    let stats = sim.stats();
    let mut out: Vec<(String, u64)> = stats["by_endpoint"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_u64()?)))
                .filter(|(_, n)| *n > 0)
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

async fn settle(sim: &Sim, store: &AnyStore) {
    assert!(sim.wait_deliveries_idle(Duration::from_secs(30)).await);
    let started = Instant::now();
    loop {
        let events = store.webhook_events(ORG).await.unwrap();
        if events.iter().all(|e| e.processed_at.is_some()) {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "events stuck");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn delivery(sim: &Sim, id: &str, pr: &Value) -> Value {
    let base = format!("{}/", sim.base_url());
    json!({
        "id": id, "eventType": "git.pullrequest.updated", "publisherId": "tfs",
        "resource": pr, "resourceVersion": "1.0",
        "resourceContainers": {"collection": {"id": "c", "baseUrl": base},
                               "project": {"id": pr["repository"]["project"]["id"], "baseUrl": base}}
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rounds = env_num("BENCH_ROUNDS", 20) as usize;
    let dir = tempfile::tempdir().expect("temp dir");
    println!(
        "Setup: 4 projects × 3 repositories × 40 PRs, 40 work items and 2 × 60 builds per \
         project; `run` in process, every connector polling hourly; {rounds} rounds per kind.\n"
    );
    for target in targets(dir.path(), "webhooks").await {
        let sim = Sim::new(SimConfig {
            seed: 71,
            projects: 4,
            repos_per_project: 3,
            prs_per_repo: 40,
            work_items_per_project: 40,
            definitions_per_project: 2,
            builds_per_definition: 60,
            release_definitions_per_project: 1,
            releases_per_definition: 2,
            environments_per_project: 1,
            deployment_records_per_environment: 2,
            webhook_retry_scale: 0.01,
            ..SimConfig::default()
        });
        let running = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let sim = running.sim.clone();
        let settings = Settings::from_toml(
            Some(&config(&sim, &target.url)),
            "bench.toml",
            std::iter::empty(),
        )
        .expect("bench settings");
        let store = AnyStore::connect(&target.url).await.expect("store");
        store.migrate().await.expect("migrations");
        let connectors: Vec<String> = ["repos", "boards", "pipelines"].map(String::from).to_vec();
        ado_ingest::sync::run(
            &settings,
            &store,
            Mode::Backfill,
            &connectors,
            Arc::new(Metrics::default()),
            CancellationToken::new(),
        )
        .await
        .expect("backfill");

        let shutdown = CancellationToken::new();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let service = tokio::spawn({
            let (settings, store, connectors, shutdown) = (
                settings.clone(),
                store.clone(),
                connectors.clone(),
                shutdown.clone(),
            );
            async move {
                ado_ingest::service::run(
                    &settings,
                    &store,
                    &connectors,
                    Arc::new(Metrics::default()),
                    shutdown,
                    move |addr| {
                        let _ = tx.send(addr);
                    },
                )
                .await
            }
        });
        let addr = rx.await.expect("the service listens");
        let receiver = format!("http://{addr}/webhooks/ado");
        // The first passes (incremental: the backfill is done) before the changes start.
        tokio::time::sleep(Duration::from_secs(3)).await;

        let http = reqwest::Client::new();
        let truth = sim.truth();
        for p in truth["projects"].as_array().unwrap() {
            for (event_type, version) in [
                ("git.pullrequest.updated", "1.0"),
                ("ms.vss-code.git-pullrequest-comment-event", "2.0"),
                ("workitem.updated", "1.0"),
                ("build.complete", "1.0"),
            ] {
                let body = json!({
                    "publisherId": "tfs", "eventType": event_type, "resourceVersion": version,
                    "consumerId": "webHooks", "consumerActionId": "httpRequest",
                    "publisherInputs": {"projectId": p["id"]},
                    "consumerInputs": {"url": receiver, "httpHeaders": format!("X-ADO-Signature:{SECRET}")}
                });
                let r = http
                    .post(format!(
                        "{}/_apis/hooks/subscriptions?api-version=7.1",
                        sim.base_url()
                    ))
                    .basic_auth("", Some("demo-pat"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success());
            }
        }
        let active: Vec<u32> = truth["pull_requests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["status"] == "active")
            .filter(|p| p["reviewers"].as_array().is_some_and(|r| !r.is_empty()))
            .map(|p| p["pullRequestId"].as_u64().unwrap() as u32)
            .collect();
        let work_items: Vec<u32> = truth["work_items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["id"].as_u64().unwrap() as u32)
            .collect();
        let builds: Vec<u32> = truth["builds"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["status"] == "inProgress")
            .map(|b| b["id"].as_u64().unwrap() as u32)
            .collect();

        println!("### {}\n", target.label);
        println!(
            "| change | rounds | deliveries | requests per re-fetch (by endpoint) | receipt → re-fetched, ms (min / median / max) |"
        );
        println!("|---|---|---|---|---|");
        type Make = Box<dyn Fn(usize) -> Option<Change>>;
        let kinds: Vec<(&str, Make)> = vec![
            (
                "PR vote",
                Box::new(move |i| {
                    Some(Change::VotePullRequest {
                        pr: active[i % active.len()],
                    })
                }),
            ),
            (
                "PR comment",
                Box::new({
                    let truth = truth.clone();
                    move |i| {
                        let active: Vec<u32> = truth["pull_requests"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .filter(|p| p["status"] == "active")
                            .map(|p| p["pullRequestId"].as_u64().unwrap() as u32)
                            .collect();
                        Some(Change::CommentOnPullRequest {
                            pr: active[(i * 7) % active.len()],
                        })
                    }
                }),
            ),
            (
                "work item edit",
                Box::new(move |i| {
                    Some(Change::EditWorkItem {
                        id: work_items[(i * 3) % work_items.len()],
                    })
                }),
            ),
            (
                "build finished",
                Box::new(move |i| {
                    builds.get(i).map(|b| Change::FinishBuild {
                        build: *b,
                        result: "succeeded".into(),
                    })
                }),
            ),
        ];
        for (name, make) in kinds {
            let before = store.webhook_events(ORG).await.unwrap().len();
            sim.reset_stats();
            let mut done = 0;
            for i in 0..rounds {
                let Some(change) = make(i) else { break };
                sim.apply(&change).expect("change");
                settle(&sim, &store).await;
                done += 1;
            }
            let events = store.webhook_events(ORG).await.unwrap();
            let new = &events[before..];
            let latency: Vec<f64> = new
                .iter()
                .filter_map(|e| {
                    Some((e.processed_at? - e.received_at).num_microseconds()? as f64 / 1000.0)
                })
                .collect();
            let per: Vec<String> = requests(&sim)
                .into_iter()
                .map(|(e, n)| format!("{e} {:.1}", n as f64 / done.max(1) as f64))
                .collect();
            println!(
                "| {name} | {done} | {} | {} | {} |",
                new.len(),
                per.join(", "),
                ms(&latency)
            );
        }

        // A burst of 100 deliveries for one PR.
        let pr = sim.truth()["pull_requests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["status"] == "active")
            .cloned()
            .unwrap();
        sim.reset_stats();
        let posts = (0..100).map(|i| {
            let body = delivery(&sim, &format!("burst-{i}"), &pr);
            let (http, receiver) = (&http, &receiver);
            async move {
                http.post(receiver)
                    .header("X-ADO-Signature", SECRET)
                    .json(&body)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            }
        });
        let answered = futures::future::join_all(posts).await;
        assert!(answered.iter().all(|s| matches!(s, Ok(202))));
        settle(&sim, &store).await;
        let burst_refetches = sim.stats()["by_endpoint"]["pullrequest"]
            .as_u64()
            .unwrap_or(0);

        // A flood: 1,000 deliveries for 200 PRs, 16 at a time.
        let prs: Vec<Value> = sim.truth()["pull_requests"]
            .as_array()
            .unwrap()
            .iter()
            .take(200)
            .cloned()
            .collect();
        sim.reset_stats();
        let started = Instant::now();
        let mut times = Vec::new();
        let bodies: Vec<Value> = (0..1000)
            .map(|i| delivery(&sim, &format!("flood-{i}"), &prs[i % prs.len()]))
            .collect();
        for chunk in bodies.chunks(16) {
            let posts = chunk.iter().map(|body| {
                let (http, receiver) = (&http, &receiver);
                async move {
                    let t = Instant::now();
                    let s = http
                        .post(receiver)
                        .header("X-ADO-Signature", SECRET)
                        .json(body)
                        .send()
                        .await
                        .map(|r| r.status().as_u16());
                    (s, t.elapsed().as_secs_f64() * 1000.0)
                }
            });
            for (s, t) in futures::future::join_all(posts).await {
                assert!(matches!(s, Ok(202)), "{s:?}");
                times.push(t);
            }
        }
        let flood_secs = started.elapsed().as_secs_f64();
        settle(&sim, &store).await;
        let flood_refetches = sim.stats()["by_endpoint"]["pullrequest"]
            .as_u64()
            .unwrap_or(0);
        times.sort_by(f64::total_cmp);
        println!();
        println!(
            "Burst: 100 deliveries for one PR → {burst_refetches} re-fetch(es). \
             Flood: 1,000 deliveries for {} PRs, 16 at a time: {:.0} deliveries/s answered, \
             answer time p50 {:.1} ms / p99 {:.1} ms, {flood_refetches} re-fetches \
             ({:.2} per PR).\n",
            prs.len(),
            1000.0 / flood_secs,
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            flood_refetches as f64 / prs.len() as f64
        );

        shutdown.cancel();
        let _ = service.await;
        store.close().await;
        running.shutdown().await;
        target.drop_database().await;
    }
}
