//! The JSON shapes of YAML environments (`EnvironmentInstance`) and their deployment records
//! (`EnvironmentDeploymentExecutionRecord`).
//!
//! No recorded example exists for either anywhere (API_FACTS §8), so the shapes follow
//! `specs/taskAgent.json`; key order is assumed. What is assumed besides:
//! - an unfinished record has no `finishTime` and no `result` key (and no `startTime` while
//!   queued) — the spec has no state field;
//! - `owner` is the run (a build: id and build number), `definition` the pipeline;
//!   `planType` is `"Build"`, `serviceOwner` the Build service's id
//!   (`00025394-6065-48ca-87d9-7f5672854ef7`), `requestIdentifier` a GUID;
//! - `resourceId` is present only when the job targeted a resource of the environment;
//! - the environments list prints `resources: []` (ADO's list query reads no resources); the
//!   single GET fills them with `expands=resourceReferences`.

use serde::Serialize;

use super::{Record, YamlEnv};
use crate::json::{IdentityRef, Ts, identity_ref};
use crate::model::Org;

/// The Azure Pipelines (Build) service's id, the `serviceOwner` of build-owned records.
pub(crate) const BUILD_SERVICE_OWNER: &str = "00025394-6065-48ca-87d9-7f5672854ef7";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProjectRef<'a> {
    id: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResourceJson<'a> {
    id: u32,
    name: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    tags: [(); 0],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EnvironmentJson<'a> {
    id: u32,
    name: &'a str,
    description: &'a str,
    created_by: IdentityRef<'a>,
    created_on: Ts,
    last_modified_by: IdentityRef<'a>,
    last_modified_on: Ts,
    project: ProjectRef<'a>,
    resources: Vec<ResourceJson<'a>>,
}

/// An environment; `resources` filled only when asked (`expands=resourceReferences`).
pub(crate) fn environment<'a>(
    base: &str,
    org: &'a Org,
    e: &'a YamlEnv,
    resources: bool,
) -> EnvironmentJson<'a> {
    let project = &org.projects[e.project];
    EnvironmentJson {
        id: e.id,
        name: &e.name,
        description: &e.description,
        created_by: identity_ref(base, &org.identities[e.created_by]),
        created_on: Ts(e.created),
        last_modified_by: identity_ref(base, &org.identities[e.modified_by]),
        last_modified_on: Ts(e.modified),
        project: ProjectRef {
            id: &project.id,
            name: &project.name,
        },
        resources: if resources {
            e.resources
                .iter()
                .map(|r| ResourceJson {
                    id: r.id,
                    name: &r.name,
                    kind: r.kind,
                    tags: [],
                })
                .collect()
        } else {
            Vec::new()
        },
    }
}

#[derive(Serialize)]
struct Href {
    href: String,
}

#[derive(Serialize)]
struct Links {
    web: Href,
    #[serde(rename = "self")]
    self_: Href,
}

#[derive(Serialize)]
struct Owner<'a> {
    id: u32,
    name: &'a str,
    #[serde(rename = "_links")]
    links: Links,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RecordJson<'a> {
    id: u64,
    request_identifier: &'a str,
    environment_id: u32,
    service_owner: &'static str,
    scope_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_id: Option<u32>,
    plan_type: &'static str,
    plan_id: &'a str,
    stage_name: &'a str,
    job_name: &'static str,
    stage_attempt: u32,
    job_attempt: u32,
    definition: Owner<'a>,
    owner: Owner<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'static str>,
    queue_time: Ts,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_time: Option<Ts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finish_time: Option<Ts>,
}

pub(crate) fn record<'a>(base: &str, org: &'a Org, r: &'a Record) -> RecordJson<'a> {
    let env = org.releases.environment(r.environment);
    let project = &org.projects[env.map_or(0, |e| e.project)];
    let p = &project.id;
    RecordJson {
        id: r.id,
        request_identifier: &r.request_identifier,
        environment_id: r.environment,
        service_owner: BUILD_SERVICE_OWNER,
        scope_id: p,
        resource_id: r.resource,
        plan_type: "Build",
        plan_id: &r.plan,
        stage_name: &r.stage,
        job_name: r.job,
        stage_attempt: r.stage_attempt,
        job_attempt: r.job_attempt,
        definition: Owner {
            id: r.run.definition_id,
            name: &r.run.definition_name,
            links: Links {
                web: Href {
                    href: format!(
                        "{base}/{p}/_build/definition?definitionId={}",
                        r.run.definition_id
                    ),
                },
                self_: Href {
                    href: format!("{base}/{p}/_apis/build/Definitions/{}", r.run.definition_id),
                },
            },
        },
        owner: Owner {
            id: r.run.build_id,
            name: &r.run.build_number,
            links: Links {
                web: Href {
                    href: format!("{base}/{p}/_build/results?buildId={}", r.run.build_id),
                },
                self_: Href {
                    href: format!("{base}/{p}/_apis/build/Builds/{}", r.run.build_id),
                },
            },
        },
        result: r.result,
        queue_time: Ts(r.queued),
        start_time: r.started.map(Ts),
        finish_time: r.finished.map(Ts),
    }
}
