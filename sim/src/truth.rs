//! The ground truth: every live entity exactly as the list endpoints serialize it.
//!
//! A test backfills from the HTTP API, then compares its database with this export. Projects
//! and repositories appear as in their list endpoints, PRs as in the project-level PR list with
//! `status=all` (description truncated to 400 characters, API_FACTS §1.2). Deleted
//! repositories and their PRs are absent, as they are from every endpoint. Each collection is
//! sorted by id (PRs numerically).

use serde::Serialize;

use crate::json::{self, ProjectJson, PullRequestJson, RepoJson};
use crate::model::Org;

#[derive(Serialize)]
pub(crate) struct Truth<'a> {
    projects: Vec<ProjectJson<'a>>,
    repositories: Vec<RepoJson<'a>>,
    pull_requests: Vec<PullRequestJson<'a>>,
}

pub(crate) fn view<'a>(base: &str, org: &'a Org) -> Truth<'a> {
    let mut projects: Vec<&_> = org.projects.iter().collect();
    projects.sort_by(|a, b| a.id.cmp(&b.id));
    let mut repos: Vec<&_> = org.repos.iter().filter(|r| !r.deleted).collect();
    repos.sort_by(|a, b| a.id.cmp(&b.id));
    Truth {
        projects: projects
            .into_iter()
            .map(|p| json::project(base, p))
            .collect(),
        repositories: repos
            .into_iter()
            .map(|r| json::repository(base, org, r))
            .collect(),
        // The org index holds exactly the visible PRs, ascending by id.
        pull_requests: org
            .global
            .ids(None)
            .iter()
            .map(|id| json::pull_request(base, org, &org.prs[*id as usize - 1], true))
            .collect(),
    }
}
