//! Boards fixtures: rows of every Boards table, and batches written the way
//! `connectors::boards` writes them.

use chrono::{DateTime, Duration, Utc};

use super::{at, cursor, project_scope, raw};
use crate::store::schema::boards::WORK_ITEM_TYPE_STATES;
use crate::store::schema::core::{GRAPH_USERS, write_users};
use crate::store::schema::{self, Key, Record};
use crate::store::*;

/// The ChangedDate of revision `rev` in these fixtures: one hour per revision.
pub(super) fn changed(rev: i64) -> DateTime<Utc> {
    at("2024-01-01T08:00:00Z") + Duration::hours(rev)
}

pub(super) fn work_item(id: i64, rev: i64) -> WorkItemRow {
    WorkItemRow {
        id,
        rev,
        project: Some("Fabrikam".to_string()),
        work_item_type: Some("Bug".to_string()),
        title: Some(format!("Item {id} rev {rev}")),
        state: Some("Active".to_string()),
        reason: Some("Implementation started".to_string()),
        assigned_to: Some("ann@contoso.example".to_string()),
        assigned_to_name: Some("Ann Example".to_string()),
        created_by: Some("bob@contoso.example".to_string()),
        created_date: Some(at("2024-01-01T08:00:00.123456Z")),
        changed_by: Some("ann@contoso.example".to_string()),
        changed_date: Some(changed(rev)),
        closed_date: None,
        activated_date: Some(at("2024-01-01T09:30:00Z")),
        resolved_date: None,
        area_path: Some("Fabrikam\\Web".to_string()),
        iteration_path: Some("Fabrikam\\Sprint 1".to_string()),
        priority: Some(2),
        severity: Some("3 - Medium".to_string()),
        story_points: Some(5.0),
        effort: None,
        remaining_work: Some(2.5),
        parent_id: Some(1),
        tags: Some("api; backend".to_string()),
        comment_count: Some(0),
        last_comment_date: None,
        is_deleted: false,
        raw: raw("workItem", &format!("{id}.{rev}"), 800),
        destroyed_at: None,
    }
}

pub(super) fn bare_work_item(id: i64, rev: i64) -> WorkItemRow {
    WorkItemRow {
        id,
        rev,
        project: None,
        work_item_type: None,
        title: None,
        state: None,
        reason: None,
        assigned_to: None,
        assigned_to_name: None,
        created_by: None,
        created_date: None,
        changed_by: None,
        changed_date: None,
        closed_date: None,
        activated_date: None,
        resolved_date: None,
        area_path: None,
        iteration_path: None,
        priority: None,
        severity: None,
        story_points: None,
        effort: None,
        remaining_work: None,
        parent_id: None,
        tags: None,
        comment_count: None,
        last_comment_date: None,
        is_deleted: false,
        raw: "{}".to_string(),
        destroyed_at: None,
    }
}

pub(super) fn revision(id: i64, rev: i64) -> WorkItemRevisionRow {
    WorkItemRevisionRow {
        id,
        rev,
        changed_date: Some(changed(rev)),
        changed_by: Some("ann@contoso.example".to_string()),
        state: Some(if rev == 1 { "New" } else { "Active" }.to_string()),
        assigned_to: Some("ann@contoso.example".to_string()),
        iteration_path: Some("Fabrikam\\Sprint 1".to_string()),
        fields: raw("fields", &format!("{id}.{rev}"), 600),
        field_count: Some(20),
    }
}

pub(super) fn link(
    source: i64,
    target: i64,
    rel: &str,
    active: bool,
    when: &str,
) -> WorkItemLinkRow {
    WorkItemLinkRow {
        source_id: source,
        target_id: target,
        rel: rel.to_string(),
        is_active: active,
        changed_date: Some(at(when)),
        raw: serde_json::json!({ "rel": rel, "sourceId": source, "targetId": target,
            "isActive": active, "changedDate": when })
        .to_string(),
    }
}

pub(super) const HIERARCHY: &str = "System.LinkTypes.Hierarchy";
pub(super) const RELATED: &str = "System.LinkTypes.Related";

/// A classification node of `project_id` at `path`; `dated` gives it sprint dates (which
/// only iterations store).
pub(super) fn node<K>(project_id: &str, id: i64, path: &str, dated: bool) -> NodeRow<K> {
    let (parent, name) = match path.rsplit_once('\\') {
        Some((parent, name)) => (Some(parent.to_string()), name.to_string()),
        None => (None, path.to_string()),
    };
    NodeRow {
        project_id: project_id.to_string(),
        id,
        identifier: Some(format!("00000000-0000-0000-0000-{id:012}")),
        name,
        path: path.to_string(),
        parent_path: parent,
        depth: path.matches('\\').count() as i32,
        start_date: dated.then(|| at("2024-01-01T00:00:00Z") + Duration::days(id)),
        finish_date: dated.then(|| at("2024-01-14T00:00:00Z") + Duration::days(id)),
        raw: raw("node", &id.to_string(), 200),
        kind: std::marker::PhantomData,
    }
}

/// A work item type with its states (and as read back, the states sorted by name).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Wit {
    pub(super) row: WorkItemTypeRow,
    pub(super) states: Vec<WorkItemTypeStateRow>,
}

pub(super) fn wit_type(project_id: &str, name: &str, states: &[(&str, &str)]) -> Wit {
    Wit {
        row: WorkItemTypeRow {
            project_id: project_id.to_string(),
            name: name.to_string(),
            reference_name: Some(format!("Microsoft.VSTS.WorkItemTypes.{name}")),
            description: Some(format!("A {name}")),
            color: Some("CC293D".to_string()),
            is_disabled: false,
            category: Some(format!("Microsoft.{name}Category")),
            raw: raw("type", name, 300),
        },
        states: states
            .iter()
            .map(|(state, category)| WorkItemTypeStateRow {
                project_id: project_id.to_string(),
                type_name: name.to_string(),
                name: state.to_string(),
                category: Some(category.to_string()),
                color: Some("007acc".to_string()),
            })
            .collect(),
    }
}

pub(super) fn wi_field(reference_name: &str) -> WorkItemFieldRow {
    WorkItemFieldRow {
        reference_name: reference_name.to_string(),
        name: reference_name
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .to_string(),
        field_type: Some("string".to_string()),
        read_only: false,
        is_identity: false,
        raw: raw("field", reference_name, 200),
    }
}

pub(super) fn team(id: &str, project_id: &str) -> TeamRow {
    TeamRow {
        id: id.to_string(),
        project_id: project_id.to_string(),
        name: format!("Team {id}"),
        description: Some(format!("The {id} team")),
        raw: raw("team", id, 200),
    }
}

pub(super) fn member(team_id: &str, user_id: &str, is_team_admin: bool) -> TeamMemberRow {
    TeamMemberRow {
        team_id: team_id.to_string(),
        user_id: user_id.to_string(),
        is_team_admin,
    }
}

/// A person known by identity id (a team member, an IdentityRef).
pub(super) fn identity(id: &str, descriptor: Option<&str>) -> UserRow {
    UserRow {
        id: id.to_string(),
        display_name: Some(format!("Identity {id}")),
        unique_name: Some(format!("{id}@contoso.example")),
        is_container: false,
        descriptor: descriptor.map(str::to_string),
    }
}

pub(super) fn graph_user(descriptor: &str) -> GraphUserRow {
    GraphUserRow {
        descriptor: descriptor.to_string(),
        display_name: Some(format!("Graph {descriptor}")),
        principal_name: Some(format!("{descriptor}@graph.example")),
        mail_address: Some(format!("{descriptor}@mail.example")),
        origin: Some("aad".to_string()),
        origin_id: Some(format!("origin-{descriptor}")),
        subject_kind: Some("user".to_string()),
    }
}

/// A project's planning structure as the Boards connector refreshes it; a part left `None`
/// is not refreshed.
pub(super) struct Planning {
    pub(super) project_id: String,
    pub(super) iterations: Option<Vec<IterationRow>>,
    pub(super) areas: Option<Vec<AreaRow>>,
    pub(super) types: Option<Vec<Wit>>,
}

/// A removed work item type takes its states with it.
pub(super) const TYPE_CHILDREN: &[&schema::Table] = &[&WORK_ITEM_TYPE_STATES];

/// Writes a planning refresh as `connectors::boards::sync_planning` does: nodes upserted and
/// the missing ones of the project marked deleted; types upserted with their state sets, and
/// the missing ones removed with their states.
pub(super) fn write_planning(b: &mut Batch, p: Planning) {
    if let Some(rows) = p.iterations {
        let present = rows.iter().map(Record::key).collect();
        b.upsert(rows)
            .mark_missing::<IterationRow>(project_scope(&p.project_id), present);
    }
    if let Some(rows) = p.areas {
        let present = rows.iter().map(Record::key).collect();
        b.upsert(rows)
            .mark_missing::<AreaRow>(project_scope(&p.project_id), present);
    }
    if let Some(types) = p.types {
        let present: Vec<Key> = types.iter().map(|t| t.row.key()).collect();
        let (rows, states): (Vec<_>, Vec<_>) = types.into_iter().map(|t| (t.row, t.states)).unzip();
        b.upsert(rows)
            .replace_children::<WorkItemTypeRow, _>(present.clone(), states.concat())
            .remove_missing::<WorkItemTypeRow>(
                project_scope(&p.project_id),
                present,
                TYPE_CHILDREN,
            );
    }
}

/// Writes a project's complete team list with the members of the listed teams, as
/// `connectors::boards::sync_teams` does.
pub(super) fn write_teams(
    b: &mut Batch,
    project_id: &str,
    teams: Vec<TeamRow>,
    members: Vec<TeamMemberRow>,
) {
    let present: Vec<Key> = teams.iter().map(Record::key).collect();
    b.upsert(teams)
        .mark_missing::<TeamRow>(project_scope(project_id), present.clone())
        .replace_children::<TeamRow, _>(present, members);
}

/// Writes the organization's complete field list: fields it lacks are removed.
pub(super) fn write_fields(b: &mut Batch, fields: Vec<WorkItemFieldRow>) {
    let present = fields.iter().map(Record::key).collect();
    b.upsert(fields)
        .remove_missing::<WorkItemFieldRow>(Vec::new(), present, &[]);
}

/// A batch with a bit of every Boards kind (used by the round trip and the counts).
pub(super) fn boards_batch(observed: DateTime<Utc>) -> Batch {
    let mut b = Batch::new(observed);
    write_users(
        &mut b,
        vec![
            identity("u1", Some("aad.u1")),
            UserRow {
                display_name: None,
                unique_name: None,
                is_container: true,
                ..identity("u2", None)
            },
        ],
    );
    b.template(
        &GRAPH_USERS,
        vec![graph_user("aad.u1"), graph_user("aad.g9")],
    );
    write_teams(
        &mut b,
        "p1",
        vec![
            team("t1", "p1"),
            TeamRow {
                description: None,
                ..team("t2", "p1")
            },
        ],
        vec![member("t1", "u2", true), member("t1", "u1", false)],
    );
    write_planning(&mut b, boards_planning());
    write_fields(
        &mut b,
        vec![wi_field("System.Title"), wi_field("System.State")],
    );
    b.upsert(boards_work_items());
    b.upsert(boards_revisions());
    b.upsert(boards_links());
    b.with_cursor(cursor("boards", "work_item_revisions:p1", "813;350;1"));
    b
}

/// The planning structure of [`boards_batch`].
pub(super) fn boards_planning() -> Planning {
    Planning {
        project_id: "p1".to_string(),
        iterations: Some(vec![
            node("p1", 10, "Fabrikam", false),
            node("p1", 11, "Fabrikam\\Sprint 1", true),
        ]),
        areas: Some(vec![node("p1", 20, "Fabrikam", false)]),
        types: Some(vec![
            wit_type(
                "p1",
                "Bug",
                &[("New", "Proposed"), ("Active", "InProgress")],
            ),
            Wit {
                row: WorkItemTypeRow {
                    reference_name: None,
                    description: None,
                    color: None,
                    category: None,
                    is_disabled: true,
                    ..wit_type("p1", "Epic", &[]).row
                },
                states: Vec::new(),
            },
        ]),
    }
}

/// The work items of [`boards_batch`].
pub(super) fn boards_work_items() -> Vec<WorkItemRow> {
    vec![
        WorkItemRow {
            closed_date: Some(at("2024-01-05T10:00:00.1234567Z")),
            resolved_date: Some(at("2024-01-04T10:00:00Z")),
            effort: Some(8.0),
            last_comment_date: Some(at("2024-01-03T10:00:00Z")),
            comment_count: Some(4),
            ..work_item(7, 3)
        },
        bare_work_item(3, 1),
    ]
}

/// The revisions of [`boards_batch`].
pub(super) fn boards_revisions() -> Vec<WorkItemRevisionRow> {
    vec![
        revision(7, 1),
        revision(7, 2),
        revision(7, 3),
        WorkItemRevisionRow {
            changed_date: None,
            changed_by: None,
            state: None,
            assigned_to: None,
            iteration_path: None,
            fields: "{}".to_string(),
            field_count: Some(0),
            ..revision(3, 1)
        },
    ]
}

/// The links of [`boards_batch`].
pub(super) fn boards_links() -> Vec<WorkItemLinkRow> {
    vec![
        link(1, 7, HIERARCHY, true, "2024-01-02T00:00:00Z"),
        WorkItemLinkRow {
            changed_date: None,
            ..link(7, 9, RELATED, false, "2024-01-02T00:00:00Z")
        },
    ]
}

/// A reporting page as `connectors::boards::sync_revisions` writes it: `items` work items with
/// revisions `1..=revs` each, and the current rows the mapping derives from it (the last
/// revision of each item).
pub(super) fn revision_page(
    first_id: i64,
    items: i64,
    revs: i64,
    observed: DateTime<Utc>,
) -> Batch {
    let mut work_items = Vec::new();
    let mut revisions = Vec::new();
    for id in first_id..first_id + items {
        for rev in 1..=revs {
            revisions.push(revision(id, rev));
        }
        work_items.push(work_item(id, revs));
    }
    let mut b = Batch::new(observed);
    b.upsert(work_items).upsert(revisions);
    b.with_cursor(cursor(
        "boards",
        "work_item_revisions:p1",
        &format!("{first_id};{revs}"),
    ));
    b
}
