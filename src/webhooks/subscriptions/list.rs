//! `webhooks list`: the subscriptions with their state, the last failed delivery of those ADO
//! restricted or disabled, and the table people read them in.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::{Error, Receiver, connect, is_ours};
use crate::ado::models::hooks::SubscriptionStatus;
use crate::config::Settings;

/// One subscription as `webhooks list` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Listed {
    pub id: String,
    /// The connector whose events (and tokens) it belongs to.
    pub connector: &'static str,
    pub event_type: String,
    pub resource_version: Option<String>,
    pub project_id: Option<String>,
    /// The project's name, when the connector's tokens see it.
    pub project: Option<String>,
    /// Where it delivers (user name, password and query left out).
    pub url: Option<String>,
    /// ADO's status: `enabled`, `onProbation`, `disabledBySystem`, `disabledByUser`, …
    pub status: String,
    /// As ADO's UI says it: `enabled`, `Enabled (restricted)`, `disabled by system`, …
    pub state: String,
    /// The newest failed delivery, for a subscription on probation or disabled by the system.
    pub last_failure: Option<LastFailure>,
}

/// A failed delivery: when, and ADO's error message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LastFailure {
    pub at: Option<DateTime<Utc>>,
    pub message: Option<String>,
}

/// How ADO's UI names a status ("Enabled (restricted)" is probation, API_FACTS §6 [TS]).
pub fn state_label(status: &SubscriptionStatus) -> String {
    match status {
        SubscriptionStatus::Enabled => "enabled".into(),
        SubscriptionStatus::OnProbation => "Enabled (restricted)".into(),
        SubscriptionStatus::DisabledBySystem => "disabled by system".into(),
        SubscriptionStatus::DisabledByUser => "disabled by user".into(),
        SubscriptionStatus::DisabledByInactiveIdentity => "disabled (inactive identity)".into(),
        SubscriptionStatus::Other(s) => s.clone(),
    }
}

/// With `url`, our subscriptions for it; without, every Web Hooks subscription of the
/// enabled connectors' event areas, whoever made it (to find an old receiver URL). Each with
/// its state, and the last failure of those ADO restricted or disabled.
pub async fn list(
    settings: &Settings,
    only: &[String],
    url: Option<&str>,
    cancel: &CancellationToken,
) -> Result<Vec<Listed>, Error> {
    let receiver = url.map(Receiver::parse).transpose()?;
    let mut rows = Vec::new();
    for conn in connect(settings, only, cancel)? {
        let names: HashMap<String, String> = conn
            .projects()
            .await?
            .into_iter()
            .map(|p| (p.id.to_ascii_lowercase(), p.name))
            .collect();
        for s in conn.subscriptions().await? {
            if receiver.as_ref().is_some_and(|r| !is_ours(&s, r)) {
                continue;
            }
            let last_failure = match s.status {
                SubscriptionStatus::OnProbation | SubscriptionStatus::DisabledBySystem => {
                    match conn.last_failure(&s.id).await {
                        Ok(n) => n.map(|n| {
                            let details = n.details.unwrap_or_default();
                            LastFailure {
                                at: details.completed_date.or(n.created_date),
                                message: details.error_message,
                            }
                        }),
                        // The state is shown anyway; the reason is a bonus.
                        Err(e) => {
                            tracing::warn!(connector = conn.area.connector, subscription = %s.id, error = %e, "cannot read the subscription's failed deliveries");
                            None
                        }
                    }
                }
                _ => None,
            };
            let project_id = s.project_id().map(str::to_string);
            rows.push(Listed {
                project: project_id
                    .as_ref()
                    .and_then(|id| names.get(&id.to_ascii_lowercase()).cloned()),
                project_id,
                url: s
                    .consumer_inputs
                    .get("url")
                    .map(|u| crate::redact::redact_url(u)),
                status: s.status.as_str().to_string(),
                state: state_label(&s.status),
                connector: conn.area.connector,
                event_type: s.event_type,
                resource_version: s.resource_version,
                id: s.id,
                last_failure,
            });
        }
    }
    Ok(rows)
}

/// The rows as an aligned table; the URL column only when the listing was not for one URL.
pub fn table(rows: &[Listed], with_url: bool) -> String {
    if rows.is_empty() {
        return "no web hook subscriptions found\n".into();
    }
    let mut header = vec!["STATE", "EVENT", "VERSION", "PROJECT", "ID"];
    if with_url {
        header.push("URL");
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut c = vec![
                r.state.clone(),
                r.event_type.clone(),
                r.resource_version.clone().unwrap_or_else(|| "-".into()),
                r.project
                    .clone()
                    .or_else(|| r.project_id.clone())
                    .unwrap_or_else(|| "-".into()),
                r.id.clone(),
            ];
            if with_url {
                c.push(r.url.clone().unwrap_or_else(|| "-".into()));
            }
            c
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            cells
                .iter()
                .map(|c| c[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |c: &[String]| {
        let mut s = c
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:<w$}"))
            .collect::<Vec<_>>()
            .join("  ");
        s.truncate(s.trim_end().len());
        s.push('\n');
        s
    };
    let mut out = line(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    for (row, c) in rows.iter().zip(&cells) {
        out.push_str(&line(c));
        if let Some(f) = &row.last_failure {
            let at =
                f.at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                    .unwrap_or_else(|| "(time unknown)".into());
            let message = f.message.as_deref().unwrap_or("(no message)");
            out.push_str(&format!("  last failure {at}: {}\n", one_line(message)));
        }
    }
    out
}

/// A message on one line (ADO's error details can span several).
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
