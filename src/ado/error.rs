//! `ado::Error`: every way an ADO call can fail, classified once where the response is read
//! (STYLE.md "Errors"). Retry and pool logic match on the variant, never on strings.

use std::time::Duration;

/// An ADO request failure.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The token was refused: 401, or a 203 / non-JSON 2xx sign-in page (API_FACTS §3).
    /// The token leaves the pool; the request moves to another token.
    #[error("{endpoint}: token `{token}` was refused (HTTP {status}): {detail}")]
    Auth {
        endpoint: &'static str,
        token: String,
        status: u16,
        detail: String,
    },
    /// Every token of the connector's pool was refused; nothing can be fetched.
    #[error("invalid_credentials: every token of connector `{connector}` was refused ({})", tokens.join(", "))]
    InvalidCredentials {
        connector: String,
        tokens: Vec<String>,
    },
    /// 403: the token lacks a scope or permission for this endpoint.
    #[error("invalid_permissions: {endpoint} answered 403: {message}")]
    Permission {
        endpoint: &'static str,
        message: String,
    },
    /// 404: the resource does not exist or this token may not see it. Never read as a deletion
    /// (DESIGN.md "404 is not deletion").
    #[error("{endpoint} answered 404: {message}")]
    NotFound {
        endpoint: &'static str,
        message: String,
    },
    /// 204 where a body was expected: the thing exists but has nothing to show (a build whose
    /// YAML failed to compile has no timeline). Not retried; the caller decides.
    #[error("{endpoint} answered 204 (no content)")]
    NoContent { endpoint: &'static str },
    /// 429: blocked by the usage limit (API_FACTS §2); retried after `retry_after`.
    #[error("{endpoint} answered 429 (throttled, retry after {retry_after:?})")]
    Throttled {
        endpoint: &'static str,
        retry_after: Option<Duration>,
    },
    /// 5xx, timeout, connection reset or a body cut short: worth retrying.
    #[error("{endpoint}: transient failure: {detail}")]
    Transient {
        endpoint: &'static str,
        status: Option<u16>,
        detail: String,
    },
    /// Another 4xx (bad parameters, api-version out of range, …) with ADO's `typeKey` and message.
    #[error("{endpoint} answered {status} {type_key}: {message}")]
    Api {
        endpoint: &'static str,
        status: u16,
        type_key: String,
        message: String,
    },
    /// A 2xx whose JSON does not have the expected shape.
    #[error("{endpoint}: unexpected response: {reason}; body starts: {snippet}")]
    BadResponse {
        endpoint: &'static str,
        reason: String,
        snippet: String,
    },
    /// The response body grew past `http.max_body_mib` (after decompression): an oversized
    /// page or a compression bomb. Not retried; the same request would send the same body.
    #[error("{endpoint}: response body exceeds the {limit_mib} MiB limit (http.max_body_mib)")]
    BodyTooLarge {
        endpoint: &'static str,
        limit_mib: u64,
    },
    /// A pagination guard stopped a loop that did not advance (API_FACTS §1.1).
    #[error("{endpoint}: paging stopped: {reason}")]
    PagingGuard {
        endpoint: &'static str,
        reason: String,
    },
    /// The request could not be built: a bad organization URL, or a body that does not
    /// encode as JSON.
    #[error("cannot build a URL for {endpoint}: {detail}")]
    Url {
        endpoint: &'static str,
        detail: String,
    },
    /// The run was cancelled (Ctrl-C / shutdown) between requests.
    #[error("cancelled")]
    Cancelled,
}

impl Error {
    /// Whether a retry of the same request may succeed (429 / 5xx / timeouts / resets).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Throttled { .. } | Error::Transient { .. })
    }

    /// The stable kind name printed for users and recorded in `sync_runs`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Auth { .. } | Error::InvalidCredentials { .. } => "invalid_credentials",
            Error::Permission { .. } => "invalid_permissions",
            Error::NotFound { .. } => "not_found",
            Error::NoContent { .. } => "no_content",
            Error::Throttled { .. } => "throttled",
            Error::Transient { .. } => "transient",
            Error::Api { .. } => "api_error",
            Error::BadResponse { .. } => "bad_response",
            Error::BodyTooLarge { .. } => "body_too_large",
            Error::PagingGuard { .. } => "paging_guard",
            Error::Url { .. } => "bad_url",
            Error::Cancelled => "cancelled",
        }
    }
}
