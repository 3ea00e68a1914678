//! The in-memory organization: entities, and the indexes that make a PR page cost O(page).
//!
//! PR ids are assigned in creation order and creation dates only grow (generation spreads them
//! in id order; a PR created by a mutation gets "now"), so each index is a `Vec<u32>` of ids in
//! ascending order, which is also ascending creation order. ADO lists PRs newest first
//! (API_FACTS §4.3), so a page is a slice taken from the end, and a `minTime`/`maxTime` window
//! on creation time is a binary search. Other filters (closed time, creator, reviewer, refs)
//! fall back to a scan of the scope.

use std::collections::{HashMap, HashSet};

/// One person or group. Users come first in `Org::identities`, groups after them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Identity {
    pub id: String,
    pub display_name: String,
    pub unique_name: String,
    pub is_container: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct Project {
    pub id: String,
    pub name: String,
    pub description: String,
    pub revision: u64,
    pub last_update: i64,
}

#[derive(Clone, Debug)]
pub(crate) struct Repo {
    pub id: String,
    pub name: String,
    pub project: usize,
    pub size: u64,
    /// Deleted repositories (and their PRs) vanish from every endpoint and from the truth.
    pub deleted: bool,
    /// `refs/heads/…`; generated as `refs/heads/main`, moved by `Change::SetDefaultBranch`.
    pub default_branch: String,
    /// Merge commits a force-push rewrote, by the id of the PR that made them: the new sha
    /// and committer date (see `history`). Keyed by PR, so later changes leave them alone.
    pub rewrites: HashMap<u32, (String, i64)>,
    /// PRs whose merge commits a force-push reset away from their branch's history.
    pub dropped: HashSet<u32>,
}

impl Repo {
    /// A repository as generated: default branch `refs/heads/main`, never force-pushed.
    pub(crate) fn new(id: String, name: String, project: usize, size: u64) -> Self {
        Self {
            id,
            name,
            project,
            size,
            deleted: false,
            default_branch: "refs/heads/main".to_string(),
            rewrites: HashMap::new(),
            dropped: HashSet::new(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PrStatus {
    Active,
    Abandoned,
    Completed,
}

impl PrStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PrStatus::Active => "active",
            PrStatus::Abandoned => "abandoned",
            PrStatus::Completed => "completed",
        }
    }

    fn slot(self) -> usize {
        match self {
            PrStatus::Active => 0,
            PrStatus::Abandoned => 1,
            PrStatus::Completed => 2,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Reviewer {
    pub identity: usize,
    pub vote: i8,
    pub has_declined: bool,
    pub is_required: bool,
    pub is_flagged: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct CompletionOptions {
    pub merge_commit_message: String,
    pub delete_source_branch: bool,
    pub squash_merge: bool,
    pub merge_strategy: &'static str,
    pub transition_work_items: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct PullRequest {
    pub id: u32,
    pub repo: usize,
    pub status: PrStatus,
    pub is_draft: bool,
    pub created_by: usize,
    pub closed_by: Option<usize>,
    pub creation: i64,
    pub closed: Option<i64>,
    pub title: String,
    pub description: String,
    pub source_ref: String,
    pub target_ref: String,
    pub merge_status: &'static str,
    pub merge_id: String,
    pub source_commit: String,
    pub target_commit: String,
    pub merge_commit: Option<String>,
    pub reviewers: Vec<Reviewer>,
    pub completion_options: Option<CompletionOptions>,
    /// Iterations, threads, commits…: generated on first use (see [`crate::children`]).
    pub children: std::sync::OnceLock<Box<crate::children::Children>>,
}

/// PR ids of one scope (org, project or repository), ascending, overall and per status.
#[derive(Clone, Debug, Default)]
pub(crate) struct Index {
    all: Vec<u32>,
    by_status: [Vec<u32>; 3],
}

impl Index {
    pub(crate) fn insert(&mut self, id: u32, status: PrStatus) {
        insert_sorted(&mut self.all, id);
        insert_sorted(&mut self.by_status[status.slot()], id);
    }

    pub(crate) fn remove(&mut self, id: u32, status: PrStatus) {
        remove_sorted(&mut self.all, id);
        remove_sorted(&mut self.by_status[status.slot()], id);
    }

    pub(crate) fn set_status(&mut self, id: u32, from: PrStatus, to: PrStatus) {
        remove_sorted(&mut self.by_status[from.slot()], id);
        insert_sorted(&mut self.by_status[to.slot()], id);
    }

    /// `None` = every status.
    pub(crate) fn ids(&self, status: Option<PrStatus>) -> &[u32] {
        match status {
            None => &self.all,
            Some(s) => &self.by_status[s.slot()],
        }
    }
}

fn insert_sorted(v: &mut Vec<u32>, id: u32) {
    // New ids are always the largest: the common case is a push.
    if v.last().is_none_or(|last| *last < id) {
        v.push(id);
    } else if let Err(p) = v.binary_search(&id) {
        v.insert(p, id);
    }
}

fn remove_sorted(v: &mut Vec<u32>, id: u32) {
    if let Ok(p) = v.binary_search(&id) {
        v.remove(p);
    }
}

/// Which timestamp `minTime`/`maxTime` compare against (`searchCriteria.queryTimeRangeType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum TimeRange {
    #[default]
    Created,
    Closed,
}

/// A parsed PR search. `min_time` is inclusive and `max_time` exclusive.
#[derive(Clone, Debug)]
pub(crate) struct PrQuery {
    pub status: Option<PrStatus>,
    pub time_range: TimeRange,
    pub min_time: Option<i64>,
    pub max_time: Option<i64>,
    pub repo: Option<usize>,
    pub creator_id: Option<String>,
    pub reviewer_id: Option<String>,
    pub source_ref: Option<String>,
    pub target_ref: Option<String>,
    pub skip: usize,
    pub top: usize,
}

pub(crate) enum Scope {
    Project(usize),
    Repo(usize),
}

#[derive(Clone, Debug)]
pub(crate) struct Org {
    pub name: String,
    pub instance_id: String,
    pub deployment_id: String,
    pub identities: Vec<Identity>,
    pub user_count: usize,
    pub projects: Vec<Project>,
    pub repos: Vec<Repo>,
    /// `prs[id - 1]`; PRs of deleted repositories stay here but are hidden everywhere.
    pub prs: Vec<PullRequest>,
    pub by_project: Vec<Index>,
    pub by_repo: Vec<Index>,
    pub global: Index,
    /// Bumped by every mutation; served as connectionData's `lastChangeId`.
    pub change_id: u64,
    /// Work items, teams, classification nodes, the process and graph users.
    pub boards: crate::boards::Boards,
    /// How far this org's clock is from the host's, in ticks (positive: ahead): what
    /// mutations stamp and what the `Date` header says (see [`crate::Sim::set_clock_offset`]).
    pub clock_offset: i64,
    /// What PR children are generated from besides the PR (see [`crate::children`]).
    pub child_settings: crate::children::ChildSettings,
    /// Build definitions and builds (see [`crate::builds`]).
    pub builds: crate::builds::Builds,
    /// Classic releases and YAML environments (see [`crate::releases`]).
    pub releases: crate::releases::Releases,
    /// What mutations did, for the service hooks (`hooks`): drained after every mutation call.
    pub hook_events: Vec<crate::hooks::Event>,
    /// How much of `boards.stream` the service hooks have seen (work item events are read
    /// from the stream rather than recorded, since every work item change is a revision).
    pub hook_stream_mark: usize,
}

impl Org {
    /// Now by this org's clock, in ticks.
    pub(crate) fn now(&self) -> i64 {
        crate::time::now_ticks() + self.clock_offset
    }

    pub(crate) fn new(name: String, instance_id: String, deployment_id: String) -> Self {
        Self {
            name,
            instance_id,
            deployment_id,
            identities: Vec::new(),
            user_count: 0,
            projects: Vec::new(),
            repos: Vec::new(),
            prs: Vec::new(),
            by_project: Vec::new(),
            by_repo: Vec::new(),
            global: Index::default(),
            change_id: 1,
            boards: crate::boards::Boards::default(),
            clock_offset: 0,
            child_settings: crate::children::ChildSettings::default(),
            builds: crate::builds::Builds::default(),
            releases: crate::releases::Releases::default(),
            hook_events: Vec::new(),
            hook_stream_mark: 0,
        }
    }

    pub(crate) fn add_project(&mut self, p: Project) -> usize {
        self.projects.push(p);
        self.by_project.push(Index::default());
        self.projects.len() - 1
    }

    pub(crate) fn add_repo(&mut self, r: Repo) -> usize {
        self.repos.push(r);
        self.by_repo.push(Index::default());
        self.repos.len() - 1
    }

    /// Appends a PR; its id must be `prs.len() + 1` and its creation not older than the last.
    pub(crate) fn add_pr(&mut self, pr: PullRequest) {
        debug_assert_eq!(pr.id as usize, self.prs.len() + 1);
        let project = self.repos[pr.repo].project;
        self.by_project[project].insert(pr.id, pr.status);
        self.by_repo[pr.repo].insert(pr.id, pr.status);
        self.global.insert(pr.id, pr.status);
        self.prs.push(pr);
    }

    pub(crate) fn next_pr_id(&self) -> u32 {
        self.prs.len() as u32 + 1
    }

    pub(crate) fn last_creation(&self) -> i64 {
        self.prs.last().map_or(i64::MIN, |p| p.creation)
    }

    pub(crate) fn set_status(&mut self, id: u32, to: PrStatus) {
        let i = id as usize - 1;
        let from = self.prs[i].status;
        if from == to {
            return;
        }
        let repo = self.prs[i].repo;
        let project = self.repos[repo].project;
        self.by_project[project].set_status(id, from, to);
        self.by_repo[repo].set_status(id, from, to);
        self.global.set_status(id, from, to);
        self.prs[i].status = to;
    }

    /// Deletes a repository: it and its PRs disappear from every list.
    pub(crate) fn delete_repo(&mut self, r: usize) {
        let project = self.repos[r].project;
        let ids: Vec<u32> = self.by_repo[r].ids(None).to_vec();
        for id in ids {
            let status = self.prs[id as usize - 1].status;
            self.by_project[project].remove(id, status);
            self.global.remove(id, status);
        }
        self.by_repo[r] = Index::default();
        self.repos[r].deleted = true;
    }

    /// A PR that is visible (its repository is not deleted).
    pub(crate) fn pr(&self, id: u32) -> Option<&PullRequest> {
        let pr = self.prs.get((id as usize).checked_sub(1)?)?;
        (!self.repos[pr.repo].deleted).then_some(pr)
    }

    pub(crate) fn pr_project(&self, pr: &PullRequest) -> usize {
        self.repos[pr.repo].project
    }

    /// Finds a project by id or name, both case-insensitive (ADO accepts either in routes).
    pub(crate) fn find_project(&self, key: &str) -> Option<usize> {
        self.projects
            .iter()
            .position(|p| p.id.eq_ignore_ascii_case(key) || p.name.eq_ignore_ascii_case(key))
    }

    /// Finds a live repository by id or name, within a project when one is given.
    pub(crate) fn find_repo(&self, key: &str, project: Option<usize>) -> Option<usize> {
        let live = |r: &Repo| !r.deleted && project.is_none_or(|p| r.project == p);
        if let Some(i) = self
            .repos
            .iter()
            .position(|r| live(r) && r.id.eq_ignore_ascii_case(key))
        {
            return Some(i);
        }
        let matches: Vec<usize> = (0..self.repos.len())
            .filter(|&i| live(&self.repos[i]) && self.repos[i].name.eq_ignore_ascii_case(key))
            .collect();
        // Names are unique per project only; an org-level lookup by an ambiguous name fails.
        (matches.len() == 1).then(|| matches[0])
    }

    /// Project indexes ordered by name, as `GET _apis/projects` lists them.
    pub(crate) fn projects_by_name(&self) -> Vec<usize> {
        let mut v: Vec<usize> = (0..self.projects.len()).collect();
        v.sort_by_key(|&i| self.projects[i].name.to_lowercase());
        v
    }

    /// Live repository indexes ordered by name (then id), optionally of one project.
    pub(crate) fn repos_by_name(&self, project: Option<usize>) -> Vec<usize> {
        let mut v: Vec<usize> = (0..self.repos.len())
            .filter(|&i| {
                !self.repos[i].deleted && project.is_none_or(|p| self.repos[i].project == p)
            })
            .collect();
        v.sort_by(|&a, &b| {
            let (ra, rb) = (&self.repos[a], &self.repos[b]);
            (ra.name.to_lowercase(), &ra.id).cmp(&(rb.name.to_lowercase(), &rb.id))
        });
        v
    }

    pub(crate) fn live_repo_count(&self, project: usize) -> usize {
        self.repos
            .iter()
            .filter(|r| !r.deleted && r.project == project)
            .count()
    }

    /// One page of PR ids, newest first.
    pub(crate) fn query(&self, scope: Scope, q: &PrQuery) -> Vec<u32> {
        let index = match (scope, q.repo) {
            (_, Some(r)) | (Scope::Repo(r), None) => &self.by_repo[r],
            (Scope::Project(p), None) => &self.by_project[p],
        };
        let mut ids = index.ids(q.status);
        if q.time_range == TimeRange::Created {
            let created = |id: &u32| self.prs[*id as usize - 1].creation;
            if let Some(min) = q.min_time {
                ids = &ids[ids.partition_point(|id| created(id) < min)..];
            }
            if let Some(max) = q.max_time {
                ids = &ids[..ids.partition_point(|id| created(id) < max)];
            }
        }
        let scan = (q.time_range == TimeRange::Closed
            && (q.min_time.is_some() || q.max_time.is_some()))
            || q.creator_id.is_some()
            || q.reviewer_id.is_some()
            || q.source_ref.is_some()
            || q.target_ref.is_some();
        if !scan {
            let end = ids.len().saturating_sub(q.skip);
            let start = end.saturating_sub(q.top);
            return ids[start..end].iter().rev().copied().collect();
        }
        ids.iter()
            .rev()
            .copied()
            .filter(|id| self.matches(&self.prs[*id as usize - 1], q))
            .skip(q.skip)
            .take(q.top)
            .collect()
    }

    fn matches(&self, pr: &PullRequest, q: &PrQuery) -> bool {
        if q.time_range == TimeRange::Closed && (q.min_time.is_some() || q.max_time.is_some()) {
            // Open PRs have no closedDate, so a closed-time window never matches them.
            let Some(closed) = pr.closed else {
                return false;
            };
            if q.min_time.is_some_and(|m| closed < m) || q.max_time.is_some_and(|m| closed >= m) {
                return false;
            }
        }
        let same =
            |a: &str, b: &Option<String>| b.as_deref().is_none_or(|b| a.eq_ignore_ascii_case(b));
        same(&self.identities[pr.created_by].id, &q.creator_id)
            && same(&pr.source_ref, &q.source_ref)
            && same(&pr.target_ref, &q.target_ref)
            && q.reviewer_id.as_deref().is_none_or(|r| {
                pr.reviewers
                    .iter()
                    .any(|rv| self.identities[rv.identity].id.eq_ignore_ascii_case(r))
            })
    }
}
