//! Test support: the simulator in-process on port 0, a fresh database per test (SQLite always,
//! Postgres when `TEST_DATABASE_URL` is set), settings pointing one at the other, the real
//! binary, and the ground-truth comparison every connector test uses. `TEST_LOG=1` turns
//! logging on.

pub mod browser;
pub mod prometheus;
pub mod service;
pub mod truth;

use ado_ingest::config::Settings;
use ado_ingest::connectors::Mode;
use ado_ingest::metrics::Metrics;
use ado_ingest::store::AnyStore;
use ado_ingest::sync::{self, ConnectorReport};
pub use ado_ingest::testing::TestDb;
use ado_sim::{RunningSim, Sim, SimConfig};
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

/// Connector settings tuned for tests: fast retries, a generous local ceiling. Every knob a
/// test turns is a field, so the TOML a test runs with is what these fields say.
pub struct Setup<'a> {
    pub sim_url: &'a str,
    pub db_url: &'a str,
    /// The connector sections to enable (`repos`, `boards`), each with the settings below.
    pub connectors: Vec<&'a str>,
    /// TOML array items for `tokens`.
    pub tokens: &'a str,
    pub requests_per_second: f64,
    pub burst: u32,
    pub concurrency: usize,
    /// Retries of one request (`http.max_retries`).
    pub max_retries: u32,
    /// `organization.projects` (empty: every project).
    pub projects: Vec<String>,
    /// More TOML appended after the connector sections.
    pub extra: &'a str,
    /// Each connector's `interval` (for `run`).
    pub interval: &'a str,
    /// Tokens of one connector instead of `tokens`: (connector, TOML array items).
    pub tokens_for: Vec<(&'a str, &'a str)>,
    /// More lines of the `[sync]` section (`lease_ttl = "2s"`, …).
    pub sync: &'a str,
    /// Whether the Repos connector fetches the inside of every pull request (the product's
    /// default). Off unless a test is about it: the listing tests walk tens of thousands of
    /// PRs, and the inside costs six requests and a transaction per PR (tests/it/pr_depth.rs
    /// covers it).
    pub pr_depth: bool,
    /// `organization.release_url` (the simulator serves releases under its own base URL).
    pub release_url: Option<&'a str>,
}

impl<'a> Setup<'a> {
    pub fn new(sim_url: &'a str, db_url: &'a str) -> Self {
        Self {
            sim_url,
            db_url,
            connectors: vec!["repos"],
            tokens: r#"{ name = "demo", secret = "demo-pat" }"#,
            requests_per_second: 2000.0,
            burst: 2000,
            concurrency: 4,
            max_retries: 12,
            projects: Vec::new(),
            extra: "",
            interval: "5m",
            tokens_for: Vec::new(),
            sync: "",
            pr_depth: false,
            release_url: None,
        }
    }

    pub fn toml(&self) -> String {
        let projects = self
            .projects
            .iter()
            .map(|p| format!("{p:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut text = format!(
            r#"
[database]
url = "{db}"

[organization]
url = "{sim}"
projects = [{projects}]
{release_url}

[sync]
overlap = "2s"
{sync}

[http]
timeout = "20s"
min_backoff = "5ms"
max_backoff = "300ms"
max_retries = {retries}
"#,
            db = self.db_url,
            sim = self.sim_url,
            retries = self.max_retries,
            sync = self.sync,
            release_url = self
                .release_url
                .map(|u| format!("release_url = \"{u}\""))
                .unwrap_or_default(),
        );
        for c in &self.connectors {
            let tokens = self
                .tokens_for
                .iter()
                .find(|(name, _)| name == c)
                .map_or(self.tokens, |(_, t)| *t);
            text.push_str(&format!(
                "\n[connectors.{c}]\ntokens = [{tokens}]\nrequests_per_second = {rps}\n\
                 burst = {burst}\nconcurrency = {conc}\ninterval = \"{interval}\"\n",
                interval = self.interval,
                rps = self.requests_per_second,
                burst = self.burst,
                conc = self.concurrency,
            ));
            if *c == "repos" && !self.pr_depth {
                text.push_str("\n[connectors.repos.pull_request_depth]\nenabled = false\n");
            }
        }
        text.push_str(self.extra);
        text
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
