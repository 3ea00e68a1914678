//! Default-branch histories (`…/repositories/{r}/commits`), as the Commits connector reads
//! them: the route against the `commits` truth, force-pushes, default-branch changes, and
//! that orgs nobody force-pushed serve exactly what they served before.

mod support;

use ado_sim::{Change, SimConfig};
use chrono::{DateTime, Utc};
use serde_json::Value;
use support::Client;

/// The PR- and Boards-side kinds that existed before default branches could move.
const OLD_KINDS: &str = "projects,repositories,pull_requests,work_items,work_item_revisions,\
work_item_links,teams,team_members,users,iterations,areas,work_item_types,fields,\
pull_request_iterations,pull_request_changes,pull_request_threads,pull_request_work_items,\
pull_request_statuses,pull_request_policy_evaluations,pull_request_commits";

fn fixed() -> SimConfig {
    SimConfig {
        seed: 21,
        projects: 2,
        repos_per_project: 2,
        prs_per_repo: 15,
        work_items_per_project: 10,
        start_time: Some(chrono::DateTime::from_timestamp(1_750_000_000, 0).unwrap()),
        ..SimConfig::default()
    }
}

fn cfg(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        projects: 2,
        repos_per_project: 2,
        prs_per_repo: 30,
        work_items_per_project: 0,
        ..SimConfig::default()
    }
}

fn arr(v: &Value) -> &Vec<Value> {
    v.as_array().expect("array")
}

fn date(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("a date"))
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

/// A live repository: its project's name and its id.
#[derive(Clone)]
struct Repo {
    project: String,
    id: String,
}

fn repos(c: &Client) -> Vec<Repo> {
    let t = c.sim().truth_kinds(&["repositories"]);
    arr(&t["repositories"])
        .iter()
        .map(|r| Repo {
            project: r["project"]["name"].as_str().unwrap().to_string(),
            id: r["id"].as_str().unwrap().to_string(),
        })
        .collect()
}

/// The whole history the route serves (one page of up to 1000), `query` appended as is.
async fn history(c: &Client, r: &Repo, query: &str) -> Vec<Value> {
    let page = c
        .get_json(&format!(
            "/{}/_apis/git/repositories/{}/commits?%24top=1000{query}",
            r.project, r.id
        ))
        .await;
    arr(&page["value"]).clone()
}

fn shas(v: &[Value]) -> Vec<&str> {
    v.iter().map(|x| x["commitId"].as_str().unwrap()).collect()
}

/// The `commits` truth of one repository, without the `repositoryId` it adds.
fn truth_of(c: &Client, r: &Repo) -> Vec<Value> {
    let t = c.sim().truth_kinds(&["commits"]);
    arr(&t["commits"])
        .iter()
        .filter(|x| x["repositoryId"] == r.id.as_str())
        .map(|x| {
            let mut x = x.clone();
            x.as_object_mut().unwrap().remove("repositoryId");
            x
        })
        .collect()
}

/// The repository whose default branch has the longest history.
async fn busiest(c: &Client) -> (Repo, Vec<Value>) {
    let mut best: Option<(Repo, Vec<Value>)> = None;
    for r in repos(c) {
        let h = history(c, &r, "").await;
        if best.as_ref().is_none_or(|(_, b)| h.len() > b.len()) {
            best = Some((r, h));
        }
    }
    best.expect("a repository")
}

fn force_push(r: &Repo, rewrite: usize, drop: usize) -> Change {
    Change::ForcePushDefaultBranch {
        repository: r.id.clone(),
        rewrite,
        drop,
    }
}

/// FNV-1a, 64 bits, of the text with the served URL (whose port varies) taken out: a digest
/// that depends on neither the toolchain nor the port.
fn digest(c: &Client, bytes: &[u8]) -> (usize, u64) {
    let text = String::from_utf8_lossy(bytes).replace(&c.running.base_url(), "BASE");
    let h = text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (text.len(), h)
}

#[tokio::test]
async fn an_org_nobody_force_pushed_serves_what_it_served_before() {
    let c = Client::start(fixed()).await;
    let truth = c
        .admin("GET", &format!("/_sim/truth?kinds={OLD_KINDS}"), None)
        .await;
    assert_eq!(truth.status, 200);
    let mut histories = Vec::new();
    let repos = c.sim().truth_kinds(&["repositories"]);
    for r in repos["repositories"].as_array().unwrap() {
        let page = c
            .get(&format!(
                "/{}/_apis/git/repositories/{}/commits?searchCriteria.itemVersion.version=main\
                 &%24top=1000&api-version=7.1",
                r["project"]["name"].as_str().unwrap(),
                r["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(page.status, 200);
        histories.extend_from_slice(&page.body);
    }
    // Recorded before default branches could move or be force-pushed (a change to the
    // generator that moves them on purpose records them again).
    assert_eq!(digest(&c, &truth.body), (0x1d_d4dd, 0x7bc8_0c96_59d8_051e));
    assert_eq!(digest(&c, &histories), (0x5a15, 0x3351_5441_507b_66a5));
}

#[tokio::test]
async fn every_history_equals_the_truth_and_is_counted() {
    let c = Client::start(cfg(31)).await;
    c.sim().reset_stats();
    let mut served = Vec::new();
    let mut rs = repos(&c);
    rs.sort_by(|a, b| a.id.cmp(&b.id));
    for r in &rs {
        for mut x in history(&c, r, "").await {
            x.as_object_mut()
                .unwrap()
                .insert("repositoryId".into(), r.id.clone().into());
            served.push(x);
        }
    }
    let truth = c.sim().truth_kinds(&["commits"]);
    assert!(served.len() > 20);
    assert_eq!(&served, arr(&truth["commits"]));
    assert_eq!(c.sim().stats()["by_endpoint"]["commits"], rs.len());
    // Without a version the history is the default branch's, which is main when generated.
    let r = &rs[0];
    assert_eq!(
        history(&c, r, "").await,
        history(&c, r, "&searchCriteria.itemVersion.version=main").await
    );
}

#[tokio::test]
async fn a_force_push_rewrites_and_drops_exactly_what_it_names() {
    let c = Client::start(cfg(32)).await;
    let (r, before) = busiest(&c).await;
    assert!(before.len() >= 6);
    let prs_before = c.sim().truth_kinds(&["pull_requests"]);
    let t0 = Utc::now();
    let answer = c.sim().apply(&force_push(&r, 2, 1)).unwrap();
    let t1 = Utc::now();
    assert_eq!(answer["repository"], r.id.as_str());
    assert_eq!(
        answer["dropped"],
        serde_json::json!([before[0]["commitId"]])
    );
    let rewritten = arr(&answer["rewritten"]);
    assert_eq!(rewritten.len(), 2);

    let after = history(&c, &r, "").await;
    assert_eq!(after.len(), before.len() - 1, "one commit dropped");
    assert!(!shas(&after).contains(&shas(&before)[0]));
    for i in 0..2 {
        let (old, new) = (&before[i + 1], &after[i]);
        assert_eq!(rewritten[i]["old"], old["commitId"]);
        assert_eq!(rewritten[i]["new"], new["commitId"]);
        assert_ne!(new["commitId"], old["commitId"]);
        assert!(
            new["url"]
                .as_str()
                .unwrap()
                .ends_with(new["commitId"].as_str().unwrap())
        );
        let committed = date(&new["committer"]["date"]);
        assert!(t0 <= committed && committed <= t1 + chrono::Duration::seconds(1));
        assert_eq!(new["author"], old["author"], "authors stay");
        assert_eq!(new["committer"]["name"], old["committer"]["name"]);
        assert_eq!(new["comment"], old["comment"]);
        assert_eq!(new["changeCounts"], old["changeCounts"]);
    }
    assert!(
        date(&after[0]["committer"]["date"]) > date(&after[1]["committer"]["date"]),
        "the rebase keeps the order"
    );
    assert_eq!(&after[2..], &before[3..], "older commits untouched");
    assert_eq!(after, truth_of(&c, &r));
    assert_eq!(
        c.sim().truth_kinds(&["pull_requests"]),
        prs_before,
        "ADO keeps the merge commits it made as lastMergeCommit"
    );
    // Explicitly naming the branch gives the same history.
    assert_eq!(
        history(
            &c,
            &r,
            "&searchCriteria.itemVersion.version=refs/heads/main"
        )
        .await,
        after
    );
    assert!(c.sim().apply(&force_push(&r, after.len(), 1)).is_err());
    assert!(
        c.sim()
            .apply(&Change::ForcePushDefaultBranch {
                repository: "nope".into(),
                rewrite: 1,
                drop: 0
            })
            .is_err()
    );
}

#[tokio::test]
async fn from_date_bounds_the_committer_date() {
    let c = Client::start(cfg(33)).await;
    let (r, before) = busiest(&c).await;
    let since = Utc::now();
    // Over the admin API, as the binary's users send it.
    let body = format!(
        r#"{{"force_push_default_branch": {{"repository": "{}", "rewrite": 2, "drop": 0}}}}"#,
        r.id
    );
    let resp = c.admin("POST", "/_sim/change", Some(&body)).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let after = history(&c, &r, "").await;
    let q = |k: &str, t: String| format!("&searchCriteria.{k}={t}");
    let recent = history(
        &c,
        &r,
        &q(
            "fromDate",
            since.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string(),
        ),
    )
    .await;
    assert_eq!(
        shas(&recent),
        shas(&after[..2]),
        "only the rewritten commits were committed since, old as their authors are"
    );
    assert!(date(&recent[1]["author"]["date"]) < since);
    // Inclusive at both ends, on the committer date.
    let at = after[1]["committer"]["date"].as_str().unwrap().to_string();
    assert_eq!(history(&c, &r, &q("fromDate", at.clone())).await.len(), 2);
    let upto = history(&c, &r, &q("toDate", at)).await;
    assert_eq!(shas(&upto), shas(&after[1..]));
    // Up to the newest commit before the push: everything then, now without the rewritten.
    let newest = before[0]["committer"]["date"].as_str().unwrap().to_string();
    let window = history(&c, &r, &q("toDate", newest)).await;
    assert_eq!(
        &window[..],
        &after[2..],
        "rewritten commits left the old window"
    );
}

#[tokio::test]
async fn set_default_branch_moves_the_history() {
    let c = Client::start(cfg(34)).await;
    let prs = c.sim().truth_kinds(&["pull_requests"]);
    let release = arr(&prs["pull_requests"])
        .iter()
        .find(|p| p["status"] == "completed" && p["targetRefName"] != "refs/heads/main")
        .expect("a PR completed into a release branch");
    let branch = release["targetRefName"].as_str().unwrap();
    let r = Repo {
        project: release["repository"]["project"]["name"]
            .as_str()
            .unwrap()
            .to_string(),
        id: release["repository"]["id"].as_str().unwrap().to_string(),
    };
    let main = history(&c, &r, "").await;
    let short = branch.strip_prefix("refs/heads/").unwrap();
    let explicit = history(
        &c,
        &r,
        &format!("&searchCriteria.itemVersion.version={short}"),
    )
    .await;
    assert!(shas(&explicit).contains(&release["lastMergeCommit"]["commitId"].as_str().unwrap()));

    let answer = c
        .sim()
        .apply(&Change::SetDefaultBranch {
            repository: r.id.clone(),
            branch: short.to_string(),
        })
        .unwrap();
    assert_eq!(answer["default_branch"], branch);
    let repo = c
        .get_json(&format!("/{}/_apis/git/repositories/{}", r.project, r.id))
        .await;
    assert_eq!(repo["defaultBranch"], branch);
    assert_eq!(history(&c, &r, "").await, explicit);
    assert_eq!(truth_of(&c, &r), explicit);
    assert_eq!(
        history(&c, &r, "&searchCriteria.itemVersion.version=main").await,
        main,
        "the old default branch is still there"
    );
    // A force-push now rewrites the new default branch, not main.
    c.sim().apply(&force_push(&r, 1, 0)).unwrap();
    assert_ne!(history(&c, &r, "").await[0], explicit[0]);
    assert_eq!(
        history(&c, &r, "&searchCriteria.itemVersion.version=main").await,
        main
    );
    assert!(
        c.sim()
            .apply(&Change::SetDefaultBranch {
                repository: "nope".into(),
                branch: "main".into()
            })
            .is_err()
    );
}

#[tokio::test]
async fn a_pull_request_completed_after_a_force_push_lands_on_top() {
    let c = Client::start(cfg(35)).await;
    let (r, _) = busiest(&c).await;
    c.sim().apply(&force_push(&r, 2, 1)).unwrap();
    let pushed = history(&c, &r, "").await;
    let created = c
        .sim()
        .apply(&Change::CreatePullRequests {
            repository: r.id.clone(),
            count: 10,
        })
        .unwrap();
    let prs = c.sim().truth_kinds(&["pull_requests"]);
    let pr = arr(&created["created"])
        .iter()
        .map(|id| {
            arr(&prs["pull_requests"])
                .iter()
                .find(|p| p["pullRequestId"] == *id)
                .unwrap()
        })
        .find(|p| p["targetRefName"] == "refs/heads/main")
        .expect("a new PR into main")["pullRequestId"]
        .as_u64()
        .unwrap() as u32;
    let done = c.sim().apply(&Change::CompletePullRequest { pr }).unwrap();
    let after = history(&c, &r, "").await;
    assert_eq!(after[0]["commitId"], done["merge_commit"]);
    assert_eq!(
        &after[1..],
        &pushed[..],
        "the rewritten history stays below it"
    );
    assert_eq!(after, truth_of(&c, &r));
    let one = c
        .get_json(&format!(
            "/{}/_apis/git/repositories/{}/pullrequests/{pr}",
            r.project, r.id
        ))
        .await;
    assert_eq!(one["status"], "completed");
    assert_eq!(one["lastMergeCommit"]["commitId"], done["merge_commit"]);
    assert!(c.sim().apply(&Change::CompletePullRequest { pr }).is_err());
}

#[test]
fn changes_deserialize_from_their_snake_case_tags() {
    let parse = |s: &str| serde_json::from_str::<Change>(s).unwrap();
    assert_eq!(
        parse(r#"{"set_default_branch": {"repository": "r", "branch": "develop"}}"#),
        Change::SetDefaultBranch {
            repository: "r".into(),
            branch: "develop".into()
        }
    );
    assert_eq!(
        parse(r#"{"force_push_default_branch": {"repository": "r", "rewrite": 2, "drop": 1}}"#),
        Change::ForcePushDefaultBranch {
            repository: "r".into(),
            rewrite: 2,
            drop: 1
        }
    );
    assert_eq!(
        parse(r#"{"complete_pull_request": {"pr": 7}}"#),
        Change::CompletePullRequest { pr: 7 }
    );
}
