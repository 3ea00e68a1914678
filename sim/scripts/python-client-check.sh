#!/usr/bin/env bash
# Proves that Microsoft's own Python client (`azure-devops` on PyPI) works against ado-sim:
# route discovery (OPTIONS + ResourceAreas), api-version in the Accept header, Basic auth with
# an empty user name, and $top/$skip paging. Not part of CI: it needs PyPI.
#
# Usage: sim/scripts/python-client-check.sh        (from anywhere inside the workspace)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$(mktemp -d)"
sim_pid=""
cleanup() {
    if [[ -n "$sim_pid" ]]; then kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "== virtualenv in $work"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check azure-devops
"$work/venv/bin/pip" show azure-devops | grep -E '^(Name|Version)'

echo "== building and starting ado-sim"
(cd "$root" && cargo build --quiet -p ado-sim)
"$root/target/debug/ado-sim" --addr 127.0.0.1:0 --seed 17 --projects 3 --repos-per-project 3 \
    --prs-per-repo 150 --port-file "$work/port" >"$work/sim.out" 2>"$work/sim.err" &
sim_pid=$!
for _ in $(seq 1 100); do [[ -s "$work/port" ]] && break; sleep 0.1; done
[[ -s "$work/port" ]] || { echo "ado-sim did not start"; cat "$work/sim.err"; exit 1; }
cat "$work/sim.out"

echo "== running the Python client"
export AZURE_DEVOPS_CACHE_DIR="$work/cache"
"$work/venv/bin/python" "$here/python_client_check.py" "http://127.0.0.1:$(cat "$work/port")"
