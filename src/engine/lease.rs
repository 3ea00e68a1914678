//! The leases one process holds: its identity (`holder`), its liveness row, the claims the
//! connectors make on (connector, scope) before working on them, and a renewal task that
//! keeps them from expiring while the work goes on (`store::coordination` has the SQL).
//!
//! A replica that dies stops renewing; after `sync.lease_ttl` its scopes are free and the
//! next pass of another replica takes them, and its `running` runs are closed as
//! `abandoned`. A scope whose lease this process lost anyway (paused longer than the TTL) may
//! be worked twice at once; that wastes requests but never corrupts: every write is an
//! idempotent upsert that never regresses a row.

use crate::store::{self, AnyStore, Coordination, REPLICA};
use chrono::{DateTime, Utc};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The lease scope of a connector's organization-level listings (projects, repositories,
/// fields, Graph users).
pub const ORG_SCOPE: &str = "org";

/// The lease scope of one project's streams.
pub fn project_scope(project_id: &str) -> String {
    format!("project:{project_id}")
}

/// This process's leases.
#[derive(Debug)]
pub struct Work {
    store: AnyStore,
    org: String,
    holder: String,
    ttl: Duration,
    /// A one-shot command (`backfill`, `sync`) waits for a scope another process holds
    /// unless that process is seen alive; the service leaves it to its next pass.
    patient: bool,
    stop: CancellationToken,
}

impl Work {
    /// Registers this process (its liveness row) and starts renewing every `ttl / 3`.
    /// `patient`: see [`Work::claim`].
    pub async fn start(
        store: AnyStore,
        org: &str,
        ttl: Duration,
        patient: bool,
    ) -> store::Result<std::sync::Arc<Self>> {
        let holder = holder_id();
        let now = Utc::now();
        store
            .claim(
                org,
                REPLICA,
                &holder,
                &holder,
                now,
                now + chrono_ttl(ttl),
                now,
            )
            .await?;
        let work = std::sync::Arc::new(Self {
            store,
            org: org.to_string(),
            holder,
            ttl,
            patient,
            stop: CancellationToken::new(),
        });
        // A weak handle: dropping the last `Work` ends the renewal (and `Drop` stops it).
        let weak = std::sync::Arc::downgrade(&work);
        let (stop, every) = (work.stop.clone(), (ttl / 3).max(Duration::from_millis(100)));
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(every) => {}
                }
                let Some(work) = weak.upgrade() else { return };
                work.renew().await;
            }
        });
        tracing::info!(holder = %work.holder, ttl_secs = ttl.as_secs(), "leases registered");
        Ok(work)
    }

    /// Who this process is in `leases.holder` and `sync_runs.holder`: host, pid, start time.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Takes `(connector, scope)` if it is free and was not finished at or after
    /// `due_before`. When another process holds it, a patient `Work` (a one-shot command)
    /// waits: for the lease to expire (its holder died: a killed `backfill` restarted at
    /// once must not skip what the dead process held), for the holder to finish it, or
    /// until the holder renews it (it is alive and will finish it). An impatient one (the
    /// service) leaves it at once; its next pass comes soon. Stops waiting with `false`
    /// when `cancel` fires.
    pub async fn claim(
        &self,
        connector: &str,
        scope: &str,
        due_before: DateTime<Utc>,
        cancel: &CancellationToken,
    ) -> store::Result<bool> {
        let mut first_expiry = None;
        let mut logged = false;
        loop {
            if self.try_claim(connector, scope, due_before).await? {
                return Ok(true);
            }
            if !self.patient || cancel.is_cancelled() {
                return Ok(false);
            }
            let Some(lease) = self.store.lease(&self.org, connector, scope).await? else {
                continue;
            };
            if lease.done_at.is_some_and(|d| d >= due_before) {
                // Finished by another process since this pass began.
                return Ok(false);
            }
            if lease.holder.is_none() {
                // Released between the attempt and the read: the next attempt takes it.
                continue;
            }
            match (first_expiry, lease.expires_at) {
                (None, e) => first_expiry = Some(e),
                (Some(first), now) if now > first => {
                    tracing::info!(connector, scope, holder = ?lease.holder, "another process is working on it; leaving it to that process");
                    return Ok(false);
                }
                _ => {}
            }
            if !logged {
                tracing::info!(connector, scope, holder = ?lease.holder, expires_at = ?lease.expires_at, "held by another process: waiting for it to expire, finish or be renewed");
                logged = true;
            }
            tokio::select! {
                _ = cancel.cancelled() => return Ok(false),
                _ = tokio::time::sleep((self.ttl / 8).clamp(Duration::from_millis(100), Duration::from_secs(2))) => {}
            }
        }
    }

    async fn try_claim(
        &self,
        connector: &str,
        scope: &str,
        due_before: DateTime<Utc>,
    ) -> store::Result<bool> {
        let now = Utc::now();
        self.store
            .claim(
                &self.org,
                connector,
                scope,
                &self.holder,
                now,
                now + chrono_ttl(self.ttl),
                due_before,
            )
            .await
    }

    /// Gives a scope back, finished (`done`) or to be taken again by the next pass.
    pub async fn release(&self, connector: &str, scope: &str, done: bool) {
        let done_at = done.then(Utc::now);
        if let Err(e) = self
            .store
            .release(&self.org, connector, scope, &self.holder, done_at)
            .await
        {
            // It expires on its own after the TTL.
            tracing::warn!(connector, scope, error = %e, "could not release a lease");
        }
    }

    /// Stops renewing and gives everything back (shutdown).
    pub async fn shutdown(&self) {
        self.stop.cancel();
        match self.store.release_all(&self.org, &self.holder).await {
            Ok(n) => tracing::info!(holder = %self.holder, released = n, "leases released"),
            Err(e) => {
                tracing::warn!(error = %e, "could not release the leases; they expire on their own")
            }
        }
    }

    async fn renew(&self) {
        let now = Utc::now();
        if let Err(e) = self
            .store
            .renew(&self.org, &self.holder, now + chrono_ttl(self.ttl))
            .await
        {
            tracing::warn!(error = %e, "could not renew the leases; another replica may take them over");
        }
        // A replica that died while this one runs left its runs `running`; close them now,
        // not at the next start. (With SQLite's one writer there is no other process.)
        if matches!(self.store, AnyStore::Postgres(_)) {
            match self.store.abandon_dead(&self.org, now).await {
                Ok(0) => {}
                Ok(runs) => tracing::warn!(
                    runs,
                    "closed as `abandoned` the runs of a replica that stopped renewing its leases"
                ),
                Err(e) => tracing::warn!(error = %e, "could not close a dead replica's runs"),
            }
        }
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn chrono_ttl(ttl: Duration) -> chrono::Duration {
    chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::seconds(60))
}

fn holder_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    format!(
        "{host}/{}/{}",
        std::process::id(),
        Utc::now().timestamp_micros()
    )
}
