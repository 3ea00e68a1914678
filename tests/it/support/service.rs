//! The real binary's `run` as a child process: started with a config file, its HTTP address
//! read from the `listening on` line it prints, asked over HTTP, stopped with SIGTERM or
//! killed. Its stderr goes to a file that is printed when a test fails (or with `TEST_LOG`).

use super::Setup;
use super::prometheus::{self, Exposition};
use ado_sim::{Pat, SimConfig};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The `[server]` section of a service under test: a free loopback port.
pub const SERVER: &str = "\n[server]\nlisten = \"127.0.0.1:0\"\n";

/// Boards' own token, so it can be revoked while Repos keeps `demo-pat`.
pub const BOARDS_TOKEN: &str = r#"{ name = "boards", secret = "boards-pat" }"#;

/// A small org whose Repos and Boards tokens are distinct, so one can be revoked alone.
pub fn two_token_org(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        projects: 2,
        repos_per_project: 2,
        prs_per_repo: 25,
        work_items_per_project: 12,
        pats: vec![Pat::full("demo-pat"), Pat::full("boards-pat")],
        ..SimConfig::default()
    }
}

/// Repos and Boards, Boards with [`BOARDS_TOKEN`].
pub fn two_connectors<'a>(sim_url: &'a str, db_url: &'a str) -> Setup<'a> {
    let mut setup = Setup::new(sim_url, db_url);
    setup.connectors = vec!["repos", "boards"];
    setup.tokens_for = vec![("boards", BOARDS_TOKEN)];
    setup
}

/// A running `ado-ingest run`.
pub struct Service {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    http: reqwest::Client,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Service {
    /// Starts `run --config config` and waits (up to 60 s) for it to listen.
    pub fn start(config: &Path) -> Service {
        Self::start_with_env(config, &[])
    }

    /// [`Service::start`] with extra environment variables.
    pub fn start_with_env(config: &Path, env: &[(&str, &str)]) -> Service {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("stderr.log");
        let stderr = std::fs::File::create(&log).expect("log file");
        let mut child = super::binary()
            .args(["run", "--config"])
            .arg(config)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info,sqlx=warn".into()),
            )
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn ado-ingest run");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("listening on ") {
                    let _ = tx.send(addr.to_string());
                }
            }
        });
        let base = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(b) => b,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "`run` did not start listening; its log:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
        };
        Service {
            child,
            base,
            http: reqwest::Client::new(),
            log,
            _dir: dir,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `GET path`: status and body.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}\nlog:\n{}", self.log()));
        let status = r.status().as_u16();
        (status, r.text().await.unwrap_or_default())
    }

    /// `/metrics`, parsed strictly.
    pub async fn metrics(&self) -> Exposition {
        let (status, body) = self.get("/metrics").await;
        assert_eq!(status, 200, "{body}");
        prometheus::parse(&body).unwrap_or_else(|e| panic!("/metrics does not parse: {e}\n{body}"))
    }

    /// Succeeded passes of `connector` so far.
    pub async fn passes(&self, connector: &str, outcome: &str) -> u64 {
        self.metrics()
            .await
            .value(
                "ado_ingest_passes_total",
                &[("connector", connector), ("outcome", outcome)],
            )
            .unwrap_or(0.0) as u64
    }

    /// Waits until every connector in `connectors` has at least `n` succeeded passes.
    pub async fn wait_passes(&self, connectors: &[&str], n: u64, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let mut done = true;
            for c in connectors {
                done &= self.passes(c, "succeeded").await >= n;
            }
            if done {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{connectors:?} did not reach {n} successful passes in {within:?}; log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Polls `check` every 100 ms until it is true; panics with `what` and the log after
    /// `within`.
    pub async fn eventually<F, Fut>(&self, within: Duration, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + within;
        while !check().await {
            assert!(
                Instant::now() < deadline,
                "{what}: not within {within:?}; log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits (up to 30 s) until `connector`'s last pass failed with `kind`, by `/metrics`.
    pub async fn wait_error(&self, connector: &str, kind: &str) {
        self.eventually(
            Duration::from_secs(30),
            &format!("{connector} reports {kind}"),
            || async {
                self.metrics().await.value(
                    "ado_ingest_last_pass_error",
                    &[("connector", connector), ("kind", kind)],
                ) == Some(1.0)
            },
        )
        .await;
    }

    /// Resident memory in KiB (Linux).
    pub fn rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
            .unwrap_or(0)
    }

    /// Sends SIGTERM and waits for the exit (up to 30 s): its status and how long it took.
    pub fn terminate(&mut self) -> (ExitStatus, Duration) {
        let started = Instant::now();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(sent.success());
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return (status, started.elapsed());
            }
            if started.elapsed() > Duration::from_secs(30) {
                let _ = self.child.kill();
                panic!("`run` ignored SIGTERM for 30 s; log:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: what a crash or an OOM kill does.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() || std::env::var_os("TEST_LOG").is_some() {
            eprintln!("--- `run` log ---\n{}", self.log());
        }
    }
}
