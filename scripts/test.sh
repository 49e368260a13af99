#!/usr/bin/env bash
# The one test command (`make test`, called by .ci/run): installs what the tests need, then runs
# the linter and every suite — server, each SDK, the cross-SDK conformance run, the container.
# Every suite runs even when an earlier one failed (so one CI run shows every failure); the run
# fails when any did. A missing toolchain is a failure, never a skip. docs/testing.md lists what
# each suite costs.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-deps.sh || { echo "error: installing the test dependencies failed" >&2; exit 1; }

failed=()
timings=()

suite() {  # suite NAME COMMAND...: run one suite, time it, remember a failure
  local name=$1; shift
  echo
  echo "==> $name"
  local start=$SECONDS
  if "$@"; then
    timings+=("$(printf '%-28s %5ds  ok' "$name" $((SECONDS - start)))")
  else
    timings+=("$(printf '%-28s %5ds  FAILED' "$name" $((SECONDS - start)))")
    failed+=("$name")
  fi
}

suites_side_by_side() {  # NAME1 CMD1 NAME2 CMD2: two suites at once, each one's output shown after it ends
  local logs; logs=$(mktemp -d)
  local start=$SECONDS
  (bash -c "$2" >"$logs/1" 2>&1; echo $? >"$logs/1.rc"; echo $((SECONDS - start)) >"$logs/1.s") &
  (bash -c "$4" >"$logs/2" 2>&1; echo $? >"$logs/2.rc"; echo $((SECONDS - start)) >"$logs/2.s") &
  wait
  local i name
  for i in 1 2; do
    name=$1; [ $i -eq 2 ] && name=$3
    echo
    echo "==> $name (side by side)"
    cat "$logs/$i"
    if [ "$(cat "$logs/$i.rc")" = 0 ]; then
      timings+=("$(printf '%-28s %5ds  ok' "$name" "$(cat "$logs/$i.s")")")
    else
      timings+=("$(printf '%-28s %5ds  FAILED' "$name" "$(cat "$logs/$i.s")")")
      failed+=("$name")
    fi
  done
  rm -rf "$logs"
}

suite "ruff" bash -c '.venv/bin/ruff check . && .venv/bin/ruff format --check .'
suite "TypeScript SDK" bash scripts/test-sdk-typescript.sh
suite "Go SDK" bash scripts/test-sdk-go.sh
suite "Rust SDK" bash scripts/test-sdk-rust.sh
suite "Elixir SDK" bash scripts/test-sdk-elixir.sh
# The server suite on SQLite and, at the same time, on PostgreSQL (TEST_DATABASE_URL, else a throwaway
# cluster removed afterwards). Much of each run waits on server processes, browsers and timers, so
# the two together take far less than one after the other (docs/testing.md).
suites_side_by_side \
  "server (SQLite)" ".venv/bin/pytest -q tests" \
  "server (PostgreSQL)" ".venv/bin/pytest -q --db postgres tests"
# After the SDK suites: their toolchains are installed and their builds are warm.
suite "Python SDK + conformance" .venv/bin/pytest -q sdks/python/tests sdks/conformance
# Starts its own dockerd; builds the image (a debootstrap base when none is cached) and runs it.
suite "Docker image + container" bash scripts/test-docker.sh

echo
echo "==> time per suite (2 cores)"
printf '%s\n' "${timings[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}" >&2
  exit 1
fi
