//! Changes to the release side: a random round of its own ([`mutate`], `Sim::mutate_releases`,
//! never part of `Sim::mutate`) and precise changes (`Change::CreateRelease` and the others,
//! [`apply`]). Timestamps are the real current time by the org's clock, kept strictly after
//! whatever came before so ids still ascend with `createdOn` / `queuedOn` / `queueTime`.
//!
//! The point of the round is what an incremental sync must catch:
//! - **new releases** (found by `minCreatedTime`), whose first stage starts deploying;
//! - **new deployments of old releases**: a stage of a release created long ago is deployed
//!   again now — a new deployment with the next attempt; the release's `modifiedOn` and the
//!   environment's status move, its `createdOn` does not, so only `minModifiedTime` on
//!   deployments finds it;
//! - **deployments finishing** (pending or in progress → a final state), **releases
//!   abandoned**;
//! - **new environment deployment records** (a run deploying to one environment, finished or
//!   still running) and **unfinished records finishing** (`result` and `finishTime` appear;
//!   finished records never change again).
//!
//! The answer counts each kind (they sum to `changes` when every draw applies) and lists the
//! ids touched: `{"changed": {"releases_created", "releases_redeployed",
//! "deployments_finished", "releases_abandoned", "environment_records_created",
//! "environment_records_finished"}, "touched_releases": [{"projectId", "id"}],
//! "touched_deployments": [{"projectId", "id"}], "touched_environment_records": [id]}`.

use serde_json::{Value, json};

use super::generate::{self, settle};
use super::{
    Approval, DeployState, Deployment, ProjectReleases, RECORD_RESULTS, Record, ReleaseStatus,
    builds, yaml,
};
use crate::model::Org;
use crate::rng::Rng;
use crate::script::Change;

#[derive(Clone, Copy)]
enum Kind {
    CreateRelease,
    Redeploy,
    FinishDeployment,
    Abandon,
    AddRecord,
    FinishRecord,
}

const KINDS: [(Kind, u32); 6] = [
    (Kind::CreateRelease, 20),
    (Kind::Redeploy, 20),
    (Kind::FinishDeployment, 20),
    (Kind::Abandon, 5),
    (Kind::AddRecord, 20),
    (Kind::FinishRecord, 15),
];

#[derive(Default)]
struct Touched {
    counts: [u64; 6],
    releases: Vec<(usize, u32)>,
    deployments: Vec<(usize, u32)>,
    records: Vec<u64>,
}

/// `changes` random release-side changes drawn from `seed`.
pub(crate) fn mutate(org: &mut Org, seed: u64, changes: usize) -> Value {
    let mut rng = Rng::derive(seed, 0x0DE9_3A7E);
    let weights: Vec<u32> = KINDS.iter().map(|(_, w)| *w).collect();
    let mut t = Touched::default();
    for _ in 0..changes {
        for _ in 0..20 {
            let k = rng.weighted(&weights);
            if random_change(org, &mut rng, KINDS[k].0, &mut t) {
                t.counts[k] += 1;
                org.change_id += 1;
                break;
            }
        }
    }
    let pair = |v: &mut Vec<(usize, u32)>| {
        v.sort_unstable();
        v.dedup();
        v.iter()
            .map(|(p, id)| json!({"projectId": org.projects[*p].id, "id": id}))
            .collect::<Vec<_>>()
    };
    t.records.sort_unstable();
    t.records.dedup();
    json!({
        "changed": {
            "releases_created": t.counts[0],
            "releases_redeployed": t.counts[1],
            "deployments_finished": t.counts[2],
            "releases_abandoned": t.counts[3],
            "environment_records_created": t.counts[4],
            "environment_records_finished": t.counts[5],
        },
        "touched_releases": pair(&mut t.releases),
        "touched_deployments": pair(&mut t.deployments),
        "touched_environment_records": t.records,
    })
}

fn random_change(org: &mut Org, rng: &mut Rng, kind: Kind, t: &mut Touched) -> bool {
    let users = org.user_count.max(1);
    let projects = org.releases.projects.len();
    match kind {
        Kind::CreateRelease => {
            let p = rng.index(projects.max(1));
            let Some(defs) = org.releases.projects.get(p).map(|x| x.definitions.len()) else {
                return false;
            };
            if defs == 0 {
                return false;
            }
            let d = rng.index(defs);
            let (r, d) = create_release(org, rng, p, d);
            t.releases.push((p, r));
            t.deployments.push((p, d));
            true
        }
        Kind::Redeploy => {
            let p = rng.index(projects.max(1));
            let Some(pr) = org.releases.projects.get(p) else {
                return false;
            };
            let now = org.now();
            // An old release: created at least a day ago, still active.
            let old: Vec<u32> = pr
                .releases
                .iter()
                .filter(|r| r.status == ReleaseStatus::Active && r.created < now - DAY)
                .map(|r| r.id)
                .collect();
            if old.is_empty() {
                return false;
            }
            let r = old[rng.index(old.len())];
            let release = &pr.releases[r as usize - 1];
            let envs: Vec<usize> = (0..release.environments.len())
                .filter(|&i| deployable(pr, r, i))
                .collect();
            if envs.is_empty() {
                return false;
            }
            let env = envs[rng.index(envs.len())];
            let by = rng.index(users);
            let d = deploy(org, p, r, env, by, "manual");
            if rng.chance(0.5) {
                let state = outcome(rng);
                finish_deployment(org, p, d, state);
            }
            t.releases.push((p, r));
            t.deployments.push((p, d));
            true
        }
        Kind::FinishDeployment => {
            let open: Vec<(usize, u32)> = org
                .releases
                .projects
                .iter()
                .enumerate()
                .flat_map(|(p, pr)| {
                    pr.deployments
                        .iter()
                        .filter(|d| !d.state.finished())
                        .map(move |d| (p, d.id))
                })
                .collect();
            if open.is_empty() {
                return false;
            }
            let (p, d) = open[rng.index(open.len())];
            let state = outcome(rng);
            let r = finish_deployment(org, p, d, state);
            t.releases.push((p, r));
            t.deployments.push((p, d));
            true
        }
        Kind::Abandon => {
            let p = rng.index(projects.max(1));
            let Some(pr) = org.releases.projects.get(p) else {
                return false;
            };
            let active: Vec<u32> = pr
                .releases
                .iter()
                .filter(|r| abandonable(pr, r.id))
                .map(|r| r.id)
                .collect();
            if active.is_empty() {
                return false;
            }
            let r = active[rng.index(active.len())];
            abandon(org, p, r, rng.index(users));
            t.releases.push((p, r));
            true
        }
        Kind::AddRecord => {
            let n = org.releases.environments.len();
            if n == 0 {
                return false;
            }
            let env = rng.index(n) as u32 + 1;
            let finished = rng.chance(0.4);
            t.records.push(add_record(org, rng, env, finished));
            true
        }
        Kind::FinishRecord => {
            let open: Vec<u64> = org
                .releases
                .records
                .iter()
                .filter(|r| r.result.is_none())
                .map(|r| r.id)
                .collect();
            if open.is_empty() {
                return false;
            }
            let id = open[rng.index(open.len())];
            let result = match rng.below(10) {
                0..=7 => "succeeded",
                8 => "failed",
                _ => "canceled",
            };
            finish_record(org, id, result);
            t.records.push(id);
            true
        }
    }
}

const DAY: i64 = crate::time::TICKS_PER_DAY;

fn outcome(rng: &mut Rng) -> DeployState {
    match rng.below(100) {
        0..=79 => DeployState::Succeeded,
        80..=91 => DeployState::Failed,
        92..=95 => DeployState::PartiallySucceeded,
        _ => DeployState::Canceled,
    }
}

/// Now by the org's clock, strictly after `after`.
fn now_after(org: &Org, after: i64) -> i64 {
    org.now().max(after + 1)
}

/// A stage can be deployed when the release is active, nothing runs on it, and the stage
/// before it (if any) has succeeded at least once.
fn deployable(pr: &ProjectReleases, r: u32, env: usize) -> bool {
    let Some(release) = pr.release(r) else {
        return false;
    };
    let busy = pr.latest(release, env).is_some_and(|d| !d.state.finished());
    let previous_ok = env == 0
        || release.environments[env - 1]
            .deployments
            .iter()
            .filter_map(|d| pr.deployment(*d))
            .any(|d| d.state == DeployState::Succeeded);
    release.status == ReleaseStatus::Active && !busy && previous_ok
}

fn abandonable(pr: &ProjectReleases, r: u32) -> bool {
    pr.release(r).is_some_and(|release| {
        release.status == ReleaseStatus::Active
            && (0..release.environments.len())
                .all(|i| pr.latest(release, i).is_none_or(|d| d.state.finished()))
    })
}

/// A new active release of definition `d` created now, its first stage deploying; answers
/// (release id, deployment id).
fn create_release(org: &mut Org, rng: &mut Rng, p: usize, d: usize) -> (u32, u32) {
    let last = org.releases.projects[p]
        .releases
        .last()
        .map_or(0, |r| r.created);
    let created = now_after(org, last);
    let mut pr = std::mem::take(&mut org.releases.projects[p]);
    let mut release = generate::new_release(org, rng, &mut pr, p, d, created);
    release.status = ReleaseStatus::Active;
    let (id, by) = (release.id, release.created_by);
    let reason = if release.reason == "manual" {
        "manual"
    } else {
        "automated"
    };
    pr.releases.push(release);
    org.releases.projects[p] = pr;
    let dep = deploy(org, p, id, 0, by, reason);
    (id, dep)
}

/// A new attempt of stage `env` of release `r`, queued and started now (its pre-deployment
/// approval given at once); answers the deployment id.
fn deploy(org: &mut Org, p: usize, r: u32, env: usize, by: usize, reason: &'static str) -> u32 {
    let last = org.releases.projects[p]
        .deployments
        .last()
        .map_or(0, |d| d.queued);
    let now = now_after(org, last);
    let pr = &mut org.releases.projects[p];
    let release = &pr.releases[r as usize - 1];
    let approver = pr.definitions[release.definition].stages[env].approver;
    let attempt = release.environments[env].deployments.len() as u32 + 1;
    let id = pr.deployments.len() as u32 + 1;
    let pre = pr.next_approval();
    let plan = Rng::derive(
        org.releases.settings.seed ^ u64::from(id),
        p as u64 + 0x9_1A4,
    )
    .guid();
    pr.deployments.push(Deployment {
        id,
        release: r,
        env,
        attempt,
        reason,
        state: DeployState::InProgress,
        requested_by: by,
        requested_for: by,
        queued: now,
        started: Some(now),
        completed: None,
        modified: now,
        pre: Approval {
            id: pre,
            approver,
            status: "approved",
            created: now,
            modified: now,
        },
        post: None,
        plan,
    });
    pr.releases[r as usize - 1].environments[env]
        .deployments
        .push(id);
    settle(pr, r as usize - 1);
    id
}

/// Finishes deployment `d` now with a final `state`; answers its release id.
fn finish_deployment(org: &mut Org, p: usize, d: u32, state: DeployState) -> u32 {
    let i = d as usize - 1;
    let now = now_after(org, org.releases.projects[p].deployments[i].modified);
    let pr = &mut org.releases.projects[p];
    let dep = &mut pr.deployments[i];
    let started = *dep.started.get_or_insert(now);
    let completed = now.max(started + 1);
    dep.state = state;
    dep.completed = Some(completed);
    dep.modified = completed;
    if dep.pre.status == "pending" {
        dep.pre.status = if state == DeployState::Canceled {
            "canceled"
        } else {
            "approved"
        };
        dep.pre.modified = started;
    }
    let r = dep.release;
    if matches!(
        state,
        DeployState::Succeeded | DeployState::PartiallySucceeded
    ) {
        let id = pr.next_approval();
        pr.deployments[i].post = Some(Approval {
            id,
            approver: None,
            status: "approved",
            created: completed,
            modified: completed,
        });
    }
    settle(pr, r as usize - 1);
    r
}

fn abandon(org: &mut Org, p: usize, r: u32, by: usize) {
    let i = r as usize - 1;
    let now = now_after(org, org.releases.projects[p].releases[i].modified);
    let release = &mut org.releases.projects[p].releases[i];
    release.status = ReleaseStatus::Abandoned;
    release.modified = now;
    release.modified_by = by;
}

/// A YAML run deploying to environment `env` now: one record, finished (succeeded) or still
/// running, of the project's newest suitable build (a running one for a running record; see
/// `releases::builds`); answers its id.
fn add_record(org: &mut Org, rng: &mut Rng, env: u32, finished: bool) -> u64 {
    let last = org.releases.records.last().map_or(0, |r| r.queued);
    let now = now_after(org, last);
    let e = org.releases.environments[env as usize - 1].clone();
    let slot = builds::YAML_SLOT + u32::from(rng.chance(0.25));
    let run = builds::run(org, e.project, slot, now, !finished, &|_| false);
    let plan = rng.guid();
    let mut record = yaml::record(rng, &e, &run, &plan, 1, now, i64::MAX);
    if builds::has_builds(org, e.project) {
        // The newest build may already have deployed: the run goes on, with its plan and
        // the next attempt of a stage it ran.
        let earlier = org.releases.records.iter().filter(|r| {
            r.run.build_id == run.build_id
                && org.releases.environments[r.environment as usize - 1].project == e.project
        });
        for r in earlier {
            record.plan.clone_from(&r.plan);
            if r.stage == record.stage {
                record.stage_attempt = record.stage_attempt.max(r.stage_attempt + 1);
                record.job_attempt = record.stage_attempt;
            }
        }
    }
    let id = org.releases.records.len() as u64 + 1;
    record.id = id;
    record.started = Some(now);
    if finished {
        record.finished = Some(now + 1);
        record.result = Some("succeeded");
    } else {
        record.finished = None;
        record.result = None;
    }
    org.releases.records.push(record);
    org.releases.environments[env as usize - 1].records.push(id);
    id
}

/// Finishes an unfinished record now with `result`.
fn finish_record(org: &mut Org, id: u64, result: &'static str) {
    let i = id as usize - 1;
    let r: &Record = &org.releases.records[i];
    let now = now_after(org, r.started.unwrap_or(r.queued));
    let r = &mut org.releases.records[i];
    let started = *r.started.get_or_insert(now);
    r.finished = Some(now.max(started + 1));
    r.result = Some(result);
}

/// The RNG of the next precise change (seeded by the sim's seed and the change count).
fn change_rng(org: &mut Org) -> Rng {
    org.releases.events += 1;
    Rng::derive(
        org.releases.settings.seed ^ org.releases.events.wrapping_mul(0xA24B_AED4_963E_E407),
        0x5C21_0DE9,
    )
}

fn project(org: &Org, key: &str) -> Result<usize, String> {
    org.find_project(key)
        .filter(|p| *p < org.releases.projects.len())
        .ok_or_else(|| format!("no project {key}"))
}

fn release_of(org: &Org, p: usize, r: u32) -> Result<&super::Release, String> {
    org.releases.projects[p]
        .release(r)
        .ok_or_else(|| format!("no release {r} in project {}", org.projects[p].name))
}

/// Applies one release-side [`Change`]; `Err` names what was not found or not allowed.
pub(crate) fn apply(org: &mut Org, change: &Change) -> Result<Value, String> {
    let users = org.user_count.max(1);
    let answer = match change {
        Change::CreateRelease {
            project: key,
            definition,
        } => {
            let p = project(org, key)?;
            let d = (*definition as usize)
                .checked_sub(1)
                .filter(|d| *d < org.releases.projects[p].definitions.len())
                .ok_or_else(|| format!("no release definition {definition} in {key}"))?;
            let mut rng = change_rng(org);
            let (r, dep) = create_release(org, &mut rng, p, d);
            json!({"projectId": org.projects[p].id, "release": r, "deployment": dep})
        }
        Change::DeployRelease {
            project: key,
            release,
            environment,
        } => {
            let p = project(org, key)?;
            let r = release_of(org, p, *release)?;
            let env = r
                .environments
                .iter()
                .position(|e| e.id == *environment)
                .ok_or_else(|| format!("release {release} has no environment {environment}"))?;
            if r.status != ReleaseStatus::Active {
                return Err(format!("release {release} is {}", r.status.as_str()));
            }
            let pr = &org.releases.projects[p];
            if pr.latest(r, env).is_some_and(|d| !d.state.finished()) {
                return Err(format!("environment {environment} is still deploying"));
            }
            let by = change_rng(org).index(users);
            let d = deploy(org, p, *release, env, by, "manual");
            let attempt = org.releases.projects[p].deployments[d as usize - 1].attempt;
            json!({"projectId": org.projects[p].id, "release": release, "environment": environment,
                   "deployment": d, "attempt": attempt})
        }
        Change::FinishDeployment {
            project: key,
            deployment,
            status,
        } => {
            let p = project(org, key)?;
            let state = DeployState::parse_final(status).ok_or_else(|| {
                format!(
                    "status {status:?} is not succeeded, partiallySucceeded, failed or canceled"
                )
            })?;
            let d = org.releases.projects[p]
                .deployment(*deployment)
                .ok_or_else(|| format!("no deployment {deployment} in {key}"))?;
            if d.state.finished() {
                return Err(format!("deployment {deployment} has finished"));
            }
            let r = finish_deployment(org, p, *deployment, state);
            json!({"projectId": org.projects[p].id, "release": r, "deployment": deployment,
                   "deploymentStatus": state.deployment_status()})
        }
        Change::AbandonRelease {
            project: key,
            release,
        } => {
            let p = project(org, key)?;
            release_of(org, p, *release)?;
            if !abandonable(&org.releases.projects[p], *release) {
                return Err(format!(
                    "release {release} is not active or is still deploying"
                ));
            }
            let by = change_rng(org).index(users);
            abandon(org, p, *release, by);
            json!({"projectId": org.projects[p].id, "release": release, "status": "abandoned"})
        }
        Change::AddEnvironmentRecord {
            environment,
            finished,
        } => {
            org.releases
                .environment(*environment)
                .ok_or_else(|| format!("no environment {environment}"))?;
            let mut rng = change_rng(org);
            let id = add_record(org, &mut rng, *environment, *finished);
            json!({"environment": environment, "record": id})
        }
        Change::FinishEnvironmentRecord { record, result } => {
            let r = org
                .releases
                .record(*record)
                .ok_or_else(|| format!("no environment deployment record {record}"))?;
            if r.result.is_some() {
                return Err(format!("record {record} has finished"));
            }
            let result = RECORD_RESULTS
                .iter()
                .find(|x| x.eq_ignore_ascii_case(result))
                .ok_or_else(|| format!("result {result:?} is not one of {RECORD_RESULTS:?}"))?;
            finish_record(org, *record, result);
            json!({"record": record, "result": result})
        }
        Change::MutateReleases { seed, changes } => return Ok(mutate(org, *seed, *changes)),
        _ => return Err("not a release-side change".to_string()),
    };
    org.change_id += 1;
    Ok(answer)
}
