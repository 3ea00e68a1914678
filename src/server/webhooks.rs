//! `POST /webhooks/ado`: ADO service-hook deliveries (issue 13). Authenticates, bounds the
//! body, and hands it to the `webhooks::Receiver`; answers within milliseconds — 202 for
//! anything taken or knowingly ignored, never 410 (which makes ADO disable the
//! subscription, API_FACTS §6), 503 when the delivery could not be recorded (ADO retries
//! 503). Nothing is written for a refused delivery.

use crate::service::state::ServiceState;
use crate::webhooks::{MAX_BODY, Verdict, auth};
use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::json;
use std::sync::Arc;

pub async fn receive(State(state): State<Arc<ServiceState>>, request: Request) -> Response {
    let Some(receiver) = &state.webhooks else {
        return refuse(
            StatusCode::NOT_FOUND,
            "webhooks are off: set server.webhook_secret to receive them",
        );
    };
    let (parts, body) = request.into_parts();
    let stats = &receiver.stats;
    if !auth::authorized(&parts.headers, receiver.secret()) {
        stats.delivery("unauthorized");
        tracing::warn!(
            status = 401,
            "webhook refused: no valid X-ADO-Signature or Basic credentials"
        );
        return refuse(
            StatusCode::UNAUTHORIZED,
            "the delivery carries neither the X-ADO-Signature header nor Basic credentials with the shared secret",
        );
    }
    let bytes = match read_bounded(body).await {
        Ok(b) => b,
        Err(TooLarge) => {
            stats.delivery("too_large");
            tracing::warn!(
                status = 413,
                limit = MAX_BODY,
                "webhook refused: body too large"
            );
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the delivery is larger than 1 MiB",
            );
        }
    };
    match receiver.accept(&bytes).await {
        Ok(Verdict::Malformed(why)) => {
            stats.delivery("malformed");
            tracing::warn!(status = 400, error = %why, "webhook refused");
            refuse(StatusCode::BAD_REQUEST, &why.to_string())
        }
        Ok(verdict) => {
            stats.delivery(verdict.label());
            (
                StatusCode::ACCEPTED,
                Json(json!({ "outcome": verdict.label() })),
            )
                .into_response()
        }
        Err(e) => {
            stats.delivery("unrecorded");
            tracing::error!(status = 503, error = %e, "webhook not recorded; ADO will retry it");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "the delivery could not be recorded; retry",
            )
        }
    }
}

/// How much of an oversized body is read (and dropped) before answering 413: a client still
/// sending when the answer comes sees a reset instead of the 413.
const DRAIN: usize = 16 * MAX_BODY;

struct TooLarge;

/// The body if it is at most [`MAX_BODY`]; otherwise reads on, discarding, up to [`DRAIN`].
/// A client that hangs up mid-body gets no answer anyway; what it sent is refused.
async fn read_bounded(body: axum::body::Body) -> Result<Vec<u8>, TooLarge> {
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            return Err(TooLarge);
        };
        seen += chunk.len();
        if seen > DRAIN {
            break;
        }
        if seen <= MAX_BODY {
            bytes.extend_from_slice(&chunk);
        }
    }
    if seen > MAX_BODY {
        return Err(TooLarge);
    }
    Ok(bytes)
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "message": message }))).into_response()
}
