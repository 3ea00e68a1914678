//! Test support: the simulator in-process on port 0, a fresh database per test (SQLite always,
//! Postgres when `TEST_DATABASE_URL` is set), settings pointing one at the other, the real
//! binary, and the ground-truth comparison every connector test uses. `TEST_LOG=1` turns
//! logging on.

pub mod truth;

use ado_ingest::config::Settings;
use ado_ingest::connectors::Mode;
use ado_ingest::metrics::Metrics;
use ado_ingest::store::{AnyStore, Store};
use ado_ingest::sync::{self, ConnectorReport};
use ado_sim::{RunningSim, Sim, SimConfig};
use sqlx::Connection;
use std::path::PathBuf;
use std::sync::{Arc, Once};
use tokio_util::sync::CancellationToken;

static LOG: Once = Once::new();

/// Turns tracing on when `TEST_LOG` is set.
pub fn init_logging() {
    LOG.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| "info,sqlx=warn".into()),
                )
                .with_test_writer()
                .try_init();
        }
    });
    ado_ingest::install_crypto_provider();
}

/// Starts a simulator on a loopback port.
pub async fn start_sim(cfg: SimConfig) -> RunningSim {
    init_logging();
    Sim::new(cfg)
        .serve(([127, 0, 0, 1], 0).into())
        .await
        .expect("simulator binds a loopback port")
}

/// The org the simulator serves and the store's `org` key.
pub const ORG: &str = "contoso";

/// A fresh database for one test; dropped (Postgres) or deleted (SQLite) afterwards.
pub enum TestDb {
    Sqlite {
        _dir: tempfile::TempDir,
        url: String,
    },
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
}

impl TestDb {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("test.db");
        let url = format!("sqlite://{}", path.display());
        TestDb::Sqlite { _dir: dir, url }
    }

    /// A new database on the server named by `TEST_DATABASE_URL`, or `None` (with a notice).
    pub async fn postgres() -> Option<Self> {
        let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
            eprintln!("TEST_DATABASE_URL not set: skipping the Postgres variant of this test");
            return None;
        };
        let name = format!(
            "ado_ingest_it_{}_{}",
            std::process::id(),
            fastrand::u64(..) % 1_000_000_000
        );
        let mut conn = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("connect to TEST_DATABASE_URL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&format!("/{name}"));
        Some(TestDb::Postgres {
            admin_url,
            name,
            url: url.to_string(),
        })
    }

    /// Both backends: SQLite always, Postgres when configured.
    pub async fn all() -> Vec<Self> {
        let mut v = vec![Self::sqlite()];
        v.extend(Self::postgres().await);
        v
    }

    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } => url,
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            TestDb::Sqlite { .. } => "sqlite",
            TestDb::Postgres { .. } => "postgres",
        }
    }

    pub async fn store(&self) -> AnyStore {
        let s = AnyStore::connect(self.url())
            .await
            .expect("open test database");
        s.migrate().await.expect("migrate test database");
        s
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres {
            admin_url, name, ..
        } = self
        {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside a test's runtime; a separate thread with its own runtime can
            // block on the cleanup.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async {
                    if let Ok(mut c) = sqlx::PgConnection::connect(&admin_url).await {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        )))
                        .execute(&mut c)
                        .await;
                    }
                });
            })
            .join();
        }
    }
}

/// Connector settings tuned for tests: fast retries, a generous local ceiling.
pub struct Setup<'a> {
    pub sim_url: &'a str,
    pub db_url: &'a str,
    /// TOML array items for `tokens`.
    pub tokens: &'a str,
    pub requests_per_second: f64,
    pub burst: u32,
    pub concurrency: usize,
    pub extra: &'a str,
}

impl<'a> Setup<'a> {
    pub fn new(sim_url: &'a str, db_url: &'a str) -> Self {
        Self {
            sim_url,
            db_url,
            tokens: r#"{ name = "demo", secret = "demo-pat" }"#,
            requests_per_second: 2000.0,
            burst: 2000,
            concurrency: 4,
            extra: "",
        }
    }

    pub fn toml(&self) -> String {
        format!(
            r#"
[database]
url = "{db}"

[organization]
url = "{sim}"

[sync]
overlap = "2s"

[http]
timeout = "20s"
min_backoff = "5ms"
max_backoff = "300ms"
max_retries = 12

[connectors.repos]
tokens = [{tokens}]
requests_per_second = {rps}
burst = {burst}
concurrency = {conc}
{extra}
"#,
            db = self.db_url,
            sim = self.sim_url,
            tokens = self.tokens,
            rps = self.requests_per_second,
            burst = self.burst,
            conc = self.concurrency,
            extra = self.extra,
        )
    }

    pub fn settings(&self) -> Settings {
        Settings::from_toml(Some(&self.toml()), "test.toml", std::iter::empty())
            .expect("test settings are valid")
    }

    /// Writes the settings to a file for the binary.
    pub fn write(&self, dir: &std::path::Path) -> PathBuf {
        let p = dir.join("ado-ingest.toml");
        std::fs::write(&p, self.toml()).expect("write config");
        p
    }
}

/// Runs every enabled connector once through the library.
pub async fn run_mode(settings: &Settings, store: &AnyStore, mode: Mode) -> Vec<ConnectorReport> {
    let connectors = sync::select_connectors(settings, &[]).expect("connectors");
    sync::run(
        settings,
        store,
        mode,
        &connectors,
        Arc::new(Metrics::default()),
        CancellationToken::new(),
    )
    .await
    .expect("setup succeeds")
}

/// Runs and asserts every connector succeeded.
pub async fn run_ok(settings: &Settings, store: &AnyStore, mode: Mode) {
    for r in run_mode(settings, store, mode).await {
        if let Err(e) = &r.result {
            panic!("connector {} failed: {e}", r.connector);
        }
    }
}

/// Total requests the simulator has answered.
pub fn sim_requests(sim: &Sim) -> u64 {
    sim.stats()["requests"].as_u64().unwrap_or(0)
}

/// The compiled `ado-ingest` binary.
pub fn binary() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_ado-ingest"))
}
