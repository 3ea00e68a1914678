//! What an answer means: the body read under the size limit, a status and body classified
//! into [`Error`] (ADO's error envelope, the sign-in page a refused token gets, API_FACTS §3),
//! and transport errors described for logs. Pure functions of the response; sends nothing
//! and knows nothing of tokens or retries (the client in `super` does).

use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;

use super::{Error, pool};
use crate::config::HttpSettings;

/// The body limit in bytes.
pub(super) fn body_limit(s: &HttpSettings) -> u64 {
    s.max_body_mib.saturating_mul(1024 * 1024)
}

/// Reads a body chunk by chunk (decompressed: reqwest inflates gzip as it streams) and stops
/// at `limit` bytes, so an oversized page or a gzip bomb costs at most `limit` of memory.
pub(super) async fn read_capped(
    label: &'static str,
    status: u16,
    mut response: reqwest::Response,
    limit: u64,
) -> Result<Vec<u8>, Error> {
    let too_large = || Error::BodyTooLarge {
        endpoint: label,
        limit_mib: limit / (1024 * 1024),
    };
    // Content-Length is the compressed size when the body is compressed, so it can only
    // reject early, never accept.
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() as u64 + chunk.len() as u64 > limit {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => {
                return Err(Error::Transient {
                    endpoint: label,
                    status: Some(status),
                    detail: format!("body cut short: {}", describe_reqwest(&e)),
                });
            }
        }
    }
}

/// Turns a non-auth response into a value or a typed error.
pub(super) fn classify<T: DeserializeOwned>(
    label: &'static str,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, Error> {
    match status {
        200..=299 => serde_json::from_slice(body).map_err(|e| Error::BadResponse {
            endpoint: label,
            reason: e.to_string(),
            snippet: snippet(body),
        }),
        300..=399 => Err(Error::Api {
            endpoint: label,
            status,
            type_key: "Redirect".into(),
            message: format!(
                "redirected to {}; set organization.url to the final URL",
                headers
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("(no location)")
            ),
        }),
        403 => Err(Error::Permission {
            endpoint: label,
            message: envelope(body).1,
        }),
        404 => Err(Error::NotFound {
            endpoint: label,
            message: envelope(body).1,
        }),
        429 => Err(Error::Throttled {
            endpoint: label,
            retry_after: pool::ServerHints::parse(headers).retry_after,
        }),
        500..=599 => Err(Error::Transient {
            endpoint: label,
            status: Some(status),
            detail: format!("HTTP {status}: {}", envelope(body).1),
        }),
        _ => {
            let (type_key, message) = envelope(body);
            Err(Error::Api {
                endpoint: label,
                status,
                type_key,
                message,
            })
        }
    }
}

/// Whether a non-JSON 2xx body is ADO's sign-in page (what an invalid token gets instead of a
/// 401, API_FACTS §3) rather than some other HTML page: it links to the sign-in service.
pub(super) fn is_sign_in_page(body: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&body[..body.len().min(64 * 1024)]).to_lowercase();
    ["_signin", "login.microsoftonline.com", "signin", "sign in"]
        .iter()
        .any(|marker| head.contains(marker))
}

/// ADO's error envelope: `{message, typeKey, …}` (API_FACTS §3); falls back to a body snippet.
pub(super) fn envelope(body: &[u8]) -> (String, String) {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Envelope {
        #[serde(default)]
        type_key: Option<String>,
        #[serde(default)]
        message: Option<String>,
    }
    match serde_json::from_slice::<Envelope>(body) {
        Ok(e) => (
            e.type_key.unwrap_or_default(),
            e.message.unwrap_or_else(|| snippet(body)),
        ),
        Err(_) => (String::new(), snippet(body)),
    }
}

/// The first 200 characters of a body, on one line.
pub(super) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    one_line.trim().to_string()
}

pub(super) fn describe_reqwest(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect failed"
    } else if e.is_body() || e.is_decode() {
        "body error"
    } else {
        "request failed"
    };
    let mut detail = format!("{kind}: {e}");
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        detail.push_str(&format!(": {s}"));
        src = s.source();
    }
    detail
}
