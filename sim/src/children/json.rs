//! The JSON shapes of a PR's children, one builder per entity, used by the endpoints and the
//! ground truth alike so they cannot drift apart.
//!
//! Field names, order and nesting follow the recorded responses in `ado-api/examples/git/`
//! (iterations, iteration changes, threads, statuses, PR work items, PR commits). Policy
//! evaluations have no recorded example; their shape is the spec's `PolicyEvaluationRecord`
//! with the `PolicyConfiguration` of `examples/policy/` inside (API_FACTS §9.3, §9.4).

use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::{Value, json};

use super::{
    Children, Comment, Evaluation, FileKind, Iteration, POLICIES, PrFile, Status, SystemEvent,
    THREAD_STATUSES, Thread, ThreadKind, blob, pr_key,
};
use crate::history::Entry;
use crate::json::{IdentityRef, Ts, identity_ref};
use crate::model::{Identity, Org, PullRequest};

/// What every child builder needs: the org URL, the org and the PR.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub base: &'a str,
    pub org: &'a Org,
    pub pr: &'a PullRequest,
}

impl<'a> Ctx<'a> {
    fn ident(&self, i: usize) -> IdentityRef<'a> {
        identity_ref(self.base, &self.org.identities[i])
    }

    fn service(&self) -> IdentityRef<'a> {
        identity_ref(self.base, &self.org.child_settings.service)
    }

    fn repo_url(&self) -> String {
        let repo = &self.org.repos[self.pr.repo];
        format!("{}/_apis/git/repositories/{}", self.base, repo.id)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Sha<'a> {
    commit_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PushJson<'a> {
    push_id: u32,
    date: Ts,
    pushed_by: IdentityRef<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IterationJson<'a> {
    id: u32,
    description: &'a str,
    author: IdentityRef<'a>,
    created_date: Ts,
    updated_date: Ts,
    source_ref_commit: Sha<'a>,
    target_ref_commit: Sha<'a>,
    common_ref_commit: Sha<'a>,
    has_more_commits: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    push: Option<PushJson<'a>>,
    reason: &'static str,
}

pub(crate) fn iteration<'a>(cx: Ctx<'a>, it: &'a Iteration) -> IterationJson<'a> {
    IterationJson {
        id: it.id,
        description: &it.description,
        author: cx.ident(it.author),
        created_date: Ts(it.created),
        updated_date: Ts(it.updated),
        source_ref_commit: Sha {
            commit_id: &it.source,
        },
        target_ref_commit: Sha {
            commit_id: &it.target,
        },
        common_ref_commit: Sha {
            commit_id: &it.common,
        },
        has_more_commits: false,
        push: it.push.as_ref().map(|p| PushJson {
            push_id: p.id,
            date: Ts(p.date),
            pushed_by: cx.ident(p.by),
        }),
        reason: it.reason.as_str(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ItemJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    object_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    original_object_id: Option<String>,
    path: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChangeJson<'a> {
    change_tracking_id: u32,
    change_id: u32,
    item: ItemJson<'a>,
    change_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    original_path: Option<&'a str>,
}

/// One entry of `…/iterations/{n}/changes`: `position` is its 1-based place in the whole
/// listing (`changeId`), `cti` its changeTrackingId.
pub(crate) fn change<'a>(
    cx: Ctx<'a>,
    n: u32,
    position: u32,
    cti: u32,
    f: &'a PrFile,
) -> ChangeJson<'a> {
    let key = pr_key(cx.org.child_settings.seed, cx.pr.id);
    let current = || Some(blob(key, cti, f.version_at(n)));
    let base = || Some(blob(key, cti, 0));
    let (object_id, original_object_id) = match f.kind {
        FileKind::Add => (current(), None),
        FileKind::Edit | FileKind::EditRename => (current(), base()),
        FileKind::Delete | FileKind::Rename => (base(), base()),
    };
    ChangeJson {
        change_tracking_id: cti,
        change_id: position,
        item: ItemJson {
            object_id,
            original_object_id,
            path: &f.path,
        },
        change_type: f.kind.as_str(),
        original_path: f.original_path.as_deref(),
    }
}

/// `{"$type": "System.String", "$value": …}`, how thread properties are typed.
struct Prop(Value);

impl Serialize for Prop {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ty = if self.0.is_i64() || self.0.is_u64() {
            "System.Int32"
        } else {
            "System.String"
        };
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("$type", ty)?;
        m.serialize_entry("$value", &self.0)?;
        m.end()
    }
}

struct Props(Vec<(&'static str, Prop)>);

impl Serialize for Props {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

fn tf_id(i: &Identity) -> String {
    i.id.replace('-', "")
}

fn props(cx: Ctx<'_>, kind: &ThreadKind) -> Props {
    let who = |i: usize| &cx.org.identities[i];
    let s = |v: &str| Prop(Value::String(v.to_string()));
    let n = |v: i64| Prop(json!(v));
    Props(match kind {
        ThreadKind::Text { .. } => {
            vec![("Microsoft.TeamFoundation.Discussion.SupportsMarkdown", n(1))]
        }
        ThreadKind::System(SystemEvent::VoteUpdate { voter, vote }) => vec![
            ("CodeReviewThreadType", s("VoteUpdate")),
            ("CodeReviewVotedByDisplayName", s(&who(*voter).display_name)),
            ("CodeReviewVotedByTfId", s(&who(*voter).id)),
            ("CodeReviewVoteResult", s(&vote.to_string())),
        ],
        ThreadKind::System(SystemEvent::ReviewersUpdate { by, added }) => vec![
            ("CodeReviewThreadType", s("ReviewersUpdate")),
            (
                "CodeReviewReviewersUpdatedAddedDisplayName",
                s(&who(*added).display_name),
            ),
            (
                "CodeReviewReviewersUpdatedAddedTfId",
                s(&tf_id(who(*added))),
            ),
            (
                "CodeReviewReviewersUpdatedByDisplayname",
                s(&who(*by).display_name),
            ),
            ("CodeReviewReviewersUpdatedByTfId", s(&tf_id(who(*by)))),
            ("CodeReviewReviewersUpdatedNumAdded", n(1)),
            ("CodeReviewReviewersUpdatedNumRemoved", n(0)),
        ],
        ThreadKind::System(SystemEvent::RefUpdate { by, head, count }) => vec![
            ("CodeReviewThreadType", s("RefUpdate")),
            ("CodeReviewRefName", s(&cx.pr.source_ref)),
            ("CodeReviewRefNewCommits", s(head)),
            ("CodeReviewRefNewCommitsCount", n(i64::from(*count))),
            ("CodeReviewRefNewHeadCommit", s(head)),
            ("CodeReviewRefUpdatedBy", s(&who(*by).unique_name)),
            (
                "CodeReviewRefUpdatedByDisplayName",
                s(&who(*by).display_name),
            ),
            ("CodeReviewRefUpdatedByTfId", s(&who(*by).id)),
        ],
        ThreadKind::System(SystemEvent::MergeAttempt {
            source,
            target,
            merge,
        }) => vec![
            ("CodeReviewMergeCommit", s(merge)),
            ("CodeReviewMergeStatus", s("Succeeded")),
            ("CodeReviewSourceCommit", s(source)),
            ("CodeReviewTargetCommit", s(target)),
            ("CodeReviewThreadType", s("MergeAttempt")),
        ],
    })
}

/// The one comment a system thread has, in the recorded example's words.
fn system_text(cx: Ctx<'_>, e: &SystemEvent) -> String {
    let name = |i: usize| cx.org.identities[i].display_name.as_str();
    match e {
        SystemEvent::VoteUpdate { voter, vote } => format!("{} voted {vote}", name(*voter)),
        SystemEvent::ReviewersUpdate { by, added } => {
            format!("{} added {} as a reviewer", name(*by), name(*added))
        }
        SystemEvent::RefUpdate { .. } => {
            format!("The reference {} was updated.", cx.pr.source_ref)
        }
        SystemEvent::MergeAttempt { merge, .. } => {
            format!("The pull request is mergable and the target commit would be {merge}.")
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CommentJson<'a> {
    id: u32,
    parent_comment_id: u32,
    author: IdentityRef<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<std::borrow::Cow<'a, str>>,
    published_date: Ts,
    last_updated_date: Ts,
    last_content_updated_date: Ts,
    is_deleted: bool,
    comment_type: &'static str,
    users_liked: Vec<IdentityRef<'a>>,
}

fn comment<'a>(cx: Ctx<'a>, c: &'a Comment) -> CommentJson<'a> {
    CommentJson {
        id: c.id,
        parent_comment_id: c.parent,
        author: c.author.map_or_else(|| cx.service(), |a| cx.ident(a)),
        content: (!c.deleted).then_some(std::borrow::Cow::Borrowed(c.content.as_str())),
        published_date: Ts(c.published),
        last_updated_date: Ts(c.updated),
        last_content_updated_date: Ts(c.content_updated),
        is_deleted: c.deleted,
        comment_type: c.kind.as_str(),
        users_liked: c.liked.iter().map(|u| cx.ident(*u)).collect(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Position {
    line: u32,
    offset: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ThreadContextJson<'a> {
    file_path: &'a str,
    right_file_start: Position,
    right_file_end: Position,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IterationContextJson {
    first_comparing_iteration: u32,
    second_comparing_iteration: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PrThreadContextJson {
    iteration_context: IterationContextJson,
    change_tracking_id: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ThreadJson<'a> {
    pull_request_thread_context: Option<PrThreadContextJson>,
    id: u32,
    published_date: Ts,
    last_updated_date: Ts,
    comments: Vec<CommentJson<'a>>,
    /// Discussions only: system threads have no status.
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
    thread_context: Option<ThreadContextJson<'a>>,
    properties: Props,
    is_deleted: bool,
}

pub(crate) fn thread<'a>(cx: Ctx<'a>, c: &'a Children, t: &'a Thread) -> ThreadJson<'a> {
    let comments = match &t.kind {
        ThreadKind::System(e) => vec![CommentJson {
            id: 1,
            parent_comment_id: 0,
            author: cx.service(),
            content: Some(std::borrow::Cow::Owned(system_text(cx, e))),
            published_date: Ts(t.published),
            last_updated_date: Ts(t.published),
            last_content_updated_date: Ts(t.published),
            is_deleted: false,
            comment_type: super::CommentKind::System.as_str(),
            users_liked: Vec::new(),
        }],
        ThreadKind::Text { .. } => t.comments.iter().map(|x| comment(cx, x)).collect(),
    };
    let anchor = t.anchor.as_ref();
    ThreadJson {
        pull_request_thread_context: anchor.map(|a| PrThreadContextJson {
            iteration_context: IterationContextJson {
                first_comparing_iteration: a.first_iteration,
                second_comparing_iteration: a.second_iteration,
            },
            change_tracking_id: a.change_tracking_id,
        }),
        id: t.id,
        published_date: Ts(t.published),
        last_updated_date: Ts(t.updated),
        comments,
        status: match t.kind {
            ThreadKind::Text { status } => Some(THREAD_STATUSES[status]),
            ThreadKind::System(_) => None,
        },
        thread_context: anchor.and_then(|a| {
            let f = c.files.get(a.change_tracking_id as usize - 1)?;
            Some(ThreadContextJson {
                file_path: &f.path,
                right_file_start: Position {
                    line: a.line,
                    offset: a.start_offset,
                },
                right_file_end: Position {
                    line: a.line,
                    offset: a.end_offset,
                },
            })
        }),
        properties: props(cx, &t.kind),
        is_deleted: !t.comments.is_empty() && t.comments.iter().all(|c| c.deleted),
    }
}

#[derive(Serialize)]
pub(crate) struct WorkItemRefJson {
    id: String,
    url: String,
}

/// A linked work item: the id as a **string** (API_FACTS §7).
pub(crate) fn work_item(cx: Ctx<'_>, id: u32) -> WorkItemRefJson {
    WorkItemRefJson {
        id: id.to_string(),
        url: format!("{}/_apis/wit/workItems/{id}", cx.base),
    }
}

#[derive(Serialize)]
struct StatusContextJson {
    name: &'static str,
    genre: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatusJson<'a> {
    iteration_id: u32,
    id: u32,
    state: &'static str,
    description: &'a str,
    context: StatusContextJson,
    creation_date: Ts,
    updated_date: Ts,
    created_by: IdentityRef<'a>,
    target_url: &'a str,
}

pub(crate) fn status<'a>(cx: Ctx<'a>, s: &'a Status) -> StatusJson<'a> {
    StatusJson {
        iteration_id: s.iteration,
        id: s.id,
        state: s.state,
        description: &s.description,
        context: StatusContextJson {
            name: s.context.0,
            genre: s.context.1,
        },
        creation_date: Ts(s.created),
        updated_date: Ts(s.updated),
        created_by: cx.ident(s.by),
        target_url: &s.target_url,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PolicyTypeJson {
    id: &'static str,
    url: String,
    display_name: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConfigurationJson<'a> {
    created_by: IdentityRef<'a>,
    created_date: Ts,
    is_enabled: bool,
    is_blocking: bool,
    is_deleted: bool,
    settings: Value,
    revision: u32,
    id: u32,
    url: String,
    #[serde(rename = "type")]
    policy_type: PolicyTypeJson,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EvaluationJson<'a> {
    configuration: ConfigurationJson<'a>,
    artifact_id: String,
    evaluation_id: &'a str,
    started_date: Ts,
    #[serde(skip_serializing_if = "Option::is_none")]
    completed_date: Option<Ts>,
    status: &'static str,
    context: Value,
}

/// `vstfs:///CodeReview/CodeReviewId/{projectId}/{pullRequestId}` (API_FACTS §9.4).
pub(crate) fn artifact_id(project_id: &str, pr: u32) -> String {
    format!("vstfs:///CodeReview/CodeReviewId/{project_id}/{pr}")
}

pub(crate) fn evaluation<'a>(cx: Ctx<'a>, e: &'a Evaluation) -> EvaluationJson<'a> {
    let p = cx.org.pr_project(cx.pr);
    let project = &cx.org.projects[p];
    let policy = &POLICIES[e.policy];
    let config_id = p as u32 * POLICIES.len() as u32 + e.policy as u32 + 1;
    let scope = json!([{"refName": "refs/heads/", "matchKind": "Prefix", "repositoryId": null}]);
    let settings = match e.policy {
        0 => json!({"minimumApproverCount": 2, "creatorVoteCounts": false, "scope": scope}),
        1 => json!({"buildDefinitionId": 5 + p, "queueOnSourceUpdateOnly": true,
                    "validDuration": 720.0, "scope": scope}),
        _ => json!({"requiredReviewerIds": [cx.org.identities.get(cx.org.user_count)
                    .map_or("", |g| g.id.as_str())], "scope": scope}),
    };
    let context = match e.build_id {
        Some(b) => json!({"buildId": b, "buildDefinitionId": 5 + p,
                          "buildIsNotCurrent": false, "isExpired": false}),
        None => Value::Null,
    };
    EvaluationJson {
        configuration: ConfigurationJson {
            created_by: cx.ident(0),
            created_date: Ts(project.last_update),
            is_enabled: true,
            is_blocking: policy.blocking,
            is_deleted: false,
            settings,
            revision: 1 + (config_id % 3),
            id: config_id,
            url: format!("{}/_apis/policy/configurations/{config_id}", cx.base),
            policy_type: PolicyTypeJson {
                id: policy.type_id,
                url: format!(
                    "{}/{}/_apis/policy/types/{}",
                    cx.base, project.id, policy.type_id
                ),
                display_name: policy.name,
            },
        },
        artifact_id: artifact_id(&project.id, cx.pr.id),
        evaluation_id: &e.id,
        started_date: Ts(e.started),
        completed_date: e.completed.map(Ts),
        status: e.status,
        context,
    }
}

#[derive(Serialize)]
struct GitUserDate<'a> {
    name: &'a str,
    email: &'a str,
    date: Ts,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CommitJson<'a> {
    commit_id: &'a str,
    author: GitUserDate<'a>,
    committer: GitUserDate<'a>,
    comment: std::borrow::Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    change_counts: Option<ChangeCountsJson>,
    url: String,
}

/// `{"Add", "Edit", "Delete"}`, capitalized as ADO spells them.
#[derive(Serialize)]
struct ChangeCountsJson {
    #[serde(rename = "Add")]
    add: usize,
    #[serde(rename = "Edit")]
    edit: usize,
    #[serde(rename = "Delete")]
    delete: usize,
}

/// The merge commit of a completed PR as a branch history (`…/repositories/{r}/commits`)
/// lists it: by whoever completed it, `Merged PR {id}: {title}`, with the change counts of
/// the PR's last iteration. `sha` and the committer date are the history entry's, so a
/// commit a force-push rewrote shows its new sha and date; the author date stays the PR's
/// closed date (a rebase keeps authors).
pub(crate) fn merge_commit<'a>(cx: Ctx<'a>, c: &'a Children, e: Entry<'a>) -> CommitJson<'a> {
    let who = &cx.org.identities[cx.pr.closed_by.unwrap_or(cx.pr.created_by)];
    let authored = cx.pr.closed.unwrap_or(cx.pr.creation);
    let user = |date| GitUserDate {
        name: &who.display_name,
        email: &who.unique_name,
        date: Ts(date),
    };
    let sha = e.sha;
    let (mut add, mut edit, mut delete) = (0, 0, 0);
    for (_, f) in c.files_at(c.last_iteration()) {
        match f.kind {
            FileKind::Add => add += 1,
            FileKind::Delete => delete += 1,
            _ => edit += 1,
        }
    }
    CommitJson {
        commit_id: sha,
        author: user(authored),
        committer: user(e.committed),
        comment: match &cx.pr.completion_options {
            Some(o) => o.merge_commit_message.as_str().into(),
            None => format!("Merged PR {}: {}", cx.pr.id, cx.pr.title).into(),
        },
        change_counts: Some(ChangeCountsJson { add, edit, delete }),
        url: format!("{}/commits/{sha}", cx.repo_url()),
    }
}

/// A PR commit as `…/pullRequests/{id}/commits` lists it: no `parents`, no `changeCounts`.
pub(crate) fn commit<'a>(cx: Ctx<'a>, c: &'a super::Commit) -> CommitJson<'a> {
    let who = &cx.org.identities[c.author];
    let user = || GitUserDate {
        name: &who.display_name,
        email: &who.unique_name,
        date: Ts(c.date),
    };
    CommitJson {
        commit_id: &c.sha,
        author: user(),
        committer: user(),
        comment: c.comment.as_str().into(),
        change_counts: None,
        url: format!("{}/commits/{}", cx.repo_url(), c.sha),
    }
}

/// A child plus the PR and repository it belongs to, as the ground truth lists it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Owned<'a, T: Serialize> {
    #[serde(flatten)]
    pub item: T,
    pub pull_request_id: u32,
    pub repository_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iteration_id: Option<u32>,
}

pub(crate) fn owned<'a, T: Serialize>(
    cx: Ctx<'a>,
    item: T,
    iteration: Option<u32>,
) -> Owned<'a, T> {
    Owned {
        item,
        pull_request_id: cx.pr.id,
        repository_id: &cx.org.repos[cx.pr.repo].id,
        iteration_id: iteration,
    }
}
