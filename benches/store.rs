//! Store-alone throughput (harness-less): `cargo bench --bench store [-- --repeat N]`.
//!
//! Mapped pull-request rows straight into `Store::apply`, no HTTP; see
//! `benches/support/store_alone.rs`. `cargo bench --bench backfill -- --all` prints the same
//! table with the rest of the suite.

#[path = "support/store_alone.rs"]
mod store_alone;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let repeat = args
        .iter()
        .position(|a| a == "--repeat")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    println!("{}", store_alone::run(repeat).await);
}
