#!/usr/bin/env bash
# The peer, side by side: `ado-git-repo-insights` (PyPI) and ado-ingest extract the same
# simulated organization, one after the other, each into its own fresh SQLite file; prints a
# Markdown table (wall time, requests counted by the simulator, PRs stored, completed PRs/s,
# the ratio). Not part of CI: it installs the peer from PyPI into a virtualenv under target/.
#
#   bash benches/peer/run.sh            # also run by `cargo bench --bench backfill -- --all`
#
# Knobs (environment): PEER_PROJECTS (default 2), PEER_REPOS_PER_PROJECT (4),
# PEER_PRS_PER_REPO (250) — 2,000 PRs, of which the completed ones are the common set;
# PEER_LATENCY_MS (0) simulated latency per request; PEER_SLEEP (0): the peer's
# `api.rate_limit_sleep_seconds`, a politeness pause after every day it fetches (its default is
# 0.5 s, i.e. 6 minutes per project for two years; 0 measures its code, not its pause);
# PEER_VERSION (100.0.0); PEER_VENV (target/peer-venv); ADO_INGEST_BIN (default:
# target/release/ado-ingest, built if missing).
#
# What each tool does with the same org: the peer walks every project one day at a time over
# the two years of generated history (`status=completed`, `queryTimeRangeType=closed`, one
# request per day, pages of 1,000), upserting each PR as it goes; ado-ingest lists projects and
# repositories, then pages of 1,000 PRs of every status per project, all projects in parallel.
# The common set is the completed PRs: the table compares completed PRs stored per second.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

PROJECTS=${PEER_PROJECTS:-2}
REPOS=${PEER_REPOS_PER_PROJECT:-4}
PRS=${PEER_PRS_PER_REPO:-250}
LATENCY=${PEER_LATENCY_MS:-0}
SLEEP=${PEER_SLEEP:-0}
VERSION=${PEER_VERSION:-100.0.0}
VENV=${PEER_VENV:-$ROOT/target/peer-venv}
SEED=7

log() { echo "peer: $*" >&2; }

if [ ! -x "$VENV/bin/ado-insights" ]; then
  log "installing ado-git-repo-insights==$VERSION into $VENV"
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install --quiet "ado-git-repo-insights==$VERSION" >&2
fi
PEER_VERSION_INSTALLED=$("$VENV/bin/pip" show ado-git-repo-insights 2>/dev/null | awk '/^Version:/ {print $2}')

SIM_BIN=$ROOT/target/release/ado-sim
BIN=${ADO_INGEST_BIN:-$ROOT/target/release/ado-ingest}
if [ ! -x "$SIM_BIN" ] || [ ! -x "$BIN" ]; then
  log "building ado-sim and ado-ingest (release)"
  cargo build --release --quiet -p ado-sim --bin ado-sim >&2
  cargo build --release --quiet --bin ado-ingest >&2
fi

WORK=$(mktemp -d)
SIM_PID=
cleanup() {
  if [ -n "$SIM_PID" ]; then kill "$SIM_PID" 2>/dev/null || true; wait "$SIM_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

"$SIM_BIN" --seed "$SEED" --projects "$PROJECTS" --repos-per-project "$REPOS" \
  --prs-per-repo "$PRS" --work-items-per-project 0 --latency-ms "$LATENCY" \
  --addr 127.0.0.1:0 --port-file "$WORK/port" >"$WORK/sim.out" 2>"$WORK/sim.err" &
SIM_PID=$!
for _ in $(seq 1 300); do [ -s "$WORK/port" ] && break; sleep 0.1; done
PORT=$(cat "$WORK/port")
BASE=http://127.0.0.1:$PORT
AUTH="Authorization: Basic $(printf ':demo-pat' | base64)"

NAMES=$(curl -sf -H "$AUTH" "$BASE/contoso/_apis/projects?api-version=7.1" |
  python3 -c 'import json,sys; print(",".join(p["name"] for p in json.load(sys.stdin)["value"]))')
TRUTH=$(curl -sf "$BASE/_sim/truth?kinds=pull_requests" |
  python3 -c 'import json,sys; prs=json.load(sys.stdin)["pull_requests"]; print(len(prs), sum(1 for p in prs if p["status"]=="completed"))')
read -r TRUTH_ALL TRUTH_COMPLETED <<<"$TRUTH"
# The generated history ends at midnight UTC today and reaches back 730 days.
START=$(date -u -d "today - 731 days" +%F)
END=$(date -u -d "yesterday" +%F)
log "org: $PROJECTS projects ($NAMES), $TRUTH_ALL PRs ($TRUTH_COMPLETED completed), $START → $END, latency ${LATENCY} ms"

stats() { curl -sf "$BASE/_sim/stats" | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["requests"])'; }
now() { date +%s.%N; }

# --- the peer
cat >"$WORK/peer.yaml" <<YAML
organization: contoso
projects: [$(echo "$NAMES" | sed 's/,/, /g')]
api:
  base_url: $BASE
  rate_limit_sleep_seconds: $SLEEP
YAML
curl -sf -X DELETE "$BASE/_sim/stats" >/dev/null
T0=$(now)
(cd "$WORK" && "$VENV/bin/ado-insights" extract --organization contoso --projects "$NAMES" \
  --pat demo-pat --config "$WORK/peer.yaml" --database "$WORK/peer.db" \
  --start-date "$START" --end-date "$END") >"$WORK/peer.log" 2>&1 || { log "the peer failed:"; tail -20 "$WORK/peer.log" >&2; exit 1; }
T1=$(now)
PEER_WALL=$(python3 -c "print(f'{$T1 - $T0:.2f}')")
PEER_REQ=$(stats)
PEER_PRS=$(sqlite3 "$WORK/peer.db" "SELECT COUNT(*) FROM pull_requests")
log "ado-git-repo-insights: $PEER_WALL s, $PEER_REQ requests, $PEER_PRS PRs"

# --- ado-ingest
cat >"$WORK/ours.toml" <<TOML
[database]
url = "sqlite://$WORK/ours.db"
[organization]
url = "$BASE/contoso"
[connectors.repos]
tokens = ["env:PEER_BENCH_PAT"]
requests_per_second = 1000
burst = 1000
TOML
curl -sf -X DELETE "$BASE/_sim/stats" >/dev/null
T0=$(now)
PEER_BENCH_PAT=demo-pat RUST_LOG=warn "$BIN" backfill --config "$WORK/ours.toml" >"$WORK/ours.log" 2>&1 || { log "ado-ingest failed:"; tail -20 "$WORK/ours.log" >&2; exit 1; }
T1=$(now)
OUR_WALL=$(python3 -c "print(f'{$T1 - $T0:.2f}')")
OUR_REQ=$(stats)
OUR_ALL=$(sqlite3 "$WORK/ours.db" "SELECT COUNT(*) FROM pull_requests")
OUR_COMPLETED=$(sqlite3 "$WORK/ours.db" "SELECT COUNT(*) FROM pull_requests WHERE status = 'completed'")
log "ado-ingest: $OUR_WALL s, $OUR_REQ requests, $OUR_ALL PRs ($OUR_COMPLETED completed)"

python3 - "$PEER_WALL" "$PEER_REQ" "$PEER_PRS" "$OUR_WALL" "$OUR_REQ" "$OUR_ALL" "$OUR_COMPLETED" \
  "$TRUTH_ALL" "$TRUTH_COMPLETED" "$PROJECTS" "$LATENCY" "$SLEEP" "$PEER_VERSION_INSTALLED" <<'PY'
import sys
pw, pr, pp, ow, orq, oa, oc, ta, tc, projects, lat, sleep, ver = sys.argv[1:]
pw, ow = float(pw), float(ow)
pr, pp, orq, oa, oc, ta, tc = map(int, (pr, pp, orq, oa, oc, ta, tc))
prate, orate = pp / pw, oc / ow
print(f"Same simulated org: {projects} projects, {ta:,} PRs of which {tc:,} completed; "
      f"latency {lat} ms; peer `api.rate_limit_sleep_seconds: {sleep}`; peer version {ver}.\n")
print("| tool | wall s | requests | completed PRs stored | all PRs stored | completed PRs/s | requests / 1k completed PRs |")
print("|---|---:|---:|---:|---:|---:|---:|")
print(f"| ado-git-repo-insights `extract` | {pw:.2f} | {pr:,} | {pp:,} | {pp:,} | {prate:,.0f} | {pr * 1000 / max(pp, 1):.0f} |")
print(f"| ado-ingest `backfill` | {ow:.2f} | {orq:,} | {oc:,} | {oa:,} | {orate:,.0f} | {orq * 1000 / max(oc, 1):.1f} |")
print(f"\nado-ingest / peer: **{orate / prate:.1f}×** the completed-PR throughput "
      f"({pw / ow:.1f}× less wall time while also fetching the {oa - oc:,} active and abandoned PRs), "
      f"{pr / max(orq, 1):.0f}× fewer requests.")
PY
