//! The `/_sim/` admin API: the library's controls over HTTP, for the `ado-sim` binary.
//!
//! No authentication, no faults, not counted in the statistics: tests must always be able to
//! read the truth and reset the simulator, whatever state they put it in.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Query;
use crate::{BudgetConfig, Change, FaultConfig, Pat, Sim};

fn json_response(status: StatusCode, v: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        v.to_string(),
    )
        .into_response()
}

fn bad_request(msg: String) -> Response {
    json_response(StatusCode::BAD_REQUEST, &json!({ "error": msg }))
}

/// `GET /_sim/truth[?kinds=work_items,teams,…]`: every kind, or the named ones.
pub(crate) async fn truth(State(sim): State<Sim>, uri: Uri) -> Response {
    let query = Query::parse(uri.query().unwrap_or(""));
    let kinds = match query.get("kinds").map(crate::truth::parse_kinds) {
        None => Vec::new(),
        Some(Ok(k)) if k.is_empty() => Vec::new(),
        Some(Ok(k)) => k,
        Some(Err(bad)) => {
            return bad_request(format!(
                "unknown kind '{bad}'; known: {}",
                crate::truth::KINDS.join(", ")
            ));
        }
    };
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        sim.truth_bytes(&kinds),
    )
        .into_response()
}

#[derive(Deserialize)]
struct MutateBody {
    seed: u64,
    changes: usize,
    /// Defaults to `changes`.
    work_item_changes: Option<usize>,
}

/// `POST /_sim/mutate` with `{"seed": S, "changes": N[, "work_item_changes": M]}`.
pub(crate) async fn mutate(State(sim): State<Sim>, body: Bytes) -> Response {
    match serde_json::from_slice::<MutateBody>(&body) {
        Ok(b) => {
            let wi = b.work_item_changes.unwrap_or(b.changes);
            json_response(StatusCode::OK, &sim.mutate_split(b.seed, b.changes, wi))
        }
        Err(e) => bad_request(format!(
            "expected {{\"seed\": u64, \"changes\": usize, \"work_item_changes\"?: usize}}: {e}"
        )),
    }
}

#[derive(Deserialize)]
struct MutateReleasesBody {
    seed: u64,
    changes: usize,
}

/// `POST /_sim/mutate_releases` with `{"seed": S, "changes": N}`: [`Sim::mutate_releases`].
pub(crate) async fn mutate_releases(State(sim): State<Sim>, body: Bytes) -> Response {
    match serde_json::from_slice::<MutateReleasesBody>(&body) {
        Ok(b) => json_response(StatusCode::OK, &sim.mutate_releases(b.seed, b.changes)),
        Err(e) => bad_request(format!(
            "expected {{\"seed\": u64, \"changes\": usize}}: {e}"
        )),
    }
}

/// `POST /_sim/change` with one [`Change`], e.g. `{"delete_repository": {"repository": ID}}`,
/// `{"create_pull_requests": {"repository": ID, "count": N}}` or `{"push_to_pull_request":
/// {"pr": N}}` (also `comment_on_pull_request`, `post_pull_request_status`,
/// `vote_pull_request`, `complete_pull_request`, `edit_work_item` with `{"id"}`,
/// `set_default_branch` with `{"repository",
/// "branch"}`, `force_push_default_branch` with `{"repository", "rewrite", "drop"}`, and on
/// the release side `create_release` `{"project", "definition"}`, `deploy_release`
/// `{"project", "release", "environment"}`, `finish_deployment` `{"project", "deployment",
/// "status"}`, `abandon_release` `{"project", "release"}`, `add_environment_record`
/// `{"environment", "finished"}`, `finish_environment_record` `{"record", "result"}`,
/// `mutate_releases` `{"seed", "changes"}`).
pub(crate) async fn change(State(sim): State<Sim>, body: Bytes) -> Response {
    match serde_json::from_slice::<Change>(&body) {
        Ok(c) => match sim.apply(&c) {
            Ok(v) => json_response(StatusCode::OK, &v),
            Err(e) => json_response(StatusCode::NOT_FOUND, &json!({ "error": e })),
        },
        Err(e) => bad_request(format!(
            "expected {{\"delete_repository\": {{\"repository\"}}}} or \
             {{\"create_pull_requests\": {{\"repository\", \"count\"}}}}: {e}"
        )),
    }
}

/// `GET /_sim/stats`.
pub(crate) async fn stats(State(sim): State<Sim>) -> Response {
    json_response(StatusCode::OK, &sim.stats())
}

/// `GET /_sim/deliveries`: the service hook delivery log, oldest first
/// ([`Sim::deliveries`]; bodies as text).
pub(crate) async fn deliveries(State(sim): State<Sim>) -> Response {
    json_response(StatusCode::OK, &json!(sim.deliveries()))
}

/// `GET /_sim/requests`: the request log, oldest first.
pub(crate) async fn requests(State(sim): State<Sim>) -> Response {
    json_response(StatusCode::OK, &json!(sim.request_log()))
}

/// `DELETE /_sim/stats`.
pub(crate) async fn reset_stats(State(sim): State<Sim>) -> Response {
    sim.reset_stats();
    json_response(StatusCode::OK, &sim.stats())
}

fn current(sim: &Sim) -> Value {
    json!({ "faults": sim.faults(), "budget": sim.budget() })
}

/// `GET /_sim/faults`: the current fault and budget settings.
pub(crate) async fn faults(State(sim): State<Sim>) -> Response {
    json_response(StatusCode::OK, &current(&sim))
}

/// `POST /_sim/faults`: every key optional — `latency_ms`, `latency_jitter_ms`, `error_rate`,
/// `reset_rate`, `budget` (an object, or `null` to remove it), `revoke` (tokens), `add_pats`
/// (`[{"token", "scopes"}]`). Absent keys keep their value.
pub(crate) async fn set_faults(State(sim): State<Sim>, body: Bytes) -> Response {
    let v: Value = match serde_json::from_slice(&body) {
        Ok(Value::Object(m)) => Value::Object(m),
        Ok(_) => return bad_request("expected a JSON object".into()),
        Err(e) => return bad_request(e.to_string()),
    };
    let mut f: FaultConfig = sim.faults();
    let num = |k: &str| v.get(k).and_then(Value::as_f64);
    if let Some(x) = v.get("latency_ms").and_then(Value::as_u64) {
        f.latency_ms = x;
    }
    if let Some(x) = v.get("latency_jitter_ms").and_then(Value::as_u64) {
        f.latency_jitter_ms = x;
    }
    if let Some(x) = num("error_rate") {
        f.error_rate = x;
    }
    if let Some(x) = num("reset_rate") {
        f.reset_rate = x;
    }
    let budget = match v.get("budget") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(b) => match serde_json::from_value::<BudgetConfig>(b.clone()) {
            Ok(b) => Some(Some(b)),
            Err(e) => return bad_request(format!("budget: {e}")),
        },
    };
    let revoke: Vec<String> = match v.get("revoke") {
        None => Vec::new(),
        Some(r) => match serde_json::from_value(r.clone()) {
            Ok(r) => r,
            Err(e) => return bad_request(format!("revoke: {e}")),
        },
    };
    let add: Vec<Pat> = match v.get("add_pats") {
        None => Vec::new(),
        Some(r) => match serde_json::from_value(r.clone()) {
            Ok(r) => r,
            Err(e) => return bad_request(format!("add_pats: {e}")),
        },
    };
    sim.set_faults(f);
    if let Some(b) = budget {
        sim.set_budget(b);
    }
    for p in add {
        sim.add_pat(p);
    }
    for t in &revoke {
        sim.revoke_pat(t);
    }
    json_response(StatusCode::OK, &current(&sim))
}
