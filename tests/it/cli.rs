//! The binary's contract: exit codes, configuration errors that name the problem, and no
//! secret in any output.

use crate::support::{self, Setup, TestDb};
use ado_sim::SimConfig;
use std::process::Output;

fn run(args: &[&str], config_text: &str, env: &[(&str, &str)]) -> (Output, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, config_text).unwrap();
    let mut cmd = support::binary();
    cmd.args(args).arg("--config").arg(&path);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

const VALID: &str = r#"
[database]
url = "sqlite://never-created.db"
[organization]
url = "https://dev.azure.com/contoso"
[connectors.repos]
tokens = ["env:IT_CLI_PAT"]
"#;

#[test]
fn unknown_key_exits_2_naming_the_key_and_file() {
    let (out, text) = run(
        &["sync"],
        &VALID.replace("[organization]", "[organization]\nprojekts = [\"x\"]"),
        &[("IT_CLI_PAT", "x")],
    );
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("projekts"), "{text}");
    assert!(text.contains("bad.toml"), "{text}");
}

#[test]
fn bad_url_exits_2_naming_the_key() {
    let (out, text) = run(
        &["backfill"],
        &VALID.replace("https://dev.azure.com/contoso", "dev.azure.com contoso"),
        &[("IT_CLI_PAT", "x")],
    );
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("organization.url"), "{text}");
}

#[test]
fn missing_token_variable_exits_2_naming_the_variable() {
    let (out, text) = run(&["sync"], VALID, &[]);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("IT_CLI_PAT is not set"), "{text}");
}

#[test]
fn unknown_connector_exits_2() {
    let (out, text) = run(
        &["sync", "--connector", "bords"],
        VALID,
        &[("IT_CLI_PAT", "x")],
    );
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("bords"), "{text}");
}

#[test]
fn missing_config_file_exits_2() {
    let out = support::binary()
        .args(["sync", "--config", "/nonexistent/ado-ingest.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/ado-ingest.toml"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_and_sync_through_the_binary_never_print_the_token() {
    let secret = "v3ry-s3cr3t-pat-4242";
    let db = TestDb::sqlite();
    let sim = support::start_sim(SimConfig {
        seed: 9,
        projects: 2,
        repos_per_project: 2,
        prs_per_repo: 100,
        pats: vec![ado_sim::Pat {
            token: secret.into(),
            scopes: vec![],
        }],
        ..SimConfig::default()
    })
    .await;
    let url = sim.base_url();
    let mut setup = Setup::new(&url, db.url());
    setup.tokens = r#""env:IT_SECRET_PAT""#;
    let dir = tempfile::tempdir().unwrap();
    let config = setup.write(dir.path());
    for (cmd, format) in [("migrate", "text"), ("backfill", "json"), ("sync", "text")] {
        let out = support::binary()
            .args([cmd, "--log-format", format, "--config"])
            .arg(&config)
            .env("IT_SECRET_PAT", secret)
            .env("RUST_LOG", "debug")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{cmd}: {text}");
        assert!(!text.contains(secret), "{cmd} printed the token");
    }
    sim.shutdown().await;
}

#[test]
fn demo_backfills_the_bundled_simulator() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let out = support::binary()
        .args(["demo", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let count = |table: &str| -> i64 {
        stdout
            .lines()
            .find_map(|l| {
                let mut parts = l.split_whitespace();
                (parts.next() == Some(table)).then(|| parts.next().and_then(|n| n.parse().ok()))?
            })
            .unwrap_or_else(|| panic!("no {table} count in:\n{stdout}"))
    };
    assert!(count("pull_requests") > 0);
    assert!(count("repositories") > 0);
    assert!(count("users") > 0);
    // The inside of pull requests, their commits and the default branches' histories.
    assert!(count("pull_request_threads") > 0);
    assert!(count("pull_request_commits") > 0);
    assert!(count("commits") > 0);
    // Pipelines: builds with their timelines, releases, YAML environments' deployments.
    assert!(count("builds") > 0);
    assert!(count("build_timeline_records") > 0);
    assert!(count("release_deployments") > 0);
    assert!(count("environment_deployments") > 0);
    assert!(
        stdout.contains("sqlite3"),
        "the demo shows how to query: {stdout}"
    );
}

/// A second process is refused while one writes SQLite (exit 3, naming the holder), nothing
/// of it interleaved; the next run closes the runs a killed process left `running` as
/// `abandoned` (on PostgreSQL: a run whose process holds no live lease).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_writer_is_refused_and_dead_runs_are_abandoned() {
    use ado_ingest::store::Store;
    for db in TestDb::all().await {
        let sim = support::start_sim(SimConfig {
            seed: 4,
            projects: 1,
            repos_per_project: 1,
            prs_per_repo: 20,
            ..SimConfig::default()
        })
        .await;
        let url = sim.base_url();
        let setup = Setup::new(&url, db.url());
        let org = setup.settings().org_key();
        let dir = tempfile::tempdir().unwrap();
        let config = setup.write(dir.path());
        let store = db.store().await;
        // What a process killed mid-run leaves behind.
        let dead = store
            .start_run(&org, "boards", "incremental", chrono::Utc::now())
            .await
            .unwrap();
        let sync = || {
            let out = support::binary()
                .args(["sync", "--config"])
                .arg(&config)
                .output()
                .unwrap();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            (out.status.code(), text)
        };

        // SQLite has one writer process; PostgreSQL processes share the database by leases.
        let held = store
            .lock_writer(&org)
            .await
            .expect("this test holds the lock");
        if db.label() == "sqlite" {
            let (code, text) = sync();
            assert_eq!(code, Some(3), "{}: {text}", db.label());
            assert!(
                text.contains("another ado-ingest process is writing"),
                "{text}"
            );
            let before = support::sim_requests(&sim.sim);
            assert_eq!(before, 0, "{}: a refused run sends nothing", db.label());
            let still = store
                .last_run(&org, "boards", "incremental")
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                still.outcome, "running",
                "the holder's runs are not touched"
            );
        }

        drop(held);
        let (code, text) = sync();
        assert_eq!(code, Some(0), "{}: {text}", db.label());
        let closed = store
            .last_run(&org, "boards", "incremental")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (closed.id, closed.outcome.as_str()),
            (dead, "abandoned"),
            "{}",
            db.label()
        );
        assert!(closed.finished_at.is_some());
        store.close().await;
        sim.shutdown().await;
    }
}
