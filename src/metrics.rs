//! Process metrics: counters for every request, retry, throttle pause and upserted row.
//!
//! Plain atomics and one small map, cheap on the hot path; rendered as Prometheus text for
//! `/metrics` and read by the progress reporter. Owns no I/O.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Counters shared by the client, the pool and the connectors.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: AtomicU64,
    retries: AtomicU64,
    throttle_pauses: AtomicU64,
    throttle_pause_ms: AtomicU64,
    throttled_429: AtomicU64,
    tokens_retired: AtomicU64,
    rows: AtomicU64,
    items: AtomicU64,
    items_skipped: AtomicU64,
    by_endpoint_status: Mutex<BTreeMap<(String, u16), u64>>,
    rows_by_table: Mutex<BTreeMap<&'static str, u64>>,
    /// Entra ID token requests by (method, outcome).
    token_fetches: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    /// Totals that every count here also goes to (the process-wide metrics of a connector's
    /// own metrics), so runs report per connector and progress reports the whole.
    parent: Option<Arc<Metrics>>,
}

/// A copy of the counters at one instant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub requests: u64,
    pub retries: u64,
    pub throttle_pauses: u64,
    pub throttle_pause_ms: u64,
    pub throttled_429: u64,
    pub tokens_retired: u64,
    pub rows: u64,
    pub items: u64,
    pub items_skipped: u64,
}

impl Snapshot {
    /// The counts added since `earlier`.
    pub fn since(&self, earlier: &Snapshot) -> Snapshot {
        Snapshot {
            requests: self.requests.saturating_sub(earlier.requests),
            retries: self.retries.saturating_sub(earlier.retries),
            throttle_pauses: self.throttle_pauses.saturating_sub(earlier.throttle_pauses),
            throttle_pause_ms: self
                .throttle_pause_ms
                .saturating_sub(earlier.throttle_pause_ms),
            throttled_429: self.throttled_429.saturating_sub(earlier.throttled_429),
            tokens_retired: self.tokens_retired.saturating_sub(earlier.tokens_retired),
            rows: self.rows.saturating_sub(earlier.rows),
            items: self.items.saturating_sub(earlier.items),
            items_skipped: self.items_skipped.saturating_sub(earlier.items_skipped),
        }
    }
}

impl Metrics {
    /// Metrics of one part (a connector) whose counts also add up in `parent`.
    pub fn child(parent: Arc<Metrics>) -> Self {
        Self {
            parent: Some(parent),
            ..Self::default()
        }
    }

    /// One HTTP response (or transport failure, status 0) from `endpoint`.
    pub fn request(&self, endpoint: &str, status: u16) {
        if let Some(p) = &self.parent {
            p.request(endpoint, status);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        if status == 429 {
            self.throttled_429.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut m) = self.by_endpoint_status.lock() {
            *m.entry((endpoint.to_string(), status)).or_default() += 1;
        }
    }
    /// One retry of a failed request.
    pub fn retry(&self) {
        if let Some(p) = &self.parent {
            p.retry();
        }
        self.retries.fetch_add(1, Ordering::Relaxed);
    }
    /// The pool waited on a server hint (Retry-After / X-RateLimit-*) before sending.
    pub fn throttle_pause(&self, waited: Duration) {
        if let Some(p) = &self.parent {
            p.throttle_pause(waited);
        }
        self.throttle_pauses.fetch_add(1, Ordering::Relaxed);
        self.throttle_pause_ms
            .fetch_add(waited.as_millis() as u64, Ordering::Relaxed);
    }
    /// A token left the pool.
    pub fn token_retired(&self) {
        if let Some(p) = &self.parent {
            p.token_retired();
        }
        self.tokens_retired.fetch_add(1, Ordering::Relaxed);
    }
    /// An Entra ID token request of `method` ended with `outcome` (`ok`, `refused`,
    /// `unavailable`).
    pub fn token_fetch(&self, method: &'static str, outcome: &'static str) {
        if let Some(p) = &self.parent {
            p.token_fetch(method, outcome);
        }
        if let Ok(mut m) = self.token_fetches.lock() {
            *m.entry((method, outcome)).or_default() += 1;
        }
    }

    /// Entra ID token requests so far, by (method, outcome).
    pub fn token_fetches(&self) -> BTreeMap<(&'static str, &'static str), u64> {
        self.token_fetches
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default()
    }

    /// Rows written to the store.
    pub fn rows(&self, n: u64) {
        if let Some(p) = &self.parent {
            p.rows(n);
        }
        self.rows.fetch_add(n, Ordering::Relaxed);
    }
    /// Rows of `table` a committed batch carried (upserted, replaced children, marked).
    pub fn table_rows(&self, table: &'static str, n: u64) {
        if let Some(p) = &self.parent {
            p.table_rows(table, n);
        }
        if let Ok(mut m) = self.rows_by_table.lock() {
            *m.entry(table).or_default() += n;
        }
    }

    /// Rows per table so far.
    pub fn rows_by_table(&self) -> BTreeMap<&'static str, u64> {
        self.rows_by_table
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default()
    }

    /// Source entities fetched (PRs, repositories, projects).
    pub fn items(&self, n: u64) {
        if let Some(p) = &self.parent {
            p.items(n);
        }
        self.items.fetch_add(n, Ordering::Relaxed);
    }

    /// A listed item whose JSON did not have the expected shape, logged and left out.
    pub fn item_skipped(&self) {
        if let Some(p) = &self.parent {
            p.item_skipped();
        }
        self.items_skipped.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            throttle_pauses: self.throttle_pauses.load(Ordering::Relaxed),
            throttle_pause_ms: self.throttle_pause_ms.load(Ordering::Relaxed),
            throttled_429: self.throttled_429.load(Ordering::Relaxed),
            tokens_retired: self.tokens_retired.load(Ordering::Relaxed),
            rows: self.rows.load(Ordering::Relaxed),
            items: self.items.load(Ordering::Relaxed),
            items_skipped: self.items_skipped.load(Ordering::Relaxed),
        }
    }

    /// Requests per (endpoint, status).
    pub fn by_endpoint_status(&self) -> BTreeMap<(String, u16), u64> {
        self.by_endpoint_status
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default()
    }

    /// Prometheus text exposition.
    pub fn render_prometheus(&self) -> String {
        let s = self.snapshot();
        let mut out = String::new();
        for (name, help, v) in [
            (
                "ado_ingest_retries_total",
                "Retried ADO requests.",
                s.retries,
            ),
            (
                "ado_ingest_throttle_pauses_total",
                "Pauses on server rate-limit hints.",
                s.throttle_pauses,
            ),
            (
                "ado_ingest_throttle_pause_seconds_total",
                "Time spent in those pauses.",
                s.throttle_pause_ms / 1000,
            ),
            (
                "ado_ingest_tokens_retired_total",
                "Tokens removed from a pool after 401/203.",
                s.tokens_retired,
            ),
            (
                "ado_ingest_items_skipped_total",
                "Listed items left out because their JSON could not be read.",
                s.items_skipped,
            ),
            (
                "ado_ingest_rows_upserted_total",
                "Rows written to the database.",
                s.rows,
            ),
        ] {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}\n"
            ));
        }
        out.push_str("# HELP ado_ingest_requests_total ADO responses by endpoint and status.\n# TYPE ado_ingest_requests_total counter\n");
        for ((ep, st), v) in self.by_endpoint_status() {
            out.push_str(&format!(
                "ado_ingest_requests_total{{endpoint=\"{ep}\",status=\"{st}\"}} {v}\n"
            ));
        }
        let fetches = self.token_fetches();
        if !fetches.is_empty() {
            out.push_str("# HELP ado_ingest_token_fetches_total Entra ID token requests by method and outcome.\n# TYPE ado_ingest_token_fetches_total counter\n");
            for ((method, outcome), v) in fetches {
                out.push_str(&format!(
                    "ado_ingest_token_fetches_total{{method=\"{method}\",outcome=\"{outcome}\"}} {v}\n"
                ));
            }
        }
        out
    }
}
