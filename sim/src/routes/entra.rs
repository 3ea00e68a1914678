//! The simulated tenant's HTTP side (API_FACTS §12): Entra's token endpoint
//! `POST /{tenant}/oauth2/v2.0/token` (client credentials with `client_secret`, or a
//! `client_assertion` for workload identity) and IMDS
//! `GET /metadata/identity/oauth2/token`. Answers and errors have the real shapes: Entra's
//! `{error, error_description: "AADSTS…", error_codes, timestamp, trace_id, correlation_id}`,
//! IMDS's string numbers and its `bad_request_102` without `Metadata: true`. Neither route is
//! counted in the ADO request statistics; `Sim::entra_stats` counts them.

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::entra::{ADO_RESOURCE, Presented, Refusal};
use crate::{Sim, lock};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn form(text: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect()
}

fn json_response(status: u16, body: Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

/// Entra's error envelope; the description's first line is the AADSTS message, then the
/// trace and correlation ids, as Entra writes them.
fn aad_error(r: Refusal) -> Response {
    let now = chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string();
    let trace = format!("{:08x}-sim0-trace-{:012x}", r.code, rand_id());
    let correlation = format!("{:08x}-sim0-corr-{:012x}", r.code, rand_id());
    json_response(
        r.status,
        json!({
            "error": r.error,
            "error_description": format!(
                "AADSTS{}: {}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {now}",
                r.code, r.message
            ),
            "error_codes": [r.code],
            "timestamp": now,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": format!("https://login.microsoftonline.com/error?code={}", r.code),
        }),
    )
}

fn rand_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    N.fetch_add(1, Ordering::Relaxed)
}

fn bad(error: &'static str, code: u32, message: &str) -> Response {
    aad_error(Refusal {
        status: 400,
        error,
        code,
        message: message.to_string(),
    })
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub(crate) async fn token(
    State(sim): State<Sim>,
    Path(tenant): Path<String>,
    body: String,
) -> Response {
    let f = form(&body);
    let get = |k: &str| f.get(k).map(String::as_str).filter(|v| !v.is_empty());
    if get("grant_type") != Some("client_credentials") {
        return bad(
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type. This flow supports client_credentials only.",
        );
    }
    let Some(client_id) = get("client_id") else {
        return bad(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        );
    };
    let Some(scope) = get("scope") else {
        return bad(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.",
        );
    };
    let Some(resource) = scope.strip_suffix("/.default") else {
        return bad(
            "invalid_scope",
            1002012,
            &format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        );
    };
    if resource != ADO_RESOURCE {
        return bad(
            "invalid_resource",
            500011,
            &format!(
                "The resource principal named {resource} was not found in the tenant named {tenant}."
            ),
        );
    }
    let presented = match (get("client_secret"), get("client_assertion")) {
        (Some(secret), _) => Presented::Secret(secret),
        (None, Some(assertion)) => {
            if get("client_assertion_type") != Some(JWT_BEARER) {
                return bad(
                    "invalid_request",
                    50027,
                    "JWT token is invalid or malformed: client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
                );
            }
            Presented::Assertion(assertion)
        }
        (None, None) => {
            return aad_error(Refusal {
                status: 401,
                error: "invalid_client",
                code: 7000218,
                message: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.".into(),
            });
        }
    };
    let result = lock(&sim.inner.entra).client_credentials(&tenant, client_id, presented);
    match result {
        Ok((token, lifetime)) => {
            let secs = lifetime.as_secs_f64().ceil() as u64;
            json_response(
                200,
                json!({
                    "token_type": "Bearer",
                    "expires_in": secs,
                    "ext_expires_in": secs,
                    "access_token": token,
                }),
            )
        }
        Err(r) => aad_error(r),
    }
}

/// `GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=…[&client_id=…]`.
pub(crate) async fn imds(
    State(sim): State<Sim>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let q = form(query.as_deref().unwrap_or(""));
    let mut entra = lock(&sim.inner.entra);
    entra.imds_request();
    // Exactly `true`, in lower case (API_FACTS §12).
    if headers.get("metadata").and_then(|v| v.to_str().ok()) != Some("true") {
        return json_response(
            400,
            json!({"error": "bad_request_102", "error_description": "Required metadata header not specified"}),
        );
    }
    if entra.imds_failures > 0 {
        entra.imds_failures -= 1;
        return json_response(
            503,
            json!({"error": "service_unavailable", "error_description": "IMDS is temporarily unavailable"}),
        );
    }
    if q.get("api-version").is_none_or(|v| v.is_empty()) {
        return json_response(
            400,
            json!({"error": "invalid_request", "error_description": "Required query variable 'api-version' is missing"}),
        );
    }
    let resource = q.get("resource").map(String::as_str).unwrap_or("");
    if resource.trim_end_matches('/') != ADO_RESOURCE {
        return json_response(
            400,
            json!({"error": "invalid_resource", "error_description": format!("AADSTS500011: The resource principal named {resource} was not found in the tenant.")}),
        );
    }
    match entra.managed_identity(q.get("client_id").map(String::as_str)) {
        Ok((token, lifetime)) => {
            let secs = lifetime.as_secs_f64().ceil() as u64;
            let now = chrono::Utc::now().timestamp();
            // Every number a string, as IMDS answers (API_FACTS §12).
            json_response(
                200,
                json!({
                    "access_token": token,
                    "refresh_token": "",
                    "expires_in": secs.to_string(),
                    "expires_on": (now + secs as i64).to_string(),
                    "not_before": now.to_string(),
                    "resource": ADO_RESOURCE,
                    "token_type": "Bearer",
                }),
            )
        }
        Err(why) => json_response(
            400,
            json!({"error": "invalid_request", "error_description": why}),
        ),
    }
}
