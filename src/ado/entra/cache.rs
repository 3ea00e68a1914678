//! The bearer token one pool entry reuses: when to fetch a new one, one fetch at a time, and
//! what to do when ADO refuses the one it has.
//!
//! Entra tokens live "60-90 minutes" by default, the AKS doc says 24 h and the simulator hands
//! out 2 s ones, so the lifetime is whatever `expires_in` said, never a constant (API_FACTS
//! §12). A token is reused until less than [`margin`] of it remains: 5 minutes of an hour-long
//! token, a fifth of a short one, so a 60 s token serves about 48 s. Owns no HTTP: the fetch is
//! a closure.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::HeaderValue;
use secrecy::SecretString;
// Tokio's clock, so tests run the cache on paused time.
use tokio::time::Instant;

use crate::ado::auth::{AuthError, bearer};

/// A token as the token service answered it.
pub struct AccessToken {
    pub token: SecretString,
    /// `expires_in`, from the moment the request was sent.
    pub lifetime: Duration,
}

/// How long before its expiry a token of `lifetime` is replaced: 5 minutes (API_FACTS §12,
/// "refresh about 5 min early"), or a fifth of a token that lives less than 25 minutes.
pub fn margin(lifetime: Duration) -> Duration {
    Duration::from_secs(300).min(lifetime / 5)
}

struct Cached {
    header: HeaderValue,
    refresh_at: Instant,
    expires_at: Instant,
    /// Fetched because ADO refused the previous one: if ADO refuses this one too, the
    /// identity is refused, not its token.
    after_refusal: bool,
}

#[derive(Default)]
struct State {
    cached: Option<Cached>,
    /// The next fetch replaces a token ADO refused.
    next_after_refusal: bool,
}

/// One entry's token, shared by every request that entry sends.
#[derive(Default)]
pub struct TokenCache {
    state: Mutex<State>,
    /// Held while a token is fetched, so concurrent requests wait for that one fetch instead
    /// of each asking the token service (no stampede when a token runs out under load).
    fetching: tokio::sync::Mutex<()>,
}

impl TokenCache {
    /// The cached header while it is fresh; otherwise one caller runs `fetch` and the others
    /// wait for its result. A fetch that fails transiently while the old token is still valid
    /// (inside its margin, not expired) keeps serving the old token.
    pub async fn header<F, Fut>(&self, fetch: F) -> Result<HeaderValue, AuthError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<AccessToken, AuthError>>,
    {
        if let Some(h) = self.fresh() {
            return Ok(h);
        }
        let _one_fetch = self.fetching.lock().await;
        // Whoever held the lock before may have fetched it already.
        if let Some(h) = self.fresh() {
            return Ok(h);
        }
        let started = Instant::now();
        match fetch().await {
            Ok(t) => {
                let header = bearer(&t.token);
                let mut s = self.lock();
                let after_refusal = std::mem::take(&mut s.next_after_refusal);
                s.cached = Some(Cached {
                    header: header.clone(),
                    refresh_at: started + t.lifetime - margin(t.lifetime),
                    expires_at: started + t.lifetime,
                    after_refusal,
                });
                Ok(header)
            }
            Err(AuthError::Unavailable(why)) => {
                let s = self.lock();
                match &s.cached {
                    Some(c) if Instant::now() < c.expires_at => {
                        tracing::warn!(reason = %why, "token refresh failed; the current token is still valid");
                        Ok(c.header.clone())
                    }
                    _ => Err(AuthError::Unavailable(why)),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// ADO refused `header`. True when the entry may try again with another token: the
    /// refused token is dropped (once), or a newer one is already cached or about to be
    /// fetched. False when `header` is the token fetched after a refusal: the identity
    /// itself is refused and the pool retires it instead of looping.
    pub fn refused(&self, header: &HeaderValue) -> bool {
        let mut s = self.lock();
        match &s.cached {
            Some(c) if c.header == *header => {
                if c.after_refusal {
                    return false;
                }
                s.cached = None;
                s.next_after_refusal = true;
                true
            }
            _ => true,
        }
    }

    fn fresh(&self) -> Option<HeaderValue> {
        let s = self.lock();
        s.cached
            .as_ref()
            .filter(|c| Instant::now() < c.refresh_at)
            .map(|c| c.header.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A fetch that counts its calls and answers token `t<n>` living `lifetime`.
    fn counting(
        calls: &Arc<AtomicU32>,
        lifetime: Duration,
    ) -> impl FnOnce() -> futures::future::BoxFuture<'static, Result<AccessToken, AuthError>> + use<>
    {
        let calls = calls.clone();
        move || {
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
                Ok(AccessToken {
                    token: SecretString::from(format!("t{n}")),
                    lifetime,
                })
            })
        }
    }

    fn text(h: &HeaderValue) -> &str {
        h.to_str().unwrap()
    }

    #[test]
    fn the_margin_is_relative_to_the_lifetime() {
        assert_eq!(margin(Duration::from_secs(3599)), Duration::from_secs(300));
        assert_eq!(margin(Duration::from_secs(60)), Duration::from_secs(12));
        assert_eq!(margin(Duration::from_secs(2)), Duration::from_millis(400));
    }

    #[tokio::test(start_paused = true)]
    async fn a_60s_token_is_reused_for_48s_then_replaced() {
        let cache = TokenCache::default();
        let calls = Arc::new(AtomicU32::new(0));
        let life = Duration::from_secs(60);
        let h1 = cache.header(counting(&calls, life)).await.unwrap();
        assert_eq!(text(&h1), "Bearer t1");
        assert!(h1.is_sensitive());
        tokio::time::sleep(Duration::from_secs(47)).await;
        let again = cache.header(counting(&calls, life)).await.unwrap();
        assert_eq!(text(&again), "Bearer t1");
        tokio::time::sleep(Duration::from_secs(2)).await;
        let h2 = cache.header(counting(&calls, life)).await.unwrap();
        assert_eq!(text(&h2), "Bearer t2");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_requests_share_one_fetch() {
        let cache = Arc::new(TokenCache::default());
        let calls = Arc::new(AtomicU32::new(0));
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (cache, calls) = (cache.clone(), calls.clone());
                tokio::spawn(async move {
                    cache
                        .header(counting(&calls, Duration::from_secs(3600)))
                        .await
                        .unwrap()
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(text(&t.await.unwrap()), "Bearer t1");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_token_is_replaced_once_then_the_identity_is_refused() {
        let cache = TokenCache::default();
        let calls = Arc::new(AtomicU32::new(0));
        let life = Duration::from_secs(3600);
        let h1 = cache.header(counting(&calls, life)).await.unwrap();
        assert!(cache.refused(&h1), "a cached token ADO refused is dropped");
        assert!(
            cache.refused(&h1),
            "a concurrent refusal of it waits for the new one"
        );
        let h2 = cache.header(counting(&calls, life)).await.unwrap();
        assert_eq!(text(&h2), "Bearer t2");
        assert!(
            !cache.refused(&h2),
            "the fresh token is refused too: retire"
        );
        // The same token again from the token service (Entra caches them) is no better.
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_refresh_keeps_a_still_valid_token() {
        let cache = TokenCache::default();
        let calls = Arc::new(AtomicU32::new(0));
        let life = Duration::from_secs(60);
        cache.header(counting(&calls, life)).await.unwrap();
        tokio::time::sleep(Duration::from_secs(55)).await;
        let down = || async { Err(AuthError::Unavailable("503".into())) };
        assert_eq!(text(&cache.header(down).await.unwrap()), "Bearer t1");
        tokio::time::sleep(Duration::from_secs(10)).await;
        let down = || async { Err(AuthError::Unavailable("503".into())) };
        assert!(matches!(
            cache.header(down).await,
            Err(AuthError::Unavailable(_))
        ));
    }
}
