//! Generation of release definitions, releases and their deployments, from a stream of its
//! own (see the module docs of `releases`).
//!
//! Each project has `release_definitions_per_project` definitions of 2–4 stages (Dev, QA,
//! Staging, Prod; rank 1..n) and each definition `releases_per_definition` releases spread
//! over the two-year history. A release is created by CI (most), by hand or on a schedule;
//! its stages are then deployed in rank order — the first after creation, each later one
//! after the previous succeeded, some by hand, Prod often behind a manual approval — until
//! a stage fails or the pipeline stops. A failed deployment is sometimes retried (attempt 2).
//! About a tenth of releases are abandoned early, a few stay drafts. Near the end of the
//! history deployments may still run (`inProgress`) or wait for an approval (`queued`).

use super::{
    Approval, Definition, DeployState, Deployment, ProjectReleases, Release, ReleaseEnv,
    ReleaseStatus, Releases, Settings, Stage, builds,
};
use crate::data::HISTORY_TICKS;
use crate::model::{Identity, Org};
use crate::rng::Rng;
use crate::time::{TICKS_PER_DAY, TICKS_PER_SEC};

/// How much release data to generate.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sizes {
    pub definitions_per_project: usize,
    pub releases_per_definition: usize,
    pub environments_per_project: usize,
    pub records_per_environment: usize,
}

const MINUTE: i64 = 60 * TICKS_PER_SEC;
const HOUR: i64 = 60 * MINUTE;

const STAGES: [&[&str]; 3] = [
    &["Dev", "Prod"],
    &["Dev", "QA", "Prod"],
    &["Dev", "QA", "Staging", "Prod"],
];
const DESCRIPTIONS: [&str; 6] = [
    "",
    "Triggered by a successful CI build",
    "Hotfix for the login outage",
    "Weekly scheduled release",
    "Release candidate for the sprint review",
    "Rollout of the new billing flow",
];

/// Generates the whole release side (classic and YAML) into `org.releases`.
pub(crate) fn generate(org: &mut Org, seed: u64, sizes: &Sizes, start: i64, server_mode: bool) {
    let mut rng = Rng::derive(seed, 0x0DE9_1075);
    org.releases = Releases {
        settings: Settings {
            seed,
            history_end: start,
            server_mode,
            service: Identity {
                id: "0000000d-0000-8888-8000-000000000000".to_string(),
                display_name: "Microsoft.VisualStudio.Services.ReleaseManagement".to_string(),
                unique_name: format!("0000000d-0000-8888-8000-000000000000@{}", rng.guid()),
                is_container: false,
            },
        },
        ..Releases::default()
    };
    let projects: Vec<ProjectReleases> = (0..org.projects.len())
        .map(|p| project(org, &mut rng, p, sizes, start))
        .collect();
    org.releases.projects = projects;
    super::yaml::generate(org, seed, sizes, start);
}

fn project(org: &Org, rng: &mut Rng, p: usize, sizes: &Sizes, start: i64) -> ProjectReleases {
    let users = org.user_count.max(1);
    let mut pr = ProjectReleases::default();
    let history_start = start - HISTORY_TICKS;
    let mut next_def_env = 0;
    for d in 0..sizes.definitions_per_project {
        let stages = STAGES[rng.index(STAGES.len())];
        let approver = rng.chance(0.6).then(|| rng.index(users));
        let manual_prod = rng.chance(0.3);
        let stages: Vec<Stage> = stages
            .iter()
            .enumerate()
            .map(|(i, name)| {
                next_def_env += 1;
                let last = i + 1 == stages.len();
                Stage {
                    definition_environment_id: next_def_env,
                    name,
                    approver: if last { approver } else { None },
                    manual: last && manual_prod,
                }
            })
            .collect();
        let created = history_start + rng.range(0, 30 * TICKS_PER_DAY);
        pr.definitions.push(Definition {
            id: d as u32 + 1,
            name: format!("{}.CD", builds::cd_word(d)),
            path: if rng.chance(0.3) { "\\Services" } else { "\\" },
            created,
            modified: created + rng.range(MINUTE, 20 * TICKS_PER_DAY),
            created_by: rng.index(users),
            revision: rng.range(1, 12) as u32,
            stages,
            pipeline: (d as u32) % builds::YAML_SLOT,
            releases: 0,
        });
    }
    // Creation times of every release of the project, then ids in time order.
    let mut slots: Vec<(i64, usize)> = Vec::new();
    for (d, def) in pr.definitions.iter().enumerate() {
        let from = def.created + TICKS_PER_DAY;
        let n = sizes.releases_per_definition as i64;
        let step = (start - from) / n.max(1);
        for k in 0..n {
            slots.push((from + k * step + rng.range(0, (step - 1).max(0)), d));
        }
    }
    slots.sort_by_key(|s| s.0);
    let mut plans: Vec<Planned> = Vec::new();
    for (created, d) in slots {
        let release = new_release(org, rng, &mut pr, p, d, created);
        let id = release.id;
        let status = release.status;
        pr.releases.push(release);
        if status != ReleaseStatus::Draft {
            plan_release(rng, &mut pr, id, start, users, &mut plans);
        }
    }
    // Deployment (and approval) ids follow queue time across the project's releases.
    plans.sort_by_key(|x| (x.deployment.queued, x.release, x.deployment.env));
    pr.next_approval_id = 0;
    for (i, plan) in plans.into_iter().enumerate() {
        let mut dep = plan.deployment;
        dep.id = i as u32 + 1;
        dep.pre.id = pr.next_approval();
        if let Some(post) = &mut dep.post {
            post.id = pr.next_approval();
        }
        let r = &mut pr.releases[plan.release as usize - 1];
        r.environments[dep.env].deployments.push(dep.id);
        pr.deployments.push(dep);
    }
    for r in 0..pr.releases.len() {
        settle(&mut pr, r);
        // Abandoned: by someone, some time after the last thing that happened to it.
        let release = &mut pr.releases[r];
        if release.status == ReleaseStatus::Abandoned {
            release.modified = (release.modified + rng.range(HOUR, 3 * TICKS_PER_DAY))
                .min(start - 1)
                .max(release.modified);
            release.modified_by = rng.index(users);
        }
    }
    pr
}

/// A new release of definition `d` created at `created` (no deployments yet).
pub(crate) fn new_release(
    org: &Org,
    rng: &mut Rng,
    pr: &mut ProjectReleases,
    p: usize,
    d: usize,
    created: i64,
) -> Release {
    let users = org.user_count.max(1);
    let reason = match rng.below(10) {
        0..=5 => "continuousIntegration",
        6..=8 => "manual",
        _ => "schedule",
    };
    let status = match rng.below(100) {
        0..=2 => ReleaseStatus::Draft,
        3..=12 => ReleaseStatus::Abandoned,
        _ => ReleaseStatus::Active,
    };
    let created_by = rng.index(users);
    let created_for = if rng.chance(0.8) {
        created_by
    } else {
        rng.index(users)
    };
    let def = &mut pr.definitions[d];
    def.releases += 1;
    let number = def.releases;
    let pipeline = def.pipeline;
    let stage_count = def.stages.len();
    let artifact = builds::artifact(org, p, pipeline, created - rng.range(MINUTE, 2 * HOUR));
    let environments = (0..stage_count)
        .map(|_| {
            pr.next_environment_id += 1;
            ReleaseEnv {
                id: pr.next_environment_id,
                created,
                modified: created,
                trigger_reason: String::new(),
                deployments: Vec::new(),
            }
        })
        .collect();
    Release {
        id: pr.releases.len() as u32 + 1,
        definition: d,
        number,
        status,
        created,
        modified: created,
        created_by,
        modified_by: created_by,
        created_for,
        reason,
        description: rng.pick(&DESCRIPTIONS).to_string(),
        keep_forever: rng.chance(0.05),
        artifact,
        environments,
    }
}

/// A deployment before ids are assigned.
struct Planned {
    release: u32,
    deployment: Deployment,
}

/// Draws the deployments of release `id` as its pipeline would have run them before `end`.
fn plan_release(
    rng: &mut Rng,
    pr: &mut ProjectReleases,
    id: u32,
    end: i64,
    users: usize,
    out: &mut Vec<Planned>,
) {
    let r = &pr.releases[id as usize - 1];
    let (created, status, requester) = (r.created, r.status, r.created_by);
    let stages = pr.definitions[r.definition].stages.clone();
    // Abandoned releases stop after their first stage or two.
    let stop_after = match status {
        ReleaseStatus::Abandoned => rng.index(2.min(stages.len())) + 1,
        _ => stages.len(),
    };
    let mut t = created;
    for (rank, stage) in stages.iter().enumerate().take(stop_after) {
        let manual = manual_stage(&pr.releases[id as usize - 1], stage, rank);
        let delay = if rank == 0 {
            rng.range(5 * TICKS_PER_SEC, 2 * MINUTE)
        } else if manual {
            rng.range(HOUR, 3 * TICKS_PER_DAY)
        } else {
            rng.range(10 * TICKS_PER_SEC, 2 * HOUR)
        };
        let mut attempt = 1;
        let mut queued = t + delay;
        loop {
            if queued >= end {
                return;
            }
            let by = if manual || attempt > 1 {
                rng.index(users)
            } else {
                requester
            };
            let why = if attempt > 1 || manual {
                "manual"
            } else {
                "automated"
            };
            let dep = deploy(rng, pr, stage, rank, id, attempt, why, by, queued, end);
            let (state, last) = (dep.state, dep.modified);
            out.push(Planned {
                release: id,
                deployment: dep,
            });
            if !state.finished() {
                return;
            }
            t = last;
            if state == DeployState::Failed && attempt == 1 && rng.chance(0.5) {
                attempt += 1;
                queued = t + rng.range(10 * MINUTE, TICKS_PER_DAY);
                continue;
            }
            break;
        }
        let ok = matches!(
            out.last().map(|p| p.deployment.state),
            Some(DeployState::Succeeded)
        ) || (matches!(
            out.last().map(|p| p.deployment.state),
            Some(DeployState::PartiallySucceeded)
        ) && rng.chance(0.5));
        if !ok || !rng.chance(0.8) {
            return;
        }
    }
}

/// One deployment of `stage` queued at `queued`, as far as it got before `end`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn deploy(
    rng: &mut Rng,
    pr: &mut ProjectReleases,
    stage: &Stage,
    env: usize,
    release: u32,
    attempt: u32,
    reason: &'static str,
    by: usize,
    queued: i64,
    end: i64,
) -> Deployment {
    let approval_at = queued + rng.range(TICKS_PER_SEC, 5 * TICKS_PER_SEC);
    let approved = approval_at
        + match stage.approver {
            Some(_) => rng.range(5 * MINUTE, 8 * HOUR),
            None => rng.range(TICKS_PER_SEC / 10, TICKS_PER_SEC),
        };
    let started = approved + rng.range(2 * TICKS_PER_SEC, 90 * TICKS_PER_SEC);
    let completed = started + rng.range(MINUTE, 25 * MINUTE);
    let outcome = match rng.below(100) {
        0..=84 => DeployState::Succeeded,
        85..=93 => DeployState::Failed,
        94..=96 => DeployState::PartiallySucceeded,
        _ => DeployState::Canceled,
    };
    let plan = rng.guid();
    let pre_id = pr.next_approval();
    let mut dep = Deployment {
        id: 0,
        release,
        env,
        attempt,
        reason,
        state: outcome,
        requested_by: by,
        requested_for: by,
        queued,
        started: Some(started),
        completed: Some(completed),
        modified: completed,
        pre: Approval {
            id: pre_id,
            approver: stage.approver,
            status: "approved",
            created: approval_at,
            modified: approved,
        },
        post: None,
        plan,
    };
    if approved >= end {
        // Still waiting for its approver.
        dep.state = DeployState::Pending;
        dep.pre.status = "pending";
        dep.pre.modified = approval_at;
        (dep.started, dep.completed, dep.modified) = (None, None, approval_at);
    } else if completed >= end {
        dep.state = DeployState::InProgress;
        (dep.completed, dep.modified) = (None, started);
    } else if matches!(
        outcome,
        DeployState::Succeeded | DeployState::PartiallySucceeded
    ) {
        let id = pr.next_approval();
        dep.post = Some(Approval {
            id,
            approver: None,
            status: "approved",
            created: completed - TICKS_PER_SEC / 5,
            modified: completed - TICKS_PER_SEC / 10,
        });
    }
    dep
}

/// Recomputes what a release's environments and `modifiedOn` show from its deployments:
/// an environment's `modifiedOn` is its latest deployment's, its `triggerReason` what its
/// stage is configured with (or "Manual" once deployed by hand).
pub(crate) fn settle(pr: &mut ProjectReleases, r: usize) {
    let release = &pr.releases[r];
    let stages = &pr.definitions[release.definition].stages;
    let mut updates = Vec::new();
    let mut modified = release.modified.max(release.created);
    for (i, env) in release.environments.iter().enumerate() {
        let latest = env.deployments.last().and_then(|d| pr.deployment(*d));
        let by_hand = latest.is_some_and(|d| d.reason == "manual");
        let reason = if by_hand || manual_stage(release, &stages[i], i) {
            "Manual".to_string()
        } else if i == 0 {
            "After release creation".to_string()
        } else {
            format!("After successful deployment of {}", stages[i - 1].name)
        };
        let m = latest.map_or(release.created, |d| d.modified);
        modified = modified.max(m);
        updates.push((m, reason));
    }
    let release = &mut pr.releases[r];
    for (env, (m, reason)) in release.environments.iter_mut().zip(updates) {
        env.modified = m;
        env.trigger_reason = reason;
    }
    release.modified = modified;
}

/// Whether a stage of a release is deployed only by hand: stages configured so, and the
/// first stage of a release created by hand.
pub(crate) fn manual_stage(release: &Release, stage: &Stage, rank: usize) -> bool {
    stage.manual || (rank == 0 && release.reason == "manual")
}
