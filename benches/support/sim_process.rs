//! The simulator as its own process for the benchmarks, so a measurement of ado-ingest does
//! not also count the simulator's JSON generation on the same threads. Where the machine has
//! more than one CPU and `taskset` exists, the simulator can be pinned to the last CPU and
//! ado-ingest to the others ([`Pinning`]). Controlled over its admin API (`/_sim/…`).
//!
//! The binary is `target/release/ado-sim`: `benches/all.sh` builds it
//! (`cargo build --release -p ado-sim`).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Which CPUs the two processes may use.
#[derive(Debug, Clone)]
pub struct Pinning {
    /// `taskset -c` list for the simulator, e.g. `1`.
    pub sim: String,
    /// `taskset -c` list for ado-ingest, e.g. `0`.
    pub ingest: String,
}

impl Pinning {
    /// The last CPU for the simulator and the others for ado-ingest, when there are at least
    /// two CPUs and `taskset` runs; `None` otherwise.
    pub fn split() -> Option<Pinning> {
        let cpus = std::thread::available_parallelism().ok()?.get();
        let taskset = Command::new("taskset")
            .args(["-c", "0", "true"])
            .status()
            .ok()?
            .success();
        if cpus < 2 || !taskset {
            return None;
        }
        Some(Pinning {
            sim: (cpus - 1).to_string(),
            ingest: if cpus == 2 {
                "0".into()
            } else {
                format!("0-{}", cpus - 2)
            },
        })
    }

    /// `cmd` run under `taskset -c cpus`.
    pub fn command(cpus: Option<&str>, program: &std::path::Path) -> Command {
        match cpus {
            Some(c) => {
                let mut cmd = Command::new("taskset");
                cmd.args(["-c", c]).arg(program);
                cmd
            }
            None => Command::new(program),
        }
    }
}

/// A running `ado-sim` child process.
pub struct SimProcess {
    child: Child,
    port: u16,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// The simulator binary next to this bench's own target directory.
pub fn sim_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/release/deps/backfill-… → target/release/ado-sim
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target directory");
    let bin = dir.join("ado-sim");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --release -p ado-sim` first (benches/all.sh does)",
        bin.display()
    );
    bin
}

impl SimProcess {
    /// Starts `ado-sim` with `args` (its CLI flags), optionally pinned to `cpus`, and waits
    /// until it listens.
    pub async fn start(args: &[String], cpus: Option<&str>) -> SimProcess {
        let dir = tempfile::tempdir().expect("temp dir");
        let port_file = dir.path().join("port");
        let mut cmd = Pinning::command(cpus, &sim_binary());
        cmd.args(args)
            .arg("--port-file")
            .arg(&port_file)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let child = cmd.spawn().expect("start ado-sim");
        let deadline = Instant::now() + Duration::from_secs(300);
        let port = loop {
            if let Some(p) = std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|t| t.trim().parse().ok())
            {
                break p;
            }
            assert!(Instant::now() < deadline, "ado-sim did not start in 300 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        SimProcess {
            child,
            port,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    /// The organization URL, `http://127.0.0.1:PORT/contoso`.
    pub fn base_url(&self) -> String {
        self.url_of("contoso")
    }

    /// `http://127.0.0.1:PORT/{path}`: the collection URL of a `--server-mode` simulator
    /// (`tfs/DefaultCollection`).
    pub fn url_of(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }

    fn admin(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/_sim/{path}", self.port)
    }

    /// `GET /_sim/stats`.
    pub async fn stats(&self) -> serde_json::Value {
        self.http
            .get(self.admin("stats"))
            .send()
            .await
            .expect("sim stats")
            .json()
            .await
            .expect("stats JSON")
    }

    /// `DELETE /_sim/stats` (also clears the request log).
    pub async fn reset_stats(&self) {
        self.http
            .delete(self.admin("stats"))
            .send()
            .await
            .expect("reset sim stats");
    }

    /// `POST /_sim/mutate`.
    pub async fn mutate(
        &self,
        seed: u64,
        changes: usize,
        work_item_changes: usize,
    ) -> serde_json::Value {
        self.http
            .post(self.admin("mutate"))
            .json(&serde_json::json!({
                "seed": seed,
                "changes": changes,
                "work_item_changes": work_item_changes,
            }))
            .send()
            .await
            .expect("sim mutate")
            .json()
            .await
            .expect("mutate JSON")
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
