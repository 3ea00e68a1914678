//! Row structs: what the store writes and reads back. Plain data, no SQL and no HTTP.
//!
//! Timestamps are UTC. `raw` is the source object exactly as ADO returned it (serialized
//! JSON text), so nothing the typed columns leave out is lost.

use chrono::{DateTime, Utc};

/// A project (`GET _apis/projects`).
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectRow {
    pub id: String,
    pub name: String,
    pub state: Option<String>,
    pub visibility: Option<String>,
    pub last_update_time: Option<DateTime<Utc>>,
    pub raw: String,
}

/// A Git repository (`GET {project}/_apis/git/repositories`).
#[derive(Debug, Clone, PartialEq)]
pub struct RepositoryRow {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub default_branch: Option<String>,
    pub size: Option<i64>,
    pub is_disabled: bool,
    pub raw: String,
}

/// A pull request as the list endpoint returns it, with its reviewers.
#[derive(Debug, Clone, PartialEq)]
pub struct PullRequestRow {
    pub id: i64,
    pub repository_id: String,
    pub project_id: String,
    pub title: String,
    pub status: String,
    pub is_draft: bool,
    pub created_by_id: Option<String>,
    pub creation_date: DateTime<Utc>,
    pub closed_date: Option<DateTime<Utc>>,
    pub source_ref: String,
    pub target_ref: String,
    pub merge_status: Option<String>,
    pub last_merge_source_commit: Option<String>,
    pub last_merge_commit: Option<String>,
    pub raw: String,
    /// The full reviewer set: writing a PR replaces its reviewer rows with these.
    pub reviewers: Vec<ReviewerRow>,
}

/// One reviewer's vote on a pull request (`pull_request_reviewers`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReviewerRow {
    pub reviewer_id: String,
    pub vote: i32,
    pub is_required: bool,
    pub has_declined: bool,
}

/// A person or group seen as a PR creator or reviewer (`users`).
#[derive(Debug, Clone, PartialEq)]
pub struct UserRow {
    pub id: String,
    pub display_name: Option<String>,
    pub unique_name: Option<String>,
    pub is_container: bool,
}

/// A cursor position to commit together with a batch: `(connector, scope) -> value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorUpdate {
    pub connector: String,
    pub scope: String,
    pub value: String,
}

/// Everything one fetched page produces, written in ONE transaction.
///
/// `observed_at` is when the page's request was sent: an upsert only replaces a row whose
/// stored observation is not newer, so a slow, stale response can never regress a row that a
/// later request already wrote (DESIGN.md "Never regress a row"). Work items and links order
/// by their own change markers first (`rev`, `changed_date`), see the Boards section below.
#[derive(Debug, Clone)]
pub struct Batch {
    pub observed_at: DateTime<Utc>,
    pub projects: Vec<ProjectRow>,
    pub repositories: Vec<RepositoryRow>,
    pub pull_requests: Vec<PullRequestRow>,
    pub users: Vec<UserRow>,
    /// Repository ids to stamp `deleted_at = observed_at` (only rows not already deleted).
    pub deleted_repositories: Vec<String>,
    /// Project ids to stamp `deleted_at = observed_at` (only rows not already deleted).
    pub deleted_projects: Vec<String>,

    // Boards -----------------------------------------------------------------------------
    /// People known by identity id (team members, IdentityRefs) → `users`.
    pub identities: Vec<IdentityRow>,
    /// People known by graph descriptor (`GET _apis/graph/users`) → `users`.
    pub graph_users: Vec<GraphUserRow>,
    /// Complete team lists of projects (full refresh, see [`TeamsRefresh`]).
    pub teams: Vec<TeamsRefresh>,
    /// Complete member lists of teams: each replaces that team's member set.
    pub team_members: Vec<TeamMembers>,
    /// Complete iterations / areas / work item types of projects (full refresh).
    pub planning: Vec<PlanningRefresh>,
    /// The organization's complete field list (`GET _apis/wit/fields`), replacing the stored
    /// one; `None` leaves it alone.
    pub work_item_fields: Option<Vec<WorkItemFieldRow>>,
    /// Current work items: upserted when `rev` is newer (see [`WorkItemRow`]).
    pub work_items: Vec<WorkItemRow>,
    /// Revisions: immutable, inserted once, never updated.
    pub work_item_revisions: Vec<WorkItemRevisionRow>,
    /// Link changes of the reporting links stream: upserted when `changed_date` is newer.
    pub work_item_links: Vec<WorkItemLinkRow>,
    /// Work item ids reported deleted without a revision saying so (recycle bin listing,
    /// `workitemsbatch` omissions confirmed by a reconciliation): stamps
    /// `deleted_at = observed_at` on stored, live items observed no later than that.
    pub deleted_work_items: Vec<i64>,
    /// Work item ids seen live again without a newer revision (out of the recycle bin per a
    /// reconciliation): clears `deleted_at` marks set no later than `observed_at`.
    pub restored_work_items: Vec<i64>,

    pub cursor: Option<CursorUpdate>,
}

impl Batch {
    pub fn new(observed_at: DateTime<Utc>) -> Self {
        Self {
            observed_at,
            projects: Vec::new(),
            repositories: Vec::new(),
            pull_requests: Vec::new(),
            users: Vec::new(),
            deleted_repositories: Vec::new(),
            deleted_projects: Vec::new(),
            identities: Vec::new(),
            graph_users: Vec::new(),
            teams: Vec::new(),
            team_members: Vec::new(),
            planning: Vec::new(),
            work_item_fields: None,
            work_items: Vec::new(),
            work_item_revisions: Vec::new(),
            work_item_links: Vec::new(),
            deleted_work_items: Vec::new(),
            restored_work_items: Vec::new(),
            cursor: None,
        }
    }

    /// Rows this batch writes (reviewers, members and states included), for metrics.
    pub fn row_count(&self) -> usize {
        self.projects.len()
            + self.repositories.len()
            + self.pull_requests.len()
            + self
                .pull_requests
                .iter()
                .map(|p| p.reviewers.len())
                .sum::<usize>()
            + self.users.len()
            + self.identities.len()
            + self.graph_users.len()
            + self.teams.iter().map(|t| t.teams.len()).sum::<usize>()
            + self
                .team_members
                .iter()
                .map(|t| t.members.len())
                .sum::<usize>()
            + self
                .planning
                .iter()
                .map(PlanningRefresh::row_count)
                .sum::<usize>()
            + self.work_item_fields.as_ref().map_or(0, Vec::len)
            + self.work_items.len()
            + self.work_item_revisions.len()
            + self.work_item_links.len()
    }
}

/// A repository as read back, with its deletion mark.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRepository {
    pub row: RepositoryRow,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A project as read back, with its deletion mark.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredProject {
    pub row: ProjectRow,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// The outcome of one connector run, recorded in `sync_runs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    pub id: i64,
    pub connector: String,
    pub mode: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// `running`, `succeeded` or `failed`.
    pub outcome: String,
    pub error: Option<String>,
    pub requests: i64,
    pub rows: i64,
}

// ---------------------------------------------------------------------------------------------
// Boards: work items, their revisions and links, planning structure, teams and users.

/// The current state of a work item (`work_items`), from the newest revision seen.
///
/// Identities are normalized whichever way ADO sent them (`"Name <email>"` strings or
/// IdentityRef objects): `assigned_to`, `created_by` and `changed_by` hold the unique name
/// (the e-mail on Services, `DOMAIN\user` on Server), `assigned_to_name` the display name.
///
/// Never regress: a stored item is replaced only by a higher `rev`, or by the same `rev`
/// observed no earlier.
///
/// Deletion and restore (data is always kept):
/// - `is_deleted` (`System.IsDeleted`, what the reporting stream with `includeDeleted=true`
///   reports when an item goes to the recycle bin) sets `deleted_at` to the revision's
///   `changed_date` (or the observation time), keeping an earlier mark;
/// - [`Batch::deleted_work_items`] (an explicit signal: recycle bin listing, reconciliation)
///   sets `deleted_at` to the observation time;
/// - a row that is not deleted lifts the mark when it changed after the mark (a restore is a
///   new revision; items in the recycle bin cannot change) — or, without `changed_date`, when
///   its `rev` is higher. A revision that predates an explicit mark does not.
/// - [`Batch::restored_work_items`] (an explicit signal) lifts marks older than the batch.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkItemRow {
    pub id: i64,
    pub rev: i64,
    /// `System.TeamProject` (the project *name*).
    pub project: Option<String>,
    /// `System.WorkItemType` (column `type`).
    pub work_item_type: Option<String>,
    pub title: Option<String>,
    pub state: Option<String>,
    pub reason: Option<String>,
    pub assigned_to: Option<String>,
    pub assigned_to_name: Option<String>,
    pub created_by: Option<String>,
    pub created_date: Option<DateTime<Utc>>,
    pub changed_by: Option<String>,
    pub changed_date: Option<DateTime<Utc>>,
    pub closed_date: Option<DateTime<Utc>>,
    pub activated_date: Option<DateTime<Utc>>,
    pub resolved_date: Option<DateTime<Utc>>,
    pub area_path: Option<String>,
    pub iteration_path: Option<String>,
    pub priority: Option<i64>,
    pub severity: Option<String>,
    pub story_points: Option<f64>,
    pub effort: Option<f64>,
    pub remaining_work: Option<f64>,
    pub parent_id: Option<i64>,
    /// `System.Tags` as ADO sends it: `"Tag1; Tag2"`.
    pub tags: Option<String>,
    /// `System.CommentCount`.
    pub comment_count: Option<i64>,
    /// From the comments endpoint (optional); `None` keeps the stored value.
    pub last_comment_date: Option<DateTime<Utc>>,
    /// `System.IsDeleted` of this revision (in the recycle bin). Read back: whether the
    /// item is marked deleted.
    pub is_deleted: bool,
    pub raw: String,
}

/// A work item as read back, with its deletion mark.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredWorkItem {
    pub row: WorkItemRow,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// One revision of a work item (`work_item_revisions`), immutable once written. `fields` is
/// the revision's full field map as JSON text, so state transitions can be replayed; the
/// typed columns repeat what timelines filter on (identities normalized as in
/// [`WorkItemRow`]).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkItemRevisionRow {
    pub id: i64,
    pub rev: i64,
    pub changed_date: Option<DateTime<Utc>>,
    pub changed_by: Option<String>,
    pub state: Option<String>,
    pub assigned_to: Option<String>,
    pub iteration_path: Option<String>,
    pub fields: String,
}

/// A link between two work items (`work_item_links`) as the reporting links stream last
/// reported it: a removed link stays with `is_active = false`. Replaced only by a change with
/// a newer `changed_date` (or the same one observed no earlier).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkItemLinkRow {
    pub source_id: i64,
    pub target_id: i64,
    /// The link type as the stream names it (`System.LinkTypes.Hierarchy`: source is the
    /// parent).
    pub rel: String,
    pub is_active: bool,
    pub changed_date: Option<DateTime<Utc>>,
    pub raw: String,
}

/// A team (`teams`).
#[derive(Debug, Clone, PartialEq)]
pub struct TeamRow {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: Option<String>,
    pub raw: String,
}

/// A team as read back, with its deletion mark.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTeam {
    pub row: TeamRow,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// The complete team list of one project: listed teams are upserted (and revived), stored
/// teams of the project that are missing get `deleted_at` (their rows are kept).
#[derive(Debug, Clone, PartialEq)]
pub struct TeamsRefresh {
    pub project_id: String,
    pub teams: Vec<TeamRow>,
}

/// A member of a team (`team_members`); `user_id` is the identity id, a key of `users`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TeamMemberRow {
    pub user_id: String,
    pub is_team_admin: bool,
}

/// The complete member set of one team. Writing it replaces the stored set, unless the
/// stored set was observed later.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamMembers {
    pub team_id: String,
    pub members: Vec<TeamMemberRow>,
}

/// A person or group known by identity id (team members, IdentityRefs in work items) →
/// `users` keyed by that id. A Graph row of the same descriptor is merged into it.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentityRow {
    pub id: String,
    pub display_name: Option<String>,
    pub unique_name: Option<String>,
    pub descriptor: Option<String>,
    pub is_container: bool,
}

/// A Graph user (Services). The Graph API does not give the identity id, so a Graph user
/// updates the `users` row that has its descriptor, and otherwise is stored under
/// `id = descriptor` until an identity with that descriptor arrives and takes the row over.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphUserRow {
    pub descriptor: String,
    pub display_name: Option<String>,
    /// The principal name (sign-in name), stored as `unique_name`.
    pub principal_name: Option<String>,
    pub mail_address: Option<String>,
    pub origin: Option<String>,
    pub origin_id: Option<String>,
    pub subject_kind: Option<String>,
}

/// A `users` row with every column, as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct UserProfile {
    pub id: String,
    pub display_name: Option<String>,
    pub unique_name: Option<String>,
    pub is_container: bool,
    pub mail_address: Option<String>,
    pub descriptor: Option<String>,
    pub origin: Option<String>,
    pub origin_id: Option<String>,
    pub subject_kind: Option<String>,
}

/// An iteration or area (`iterations` / `areas`), flattened from the classification tree.
///
/// `path` is the form work items carry in `System.IterationPath` / `System.AreaPath`
/// (`Project\Release 1\Sprint 2`), built from the node names, so it joins with
/// `work_items.iteration_path`; ADO's own classification path (`\Project\Iteration\…`)
/// stays in `raw`. `depth` is 0 for the root (the project node).
#[derive(Debug, Clone, PartialEq)]
pub struct ClassificationNodeRow {
    pub id: i64,
    pub identifier: Option<String>,
    pub name: String,
    pub path: String,
    pub parent_path: Option<String>,
    pub depth: i32,
    /// Iterations only (not stored for areas).
    pub start_date: Option<DateTime<Utc>>,
    /// Iterations only (not stored for areas).
    pub finish_date: Option<DateTime<Utc>>,
    /// The node without its `children`.
    pub raw: String,
}

/// An iteration or area as read back, with its deletion mark.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredNode {
    pub project_id: String,
    pub row: ClassificationNodeRow,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A work item type of a project (`work_item_types`) with its states
/// (`work_item_type_states`).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkItemTypeRow {
    pub name: String,
    pub reference_name: Option<String>,
    pub description: Option<String>,
    pub color: Option<String>,
    pub is_disabled: bool,
    /// The type's category reference name (`Microsoft.RequirementCategory`), from the type
    /// categories; `Microsoft.HiddenCategory` only when it is in no other.
    pub category: Option<String>,
    pub raw: String,
    pub states: Vec<WorkItemTypeStateRow>,
}

/// A work item type as read back, with its project (states sorted by name).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredWorkItemType {
    pub project_id: String,
    pub row: WorkItemTypeRow,
}

/// A state of a work item type. `category` is the state category (`Proposed`,
/// `InProgress`, `Resolved`, `Completed`, `Removed`) that cycle-time metrics use.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct WorkItemTypeStateRow {
    pub name: String,
    pub category: Option<String>,
    pub color: Option<String>,
}

/// A work item field of the organization (`work_item_fields`).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkItemFieldRow {
    pub reference_name: String,
    pub name: String,
    pub field_type: Option<String>,
    pub read_only: bool,
    pub is_identity: bool,
    pub raw: String,
}

/// The planning structure of one project, each part a complete set (`None`: not refreshed
/// by this batch). Refresh semantics:
/// - iterations and areas: listed nodes are upserted (and revived); stored nodes of the
///   project that are missing get `deleted_at` and keep their rows (work items and
///   revisions still name their paths);
/// - work item types and their states: replaced — missing types and states are removed.
///
/// A refresh observed earlier than a stored row neither overwrites nor removes it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlanningRefresh {
    pub project_id: String,
    pub iterations: Option<Vec<ClassificationNodeRow>>,
    pub areas: Option<Vec<ClassificationNodeRow>>,
    pub work_item_types: Option<Vec<WorkItemTypeRow>>,
}

impl PlanningRefresh {
    /// Rows this refresh writes, states included.
    pub fn row_count(&self) -> usize {
        self.iterations.as_ref().map_or(0, Vec::len)
            + self.areas.as_ref().map_or(0, Vec::len)
            + self.work_item_types.as_ref().map_or(0, |types| {
                types.len() + types.iter().map(|t| t.states.len()).sum::<usize>()
            })
    }
}
