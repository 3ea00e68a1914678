//! The log of ADO service-hook deliveries (`webhook_events`, migration 0011): what makes a
//! redelivered event a no-op and what a stopped process left to re-fetch. Owns no HTTP and no
//! ADO calls: `webhooks` decides what an event means and when it is done; this module only
//! records it, atomically, on both backends.

use chrono::{DateTime, Utc};
use std::future::Future;

use super::apply::{Cell, Exec};
use super::backend::{Backend, text, time};
use super::schema::{Type, Value};
use super::{AnyStore, Result, sql};

/// A delivery as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// The event's `id` (a GUID): the same for every redelivery of one event.
    pub event_id: String,
    pub event_type: String,
    pub subscription_id: Option<String>,
    /// What to re-fetch (`webhooks::Target`'s key).
    pub target: String,
    pub received_at: DateTime<Utc>,
}

/// How the re-fetch of an event's target ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// Re-fetched through the REST API and written.
    Refetched,
    /// The re-fetch failed (the error is recorded); the next poll catches up.
    Failed,
    /// Nothing to re-fetch: the connector is not enabled, or the project is not synced.
    Skipped,
}

impl WebhookOutcome {
    /// As stored in `webhook_events.outcome`.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookOutcome::Refetched => "refetched",
            WebhookOutcome::Failed => "failed",
            WebhookOutcome::Skipped => "skipped",
        }
    }
}

/// A stored event, for tests and `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredWebhookEvent {
    pub event_id: String,
    pub event_type: String,
    pub target: String,
    pub received_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
    pub error: Option<String>,
}

/// The delivery log at a glance, for `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSummary {
    /// Deliveries recorded since the time asked about (each event id once).
    pub received_since: i64,
    /// Events recorded and not re-fetched yet.
    pub pending: i64,
    /// Events whose re-fetch failed, received since the time asked about.
    pub failed_since: i64,
    pub last_received_at: DateTime<Utc>,
    /// The newest failed re-fetch: when it ended, its target and its error.
    pub last_failure: Option<(DateTime<Utc>, String, String)>,
}

/// The delivery log's operations.
pub trait WebhookLog: Send + Sync {
    /// Records a delivery unless its event id is already recorded. Returns whether it was new.
    fn record_webhook_event(
        &self,
        org: &str,
        event: &WebhookEvent,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// The targets with events not processed yet, oldest first (what a stopped process left).
    fn pending_webhook_targets(
        &self,
        org: &str,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// Marks the pending events of `target` received at or before `received_by` as processed
    /// with `outcome`: events that arrived after the re-fetch started stay pending, so the
    /// change they announce is fetched again. Returns how many.
    fn finish_webhook_events(
        &self,
        org: &str,
        target: &str,
        received_by: DateTime<Utc>,
        outcome: WebhookOutcome,
        error: Option<&str>,
        processed_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// Deletes the events processed before `before` (a redelivery after that is processed
    /// again, which is harmless: the payload is only a hint). Returns how many.
    fn prune_webhook_events(
        &self,
        org: &str,
        before: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// Counts since `since`, the pending ones, and the newest failure; `None` when `org` has
    /// no event recorded.
    fn webhook_summary(
        &self,
        org: &str,
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<WebhookSummary>>> + Send;

    /// Every stored event of `org`, in the order received.
    fn webhook_events(
        &self,
        org: &str,
    ) -> impl Future<Output = Result<Vec<StoredWebhookEvent>>> + Send;
}

impl<B: Backend> WebhookLog for B {
    async fn record_webhook_event(&self, org: &str, e: &WebhookEvent) -> Result<bool> {
        let mut c = self.writer().await?;
        let d = c.dialect();
        let inserted = c
            .execute(sql::query(
                d,
                "webhook_events",
                "INSERT INTO webhook_events \
                 (org, event_id, event_type, subscription_id, target, received_at) \
                 VALUES ({}, {}, {}, {}, {}, {}) ON CONFLICT (org, event_id) DO NOTHING",
                vec![
                    text(org),
                    text(&e.event_id),
                    text(&e.event_type),
                    (
                        Type::Text,
                        e.subscription_id
                            .as_deref()
                            .map_or(Value::Null, Value::Text),
                    ),
                    text(&e.target),
                    time(e.received_at),
                ],
            ))
            .await?;
        Ok(inserted > 0)
    }

    async fn pending_webhook_targets(&self, org: &str) -> Result<Vec<String>> {
        let mut c = self.reader().await?;
        let d = c.dialect();
        let rows = c
            .fetch(
                sql::query(
                    d,
                    "webhook_events",
                    "SELECT target, MIN(received_at) AS first FROM webhook_events \
                     WHERE org = {} AND processed_at IS NULL GROUP BY target ORDER BY first",
                    vec![text(org)],
                ),
                &[Type::Text, Type::Time],
            )
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| r.into_iter().next().and_then(Cell::into_text))
            .collect())
    }

    async fn finish_webhook_events(
        &self,
        org: &str,
        target: &str,
        received_by: DateTime<Utc>,
        outcome: WebhookOutcome,
        error: Option<&str>,
        processed_at: DateTime<Utc>,
    ) -> Result<u64> {
        let mut c = self.writer().await?;
        let d = c.dialect();
        c.execute(sql::query(
            d,
            "webhook_events",
            "UPDATE webhook_events SET processed_at = {}, outcome = {}, error = {} \
             WHERE org = {} AND target = {} AND processed_at IS NULL AND received_at <= {}",
            vec![
                time(processed_at),
                text(outcome.as_str()),
                (Type::Text, error.map_or(Value::Null, Value::Text)),
                text(org),
                text(target),
                time(received_by),
            ],
        ))
        .await
    }

    async fn prune_webhook_events(&self, org: &str, before: DateTime<Utc>) -> Result<u64> {
        let mut c = self.writer().await?;
        let d = c.dialect();
        c.execute(sql::query(
            d,
            "webhook_events",
            "DELETE FROM webhook_events WHERE org = {} AND processed_at < {}",
            vec![text(org), time(before)],
        ))
        .await
    }

    async fn webhook_summary(
        &self,
        org: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<WebhookSummary>> {
        let mut c = self.reader().await?;
        let d = c.dialect();
        let rows = c
            .fetch(
                sql::query(
                    d,
                    "webhook_events",
                    "SELECT COUNT(*), \
                     SUM(CASE WHEN received_at >= {} THEN 1 ELSE 0 END), \
                     SUM(CASE WHEN processed_at IS NULL THEN 1 ELSE 0 END), \
                     SUM(CASE WHEN outcome = 'failed' AND received_at >= {} THEN 1 ELSE 0 END), \
                     MAX(received_at) FROM webhook_events WHERE org = {}",
                    vec![time(since), time(since), text(org)],
                ),
                &[Type::Int, Type::Int, Type::Int, Type::Int, Type::Time],
            )
            .await?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        let int = |i: usize| row.get(i).and_then(Cell::as_int).unwrap_or(0);
        if int(0) == 0 {
            return Ok(None);
        }
        let Some(last_received_at) = row.get(4).and_then(Cell::as_time) else {
            return Ok(None);
        };
        let failure = c
            .fetch(
                sql::query(
                    d,
                    "webhook_events",
                    "SELECT processed_at, target, error FROM webhook_events \
                     WHERE org = {} AND outcome = 'failed' \
                     ORDER BY processed_at DESC, event_id LIMIT 1",
                    vec![text(org)],
                ),
                &[Type::Time, Type::Text, Type::Text],
            )
            .await?
            .into_iter()
            .next()
            .and_then(|r| {
                let mut r = r.into_iter();
                let at = r.next()?.as_time()?;
                let target = r.next()?.into_text()?;
                let error = r.next()?.into_text().unwrap_or_default();
                Some((at, target, error))
            });
        Ok(Some(WebhookSummary {
            received_since: int(1),
            pending: int(2),
            failed_since: int(3),
            last_received_at,
            last_failure: failure,
        }))
    }

    async fn webhook_events(&self, org: &str) -> Result<Vec<StoredWebhookEvent>> {
        let mut c = self.reader().await?;
        let d = c.dialect();
        let rows = c
            .fetch(
                sql::query(
                    d,
                    "webhook_events",
                    "SELECT event_id, event_type, target, received_at, processed_at, outcome, \
                     error FROM webhook_events WHERE org = {} ORDER BY received_at, event_id",
                    vec![text(org)],
                ),
                &[
                    Type::Text,
                    Type::Text,
                    Type::Text,
                    Type::Time,
                    Type::Time,
                    Type::Text,
                    Type::Text,
                ],
            )
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let mut r = r.into_iter();
                Some(StoredWebhookEvent {
                    event_id: r.next()?.into_text()?,
                    event_type: r.next()?.into_text()?,
                    target: r.next()?.into_text()?,
                    received_at: r.next()?.as_time()?,
                    processed_at: r.next()?.as_time(),
                    outcome: r.next()?.into_text(),
                    error: r.next()?.into_text(),
                })
            })
            .collect())
    }
}

macro_rules! delegate {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            AnyStore::Sqlite($s) => $call.await,
            AnyStore::Postgres($s) => $call.await,
        }
    };
}

impl WebhookLog for AnyStore {
    async fn record_webhook_event(&self, org: &str, event: &WebhookEvent) -> Result<bool> {
        delegate!(self, s => s.record_webhook_event(org, event))
    }
    async fn pending_webhook_targets(&self, org: &str) -> Result<Vec<String>> {
        delegate!(self, s => s.pending_webhook_targets(org))
    }
    async fn finish_webhook_events(
        &self,
        org: &str,
        target: &str,
        received_by: DateTime<Utc>,
        outcome: WebhookOutcome,
        error: Option<&str>,
        processed_at: DateTime<Utc>,
    ) -> Result<u64> {
        delegate!(self, s => s.finish_webhook_events(org, target, received_by, outcome, error, processed_at))
    }
    async fn prune_webhook_events(&self, org: &str, before: DateTime<Utc>) -> Result<u64> {
        delegate!(self, s => s.prune_webhook_events(org, before))
    }
    async fn webhook_summary(
        &self,
        org: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<WebhookSummary>> {
        delegate!(self, s => s.webhook_summary(org, since))
    }
    async fn webhook_events(&self, org: &str) -> Result<Vec<StoredWebhookEvent>> {
        delegate!(self, s => s.webhook_events(org))
    }
}
