//! How one pool entry authenticates: a PAT's fixed Basic header, or a [`Provider`] that hands
//! out the current header for each request (an Entra ID bearer token that expires and is
//! fetched again, a stored credential that can be rotated while the service runs).
//!
//! Owns the header a request carries, nothing else: the pool decides which entry sends, the
//! client sends. A header is marked sensitive so no Debug or log line prints it.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use futures::future::BoxFuture;
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

/// Why a credential produced no header.
#[non_exhaustive]
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    /// The credential was refused for good (the identity provider rejected the client or its
    /// secret, a stored credential was deleted): like a 401 from ADO, the entry leaves the
    /// pool. The message names the credential, never a secret.
    #[error("{0}")]
    Refused(String),
    /// The token service could not be reached or answered badly; the request fails like a
    /// transient ADO error and is retried.
    #[error("{0}")]
    Unavailable(String),
}

/// A credential whose header can change from one request to the next.
pub trait Provider: Send + Sync {
    /// The `Authorization` header for the next request (marked sensitive).
    fn header(&self) -> BoxFuture<'_, Result<HeaderValue, AuthError>>;
    /// ADO refused `header` (401, or a 203 sign-in page). Returns true when a new header may
    /// be accepted — a cached bearer token was dropped, a stored secret was rotated since — so
    /// the pool tries the entry again instead of retiring it. Must return false when
    /// `header` is already the newest one it can give, so a refused credential is retired
    /// after one retry, never looped on.
    fn refused(&self, header: &HeaderValue) -> bool;
    /// The authentication method, as `status` and `validate` name it (`pat`,
    /// `service_principal`, `managed_identity`, `workload_identity`).
    fn method(&self) -> &'static str;
}

/// The credential of one pool entry.
#[derive(Clone)]
pub enum Auth {
    /// A fixed header (a PAT from the configuration).
    Static(HeaderValue),
    /// A header asked for at every request.
    Dynamic(Arc<dyn Provider>),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Static(_) => f.write_str("Static([redacted])"),
            Auth::Dynamic(p) => write!(f, "Dynamic({})", p.method()),
        }
    }
}

impl Auth {
    /// A PAT: HTTP Basic with an empty user name (API_FACTS §3).
    pub fn pat(secret: &SecretString) -> Self {
        Auth::Static(basic(secret))
    }

    /// The header for the next request.
    pub async fn header(&self) -> Result<HeaderValue, AuthError> {
        match self {
            Auth::Static(h) => Ok(h.clone()),
            Auth::Dynamic(p) => p.header().await,
        }
    }

    /// See [`Provider::refused`]; a fixed header never gets better.
    pub fn refused(&self, header: &HeaderValue) -> bool {
        match self {
            Auth::Static(_) => false,
            Auth::Dynamic(p) => p.refused(header),
        }
    }
}

/// `Basic base64(":" + pat)`, marked sensitive.
pub fn basic(secret: &SecretString) -> HeaderValue {
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!(":{}", secret.expose_secret()));
    sensitive(&format!("Basic {encoded}"))
}

/// `Bearer <token>`, marked sensitive (Entra ID access tokens, API_FACTS §12).
pub fn bearer(token: &SecretString) -> HeaderValue {
    sensitive(&format!("Bearer {}", token.expose_secret()))
}

fn sensitive(value: &str) -> HeaderValue {
    // A secret with a byte a header cannot carry (a newline pasted with it) is sent as a bare
    // scheme; ADO refuses it with 401 and the entry is retired under its name.
    let mut header =
        HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("Basic"));
    header.set_sensitive(true);
    header
}

/// One pool entry: the name logs show and its credential.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub auth: Auth,
}

impl From<crate::config::Token> for Entry {
    fn from(t: crate::config::Token) -> Self {
        Entry {
            auth: Auth::pat(&t.secret),
            name: t.name,
        }
    }
}
