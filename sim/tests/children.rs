//! The inside of pull requests over HTTP: iterations, changes, threads, work items, statuses,
//! policy evaluations and commits — their paging, their shapes, the truth, and mutations.

mod support;

use std::collections::BTreeMap;

use ado_sim::{Change, Sim, SimConfig};
use serde_json::Value;
use support::Client;

const CHILD_KINDS: [&str; 7] = [
    "pull_request_iterations",
    "pull_request_changes",
    "pull_request_threads",
    "pull_request_work_items",
    "pull_request_statuses",
    "pull_request_policy_evaluations",
    "pull_request_commits",
];

fn cfg(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        projects: 2,
        repos_per_project: 2,
        prs_per_repo: 15,
        work_items_per_project: 10,
        ..SimConfig::default()
    }
}

fn arr(v: &Value) -> &Vec<Value> {
    v.as_array().expect("array")
}

/// A PR of the truth: its URL prefix below the org and its project id.
struct Pr {
    id: u64,
    path: String,
    project_id: String,
    status: String,
}

fn prs(sim: &Sim) -> Vec<Pr> {
    let t = sim.truth_kinds(&["pull_requests"]);
    arr(&t["pull_requests"])
        .iter()
        .map(|p| Pr {
            id: p["pullRequestId"].as_u64().unwrap(),
            path: format!(
                "/{}/_apis/git/repositories/{}/pullRequests/{}",
                p["repository"]["project"]["name"].as_str().unwrap(),
                p["repository"]["id"].as_str().unwrap(),
                p["pullRequestId"]
            ),
            project_id: p["repository"]["project"]["id"]
                .as_str()
                .unwrap()
                .to_string(),
            status: p["status"].as_str().unwrap().to_string(),
        })
        .collect()
}

/// The truth elements of `kind` for PR `id`, without the owner keys the truth adds.
fn truth_of(truth: &Value, kind: &str, id: u64) -> Vec<Value> {
    arr(&truth[kind])
        .iter()
        .filter(|v| v["pullRequestId"] == id)
        .map(|v| {
            let mut v = v.clone();
            let m = v.as_object_mut().unwrap();
            m.remove("pullRequestId");
            m.remove("repositoryId");
            if kind == "pull_request_changes" {
                m.remove("iterationId");
            }
            v
        })
        .collect()
}

fn artifact(pr: &Pr) -> String {
    format!(
        "vstfs%3A%2F%2F%2FCodeReview%2FCodeReviewId%2F{}%2F{}",
        pr.project_id, pr.id
    )
}

/// Every commit of a PR through continuation tokens of `top`; also returns the page count.
async fn all_commits(c: &Client, pr: &Pr, top: usize) -> (Vec<Value>, usize) {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut url = format!("{}/commits?%24top={top}&api-version=7.1", pr.path);
        if let Some(t) = &token {
            url.push_str(&format!("&continuationToken={t}"));
        }
        let r = c.get(&url).await;
        assert_eq!(r.status, 200, "{}", r.text());
        pages += 1;
        let v = r.json();
        assert!(arr(&v["value"]).len() <= top);
        out.extend(arr(&v["value"]).iter().cloned());
        match r.header("x-ms-continuationtoken") {
            Some(t) => token = Some(t.to_string()),
            None => return (out, pages),
        }
        assert!(pages < 1000, "the walk ends");
    }
}

#[tokio::test]
async fn truth_equals_what_the_endpoints_serve() {
    let c = Client::start(cfg(3)).await;
    let truth = c.sim().truth_kinds(&CHILD_KINDS);
    let prs = prs(c.sim());
    assert_eq!(prs.len(), 60);
    let mut seen = BTreeMap::new();
    for pr in &prs {
        let its = c.get_json(&format!("{}/iterations", pr.path)).await;
        assert_eq!(
            arr(&its["value"]).clone(),
            truth_of(&truth, "pull_request_iterations", pr.id)
        );
        assert_eq!(
            its["count"].as_u64().unwrap() as usize,
            arr(&its["value"]).len()
        );
        let mut changes = Vec::new();
        for it in arr(&its["value"]) {
            let n = it["id"].as_u64().unwrap();
            let page = c
                .get_json(&format!("{}/iterations/{n}/changes?%24top=2000", pr.path))
                .await;
            assert_eq!(
                (page["nextSkip"].as_u64(), page["nextTop"].as_u64()),
                (Some(0), Some(0))
            );
            changes.extend(arr(&page["changeEntries"]).iter().cloned());
        }
        assert_eq!(changes, truth_of(&truth, "pull_request_changes", pr.id));
        for (leaf, kind) in [
            ("threads", "pull_request_threads"),
            ("workitems", "pull_request_work_items"),
            ("statuses", "pull_request_statuses"),
        ] {
            let v = c.get_json(&format!("{}/{leaf}", pr.path)).await;
            assert_eq!(
                arr(&v["value"]).clone(),
                truth_of(&truth, kind, pr.id),
                "{leaf}"
            );
            *seen.entry(leaf).or_insert(0) += arr(&v["value"]).len();
        }
        let evals = c
            .get(&format!(
                "/{}/_apis/policy/evaluations?artifactId={}&includeNotApplicable=true&api-version=7.1-preview.1",
                pr.project_id,
                artifact(pr)
            ))
            .await;
        assert_eq!(evals.status, 200, "{}", evals.text());
        assert_eq!(
            arr(&evals.json()["value"]).clone(),
            truth_of(&truth, "pull_request_policy_evaluations", pr.id)
        );
        let (commits, _) = all_commits(&c, pr, 500).await;
        assert_eq!(commits, truth_of(&truth, "pull_request_commits", pr.id));
    }
    // Some PRs have each kind of child.
    assert!(seen.values().all(|n| *n > 0), "{seen:?}");
}

#[tokio::test]
async fn iterations_and_commits_agree_with_the_pull_request() {
    let c = Client::start(cfg(4)).await;
    let truth = c
        .sim()
        .truth_kinds(&["pull_requests", "pull_request_iterations"]);
    for p in arr(&truth["pull_requests"]) {
        let id = p["pullRequestId"].as_u64().unwrap();
        let its = truth_of(&truth, "pull_request_iterations", id);
        assert!((1..=5).contains(&its.len()));
        assert_eq!(its[0]["reason"], "create");
        assert!(its[0].get("push").is_none(), "iteration 1 names no push");
        for it in &its[1..] {
            assert!(it["push"]["pushId"].is_u64() && it["push"]["pushedBy"]["id"].is_string());
        }
        let last = its.last().unwrap();
        assert_eq!(
            last["sourceRefCommit"]["commitId"],
            p["lastMergeSourceCommit"]["commitId"]
        );
    }
    let pr = &prs(c.sim())[0];
    let (commits, _) = all_commits(&c, pr, 500).await;
    let one = c.get_json(&pr.path.to_string()).await;
    assert_eq!(
        commits[0]["commitId"],
        one["lastMergeSourceCommit"]["commitId"]
    );
    assert!(
        commits
            .iter()
            .all(|x| x.get("parents").is_none() && x.get("changeCounts").is_none())
    );
}

#[tokio::test]
async fn five_thousand_changes_page_by_two_thousand() {
    let c = Client::start(SimConfig {
        big_pr_files: 5000,
        ..cfg(5)
    })
    .await;
    let truth = c.sim().truth_kinds(&["pull_request_changes"]);
    let mut per: BTreeMap<(u64, u64), usize> = BTreeMap::new();
    for e in arr(&truth["pull_request_changes"]) {
        let k = (
            e["pullRequestId"].as_u64().unwrap(),
            e["iterationId"].as_u64().unwrap(),
        );
        *per.entry(k).or_default() += 1;
    }
    let (&(id, n), _) = per.iter().find(|(_, c)| **c == 5000).expect("the big PR");
    let pr = prs(c.sim()).into_iter().find(|p| p.id == id).unwrap();
    let mut skip = 0;
    let mut nexts = Vec::new();
    let mut ids = Vec::new();
    loop {
        let page = c
            .get_json(&format!(
                "{}/iterations/{n}/changes?%24top=2000&%24skip={skip}",
                pr.path
            ))
            .await;
        let entries = arr(&page["changeEntries"]);
        ids.extend(
            entries
                .iter()
                .map(|e| e["changeTrackingId"].as_u64().unwrap()),
        );
        let next = page["nextSkip"].as_u64().unwrap();
        nexts.push((next, page["nextTop"].as_u64().unwrap(), entries.len()));
        if next == 0 {
            break;
        }
        skip = next;
    }
    assert_eq!(
        nexts,
        [(2000, 2000, 2000), (4000, 2000, 2000), (0, 0, 1000)]
    );
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "changeTrackingId order, no repeats"
    );
    // `$top` above 2,000 is capped; without `$top` a page is 100.
    let capped = c
        .get_json(&format!("{}/iterations/{n}/changes?%24top=5000", pr.path))
        .await;
    assert_eq!(arr(&capped["changeEntries"]).len(), 2000);
    let default = c
        .get_json(&format!("{}/iterations/{n}/changes", pr.path))
        .await;
    assert_eq!(arr(&default["changeEntries"]).len(), 100);
    assert_eq!(
        (default["nextSkip"].as_u64(), default["nextTop"].as_u64()),
        (Some(100), Some(100))
    );
    let missing = c
        .get(&format!(
            "{}/iterations/{}/changes?api-version=7.1",
            pr.path,
            n + 1
        ))
        .await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn threads_have_ados_shapes() {
    let c = Client::start(SimConfig {
        big_thread_comments: 1500,
        ..cfg(6)
    })
    .await;
    let truth = c.sim().truth_kinds(&["pull_request_threads"]);
    let threads = arr(&truth["pull_request_threads"]);
    let (mut system, mut deleted, mut file, mut replies) = (0, 0, 0, 0);
    let mut statuses = std::collections::BTreeSet::new();
    let mut biggest = 0;
    for t in threads {
        let comments = arr(&t["comments"]);
        biggest = biggest.max(comments.len());
        // Comment ids restart at 1 in every thread; replies name an earlier comment.
        for (i, cm) in comments.iter().enumerate() {
            assert_eq!(cm["id"].as_u64().unwrap(), i as u64 + 1);
            let parent = cm["parentCommentId"].as_u64().unwrap();
            assert!(parent < i as u64 + 1);
            replies += usize::from(parent > 0);
            if cm["isDeleted"] == true {
                deleted += 1;
                assert!(
                    cm.get("content").is_none(),
                    "a deleted comment has no content"
                );
            } else {
                assert!(cm["content"].is_string());
            }
            assert!(cm["usersLiked"].is_array() && cm["lastContentUpdatedDate"].is_string());
        }
        let kind = &t["properties"]["CodeReviewThreadType"];
        if kind.is_object() {
            system += 1;
            assert_eq!(kind["$type"], "System.String");
            assert!(t.get("status").is_none(), "system threads have no status");
            assert_eq!(comments.len(), 1);
            assert_eq!(comments[0]["commentType"], "system");
            assert!(t["threadContext"].is_null() && t["pullRequestThreadContext"].is_null());
        } else {
            statuses.insert(t["status"].as_str().unwrap().to_string());
            if !t["threadContext"].is_null() {
                file += 1;
                assert!(t["threadContext"]["filePath"].is_string());
                assert!(t["threadContext"]["rightFileStart"]["line"].is_u64());
                let ctx = &t["pullRequestThreadContext"];
                assert!(ctx["changeTrackingId"].is_u64());
                assert!(ctx["iterationContext"]["secondComparingIteration"].is_u64());
            }
        }
    }
    assert!(system > 0 && deleted > 0 && file > 0 && replies > 0);
    assert!(statuses.len() >= 3, "{statuses:?}");
    assert_eq!(biggest, 1500, "big_thread_comments");
    // Thread ids are unique in the org.
    let mut ids: Vec<u64> = threads.iter().map(|t| t["id"].as_u64().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), threads.len());
}

#[tokio::test]
async fn work_items_statuses_and_policy_evaluations() {
    let c = Client::start(cfg(7)).await;
    let truth = c.sim().truth_kinds(&[
        "work_items",
        "pull_request_work_items",
        "pull_request_statuses",
        "pull_request_policy_evaluations",
    ]);
    for w in arr(&truth["pull_request_work_items"]) {
        let id: u64 = w["id"].as_str().expect("a string id").parse().unwrap();
        assert!(arr(&truth["work_items"]).iter().any(|x| x["id"] == id));
    }
    let prs = prs(c.sim());
    // Iteration statuses are the PR's statuses of that iteration.
    let with_status = arr(&truth["pull_request_statuses"])[0].clone();
    let pr = prs
        .iter()
        .find(|p| with_status["pullRequestId"] == p.id)
        .unwrap();
    let n = with_status["iterationId"].as_u64().unwrap();
    let of_it = c
        .get_json(&format!("{}/iterations/{n}/statuses", pr.path))
        .await;
    let want: Vec<Value> = truth_of(&truth, "pull_request_statuses", pr.id)
        .into_iter()
        .filter(|s| s["iterationId"] == n)
        .collect();
    assert_eq!(arr(&of_it["value"]).clone(), want);

    // Policy evaluations: $top/$skip, notApplicable only on request, preview only.
    let evals = arr(&truth["pull_request_policy_evaluations"]);
    let mut by_pr: BTreeMap<u64, Vec<&Value>> = BTreeMap::new();
    for e in evals {
        if e["status"] != "notApplicable" {
            by_pr
                .entry(e["pullRequestId"].as_u64().unwrap())
                .or_default()
                .push(e);
        }
    }
    let (id, list) = by_pr
        .iter()
        .find(|(_, l)| l.len() >= 2)
        .expect("a PR with two");
    let pr = prs.iter().find(|p| p.id == *id).unwrap();
    let url = |q: &str| {
        format!(
            "/{}/_apis/policy/evaluations?artifactId={}{q}&api-version=7.1-preview.1",
            pr.project_id,
            artifact(pr)
        )
    };
    let second = c.get(&url("&%24top=1&%24skip=1")).await.json();
    assert_eq!(arr(&second["value"]).len(), 1);
    assert_eq!(second["value"][0]["evaluationId"], list[1]["evaluationId"]);
    let all = c.get(&url("")).await.json();
    assert_eq!(arr(&all["value"]).len(), list.len());
    assert!(
        arr(&all["value"])
            .iter()
            .all(|e| e["configuration"]["type"]["displayName"].is_string())
    );
    let ga = c
        .get(&format!(
            "/{}/_apis/policy/evaluations?artifactId={}&api-version=7.1",
            pr.project_id,
            artifact(pr)
        ))
        .await;
    assert_eq!(ga.status, 400, "preview only");
    let other = c
        .get(&format!(
            "/{}/_apis/policy/evaluations?artifactId=vstfs%3A%2F%2F%2FGit%2FPullRequestId%2F{}&api-version=7.1-preview.1",
            pr.project_id, pr.id
        ))
        .await;
    assert_eq!(
        other.json()["count"],
        0,
        "an unknown artifact lists nothing"
    );
    let none = c
        .get(&format!(
            "/{}/_apis/policy/evaluations?api-version=7.1-preview.1",
            pr.project_id
        ))
        .await;
    assert_eq!(none.status, 400);
    if evals.iter().any(|e| e["status"] == "notApplicable") {
        let na = evals
            .iter()
            .find(|e| e["status"] == "notApplicable")
            .unwrap();
        let pr = prs.iter().find(|p| na["pullRequestId"] == p.id).unwrap();
        let q = format!(
            "/{}/_apis/policy/evaluations?artifactId={}&api-version=7.1-preview.1",
            pr.project_id,
            artifact(pr)
        );
        let hidden = c.get(&q).await.json();
        assert!(
            arr(&hidden["value"])
                .iter()
                .all(|e| e["status"] != "notApplicable")
        );
    }
}

#[tokio::test]
async fn commits_page_by_continuation_token() {
    let c = Client::start(cfg(8)).await;
    let truth = c.sim().truth_kinds(&["pull_request_commits"]);
    let mut per: BTreeMap<u64, usize> = BTreeMap::new();
    for x in arr(&truth["pull_request_commits"]) {
        *per.entry(x["pullRequestId"].as_u64().unwrap()).or_default() += 1;
    }
    let (&id, &n) = per.iter().max_by_key(|(_, n)| **n).unwrap();
    assert!(n > 5);
    let pr = prs(c.sim()).into_iter().find(|p| p.id == id).unwrap();
    let (walked, pages) = all_commits(&c, &pr, 2).await;
    assert_eq!(pages, n.div_ceil(2));
    assert_eq!(walked, truth_of(&truth, "pull_request_commits", id));
    let dates: Vec<&str> = walked
        .iter()
        .map(|x| x["committer"]["date"].as_str().unwrap())
        .collect();
    let parsed: Vec<_> = dates
        .iter()
        .map(|d| chrono::DateTime::parse_from_rfc3339(d).unwrap())
        .collect();
    assert!(parsed.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let bad = c
        .get(&format!(
            "{}/commits?continuationToken=nope&api-version=7.1",
            pr.path
        ))
        .await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn a_push_adds_an_iteration_commits_and_a_ref_update() {
    let c = Client::start(cfg(9)).await;
    let prs = prs(c.sim());
    let pr = prs
        .iter()
        .find(|p| p.status == "active")
        .expect("an active PR");
    let its = c.get_json(&format!("{}/iterations", pr.path)).await;
    let before = arr(&its["value"]).len();
    let (commits_before, _) = all_commits(&c, pr, 500).await;
    let threads_before = arr(&c.get_json(&format!("{}/threads", pr.path)).await["value"]).len();
    let body = format!(r#"{{"push_to_pull_request": {{"pr": {}}}}}"#, pr.id);
    let r = c.admin("POST", "/_sim/change", Some(&body)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["iteration"], before as u64 + 1);

    let its = c.get_json(&format!("{}/iterations", pr.path)).await;
    let its = arr(&its["value"]);
    assert_eq!(its.len(), before + 1);
    let last = its.last().unwrap();
    assert!(last["push"]["pushId"].is_u64());
    let one = c.get_json(&pr.path).await;
    assert_eq!(
        last["sourceRefCommit"]["commitId"],
        one["lastMergeSourceCommit"]["commitId"]
    );
    let (commits, _) = all_commits(&c, pr, 500).await;
    assert!(commits.len() > commits_before.len());
    assert_eq!(
        commits[0]["commitId"],
        one["lastMergeSourceCommit"]["commitId"]
    );
    let threads = c.get_json(&format!("{}/threads", pr.path)).await;
    let threads = arr(&threads["value"]);
    assert_eq!(threads.len(), threads_before + 1);
    assert_eq!(
        threads.last().unwrap()["properties"]["CodeReviewThreadType"]["$value"],
        "RefUpdate"
    );
    let changes = c
        .get_json(&format!("{}/iterations/{}/changes", pr.path, its.len()))
        .await;
    assert!(!arr(&changes["changeEntries"]).is_empty());
}

#[tokio::test]
async fn comments_and_statuses_leave_the_pull_request_list_alone() {
    let c = Client::start(cfg(10)).await;
    let prs = prs(c.sim());
    let pr = &prs[3];
    let list_before = c.sim().truth_kinds(&["pull_requests"]);
    let threads_before = c.get_json(&format!("{}/threads", pr.path)).await;
    let mut did = Vec::new();
    for _ in 0..12 {
        let v = c
            .sim()
            .apply(&Change::CommentOnPullRequest { pr: pr.id as u32 })
            .unwrap();
        did.push(v["comment"].as_str().unwrap().to_string());
    }
    let status = c
        .sim()
        .apply(&Change::PostPullRequestStatus { pr: pr.id as u32 })
        .unwrap();
    assert!(status["status"].as_u64().unwrap() >= 1);
    assert_eq!(c.sim().truth_kinds(&["pull_requests"]), list_before);
    let threads_after = c.get_json(&format!("{}/threads", pr.path)).await;
    assert_ne!(threads_before, threads_after);
    assert!(did.iter().any(|d| d == "thread_created"), "{did:?}");
    assert!(did.len() == 12);
    let truth = c.sim().truth_kinds(&["pull_request_statuses"]);
    assert!(
        truth_of(&truth, "pull_request_statuses", pr.id)
            .iter()
            .any(|s| s["id"] == status["status"])
    );
}

#[tokio::test]
async fn votes_and_random_rounds_touch_children() {
    let c = Client::start(cfg(11)).await;
    let before = c.sim().truth_kinds(&CHILD_KINDS);
    let answer = c.sim().mutate(5, 30);
    let touched: Vec<u64> = arr(&answer["touched_pull_requests"])
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(!touched.is_empty());
    assert!(touched.windows(2).all(|w| w[0] < w[1]));
    let after = c.sim().truth_kinds(&CHILD_KINDS);
    // Children changed only for touched PRs (comments and statuses are not in random rounds).
    let ids: std::collections::BTreeSet<u64> = arr(&after["pull_request_iterations"])
        .iter()
        .map(|v| v["pullRequestId"].as_u64().unwrap())
        .collect();
    let mut changed = 0;
    for id in ids {
        let same = CHILD_KINDS
            .iter()
            .all(|k| truth_of(&before, k, id) == truth_of(&after, k, id));
        if !same {
            changed += 1;
            assert!(
                touched.contains(&id),
                "PR {id} changed but was not reported"
            );
        }
    }
    assert!(changed > 0);
    let prs = prs(c.sim());
    let active = prs.iter().find(|p| p.status == "active").unwrap();
    let n = truth_of(&after, "pull_request_threads", active.id).len();
    match c.sim().apply(&Change::VotePullRequest {
        pr: active.id as u32,
    }) {
        Ok(_) => {
            let t = c.sim().truth_kinds(&["pull_request_threads"]);
            let threads = truth_of(&t, "pull_request_threads", active.id);
            assert_eq!(threads.len(), n + 1);
            assert_eq!(
                threads.last().unwrap()["properties"]["CodeReviewThreadType"]["$value"],
                "VoteUpdate"
            );
        }
        Err(e) => assert!(e.contains("no reviewers"), "{e}"),
    }
    let closed = prs.iter().find(|p| p.status != "active").unwrap();
    assert!(
        c.sim()
            .apply(&Change::PushToPullRequest {
                pr: closed.id as u32
            })
            .is_err()
    );
}

#[tokio::test]
async fn same_seed_same_children() {
    let a = Sim::new(cfg(12));
    let b = Sim::new(cfg(12));
    // Read b's PRs in another order first: children do not depend on reading order.
    let _ = b.truth_kinds(&["pull_request_commits"]);
    let ta = serde_json::to_string(&a.truth_kinds(&CHILD_KINDS)).unwrap();
    let tb = serde_json::to_string(&b.truth_kinds(&CHILD_KINDS)).unwrap();
    assert_eq!(ta, tb);
    let tc = serde_json::to_string(&Sim::new(cfg(13)).truth_kinds(&CHILD_KINDS)).unwrap();
    assert_ne!(ta, tc);
    // The PR data itself does not depend on the children knobs.
    let big = Sim::new(SimConfig {
        big_pr_files: 50,
        big_thread_comments: 20,
        ..cfg(12)
    });
    assert_eq!(
        big.truth_kinds(&["pull_requests"]),
        a.truth_kinds(&["pull_requests"])
    );
}

#[tokio::test]
async fn child_endpoints_are_counted_and_scoped() {
    let c = Client::start(cfg(14)).await;
    let pr = &prs(c.sim())[0];
    c.sim().reset_stats();
    for leaf in [
        "iterations",
        "iterations/1/changes",
        "threads",
        "workitems",
        "statuses",
        "iterations/1/statuses",
        "commits",
    ] {
        c.get_json(&format!("{}/{leaf}", pr.path)).await;
    }
    let r = c
        .get(&format!(
            "/{}/_apis/policy/evaluations?artifactId={}&api-version=7.1-preview.1",
            pr.project_id,
            artifact(pr)
        ))
        .await;
    assert_eq!(r.status, 200);
    let stats = c.sim().stats();
    for label in [
        "pullrequest_iterations",
        "pullrequest_iteration_changes",
        "pullrequest_threads",
        "pullrequest_workitems",
        "pullrequest_statuses",
        "pullrequest_iteration_statuses",
        "pullrequest_commits",
        "policy_evaluations",
    ] {
        assert_eq!(stats["by_endpoint"][label], 1, "{label}");
    }
    c.sim().add_pat(ado_sim::Pat {
        token: "work-only".into(),
        scopes: vec!["vso.work".into()],
    });
    let mut limited = Client {
        running: c.running,
        token: "work-only".into(),
        api_version: c.api_version,
    };
    let denied = limited
        .get(&format!("{}/threads?api-version=7.1", pr.path))
        .await;
    assert_eq!(denied.status, 403);
    limited.token = ado_sim::DEMO_PAT.into();
}

#[tokio::test]
async fn default_branch_history_is_the_merged_pull_requests() {
    let c = Client::start(cfg(15)).await;
    let truth = c.sim().truth_kinds(&["pull_requests"]);
    let first = &arr(&truth["pull_requests"])[0];
    let (project, repo) = (
        first["repository"]["project"]["name"].as_str().unwrap(),
        first["repository"]["id"].as_str().unwrap(),
    );
    let mut merged: Vec<&Value> = arr(&truth["pull_requests"])
        .iter()
        .filter(|p| {
            p["repository"]["id"] == repo
                && p["status"] == "completed"
                && p["targetRefName"] == "refs/heads/main"
        })
        .collect();
    merged.sort_by_key(|p| std::cmp::Reverse(p["closedDate"].as_str().unwrap().to_string()));
    assert!(merged.len() >= 3);
    let url = |q: &str| {
        format!(
            "/{project}/_apis/git/repositories/{repo}/commits?searchCriteria.itemVersion.version=main\
             &searchCriteria.itemVersion.versionType=branch{q}"
        )
    };
    let all = c.get_json(&url("&%24top=1000")).await;
    let shas: Vec<&Value> = arr(&all["value"]).iter().map(|x| &x["commitId"]).collect();
    let want: Vec<&Value> = merged
        .iter()
        .map(|p| &p["lastMergeCommit"]["commitId"])
        .collect();
    assert_eq!(
        shas, want,
        "newest first, one merge commit per completed PR"
    );
    assert!(
        arr(&all["value"])
            .iter()
            .all(|x| x["changeCounts"]["Add"].is_u64())
    );
    let second = c.get_json(&url("&%24top=1&%24skip=1")).await;
    assert_eq!(&second["value"][0]["commitId"], want[1]);
    let from = merged[1]["closedDate"].as_str().unwrap();
    let recent = c
        .get_json(&url(&format!("&searchCriteria.fromDate={from}")))
        .await;
    assert_eq!(recent["count"], 2, "fromDate is inclusive");
    let unknown = c
        .get(&format!(
            "/{project}/_apis/git/repositories/{repo}/commits?searchCriteria.itemVersion.version=nope&api-version=7.1"
        ))
        .await;
    assert_eq!(unknown.status, 404);
}
