//! The one place the release side names builds: a release's build artifact, and the pipeline
//! (`definition`) and run (`owner`) of a YAML deployment record. They name **real builds** of
//! the Build side (`crate::builds`), which is why the org generates builds before releases.
//!
//! The link, per project (build ids are org-wide, definition ids per project):
//! - A pipeline **slot** stands for one of the project's build definitions. Slots
//!   `0..`[`YAML_SLOT`] (a release definition's `pipeline`) take the project's definitions in
//!   id order, round robin; slots from [`YAML_SLOT`] on (a YAML run) take its YAML definitions
//!   so, or all of them when it has no YAML one.
//! - A release's **artifact** ([`artifact`]) is a build of its definition's slot that
//!   succeeded (or partially) and finished before the artifact time, not a PR build — the
//!   newest such, so a release created by a mutation names the newest suitable build. Every
//!   release of one release definition thus names builds of one build definition.
//! - A YAML **run** ([`run`]) is a build of a YAML definition that started (not a compile
//!   failure, not canceled in the queue): for a run whose records all finished, the completed
//!   build whose finish time is nearest the run's queue time; for a run with a record still
//!   queued or running, a running build (`inProgress`/`cancelling`), else the nearest
//!   finished one (at a mutation's time: the newest). Any YAML definition will do — the
//!   slot's only breaks ties, as time matters more. The record's `definition` is that build's
//!   definition.
//! - Generation gives every run its **own** build while there are unclaimed ones (`taken`),
//!   so `owner` identifies a run as in ADO; only when a project has fewer suitable builds than
//!   runs does a run share a build, and then it takes the first run's `planId`. A mutation's
//!   new record takes the newest suitable build even if it already has records — the run goes
//!   on deploying — with that run's `planId` and the next attempt of a stage it already ran
//!   (`mutate::add_record`).
//! - Deleted builds (retention) are named like any other: they are still served by id.
//!
//! Preferences are ranked, not filtered: when nothing fits (no succeeded build yet, no running
//! one) the best-ranked build of the project is taken. The lookup walks the project's builds
//! outward from the reference time in queue order (ids ascend with it) and stops once a build
//! meeting every preference is found and nothing further can be nearer, so it costs a few
//! builds per reference; only when no build meets every preference is the whole project read.
//!
//! A project without builds (`definitions_per_project = 0`, or no repository) keeps the
//! **synthetic** references of [`synthetic`]: the same project, slot and 10-minute window
//! always give the same made-up build, ids grow with time, numbers have ADO's `yyyyMMdd.r`
//! shape. Nothing here draws from an RNG, so the release side's streams are what they were.

use super::BuildRef;
use crate::builds::{self as b, Build, Outcome, Reason, Status};
use crate::model::Org;
use crate::time::{TICKS_PER_DAY, TICKS_PER_SEC};

/// Pipelines a project can have: slots `0..8` feed release definitions, `8..16` are YAML.
pub(crate) const SLOTS: u32 = 16;
/// The first YAML pipeline slot.
pub(crate) const YAML_SLOT: u32 = 8;
const WINDOW: i64 = 600 * TICKS_PER_SEC;
/// Pipelines per window: ids stay below 2^31 for two years of history plus decades of
/// mutations, with up to 512 projects.
const PER_WINDOW: i64 = 8192;
/// How long after its queue time a build is assumed to have finished at the latest (runs take
/// under three hours) — bounds the walk.
const MARGIN: i64 = TICKS_PER_DAY;

const CD_NAMES: [&str; 8] = [
    "web-app",
    "api",
    "mobile",
    "infra",
    "data-jobs",
    "payments",
    "identity",
    "search",
];

/// What the named build should be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    Artifact,
    Finished,
    Unfinished,
}

/// A build's rank for a reference: preferences (0 = met), most important first, then the
/// distance in time.
type Rank = ([u8; 5], i64);

/// Whether project `project` has builds to name (else references are synthetic).
pub(crate) fn has_builds(org: &Org, project: usize) -> bool {
    org.builds
        .project_builds
        .get(project)
        .is_some_and(|ids| !ids.is_empty())
}

/// The build a release of a definition fed by pipeline `slot` deploys, for an artifact built
/// by `at`.
pub(crate) fn artifact(org: &Org, project: usize, slot: u32, at: i64) -> BuildRef {
    pick(org, project, slot, at, Want::Artifact, &|_| false)
        .unwrap_or_else(|| synthetic(org, project, slot, at))
}

/// The run of YAML pipeline `slot` whose deployment records start at `at`; `unfinished` when
/// one of them is still queued or running. Builds for which `taken` holds are avoided.
pub(crate) fn run(
    org: &Org,
    project: usize,
    slot: u32,
    at: i64,
    unfinished: bool,
    taken: &dyn Fn(u32) -> bool,
) -> BuildRef {
    let want = if unfinished {
        Want::Unfinished
    } else {
        Want::Finished
    };
    pick(org, project, slot, at, want, taken).unwrap_or_else(|| synthetic(org, project, slot, at))
}

fn pick(
    org: &Org,
    project: usize,
    slot: u32,
    at: i64,
    want: Want,
    taken: &dyn Fn(u32) -> bool,
) -> Option<BuildRef> {
    let def = slot_definition(org, project, slot)?;
    let rank = |x: &Build| -> Rank {
        let other_def = u8::from(x.def != def);
        let ran = x.started.is_some() && !x.compile_failed;
        let done = x.status == Status::Completed;
        let t = x.finished.or(x.started).unwrap_or(x.queued);
        let distance = (t - at).abs();
        match want {
            Want::Artifact => {
                let before = done && t <= at;
                let good = matches!(
                    x.result,
                    Some(Outcome::Succeeded | Outcome::PartiallySucceeded)
                ) && x.reason != Reason::PullRequest;
                let state = match (before, good, ran) {
                    (true, true, _) => 0,
                    (true, false, true) => 1,
                    _ => 2,
                };
                ([other_def, state, 0, 0, 0], distance)
            }
            Want::Finished | Want::Unfinished => {
                let classic = u8::from(b::definition(org, x).yaml.is_none());
                let running = matches!(x.status, Status::InProgress | Status::Cancelling);
                let state = if want == Want::Finished {
                    !done
                } else {
                    !running
                };
                // The slot's own definition only breaks ties: time matters more.
                let prefs = [
                    classic,
                    u8::from(!ran),
                    u8::from(taken(x.id)),
                    u8::from(state),
                    0,
                ];
                (prefs, distance.saturating_mul(2) + i64::from(other_def))
            }
        }
    };
    nearest(org, project, at, rank).map(|x| reference(org, x))
}

/// The best-ranked build of the project, walking outward from `at` in queue order.
fn nearest(org: &Org, project: usize, at: i64, rank: impl Fn(&Build) -> Rank) -> Option<&Build> {
    let ids = org.builds.project_builds.get(project)?;
    let get = |i: usize| org.builds.build(ids[i]);
    let queued = |i: usize| get(i).map_or(i64::MIN, |x| x.queued);
    let split = ids.partition_point(|id| org.builds.build(*id).is_some_and(|x| x.queued <= at));
    let (mut lo, mut hi) = (split, split);
    let mut best: Option<(Rank, &Build)> = None;
    loop {
        let back = (lo > 0).then(|| at.saturating_sub(queued(lo - 1)));
        let fwd = (hi < ids.len()).then(|| queued(hi).saturating_sub(at));
        let (i, gap) = match (back, fwd) {
            (Some(gb), Some(gf)) if gb <= gf => {
                lo -= 1;
                (lo, gb)
            }
            (Some(gb), None) => {
                lo -= 1;
                (lo, gb)
            }
            (_, Some(gf)) => {
                hi += 1;
                (hi - 1, gf)
            }
            (None, None) => break,
        };
        // Gaps only grow: once the best meets every preference, a build queued further away
        // than its distance (plus a run's length) cannot beat it.
        if let Some(((prefs, d), _)) = best
            && prefs == [0; 5]
            && gap > d.saturating_add(MARGIN)
        {
            break;
        }
        let Some(x) = get(i) else { continue };
        let r = rank(x);
        if best.as_ref().is_none_or(|(br, _)| r < *br) {
            best = Some((r, x));
        }
    }
    best.map(|(_, x)| x)
}

/// The build definition (index into `Builds::definitions`) pipeline `slot` of `project`
/// stands for; `None` when the project has none.
fn slot_definition(org: &Org, project: usize, slot: u32) -> Option<usize> {
    let defs = org.builds.by_project.get(project)?;
    if slot >= YAML_SLOT {
        let yaml: Vec<usize> = defs
            .iter()
            .copied()
            .filter(|&d| org.builds.definitions[d].yaml.is_some())
            .collect();
        let pool = if yaml.is_empty() { defs } else { &yaml };
        return pool
            .get((slot - YAML_SLOT) as usize % pool.len().max(1))
            .copied();
    }
    defs.get(slot as usize % defs.len().max(1)).copied()
}

/// How a release or record names build `x`.
fn reference(org: &Org, x: &Build) -> BuildRef {
    let d = b::definition(org, x);
    BuildRef {
        definition_id: d.id,
        definition_name: d.name.clone(),
        build_id: x.id,
        build_number: x.number.clone(),
        branch: x.branch.clone(),
    }
}

/// A made-up build of pipeline `slot` of `project` queued at `at`, for projects without
/// builds.
pub(crate) fn synthetic(org: &Org, project: usize, slot: u32, at: i64) -> BuildRef {
    let history_start = org.releases.settings.history_end - crate::data::HISTORY_TICKS;
    let first_window = (history_start - TICKS_PER_DAY).div_euclid(WINDOW);
    let window = at.div_euclid(WINDOW).max(first_window);
    let pipeline = (project as i64 * i64::from(SLOTS) + i64::from(slot)) % PER_WINDOW;
    let build_id = 1 + (window - first_window) * PER_WINDOW + pipeline;
    let day = crate::time::format(window * WINDOW);
    let of_day = (window * WINDOW).rem_euclid(TICKS_PER_DAY) / WINDOW + 1;
    BuildRef {
        definition_id: (pipeline + 1) as u32,
        definition_name: pipeline_name(org, project, slot),
        build_id: u32::try_from(build_id).unwrap_or(u32::MAX),
        build_number: format!("{}{}{}.{of_day}", &day[0..4], &day[5..7], &day[8..10]),
        branch: "refs/heads/main".to_string(),
    }
}

/// A synthetic pipeline's name: `{word}.CI` for the builds release definitions deploy,
/// `{project}-deploy` and `{project}-infra` for YAML pipelines.
pub(crate) fn pipeline_name(org: &Org, project: usize, slot: u32) -> String {
    let p = org.projects.get(project).map_or("", |p| p.name.as_str());
    if slot >= YAML_SLOT {
        match slot - YAML_SLOT {
            0 => format!("{p}-deploy"),
            1 => format!("{p}-infra"),
            n => format!("{p}-deploy-{n}"),
        }
    } else {
        format!("{}.CI", cd_word(slot as usize))
    }
}

/// The word a release definition (and the CI pipeline feeding it) is named after.
pub(crate) fn cd_word(n: usize) -> String {
    match n / CD_NAMES.len() {
        0 => CD_NAMES[n].to_string(),
        k => format!("{}-{}", CD_NAMES[n % CD_NAMES.len()], k + 1),
    }
}
