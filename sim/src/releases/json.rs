//! The JSON shapes of classic release management: releases, their build artifact and
//! release definitions (environments, deployments and approvals are in `stage_json`).
//!
//! Shapes follow the recorded examples in `ado-api/examples/release/`
//! (`releases__GET__GetARelease.json`, `releases__Query_ListAllReleases.json`,
//! `definitions__GET__ListAllReleaseDefinitions.json`) — key order too, except inside the
//! nested objects built with `json!`, whose keys come out sorted — quirks included: the
//! single release GET prints `projectReference.name` as `null` while the list prints the
//! name. URLs name the project by id and point at the release host (`Ctx::rbase`), web links
//! at the organization host.
//!
//! Fields the spec has and the 2017 recordings lack, added because current ADO sends them and
//! the product needs them: `createdFor`, `releaseDefinitionRevision` and
//! `releaseDefinition.path` on releases.

use serde::Serialize;
use serde_json::{Value, json};

pub(crate) use super::stage_json::{EnvironmentJson, deployment, environment};
use super::{Definition, ProjectReleases, Release};
use crate::json::{IdentityRef, Ts, identity_ref};
use crate::model::{Org, Project};

/// What every serializer needs: the organization and release base URLs, the org, a project.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub base: &'a str,
    /// The release host's base (`…/vsrm/{org}` on Services).
    pub rbase: &'a str,
    pub org: &'a Org,
    pub p: usize,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(base: &'a str, rbase: &'a str, org: &'a Org, p: usize) -> Self {
        Self {
            base,
            rbase,
            org,
            p,
        }
    }

    pub(crate) fn project(&self) -> &'a Project {
        &self.org.projects[self.p]
    }

    pub(crate) fn pr(&self) -> &'a ProjectReleases {
        &self.org.releases.projects[self.p]
    }

    pub(super) fn ident(&self, i: usize) -> IdentityRef<'a> {
        identity_ref(self.base, &self.org.identities[i])
    }

    pub(super) fn service(&self) -> IdentityRef<'a> {
        identity_ref(self.base, &self.org.releases.settings.service)
    }

    fn rm(&self) -> String {
        format!("{}/{}/_apis/Release", self.rbase, self.project().id)
    }

    pub(super) fn release_url(&self, id: u32) -> String {
        format!("{}/releases/{id}", self.rm())
    }

    /// The release URL with the project's name, as deployments and approvals print it.
    pub(super) fn release_url_by_name(&self, id: u32) -> String {
        format!(
            "{}/{}/_apis/Release/releases/{id}",
            self.rbase,
            self.project().name
        )
    }

    pub(super) fn release_web(&self, id: u32) -> String {
        format!(
            "{}/{}/_release?releaseId={id}&_a=release-summary",
            self.base,
            self.project().id
        )
    }

    pub(super) fn definition_url(&self, id: u32) -> String {
        format!("{}/definitions/{id}", self.rm())
    }
}

#[derive(Serialize)]
pub(super) struct Href {
    pub(super) href: String,
}

#[derive(Serialize)]
pub(super) struct SelfWeb {
    #[serde(rename = "self")]
    self_: Href,
    web: Href,
}

pub(super) fn links(self_: String, web: String) -> SelfWeb {
    SelfWeb {
        self_: Href { href: self_ },
        web: Href { href: web },
    }
}

#[derive(Serialize)]
pub(super) struct Empty {}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ProjectRef<'a> {
    pub(super) id: &'a str,
    pub(super) name: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DefinitionRef<'a> {
    id: u32,
    name: &'a str,
    path: &'a str,
    url: String,
    #[serde(rename = "_links")]
    links: SelfWeb,
}

pub(super) fn definition_ref<'a>(cx: Ctx<'a>, d: &'a Definition) -> DefinitionRef<'a> {
    DefinitionRef {
        id: d.id,
        name: &d.name,
        path: d.path,
        url: cx.definition_url(d.id),
        links: links(
            cx.definition_url(d.id),
            format!(
                "{}/{}/_release?definitionId={}",
                cx.base,
                cx.project().id,
                d.id
            ),
        ),
    }
}

/// What a release listing includes (`$expand`) and whether it is the single GET.
#[derive(Clone, Copy, Default)]
pub(crate) struct View {
    pub environments: bool,
    pub artifacts: bool,
    pub single: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReleaseJson<'a> {
    id: u32,
    name: String,
    status: &'static str,
    created_on: Ts,
    modified_on: Ts,
    modified_by: IdentityRef<'a>,
    created_by: IdentityRef<'a>,
    created_for: IdentityRef<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    environments: Option<Vec<EnvironmentJson<'a>>>,
    variables: Empty,
    variable_groups: [(); 0],
    #[serde(skip_serializing_if = "Option::is_none")]
    artifacts: Option<[Value; 1]>,
    release_definition: DefinitionRef<'a>,
    release_definition_revision: u32,
    description: &'a str,
    reason: &'static str,
    release_name_format: &'static str,
    keep_forever: bool,
    definition_snapshot_revision: u32,
    logs_container_url: String,
    url: String,
    #[serde(rename = "_links")]
    links: SelfWeb,
    tags: [(); 0],
    project_reference: ProjectRef<'a>,
    properties: Empty,
}

pub(crate) fn release<'a>(cx: Ctx<'a>, r: &'a Release, view: View) -> ReleaseJson<'a> {
    let def = &cx.pr().definitions[r.definition];
    let project = cx.project();
    ReleaseJson {
        id: r.id,
        name: format!("Release-{}", r.number),
        status: r.status.as_str(),
        created_on: Ts(r.created),
        modified_on: Ts(r.modified),
        modified_by: cx.ident(r.modified_by),
        created_by: cx.ident(r.created_by),
        created_for: cx.ident(r.created_for),
        environments: view.environments.then(|| {
            (0..r.environments.len())
                .map(|i| environment(cx, r, i))
                .collect()
        }),
        variables: Empty {},
        variable_groups: [],
        artifacts: view.artifacts.then(|| [artifact(cx, r)]),
        release_definition: definition_ref(cx, def),
        release_definition_revision: def.revision,
        description: &r.description,
        reason: r.reason,
        release_name_format: "Release-$(rev:r)",
        keep_forever: r.keep_forever,
        definition_snapshot_revision: 1,
        logs_container_url: format!("{}/logs", cx.release_url(r.id)),
        url: cx.release_url(r.id),
        links: links(cx.release_url(r.id), cx.release_web(r.id)),
        tags: [],
        project_reference: ProjectRef {
            id: &project.id,
            name: (!view.single).then_some(project.name.as_str()),
        },
        properties: Empty {},
    }
}

/// The build artifact, shaped like the recorded one.
pub(super) fn artifact(cx: Ctx<'_>, r: &Release) -> Value {
    let b = &r.artifact;
    let project = cx.project();
    let permalink = |what: &str, id: u32| {
        format!(
            "{}/_permalink/_build/index?collectionId={}&projectId={}&{what}={id}",
            cx.base, cx.org.instance_id, project.id
        )
    };
    let blank = json!({"id": "", "name": ""});
    json!({
        "sourceId": format!("{}:{}", project.id, b.definition_id),
        "type": "Build",
        "alias": b.definition_name,
        "definitionReference": {
            "artifactSourceDefinitionUrl": {"id": permalink("definitionId", b.definition_id), "name": ""},
            "defaultVersionBranch": blank,
            "defaultVersionSpecific": blank,
            "defaultVersionTags": blank,
            "defaultVersionType": {"id": "latestType", "name": "Latest"},
            "definition": {"id": b.definition_id.to_string(), "name": b.definition_name},
            "project": {"id": project.id, "name": project.name},
            "version": {"id": b.build_id.to_string(), "name": b.build_number},
            "artifactSourceVersionUrl": {"id": permalink("buildId", b.build_id), "name": ""},
            "branch": {"id": b.branch, "name": b.branch},
        },
        "isPrimary": true,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DefinitionJson<'a> {
    source: &'static str,
    id: u32,
    revision: u32,
    name: &'a str,
    description: Option<()>,
    created_by: IdentityRef<'a>,
    created_on: Ts,
    modified_by: IdentityRef<'a>,
    modified_on: Ts,
    #[serde(skip_serializing_if = "Option::is_none")]
    environments: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_release: Option<Value>,
    path: &'static str,
    variable_groups: Option<()>,
    release_name_format: &'static str,
    url: String,
    #[serde(rename = "_links")]
    links: SelfWeb,
    properties: Empty,
}

/// A release definition as `GET …/release/definitions` lists it; `environments` with
/// `$expand=environments`.
pub(crate) fn definition<'a>(
    cx: Ctx<'a>,
    d: &'a Definition,
    environments: bool,
) -> DefinitionJson<'a> {
    let pr = cx.pr();
    let last = pr
        .releases
        .iter()
        .rev()
        .find(|r| r.definition + 1 == d.id as usize);
    DefinitionJson {
        source: "userInterface",
        id: d.id,
        revision: d.revision,
        name: &d.name,
        description: None,
        created_by: cx.ident(d.created_by),
        created_on: Ts(d.created),
        modified_by: cx.ident(d.created_by),
        modified_on: Ts(d.modified),
        environments: environments.then(|| {
            d.stages
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    json!({
                        "id": s.definition_environment_id,
                        "name": s.name,
                        "rank": i + 1,
                        "owner": cx.ident(d.created_by),
                        "variables": {},
                        "variableGroups": [],
                    })
                })
                .collect()
        }),
        last_release: last.map(|r| {
            json!({
                "id": r.id,
                "name": format!("Release-{}", r.number),
                "artifacts": [],
                "webAccessUri": null,
                "_links": {},
                "description": r.description,
                "releaseDefinition": {"id": d.id, "_links": {}},
                "createdOn": Ts(r.created),
                "createdBy": cx.ident(r.created_by),
                "modifiedBy": null,
                "reason": "none",
            })
        }),
        path: d.path,
        variable_groups: None,
        release_name_format: "Release-$(rev:r)",
        url: cx.definition_url(d.id),
        links: links(
            cx.definition_url(d.id),
            format!(
                "{}/{}/_release?definitionId={}",
                cx.base,
                cx.project().id,
                d.id
            ),
        ),
        properties: Empty {},
    }
}
