//! The Boards surface over HTTP: reporting streams, WIQL, work items by id, teams, graph,
//! classification nodes, the process, comments, the recycle bin, and the ground truth.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;

use ado_sim::{Pat, SimConfig};
use serde_json::{Value, json};
use support::{Client, Resp};

const CAP: usize = 37;

fn cfg(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        projects: 2,
        repos_per_project: 1,
        prs_per_repo: 5,
        work_items_per_project: 60,
        reporting_page_cap: CAP,
        ..SimConfig::default()
    }
}

fn arr(v: &Value) -> &Vec<Value> {
    v.as_array().expect("array")
}

fn project_names(c: &Client) -> Vec<String> {
    arr(&c.sim().truth_kinds(&["projects"])["projects"])
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

fn key(v: &Value) -> (u64, u64) {
    (v["id"].as_u64().unwrap(), v["rev"].as_u64().unwrap())
}

fn in_project<'a>(revs: &'a [Value], project: &str) -> Vec<&'a Value> {
    revs.iter()
        .filter(|r| r["fields"]["System.TeamProject"] == project)
        .collect()
}

/// Ids of the deleted work items in a truth.
fn deleted_ids(truth: &Value) -> BTreeSet<u64> {
    arr(&truth["work_items"])
        .iter()
        .filter(|w| w["isDeleted"] == true)
        .map(|w| w["id"].as_u64().unwrap())
        .collect()
}

struct Streamed {
    values: Vec<Value>,
    token: String,
    pages: usize,
}

/// Reads a reporting stream to its last batch, checking the paging rules on the way. Boxed so
/// test futures stay small.
fn stream<'a>(
    c: &'a Client,
    path: &'a str,
    query: &'a str,
    from: Option<&'a str>,
    max_page: usize,
) -> Pin<Box<dyn Future<Output = Streamed> + 'a>> {
    Box::pin(async move {
        let mut values = Vec::new();
        let mut token = from.map(str::to_string);
        let mut pages = 0;
        loop {
            let mut url = format!("{path}?{query}");
            if let Some(t) = &token {
                url.push_str(&format!("&continuationToken={t}"));
            }
            let page = c.get_json(&url).await;
            pages += 1;
            assert!(pages < 10_000, "stream does not end");
            let v = arr(&page["values"]).clone();
            assert!(v.len() <= max_page, "page of {} > {max_page}", v.len());
            let t = page["continuationToken"].as_str().unwrap().to_string();
            let next = page["nextLink"].as_str().unwrap();
            assert!(next.contains(&format!("continuationToken={t}")), "{next}");
            assert!(next.contains("api-version=7.1"), "{next}");
            values.extend(v);
            token = Some(t);
            if page["isLastBatch"] == true {
                break;
            }
        }
        Streamed {
            values,
            token: token.unwrap_or_default(),
            pages,
        }
    })
}

fn revisions_path(project: &str) -> String {
    format!("/{project}/_apis/wit/reporting/workitemrevisions")
}

#[tokio::test]
async fn reporting_stream_pages_cover_every_revision_once() {
    let c = Client::start(cfg(3)).await;
    let truth = c.sim().truth_kinds(&["work_items", "work_item_revisions"]);
    let deleted = deleted_ids(&truth);
    assert!(
        !deleted.is_empty(),
        "some generated items are in the recycle bin"
    );
    let all = arr(&truth["work_item_revisions"]).clone();
    for name in project_names(&c) {
        let path = revisions_path(&name);
        let s = stream(&c, &path, "%24expand=fields", None, CAP).await;
        // Watermark order, each revision once.
        let wms: Vec<u64> = s
            .values
            .iter()
            .map(|v| v["fields"]["System.Watermark"].as_u64().unwrap())
            .collect();
        assert!(wms.windows(2).all(|w| w[0] < w[1]));
        let dates: Vec<&str> = s
            .values
            .iter()
            .map(|v| v["fields"]["System.ChangedDate"].as_str().unwrap())
            .collect();
        assert!(
            dates
                .windows(2)
                .all(|w| chrono::DateTime::parse_from_rfc3339(w[0]).unwrap()
                    <= chrono::DateTime::parse_from_rfc3339(w[1]).unwrap())
        );
        let mut got = s.values.clone();
        got.sort_by_key(key);
        let want: Vec<Value> = in_project(&all, &name)
            .into_iter()
            .filter(|r| !deleted.contains(&r["id"].as_u64().unwrap()))
            .cloned()
            .collect();
        assert_eq!(got.len(), want.len());
        assert_eq!(got, want, "served revisions equal the truth in {name}");
        assert!(s.pages >= want.len() / CAP);

        // Without $expand=fields the long-text fields are withheld (API_FACTS §1.6), and
        // nothing else is.
        let long = [
            "System.Description",
            "Microsoft.VSTS.TCM.ReproSteps",
            "Microsoft.VSTS.Common.AcceptanceCriteria",
        ];
        for key in long {
            assert!(
                want.iter().any(|r| r["fields"].get(key).is_some()),
                "the truth has {key} in {name}"
            );
        }
        let mut plain = stream(&c, &path, "", None, CAP).await.values;
        plain.sort_by_key(key);
        let mut stripped = want.clone();
        for r in &mut stripped {
            let m = r["fields"].as_object_mut().unwrap();
            for key in long {
                m.remove(key);
            }
        }
        assert_eq!(plain.len(), stripped.len());
        for (p, s) in plain.iter().zip(&stripped) {
            assert_eq!(
                p, s,
                "the default stream lacks only the long text in {name}"
            );
        }
        let named = c
            .get_json(&format!("{path}?fields=System.Description"))
            .await;
        assert!(
            arr(&named["values"])
                .iter()
                .any(|r| r["fields"].get("System.Description").is_some()),
            "a fields list that names a long-text field returns it"
        );

        // includeDeleted adds exactly the deleted items' revisions.
        let s = stream(&c, &path, "includeDeleted=true&%24expand=fields", None, CAP).await;
        let mut got = s.values;
        got.sort_by_key(key);
        let want: Vec<Value> = in_project(&all, &name).into_iter().cloned().collect();
        assert_eq!(got, want);
        let marked = got
            .iter()
            .filter(|r| r["fields"]["System.IsDeleted"] == true)
            .count();
        let deleted_here = arr(&truth["work_items"])
            .iter()
            .filter(|w| w["isDeleted"] == true && w["fields"]["System.TeamProject"] == name)
            .count();
        assert_eq!(marked, deleted_here);

        // $maxPageSize lowers the page size, never raises it.
        let s = stream(&c, &path, "%24maxPageSize=10", None, 10).await;
        assert_eq!(
            s.values.len(),
            want.len()
                - in_project(&all, &name)
                    .iter()
                    .filter(|r| deleted.contains(&r["id"].as_u64().unwrap()))
                    .count()
        );
        let page = c.get_json(&format!("{path}?$maxPageSize=5000")).await;
        assert_eq!(arr(&page["values"]).len(), CAP);
    }
    // The org-level stream covers both projects.
    let s = stream(
        &c,
        "/_apis/wit/reporting/workitemrevisions",
        "includeDeleted=true",
        None,
        CAP,
    )
    .await;
    assert_eq!(s.values.len(), all.len());
}

#[tokio::test]
async fn continuation_after_mutations_returns_exactly_the_new_revisions() {
    let c = Client::start(cfg(4)).await;
    let names = project_names(&c);
    let mut tokens = BTreeMap::new();
    for name in &names {
        let s = stream(&c, &revisions_path(name), "includeDeleted=true", None, CAP).await;
        // An idle stream answers an empty last batch and the same token.
        let again = c
            .get_json(&format!(
                "{}?includeDeleted=true&continuationToken={}",
                revisions_path(name),
                s.token
            ))
            .await;
        assert_eq!(arr(&again["values"]).len(), 0);
        assert_eq!(again["isLastBatch"], true);
        assert_eq!(again["continuationToken"], s.token.as_str());
        tokens.insert(name.clone(), s.token);
    }
    let before: BTreeSet<(u64, u64)> =
        arr(&c.sim().truth_kinds(&["work_item_revisions"])["work_item_revisions"])
            .iter()
            .map(key)
            .collect();
    let answer = c.sim().mutate_split(5, 0, 150);
    let changed = &answer["changed"];
    assert!(
        changed["work_items_deleted"].as_u64().unwrap() > 0,
        "{changed}"
    );
    assert!(
        changed["work_items_created"].as_u64().unwrap() > 0,
        "{changed}"
    );
    let truth = c.sim().truth_kinds(&["work_item_revisions"]);
    let after = arr(&truth["work_item_revisions"]);
    let mut served_total = 0;
    for name in &names {
        let s = stream(
            &c,
            &revisions_path(name),
            "includeDeleted=true&%24expand=fields",
            Some(&tokens[name]),
            CAP,
        )
        .await;
        let got: Vec<(u64, u64)> = s.values.iter().map(key).collect();
        let unique: BTreeSet<(u64, u64)> = got.iter().copied().collect();
        assert_eq!(unique.len(), got.len(), "each new revision once");
        let want: BTreeSet<(u64, u64)> = in_project(after, name)
            .into_iter()
            .map(key)
            .filter(|k| !before.contains(k))
            .collect();
        assert_eq!(unique, want, "{name}");
        // Each new revision is the truth's.
        for v in &s.values {
            assert!(after.contains(v));
        }
        served_total += got.len();
    }
    let revision_kinds = [
        "work_items_edited",
        "work_items_state_changed",
        "work_items_reassigned",
        "work_items_moved",
        "work_items_created",
        "work_item_comments_added",
        "work_item_links_changed",
        "work_items_deleted",
        "work_items_restored",
    ];
    let expected: u64 = revision_kinds
        .iter()
        .map(|k| changed[*k].as_u64().unwrap())
        .sum();
    assert_eq!(served_total as u64, expected);
    // New ChangedDates are real "now".
    let newest = after
        .iter()
        .map(|r| r["fields"]["System.ChangedDate"].as_str().unwrap())
        .max_by_key(|d| chrono::DateTime::parse_from_rfc3339(d).unwrap())
        .unwrap();
    let newest = chrono::DateTime::parse_from_rfc3339(newest).unwrap();
    assert!((chrono::Utc::now() - newest.with_timezone(&chrono::Utc)).num_seconds() < 60);
}

#[tokio::test]
async fn deletes_and_restores_in_the_stream() {
    let c = Client::start(cfg(6)).await;
    // Mutate until something has been deleted and something restored.
    let mut restored = 0;
    for seed in 0..40 {
        let a = c.sim().mutate_split(seed, 0, 40);
        restored += a["changed"]["work_items_restored"].as_u64().unwrap();
        if restored > 0 {
            break;
        }
    }
    assert!(restored > 0);
    let truth = c.sim().truth_kinds(&["work_items", "work_item_revisions"]);
    let deleted = deleted_ids(&truth);
    let revs = arr(&truth["work_item_revisions"]);
    // A restored item: a delete revision followed by one without System.IsDeleted.
    let restored_item = revs
        .iter()
        .filter(|r| r["fields"]["System.IsDeleted"] == true)
        .map(|r| r["id"].as_u64().unwrap())
        .find(|id| !deleted.contains(id))
        .expect("a restored item");
    let its: Vec<&Value> = revs.iter().filter(|r| r["id"] == restored_item).collect();
    let last = its.last().unwrap();
    assert!(last["fields"].get("System.IsDeleted").is_none());
    let project = last["fields"]["System.TeamProject"].as_str().unwrap();
    let plain = stream(&c, &revisions_path(project), "", None, CAP).await;
    let served: BTreeSet<(u64, u64)> = plain.values.iter().map(key).collect();
    // Without includeDeleted: the restored item is back, minus its delete revision; deleted
    // items are gone entirely.
    for r in &its {
        let marked = r["fields"]["System.IsDeleted"] == true;
        assert_eq!(served.contains(&key(r)), !marked, "{}", r["rev"]);
    }
    assert!(
        plain
            .values
            .iter()
            .all(|v| !deleted.contains(&v["id"].as_u64().unwrap()))
    );
    // The recycle bin lists exactly the project's deleted items.
    let bin = c
        .get_json(&format!("/{project}/_apis/wit/recyclebin"))
        .await;
    let listed: BTreeSet<u64> = arr(&bin["value"])
        .iter()
        .map(|v| v["id"].as_u64().unwrap())
        .collect();
    let want: BTreeSet<u64> = arr(&truth["work_items"])
        .iter()
        .filter(|w| w["isDeleted"] == true && w["fields"]["System.TeamProject"] == project)
        .map(|w| w["id"].as_u64().unwrap())
        .collect();
    assert_eq!(listed, want);
    if let Some(id) = want.iter().next() {
        let one = c
            .get_json(&format!("/{project}/_apis/wit/recyclebin/{id}"))
            .await;
        assert_eq!(one["id"], *id);
        assert_eq!(one["code"], 200);
        assert!(one["deletedBy"].as_str().unwrap().ends_with('>'));
    }
}

#[tokio::test]
async fn reporting_filters_and_identity_forms() {
    let c = Client::start(cfg(7)).await;
    let name = &project_names(&c)[0];
    let path = revisions_path(name);
    let page = c.get_json(&path).await;
    let first = &arr(&page["values"])[0];
    let by = first["fields"]["System.CreatedBy"].as_str().unwrap();
    assert!(by.contains(" <") && by.ends_with('>'), "{by}");
    let page = c.get_json(&format!("{path}?includeIdentityRef=true")).await;
    let by = &arr(&page["values"])[0]["fields"]["System.CreatedBy"];
    for k in [
        "displayName",
        "id",
        "uniqueName",
        "descriptor",
        "url",
        "imageUrl",
    ] {
        assert!(by.get(k).is_some(), "{k} in {by}");
    }
    assert!(by["descriptor"].as_str().unwrap().starts_with("aad."));

    // POST with a filter body: only the requested fields, only the requested types.
    let body = json!({
        "fields": ["System.Title", "System.WorkItemType"],
        "types": ["Bug"],
        "includeIdentityRef": true,
    });
    let page = c.post_json(&path, &body.to_string()).await;
    let values = arr(&page["values"]);
    assert!(!values.is_empty());
    for v in values {
        let keys: BTreeSet<&str> = v["fields"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert!(keys.is_subset(&BTreeSet::from(["System.Title", "System.WorkItemType"])));
        assert_eq!(v["fields"]["System.WorkItemType"], "Bug");
    }
    assert!(!page["nextLink"].as_str().unwrap().contains("types="));
    // The same filter on the GET query string.
    let page = c
        .get_json(&format!(
            "{path}?fields=System.Title,System.WorkItemType&types=Bug"
        ))
        .await;
    assert_eq!(arr(&page["values"]).len(), values.len().min(CAP));
    let r = c
        .get(&format!("{path}?api-version=7.1&fields=System.Nope"))
        .await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("TF51535"));

    // includeLatestOnly: one (the latest) revision per live item.
    let truth = c.sim().truth_kinds(&["work_items"]);
    let live: BTreeMap<u64, u64> = arr(&truth["work_items"])
        .iter()
        .filter(|w| w["isDeleted"] == false && w["fields"]["System.TeamProject"] == name.as_str())
        .map(|w| (w["id"].as_u64().unwrap(), w["rev"].as_u64().unwrap()))
        .collect();
    let s = stream(&c, &path, "includeLatestOnly=true", None, CAP).await;
    let got: BTreeMap<u64, u64> = s.values.iter().map(key).collect();
    assert_eq!(got, live);

    // startDateTime starts the stream at a ChangedDate.
    let all = stream(&c, &path, "", None, CAP).await.values;
    let pivot = all[all.len() / 2]["fields"]["System.ChangedDate"]
        .as_str()
        .unwrap()
        .to_string();
    let since = stream(&c, &path, &format!("startDateTime={pivot}"), None, CAP).await;
    let p = chrono::DateTime::parse_from_rfc3339(&pivot).unwrap();
    let want = all
        .iter()
        .filter(|v| {
            chrono::DateTime::parse_from_rfc3339(
                v["fields"]["System.ChangedDate"].as_str().unwrap(),
            )
            .unwrap()
                >= p
        })
        .count();
    assert_eq!(since.values.len(), want);
    assert!(since.values.len() < all.len());
}

#[tokio::test]
async fn links_stream_replays_to_the_current_links() {
    let c = Client::start(cfg(8)).await;
    let fold = |events: &[Value], set: &mut BTreeSet<(String, u64, u64)>| {
        for e in events {
            let k = (
                e["rel"].as_str().unwrap().to_string(),
                e["sourceId"].as_u64().unwrap(),
                e["targetId"].as_u64().unwrap(),
            );
            let active = e["isActive"] == true;
            assert_eq!(
                e["changedOperation"],
                if active { "create" } else { "remove" }
            );
            assert!(e["changedDate"].is_string());
            if active {
                set.insert(k);
            } else {
                set.remove(&k);
            }
        }
    };
    let truth_links = |c: &Client| -> BTreeSet<(String, u64, u64)> {
        arr(&c.sim().truth_kinds(&["work_item_links"])["work_item_links"])
            .iter()
            .map(|l| {
                (
                    l["rel"].as_str().unwrap().to_string(),
                    l["sourceId"].as_u64().unwrap(),
                    l["targetId"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let path = "/_apis/wit/reporting/workitemlinks";
    let s = stream(&c, path, "", None, CAP).await;
    let mut set = BTreeSet::new();
    fold(&s.values, &mut set);
    assert!(
        s.values.iter().any(|e| e["isActive"] == false),
        "some removals"
    );
    assert_eq!(set, truth_links(&c));
    assert!(set.iter().any(|l| l.0 == "System.LinkTypes.Hierarchy"));
    assert!(set.iter().any(|l| l.0 == "System.LinkTypes.Related"));
    // Only hierarchy links.
    let h = stream(
        &c,
        path,
        "linkTypes=System.LinkTypes.Hierarchy-Forward",
        None,
        CAP,
    )
    .await;
    assert!(
        h.values
            .iter()
            .all(|e| e["rel"] == "System.LinkTypes.Hierarchy")
    );
    // Per project: the links whose source is in the project.
    let mut per_project = 0;
    for name in project_names(&c) {
        per_project += stream(&c, &format!("/{name}{path}"), "", None, CAP)
            .await
            .values
            .len();
    }
    assert_eq!(per_project, s.values.len());
    // After mutations the stream continues with exactly the changes since.
    let a = c.sim().mutate_split(2, 0, 150);
    assert!(a["changed"]["work_item_links_changed"].as_u64().unwrap() > 0);
    let more = stream(&c, path, "", Some(&s.token), CAP).await;
    fold(&more.values, &mut set);
    assert_eq!(set, truth_links(&c));
}

#[tokio::test]
async fn wiql_rules() {
    let c = Client::start(SimConfig {
        wiql_max_results: 50,
        ..cfg(9)
    })
    .await;
    let name = project_names(&c)[0].clone();
    let truth = c.sim().truth_kinds(&["work_items"]);
    let live: Vec<&Value> = arr(&truth["work_items"])
        .iter()
        .filter(|w| w["isDeleted"] == false && w["fields"]["System.TeamProject"] == name.as_str())
        .collect();
    assert!(live.len() > 50);
    let path = format!("/{name}/_apis/wit/wiql");
    let q = |wiql: &str| json!({ "query": wiql }).to_string();

    // Over the limit: VS402337, not a truncated answer — even with $top.
    for extra in ["", "&%24top=10"] {
        let r = c
            .post(
                &format!("{path}?api-version=7.1{extra}"),
                &q("SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project"),
            )
            .await;
        assert_eq!(r.status, 400);
        let e = r.json();
        assert_eq!(
            e["message"],
            "VS402337: The number of work items returned exceeds the size limit of 50. Change the query to return fewer items."
        );
        assert_eq!(
            e["typeKey"],
            "WorkItemTrackingQueryResultSizeLimitExceededException"
        );
    }

    // Keyset paging with an id window finds every live item once.
    let max_id = arr(&truth["work_items"]).len() as u64;
    let mut found = Vec::new();
    let mut lo = 0;
    while lo < max_id {
        let body = q(&format!(
            "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND \
             [System.Id] > {lo} AND [System.Id] <= {} ORDER BY [System.Id]",
            lo + 40
        ));
        let res = c.post_json(&path, &body).await;
        assert_eq!(res["queryType"], "flat");
        assert_eq!(res["queryResultType"], "workItem");
        assert_eq!(res["columns"][0]["referenceName"], "System.Id");
        let ids: Vec<u64> = arr(&res["workItems"])
            .iter()
            .map(|w| w["id"].as_u64().unwrap())
            .collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        for w in arr(&res["workItems"]) {
            assert!(
                w["url"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("/{}", w["id"]))
            );
        }
        found.extend(ids);
        lo += 40;
    }
    let want: Vec<u64> = live.iter().map(|w| w["id"].as_u64().unwrap()).collect();
    assert_eq!(found, want, "deleted items are never returned");
    // $top truncates an answer under the limit.
    let res = c
        .post_json(
            &format!("{path}?%24top=5"),
            &q("SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.Id] <= 60 ORDER BY [System.Id]"),
        )
        .await;
    assert_eq!(arr(&res["workItems"]).len(), 5);

    // Date precision: a time needs timePrecision=true in the query string.
    let pivot_item = live[live.len() / 2];
    let pivot = pivot_item["fields"]["System.ChangedDate"].as_str().unwrap();
    let timed = q(&format!(
        "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND \
         [System.ChangedDate] >= '{pivot}' ORDER BY [System.ChangedDate]"
    ));
    let r = c.post(&format!("{path}?api-version=7.1"), &timed).await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["message"].as_str().unwrap().starts_with(
            "You cannot supply a time with the date when running a query using date precision."
        ),
        "{}",
        r.text()
    );
    let changed = |w: &Value| {
        chrono::DateTime::parse_from_rfc3339(w["fields"]["System.ChangedDate"].as_str().unwrap())
            .unwrap()
    };
    let p = chrono::DateTime::parse_from_rfc3339(pivot).unwrap();
    let res = c
        .post_json(&format!("{path}?timePrecision=true"), &timed)
        .await;
    let ids: Vec<u64> = arr(&res["workItems"])
        .iter()
        .map(|w| w["id"].as_u64().unwrap())
        .collect();
    let mut want: Vec<&&Value> = live.iter().filter(|w| changed(w) >= p).collect();
    want.sort_by_key(|w| (changed(w), w["id"].as_u64()));
    assert_eq!(
        ids,
        want.iter()
            .map(|w| w["id"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        "ordered by ChangedDate"
    );
    // A date alone compares whole days.
    let day = &pivot[..10];
    let res = c
        .post_json(
            &path,
            &q(&format!(
                "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.ChangedDate] >= '{day}'"
            )),
        )
        .await;
    let n = live
        .iter()
        .filter(|w| w["fields"]["System.ChangedDate"].as_str().unwrap()[..10] >= *day)
        .count();
    assert_eq!(arr(&res["workItems"]).len(), n);

    // The team segment is optional; unsupported syntax is a 400, not a wrong answer.
    let team = format!("{name}%20Team");
    let res = c
        .post_json(
            &format!("/{name}/{team}/_apis/wit/wiql"),
            &q("SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.Id] <= 30"),
        )
        .await;
    assert!(!arr(&res["workItems"]).is_empty());
    let r = c
        .post(
            &format!("{path}?api-version=7.1"),
            &q("SELECT [System.Id] FROM WorkItems WHERE [System.Id] > 1 OR [System.Id] < 5"),
        )
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn work_items_by_id_rules() {
    let c = Client::start(cfg(10)).await;
    let truth = c.sim().truth_kinds(&["work_items"]);
    let items = arr(&truth["work_items"]);
    let path = "/_apis/wit/workitemsbatch";
    let ids: Vec<u64> = (1..=201).collect();
    let r = c
        .post(
            &format!("{path}?api-version=7.1"),
            &json!({ "ids": ids }).to_string(),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "VS403474: You requested 201 work items which exceeds the limit of 200"
    );
    let list: Vec<String> = ids.iter().map(u64::to_string).collect();
    let r = c
        .get(&format!(
            "/_apis/wit/workitems?api-version=7.1&ids={}",
            list.join(",")
        ))
        .await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("VS403474"));

    let r = c
        .post(
            &format!("{path}?api-version=7.1"),
            &json!({"ids": [1, 2], "fields": ["System.Title"], "$expand": "relations"}).to_string(),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "The expand parameter can not be used with the fields parameter."
    );

    let deleted = *deleted_ids(&truth).iter().next().expect("a deleted item");
    let body = json!({"ids": [1, deleted, 999_999, 2]}).to_string();
    let r = c.post(&format!("{path}?api-version=7.1"), &body).await;
    assert_eq!(r.status, 404);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("TF401232")
    );
    let body = json!({"ids": [1, deleted, 999_999, 2], "errorPolicy": "omit"}).to_string();
    let res = c.post_json(path, &body).await;
    assert_eq!(res["count"], 4);
    let v = arr(&res["value"]);
    assert!(v[1].is_null() && v[2].is_null());
    assert_eq!(v[0]["id"], 1);
    assert_eq!(v[3]["id"], 2);

    // fields: only those, in canonical order; System.Id only when asked for.
    let body = json!({"ids": [3], "fields": ["System.Title", "System.Id", "System.WorkItemType"]});
    let r = c
        .post(&format!("{path}?api-version=7.1"), &body.to_string())
        .await;
    assert_eq!(r.json()["value"][0]["fields"].as_object().unwrap().len(), 3);
    let text = r.text();
    let at = |k: &str| text.find(&format!("\"{k}\"")).unwrap();
    assert!(at("System.Id") < at("System.WorkItemType"));
    assert!(at("System.WorkItemType") < at("System.Title"));
    let res = c.post_json(path, &json!({"ids": [3]}).to_string()).await;
    let f = &res["value"][0]["fields"];
    assert!(f.get("System.Id").is_none() && f.get("System.Rev").is_none());
    assert!(f["System.CreatedBy"]["displayName"].is_string());

    // $expand=relations: a child points at its parent.
    let child = items
        .iter()
        .find(|w| w["isDeleted"] == false && w["fields"].get("System.Parent").is_some())
        .unwrap();
    let id = child["id"].as_u64().unwrap();
    let parent = child["fields"]["System.Parent"].as_u64().unwrap();
    let res = c
        .post_json(
            path,
            &json!({"ids": [id], "$expand": "relations"}).to_string(),
        )
        .await;
    let rels = arr(&res["value"][0]["relations"]);
    assert!(rels.iter().any(|r| {
        r["rel"] == "System.LinkTypes.Hierarchy-Reverse"
            && r["url"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/workItems/{parent}"))
    }));

    // One item by id: same fields, plus _links.
    let one = c.get_json(&format!("/_apis/wit/workitems/{id}")).await;
    let batch = c.post_json(path, &json!({"ids": [id]}).to_string()).await;
    assert_eq!(one["fields"], batch["value"][0]["fields"]);
    assert!(one["_links"]["self"]["href"].is_string());
    let r = c
        .get(&format!("/_apis/wit/workitems/{deleted}?api-version=7.1"))
        .await;
    assert_eq!(r.status, 404);

    // asOf: the revision current at that time.
    let multi = items
        .iter()
        .find(|w| w["isDeleted"] == false && w["rev"].as_u64().unwrap() >= 3)
        .unwrap();
    let mid = multi["id"].as_u64().unwrap();
    let revs = c.sim().truth_kinds(&["work_item_revisions"]);
    let first = arr(&revs["work_item_revisions"])
        .iter()
        .find(|r| r["id"] == mid && r["rev"] == 1)
        .unwrap();
    let at = first["fields"]["System.ChangedDate"].as_str().unwrap();
    let res = c
        .get_json(&format!("/_apis/wit/workitems?ids={mid}&asOf={at}"))
        .await;
    assert_eq!(res["value"][0]["rev"], 1);
}

/// `{displayName, uniqueName, …}` → `"displayName <uniqueName>"`, as the reporting default.
fn stringify_identities(fields: &Value) -> Value {
    let mut out = fields.as_object().unwrap().clone();
    for v in out.values_mut() {
        if let Some(o) = v.as_object() {
            *v = Value::String(format!(
                "{} <{}>",
                o["displayName"].as_str().unwrap(),
                o["uniqueName"].as_str().unwrap()
            ));
        }
    }
    Value::Object(out)
}

#[tokio::test]
async fn truth_is_consistent_with_the_endpoints() {
    let c = Client::start(cfg(11)).await;
    c.sim().mutate_split(1, 0, 60);
    let truth = c.sim().truth_kinds(&["work_items", "work_item_revisions"]);
    let items = arr(&truth["work_items"]);
    // work_items == workitemsbatch of all ids (minus isDeleted; deleted ones come back null).
    for chunk in items.chunks(200) {
        let ids: Vec<u64> = chunk.iter().map(|w| w["id"].as_u64().unwrap()).collect();
        let res = c
            .post_json(
                "/_apis/wit/workitemsbatch",
                &json!({"ids": ids, "errorPolicy": "omit"}).to_string(),
            )
            .await;
        for (t, got) in chunk.iter().zip(arr(&res["value"])) {
            if t["isDeleted"] == true {
                assert!(got.is_null());
                continue;
            }
            let mut t = t.clone();
            t.as_object_mut().unwrap().remove("isDeleted");
            assert_eq!(&t, got);
        }
    }
    // The last revision of each item is its current field map (modulo identity form and the
    // bookkeeping fields).
    let mut last: BTreeMap<u64, &Value> = BTreeMap::new();
    for r in arr(&truth["work_item_revisions"]) {
        last.insert(r["id"].as_u64().unwrap(), r);
    }
    assert_eq!(last.len(), items.len());
    for w in items {
        let r = last[&w["id"].as_u64().unwrap()];
        assert_eq!(r["rev"], w["rev"]);
        let mut rf = r["fields"].as_object().unwrap().clone();
        assert_eq!(rf.remove("System.Id").unwrap(), w["id"]);
        assert_eq!(rf.remove("System.Rev").unwrap(), w["rev"]);
        assert!(rf.remove("System.Watermark").unwrap().is_u64());
        assert_eq!(Value::Object(rf), stringify_identities(&w["fields"]));
    }
}

#[tokio::test]
async fn teams_members_and_graph_users() {
    let mut config = cfg(12);
    config.pats.push(Pat {
        token: "work-only".into(),
        scopes: vec!["vso.work".into()],
    });
    let c = Client::start(config).await;
    let truth = c.sim().truth_kinds(&["teams", "team_members", "users"]);
    for name in project_names(&c) {
        let mut listed = Vec::new();
        for skip in 0.. {
            let page = c
                .get_json(&format!("/_apis/projects/{name}/teams?$top=1&$skip={skip}"))
                .await;
            let v = arr(&page["value"]).clone();
            if v.is_empty() {
                break;
            }
            assert_eq!(v.len(), 1);
            listed.extend(v);
        }
        let mut want: Vec<Value> = arr(&truth["teams"])
            .iter()
            .filter(|t| t["projectName"] == name.as_str())
            .cloned()
            .collect();
        want.sort_by_key(|t| t["name"].as_str().unwrap().to_lowercase());
        assert_eq!(listed, want);
        let default = listed
            .iter()
            .find(|t| t["name"] == format!("{name} Team").as_str())
            .expect("the default team");
        assert_eq!(default["description"], "The default project team.");
        for team in &listed {
            let id = team["id"].as_str().unwrap();
            let mut members = Vec::new();
            let mut skip = 0;
            loop {
                let page = c
                    .get_json(&format!(
                        "/_apis/projects/{name}/teams/{id}/members?$top=3&$skip={skip}"
                    ))
                    .await;
                let v = arr(&page["value"]).clone();
                let n = v.len();
                members.extend(v);
                if n < 3 {
                    break;
                }
                skip += n;
            }
            let want: Vec<Value> = arr(&truth["team_members"])
                .iter()
                .filter(|m| m["teamId"] == id)
                .map(|m| {
                    let mut m = m.clone();
                    let o = m.as_object_mut().unwrap();
                    o.remove("teamId");
                    o.remove("projectId");
                    m
                })
                .collect();
            assert!(!want.is_empty());
            assert_eq!(members, want);
            assert!(members.iter().any(|m| m["isTeamAdmin"] == true));
        }
    }
    // All teams: a preview API in 7.1.
    let r = c.get("/_apis/teams?api-version=7.1").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["typeKey"], "VssInvalidPreviewVersionException");
    let r = c.get("/_apis/teams?api-version=7.1-preview.3").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["count"], arr(&truth["teams"]).len());

    // Graph users: pages with X-MS-ContinuationToken until there is none.
    let mut users = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut url = "/_apis/graph/users?api-version=7.1-preview.1".to_string();
        if let Some(t) = &token {
            url.push_str(&format!("&continuationToken={t}"));
        }
        let r = c.get(&url).await;
        assert_eq!(r.status, 200, "{}", r.text());
        pages += 1;
        users.extend(arr(&r.json()["value"]).clone());
        match r.header("x-ms-continuationtoken") {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
        assert!(pages < 100);
    }
    assert_eq!(pages, 3);
    assert_eq!(&users, arr(&truth["users"]));
    let u = &users[0];
    assert_eq!(u["subjectKind"], "user");
    assert_eq!(u["origin"], "aad");
    assert_eq!(u["mailAddress"], u["principalName"]);
    assert!(u["descriptor"].as_str().unwrap().starts_with("aad."));
    let r = c.get("/_apis/graph/users?api-version=7.1").await;
    assert_eq!(r.status, 400);
    let r = c
        .get("/_apis/graph/users?api-version=7.1-preview.1&continuationToken=garbage!")
        .await;
    assert_eq!(r.status, 400);

    // Scopes: vso.work reads work items, not the graph or teams.
    let mut w = Client {
        running: c.running,
        token: "work-only".into(),
        api_version: c.api_version,
    };
    let r = w.get("/_apis/graph/users?api-version=7.1-preview.1").await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("vso.graph"));
    let name = project_names(&w)[0].clone();
    assert_eq!(
        w.get(&format!("/_apis/projects/{name}/teams?api-version=7.1"))
            .await
            .status,
        403
    );
    assert_eq!(
        w.get(&format!(
            "/{name}/_apis/wit/reporting/workitemrevisions?api-version=7.1"
        ))
        .await
        .status,
        200
    );
    w.token = "demo-pat".into();
}

#[tokio::test]
async fn server_mode_and_refused_reporting() {
    let c = Client::start(SimConfig {
        server: Some(ado_sim::ServerMode::under_tfs(
            ado_sim::ServerRelease::Server2022,
        )),
        refuse_reporting: true,
        ..cfg(13)
    })
    .await;
    let r = c.get("/_apis/graph/users?api-version=7.1-preview.1").await;
    assert_eq!(r.status, 404);
    assert_eq!(
        c.get_json("/_apis/connectionData").await["deploymentType"],
        "onPremises"
    );
    let name = project_names(&c)[0].clone();
    let path = revisions_path(&name);
    assert_eq!(c.get(&format!("{path}?api-version=7.1")).await.status, 404);
    assert_eq!(
        c.post(&format!("{path}?api-version=7.1"), "{}")
            .await
            .status,
        404
    );
    assert_eq!(
        c.get(&format!(
            "/{name}/_apis/wit/reporting/workitemlinks?api-version=7.1"
        ))
        .await
        .status,
        404
    );
    // The fallback path works: WIQL and workitemsbatch.
    let res = c
        .post_json(
            &format!("/{name}/_apis/wit/wiql"),
            &json!({"query": "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project"}).to_string(),
        )
        .await;
    assert!(!arr(&res["workItems"]).is_empty());
    // And it can be switched back on while serving.
    c.sim().set_refuse_reporting(false);
    assert_eq!(c.get(&format!("{path}?api-version=7.0")).await.status, 200);
    let stats = c.sim().stats();
    assert_eq!(stats["by_endpoint"]["reporting_workitemrevisions"], 1);
    assert!(stats["by_endpoint"]["unknown"].as_u64().unwrap() >= 4);
}

#[tokio::test]
async fn classification_nodes_and_process() {
    let c = Client::start(cfg(14)).await;
    let name = project_names(&c)[0].clone();
    let base = format!("/{name}/_apis/wit/classificationnodes");
    let roots = c.get_json(&format!("{base}?$depth=1")).await;
    assert_eq!(roots["count"], 2);
    let kinds: Vec<&str> = arr(&roots["value"])
        .iter()
        .map(|n| n["structureType"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["area", "iteration"]);
    let areas = c.get_json(&format!("{base}/Areas")).await;
    assert_eq!(areas["name"], name.as_str());
    assert_eq!(areas["hasChildren"], true);
    assert!(areas.get("children").is_none(), "$depth defaults to 0");
    assert_eq!(areas["path"], format!("\\{name}\\Area").as_str());
    let areas = c.get_json(&format!("{base}/Areas?$depth=2")).await;
    let team_area = &arr(&areas["children"])[0];
    assert!(
        team_area["path"]
            .as_str()
            .unwrap()
            .starts_with(&format!("\\{name}\\Area\\"))
    );

    let its = c.get_json(&format!("{base}/Iterations?$depth=2")).await;
    let release = &arr(&its["children"])[0];
    assert_eq!(release["name"], "Release 1");
    let sprint = &arr(&release["children"])[0];
    assert_eq!(sprint["name"], "Sprint 1");
    let start =
        chrono::DateTime::parse_from_rfc3339(sprint["attributes"]["startDate"].as_str().unwrap())
            .unwrap();
    let finish =
        chrono::DateTime::parse_from_rfc3339(sprint["attributes"]["finishDate"].as_str().unwrap())
            .unwrap();
    assert_eq!((finish - start).num_days(), 11);
    let by_path = c
        .get_json(&format!("{base}/Iterations/Release%201/Sprint%201"))
        .await;
    assert_eq!(by_path["id"], sprint["id"]);
    assert!(
        by_path["url"]
            .as_str()
            .unwrap()
            .ends_with("/Iterations/Release%201/Sprint%201")
    );
    let r = c
        .get(&format!("{base}/Iterations/Nope?api-version=7.1"))
        .await;
    assert_eq!(r.status, 404);

    // The truth holds every node of every project, flat.
    let truth = c
        .sim()
        .truth_kinds(&["iterations", "areas", "work_item_types", "fields"]);
    fn count(n: &Value) -> usize {
        1 + n["children"]
            .as_array()
            .map_or(0, |c| c.iter().map(count).sum())
    }
    let full = c.get_json(&format!("{base}/Iterations?$depth=10")).await;
    let here = arr(&truth["iterations"])
        .iter()
        .filter(|n| {
            n["path"]
                .as_str()
                .unwrap()
                .starts_with(&format!("\\{name}\\"))
        })
        .count();
    assert_eq!(count(&full), here);
    assert!(
        arr(&truth["areas"])
            .iter()
            .all(|n| n.get("children").is_none())
    );

    // Types, states, categories, fields.
    let types = c
        .get_json(&format!("/{name}/_apis/wit/workitemtypes"))
        .await;
    let names: Vec<&str> = arr(&types["value"])
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Epic", "Feature", "User Story", "Task", "Bug"]);
    assert_eq!(arr(&truth["work_item_types"]).len(), 10);
    let states = c
        .get_json(&format!("/{name}/_apis/wit/workitemtypes/Task/states"))
        .await;
    let s: Vec<(&str, &str)> = arr(&states["value"])
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["category"].as_str().unwrap()))
        .collect();
    assert_eq!(
        s,
        [
            ("New", "Proposed"),
            ("Active", "InProgress"),
            ("Closed", "Completed"),
            ("Removed", "Removed")
        ]
    );
    let bug = c
        .get_json(&format!("/{name}/_apis/wit/workitemtypes/bug"))
        .await;
    assert_eq!(bug["referenceName"], "Microsoft.VSTS.WorkItemTypes.Bug");
    assert!(arr(&bug["states"]).iter().any(|s| s["name"] == "Resolved"));
    let cats = c
        .get_json(&format!("/{name}/_apis/wit/workitemtypecategories"))
        .await;
    let req = arr(&cats["value"])
        .iter()
        .find(|c| c["referenceName"] == "Microsoft.RequirementCategory")
        .unwrap();
    assert_eq!(req["defaultWorkItemType"]["name"], "User Story");
    let org_fields = c.get_json("/_apis/wit/fields").await;
    let project_fields = c.get_json(&format!("/{name}/_apis/wit/fields")).await;
    assert_eq!(org_fields, project_fields);
    assert_eq!(&org_fields["value"], &truth["fields"]);
    let refs: Vec<&str> = arr(&org_fields["value"])
        .iter()
        .map(|f| f["referenceName"].as_str().unwrap())
        .collect();
    for f in [
        "System.Watermark",
        "System.AssignedTo",
        "Custom.Team",
        "System.Tags",
    ] {
        assert!(refs.contains(&f), "{f}");
    }
    let assigned = c.get_json("/_apis/wit/fields/System.AssignedTo").await;
    assert_eq!(assigned["isIdentity"], true);
    // A new field created by a mutation shows up.
    for seed in 0..200 {
        if c.sim().mutate_split(seed, 0, 10)["changed"]["fields_created"] != 0 {
            break;
        }
    }
    let more = c.get_json("/_apis/wit/fields").await;
    assert_eq!(
        more["count"].as_u64().unwrap(),
        org_fields["count"].as_u64().unwrap() + 1
    );
}

#[tokio::test]
async fn comments_follow_the_comment_count() {
    let c = Client::start(cfg(15)).await;
    let truth = c.sim().truth_kinds(&["work_items"]);
    let item = arr(&truth["work_items"])
        .iter()
        .filter(|w| w["isDeleted"] == false)
        .max_by_key(|w| w["fields"]["System.CommentCount"].as_u64().unwrap())
        .unwrap();
    let n = item["fields"]["System.CommentCount"].as_u64().unwrap();
    assert!(n >= 2);
    let id = item["id"].as_u64().unwrap();
    let project = item["fields"]["System.TeamProject"].as_str().unwrap();
    let path = format!("/{project}/_apis/wit/workItems/{id}/comments");
    let r = c.get(&format!("{path}?api-version=7.1")).await;
    assert_eq!(r.status, 400, "comments are a preview API");
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut url = format!("{path}?api-version=7.1-preview.4&%24top=1");
        if let Some(t) = &token {
            url.push_str(&format!("&continuationToken={t}"));
        }
        let r: Resp = c.get(&url).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let page = r.json();
        assert_eq!(page["totalCount"], n);
        assert_eq!(page["count"], 1);
        all.extend(arr(&page["comments"]).clone());
        match page["continuationToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!(all.len() as u64, n);
    let ids: Vec<u64> = all.iter().map(|c| c["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, (1..=n).rev().collect::<Vec<_>>(), "newest first");
    assert!(
        all.iter()
            .all(|x| x["workItemId"] == id && x["text"].is_string())
    );
}

#[tokio::test]
async fn stats_label_the_boards_endpoints() {
    let c = Client::start(cfg(16)).await;
    let name = project_names(&c)[0].clone();
    c.get_json(&revisions_path(&name)).await;
    c.post_json(&revisions_path(&name), "{}").await;
    c.post_json(
        &format!("/{name}/_apis/wit/wiql"),
        &json!({"query": "SELECT [System.Id] FROM WorkItems WHERE [System.Id] <= 3"}).to_string(),
    )
    .await;
    c.post_json("/_apis/wit/workitemsbatch", r#"{"ids":[1]}"#)
        .await;
    c.get_json(&format!("/_apis/projects/{name}/teams")).await;
    c.get_json(&format!("/{name}/_apis/wit/classificationnodes/Iterations"))
        .await;
    let s = c.sim().stats();
    let e = &s["by_endpoint"];
    assert_eq!(e["reporting_workitemrevisions"], 2);
    assert_eq!(e["wiql"], 1);
    assert_eq!(e["workitemsbatch"], 1);
    assert_eq!(e["teams"], 1);
    assert_eq!(e["classification_nodes"], 1);
}

#[tokio::test]
async fn fifty_thousand_items_generate() {
    let t = std::time::Instant::now();
    let c = Client::start(SimConfig {
        seed: 21,
        projects: 10,
        repos_per_project: 1,
        prs_per_repo: 10,
        work_items_per_project: 5000,
        ..SimConfig::default()
    })
    .await;
    let built = t.elapsed();
    let n = c.sim().counts();
    assert_eq!(n["work_items"], 50_000);
    assert!(n["work_item_revisions"].as_u64().unwrap() >= 250_000, "{n}");
    assert!(built < std::time::Duration::from_secs(30), "{built:?}");
    // WIQL's real limit: the whole org is over 20,000; an id window under it is fine.
    let r = c
        .post(
            "/_apis/wit/wiql?api-version=7.1",
            &json!({"query": "SELECT [System.Id] FROM WorkItems"}).to_string(),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("size limit of 20000"));
    let res = c
        .post_json(
            "/_apis/wit/wiql",
            &json!({"query": "SELECT [System.Id] FROM WorkItems WHERE [System.Id] <= 20000"})
                .to_string(),
        )
        .await;
    let got = arr(&res["workItems"]).len();
    assert!(got <= 20_000 && got > 19_000, "{got}");
    // A reporting page is the cap, wherever the stream starts.
    let page = c
        .get_json("/_apis/wit/reporting/workitemrevisions?continuationToken=200000;0;0")
        .await;
    assert_eq!(arr(&page["values"]).len(), 200);
    assert_eq!(page["isLastBatch"], false);
}
