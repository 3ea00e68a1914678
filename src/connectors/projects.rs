//! The project listing every connector starts from: the full list, written and diffed for
//! deletions (a complete, unfiltered listing is an explicit signal; a 404 never is), then
//! narrowed to `organization.projects`. Each connector records what its own tokens see; a
//! project is deleted when none sees it.

use super::map::core::project_row;
use super::{Error, Summary, SyncContext, commit};
use crate::ado::Client;
use crate::ado::listing::Projects;
use crate::ado::models::core::TeamProject;
use crate::store::schema::core::PROJECTS_NOBODY_SEES;
use crate::store::{Batch, KnownProject, ProjectRow, ProjectVisibilityRow, Record};

/// Writes one connector's project listing: the projects, and that this connector sees them.
/// A `complete` listing also marks this connector's view of the projects it lacks, and then
/// deletes the projects no connector sees any more (`PROJECTS_NOBODY_SEES`): visibility is
/// per connector (each lists with its own tokens), deletion is per organization.
pub(crate) fn write_listing(
    batch: &mut Batch,
    connector: &str,
    rows: Vec<ProjectRow>,
    complete: bool,
) {
    let seen: Vec<ProjectVisibilityRow> = rows
        .iter()
        .map(|p| ProjectVisibilityRow {
            project_id: p.id.clone(),
            connector: connector.to_string(),
        })
        .collect();
    let present = seen.iter().map(Record::key).collect();
    batch.upsert(rows).upsert(seen);
    if complete {
        batch
            .mark_missing::<ProjectVisibilityRow>(
                vec![("connector", connector.to_string().into())],
                present,
            )
            .template(&PROJECTS_NOBODY_SEES, Vec::<ProjectVisibilityRow>::new());
    }
}

/// Lists every project, writes them, marks vanished ones deleted; returns the projects to
/// sync (after the allow-list).
pub async fn sync(
    client: &Client,
    ctx: &SyncContext,
    connector: &'static str,
    summary: &mut Summary,
) -> Result<Vec<TeamProject>, Error> {
    let (all, observed_at) = client.list_all(Projects).await?;
    let rows: Vec<ProjectRow> = all.iter().map(project_row).collect();
    let mut batch = ctx.listing_batch(observed_at);
    // Only a complete, unfiltered listing can tell that a project is gone.
    write_listing(&mut batch, connector, rows, ctx.projects.is_empty());
    commit(client, ctx, &batch, summary).await?;
    client.metrics().items(all.len() as u64);
    summary.add("projects", all.len() as u64);
    let selected: Vec<TeamProject> = all
        .into_iter()
        .map(|p| p.value)
        .filter(|p| allowed(ctx, p))
        .collect();
    for wanted in &ctx.projects {
        if !selected.iter().any(|p| is_named(p, wanted)) {
            tracing::warn!(connector, project = %wanted, "project in organization.projects is not visible to the tokens");
        }
    }
    Ok(selected)
}

/// Whether `p` is the project `key` names (its name or id, case-insensitive).
pub(crate) fn is_named(p: &TeamProject, key: &str) -> bool {
    key.eq_ignore_ascii_case(&p.name) || key.eq_ignore_ascii_case(&p.id)
}

/// Whether the allow-list `organization.projects` lets `p` be synced (empty allows every
/// project).
pub(crate) fn in_allow_list(list: &[String], p: &TeamProject) -> bool {
    list.is_empty() || list.iter().any(|a| is_named(p, a))
}

/// Whether `organization.projects` lets `p` be synced.
pub(crate) fn allowed(ctx: &SyncContext, p: &TeamProject) -> bool {
    in_allow_list(&ctx.projects, p)
}

/// A project as a listing by another process stored it.
pub(crate) fn from_known(p: KnownProject) -> TeamProject {
    TeamProject {
        id: p.id,
        name: p.name,
        description: None,
        state: p.state,
        revision: None,
        visibility: p.visibility,
        last_update_time: p.last_update_time,
    }
}
