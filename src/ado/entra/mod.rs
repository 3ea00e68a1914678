//! Entra ID pool entries: a [`Provider`] per configured identity (service principal, managed
//! identity, workload identity) that hands the pool a cached bearer token and fetches a new
//! one before it runs out (API_FACTS §12).
//!
//! `cache` decides when to fetch (a margin relative to the token's lifetime, one fetch at a
//! time, one retry when ADO refuses a token); `fetch` makes the token requests and classifies
//! their answers. This module ties them together with the entry's name, its metrics and its
//! log lines, which carry `connector`, `token` (the entry's name) and `method`, never a token.

pub mod cache;
pub mod fetch;

use std::sync::Arc;

use futures::future::BoxFuture;
use reqwest::header::HeaderValue;

use crate::ado::auth::{AuthError, Provider};
use crate::config::identity::token_url;
use crate::config::{HttpSettings, Identity};
use crate::metrics::Metrics;
use cache::TokenCache;
use fetch::{Fetcher, Source};

/// The token provider of one Entra ID pool entry.
pub struct EntraProvider {
    connector: String,
    name: String,
    method: &'static str,
    fetcher: Fetcher,
    cache: TokenCache,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for EntraProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntraProvider")
            .field("connector", &self.connector)
            .field("name", &self.name)
            .field("method", &self.method)
            .finish()
    }
}

impl EntraProvider {
    /// A provider for `identity`, the entry `name` of `connector`'s pool. Its token requests
    /// use a client of their own with the `[http]` timeouts; the IMDS one bypasses any proxy
    /// ("IMDS isn't intended to be used behind a proxy", API_FACTS §12).
    pub fn new(
        connector: &str,
        name: &str,
        identity: &Identity,
        http: &HttpSettings,
        metrics: Arc<Metrics>,
    ) -> Result<Self, reqwest::Error> {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("ado-ingest/", env!("CARGO_PKG_VERSION")))
            .timeout(http.timeout)
            .connect_timeout(http.connect_timeout)
            // A redirect of a request that carries a client secret is never followed.
            .redirect(reqwest::redirect::Policy::none());
        let source = match identity {
            Identity::ServicePrincipal {
                tenant_id,
                client_id,
                client_secret,
                authority,
            } => Source::Secret {
                url: token_url(authority, tenant_id),
                client_id: client_id.clone(),
                secret: client_secret.clone(),
            },
            Identity::WorkloadIdentity {
                tenant_id,
                client_id,
                token_file,
                authority,
            } => Source::Assertion {
                url: token_url(authority, tenant_id),
                client_id: client_id.clone(),
                token_file: token_file.clone(),
            },
            Identity::ManagedIdentity {
                client_id,
                endpoint,
            } => {
                builder = builder.no_proxy();
                Source::Imds {
                    endpoint: endpoint.clone(),
                    client_id: client_id.clone(),
                }
            }
        };
        Ok(Self {
            connector: connector.to_string(),
            name: name.to_string(),
            method: identity.method(),
            fetcher: Fetcher {
                http: builder.build()?,
                source,
                min_backoff: http.min_backoff,
                max_backoff: http.max_backoff,
            },
            cache: TokenCache::default(),
            metrics,
        })
    }

    async fn fetch(&self) -> Result<cache::AccessToken, AuthError> {
        let started = std::time::Instant::now();
        let result = self.fetcher.fetch().await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let (connector, token, method) = (&self.connector, &self.name, self.method);
        match &result {
            Ok(t) => {
                self.metrics.token_fetch(method, "ok");
                tracing::info!(
                    connector,
                    token,
                    method,
                    lifetime_s = t.lifetime.as_secs(),
                    elapsed_ms,
                    "Entra ID token fetched"
                );
            }
            Err(AuthError::Refused(reason)) => {
                self.metrics.token_fetch(method, "refused");
                tracing::error!(connector, token, method, reason = %reason, elapsed_ms, "Entra ID token refused");
            }
            Err(e) => {
                self.metrics.token_fetch(method, "unavailable");
                tracing::warn!(connector, token, method, reason = %e, elapsed_ms, "Entra ID token service unavailable");
            }
        }
        // The pool's messages name the entry; these add the method.
        result.map_err(|e| match e {
            AuthError::Refused(r) => AuthError::Refused(format!("{method}: {r}")),
            AuthError::Unavailable(r) => AuthError::Unavailable(format!("{method}: {r}")),
        })
    }
}

impl Provider for EntraProvider {
    fn header(&self) -> BoxFuture<'_, Result<HeaderValue, AuthError>> {
        Box::pin(self.cache.header(|| self.fetch()))
    }

    fn refused(&self, header: &HeaderValue) -> bool {
        let renew = self.cache.refused(header);
        tracing::info!(
            connector = %self.connector,
            token = %self.name,
            method = self.method,
            renew,
            "Azure DevOps refused the bearer token"
        );
        renew
    }

    fn method(&self) -> &'static str {
        self.method
    }
}
