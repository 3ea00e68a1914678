//! `ado-ingest status` and the service's page `/`, the real binary against the simulator:
//! after a backfill the JSON matches the database field by field and the table names every
//! connector and table, without the tokens' variables set; a connector whose token was
//! revoked shows its failed pass with kind `invalid_credentials` beside the other's success;
//! the live page, loaded in headless Chromium at a phone and a desktop size, names every
//! connector, marks the failing one, overflows nothing and logs no page error.

use crate::support::browser::Chromium;
use crate::support::service::{Service, two_connectors, two_token_org};
use crate::support::{self, ORG, Setup, TestDb};
use ado_ingest::connectors::Mode;
use ado_ingest::store::{AnyStore, RunRecord, Store};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A token variable no test sets: `status` must not need it.
const UNSET_TOKEN: &str = r#""env:IT_STATUS_SURELY_UNSET_PAT""#;

/// `ado-ingest status --format FORMAT` with `setup`'s configuration but token references
/// whose variable is unset: its stdout (asserting exit 0).
fn status(setup: &Setup<'_>, dir: &Path, format: &str) -> String {
    let mut unresolvable = Setup {
        tokens: UNSET_TOKEN,
        tokens_for: Vec::new(),
        connectors: setup.connectors.clone(),
        projects: setup.projects.clone(),
        ..Setup::new(setup.sim_url, setup.db_url)
    };
    unresolvable.extra = setup.extra;
    let config = unresolvable.write(dir);
    let out = support::binary()
        .args(["status", "--format", format, "--config"])
        .arg(&config)
        .env_remove("IT_STATUS_SURELY_UNSET_PAT")
        .output()
        .expect("run ado-ingest status");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "status --format {format}: {}\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn status_json(setup: &Setup<'_>, dir: &Path) -> Value {
    let text = status(setup, dir, "json");
    assert!(text.contains("\n  \""), "pretty-printed: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("status JSON: {e}\n{text}"))
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .unwrap_or_else(|| panic!("not an RFC 3339 time: {v}"))
        .to_utc()
}

fn connector<'v>(status: &'v Value, name: &str) -> &'v Value {
    status["connectors"]
        .as_array()
        .expect("connectors")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not in {status:#}"))
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

/// The JSON `last_pass` is the run record, field by field.
fn assert_pass_is(pass: &Value, run: &RunRecord, label: &str) {
    assert_eq!(pass["run_id"], run.id, "{label}: {pass}");
    assert_eq!(pass["mode"], run.mode.as_str(), "{label}: {pass}");
    assert_eq!(pass["outcome"], run.outcome.as_str(), "{label}: {pass}");
    assert_eq!(time(&pass["started_at"]), run.started_at, "{label}: {pass}");
    let finished = run.finished_at.expect("finished");
    assert_eq!(time(&pass["finished_at"]), finished, "{label}: {pass}");
    let took = (finished - run.started_at).num_milliseconds() as f64 / 1000.0;
    assert_eq!(
        pass["duration_seconds"].as_f64(),
        Some(took),
        "{label}: {pass}"
    );
    assert_eq!(pass["requests"], run.requests, "{label}: {pass}");
    assert_eq!(pass["rows"], run.rows, "{label}: {pass}");
    match &run.error {
        None => {
            assert_eq!(pass["error_kind"], Value::Null, "{label}: {pass}");
            assert_eq!(pass["error_message"], Value::Null, "{label}: {pass}");
        }
        Some(e) => {
            // `KIND: message`; the message may repeat the kind, which status says once.
            let (kind, message) = e.split_once(": ").expect("KIND: message");
            let message = message
                .strip_prefix(&format!("{kind}: "))
                .unwrap_or(message);
            assert_eq!(pass["error_kind"], kind, "{label}: {pass}");
            assert_eq!(pass["error_message"], message, "{label}: {pass}");
        }
    }
    let warnings: Vec<&str> = run
        .warnings
        .as_deref()
        .map(|w| w.lines().collect())
        .unwrap_or_default();
    assert_eq!(
        pass["warnings"],
        serde_json::json!(warnings),
        "{label}: {pass}"
    );
}

async fn cursors_of(db: &TestDb, connector: &str) -> i64 {
    let sql = format!(
        "SELECT count(*) FROM sync_cursors WHERE org = '{ORG}' AND connector = '{connector}'"
    );
    db.scalar(&sql, &sql).await
}

async fn last(store: &AnyStore, connector: &str, mode: &str) -> RunRecord {
    store
        .last_run(ORG, connector, mode)
        .await
        .expect("read run")
        .unwrap_or_else(|| panic!("{connector} has a {mode} run"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_after_a_backfill_matches_the_database_without_tokens() {
    for db in TestDb::all().await {
        let label = db.label();
        let sim = support::start_sim(two_token_org(41)).await;
        let url = sim.base_url();
        let setup = two_connectors(&url, db.url());
        let store = db.store().await;
        support::run_ok(&setup.settings(), &store, Mode::Backfill).await;
        let dir = tempfile::tempdir().unwrap();
        let before = Utc::now();
        let s = status_json(&setup, dir.path());

        assert_eq!(
            keys(&s),
            ["connectors", "generated_at", "org", "tables", "webhooks"],
            "{label}"
        );
        assert!(
            s["webhooks"].is_null(),
            "{label}: no delivery received: {s}"
        );
        assert_eq!(s["org"], ORG);
        assert!(time(&s["generated_at"]) >= before, "{label}: {s}");
        let names: Vec<&str> = s["connectors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["repos", "boards"], "{label}: configuration order");
        for name in ["repos", "boards"] {
            let c = connector(&s, name);
            let label = format!("{label}: {name}");
            assert_eq!(
                keys(c),
                [
                    "cursors",
                    "enabled",
                    "last_pass",
                    "last_success",
                    "name",
                    "recent_errors"
                ],
                "{label}"
            );
            assert_eq!(c["enabled"], true, "{label}");
            let run = last(&store, name, "backfill").await;
            assert_eq!(run.outcome, "succeeded", "{label}: {run:?}");
            assert_eq!(
                keys(&c["last_pass"]),
                [
                    "duration_seconds",
                    "error_kind",
                    "error_message",
                    "finished_at",
                    "mode",
                    "outcome",
                    "requests",
                    "rows",
                    "run_id",
                    "started_at",
                    "warnings"
                ],
                "{label}"
            );
            assert_pass_is(&c["last_pass"], &run, &label);
            assert!(run.rows > 0 && run.requests > 0, "{label}: {run:?}");
            let success = &c["last_success"];
            assert_eq!(success["run_id"], run.id, "{label}: {success}");
            assert_eq!(success["mode"], "backfill", "{label}: {success}");
            assert_eq!(time(&success["finished_at"]), run.finished_at.unwrap());
            let fresh = success["freshness_seconds"].as_i64().expect("freshness");
            let since = (time(&s["generated_at"]) - run.finished_at.unwrap()).num_seconds();
            assert_eq!(fresh, since, "{label}: {success}");
            let cursors = &c["cursors"];
            assert_eq!(
                cursors["scopes"],
                cursors_of(&db, name).await,
                "{label}: {cursors}"
            );
            let (oldest, newest) = (
                time(&cursors["oldest_update_at"]),
                time(&cursors["newest_update_at"]),
            );
            assert!(
                run.started_at <= oldest && oldest <= newest && newest <= run.finished_at.unwrap(),
                "{label}: the backfill wrote every cursor: {cursors}"
            );
            assert_eq!(
                cursors["oldest_age_seconds"].as_i64(),
                Some((time(&s["generated_at"]) - oldest).num_seconds()),
                "{label}: {cursors}"
            );
            assert_eq!(c["recent_errors"], serde_json::json!([]), "{label}");
        }
        let counts = store.table_counts().await.expect("table counts");
        let tables: Vec<(String, i64)> = s["tables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                assert_eq!(keys(t), ["rows", "table"]);
                (
                    t["table"].as_str().unwrap().to_string(),
                    t["rows"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            tables, counts,
            "{label}: rows per table, in the store's order"
        );
        assert!(
            counts.iter().any(|(t, n)| t == "work_items" && *n > 0),
            "{label}: {counts:?}"
        );

        let table = status(&setup, dir.path(), "table");
        for name in ["repos", "boards"] {
            assert!(table.contains(name), "{label}: {name} in:\n{table}");
        }
        for (t, n) in &counts {
            assert!(
                table
                    .lines()
                    .any(|l| l.starts_with(t.as_str()) && l.ends_with(&format!(" {n}"))),
                "{label}: `{t}  {n}` in:\n{table}"
            );
        }
        assert!(table.contains("succeeded"), "{label}:\n{table}");
        // `status` reads only: it recorded no run.
        assert_eq!(store.table_counts().await.unwrap(), counts, "{label}");
        store.close().await;
        sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_shows_as_invalid_credentials_beside_the_other_success() {
    for db in TestDb::all().await {
        let label = db.label();
        let sim = support::start_sim(two_token_org(42)).await;
        let url = sim.base_url();
        let setup = two_connectors(&url, db.url());
        let settings = setup.settings();
        let store = db.store().await;
        support::run_ok(&settings, &store, Mode::Backfill).await;
        sim.sim.revoke_pat("boards-pat");
        let reports = support::run_mode(&settings, &store, Mode::Sync).await;
        let outcome = |name: &str| {
            reports
                .iter()
                .find(|r| r.connector == name)
                .map(|r| r.result.is_ok())
        };
        assert_eq!(
            (outcome("repos"), outcome("boards")),
            (Some(true), Some(false)),
            "{label}"
        );

        let dir = tempfile::tempdir().unwrap();
        let s = status_json(&setup, dir.path());
        let repos = connector(&s, "repos");
        assert_pass_is(
            &repos["last_pass"],
            &last(&store, "repos", "sync").await,
            label,
        );
        assert_eq!(repos["last_pass"]["outcome"], "succeeded", "{label}");
        assert_eq!(repos["recent_errors"], serde_json::json!([]), "{label}");

        let boards = connector(&s, "boards");
        let failed = last(&store, "boards", "sync").await;
        assert_pass_is(&boards["last_pass"], &failed, label);
        assert_eq!(
            boards["last_pass"]["outcome"], "failed",
            "{label}: {boards}"
        );
        assert_eq!(
            boards["last_pass"]["error_kind"], "invalid_credentials",
            "{label}: {boards}"
        );
        assert_eq!(
            boards["last_success"]["run_id"],
            last(&store, "boards", "backfill").await.id,
            "{label}: the last success is still the backfill: {boards}"
        );
        let errors = boards["recent_errors"].as_array().expect("recent errors");
        assert_eq!(errors.len(), 1, "{label}: {boards}");
        assert_eq!(errors[0]["run_id"], failed.id);
        assert_eq!(errors[0]["kind"], "invalid_credentials");
        assert_eq!(time(&errors[0]["at"]), failed.finished_at.unwrap());
        assert!(
            errors[0]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{label}: {boards}"
        );

        let table = status(&setup, dir.path(), "table");
        let line = |name: &str| {
            table
                .lines()
                .find(|l| l.starts_with(name))
                .unwrap_or_else(|| panic!("{label}: no {name} line in:\n{table}"))
                .to_string()
        };
        assert!(
            line("boards").contains("failed: invalid_credentials"),
            "{label}:\n{table}"
        );
        assert!(line("repos").contains("succeeded"), "{label}:\n{table}");
        assert!(
            table.contains("recent errors") && table.contains("invalid_credentials"),
            "{label}:\n{table}"
        );

        // A connector no longer enabled is still listed from its runs.
        let mut repos_only = two_connectors(&url, db.url());
        repos_only.connectors = vec!["repos"];
        let s = status_json(&repos_only, dir.path());
        assert_eq!(connector(&s, "repos")["enabled"], true, "{label}");
        assert_eq!(connector(&s, "boards")["enabled"], false, "{label}");
        assert_eq!(
            connector(&s, "boards")["last_pass"]["error_kind"],
            "invalid_credentials",
            "{label}"
        );
        store.close().await;
        sim.shutdown().await;
    }
}

#[test]
fn a_database_that_is_not_there_is_an_error_naming_it_and_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("never-ingested.db");
    let db_url = format!("sqlite://{}", db.display());
    let setup = Setup {
        tokens: UNSET_TOKEN,
        ..Setup::new("http://127.0.0.1:9/contoso", &db_url)
    };
    let config = setup.write(dir.path());
    let out = support::binary()
        .args(["status", "--config"])
        .arg(&config)
        .output()
        .expect("run ado-ingest status");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot open the database") && stderr.contains("never-ingested.db"),
        "{stderr}"
    );
    assert!(!db.exists(), "status created {}", db.display());
}

/// Where the screenshots go: `target/test-screenshots/`.
fn screenshot_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("test-screenshots")
        .join(name)
}

/// The `<section>` of `connector`'s card in the page's markup.
fn card<'h>(html: &'h str, connector: &str) -> &'h str {
    let start = html
        .find(&format!("id=\"connector-{connector}\""))
        .unwrap_or_else(|| panic!("no card for {connector} in:\n{html}"));
    let section = html[..start]
        .rfind("<section")
        .expect("card opens a section");
    let end = html[start..].find("</section>").expect("card closes") + start;
    &html[section..end]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_page_shows_every_connector_on_a_phone_and_a_desktop() {
    let db = TestDb::sqlite();
    let sim = support::start_sim(two_token_org(43)).await;
    let url = sim.base_url();
    let mut setup = two_connectors(&url, db.url());
    setup.interval = "1s";
    setup.extra = "\n[server]\nlisten = \"127.0.0.1:0\"\n";
    let dir = tempfile::tempdir().unwrap();
    let config = setup.write(dir.path());
    let svc = Service::start(&config);
    svc.wait_passes(&["repos", "boards"], 1, Duration::from_secs(120))
        .await;
    sim.sim.revoke_pat("boards-pat");
    svc.wait_error("boards", "invalid_credentials").await;

    let page = reqwest::get(format!("{}/", svc.base)).await.expect("GET /");
    assert_eq!(page.status().as_u16(), 200);
    assert_eq!(
        page.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/html; charset=utf-8")
    );
    let html = page.text().await.expect("page body");
    for needle in [
        "<meta http-equiv=\"refresh\" content=\"15\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        "<style>",
    ] {
        assert!(html.contains(needle), "{needle} in:\n{html}");
    }
    assert!(!html.contains("<script"), "no JavaScript:\n{html}");
    assert!(!html.contains("<link"), "no external resources:\n{html}");
    let boards = card(&html, "boards");
    assert!(
        boards.contains("card connector failed") && boards.contains("failed: invalid_credentials"),
        "the failing connector is marked with its kind:\n{boards}"
    );
    assert!(boards.contains("Tokens alive</dt><dd>0 of 1"), "{boards}");
    assert!(
        boards.contains("<span class=\"no\">no</span>"),
        "not ready:\n{boards}"
    );
    let repos = card(&html, "repos");
    assert!(!repos.contains("failed"), "{repos}");
    assert!(repos.contains("Tokens alive</dt><dd>1 of 1"), "{repos}");
    assert!(
        html.contains("work_item_revisions"),
        "rows per table:\n{html}"
    );

    if let Some(chromium) = Chromium::find() {
        let page_url = format!("{}/", svc.base);
        // The browser runs blocking; the simulator the service calls meanwhile lives on this
        // test's runtime and keeps its workers.
        tokio::task::spawn_blocking(move || browser_checks(&chromium, &page_url, &html))
            .await
            .expect("browser checks");
    }
    sim.shutdown().await;
}

/// The page in headless Chromium: screenshots at a phone's and a desktop's size, the rendered
/// DOM, no console message, and no horizontal overflow at 390 and 1280 px.
fn browser_checks(chromium: &Chromium, page_url: &str, html: &str) {
    let mut console = Vec::new();
    // The phone's first screen, the whole page at phone width, and a desktop.
    for (name, size) in [
        ("status-phone.png", (390, 844)),
        ("status-phone-full.png", (390, 2000)),
        ("status-desktop.png", (1280, 900)),
    ] {
        let path = screenshot_path(name);
        console.extend(chromium.screenshot(page_url, size, &path).console);
        eprintln!("screenshot: {}", path.display());
    }
    let load = chromium.dump_dom(page_url, (390, 844));
    console.extend(load.console);
    assert!(
        console.is_empty(),
        "the page caused console messages: {console:#?}"
    );
    for name in ["repos", "boards"] {
        assert!(
            load.dom.contains(&format!("data-connector=\"{name}\"")),
            "{name} in the rendered DOM:\n{}",
            load.dom
        );
    }
    assert!(
        card(&load.dom, "boards").contains("failed: invalid_credentials"),
        "{}",
        load.dom
    );
    for width in [390, 1280] {
        let o = chromium.overflow(html, width);
        assert!(
            o.scroll_width <= o.client_width && o.wide.is_empty(),
            "at {width} px the page overflows: {o:?}"
        );
        assert!(
            o.client_width + 20 >= width,
            "measured at {width} px: {o:?}"
        );
    }
}
