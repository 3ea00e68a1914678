//! The Boards connector: work items with every revision, their links, the planning structure
//! (iterations, areas, work item types with states, fields) and the org data around them
//! (teams, team members, users).
//!
//! Strategy (DESIGN.md "Sync strategy per entity", API_FACTS §1.6, §4.2):
//! - work items and revisions come from the reporting revisions stream of each project
//!   (`includeDeleted=true`, `$expand=fields` for the long-text fields, `$maxPageSize`): one stream, no per-item fan-out, which is what
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
//! `deleted_at` and keeps the data); a restore is a newer revision without it. The recycle
//! bin is the second signal (`reconcile_recycle_bin`, every `sync.reconcile_every`): it
//! catches restores the stream cannot tell apart and items destroyed for good.

use std::collections::HashSet;
use std::pin::pin;

use futures::StreamExt;
use futures::future::BoxFuture;

use super::map::{core as map_core, wit};
use super::{
    Connector, Error, Mode, Need, Summary, SyncContext, commit, cursor_update, load_cursor,
};
use crate::ado::listing::{
    ClassificationNodes, Fields, GraphUsers, Listing, MAX_WORK_ITEM_IDS, RecycleBin,
    ReportingLinks, ReportingRevisions, TeamMembers, Teams, WorkItemTypeCategories, WorkItemTypes,
    WorkItemsByIds,
};
use crate::ado::models::core::TeamProject;
use crate::ado::{self, Client, Resume};
use crate::store::schema::boards::WORK_ITEM_TYPE_STATES;
use crate::store::schema::core::{GRAPH_USERS, write_users};
use crate::store::{
    AreaRow, Batch, IterationRow, Record, Store, TeamRow, WorkItemFieldRow, WorkItemRow,
    WorkItemTypeRow,
};

/// A removed work item type takes its states with it.
const TYPE_CHILDREN: &[&crate::store::schema::Table] = &[&WORK_ITEM_TYPE_STATES];

/// Connector name in config, cursors and logs.
pub const NAME: &str = "boards";
/// Requested reporting page size; ADO (and the simulator) cap it server-side (API_FACTS §1.6).
const REPORTING_PAGE: u32 = 1000;
/// Deep enough for any real classification tree.
const CLASSIFICATION_DEPTH: u32 = 20;

/// The Boards connector.
pub struct Boards;

impl Connector for Boards {
    fn name(&self) -> &'static str {
        NAME
    }

    fn needs(&self) -> &'static [Need] {
        const WORK: &[&str] = &["vso.work"];
        const PROJECT: &[&str] = &["vso.project"];
        &[
            Need {
                endpoint: "projects",
                scopes: &["vso.project", "vso.code"],
                optional: false,
            },
            Need {
                endpoint: "fields",
                scopes: WORK,
                optional: false,
            },
            Need {
                endpoint: "graph_users",
                scopes: &["vso.graph"],
                // Without it the run skips Graph users with a warning (`sync_graph_users`).
                optional: true,
            },
            Need {
                endpoint: "classification_nodes",
                scopes: WORK,
                optional: false,
            },
            Need {
                endpoint: "work_item_types",
                scopes: WORK,
                optional: false,
            },
            Need {
                endpoint: "work_item_type_categories",
                scopes: WORK,
                optional: false,
            },
            Need {
                endpoint: "teams",
                scopes: PROJECT,
                optional: false,
            },
            Need {
                endpoint: "team_members",
                scopes: PROJECT,
                optional: false,
            },
            Need {
                endpoint: "reporting_work_item_revisions",
                scopes: WORK,
                optional: false,
            },
            Need {
                endpoint: "reporting_work_item_links",
                scopes: WORK,
                optional: false,
            },
            Need {
                endpoint: "recycle_bin",
                scopes: WORK,
                optional: false,
            },
            Need {
                endpoint: "work_items",
                scopes: WORK,
                optional: false,
            },
        ]
    }

    fn run(&self, client: Client, ctx: SyncContext) -> BoxFuture<'static, Result<Summary, Error>> {
        Box::pin(async move { run(client, ctx).await })
    }
}

fn revisions_scope(project_id: &str) -> String {
    format!("work_item_revisions:{project_id}")
}

fn links_scope(project_id: &str) -> String {
    format!("work_item_links:{project_id}")
}

/// Runs the Boards connector once. Backfill and incremental differ only in where the
/// streams start: a backfill of a new run starts them from the beginning.
async fn run(client: Client, ctx: SyncContext) -> Result<Summary, Error> {
    let listing = |c: Client, x: SyncContext| async move {
        let mut s = Summary::default();
        let projects = super::projects::sync(&c, &x, NAME, &mut s).await?;
        sync_fields(&c, &x, &mut s).await?;
        sync_graph_users(&c, &x, &mut s).await?;
        Ok((projects, s))
    };
    super::by_project(&client, &ctx, NAME, listing, |client, ctx, p| async move {
        sync_project(&client, &ctx, &p).await
    })
    .await
}

/// The organization's field list (full refresh: fields it lacks are removed).
async fn sync_fields(
    client: &Client,
    ctx: &SyncContext,
    summary: &mut Summary,
) -> Result<(), Error> {
    let (fields, observed_at) = client.list_all(Fields).await?;
    let rows: Vec<WorkItemFieldRow> = fields.iter().map(wit::work_item_field_row).collect();
    summary.add("fields", rows.len() as u64);
    let present = rows.iter().map(Record::key).collect();
    let mut batch = ctx.listing_batch(observed_at);
    batch
        .upsert(rows)
        .remove_missing::<WorkItemFieldRow>(Vec::new(), present, &[]);
    commit(client, ctx, &batch, summary).await?;
    Ok(())
}

/// Graph users, page by page (continuation tokens, API_FACTS §1.1). Server has no Graph API.
async fn sync_graph_users(
    client: &Client,
    ctx: &SyncContext,
    summary: &mut Summary,
) -> Result<(), Error> {
    let mut pages = pin!(client.pages(GraphUsers, None));
    let mut first = true;
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(p) => p,
            Err(ado::Error::NotFound { .. }) if first => {
                tracing::info!(
                    connector = NAME,
                    endpoint = GraphUsers.endpoint().label(),
                    "no Graph API (Azure DevOps Server); users come from team members"
                );
                return Ok(());
            }
            // A token without the Graph scope (`vso.graph`, API_FACTS §3) still reads work
            // items; their identities and the team members keep `users` filled, so the run
            // goes on with a warning that says what is missing.
            Err(e @ ado::Error::Permission { .. }) if first => {
                tracing::warn!(
                    connector = NAME,
                    endpoint = GraphUsers.endpoint().label(),
                    error = %crate::error_chain(&e),
                    "skipping Graph users: the token lacks the Graph (Read) scope; users come \
                     from team members and work item identities only"
                );
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        first = false;
        let rows: Vec<_> = page
            .items
            .iter()
            .map(|u| map_core::graph_user_row(&u.value))
            .collect();
        summary.add("users", rows.len() as u64);
        let mut batch = Batch::new(page.sent_at);
        batch.template(&GRAPH_USERS, rows);
        commit(client, ctx, &batch, summary).await?;
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
    reconcile_recycle_bin(client, ctx, project, &mut summary).await?;
    Ok(summary)
}

fn recycle_bin_scope(project_id: &str) -> String {
    format!("recycle_bin:{project_id}")
}

/// When a project's deletions were last reconciled with its recycle bin.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct ReconcileCursor {
    at: chrono::DateTime<chrono::Utc>,
}

/// The second deletion signal (issue 9, item 3): the stream says an item was deleted or
/// restored by a revision with `System.IsDeleted`; the recycle bin says what is deleted now.
/// Items in the bin are marked deleted; items marked deleted that left it are read by id —
/// back means restored (cleared even when the restore carried no later `ChangedDate`, which
/// the stream alone cannot tell from a stale revision), `null` means destroyed for good.
/// Runs every `sync.reconcile_every`, and in every backfill.
async fn reconcile_recycle_bin(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    summary: &mut Summary,
) -> Result<(), Error> {
    let scope = recycle_bin_scope(&project.id);
    let last: Option<ReconcileCursor> = load_cursor(ctx, NAME, &scope).await?;
    let every = chrono::Duration::from_std(ctx.reconcile_every).unwrap_or(chrono::Duration::MAX);
    if ctx.mode == Mode::Sync && last.is_some_and(|c| client.now() - c.at < every) {
        return Ok(());
    }
    let (bin, observed_at) = client
        .list_all(RecycleBin {
            project: project.id.clone(),
        })
        .await?;
    let in_bin: HashSet<i64> = bin.iter().map(|d| d.id).collect();
    let left: Vec<i64> = ctx
        .store
        .deleted_work_items(&ctx.org, &project.name)
        .await?
        .into_iter()
        .filter(|id| !in_bin.contains(id))
        .collect();
    let (mut back, mut restored, mut destroyed) = (Vec::new(), Vec::new(), Vec::new());
    for ids in left.chunks(MAX_WORK_ITEM_IDS) {
        let (items, _) = client
            .list_all(WorkItemsByIds {
                project: project.id.clone(),
                ids: ids.to_vec(),
            })
            .await?;
        let found: HashSet<i64> = items.iter().flatten().map(|w| w.value.id).collect();
        back.extend(items.iter().flatten().map(wit::work_item_row));
        for &id in ids {
            if found.contains(&id) {
                restored.push(vec![id.into()]);
            } else {
                destroyed.push(vec![id.into()]);
            }
        }
    }
    tracing::info!(
        connector = NAME,
        project = %project.name,
        in_recycle_bin = in_bin.len(),
        restored = restored.len(),
        destroyed = destroyed.len(),
        "recycle bin reconciled"
    );
    summary.add("work_items", back.len() as u64);
    let mut batch = Batch::new(observed_at);
    batch
        .mark_deleted::<WorkItemRow>(in_bin.into_iter().map(|id| vec![id.into()]).collect())
        .upsert(back)
        .restore::<WorkItemRow>(restored)
        .mark_destroyed::<WorkItemRow>(destroyed)
        .with_cursor(cursor_update(
            NAME,
            &scope,
            &ReconcileCursor { at: observed_at },
        )?);
    commit(client, ctx, &batch, summary).await?;
    Ok(())
}

/// Iterations, areas, and work item types with their states and categories: one complete
/// refresh in one transaction.
async fn sync_planning(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    summary: &mut Summary,
) -> Result<(), Error> {
    let p = project.id.clone();
    let (roots, observed_at) = client
        .list_all(ClassificationNodes {
            project: p.clone(),
            depth: CLASSIFICATION_DEPTH,
        })
        .await?;
    let (types, _) = client
        .list_all(WorkItemTypes { project: p.clone() })
        .await?;
    let (categories, _) = client
        .list_all(WorkItemTypeCategories { project: p.clone() })
        .await?;
    let mut batch = ctx.listing_batch(observed_at);
    let scope = || vec![("project_id", p.as_str().into())];
    for root in &roots {
        match root.value.structure_type.as_deref() {
            Some(s) if s.eq_ignore_ascii_case("iteration") => {
                let rows: Vec<IterationRow> = wit::classification_rows(root, &p);
                summary.add("iterations", rows.len() as u64);
                let present = rows.iter().map(Record::key).collect();
                batch
                    .upsert(rows)
                    .mark_missing::<IterationRow>(scope(), present);
            }
            Some(s) if s.eq_ignore_ascii_case("area") => {
                let rows: Vec<AreaRow> = wit::classification_rows(root, &p);
                summary.add("areas", rows.len() as u64);
                let present = rows.iter().map(Record::key).collect();
                batch.upsert(rows).mark_missing::<AreaRow>(scope(), present);
            }
            other => {
                tracing::warn!(connector = NAME, project = %project.name, structure = ?other, "unknown classification root; skipped")
            }
        }
    }
    let (types, states) = wit::work_item_type_rows(&p, &types, &categories);
    summary.add("work_item_types", types.len() as u64);
    let present: Vec<_> = types.iter().map(Record::key).collect();
    batch
        .upsert(types)
        .replace_children::<WorkItemTypeRow, _>(present.clone(), states)
        .remove_missing::<WorkItemTypeRow>(scope(), present, TYPE_CHILDREN);
    commit(client, ctx, &batch, summary).await?;
    Ok(())
}

/// The project's teams and each team's members (full refresh).
async fn sync_teams(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    summary: &mut Summary,
) -> Result<(), Error> {
    let (teams, observed_at) = client
        .list_all(Teams {
            project: project.id.clone(),
        })
        .await?;
    let mut members = Vec::new();
    let mut identities = Vec::new();
    let mut seen = HashSet::new();
    for team in &teams {
        let (listed, _) = client
            .list_all(TeamMembers {
                project: project.id.clone(),
                team: team.value.id.clone(),
            })
            .await?;
        let (set, users) = map_core::team_members(&team.value.id, &listed);
        summary.add("team_members", set.len() as u64);
        members.extend(set);
        identities.extend(users.into_iter().filter(|u| seen.insert(u.id.clone())));
    }
    let rows: Vec<TeamRow> = teams
        .iter()
        .map(|t| map_core::team_row(t, &project.id))
        .collect();
    summary.add("teams", rows.len() as u64);
    let present: Vec<_> = rows.iter().map(Record::key).collect();
    let mut batch = ctx.listing_batch(observed_at);
    batch
        .upsert(rows)
        .mark_missing::<TeamRow>(
            vec![("project_id", project.id.as_str().into())],
            present.clone(),
        )
        .replace_children::<TeamRow, _>(present, members);
    write_users(&mut batch, identities);
    commit(client, ctx, &batch, summary).await?;
    Ok(())
}

/// A reporting stream's cursor: the continuation token after the last committed page.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct StreamCursor {
    run: i64,
    token: String,
    /// The revisions stream was read with long-text fields (`$expand=fields`) up to
    /// `token`. Cursors written before the connector asked for them lack it: everything
    /// before their token was stored without Description and the other long-text fields.
    #[serde(default)]
    long_text: bool,
}

/// Which stream a cursor belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Revisions,
    Links,
}

/// The stored stream position, or none when the stream starts over.
async fn stream_start(
    ctx: &SyncContext,
    scope: &str,
    stream: Stream,
) -> Result<Option<Resume>, Error> {
    let Some(cursor) = load_cursor::<StreamCursor>(ctx, NAME, scope).await? else {
        return Ok(None);
    };
    // A backfill re-reads the whole stream once per backfill run; within the same run (a
    // resumed backfill) and for incremental syncs it continues from the stored token.
    if ctx.mode == Mode::Backfill && cursor.run != ctx.run_id {
        return Ok(None);
    }
    // A database synced without long-text fields gets them by one re-read of the revisions
    // stream from the start, not by a manual re-backfill: the stored revisions are replaced
    // because the new observations carry more fields (`WorkItemRevisionRow`), and the
    // cursors committed on the way say `long_text`, so a killed re-read resumes.
    if stream == Stream::Revisions && !cursor.long_text {
        tracing::info!(
            connector = NAME,
            scope,
            "re-reading the revisions stream once from the start to fetch long-text fields"
        );
        return Ok(None);
    }
    Ok(Some(Resume::Token(cursor.token)))
}

/// The cursor to commit with a stream page.
fn stream_cursor(
    ctx: &SyncContext,
    scope: &str,
    resume: &Option<Resume>,
    batch: &mut Batch,
) -> Result<(), Error> {
    if let Some(Resume::Token(token)) = resume {
        let c = StreamCursor {
            run: ctx.run_id,
            token: token.clone(),
            long_text: true,
        };
        batch.with_cursor(cursor_update(NAME, scope, &c)?);
    }
    Ok(())
}

/// A webhook's re-fetch (issue 13): the revisions and links streams read on from their
/// stored positions to their ends, like a pass does, with each page committed with its
/// token under the run that wrote the position (so a backfill resumed later still takes the
/// position as its own). Not the per-item `workItems/{id}/revisions` endpoint: it returns
/// identities as objects where the stream returns strings (API_FACTS §7), and rows from both
/// would flip between representations. A project whose streams were never read is left to
/// its pass. Returns whether a stream was read.
pub(super) async fn refetch_streams(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    summary: &mut Summary,
) -> Result<bool, Error> {
    let mut read = false;
    let revisions = revisions_scope(&project.id);
    if let Some(c) = load_cursor::<StreamCursor>(ctx, NAME, &revisions).await?
        && c.long_text
    {
        let ctx = SyncContext {
            run_id: c.run,
            mode: Mode::Sync,
            ..ctx.clone()
        };
        sync_revisions(client, &ctx, project, summary).await?;
        read = true;
    }
    let links = links_scope(&project.id);
    if let Some(c) = load_cursor::<StreamCursor>(ctx, NAME, &links).await? {
        let ctx = SyncContext {
            run_id: c.run,
            mode: Mode::Sync,
            ..ctx.clone()
        };
        sync_links(client, &ctx, project, summary).await?;
        read = true;
    }
    Ok(read)
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
    let start = stream_start(ctx, &scope, Stream::Revisions).await?;
    let listing = ReportingRevisions {
        project: project.id.clone(),
        max_page_size: REPORTING_PAGE,
    };
    let mut pages = pin!(client.pages(listing, start));
    while let Some(page) = pages.next().await {
        let page = page?;
        let rows = wit::revision_page(&page.items);
        summary.add("work_item_revisions", rows.revisions.len() as u64);
        summary.add("work_items", rows.work_items.len() as u64);
        client.metrics().items(page.items.len() as u64);
        let mut batch = Batch::new(page.sent_at);
        batch.upsert(rows.work_items).upsert(rows.revisions);
        write_users(&mut batch, rows.identities);
        stream_cursor(ctx, &scope, &page.resume, &mut batch)?;
        commit(client, ctx, &batch, summary).await?;
    }
    Ok(())
}

/// Follows the reporting links stream like the revisions stream.
async fn sync_links(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    summary: &mut Summary,
) -> Result<(), Error> {
    let scope = links_scope(&project.id);
    let start = stream_start(ctx, &scope, Stream::Links).await?;
    let listing = ReportingLinks {
        project: project.id.clone(),
    };
    let mut pages = pin!(client.pages(listing, start));
    while let Some(page) = pages.next().await {
        let page = page?;
        let rows: Vec<_> = page.items.iter().map(wit::work_item_link_row).collect();
        summary.add("work_item_links", rows.len() as u64);
        let mut batch = Batch::new(page.sent_at);
        batch.upsert(rows);
        stream_cursor(ctx, &scope, &page.resume, &mut batch)?;
        commit(client, ctx, &batch, summary).await?;
    }
    Ok(())
}
