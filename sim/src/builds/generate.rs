//! Generation of definitions and builds, and the changes (commits) a build built.
//!
//! Mixes, per project (`SimConfig::definitions_per_project` definitions, each with
//! `builds_per_definition` builds spread over the two-year history):
//! - definitions: the first two YAML (`process.type` 2), the third classic (type 1), later
//!   ones two-thirds YAML; each on one of the project's repositories (round robin); in the
//!   root folder `\` or a team folder; 85% enabled, 8% paused, 7% disabled (the first of each
//!   project is always enabled). YAML plans have 1–3 stages (a deploy stage opens with an
//!   approval `Checkpoint`) of 1–2 jobs; classic plans one job.
//! - builds: completed (70% succeeded, 7% partially succeeded, 15% failed, 8% canceled — a
//!   third of those in the queue, never started), except the newest of each definition, whose
//!   status cycles through inProgress, notStarted, completed, cancelling, completed,
//!   postponed, completed, completed by definition (paused definitions: postponed; disabled:
//!   completed), and 6% of second-newest ones still running. Reasons: individualCI 40%,
//!   pullRequest 25% (on `refs/pull/{a PR of the repository}/merge`), manual 15%, schedule
//!   10%, batchedCI 8%, resourceTrigger 2%.
//! - a share of YAML builds (`SimConfig::build_compile_failure_share`) failed to compile:
//!   failed, never started, no timeline (204), a `validationResults` error.
//! - 5% of CI builds were queued by the same push as a build of another definition of the
//!   project: **the same queue time**, so clients meet ties on the order time.
//! - builds finished more than a year before the history end were deleted by retention at
//!   40% (never those kept forever or retained by a release).
//! - changes: 1–5 commits mostly, 6–30 sometimes, 150–450 for 2% of builds (and exactly 250
//!   for the newest completed build of each project's first definition), so the 200-a-call cap
//!   is met; a fifth of manual and scheduled builds rebuilt an already-built commit.

use super::{
    Build, Builds, Definition, JobPlan, Outcome, Plan, QueueStatus, Reason, Settings, StagePlan,
    Status, TaskPlan, Who, build_key,
};
use crate::data::HISTORY_TICKS;
use crate::model::{Identity, Org};
use crate::rng::Rng;
use crate::time::{TICKS_PER_DAY, TICKS_PER_SEC};

/// Agent queues: (queue id, name, pool id, hosted).
pub(crate) const POOLS: [(u32, &str, u32, bool); 3] = [
    (11, "Azure Pipelines", 9, true),
    (12, "Default", 1, false),
    (13, "Linux agents", 14, false),
];

/// Task definitions steps refer to: (id, name, version).
pub(crate) const TASKS: [(&str, &str, &str); 9] = [
    ("6d15af64-176c-496d-b583-fd2ae21d4df4", "Checkout", "1.0.0"),
    ("d9bafed4-0b18-4f58-968d-86655b4d2ce9", "CmdLine", "2.212.0"),
    (
        "e213ff0f-5d5c-4791-802d-52ea3e7be1f1",
        "PowerShell",
        "2.231.0",
    ),
    (
        "5541a522-603c-47ad-91fc-a4b1d163081b",
        "DotNetCoreCLI",
        "2.231.0",
    ),
    ("fe47e961-9fa8-4106-8639-368c022d43ad", "Npm", "1.231.0"),
    (
        "0b0f01ed-7dde-43ff-9cbb-e48954daf9b1",
        "PublishTestResults",
        "2.231.0",
    ),
    (
        "ecdc45f6-832d-4ad9-b52b-ee49e94659be",
        "PublishPipelineArtifact",
        "1.231.0",
    ),
    ("71a9a2d3-a98a-4caa-96ab-affca411ecda", "VSBuild", "1.231.0"),
    ("ef087383-ee5e-42c7-9a53-ab56c98420f9", "VSTest", "2.231.0"),
];

/// Work steps of YAML jobs: (display name, index into [`TASKS`]).
const STEPS: [(&str, usize); 8] = [
    ("Restore", 3),
    ("Build", 3),
    ("Run unit tests", 1),
    ("npm ci", 4),
    ("Lint", 1),
    ("Publish test results", 5),
    ("Publish artifact: drop", 6),
    ("Deploy to environment", 2),
];

const YAML_FILES: [&str; 4] = [
    "azure-pipelines.yml",
    ".azure-pipelines/ci.yml",
    "pipelines/build.yml",
    "pipelines/nightly.yml",
];
const TEAMS: [&str; 4] = ["Platform", "Web", "Mobile", "Data"];
const SUBFOLDERS: [&str; 3] = ["CI", "Nightly", "Release"];
const TAGS: [&str; 4] = ["release", "hotfix", "nightly", "perf"];
/// Status of each definition's newest build, by definition (org-wide index).
const NEWEST: [Status; 8] = [
    Status::InProgress,
    Status::NotStarted,
    Status::Completed,
    Status::Cancelling,
    Status::Completed,
    Status::Postponed,
    Status::Completed,
    Status::Completed,
];

pub(crate) struct Sizes {
    pub definitions_per_project: usize,
    pub builds_per_definition: usize,
    pub compile_failure_share: f64,
}

/// Natural length of a plan run in seconds (stages in sequence, jobs in parallel).
pub(crate) fn natural_seconds(plan: &Plan) -> u32 {
    plan.stages.iter().map(stage_seconds).sum::<u32>().max(1)
}

pub(crate) fn stage_seconds(s: &StagePlan) -> u32 {
    let jobs = s
        .jobs
        .iter()
        .map(|j| j.tasks.iter().map(|t| t.weight).sum::<u32>())
        .max()
        .unwrap_or(0);
    jobs + if s.checkpoint { CHECKPOINT_SECONDS } else { 0 }
}

/// How long an approval takes, in the plan's natural seconds.
pub(crate) const CHECKPOINT_SECONDS: u32 = 90;

/// Definitions and builds of `org` (projects, repositories, users and PRs must exist).
pub(crate) fn generate(org: &Org, seed: u64, sizes: &Sizes, start: i64) -> Builds {
    let mut rng = Rng::derive(seed, 0xB01D_0001);
    let service = Identity {
        id: rng.guid(),
        display_name: format!("Project Collection Build Service ({})", org.name),
        unique_name: format!("Build\\{}", rng.guid()),
        is_container: false,
    };
    let mut out = Builds {
        settings: Settings { seed, service },
        ..Builds::default()
    };
    for p in 0..org.projects.len() {
        let repos: Vec<usize> = (0..org.repos.len())
            .filter(|&r| org.repos[r].project == p && !org.repos[r].deleted)
            .collect();
        let mut mine = Vec::new();
        if !repos.is_empty() {
            for k in 0..sizes.definitions_per_project {
                let d = definition(&mut rng, org, &out, p, k, &repos, start);
                out.definitions.push(d);
                mine.push(out.definitions.len() - 1);
            }
        }
        out.by_project.push(mine);
        out.project_builds.push(Vec::new());
    }

    let mut drafts: Vec<Build> = Vec::new();
    for p in 0..org.projects.len() {
        let first = drafts.len();
        for &d in &out.by_project[p] {
            drafts_of(&mut rng, org, &out, d, sizes, start, &mut drafts);
        }
        share_pushes(&mut rng, &out, &mut drafts[first..]);
    }
    // Ids ascend with the queue time, org-wide.
    drafts.sort_by_key(|b| (b.queued, out.definitions[b.def].project, b.def));
    let mut per_day: std::collections::HashMap<(usize, i64), u32> = Default::default();
    for (i, mut b) in drafts.into_iter().enumerate() {
        b.id = i as u32 + 1;
        let rev = per_day
            .entry((b.def, b.queued.div_euclid(TICKS_PER_DAY)))
            .or_default();
        *rev += 1;
        b.number = build_number(&out.definitions[b.def], b.queued, *rev);
        out.push(b);
    }
    for p in 0..org.projects.len() {
        // The newest completed build of the project's first definition built 250 commits.
        let Some(&d0) = out.by_project[p].first() else {
            continue;
        };
        let newest = out.project_builds[p].iter().rev().copied().find(|id| {
            let b = &out.builds[*id as usize - 1];
            b.def == d0 && b.status == Status::Completed
        });
        if let Some(id) = newest {
            let b = &mut out.builds[id as usize - 1];
            b.changes = 250;
            b.source_only = false;
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn definition(
    rng: &mut Rng,
    org: &Org,
    out: &Builds,
    p: usize,
    k: usize,
    repos: &[usize],
    start: i64,
) -> Definition {
    let repo = repos[k % repos.len()];
    let repo_name = &org.repos[repo].name;
    let yaml = if k < 3 { k != 2 } else { rng.chance(0.65) };
    let base = if yaml {
        match rng.below(4) {
            0 => format!("{repo_name}-ci"),
            1 => format!("{repo_name}-pr"),
            2 => format!("{repo_name}-nightly"),
            _ => format!("deploy-{repo_name}"),
        }
    } else if rng.chance(0.5) {
        format!("{repo_name} - CI (classic)")
    } else {
        format!("{repo_name} - Release build")
    };
    let taken = |n: &str| {
        out.definitions
            .iter()
            .any(|d| d.project == p && d.name.eq_ignore_ascii_case(n))
    };
    let mut name = base.clone();
    let mut n = 2;
    while taken(&name) {
        name = format!("{base} {n}");
        n += 1;
    }
    let path = match rng.below(4) {
        0 | 1 => "\\".to_string(),
        2 => format!("\\{}", rng.pick(&TEAMS)),
        _ => format!("\\{}\\{}", rng.pick(&TEAMS), rng.pick(&SUBFOLDERS)),
    };
    let queue_status = match (k, rng.weighted(&[85, 8, 7])) {
        (0, _) | (_, 0) => QueueStatus::Enabled,
        (_, 1) => QueueStatus::Paused,
        _ => QueueStatus::Disabled,
    };
    let history_start = start - HISTORY_TICKS;
    Definition {
        project: p,
        id: k as u32 + 1,
        name,
        path,
        revision: rng.range(1, 25) as u32,
        created: history_start + rng.range(0, 60 * TICKS_PER_DAY),
        queue_status,
        repo,
        yaml: yaml.then(|| rng.pick(&YAML_FILES).to_string()),
        author: rng.index(org.user_count.max(1)),
        pool: if yaml {
            if rng.chance(0.8) { 0 } else { 2 }
        } else {
            1
        },
        plan: if yaml {
            yaml_plan(rng)
        } else {
            classic_plan(rng)
        },
    }
}

fn task(name: &str, task: Option<usize>, weight: u32) -> TaskPlan {
    TaskPlan {
        name: name.to_string(),
        task,
        weight,
    }
}

fn job_tasks(rng: &mut Rng, checkout: Option<&str>, steps: &[usize]) -> Vec<TaskPlan> {
    let mut tasks = vec![task("Initialize job", None, rng.range(2, 8) as u32)];
    if let Some(repo) = checkout {
        tasks.push(task(
            &format!("Checkout {repo}@main to s"),
            Some(0),
            rng.range(5, 40) as u32,
        ));
    }
    for &s in steps {
        let (name, t) = STEPS[s];
        tasks.push(task(name, Some(t), rng.range(10, 400) as u32));
    }
    if checkout.is_some() {
        tasks.push(task("Post-job: Checkout self", Some(0), 1));
    }
    tasks.push(task("Finalize Job", None, 1));
    tasks
}

fn yaml_plan(rng: &mut Rng) -> Plan {
    let shape = rng.weighted(&[35, 40, 25]) + 1;
    let mut stages = Vec::new();
    let names: [(&str, &str); 3] = [("Build", "Build"), ("Test", "Test"), ("Deploy", "Deploy")];
    for &(ident, name) in names.iter().take(shape) {
        let jobs_n = if ident == "Deploy" {
            1
        } else {
            rng.weighted(&[70, 30]) + 1
        };
        let mut jobs = Vec::new();
        for j in 0..jobs_n {
            let (jid, jname, steps): (&str, &str, Vec<usize>) = match (ident, j) {
                ("Build", 0) => ("Build", "Build", vec![0, 1, 6]),
                ("Build", _) => ("Lint", "Lint", vec![3, 4]),
                ("Test", 0) => ("UnitTests", "Unit tests", vec![0, 2, 5]),
                ("Test", _) => ("IntegrationTests", "Integration tests", vec![2, 5]),
                _ => ("DeployWeb", "Deploy web app", vec![7]),
            };
            let checkout = (ident != "Deploy").then_some("self");
            jobs.push(JobPlan {
                identifier: format!("{ident}.{jid}.__default"),
                name: jname.to_string(),
                tasks: job_tasks(rng, checkout, &steps),
            });
        }
        stages.push(StagePlan {
            identifier: ident.to_string(),
            name: name.to_string(),
            checkpoint: ident == "Deploy",
            jobs,
        });
    }
    Plan {
        staged: true,
        stages,
    }
}

fn classic_plan(rng: &mut Rng) -> Plan {
    let mut tasks = vec![
        task("Initialize job", None, rng.range(2, 8) as u32),
        task("Get sources", None, rng.range(5, 40) as u32),
        task(
            "Build solution **\\*.sln",
            Some(7),
            rng.range(60, 600) as u32,
        ),
    ];
    if rng.chance(0.7) {
        tasks.push(task("Test Assemblies", Some(8), rng.range(30, 300) as u32));
    }
    tasks.push(task(
        "Publish Artifact: drop",
        Some(6),
        rng.range(5, 60) as u32,
    ));
    tasks.push(task("Finalize Job", None, 1));
    Plan {
        staged: false,
        stages: vec![StagePlan {
            identifier: "__default".to_string(),
            name: "__default".to_string(),
            checkpoint: false,
            jobs: vec![JobPlan {
                identifier: "Job_1.__default".to_string(),
                name: "Agent job 1".to_string(),
                tasks,
            }],
        }],
    }
}

/// `$(Date:yyyyMMdd)$(Rev:.r)`, ADO's default build number format; classic definitions
/// prefix their name, as older designer definitions did.
pub(crate) fn build_number(d: &Definition, queued: i64, rev: u32) -> String {
    let day = crate::time::format(queued);
    let ymd: String = day[..10].chars().filter(char::is_ascii_digit).collect();
    match d.yaml {
        Some(_) => format!("{ymd}.{rev}"),
        None => format!("{}_{ymd}.{rev}", d.name),
    }
}

fn reason(rng: &mut Rng) -> Reason {
    match rng.weighted(&[40, 25, 15, 10, 8, 2]) {
        0 => Reason::IndividualCi,
        1 => Reason::PullRequest,
        2 => Reason::Manual,
        3 => Reason::Schedule,
        4 => Reason::BatchedCi,
        _ => Reason::ResourceTrigger,
    }
}

/// The branch a build of `reason` built in repository `repo`.
pub(crate) fn branch(rng: &mut Rng, org: &Org, repo: usize, reason: Reason) -> String {
    match reason {
        Reason::PullRequest => {
            let ids = org.by_repo.get(repo).map(|i| i.ids(None)).unwrap_or(&[]);
            let pr = if ids.is_empty() {
                rng.range(1, 5000) as u32
            } else {
                ids[rng.index(ids.len())]
            };
            format!("refs/pull/{pr}/merge")
        }
        Reason::Manual if rng.chance(0.3) => {
            format!("refs/heads/feature/{}", rng.range(100, 999))
        }
        Reason::IndividualCi | Reason::BatchedCi if rng.chance(0.15) => {
            format!(
                "refs/heads/release/20{}.{}",
                rng.range(24, 26),
                rng.range(1, 12)
            )
        }
        _ => "refs/heads/main".to_string(),
    }
}

/// Who a build of `reason` is requested for and by.
pub(crate) fn requesters(rng: &mut Rng, org: &Org, reason: Reason) -> (Who, Who) {
    let user = Who::User(rng.index(org.user_count.max(1)));
    match reason {
        Reason::Manual => (user, user),
        Reason::Schedule => (Who::Service, Who::Service),
        _ => (user, Who::Service),
    }
}

/// How many commits a build built, and whether it only rebuilt its source commit.
pub(crate) fn change_count(rng: &mut Rng, reason: Reason) -> (u16, bool) {
    let source_only = matches!(reason, Reason::Manual | Reason::Schedule) && rng.chance(0.2);
    let n = match rng.weighted(&[85, 13, 2]) {
        0 => rng.range(1, 5),
        1 => rng.range(6, 30),
        _ => rng.range(150, 450),
    };
    (if source_only { 1 } else { n as u16 }, source_only)
}

/// A fresh build (id and number set by the caller) of definition `d`, which builds
/// repository `repo`, queued at `queued`.
pub(crate) fn new_build(
    rng: &mut Rng,
    org: &Org,
    (d, repo): (usize, usize),
    reason: Reason,
    queued: i64,
) -> Build {
    let (requested_for, requested_by) = requesters(rng, org, reason);
    let (changes, source_only) = change_count(rng, reason);
    Build {
        id: 0,
        def: d,
        number: String::new(),
        status: Status::NotStarted,
        result: None,
        reason,
        queued,
        started: None,
        finished: None,
        branch: branch(rng, org, repo, reason),
        sha: rng.sha(),
        requested_for,
        requested_by,
        last_changed: queued,
        last_changed_by: requested_by,
        keep_forever: false,
        retained_by_release: false,
        deleted: None,
        compile_failed: false,
        progress: 0,
        pace: rng.range(70, 150) as u16,
        attempts: Vec::new(),
        changes,
        source_only,
        tags: Vec::new(),
        events: 0,
    }
}

fn result(rng: &mut Rng) -> Outcome {
    match rng.weighted(&[70, 7, 15, 8]) {
        0 => Outcome::Succeeded,
        1 => Outcome::PartiallySucceeded,
        2 => Outcome::Failed,
        _ => Outcome::Canceled,
    }
}

/// The builds of definition `d`, oldest first, appended to `out` with ids still 0.
#[allow(clippy::too_many_arguments)]
fn drafts_of(
    rng: &mut Rng,
    org: &Org,
    builds: &Builds,
    d: usize,
    sizes: &Sizes,
    start: i64,
    out: &mut Vec<Build>,
) {
    let def = &builds.definitions[d];
    let n = sizes.builds_per_definition;
    if n == 0 {
        return;
    }
    let natural = i64::from(natural_seconds(&def.plan));
    let lo = def.created + TICKS_PER_DAY;
    // Completed builds finish before the history end (a run lasts well under three hours).
    let hi = start - 3 * 3600 * TICKS_PER_SEC;
    let mut times: Vec<i64> = (0..n).map(|_| rng.range(lo, hi.max(lo))).collect();
    times.sort_unstable();
    let newest_status = match def.queue_status {
        QueueStatus::Disabled => Status::Completed,
        QueueStatus::Paused => Status::Postponed,
        QueueStatus::Enabled => NEWEST[d % NEWEST.len()],
    };
    for (i, &t) in times.iter().enumerate() {
        let status = if i + 1 == n {
            newest_status
        } else if i + 2 == n && def.queue_status == QueueStatus::Enabled && rng.chance(0.06) {
            Status::InProgress
        } else {
            Status::Completed
        };
        let reason = if def.queue_status == QueueStatus::Enabled || rng.chance(0.5) {
            reason(rng)
        } else {
            Reason::Manual
        };
        let mut b = new_build(rng, org, (d, def.repo), reason, t);
        b.status = status;
        b.pace = rng.range(70, 150) as u16;
        let wait = rng.range(5, 300) * TICKS_PER_SEC + rng.range(0, TICKS_PER_SEC - 1);
        let run = natural * i64::from(b.pace) * TICKS_PER_SEC / 100;
        match status {
            Status::Completed => {
                let compile_failed = def.yaml.is_some() && rng.chance(sizes.compile_failure_share);
                let outcome = if compile_failed {
                    Outcome::Failed
                } else {
                    result(rng)
                };
                b.result = Some(outcome);
                b.compile_failed = compile_failed;
                let never_started =
                    compile_failed || (outcome == Outcome::Canceled && rng.chance(0.33));
                if never_started {
                    b.finished = Some(t + rng.range(3, 600) * TICKS_PER_SEC);
                } else {
                    let s = t + wait;
                    let share = match outcome {
                        Outcome::Failed => rng.range(30, 100),
                        Outcome::Canceled => rng.range(20, 90),
                        _ => 100,
                    };
                    b.started = Some(s);
                    b.finished = Some(s + (run * share / 100).max(TICKS_PER_SEC));
                }
                let finished = b.finished.unwrap_or(t);
                b.last_changed = finished + rng.range(0, 5 * TICKS_PER_SEC);
                b.last_changed_by = Who::Service;
                b.keep_forever = rng.chance(0.03);
                b.retained_by_release = outcome == Outcome::Succeeded
                    && b.branch == "refs/heads/main"
                    && rng.chance(0.06);
                let old = finished < start - 365 * TICKS_PER_DAY;
                if old && !b.keep_forever && !b.retained_by_release && rng.chance(0.4) {
                    let at = (finished + rng.range(30, 180) * TICKS_PER_DAY).min(start - 1);
                    b.deleted = Some(at);
                    b.last_changed = at;
                }
            }
            Status::InProgress | Status::Cancelling => {
                // Running since shortly before the history end; its finished records end
                // before it.
                b.progress = rng.range(100, 900) as u16;
                let done = run * i64::from(b.progress) / 1000;
                let s = start - done - rng.range(60, 3600) * TICKS_PER_SEC;
                b.queued = s - wait;
                b.started = Some(s);
                b.last_changed = s;
            }
            Status::NotStarted | Status::Postponed => {
                b.queued = start - rng.range(60, 5400) * TICKS_PER_SEC;
                b.last_changed = b.queued;
            }
        }
        if rng.chance(0.08) {
            b.tags.push(*rng.pick(&TAGS));
        }
        out.push(b);
    }
}

/// 5% of a project's completed CI builds take the queue time of a completed build of another
/// definition: one push triggered both.
fn share_pushes(rng: &mut Rng, builds: &Builds, drafts: &mut [Build]) {
    let eligible: Vec<usize> = (0..drafts.len())
        .filter(|&i| {
            let b = &drafts[i];
            b.status == Status::Completed
                && b.deleted.is_none()
                && matches!(b.reason, Reason::IndividualCi | Reason::BatchedCi)
        })
        .collect();
    if eligible.len() < 2 {
        return;
    }
    for &i in &eligible {
        if !rng.chance(0.05) {
            continue;
        }
        let j = eligible[rng.index(eligible.len())];
        if drafts[j].def == drafts[i].def {
            continue;
        }
        let created = builds.definitions[drafts[i].def].created;
        let to = drafts[j].queued;
        if to <= created {
            continue;
        }
        let shift = to - drafts[i].queued;
        let sha = drafts[j].sha.clone();
        let b = &mut drafts[i];
        b.queued = to;
        b.started = b.started.map(|t| t + shift);
        b.finished = b.finished.map(|t| t + shift);
        b.last_changed += shift;
        b.sha = sha;
    }
}

/// The body of the tenth of commit messages that run past the 200 characters the changes
/// list keeps.
const LONG_BODY: &str = "\n\nThis change moves the logic into a dedicated module so it can be \
    tested in isolation. Existing callers keep working; the old entry point now forwards to the \
    new one. Adds unit tests for the empty, single and many-item cases.";

/// One commit a build built.
#[derive(Clone, Debug)]
pub(crate) struct BuiltCommit {
    pub sha: String,
    pub message: String,
    pub author: usize,
    pub timestamp: i64,
}

/// The commits build `b` built, newest (its source version) first, as `…/changes` lists
/// them; `include_source` adds the source commit of a rebuild (`includeSourceChange`).
pub(crate) fn changes(org: &Org, b: &Build, include_source: bool) -> Vec<BuiltCommit> {
    if b.source_only && !include_source {
        return Vec::new();
    }
    let key = build_key(org.builds.settings.seed, b.id);
    let mut rng = Rng::derive(key, 0x0C4A_96E5);
    let users = org.user_count.max(1);
    let mut t = b.queued - rng.range(30, 3600) * TICKS_PER_SEC;
    let mut out = Vec::with_capacity(usize::from(b.changes));
    for i in 0..b.changes {
        let sha = if i == 0 { b.sha.clone() } else { rng.sha() };
        let mut message = crate::data::title(&mut rng);
        if rng.chance(0.1) {
            message.push_str(LONG_BODY);
        }
        out.push(BuiltCommit {
            sha,
            message,
            author: rng.index(users),
            timestamp: t,
        });
        t -= rng.range(60, 2 * 86_400) * TICKS_PER_SEC;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Sizes as OrgSizes, generate as generate_org};

    fn org(defs: usize, per: usize) -> Org {
        let sizes = OrgSizes {
            projects: 3,
            repos_per_project: 2,
            prs_per_repo: 10,
            work_items_per_project: 0,
        };
        let start = 1_750_000_000 * TICKS_PER_SEC;
        let mut org = generate_org("contoso", 4, &sizes, start);
        let s = Sizes {
            definitions_per_project: defs,
            builds_per_definition: per,
            compile_failure_share: 0.05,
        };
        org.builds = generate(&org, 4, &s, start);
        org
    }

    #[test]
    fn ids_ascend_with_queue_time_and_statuses_are_consistent() {
        let o = org(6, 40);
        let b = &o.builds;
        assert_eq!(b.definitions.len(), 18);
        assert_eq!(b.builds.len(), 18 * 40);
        for w in b.builds.windows(2) {
            assert!(w[0].queued <= w[1].queued);
        }
        for x in &b.builds {
            assert_eq!(x.result.is_some(), x.status == Status::Completed, "{x:?}");
            assert_eq!(x.finished.is_some(), x.status == Status::Completed, "{x:?}");
            if let (Some(s), Some(f)) = (x.started, x.finished) {
                assert!(x.queued < s && s < f, "{x:?}");
            }
            if matches!(x.status, Status::InProgress | Status::Cancelling) {
                assert!(x.started.is_some());
            }
            assert!(x.last_changed >= x.queued);
            assert!(x.last_changed <= 1_750_000_000 * TICKS_PER_SEC);
        }
        for s in Status::ALL {
            assert!(b.builds.iter().any(|x| x.status == s), "{s:?}");
        }
        assert!(b.builds.iter().any(|x| x.deleted.is_some()));
        assert!(b.builds.iter().any(|x| x.compile_failed));
        assert!(b.builds.iter().any(|x| x.changes > 200));
        assert!(b.definitions.iter().any(|d| d.yaml.is_none()));
        // Ties on the queue time exist.
        assert!(b.builds.windows(2).any(|w| w[0].queued == w[1].queued));
        // Definition ids restart in every project.
        assert!(b.by_project.iter().all(|v| b.definitions[v[0]].id == 1));
    }

    #[test]
    fn numbers_count_per_definition_and_day() {
        let o = org(2, 30);
        let b = &o.builds;
        for x in &b.builds {
            let d = &b.definitions[x.def];
            let day = crate::time::format(x.queued)[..10].replace('-', "");
            assert!(x.number.contains(&day), "{} {}", x.number, day);
            if d.yaml.is_some() {
                assert!(x.number.starts_with(&day));
            }
        }
    }

    #[test]
    fn changes_are_stable_and_start_with_the_source_version() {
        let o = org(2, 10);
        for x in &o.builds.builds {
            let a = changes(&o, x, true);
            let b = changes(&o, x, true);
            assert_eq!(a.len(), usize::from(x.changes));
            assert_eq!(a[0].sha, x.sha);
            assert_eq!(
                a.iter().map(|c| &c.sha).collect::<Vec<_>>(),
                b.iter().map(|c| &c.sha).collect::<Vec<_>>()
            );
            for w in a.windows(2) {
                assert!(w[0].timestamp > w[1].timestamp);
            }
            assert_eq!(changes(&o, x, false).is_empty(), x.source_only);
        }
    }
}
