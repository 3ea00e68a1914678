//! The per-token usage budget: ADO's "delay first, then block" rate limiting (API_FACTS §2).
//!
//! ADO measures TSTUs over a sliding 5-minute window per identity; the simulator models that as
//! a leaky bucket per token whose level rises by 1 per request and drains at `rate_per_sec`.
//! Above `delay_threshold × burst` requests are slowed server-side and still answer 200 with
//! `Retry-After` and `X-RateLimit-Delay`; a request that would overflow `burst` is blocked with
//! 429 `TF400733`. Every authenticated response carries the `X-RateLimit-*` headers, which ADO
//! sends "before delays start", so a good client can slow down before it is throttled.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// ADO caps a single delay at 30 seconds (API_FACTS §2).
const MAX_DELAY_SECS: f64 = 30.0;

/// A per-token leaky bucket.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BudgetConfig {
    /// How fast the level drains, in requests per second.
    pub rate_per_sec: f64,
    /// Capacity: a request that would lift the level above this is blocked (429).
    pub burst: f64,
    /// Fraction of `burst` above which requests are delayed (e.g. 0.8).
    #[serde(default = "default_threshold")]
    pub delay_threshold: f64,
}

fn default_threshold() -> f64 {
    0.8
}

impl Default for BudgetConfig {
    fn default() -> Self {
        Self {
            rate_per_sec: 5.0,
            burst: 200.0,
            delay_threshold: default_threshold(),
        }
    }
}

struct Bucket {
    level: f64,
    at: Instant,
}

/// What the budget says about one request.
pub(crate) struct Admission {
    /// Headers for the response (whatever its status).
    pub headers: Vec<(&'static str, String)>,
    /// How long to hold the request before answering (zero when under the threshold).
    pub delay: Duration,
    /// True when the request must be answered 429.
    pub blocked: bool,
}

pub(crate) struct Budget {
    cfg: Option<BudgetConfig>,
    buckets: HashMap<String, Bucket>,
}

impl Budget {
    pub(crate) fn new(cfg: Option<BudgetConfig>) -> Self {
        Self {
            cfg,
            buckets: HashMap::new(),
        }
    }

    /// Replaces the configuration and empties every bucket.
    pub(crate) fn set(&mut self, cfg: Option<BudgetConfig>) {
        self.cfg = cfg;
        self.buckets.clear();
    }

    pub(crate) fn config(&self) -> Option<BudgetConfig> {
        self.cfg
    }

    /// Charges one request to `token`; `None` when no budget is configured.
    pub(crate) fn admit(&mut self, token: &str, now: Instant, now_unix: f64) -> Option<Admission> {
        let cfg = self.cfg?;
        let rate = cfg.rate_per_sec.max(1e-6);
        let burst = cfg.burst.max(0.0);
        let threshold = cfg.delay_threshold.clamp(0.0, 1.0) * burst;
        let b = self.buckets.entry(token.to_string()).or_insert(Bucket {
            level: 0.0,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.level = (b.level - rate * elapsed).max(0.0);
        b.at = now;

        let mut headers = vec![
            ("X-RateLimit-Resource", "Core".to_string()),
            ("X-RateLimit-Limit", number(burst)),
        ];
        if b.level + 1.0 > burst + 1e-9 {
            // Blocked requests are not charged: ADO rejects them before doing the work.
            let retry = ((b.level + 1.0 - burst) / rate).ceil().max(1.0);
            headers.push(("X-RateLimit-Remaining", "0".to_string()));
            headers.push(("X-RateLimit-Reset", reset(now_unix, b.level, rate)));
            headers.push(("Retry-After", format!("{retry:.0}")));
            return Some(Admission {
                headers,
                delay: Duration::ZERO,
                blocked: true,
            });
        }
        b.level += 1.0;
        let remaining = (burst - b.level).floor().max(0.0);
        headers.push(("X-RateLimit-Remaining", format!("{remaining:.0}")));
        headers.push(("X-RateLimit-Reset", reset(now_unix, b.level, rate)));
        let over = b.level - threshold;
        let delay = if over > 0.0 {
            (over / rate).min(MAX_DELAY_SECS)
        } else {
            0.0
        };
        if delay > 0.0 {
            headers.push(("Retry-After", format!("{:.0}", delay.ceil())));
            headers.push(("X-RateLimit-Delay", format!("{delay:.3}")));
        }
        Some(Admission {
            headers,
            delay: Duration::from_secs_f64(delay),
            blocked: false,
        })
    }
}

/// Unix time (whole seconds, rounded up) at which `level` would have drained to 0.
fn reset(now_unix: f64, level: f64, rate: f64) -> String {
    format!("{:.0}", (now_unix + level / rate).ceil())
}

fn number(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        x.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(a: &'a Admission, name: &str) -> Option<&'a str> {
        a.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn delays_then_blocks_then_recovers() {
        let mut b = Budget::new(Some(BudgetConfig {
            rate_per_sec: 2.0,
            burst: 5.0,
            delay_threshold: 0.4,
        }));
        let t0 = Instant::now();
        let a = b.admit("t", t0, 1000.0).unwrap();
        assert!(!a.blocked && a.delay.is_zero());
        assert_eq!(header(&a, "X-RateLimit-Remaining"), Some("4"));
        assert_eq!(header(&a, "X-RateLimit-Limit"), Some("5"));
        assert_eq!(header(&a, "X-RateLimit-Reset"), Some("1001"));
        b.admit("t", t0, 1000.0).unwrap();
        let a = b.admit("t", t0, 1000.0).unwrap();
        assert_eq!(a.delay, Duration::from_millis(500));
        assert_eq!(header(&a, "X-RateLimit-Delay"), Some("0.500"));
        assert_eq!(header(&a, "Retry-After"), Some("1"));
        b.admit("t", t0, 1000.0).unwrap();
        b.admit("t", t0, 1000.0).unwrap();
        let a = b.admit("t", t0, 1000.0).unwrap();
        assert!(a.blocked);
        assert_eq!(header(&a, "Retry-After"), Some("1"));
        assert_eq!(header(&a, "X-RateLimit-Remaining"), Some("0"));
        // Other tokens have their own bucket.
        assert!(!b.admit("u", t0, 1000.0).unwrap().blocked);
        // After 3 s the level (5) has drained to 0.
        let a = b.admit("t", t0 + Duration::from_secs(3), 1003.0).unwrap();
        assert!(!a.blocked && a.delay.is_zero());
    }

    #[test]
    fn none_when_unconfigured() {
        assert!(Budget::new(None).admit("t", Instant::now(), 0.0).is_none());
    }
}
