//! The service's status page `/` as one server-rendered HTML document: a card per connector
//! (what the database says, from [`Status`], beside what the running loop says, from
//! [`Live`]) and a card of rows per table. No JavaScript and no external resources: inline
//! CSS, a `refresh` meta tag every 15 s, a layout that stacks to one column on a phone
//! without horizontal scrolling. Every piece of text goes through [`escape`].
//! Owns only markup; what the page holds is decided by `server::page`.

use super::{ConnectorStatus, Status, human_duration, human_seconds, timestamp};
use chrono::{DateTime, Utc};
use std::fmt::Write as _;

/// How often the page reloads itself, in seconds.
pub const REFRESH_SECONDS: u32 = 15;

/// A connector loop of the running service, as the page shows it.
#[derive(Debug, Clone, Default)]
pub struct Live {
    pub name: String,
    /// `starting`, `syncing`, `idle`, `backing_off` or `stopped`.
    pub phase: String,
    pub next_pass_at: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    pub tokens_alive: usize,
    pub tokens_total: usize,
    /// Why the connector is not ready; `None`: ready.
    pub not_ready: Option<String>,
    /// The outcome and error kind of the last pass this process finished.
    pub last_outcome: Option<String>,
    pub last_error_kind: Option<String>,
}

/// What the page shows.
#[derive(Debug)]
pub struct Page<'a> {
    pub org: &'a str,
    pub now: DateTime<Utc>,
    pub service_started_at: DateTime<Utc>,
    pub shutting_down: bool,
    /// The database's status, or why it could not be read.
    pub status: Result<&'a Status, String>,
    pub live: &'a [Live],
}

/// `s` safe in HTML text and in quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
*{box-sizing:border-box}\
html{-webkit-text-size-adjust:100%}\
body{margin:0;padding:16px 12px 32px;background:#f3f4f7;color:#1c2230;\
font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}\
.wrap{max-width:1200px;margin:0 auto}\
h1{font-size:1.3rem;margin:0}\
h1 .org{font-weight:400;color:#4a5468}\
h2{font-size:1.1rem;margin:0;display:flex;flex-wrap:wrap;align-items:center;gap:6px 10px}\
.muted{color:#5a6376;font-size:.85rem;margin:4px 0 0}\
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,350px),1fr));\
gap:12px;margin-top:14px;align-items:start}\
.card{background:#fff;border:1px solid #dce0e8;border-left:6px solid #8a94a6;\
border-radius:8px;padding:12px 14px;min-width:0}\
.card.ok{border-left-color:#2e7d32}.card.failed{border-left-color:#c62828}\
.card.running{border-left-color:#1565c0}.card.warn{border-left-color:#ef8f00}\
.badge{display:inline-block;border-radius:999px;padding:1px 9px;font-size:.8rem;\
font-weight:600;background:#e8eaef;color:#3b4456;overflow-wrap:break-word}\
.badge.ok{background:#e2f2e3;color:#1b5e20}.badge.failed{background:#fde4e4;color:#a31212}\
.badge.running{background:#e1ecfa;color:#0d47a1}.badge.warn{background:#fff0d6;color:#8a4b00}\
.error{margin:10px 0 0;padding:8px 10px;border-radius:6px;background:#fdf0f0;\
color:#7d1010;overflow-wrap:break-word}\
ul.warnings{margin:10px 0 0;padding:6px 10px 6px 26px;border-radius:6px;\
background:#fff7e8;color:#6b3b00;font-size:.85rem;overflow-wrap:break-word}\
dl{display:grid;grid-template-columns:minmax(7.5em,max-content) minmax(0,1fr);\
gap:4px 12px;margin:10px 0 0}\
time{white-space:nowrap}\
dt{color:#5a6376}dd{margin:0;min-width:0;overflow-wrap:break-word}\
.no{color:#a31212;font-weight:600}.yes{color:#1b5e20;font-weight:600}\
h3{font-size:.9rem;margin:12px 0 4px;color:#3b4456}\
ul.errors{list-style:none;margin:0;padding:0;font-size:.85rem}\
ul.errors li{padding:5px 0;border-top:1px solid #eceef2;overflow-wrap:break-word}\
code{font:.85em ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;\
background:#f0f1f4;border-radius:4px;padding:0 4px}\
table{width:100%;border-collapse:collapse;margin-top:8px;font-size:.9rem}\
th,td{text-align:left;padding:3px 0;border-bottom:1px solid #eceef2}\
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\
td:first-child{overflow-wrap:break-word;padding-right:10px}\
.banner{margin-top:14px;padding:10px 12px;border-radius:8px;background:#fde4e4;\
color:#7d1010;overflow-wrap:break-word}\
";

/// Renders the whole document.
pub fn render(page: &Page<'_>) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"refresh\" content=\"{REFRESH_SECONDS}\">\n\
         <title>ado-ingest · {org}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <div class=\"wrap\">\n<header>\n<h1>ado-ingest <span class=\"org\">{org}</span></h1>\n\
         <p class=\"muted\">As of {now} · service up {up} · reloads every {REFRESH_SECONDS} s</p>\n\
         </header>\n",
        org = escape(page.org),
        now = time_html(page.now),
        up = escape(&human_seconds(
            (page.now - page.service_started_at).num_seconds()
        )),
    );
    if page.shutting_down {
        out.push_str("<p class=\"banner\">Shutting down: no new passes start.</p>\n");
    }
    if let Err(why) = &page.status {
        let _ = writeln!(
            out,
            "<p class=\"banner\">The database could not be read: {}</p>",
            escape(why)
        );
    }
    out.push_str("<main class=\"grid\">\n");
    let stored: &[ConnectorStatus] = match &page.status {
        Ok(s) => &s.connectors,
        Err(_) => &[],
    };
    let mut names: Vec<&str> = stored.iter().map(|c| c.name.as_str()).collect();
    for l in page.live {
        if !names.contains(&l.name.as_str()) {
            names.push(&l.name);
        }
    }
    for name in names {
        connector_card(
            &mut out,
            name,
            stored.iter().find(|c| c.name == name),
            page.live.iter().find(|l| l.name == name),
            page.now,
        );
    }
    if let Ok(Some(w)) = page.status.as_ref().map(|s| &s.webhooks) {
        let _ = writeln!(
            out,
            "<section class=\"card webhooks\">\n<h2>Webhooks</h2>\n<p>{} received in 24 h, \
             {} pending, {} failed in 24 h; last received {}</p>",
            w.received_24h,
            w.pending,
            w.failed_24h,
            escape(
                &w.last_received_at
                    .format("%Y-%m-%d %H:%M:%S UTC")
                    .to_string()
            ),
        );
        if let Some(f) = &w.last_failure {
            let _ = writeln!(
                out,
                "<p>Last failure {} ({}): {}</p>",
                escape(&f.at.format("%Y-%m-%d %H:%M:%S UTC").to_string()),
                escape(&f.target),
                escape(&f.error)
            );
        }
        out.push_str("</section>\n");
    }
    if let Ok(status) = &page.status {
        out.push_str(
            "<section class=\"card tables\">\n<h2>Rows per table</h2>\n<table>\n\
             <thead><tr><th>Table</th><th class=\"n\">Rows</th></tr></thead>\n<tbody>\n",
        );
        for t in &status.tables {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
                escape(&t.table),
                t.rows
            );
        }
        out.push_str("</tbody>\n</table>\n</section>\n");
    }
    out.push_str("</main>\n</div>\n</body>\n</html>\n");
    out
}

/// `1 row`, `2 rows`.
fn plural(n: i64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// A time as people read it, with the exact instant in `datetime`.
fn time_html(at: DateTime<Utc>) -> String {
    format!(
        "<time datetime=\"{}\">{}</time>",
        escape(&at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        escape(&timestamp(at))
    )
}

/// The card's look: `(class, badge text)`. A failed last pass — in the database, or the last
/// one this process finished while a new one runs — is marked with its error kind.
fn verdict(stored: Option<&ConnectorStatus>, live: Option<&Live>) -> (&'static str, String) {
    let pass = stored.and_then(|s| s.last_pass.as_ref());
    let failed_kind = match pass {
        Some(p) if p.outcome == "failed" => {
            Some(p.error_kind.clone().unwrap_or_else(|| "unknown".into()))
        }
        Some(p) if p.outcome == "running" => live
            .filter(|l| l.last_outcome.as_deref() == Some("failed"))
            .map(|l| {
                l.last_error_kind
                    .clone()
                    .unwrap_or_else(|| "unknown".into())
            }),
        _ => None,
    };
    if let Some(kind) = failed_kind {
        return ("failed", format!("failed: {kind}"));
    }
    match pass.map(|p| p.outcome.as_str()) {
        Some("succeeded") => ("ok", "succeeded".into()),
        Some("running") => ("running", "running".into()),
        Some(other) => ("warn", other.to_string()),
        None => ("", "no passes yet".into()),
    }
}

fn connector_card(
    out: &mut String,
    name: &str,
    stored: Option<&ConnectorStatus>,
    live: Option<&Live>,
    now: DateTime<Utc>,
) {
    let (class, badge) = verdict(stored, live);
    let _ = write!(
        out,
        "<section class=\"card connector {class}\" id=\"connector-{n}\" data-connector=\"{n}\">\n\
         <h2>{n} <span class=\"badge {class}\">{b}</span></h2>\n",
        n = escape(name),
        b = escape(&badge),
    );
    let pass = stored.and_then(|s| s.last_pass.as_ref());
    if let Some(p) = pass
        && p.outcome == "failed"
    {
        let _ = writeln!(
            out,
            "<p class=\"error\"><strong>{}</strong>: {}</p>",
            escape(p.error_kind.as_deref().unwrap_or("unknown")),
            escape(p.error_message.as_deref().unwrap_or_default())
        );
    }
    if let Some(p) = pass
        && !p.warnings.is_empty()
    {
        out.push_str("<ul class=\"warnings\">\n");
        for w in &p.warnings {
            let _ = writeln!(out, "<li>{}</li>", escape(w));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("<dl>\n");
    let mut row = |label: &str, html: String| {
        let _ = writeln!(out, "<dt>{}</dt><dd>{html}</dd>", escape(label));
    };
    match live {
        Some(l) => {
            row(
                "Ready",
                match &l.not_ready {
                    None => "<span class=\"yes\">yes</span>".into(),
                    Some(why) => format!("<span class=\"no\">no</span> — {}", escape(why)),
                },
            );
            let next = match l.next_pass_at.map(|at| (at - now).num_seconds()) {
                Some(secs) if secs >= 1 => format!(", next pass in {}", human_seconds(secs)),
                Some(_) => ", next pass due".into(),
                None => String::new(),
            };
            row(
                "Phase",
                format!("{}{}", escape(&l.phase.replace('_', " ")), escape(&next)),
            );
            row("Failures in a row", l.consecutive_failures.to_string());
            row(
                "Tokens alive",
                format!("{} of {}", l.tokens_alive, l.tokens_total),
            );
        }
        None => row(
            "Service",
            "not running this connector (known from its past runs)".into(),
        ),
    }
    match pass {
        Some(p) => {
            // Requests and rows are recorded when a pass ends.
            let running = p.outcome == "running";
            let took = match p.duration_seconds {
                Some(d) if !running => format!(", took {}", human_duration(d)),
                _ => String::new(),
            };
            row(
                "Last pass",
                escape(&format!(
                    "#{} {}{}",
                    p.run_id,
                    p.mode,
                    if running { ", running" } else { &took }
                )),
            );
            row("Started", time_html(p.started_at));
            if !running {
                row(
                    "Fetched",
                    escape(&format!(
                        "{}, {}",
                        plural(p.requests, "request"),
                        plural(p.rows, "row")
                    )),
                );
            }
        }
        None => row("Last pass", "none recorded".into()),
    }
    row(
        "Last success",
        match stored.and_then(|s| s.last_success.as_ref()) {
            Some(s) => format!(
                "{} ago, #{} {} ended {}",
                escape(&human_seconds(s.freshness_seconds)),
                s.run_id,
                escape(&s.mode),
                time_html(s.finished_at)
            ),
            None => "never".into(),
        },
    );
    row(
        "Cursors",
        match stored.and_then(|s| s.cursors.as_ref()) {
            Some(c) => escape(&format!(
                "{} scopes; oldest update {} ago, newest {} ago",
                c.scopes,
                human_seconds(c.oldest_age_seconds),
                human_seconds(c.newest_age_seconds)
            )),
            None => "none yet".into(),
        },
    );
    out.push_str("</dl>\n");
    let errors = stored.map_or(&[][..], |s| &s.recent_errors[..]);
    if !errors.is_empty() {
        out.push_str("<h3>Recent errors</h3>\n<ul class=\"errors\">\n");
        for e in errors {
            let _ = writeln!(
                out,
                "<li>{} · #{} {} · <code>{}</code> {}</li>",
                time_html(e.at),
                e.run_id,
                escape(&e.mode),
                escape(&e.kind),
                escape(&e.message)
            );
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::super::{Pass, RunError, TableRows};
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn escape_covers_text_and_attributes() {
        assert_eq!(
            escape(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(escape("plain text, ünïcode"), "plain text, ünïcode");
        assert_eq!(
            escape("&amp;"),
            "&amp;amp;",
            "stored text is text, even when it looks like an entity"
        );
    }

    /// Every text that comes from the database or the configuration — org, connector name,
    /// mode, error kind and message, table name, readiness reason — is escaped.
    #[test]
    fn no_stored_text_reaches_the_page_unescaped() {
        let evil = "<img src=x onerror=alert(1)>";
        let now = at("2024-06-01T10:00:00Z");
        let status = Status {
            org: evil.into(),
            generated_at: now,
            connectors: vec![ConnectorStatus {
                name: format!("repos{evil}"),
                enabled: true,
                last_pass: Some(Pass {
                    run_id: 7,
                    mode: format!("sync{evil}"),
                    outcome: "failed".into(),
                    started_at: now,
                    finished_at: Some(now),
                    duration_seconds: Some(1.5),
                    requests: 3,
                    rows: 0,
                    error_kind: Some(format!("kind{evil}")),
                    error_message: Some(format!("message {evil} \"quoted\"")),
                    warnings: vec![format!("warning {evil}")],
                }),
                last_success: None,
                cursors: None,
                recent_errors: vec![RunError {
                    run_id: 7,
                    mode: "sync".into(),
                    at: now,
                    kind: format!("kind{evil}"),
                    message: evil.into(),
                }],
            }],
            tables: vec![TableRows {
                table: evil.into(),
                rows: 1,
            }],
            webhooks: Some(crate::status::WebhookStatus {
                received_24h: 3,
                pending: 1,
                failed_24h: 1,
                last_received_at: now,
                last_failure: Some(crate::status::WebhookFailure {
                    at: now,
                    target: evil.into(),
                    error: evil.into(),
                }),
            }),
        };
        let live = [Live {
            name: format!("repos{evil}"),
            phase: evil.into(),
            not_ready: Some(evil.into()),
            ..Live::default()
        }];
        let html = render(&Page {
            org: evil,
            now,
            service_started_at: now,
            shutting_down: false,
            status: Ok(&status),
            live: &live,
        });
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("\"quoted\""), "{html}");
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script"), "the page has no script: {html}");
        let failed = render(&Page {
            status: Err(evil.into()),
            ..Page {
                org: "o",
                now,
                service_started_at: now,
                shutting_down: false,
                status: Ok(&status),
                live: &live,
            }
        });
        assert!(!failed.contains("<img"), "{failed}");
        assert!(failed.contains("could not be read"), "{failed}");
    }

    #[test]
    fn a_failed_last_pass_is_marked_with_its_kind() {
        let now = at("2024-06-01T10:00:00Z");
        let pass = |outcome: &str, kind: Option<&str>| Pass {
            run_id: 1,
            mode: "sync".into(),
            outcome: outcome.into(),
            started_at: now,
            finished_at: None,
            duration_seconds: None,
            requests: 0,
            rows: 0,
            error_kind: kind.map(str::to_string),
            error_message: kind.map(|_| "refused".to_string()),
            warnings: Vec::new(),
        };
        let stored = |p: Pass| ConnectorStatus {
            name: "boards".into(),
            enabled: true,
            last_pass: Some(p),
            last_success: None,
            cursors: None,
            recent_errors: vec![],
        };
        assert_eq!(
            verdict(
                Some(&stored(pass("failed", Some("invalid_credentials")))),
                None
            ),
            ("failed", "failed: invalid_credentials".to_string())
        );
        let failing = Live {
            last_outcome: Some("failed".into()),
            last_error_kind: Some("invalid_credentials".into()),
            ..Live::default()
        };
        assert_eq!(
            verdict(Some(&stored(pass("running", None))), Some(&failing)),
            ("failed", "failed: invalid_credentials".to_string()),
            "a pass running after a failure keeps the mark"
        );
        assert_eq!(
            verdict(Some(&stored(pass("succeeded", None))), Some(&failing)).0,
            "ok"
        );
        assert_eq!(verdict(None, None).1, "no passes yet");
    }
}
