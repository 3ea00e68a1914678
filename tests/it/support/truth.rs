//! The ground-truth comparison: the simulator's `/_sim/truth` against the database, entity by
//! entity and field by field. Expected values are read straight from the truth JSON (not
//! through the crate's own mapping), so a mapping bug shows up as a difference.

use ado_ingest::store::{AnyStore, Store};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Differences found, one line each.
#[derive(Debug, Default)]
pub struct Diff {
    pub lines: Vec<String>,
    pub compared: BTreeMap<&'static str, usize>,
}

impl Diff {
    fn push(&mut self, line: String) {
        self.lines.push(line);
    }

    /// Panics with the first differences when there are any.
    pub fn assert_empty(&self, context: &str) {
        if !self.lines.is_empty() {
            let shown: Vec<_> = self.lines.iter().take(25).cloned().collect();
            panic!(
                "{context}: the database differs from the ground truth in {} places (compared {:?}):\n  {}",
                self.lines.len(),
                self.compared,
                shown.join("\n  ")
            );
        }
    }
}

fn s(v: &Value, ptr: &str) -> Option<String> {
    v.pointer(ptr).and_then(Value::as_str).map(str::to_string)
}

fn t(v: &Value, ptr: &str) -> Option<DateTime<Utc>> {
    s(v, ptr).map(|x| {
        DateTime::parse_from_rfc3339(&x)
            .unwrap_or_else(|e| panic!("truth {ptr} `{x}` is not RFC 3339: {e}"))
            .with_timezone(&Utc)
    })
}

/// Timestamps are kept at microsecond precision (ADO sends 7 digits).
fn same_time(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).num_microseconds().is_some_and(|d| d.abs() < 1),
        (None, None) => true,
        _ => false,
    }
}

macro_rules! field {
    ($diff:expr, $kind:expr, $id:expr, $name:expr, $db:expr, $truth:expr) => {
        if $db != $truth {
            $diff.push(format!(
                "{} {}: {}: db={:?} truth={:?}",
                $kind, $id, $name, $db, $truth
            ));
        }
    };
}

/// Compares every entity kind the Repos connector owns.
pub async fn compare(store: &AnyStore, org: &str, truth: &Value) -> Diff {
    let mut diff = Diff::default();
    compare_projects(store, org, truth, &mut diff).await;
    let live_repos = compare_repositories(store, org, truth, &mut diff).await;
    compare_pull_requests(store, org, truth, &live_repos, &mut diff).await;
    diff
}

async fn compare_projects(store: &AnyStore, org: &str, truth: &Value, diff: &mut Diff) {
    let expected = truth["projects"].as_array().expect("truth.projects");
    let db: BTreeMap<String, _> = store
        .projects(org)
        .await
        .expect("read projects")
        .into_iter()
        .filter(|p| p.deleted_at.is_none())
        .map(|p| (p.row.id.clone(), p))
        .collect();
    diff.compared.insert("projects", expected.len());
    let mut seen = BTreeSet::new();
    for p in expected {
        let id = s(p, "/id").expect("project id");
        seen.insert(id.clone());
        let Some(row) = db.get(&id) else {
            diff.push(format!("project {id}: missing from the database"));
            continue;
        };
        let r = &row.row;
        field!(
            diff,
            "project",
            id,
            "name",
            Some(r.name.clone()),
            s(p, "/name")
        );
        field!(
            diff,
            "project",
            id,
            "state",
            r.state.clone(),
            s(p, "/state")
        );
        field!(
            diff,
            "project",
            id,
            "visibility",
            r.visibility.clone(),
            s(p, "/visibility")
        );
        if !same_time(r.last_update_time, t(p, "/lastUpdateTime")) {
            diff.push(format!(
                "project {id}: last_update_time: db={:?} truth={:?}",
                r.last_update_time,
                s(p, "/lastUpdateTime")
            ));
        }
        let raw: Value = serde_json::from_str(&r.raw).expect("raw is JSON");
        field!(diff, "project", id, "raw", &raw, p);
    }
    for id in db.keys().filter(|id| !seen.contains(*id)) {
        diff.push(format!(
            "project {id}: in the database but not in the truth (deleted_at not set)"
        ));
    }
}

/// Returns the ids of live repositories.
async fn compare_repositories(
    store: &AnyStore,
    org: &str,
    truth: &Value,
    diff: &mut Diff,
) -> BTreeSet<String> {
    let expected = truth["repositories"]
        .as_array()
        .expect("truth.repositories");
    let db: BTreeMap<String, _> = store
        .repositories(org)
        .await
        .expect("read repositories")
        .into_iter()
        .map(|r| (r.row.id.clone(), r))
        .collect();
    diff.compared.insert("repositories", expected.len());
    let mut live = BTreeSet::new();
    for e in expected {
        let id = s(e, "/id").expect("repo id");
        live.insert(id.clone());
        let Some(stored) = db.get(&id) else {
            diff.push(format!("repository {id}: missing from the database"));
            continue;
        };
        if stored.deleted_at.is_some() {
            diff.push(format!("repository {id}: marked deleted but still in ADO"));
        }
        let r = &stored.row;
        field!(
            diff,
            "repository",
            id,
            "name",
            Some(r.name.clone()),
            s(e, "/name")
        );
        field!(
            diff,
            "repository",
            id,
            "project_id",
            Some(r.project_id.clone()),
            s(e, "/project/id")
        );
        field!(
            diff,
            "repository",
            id,
            "default_branch",
            r.default_branch.clone(),
            s(e, "/defaultBranch")
        );
        field!(
            diff,
            "repository",
            id,
            "size",
            r.size,
            e.pointer("/size").and_then(Value::as_i64)
        );
        field!(
            diff,
            "repository",
            id,
            "is_disabled",
            r.is_disabled,
            e.pointer("/isDisabled")
                .and_then(Value::as_bool)
                .unwrap_or(false)
        );
        let raw: Value = serde_json::from_str(&r.raw).expect("raw is JSON");
        field!(diff, "repository", id, "raw", &raw, e);
    }
    for (id, r) in &db {
        if !live.contains(id) && r.deleted_at.is_none() {
            diff.push(format!(
                "repository {id}: deleted in ADO but deleted_at is not set"
            ));
        }
    }
    live
}

async fn compare_pull_requests(
    store: &AnyStore,
    org: &str,
    truth: &Value,
    live_repos: &BTreeSet<String>,
    diff: &mut Diff,
) {
    let expected = truth["pull_requests"]
        .as_array()
        .expect("truth.pull_requests");
    // PRs of deleted repositories are gone from ADO; the database keeps them (with the
    // repository's deleted_at), so only PRs of live repositories are compared.
    let db: BTreeMap<i64, _> = store
        .pull_requests(org)
        .await
        .expect("read pull requests")
        .into_iter()
        .filter(|p| live_repos.contains(&p.repository_id))
        .map(|p| (p.id, p))
        .collect();
    let users: BTreeMap<String, _> = store
        .users(org)
        .await
        .expect("read users")
        .into_iter()
        .map(|u| (u.id.clone(), u))
        .collect();
    diff.compared.insert("pull_requests", expected.len());
    let mut seen = BTreeSet::new();
    for e in expected {
        let id = e["pullRequestId"].as_i64().expect("pullRequestId");
        seen.insert(id);
        let Some(r) = db.get(&id) else {
            diff.push(format!("pull_request {id}: missing from the database"));
            continue;
        };
        field!(
            diff,
            "pull_request",
            id,
            "repository_id",
            Some(r.repository_id.clone()),
            s(e, "/repository/id")
        );
        field!(
            diff,
            "pull_request",
            id,
            "project_id",
            Some(r.project_id.clone()),
            s(e, "/repository/project/id")
        );
        field!(
            diff,
            "pull_request",
            id,
            "title",
            Some(r.title.clone()),
            s(e, "/title")
        );
        field!(
            diff,
            "pull_request",
            id,
            "status",
            Some(r.status.clone()),
            s(e, "/status")
        );
        field!(
            diff,
            "pull_request",
            id,
            "is_draft",
            r.is_draft,
            e["isDraft"].as_bool().unwrap_or(false)
        );
        field!(
            diff,
            "pull_request",
            id,
            "created_by_id",
            r.created_by_id.clone(),
            s(e, "/createdBy/id")
        );
        if !same_time(Some(r.creation_date), t(e, "/creationDate")) {
            diff.push(format!(
                "pull_request {id}: creation_date: db={} truth={:?}",
                r.creation_date,
                s(e, "/creationDate")
            ));
        }
        if !same_time(r.closed_date, t(e, "/closedDate")) {
            diff.push(format!(
                "pull_request {id}: closed_date: db={:?} truth={:?}",
                r.closed_date,
                s(e, "/closedDate")
            ));
        }
        field!(
            diff,
            "pull_request",
            id,
            "source_ref",
            Some(r.source_ref.clone()),
            s(e, "/sourceRefName")
        );
        field!(
            diff,
            "pull_request",
            id,
            "target_ref",
            Some(r.target_ref.clone()),
            s(e, "/targetRefName")
        );
        field!(
            diff,
            "pull_request",
            id,
            "merge_status",
            r.merge_status.clone(),
            s(e, "/mergeStatus")
        );
        field!(
            diff,
            "pull_request",
            id,
            "last_merge_source_commit",
            r.last_merge_source_commit.clone(),
            s(e, "/lastMergeSourceCommit/commitId")
        );
        field!(
            diff,
            "pull_request",
            id,
            "last_merge_commit",
            r.last_merge_commit.clone(),
            s(e, "/lastMergeCommit/commitId")
        );
        let raw: Value = serde_json::from_str(&r.raw).expect("raw is JSON");
        field!(diff, "pull_request", id, "raw", &raw, e);
        let mut want: Vec<(String, i32, bool, bool)> = e["reviewers"]
            .as_array()
            .map(|rs| {
                rs.iter()
                    .map(|rv| {
                        (
                            s(rv, "/id").expect("reviewer id"),
                            rv["vote"].as_i64().unwrap_or(0) as i32,
                            rv["isRequired"].as_bool().unwrap_or(false),
                            rv["hasDeclined"].as_bool().unwrap_or(false),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        want.sort();
        let got: Vec<(String, i32, bool, bool)> = r
            .reviewers
            .iter()
            .map(|x| (x.reviewer_id.clone(), x.vote, x.is_required, x.has_declined))
            .collect();
        field!(diff, "pull_request", id, "reviewers", got, want);
        check_user(diff, &users, e.pointer("/createdBy"));
        for rv in e["reviewers"].as_array().into_iter().flatten() {
            check_user(diff, &users, Some(rv));
        }
    }
    for id in db.keys().filter(|id| !seen.contains(*id)) {
        diff.push(format!(
            "pull_request {id}: in the database but not in the truth"
        ));
    }
}

fn check_user(
    diff: &mut Diff,
    users: &BTreeMap<String, ado_ingest::store::UserRow>,
    identity: Option<&Value>,
) {
    let Some(i) = identity else { return };
    let Some(id) = s(i, "/id") else { return };
    match users.get(&id) {
        None => diff.push(format!("user {id}: missing from the database")),
        Some(u) => {
            field!(
                diff,
                "user",
                id,
                "display_name",
                u.display_name.clone(),
                s(i, "/displayName")
            );
            field!(
                diff,
                "user",
                id,
                "unique_name",
                u.unique_name.clone(),
                s(i, "/uniqueName")
            );
        }
    }
}

/// Compares the Boards entities: work items (current state and deletion), every revision,
/// links, teams and members, iterations, areas, work item types and fields.
pub async fn compare_boards(store: &AnyStore, org: &str, truth: &Value) -> Diff {
    let mut diff = Diff::default();
    compare_work_items(store, org, truth, &mut diff).await;
    compare_revisions(store, org, truth, &mut diff).await;
    compare_links(store, org, truth, &mut diff).await;
    compare_planning(store, org, truth, &mut diff).await;
    diff
}

fn unique_name(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Object(o) => o
            .get("uniqueName")
            .and_then(Value::as_str)
            .map(str::to_string),
        Value::String(s) => Some(
            s.rsplit_once('<')
                .map(|(_, e)| e.trim_end_matches('>').to_string())
                .unwrap_or_else(|| s.clone()),
        ),
        _ => None,
    }
}

async fn compare_work_items(store: &AnyStore, org: &str, truth: &Value, diff: &mut Diff) {
    let expected = truth["work_items"].as_array().expect("truth.work_items");
    let db: BTreeMap<i64, _> = store
        .work_items(org)
        .await
        .expect("read work items")
        .into_iter()
        .map(|w| (w.row.id, w))
        .collect();
    diff.compared.insert("work_items", expected.len());
    let mut seen = BTreeSet::new();
    for e in expected {
        let id = e["id"].as_i64().expect("work item id");
        seen.insert(id);
        let Some(stored) = db.get(&id) else {
            diff.push(format!("work_item {id}: missing from the database"));
            continue;
        };
        let r = &stored.row;
        let f = &e["fields"];
        field!(
            diff,
            "work_item",
            id,
            "rev",
            r.rev,
            e["rev"].as_i64().unwrap_or(-1)
        );
        let deleted = e["isDeleted"].as_bool().unwrap_or(false);
        field!(
            diff,
            "work_item",
            id,
            "deleted",
            stored.deleted_at.is_some(),
            deleted
        );
        field!(
            diff,
            "work_item",
            id,
            "type",
            r.work_item_type.clone(),
            s(f, "/System.WorkItemType")
        );
        field!(
            diff,
            "work_item",
            id,
            "title",
            r.title.clone(),
            s(f, "/System.Title")
        );
        field!(
            diff,
            "work_item",
            id,
            "state",
            r.state.clone(),
            s(f, "/System.State")
        );
        field!(
            diff,
            "work_item",
            id,
            "reason",
            r.reason.clone(),
            s(f, "/System.Reason")
        );
        field!(
            diff,
            "work_item",
            id,
            "area_path",
            r.area_path.clone(),
            s(f, "/System.AreaPath")
        );
        field!(
            diff,
            "work_item",
            id,
            "iteration_path",
            r.iteration_path.clone(),
            s(f, "/System.IterationPath")
        );
        field!(
            diff,
            "work_item",
            id,
            "tags",
            r.tags.clone(),
            s(f, "/System.Tags")
        );
        field!(
            diff,
            "work_item",
            id,
            "priority",
            r.priority,
            f.get("Microsoft.VSTS.Common.Priority")
                .and_then(Value::as_i64)
        );
        field!(
            diff,
            "work_item",
            id,
            "parent_id",
            r.parent_id,
            f.get("System.Parent").and_then(Value::as_i64)
        );
        field!(
            diff,
            "work_item",
            id,
            "assigned_to",
            r.assigned_to.clone(),
            unique_name(f.get("System.AssignedTo"))
        );
        field!(
            diff,
            "work_item",
            id,
            "created_by",
            r.created_by.clone(),
            unique_name(f.get("System.CreatedBy"))
        );
        if !same_time(r.changed_date, t(f, "/System.ChangedDate")) {
            diff.push(format!(
                "work_item {id}: changed_date: db={:?} truth={:?}",
                r.changed_date,
                s(f, "/System.ChangedDate")
            ));
        }
        for (col, name, key) in [
            (
                r.closed_date,
                "closed_date",
                "/Microsoft.VSTS.Common.ClosedDate",
            ),
            (
                r.activated_date,
                "activated_date",
                "/Microsoft.VSTS.Common.ActivatedDate",
            ),
            (
                r.resolved_date,
                "resolved_date",
                "/Microsoft.VSTS.Common.ResolvedDate",
            ),
        ] {
            if !same_time(col, t(f, key)) {
                diff.push(format!(
                    "work_item {id}: {name}: db={col:?} truth={:?}",
                    s(f, key)
                ));
            }
        }
    }
    for id in db.keys().filter(|id| !seen.contains(*id)) {
        diff.push(format!(
            "work_item {id}: in the database but not in the truth"
        ));
    }
}

async fn compare_revisions(store: &AnyStore, org: &str, truth: &Value, diff: &mut Diff) {
    let expected = truth["work_item_revisions"]
        .as_array()
        .expect("truth.work_item_revisions");
    let db: BTreeMap<(i64, i64), _> = store
        .work_item_revisions(org)
        .await
        .expect("read revisions")
        .into_iter()
        .map(|r| ((r.id, r.rev), r))
        .collect();
    diff.compared.insert("work_item_revisions", expected.len());
    let mut seen = BTreeSet::new();
    for e in expected {
        let key = (
            e["id"].as_i64().expect("id"),
            e["rev"].as_i64().expect("rev"),
        );
        seen.insert(key);
        let Some(r) = db.get(&key) else {
            diff.push(format!("revision {key:?}: missing from the database"));
            continue;
        };
        let f = &e["fields"];
        field!(
            diff,
            "revision",
            format!("{key:?}"),
            "state",
            r.state.clone(),
            s(f, "/System.State")
        );
        field!(
            diff,
            "revision",
            format!("{key:?}"),
            "iteration_path",
            r.iteration_path.clone(),
            s(f, "/System.IterationPath")
        );
        field!(
            diff,
            "revision",
            format!("{key:?}"),
            "changed_by",
            r.changed_by.clone(),
            unique_name(f.get("System.ChangedBy"))
        );
        if !same_time(r.changed_date, t(f, "/System.ChangedDate")) {
            diff.push(format!(
                "revision {key:?}: changed_date: db={:?} truth={:?}",
                r.changed_date,
                s(f, "/System.ChangedDate")
            ));
        }
        let fields: Value = serde_json::from_str(&r.fields).expect("revision fields are JSON");
        field!(diff, "revision", format!("{key:?}"), "fields", &fields, f);
    }
    for key in db.keys().filter(|k| !seen.contains(*k)) {
        // A deleted item's revisions stay in the database; the truth lists every revision too.
        diff.push(format!(
            "revision {key:?}: in the database but not in the truth"
        ));
    }
}

async fn compare_links(store: &AnyStore, org: &str, truth: &Value, diff: &mut Diff) {
    let expected: BTreeSet<(String, i64, i64)> = truth["work_item_links"]
        .as_array()
        .expect("truth.work_item_links")
        .iter()
        .map(|l| {
            (
                s(l, "/rel").expect("rel"),
                l["sourceId"].as_i64().expect("sourceId"),
                l["targetId"].as_i64().expect("targetId"),
            )
        })
        .collect();
    let db: BTreeSet<(String, i64, i64)> = store
        .work_item_links(org)
        .await
        .expect("read links")
        .into_iter()
        .filter(|l| l.is_active)
        .map(|l| (l.rel, l.source_id, l.target_id))
        .collect();
    diff.compared.insert("work_item_links", expected.len());
    for l in expected.difference(&db) {
        diff.push(format!("link {l:?}: missing from the database"));
    }
    for l in db.difference(&expected) {
        diff.push(format!(
            "link {l:?}: active in the database but not in the truth"
        ));
    }
}

async fn compare_planning(store: &AnyStore, org: &str, truth: &Value, diff: &mut Diff) {
    let ids = |kind: &str, key: &str| -> BTreeSet<String> {
        truth[kind]
            .as_array()
            .unwrap_or_else(|| panic!("truth.{kind}"))
            .iter()
            .map(|v| match &v[key] {
                Value::String(x) => x.clone(),
                other => other.to_string(),
            })
            .collect()
    };
    let mut set_diff = |what: &str, want: BTreeSet<String>, got: BTreeSet<String>| {
        diff.compared.insert(
            match what {
                "teams" => "teams",
                "iterations" => "iterations",
                "areas" => "areas",
                "work_item_types" => "work_item_types",
                _ => "fields",
            },
            want.len(),
        );
        for x in want.difference(&got) {
            diff.push(format!("{what} {x}: missing from the database"));
        }
        for x in got.difference(&want) {
            diff.push(format!(
                "{what} {x}: live in the database but not in the truth"
            ));
        }
    };
    let teams = store.teams(org).await.expect("teams");
    set_diff(
        "teams",
        ids("teams", "id"),
        teams
            .iter()
            .filter(|t| t.deleted_at.is_none())
            .map(|t| t.row.id.clone())
            .collect(),
    );
    let iterations = store.iterations(org).await.expect("iterations");
    set_diff(
        "iterations",
        ids("iterations", "id"),
        iterations
            .iter()
            .filter(|n| n.deleted_at.is_none())
            .map(|n| n.row.id.to_string())
            .collect(),
    );
    let areas = store.areas(org).await.expect("areas");
    set_diff(
        "areas",
        ids("areas", "id"),
        areas
            .iter()
            .filter(|n| n.deleted_at.is_none())
            .map(|n| n.row.id.to_string())
            .collect(),
    );
    let want_types: BTreeSet<String> = truth["work_item_types"]
        .as_array()
        .expect("truth.work_item_types")
        .iter()
        .map(|t| {
            format!(
                "{}/{}",
                s(t, "/projectId").unwrap_or_default(),
                s(t, "/name").unwrap_or_default()
            )
        })
        .collect();
    let types = store.work_item_types(org).await.expect("types");
    set_diff(
        "work_item_types",
        want_types,
        types
            .iter()
            .map(|t| format!("{}/{}", t.project_id, t.row.name))
            .collect(),
    );
    let fields = store.work_item_fields(org).await.expect("fields");
    set_diff(
        "fields",
        ids("fields", "referenceName"),
        fields.iter().map(|f| f.reference_name.clone()).collect(),
    );
    let members = store.team_members(org).await.expect("members");
    let want: BTreeSet<String> = truth["team_members"]
        .as_array()
        .expect("truth.team_members")
        .iter()
        .map(|m| {
            format!(
                "{}/{}",
                s(m, "/teamId").unwrap_or_default(),
                s(m, "/identity/id").unwrap_or_default()
            )
        })
        .collect();
    let got: BTreeSet<String> = members
        .iter()
        .flat_map(|t| {
            t.members
                .iter()
                .map(move |m| format!("{}/{}", t.team_id, m.user_id))
        })
        .collect();
    for x in want.difference(&got) {
        diff.push(format!("team member {x}: missing from the database"));
    }
    for x in got.difference(&want) {
        diff.push(format!(
            "team member {x}: in the database but not in the truth"
        ));
    }
}
