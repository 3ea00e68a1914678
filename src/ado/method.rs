//! What a request is (its [`Method`]) and whether a failed one may be sent again
//! ([`Resend`]): the retry policy's inputs, decided once where the response is read.

use super::Error;

/// The HTTP methods the client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    pub(super) fn http(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Delete => reqwest::Method::DELETE,
        }
    }

    /// For logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }

    /// Whether sending the request twice has the effect of sending it once (RFC 9110
    /// §9.2.2): a PUT replaces with the same body, a second DELETE finds nothing to delete. A
    /// POST creates: sent twice after a response was lost, it would create twice (two
    /// identical service-hook subscriptions, two deliveries per event).
    pub fn is_idempotent(self) -> bool {
        !matches!(self, Method::Post)
    }
}

/// Whether a failed attempt may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Resend {
    /// Not worth it: the same request gets the same answer.
    Never,
    /// Worth it (a 5xx, a timeout, a reset), but the request may have run: only an idempotent
    /// method is sent again.
    IfIdempotent,
    /// The request cannot have run (no connection, 429, 503 with Retry-After): any method.
    Always,
}

impl Resend {
    pub(super) fn allows(self, method: Method) -> bool {
        match self {
            Resend::Never => false,
            Resend::IfIdempotent => method.is_idempotent(),
            Resend::Always => true,
        }
    }
}

/// A failed attempt: the error, and whether the request may be sent again.
#[derive(Debug)]
pub(super) struct Failed {
    pub(super) error: Error,
    pub(super) resend: Resend,
}

impl Failed {
    pub(super) fn never(error: Error) -> Self {
        Self {
            error,
            resend: Resend::Never,
        }
    }

    /// A retryable error (429, 5xx, timeout) may have run on the server.
    pub(super) fn classified(error: Error) -> Self {
        let resend = if error.is_retryable() {
            Resend::IfIdempotent
        } else {
            Resend::Never
        };
        Self { error, resend }
    }
}
