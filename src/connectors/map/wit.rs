//! Work item tracking mapping: work items (current state and revisions) and links from the
//! reporting streams or `workitemsbatch`, and the planning structure (iterations, areas, work
//! item types with their states, fields).
//!
//! Typed columns are read from the field map by reference name ([`field`]). Values are read
//! leniently: numbers may arrive as strings, dates with 7 fractional digits or without an
//! offset (API_FACTS §4.1), identities as `"Name <email>"` strings or IdentityRef objects —
//! all normalized by [`identity_of`] (unique name in `assigned_to` / `created_by` /
//! `changed_by`, display name in `assigned_to_name`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::ado::models::WithRaw;
use crate::ado::models::parse_date;
use crate::ado::models::wit::{
    ClassificationNode, Fields, IdentityValue, ReportingWorkItemLink, WorkItem, WorkItemField,
    WorkItemRelation, WorkItemRevision, WorkItemStateColor, WorkItemType, WorkItemTypeCategory,
    identity_of,
};
use crate::store::{
    NodeRow, UserRow, WorkItemFieldRow, WorkItemLinkRow, WorkItemRevisionRow, WorkItemRow,
    WorkItemTypeRow, WorkItemTypeStateRow,
};

/// Reference names of the fields with typed columns.
pub mod field {
    pub const ID: &str = "System.Id";
    pub const REV: &str = "System.Rev";
    pub const TEAM_PROJECT: &str = "System.TeamProject";
    pub const WORK_ITEM_TYPE: &str = "System.WorkItemType";
    pub const TITLE: &str = "System.Title";
    pub const STATE: &str = "System.State";
    pub const REASON: &str = "System.Reason";
    pub const ASSIGNED_TO: &str = "System.AssignedTo";
    pub const CREATED_BY: &str = "System.CreatedBy";
    pub const CREATED_DATE: &str = "System.CreatedDate";
    pub const CHANGED_BY: &str = "System.ChangedBy";
    pub const CHANGED_DATE: &str = "System.ChangedDate";
    pub const CLOSED_DATE: &str = "Microsoft.VSTS.Common.ClosedDate";
    pub const ACTIVATED_DATE: &str = "Microsoft.VSTS.Common.ActivatedDate";
    pub const RESOLVED_DATE: &str = "Microsoft.VSTS.Common.ResolvedDate";
    pub const AREA_PATH: &str = "System.AreaPath";
    pub const ITERATION_PATH: &str = "System.IterationPath";
    pub const PRIORITY: &str = "Microsoft.VSTS.Common.Priority";
    pub const SEVERITY: &str = "Microsoft.VSTS.Common.Severity";
    pub const STORY_POINTS: &str = "Microsoft.VSTS.Scheduling.StoryPoints";
    pub const EFFORT: &str = "Microsoft.VSTS.Scheduling.Effort";
    pub const REMAINING_WORK: &str = "Microsoft.VSTS.Scheduling.RemainingWork";
    pub const PARENT: &str = "System.Parent";
    pub const TAGS: &str = "System.Tags";
    pub const COMMENT_COUNT: &str = "System.CommentCount";
    pub const IS_DELETED: &str = "System.IsDeleted";
}

/// The relation from a child to its parent (`$expand=relations`).
const PARENT_RELATION: &str = "System.LinkTypes.Hierarchy-Reverse";

/// The type category every type may also be in; a type's "real" category is another one.
const HIDDEN_CATEGORY: &str = "Microsoft.HiddenCategory";

fn text(fields: &Fields, name: &str) -> Option<String> {
    match fields.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn int(fields: &Fields, name: &str) -> Option<i64> {
    match fields.get(name)? {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|x| x.fract() == 0.0 && x.abs() < 9.0e15)
                .map(|x| x as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn float(fields: &Fields, name: &str) -> Option<f64> {
    match fields.get(name)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok().filter(|x: &f64| x.is_finite()),
        _ => None,
    }
}

fn date(fields: &Fields, name: &str) -> Option<DateTime<Utc>> {
    fields.get(name)?.as_str().and_then(parse_date)
}

fn flag(fields: &Fields, name: &str) -> bool {
    match fields.get(name) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

fn identity(fields: &Fields, name: &str) -> Option<IdentityValue> {
    identity_of(fields.get(name)?)
}

fn unique_name(fields: &Fields, name: &str) -> Option<String> {
    identity(fields, name).and_then(|i| i.unique_name)
}

/// The work item row of a field map. `id` and `rev` are the top-level ones (the field map
/// may lack `System.Id` / `System.Rev`); `relations` give the parent when `System.Parent`
/// is missing.
fn row_from_fields(
    id: i64,
    rev: i64,
    fields: &Fields,
    relations: &[WorkItemRelation],
    raw: &str,
) -> WorkItemRow {
    let assigned = identity(fields, field::ASSIGNED_TO);
    let parent_id = int(fields, field::PARENT).or_else(|| {
        relations
            .iter()
            .find(|r| r.rel == PARENT_RELATION)
            .and_then(WorkItemRelation::work_item_id)
    });
    WorkItemRow {
        id,
        rev: if rev > 0 {
            rev
        } else {
            int(fields, field::REV).unwrap_or(rev)
        },
        project: text(fields, field::TEAM_PROJECT),
        work_item_type: text(fields, field::WORK_ITEM_TYPE),
        title: text(fields, field::TITLE),
        state: text(fields, field::STATE),
        reason: text(fields, field::REASON),
        assigned_to_name: assigned.as_ref().and_then(|a| a.display_name.clone()),
        assigned_to: assigned.and_then(|a| a.unique_name),
        created_by: unique_name(fields, field::CREATED_BY),
        created_date: date(fields, field::CREATED_DATE),
        changed_by: unique_name(fields, field::CHANGED_BY),
        changed_date: date(fields, field::CHANGED_DATE),
        closed_date: date(fields, field::CLOSED_DATE),
        activated_date: date(fields, field::ACTIVATED_DATE),
        resolved_date: date(fields, field::RESOLVED_DATE),
        area_path: text(fields, field::AREA_PATH),
        iteration_path: text(fields, field::ITERATION_PATH),
        priority: int(fields, field::PRIORITY),
        severity: text(fields, field::SEVERITY),
        story_points: float(fields, field::STORY_POINTS),
        effort: float(fields, field::EFFORT),
        remaining_work: float(fields, field::REMAINING_WORK),
        parent_id,
        tags: text(fields, field::TAGS),
        comment_count: int(fields, field::COMMENT_COUNT),
        last_comment_date: None,
        is_deleted: flag(fields, field::IS_DELETED),
        raw: raw.to_string(),
        destroyed_at: None,
    }
}

/// A work item from `workitems` / `workitemsbatch` (the WIQL fallback) → its row.
pub fn work_item_row(item: &WithRaw<WorkItem>) -> WorkItemRow {
    let v = &item.value;
    row_from_fields(v.id, v.rev, &v.fields, &v.relations, item.raw.get())
}

/// A reporting-stream revision → the work item row it describes (the item as of that
/// revision; the store keeps the highest `rev`).
pub fn revision_work_item_row(revision: &WithRaw<WorkItemRevision>) -> WorkItemRow {
    let v = &revision.value;
    row_from_fields(v.id, v.rev, &v.fields, &[], revision.raw.get())
}

/// A reporting-stream revision → its immutable revision row; `fields` is the revision's full
/// field map as JSON text.
pub fn work_item_revision_row(revision: &WithRaw<WorkItemRevision>) -> WorkItemRevisionRow {
    let v = &revision.value;
    let f = &v.fields;
    WorkItemRevisionRow {
        id: v.id,
        rev: if v.rev > 0 {
            v.rev
        } else {
            int(f, field::REV).unwrap_or(v.rev)
        },
        changed_date: date(f, field::CHANGED_DATE),
        changed_by: unique_name(f, field::CHANGED_BY),
        state: text(f, field::STATE),
        assigned_to: unique_name(f, field::ASSIGNED_TO),
        iteration_path: text(f, field::ITERATION_PATH),
        // A map of JSON values with string keys always serializes.
        fields: serde_json::to_string(f).unwrap_or_else(|_| "{}".to_string()),
        field_count: Some(f.len() as i64),
    }
}

/// The current work item rows a page of the reporting stream implies: per id, the revision
/// with the highest `rev` (the last one on ties), sorted by id. The reporting stream carries
/// the full field map (of the requested fields) in every entry, so the newest revision is
/// the item's state as of the page.
pub fn current_work_items(page: &[WithRaw<WorkItemRevision>]) -> Vec<WorkItemRow> {
    let mut newest: BTreeMap<i64, &WithRaw<WorkItemRevision>> = BTreeMap::new();
    for revision in page {
        let entry = newest.entry(revision.value.id).or_insert(revision);
        if revision.value.rev >= entry.value.rev {
            *entry = revision;
        }
    }
    newest.into_values().map(revision_work_item_row).collect()
}

/// Everything a page of the reporting revisions stream writes besides its cursor.
#[derive(Debug, Clone, PartialEq)]
pub struct RevisionPageRows {
    pub work_items: Vec<WorkItemRow>,
    pub revisions: Vec<WorkItemRevisionRow>,
    /// People named by IdentityRef objects (`includeIdentityRef=true`); empty for strings,
    /// which carry no identity id.
    pub identities: Vec<UserRow>,
}

/// Maps one page of the reporting revisions stream.
pub fn revision_page(page: &[WithRaw<WorkItemRevision>]) -> RevisionPageRows {
    RevisionPageRows {
        work_items: current_work_items(page),
        revisions: page.iter().map(work_item_revision_row).collect(),
        identities: identities_of(page.iter().map(|r| &r.value.fields)),
    }
}

/// The identities (with an id) named by the identity fields of some field maps, one row per
/// id (the last seen wins), sorted by id.
pub fn identities_of<'a>(fields: impl IntoIterator<Item = &'a Fields>) -> Vec<UserRow> {
    const IDENTITY_FIELDS: [&str; 3] = [field::ASSIGNED_TO, field::CREATED_BY, field::CHANGED_BY];
    let mut out = BTreeMap::new();
    for f in fields {
        for name in IDENTITY_FIELDS {
            let Some(i) = identity(f, name) else { continue };
            let Some(id) = i.id.clone() else { continue };
            out.insert(
                id.clone(),
                UserRow {
                    id,
                    display_name: i.display_name,
                    unique_name: i.unique_name,
                    descriptor: i.descriptor,
                    is_container: i.is_container,
                },
            );
        }
    }
    out.into_values().collect()
}

/// A link change of the reporting links stream → its row.
pub fn work_item_link_row(link: &WithRaw<ReportingWorkItemLink>) -> WorkItemLinkRow {
    let v = &link.value;
    WorkItemLinkRow {
        source_id: v.source_id,
        target_id: v.target_id,
        rel: v.rel.clone(),
        is_active: v.active(),
        changed_date: v.changed_date,
        raw: link.raw.get().to_string(),
    }
}

/// Flattens a classification tree (iterations or areas, fetched with `$depth`) into one row
/// per node, root first (depth-first, children in ADO's order). Paths are built from the
/// node names in the form work items carry (`Project\Release 1\Sprint 2`): the root's name
/// is the project's.
pub fn classification_rows<K>(
    root: &WithRaw<ClassificationNode>,
    project_id: &str,
) -> Vec<NodeRow<K>> {
    // The raw tree, walked beside the typed one so each row keeps its own node's JSON. It
    // was parsed once already, so this cannot fail; a non-object simply gives `{}` raws.
    let tree: Value = serde_json::from_str(root.raw.get()).unwrap_or(Value::Null);
    let mut rows = Vec::new();
    flatten(&root.value, &tree, project_id, None, 0, &mut rows);
    rows
}

fn flatten<K>(
    node: &ClassificationNode,
    raw: &Value,
    project_id: &str,
    parent_path: Option<&str>,
    depth: i32,
    rows: &mut Vec<NodeRow<K>>,
) {
    let path = match parent_path {
        Some(parent) => format!("{parent}\\{}", node.name),
        None => node.name.clone(),
    };
    let mut own = match raw {
        Value::Object(map) => map.clone(),
        _ => serde_json::Map::new(),
    };
    own.remove("children");
    let attributes = node.attributes.clone().unwrap_or_default();
    rows.push(NodeRow {
        project_id: project_id.to_string(),
        id: node.id,
        identifier: node.identifier.clone(),
        name: node.name.clone(),
        path: path.clone(),
        parent_path: parent_path.map(str::to_string),
        depth,
        start_date: attributes.start_date,
        finish_date: attributes.finish_date,
        raw: Value::Object(own).to_string(),
        kind: std::marker::PhantomData,
    });
    let raw_children = raw.get("children").and_then(Value::as_array);
    for (i, child) in node.children.iter().enumerate() {
        let child_raw = raw_children.and_then(|c| c.get(i)).unwrap_or(&Value::Null);
        flatten(child, child_raw, project_id, Some(&path), depth + 1, rows);
    }
}

/// A type's states → rows, one per name (the last wins), sorted by name. Also for the
/// states of `workitemtypes/{type}/states` when the type list carries none.
pub fn type_state_rows(
    project_id: &str,
    type_name: &str,
    states: &[WorkItemStateColor],
) -> Vec<WorkItemTypeStateRow> {
    let mut out = BTreeMap::new();
    for s in states {
        out.insert(
            s.name.clone(),
            WorkItemTypeStateRow {
                project_id: project_id.to_string(),
                type_name: type_name.to_string(),
                name: s.name.clone(),
                category: s.category.clone(),
                color: s.color.clone(),
            },
        );
    }
    out.into_values().collect()
}

/// The category of each type name: the first category listing it that is not
/// `Microsoft.HiddenCategory`, else the hidden one.
fn categories_by_type(categories: &[WorkItemTypeCategory]) -> BTreeMap<&str, &str> {
    let mut out: BTreeMap<&str, &str> = BTreeMap::new();
    for c in categories {
        for t in &c.work_item_types {
            let slot = out
                .entry(t.name.as_str())
                .or_insert(c.reference_name.as_str());
            if *slot == HIDDEN_CATEGORY {
                *slot = c.reference_name.as_str();
            }
        }
    }
    out
}

/// A project's work item types (with their states) and type categories → rows.
pub fn work_item_type_rows(
    project_id: &str,
    types: &[WithRaw<WorkItemType>],
    categories: &[WorkItemTypeCategory],
) -> (Vec<WorkItemTypeRow>, Vec<WorkItemTypeStateRow>) {
    let category = categories_by_type(categories);
    let mut states = Vec::new();
    let rows = types
        .iter()
        .map(|t| {
            let v = &t.value;
            states.extend(type_state_rows(project_id, &v.name, &v.states));
            WorkItemTypeRow {
                project_id: project_id.to_string(),
                name: v.name.clone(),
                reference_name: v.reference_name.clone(),
                description: v.description.clone(),
                color: v.color.clone(),
                is_disabled: v.is_disabled,
                category: category.get(v.name.as_str()).map(|c| c.to_string()),
                raw: t.raw.get().to_string(),
            }
        })
        .collect();
    (rows, states)
}

/// A field of `GET _apis/wit/fields` → its row.
pub fn work_item_field_row(f: &WithRaw<WorkItemField>) -> WorkItemFieldRow {
    let v = &f.value;
    WorkItemFieldRow {
        reference_name: v.reference_name.clone(),
        name: v.name.clone(),
        field_type: v.field_type.clone(),
        read_only: v.read_only,
        is_identity: v.is_identity,
        raw: f.raw.get().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ado::models::wit::ReportingRevisionsBatch;
    use crate::ado::models::{ListEnvelope, example};
    use serde_json::json;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn page(file: &str) -> ReportingRevisionsBatch {
        serde_json::from_str(&example::body_text(file)).unwrap()
    }

    fn items(file: &str) -> Vec<WithRaw<WorkItem>> {
        let env: ListEnvelope<WithRaw<WorkItem>> =
            serde_json::from_str(&example::body_text(file)).unwrap();
        env.value
    }

    fn revision(value: serde_json::Value) -> WithRaw<WorkItemRevision> {
        serde_json::from_str(&value.to_string()).unwrap()
    }

    #[test]
    fn reporting_revision_maps_every_typed_column() {
        let p = page(
            "wit/workItemRevisions__GET__wit_reporting_workItemRevisions_includeIdentityRef-true_watermark-794.json",
        );
        let row = revision_work_item_row(&p.values[0]);
        assert_eq!((row.id, row.rev), (3, 8));
        assert_eq!(row.project.as_deref(), Some("Fabrikam-Fiber-Git"));
        assert_eq!(row.work_item_type.as_deref(), Some("Product Backlog Item"));
        assert_eq!(
            row.title.as_deref(),
            Some("Technician can submit invoices on Windows Phone")
        );
        assert_eq!(row.state.as_deref(), Some("Done"));
        assert_eq!(row.reason.as_deref(), Some("Work finished"));
        assert_eq!(
            row.created_by.as_deref(),
            Some("fabrikamfiber4@hotmail.com")
        );
        assert_eq!(
            row.changed_by.as_deref(),
            Some("fabrikamfiber16@hotmail.com")
        );
        assert_eq!(row.created_date, Some(at("2014-03-18T17:17:06.857Z")));
        assert_eq!(row.changed_date, Some(at("2015-06-23T18:25:16.137Z")));
        assert_eq!(row.closed_date, Some(at("2014-03-18T17:19:02.093Z")));
        assert_eq!(
            row.iteration_path.as_deref(),
            Some("Fabrikam-Fiber-Git\\Release 1\\Sprint 1")
        );
        assert_eq!(row.area_path.as_deref(), Some("Fabrikam-Fiber-Git"));
        assert_eq!(row.priority, Some(3));
        assert_eq!((row.assigned_to, row.assigned_to_name), (None, None));
        assert!(!row.is_deleted);
        let raw: serde_json::Value = serde_json::from_str(&row.raw).unwrap();
        assert_eq!(raw["fields"]["System.Rev"], 8);
    }

    #[test]
    fn identities_are_the_same_from_strings_and_identity_refs() {
        let strings = page("wit/workItemRevisions__GET__wit_reporting_workItemRevisions.json");
        let refs = page(
            "wit/workItemRevisions__GET__wit_reporting_workItemRevisions_includeIdentityRef-true_watermark-794.json",
        );
        let s = revision_work_item_row(&strings.values[0]);
        let r = revision_work_item_row(&refs.values[1]);
        assert_eq!(s.created_by.as_deref(), Some("fabrikamfiber4@hotmail.com"));
        assert_eq!(s.created_by, r.created_by);
        assert_eq!(s.changed_by, r.changed_by);
    }

    #[test]
    fn work_items_batch_maps_assignee_tags_remaining_work_and_parent() {
        let page = items("wit/workItems__GET__wit_WorkItems_ids-_ids___expand-all.json");
        let row = work_item_row(&page[1]);
        assert_eq!((row.id, row.rev), (299, 7));
        assert_eq!(
            row.assigned_to.as_deref(),
            Some("fabrikamfiber2@hotmail.com")
        );
        assert_eq!(row.assigned_to_name.as_deref(), Some("Johnnie McLeod"));
        assert_eq!(
            row.created_by.as_deref(),
            Some("fabrikamfiber4@hotmail.com")
        );
        assert_eq!(row.tags.as_deref(), Some("Tag1; Tag2"));
        assert_eq!(row.remaining_work, Some(4.0));
        assert_eq!(
            row.parent_id,
            Some(297),
            "from the Hierarchy-Reverse relation"
        );
        assert_eq!(
            row.area_path.as_deref(),
            Some("Fabrikam-Fiber-Git\\Website")
        );
    }

    #[test]
    fn single_work_item_maps_identity_ref_assignee_and_activated_date() {
        let item: WithRaw<WorkItem> = serde_json::from_str(&example::body_text(
            "wit/workItems__GET__wit_WorkItems_id.json",
        ))
        .unwrap();
        let row = work_item_row(&item);
        assert_eq!(
            row.assigned_to.as_deref(),
            Some("fabrikamfiber4@hotmail.com")
        );
        assert_eq!(row.assigned_to_name.as_deref(), Some("Jamal Hartnett"));
        assert_eq!(row.activated_date, Some(at("2017-10-04T23:32:01.6Z")));
        assert_eq!(row.priority, Some(2));
        assert_eq!(row.parent_id, None);
    }

    #[test]
    fn lenient_values_and_deletion_flag() {
        let r = revision(json!({"id": 5, "rev": 4, "fields": {
            "System.Parent": 2,
            "Microsoft.VSTS.Common.Priority": "1",
            "Microsoft.VSTS.Common.Severity": "2 - High",
            "Microsoft.VSTS.Scheduling.StoryPoints": 5.5,
            "Microsoft.VSTS.Scheduling.Effort": "8",
            "Microsoft.VSTS.Common.ResolvedDate": "2024-01-02T03:04:05.1234567Z",
            "Microsoft.VSTS.Common.ClosedDate": "0001-01-01T00:00:00",
            "System.ChangedDate": "2024-01-03T00:00:00",
            "System.CommentCount": 3,
            "System.IsDeleted": true
        }}));
        let row = revision_work_item_row(&r);
        assert_eq!(row.parent_id, Some(2));
        assert_eq!(row.priority, Some(1));
        assert_eq!(row.severity.as_deref(), Some("2 - High"));
        assert_eq!((row.story_points, row.effort), (Some(5.5), Some(8.0)));
        assert_eq!(
            row.resolved_date.map(|d| d.timestamp_subsec_nanos()),
            Some(123_456_700)
        );
        assert_eq!(row.closed_date, None, ".NET MinValue is unset");
        assert_eq!(row.changed_date, Some(at("2024-01-03T00:00:00Z")));
        assert_eq!(row.comment_count, Some(3));
        assert!(row.is_deleted);
    }

    #[test]
    fn revision_row_keeps_the_full_field_map() {
        let p = page("wit/workItemRevisions__GET__wit_reporting_workItemRevisions.json");
        let row = work_item_revision_row(&p.values[0]);
        assert_eq!((row.id, row.rev), (1, 1));
        assert_eq!(row.state.as_deref(), Some("New"));
        assert_eq!(
            row.changed_by.as_deref(),
            Some("fabrikamfiber4@hotmail.com")
        );
        assert_eq!(row.changed_date, Some(at("2014-03-18T17:16:56.25Z")));
        assert_eq!(row.iteration_path.as_deref(), Some("Fabrikam-Fiber-Git"));
        let fields: serde_json::Value = serde_json::from_str(&row.fields).unwrap();
        assert_eq!(
            fields,
            serde_json::Value::Object(p.values[0].value.fields.clone())
        );
    }

    #[test]
    fn current_work_items_take_the_newest_revision_per_id() {
        let page = vec![
            revision(json!({"id": 2, "rev": 1, "fields": {"System.State": "New"}})),
            revision(json!({"id": 1, "rev": 1, "fields": {"System.State": "New"}})),
            revision(json!({"id": 2, "rev": 3, "fields": {"System.State": "Done"}})),
            revision(json!({"id": 2, "rev": 2, "fields": {"System.State": "Active"}})),
        ];
        let rows = revision_page(&page);
        let current: Vec<_> = rows
            .work_items
            .iter()
            .map(|r| (r.id, r.rev, r.state.clone().unwrap_or_default()))
            .collect();
        assert_eq!(
            current,
            vec![(1, 1, "New".to_string()), (2, 3, "Done".to_string())]
        );
        assert_eq!(rows.revisions.len(), 4);
        assert!(rows.identities.is_empty());
    }

    #[test]
    fn identity_refs_become_identity_rows() {
        let p = page(
            "wit/workItemRevisions__GET__wit_reporting_workItemRevisions_includeIdentityRef-true_watermark-794.json",
        );
        let ids = revision_page(&p.values).identities;
        let got: Vec<_> = ids
            .iter()
            .map(|i| {
                (
                    i.id.as_str(),
                    i.unique_name.as_deref(),
                    i.display_name.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "d291b0c4-a05c-4ea6-8df1-4b41d5f39eff",
                    Some("fabrikamfiber4@hotmail.com"),
                    Some("Jamal Hartnett")
                ),
                (
                    "d6245f20-2af8-44f4-9451-8107cb2767db",
                    Some("fabrikamfiber16@hotmail.com"),
                    Some("Normal Paulk")
                ),
            ]
        );
    }

    #[test]
    fn links_map_from_the_reporting_stream() {
        let p: crate::ado::models::wit::ReportingLinksBatch = serde_json::from_str(
            &example::body_text("wit/workItemLinks__GET__wit_reporting_workItemLinks_50.json"),
        )
        .unwrap();
        let rows: Vec<_> = p.values.iter().map(work_item_link_row).collect();
        assert_eq!(rows[0].source_id, 7);
        assert_eq!(rows[0].target_id, 8);
        assert_eq!(rows[0].rel, "System.LinkTypes.Hierarchy");
        assert!(rows.iter().all(|r| r.is_active && r.changed_date.is_some()));
        let raw: serde_json::Value = serde_json::from_str(&rows[0].raw).unwrap();
        assert_eq!(raw["sourceId"], 7);
    }

    #[test]
    fn iterations_flatten_with_work_item_paths_and_dates() {
        let root: WithRaw<ClassificationNode> = serde_json::from_str(&example::body_text(
            "wit/classificationNodes__GET__wit_classificationNodes_iterations__depth-2.json",
        ))
        .unwrap();
        let rows: Vec<crate::store::IterationRow> = classification_rows(&root, "p1");
        assert!(rows.iter().all(|r| r.project_id == "p1"));
        assert_eq!(rows[0].path, "Fabrikam-Fiber-Git");
        assert_eq!((rows[0].depth, rows[0].parent_path.as_deref()), (0, None));
        let sprint2 = rows.iter().find(|r| r.name == "Sprint 2").unwrap();
        assert_eq!(sprint2.path, "Fabrikam-Fiber-Git\\Release 1\\Sprint 2");
        assert_eq!(
            sprint2.parent_path.as_deref(),
            Some("Fabrikam-Fiber-Git\\Release 1")
        );
        assert_eq!(sprint2.depth, 2);
        assert_eq!(sprint2.start_date, Some(at("2014-03-17T00:00:00Z")));
        assert_eq!(sprint2.finish_date, Some(at("2014-03-28T00:00:00Z")));
        // Each row's raw is its own node, without children.
        for row in &rows {
            let raw: serde_json::Value = serde_json::from_str(&row.raw).unwrap();
            assert_eq!(raw["id"], row.id);
            assert!(raw.get("children").is_none());
        }
        let ids: std::collections::HashSet<_> = rows.iter().map(|r| r.id).collect();
        assert_eq!(ids.len(), rows.len());
        assert!(rows.len() > 5);
    }

    #[test]
    fn areas_flatten_without_dates() {
        let root: WithRaw<ClassificationNode> = serde_json::from_str(&example::body_text(
            "wit/classificationNodes__GET__wit_classificationNodes_areas__depth-2.json",
        ))
        .unwrap();
        let rows: Vec<crate::store::AreaRow> = classification_rows(&root, "p1");
        assert!(rows.len() > 1);
        assert!(rows.iter().all(|r| r.start_date.is_none()));
        assert!(
            rows.iter()
                .skip(1)
                .all(|r| r.path.starts_with("Fabrikam-Fiber-Git\\") && r.depth >= 1)
        );
    }

    #[test]
    fn work_item_types_get_their_category_and_states() {
        let types: ListEnvelope<WithRaw<WorkItemType>> = serde_json::from_str(&example::body_text(
            "wit/workItemTypes__GET__wit_workItemTypes.json",
        ))
        .unwrap();
        let cats: ListEnvelope<WorkItemTypeCategory> = serde_json::from_value(example::body(
            "wit/workItemTypeCategories__GET__wit_workItemTypeCategories.json",
        ))
        .unwrap();
        let (rows, states) = work_item_type_rows("p1", &types.value, &cats.value);
        assert!(rows.iter().all(|r| r.project_id == "p1"));
        assert!(
            states
                .iter()
                .all(|s| rows.iter().any(|r| r.name == s.type_name))
        );
        let category = |name: &str| {
            rows.iter()
                .find(|r| r.name == name)
                .and_then(|r| r.category.clone())
        };
        assert_eq!(category("Bug").as_deref(), Some("Microsoft.BugCategory"));
        assert_eq!(
            category("Shared Steps").as_deref(),
            Some("Microsoft.SharedStepCategory"),
            "the hidden category yields to the real one"
        );
        assert_eq!(
            category("User Story"),
            None,
            "in no category of this recording"
        );
        assert_eq!(
            rows[0].reference_name.as_deref(),
            Some("Microsoft.VSTS.WorkItemTypes.Bug")
        );

        let states: ListEnvelope<WorkItemStateColor> = serde_json::from_value(example::body(
            "wit/workItemTypeStates__GET__workitem_type_states.json",
        ))
        .unwrap();
        let rows = type_state_rows("p1", "Bug", &states.value);
        assert_eq!(rows.len(), 5);
        let closed = rows.iter().find(|s| s.name == "Closed").unwrap();
        assert_eq!(closed.category.as_deref(), Some("Completed"));
        assert_eq!(closed.color.as_deref(), Some("339933"));
    }

    #[test]
    fn fields_map() {
        let fields: ListEnvelope<WithRaw<WorkItemField>> =
            serde_json::from_str(&example::body_text("wit/fields__GET__wit_fields.json")).unwrap();
        let rows: Vec<_> = fields.value.iter().map(work_item_field_row).collect();
        let assigned = rows
            .iter()
            .find(|r| r.reference_name == field::ASSIGNED_TO)
            .unwrap();
        assert!(assigned.is_identity);
        assert!(rows.iter().all(|r| r.field_type.is_some()));
    }
}
