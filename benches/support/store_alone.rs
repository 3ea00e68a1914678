//! Store-alone throughput: mapped pull-request rows straight into `Store::apply`, no HTTP, so
//! the storage side's limit shows next to the end-to-end figures of the suite
//! (`benches/backfill.rs`). Shared by `cargo bench --bench store` and `--all` of the suite.
//!
//! 50 pages of 1,000 PRs (each ~1.2 KB of `raw`, 2 reviewers, plus 3 users per page), first
//! as inserts, then as updates with a newer observation (what an incremental sync does), into
//! a fresh SQLite file and, when `TEST_DATABASE_URL` is set, a fresh Postgres database; each
//! measurement is repeated on a fresh database and the median reported. PR rows/s counts pull
//! requests; all rows/s adds their reviewers and users.
//!
//! SQLite is measured with both of its writers (`SqliteWriter`: the prepared statement stepped
//! on the raw handle, and the multi-row `VALUES` statements through sqlx), alternating.
//!
//! Next to it, the same rows through Python's `sqlite3` `executemany` (one prepared upsert,
//! 1,000 rows per transaction, the same schema, `benches/support/sqlite_executemany.py`), run
//! in the same minute on the same machine, so the SQLite figure has a reference that shares
//! the machine's load.

use ado_ingest::store::schema::core::write_users;
use ado_ingest::store::{
    AnyStore, Batch, PullRequestRow, Record, ReviewerRow, SqliteStore, SqliteWriter, Store, UserRow,
};
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use sqlx::Connection;
use std::fmt::Write as _;
use std::time::Instant;

const PAGES: i64 = 50;
const PAGE: i64 = 1_000;

fn user(i: i64) -> String {
    format!("00000000-0000-4000-8000-{:012x}", i % 200)
}

/// A PR row whose `raw` is shaped like a real list item (~1.2 KB), with its reviewers.
fn pull_request(id: i64, pass: i64) -> (PullRequestRow, Vec<ReviewerRow>) {
    let repo = format!("10000000-0000-4000-8000-{:012x}", id % 200);
    let project = format!("20000000-0000-4000-8000-{:012x}", id % 20);
    let created = DateTime::<Utc>::from_timestamp(1_700_000_000 + id * 60, 0).unwrap_or_default();
    let title = format!("Change {id}: tidy the ingestion path (pass {pass})");
    let raw = serde_json::json!({
        "repository": {"id": repo, "name": format!("repo-{}", id % 200),
            "url": format!("https://dev.azure.com/contoso/_apis/git/repositories/{repo}"),
            "project": {"id": project, "name": format!("Project-{}", id % 20), "state": "wellFormed"}},
        "pullRequestId": id, "codeReviewId": id, "status": "completed",
        "createdBy": {"id": user(id), "displayName": "Normal Paulk", "uniqueName": "fabrikamfiber16@hotmail.com"},
        "creationDate": created.to_rfc3339(), "closedDate": (created + Duration::hours(5)).to_rfc3339(),
        "title": title, "description": "Tidies the ingestion path.",
        "sourceRefName": format!("refs/heads/feature/{id}"), "targetRefName": "refs/heads/main",
        "mergeStatus": "succeeded", "mergeId": "f5fc8381-3fb2-49fe-8a0d-27dcc2d6ef82",
        "lastMergeSourceCommit": {"commitId": format!("{:040x}", id)},
        "lastMergeCommit": {"commitId": format!("{:040x}", id + 1)},
        "reviewers": [{"id": user(id + 1), "vote": 10}, {"id": user(id + 2), "vote": 5}],
        "url": format!("https://dev.azure.com/contoso/_apis/git/repositories/{repo}/pullRequests/{id}"),
        "supportsIterations": true
    })
    .to_string();
    let pr = PullRequestRow {
        id,
        repository_id: repo,
        project_id: project,
        title,
        status: "completed".into(),
        is_draft: false,
        created_by_id: Some(user(id)),
        creation_date: created,
        closed_date: Some(created + Duration::hours(5)),
        source_ref: format!("refs/heads/feature/{id}"),
        target_ref: "refs/heads/main".into(),
        merge_status: Some("succeeded".into()),
        last_merge_source_commit: Some(format!("{:040x}", id)),
        last_merge_commit: Some(format!("{:040x}", id + 1)),
        change_marker: None,
        raw,
    };
    let reviewers = vec![
        ReviewerRow {
            pull_request_id: id,
            reviewer_id: user(id + 1),
            vote: 10,
            is_required: false,
            has_declined: false,
        },
        ReviewerRow {
            pull_request_id: id,
            reviewer_id: user(id + 2),
            vote: 5,
            is_required: true,
            has_declined: false,
        },
    ];
    (pr, reviewers)
}

/// The batches of one pass, and the `raw` bytes they carry.
fn pages(pass: i64) -> (Vec<Batch>, usize) {
    let observed = Utc::now() + Duration::seconds(pass);
    let mut raw_bytes = 0;
    let batches = (0..PAGES)
        .map(|page| {
            let mut prs = Vec::new();
            let mut reviewers = Vec::new();
            for id in page * PAGE..(page + 1) * PAGE {
                let (p, r) = pull_request(id, pass);
                raw_bytes += p.raw.len();
                prs.push(p);
                reviewers.extend(r);
            }
            let keys = prs.iter().map(Record::key).collect();
            let users = (0..3)
                .map(|k| UserRow {
                    id: user(page * 7 + k),
                    display_name: Some("Normal Paulk".into()),
                    unique_name: Some("fabrikamfiber16@hotmail.com".into()),
                    is_container: false,
                    descriptor: None,
                })
                .collect();
            // As the Repos connector writes a page.
            let mut b = Batch::new(observed);
            b.upsert(prs)
                .replace_children::<PullRequestRow, _>(keys, reviewers);
            write_users(&mut b, users);
            b
        })
        .collect();
    (batches, raw_bytes)
}

/// One pass: PR rows/s, all rows/s, mean raw bytes per PR, seconds, and this process's CPU
/// seconds (all threads; for SQLite that is the whole write, for Postgres the client side).
struct Pass {
    pr_rate: f64,
    all_rate: f64,
    raw_bytes: f64,
    secs: f64,
    cpu: f64,
}

/// User + system CPU seconds (all threads) of the process whose `stat` file is `stat_path`
/// (`/proc/self/stat`, `/proc/{pid}/stat`); `None` when it cannot be read.
pub fn cpu_secs(stat_path: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    // Fields after the parenthesized command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')')?.1;
    let ticks: u64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    // USER_HZ is 100 on Linux.
    Some(ticks as f64 / 100.0)
}

/// CPU time of this process so far (user + system, all threads).
fn process_cpu() -> f64 {
    cpu_secs("/proc/self/stat").unwrap_or(0.0)
}

/// Insert pass then update pass into `store` (migrated here), `writers` pages at a time (as
/// the connector writes the pages of several projects at once).
async fn measure(store: &AnyStore, writers: usize) -> [Pass; 2] {
    store.migrate().await.expect("migrate");
    let mut out = Vec::new();
    for pass in 0..2 {
        let (batches, raw_bytes) = pages(pass);
        let start = Instant::now();
        let cpu = process_cpu();
        let rows: u64 = futures::stream::iter(batches.iter())
            .map(|b| async move { store.apply("contoso", b).await.expect("apply") })
            .buffer_unordered(writers.max(1))
            .fold(0, |sum, n| async move { sum + n })
            .await;
        let secs = start.elapsed().as_secs_f64();
        let cpu = process_cpu() - cpu;
        let prs = (PAGES * PAGE) as f64;
        out.push(Pass {
            pr_rate: prs / secs,
            all_rate: rows as f64 / secs,
            raw_bytes: raw_bytes as f64 / prs,
            secs,
            cpu,
        });
    }
    let update = out.pop().expect("two passes");
    let insert = out.pop().expect("two passes");
    [insert, update]
}

async fn close(store: AnyStore) {
    match &store {
        AnyStore::Sqlite(s) => s.close().await,
        AnyStore::Postgres(s) => s.close().await,
    }
}

async fn sqlite_once(writers: usize, writer: SqliteWriter) -> [Pass; 2] {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("store-bench.db").display());
    let store = SqliteStore::connect_with(&url, writer)
        .await
        .map(AnyStore::Sqlite)
        .expect("sqlite");
    let r = measure(&store, writers).await;
    close(store).await;
    r
}

async fn postgres_once(admin: &str, writers: usize) -> [Pass; 2] {
    let name = format!("ado_ingest_store_bench_{}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(admin).await.expect("postgres");
    let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    let _ = sqlx::query(sqlx::AssertSqlSafe(drop.clone()))
        .execute(&mut conn)
        .await;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create database");
    let mut u = url::Url::parse(admin).expect("url");
    u.set_path(&format!("/{name}"));
    let store = AnyStore::connect(u.as_str()).await.expect("pg store");
    let r = measure(&store, writers).await;
    close(store).await;
    sqlx::query(sqlx::AssertSqlSafe(drop))
        .execute(&mut conn)
        .await
        .expect("drop database");
    r
}

/// Python's sqlite3 on the same rows: `[insert, update, insert without the secondary indexes,
/// update without them]` as (rows/s, CPU µs per row), or `None` without python3.
fn python_reference() -> Option<[(f64, f64); 4]> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/support/sqlite_executemany.py"
    );
    let out = std::process::Command::new("python3")
        .arg(script)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let value = |name: &str| -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
    };
    Some([
        (value("insert")?, value("insert_cpu_us")?),
        (value("update")?, value("update_cpu_us")?),
        (value("bare_insert")?, value("bare_insert_cpu_us")?),
        (value("bare_update")?, value("bare_update_cpu_us")?),
    ])
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn row(t: &mut String, label: &str, writers: usize, runs: &[[Pass; 2]]) {
    for (i, pass) in ["insert", "update"].iter().enumerate() {
        let pr = median(runs.iter().map(|r| r[i].pr_rate).collect());
        let all = median(runs.iter().map(|r| r[i].all_rate).collect());
        let secs = median(runs.iter().map(|r| r[i].secs).collect());
        let cpu_us = median(runs.iter().map(|r| r[i].cpu).collect()) * 1e6 / (PAGES * PAGE) as f64;
        let lo = runs
            .iter()
            .map(|r| r[i].pr_rate)
            .fold(f64::INFINITY, f64::min);
        let hi = runs.iter().map(|r| r[i].pr_rate).fold(0.0, f64::max);
        let _ = writeln!(
            t,
            "| {label} | {writers} | {pass} | {} | **{pr:.0}** ({lo:.0}–{hi:.0}) | {all:.0} | {cpu_us:.1} µs | {:.0} | {:.0} B | {secs:.2} |",
            PAGES * PAGE,
            1e6 / cpu_us,
            runs[0][i].raw_bytes,
        );
    }
}

/// Concurrent writers of the second row of each store: the connector's default concurrency
/// lets several projects' pages wait for the store at once.
const WRITERS: usize = 4;

/// Runs every measurement `repeat` times; returns the Markdown table.
pub async fn run(repeat: usize) -> String {
    let repeat = repeat.max(1);
    let mut t = String::from(
        "| store | writers | pass | PRs | PR rows/s (median, min–max) | all rows/s (PRs + reviewers + users) | CPU of this process per PR | PR rows per CPU-second | raw per PR | seconds |\n\
         |---|---:|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let pg = std::env::var("TEST_DATABASE_URL").ok();
    if pg.is_none() {
        eprintln!("TEST_DATABASE_URL not set: PostgreSQL not measured");
    }
    let mut python = Vec::new();
    for writers in [1, WRITERS] {
        let mut sqlite = Vec::new();
        let mut sqlite_values = Vec::new();
        let mut postgres = Vec::new();
        for _ in 0..repeat {
            sqlite.push(sqlite_once(writers, SqliteWriter::Raw).await);
            sqlite_values.push(sqlite_once(writers, SqliteWriter::Values).await);
            if writers == 1
                && let Some(r) = python_reference()
            {
                python.push(r);
            }
            if let Some(admin) = &pg {
                postgres.push(postgres_once(admin, writers).await);
            }
        }
        row(&mut t, "SQLite, raw writer", writers, &sqlite);
        row(&mut t, "SQLite, VALUES writer", writers, &sqlite_values);
        if !postgres.is_empty() {
            row(&mut t, "PostgreSQL", writers, &postgres);
        }
    }
    if python.is_empty() {
        let _ = writeln!(t, "\n(python3 not found: no Python sqlite3 reference)");
    } else {
        let passes = [
            ("PR table only", "insert"),
            ("PR table only", "update"),
            (
                "PR table, primary key only (no secondary indexes)",
                "insert",
            ),
            (
                "PR table, primary key only (no secondary indexes)",
                "update",
            ),
        ];
        for (i, (what, pass)) in passes.iter().enumerate() {
            let cpu_us = median(python.iter().map(|r| r[i].1).collect());
            let _ = writeln!(
                t,
                "| reference: Python sqlite3 `executemany`, {what} | 1 | {pass} | {} | {:.0} | | {cpu_us:.1} µs | {:.0} | | |",
                PAGES * PAGE,
                median(python.iter().map(|r| r[i].0).collect()),
                1e6 / cpu_us,
            );
        }
    }
    t
}
