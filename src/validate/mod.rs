//! `ado-ingest validate`: every pool entry of every selected connector, checked alone against
//! the endpoints the connector needs (its [`crate::connectors::Need`]s), with one answer per
//! connector and credential: `ok`, `invalid_credentials` (401/203, or the token service
//! refused), `invalid_permissions` (403, naming the endpoint and the scope it needs) or
//! `no_resources` (it sees no project) — and `error` when it could not tell (the service
//! unreachable). A stored credential expiring within 14 days is warned about, and its
//! status and validation time are recorded. Owns the judging; the requests are `probe`'s.

pub mod probe;

use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::ado::Error;
use crate::config::Settings;
use crate::connectors;
use crate::credentials::model::Status;
use crate::engine::{self, SetupError};
use crate::metrics::Metrics;
use crate::store::{AnyStore, CredentialStore};
use probe::{Found, ORDER, Probed};

/// Warn when a stored credential expires within this many days.
pub const EXPIRY_WARNING_DAYS: i64 = 14;

/// The answer for one connector and credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    InvalidCredentials,
    InvalidPermissions,
    NoResources,
    /// Could not tell: the service failed in another way (unreachable, 5xx after retries).
    Error,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::InvalidCredentials => "invalid_credentials",
            Outcome::InvalidPermissions => "invalid_permissions",
            Outcome::NoResources => "no_resources",
            Outcome::Error => "error",
        }
    }
}

/// One endpoint's check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub endpoint: &'static str,
    /// `ok`, `denied`, `refused`, `skipped`, `not_found` or `error`.
    pub result: &'static str,
    /// The scopes that grant it (any one).
    pub scopes: Vec<&'static str>,
    pub optional: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The result for one connector and credential.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub connector: String,
    /// The pool entry's name (`cred:NAME`, `env:VAR`, a configured name).
    pub credential: String,
    pub outcome: Outcome,
    /// What is wrong, in a sentence (the endpoint and the missing scope for a 403).
    pub message: String,
    pub warnings: Vec<String>,
    pub checks: Vec<Check>,
}

/// Validates every pool entry of `connectors`; `store` records stored credentials' status.
pub async fn run(
    settings: &Settings,
    store: Option<&AnyStore>,
    connectors: &[String],
    cancel: &CancellationToken,
) -> Result<Vec<Report>, SetupError> {
    let metrics = Arc::new(Metrics::default());
    let mut reports = Vec::new();
    for name in connectors {
        let connector = connectors::find(name).map_err(|_| SetupError::UnknownConnector {
            name: name.clone(),
            why: "a known connector",
            enabled: String::new(),
        })?;
        for (entry, client) in engine::entry_clients(settings, name, &metrics, cancel)? {
            let mut report = check(name, &entry, &client, connector.needs()).await;
            if let Some(stored) = entry.strip_prefix("cred:") {
                note_stored(store, stored, &mut report).await;
            }
            tracing::info!(connector = %name, credential = %entry, outcome = report.outcome.as_str(), "validated");
            reports.push(report);
        }
    }
    Ok(reports)
}

/// Validates the stored credential `name` for each connector it serves, whether or not the
/// configuration refers to it yet (a credential is checked when it is created or rotated,
/// before a pool uses it). A connector missing from the configuration borrows another's
/// request settings. `settings.stored` must hold the credential.
pub async fn stored(
    settings: &Settings,
    store: &AnyStore,
    name: &str,
    connectors: &[String],
    cancel: &CancellationToken,
) -> Result<Vec<Report>, SetupError> {
    let template = settings.connectors.iter().next().map(|(_, c)| c.clone());
    let mut reports = Vec::new();
    for connector in connectors {
        let mut s = settings.clone();
        let slot = match connector.as_str() {
            "repos" => &mut s.connectors.repos,
            "boards" => &mut s.connectors.boards,
            "pull_commits" => &mut s.connectors.pull_commits,
            "commits" => &mut s.connectors.commits,
            "pipelines" => &mut s.connectors.pipelines,
            _ => continue,
        };
        let Some(mut c) = slot.clone().or_else(|| template.clone()) else {
            return Err(SetupError::Credentials(
                "no connector is configured to borrow request settings from".into(),
            ));
        };
        c.enabled = true;
        c.tokens = vec![crate::config::TokenRef::Plain(format!("cred:{name}"))];
        *slot = Some(c);
        reports.extend(run(&s, Some(store), std::slice::from_ref(connector), cancel).await?);
    }
    Ok(reports)
}

/// Probes `needs` with a client holding only this entry.
async fn check(
    connector: &str,
    entry: &str,
    client: &crate::ado::Client,
    needs: &[connectors::Need],
) -> Report {
    let mut found = Found::default();
    let mut ordered: Vec<&connectors::Need> = needs.iter().collect();
    ordered.sort_by_key(|n| {
        ORDER
            .iter()
            .position(|o| *o == n.endpoint)
            .unwrap_or(ORDER.len())
    });
    let mut checks = Vec::new();
    let mut refused = None;
    let mut denied = Vec::new();
    let mut failed = None;
    let mut warnings = Vec::new();
    for need in ordered {
        let mut c = Check {
            endpoint: need.endpoint,
            result: "ok",
            scopes: need.scopes.to_vec(),
            optional: need.optional,
            detail: None,
        };
        if refused.is_some() {
            c.result = "skipped";
            c.detail = Some("the credential was refused".into());
            checks.push(c);
            continue;
        }
        match probe::probe_needed(client, need.endpoint, &mut found).await {
            Probed::Answered => {}
            Probed::Skipped(why) => {
                c.result = "skipped";
                c.detail = Some(why.to_string());
            }
            Probed::Failed(e) => match &e {
                Error::InvalidCredentials { .. } | Error::Auth { .. } => {
                    c.result = "refused";
                    refused = Some(format!("{}: {e}", need.endpoint));
                }
                Error::Permission { message, .. } => {
                    c.result = "denied";
                    c.detail = Some(message.clone());
                    let scope = need.scopes.join(" or ");
                    if need.optional {
                        warnings.push(format!(
                            "{}: 403 (needs {scope}); the connector runs without it",
                            need.endpoint
                        ));
                    } else {
                        denied.push(format!("{} needs {scope}", need.endpoint));
                    }
                }
                Error::NotFound { message, .. } => {
                    c.result = "not_found";
                    c.detail = Some(message.clone());
                    // Azure DevOps Server has no Graph API (API_FACTS §5); Boards runs
                    // without it, so say what it means rather than only the 404.
                    warnings.push(if need.endpoint == "graph_users" {
                        "graph_users: 404: no Graph API here (Azure DevOps Server?); users \
                         come from team members and work item identities"
                            .to_string()
                    } else {
                        format!("{}: 404: {message}", need.endpoint)
                    });
                }
                _ => {
                    c.result = "error";
                    c.detail = Some(e.to_string());
                    if !need.optional && failed.is_none() {
                        failed = Some(format!("{}: {e}", need.endpoint));
                    }
                }
            },
        }
        checks.push(c);
        // Nothing visible: the other probes have nothing to look at.
        if need.endpoint == "projects"
            && refused.is_none()
            && c_ok(&checks)
            && !probe::visible(&found)
        {
            break;
        }
    }
    let (outcome, message) = if let Some(r) = refused {
        (
            Outcome::InvalidCredentials,
            format!("refused by Azure DevOps or its token service ({r})"),
        )
    } else if !denied.is_empty() {
        (
            Outcome::InvalidPermissions,
            format!("403: {}", denied.join("; ")),
        )
    } else if let Some(f) = failed {
        (Outcome::Error, format!("could not check: {f}"))
    } else if !probe::visible(&found) {
        (
            Outcome::NoResources,
            "authenticated, but it sees no project: add its user to the projects to sync"
                .to_string(),
        )
    } else {
        (Outcome::Ok, "every endpoint it needs answered".to_string())
    };
    Report {
        connector: connector.to_string(),
        credential: entry.to_string(),
        outcome,
        message,
        warnings,
        checks,
    }
}

fn c_ok(checks: &[Check]) -> bool {
    checks.last().is_some_and(|c| c.result == "ok")
}

/// Adds the expiry warning of a stored credential and records what validation found.
async fn note_stored(store: Option<&AnyStore>, name: &str, report: &mut Report) {
    let Some(store) = store else { return };
    let Ok(Some(record)) = store.credential(name).await else {
        return;
    };
    if let Some(w) = expiry_warning(record.expires_on, Utc::now().date_naive()) {
        report.warnings.push(w);
    }
    let (status, detail) = match report.outcome {
        Outcome::Ok | Outcome::NoResources => (Status::Active, None),
        Outcome::InvalidCredentials | Outcome::InvalidPermissions => {
            (Status::Invalid, Some(report.message.as_str()))
        }
        // Could not tell: the status stays.
        Outcome::Error => return,
    };
    if let Err(e) = store
        .set_credential_status(name, status, detail, Utc::now())
        .await
    {
        tracing::warn!(credential = %name, error = %e, "cannot record the validation");
    }
}

/// The warning for a credential expiring on `expires` as of `today`, if due.
pub fn expiry_warning(expires: Option<NaiveDate>, today: NaiveDate) -> Option<String> {
    let d = expires?;
    let days = (d - today).num_days();
    if days < 0 {
        Some(format!("expired on {d}"))
    } else if days <= EXPIRY_WARNING_DAYS {
        Some(format!("expires on {d}, in {days} day(s)"))
    } else {
        None
    }
}

/// The reports as a table.
pub fn table(reports: &[Report]) -> String {
    let mut out = String::new();
    for r in reports {
        out.push_str(&format!(
            "{:<14} {:<28} {:<20} {}\n",
            r.connector,
            r.credential,
            r.outcome.as_str(),
            r.message
        ));
        for w in &r.warnings {
            out.push_str(&format!("{:<14} {:<28} {:<20} warning: {w}\n", "", "", ""));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_warnings() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        let d = |s: &str| Some(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap());
        assert_eq!(expiry_warning(None, today), None);
        assert_eq!(expiry_warning(d("2026-12-21"), today), None);
        assert!(
            expiry_warning(d("2026-12-20"), today)
                .unwrap()
                .contains("14 day")
        );
        assert!(
            expiry_warning(d("2026-12-06"), today)
                .unwrap()
                .contains("0 day")
        );
        assert!(
            expiry_warning(d("2026-12-05"), today)
                .unwrap()
                .starts_with("expired")
        );
    }
}
