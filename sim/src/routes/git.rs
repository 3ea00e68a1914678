//! Git resources: repositories, pull requests and branch histories, with ADO's paging rules
//! (a PR's own children are in `children`).
//!
//! Repository lists are not paginated (API_FACTS §1.3). PR lists follow §1.2 and §4.3:
//! `$top` defaults to 101 and is capped at 1000, `$skip` offsets, newest first (pullRequestId
//! descending), `searchCriteria.status` defaults to active, `minTime` (inclusive) / `maxTime`
//! (exclusive) apply to creationDate or, with `queryTimeRangeType=closed`, to closedDate, which
//! open PRs do not have. Enum values may come as names or as the numbers the Node client sends.
//! Keys are accepted with or without the `searchCriteria.` prefix, as ADO's model binder does.
//! In Server mode the time filters are ignored (they exist from api-version 7.1 only).

use axum::http::StatusCode;

use super::core::{parse_count, project_not_found};
use super::{Query, Reply};
use crate::history;
use crate::json::{self, List};
use crate::model::{Org, PrQuery, PrStatus, Scope, TimeRange};
use crate::{Sim, read};

/// Page size when `$top` is absent (undocumented but observed, API_FACTS §1.2).
pub(crate) const DEFAULT_TOP: usize = 101;
/// Largest page ADO returns whatever `$top` asks for (API_FACTS §1.2).
pub(crate) const MAX_TOP: usize = 1000;

pub(super) fn repo_not_found(key: &str) -> Reply {
    Reply::error(
        StatusCode::NOT_FOUND,
        &format!(
            "TF401019: The Git repository with name or identifier {key} does not exist or you do \
             not have permissions for the operation you are attempting."
        ),
        "GitRepositoryNotFoundException",
    )
}

pub(super) fn pr_not_found() -> Reply {
    Reply::error(
        StatusCode::NOT_FOUND,
        "TF401180: The requested pull request was not found.",
        "GitPullRequestNotFoundException",
    )
}

pub(super) fn bad_value(key: &str, v: &str) -> Reply {
    Reply::error(
        StatusCode::BAD_REQUEST,
        &format!("The value '{v}' is not valid for parameter '{key}'."),
        "InvalidArgumentValueException",
    )
}

/// Resolves the optional project and repository segments of a route.
pub(super) fn resolve(
    org: &Org,
    project: Option<&str>,
    repo: Option<&str>,
) -> Result<(Option<usize>, Option<usize>), Reply> {
    let p = match project {
        Some(key) => Some(
            org.find_project(key)
                .ok_or_else(|| project_not_found(key))?,
        ),
        None => None,
    };
    let r = match repo {
        Some(key) => Some(org.find_repo(key, p).ok_or_else(|| repo_not_found(key))?),
        None => None,
    };
    Ok((p, r))
}

/// `GET [{project}/]_apis/git/repositories`: live repositories ordered by name.
pub(super) fn repositories(sim: &Sim, project: Option<&str>) -> Reply {
    let base = sim.base_url();
    let org = read(&sim.inner.state);
    let p = match resolve(&org, project, None) {
        Ok((p, _)) => p,
        Err(e) => return e,
    };
    let value: Vec<_> = org
        .repos_by_name(p)
        .into_iter()
        .map(|r| json::repository(&base, &org, &org.repos[r]))
        .collect();
    Reply::json(&List::new(value))
}

/// `GET [{project}/]_apis/git/repositories/{idOrName}`.
pub(super) fn repository(sim: &Sim, project: Option<&str>, repo: &str) -> Reply {
    let base = sim.base_url();
    let org = read(&sim.inner.state);
    match resolve(&org, project, Some(repo)) {
        Ok((_, Some(r))) => Reply::json(&json::repository(&base, &org, &org.repos[r])),
        Ok((_, None)) => repo_not_found(repo),
        Err(e) => e,
    }
}

/// A `searchCriteria.*` value, with or without the prefix.
fn criterion<'q>(query: &'q Query, name: &str) -> Option<&'q str> {
    query
        .get(&format!("searchcriteria.{name}"))
        .or_else(|| query.get(name))
        .filter(|v| !v.is_empty())
}

fn parse_status(v: Option<&str>) -> Result<Option<PrStatus>, Reply> {
    let Some(v) = v else {
        return Ok(Some(PrStatus::Active));
    };
    match v.to_ascii_lowercase().as_str() {
        // notSet behaves as the default, active.
        "notset" | "0" | "active" | "1" => Ok(Some(PrStatus::Active)),
        "abandoned" | "2" => Ok(Some(PrStatus::Abandoned)),
        "completed" | "3" => Ok(Some(PrStatus::Completed)),
        "all" | "4" => Ok(None),
        _ => Err(bad_value("searchCriteria.status", v)),
    }
}

fn parse_range(v: Option<&str>) -> Result<TimeRange, Reply> {
    match v.map(str::to_ascii_lowercase).as_deref() {
        None | Some("created" | "notset" | "0" | "1") => Ok(TimeRange::Created),
        Some("closed" | "2") => Ok(TimeRange::Closed),
        Some(_) => Err(bad_value(
            "searchCriteria.queryTimeRangeType",
            v.unwrap_or_default(),
        )),
    }
}

fn parse_time(query: &Query, name: &str) -> Result<Option<i64>, Reply> {
    match criterion(query, name) {
        None => Ok(None),
        Some(v) => crate::time::parse(v)
            .map(Some)
            .ok_or_else(|| bad_value(&format!("searchCriteria.{name}"), v)),
    }
}

fn parse_query(org: &Org, project: Option<usize>, query: &Query) -> Result<PrQuery, Reply> {
    let repo = match criterion(query, "repositoryid") {
        Some(key) => Some(
            org.find_repo(key, project)
                .ok_or_else(|| repo_not_found(key))?,
        ),
        None => None,
    };
    let owned = |name: &str| criterion(query, name).map(str::to_string);
    Ok(PrQuery {
        status: parse_status(criterion(query, "status"))?,
        time_range: parse_range(criterion(query, "querytimerangetype"))?,
        min_time: parse_time(query, "mintime")?,
        max_time: parse_time(query, "maxtime")?,
        repo,
        creator_id: owned("creatorid"),
        reviewer_id: owned("reviewerid"),
        source_ref: owned("sourcerefname"),
        target_ref: owned("targetrefname"),
        skip: parse_count(query, "$skip")?.unwrap_or(0),
        top: parse_count(query, "$top")?
            .unwrap_or(DEFAULT_TOP)
            .min(MAX_TOP),
    })
}

/// `GET {project}/_apis/git/repositories/{repo}/pullrequests` (repo given) and
/// `GET {project}/_apis/git/pullrequests` (project only).
pub(super) fn pull_requests(
    sim: &Sim,
    project: Option<&str>,
    repo: Option<&str>,
    query: &Query,
) -> Reply {
    sim.before_pr_listing(project);
    let base = sim.base_url();
    let org = read(&sim.inner.state);
    let (p, r) = match resolve(&org, project, repo) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let mut q = match parse_query(&org, p, query) {
        Ok(q) => q,
        Err(e) => return e,
    };
    if !sim.inner.pr_time_filters {
        // Server before 2022.1 has no such parameters (API_FACTS §4.3), and ASP.NET's binder
        // drops unknown query keys: the request lists as if they were absent.
        q.time_range = TimeRange::Created;
        q.min_time = None;
        q.max_time = None;
    }
    let scope = match (r, p) {
        (Some(r), _) => Scope::Repo(r),
        (None, Some(p)) => Scope::Project(p),
        (None, None) => return project_not_found(""),
    };
    let value: Vec<_> = org
        .query(scope, &q)
        .into_iter()
        .map(|id| json::pull_request(&base, &org, &org.prs[id as usize - 1], true))
        .collect();
    Reply::json(&List::new(value))
}

/// `GET [{project}/]_apis/git/repositories/{repo}/commits?searchCriteria.itemVersion.version=`:
/// a branch's history, newest first (API_FACTS §4.4), as `history` folds it: the merge
/// commits of the PRs completed into the branch, minus what force-pushes dropped, rewritten
/// ones with their new sha and committer date; ordered by committer date, ties by PR id
/// descending. No version = the repository's default branch. `fromDate`/`toDate` bound the
/// **committer** date, both inclusive: ADO documents them as "history entries created
/// after/before this date", and a rebased commit is created when it is rewritten, so a
/// client asking for what changed since its last sync gets the rewritten old commits too.
/// `$top` (default 100) / `$skip` page it, each key with or without the `searchCriteria.`
/// prefix (§1.2). A branch that does not resolve (see `history::resolves`) is answered like
/// an unknown one (TF401175).
pub(super) fn commits(sim: &Sim, project: Option<&str>, repo: &str, query: &Query) -> Reply {
    let base = sim.base_url();
    let org = read(&sim.inner.state);
    let r = match resolve(&org, project, Some(repo)) {
        Ok((_, Some(r))) => r,
        Ok((_, None)) => return repo_not_found(repo),
        Err(e) => return e,
    };
    let branch = match criterion(query, "itemversion.version") {
        Some(v) => history::branch_ref(v),
        None => org.repos[r].default_branch.clone(),
    };
    let mut from_to = [None, None];
    for (slot, key) in from_to.iter_mut().zip(["fromdate", "todate"]) {
        match parse_time(query, key) {
            Ok(t) => *slot = t,
            Err(e) => return e,
        }
    }
    let count = |k: &str| match parse_count(query, &format!("searchcriteria.{k}")) {
        Ok(None) => parse_count(query, k),
        other => other,
    };
    let (top, skip) = match (count("$top"), count("$skip")) {
        (Ok(t), Ok(s)) => (t.unwrap_or(100), s.unwrap_or(0)),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    if !history::resolves(&org, r, &branch) {
        let version = branch.strip_prefix("refs/heads/").unwrap_or(&branch);
        return Reply::error(
            StatusCode::NOT_FOUND,
            &format!(
                "TF401175:The version descriptor <Branch: {version}> could not be resolved to a \
                 version commit in the repository {}",
                org.repos[r].name
            ),
            "GitUnresolvableToCommitException",
        );
    }
    let value: Vec<_> = history::history(&org, r, &branch)
        .into_iter()
        .filter(|e| {
            from_to[0].is_none_or(|f| e.committed >= f)
                && from_to[1].is_none_or(|t| e.committed <= t)
        })
        .skip(skip)
        .take(top)
        .map(|e| {
            let cx = crate::children::json::Ctx {
                base: &base,
                org: &org,
                pr: e.pr,
            };
            crate::children::json::merge_commit(cx, crate::children::of(&org, e.pr), e)
        })
        .collect();
    Reply::json(&List::new(value))
}

/// `GET [{project}/]_apis/git/[repositories/{repo}/]pullrequests/{id}`: the whole description.
pub(super) fn pull_request(
    sim: &Sim,
    project: Option<&str>,
    repo: Option<&str>,
    id: &str,
) -> Reply {
    let base = sim.base_url();
    let org = read(&sim.inner.state);
    let (p, r) = match resolve(&org, project, repo) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let Ok(id) = id.trim().parse::<u32>() else {
        return bad_value("pullRequestId", id);
    };
    match org.pr(id) {
        Some(pr) if p.is_none_or(|p| org.pr_project(pr) == p) && r.is_none_or(|r| pr.repo == r) => {
            Reply::json(&json::pull_request(&base, &org, pr, false))
        }
        _ => pr_not_found(),
    }
}
