//! The ground-truth comparison: the simulator's `/_sim/truth` against the database, table by
//! table and field by field. Expected values are read straight from the truth JSON (not
//! through the crate's own mapping), so a mapping bug shows up as a difference.
//!
//! Every table is compared the same way ([`compare_table`]): rows matched by key, each field
//! a pair of (database value, truth value) extractors, rows missing on either side reported;
//! where the table tracks deletions, a row ADO no longer has must carry `deleted_at` and a
//! row ADO has must not.

mod pipelines;
pub use pipelines::{compare_pipelines, compare_releases};

use ado_ingest::store::read::{Readable, StoreRead};
use ado_ingest::store::{
    AnyStore, AreaRow, IterationRow, NodeRow, ProjectRow, PullRequestRow, RepositoryRow,
    ReviewerRow, TeamMemberRow, TeamRow, UserProfile, UserRow, WorkItemFieldRow, WorkItemLinkRow,
    WorkItemRevisionRow, WorkItemRow, WorkItemTypeRow, WorkItemTypeStateRow,
};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
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

/// A string at `ptr`, as JSON (null when absent).
fn s(v: &Value, ptr: &str) -> Value {
    v.pointer(ptr)
        .and_then(Value::as_str)
        .map_or(Value::Null, |x| Value::String(x.to_string()))
}

/// Any value at `ptr` (null when absent).
fn at(v: &Value, ptr: &str) -> Value {
    v.pointer(ptr).cloned().unwrap_or(Value::Null)
}

fn flag(v: &Value, ptr: &str) -> Value {
    Value::Bool(v.pointer(ptr).and_then(Value::as_bool).unwrap_or(false))
}

/// A timestamp at microsecond precision (ADO sends 7 digits; the store keeps 6).
fn time(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| {
        Value::String(ado_ingest_micros(t).to_rfc3339_opts(SecondsFormat::Micros, true))
    })
}

fn ado_ingest_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::Timelike;
    let n = t.nanosecond();
    t.with_nanosecond(n - n % 1000).unwrap_or(t)
}

/// A truth timestamp at `ptr`, at microsecond precision.
fn ts(v: &Value, ptr: &str) -> Value {
    time(v.pointer(ptr).and_then(Value::as_str).map(|x| {
        DateTime::parse_from_rfc3339(x)
            .unwrap_or_else(|e| panic!("truth {ptr} `{x}` is not RFC 3339: {e}"))
            .to_utc()
    }))
}

fn text(x: &str) -> Value {
    Value::String(x.to_string())
}

fn opt(x: &Option<String>) -> Value {
    x.as_ref().map_or(Value::Null, |x| text(x))
}

/// `raw` as a JSON value, without the keys the truth adds or the listing's hyperlinks.
fn raw(r: &str) -> Value {
    let mut v: Value = serde_json::from_str(r).expect("raw is JSON");
    if let Value::Object(m) = &mut v {
        m.remove("_links");
    }
    v
}

/// A truth object without keys the endpoints do not print for that row.
fn without(v: &Value, keys: &[&str]) -> Value {
    let mut v = v.clone();
    if let Value::Object(m) = &mut v {
        for k in keys {
            m.remove(*k);
        }
    }
    v
}

/// The unique name of an identity field, object or `"Name <email>"` string.
fn unique_name(v: Option<&Value>) -> Value {
    match v {
        Some(Value::Object(o)) => o.get("uniqueName").cloned().unwrap_or(Value::Null),
        Some(Value::String(s)) => text(
            &s.rsplit_once('<')
                .map(|(_, e)| e.trim_end_matches('>').to_string())
                .unwrap_or_else(|| s.clone()),
        ),
        _ => Value::Null,
    }
}

/// How a table reflects ADO's deletions.
#[derive(Clone, Copy, PartialEq)]
enum Deletion {
    /// Rows ADO no longer has carry `deleted_at`; rows it has do not.
    Marked,
    /// Rows ADO no longer has are gone from the table.
    Removed,
}

type DbField<'a, R> = Box<dyn Fn(&R) -> Value + 'a>;
type TruthField<'a> = Box<dyn Fn(&Value) -> Value + 'a>;

/// One table's comparison.
struct Spec<'a, R> {
    kind: &'static str,
    truth_key: Box<dyn Fn(&Value) -> String + 'a>,
    db_key: Box<dyn Fn(&R) -> String + 'a>,
    deletion: Deletion,
    fields: Vec<(&'static str, DbField<'a, R>, TruthField<'a>)>,
}

fn compare_table<R>(
    diff: &mut Diff,
    expected: &[Value],
    rows: Vec<(R, Option<DateTime<Utc>>)>,
    spec: Spec<'_, R>,
) {
    let db: BTreeMap<String, (R, Option<DateTime<Utc>>)> =
        rows.into_iter().map(|r| ((spec.db_key)(&r.0), r)).collect();
    *diff.compared.entry(spec.kind).or_default() += expected.len();
    let mut seen = BTreeSet::new();
    for e in expected {
        let key = (spec.truth_key)(e);
        seen.insert(key.clone());
        let Some((row, deleted_at)) = db.get(&key) else {
            diff.push(format!("{} {key}: missing from the database", spec.kind));
            continue;
        };
        if deleted_at.is_some() {
            diff.push(format!(
                "{} {key}: marked deleted but still in ADO",
                spec.kind
            ));
        }
        for (name, get_db, get_truth) in &spec.fields {
            let (got, want) = (get_db(row), get_truth(e));
            if got != want {
                diff.push(format!(
                    "{} {key}: {name}: db={got} truth={want}",
                    spec.kind
                ));
            }
        }
    }
    for (key, (_, deleted_at)) in &db {
        if seen.contains(key) {
            continue;
        }
        match spec.deletion {
            Deletion::Marked if deleted_at.is_some() => {}
            Deletion::Marked => diff.push(format!(
                "{} {key}: deleted in ADO but deleted_at is not set",
                spec.kind
            )),
            Deletion::Removed => diff.push(format!(
                "{} {key}: in the database but not in the truth",
                spec.kind
            )),
        }
    }
}

async fn read<R: Readable>(store: &AnyStore, org: &str) -> Vec<(R, Option<DateTime<Utc>>)> {
    store
        .rows_with_deleted::<R>(org)
        .await
        .unwrap_or_else(|e| panic!("read {}: {e}", R::TABLE.name))
}

fn list<'t>(truth: &'t Value, kind: &str) -> &'t [Value] {
    truth[kind]
        .as_array()
        .unwrap_or_else(|| panic!("truth.{kind}"))
}

/// Compares every table the Repos connector owns.
pub async fn compare(store: &AnyStore, org: &str, truth: &Value) -> Diff {
    let mut diff = Diff::default();
    compare_table(
        &mut diff,
        list(truth, "projects"),
        read::<ProjectRow>(store, org).await,
        Spec {
            kind: "project",
            truth_key: Box::new(|v| v["id"].as_str().unwrap_or_default().to_string()),
            db_key: Box::new(|r: &ProjectRow| r.id.clone()),
            deletion: Deletion::Marked,
            fields: vec![
                (
                    "name",
                    Box::new(|r: &ProjectRow| text(&r.name)),
                    Box::new(|v| s(v, "/name")),
                ),
                (
                    "state",
                    Box::new(|r: &ProjectRow| opt(&r.state)),
                    Box::new(|v| s(v, "/state")),
                ),
                (
                    "visibility",
                    Box::new(|r: &ProjectRow| opt(&r.visibility)),
                    Box::new(|v| s(v, "/visibility")),
                ),
                (
                    "last_update_time",
                    Box::new(|r: &ProjectRow| time(r.last_update_time)),
                    Box::new(|v| ts(v, "/lastUpdateTime")),
                ),
                (
                    "raw",
                    Box::new(|r: &ProjectRow| raw(&r.raw)),
                    Box::new(|v| v.clone()),
                ),
            ],
        },
    );
    let repositories = read::<RepositoryRow>(store, org).await;
    let live_repos: BTreeSet<String> = list(truth, "repositories")
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect();
    compare_table(
        &mut diff,
        list(truth, "repositories"),
        repositories,
        Spec {
            kind: "repository",
            truth_key: Box::new(|v| v["id"].as_str().unwrap_or_default().to_string()),
            db_key: Box::new(|r: &RepositoryRow| r.id.clone()),
            deletion: Deletion::Marked,
            fields: vec![
                (
                    "name",
                    Box::new(|r: &RepositoryRow| text(&r.name)),
                    Box::new(|v| s(v, "/name")),
                ),
                (
                    "project_id",
                    Box::new(|r: &RepositoryRow| text(&r.project_id)),
                    Box::new(|v| s(v, "/project/id")),
                ),
                (
                    "default_branch",
                    Box::new(|r: &RepositoryRow| opt(&r.default_branch)),
                    Box::new(|v| s(v, "/defaultBranch")),
                ),
                (
                    "size",
                    Box::new(|r: &RepositoryRow| json!(r.size)),
                    Box::new(|v| at(v, "/size")),
                ),
                (
                    "is_disabled",
                    Box::new(|r: &RepositoryRow| json!(r.is_disabled)),
                    Box::new(|v| flag(v, "/isDisabled")),
                ),
                (
                    "raw",
                    Box::new(|r: &RepositoryRow| raw(&r.raw)),
                    Box::new(|v| v.clone()),
                ),
            ],
        },
    );
    // PRs of deleted repositories are gone from ADO; the database keeps them (with the
    // repository's deleted_at), so only PRs of live repositories are compared.
    let prs: Vec<_> = read::<PullRequestRow>(store, org)
        .await
        .into_iter()
        .filter(|(p, _)| live_repos.contains(&p.repository_id))
        .collect();
    let mut reviewers: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
    for (r, _) in read::<ReviewerRow>(store, org).await {
        reviewers.entry(r.pull_request_id).or_default().push(json!([
            r.reviewer_id,
            r.vote,
            r.is_required,
            r.has_declined
        ]));
    }
    let reviewers = &reviewers;
    compare_table(
        &mut diff,
        list(truth, "pull_requests"),
        prs,
        Spec {
            kind: "pull_request",
            truth_key: Box::new(|v| v["pullRequestId"].to_string()),
            db_key: Box::new(|r: &PullRequestRow| r.id.to_string()),
            deletion: Deletion::Removed,
            fields: vec![
                (
                    "repository_id",
                    Box::new(|r: &PullRequestRow| text(&r.repository_id)),
                    Box::new(|v| s(v, "/repository/id")),
                ),
                (
                    "project_id",
                    Box::new(|r: &PullRequestRow| text(&r.project_id)),
                    Box::new(|v| s(v, "/repository/project/id")),
                ),
                (
                    "title",
                    Box::new(|r: &PullRequestRow| text(&r.title)),
                    Box::new(|v| s(v, "/title")),
                ),
                (
                    "status",
                    Box::new(|r: &PullRequestRow| text(&r.status)),
                    Box::new(|v| s(v, "/status")),
                ),
                (
                    "is_draft",
                    Box::new(|r: &PullRequestRow| json!(r.is_draft)),
                    Box::new(|v| flag(v, "/isDraft")),
                ),
                (
                    "created_by_id",
                    Box::new(|r: &PullRequestRow| opt(&r.created_by_id)),
                    Box::new(|v| s(v, "/createdBy/id")),
                ),
                (
                    "creation_date",
                    Box::new(|r: &PullRequestRow| time(Some(r.creation_date))),
                    Box::new(|v| ts(v, "/creationDate")),
                ),
                (
                    "closed_date",
                    Box::new(|r: &PullRequestRow| time(r.closed_date)),
                    Box::new(|v| ts(v, "/closedDate")),
                ),
                (
                    "source_ref",
                    Box::new(|r: &PullRequestRow| text(&r.source_ref)),
                    Box::new(|v| s(v, "/sourceRefName")),
                ),
                (
                    "target_ref",
                    Box::new(|r: &PullRequestRow| text(&r.target_ref)),
                    Box::new(|v| s(v, "/targetRefName")),
                ),
                (
                    "merge_status",
                    Box::new(|r: &PullRequestRow| opt(&r.merge_status)),
                    Box::new(|v| s(v, "/mergeStatus")),
                ),
                (
                    "last_merge_source_commit",
                    Box::new(|r: &PullRequestRow| opt(&r.last_merge_source_commit)),
                    Box::new(|v| s(v, "/lastMergeSourceCommit/commitId")),
                ),
                (
                    "last_merge_commit",
                    Box::new(|r: &PullRequestRow| opt(&r.last_merge_commit)),
                    Box::new(|v| s(v, "/lastMergeCommit/commitId")),
                ),
                (
                    "raw",
                    Box::new(|r: &PullRequestRow| raw(&r.raw)),
                    Box::new(|v| v.clone()),
                ),
                (
                    "reviewers",
                    Box::new(move |r: &PullRequestRow| {
                        json!(reviewers.get(&r.id).cloned().unwrap_or_default())
                    }),
                    Box::new(|v| {
                        let mut want: Vec<(String, i64, bool, bool)> = v["reviewers"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|rv| {
                                (
                                    rv["id"].as_str().unwrap_or_default().to_string(),
                                    rv["vote"].as_i64().unwrap_or(0),
                                    rv["isRequired"].as_bool().unwrap_or(false),
                                    rv["hasDeclined"].as_bool().unwrap_or(false),
                                )
                            })
                            .collect();
                        want.sort();
                        json!(
                            want.into_iter()
                                .map(|(a, b, c, d)| json!([a, b, c, d]))
                                .collect::<Vec<_>>()
                        )
                    }),
                ),
            ],
        },
    );
    compare_pr_users(&mut diff, read::<UserRow>(store, org).await, truth);
    diff
}

/// Every creator and reviewer of a PR is a `users` row with its names.
fn compare_pr_users(diff: &mut Diff, users: Vec<(UserRow, Option<DateTime<Utc>>)>, truth: &Value) {
    let users: BTreeMap<String, UserRow> =
        users.into_iter().map(|(u, _)| (u.id.clone(), u)).collect();
    let mut seen = BTreeSet::new();
    for pr in list(truth, "pull_requests") {
        let people = pr
            .pointer("/createdBy")
            .into_iter()
            .chain(pr["reviewers"].as_array().into_iter().flatten());
        for i in people {
            let Some(id) = i["id"].as_str() else { continue };
            if !seen.insert(id.to_string()) {
                continue;
            }
            match users.get(id) {
                None => diff.push(format!("user {id}: missing from the database")),
                Some(u) => {
                    for (name, got, want) in [
                        ("display_name", opt(&u.display_name), s(i, "/displayName")),
                        ("unique_name", opt(&u.unique_name), s(i, "/uniqueName")),
                    ] {
                        if got != want {
                            diff.push(format!("user {id}: {name}: db={got} truth={want}"));
                        }
                    }
                }
            }
        }
    }
    *diff.compared.entry("users").or_default() += seen.len();
}

/// Compares the Boards tables: work items (current state and deletion), every revision,
/// links, teams and members, Graph users, iterations, areas, work item types with their
/// states, and fields.
pub async fn compare_boards(store: &AnyStore, org: &str, truth: &Value) -> Diff {
    let mut diff = Diff::default();
    compare_work_items(&mut diff, store, org, truth).await;
    compare_structure(&mut diff, store, org, truth).await;
    diff
}

async fn compare_work_items(diff: &mut Diff, store: &AnyStore, org: &str, truth: &Value) {
    // A work item in the recycle bin keeps its row, with deleted_at.
    let items: Vec<_> = read::<WorkItemRow>(store, org)
        .await
        .into_iter()
        .map(|(r, d)| ((r, d), None))
        .collect();
    compare_table(
        diff,
        list(truth, "work_items"),
        items,
        Spec {
            kind: "work_item",
            truth_key: Box::new(|v| v["id"].to_string()),
            db_key: Box::new(|r: &(WorkItemRow, Option<DateTime<Utc>>)| r.0.id.to_string()),
            deletion: Deletion::Removed,
            fields: {
                type W = (WorkItemRow, Option<DateTime<Utc>>);
                let f = |ptr: &'static str| -> TruthField<'static> {
                    Box::new(move |v: &Value| at(&v["fields"], ptr))
                };
                let mut v: Vec<(&'static str, DbField<'static, W>, TruthField<'static>)> = vec![
                    (
                        "rev",
                        Box::new(|r: &W| json!(r.0.rev)),
                        Box::new(|v| at(v, "/rev")),
                    ),
                    (
                        "deleted",
                        Box::new(|r: &W| json!(r.1.is_some())),
                        Box::new(|v| flag(v, "/isDeleted")),
                    ),
                    (
                        "destroyed",
                        Box::new(|r: &W| json!(r.0.destroyed_at.is_some())),
                        Box::new(|v| flag(v, "/isDestroyed")),
                    ),
                    (
                        "type",
                        Box::new(|r: &W| opt(&r.0.work_item_type)),
                        f("/System.WorkItemType"),
                    ),
                    (
                        "title",
                        Box::new(|r: &W| opt(&r.0.title)),
                        f("/System.Title"),
                    ),
                    (
                        "state",
                        Box::new(|r: &W| opt(&r.0.state)),
                        f("/System.State"),
                    ),
                    (
                        "reason",
                        Box::new(|r: &W| opt(&r.0.reason)),
                        f("/System.Reason"),
                    ),
                    (
                        "area_path",
                        Box::new(|r: &W| opt(&r.0.area_path)),
                        f("/System.AreaPath"),
                    ),
                    (
                        "iteration_path",
                        Box::new(|r: &W| opt(&r.0.iteration_path)),
                        f("/System.IterationPath"),
                    ),
                    ("tags", Box::new(|r: &W| opt(&r.0.tags)), f("/System.Tags")),
                    (
                        "priority",
                        Box::new(|r: &W| json!(r.0.priority)),
                        f("/Microsoft.VSTS.Common.Priority"),
                    ),
                    (
                        "parent_id",
                        Box::new(|r: &W| json!(r.0.parent_id)),
                        f("/System.Parent"),
                    ),
                    (
                        "assigned_to",
                        Box::new(|r: &W| opt(&r.0.assigned_to)),
                        Box::new(|v| unique_name(v["fields"].get("System.AssignedTo"))),
                    ),
                    (
                        "created_by",
                        Box::new(|r: &W| opt(&r.0.created_by)),
                        Box::new(|v| unique_name(v["fields"].get("System.CreatedBy"))),
                    ),
                    (
                        "changed_date",
                        Box::new(|r: &W| time(r.0.changed_date)),
                        Box::new(|v| ts(&v["fields"], "/System.ChangedDate")),
                    ),
                ];
                // Long-text fields have no column: they are in `raw`, as ADO sent them
                // (`$expand=fields`, API_FACTS §1.6).
                for (name, key) in [
                    ("raw description", "/System.Description"),
                    ("raw repro steps", "/Microsoft.VSTS.TCM.ReproSteps"),
                    (
                        "raw acceptance criteria",
                        "/Microsoft.VSTS.Common.AcceptanceCriteria",
                    ),
                ] {
                    v.push((
                        name,
                        Box::new(move |r: &W| {
                            let raw: Value = serde_json::from_str(&r.0.raw).unwrap_or_default();
                            at(&raw["fields"], key)
                        }),
                        f(key),
                    ));
                }
                for (name, key) in [
                    ("closed_date", "/Microsoft.VSTS.Common.ClosedDate"),
                    ("activated_date", "/Microsoft.VSTS.Common.ActivatedDate"),
                    ("resolved_date", "/Microsoft.VSTS.Common.ResolvedDate"),
                ] {
                    v.push((
                        name,
                        Box::new(move |r: &W| {
                            time(match name {
                                "closed_date" => r.0.closed_date,
                                "activated_date" => r.0.activated_date,
                                _ => r.0.resolved_date,
                            })
                        }),
                        Box::new(move |v| ts(&v["fields"], key)),
                    ));
                }
                v
            },
        },
    );
    // A deleted item's revisions stay in the database; the truth lists every revision too.
    compare_table(
        diff,
        list(truth, "work_item_revisions"),
        read::<WorkItemRevisionRow>(store, org).await,
        Spec {
            kind: "revision",
            truth_key: Box::new(|v| format!("{}/{}", v["id"], v["rev"])),
            db_key: Box::new(|r: &WorkItemRevisionRow| format!("{}/{}", r.id, r.rev)),
            deletion: Deletion::Removed,
            fields: vec![
                (
                    "state",
                    Box::new(|r: &WorkItemRevisionRow| opt(&r.state)),
                    Box::new(|v| s(v, "/fields/System.State")),
                ),
                (
                    "iteration_path",
                    Box::new(|r: &WorkItemRevisionRow| opt(&r.iteration_path)),
                    Box::new(|v| s(v, "/fields/System.IterationPath")),
                ),
                (
                    "changed_by",
                    Box::new(|r: &WorkItemRevisionRow| opt(&r.changed_by)),
                    Box::new(|v| unique_name(v["fields"].get("System.ChangedBy"))),
                ),
                (
                    "assigned_to",
                    Box::new(|r: &WorkItemRevisionRow| opt(&r.assigned_to)),
                    Box::new(|v| unique_name(v["fields"].get("System.AssignedTo"))),
                ),
                (
                    "changed_date",
                    Box::new(|r: &WorkItemRevisionRow| time(r.changed_date)),
                    Box::new(|v| ts(v, "/fields/System.ChangedDate")),
                ),
                (
                    "fields",
                    Box::new(|r: &WorkItemRevisionRow| raw(&r.fields)),
                    Box::new(|v| v["fields"].clone()),
                ),
            ],
        },
    );
    // Links the stream reported removed stay with is_active = false; the truth lists the
    // active ones.
    let links: Vec<_> = read::<WorkItemLinkRow>(store, org)
        .await
        .into_iter()
        .filter(|(l, _)| l.is_active)
        .collect();
    compare_table(
        diff,
        list(truth, "work_item_links"),
        links,
        Spec {
            kind: "link",
            truth_key: Box::new(|v| {
                format!(
                    "{}/{}/{}",
                    v["sourceId"],
                    v["targetId"],
                    v["rel"].as_str().unwrap_or_default()
                )
            }),
            db_key: Box::new(|r: &WorkItemLinkRow| {
                format!("{}/{}/{}", r.source_id, r.target_id, r.rel)
            }),
            deletion: Deletion::Removed,
            fields: vec![],
        },
    );
}

/// A classification node's path as work items carry it: ADO's `\Project\Iteration\A\B`
/// without the leading separator and the structure segment.
fn node_path(v: &Value) -> Option<String> {
    let p = v["path"].as_str()?;
    let mut parts: Vec<&str> = p.trim_start_matches('\\').split('\\').collect();
    if parts.len() >= 2 {
        parts.remove(1);
    }
    Some(parts.join("\\"))
}

fn node_fields<'a, K: 'static>(
    dated: bool,
) -> Vec<(&'static str, DbField<'a, NodeRow<K>>, TruthField<'a>)> {
    let mut v: Vec<(&'static str, DbField<'a, NodeRow<K>>, TruthField<'a>)> = vec![
        (
            "project_id",
            Box::new(|r: &NodeRow<K>| text(&r.project_id)),
            Box::new(|v| s(v, "/projectId")),
        ),
        (
            "identifier",
            Box::new(|r: &NodeRow<K>| opt(&r.identifier)),
            Box::new(|v| s(v, "/identifier")),
        ),
        (
            "name",
            Box::new(|r: &NodeRow<K>| text(&r.name)),
            Box::new(|v| s(v, "/name")),
        ),
        (
            "path",
            Box::new(|r: &NodeRow<K>| text(&r.path)),
            Box::new(|v| json!(node_path(v))),
        ),
        (
            "parent_path",
            Box::new(|r: &NodeRow<K>| opt(&r.parent_path)),
            Box::new(|v| {
                json!(node_path(v).and_then(|p| p.rsplit_once('\\').map(|(a, _)| a.to_string())))
            }),
        ),
        (
            "depth",
            Box::new(|r: &NodeRow<K>| json!(r.depth)),
            Box::new(|v| {
                json!(
                    v["path"]
                        .as_str()
                        .map_or(0, |p| p.trim_start_matches('\\').split('\\').count() as i64
                            - 2)
                )
            }),
        ),
        (
            "raw",
            Box::new(|r: &NodeRow<K>| raw(&r.raw)),
            Box::new(|v| without(v, &["projectId"])),
        ),
    ];
    if dated {
        v.push((
            "start_date",
            Box::new(|r: &NodeRow<K>| time(r.start_date)),
            Box::new(|v| ts(v, "/attributes/startDate")),
        ));
        v.push((
            "finish_date",
            Box::new(|r: &NodeRow<K>| time(r.finish_date)),
            Box::new(|v| ts(v, "/attributes/finishDate")),
        ));
    }
    v
}

async fn compare_structure(diff: &mut Diff, store: &AnyStore, org: &str, truth: &Value) {
    compare_table(
        diff,
        list(truth, "teams"),
        read::<TeamRow>(store, org).await,
        Spec {
            kind: "team",
            truth_key: Box::new(|v| v["id"].as_str().unwrap_or_default().to_string()),
            db_key: Box::new(|r: &TeamRow| r.id.clone()),
            deletion: Deletion::Marked,
            fields: vec![
                (
                    "project_id",
                    Box::new(|r: &TeamRow| text(&r.project_id)),
                    Box::new(|v| s(v, "/projectId")),
                ),
                (
                    "name",
                    Box::new(|r: &TeamRow| text(&r.name)),
                    Box::new(|v| s(v, "/name")),
                ),
                (
                    "description",
                    Box::new(|r: &TeamRow| opt(&r.description)),
                    Box::new(|v| {
                        s(v, "/description")
                            .as_str()
                            .filter(|d| !d.is_empty())
                            .map_or(Value::Null, text)
                    }),
                ),
                (
                    "raw",
                    Box::new(|r: &TeamRow| raw(&r.raw)),
                    Box::new(|v| v.clone()),
                ),
            ],
        },
    );
    compare_table(
        diff,
        list(truth, "team_members"),
        read::<TeamMemberRow>(store, org).await,
        Spec {
            kind: "team_member",
            truth_key: Box::new(|v| {
                format!(
                    "{}/{}",
                    v["teamId"].as_str().unwrap_or_default(),
                    v["identity"]["id"].as_str().unwrap_or_default()
                )
            }),
            db_key: Box::new(|r: &TeamMemberRow| format!("{}/{}", r.team_id, r.user_id)),
            deletion: Deletion::Removed,
            fields: vec![(
                "is_team_admin",
                Box::new(|r: &TeamMemberRow| json!(r.is_team_admin)),
                Box::new(|v| flag(v, "/isTeamAdmin")),
            )],
        },
    );
    // Graph users: the row that carries the descriptor (an identity's, or one stored under
    // the descriptor until the identity is known).
    let users: Vec<_> = read::<UserProfile>(store, org)
        .await
        .into_iter()
        .filter(|(u, _)| u.descriptor.is_some())
        .collect();
    let graph = list(truth, "users");
    let wanted: BTreeSet<&str> = graph
        .iter()
        .filter_map(|u| u["descriptor"].as_str())
        .collect();
    let users: Vec<_> = users
        .into_iter()
        .filter(|(u, _)| {
            u.descriptor.as_deref().is_some_and(|d| wanted.contains(d))
                || u.id == u.descriptor.clone().unwrap_or_default()
        })
        .collect();
    compare_table(
        diff,
        graph,
        users,
        Spec {
            kind: "graph_user",
            truth_key: Box::new(|v| v["descriptor"].as_str().unwrap_or_default().to_string()),
            db_key: Box::new(|r: &UserProfile| r.descriptor.clone().unwrap_or_default()),
            deletion: Deletion::Removed,
            fields: vec![
                (
                    "display_name",
                    Box::new(|r: &UserProfile| opt(&r.display_name)),
                    Box::new(|v| s(v, "/displayName")),
                ),
                (
                    "unique_name",
                    Box::new(|r: &UserProfile| opt(&r.unique_name)),
                    Box::new(|v| s(v, "/principalName")),
                ),
                (
                    "mail_address",
                    Box::new(|r: &UserProfile| opt(&r.mail_address)),
                    Box::new(|v| {
                        s(v, "/mailAddress")
                            .as_str()
                            .filter(|m| !m.is_empty())
                            .map_or(Value::Null, text)
                    }),
                ),
                (
                    "origin",
                    Box::new(|r: &UserProfile| opt(&r.origin)),
                    Box::new(|v| s(v, "/origin")),
                ),
                (
                    "origin_id",
                    Box::new(|r: &UserProfile| opt(&r.origin_id)),
                    Box::new(|v| s(v, "/originId")),
                ),
                (
                    "subject_kind",
                    Box::new(|r: &UserProfile| opt(&r.subject_kind)),
                    Box::new(|v| s(v, "/subjectKind")),
                ),
                (
                    "is_container",
                    Box::new(|r: &UserProfile| json!(r.is_container)),
                    Box::new(|v| json!(v["subjectKind"] == "group")),
                ),
            ],
        },
    );
    compare_table(
        diff,
        list(truth, "iterations"),
        read::<IterationRow>(store, org).await,
        Spec {
            kind: "iteration",
            truth_key: Box::new(|v| v["id"].to_string()),
            db_key: Box::new(|r: &IterationRow| r.id.to_string()),
            deletion: Deletion::Marked,
            fields: node_fields(true),
        },
    );
    compare_table(
        diff,
        list(truth, "areas"),
        read::<AreaRow>(store, org).await,
        Spec {
            kind: "area",
            truth_key: Box::new(|v| v["id"].to_string()),
            db_key: Box::new(|r: &AreaRow| r.id.to_string()),
            deletion: Deletion::Marked,
            fields: node_fields(false),
        },
    );
    let type_key = |v: &Value| {
        format!(
            "{}/{}",
            v["projectId"].as_str().unwrap_or_default(),
            v["name"].as_str().unwrap_or_default()
        )
    };
    compare_table(
        diff,
        list(truth, "work_item_types"),
        read::<WorkItemTypeRow>(store, org).await,
        Spec {
            kind: "work_item_type",
            truth_key: Box::new(type_key),
            db_key: Box::new(|r: &WorkItemTypeRow| format!("{}/{}", r.project_id, r.name)),
            deletion: Deletion::Removed,
            fields: vec![
                (
                    "reference_name",
                    Box::new(|r: &WorkItemTypeRow| opt(&r.reference_name)),
                    Box::new(|v| s(v, "/referenceName")),
                ),
                (
                    "description",
                    Box::new(|r: &WorkItemTypeRow| opt(&r.description)),
                    Box::new(|v| s(v, "/description")),
                ),
                (
                    "color",
                    Box::new(|r: &WorkItemTypeRow| opt(&r.color)),
                    Box::new(|v| s(v, "/color")),
                ),
                (
                    "is_disabled",
                    Box::new(|r: &WorkItemTypeRow| json!(r.is_disabled)),
                    Box::new(|v| flag(v, "/isDisabled")),
                ),
                (
                    "raw",
                    Box::new(|r: &WorkItemTypeRow| raw(&r.raw)),
                    Box::new(|v| without(v, &["projectId", "_links"])),
                ),
            ],
        },
    );
    let states: Vec<Value> = list(truth, "work_item_types")
        .iter()
        .flat_map(|t| {
            t["states"].as_array().into_iter().flatten().map(move |s| {
                json!({"key": format!("{}/{}", type_key(t), s["name"].as_str().unwrap_or_default()), "state": s})
            })
        })
        .collect();
    compare_table(
        diff,
        &states,
        read::<WorkItemTypeStateRow>(store, org).await,
        Spec {
            kind: "work_item_type_state",
            truth_key: Box::new(|v| v["key"].as_str().unwrap_or_default().to_string()),
            db_key: Box::new(|r: &WorkItemTypeStateRow| {
                format!("{}/{}/{}", r.project_id, r.type_name, r.name)
            }),
            deletion: Deletion::Removed,
            fields: vec![
                (
                    "category",
                    Box::new(|r: &WorkItemTypeStateRow| opt(&r.category)),
                    Box::new(|v| s(v, "/state/category")),
                ),
                (
                    "color",
                    Box::new(|r: &WorkItemTypeStateRow| opt(&r.color)),
                    Box::new(|v| s(v, "/state/color")),
                ),
            ],
        },
    );
    compare_table(
        diff,
        list(truth, "fields"),
        read::<WorkItemFieldRow>(store, org).await,
        Spec {
            kind: "field",
            truth_key: Box::new(|v| v["referenceName"].as_str().unwrap_or_default().to_string()),
            db_key: Box::new(|r: &WorkItemFieldRow| r.reference_name.clone()),
            deletion: Deletion::Removed,
            fields: vec![
                (
                    "name",
                    Box::new(|r: &WorkItemFieldRow| text(&r.name)),
                    Box::new(|v| s(v, "/name")),
                ),
                (
                    "type",
                    Box::new(|r: &WorkItemFieldRow| opt(&r.field_type)),
                    Box::new(|v| s(v, "/type")),
                ),
                (
                    "read_only",
                    Box::new(|r: &WorkItemFieldRow| json!(r.read_only)),
                    Box::new(|v| flag(v, "/readOnly")),
                ),
                (
                    "is_identity",
                    Box::new(|r: &WorkItemFieldRow| json!(r.is_identity)),
                    Box::new(|v| flag(v, "/isIdentity")),
                ),
                (
                    "raw",
                    Box::new(|r: &WorkItemFieldRow| raw(&r.raw)),
                    Box::new(|v| v.clone()),
                ),
            ],
        },
    );
}

/// A truth object or stored raw JSON without the keys the truth adds to locate a child
/// (`pullRequestId`, …) and without hyperlinks.
fn bare(v: &Value, keys: &[&str]) -> Value {
    let mut v = without(v, keys);
    if let Value::Object(m) = &mut v {
        m.remove("_links");
    }
    v
}

fn int(i: i64) -> Value {
    json!(i)
}

fn opt_int(i: Option<i64>) -> Value {
    i.map_or(Value::Null, int)
}

/// The key prefix of a truth child: `{pullRequestId}/`.
fn pr_of(v: &Value) -> String {
    v["pullRequestId"].to_string()
}

/// Compares the inside of every pull request (issue 11): iterations, changes, threads,
/// comments, work items, statuses and policy evaluations. Children of PRs in deleted
/// repositories are gone from ADO and kept in the database, so only live repositories count.
pub async fn compare_pr_depth(store: &AnyStore, org: &str, truth: &Value) -> Diff {
    use ado_ingest::store::schema::pr::*;
    let mut diff = Diff::default();
    let live: BTreeSet<String> = list(truth, "repositories")
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect();
    let live = &live;
    macro_rules! rows {
        ($ty:ty) => {
            read::<$ty>(store, org)
                .await
                .into_iter()
                .filter(|(r, _)| live.contains(&r.repository_id))
                .collect::<Vec<_>>()
        };
    }
    const LOC: &[&str] = &["pullRequestId", "repositoryId"];
    compare_table(
        &mut diff,
        list(truth, "pull_request_iterations"),
        rows!(PullRequestIterationRow),
        Spec {
            kind: "pull_request_iteration",
            truth_key: Box::new(|v| format!("{}/{}", pr_of(v), v["id"])),
            db_key: Box::new(|r: &PullRequestIterationRow| {
                format!("{}/{}", r.pull_request_id, r.id)
            }),
            deletion: Deletion::Removed,
            fields: vec![
                (
                    "repository_id",
                    Box::new(|r: &PullRequestIterationRow| text(&r.repository_id)),
                    Box::new(|v| s(v, "/repositoryId")),
                ),
                (
                    "description",
                    Box::new(|r: &PullRequestIterationRow| opt(&r.description)),
                    Box::new(|v| s(v, "/description")),
                ),
                (
                    "author_id",
                    Box::new(|r: &PullRequestIterationRow| opt(&r.author_id)),
                    Box::new(|v| s(v, "/author/id")),
                ),
                (
                    "created_date",
                    Box::new(|r: &PullRequestIterationRow| time(r.created_date)),
                    Box::new(|v| ts(v, "/createdDate")),
                ),
                (
                    "updated_date",
                    Box::new(|r: &PullRequestIterationRow| time(r.updated_date)),
                    Box::new(|v| ts(v, "/updatedDate")),
                ),
                (
                    "source_commit",
                    Box::new(|r: &PullRequestIterationRow| opt(&r.source_commit)),
                    Box::new(|v| s(v, "/sourceRefCommit/commitId")),
                ),
                (
                    "target_commit",
                    Box::new(|r: &PullRequestIterationRow| opt(&r.target_commit)),
                    Box::new(|v| s(v, "/targetRefCommit/commitId")),
                ),
                (
                    "common_commit",
                    Box::new(|r: &PullRequestIterationRow| opt(&r.common_commit)),
                    Box::new(|v| s(v, "/commonRefCommit/commitId")),
                ),
                (
                    "push_id",
                    Box::new(|r: &PullRequestIterationRow| opt_int(r.push_id)),
                    Box::new(|v| at(v, "/push/pushId")),
                ),
                (
                    "reason",
                    Box::new(|r: &PullRequestIterationRow| opt(&r.reason)),
                    Box::new(|v| s(v, "/reason")),
                ),
                (
                    "raw",
                    Box::new(|r: &PullRequestIterationRow| bare(&raw(&r.raw), &[])),
                    Box::new(|v| bare(v, LOC)),
                ),
            ],
        },
    );
    compare_table(
        &mut diff,
        list(truth, "pull_request_changes"),
        rows!(PullRequestChangeRow),
        Spec {
            kind: "pull_request_change",
            truth_key: Box::new(|v| {
                format!(
                    "{}/{}/{}",
                    pr_of(v),
                    v["iterationId"],
                    v["changeTrackingId"]
                )
            }),
            db_key: Box::new(|r: &PullRequestChangeRow| {
                format!(
                    "{}/{}/{}",
                    r.pull_request_id, r.iteration_id, r.change_tracking_id
                )
            }),
            deletion: Deletion::Removed,
            fields: vec![
                (
                    "change_id",
                    Box::new(|r: &PullRequestChangeRow| opt_int(r.change_id)),
                    Box::new(|v| at(v, "/changeId")),
                ),
                (
                    "path",
                    Box::new(|r: &PullRequestChangeRow| opt(&r.path)),
                    Box::new(|v| s(v, "/item/path")),
                ),
                (
                    "change_type",
                    Box::new(|r: &PullRequestChangeRow| text(&r.change_type)),
                    Box::new(|v| s(v, "/changeType")),
                ),
                (
                    "original_path",
                    Box::new(|r: &PullRequestChangeRow| opt(&r.original_path)),
                    Box::new(|v| s(v, "/originalPath")),
                ),
                (
                    "raw",
                    Box::new(|r: &PullRequestChangeRow| bare(&raw(&r.raw), &[])),
                    Box::new(|v| bare(v, &["pullRequestId", "repositoryId", "iterationId"])),
                ),
            ],
        },
    );
    compare_table(
        &mut diff,
        list(truth, "pull_request_threads"),
        rows!(PullRequestThreadRow),
        Spec {
            kind: "pull_request_thread",
            truth_key: Box::new(|v| format!("{}/{}", pr_of(v), v["id"])),
            db_key: Box::new(|r: &PullRequestThreadRow| format!("{}/{}", r.pull_request_id, r.id)),
            deletion: Deletion::Removed,
            fields: vec![
                (
                    "status",
                    Box::new(|r: &PullRequestThreadRow| opt(&r.status)),
                    Box::new(|v| s(v, "/status")),
                ),
                (
                    "thread_type",
                    Box::new(|r: &PullRequestThreadRow| opt(&r.thread_type)),
                    Box::new(|v| s(v, "/properties/CodeReviewThreadType/$value")),
                ),
                (
                    "published_date",
                    Box::new(|r: &PullRequestThreadRow| time(r.published_date)),
                    Box::new(|v| ts(v, "/publishedDate")),
                ),
                (
                    "last_updated_date",
                    Box::new(|r: &PullRequestThreadRow| time(r.last_updated_date)),
                    Box::new(|v| ts(v, "/lastUpdatedDate")),
                ),
                (
                    "file_path",
                    Box::new(|r: &PullRequestThreadRow| opt(&r.file_path)),
                    Box::new(|v| s(v, "/threadContext/filePath")),
                ),
                (
                    "right_line_start",
                    Box::new(|r: &PullRequestThreadRow| opt_int(r.right_line_start)),
                    Box::new(|v| at(v, "/threadContext/rightFileStart/line")),
                ),
                (
                    "right_line_end",
                    Box::new(|r: &PullRequestThreadRow| opt_int(r.right_line_end)),
                    Box::new(|v| at(v, "/threadContext/rightFileEnd/line")),
                ),
                (
                    "change_tracking_id",
                    Box::new(|r: &PullRequestThreadRow| opt_int(r.change_tracking_id)),
                    Box::new(|v| at(v, "/pullRequestThreadContext/changeTrackingId")),
                ),
                (
                    "is_deleted",
                    Box::new(|r: &PullRequestThreadRow| json!(r.is_deleted)),
                    Box::new(|v| flag(v, "/isDeleted")),
                ),
                (
                    "raw",
                    Box::new(|r: &PullRequestThreadRow| bare(&raw(&r.raw), &[])),
                    Box::new(|v| bare(v, &["pullRequestId", "repositoryId", "comments"])),
                ),
            ],
        },
    );
    let comments: Vec<Value> = list(truth, "pull_request_threads")
        .iter()
        .flat_map(|t| {
            t["comments"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |c| {
                    let mut c = c.clone();
                    c["pullRequestId"] = t["pullRequestId"].clone();
                    c["threadId"] = t["id"].clone();
                    c
                })
        })
        .collect();
    compare_table(
        &mut diff,
        &comments,
        rows!(PullRequestCommentRow),
        Spec {
            kind: "pull_request_comment",
            truth_key: Box::new(|v| format!("{}/{}/{}", pr_of(v), v["threadId"], v["id"])),
            db_key: Box::new(|r: &PullRequestCommentRow| {
                format!("{}/{}/{}", r.pull_request_id, r.thread_id, r.id)
            }),
            deletion: Deletion::Removed,
            fields: vec![
                (
                    "parent_comment_id",
                    Box::new(|r: &PullRequestCommentRow| int(r.parent_comment_id)),
                    Box::new(|v| json!(v["parentCommentId"].as_i64().unwrap_or(0))),
                ),
                (
                    "author_id",
                    Box::new(|r: &PullRequestCommentRow| opt(&r.author_id)),
                    Box::new(|v| s(v, "/author/id")),
                ),
                (
                    "comment_type",
                    Box::new(|r: &PullRequestCommentRow| opt(&r.comment_type)),
                    Box::new(|v| s(v, "/commentType")),
                ),
                (
                    "content",
                    Box::new(|r: &PullRequestCommentRow| opt(&r.content)),
                    Box::new(|v| s(v, "/content")),
                ),
                (
                    "published_date",
                    Box::new(|r: &PullRequestCommentRow| time(r.published_date)),
                    Box::new(|v| ts(v, "/publishedDate")),
                ),
                (
                    "last_updated_date",
                    Box::new(|r: &PullRequestCommentRow| time(r.last_updated_date)),
                    Box::new(|v| ts(v, "/lastUpdatedDate")),
                ),
                (
                    "last_content_updated_date",
                    Box::new(|r: &PullRequestCommentRow| time(r.last_content_updated_date)),
                    Box::new(|v| ts(v, "/lastContentUpdatedDate")),
                ),
                (
                    "is_deleted",
                    Box::new(|r: &PullRequestCommentRow| json!(r.is_deleted)),
                    Box::new(|v| flag(v, "/isDeleted")),
                ),
                (
                    "liked_by",
                    Box::new(|r: &PullRequestCommentRow| int(r.liked_by)),
                    Box::new(|v| json!(v["usersLiked"].as_array().map_or(0, Vec::len))),
                ),
                (
                    "raw",
                    Box::new(|r: &PullRequestCommentRow| bare(&raw(&r.raw), &[])),
                    Box::new(|v| bare(v, &["pullRequestId", "threadId"])),
                ),
            ],
        },
    );
    compare_table(
        &mut diff,
        list(truth, "pull_request_work_items"),
        rows!(PullRequestWorkItemRow),
        Spec {
            kind: "pull_request_work_item",
            truth_key: Box::new(|v| {
                format!("{}/{}", pr_of(v), v["id"].as_str().unwrap_or_default())
            }),
            db_key: Box::new(|r: &PullRequestWorkItemRow| {
                format!("{}/{}", r.pull_request_id, r.work_item_id)
            }),
            deletion: Deletion::Removed,
            fields: vec![(
                "url",
                Box::new(|r: &PullRequestWorkItemRow| opt(&r.url)),
                Box::new(|v| s(v, "/url")),
            )],
        },
    );
    compare_table(
        &mut diff,
        list(truth, "pull_request_statuses"),
        rows!(PullRequestStatusRow),
        Spec {
            kind: "pull_request_status",
            truth_key: Box::new(|v| format!("{}/{}", pr_of(v), v["id"])),
            db_key: Box::new(|r: &PullRequestStatusRow| format!("{}/{}", r.pull_request_id, r.id)),
            deletion: Deletion::Removed,
            fields: vec![
                (
                    "iteration_id",
                    Box::new(|r: &PullRequestStatusRow| opt_int(r.iteration_id)),
                    Box::new(|v| at(v, "/iterationId")),
                ),
                (
                    "state",
                    Box::new(|r: &PullRequestStatusRow| opt(&r.state)),
                    Box::new(|v| s(v, "/state")),
                ),
                (
                    "description",
                    Box::new(|r: &PullRequestStatusRow| opt(&r.description)),
                    Box::new(|v| s(v, "/description")),
                ),
                (
                    "genre",
                    Box::new(|r: &PullRequestStatusRow| opt(&r.genre)),
                    Box::new(|v| s(v, "/context/genre")),
                ),
                (
                    "name",
                    Box::new(|r: &PullRequestStatusRow| opt(&r.name)),
                    Box::new(|v| s(v, "/context/name")),
                ),
                (
                    "target_url",
                    Box::new(|r: &PullRequestStatusRow| opt(&r.target_url)),
                    Box::new(|v| s(v, "/targetUrl")),
                ),
                (
                    "created_by_id",
                    Box::new(|r: &PullRequestStatusRow| opt(&r.created_by_id)),
                    Box::new(|v| s(v, "/createdBy/id")),
                ),
                (
                    "creation_date",
                    Box::new(|r: &PullRequestStatusRow| time(r.creation_date)),
                    Box::new(|v| ts(v, "/creationDate")),
                ),
                (
                    "updated_date",
                    Box::new(|r: &PullRequestStatusRow| time(r.updated_date)),
                    Box::new(|v| ts(v, "/updatedDate")),
                ),
                (
                    "raw",
                    Box::new(|r: &PullRequestStatusRow| bare(&raw(&r.raw), &[])),
                    Box::new(|v| bare(v, LOC)),
                ),
            ],
        },
    );
    compare_table(
        &mut diff,
        list(truth, "pull_request_policy_evaluations"),
        rows!(PullRequestPolicyEvaluationRow),
        Spec {
            kind: "pull_request_policy_evaluation",
            truth_key: Box::new(|v| {
                format!(
                    "{}/{}",
                    pr_of(v),
                    v["evaluationId"].as_str().unwrap_or_default()
                )
            }),
            db_key: Box::new(|r: &PullRequestPolicyEvaluationRow| {
                format!("{}/{}", r.pull_request_id, r.evaluation_id)
            }),
            deletion: Deletion::Removed,
            fields: vec![
                (
                    "configuration_id",
                    Box::new(|r: &PullRequestPolicyEvaluationRow| opt_int(r.configuration_id)),
                    Box::new(|v| at(v, "/configuration/id")),
                ),
                (
                    "configuration_revision",
                    Box::new(|r: &PullRequestPolicyEvaluationRow| {
                        opt_int(r.configuration_revision)
                    }),
                    Box::new(|v| at(v, "/configuration/revision")),
                ),
                (
                    "policy_type_id",
                    Box::new(|r: &PullRequestPolicyEvaluationRow| opt(&r.policy_type_id)),
                    Box::new(|v| s(v, "/configuration/type/id")),
                ),
                (
                    "policy_type",
                    Box::new(|r: &PullRequestPolicyEvaluationRow| opt(&r.policy_type)),
                    Box::new(|v| s(v, "/configuration/type/displayName")),
                ),
                (
                    "is_blocking",
                    Box::new(|r: &PullRequestPolicyEvaluationRow| json!(r.is_blocking)),
                    Box::new(|v| flag(v, "/configuration/isBlocking")),
                ),
                (
                    "is_enabled",
                    Box::new(|r: &PullRequestPolicyEvaluationRow| json!(r.is_enabled)),
                    Box::new(|v| flag(v, "/configuration/isEnabled")),
                ),
                (
                    "status",
                    Box::new(|r: &PullRequestPolicyEvaluationRow| opt(&r.status)),
                    Box::new(|v| s(v, "/status")),
                ),
                (
                    "started_date",
                    Box::new(|r: &PullRequestPolicyEvaluationRow| time(r.started_date)),
                    Box::new(|v| ts(v, "/startedDate")),
                ),
                (
                    "completed_date",
                    Box::new(|r: &PullRequestPolicyEvaluationRow| time(r.completed_date)),
                    Box::new(|v| ts(v, "/completedDate")),
                ),
                (
                    "raw",
                    Box::new(|r: &PullRequestPolicyEvaluationRow| bare(&raw(&r.raw), &[])),
                    Box::new(|v| bare(v, LOC)),
                ),
            ],
        },
    );
    diff
}

/// Compares `pull_request_commits` (the Pull Commits connector) with the truth.
pub async fn compare_pull_commits(store: &AnyStore, org: &str, truth: &Value) -> Diff {
    use ado_ingest::store::schema::pr::PullRequestCommitRow;
    let mut diff = Diff::default();
    let live: BTreeSet<String> = list(truth, "repositories")
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect();
    let rows: Vec<_> = read::<PullRequestCommitRow>(store, org)
        .await
        .into_iter()
        .filter(|(r, _)| live.contains(&r.repository_id))
        .collect();
    compare_table(
        &mut diff,
        list(truth, "pull_request_commits"),
        rows,
        Spec {
            kind: "pull_request_commit",
            truth_key: Box::new(|v| {
                format!(
                    "{}/{}",
                    pr_of(v),
                    v["commitId"].as_str().unwrap_or_default()
                )
            }),
            db_key: Box::new(|r: &PullRequestCommitRow| {
                format!("{}/{}", r.pull_request_id, r.commit_id)
            }),
            deletion: Deletion::Removed,
            fields: vec![
                (
                    "author_name",
                    Box::new(|r: &PullRequestCommitRow| opt(&r.author_name)),
                    Box::new(|v| s(v, "/author/name")),
                ),
                (
                    "author_email",
                    Box::new(|r: &PullRequestCommitRow| opt(&r.author_email)),
                    Box::new(|v| s(v, "/author/email")),
                ),
                (
                    "author_date",
                    Box::new(|r: &PullRequestCommitRow| time(r.author_date)),
                    Box::new(|v| ts(v, "/author/date")),
                ),
                (
                    "committer_name",
                    Box::new(|r: &PullRequestCommitRow| opt(&r.committer_name)),
                    Box::new(|v| s(v, "/committer/name")),
                ),
                (
                    "committer_email",
                    Box::new(|r: &PullRequestCommitRow| opt(&r.committer_email)),
                    Box::new(|v| s(v, "/committer/email")),
                ),
                (
                    "committer_date",
                    Box::new(|r: &PullRequestCommitRow| time(r.committer_date)),
                    Box::new(|v| ts(v, "/committer/date")),
                ),
                (
                    "comment",
                    Box::new(|r: &PullRequestCommitRow| opt(&r.comment)),
                    Box::new(|v| s(v, "/comment")),
                ),
                (
                    "title",
                    Box::new(|r: &PullRequestCommitRow| opt(&r.title)),
                    Box::new(|v| {
                        v["comment"].as_str().map_or(Value::Null, |c| {
                            text(c.lines().next().unwrap_or_default().trim_end())
                        })
                    }),
                ),
                (
                    "comment_truncated",
                    Box::new(|r: &PullRequestCommitRow| json!(r.comment_truncated)),
                    Box::new(|v| flag(v, "/commentTruncated")),
                ),
                (
                    "raw",
                    Box::new(|r: &PullRequestCommitRow| bare(&raw(&r.raw), &[])),
                    Box::new(|v| bare(v, &["pullRequestId", "repositoryId"])),
                ),
            ],
        },
    );
    diff
}

/// Compares `commits` (the Commits connector) with the truth's default-branch histories of
/// the live repositories: every commit on a branch is a live row equal field by field; a row
/// of a live repository that is no longer on its branch (a force-push took it off) carries
/// `deleted_at`. Commits of deleted repositories are not compared (their repository row is
/// marked).
pub async fn compare_commits(store: &AnyStore, org: &str, truth: &Value) -> Diff {
    use ado_ingest::store::schema::commits::CommitRow;
    let mut diff = Diff::default();
    let repos: BTreeMap<String, (String, String)> = list(truth, "repositories")
        .iter()
        .filter_map(|r| {
            let id = r["id"].as_str()?.to_string();
            let project = r["project"]["id"].as_str()?.to_string();
            let branch = r["defaultBranch"].as_str()?.to_string();
            Some((id, (project, branch)))
        })
        .collect();
    let rows: Vec<_> = read::<CommitRow>(store, org)
        .await
        .into_iter()
        .filter(|(r, _)| repos.contains_key(&r.repository_id))
        .collect();
    let repo_of = |v: &Value| v["repositoryId"].as_str().unwrap_or_default().to_string();
    let count = |v: &Value, k: &str| match v.get("changeCounts") {
        Some(c) if c.is_object() => json!(c[k].as_i64().unwrap_or(0)),
        _ => Value::Null,
    };
    compare_table(
        &mut diff,
        list(truth, "commits"),
        rows,
        Spec {
            kind: "commit",
            truth_key: Box::new(|v| {
                format!(
                    "{}/{}",
                    repo_of(v),
                    v["commitId"].as_str().unwrap_or_default()
                )
            }),
            db_key: Box::new(|r: &CommitRow| format!("{}/{}", r.repository_id, r.commit_id)),
            deletion: Deletion::Marked,
            fields: vec![
                (
                    "project_id",
                    Box::new(|r: &CommitRow| text(&r.project_id)),
                    Box::new(|v| repos.get(&repo_of(v)).map_or(Value::Null, |(p, _)| text(p))),
                ),
                (
                    "branch",
                    Box::new(|r: &CommitRow| text(&r.branch)),
                    Box::new(|v| repos.get(&repo_of(v)).map_or(Value::Null, |(_, b)| text(b))),
                ),
                (
                    "author_name",
                    Box::new(|r: &CommitRow| opt(&r.author_name)),
                    Box::new(|v| s(v, "/author/name")),
                ),
                (
                    "author_email",
                    Box::new(|r: &CommitRow| opt(&r.author_email)),
                    Box::new(|v| s(v, "/author/email")),
                ),
                (
                    "author_date",
                    Box::new(|r: &CommitRow| time(r.author_date)),
                    Box::new(|v| ts(v, "/author/date")),
                ),
                (
                    "committer_name",
                    Box::new(|r: &CommitRow| opt(&r.committer_name)),
                    Box::new(|v| s(v, "/committer/name")),
                ),
                (
                    "committer_email",
                    Box::new(|r: &CommitRow| opt(&r.committer_email)),
                    Box::new(|v| s(v, "/committer/email")),
                ),
                (
                    "committer_date",
                    Box::new(|r: &CommitRow| time(r.committer_date)),
                    Box::new(|v| ts(v, "/committer/date")),
                ),
                (
                    "comment",
                    Box::new(|r: &CommitRow| opt(&r.comment)),
                    Box::new(|v| s(v, "/comment")),
                ),
                (
                    "title",
                    Box::new(|r: &CommitRow| opt(&r.title)),
                    Box::new(|v| {
                        v["comment"].as_str().map_or(Value::Null, |c| {
                            text(c.lines().next().unwrap_or_default().trim_end())
                        })
                    }),
                ),
                (
                    "comment_truncated",
                    Box::new(|r: &CommitRow| json!(r.comment_truncated)),
                    Box::new(|v| flag(v, "/commentTruncated")),
                ),
                (
                    "adds",
                    Box::new(|r: &CommitRow| opt_int(r.adds)),
                    Box::new(move |v| count(v, "Add")),
                ),
                (
                    "edits",
                    Box::new(|r: &CommitRow| opt_int(r.edits)),
                    Box::new(move |v| count(v, "Edit")),
                ),
                (
                    "deletes",
                    Box::new(|r: &CommitRow| opt_int(r.deletes)),
                    Box::new(move |v| count(v, "Delete")),
                ),
                (
                    "parents",
                    Box::new(|r: &CommitRow| {
                        r.parents
                            .as_deref()
                            .map_or(Value::Null, |p| serde_json::from_str(p).unwrap_or_default())
                    }),
                    Box::new(|v| v.get("parents").cloned().unwrap_or(Value::Null)),
                ),
                (
                    "raw",
                    Box::new(|r: &CommitRow| bare(&raw(&r.raw), &[])),
                    Box::new(|v| bare(v, &["repositoryId"])),
                ),
            ],
        },
    );
    diff
}
