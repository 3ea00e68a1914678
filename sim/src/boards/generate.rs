//! Generation of the Boards data from a seed: teams, areas, iterations, graph users and work
//! items with realistic revision histories and links.
//!
//! Everything is drawn from its own PRNG stream, after the PRs, so adding Boards data never
//! changes the generated PRs of a seed. Histories follow the Agile workflow
//! (New → Active → Resolved → Closed; Tasks skip Resolved), with reassignment, sprint moves,
//! tag edits, remaining-work burn-down and comments between the state changes. Work item ids
//! are org-wide and follow creation order, as in ADO; every revision lies in the two years
//! before the start time and watermarks follow ChangedDate (see the module docs of `boards`).
//! Dates are whole milliseconds, the precision ADO keeps for work item dates.

use super::process::{
    BUG, COMMON_FIELDS, EPIC, FEATURE, FIELD_SPECS, FieldId, Kind, LinkKind, STORY, State, TASK,
    TYPES, f,
};
use super::{
    Boards, Change, GraphUser, LinkEvent, Node, ProjectBoards, RevMeta, StreamEntry, Team, Tree,
    Val, WorkItem, builtin_fields,
};
use crate::data::HISTORY_TICKS;
use crate::model::Org;
use crate::rng::Rng;
use crate::time::{TICKS_PER_DAY, TICKS_PER_SEC};

pub(crate) const TICKS_PER_MS: i64 = TICKS_PER_SEC / 1000;
const SPRINT_DAYS: i64 = 14;
const SPRINTS_PER_RELEASE: usize = 6;
/// Sprints planned beyond the start time.
const FUTURE_SPRINTS: i64 = 4;

const TEAM_NAMES: [&str; 8] = [
    "Web",
    "Mobile",
    "Platform",
    "Data",
    "Payments",
    "Search",
    "Identity",
    "Reliability",
];
const SUB_AREAS: [&str; 4] = ["API", "UI", "Infrastructure", "Docs"];
pub(crate) const TAGS: [&str; 12] = [
    "backend",
    "blocked",
    "customer",
    "frontend",
    "infra",
    "needs-triage",
    "performance",
    "regression",
    "security",
    "tech-debt",
    "ux",
    "wont-fix-soon",
];
const EPIC_VERBS: [&str; 6] = [
    "Modernize",
    "Rebuild",
    "Scale",
    "Launch",
    "Consolidate",
    "Secure",
];
const EPIC_SUBJECTS: [&str; 8] = [
    "the billing platform",
    "search",
    "the mobile experience",
    "identity and access",
    "the data warehouse",
    "checkout",
    "observability",
    "onboarding",
];
const ROLES: [&str; 5] = [
    "user",
    "admin",
    "support agent",
    "tenant owner",
    "developer",
];
const ACTIONS: [&str; 10] = [
    "export my invoices as CSV",
    "reset my password without calling support",
    "see why a payment failed",
    "filter the audit log by user",
    "invite teammates by email",
    "switch between organizations",
    "search across all projects",
    "schedule a report",
    "rotate API keys",
    "undo a bulk edit",
];
const SYMPTOMS: [&str; 8] = [
    "returns 500",
    "times out",
    "shows stale data",
    "crashes on start",
    "leaks memory",
    "renders blank",
    "double-charges",
    "loses the session",
];
pub(crate) const IMPACTS: [&str; 3] = ["Low", "Medium", "High"];
const SEVERITIES: [&str; 4] = ["1 - Critical", "2 - High", "3 - Medium", "4 - Low"];

/// Type mix of generated items (Epic, Feature, User Story, Task, Bug).
const TYPE_WEIGHTS: [u32; 5] = [3, 8, 36, 38, 15];
/// Revisions per item, 1..=10; mean ≈ 5.1.
const REV_WEIGHTS: [u32; 10] = [8, 10, 12, 14, 14, 12, 10, 8, 6, 6];

/// Rounds down to whole milliseconds.
pub(crate) fn ms(t: i64) -> i64 {
    t.div_euclid(TICKS_PER_MS) * TICKS_PER_MS
}

/// Builds the Boards data of `org` (projects and identities must exist).
pub(crate) fn generate(org: &Org, seed: u64, per_project: usize, start: i64) -> Boards {
    let mut rng = Rng::derive(seed, 0xB0A2_D500);
    let mut b = Boards {
        fields: builtin_fields(),
        type_fields: TYPES
            .iter()
            .map(|t| {
                let mut v: Vec<FieldId> = COMMON_FIELDS.to_vec();
                v.extend_from_slice(t.extra_fields);
                v.sort_unstable();
                v
            })
            .collect(),
        next_watermark: 1,
        next_node_id: 1,
        tenant: rng.guid(),
        ..Boards::default()
    };
    debug_assert_eq!(b.fields.len(), FIELD_SPECS.len());
    for t in &TYPES {
        let ty = b.strings.intern(t.name);
        b.lex.types.push(ty);
        let reasons = t.reasons.map(|r| b.strings.intern(r));
        b.lex.reasons.push(reasons);
    }
    for s in [
        State::New,
        State::Active,
        State::Resolved,
        State::Closed,
        State::Removed,
    ] {
        let i = b.strings.intern(s.name());
        b.lex.states.push(i);
    }
    for _ in 0..org.user_count {
        b.graph.push(GraphUser {
            origin_id: rng.guid(),
        });
    }
    for p in 0..org.projects.len() {
        let name = b.strings.intern(&org.projects[p].name);
        b.lex.projects.push(name);
        let pb = project_boards(&mut b, &mut rng, org, p, start);
        b.projects.push(pb);
    }
    generate_items(&mut b, &mut rng, org, per_project, start);
    b
}

fn new_node(
    b: &mut Boards,
    rng: &mut Rng,
    tree: &mut Tree,
    parent: Option<usize>,
    name: &str,
    dates: Option<(i64, i64)>,
    project_name: &str,
) -> usize {
    let i = tree.nodes.len();
    let mut path = project_name.to_string();
    if let Some(p) = parent {
        for s in tree.segments(p) {
            path.push('\\');
            path.push_str(s);
        }
        path.push('\\');
        path.push_str(name);
    }
    let path = b.strings.intern(&path);
    tree.nodes.push(Node {
        id: b.next_node_id,
        identifier: rng.guid(),
        name: name.to_string(),
        parent,
        children: Vec::new(),
        dates,
        path,
    });
    b.next_node_id += 1;
    if let Some(p) = parent {
        tree.nodes[p].children.push(i);
    }
    i
}

/// Adds sprint `k` (0-based, 14 days each from `anchor`) under its release, creating the
/// release when it starts. Used by generation and by the "new iteration" mutation.
pub(crate) fn add_sprint(
    b: &mut Boards,
    rng: &mut Rng,
    tree: &mut Tree,
    sprints: &mut Vec<usize>,
    anchor: i64,
    project_name: &str,
) {
    let k = sprints.len();
    let s_start = anchor + k as i64 * SPRINT_DAYS * TICKS_PER_DAY;
    // Monday of week one to Friday of week two, as ADO's sprint dialog proposes.
    let s_finish = s_start + (SPRINT_DAYS - 3) * TICKS_PER_DAY;
    let release = k / SPRINTS_PER_RELEASE;
    let release_node = if k.is_multiple_of(SPRINTS_PER_RELEASE) {
        let name = format!("Release {}", release + 1);
        new_node(b, rng, tree, Some(0), &name, None, project_name)
    } else {
        tree.nodes[0].children[release]
    };
    let name = format!("Sprint {}", k + 1);
    let node = new_node(
        b,
        rng,
        tree,
        Some(release_node),
        &name,
        Some((s_start, s_finish)),
        project_name,
    );
    sprints.push(node);
    // The release spans its sprints.
    let first = tree.nodes[release_node].children[0];
    let from = tree.nodes[first].dates.map_or(s_start, |d| d.0);
    tree.nodes[release_node].dates = Some((from, s_finish));
}

/// The first sprint's start: two years before `start`, at midnight.
pub(crate) fn sprint_anchor(start: i64) -> i64 {
    (start - HISTORY_TICKS).div_euclid(TICKS_PER_DAY) * TICKS_PER_DAY
}

fn project_boards(b: &mut Boards, rng: &mut Rng, org: &Org, p: usize, start: i64) -> ProjectBoards {
    let pname = org.projects[p].name.clone();
    let mut pb = ProjectBoards::default();

    // Areas: the root (the default team's), one per other team, some with sub-areas.
    let mut areas = Tree::default();
    new_node(b, rng, &mut areas, None, &pname, None, &pname);
    let n_teams = if rng.chance(0.5) { 2 } else { 3 };
    let mut names: Vec<&str> = TEAM_NAMES.to_vec();
    rng.shuffle(&mut names);
    let mut team_names = vec![format!("{pname} Team")];
    team_names.extend(names.iter().take(n_teams - 1).map(|s| s.to_string()));
    for (t, name) in team_names.iter().enumerate() {
        let area = if t == 0 {
            0
        } else {
            let a = new_node(b, rng, &mut areas, Some(0), name, None, &pname);
            for sub in SUB_AREAS.iter().take(rng.index(3)) {
                new_node(b, rng, &mut areas, Some(a), sub, None, &pname);
            }
            a
        };
        let size = if t == 0 {
            rng.range(8, 14)
        } else {
            rng.range(4, 8)
        } as usize;
        let mut pool: Vec<usize> = (0..org.user_count).collect();
        rng.shuffle(&mut pool);
        let mut members: Vec<(usize, bool)> = pool
            .into_iter()
            .take(size)
            .enumerate()
            .map(|(k, u)| (u, k == 0 || rng.chance(0.1)))
            .collect();
        members.sort_by(|a, b2| {
            org.identities[a.0]
                .display_name
                .cmp(&org.identities[b2.0].display_name)
        });
        pb.teams.push(Team {
            id: rng.guid(),
            name: name.clone(),
            description: if t == 0 {
                "The default project team.".to_string()
            } else {
                format!("The {name} team.")
            },
            members,
            area,
        });
    }
    pb.areas = areas;

    // Iterations: releases of six two-week sprints over the history, plus a few ahead.
    let mut iterations = Tree::default();
    new_node(b, rng, &mut iterations, None, &pname, None, &pname);
    let anchor = sprint_anchor(start);
    let count = (HISTORY_TICKS / TICKS_PER_DAY) / SPRINT_DAYS + 1 + FUTURE_SPRINTS;
    let mut sprints = Vec::new();
    for _ in 0..count {
        add_sprint(b, rng, &mut iterations, &mut sprints, anchor, &pname);
    }
    pb.iterations = iterations;
    pb.sprints = sprints;
    pb
}

/// A work item's mutable state while its history is written.
pub(crate) struct Cur {
    pub state: State,
    pub assigned: Option<u32>,
    pub team: usize,
    pub tags: Vec<&'static str>,
    pub remaining: Option<f64>,
    pub priority: i64,
    pub comments: i64,
}

pub(crate) fn title(rng: &mut Rng, kind: Kind) -> String {
    match kind {
        EPIC => format!("{} {}", rng.pick(&EPIC_VERBS), rng.pick(&EPIC_SUBJECTS)),
        STORY => format!("As a {}, I can {}", rng.pick(&ROLES), rng.pick(&ACTIONS)),
        BUG => {
            let t = crate::data::title(rng);
            let subject = t.split_once(' ').map_or(t.as_str(), |(_, s)| s).to_string();
            format!("{subject} {}", rng.pick(&SYMPTOMS))
        }
        _ => crate::data::title(rng),
    }
}

/// The long-text (HTML) fields of a new item, Description first, derived from its title so
/// that generation draws nothing more from the random stream. The markup and the escaped
/// `&amp;` / non-ASCII text are there so a store that mangles HTML shows up in the truth
/// comparison.
pub(crate) fn long_texts(kind: Kind, title: &str) -> impl Iterator<Item = (FieldId, String)> {
    let escaped = title.replace('&', "&amp;").replace('<', "&lt;");
    let description = (
        f::DESCRIPTION,
        format!(
            "<div><b>{escaped}</b></div><div>Context &amp; scope — see the linked items.<br></div>"
        ),
    );
    let extra = match kind {
        BUG => Some((
            f::REPRO_STEPS,
            format!(
                "<ol><li>Open the page</li><li>{escaped}</li></ol><p>Expected: no error. Actual: « {escaped} ».</p>"
            ),
        )),
        STORY => Some((
            f::ACCEPTANCE_CRITERIA,
            format!("<ul><li>Given a user, when {escaped}, then it works</li></ul>"),
        )),
        _ => None,
    };
    std::iter::once(description).chain(extra)
}

fn pick_str(rng: &mut Rng, xs: &[&'static str]) -> &'static str {
    xs[rng.index(xs.len())]
}

pub(crate) fn tags_string(tags: &[&str]) -> String {
    tags.join("; ")
}

fn draw_tags(rng: &mut Rng) -> Vec<&'static str> {
    let n = rng.weighted(&[55, 25, 15, 5]);
    let mut pool = TAGS.to_vec();
    rng.shuffle(&mut pool);
    let mut t: Vec<&'static str> = pool.into_iter().take(n).collect();
    t.sort_unstable();
    t
}

/// The changes of a new item's first revision (generation and the "create" mutation).
#[allow(clippy::too_many_arguments)]
pub(crate) fn initial_changes(
    b: &mut Boards,
    rng: &mut Rng,
    project: usize,
    kind: Kind,
    parent: Option<u32>,
    t: i64,
    by: u32,
    out: &mut Vec<Change>,
) -> Cur {
    let pb = &b.projects[project];
    let team = rng.index(pb.teams.len());
    let area_node = {
        let a = pb.teams[team].area;
        let kids = &pb.areas.nodes[a].children;
        if !kids.is_empty() && rng.chance(0.4) {
            kids[rng.index(kids.len())]
        } else {
            a
        }
    };
    let area = pb.areas.nodes[area_node].path;
    let members: Vec<u32> = pb.teams[team].members.iter().map(|m| m.0 as u32).collect();
    let team_name = pb.teams[team].name.clone();
    // Stories, tasks and bugs are often planned into the running sprint right away.
    let iteration = match kind {
        STORY | TASK | BUG if rng.chance(0.5) => b
            .sprint_at(project, t)
            .map_or(pb.iterations.nodes[0].path, |s| pb.iterations.nodes[s].path),
        _ => pb.iterations.nodes[0].path,
    };
    let spec = &TYPES[kind as usize];
    let mut push = |field: FieldId, val: Val| out.push(Change { field, val });
    push(f::AREA_PATH, Val::Str(area));
    push(f::TEAM_PROJECT, Val::Str(b.lex.projects[project]));
    push(f::ITERATION_PATH, Val::Str(iteration));
    push(f::WORK_ITEM_TYPE, Val::Str(b.lex.types[kind as usize]));
    push(f::STATE, Val::Str(b.lex.state(State::New)));
    push(f::REASON, Val::Str(b.lex.reasons[kind as usize][0]));
    let assigned = (!members.is_empty() && rng.chance(0.6)).then(|| *rng.pick(&members));
    if let Some(a) = assigned {
        push(f::ASSIGNED_TO, Val::Ident(a));
    }
    push(f::CREATED_DATE, Val::Date(t));
    push(f::CREATED_BY, Val::Ident(by));
    push(f::COMMENT_COUNT, Val::Int(0));
    let title = title(rng, kind);
    push(f::TITLE, Val::Str(b.strings.intern(&title)));
    for (field, text) in long_texts(kind, &title) {
        push(field, Val::Str(b.strings.intern(&text)));
    }
    let tags = draw_tags(rng);
    if !tags.is_empty() {
        push(f::TAGS, Val::Str(b.strings.intern(&tags_string(&tags))));
    }
    if let Some(p) = parent {
        push(f::PARENT, Val::Int(i64::from(p)));
    }
    push(f::STATE_CHANGE_DATE, Val::Date(t));
    let priority = [1, 2, 2, 2, 3, 3, 4][rng.index(7)];
    push(f::PRIORITY, Val::Int(priority));
    let mut remaining = None;
    match kind {
        EPIC | FEATURE if rng.chance(0.6) => {
            push(
                f::EFFORT,
                Val::Num(*rng.pick(&[5.0, 8.0, 13.0, 20.0, 40.0])),
            );
        }
        STORY if rng.chance(0.7) => {
            push(
                f::STORY_POINTS,
                Val::Num(*rng.pick(&[1.0, 2.0, 3.0, 5.0, 8.0, 13.0])),
            );
        }
        TASK if rng.chance(0.8) => {
            let r = *rng.pick(&[1.0, 2.0, 4.0, 6.0, 8.0, 12.0, 16.0]);
            remaining = Some(r);
            push(f::REMAINING_WORK, Val::Num(r));
        }
        BUG => {
            push(
                f::SEVERITY,
                Val::Str(b.strings.intern(pick_str(rng, &SEVERITIES))),
            );
        }
        _ => {}
    }
    if matches!(kind, STORY | BUG) && rng.chance(0.4) {
        push(
            f::CUSTOMER_IMPACT,
            Val::Str(b.strings.intern(pick_str(rng, &IMPACTS))),
        );
    }
    push(f::CUSTOM_TEAM, Val::Str(b.strings.intern(&team_name)));
    debug_assert!(spec.has(State::New));
    Cur {
        state: State::New,
        assigned,
        team,
        tags,
        remaining,
        priority,
        comments: 0,
    }
}

/// The changes of a state transition, with the dates and people ADO's rules stamp.
pub(crate) fn transition(
    b: &Boards,
    kind: Kind,
    cur: &mut Cur,
    to: State,
    t: i64,
    by: u32,
    out: &mut Vec<Change>,
) {
    let spec = &TYPES[kind as usize];
    let reactivated = to == State::Active
        && matches!(cur.state, State::Resolved | State::Closed | State::Removed);
    let reason_slot = if reactivated {
        5
    } else {
        super::state_slot(to)
    };
    let mut push = |field: FieldId, val: Val| out.push(Change { field, val });
    push(f::STATE, Val::Str(b.lex.state(to)));
    push(
        f::REASON,
        Val::Str(b.lex.reasons[kind as usize][reason_slot]),
    );
    push(f::STATE_CHANGE_DATE, Val::Date(t));
    let has_resolved = spec.has(State::Resolved);
    match to {
        State::Active => {
            push(f::ACTIVATED_DATE, Val::Date(t));
            push(f::ACTIVATED_BY, Val::Ident(by));
            if reactivated {
                if has_resolved {
                    push(f::RESOLVED_DATE, Val::Clear);
                    push(f::RESOLVED_BY, Val::Clear);
                }
                push(f::CLOSED_DATE, Val::Clear);
                push(f::CLOSED_BY, Val::Clear);
            }
            if cur.assigned.is_none() {
                cur.assigned = Some(by);
                push(f::ASSIGNED_TO, Val::Ident(by));
            }
        }
        State::Resolved => {
            push(f::RESOLVED_DATE, Val::Date(t));
            push(f::RESOLVED_BY, Val::Ident(by));
        }
        State::Closed => {
            push(f::CLOSED_DATE, Val::Date(t));
            push(f::CLOSED_BY, Val::Ident(by));
            if cur.remaining.is_some_and(|r| r > 0.0) {
                cur.remaining = Some(0.0);
                push(f::REMAINING_WORK, Val::Num(0.0));
            }
        }
        State::New => {
            push(f::ACTIVATED_DATE, Val::Clear);
            push(f::ACTIVATED_BY, Val::Clear);
        }
        State::Removed => {}
    }
    cur.state = to;
}

/// Something that happens to an item between two state changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Edit {
    Advance,
    Reassign,
    Iteration,
    Area,
    Tags,
    Burn,
    Priority,
    Title,
    Comment,
    Impact,
    Reopen,
    Remove,
}

const EDITS: [(Edit, u32); 12] = [
    (Edit::Advance, 36),
    (Edit::Reassign, 14),
    (Edit::Iteration, 11),
    (Edit::Area, 3),
    (Edit::Tags, 8),
    (Edit::Burn, 10),
    (Edit::Priority, 5),
    (Edit::Title, 4),
    (Edit::Comment, 9),
    (Edit::Impact, 3),
    (Edit::Reopen, 3),
    (Edit::Remove, 1),
];

/// Applies `edit` if it makes sense for the item now; false when it does not (draw again).
#[allow(clippy::too_many_arguments)]
pub(crate) fn apply_edit(
    b: &mut Boards,
    rng: &mut Rng,
    project: usize,
    kind: Kind,
    cur: &mut Cur,
    edit: Edit,
    t: i64,
    by: u32,
    out: &mut Vec<Change>,
) -> bool {
    let spec = &TYPES[kind as usize];
    match edit {
        Edit::Advance => {
            let Some(to) = spec.next(cur.state) else {
                return false;
            };
            transition(b, kind, cur, to, t, by, out);
            // Work that starts lands in the running sprint.
            if to == State::Active
                && matches!(kind, STORY | TASK | BUG)
                && let Some(s) = b.sprint_at(project, t)
            {
                let path = b.projects[project].iterations.nodes[s].path;
                out.push(Change {
                    field: f::ITERATION_PATH,
                    val: Val::Str(path),
                });
            }
            true
        }
        Edit::Reopen => {
            if !matches!(cur.state, State::Resolved | State::Closed) {
                return false;
            }
            transition(b, kind, cur, State::Active, t, by, out);
            true
        }
        Edit::Remove => {
            if cur.state != State::New || !spec.has(State::Removed) {
                return false;
            }
            transition(b, kind, cur, State::Removed, t, by, out);
            true
        }
        Edit::Reassign => {
            let members = &b.projects[project].teams[cur.team].members;
            let pick = members[rng.index(members.len())].0 as u32;
            if cur.assigned.is_some() && rng.chance(0.1) {
                cur.assigned = None;
                out.push(Change {
                    field: f::ASSIGNED_TO,
                    val: Val::Clear,
                });
                return true;
            }
            if cur.assigned == Some(pick) {
                return false;
            }
            cur.assigned = Some(pick);
            out.push(Change {
                field: f::ASSIGNED_TO,
                val: Val::Ident(pick),
            });
            true
        }
        Edit::Iteration => {
            let pb = &b.projects[project];
            let Some(now) = b.sprint_at(project, t) else {
                return false;
            };
            let k = pb.sprints.iter().position(|&s| s == now).unwrap_or(0);
            let target = (k + rng.index(3)).min(pb.sprints.len() - 1);
            let path = pb.iterations.nodes[pb.sprints[target]].path;
            out.push(Change {
                field: f::ITERATION_PATH,
                val: Val::Str(path),
            });
            true
        }
        Edit::Area => {
            let nodes = &b.projects[project].areas.nodes;
            let path = nodes[rng.index(nodes.len())].path;
            out.push(Change {
                field: f::AREA_PATH,
                val: Val::Str(path),
            });
            true
        }
        Edit::Tags => {
            let tag = *rng.pick(&TAGS);
            if let Some(p) = cur.tags.iter().position(|x| *x == tag) {
                cur.tags.remove(p);
            } else {
                cur.tags.push(tag);
                cur.tags.sort_unstable();
            }
            let val = if cur.tags.is_empty() {
                Val::Clear
            } else {
                Val::Str(b.strings.intern(&tags_string(&cur.tags)))
            };
            out.push(Change {
                field: f::TAGS,
                val,
            });
            true
        }
        Edit::Burn => {
            let Some(r) = cur.remaining.filter(|r| *r > 0.0) else {
                return false;
            };
            let next = (r - *rng.pick(&[1.0, 2.0, 4.0])).max(0.0);
            cur.remaining = Some(next);
            out.push(Change {
                field: f::REMAINING_WORK,
                val: Val::Num(next),
            });
            true
        }
        Edit::Priority => {
            let p = rng.range(1, 4);
            if p == cur.priority {
                return false;
            }
            cur.priority = p;
            out.push(Change {
                field: f::PRIORITY,
                val: Val::Int(p),
            });
            true
        }
        Edit::Title => {
            let t = title(rng, kind);
            out.push(Change {
                field: f::TITLE,
                val: Val::Str(b.strings.intern(&t)),
            });
            // A retitled item gets its description rewritten with it, so later revisions
            // change long-text fields too.
            let description = long_texts(kind, &t).next().expect("every type has one");
            out.push(Change {
                field: description.0,
                val: Val::Str(b.strings.intern(&description.1)),
            });
            true
        }
        Edit::Impact => {
            if !matches!(kind, STORY | BUG) {
                return false;
            }
            out.push(Change {
                field: f::CUSTOMER_IMPACT,
                val: Val::Str(b.strings.intern(pick_str(rng, &IMPACTS))),
            });
            true
        }
        // A comment is recorded by the caller (the revision's flag and the count).
        Edit::Comment => true,
    }
}

pub(crate) fn add_comment(cur: &mut Cur, out: &mut Vec<Change>) {
    cur.comments += 1;
    out.push(Change {
        field: f::COMMENT_COUNT,
        val: Val::Int(cur.comments),
    });
}

/// Picks the author of a change: usually a member of the item's team.
pub(crate) fn actor(b: &Boards, rng: &mut Rng, project: usize, cur: &Cur, users: usize) -> u32 {
    let members = &b.projects[project].teams[cur.team].members;
    if !members.is_empty() && rng.chance(0.85) {
        members[rng.index(members.len())].0 as u32
    } else {
        rng.index(users) as u32
    }
}

fn generate_items(b: &mut Boards, rng: &mut Rng, org: &Org, per_project: usize, start: i64) {
    let projects = org.projects.len();
    let total = projects * per_project;
    if total == 0 {
        return;
    }
    let mut slots: Vec<usize> = (0..projects)
        .flat_map(|p| std::iter::repeat_n(p, per_project))
        .collect();
    rng.shuffle(&mut slots);
    let first_tick = start - HISTORY_TICKS;
    let step = HISTORY_TICKS / total as i64;
    // Per project: ids by kind (parents are picked among recent ones) and all ids.
    let mut by_kind: Vec<[Vec<u32>; 5]> = vec![Default::default(); projects];
    let mut all_ids: Vec<Vec<u32>> = vec![Vec::new(); projects];
    let mut events: Vec<LinkEvent> = Vec::new();
    let mut buf: Vec<Change> = Vec::new();
    b.items.reserve(total);
    let edit_weights: Vec<u32> = EDITS.iter().map(|e| e.1).collect();
    let mut last_creation = i64::MIN;
    let mut countdown: Vec<usize> = (0..projects).map(|_| rng.range(5, 40) as usize).collect();

    for (i, &p) in slots.iter().enumerate() {
        let id = i as u32 + 1;
        let creation = ms(first_tick + i as i64 * step + rng.range(0, (step - 1).max(0)))
            .max(last_creation + TICKS_PER_MS);
        last_creation = creation;
        let kind = rng.weighted(&TYPE_WEIGHTS) as Kind;
        let parent_p = match kind {
            TASK => 0.9,
            STORY => 0.85,
            FEATURE => 0.8,
            BUG => 0.35,
            _ => 0.0,
        };
        let parent = TYPES[kind as usize].parent.and_then(|pk| {
            let cands = &by_kind[p][pk as usize];
            (!cands.is_empty() && rng.chance(parent_p)).then(|| {
                let recent = cands.len().min(25);
                cands[cands.len() - 1 - rng.index(recent)]
            })
        });

        // Revision times: increasing, all before `start`.
        let n = rng.weighted(&REV_WEIGHTS) + 1;
        let mut times = vec![creation];
        let mean_gap = ((start - creation) / (n as i64 + 1)).min(6 * TICKS_PER_DAY);
        while times.len() < n {
            let prev = *times.last().unwrap_or(&creation);
            let room = start - prev;
            if room <= 2 * TICKS_PER_MS {
                break;
            }
            let gap = (-(1.0 - rng.f64()).ln() * mean_gap as f64) as i64;
            let gap = gap.clamp(TICKS_PER_MS, room / 2);
            times.push(ms(prev + gap).max(prev + TICKS_PER_MS));
        }

        let mut item = WorkItem {
            id,
            project: p,
            kind,
            state: State::New,
            deleted: false,
            destroyed: false,
            revs: Vec::with_capacity(times.len()),
            changes: Vec::new(),
        };
        let creator = rng.index(org.user_count) as u32;
        buf.clear();
        let mut cur = initial_changes(b, rng, p, kind, parent, creation, creator, &mut buf);
        item.changes.extend_from_slice(&buf);
        item.revs.push(RevMeta {
            watermark: 0,
            changed: creation,
            by: creator,
            end: item.changes.len() as u32,
            comment: false,
            deleted: false,
        });
        if let Some(parent) = parent {
            events.push(LinkEvent {
                seq: 0,
                kind: LinkKind::Hierarchy,
                source: parent,
                target: id,
                changed: creation,
                active: true,
            });
        }
        // About one item in fifty ends in the recycle bin: a countdown per project, so even
        // a small project has some.
        let delete_last = times.len() >= 3 && countdown[p] == 0;
        if delete_last {
            countdown[p] = rng.range(20, 80) as usize;
        } else {
            countdown[p] = countdown[p].saturating_sub(1);
        }
        for (r, &t) in times.iter().enumerate().skip(1) {
            let by = actor(b, rng, p, &cur, org.user_count);
            buf.clear();
            let last = r + 1 == times.len();
            let mut comment = false;
            if last && delete_last {
                buf.push(Change {
                    field: f::IS_DELETED,
                    val: Val::Bool(true),
                });
            } else {
                let mut done = false;
                for _ in 0..12 {
                    let edit = EDITS[rng.weighted(&edit_weights)].0;
                    if apply_edit(b, rng, p, kind, &mut cur, edit, t, by, &mut buf) {
                        comment = edit == Edit::Comment || rng.chance(0.12);
                        done = true;
                        break;
                    }
                }
                if !done {
                    comment = true;
                }
                if comment {
                    add_comment(&mut cur, &mut buf);
                }
            }
            item.changes.extend_from_slice(&buf);
            item.revs.push(RevMeta {
                watermark: 0,
                changed: t,
                by,
                end: item.changes.len() as u32,
                comment,
                deleted: last && delete_last,
            });
        }
        item.state = cur.state;
        item.deleted = delete_last;

        // Related links, added on one of the item's later revisions, some removed again.
        if item.revs.len() >= 2 && rng.chance(0.1) && all_ids[p].len() >= 2 {
            let r = 1 + rng.index(item.revs.len() - 1);
            let target = all_ids[p][rng.index(all_ids[p].len())];
            if Some(target) != parent {
                events.push(LinkEvent {
                    seq: 0,
                    kind: LinkKind::Related,
                    source: id,
                    target,
                    changed: item.revs[r].changed,
                    active: true,
                });
                if r + 1 < item.revs.len() && rng.chance(0.25) {
                    let r2 = r + 1 + rng.index(item.revs.len() - r - 1);
                    events.push(LinkEvent {
                        seq: 0,
                        kind: LinkKind::Related,
                        source: id,
                        target,
                        changed: item.revs[r2].changed,
                        active: false,
                    });
                }
            }
        }
        by_kind[p][kind as usize].push(id);
        all_ids[p].push(id);
        b.items.push(item);
    }

    // Watermarks in change order; streams in watermark order.
    let mut order: Vec<(i64, u32, u32)> = b
        .items
        .iter()
        .flat_map(|it| {
            it.revs
                .iter()
                .enumerate()
                .map(move |(r, m)| (m.changed, it.id, r as u32 + 1))
        })
        .collect();
    order.sort_unstable();
    b.stream.reserve(order.len());
    for (wm, &(changed, id, rev)) in order.iter().enumerate() {
        let wm = wm as u64 + 1;
        let item = &mut b.items[id as usize - 1];
        item.revs[rev as usize - 1].watermark = wm;
        let e = StreamEntry { wm, id, rev };
        b.projects[item.project].stream.push(e);
        b.stream.push(e);
        b.last_change = b.last_change.max(changed);
    }
    b.next_watermark = order.len() as u64 + 1;

    // Link events in time order (stable: a link is added before it is removed).
    events.sort_by_key(|e| e.changed);
    for e in events {
        b.add_link_event(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Sizes, generate as generate_org};

    fn org(per_project: usize) -> Org {
        let sizes = Sizes {
            projects: 2,
            repos_per_project: 1,
            prs_per_repo: 5,
            work_items_per_project: per_project,
        };
        generate_org("contoso", 3, &sizes, 1_700_000_000 * TICKS_PER_SEC)
    }

    #[test]
    fn histories_are_ordered_and_sized() {
        let o = org(500);
        let b = &o.boards;
        assert_eq!(b.items.len(), 1000);
        let revs: usize = b.items.iter().map(|i| i.revs.len()).sum();
        assert!((4500..5600).contains(&revs), "{revs}");
        assert_eq!(b.stream.len(), revs);
        assert!(b.stream.windows(2).all(|w| w[0].wm < w[1].wm));
        let start = 1_700_000_000 * TICKS_PER_SEC;
        let mut prev_changed = i64::MIN;
        for e in &b.stream {
            let m = &b.items[e.id as usize - 1].revs[e.rev as usize - 1];
            assert!(m.changed >= prev_changed);
            assert!(m.changed < start && m.changed >= start - HISTORY_TICKS);
            assert_eq!(m.changed % TICKS_PER_MS, 0);
            prev_changed = m.changed;
        }
        for it in &b.items {
            assert!(it.revs.windows(2).all(|w| w[0].changed < w[1].changed));
            let mut vals = Vec::new();
            b.materialize(it, it.rev(), &mut vals);
            assert_eq!(
                vals[f::STATE as usize],
                Some(Val::Str(b.lex.state(it.state)))
            );
        }
        // Every state of the workflow is reached somewhere, and parents exist.
        for s in [State::New, State::Active, State::Resolved, State::Closed] {
            assert!(b.items.iter().any(|i| i.state == s), "{s:?}");
        }
        assert!(b.links.iter().any(|l| l.2 == LinkKind::Hierarchy));
        assert!(b.link_events.iter().any(|e| !e.active));
        assert!(b.items.iter().any(|i| i.deleted));
    }

    #[test]
    fn same_seed_same_boards() {
        let (a, c) = (org(50), org(50));
        assert_eq!(a.boards.items.len(), c.boards.items.len());
        for (x, y) in a.boards.items.iter().zip(&c.boards.items) {
            assert_eq!(x.revs.len(), y.revs.len());
            assert_eq!(x.changes.len(), y.changes.len());
        }
        // PR generation does not depend on Boards sizes.
        let d = org(0);
        let titles = |o: &Org| o.prs.iter().map(|p| p.title.clone()).collect::<Vec<_>>();
        assert_eq!(titles(&a), titles(&d));
    }
}
