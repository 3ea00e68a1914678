//! Connectors: the sync strategies, glue between `ado` and `store`.
//!
//! A connector is registered once in [`REGISTRY`]: its name, the endpoints and PAT scopes it
//! needs ([`Need`], for `validate` and the README's scope table) and its run for a [`Mode`].
//! It asks the client for pages ([`crate::ado::Client::pages`]), maps them with the pure
//! functions in [`map`], and hands rows and cursors to the store ([`commit`]). It never builds
//! URLs by hand and never writes SQL. Projects run as spawned tasks ([`for_each_project`]);
//! a cancelled run stops at the next request, because the client refuses it.

pub mod boards;
pub mod commits;
mod due;
pub mod map;
pub mod pipelines;
mod pr_depth;
pub mod pr_window;
pub mod projects;
pub mod pull_commits;
pub mod repos;
pub mod targeted;

use crate::ado::{self, Client};
use crate::engine::lease::{self, Work};
use crate::store::{self, AnyStore, Batch, Coordination, CursorUpdate, Store};
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;

/// Backfill (full history from `sync.since`) or one incremental pass; named like the
/// commands, and recorded so in `sync_runs.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Backfill,
    Sync,
}

impl Mode {
    /// As recorded in `sync_runs.mode`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Backfill => "backfill",
            Mode::Sync => "sync",
        }
    }
}

/// What every connector run needs besides its client. Cheap to clone (one per project task).
#[derive(Clone, Debug)]
pub struct SyncContext {
    pub org: String,
    pub store: AnyStore,
    pub mode: Mode,
    /// The `sync_runs` id this run writes into its cursors (a resumed backfill keeps its id).
    pub run_id: i64,
    pub since: Option<DateTime<Utc>>,
    pub overlap: Duration,
    /// Project allow-list (names or ids, case-insensitive); empty = every project.
    pub projects: Vec<String>,
    /// Projects synced at once.
    pub concurrency: usize,
    /// `sync.allow_mass_deletion`: complete listings may mark most of their scope deleted.
    pub allow_mass_deletion: bool,
    /// `sync.reconcile_every`: how often a sync compares deletions with a second signal (the
    /// recycle bin); a backfill always does.
    pub reconcile_every: Duration,
    /// This process's leases: a connector claims the organization scope and each project
    /// before working on it, and leaves what another process holds (or finished at or after
    /// `due_before`) alone.
    pub work: Arc<Work>,
    /// Scopes finished at or after this time need no pass now.
    pub due_before: DateTime<Utc>,
    /// Cancelled on shutdown (the client's token).
    pub cancel: tokio_util::sync::CancellationToken,
    /// `[connectors.repos.pull_request_depth]` (defaults for other connectors).
    pub pr_depth: crate::config::PullRequestDepthSettings,
    /// `[connectors.pipelines]`'s switches (defaults for other connectors).
    pub pipelines: crate::config::PipelinesSettings,
}

impl SyncContext {
    /// A batch for a complete listing that marks or removes what it lacks: the
    /// mass-deletion guard as configured.
    pub fn listing_batch(&self, observed_at: DateTime<Utc>) -> Batch {
        let mut batch = Batch::new(observed_at);
        batch.allow_mass_deletion(self.allow_mass_deletion);
        batch
    }

    /// Resolves when the pass is being cancelled (shutdown).
    pub async fn work_cancelled(&self) {
        self.cancel.cancelled().await
    }

    /// `sync.overlap` as a chrono duration.
    pub fn overlap(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.overlap).unwrap_or_default()
    }
}

/// An endpoint a connector calls and the PAT scope it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    /// The endpoint's metric label ([`ado::Endpoint::label`]).
    pub endpoint: &'static str,
    /// The PAT scopes that grant it, any one suffices (API_FACTS §13), e.g. `vso.code`.
    pub scopes: &'static [&'static str],
    /// Whether the connector still runs without it (it skips what the endpoint gives).
    pub optional: bool,
}

/// A registered connector.
pub trait Connector: Send + Sync + 'static {
    /// Name in config, cursors, logs and `sync_runs`.
    fn name(&self) -> &'static str;
    /// Every endpoint it calls, with its scope.
    fn needs(&self) -> &'static [Need];
    /// One run (backfill or sync) with its own client and context.
    fn run(&self, client: Client, ctx: SyncContext) -> BoxFuture<'static, Result<Summary, Error>>;
    /// Connectors whose rows this one reads (Pull Commits reads the Repos connector's pull
    /// requests): a one-shot `backfill` or `sync` that runs both runs this one after them.
    fn reads_from(&self) -> &'static [&'static str] {
        &[]
    }
}

/// Every connector of this build.
pub static REGISTRY: &[&dyn Connector] = &[
    &repos::Repos,
    &boards::Boards,
    &pull_commits::PullCommits,
    &commits::Commits,
    &pipelines::Pipelines,
];

/// The connector named `name`.
pub fn find(name: &str) -> Result<&'static dyn Connector, Error> {
    REGISTRY
        .iter()
        .copied()
        .find(|c| c.name() == name)
        .ok_or_else(|| Error::UnknownConnector {
            name: name.to_string(),
        })
}

/// Names of every registered connector.
pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|c| c.name()).collect()
}

/// A connector run failure.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An ADO call failed after its retries.
    #[error(transparent)]
    Ado(ado::Error),
    /// The database refused a read or write.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// A stored cursor could not be read back (written by an incompatible version).
    #[error("cursor {scope} is unreadable: {reason}")]
    Cursor { scope: String, reason: String },
    /// Some projects failed; the others were synced.
    #[error("{failed} of {total} projects failed; first error: {first}")]
    Partial {
        failed: usize,
        total: usize,
        first: Box<Error>,
    },
    /// The run was cancelled (SIGTERM / Ctrl-C); what was committed stays committed.
    #[error("cancelled")]
    Cancelled,
    /// No connector of that name exists in this build.
    #[error("no connector named `{name}` in this build")]
    UnknownConnector { name: String },
    /// A project's task ended without an outcome (it panicked).
    #[error("project {project} stopped unexpectedly: {reason}")]
    Task { project: String, reason: String },
}

impl From<ado::Error> for Error {
    fn from(e: ado::Error) -> Self {
        match e {
            ado::Error::Cancelled => Error::Cancelled,
            other => Error::Ado(other),
        }
    }
}

impl Error {
    /// The stable kind name printed for users and recorded in `sync_runs`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Ado(e) => e.kind(),
            Error::Store(_) => "database_error",
            Error::Cursor { .. } => "bad_cursor",
            Error::Partial { first, .. } => first.kind(),
            Error::Cancelled => "cancelled",
            Error::UnknownConnector { .. } => "unknown_connector",
            Error::Task { .. } => "internal_error",
        }
    }

    /// The run's outcome for `sync_runs`: `cancelled` or `failed`.
    pub fn outcome(&self) -> &'static str {
        match self {
            Error::Cancelled => "cancelled",
            _ => "failed",
        }
    }
}

/// Reads a typed cursor of `connector`.
pub(crate) async fn load_cursor<C: DeserializeOwned>(
    ctx: &SyncContext,
    connector: &str,
    scope: &str,
) -> Result<Option<C>, Error> {
    let Some(text) = ctx.store.cursor(&ctx.org, connector, scope).await? else {
        return Ok(None);
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| Error::Cursor {
            scope: scope.to_string(),
            reason: e.to_string(),
        })
}

/// A typed cursor as the update a batch commits.
pub(crate) fn cursor_update<C: Serialize>(
    connector: &str,
    scope: &str,
    value: &C,
) -> Result<CursorUpdate, Error> {
    Ok(CursorUpdate {
        connector: connector.to_string(),
        scope: scope.to_string(),
        value: serde_json::to_string(value).map_err(|e| Error::Cursor {
            scope: scope.to_string(),
            reason: e.to_string(),
        })?,
    })
}

/// Writes a page's batch (rows and cursor, one transaction) and counts its rows in the
/// client's metrics and the summary.
pub(crate) async fn commit(
    client: &Client,
    ctx: &SyncContext,
    batch: &Batch,
    summary: &mut Summary,
) -> Result<u64, Error> {
    let started = std::time::Instant::now();
    let rows = ctx.store.apply(&ctx.org, batch).await?;
    client.metrics().rows(rows);
    for w in batch.writes() {
        let n = w.row_count() as u64;
        if n > 0 {
            client.metrics().table_rows(w.table_name(), n);
        }
    }
    summary.rows += rows;
    tracing::debug!(
        connector = client.connector(),
        rows,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "page committed"
    );
    Ok(rows)
}

/// The projects a pass syncs. The organization-level listings (`listing`: projects and what
/// else the connector lists for the whole organization) run only when this process claims
/// the connector's organization scope; otherwise another process has them (or ran them since
/// `due_before`), and the projects are the ones the last listing stored. On a database that
/// has none yet, that waits for the listing another process is making.
pub(crate) async fn projects_to_sync<Fut>(
    ctx: &SyncContext,
    connector: &'static str,
    summary: &mut Summary,
    listing: Fut,
) -> Result<Vec<ado::models::core::TeamProject>, Error>
where
    Fut:
        std::future::Future<Output = Result<(Vec<ado::models::core::TeamProject>, Summary), Error>>,
{
    let started = std::time::Instant::now();
    loop {
        if ctx
            .work
            .claim(connector, lease::ORG_SCOPE, ctx.due_before, &ctx.cancel)
            .await?
        {
            let listed = listing.await;
            ctx.work
                .release(connector, lease::ORG_SCOPE, listed.is_ok())
                .await;
            let (projects, listed_summary) = listed?;
            summary.merge(&listed_summary);
            return Ok(projects);
        }
        let known = ctx.store.visible_projects(&ctx.org, connector).await?;
        if !known.is_empty() || started.elapsed() > LISTING_PATIENCE {
            tracing::info!(
                connector,
                projects = known.len(),
                "organization listings are another process's this pass; syncing the projects they stored"
            );
            return Ok(known
                .into_iter()
                .map(projects::from_known)
                .filter(|p| projects::allowed(ctx, p))
                .collect());
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = ctx.work_cancelled() => return Err(Error::Cancelled),
        }
    }
}

/// One pass of a connector that works project by project: `org_listing` (the projects, with
/// this connector's tokens, and whatever else it lists for the whole organization) when this
/// process holds the organization scope ([`projects_to_sync`]), then `sync_project` for every
/// project as a task ([`for_each_project`]).
pub(crate) async fn by_project<L, LFut, P, PFut>(
    client: &Client,
    ctx: &SyncContext,
    connector: &'static str,
    org_listing: L,
    sync_project: P,
) -> Result<Summary, Error>
where
    L: FnOnce(Client, SyncContext) -> LFut,
    LFut:
        std::future::Future<Output = Result<(Vec<ado::models::core::TeamProject>, Summary), Error>>,
    P: Fn(Client, SyncContext, ado::models::core::TeamProject) -> PFut,
    PFut: std::future::Future<Output = Result<Summary, Error>> + Send + 'static,
{
    let mut summary = Summary::default();
    let listing = org_listing(client.clone(), ctx.clone());
    let projects = projects_to_sync(ctx, connector, &mut summary, listing).await?;
    for_each_project(ctx, connector, projects, summary, |p| {
        sync_project(client.clone(), ctx.clone(), p)
    })
    .await
}

/// How long a pass waits for another process's first project listing.
const LISTING_PATIENCE: Duration = Duration::from_secs(30);

/// Runs `sync_project` for every project this process claims (see [`lease`]) as a spawned
/// task, `ctx.concurrency` at a time, and folds the outcomes into `summary` with
/// [`combine_failures`]: one project's failure is logged and does not stop the others. A
/// project another process holds, or finished since `ctx.due_before`, is left to it; a
/// finished project's lease is released as done, a failed one's as due again.
pub(crate) async fn for_each_project<F, Fut>(
    ctx: &SyncContext,
    connector: &'static str,
    projects: Vec<ado::models::core::TeamProject>,
    mut summary: Summary,
    sync_project: F,
) -> Result<Summary, Error>
where
    F: Fn(ado::models::core::TeamProject) -> Fut,
    Fut: std::future::Future<Output = Result<Summary, Error>> + Send + 'static,
{
    let mut queue = projects.into_iter();
    let mut tasks = tokio::task::JoinSet::new();
    let mut failures = Vec::new();
    let mut claimed = 0;
    loop {
        while tasks.len() < ctx.concurrency.max(1) {
            let Some(project) = queue.next() else { break };
            let scope = lease::project_scope(&project.id);
            let name = project.name.clone();
            // The claim runs in the task: a one-shot command waiting for a scope a killed
            // process held does not hold up the projects after it.
            let run = sync_project(project);
            let (work, due_before, cancel) = (ctx.work.clone(), ctx.due_before, ctx.cancel.clone());
            tasks.spawn(async move {
                let outcome = match work.claim(connector, &scope, due_before, &cancel).await {
                    Ok(true) => Some(run.await),
                    Ok(false) if cancel.is_cancelled() => Some(Err(Error::Cancelled)),
                    Ok(false) => None,
                    Err(e) => return (name, scope, false, Some(Err(e.into()))),
                };
                (name, scope, true, outcome)
            });
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        match joined {
            Ok((_, _, _, None)) => summary.add("projects_left_to_other_processes", 1),
            Ok((_, scope, held, Some(Ok(s)))) => {
                claimed += 1;
                if held {
                    ctx.work.release(connector, &scope, true).await;
                }
                summary.merge(&s)
            }
            Ok((name, scope, held, Some(Err(e)))) => {
                claimed += 1;
                if held {
                    ctx.work.release(connector, &scope, false).await;
                }
                if !matches!(e, Error::Cancelled) {
                    tracing::error!(connector, project = %name, error = %crate::error_chain(&e), "project sync failed");
                }
                failures.push(e);
            }
            // A panicked project keeps its lease until this process ends (it renews what it
            // holds) or claims it again next pass.
            Err(e) => failures.push(Error::Task {
                project: "(unknown)".into(),
                reason: e.to_string(),
            }),
        }
    }
    combine_failures(summary, failures, claimed)
}

/// The outcome of a connector run over several projects: the summary when every project
/// succeeded; otherwise a refused pool or a cancellation (the whole connector's outcome), the
/// single project's error, or a `Partial` failure naming the first error.
pub(crate) fn combine_failures(
    summary: Summary,
    mut failures: Vec<Error>,
    total: usize,
) -> Result<Summary, Error> {
    if failures.is_empty() {
        return Ok(summary);
    }
    if let Some(pos) = failures.iter().position(|e| {
        matches!(
            e,
            Error::Ado(ado::Error::InvalidCredentials { .. }) | Error::Cancelled
        )
    }) {
        return Err(failures.swap_remove(pos));
    }
    if total == 1 {
        return Err(failures.remove(0));
    }
    Err(Error::Partial {
        failed: failures.len(),
        total,
        first: Box::new(failures.remove(0)),
    })
}

/// Most warnings one run records.
const MAX_WARNINGS: usize = 50;

/// Counts of one connector run: entities fetched by kind, and rows written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Entities by kind (`pull_requests`, `repositories_deleted`, …), in a stable order.
    pub counts: std::collections::BTreeMap<&'static str, u64>,
    pub rows: u64,
    /// What the run skipped and went on (a 204/404 timeline, a 403 on an optional
    /// endpoint naming its scope), one line each; recorded in `sync_runs.warnings`.
    pub warnings: Vec<String>,
}

impl Summary {
    /// Adds `n` to an entity count.
    pub fn add(&mut self, kind: &'static str, n: u64) {
        *self.counts.entry(kind).or_default() += n;
    }

    /// Adds another summary's counts, rows and warnings into this one.
    pub fn merge(&mut self, other: &Summary) {
        for (k, v) in &other.counts {
            self.add(k, *v);
        }
        self.rows += other.rows;
        self.warnings.extend(other.warnings.iter().cloned());
    }

    /// Notes something the run skipped and went on; the caller logs it too.
    pub fn warn(&mut self, warning: String) {
        // A pass that meets the same thing a thousand times says so once.
        if self.warnings.len() < MAX_WARNINGS && !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
    }

    /// A count, 0 when absent.
    pub fn count(&self, kind: &str) -> u64 {
        self.counts.get(kind).copied().unwrap_or(0)
    }

    /// `3 projects, 12 repositories, …` for the command's summary line.
    pub fn describe(&self) -> String {
        self.counts
            .iter()
            .map(|(k, v)| format!("{v} {}", k.replace('_', " ")))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_names_each_connector_once() {
        let mut names = names();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n);
        assert!(find("repos").is_ok());
        assert!(matches!(
            find("pipelinez"),
            Err(Error::UnknownConnector { .. })
        ));
        for c in REGISTRY {
            assert!(!c.needs().is_empty(), "{} names its endpoints", c.name());
        }
    }

    #[test]
    fn a_cancelled_request_cancels_the_run() {
        let e: Error = ado::Error::Cancelled.into();
        assert!(matches!(e, Error::Cancelled));
        assert_eq!(e.outcome(), "cancelled");
        let r = combine_failures(
            Summary::default(),
            vec![
                Error::Cursor {
                    scope: "s".into(),
                    reason: "r".into(),
                },
                Error::Cancelled,
            ],
            3,
        );
        assert!(matches!(r, Err(Error::Cancelled)));
    }
}
