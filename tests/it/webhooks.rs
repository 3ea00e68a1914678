//! Webhooks (issue 13): `POST /webhooks/ado` of the real binary's `run`, polling every hour,
//! against the simulator. A pull request voted on, pushed to, commented on and completed, a
//! work item edited and a build finished land in the database within 2 s of the delivery;
//! wrong secrets, oversized, malformed and other-organization deliveries write nothing; a
//! replayed delivery is not processed twice; a burst of 100 deliveries for one PR costs at
//! most two re-fetches; events left pending by a stopped process are finished by the next
//! start. The receiver under arbitrary bodies and headers never panics and writes nothing.

use crate::support::service::Service;
use crate::support::{self, ORG, Setup, TestDb, truth};
use ado_ingest::store::{AnyStore, WebhookEvent, WebhookLog};
use ado_sim::{Change, RunningSim, SimConfig};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const SECRET: &str = "hook-s3cret";

/// Every connector a webhook re-fetches for, polling hourly, with the receiver on.
fn webhook_setup<'a>(sim_url: &'a str, release_url: &'a str, db_url: &'a str) -> Setup<'a> {
    let mut setup = Setup::new(sim_url, db_url);
    setup.connectors = vec!["repos", "boards", "pipelines"];
    setup.pr_depth = true;
    setup.interval = "1h";
    setup.release_url = Some(release_url);
    // Right after the last connector section: Pipelines' build changes on.
    setup.extra = concat!(
        "build_changes = true\n",
        "\n[server]\nlisten = \"127.0.0.1:0\"\nwebhook_secret = \"hook-s3cret\"\n"
    );
    setup
}

fn small_org(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        projects: 2,
        repos_per_project: 2,
        prs_per_repo: 25,
        work_items_per_project: 10,
        definitions_per_project: 2,
        builds_per_definition: 12,
        release_definitions_per_project: 1,
        releases_per_definition: 3,
        environments_per_project: 1,
        deployment_records_per_environment: 3,
        ..SimConfig::default()
    }
}

/// A delivery as ADO shapes it (API_FACTS §6), from `org_url`.
fn delivery(org_url: &str, event_type: &str, id: &str, resource: Value, project: &str) -> Value {
    let base = format!("{org_url}/");
    json!({
        "subscriptionId": "00000000-0000-0000-0000-00000000beef",
        "notificationId": 1,
        "id": id,
        "eventType": event_type,
        "publisherId": "tfs",
        "message": {"text": "test"},
        "resource": resource,
        "resourceVersion": "1.0",
        "resourceContainers": {
            "collection": {"id": "c0ffee00-0000-0000-0000-000000000000", "baseUrl": base},
            "account": {"id": "acc00000-0000-0000-0000-000000000000", "baseUrl": base},
            "project": {"id": project, "baseUrl": base}
        },
        "createdDate": "2026-12-06T00:00:00Z"
    })
}

struct Hook<'a> {
    svc: &'a Service,
    http: reqwest::Client,
}

impl Hook<'_> {
    async fn post_raw(&self, headers: &[(&str, String)], body: Vec<u8>) -> (u16, String) {
        let mut r = self
            .http
            .post(format!("{}/webhooks/ado", self.svc.base))
            .header("content-type", "application/json");
        for (k, v) in headers {
            r = r.header(*k, v);
        }
        let resp = r
            .body(body)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .expect("POST /webhooks/ado");
        let status = resp.status().as_u16();
        (status, resp.text().await.unwrap_or_default())
    }

    async fn post(&self, body: &Value) -> (u16, String) {
        self.post_raw(
            &[("X-ADO-Signature", SECRET.to_string())],
            body.to_string().into_bytes(),
        )
        .await
    }
}

fn pr_of(truth: &Value, id: u64) -> Value {
    truth["pull_requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pullRequestId"].as_u64() == Some(id))
        .cloned()
        .unwrap_or_else(|| panic!("PR {id} in the truth"))
}

fn project_of_pr(pr: &Value) -> String {
    pr["repository"]["project"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Polls the comparison until it is empty; returns how long that took.
async fn lands(store: &AnyStore, sim: &RunningSim, what: &str, svc: &Service) -> Duration {
    let started = Instant::now();
    let truth = sim.sim.truth();
    loop {
        let mut diff = truth::compare(store, ORG, &truth).await.lines;
        diff.extend(truth::compare_pr_depth(store, ORG, &truth).await.lines);
        diff.extend(truth::compare_boards(store, ORG, &truth).await.lines);
        diff.extend(truth::compare_pipelines(store, ORG, &truth).await.lines);
        if diff.is_empty() {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{what}: the database does not equal the truth 10 s after the delivery: {:?}\nlog:\n{}",
            &diff[..diff.len().min(10)],
            svc.log()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn requests(sim: &RunningSim, endpoint: &str) -> u64 {
    sim.sim.stats()["by_endpoint"][endpoint]
        .as_u64()
        .unwrap_or(0)
}

/// Waits until every recorded event is processed.
async fn processed(store: &AnyStore, svc: &Service) -> Vec<ado_ingest::store::StoredWebhookEvent> {
    let started = Instant::now();
    loop {
        let events = store.webhook_events(ORG).await.unwrap();
        if events.iter().all(|e| e.processed_at.is_some()) {
            return events;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "events still pending after 20 s: {events:?}\nlog:\n{}",
            svc.log()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_land_within_two_seconds_and_refused_ones_write_nothing() {
    for db in TestDb::all().await {
        let label = db.label();
        let sim = support::start_sim(small_org(61)).await;
        let (url, release) = (sim.base_url(), sim.release_base_url());
        let dir = tempfile::tempdir().unwrap();
        let config = webhook_setup(&url, &release, db.url()).write(dir.path());
        let store = db.store().await;
        let svc = Service::start(&config);
        svc.wait_passes(
            &["repos", "boards", "pipelines"],
            1,
            Duration::from_secs(120),
        )
        .await;
        let hook = Hook {
            svc: &svc,
            http: reqwest::Client::new(),
        };
        let truth0 = sim.sim.truth();
        let active: Vec<u64> = truth0["pull_requests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["status"] == "active")
            .filter(|p| p["reviewers"].as_array().is_some_and(|r| !r.is_empty()))
            .map(|p| p["pullRequestId"].as_u64().unwrap())
            .collect();
        assert!(active.len() >= 4, "{label}: active PRs to change");
        sim.sim.reset_stats();

        // Refused or ignored: nothing recorded, nothing fetched.
        let pr = pr_of(&truth0, active[0]);
        let project = project_of_pr(&pr);
        let good = delivery(
            &url,
            "git.pullrequest.updated",
            "ev-0",
            pr.clone(),
            &project,
        );
        let body = good.to_string().into_bytes();
        let (s, _) = hook.post_raw(&[], body.clone()).await;
        assert_eq!(s, 401, "{label}: no credentials");
        let (s, _) = hook
            .post_raw(&[("X-ADO-Signature", "wrong".into())], body.clone())
            .await;
        assert_eq!(s, 401, "{label}: wrong secret");
        let basic_wrong = format!(
            "Basic {}",
            base64_encode(format!("ado:{SECRET}x").as_bytes())
        );
        let (s, _) = hook
            .post_raw(&[("Authorization", basic_wrong)], body.clone())
            .await;
        assert_eq!(s, 401, "{label}: wrong Basic password");
        let mut big = good.clone();
        big["padding"] = Value::String("x".repeat(1 << 20));
        let (s, _) = hook.post(&big).await;
        assert_eq!(s, 413, "{label}: over 1 MiB");
        let (s, _) = hook
            .post_raw(
                &[("X-ADO-Signature", SECRET.into())],
                b"{\"id\": \"x\", ".to_vec(),
            )
            .await;
        assert_eq!(s, 400, "{label}: malformed JSON");
        let mut unknown = good.clone();
        unknown["eventType"] = json!("git.push");
        let (s, _) = hook.post(&unknown).await;
        assert_eq!(s, 400, "{label}: an event type not taken");
        let other = delivery(
            "https://dev.azure.com/someone-else",
            "git.pullrequest.updated",
            "ev-other",
            pr.clone(),
            &project,
        );
        let (s, body) = hook.post(&other).await;
        assert_eq!(s, 202, "{label}: another org's event is answered: {body}");
        assert!(body.contains("other_org"), "{label}: {body}");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            store.webhook_events(ORG).await.unwrap().is_empty(),
            "{label}: nothing recorded for refused deliveries"
        );
        assert_eq!(requests(&sim, "pullrequest"), 0, "{label}: nothing fetched");

        // A vote, a push, a comment, a completion: each lands within 2 s of its delivery.
        let changes = [
            (
                Change::VotePullRequest {
                    pr: active[0] as u32,
                },
                "git.pullrequest.updated",
            ),
            (
                Change::PushToPullRequest {
                    pr: active[1] as u32,
                },
                "git.pullrequest.updated",
            ),
            (
                Change::CommentOnPullRequest {
                    pr: active[2] as u32,
                },
                "ms.vss-code.git-pullrequest-comment-event",
            ),
            (
                Change::CompletePullRequest {
                    pr: active[3] as u32,
                },
                "git.pullrequest.merged",
            ),
        ];
        for (i, (change, event_type)) in changes.iter().enumerate() {
            sim.sim.apply(change).expect("change applies");
            let id = match change {
                Change::VotePullRequest { pr }
                | Change::PushToPullRequest { pr }
                | Change::CommentOnPullRequest { pr }
                | Change::CompletePullRequest { pr } => u64::from(*pr),
                _ => unreachable!(),
            };
            let pr = pr_of(&sim.sim.truth(), id);
            let resource = if event_type.starts_with("ms.vss-code") {
                json!({"comment": {"id": 1, "content": "hi"}, "pullRequest": pr})
            } else {
                pr.clone()
            };
            let body = delivery(
                &url,
                event_type,
                &format!("ev-pr-{i}"),
                resource,
                &project_of_pr(&pr),
            );
            let (s, text) = hook.post(&body).await;
            assert_eq!(s, 202, "{label}: {event_type}: {text}");
            let took = lands(&store, &sim, &format!("{label}: {change:?}"), &svc).await;
            eprintln!("{label}: {change:?} landed {took:?} after its delivery");
            assert!(
                took < Duration::from_secs(2),
                "{label}: {change:?} took {took:?}"
            );
        }

        // A replayed delivery is answered and not processed again.
        processed(&store, &svc).await;
        sim.sim.reset_stats();
        let replay = delivery(
            &url,
            "git.pullrequest.updated",
            "ev-pr-0",
            pr_of(&sim.sim.truth(), active[0]),
            &project,
        );
        let (s, text) = hook.post(&replay).await;
        assert_eq!(s, 202, "{label}: {text}");
        assert!(text.contains("duplicate"), "{label}: {text}");
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            requests(&sim, "pullrequest"),
            0,
            "{label}: a replay fetches nothing"
        );

        // A burst of 100 deliveries for one PR: at most two re-fetches.
        sim.sim
            .apply(&Change::VotePullRequest {
                pr: active[0] as u32,
            })
            .unwrap();
        let pr = pr_of(&sim.sim.truth(), active[0]);
        let burst = (0..100).map(|i| {
            let body = delivery(
                &url,
                "git.pullrequest.updated",
                &format!("ev-burst-{i}"),
                pr.clone(),
                &project,
            );
            let hook = &hook;
            async move { hook.post(&body).await.0 }
        });
        let statuses = futures::future::join_all(burst).await;
        assert!(statuses.iter().all(|s| *s == 202), "{label}: {statuses:?}");
        let events = processed(&store, &svc).await;
        assert_eq!(
            events
                .iter()
                .filter(|e| e.event_id.starts_with("ev-burst-"))
                .count(),
            100,
            "{label}: every delivery recorded"
        );
        let fetched = requests(&sim, "pullrequest");
        eprintln!("{label}: 100 deliveries for one PR: {fetched} re-fetches");
        assert!(
            (1..=2).contains(&fetched),
            "{label}: 100 deliveries caused {fetched} re-fetches"
        );
        lands(&store, &sim, &format!("{label}: after the burst"), &svc).await;

        // A work item edit.
        sim.sim.mutate_split(6101, 0, 3);
        for (i, p) in truth0["projects"].as_array().unwrap().iter().enumerate() {
            let body = delivery(
                &url,
                "workitem.updated",
                &format!("ev-wi-{i}"),
                json!({"id": 1, "workItemId": 1, "rev": 2,
                       "revision": {"id": 1, "fields": {"System.TeamProject": p["name"]}}}),
                p["id"].as_str().unwrap(),
            );
            let (s, text) = hook.post(&body).await;
            assert_eq!(s, 202, "{label}: {text}");
        }
        let took = lands(&store, &sim, &format!("{label}: work item edits"), &svc).await;
        eprintln!("{label}: work item edits landed {took:?} after their deliveries");
        assert!(took < Duration::from_secs(2), "{label}: took {took:?}");

        // A build that finishes.
        let truth1 = sim.sim.truth();
        let running = truth1["builds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["status"] == "inProgress")
            .cloned()
            .expect("a build in progress");
        let build = running["id"].as_u64().unwrap() as u32;
        sim.sim
            .apply(&Change::FinishBuild {
                build,
                result: "succeeded".into(),
            })
            .expect("finish build");
        let finished = sim.sim.truth()["builds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["id"].as_u64() == Some(u64::from(build)))
            .cloned()
            .unwrap();
        let body = delivery(
            &url,
            "build.complete",
            "ev-build",
            finished.clone(),
            finished["project"]["id"].as_str().unwrap(),
        );
        let (s, text) = hook.post(&body).await;
        assert_eq!(s, 202, "{label}: {text}");
        let took = lands(&store, &sim, &format!("{label}: finished build"), &svc).await;
        eprintln!("{label}: a finished build landed {took:?} after its delivery");
        assert!(took < Duration::from_secs(2), "{label}: took {took:?}");

        let events = processed(&store, &svc).await;
        assert!(
            events
                .iter()
                .all(|e| e.outcome.as_deref() == Some("refetched")),
            "{label}: {events:?}"
        );
        let status = ado_ingest::status::collect(&store, ORG, &[], chrono::Utc::now())
            .await
            .unwrap();
        let w = status.webhooks.expect("status shows the deliveries");
        assert_eq!(
            (w.received_24h, w.pending, w.failed_24h),
            (events.len() as i64, 0, 0),
            "{label}: {w:?}"
        );
        assert!(w.last_failure.is_none(), "{label}: {w:?}");
        let metrics = svc.metrics().await;
        assert_eq!(
            metrics.value(
                "ado_ingest_webhook_deliveries_total",
                &[("outcome", "duplicate")]
            ),
            Some(1.0),
            "{label}"
        );
        drop(hook);
        let mut svc = svc;
        let (status, _) = svc.terminate();
        assert!(status.success(), "{label}: {}", svc.log());
        sim.shutdown().await;
    }
}

/// What a stopped process recorded and did not re-fetch is re-fetched by the next start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_left_pending_are_finished_by_the_next_start() {
    let db = TestDb::sqlite();
    let sim = support::start_sim(small_org(62)).await;
    let (url, release) = (sim.base_url(), sim.release_base_url());
    let dir = tempfile::tempdir().unwrap();
    let setup = webhook_setup(&url, &release, db.url());
    let store = db.store().await;
    support::run_ok(
        &setup.settings(),
        &store,
        ado_ingest::connectors::Mode::Backfill,
    )
    .await;
    let truth0 = sim.sim.truth();
    let pr = truth0["pull_requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            p["status"] == "active" && p["reviewers"].as_array().is_some_and(|r| !r.is_empty())
        })
        .cloned()
        .unwrap();
    let id = pr["pullRequestId"].as_u64().unwrap();
    sim.sim
        .apply(&Change::VotePullRequest { pr: id as u32 })
        .unwrap();
    // As the receiver records it, then the process stopped before the re-fetch.
    let target = format!(
        "pull_request:{}:{}:{id}",
        project_of_pr(&pr),
        pr["repository"]["id"].as_str().unwrap()
    );
    assert!(
        store
            .record_webhook_event(
                ORG,
                &WebhookEvent {
                    event_id: "left-behind".into(),
                    event_type: "git.pullrequest.updated".into(),
                    subscription_id: None,
                    target,
                    received_at: chrono::Utc::now(),
                },
            )
            .await
            .unwrap()
    );
    let config = setup.write(dir.path());
    let mut svc = Service::start(&config);
    let events = processed(&store, &svc).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].outcome.as_deref(),
        Some("refetched"),
        "{events:?}"
    );
    lands(&store, &sim, "pending event", &svc).await;
    let (status, _) = svc.terminate();
    assert!(status.success(), "{}", svc.log());
    sim.shutdown().await;
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

mod fuzz {
    //! The receiver alone (the library's router on a free port, a SQLite database, no ADO):
    //! arbitrary bodies and headers never panic it, are answered 202/400/401/413, and write a
    //! row only for what it answered as accepted.

    use super::*;
    use ado_ingest::server;
    use ado_ingest::service::state::ServiceState;
    use ado_ingest::webhooks::{Receiver, Stats};
    use proptest::prelude::*;
    use std::sync::Arc;

    const ORG_URL: &str = "https://dev.azure.com/fuzzorg";

    fn valid() -> Value {
        delivery(
            ORG_URL,
            "git.pullrequest.updated",
            "seed",
            json!({"pullRequestId": 3, "repository": {"id": "r", "project": {"id": "p"}}}),
            "p",
        )
    }

    /// A valid delivery with parts removed or replaced: the inputs closest to acceptable.
    fn mutated() -> impl Strategy<Value = Vec<u8>> {
        let keys = prop::sample::select(vec![
            "id",
            "eventType",
            "resource",
            "resourceContainers",
            "subscriptionId",
        ]);
        let values = prop_oneof![
            Just(Value::Null),
            Just(json!(7)),
            Just(json!("")),
            Just(json!([])),
            Just(json!({})),
            "[a-z.]{0,30}".prop_map(Value::String),
        ];
        (keys, values, any::<bool>(), any::<u32>()).prop_map(|(k, v, remove, n)| {
            let mut body = valid();
            body["id"] = json!(format!("ev-{n}"));
            if remove {
                body.as_object_mut().unwrap().remove(k);
            } else {
                body[k] = v;
            }
            body.to_string().into_bytes()
        })
    }

    fn bodies() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..512),
            "\\PC{0,200}".prop_map(String::into_bytes),
            mutated(),
        ]
    }

    fn credentials() -> impl Strategy<Value = Vec<(String, String)>> {
        prop_oneof![
            Just(vec![]),
            Just(vec![("x-ado-signature".to_string(), SECRET.to_string())]),
            "[ -~]{0,40}".prop_map(|s| vec![("x-ado-signature".to_string(), s)]),
            "[ -~]{0,40}".prop_map(|s| vec![("authorization".to_string(), s)]),
            "[ -~]{0,40}".prop_map(|s| vec![(
                "authorization".to_string(),
                format!("Basic {}", base64_encode(format!("u:{s}").as_bytes()))
            )]),
        ]
    }

    #[test]
    fn arbitrary_deliveries_never_panic_and_write_only_what_is_accepted() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let db = TestDb::sqlite();
        let (store, base, _queue) = rt.block_on(async {
            let store = db.store().await;
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            let receiver = Receiver::new(
                ORG.to_string(),
                ORG_URL.to_string(),
                secrecy::SecretString::from(SECRET),
                store.clone(),
                tx,
                Arc::new(Stats::default()),
            );
            let state = Arc::new(ServiceState {
                org: ORG.to_string(),
                store: store.clone(),
                started_at: chrono::Utc::now(),
                shutdown: tokio_util::sync::CancellationToken::new(),
                connectors: Vec::new(),
                webhooks: Some(Arc::new(receiver)),
                admin: None,
            });
            let (listener, addr) = server::bind("127.0.0.1:0").await.unwrap();
            tokio::spawn(server::serve(listener, state, std::future::pending()));
            (store, format!("http://{addr}/webhooks/ado"), rx)
        });
        let http = reqwest::Client::new();
        let accepted = std::cell::Cell::new(0usize);
        let config = ProptestConfig {
            cases: 300,
            failure_persistence: None,
            ..ProptestConfig::default()
        };
        proptest!(config, |(body in bodies(), headers in credentials())| {
            let (status, text) = rt.block_on(async {
                let mut r = http.post(&base).body(body.clone());
                for (k, v) in &headers {
                    if let Ok(v) = reqwest::header::HeaderValue::from_str(v) {
                        r = r.header(k.as_str(), v);
                    }
                }
                let resp = r.send().await.expect("the receiver answers");
                (resp.status().as_u16(), resp.text().await.unwrap_or_default())
            });
            prop_assert!([202, 400, 401, 413].contains(&status), "{status}: {text}");
            if status == 202 && text.contains("\"accepted\"") {
                accepted.set(accepted.get() + 1);
            }
            let rows = rt.block_on(store.webhook_events(ORG)).unwrap().len();
            prop_assert_eq!(rows, accepted.get(), "rows written only for accepted deliveries");
        });
    }
}

/// End to end: subscriptions in the simulator point at the service; a vote, a comment, a
/// work item edit and a finished build are delivered by the simulator itself and land.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulators_deliveries_land_within_two_seconds() {
    let db = TestDb::sqlite();
    let sim = support::start_sim(SimConfig {
        webhook_retry_scale: 0.001,
        ..small_org(63)
    })
    .await;
    let (url, release) = (sim.base_url(), sim.release_base_url());
    let dir = tempfile::tempdir().unwrap();
    let config = webhook_setup(&url, &release, db.url()).write(dir.path());
    let store = db.store().await;
    let svc = Service::start(&config);
    svc.wait_passes(
        &["repos", "boards", "pipelines"],
        1,
        Duration::from_secs(120),
    )
    .await;
    let http = reqwest::Client::new();
    let truth0 = sim.sim.truth();
    let receiver = format!("{}/webhooks/ado", svc.base);
    for p in truth0["projects"].as_array().unwrap() {
        for (event_type, version) in [
            ("git.pullrequest.updated", "1.0"),
            ("ms.vss-code.git-pullrequest-comment-event", "2.0"),
            ("workitem.updated", "1.0"),
            ("build.complete", "1.0-preview.1"),
        ] {
            let body = json!({
                "publisherId": "tfs", "eventType": event_type, "resourceVersion": version,
                "consumerId": "webHooks", "consumerActionId": "httpRequest",
                "publisherInputs": {"projectId": p["id"]},
                "consumerInputs": {"url": receiver, "httpHeaders": format!("X-ADO-Signature:{SECRET}")}
            });
            let r = http
                .post(format!("{url}/_apis/hooks/subscriptions?api-version=7.1"))
                .basic_auth("", Some("demo-pat"))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
        }
    }
    let active = truth0["pull_requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "active")
        .filter(|p| p["reviewers"].as_array().is_some_and(|r| !r.is_empty()))
        .map(|p| p["pullRequestId"].as_u64().unwrap() as u32)
        .collect::<Vec<_>>();
    let work_item = truth0["work_items"].as_array().unwrap()[0]["id"]
        .as_u64()
        .unwrap() as u32;
    let build = truth0["builds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["status"] == "inProgress")
        .expect("a build in progress")["id"]
        .as_u64()
        .unwrap() as u32;
    let changes = [
        Change::VotePullRequest { pr: active[0] },
        Change::CommentOnPullRequest { pr: active[1] },
        Change::EditWorkItem { id: work_item },
        Change::FinishBuild {
            build,
            result: "failed".into(),
        },
    ];
    for change in changes {
        sim.sim.clear_deliveries();
        sim.sim.apply(&change).expect("change applies");
        assert!(sim.sim.wait_deliveries_idle(Duration::from_secs(20)).await);
        let delivered = sim.sim.deliveries();
        assert!(
            !delivered.is_empty() && delivered.iter().all(|d| d.status_code == Some(202)),
            "{change:?}: {delivered:?}"
        );
        let took = lands(&store, &sim, &format!("{change:?}"), &svc).await;
        eprintln!("{change:?}: delivered by the simulator, landed {took:?} after the delivery");
        assert!(took < Duration::from_secs(2), "{change:?}: took {took:?}");
    }
    let mut svc = svc;
    let (status, _) = svc.terminate();
    assert!(status.success(), "{}", svc.log());
    sim.shutdown().await;
}
