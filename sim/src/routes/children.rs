//! The children of a pull request over HTTP, with ADO's paging rules:
//!
//! | endpoint | paging |
//! |---|---|
//! | `…/pullRequests/{id}/iterations` | none (API_FACTS §1.3) |
//! | `…/iterations/{n}/changes` | `$top` (default 100, capped at 2,000) / `$skip`; the body says `nextSkip`/`nextTop`, both 0 when nothing is left (§1.2). Cumulative against the common commit; `$compareTo` is not modelled (ignored) |
//! | `…/threads` | none (§1.3); `$iteration`/`$baseIteration` are ignored |
//! | `…/workitems` | none; ids are strings (§7) |
//! | `…/statuses`, `…/iterations/{n}/statuses` | none (§9.1); the second only the statuses posted on iteration `n` |
//! | `…/commits` | `$top` (default 100, capped at 500 — neither is documented) and `continuationToken`: newest first; when more remain the `x-ms-continuationtoken` header holds the id of the next commit, which `continuationToken` takes back (§1.1) |
//! | `{project}/_apis/policy/evaluations?artifactId=` | `$top` (default: all) / `$skip`; `vstfs:///CodeReview/CodeReviewId/{projectGuid}/{prId}` (the project's GUID, not its name, §9.4), anything else lists nothing; `notApplicable` records only with `includeNotApplicable=true`, as the spec says |
//!
//! Every route takes the project and repository by id or name (the repository must be the
//! PR's) and answers 404 `TF401180` for a PR that is not there, as the PR GET does.

use axum::http::StatusCode;

use super::core::{parse_count, project_not_found};
use super::git::{bad_value, pr_not_found, resolve};
use super::{Query, Reply};
use crate::children::json::{self as cj, Ctx};
use crate::children::{self, Children};
use crate::json::List;
use crate::model::{Org, PullRequest};
use crate::{Sim, read};

/// Iteration changes when `$top` is absent, and the most a page holds (API_FACTS §1.2).
pub(crate) const CHANGES_DEFAULT_TOP: usize = 100;
pub(crate) const CHANGES_MAX_TOP: usize = 2000;
/// PR commits when `$top` is absent, and the most a page holds (not documented).
pub(crate) const COMMITS_DEFAULT_TOP: usize = 100;
pub(crate) const COMMITS_MAX_TOP: usize = 500;

/// Which child of a PR a route names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Child {
    Iterations,
    IterationChanges(String),
    Threads,
    WorkItems,
    Statuses,
    IterationStatuses(String),
    Commits,
}

impl Child {
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Child::Iterations => "pullrequest_iterations",
            Child::IterationChanges(_) => "pullrequest_iteration_changes",
            Child::Threads => "pullrequest_threads",
            Child::WorkItems => "pullrequest_workitems",
            Child::Statuses => "pullrequest_statuses",
            Child::IterationStatuses(_) => "pullrequest_iteration_statuses",
            Child::Commits => "pullrequest_commits",
        }
    }
}

fn iteration_not_found(n: &str) -> Reply {
    Reply::error(
        StatusCode::NOT_FOUND,
        &format!("TF401174: The pull request iteration {n} was not found."),
        "GitPullRequestIterationNotFoundException",
    )
}

/// `n` as an existing iteration of the PR.
fn iteration_of(c: &Children, n: &str) -> Result<u32, Reply> {
    let id: u32 = n.trim().parse().map_err(|_| bad_value("iterationId", n))?;
    if id == 0 || id > c.last_iteration() {
        return Err(iteration_not_found(n));
    }
    Ok(id)
}

/// `GET [{project}/]_apis/git/repositories/{repo}/pullRequests/{id}/{child}`.
pub(super) fn child(
    sim: &Sim,
    project: Option<&str>,
    repo: &str,
    id: &str,
    which: &Child,
    query: &Query,
) -> Reply {
    let base = sim.base_url();
    let org = read(&sim.inner.state);
    let (p, r) = match resolve(&org, project, Some(repo)) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let Ok(id) = id.trim().parse::<u32>() else {
        return bad_value("pullRequestId", id);
    };
    let pr = match org.pr(id) {
        Some(pr) if p.is_none_or(|p| org.pr_project(pr) == p) && r.is_none_or(|r| pr.repo == r) => {
            pr
        }
        _ => return pr_not_found(),
    };
    let c = children::of(&org, pr);
    let cx = Ctx {
        base: &base,
        org: &org,
        pr,
    };
    match which {
        Child::Iterations => Reply::json(&List::new(
            c.iterations
                .iter()
                .map(|it| cj::iteration(cx, it))
                .collect(),
        )),
        Child::IterationChanges(n) => match iteration_of(c, n) {
            Ok(n) => changes(cx, c, n, query),
            Err(e) => e,
        },
        Child::Threads => Reply::json(&List::new(
            c.threads.iter().map(|t| cj::thread(cx, c, t)).collect(),
        )),
        Child::WorkItems => Reply::json(&List::new(
            c.work_items.iter().map(|w| cj::work_item(cx, *w)).collect(),
        )),
        Child::Statuses => Reply::json(&List::new(
            c.statuses.iter().map(|s| cj::status(cx, s)).collect(),
        )),
        Child::IterationStatuses(n) => match iteration_of(c, n) {
            Ok(n) => Reply::json(&List::new(
                c.statuses
                    .iter()
                    .filter(|s| s.iteration == n)
                    .map(|s| cj::status(cx, s))
                    .collect(),
            )),
            Err(e) => e,
        },
        Child::Commits => commits(cx, c, query),
    }
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ChangesPage<T: serde::Serialize> {
    change_entries: Vec<T>,
    next_skip: usize,
    next_top: usize,
}

fn changes(cx: Ctx<'_>, c: &Children, n: u32, query: &Query) -> Reply {
    let (top, skip) = match (parse_count(query, "$top"), parse_count(query, "$skip")) {
        (Ok(t), Ok(s)) => (
            t.unwrap_or(CHANGES_DEFAULT_TOP).min(CHANGES_MAX_TOP),
            s.unwrap_or(0),
        ),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let total = c.files_at(n).count();
    let entries: Vec<_> = c
        .files_at(n)
        .enumerate()
        .skip(skip)
        .take(top)
        .map(|(i, (cti, f))| cj::change(cx, n, i as u32 + 1, cti, f))
        .collect();
    let more = skip + entries.len() < total && !entries.is_empty();
    Reply::json(&ChangesPage {
        next_skip: if more { skip + entries.len() } else { 0 },
        next_top: if more { top } else { 0 },
        change_entries: entries,
    })
}

fn commits(cx: Ctx<'_>, c: &Children, query: &Query) -> Reply {
    let top = match parse_count(query, "$top") {
        Ok(t) => t.unwrap_or(COMMITS_DEFAULT_TOP).clamp(1, COMMITS_MAX_TOP),
        Err(e) => return e,
    };
    let newest_first: Vec<&children::Commit> = c.commits.iter().rev().collect();
    let start = match query.get("continuationtoken").filter(|t| !t.is_empty()) {
        None => 0,
        Some(token) => match newest_first
            .iter()
            .position(|x| x.sha.eq_ignore_ascii_case(token))
        {
            Some(i) => i,
            None => return bad_value("continuationToken", token),
        },
    };
    let page: Vec<_> = newest_first
        .iter()
        .skip(start)
        .take(top)
        .map(|x| cj::commit(cx, x))
        .collect();
    let next = newest_first.get(start + page.len()).map(|x| x.sha.clone());
    let reply = Reply::json(&List::new(page));
    match next {
        Some(token) => reply.with_header("x-ms-continuationtoken", token),
        None => reply,
    }
}

/// `GET {project}/_apis/policy/evaluations?artifactId=…` (preview only, API_FACTS §9.4).
pub(super) fn policy_evaluations(sim: &Sim, project: &str, query: &Query) -> Reply {
    let base = sim.base_url();
    let org = read(&sim.inner.state);
    let Some(p) = org.find_project(project) else {
        return project_not_found(project);
    };
    let Some(artifact) = query.get("artifactid").filter(|a| !a.is_empty()) else {
        return Reply::error(
            StatusCode::BAD_REQUEST,
            "Value cannot be null.\r\nParameter name: artifactId",
            "ArgumentNullException",
        );
    };
    let (top, skip) = match (parse_count(query, "$top"), parse_count(query, "$skip")) {
        (Ok(t), Ok(s)) => (t.unwrap_or(usize::MAX), s.unwrap_or(0)),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let include_na = query
        .get("includenotapplicable")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let value: Vec<_> = match artifact_pr(&org, p, artifact) {
        None => Vec::new(),
        Some(pr) => {
            let c = children::of(&org, pr);
            let cx = Ctx {
                base: &base,
                org: &org,
                pr,
            };
            c.evaluations
                .iter()
                .filter(|e| include_na || e.status != "notApplicable")
                .skip(skip)
                .take(top)
                .map(|e| cj::evaluation(cx, e))
                .collect()
        }
    };
    Reply::json(&List::new(value))
}

/// The visible PR of project `p` an artifact id names, if any.
fn artifact_pr<'a>(org: &'a Org, p: usize, artifact: &str) -> Option<&'a PullRequest> {
    const PREFIX: &str = "vstfs:///codereview/codereviewid/";
    let head = artifact.get(..PREFIX.len())?;
    if !head.eq_ignore_ascii_case(PREFIX) {
        return None;
    }
    let (project_id, pr) = artifact[PREFIX.len()..].split_once('/')?;
    if !project_id.eq_ignore_ascii_case(&org.projects[p].id) {
        return None;
    }
    let pr = org.pr(pr.trim().parse().ok()?)?;
    (org.pr_project(pr) == p).then_some(pr)
}
