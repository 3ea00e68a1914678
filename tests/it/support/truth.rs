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
