//! Definitions and builds of one project.
//!
//! Builds are read in time windows: `queryOrder=…Ascending&minTime=W&$top=1000`, the next
//! window starting just before the newest time the last one held, de-duplicated by id at
//! the seam. Not by the continuation token: on builds it is a timestamp that has been seen
//! to hand back page one again (API_FACTS §1.1), and a window is what the cursor is
//! anyway. Three walks:
//! - finished builds by finish time from the watermark (`builds_finished:{project}`,
//!   committed with each window), which is what finds a build that finished late;
//! - every unfinished build (`statusFilter=inProgress,notStarted,cancelling,postponed`), and
//!   then the builds the database still holds as unfinished that neither walk listed, read
//!   by id with deleted ones included: finished long ago, or removed — none stays "in
//!   progress";
//! - deleted builds (`deletedFilter=onlyDeleted`), every `sync.reconcile_every` and in every
//!   backfill: retention removes old builds, whose finish time is long past the finished
//!   walk's window, and ADO has no filter on the deletion date; see [`sync_deleted`].

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{NAME, people, reconcile_due, start_from};
use crate::ado::Client;
use crate::ado::listing::{
    BUILDS_PAGE, BuildDefinitions, BuildIds, BuildOrder, Builds, DeletedFilter,
};
use crate::ado::models::WithRaw;
use crate::ado::models::build::Build;
use crate::ado::models::core::TeamProject;
use crate::connectors::map::pipelines::{build_row, pipeline_row};
use crate::connectors::{Error, Summary, SyncContext, commit, cursor_update, load_cursor};
use crate::store::schema::core::write_users;
use crate::store::schema::pipelines::PipelineRow;
use crate::store::{Batch, BuildPart, Record, Store};

/// A walk's position: the newest time committed, by the run that wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Watermark {
    pub run: i64,
    pub at: DateTime<Utc>,
}

impl Watermark {
    fn pair(self) -> (i64, DateTime<Utc>) {
        (self.run, self.at)
    }
}

/// The statuses of a build that can still change.
const UNFINISHED: &[&str] = &["inProgress", "notStarted", "cancelling", "postponed"];

/// Build ids the unfinished sweep asks for at a time from the store.
const SWEEP_PAGE: u32 = 500;

/// Every definition of the project, and those that vanished marked deleted.
pub(super) async fn sync_definitions(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    summary: &mut Summary,
) -> Result<(), Error> {
    let (definitions, observed_at) = client
        .list_all(BuildDefinitions {
            project: project.id.clone(),
        })
        .await?;
    let rows: Vec<PipelineRow> = definitions
        .iter()
        .map(|d| pipeline_row(&project.id, d))
        .collect();
    let present = rows.iter().map(Record::key).collect();
    let listed = rows.len() as u64;
    let mut batch = ctx.listing_batch(observed_at);
    batch
        .upsert(rows)
        .mark_missing::<PipelineRow>(vec![("project_id", project.id.as_str().into())], present);
    commit(client, ctx, &batch, summary).await?;
    summary.add("pipelines", listed);
    Ok(())
}

/// The three build walks of the module doc.
pub(super) async fn sync_builds(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    summary: &mut Summary,
) -> Result<(), Error> {
    let finished_scope = format!("builds_finished:{}", project.id);
    let stored: Option<Watermark> = load_cursor(ctx, NAME, &finished_scope).await?;
    let finished = Walk {
        order: BuildOrder::FinishTimeAscending,
        statuses: &[],
        deleted: DeletedFilter::Exclude,
        cursor: Some(&finished_scope),
    };
    let start = start_from(ctx, stored.map(Watermark::pair));
    finished.run(client, ctx, project, start, summary).await?;

    let unfinished = Walk {
        order: BuildOrder::QueueTimeAscending,
        statuses: UNFINISHED,
        deleted: DeletedFilter::Exclude,
        cursor: None,
    };
    let listed = unfinished.run(client, ctx, project, None, summary).await?;
    sweep_unfinished(client, ctx, project, &listed, summary).await?;

    sync_deleted(client, ctx, project, summary).await
}

/// Deleted builds, every `sync.reconcile_every` and in every backfill
/// (`builds_deleted:{project}` holds when the last walk ran): a full walk by queue time,
/// which also reaches a build deleted before it finished. Retention policies differ per
/// pipeline and branch, and builds are deleted by hand too, so there is no order to keep a
/// cheaper watermark on; like the recycle bin for work items, this is the second deletion
/// signal of the reconciliation (a build read by id in the unfinished sweep shows its own).
async fn sync_deleted(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    summary: &mut Summary,
) -> Result<(), Error> {
    let scope = format!("builds_deleted:{}", project.id);
    let last: Option<Watermark> = load_cursor(ctx, NAME, &scope).await?;
    let now = client.now();
    if !reconcile_due(ctx, last.map(Watermark::pair), now) {
        return Ok(());
    }
    let walk = Walk {
        order: BuildOrder::QueueTimeAscending,
        statuses: &[],
        deleted: DeletedFilter::Only,
        cursor: None,
    };
    let seen = walk.run(client, ctx, project, ctx.since, summary).await?;
    summary.add("builds_deleted_listed", seen.len() as u64);
    let mut batch = Batch::new(now);
    batch.with_cursor(cursor_update(
        NAME,
        &scope,
        &Watermark {
            run: ctx.run_id,
            at: now,
        },
    )?);
    commit(client, ctx, &batch, summary).await?;
    Ok(())
}

/// One kind of build walk.
struct Walk<'a> {
    order: BuildOrder,
    statuses: &'static [&'static str],
    deleted: DeletedFilter,
    /// Where the newest time is committed with each window, if anywhere.
    cursor: Option<&'a str>,
}

impl Walk<'_> {
    /// Walks the windows from `start` to the end; returns the ids it listed.
    async fn run(
        &self,
        client: &Client,
        ctx: &SyncContext,
        project: &TeamProject,
        start: Option<DateTime<Utc>>,
        summary: &mut Summary,
    ) -> Result<HashSet<i64>, Error> {
        let mut seen = HashSet::new();
        let mut min_time = start;
        loop {
            let listing = Builds {
                project: project.id.clone(),
                order: self.order,
                min_time,
                statuses: self.statuses,
                deleted: self.deleted,
            };
            let (builds, observed_at) = client.list_all(listing).await?;
            let full = builds.len() as u32 >= BUILDS_PAGE;
            let newest = builds.iter().filter_map(|b| self.time_of(&b.value)).max();
            let fresh = builds.iter().filter(|b| seen.insert(b.value.id)).count();
            write_builds(
                client,
                ctx,
                project,
                &builds,
                observed_at,
                summary,
                |batch| {
                    if let (Some(scope), Some(at)) = (self.cursor, newest) {
                        let mark = Watermark {
                            run: ctx.run_id,
                            at,
                        };
                        batch.with_cursor(cursor_update(NAME, scope, &mark)?);
                    }
                    Ok(())
                },
            )
            .await?;
            summary.add("builds", fresh as u64);
            if !full {
                break;
            }
            // The next window starts one tick (100 ns, ADO's precision) before the newest
            // time of this one, so builds sharing that time are listed again rather than
            // skipped, whether `minTime` is inclusive or not.
            let next = newest.map(|t| t - chrono::Duration::nanoseconds(100));
            if fresh == 0 || next <= min_time {
                let warning = format!(
                    "project {}: more than {BUILDS_PAGE} builds share one {:?} instant; the walk stopped there",
                    project.name, self.order
                );
                tracing::warn!(connector = NAME, project = %project.name, endpoint = "builds", "build window did not advance; stopping the walk");
                summary.warn(warning);
                break;
            }
            min_time = next;
        }
        Ok(seen)
    }

    fn time_of(&self, b: &Build) -> Option<DateTime<Utc>> {
        match self.order {
            BuildOrder::FinishTimeAscending => b.finish_time,
            BuildOrder::QueueTimeAscending => b.queue_time,
        }
    }
}

/// Upserts builds and the people who asked for them, with what `extra` adds (a cursor).
pub(super) async fn write_builds(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    builds: &[WithRaw<Build>],
    observed_at: DateTime<Utc>,
    summary: &mut Summary,
    extra: impl FnOnce(&mut Batch) -> Result<(), Error>,
) -> Result<(), Error> {
    let rows: Vec<_> = builds.iter().map(|b| build_row(&project.id, b)).collect();
    let users = people(builds.iter().map(|b| b.value.requested_for.as_ref()));
    let mut batch = Batch::new(observed_at);
    batch.upsert(rows);
    write_users(&mut batch, users);
    extra(&mut batch)?;
    if !batch.is_empty() || batch.cursor.is_some() {
        commit(client, ctx, &batch, summary).await?;
    }
    client.metrics().items(builds.len() as u64);
    Ok(())
}

/// Reads again, by id, the builds the database holds as unfinished that the unfinished walk
/// did not list: they finished (or were removed) since.
async fn sweep_unfinished(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    listed: &HashSet<i64>,
    summary: &mut Summary,
) -> Result<(), Error> {
    let mut after = 0;
    loop {
        let due = ctx
            .store
            .builds_to_refresh(
                &ctx.org,
                &project.id,
                BuildPart::Unfinished,
                after,
                SWEEP_PAGE,
            )
            .await?;
        let Some(last) = due.last() else { break };
        after = last.id;
        let ids: Vec<i64> = due
            .iter()
            .map(|b| b.id)
            .filter(|id| !listed.contains(id))
            .collect();
        for chunk in ids.chunks(BuildIds::MAX) {
            let (builds, observed_at) = client
                .list_all(BuildIds {
                    project: project.id.clone(),
                    ids: chunk.to_vec(),
                })
                .await?;
            let answered: HashSet<i64> = builds.iter().map(|b| b.value.id).collect();
            for id in chunk.iter().filter(|id| !answered.contains(id)) {
                tracing::warn!(connector = NAME, project = %project.name, build = id, "an unfinished build is gone from ADO (not even listed as deleted); left as stored");
                summary.add("builds_gone", 1);
            }
            summary.add("builds_swept", builds.len() as u64);
            write_builds(client, ctx, project, &builds, observed_at, summary, |_| {
                Ok(())
            })
            .await?;
        }
    }
    Ok(())
}
