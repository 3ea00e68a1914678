//! Builds moving on: a random round of its own ([`crate::Sim::mutate_builds`], never part of
//! `Sim::mutate`, so the PR and work item rounds of a seed are what they were) and precise
//! changes (`Change::QueueBuild` …).
//!
//! One round applies `changes` changes drawn from its seed, all stamped with one reading of
//! the service's clock (so builds that finish in the same round share their finish time, as
//! a batch does; ids break the tie):
//! - **queue** (25): a new build of an enabled definition (`notStarted`) or a paused one
//!   (`postponed`), queued now — manual, individualCI or pullRequest;
//! - **start** (20): a queued or postponed build starts now;
//! - **finish** (25): a running build completes now — late: its queue and start times are
//!   old, its finish time is new, so a `minTime` window on finish time finds it while a
//!   queue-time cursor does not; a `cancelling` one ends canceled;
//! - **retry** (8): a failed YAML build reruns its failed jobs: `inProgress` again, no
//!   result or finish time until a later finish, a new attempt in the timeline;
//! - **cancel** (7): a queued build ends canceled now, a running one turns `cancelling`;
//! - **delete** (8): retention removes one of the oldest completed builds (never one kept
//!   forever or retained by a release): `deleted: true`, listed only with `deletedFilter`.
//!
//! A kind that has nothing to apply to is drawn again (up to 20 times; an org without builds
//! changes nothing, so the counts can sum to less than asked). Every change moves the build's
//! `lastChangedDate` to now. The answer counts each kind and lists the builds touched.

use serde_json::{Value, json};

use super::generate::{build_number, new_build};
use super::{Attempt, Build, Outcome, QueueStatus, Reason, Status, Who, build_key};
use crate::model::Org;
use crate::rng::Rng;
use crate::{Sim, write};

#[derive(Clone, Copy)]
enum Kind {
    Queue,
    Start,
    Finish,
    Retry,
    Cancel,
    Delete,
}

const KINDS: [(Kind, u32); 6] = [
    (Kind::Queue, 25),
    (Kind::Start, 20),
    (Kind::Finish, 25),
    (Kind::Retry, 8),
    (Kind::Cancel, 7),
    (Kind::Delete, 8),
];

/// The keys of a round's answer, in order.
pub(crate) const KEYS: [&str; 6] = [
    "builds_queued",
    "builds_started",
    "builds_finished",
    "builds_retried",
    "builds_canceled",
    "builds_deleted",
];

impl Sim {
    /// Applies `changes` random build changes drawn from `seed` (see the `builds::mutate`
    /// module); answers `{"changed": {"builds_queued": n, "builds_started": n,
    /// "builds_finished": n, "builds_retried": n, "builds_canceled": n, "builds_deleted": n},
    /// "touched_builds": [ids]}` (ascending), same as `POST /_sim/mutate_builds`.
    pub fn mutate_builds(&self, seed: u64, changes: usize) -> Value {
        let mut org = write(&self.inner.state);
        let answer = mutate(&mut org, seed, changes);
        self.publish(&mut org);
        answer
    }

    /// Turns the continuation-token quirk on (`Some(n)`: every n-th continued builds-list
    /// request answers page one again) or off, while the server runs (see
    /// [`crate::SimConfig::build_token_repeats_first_page`]).
    pub fn set_build_token_repeats_first_page(&self, every: Option<u32>) {
        write(&self.inner.state).builds.token_repeats = every.filter(|n| *n > 0);
    }
}

pub(crate) fn mutate(org: &mut Org, seed: u64, changes: usize) -> Value {
    let mut rng = Rng::derive(seed, 0xB17D_5EED);
    let now = org.now();
    let mut counts = [0u64; 6];
    let mut touched = Vec::new();
    let weights: Vec<u32> = KINDS.iter().map(|(_, w)| *w).collect();
    for _ in 0..changes {
        for _ in 0..20 {
            let k = rng.weighted(&weights);
            if let Some(id) = apply(org, &mut rng, KINDS[k].0, now) {
                counts[k] += 1;
                touched.push(id);
                org.change_id += 1;
                break;
            }
        }
    }
    touched.sort_unstable();
    touched.dedup();
    let changed: serde_json::Map<String, Value> = KEYS
        .iter()
        .zip(counts)
        .map(|(k, n)| (k.to_string(), json!(n)))
        .collect();
    json!({ "changed": changed, "touched_builds": touched })
}

fn pick(rng: &mut Rng, org: &Org, ok: impl Fn(&Build) -> bool) -> Option<u32> {
    let ids: Vec<u32> = org
        .builds
        .builds
        .iter()
        .filter(|b| b.deleted.is_none() && ok(b))
        .map(|b| b.id)
        .collect();
    (!ids.is_empty()).then(|| ids[rng.index(ids.len())])
}

fn apply(org: &mut Org, rng: &mut Rng, kind: Kind, now: i64) -> Option<u32> {
    match kind {
        Kind::Queue => {
            let defs: Vec<usize> = (0..org.builds.definitions.len())
                .filter(|&d| {
                    let def = &org.builds.definitions[d];
                    def.queue_status != QueueStatus::Disabled && !org.repos[def.repo].deleted
                })
                .collect();
            if defs.is_empty() {
                return None;
            }
            let d = defs[rng.index(defs.len())];
            let reason = match rng.weighted(&[30, 50, 20]) {
                0 => Reason::Manual,
                1 => Reason::IndividualCi,
                _ => Reason::PullRequest,
            };
            Some(queue(org, rng, d, reason, now))
        }
        Kind::Start => {
            let id = pick(rng, org, |b| {
                matches!(b.status, Status::NotStarted | Status::Postponed)
            })?;
            start(org, rng, id, now);
            Some(id)
        }
        Kind::Finish => {
            let id = pick(rng, org, |b| {
                matches!(b.status, Status::InProgress | Status::Cancelling)
            })?;
            let result = if org.builds.builds[id as usize - 1].status == Status::Cancelling {
                Outcome::Canceled
            } else {
                [
                    Outcome::Succeeded,
                    Outcome::PartiallySucceeded,
                    Outcome::Failed,
                ][rng.weighted(&[70, 8, 22])]
            };
            finish(org, id, result, now);
            Some(id)
        }
        Kind::Retry => {
            let id = pick(rng, org, |b| retryable(org, b))?;
            retry(org, id, now);
            Some(id)
        }
        Kind::Cancel => {
            let id = pick(rng, org, |b| {
                matches!(
                    b.status,
                    Status::NotStarted | Status::Postponed | Status::InProgress
                )
            })?;
            let by = Who::User(rng.index(org.user_count.max(1)));
            cancel(org, id, by, now);
            Some(id)
        }
        Kind::Delete => {
            // One of the ten oldest builds retention may remove.
            let oldest: Vec<u32> = org
                .builds
                .builds
                .iter()
                .filter(|b| deletable(b))
                .take(10)
                .map(|b| b.id)
                .collect();
            if oldest.is_empty() {
                return None;
            }
            let id = oldest[rng.index(oldest.len())];
            delete(org, id, now);
            Some(id)
        }
    }
}

/// Later than both `now` and `after`: times within a build only grow.
fn after(now: i64, after: i64) -> i64 {
    now.max(after + 1)
}

fn touch(b: &mut Build, now: i64, by: Who) {
    b.last_changed = after(now, b.last_changed);
    b.last_changed_by = by;
}

/// Queues a build of definition `d` now; returns its id.
pub(crate) fn queue(org: &mut Org, rng: &mut Rng, d: usize, reason: Reason, now: i64) -> u32 {
    let id = org.builds.builds.len() as u32 + 1;
    let last = org.builds.builds.last().map_or(i64::MIN, |b| b.queued);
    let queued = now.max(last);
    let repo = org.builds.definitions[d].repo;
    let mut b = new_build(rng, org, (d, repo), reason, queued);
    b.id = id;
    let def = &org.builds.definitions[d];
    if def.queue_status == QueueStatus::Paused {
        b.status = Status::Postponed;
    }
    let day = queued.div_euclid(crate::time::TICKS_PER_DAY);
    let rev = org.builds.project_builds[def.project]
        .iter()
        .filter(|x| {
            let o = &org.builds.builds[**x as usize - 1];
            o.def == d && o.queued.div_euclid(crate::time::TICKS_PER_DAY) == day
        })
        .count() as u32
        + 1;
    b.number = build_number(def, queued, rev);
    org.builds.push(b);
    id
}

pub(crate) fn start(org: &mut Org, rng: &mut Rng, id: u32, now: i64) {
    let b = &mut org.builds.builds[id as usize - 1];
    b.status = Status::InProgress;
    b.started = Some(after(now, b.queued));
    b.progress = 0;
    b.pace = rng.range(70, 150) as u16;
    touch(b, now, Who::Service);
}

pub(crate) fn finish(org: &mut Org, id: u32, result: Outcome, now: i64) {
    let b = &mut org.builds.builds[id as usize - 1];
    let begun = b.attempts.last().map(|a| a.at).or(b.started);
    if begun.is_none() && result != Outcome::Canceled {
        b.started = Some(after(now, b.queued));
    }
    let floor = b
        .attempts
        .last()
        .map(|a| a.at)
        .or(b.started)
        .unwrap_or(b.queued);
    b.finished = Some(after(now, floor));
    b.status = Status::Completed;
    b.result = Some(result);
    touch(b, now, Who::Service);
    org.hook_events.push(crate::hooks::Event::BuildComplete(id));
}

fn retryable(org: &Org, b: &Build) -> bool {
    b.status == Status::Completed
        && b.result == Some(Outcome::Failed)
        && !b.compile_failed
        && b.started.is_some()
        && b.attempts.len() < 3
        && org.builds.definition_of(b).plan.staged
}

pub(crate) fn retry(org: &mut Org, id: u32, now: i64) {
    let b = &mut org.builds.builds[id as usize - 1];
    let (Some(prev_finish), Some(prev_result)) = (b.finished, b.result) else {
        return;
    };
    b.attempts.push(Attempt {
        at: after(now, prev_finish),
        prev_finish,
        prev_result,
    });
    b.status = Status::InProgress;
    b.result = None;
    b.finished = None;
    b.progress = 0;
    touch(b, now, b.requested_for);
}

pub(crate) fn cancel(org: &mut Org, id: u32, by: Who, now: i64) {
    let b = &mut org.builds.builds[id as usize - 1];
    match b.status {
        Status::InProgress => b.status = Status::Cancelling,
        _ => {
            b.status = Status::Completed;
            b.result = Some(Outcome::Canceled);
            b.finished = Some(after(now, b.queued));
        }
    }
    touch(b, now, by);
    if b.status == Status::Completed {
        org.hook_events.push(crate::hooks::Event::BuildComplete(id));
    }
}

fn deletable(b: &Build) -> bool {
    b.status == Status::Completed
        && b.deleted.is_none()
        && !b.keep_forever
        && !b.retained_by_release
}

pub(crate) fn delete(org: &mut Org, id: u32, now: i64) {
    let b = &mut org.builds.builds[id as usize - 1];
    touch(b, now, Who::Service);
    b.deleted = Some(b.last_changed);
}

/// The RNG of the next precise change to build `id`.
fn change_rng(org: &mut Org, id: u32) -> Rng {
    let seed = org.builds.settings.seed;
    let b = &mut org.builds.builds[id as usize - 1];
    b.events += 1;
    Rng::derive(
        build_key(seed, id) ^ u64::from(b.events).wrapping_mul(0xA24B_AED4_963E_E407),
        0x5C21_B17D,
    )
}

fn answer(org: &Org, id: u32) -> Value {
    let b = &org.builds.builds[id as usize - 1];
    json!({
        "build": id,
        "status": b.status.as_str(),
        "result": b.result.map(|r| r.as_str()),
        "deleted": b.deleted.is_some(),
        "lastChangedDate": crate::time::format(b.last_changed),
    })
}

/// The live (not deleted) build `id`, or why not.
fn live(org: &Org, id: u32) -> Result<&Build, String> {
    match org.builds.build(id) {
        Some(b) if b.deleted.is_none() => Ok(b),
        Some(_) => Err(format!("build {id} is deleted")),
        None => Err(format!("no build {id}")),
    }
}

/// The precise build changes of [`crate::Change`].
pub(crate) fn apply_change(org: &mut Org, change: &crate::Change) -> Result<Value, String> {
    use crate::Change as C;
    let now = org.now();
    let id = match change {
        C::QueueBuild {
            project,
            definition,
        } => {
            let p = org
                .find_project(project)
                .ok_or_else(|| format!("no project {project}"))?;
            let d = org
                .builds
                .find_definition(p, *definition)
                .ok_or_else(|| format!("no definition {definition} in project {project}"))?;
            if org.builds.definitions[d].queue_status == QueueStatus::Disabled {
                return Err(format!("definition {definition} is disabled"));
            }
            let n = org.builds.builds.len() as u64;
            let mut rng = Rng::derive(org.builds.settings.seed ^ n, 0x5C21_B17E);
            queue(org, &mut rng, d, Reason::Manual, now)
        }
        C::StartBuild { build } => {
            let b = live(org, *build)?;
            if !matches!(b.status, Status::NotStarted | Status::Postponed) {
                return Err(format!(
                    "build {build} is {}, not queued",
                    b.status.as_str()
                ));
            }
            let mut rng = change_rng(org, *build);
            start(org, &mut rng, *build, now);
            *build
        }
        C::FinishBuild { build, result } => {
            let b = live(org, *build)?;
            if b.status == Status::Completed {
                return Err(format!("build {build} is already completed"));
            }
            let r = Outcome::parse(result).ok_or_else(|| {
                format!("result {result:?}: succeeded, partiallySucceeded, failed or canceled")
            })?;
            if b.status == Status::Cancelling && r != Outcome::Canceled {
                return Err(format!(
                    "build {build} is cancelling: it can only end canceled"
                ));
            }
            finish(org, *build, r, now);
            *build
        }
        C::RetryBuild { build } => {
            let b = live(org, *build)?;
            if !retryable(org, b) {
                return Err(format!(
                    "build {build} cannot be retried: only a failed, started YAML build with \
                     fewer than three reruns can"
                ));
            }
            retry(org, *build, now);
            *build
        }
        C::CancelBuild { build } => {
            let b = live(org, *build)?;
            if !matches!(
                b.status,
                Status::NotStarted | Status::Postponed | Status::InProgress
            ) {
                return Err(format!("build {build} is {}", b.status.as_str()));
            }
            let mut rng = change_rng(org, *build);
            let by = Who::User(rng.index(org.user_count.max(1)));
            cancel(org, *build, by, now);
            *build
        }
        C::DeleteBuild { build } => {
            let b = live(org, *build)?;
            if b.status != Status::Completed {
                return Err(format!("build {build} is not completed"));
            }
            delete(org, *build, now);
            *build
        }
        _ => return Err("not a build change".to_string()),
    };
    org.change_id += 1;
    Ok(answer(org, id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builds::generate::{Sizes, generate};
    use crate::data::{Sizes as OrgSizes, generate as generate_org};

    fn org() -> Org {
        let sizes = OrgSizes {
            projects: 2,
            repos_per_project: 2,
            prs_per_repo: 5,
            work_items_per_project: 0,
        };
        let start = crate::time::today_midnight_ticks();
        let mut org = generate_org("contoso", 3, &sizes, start);
        let s = Sizes {
            definitions_per_project: 4,
            builds_per_definition: 25,
            compile_failure_share: 0.02,
        };
        org.builds = generate(&org, 3, &s, start);
        org
    }

    #[test]
    fn a_round_counts_what_it_did_and_keeps_invariants() {
        let mut o = org();
        let before = o.builds.builds.len();
        let v = mutate(&mut o, 5, 60);
        let total: u64 = KEYS.iter().map(|k| v["changed"][k].as_u64().unwrap()).sum();
        assert_eq!(total, 60);
        let queued = v["changed"]["builds_queued"].as_u64().unwrap() as usize;
        assert_eq!(o.builds.builds.len(), before + queued);
        for w in o.builds.builds.windows(2) {
            assert!(w[0].queued <= w[1].queued);
        }
        for b in &o.builds.builds {
            assert_eq!(b.result.is_some(), b.status == Status::Completed);
            assert_eq!(b.finished.is_some(), b.status == Status::Completed);
            if b.has_timeline() {
                assert!(crate::builds::timeline::of(&o, b).is_some());
            }
        }
        assert!(!v["touched_builds"].as_array().unwrap().is_empty());
    }

    #[test]
    fn same_seed_same_round() {
        let (mut a, mut b) = (org(), org());
        let (va, vb) = (mutate(&mut a, 9, 30), mutate(&mut b, 9, 30));
        assert_eq!(va, vb);
        let state = |o: &Org| {
            o.builds
                .builds
                .iter()
                .map(|x| (x.status, x.result, x.deleted.is_some()))
                .collect::<Vec<_>>()
        };
        assert_eq!(state(&a), state(&b));
    }
}
