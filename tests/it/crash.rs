//! Killing a backfill at random moments (SIGKILL: no cleanup runs) and re-running it ends with
//! the same database as an uninterrupted run: nothing lost, nothing skipped.

use crate::support::{self, ORG, Setup, TestDb, truth};
use ado_sim::{FaultConfig, SimConfig};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_killed_repeatedly_then_resumed_equals_the_truth() {
    let db = TestDb::sqlite();
    let sim = support::start_sim(SimConfig {
        seed: 21,
        projects: 3,
        repos_per_project: 3,
        prs_per_repo: 1500,
        // Slow answers stretch the backfill so the kills land mid-walk.
        faults: FaultConfig {
            latency_ms: 120,
            latency_jitter_ms: 60,
            ..FaultConfig::default()
        },
        ..SimConfig::default()
    })
    .await;
    let url = sim.base_url();
    let mut setup = Setup::new(&url, db.url());
    setup.concurrency = 1;
    let dir = tempfile::tempdir().unwrap();
    let config = setup.write(dir.path());
    let mut rng = fastrand::Rng::with_seed(0xC0FFEE);
    let mut kills = 0;
    for _ in 0..5 {
        let mut child = support::binary()
            .args(["backfill", "--config"])
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(rng.u64(150..1500))).await;
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        let _ = child.wait();
    }
    assert!(kills >= 3, "most runs were killed mid-way ({kills})");
    let out = support::binary()
        .args(["backfill", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = db.store().await;
    truth::compare(&store, ORG, &sim.sim.truth())
        .await
        .assert_empty("after repeated SIGKILL and resume");
    sim.shutdown().await;
}
