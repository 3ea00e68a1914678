//! The project listing every connector starts from: the full list, written and diffed for
//! deletions (a complete, unfiltered listing is an explicit signal; a 404 never is), then
//! narrowed to `organization.projects`.

use super::map::core::project_row;
use super::{Error, Summary, SyncContext, check_cancel};
use crate::ado::models::core::TeamProject;
use crate::ado::models::{ListEnvelope, WithRaw};
use crate::ado::paging::TokenPager;
use crate::ado::{self, Client, Endpoint};
use crate::store::{Batch, Store};
use chrono::{DateTime, Utc};
use std::collections::HashSet;

/// `GET _apis/projects` page size (its default).
const PROJECT_PAGE: u32 = 100;

/// Lists every project, writes them, marks vanished ones deleted; returns the projects to
/// sync (after the allow-list).
pub async fn sync(
    client: &Client,
    ctx: &SyncContext,
    connector: &'static str,
    summary: &mut Summary,
) -> Result<Vec<TeamProject>, Error> {
    let endpoint = Endpoint::Projects;
    let mut pager = TokenPager::<String>::new(None);
    let mut all = Vec::new();
    let mut first_sent: Option<DateTime<Utc>> = None;
    while let Some(token) = pager.next_request() {
        check_cancel(ctx)?;
        let mut query = vec![("$top", PROJECT_PAGE.to_string())];
        if let Some(t) = token {
            query.push(("continuationToken", t.to_string()));
        }
        let page: ado::Response<ListEnvelope<WithRaw<TeamProject>>> =
            client.get(&endpoint, &query).await?;
        first_sent.get_or_insert(page.sent_at);
        let fresh = pager
            .accept(page.body.value, page.continuation, |p| p.value.id.clone())
            .map_err(|t| super::guard(connector, endpoint.label(), "", t))?;
        all.extend(fresh);
    }
    let observed_at = first_sent.unwrap_or_else(Utc::now);
    let allowed = |p: &TeamProject| {
        ctx.projects.is_empty()
            || ctx
                .projects
                .iter()
                .any(|a| a.eq_ignore_ascii_case(&p.name) || a.eq_ignore_ascii_case(&p.id))
    };
    let mut batch = Batch::new(observed_at);
    batch.projects = all.iter().map(project_row).collect();
    let listed: HashSet<&str> = all.iter().map(|p| p.value.id.as_str()).collect();
    if ctx.projects.is_empty() {
        // Only a complete, unfiltered listing can tell that a project is gone.
        batch.deleted_projects = ctx
            .store
            .live_project_ids(&ctx.org)
            .await?
            .into_iter()
            .filter(|id| !listed.contains(id.as_str()))
            .collect();
    }
    for gone in &batch.deleted_projects {
        tracing::info!(connector, project = %gone, "project no longer listed; marked deleted");
    }
    let rows = ctx.store.apply(&ctx.org, &batch).await?;
    client.metrics().rows(rows);
    client.metrics().items(all.len() as u64);
    summary.add("projects", all.len() as u64);
    summary.rows += rows;
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
