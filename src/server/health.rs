//! `/healthz` (the process answers) and `/readyz` (the database answers, every connector is
//! fresh, and shutdown has not begun). `/readyz` explains itself in a small JSON body.

use crate::service::state::ServiceState;
use crate::store::Store;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// How long the database may take to answer a readiness check.
const DATABASE_PATIENCE: Duration = Duration::from_secs(2);

pub async fn healthz() -> &'static str {
    "ok\n"
}

pub async fn readyz(
    State(state): State<Arc<ServiceState>>,
) -> (StatusCode, Json<serde_json::Value>) {
    let shutting_down = state.shutdown.is_cancelled();
    let database = match tokio::time::timeout(
        DATABASE_PATIENCE,
        state.store.cursor(&state.org, "_readyz", "_"),
    )
    .await
    {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(crate::error_chain(&e)),
        Err(_) => Some(format!("no answer within {}s", DATABASE_PATIENCE.as_secs())),
    };
    let now = Utc::now();
    let mut connectors = serde_json::Map::new();
    let mut all_ready = true;
    for c in &state.connectors {
        let why = c.not_ready(now, state.started_at);
        all_ready &= why.is_none();
        let live = c.live();
        connectors.insert(
            c.name.clone(),
            json!({
                "ready": why.is_none(),
                "reason": why,
                "phase": live.phase.as_str(),
                "last_outcome": live.last.as_ref().map(|l| l.outcome),
                "last_error_kind": live.last.as_ref().and_then(|l| l.error_kind),
                "last_success_at": live.last_success_at,
            }),
        );
    }
    let ready = !shutting_down && database.is_none() && all_ready;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({
            "ready": ready,
            "shutting_down": shutting_down,
            "database": database.as_deref().unwrap_or("ok"),
            "connectors": connectors,
        })),
    )
}
