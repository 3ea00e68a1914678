//! The JSON shapes of where releases are deployed: release environments (with their deploy
//! steps), deployments and approvals.
//!
//! Shapes follow the recorded examples in `ado-api/examples/release/`
//! (`releases__GET__GetARelease.json`'s `environments`, `deployments__GET__ListDeployments.json`)
//! — key order too, except inside the nested objects built with `json!`, whose keys come out
//! sorted — quirks included:
//! - a deployment's `release` is a thin reference whose `createdOn` is .NET's MinValue
//!   (`"0001-01-01T00:00:00"`, no `Z`), `createdBy`/`modifiedBy`/`releaseDefinition`/
//!   `description` are `null` and `reason` is `"none"` — take those from the release itself;
//!   its `url` names the project by name, other URLs by id;
//! - `scheduledDeploymentTime` is the MinValue sentinel; `operationStatus` is PascalCase;
//! - approvals name their release definition as id 0 (`…/definitions/0`);
//! - automated deployments are `lastModifiedBy` the Release Management service identity,
//!   manual ones `null`.
//!
//! Fields the spec has and the 2017 recordings lack, added because current ADO sends them and
//! the product needs them: `createdOn`, `modifiedOn`, `timeToDeploy` (minutes from queued to
//! completed of the latest attempt, 0 before one finished) on environments; `completedOn`
//! (absent until the deployment finishes) and `projectReference` on deployments.
//! `startedOn` is absent while a deployment waits for its approval.

use serde::Serialize;
use serde_json::{Value, json};

use super::json::{
    Ctx, DefinitionRef, Empty, ProjectRef, SelfWeb, artifact, definition_ref, links,
};
use super::{Approval, Definition, Deployment, Release};
use crate::json::{IdentityRef, Ts};

/// .NET's `DateTime.MinValue` as ADO prints it.
pub(crate) const MIN_DATE: &str = "0001-01-01T00:00:00";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IdName<'a> {
    id: &'a str,
    display_name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReleaseShallow<'a> {
    id: u32,
    name: String,
    url: String,
    #[serde(rename = "_links")]
    links: &'a Empty,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EnvironmentJson<'a> {
    id: u32,
    release_id: u32,
    name: &'static str,
    status: &'static str,
    variables: Empty,
    variable_groups: [(); 0],
    pre_deploy_approvals: Vec<ApprovalJson<'a>>,
    post_deploy_approvals: Vec<ApprovalJson<'a>>,
    pre_approvals_snapshot: Value,
    post_approvals_snapshot: Value,
    deploy_steps: Vec<Value>,
    rank: usize,
    definition_environment_id: u32,
    environment_options: Value,
    demands: [(); 0],
    conditions: Value,
    created_on: Ts,
    modified_on: Ts,
    workflow_tasks: [(); 0],
    deploy_phases_snapshot: Value,
    owner: IdentityRef<'a>,
    schedules: [(); 0],
    release: Value,
    release_definition: DefinitionRef<'a>,
    release_created_by: IdName<'a>,
    trigger_reason: &'a str,
    time_to_deploy: f64,
}

/// Environment `i` of release `r`, as the single release GET prints it.
pub(crate) fn environment<'a>(cx: Ctx<'a>, r: &'a Release, i: usize) -> EnvironmentJson<'a> {
    let pr = cx.pr();
    let def = &pr.definitions[r.definition];
    let stage = &def.stages[i];
    let env = &r.environments[i];
    let deps: Vec<&Deployment> = env
        .deployments
        .iter()
        .filter_map(|d| pr.deployment(*d))
        .collect();
    let latest = deps.last();
    let status = latest.map_or("notStarted", |d| d.state.environment_status());
    let approval = |pre: bool| {
        deps.iter()
            .enumerate()
            .flat_map(|(trial, d)| {
                let a = if pre { Some(&d.pre) } else { d.post.as_ref() };
                a.map(|a| approval(cx, r, i, d, a, pre, trial as u32 + 1))
            })
            .collect()
    };
    let creator = &cx.org.identities[r.created_by];
    let time_to_deploy = latest
        .and_then(|d| Some((d.completed? - d.queued) as f64 / 600_000_000.0))
        .map_or(0.0, |m| (m * 100.0).round() / 100.0);
    EnvironmentJson {
        id: env.id,
        release_id: r.id,
        name: stage.name,
        status,
        variables: Empty {},
        variable_groups: [],
        pre_deploy_approvals: approval(true),
        post_deploy_approvals: approval(false),
        pre_approvals_snapshot: approvals_snapshot(cx, stage.approver),
        post_approvals_snapshot: approvals_snapshot(cx, None),
        deploy_steps: deps.iter().map(|d| deploy_step(cx, d)).collect(),
        rank: i + 1,
        definition_environment_id: stage.definition_environment_id,
        environment_options: json!({
            "emailNotificationType": "OnlyOnFailure",
            "emailRecipients": "release.environment.owner;release.creator",
            "skipArtifactsDownload": false,
            "timeoutInMinutes": 0,
            "enableAccessToken": false,
            "publishDeploymentStatus": true,
        }),
        demands: [],
        conditions: environment_conditions(r, i, def, latest.is_some()),
        created_on: Ts(env.created),
        modified_on: Ts(env.modified),
        workflow_tasks: [],
        deploy_phases_snapshot: json!([{
            "deploymentInput": {
                "parallelExecution": {"parallelExecutionType": "none"},
                "skipArtifactsDownload": false,
                "timeoutInMinutes": 0,
                "queueId": 9 + cx.p,
                "demands": [],
                "enableAccessToken": false,
            },
            "rank": 1,
            "phaseType": "agentBasedDeployment",
            "name": "Agent job",
            "workflowTasks": [],
        }]),
        owner: cx.ident(def.created_by),
        schedules: [],
        release: json!({
            "id": r.id,
            "name": format!("Release-{}", r.number),
            "url": cx.release_url(r.id),
            "_links": {
                "web": {"href": cx.release_web(r.id)},
                "self": {"href": cx.release_url(r.id)},
            },
        }),
        release_definition: definition_ref(cx, def),
        release_created_by: IdName {
            id: &creator.id,
            display_name: &creator.display_name,
        },
        trigger_reason: &env.trigger_reason,
        time_to_deploy,
    }
}

fn approvals_snapshot(cx: Ctx<'_>, approver: Option<usize>) -> Value {
    match approver {
        None => {
            json!({"approvals": [{"rank": 1, "isAutomated": true, "isNotificationOn": false, "id": 0}]})
        }
        Some(u) => json!({
            "approvals": [{
                "rank": 1,
                "isAutomated": false,
                "isNotificationOn": false,
                "approver": cx.ident(u),
                "id": 0,
            }],
            "approvalOptions": {
                "requiredApproverCount": 0,
                "releaseCreatorCanBeApprover": true,
                "autoTriggeredAndPreviousEnvironmentApprovedCanBeSkipped": false,
                "enforceIdentityRevalidation": false,
                "timeoutInMinutes": 43200,
            },
        }),
    }
}

/// `ReleaseCondition`s of environment `i`: none for manual stages, the `ReleaseStarted`
/// event for the first, the previous stage's state (4 = succeeded) for later ones.
fn environment_conditions(r: &Release, i: usize, def: &Definition, deployed: bool) -> Value {
    let stage = &def.stages[i];
    if super::generate::manual_stage(r, stage, i) {
        json!([])
    } else if i == 0 {
        json!([{"result": deployed, "name": "ReleaseStarted", "conditionType": "event", "value": ""}])
    } else {
        json!([{"result": deployed, "name": def.stages[i - 1].name, "conditionType": "environmentState", "value": "4"}])
    }
}

/// A deployment's `conditions`: what triggered it (nothing for manual deployments).
fn deployment_conditions(cx: Ctx<'_>, d: &Deployment) -> Value {
    if d.reason == "manual" {
        return json!([]);
    }
    let Some(r) = cx.pr().release(d.release) else {
        return json!([]);
    };
    let def = &cx.pr().definitions[r.definition];
    if d.env == 0 {
        json!([{"result": true, "name": "ReleaseStarted", "conditionType": "event", "value": ""}])
    } else {
        json!([{"result": true, "name": def.stages[d.env - 1].name, "conditionType": "environmentState", "value": "4"}])
    }
}

/// A `DeploymentAttempt` of an environment's `deploySteps`.
fn deploy_step(cx: Ctx<'_>, d: &Deployment) -> Value {
    let started = d.started.map(crate::time::format);
    let finished = d.completed.map(crate::time::format);
    let status = d.state.phase_status();
    let phases = if d.started.is_some() {
        json!([{
            "phaseId": "1",
            "name": "Agent job",
            "rank": 1,
            "phaseType": "agentBasedDeployment",
            "status": status,
            "runPlanId": d.plan,
            "deploymentJobs": [{
                "job": {
                    "id": 1,
                    "timelineRecordId": d.plan,
                    "name": "Agent job",
                    "startTime": started,
                    "finishTime": finished,
                    "status": status,
                    "rank": 1,
                    "issues": [],
                    "agentName": "Hosted Agent",
                },
                "tasks": [],
            }],
            "manualInterventions": [],
            "startedOn": started,
        }])
    } else {
        json!([])
    };
    json!({
        "id": d.id,
        "deploymentId": d.id,
        "attempt": d.attempt,
        "reason": d.reason,
        "status": d.state.deployment_status(),
        "operationStatus": d.state.operation_status(),
        "releaseDeployPhases": phases,
        "requestedBy": cx.ident(d.requested_by),
        "requestedFor": cx.ident(d.requested_for),
        "queuedOn": crate::time::format(d.queued),
        "lastModifiedBy": modified_by(cx, d),
        "lastModifiedOn": crate::time::format(d.modified),
        "hasStarted": d.started.is_some(),
        "issues": [],
    })
}

fn modified_by<'a>(cx: Ctx<'a>, d: &Deployment) -> Option<IdentityRef<'a>> {
    (d.reason != "manual").then(|| cx.service())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApprovalJson<'a> {
    id: u32,
    revision: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    approver: Option<IdentityRef<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    approved_by: Option<IdentityRef<'a>>,
    approval_type: &'static str,
    created_on: Ts,
    modified_on: Ts,
    status: &'static str,
    comments: &'static str,
    is_automated: bool,
    is_notification_on: bool,
    trial_number: u32,
    attempt: u32,
    rank: u32,
    release: ReleaseShallow<'a>,
    release_definition: Value,
    release_environment: Value,
    url: String,
}

static EMPTY: Empty = Empty {};

fn approval<'a>(
    cx: Ctx<'a>,
    r: &Release,
    env: usize,
    d: &Deployment,
    a: &Approval,
    pre: bool,
    trial: u32,
) -> ApprovalJson<'a> {
    let def = &cx.pr().definitions[r.definition];
    let manual = a.approver.is_some();
    ApprovalJson {
        id: a.id,
        revision: 1,
        approver: a.approver.map(|u| cx.ident(u)),
        approved_by: a
            .approver
            .filter(|_| a.status == "approved")
            .map(|u| cx.ident(u)),
        approval_type: if pre { "preDeploy" } else { "postDeploy" },
        created_on: Ts(a.created),
        modified_on: Ts(a.modified),
        status: a.status,
        comments: if manual && a.status == "approved" {
            "Good to go!"
        } else {
            ""
        },
        is_automated: !manual,
        is_notification_on: manual,
        trial_number: trial,
        attempt: d.attempt,
        rank: 1,
        release: ReleaseShallow {
            id: r.id,
            name: format!("Release-{}", r.number),
            url: cx.release_url_by_name(r.id),
            links: &EMPTY,
        },
        release_definition: json!({
            "id": 0,
            "name": def.name,
            "url": cx.definition_url(0),
            "_links": {},
        }),
        release_environment: json!({
            "id": r.environments[env].id,
            "name": def.stages[env].name,
            "_links": {},
        }),
        url: format!(
            "{}/{}/_apis/Release/approvals/{}",
            cx.rbase,
            cx.project().name,
            a.id
        ),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ThinRelease {
    id: u32,
    name: String,
    url: String,
    artifacts: [Value; 1],
    web_access_uri: String,
    #[serde(rename = "_links")]
    links: SelfWeb,
    description: Option<()>,
    release_definition: Option<()>,
    created_on: &'static str,
    created_by: Option<()>,
    modified_by: Option<()>,
    reason: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeploymentJson<'a> {
    id: u32,
    release: ThinRelease,
    release_definition: DefinitionRef<'a>,
    release_environment: Value,
    definition_environment_id: u32,
    attempt: u32,
    reason: &'static str,
    deployment_status: &'static str,
    operation_status: &'static str,
    requested_by: IdentityRef<'a>,
    requested_for: IdentityRef<'a>,
    queued_on: Ts,
    #[serde(skip_serializing_if = "Option::is_none")]
    started_on: Option<Ts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    completed_on: Option<Ts>,
    last_modified_on: Ts,
    last_modified_by: Option<IdentityRef<'a>>,
    conditions: Value,
    scheduled_deployment_time: &'static str,
    pre_deploy_approvals: Vec<ApprovalJson<'a>>,
    post_deploy_approvals: Vec<ApprovalJson<'a>>,
    project_reference: ProjectRef<'a>,
    #[serde(rename = "_links")]
    links: &'a Empty,
}

/// A deployment as `GET …/release/deployments` lists it.
pub(crate) fn deployment<'a>(cx: Ctx<'a>, d: &'a Deployment) -> DeploymentJson<'a> {
    let pr = cx.pr();
    let r = &pr.releases[d.release as usize - 1];
    let def = &pr.definitions[r.definition];
    let trial = r.environments[d.env]
        .deployments
        .iter()
        .position(|x| *x == d.id)
        .map_or(1, |p| p as u32 + 1);
    let project = cx.project();
    DeploymentJson {
        id: d.id,
        release: ThinRelease {
            id: r.id,
            name: format!("Release-{}", r.number),
            url: cx.release_url_by_name(r.id),
            artifacts: [artifact(cx, r)],
            web_access_uri: cx.release_web(r.id),
            links: links(cx.release_url_by_name(r.id), cx.release_web(r.id)),
            description: None,
            release_definition: None,
            created_on: MIN_DATE,
            created_by: None,
            modified_by: None,
            reason: "none",
        },
        release_definition: definition_ref(cx, def),
        release_environment: json!({
            "id": r.environments[d.env].id,
            "name": def.stages[d.env].name,
            "_links": {},
        }),
        definition_environment_id: def.stages[d.env].definition_environment_id,
        attempt: d.attempt,
        reason: d.reason,
        deployment_status: d.state.deployment_status(),
        operation_status: d.state.operation_status(),
        requested_by: cx.ident(d.requested_by),
        requested_for: cx.ident(d.requested_for),
        queued_on: Ts(d.queued),
        started_on: d.started.map(Ts),
        completed_on: d.completed.map(Ts),
        last_modified_on: Ts(d.modified),
        last_modified_by: modified_by(cx, d),
        conditions: deployment_conditions(cx, d),
        scheduled_deployment_time: MIN_DATE,
        pre_deploy_approvals: vec![approval(cx, r, d.env, d, &d.pre, true, trial)],
        post_deploy_approvals: d
            .post
            .iter()
            .map(|a| approval(cx, r, d.env, d, a, false, trial))
            .collect(),
        project_reference: ProjectRef {
            id: &project.id,
            name: Some(&project.name),
        },
        links: &EMPTY,
    }
}
