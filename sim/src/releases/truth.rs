//! The release side's kinds of the ground truth, streamed.
//!
//! | kind | each element |
//! |---|---|
//! | `releases` | as `release/releases/{id}` serves it (artifacts included, `projectReference.name` null as the single GET prints it) **without** the `environments` array — those are `release_environments`; by project id, then release id |
//! | `release_environments` | every environment as `releases/{id}` prints it inside `environments` (it names its `releaseId`), plus `projectId`; by project id, then environment id |
//! | `release_deployments` | every deployment as `release/deployments` lists it (it names `projectReference`); by project id, then deployment id |
//! | `environments` | every YAML environment as `distributedtask/environments` lists it (`resources: []`); by id |
//! | `environment_deployments` | every deployment record as `…/environmentdeploymentrecords` serves it (it names its `environmentId`); by id |

use serde::Serialize;
use serde::ser::SerializeSeq;

use super::json::{self as rj, Ctx, View};
use super::release_base;
use super::yaml_json;
use crate::model::Org;

/// The kinds this module exports, in export order.
pub(crate) const KINDS: [&str; 5] = [
    "releases",
    "release_environments",
    "release_deployments",
    "environments",
    "environment_deployments",
];

/// One kind, streamed.
pub(crate) struct Kind<'a> {
    pub base: &'a str,
    pub org: &'a Org,
    pub kind: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WithProject<'a, T: Serialize> {
    #[serde(flatten)]
    item: T,
    project_id: &'a str,
}

impl Serialize for Kind<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (base, org) = (self.base, self.org);
        let rbase = release_base(base, org.releases.settings.server_mode);
        let mut projects: Vec<usize> = (0..org.releases.projects.len()).collect();
        projects.sort_by(|&a, &b| org.projects[a].id.cmp(&org.projects[b].id));
        let mut seq = s.serialize_seq(None)?;
        match self.kind {
            "releases" => {
                for &p in &projects {
                    let cx = Ctx::new(base, &rbase, org, p);
                    let view = View {
                        environments: false,
                        artifacts: true,
                        single: true,
                    };
                    for r in &cx.pr().releases {
                        seq.serialize_element(&rj::release(cx, r, view))?;
                    }
                }
            }
            "release_environments" => {
                for &p in &projects {
                    let cx = Ctx::new(base, &rbase, org, p);
                    let mut envs: Vec<(u32, usize, usize)> = cx
                        .pr()
                        .releases
                        .iter()
                        .enumerate()
                        .flat_map(|(r, rel)| {
                            rel.environments
                                .iter()
                                .enumerate()
                                .map(move |(i, e)| (e.id, r, i))
                        })
                        .collect();
                    envs.sort_unstable();
                    for (_, r, i) in envs {
                        let rel = &cx.pr().releases[r];
                        seq.serialize_element(&WithProject {
                            item: rj::environment(cx, rel, i),
                            project_id: &org.projects[p].id,
                        })?;
                    }
                }
            }
            "release_deployments" => {
                for &p in &projects {
                    let cx = Ctx::new(base, &rbase, org, p);
                    for d in &cx.pr().deployments {
                        seq.serialize_element(&rj::deployment(cx, d))?;
                    }
                }
            }
            "environments" => {
                for e in &org.releases.environments {
                    seq.serialize_element(&yaml_json::environment(base, org, e, false))?;
                }
            }
            "environment_deployments" => {
                for r in &org.releases.records {
                    seq.serialize_element(&yaml_json::record(base, org, r))?;
                }
            }
            _ => {}
        }
        seq.end()
    }
}
