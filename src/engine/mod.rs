//! One pass of one connector, the same for every command: `backfill` and `sync` run one pass
//! of each connector and exit; `run` runs passes in a loop per connector (`service`).
//!
//! [`Prepared`] is a connector ready to run: its registry entry, its token pool and client
//! (rebuilt when every token was refused, so a rotated `file:` secret is picked up), and its
//! own metrics. [`Prepared::pass`] records the pass in `sync_runs` and runs it with the
//! leases of [`lease::Work`]. Owns no HTTP or SQL of its own.

pub mod lease;

use crate::ado::auth::{Auth, Entry};
use crate::ado::{Client, TokenPool};
use crate::config::{self, Credential, Settings};
use crate::connectors::{self, Connector, Mode, Summary, SyncContext};
use crate::metrics::{Metrics, Snapshot};
use crate::store::{AnyStore, Coordination, Store};
use chrono::{DateTime, Utc};
use lease::Work;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How one connector's pass ended.
#[derive(Debug)]
pub struct ConnectorReport {
    pub connector: String,
    pub run_id: i64,
    pub mode: Mode,
    pub started_at: DateTime<Utc>,
    pub duration: Duration,
    pub result: Result<Summary, connectors::Error>,
    /// Tokens that were refused and left the pool, by configured name.
    pub retired_tokens: Vec<String>,
    /// This pass's own counts.
    pub metrics: Snapshot,
}

impl ConnectorReport {
    pub fn succeeded(&self) -> bool {
        self.result.is_ok()
    }
}

/// A problem found before a connector could run (exit code 2).
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// `--connector` named a connector that does not exist or is not enabled.
    #[error("connector `{name}` is not {why} (enabled: {enabled})")]
    UnknownConnector {
        name: String,
        why: &'static str,
        enabled: String,
    },
    /// A token reference could not be resolved.
    #[error("connectors.{connector}.tokens: {reason}")]
    Token { connector: String, reason: String },
    /// The client could not be built (bad organization URL).
    #[error(transparent)]
    Client(#[from] crate::ado::Error),
    /// The database could not record the run.
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    /// The stored credentials cannot be read (a malformed master key).
    #[error("stored credentials: {0}")]
    Credentials(String),
}

/// A connector ready to run passes.
pub struct Prepared {
    pub name: String,
    connector: &'static dyn Connector,
    settings: Arc<Settings>,
    /// This connector's counts over the process's life (they add up into the process-wide
    /// metrics).
    pub metrics: Arc<Metrics>,
    client: Client,
    cancel: CancellationToken,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Prepared {
    /// [`Prepared::new`] for each of `names`, in order.
    pub fn all(
        settings: &Arc<Settings>,
        names: &[String],
        process_metrics: &Arc<Metrics>,
        cancel: &CancellationToken,
    ) -> Result<Vec<Self>, SetupError> {
        names
            .iter()
            .map(|name| {
                Self::new(
                    settings.clone(),
                    name,
                    process_metrics.clone(),
                    cancel.clone(),
                )
            })
            .collect()
    }

    /// Resolves the tokens of connector `name` and builds its pool and client; requests stop
    /// when `cancel` fires.
    pub fn new(
        settings: Arc<Settings>,
        name: &str,
        process_metrics: Arc<Metrics>,
        cancel: CancellationToken,
    ) -> Result<Self, SetupError> {
        let connector = connectors::find(name).map_err(|_| SetupError::UnknownConnector {
            name: name.to_string(),
            why: "a known connector",
            enabled: String::new(),
        })?;
        let metrics = Arc::new(Metrics::child(process_metrics));
        let client = build_client(&settings, name, &metrics, &cancel)?;
        Ok(Self {
            name: name.to_string(),
            connector,
            settings,
            metrics,
            client,
            cancel,
        })
    }

    /// The connectors whose rows this one reads (see `Connector::reads_from`).
    pub fn reads_from(&self) -> &'static [&'static str] {
        self.connector.reads_from()
    }

    /// The token pool of the current client.
    pub fn pool(&self) -> &TokenPool {
        self.client.pool()
    }

    /// A fresh pool and client from the token references as they resolve now: after every
    /// token was refused, a secret rotated behind `file:` (or a restored token) gets its
    /// chance again.
    pub fn rebuild_client(&mut self) -> Result<(), SetupError> {
        self.client = build_client(&self.settings, &self.name, &self.metrics, &self.cancel)?;
        Ok(())
    }

    /// The connector's interval in `run`.
    pub fn interval(&self) -> Duration {
        self.settings
            .connectors
            .iter()
            .find(|(n, _)| *n == self.name)
            .map(|(_, c)| c.interval)
            .unwrap_or(Duration::from_secs(300))
    }

    /// One pass in `mode`, recorded in `sync_runs`. Scopes finished at or after
    /// `due_before` (by this or another process) are left alone.
    pub async fn pass(
        &self,
        store: &AnyStore,
        work: &Arc<Work>,
        mode: Mode,
        due_before: DateTime<Utc>,
    ) -> ConnectorReport {
        let started_at = Utc::now();
        let clock = std::time::Instant::now();
        let before = self.metrics.snapshot();
        let name = self.name.clone();
        let org = self.settings.org_key();
        let run_id = match run_id_for(store, &org, &name, mode).await {
            Ok(id) => id,
            Err(e) => {
                return ConnectorReport {
                    connector: name,
                    run_id: 0,
                    mode,
                    started_at,
                    duration: clock.elapsed(),
                    result: Err(connectors::Error::Store(e)),
                    retired_tokens: Vec::new(),
                    metrics: Snapshot::default(),
                };
            }
        };
        if let Err(e) = store.own_run(run_id, work.holder()).await {
            tracing::warn!(connector = %name, error = %e, "could not record which process runs the run");
        }
        let ctx = self.context(store, work, mode, run_id, due_before);
        tracing::info!(connector = %name, mode = mode.as_str(), run_id, "connector pass started");
        // A task of its own: a panic inside the connector ends this pass, not the caller.
        let task = tokio::spawn(self.connector.run(self.client.clone(), ctx));
        let result = match task.await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(connector = %name, error = %e, "the connector's pass stopped unexpectedly");
                Err(connectors::Error::Task {
                    project: name.clone(),
                    reason: e.to_string(),
                })
            }
        };
        let metrics = self.metrics.snapshot().since(&before);
        let (outcome, error) = match &result {
            Ok(_) => ("succeeded", None),
            Err(e) => (e.outcome(), Some(recorded_error(e))),
        };
        let rows = result.as_ref().map(|s| s.rows as i64).unwrap_or(0);
        if let Ok(s) = &result
            && !s.warnings.is_empty()
            && let Err(e) = store.set_run_warnings(run_id, &s.warnings.join("\n")).await
        {
            tracing::error!(connector = %name, error = %e, "could not record the pass's warnings");
        }
        if let Err(e) = store
            .finish_run(
                run_id,
                outcome,
                error.as_deref(),
                metrics.requests as i64,
                rows,
                Utc::now(),
            )
            .await
        {
            tracing::error!(connector = %name, error = %e, "could not record the pass's outcome");
        }
        if mode == Mode::Sync {
            match store
                .prune_runs(&org, &name, self.settings.sync.keep_runs)
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::debug!(connector = %name, runs = n, "pruned old sync runs"),
                Err(e) => {
                    tracing::warn!(connector = %name, error = %e, "could not prune old sync runs")
                }
            }
        }
        let requests = metrics.requests;
        match &result {
            Ok(s) => tracing::info!(
                connector = %name,
                mode = mode.as_str(),
                counts = %s.describe(),
                rows = s.rows,
                requests,
                "connector pass succeeded"
            ),
            Err(connectors::Error::Cancelled) => {
                tracing::warn!(connector = %name, requests, "connector pass cancelled")
            }
            Err(e) => tracing::error!(
                connector = %name,
                kind = e.kind(),
                error = %crate::error_chain(e),
                requests,
                "connector pass failed"
            ),
        }
        ConnectorReport {
            connector: name,
            run_id,
            mode,
            started_at,
            duration: clock.elapsed(),
            result,
            retired_tokens: self.client.pool().retired_names(),
            metrics,
        }
    }

    /// The context of a run of this connector.
    fn context(
        &self,
        store: &AnyStore,
        work: &Arc<Work>,
        mode: Mode,
        run_id: i64,
        due_before: DateTime<Utc>,
    ) -> SyncContext {
        SyncContext {
            org: self.settings.org_key(),
            store: store.clone(),
            mode,
            run_id,
            since: self.settings.since(),
            overlap: self.settings.sync.overlap,
            projects: self.settings.organization.projects.clone(),
            concurrency: self.client_concurrency(),
            allow_mass_deletion: self.settings.sync.allow_mass_deletion,
            reconcile_every: self.settings.sync.reconcile_every,
            work: work.clone(),
            due_before,
            cancel: self.cancel.clone(),
            pr_depth: self
                .settings
                .connectors
                .iter()
                .find(|(n, _)| *n == self.name)
                .and_then(|(_, c)| c.pull_request_depth)
                .unwrap_or_default(),
            pipelines: self
                .settings
                .connectors
                .iter()
                .find(|(n, _)| *n == self.name)
                .map(|(_, c)| c.pipelines())
                .unwrap_or_default(),
        }
    }

    /// The client and context a webhook's re-fetch uses (issue 13): this connector's
    /// client — its token pool and limiter, shared with its passes — and an incremental
    /// context that belongs to no run.
    pub fn refetch_context(&self, store: &AnyStore, work: &Arc<Work>) -> (Client, SyncContext) {
        let ctx = self.context(store, work, Mode::Sync, 0, Utc::now());
        (self.client.clone(), ctx)
    }

    fn client_concurrency(&self) -> usize {
        self.settings
            .connectors
            .iter()
            .find(|(n, _)| *n == self.name)
            .map(|(_, c)| c.concurrency)
            .unwrap_or(1)
    }
}

/// How a stored credential becomes a pool entry's [`Auth`]: a PAT's Basic header; an Entra
/// ID identity through the same token provider as a configured one (one provider, so one
/// token cache, per credential version, whichever connectors use it).
pub fn stored_auth(
    settings: &Settings,
    metrics: Arc<Metrics>,
) -> crate::credentials::live::MakeAuth {
    let http = settings.http.clone();
    Arc::new(move |record, secret| {
        use crate::config::identity::{DEFAULT_AUTHORITY, DEFAULT_IMDS_ENDPOINT};
        use crate::credentials::model::Method;
        let identity = match (record.method, secret) {
            (Method::Pat, Some(secret)) => return Ok(Auth::pat(&secret)),
            (Method::Pat, None) => return Err("a pat credential without its token".into()),
            (Method::ServicePrincipal, Some(client_secret)) => config::Identity::ServicePrincipal {
                tenant_id: record.tenant_id.clone().unwrap_or_default(),
                client_id: record.client_id.clone().unwrap_or_default(),
                client_secret,
                authority: record
                    .authority
                    .clone()
                    .unwrap_or_else(|| DEFAULT_AUTHORITY.to_string()),
            },
            (Method::ServicePrincipal, None) => {
                return Err("a service_principal credential without its client secret".into());
            }
            (Method::ManagedIdentity, _) => config::Identity::ManagedIdentity {
                client_id: record.client_id.clone(),
                endpoint: record
                    .endpoint
                    .clone()
                    .unwrap_or_else(|| DEFAULT_IMDS_ENDPOINT.to_string()),
            },
        };
        let provider = crate::ado::entra::EntraProvider::new(
            &record.connectors.join(","),
            &format!("cred:{}", record.name),
            &identity,
            &http,
            metrics.clone(),
        )
        .map_err(|e| format!("cannot build its token client: {e}"))?;
        Ok(Auth::Dynamic(Arc::new(provider)))
    })
}

pub(crate) fn build_client(
    settings: &Settings,
    name: &str,
    metrics: &Arc<Metrics>,
    cancel: &CancellationToken,
) -> Result<Client, SetupError> {
    let (cs, tokens) = pool_entries(settings, name, metrics)?;
    for (i, t) in cs.tokens.iter().enumerate() {
        if config::is_literal(t) {
            tracing::warn!(connector = %name, token = %t.display_name(i), "token is written literally in the configuration; prefer env: or file:");
        }
    }
    client_with(settings, name, cs, tokens, metrics, cancel)
}

/// One client per pool entry of connector `name`, each with only that entry: what
/// `validate` checks credential by credential.
pub fn entry_clients(
    settings: &Settings,
    name: &str,
    metrics: &Arc<Metrics>,
    cancel: &CancellationToken,
) -> Result<Vec<(String, Client)>, SetupError> {
    let (cs, tokens) = pool_entries(settings, name, metrics)?;
    tokens
        .into_iter()
        .map(|t| {
            let entry = t.name.clone();
            Ok((
                entry,
                client_with(settings, name, cs, vec![t], metrics, cancel)?,
            ))
        })
        .collect()
}

/// The connector's settings and its pool entries with their credentials.
fn pool_entries<'a>(
    settings: &'a Settings,
    name: &str,
    metrics: &Arc<Metrics>,
) -> Result<(&'a config::ConnectorSettings, Vec<Entry>), SetupError> {
    let Some((_, cs)) = settings.connectors.iter().find(|(n, _)| *n == name) else {
        return Err(SetupError::UnknownConnector {
            name: name.to_string(),
            why: "configured",
            enabled: String::new(),
        });
    };
    let entries = cs.resolve_entries().map_err(|reason| SetupError::Token {
        connector: name.to_string(),
        reason,
    })?;
    let tokens = entries
        .into_iter()
        .map(|e| {
            let auth = match &e.credential {
                Credential::Pat(secret) => Auth::pat(secret),
                Credential::Entra(identity) => Auth::Dynamic(Arc::new(
                    crate::ado::entra::EntraProvider::new(
                        name,
                        &e.name,
                        identity,
                        &settings.http,
                        metrics.clone(),
                    )
                    .map_err(|err| SetupError::Token {
                        connector: name.to_string(),
                        reason: format!("{}: cannot build its token client: {err}", e.name),
                    })?,
                )),
                Credential::Stored(stored) => settings
                    .stored
                    .as_ref()
                    .ok_or_else(|| {
                        "stored credentials are read from the database, which this command \
                         does not open; use env: or file: here"
                            .to_string()
                    })
                    .and_then(|live| live.provider(stored))
                    .map_err(|reason| SetupError::Token {
                        connector: name.to_string(),
                        reason: format!("cred:{stored}: {reason}"),
                    })?,
            };
            Ok::<_, SetupError>(Entry { name: e.name, auth })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((cs, tokens))
}

fn client_with(
    settings: &Settings,
    name: &str,
    cs: &config::ConnectorSettings,
    tokens: Vec<Entry>,
    metrics: &Arc<Metrics>,
    cancel: &CancellationToken,
) -> Result<Client, SetupError> {
    let pool = Arc::new(TokenPool::new(
        name,
        tokens,
        cs.requests_per_second,
        cs.burst,
        metrics.clone(),
    ));
    let (graph, release) = (settings.graph_url(), settings.release_url());
    let hosts = crate::ado::Hosts {
        organization: &settings.organization.url,
        graph: &graph,
        release: &release,
    };
    Ok(Client::new(
        name,
        &hosts,
        &settings.organization.api_version,
        &settings.http,
        cs.concurrency,
        pool,
        metrics.clone(),
        cancel.clone(),
    )?)
}

/// The connectors to run: every enabled one, or those named (which must be enabled).
pub fn select_connectors(
    settings: &Settings,
    wanted: &[String],
) -> Result<Vec<String>, SetupError> {
    let enabled: Vec<String> = settings
        .connectors
        .iter()
        .filter(|(_, c)| c.enabled)
        .map(|(n, _)| n.to_string())
        .collect();
    if wanted.is_empty() {
        return Ok(enabled);
    }
    for w in wanted {
        if !enabled.contains(w) {
            let why = if connectors::find(w).is_ok() {
                "enabled in the configuration"
            } else {
                "a known connector"
            };
            return Err(SetupError::UnknownConnector {
                name: w.clone(),
                why,
                enabled: enabled.join(", "),
            });
        }
    }
    Ok(wanted.to_vec())
}

/// The mode of a connector's first pass in `run`: a backfill when the connector never ran,
/// or when its last backfill did not finish and no sync has run since (a sync finishes an
/// interrupted backfill's projects itself, and a backfill pass of the old run would walk
/// everything again); otherwise incremental.
pub async fn first_mode(
    store: &AnyStore,
    org: &str,
    connector: &str,
) -> crate::store::Result<Mode> {
    let backfill = store
        .last_run(org, connector, Mode::Backfill.as_str())
        .await?;
    let sync = store.last_run(org, connector, Mode::Sync.as_str()).await?;
    Ok(match (backfill, sync) {
        (None, None) => Mode::Backfill,
        (Some(b), s) if b.outcome != "succeeded" && s.as_ref().is_none_or(|s| s.id < b.id) => {
            Mode::Backfill
        }
        _ => Mode::Sync,
    })
}

/// A backfill resumes the newest unfinished backfill run (so its finished projects are not
/// fetched again) unless another live process is running it; anything else starts a new run
/// record.
async fn run_id_for(
    store: &AnyStore,
    org: &str,
    connector: &str,
    mode: Mode,
) -> crate::store::Result<i64> {
    if mode == Mode::Backfill
        && let Some(last) = store.last_run(org, connector, mode.as_str()).await?
        && !matches!(last.outcome.as_str(), "succeeded" | "running")
    {
        tracing::info!(
            connector,
            run_id = last.id,
            outcome = %last.outcome,
            "resuming the unfinished backfill"
        );
        store.reopen_run(last.id).await?;
        return Ok(last.id);
    }
    store
        .start_run(org, connector, mode.as_str(), Utc::now())
        .await
}

/// `sync_runs.error`: `KIND: the cause chain`, the kind said once (some messages already
/// start with it), so readers (`status`) can split the kind off.
fn recorded_error(e: &connectors::Error) -> String {
    let chain = crate::error_chain(e);
    let kind = e.kind();
    if chain.starts_with(kind) && chain[kind.len()..].starts_with(": ") {
        chain
    } else {
        format!("{kind}: {chain}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recorded_error_names_its_kind_once() {
        let refused = connectors::Error::Ado(crate::ado::Error::InvalidCredentials {
            connector: "boards".into(),
            tokens: vec!["b".into()],
        });
        let text = recorded_error(&refused);
        assert!(text.starts_with("invalid_credentials: "), "{text}");
        assert_eq!(text.matches("invalid_credentials").count(), 1, "{text}");
        let cursor = connectors::Error::Cursor {
            scope: "pull_requests:p".into(),
            reason: "not JSON".into(),
        };
        assert_eq!(
            recorded_error(&cursor),
            "bad_cursor: cursor pull_requests:p is unreadable: not JSON"
        );
    }
}
