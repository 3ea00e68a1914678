//! One loop per connector: a pass, then a wait of its own `interval` (jittered) — or, after a
//! failure, a shorter wait that doubles with each failure in a row, capped at the interval —
//! until shutdown. Loops share nothing but the database and the leases, so one connector
//! failing, throttled or slow never holds another back.
//!
//! The first pass finishes an unfinished backfill (or backfills a connector that never ran);
//! every later pass is incremental. The reconciliations that find deletions (the recycle
//! bin, complete listings) keep their own schedule inside the passes, by the cursors they
//! stamp (`sync.reconcile_every`).

use super::state::{ConnectorState, Phase};
use crate::connectors::{self, Mode};
use crate::engine::lease::Work;
use crate::engine::{self, Prepared};
use crate::store::AnyStore;
use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Runs `prepared`'s passes until `stop` fires.
pub async fn connector_loop(
    mut prepared: Prepared,
    state: Arc<ConnectorState>,
    store: AnyStore,
    work: Arc<Work>,
    org: String,
    stop: CancellationToken,
) {
    let interval = state.interval;
    let mut mode = match engine::first_mode(&store, &org, &prepared.name).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(connector = %prepared.name, error = %e, "cannot read the past runs; starting incrementally");
            Mode::Sync
        }
    };
    let mut failures: u32 = 0;
    while !stop.is_cancelled() {
        state.set_phase(Phase::Syncing, None);
        // A scope finished within half an interval needs no pass yet: with several
        // replicas whose loops drift apart, each scope is still synced about once per
        // interval, by whichever replica comes first.
        let due_before = Utc::now() - chrono::Duration::from_std(interval / 2).unwrap_or_default();
        let report = prepared.pass(&store, &work, mode, due_before).await;
        let pool = prepared.pool();
        state.record(&report, pool.alive(), pool.len());
        match &report.result {
            Ok(_) => {
                failures = 0;
                mode = Mode::Sync;
            }
            Err(connectors::Error::Cancelled) => break,
            Err(e) => {
                failures += 1;
                if e.kind() == "invalid_credentials" {
                    // The pool retired every token. Resolve the references again for the
                    // next pass: a secret rotated behind `file:` gets its chance.
                    if let Err(e) = prepared.rebuild_client() {
                        tracing::error!(connector = %prepared.name, error = %crate::error_chain(&e), "cannot rebuild the token pool");
                    }
                }
            }
        }
        let delay = if failures == 0 {
            jittered(interval)
        } else {
            backoff(failures, interval)
        };
        let phase = if failures == 0 {
            Phase::Idle
        } else {
            Phase::BackingOff
        };
        let next = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
        state.set_phase(phase, Some(next));
        tracing::debug!(connector = %prepared.name, delay_ms = delay.as_millis() as u64, failures, "next pass scheduled");
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(delay) => {}
        }
    }
    state.set_phase(Phase::Stopped, None);
}

/// `interval` ± 10%, so connectors and replicas started together drift apart.
pub fn jittered(interval: Duration) -> Duration {
    let spread = interval.as_secs_f64() * 0.2;
    interval.mul_f64(0.9) + Duration::from_secs_f64(spread * unit_random())
}

/// The wait after `failures` failures in a row: a sixteenth of the interval (at least a
/// second), doubling, capped at the interval, jittered.
pub fn backoff(failures: u32, interval: Duration) -> Duration {
    let base = (interval / 16).max(Duration::from_secs(1));
    let raw = base.saturating_mul(1u32 << failures.saturating_sub(1).min(16));
    jittered(raw.min(interval))
}

/// A number in [0, 1) from the standard library's per-process random hash keys: enough for
/// jitter, without a random-number crate.
fn unit_random() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_ten_percent() {
        let i = Duration::from_secs(300);
        for _ in 0..1000 {
            let d = jittered(i);
            assert!(
                d >= Duration::from_secs(270) && d <= Duration::from_secs(330),
                "{d:?}"
            );
        }
    }

    #[test]
    fn backoff_doubles_and_is_capped_at_the_interval() {
        let i = Duration::from_secs(320);
        let near = |d: Duration, want: u64| {
            let w = want as f64;
            (d.as_secs_f64() - w).abs() <= w * 0.1 + 1e-9
        };
        assert!(near(backoff(1, i), 20));
        assert!(near(backoff(2, i), 40));
        assert!(near(backoff(3, i), 80));
        assert!(near(backoff(5, i), 320));
        assert!(near(backoff(40, i), 320), "capped, no overflow");
        // Short intervals: at least a second, never more than the interval.
        let short = Duration::from_secs(2);
        assert!(backoff(1, short) <= Duration::from_secs_f64(1.1));
        assert!(backoff(9, short) <= Duration::from_secs_f64(2.2));
    }
}
