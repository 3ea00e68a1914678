//! What an org of 20,000 builds costs: `Sim::new`, and the Build truth kinds (every timeline
//! and every build's changes are derived on read): `cargo run --release -p ado-sim --example
//! builds_timing`.

use std::time::Instant;

fn main() {
    let cfg = ado_sim::SimConfig {
        projects: 10,
        repos_per_project: 2,
        prs_per_repo: 10,
        work_items_per_project: 0,
        definitions_per_project: 20,
        builds_per_definition: 100,
        start_time: Some(chrono::DateTime::from_timestamp(1_750_000_000, 0).unwrap()),
        ..Default::default()
    };
    let t = Instant::now();
    let sim = ado_sim::Sim::new(cfg);
    println!("Sim::new (20,000 builds): {:.0} ms", ms(t));
    for kind in [
        "pipelines",
        "builds",
        "build_timeline_records",
        "build_changes",
    ] {
        let t = Instant::now();
        let v = sim.truth_kinds(&[kind]);
        let n = v[kind].as_array().map_or(0, Vec::len);
        println!("truth {kind}: {n} elements in {:.0} ms", ms(t));
    }
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}
