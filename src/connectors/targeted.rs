//! Targeted re-fetches: one pull request with its inside, a project's new work item
//! revisions, one build with its timeline — what a webhook announces (issue 13). The same
//! requests, mapping and writes as a pass, through the connector's own client (its token
//! pool and limiter), for one thing instead of a project. They never move a pass's
//! watermark backwards and never mark anything deleted: polling stays the source of truth,
//! and a re-fetch only brings a change forward.

use std::sync::atomic::AtomicBool;

use super::due::commit_group;
use super::{Error, Summary, SyncContext, boards, pipelines, pr_depth, projects, repos};
use crate::ado::endpoint::{Endpoint, PullRequestPath};
use crate::ado::models::WithRaw;
use crate::ado::models::core::TeamProject;
use crate::ado::models::git::GitPullRequest;
use crate::ado::{self, Client};
use crate::store::{Coordination, RefreshPart, Store};

/// The project `wanted` (an id, or a name) as `connector`'s last listing stored it, if it is
/// one this configuration syncs.
pub async fn project(
    ctx: &SyncContext,
    connector: &str,
    wanted: &str,
) -> Result<Option<TeamProject>, Error> {
    let known = ctx.store.visible_projects(&ctx.org, connector).await?;
    Ok(known
        .into_iter()
        .map(projects::from_known)
        .find(|p| projects::is_named(p, wanted))
        .filter(|p| projects::allowed(ctx, p)))
}

/// One pull request and, when `pull_request_depth` is on, its inside. A 404 (deleted since,
/// or no permission) changes nothing: a 404 is not a deletion (DESIGN.md).
pub async fn pull_request(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    repository: &str,
    id: i64,
) -> Result<Summary, Error> {
    let mut summary = Summary::default();
    let path = PullRequestPath {
        project: project.id.clone(),
        repository: repository.to_string(),
        pull_request: id,
    };
    let pr = match client
        .get::<serde_json::Value>(&Endpoint::PullRequest(path), &[])
        .await
    {
        Ok(r) => r,
        Err(ado::Error::NotFound { .. }) => {
            summary.add("pull_requests_not_found", 1);
            return Ok(summary);
        }
        Err(e) => return Err(e.into()),
    };
    let listed = as_listed(pr.body).map_err(|e| {
        Error::Ado(ado::Error::BadResponse {
            endpoint: "pull_request",
            reason: e.to_string(),
            snippet: String::new(),
        })
    })?;
    repos::commit_prs(
        client,
        ctx,
        project,
        vec![listed],
        pr.sent_at,
        None,
        &mut summary,
    )
    .await?;
    if !ctx.pr_depth.enabled {
        return Ok(summary);
    }
    // Due now whatever its last fetch: an active PR's comment moves no change marker, so
    // "stale before tomorrow" makes it due (RefreshPart::Children). A closed PR is due only
    // when its marker moved, as in a pass. (Not DateTime::MAX: SQLite compares times as
    // text, and a five-digit year sorts before every real one.)
    let part = RefreshPart::Children {
        stale_before: Some(client.now() + chrono::Duration::days(1)),
    };
    let due = ctx
        .store
        .pull_requests_to_refresh(&ctx.org, &project.id, part, id - 1, 1)
        .await?
        .into_iter()
        .find(|p| p.id == id);
    if let Some(due) = due {
        let refused = AtomicBool::new(!ctx.pr_depth.policy_evaluations);
        let inside = pr_depth::fetch(client, project, due, &refused).await?;
        commit_group(client, ctx, vec![inside], &mut summary).await?;
        summary.add("pull_requests_refreshed", 1);
    }
    Ok(summary)
}

/// Most characters of a PR description in list results (API_FACTS §1.2).
const LISTED_DESCRIPTION_CHARS: usize = 400;

/// A PR read by id as the listings show it: list results cut the description to 400
/// characters (API_FACTS §1.2) and every pass stores it so; the full text from a single read
/// would be replaced by the cut one at the next pass, and the row would flip between the two.
fn as_listed(mut pr: serde_json::Value) -> serde_json::Result<WithRaw<GitPullRequest>> {
    if let Some(d) = pr.get_mut("description")
        && let Some(text) = d.as_str()
        && let Some((cut, _)) = text.char_indices().nth(LISTED_DESCRIPTION_CHARS)
    {
        *d = serde_json::Value::String(text[..cut].to_string());
    }
    serde_json::from_str(&pr.to_string())
}

/// The project's work item revisions and links since the Boards connector's stored stream
/// positions (see `boards::refetch_streams`).
pub async fn work_items(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
) -> Result<Summary, Error> {
    let mut summary = Summary::default();
    boards::refetch_streams(client, ctx, project, &mut summary).await?;
    Ok(summary)
}

/// One build with its timeline and, with `build_changes` on, its changes.
pub async fn build(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    id: i64,
) -> Result<Summary, Error> {
    let mut summary = Summary::default();
    pipelines::refetch_build(client, ctx, project, id, &mut summary).await?;
    Ok(summary)
}
