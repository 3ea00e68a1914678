#!/usr/bin/env bash
# Every table of BENCHMARKS.md, in one command:
#
#   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres bash benches/all.sh > bench-report.md
#
# 1. `cargo bench --bench backfill -- --all`: the Repos connector over the small / medium /
#    large profiles (throughput and scaling), against the rate-limit bound, the store alone and
#    the peer (ado-git-repo-insights, installed into a virtualenv under target/).
# 2. `cargo bench --bench boards` at the small and medium profiles' work-item counts
#    (2 × 2,500 and 20 × 5,000 work items).
# 3. `cargo bench --bench pr_depth`: the inside of 10,000 PRs, their commits and the default
#    branches' histories; backfill, incremental and idle sync against a naive re-fetch.
# 4. `cargo bench --bench pipelines`: the Pipelines connector over 20,000 builds (timelines and
#    build changes), 2,000 releases and the environments' deployment records; backfill, sync
#    after a mutation round and idle sync against the minimum the page caps allow.
# 5. `cargo bench --bench webhooks`: what each webhook's re-fetch costs (requests by endpoint,
#    receipt to re-fetched), a burst of 100 deliveries for one PR, a flood of 1,000.
#
# Extra arguments go to the backfill suite (e.g. `--no-large`, `--no-peer`, `--repeat 1`).
# Without TEST_DATABASE_URL only SQLite is measured. Progress goes to stderr, tables to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

# The simulator runs as its own process in the end-to-end scenarios (benches/support/sim_process.rs).
cargo build --locked --release -p ado-sim >&2

echo "## Repos (pull requests): profiles, rate-limit bound, store alone, peer"
echo
cargo bench --locked --bench backfill -- --all "$@"

for profile in "small 2 2500" "medium 20 5000"; do
  read -r name projects per_project <<<"$profile"
  echo
  echo "## Boards (work items): $name profile, $projects projects × $per_project work items"
  echo
  BENCH_PROJECTS=$projects BENCH_WORK_ITEMS_PER_PROJECT=$per_project \
    cargo bench --locked --bench boards
done

echo
echo "## Pull request depth, Pull Commits and Commits: 10,000 PRs"
echo
cargo bench --locked --bench pr_depth

echo
echo "## Pipelines: 20,000 builds, 2,000 releases, environments"
echo
cargo bench --locked --bench pipelines

echo
echo "## Webhooks: re-fetch cost and latency, bursts, a flood of deliveries"
echo
cargo bench --locked --bench webhooks
