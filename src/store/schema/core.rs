//! Core tables: projects, users, teams and team members.

use chrono::{DateTime, Utc};

use super::{Col, Guard, Record, Table, Value, json};
use crate::store::batch::{Batch, Template};

/// A project (`GET _apis/projects`).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ProjectRow {
    pub id: String,
    pub name: String,
    pub state: Option<String>,
    pub visibility: Option<String>,
    pub last_update_time: Option<DateTime<Utc>>,
    pub raw: String,
}

/// Projects: a newer observation wins, unless it carries an older `lastUpdateTime` than the
/// stored one (a replica or cache behind the one answered before).
pub static PROJECTS: Table = Table {
    name: "projects",
    key: &[Col::text("id")],
    columns: &[
        Col::text("name"),
        Col::text("state"),
        Col::text("visibility"),
        Col::time("last_update_time"),
        Col::json("raw"),
    ],
    observed: true,
    guard: Guard::Expr(
        "excluded.synced_at >= t.synced_at \
         AND (excluded.last_update_time IS NULL OR t.last_update_time IS NULL \
         OR excluded.last_update_time >= t.last_update_time)",
    ),
    revive: true,
    newest_by: None,
};

impl Record for ProjectRow {
    const TABLE: &'static Table = &PROJECTS;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            (&self.id).into(),
            (&self.name).into(),
            (&self.state).into(),
            (&self.visibility).into(),
            self.last_update_time.into(),
            json(&self.raw),
        ]);
    }
}

/// A connector's tokens can see a project (`project_visibility`): each connector lists
/// projects with its own tokens, and a project one of them cannot see is not deleted while
/// another still lists it (issue 9, item 4). A complete listing marks this connector's rows
/// of the projects it lacks deleted ([`Batch::mark_missing`] scoped by `connector`); a
/// project is deleted when no connector sees it any more ([`PROJECTS_NOBODY_SEES`]).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ProjectVisibilityRow {
    pub project_id: String,
    pub connector: String,
}

pub static PROJECT_VISIBILITY: Table = Table {
    name: "project_visibility",
    key: &[Col::text("project_id"), Col::text("connector")],
    columns: &[],
    observed: true,
    guard: Guard::Observed,
    revive: true,
    newest_by: None,
};

impl Record for ProjectVisibilityRow {
    const TABLE: &'static Table = &PROJECT_VISIBILITY;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([(&self.project_id).into(), (&self.connector).into()]);
    }
}

/// Marks the live rows of `$table` (by `project_id`) that belong to a deleted project.
macro_rules! cascade {
    ($table:literal) => {
        concat!(
            "UPDATE ",
            $table,
            " SET deleted_at = {at} WHERE org = {org} AND deleted_at IS NULL \
             AND project_id IN (SELECT id FROM projects WHERE org = {org} \
             AND deleted_at IS NOT NULL)"
        )
    };
}

/// After a complete project listing: a project that no connector sees is deleted, and so is
/// what lives in it — repositories (and with them their pull requests), teams, iterations,
/// areas, work items (matched by project name, unless a live project has that name now),
/// pipelines and environments (and with them their builds and deployment records).
/// The cascade covers every deleted project, so a mark missed by an earlier version is
/// caught up. Rows that reappear in a later listing lose their marks as usual.
pub static PROJECTS_NOBODY_SEES: Template = Template {
    name: "projects",
    rows: &PROJECT_VISIBILITY,
    statements: &[
        "UPDATE projects SET deleted_at = {at} WHERE org = {org} AND deleted_at IS NULL \
         AND synced_at <= {at} AND NOT EXISTS (SELECT 1 FROM project_visibility AS v \
         WHERE v.org = projects.org AND v.project_id = projects.id AND v.deleted_at IS NULL)",
        cascade!("repositories"),
        cascade!("teams"),
        cascade!("iterations"),
        cascade!("areas"),
        cascade!("pipelines"),
        cascade!("environments"),
        "UPDATE work_items SET deleted_at = {at} WHERE org = {org} AND deleted_at IS NULL \
         AND project IN (SELECT p.name FROM projects AS p WHERE p.org = {org} \
         AND p.deleted_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM projects AS q \
         WHERE q.org = p.org AND q.name = p.name AND q.deleted_at IS NULL))",
    ],
    carries_rows: false,
};

/// A person or group known by identity id (IdentityRefs of PRs and work items, team members)
/// → `users` keyed by that id. A Graph row of the same descriptor is merged into it (see
/// [`GraphUserRow`]); a row without a descriptor keeps the stored one.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub display_name: Option<String>,
    pub unique_name: Option<String>,
    pub is_container: bool,
    pub descriptor: Option<String>,
}

pub static USERS: Table = Table {
    name: "users",
    key: &[Col::text("id")],
    columns: &[
        Col::text("display_name"),
        Col::text("unique_name"),
        Col::bool("is_container"),
        Col::text("descriptor").coalesce(),
    ],
    observed: true,
    guard: Guard::Observed,
    revive: false,
    newest_by: None,
};

impl Record for UserRow {
    const TABLE: &'static Table = &USERS;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            (&self.id).into(),
            (&self.display_name).into(),
            (&self.unique_name).into(),
            self.is_container.into(),
            (&self.descriptor).into(),
        ]);
    }
}

/// After users by identity id are written: a Graph row stored under one of their descriptors
/// (`id = descriptor`, see [`GraphUserRow`]) gives its Graph columns to the identity's row and
/// is removed.
pub static MERGE_GRAPH_ROWS: Template = Template {
    name: "users",
    rows: &USERS,
    statements: &[
        "UPDATE users AS v SET mail_address = COALESCE(v.mail_address, g.mail_address), \
         origin = COALESCE(v.origin, g.origin), origin_id = COALESCE(v.origin_id, g.origin_id), \
         subject_kind = COALESCE(v.subject_kind, g.subject_kind) \
         FROM users AS g \
         WHERE v.org = {org} AND g.org = v.org AND g.id = g.descriptor \
         AND v.descriptor = g.descriptor AND v.id <> g.id \
         AND g.descriptor IN (SELECT s.descriptor FROM {rows})",
        "DELETE FROM users WHERE org = {org} AND id = descriptor \
         AND descriptor IN (SELECT s.descriptor FROM {rows}) \
         AND EXISTS (SELECT 1 FROM users AS v \
         WHERE v.org = users.org AND v.descriptor = users.descriptor AND v.id <> users.id)",
    ],
    // The rows are the users upserted just before: counting them again double-counted every
    // user with a descriptor in `Batch::row_count`.
    carries_rows: false,
};

/// Upserts users known by identity id and merges the Graph rows of their descriptors into
/// them ([`MERGE_GRAPH_ROWS`]).
pub fn write_users(batch: &mut Batch, users: Vec<UserRow>) {
    let with_descriptor: Vec<UserRow> = users
        .iter()
        .filter(|u| u.descriptor.is_some())
        .cloned()
        .collect();
    batch.upsert(users);
    batch.template(&MERGE_GRAPH_ROWS, with_descriptor);
}

/// A Graph user (Services). The Graph API does not give the identity id, so a Graph user
/// updates the `users` row that has its descriptor, and otherwise is stored under
/// `id = descriptor` until an identity with that descriptor arrives and takes the row over
/// ([`MERGE_GRAPH_ROWS`]).
#[derive(Debug, Clone, PartialEq)]
pub struct GraphUserRow {
    pub descriptor: String,
    pub display_name: Option<String>,
    /// The principal name (sign-in name), stored as `unique_name`.
    pub principal_name: Option<String>,
    pub mail_address: Option<String>,
    pub origin: Option<String>,
    pub origin_id: Option<String>,
    pub subject_kind: Option<String>,
}

/// The layout of Graph user rows (written by [`GRAPH_USERS`], not upserted by key).
pub static GRAPH_USER_ROWS: Table = Table {
    name: "users",
    key: &[Col::text("descriptor")],
    columns: &[
        Col::text("display_name"),
        Col::text("unique_name"),
        Col::bool("is_container"),
        Col::text("mail_address"),
        Col::text("origin"),
        Col::text("origin_id"),
        Col::text("subject_kind"),
    ],
    observed: true,
    guard: Guard::Observed,
    revive: false,
    newest_by: None,
};

impl Record for GraphUserRow {
    const TABLE: &'static Table = &GRAPH_USER_ROWS;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            (&self.descriptor).into(),
            (&self.display_name).into(),
            (&self.principal_name).into(),
            (self.subject_kind.as_deref() == Some("group")).into(),
            (&self.mail_address).into(),
            (&self.origin).into(),
            (&self.origin_id).into(),
            (&self.subject_kind).into(),
        ]);
    }
}

/// Graph users: update the rows that carry their descriptor (unless observed later), insert
/// the others under `id = descriptor`.
pub static GRAPH_USERS: Template = Template {
    name: "users",
    rows: &GRAPH_USER_ROWS,
    statements: &[
        "UPDATE users AS t SET display_name = s.display_name, unique_name = s.unique_name, \
         is_container = s.is_container, mail_address = s.mail_address, origin = s.origin, \
         origin_id = s.origin_id, subject_kind = s.subject_kind, synced_at = {at} \
         FROM {rows} WHERE t.org = {org} AND t.descriptor = s.descriptor \
         AND t.synced_at <= {at}",
        "INSERT INTO users (org, id, display_name, unique_name, is_container, mail_address, \
         descriptor, origin, origin_id, subject_kind, synced_at) \
         SELECT {org}, s.descriptor, s.display_name, s.unique_name, s.is_container, \
         s.mail_address, s.descriptor, s.origin, s.origin_id, s.subject_kind, {at} FROM {rows} \
         WHERE NOT EXISTS (SELECT 1 FROM users AS u WHERE u.org = {org} \
         AND u.descriptor = s.descriptor) ON CONFLICT (org, id) DO NOTHING",
    ],
    carries_rows: true,
};

/// A `users` row with every column, as read back.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct UserProfile {
    pub id: String,
    pub display_name: Option<String>,
    pub unique_name: Option<String>,
    pub is_container: bool,
    pub mail_address: Option<String>,
    pub descriptor: Option<String>,
    pub origin: Option<String>,
    pub origin_id: Option<String>,
    pub subject_kind: Option<String>,
}

/// Every column of `users`, for reading it back.
pub static USER_PROFILES: Table = Table {
    name: "users",
    key: &[Col::text("id")],
    columns: &[
        Col::text("display_name"),
        Col::text("unique_name"),
        Col::bool("is_container"),
        Col::text("mail_address"),
        Col::text("descriptor"),
        Col::text("origin"),
        Col::text("origin_id"),
        Col::text("subject_kind"),
    ],
    observed: true,
    guard: Guard::Observed,
    revive: false,
    newest_by: None,
};

impl Record for UserProfile {
    const TABLE: &'static Table = &USER_PROFILES;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            (&self.id).into(),
            (&self.display_name).into(),
            (&self.unique_name).into(),
            self.is_container.into(),
            (&self.mail_address).into(),
            (&self.descriptor).into(),
            (&self.origin).into(),
            (&self.origin_id).into(),
            (&self.subject_kind).into(),
        ]);
    }
}

/// A team (`teams`). A project's complete team list marks the missing ones deleted.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TeamRow {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: Option<String>,
    pub raw: String,
}

pub static TEAMS: Table = Table {
    name: "teams",
    key: &[Col::text("id")],
    columns: &[
        Col::text("project_id"),
        Col::text("name"),
        Col::text("description"),
        Col::json("raw"),
    ],
    observed: true,
    guard: Guard::Observed,
    revive: true,
    newest_by: None,
};

impl Record for TeamRow {
    const TABLE: &'static Table = &TEAMS;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            (&self.id).into(),
            (&self.project_id).into(),
            (&self.name).into(),
            (&self.description).into(),
            json(&self.raw),
        ]);
    }
}

/// A member of a team (`team_members`); `user_id` is the identity id, a key of `users`. A
/// team's member set is replaced whole, as a child set of its team.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, sqlx::FromRow)]
pub struct TeamMemberRow {
    pub team_id: String,
    pub user_id: String,
    pub is_team_admin: bool,
}

pub static TEAM_MEMBERS: Table = Table {
    name: "team_members",
    key: &[Col::text("team_id"), Col::text("user_id")],
    columns: &[Col::bool("is_team_admin")],
    observed: true,
    guard: Guard::Changed,
    revive: false,
    newest_by: None,
};

impl Record for TeamMemberRow {
    const TABLE: &'static Table = &TEAM_MEMBERS;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            (&self.team_id).into(),
            (&self.user_id).into(),
            self.is_team_admin.into(),
        ]);
    }
}

pub(super) static TABLES: &[&Table] = &[
    &PROJECTS,
    &PROJECT_VISIBILITY,
    &USER_PROFILES,
    &TEAMS,
    &TEAM_MEMBERS,
];

#[cfg(test)]
mod tests {
    use super::super::check::record_matches_table;
    use super::*;

    #[test]
    fn records_match_their_tables() {
        record_matches_table(&ProjectRow {
            id: "p".into(),
            name: "n".into(),
            state: None,
            visibility: Some("private".into()),
            last_update_time: Some(Utc::now()),
            raw: "{}".into(),
        });
        record_matches_table(&ProjectVisibilityRow {
            project_id: "p".into(),
            connector: "repos".into(),
        });
        record_matches_table(&UserRow {
            id: "u".into(),
            display_name: None,
            unique_name: None,
            is_container: false,
            descriptor: Some("aad.x".into()),
        });
        record_matches_table(&GraphUserRow {
            descriptor: "aad.x".into(),
            display_name: None,
            principal_name: None,
            mail_address: None,
            origin: None,
            origin_id: None,
            subject_kind: Some("user".into()),
        });
        record_matches_table(&TeamRow {
            id: "t".into(),
            project_id: "p".into(),
            name: "n".into(),
            description: None,
            raw: "{}".into(),
        });
        record_matches_table(&TeamMemberRow {
            team_id: "t".into(),
            user_id: "u".into(),
            is_team_admin: true,
        });
    }
}
