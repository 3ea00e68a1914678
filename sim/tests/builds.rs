//! The Build side over HTTP: definitions, builds, timelines and build changes — shapes against
//! the recorded examples, paging by timestamp tokens (ties included), every filter, the
//! page-one quirk, 204/404 timelines, the 200-change cap, scopes, mutations, and that the
//! truth equals what the endpoints serve.

mod support;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use ado_sim::{Change, Pat, SimConfig};
use serde_json::Value;
use support::Client;

const KINDS: [&str; 4] = [
    "pipelines",
    "builds",
    "build_timeline_records",
    "build_changes",
];

fn cfg(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        projects: 2,
        repos_per_project: 2,
        prs_per_repo: 5,
        work_items_per_project: 0,
        definitions_per_project: 6,
        builds_per_definition: 25,
        build_compile_failure_share: 0.05,
        ..SimConfig::default()
    }
}

fn arr(v: &Value) -> &Vec<Value> {
    v.as_array().expect("array")
}

fn example(rel: &str) -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/ado-api/examples/build")
        .join(rel);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let v: Value = serde_json::from_str(&text).unwrap();
    v["responses"]["200"]["body"].clone()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().expect("object").keys().cloned().collect()
}

fn missing(want: &Value, got: &Value) -> Vec<String> {
    keys(want).difference(&keys(got)).cloned().collect()
}

/// The projects (names) and their builds as the truth has them.
fn projects(c: &Client) -> Vec<(String, String)> {
    let t = c.sim().truth_kinds(&["projects"]);
    arr(&t["projects"])
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn truth_builds(c: &Client) -> Vec<Value> {
    arr(&c.sim().truth_kinds(&["builds"])["builds"]).clone()
}

fn project_of(b: &Value) -> &str {
    b["project"]["name"].as_str().unwrap()
}

fn id(b: &Value) -> u64 {
    b["id"].as_u64().unwrap()
}

/// Walks `builds` of a project with `query` via continuation tokens; the pages and tokens.
async fn walk(c: &Client, project: &str, query: &str) -> (Vec<Value>, Vec<String>) {
    let mut out = Vec::new();
    let mut tokens = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..10_000 {
        let mut url = format!("/{project}/_apis/build/builds?api-version=7.1&{query}");
        if let Some(t) = &token {
            url.push_str(&format!("&continuationToken={}", encode(t)));
        }
        let r = c.get(&url).await;
        assert_eq!(r.status, 200, "{url}: {}", r.text());
        out.extend(arr(&r.json()["value"]).iter().cloned());
        match r.header("x-ms-continuationtoken") {
            Some(t) => {
                tokens.push(t.to_string());
                token = Some(t.to_string());
            }
            None => return (out, tokens),
        }
    }
    panic!("the walk does not end");
}

/// A build's place in an order on `field`: (time, id).
fn key(b: &Value, field: &str) -> (chrono::DateTime<chrono::FixedOffset>, u64) {
    let t = chrono::DateTime::parse_from_rfc3339(b[field].as_str().unwrap()).unwrap();
    (t, id(b))
}

fn encode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test]
async fn shapes_match_the_recorded_examples() {
    let c = Client::start(cfg(1)).await;
    let builds = truth_builds(&c);
    let want = example("v5.0__builds__GET__build_builds__knownBuildId_.json");
    let done = builds
        .iter()
        .find(|b| {
            b["status"] == "completed" && b["startTime"].is_string() && b["deleted"].is_null()
        })
        .unwrap();
    let path = format!("/{}/_apis/build/builds/{}", project_of(done), id(done));
    let got = c.get_json(&path).await;
    assert_eq!(&got, done, "the single GET is the truth");
    assert_eq!(missing(&want, &got), Vec::<String>::new());
    for k in [
        "definition",
        "project",
        "repository",
        "requestedFor",
        "logs",
    ] {
        assert_eq!(missing(&want[k], &got[k]), Vec::<String>::new(), "{k}");
    }
    assert_eq!(got["repository"]["type"], "TfsGit");
    assert!(
        got["uri"]
            .as_str()
            .unwrap()
            .starts_with("vstfs:///Build/Build/")
    );
    // The list's first example build has the same keys.
    let list = example(
        "v5.0__builds__GET__build_builds_definitions-_definitionId__statusFilter-completed__top-1.json",
    );
    assert_eq!(missing(&list["value"][0], &got), Vec::<String>::new());

    // Unfinished builds have no result or finishTime; not started ones no startTime.
    for b in &builds {
        let completed = b["status"] == "completed";
        assert_eq!(b["result"].is_string(), completed, "{b}");
        assert_eq!(b["finishTime"].is_string(), completed, "{b}");
        if b["status"] == "notStarted" || b["status"] == "postponed" {
            assert!(b["startTime"].is_null());
        }
    }

    let want = example("v5.0__timeline__GET__build_builds__knownBuildId__timeline.json");
    let tl = c.get_json(&format!("{path}/timeline")).await;
    assert_eq!(missing(&want, &tl), Vec::<String>::new());
    let mut want_record = want["records"][1].clone();
    want_record.as_object_mut().unwrap().remove("issues");
    for r in arr(&tl["records"]) {
        assert_eq!(missing(&want_record, r), Vec::<String>::new());
        if r["lastModified"].as_str().unwrap().starts_with("0001") {
            assert_eq!(r["lastModified"], "0001-01-01T00:00:00");
        }
    }
    assert!(tl["lastChangedBy"].is_string());

    let want = example("v5.0__changes__GET__build_builds__knownBuildId__changes.json");
    let ch = c.get_json(&format!("{path}/changes")).await;
    let first = &arr(&ch["value"])[0];
    assert_eq!(missing(&want["value"][0], first), Vec::<String>::new());
    assert_eq!(keys(&want["value"][0]["author"]), keys(&first["author"]));
    assert!(first["author"]["id"].is_null());
    assert_eq!(first["type"], "TfsGit");
    assert_eq!(
        first["id"], done["sourceVersion"],
        "the source version comes first"
    );
    for k in ["messageTruncated", "displayUri", "pusher"] {
        assert!(!first[k].is_null(), "{k}");
    }
}

#[tokio::test]
async fn definitions_list_shallow_or_whole_and_page() {
    let c = Client::start(cfg(2)).await;
    let (project, _) = projects(&c)[0].clone();
    let base = format!("/{project}/_apis/build/definitions");
    let shallow = c.get_json(&base).await;
    let defs = arr(&shallow["value"]);
    assert_eq!(defs.len(), 6);
    let ids: Vec<u64> = defs.iter().map(|d| d["id"].as_u64().unwrap()).collect();
    assert_eq!(
        ids,
        vec![1, 2, 3, 4, 5, 6],
        "ids are per project, ascending by default"
    );
    for d in defs {
        assert!(d["process"].is_null() && d["repository"].is_null());
        for k in [
            "id",
            "name",
            "path",
            "revision",
            "queueStatus",
            "type",
            "createdDate",
            "project",
            "url",
            "quality",
            "uri",
        ] {
            assert!(!d[k].is_null(), "{k}");
        }
        assert_eq!(d["type"], "build");
        assert!(d["path"].as_str().unwrap().starts_with('\\'));
    }
    let whole = c
        .get_json(&format!("{base}?includeAllProperties=true"))
        .await;
    let whole = arr(&whole["value"]);
    let mut kinds = HashSet::new();
    for d in whole {
        let t = d["process"]["type"].as_u64().unwrap();
        kinds.insert(t);
        if t == 2 {
            assert!(d["process"]["yamlFilename"].is_string());
        }
        assert_eq!(d["repository"]["type"], "TfsGit");
        assert!(d["repository"]["id"].is_string() && d["repository"]["defaultBranch"].is_string());
        let one = c.get_json(&format!("{base}/{}", d["id"])).await;
        assert_eq!(&one, d, "the single GET prints the same definition");
    }
    assert_eq!(kinds, HashSet::from([1, 2]), "YAML and classic");
    let truth = c.sim().truth_kinds(&["pipelines"]);
    let mine: Vec<&Value> = arr(&truth["pipelines"])
        .iter()
        .filter(|d| d["project"]["name"] == project.as_str())
        .collect();
    assert_eq!(mine.len(), 6);
    for d in &mine {
        assert!(whole.contains(d));
    }

    // Paging by token.
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let mut url = format!("{base}?api-version=7.1&%24top=4&includeAllProperties=true");
        if let Some(t) = &token {
            url.push_str(&format!("&continuationToken={t}"));
        }
        let r = c.get(&url).await;
        assert_eq!(r.status, 200);
        let page = r.json();
        assert!(arr(&page["value"]).len() <= 4);
        seen.extend(arr(&page["value"]).iter().cloned());
        match r.header("x-ms-continuationtoken") {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!(&seen, whole);

    // Filters: name pattern, folder, process type, order.
    let name = whole[0]["name"].as_str().unwrap();
    let prefix: String = name.chars().take(3).collect();
    let by_name = c
        .get_json(&format!("{base}?name={}*", prefix.replace(' ', "%20")))
        .await;
    assert!(arr(&by_name["value"]).iter().all(|d| {
        d["name"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .starts_with(&prefix.to_lowercase())
    }));
    assert!(!arr(&by_name["value"]).is_empty());
    let classic = c.get_json(&format!("{base}?processType=1")).await;
    assert!(!arr(&classic["value"]).is_empty());
    let root = c.get_json(&format!("{base}?path=%5C")).await;
    assert_eq!(
        arr(&root["value"]).len(),
        6,
        "the root folder holds every folder"
    );
    let by_name_desc = c
        .get_json(&format!("{base}?queryOrder=definitionNameDescending"))
        .await;
    let names: Vec<String> = arr(&by_name_desc["value"])
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_lowercase())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(names, sorted);
    let r = c.get(&format!("{base}/99?api-version=7.1")).await;
    assert_eq!(r.status, 404);
    let repo = whole[0]["repository"]["id"].as_str().unwrap();
    let by_repo = c
        .get_json(&format!(
            "{base}?repositoryId={repo}&repositoryType=TfsGit&includeAllProperties=true"
        ))
        .await;
    assert!(!arr(&by_repo["value"]).is_empty());
    assert!(
        arr(&by_repo["value"])
            .iter()
            .all(|d| d["repository"]["id"] == repo)
    );
}

#[tokio::test]
async fn walking_any_order_serves_every_build_once() {
    let c = Client::start(cfg(3)).await;
    let all = truth_builds(&c);
    for (project, _) in projects(&c) {
        let mine: BTreeMap<u64, &Value> = all
            .iter()
            .filter(|b| project_of(b) == project)
            .map(|b| (id(b), b))
            .collect();
        // Default order: queue time descending, unfinished included, deleted excluded.
        let (got, tokens) = walk(&c, &project, "%24top=7").await;
        let ids: Vec<u64> = got.iter().map(id).collect();
        let unique: HashSet<u64> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len(), "no build twice");
        let live: BTreeSet<u64> = mine
            .values()
            .filter(|b| b["deleted"].is_null())
            .map(|b| id(b))
            .collect();
        assert_eq!(unique.into_iter().collect::<BTreeSet<_>>(), live);
        for w in got.windows(2) {
            assert!(
                key(&w[0], "queueTime") > key(&w[1], "queueTime"),
                "newest first"
            );
        }
        for b in &got {
            assert_eq!(b, mine[&id(b)], "served = truth");
        }
        // Tokens are ADO's timestamps, with the id only inside a tie.
        for t in &tokens {
            let time = t.split('~').next().unwrap();
            assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok(), "{t}");
        }
        // Including the deleted ones, in every order, by pages of 1: nothing skipped or repeated,
        // even across builds sharing a queue time.
        for order in ["queueTimeAscending", "queueTimeDescending"] {
            let (got, tokens) = walk(
                &c,
                &project,
                &format!("deletedFilter=includeDeleted&queryOrder={order}&%24top=1"),
            )
            .await;
            let ids: Vec<u64> = got.iter().map(id).collect();
            assert_eq!(ids.len(), mine.len(), "{order}");
            assert_eq!(
                ids.iter().copied().collect::<BTreeSet<_>>(),
                mine.keys().copied().collect()
            );
            assert_eq!(tokens.len(), mine.len() - 1);
            for w in got.windows(2) {
                let (a, b) = (key(&w[0], "queueTime"), key(&w[1], "queueTime"));
                assert!(if order.ends_with("Ascending") {
                    a < b
                } else {
                    a > b
                });
            }
        }
    }
    // Queue-time ties exist in this org and produce `~id` tokens at page size 1.
    let mut tie_tokens = 0;
    for (project, _) in projects(&c) {
        let (_, tokens) = walk(
            &c,
            &project,
            "queryOrder=queueTimeAscending&%24top=1&deletedFilter=includeDeleted",
        )
        .await;
        tie_tokens += tokens.iter().filter(|t| t.contains('~')).count();
    }
    assert!(
        tie_tokens > 0,
        "a page boundary inside a tie names the next build's id"
    );
}

#[tokio::test]
async fn finish_and_start_orders_list_only_builds_that_have_that_time() {
    let c = Client::start(cfg(4)).await;
    let all = truth_builds(&c);
    let (project, _) = projects(&c)[0].clone();
    let mine: Vec<&Value> = all
        .iter()
        .filter(|b| project_of(b) == project && b["deleted"].is_null())
        .collect();
    let (got, _) = walk(&c, &project, "queryOrder=finishTimeAscending&%24top=5").await;
    let finished = mine.iter().filter(|b| b["finishTime"].is_string()).count();
    assert_eq!(got.len(), finished);
    for w in got.windows(2) {
        assert!(key(&w[0], "finishTime") < key(&w[1], "finishTime"));
    }
    // A minTime window on finish time (inclusive) and maxTime (exclusive).
    let mid = &got[got.len() / 2];
    let min = mid["finishTime"].as_str().unwrap();
    let (window, _) = walk(
        &c,
        &project,
        &format!("queryOrder=finishTimeAscending&minTime={}", encode(min)),
    )
    .await;
    assert_eq!(window.first().map(id), Some(id(mid)));
    assert_eq!(window.len(), got.len() - got.len() / 2);
    let (before, _) = walk(
        &c,
        &project,
        &format!("queryOrder=finishTimeDescending&maxTime={}", encode(min)),
    )
    .await;
    assert_eq!(before.len(), got.len() / 2);
    let (started, _) = walk(&c, &project, "queryOrder=startTimeDescending").await;
    assert_eq!(
        started.len(),
        mine.iter().filter(|b| b["startTime"].is_string()).count()
    );
}

#[tokio::test]
async fn filters_narrow_the_list() {
    let c = Client::start(cfg(5)).await;
    let all = truth_builds(&c);
    let (project, _) = projects(&c)[0].clone();
    let mine: Vec<&Value> = all.iter().filter(|b| project_of(b) == project).collect();
    let count = |f: &dyn Fn(&Value) -> bool| mine.iter().filter(|b| f(b)).count();
    let list = |q: String| {
        let c = &c;
        let project = project.clone();
        async move { walk(c, &project, &q).await.0 }
    };

    let unfinished = list("statusFilter=inProgress,notStarted,cancelling,postponed".into()).await;
    assert_eq!(
        unfinished.len(),
        count(&|b| b["status"] != "completed" && b["deleted"].is_null())
    );
    assert!(!unfinished.is_empty());
    let numeric = list("statusFilter=33".into()).await;
    assert!(
        numeric
            .iter()
            .all(|b| b["status"] == "inProgress" || b["status"] == "notStarted")
    );
    assert_eq!(
        list("statusFilter=all".into()).await.len(),
        count(&|b| b["deleted"].is_null())
    );
    let failed = list("resultFilter=failed".into()).await;
    assert_eq!(
        failed.len(),
        count(&|b| b["result"] == "failed" && b["deleted"].is_null())
    );
    let ci = list("reasonFilter=individualCI,batchedCI".into()).await;
    assert!(
        ci.iter()
            .all(|b| b["reason"] == "individualCI" || b["reason"] == "batchedCI")
    );
    assert_eq!(
        ci.len(),
        count(
            &|b| (b["reason"] == "individualCI" || b["reason"] == "batchedCI")
                && b["deleted"].is_null()
        )
    );

    let deleted = list("deletedFilter=onlyDeleted".into()).await;
    assert_eq!(deleted.len(), count(&|b| b["deleted"] == true));
    assert!(!deleted.is_empty());
    assert!(deleted.iter().all(|b| b["deletedDate"].is_string()
        && b["deletedReason"].is_string()
        && b["deletedBy"].is_object()));
    assert_eq!(
        list("deletedFilter=includeDeleted".into()).await.len(),
        mine.len()
    );

    let d1 = list("definitions=1".into()).await;
    assert!(d1.iter().all(|b| b["definition"]["id"] == 1));
    assert_eq!(
        d1.len(),
        count(&|b| b["definition"]["id"] == 1 && b["deleted"].is_null())
    );
    let picked: Vec<u64> = mine.iter().take(3).map(|b| id(b)).collect();
    let by_ids = list(format!(
        "deletedFilter=includeDeleted&buildIds={}",
        picked
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(",")
    ))
    .await;
    assert_eq!(
        by_ids.iter().map(id).collect::<BTreeSet<_>>(),
        picked.into_iter().collect()
    );
    let main = list("branchName=refs/heads/main".into()).await;
    assert!(main.iter().all(|b| b["sourceBranch"] == "refs/heads/main"));
    assert_eq!(list("branchName=main".into()).await.len(), main.len());
    let repo = mine[0]["repository"]["id"].as_str().unwrap();
    let by_repo = list(format!("repositoryId={repo}&repositoryType=TfsGit")).await;
    assert!(!by_repo.is_empty() && by_repo.iter().all(|b| b["repository"]["id"] == repo));
    let r = c
        .get(&format!(
            "/{project}/_apis/build/builds?repositoryId={repo}&api-version=7.1"
        ))
        .await;
    assert_eq!(r.status, 400, "repositoryId wants repositoryType");
    let per = list("maxBuildsPerDefinition=2".into()).await;
    let mut by_def: BTreeMap<u64, usize> = BTreeMap::new();
    for b in &per {
        *by_def
            .entry(b["definition"]["id"].as_u64().unwrap())
            .or_default() += 1;
    }
    assert!(
        by_def.values().all(|n| *n <= 2) && by_def.len() == 6,
        "{by_def:?}"
    );
    for bad in [
        "statusFilter=bogus",
        "queryOrder=sideways",
        "minTime=yesterday",
        "continuationToken=nope",
        "%24top=-1",
    ] {
        let r = c
            .get(&format!(
                "/{project}/_apis/build/builds?{bad}&api-version=7.1"
            ))
            .await;
        assert_eq!(r.status, 400, "{bad}");
    }
    let r = c
        .get("/NoSuchProject/_apis/build/builds?api-version=7.1")
        .await;
    assert_eq!(r.status, 404);
    // $top is capped.
    let r = c
        .get(&format!(
            "/{project}/_apis/build/builds?%24top=1&api-version=7.1"
        ))
        .await;
    assert_eq!(arr(&r.json()["value"]).len(), 1);
}

#[tokio::test]
async fn the_first_page_quirk_repeats_page_one_and_a_guarded_walk_ends() {
    let c = Client::start(SimConfig {
        build_token_repeats_first_page: Some(2),
        ..cfg(6)
    })
    .await;
    let (project, _) = projects(&c)[0].clone();
    let url = |t: Option<&str>| {
        let mut u = format!(
            "/{project}/_apis/build/builds?%24top=5&queryOrder=queueTimeAscending&api-version=7.1"
        );
        if let Some(t) = t {
            u.push_str(&format!("&continuationToken={}", encode(t)));
        }
        u
    };
    let one = c.get(&url(None)).await;
    let t1 = one.header("x-ms-continuationtoken").unwrap().to_string();
    let two = c.get(&url(Some(&t1))).await; // continued request 1: honoured
    assert_ne!(two.json(), one.json());
    let t2 = two.header("x-ms-continuationtoken").unwrap().to_string();
    let again = c.get(&url(Some(&t2))).await; // continued request 2: page one again
    assert_eq!(again.json(), one.json());
    assert_eq!(again.header("x-ms-continuationtoken"), Some(t1.as_str()));

    // A client that stops when a token comes back ends, having de-duplicated by id.
    let mut seen_tokens = HashSet::new();
    let mut ids = HashSet::new();
    let mut token: Option<String> = None;
    let mut requests = 0;
    loop {
        requests += 1;
        assert!(requests < 1000);
        let r = c.get(&url(token.as_deref())).await;
        for b in arr(&r.json()["value"]) {
            ids.insert(id(b));
        }
        match r.header("x-ms-continuationtoken") {
            Some(t) if seen_tokens.insert(t.to_string()) => token = Some(t.to_string()),
            _ => break,
        }
    }
    assert!(!ids.is_empty());

    // Off at runtime: the walk sees everything.
    c.sim().set_build_token_repeats_first_page(None);
    let (got, _) = walk(&c, &project, "%24top=5").await;
    let live = truth_builds(&c)
        .iter()
        .filter(|b| project_of(b) == project && b["deleted"].is_null())
        .count();
    assert_eq!(got.len(), live);
}

#[tokio::test]
async fn timelines_answer_200_204_or_404() {
    let c = Client::start(cfg(7)).await;
    let all = truth_builds(&c);
    let truth = c.sim().truth_kinds(&["build_timeline_records"]);
    let mut records: BTreeMap<u64, Vec<Value>> = BTreeMap::new();
    for r in arr(&truth["build_timeline_records"]) {
        let mut r = r.clone();
        let b = r.as_object_mut().unwrap().remove("buildId").unwrap();
        records.entry(b.as_u64().unwrap()).or_default().push(r);
    }
    let (mut saw204, mut saw404, mut saw_stage, mut saw_classic, mut saw_checkpoint) =
        (false, false, false, false, false);
    for b in &all {
        let path = format!(
            "/{}/_apis/build/builds/{}/timeline?api-version=7.1",
            project_of(b),
            id(b)
        );
        let r = c.get(&path).await;
        if b["deleted"] == true {
            assert_eq!(r.status, 404);
            saw404 = true;
            assert!(!records.contains_key(&id(b)));
            continue;
        }
        if !arr(&b["validationResults"]).is_empty() {
            assert_eq!(r.status, 204, "a YAML that failed to compile");
            assert!(r.body.is_empty());
            assert!(r.header("content-type").is_none());
            saw204 = true;
            assert!(!records.contains_key(&id(b)));
            continue;
        }
        assert_eq!(r.status, 200, "{}", r.text());
        let tl = r.json();
        assert_eq!(arr(&tl["records"]), &records[&id(b)], "served = truth");
        let types: HashSet<&str> = arr(&tl["records"])
            .iter()
            .map(|r| r["type"].as_str().unwrap())
            .collect();
        if types.contains("Stage") {
            saw_stage = true;
        } else {
            saw_classic = true;
            assert!(types.contains("Phase") && types.contains("Job"));
        }
        saw_checkpoint |= types.contains("Checkpoint");
        match b["status"].as_str().unwrap() {
            "inProgress" | "cancelling" => {
                assert!(
                    arr(&tl["records"])
                        .iter()
                        .any(|r| r["state"] == "inProgress")
                );
            }
            "notStarted" | "postponed" => {
                assert!(arr(&tl["records"]).iter().all(|r| r["state"] == "pending"));
            }
            _ => assert!(
                arr(&tl["records"])
                    .iter()
                    .all(|r| r["state"] == "completed")
            ),
        }
        // The same timeline by id; `changeId` lists only newer records.
        let by_id = c
            .get_json(&format!(
                "/{}/_apis/build/builds/{}/timeline/{}",
                project_of(b),
                id(b),
                tl["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(by_id, tl);
        let mid = tl["changeId"].as_u64().unwrap() / 2;
        let newer = c
            .get_json(&format!(
                "/{}/_apis/build/builds/{}/timeline?changeId={mid}",
                project_of(b),
                id(b)
            ))
            .await;
        assert!(
            arr(&newer["records"])
                .iter()
                .all(|r| r["changeId"].as_u64().unwrap() > mid)
        );
        assert_eq!(tl["id"], b["orchestrationPlan"]["planId"]);
    }
    assert!(saw204 && saw404 && saw_stage && saw_classic && saw_checkpoint);
    let b = &all[0];
    let r = c
        .get(&format!("/{}/_apis/build/builds/{}/timeline/00000000-0000-0000-0000-000000000000?api-version=7.1", project_of(b), id(b)))
        .await;
    assert_eq!(r.status, 404);
    let r = c
        .get(&format!(
            "/{}/_apis/build/builds/999999/timeline?api-version=7.1",
            project_of(b)
        ))
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["typeKey"], "BuildNotFoundException");
}

#[tokio::test]
async fn changes_cap_at_two_hundred_and_page_by_token() {
    let c = Client::start(cfg(8)).await;
    let all = truth_builds(&c);
    let truth = c.sim().truth_kinds(&["build_changes"]);
    let mut changes: BTreeMap<u64, Vec<Value>> = BTreeMap::new();
    for r in arr(&truth["build_changes"]) {
        let mut r = r.clone();
        let b = r.as_object_mut().unwrap().remove("buildId").unwrap();
        changes.entry(b.as_u64().unwrap()).or_default().push(r);
    }
    let big = all
        .iter()
        .find(|b| changes.get(&id(b)).is_some_and(|v| v.len() > 200))
        .expect("a build that built more than 200 commits");
    let path = format!(
        "/{}/_apis/build/builds/{}/changes",
        project_of(big),
        id(big)
    );
    let r = c.get(&format!("{path}?%24top=1000&api-version=7.1")).await;
    assert_eq!(
        arr(&r.json()["value"]).len(),
        200,
        "capped whatever $top says"
    );
    assert!(r.header("x-ms-continuationtoken").is_some());
    let r = c.get(&format!("{path}?api-version=7.1")).await;
    assert_eq!(arr(&r.json()["value"]).len(), 50, "the default page");
    let mut got = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut url = format!("{path}?%24top=500&api-version=7.1");
        if let Some(t) = &token {
            url.push_str(&format!("&continuationToken={t}"));
        }
        let r = c.get(&url).await;
        got.extend(arr(&r.json()["value"]).iter().cloned());
        match r.header("x-ms-continuationtoken") {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!(&got, &changes[&id(big)]);
    assert!(got.iter().any(|x| x["messageTruncated"] == true));
    // Every build's first page is its truth's first page.
    for b in all.iter().take(40) {
        let v = c
            .get_json(&format!(
                "/{}/_apis/build/builds/{}/changes?%24top=200",
                project_of(b),
                id(b)
            ))
            .await;
        let want: Vec<Value> = changes
            .get(&id(b))
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .take(200)
            .collect();
        assert_eq!(arr(&v["value"]), &want);
    }
    // A rebuild of an already-built commit lists it only with includeSourceChange.
    let rebuild = all
        .iter()
        .find(|b| !changes.contains_key(&id(b)))
        .expect("a rebuild");
    let base = format!(
        "/{}/_apis/build/builds/{}/changes",
        project_of(rebuild),
        id(rebuild)
    );
    assert!(arr(&c.get_json(&base).await["value"]).is_empty());
    let with = c
        .get_json(&format!("{base}?includeSourceChange=true"))
        .await;
    assert_eq!(arr(&with["value"])[0]["id"], rebuild["sourceVersion"]);
}

#[tokio::test]
async fn endpoints_need_the_build_scope_and_are_counted() {
    let mut config = cfg(9);
    config.pats.push(Pat {
        token: "code-only".into(),
        scopes: vec!["vso.code".into()],
    });
    config.pats.push(Pat {
        token: "build-read".into(),
        scopes: vec!["vso.build".into()],
    });
    let mut c = Client::start(config).await;
    let b = truth_builds(&c)
        .into_iter()
        .find(|b| b["deleted"].is_null())
        .unwrap();
    let base = format!("/{}/_apis/build", project_of(&b));
    let paths = [
        format!("{base}/definitions"),
        format!("{base}/definitions/1"),
        format!("{base}/builds"),
        format!("{base}/builds/{}", id(&b)),
        format!("{base}/builds/{}/timeline", id(&b)),
        format!("{base}/builds/{}/changes", id(&b)),
    ];
    c.token = "code-only".into();
    for p in &paths {
        let r = c.get(&format!("{p}?api-version=7.1")).await;
        assert_eq!(r.status, 403, "{p}");
        assert!(r.json()["message"].as_str().unwrap().contains("vso.build"));
    }
    c.token = "build-read".into();
    c.sim().reset_stats();
    for p in &paths {
        let r = c.get(&format!("{p}?api-version=7.1")).await;
        assert!(r.status == 200 || r.status == 204, "{p}: {}", r.status);
    }
    let stats = c.sim().stats();
    for label in [
        "build_definitions",
        "build_definition",
        "builds",
        "build",
        "build_timeline",
        "build_changes",
    ] {
        assert_eq!(stats["by_endpoint"][label], 1, "{label}");
    }
    let r = c.get(&format!("{base}/builds")).await;
    assert_eq!(r.status, 400, "api-version is required");
    let r = c.get(&format!("{base}/nothing?api-version=7.1")).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn a_round_finishes_builds_late_and_the_truth_follows() {
    let c = Client::start(SimConfig {
        definitions_per_project: 4,
        builds_per_definition: 15,
        ..cfg(10)
    })
    .await;
    let before: BTreeMap<u64, Value> = truth_builds(&c).into_iter().map(|b| (id(&b), b)).collect();
    let cursor = chrono::Utc::now() - chrono::Duration::seconds(1);
    let r = c
        .admin(
            "POST",
            "/_sim/mutate_builds",
            Some(r#"{"seed": 3, "changes": 40}"#),
        )
        .await;
    assert_eq!(r.status, 200);
    let v = r.json();
    let total: u64 = v["changed"]
        .as_object()
        .unwrap()
        .values()
        .map(|x| x.as_u64().unwrap())
        .sum();
    assert_eq!(total, 40);
    let touched: BTreeSet<u64> = arr(&v["touched_builds"])
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    let after: BTreeMap<u64, Value> = truth_builds(&c).into_iter().map(|b| (id(&b), b)).collect();
    for (i, b) in &after {
        match before.get(i) {
            None => assert!(touched.contains(i), "{i} is new"),
            Some(old) if old != b => {
                assert!(touched.contains(i), "{i} changed untouched");
                let t = |v: &Value| {
                    chrono::DateTime::parse_from_rfc3339(v["lastChangedDate"].as_str().unwrap())
                        .unwrap()
                };
                assert!(t(b) > t(old), "lastChangedDate moves");
            }
            _ => assert!(!touched.contains(i)),
        }
    }
    // Builds that finished in the round: old queue time, new finish time — a finish-time
    // window from the cursor finds them all, a queue-time window none of them.
    let finished: Vec<u64> = after
        .iter()
        .filter(|(i, b)| {
            b["finishTime"].is_string() && before.get(*i).is_some_and(|o| o["finishTime"].is_null())
        })
        .map(|(i, _)| *i)
        .collect();
    assert!(!finished.is_empty());
    let min = cursor.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    let mut by_finish = BTreeSet::new();
    let mut by_queue = BTreeSet::new();
    for (project, _) in projects(&c) {
        let (w, _) = walk(
            &c,
            &project,
            &format!("queryOrder=finishTimeAscending&minTime={}", encode(&min)),
        )
        .await;
        by_finish.extend(w.iter().map(id));
        let (w, _) = walk(
            &c,
            &project,
            &format!("queryOrder=queueTimeAscending&minTime={}", encode(&min)),
        )
        .await;
        by_queue.extend(w.iter().map(id));
    }
    // Builds finished in one round share their finish time: pages of one still walk them
    // all, once each, in the same order.
    for (project, _) in projects(&c) {
        let q = format!("queryOrder=finishTimeAscending&minTime={}", encode(&min));
        let (whole, _) = walk(&c, &project, &q).await;
        let (ones, _) = walk(&c, &project, &format!("{q}&%24top=1")).await;
        assert_eq!(
            ones.iter().map(id).collect::<Vec<_>>(),
            whole.iter().map(id).collect::<Vec<_>>()
        );
    }
    for i in &finished {
        assert!(by_finish.contains(i), "{i} found by finish time");
        if before.contains_key(i) {
            assert!(!by_queue.contains(i), "{i} not found by queue time");
        }
    }
    // The truth still equals what the endpoints serve, builds and their timelines.
    for (project, _) in projects(&c) {
        let (w, _) = walk(&c, &project, "deletedFilter=includeDeleted").await;
        for b in w {
            assert_eq!(&b, &after[&id(&b)]);
        }
    }
    let records = c.sim().truth_kinds(&["build_timeline_records"]);
    for i in &touched {
        let b = &after[i];
        let want: Vec<Value> = arr(&records["build_timeline_records"])
            .iter()
            .filter(|r| r["buildId"] == *i)
            .map(|r| {
                let mut r = r.clone();
                r.as_object_mut().unwrap().remove("buildId");
                r
            })
            .collect();
        let r = c
            .get(&format!(
                "/{}/_apis/build/builds/{i}/timeline?api-version=7.1",
                project_of(b)
            ))
            .await;
        match r.status {
            200 => assert_eq!(arr(&r.json()["records"]), &want, "{i}"),
            _ => assert!(want.is_empty()),
        }
    }
    assert!(v["changed"]["builds_retried"].as_u64().unwrap() > 0, "{v}");
}

async fn change(c: &Client, ch: &str) -> support::Resp {
    c.admin("POST", "/_sim/change", Some(ch)).await
}

#[tokio::test]
async fn precise_changes_move_one_build() {
    let c = Client::start(cfg(11)).await;
    let (project, _) = projects(&c)[0].clone();
    let defs = c
        .get_json(&format!("/{project}/_apis/build/definitions"))
        .await;
    let enabled = arr(&defs["value"])
        .iter()
        .find(|d| d["queueStatus"] == "enabled")
        .unwrap()["id"]
        .as_u64()
        .unwrap();
    let r = change(
        &c,
        &format!(r#"{{"queue_build": {{"project": "{project}", "definition": {enabled}}}}}"#),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let new = r.json()["build"].as_u64().unwrap();
    assert_eq!(r.json()["status"], "notStarted");
    let path = format!("/{project}/_apis/build/builds/{new}");
    let tl = c.get_json(&format!("{path}/timeline")).await;
    assert!(arr(&tl["records"]).iter().all(|r| r["state"] == "pending"));
    let r = c
        .sim()
        .apply(&Change::StartBuild { build: new as u32 })
        .unwrap();
    assert_eq!(r["status"], "inProgress");
    let tl = c.get_json(&format!("{path}/timeline")).await;
    assert!(
        arr(&tl["records"])
            .iter()
            .any(|r| r["state"] == "inProgress")
    );
    let r = c
        .sim()
        .apply(&Change::FinishBuild {
            build: new as u32,
            result: "failed".into(),
        })
        .unwrap();
    assert_eq!(r["result"], "failed");
    let failed = c.get_json(&path).await;
    assert_eq!(failed["status"], "completed");
    let tl1 = c.get_json(&format!("{path}/timeline")).await;
    let yaml = arr(&tl1["records"]).iter().any(|r| r["type"] == "Stage");
    if yaml {
        c.sim()
            .apply(&Change::RetryBuild { build: new as u32 })
            .unwrap();
        let retried = c.get_json(&path).await;
        assert_eq!(retried["status"], "inProgress");
        assert!(retried["result"].is_null() && retried["finishTime"].is_null());
        c.sim()
            .apply(&Change::FinishBuild {
                build: new as u32,
                result: "succeeded".into(),
            })
            .unwrap();
        let tl2 = c.get_json(&format!("{path}/timeline")).await;
        let job = arr(&tl2["records"])
            .iter()
            .find(|r| r["type"] == "Job" && r["attempt"] == 2)
            .expect("attempt 2 of the failed job");
        let prev = &job["previousAttempts"][0];
        assert_eq!(prev["attempt"], 1);
        let old = c
            .get_json(&format!(
                "{path}/timeline/{}",
                prev["timelineId"].as_str().unwrap()
            ))
            .await;
        assert!(
            arr(&old["records"])
                .iter()
                .any(|r| r["id"] == prev["recordId"])
        );
        assert!(tl2["changeId"].as_u64() > tl1["changeId"].as_u64());
        assert_eq!(c.get_json(&path).await["result"], "succeeded");
    } else {
        assert!(
            c.sim()
                .apply(&Change::RetryBuild { build: new as u32 })
                .is_err()
        );
    }
    let r = change(&c, &format!(r#"{{"delete_build": {{"build": {new}}}}}"#)).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        c.get(&format!("{path}/timeline?api-version=7.1"))
            .await
            .status,
        404
    );
    let deleted = c.get_json(&path).await;
    assert_eq!(deleted["deleted"], true);
    let (live, _) = walk(&c, &project, "").await;
    assert!(live.iter().all(|b| id(b) != new));
    assert!(
        c.sim()
            .apply(&Change::DeleteBuild { build: new as u32 })
            .is_err()
    );
    assert!(
        c.sim()
            .apply(&Change::StartBuild { build: 999_999 })
            .is_err()
    );
    // Cancelling: queued → canceled at once; running → cancelling, then canceled.
    let q = c
        .sim()
        .apply(&Change::QueueBuild {
            project: project.clone(),
            definition: enabled as u32,
        })
        .unwrap()["build"]
        .as_u64()
        .unwrap() as u32;
    assert_eq!(
        c.sim().apply(&Change::CancelBuild { build: q }).unwrap()["result"],
        "canceled"
    );
    let q = c
        .sim()
        .apply(&Change::QueueBuild {
            project: project.clone(),
            definition: enabled as u32,
        })
        .unwrap()["build"]
        .as_u64()
        .unwrap() as u32;
    c.sim().apply(&Change::StartBuild { build: q }).unwrap();
    assert_eq!(
        c.sim().apply(&Change::CancelBuild { build: q }).unwrap()["status"],
        "cancelling"
    );
    assert!(
        c.sim()
            .apply(&Change::FinishBuild {
                build: q,
                result: "succeeded".into()
            })
            .is_err()
    );
    assert_eq!(
        c.sim()
            .apply(&Change::FinishBuild {
                build: q,
                result: "canceled".into()
            })
            .unwrap()["result"],
        "canceled"
    );
}

#[tokio::test]
async fn same_seed_same_builds_and_old_kinds_untouched() {
    let fixed = || SimConfig {
        start_time: Some(chrono::DateTime::from_timestamp(1_750_000_000, 0).unwrap()),
        ..cfg(12)
    };
    let a = Client::start(fixed()).await;
    let b = Client::start(fixed()).await;
    let ta = a
        .admin(
            "GET",
            &format!("/_sim/truth?kinds={}", KINDS.join(",")),
            None,
        )
        .await;
    let tb = b
        .admin(
            "GET",
            &format!("/_sim/truth?kinds={}", KINDS.join(",")),
            None,
        )
        .await;
    let strip = |c: &Client, body: &[u8]| {
        String::from_utf8_lossy(body).replace(&c.running.base_url(), "BASE")
    };
    assert_eq!(strip(&a, &ta.body), strip(&b, &tb.body));
    // Builds leave every other kind as it was: an org without builds has the same truth.
    let none = Client::start(SimConfig {
        definitions_per_project: 0,
        ..fixed()
    })
    .await;
    let others = "projects,repositories,pull_requests,users,teams,pull_request_commits,commits";
    let x = a
        .admin("GET", &format!("/_sim/truth?kinds={others}"), None)
        .await;
    let y = none
        .admin("GET", &format!("/_sim/truth?kinds={others}"), None)
        .await;
    assert_eq!(strip(&a, &x.body), strip(&none, &y.body));
    let empty = none.sim().truth_kinds(&KINDS);
    for k in KINDS {
        assert!(arr(&empty[k]).is_empty(), "{k}");
    }
}

/// FNV-1a, 64 bits, of the text with the served URL (whose port varies) taken out.
fn digest(c: &Client, bytes: &[u8]) -> (usize, u64) {
    let text = String::from_utf8_lossy(bytes).replace(&c.running.base_url(), "BASE");
    let h = text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (text.len(), h)
}

/// The Build kinds of a fixed org, pinned: a change that moves generated builds, timelines or
/// changes must mean to (and update these numbers), as the older kinds' digest in
/// `commits.rs` pins theirs.
#[tokio::test]
async fn a_fixed_org_serves_the_same_builds() {
    let c = Client::start(SimConfig {
        start_time: Some(chrono::DateTime::from_timestamp(1_750_000_000, 0).unwrap()),
        ..cfg(21)
    })
    .await;
    let mut got = Vec::new();
    for k in KINDS {
        let r = c
            .admin("GET", &format!("/_sim/truth?kinds={k}"), None)
            .await;
        got.push((k, digest(&c, &r.body)));
    }
    assert_eq!(
        got,
        vec![
            ("pipelines", (0x724c, 0xc963_d9d4_6903_a29b)),
            ("builds", (0x11_3712, 0x70d7_395e_ec6a_d367)),
            ("build_timeline_records", (0x21_13ce, 0x55fa_2d70_6bb0_2e28)),
            ("build_changes", (0x1d_b0cc, 0x617c_60e9_f935_fd02)),
        ]
    );
}
