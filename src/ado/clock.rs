//! ADO's clock as this host sees it: the offset between the `Date` header of ADO's responses
//! and the local clock (issue 9, item 5).
//!
//! Observation times (`synced_at`, which never regresses) and the pull request watermark
//! (the next sync asks for PRs closed since it) are compared with times ADO stamps. Taken
//! from a host clock that runs an hour ahead, the watermark skips every PR closed in that
//! hour; an hour behind, fresh observations lose to stale ones written by a correct host. So
//! every time the connectors store is the local clock moved by the offset learned here, and
//! the local clock alone only until a response has carried a `Date` header.
//!
//! `Date` has whole seconds (RFC 9110 §5.6.7): one response says the offset lies in an
//! interval a second wide (plus the request's latency); the intervals of later responses
//! are intersected with it, so it narrows to the latency once responses have crossed a few
//! second boundaries. Two rules keep stored times in order:
//! - an offset under [`SKEW`] counts as none: a host kept in sync by NTP stores its own
//!   clock's times, exactly as before, and `sync.overlap` covers seconds of difference;
//! - within a process the offset in use moves only as far as the narrowing interval forces
//!   it (under a second), and jumps only when a response contradicts the interval (a clock
//!   step: NTP, a suspended VM).
//!
//! What remains: a badly skewed host's first responses of a process are good to about a
//! second, so a row observed by the previous process less than a second earlier can keep
//! that observation. Owns no I/O.

use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

/// Offsets smaller than this are ignored (see the module docs).
const SKEW: i64 = 5_000;

/// What the responses so far say about ADO's clock minus the local one, in milliseconds.
#[derive(Debug, Clone, Copy)]
struct Estimate {
    lo: i64,
    hi: i64,
    /// The offset in use.
    used: i64,
}

/// The offset to add to the local clock to get ADO's (learned from responses).
#[derive(Debug, Default)]
pub struct ServerClock {
    estimate: Mutex<Option<Estimate>>,
}

impl ServerClock {
    /// Learns from one response: `date` is its `Date` header (ignored when absent or not an
    /// HTTP date), `sent` and `received` the local times around the request. Returns the
    /// offset in use when this response changed it by more than a second.
    pub fn observe(
        &self,
        date: Option<&str>,
        sent: DateTime<Utc>,
        received: DateTime<Utc>,
    ) -> Option<Duration> {
        let server = DateTime::parse_from_rfc2822(date?.trim()).ok()?.to_utc();
        // ADO's clock read somewhere in [server, server + 1 s) while this host's read
        // somewhere in [sent, received].
        let lo = (server - received).num_milliseconds();
        let hi = (server - sent).num_milliseconds().saturating_add(1_000);
        let mut guard = self.estimate.lock().unwrap_or_else(|e| e.into_inner());
        let before = guard.map(|e| e.used);
        let next = match *guard {
            Some(e) if lo.max(e.lo) <= hi.min(e.hi) => {
                let (lo, hi) = (lo.max(e.lo), hi.min(e.hi));
                let used = e.used.clamp(lo, hi);
                Estimate { lo, hi, used }
            }
            // First response, or one that contradicts what the earlier ones said: the clock
            // stepped.
            _ => Estimate {
                lo,
                hi,
                used: lo + (hi - lo) / 2,
            },
        };
        *guard = Some(next);
        let effective = |ms: i64| if ms.abs() < SKEW { 0 } else { ms };
        let changed = before.is_none_or(|b| (effective(b) - effective(next.used)).abs() > 1_000);
        changed.then(|| Duration::milliseconds(effective(next.used)))
    }

    /// ADO's clock minus the local one (zero until a response carried a `Date`, and while
    /// it is under [`SKEW`]).
    pub fn offset(&self) -> Duration {
        let guard = self.estimate.lock().unwrap_or_else(|e| e.into_inner());
        match *guard {
            Some(e) if e.used.abs() >= SKEW => Duration::milliseconds(e.used),
            _ => Duration::zero(),
        }
    }

    /// A local time moved onto ADO's clock.
    pub fn to_server(&self, local: DateTime<Utc>) -> DateTime<Utc> {
        local + self.offset()
    }

    /// Now, by ADO's clock as far as it is known.
    pub fn now(&self) -> DateTime<Utc> {
        self.to_server(Utc::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn unknown_until_a_date_header_arrives() {
        let c = ServerClock::default();
        let t = at("2026-12-03T10:00:00Z");
        assert_eq!(c.observe(None, t, t), None);
        assert_eq!(c.observe(Some("yesterday"), t, t), None);
        assert_eq!(c.offset(), Duration::zero());
        assert_eq!(c.to_server(t), t);
    }

    #[test]
    fn an_hour_ahead_or_behind_is_learned() {
        for (date, hours) in [
            ("Thu, 03 Dec 2026 11:00:00 GMT", 1),
            ("Thu, 03 Dec 2026 09:00:00 GMT", -1),
        ] {
            let c = ServerClock::default();
            let sent = at("2026-12-03T10:00:00.300Z");
            let received = at("2026-12-03T10:00:00.700Z");
            let learned = c.observe(Some(date), sent, received).expect("learned");
            assert!(
                (learned - Duration::hours(hours)).num_milliseconds().abs() <= 1_000,
                "{learned}"
            );
            assert_eq!(c.offset(), learned);
        }
    }

    #[test]
    fn a_few_seconds_count_as_none() {
        let c = ServerClock::default();
        let t = at("2026-12-03T10:00:00.200Z");
        assert!(
            c.observe(Some("Thu, 03 Dec 2026 10:00:03 GMT"), t, t)
                .is_some()
        );
        assert_eq!(c.offset(), Duration::zero());
        assert_eq!(c.to_server(t), t);
    }

    #[test]
    fn the_estimate_narrows_across_second_boundaries_and_follows_a_step() {
        let c = ServerClock::default();
        // ADO is exactly one hour and 250 ms ahead.
        let truth = Duration::milliseconds(3_600_250);
        let date = |local: DateTime<Utc>| {
            (local + truth)
                .format("%a, %d %b %Y %H:%M:%S GMT")
                .to_string()
        };
        let mut t = at("2026-12-03T10:00:00.000Z");
        for _ in 0..40 {
            let received = t + Duration::milliseconds(20);
            c.observe(Some(&date(received)), t, received);
            t += Duration::milliseconds(137);
        }
        let error = (c.offset() - truth).num_milliseconds().abs();
        assert!(error <= 200, "off by {error} ms after 40 responses");
        // The host's clock stepped back a minute: ADO now reads a minute more ahead.
        let stepped = truth + Duration::seconds(60);
        let back = t - Duration::seconds(60);
        let now = (back + stepped)
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let learned = c
            .observe(Some(&now), back, back)
            .expect("a step is followed");
        assert!((learned - stepped).num_milliseconds().abs() <= 1_000);
    }

    proptest! {
        #[test]
        fn any_header_text_is_survived(date in ".{0,64}", ms in 0i64..10_000) {
            let c = ServerClock::default();
            let t = at("2026-12-03T10:00:00Z");
            let _ = c.observe(Some(&date), t, t + Duration::milliseconds(ms));
            let _ = c.now();
        }
    }
}
