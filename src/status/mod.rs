//! `status`: what the database says about each connector — its last pass, its last success
//! and how fresh that is, how long ago its cursors moved, its recent failures — and how many
//! rows each table holds, and what the webhook receiver recorded. [`collect`] reads all of it through the [`Store`] at one instant;
//! [`table`] renders it as aligned plain text for a terminal and [`html`] as the service's
//! page `/`. The JSON form (`status --format json`) is [`Status`] serialized: its field names
//! are part of the interface (README.md, "Status").
//!
//! This module only reads: it never writes to the database and never talks to ADO, so it
//! works without tokens, beside a running service or on a copy of its database.

pub mod html;
pub mod table;

use crate::store::{self, RunRecord, Store, WebhookLog};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// How many failed runs `recent_errors` lists per connector.
pub const RECENT_ERRORS: u32 = 5;

/// Everything `status` shows, as of `generated_at`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    /// The `org` key of every row (`organization.name` or the URL's last segment).
    pub org: String,
    pub generated_at: DateTime<Utc>,
    /// The enabled connectors in configuration order, then any others that have runs.
    pub connectors: Vec<ConnectorStatus>,
    /// Rows per table, in the store's fixed table order (every org of the database).
    pub tables: Vec<TableRows>,
    /// Webhook deliveries (`webhook_events`); `null` when none was ever received.
    pub webhooks: Option<WebhookStatus>,
}

/// What `run`'s webhook receiver recorded (issue 13).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookStatus {
    /// Deliveries received in the last 24 hours (a redelivery of one event counts once).
    pub received_24h: i64,
    /// Deliveries recorded and not re-fetched yet (a stopped service finishes them at its
    /// next start).
    pub pending: i64,
    /// Deliveries of the last 24 hours whose re-fetch failed (the next poll catches up).
    pub failed_24h: i64,
    pub last_received_at: DateTime<Utc>,
    /// The newest failed re-fetch.
    pub last_failure: Option<WebhookFailure>,
}

/// A failed webhook re-fetch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookFailure {
    pub at: DateTime<Utc>,
    /// What it re-fetched (`pull_request:{project}:{repository}:{id}`, …).
    pub target: String,
    pub error: String,
}

/// One connector.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnectorStatus {
    pub name: String,
    /// Enabled in the configuration; `false` for a connector known only from its runs.
    pub enabled: bool,
    /// Its newest run in any mode (possibly still `running`); `None`: it never ran.
    pub last_pass: Option<Pass>,
    /// Its newest succeeded run.
    pub last_success: Option<Success>,
    /// When its cursors were written; `None`: it has none yet.
    pub cursors: Option<CursorAge>,
    /// Its newest failed runs, newest first, at most [`RECENT_ERRORS`].
    pub recent_errors: Vec<RunError>,
}

/// One run (`sync_runs` row).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pass {
    pub run_id: i64,
    /// `backfill` or `sync`.
    pub mode: String,
    /// `running`, `succeeded`, `failed`, `cancelled` or `abandoned`.
    pub outcome: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// `finished_at - started_at`; `None` while it runs.
    pub duration_seconds: Option<f64>,
    pub requests: i64,
    pub rows: i64,
    /// The stable error kind (`invalid_credentials`, `throttled`, …) when it recorded an error.
    pub error_kind: Option<String>,
    /// The error's message, without its kind.
    pub error_message: Option<String>,
    /// What the pass skipped and went on (a 204/404 timeline, a 403 on an optional endpoint
    /// naming its scope), one line each.
    pub warnings: Vec<String>,
}

/// The newest succeeded run and how long ago it finished.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Success {
    pub run_id: i64,
    pub mode: String,
    pub finished_at: DateTime<Utc>,
    /// Seconds from `finished_at` to `generated_at`.
    pub freshness_seconds: i64,
}

/// How long ago a connector's cursors (one per scope) were written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CursorAge {
    pub scopes: i64,
    pub oldest_update_at: DateTime<Utc>,
    pub newest_update_at: DateTime<Utc>,
    /// Seconds since the cursor written longest ago: how far behind the laggard scope is.
    pub oldest_age_seconds: i64,
    /// Seconds since the most recent cursor update.
    pub newest_age_seconds: i64,
}

/// A failed run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunError {
    pub run_id: i64,
    pub mode: String,
    /// When it ended (when it started, if it has no end).
    pub at: DateTime<Utc>,
    pub kind: String,
    pub message: String,
}

/// Rows of one table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableRows {
    pub table: String,
    pub rows: i64,
}

/// Reads the status of `org` at `now`: the connectors named in `enabled` (the configuration's
/// enabled ones, in order) and every other connector with runs in the database.
pub async fn collect<S: Store + WebhookLog>(
    store: &S,
    org: &str,
    enabled: &[String],
    now: DateTime<Utc>,
) -> store::Result<Status> {
    let mut names: Vec<(String, bool)> = enabled.iter().map(|n| (n.clone(), true)).collect();
    for name in store.run_connectors(org).await? {
        if !enabled.contains(&name) {
            names.push((name, false));
        }
    }
    let mut connectors = Vec::with_capacity(names.len());
    for (name, enabled) in names {
        connectors.push(connector(store, org, name, enabled, now).await?);
    }
    let tables = store
        .table_counts()
        .await?
        .into_iter()
        .map(|(table, rows)| TableRows { table, rows })
        .collect();
    let webhooks = store
        .webhook_summary(org, now - chrono::Duration::hours(24))
        .await?
        .map(|w| WebhookStatus {
            received_24h: w.received_since,
            pending: w.pending,
            failed_24h: w.failed_since,
            last_received_at: w.last_received_at,
            last_failure: w.last_failure.map(|(at, target, error)| WebhookFailure {
                at,
                target,
                error,
            }),
        });
    Ok(Status {
        org: org.to_string(),
        generated_at: now,
        connectors,
        tables,
        webhooks,
    })
}

async fn connector<S: Store>(
    store: &S,
    org: &str,
    name: String,
    enabled: bool,
    now: DateTime<Utc>,
) -> store::Result<ConnectorStatus> {
    let last_pass = store
        .recent_runs(org, &name, None, 1)
        .await?
        .into_iter()
        .next()
        .map(pass);
    let last_success = store
        .recent_runs(org, &name, Some("succeeded"), 1)
        .await?
        .into_iter()
        .next()
        .map(|r| {
            let finished_at = r.finished_at.unwrap_or(r.started_at);
            Success {
                run_id: r.id,
                mode: r.mode,
                finished_at,
                freshness_seconds: seconds_since(finished_at, now),
            }
        });
    let cursors = store.cursor_updates(org, &name).await?.map(|c| CursorAge {
        scopes: c.scopes,
        oldest_update_at: c.oldest,
        newest_update_at: c.newest,
        oldest_age_seconds: seconds_since(c.oldest, now),
        newest_age_seconds: seconds_since(c.newest, now),
    });
    let recent_errors = store
        .recent_runs(org, &name, Some("failed"), RECENT_ERRORS)
        .await?
        .into_iter()
        .map(|r| {
            let (kind, message) = split_error(r.error.as_deref().unwrap_or_default());
            RunError {
                run_id: r.id,
                mode: r.mode,
                at: r.finished_at.unwrap_or(r.started_at),
                kind,
                message,
            }
        })
        .collect();
    Ok(ConnectorStatus {
        name,
        enabled,
        last_pass,
        last_success,
        cursors,
        recent_errors,
    })
}

fn pass(r: RunRecord) -> Pass {
    let (error_kind, error_message) = match r.error.as_deref() {
        Some(e) => {
            let (kind, message) = split_error(e);
            (Some(kind), Some(message))
        }
        None => (None, None),
    };
    Pass {
        run_id: r.id,
        duration_seconds: r
            .finished_at
            .map(|f| (f - r.started_at).num_milliseconds().max(0) as f64 / 1000.0),
        mode: r.mode,
        outcome: r.outcome,
        started_at: r.started_at,
        finished_at: r.finished_at,
        requests: r.requests,
        rows: r.rows,
        error_kind,
        error_message,
        warnings: r
            .warnings
            .as_deref()
            .map(|w| w.lines().map(str::to_string).collect())
            .unwrap_or_default(),
    }
}

/// Whole seconds from `at` to `now`; 0 for a time ahead of `now` (another host's clock).
fn seconds_since(at: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (now - at).num_seconds().max(0)
}

/// `sync_runs.error` is `KIND: message` (`engine`), KIND a stable snake_case word; anything
/// else (a row written by hand or an older version) is kind `unknown` with the whole text.
/// Some errors name their kind in their own message too (`ado::Error::Auth` says
/// `invalid_credentials: every token…`), so a message that repeats the kind loses the repeat.
pub fn split_error(error: &str) -> (String, String) {
    match error.split_once(": ") {
        Some((kind, message))
            if !kind.is_empty()
                && kind
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') =>
        {
            let message = message
                .strip_prefix(kind)
                .and_then(|m| m.strip_prefix(": "))
                .unwrap_or(message);
            (kind.to_string(), message.to_string())
        }
        _ => ("unknown".to_string(), error.to_string()),
    }
}

/// A duration in seconds for people: `42s`, `3m 05s`, `2h 04m`, `3d 07h`.
pub fn human_seconds(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m {:02}s", s / 60, s % 60),
        3_600..86_400 => format!("{}h {:02}m", s / 3_600, s % 3_600 / 60),
        _ => format!("{}d {:02}h", s / 86_400, s % 86_400 / 3_600),
    }
}

/// A run's duration for people: `0.4s` under a minute, else as [`human_seconds`].
pub fn human_duration(secs: f64) -> String {
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        human_seconds(secs as i64)
    }
}

/// A timestamp to the second, `2024-06-01 10:00:00Z`.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_split_into_kind_and_message() {
        assert_eq!(
            split_error("invalid_credentials: every token was refused: HTTP 401"),
            (
                "invalid_credentials".to_string(),
                "every token was refused: HTTP 401".to_string()
            )
        );
        assert_eq!(
            split_error("invalid_credentials: invalid_credentials: every token was refused"),
            (
                "invalid_credentials".to_string(),
                "every token was refused".to_string()
            ),
            "the kind is said once"
        );
        assert_eq!(
            split_error("HTTP 503 from ado"),
            ("unknown".to_string(), "HTTP 503 from ado".to_string())
        );
        assert_eq!(
            split_error("Some Thing: went wrong"),
            ("unknown".to_string(), "Some Thing: went wrong".to_string())
        );
    }

    #[test]
    fn durations_read_like_people_say_them() {
        assert_eq!(human_seconds(-3), "0s");
        assert_eq!(human_seconds(42), "42s");
        assert_eq!(human_seconds(185), "3m 05s");
        assert_eq!(human_seconds(7_440), "2h 04m");
        assert_eq!(human_seconds(3 * 86_400 + 7 * 3_600 + 5), "3d 07h");
        assert_eq!(human_duration(0.44), "0.4s");
        assert_eq!(human_duration(125.0), "2m 05s");
    }
}
