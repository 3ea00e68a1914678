//! What the running service knows about itself, shared between the connector loops (which
//! write it) and the HTTP server (which reads it for `/readyz`, `/metrics` and the status
//! page). Plain data behind short-held locks; no I/O.

use crate::connectors::Mode;
use crate::engine::ConnectorReport;
use crate::metrics::Metrics;
use crate::store::AnyStore;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The whole service.
#[derive(Debug)]
pub struct ServiceState {
    pub org: String,
    pub store: AnyStore,
    pub started_at: DateTime<Utc>,
    /// Cancelled when shutdown begins: `/readyz` answers 503 from then on.
    pub shutdown: CancellationToken,
    pub connectors: Vec<Arc<ConnectorState>>,
}

/// What a connector loop is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before its first pass.
    Starting,
    /// A pass is running.
    Syncing,
    /// Waiting for the next pass after a success.
    Idle,
    /// Waiting for the next pass after a failure (a shorter, growing delay).
    BackingOff,
    /// The loop ended (shutdown).
    Stopped,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Syncing => "syncing",
            Phase::Idle => "idle",
            Phase::BackingOff => "backing_off",
            Phase::Stopped => "stopped",
        }
    }
}

/// The last finished pass of a connector.
#[derive(Debug, Clone, PartialEq)]
pub struct PassInfo {
    pub run_id: i64,
    pub mode: Mode,
    /// `succeeded`, `failed` or `cancelled`.
    pub outcome: &'static str,
    /// The stable error kind (`invalid_credentials`, `throttled`, …) of a failed pass.
    pub error_kind: Option<&'static str>,
    pub started_at: DateTime<Utc>,
    pub duration: Duration,
    pub requests: u64,
    pub rows: u64,
}

/// A connector's loop as the server sees it.
#[derive(Debug, Clone)]
pub struct Live {
    pub phase: Phase,
    pub last: Option<PassInfo>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    pub next_pass_at: Option<DateTime<Utc>>,
    /// Finished passes by outcome.
    pub passes: BTreeMap<&'static str, u64>,
    /// Seconds spent in finished passes, in total (for the duration summary).
    pub pass_seconds: f64,
    pub tokens_alive: usize,
    pub tokens_total: usize,
}

/// One connector of the service.
#[derive(Debug)]
pub struct ConnectorState {
    pub name: String,
    pub interval: Duration,
    /// Its counts since the process started.
    pub metrics: Arc<Metrics>,
    live: Mutex<Live>,
}

impl ConnectorState {
    pub fn new(name: &str, interval: Duration, metrics: Arc<Metrics>, tokens: usize) -> Self {
        Self {
            name: name.to_string(),
            interval,
            metrics,
            live: Mutex::new(Live {
                phase: Phase::Starting,
                last: None,
                last_success_at: None,
                consecutive_failures: 0,
                next_pass_at: None,
                passes: BTreeMap::new(),
                pass_seconds: 0.0,
                tokens_alive: tokens,
                tokens_total: tokens,
            }),
        }
    }

    /// A copy of the live state.
    pub fn live(&self) -> Live {
        match self.live.lock() {
            Ok(l) => l.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn update(&self, f: impl FnOnce(&mut Live)) {
        let mut guard = match self.live.lock() {
            Ok(l) => l,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard);
    }

    pub fn set_phase(&self, phase: Phase, next_pass_at: Option<DateTime<Utc>>) {
        self.update(|l| {
            l.phase = phase;
            l.next_pass_at = next_pass_at;
        });
    }

    /// Records a finished pass and the pool after it.
    pub fn record(&self, report: &ConnectorReport, tokens_alive: usize, tokens_total: usize) {
        let (outcome, error_kind) = match &report.result {
            Ok(_) => ("succeeded", None),
            Err(e) => (e.outcome(), Some(e.kind())),
        };
        let finished =
            report.started_at + chrono::Duration::from_std(report.duration).unwrap_or_default();
        self.update(|l| {
            l.last = Some(PassInfo {
                run_id: report.run_id,
                mode: report.mode,
                outcome,
                error_kind,
                started_at: report.started_at,
                duration: report.duration,
                requests: report.metrics.requests,
                rows: report.result.as_ref().map(|s| s.rows).unwrap_or(0),
            });
            *l.passes.entry(outcome).or_default() += 1;
            l.pass_seconds += report.duration.as_secs_f64();
            if report.result.is_ok() {
                l.last_success_at = Some(finished);
                l.consecutive_failures = 0;
            } else if outcome == "failed" {
                l.consecutive_failures += 1;
            }
            l.tokens_alive = tokens_alive;
            l.tokens_total = tokens_total;
        });
    }

    /// Why this connector is not ready at `now` (service started at `started_at`), if it
    /// is not: refused credentials at once; otherwise no success for three intervals. A
    /// first pass still running counts as within the first interval (a backfill may take
    /// hours).
    pub fn not_ready(&self, now: DateTime<Utc>, started_at: DateTime<Utc>) -> Option<String> {
        let live = self.live();
        if let Some(last) = &live.last
            && last.error_kind == Some("invalid_credentials")
        {
            return Some("invalid_credentials: every token was refused".into());
        }
        let stale_after = chrono::Duration::from_std(self.interval * 3).unwrap_or_default();
        match live.last_success_at {
            Some(at) if now - at <= stale_after => None,
            Some(at) => Some(format!(
                "stale: last success {}s ago (more than 3 intervals)",
                (now - at).num_seconds()
            )),
            None if live.last.is_none() => None,
            None if now - started_at
                <= chrono::Duration::from_std(self.interval).unwrap_or_default() =>
            {
                None
            }
            None => Some(format!(
                "no successful pass yet: {}",
                live.last
                    .as_ref()
                    .and_then(|l| l.error_kind)
                    .unwrap_or("failed")
            )),
        }
    }
}
