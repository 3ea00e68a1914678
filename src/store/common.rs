//! Helpers shared by both backends: batch preparation (de-duplication, lock order) and
//! timestamp precision. Nothing here talks to a database.

use chrono::{DateTime, Timelike, Utc};

use super::rows::{PullRequestRow, ReviewerRow};

/// The fixed order of [`super::Store::table_counts`].
pub(crate) const COUNTED_TABLES: [&str; 7] = [
    "projects",
    "repositories",
    "pull_requests",
    "pull_request_reviewers",
    "users",
    "sync_cursors",
    "sync_runs",
];

/// `rows` with one row per key — the LAST occurrence wins, as the newest data of a page —
/// sorted by key.
///
/// Postgres rejects an `INSERT … ON CONFLICT DO UPDATE` that touches the same row twice, so
/// both backends de-duplicate before building a statement. Sorting by key also makes every
/// writer lock rows in the same order, so two concurrent transactions on Postgres cannot
/// deadlock on overlapping pages.
pub(crate) fn last_per_key<'a, T, K: Ord>(rows: &'a [T], key: impl Fn(&'a T) -> K) -> Vec<&'a T> {
    let mut sorted: Vec<&T> = rows.iter().collect();
    // Stable: among equal keys the original order is kept, so the last one is the latest.
    sorted.sort_by_key(|row| key(row));
    let mut out: Vec<&T> = Vec::with_capacity(sorted.len());
    for row in sorted {
        match out.last_mut() {
            Some(last) if key(last) == key(row) => *last = row,
            _ => out.push(row),
        }
    }
    out
}

/// The reviewer rows to insert for one pull request: one per reviewer id (last wins), sorted.
pub(crate) fn reviewers_of(pr: &PullRequestRow) -> Vec<&ReviewerRow> {
    last_per_key(&pr.reviewers, |r| r.reviewer_id.as_str())
}

/// `at` truncated to whole microseconds, the precision both backends keep (Postgres
/// TIMESTAMPTZ has microseconds; ADO sends 7 fractional digits, the 7th is dropped).
/// Truncating here, before encoding, makes both backends agree even before 2000-01-01, where
/// Postgres' own encoding would round toward its epoch instead.
pub(crate) fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    let nanos = at.nanosecond();
    at.with_nanosecond(nanos - nanos % 1_000).unwrap_or(at)
}

/// Attaches reviewers (sorted by pull request id, then reviewer id) to `prs` (sorted by id).
pub(crate) fn attach_reviewers(
    prs: &mut [PullRequestRow],
    reviewers: impl IntoIterator<Item = (i64, ReviewerRow)>,
) {
    let mut i = 0;
    for (pr_id, reviewer) in reviewers {
        while i < prs.len() && prs[i].id < pr_id {
            i += 1;
        }
        match prs.get_mut(i) {
            Some(pr) if pr.id == pr_id => pr.reviewers.push(reviewer),
            Some(_) => {} // reviewer rows of a PR that is not stored: ignore
            None => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_per_key_keeps_the_last_occurrence_sorted() {
        let rows = [(3, "a"), (1, "b"), (3, "c"), (2, "d"), (1, "e")];
        let out: Vec<_> = last_per_key(&rows, |r| r.0).into_iter().copied().collect();
        assert_eq!(out, vec![(1, "e"), (2, "d"), (3, "c")]);
    }

    #[test]
    fn micros_truncates_the_seventh_digit() {
        let at = DateTime::parse_from_rfc3339("2024-05-01T10:11:12.1234567Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            micros(at).to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            "2024-05-01T10:11:12.123456000Z"
        );
    }
}
