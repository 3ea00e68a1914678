//! How long `Sim::new` takes, and the first generation of every PR's children (lazy), for the
//! default org and for 5,000 PRs: `cargo run --release -p ado-sim --example sim_new_timing`.

use std::time::Instant;
fn main() {
    for (name, prs) in [("default", 100usize), ("5000prs", 417)] {
        let cfg = ado_sim::SimConfig {
            prs_per_repo: prs,
            start_time: Some(chrono::DateTime::from_timestamp(1_750_000_000, 0).unwrap()),
            ..Default::default()
        };
        let mut best = f64::MAX;
        let mut kids = f64::MAX;
        for _ in 0..7 {
            let t = Instant::now();
            let s = ado_sim::Sim::new(cfg.clone());
            let e = t.elapsed().as_secs_f64() * 1000.0;
            best = best.min(e);
            let t = Instant::now();
            let v = s.truth_kinds(&["pull_request_iterations"]);
            std::hint::black_box(&v);
            kids = kids.min(t.elapsed().as_secs_f64() * 1000.0);
        }
        println!(
            "{name}: {} PRs, Sim::new best of 7: {best:.2} ms; first truth of pull_request_iterations (generates every PR's children): {kids:.2} ms",
            3 * 4 * prs
        );
    }
}
