//! Timelines and build changes of one project's finished builds, fetched only when due
//! (`Store::builds_to_refresh`): a timeline when the build was never fetched or its
//! `lastChangedDate` moved since (a retried job changes a finished build), changes once per
//! build. Each fetch is written with its sync row in the transaction of its records, in
//! groups, through `connectors::due`.
//!
//! A 204 (a YAML pipeline that failed to compile has no timeline) or a 404 (a build cleaned
//! up since the listing) is recorded in the sync row's `outcome`, so the build is not asked
//! again until it changes, logged and warned about (`sync_runs.warnings`); the pass goes on.

use chrono::{DateTime, Utc};

use super::NAME;
use crate::ado::endpoint::Endpoint;
use crate::ado::listing::BuildChanges;
use crate::ado::models::build::{Timeline, TimelineRecord};
use crate::ado::models::core::TeamProject;
use crate::ado::{self, Client};
use crate::connectors::due::{DUE_PAGE, Due, Fetched, commit_group, refresh_each};
use crate::connectors::map::pipelines::{build_change_row, timeline_record_row};
use crate::connectors::{Error, Summary, SyncContext};
use crate::store::schema::pipelines::{
    BuildChangeRow, BuildChangeSyncRow, BuildTimelineRecordRow, BuildTimelineSyncRow,
};
use crate::store::{Batch, BuildPart, BuildToRefresh, Record, Store};

/// Fetches the due timelines (and, with `build_changes`, changes) of `project`.
pub(super) async fn sync(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    summary: &mut Summary,
) -> Result<(), Error> {
    let due = |part: BuildPart| {
        move |after| async move {
            Ok(ctx
                .store
                .builds_to_refresh(&ctx.org, &project.id, part, after, DUE_PAGE)
                .await?)
        }
    };
    let about = |what| Due {
        connector: NAME,
        project,
        what,
        not_found: "builds_not_found",
    };
    let id_of: fn(&BuildToRefresh) -> i64 = |b| b.id;
    let before = (
        summary.count("build_timelines_no_content"),
        summary.count("build_timelines_not_found"),
    );
    let fetched = refresh_each(
        client,
        ctx,
        about("build timeline"),
        due(BuildPart::Timeline),
        id_of,
        summary,
        |b| fetch_timeline(client, project, b),
    )
    .await?;
    summary.add("build_timelines", fetched);
    // One line for the run's warnings, however many builds; each is named in the log.
    let none = summary.count("build_timelines_no_content") - before.0;
    let gone = summary.count("build_timelines_not_found") - before.1;
    if none + gone > 0 {
        summary.warn(format!(
            "project {}: {} finished builds have no timeline: build_timeline answered 204 for {none} \
             (YAML that failed to compile) and 404 for {gone} (cleaned up); their ids are in the log",
            project.name,
            none + gone
        ));
    }
    if ctx.pipelines.build_changes {
        let fetched = refresh_each(
            client,
            ctx,
            about("build changes"),
            due(BuildPart::Changes),
            id_of,
            summary,
            |b| fetch_changes(client, project, b),
        )
        .await?;
        summary.add("build_changes_fetched", fetched);
    }
    Ok(())
}

/// One build's timeline, or what came back instead of one.
pub(super) struct TimelineFetch {
    observed_at: DateTime<Utc>,
    sync: BuildTimelineSyncRow,
    records: Vec<BuildTimelineRecordRow>,
    warning: Option<String>,
    /// The summary count a missing timeline adds to (`build_timelines_no_content`, …).
    missing: Option<&'static str>,
}

impl Fetched for TimelineFetch {
    fn counts(&self) -> Vec<(&'static str, u64)> {
        let mut c = vec![("build_timeline_records", self.records.len() as u64)];
        if let Some(kind) = self.missing {
            c.push((kind, 1));
        }
        c
    }

    fn observed_at(&self) -> DateTime<Utc> {
        self.observed_at
    }

    fn batch(items: Vec<Self>, observed_at: DateTime<Utc>) -> Batch {
        let parents: Vec<_> = items.iter().map(|i| i.sync.key()).collect();
        let mut syncs = Vec::with_capacity(items.len());
        let mut records = Vec::new();
        for i in items {
            syncs.push(i.sync);
            records.extend(i.records);
        }
        let mut batch = Batch::new(observed_at);
        batch
            .upsert(syncs)
            .replace_children::<BuildTimelineSyncRow, _>(parents, records);
        batch
    }

    fn warning(&self) -> Option<String> {
        self.warning.clone()
    }
}

async fn fetch_timeline(
    client: &Client,
    project: &TeamProject,
    due: BuildToRefresh,
) -> Result<TimelineFetch, Error> {
    let endpoint = Endpoint::BuildTimeline {
        project: project.id.clone(),
        build: due.id,
    };
    let sync = |outcome: &str| BuildTimelineSyncRow {
        build_id: due.id,
        last_changed_date: due.last_changed_date,
        outcome: outcome.to_string(),
    };
    let missing = |outcome: &str, kind: &'static str, status: u16, why: &str| {
        tracing::warn!(connector = NAME, project = %project.name, build = due.id, endpoint = "build_timeline", status, "{why}; recorded, the pass goes on");
        TimelineFetch {
            observed_at: client.now(),
            sync: sync(outcome),
            records: Vec::new(),
            warning: None,
            missing: Some(kind),
        }
    };
    match client.get::<Timeline>(&endpoint, &[]).await {
        Ok(r) => {
            let mut records = Vec::with_capacity(r.body.records.len());
            let mut skipped = 0;
            for raw in &r.body.records {
                match serde_json::from_str::<TimelineRecord>(raw.get()) {
                    Ok(rec) => records.push(timeline_record_row(due.id, &rec, raw)),
                    Err(e) => {
                        skipped += 1;
                        client.metrics().item_skipped();
                        tracing::error!(connector = NAME, build = due.id, endpoint = "build_timeline", error = %e, "timeline record skipped: its JSON does not have the expected shape");
                    }
                }
            }
            Ok(TimelineFetch {
                observed_at: r.sent_at,
                sync: sync("stored"),
                records,
                missing: None,
                warning: (skipped > 0).then(|| {
                    format!(
                        "project {}: build {}: {skipped} timeline records skipped (unexpected shape)",
                        project.name, due.id
                    )
                }),
            })
        }
        Err(ado::Error::NoContent { .. }) => Ok(missing(
            "none",
            "build_timelines_no_content",
            204,
            "no timeline (a YAML pipeline that failed to compile)",
        )),
        Err(ado::Error::NotFound { .. }) => Ok(missing(
            "not_found",
            "build_timelines_not_found",
            404,
            "no timeline (cleaned up)",
        )),
        Err(e) => Err(e.into()),
    }
}

/// One build's changes.
pub(super) struct ChangesFetch {
    observed_at: DateTime<Utc>,
    build_id: i64,
    changes: Vec<BuildChangeRow>,
}

impl Fetched for ChangesFetch {
    fn counts(&self) -> Vec<(&'static str, u64)> {
        vec![("build_changes", self.changes.len() as u64)]
    }

    fn observed_at(&self) -> DateTime<Utc> {
        self.observed_at
    }

    fn batch(items: Vec<Self>, observed_at: DateTime<Utc>) -> Batch {
        let syncs: Vec<_> = items
            .iter()
            .map(|i| BuildChangeSyncRow {
                build_id: i.build_id,
            })
            .collect();
        let parents: Vec<_> = syncs.iter().map(Record::key).collect();
        let changes: Vec<_> = items.into_iter().flat_map(|i| i.changes).collect();
        let mut batch = Batch::new(observed_at);
        batch
            .upsert(syncs)
            .replace_children::<BuildChangeSyncRow, _>(parents, changes);
        batch
    }
}

async fn fetch_changes(
    client: &Client,
    project: &TeamProject,
    due: BuildToRefresh,
) -> Result<ChangesFetch, Error> {
    let (changes, observed_at) = client
        .list_all(BuildChanges {
            project: project.id.clone(),
            build: due.id,
        })
        .await?;
    Ok(ChangesFetch {
        observed_at,
        build_id: due.id,
        changes: changes
            .iter()
            .map(|c| build_change_row(due.id, c))
            .collect(),
    })
}

/// One build's timeline and changes when they are due, as a pass would fetch them (a
/// webhook's re-fetch, issue 13).
pub(super) async fn refetch_one(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    id: i64,
    summary: &mut Summary,
) -> Result<(), Error> {
    let due = |part| async move {
        Ok::<_, Error>(
            ctx.store
                .builds_to_refresh(&ctx.org, &project.id, part, id - 1, 1)
                .await?
                .into_iter()
                .find(|b| b.id == id),
        )
    };
    if let Some(b) = due(BuildPart::Timeline).await? {
        let fetched = fetch_timeline(client, project, b).await?;
        commit_group(client, ctx, vec![fetched], summary).await?;
        summary.add("build_timelines", 1);
    }
    if ctx.pipelines.build_changes
        && let Some(b) = due(BuildPart::Changes).await?
    {
        let fetched = fetch_changes(client, project, b).await?;
        commit_group(client, ctx, vec![fetched], summary).await?;
        summary.add("build_changes_fetched", 1);
    }
    Ok(())
}
