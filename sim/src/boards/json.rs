//! The JSON shapes of the Boards endpoints: work items, revisions, reporting batches, links,
//! classification nodes, teams, graph users, the process and comments.
//!
//! Shapes follow the recorded examples in `ado-api/examples/wit/`, `core/` and `graph/`.
//! Identity-valued fields have two forms (API_FACTS §7): the reporting stream prints
//! `"Display Name <email>"` strings unless `includeIdentityRef=true`; the workitems endpoints
//! print IdentityRef objects `{displayName, url, _links.avatar, id, uniqueName, imageUrl,
//! descriptor}` (`workItems__GET__wit_WorkItems_ids-_ids_.json`). Both go through
//! [`FieldMap`], the one field-map serializer, so the endpoints and the ground truth cannot
//! drift apart. Nothing here builds a `serde_json::Value`.

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq};

use super::process::{FieldId, Kind, State, TYPES, f};
use super::{Boards, LinkEvent, Node, Team, Tree, Val, WorkItem};
use crate::json::{Ts, descriptor};
use crate::model::{Identity, Org, Project};

/// What every serializer needs: where URLs point and the org.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub base: &'a str,
    pub org: &'a Org,
}

impl<'a> Ctx<'a> {
    fn b(&self) -> &'a Boards {
        &self.org.boards
    }
}

/// Percent-encodes one URL path segment.
pub(crate) fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Serialize)]
struct Href {
    href: String,
}

#[derive(Serialize)]
struct AvatarLinks {
    avatar: Href,
}

/// An IdentityRef as work item fields and comments carry it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WitIdentity<'a> {
    display_name: &'a str,
    url: String,
    #[serde(rename = "_links")]
    links: AvatarLinks,
    id: &'a str,
    unique_name: &'a str,
    image_url: String,
    descriptor: String,
}

pub(crate) fn wit_identity<'a>(base: &str, i: &'a Identity) -> WitIdentity<'a> {
    let d = descriptor(i);
    WitIdentity {
        display_name: &i.display_name,
        url: format!("{base}/_apis/Identities/{}", i.id),
        links: AvatarLinks {
            avatar: Href {
                href: format!("{base}/_apis/GraphProfile/MemberAvatars/{d}"),
            },
        },
        id: &i.id,
        unique_name: &i.unique_name,
        image_url: format!("{base}/_api/_common/identityImage?id={}", i.id),
        descriptor: d,
    }
}

/// The string form of an identity in the reporting stream: `Display Name <email>`.
pub(crate) fn identity_string(i: &Identity) -> String {
    format!("{} <{}>", i.display_name, i.unique_name)
}

/// Fields ADO keeps out of a work item's `fields` (they are its top-level `id` and `rev`, and
/// the watermark) unless asked for by name; the reporting stream prints them.
pub(crate) fn is_bookkeeping(field: FieldId) -> bool {
    matches!(field, f::ID | f::REV | f::WATERMARK)
}

/// A materialized field map, printed in canonical field order.
pub(crate) struct FieldMap<'a> {
    pub ctx: Ctx<'a>,
    pub vals: Vec<Option<Val>>,
    /// Only these fields (sorted ascending = canonical order); `None` = every field present.
    pub select: Option<&'a [FieldId]>,
    /// Identities as IdentityRef objects (else `Name <email>` strings).
    pub refs: bool,
    /// With `select == None`: include System.Id, System.Rev and System.Watermark.
    pub bookkeeping: bool,
}

impl Serialize for FieldMap<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let b = self.ctx.b();
        let mut m = s.serialize_map(None)?;
        let mut emit = |fid: FieldId| -> Result<(), S::Error> {
            let Some(Some(v)) = self.vals.get(fid as usize) else {
                return Ok(());
            };
            let key = b.fields[fid as usize].ref_name.as_str();
            match *v {
                Val::Int(i) => m.serialize_entry(key, &i),
                Val::Num(x) => {
                    // ADO prints integral doubles without a fraction (`"Effort": 8`).
                    if x.fract() == 0.0 && x.abs() < 1e15 {
                        m.serialize_entry(key, &(x as i64))
                    } else {
                        m.serialize_entry(key, &x)
                    }
                }
                Val::Str(i) => m.serialize_entry(key, b.str(i)),
                Val::Ident(u) => {
                    let ident = &self.ctx.org.identities[u as usize];
                    if self.refs {
                        m.serialize_entry(key, &wit_identity(self.ctx.base, ident))
                    } else {
                        m.serialize_entry(key, &identity_string(ident))
                    }
                }
                Val::Date(t) => m.serialize_entry(key, &Ts(t)),
                Val::Bool(x) => m.serialize_entry(key, &x),
                Val::Clear => Ok(()),
            }
        };
        match self.select {
            Some(sel) => {
                for &fid in sel {
                    emit(fid)?;
                }
            }
            None => {
                for fid in 0..self.vals.len() as FieldId {
                    if self.bookkeeping || !is_bookkeeping(fid) {
                        emit(fid)?;
                    }
                }
            }
        }
        m.end()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RelationAttributes {
    is_locked: bool,
    name: &'static str,
}

#[derive(Serialize)]
pub(crate) struct RelationJson {
    rel: &'static str,
    url: String,
    attributes: RelationAttributes,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ItemLinks {
    #[serde(rename = "self")]
    this: Href,
    work_item_updates: Href,
    work_item_revisions: Href,
    work_item_comments: Href,
    html: Href,
    work_item_type: Href,
    fields: Href,
}

/// A work item as `workitems` / `workitemsbatch` return it.
#[derive(Serialize)]
pub(crate) struct WorkItemJson<'a> {
    id: u32,
    rev: u32,
    fields: FieldMap<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    relations: Option<Vec<RelationJson>>,
    #[serde(rename = "_links", skip_serializing_if = "Option::is_none")]
    links: Option<ItemLinks>,
    url: String,
}

/// What a workitems request asked for.
#[derive(Clone, Copy, Default)]
pub(crate) struct ItemOptions<'a> {
    pub select: Option<&'a [FieldId]>,
    pub relations: bool,
    pub links: bool,
}

pub(crate) fn item_url(base: &str, id: u32) -> String {
    format!("{base}/_apis/wit/workItems/{id}")
}

pub(crate) fn work_item<'a>(
    ctx: Ctx<'a>,
    item: &WorkItem,
    rev: u32,
    opts: ItemOptions<'a>,
) -> WorkItemJson<'a> {
    let b = ctx.b();
    let mut vals = Vec::new();
    b.materialize(item, rev, &mut vals);
    let base = ctx.base;
    let url = item_url(base, item.id);
    let relations = opts.relations.then(|| {
        b.relations(item.id)
            .into_iter()
            .map(|(kind, other, forward)| RelationJson {
                rel: kind.relation(forward),
                url: item_url(base, other),
                attributes: RelationAttributes {
                    is_locked: false,
                    name: match (kind, forward) {
                        (super::process::LinkKind::Hierarchy, true) => "Child",
                        (super::process::LinkKind::Hierarchy, false) => "Parent",
                        _ => "Related",
                    },
                },
            })
            .collect()
    });
    let links = opts.links.then(|| {
        let project = &ctx.org.projects[item.project];
        let ty = encode_segment(TYPES[item.kind as usize].name);
        ItemLinks {
            this: Href { href: url.clone() },
            work_item_updates: Href {
                href: format!("{url}/updates"),
            },
            work_item_revisions: Href {
                href: format!("{url}/revisions"),
            },
            work_item_comments: Href {
                href: format!("{url}/comments"),
            },
            html: Href {
                href: format!(
                    "{base}/web/wi.aspx?pcguid={}&id={}",
                    ctx.org.instance_id, item.id
                ),
            },
            work_item_type: Href {
                href: format!("{base}/{}/_apis/wit/workItemTypes/{ty}", project.id),
            },
            fields: Href {
                href: format!("{base}/_apis/wit/fields"),
            },
        }
    });
    WorkItemJson {
        id: item.id,
        rev,
        fields: FieldMap {
            ctx,
            vals,
            select: opts.select,
            refs: true,
            bookkeeping: false,
        },
        relations,
        links,
        url,
    }
}

/// A reporting revision: `{id, rev, fields}`.
#[derive(Serialize)]
pub(crate) struct RevisionJson<'a> {
    id: u32,
    rev: u32,
    fields: FieldMap<'a>,
}

/// A reporting revision. Without `long_text` (`$expand=fields`), long-text fields are left
/// out unless `select` names them (API_FACTS §1.6).
pub(crate) fn revision<'a>(
    ctx: Ctx<'a>,
    item: &WorkItem,
    rev: u32,
    select: Option<&'a [FieldId]>,
    refs: bool,
    long_text: bool,
) -> RevisionJson<'a> {
    let mut vals = Vec::new();
    let b = ctx.b();
    b.materialize(item, rev, &mut vals);
    if !long_text && select.is_none() {
        for (fid, v) in vals.iter_mut().enumerate() {
            if b.fields
                .get(fid)
                .is_some_and(|d| super::process::withheld_from_stream(&d.ref_name, d.ty))
            {
                *v = None;
            }
        }
    }
    RevisionJson {
        id: item.id,
        rev,
        fields: FieldMap {
            ctx,
            vals,
            select,
            refs,
            bookkeeping: true,
        },
    }
}

/// The reporting envelope (`StreamedBatch`, API_FACTS §1.6), keys in the examples' order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StreamedBatch<T: Serialize> {
    pub values: Vec<T>,
    pub next_link: String,
    pub continuation_token: String,
    pub is_last_batch: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LinkJson {
    rel: &'static str,
    source_id: u32,
    target_id: u32,
    changed_date: Ts,
    is_active: bool,
    changed_operation: &'static str,
}

pub(crate) fn link(e: &LinkEvent) -> LinkJson {
    LinkJson {
        rel: e.kind.rel(),
        source_id: e.source,
        target_id: e.target,
        changed_date: Ts(e.changed),
        is_active: e.active,
        changed_operation: if e.active { "create" } else { "remove" },
    }
}

/// Which classification tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Group {
    Areas,
    Iterations,
}

impl Group {
    pub(crate) fn parse(s: &str) -> Option<Group> {
        match s.to_ascii_lowercase().as_str() {
            "areas" | "area" => Some(Group::Areas),
            "iterations" | "iteration" => Some(Group::Iterations),
            _ => None,
        }
    }

    fn url_name(self) -> &'static str {
        match self {
            Group::Areas => "Areas",
            Group::Iterations => "Iterations",
        }
    }

    fn path_name(self) -> &'static str {
        match self {
            Group::Areas => "Area",
            Group::Iterations => "Iteration",
        }
    }

    fn structure_type(self) -> &'static str {
        match self {
            Group::Areas => "area",
            Group::Iterations => "iteration",
        }
    }

    pub(crate) fn tree(self, b: &Boards, project: usize) -> &Tree {
        match self {
            Group::Areas => &b.projects[project].areas,
            Group::Iterations => &b.projects[project].iterations,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NodeAttributes {
    start_date: Ts,
    finish_date: Ts,
}

/// A classification node with `depth` levels of children (`$depth`).
pub(crate) struct NodeJson<'a> {
    pub ctx: Ctx<'a>,
    pub project: &'a Project,
    pub tree: &'a Tree,
    pub group: Group,
    pub node: usize,
    pub depth: u32,
    /// Print `_links` (the requested node only, as in the examples).
    pub links: bool,
    /// Truth rows: no children, plus `projectId`.
    pub flat: bool,
}

impl NodeJson<'_> {
    fn url(&self, i: usize) -> String {
        let mut u = format!(
            "{}/{}/_apis/wit/classificationNodes/{}",
            self.ctx.base,
            self.project.id,
            self.group.url_name()
        );
        for s in self.tree.segments(i) {
            u.push('/');
            u.push_str(&encode_segment(s));
        }
        u
    }

    fn path(&self, i: usize) -> String {
        let mut p = format!("\\{}\\{}", self.project.name, self.group.path_name());
        for s in self.tree.segments(i) {
            p.push('\\');
            p.push_str(s);
        }
        p
    }

    fn child(&self, i: usize) -> NodeJson<'_> {
        NodeJson {
            ctx: self.ctx,
            project: self.project,
            tree: self.tree,
            group: self.group,
            node: i,
            depth: self.depth.saturating_sub(1),
            links: false,
            flat: false,
        }
    }
}

impl Serialize for NodeJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n: &Node = &self.tree.nodes[self.node];
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", &n.id)?;
        m.serialize_entry("identifier", &n.identifier)?;
        m.serialize_entry("name", &n.name)?;
        m.serialize_entry("structureType", self.group.structure_type())?;
        m.serialize_entry("hasChildren", &!n.children.is_empty())?;
        m.serialize_entry("path", &self.path(self.node))?;
        if let Some((start, finish)) = n.dates {
            m.serialize_entry(
                "attributes",
                &NodeAttributes {
                    start_date: Ts(start),
                    finish_date: Ts(finish),
                },
            )?;
        }
        if !self.flat && self.depth > 0 && !n.children.is_empty() {
            let kids: Vec<NodeJson<'_>> = n.children.iter().map(|&c| self.child(c)).collect();
            m.serialize_entry("children", &kids)?;
        }
        if self.links {
            let mut links = serde_json::Map::new();
            links.insert(
                "self".into(),
                serde_json::json!({"href": self.url(self.node)}),
            );
            if let Some(p) = n.parent {
                links.insert("parent".into(), serde_json::json!({"href": self.url(p)}));
            }
            m.serialize_entry("_links", &links)?;
        }
        m.serialize_entry("url", &self.url(self.node))?;
        if self.flat {
            m.serialize_entry("projectId", &self.project.id)?;
        }
        m.end()
    }
}

/// A team as `GET _apis/projects/{p}/teams` lists it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TeamJson<'a> {
    id: &'a str,
    name: &'a str,
    url: String,
    description: &'a str,
    identity_url: String,
    project_name: &'a str,
    project_id: &'a str,
}

impl TeamJson<'_> {
    pub(crate) fn id(&self) -> &str {
        self.id
    }
}

pub(crate) fn team<'a>(base: &str, p: &'a Project, t: &'a Team) -> TeamJson<'a> {
    TeamJson {
        id: &t.id,
        name: &t.name,
        url: format!("{base}/_apis/projects/{}/teams/{}", p.id, t.id),
        description: &t.description,
        identity_url: format!("{base}/_apis/Identities/{}", t.id),
        project_name: &p.name,
        project_id: &p.id,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MemberIdentity<'a> {
    display_name: &'a str,
    url: String,
    id: &'a str,
    unique_name: &'a str,
    image_url: String,
    descriptor: String,
}

/// A team member (`core/members__GET__…json`); the truth adds `teamId` and `projectId`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TeamMemberJson<'a> {
    is_team_admin: bool,
    identity: MemberIdentity<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    team_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    project_id: Option<&'a str>,
}

pub(crate) fn team_member<'a>(
    base: &str,
    i: &'a Identity,
    admin: bool,
    truth_of: Option<(&'a Team, &'a Project)>,
) -> TeamMemberJson<'a> {
    TeamMemberJson {
        is_team_admin: admin,
        identity: MemberIdentity {
            display_name: &i.display_name,
            url: format!("{base}/_apis/Identities/{}", i.id),
            id: &i.id,
            unique_name: &i.unique_name,
            image_url: format!("{base}/_api/_common/identityImage?id={}", i.id),
            descriptor: descriptor(i),
        },
        team_id: truth_of.map(|(t, _)| t.id.as_str()),
        project_id: truth_of.map(|(_, p)| p.id.as_str()),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GraphLinks {
    #[serde(rename = "self")]
    this: Href,
    memberships: Href,
    membership_state: Href,
    storage_key: Href,
    avatar: Href,
}

/// A graph user (`graph/Users__GetAllUsers.json`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GraphUserJson<'a> {
    subject_kind: &'static str,
    meta_type: &'static str,
    domain: &'a str,
    principal_name: &'a str,
    mail_address: &'a str,
    origin: &'static str,
    origin_id: &'a str,
    display_name: &'a str,
    #[serde(rename = "_links")]
    links: GraphLinks,
    url: String,
    descriptor: String,
}

pub(crate) fn graph_user<'a>(ctx: Ctx<'a>, u: usize) -> GraphUserJson<'a> {
    let i = &ctx.org.identities[u];
    let d = descriptor(i);
    let base = ctx.base;
    let at = |what: &str| Href {
        href: format!("{base}/_apis/Graph/{what}/{d}"),
    };
    GraphUserJson {
        subject_kind: "user",
        meta_type: "member",
        domain: &ctx.b().tenant,
        principal_name: &i.unique_name,
        mail_address: &i.unique_name,
        origin: "aad",
        origin_id: &ctx.b().graph[u].origin_id,
        display_name: &i.display_name,
        links: GraphLinks {
            this: at("Users"),
            memberships: at("Memberships"),
            membership_state: at("MembershipStates"),
            storage_key: at("StorageKeys"),
            avatar: Href {
                href: format!("{base}/_apis/GraphProfile/MemberAvatars/{d}"),
            },
        },
        url: format!("{base}/_apis/Graph/Users/{d}"),
        descriptor: d,
    }
}

#[derive(Serialize)]
struct Icon {
    id: &'static str,
    url: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TypeField<'a> {
    always_required: bool,
    reference_name: &'a str,
    name: &'a str,
    url: String,
}

#[derive(Serialize)]
pub(crate) struct StateJson {
    name: &'static str,
    color: &'static str,
    category: &'static str,
}

pub(crate) fn states(kind: Kind) -> Vec<StateJson> {
    TYPES[kind as usize]
        .states
        .iter()
        .map(|s| StateJson {
            name: s.name(),
            color: s.color(),
            category: s.category(),
        })
        .collect()
}

#[derive(Serialize)]
struct Transition {
    to: &'static str,
    actions: Option<()>,
}

/// Every state may move to every state of its type (inherited processes allow it); the
/// empty key is the creation transition to New, as ADO prints it.
struct Transitions(&'static [State]);

impl Serialize for Transitions {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len() + 1))?;
        m.serialize_entry(
            "",
            &[Transition {
                to: State::New.name(),
                actions: None,
            }],
        )?;
        for from in self.0 {
            let to: Vec<Transition> = self
                .0
                .iter()
                .map(|t| Transition {
                    to: t.name(),
                    actions: None,
                })
                .collect();
            m.serialize_entry(from.name(), &to)?;
        }
        m.end()
    }
}

/// A work item type (`wit/workItemTypes__GET__wit_workItemTypes_Bug.json`, without the
/// XML form); the truth adds `projectId`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WorkItemTypeJson<'a> {
    name: &'static str,
    reference_name: &'static str,
    description: &'static str,
    color: &'static str,
    icon: Icon,
    is_disabled: bool,
    fields: Vec<TypeField<'a>>,
    field_instances: Vec<TypeField<'a>>,
    states: Vec<StateJson>,
    transitions: Transitions,
    #[serde(rename = "_links")]
    links: serde_json::Value,
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    project_id: Option<&'a str>,
}

pub(crate) fn work_item_type<'a>(
    ctx: Ctx<'a>,
    project: &'a Project,
    kind: Kind,
    truth: bool,
) -> WorkItemTypeJson<'a> {
    let t = &TYPES[kind as usize];
    let b = ctx.b();
    let base = ctx.base;
    let fields = || -> Vec<TypeField<'a>> {
        b.type_fields[kind as usize]
            .iter()
            .map(|&fid| {
                let d = &b.fields[fid as usize];
                TypeField {
                    always_required: matches!(fid, f::TITLE | f::STATE),
                    reference_name: &d.ref_name,
                    name: &d.name,
                    url: format!("{base}/_apis/wit/fields/{}", d.ref_name),
                }
            })
            .collect()
    };
    let url = format!(
        "{base}/{}/_apis/wit/workItemTypes/{}",
        project.id,
        encode_segment(t.name)
    );
    WorkItemTypeJson {
        name: t.name,
        reference_name: t.ref_name,
        description: t.description,
        color: t.color,
        icon: Icon {
            id: t.icon,
            url: format!(
                "{base}/_apis/wit/workItemIcons/{}?color={}&v=2",
                t.icon, t.color
            ),
        },
        is_disabled: false,
        fields: fields(),
        field_instances: fields(),
        states: states(kind),
        transitions: Transitions(t.states),
        links: serde_json::json!({"self": {"href": url}}),
        url,
        project_id: truth.then_some(project.id.as_str()),
    }
}

#[derive(Serialize)]
struct TypeRef {
    name: &'static str,
    url: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CategoryJson {
    name: &'static str,
    reference_name: &'static str,
    default_work_item_type: TypeRef,
    work_item_types: Vec<TypeRef>,
    url: String,
}

pub(crate) fn category(base: &str, project: &Project, kind: Kind) -> CategoryJson {
    let t = &TYPES[kind as usize];
    let tref = || TypeRef {
        name: t.name,
        url: format!(
            "{base}/{}/_apis/wit/workItemTypes/{}",
            project.id,
            encode_segment(t.name)
        ),
    };
    CategoryJson {
        name: t.category,
        reference_name: t.category_ref,
        default_work_item_type: tref(),
        work_item_types: vec![tref()],
        url: format!(
            "{base}/{}/_apis/wit/workItemTypeCategories/{}",
            project.id, t.category_ref
        ),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Operation {
    reference_name: &'static str,
    name: &'static str,
}

fn operations(ty: &str) -> Vec<Operation> {
    let op = |reference_name, name| Operation {
        reference_name,
        name,
    };
    let cmp = || {
        vec![
            op("SupportedOperations.Equals", "="),
            op("SupportedOperations.NotEquals", "<>"),
            op("SupportedOperations.GreaterThan", ">"),
            op("SupportedOperations.LessThan", "<"),
            op("SupportedOperations.GreaterThanEquals", ">="),
            op("SupportedOperations.LessThanEquals", "<="),
            op("SupportedOperations.In", "In"),
        ]
    };
    match ty {
        "treePath" => vec![
            op("SupportedOperations.Under", "Under"),
            op("SupportedOperations.NotUnder", "Not Under"),
            op("SupportedOperations.Equals", "="),
            op("SupportedOperations.NotEquals", "<>"),
            op("SupportedOperations.In", "In"),
        ],
        "plainText" | "html" | "history" => vec![
            op("SupportedOperations.ContainsWords", "Contains Words"),
            op(
                "SupportedOperations.NotContainsWords",
                "Does Not Contain Words",
            ),
            op("SupportedOperations.IsEmpty", "Is Empty"),
            op("SupportedOperations.IsNotEmpty", "Is Not Empty"),
        ],
        "boolean" => vec![
            op("SupportedOperations.Equals", "="),
            op("SupportedOperations.NotEquals", "<>"),
        ],
        "string" => {
            let mut v = cmp();
            v.push(op("SupportedOperations.Contains", "Contains"));
            v.push(op("SupportedOperations.Ever", "Was Ever"));
            v
        }
        _ => {
            let mut v = cmp();
            v.push(op("SupportedOperations.Ever", "Was Ever"));
            v
        }
    }
}

/// A field as `GET _apis/wit/fields` lists it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FieldJson<'a> {
    name: &'a str,
    reference_name: &'a str,
    description: &'a str,
    #[serde(rename = "type")]
    ty: &'static str,
    usage: &'static str,
    read_only: bool,
    can_sort_by: bool,
    is_queryable: bool,
    supported_operations: Vec<Operation>,
    is_identity: bool,
    is_picklist: bool,
    is_picklist_suggested: bool,
    url: String,
}

pub(crate) fn field<'a>(base: &str, b: &'a Boards, fid: FieldId) -> FieldJson<'a> {
    let d = &b.fields[fid as usize];
    let long = super::process::is_long_text(d.ty);
    FieldJson {
        name: &d.name,
        reference_name: &d.ref_name,
        description: &d.description,
        ty: d.ty,
        usage: "workItem",
        read_only: d.read_only,
        can_sort_by: !long,
        is_queryable: true,
        supported_operations: operations(d.ty),
        is_identity: d.identity,
        is_picklist: false,
        is_picklist_suggested: false,
        url: format!("{base}/_apis/wit/fields/{}", d.ref_name),
    }
}

/// The text of a comment, drawn from the revision that made it.
pub(crate) fn comment_text(id: u32, rev: u32) -> &'static str {
    const TEXTS: [&str; 10] = [
        "Picking this up now.",
        "Blocked on the API change; will follow up tomorrow.",
        "Repro steps confirmed on the staging environment.",
        "Moving to the next sprint, we ran out of capacity.",
        "PR is out for review.",
        "Verified the fix in production.",
        "Can we split this into smaller stories?",
        "Customer confirmed the workaround is acceptable for now.",
        "Added acceptance criteria after the refinement session.",
        "Pairing with the platform team on this one.",
    ];
    let h = (u64::from(id)).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(rev);
    TEXTS[(h % TEXTS.len() as u64) as usize]
}

/// A comment (7.1 `Comment`: `id`, not the older examples' `commentId`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CommentJson<'a> {
    work_item_id: u32,
    id: u32,
    version: u32,
    text: &'static str,
    created_by: WitIdentity<'a>,
    created_date: Ts,
    modified_by: WitIdentity<'a>,
    modified_date: Ts,
    is_deleted: bool,
    url: String,
}

pub(crate) fn comment<'a>(ctx: Ctx<'a>, item: &WorkItem, number: u32, rev: u32) -> CommentJson<'a> {
    let meta = &item.revs[rev as usize - 1];
    let who = &ctx.org.identities[meta.by as usize];
    let project = &ctx.org.projects[item.project];
    CommentJson {
        work_item_id: item.id,
        id: number,
        version: 1,
        text: comment_text(item.id, rev),
        created_by: wit_identity(ctx.base, who),
        created_date: Ts(meta.changed),
        modified_by: wit_identity(ctx.base, who),
        modified_date: Ts(meta.changed),
        is_deleted: false,
        url: format!(
            "{}/{}/_apis/wit/workItems/{}/comments/{number}",
            ctx.base, project.id, item.id
        ),
    }
}

/// `WorkItemDelete` for `GET recyclebin/{id}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeletedJson<'a> {
    id: u32,
    code: u16,
    deleted_by: String,
    deleted_date: Ts,
    name: &'a str,
    project: &'a str,
    #[serde(rename = "type")]
    ty: &'static str,
    url: String,
}

pub(crate) fn deleted<'a>(ctx: Ctx<'a>, item: &WorkItem) -> DeletedJson<'a> {
    let meta = item.last();
    let mut vals = Vec::new();
    ctx.b().materialize(item, item.rev(), &mut vals);
    let name = match vals[f::TITLE as usize] {
        Some(Val::Str(i)) => ctx.b().str(i),
        _ => "",
    };
    DeletedJson {
        id: item.id,
        code: 200,
        deleted_by: identity_string(&ctx.org.identities[meta.by as usize]),
        deleted_date: Ts(meta.changed),
        name,
        project: &ctx.org.projects[item.project].name,
        ty: TYPES[item.kind as usize].name,
        url: format!("{}/_apis/wit/recycleBin/{}", ctx.base, item.id),
    }
}

/// Serializes `len` elements produced one at a time, so a huge list (the truth of a
/// 50,000-item org) never exists in memory as a whole. `each` calls its argument once per
/// element, in order, and stops when it returns false.
pub(crate) struct Lazy<T, F> {
    len: usize,
    each: F,
    _t: std::marker::PhantomData<fn(&T)>,
}

pub(crate) fn lazy<T, F>(len: usize, each: F) -> Lazy<T, F>
where
    F: Fn(&mut dyn FnMut(&T) -> bool),
    T: Serialize,
{
    Lazy {
        len,
        each,
        _t: std::marker::PhantomData,
    }
}

impl<T, F> Serialize for Lazy<T, F>
where
    F: Fn(&mut dyn FnMut(&T) -> bool),
    T: Serialize,
{
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.len))?;
        let mut err = None;
        (self.each)(&mut |v: &T| match seq.serialize_element(v) {
            Ok(()) => true,
            Err(e) => {
                err = Some(e);
                false
            }
        });
        if let Some(e) = err {
            return Err(e);
        }
        seq.end()
    }
}
