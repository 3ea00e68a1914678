//! A build's timeline, derived on every read from the build's state and its definition's plan
//! (never stored), so it always agrees with the build as mutations move it.
//!
//! Records form a tree: YAML Stage → Phase → Job → Task, with a `Checkpoint` (an approval)
//! under deploy stages; classic Phase → Job → Task. A job's task records exist once the job
//! has started (ADO expands them when an agent takes the job), so pending jobs have none.
//!
//! A run (the first attempt, or a rerun of failed jobs) is laid out in the plan's natural
//! seconds — stages in sequence, jobs in parallel, tasks in sequence — and scaled onto the
//! run's real interval: `[startTime, finishTime]` when it ended, or a cut at
//! `progress` of its expected length while it runs (records after the cut are pending).
//! How it ended decides the records' results: a failed run fails one task of one job (the
//! job's later tasks are skipped but `Finalize Job`, later stages are skipped), a partially
//! successful one has a task `succeededWithIssues`, a canceled one stops at a cut inside one
//! stage. Parents aggregate their children.
//!
//! A rerun (`Build::attempts`) runs the failed and canceled jobs of the first stage that has
//! some, and every job of the stages after it. Records that had run are superseded: the new
//! record has a new id, `attempt` + 1 and a `previousAttempts` entry `{attempt, timelineId,
//! recordId}` naming the old record, which lives on in that attempt's own timeline
//! (`…/timeline/{timelineId}`). Records that never ran (skipped) are updated in place.
//!
//! `changeId`s rank records by their last event; `lastModified` is the .NET `DateTime.MinValue`
//! sentinel `0001-01-01T00:00:00` (no `Z`, API_FACTS §4.1) on classic builds' records, as in
//! the recorded example, and on pending ones; records list in id order, not tree order, as
//! the example's do (children before parents).

use super::generate::{CHECKPOINT_SECONDS, POOLS, TASKS};
use super::{Build, Outcome, Plan, Status, build_key};
use crate::model::Org;
use crate::rng::Rng;
use crate::time::TICKS_PER_SEC;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Stage,
    Checkpoint,
    Phase,
    Job,
    Task,
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Stage => "Stage",
            Kind::Checkpoint => "Checkpoint",
            Kind::Phase => "Phase",
            Kind::Job => "Job",
            Kind::Task => "Task",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    Pending,
    InProgress,
    Completed,
}

impl State {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::InProgress => "inProgress",
            State::Completed => "completed",
        }
    }
}

/// `TaskResult`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Res {
    Succeeded,
    SucceededWithIssues,
    Failed,
    Canceled,
    Skipped,
}

impl Res {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Res::Succeeded => "succeeded",
            Res::SucceededWithIssues => "succeededWithIssues",
            Res::Failed => "failed",
            Res::Canceled => "canceled",
            Res::Skipped => "skipped",
        }
    }

    fn reruns(self) -> bool {
        matches!(self, Res::Failed | Res::Canceled | Res::Skipped)
    }
}

/// An earlier attempt of a record (`TimelineAttempt`).
#[derive(Clone, Debug)]
pub(crate) struct Prev {
    pub attempt: u32,
    pub timeline: String,
    pub record: String,
}

#[derive(Clone, Debug)]
pub(crate) struct Record {
    pub id: String,
    pub parent: Option<String>,
    pub kind: Kind,
    pub name: String,
    pub identifier: Option<String>,
    pub state: State,
    pub result: Option<Res>,
    pub start: Option<i64>,
    pub finish: Option<i64>,
    pub attempt: u32,
    pub previous: Vec<Prev>,
    pub worker: Option<String>,
    pub queue_id: Option<u32>,
    pub errors: u32,
    pub warnings: u32,
    pub order: u32,
    pub log: Option<u32>,
    /// `(is_error, message)`.
    pub issue: Option<(bool, String)>,
    /// Index into [`TASKS`].
    pub task: Option<usize>,
    pub change_id: u32,
    /// `None` prints the `0001-01-01T00:00:00` sentinel.
    pub last_modified: Option<i64>,
    /// Creation order, for stable ranks.
    seq: u32,
}

pub(crate) struct Timeline {
    pub id: String,
    pub change_id: u32,
    pub last_changed: i64,
    pub records: Vec<Record>,
}

/// The main timeline and, for attempt `a` (1-based) that a rerun superseded, `attempts[a-1]`:
/// the records that rerun replaced.
pub(crate) struct Timelines {
    pub main: Timeline,
    pub attempts: Vec<Timeline>,
}

impl Timelines {
    /// The timeline with this id (the main one or an attempt's), case-insensitive.
    pub(crate) fn find(&self, id: &str) -> Option<&Timeline> {
        std::iter::once(&self.main)
            .chain(&self.attempts)
            .find(|t| t.id.eq_ignore_ascii_case(id.trim()))
    }
}

/// The build's orchestration plan id, which is also its main timeline's id.
pub(crate) fn plan_id(seed: u64, build: u32) -> String {
    Rng::derive(build_key(seed, build), 0x0000_91A4).guid()
}

fn attempt_timeline_id(key: u64, attempt: u32) -> String {
    Rng::derive(key ^ u64::from(attempt), 0x7A77_E3B7).guid()
}

enum End {
    Done(i64, Outcome),
    Open(u16),
}

/// The timelines of `b`, or `None` when it has none (deleted: 404; failed to compile: 204).
pub(crate) fn of(org: &Org, b: &Build) -> Option<Timelines> {
    if !b.has_timeline() {
        return None;
    }
    let def = super::definition(org, b);
    let seed = org.builds.settings.seed;
    let mut w = Work::new(build_key(seed, b.id), &def.plan, b, def.pool);
    let current = || match (b.status, b.finished, b.result) {
        (Status::Completed, Some(f), Some(r)) => End::Done(f, r),
        _ => End::Open(b.progress),
    };
    // Attempt k ends where attempt k + 1 says the previous one ended, the last as the build is.
    let mut runs: Vec<(Option<i64>, End)> = Vec::new();
    let starts = std::iter::once(b.started).chain(b.attempts.iter().map(|a| Some(a.at)));
    for (i, t0) in starts.enumerate() {
        let end = match b.attempts.get(i) {
            Some(next) => End::Done(next.prev_finish, next.prev_result),
            None => current(),
        };
        runs.push((t0, end));
    }
    for (i, (t0, end)) in runs.into_iter().enumerate() {
        w.run(i as u32 + 1, t0, end);
    }
    Some(w.finish(seed, b))
}

/// The working state: the current record of every position, and superseded ones.
struct Work<'a> {
    key: u64,
    plan: &'a Plan,
    build: &'a Build,
    pool: usize,
    stages: Vec<Option<Record>>,
    checkpoints: Vec<Option<Record>>,
    phases: Vec<Vec<Record>>,
    jobs: Vec<Vec<Record>>,
    tasks: Vec<Vec<Vec<Record>>>,
    /// Superseded records by the attempt they belonged to (index attempt - 1).
    history: Vec<Vec<Record>>,
    seq: u32,
}

fn rid(key: u64, attempt: u32, kind: Kind, s: usize, j: usize, t: usize) -> String {
    let code = (u64::from(attempt) << 56)
        ^ ((kind as u64) << 48)
        ^ ((s as u64) << 32)
        ^ ((j as u64) << 16)
        ^ t as u64;
    Rng::derive(key ^ code.wrapping_mul(0xA24B_AED4_963E_E407), 0x007E_C04D).guid()
}

impl<'a> Work<'a> {
    fn new(key: u64, plan: &'a Plan, build: &'a Build, pool: usize) -> Work<'a> {
        let mut w = Work {
            key,
            plan,
            build,
            pool,
            stages: Vec::new(),
            checkpoints: Vec::new(),
            phases: Vec::new(),
            jobs: Vec::new(),
            tasks: Vec::new(),
            history: Vec::new(),
            seq: 0,
        };
        for (s, sp) in plan.stages.iter().enumerate() {
            let stage = plan.staged.then(|| {
                let mut r = w.record(Kind::Stage, rid(key, 1, Kind::Stage, s, 0, 0), None);
                r.name = sp.name.clone();
                r.identifier = Some(sp.identifier.clone());
                r.order = s as u32 + 1;
                r
            });
            let parent = stage.as_ref().map(|r| r.id.clone());
            w.stages.push(stage);
            w.checkpoints.push(None);
            let (mut phases, mut jobs) = (Vec::new(), Vec::new());
            for (j, jp) in sp.jobs.iter().enumerate() {
                let mut ph = w.record(
                    Kind::Phase,
                    rid(key, 1, Kind::Phase, s, j, 0),
                    parent.clone(),
                );
                ph.name = jp.name.clone();
                ph.identifier = Some(
                    jp.identifier
                        .strip_suffix(".__default")
                        .unwrap_or(&jp.identifier)
                        .to_string(),
                );
                ph.order = j as u32 + 1;
                let mut job = w.record(
                    Kind::Job,
                    rid(key, 1, Kind::Job, s, j, 0),
                    Some(ph.id.clone()),
                );
                job.name = jp.name.clone();
                job.identifier = Some(jp.identifier.clone());
                job.order = 1;
                phases.push(ph);
                jobs.push(job);
            }
            w.phases.push(phases);
            w.jobs.push(jobs);
            w.tasks.push(vec![Vec::new(); sp.jobs.len()]);
        }
        w
    }

    fn record(&mut self, kind: Kind, id: String, parent: Option<String>) -> Record {
        self.seq += 1;
        Record {
            id,
            parent,
            kind,
            name: String::new(),
            identifier: None,
            state: State::Pending,
            result: None,
            start: None,
            finish: None,
            attempt: 1,
            previous: Vec::new(),
            worker: None,
            queue_id: None,
            errors: 0,
            warnings: 0,
            order: 1,
            log: None,
            issue: None,
            task: None,
            change_id: 0,
            last_modified: None,
            seq: self.seq,
        }
    }

    /// Moves `old` to its attempt's history and returns its successor for `attempt`.
    fn supersede(&mut self, old: Record, attempt: u32, id: String) -> Record {
        let mut r = old.clone();
        self.seq += 1;
        r.seq = self.seq;
        r.id = id;
        r.attempt = attempt;
        r.previous.push(Prev {
            attempt: old.attempt,
            timeline: attempt_timeline_id(self.key, old.attempt),
            record: old.id.clone(),
        });
        r.state = State::Pending;
        r.result = None;
        r.start = None;
        r.finish = None;
        r.worker = None;
        r.queue_id = None;
        r.errors = 0;
        r.warnings = 0;
        r.issue = None;
        let slot = old.attempt as usize - 1;
        if self.history.len() <= slot {
            self.history.resize_with(slot + 1, Vec::new);
        }
        self.history[slot].push(old);
        r
    }

    fn run(&mut self, attempt: u32, t0: Option<i64>, end: End) {
        let plan = self.plan;
        let Some(t0) = t0 else {
            // Never started: a queued build, or one canceled in the queue.
            if let End::Done(_, Outcome::Canceled) = end {
                let all = self
                    .stages
                    .iter_mut()
                    .flatten()
                    .chain(self.phases.iter_mut().flatten())
                    .chain(self.jobs.iter_mut().flatten());
                for r in all {
                    r.state = State::Completed;
                    r.result = Some(Res::Canceled);
                }
            }
            return;
        };
        // Which jobs run.
        let runs: Vec<Vec<bool>> = if attempt == 1 {
            plan.stages
                .iter()
                .map(|s| vec![true; s.jobs.len()])
                .collect()
        } else {
            let first = (0..plan.stages.len()).find(|&s| {
                self.jobs[s]
                    .iter()
                    .any(|j| matches!(j.result, Some(Res::Failed | Res::Canceled)))
            });
            let first = first.unwrap_or(plan.stages.len());
            (0..plan.stages.len())
                .map(|s| {
                    (0..plan.stages[s].jobs.len())
                        .map(|j| {
                            s > first
                                || (s == first && self.jobs[s][j].result.is_some_and(Res::reruns))
                        })
                        .collect()
                })
                .collect()
        };
        let run_stages: Vec<usize> = (0..plan.stages.len())
            .filter(|&s| runs[s].iter().any(|x| *x))
            .collect();
        if run_stages.is_empty() {
            return;
        }
        let mut rng = Rng::derive(self.key ^ u64::from(attempt), 0x0A77_E3B7);
        let work_task = |rng: &mut Rng, n: usize| {
            if n <= 2 { 0 } else { 1 + rng.index(n - 2) }
        };
        let pick_job = |rng: &mut Rng, s: usize| {
            let js: Vec<usize> = (0..runs[s].len()).filter(|&j| runs[s][j]).collect();
            js[rng.index(js.len())]
        };
        // What goes wrong, where.
        let mut fail: Option<(usize, usize, usize)> = None;
        let mut warn: Option<(usize, usize, usize)> = None;
        let mut cancel: Option<(usize, f64)> = None;
        let mut last = *run_stages.last().expect("not empty");
        match end {
            End::Done(_, Outcome::Failed) => {
                let s = run_stages[rng.index(run_stages.len())];
                let j = pick_job(&mut rng, s);
                let t = work_task(&mut rng, plan.stages[s].jobs[j].tasks.len());
                fail = Some((s, j, t));
                last = s;
            }
            End::Done(_, Outcome::PartiallySucceeded) => {
                let s = run_stages[rng.index(run_stages.len())];
                let j = pick_job(&mut rng, s);
                let t = work_task(&mut rng, plan.stages[s].jobs[j].tasks.len());
                warn = Some((s, j, t));
            }
            End::Done(_, Outcome::Canceled) => {
                let s = run_stages[rng.index(run_stages.len())];
                cancel = Some((s, 0.2 + 0.6 * rng.f64()));
                last = s;
            }
            _ => {}
        }
        // Natural layout: per laid stage its offset and length, per task its span.
        let counted = |s: usize, j: usize, t: usize| match fail {
            Some((fs, fj, ft)) if fs == s && fj == j => {
                t <= ft || t + 1 == plan.stages[s].jobs[j].tasks.len()
            }
            _ => true,
        };
        let mut cursor = 0.0f64;
        let mut offsets: Vec<(usize, f64, f64)> = Vec::new();
        for &s in run_stages.iter().filter(|&&s| s <= last) {
            let sp = &plan.stages[s];
            let cp = if sp.checkpoint {
                f64::from(CHECKPOINT_SECONDS)
            } else {
                0.0
            };
            let longest = (0..sp.jobs.len())
                .filter(|&j| runs[s][j])
                .map(|j| {
                    sp.jobs[j]
                        .tasks
                        .iter()
                        .enumerate()
                        .filter(|(t, _)| counted(s, j, *t))
                        .map(|(_, t)| f64::from(t.weight))
                        .sum::<f64>()
                })
                .fold(0.0, f64::max);
            offsets.push((s, cursor, cp + longest));
            cursor += cp + longest;
        }
        let total = cursor.max(1.0);
        let (scale, cut, t_end) = match end {
            End::Done(t1, Outcome::Canceled) => {
                let (cs, phi) = cancel.expect("chosen above");
                let (_, off, len) = offsets
                    .iter()
                    .copied()
                    .find(|o| o.0 == cs)
                    .expect("laid out");
                let cut = (off + phi * len).max(1.0);
                ((t1 - t0) as f64 / cut, cut, Some(t1))
            }
            End::Done(t1, _) => ((t1 - t0) as f64 / total, total, Some(t1)),
            End::Open(p) => {
                let pace = f64::from(self.build.pace) / 100.0 * TICKS_PER_SEC as f64;
                (pace, f64::from(p) / 1000.0 * total, None)
            }
        };
        let at = |x: f64| {
            let t = t0 + (x * scale).round() as i64;
            match t_end {
                Some(e) => t.min(e),
                None => t,
            }
        };
        let canceled = cancel.is_some();
        let (queue_id, hosted) = (POOLS[self.pool].0, POOLS[self.pool].3);

        for &s in &run_stages {
            let sp = &plan.stages[s];
            let laid = offsets.iter().copied().find(|o| o.0 == s);
            // Supersede what ran before, in this stage.
            if let Some(old) = self.stages[s].take() {
                let new = if old.start.is_some() {
                    let id = rid(self.key, attempt, Kind::Stage, s, 0, 0);
                    self.supersede(old, attempt, id)
                } else {
                    old
                };
                for ph in &mut self.phases[s] {
                    ph.parent = Some(new.id.clone());
                }
                self.stages[s] = Some(new);
            }
            // An approval that ran is asked again; the new one names the old.
            let mut cp_previous = Vec::new();
            if let Some(cp) = self.checkpoints[s].take() {
                cp_previous = cp.previous.clone();
                cp_previous.push(Prev {
                    attempt: cp.attempt,
                    timeline: attempt_timeline_id(self.key, cp.attempt),
                    record: cp.id.clone(),
                });
                self.history_push(cp);
            }
            for j in (0..sp.jobs.len()).filter(|&j| runs[s][j]) {
                let ran = self.jobs[s][j].start.is_some();
                let stage_id = self.stages[s].as_ref().map(|r| r.id.clone());
                if ran {
                    let old_ph = self.phases[s][j].clone();
                    let id = rid(self.key, attempt, Kind::Phase, s, j, 0);
                    let mut ph = self.supersede(old_ph, attempt, id);
                    ph.parent = stage_id;
                    let old_job = self.jobs[s][j].clone();
                    let id = rid(self.key, attempt, Kind::Job, s, j, 0);
                    let mut job = self.supersede(old_job, attempt, id);
                    job.parent = Some(ph.id.clone());
                    self.phases[s][j] = ph;
                    self.jobs[s][j] = job;
                    let old_tasks = std::mem::take(&mut self.tasks[s][j]);
                    for t in old_tasks {
                        self.history_push(t);
                    }
                }
                let Some((_, off, _)) = laid else {
                    // After the stage that failed or was canceled: skipped.
                    for r in [&mut self.phases[s][j], &mut self.jobs[s][j]] {
                        r.state = State::Completed;
                        r.result = Some(Res::Skipped);
                    }
                    continue;
                };
                let cp_len = if sp.checkpoint {
                    f64::from(CHECKPOINT_SECONDS)
                } else {
                    0.0
                };
                let job_start = off + cp_len;
                if job_start > cut {
                    let r = if canceled { Some(Res::Skipped) } else { None };
                    for x in [&mut self.phases[s][j], &mut self.jobs[s][j]] {
                        x.state = if canceled {
                            State::Completed
                        } else {
                            State::Pending
                        };
                        x.result = r;
                    }
                    continue;
                }
                let job_attempt = self.jobs[s][j].attempt;
                let job_id = self.jobs[s][j].id.clone();
                let worker = if hosted {
                    format!("Azure Pipelines {}", rng.range(1, 20))
                } else {
                    format!("build-agent-{:02}", rng.range(1, 12))
                };
                let mut x = job_start;
                let mut tasks = Vec::new();
                let n = sp.jobs[j].tasks.len();
                for (t, tp) in sp.jobs[j].tasks.iter().enumerate() {
                    let id = rid(self.key, job_attempt, Kind::Task, s, j, t + 1);
                    let mut r = self.record(Kind::Task, id, Some(job_id.clone()));
                    r.name = tp.name.clone();
                    r.task = tp.task;
                    r.order = t as u32 + 1;
                    r.attempt = job_attempt;
                    if !counted(s, j, t) {
                        r.state = State::Completed;
                        r.result = Some(Res::Skipped);
                        tasks.push(r);
                        continue;
                    }
                    let (xs, xe) = (x, x + f64::from(tp.weight));
                    x = xe;
                    if xs > cut {
                        if canceled {
                            r.state = State::Completed;
                            r.result = Some(Res::Skipped);
                        }
                    } else {
                        r.start = Some(at(xs));
                        r.worker = Some(worker.clone());
                        if xe <= cut {
                            r.state = State::Completed;
                            r.finish = Some(at(xe));
                            r.result = Some(if fail == Some((s, j, t)) {
                                Res::Failed
                            } else if warn == Some((s, j, t)) {
                                Res::SucceededWithIssues
                            } else {
                                Res::Succeeded
                            });
                        } else if canceled {
                            r.state = State::Completed;
                            r.finish = Some(at(cut));
                            r.result = Some(Res::Canceled);
                        } else {
                            r.state = State::InProgress;
                        }
                    }
                    match r.result {
                        Some(Res::Failed) => {
                            r.errors = 1;
                            r.issue = Some((true, failure_message(tp.task)));
                        }
                        Some(Res::SucceededWithIssues) => {
                            r.errors = 1;
                            r.issue = Some((true, failure_message(tp.task)));
                        }
                        Some(Res::Succeeded) if t > 0 && t + 1 < n && rng.chance(0.05) => {
                            r.warnings = 1;
                            r.issue = Some((false, WARNINGS[rng.index(WARNINGS.len())].into()));
                        }
                        _ => {}
                    }
                    tasks.push(r);
                }
                let job = &mut self.jobs[s][j];
                job.worker = Some(worker);
                job.queue_id = Some(queue_id);
                aggregate(job, &tasks);
                let snapshot = job.clone();
                aggregate(&mut self.phases[s][j], std::slice::from_ref(&snapshot));
                self.tasks[s][j] = tasks;
            }
            // The stage: its checkpoint, then the aggregate of its jobs.
            // A checkpoint exists once its stage has started.
            if let Some((_, off, _)) = laid
                && sp.checkpoint
                && self.stages[s].is_some()
                && off <= cut
            {
                let parent = self.stages[s].as_ref().map(|r| r.id.clone());
                let id = rid(self.key, attempt, Kind::Checkpoint, s, 0, 0);
                let mut cp = self.record(Kind::Checkpoint, id, parent);
                cp.name = "Checkpoint".to_string();
                cp.order = 0;
                cp.attempt = self.stages[s].as_ref().map_or(1, |r| r.attempt);
                cp.previous = std::mem::take(&mut cp_previous);
                let (xs, xe) = (off, off + f64::from(CHECKPOINT_SECONDS));
                cp.start = Some(at(xs));
                if xe <= cut {
                    cp.state = State::Completed;
                    cp.finish = Some(at(xe));
                    cp.result = Some(Res::Succeeded);
                } else if canceled {
                    cp.state = State::Completed;
                    cp.finish = Some(at(cut));
                    cp.result = Some(Res::Canceled);
                } else {
                    cp.state = State::InProgress;
                }
                self.checkpoints[s] = Some(cp);
            }
            let mut children: Vec<Record> = self.phases[s].clone();
            if let Some(cp) = &self.checkpoints[s] {
                children.push(cp.clone());
            }
            if let Some(stage) = self.stages[s].as_mut() {
                if laid.is_none() {
                    stage.state = State::Completed;
                    stage.result = Some(Res::Skipped);
                } else {
                    aggregate(stage, &children);
                }
            }
        }
    }

    fn history_push(&mut self, r: Record) {
        let slot = r.attempt as usize - 1;
        if self.history.len() <= slot {
            self.history.resize_with(slot + 1, Vec::new);
        }
        self.history[slot].push(r);
    }

    /// Change ids, log ids and lastModified over every record; the timelines.
    fn finish(self, seed: u64, b: &Build) -> Timelines {
        let classic = !self.plan.staged;
        let mut main: Vec<Record> = Vec::new();
        for s in 0..self.plan.stages.len() {
            main.extend(self.stages[s].iter().cloned());
            main.extend(self.checkpoints[s].iter().cloned());
            main.extend(self.phases[s].iter().cloned());
            main.extend(self.jobs[s].iter().cloned());
            for t in &self.tasks[s] {
                main.extend(t.iter().cloned());
            }
        }
        let mut history = self.history;
        // Ranks over every record, superseded ones included: (where, index).
        let mut all: Vec<(i64, u32, usize, usize)> = Vec::new();
        for (i, r) in main.iter().enumerate() {
            all.push((r.finish.or(r.start).unwrap_or(b.queued), r.seq, 0, i));
        }
        for (h, recs) in history.iter().enumerate() {
            for (i, r) in recs.iter().enumerate() {
                all.push((r.finish.or(r.start).unwrap_or(b.queued), r.seq, h + 1, i));
            }
        }
        all.sort_unstable();
        let mut logs: Vec<(i64, u32, usize, usize)> = all
            .iter()
            .copied()
            .filter(|&(_, _, w, i)| {
                let r = if w == 0 { &main[i] } else { &history[w - 1][i] };
                r.start.is_some() && matches!(r.kind, Kind::Job | Kind::Task)
            })
            .map(|(_, seq, w, i)| {
                let r = if w == 0 { &main[i] } else { &history[w - 1][i] };
                (r.start.unwrap_or(0), seq, w, i)
            })
            .collect();
        logs.sort_unstable();
        for (rank, &(_, _, w, i)) in all.iter().enumerate() {
            let r = if w == 0 {
                &mut main[i]
            } else {
                &mut history[w - 1][i]
            };
            r.change_id = rank as u32 + 1;
            r.last_modified = if classic { None } else { r.finish.or(r.start) };
        }
        for (n, &(_, _, w, i)) in logs.iter().enumerate() {
            let r = if w == 0 {
                &mut main[i]
            } else {
                &mut history[w - 1][i]
            };
            r.log = Some(n as u32 + 1);
        }
        let timeline = |id: String, mut records: Vec<Record>| {
            records.sort_by(|a, c| a.id.cmp(&c.id));
            Timeline {
                id,
                change_id: records.iter().map(|r| r.change_id).max().unwrap_or(0),
                last_changed: records
                    .iter()
                    .filter_map(|r| r.finish.or(r.start))
                    .max()
                    .unwrap_or(b.queued),
                records,
            }
        };
        let attempts = history
            .into_iter()
            .enumerate()
            .map(|(a, recs)| timeline(attempt_timeline_id(self.key, a as u32 + 1), recs))
            .collect();
        Timelines {
            main: timeline(plan_id(seed, b.id), main),
            attempts,
        }
    }
}

const WARNINGS: [&str; 3] = [
    "The MSBuild version parameter has been deprecated. Ignoring value: latest",
    "Node.js 16 is deprecated; this task will run on Node.js 20.",
    "No test result files matching '**/TEST-*.xml' were found.",
];

fn failure_message(task: Option<usize>) -> String {
    match task.map(|t| TASKS[t].1) {
        Some("DotNetCoreCLI") => "Error: The process '/usr/bin/dotnet' failed with exit code 1",
        Some("Npm") => "Error: Npm failed with return code: 1",
        Some("VSBuild") => "Process 'msbuild.exe' exited with code '1'.",
        Some("VSTest") => "VsTest task failed.",
        Some("PowerShell") => "PowerShell exited with code '1'.",
        _ => "Bash exited with code '1'.",
    }
    .to_string()
}

/// Sets a parent's state, result and times from its children's.
fn aggregate(parent: &mut Record, children: &[Record]) {
    if children.is_empty() {
        return;
    }
    let all = |s: State| children.iter().all(|c| c.state == s);
    parent.start = children.iter().filter_map(|c| c.start).min();
    if all(State::Pending) {
        parent.state = State::Pending;
        parent.result = None;
        parent.finish = None;
        return;
    }
    if !all(State::Completed) {
        parent.state = State::InProgress;
        parent.result = None;
        parent.finish = None;
        return;
    }
    parent.state = State::Completed;
    parent.finish = children.iter().filter_map(|c| c.finish).max();
    let any = |r: Res| children.iter().any(|c| c.result == Some(r));
    parent.result = Some(if any(Res::Failed) {
        Res::Failed
    } else if any(Res::Canceled) {
        Res::Canceled
    } else if children.iter().all(|c| c.result == Some(Res::Skipped)) {
        Res::Skipped
    } else if any(Res::SucceededWithIssues) {
        Res::SucceededWithIssues
    } else {
        Res::Succeeded
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builds::generate::{Sizes, generate};
    use crate::builds::{Attempt, Status};
    use crate::data::{Sizes as OrgSizes, generate as generate_org};
    use crate::time::TICKS_PER_SEC;

    fn org() -> Org {
        let sizes = OrgSizes {
            projects: 2,
            repos_per_project: 2,
            prs_per_repo: 5,
            work_items_per_project: 0,
        };
        let start = 1_750_000_000 * TICKS_PER_SEC;
        let mut org = generate_org("contoso", 8, &sizes, start);
        let s = Sizes {
            definitions_per_project: 6,
            builds_per_definition: 30,
            compile_failure_share: 0.05,
        };
        org.builds = generate(&org, 8, &s, start);
        org
    }

    fn check_tree(t: &Timeline, staged: bool) {
        let ids: std::collections::HashSet<&str> =
            t.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids.len(), t.records.len(), "ids are unique");
        for r in &t.records {
            match (&r.parent, r.kind) {
                (None, Kind::Stage) => assert!(staged),
                (None, Kind::Phase) => assert!(!staged),
                (Some(p), _) => assert!(ids.contains(p.as_str()), "{r:?}"),
                (None, k) => panic!("{k:?} without a parent"),
            }
            assert_eq!(r.result.is_some(), r.state == State::Completed, "{r:?}");
            if let (Some(s), Some(f)) = (r.start, r.finish) {
                assert!(s <= f, "{r:?}");
            }
            if r.state == State::Pending {
                assert!(r.start.is_none());
            }
        }
    }

    #[test]
    fn timelines_agree_with_their_builds() {
        let o = org();
        let mut seen_failed = false;
        for b in &o.builds.builds {
            let Some(tl) = of(&o, b) else {
                assert!(!b.has_timeline());
                continue;
            };
            let def = crate::builds::definition(&o, b);
            check_tree(&tl.main, def.plan.staged);
            let roots: Vec<&Record> = tl
                .main
                .records
                .iter()
                .filter(|r| r.parent.is_none())
                .collect();
            match b.status {
                Status::Completed => {
                    assert!(roots.iter().all(|r| r.state == State::Completed), "{b:?}");
                    if let (Some(s), Some(f)) = (b.started, b.finished) {
                        for r in &tl.main.records {
                            if let Some(x) = r.start {
                                assert!(x >= s && x <= f, "{r:?} {b:?}");
                            }
                            if let Some(x) = r.finish {
                                assert!(x >= s && x <= f, "{r:?} {b:?}");
                            }
                        }
                    }
                    if b.result == Some(Outcome::Failed) && b.started.is_some() {
                        seen_failed = true;
                        assert!(
                            tl.main
                                .records
                                .iter()
                                .any(|r| r.result == Some(Res::Failed))
                        );
                    }
                    if b.result == Some(Outcome::Succeeded) {
                        assert!(
                            roots.iter().all(|r| r.result == Some(Res::Succeeded)),
                            "{b:?}"
                        );
                    }
                }
                Status::InProgress | Status::Cancelling => {
                    assert!(tl.main.records.iter().any(|r| r.state == State::InProgress));
                    for r in &tl.main.records {
                        if let Some(x) = r.finish {
                            assert!(x <= 1_750_000_000 * TICKS_PER_SEC, "{r:?}");
                        }
                    }
                }
                Status::NotStarted | Status::Postponed => {
                    assert!(tl.main.records.iter().all(|r| r.state == State::Pending));
                    assert!(tl.main.records.iter().all(|r| r.kind != Kind::Task));
                }
            }
            // Deterministic.
            let again = of(&o, b).unwrap();
            assert_eq!(
                tl.main
                    .records
                    .iter()
                    .map(|r| (&r.id, r.change_id))
                    .collect::<Vec<_>>(),
                again
                    .main
                    .records
                    .iter()
                    .map(|r| (&r.id, r.change_id))
                    .collect::<Vec<_>>()
            );
        }
        assert!(seen_failed);
    }

    #[test]
    fn a_rerun_supersedes_the_failed_job() {
        let mut o = org();
        let id = o
            .builds
            .builds
            .iter()
            .find(|b| {
                b.result == Some(Outcome::Failed)
                    && b.has_timeline()
                    && b.started.is_some()
                    && crate::builds::definition(&o, b).plan.staged
            })
            .map(|b| b.id)
            .expect("a failed YAML build");
        let before = of(&o, o.builds.build(id).unwrap()).unwrap();
        let failed_job = before
            .main
            .records
            .iter()
            .find(|r| r.kind == Kind::Job && r.result == Some(Res::Failed))
            .unwrap()
            .clone();
        let b = &mut o.builds.builds[id as usize - 1];
        let fin = b.finished.unwrap();
        b.attempts.push(Attempt {
            at: fin + TICKS_PER_SEC,
            prev_finish: fin,
            prev_result: Outcome::Failed,
        });
        b.status = Status::Completed;
        b.result = Some(Outcome::Succeeded);
        b.finished = Some(fin + 600 * TICKS_PER_SEC);
        let after = of(&o, o.builds.build(id).unwrap()).unwrap();
        check_tree(&after.main, true);
        let job = after
            .main
            .records
            .iter()
            .find(|r| r.identifier == failed_job.identifier && r.kind == Kind::Job)
            .unwrap();
        assert_eq!(job.attempt, 2);
        assert_eq!(job.result, Some(Res::Succeeded));
        assert_eq!(job.previous.len(), 1);
        assert_eq!(job.previous[0].attempt, 1);
        assert_eq!(job.previous[0].record, failed_job.id);
        let old = after
            .find(&job.previous[0].timeline)
            .expect("attempt timeline");
        assert!(old.records.iter().any(|r| r.id == failed_job.id));
        assert!(after.main.change_id > before.main.change_id);
        assert!(
            after
                .main
                .records
                .iter()
                .all(|r| r.result != Some(Res::Failed))
        );
    }
}
