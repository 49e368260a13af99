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

suite "ruff" bash -c '.venv/bin/ruff check . && .venv/bin/ruff format --check .'
suite "TypeScript SDK" bash scripts/test-sdk-typescript.sh
suite "Go SDK" bash scripts/test-sdk-go.sh
suite "Rust SDK" bash scripts/test-sdk-rust.sh
suite "Elixir SDK" bash scripts/test-sdk-elixir.sh
suite "server (SQLite)" .venv/bin/pytest -q tests
# The same suite on PostgreSQL: TEST_DATABASE_URL, else a throwaway cluster removed afterwards.
suite "server (PostgreSQL)" .venv/bin/pytest -q --db postgres tests
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
