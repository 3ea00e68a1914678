//! The inside of every pull request: iterations, the files they changed, commits, comment
//! threads, linked work items, status checks and policy evaluations (issue 11).
//!
//! Children are generated **lazily**, the first time anything reads them, from an RNG stream of
//! their own per PR (`seed` and PR id), and only from the PR's own fields and the org's fixed
//! settings ([`ChildSettings`]). So `Sim::new` costs what it cost before children existed, the
//! PR data of a seed is unchanged, and the children of a PR are the same whatever order PRs
//! are read in. The one rule that keeps this deterministic: **anything that changes a PR must
//! call [`materialize`] first**, so its children are generated from the PR as it was generated
//! (mutations do; see `mutate` and `script`).
//!
//! Storage is per iteration *delta*: a file records the iteration that first changed it and
//! the later iterations that touched it again, and the cumulative changes of iteration `n`
//! (what `…/iterations/{n}/changes` lists, against the common commit) are folded at serve
//! time. Blob ids are a hash of (PR, file, version), never stored.
//!
//! This module owns the data and its invariants; JSON shapes are in `json`, generation in
//! `generate`, side effects of mutations in `mutate`, HTTP in `routes::children`.

pub(crate) mod generate;
pub(crate) mod json;
pub(crate) mod mutate;

use crate::model::{Identity, Org, PullRequest};
use crate::rng::Rng;

/// What children generation reads besides the PR itself; fixed when the org is generated.
#[derive(Clone, Debug, Default)]
pub(crate) struct ChildSettings {
    pub seed: u64,
    /// End of the generated history: an open PR's children happen before it.
    pub history_end: i64,
    /// The account system threads are written by (not in `Org::identities`, so nothing that
    /// draws from that list — reviewers, teams, graph users — sees it).
    pub service: Identity,
    /// Work item ids per project that PRs may link to (a snapshot taken at generation, so a
    /// PR's links do not depend on Boards mutations).
    pub work_items: Vec<Vec<u32>>,
    /// The PR that [`crate::SimConfig::big_pr_files`] and `big_thread_comments` apply to: the
    /// newest generated PR of the first repository.
    pub big_pr: Option<u32>,
    pub big_pr_files: usize,
    pub big_thread_comments: usize,
}

/// Iteration reasons as ADO prints them (`IterationReason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    Create,
    Push,
    Rebase,
    ForcePush,
}

impl Reason {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Reason::Create => "create",
            Reason::Push => "push",
            Reason::Rebase => "rebase",
            Reason::ForcePush => "forcePush",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Iteration {
    pub id: u32,
    pub reason: Reason,
    pub author: usize,
    pub created: i64,
    pub updated: i64,
    pub description: String,
    pub source: String,
    pub target: String,
    pub common: String,
    /// `None` for iteration 1 (the recorded example names no push for it).
    pub push: Option<Push>,
}

#[derive(Clone, Debug)]
pub(crate) struct Push {
    pub id: u32,
    pub date: i64,
    pub by: usize,
}

/// A commit of the PR's source branch.
#[derive(Clone, Debug)]
pub(crate) struct Commit {
    pub sha: String,
    pub author: usize,
    pub date: i64,
    pub comment: String,
}

/// How a file differs from the common commit (`VersionControlChangeType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileKind {
    Add,
    Edit,
    Delete,
    Rename,
    EditRename,
}

impl FileKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FileKind::Add => "add",
            FileKind::Edit => "edit",
            FileKind::Delete => "delete",
            FileKind::Rename => "rename",
            FileKind::EditRename => "edit, rename",
        }
    }

    /// Whether later pushes may edit the file again without changing its kind.
    pub(crate) fn editable(self) -> bool {
        matches!(self, FileKind::Add | FileKind::Edit | FileKind::EditRename)
    }
}

/// A changed path; its `changeTrackingId` is its index + 1 (stable for the PR's life).
#[derive(Clone, Debug)]
pub(crate) struct PrFile {
    pub path: String,
    pub original_path: Option<String>,
    pub kind: FileKind,
    /// The iteration that first changed it.
    pub first: u32,
    /// Later iterations that changed its content again, ascending.
    pub touches: Vec<u32>,
}

impl PrFile {
    /// The content version as of iteration `n`: the last iteration ≤ `n` that wrote it.
    pub(crate) fn version_at(&self, n: u32) -> u32 {
        self.touches
            .iter()
            .rev()
            .find(|t| **t <= n)
            .copied()
            .unwrap_or(self.first)
    }
}

/// `CommentThreadStatus`.
pub(crate) const THREAD_STATUSES: [&str; 6] = [
    "active", "fixed", "wontFix", "closed", "byDesign", "pending",
];

#[derive(Clone, Debug)]
pub(crate) enum ThreadKind {
    /// A discussion, with its status (an index into [`THREAD_STATUSES`]).
    Text {
        status: usize,
    },
    System(SystemEvent),
}

/// What a system thread records (`properties.CodeReviewThreadType`).
#[derive(Clone, Debug)]
pub(crate) enum SystemEvent {
    VoteUpdate {
        voter: usize,
        vote: i8,
    },
    ReviewersUpdate {
        by: usize,
        added: usize,
    },
    RefUpdate {
        by: usize,
        head: String,
        count: u32,
    },
    MergeAttempt {
        source: String,
        target: String,
        merge: String,
    },
}

/// Where a file thread is: the file (by changeTrackingId), the lines, the iterations.
#[derive(Clone, Debug)]
pub(crate) struct Anchor {
    pub change_tracking_id: u32,
    pub line: u32,
    pub start_offset: u32,
    pub end_offset: u32,
    pub first_iteration: u32,
    pub second_iteration: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CommentKind {
    Text,
    System,
    CodeChange,
}

impl CommentKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CommentKind::Text => "text",
            CommentKind::System => "system",
            CommentKind::CodeChange => "codeChange",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Comment {
    /// 1-based within its thread.
    pub id: u32,
    /// 0 for a top-level comment.
    pub parent: u32,
    /// `None`: the service account (system comments).
    pub author: Option<usize>,
    pub content: String,
    pub kind: CommentKind,
    pub published: i64,
    pub updated: i64,
    pub content_updated: i64,
    /// Deleted comments keep their place and lose their `content` key.
    pub deleted: bool,
    pub liked: Vec<usize>,
}

#[derive(Clone, Debug)]
pub(crate) struct Thread {
    /// Org-wide: `pr id × 1000 + n` ([`MAX_THREADS`] per PR).
    pub id: u32,
    pub published: i64,
    pub updated: i64,
    pub kind: ThreadKind,
    pub anchor: Option<Anchor>,
    pub comments: Vec<Comment>,
}

/// Threads a PR can hold: thread ids are `pr × 1000 + n`, unique in the org.
pub(crate) const MAX_THREADS: usize = 999;

pub(crate) fn thread_id(pr: u32, n: usize) -> u32 {
    pr * 1000 + n as u32
}

#[derive(Clone, Debug)]
pub(crate) struct Status {
    /// Unique within the PR across iterations (API_FACTS §9.1).
    pub id: u32,
    pub iteration: u32,
    pub state: &'static str,
    pub description: String,
    pub context: (&'static str, &'static str),
    pub target_url: String,
    pub created: i64,
    pub updated: i64,
    pub by: usize,
}

/// A policy of a project, evaluated on its PRs.
pub(crate) struct Policy {
    pub type_id: &'static str,
    pub name: &'static str,
    pub blocking: bool,
}

/// The three policies every project has; configuration ids are `project × 3 + k + 1`.
pub(crate) const POLICIES: [Policy; 3] = [
    Policy {
        type_id: "fa4e907d-c16b-4a4c-9dfa-4906e5d171dd",
        name: "Minimum number of reviewers",
        blocking: true,
    },
    Policy {
        type_id: "0609b952-1397-4640-95ec-e00a01b2c241",
        name: "Build",
        blocking: true,
    },
    Policy {
        type_id: "fd2167ab-b0be-447a-8ec8-39368250530e",
        name: "Required reviewers",
        blocking: false,
    },
];

#[derive(Clone, Debug)]
pub(crate) struct Evaluation {
    pub id: String,
    /// Index into [`POLICIES`].
    pub policy: usize,
    pub status: &'static str,
    pub started: i64,
    pub completed: Option<i64>,
    /// Build policies: the build that evaluated it.
    pub build_id: Option<u32>,
}

/// `PolicyEvaluationStatus` values that are final (they carry a `completedDate`).
pub(crate) fn is_final(status: &str) -> bool {
    matches!(status, "approved" | "rejected" | "notApplicable" | "broken")
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Children {
    pub iterations: Vec<Iteration>,
    /// Oldest first; the PR's `lastMergeSourceCommit` is the last.
    pub commits: Vec<Commit>,
    pub files: Vec<PrFile>,
    /// Ascending by id (= by publishedDate).
    pub threads: Vec<Thread>,
    pub work_items: Vec<u32>,
    pub statuses: Vec<Status>,
    pub evaluations: Vec<Evaluation>,
    /// Changes applied since generation: seeds the next change's RNG.
    pub events: u64,
}

impl Children {
    /// Files as of iteration `n` (those first changed at or before it), in changeTrackingId
    /// order, with their changeTrackingId.
    pub(crate) fn files_at(&self, n: u32) -> impl Iterator<Item = (u32, &PrFile)> {
        self.files
            .iter()
            .enumerate()
            .filter(move |(_, f)| f.first <= n)
            .map(|(i, f)| (i as u32 + 1, f))
    }

    pub(crate) fn last_iteration(&self) -> u32 {
        self.iterations.last().map_or(0, |i| i.id)
    }
}

/// The key of one PR's streams and hashes.
pub(crate) fn pr_key(seed: u64, pr: u32) -> u64 {
    seed ^ u64::from(pr).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The blob id of a file's content version (0 = the common commit's blob).
pub(crate) fn blob(key: u64, change_tracking_id: u32, version: u32) -> String {
    let k = key ^ (u64::from(change_tracking_id) << 32) ^ u64::from(version);
    Rng::derive(k, 0xB10B).sha()
}

/// The children of a visible or hidden PR, generated on first use.
pub(crate) fn of<'a>(org: &'a Org, pr: &'a PullRequest) -> &'a Children {
    pr.children
        .get_or_init(|| Box::new(generate::generate(org, pr)))
}

/// Generates PR `id`'s children if nothing has yet, so a change to the PR that follows does
/// not leak into them.
pub(crate) fn materialize(org: &Org, id: u32) {
    if let Some(pr) = org.prs.get(id as usize - 1) {
        of(org, pr);
    }
}

/// The children of PR `id`, for a change (generated first if need be).
pub(crate) fn of_mut(org: &mut Org, id: u32) -> &mut Children {
    materialize(org, id);
    org.prs[id as usize - 1]
        .children
        .get_mut()
        .expect("materialized above")
}

/// The children's RNG for the next change of PR `id`.
pub(crate) fn change_rng(org: &mut Org, id: u32) -> Rng {
    let key = pr_key(org.child_settings.seed, id);
    let c = of_mut(org, id);
    c.events += 1;
    Rng::derive(
        key ^ c.events.wrapping_mul(0xA24B_AED4_963E_E407),
        0x0C4A_16E5,
    )
}
