//! `/metrics`: the Prometheus text exposition (format 0.0.4) of every connector's counters
//! (requests by endpoint and status, retries, throttle pauses, rows by table) and of its
//! loop (passes, last pass duration, last success and freshness, readiness, token pool by
//! state), and the webhook receiver's deliveries and re-fetches. Never a token value: pools are counted, not named.

use crate::service::state::{Phase, ServiceState};
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use chrono::Utc;
use std::fmt::Write as _;
use std::sync::Arc;

pub async fn metrics(State(state): State<Arc<ServiceState>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(&state),
    )
}

/// Builds the exposition: one `# HELP`/`# TYPE` header per family, then its samples.
#[derive(Default)]
struct Exposition {
    out: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }
}

/// Label values escape backslash, double quote and newline.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub(crate) fn render(state: &ServiceState) -> String {
    let now = Utc::now();
    let mut e = Exposition::default();
    let per =
        |e: &mut Exposition,
         name: &str,
         kind: &str,
         help: &str,
         value: &dyn Fn(&crate::service::state::ConnectorState) -> Option<f64>| {
            e.family(name, kind, help);
            for c in &state.connectors {
                if let Some(v) = value(c) {
                    e.sample(name, &[("connector", &c.name)], v);
                }
            }
        };

    e.family(
        "ado_ingest_requests_total",
        "counter",
        "ADO responses by connector, endpoint and status (0: no response).",
    );
    for c in &state.connectors {
        for ((endpoint, status), n) in c.metrics.by_endpoint_status() {
            e.sample(
                "ado_ingest_requests_total",
                &[
                    ("connector", &c.name),
                    ("endpoint", &endpoint),
                    ("status", &status.to_string()),
                ],
                n as f64,
            );
        }
    }
    per(
        &mut e,
        "ado_ingest_retries_total",
        "counter",
        "Retried ADO requests.",
        &|c| Some(c.metrics.snapshot().retries as f64),
    );
    per(
        &mut e,
        "ado_ingest_throttled_responses_total",
        "counter",
        "429 responses.",
        &|c| Some(c.metrics.snapshot().throttled_429 as f64),
    );
    per(
        &mut e,
        "ado_ingest_throttle_pauses_total",
        "counter",
        "Pauses on server rate-limit hints (Retry-After, X-RateLimit-*).",
        &|c| Some(c.metrics.snapshot().throttle_pauses as f64),
    );
    per(
        &mut e,
        "ado_ingest_throttle_pause_seconds_total",
        "counter",
        "Time spent in those pauses.",
        &|c| Some(c.metrics.snapshot().throttle_pause_ms as f64 / 1000.0),
    );
    per(
        &mut e,
        "ado_ingest_items_skipped_total",
        "counter",
        "Listed items left out because their JSON could not be read.",
        &|c| Some(c.metrics.snapshot().items_skipped as f64),
    );
    e.family(
        "ado_ingest_rows_upserted_total",
        "counter",
        "Rows written to the database by connector and table.",
    );
    for c in &state.connectors {
        for (table, n) in c.metrics.rows_by_table() {
            e.sample(
                "ado_ingest_rows_upserted_total",
                &[("connector", &c.name), ("table", table)],
                n as f64,
            );
        }
    }
    e.family(
        "ado_ingest_passes_total",
        "counter",
        "Finished connector passes by outcome.",
    );
    for c in &state.connectors {
        let live = c.live();
        for outcome in ["succeeded", "failed", "cancelled"] {
            let n = live.passes.get(outcome).copied().unwrap_or(0);
            e.sample(
                "ado_ingest_passes_total",
                &[("connector", &c.name), ("outcome", outcome)],
                n as f64,
            );
        }
    }
    per(
        &mut e,
        "ado_ingest_pass_duration_seconds",
        "gauge",
        "Duration of the last finished pass.",
        &|c| c.live().last.map(|l| l.duration.as_secs_f64()),
    );
    per(
        &mut e,
        "ado_ingest_last_success_timestamp_seconds",
        "gauge",
        "When the last successful pass finished (Unix time).",
        &|c| {
            c.live()
                .last_success_at
                .map(|t| t.timestamp_millis() as f64 / 1000.0)
        },
    );
    per(
        &mut e,
        "ado_ingest_freshness_seconds",
        "gauge",
        "Seconds since the last successful pass finished.",
        &|c| {
            c.live()
                .last_success_at
                .map(|t| (now - t).num_milliseconds().max(0) as f64 / 1000.0)
        },
    );
    per(
        &mut e,
        "ado_ingest_consecutive_failures",
        "gauge",
        "Failed passes in a row.",
        &|c| Some(f64::from(c.live().consecutive_failures)),
    );
    per(
        &mut e,
        "ado_ingest_connector_ready",
        "gauge",
        "1 when the connector is fresh (what /readyz checks), else 0.",
        &|c| {
            Some(if c.not_ready(now, state.started_at).is_none() {
                1.0
            } else {
                0.0
            })
        },
    );
    e.family(
        "ado_ingest_last_pass_error",
        "gauge",
        "1 for the error kind of a connector whose last pass failed (invalid_credentials, invalid_permissions, throttled, …).",
    );
    for c in &state.connectors {
        if let Some(kind) = c.live().last.and_then(|l| l.error_kind) {
            e.sample(
                "ado_ingest_last_pass_error",
                &[("connector", &c.name), ("kind", kind)],
                1.0,
            );
        }
    }
    e.family(
        "ado_ingest_connector_phase",
        "gauge",
        "1 for what the connector's loop is doing now.",
    );
    for c in &state.connectors {
        let phase = c.live().phase;
        for p in [
            Phase::Starting,
            Phase::Syncing,
            Phase::Idle,
            Phase::BackingOff,
            Phase::Stopped,
        ] {
            e.sample(
                "ado_ingest_connector_phase",
                &[("connector", &c.name), ("phase", p.as_str())],
                if p == phase { 1.0 } else { 0.0 },
            );
        }
    }
    e.family(
        "ado_ingest_tokens",
        "gauge",
        "Tokens in the connector's pool by state (retired: refused with 401/203).",
    );
    for c in &state.connectors {
        let live = c.live();
        let retired = live.tokens_total.saturating_sub(live.tokens_alive);
        for (st, n) in [("active", live.tokens_alive), ("retired", retired)] {
            e.sample(
                "ado_ingest_tokens",
                &[("connector", &c.name), ("state", st)],
                n as f64,
            );
        }
    }
    e.family(
        "ado_ingest_start_time_seconds",
        "gauge",
        "When this process started (Unix time).",
    );
    e.sample(
        "ado_ingest_start_time_seconds",
        &[],
        state.started_at.timestamp_millis() as f64 / 1000.0,
    );
    if let Some(w) = &state.webhooks {
        e.family(
            "ado_ingest_webhook_deliveries_total",
            "counter",
            "Webhook deliveries by outcome (accepted, duplicate, other_org, unauthorized, too_large, malformed, unrecorded).",
        );
        for (outcome, n) in w.stats.deliveries() {
            e.sample(
                "ado_ingest_webhook_deliveries_total",
                &[("outcome", outcome)],
                n as f64,
            );
        }
        e.family(
            "ado_ingest_webhook_refetches_total",
            "counter",
            "Re-fetches webhooks caused, by target kind and outcome (refetched, failed, skipped).",
        );
        for ((target, outcome), n) in w.stats.refetches() {
            e.sample(
                "ado_ingest_webhook_refetches_total",
                &[("target", target), ("outcome", outcome)],
                n as f64,
            );
        }
    }
    e.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape("x\ny"), "x\\ny");
    }
}
