//! Core teams and team members (API_FACTS §1.2: `$top`/`$skip` paging).
//!
//! `GET _apis/projects/{p}/teams` lists a project's teams ordered by name; `GET _apis/teams`
//! (a 7.1-preview.3 API) lists every team of the org, ordered by name then project. `$top`
//! defaults to 100. Members come ordered by display name, each `{isTeamAdmin, identity}` as
//! in `core/members__GET__projects__projectId__teams__teamId__members4.1_.json`.

use axum::http::StatusCode;

use super::core::{parse_count, project_not_found};
use super::{Query, Reply};
use crate::boards::Team;
use crate::boards::json::{team as team_json, team_member};
use crate::json::List;
use crate::model::Org;
use crate::{Sim, read};

const DEFAULT_TOP: usize = 100;

fn team_not_found(key: &str) -> Reply {
    Reply::error(
        StatusCode::NOT_FOUND,
        &format!("The team with id or name '{key}' does not exist."),
        "TeamNotFoundException",
    )
}

fn paging(query: &Query) -> Result<(usize, usize), Reply> {
    let top = parse_count(query, "$top")?.unwrap_or(DEFAULT_TOP);
    let skip = parse_count(query, "$skip")?.unwrap_or(0);
    Ok((top, skip))
}

fn find_team<'o>(org: &'o Org, p: usize, key: &str) -> Option<&'o Team> {
    let teams = &org.boards.projects[p].teams;
    teams
        .iter()
        .find(|t| t.id.eq_ignore_ascii_case(key))
        .or_else(|| teams.iter().find(|t| t.name.eq_ignore_ascii_case(key)))
}

/// `GET _apis/projects/{p}/teams` (project given) and `GET _apis/teams` (none).
pub(super) fn teams(sim: &Sim, project: Option<&str>, query: &Query) -> Reply {
    let (top, skip) = match paging(query) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let base = sim.base_url();
    let org = read(&sim.inner.state);
    let projects: Vec<usize> = match project {
        Some(key) => match org.find_project(key) {
            Some(p) => vec![p],
            None => return project_not_found(key),
        },
        None => (0..org.projects.len()).collect(),
    };
    let mut all: Vec<(usize, &Team)> = projects
        .iter()
        .flat_map(|&p| org.boards.projects[p].teams.iter().map(move |t| (p, t)))
        .collect();
    all.sort_by(|a, b| {
        (a.1.name.to_lowercase(), &org.projects[a.0].name)
            .cmp(&(b.1.name.to_lowercase(), &org.projects[b.0].name))
    });
    let value: Vec<_> = all
        .into_iter()
        .skip(skip)
        .take(top)
        .map(|(p, t)| team_json(&base, &org.projects[p], t))
        .collect();
    Reply::json(&List::new(value))
}

/// `GET _apis/projects/{p}/teams/{idOrName}`.
pub(super) fn team(sim: &Sim, project: &str, key: &str) -> Reply {
    let base = sim.base_url();
    let org = read(&sim.inner.state);
    let Some(p) = org.find_project(project) else {
        return project_not_found(project);
    };
    match find_team(&org, p, key) {
        Some(t) => Reply::json(&team_json(&base, &org.projects[p], t)),
        None => team_not_found(key),
    }
}

/// `GET _apis/projects/{p}/teams/{idOrName}/members`.
pub(super) fn members(sim: &Sim, project: &str, key: &str, query: &Query) -> Reply {
    let (top, skip) = match paging(query) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let base = sim.base_url();
    let org = read(&sim.inner.state);
    let Some(p) = org.find_project(project) else {
        return project_not_found(project);
    };
    let Some(t) = find_team(&org, p, key) else {
        return team_not_found(key);
    };
    let value: Vec<_> = t
        .members
        .iter()
        .skip(skip)
        .take(top)
        .map(|&(u, admin)| team_member(&base, &org.identities[u], admin, None))
        .collect();
    Reply::json(&List::new(value))
}
