//! The Pipelines connector (issue 10): build definitions, builds with their timelines (and,
//! when `build_changes` is on, the commits each built), classic releases with their
//! environments and deployments on the release host, and YAML environments with their
//! deployment records — what DORA's four metrics are computed from. Its own
//! `[connectors.pipelines]` section, token pool and limiter. Per project:
//!
//! 1. definitions, listed in full and diffed (`builds.rs`);
//! 2. builds: finished ones in `finishTime` windows from the watermark (a build that finishes
//!    late, queued long ago, is still found by its finish time), every unfinished one, and
//!    builds the database holds as unfinished read again by id, so none stays "in progress"
//!    after it finished; deleted (retention) builds every `sync.reconcile_every` and in every
//!    backfill (`builds.rs`);
//! 3. timelines of finished builds never fetched or whose `lastChangedDate` moved, and build
//!    changes once per finished build, through the same grouped writer as a PR's inside
//!    (`timelines.rs`); a 204/404 timeline is recorded and warned about, and the pass goes on;
//! 4. releases by `minCreatedTime` and deployments by `minModifiedTime`, which is what
//!    catches a later deployment of an old release; the releases a deployment touched are
//!    read again for their environments (`releases.rs`);
//! 5. environments in full, and each one's deployment records up to the stored ones
//!    (`environments.rs`).
//!
//! Releases and environments are optional parts: a 403 there (a token without Release
//! (Read), or without `vso.environment_manage`, the only scope environments accept in 7.1,
//! API_FACTS §8.1) is a warning naming the endpoint and the scope, recorded in
//! `sync_runs.warnings`, and the rest of the pass goes on.

mod builds;
mod environments;
mod releases;
mod timelines;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use super::{Connector, Error, Mode, Need, Summary, SyncContext};
use crate::ado::models::IdentityRef;
use crate::ado::models::core::TeamProject;
use crate::ado::{self, Client};
use crate::store::UserRow;

/// Connector name in config, cursors and logs.
pub const NAME: &str = "pipelines";

/// The Pipelines connector.
pub struct Pipelines;

impl Connector for Pipelines {
    fn name(&self) -> &'static str {
        NAME
    }

    fn needs(&self) -> &'static [Need] {
        &[
            Need {
                endpoint: "projects",
                scopes: &["vso.project", "vso.build"],
                optional: false,
            },
            Need {
                endpoint: "build_definitions",
                scopes: &["vso.build"],
                optional: false,
            },
            Need {
                endpoint: "builds",
                scopes: &["vso.build"],
                optional: false,
            },
            Need {
                endpoint: "build_timeline",
                scopes: &["vso.build"],
                optional: false,
            },
            Need {
                endpoint: "build_changes",
                scopes: &["vso.build"],
                optional: true,
            },
            Need {
                endpoint: "releases",
                scopes: &["vso.release"],
                optional: true,
            },
            Need {
                endpoint: "release_deployments",
                scopes: &["vso.release"],
                optional: true,
            },
            Need {
                endpoint: "environments",
                scopes: &["vso.environment_manage"],
                optional: true,
            },
            Need {
                endpoint: "environment_deployment_records",
                scopes: &["vso.environment_manage"],
                optional: true,
            },
        ]
    }

    fn run(&self, client: Client, ctx: SyncContext) -> BoxFuture<'static, Result<Summary, Error>> {
        Box::pin(async move { run(client, ctx).await })
    }
}

async fn run(client: Client, ctx: SyncContext) -> Result<Summary, Error> {
    let listing = |c: Client, x: SyncContext| async move {
        let mut s = Summary::default();
        let projects = super::projects::sync(&c, &x, NAME, &mut s).await?;
        Ok((projects, s))
    };
    super::by_project(&client, &ctx, NAME, listing, |client, ctx, p| async move {
        sync_project(&client, &ctx, &p).await
    })
    .await
}

async fn sync_project(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
) -> Result<Summary, Error> {
    let mut summary = Summary::default();
    builds::sync_definitions(client, ctx, project, &mut summary).await?;
    builds::sync_builds(client, ctx, project, &mut summary).await?;
    timelines::sync(client, ctx, project, &mut summary).await?;
    if ctx.pipelines.releases {
        optional(
            releases::sync(client, ctx, project, &mut summary).await,
            project,
            "vso.release (Release (Read))",
            &mut summary,
        )?;
    }
    if ctx.pipelines.environments {
        optional(
            environments::sync(client, ctx, project, &mut summary).await,
            project,
            "vso.environment_manage (Environment (Read & manage))",
            &mut summary,
        )?;
    }
    tracing::info!(
        connector = NAME,
        project = %project.name,
        builds = summary.count("builds"),
        timelines = summary.count("build_timelines"),
        releases = summary.count("releases"),
        deployments = summary.count("release_deployments"),
        environment_deployments = summary.count("environment_deployments"),
        "pipelines synced"
    );
    Ok(summary)
}

/// One build, read by id, with its timeline and changes when due: a webhook's re-fetch
/// (issue 13). A 404 (deleted since) changes nothing; deletions are the reconciliation's.
pub(crate) async fn refetch_build(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    id: i64,
    summary: &mut Summary,
) -> Result<(), Error> {
    let endpoint = crate::ado::endpoint::Endpoint::Build {
        project: project.id.clone(),
        build: id,
    };
    let build = match client
        .get::<crate::ado::models::WithRaw<crate::ado::models::build::Build>>(&endpoint, &[])
        .await
    {
        Ok(r) => r,
        Err(ado::Error::NotFound { .. }) => {
            summary.add("builds_not_found", 1);
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    summary.add("builds", 1);
    builds::write_builds(
        client,
        ctx,
        project,
        std::slice::from_ref(&build.body),
        build.sent_at,
        summary,
        |_| Ok(()),
    )
    .await?;
    timelines::refetch_one(client, ctx, project, id, summary).await
}

/// The outcome of an optional part: a 403 is a warning naming the endpoint and the scope it
/// needs; anything else is the pass's error.
fn optional(
    result: Result<(), Error>,
    project: &TeamProject,
    scope: &str,
    summary: &mut Summary,
) -> Result<(), Error> {
    match result {
        Err(Error::Ado(ado::Error::Permission { endpoint, message })) => {
            let warning = format!(
                "project {}: {endpoint} answered 403 (needs scope {scope}); skipped this pass: {message}",
                project.name
            );
            tracing::warn!(connector = NAME, project = %project.name, endpoint, scope, %message, "optional part refused; the rest of the pass goes on");
            summary.add("parts_refused", 1);
            summary.warn(warning);
            Ok(())
        }
        other => other,
    }
}

/// The people a page names, one row per identity.
fn people<'a>(ids: impl IntoIterator<Item = Option<&'a IdentityRef>>) -> Vec<UserRow> {
    let mut seen = std::collections::BTreeMap::new();
    for i in ids.into_iter().flatten() {
        seen.entry(i.id.clone())
            .or_insert_with(|| super::map::git::user_row(i));
    }
    seen.into_values().collect()
}

/// Where a walk starts: a backfill of a new run from `sync.since`; a resumed backfill, or a
/// sync, from the stored watermark (a sync minus `sync.overlap`).
fn start_from(ctx: &SyncContext, stored: Option<(i64, DateTime<Utc>)>) -> Option<DateTime<Utc>> {
    match (ctx.mode, stored) {
        (Mode::Backfill, Some((run, at))) if run == ctx.run_id => Some(at),
        (Mode::Backfill, _) => ctx.since,
        (Mode::Sync, Some((_, at))) => Some(at - ctx.overlap()),
        (Mode::Sync, None) => ctx.since,
    }
}

/// Whether the reconciliation (deleted builds) is due: every backfill (once per run) and
/// every `sync.reconcile_every`.
fn reconcile_due(
    ctx: &SyncContext,
    last: Option<(i64, DateTime<Utc>)>,
    now: DateTime<Utc>,
) -> bool {
    let every = chrono::Duration::from_std(ctx.reconcile_every).unwrap_or(chrono::Duration::MAX);
    match (ctx.mode, last) {
        (_, None) => true,
        (Mode::Backfill, Some((run, _))) => run != ctx.run_id,
        (Mode::Sync, Some((_, at))) => now - at >= every,
    }
}
