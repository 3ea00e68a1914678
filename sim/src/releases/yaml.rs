//! Generation of YAML pipeline environments and their deployment records, from a stream of
//! its own.
//!
//! Each project has `environments_per_project` environments named for the stages of its
//! pipelines (`dev`, `test`, `staging`, `production`…), in pipeline order, some with a
//! Kubernetes or virtual-machine resource. Its YAML pipelines (the project's YAML build
//! definitions; see `releases::builds` for which build a run is) run
//! `deployment_records_per_environment` times over the history; a run
//! deploys to the environments in order — one record per deployment job — until a stage does
//! not succeed, and a failed stage is sometimes re-run (`stageAttempt` 2, same run). So the
//! first environment gets exactly that many records and later ones fewer, records of one run
//! share their `owner` (the run) and `planId`, and each project's newest run, queued less than
//! a minute before the end of the history, is still deploying to its first environment: a
//! record without `finishTime` and `result` (and without `startTime` while queued).

use super::generate::Sizes;
use std::collections::HashMap;

use super::{BuildRef, Record, Resource, YamlEnv, builds};
use crate::data::HISTORY_TICKS;
use crate::model::Org;
use crate::rng::Rng;
use crate::time::{TICKS_PER_DAY, TICKS_PER_SEC};

const MINUTE: i64 = 60 * TICKS_PER_SEC;
const HOUR: i64 = 60 * MINUTE;

/// Environment names in pipeline order, by how many a project has.
fn names(n: usize) -> Vec<String> {
    const ORDER: [&str; 6] = ["dev", "test", "staging", "production", "perf", "dr"];
    let base: Vec<&str> = match n {
        0 => vec![],
        1 => vec!["production"],
        2 => vec!["staging", "production"],
        3 => vec!["dev", "staging", "production"],
        _ => ORDER.iter().take(n).copied().collect(),
    };
    let mut out: Vec<String> = base.iter().map(|s| s.to_string()).collect();
    for i in out.len()..n {
        out.push(format!("env-{}", i + 1));
    }
    out
}

/// A run's deployment record before ids are assigned.
struct Planned {
    env: u32,
    record: Record,
}

pub(crate) fn generate(org: &mut Org, seed: u64, sizes: &Sizes, start: i64) {
    let mut rng = Rng::derive(seed, 0x0E4A_11E5);
    let users = org.user_count.max(1);
    let history_start = start - HISTORY_TICKS;
    let mut envs: Vec<YamlEnv> = Vec::new();
    let mut next_resource = 0;
    for p in 0..org.projects.len() {
        for name in names(sizes.environments_per_project) {
            let created = history_start + rng.range(0, 20 * TICKS_PER_DAY);
            let modified = created + rng.range(0, 60 * TICKS_PER_DAY);
            let mut resources = Vec::new();
            if rng.chance(0.4) {
                next_resource += 1;
                resources.push(Resource {
                    id: next_resource,
                    name: format!("{name}-ns"),
                    kind: "kubernetes",
                });
            }
            if rng.chance(0.2) {
                next_resource += 1;
                resources.push(Resource {
                    id: next_resource,
                    name: format!("vm-{name}-01"),
                    kind: "virtualMachine",
                });
            }
            let created_by = rng.index(users);
            envs.push(YamlEnv {
                id: envs.len() as u32 + 1,
                project: p,
                description: if rng.chance(0.7) {
                    format!("Deployment target for the {name} stage.")
                } else {
                    String::new()
                },
                name,
                created,
                created_by,
                modified,
                modified_by: if rng.chance(0.7) {
                    created_by
                } else {
                    rng.index(users)
                },
                resources,
                records: Vec::new(),
            });
        }
    }
    let mut planned: Vec<Planned> = Vec::new();
    for p in 0..org.projects.len() {
        let project_envs: Vec<&YamlEnv> = envs.iter().filter(|e| e.project == p).collect();
        let Some(first) = project_envs.first() else {
            continue;
        };
        let runs = sizes.records_per_environment as i64;
        let from = project_envs
            .iter()
            .map(|e| e.created)
            .max()
            .unwrap_or(first.created)
            + HOUR;
        let step = (start - from) / runs.max(1);
        // Build id → the plan of the run it is, for runs of real builds.
        let mut owners: HashMap<u32, String> = HashMap::new();
        let real = builds::has_builds(org, p);
        for k in 0..runs {
            // The newest run was queued less than a minute before the end of the history,
            // so its first deployment is still queued or running there.
            let queued = if k + 1 == runs {
                start - rng.range(TICKS_PER_SEC, 40 * TICKS_PER_SEC)
            } else {
                from + k * step + rng.range(0, (step - 1).max(0))
            };
            let slot = builds::YAML_SLOT + u32::from(rng.chance(0.25));
            let first = planned.len();
            run_stages(&mut rng, &project_envs, queued, start, &mut planned);
            // The run's build, known once its records are: a running one if one of them is.
            let records = &mut planned[first..];
            let unfinished = records.iter().any(|x| x.record.finished.is_none());
            let taken = |id: u32| owners.contains_key(&id);
            let run = builds::run(org, p, slot, queued, unfinished, &taken);
            if real {
                // A build shared with an earlier run (too few builds): that run's plan.
                let plan = owners.entry(run.build_id).or_insert_with(|| {
                    records
                        .first()
                        .map(|x| x.record.plan.clone())
                        .unwrap_or_default()
                });
                for x in records.iter_mut() {
                    x.record.plan.clone_from(plan);
                }
            }
            for x in records {
                x.record.run = run.clone();
            }
        }
    }
    planned.sort_by_key(|x| (x.record.queued, x.env));
    let mut records = Vec::with_capacity(planned.len());
    for (i, mut plan) in planned.into_iter().enumerate() {
        plan.record.id = i as u64 + 1;
        envs[plan.env as usize - 1].records.push(plan.record.id);
        records.push(plan.record);
    }
    org.releases.environments = envs;
    org.releases.records = records;
    org.releases.next_resource_id = next_resource;
}

/// The run of records not yet linked to their build (set once the run's records are known).
const UNLINKED: BuildRef = BuildRef {
    definition_id: 0,
    definition_name: String::new(),
    build_id: 0,
    build_number: String::new(),
    branch: String::new(),
};

/// The records of one run over `envs` (in stage order), as far as it got before `end`; their
/// `run` is left [`UNLINKED`].
fn run_stages(rng: &mut Rng, envs: &[&YamlEnv], queued: i64, end: i64, out: &mut Vec<Planned>) {
    let plan = rng.guid();
    let mut t = queued;
    for env in envs {
        let mut attempt = 1;
        loop {
            let record = record(rng, env, &UNLINKED, &plan, attempt, t, end);
            let (result, last) = (record.result, record.finished);
            if record.queued >= end {
                return;
            }
            out.push(Planned {
                env: env.id,
                record,
            });
            let Some(last) = last else {
                return;
            };
            t = last + rng.range(10 * TICKS_PER_SEC, 10 * MINUTE);
            match result {
                Some("succeeded" | "succeededWithIssues") => break,
                Some("failed") if attempt == 1 && rng.chance(0.3) => {
                    attempt += 1;
                    t += rng.range(10 * MINUTE, 6 * HOUR);
                }
                _ => return,
            }
        }
    }
}

/// One deployment job of `env` queued at `queued`, as far as it got before `end`.
pub(crate) fn record(
    rng: &mut Rng,
    env: &YamlEnv,
    run: &BuildRef,
    plan: &str,
    attempt: u32,
    queued: i64,
    end: i64,
) -> Record {
    let wait = if env.name == "production" {
        rng.range(2 * MINUTE, 6 * HOUR)
    } else {
        rng.range(3 * TICKS_PER_SEC, 2 * MINUTE)
    };
    let started = queued + wait;
    let finished = started + rng.range(MINUTE, 15 * MINUTE);
    let result = match rng.below(100) {
        0..=84 => "succeeded",
        85..=88 => "succeededWithIssues",
        89..=95 => "failed",
        96..=98 => "canceled",
        _ => "skipped",
    };
    let resource = env
        .resources
        .first()
        .filter(|_| rng.chance(0.7))
        .map(|r| r.id);
    let stage = stage_name(&env.name);
    Record {
        id: 0,
        environment: env.id,
        request_identifier: rng.guid(),
        plan: plan.to_string(),
        stage,
        stage_attempt: attempt,
        job: "Deploy",
        job_attempt: attempt,
        resource,
        run: run.clone(),
        queued,
        started: (started < end).then_some(started),
        finished: (finished < end).then_some(finished),
        result: (finished < end).then_some(result),
    }
}

/// `Deploy_production` for `production`.
pub(crate) fn stage_name(env: &str) -> String {
    let clean: String = env
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("Deploy_{clean}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_pipeline_order() {
        assert_eq!(names(2), vec!["staging", "production"]);
        assert_eq!(names(4), vec!["dev", "test", "staging", "production"]);
        assert_eq!(names(7).len(), 7);
        assert_eq!(stage_name("pre-prod"), "Deploy_pre_prod");
    }
}
