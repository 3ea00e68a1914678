//! Work item tracking area: the reporting revision and link streams, work items by id and the
//! recycle bin (for the reconciliation of deletions), classification nodes (iterations,
//! areas) and the process (work item types with their states, type categories, fields).
//!
//! A work item's `fields` stay a JSON map: the field set is per organization and per board
//! (`WEF_<guid>_Kanban.Column`, API_FACTS §7), so the typed columns are read from it by
//! reference name in `connectors::map::wit`. Identity fields arrive either as
//! `"Display Name <email>"` strings (the reporting default) or as `IdentityRef` objects
//! (`includeIdentityRef=true`, `workitems`), see [`identity_of`].

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::{WithRaw, lenient_date};

/// A work item's field map, keyed by field reference name (`System.State`).
pub type Fields = Map<String, Value>;

/// The `StreamedBatch` envelope of the reporting endpoints (API_FACTS §1.6):
/// `{values, continuationToken, isLastBatch, nextLink}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: DeserializeOwned"))]
pub struct StreamedBatch<T> {
    #[serde(default = "Vec::new")]
    pub values: Vec<T>,
    #[serde(default)]
    pub continuation_token: Option<String>,
    #[serde(default)]
    pub is_last_batch: bool,
    #[serde(default)]
    pub next_link: Option<String>,
}

impl<T> StreamedBatch<T> {
    /// The token that resumes the stream after this batch: `continuationToken`, or the
    /// `continuationToken` query parameter of `nextLink` (some recordings carry only the
    /// link). This is the cursor persisted after the page is committed.
    pub fn continuation(&self) -> Option<String> {
        if let Some(token) = self.continuation_token.as_deref().filter(|t| !t.is_empty()) {
            return Some(token.to_string());
        }
        let link = url::Url::parse(self.next_link.as_deref()?).ok()?;
        link.query_pairs()
            .find(|(k, _)| k.eq_ignore_ascii_case("continuationToken"))
            .map(|(_, v)| v.into_owned())
            .filter(|t| !t.is_empty())
    }
}

/// One page of `GET|POST {project}/_apis/wit/reporting/workitemrevisions`.
pub type ReportingRevisionsBatch = StreamedBatch<WithRaw<WorkItemRevision>>;

/// One page of `GET {project}/_apis/wit/reporting/workitemlinks`.
pub type ReportingLinksBatch = StreamedBatch<WithRaw<ReportingWorkItemLink>>;

/// One revision as the reporting stream returns it: the full field map (of the requested
/// fields) as of that revision.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WorkItemRevision {
    pub id: i64,
    pub rev: i64,
    #[serde(default)]
    pub fields: Fields,
}

/// A link change of the reporting links stream (`ReportingWorkItemLink`): a link that was
/// created (`isActive: true`) or removed (`isActive: false`) at `changedDate`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReportingWorkItemLink {
    pub rel: String,
    pub source_id: i64,
    pub target_id: i64,
    #[serde(default, deserialize_with = "lenient_date")]
    pub changed_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub is_active: Option<bool>,
    /// `create` or `remove` in newer versions.
    #[serde(default)]
    pub changed_operation: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
}

impl ReportingWorkItemLink {
    /// Whether the link exists after this change: `isActive`, else not a `remove` operation.
    pub fn active(&self) -> bool {
        self.is_active.unwrap_or_else(|| {
            !self
                .changed_operation
                .as_deref()
                .is_some_and(|op| op.eq_ignore_ascii_case("remove"))
        })
    }
}

/// A work item as `workitems?ids=`, `workitems/{id}`, `workitemsbatch` and the per-item
/// `revisions` endpoint return it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WorkItem {
    pub id: i64,
    #[serde(default)]
    pub rev: i64,
    #[serde(default)]
    pub fields: Fields,
    /// Present with `$expand=relations|all`.
    #[serde(default)]
    pub relations: Vec<WorkItemRelation>,
    #[serde(default)]
    pub url: Option<String>,
}

/// A relation of a work item (`$expand=relations`): a link to another work item, or an
/// artifact link / hyperlink.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WorkItemRelation {
    pub rel: String,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub attributes: Map<String, Value>,
}

impl WorkItemRelation {
    /// The id of the related work item when the relation points at one
    /// (`…/_apis/wit/workItems/{id}`); `None` for hyperlinks and artifact links.
    pub fn work_item_id(&self) -> Option<i64> {
        let url = self.url.as_deref()?;
        let (head, id) = url.trim_end_matches('/').rsplit_once('/')?;
        if !head.to_ascii_lowercase().ends_with("/_apis/wit/workitems") {
            return None;
        }
        id.parse().ok()
    }
}

/// The body of `POST _apis/wit/workitemsbatch` with `errorPolicy: omit`: unknown, deleted
/// and forbidden ids come back as `null` (API_FACTS §1.5).
pub type WorkItemsBatch = super::ListEnvelope<Option<WithRaw<WorkItem>>>;

/// An entry of `GET {project}/_apis/wit/recyclebin` (`WorkItemDeleteReference`): a work item
/// in the recycle bin. The list may hold only `{id, url}`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WorkItemDeleteReference {
    pub id: i64,
    #[serde(default, deserialize_with = "lenient_date")]
    pub deleted_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub project: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// `WorkItemClassificationNode`: an iteration or area with `$depth` levels of children.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ClassificationNode {
    pub id: i64,
    #[serde(default)]
    pub identifier: Option<String>,
    pub name: String,
    /// `iteration` or `area`.
    #[serde(default)]
    pub structure_type: Option<String>,
    #[serde(default)]
    pub has_children: bool,
    /// ADO's classification path, `\Project\Iteration\Release 1` (not the form work items
    /// carry in `System.IterationPath`, which has no structure segment).
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub attributes: Option<NodeAttributes>,
    #[serde(default)]
    pub children: Vec<ClassificationNode>,
}

/// The attributes of an iteration node: its dates (absent on areas and undated iterations).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NodeAttributes {
    #[serde(default, deserialize_with = "lenient_date")]
    pub start_date: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_date")]
    pub finish_date: Option<DateTime<Utc>>,
}

/// `WorkItemType` of `GET {project}/_apis/wit/workitemtypes`, with its states.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WorkItemType {
    pub name: String,
    #[serde(default)]
    pub reference_name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub color: Option<String>,
    #[serde(default)]
    pub is_disabled: bool,
    #[serde(default)]
    pub states: Vec<WorkItemStateColor>,
}

/// A state of a work item type (`WorkItemStateColor`): also the item of
/// `GET {project}/_apis/wit/workitemtypes/{type}/states`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WorkItemStateColor {
    pub name: String,
    #[serde(default)]
    pub color: Option<String>,
    /// `Proposed`, `InProgress`, `Resolved`, `Completed`, `Removed`.
    #[serde(default)]
    pub category: Option<String>,
}

/// A name reference to a work item type.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WorkItemTypeReference {
    pub name: String,
}

/// `WorkItemTypeCategory` (`Microsoft.RequirementCategory` → `Product Backlog Item`, …).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WorkItemTypeCategory {
    pub name: String,
    pub reference_name: String,
    #[serde(default)]
    pub default_work_item_type: Option<WorkItemTypeReference>,
    #[serde(default)]
    pub work_item_types: Vec<WorkItemTypeReference>,
}

/// `WorkItemField` of `GET _apis/wit/fields`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WorkItemField {
    pub reference_name: String,
    pub name: String,
    /// `string`, `integer`, `dateTime`, `treePath`, `identity`, …
    #[serde(default, rename = "type")]
    pub field_type: Option<String>,
    #[serde(default)]
    pub usage: Option<String>,
    #[serde(default)]
    pub read_only: bool,
    #[serde(default)]
    pub is_identity: bool,
    #[serde(default)]
    pub is_picklist: bool,
    #[serde(default)]
    pub is_deleted: bool,
    #[serde(default)]
    pub description: Option<String>,
}

/// An identity field value, whichever way it arrived.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentityValue {
    /// The unique name: the e-mail (Services) or `DOMAIN\user` (Server).
    pub unique_name: Option<String>,
    pub display_name: Option<String>,
    /// The identity id (VSID), only in IdentityRef objects.
    pub id: Option<String>,
    pub descriptor: Option<String>,
    pub is_container: bool,
}

/// Splits `"Display Name <unique@name>"` into its two parts; `None` when `text` is not of that
/// form.
fn split_identity(text: &str) -> Option<(&str, &str)> {
    let text = text.trim();
    let inner = text.strip_suffix('>')?;
    let open = inner.rfind('<')?;
    let name = inner[..open].trim();
    let unique = inner[open + 1..].trim();
    (!unique.is_empty()).then_some((name, unique))
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Reads an identity field. A string is `"Display Name <unique name>"` (the reporting stream's
/// default, API_FACTS §7) or a bare name; an object is an `IdentityRef`, whose `uniqueName`
/// may itself be `"Name <email>"` (the `includeIdentityRef=true` recording). Both normalize to
/// the same value. `None` for anything else (null, numbers, empty strings).
pub fn identity_of(value: &Value) -> Option<IdentityValue> {
    match value {
        Value::String(text) => {
            if let Some((name, unique)) = split_identity(text) {
                Some(IdentityValue {
                    unique_name: Some(unique.to_string()),
                    display_name: non_empty(Some(name)).or_else(|| Some(unique.to_string())),
                    ..IdentityValue::default()
                })
            } else {
                let bare = non_empty(Some(text))?;
                Some(IdentityValue {
                    unique_name: Some(bare.clone()),
                    display_name: Some(bare),
                    ..IdentityValue::default()
                })
            }
        }
        Value::Object(map) => {
            let text = |key: &str| non_empty(map.get(key).and_then(Value::as_str));
            let mut display_name = text("displayName");
            let mut unique_name = text("uniqueName");
            if let Some((name, unique)) = unique_name.as_deref().and_then(split_identity) {
                if display_name.is_none() {
                    display_name = non_empty(Some(name));
                }
                unique_name = Some(unique.to_string());
            }
            let id = text("id");
            if unique_name.is_none() && display_name.is_none() && id.is_none() {
                return None;
            }
            Some(IdentityValue {
                unique_name: unique_name.or_else(|| display_name.clone()),
                display_name: display_name.or_else(|| unique_name_fallback(map)),
                id,
                descriptor: text("descriptor"),
                is_container: map
                    .get("isContainer")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            })
        }
        _ => None,
    }
}

/// The display name of an IdentityRef that has none: its unique name.
fn unique_name_fallback(map: &Map<String, Value>) -> Option<String> {
    let unique = non_empty(map.get("uniqueName").and_then(Value::as_str))?;
    Some(match split_identity(&unique) {
        Some((_, u)) => u.to_string(),
        None => unique,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ado::models::{ListEnvelope, example};
    use serde_json::json;

    fn list<T: DeserializeOwned>(file: &str) -> Vec<WithRaw<T>> {
        let env: ListEnvelope<WithRaw<T>> =
            serde_json::from_str(&example::body_text(file)).unwrap();
        assert!(!env.value.is_empty(), "{file} has items");
        if let Some(count) = env.count {
            assert_eq!(count, env.value.len() as u64, "{file}");
        }
        env.value
    }

    fn single<T: DeserializeOwned>(file: &str) -> T {
        serde_json::from_value(example::body(file)).unwrap()
    }

    fn revisions(file: &str) -> ReportingRevisionsBatch {
        serde_json::from_str(&example::body_text(file)).unwrap()
    }

    #[test]
    fn example_reporting_revisions() {
        let page = revisions("wit/workItemRevisions__GET__wit_reporting_workItemRevisions.json");
        assert_eq!(page.values.len(), 3);
        assert!(page.is_last_batch);
        // This recording has no continuationToken: the cursor comes from nextLink.
        assert_eq!(page.continuation_token, None);
        assert_eq!(page.continuation().as_deref(), Some("3;2;1"));
        let first = &page.values[0].value;
        assert_eq!((first.id, first.rev), (1, 1));
        assert_eq!(first.fields["System.State"], "New");
        assert!(page.values[0].raw.get().contains("\"System.Title\""));
    }

    #[test]
    fn example_reporting_revisions_with_identity_refs() {
        let page = revisions(
            "wit/workItemRevisions__GET__wit_reporting_workItemRevisions_includeIdentityRef-true_watermark-794.json",
        );
        assert_eq!(page.continuation().as_deref(), Some("813;350;1"));
        assert_eq!(page.values.len(), 2);
        let by = identity_of(&page.values[0].value.fields["System.ChangedBy"]).unwrap();
        assert_eq!(
            by.unique_name.as_deref(),
            Some("fabrikamfiber16@hotmail.com")
        );
        assert_eq!(by.display_name.as_deref(), Some("Normal Paulk"));
        assert_eq!(
            by.id.as_deref(),
            Some("d6245f20-2af8-44f4-9451-8107cb2767db")
        );
    }

    #[test]
    fn example_reporting_revisions_post() {
        let page = revisions(
            "wit/workItemRevisions__POST__wit_reporting_workItemRevisions_watermark-794.json",
        );
        assert_eq!(page.continuation().as_deref(), Some("842;5;3"));
        assert_eq!(
            page.values[0].value.fields.len(),
            3,
            "only the requested fields"
        );
    }

    #[test]
    fn example_reporting_links() {
        let page: ReportingLinksBatch = serde_json::from_str(&example::body_text(
            "wit/workItemLinks__GET__wit_reporting_workItemLinks_50.json",
        ))
        .unwrap();
        assert_eq!(page.continuation().as_deref(), Some("6281123"));
        assert_eq!(page.values.len(), 3);
        let l = &page.values[0].value;
        assert_eq!(
            (l.rel.as_str(), l.source_id, l.target_id),
            ("System.LinkTypes.Hierarchy", 7, 8)
        );
        assert!(l.active());
        assert!(l.changed_date.is_some());
    }

    #[test]
    fn link_activity_falls_back_to_the_operation() {
        let l: ReportingWorkItemLink = serde_json::from_value(json!({
            "rel": "System.LinkTypes.Related", "sourceId": 1, "targetId": 2,
            "changedOperation": "remove"
        }))
        .unwrap();
        assert!(!l.active());
        assert_eq!(l.changed_date, None);
    }

    #[test]
    fn example_work_items_by_ids() {
        for file in [
            "wit/workItems__GET__wit_WorkItems_ids-_ids_.json",
            "wit/workItems__GET__wit_WorkItems_ids-_ids__fields-_columns_.json",
            "wit/workItems__GET__wit_WorkItems_ids-_ids__fields-_columns__asOf-_asof_.json",
            "wit/workItemsBatch__POST__wit_WorkItemsBatch_ids-_ids__fields-_columns_.json",
            "wit/v5.0__wiql__GET__wit_get_data_workitems.json",
            "wit/revisions__GET__list_workitem_revisions.json",
            "wit/revisions__GET__list_workitem_revisions_paged.json",
        ] {
            let items: Vec<WithRaw<WorkItem>> = list(file);
            assert!(
                items.iter().all(|i| i.value.id > 0 && i.value.rev > 0),
                "{file}"
            );
        }
    }

    #[test]
    fn example_work_items_expanded_relations() {
        let items: Vec<WithRaw<WorkItem>> =
            list("wit/workItems__GET__wit_WorkItems_ids-_ids___expand-all.json");
        let item = &items[1].value;
        assert_eq!(item.id, 299);
        let related: Vec<_> = item
            .relations
            .iter()
            .map(|r| (r.rel.as_str(), r.work_item_id()))
            .collect();
        assert_eq!(
            related,
            vec![
                ("System.LinkTypes.Hierarchy-Reverse", Some(297)),
                ("System.LinkTypes.Related", Some(300)),
                ("Hyperlink", None),
            ]
        );
    }

    #[test]
    fn example_single_work_item_and_revision() {
        for file in [
            "wit/workItems__GET__wit_WorkItems_id.json",
            "wit/revisions__GET__workitem_revision.json",
        ] {
            let item: WorkItem = single(file);
            assert!(item.fields.contains_key("System.State"), "{file}");
        }
    }

    #[test]
    fn work_items_batch_with_omitted_ids() {
        let body = json!({"count": 3, "value": [
            {"id": 1, "rev": 2, "fields": {"System.Title": "a"}},
            null,
            {"id": 3, "rev": 1, "fields": {}}
        ]})
        .to_string();
        let page: WorkItemsBatch = serde_json::from_str(&body).unwrap();
        let ids: Vec<Option<i64>> = page
            .value
            .iter()
            .map(|i| i.as_ref().map(|i| i.value.id))
            .collect();
        assert_eq!(ids, vec![Some(1), None, Some(3)]);
        assert_eq!(
            page.value[0].as_ref().unwrap().raw.get(),
            r#"{"fields":{"System.Title":"a"},"id":1,"rev":2}"#
        );
    }

    #[test]
    fn example_classification_nodes() {
        let root: ClassificationNode = single(
            "wit/classificationNodes__GET__wit_classificationNodes_iterations__depth-2.json",
        );
        assert_eq!(root.name, "Fabrikam-Fiber-Git");
        assert!(root.has_children && !root.children.is_empty());
        let release1 = root
            .children
            .iter()
            .find(|c| c.name == "Release 1")
            .unwrap();
        let sprint2 = release1
            .children
            .iter()
            .find(|c| c.name == "Sprint 2")
            .unwrap();
        let dates = sprint2.attributes.clone().unwrap_or_default();
        assert!(dates.start_date.is_some() && dates.finish_date.is_some());
        // Some nodes of the recording have no path.
        assert!(release1.children.iter().any(|c| c.path.is_none()));

        for file in [
            "wit/classificationNodes__GET__wit_classificationNodes_areas.json",
            "wit/classificationNodes__GET__wit_classificationNodes_areas__depth-2.json",
            "wit/classificationNodes__GET__wit_classificationNodes_iterations.json",
            "wit/classificationNodes__GET__wit_classificationNodes_iterations__iterationPath_.json",
        ] {
            let node: ClassificationNode = single(file);
            assert!(node.id > 0 && node.structure_type.is_some(), "{file}");
        }
        let nodes: Vec<WithRaw<ClassificationNode>> =
            list("wit/classificationNodes__GET__wit_classificationNodes_From_Ids.json");
        assert_eq!(nodes.len(), 2);
        // With errorPolicy=omit an unknown id is a null entry.
        let omitted: ListEnvelope<Option<WithRaw<ClassificationNode>>> =
            serde_json::from_str(&example::body_text(
                "wit/classificationNodes__GET__wit_classificationNodes_From_Ids_ErrorPolicy.json",
            ))
            .unwrap();
        assert_eq!(
            omitted
                .value
                .iter()
                .map(Option::is_some)
                .collect::<Vec<_>>(),
            vec![true, false]
        );
    }

    #[test]
    fn example_work_item_types() {
        let types: Vec<WithRaw<WorkItemType>> =
            list("wit/workItemTypes__GET__wit_workItemTypes.json");
        assert_eq!(types.len(), 15);
        let bug = &types[0].value;
        assert_eq!(
            bug.reference_name.as_deref(),
            Some("Microsoft.VSTS.WorkItemTypes.Bug")
        );
        // This old recording predates `states` on the type; current ADO sends them, and
        // `workitemtypes/{type}/states` (below) is the fallback.
        assert!(types.iter().all(|t| t.value.states.is_empty()));
        let one: WorkItemType = single("wit/workItemTypes__GET__wit_workItemTypes_Bug.json");
        assert_eq!(one.name, "Bug");
        let states: Vec<WithRaw<WorkItemStateColor>> =
            list("wit/workItemTypeStates__GET__workitem_type_states.json");
        assert_eq!(states[2].value.name, "CustomState");
        assert!(
            states
                .iter()
                .all(|s| s.value.category.is_some() && s.value.color.is_some())
        );
        let with_states: WorkItemType = serde_json::from_value(json!({
            "name": "Bug", "states": [{"name": "New", "color": "b2b2b2", "category": "Proposed"}]
        }))
        .unwrap();
        assert_eq!(with_states.states[0].category.as_deref(), Some("Proposed"));
    }

    #[test]
    fn example_work_item_type_categories() {
        let cats: Vec<WithRaw<WorkItemTypeCategory>> =
            list("wit/workItemTypeCategories__GET__wit_workItemTypeCategories.json");
        assert!(
            cats.iter()
                .any(|c| c.value.reference_name == "Microsoft.HiddenCategory"
                    && c.value.work_item_types.len() > 1)
        );
        let one: WorkItemTypeCategory = single(
            "wit/workItemTypeCategories__GET__wit_workItemTypeCategories__categoryName_.json",
        );
        assert_eq!(one.reference_name, "Microsoft.RequirementCategory");
        assert_eq!(
            one.default_work_item_type.map(|t| t.name).as_deref(),
            Some("Product Backlog Item")
        );
    }

    #[test]
    fn example_fields() {
        let fields: Vec<WithRaw<WorkItemField>> = list("wit/fields__GET__wit_fields.json");
        assert_eq!(fields.len(), 121);
        assert!(fields.iter().any(|f| f.value.is_identity));
        let one: WorkItemField = single("wit/fields__GET__wit_fields__fieldName_.json");
        assert_eq!(
            (one.reference_name.as_str(), one.field_type.as_deref()),
            ("System.IterationPath", Some("treePath"))
        );
    }

    #[test]
    fn recycle_bin_entries_may_be_bare() {
        let e: ListEnvelope<WorkItemDeleteReference> = serde_json::from_value(json!({
            "count": 2,
            "value": [
                {"id": 5, "url": "https://x/_apis/wit/recycleBin/5"},
                {"id": 6, "deletedDate": "2024-01-02T03:04:05.1234567Z", "project": "P", "name": "t"}
            ]
        }))
        .unwrap();
        assert_eq!(e.value[0].deleted_date, None);
        assert!(e.value[1].deleted_date.is_some());
    }

    #[test]
    fn identities_normalize_from_strings_and_objects() {
        let s = identity_of(&json!("Jamal Hartnett <fabrikamfiber4@hotmail.com>")).unwrap();
        assert_eq!(s.unique_name.as_deref(), Some("fabrikamfiber4@hotmail.com"));
        assert_eq!(s.display_name.as_deref(), Some("Jamal Hartnett"));
        let o = identity_of(&json!({
            "displayName": "Jamal Hartnett", "uniqueName": "fabrikamfiber4@hotmail.com",
            "id": "d291b0c4", "descriptor": "aad.x"
        }))
        .unwrap();
        assert_eq!(
            (o.unique_name, o.display_name),
            (s.unique_name.clone(), s.display_name.clone())
        );
        assert_eq!(o.id.as_deref(), Some("d291b0c4"));
        // includeIdentityRef=true recording: no displayName, uniqueName in "Name <email>" form.
        let r = identity_of(
            &json!({"id": "d2", "uniqueName": "Jamal Hartnett <fabrikamfiber4@hotmail.com>"}),
        )
        .unwrap();
        assert_eq!(
            (r.unique_name, r.display_name),
            (s.unique_name, s.display_name)
        );
        // A bare name (a service account, a group).
        let b = identity_of(&json!("Project Collection Build Service")).unwrap();
        assert_eq!(
            b.unique_name.as_deref(),
            Some("Project Collection Build Service")
        );
        assert_eq!(b.display_name, b.unique_name);
        let g = identity_of(&json!({"id": "g1", "uniqueName": "[P]\\Team", "isContainer": true}))
            .unwrap();
        assert!(g.is_container);
        assert_eq!(g.display_name.as_deref(), Some("[P]\\Team"));
        assert_eq!(identity_of(&json!("")), None);
        assert_eq!(identity_of(&json!(null)), None);
        assert_eq!(identity_of(&json!(3)), None);
        assert_eq!(identity_of(&json!({})), None);
    }
}
