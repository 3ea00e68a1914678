//! The Boards connector: work items with every revision, their links, the planning structure
//! (iterations, areas, work item types with states, fields) and the org data around them
//! (teams, team members, users).
//!
//! Strategy (DESIGN.md "Sync strategy per entity", API_FACTS §1.6, §4.2):
//! - work items and revisions come from the reporting revisions stream of each project
//!   (`includeDeleted=true`, `$maxPageSize`): one stream, no per-item fan-out, which is what
//!   Microsoft recommends over WIQL + per-item reads (API_FACTS §1.6 [BP]). Each page's
//!   revisions, the current work items it implies and the stream's continuation token are
//!   committed in one transaction; the token is the cursor, so backfill and incremental are
//!   the same loop, and a killed run resumes from the last committed page;
//! - links come the same way from the reporting links stream;
//! - iterations, areas, work item types, fields, teams and members are small: a full refresh
//!   each run;
//! - users come from the Graph API on Services; Server has no Graph (API_FACTS §5), so a 404
//!   there leaves users to the team members and work item identities.
//!
//! A deleted work item arrives as a revision with `System.IsDeleted` (the store stamps
//! `deleted_at` and keeps the data); a restore is a newer revision without it.

use super::map::{core as map_core, wit};
use super::{Error, Mode, Summary, SyncContext, check_cancel};
use crate::ado::models::core::{Team, TeamMember, TeamProject};
use crate::ado::models::graph::GraphUser;
use crate::ado::models::wit::{
    ClassificationNode, ReportingLinksBatch, ReportingRevisionsBatch, WorkItemField, WorkItemType,
    WorkItemTypeCategory,
};
use crate::ado::models::{ListEnvelope, WithRaw};
use crate::ado::paging::{SkipPager, TokenPager};
use crate::ado::{self, Client, Endpoint};
use crate::store::{Batch, CursorUpdate, PlanningRefresh, Store};
use chrono::Utc;
use std::collections::HashSet;

/// Connector name in config, cursors and logs.
pub const NAME: &str = "boards";
/// Requested reporting page size; ADO (and the simulator) cap it server-side (API_FACTS §1.6).
const REPORTING_PAGE: u32 = 1000;
/// Teams and members page size.
const TEAM_PAGE: u32 = 100;
/// Deep enough for any real classification tree.
const CLASSIFICATION_DEPTH: u32 = 20;

fn revisions_scope(project_id: &str) -> String {
    format!("work_item_revisions:{project_id}")
}

fn links_scope(project_id: &str) -> String {
    format!("work_item_links:{project_id}")
}

/// Runs the Boards connector once. Backfill and incremental differ only in where the
/// streams start: a backfill of a new run starts them from the beginning.
pub async fn run(client: &Client, ctx: &SyncContext) -> Result<Summary, Error> {
    let mut summary = Summary::default();
    let projects = super::projects::sync(client, ctx, NAME, &mut summary).await?;
    sync_fields(client, ctx, &mut summary).await?;
    sync_graph_users(client, ctx, &mut summary).await?;
    super::for_each_project(ctx, NAME, projects, summary, |p| async move {
        sync_project(client, ctx, &p).await
    })
    .await
}

/// The organization's field list (full refresh).
async fn sync_fields(
    client: &Client,
    ctx: &SyncContext,
    summary: &mut Summary,
) -> Result<(), Error> {
    check_cancel(ctx)?;
    let page: ado::Response<ListEnvelope<WithRaw<WorkItemField>>> =
        client.get(&Endpoint::Fields, &[]).await?;
    let mut batch = Batch::new(page.sent_at);
    batch.work_item_fields = Some(
        page.body
            .value
            .iter()
            .map(wit::work_item_field_row)
            .collect(),
    );
    let rows = ctx.store.apply(&ctx.org, &batch).await?;
    client.metrics().rows(rows);
    summary.add("fields", page.body.value.len() as u64);
    summary.rows += rows;
    Ok(())
}

/// Graph users, page by page (continuation tokens, API_FACTS §1.1). Server has no Graph API.
async fn sync_graph_users(
    client: &Client,
    ctx: &SyncContext,
    summary: &mut Summary,
) -> Result<(), Error> {
    let endpoint = Endpoint::GraphUsers;
    let mut pager = TokenPager::<String>::new(None);
    while let Some(token) = pager.next_request() {
        check_cancel(ctx)?;
        let query: Vec<(&str, String)> = token
            .map(|t| vec![("continuationToken", t.to_string())])
            .unwrap_or_default();
        let page: ado::Response<ListEnvelope<WithRaw<GraphUser>>> =
            match client.get(&endpoint, &query).await {
                Ok(p) => p,
                Err(ado::Error::NotFound { .. }) if summary.count("users") == 0 => {
                    tracing::info!(
                        connector = NAME,
                        endpoint = endpoint.label(),
                        "no Graph API (Azure DevOps Server); users come from team members"
                    );
                    return Ok(());
                }
                Err(e) => return Err(e.into()),
            };
        let sent_at = page.sent_at;
        let fresh = pager
            .accept(page.body.value, page.continuation, |u| {
                u.value.descriptor.clone()
            })
            .map_err(|t| super::guard(NAME, endpoint.label(), "", t))?;
        let mut batch = Batch::new(sent_at);
        batch.graph_users = fresh
            .iter()
            .map(|u| map_core::graph_user_row(&u.value))
            .collect();
        let rows = ctx.store.apply(&ctx.org, &batch).await?;
        client.metrics().rows(rows);
        summary.add("users", fresh.len() as u64);
        summary.rows += rows;
    }
    Ok(())
}

async fn sync_project(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
) -> Result<Summary, Error> {
    let mut summary = Summary::default();
    sync_planning(client, ctx, project, &mut summary).await?;
    sync_teams(client, ctx, project, &mut summary).await?;
    sync_revisions(client, ctx, project, &mut summary).await?;
    sync_links(client, ctx, project, &mut summary).await?;
    Ok(summary)
}

/// Iterations, areas, and work item types with their states and categories: one complete
/// refresh in one transaction.
async fn sync_planning(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    summary: &mut Summary,
) -> Result<(), Error> {
    check_cancel(ctx)?;
    let p = project.id.clone();
    let nodes: ado::Response<ListEnvelope<WithRaw<ClassificationNode>>> = client
        .get(
            &Endpoint::ClassificationNodes { project: p.clone() },
            &[("$depth", CLASSIFICATION_DEPTH.to_string())],
        )
        .await?;
    let types: ado::Response<ListEnvelope<WithRaw<WorkItemType>>> = client
        .get(&Endpoint::WorkItemTypes { project: p.clone() }, &[])
        .await?;
    let categories: ado::Response<ListEnvelope<WorkItemTypeCategory>> = client
        .get(
            &Endpoint::WorkItemTypeCategories { project: p.clone() },
            &[],
        )
        .await?;
    let mut refresh = PlanningRefresh {
        project_id: p,
        ..PlanningRefresh::default()
    };
    for root in &nodes.body.value {
        let rows = wit::classification_rows(root);
        match root.value.structure_type.as_deref() {
            Some(s) if s.eq_ignore_ascii_case("iteration") => refresh.iterations = Some(rows),
            Some(s) if s.eq_ignore_ascii_case("area") => refresh.areas = Some(rows),
            other => {
                tracing::warn!(connector = NAME, project = %project.name, structure = ?other, "unknown classification root; skipped")
            }
        }
    }
    refresh.work_item_types = Some(wit::work_item_type_rows(
        &types.body.value,
        &categories.body.value,
    ));
    summary.add(
        "iterations",
        refresh.iterations.as_ref().map_or(0, Vec::len) as u64,
    );
    summary.add("areas", refresh.areas.as_ref().map_or(0, Vec::len) as u64);
    summary.add("work_item_types", types.body.value.len() as u64);
    let mut batch = Batch::new(nodes.sent_at);
    batch.planning.push(refresh);
    let rows = ctx.store.apply(&ctx.org, &batch).await?;
    client.metrics().rows(rows);
    summary.rows += rows;
    Ok(())
}

/// Reads a `$top/$skip` listing to the end.
async fn list_all<T: serde::de::DeserializeOwned>(
    client: &Client,
    ctx: &SyncContext,
    endpoint: &Endpoint,
    key: impl Fn(&T) -> String,
    project: &str,
) -> Result<(Vec<T>, chrono::DateTime<Utc>), Error> {
    let mut pager = SkipPager::<String>::new(TEAM_PAGE, 0);
    let mut all = Vec::new();
    let mut first_sent = None;
    while let Some((top, skip)) = pager.next_request() {
        check_cancel(ctx)?;
        let page: ado::Response<ListEnvelope<T>> = client
            .get(
                endpoint,
                &[("$top", top.to_string()), ("$skip", skip.to_string())],
            )
            .await?;
        first_sent.get_or_insert(page.sent_at);
        all.extend(
            pager
                .accept(page.body.value, &key)
                .map_err(|t| super::guard(NAME, endpoint.label(), project, t))?,
        );
    }
    Ok((all, first_sent.unwrap_or_else(Utc::now)))
}

/// The project's teams and each team's members (full refresh).
async fn sync_teams(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    summary: &mut Summary,
) -> Result<(), Error> {
    let (teams, sent_at) = list_all::<WithRaw<Team>>(
        client,
        ctx,
        &Endpoint::Teams {
            project: project.id.clone(),
        },
        |t| t.value.id.clone(),
        &project.name,
    )
    .await?;
    let mut batch = Batch::new(sent_at);
    batch
        .teams
        .push(map_core::teams_refresh(&project.id, &teams));
    let mut seen_identities = HashSet::new();
    for team in &teams {
        let (members, _) = list_all::<TeamMember>(
            client,
            ctx,
            &Endpoint::TeamMembers {
                project: project.id.clone(),
                team: team.value.id.clone(),
            },
            |m| m.identity.id.clone(),
            &project.name,
        )
        .await?;
        let (set, identities) = map_core::team_members(&team.value.id, &members);
        summary.add("team_members", set.members.len() as u64);
        batch.team_members.push(set);
        batch.identities.extend(
            identities
                .into_iter()
                .filter(|i| seen_identities.insert(i.id.clone())),
        );
    }
    summary.add("teams", teams.len() as u64);
    let rows = ctx.store.apply(&ctx.org, &batch).await?;
    client.metrics().rows(rows);
    summary.rows += rows;
    Ok(())
}

/// The stored stream position, or none when a backfill of a new run starts over.
async fn stream_start(ctx: &SyncContext, scope: &str) -> Result<Option<String>, Error> {
    let stored = ctx.store.cursor(&ctx.org, NAME, scope).await?;
    let Some(text) = stored else { return Ok(None) };
    let cursor: StreamCursor = serde_json::from_str(&text).map_err(|e| Error::Cursor {
        scope: scope.to_string(),
        reason: e.to_string(),
    })?;
    // A backfill re-reads the whole stream once per backfill run; within the same run (a
    // resumed backfill) and for incremental syncs it continues from the stored token.
    if ctx.mode == Mode::Backfill && cursor.run != ctx.run_id {
        return Ok(None);
    }
    Ok(Some(cursor.token))
}

/// A reporting stream's cursor: the continuation token after the last committed page.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct StreamCursor {
    run: i64,
    token: String,
}

fn cursor_update(ctx: &SyncContext, scope: &str, token: &str) -> Result<CursorUpdate, Error> {
    let value = serde_json::to_string(&StreamCursor {
        run: ctx.run_id,
        token: token.to_string(),
    })
    .map_err(|e| Error::Cursor {
        scope: scope.to_string(),
        reason: e.to_string(),
    })?;
    Ok(CursorUpdate {
        connector: NAME.to_string(),
        scope: scope.to_string(),
        value,
    })
}

/// Follows the reporting revisions stream from the cursor to its last batch, committing each
/// page with the token that resumes after it.
async fn sync_revisions(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    summary: &mut Summary,
) -> Result<(), Error> {
    let scope = revisions_scope(&project.id);
    let endpoint = Endpoint::ReportingRevisions {
        project: project.id.clone(),
    };
    let mut token = stream_start(ctx, &scope).await?;
    let mut seen_tokens = HashSet::new();
    loop {
        check_cancel(ctx)?;
        let mut query = vec![
            ("includeDeleted", "true".to_string()),
            ("$maxPageSize", REPORTING_PAGE.to_string()),
        ];
        if let Some(t) = &token {
            query.push(("continuationToken", t.clone()));
        }
        let page: ado::Response<ReportingRevisionsBatch> = client.get(&endpoint, &query).await?;
        let next = page.body.continuation();
        let last = page.body.is_last_batch;
        let rows = wit::revision_page(&page.body.values);
        summary.add("work_item_revisions", rows.revisions.len() as u64);
        summary.add("work_items", rows.work_items.len() as u64);
        let mut batch = Batch::new(page.sent_at);
        batch.work_items = rows.work_items;
        batch.work_item_revisions = rows.revisions;
        batch.identities = rows.identities;
        if let Some(t) = &next {
            batch.cursor = Some(cursor_update(ctx, &scope, t)?);
        }
        let written = ctx.store.apply(&ctx.org, &batch).await?;
        client.metrics().rows(written);
        client.metrics().items(page.body.values.len() as u64);
        summary.rows += written;
        if last {
            return Ok(());
        }
        // A stream that is not at its end must move on (API_FACTS §1.1: tokens observed not
        // to advance): stop on a missing or repeated token rather than loop.
        match next {
            Some(t) if seen_tokens.insert(t.clone()) && token.as_deref() != Some(&t) => {
                token = Some(t)
            }
            other => {
                return Err(super::guard(
                    NAME,
                    endpoint.label(),
                    &project.name,
                    ado::paging::GuardTrip::RepeatedToken(other.unwrap_or_default()),
                ));
            }
        }
    }
}

/// Follows the reporting links stream like the revisions stream.
async fn sync_links(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    summary: &mut Summary,
) -> Result<(), Error> {
    let scope = links_scope(&project.id);
    let endpoint = Endpoint::ReportingLinks {
        project: project.id.clone(),
    };
    let mut token = stream_start(ctx, &scope).await?;
    let mut seen_tokens = HashSet::new();
    loop {
        check_cancel(ctx)?;
        let query: Vec<(&str, String)> = token
            .iter()
            .map(|t| ("continuationToken", t.clone()))
            .collect();
        let page: ado::Response<ReportingLinksBatch> = client.get(&endpoint, &query).await?;
        let next = page.body.continuation();
        let last = page.body.is_last_batch;
        let mut batch = Batch::new(page.sent_at);
        batch.work_item_links = page
            .body
            .values
            .iter()
            .map(wit::work_item_link_row)
            .collect();
        summary.add("work_item_links", batch.work_item_links.len() as u64);
        if let Some(t) = &next {
            batch.cursor = Some(cursor_update(ctx, &scope, t)?);
        }
        let written = ctx.store.apply(&ctx.org, &batch).await?;
        client.metrics().rows(written);
        summary.rows += written;
        if last {
            return Ok(());
        }
        match next {
            Some(t) if seen_tokens.insert(t.clone()) && token.as_deref() != Some(&t) => {
                token = Some(t)
            }
            other => {
                return Err(super::guard(
                    NAME,
                    endpoint.label(),
                    &project.name,
                    ado::paging::GuardTrip::RepeatedToken(other.unwrap_or_default()),
                ));
            }
        }
    }
}
