//! End-to-end behaviour of the simulator over HTTP on a loopback port.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;

use ado_sim::{BudgetConfig, FaultConfig, Pat, Sim, SimConfig};
use serde_json::Value;
use support::{Client, basic, request};

fn small(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        projects: 2,
        repos_per_project: 3,
        prs_per_repo: 60,
        ..SimConfig::default()
    }
}

fn ts(s: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(s).expect("RFC 3339 timestamp")
}

fn arr(v: &Value) -> &Vec<Value> {
    v.as_array().expect("array")
}

fn ids(v: &Value) -> Vec<u64> {
    arr(&v["value"])
        .iter()
        .map(|p| p["pullRequestId"].as_u64().unwrap())
        .collect()
}

/// Every PR of a project, fetched through the list endpoint in pages of `top`. Boxed: test
/// futures awaiting it many times stay small on the (debug-build) test thread's stack.
fn all_pages<'a>(
    c: &'a Client,
    project: &'a str,
    query: &'a str,
    top: usize,
) -> Pin<Box<dyn Future<Output = Vec<Value>> + 'a>> {
    Box::pin(all_pages_inner(c, project, query, top))
}

async fn all_pages_inner(c: &Client, project: &str, query: &str, top: usize) -> Vec<Value> {
    let mut out = Vec::new();
    let mut skip = 0;
    loop {
        let page = c
            .get_json(&format!(
                "/{project}/_apis/git/pullrequests?{query}&%24top={top}&%24skip={skip}"
            ))
            .await;
        let v = arr(&page["value"]).clone();
        assert_eq!(page["count"].as_u64().unwrap() as usize, v.len());
        let n = v.len();
        out.extend(v);
        if n < top {
            return out;
        }
        skip += n;
    }
}

fn project_names(truth: &Value) -> Vec<String> {
    arr(&truth["projects"])
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

fn truth_prs_of(truth: &Value, project: &str) -> Vec<Value> {
    arr(&truth["pull_requests"])
        .iter()
        .filter(|p| p["repository"]["project"]["name"] == project)
        .cloned()
        .collect()
}

#[tokio::test]
async fn same_seed_same_truth() {
    let a = Sim::new(small(42)).truth();
    let b = Sim::new(small(42)).truth();
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    assert_ne!(a, Sim::new(small(43)).truth());
    assert_eq!(arr(&a["projects"]).len(), 2);
    assert_eq!(arr(&a["repositories"]).len(), 6);
    assert_eq!(arr(&a["pull_requests"]).len(), 360);
    // Sorted by id, PR ids unique.
    let pr_ids: Vec<u64> = arr(&a["pull_requests"])
        .iter()
        .map(|p| p["pullRequestId"].as_u64().unwrap())
        .collect();
    assert!(pr_ids.windows(2).all(|w| w[0] < w[1]));
}

#[tokio::test]
async fn served_truth_matches_library_truth() {
    let c = Client::start(small(5)).await;
    let r = c.admin("GET", "/_sim/truth", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), c.sim().truth());
    assert!(c.running.base_url().starts_with("http://127.0.0.1:"));
    assert!(c.running.base_url().ends_with("/contoso"));
}

#[tokio::test]
async fn truth_equals_concatenated_list_pages() {
    let c = Client::start(small(8)).await;
    let truth = c.sim().truth();

    let projects = c.get_json("/_apis/projects").await;
    let mut listed: Vec<Value> = arr(&projects["value"]).clone();
    listed.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    assert_eq!(&listed, arr(&truth["projects"]));

    let mut repos = Vec::new();
    for name in project_names(&truth) {
        let page = c.get_json(&format!("/{name}/_apis/git/repositories")).await;
        repos.extend(arr(&page["value"]).clone());
        for top in [1000, 37] {
            let mut got = all_pages(&c, &name, "searchCriteria.status=all", top).await;
            let listed_ids: Vec<u64> = got
                .iter()
                .map(|p| p["pullRequestId"].as_u64().unwrap())
                .collect();
            assert!(listed_ids.windows(2).all(|w| w[0] > w[1]), "newest first");
            got.sort_by_key(|p| p["pullRequestId"].as_u64());
            assert_eq!(
                got,
                truth_prs_of(&truth, &name),
                "project {name}, top {top}"
            );
        }
    }
    repos.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    assert_eq!(&repos, arr(&truth["repositories"]));
    let org_repos = c.get_json("/_apis/git/repositories").await;
    assert_eq!(
        org_repos["count"],
        truth["repositories"].as_array().unwrap().len()
    );
}

#[tokio::test]
async fn pull_request_paging_rules() {
    // One project, 4 repos × 700: the first repository holds 1120 PRs.
    let c = Client::start(SimConfig {
        seed: 11,
        projects: 1,
        repos_per_project: 4,
        prs_per_repo: 700,
        ..SimConfig::default()
    })
    .await;
    let truth = c.sim().truth();
    let project = "Fabrikam-01";
    let big_repo = project; // the default repository is named after the project
    let prs = truth_prs_of(&truth, project);
    assert_eq!(prs.len(), 2800);
    let in_big = prs
        .iter()
        .filter(|p| p["repository"]["name"] == big_repo)
        .count();
    assert_eq!(in_big, 1120);

    // Default page is 101; default status is active.
    let page = c
        .get_json(&format!(
            "/{project}/_apis/git/pullrequests?searchCriteria.status=all"
        ))
        .await;
    assert_eq!(page["count"], 101);
    let active_total = prs.iter().filter(|p| p["status"] == "active").count();
    let page = c
        .get_json(&format!("/{project}/_apis/git/pullrequests"))
        .await;
    assert_eq!(
        page["count"].as_u64().unwrap() as usize,
        active_total.min(101)
    );
    assert!(arr(&page["value"]).iter().all(|p| p["status"] == "active"));

    // $top is capped at 1000, sent percent-encoded as Microsoft's clients do.
    let page = c
        .get_json(&format!(
            "/{project}/_apis/git/repositories/{big_repo}/pullRequests?searchCriteria.status=all&%24top=5000"
        ))
        .await;
    assert_eq!(page["count"], 1000);
    let first = ids(&page);
    // $skip continues where the previous page ended.
    let page = c
        .get_json(&format!(
            "/{project}/_apis/git/repositories/{big_repo}/pullrequests?searchCriteria.status=all&$top=1000&$skip=1000"
        ))
        .await;
    assert_eq!(page["count"], 120);
    let second = ids(&page);
    assert!(first.last().unwrap() > second.first().unwrap());
    let mut all: Vec<u64> = first.iter().chain(second.iter()).copied().collect();
    all.dedup();
    assert_eq!(all.len(), 1120);

    // Status filter by name and by the Node client's numbers; every status sums up.
    let mut total = 0;
    for (name, num) in [("active", 1), ("abandoned", 2), ("completed", 3)] {
        let by_name = all_pages(&c, project, &format!("searchCriteria.status={name}"), 1000).await;
        assert!(by_name.iter().all(|p| p["status"] == name));
        let by_num = all_pages(&c, project, &format!("searchCriteria.status={num}"), 1000).await;
        assert_eq!(by_name, by_num);
        total += by_name.len();
    }
    assert_eq!(total, 2800);

    // minTime on creation (inclusive).
    let pivot = prs[2000]["creationDate"].as_str().unwrap().to_string();
    let recent = all_pages(
        &c,
        project,
        &format!("searchCriteria.status=all&searchCriteria.minTime={pivot}"),
        1000,
    )
    .await;
    assert_eq!(recent.len(), 800);
    assert_eq!(
        recent.last().unwrap()["creationDate"].as_str().unwrap(),
        pivot
    );
    // maxTime (exclusive) takes the rest.
    let older = all_pages(
        &c,
        project,
        &format!("searchCriteria.status=all&searchCriteria.maxTime={pivot}"),
        1000,
    )
    .await;
    assert_eq!(older.len(), 2000);

    // Closed-time window: only closed PRs, by closedDate.
    let closed_pivot = prs[1500]["closedDate"]
        .as_str()
        .or(prs[1501]["closedDate"].as_str())
        .or(prs[1502]["closedDate"].as_str())
        .unwrap()
        .to_string();
    let closed = all_pages(
        &c,
        project,
        &format!(
            "searchCriteria.status=all&searchCriteria.queryTimeRangeType=closed&searchCriteria.minTime={closed_pivot}"
        ),
        1000,
    )
    .await;
    let want = prs
        .iter()
        .filter(|p| {
            p["closedDate"]
                .as_str()
                .is_some_and(|d| ts(d) >= ts(&closed_pivot))
        })
        .count();
    assert_eq!(closed.len(), want);
    assert!(closed.iter().all(|p| p["status"] != "active"));
    let none = c
        .get_json(&format!(
            "/{project}/_apis/git/pullrequests?searchCriteria.status=active&searchCriteria.queryTimeRangeType=closed&searchCriteria.minTime=2000-01-01"
        ))
        .await;
    assert_eq!(none["count"], 0);

    // Project-level repositoryId filter and creatorId filter.
    let repo_id = prs[0]["repository"]["id"].as_str().unwrap();
    let by_repo = all_pages(
        &c,
        project,
        &format!("searchCriteria.status=all&searchCriteria.repositoryId={repo_id}"),
        1000,
    )
    .await;
    assert!(by_repo.iter().all(|p| p["repository"]["id"] == repo_id));
    let creator = prs[0]["createdBy"]["id"].as_str().unwrap();
    let by_creator = all_pages(
        &c,
        project,
        &format!("searchCriteria.status=all&searchCriteria.creatorId={creator}"),
        1000,
    )
    .await;
    let want = prs
        .iter()
        .filter(|p| p["createdBy"]["id"] == creator)
        .count();
    assert_eq!(by_creator.len(), want);

    // Bad values are 400s.
    let r = c
        .get(&format!(
            "/{project}/_apis/git/pullrequests?api-version=7.1&searchCriteria.status=open"
        ))
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn single_pull_request_has_the_whole_description() {
    let c = Client::start(small(3)).await;
    let truth = c.sim().truth();
    let long = arr(&truth["pull_requests"])
        .iter()
        .find(|p| p["description"].as_str().is_some_and(|d| d.len() == 400))
        .expect("a truncated description")
        .clone();
    let id = long["pullRequestId"].as_u64().unwrap();
    let project = long["repository"]["project"]["name"].as_str().unwrap();
    let repo = long["repository"]["id"].as_str().unwrap();
    let one = c
        .get_json(&format!(
            "/{project}/_apis/git/repositories/{repo}/pullRequests/{id}"
        ))
        .await;
    assert!(one["description"].as_str().unwrap().len() > 400);
    assert!(
        one["description"]
            .as_str()
            .unwrap()
            .starts_with(long["description"].as_str().unwrap())
    );
    let by_project = c
        .get_json(&format!("/{project}/_apis/git/pullrequests/{id}"))
        .await;
    assert_eq!(one, by_project);
    let r = c
        .get(&format!(
            "/{project}/_apis/git/pullrequests/999999?api-version=7.1"
        ))
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["typeKey"], "GitPullRequestNotFoundException");
}

#[tokio::test]
async fn not_found_envelopes() {
    let c = Client::start(small(3)).await;
    let r = c.get("/Nope/_apis/git/repositories?api-version=7.1").await;
    assert_eq!(r.status, 404);
    let e = r.json();
    assert_eq!(e["typeKey"], "ProjectDoesNotExistWithNameException");
    assert_eq!(
        e["message"],
        "TF200016: The following project does not exist: Nope."
    );
    for k in [
        "$id",
        "innerException",
        "message",
        "typeName",
        "typeKey",
        "errorCode",
        "eventId",
    ] {
        assert!(e.get(k).is_some(), "{k}");
    }
    let r = c
        .get("/Fabrikam-01/_apis/git/repositories/missing/pullrequests?api-version=7.1")
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["typeKey"], "GitRepositoryNotFoundException");
}

#[tokio::test]
async fn invalid_token_is_203_html_or_401_when_suppressed() {
    let c = Client::start(small(1)).await;
    let path = "/contoso/_apis/projects?api-version=7.1";
    let bad = [("Authorization", basic("", "wrong"))];
    let r = request(c.addr(), "GET", path, &bad, None).await;
    assert_eq!(r.status, 203);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(r.text().contains("Sign In"));
    let r = request(c.addr(), "GET", path, &[], None).await;
    assert_eq!(r.status, 203);

    let suppressed = [
        ("Authorization", basic("", "wrong")),
        ("X-TFS-FedAuthRedirect", "Suppress".to_string()),
    ];
    let r = request(c.addr(), "GET", path, &suppressed, None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["typeKey"], "UnauthorizedRequestException");
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("TF400813")
    );

    // The Node client swaps user and password.
    let node = [("Authorization", basic("demo-pat", "PAT"))];
    assert_eq!(
        request(c.addr(), "GET", path, &node, None).await.status,
        200
    );

    // Revocation takes effect immediately.
    c.sim().revoke_pat("demo-pat");
    assert_eq!(c.get("/_apis/projects?api-version=7.1").await.status, 203);
    c.sim().add_pat(Pat::full("demo-pat"));
    assert_eq!(c.get("/_apis/projects?api-version=7.1").await.status, 200);

    let stats = c.sim().stats();
    assert_eq!(stats["by_token"]["wrong"], 2);
    assert_eq!(stats["by_token"]["(none)"], 1);
    assert_eq!(stats["by_status"]["203"], 3);
    assert_eq!(stats["by_status"]["401"], 1);
}

#[tokio::test]
async fn missing_scope_is_403() {
    let mut cfg = small(1);
    cfg.pats.push(Pat {
        token: "project-only".into(),
        scopes: vec!["vso.project".into()],
    });
    let mut c = Client::start(cfg).await;
    c.token = "project-only".into();
    assert_eq!(c.get("/_apis/projects?api-version=7.1").await.status, 200);
    assert_eq!(
        c.get("/_apis/connectionData?api-version=7.1").await.status,
        200
    );
    let r = c
        .get("/Fabrikam-01/_apis/git/repositories?api-version=7.1")
        .await;
    assert_eq!(r.status, 403);
    assert!(r.json()["message"].as_str().unwrap().contains("vso.code"));
    let r = c
        .get("/Fabrikam-01/_apis/git/pullrequests?api-version=7.1")
        .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn api_version_is_required_and_bounded() {
    let c = Client::start(small(1)).await;
    let r = c.get("/_apis/projects").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["typeKey"], "VssVersionNotSpecifiedException");
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("No api-version was supplied for the \"GET\" request.")
    );
    let accept = [(
        "Accept",
        "application/json;api-version=7.1-preview.4".to_string(),
    )];
    let r = c.get_with("/_apis/projects", &accept).await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .unwrap()
            .contains("api-version=7.1-preview.4")
    );
    let r = c.get("/_apis/projects?api-version=8.0").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["typeKey"], "VssVersionOutOfRangeException");
    assert_eq!(
        r.json()["message"],
        "The requested REST API version of 8.0 is out of range for this server. The latest REST API version this server supports is 7.2."
    );
}

#[tokio::test]
async fn server_mode_serves_a_collection_without_graph_or_pr_time_filters() {
    for (release, dir, root, max) in [
        (
            ado_sim::ServerRelease::Server2022,
            Some("tfs"),
            "/tfs/DefaultCollection",
            "7.0",
        ),
        (
            ado_sim::ServerRelease::Server2020,
            None,
            "/DefaultCollection",
            "6.0",
        ),
    ] {
        let c = Client::start(SimConfig {
            org: "DefaultCollection".into(),
            server: Some(ado_sim::ServerMode {
                release,
                virtual_directory: dir.map(str::to_string),
            }),
            ..small(4)
        })
        .await;
        assert_eq!(c.root(), root);
        assert!(c.running.base_url().ends_with(root));
        // Too new a version: ADO Server's 400, naming the newest it supports.
        let r = c.get("/_apis/projects?api-version=7.1").await;
        assert_eq!(r.status, 400);
        assert_eq!(r.json()["typeKey"], "VssVersionOutOfRangeException");
        assert_eq!(
            r.json()["message"],
            format!(
                "The requested REST API version of 7.1 is out of range for this server. The \
                 latest REST API version this server supports is {max}."
            )
        );
        let projects = c.get_json("/_apis/projects").await;
        assert_eq!(projects["count"], 2);
        // The collection is not served outside its virtual directory.
        if dir.is_some() {
            let outside = request(
                c.addr(),
                "GET",
                &format!("/DefaultCollection/_apis/projects?api-version={max}"),
                &[("Authorization", basic("", &c.token))],
                None,
            )
            .await;
            assert_eq!(outside.status, 404);
        }
        // No Graph.
        let graph = c
            .get(&format!("/_apis/graph/users?api-version={max}-preview.1"))
            .await;
        assert_eq!(graph.status, 404);
        // The PR list ignores its time filters: the same page with and without them.
        let name = projects["value"][0]["name"].as_str().unwrap().to_string();
        let list = |q: &str| format!("/{name}/_apis/git/pullrequests?searchCriteria.status=all{q}");
        let plain = c.get_json(&list("")).await;
        let filtered = c
            .get_json(&list(
                "&searchCriteria.queryTimeRangeType=closed\
                 &searchCriteria.minTime=2100-01-01T00:00:00Z\
                 &searchCriteria.maxTime=2000-01-01T00:00:00Z",
            ))
            .await;
        assert!(plain["count"].as_u64().unwrap() > 0);
        assert_eq!(plain, filtered);
        // And the truth has no Graph users to compare with.
        assert!(arr(&c.sim().truth_kinds(&["users"])["users"]).is_empty());
    }
}

#[tokio::test]
async fn projects_continuation_token() {
    let c = Client::start(SimConfig {
        projects: 5,
        repos_per_project: 1,
        prs_per_repo: 1,
        ..SimConfig::default()
    })
    .await;
    let r = c.get("/_apis/projects?api-version=7.1&$top=2").await;
    assert_eq!(r.header("x-ms-continuationtoken"), Some("2"));
    let r = c
        .get("/_apis/projects?api-version=7.1&$top=2&continuationToken=4")
        .await;
    assert_eq!(r.json()["count"], 1);
    assert_eq!(r.header("x-ms-continuationtoken"), None);
    let names: Vec<String> = arr(&c.get_json("/_apis/projects").await["value"])
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
}

#[tokio::test]
async fn budget_delays_then_blocks() {
    let c = Client::start(small(1)).await;
    c.sim().set_budget(Some(BudgetConfig {
        rate_per_sec: 2.0,
        burst: 5.0,
        delay_threshold: 0.4,
    }));
    let r = c.get("/_apis/projects?api-version=7.1").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("X-RateLimit-Resource"), Some("Core"));
    assert_eq!(r.header("X-RateLimit-Limit"), Some("5"));
    assert_eq!(r.header("X-RateLimit-Remaining"), Some("4"));
    assert!(
        r.header("X-RateLimit-Reset")
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );
    assert_eq!(r.header("X-RateLimit-Delay"), None);

    // A burst of concurrent requests: some are delayed (200 + headers), the rest blocked.
    let futs: Vec<_> = (0..8)
        .map(|_| c.get("/_apis/projects?api-version=7.1"))
        .collect();
    let resps = futures::future::join_all(futs).await;
    let delayed: Vec<_> = resps
        .iter()
        .filter(|r| r.status == 200 && r.header("X-RateLimit-Delay").is_some())
        .collect();
    let blocked: Vec<_> = resps.iter().filter(|r| r.status == 429).collect();
    assert!(!delayed.is_empty(), "some requests delayed");
    assert!(!blocked.is_empty(), "some requests blocked");
    for r in &delayed {
        assert!(r.header("Retry-After").unwrap().parse::<u64>().unwrap() >= 1);
        let d: f64 = r.header("X-RateLimit-Delay").unwrap().parse().unwrap();
        assert!(d > 0.0 && d <= 30.0);
    }
    for r in &blocked {
        assert!(r.header("Retry-After").is_some());
        assert_eq!(r.header("X-RateLimit-Remaining"), Some("0"));
        assert!(
            r.json()["message"]
                .as_str()
                .unwrap()
                .starts_with("TF400733")
        );
    }
    let stats = c.sim().stats();
    assert_eq!(stats["delayed"].as_u64().unwrap() as usize, delayed.len());
    assert_eq!(stats["throttled"].as_u64().unwrap() as usize, blocked.len());

    // Removing the budget removes the headers.
    c.sim().set_budget(None);
    let r = c.get("/_apis/projects?api-version=7.1").await;
    assert_eq!(r.header("X-RateLimit-Limit"), None);
}

#[tokio::test]
async fn faults_errors_and_resets() {
    let c = Client::start(small(1)).await;
    c.sim().set_faults(FaultConfig {
        error_rate: 1.0,
        ..FaultConfig::default()
    });
    let r = c.get("/_apis/projects?api-version=7.1").await;
    assert!(r.status == 500 || r.status == 503, "{}", r.status);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("TF400898")
    );
    // Discovery and the admin API are never faulted.
    let r = request(c.addr(), "OPTIONS", "/contoso/_apis", &[], None).await;
    assert_eq!(r.status, 200);
    assert_eq!(c.admin("GET", "/_sim/stats", None).await.status, 200);

    c.sim().set_faults(FaultConfig {
        reset_rate: 1.0,
        ..FaultConfig::default()
    });
    let r = c
        .get("/Fabrikam-01/_apis/git/pullrequests?api-version=7.1&searchCriteria.status=all")
        .await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert!(!r.complete, "body must break midway");
    assert!(!r.body.is_empty());
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());

    // Faults over HTTP: back to normal, with latency.
    let r = c
        .admin(
            "POST",
            "/_sim/faults",
            Some(r#"{"reset_rate": 0, "latency_ms": 30}"#),
        )
        .await;
    assert_eq!(r.status, 200);
    let t = std::time::Instant::now();
    let r = c.get("/_apis/projects?api-version=7.1").await;
    assert_eq!(r.status, 200);
    assert!(r.complete);
    assert!(t.elapsed() >= std::time::Duration::from_millis(30));
}

#[tokio::test]
async fn mutations_show_up_in_lists_and_truth() {
    let c = Client::start(small(21)).await;
    let before = c.sim().truth();
    let since = chrono::Utc::now() - chrono::Duration::seconds(1);
    let r = c
        .admin(
            "POST",
            "/_sim/mutate",
            Some(r#"{"seed": 7, "changes": 40}"#),
        )
        .await;
    assert_eq!(r.status, 200);
    let changed = r.json()["changed"].clone();
    // PR keys sum to `changes`; the work item keys (a separate stream) to as many again.
    let is_boards =
        |k: &str| k.starts_with("work_item") || k == "fields_created" || k == "iterations_created";
    let sum = |boards: bool| -> u64 {
        changed
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| is_boards(k) == boards)
            .map(|(_, v)| v.as_u64().unwrap())
            .sum()
    };
    assert_eq!(sum(false), 40);
    assert_eq!(sum(true), 40);
    assert_eq!(changed["repositories_deleted"], 1);
    let after = c.sim().truth();
    assert_ne!(before, after);

    // Every PR that changed while active is in the active list, exactly as in the truth.
    let old: BTreeMap<u64, &Value> = arr(&before["pull_requests"])
        .iter()
        .map(|p| (p["pullRequestId"].as_u64().unwrap(), p))
        .collect();
    let mut changed_active = 0;
    for name in project_names(&after) {
        let active = all_pages(&c, &name, "searchCriteria.status=active", 1000).await;
        let listed: BTreeMap<u64, &Value> = active
            .iter()
            .map(|p| (p["pullRequestId"].as_u64().unwrap(), p))
            .collect();
        for pr in truth_prs_of(&after, &name) {
            let id = pr["pullRequestId"].as_u64().unwrap();
            if pr["status"] == "active" {
                assert_eq!(
                    listed.get(&id),
                    Some(&&pr),
                    "active PR {id} listed as in truth"
                );
                if old.get(&id) != Some(&&pr) {
                    changed_active += 1;
                }
            } else {
                assert!(!listed.contains_key(&id));
            }
        }
    }
    assert!(changed_active > 0);

    // New PRs are found with a created-time window, closures with a closed-time window.
    let since = since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let created = changed["pull_requests_created"].as_u64().unwrap() as usize;
    let closed = (changed["pull_requests_completed"].as_u64().unwrap()
        + changed["pull_requests_abandoned"].as_u64().unwrap()) as usize;
    let mut found_created = 0;
    let mut found_closed = 0;
    for name in project_names(&after) {
        found_created += all_pages(
            &c,
            &name,
            &format!("searchCriteria.status=all&searchCriteria.minTime={since}"),
            1000,
        )
        .await
        .len();
        found_closed += all_pages(
            &c,
            &name,
            &format!(
                "searchCriteria.status=all&searchCriteria.queryTimeRangeType=closed&searchCriteria.minTime={since}"
            ),
            1000,
        )
        .await
        .len();
    }
    // PRs of the deleted repository vanished along with it, so "≤".
    let in_truth = |field: &str| {
        arr(&after["pull_requests"])
            .iter()
            .filter(|p| p[field].as_str().is_some_and(|d| ts(d) >= ts(&since)))
            .count()
    };
    assert_eq!(found_created, in_truth("creationDate"));
    assert_eq!(found_closed, in_truth("closedDate"));
    assert!(found_created <= created && found_created > 0);
    assert!(found_closed <= closed);
}

#[tokio::test]
async fn deleted_repository_disappears_everywhere() {
    let c = Client::start(small(4)).await;
    let before = c.sim().truth();
    let v = c.sim().mutate(99, 20);
    assert_eq!(v["changed"]["repositories_deleted"], 1);
    let after = c.sim().truth();
    let ids_of = |t: &Value| -> BTreeSet<String> {
        arr(&t["repositories"])
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    let gone: Vec<String> = ids_of(&before)
        .difference(&ids_of(&after))
        .cloned()
        .collect();
    assert_eq!(gone.len(), 1);
    let gone = &gone[0];
    let project = arr(&before["repositories"])
        .iter()
        .find(|r| r["id"] == gone.as_str())
        .unwrap()["project"]["name"]
        .as_str()
        .unwrap()
        .to_string();

    let listed = c
        .get_json(&format!("/{project}/_apis/git/repositories"))
        .await;
    assert!(
        arr(&listed["value"])
            .iter()
            .all(|r| r["id"] != gone.as_str())
    );
    let r = c
        .get(&format!(
            "/{project}/_apis/git/repositories/{gone}/pullrequests?api-version=7.1"
        ))
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["typeKey"], "GitRepositoryNotFoundException");
    let all = all_pages(&c, &project, "searchCriteria.status=all", 1000).await;
    assert!(all.iter().all(|p| p["repository"]["id"] != gone.as_str()));
    assert!(
        arr(&after["pull_requests"])
            .iter()
            .all(|p| p["repository"]["id"] != gone.as_str())
    );
    let old_pr = arr(&before["pull_requests"])
        .iter()
        .find(|p| p["repository"]["id"] == gone.as_str())
        .unwrap()["pullRequestId"]
        .as_u64()
        .unwrap();
    let r = c
        .get(&format!(
            "/{project}/_apis/git/pullrequests/{old_pr}?api-version=7.1"
        ))
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn discovery_for_microsoft_clients() {
    let c = Client::start(small(1)).await;
    for path in ["/_apis", "/contoso/_apis", "/Contoso/_apis"] {
        let r = request(c.addr(), "OPTIONS", path, &[], None).await;
        assert_eq!(r.status, 200, "{path}");
        let v = r.json();
        let ids: Vec<&str> = arr(&v["value"])
            .iter()
            .map(|l| l["id"].as_str().unwrap())
            .collect();
        assert!(ids.contains(&"603fe2ac-9723-48b9-88ad-09305aa6c6e1"));
        assert!(ids.contains(&"9946fd70-0d40-406e-b686-b4744cbbcc37"));
        assert_eq!(v["count"].as_u64().unwrap() as usize, ids.len());
    }
    let r = request(c.addr(), "OPTIONS", "/contoso/_apis/Location", &[], None).await;
    assert!(
        arr(&r.json()["value"])
            .iter()
            .all(|l| l["area"] == "Location")
    );
    let r = request(c.addr(), "GET", "/contoso/_apis/ResourceAreas", &[], None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["count"], 0);

    let cd = c.get_json("/_apis/connectionData").await;
    assert_eq!(cd["deploymentType"], "hosted");
    assert!(cd["authenticatedUser"]["id"].is_string());
    assert_eq!(cd["authenticatedUser"], cd["authorizedUser"]);

    let stats = c.sim().stats();
    assert_eq!(stats["by_endpoint"]["options"], 4);
    assert_eq!(stats["by_endpoint"]["resourceAreas"], 1);
    assert_eq!(stats["by_endpoint"]["connectionData"], 1);
}

#[tokio::test]
async fn stats_count_by_endpoint_token_status_and_reset() {
    let c = Client::start(small(1)).await;
    c.get_json("/_apis/projects").await;
    c.get_json("/Fabrikam-01/_apis/git/repositories").await;
    let repo = arr(&c.sim().truth()["repositories"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    c.get_json(&format!("/_apis/git/repositories/{repo}/pullrequests"))
        .await;
    c.get_json("/Fabrikam-01/_apis/git/pullrequests").await;
    let r = c.admin("GET", "/_sim/stats", None).await.json();
    assert_eq!(r["requests"], 4);
    assert_eq!(r["by_endpoint"]["projects"], 1);
    assert_eq!(r["by_endpoint"]["repositories"], 1);
    assert_eq!(r["by_endpoint"]["pullrequests_repo"], 1);
    assert_eq!(r["by_endpoint"]["pullrequests_project"], 1);
    assert_eq!(r["by_token"]["demo-pat"], 4);
    assert_eq!(r["by_status"]["200"], 4);
    assert_eq!(c.admin("DELETE", "/_sim/stats", None).await.status, 200);
    assert_eq!(c.sim().stats()["requests"], 0);
}

#[tokio::test]
async fn large_org_pages_stay_fast() {
    let t = std::time::Instant::now();
    let c = Client::start(SimConfig {
        seed: 2,
        projects: 5,
        repos_per_project: 4,
        prs_per_repo: 2500,
        ..SimConfig::default()
    })
    .await;
    let built = t.elapsed();
    let t = std::time::Instant::now();
    let page = c
        .get_json(
            "/Fabrikam-03/_apis/git/pullrequests?searchCriteria.status=all&$top=1000&$skip=5000",
        )
        .await;
    assert_eq!(page["count"], 1000);
    let page = c
        .get_json(
            "/Fabrikam-03/_apis/git/pullrequests?searchCriteria.status=all&$top=100&$skip=9950",
        )
        .await;
    assert_eq!(page["count"], 50);
    let served = t.elapsed();
    assert!(
        served < std::time::Duration::from_secs(5),
        "50k-PR org: built in {built:?}, two pages in {served:?}"
    );
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let c = Client::start(small(1)).await;
    let addr = c.addr();
    assert_eq!(c.get("/_apis/projects?api-version=7.1").await.status, 200);
    let t = std::time::Instant::now();
    c.running.shutdown().await;
    assert!(t.elapsed() < std::time::Duration::from_secs(5));
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[test]
fn binary_prints_address_and_writes_port_file() {
    use std::io::{BufRead, BufReader};
    let dir = std::env::temp_dir().join(format!("ado-sim-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port_file = dir.join("port");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ado-sim"))
        .args(["--addr", "127.0.0.1:0", "--seed", "5", "--projects", "1"])
        .args(["--pat", "tok:vso.project", "--port-file"])
        .arg(&port_file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn ado-sim");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = std::fs::read_to_string(&port_file).unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(line.starts_with("listening on http://127.0.0.1:"), "{line}");
    assert!(
        !port.is_empty() && line.trim_end().ends_with(&format!(":{port}")),
        "{line} / {port}"
    );
}
