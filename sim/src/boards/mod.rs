//! Boards: work items with their full revision histories, links, teams, areas, iterations,
//! the process (types, states, fields) and the graph users — everything the Boards connector
//! reads (API_FACTS §1.4–1.7, §4.2).
//!
//! Storage is compact so that an org of 50,000 work items and 250,000+ revisions stays small:
//! a work item keeps, per revision, only the fields that revision *changed*
//! ([`WorkItem::changes`], one flat vector per item) plus a small [`RevMeta`] (watermark,
//! ChangedDate, ChangedBy, comment and delete flags). Values are `Copy` ([`Val`]); strings are
//! interned once per org ([`Interner`]). The full field map of any revision is materialized on
//! demand by folding the changes up to it ([`Boards::materialize`]) — a few dozen entries, so
//! every endpoint and the ground truth can afford it per request.
//!
//! `System.Watermark` is one org-wide counter assigned in change order (ChangedDate, then id,
//! then rev), so ordering a project's revisions by watermark also orders them by ChangedDate.
//! The reporting stream (§1.6) is an append-only list of `(watermark, id, rev)` per project
//! and for the whole org: a page is a binary search plus a forward scan. Links have their own
//! append-only event list for the reporting links stream.
//!
//! This module owns the data and its invariants; JSON shapes live in `json`, HTTP in
//! `routes::wit`, `routes::teams` and `routes::graph`.

pub(crate) mod generate;
pub(crate) mod json;
pub(crate) mod mutate;
pub(crate) mod process;
pub(crate) mod wiql;

use std::collections::{BTreeSet, HashMap};

use process::{FIELD_SPECS, FieldId, Kind, LinkKind, State, f};

/// One field value. Identity fields hold an index into `Org::identities`; `Clear` removes the
/// field from the map (e.g. `ClosedDate` when an item is reactivated).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Val {
    Int(i64),
    Num(f64),
    Str(u32),
    Ident(u32),
    Date(i64),
    Bool(bool),
    Clear,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Change {
    pub field: FieldId,
    pub val: Val,
}

/// What every revision records besides its field changes. `System.Id`, `System.Rev`,
/// `System.ChangedDate`, `System.ChangedBy` and `System.Watermark` are derived from it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RevMeta {
    pub watermark: u64,
    pub changed: i64,
    pub by: u32,
    /// End (exclusive) of this revision's changes in [`WorkItem::changes`].
    pub end: u32,
    /// The revision added a comment (served by the comments endpoint).
    pub comment: bool,
    /// The revision moved the item to the recycle bin (`System.IsDeleted` = true).
    pub deleted: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct WorkItem {
    pub id: u32,
    pub project: usize,
    pub kind: Kind,
    /// Current state (also in the fields; kept here for WIQL and mutations).
    pub state: State,
    /// In the recycle bin now.
    pub deleted: bool,
    /// Destroyed from the recycle bin: no endpoint serves it any more except the reporting
    /// stream's old revisions (the simulator keeps them; the truth marks it `isDestroyed`).
    pub destroyed: bool,
    /// `revs[r - 1]` is revision `r`.
    pub revs: Vec<RevMeta>,
    pub changes: Vec<Change>,
}

impl WorkItem {
    pub(crate) fn rev(&self) -> u32 {
        self.revs.len() as u32
    }

    pub(crate) fn created(&self) -> i64 {
        self.revs.first().map_or(0, |r| r.changed)
    }

    pub(crate) fn changed(&self) -> i64 {
        self.revs.last().map_or(0, |r| r.changed)
    }

    pub(crate) fn last(&self) -> &RevMeta {
        &self.revs[self.revs.len() - 1]
    }
}

/// A field of the org (`GET _apis/wit/fields`).
#[derive(Clone, Debug)]
pub(crate) struct FieldDef {
    pub ref_name: String,
    pub name: String,
    pub ty: &'static str,
    pub read_only: bool,
    pub identity: bool,
    pub description: String,
}

/// An area or iteration node. `path` is the interned form work items carry in
/// `System.AreaPath` / `System.IterationPath` (`Project\Release 1\Sprint 3`).
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub id: u32,
    pub identifier: String,
    pub name: String,
    pub parent: Option<usize>,
    pub children: Vec<usize>,
    /// Iterations only: startDate and finishDate.
    pub dates: Option<(i64, i64)>,
    pub path: u32,
}

/// A classification tree; `nodes[0]` is the root (named after the project).
#[derive(Clone, Debug, Default)]
pub(crate) struct Tree {
    pub nodes: Vec<Node>,
}

impl Tree {
    /// Segment names from the root down to `i`, root excluded.
    pub(crate) fn segments(&self, mut i: usize) -> Vec<&str> {
        let mut out = Vec::new();
        while let Some(p) = self.nodes[i].parent {
            out.push(self.nodes[i].name.as_str());
            i = p;
        }
        out.reverse();
        out
    }

    /// The node at `segments` below the root (case-insensitive), the root for none.
    pub(crate) fn find(&self, segments: &[String]) -> Option<usize> {
        let mut at = 0;
        for s in segments {
            at = *self
                .nodes
                .get(at)?
                .children
                .iter()
                .find(|&&c| self.nodes[c].name.eq_ignore_ascii_case(s))?;
        }
        (!self.nodes.is_empty()).then_some(at)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Team {
    pub id: String,
    pub name: String,
    pub description: String,
    /// (identity index, isTeamAdmin), ordered by display name.
    pub members: Vec<(usize, bool)>,
    /// The team's area node.
    pub area: usize,
}

/// One entry of a reporting stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StreamEntry {
    pub wm: u64,
    pub id: u32,
    pub rev: u32,
}

/// A link created (`active`) or removed, as the reporting links stream reports it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LinkEvent {
    pub seq: u64,
    pub kind: LinkKind,
    pub source: u32,
    pub target: u32,
    pub changed: i64,
    pub active: bool,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct ProjectBoards {
    pub teams: Vec<Team>,
    pub areas: Tree,
    pub iterations: Tree,
    /// Sprint node indexes in `iterations`, in time order.
    pub sprints: Vec<usize>,
    /// Revisions of this project's work items in watermark order.
    pub stream: Vec<StreamEntry>,
    /// Indexes into [`Boards::link_events`] of links whose source is in this project.
    pub link_events: Vec<usize>,
}

/// The graph view of a user (`GET _apis/graph/users`), aligned with `Org::identities`.
#[derive(Clone, Debug)]
pub(crate) struct GraphUser {
    pub origin_id: String,
}

/// Org-wide string interning: titles, paths, tags and names repeat a lot.
#[derive(Clone, Debug, Default)]
pub(crate) struct Interner {
    strings: Vec<Box<str>>,
    map: HashMap<Box<str>, u32>,
}

impl Interner {
    pub(crate) fn intern(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.map.get(s) {
            return i;
        }
        let i = self.strings.len() as u32;
        self.strings.push(s.into());
        self.map.insert(s.into(), i);
        i
    }

    pub(crate) fn get(&self, i: u32) -> &str {
        &self.strings[i as usize]
    }
}

/// Interned ids of the process strings, so generation never hashes them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Lex {
    /// Per [`Kind`]: the type name.
    pub types: Vec<u32>,
    /// Per state, in `State` order New, Active, Resolved, Closed, Removed.
    pub states: Vec<u32>,
    /// Per [`Kind`]: the six reasons of `TypeSpec::reasons`.
    pub reasons: Vec<[u32; 6]>,
    /// Per project: the project name.
    pub projects: Vec<u32>,
}

impl Lex {
    pub(crate) fn state(&self, s: State) -> u32 {
        self.states[state_slot(s)]
    }
}

pub(crate) fn state_slot(s: State) -> usize {
    match s {
        State::New => 0,
        State::Active => 1,
        State::Resolved => 2,
        State::Closed => 3,
        State::Removed => 4,
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Boards {
    /// `items[id - 1]`; deleted items stay (the recycle bin) with `deleted` set.
    pub items: Vec<WorkItem>,
    pub fields: Vec<FieldDef>,
    /// Per [`Kind`]: the fields the type shows (mutations may add custom ones).
    pub type_fields: Vec<Vec<FieldId>>,
    /// Per project, aligned with `Org::projects`.
    pub projects: Vec<ProjectBoards>,
    pub strings: Interner,
    pub lex: Lex,
    /// Every revision of the org in watermark order.
    pub stream: Vec<StreamEntry>,
    /// Link changes in `seq` order.
    pub link_events: Vec<LinkEvent>,
    /// Currently active links (source, target, kind).
    pub links: BTreeSet<(u32, u32, LinkKind)>,
    /// The same links keyed by target, for an item's reverse relations.
    pub links_by_target: BTreeSet<(u32, u32, LinkKind)>,
    pub next_watermark: u64,
    /// ChangedDate of the newest revision; mutations stay strictly after it.
    pub last_change: i64,
    pub next_node_id: u32,
    /// The AAD tenant of the graph users (`domain`).
    pub tenant: String,
    pub graph: Vec<GraphUser>,
}

impl Boards {
    pub(crate) fn str(&self, i: u32) -> &str {
        self.strings.get(i)
    }

    pub(crate) fn item(&self, id: u32) -> Option<&WorkItem> {
        self.items.get((id as usize).checked_sub(1)?)
    }

    /// Finds a field by reference name or display name, case-insensitively.
    pub(crate) fn find_field(&self, key: &str) -> Option<FieldId> {
        let key = key.trim();
        self.fields
            .iter()
            .position(|d| d.ref_name.eq_ignore_ascii_case(key))
            .or_else(|| {
                self.fields
                    .iter()
                    .position(|d| d.name.eq_ignore_ascii_case(key))
            })
            .map(|i| i as FieldId)
    }

    /// The full field map of `item` at revision `rev` (1-based), into `out` (indexed by
    /// field id, `None` = absent).
    pub(crate) fn materialize(&self, item: &WorkItem, rev: u32, out: &mut Vec<Option<Val>>) {
        out.clear();
        out.resize(self.fields.len(), None);
        let meta = &item.revs[rev as usize - 1];
        for c in &item.changes[..meta.end as usize] {
            out[c.field as usize] = match c.val {
                Val::Clear => None,
                v => Some(v),
            };
        }
        set_derived(out, item.id, rev, meta);
    }

    /// Calls `f(rev, fields)` for every revision of `item` in order, folding the changes once.
    pub(crate) fn for_each_revision(
        &self,
        item: &WorkItem,
        mut f: impl FnMut(u32, &[Option<Val>]),
    ) {
        let mut cur: Vec<Option<Val>> = vec![None; self.fields.len()];
        let mut start = 0usize;
        for (i, meta) in item.revs.iter().enumerate() {
            for c in &item.changes[start..meta.end as usize] {
                cur[c.field as usize] = match c.val {
                    Val::Clear => None,
                    v => Some(v),
                };
            }
            start = meta.end as usize;
            let rev = i as u32 + 1;
            set_derived(&mut cur, item.id, rev, meta);
            f(rev, &cur);
        }
    }

    /// The latest revision whose ChangedDate is at or before `as_of` (`asOf`), if the item
    /// existed then.
    pub(crate) fn rev_as_of(item: &WorkItem, as_of: i64) -> Option<u32> {
        let n = item.revs.partition_point(|r| r.changed <= as_of);
        (n > 0).then_some(n as u32)
    }

    /// Appends a revision to an existing item (mutations): next watermark, both streams.
    pub(crate) fn add_revision(
        &mut self,
        id: u32,
        changed: i64,
        by: u32,
        changes: &[Change],
        comment: bool,
    ) {
        let wm = self.next_watermark;
        self.next_watermark += 1;
        self.last_change = self.last_change.max(changed);
        let item = &mut self.items[id as usize - 1];
        item.changes.extend_from_slice(changes);
        for c in changes {
            match (c.field, c.val) {
                (f::IS_DELETED, Val::Bool(true)) => item.deleted = true,
                (f::IS_DELETED, Val::Clear | Val::Bool(false)) => item.deleted = false,
                (f::STATE, Val::Str(s)) => {
                    if let Some(st) = state_of(&self.lex, s) {
                        item.state = st;
                    }
                }
                _ => {}
            }
        }
        let deleted = changes
            .iter()
            .any(|c| c.field == f::IS_DELETED && c.val == Val::Bool(true));
        item.revs.push(RevMeta {
            watermark: wm,
            changed,
            by,
            end: item.changes.len() as u32,
            comment,
            deleted,
        });
        let e = StreamEntry {
            wm,
            id,
            rev: item.rev(),
        };
        let project = item.project;
        self.projects[project].stream.push(e);
        self.stream.push(e);
    }

    /// Appends a new work item with its first revision (mutations). Its id must be next.
    pub(crate) fn add_item(
        &mut self,
        project: usize,
        kind: Kind,
        changed: i64,
        by: u32,
        changes: &[Change],
    ) -> u32 {
        let id = self.items.len() as u32 + 1;
        self.items.push(WorkItem {
            id,
            project,
            kind,
            state: State::New,
            deleted: false,
            destroyed: false,
            revs: Vec::new(),
            changes: Vec::new(),
        });
        self.add_revision(id, changed, by, changes, false);
        id
    }

    /// Records a link change (mutations and generation replay).
    pub(crate) fn add_link_event(&mut self, mut e: LinkEvent) {
        e.seq = self.link_events.len() as u64 + 1;
        let key = (e.source, e.target, e.kind);
        let rkey = (e.target, e.source, e.kind);
        if e.active {
            self.links.insert(key);
            self.links_by_target.insert(rkey);
        } else {
            self.links.remove(&key);
            self.links_by_target.remove(&rkey);
        }
        let project = self.items[e.source as usize - 1].project;
        self.projects[project]
            .link_events
            .push(self.link_events.len());
        self.link_events.push(e);
    }

    /// The item's current relations: (kind, other item, the item is the link's source).
    pub(crate) fn relations(&self, id: u32) -> Vec<(LinkKind, u32, bool)> {
        let mut out: Vec<(LinkKind, u32, bool)> = self
            .links
            .range((id, 0, LinkKind::Hierarchy)..=(id, u32::MAX, LinkKind::Related))
            .map(|&(_, t, k)| (k, t, true))
            .collect();
        out.extend(
            self.links_by_target
                .range((id, 0, LinkKind::Hierarchy)..=(id, u32::MAX, LinkKind::Related))
                .map(|&(_, s, k)| (k, s, false)),
        );
        out
    }

    /// The sprint whose dates contain `t` (or the nearest one).
    pub(crate) fn sprint_at(&self, project: usize, t: i64) -> Option<usize> {
        let pb = &self.projects[project];
        let tree = &pb.iterations;
        let k = pb
            .sprints
            .partition_point(|&s| tree.nodes[s].dates.is_some_and(|(start, _)| start <= t));
        pb.sprints.get(k.saturating_sub(1)).copied()
    }
}

/// Sets the fields every revision derives from its metadata.
fn set_derived(out: &mut [Option<Val>], id: u32, rev: u32, meta: &RevMeta) {
    out[f::ID as usize] = Some(Val::Int(i64::from(id)));
    out[f::REV as usize] = Some(Val::Int(i64::from(rev)));
    out[f::CHANGED_DATE as usize] = Some(Val::Date(meta.changed));
    out[f::CHANGED_BY as usize] = Some(Val::Ident(meta.by));
    out[f::WATERMARK as usize] = Some(Val::Int(meta.watermark as i64));
}

fn state_of(lex: &Lex, s: u32) -> Option<State> {
    let all = [
        State::New,
        State::Active,
        State::Resolved,
        State::Closed,
        State::Removed,
    ];
    lex.states.iter().position(|&x| x == s).map(|i| all[i])
}

/// The built-in field definitions.
pub(crate) fn builtin_fields() -> Vec<FieldDef> {
    FIELD_SPECS
        .iter()
        .map(|s| FieldDef {
            ref_name: s.ref_name.to_string(),
            name: s.name.to_string(),
            ty: s.ty,
            read_only: s.read_only,
            identity: s.identity,
            description: s.description.to_string(),
        })
        .collect()
}

/// Which revisions a reporting request wants (API_FACTS §1.6).
#[derive(Clone, Debug, Default)]
pub(crate) struct RevisionFilter {
    /// Only revisions with a watermark above this (the continuation token).
    pub after: Option<u64>,
    /// Only revisions changed at or after this (`startDateTime`, without a token).
    pub since: Option<i64>,
    pub types: Option<Vec<Kind>>,
    pub include_deleted: bool,
    pub latest_only: bool,
    pub discussion_only: bool,
}

/// One page of a reporting stream.
pub(crate) struct Page<T> {
    pub values: Vec<T>,
    /// Key (watermark or link change number) of the last entry the scan went past, served
    /// or filtered out, counting the entries before its start; `None` when there are none.
    pub last_key: Option<u64>,
    /// Nothing after this page matches.
    pub is_last: bool,
}

impl Boards {
    fn revision_matches(&self, e: &StreamEntry, q: &RevisionFilter) -> bool {
        let item = &self.items[e.id as usize - 1];
        let meta = &item.revs[e.rev as usize - 1];
        if q.types.as_ref().is_some_and(|t| !t.contains(&item.kind)) {
            return false;
        }
        // Without includeDeleted a deleted item vanishes from the stream, and the revision
        // that deleted it (or any later-undone deletion) is never shown.
        if !q.include_deleted && (item.deleted || meta.deleted) {
            return false;
        }
        if q.latest_only && e.rev != item.rev() {
            return false;
        }
        if q.discussion_only && !meta.comment {
            return false;
        }
        true
    }

    /// One page of revisions of a project (or of the org) in watermark order.
    pub(crate) fn revision_page(
        &self,
        project: Option<usize>,
        q: &RevisionFilter,
        size: usize,
    ) -> Page<StreamEntry> {
        let stream = match project {
            Some(p) => &self.projects[p].stream,
            None => &self.stream,
        };
        let from = match (q.after, q.since) {
            (Some(wm), _) => stream.partition_point(|e| e.wm <= wm),
            (None, Some(t)) => stream.partition_point(|e| {
                self.items[e.id as usize - 1].revs[e.rev as usize - 1].changed < t
            }),
            (None, None) => 0,
        };
        let prev = from.checked_sub(1).map(|i| stream[i].wm);
        scan(
            &stream[from..],
            prev,
            size,
            |e| e.wm,
            |e| self.revision_matches(e, q).then_some(*e),
        )
    }

    /// One page of link changes of a project (or of the org) in `seq` order.
    pub(crate) fn link_page(
        &self,
        project: Option<usize>,
        after: Option<u64>,
        since: Option<i64>,
        kinds: Option<&[LinkKind]>,
        types: Option<&[Kind]>,
        size: usize,
    ) -> Page<LinkEvent> {
        let all: Vec<usize>;
        let idx: &[usize] = match project {
            Some(p) => &self.projects[p].link_events,
            None => {
                all = (0..self.link_events.len()).collect();
                &all
            }
        };
        let ev = |i: &usize| &self.link_events[*i];
        let from = match (after, since) {
            (Some(s), _) => idx.partition_point(|i| ev(i).seq <= s),
            (None, Some(t)) => idx.partition_point(|i| ev(i).changed < t),
            (None, None) => 0,
        };
        let kind_of = |id: u32| self.items[id as usize - 1].kind;
        let prev = from.checked_sub(1).map(|i| ev(&idx[i]).seq);
        scan(
            &idx[from..],
            prev,
            size,
            |i| ev(i).seq,
            |i| {
                let e = ev(i);
                let kind_ok = kinds.is_none_or(|k| k.contains(&e.kind));
                let type_ok = types.is_none_or(|t| {
                    t.contains(&kind_of(e.source)) || t.contains(&kind_of(e.target))
                });
                (kind_ok && type_ok).then_some(*e)
            },
        )
    }
}

/// Takes up to `size` matching entries, then looks ahead for one more so that `is_last` is
/// exact: a client that stops at `isLastBatch` must never miss anything.
fn scan<E, T>(
    entries: &[E],
    prev: Option<u64>,
    size: usize,
    key: impl Fn(&E) -> u64,
    mut pick: impl FnMut(&E) -> Option<T>,
) -> Page<T> {
    let mut values = Vec::new();
    let mut last_wm = prev;
    let mut i = 0;
    while i < entries.len() && values.len() < size {
        if let Some(v) = pick(&entries[i]) {
            values.push(v);
        }
        last_wm = Some(key(&entries[i]));
        i += 1;
    }
    let more = entries[i..].iter().any(|e| pick(e).is_some());
    if !more {
        // The token may move past trailing entries this filter never serves.
        if let Some(e) = entries.last() {
            last_wm = Some(key(e));
        }
    }
    Page {
        values,
        last_key: last_wm,
        is_last: !more,
    }
}
