//! `/`: the status page. At each request, the status collected from the database (as
//! `ado-ingest status` shows it) beside each connector loop's live state, rendered by
//! [`crate::status::html`]. A database that does not answer in time still gets a page (the
//! live state, and why the rest is missing) with status 503.

use crate::service::state::ServiceState;
use crate::status::{self, html};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;

/// How long the database may take to answer for one page.
const DATABASE_PATIENCE: Duration = Duration::from_secs(5);

pub async fn page(State(state): State<Arc<ServiceState>>) -> impl IntoResponse {
    let now = Utc::now();
    let names: Vec<String> = state.connectors.iter().map(|c| c.name.clone()).collect();
    let collected = match tokio::time::timeout(
        DATABASE_PATIENCE,
        status::collect(&state.store, &state.org, &names, now),
    )
    .await
    {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(crate::error_chain(&e)),
        Err(_) => Err(format!("no answer within {}s", DATABASE_PATIENCE.as_secs())),
    };
    let live: Vec<html::Live> = state
        .connectors
        .iter()
        .map(|c| {
            let l = c.live();
            html::Live {
                name: c.name.clone(),
                phase: l.phase.as_str().to_string(),
                next_pass_at: l.next_pass_at,
                consecutive_failures: l.consecutive_failures,
                tokens_alive: l.tokens_alive,
                tokens_total: l.tokens_total,
                not_ready: c.not_ready(now, state.started_at),
                last_outcome: l.last.as_ref().map(|p| p.outcome.to_string()),
                last_error_kind: l
                    .last
                    .as_ref()
                    .and_then(|p| p.error_kind)
                    .map(str::to_string),
            }
        })
        .collect();
    let body = html::render(&html::Page {
        org: &state.org,
        now,
        service_started_at: state.started_at,
        shutting_down: state.shutdown.is_cancelled(),
        status: collected.as_ref().map_err(String::clone),
        live: &live,
    });
    let code = if collected.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        code,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
}
