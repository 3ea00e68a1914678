//! The Build API over HTTP (`{project}/_apis/build/…`, scope `vso.build`, GA 7.1), with ADO's
//! paging rules:
//!
//! | endpoint | paging |
//! |---|---|
//! | `definitions` | all by default; `$top` and `continuationToken` (the id of the next definition, in the `x-ms-continuationtoken` header) |
//! | `definitions/{id}` | — (the whole `BuildDefinition`) |
//! | `builds` | `$top` (default [`BUILDS_DEFAULT_TOP`], at most [`BUILDS_MAX_TOP`]) and `continuationToken`: the order time of the next build (see `builds::query`), in the `x-ms-continuationtoken` header |
//! | `builds/{id}` | — (deleted builds too, with `deleted: true`) |
//! | `builds/{id}/timeline[/{timelineId}]` | — ; `changeId` lists only records changed after it; 204 without a body for a YAML build that failed to compile, 404 for a deleted build or an unknown timeline |
//! | `builds/{id}/changes` | `$top` (default [`CHANGES_DEFAULT_TOP`], at most [`CHANGES_MAX_TOP`] whatever it asks, API_FACTS §1.1) and `continuationToken` (the position of the next change) |
//!
//! The page-one quirk: with [`crate::SimConfig::build_token_repeats_first_page`] = `Some(n)`,
//! every n-th builds request that carries a continuation token (counted org-wide) is answered
//! as if it carried none: page one again, with page one's next token — what users reported
//! (MicrosoftDocs/vsts-rest-api-specs#178). A client must notice the repeated token.
//!
//! Enum parameters take names or numbers, flags enums (`statusFilter`, `resultFilter`,
//! `reasonFilter`) comma lists of them; a value that is neither answers 400.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::core::{parse_count, project_not_found};
use super::git::bad_value;
use super::{Query, Reply};
use crate::builds::generate::changes;
use crate::builds::json::{self as bj, Ctx};
use crate::builds::query::{
    self, BuildQuery, DefinitionOrder, DefinitionQuery, Deleted, Order, Token,
};
use crate::builds::timeline;
use crate::model::Org;
use crate::{Sim, read};

/// Builds a page holds when `$top` is absent (not documented; an assumption).
pub(crate) const BUILDS_DEFAULT_TOP: usize = 1000;
/// The most builds a page holds whatever `$top` asks (not documented; an assumption).
pub(crate) const BUILDS_MAX_TOP: usize = 5000;
/// Changes a page holds when `$top` is absent (not documented; an assumption).
pub(crate) const CHANGES_DEFAULT_TOP: usize = 50;
/// The most changes a call returns whatever `$top` asks (observed, API_FACTS §1.1).
pub(crate) const CHANGES_MAX_TOP: usize = 200;

/// Which Build resource a route names (below `{project}/_apis/build/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    Definitions,
    Definition(String),
    Builds,
    Build(String),
    Timeline {
        build: String,
        timeline: Option<String>,
    },
    Changes(String),
}

impl Route {
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Route::Definitions => "build_definitions",
            Route::Definition(_) => "build_definition",
            Route::Builds => "builds",
            Route::Build(_) => "build",
            Route::Timeline { .. } => "build_timeline",
            Route::Changes(_) => "build_changes",
        }
    }

    /// `lc`: the lower-cased segments after `build`; `raw`: the same, as sent.
    pub(crate) fn parse(lc: &[&str], raw: &[String]) -> Option<Route> {
        let arg = |i: usize| raw[i].clone();
        Some(match lc {
            ["definitions"] => Route::Definitions,
            ["definitions", _] => Route::Definition(arg(1)),
            ["builds"] => Route::Builds,
            ["builds", _] => Route::Build(arg(1)),
            ["builds", _, "timeline"] => Route::Timeline {
                build: arg(1),
                timeline: None,
            },
            ["builds", _, "timeline", _] => Route::Timeline {
                build: arg(1),
                timeline: Some(arg(3)),
            },
            ["builds", _, "changes"] => Route::Changes(arg(1)),
            _ => return None,
        })
    }
}

/// Serves one Build request of `project` (id or name).
pub(super) fn serve(sim: &Sim, project: &str, route: &Route, query: &Query) -> Reply {
    let base = sim.base_url();
    let org = read(&sim.inner.state);
    let Some(p) = org.find_project(project) else {
        return project_not_found(project);
    };
    let cx = Ctx {
        base: &base,
        org: &org,
    };
    match route {
        Route::Definitions => definitions(cx, p, query),
        Route::Definition(id) => {
            let d = id
                .trim()
                .parse::<u32>()
                .ok()
                .and_then(|id| org.builds.find_definition(p, id));
            match d {
                Some(d) => Reply::json(&bj::definition(cx, &org.builds.definitions[d], true)),
                None => Reply::error(
                    StatusCode::NOT_FOUND,
                    &format!("The definition {id} does not exist or you do not have permissions."),
                    "DefinitionNotFoundException",
                ),
            }
        }
        Route::Builds => builds(cx, p, query),
        Route::Build(id) => match build_of(&org, p, id) {
            Ok(b) => Reply::json(&bj::build(cx, b)),
            Err(e) => e,
        },
        Route::Timeline { build, timeline } => {
            let b = match build_of(&org, p, build) {
                Ok(b) => b,
                Err(e) => return e,
            };
            let after = match parse_count(query, "changeid") {
                Ok(c) => c.unwrap_or(0) as u32,
                Err(e) => return e,
            };
            if b.compile_failed && b.deleted.is_none() {
                // The YAML never compiled: there is no plan, hence no timeline.
                return Reply {
                    status: StatusCode::NO_CONTENT,
                    body: Vec::new(),
                    content_type: String::new(),
                    headers: Vec::new(),
                };
            }
            let tl = timeline::of(&org, b);
            let found = tl.as_ref().and_then(|tl| match timeline {
                None => Some(&tl.main),
                Some(id) => tl.find(id),
            });
            match found {
                Some(t) => Reply::json(&bj::timeline(cx, b, t, after)),
                None => Reply::error(
                    StatusCode::NOT_FOUND,
                    &match timeline {
                        Some(t) => {
                            format!("The timeline {t} for build {} could not be found.", b.id)
                        }
                        None => format!("The timeline for build {} could not be found.", b.id),
                    },
                    "TimelineNotFoundException",
                ),
            }
        }
        Route::Changes(id) => {
            let b = match build_of(&org, p, id) {
                Ok(b) => b,
                Err(e) => return e,
            };
            build_changes(cx, b, query)
        }
    }
}

fn build_not_found(id: &str) -> Reply {
    Reply::error(
        StatusCode::NOT_FOUND,
        &format!("The requested build {id} could not be found."),
        "BuildNotFoundException",
    )
}

/// Build `id` of project `p` (deleted builds included).
fn build_of<'a>(org: &'a Org, p: usize, id: &str) -> Result<&'a crate::builds::Build, Reply> {
    let n: u32 = id.trim().parse().map_err(|_| bad_value("buildId", id))?;
    match org.builds.build(n) {
        Some(b) if crate::builds::definition(org, b).project == p => Ok(b),
        _ => Err(build_not_found(id)),
    }
}

fn ids(query: &Query, key: &str) -> Result<Option<Vec<u32>>, Reply> {
    let Some(v) = query.get(key).filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    v.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|x| x.parse::<u32>().map_err(|_| bad_value(key, v)))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn text(query: &Query, key: &str) -> Option<String> {
    query
        .get(key)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(String::from)
}

fn flag(query: &Query, key: &str) -> bool {
    query
        .get(key)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

fn parse_builds_query(query: &Query) -> Result<BuildQuery, Reply> {
    let top = parse_count(query, "$top")?
        .filter(|t| *t > 0)
        .unwrap_or(BUILDS_DEFAULT_TOP)
        .min(BUILDS_MAX_TOP);
    let mut q = BuildQuery::new(top);
    q.definitions = ids(query, "definitions")?;
    q.ids = ids(query, "buildids")?;
    if let Some(v) = text(query, "queryorder") {
        q.order = Order::parse(&v).ok_or_else(|| bad_value("queryOrder", &v))?;
    }
    for (key, slot) in [("mintime", &mut q.min_time), ("maxtime", &mut q.max_time)] {
        if let Some(v) = text(query, key) {
            *slot = Some(crate::time::parse(&v).ok_or_else(|| bad_value(key, &v))?);
        }
    }
    type Mask = fn(&str) -> Option<u32>;
    let masks: [(&str, Mask, &mut Option<u32>); 3] = [
        ("statusFilter", query::status_mask, &mut q.status),
        ("resultFilter", query::result_mask, &mut q.result),
        ("reasonFilter", query::reason_mask, &mut q.reason),
    ];
    for (key, parse, slot) in masks {
        if let Some(v) = text(query, &key.to_ascii_lowercase()) {
            let m = parse(&v).ok_or_else(|| bad_value(key, &v))?;
            // `none` (0) filters nothing, as an absent filter.
            *slot = (m != 0).then_some(m);
        }
    }
    if let Some(v) = text(query, "deletedfilter") {
        q.deleted = match v.to_ascii_lowercase().as_str() {
            "excludedeleted" | "0" => Deleted::Exclude,
            "includedeleted" | "1" => Deleted::Include,
            "onlydeleted" | "2" => Deleted::Only,
            _ => return Err(bad_value("deletedFilter", &v)),
        };
    }
    q.branch = text(query, "branchname").map(|b| {
        if b.to_ascii_lowercase().starts_with("refs/") {
            b
        } else {
            format!("refs/heads/{b}")
        }
    });
    if let Some(repo) = text(query, "repositoryid") {
        // ADO wants the type with the id (an assumption we enforce: it forces clients to
        // send both); only TfsGit repositories exist here.
        let Some(kind) = text(query, "repositorytype") else {
            return Err(Reply::error(
                StatusCode::BAD_REQUEST,
                "A repositoryType must be specified when a repositoryId is specified.",
                "ArgumentException",
            ));
        };
        q.repository = Some(if kind.eq_ignore_ascii_case("tfsgit") {
            repo
        } else {
            String::new()
        });
    }
    q.number = text(query, "buildnumber");
    q.tags = text(query, "tagfilters")
        .map(|t| t.split(',').map(|x| x.trim().to_string()).collect())
        .unwrap_or_default();
    q.requested_for = text(query, "requestedfor");
    q.per_definition = parse_count(query, "maxbuildsperdefinition")?.filter(|n| *n > 0);
    if let Some(v) = text(query, "continuationtoken") {
        q.token = Some(Token::parse(&v).ok_or_else(|| bad_value("continuationToken", &v))?);
    }
    Ok(q)
}

fn builds(cx: Ctx<'_>, p: usize, query: &Query) -> Reply {
    let mut q = match parse_builds_query(query) {
        Ok(q) => q,
        Err(e) => return e,
    };
    let b = &cx.org.builds;
    if q.token.is_some()
        && let Some(every) = b.token_repeats
        && b.continued.bump().is_multiple_of(u64::from(every))
    {
        // The reported bug: the token is ignored and page one comes back.
        q.token = None;
    }
    let (page, next) = query::builds(cx.org, p, &q);
    let reply = Reply::json(&crate::json::List::new(
        page.into_iter().map(|x| bj::build(cx, x)).collect(),
    ));
    match next {
        Some(t) => reply.with_header("x-ms-continuationtoken", t.print()),
        None => reply,
    }
}

fn definitions(cx: Ctx<'_>, p: usize, query: &Query) -> Reply {
    let full = flag(query, "includeallproperties");
    let parsed = (|| -> Result<DefinitionQuery, Reply> {
        let mut q = DefinitionQuery {
            name: text(query, "name"),
            path: text(query, "path"),
            ids: ids(query, "definitionids")?,
            repository: text(query, "repositoryid"),
            top: parse_count(query, "$top")?.filter(|t| *t > 0),
            ..DefinitionQuery::default()
        };
        if let Some(t) = text(query, "repositorytype")
            && !t.eq_ignore_ascii_case("tfsgit")
        {
            q.repository = Some(String::new());
        }
        if let Some(v) = text(query, "processtype") {
            q.process_type = Some(v.parse().map_err(|_| bad_value("processType", &v))?);
        }
        if full {
            q.yaml_filename = text(query, "yamlfilename");
        }
        if let Some(v) = text(query, "queryorder") {
            q.order = DefinitionOrder::parse(&v).ok_or_else(|| bad_value("queryOrder", &v))?;
        }
        if let Some(v) = text(query, "continuationtoken") {
            q.token = Some(v.parse().map_err(|_| bad_value("continuationToken", &v))?);
        }
        Ok(q)
    })();
    let q = match parsed {
        Ok(q) => q,
        Err(e) => return e,
    };
    let Ok((page, next)) = query::definitions(cx.org, p, &q) else {
        return bad_value("continuationToken", &q.token.unwrap_or(0).to_string());
    };
    let reply = Reply::json(&crate::json::List::new(
        page.into_iter()
            .map(|d| bj::definition(cx, d, full))
            .collect(),
    ));
    match next {
        Some(id) => reply.with_header("x-ms-continuationtoken", id.to_string()),
        None => reply,
    }
}

fn build_changes(cx: Ctx<'_>, b: &crate::builds::Build, query: &Query) -> Reply {
    let top = match parse_count(query, "$top") {
        Ok(t) => t
            .filter(|t| *t > 0)
            .unwrap_or(CHANGES_DEFAULT_TOP)
            .min(CHANGES_MAX_TOP),
        Err(e) => return e,
    };
    let start = match parse_count(query, "continuationtoken") {
        Ok(s) => s.unwrap_or(0),
        Err(e) => return e,
    };
    let all = changes(cx.org, b, flag(query, "includesourcechange"));
    let start = start.min(all.len());
    let end = start.saturating_add(top).min(all.len());
    let reply = Reply::json(&crate::json::List::new(
        all[start..end]
            .iter()
            .map(|c| bj::change(cx, b, c))
            .collect(),
    ));
    if end < all.len() {
        reply.with_header("x-ms-continuationtoken", end.to_string())
    } else {
        reply
    }
}

#[derive(Deserialize)]
struct MutateBody {
    seed: u64,
    changes: usize,
}

/// `POST /_sim/mutate_builds` with `{"seed": S, "changes": N}`: [`Sim::mutate_builds`].
pub(crate) async fn mutate_builds(State(sim): State<Sim>, body: Bytes) -> Response {
    let (status, v) = match serde_json::from_slice::<MutateBody>(&body) {
        Ok(b) => (StatusCode::OK, sim.mutate_builds(b.seed, b.changes)),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            serde_json::json!({ "error": format!("expected {{\"seed\": u64, \"changes\": usize}}: {e}") }),
        ),
    };
    (
        status,
        [(
            axum::http::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )],
        v.to_string(),
    )
        .into_response()
}
