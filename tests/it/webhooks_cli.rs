//! `ado-ingest webhooks subscribe|list|delete` (issue 13), the real binary against the
//! simulator's service hooks API: subscribing twice creates each subscription once (and a
//! changed secret updates them in place), `list` shows a subscription ADO restricted after
//! failed deliveries as "Enabled (restricted)" with its last failure, `delete` leaves foreign
//! subscriptions alone, and the errors a user can make say what to fix.

use crate::support::{self, Setup, TestDb};
use ado_sim::{Pat, RunningSim, SimConfig};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

const SECRET_VAR: &str = "IT_WEBHOOK_SECRET";
const ONE: &str = "hook-s3cret-one";
const TWO: &str = "hook-s3cret-two";

fn small_org(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        projects: 2,
        repos_per_project: 1,
        prs_per_repo: 10,
        work_items_per_project: 5,
        definitions_per_project: 1,
        builds_per_definition: 3,
        release_definitions_per_project: 0,
        environments_per_project: 0,
        webhook_retry_scale: 0.001,
        ..SimConfig::default()
    }
}

/// A configuration for `connectors` with the webhook secret read from [`SECRET_VAR`].
fn config(dir: &Path, sim_url: &str, db: &TestDb, connectors: Vec<&str>) -> std::path::PathBuf {
    let mut setup = Setup::new(sim_url, db.url());
    setup.connectors = connectors;
    setup.extra = "\n[server]\nwebhook_secret = \"env:IT_WEBHOOK_SECRET\"\n";
    setup.write(dir)
}

/// Runs the binary off the runtime (the simulator serves on it); exit code, stdout, stderr.
async fn ingest(config: &Path, args: &[&str], secret: &str) -> (i32, String, String) {
    let mut cmd = support::binary();
    cmd.args(args).arg("--config").arg(config);
    cmd.env(SECRET_VAR, secret);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The simulator's subscriptions, as its API lists them.
fn subscriptions(running: &RunningSim) -> Vec<Value> {
    running.sim.subscriptions()["value"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// A web hook made by someone else, through the simulator's API.
async fn create_foreign(running: &RunningSim, url: &str, event_type: &str, project: &str) {
    let answer = reqwest::Client::new()
        .post(format!(
            "{}/_apis/hooks/subscriptions?api-version=7.1",
            running.sim.base_url()
        ))
        .basic_auth("", Some(ado_sim::DEMO_PAT))
        .json(&json!({
            "publisherId": "tfs", "eventType": event_type, "resourceVersion": "1.0",
            "consumerId": "webHooks", "consumerActionId": "httpRequest",
            "publisherInputs": {"projectId": project},
            "consumerInputs": {"url": url},
        }))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
}

/// Project ids and names of the simulated organization.
async fn projects(running: &RunningSim) -> Vec<(String, String)> {
    let body: Value = reqwest::Client::new()
        .get(format!(
            "{}/_apis/projects?api-version=7.1",
            running.sim.base_url()
        ))
        .basic_auth("", Some(ado_sim::DEMO_PAT))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_string(),
                p["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn lines_starting(text: &str, verb: &str) -> usize {
    text.lines().filter(|l| l.starts_with(verb)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_twice_creates_each_subscription_once() {
    let running = support::start_sim(small_org(31)).await;
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &running.sim.base_url(),
        &db,
        vec!["repos", "boards", "pipelines"],
    );
    let url = "http://127.0.0.1:9/webhooks/ado";
    // 9 events (4 pull request, 4 work item, 1 build) in each of 2 projects.
    let (code, out, err) = ingest(&cfg, &["webhooks", "subscribe", "--url", url], ONE).await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(lines_starting(&out, "created "), 18, "{out}");
    assert!(
        !out.contains(ONE) && !err.contains(ONE),
        "the secret is never printed"
    );
    let subs = subscriptions(&running);
    assert_eq!(subs.len(), 18);
    let comment = subs
        .iter()
        .find(|s| s["eventType"] == "ms.vss-code.git-pullrequest-comment-event")
        .unwrap();
    assert_eq!(comment["resourceVersion"], "2.0");
    assert_eq!(comment["consumerInputs"]["url"], url);
    assert_eq!(
        comment["consumerInputs"]["httpHeaders"],
        format!("X-ADO-Signature:{ONE}")
    );

    // Again, with the URL spelled with a trailing slash and an upper-case scheme: all kept.
    let again = "HTTP://127.0.0.1:9/webhooks/ado/";
    let (code, out, err) = ingest(&cfg, &["webhooks", "subscribe", "--url", again], ONE).await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(lines_starting(&out, "kept "), 18, "{out}");
    assert_eq!(subscriptions(&running).len(), 18, "nothing duplicated");

    // A rotated secret: --dry-run says what would change and changes nothing; then each
    // subscription is updated in place.
    let (code, out, _) = ingest(
        &cfg,
        &["webhooks", "subscribe", "--url", url, "--dry-run"],
        TWO,
    )
    .await;
    assert_eq!(code, 0);
    assert_eq!(lines_starting(&out, "would update "), 18, "{out}");
    assert!(
        subscriptions(&running)
            .iter()
            .all(|s| s["consumerInputs"]["httpHeaders"] == format!("X-ADO-Signature:{ONE}"))
    );
    let (code, out, err) = ingest(&cfg, &["webhooks", "subscribe", "--url", url], TWO).await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(lines_starting(&out, "updated "), 18, "{out}");
    let subs = subscriptions(&running);
    assert_eq!(subs.len(), 18);
    assert!(
        subs.iter()
            .all(|s| s["consumerInputs"]["httpHeaders"] == format!("X-ADO-Signature:{TWO}"))
    );
}

/// Answers every request 503, as a receiver that is down.
async fn unavailable_receiver() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let _ = sock.read(&mut buf).await;
                let _ = sock
                    .write_all(
                        b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    )
                    .await;
            });
        }
    });
    format!("http://{addr}/webhooks/ado")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_shows_a_restricted_subscription_with_its_last_failure() {
    let running = support::start_sim(small_org(32)).await;
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &running.sim.base_url(), &db, vec!["repos"]);
    let url = unavailable_receiver().await;
    let (code, out, err) = ingest(&cfg, &["webhooks", "subscribe", "--url", &url], "s").await;
    assert_eq!(code, 0, "{out}{err}");
    // Pull requests change; every delivery meets a 503 until ADO's retries run out (scaled
    // to milliseconds) and the subscription goes on probation.
    running.sim.mutate(7, 40);
    assert!(
        running
            .sim
            .wait_deliveries_idle(Duration::from_secs(30))
            .await
    );
    let restricted: Vec<String> = subscriptions(&running)
        .iter()
        .filter(|s| s["status"] == "onProbation")
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    assert!(!restricted.is_empty(), "{:?}", subscriptions(&running));

    let (code, out, err) = ingest(&cfg, &["webhooks", "list", "--url", &url], "s").await;
    assert_eq!(code, 0, "{out}{err}");
    for id in &restricted {
        let row = out.lines().find(|l| l.contains(id.as_str())).unwrap();
        assert!(row.starts_with("Enabled (restricted)"), "{out}");
    }
    assert!(out.contains("  last failure "), "{out}");
    assert!(out.contains("(503)"), "{out}");
    assert_eq!(
        out.lines().skip(1).filter(|l| !l.starts_with("  ")).count(),
        8,
        "{out}"
    );

    let (code, out, _) = ingest(
        &cfg,
        &["webhooks", "list", "--url", &url, "--format", "json"],
        "s",
    )
    .await;
    assert_eq!(code, 0);
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    let row = rows
        .iter()
        .find(|r| r["id"] == restricted[0].as_str())
        .unwrap();
    assert_eq!(row["state"], "Enabled (restricted)");
    assert_eq!(row["status"], "onProbation");
    assert!(
        row["last_failure"]["message"]
            .as_str()
            .unwrap()
            .contains("(503)"),
        "{row}"
    );

    // A subscription disabled by its user shows as such.
    running
        .sim
        .set_subscription_status(&restricted[0], ado_sim::SubscriptionStatus::DisabledByUser);
    let (_, out, _) = ingest(&cfg, &["webhooks", "list", "--url", &url], "s").await;
    let row = out
        .lines()
        .find(|l| l.contains(restricted[0].as_str()))
        .unwrap();
    assert!(row.starts_with("disabled by user"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_leaves_foreign_subscriptions_alone() {
    let running = support::start_sim(small_org(33)).await;
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &running.sim.base_url(),
        &db,
        vec!["repos", "boards"],
    );
    let ours = "http://127.0.0.1:9/webhooks/ado";
    let projects = projects(&running).await;
    let (first_id, first_name) = projects[0].clone();
    create_foreign(
        &running,
        "https://elsewhere.example/hook",
        "git.pullrequest.updated",
        &first_id,
    )
    .await;
    create_foreign(
        &running,
        "http://127.0.0.1:9/other",
        "workitem.updated",
        &first_id,
    )
    .await;
    let (code, out, err) = ingest(&cfg, &["webhooks", "subscribe", "--url", ours], "s").await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(subscriptions(&running).len(), 2 + 16);

    // Without --url, list shows every web hook of the connectors' events, foreign ones too.
    let (_, out, _) = ingest(&cfg, &["webhooks", "list"], "s").await;
    assert!(out.contains("https://elsewhere.example/hook"), "{out}");

    // Only in one project first (by name, in another case), then everywhere.
    let (code, out, err) = ingest(
        &cfg,
        &[
            "webhooks",
            "delete",
            "--url",
            ours,
            "--project",
            &first_name.to_uppercase(),
        ],
        "s",
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(lines_starting(&out, "deleted "), 8, "{out}");
    assert!(out.lines().all(|l| l.contains(&first_name)), "{out}");
    let (code, out, err) = ingest(&cfg, &["webhooks", "delete", "--url", ours], "s").await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(lines_starting(&out, "deleted "), 8, "{out}");
    let left: Vec<String> = subscriptions(&running)
        .iter()
        .map(|s| s["consumerInputs"]["url"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        left,
        ["https://elsewhere.example/hook", "http://127.0.0.1:9/other"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mistakes_are_refused_with_what_to_fix() {
    let mut org = small_org(34);
    org.pats = vec![
        Pat::full(ado_sim::DEMO_PAT),
        Pat {
            token: "project-only".into(),
            scopes: vec!["vso.project".into()],
        },
    ];
    let running = support::start_sim(org).await;
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let sim_url = running.sim.base_url();
    let cfg = config(dir.path(), &sim_url, &db, vec!["repos"]);

    // A public http URL: the secret would travel in clear.
    let (code, _, err) = ingest(
        &cfg,
        &[
            "webhooks",
            "subscribe",
            "--url",
            "http://ingest.example.com/webhooks/ado",
        ],
        "s",
    )
    .await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("must be https"), "{err}");

    // No secret configured.
    let mut setup = Setup::new(&sim_url, db.url());
    setup.connectors = vec!["repos"];
    let no_secret = dir.path().join("no-secret");
    std::fs::create_dir_all(&no_secret).unwrap();
    let bare = setup.write(&no_secret);
    let (code, _, err) = ingest(
        &bare,
        &[
            "webhooks",
            "subscribe",
            "--url",
            "https://ingest.example.com/webhooks/ado",
        ],
        "s",
    )
    .await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("server.webhook_secret is not set"), "{err}");

    // A project nobody has.
    let (code, _, err) = ingest(
        &cfg,
        &[
            "webhooks",
            "subscribe",
            "--url",
            "https://i.example/w",
            "--project",
            "Nope",
        ],
        "s",
    )
    .await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--project Nope"), "{err}");

    // A token without the event area's scope: 403, naming the scope and the permission.
    let mut setup = Setup::new(&sim_url, db.url());
    setup.connectors = vec!["boards"];
    setup.tokens = r#"{ name = "narrow", secret = "project-only" }"#;
    setup.extra = "\n[server]\nwebhook_secret = \"env:IT_WEBHOOK_SECRET\"\n";
    let narrow_dir = dir.path().join("narrow");
    std::fs::create_dir_all(&narrow_dir).unwrap();
    let narrow = setup.write(&narrow_dir);
    let (code, _, err) = ingest(
        &narrow,
        &["webhooks", "subscribe", "--url", "https://i.example/w"],
        "s",
    )
    .await;
    assert_eq!(code, 1, "{err}");
    for part in [
        "403",
        "vso.work",
        "Edit subscriptions",
        "Project Collection Administrators",
    ] {
        assert!(err.contains(part), "{part}: {err}");
    }
    assert!(subscriptions(&running).is_empty());
}
