#!/usr/bin/env bash
# Every check of the TypeScript SDK (sdks/typescript, issue #11): strict type-check, build (ESM + CJS +
# .d.ts), unit tests against a local HTTP server, stack-parser tests, process hooks, the quickstart,
# the example app and the npm tarball against a live `pulsekit serve`, and the browser test in Debian's
# Chromium. Run from anywhere, as root on a fresh Debian machine; ~2 minutes here.
# The conformance runner (pytest sdks/conformance) is run separately by the project's test command.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

fail() { echo "test-sdk-typescript: $*" >&2; exit 1; }

command -v node >/dev/null || fail 'node is not installed (Node 18 or newer is required)'
command -v npm >/dev/null || fail 'npm is not installed'
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' \
  || fail "Node 18 or newer is required, found $(node --version)"

if [ ! -x /usr/bin/chromium ]; then
  [ "$(id -u)" = 0 ] || fail '/usr/bin/chromium is missing: apt-get install -y chromium (as root)'
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
fi
[ -x /usr/bin/chromium ] || fail 'Chromium is still missing at /usr/bin/chromium'

# The live tests start the real server from the repository's virtualenv.
if ! .venv/bin/python -c 'import pulsekit' 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install -q -e '.[test]' -e sdks/python
fi
export PULSEKIT_PYTHON="$ROOT/.venv/bin/python"

cd sdks/typescript
# Playwright drives Debian's Chromium: never download a browser.
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
echo '== tsc --noEmit (strict)'
node node_modules/typescript/bin/tsc --noEmit -p tsconfig.json
echo '== build (dist/esm, dist/cjs)'
node scripts/build.mjs
echo '== node --test'
node --test --test-timeout=180000 --test-concurrency=1 test/*.test.mjs
