//! Build definitions, builds, their timelines and the commits they built: the Build side of
//! the Pipelines connector (issue 10, API_FACTS §1.1, §4.1, §8.3, §8.5).
//!
//! Definitions and builds are generated eagerly when the org is (`generate`), from RNG streams
//! of their own, after everything else, so the data of the other areas is what it was before
//! builds existed. They are compact: a build is a few dozen bytes of state. What a build *has*
//! — its timeline records (`timeline`) and its changes (`generate::changes`) — is derived on
//! every read from the build's state and a stream keyed by the build id ([`build_key`]), so an
//! org of 20,000+ builds costs little to generate and timelines stay consistent with the
//! build as mutations move it (`mutate`): start, finish, retry, cancel, delete.
//!
//! Ids: build ids are org-wide and ascend with the queue time (ADO numbers builds per
//! collection in queue order); **definition ids are per project** (1, 2, … in each project),
//! which we believe is ADO's behaviour (definitions live per project) — a client must key
//! pipelines by project and id.
//!
//! This module owns the data and its invariants; JSON shapes are in `json`, list queries and
//! paging in `query`, the ground truth in `truth`, HTTP in `routes::build`.

pub(crate) mod generate;
pub(crate) mod json;
pub(crate) mod mutate;
pub(crate) mod query;
pub(crate) mod timeline;
pub(crate) mod truth;

use std::sync::atomic::{AtomicU64, Ordering};

use crate::model::{Identity, Org};

/// `BuildStatus` (a flags enum: the values are the bits `statusFilter` takes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    InProgress,
    Completed,
    Cancelling,
    Postponed,
    NotStarted,
}

impl Status {
    pub(crate) const ALL: [Status; 5] = [
        Status::InProgress,
        Status::Completed,
        Status::Cancelling,
        Status::Postponed,
        Status::NotStarted,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::InProgress => "inProgress",
            Status::Completed => "completed",
            Status::Cancelling => "cancelling",
            Status::Postponed => "postponed",
            Status::NotStarted => "notStarted",
        }
    }

    pub(crate) fn bit(self) -> u32 {
        match self {
            Status::InProgress => 1,
            Status::Completed => 2,
            Status::Cancelling => 4,
            Status::Postponed => 8,
            Status::NotStarted => 32,
        }
    }
}

/// `BuildResult` (flags, like the status).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Succeeded,
    PartiallySucceeded,
    Failed,
    Canceled,
}

impl Outcome {
    pub(crate) const ALL: [Outcome; 4] = [
        Outcome::Succeeded,
        Outcome::PartiallySucceeded,
        Outcome::Failed,
        Outcome::Canceled,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::PartiallySucceeded => "partiallySucceeded",
            Outcome::Failed => "failed",
            Outcome::Canceled => "canceled",
        }
    }

    pub(crate) fn bit(self) -> u32 {
        match self {
            Outcome::Succeeded => 2,
            Outcome::PartiallySucceeded => 4,
            Outcome::Failed => 8,
            Outcome::Canceled => 32,
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Outcome> {
        Outcome::ALL
            .into_iter()
            .find(|o| o.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// `BuildReason` (flags). Only the reasons the simulator generates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    Manual,
    IndividualCi,
    BatchedCi,
    Schedule,
    PullRequest,
    ResourceTrigger,
}

impl Reason {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Reason::Manual => "manual",
            Reason::IndividualCi => "individualCI",
            Reason::BatchedCi => "batchedCI",
            Reason::Schedule => "schedule",
            Reason::PullRequest => "pullRequest",
            Reason::ResourceTrigger => "resourceTrigger",
        }
    }

    pub(crate) fn bit(self) -> u32 {
        match self {
            Reason::Manual => 1,
            Reason::IndividualCi => 2,
            Reason::BatchedCi => 4,
            Reason::Schedule => 8,
            Reason::PullRequest => 256,
            Reason::ResourceTrigger => 1024,
        }
    }
}

/// `DefinitionQueueStatus`: paused definitions queue builds that wait (`postponed`),
/// disabled ones queue nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum QueueStatus {
    Enabled,
    Paused,
    Disabled,
}

impl QueueStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            QueueStatus::Enabled => "enabled",
            QueueStatus::Paused => "paused",
            QueueStatus::Disabled => "disabled",
        }
    }
}

/// Who requested, changed or deleted a build: a user of `Org::identities` or the project
/// collection's build service ([`Settings::service`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Who {
    User(usize),
    Service,
}

/// A step of a job.
#[derive(Clone, Debug)]
pub(crate) struct TaskPlan {
    pub name: String,
    /// Index into [`generate::TASKS`]; `None` for the agent's own steps (Initialize job…).
    pub task: Option<usize>,
    /// Natural duration in seconds (the build's real times are this layout, scaled).
    pub weight: u32,
}

#[derive(Clone, Debug)]
pub(crate) struct JobPlan {
    pub identifier: String,
    pub name: String,
    pub tasks: Vec<TaskPlan>,
}

#[derive(Clone, Debug)]
pub(crate) struct StagePlan {
    pub identifier: String,
    pub name: String,
    /// An environment approval: a `Checkpoint` record opens the stage.
    pub checkpoint: bool,
    pub jobs: Vec<JobPlan>,
}

/// What a definition's builds run. Stages run one after the other, the jobs of a stage in
/// parallel, the tasks of a job in sequence. A classic definition has one stage whose record
/// is not shown (classic timelines are Phase → Job → Task) and one job.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub staged: bool,
    pub stages: Vec<StagePlan>,
}

#[derive(Clone, Debug)]
pub(crate) struct Definition {
    pub project: usize,
    /// Unique within the project.
    pub id: u32,
    pub name: String,
    /// `\` or `\Team\Sub`.
    pub path: String,
    pub revision: u32,
    /// When this revision was saved (`createdDate`, "the date this version of the definition
    /// was created"); builds come after it.
    pub created: i64,
    pub queue_status: QueueStatus,
    /// Index into `Org::repos`.
    pub repo: usize,
    /// `Some(yamlFilename)` for a YAML definition (`process.type` 2), `None` for a classic
    /// designer one (type 1).
    pub yaml: Option<String>,
    pub author: usize,
    /// Index into [`generate::POOLS`].
    pub pool: usize,
    pub plan: Plan,
}

/// A rerun of a build's failed jobs (YAML only): when, and how the previous attempt ended.
#[derive(Clone, Debug)]
pub(crate) struct Attempt {
    pub at: i64,
    pub prev_finish: i64,
    pub prev_result: Outcome,
}

#[derive(Clone, Debug)]
pub(crate) struct Build {
    pub id: u32,
    /// Index into [`Builds::definitions`].
    pub def: usize,
    pub number: String,
    pub status: Status,
    /// Set exactly when the status is completed.
    pub result: Option<Outcome>,
    pub reason: Reason,
    pub queued: i64,
    /// `None` when the build never started (queued, postponed, canceled in the queue, or a
    /// YAML file that failed to compile).
    pub started: Option<i64>,
    /// Set exactly when the status is completed.
    pub finished: Option<i64>,
    pub branch: String,
    pub sha: String,
    pub requested_for: Who,
    pub requested_by: Who,
    pub last_changed: i64,
    pub last_changed_by: Who,
    pub keep_forever: bool,
    pub retained_by_release: bool,
    /// Removed by retention at this time: listed only with `deletedFilter`, timeline 404.
    pub deleted: Option<i64>,
    /// The YAML failed to compile: completed and failed without starting, timeline 204.
    pub compile_failed: bool,
    /// How far an unfinished run has got, in thousandths of its expected length.
    pub progress: u16,
    /// An unfinished run's expected length: natural seconds × `pace` / 100.
    pub pace: u16,
    /// Reruns of failed jobs, oldest first.
    pub attempts: Vec<Attempt>,
    /// Commits built, the source version first (see `generate::changes`).
    pub changes: u16,
    /// A rebuild of a commit already built: `changes` lists nothing new unless
    /// `includeSourceChange=true`.
    pub source_only: bool,
    pub tags: Vec<&'static str>,
    /// Precise changes applied to this build (seeds their RNG).
    pub events: u32,
}

impl Build {
    /// Whether the build has a timeline (200): not deleted (404), not a compile failure (204).
    pub(crate) fn has_timeline(&self) -> bool {
        self.deleted.is_none() && !self.compile_failed
    }
}

/// What builds are generated from besides the org; fixed when the org is generated.
#[derive(Clone, Debug, Default)]
pub(crate) struct Settings {
    pub seed: u64,
    /// The identity automated builds are requested by and retention deletes with (not in
    /// `Org::identities`, so nothing drawing users sees it).
    pub service: Identity,
}

/// Continued build-list requests so far (the first-page quirk counts them).
#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    /// The count including this call.
    pub(crate) fn bump(&self) -> u64 {
        self.0.fetch_add(1, Ordering::Relaxed) + 1
    }
}

impl Clone for Counter {
    fn clone(&self) -> Self {
        Counter(AtomicU64::new(self.0.load(Ordering::Relaxed)))
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Builds {
    pub settings: Settings,
    pub definitions: Vec<Definition>,
    /// Definition indexes of each project, ascending by id.
    pub by_project: Vec<Vec<usize>>,
    /// `builds[id - 1]`.
    pub builds: Vec<Build>,
    /// Build ids of each project, ascending.
    pub project_builds: Vec<Vec<u32>>,
    /// [`crate::SimConfig::build_token_repeats_first_page`].
    pub token_repeats: Option<u32>,
    pub continued: Counter,
}

impl Builds {
    pub(crate) fn build(&self, id: u32) -> Option<&Build> {
        self.builds.get((id as usize).checked_sub(1)?)
    }

    pub(crate) fn definition_of(&self, b: &Build) -> &Definition {
        &self.definitions[b.def]
    }

    /// The project's definition with this id.
    pub(crate) fn find_definition(&self, project: usize, id: u32) -> Option<usize> {
        self.by_project
            .get(project)?
            .iter()
            .copied()
            .find(|&d| self.definitions[d].id == id)
    }

    /// Appends a build; its id must be `builds.len() + 1`.
    pub(crate) fn push(&mut self, b: Build) {
        debug_assert_eq!(b.id as usize, self.builds.len() + 1);
        let project = self.definitions[b.def].project;
        self.project_builds[project].push(b.id);
        self.builds.push(b);
    }
}

/// The key of one build's derived streams (timeline, changes, precise changes).
pub(crate) fn build_key(seed: u64, id: u32) -> u64 {
    (seed ^ 0x6275_696C_645F_6B65).wrapping_add(u64::from(id).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Every build of project `p` (its index in the org), deleted ones included, ascending by id
/// — the stable entry point for other areas that refer to builds (a release artifact, an
/// environment deployment's owner run). Read [`Build::deleted`], [`Build::status`],
/// [`Build::result`], [`Build::finished`] to pick; [`definition`] names its definition.
pub(crate) fn of_project(org: &Org, p: usize) -> impl Iterator<Item = &Build> {
    let b = &org.builds;
    b.project_builds
        .get(p)
        .into_iter()
        .flatten()
        .filter_map(move |id| b.build(*id))
}

/// The definition a build belongs to (its `id` is unique within the build's project only).
pub(crate) fn definition<'a>(org: &'a Org, b: &Build) -> &'a Definition {
    org.builds.definition_of(b)
}

/// The identity behind a [`Who`].
pub(crate) fn identity(org: &Org, w: Who) -> &Identity {
    match w {
        Who::User(u) => &org.identities[u],
        Who::Service => &org.builds.settings.service,
    }
}
