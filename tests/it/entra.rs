//! Entra ID pool entries against the simulator's tenant (API_FACTS §12): a backfill through a
//! service principal whose short-lived tokens run out mid-run, through a managed identity
//! (IMDS, with failures to retry), through workload identity while the federated token file
//! is rotated, a pool mixing a PAT and a service principal, tokens revoked under a running
//! backfill, and a wrong client secret that fails the connector with Entra's error and never
//! shows the secret.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::{self, ORG, Setup, TestDb, truth};
use ado_ingest::config::Settings;
use ado_ingest::connectors::Mode;
use ado_ingest::metrics::Metrics;
use ado_ingest::store::AnyStore;
use ado_ingest::sync::{self, ConnectorReport};
use ado_sim::{
    EntraConfig, FederatedCredential, ManagedIdentity, RunningSim, ServicePrincipal, SimConfig,
};
use tokio_util::sync::CancellationToken;

const TENANT: &str = "72f988bf-0000-4000-8000-sim000tenant";
const SP_CLIENT: &str = "3f1e2d4c-0000-4000-8000-00000000c1e7";
const SP_SECRET: &str = "sp~Secret.Value-0123456789abcdef";
const WIF_CLIENT: &str = "wif-app-0000-4000-8000-000000000001";

/// A small org whose tenant issues one-second tokens: a backfill paced at a few requests a
/// second outlives several of them.
fn org(entra: EntraConfig) -> SimConfig {
    SimConfig {
        seed: 14,
        projects: 2,
        repos_per_project: 2,
        prs_per_repo: 40,
        entra: EntraConfig {
            token_lifetime: Duration::from_secs(1),
            ..entra
        },
        ..SimConfig::default()
    }
}

fn service_principal() -> EntraConfig {
    EntraConfig {
        service_principals: vec![ServicePrincipal {
            tenant_id: TENANT.into(),
            client_id: SP_CLIENT.into(),
            client_secret: SP_SECRET.into(),
        }],
        ..EntraConfig::default()
    }
}

/// The simulator's host root: the authority and IMDS live there, not under the org.
fn root(sim: &RunningSim) -> String {
    format!("http://{}", sim.addr)
}

/// A service principal entry whose secret is read from `secret_file`.
fn sp_entry(sim: &RunningSim, secret_file: &std::path::Path) -> String {
    format!(
        r#"{{ name = "sp", method = "service_principal", tenant_id = "{TENANT}", client_id = "{SP_CLIENT}", client_secret = "file:{}", authority = "{}/" }}"#,
        secret_file.display(),
        root(sim)
    )
}

/// Runs every enabled connector once with metrics the test can read.
async fn run(
    settings: &Settings,
    store: &AnyStore,
    metrics: &Arc<Metrics>,
) -> Vec<ConnectorReport> {
    let connectors = sync::select_connectors(settings, &[]).expect("connectors");
    sync::run(
        settings,
        store,
        Mode::Backfill,
        &connectors,
        metrics.clone(),
        CancellationToken::new(),
    )
    .await
    .expect("setup succeeds")
}

fn assert_ok(reports: &[ConnectorReport]) {
    for r in reports {
        if let Err(e) = &r.result {
            panic!("connector {} failed: {e}", r.connector);
        }
    }
}

/// Repos and Boards, paced so that a backfill lasts a few seconds: tokens of one second
/// must be renewed. (Each connector has its own pool, so its own tokens.)
fn paced<'a>(url: &'a str, db: &'a str, tokens: &'a str) -> Setup<'a> {
    Setup {
        tokens,
        connectors: vec!["repos", "boards"],
        requests_per_second: 6.0,
        burst: 1,
        concurrency: 2,
        ..Setup::new(url, db)
    }
}

/// The database equals the simulator's truth for both connectors.
async fn assert_truth(store: &AnyStore, truth: &serde_json::Value, context: &str) {
    truth::compare(store, ORG, truth)
        .await
        .assert_empty(&format!("{context} (repos)"));
    truth::compare_boards(store, ORG, truth)
        .await
        .assert_empty(&format!("{context} (boards)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_principal_backfill_renews_its_tokens_mid_run_and_equals_the_truth() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("sp-secret");
    std::fs::write(&secret, format!("{SP_SECRET}\n")).unwrap();
    for db in TestDb::all().await {
        let sim = support::start_sim(org(service_principal())).await;
        let url = sim.sim.base_url();
        let tokens = sp_entry(&sim, &secret);
        let settings = paced(&url, db.url(), &tokens).settings();
        let store = db.store().await;
        let truth0 = sim.sim.truth();
        let metrics = Arc::new(Metrics::default());
        let started = Instant::now();
        assert_ok(&run(&settings, &store, &metrics).await);
        let elapsed = started.elapsed();
        assert_truth(
            &store,
            &truth0,
            &format!("{} after a service principal backfill", db.label()),
        )
        .await;

        let entra = sim.sim.entra_stats();
        let stats = sim.sim.stats();
        let issued = entra["issued"].as_u64().unwrap();
        eprintln!(
            "{}: {} requests in {elapsed:?}, {issued} tokens issued, {} requests refused for an expired token",
            db.label(),
            stats["requests"],
            entra["expired_presented"]
        );
        assert!(issued > 1, "tokens were renewed mid-run: {entra}");
        // Renewed before expiry, never after ADO refused them.
        assert_eq!(entra["expired_presented"], 0, "{entra}");
        assert_eq!(entra["refused"], 0, "{entra}");
        let by_token = &stats["by_token"];
        assert!(
            by_token[format!("sp:{SP_CLIENT}")].as_u64().unwrap() > 0,
            "{stats}"
        );
        let fetched = metrics.token_fetches();
        assert_eq!(
            fetched.get(&("service_principal", "ok")).copied(),
            Some(issued),
            "{fetched:?}"
        );
        let text = metrics.render_prometheus();
        assert!(
            text.contains(&format!(
                "ado_ingest_token_fetches_total{{method=\"service_principal\",outcome=\"ok\"}} {issued}"
            )),
            "{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_identity_backfill_retries_imds_and_equals_the_truth() {
    for db in TestDb::all().await {
        let sim = support::start_sim(org(EntraConfig {
            managed_identities: vec![
                ManagedIdentity { client_id: None },
                ManagedIdentity {
                    client_id: Some("mi-user-assigned".into()),
                },
            ],
            ..EntraConfig::default()
        }))
        .await;
        // IMDS answers 503 twice first; the provider tries again (API_FACTS §12).
        sim.sim.fail_imds(2);
        let url = sim.sim.base_url();
        let tokens = format!(
            r#"{{ name = "mi", method = "managed_identity", client_id = "mi-user-assigned", endpoint = "{}/metadata/identity/oauth2/token" }}"#,
            root(&sim)
        );
        let settings = paced(&url, db.url(), &tokens).settings();
        let store = db.store().await;
        let truth0 = sim.sim.truth();
        let metrics = Arc::new(Metrics::default());
        assert_ok(&run(&settings, &store, &metrics).await);
        assert_truth(
            &store,
            &truth0,
            &format!("{} after a managed identity backfill", db.label()),
        )
        .await;
        let entra = sim.sim.entra_stats();
        eprintln!("{}: managed identity {entra}", db.label());
        let issued = entra["by_identity"]["mi:mi-user-assigned"]
            .as_u64()
            .unwrap();
        assert!(issued > 1, "{entra}");
        assert_eq!(
            entra["imds_requests"].as_u64().unwrap(),
            issued + 2,
            "{entra}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workload_identity_reads_the_rotated_token_file_at_every_token_request() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("azure-identity-token");
    std::fs::write(&file, "eyJ.assertion-one.sig").unwrap();
    let federated = |assertion: &str| FederatedCredential {
        tenant_id: TENANT.into(),
        client_id: WIF_CLIENT.into(),
        assertion: assertion.into(),
    };
    let sim = support::start_sim(org(EntraConfig {
        federated: vec![federated("eyJ.assertion-one.sig")],
        ..EntraConfig::default()
    }))
    .await;
    let url = sim.sim.base_url();
    let tokens = format!(
        r#"{{ name = "wif", method = "workload_identity", tenant_id = "{TENANT}", client_id = "{WIF_CLIENT}", token_file = "{}", authority = "{}" }}"#,
        file.display(),
        root(&sim)
    );
    let settings = paced(&url, db.url(), &tokens).settings();
    let store = db.store().await;
    let truth0 = sim.sim.truth();

    // As the kubelet does: once the first token is out, the file gets a new assertion and
    // the old one stops being accepted.
    let rotate = {
        let sim = sim.sim.clone();
        let file = file.clone();
        tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(30);
            while sim.entra_stats()["issued"].as_u64().unwrap_or(0) == 0 {
                assert!(Instant::now() < deadline, "no token was ever issued");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            sim.update_entra(|c| c.federated.push(federated("eyJ.assertion-two.sig")));
            let tmp = file.with_extension("tmp");
            std::fs::write(&tmp, "eyJ.assertion-two.sig\n").unwrap();
            std::fs::rename(&tmp, &file).unwrap();
            sim.update_entra(|c| {
                c.federated
                    .retain(|f| f.assertion != "eyJ.assertion-one.sig")
            });
        })
    };
    let metrics = Arc::new(Metrics::default());
    assert_ok(&run(&settings, &store, &metrics).await);
    rotate.await.unwrap();
    assert_truth(&store, &truth0, "after a workload identity backfill").await;
    let entra = sim.sim.entra_stats();
    eprintln!("workload identity {entra}");
    // One first token per connector (repos, boards) before the rotation.
    let first = entra["by_assertion"]["eyJ.assertion-one.sig"]
        .as_u64()
        .unwrap();
    assert!((1..=2).contains(&first), "{entra}");
    assert!(
        entra["by_assertion"]["eyJ.assertion-two.sig"]
            .as_u64()
            .unwrap()
            >= 1,
        "the rewritten file was read for a later token: {entra}"
    );
    assert_eq!(entra["refused"], 0, "{entra}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_mixing_a_pat_and_a_service_principal_uses_both_and_survives_revoked_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("sp-secret");
    std::fs::write(&secret, SP_SECRET).unwrap();
    for db in TestDb::all().await {
        let sim = support::start_sim(SimConfig {
            entra: EntraConfig {
                // Long-lived: what renews the token here is ADO refusing it.
                token_lifetime: Duration::from_secs(3600),
                ..service_principal()
            },
            ..org(EntraConfig::default())
        })
        .await;
        let url = sim.sim.base_url();
        let tokens = format!(
            r#"{{ name = "pat", secret = "demo-pat" }}, {}"#,
            sp_entry(&sim, &secret)
        );
        let settings = paced(&url, db.url(), &tokens).settings();
        let store = db.store().await;
        let truth0 = sim.sim.truth();
        // Once the service principal has sent a few requests, its token is revoked: ADO
        // refuses it (203), the provider drops it once, and the next one works.
        let revoke = {
            let sim = sim.sim.clone();
            tokio::spawn(async move {
                let deadline = Instant::now() + Duration::from_secs(30);
                let key = format!("sp:{SP_CLIENT}");
                while sim.stats()["by_token"][&key].as_u64().unwrap_or(0) < 3 {
                    assert!(
                        Instant::now() < deadline,
                        "the service principal never sent"
                    );
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                sim.revoke_entra_tokens();
            })
        };
        let metrics = Arc::new(Metrics::default());
        let reports = run(&settings, &store, &metrics).await;
        assert_ok(&reports);
        revoke.await.unwrap();
        assert!(
            reports.iter().all(|r| r.retired_tokens.is_empty()),
            "{reports:?}"
        );
        assert_truth(
            &store,
            &truth0,
            &format!("{} after a mixed pool backfill", db.label()),
        )
        .await;
        let stats = sim.sim.stats();
        let entra = sim.sim.entra_stats();
        eprintln!("{}: mixed pool {} / {entra}", db.label(), stats["by_token"]);
        assert!(
            stats["by_token"]["demo-pat"].as_u64().unwrap() > 0,
            "{stats}"
        );
        assert!(
            stats["by_token"][format!("sp:{SP_CLIENT}")]
                .as_u64()
                .unwrap()
                > 3,
            "{stats}"
        );
        // ADO refused the revoked token, and each connector's entry (repos, boards) fetched
        // a new one instead of leaving the pool.
        assert!(
            stats["by_token"]["(unknown bearer token)"]
                .as_u64()
                .unwrap_or(0)
                >= 1,
            "{stats}"
        );
        let issued = entra["issued"].as_u64().unwrap();
        assert!(
            (3..=4).contains(&issued),
            "one token per connector, then new ones: {entra}"
        );
    }
}

#[test]
fn a_wrong_client_secret_fails_invalid_credentials_naming_the_entry_and_aadsts_never_the_secret() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sim = runtime.block_on(support::start_sim(org(service_principal())));
    let dir = tempfile::tempdir().unwrap();
    let wrong = "Wrong~Secret.Value-fedcba9876543210";
    let secret = dir.path().join("sp-secret");
    std::fs::write(&secret, wrong).unwrap();
    let db = dir.path().join("entra.db");
    let db_url = format!("sqlite://{}", db.display());
    let url = sim.sim.base_url();
    let tokens = sp_entry(&sim, &secret);
    let config = Setup {
        tokens: &tokens,
        ..Setup::new(&url, &db_url)
    }
    .write(dir.path());
    let out = support::binary()
        .args(["backfill", "--config"])
        .arg(&config)
        .env("RUST_LOG", "debug,sqlx=warn,hyper=info,reqwest=info")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("invalid_credentials"), "{text}");
    assert!(
        !text.contains("invalid_credentials: invalid_credentials"),
        "the kind is said once: {text}"
    );
    for line in text.lines().filter(|l| l.contains("invalid_credentials")) {
        eprintln!("{line}");
    }
    assert!(
        text.contains("sp: service_principal: HTTP 401: invalid_client: AADSTS7000215"),
        "the error names the entry and Entra's error: {text}"
    );
    assert!(
        !text.contains(wrong),
        "the secret appears in the output: {text}"
    );
    let recorded = std::fs::read(&db).unwrap();
    assert!(
        !recorded.windows(wrong.len()).any(|w| w == wrong.as_bytes()),
        "the secret is in the database"
    );
    assert_eq!(
        sim.sim.entra_stats()["refused"],
        1,
        "refused once, never looped"
    );
    assert_eq!(sim.sim.stats()["requests"], 0, "nothing was sent to ADO");
    drop(sim);
}
