//! The JSON shapes the simulator serves, one builder per entity.
//!
//! Field names and nesting follow the recorded responses in `ado-api/examples/`
//! (`core/projects__GET__projects.json`, `git/repositories__GET__git_repositories.json`,
//! `git/pullRequests__GET__git_repositories__repositoryId__pullRequests.json`). Every PR the
//! simulator ever prints — list pages, single GETs, the ground truth — goes through
//! [`pull_request`], so they cannot drift apart. Views borrow from the model and are serialized
//! straight to bytes; the org is never turned into a `serde_json::Value` on a request path.

use serde::Serialize;

use crate::model::{CompletionOptions, Identity, Org, Project, PullRequest, Repo, Reviewer};

/// List endpoints truncate PR descriptions to this many characters (API_FACTS §1.2).
pub(crate) const LIST_DESCRIPTION_CHARS: usize = 400;

/// A timestamp printed the ADO way (see [`crate::time::format`]).
pub(crate) struct Ts(pub i64);

impl Serialize for Ts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::time::format(self.0))
    }
}

/// `{"count": N, "value": [...]}`, ADO's collection envelope (API_FACTS §0).
#[derive(Serialize)]
pub(crate) struct List<T: Serialize> {
    pub count: usize,
    pub value: Vec<T>,
}

impl<T: Serialize> List<T> {
    pub(crate) fn new(value: Vec<T>) -> Self {
        Self {
            count: value.len(),
            value,
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IdentityRef<'a> {
    id: &'a str,
    display_name: &'a str,
    unique_name: &'a str,
    url: String,
    image_url: String,
    #[serde(skip_serializing_if = "is_false")]
    is_container: bool,
}

pub(crate) fn identity_ref<'a>(base: &str, i: &'a Identity) -> IdentityRef<'a> {
    IdentityRef {
        id: &i.id,
        display_name: &i.display_name,
        unique_name: &i.unique_name,
        url: format!("{base}/_apis/Identities/{}", i.id),
        image_url: format!("{base}/_api/_common/identityImage?id={}", i.id),
        is_container: i.is_container,
    }
}

/// A graph subject descriptor: `aad.` (users) or `vssgp.` (groups) followed by the base64 of
/// the identity's id, the shape of `graph/Users__GetAllUsers.json`.
pub(crate) fn descriptor(i: &Identity) -> String {
    use base64::Engine as _;
    let prefix = if i.is_container { "vssgp" } else { "aad" };
    let enc = base64::engine::general_purpose::STANDARD_NO_PAD.encode(i.id.as_bytes());
    format!("{prefix}.{enc}")
}

/// A project as `GET _apis/projects` lists it (the example plus revision, visibility,
/// lastUpdateTime, which current ADO sends and API_FACTS §4.2 relies on).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProjectJson<'a> {
    id: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    url: String,
    state: &'static str,
    revision: u64,
    visibility: &'static str,
    last_update_time: Ts,
}

pub(crate) fn project<'a>(base: &str, p: &'a Project) -> ProjectJson<'a> {
    project_ref(base, p, true)
}

fn project_ref<'a>(base: &str, p: &'a Project, with_description: bool) -> ProjectJson<'a> {
    ProjectJson {
        id: &p.id,
        name: &p.name,
        description: with_description.then_some(p.description.as_str()),
        url: format!("{base}/_apis/projects/{}", p.id),
        state: "wellFormed",
        revision: p.revision,
        visibility: "private",
        last_update_time: Ts(p.last_update),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RepoJson<'a> {
    id: &'a str,
    name: &'a str,
    url: String,
    project: ProjectJson<'a>,
    default_branch: &'a str,
    size: u64,
    remote_url: String,
    ssh_url: String,
    web_url: String,
    is_disabled: bool,
    is_in_maintenance: bool,
    is_fork: bool,
}

pub(crate) fn repository<'a>(base: &str, org: &'a Org, r: &'a Repo) -> RepoJson<'a> {
    let p = &org.projects[r.project];
    let web = format!("{base}/{}/_git/{}", p.name, r.name);
    RepoJson {
        id: &r.id,
        name: &r.name,
        url: format!("{base}/_apis/git/repositories/{}", r.id),
        project: project_ref(base, p, false),
        default_branch: &r.default_branch,
        size: r.size,
        remote_url: web.clone(),
        ssh_url: format!(
            "git@ssh.{}:v3/{}/{}/{}",
            host_of(base),
            org.name,
            p.name,
            r.name
        ),
        web_url: web,
        is_disabled: false,
        is_in_maintenance: false,
        is_fork: false,
    }
}

/// `127.0.0.1` from `http://127.0.0.1:4321/contoso`.
fn host_of(base: &str) -> &str {
    let rest = base.split_once("://").map_or(base, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PrProjectRef<'a> {
    id: &'a str,
    name: &'a str,
    state: &'static str,
    visibility: &'static str,
    last_update_time: Ts,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PrRepoRef<'a> {
    id: &'a str,
    name: &'a str,
    url: String,
    project: PrProjectRef<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CommitRef {
    commit_id: String,
    url: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReviewerJson<'a> {
    reviewer_url: String,
    vote: i8,
    has_declined: bool,
    is_required: bool,
    is_flagged: bool,
    #[serde(flatten)]
    identity: IdentityRef<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CompletionOptionsJson<'a> {
    merge_commit_message: &'a str,
    delete_source_branch: bool,
    squash_merge: bool,
    merge_strategy: &'static str,
    transition_work_items: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PullRequestJson<'a> {
    repository: PrRepoRef<'a>,
    pull_request_id: u32,
    code_review_id: u32,
    status: &'static str,
    created_by: IdentityRef<'a>,
    creation_date: Ts,
    #[serde(skip_serializing_if = "Option::is_none")]
    closed_date: Option<Ts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    closed_by: Option<IdentityRef<'a>>,
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    source_ref_name: &'a str,
    target_ref_name: &'a str,
    merge_status: &'static str,
    is_draft: bool,
    merge_id: &'a str,
    last_merge_source_commit: CommitRef,
    last_merge_target_commit: CommitRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_merge_commit: Option<CommitRef>,
    reviewers: Vec<ReviewerJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    completion_options: Option<CompletionOptionsJson<'a>>,
    url: String,
    supports_iterations: bool,
}

/// The one PR serializer. `in_list` truncates the description as list endpoints do; the single
/// PR GET passes `false` and shows it whole.
pub(crate) fn pull_request<'a>(
    base: &str,
    org: &'a Org,
    pr: &'a PullRequest,
    in_list: bool,
) -> PullRequestJson<'a> {
    let repo = &org.repos[pr.repo];
    let project = &org.projects[repo.project];
    let repo_url = format!("{base}/_apis/git/repositories/{}", repo.id);
    let pr_url = format!("{repo_url}/pullRequests/{}", pr.id);
    let commit = |sha: &str| CommitRef {
        commit_id: sha.to_string(),
        url: format!("{repo_url}/commits/{sha}"),
    };
    let description = if pr.description.is_empty() {
        None
    } else if in_list {
        Some(truncate_chars(&pr.description, LIST_DESCRIPTION_CHARS))
    } else {
        Some(pr.description.as_str())
    };
    PullRequestJson {
        repository: PrRepoRef {
            id: &repo.id,
            name: &repo.name,
            url: repo_url.clone(),
            project: PrProjectRef {
                id: &project.id,
                name: &project.name,
                state: "wellFormed",
                visibility: "private",
                last_update_time: Ts(project.last_update),
            },
        },
        pull_request_id: pr.id,
        code_review_id: pr.id,
        status: pr.status.as_str(),
        created_by: identity_ref(base, &org.identities[pr.created_by]),
        creation_date: Ts(pr.creation),
        closed_date: pr.closed.map(Ts),
        closed_by: pr.closed_by.map(|i| identity_ref(base, &org.identities[i])),
        title: &pr.title,
        description,
        source_ref_name: &pr.source_ref,
        target_ref_name: &pr.target_ref,
        merge_status: pr.merge_status,
        is_draft: pr.is_draft,
        merge_id: &pr.merge_id,
        last_merge_source_commit: commit(&pr.source_commit),
        last_merge_target_commit: commit(&pr.target_commit),
        last_merge_commit: pr.merge_commit.as_deref().map(commit),
        reviewers: pr
            .reviewers
            .iter()
            .map(|r| reviewer(base, org, &pr_url, r))
            .collect(),
        completion_options: pr.completion_options.as_ref().map(completion_options),
        url: pr_url,
        supports_iterations: true,
    }
}

fn reviewer<'a>(base: &str, org: &'a Org, pr_url: &str, r: &Reviewer) -> ReviewerJson<'a> {
    let ident = &org.identities[r.identity];
    ReviewerJson {
        reviewer_url: format!("{pr_url}/reviewers/{}", ident.id),
        vote: r.vote,
        has_declined: r.has_declined,
        is_required: r.is_required,
        is_flagged: r.is_flagged,
        identity: identity_ref(base, ident),
    }
}

fn completion_options(c: &CompletionOptions) -> CompletionOptionsJson<'_> {
    CompletionOptionsJson {
        merge_commit_message: &c.merge_commit_message,
        delete_source_branch: c.delete_source_branch,
        squash_merge: c.squash_merge,
        merge_strategy: c.merge_strategy,
        transition_work_items: c.transition_work_items,
    }
}

fn truncate_chars(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_is_extracted() {
        assert_eq!(host_of("http://127.0.0.1:4321/contoso"), "127.0.0.1");
        assert_eq!(host_of("http://localhost/contoso"), "localhost");
    }

    #[test]
    fn truncation_counts_chars() {
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(truncate_chars("hi", 400), "hi");
    }
}
