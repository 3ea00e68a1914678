//! The release side over HTTP: classic releases, environments and deployments on the release
//! host; YAML environments and their deployment records on the organization host — hosts,
//! shapes against the recorded examples and the spec, paging, filters, scopes, the truth and
//! mutations.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;

use ado_sim::{Change, Pat, Sim, SimConfig};
use serde_json::Value;
use support::{Client, Resp, basic, request};

const KINDS: [&str; 5] = [
    "releases",
    "release_environments",
    "release_deployments",
    "environments",
    "environment_deployments",
];

fn cfg(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        projects: 2,
        repos_per_project: 1,
        prs_per_repo: 5,
        work_items_per_project: 0,
        release_definitions_per_project: 3,
        releases_per_definition: 30,
        environments_per_project: 3,
        deployment_records_per_environment: 40,
        ..SimConfig::default()
    }
}

fn arr(v: &Value) -> &Vec<Value> {
    v.as_array().expect("array")
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().expect("object").keys().cloned().collect()
}

fn shared(rel: &str) -> Value {
    let p = format!("{}/../../shared/ado-api/{rel}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read {p}: {e}"));
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    serde_json::from_slice(bytes).expect("JSON")
}

fn example(name: &str) -> Value {
    shared(&format!("examples/release/{name}"))["responses"]["200"]["body"].clone()
}

/// The property names of a spec model.
fn model(spec: &str, name: &str) -> BTreeSet<String> {
    keys(&shared(&format!("specs/{spec}"))["definitions"][name]["properties"])
}

/// Every key of the recorded `example` is served, and what else is served is in the spec.
fn same_keys(what: &str, served: &Value, example: &Value, spec: &BTreeSet<String>) {
    let (s, e) = (keys(served), keys(example));
    let missing: Vec<_> = e.difference(&s).collect();
    assert!(missing.is_empty(), "{what}: missing {missing:?}");
    let extra: Vec<_> = s.difference(&e).filter(|k| !spec.contains(*k)).collect();
    assert!(
        extra.is_empty(),
        "{what}: not in the example nor the spec: {extra:?}"
    );
}

/// `GET` on the release host (`/vsrm/{org}{path}`) with the client's PAT.
async fn rm(c: &Client, path: &str) -> Resp {
    rm_as(c, &c.token, path).await
}

async fn rm_as(c: &Client, token: &str, path: &str) -> Resp {
    let full = format!("/vsrm/{}{path}", c.sim().org());
    let headers = vec![("Authorization", basic("", token))];
    Box::pin(request(c.addr(), "GET", &full, &headers, None)).await
}

async fn rm_json(c: &Client, path: &str) -> Value {
    let sep = if path.contains('?') { '&' } else { '?' };
    let r = rm(c, &format!("{path}{sep}api-version=7.1")).await;
    assert_eq!(r.status, 200, "GET {path}: {}", r.text());
    r.json()
}

fn projects(sim: &Sim) -> Vec<(String, String)> {
    let t = sim.truth_kinds(&["projects"]);
    arr(&t["projects"])
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_string(),
                p["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Every item of a list through `x-ms-continuationtoken` (read case-insensitively) and the
/// number of pages; `host_rm` picks the host, `token_key` the query key echoing the token.
fn walk<'a>(
    c: &'a Client,
    rm_host: bool,
    path: &'a str,
) -> Pin<Box<dyn Future<Output = (Vec<Value>, usize)> + 'a>> {
    Box::pin(async move {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        let mut pages = 0;
        loop {
            let sep = if path.contains('?') { '&' } else { '?' };
            let mut url = format!("{path}{sep}api-version=7.1");
            if let Some(t) = &token {
                url.push_str(&format!("&continuationToken={t}"));
            }
            let r = if rm_host {
                rm(c, &url).await
            } else {
                c.get(&url).await
            };
            assert_eq!(r.status, 200, "{url}: {}", r.text());
            pages += 1;
            let v = r.json();
            assert_eq!(
                v["count"].as_u64().unwrap() as usize,
                arr(&v["value"]).len()
            );
            out.extend(arr(&v["value"]).iter().cloned());
            match r.header("x-ms-continuationtoken") {
                Some(t) => token = Some(t.to_string()),
                None => return (out, pages),
            }
            assert!(pages < 10_000, "the walk ends");
        }
    })
}

fn ids(v: &[Value]) -> Vec<u64> {
    v.iter().map(|x| x["id"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn releases_live_on_the_release_host_only() {
    let c = Client::start(cfg(1)).await;
    let (_, name) = &projects(c.sim())[0];
    assert_eq!(
        c.running.release_base_url(),
        c.running.base_url().replace("/contoso", "/vsrm/contoso")
    );
    let v = rm_json(&c, &format!("/{name}/_apis/release/releases")).await;
    assert!(!arr(&v["value"]).is_empty());
    // The organization host answers ADO's HTML 404 page, before authentication.
    for path in [
        "release/releases",
        "release/deployments",
        "release/releases/1",
    ] {
        let r = c
            .get(&format!("/{name}/_apis/{path}?api-version=7.1"))
            .await;
        assert_eq!(r.status, 404, "{path}");
        assert!(r.header("content-type").unwrap().starts_with("text/html"));
        assert!(r.text().contains("Page not found"));
    }
    let anon = request(
        c.addr(),
        "GET",
        &format!("/contoso/{name}/_apis/release/releases?api-version=7.1"),
        &[],
        None,
    )
    .await;
    assert_eq!(anon.status, 404);
    // The release host serves nothing else.
    let r = rm(&c, "/_apis/projects?api-version=7.1").await;
    assert_eq!(r.status, 404);
    assert!(r.header("content-type").unwrap().contains("json"));
    let r = rm(
        &c,
        &format!("/{name}/_apis/distributedtask/environments?api-version=7.1"),
    )
    .await;
    assert_eq!(r.status, 404);
    // Environments are on the organization host.
    let v = c
        .get_json(&format!("/{name}/_apis/distributedtask/environments"))
        .await;
    assert_eq!(arr(&v["value"]).len(), 3);
    let stats = c.sim().stats();
    assert_eq!(stats["by_endpoint"]["release_wrong_host"], 4);
    assert_eq!(stats["by_endpoint"]["release_releases"], 1);
    assert_eq!(stats["by_endpoint"]["environments"], 1);
}

#[tokio::test]
async fn server_mode_serves_releases_under_the_collection() {
    let c = Client::start(SimConfig {
        server: Some(ado_sim::ServerMode::under_tfs(
            ado_sim::ServerRelease::Server2022,
        )),
        ..cfg(2)
    })
    .await;
    let (_, name) = &projects(c.sim())[0];
    assert_eq!(c.running.release_base_url(), c.running.base_url());
    let v = c
        .get_json(&format!(
            "/{name}/_apis/release/releases?%24expand=environments"
        ))
        .await;
    let first = &arr(&v["value"])[0];
    assert!(
        first["url"]
            .as_str()
            .unwrap()
            .starts_with(&c.running.base_url())
    );
    assert!(!first["url"].as_str().unwrap().contains("/vsrm/"));
    let r = rm(
        &c,
        &format!("/{name}/_apis/release/releases?api-version=7.1"),
    )
    .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn shapes_follow_the_recorded_examples_and_the_spec() {
    let c = Client::start(cfg(3)).await;
    let (pid, name) = &projects(c.sim())[0];
    let release_spec = model("release.json", "Release");
    let listed = rm_json(&c, &format!("/{name}/_apis/release/releases?%24top=5")).await;
    let item = &arr(&listed["value"])[0];
    let ex = example("releases__Query_ListAllReleases.json");
    same_keys("listed release", item, &arr(&ex["value"])[0], &release_spec);
    assert!(item.get("environments").is_none() && item.get("artifacts").is_none());
    assert_eq!(item["projectReference"]["name"], name.as_str());
    assert!(item["name"].as_str().unwrap().starts_with("Release-"));
    assert_eq!(
        item["releaseDefinition"]["url"],
        format!(
            "{}/{pid}/_apis/Release/definitions/{}",
            c.running.release_base_url(),
            item["releaseDefinition"]["id"]
        )
    );

    // The single GET has environments and artifacts; its projectReference.name is null.
    let id = item["id"].as_u64().unwrap();
    let single = rm_json(&c, &format!("/{name}/_apis/release/releases/{id}")).await;
    let ex = example("releases__GET__GetARelease.json");
    same_keys("release", &single, &ex, &release_spec);
    assert_eq!(single["projectReference"]["name"], Value::Null);
    let env_spec = model("release.json", "ReleaseEnvironment");
    let envs = arr(&single["environments"]);
    assert!((2..=4).contains(&envs.len()));
    for (i, e) in envs.iter().enumerate() {
        same_keys("environment", e, &arr(&ex["environments"])[0], &env_spec);
        assert_eq!(e["rank"], i + 1);
        assert_eq!(e["releaseId"], id);
    }
    let artifact = &arr(&single["artifacts"])[0];
    same_keys(
        "artifact",
        artifact,
        &arr(&ex["artifacts"])[0],
        &model("release.json", "Artifact"),
    );
    assert_eq!(artifact["type"], "Build");
    assert!(
        artifact["definitionReference"]["version"]["id"]
            .as_str()
            .unwrap()
            .parse::<u32>()
            .is_ok()
    );

    // A deployed environment has deploy steps with attempts and approvals.
    let (all, _) = walk(
        &c,
        true,
        &format!("/{name}/_apis/release/deployments?%24top=100"),
    )
    .await;
    let d = all
        .iter()
        .find(|d| d["deploymentStatus"] == "succeeded")
        .expect("a succeeded deployment");
    let dex = example("deployments__GET__ListDeployments.json");
    let dep_spec = model("release.json", "Deployment");
    same_keys("deployment", d, &arr(&dex["value"])[1], &dep_spec);
    for d in &all {
        same_keys("deployment", d, &arr(&dex["value"])[0], &dep_spec);
        let finished = !matches!(d["deploymentStatus"].as_str().unwrap(), "inProgress")
            && d["operationStatus"] != "Pending";
        assert_eq!(d.get("completedOn").is_some(), finished, "{d}");
        assert_eq!(d["release"]["createdOn"], "0001-01-01T00:00:00");
        assert_eq!(d["scheduledDeploymentTime"], "0001-01-01T00:00:00");
        assert_eq!(d["projectReference"]["id"], pid.as_str());
    }
    same_keys(
        "thin release",
        &d["release"],
        &arr(&dex["value"])[1]["release"],
        &model("release.json", "ReleaseReference"),
    );
    same_keys(
        "approval",
        &d["preDeployApprovals"][0],
        &arr(&dex["value"])[1]["preDeployApprovals"][0],
        &model("release.json", "ReleaseApproval"),
    );
    let rid = d["release"]["id"].as_u64().unwrap();
    let r = rm_json(&c, &format!("/{name}/_apis/release/releases/{rid}")).await;
    let env = arr(&r["environments"])
        .iter()
        .find(|e| e["id"] == d["releaseEnvironment"]["id"])
        .unwrap();
    let step = arr(&env["deploySteps"])
        .iter()
        .find(|s| s["deploymentId"] == d["id"])
        .expect("the deployment is a deploy step");
    let step_spec = model("release.json", "DeploymentAttempt");
    assert!(keys(step).is_subset(&step_spec), "{step}");
    let phase = &step["releaseDeployPhases"][0];
    assert!(keys(phase).is_subset(&model("release.json", "ReleaseDeployPhase")));
    let job = &phase["deploymentJobs"][0]["job"];
    assert!(
        keys(job).is_subset(&model("release.json", "ReleaseTask")),
        "{job}"
    );
    assert_eq!(step["attempt"], d["attempt"]);
    assert!(env["timeToDeploy"].as_f64().unwrap() > 0.0);
    // The single environment route prints the same environment.
    let one = rm_json(
        &c,
        &format!(
            "/{name}/_apis/release/releases/{rid}/environments/{}",
            env["id"]
        ),
    )
    .await;
    assert_eq!(&one, env);

    let defs = rm_json(&c, &format!("/{name}/_apis/release/definitions")).await;
    let dex = example("definitions__GET__ListAllReleaseDefinitions.json");
    same_keys(
        "definition",
        &arr(&defs["value"])[0],
        &arr(&dex["value"])[0],
        &model("release.json", "ReleaseDefinition"),
    );
    assert_eq!(arr(&defs["value"]).len(), 3);

    // YAML environments and records follow the spec (no example exists).
    let envs = c
        .get_json(&format!("/{name}/_apis/distributedtask/environments"))
        .await;
    let env_model = model("taskAgent.json", "EnvironmentInstance");
    for e in arr(&envs["value"]) {
        assert_eq!(keys(e), env_model, "{e}");
        assert_eq!(e["project"]["id"], pid.as_str());
        assert_eq!(e["resources"], serde_json::json!([]));
    }
    let record_model = model("taskAgent.json", "EnvironmentDeploymentExecutionRecord");
    let required: BTreeSet<String> = record_model
        .iter()
        .filter(|k| {
            !matches!(
                k.as_str(),
                "finishTime" | "result" | "startTime" | "resourceId"
            )
        })
        .cloned()
        .collect();
    let mut unfinished = 0;
    for e in arr(&envs["value"]) {
        let recs = c
            .get_json(&format!(
                "/{name}/_apis/distributedtask/environments/{}/environmentdeploymentrecords?top=500",
                e["id"]
            ))
            .await;
        for r in arr(&recs["value"]) {
            let k = keys(r);
            assert!(k.is_subset(&record_model) && required.is_subset(&k), "{r}");
            assert_eq!(r["environmentId"], e["id"]);
            assert_eq!(r["scopeId"], pid.as_str());
            assert_eq!(r["planType"], "Build");
            assert_eq!(r.get("result").is_some(), r.get("finishTime").is_some());
            if r.get("result").is_none() {
                unfinished += 1;
            }
            let result = r["result"].as_str().unwrap_or("succeeded");
            assert!(
                [
                    "succeeded",
                    "succeededWithIssues",
                    "failed",
                    "canceled",
                    "skipped",
                    "abandoned"
                ]
                .contains(&result)
            );
        }
    }
    assert!(unfinished > 0, "the newest run is still deploying");
}

#[tokio::test]
async fn release_lists_page_by_id_with_integer_tokens() {
    let c = Client::start(cfg(4)).await;
    let (_, name) = &projects(c.sim())[0];
    let base = format!("/{name}/_apis/release/releases");
    // 90 releases: the default page is 50, newest (highest id) first.
    let first = rm(&c, &format!("{base}?api-version=7.1")).await;
    let v = first.json();
    assert_eq!(arr(&v["value"]).len(), 50);
    let got = ids(arr(&v["value"]));
    assert_eq!(got.first(), Some(&90));
    assert!(got.windows(2).all(|w| w[0] == w[1] + 1));
    assert_eq!(first.header("x-ms-continuationtoken"), Some("40"));
    // $top above 100 (or negative) means 100.
    for top in ["500", "-1"] {
        let v = rm_json(&c, &format!("{base}?%24top={top}")).await;
        assert_eq!(arr(&v["value"]).len(), 90, "$top={top}");
    }
    let wide = rm_json(
        &c,
        &format!("/{name}/_apis/release/deployments?%24top=1000"),
    )
    .await;
    assert!(arr(&wide["value"]).len() <= 100);
    // $top=0: an empty page whose token names the first match.
    let r = rm(&c, &format!("{base}?%24top=0&api-version=7.1")).await;
    assert_eq!(arr(&r.json()["value"]).len(), 0);
    assert_eq!(r.header("x-ms-continuationtoken"), Some("90"));
    // Walks in both orders see every release once.
    let (desc, pages) = walk(&c, true, &format!("{base}?%24top=7")).await;
    assert_eq!(pages, 13);
    assert_eq!(ids(&desc), (1..=90).rev().collect::<Vec<_>>());
    let (asc, _) = walk(&c, true, &format!("{base}?%24top=7&queryOrder=ascending")).await;
    assert_eq!(ids(&asc), (1..=90).collect::<Vec<_>>());
    // Ids ascend with createdOn.
    let created: Vec<&str> = asc
        .iter()
        .map(|r| r["createdOn"].as_str().unwrap())
        .collect();
    let parsed: Vec<_> = created
        .iter()
        .map(|s| chrono::DateTime::parse_from_rfc3339(s).unwrap())
        .collect();
    assert!(parsed.windows(2).all(|w| w[0] <= w[1]));
    // minCreatedTime (inclusive) / maxCreatedTime (exclusive), ascending: the sync's cursor.
    let (lo, hi) = (created[20], created[60]);
    let (window, _) = walk(
        &c,
        true,
        &format!("{base}?minCreatedTime={lo}&maxCreatedTime={hi}&queryOrder=ascending&%24top=9"),
    )
    .await;
    assert_eq!(ids(&window), (21..=60).collect::<Vec<_>>());
    // $expand.
    let v = rm_json(
        &c,
        &format!("{base}?%24top=3&%24expand=environments,artifacts"),
    )
    .await;
    for r in arr(&v["value"]) {
        assert!(!arr(&r["environments"]).is_empty());
        assert_eq!(arr(&r["artifacts"]).len(), 1);
    }
    // A token that is not a number is refused; another project's releases start at 1 too.
    let r = rm(&c, &format!("{base}?continuationToken=abc&api-version=7.1")).await;
    assert_eq!(r.status, 400);
    let (_, other) = &projects(c.sim())[1];
    let (theirs, _) = walk(
        &c,
        true,
        &format!("/{other}/_apis/release/releases?%24top=100&queryOrder=ascending"),
    )
    .await;
    assert_eq!(ids(&theirs)[0], 1);
}

#[tokio::test]
async fn release_filters() {
    let c = Client::start(cfg(5)).await;
    let (_, name) = &projects(c.sim())[0];
    let base = format!("/{name}/_apis/release/releases");
    let (all, _) = walk(&c, true, &format!("{base}?%24top=100")).await;
    let count = |f: &dyn Fn(&Value) -> bool| all.iter().filter(|r| f(r)).count();
    let (by_def, _) = walk(&c, true, &format!("{base}?definitionId=2&%24top=100")).await;
    assert_eq!(by_def.len(), 30);
    assert!(by_def.iter().all(|r| r["releaseDefinition"]["id"] == 2));
    for status in ["abandoned", "active", "draft"] {
        let (got, _) = walk(
            &c,
            true,
            &format!("{base}?statusFilter={status}&%24top=100"),
        )
        .await;
        assert_eq!(got.len(), count(&|r| r["status"] == status), "{status}");
    }
    assert!(count(&|r| r["status"] == "abandoned") > 0);
    let v = rm_json(&c, &format!("{base}?isDeleted=true")).await;
    assert!(arr(&v["value"]).is_empty());
    let v = rm_json(&c, &format!("{base}?searchText=Release-1&%24top=100")).await;
    assert!(
        arr(&v["value"])
            .iter()
            .all(|r| r["name"].as_str().unwrap().starts_with("Release-1"))
    );
    let creator = all[0]["createdBy"]["id"].as_str().unwrap();
    let (mine, _) = walk(&c, true, &format!("{base}?createdBy={creator}&%24top=100")).await;
    assert_eq!(mine.len(), count(&|r| r["createdBy"]["id"] == creator));
    let v = rm_json(&c, &format!("{base}?releaseIdFilter=3,5,8")).await;
    assert_eq!(ids(arr(&v["value"])), vec![8, 5, 3]);
    for bad in [
        "statusFilter=sideways",
        "minCreatedTime=yesterday",
        "queryOrder=up",
    ] {
        let r = rm(&c, &format!("{base}?{bad}&api-version=7.1")).await;
        assert_eq!(r.status, 400, "{bad}");
    }
    let r = rm(&c, &format!("{base}/9999?api-version=7.1")).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["typeKey"], "ReleaseNotFoundException");
    let r = rm(&c, "/NoSuchProject/_apis/release/releases?api-version=7.1").await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn deployments_page_by_id_and_filter() {
    let c = Client::start(cfg(6)).await;
    let (_, name) = &projects(c.sim())[0];
    let base = format!("/{name}/_apis/release/deployments");
    let truth = c.sim().truth_kinds(&["release_deployments", "projects"]);
    let pid = &projects(c.sim())[0].0;
    let mine: Vec<&Value> = arr(&truth["release_deployments"])
        .iter()
        .filter(|d| d["projectReference"]["id"] == pid.as_str())
        .collect();
    let n = mine.len() as u64;
    assert!(n > 100, "{n}");
    // Descending by default, 50 a page.
    let first = rm(&c, &format!("{base}?api-version=7.1")).await;
    assert_eq!(ids(arr(&first.json()["value"]))[0], n);
    assert_eq!(arr(&first.json()["value"]).len(), 50);
    assert_eq!(
        first.header("x-ms-continuationtoken"),
        Some(&*(n - 50).to_string())
    );
    let (asc, _) = walk(&c, true, &format!("{base}?queryOrder=ascending&%24top=33")).await;
    assert_eq!(ids(&asc), (1..=n).collect::<Vec<_>>());
    assert_eq!(asc.iter().collect::<Vec<_>>(), mine);
    // Ids ascend with queuedOn.
    let queued: Vec<_> = asc
        .iter()
        .map(|d| chrono::DateTime::parse_from_rfc3339(d["queuedOn"].as_str().unwrap()).unwrap())
        .collect();
    assert!(queued.windows(2).all(|w| w[0] <= w[1]));
    let count = |f: &dyn Fn(&Value) -> bool| asc.iter().filter(|d| f(d)).count();
    // minModifiedTime: what changed since a cursor.
    let cut = asc[asc.len() / 2]["lastModifiedOn"].as_str().unwrap();
    let (since, _) = walk(
        &c,
        true,
        &format!("{base}?minModifiedTime={cut}&queryOrder=ascending&%24top=100"),
    )
    .await;
    let cutoff = chrono::DateTime::parse_from_rfc3339(cut).unwrap();
    let modified = |d: &Value| {
        chrono::DateTime::parse_from_rfc3339(d["lastModifiedOn"].as_str().unwrap()).unwrap()
    };
    assert_eq!(since.len(), count(&|d| modified(d) >= cutoff));
    assert!(since.iter().all(|d| modified(d) >= cutoff));
    for (q, f) in [
        ("deploymentStatus=succeeded", "succeeded"),
        ("deploymentStatus=failed", "failed"),
        ("deploymentStatus=inProgress", "inProgress"),
    ] {
        let (got, _) = walk(&c, true, &format!("{base}?{q}&%24top=100")).await;
        assert_eq!(got.len(), count(&|d| d["deploymentStatus"] == f), "{q}");
    }
    let (approved, _) = walk(
        &c,
        true,
        &format!("{base}?operationStatus=approved&%24top=100"),
    )
    .await;
    assert_eq!(
        approved.len(),
        count(&|d| d["operationStatus"] == "Approved")
    );
    let (latest, _) = walk(
        &c,
        true,
        &format!("{base}?latestAttemptsOnly=true&%24top=100"),
    )
    .await;
    let retried = count(&|d| d["attempt"].as_u64().unwrap() > 1);
    assert!(retried > 0);
    assert_eq!(latest.len(), asc.len() - retried);
    let def_env = asc[0]["definitionEnvironmentId"].clone();
    let (one, _) = walk(
        &c,
        true,
        &format!("{base}?definitionEnvironmentId={def_env}&%24top=100"),
    )
    .await;
    assert_eq!(
        one.len(),
        count(&|d| d["definitionEnvironmentId"] == def_env)
    );
    let who = asc[0]["requestedBy"]["id"].as_str().unwrap();
    let (by, _) = walk(&c, true, &format!("{base}?createdBy={who}&%24top=100")).await;
    assert_eq!(by.len(), count(&|d| d["requestedBy"]["id"] == who));
    let started = asc[10]["startedOn"].as_str().unwrap();
    let (st, _) = walk(
        &c,
        true,
        &format!("{base}?minStartedTime={started}&%24top=100"),
    )
    .await;
    assert!(
        !st.is_empty()
            && st
                .iter()
                .all(|d| d["startedOn"].as_str().unwrap() >= started)
    );
}

#[tokio::test]
async fn yaml_environments_and_records_page_their_own_way() {
    let c = Client::start(cfg(7)).await;
    let (_, name) = &projects(c.sim())[0];
    let list = format!("/{name}/_apis/distributedtask/environments");
    let all = c.get_json(&list).await;
    let names: Vec<&str> = arr(&all["value"])
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["dev", "production", "staging"],
        "ordered by name"
    );
    // $top (with the $) and a token naming the next environment.
    let r = c.get(&format!("{list}?%24top=1&api-version=7.1")).await;
    assert_eq!(arr(&r.json()["value"]).len(), 1);
    assert_eq!(r.header("x-ms-continuationtoken"), Some("production"));
    let (walked, pages) = walk(&c, false, &format!("{list}?%24top=1")).await;
    assert_eq!((walked.len(), pages), (3, 3));
    let v = c.get_json(&format!("{list}?name=STAGING")).await;
    assert_eq!(arr(&v["value"]).len(), 1);
    let prod = arr(&all["value"])
        .iter()
        .find(|e| e["name"] == "production")
        .unwrap();
    let id = prod["id"].as_u64().unwrap();
    let one = c.get_json(&format!("{list}/{id}")).await;
    assert_eq!(&one, prod);
    let r = c.get(&format!("{list}/999?api-version=7.1")).await;
    assert_eq!(r.status, 404);

    // Records: `top` without `$`, 25 by default, the token only in the header.
    let first_env = arr(&all["value"])
        .iter()
        .find(|e| e["name"] == "dev")
        .unwrap()["id"]
        .as_u64()
        .unwrap();
    let recs = format!("{list}/{first_env}/environmentdeploymentrecords");
    for q in ["", "?%24top=100", "?top=0", "?top=-3"] {
        let r = c
            .get(&format!(
                "{recs}{q}{}api-version=7.1",
                if q.is_empty() { "?" } else { "&" }
            ))
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(arr(&r.json()["value"]).len(), 25, "{q}");
        assert!(r.header("X-MS-ContinuationToken").is_some());
    }
    let (walked, pages) = walk(&c, false, &format!("{recs}?top=10")).await;
    let got = ids(&walked);
    assert!(got.len() >= 40, "{}", got.len());
    assert_eq!(pages, got.len().div_ceil(10));
    assert!(got.windows(2).all(|w| w[0] > w[1]), "newest first");
    let r = c.get(&format!("{recs}?top=1000&api-version=7.1")).await;
    assert_eq!(ids(arr(&r.json()["value"])), got);
    // A token that is not a number reads as none: the first page again.
    let r = c
        .get(&format!("{recs}?continuationToken=nope&api-version=7.1"))
        .await;
    assert_eq!(ids(arr(&r.json()["value"])), got[..25].to_vec());
    // The last stage has fewer records than the first (runs stop at a failed stage).
    let prod_recs = c
        .get_json(&format!("{list}/{id}/environmentdeploymentrecords?top=500"))
        .await;
    assert!(arr(&prod_recs["value"]).len() < got.len());
    // Records of one run share the owner (the run) and planId.
    let mut by_run: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    for r in &walked {
        by_run
            .entry(r["owner"]["id"].as_u64().unwrap())
            .or_default()
            .insert(r["planId"].as_str().unwrap().to_string());
    }
    assert!(by_run.values().all(|plans| plans.len() == 1));
    let stats = c.sim().stats();
    assert!(
        stats["by_endpoint"]["environment_deployment_records"]
            .as_u64()
            .unwrap()
            > 5
    );
    assert_eq!(stats["by_endpoint"]["environment"], 2);
}

#[tokio::test]
async fn scopes_guard_releases_and_environments() {
    let mut config = cfg(8);
    for (token, scope) in [
        ("code", "vso.code"),
        ("release", "vso.release_execute"),
        ("env", "vso.environment_manage"),
    ] {
        config.pats.push(Pat {
            token: token.into(),
            scopes: vec![scope.into()],
        });
    }
    let mut c = Client::start(config).await;
    let (_, name) = projects(c.sim())[0].clone();
    let releases = format!("/{name}/_apis/release/releases?api-version=7.1");
    let envs = format!("/{name}/_apis/distributedtask/environments?api-version=7.1");
    for (token, rel, env) in [("code", 403, 403), ("release", 200, 403), ("env", 403, 200)] {
        assert_eq!(rm_as(&c, token, &releases).await.status, rel, "{token}");
        c.token = token.to_string();
        let r = c.get(&envs).await;
        assert_eq!(r.status, env, "{token}");
        if env == 403 {
            assert_eq!(r.json()["typeKey"], "UnauthorizedRequestException");
            assert!(
                r.json()["message"]
                    .as_str()
                    .unwrap()
                    .contains("vso.environment_manage")
            );
        }
    }
    let r = rm_as(&c, "code", &releases).await;
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("vso.release")
    );
}

/// Every kind of the release-side truth against what the endpoints serve.
async fn assert_truth_is_served(c: &Client) {
    let truth = c.sim().truth_kinds(&KINDS);
    let mut releases = Vec::new();
    let mut environments = Vec::new();
    let mut deployments = Vec::new();
    let mut yaml = Vec::new();
    let mut records = Vec::new();
    let mut projects = projects(c.sim());
    projects.sort();
    for (pid, name) in &projects {
        let (listed, _) = walk(
            c,
            true,
            &format!("/{name}/_apis/release/releases?queryOrder=ascending&%24top=100"),
        )
        .await;
        for r in listed {
            let mut single =
                rm_json(c, &format!("/{name}/_apis/release/releases/{}", r["id"])).await;
            let envs = single
                .as_object_mut()
                .unwrap()
                .remove("environments")
                .unwrap();
            let mut envs = arr(&envs).clone();
            for e in &mut envs {
                e.as_object_mut()
                    .unwrap()
                    .insert("projectId".into(), Value::from(pid.as_str()));
            }
            environments.extend(envs);
            releases.push(single);
        }
        let (deps, _) = walk(
            c,
            true,
            &format!("/{name}/_apis/release/deployments?queryOrder=ascending&%24top=100"),
        )
        .await;
        deployments.extend(deps);
        let envs = c
            .get_json(&format!("/{name}/_apis/distributedtask/environments"))
            .await;
        for e in arr(&envs["value"]) {
            let (recs, _) = walk(
                c,
                false,
                &format!(
                    "/{name}/_apis/distributedtask/environments/{}/environmentdeploymentrecords?top=100",
                    e["id"]
                ),
            )
            .await;
            records.extend(recs);
            yaml.push(e.clone());
        }
    }
    environments.sort_by_key(|e| {
        (
            e["projectId"].as_str().unwrap().to_string(),
            e["id"].as_u64().unwrap(),
        )
    });
    yaml.sort_by_key(|e| e["id"].as_u64().unwrap());
    records.sort_by_key(|e| e["id"].as_u64().unwrap());
    assert_eq!(arr(&truth["releases"]), &releases);
    assert_eq!(arr(&truth["release_environments"]), &environments);
    assert_eq!(arr(&truth["release_deployments"]), &deployments);
    assert_eq!(arr(&truth["environments"]), &yaml);
    assert_eq!(arr(&truth["environment_deployments"]), &records);
}

#[tokio::test]
async fn the_truth_is_what_the_endpoints_serve() {
    let c = Client::start(SimConfig {
        releases_per_definition: 8,
        deployment_records_per_environment: 12,
        ..cfg(9)
    })
    .await;
    assert_truth_is_served(&c).await;
    let counts = c.sim().counts();
    assert_eq!(counts["releases"], 2 * 3 * 8);
    assert_eq!(counts["environments"], 6);
}

#[tokio::test]
async fn a_new_deployment_of_an_old_release_is_found_by_modified_time_only() {
    let c = Client::start(cfg(10)).await;
    let (pid, name) = projects(c.sim())[0].clone();
    let rbase = format!("/{name}/_apis/release");
    let old = rm_json(&c, &format!("{rbase}/releases/3")).await;
    assert_eq!(old["status"], "active", "seed 10's release 3 is active");
    let env = &arr(&old["environments"])[0];
    let before = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let answer = c
        .sim()
        .apply(&Change::DeployRelease {
            project: name.clone(),
            release: 3,
            environment: env["id"].as_u64().unwrap() as u32,
        })
        .unwrap();
    assert_eq!(answer["projectId"], pid.as_str());
    let dep = answer["deployment"].as_u64().unwrap();
    let attempt = answer["attempt"].as_u64().unwrap();
    assert_eq!(attempt as usize, arr(&env["deploySteps"]).len() + 1);
    // minCreatedTime misses it; minModifiedTime on deployments finds it.
    let created = rm_json(&c, &format!("{rbase}/releases?minCreatedTime={before}")).await;
    assert!(arr(&created["value"]).is_empty());
    let modified = rm_json(&c, &format!("{rbase}/deployments?minModifiedTime={before}")).await;
    assert_eq!(ids(arr(&modified["value"])), vec![dep]);
    let d = &arr(&modified["value"])[0];
    assert_eq!(d["deploymentStatus"], "inProgress");
    assert!(d.get("completedOn").is_none());
    let now = rm_json(&c, &format!("{rbase}/releases/3")).await;
    assert_eq!(now["createdOn"], old["createdOn"]);
    assert_ne!(now["modifiedOn"], old["modifiedOn"]);
    assert_eq!(now["environments"][0]["status"], "inProgress");
    assert_eq!(
        c.sim()
            .apply(&Change::DeployRelease {
                project: name.clone(),
                release: 3,
                environment: env["id"].as_u64().unwrap() as u32,
            })
            .unwrap_err(),
        format!("environment {} is still deploying", env["id"])
    );
    // Finishing it moves it again; the environment shows the result.
    let mid = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    c.sim()
        .apply(&Change::FinishDeployment {
            project: name.clone(),
            deployment: dep as u32,
            status: "failed".into(),
        })
        .unwrap();
    let modified = rm_json(&c, &format!("{rbase}/deployments?minModifiedTime={mid}")).await;
    let d = &arr(&modified["value"])[0];
    assert_eq!(d["deploymentStatus"], "failed");
    assert_eq!(d["operationStatus"], "PhaseFailed");
    assert!(d.get("completedOn").is_some());
    let now = rm_json(&c, &format!("{rbase}/releases/3")).await;
    assert_eq!(now["environments"][0]["status"], "rejected");
    c.sim()
        .apply(&Change::AbandonRelease {
            project: pid.clone(),
            release: 3,
        })
        .unwrap();
    let now = rm_json(&c, &format!("{rbase}/releases/3")).await;
    assert_eq!(now["status"], "abandoned");
    assert!(
        c.sim()
            .apply(&Change::AbandonRelease {
                project: pid.clone(),
                release: 3,
            })
            .is_err()
    );
    // A new release gets the next id and is found by minCreatedTime.
    let created = c
        .sim()
        .apply(&Change::CreateRelease {
            project: name.clone(),
            definition: 1,
        })
        .unwrap();
    assert_eq!(created["release"], 91);
    let v = rm_json(&c, &format!("{rbase}/releases?minCreatedTime={before}")).await;
    assert_eq!(ids(arr(&v["value"])), vec![91]);
    assert_truth_is_served(&c).await;
}

#[tokio::test]
async fn records_appear_and_unfinished_ones_finish() {
    let c = Client::start(cfg(11)).await;
    let (_, name) = projects(c.sim())[0].clone();
    let envs = c
        .get_json(&format!("/{name}/_apis/distributedtask/environments"))
        .await;
    let env = arr(&envs["value"])[0]["id"].as_u64().unwrap();
    let recs =
        format!("/{name}/_apis/distributedtask/environments/{env}/environmentdeploymentrecords");
    let answer = c
        .sim()
        .apply(&Change::AddEnvironmentRecord {
            environment: env as u32,
            finished: false,
        })
        .unwrap();
    let id = answer["record"].as_u64().unwrap();
    assert_eq!(
        id,
        c.sim().counts()["environment_deployments"]
            .as_u64()
            .unwrap()
    );
    // The same changes over HTTP, by their snake_case tags.
    let r = c
        .admin(
            "POST",
            "/_sim/change",
            Some(&format!(
                r#"{{"add_environment_record": {{"environment": {env}, "finished": true}}}}"#
            )),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["record"], id + 1);
    let r = c
        .admin(
            "POST",
            "/_sim/change",
            Some(&format!(
                r#"{{"finish_environment_record": {{"record": {}, "result": "failed"}}}}"#,
                id + 1
            )),
        )
        .await;
    assert_eq!(r.status, 404, "finished already: {}", r.text());
    let r = c
        .admin(
            "POST",
            "/_sim/change",
            Some(&format!(
                r#"{{"deploy_release": {{"project": "{name}", "release": 999, "environment": 1}}}}"#
            )),
        )
        .await;
    assert_eq!(r.status, 404);
    assert!(r.text().contains("no release 999"));
    let page = c.get_json(&format!("{recs}?top=2")).await;
    assert_eq!(ids(arr(&page["value"])), vec![id + 1, id]);
    let r = &arr(&page["value"])[1];
    assert_eq!(r["id"], id, "newest first");
    assert!(r.get("result").is_none() && r.get("finishTime").is_none());
    assert!(r.get("startTime").is_some());
    c.sim()
        .apply(&Change::FinishEnvironmentRecord {
            record: id,
            result: "succeededWithIssues".into(),
        })
        .unwrap();
    let page = c.get_json(&format!("{recs}?top=2")).await;
    let r = &arr(&page["value"])[1];
    assert_eq!(r["result"], "succeededWithIssues");
    assert!(r.get("finishTime").is_some());
    assert!(
        c.sim()
            .apply(&Change::FinishEnvironmentRecord {
                record: id,
                result: "failed".into(),
            })
            .is_err(),
        "finished records never change"
    );
    assert!(
        c.sim()
            .apply(&Change::FinishEnvironmentRecord {
                record: 1,
                result: "exploded".into(),
            })
            .is_err()
    );
}

#[tokio::test]
async fn random_rounds_change_the_release_side_only() {
    let c = Client::start(cfg(12)).await;
    let others = "projects,repositories,pull_requests,work_items,teams,users";
    let before_others = c
        .admin("GET", &format!("/_sim/truth?kinds={others}"), None)
        .await
        .body;
    let before = c.sim().truth_kinds(&KINDS);
    let unfinished_before = arr(&before["environment_deployments"])
        .iter()
        .filter(|r| r.get("result").is_none())
        .count();
    let r = c
        .admin(
            "POST",
            "/_sim/mutate_releases",
            Some(r#"{"seed": 5, "changes": 60}"#),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let answer = r.json();
    let changed = &answer["changed"];
    let total: u64 = changed
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(total, 60, "{answer}");
    for k in [
        "releases_created",
        "releases_redeployed",
        "deployments_finished",
        "environment_records_created",
        "environment_records_finished",
    ] {
        assert!(changed[k].as_u64().unwrap() > 0, "{k}: {answer}");
    }
    assert!(!arr(&answer["touched_releases"]).is_empty());
    assert!(!arr(&answer["touched_environment_records"]).is_empty());
    let after_others = c
        .admin("GET", &format!("/_sim/truth?kinds={others}"), None)
        .await
        .body;
    assert_eq!(before_others, after_others);
    let after = c.sim().truth_kinds(&KINDS);
    // Finished records never change; new ones have the next ids.
    let old: BTreeMap<u64, &Value> = arr(&before["environment_deployments"])
        .iter()
        .map(|r| (r["id"].as_u64().unwrap(), r))
        .collect();
    for r in arr(&after["environment_deployments"]) {
        if let Some(o) = old.get(&r["id"].as_u64().unwrap())
            && o.get("result").is_some()
        {
            assert_eq!(*o, r);
        }
    }
    let unfinished_after = arr(&after["environment_deployments"])
        .iter()
        .filter(|r| r.get("result").is_none())
        .count();
    assert_ne!(unfinished_before, unfinished_after);
    // Every touched release moved; the others did not.
    let touched: BTreeSet<(String, u64)> = arr(&answer["touched_releases"])
        .iter()
        .map(|t| {
            (
                t["projectId"].as_str().unwrap().into(),
                t["id"].as_u64().unwrap(),
            )
        })
        .collect();
    let key = |r: &Value| {
        (
            r["projectReference"]["id"].as_str().unwrap().to_string(),
            r["id"].as_u64().unwrap(),
        )
    };
    let was: BTreeMap<_, &Value> = arr(&before["releases"])
        .iter()
        .map(|r| (key(r), r))
        .collect();
    for r in arr(&after["releases"]) {
        match was.get(&key(r)) {
            Some(o) if !touched.contains(&key(r)) => assert_eq!(*o, r),
            Some(o) => assert_ne!(o["modifiedOn"], r["modifiedOn"]),
            None => assert!(touched.contains(&key(r))),
        }
    }
    assert_truth_is_served(&c).await;
    // The existing random round leaves this side alone.
    c.sim().mutate(3, 10);
    assert_eq!(c.sim().truth_kinds(&KINDS), after);
}

#[test]
fn the_same_seed_gives_the_same_release_side() {
    let fixed = |seed| SimConfig {
        start_time: Some(chrono::DateTime::from_timestamp(1_750_000_000, 0).unwrap()),
        ..cfg(seed)
    };
    let a = Sim::new(fixed(13)).truth_kinds(&KINDS);
    let b = Sim::new(fixed(13)).truth_kinds(&KINDS);
    assert_eq!(a, b);
    assert_ne!(a, Sim::new(fixed(14)).truth_kinds(&KINDS));
    // The default configuration has a small but real release side.
    let d = Sim::new(SimConfig::default()).counts();
    assert_eq!(d["releases"], 3 * 2 * 10);
    assert_eq!(d["environments"], 3 * 2);
    assert!(d["release_deployments"].as_u64().unwrap() > 60, "{d}");
    assert!(d["environment_deployments"].as_u64().unwrap() > 45, "{d}");
    // Zero sizes: no release side, and nothing breaks.
    let none = Sim::new(SimConfig {
        release_definitions_per_project: 0,
        environments_per_project: 0,
        ..cfg(1)
    });
    assert_eq!(none.counts()["releases"], 0);
    assert_eq!(
        none.mutate_releases(1, 10)["changed"]["releases_created"],
        0
    );
}

#[test]
fn a_big_release_side_is_cheap() {
    let t = std::time::Instant::now();
    let sim = Sim::new(SimConfig {
        projects: 10,
        repos_per_project: 1,
        prs_per_repo: 1,
        work_items_per_project: 0,
        release_definitions_per_project: 4,
        releases_per_definition: 50,
        environments_per_project: 2,
        deployment_records_per_environment: 300,
        ..SimConfig::default()
    });
    let n = sim.counts();
    assert_eq!(n["releases"], 2000);
    assert!(n["release_deployments"].as_u64().unwrap() > 4000, "{n}");
    assert!(
        n["environment_deployments"].as_u64().unwrap() >= 5000,
        "{n}"
    );
    assert!(
        t.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        t.elapsed()
    );
}
