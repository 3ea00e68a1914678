//! The token pool of one connector: several PATs, each with its own client-side limiter
//! (governor), a server-hint pause and health.
//!
//! A request takes the token that is ready soonest. ADO first slows an identity down (HTTP 200
//! with `Retry-After` / `X-RateLimit-*`) and only then blocks it with 429 (API_FACTS §2), so
//! every response's headers feed back into the token that sent it: `Retry-After` pauses the
//! token, and a low `X-RateLimit-Remaining` paces it at the rate the server drains usage, which
//! keeps a run below the 429 line. The remaining budget counts the token's requests still in
//! flight as spent (the last response predates them), and until a token's first response a
//! token has one request in flight at most: a new process does not know how much budget an
//! earlier run left, so it learns that before sending a burst. A token answered 401/203 is
//! retired with a log line naming it (by its configured name); when none is left the connector
//! fails with `invalid_credentials`. Owns no HTTP calls itself.

use crate::ado::Error;
use crate::ado::auth::{Auth, AuthError, Entry};
use crate::metrics::Metrics;
use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use reqwest::header::{HeaderMap, HeaderValue};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
// Tokio's clock, not the OS one: every wait here is a tokio sleep, and tests run the pool on
// paused time.
use tokio::time::Instant;

/// Start pacing a token when fewer than this share of its server budget remains.
const PACE_BELOW_REMAINING: f64 = 0.5;
/// Share of a token's server budget its requests in flight must leave unspent: the last
/// response predates them, so they are counted as spent, and no more are sent while that
/// would take the budget below this share (one request may always be in flight).
const KEEP_FREE: f64 = 0.2;
/// Longest pause any single server hint may impose (ADO delays are at most 30 s, API_FACTS §2).
const MAX_HINT_PAUSE: Duration = Duration::from_secs(60);
/// Longest single sleep in `acquire`, so retirements and new hints are noticed promptly.
const MAX_IDLE_SLEEP: Duration = Duration::from_millis(500);
/// How often `acquire` looks again at a token that waits for a response (its first one, or
/// one that frees its window).
const PROBE_POLL: Duration = Duration::from_millis(5);
/// After this long without its first response a token is used anyway (a request whose
/// future was dropped is never observed).
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Governor's clock on tokio's time (the time since the pool was built), so the local ceiling
/// and the server hints share one clock.
#[derive(Debug, Clone, Copy)]
struct TokioClock(Instant);

impl Clock for TokioClock {
    type Instant = Duration;
    fn now(&self) -> Duration {
        self.0.elapsed()
    }
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Duration>>;

struct Slot {
    name: String,
    auth: Auth,
    limiter: Limiter,
    hint: Mutex<Hint>,
    retired: AtomicBool,
    /// Why its token service refused it (Entra's `AADSTS…` error), for the
    /// `invalid_credentials` message.
    refusal: Mutex<Option<String>>,
}

impl Slot {
    /// Its name, with its token service's refusal when there was one.
    fn described(&self) -> String {
        match self.refusal.lock().ok().and_then(|r| r.clone()) {
            Some(why) => format!("{}: {why}", self.name),
            None => self.name.clone(),
        }
    }
}

#[derive(Default)]
struct Hint {
    /// Do not send before this instant (`Retry-After`, 429).
    pause_until: Option<Instant>,
    /// The server budget as the last response described it.
    budget: Option<Budget>,
    /// Earliest instant for the next request while the budget runs low.
    next_at: Option<Instant>,
    /// Requests sent with this token whose response has not been observed yet.
    in_flight: u32,
    /// A response (or a transport failure) has been observed since the pool was built.
    seen: bool,
    /// When the first request was sent, while its response is outstanding.
    probe_at: Option<Instant>,
}

/// `X-RateLimit-*` of a token's last response.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Budget {
    limit: f64,
    remaining: f64,
    /// The server's drain time per request: `(reset − now) / used`.
    drain: Duration,
}

impl Budget {
    /// The spacing between requests that matches the rate at which the server drains usage,
    /// once less than [`PACE_BELOW_REMAINING`] of the budget is left (zero before). Sending no
    /// faster than that keeps `Remaining` from reaching zero, so no 429 ever comes.
    fn pacing(&self) -> Duration {
        if self.remaining < self.limit * PACE_BELOW_REMAINING {
            self.drain
        } else {
            Duration::ZERO
        }
    }
}

impl Hint {
    /// The spacing to keep after a request, from the last response's budget.
    fn spacing(&self) -> Duration {
        self.budget.map_or(Duration::ZERO, |b| b.pacing())
    }

    /// True when one more request in flight would spend the budget below [`KEEP_FREE`].
    fn window_full(&self) -> bool {
        self.in_flight > 0
            && self
                .budget
                .is_some_and(|b| b.remaining - f64::from(self.in_flight + 1) < b.limit * KEEP_FREE)
    }
}

/// The tokens of one connector.
pub struct TokenPool {
    connector: String,
    slots: Vec<Slot>,
    rotate: AtomicUsize,
    metrics: Arc<Metrics>,
    clock: TokioClock,
}

impl std::fmt::Debug for TokenPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPool")
            .field("connector", &self.connector)
            .field(
                "tokens",
                &self.slots.iter().map(|s| &s.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Which token a request was sent with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease(usize);

impl TokenPool {
    /// Builds a pool; `requests_per_second` and `burst` configure each token's limiter.
    pub fn new(
        connector: &str,
        tokens: impl IntoIterator<Item = impl Into<Entry>>,
        requests_per_second: f64,
        burst: u32,
        metrics: Arc<Metrics>,
    ) -> Self {
        let period = Duration::from_secs_f64(1.0 / requests_per_second.max(0.001));
        let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
        let clock = TokioClock(Instant::now());
        let slots = tokens
            .into_iter()
            .map(|t| {
                let t: Entry = t.into();
                let quota = Quota::with_period(period)
                    .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
                    .allow_burst(burst);
                Slot {
                    name: t.name,
                    auth: t.auth,
                    limiter: RateLimiter::direct_with_clock(quota, clock),
                    hint: Mutex::new(Hint::default()),
                    retired: AtomicBool::new(false),
                    refusal: Mutex::new(None),
                }
            })
            .collect();
        Self {
            connector: connector.to_string(),
            slots,
            rotate: AtomicUsize::new(0),
            metrics,
            clock,
        }
    }

    /// Waits for the token that is ready soonest and reserves one request on it.
    pub async fn acquire(&self) -> Result<Lease, Error> {
        let n = self.slots.len();
        // Time spent waiting on server hints for this acquisition: one throttle pause.
        let mut hinted_wait = Duration::ZERO;
        loop {
            let start = self.rotate.fetch_add(1, Ordering::Relaxed);
            let now = Instant::now();
            let mut best: Option<(Duration, bool)> = None; // (wait, is_server_hint)
            let mut alive = 0;
            for k in 0..n {
                let i = (start + k) % n;
                let slot = &self.slots[i];
                if slot.retired.load(Ordering::Acquire) {
                    continue;
                }
                alive += 1;
                let hint_wait = {
                    let Ok(mut h) = slot.hint.lock() else {
                        continue;
                    };
                    let until = match (h.pause_until, h.next_at) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        (a, b) => a.or(b),
                    };
                    match until {
                        Some(t) if t > now => Some(t - now),
                        // Its first request is out (wait for the budget it reports), or its
                        // requests in flight already spend what the budget allows.
                        _ if (!h.seen && h.probe_at.is_some_and(|t| now - t < PROBE_TIMEOUT))
                            || h.window_full() =>
                        {
                            if best.is_none_or(|(b, _)| PROBE_POLL < b) {
                                best = Some((PROBE_POLL, false));
                            }
                            None
                        }
                        _ => {
                            // Ready as far as the server is concerned; now the local ceiling.
                            match slot.limiter.check() {
                                Ok(()) => {
                                    let spacing = h.spacing();
                                    h.next_at = (!spacing.is_zero()).then(|| now + spacing);
                                    h.in_flight += 1;
                                    if !h.seen && h.probe_at.is_none() {
                                        h.probe_at = Some(now);
                                    }
                                    if !hinted_wait.is_zero() {
                                        self.metrics.throttle_pause(hinted_wait);
                                    }
                                    return Ok(Lease(i));
                                }
                                Err(not_until) => {
                                    let w = not_until.wait_time_from(self.clock.now());
                                    if best.is_none_or(|(b, _)| w < b) {
                                        best = Some((w, false));
                                    }
                                    None
                                }
                            }
                        }
                    }
                };
                if let Some(w) = hint_wait
                    && best.is_none_or(|(b, _)| w < b)
                {
                    best = Some((w, true));
                }
            }
            if alive == 0 {
                return Err(Error::InvalidCredentials {
                    connector: self.connector.clone(),
                    tokens: self.slots.iter().map(Slot::described).collect(),
                });
            }
            let (wait, hinted) = best.unwrap_or((Duration::from_millis(1), false));
            let wait = wait.clamp(Duration::from_micros(100), MAX_IDLE_SLEEP);
            if hinted {
                hinted_wait += wait;
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// The `Authorization` header of a leased token (marked sensitive: never printed). A
    /// credential refused for good by its token service is retired here, like a 401.
    pub async fn auth_header(&self, lease: Lease) -> Result<HeaderValue, AuthError> {
        let result = self.slots[lease.0].auth.header().await;
        if let Err(AuthError::Refused(reason)) = &result {
            if let Ok(mut r) = self.slots[lease.0].refusal.lock() {
                r.get_or_insert_with(|| reason.clone());
            }
            self.retire_because(lease, "token_service", 401, reason);
        }
        result
    }

    /// ADO refused `header` (401/203): true when the entry's credential may give a better
    /// one (see [`crate::ado::auth::Provider::refused`]); the caller then tries again
    /// instead of retiring it.
    pub fn may_renew(&self, lease: Lease, header: &HeaderValue) -> bool {
        self.slots[lease.0].auth.refused(header)
    }

    /// The configured name of a leased token, for logs.
    pub fn name(&self, lease: Lease) -> &str {
        &self.slots[lease.0].name
    }

    /// Feeds a response's rate-limit headers back into the token that sent it. Called once
    /// for every leased request: with the response's status and headers, or with status 0 and
    /// no headers when the request failed before any response.
    pub fn observe(&self, lease: Lease, status: u16, headers: &HeaderMap) {
        let hints = ServerHints::parse(headers);
        let slot = &self.slots[lease.0];
        let Ok(mut h) = slot.hint.lock() else {
            return;
        };
        h.in_flight = h.in_flight.saturating_sub(1);
        h.seen = true;
        if status == 0 {
            return;
        }
        let now = Instant::now();
        if let Some(ra) = hints.retry_after {
            let until = now + ra.min(MAX_HINT_PAUSE);
            if h.pause_until.is_none_or(|p| p < until) {
                h.pause_until = Some(until);
            }
            tracing::debug!(
                connector = %self.connector,
                token = %slot.name,
                status,
                retry_after_ms = ra.as_millis() as u64,
                "server asked to slow down"
            );
        }
        h.budget = hints.budget();
    }

    /// Removes a token after 401/203, logging its configured name (never its value).
    pub fn retire(&self, lease: Lease, endpoint: &str, status: u16) {
        self.retire_because(lease, endpoint, status, "refused by Azure DevOps");
    }

    fn retire_because(&self, lease: Lease, endpoint: &str, status: u16, reason: &str) {
        let slot = &self.slots[lease.0];
        if !slot.retired.swap(true, Ordering::AcqRel) {
            self.metrics.token_retired();
            let left = self.alive();
            tracing::error!(
                connector = %self.connector,
                token = %slot.name,
                endpoint,
                status,
                tokens_left = left,
                reason,
                "token refused; removed from the pool"
            );
        }
    }

    /// Tokens still in the pool.
    pub fn alive(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| !s.retired.load(Ordering::Acquire))
            .count()
    }

    /// Names of retired tokens.
    pub fn retired_names(&self) -> Vec<String> {
        self.slots
            .iter()
            .filter(|s| s.retired.load(Ordering::Acquire))
            .map(|s| s.name.clone())
            .collect()
    }

    /// Number of tokens configured.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

/// The longest `Retry-After` taken as given; a larger value (or `1e20`) is read as this. The
/// pool pauses a token for at most [`MAX_HINT_PAUSE`] anyway; the cap keeps the conversion to a
/// `Duration` from overflowing.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3_600);

/// `Retry-After` as seconds (`120`, `0.5`) or an HTTP date (`Wed, 21 Oct 2015 07:28:00 GMT`,
/// RFC 9110 §10.2.3), as the wait from `now`, capped at [`MAX_RETRY_AFTER`]; `None` when it is
/// neither, or negative.
pub fn parse_retry_after(text: &str, now: SystemTime) -> Option<Duration> {
    let text = text.trim();
    let secs = match text.parse::<f64>() {
        Ok(secs) => secs,
        Err(_) => {
            let at = chrono::DateTime::parse_from_rfc2822(text).ok()?;
            let now = chrono::DateTime::<chrono::Utc>::from(now);
            (at.to_utc() - now).num_milliseconds().max(0) as f64 / 1000.0
        }
    };
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    Some(Duration::from_secs_f64(
        secs.min(MAX_RETRY_AFTER.as_secs_f64()),
    ))
}

/// Rate-limit headers of one response (API_FACTS §2 "Headers").
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerHints {
    pub retry_after: Option<Duration>,
    pub limit: Option<f64>,
    pub remaining: Option<f64>,
    /// Seconds from now until usage would drain to zero (`X-RateLimit-Reset` is epoch seconds).
    pub reset_in: Option<f64>,
    pub delay: Option<f64>,
}

impl ServerHints {
    pub fn parse(headers: &HeaderMap) -> Self {
        let num = |name: &str| -> Option<f64> {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v >= 0.0)
        };
        let now_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        Self {
            retry_after: headers
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, SystemTime::now())),
            limit: num("x-ratelimit-limit"),
            remaining: num("x-ratelimit-remaining"),
            reset_in: num("x-ratelimit-reset").map(|r| (r - now_epoch).max(0.0)),
            delay: num("x-ratelimit-delay"),
        }
    }

    /// Limit, remaining and the drain time per request, when the server sent all three.
    fn budget(&self) -> Option<Budget> {
        let (limit, remaining, reset_in) = (self.limit?, self.remaining?, self.reset_in?);
        if limit <= 0.0 {
            return None;
        }
        let used = (limit - remaining).max(1.0);
        let secs = (reset_in / used).min(MAX_HINT_PAUSE.as_secs_f64());
        Some(Budget {
            limit,
            remaining,
            drain: Duration::from_secs_f64(secs.max(0.0)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Token;
    use base64::Engine as _;
    use secrecy::SecretString;

    fn pool(n: usize, rps: f64, burst: u32) -> TokenPool {
        let tokens: Vec<Token> = (0..n)
            .map(|i| Token {
                name: format!("tok{i}"),
                secret: SecretString::from(format!("secret-{i}")),
            })
            .collect();
        TokenPool::new("repos", tokens, rps, burst, Arc::new(Metrics::default()))
    }

    fn headers(pairs: &[(&str, String)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[tokio::test(start_paused = true)]
    async fn retiring_every_token_gives_invalid_credentials() {
        let p = pool(2, 100.0, 10);
        let a = p.acquire().await.unwrap();
        p.retire(a, "projects", 401);
        let b = p.acquire().await.unwrap();
        assert_ne!(a, b, "a retired token is never handed out again");
        p.retire(b, "projects", 203);
        match p.acquire().await {
            Err(Error::InvalidCredentials { tokens, .. }) => assert_eq!(tokens.len(), 2),
            other => panic!("expected InvalidCredentials, got {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_moves_requests_to_the_other_token() {
        let p = pool(2, 1000.0, 100);
        let a = p.acquire().await.unwrap();
        p.observe(a, 429, &headers(&[("retry-after", "30".into())]));
        for _ in 0..10 {
            let l = p.acquire().await.unwrap();
            assert_ne!(
                l, a,
                "a paused token must not be used while another is ready"
            );
            p.observe(l, 200, &HeaderMap::new());
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_token_sends_one_request_until_its_first_response() {
        let p = pool(1, 1000.0, 100);
        let first = p.acquire().await.unwrap();
        let waited = tokio::time::timeout(Duration::from_millis(50), p.acquire()).await;
        assert!(waited.is_err(), "the budget is unknown until a response");
        p.observe(first, 200, &HeaderMap::new());
        for _ in 0..5 {
            // No budget headers: nothing holds the token back any more.
            p.acquire().await.unwrap();
        }
    }

    #[tokio::test(start_paused = true)]
    async fn requests_in_flight_count_against_the_budget() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let p = pool(1, 1000.0, 100);
        let probe = p.acquire().await.unwrap();
        // 6 of 10 left: 4 more in flight leave 2 (20%), a fifth would go below.
        p.observe(
            probe,
            200,
            &headers(&[
                ("x-ratelimit-limit", "10".into()),
                ("x-ratelimit-remaining", "6".into()),
                ("x-ratelimit-reset", format!("{}", now + 1.0)),
            ]),
        );
        let mut leases = Vec::new();
        for _ in 0..4 {
            leases.push(p.acquire().await.unwrap());
        }
        let waited = tokio::time::timeout(Duration::from_millis(50), p.acquire()).await;
        assert!(
            waited.is_err(),
            "a fifth request would overspend the budget"
        );
        p.observe(leases[0], 200, &HeaderMap::new());
        tokio::time::timeout(Duration::from_secs(1), p.acquire())
            .await
            .expect("a response frees the window")
            .unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_pause_is_counted_once_with_its_whole_length() {
        let metrics = Arc::new(Metrics::default());
        let tokens = vec![Token {
            name: "tok".into(),
            secret: SecretString::from("s".to_string()),
        }];
        let p = TokenPool::new("repos", tokens, 1000.0, 100, metrics.clone());
        let a = p.acquire().await.unwrap();
        p.observe(a, 200, &headers(&[("retry-after", "2".into())]));
        let t0 = Instant::now();
        p.acquire().await.unwrap();
        let waited = t0.elapsed();
        assert!(waited >= Duration::from_secs(2), "waited {waited:?}");
        let m = metrics.snapshot();
        assert_eq!(
            m.throttle_pauses, 1,
            "one pause, however many sleeps it took"
        );
        assert!(
            (1900..=2100).contains(&m.throttle_pause_ms),
            "{} ms",
            m.throttle_pause_ms
        );
    }

    #[tokio::test]
    async fn auth_header_is_basic_with_empty_user_and_sensitive() {
        let p = pool(1, 1.0, 1);
        let h = p.auth_header(Lease(0)).await.unwrap();
        assert!(h.is_sensitive());
        let expected = base64::engine::general_purpose::STANDARD.encode(":secret-0");
        assert_eq!(h.to_str().unwrap(), format!("Basic {expected}"));
        assert!(!format!("{p:?}").contains("secret-0"));
    }

    #[test]
    fn pacing_starts_when_remaining_runs_low() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let high = ServerHints::parse(&headers(&[
            ("x-ratelimit-limit", "200".into()),
            ("x-ratelimit-remaining", "150".into()),
            ("x-ratelimit-reset", format!("{}", now + 10.0)),
        ]));
        assert_eq!(high.budget().map(|b| b.pacing()), Some(Duration::ZERO));
        let low = ServerHints::parse(&headers(&[
            ("x-ratelimit-limit", "20".into()),
            ("x-ratelimit-remaining", "2".into()),
            ("x-ratelimit-reset", format!("{}", now + 1.8)),
        ]));
        let pace = low.budget().unwrap().pacing().as_secs_f64();
        assert!(
            (0.05..0.15).contains(&pace),
            "18 used draining in 1.8 s → ~0.1 s, got {pace}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn governor_limits_each_token() {
        let p = pool(1, 20.0, 1);
        let t0 = Instant::now();
        for _ in 0..5 {
            let l = p.acquire().await.unwrap();
            p.observe(l, 200, &HeaderMap::new());
        }
        // 5 requests at 20/s with burst 1 need at least 4 periods of 50 ms.
        assert!(t0.elapsed() >= Duration::from_millis(180));
    }

    #[test]
    fn retry_after_is_seconds_or_a_date_and_never_overflows() {
        let now = UNIX_EPOCH + Duration::from_secs(1_445_412_480); // 2015-10-21T07:28:00Z
        let ra = |t: &str| parse_retry_after(t, now);
        assert_eq!(ra("120"), Some(Duration::from_secs(120)));
        assert_eq!(ra(" 0.5 "), Some(Duration::from_millis(500)));
        assert_eq!(ra("1e20"), Some(MAX_RETRY_AFTER));
        assert_eq!(
            ra("Wed, 21 Oct 2015 07:29:00 GMT"),
            Some(Duration::from_secs(60))
        );
        assert_eq!(ra("Wed, 21 Oct 2015 07:00:00 GMT"), Some(Duration::ZERO));
        for bad in ["-1", "inf", "NaN", "", "soon"] {
            assert_eq!(ra(bad), None, "{bad:?}");
        }
    }

    proptest::proptest! {
        /// Whatever the server sends in the rate-limit headers, parsing them and deriving the
        /// pacing from them never panics.
        #[test]
        fn rate_limit_headers_never_panic(
            values in proptest::collection::vec("[ -~]{0,40}|[0-9eE.+-]{1,30}", 5),
        ) {
            let mut headers = HeaderMap::new();
            for (name, value) in [
                "retry-after",
                "x-ratelimit-limit",
                "x-ratelimit-remaining",
                "x-ratelimit-reset",
                "x-ratelimit-delay",
            ]
            .iter()
            .zip(&values)
            {
                if let Ok(v) = reqwest::header::HeaderValue::from_str(value) {
                    headers.insert(*name, v);
                }
            }
            let hints = ServerHints::parse(&headers);
            let _ = hints.budget();
            if let Some(ra) = hints.retry_after {
                proptest::prop_assert!(ra <= MAX_RETRY_AFTER);
            }
        }
    }
}
