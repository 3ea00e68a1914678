//! The ground truth: every entity exactly as the endpoints serialize it.
//!
//! A test backfills from the HTTP API, then compares its database with this export. Each kind
//! can be asked for alone (`GET /_sim/truth?kinds=work_items,teams`, [`crate::Sim::truth_kinds`]);
//! without a selection every kind is exported. Collections are sorted by id unless noted.
//!
//! | kind | each element |
//! |---|---|
//! | `projects`, `repositories` | as their list endpoints |
//! | `pull_requests` | as the project-level PR list with `status=all` (description truncated to 400 characters, API_FACTS §1.2); deleted repositories and their PRs are absent |
//! | `work_items` | as `workitemsbatch` returns it without `fields` — `{id, rev, fields, url}`, identities as IdentityRef objects, no `System.Id`/`System.Rev`/`System.Watermark` in `fields` — plus `isDeleted`. Deleted items are included with their last revision's fields (which carry `System.IsDeleted: true`) |
//! | `work_item_revisions` | every revision, including those of deleted items (what the reporting stream serves with `includeDeleted=true`): `{id, rev, fields}` with the full field map as of that revision, identities as `"Name <email>"` strings (the reporting default); sorted by (id, rev) |
//! | `work_item_links` | current active links `{rel, sourceId, targetId}` (rel as the links stream names it), sorted by (sourceId, targetId, rel) |
//! | `teams` | as `GET _apis/projects/{p}/teams` (with `projectId`, `projectName`) |
//! | `team_members` | as the members endpoint plus `teamId` and `projectId`; by team id, then display name |
//! | `users` | graph users as `GET _apis/graph/users` pages them, in that order |
//! | `iterations`, `areas` | every node (roots included) as the classification node endpoints print it, without `children`, plus `projectId` |
//! | `work_item_types` | every (project, type) as `GET {p}/_apis/wit/workitemtypes` prints it, plus `projectId`; by project id, then the process order |
//! | `fields` | as `GET _apis/wit/fields`, in that order |
//! | `pull_request_iterations` | every iteration as `…/pullRequests/{id}/iterations` lists it, plus `pullRequestId` and `repositoryId`; by PR id, then iteration id |
//! | `pull_request_changes` | every iteration's changes as `…/iterations/{n}/changes` pages them (cumulative, `changeId` = place in the whole listing), plus `pullRequestId`, `repositoryId`, `iterationId`; by PR, iteration, changeTrackingId |
//! | `pull_request_threads` | every thread as `…/threads` lists it (its comments inside), plus `pullRequestId`, `repositoryId`; by PR, thread id |
//! | `pull_request_work_items` | `{id (a string), url}` as `…/workitems` lists them, plus `pullRequestId`, `repositoryId` |
//! | `pull_request_statuses` | as `…/statuses` lists them (each names its `iterationId`), plus `pullRequestId`, `repositoryId` |
//! | `pull_request_policy_evaluations` | as `{project}/_apis/policy/evaluations?artifactId=…&includeNotApplicable=true` lists them — so **including** `notApplicable` records, which the endpoint hides without that flag — plus `pullRequestId`, `repositoryId` |
//! | `pull_request_commits` | as `…/pullRequests/{id}/commits` pages them (newest first per PR), plus `pullRequestId`, `repositoryId` |
//! | `commits` | every live repository's default-branch history, whole, as `…/repositories/{r}/commits` serves it without date filters (force-pushes applied, newest first), plus `repositoryId`; by repository id, then history order |
//! | `pipelines`, `builds`, `build_timeline_records`, `build_changes` | the Build side: definitions, builds (deleted included), main-timeline records and changes — see `builds::truth` |
//! | `releases`, `release_environments`, `release_deployments`, `environments`, `environment_deployments` | the release side; see `releases::truth` |
//!
//! The `pull_request_*` kinds cover exactly the PRs of `pull_requests` (deleted repositories'
//! PRs are absent) and generate any children not generated yet (`children`), so asking for
//! them on a big org costs time; ask for them by name when that matters. `commits` does the
//! same for completed PRs (a merge commit's change counts are its PR's last iteration's).
//!
//! So, modulo identity representation, the last revision of an item in
//! `work_item_revisions` has the same fields as the item in `work_items` plus the three
//! bookkeeping fields. Large kinds are streamed while serializing, never held whole.

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq};

use crate::boards::json::{
    self as bj, Ctx, FieldMap, Group, NodeJson, lazy, team, team_member, work_item_type,
};
use crate::boards::process::{FieldId, Kind, TYPES};
use crate::json;
use crate::model::Org;

/// Every kind, in export order (the release side's are in `releases::truth`).
pub(crate) const KINDS: [&str; 30] = [
    "projects",
    "repositories",
    "pull_requests",
    "work_items",
    "work_item_revisions",
    "work_item_links",
    "teams",
    "team_members",
    "users",
    "iterations",
    "areas",
    "work_item_types",
    "fields",
    "pull_request_iterations",
    "pull_request_changes",
    "pull_request_threads",
    "pull_request_work_items",
    "pull_request_statuses",
    "pull_request_policy_evaluations",
    "pull_request_commits",
    "commits",
    "pipelines",
    "builds",
    "build_timeline_records",
    "build_changes",
    "releases",
    "release_environments",
    "release_deployments",
    "environments",
    "environment_deployments",
];

/// Parses `a,b,c`; `Err(kind)` names the first unknown one.
pub(crate) fn parse_kinds(s: &str) -> Result<Vec<&'static str>, String> {
    let mut out = Vec::new();
    for k in s.split(',').map(str::trim).filter(|k| !k.is_empty()) {
        match KINDS.iter().find(|x| x.eq_ignore_ascii_case(k)) {
            Some(x) => out.push(*x),
            None => return Err(k.to_string()),
        }
    }
    Ok(out)
}

pub(crate) struct Truth<'a> {
    base: &'a str,
    org: &'a Org,
    kinds: Vec<&'static str>,
    /// Whether the Graph API is served: without it (Azure DevOps Server, API_FACTS §5) no
    /// endpoint lists `users`, so the truth holds none.
    graph: bool,
}

/// The truth of `kinds` (unknown names are ignored; empty = every kind); `graph` as in
/// [`Truth`].
pub(crate) fn view<'a>(base: &'a str, org: &'a Org, kinds: &[&str], graph: bool) -> Truth<'a> {
    let kinds = if kinds.is_empty() {
        KINDS.to_vec()
    } else {
        KINDS
            .iter()
            .copied()
            .filter(|k| kinds.iter().any(|x| x.eq_ignore_ascii_case(k)))
            .collect()
    };
    Truth {
        base,
        org,
        kinds,
        graph,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TruthItem<'a> {
    #[serde(flatten)]
    item: bj::WorkItemJson<'a>,
    is_deleted: bool,
    /// Destroyed from the recycle bin (only present when true).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    is_destroyed: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TruthLink {
    rel: &'static str,
    source_id: u32,
    target_id: u32,
}

#[derive(Serialize)]
struct RevisionRow<'a> {
    id: u32,
    rev: u32,
    fields: FieldMap<'a>,
}

impl Serialize for Truth<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (base, org) = (self.base, self.org);
        let b = &org.boards;
        let ctx = Ctx { base, org };
        let mut m = s.serialize_map(Some(self.kinds.len()))?;
        let mut projects: Vec<usize> = (0..org.projects.len()).collect();
        projects.sort_by(|&x, &y| org.projects[x].id.cmp(&org.projects[y].id));
        for &kind in &self.kinds {
            match kind {
                "projects" => {
                    let v: Vec<_> = projects
                        .iter()
                        .map(|&p| json::project(base, &org.projects[p]))
                        .collect();
                    m.serialize_entry(kind, &v)?;
                }
                "repositories" => {
                    let mut repos: Vec<&_> = org.repos.iter().filter(|r| !r.deleted).collect();
                    repos.sort_by(|a, c| a.id.cmp(&c.id));
                    let v: Vec<_> = repos
                        .into_iter()
                        .map(|r| json::repository(base, org, r))
                        .collect();
                    m.serialize_entry(kind, &v)?;
                }
                "pull_requests" => {
                    // The org index holds exactly the visible PRs, ascending by id.
                    let ids = org.global.ids(None);
                    let v = lazy(ids.len(), |emit| {
                        for id in ids {
                            let pr =
                                json::pull_request(base, org, &org.prs[*id as usize - 1], true);
                            if !emit(&pr) {
                                return;
                            }
                        }
                    });
                    m.serialize_entry(kind, &v)?;
                }
                "work_items" => {
                    let v = lazy(b.items.len(), |emit| {
                        for it in &b.items {
                            let row = TruthItem {
                                item: bj::work_item(ctx, it, it.rev(), Default::default()),
                                is_deleted: it.deleted,
                                is_destroyed: it.destroyed,
                            };
                            if !emit(&row) {
                                return;
                            }
                        }
                    });
                    m.serialize_entry(kind, &v)?;
                }
                "work_item_revisions" => {
                    let n: usize = b.items.iter().map(|i| i.revs.len()).sum();
                    let v = lazy(n, |emit| {
                        let mut go = true;
                        for it in &b.items {
                            b.for_each_revision(it, |rev, vals| {
                                if go {
                                    let row = RevisionRow {
                                        id: it.id,
                                        rev,
                                        fields: FieldMap {
                                            ctx,
                                            vals: vals.to_vec(),
                                            select: None,
                                            refs: false,
                                            bookkeeping: true,
                                        },
                                    };
                                    go = emit(&row);
                                }
                            });
                            if !go {
                                return;
                            }
                        }
                    });
                    m.serialize_entry(kind, &v)?;
                }
                "work_item_links" => {
                    let mut v: Vec<TruthLink> = b
                        .links
                        .iter()
                        .map(|&(source_id, target_id, k)| TruthLink {
                            rel: k.rel(),
                            source_id,
                            target_id,
                        })
                        .collect();
                    v.sort_by(|a, c| {
                        (a.source_id, a.target_id, a.rel).cmp(&(c.source_id, c.target_id, c.rel))
                    });
                    m.serialize_entry(kind, &v)?;
                }
                "teams" => {
                    let mut v: Vec<_> = (0..org.projects.len())
                        .flat_map(|p| {
                            b.projects[p]
                                .teams
                                .iter()
                                .map(move |t| team(base, &org.projects[p], t))
                        })
                        .collect();
                    v.sort_by(|a, c| team_id(a).cmp(team_id(c)));
                    m.serialize_entry(kind, &v)?;
                }
                "team_members" => {
                    let mut teams: Vec<(usize, &crate::boards::Team)> = (0..org.projects.len())
                        .flat_map(|p| b.projects[p].teams.iter().map(move |t| (p, t)))
                        .collect();
                    teams.sort_by(|a, c| a.1.id.cmp(&c.1.id));
                    let v: Vec<_> = teams
                        .into_iter()
                        .flat_map(|(p, t)| {
                            t.members.iter().map(move |&(u, admin)| {
                                team_member(
                                    base,
                                    &org.identities[u],
                                    admin,
                                    Some((t, &org.projects[p])),
                                )
                            })
                        })
                        .collect();
                    m.serialize_entry(kind, &v)?;
                }
                "users" => {
                    let users = if self.graph { org.user_count } else { 0 };
                    let v: Vec<_> = (0..users).map(|u| bj::graph_user(ctx, u)).collect();
                    m.serialize_entry(kind, &v)?;
                }
                "iterations" | "areas" => {
                    let group = if kind == "areas" {
                        Group::Areas
                    } else {
                        Group::Iterations
                    };
                    let mut nodes: Vec<NodeJson<'_>> = (0..org.projects.len())
                        .flat_map(|p| {
                            let tree = group.tree(b, p);
                            (0..tree.nodes.len()).map(move |i| NodeJson {
                                ctx,
                                project: &org.projects[p],
                                tree,
                                group,
                                node: i,
                                depth: 0,
                                links: false,
                                flat: true,
                            })
                        })
                        .collect();
                    nodes.sort_by_key(|n| n.tree.nodes[n.node].id);
                    m.serialize_entry(kind, &nodes)?;
                }
                "work_item_types" => {
                    let v: Vec<_> = projects
                        .iter()
                        .flat_map(|&p| {
                            (0..TYPES.len() as Kind)
                                .map(move |k| work_item_type(ctx, &org.projects[p], k, true))
                        })
                        .collect();
                    m.serialize_entry(kind, &v)?;
                }
                "fields" => {
                    let v: Vec<_> = (0..b.fields.len() as FieldId)
                        .map(|fid| bj::field(base, b, fid))
                        .collect();
                    m.serialize_entry(kind, &v)?;
                }
                "commits" => {
                    m.serialize_entry(kind, &BranchHistories { base, org })?;
                }
                k if crate::builds::truth::KINDS.contains(&k) => {
                    m.serialize_entry(kind, &crate::builds::truth::Kind { base, org, kind })?;
                }
                k if crate::releases::truth::KINDS.contains(&k) => {
                    let v = crate::releases::truth::Kind { base, org, kind: k };
                    m.serialize_entry(kind, &v)?;
                }
                k if k.starts_with("pull_request_") => {
                    m.serialize_entry(kind, &PrChildren { base, org, kind })?;
                }
                _ => {}
            }
        }
        m.end()
    }
}

fn team_id<'a>(t: &'a bj::TeamJson<'_>) -> &'a str {
    t.id()
}

/// One `pull_request_*` kind, streamed PR by PR.
struct PrChildren<'a> {
    base: &'a str,
    org: &'a Org,
    kind: &'static str,
}

impl Serialize for PrChildren<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use crate::children::json::{self as cj, Ctx, owned};
        let (base, org, kind) = (self.base, self.org, self.kind);
        let ids = org.global.ids(None);
        let mut seq = s.serialize_seq(None)?;
        for id in ids {
            let pr = &org.prs[*id as usize - 1];
            let c = crate::children::of(org, pr);
            let cx = Ctx { base, org, pr };
            match kind {
                "pull_request_iterations" => {
                    for it in &c.iterations {
                        seq.serialize_element(&owned(cx, cj::iteration(cx, it), None))?;
                    }
                }
                "pull_request_changes" => {
                    for it in &c.iterations {
                        for (i, (cti, f)) in c.files_at(it.id).enumerate() {
                            let e = cj::change(cx, it.id, i as u32 + 1, cti, f);
                            seq.serialize_element(&owned(cx, e, Some(it.id)))?;
                        }
                    }
                }
                "pull_request_threads" => {
                    for t in &c.threads {
                        seq.serialize_element(&owned(cx, cj::thread(cx, c, t), None))?;
                    }
                }
                "pull_request_work_items" => {
                    for w in &c.work_items {
                        seq.serialize_element(&owned(cx, cj::work_item(cx, *w), None))?;
                    }
                }
                "pull_request_statuses" => {
                    for st in &c.statuses {
                        seq.serialize_element(&owned(cx, cj::status(cx, st), None))?;
                    }
                }
                "pull_request_policy_evaluations" => {
                    for e in &c.evaluations {
                        seq.serialize_element(&owned(cx, cj::evaluation(cx, e), None))?;
                    }
                }
                "pull_request_commits" => {
                    for x in c.commits.iter().rev() {
                        seq.serialize_element(&owned(cx, cj::commit(cx, x), None))?;
                    }
                }
                _ => {}
            }
        }
        seq.end()
    }
}

/// Every live repository's default-branch history, streamed repository by repository.
struct BranchHistories<'a> {
    base: &'a str,
    org: &'a Org,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BranchCommit<'a, T: Serialize> {
    #[serde(flatten)]
    commit: T,
    repository_id: &'a str,
}

impl Serialize for BranchHistories<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use crate::children::json::{Ctx, merge_commit};
        let (base, org) = (self.base, self.org);
        let mut repos: Vec<usize> = (0..org.repos.len())
            .filter(|&r| !org.repos[r].deleted)
            .collect();
        repos.sort_by(|&a, &b| org.repos[a].id.cmp(&org.repos[b].id));
        let mut seq = s.serialize_seq(None)?;
        for r in repos {
            let repo = &org.repos[r];
            for e in crate::history::history(org, r, &repo.default_branch) {
                let cx = Ctx {
                    base,
                    org,
                    pr: e.pr,
                };
                let c = crate::children::of(org, e.pr);
                seq.serialize_element(&BranchCommit {
                    commit: merge_commit(cx, c, e),
                    repository_id: &repo.id,
                })?;
            }
        }
        seq.end()
    }
}
