//! Classic release management over HTTP, on the release host (API_FACTS §0, §1.1, §4.5).
//!
//! **Hosts.** On Services the release API lives on `vsrm.dev.azure.com/{org}`; the simulator
//! serves it under `http://127.0.0.1:PORT/vsrm/{org}` ([`crate::Sim::release_base_url`]) on
//! the same listener. The organization URL answers `{org}/{project}/_apis/release/…` with
//! **404 and ADO's HTML "Page not found" page** (`text/html`, before authentication) — what
//! users report when they forget the `vsrm.` host (vsts-rest-api-specs#150, #268; the HTML
//! page in shayki5/azure-devops-create-pr-task#75) — so such a client fails loudly. Anything
//! else under `/vsrm/` is a plain 404. In server mode there is no release host: the routes
//! live under the collection URL and `/vsrm/…` is a 404.
//!
//! **Lists** (behaviour read from Azure DevOps Server 2022's `RmReleasesController` and
//! `RmDeploymentsController`): `{"count", "value"}`; ordered by id, `queryOrder=descending`
//! (the default) or `ascending`; `$top` defaults to 50, and a `$top` above 100 or negative
//! means 100 (`$top=0` gives an empty page whose token points at the first match); when more
//! match, the `x-ms-continuationtoken` header holds the **id of the next one** (an integer),
//! and `continuationToken=N` resumes at id ≤ N (descending) or ≥ N (ascending).
//!
//! | route | query parameters |
//! |---|---|
//! | `release/releases` | `definitionId`, `definitionEnvironmentId`, `searchText` (name contains), `createdBy` (identity id or unique name), `statusFilter` (draft, active, abandoned; default all), `environmentStatusFilter` (flags: notStarted 1, inProgress 2, succeeded 4, canceled 8, rejected 16, queued 32, scheduled 64, partiallySucceeded 128), `minCreatedTime` (inclusive), `maxCreatedTime` (exclusive), `queryOrder`, `$top`, `continuationToken`, `$expand` (`environments`, `artifacts`; others accepted, ignored; without it the list has neither key), `artifactVersionId` (build id), `sourceBranchFilter`, `isDeleted` (`true` lists nothing: nothing is deleted), `releaseIdFilter` (ids), `path` |
//! | `release/releases/{id}` | the whole release with environments and artifacts; `$expand`, `approvalFilters`, `propertyFilters` ignored |
//! | `release/releases/{id}/environments/{environmentId}` | one environment as the release prints it |
//! | `release/deployments` | `definitionId`, `definitionEnvironmentId`, `createdBy` (the requester), `createdFor`, `minModifiedTime`/`maxModifiedTime` (on `lastModifiedOn`; inclusive / exclusive), `minStartedTime`/`maxStartedTime` (on `startedOn`, same bounds; unstarted deployments never match), `deploymentStatus` (flags or names: notDeployed, inProgress, succeeded, partiallySucceeded, failed, all), `operationStatus` (names, any case, or flags), `latestAttemptsOnly`, `sourceBranch`, `queryOrder`, `$top`, `continuationToken` |
//! | `release/definitions` | `searchText` (contains, or equal with `isExactNameMatch=true`), `path`, `$expand=environments`, `isDeleted`, `queryOrder` (idAscending default, idDescending, nameAscending, nameDescending), `$top` (default: all — unverified), `continuationToken` (the id of the next definition in that order) |
//!
//! Values that do not parse (numbers, dates, enum names) answer 400
//! `InvalidArgumentValueException` naming the parameter; an unknown release is 404
//! `ReleaseNotFoundException` (message assumed).

use axum::http::StatusCode;

use super::core::project_not_found;
use super::git::bad_value;
use super::{Api, Query, Reply, Route};
use crate::json::List;
use crate::releases::json::{self as rj, Ctx, View};
use crate::releases::{ProjectReleases, Release, release_base};
use crate::{Sim, read};

/// Releases and deployments when `$top` is absent, and the most a page holds.
pub(crate) const DEFAULT_TOP: i64 = 50;
pub(crate) const MAX_TOP: i64 = 100;

/// A release-host resource of one project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReleaseRoute {
    Releases,
    Release(String),
    ReleaseEnvironment(String, String),
    Deployments,
    Definitions,
}

impl ReleaseRoute {
    pub(crate) fn label(&self) -> &'static str {
        match self {
            ReleaseRoute::Releases => "release_releases",
            ReleaseRoute::Release(_) => "release_release",
            ReleaseRoute::ReleaseEnvironment(..) => "release_environment",
            ReleaseRoute::Deployments => "release_deployments",
            ReleaseRoute::Definitions => "release_definitions",
        }
    }
}

/// Matches the segments after `_apis/release/` (`lc` lower-cased, `raw` as sent).
pub(super) fn route(lc: &[&str], raw: &[String]) -> Option<ReleaseRoute> {
    Some(match lc {
        ["releases"] => ReleaseRoute::Releases,
        ["releases", _] => ReleaseRoute::Release(raw[1].clone()),
        ["releases", _, "environments", _] => {
            ReleaseRoute::ReleaseEnvironment(raw[1].clone(), raw[3].clone())
        }
        ["deployments"] => ReleaseRoute::Deployments,
        ["definitions"] => ReleaseRoute::Definitions,
        _ => return None,
    })
}

/// `/vsrm/{org}/…` → (true, `/{org}/…`).
pub(super) fn split_host(path: &str) -> (bool, &str) {
    let trimmed = path.trim_start_matches('/');
    match trimmed.split_once('/') {
        Some((first, rest)) if first.eq_ignore_ascii_case("vsrm") => {
            (true, &path[path.len() - rest.len() - 1..])
        }
        _ => (false, path),
    }
}

/// Applies the host rules of the module docs to a matched route.
pub(super) fn host_rule(route: Route, on_release_host: bool, server_mode: bool) -> Route {
    let is_release = matches!(route, Route::Api(Api::Release { .. }));
    match (server_mode, on_release_host, is_release) {
        (true, true, _) | (false, true, false) => Route::NotFound,
        (false, false, true) => Route::WrongHost,
        _ => route,
    }
}

/// ADO's 404 page, as the organization host answers a release URL.
pub(super) fn wrong_host() -> Reply {
    Reply {
        status: StatusCode::NOT_FOUND,
        body: PAGE_NOT_FOUND.as_bytes().to_vec(),
        content_type: "text/html; charset=utf-8".to_string(),
        headers: Vec::new(),
    }
}

const PAGE_NOT_FOUND: &str = r#"<!DOCTYPE html>
<html lang="en-US">
<head><meta charset="utf-8"><title>Azure DevOps Services | Page not found.</title></head>
<body>
<div class="error-code">404 - Page not found</div>
<div class="error-message">Page not found.</div>
<div>Looks like this page doesn't exist or can't be found. Make sure the project name and URL are correct.</div>
</body>
</html>
"#;

fn release_not_found(id: &str) -> Reply {
    Reply::error(
        StatusCode::NOT_FOUND,
        &format!("VS402852: Release with id {id} does not exist."),
        "ReleaseNotFoundException",
    )
}

/// Serves one release route of `project`.
pub(super) fn serve(sim: &Sim, project: &str, route: &ReleaseRoute, q: &Query) -> Reply {
    let base = sim.base_url();
    let rbase = release_base(&base, sim.inner.server_mode);
    let org = read(&sim.inner.state);
    let Some(p) = org.find_project(project) else {
        return project_not_found(project);
    };
    let cx = Ctx::new(&base, &rbase, &org, p);
    let result = match route {
        ReleaseRoute::Releases => releases(cx, q),
        ReleaseRoute::Release(id) => single(cx, id, None),
        ReleaseRoute::ReleaseEnvironment(id, env) => single(cx, id, Some(env)),
        ReleaseRoute::Deployments => deployments(cx, q),
        ReleaseRoute::Definitions => definitions(cx, q),
    };
    result.unwrap_or_else(|e| e)
}

fn single(cx: Ctx<'_>, id: &str, env: Option<&String>) -> Result<Reply, Reply> {
    let r = id
        .trim()
        .parse::<u32>()
        .ok()
        .and_then(|n| cx.pr().release(n))
        .ok_or_else(|| release_not_found(id))?;
    let view = View {
        environments: true,
        artifacts: true,
        single: true,
    };
    let Some(env) = env else {
        return Ok(Reply::json(&rj::release(cx, r, view)));
    };
    let i = env
        .trim()
        .parse::<u32>()
        .ok()
        .and_then(|e| r.environments.iter().position(|x| x.id == e))
        .ok_or_else(|| {
            Reply::error(
                StatusCode::NOT_FOUND,
                &format!("VS402855: Release environment with id {env} does not exist."),
                "ReleaseEnvironmentNotFoundException",
            )
        })?;
    Ok(Reply::json(&rj::environment(cx, r, i)))
}

// ---- parameter parsing ----

fn int(q: &Query, key: &str) -> Result<Option<i64>, Reply> {
    match q.get(key).map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| bad_value(key, v)),
    }
}

fn boolean(q: &Query, key: &str) -> Result<bool, Reply> {
    match q.get(key).map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(bad_value(key, v)),
    }
}

fn time(q: &Query, key: &str) -> Result<Option<i64>, Reply> {
    match q.get(key).map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => crate::time::parse(v)
            .map(Some)
            .ok_or_else(|| bad_value(key, v)),
    }
}

fn text<'q>(q: &'q Query, key: &str) -> Option<&'q str> {
    q.get(key).map(str::trim).filter(|v| !v.is_empty())
}

/// A flags enum given as names (comma-separated, any case) or as a number; `Ok(None)` when
/// absent or 0 (`undefined`).
fn flags(q: &Query, key: &str, names: &[(&str, u64)]) -> Result<Option<u64>, Reply> {
    let Some(v) = text(q, key) else {
        return Ok(None);
    };
    if let Ok(n) = v.parse::<u64>() {
        return Ok((n != 0).then_some(n));
    }
    let mut mask = 0;
    for part in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((_, bit)) = names.iter().find(|(n, _)| n.eq_ignore_ascii_case(part)) else {
            return Err(bad_value(key, v));
        };
        mask |= bit;
    }
    Ok((mask != 0).then_some(mask))
}

/// `true` for ascending.
fn order(q: &Query) -> Result<bool, Reply> {
    match text(q, "queryorder") {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("descending") || v == "0" => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("ascending") || v == "1" => Ok(true),
        Some(v) => Err(bad_value("queryOrder", v)),
    }
}

/// `$top` as the RM controllers clamp it.
fn top(q: &Query) -> Result<usize, Reply> {
    let t = int(q, "$top")?.unwrap_or(DEFAULT_TOP);
    Ok(if !(0..=MAX_TOP).contains(&t) {
        MAX_TOP
    } else {
        t
    } as usize)
}

/// Walks `1..=len` in `asc`/desc order from the continuation token, keeps what `keep`
/// accepts, and answers `top` of them plus the header naming the next.
fn page<T: serde::Serialize>(
    len: usize,
    asc: bool,
    token: i64,
    top: usize,
    keep: impl Fn(u32) -> bool,
    json: impl Fn(u32) -> T,
) -> Reply {
    let len = len as i64;
    let ids: Box<dyn Iterator<Item = i64>> = if asc {
        Box::new(token.max(1)..=len)
    } else {
        let from = if token > 0 { token.min(len) } else { len };
        Box::new((1..=from).rev())
    };
    let mut hits = ids.map(|i| i as u32).filter(|i| keep(*i)).take(top + 1);
    let value: Vec<T> = hits.by_ref().take(top).map(&json).collect();
    let next = hits.next();
    let reply = Reply::json(&List::new(value));
    match next {
        Some(n) => reply.with_header("x-ms-continuationtoken", n.to_string()),
        None => reply,
    }
}

fn same_identity(cx: Ctx<'_>, i: usize, key: &str) -> bool {
    let who = &cx.org.identities[i];
    who.id.eq_ignore_ascii_case(key) || who.unique_name.eq_ignore_ascii_case(key)
}

fn same_branch(branch: &str, wanted: &str) -> bool {
    branch.eq_ignore_ascii_case(wanted)
        || branch
            .strip_prefix("refs/heads/")
            .is_some_and(|b| b.eq_ignore_ascii_case(wanted))
}

const RELEASE_STATUS: [(&str, u64); 4] = [
    ("undefined", 0),
    ("draft", 1),
    ("active", 2),
    ("abandoned", 4),
];
const ENV_STATUS: [(&str, u64); 9] = [
    ("undefined", 0),
    ("notStarted", 1),
    ("inProgress", 2),
    ("succeeded", 4),
    ("canceled", 8),
    ("rejected", 16),
    ("queued", 32),
    ("scheduled", 64),
    ("partiallySucceeded", 128),
];

fn bit(names: &[(&str, u64)], name: &str) -> u64 {
    names
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map_or(0, |(_, b)| *b)
}

fn env_status(pr: &ProjectReleases, r: &Release, i: usize) -> &'static str {
    pr.latest(r, i)
        .map_or("notStarted", |d| d.state.environment_status())
}

/// `GET {project}/_apis/release/releases`.
fn releases(cx: Ctx<'_>, q: &Query) -> Result<Reply, Reply> {
    let pr = cx.pr();
    let definition = int(q, "definitionid")?.filter(|d| *d != 0);
    let def_env = int(q, "definitionenvironmentid")?.filter(|d| *d != 0);
    let search = text(q, "searchtext").map(str::to_lowercase);
    let created_by = text(q, "createdby");
    let status = flags(q, "statusfilter", &RELEASE_STATUS)?;
    let env_status_mask = int(q, "environmentstatusfilter")?.filter(|m| *m != 0);
    let min = time(q, "mincreatedtime")?;
    let max = time(q, "maxcreatedtime")?;
    let asc = order(q)?;
    let top = top(q)?;
    let token = int(q, "continuationtoken")?.unwrap_or(0);
    let expand = text(q, "$expand").unwrap_or("");
    let has = |name: &str, bit: u64| {
        expand
            .split(',')
            .any(|e| e.trim().eq_ignore_ascii_case(name))
            || expand.parse::<u64>().is_ok_and(|n| n & bit != 0)
    };
    let view = View {
        environments: has("environments", 2),
        artifacts: has("artifacts", 4),
        single: false,
    };
    let version = text(q, "artifactversionid");
    let branch = text(q, "sourcebranchfilter");
    let path = text(q, "path");
    let deleted = boolean(q, "isdeleted")?;
    let ids: Option<Vec<u32>> = match text(q, "releaseidfilter") {
        None => None,
        Some(v) => Some(
            v.split(',')
                .map(|x| x.trim().parse::<u32>())
                .collect::<Result<_, _>>()
                .map_err(|_| bad_value("releaseIdFilter", v))?,
        ),
    };
    let keep = |id: u32| {
        let r = &pr.releases[id as usize - 1];
        let def = &pr.definitions[r.definition];
        !deleted
            && definition.is_none_or(|d| i64::from(def.id) == d)
            && def_env.is_none_or(|e| {
                def.stages
                    .iter()
                    .any(|s| i64::from(s.definition_environment_id) == e)
            })
            && search
                .as_deref()
                .is_none_or(|s| format!("release-{}", r.number).contains(s))
            && created_by.is_none_or(|c| same_identity(cx, r.created_by, c))
            && status.is_none_or(|m| m & bit(&RELEASE_STATUS, r.status.as_str()) != 0)
            && env_status_mask.is_none_or(|m| {
                (0..r.environments.len())
                    .any(|i| m as u64 & bit(&ENV_STATUS, env_status(pr, r, i)) != 0)
            })
            && min.is_none_or(|t| r.created >= t)
            && max.is_none_or(|t| r.created < t)
            && version.is_none_or(|v| r.artifact.build_id.to_string() == v)
            && branch.is_none_or(|b| same_branch(&r.artifact.branch, b))
            && path.is_none_or(|p| def.path.eq_ignore_ascii_case(p))
            && ids.as_ref().is_none_or(|ids| ids.contains(&id))
    };
    Ok(page(pr.releases.len(), asc, token, top, keep, |id| {
        rj::release(cx, &pr.releases[id as usize - 1], view)
    }))
}

const DEPLOYMENT_STATUS: [(&str, u64); 7] = [
    ("undefined", 0),
    ("notDeployed", 1),
    ("inProgress", 2),
    ("succeeded", 4),
    ("partiallySucceeded", 8),
    ("failed", 16),
    ("all", 31),
];
const OPERATION_STATUS: [(&str, u64); 20] = [
    ("undefined", 0),
    ("queued", 1),
    ("scheduled", 2),
    ("pending", 4),
    ("approved", 8),
    ("rejected", 16),
    ("deferred", 32),
    ("queuedForAgent", 64),
    ("phaseInProgress", 128),
    ("phaseSucceeded", 256),
    ("phasePartiallySucceeded", 512),
    ("phaseFailed", 1024),
    ("canceled", 2048),
    ("phaseCanceled", 4096),
    ("manualInterventionPending", 8192),
    ("queuedForPipeline", 16384),
    ("cancelling", 32768),
    ("evaluatingGates", 65536),
    ("gateFailed", 131_072),
    ("all", 33_554_431),
];

/// `GET {project}/_apis/release/deployments`.
fn deployments(cx: Ctx<'_>, q: &Query) -> Result<Reply, Reply> {
    let pr = cx.pr();
    let definition = int(q, "definitionid")?.filter(|d| *d != 0);
    let def_env = int(q, "definitionenvironmentid")?.filter(|d| *d != 0);
    let created_by = text(q, "createdby");
    let created_for = text(q, "createdfor");
    let min_mod = time(q, "minmodifiedtime")?;
    let max_mod = time(q, "maxmodifiedtime")?;
    let min_start = time(q, "minstartedtime")?;
    let max_start = time(q, "maxstartedtime")?;
    let dstatus = flags(q, "deploymentstatus", &DEPLOYMENT_STATUS)?;
    let ostatus = flags(q, "operationstatus", &OPERATION_STATUS)?;
    let latest_only = boolean(q, "latestattemptsonly")?;
    let branch = text(q, "sourcebranch");
    let asc = order(q)?;
    let top = top(q)?;
    let token = int(q, "continuationtoken")?.unwrap_or(0);
    let keep = |id: u32| {
        let d = &pr.deployments[id as usize - 1];
        let r = &pr.releases[d.release as usize - 1];
        let def = &pr.definitions[r.definition];
        let started_in =
            |t: i64| min_start.is_none_or(|m| t >= m) && max_start.is_none_or(|m| t < m);
        definition.is_none_or(|x| i64::from(def.id) == x)
            && def_env.is_none_or(|e| i64::from(def.stages[d.env].definition_environment_id) == e)
            && created_by.is_none_or(|c| same_identity(cx, d.requested_by, c))
            && created_for.is_none_or(|c| same_identity(cx, d.requested_for, c))
            && min_mod.is_none_or(|m| d.modified >= m)
            && max_mod.is_none_or(|m| d.modified < m)
            && ((min_start.is_none() && max_start.is_none()) || d.started.is_some_and(started_in))
            && dstatus.is_none_or(|m| m & bit(&DEPLOYMENT_STATUS, d.state.deployment_status()) != 0)
            && ostatus.is_none_or(|m| m & bit(&OPERATION_STATUS, d.state.operation_status()) != 0)
            && (!latest_only || r.environments[d.env].deployments.last() == Some(&d.id))
            && branch.is_none_or(|b| same_branch(&r.artifact.branch, b))
    };
    Ok(page(pr.deployments.len(), asc, token, top, keep, |id| {
        rj::deployment(cx, &pr.deployments[id as usize - 1])
    }))
}

/// `GET {project}/_apis/release/definitions`.
fn definitions(cx: Ctx<'_>, q: &Query) -> Result<Reply, Reply> {
    let pr = cx.pr();
    let search = text(q, "searchtext").map(str::to_lowercase);
    let exact = boolean(q, "isexactnamematch")?;
    let path = text(q, "path");
    let deleted = boolean(q, "isdeleted")?;
    let expand = text(q, "$expand").unwrap_or("");
    let environments = expand
        .split(',')
        .any(|e| e.trim().eq_ignore_ascii_case("environments"));
    let top = match int(q, "$top")? {
        Some(t) if t >= 0 => t as usize,
        _ => usize::MAX,
    };
    let mut order: Vec<usize> = (0..pr.definitions.len()).collect();
    match text(q, "queryorder")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("idascending") => {}
        Some("iddescending") => order.reverse(),
        Some("nameascending") => order.sort_by_key(|&i| pr.definitions[i].name.to_lowercase()),
        Some("namedescending") => {
            order.sort_by_key(|&i| std::cmp::Reverse(pr.definitions[i].name.to_lowercase()))
        }
        Some(_) => return Err(bad_value("queryOrder", text(q, "queryorder").unwrap_or(""))),
    }
    let start = match int(q, "continuationtoken")? {
        None | Some(0) => 0,
        Some(t) => order
            .iter()
            .position(|&i| i64::from(pr.definitions[i].id) == t)
            .unwrap_or(order.len()),
    };
    let mut hits = order[start..].iter().copied().filter(|&i| {
        let d = &pr.definitions[i];
        let name = d.name.to_lowercase();
        !deleted
            && search
                .as_deref()
                .is_none_or(|s| if exact { name == s } else { name.contains(s) })
            && path.is_none_or(|p| d.path.eq_ignore_ascii_case(p))
    });
    let value: Vec<_> = hits
        .by_ref()
        .take(top)
        .map(|i| rj::definition(cx, &pr.definitions[i], environments))
        .collect();
    let reply = Reply::json(&List::new(value));
    Ok(match hits.next() {
        Some(i) => reply.with_header("x-ms-continuationtoken", pr.definitions[i].id.to_string()),
        None => reply,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_release_host_prefix_is_split_off() {
        assert_eq!(
            split_host("/vsrm/contoso/P/_apis/release/releases"),
            (true, "/contoso/P/_apis/release/releases")
        );
        assert_eq!(split_host("/VSRM/contoso/_apis"), (true, "/contoso/_apis"));
        assert_eq!(split_host("/contoso/_apis"), (false, "/contoso/_apis"));
        assert_eq!(split_host("/vsrm"), (false, "/vsrm"));
    }
}
