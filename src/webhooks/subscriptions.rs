//! `ado-ingest webhooks subscribe|list|delete`: the service-hook subscriptions this program
//! creates in ADO (API_FACTS §6), one per event type and project, each sending the event to
//! `run`'s receiver with the shared secret as an `X-ADO-Signature` header.
//!
//! Each connector's events are managed with that connector's own client and token pool: the
//! hooks API is authorized by the *event area's* read scope (`vso.code` for pull request
//! events, `vso.work` for work items, `vso.build` for builds) plus the project's "Edit
//! subscriptions" service-hooks permission; the `vso.hooks*` scopes are no longer offered
//! (API_FACTS §3, §13).
//!
//! "Ours" is a Web Hooks subscription (`webHooks` / `httpRequest`) whose `consumerInputs.url` is
//! the `--url` given; nothing else is ever changed or deleted. Owns no HTTP of its own (every
//! call goes through [`crate::ado::Client`]) and no SQL.

mod list;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::ado::listing::Projects;
use crate::ado::models::ListEnvelope;
use crate::ado::models::core::TeamProject;
use crate::ado::models::hooks::{Notification, Subscription, SubscriptionRequest};
use crate::ado::{self, Client, Endpoint};
use crate::config::Settings;
use crate::connectors::projects;
use crate::engine::{self, SetupError};
use crate::metrics::Metrics;
use crate::webhooks::auth::SIGNATURE_HEADER;

pub use list::{LastFailure, Listed, list, state_label, table};

/// The publisher of every event we subscribe to (Team Foundation Server, API_FACTS §6).
pub const PUBLISHER_ID: &str = "tfs";
/// ADO's "Web Hooks" consumer and its one action, "Post via HTTP" (API_FACTS §6 [CON]).
pub const CONSUMER_ID: &str = "webHooks";
pub const CONSUMER_ACTION_ID: &str = "httpRequest";

/// An event type with the payload version we pin: "You should always specify a resource
/// version; this ensures a consistent event payload over time" (API_FACTS §6 [CS]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub event_type: &'static str,
    pub resource_version: &'static str,
}

/// A connector's share of the events: what it subscribes to, and the PAT scope its tokens
/// need for the hooks API (API_FACTS §13).
#[derive(Debug)]
pub struct Area {
    pub connector: &'static str,
    pub scope: &'static str,
    pub events: &'static [Event],
    /// Event type prefixes of the area: which client lists and deletes a subscription.
    prefixes: &'static [&'static str],
}

impl Area {
    fn covers(&self, event_type: &str) -> bool {
        self.prefixes.iter().any(|p| event_type.starts_with(p))
    }
}

const fn event(event_type: &'static str, resource_version: &'static str) -> Event {
    Event {
        event_type,
        resource_version,
    }
}

/// Every event `run`'s receiver takes, by connector. Versions: "1.0" is what the documented
/// deliveries carry for pull request, work item and build events and what [CS] calls safest
/// (API_FACTS §6); the PR comment event exists only as "2.0". The recorded eventTypes listing
/// (a 2014 recording) offers only `1.0-preview.*` for work items and builds: previews are
/// retired once a version is released (API_FACTS §5, VER), so none is pinned.
pub const AREAS: &[Area] = &[
    Area {
        connector: "repos",
        scope: "vso.code",
        events: &[
            event("git.pullrequest.created", "1.0"),
            event("git.pullrequest.updated", "1.0"),
            event("git.pullrequest.merged", "1.0"),
            event("ms.vss-code.git-pullrequest-comment-event", "2.0"),
        ],
        prefixes: &["git.", "ms.vss-code."],
    },
    Area {
        connector: "boards",
        scope: "vso.work",
        events: &[
            event("workitem.created", "1.0"),
            event("workitem.updated", "1.0"),
            event("workitem.deleted", "1.0"),
            event("workitem.restored", "1.0"),
        ],
        prefixes: &["workitem."],
    },
    Area {
        connector: "pipelines",
        scope: "vso.build",
        events: &[event("build.complete", "1.0")],
        prefixes: &["build.", "ms.vss-pipelines."],
    },
];

/// A `webhooks` command failed.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `--url` is not a URL ADO can deliver the secret to.
    #[error("--url {url}: {reason}")]
    Url { url: String, reason: String },
    /// `webhooks subscribe` without `[server] webhook_secret`.
    #[error(
        "server.webhook_secret is not set: every subscription sends it in its {SIGNATURE_HEADER} \
         header and `run` accepts only deliveries that carry it; set it in [server] to a \
         secret reference such as \"env:ADO_WEBHOOK_SECRET\" or \"file:/run/secrets/webhook\""
    )]
    NoSecret,
    /// `[server] webhook_secret` names a secret that cannot be read.
    #[error("server.webhook_secret: {reason}")]
    Secret { reason: String },
    /// No connector that has webhook events is enabled (or selected with `--connector`).
    #[error(
        "no connector with webhook events is enabled{selected}: enable repos, boards or pipelines"
    )]
    NoConnector { selected: String },
    /// `--project` names no project the connector's tokens see.
    #[error("--project {name}: connector {connector}'s tokens see no such project (name or id)")]
    UnknownProject {
        connector: &'static str,
        name: String,
    },
    /// `--project` names a project outside `organization.projects`.
    #[error(
        "--project {name}: not in organization.projects, so this configuration does not ingest it"
    )]
    NotAllowed { name: String },
    /// 403 from the hooks API (or the project listing).
    #[error(
        "connector {connector}: {endpoint} answered 403 ({message}); service hook subscriptions \
         need a token (connectors.{connector}.tokens) with scope {scope} whose user has the \
         \"Edit subscriptions\" service hooks permission in the project (Project Collection \
         Administrators have it by default)"
    )]
    Permission {
        connector: &'static str,
        scope: &'static str,
        endpoint: &'static str,
        message: String,
    },
    /// Any other ADO failure (a 400 carries ADO's message).
    #[error("connector {connector}: {source}")]
    Ado {
        connector: &'static str,
        #[source]
        source: ado::Error,
    },
    /// A connector's client could not be built (an unresolvable token reference).
    #[error(transparent)]
    Setup(#[from] SetupError),
}

impl Error {
    /// Whether the command line or the configuration is at fault (exit code 2) rather than
    /// ADO's answer.
    pub fn is_usage(&self) -> bool {
        !matches!(self, Error::Permission { .. } | Error::Ado { .. })
    }
}

/// A checked `--url`: where ADO is to deliver.
#[derive(Debug, Clone)]
pub struct Receiver {
    text: String,
    normalized: String,
}

impl Receiver {
    /// Accepts `https` URLs, and `http` ones only on a loopback host (the simulator, a
    /// tunnel's local end): the secret travels in a header, in clear over `http`, and ADO
    /// requires https for basic auth and refuses localhost targets (API_FACTS §6 [WH]).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let text = text.trim();
        let bad = |reason: &str| Error::Url {
            url: crate::redact::redact_url(text),
            reason: reason.to_string(),
        };
        let url = Url::parse(text).map_err(|e| bad(&format!("not a URL ({e})")))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad(
                "credentials in the URL would be stored in every subscription; remove them (the \
                 secret travels in the X-ADO-Signature header)",
            ));
        }
        if url.fragment().is_some() {
            return Err(bad("a URL with a #fragment is not a delivery target"));
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            "http" => {
                return Err(bad(
                    "must be https: the secret header would cross the network in clear, and ADO \
                     requires https for authenticated web hooks (http is accepted only for a \
                     loopback host)",
                ));
            }
            other => return Err(bad(&format!("scheme {other} is not http(s)"))),
        }
        Ok(Self {
            text: text.to_string(),
            normalized: normalize(text),
        })
    }

    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `other` (a subscription's `consumerInputs.url`) is this URL: compared without
    /// a trailing slash, with scheme and host case-insensitive.
    pub fn is(&self, other: &str) -> bool {
        normalize(other) == self.normalized
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Scheme and host lower-cased (the parser does it), the default port dropped, the path's
/// trailing slash trimmed; text that does not parse is only trimmed.
fn normalize(text: &str) -> String {
    let text = text.trim();
    let Ok(url) = Url::parse(text) else {
        return text.trim_end_matches('/').to_string();
    };
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let query = url.query().map(|q| format!("?{q}")).unwrap_or_default();
    format!(
        "{}://{}{port}{}{query}",
        url.scheme(),
        url.host_str().unwrap_or_default(),
        url.path().trim_end_matches('/'),
    )
}

/// Whether `sub` is one of ours for `receiver`: a Web Hooks subscription posting to it.
pub fn is_ours(sub: &Subscription, receiver: &Receiver) -> bool {
    sub.consumer_id == CONSUMER_ID
        && sub.consumer_action_id.as_deref() == Some(CONSUMER_ACTION_ID)
        && sub
            .consumer_inputs
            .get("url")
            .is_some_and(|u| receiver.is(u))
}

/// Whether `sub` (one of ours) already is the subscription for `event` in `project_id`.
pub fn is_same(sub: &Subscription, event: &Event, project_id: &str) -> bool {
    sub.event_type == event.event_type
        && sub.resource_version.as_deref() == Some(event.resource_version)
        && sub
            .project_id()
            .is_some_and(|p| p.eq_ignore_ascii_case(project_id))
}

/// The create (and replace) body: ADO's defaults for everything else, so deliveries carry
/// all resource details and messages (API_FACTS §6 [WH]).
pub fn request_body(
    event: &Event,
    project_id: &str,
    receiver: &Receiver,
    secret: &SecretString,
) -> SubscriptionRequest {
    SubscriptionRequest {
        publisher_id: PUBLISHER_ID.into(),
        event_type: event.event_type.into(),
        resource_version: event.resource_version.into(),
        consumer_id: CONSUMER_ID.into(),
        consumer_action_id: CONSUMER_ACTION_ID.into(),
        publisher_inputs: BTreeMap::from([("projectId".into(), project_id.into())]),
        consumer_inputs: BTreeMap::from([
            ("url".into(), receiver.as_str().into()),
            // "Key:value", one pair per line (API_FACTS §6 [CON]).
            (
                "httpHeaders".into(),
                format!("{SIGNATURE_HEADER}:{}", secret.expose_secret()),
            ),
        ]),
    }
}

/// What an existing subscription's `httpHeaders` say about the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SecretCheck {
    Current,
    Differs,
    /// ADO reads it back masked (`********`, as it does `basicAuthPassword`): it cannot be
    /// compared.
    Masked,
}

fn check_secret(sub: &Subscription, secret: &SecretString) -> SecretCheck {
    let Some(headers) = sub.consumer_inputs.get("httpHeaders") else {
        return SecretCheck::Differs;
    };
    let masked = |v: &str| !v.is_empty() && v.chars().all(|c| c == '*');
    if masked(headers.trim()) {
        return SecretCheck::Masked;
    }
    let value = headers.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(SIGNATURE_HEADER)
            .then_some(value.trim())
    });
    match value {
        Some(v) if masked(v) => SecretCheck::Masked,
        Some(v) if v == secret.expose_secret() => SecretCheck::Current,
        _ => SecretCheck::Differs,
    }
}

/// What `subscribe` or `delete` did (or, with `--dry-run`, would do) to one subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Created,
    WouldCreate,
    /// Identical and carrying the current secret.
    Kept,
    /// Identical, but ADO masks its headers, so its secret could not be checked.
    KeptMasked,
    /// Identical but for the secret header, which was replaced.
    Updated,
    WouldUpdate,
    Deleted,
}

/// One line of `subscribe` / `delete` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub action: Action,
    pub event_type: String,
    pub resource_version: Option<String>,
    pub project: String,
    /// The subscription's id (none for one not created yet).
    pub id: Option<String>,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = match self.action {
            Action::Created => "created",
            Action::WouldCreate => "would create",
            Action::Kept | Action::KeptMasked => "kept",
            Action::Updated => "updated",
            Action::WouldUpdate => "would update",
            Action::Deleted => "deleted",
        };
        let version = self.resource_version.as_deref().unwrap_or("no version");
        write!(
            f,
            "{verb} {} ({version}) in project {}",
            self.event_type, self.project
        )?;
        if let Some(id) = &self.id {
            write!(f, ": {id}")?;
        }
        match self.action {
            Action::KeptMasked => f.write_str(
                " (ADO masks its headers, so its secret could not be checked; after changing \
                 server.webhook_secret, delete and subscribe again)",
            ),
            Action::Updated | Action::WouldUpdate => f.write_str(" (its secret header differed)"),
            _ => Ok(()),
        }
    }
}

/// One connector's view: its area and its client.
struct Connection {
    area: &'static Area,
    client: Client,
}

impl Connection {
    fn fail(&self, e: ado::Error) -> Error {
        match e {
            ado::Error::Permission { endpoint, message } => Error::Permission {
                connector: self.area.connector,
                scope: self.area.scope,
                endpoint,
                message,
            },
            source => Error::Ado {
                connector: self.area.connector,
                source,
            },
        }
    }

    /// Every project the connector's tokens see.
    async fn projects(&self) -> Result<Vec<TeamProject>, Error> {
        let (all, _) = self
            .client
            .list_all(Projects)
            .await
            .map_err(|e| self.fail(e))?;
        Ok(all.into_iter().map(|p| p.value).collect())
    }

    /// The organization's Web Hooks subscriptions of this connector's area. The query
    /// narrows by consumer on ADO's side (serviceHooks.json `Subscriptions_List`); the
    /// filter is applied here too.
    async fn subscriptions(&self) -> Result<Vec<Subscription>, Error> {
        let query = [
            ("publisherId", PUBLISHER_ID.to_string()),
            ("consumerId", CONSUMER_ID.to_string()),
            ("consumerActionId", CONSUMER_ACTION_ID.to_string()),
        ];
        let r = self
            .client
            .get::<ListEnvelope<Subscription>>(&Endpoint::HooksSubscriptions, &query)
            .await
            .map_err(|e| self.fail(e))?;
        Ok(r.body
            .value
            .into_iter()
            .filter(|s| s.consumer_id == CONSUMER_ID && self.area.covers(&s.event_type))
            .collect())
    }

    /// The newest failed delivery of a subscription (`maxResults=1&result=failed`).
    async fn last_failure(&self, id: &str) -> Result<Option<Notification>, Error> {
        let query = [
            ("maxResults", "1".to_string()),
            ("result", "failed".to_string()),
        ];
        let r = self
            .client
            .get::<ListEnvelope<Notification>>(
                &Endpoint::HooksNotifications { id: id.to_string() },
                &query,
            )
            .await
            .map_err(|e| self.fail(e))?;
        Ok(r.body
            .value
            .into_iter()
            .filter(|n| n.result.as_deref().is_none_or(|r| r == "failed"))
            .max_by_key(|n| n.created_date))
    }
}

/// A client per enabled connector that has events (or per one of `only`).
fn connect(
    settings: &Settings,
    only: &[String],
    cancel: &CancellationToken,
) -> Result<Vec<Connection>, Error> {
    let names = engine::select_connectors(settings, only)?;
    let metrics = Arc::new(Metrics::default());
    let connections: Vec<Connection> = AREAS
        .iter()
        .filter(|a| names.iter().any(|n| n == a.connector))
        .map(|area| {
            Ok(Connection {
                area,
                client: engine::build_client(settings, area.connector, &metrics, cancel)?,
            })
        })
        .collect::<Result<_, SetupError>>()?;
    if connections.is_empty() {
        return Err(Error::NoConnector {
            selected: if only.is_empty() {
                String::new()
            } else {
                format!(" among --connector {}", only.join(", "))
            },
        });
    }
    Ok(connections)
}

/// The projects to act on: `wanted` (names or ids, case-insensitive), each visible and
/// within `allowed` (`organization.projects`); or, with none wanted, every visible project
/// `allowed` lets in (all when it is empty).
fn select_projects(
    connector: &'static str,
    visible: Vec<TeamProject>,
    allowed: &[String],
    wanted: &[String],
) -> Result<Vec<TeamProject>, Error> {
    let matches = projects::is_named;
    let is_allowed = |p: &TeamProject| projects::in_allow_list(allowed, p);
    if wanted.is_empty() {
        return Ok(visible.into_iter().filter(|p| is_allowed(p)).collect());
    }
    let mut chosen: Vec<TeamProject> = Vec::new();
    for name in wanted {
        let Some(p) = visible.iter().find(|p| matches(p, name)) else {
            return Err(Error::UnknownProject {
                connector,
                name: name.clone(),
            });
        };
        if !is_allowed(p) {
            return Err(Error::NotAllowed { name: name.clone() });
        }
        if !chosen.iter().any(|c| c.id == p.id) {
            chosen.push(p.clone());
        }
    }
    Ok(chosen)
}

/// The shared secret from `[server] webhook_secret`.
fn secret(settings: &Settings) -> Result<SecretString, Error> {
    let reference = settings
        .server
        .webhook_secret
        .as_deref()
        .ok_or(Error::NoSecret)?;
    crate::config::resolve_secret(reference).map_err(|reason| Error::Secret { reason })
}

/// What `subscribe` is asked to do.
#[derive(Debug, Clone, Copy)]
pub struct SubscribeArgs<'a> {
    pub url: &'a str,
    /// `--project` (empty: every project `organization.projects` allows).
    pub projects: &'a [String],
    pub dry_run: bool,
}

/// Makes sure every enabled connector's events are subscribed in every selected project,
/// once: an identical subscription of ours is kept (its secret header replaced when it is
/// visible and differs), a missing one is created. Reports each through `on_change` as it
/// happens, so what was done before a failure is still shown.
pub async fn subscribe(
    settings: &Settings,
    only: &[String],
    args: SubscribeArgs<'_>,
    cancel: &CancellationToken,
    mut on_change: impl FnMut(&Change),
) -> Result<Vec<Change>, Error> {
    let receiver = Receiver::parse(args.url)?;
    let secret = secret(settings)?;
    let mut changes = Vec::new();
    for conn in connect(settings, only, cancel)? {
        let projects = select_projects(
            conn.area.connector,
            conn.projects().await?,
            &settings.organization.projects,
            args.projects,
        )?;
        let existing: Vec<Subscription> = conn
            .subscriptions()
            .await?
            .into_iter()
            .filter(|s| is_ours(s, &receiver))
            .collect();
        for project in &projects {
            for event in conn.area.events {
                let change =
                    ensure(&conn, &existing, event, project, &receiver, &secret, args).await?;
                on_change(&change);
                changes.push(change);
            }
        }
    }
    Ok(changes)
}

/// One event in one project: keep, update or create.
async fn ensure(
    conn: &Connection,
    existing: &[Subscription],
    event: &Event,
    project: &TeamProject,
    receiver: &Receiver,
    secret: &SecretString,
    args: SubscribeArgs<'_>,
) -> Result<Change, Error> {
    let body = request_body(event, &project.id, receiver, secret);
    let mut same = existing.iter().filter(|s| is_same(s, event, &project.id));
    let found = same.next();
    let extra = same.count();
    if extra > 0 {
        tracing::warn!(
            connector = conn.area.connector,
            event_type = event.event_type,
            project = %project.name,
            extra,
            "more than one identical subscription of ours; keeping them (webhooks delete removes all)"
        );
    }
    let (action, id) = match found {
        Some(s) => {
            let action = match (check_secret(s, secret), args.dry_run) {
                (SecretCheck::Current, _) => Action::Kept,
                (SecretCheck::Masked, _) => Action::KeptMasked,
                (SecretCheck::Differs, true) => Action::WouldUpdate,
                (SecretCheck::Differs, false) => {
                    let endpoint = Endpoint::HooksSubscription { id: s.id.clone() };
                    conn.client
                        .put::<_, Subscription>(&endpoint, &body)
                        .await
                        .map_err(|e| conn.fail(e))?;
                    Action::Updated
                }
            };
            (action, Some(s.id.clone()))
        }
        None if args.dry_run => (Action::WouldCreate, None),
        None => {
            let created: Subscription = conn
                .client
                .post(&Endpoint::HooksSubscriptions, &body)
                .await
                .map_err(|e| conn.fail(e))?;
            (Action::Created, Some(created.id))
        }
    };
    tracing::debug!(
        connector = conn.area.connector,
        event_type = event.event_type,
        project = %project.name,
        action = ?action,
        "webhook subscription"
    );
    Ok(Change {
        action,
        event_type: event.event_type.into(),
        resource_version: Some(event.resource_version.into()),
        project: project.name.clone(),
        id,
    })
}

/// Deletes our subscriptions for `url` (in `projects` only, when given), in every enabled
/// connector's event area. Foreign ones (another URL, another consumer) are never touched.
pub async fn delete(
    settings: &Settings,
    only: &[String],
    url: &str,
    projects: &[String],
    cancel: &CancellationToken,
    mut on_change: impl FnMut(&Change),
) -> Result<Vec<Change>, Error> {
    let receiver = Receiver::parse(url)?;
    let mut changes = Vec::new();
    for conn in connect(settings, only, cancel)? {
        let visible = conn.projects().await?;
        let names: HashMap<String, String> = visible
            .iter()
            .map(|p| (p.id.to_ascii_lowercase(), p.name.clone()))
            .collect();
        // Our subscriptions are removed wherever they are, even in projects the configuration
        // no longer ingests: the allow-list only narrows what `--project` may name.
        let chosen = if projects.is_empty() {
            None
        } else {
            Some(select_projects(
                conn.area.connector,
                visible,
                &[],
                projects,
            )?)
        };
        for s in conn.subscriptions().await? {
            let project_id = s.project_id().unwrap_or_default().to_ascii_lowercase();
            let in_scope = chosen
                .as_ref()
                .is_none_or(|c| c.iter().any(|p| p.id.eq_ignore_ascii_case(&project_id)));
            if !is_ours(&s, &receiver) || !in_scope {
                continue;
            }
            match conn
                .client
                .delete(&Endpoint::HooksSubscription { id: s.id.clone() })
                .await
            {
                // Already gone (deleted by someone else meanwhile): the goal is reached.
                Ok(()) | Err(ado::Error::NotFound { .. }) => {}
                Err(e) => return Err(conn.fail(e)),
            }
            tracing::debug!(connector = conn.area.connector, subscription = %s.id, event_type = %s.event_type, "webhook subscription deleted");
            let change = Change {
                action: Action::Deleted,
                project: names.get(&project_id).cloned().unwrap_or(project_id),
                event_type: s.event_type,
                resource_version: s.resource_version,
                id: Some(s.id),
            };
            on_change(&change);
            changes.push(change);
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod tests;
