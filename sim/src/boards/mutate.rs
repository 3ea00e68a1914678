//! Work item mutations: the Boards side of `POST /_sim/mutate`.
//!
//! Drawn from their own PRNG stream (so the PR mutations of a seed are the same as before
//! Boards existed). Every change to a work item is a new revision: rev + 1, ChangedDate =
//! the real current time (whole milliseconds, strictly after every earlier revision, so the
//! reporting stream and `startDateTime` stay ordered), a ChangedBy, and the next watermark.
//! Deletion is a revision that sets `System.IsDeleted` = true (the item moves to the recycle
//! bin); restore is a revision that removes it again. Link changes are a revision of the
//! link's source plus an event in the links stream. New fields and new sprints do not touch
//! any work item.

use super::generate::{
    Cur, Edit, IMPACTS, TAGS, TICKS_PER_MS, actor, add_comment, add_sprint, apply_edit,
    initial_changes, ms, sprint_anchor, transition,
};
use super::process::{FieldId, Kind, LinkKind, State, TYPES, f};
use super::{Boards, Change, FieldDef, LinkEvent, Val, WorkItem};
use crate::model::Org;
use crate::rng::Rng;
use crate::time;

#[derive(Clone, Copy, Debug)]
enum Kindof {
    Edit,
    State,
    Reassign,
    Move,
    Create,
    Comment,
    Link,
    Delete,
    Restore,
    Field,
    Iteration,
}

const KINDS: [(Kindof, u32); 11] = [
    (Kindof::Edit, 48),
    (Kindof::State, 44),
    (Kindof::Reassign, 24),
    (Kindof::Move, 24),
    (Kindof::Create, 24),
    (Kindof::Comment, 12),
    (Kindof::Link, 12),
    (Kindof::Delete, 6),
    (Kindof::Restore, 4),
    (Kindof::Field, 1),
    (Kindof::Iteration, 1),
];

/// What one call changed, by kind (the `work_item*` keys of the mutate answer).
#[derive(Default, Debug, Clone, Copy)]
pub(crate) struct Counts {
    pub edited: u64,
    pub state_changed: u64,
    pub reassigned: u64,
    pub moved: u64,
    pub created: u64,
    pub comments: u64,
    pub links_changed: u64,
    pub deleted: u64,
    pub restored: u64,
    pub fields_created: u64,
    pub iterations_created: u64,
}

impl Counts {
    pub(crate) fn entries(&self) -> [(&'static str, u64); 11] {
        [
            ("work_items_edited", self.edited),
            ("work_items_state_changed", self.state_changed),
            ("work_items_reassigned", self.reassigned),
            ("work_items_moved", self.moved),
            ("work_items_created", self.created),
            ("work_item_comments_added", self.comments),
            ("work_item_links_changed", self.links_changed),
            ("work_items_deleted", self.deleted),
            ("work_items_restored", self.restored),
            ("fields_created", self.fields_created),
            ("iterations_created", self.iterations_created),
        ]
    }
}

/// Applies `changes` work item changes; nothing when the org was generated without work
/// items (`work_items_per_project = 0`).
pub(crate) fn mutate(org: &mut Org, seed: u64, changes: usize) -> Counts {
    let mut c = Counts::default();
    if org.boards.items.is_empty() {
        return c;
    }
    let mut rng = Rng::derive(seed, 0xB0A2_D5F5);
    let weights: Vec<u32> = KINDS.iter().map(|k| k.1).collect();
    for _ in 0..changes {
        for _ in 0..30 {
            let kind = KINDS[rng.weighted(&weights)].0;
            if apply(org, &mut rng, kind, &mut c) {
                org.change_id += 1;
                break;
            }
        }
    }
    c
}

/// Now by the org's clock (`clock`: its offset from the host's) in whole milliseconds,
/// strictly after every revision so far.
fn now(b: &Boards, clock: i64) -> i64 {
    ms(time::now_ticks() + clock).max(b.last_change + TICKS_PER_MS)
}

fn random_live(b: &Boards, rng: &mut Rng) -> Option<u32> {
    for _ in 0..50 {
        let i = rng.index(b.items.len());
        if !b.items[i].deleted {
            return Some(b.items[i].id);
        }
    }
    None
}

/// Rebuilds an item's working state from its current fields.
fn cur_of(b: &Boards, item: &WorkItem) -> Cur {
    let mut vals = Vec::new();
    b.materialize(item, item.rev(), &mut vals);
    let get = |fid: FieldId| vals[fid as usize];
    let team_name = match get(f::CUSTOM_TEAM) {
        Some(Val::Str(s)) => b.str(s),
        _ => "",
    };
    let team = b.projects[item.project]
        .teams
        .iter()
        .position(|t| t.name == team_name)
        .unwrap_or(0);
    let tags = match get(f::TAGS) {
        Some(Val::Str(s)) => b
            .str(s)
            .split("; ")
            .filter_map(|t| TAGS.iter().find(|x| **x == t).copied())
            .collect(),
        _ => Vec::new(),
    };
    Cur {
        state: item.state,
        assigned: match get(f::ASSIGNED_TO) {
            Some(Val::Ident(u)) => Some(u),
            _ => None,
        },
        team,
        tags,
        remaining: match get(f::REMAINING_WORK) {
            Some(Val::Num(x)) => Some(x),
            _ => None,
        },
        priority: match get(f::PRIORITY) {
            Some(Val::Int(p)) => p,
            _ => 2,
        },
        comments: match get(f::COMMENT_COUNT) {
            Some(Val::Int(n)) => n,
            _ => 0,
        },
    }
}

fn apply(org: &mut Org, rng: &mut Rng, kind: Kindof, c: &mut Counts) -> bool {
    let users = org.user_count;
    let clock = org.clock_offset;
    let b = &mut org.boards;
    match kind {
        Kindof::Create => {
            let project = rng.index(b.projects.len());
            let k = *rng.pick(&[
                super::process::STORY,
                super::process::STORY,
                super::process::TASK,
                super::process::TASK,
                super::process::BUG,
                super::process::FEATURE,
            ]);
            let parent = TYPES[k as usize].parent.and_then(|pk| {
                let cands: Vec<u32> = b
                    .items
                    .iter()
                    .rev()
                    .filter(|i| i.project == project && i.kind == pk && !i.deleted)
                    .take(25)
                    .map(|i| i.id)
                    .collect();
                (!cands.is_empty()).then(|| *rng.pick(&cands))
            });
            let t = now(b, clock);
            let by = rng.index(users) as u32;
            let mut buf = Vec::new();
            initial_changes(b, rng, project, k, parent, t, by, &mut buf);
            let id = b.add_item(project, k, t, by, &buf);
            if let Some(p) = parent {
                b.add_link_event(LinkEvent {
                    seq: 0,
                    kind: LinkKind::Hierarchy,
                    source: p,
                    target: id,
                    changed: t,
                    active: true,
                });
            }
            c.created += 1;
            true
        }
        Kindof::Delete => {
            let Some(id) = random_live(b, rng) else {
                return false;
            };
            let t = now(b, clock);
            let by = rng.index(users) as u32;
            let ch = [Change {
                field: f::IS_DELETED,
                val: Val::Bool(true),
            }];
            b.add_revision(id, t, by, &ch, false);
            c.deleted += 1;
            true
        }
        Kindof::Restore => {
            let deleted: Vec<u32> = b.items.iter().filter(|i| i.deleted).map(|i| i.id).collect();
            if deleted.is_empty() {
                return false;
            }
            let id = *rng.pick(&deleted);
            let t = now(b, clock);
            let by = rng.index(users) as u32;
            let ch = [Change {
                field: f::IS_DELETED,
                val: Val::Clear,
            }];
            b.add_revision(id, t, by, &ch, false);
            c.restored += 1;
            true
        }
        Kindof::Link => change_link(b, rng, users, clock, c),
        Kindof::Field => {
            let n = b.fields.len() - super::process::FIELD_SPECS.len() + 1;
            b.fields.push(FieldDef {
                ref_name: format!("Custom.Field{n}"),
                name: format!("Field {n}"),
                ty: "string",
                read_only: false,
                identity: false,
                description: "A field added to the process after the org was generated".to_string(),
            });
            let fid = (b.fields.len() - 1) as FieldId;
            let k = rng.index(TYPES.len());
            b.type_fields[k].push(fid);
            c.fields_created += 1;
            true
        }
        Kindof::Iteration => {
            let project = rng.index(b.projects.len());
            let pname = b.str(b.lex.projects[project]).to_string();
            let first = b.projects[project].sprints[0];
            let anchor = b.projects[project].iterations.nodes[first]
                .dates
                .map_or_else(|| sprint_anchor(time::now_ticks() + clock), |d| d.0);
            let mut tree = std::mem::take(&mut b.projects[project].iterations);
            let mut sprints = std::mem::take(&mut b.projects[project].sprints);
            add_sprint(b, rng, &mut tree, &mut sprints, anchor, &pname);
            b.projects[project].iterations = tree;
            b.projects[project].sprints = sprints;
            c.iterations_created += 1;
            true
        }
        _ => {
            let Some(id) = random_live(b, rng) else {
                return false;
            };
            change_item(b, rng, users, clock, id, kind, c)
        }
    }
}

fn change_item(
    b: &mut Boards,
    rng: &mut Rng,
    users: usize,
    clock: i64,
    id: u32,
    kind: Kindof,
    c: &mut Counts,
) -> bool {
    let item = &b.items[id as usize - 1];
    let (project, k): (usize, Kind) = (item.project, item.kind);
    let mut cur = cur_of(b, item);
    let t = now(b, clock);
    let by = actor(b, rng, project, &cur, users);
    let mut buf: Vec<Change> = Vec::new();
    let mut comment = false;
    let ok = match kind {
        Kindof::State => {
            let spec = &TYPES[k as usize];
            let to = match spec.next(cur.state) {
                Some(to) => Some(to),
                None if cur.state == State::Closed => Some(State::Active),
                None => None,
            };
            match to {
                Some(to) => {
                    transition(b, k, &mut cur, to, t, by, &mut buf);
                    c.state_changed += 1;
                    true
                }
                None => false,
            }
        }
        Kindof::Reassign => {
            let ok = apply_edit(
                b,
                rng,
                project,
                k,
                &mut cur,
                Edit::Reassign,
                t,
                by,
                &mut buf,
            );
            c.reassigned += u64::from(ok);
            ok
        }
        Kindof::Move => {
            let edit = if rng.chance(0.7) {
                Edit::Iteration
            } else {
                Edit::Area
            };
            let ok = apply_edit(b, rng, project, k, &mut cur, edit, t, by, &mut buf);
            c.moved += u64::from(ok);
            ok
        }
        Kindof::Comment => {
            add_comment(&mut cur, &mut buf);
            comment = true;
            c.comments += 1;
            true
        }
        Kindof::Edit => {
            // Title, priority, tags, remaining work, or a custom field of the type.
            let custom: Vec<FieldId> = b.type_fields[k as usize]
                .iter()
                .copied()
                .filter(|&fid| fid as usize >= super::process::FIELD_SPECS.len())
                .collect();
            let pick = rng.index(6);
            let ok = match pick {
                0 => apply_edit(b, rng, project, k, &mut cur, Edit::Title, t, by, &mut buf),
                1 => apply_edit(
                    b,
                    rng,
                    project,
                    k,
                    &mut cur,
                    Edit::Priority,
                    t,
                    by,
                    &mut buf,
                ),
                2 => apply_edit(b, rng, project, k, &mut cur, Edit::Tags, t, by, &mut buf),
                3 => apply_edit(b, rng, project, k, &mut cur, Edit::Burn, t, by, &mut buf),
                4 if !custom.is_empty() => {
                    let fid = *rng.pick(&custom);
                    let v = format!("value {}", rng.range(1, 99));
                    buf.push(Change {
                        field: fid,
                        val: Val::Str(b.strings.intern(&v)),
                    });
                    true
                }
                _ => {
                    let v = *rng.pick(&IMPACTS);
                    let team = b.projects[project].teams
                        [rng.index(b.projects[project].teams.len())]
                    .name
                    .clone();
                    let (field, val) = if rng.chance(0.5)
                        && (k == super::process::STORY || k == super::process::BUG)
                    {
                        (f::CUSTOMER_IMPACT, v.to_string())
                    } else {
                        (f::CUSTOM_TEAM, team)
                    };
                    buf.push(Change {
                        field,
                        val: Val::Str(b.strings.intern(&val)),
                    });
                    true
                }
            };
            c.edited += u64::from(ok);
            ok
        }
        _ => false,
    };
    if !ok {
        return false;
    }
    b.add_revision(id, t, by, &buf, comment);
    true
}

fn change_link(b: &mut Boards, rng: &mut Rng, users: usize, clock: i64, c: &mut Counts) -> bool {
    let related: Vec<(u32, u32)> = b
        .links
        .iter()
        .filter(|l| l.2 == LinkKind::Related)
        .filter(|l| !b.items[l.0 as usize - 1].deleted && !b.items[l.1 as usize - 1].deleted)
        .map(|l| (l.0, l.1))
        .collect();
    let remove = !related.is_empty() && rng.chance(0.4);
    let (source, target, active) = if remove {
        let (s, t) = *rng.pick(&related);
        (s, t, false)
    } else {
        let Some(s) = random_live(b, rng) else {
            return false;
        };
        let project = b.items[s as usize - 1].project;
        let Some(t) = random_live(b, rng) else {
            return false;
        };
        let linked = b.links.contains(&(s, t, LinkKind::Related))
            || b.links.contains(&(t, s, LinkKind::Related));
        if t == s || b.items[t as usize - 1].project != project || linked {
            return false;
        }
        (s, t, true)
    };
    let t = now(b, clock);
    let by = rng.index(users) as u32;
    b.add_revision(source, t, by, &[], false);
    b.add_link_event(LinkEvent {
        seq: 0,
        kind: LinkKind::Related,
        source,
        target,
        changed: t,
        active,
    });
    c.links_changed += 1;
    true
}

/// One edit of live work item `id` now, as the random round's edits (title, priority, tags,
/// remaining work or a custom field): a new revision. Answers the new rev; `None` when the
/// item is not live.
pub(crate) fn edit(org: &mut Org, rng: &mut Rng, id: u32) -> Option<u32> {
    let users = org.user_count;
    let clock = org.clock_offset;
    let b = &mut org.boards;
    match b.items.get((id as usize).wrapping_sub(1)) {
        Some(item) if !item.deleted => {}
        _ => return None,
    }
    let mut c = Counts::default();
    // An edit can find nothing to change (no remaining work to burn…): draw again; a title
    // edit always applies, so this ends.
    for _ in 0..30 {
        if change_item(b, rng, users, clock, id, Kindof::Edit, &mut c) {
            org.change_id += 1;
            return Some(org.boards.items[id as usize - 1].rev());
        }
    }
    None
}

/// Destroys a work item that is in the recycle bin (ADO: `DELETE recyclebin/{id}`): it
/// leaves the bin and no endpoint returns it any more. False when it is not in the bin.
pub(crate) fn destroy(org: &mut Org, id: u32) -> bool {
    let Some(item) = org.boards.items.get_mut((id as usize).wrapping_sub(1)) else {
        return false;
    };
    if !item.deleted || item.destroyed {
        return false;
    }
    item.destroyed = true;
    org.change_id += 1;
    true
}

/// Moves a live work item to the recycle bin now. False when it is not live.
pub(crate) fn delete(org: &mut Org, id: u32) -> bool {
    let clock = org.clock_offset;
    let b = &mut org.boards;
    match b.items.get((id as usize).wrapping_sub(1)) {
        Some(item) if !item.deleted => {}
        _ => return false,
    }
    let t = now(b, clock);
    let change = [Change {
        field: f::IS_DELETED,
        val: Val::Bool(true),
    }];
    b.add_revision(id, t, 0, &change, false);
    org.change_id += 1;
    true
}

/// Restores a work item from the recycle bin with a revision that keeps the deletion's
/// `ChangedDate` — what a restore looks like when ADO does not move the date — so the
/// stream shows a restore that is not later than the deletion. Only right after the
/// deletion (no revision since, anywhere in the org), which keeps the stream in date order;
/// false otherwise.
pub(crate) fn restore_at_deletion_time(org: &mut Org, id: u32) -> bool {
    let b = &mut org.boards;
    let Some(item) = b.items.get((id as usize).wrapping_sub(1)) else {
        return false;
    };
    let Some(last) = item.revs.last() else {
        return false;
    };
    if !item.deleted || item.destroyed || !last.deleted || last.changed != b.last_change {
        return false;
    }
    let (t, by) = (last.changed, last.by);
    let change = [Change {
        field: f::IS_DELETED,
        val: Val::Clear,
    }];
    b.add_revision(id, t, by, &change, false);
    org.change_id += 1;
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Sizes, generate};

    fn org() -> Org {
        let sizes = Sizes {
            projects: 2,
            repos_per_project: 1,
            prs_per_repo: 5,
            work_items_per_project: 60,
        };
        generate("contoso", 5, &sizes, time::today_midnight_ticks())
    }

    #[test]
    fn every_change_is_a_new_revision_in_order() {
        let mut o = org();
        let before_revs = o.boards.stream.len();
        let before_wm = o.boards.next_watermark;
        let c = mutate(&mut o, 9, 200);
        let b = &o.boards;
        let total: u64 = c.entries().iter().map(|e| e.1).sum();
        assert_eq!(total, 200);
        let revisions = (c.edited
            + c.state_changed
            + c.reassigned
            + c.moved
            + c.created
            + c.comments
            + c.links_changed
            + c.deleted
            + c.restored) as usize;
        assert_eq!(b.stream.len(), before_revs + revisions);
        let new = &b.stream[before_revs..];
        assert!(new.windows(2).all(|w| w[0].wm < w[1].wm));
        assert_eq!(new[0].wm, before_wm);
        let mut prev = i64::MIN;
        for e in new {
            let it = &b.items[e.id as usize - 1];
            assert!(it.revs.len() as u32 >= e.rev);
            let t = it.revs[e.rev as usize - 1].changed;
            assert!(t > prev);
            prev = t;
        }
        assert!(c.deleted > 0 && c.created > 0 && c.state_changed > 0);
    }

    #[test]
    fn same_seed_same_changes() {
        let (mut a, mut d) = (org(), org());
        let ca = mutate(&mut a, 3, 50);
        let cd = mutate(&mut d, 3, 50);
        assert_eq!(ca.entries(), cd.entries());
        let shape = |o: &Org| {
            o.boards
                .items
                .iter()
                .map(|i| (i.revs.len(), i.changes.len(), i.deleted))
                .collect::<Vec<_>>()
        };
        assert_eq!(shape(&a), shape(&d));
    }
}
