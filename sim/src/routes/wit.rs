//! Work item tracking: the reporting streams, WIQL, work items by id, the recycle bin,
//! comments, classification nodes, and the process (types, states, categories, fields).
//!
//! The rules a Boards connector must survive are ADO's (API_FACTS §1.4–1.7, §4.2):
//! - reporting revisions come in watermark order, at most `min($maxPageSize,
//!   reporting_page_cap)` per page, with `continuationToken` (`"<watermark>;<id>;<rev>"`, the
//!   last entry passed), `isLastBatch` and `nextLink`; the last token of an idle stream gives
//!   an empty last batch and the same token back. `startDateTime` starts a stream by
//!   ChangedDate when no token is given (the token wins if both are).
//! - deletion is a revision with `System.IsDeleted: true`, visible only with
//!   `includeDeleted=true`; without it every revision of a deleted item is left out. A
//!   restore is a new revision without `System.IsDeleted`.
//! - identity fields are `"Name <email>"` strings unless `includeIdentityRef=true`.
//! - `workitems` / `workitemsbatch` take at most 200 ids (VS403474), refuse `$expand` with
//!   `fields`, and with `errorPolicy=omit` put `null` where an id is unknown or deleted (with
//!   the default `fail` the whole request is a 404).
//! - WIQL: see `boards::wiql` (date precision, VS402337 past 20,000 matches).
//!
//! `$expand=fields` adds the long-text fields (Description, Repro Steps, Acceptance
//! Criteria) that the stream withholds by default (§1.6); a `fields` list that names one
//! returns it either way. `includeTagRef` is accepted and changes nothing: the simulator has
//! no tag objects. Revisions carry no `System.RevisedDate`
//! (real ADO rewrites it on the previous revision when a new one arrives, which a stream
//! never re-sends; leaving it out keeps served revisions equal to the truth).

use axum::http::StatusCode;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::core::{parse_count, project_not_found};
use super::{Query, Reply, decode};
use crate::boards::json::{self as bj, Ctx, Group, ItemOptions, NodeJson, StreamedBatch, item_url};
use crate::boards::process::{FieldId, Kind, LinkKind, TYPES, find_type};
use crate::boards::{Boards, RevisionFilter, StreamEntry, wiql};
use crate::json::{List, Ts};
use crate::model::Org;
use crate::{Sim, read, time};

/// Most ids per `workitems` / `workitemsbatch` request (API_FACTS §1.5).
pub(crate) const MAX_IDS: usize = 200;
/// Comments per page at most (and by default).
const MAX_COMMENTS: usize = 200;

fn bad(message: &str) -> Reply {
    Reply::error_event(StatusCode::BAD_REQUEST, message, "ArgumentException", 0)
}

fn bad_value(key: &str, v: &str) -> Reply {
    Reply::error(
        StatusCode::BAD_REQUEST,
        &format!("The value '{v}' is not valid for parameter '{key}'."),
        "InvalidArgumentValueException",
    )
}

fn work_item_not_found(id: impl std::fmt::Display) -> Reply {
    Reply::error_event(
        StatusCode::NOT_FOUND,
        &format!(
            "TF401232: Work item {id} does not exist, or you do not have permissions to read it."
        ),
        "WorkItemUnauthorizedAccessException",
        3200,
    )
}

fn field_not_found(name: &str) -> Reply {
    Reply::error_event(
        StatusCode::BAD_REQUEST,
        &format!("TF51535: Cannot find field {name}."),
        "FieldDefinitionNotExistException",
        3200,
    )
}

fn type_not_found(name: &str) -> Reply {
    Reply::error_event(
        StatusCode::NOT_FOUND,
        &format!("VS402323: Work item type {name} does not exist."),
        "WorkItemTypeNotFoundException",
        3200,
    )
}

fn resolve_project(org: &Org, project: Option<&str>) -> Result<Option<usize>, Reply> {
    match project {
        None => Ok(None),
        Some(key) => org
            .find_project(key)
            .map(Some)
            .ok_or_else(|| project_not_found(key)),
    }
}

fn require_project(org: &Org, key: &str) -> Result<usize, Reply> {
    org.find_project(key).ok_or_else(|| project_not_found(key))
}

fn parse_bool(query: &Query, key: &str) -> Result<Option<bool>, Reply> {
    match query.get(&key.to_ascii_lowercase()) {
        None | Some("") => Ok(None),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(v) => Err(bad_value(key, v)),
    }
}

fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').map(str::trim).filter(|x| !x.is_empty())
}

/// Field names to ids in canonical order, deduplicated.
fn parse_fields<'a>(
    b: &Boards,
    names: impl Iterator<Item = &'a str>,
) -> Result<Vec<FieldId>, Reply> {
    let mut out = Vec::new();
    for n in names {
        out.push(b.find_field(n).ok_or_else(|| field_not_found(n))?);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn parse_types<'a>(names: impl Iterator<Item = &'a str>) -> Result<Vec<Kind>, Reply> {
    names
        .map(|n| find_type(n).ok_or_else(|| type_not_found(n)))
        .collect()
}

fn parse_time(query: &Query, key: &str) -> Result<Option<i64>, Reply> {
    match query.get(&key.to_ascii_lowercase()) {
        None | Some("") => Ok(None),
        Some(v) => time::parse(v).map(Some).ok_or_else(|| bad_value(key, v)),
    }
}

/// A stream position: the first `;`-separated part of a continuation token (ADO's tokens
/// look like `813;350;1`), or the older `watermark` parameter.
fn parse_position(query: &Query) -> Result<Option<(u64, String)>, Reply> {
    let (key, raw) = match (query.get("continuationtoken"), query.get("watermark")) {
        (Some(t), _) if !t.is_empty() => ("continuationToken", t),
        (_, Some(w)) if !w.is_empty() => ("watermark", w),
        _ => return Ok(None),
    };
    let first = raw.split(';').next().unwrap_or("").trim();
    first
        .parse::<u64>()
        .map(|wm| Some((wm, raw.to_string())))
        .map_err(|_| bad_value(key, raw))
}

/// `nextLink`: the same request from the new token (GET keeps its filters, as the examples
/// show; a POST's filters are in its body).
fn next_link(
    base: &str,
    project_id: Option<&str>,
    resource: &str,
    raw_query: &str,
    token: &str,
    version: &str,
    keep: bool,
) -> String {
    let mut url = base.to_string();
    if let Some(p) = project_id {
        url.push('/');
        url.push_str(p);
    }
    url.push_str(&format!(
        "/_apis/wit/reporting/{resource}?continuationToken={token}"
    ));
    if keep {
        for kv in raw_query.split('&').filter(|kv| !kv.is_empty()) {
            let k = decode(kv.split('=').next().unwrap_or(""), true).to_ascii_lowercase();
            if !matches!(
                k.as_str(),
                "continuationtoken" | "watermark" | "startdatetime" | "api-version"
            ) {
                url.push('&');
                url.push_str(kv);
            }
        }
    }
    url.push_str(&format!("&api-version={version}"));
    url
}

/// The token after a page: `<watermark>;<id>;<rev>` of the last entry passed.
fn revision_token(stream: &[StreamEntry], wm: u64) -> String {
    match stream.binary_search_by_key(&wm, |e| e.wm) {
        Ok(i) => format!("{};{};{}", wm, stream[i].id, stream[i].rev),
        Err(_) => format!("{wm};0;0"),
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ReportingBody {
    fields: Option<Vec<String>>,
    types: Option<Vec<String>>,
    include_identity_ref: Option<bool>,
    include_deleted: Option<bool>,
    #[allow(dead_code)]
    include_tag_ref: Option<bool>,
    include_latest_only: Option<bool>,
    include_discussion_changes_only: Option<bool>,
}

/// `GET|POST [{project}/]_apis/wit/reporting/workitemrevisions`.
pub(super) fn reporting_revisions(
    sim: &Sim,
    project: Option<&str>,
    query: &Query,
    raw_query: &str,
    body: Option<&[u8]>,
    version: &str,
) -> Reply {
    let base = sim.base_url();
    let cap = sim.inner.reporting_page_cap.max(1);
    let org = read(&sim.inner.state);
    let b = &org.boards;
    let p = match resolve_project(&org, project) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let opts = match body {
        Some(raw) if !raw.iter().all(u8::is_ascii_whitespace) => {
            match serde_json::from_slice::<ReportingBody>(raw) {
                Ok(o) => o,
                Err(e) => return bad(&format!("The request body is not a valid filter: {e}")),
            }
        }
        Some(_) => ReportingBody::default(),
        None => {
            let flag = |k: &str| parse_bool(query, k);
            let list = |k: &str| {
                query
                    .get(k)
                    .map(|v| split_list(v).map(str::to_string).collect::<Vec<_>>())
            };
            match (
                flag("includeIdentityRef"),
                flag("includeDeleted"),
                flag("includeTagRef"),
                flag("includeLatestOnly"),
                flag("includeDiscussionChangesOnly"),
            ) {
                (Ok(r), Ok(d), Ok(t), Ok(l), Ok(c)) => ReportingBody {
                    fields: list("fields"),
                    types: list("types"),
                    include_identity_ref: r,
                    include_deleted: d,
                    include_tag_ref: t,
                    include_latest_only: l,
                    include_discussion_changes_only: c,
                },
                (Err(e), ..)
                | (_, Err(e), ..)
                | (_, _, Err(e), ..)
                | (_, _, _, Err(e), _)
                | (_, _, _, _, Err(e)) => return e,
            }
        }
    };
    let select = match &opts.fields {
        Some(names) if !names.is_empty() => match parse_fields(b, names.iter().map(String::as_str))
        {
            Ok(v) => Some(v),
            Err(e) => return e,
        },
        _ => None,
    };
    let types = match &opts.types {
        Some(names) if !names.is_empty() => match parse_types(names.iter().map(String::as_str)) {
            Ok(v) => Some(v),
            Err(e) => return e,
        },
        _ => None,
    };
    let position = match parse_position(query) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let since = match parse_time(query, "startDateTime") {
        Ok(t) => t,
        Err(e) => return e,
    };
    let long_text = match query.get("$expand") {
        None => false,
        Some(x) if x.eq_ignore_ascii_case("fields") => true,
        Some(x) if x.eq_ignore_ascii_case("none") || x.is_empty() => false,
        Some(x) => return bad_value("$expand", x),
    };
    let size = match parse_count(query, "$maxpagesize") {
        Ok(m) => m.unwrap_or(cap).clamp(1, cap),
        Err(e) => return e,
    };
    let filter = RevisionFilter {
        after: position.as_ref().map(|x| x.0),
        since: if position.is_some() { None } else { since },
        types,
        include_deleted: opts.include_deleted.unwrap_or(false),
        latest_only: opts.include_latest_only.unwrap_or(false),
        discussion_only: opts.include_discussion_changes_only.unwrap_or(false),
    };
    let page = b.revision_page(p, &filter, size);
    let stream = p.map_or(&b.stream, |p| &b.projects[p].stream);
    let token = match page.last_key {
        Some(wm) => revision_token(stream, wm),
        None => position.map_or_else(|| "0;0;0".to_string(), |x| x.1),
    };
    let ctx = Ctx {
        base: &base,
        org: &org,
    };
    let refs = opts.include_identity_ref.unwrap_or(false);
    let values: Vec<_> = page
        .values
        .iter()
        .map(|e| {
            let item = &b.items[e.id as usize - 1];
            bj::revision(ctx, item, e.rev, select.as_deref(), refs, long_text)
        })
        .collect();
    let project_id = p.map(|p| org.projects[p].id.as_str());
    Reply::json(&StreamedBatch {
        values,
        next_link: next_link(
            &base,
            project_id,
            "workItemRevisions",
            raw_query,
            &token,
            version,
            body.is_none(),
        ),
        continuation_token: token,
        is_last_batch: page.is_last,
    })
}

/// `GET [{project}/]_apis/wit/reporting/workitemlinks`: link changes in order; the token is
/// the last change number passed. Pages are as large as the revisions stream's cap.
pub(super) fn reporting_links(
    sim: &Sim,
    project: Option<&str>,
    query: &Query,
    raw_query: &str,
    version: &str,
) -> Reply {
    let base = sim.base_url();
    let cap = sim.inner.reporting_page_cap.max(1);
    let org = read(&sim.inner.state);
    let p = match resolve_project(&org, project) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let kinds = match query.get("linktypes").filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => {
            let mut out = Vec::new();
            for t in split_list(v) {
                match LinkKind::parse(t) {
                    Some(k) => out.push(k),
                    None => return bad_value("linkTypes", t),
                }
            }
            Some(out)
        }
    };
    let types = match query.get("types").filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => match parse_types(split_list(v)) {
            Ok(t) => Some(t),
            Err(e) => return e,
        },
    };
    let position = match parse_position(query) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let since = match parse_time(query, "startDateTime") {
        Ok(t) => t,
        Err(e) => return e,
    };
    let page = org.boards.link_page(
        p,
        position.as_ref().map(|x| x.0),
        if position.is_some() { None } else { since },
        kinds.as_deref(),
        types.as_deref(),
        cap,
    );
    let token = match page.last_key {
        Some(seq) => seq.to_string(),
        None => position.map_or_else(|| "0".to_string(), |x| x.1),
    };
    let values: Vec<_> = page.values.iter().map(bj::link).collect();
    let project_id = p.map(|p| org.projects[p].id.as_str());
    Reply::json(&StreamedBatch {
        values,
        next_link: next_link(
            &base,
            project_id,
            "workItemLinks",
            raw_query,
            &token,
            version,
            true,
        ),
        continuation_token: token,
        is_last_batch: page.is_last,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ColumnJson<'a> {
    reference_name: &'a str,
    name: &'a str,
    url: String,
}

#[derive(Serialize)]
struct SortColumnJson<'a> {
    field: ColumnJson<'a>,
    descending: bool,
}

#[derive(Serialize)]
struct ItemRef {
    id: u32,
    url: String,
}

/// `WorkItemQueryResult` of a flat query.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WiqlResult<'a> {
    query_type: &'static str,
    query_result_type: &'static str,
    as_of: Ts,
    columns: Vec<ColumnJson<'a>>,
    sort_columns: Vec<SortColumnJson<'a>>,
    work_items: Vec<ItemRef>,
}

#[derive(Deserialize)]
struct WiqlBody {
    query: Option<String>,
}

fn query_error(message: &str) -> Reply {
    Reply::error_event(
        StatusCode::BAD_REQUEST,
        message,
        "WorkItemTrackingQueryException",
        3200,
    )
}

/// `POST [{project}[/{team}]/]_apis/wit/wiql[?timePrecision=true&$top=N]`.
pub(super) fn wiql(sim: &Sim, project: Option<&str>, query: &Query, body: Option<&[u8]>) -> Reply {
    let text = match body.map(serde_json::from_slice::<WiqlBody>) {
        Some(Ok(WiqlBody { query: Some(q) })) if !q.trim().is_empty() => q,
        Some(Err(e)) => return bad(&format!("The request body is not valid JSON: {e}")),
        _ => return bad("The query string is required."),
    };
    // `timePrecision` counts only in the query string; a body field is ignored (§4.2).
    let time_precision = match parse_bool(query, "timePrecision") {
        Ok(v) => v.unwrap_or(false),
        Err(e) => return e,
    };
    let top = match parse_count(query, "$top") {
        Ok(t) => t,
        Err(e) => return e,
    };
    let base = sim.base_url();
    let limit = sim.inner.wiql_max_results;
    let org = read(&sim.inner.state);
    let b = &org.boards;
    let p = match resolve_project(&org, project) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let q = match wiql::parse(b, &text, time::today_midnight_ticks()) {
        Ok(q) => q,
        Err(msg) => return query_error(&msg),
    };
    let names: Vec<String> = org.projects.iter().map(|p| p.name.clone()).collect();
    let ids = wiql::check(&q, time_precision)
        .and_then(|()| wiql::run(b, &names, &q, p, time_precision, limit, top));
    let ids = match ids {
        Ok(ids) => ids,
        Err(wiql::RunError::TimeWithDate(cond)) => {
            return query_error(&format!(
                "You cannot supply a time with the date when running a query using date \
                 precision. The error is caused by «{cond}»."
            ));
        }
        Err(wiql::RunError::NoProject) => {
            return query_error(
                "TF51011: The @project macro can only be used in the context of a project.",
            );
        }
        Err(wiql::RunError::TooMany) => {
            return Reply::error_event(
                StatusCode::BAD_REQUEST,
                &format!(
                    "VS402337: The number of work items returned exceeds the size limit of \
                     {limit}. Change the query to return fewer items."
                ),
                "WorkItemTrackingQueryResultSizeLimitExceededException",
                3200,
            );
        }
    };
    let column = |fid: FieldId| {
        let d = &b.fields[fid as usize];
        ColumnJson {
            reference_name: &d.ref_name,
            name: &d.name,
            url: format!("{base}/_apis/wit/fields/{}", d.ref_name),
        }
    };
    Reply::json(&WiqlResult {
        query_type: "flat",
        query_result_type: "workItem",
        as_of: Ts(time::now_ticks()),
        columns: q.columns.iter().map(|&c| column(c)).collect(),
        sort_columns: q
            .order
            .iter()
            .map(|&(fid, descending)| SortColumnJson {
                field: column(fid),
                descending,
            })
            .collect(),
        work_items: ids
            .into_iter()
            .map(|id| ItemRef {
                id,
                url: item_url(&base, id),
            })
            .collect(),
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Expand {
    None,
    Relations,
    Fields,
    Links,
    All,
}

fn parse_expand(v: Option<&str>) -> Result<Expand, Reply> {
    let Some(v) = v.filter(|v| !v.is_empty()) else {
        return Ok(Expand::None);
    };
    match v.to_ascii_lowercase().as_str() {
        "none" | "0" => Ok(Expand::None),
        "relations" | "1" => Ok(Expand::Relations),
        "fields" | "2" => Ok(Expand::Fields),
        "links" | "3" => Ok(Expand::Links),
        "all" | "4" => Ok(Expand::All),
        _ => Err(bad_value("$expand", v)),
    }
}

/// `errorPolicy`: `fail` (the default) or `omit`.
fn parse_policy(v: Option<&str>) -> Result<bool, Reply> {
    match v.map(str::to_ascii_lowercase).as_deref() {
        None | Some("" | "fail" | "1") => Ok(false),
        Some("omit" | "2") => Ok(true),
        Some(_) => Err(bad_value("errorPolicy", v.unwrap_or_default())),
    }
}

struct ItemsRequest<'a> {
    ids: Vec<i64>,
    fields: Option<Vec<&'a str>>,
    as_of: Option<&'a str>,
    expand: Option<&'a str>,
    policy: Option<&'a str>,
}

fn too_many(n: usize) -> Reply {
    bad(&format!(
        "VS403474: You requested {n} work items which exceeds the limit of {MAX_IDS}"
    ))
}

/// The shared rules of `GET workitems?ids=` and `POST workitemsbatch` (API_FACTS §1.5).
fn get_items(sim: &Sim, project: Option<&str>, r: ItemsRequest<'_>) -> Reply {
    if r.ids.len() > MAX_IDS {
        return too_many(r.ids.len());
    }
    let has_fields = r.fields.as_ref().is_some_and(|f| !f.is_empty());
    let expand = match parse_expand(r.expand) {
        Ok(e) => e,
        Err(e) => return e,
    };
    if has_fields && expand != Expand::None {
        return bad("The expand parameter can not be used with the fields parameter.");
    }
    let omit = match parse_policy(r.policy) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let as_of = match r.as_of.filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match time::parse(s) {
            Some(t) => Some(t),
            None => return bad_value("asOf", s),
        },
    };
    let base = sim.base_url();
    let org = read(&sim.inner.state);
    if let Err(e) = resolve_project(&org, project) {
        return e;
    }
    let b = &org.boards;
    let select = match r.fields.filter(|f| !f.is_empty()) {
        None => None,
        Some(names) => match parse_fields(b, names.into_iter()) {
            Ok(v) => Some(v),
            Err(e) => return e,
        },
    };
    let ctx = Ctx {
        base: &base,
        org: &org,
    };
    let opts = ItemOptions {
        select: select.as_deref(),
        relations: matches!(expand, Expand::Relations | Expand::All),
        links: matches!(expand, Expand::Links | Expand::All),
    };
    let mut value = Vec::with_capacity(r.ids.len());
    for &id in &r.ids {
        let found = u32::try_from(id)
            .ok()
            .and_then(|id| b.item(id))
            .filter(|it| !it.deleted)
            .and_then(|it| {
                let rev = match as_of {
                    Some(t) => Boards::rev_as_of(it, t)?,
                    None => it.rev(),
                };
                Some((it, rev))
            });
        match found {
            Some((it, rev)) => value.push(Some(bj::work_item(ctx, it, rev, opts))),
            None if omit => value.push(None),
            None => return work_item_not_found(id),
        }
    }
    Reply::json(&List::new(value))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchBody {
    ids: Option<Vec<i64>>,
    fields: Option<Vec<String>>,
    as_of: Option<String>,
    #[serde(rename = "$expand", alias = "expand")]
    expand: Option<serde_json::Value>,
    error_policy: Option<serde_json::Value>,
}

fn enum_text(v: &Option<serde_json::Value>) -> Option<String> {
    match v {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// `POST [{project}/]_apis/wit/workitemsbatch`.
pub(super) fn work_items_batch(sim: &Sim, project: Option<&str>, body: Option<&[u8]>) -> Reply {
    let req = match body.map(serde_json::from_slice::<BatchBody>) {
        Some(Ok(b)) => b,
        Some(Err(e)) => return bad(&format!("The request body is not valid: {e}")),
        None => return bad("The request body is required."),
    };
    let Some(ids) = req.ids.filter(|i| !i.is_empty()) else {
        return bad("The ids list is required.");
    };
    let expand = enum_text(&req.expand);
    let policy = enum_text(&req.error_policy);
    get_items(
        sim,
        project,
        ItemsRequest {
            ids,
            fields: req
                .fields
                .as_ref()
                .map(|f| f.iter().map(String::as_str).collect()),
            as_of: req.as_of.as_deref(),
            expand: expand.as_deref(),
            policy: policy.as_deref(),
        },
    )
}

/// `GET [{project}/]_apis/wit/workitems?ids=…`.
pub(super) fn work_items(sim: &Sim, project: Option<&str>, query: &Query) -> Reply {
    let Some(raw) = query.get("ids").filter(|v| !v.is_empty()) else {
        return bad("The ids parameter is required.");
    };
    let mut ids = Vec::new();
    for s in split_list(raw) {
        match s.parse::<i64>() {
            Ok(i) => ids.push(i),
            Err(_) => return bad_value("ids", raw),
        }
    }
    get_items(
        sim,
        project,
        ItemsRequest {
            ids,
            fields: query.get("fields").map(|f| split_list(f).collect()),
            as_of: query.get("asof"),
            expand: query.get("$expand"),
            policy: query.get("errorpolicy"),
        },
    )
}

/// `GET [{project}/]_apis/wit/workitems/{id}`: one item, with `_links` as in the example.
pub(super) fn work_item(sim: &Sim, project: Option<&str>, id: &str, query: &Query) -> Reply {
    let Ok(id) = id.trim().parse::<u32>() else {
        return bad_value("id", id);
    };
    let expand = match parse_expand(query.get("$expand")) {
        Ok(e) => e,
        Err(e) => return e,
    };
    let fields: Option<Vec<&str>> = query
        .get("fields")
        .map(|f| split_list(f).collect::<Vec<_>>())
        .filter(|f| !f.is_empty());
    if fields.is_some() && expand != Expand::None {
        return bad("The expand parameter can not be used with the fields parameter.");
    }
    let as_of = match parse_time(query, "asOf") {
        Ok(t) => t,
        Err(e) => return e,
    };
    let base = sim.base_url();
    let org = read(&sim.inner.state);
    if let Err(e) = resolve_project(&org, project) {
        return e;
    }
    let b = &org.boards;
    let select = match fields {
        None => None,
        Some(names) => match parse_fields(b, names.into_iter()) {
            Ok(v) => Some(v),
            Err(e) => return e,
        },
    };
    let Some(item) = b.item(id).filter(|i| !i.deleted) else {
        return work_item_not_found(id);
    };
    let rev = match as_of {
        Some(t) => match Boards::rev_as_of(item, t) {
            Some(r) => r,
            None => return work_item_not_found(id),
        },
        None => item.rev(),
    };
    let ctx = Ctx {
        base: &base,
        org: &org,
    };
    let opts = ItemOptions {
        select: select.as_deref(),
        relations: matches!(expand, Expand::Relations | Expand::All),
        links: true,
    };
    Reply::json(&bj::work_item(ctx, item, rev, opts))
}

#[derive(Serialize)]
struct DeletedRef {
    id: u32,
    url: String,
}

/// `GET {project}/_apis/wit/recyclebin[/{id}]`: the project's deleted items
/// (`WorkItemDeleteShallowReference`), or one of them (`WorkItemDelete`).
pub(super) fn recycle_bin(sim: &Sim, project: &str, id: Option<&str>) -> Reply {
    let base = sim.base_url();
    let org = read(&sim.inner.state);
    let p = match require_project(&org, project) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let b = &org.boards;
    match id {
        None => {
            let value: Vec<DeletedRef> = b
                .items
                .iter()
                .filter(|i| i.deleted && !i.destroyed && i.project == p)
                .map(|i| DeletedRef {
                    id: i.id,
                    url: format!("{base}/_apis/wit/recycleBin/{}", i.id),
                })
                .collect();
            Reply::json(&List::new(value))
        }
        Some(key) => {
            let found = key
                .trim()
                .parse::<u32>()
                .ok()
                .and_then(|id| b.item(id))
                .filter(|i| i.deleted && !i.destroyed && i.project == p);
            match found {
                Some(item) => {
                    let ctx = Ctx {
                        base: &base,
                        org: &org,
                    };
                    Reply::json(&bj::deleted(ctx, item))
                }
                None => work_item_not_found(key),
            }
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CommentList<'a> {
    total_count: usize,
    count: usize,
    comments: Vec<bj::CommentJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    continuation_token: Option<String>,
}

fn comment_token(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("comments:{offset}"))
}

fn comment_offset(token: &str) -> Option<usize> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim())
        .ok()?;
    String::from_utf8(raw)
        .ok()?
        .strip_prefix("comments:")?
        .parse()
        .ok()
}

/// `GET {project}/_apis/wit/workItems/{id}/comments` (7.1-preview.4): newest first unless
/// `order=asc`, `$top` (at most 200) and an opaque `continuationToken`.
pub(super) fn comments(sim: &Sim, project: &str, id: &str, query: &Query) -> Reply {
    let top = match parse_count(query, "$top") {
        Ok(t) => t.unwrap_or(MAX_COMMENTS).clamp(1, MAX_COMMENTS),
        Err(e) => return e,
    };
    let offset = match query.get("continuationtoken").filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => match comment_offset(t) {
            Some(o) => o,
            None => return bad_value("continuationToken", t),
        },
    };
    let asc = match query.get("order").map(str::to_ascii_lowercase).as_deref() {
        None | Some("" | "desc") => false,
        Some("asc") => true,
        Some(_) => return bad_value("order", query.get("order").unwrap_or_default()),
    };
    let base = sim.base_url();
    let org = read(&sim.inner.state);
    let p = match require_project(&org, project) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let Some(item) = id
        .trim()
        .parse::<u32>()
        .ok()
        .and_then(|i| org.boards.item(i))
        .filter(|i| !i.deleted)
    else {
        return work_item_not_found(id);
    };
    let mut all: Vec<(u32, u32)> = item
        .revs
        .iter()
        .enumerate()
        .filter(|(_, m)| m.comment)
        .enumerate()
        .map(|(n, (r, _))| (n as u32 + 1, r as u32 + 1))
        .collect();
    if !asc {
        all.reverse();
    }
    let ctx = Ctx {
        base: &base,
        org: &org,
    };
    let start = offset.min(all.len());
    let end = (start + top).min(all.len());
    let comments: Vec<_> = all[start..end]
        .iter()
        .map(|&(n, rev)| bj::comment(ctx, item, n, rev))
        .collect();
    let more = end < all.len();
    let token = more.then(|| comment_token(end));
    Reply::json(&CommentList {
        total_count: all.len(),
        count: comments.len(),
        comments,
        next_page: token.as_ref().map(|t| {
            format!(
                "{base}/{}/_apis/wit/workItems/{}/comments?continuationToken={t}&api-version=7.1-preview.4",
                org.projects[p].id, item.id
            )
        }),
        continuation_token: token,
    })
}

fn depth(query: &Query) -> Result<u32, Reply> {
    Ok(parse_count(query, "$depth")?.unwrap_or(0).min(64) as u32)
}

fn node_not_found(path: &str) -> Reply {
    Reply::error_event(
        StatusCode::NOT_FOUND,
        &format!("VS402485: The node name or path '{path}' does not exist."),
        "WorkItemTrackingTreeNodeNotFoundException",
        3200,
    )
}

/// `GET {project}/_apis/wit/classificationnodes[?$depth=N | ?ids=…]`: both roots, or the
/// nodes with the given ids.
pub(super) fn classification_roots(sim: &Sim, project: &str, query: &Query) -> Reply {
    let depth = match depth(query) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let omit = match parse_policy(query.get("errorpolicy")) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let base = sim.base_url();
    let org = read(&sim.inner.state);
    let p = match require_project(&org, project) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let ctx = Ctx {
        base: &base,
        org: &org,
    };
    let node = |group: Group, i: usize| NodeJson {
        ctx,
        project: &org.projects[p],
        tree: group.tree(&org.boards, p),
        group,
        node: i,
        depth,
        links: true,
        flat: false,
    };
    let Some(ids) = query.get("ids").filter(|v| !v.is_empty()) else {
        return Reply::json(&List::new(vec![
            node(Group::Areas, 0),
            node(Group::Iterations, 0),
        ]));
    };
    let mut value = Vec::new();
    for s in split_list(ids) {
        let Ok(want) = s.parse::<u32>() else {
            return bad_value("ids", ids);
        };
        let hit = [Group::Areas, Group::Iterations].into_iter().find_map(|g| {
            g.tree(&org.boards, p)
                .nodes
                .iter()
                .position(|n| n.id == want)
                .map(|i| (g, i))
        });
        match hit {
            Some((g, i)) => value.push(node(g, i)),
            None if omit => {}
            None => return node_not_found(s),
        }
    }
    Reply::json(&List::new(value))
}

/// `GET {project}/_apis/wit/classificationnodes/{Areas|Iterations}[/{path}][?$depth=N]`.
pub(super) fn classification_node(
    sim: &Sim,
    project: &str,
    group: &str,
    path: &[String],
    query: &Query,
) -> Reply {
    let Some(group) = Group::parse(group) else {
        return bad_value("structureGroup", group);
    };
    let depth = match depth(query) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let base = sim.base_url();
    let org = read(&sim.inner.state);
    let p = match require_project(&org, project) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let tree = group.tree(&org.boards, p);
    let Some(i) = tree.find(path) else {
        return node_not_found(&path.join("\\"));
    };
    Reply::json(&NodeJson {
        ctx: Ctx {
            base: &base,
            org: &org,
        },
        project: &org.projects[p],
        tree,
        group,
        node: i,
        depth,
        links: true,
        flat: false,
    })
}

/// `GET {project}/_apis/wit/workitemtypes[/{type}[/states]]`.
pub(super) fn work_item_types(sim: &Sim, project: &str, name: Option<&str>, states: bool) -> Reply {
    let base = sim.base_url();
    let org = read(&sim.inner.state);
    let p = match require_project(&org, project) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let ctx = Ctx {
        base: &base,
        org: &org,
    };
    let project = &org.projects[p];
    match name {
        None => {
            let value: Vec<_> = (0..TYPES.len() as Kind)
                .map(|k| bj::work_item_type(ctx, project, k, false))
                .collect();
            Reply::json(&List::new(value))
        }
        Some(n) => match find_type(n) {
            None => type_not_found(n),
            Some(k) if states => Reply::json(&List::new(bj::states(k))),
            Some(k) => Reply::json(&bj::work_item_type(ctx, project, k, false)),
        },
    }
}

/// `GET {project}/_apis/wit/workitemtypecategories[/{category}]`.
pub(super) fn categories(sim: &Sim, project: &str, name: Option<&str>) -> Reply {
    let base = sim.base_url();
    let org = read(&sim.inner.state);
    let p = match require_project(&org, project) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let project = &org.projects[p];
    match name {
        None => {
            let value: Vec<_> = (0..TYPES.len() as Kind)
                .map(|k| bj::category(&base, project, k))
                .collect();
            Reply::json(&List::new(value))
        }
        Some(n) => {
            let found = TYPES.iter().position(|t| {
                t.category_ref.eq_ignore_ascii_case(n) || t.category.eq_ignore_ascii_case(n)
            });
            match found {
                Some(k) => Reply::json(&bj::category(&base, project, k as Kind)),
                None => Reply::error_event(
                    StatusCode::NOT_FOUND,
                    &format!("VS402326: Work item type category {n} does not exist."),
                    "WorkItemTypeCategoryNotFoundException",
                    3200,
                ),
            }
        }
    }
}

/// `GET [{project}/]_apis/wit/fields[/{nameOrRefName}]`: the org's fields (one process, so
/// the project-level list is the same).
pub(super) fn fields(sim: &Sim, project: Option<&str>, name: Option<&str>) -> Reply {
    let base = sim.base_url();
    let org = read(&sim.inner.state);
    if let Err(e) = resolve_project(&org, project) {
        return e;
    }
    let b = &org.boards;
    match name {
        None => {
            let value: Vec<_> = (0..b.fields.len() as FieldId)
                .map(|fid| bj::field(&base, b, fid))
                .collect();
            Reply::json(&List::new(value))
        }
        Some(n) => match b.find_field(n) {
            Some(fid) => Reply::json(&bj::field(&base, b, fid)),
            None => {
                let mut r = field_not_found(n);
                r.status = StatusCode::NOT_FOUND;
                r
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_keeps_filters_and_replaces_the_token() {
        let l = next_link(
            "http://h/o",
            Some("pid"),
            "workItemRevisions",
            "continuationToken=1%3B2%3B3&includeDeleted=true&api-version=7.1&%24maxPageSize=5",
            "9;4;2",
            "7.1",
            true,
        );
        assert_eq!(
            l,
            "http://h/o/pid/_apis/wit/reporting/workItemRevisions?continuationToken=9;4;2&includeDeleted=true&%24maxPageSize=5&api-version=7.1"
        );
        assert_eq!(comment_offset(&comment_token(7)), Some(7));
    }
}
