//! Service hooks: web hook subscriptions and the deliveries they cause (API_FACTS §6).
//!
//! - **Subscriptions** (`subscriptions`, served by `routes::hooks`): ADO's organization-level
//!   API `{org}/_apis/hooks/subscriptions[/{id}[/notifications]]` for the one consumer a
//!   connector uses, Web Hooks (`webHooks` / `httpRequest`), with ADO's shapes: the create
//!   answer echoes the subscription plus `id`, `url`, `status`, `createdBy`, dates,
//!   descriptions and `publisherInputs.hostId` / `tfsSubscriptionId` (as in
//!   `examples/hooks/`), and the confidential `basicAuthPassword` reads back as `********`.
//!   A token needs the read scope of the event's area (`vso.code` for `git.*` and
//!   `ms.vss-code.*`, `vso.work` for `workitem.*`, `vso.build` for `build.*`): the spec lists
//!   those three for the hooks API and the `vso.hooks*` scopes are no longer public
//!   (API_FACTS §13).
//! - **Events** (`payload`): every mutation path records what it did in `Org::hook_events`
//!   (PRs, builds) or leaves it in the work item revision stream; [`crate::Sim`]'s mutation
//!   entry points (`apply`, `mutate`, `mutate_split`, `mutate_builds`, `delete_work_item`,
//!   `restore_work_item_at_deletion_time`) then call `Sim::publish`, which turns each into
//!   ADO's event envelope for every matching subscription. The `resource` is the entity as
//!   the sim's REST endpoint serializes it when the mutation call returns (so two events of
//!   one round on the same PR both show its final state). Completion sends
//!   `git.pullrequest.updated` and `git.pullrequest.merged`, as ADO does.
//! - **Delivery** (`deliver`): background tokio tasks POST the JSON with the subscription's
//!   headers and Basic auth, and follow ADO's policy (API_FACTS §6 [TS]): 2xx succeeds; 410
//!   disables the subscription (`disabledBySystem`); 408, 502, 503, 504 and connection errors
//!   are retried up to 8 times after ~1, 2, 4, 8, 16, 32, 60, 60 s (scaled by
//!   [`crate::SimConfig::webhook_retry_scale`]); exhausted retries or any other status fail
//!   the notification and put the subscription `onProbation`, and a later success puts it back
//!   to `enabled`. ADO's slower probation schedule is not imitated: a subscription on
//!   probation still gets every event at once.
//!
//! Only the `projectId` publisher input filters events (empty = every project); the others
//! (`repository`, `branch`, `buildStatus`…) are stored and echoed but not applied. The
//! sender speaks plain HTTP only (the receivers of tests and demos are local); an `https`
//! URL is accepted at creation, as ADO accepts it, and its notifications fail.
//!
//! Tests read [`crate::Delivery`] records with [`crate::Sim::deliveries`] (or `GET
//! /_sim/deliveries`) and wait with [`crate::Sim::wait_deliveries_idle`].

mod deliver;
mod payload;
pub(crate) mod subscriptions;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Sim, lock};

pub(crate) use subscriptions::Subscription;

/// Deliveries the log keeps (the oldest go first).
const DELIVERY_LOG_CAP: usize = 20_000;

/// What a mutation did, recorded for the service hooks. Work item changes are not recorded
/// here: `Sim::publish` reads them from the revision stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    PrCreated(u32),
    PrUpdated(u32, Update),
    PrMerged(u32),
    /// A comment created, replied, edited or deleted on a thread of a PR.
    PrComment {
        pr: u32,
        thread: u32,
        comment: u32,
    },
    BuildComplete(u32),
}

/// What changed on an updated PR (it picks the event's message, as ADO's `notificationType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Update {
    Vote,
    Push,
    Status,
    Reviewers,
    Title,
    Abandoned,
    Completed,
    Reactivated,
}

/// A subscription's state, as ADO's `status` (`onProbation` is "Enabled (restricted)" in
/// the UI).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SubscriptionStatus {
    Enabled,
    OnProbation,
    DisabledByUser,
    DisabledBySystem,
}

impl SubscriptionStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Enabled => "enabled",
            SubscriptionStatus::OnProbation => "onProbation",
            SubscriptionStatus::DisabledByUser => "disabledByUser",
            SubscriptionStatus::DisabledBySystem => "disabledBySystem",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<SubscriptionStatus> {
        [
            SubscriptionStatus::Enabled,
            SubscriptionStatus::OnProbation,
            SubscriptionStatus::DisabledByUser,
            SubscriptionStatus::DisabledBySystem,
        ]
        .into_iter()
        .find(|x| x.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// Whether events are delivered.
    pub(crate) fn active(self) -> bool {
        matches!(
            self,
            SubscriptionStatus::Enabled | SubscriptionStatus::OnProbation
        )
    }
}

/// One event sent (or being sent) to one subscription: ADO's notification, plus what went
/// over the wire.
#[derive(Clone, Debug, Serialize)]
pub struct Delivery {
    /// ADO's notification id (the payload's `notificationId`), counted from 1.
    pub notification_id: u64,
    /// The event's `id`; the same event sent to two subscriptions keeps it.
    pub event_id: String,
    pub event_type: String,
    pub subscription_id: String,
    pub url: String,
    /// `pending`, `succeeded` or `failed` (ADO's notification `result`).
    pub result: String,
    /// ADO's notification `status`: `queued`, `requestInProgress` or `completed`.
    pub status: String,
    /// The HTTP status of the last attempt; `None` before one answered.
    pub status_code: Option<u16>,
    /// Why the last attempt failed (ADO's `errorMessage`), e.g. "The remote server returned
    /// an error: (503) Service Unavailable."
    pub error: Option<String>,
    /// Requests made so far (1 + retries).
    pub attempts: u32,
    /// The headers the sender set (`Content-Type`, `httpHeaders`, `Authorization`).
    pub headers: Vec<(String, String)>,
    /// The exact body sent.
    #[serde(serialize_with = "as_text")]
    pub body: Vec<u8>,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    pub completed: Option<DateTime<Utc>>,
}

fn as_text<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(b))
}

impl Delivery {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The first header sent with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Subscriptions, deliveries and counters; guarded by [`Hooks::data`].
#[derive(Default)]
pub(crate) struct Data {
    pub subs: Vec<Subscription>,
    /// Ascending `notification_id`.
    pub deliveries: std::collections::VecDeque<Delivery>,
    pub next_subscription: u64,
    pub next_event: u64,
    pub next_notification: u64,
}

impl Data {
    pub(crate) fn delivery_mut(&mut self, id: u64) -> Option<&mut Delivery> {
        let i = self
            .deliveries
            .binary_search_by_key(&id, |d| d.notification_id)
            .ok()?;
        self.deliveries.get_mut(i)
    }

    pub(crate) fn sub_mut(&mut self, id: &str) -> Option<&mut Subscription> {
        self.subs.iter_mut().find(|s| s.id.eq_ignore_ascii_case(id))
    }
}

/// The service hooks side of [`crate::Inner`]. Lock order: the org before `data`, never the
/// other way round.
pub(crate) struct Hooks {
    pub(crate) data: Mutex<Data>,
    /// Deliveries not finished yet, for [`Sim::wait_deliveries_idle`].
    pub(crate) pending: tokio::sync::watch::Sender<usize>,
    pub(crate) enabled: AtomicBool,
    /// `f64` bits of the retry delay factor.
    retry_scale: AtomicU64,
    /// The serving runtime: deliveries run there even when a mutation comes from elsewhere.
    runtime: Mutex<Option<tokio::runtime::Handle>>,
}

impl Hooks {
    pub(crate) fn new(enabled: bool, retry_scale: f64) -> Hooks {
        Hooks {
            data: Mutex::new(Data::default()),
            pending: tokio::sync::watch::Sender::new(0),
            enabled: AtomicBool::new(enabled),
            retry_scale: AtomicU64::new(retry_scale.max(0.0).to_bits()),
            runtime: Mutex::new(None),
        }
    }

    pub(crate) fn set_runtime(&self, h: tokio::runtime::Handle) {
        *lock(&self.runtime) = Some(h);
    }

    pub(crate) fn runtime(&self) -> Option<tokio::runtime::Handle> {
        lock(&self.runtime)
            .clone()
            .or_else(|| tokio::runtime::Handle::try_current().ok())
    }

    pub(crate) fn retry_scale(&self) -> f64 {
        f64::from_bits(self.retry_scale.load(Ordering::Relaxed))
    }
}

impl Sim {
    /// Every subscription as `GET _apis/hooks/subscriptions` answers it: `{"count", "value"}`
    /// (passwords masked).
    pub fn subscriptions(&self) -> Value {
        let base = self.base_url();
        let data = lock(&self.inner.hooks.data);
        let value: Vec<Value> = data.subs.iter().map(|s| s.to_json(&base)).collect();
        serde_json::json!({ "count": value.len(), "value": value })
    }

    /// Sets a subscription's status (e.g. `DisabledByUser`, or back to `Enabled`); false when
    /// there is no such subscription.
    pub fn set_subscription_status(&self, id: &str, status: SubscriptionStatus) -> bool {
        let now = self.now();
        let mut data = lock(&self.inner.hooks.data);
        match data.sub_mut(id) {
            Some(s) => {
                s.status = status;
                s.modified = now;
                true
            }
            None => false,
        }
    }

    /// The status of subscription `id`.
    pub fn subscription_status(&self, id: &str) -> Option<SubscriptionStatus> {
        lock(&self.inner.hooks.data)
            .subs
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(id))
            .map(|s| s.status)
    }

    /// Every delivery so far (the newest 20,000), oldest first; same as `GET
    /// /_sim/deliveries`.
    pub fn deliveries(&self) -> Vec<Delivery> {
        lock(&self.inner.hooks.data)
            .deliveries
            .iter()
            .cloned()
            .collect()
    }

    /// Forgets the delivery log (subscriptions stay).
    pub fn clear_deliveries(&self) {
        lock(&self.inner.hooks.data).deliveries.clear();
    }

    /// Waits until no delivery is pending (retries included); false when `timeout` passed
    /// first.
    pub async fn wait_deliveries_idle(&self, timeout: Duration) -> bool {
        let mut rx = self.inner.hooks.pending.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|n| *n == 0))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Turns event delivery on or off (see [`crate::SimConfig::webhook_delivery`]); off,
    /// mutations send and record nothing (deliveries already under way go on).
    pub fn set_webhook_delivery(&self, on: bool) {
        self.inner.hooks.enabled.store(on, Ordering::Relaxed);
    }

    /// Changes the retry delay factor (see [`crate::SimConfig::webhook_retry_scale`]).
    pub fn set_webhook_retry_scale(&self, scale: f64) {
        self.inner
            .hooks
            .retry_scale
            .store(scale.max(0.0).to_bits(), Ordering::Relaxed);
    }
}
