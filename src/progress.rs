//! Progress of long work: a status line redrawn on a terminal, or a periodic log line
//! otherwise (for CI logs and services). Reads the metrics; writes only to stderr / logs.

use crate::metrics::Metrics;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// A running reporter; [`Progress::finish`] stops it and clears the line.
pub struct Progress {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Progress {
    /// Starts reporting `what` (e.g. "backfill") from `metrics`.
    pub fn start(what: &'static str, metrics: Arc<Metrics>) -> Self {
        let stop = CancellationToken::new();
        let tty = std::io::stderr().is_terminal();
        let period = if tty {
            Duration::from_millis(500)
        } else {
            Duration::from_secs(10)
        };
        let token = stop.clone();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let mut ticker = tokio::time::interval(period);
            ticker.tick().await;
            loop {
                tokio::select! {
                    _ = token.cancelled() => break,
                    _ = ticker.tick() => {}
                }
                let s = metrics.snapshot();
                let secs = started.elapsed().as_secs_f64().max(0.001);
                let rate = s.requests as f64 / secs;
                if tty {
                    let mut err = std::io::stderr().lock();
                    let _ = write!(
                        err,
                        "\r\x1b[2K{what}: {} items · {} rows · {} requests ({rate:.1}/s) · {} retries · {:.0}s",
                        s.items, s.rows, s.requests, s.retries, secs
                    );
                    let _ = err.flush();
                } else {
                    tracing::info!(
                        what,
                        items = s.items,
                        rows = s.rows,
                        requests = s.requests,
                        requests_per_sec = format!("{rate:.1}"),
                        retries = s.retries,
                        throttle_pauses = s.throttle_pauses,
                        "progress"
                    );
                }
            }
            if tty {
                let _ = write!(std::io::stderr(), "\r\x1b[2K");
            }
        });
        Self { stop, task }
    }

    /// Stops the reporter.
    pub async fn finish(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}
