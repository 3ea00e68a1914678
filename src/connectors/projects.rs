//! The project listing every connector starts from: the full list, written and diffed for
//! deletions (a complete, unfiltered listing is an explicit signal; a 404 never is), then
//! narrowed to `organization.projects`.

use super::map::core::project_row;
use super::{Error, Summary, SyncContext, commit};
use crate::ado::Client;
use crate::ado::listing::Projects;
use crate::ado::models::core::TeamProject;
use crate::store::{Batch, ProjectRow, Record};

/// Lists every project, writes them, marks vanished ones deleted; returns the projects to
/// sync (after the allow-list).
pub async fn sync(
    client: &Client,
    ctx: &SyncContext,
    connector: &'static str,
    summary: &mut Summary,
) -> Result<Vec<TeamProject>, Error> {
    let (all, observed_at) = client.list_all(Projects).await?;
    let allowed = |p: &TeamProject| {
        ctx.projects.is_empty()
            || ctx
                .projects
                .iter()
                .any(|a| a.eq_ignore_ascii_case(&p.name) || a.eq_ignore_ascii_case(&p.id))
    };
    let rows: Vec<ProjectRow> = all.iter().map(project_row).collect();
    let present = rows.iter().map(Record::key).collect();
    let mut batch = Batch::new(observed_at);
    batch.upsert(rows);
    if ctx.projects.is_empty() {
        // Only a complete, unfiltered listing can tell that a project is gone.
        batch.mark_missing::<ProjectRow>(Vec::new(), present);
    }
    commit(client, ctx, &batch, summary).await?;
    client.metrics().items(all.len() as u64);
    summary.add("projects", all.len() as u64);
    let selected: Vec<TeamProject> = all.into_iter().map(|p| p.value).filter(allowed).collect();
    for wanted in &ctx.projects {
        if !selected
            .iter()
            .any(|p| wanted.eq_ignore_ascii_case(&p.name) || wanted.eq_ignore_ascii_case(&p.id))
        {
            tracing::warn!(connector, project = %wanted, "project in organization.projects is not visible to the tokens");
        }
    }
    Ok(selected)
}
