//! The Build side's ground-truth kinds, streamed while serializing:
//!
//! | kind | each element |
//! |---|---|
//! | `pipelines` | every definition as `{project}/_apis/build/definitions?includeAllProperties=true` lists it; by project id, then definition id |
//! | `builds` | every build, deleted ones included (with `deleted: true`…), as `builds?deletedFilter=includeDeleted` serves it; by id |
//! | `build_timeline_records` | every record of every build's main timeline (`…/builds/{id}/timeline`) as served, plus `buildId`; builds answering 204 (failed to compile) or 404 (deleted) contribute none; by build id, then the served order. Superseded attempts (`…/timeline/{timelineId}`) are not included |
//! | `build_changes` | every change of every build as `…/builds/{id}/changes` pages them without `includeSourceChange`, plus `buildId`; by build id, then the served order (newest first) |

use serde::Serialize;
use serde::ser::SerializeSeq;

use super::json::{self, Ctx};
use crate::model::Org;

/// The kinds this module serves.
pub(crate) const KINDS: [&str; 4] = [
    "pipelines",
    "builds",
    "build_timeline_records",
    "build_changes",
];

pub(crate) struct Kind<'a> {
    pub base: &'a str,
    pub org: &'a Org,
    pub kind: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Owned<T: Serialize> {
    #[serde(flatten)]
    item: T,
    build_id: u32,
}

impl Serialize for Kind<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (org, b) = (self.org, &self.org.builds);
        let cx = Ctx {
            base: self.base,
            org,
        };
        let mut seq = s.serialize_seq(None)?;
        match self.kind {
            "pipelines" => {
                let mut defs: Vec<&super::Definition> = b.definitions.iter().collect();
                defs.sort_by(|x, y| {
                    (&org.projects[x.project].id, x.id).cmp(&(&org.projects[y.project].id, y.id))
                });
                for d in defs {
                    seq.serialize_element(&json::definition(cx, d, true))?;
                }
            }
            "builds" => {
                for x in &b.builds {
                    seq.serialize_element(&json::build(cx, x))?;
                }
            }
            "build_timeline_records" => {
                for x in &b.builds {
                    let Some(tl) = super::timeline::of(org, x) else {
                        continue;
                    };
                    for r in &tl.main.records {
                        seq.serialize_element(&Owned {
                            item: json::record(cx, x, r),
                            build_id: x.id,
                        })?;
                    }
                }
            }
            "build_changes" => {
                for x in &b.builds {
                    for c in &super::generate::changes(org, x, false) {
                        seq.serialize_element(&Owned {
                            item: json::change(cx, x, c),
                            build_id: x.id,
                        })?;
                    }
                }
            }
            _ => {}
        }
        seq.end()
    }
}
