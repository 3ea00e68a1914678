//! Everything HTTP and ADO JSON; nothing of SQL.
//!
//! [`Client`] is the one place requests are sent: it builds the URL from an [`Endpoint`], adds
//! the api-version (lowered once when an Azure DevOps Server says it speaks only an older
//! one, [`version`]), takes a token from the connector's [`TokenPool`], classifies the response
//! into [`Error`] and retries what is worth retrying (429 / 5xx / timeouts / resets) with
//! exponential, jittered backoff that honours the server's `Retry-After`. A run's
//! cancellation token stops every request in flight, backoff sleep and pool wait at once.
//! Writes ([`Client::send`]: the service-hook subscriptions of `ado-ingest webhooks`) take the
//! same path; a POST is sent again only when it cannot have run ([`Method`]).
//!
//! [`listing`] holds the typed requests and [`Client::pages`] (`pages`) walks any of them.

pub mod auth;
pub mod clock;
pub mod endpoint;
pub mod entra;
pub mod error;
pub mod listing;
mod method;
pub mod models;
mod pages;
pub mod paging;
pub mod pool;
mod response;
pub mod version;

use auth::AuthError;
pub use endpoint::Endpoint;
pub use error::Error;
pub use method::Method;
use method::{Failed, Resend};
pub use pages::{Page, Resume};
use pool::Lease;
pub use pool::TokenPool;
use response::{body_limit, classify, describe_reqwest, is_sign_in_page, read_capped, snippet};

use crate::config::HttpSettings;
use crate::metrics::Metrics;
use backon::{ExponentialBuilder, Retryable};
use chrono::{DateTime, Utc};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, DATE, HeaderMap};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use url::Url;

/// Sent on every request so an invalid token gets a 401 instead of a sign-in page redirect
/// (API_FACTS §3).
const SUPPRESS_REDIRECT: (&str, &str) = ("X-TFS-FedAuthRedirect", "Suppress");
/// Continuation header, read case-insensitively (API_FACTS §1.1).
const CONTINUATION_HEADER: &str = "x-ms-continuationtoken";

/// One decoded response.
#[derive(Debug)]
pub struct Response<T> {
    pub body: T,
    /// `x-ms-continuationtoken`, when the server sent one.
    pub continuation: Option<String>,
    /// When the request that produced this body was sent, by ADO's clock ([`clock`]): the
    /// observation time of its rows.
    pub sent_at: DateTime<Utc>,
}

/// An ADO client for one connector: its token pool, concurrency limit and retry policy.
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

/// Where each kind of endpoint is served (API_FACTS §0): the organization (or Server
/// collection) URL, the Graph host's organization URL (`https://vssps.dev.azure.com/{org}` on
/// Services) and the release host's (`https://vsrm.dev.azure.com/{org}`); on Server all three
/// are the collection URL.
#[derive(Debug, Clone, Copy)]
pub struct Hosts<'a> {
    pub organization: &'a str,
    pub graph: &'a str,
    pub release: &'a str,
}

impl<'a> Hosts<'a> {
    /// Every endpoint under one URL (Azure DevOps Server, the simulator).
    pub fn single(url: &'a str) -> Self {
        Self {
            organization: url,
            graph: url,
            release: url,
        }
    }
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    base: Url,
    graph_base: Url,
    release_base: Url,
    /// The api-version sent, lowered when a Server says it supports only an older one.
    version: version::ApiVersion,
    connector: String,
    pool: Arc<TokenPool>,
    metrics: Arc<Metrics>,
    inflight: Semaphore,
    http_settings: HttpSettings,
    cancel: CancellationToken,
    /// ADO's clock, learned from the `Date` of every response.
    clock: clock::ServerClock,
}

impl Client {
    /// `hosts` names where each kind of endpoint is served ([`Hosts`]).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        connector: &str,
        hosts: &Hosts<'_>,
        api_version: &str,
        http_settings: &HttpSettings,
        concurrency: usize,
        pool: Arc<TokenPool>,
        metrics: Arc<Metrics>,
        cancel: CancellationToken,
    ) -> Result<Self, Error> {
        let base = parse_base(hosts.organization, "organization")?;
        let graph_base = parse_base(hosts.graph, "graph")?;
        let release_base = parse_base(hosts.release, "release")?;
        crate::install_crypto_provider();
        let http = reqwest::Client::builder()
            .user_agent(concat!("ado-ingest/", env!("CARGO_PKG_VERSION")))
            .timeout(http_settings.timeout)
            .connect_timeout(http_settings.connect_timeout)
            // A redirect is a sign-in page or a moved collection: report it, never follow it
            // with the token attached (API_FACTS §3).
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(concurrency.max(1))
            .build()
            .map_err(|e| Error::Url {
                endpoint: "client",
                detail: e.to_string(),
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base,
                graph_base,
                release_base,
                version: version::ApiVersion::new(api_version, hosts.organization),
                connector: connector.to_string(),
                pool,
                metrics,
                inflight: Semaphore::new(concurrency.max(1)),
                http_settings: http_settings.clone(),
                cancel,
                clock: clock::ServerClock::default(),
            }),
        })
    }

    /// Now by ADO's clock, as learned from the `Date` headers so far (the local clock until
    /// the first response): the time to store as a watermark (see [`clock`]).
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// The connector's token pool.
    pub fn pool(&self) -> &TokenPool {
        &self.inner.pool
    }

    /// The connector this client serves (for logs).
    pub fn connector(&self) -> &str {
        &self.inner.connector
    }

    /// The token that cancels this client's requests.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.inner.cancel
    }

    /// The metrics this client records into.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// The URL of `endpoint` with `query` and the api-version.
    pub fn url(&self, endpoint: &Endpoint, query: &[(&str, String)]) -> Result<Url, Error> {
        let mut url = match endpoint.host() {
            endpoint::Host::Organization => self.inner.base.clone(),
            endpoint::Host::Graph => self.inner.graph_base.clone(),
            endpoint::Host::Release => self.inner.release_base.clone(),
        };
        url.path_segments_mut()
            .map_err(|_| Error::Url {
                endpoint: endpoint.label(),
                detail: format!("{} cannot be a base URL", self.inner.base),
            })?
            .extend(endpoint.segments());
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
            let version = self
                .inner
                .version
                .for_endpoint(endpoint.label(), endpoint.preview_only());
            q.append_pair("api-version", &version);
        }
        Ok(url)
    }

    /// GETs `endpoint` and decodes the JSON body, retrying transient failures. Returns
    /// [`Error::Cancelled`] as soon as the run is cancelled, dropping the request in flight, a
    /// backoff sleep or a wait for a token.
    pub async fn get<T: DeserializeOwned>(
        &self,
        endpoint: &Endpoint,
        query: &[(&str, String)],
    ) -> Result<Response<T>, Error> {
        let r = self
            .request::<T>(Method::Get, endpoint, query, None)
            .await?;
        match r.body {
            Some(body) => Ok(Response {
                body,
                continuation: r.continuation,
                sent_at: r.sent_at,
            }),
            // An empty 204 is an answer, not a proxy's page: neither parsed nor retried.
            None => Err(Error::NoContent {
                endpoint: endpoint.label(),
            }),
        }
    }

    /// Sends `method` to `endpoint` with `body` as JSON (when there is one) and decodes the
    /// JSON answer; `None` when the answer is empty (ADO's 204 for a DELETE). Goes through the
    /// same token pool, concurrency limit, auth and redirect handling, rate-limit observation,
    /// metrics and cancellation as [`Client::get`]. Retries: GET, PUT and DELETE are
    /// idempotent and retry like a GET; a POST is sent again only when it cannot have run on
    /// the server ([`Resend`]).
    pub async fn send<B, T>(
        &self,
        method: Method,
        endpoint: &Endpoint,
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<Response<Option<T>>, Error>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| Error::Url {
                endpoint: endpoint.label(),
                detail: format!("cannot encode the request body: {e}"),
            })?;
        self.request(method, endpoint, query, body).await
    }

    /// POSTs `body` and decodes the created object.
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        endpoint: &Endpoint,
        body: &B,
    ) -> Result<T, Error> {
        let r = self.send(Method::Post, endpoint, &[], Some(body)).await?;
        r.body.ok_or_else(|| empty_answer(endpoint))
    }

    /// PUTs `body` (a replacement) and decodes the stored object.
    pub async fn put<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        endpoint: &Endpoint,
        body: &B,
    ) -> Result<T, Error> {
        let r = self.send(Method::Put, endpoint, &[], Some(body)).await?;
        r.body.ok_or_else(|| empty_answer(endpoint))
    }

    /// DELETEs `endpoint`; whatever the answer's body says is ignored.
    pub async fn delete(&self, endpoint: &Endpoint) -> Result<(), Error> {
        self.send::<(), serde::de::IgnoredAny>(Method::Delete, endpoint, &[], None)
            .await
            .map(|_| ())
    }

    async fn request<T: DeserializeOwned>(
        &self,
        method: Method,
        endpoint: &Endpoint,
        query: &[(&str, String)],
        body: Option<Vec<u8>>,
    ) -> Result<Response<Option<T>>, Error> {
        tokio::select! {
            biased;
            _ = self.inner.cancel.cancelled() => Err(Error::Cancelled),
            r = self.request_retrying(method, endpoint, query, body.as_deref()) => r,
        }
    }

    async fn request_retrying<T: DeserializeOwned>(
        &self,
        method: Method,
        endpoint: &Endpoint,
        query: &[(&str, String)],
        body: Option<&[u8]>,
    ) -> Result<Response<Option<T>>, Error> {
        let label = endpoint.label();
        let preview_only = endpoint.preview_only();
        loop {
            let url = self.url(endpoint, query)?;
            let sent_with = self.inner.version.for_endpoint(label, preview_only);
            match self.retrying::<T>(method, label, &url, body).await {
                Err(Error::Api {
                    status: 400,
                    message,
                    ..
                }) if self.negotiate(label, preview_only, &sent_with, &message) => continue,
                other => return other,
            }
        }
    }

    /// Whether a 400 to a request sent with api-version `sent_with` is a Server's "out of
    /// range" answer that lowered the version, or an "under preview" answer that marked the
    /// endpoint as a preview (now or by a concurrent request), so the request is worth sending
    /// again with the version now in force (API_FACTS §5, [`version`]). It never is twice
    /// with the same version, so a server cannot keep a request in this loop.
    fn negotiate(
        &self,
        label: &'static str,
        preview_only: bool,
        sent_with: &str,
        message: &str,
    ) -> bool {
        let v = &self.inner.version;
        if let Some(supported) = version::supported_in(message) {
            if v.lower_to(supported) {
                tracing::warn!(
                    connector = %self.inner.connector,
                    endpoint = label,
                    requested = sent_with,
                    supported = %supported,
                    "the server supports an older REST api-version (Azure DevOps Server?); using it from now on"
                );
            }
        } else if version::preview_required(message) {
            if v.require_preview(label) {
                tracing::warn!(
                    connector = %self.inner.connector,
                    endpoint = label,
                    requested = sent_with,
                    "the server serves this endpoint only as a preview at this api-version; asking for the preview from now on"
                );
            }
        } else {
            return false;
        }
        v.for_endpoint(label, preview_only) != sent_with
    }

    /// Whether requests go out with api-version `v` or newer, as far as is known now (a
    /// Server's version is learned from its first refusal, [`version`]).
    pub fn speaks(&self, v: version::Version) -> bool {
        self.inner.version.at_least(v)
    }

    async fn retrying<T: DeserializeOwned>(
        &self,
        method: Method,
        label: &'static str,
        url: &Url,
        body: Option<&[u8]>,
    ) -> Result<Response<Option<T>>, Error> {
        let s = &self.inner.http_settings;
        let backoff = ExponentialBuilder::default()
            .with_min_delay(s.min_backoff)
            .with_max_delay(s.max_backoff)
            .with_max_times(s.max_retries)
            .with_jitter();
        (|| self.attempt::<T>(method, label, url, body))
            .retry(backoff)
            .when(|f: &Failed| f.resend.allows(method))
            .adjust(|f, dur| match f.error {
                // The pool already holds the token back until the server's Retry-After has
                // passed (and sends the retry to another token if one is ready), so the retry
                // itself need not wait again.
                Error::Throttled { .. } => dur.map(|_| Duration::from_millis(10)),
                _ => dur,
            })
            .notify(|f, dur| {
                self.inner.metrics.retry();
                tracing::warn!(
                    connector = %self.inner.connector,
                    endpoint = label,
                    method = method.as_str(),
                    error = %f.error,
                    retry_in_ms = dur.as_millis() as u64,
                    "request failed; retrying"
                );
            })
            .await
            .map_err(|f| f.error)
    }

    /// One attempt: moves on to another token when one is refused, so an auth failure is
    /// never a retry of the same token (a refused request did not run, whatever its method).
    async fn attempt<T: DeserializeOwned>(
        &self,
        method: Method,
        label: &'static str,
        url: &Url,
        payload: Option<&[u8]>,
    ) -> Result<Response<Option<T>>, Failed> {
        let inner = &self.inner;
        let _permit = inner
            .inflight
            .acquire()
            .await
            .map_err(|_| Failed::never(Error::Cancelled))?;
        loop {
            let lease = inner.pool.acquire().await.map_err(Failed::never)?;
            // Observed exactly once, even when this future is dropped mid-request (a
            // cancelled run): the pool counts the lease as in flight until then.
            let mut outstanding = Outstanding(Some((&inner.pool, lease)));
            let auth = match inner.pool.auth_header(lease).await {
                Ok(h) => h,
                // Retired by the pool: the next entry.
                Err(AuthError::Refused(_)) => continue,
                Err(AuthError::Unavailable(detail)) => {
                    // No request was sent: safe to send again whatever the method.
                    return Err(Failed {
                        error: Error::Transient {
                            endpoint: label,
                            status: None,
                            detail: format!("token `{}`: {detail}", inner.pool.name(lease)),
                        },
                        resend: Resend::Always,
                    });
                }
            };
            let sent_at = Utc::now();
            let started = std::time::Instant::now();
            let mut request = inner
                .http
                .request(method.http(), url.clone())
                .header(AUTHORIZATION, auth.clone())
                .header(SUPPRESS_REDIRECT.0, SUPPRESS_REDIRECT.1)
                .header(ACCEPT, "application/json");
            if let Some(payload) = payload {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(payload.to_vec());
            }
            let response = match request.send().await {
                Ok(r) => r,
                Err(e) => {
                    inner.metrics.request(label, 0);
                    outstanding.observe(0, &HeaderMap::new());
                    // No connection, no request: safe to send again whatever the method.
                    let resend = if e.is_connect() {
                        Resend::Always
                    } else {
                        Resend::IfIdempotent
                    };
                    return Err(Failed {
                        error: Error::Transient {
                            endpoint: label,
                            status: None,
                            detail: describe_reqwest(&e),
                        },
                        resend,
                    });
                }
            };
            let status = response.status().as_u16();
            if let Some(offset) = inner.clock.observe(
                response.headers().get(DATE).and_then(|v| v.to_str().ok()),
                sent_at,
                Utc::now(),
            ) && !offset.is_zero()
            {
                tracing::info!(
                    connector = %inner.connector,
                    endpoint = label,
                    offset_seconds = offset.num_seconds(),
                    "ADO's clock differs from this host's; stored times follow ADO's Date header"
                );
            }
            inner.metrics.request(label, status);
            outstanding.observe(status, response.headers());
            tracing::debug!(
                connector = %inner.connector,
                endpoint = label,
                method = method.as_str(),
                status,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "response"
            );
            let headers = response.headers().clone();
            let is_json = headers
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|ct| ct.contains("json"));
            // ADO answers an invalid or expired token with 203 and an HTML sign-in page, or a
            // 401 when the redirect is suppressed (API_FACTS §3). A 2xx that is not JSON is
            // never parsed as data; it is the same trap when it is the sign-in page, and
            // otherwise a proxy's or a maintenance page, which says nothing about the token:
            // retried as transient instead of retiring one token after the other.
            let body = if status == 401 || status == 203 {
                None
            } else {
                Some(
                    read_capped(label, status, response, body_limit(&inner.http_settings))
                        .await
                        .map_err(Failed::classified)?,
                )
            };
            // An empty answer: a 204 (a GET reads it as `NoContent`), or a write's 2xx with
            // nothing to say.
            if let Some(b) = &body
                && b.is_empty()
                && (status == 204 || (method != Method::Get && (200..300).contains(&status)))
            {
                return Ok(Response {
                    body: None,
                    continuation: None,
                    sent_at: inner.clock.to_server(sent_at),
                });
            }
            let refused = match &body {
                None => true,
                Some(body) if (200..300).contains(&status) && !is_json => {
                    if !is_sign_in_page(body) {
                        return Err(Failed::classified(Error::Transient {
                            endpoint: label,
                            status: Some(status),
                            detail: format!(
                                "HTTP {status} with a body that is not JSON (content-type {}) \
                                 and not ADO's sign-in page: a proxy or a maintenance page? {}",
                                headers
                                    .get(CONTENT_TYPE)
                                    .and_then(|v| v.to_str().ok())
                                    .unwrap_or("none"),
                                snippet(body)
                            ),
                        }));
                    }
                    true
                }
                Some(_) => false,
            };
            if refused {
                // A bearer token that expired early, or a stored secret rotated since this
                // header was made: the entry gets one more request with a fresh header.
                if inner.pool.may_renew(lease, &auth) {
                    tracing::debug!(
                        connector = %inner.connector,
                        endpoint = label,
                        token = inner.pool.name(lease),
                        status,
                        "token refused; asking its credential for a new one"
                    );
                    continue;
                }
                inner.pool.retire(lease, label, status);
                tracing::debug!(
                    connector = %inner.connector,
                    endpoint = label,
                    token = inner.pool.name(lease),
                    status,
                    "token refused; trying the next one"
                );
                continue;
            }
            let bytes = body.unwrap_or_default();
            return match classify(label, status, &headers, &bytes) {
                Ok(body) => Ok(Response {
                    body: Some(body),
                    continuation: headers
                        .get(CONTINUATION_HEADER)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                        .filter(|t| !t.is_empty()),
                    sent_at: inner.clock.to_server(sent_at),
                }),
                Err(error) => {
                    // 429 is refused before it runs (API_FACTS §2: "the request has been
                    // canceled"); a 503 that names a Retry-After is the service turning work
                    // away, not failing half-way through it.
                    let refused_before_running = status == 429
                        || (status == 503 && headers.contains_key(reqwest::header::RETRY_AFTER));
                    Err(if refused_before_running {
                        Failed {
                            error,
                            resend: Resend::Always,
                        }
                    } else {
                        Failed::classified(error)
                    })
                }
            };
        }
    }
}

/// A POST or PUT answered with no body where ADO sends the stored object.
fn empty_answer(endpoint: &Endpoint) -> Error {
    Error::BadResponse {
        endpoint: endpoint.label(),
        reason: "empty answer where the stored object was expected".into(),
        snippet: String::new(),
    }
}

/// A leased request whose response the pool has not been told about yet; tells it "no
/// response" when dropped unobserved.
struct Outstanding<'a>(Option<(&'a TokenPool, Lease)>);

impl Outstanding<'_> {
    fn observe(&mut self, status: u16, headers: &HeaderMap) {
        if let Some((pool, lease)) = self.0.take() {
            pool.observe(lease, status, headers);
        }
    }
}

impl Drop for Outstanding<'_> {
    fn drop(&mut self) {
        self.observe(0, &HeaderMap::new());
    }
}

fn parse_base(base: &str, what: &'static str) -> Result<Url, Error> {
    let mut url = Url::parse(base).map_err(|e| Error::Url {
        endpoint: what,
        detail: format!("{base}: {e}"),
    })?;
    // Path segments are appended below the organization; a trailing slash would add an
    // empty segment.
    if let Ok(mut segs) = url.path_segments_mut() {
        segs.pop_if_empty();
    }
    Ok(url)
}

#[cfg(test)]
mod tests;
