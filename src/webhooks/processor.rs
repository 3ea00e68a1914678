//! The re-fetch queue: one task that takes the targets the receiver recorded and re-fetches
//! each through its connector's client (`connectors::targeted`), a few at once.
//!
//! Coalescing: a target is queued at most once, never fetched twice at the same time, and
//! fetched once its deliveries have been quiet for [`QUIET`] (at most [`MAX_WAIT`] after the
//! first). A delivery for a target already queued adds nothing; one for a target in flight
//! queues it once more, because the fetch under way may have read ADO before the change it
//! announces. So a burst of deliveries for one PR costs one re-fetch, two when the burst
//! outlasts the wait. A fetch marks processed only the events received before it started
//! (`Store::finish_webhook_events`).
//!
//! On shutdown the fetches in flight are dropped with the rest: their events have no
//! `processed_at`, and [`spawn`] queues them again at the next start.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use std::time::Instant;

use chrono::Utc;
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Stats;
use super::event::Target;
use crate::ado::Client;
use crate::connectors::{self, SyncContext, targeted};
use crate::store::{AnyStore, WebhookLog, WebhookOutcome};

/// Targets re-fetched at once.
pub const CONCURRENCY: usize = 4;

/// A queued target waits until no delivery for it came for this long, so a burst (one
/// change announced by several events, a redelivery storm) is fetched once, not once per
/// delivery…
pub const QUIET: Duration = Duration::from_millis(100);

/// …but never longer than this after its first delivery: a steady stream of deliveries for
/// one PR still gets a re-fetch a second.
pub const MAX_WAIT: Duration = Duration::from_secs(1);

/// The targets waiting, each once, with when its first and last delivery came; and the
/// targets being fetched, which wait until their fetch ends.
#[derive(Default)]
struct Queue {
    waiting: VecDeque<(String, Instant, Instant)>,
    in_flight: HashSet<String>,
}

impl Queue {
    fn push(&mut self, key: String, at: Instant) {
        match self.waiting.iter_mut().find(|(k, _, _)| *k == key) {
            Some(w) => w.2 = at,
            None => self.waiting.push_back((key, at, at)),
        }
    }

    fn ready_at(first: Instant, last: Instant) -> Instant {
        (last + QUIET).min(first + MAX_WAIT)
    }

    /// The first waiting target not in flight whose time has come.
    fn take_ready(&mut self, now: Instant) -> Option<String> {
        let pos = self.waiting.iter().position(|(k, first, last)| {
            !self.in_flight.contains(k) && Self::ready_at(*first, *last) <= now
        })?;
        let (key, _, _) = self.waiting.remove(pos)?;
        self.in_flight.insert(key.clone());
        Some(key)
    }

    /// When the next waiting target not in flight is due.
    fn next_ready(&self) -> Option<Instant> {
        self.waiting
            .iter()
            .filter(|(k, _, _)| !self.in_flight.contains(k))
            .map(|(_, first, last)| Self::ready_at(*first, *last))
            .min()
    }

    fn finished(&mut self, key: &str) {
        self.in_flight.remove(key);
    }
}

/// How long processed events are kept: a redelivery within this is recognised (ADO's own
/// retries span about three minutes, API_FACTS §6; a manual resend comes later).
pub const KEEP_EVENTS: chrono::Duration = chrono::Duration::days(7);

/// The client and context of each connector that can re-fetch, by connector name.
pub type Refetchers = HashMap<String, (Client, SyncContext)>;

/// Starts the queue: first the targets a stopped process left pending, then what arrives on
/// the returned sender. Stops when `stop` fires.
pub fn spawn(
    store: AnyStore,
    org: String,
    refetchers: Refetchers,
    stats: Arc<Stats>,
    stop: CancellationToken,
) -> (mpsc::UnboundedSender<String>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let worker = Worker {
        store,
        org,
        refetchers: Arc::new(refetchers),
        stats,
    };
    let handle = tokio::spawn(worker.run(rx, stop));
    (tx, handle)
}

struct Worker {
    store: AnyStore,
    org: String,
    refetchers: Arc<Refetchers>,
    stats: Arc<Stats>,
}

impl Worker {
    async fn run(self, mut rx: mpsc::UnboundedReceiver<String>, stop: CancellationToken) {
        let mut queue = Queue::default();
        let mut running: FuturesUnordered<BoxFuture<'static, String>> = FuturesUnordered::new();
        match self.store.pending_webhook_targets(&self.org).await {
            Ok(left) => {
                if !left.is_empty() {
                    tracing::info!(
                        targets = left.len(),
                        "re-fetching what webhooks announced before the last stop"
                    );
                }
                let long_ago = Instant::now()
                    .checked_sub(MAX_WAIT)
                    .unwrap_or_else(Instant::now);
                for key in left {
                    queue.push(key, long_ago);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read the pending webhook events; the next poll catches up")
            }
        }
        let mut prune = tokio::time::interval(Duration::from_secs(3600));
        loop {
            let now = Instant::now();
            while running.len() < CONCURRENCY {
                let Some(key) = queue.take_ready(now) else {
                    break;
                };
                running.push(Box::pin(self.process(key)));
            }
            let wake = queue.next_ready();
            tokio::select! {
                _ = stop.cancelled() => break,
                received = rx.recv() => match received {
                    Some(key) => queue.push(key, Instant::now()),
                    None => break,
                },
                Some(done) = running.next(), if !running.is_empty() => queue.finished(&done),
                _ = tokio::time::sleep_until(wake.unwrap_or(now).into()), if wake.is_some() => {}
                _ = prune.tick() => self.prune().await,
            }
        }
        tracing::info!(
            in_flight = running.len(),
            queued = queue.waiting.len(),
            "webhook re-fetches stopped; what they had not finished is re-fetched at the next start"
        );
    }

    async fn prune(&self) {
        match self
            .store
            .prune_webhook_events(&self.org, Utc::now() - KEEP_EVENTS)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::debug!(events = n, "pruned old webhook events"),
            Err(e) => tracing::warn!(error = %e, "could not prune old webhook events"),
        }
    }

    /// Re-fetches one target and records how it ended; returns its key.
    fn process(&self, key: String) -> impl Future<Output = String> + Send + 'static {
        let store = self.store.clone();
        let org = self.org.clone();
        let refetchers = self.refetchers.clone();
        let stats = self.stats.clone();
        async move {
            let started = Utc::now();
            let clock = std::time::Instant::now();
            let target = Target::parse(&key);
            let kind = target.as_ref().map_or("unknown", Target::kind);
            let (outcome, error, summary) = match refetch(&refetchers, target).await {
                Ok(Some(summary)) => (WebhookOutcome::Refetched, None, Some(summary)),
                Ok(None) => (
                    WebhookOutcome::Skipped,
                    Some("nothing to re-fetch here: the connector is not enabled or the project is not synced".to_string()),
                    None,
                ),
                // Stopping: the events stay pending for the next start.
                Err(connectors::Error::Cancelled) => return key,
                Err(e) => (
                    WebhookOutcome::Failed,
                    Some(crate::error_chain(&e)),
                    None,
                ),
            };
            stats.refetch(kind, outcome.as_str());
            match (&outcome, &summary) {
                (WebhookOutcome::Failed, _) => {
                    tracing::warn!(target = %key, error = error.as_deref().unwrap_or_default(), "webhook re-fetch failed; the next poll catches up")
                }
                (_, Some(s)) => tracing::info!(
                    target = %key,
                    rows = s.rows,
                    counts = %s.describe(),
                    elapsed_ms = clock.elapsed().as_millis() as u64,
                    "webhook re-fetched"
                ),
                _ => {
                    tracing::info!(target = %key, "webhook target skipped: {}", error.as_deref().unwrap_or_default())
                }
            }
            if let Err(e) = store
                .finish_webhook_events(&org, &key, started, outcome, error.as_deref(), Utc::now())
                .await
            {
                tracing::error!(target = %key, error = %e, "could not record the webhook re-fetch; it runs again at the next start");
            }
            key
        }
    }
}

/// The re-fetch of `target`; `None` when there is nothing here to re-fetch it with.
async fn refetch(
    refetchers: &Refetchers,
    target: Option<Target>,
) -> Result<Option<connectors::Summary>, connectors::Error> {
    let Some(target) = target else {
        return Ok(None);
    };
    let Some((client, ctx)) = refetchers.get(target.connector()) else {
        return Ok(None);
    };
    let Some(project) = targeted::project(ctx, target.connector(), target.project()).await? else {
        return Ok(None);
    };
    let summary = match &target {
        Target::PullRequest { repository, id, .. } => {
            targeted::pull_request(client, ctx, &project, repository, *id).await?
        }
        Target::WorkItems { .. } => targeted::work_items(client, ctx, &project).await?,
        Target::Build { id, .. } => targeted::build(client, ctx, &project, *id).await?,
    };
    Ok(Some(summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_waits_for_its_deliveries_to_go_quiet_but_not_past_the_maximum() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut q = Queue::default();
        q.push("pr".into(), t0);
        q.push("pr".into(), ms(60));
        assert_eq!(q.waiting.len(), 1, "queued once");
        assert_eq!(
            q.take_ready(ms(100)),
            None,
            "still within 100 ms of the last"
        );
        assert_eq!(q.next_ready(), Some(ms(160)));
        // A steady stream: every 50 ms, never quiet; due a second after the first.
        for n in (100..1000).step_by(50) {
            q.push("pr".into(), ms(n));
            assert_eq!(q.take_ready(ms(n)), None);
        }
        assert_eq!(q.take_ready(ms(1000)), Some("pr".to_string()));
        assert!(q.waiting.is_empty());
    }

    #[test]
    fn a_target_in_flight_is_queued_once_more_and_waits_for_its_fetch() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut q = Queue::default();
        q.push("pr".into(), t0);
        q.push("build".into(), t0);
        assert_eq!(q.take_ready(ms(100)), Some("pr".to_string()));
        assert_eq!(q.take_ready(ms(100)), Some("build".to_string()));
        for n in 0..100 {
            q.push("pr".into(), ms(110 + n));
        }
        assert_eq!(q.waiting.len(), 1);
        assert_eq!(q.take_ready(ms(5000)), None, "not while its fetch runs");
        assert_eq!(q.next_ready(), None);
        q.finished("pr");
        assert_eq!(q.take_ready(ms(5000)), Some("pr".to_string()));
    }
}
