//! ADO service hooks (webhooks, API_FACTS §6, issue 13): what `run` does with a delivery,
//! and how `ado-ingest webhooks` manages the subscriptions.
//!
//! A delivery is authenticated ([`auth`]), parsed into the one thing it announces
//! ([`event::Target`]), checked to come from this organization, and recorded in
//! `webhook_events` — de-duplicated by event id, so a redelivery or a replay is answered but
//! not processed again — before the receiver answers 202. The [`processor`] then re-fetches
//! the target through the connector's own client: the payload is a hint, the REST API is the
//! truth. Deliveries for a target already queued or in flight coalesce into one more
//! re-fetch. A stopped process leaves its unprocessed events in the table and the next start
//! finishes them. Owns no HTTP routing (`server::webhooks`) and no SQL (`store`).

pub mod auth;
pub mod event;
pub mod processor;
pub mod subscriptions;

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::Utc;
use secrecy::SecretString;
use tokio::sync::mpsc;

use crate::store::{AnyStore, Coordination, WebhookEvent, WebhookLog};
use event::Malformed;

/// The largest delivery body taken (larger is 413). ADO's PR payloads are a few KB; a PR
/// with hundreds of reviewers or commits stays far below this.
pub const MAX_BODY: usize = 1 << 20;

/// Counts for `/metrics`: deliveries by verdict, re-fetches by target kind and outcome.
#[derive(Debug, Default)]
pub struct Stats {
    deliveries: Mutex<BTreeMap<&'static str, u64>>,
    refetches: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
}

impl Stats {
    /// Counts a delivery answered with `verdict` (see [`Verdict::label`]).
    pub fn delivery(&self, verdict: &'static str) {
        *self
            .deliveries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(verdict)
            .or_default() += 1;
    }

    /// Counts a re-fetch of a `kind` target that ended `outcome`.
    pub fn refetch(&self, kind: &'static str, outcome: &'static str) {
        *self
            .refetches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((kind, outcome))
            .or_default() += 1;
    }

    /// Deliveries by verdict.
    pub fn deliveries(&self) -> BTreeMap<&'static str, u64> {
        self.deliveries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Re-fetches by (target kind, outcome).
    pub fn refetches(&self) -> BTreeMap<(&'static str, &'static str), u64> {
        self.refetches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// What became of an authenticated delivery of an acceptable size.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// New: recorded and queued for its re-fetch (202).
    Accepted,
    /// Its event id was recorded before: answered, not processed again (202).
    Duplicate,
    /// Another organization's event (or one naming no project of ours): ignored, nothing
    /// written (202, so ADO does not put the subscription on probation for it).
    OtherOrg,
    /// Not an event this receiver takes (400).
    Malformed(Malformed),
}

impl Verdict {
    /// For logs and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Accepted => "accepted",
            Verdict::Duplicate => "duplicate",
            Verdict::OtherOrg => "other_org",
            Verdict::Malformed(_) => "malformed",
        }
    }
}

/// Why a delivery could not be recorded (500: ADO retries it).
#[derive(Debug, thiserror::Error)]
#[error("cannot record the delivery: {0}")]
pub struct RecordError(#[from] crate::store::Error);

/// The receiving side, shared by the HTTP handler.
#[derive(Debug)]
pub struct Receiver {
    org: String,
    org_url: String,
    secret: SecretString,
    store: AnyStore,
    queue: mpsc::UnboundedSender<String>,
    pub stats: std::sync::Arc<Stats>,
}

impl Receiver {
    /// A receiver for the organization `org` (its key) at `org_url`, feeding `queue` (the
    /// processor's).
    pub fn new(
        org: String,
        org_url: String,
        secret: SecretString,
        store: AnyStore,
        queue: mpsc::UnboundedSender<String>,
        stats: std::sync::Arc<Stats>,
    ) -> Self {
        Self {
            org,
            org_url,
            secret,
            store,
            queue,
            stats,
        }
    }

    /// The shared secret deliveries must carry.
    pub fn secret(&self) -> &SecretString {
        &self.secret
    }

    /// Takes an authenticated body: parses it, checks its organization, records it and
    /// queues its target.
    pub async fn accept(&self, body: &[u8]) -> Result<Verdict, RecordError> {
        let event = match event::parse(body) {
            Ok(e) => e,
            Err(m) => return Ok(Verdict::Malformed(m)),
        };
        if !self.is_ours(&event).await? {
            tracing::warn!(event_type = %event.event_type, event_id = %event.id, base_urls = ?event.base_urls, "webhook from another organization (or naming no project of ours) ignored");
            return Ok(Verdict::OtherOrg);
        }
        let target = event.target.key();
        let new = self
            .store
            .record_webhook_event(
                &self.org,
                &WebhookEvent {
                    event_id: event.id.clone(),
                    event_type: event.event_type.clone(),
                    subscription_id: event.subscription_id.clone(),
                    target: target.clone(),
                    received_at: Utc::now(),
                },
            )
            .await?;
        if !new {
            tracing::info!(event_type = %event.event_type, event_id = %event.id, "webhook redelivered; already recorded, not processed again");
            return Ok(Verdict::Duplicate);
        }
        tracing::info!(event_type = %event.event_type, event_id = %event.id, target = %target, "webhook accepted");
        // A closed queue means the service is stopping: the event stays pending in the
        // table and the next start re-fetches it.
        let _ = self.queue.send(target);
        Ok(Verdict::Accepted)
    }

    /// Whether `event` is this organization's: by `resourceContainers.*.baseUrl` when the
    /// payload has one (API_FACTS §6), else by its project being one the connector listed.
    async fn is_ours(&self, event: &event::Event) -> Result<bool, crate::store::Error> {
        if !event.base_urls.is_empty() {
            return Ok(event
                .base_urls
                .iter()
                .any(|u| event::same_org(u, &self.org_url)));
        }
        let project = event.target.project();
        let known = self
            .store
            .visible_projects(&self.org, event.target.connector())
            .await?;
        Ok(known
            .iter()
            .any(|p| p.id.eq_ignore_ascii_case(project) || p.name.eq_ignore_ascii_case(project)))
    }
}
