#!/usr/bin/env bash
# Runs examples/benchmark.rs (release build) against a live PulseKit server started here:
# `pulsekit serve` on a free 127.0.0.1 port with a temporary data folder, a project and a key.
# Needs the server in the repository's .venv (or PULSEKIT_SERVER_CLI).
set -euo pipefail
cd "$(dirname "$0")"
CLI=${PULSEKIT_SERVER_CLI:-../../.venv/bin/pulsekit}
[ -x "$CLI" ] || { echo "benchmark.sh: the PulseKit server CLI is missing at $CLI" >&2; exit 1; }
DATA=$(mktemp -d)
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
"$CLI" serve --host 127.0.0.1 --port "$PORT" --data-dir "$DATA" >"$DATA/server.log" 2>&1 &
SERVER=$!
cleanup() {
  local status=$?
  kill "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  rm -rf "$DATA"
  exit "$status"
}
trap cleanup EXIT
python3 - "$URL" <<'PY'
import sys, time, urllib.request
deadline = time.time() + 60
while True:
    try:
        urllib.request.urlopen(sys.argv[1] + '/api/v1/health', timeout=2)
        break
    except OSError:
        if time.time() > deadline:
            sys.exit('the server did not start')
        time.sleep(0.2)
PY
SLUG=$("$CLI" project create "Rust benchmark" --data-dir "$DATA" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["slug"])')
DSN=$(PULSEKIT_BASE_URL="$URL" "$CLI" key create --project "$SLUG" --permissions ingest,read --data-dir "$DATA" --json \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["dsn"])')
echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
PULSEKIT_DSN="$DSN" CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}" cargo run --quiet --release --locked --example benchmark
