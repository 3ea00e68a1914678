//! [`Status`] as aligned plain text for a terminal (`status --format table`): one line per
//! connector, the recent failures with their messages, then rows per table. Owns only
//! layout; what is shown is decided in [`super`].

use super::{Status, human_duration, human_seconds, timestamp};

/// Renders the whole status.
pub fn render(status: &Status) -> String {
    let mut out = format!(
        "org {} — status as of {}\n\n",
        status.org,
        timestamp(status.generated_at)
    );
    let rows = status
        .connectors
        .iter()
        .map(|c| {
            let name = if c.enabled {
                c.name.clone()
            } else {
                format!("{} (disabled)", c.name)
            };
            let (run, outcome, started, duration, requests, rows) = match &c.last_pass {
                Some(p) => (
                    format!("#{} {}", p.run_id, p.mode),
                    match &p.error_kind {
                        Some(kind) => format!("{}: {kind}", p.outcome),
                        None => p.outcome.clone(),
                    },
                    timestamp(p.started_at),
                    p.duration_seconds.map_or("-".into(), human_duration),
                    p.requests.to_string(),
                    p.rows.to_string(),
                ),
                None => (
                    "never ran".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                ),
            };
            let success = c.last_success.as_ref().map_or("never".into(), |s| {
                format!("{} ago", human_seconds(s.freshness_seconds))
            });
            let cursors = c.cursors.as_ref().map_or("none".into(), |k| {
                format!(
                    "{} scopes, {} / {} ago",
                    k.scopes,
                    human_seconds(k.oldest_age_seconds),
                    human_seconds(k.newest_age_seconds)
                )
            });
            vec![
                name, run, outcome, started, duration, requests, rows, success, cursors,
            ]
        })
        .collect();
    out.push_str(&grid(
        &[
            "connector",
            "last pass",
            "outcome",
            "started",
            "duration",
            "requests",
            "rows",
            "last success",
            "cursor updates (oldest / newest)",
        ],
        rows,
        &[4, 5, 6],
    ));

    let errors: Vec<Vec<String>> = status
        .connectors
        .iter()
        .flat_map(|c| {
            c.recent_errors.iter().map(|e| {
                vec![
                    c.name.clone(),
                    format!("#{} {}", e.run_id, e.mode),
                    timestamp(e.at),
                    e.kind.clone(),
                    one_line(&e.message),
                ]
            })
        })
        .collect();
    let warnings: Vec<Vec<String>> = status
        .connectors
        .iter()
        .flat_map(|c| {
            c.last_pass.iter().flat_map(move |p| {
                p.warnings.iter().map(move |w| {
                    vec![
                        c.name.clone(),
                        format!("#{} {}", p.run_id, p.mode),
                        one_line(w),
                    ]
                })
            })
        })
        .collect();
    if !warnings.is_empty() {
        out.push_str("\nlast pass warnings (skipped, the rest synced)\n");
        out.push_str(&grid(&["connector", "run", "warning"], warnings, &[]));
    }

    out.push_str("\nrecent errors\n");
    if errors.is_empty() {
        out.push_str("  none\n");
    } else {
        out.push_str(&grid(
            &["connector", "run", "at", "kind", "message"],
            errors,
            &[],
        ));
    }

    if let Some(w) = &status.webhooks {
        out.push_str(&format!(
            "\nwebhooks: {} received in 24 h, {} pending, {} failed in 24 h; last received {}\n",
            w.received_24h,
            w.pending,
            w.failed_24h,
            w.last_received_at.format("%Y-%m-%d %H:%M:%S UTC"),
        ));
        if let Some(f) = &w.last_failure {
            out.push_str(&format!(
                "  last failure {} ({}): {}\n",
                f.at.format("%Y-%m-%d %H:%M:%S UTC"),
                f.target,
                one_line(&f.error)
            ));
        }
    }

    out.push('\n');
    let tables = status
        .tables
        .iter()
        .map(|t| vec![t.table.clone(), t.rows.to_string()])
        .collect();
    out.push_str(&grid(&["table", "rows"], tables, &[1]));
    out
}

/// Text on one line (messages are one line already; this keeps a stray newline from
/// breaking the columns).
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// Columns padded to their widest cell, two spaces apart; the columns in `right` are
/// right-aligned (numbers). No trailing spaces.
fn grid(headers: &[&str], rows: Vec<Vec<String>>, right: &[usize]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let header: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = " ".repeat(w - cell.chars().count());
            if right.contains(&i) {
                line.push_str(&pad);
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&pad);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_numbers_align_right() {
        let text = grid(
            &["name", "n"],
            vec![
                vec!["repos".into(), "5".into()],
                vec!["work_items".into(), "1200".into()],
            ],
            &[1],
        );
        assert_eq!(
            text,
            "name           n\nrepos          5\nwork_items  1200\n"
        );
    }
}
