#!/usr/bin/env bash
# Checks of the Rust SDK (sdks/rust): format, lint, unit + integration + doc tests, examples,
# and the quickstart against a live server. Run from the repository root.
#
# One target/ for every step (sdks/rust/target, also used by the conformance manifest's setup),
# debug builds only. The conformance runner itself (pytest sdks/conformance -k rust) is run
# separately by the project's test command.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

fail() { echo "test-sdk-rust: $*" >&2; exit 1; }

# Rust is not installed from Debian here (Debian 12's rustc 1.63 is older than the MSRV, 1.88).
command -v cargo >/dev/null || fail "cargo is missing: install Rust >= 1.88 (https://rustup.rs) and re-run"
for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    command -v rustup >/dev/null || fail "cargo ${component/rustfmt/fmt} is missing and rustup is not installed"
    rustup component add "$component"
  fi
done

# The quickstart test starts a real PulseKit server from the repository's virtualenv.
if [ ! -x .venv/bin/pulsekit ]; then
  command -v python3 >/dev/null || fail "python3 is missing (needed for the PulseKit server)"
  python3 -m venv .venv
  .venv/bin/pip install -q -e '.[test]'
fi
export PULSEKIT_SERVER_CLI="$ROOT/.venv/bin/pulsekit"

export CARGO_TARGET_DIR="$ROOT/sdks/rust/target"
export CARGO_TERM_COLOR=never
cd sdks/rust
started=$(date +%s)
cargo fetch --locked
cargo fmt --all --check
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
# The lighter configurations compile too: ureq only, and no HTTP client (a custom Transport).
cargo check --locked --no-default-features --features ureq
cargo check --locked --no-default-features
echo "test-sdk-rust: fmt, clippy and checks took $(($(date +%s) - started)) s"
cargo test --all-features --locked
