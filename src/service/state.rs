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
    /// The webhook receiver, when `server.webhook_secret` is set.
    pub webhooks: Option<Arc<crate::webhooks::Receiver>>,
    /// The credentials API, when `server.admin_token` is set.
    pub admin: Option<Arc<crate::server::credentials::Admin>>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::{Error, Summary};
    use crate::metrics::Snapshot;

    fn state(interval_secs: u64) -> ConnectorState {
        ConnectorState::new(
            "repos",
            Duration::from_secs(interval_secs),
            Arc::new(Metrics::default()),
            2,
        )
    }

    fn report(started_at: DateTime<Utc>, result: Result<Summary, Error>) -> ConnectorReport {
        ConnectorReport {
            connector: "repos".into(),
            run_id: 7,
            mode: Mode::Sync,
            started_at,
            duration: Duration::from_secs(1),
            result,
            retired_tokens: Vec::new(),
            metrics: Snapshot::default(),
        }
    }

    fn refused() -> Error {
        Error::Ado(crate::ado::Error::InvalidCredentials {
            connector: "repos".into(),
            tokens: vec!["a".into(), "b".into()],
        })
    }

    #[test]
    fn ready_while_the_first_pass_runs_however_long() {
        let s = state(60);
        let started = Utc::now() - chrono::Duration::hours(5);
        assert_eq!(s.not_ready(Utc::now(), started), None);
    }

    #[test]
    fn refused_credentials_are_not_ready_at_once_and_named() {
        let s = state(60);
        let now = Utc::now();
        s.record(&report(now, Ok(Summary::default())), 2, 2);
        assert_eq!(s.not_ready(now, now), None);
        s.record(&report(now, Err(refused())), 0, 2);
        let why = s.not_ready(now, now).expect("not ready");
        assert!(why.starts_with("invalid_credentials"), "{why}");
        let live = s.live();
        assert_eq!((live.tokens_alive, live.tokens_total), (0, 2));
        assert_eq!(live.consecutive_failures, 1);
        assert_eq!(live.passes.get("failed"), Some(&1));
    }

    #[test]
    fn a_success_older_than_three_intervals_is_stale() {
        let s = state(60);
        let now = Utc::now();
        let long_ago = now - chrono::Duration::seconds(200);
        s.record(&report(long_ago, Ok(Summary::default())), 2, 2);
        // Finished 199 s ago: more than 3 × 60 s.
        let why = s.not_ready(now, long_ago).expect("stale");
        assert!(why.starts_with("stale"), "{why}");
        // A transient failure since does not change the reason, nor reset the last success.
        let err = Error::Ado(crate::ado::Error::Transient {
            endpoint: "projects",
            status: Some(503),
            detail: "unavailable".into(),
        });
        s.record(&report(now, Err(err)), 2, 2);
        assert!(
            s.not_ready(now, long_ago)
                .is_some_and(|w| w.starts_with("stale"))
        );
        assert!(s.live().last_success_at.is_some());
    }

    #[test]
    fn failures_only_are_tolerated_for_the_first_interval() {
        let s = state(60);
        let now = Utc::now();
        let err = || {
            Error::Ado(crate::ado::Error::Transient {
                endpoint: "projects",
                status: Some(503),
                detail: "unavailable".into(),
            })
        };
        s.record(&report(now, Err(err())), 2, 2);
        assert_eq!(s.not_ready(now, now - chrono::Duration::seconds(30)), None);
        let why = s
            .not_ready(now, now - chrono::Duration::seconds(90))
            .expect("not ready after the first interval");
        assert!(why.contains("transient"), "{why}");
    }

    #[test]
    fn a_cancelled_pass_is_not_a_failure() {
        let s = state(60);
        let now = Utc::now();
        s.record(&report(now, Err(Error::Cancelled)), 2, 2);
        let live = s.live();
        assert_eq!(live.consecutive_failures, 0);
        assert_eq!(live.passes.get("cancelled"), Some(&1));
    }
}
