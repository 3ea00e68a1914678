//! Stored credentials (issue 14), the real binary against the simulator: `credentials
//! create|update|info|list|delete` never show a secret (every output, log and the SQLite file
//! are searched for it), bad input and a missing or wrong master key exit 2 with a message,
//! a backfill through a `cred:NAME` entry equals the ground truth, and a running `run` uses a
//! rotated secret on its next request and drops a deleted credential from its pool.

use crate::support::{self, ORG, Setup, TestDb, service::Service, truth};
use ado_sim::{Pat, SimConfig};
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

const OLD: &str = "pat-OLD-5f3a9c1e-not-for-logs";
const NEW: &str = "pat-NEW-8b2d7e4f-not-for-logs";
const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const KEY_B: &str = "HxwdHhscGxoZGBcWFRQTEhEQDw4NDAsKCQgHBgUEAwI=";

fn small_org(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        projects: 2,
        repos_per_project: 2,
        prs_per_repo: 40,
        pats: vec![Pat::full(OLD)],
        ..SimConfig::default()
    }
}

/// Runs the binary with `stdin` and the master key `key` (none when empty); exit code,
/// stdout, stderr.
async fn ingest(config: &Path, args: &[&str], stdin: &str, key: &str) -> (i32, String, String) {
    let mut cmd = support::binary();
    cmd.arg("--config").arg(config).args(args);
    if key.is_empty() {
        cmd.env_remove("ADO_INGEST_MASTER_KEY");
    } else {
        cmd.env("ADO_INGEST_MASTER_KEY", key);
    }
    cmd.env("RUST_LOG", "info,sqlx=warn");
    let stdin = stdin.to_string();
    let out = tokio::task::spawn_blocking(move || {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_no_secret(what: &str, text: &str) {
    for s in [OLD, NEW] {
        assert!(!text.contains(s), "{what} shows a secret:\n{text}");
    }
}

/// The SQLite file and its WAL, searched byte by byte for the secrets.
fn assert_file_has_no_secret(db: &TestDb) {
    let Some(path) = db.url().strip_prefix("sqlite://") else {
        return;
    };
    let path = path.split('?').next().unwrap();
    for file in [path.to_string(), format!("{path}-wal")] {
        let Ok(bytes) = std::fs::read(&file) else {
            continue;
        };
        for s in [OLD, NEW] {
            assert!(
                !bytes.windows(s.len()).any(|w| w == s.as_bytes()),
                "{file} holds a secret in clear"
            );
        }
    }
}

/// A running `run` with the Repos connector on `cred:repos-pat`, created with `secret`,
/// after its first pass. The config's directory must outlive the service.
async fn service_on_a_stored_pat(
    sim_url: &str,
    db: &TestDb,
    dir: &Path,
    secret: &str,
) -> (std::path::PathBuf, Service) {
    let mut setup = Setup::new(sim_url, db.url());
    setup.tokens = r#""cred:repos-pat""#;
    setup.interval = "300ms";
    setup.extra = "\n[server]\nlisten = \"127.0.0.1:0\"\n";
    let config = setup.write(dir);
    let (code, _, err) = ingest(
        &config,
        &[
            "--connector",
            "repos",
            "credentials",
            "create",
            "--name",
            "repos-pat",
        ],
        &format!("{secret}\n"),
        KEY_A,
    )
    .await;
    assert_eq!(code, 0, "{}: {err}", db.label());
    let service = Service::start_with_env(&config, &[("ADO_INGEST_MASTER_KEY", KEY_A)]);
    service
        .wait_passes(&["repos"], 1, Duration::from_secs(60))
        .await;
    (config, service)
}

/// `credentials update --name repos-pat` with `secret` from stdin.
async fn rotate(config: &Path, secret: &str) {
    let (code, _, err) = ingest(
        config,
        &[
            "credentials",
            "update",
            "--name",
            "repos-pat",
            "--secret-stdin",
        ],
        &format!("{secret}\n"),
        KEY_A,
    )
    .await;
    assert_eq!(code, 0, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_credentials_never_show_their_secret_and_refuse_bad_input() {
    for db in TestDb::all().await {
        let sim = support::start_sim(small_org(31)).await;
        let url = sim.base_url();
        let dir = tempfile::tempdir().unwrap();
        let mut setup = Setup::new(&url, db.url());
        setup.tokens = r#""cred:repos-pat""#;
        let config = setup.write(dir.path());
        let label = db.label();

        let (code, out, err) = ingest(
            &config,
            &[
                "--connector",
                "repos",
                "credentials",
                "create",
                "--name",
                "repos-pat",
                "--description",
                "the repos PAT",
                "--expires",
                "2099-01-31",
                "--format",
                "json",
            ],
            &format!("{OLD}\n"),
            KEY_A,
        )
        .await;
        assert_eq!(code, 0, "{label}: create: {err}");
        assert_no_secret("create", &format!("{out}{err}"));
        let view: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(view["name"], "repos-pat");
        assert_eq!(view["method"], "pat");
        assert_eq!(view["connectors"], serde_json::json!(["repos"]));
        assert_eq!(view["version"], 1);
        assert_eq!(view["status"], "active");
        assert_eq!(view["expires_on"], "2099-01-31");
        let hash = view["credentials_hash"].as_str().unwrap().to_string();
        assert!(hash.starts_with("sha256:") && hash.len() == 19, "{hash}");

        for args in [
            &["credentials", "info", "--name", "repos-pat"][..],
            &[
                "credentials",
                "info",
                "--name",
                "repos-pat",
                "--format",
                "json",
            ],
            &["credentials", "list"],
            &["credentials", "list", "--format", "json"],
        ] {
            let (code, out, err) = ingest(&config, args, "", "").await;
            assert_eq!(code, 0, "{label}: {args:?}: {err}");
            assert!(out.contains(&hash), "{args:?} shows the fingerprint: {out}");
            assert_no_secret(&format!("{args:?}"), &format!("{out}{err}"));
        }

        // What a user can get wrong: exit 2 and a message saying what.
        let long = "x".repeat(257);
        let cases: Vec<(Vec<&str>, &str, &str, &str)> = vec![
            (
                vec![
                    "--connector",
                    "repos",
                    "credentials",
                    "create",
                    "--name",
                    "Repos_PAT",
                ],
                "s\n",
                KEY_A,
                "may hold only a-z",
            ),
            (
                vec![
                    "--connector",
                    "repos",
                    "credentials",
                    "create",
                    "--name",
                    "d",
                    "--description",
                    &long,
                ],
                "s\n",
                KEY_A,
                "at most 256",
            ),
            (
                vec![
                    "--connector",
                    "repos",
                    "credentials",
                    "create",
                    "--name",
                    "k",
                ],
                "s\n",
                "",
                "ADO_INGEST_MASTER_KEY is not set",
            ),
            (
                vec![
                    "--connector",
                    "repos",
                    "credentials",
                    "create",
                    "--name",
                    "k",
                ],
                "s\n",
                "not-a-key",
                "is not a key",
            ),
            (
                vec![
                    "--connector",
                    "repos",
                    "credentials",
                    "create",
                    "--name",
                    "k",
                ],
                "s\n",
                KEY_B,
                "encrypted under master key",
            ),
            (
                vec![
                    "--connector",
                    "repos",
                    "credentials",
                    "create",
                    "--name",
                    "repos-pat",
                ],
                "s\n",
                KEY_A,
                "exists already",
            ),
            (
                vec!["credentials", "create", "--name", "k"],
                "s\n",
                KEY_A,
                "name the connector",
            ),
            (
                vec![
                    "--connector",
                    "repos",
                    "credentials",
                    "create",
                    "--name",
                    "k",
                    "--method",
                    "service_principal",
                ],
                "s\n",
                KEY_A,
                "--tenant-id",
            ),
            (
                vec![
                    "--connector",
                    "repos",
                    "credentials",
                    "create",
                    "--name",
                    "k",
                ],
                "\n",
                KEY_A,
                "secret is empty",
            ),
            (
                vec![
                    "--connector",
                    "repos",
                    "credentials",
                    "create",
                    "--name",
                    "k",
                    "--expires",
                    "31/01/2099",
                ],
                "s\n",
                KEY_A,
                "YYYY-MM-DD",
            ),
            (
                vec![
                    "credentials",
                    "update",
                    "--name",
                    "repos-pat",
                    "--secret-stdin",
                ],
                "s\n",
                KEY_B,
                "encrypted under master key",
            ),
            (
                vec!["credentials", "info", "--name", "nope"],
                "",
                "",
                "no stored credential named `nope`",
            ),
        ];
        for (args, stdin, key, message) in &cases {
            let (code, _, err) = ingest(&config, args, stdin, key).await;
            assert_eq!(code, 2, "{label}: {args:?} exits 2: {err}");
            assert!(
                err.contains(message),
                "{label}: {args:?} says {message:?}: {err}"
            );
            assert_no_secret(&format!("{args:?}"), &err);
        }

        // A backfill through the stored credential equals the truth.
        let (code, _, err) = ingest(&config, &["backfill"], "", KEY_A).await;
        assert_eq!(code, 0, "{label}: backfill: {err}");
        assert_no_secret("backfill log", &err);
        let store = db.store().await;
        truth::compare(&store, ORG, &sim.sim.truth())
            .await
            .assert_empty(&format!("{label}: backfill through cred:repos-pat"));
        store.close().await;
        let stats = sim.sim.stats();
        assert!(stats["by_token"][OLD].as_u64().unwrap_or(0) > 0, "{stats}");

        // Without the key a backfill names what is missing.
        let (code, _, err) = ingest(&config, &["backfill"], "", "").await;
        assert_ne!(code, 0);
        assert!(err.contains("ADO_INGEST_MASTER_KEY is not set"), "{err}");

        // Rotation: version 2, a new fingerprint, the last use recorded.
        let (code, out, err) = ingest(
            &config,
            &[
                "credentials",
                "update",
                "--name",
                "repos-pat",
                "--secret-stdin",
                "--format",
                "json",
            ],
            &format!("{NEW}\n"),
            KEY_A,
        )
        .await;
        assert_eq!(code, 0, "{label}: update: {err}");
        let view: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(view["version"], 2);
        assert_ne!(view["credentials_hash"], hash.as_str());
        assert!(
            view["last_used_at"].is_string(),
            "the backfill stamped its use: {view}"
        );
        assert_file_has_no_secret(&db);

        let (code, out, _) = ingest(
            &config,
            &["credentials", "delete", "--name", "repos-pat"],
            "",
            "",
        )
        .await;
        assert_eq!((code, out.trim()), (0, "deleted repos-pat"));
        let (code, out, _) = ingest(&config, &["credentials", "list"], "", "").await;
        assert_eq!((code, out.trim()), (0, "no stored credentials"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_service_follows_rotation_and_deletion_of_a_stored_credential() {
    for db in TestDb::all().await {
        let sim = support::start_sim(small_org(32)).await;
        let url = sim.base_url();
        let dir = tempfile::tempdir().unwrap();
        let label = db.label();
        let (config, service) = service_on_a_stored_pat(&url, &db, dir.path(), OLD).await;

        // Rotate: ADO accepts the new PAT and no longer the old one.
        sim.sim.add_pat(Pat::full(NEW));
        rotate(&config, NEW).await;
        sim.sim.revoke_pat(OLD);
        sim.sim.reset_stats();
        let before = service.passes("repos", "succeeded").await;
        service
            .eventually(
                Duration::from_secs(20),
                "a pass with the rotated secret",
                || async {
                    sim.sim.stats()["by_token"][NEW].as_u64().unwrap_or(0) > 0
                        && service.passes("repos", "succeeded").await >= before + 2
                },
            )
            .await;

        // Delete: the pool drops it, the passes fail as invalid_credentials.
        let (code, _, _) = ingest(
            &config,
            &["credentials", "delete", "--name", "repos-pat"],
            "",
            "",
        )
        .await;
        assert_eq!(code, 0);
        service.wait_error("repos", "invalid_credentials").await;
        let log = service.log();
        assert!(log.contains("stored credential deleted"), "{log}");
        assert_no_secret("run's log", &log);
        assert_file_has_no_secret(&db);
        let mut service = service;
        let (status, _) = service.terminate();
        assert!(status.success(), "{label}: {status:?}");
    }
}

/// A stored credential ADO refuses during `run` is marked `invalid` with the reason where
/// `credentials info` shows it; one rotated meanwhile is not (its old version was refused).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_refused_during_a_run_is_marked_invalid() {
    let db = TestDb::sqlite();
    let sim = support::start_sim(small_org(33)).await;
    let url = sim.base_url();
    let dir = tempfile::tempdir().unwrap();
    let (config, service) = service_on_a_stored_pat(&url, &db, dir.path(), OLD).await;
    let info = || async {
        let (code, out, err) = ingest(
            &config,
            &[
                "credentials",
                "info",
                "--name",
                "repos-pat",
                "--format",
                "json",
            ],
            "",
            "",
        )
        .await;
        assert_eq!(code, 0, "{err}");
        serde_json::from_str::<Value>(&out).unwrap()
    };

    // Rotated, then the old PAT revoked before the service polls: the old version's refusal
    // does not mark the new one.
    sim.sim.add_pat(Pat::full(NEW));
    rotate(&config, NEW).await;
    sim.sim.revoke_pat(OLD);
    let before = service.passes("repos", "succeeded").await;
    service
        .eventually(
            Duration::from_secs(20),
            "a pass with the rotated secret",
            || async { service.passes("repos", "succeeded").await >= before + 2 },
        )
        .await;
    let view = info().await;
    assert_eq!(view["status"], "active", "{view}");
    assert_eq!(view["version"], 2, "{view}");

    // Revoked in ADO with nothing rotated: the run fails and the credential says why.
    sim.sim.revoke_pat(NEW);
    service.wait_error("repos", "invalid_credentials").await;
    service
        .eventually(
            Duration::from_secs(10),
            "the credential marked invalid",
            || async { info().await["status"] == "invalid" },
        )
        .await;
    let view = info().await;
    let detail = view["status_detail"].as_str().unwrap_or_default();
    assert!(detail.contains("version 2 was refused"), "{view}");
    assert_no_secret("info", &view.to_string());
    let mut service = service;
    let (status, _) = service.terminate();
    assert!(status.success(), "{status:?}");
}

/// A service principal kept in the credentials store (its client secret sealed) backs up a
/// connector like a configured one: the backfill equals the truth, tokens were issued and
/// refreshed (one-second lifetime), and the client secret is nowhere in the output or file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_service_principal_backfills_to_the_truth() {
    use ado_sim::{EntraConfig, ServicePrincipal};
    const TENANT: &str = "0b5c1d2e-0000-4000-8000-0000000cred1";
    const CLIENT: &str = "6a7b8c9d-0000-4000-8000-0000000cred2";
    const SECRET: &str = "stored~sp.Secret-not-for-logs";
    let db = TestDb::sqlite();
    let sim = support::start_sim(SimConfig {
        entra: EntraConfig {
            service_principals: vec![ServicePrincipal {
                tenant_id: TENANT.into(),
                client_id: CLIENT.into(),
                client_secret: SECRET.into(),
            }],
            token_lifetime: Duration::from_secs(1),
            ..EntraConfig::default()
        },
        ..small_org(33)
    })
    .await;
    let url = sim.base_url();
    let root = format!("http://{}", sim.addr);
    let dir = tempfile::tempdir().unwrap();
    let mut setup = Setup::new(&url, db.url());
    setup.tokens = r#""cred:repos-sp""#;
    // Paced so the backfill outlives a few one-second tokens.
    setup.requests_per_second = 2.0;
    setup.burst = 1;
    let config = setup.write(dir.path());
    let (code, out, err) = ingest(
        &config,
        &[
            "--connector",
            "repos",
            "credentials",
            "create",
            "--name",
            "repos-sp",
            "--method",
            "service_principal",
            "--tenant-id",
            TENANT,
            "--client-id",
            CLIENT,
            "--authority",
            &root,
            "--format",
            "json",
        ],
        &format!("{SECRET}\n"),
        KEY_A,
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains(SECRET) && out.contains(CLIENT), "{out}");
    let (code, _, err) = ingest(&config, &["backfill"], "", KEY_A).await;
    assert_eq!(code, 0, "backfill: {err}");
    assert!(!err.contains(SECRET), "{err}");
    let store = db.store().await;
    truth::compare(&store, ORG, &sim.sim.truth())
        .await
        .assert_empty("backfill through a stored service principal");
    store.close().await;
    let issued = sim.sim.entra_stats()["issued"].as_u64().unwrap_or(0);
    assert!(
        issued >= 2,
        "tokens refreshed mid-run: {}",
        sim.sim.entra_stats()
    );
    let path = db
        .url()
        .strip_prefix("sqlite://")
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let bytes = std::fs::read(&path).unwrap();
    assert!(!bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()));
}
