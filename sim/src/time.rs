//! Timestamps at ADO's resolution and in ADO's text forms.
//!
//! ADO stores .NET ticks (100 ns) and prints them like `2016-11-01T16:30:31.6655471Z`, with
//! trailing zeros of the fraction dropped (`…:21.33Z`, `…:21Z`). The simulator keeps every
//! timestamp as ticks since the Unix epoch so comparisons are exact and the printed form
//! round-trips. Query parameters arrive in many shapes (RFC 3339 from Rust/Python clients,
//! `6/14/2018 12:00:00 AM` in Microsoft's own examples, API_FACTS §4.4), so parsing is lenient.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

pub(crate) const TICKS_PER_SEC: i64 = 10_000_000;
pub(crate) const TICKS_PER_DAY: i64 = 86_400 * TICKS_PER_SEC;

pub(crate) fn to_ticks(t: DateTime<Utc>) -> i64 {
    t.timestamp() * TICKS_PER_SEC + i64::from(t.timestamp_subsec_nanos() / 100)
}

pub(crate) fn now_ticks() -> i64 {
    to_ticks(Utc::now())
}

/// Midnight UTC of the current day: the default "start" of a generated org, so two sims built
/// with the same seed on the same day hold byte-identical data.
pub(crate) fn today_midnight_ticks() -> i64 {
    now_ticks().div_euclid(TICKS_PER_DAY) * TICKS_PER_DAY
}

pub(crate) fn seconds_f64(ticks: i64) -> f64 {
    ticks as f64 / TICKS_PER_SEC as f64
}

/// ADO's JSON form: ISO 8601 UTC, fraction up to 7 digits without trailing zeros.
pub(crate) fn format(ticks: i64) -> String {
    let secs = ticks.div_euclid(TICKS_PER_SEC);
    let frac = ticks.rem_euclid(TICKS_PER_SEC);
    let dt = DateTime::from_timestamp(secs, 0).unwrap_or_default();
    let mut s = dt.format("%Y-%m-%dT%H:%M:%S").to_string();
    if frac != 0 {
        let f = format!("{frac:07}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Parses the date forms clients send in `searchCriteria.minTime`-like parameters. A value
/// without a zone is UTC (ADO's behaviour for its own `"0001-01-01T00:00:00"` sentinels).
pub(crate) fn parse(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(to_ticks(t.with_timezone(&Utc)));
    }
    const NAIVE: [&str; 6] = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%m/%d/%Y %I:%M:%S %p",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %I:%M %p",
    ];
    let bare = s.strip_suffix('Z').unwrap_or(s);
    for f in NAIVE {
        if let Ok(t) = NaiveDateTime::parse_from_str(bare, f) {
            return Some(to_ticks(t.and_utc()));
        }
    }
    for f in ["%Y-%m-%d", "%m/%d/%Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(bare, f) {
            return Some(to_ticks(d.and_hms_opt(0, 0, 0)?.and_utc()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_ado() {
        let t = parse("2016-11-01T16:30:31.6655471Z").unwrap();
        assert_eq!(format(t), "2016-11-01T16:30:31.6655471Z");
        let t = parse("2019-01-07T21:43:21.33Z").unwrap();
        assert_eq!(format(t), "2019-01-07T21:43:21.33Z");
        let t = parse("2019-01-07T21:43:21Z").unwrap();
        assert_eq!(format(t), "2019-01-07T21:43:21Z");
    }

    #[test]
    fn parses_client_forms() {
        let want = parse("2018-06-14T00:00:00Z").unwrap();
        for s in [
            "2018-06-14",
            "2018-06-14T00:00:00",
            "2018-06-14T00:00:00.000Z",
            "2018-06-14T02:00:00+02:00",
            "6/14/2018 12:00:00 AM",
            "06/14/2018 00:00:00",
            "6/14/2018",
        ] {
            assert_eq!(parse(s), Some(want), "{s}");
        }
        assert_eq!(parse("yesterday"), None);
    }
}
