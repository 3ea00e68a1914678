//! The JSON shapes of definitions, builds, timelines and build changes, used by the endpoints
//! and the ground truth alike so they cannot drift apart.
//!
//! - Builds follow `examples/build/v5.0__builds__*.json` (every key of the recorded completed
//!   build is present) plus what the spec's `Build` and current ADO add: `properties`,
//!   `validationResults` (a compile failure's error), `plans`, `triggerInfo`,
//!   `buildNumberRevision`, `retainedByRelease`, `triggeredByBuild`,
//!   `appendCommitMessageToRunName`, and `deleted`, `deletedDate`, `deletedBy`,
//!   `deletedReason` on deleted builds only. `result` and `finishTime` appear once the build
//!   completed, `startTime` once it started, as ADO omits null fields of builds.
//! - Definitions have no recorded example: the list prints the spec's
//!   `BuildDefinitionReference` (with `DefinitionReference`'s fields); `includeAllProperties`
//!   and the single GET print a `BuildDefinition`, with `process` (`{yamlFilename, type: 2}` or
//!   `{phases, type: 1}`), `repository` and the usual settings.
//! - Timelines follow `examples/build/v5.0__timeline__*.json` plus the spec's newer record
//!   fields (`previousAttempts`, `identifier`, `attempt`, `task`, `queueId` on jobs).
//! - Changes follow `examples/build/v5.0__changes__*.json` (author `{id: null, displayName,
//!   uniqueName}`) plus the spec's `messageTruncated`, `displayUri` and `pusher`.

use serde::Serialize;
use serde_json::{Value, json};

use super::generate::{BuiltCommit, POOLS, TASKS};
use super::timeline::{Record, Timeline, plan_id};
use super::{Build, Definition, Reason, Who, identity};
use crate::json::{IdentityRef, Ts, identity_ref};
use crate::model::{Org, Project};

/// What every builder needs: the org URL and the org.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub base: &'a str,
    pub org: &'a Org,
}

impl<'a> Ctx<'a> {
    fn who(&self, w: Who) -> IdentityRef<'a> {
        identity_ref(self.base, identity(self.org, w))
    }

    fn project(&self, p: usize) -> &'a Project {
        &self.org.projects[p]
    }

    /// `{base}/{projectId}/_apis/build`.
    fn api(&self, p: usize) -> String {
        format!("{}/{}/_apis/build", self.base, self.project(p).id)
    }
}

#[derive(Serialize)]
struct Href {
    href: String,
}

fn href(h: String) -> Href {
    Href { href: h }
}

/// A `TeamProjectReference` as builds and definitions print it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProjectRef<'a> {
    id: &'a str,
    name: &'a str,
    description: &'a str,
    url: String,
    state: &'static str,
    revision: u64,
    visibility: &'static str,
    last_update_time: Ts,
}

fn project_ref<'a>(cx: Ctx<'a>, p: usize) -> ProjectRef<'a> {
    let pr = cx.project(p);
    ProjectRef {
        id: &pr.id,
        name: &pr.name,
        description: &pr.description,
        url: format!("{}/_apis/projects/{}", cx.base, pr.id),
        state: "wellFormed",
        revision: pr.revision,
        visibility: "private",
        last_update_time: Ts(pr.last_update),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Pool {
    id: u32,
    name: &'static str,
    is_hosted: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Queue {
    id: u32,
    name: &'static str,
    pool: Pool,
}

fn queue(pool: usize) -> Queue {
    let (id, name, pool_id, hosted) = POOLS[pool];
    Queue {
        id,
        name,
        pool: Pool {
            id: pool_id,
            name,
            is_hosted: hosted,
        },
    }
}

/// The `DefinitionReference` inside a build.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DefinitionRef<'a> {
    drafts: [(); 0],
    id: u32,
    name: &'a str,
    url: String,
    uri: String,
    path: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    queue_status: &'static str,
    revision: u32,
    project: ProjectRef<'a>,
}

fn definition_ref<'a>(cx: Ctx<'a>, d: &'a Definition) -> DefinitionRef<'a> {
    DefinitionRef {
        drafts: [],
        id: d.id,
        name: &d.name,
        url: format!(
            "{}/Definitions/{}?revision={}",
            cx.api(d.project),
            d.id,
            d.revision
        ),
        uri: format!("vstfs:///Build/Definition/{}", d.id),
        path: &d.path,
        kind: "build",
        queue_status: d.queue_status.as_str(),
        revision: d.revision,
        project: project_ref(cx, d.project),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DefinitionLinks {
    #[serde(rename = "self")]
    self_: Href,
    web: Href,
    editor: Href,
    badge: Href,
}

/// A definition as the list prints it (`BuildDefinitionReference`), or whole.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DefinitionJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    options: Option<[(); 0]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    triggers: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<[(); 0]>,
    #[serde(rename = "_links")]
    links: DefinitionLinks,
    #[serde(skip_serializing_if = "Option::is_none")]
    build_number_format: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    job_authorization_scope: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    job_timeout_in_minutes: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    job_cancel_timeout_in_minutes: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    badge_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    process: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    repository: Option<Value>,
    quality: &'static str,
    authored_by: IdentityRef<'a>,
    drafts: [(); 0],
    queue: Queue,
    id: u32,
    name: &'a str,
    url: String,
    uri: String,
    path: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    queue_status: &'static str,
    revision: u32,
    created_date: Ts,
    project: ProjectRef<'a>,
}

/// `full`: as `includeAllProperties=true` and the single GET print it.
pub(crate) fn definition<'a>(cx: Ctx<'a>, d: &'a Definition, full: bool) -> DefinitionJson<'a> {
    let project = cx.project(d.project);
    let web = format!(
        "{}/{}/_build/definition?definitionId={}",
        cx.base, project.id, d.id
    );
    let repo = &cx.org.repos[d.repo];
    let process = match &d.yaml {
        Some(file) => json!({ "yamlFilename": file, "type": 2 }),
        None => {
            let steps: Vec<Value> = d.plan.stages[0].jobs[0]
                .tasks
                .iter()
                .filter_map(|t| t.task.map(|i| (t, i)))
                .map(|(t, i)| {
                    json!({
                        "environment": {},
                        "enabled": true,
                        "continueOnError": false,
                        "alwaysRun": false,
                        "displayName": t.name,
                        "timeoutInMinutes": 0,
                        "condition": "succeeded()",
                        "task": { "id": TASKS[i].0, "versionSpec": format!("{}.*", &TASKS[i].2[..1]), "definitionType": "task" },
                        "inputs": {}
                    })
                })
                .collect();
            json!({
                "phases": [{
                    "steps": steps,
                    "name": "Agent job 1",
                    "refName": "Job_1",
                    "condition": "succeeded()",
                    "target": { "executionOptions": { "type": 0 }, "allowScriptsAuthAccessOption": false, "type": 1 },
                    "jobAuthorizationScope": "projectCollection"
                }],
                "target": { "agentSpecification": { "identifier": "windows-2019" } },
                "type": 1
            })
        }
    };
    let repository = json!({
        "properties": { "reportBuildStatus": "true", "cleanOptions": "0", "checkoutNestedSubmodules": "false" },
        "id": repo.id,
        "type": "TfsGit",
        "name": repo.name,
        "url": format!("{}/{}/_git/{}", cx.base, project.name, repo.name),
        "defaultBranch": repo.default_branch,
        "clean": null,
        "checkoutSubmodules": false
    });
    let triggers = match d.yaml {
        Some(_) => json!([{
            "branchFilters": [], "pathFilters": [], "settingsSourceType": 2,
            "batchChanges": false, "maxConcurrentBuildsPerBranch": 1,
            "triggerType": "continuousIntegration"
        }]),
        None => json!([{
            "branchFilters": ["+refs/heads/main"], "pathFilters": [], "batchChanges": false,
            "maxConcurrentBuildsPerBranch": 1, "pollingInterval": 0,
            "triggerType": "continuousIntegration"
        }]),
    };
    DefinitionJson {
        options: full.then_some([]),
        triggers: full.then_some(triggers),
        properties: full.then(|| json!({})),
        tags: full.then_some([]),
        links: DefinitionLinks {
            self_: href(format!(
                "{}/Definitions/{}?revision={}",
                cx.api(d.project),
                d.id,
                d.revision
            )),
            web: href(web.clone()),
            editor: href(format!(
                "{}/{}/_build/designer?id={}&_a=edit-build-definition",
                cx.base, project.id, d.id
            )),
            badge: href(format!("{}/status/{}", cx.api(d.project), d.id)),
        },
        build_number_format: full.then_some(if d.yaml.is_some() {
            "$(Date:yyyyMMdd)$(Rev:.r)"
        } else {
            "$(BuildDefinitionName)_$(Date:yyyyMMdd)$(Rev:.r)"
        }),
        job_authorization_scope: full.then_some("project"),
        job_timeout_in_minutes: full.then_some(60),
        job_cancel_timeout_in_minutes: full.then_some(5),
        badge_enabled: full.then_some(false),
        process: full.then_some(process),
        repository: full.then_some(repository),
        quality: "definition",
        authored_by: cx.who(Who::User(d.author)),
        drafts: [],
        queue: queue(d.pool),
        id: d.id,
        name: &d.name,
        url: format!(
            "{}/Definitions/{}?revision={}",
            cx.api(d.project),
            d.id,
            d.revision
        ),
        uri: format!("vstfs:///Build/Definition/{}", d.id),
        path: &d.path,
        kind: "build",
        queue_status: d.queue_status.as_str(),
        revision: d.revision,
        created_date: Ts(d.created),
        project: project_ref(cx, d.project),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BuildLinks {
    #[serde(rename = "self")]
    self_: Href,
    web: Href,
    source_version_display_uri: Href,
    timeline: Href,
    badge: Href,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Plan {
    plan_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Logs {
    id: u32,
    #[serde(rename = "type")]
    kind: &'static str,
    url: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BuildRepo<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'a str,
    url: String,
    clean: Option<()>,
    checkout_submodules: bool,
}

#[derive(Serialize)]
struct Validation {
    result: &'static str,
    message: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BuildJson<'a> {
    #[serde(rename = "_links")]
    links: BuildLinks,
    properties: Value,
    tags: &'a [&'static str],
    validation_results: Vec<Validation>,
    plans: [Plan; 1],
    trigger_info: Value,
    id: u32,
    build_number: &'a str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'static str>,
    queue_time: Ts,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_time: Option<Ts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finish_time: Option<Ts>,
    url: String,
    definition: DefinitionRef<'a>,
    build_number_revision: u32,
    project: ProjectRef<'a>,
    uri: String,
    source_branch: &'a str,
    source_version: &'a str,
    queue: Queue,
    priority: &'static str,
    reason: &'static str,
    requested_for: IdentityRef<'a>,
    requested_by: IdentityRef<'a>,
    last_changed_date: Ts,
    last_changed_by: IdentityRef<'a>,
    orchestration_plan: Plan,
    logs: Logs,
    repository: BuildRepo<'a>,
    retained_by_release: bool,
    triggered_by_build: Option<()>,
    append_commit_message_to_run_name: bool,
    parameters: &'static str,
    keep_forever: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    deleted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deleted_date: Option<Ts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deleted_by: Option<IdentityRef<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deleted_reason: Option<&'static str>,
}

/// What `deletedReason` says for builds retention removed (the exact text is not recorded
/// anywhere we could find).
pub(crate) const RETENTION_REASON: &str = "Deleted by retention policy.";

pub(crate) fn build<'a>(cx: Ctx<'a>, b: &'a Build) -> BuildJson<'a> {
    let org = cx.org;
    let d = super::definition(org, b);
    let project = cx.project(d.project);
    let repo = &org.repos[d.repo];
    let api = cx.api(d.project);
    let url = format!("{api}/Builds/{}", b.id);
    let plan = plan_id(org.builds.settings.seed, b.id);
    let repo_web = format!("{}/{}/_git/{}", cx.base, project.name, repo.name);
    let trigger_info = match b.reason {
        Reason::PullRequest => json!({
            "pr.number": b.branch.trim_start_matches("refs/pull/").trim_end_matches("/merge"),
            "pr.isFork": "False",
            "pr.triggerRepository": repo.id,
            "pr.triggerRepository.Type": "TfsGit",
            "pr.sourceSha": b.sha,
            "pr.providerId": "TfsGit",
        }),
        Reason::IndividualCi | Reason::BatchedCi => json!({
            "ci.sourceBranch": b.branch,
            "ci.sourceSha": b.sha,
            "ci.triggerRepository": repo.id,
        }),
        _ => json!({}),
    };
    let validation_results = if b.compile_failed {
        vec![Validation {
            result: "error",
            message: format!(
                "/{} (Line: 12, Col: 5): Unexpected value 'stepz'",
                d.yaml.as_deref().unwrap_or("azure-pipelines.yml")
            ),
        }]
    } else {
        Vec::new()
    };
    BuildJson {
        links: BuildLinks {
            self_: href(url.clone()),
            web: href(format!(
                "{}/{}/_build/results?buildId={}",
                cx.base, project.id, b.id
            )),
            source_version_display_uri: href(format!("{api}/builds/{}/sources", b.id)),
            timeline: href(format!("{api}/builds/{}/Timeline", b.id)),
            badge: href(format!("{api}/status/{}", d.id)),
        },
        properties: json!({}),
        tags: &b.tags,
        validation_results,
        plans: [Plan {
            plan_id: plan.clone(),
        }],
        trigger_info,
        id: b.id,
        build_number: &b.number,
        status: b.status.as_str(),
        result: b.result.map(|r| r.as_str()),
        queue_time: Ts(b.queued),
        start_time: b.started.map(Ts),
        finish_time: b.finished.map(Ts),
        url,
        definition: definition_ref(cx, d),
        build_number_revision: b
            .number
            .rsplit('.')
            .next()
            .and_then(|r| r.parse().ok())
            .unwrap_or(1),
        project: project_ref(cx, d.project),
        uri: format!("vstfs:///Build/Build/{}", b.id),
        source_branch: &b.branch,
        source_version: &b.sha,
        queue: queue(d.pool),
        priority: "normal",
        reason: b.reason.as_str(),
        requested_for: cx.who(b.requested_for),
        requested_by: cx.who(b.requested_by),
        last_changed_date: Ts(b.last_changed),
        last_changed_by: cx.who(b.last_changed_by),
        orchestration_plan: Plan { plan_id: plan },
        logs: Logs {
            id: 0,
            kind: "Container",
            url: format!("{api}/builds/{}/logs", b.id),
        },
        repository: BuildRepo {
            id: &repo.id,
            kind: "TfsGit",
            name: &repo.name,
            url: repo_web,
            clean: None,
            checkout_submodules: false,
        },
        retained_by_release: b.retained_by_release,
        triggered_by_build: None,
        append_commit_message_to_run_name: true,
        parameters: if d.yaml.is_some() {
            "{\"system.debug\":\"false\"}"
        } else {
            "{\"BuildConfiguration\":\"release\",\"BuildPlatform\":\"any cpu\"}"
        },
        keep_forever: b.keep_forever,
        deleted: b.deleted.map(|_| true),
        deleted_date: b.deleted.map(Ts),
        deleted_by: b.deleted.map(|_| cx.who(Who::Service)),
        deleted_reason: b.deleted.map(|_| RETENTION_REASON),
    }
}

/// A timestamp field that may be ADO's `DateTime.MinValue` sentinel (no `Z`).
struct Modified(Option<i64>);

impl Serialize for Modified {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(t) => s.serialize_str(&crate::time::format(t)),
            None => s.serialize_str("0001-01-01T00:00:00"),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PrevJson<'a> {
    attempt: u32,
    timeline_id: &'a str,
    record_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TaskRef {
    id: &'static str,
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct IssueJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    category: &'static str,
    message: &'a str,
    data: Value,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RecordJson<'a> {
    previous_attempts: Vec<PrevJson<'a>>,
    id: &'a str,
    parent_id: Option<&'a str>,
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'a str,
    start_time: Option<Ts>,
    finish_time: Option<Ts>,
    current_operation: Option<()>,
    percent_complete: Option<u32>,
    state: &'static str,
    result: Option<&'static str>,
    result_code: Option<()>,
    change_id: u32,
    last_modified: Modified,
    worker_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    queue_id: Option<u32>,
    order: u32,
    details: Option<()>,
    error_count: u32,
    warning_count: u32,
    url: Option<()>,
    log: Option<Logs>,
    task: Option<TaskRef>,
    attempt: u32,
    identifier: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    issues: Vec<IssueJson<'a>>,
}

pub(crate) fn record<'a>(cx: Ctx<'a>, b: &Build, r: &'a Record) -> RecordJson<'a> {
    let d = super::definition(cx.org, b);
    let completed = r.state == super::timeline::State::Completed && r.start.is_some();
    RecordJson {
        previous_attempts: r
            .previous
            .iter()
            .map(|p| PrevJson {
                attempt: p.attempt,
                timeline_id: &p.timeline,
                record_id: &p.record,
            })
            .collect(),
        id: &r.id,
        parent_id: r.parent.as_deref(),
        kind: r.kind.as_str(),
        name: &r.name,
        start_time: r.start.map(Ts),
        finish_time: r.finish.map(Ts),
        current_operation: None,
        percent_complete: completed.then_some(100),
        state: r.state.as_str(),
        result: r.result.map(|x| x.as_str()),
        result_code: None,
        change_id: r.change_id,
        last_modified: Modified(r.last_modified),
        worker_name: r.worker.as_deref(),
        queue_id: r.queue_id,
        order: r.order,
        details: None,
        error_count: r.errors,
        warning_count: r.warnings,
        url: None,
        log: r.log.map(|n| Logs {
            id: n,
            kind: "Container",
            url: format!("{}/builds/{}/logs/{n}", cx.api(d.project), b.id),
        }),
        task: r.task.map(|i| TaskRef {
            id: TASKS[i].0,
            name: TASKS[i].1,
            version: TASKS[i].2,
        }),
        attempt: r.attempt,
        identifier: r.identifier.as_deref(),
        issues: r
            .issue
            .iter()
            .map(|(error, message)| IssueJson {
                kind: if *error { "error" } else { "warning" },
                category: "General",
                message,
                data: json!({ "type": if *error { "error" } else { "warning" } }),
            })
            .collect(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TimelineJson<'a> {
    records: Vec<RecordJson<'a>>,
    last_changed_by: &'a str,
    last_changed_on: Ts,
    id: &'a str,
    change_id: u32,
    url: String,
}

/// A timeline with the records whose `changeId` is above `after` (all with 0).
pub(crate) fn timeline<'a>(
    cx: Ctx<'a>,
    b: &Build,
    t: &'a Timeline,
    after: u32,
) -> TimelineJson<'a> {
    let d = super::definition(cx.org, b);
    TimelineJson {
        records: t
            .records
            .iter()
            .filter(|r| r.change_id > after)
            .map(|r| record(cx, b, r))
            .collect(),
        last_changed_by: &cx.org.builds.settings.service.id,
        last_changed_on: Ts(t.last_changed),
        id: &t.id,
        change_id: t.change_id,
        url: format!("{}/builds/{}/Timeline/{}", cx.api(d.project), b.id, t.id),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Author<'a> {
    id: Option<()>,
    display_name: &'a str,
    unique_name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChangeJson<'a> {
    id: &'a str,
    message: &'a str,
    message_truncated: bool,
    #[serde(rename = "type")]
    kind: &'static str,
    author: Author<'a>,
    timestamp: Ts,
    location: String,
    display_uri: String,
    pusher: &'a str,
}

/// Messages longer than this many characters are cut in the changes list (the limit is an
/// assumption; the spec only says `messageTruncated` exists).
pub(crate) const MESSAGE_CHARS: usize = 200;

pub(crate) fn change<'a>(cx: Ctx<'a>, b: &Build, c: &'a BuiltCommit) -> ChangeJson<'a> {
    let d = super::definition(cx.org, b);
    let repo = &cx.org.repos[d.repo];
    let project = cx.project(d.project);
    let author = &cx.org.identities[c.author];
    let (message, truncated) = match c.message.char_indices().nth(MESSAGE_CHARS) {
        Some((i, _)) => (&c.message[..i], true),
        None => (c.message.as_str(), false),
    };
    ChangeJson {
        id: &c.sha,
        message,
        message_truncated: truncated,
        kind: "TfsGit",
        author: Author {
            id: None,
            display_name: &author.display_name,
            unique_name: &author.unique_name,
        },
        timestamp: Ts(c.timestamp),
        location: format!(
            "{}/_apis/git/repositories/{}/commits/{}",
            cx.base, repo.id, c.sha
        ),
        display_uri: format!(
            "{}/{}/_git/{}/commit/{}",
            cx.base, project.name, repo.name, c.sha
        ),
        pusher: &author.unique_name,
    }
}
