#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine: system packages,
# the Python virtualenv with PulseKit and its test extras, and the SDK toolchains' deps.
# Idempotent: a second run only checks. Fails loudly: a missing toolchain is an error, never a skip.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: browser tests; wrk: benchmarks; elixir + erlang: the Elixir SDK (no hex: OTP's own
# inets/ssl for HTTP); gcc: `go test -race` (cgo); postgresql: the server suite's second run, on a
# throwaway cluster the tests start themselves (tests/pg_cluster.py) unless TEST_DATABASE_URL is set.
APT_PACKAGES=(chromium chromium-driver wrk sqlite3 gcc libc6-dev postgresql
  elixir erlang-dev erlang-inets erlang-ssl erlang-public-key erlang-crypto erlang-asn1)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
echo "==> pip install -e .[test]"
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e ".[test]"
echo "==> pip install -e sdks/python[test] (with Flask, Django and FastAPI for the integration tests)"
.venv/bin/pip install -q -e "sdks/python[test]"
echo "==> npm ci tests/sentry/node (official @sentry/node, for the Sentry compatibility tests)"
npm ci --prefix tests/sentry/node --no-audit --no-fund --loglevel=error
