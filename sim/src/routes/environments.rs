//! YAML pipeline environments and their deployment records over HTTP, on the organization host
//! (API_FACTS §8.1, §8.2). Every route needs the `vso.environment_manage` scope, the only one
//! the 7.1 spec lists.
//!
//! Paging follows Azure DevOps Server 2022's `EnvironmentsController` and
//! `EnvironmentDeploymentExecutionHistoryController`:
//!
//! | route | query parameters |
//! |---|---|
//! | `distributedtask/environments` | `name` (equal, any case — unverified), `$top` (default 50; negative or above 1,000 means 1,000), `continuationToken`: ordered by name (any case, then id); when more remain, `x-ms-continuationtoken` holds the **name** of the next environment and the token resumes at names ≥ it. Items have `resources: []`. The spec declares no response header: where real ADO puts the token for this list is unverified (API_FACTS §8.1). |
//! | `distributedtask/environments/{id}` | `expands=resourceReferences` fills `resources` (note: `expands`, not `$expand`) |
//! | `distributedtask/environments/{id}/environmentdeploymentrecords` | `top` (**no `$`**; default 25, ≤ 0 means 25, capped at 500; `$top` is ignored like any unknown key), `continuationToken`: newest first (id descending — ADO's order is unverified, API_FACTS §8.2; the Server code pages from `long.MaxValue` down); when more remain `X-MS-ContinuationToken` holds the id of the next record and the token resumes at ids ≤ it. A token that is not a number is read as none (first page), as ADO's `long.TryParse` does. |
//!
//! An unknown environment is 404 `EnvironmentNotFoundException` (message assumed).

use axum::http::StatusCode;

use super::core::project_not_found;
use super::git::bad_value;
use super::{Query, Reply};
use crate::json::List;
use crate::releases::yaml_json;
use crate::{Sim, read};

pub(crate) const ENVIRONMENTS_DEFAULT_TOP: i64 = 50;
pub(crate) const ENVIRONMENTS_MAX_TOP: i64 = 1000;
pub(crate) const RECORDS_DEFAULT_TOP: i64 = 25;
pub(crate) const RECORDS_MAX_TOP: i64 = 500;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EnvRoute {
    List,
    Get(String),
    Records(String),
}

impl EnvRoute {
    pub(crate) fn label(&self) -> &'static str {
        match self {
            EnvRoute::List => "environments",
            EnvRoute::Get(_) => "environment",
            EnvRoute::Records(_) => "environment_deployment_records",
        }
    }
}

/// Matches the segments after `_apis/distributedtask/environments`.
pub(super) fn route(lc: &[&str], raw: &[String]) -> Option<EnvRoute> {
    Some(match lc {
        [] => EnvRoute::List,
        [_] => EnvRoute::Get(raw[0].clone()),
        [_, "environmentdeploymentrecords"] => EnvRoute::Records(raw[0].clone()),
        _ => return None,
    })
}

fn not_found(id: &str) -> Reply {
    Reply::error(
        StatusCode::NOT_FOUND,
        &format!("Environment {id} not found."),
        "EnvironmentNotFoundException",
    )
}

fn int(q: &Query, key: &str, shown: &str) -> Result<Option<i64>, Reply> {
    match q.get(key).map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| bad_value(shown, v)),
    }
}

pub(super) fn serve(sim: &Sim, project: &str, route: &EnvRoute, q: &Query) -> Reply {
    let base = sim.base_url();
    let org = read(&sim.inner.state);
    let Some(p) = org.find_project(project) else {
        return project_not_found(project);
    };
    let rel = &org.releases;
    let env_of = |id: &str| {
        id.trim()
            .parse::<u32>()
            .ok()
            .and_then(|n| rel.environment(n))
            .filter(|e| e.project == p)
            .ok_or_else(|| not_found(id))
    };
    let result = match route {
        EnvRoute::List => (|| {
            let top = match int(q, "$top", "$top")?.unwrap_or(ENVIRONMENTS_DEFAULT_TOP) {
                t if !(0..=ENVIRONMENTS_MAX_TOP).contains(&t) => ENVIRONMENTS_MAX_TOP,
                t => t,
            } as usize;
            let name = q.get("name").map(str::trim).filter(|n| !n.is_empty());
            let from = q
                .get("continuationtoken")
                .map(str::to_lowercase)
                .filter(|t| !t.trim().is_empty());
            let mut envs: Vec<_> = rel.environments.iter().filter(|e| e.project == p).collect();
            envs.sort_by_key(|e| (e.name.to_lowercase(), e.id));
            let mut hits = envs.into_iter().filter(|e| {
                name.is_none_or(|n| e.name.eq_ignore_ascii_case(n))
                    && from
                        .as_deref()
                        .is_none_or(|f| e.name.to_lowercase().as_str() >= f)
            });
            let value: Vec<_> = hits
                .by_ref()
                .take(top)
                .map(|e| yaml_json::environment(&base, &org, e, false))
                .collect();
            let reply = Reply::json(&List::new(value));
            Ok(match hits.next() {
                Some(next) => reply.with_header("x-ms-continuationtoken", next.name.clone()),
                None => reply,
            })
        })(),
        EnvRoute::Get(id) => env_of(id).map(|e| {
            let resources = q
                .get("expands")
                .is_some_and(|x| x.to_ascii_lowercase().contains("resourcereferences"));
            Reply::json(&yaml_json::environment(&base, &org, e, resources))
        }),
        EnvRoute::Records(id) => env_of(id).and_then(|e| {
            let top = match int(q, "top", "top")?.unwrap_or(RECORDS_DEFAULT_TOP) {
                t if t <= 0 => RECORDS_DEFAULT_TOP,
                t => t.min(RECORDS_MAX_TOP),
            } as usize;
            let token = q
                .get("continuationtoken")
                .and_then(|t| t.trim().parse::<u64>().ok())
                .filter(|t| *t > 0)
                .unwrap_or(u64::MAX);
            let mut hits = e.records.iter().rev().copied().filter(|r| *r <= token);
            let value: Vec<_> = hits
                .by_ref()
                .take(top)
                .filter_map(|r| rel.record(r))
                .map(|r| yaml_json::record(&base, &org, r))
                .collect();
            let reply = Reply::json(&List::new(value));
            Ok(match hits.next() {
                Some(next) => reply.with_header("X-MS-ContinuationToken", next.to_string()),
                None => reply,
            })
        }),
    };
    result.unwrap_or_else(|e| e)
}
