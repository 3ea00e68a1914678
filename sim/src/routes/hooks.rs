//! `{org}/_apis/hooks/subscriptions[/{id}[/notifications]]`: web hook subscriptions and their
//! notifications, organization level (no project segment), as in `specs/serviceHooks.json`.
//!
//! The generic scope check lets any of `vso.code`, `vso.work` and `vso.build` through (the
//! spec's list for these routes); each handler then asks for the scope of the event the
//! subscription is about (`hooks::subscriptions::scope_of`, API_FACTS §13), so a
//! `vso.work`-only token can manage work item subscriptions and nothing else.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Query, Reply};
use crate::hooks::subscriptions::{self as subs, Subscription};
use crate::{Sim, auth, lock, read};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    Subscriptions,
    Subscription(String),
    Notifications(String),
}

impl Route {
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Route::Subscriptions => "hooks_subscriptions",
            Route::Subscription(_) => "hooks_subscription",
            Route::Notifications(_) => "hooks_notifications",
        }
    }

    /// `lc`: the lower-cased segments after `hooks`; `raw`: the same, as sent.
    pub(crate) fn parse(lc: &[&str], raw: &[String]) -> Option<Route> {
        Some(match lc {
            ["subscriptions"] => Route::Subscriptions,
            ["subscriptions", _] => Route::Subscription(raw[1].clone()),
            ["subscriptions", _, "notifications"] => Route::Notifications(raw[1].clone()),
            _ => return None,
        })
    }

    pub(crate) fn allows(&self, m: &Method) -> bool {
        let read = m == Method::GET || m == Method::HEAD;
        match self {
            Route::Subscriptions => read || m == Method::POST,
            Route::Subscription(_) => read || m == Method::PUT || m == Method::DELETE,
            Route::Notifications(_) => read,
        }
    }
}

fn bad(message: &str) -> Reply {
    Reply::error(StatusCode::BAD_REQUEST, message, "ArgumentException")
}

fn not_found(id: &str) -> Reply {
    Reply::error(
        StatusCode::NOT_FOUND,
        &format!("VS1051001: Subscription with id '{id}' does not exist."),
        "SubscriptionNotFoundException",
    )
}

/// 403 unless `scopes` grant the scope of `event_type`'s area.
fn check_scope(scopes: &[String], event_type: &str) -> Result<(), Reply> {
    let needed = [subs::scope_of(event_type)];
    if auth::has_scope(scopes, &needed) {
        return Ok(());
    }
    Err(Reply::error(
        StatusCode::FORBIDDEN,
        &auth::missing_scope_message(&needed),
        "UnauthorizedRequestException",
    ))
}

/// The caller's request, as the handlers need it.
pub(super) struct Call<'a> {
    pub method: &'a Method,
    pub query: &'a Query,
    pub body: Option<&'a [u8]>,
    pub token: &'a str,
    pub scopes: &'a [String],
}

pub(super) fn serve(sim: &Sim, route: &Route, call: &Call<'_>) -> Reply {
    let result = match (route, call.method) {
        (Route::Subscriptions, &Method::POST) => create(sim, call),
        (Route::Subscriptions, _) => Ok(list(sim, call.query)),
        (Route::Subscription(id), &Method::PUT) => replace(sim, id, call),
        (Route::Subscription(id), &Method::DELETE) => delete(sim, id, call),
        (Route::Subscription(id), _) => get(sim, id, call),
        (Route::Notifications(id), _) => notifications(sim, id, call),
    };
    result.unwrap_or_else(|e| e)
}

/// The identity a token acts as (`createdBy`, `modifiedBy`).
fn caller_id(org: &crate::model::Org, token: &str) -> String {
    org.identities[auth::identity_of(token, org.user_count)]
        .id
        .clone()
}

fn create(sim: &Sim, call: &Call<'_>) -> Result<Reply, Reply> {
    let now = sim.now();
    let base = sim.base_url();
    let seed = sim.inner.seed;
    let org = read(&sim.inner.state);
    let request = subs::parse(&org, call.body).map_err(|m| bad(&m))?;
    check_scope(call.scopes, &request.event_type)?;
    let by = caller_id(&org, call.token);
    let mut data = lock(&sim.inner.hooks.data);
    data.next_subscription += 1;
    let n = data.next_subscription;
    let id = subs::guid(seed, 0x5B5C_0001, n);
    let tfs_id = subs::guid(seed, 0x5B5C_0002, n);
    let s = Subscription::new(&org, request, id, tfs_id, by, now);
    let answer = s.to_json(&base);
    data.subs.push(s);
    Ok(Reply::json(&answer))
}

fn list(sim: &Sim, query: &Query) -> Reply {
    let base = sim.base_url();
    let filter = [
        ("publisherId", query.get("publisherid")),
        ("eventType", query.get("eventtype")),
        ("consumerId", query.get("consumerid")),
        ("consumerActionId", query.get("consumeractionid")),
    ];
    let data = lock(&sim.inner.hooks.data);
    let value: Vec<Value> = data
        .subs
        .iter()
        .filter(|s| s.matches_filter(&filter))
        .map(|s| s.to_json(&base))
        .collect();
    Reply::json(&json!({ "count": value.len(), "value": value }))
}

/// The event type of subscription `id`, after the caller's scope was checked against it.
fn event_type_of(sim: &Sim, id: &str, call: &Call<'_>) -> Result<String, Reply> {
    let data = lock(&sim.inner.hooks.data);
    let s = data
        .subs
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(id.trim()))
        .ok_or_else(|| not_found(id))?;
    check_scope(call.scopes, &s.event_type)?;
    Ok(s.event_type.clone())
}

fn get(sim: &Sim, id: &str, call: &Call<'_>) -> Result<Reply, Reply> {
    event_type_of(sim, id, call)?;
    let base = sim.base_url();
    let data = lock(&sim.inner.hooks.data);
    let s = data
        .subs
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(id.trim()))
        .ok_or_else(|| not_found(id))?;
    Ok(Reply::json(&s.to_json(&base)))
}

fn delete(sim: &Sim, id: &str, call: &Call<'_>) -> Result<Reply, Reply> {
    event_type_of(sim, id, call)?;
    let mut data = lock(&sim.inner.hooks.data);
    let before = data.subs.len();
    data.subs.retain(|s| !s.id.eq_ignore_ascii_case(id.trim()));
    if data.subs.len() == before {
        return Err(not_found(id));
    }
    Ok(Reply {
        status: StatusCode::NO_CONTENT,
        body: Vec::new(),
        content_type: String::new(),
        headers: Vec::new(),
    })
}

fn replace(sim: &Sim, id: &str, call: &Call<'_>) -> Result<Reply, Reply> {
    event_type_of(sim, id, call)?;
    let now = sim.now();
    let base = sim.base_url();
    let org = read(&sim.inner.state);
    let request = subs::parse(&org, call.body).map_err(|m| bad(&m))?;
    // Both the old and the new event's scope: a replace must not move a subscription out of
    // (or into) an area the token cannot see.
    check_scope(call.scopes, &request.event_type)?;
    let by = caller_id(&org, call.token);
    let mut data = lock(&sim.inner.hooks.data);
    let s = data.sub_mut(id.trim()).ok_or_else(|| not_found(id))?;
    s.replace(&org, request, String::new(), by, now);
    Ok(Reply::json(&s.to_json(&base)))
}

fn notifications(sim: &Sim, id: &str, call: &Call<'_>) -> Result<Reply, Reply> {
    event_type_of(sim, id, call)?;
    let q = call.query;
    let max = match q.get("maxresults").map(str::trim).filter(|v| !v.is_empty()) {
        None => usize::MAX,
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| bad(&format!("Invalid value '{v}' for parameter 'maxResults'.")))?,
    };
    let status = q.get("status").map(str::trim).filter(|v| !v.is_empty());
    let result = q.get("result").map(str::trim).filter(|v| !v.is_empty());
    let data = lock(&sim.inner.hooks.data);
    let value: Vec<Value> = data
        .deliveries
        .iter()
        .rev()
        .filter(|d| d.subscription_id.eq_ignore_ascii_case(id.trim()))
        .filter(|d| status.is_none_or(|s| d.status.eq_ignore_ascii_case(s)))
        .filter(|d| result.is_none_or(|r| d.result.eq_ignore_ascii_case(r)))
        .take(max)
        .map(subs::notification)
        .collect();
    Ok(Reply::json(
        &json!({ "count": value.len(), "value": value }),
    ))
}
