//! The Agile process every simulated project uses: work item types, their states and
//! workflows, categories, and the org's field definitions.
//!
//! This is static data only. Which fields exist at runtime lives in [`super::Boards::fields`]
//! (mutations add custom fields), and which fields a type shows in
//! [`super::Boards::type_fields`]. Names, reference names, colours and reasons follow the
//! Agile process as ADO ships it and as the recorded examples show it
//! (`wit/workItemTypes__GET__wit_workItemTypes.json`, `wit/workItemTypeStates__GET__…`).

/// Index into [`super::Boards::fields`]; the first [`FIELD_SPECS`]`.len()` are the built-ins
/// below, in the order ADO prints a work item's fields.
pub(crate) type FieldId = u16;

/// A field definition as `GET _apis/wit/fields` describes it.
pub(crate) struct FieldSpec {
    pub ref_name: &'static str,
    pub name: &'static str,
    /// The `type` enum of `WorkItemField` (API_FACTS: spec `WorkItemField.type`).
    pub ty: &'static str,
    pub read_only: bool,
    /// Identity fields hold people: strings or IdentityRef objects depending on the endpoint.
    pub identity: bool,
    pub description: &'static str,
}

const fn spec(
    ref_name: &'static str,
    name: &'static str,
    ty: &'static str,
    read_only: bool,
    identity: bool,
    description: &'static str,
) -> FieldSpec {
    FieldSpec {
        ref_name,
        name,
        ty,
        read_only,
        identity,
        description,
    }
}

/// Field ids of the built-in fields (positions in [`FIELD_SPECS`]).
pub(crate) mod f {
    use super::FieldId;
    pub const ID: FieldId = 0;
    pub const AREA_PATH: FieldId = 1;
    pub const TEAM_PROJECT: FieldId = 2;
    pub const ITERATION_PATH: FieldId = 3;
    pub const WORK_ITEM_TYPE: FieldId = 4;
    pub const STATE: FieldId = 5;
    pub const REASON: FieldId = 6;
    pub const ASSIGNED_TO: FieldId = 7;
    pub const CREATED_DATE: FieldId = 8;
    pub const CREATED_BY: FieldId = 9;
    pub const CHANGED_DATE: FieldId = 10;
    pub const CHANGED_BY: FieldId = 11;
    pub const COMMENT_COUNT: FieldId = 12;
    pub const TITLE: FieldId = 13;
    pub const REV: FieldId = 14;
    pub const WATERMARK: FieldId = 15;
    pub const TAGS: FieldId = 16;
    pub const PARENT: FieldId = 17;
    pub const IS_DELETED: FieldId = 18;
    pub const STATE_CHANGE_DATE: FieldId = 19;
    pub const ACTIVATED_DATE: FieldId = 20;
    pub const ACTIVATED_BY: FieldId = 21;
    pub const RESOLVED_DATE: FieldId = 22;
    pub const RESOLVED_BY: FieldId = 23;
    pub const CLOSED_DATE: FieldId = 24;
    pub const CLOSED_BY: FieldId = 25;
    pub const PRIORITY: FieldId = 26;
    pub const SEVERITY: FieldId = 27;
    pub const STORY_POINTS: FieldId = 28;
    pub const EFFORT: FieldId = 29;
    pub const REMAINING_WORK: FieldId = 30;
    pub const CUSTOM_TEAM: FieldId = 31;
    pub const CUSTOMER_IMPACT: FieldId = 32;
    pub const DESCRIPTION: FieldId = 33;
    pub const HISTORY: FieldId = 34;
    pub const REPRO_STEPS: FieldId = 35;
    pub const ACCEPTANCE_CRITERIA: FieldId = 36;
}

/// The built-in fields. The long-text ones (type `html`: Description, Repro Steps,
/// Acceptance Criteria) are filled and, as on ADO, left out of the reporting stream unless
/// it is asked for them with `$expand=fields` (API_FACTS §1.6; see [`is_long_text`]).
/// `System.History` exists (a real org lists it) but stays empty: the discussion is served
/// by the comments endpoint.
pub(crate) const FIELD_SPECS: [FieldSpec; 37] = [
    spec(
        "System.Id",
        "ID",
        "integer",
        true,
        false,
        "The unique ID of the work item",
    ),
    spec(
        "System.AreaPath",
        "Area Path",
        "treePath",
        false,
        false,
        "The area of the product with which this work item is associated",
    ),
    spec(
        "System.TeamProject",
        "Team Project",
        "string",
        true,
        false,
        "The project containing this work item",
    ),
    spec(
        "System.IterationPath",
        "Iteration Path",
        "treePath",
        false,
        false,
        "The iteration within which this work item will be completed",
    ),
    spec(
        "System.WorkItemType",
        "Work Item Type",
        "string",
        true,
        false,
        "The type of the work item",
    ),
    spec(
        "System.State",
        "State",
        "string",
        false,
        false,
        "The workflow state of the work item",
    ),
    spec(
        "System.Reason",
        "Reason",
        "string",
        false,
        false,
        "The reason why the work item is in the current state",
    ),
    spec(
        "System.AssignedTo",
        "Assigned To",
        "string",
        false,
        true,
        "The person currently working on this work item",
    ),
    spec(
        "System.CreatedDate",
        "Created Date",
        "dateTime",
        true,
        false,
        "The date the work item was created",
    ),
    spec(
        "System.CreatedBy",
        "Created By",
        "string",
        true,
        true,
        "The person who created the work item",
    ),
    spec(
        "System.ChangedDate",
        "Changed Date",
        "dateTime",
        true,
        false,
        "The date of the last change",
    ),
    spec(
        "System.ChangedBy",
        "Changed By",
        "string",
        true,
        true,
        "The person who made the last change",
    ),
    spec(
        "System.CommentCount",
        "Comment Count",
        "integer",
        true,
        false,
        "The number of comments on the work item",
    ),
    spec(
        "System.Title",
        "Title",
        "string",
        false,
        false,
        "Stories affecting the work item",
    ),
    spec(
        "System.Rev",
        "Rev",
        "integer",
        true,
        false,
        "The revision number of the work item",
    ),
    spec(
        "System.Watermark",
        "Watermark",
        "integer",
        true,
        false,
        "An ever-increasing change counter",
    ),
    spec(
        "System.Tags",
        "Tags",
        "plainText",
        false,
        false,
        "Tags, separated by '; '",
    ),
    spec(
        "System.Parent",
        "Parent",
        "integer",
        true,
        false,
        "The id of the parent work item",
    ),
    spec(
        "System.IsDeleted",
        "Is Deleted",
        "boolean",
        true,
        false,
        "Whether the work item is in the recycle bin",
    ),
    spec(
        "Microsoft.VSTS.Common.StateChangeDate",
        "State Change Date",
        "dateTime",
        true,
        false,
        "The date the state last changed",
    ),
    spec(
        "Microsoft.VSTS.Common.ActivatedDate",
        "Activated Date",
        "dateTime",
        true,
        false,
        "The date the work item was activated",
    ),
    spec(
        "Microsoft.VSTS.Common.ActivatedBy",
        "Activated By",
        "string",
        true,
        true,
        "The person who activated the work item",
    ),
    spec(
        "Microsoft.VSTS.Common.ResolvedDate",
        "Resolved Date",
        "dateTime",
        true,
        false,
        "The date the work item was resolved",
    ),
    spec(
        "Microsoft.VSTS.Common.ResolvedBy",
        "Resolved By",
        "string",
        true,
        true,
        "The person who resolved the work item",
    ),
    spec(
        "Microsoft.VSTS.Common.ClosedDate",
        "Closed Date",
        "dateTime",
        true,
        false,
        "The date the work item was closed",
    ),
    spec(
        "Microsoft.VSTS.Common.ClosedBy",
        "Closed By",
        "string",
        true,
        true,
        "The person who closed the work item",
    ),
    spec(
        "Microsoft.VSTS.Common.Priority",
        "Priority",
        "integer",
        false,
        false,
        "Business importance. 1=must fix; 4=unimportant.",
    ),
    spec(
        "Microsoft.VSTS.Common.Severity",
        "Severity",
        "string",
        false,
        false,
        "Assessment of the effect of the bug on the project",
    ),
    spec(
        "Microsoft.VSTS.Scheduling.StoryPoints",
        "Story Points",
        "double",
        false,
        false,
        "The size of work estimated for implementing this user story",
    ),
    spec(
        "Microsoft.VSTS.Scheduling.Effort",
        "Effort",
        "double",
        false,
        false,
        "The estimated effort to implement the epic or feature",
    ),
    spec(
        "Microsoft.VSTS.Scheduling.RemainingWork",
        "Remaining Work",
        "double",
        false,
        false,
        "An estimate of the number of units of work remaining",
    ),
    spec(
        "Custom.Team",
        "Team",
        "string",
        false,
        false,
        "The team that owns the work item (custom field)",
    ),
    spec(
        "Custom.CustomerImpact",
        "Customer Impact",
        "string",
        false,
        false,
        "How much customers notice this (custom field)",
    ),
    spec(
        "System.Description",
        "Description",
        "html",
        false,
        false,
        "Description or acceptance criteria",
    ),
    spec(
        "System.History",
        "History",
        "history",
        false,
        false,
        "Discussion thread plus automatic record of changes",
    ),
    spec(
        "Microsoft.VSTS.TCM.ReproSteps",
        "Repro Steps",
        "html",
        false,
        false,
        "How to see the bug. End by contrasting expected with actual behavior.",
    ),
    spec(
        "Microsoft.VSTS.Common.AcceptanceCriteria",
        "Acceptance Criteria",
        "html",
        false,
        false,
        "The criteria that must be met before the work item can be closed",
    ),
];

/// A long-text field type (not sortable in the field list).
pub(crate) fn is_long_text(ty: &str) -> bool {
    matches!(ty, "html" | "history" | "plainText")
}

/// A field whose values ADO's reporting stream withholds unless `$expand=fields` is sent
/// (API_FACTS §1.6: "including long text fields which are not returned by default").
/// `System.Tags` is typed `plainText` but is not stored as long text (tags are their own
/// objects, see `includeTagRef`), so the stream keeps it.
pub(crate) fn withheld_from_stream(ref_name: &str, ty: &str) -> bool {
    is_long_text(ty) && ref_name != "System.Tags"
}

/// A workflow state of the Agile process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    New,
    Active,
    Resolved,
    Closed,
    Removed,
}

impl State {
    pub(crate) fn name(self) -> &'static str {
        match self {
            State::New => "New",
            State::Active => "Active",
            State::Resolved => "Resolved",
            State::Closed => "Closed",
            State::Removed => "Removed",
        }
    }

    pub(crate) fn color(self) -> &'static str {
        match self {
            State::New => "b2b2b2",
            State::Active => "007acc",
            State::Resolved => "ff9d00",
            State::Closed => "339933",
            State::Removed => "ffffff",
        }
    }

    /// The state category (`Proposed/InProgress/Resolved/Completed/Removed`).
    pub(crate) fn category(self) -> &'static str {
        match self {
            State::New => "Proposed",
            State::Active => "InProgress",
            State::Resolved => "Resolved",
            State::Closed => "Completed",
            State::Removed => "Removed",
        }
    }
}

/// One work item type of the process.
pub(crate) struct TypeSpec {
    pub name: &'static str,
    pub ref_name: &'static str,
    pub description: &'static str,
    pub color: &'static str,
    pub icon: &'static str,
    pub category: &'static str,
    pub category_ref: &'static str,
    /// In workflow order; the forward path is every state but `Removed`.
    pub states: &'static [State],
    /// Reasons for entering New, Active, Resolved, Closed, Removed, and for reactivation.
    pub reasons: [&'static str; 6],
    /// The type-specific fields, on top of [`COMMON_FIELDS`].
    pub extra_fields: &'static [FieldId],
    /// Which type a new item of this type hangs under (Epic → Feature → Story → Task).
    pub parent: Option<Kind>,
}

/// Index into [`TYPES`].
pub(crate) type Kind = u8;
pub(crate) const EPIC: Kind = 0;
pub(crate) const FEATURE: Kind = 1;
pub(crate) const STORY: Kind = 2;
pub(crate) const TASK: Kind = 3;
pub(crate) const BUG: Kind = 4;

const FULL: [State; 5] = [
    State::New,
    State::Active,
    State::Resolved,
    State::Closed,
    State::Removed,
];

pub(crate) const TYPES: [TypeSpec; 5] = [
    TypeSpec {
        name: "Epic",
        ref_name: "Microsoft.VSTS.WorkItemTypes.Epic",
        description: "Epics help teams effectively manage and groom their product backlog",
        color: "FF7B00",
        icon: "icon_crown",
        category: "Epic Category",
        category_ref: "Microsoft.EpicCategory",
        states: &FULL,
        reasons: [
            "New",
            "Implementation started",
            "Stories complete",
            "Acceptance tests pass",
            "Removed from the backlog",
            "Reactivated",
        ],
        extra_fields: &[f::RESOLVED_DATE, f::RESOLVED_BY, f::EFFORT],
        parent: None,
    },
    TypeSpec {
        name: "Feature",
        ref_name: "Microsoft.VSTS.WorkItemTypes.Feature",
        description: "Tracks a feature that will be released with the product",
        color: "773B93",
        icon: "icon_trophy",
        category: "Feature Category",
        category_ref: "Microsoft.FeatureCategory",
        states: &FULL,
        reasons: [
            "New",
            "Implementation started",
            "Stories complete",
            "Acceptance tests pass",
            "Removed from the backlog",
            "Reactivated",
        ],
        extra_fields: &[f::RESOLVED_DATE, f::RESOLVED_BY, f::EFFORT],
        parent: Some(EPIC),
    },
    TypeSpec {
        name: "User Story",
        ref_name: "Microsoft.VSTS.WorkItemTypes.UserStory",
        description: "Tracks an activity the user will be able to perform with the product",
        color: "009CCC",
        icon: "icon_book",
        category: "Requirement Category",
        category_ref: "Microsoft.RequirementCategory",
        states: &FULL,
        reasons: [
            "New",
            "Implementation started",
            "Code complete and unit tests pass",
            "Acceptance tests pass",
            "Removed from the backlog",
            "Reactivated",
        ],
        extra_fields: &[
            f::RESOLVED_DATE,
            f::RESOLVED_BY,
            f::STORY_POINTS,
            f::CUSTOMER_IMPACT,
            f::ACCEPTANCE_CRITERIA,
        ],
        parent: Some(FEATURE),
    },
    TypeSpec {
        name: "Task",
        ref_name: "Microsoft.VSTS.WorkItemTypes.Task",
        description: "Tracks work that needs to be done.",
        color: "F2CB1D",
        icon: "icon_clipboard",
        category: "Task Category",
        category_ref: "Microsoft.TaskCategory",
        states: &[State::New, State::Active, State::Closed, State::Removed],
        reasons: [
            "New",
            "Work started",
            "Completed",
            "Completed",
            "Removed from the backlog",
            "Reactivated",
        ],
        extra_fields: &[f::REMAINING_WORK],
        parent: Some(STORY),
    },
    TypeSpec {
        name: "Bug",
        ref_name: "Microsoft.VSTS.WorkItemTypes.Bug",
        description: "Describes a divergence between required and actual behavior, and tracks \
                      the work done to correct the defect and verify the correction.",
        color: "CC293D",
        icon: "icon_insect",
        category: "Bug Category",
        category_ref: "Microsoft.BugCategory",
        states: &[State::New, State::Active, State::Resolved, State::Closed],
        reasons: [
            "New defect reported",
            "Approved",
            "Fixed",
            "Verified",
            "Removed from the backlog",
            "Reactivated",
        ],
        extra_fields: &[
            f::RESOLVED_DATE,
            f::RESOLVED_BY,
            f::SEVERITY,
            f::STORY_POINTS,
            f::CUSTOMER_IMPACT,
            f::REPRO_STEPS,
        ],
        parent: Some(STORY),
    },
];

/// Fields every type carries.
pub(crate) const COMMON_FIELDS: [FieldId; 28] = [
    f::ID,
    f::AREA_PATH,
    f::TEAM_PROJECT,
    f::ITERATION_PATH,
    f::WORK_ITEM_TYPE,
    f::STATE,
    f::REASON,
    f::ASSIGNED_TO,
    f::CREATED_DATE,
    f::CREATED_BY,
    f::CHANGED_DATE,
    f::CHANGED_BY,
    f::COMMENT_COUNT,
    f::TITLE,
    f::REV,
    f::WATERMARK,
    f::TAGS,
    f::PARENT,
    f::IS_DELETED,
    f::STATE_CHANGE_DATE,
    f::ACTIVATED_DATE,
    f::ACTIVATED_BY,
    f::CLOSED_DATE,
    f::CLOSED_BY,
    f::PRIORITY,
    f::CUSTOM_TEAM,
    f::DESCRIPTION,
    f::HISTORY,
];

impl TypeSpec {
    pub(crate) fn has(&self, s: State) -> bool {
        self.states.contains(&s)
    }

    /// The next state on the forward path New → Active → (Resolved →) Closed.
    pub(crate) fn next(&self, s: State) -> Option<State> {
        match s {
            State::New => Some(State::Active),
            State::Active if self.has(State::Resolved) => Some(State::Resolved),
            State::Active | State::Resolved => Some(State::Closed),
            State::Closed | State::Removed => None,
        }
    }
}

/// Finds a type by name (case-insensitive, as ADO matches route segments).
pub(crate) fn find_type(name: &str) -> Option<Kind> {
    TYPES
        .iter()
        .position(|t| t.name.eq_ignore_ascii_case(name))
        .map(|k| k as Kind)
}

/// The link types the simulator creates, as the reporting links stream names them
/// (`wit/workItemLinks__GET__wit_reporting_workItemLinks_50.json`: the non-directional name,
/// source = the parent for hierarchy links).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum LinkKind {
    Hierarchy,
    Related,
}

impl LinkKind {
    pub(crate) fn rel(self) -> &'static str {
        match self {
            LinkKind::Hierarchy => "System.LinkTypes.Hierarchy",
            LinkKind::Related => "System.LinkTypes.Related",
        }
    }

    /// The relation name on a work item's `relations` (`$expand=relations`), seen from the
    /// link's source (`forward`) or target.
    pub(crate) fn relation(self, forward: bool) -> &'static str {
        match (self, forward) {
            (LinkKind::Hierarchy, true) => "System.LinkTypes.Hierarchy-Forward",
            (LinkKind::Hierarchy, false) => "System.LinkTypes.Hierarchy-Reverse",
            (LinkKind::Related, _) => "System.LinkTypes.Related",
        }
    }

    /// Parses `System.LinkTypes.Hierarchy[-Forward|-Reverse]` and the like.
    pub(crate) fn parse(s: &str) -> Option<LinkKind> {
        let s = s.trim();
        let base = s
            .strip_suffix("-Forward")
            .or_else(|| s.strip_suffix("-Reverse"))
            .unwrap_or(s);
        if base.eq_ignore_ascii_case("System.LinkTypes.Hierarchy") {
            Some(LinkKind::Hierarchy)
        } else if base.eq_ignore_ascii_case("System.LinkTypes.Related") {
            Some(LinkKind::Related)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_ids_match_the_table() {
        assert_eq!(FIELD_SPECS[f::ID as usize].ref_name, "System.Id");
        assert_eq!(
            FIELD_SPECS[f::WATERMARK as usize].ref_name,
            "System.Watermark"
        );
        assert_eq!(
            FIELD_SPECS[f::REMAINING_WORK as usize].ref_name,
            "Microsoft.VSTS.Scheduling.RemainingWork"
        );
        assert_eq!(FIELD_SPECS[f::HISTORY as usize].ref_name, "System.History");
        let mut names: Vec<&str> = FIELD_SPECS.iter().map(|s| s.ref_name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FIELD_SPECS.len());
    }

    #[test]
    fn workflows() {
        let task = &TYPES[TASK as usize];
        assert_eq!(task.next(State::Active), Some(State::Closed));
        let bug = &TYPES[BUG as usize];
        assert_eq!(bug.next(State::Active), Some(State::Resolved));
        assert!(!bug.has(State::Removed));
        assert_eq!(find_type("user story"), Some(STORY));
        assert_eq!(
            LinkKind::parse("System.LinkTypes.Hierarchy-Forward"),
            Some(LinkKind::Hierarchy)
        );
    }
}
