//! Small helpers shared by both backends. Nothing here talks to a database.

use chrono::{DateTime, Timelike, Utc};

/// The fixed order of [`super::Store::table_counts`].
pub(crate) const COUNTED_TABLES: [&str; 35] = [
    "projects",
    "repositories",
    "pull_requests",
    "pull_request_reviewers",
    "pull_request_iterations",
    "pull_request_changes",
    "pull_request_threads",
    "pull_request_comments",
    "pull_request_work_items",
    "pull_request_statuses",
    "pull_request_policy_evaluations",
    "pull_request_commits",
    "commits",
    "pipelines",
    "builds",
    "build_timeline_records",
    "build_changes",
    "releases",
    "release_environments",
    "release_deployments",
    "environments",
    "environment_deployments",
    "users",
    "teams",
    "team_members",
    "iterations",
    "areas",
    "work_item_types",
    "work_item_type_states",
    "work_item_fields",
    "work_items",
    "work_item_revisions",
    "work_item_links",
    "sync_cursors",
    "sync_runs",
];

/// `at` truncated to whole microseconds, the precision both backends keep (Postgres
/// TIMESTAMPTZ has microseconds; ADO sends 7 fractional digits, the 7th is dropped).
/// Truncating here, before encoding, makes both backends agree even before 2000-01-01, where
/// Postgres' own encoding would round toward its epoch instead.
pub(crate) fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    let nanos = at.nanosecond();
    at.with_nanosecond(nanos - nanos % 1_000).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

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
