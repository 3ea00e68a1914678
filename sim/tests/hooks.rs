//! Service hooks: the subscriptions API (shapes against the recorded examples, validation,
//! scopes, masking) and deliveries to a tiny local receiver — event types per change, the
//! envelope against the recorded payloads, headers and Basic auth, the project filter, and
//! ADO's retry, probation and 410 policy.

mod support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ado_sim::{Change, Pat, SimConfig, SubscriptionStatus};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use serde_json::{Value, json};
use support::{Client, basic, request};

const SUBS: &str = "/_apis/hooks/subscriptions";
const IDLE: Duration = Duration::from_secs(20);

fn cfg() -> SimConfig {
    SimConfig {
        seed: 11,
        projects: 2,
        repos_per_project: 2,
        prs_per_repo: 15,
        work_items_per_project: 10,
        definitions_per_project: 2,
        builds_per_definition: 8,
        release_definitions_per_project: 0,
        environments_per_project: 0,
        webhook_retry_scale: 0.001,
        ..SimConfig::default()
    }
}

/// One request the receiver got.
#[derive(Clone)]
struct Got {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A receiver on 127.0.0.1:0: `/ok` answers 200, `/flaky` 503 once then 200, `/down` 503
/// while `down` is set (then 200), `/gone` 410.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Got>>>,
    flaky_seen: Arc<AtomicBool>,
    down: Arc<AtomicBool>,
}

async fn hit(State(r): State<Receiver>, uri: Uri, headers: HeaderMap, body: Bytes) -> StatusCode {
    let path = uri.path().to_string();
    r.got.lock().unwrap().push(Got {
        path: path.clone(),
        headers,
        body,
    });
    match path.as_str() {
        "/flaky" if !r.flaky_seen.swap(true, Ordering::SeqCst) => StatusCode::SERVICE_UNAVAILABLE,
        "/down" if r.down.load(Ordering::SeqCst) => StatusCode::SERVICE_UNAVAILABLE,
        "/gone" => StatusCode::GONE,
        _ => StatusCode::OK,
    }
}

impl Receiver {
    async fn start() -> (Receiver, String) {
        let r = Receiver::default();
        let app = axum::Router::new()
            .fallback(axum::routing::post(hit))
            .with_state(r.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (r, format!("http://{addr}"))
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    fn clear(&self) {
        self.got.lock().unwrap().clear();
    }
}

fn example(rel: &str) -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/ado-api/examples")
        .join(rel);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(text.trim_start_matches('\u{feff}')).unwrap()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().expect("object").keys().cloned().collect()
}

/// Keys of `want` that `got` lacks.
fn missing(want: &Value, got: &Value) -> Vec<String> {
    keys(want).difference(&keys(got)).cloned().collect()
}

fn projects(c: &Client) -> Vec<String> {
    let t = c.sim().truth_kinds(&["projects"]);
    t["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect()
}

/// An active PR with reviewers and a description, in `project` when given.
fn active_pr(c: &Client, project: Option<&str>, skip: &[u64]) -> (u64, String) {
    let t = c.sim().truth_kinds(&["pull_requests"]);
    let pr = t["pull_requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "active")
        .filter(|p| !p["reviewers"].as_array().is_none_or(|r| r.is_empty()))
        .filter(|p| p["description"].as_str().is_some_and(|d| !d.is_empty()))
        .filter(|p| project.is_none_or(|x| p["repository"]["project"]["id"] == x))
        .find(|p| !skip.contains(&p["pullRequestId"].as_u64().unwrap()))
        .expect("an active PR with reviewers");
    (
        pr["pullRequestId"].as_u64().unwrap(),
        pr["repository"]["project"]["id"]
            .as_str()
            .unwrap()
            .to_string(),
    )
}

fn sub_body(event: &str, project: Option<&str>, url: &str) -> Value {
    json!({
        "publisherId": "tfs",
        "eventType": event,
        "resourceVersion": "1.0",
        "consumerId": "webHooks",
        "consumerActionId": "httpRequest",
        "publisherInputs": { "projectId": project.unwrap_or("") },
        "consumerInputs": { "url": url },
    })
}

async fn subscribe(c: &Client, body: &Value) -> String {
    let v = c.post_json(SUBS, &body.to_string()).await;
    v["id"].as_str().unwrap().to_string()
}

async fn call(c: &Client, method: &str, path: &str, body: Option<&str>) -> support::Resp {
    let headers = vec![("Authorization", basic("", &c.token))];
    let full = format!("/{}{path}?api-version=7.1", c.sim().org());
    request(c.addr(), method, &full, &headers, body).await
}

async fn idle(c: &Client) {
    assert!(c.sim().wait_deliveries_idle(IDLE).await, "deliveries idle");
}

#[tokio::test]
async fn subscriptions_api_shapes_and_masking() {
    let c = Client::start(cfg()).await;
    let project = projects(&c)[0].clone();
    let mut body = sub_body(
        "git.pullrequest.updated",
        Some(&project),
        "https://example.test/hook",
    );
    body["consumerInputs"]["httpHeaders"] = json!("X-One:1\nX-Two: two");
    body["consumerInputs"]["basicAuthUsername"] = json!("user");
    body["consumerInputs"]["basicAuthPassword"] = json!("secret");
    let created = c.post_json(SUBS, &body.to_string()).await;
    let want = example("hooks/subscriptions__POST__hooks_subscriptions.json");
    let want = &want["responses"]["200"]["body"];
    assert_eq!(missing(want, &created), Vec::<String>::new());
    assert_eq!(
        missing(&want["publisherInputs"], &created["publisherInputs"]),
        vec!["buildStatus".to_string(), "definitionName".to_string()],
        "only the example's own filters are absent"
    );
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 36);
    assert_eq!(created["status"], "enabled");
    assert_eq!(
        created["url"],
        format!("{}/_apis/hooks/subscriptions/{id}", c.sim().base_url())
    );
    assert_eq!(created["consumerInputs"]["basicAuthPassword"], "********");
    assert_eq!(created["consumerInputs"]["basicAuthUsername"], "user");
    assert_eq!(
        created["consumerInputs"]["httpHeaders"],
        "X-One:1\nX-Two: two"
    );
    assert_eq!(created["publisherInputs"]["projectId"], project.as_str());
    assert!(created["publisherInputs"]["hostId"].is_string());
    assert!(created["publisherInputs"]["tfsSubscriptionId"].is_string());
    assert!(created["createdBy"]["id"].is_string());
    assert!(created["createdDate"].is_string() && created["modifiedDate"].is_string());
    assert!(!c.sim().subscriptions().to_string().contains("secret"));

    let other = subscribe(&c, &sub_body("build.complete", None, "http://x.test/")).await;
    let list = c.get_json(SUBS).await;
    assert_eq!(list["count"], 2);
    assert!(!list.to_string().contains("secret"));
    let filtered = c
        .get_json(&format!("{SUBS}?eventType=build.complete&publisherId=tfs"))
        .await;
    assert_eq!(filtered["count"], 1);
    assert_eq!(filtered["value"][0]["id"], other.as_str());
    let none = c.get_json(&format!("{SUBS}?consumerId=jenkins")).await;
    assert_eq!(none["count"], 0);

    let one = c.get_json(&format!("{SUBS}/{id}")).await;
    assert_eq!(one, created);
    let notes = c.get_json(&format!("{SUBS}/{id}/notifications")).await;
    assert_eq!(notes, json!({ "count": 0, "value": [] }));

    // PUT replaces: here it disables the subscription.
    let mut put = body.clone();
    put["status"] = json!("disabledByUser");
    let r = call(&c, "PUT", &format!("{SUBS}/{id}"), Some(&put.to_string())).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "disabledByUser");
    assert_eq!(r.json()["id"], id.as_str());
    assert_eq!(
        c.sim().subscription_status(&id),
        Some(SubscriptionStatus::DisabledByUser)
    );

    let r = call(&c, "DELETE", &format!("{SUBS}/{id}"), None).await;
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    for method in ["GET", "DELETE"] {
        let r = call(&c, method, &format!("{SUBS}/{id}"), None).await;
        assert_eq!(r.status, 404, "{method}");
        let e = r.json();
        assert_eq!(e["typeKey"], "SubscriptionNotFoundException");
        assert!(e["message"].as_str().unwrap().contains(&id));
    }
    assert_eq!(c.get_json(SUBS).await["count"], 1);
    let stats = c.sim().stats().to_string();
    for label in [
        "hooks_subscriptions",
        "hooks_subscription",
        "hooks_notifications",
    ] {
        assert!(
            stats.contains(&format!("\"{label}\"")),
            "{label} in {stats}"
        );
    }
}

#[tokio::test]
async fn invalid_subscriptions_are_400() {
    let c = Client::start(cfg()).await;
    let good = sub_body("workitem.updated", None, "http://x.test/hook");
    let cases: Vec<(&str, Value)> = vec![
        ("publisherId", json!({ "publisherId": "azure" })),
        ("consumerId", json!({ "consumerId": "slack" })),
        (
            "consumerActionId",
            json!({ "consumerActionId": "postMessage" }),
        ),
        ("eventType", json!({ "eventType": "git.push" })),
        (
            "projectId",
            json!({ "publisherInputs": { "projectId": "no-such-project" } }),
        ),
        ("url missing", json!({ "consumerInputs": {} })),
        (
            "url scheme",
            json!({ "consumerInputs": { "url": "ftp://x.test/" } }),
        ),
    ];
    for (what, patch) in cases {
        let mut b = good.clone();
        for (k, v) in patch.as_object().unwrap() {
            b[k] = v.clone();
        }
        let r = c
            .post(&format!("{SUBS}?api-version=7.1"), &b.to_string())
            .await;
        assert_eq!(r.status, 400, "{what}: {}", r.text());
        let e = r.json();
        assert!(
            e["message"].is_string() && e["typeKey"].is_string(),
            "{what}"
        );
    }
    let r = c.post(&format!("{SUBS}?api-version=7.1"), "not json").await;
    assert_eq!(r.status, 400);
    assert_eq!(c.get_json(SUBS).await["count"], 0);
    // https is accepted (ADO requires it for Basic auth).
    subscribe(&c, &sub_body("workitem.updated", None, "https://x.test/")).await;
}

#[tokio::test]
async fn scopes_follow_the_event_area() {
    let mut c = Client::start(cfg()).await;
    c.sim().add_pat(Pat {
        token: "work".into(),
        scopes: vec!["vso.work".into()],
    });
    c.sim().add_pat(Pat {
        token: "project".into(),
        scopes: vec!["vso.project".into()],
    });
    let git = subscribe(
        &c,
        &sub_body("git.pullrequest.created", None, "http://x.test/"),
    )
    .await;
    c.token = "work".into();
    let r = c
        .post(
            &format!("{SUBS}?api-version=7.1"),
            &sub_body("git.pullrequest.created", None, "http://x.test/").to_string(),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("vso.code"));
    let wi = subscribe(&c, &sub_body("workitem.created", None, "http://x.test/")).await;
    assert_eq!(
        c.get(&format!("{SUBS}/{git}?api-version=7.1")).await.status,
        403
    );
    assert_eq!(
        call(&c, "DELETE", &format!("{SUBS}/{git}"), None)
            .await
            .status,
        403
    );
    assert_eq!(
        c.get(&format!("{SUBS}/{wi}?api-version=7.1")).await.status,
        200
    );
    assert_eq!(c.get_json(SUBS).await["count"], 2);
    c.token = "project".into();
    assert_eq!(c.get(&format!("{SUBS}?api-version=7.1")).await.status, 403);
}

#[tokio::test]
async fn a_vote_delivers_the_updated_pr_with_headers_and_basic_auth() {
    let c = Client::start(cfg()).await;
    let (rx, url) = Receiver::start().await;
    let mut body = sub_body("git.pullrequest.updated", None, &format!("{url}/ok"));
    body["consumerInputs"]["httpHeaders"] = json!("X-Hook-Key:abc123\nX-Team: boards ");
    body["consumerInputs"]["basicAuthUsername"] = json!("hookuser");
    body["consumerInputs"]["basicAuthPassword"] = json!("hookpass");
    let sub = subscribe(&c, &body).await;
    let (pr, project) = active_pr(&c, None, &[]);
    c.sim()
        .apply(&Change::VotePullRequest { pr: pr as u32 })
        .unwrap();
    idle(&c).await;

    let got = rx.got();
    assert_eq!(got.len(), 1);
    let g = &got[0];
    assert_eq!(g.path, "/ok");
    assert_eq!(
        g.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(g.header("x-hook-key"), Some("abc123"));
    assert_eq!(g.header("x-team"), Some("boards"));
    assert_eq!(
        g.header("authorization"),
        Some(basic("hookuser", "hookpass").as_str())
    );
    let v = g.json();
    assert_eq!(v["eventType"], "git.pullrequest.updated");
    assert_eq!(v["publisherId"], "tfs");
    assert_eq!(v["subscriptionId"], sub.as_str());
    assert_eq!(v["resourceVersion"], "1.0");
    assert_eq!(v["resource"]["pullRequestId"], pr);
    let root = format!("{}/", c.sim().base_url());
    assert_eq!(v["resourceContainers"]["project"]["id"], project.as_str());
    for k in ["collection", "account", "project"] {
        assert_eq!(v["resourceContainers"][k]["baseUrl"], root.as_str(), "{k}");
    }
    // The resource is the PR as the single-PR GET serves it, plus what ADO's events add:
    // `commits`, and the repository's `defaultBranch` and `remoteUrl`.
    let mut served = c.get_json(&format!("/_apis/git/pullrequests/{pr}")).await;
    served["commits"] = v["resource"]["commits"].clone();
    let repo = &v["resource"]["repository"];
    assert!(repo["defaultBranch"].is_string() && repo["remoteUrl"].is_string());
    served["repository"]["defaultBranch"] = repo["defaultBranch"].clone();
    served["repository"]["remoteUrl"] = repo["remoteUrl"].clone();
    assert_eq!(v["resource"], served);
    for k in ["text", "html", "markdown"] {
        assert!(v["message"][k].is_string() && v["detailedMessage"][k].is_string());
    }

    let d = c.sim().deliveries();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].result, "succeeded");
    assert_eq!(d[0].status_code, Some(200));
    assert_eq!(d[0].attempts, 1);
    assert_eq!(d[0].body, g.body.to_vec());
    assert_eq!(d[0].event_id, v["id"].as_str().unwrap());
    assert_eq!(d[0].header("x-hook-key"), Some("abc123"));
    let notes = c.get_json(&format!("{SUBS}/{sub}/notifications")).await;
    assert_eq!(notes["count"], 1);
    let n = &notes["value"][0];
    assert_eq!(n["result"], "succeeded");
    assert_eq!(n["status"], "completed");
    assert_eq!(n["eventId"], v["id"]);
    assert_eq!(n["id"], v["notificationId"]);
    assert_eq!(n["details"]["eventType"], "git.pullrequest.updated");
    assert_eq!(n["details"]["requestAttempts"], 1);
    assert!(n["details"]["completedDate"].is_string());
    let admin = c.admin("GET", "/_sim/deliveries", None).await;
    assert_eq!(admin.status, 200);
    assert_eq!(admin.json()[0]["notification_id"], n["id"]);
}

#[tokio::test]
async fn each_change_delivers_its_event_type() {
    let c = Client::start(cfg()).await;
    let (rx, url) = Receiver::start().await;
    for event in [
        "git.pullrequest.created",
        "git.pullrequest.updated",
        "git.pullrequest.merged",
        "ms.vss-code.git-pullrequest-comment-event",
        "workitem.created",
        "workitem.updated",
        "workitem.deleted",
        "workitem.restored",
        "build.complete",
    ] {
        subscribe(&c, &sub_body(event, None, &format!("{url}/ok"))).await;
    }
    let by_type = |t: &str| -> Vec<Value> {
        rx.got()
            .iter()
            .map(Got::json)
            .filter(|v| v["eventType"] == t)
            .collect()
    };

    // A comment.
    let (pr, _) = active_pr(&c, None, &[]);
    let answer = c
        .sim()
        .apply(&Change::CommentOnPullRequest { pr: pr as u32 })
        .unwrap();
    idle(&c).await;
    let got = rx.got();
    assert_eq!(got.len(), 1, "a comment changes nothing else");
    let v = got[0].json();
    assert_eq!(v["eventType"], "ms.vss-code.git-pullrequest-comment-event");
    assert_eq!(v["resource"]["pullRequest"]["pullRequestId"], pr);
    assert_eq!(v["resource"]["comment"]["id"], answer["comment_id"]);
    rx.clear();

    // A completion: updated and merged, two events.
    c.sim()
        .apply(&Change::CompletePullRequest { pr: pr as u32 })
        .unwrap();
    idle(&c).await;
    let (updated, merged) = (
        by_type("git.pullrequest.updated"),
        by_type("git.pullrequest.merged"),
    );
    assert_eq!((updated.len(), merged.len(), rx.got().len()), (1, 1, 2));
    assert_ne!(updated[0]["id"], merged[0]["id"]);
    for v in [&updated[0], &merged[0]] {
        assert_eq!(v["resource"]["status"], "completed");
        assert_eq!(v["resource"]["pullRequestId"], pr);
    }
    // Same keys as the recorded payloads (extra keys are fine).
    for (name, ours) in [("updated", &updated[0]), ("merged", &merged[0])] {
        let sample = example(&format!(
            "webhooks/docs_events_md__git.pullrequest.{name}.json"
        ));
        assert_eq!(missing(&sample, ours), Vec::<String>::new(), "{name}");
        assert_eq!(
            missing(&sample["resource"], &ours["resource"]),
            Vec::<String>::new(),
            "{name} resource"
        );
        assert_eq!(
            missing(
                &sample["resource"]["repository"],
                &ours["resource"]["repository"]
            ),
            Vec::<String>::new(),
            "{name} repository"
        );
    }
    rx.clear();

    // New PRs.
    let t = c.sim().truth_kinds(&["repositories"]);
    let repo = t["repositories"][0]["id"].as_str().unwrap().to_string();
    let created = c
        .sim()
        .apply(&Change::CreatePullRequests {
            repository: repo,
            count: 2,
        })
        .unwrap();
    idle(&c).await;
    let got = by_type("git.pullrequest.created");
    assert_eq!(got.len(), 2);
    let ids: Vec<&Value> = got
        .iter()
        .map(|v| &v["resource"]["pullRequestId"])
        .collect();
    assert_eq!(json!(ids), created["created"]);
    let sample = example("webhooks/docs_events_md__git.pullrequest.created.json");
    assert_eq!(missing(&sample, &got[0]), Vec::<String>::new());
    // The sim's REST PR shows no `lastMergeCommit` before completion and no empty
    // description, and the resource is what REST serves.
    for k in missing(&sample["resource"], &got[0]["resource"]) {
        assert!(k == "lastMergeCommit" || k == "description", "{k}");
    }
    rx.clear();

    // A work item edit.
    let (id, answer) = (1..)
        .find_map(|id| {
            c.sim()
                .apply(&Change::EditWorkItem { id })
                .ok()
                .map(|a| (id, a))
        })
        .unwrap();
    idle(&c).await;
    let got = by_type("workitem.updated");
    assert_eq!((got.len(), rx.got().len()), (1, 1));
    let r = &got[0]["resource"];
    assert_eq!(r["workItemId"], id);
    assert_eq!(r["rev"], answer["rev"]);
    assert_eq!(r["revision"]["id"], id);
    assert_eq!(r["revision"]["rev"], answer["rev"]);
    let rev = answer["rev"].as_u64().unwrap();
    assert_eq!(
        r["fields"]["System.Rev"],
        json!({ "oldValue": rev - 1, "newValue": rev })
    );
    let served = c.get_json(&format!("/_apis/wit/workitems/{id}")).await;
    assert_eq!(r["revision"], served);
    rx.clear();

    // Deletion and restore.
    assert!(c.sim().delete_work_item(id));
    assert!(c.sim().restore_work_item_at_deletion_time(id));
    idle(&c).await;
    assert_eq!(by_type("workitem.deleted")[0]["resource"]["id"], id);
    assert_eq!(by_type("workitem.restored")[0]["resource"]["id"], id);
    assert_eq!(rx.got().len(), 2);
    rx.clear();

    // A build finishing.
    let t = c.sim().truth_kinds(&["builds"]);
    let build = t["builds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["status"] == "inProgress" || b["status"] == "notStarted")
        .expect("an unfinished build")["id"]
        .as_u64()
        .unwrap();
    c.sim()
        .apply(&Change::FinishBuild {
            build: build as u32,
            result: "failed".into(),
        })
        .unwrap();
    idle(&c).await;
    let got = by_type("build.complete");
    assert_eq!((got.len(), rx.got().len()), (1, 1));
    assert_eq!(got[0]["resource"]["id"], build);
    assert_eq!(got[0]["resource"]["result"], "failed");
    let project = got[0]["resourceContainers"]["project"]["id"]
        .as_str()
        .unwrap();
    let served = c
        .get_json(&format!("/{project}/_apis/build/builds/{build}"))
        .await;
    assert_eq!(got[0]["resource"], served);
    rx.clear();

    // The random rounds deliver what they touched.
    c.sim().mutate_split(5, 10, 10);
    c.sim().mutate_builds(5, 10);
    idle(&c).await;
    let types: BTreeSet<String> = rx
        .got()
        .iter()
        .map(|g| g.json()["eventType"].as_str().unwrap().to_string())
        .collect();
    assert!(types.contains("git.pullrequest.updated"), "{types:?}");
    assert!(types.contains("workitem.updated"), "{types:?}");
    assert!(c.sim().deliveries().iter().all(|d| d.result == "succeeded"));
}

#[tokio::test]
async fn the_project_filter_excludes_other_projects() {
    let c = Client::start(cfg()).await;
    let (rx, url) = Receiver::start().await;
    let ps = projects(&c);
    let sub = sub_body(
        "git.pullrequest.updated",
        Some(&ps[0]),
        &format!("{url}/ok"),
    );
    subscribe(&c, &sub).await;
    let (other, _) = active_pr(&c, Some(&ps[1]), &[]);
    c.sim()
        .apply(&Change::VotePullRequest { pr: other as u32 })
        .unwrap();
    idle(&c).await;
    assert!(rx.got().is_empty());
    let (mine, _) = active_pr(&c, Some(&ps[0]), &[]);
    c.sim()
        .apply(&Change::VotePullRequest { pr: mine as u32 })
        .unwrap();
    idle(&c).await;
    let got = rx.got();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json()["resource"]["pullRequestId"], mine);
}

#[tokio::test]
async fn transient_failures_are_retried_then_probation_then_recovery() {
    let c = Client::start(cfg()).await;
    let (rx, url) = Receiver::start().await;
    let flaky = subscribe(
        &c,
        &sub_body("git.pullrequest.updated", None, &format!("{url}/flaky")),
    )
    .await;
    let (pr, _) = active_pr(&c, None, &[]);
    c.sim()
        .apply(&Change::VotePullRequest { pr: pr as u32 })
        .unwrap();
    idle(&c).await;
    let d = c.sim().deliveries();
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].result.as_str(), d[0].attempts), ("succeeded", 2));
    assert_eq!(rx.got().len(), 2);
    assert_eq!(
        rx.got()[0].body,
        rx.got()[1].body,
        "a retry sends the same body"
    );
    assert_eq!(
        c.sim().subscription_status(&flaky),
        Some(SubscriptionStatus::Enabled)
    );
    c.sim()
        .set_subscription_status(&flaky, SubscriptionStatus::DisabledByUser);
    c.sim().clear_deliveries();
    rx.clear();

    // Always 503: 1 + 8 retries, then failed and on probation.
    rx.down.store(true, Ordering::SeqCst);
    let down = subscribe(
        &c,
        &sub_body("git.pullrequest.updated", None, &format!("{url}/down")),
    )
    .await;
    c.sim()
        .apply(&Change::VotePullRequest { pr: pr as u32 })
        .unwrap();
    idle(&c).await;
    let d = c.sim().deliveries();
    assert_eq!(d.len(), 1, "the disabled subscription gets nothing");
    assert_eq!((d[0].result.as_str(), d[0].attempts), ("failed", 9));
    assert_eq!(d[0].status_code, Some(503));
    assert_eq!(
        d[0].error.as_deref(),
        Some("The remote server returned an error: (503) Service Unavailable.")
    );
    assert_eq!(rx.got().len(), 9);
    let s = c.get_json(&format!("{SUBS}/{down}")).await;
    assert_eq!(s["status"], "onProbation");
    let failed = c
        .get_json(&format!(
            "{SUBS}/{down}/notifications?result=failed&maxResults=5"
        ))
        .await;
    assert_eq!(failed["count"], 1);
    let n = &failed["value"][0];
    assert_eq!(n["details"]["requestAttempts"], 9);
    assert_eq!(
        n["details"]["errorMessage"],
        "The remote server returned an error: (503) Service Unavailable."
    );

    // A later success ends probation.
    rx.down.store(false, Ordering::SeqCst);
    c.sim()
        .apply(&Change::VotePullRequest { pr: pr as u32 })
        .unwrap();
    idle(&c).await;
    assert_eq!(
        c.sim().subscription_status(&down),
        Some(SubscriptionStatus::Enabled)
    );
    let all = c.get_json(&format!("{SUBS}/{down}/notifications")).await;
    assert_eq!(all["count"], 2);
    assert_eq!(all["value"][0]["result"], "succeeded", "newest first");
    let one = c
        .get_json(&format!(
            "{SUBS}/{down}/notifications?maxResults=1&result=failed"
        ))
        .await;
    assert_eq!(one["value"][0]["result"], "failed");
}

#[tokio::test]
async fn gone_disables_and_delivery_off_sends_nothing() {
    let c = Client::start(cfg()).await;
    let (rx, url) = Receiver::start().await;
    let gone = subscribe(
        &c,
        &sub_body("git.pullrequest.updated", None, &format!("{url}/gone")),
    )
    .await;
    let (pr, _) = active_pr(&c, None, &[]);
    c.sim()
        .apply(&Change::VotePullRequest { pr: pr as u32 })
        .unwrap();
    idle(&c).await;
    let d = c.sim().deliveries();
    assert_eq!((d[0].result.as_str(), d[0].attempts), ("failed", 1));
    assert_eq!(d[0].status_code, Some(410));
    assert_eq!(
        c.sim().subscription_status(&gone),
        Some(SubscriptionStatus::DisabledBySystem)
    );
    c.sim()
        .apply(&Change::PostPullRequestStatus { pr: pr as u32 })
        .unwrap();
    idle(&c).await;
    assert_eq!(rx.got().len(), 1, "a disabled subscription gets nothing");

    subscribe(
        &c,
        &sub_body("git.pullrequest.updated", None, &format!("{url}/ok")),
    )
    .await;
    c.sim().set_webhook_delivery(false);
    c.sim()
        .apply(&Change::PushToPullRequest { pr: pr as u32 })
        .unwrap();
    idle(&c).await;
    assert_eq!(rx.got().len(), 1);
    assert_eq!(c.sim().deliveries().len(), 1);
    c.sim().set_webhook_delivery(true);
    c.sim()
        .apply(&Change::PushToPullRequest { pr: pr as u32 })
        .unwrap();
    idle(&c).await;
    assert_eq!(rx.got().len(), 2);
    assert_eq!(rx.got()[1].path, "/ok");
}
