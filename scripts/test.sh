#!/usr/bin/env bash
# The one test command (`make test`, called by .ci/run): installs what the tests need, then
# runs the linter and every test suite. Any failure fails the whole run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh

echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .

echo "==> server tests"
.venv/bin/pytest -q tests

echo "==> Python SDK and the cross-SDK conformance suite"
.venv/bin/pytest -q sdks/python/tests sdks/conformance

echo "==> Docker image, compose file and a real container (its own dockerd; 75-90 s warm, 6.5 min cold)"
bash scripts/test-docker.sh
