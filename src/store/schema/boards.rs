//! Boards tables: the planning structure (iterations, areas, work item types with their
//! states, fields) and work items with every revision and their links.

use std::marker::PhantomData;

use chrono::{DateTime, Utc};

use super::{Col, Guard, Record, Table, Value, json};

/// Marks a [`NodeRow`] as an iteration (`iterations`, with dates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Iteration;
/// Marks a [`NodeRow`] as an area (`areas`, no dates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Area;

/// An iteration or area, flattened from the classification tree.
///
/// `path` is the form work items carry in `System.IterationPath` / `System.AreaPath`
/// (`Project\Release 1\Sprint 2`), built from the node names, so it joins with
/// `work_items.iteration_path`; ADO's own classification path (`\Project\Iteration\…`)
/// stays in `raw`. `depth` is 0 for the root (the project node). A project's complete tree
/// marks the nodes it lacks deleted (work items and revisions still name their paths).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct NodeRow<K> {
    pub project_id: String,
    pub id: i64,
    pub identifier: Option<String>,
    pub name: String,
    pub path: String,
    pub parent_path: Option<String>,
    pub depth: i32,
    /// Iterations only (not stored for areas).
    #[sqlx(default)]
    pub start_date: Option<DateTime<Utc>>,
    /// Iterations only (not stored for areas).
    #[sqlx(default)]
    pub finish_date: Option<DateTime<Utc>>,
    /// The node without its `children`.
    pub raw: String,
    #[sqlx(skip)]
    pub kind: PhantomData<K>,
}

/// An iteration row.
pub type IterationRow = NodeRow<Iteration>;
/// An area row.
pub type AreaRow = NodeRow<Area>;

impl<K> NodeRow<K> {
    /// The same node as another kind of row (the mapping builds both from one tree walk).
    pub fn into_kind<L>(self) -> NodeRow<L> {
        NodeRow {
            project_id: self.project_id,
            id: self.id,
            identifier: self.identifier,
            name: self.name,
            path: self.path,
            parent_path: self.parent_path,
            depth: self.depth,
            start_date: self.start_date,
            finish_date: self.finish_date,
            raw: self.raw,
            kind: PhantomData,
        }
    }
}

const NODE_COLUMNS: [Col; 7] = [
    Col::text("project_id"),
    Col::text("identifier"),
    Col::text("name"),
    Col::text("path"),
    Col::text("parent_path"),
    Col::int("depth"),
    Col::json("raw"),
];

pub static ITERATIONS: Table = Table {
    name: "iterations",
    key: &[Col::int("id")],
    columns: &[
        NODE_COLUMNS[0],
        NODE_COLUMNS[1],
        NODE_COLUMNS[2],
        NODE_COLUMNS[3],
        NODE_COLUMNS[4],
        NODE_COLUMNS[5],
        Col::time("start_date"),
        Col::time("finish_date"),
        NODE_COLUMNS[6],
    ],
    observed: true,
    guard: Guard::Observed,
    revive: true,
    newest_by: None,
};

pub static AREAS: Table = Table {
    name: "areas",
    key: &[Col::int("id")],
    columns: &NODE_COLUMNS,
    observed: true,
    guard: Guard::Observed,
    revive: true,
    newest_by: None,
};

impl<K> NodeRow<K> {
    fn head<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            self.id.into(),
            (&self.project_id).into(),
            (&self.identifier).into(),
            (&self.name).into(),
            (&self.path).into(),
            (&self.parent_path).into(),
            self.depth.into(),
        ]);
    }
}

impl Record for IterationRow {
    const TABLE: &'static Table = &ITERATIONS;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        self.head(out);
        out.extend([
            self.start_date.into(),
            self.finish_date.into(),
            json(&self.raw),
        ]);
    }
}

impl Record for AreaRow {
    const TABLE: &'static Table = &AREAS;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        self.head(out);
        out.push(json(&self.raw));
    }
}

/// A work item type of a project (`work_item_types`). A project's complete type list removes
/// the types it lacks, with their states.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct WorkItemTypeRow {
    pub project_id: String,
    pub name: String,
    pub reference_name: Option<String>,
    pub description: Option<String>,
    pub color: Option<String>,
    pub is_disabled: bool,
    /// The type's category reference name (`Microsoft.RequirementCategory`), from the type
    /// categories; `Microsoft.HiddenCategory` only when it is in no other.
    pub category: Option<String>,
    pub raw: String,
}

pub static WORK_ITEM_TYPES: Table = Table {
    name: "work_item_types",
    key: &[Col::text("project_id"), Col::text("name")],
    columns: &[
        Col::text("reference_name"),
        Col::text("description"),
        Col::text("color"),
        Col::bool("is_disabled"),
        Col::text("category"),
        Col::json("raw"),
    ],
    observed: true,
    guard: Guard::Observed,
    revive: false,
    newest_by: None,
};

impl Record for WorkItemTypeRow {
    const TABLE: &'static Table = &WORK_ITEM_TYPES;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            (&self.project_id).into(),
            (&self.name).into(),
            (&self.reference_name).into(),
            (&self.description).into(),
            (&self.color).into(),
            self.is_disabled.into(),
            (&self.category).into(),
            json(&self.raw),
        ]);
    }
}

/// A state of a work item type (`work_item_type_states`), a child set of its type.
/// `category` is the state category (`Proposed`, `InProgress`, `Resolved`, `Completed`,
/// `Removed`) that cycle-time metrics use.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, sqlx::FromRow)]
pub struct WorkItemTypeStateRow {
    pub project_id: String,
    pub type_name: String,
    pub name: String,
    pub category: Option<String>,
    pub color: Option<String>,
}

pub static WORK_ITEM_TYPE_STATES: Table = Table {
    name: "work_item_type_states",
    key: &[
        Col::text("project_id"),
        Col::text("type_name"),
        Col::text("name"),
    ],
    columns: &[Col::text("category"), Col::text("color")],
    observed: true,
    guard: Guard::Changed,
    revive: false,
    newest_by: None,
};

impl Record for WorkItemTypeStateRow {
    const TABLE: &'static Table = &WORK_ITEM_TYPE_STATES;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            (&self.project_id).into(),
            (&self.type_name).into(),
            (&self.name).into(),
            (&self.category).into(),
            (&self.color).into(),
        ]);
    }
}

/// A work item field of the organization (`work_item_fields`). The complete field list
/// removes the fields it lacks.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct WorkItemFieldRow {
    pub reference_name: String,
    pub name: String,
    #[sqlx(rename = "type")]
    pub field_type: Option<String>,
    pub read_only: bool,
    pub is_identity: bool,
    pub raw: String,
}

pub static WORK_ITEM_FIELDS: Table = Table {
    name: "work_item_fields",
    key: &[Col::text("reference_name")],
    columns: &[
        Col::text("name"),
        Col::text("type"),
        Col::bool("read_only"),
        Col::bool("is_identity"),
        Col::json("raw"),
    ],
    observed: true,
    guard: Guard::Observed,
    revive: false,
    newest_by: None,
};

impl Record for WorkItemFieldRow {
    const TABLE: &'static Table = &WORK_ITEM_FIELDS;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            (&self.reference_name).into(),
            (&self.name).into(),
            (&self.field_type).into(),
            self.read_only.into(),
            self.is_identity.into(),
            json(&self.raw),
        ]);
    }
}

/// The current state of a work item (`work_items`), from the newest revision seen.
///
/// Identities are normalized whichever way ADO sent them (`"Name <email>"` strings or
/// IdentityRef objects): `assigned_to`, `created_by` and `changed_by` hold the unique name
/// (the e-mail on Services, `DOMAIN\user` on Server), `assigned_to_name` the display name.
///
/// Never regress: a stored item is replaced only by a higher `rev`, or by the same `rev`
/// observed no earlier.
///
/// Deletion and restore (data is always kept):
/// - `is_deleted` (`System.IsDeleted`, what the reporting stream with `includeDeleted=true`
///   reports when an item goes to the recycle bin) sets `deleted_at` to the revision's
///   `changed_date` (or the observation time), keeping an earlier mark;
/// - an explicit signal (recycle bin listing, reconciliation; [`crate::store::Batch::mark`])
///   sets `deleted_at` to the observation time;
/// - a row that is not deleted lifts the mark when it changed after the mark (a restore is a
///   new revision; items in the recycle bin cannot change) — or, without `changed_date`, when
///   its `rev` is higher. A revision that predates an explicit mark does not;
/// - an explicit restore ([`crate::store::Batch::restore`]) lifts marks older than the batch.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct WorkItemRow {
    pub id: i64,
    pub rev: i64,
    /// `System.TeamProject` (the project *name*).
    pub project: Option<String>,
    /// `System.WorkItemType` (column `type`).
    #[sqlx(rename = "type")]
    pub work_item_type: Option<String>,
    pub title: Option<String>,
    pub state: Option<String>,
    pub reason: Option<String>,
    pub assigned_to: Option<String>,
    pub assigned_to_name: Option<String>,
    pub created_by: Option<String>,
    pub created_date: Option<DateTime<Utc>>,
    pub changed_by: Option<String>,
    pub changed_date: Option<DateTime<Utc>>,
    pub closed_date: Option<DateTime<Utc>>,
    pub activated_date: Option<DateTime<Utc>>,
    pub resolved_date: Option<DateTime<Utc>>,
    pub area_path: Option<String>,
    pub iteration_path: Option<String>,
    pub priority: Option<i64>,
    pub severity: Option<String>,
    pub story_points: Option<f64>,
    pub effort: Option<f64>,
    pub remaining_work: Option<f64>,
    pub parent_id: Option<i64>,
    /// `System.Tags` as ADO sends it: `"Tag1; Tag2"`.
    pub tags: Option<String>,
    /// `System.CommentCount`.
    pub comment_count: Option<i64>,
    /// From the comments endpoint (optional); `None` keeps the stored value.
    pub last_comment_date: Option<DateTime<Utc>>,
    /// `System.IsDeleted` of this revision (in the recycle bin). Not a column: read back, the
    /// deletion mark is `deleted_at`.
    #[sqlx(skip)]
    pub is_deleted: bool,
    pub raw: String,
    /// Destroyed for good (gone from the recycle bin, unreadable): set by the recycle bin
    /// reconciliation ([`crate::store::Mark::Destroyed`]), never by an upsert.
    pub destroyed_at: Option<DateTime<Utc>>,
}

pub static WORK_ITEMS: Table = Table {
    name: "work_items",
    key: &[Col::int("id")],
    columns: &[
        Col::int("rev"),
        Col::text("project"),
        Col::text("type"),
        Col::text("title"),
        Col::text("state"),
        Col::text("reason"),
        Col::text("assigned_to"),
        Col::text("assigned_to_name"),
        Col::text("created_by"),
        Col::time("created_date"),
        Col::text("changed_by"),
        Col::time("changed_date"),
        Col::time("closed_date"),
        Col::time("activated_date"),
        Col::time("resolved_date"),
        Col::text("area_path"),
        Col::text("iteration_path"),
        Col::int("priority"),
        Col::text("severity"),
        Col::real("story_points"),
        Col::real("effort"),
        Col::real("remaining_work"),
        Col::int("parent_id"),
        Col::text("tags"),
        Col::int("comment_count"),
        Col::time("last_comment_date").coalesce(),
        Col::json("raw"),
        Col::time("destroyed_at").keep(),
        // `excluded.deleted_at` is the deletion the row itself reports. A row that is not
        // deleted lifts a stored mark only when it changed after it (an item in the recycle
        // bin cannot change, so a later change means it was restored); a revision that
        // predates an explicit mark is no such evidence.
        Col::time("deleted_at").expr(
            "CASE \
             WHEN excluded.deleted_at IS NOT NULL THEN COALESCE(t.deleted_at, excluded.deleted_at) \
             WHEN t.deleted_at IS NULL THEN NULL \
             WHEN excluded.changed_date > t.deleted_at THEN NULL \
             WHEN excluded.changed_date IS NULL AND excluded.rev > t.rev THEN NULL \
             ELSE t.deleted_at END",
        ),
    ],
    observed: true,
    guard: Guard::Expr(
        "excluded.rev > t.rev OR (excluded.rev = t.rev AND excluded.synced_at >= t.synced_at)",
    ),
    revive: false,
    newest_by: Some("rev"),
};

impl Record for WorkItemRow {
    const TABLE: &'static Table = &WORK_ITEMS;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        let deleted_at = if self.is_deleted {
            self.changed_date.map_or(Value::Observed, Value::Time)
        } else {
            Value::Null
        };
        out.extend([
            self.id.into(),
            self.rev.into(),
            (&self.project).into(),
            (&self.work_item_type).into(),
            (&self.title).into(),
            (&self.state).into(),
            (&self.reason).into(),
            (&self.assigned_to).into(),
            (&self.assigned_to_name).into(),
            (&self.created_by).into(),
            self.created_date.into(),
            (&self.changed_by).into(),
            self.changed_date.into(),
            self.closed_date.into(),
            self.activated_date.into(),
            self.resolved_date.into(),
            (&self.area_path).into(),
            (&self.iteration_path).into(),
            self.priority.into(),
            (&self.severity).into(),
            self.story_points.into(),
            self.effort.into(),
            self.remaining_work.into(),
            self.parent_id.into(),
            (&self.tags).into(),
            self.comment_count.into(),
            self.last_comment_date.into(),
            json(&self.raw),
            self.destroyed_at.into(),
            deleted_at,
        ]);
    }
}

/// One revision of a work item (`work_item_revisions`). `fields` is the revision's full
/// field map as JSON text, so state transitions can be replayed; the typed columns repeat
/// what timelines filter on (identities normalized as in [`WorkItemRow`]).
///
/// A revision never changes in ADO, but an observation of it can be incomplete: the
/// reporting stream leaves out long-text fields unless asked for them (API_FACTS §1.6), and
/// databases written before the connector asked hold revisions without them. So a stored
/// revision is replaced only by one with more fields (`field_count`), or when it has no
/// count (written before the column existed); anything else sent again is ignored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct WorkItemRevisionRow {
    pub id: i64,
    pub rev: i64,
    pub changed_date: Option<DateTime<Utc>>,
    pub changed_by: Option<String>,
    pub state: Option<String>,
    pub assigned_to: Option<String>,
    pub iteration_path: Option<String>,
    pub fields: String,
    /// The number of entries in `fields`.
    pub field_count: Option<i64>,
}

pub static WORK_ITEM_REVISIONS: Table = Table {
    name: "work_item_revisions",
    key: &[Col::int("id"), Col::int("rev")],
    columns: &[
        Col::time("changed_date"),
        Col::text("changed_by"),
        Col::text("state"),
        Col::text("assigned_to"),
        Col::text("iteration_path"),
        Col::json("fields"),
        Col::int("field_count"),
    ],
    observed: true,
    guard: Guard::Expr("t.field_count IS NULL OR excluded.field_count > t.field_count"),
    revive: false,
    newest_by: None,
};

impl Record for WorkItemRevisionRow {
    const TABLE: &'static Table = &WORK_ITEM_REVISIONS;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            self.id.into(),
            self.rev.into(),
            self.changed_date.into(),
            (&self.changed_by).into(),
            (&self.state).into(),
            (&self.assigned_to).into(),
            (&self.iteration_path).into(),
            json(&self.fields),
            self.field_count.into(),
        ]);
    }
}

/// A link between two work items (`work_item_links`) as the reporting links stream last
/// reported it: a removed link stays with `is_active = false`. Replaced only by a change with
/// a newer `changed_date` (or the same one observed no earlier; a missing date is the oldest).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct WorkItemLinkRow {
    pub source_id: i64,
    pub target_id: i64,
    /// The link type as the stream names it (`System.LinkTypes.Hierarchy`: source is the
    /// parent).
    pub rel: String,
    pub is_active: bool,
    pub changed_date: Option<DateTime<Utc>>,
    pub raw: String,
}

pub static WORK_ITEM_LINKS: Table = Table {
    name: "work_item_links",
    key: &[
        Col::int("source_id"),
        Col::int("target_id"),
        Col::text("rel"),
    ],
    columns: &[
        Col::bool("is_active"),
        Col::time("changed_date"),
        Col::json("raw"),
    ],
    observed: true,
    guard: Guard::Expr(
        "excluded.changed_date > t.changed_date \
         OR (t.changed_date IS NULL AND excluded.changed_date IS NOT NULL) \
         OR (excluded.changed_date IS NOT DISTINCT FROM t.changed_date \
         AND excluded.synced_at >= t.synced_at)",
    ),
    revive: false,
    newest_by: Some("changed_date"),
};

impl Record for WorkItemLinkRow {
    const TABLE: &'static Table = &WORK_ITEM_LINKS;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            self.source_id.into(),
            self.target_id.into(),
            (&self.rel).into(),
            self.is_active.into(),
            self.changed_date.into(),
            json(&self.raw),
        ]);
    }
}

pub(super) static TABLES: &[&Table] = &[
    &ITERATIONS,
    &AREAS,
    &WORK_ITEM_TYPES,
    &WORK_ITEM_TYPE_STATES,
    &WORK_ITEM_FIELDS,
    &WORK_ITEMS,
    &WORK_ITEM_REVISIONS,
    &WORK_ITEM_LINKS,
];

#[cfg(test)]
mod tests {
    use super::super::check::record_matches_table;
    use super::*;

    fn node<K>() -> NodeRow<K> {
        NodeRow {
            project_id: "p".into(),
            id: 1,
            identifier: None,
            name: "n".into(),
            path: "p\\n".into(),
            parent_path: Some("p".into()),
            depth: 1,
            start_date: Some(Utc::now()),
            finish_date: None,
            raw: "{}".into(),
            kind: PhantomData,
        }
    }

    #[test]
    fn records_match_their_tables() {
        record_matches_table(&node::<Iteration>());
        record_matches_table(&node::<Area>());
        record_matches_table(&WorkItemTypeRow {
            project_id: "p".into(),
            name: "Bug".into(),
            reference_name: None,
            description: None,
            color: None,
            is_disabled: false,
            category: None,
            raw: "{}".into(),
        });
        record_matches_table(&WorkItemTypeStateRow {
            project_id: "p".into(),
            type_name: "Bug".into(),
            name: "New".into(),
            category: Some("Proposed".into()),
            color: None,
        });
        record_matches_table(&WorkItemFieldRow {
            reference_name: "System.Id".into(),
            name: "ID".into(),
            field_type: Some("integer".into()),
            read_only: true,
            is_identity: false,
            raw: "{}".into(),
        });
        record_matches_table(&WorkItemRevisionRow {
            id: 1,
            rev: 1,
            changed_date: None,
            changed_by: None,
            state: None,
            assigned_to: None,
            iteration_path: None,
            fields: "{}".into(),
            field_count: Some(0),
        });
        record_matches_table(&WorkItemLinkRow {
            source_id: 1,
            target_id: 2,
            rel: "System.LinkTypes.Hierarchy".into(),
            is_active: true,
            changed_date: None,
            raw: "{}".into(),
        });
    }
}
