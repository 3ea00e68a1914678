//! Helpers shared by both backends: batch preparation (de-duplication, lock order) and
//! timestamp precision. Nothing here talks to a database.

use chrono::{DateTime, Timelike, Utc};

use super::rows::{
    PullRequestRow, ReviewerRow, StoredWorkItemType, TeamMemberRow, TeamMembers, WorkItemRow,
    WorkItemTypeStateRow,
};

/// The fixed order of [`super::Store::table_counts`].
pub(crate) const COUNTED_TABLES: [&str; 17] = [
    "projects",
    "repositories",
    "pull_requests",
    "pull_request_reviewers",
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

// ---------------------------------------------------------------------------------------------
// Boards

/// The `ON CONFLICT` clause of the work item upsert, the same on both backends (see
/// [`WorkItemRow`] for the rules). `excluded.deleted_at` is the deletion the row itself
/// reports ([`proposed_deleted_at`]). A row that is not deleted lifts a stored mark only when
/// it changed after it (a work item in the recycle bin cannot change, so a later change means
/// it was restored); a revision that predates an explicit mark is no such evidence.
pub(crate) const WORK_ITEM_CONFLICT: &str = " ON CONFLICT (org, id) DO UPDATE SET \
     rev = excluded.rev, project = excluded.project, type = excluded.type, \
     title = excluded.title, state = excluded.state, reason = excluded.reason, \
     assigned_to = excluded.assigned_to, assigned_to_name = excluded.assigned_to_name, \
     created_by = excluded.created_by, created_date = excluded.created_date, \
     changed_by = excluded.changed_by, changed_date = excluded.changed_date, \
     closed_date = excluded.closed_date, activated_date = excluded.activated_date, \
     resolved_date = excluded.resolved_date, area_path = excluded.area_path, \
     iteration_path = excluded.iteration_path, priority = excluded.priority, \
     severity = excluded.severity, story_points = excluded.story_points, \
     effort = excluded.effort, remaining_work = excluded.remaining_work, \
     parent_id = excluded.parent_id, tags = excluded.tags, \
     comment_count = excluded.comment_count, \
     last_comment_date = COALESCE(excluded.last_comment_date, t.last_comment_date), \
     raw = excluded.raw, synced_at = excluded.synced_at, \
     deleted_at = CASE \
       WHEN excluded.deleted_at IS NOT NULL THEN COALESCE(t.deleted_at, excluded.deleted_at) \
       WHEN t.deleted_at IS NULL THEN NULL \
       WHEN excluded.changed_date > t.deleted_at THEN NULL \
       WHEN excluded.changed_date IS NULL AND excluded.rev > t.rev THEN NULL \
       ELSE t.deleted_at END \
     WHERE excluded.rev > t.rev \
     OR (excluded.rev = t.rev AND excluded.synced_at >= t.synced_at)";

/// The `ON CONFLICT` clause of the link upsert, the same on both backends: a change replaces
/// the stored one when its `changed_date` is newer, or the same and observed no earlier (a
/// missing date is the oldest).
pub(crate) const LINK_CONFLICT: &str = " ON CONFLICT (org, source_id, target_id, rel) \
     DO UPDATE SET is_active = excluded.is_active, changed_date = excluded.changed_date, \
     raw = excluded.raw, synced_at = excluded.synced_at \
     WHERE excluded.changed_date > t.changed_date \
     OR (t.changed_date IS NULL AND excluded.changed_date IS NOT NULL) \
     OR (excluded.changed_date IS NOT DISTINCT FROM t.changed_date \
     AND excluded.synced_at >= t.synced_at)";

/// `rows` with one row per key — the one with the greatest `order` (the last of equals) —
/// sorted by key. For work items (`order` = rev) and link changes (`order` = changed date):
/// a page may carry several revisions of one item, in any order.
pub(crate) fn newest_per_key<'a, T, K: Ord, O: Ord>(
    rows: &'a [T],
    key: impl Fn(&'a T) -> K,
    order: impl Fn(&'a T) -> O,
) -> Vec<&'a T> {
    let mut sorted: Vec<&T> = rows.iter().collect();
    // Stable: among equal keys and orders the original order is kept, so the last one wins.
    sorted.sort_by(|a, b| key(a).cmp(&key(b)).then_with(|| order(a).cmp(&order(b))));
    let mut out: Vec<&T> = Vec::with_capacity(sorted.len());
    for row in sorted {
        match out.last_mut() {
            Some(last) if key(last) == key(row) => *last = row,
            _ => out.push(row),
        }
    }
    out
}

/// The `deleted_at` a work item row proposes: the time of the revision that put it in the
/// recycle bin (its `changed_date`, else the observation time), or none.
pub(crate) fn proposed_deleted_at(
    row: &WorkItemRow,
    observed_at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    row.is_deleted
        .then(|| row.changed_date.unwrap_or(observed_at))
}

/// A `work_item_type_states` row as read: (project_id, type_name, name, category, color).
pub(crate) type StateRecord = (String, String, String, Option<String>, Option<String>);

/// Attaches states (sorted by project, type, then name) to types (sorted by project, name).
pub(crate) fn attach_states(
    types: &mut [StoredWorkItemType],
    states: impl IntoIterator<Item = (String, String, WorkItemTypeStateRow)>,
) {
    let mut i = 0;
    for (project_id, type_name, state) in states {
        let key = (project_id.as_str(), type_name.as_str());
        while i < types.len() && (types[i].project_id.as_str(), types[i].row.name.as_str()) < key {
            i += 1;
        }
        match types.get_mut(i) {
            Some(t) if (t.project_id.as_str(), t.row.name.as_str()) == key => {
                t.row.states.push(state)
            }
            Some(_) => {} // states of a type that is not stored: ignore
            None => break,
        }
    }
}

/// Groups member rows (sorted by team id, then user id) into one set per team.
pub(crate) fn group_members(
    rows: impl IntoIterator<Item = (String, TeamMemberRow)>,
) -> Vec<TeamMembers> {
    let mut out: Vec<TeamMembers> = Vec::new();
    for (team_id, member) in rows {
        match out.last_mut() {
            Some(last) if last.team_id == team_id => last.members.push(member),
            _ => out.push(TeamMembers {
                team_id,
                members: vec![member],
            }),
        }
    }
    out
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
    fn newest_per_key_keeps_the_greatest_order_then_the_last() {
        let rows = [
            (1, 3, "a"),
            (2, 1, "b"),
            (1, 5, "c"),
            (1, 4, "d"),
            (2, 1, "e"),
        ];
        let out: Vec<_> = newest_per_key(&rows, |r| r.0, |r| r.1)
            .into_iter()
            .copied()
            .collect();
        assert_eq!(out, vec![(1, 5, "c"), (2, 1, "e")]);
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
