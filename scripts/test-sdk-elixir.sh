#!/usr/bin/env bash
# Checks of the Elixir SDK (sdks/elixir), from the repository root, on a fresh Debian machine:
# installs Debian's Elixir/Erlang when missing (no hex: the SDK has zero hex dependencies),
# then format, compile with warnings as errors (SDK, conformance program, example project)
# and the ExUnit suite (a local :gen_tcp server, a TLS server, and a live PulseKit server).
# The conformance runner is run separately: .venv/bin/pytest -q sdks/conformance -k elixir
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT="$PWD"

# Debian's elixir 1.14 / OTP 25; :httpc, :ssl and :public_key come as separate packages.
PACKAGES=(elixir erlang-dev erlang-inets erlang-ssl erlang-public-key erlang-crypto erlang-asn1)
missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "test-sdk-elixir: apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v mix >/dev/null || { echo "test-sdk-elixir: mix not found after installing elixir" >&2; exit 1; }

# The live-server tests start the PulseKit server from the repository's virtualenv.
if [ -z "${PULSEKIT_PYTHON:-}" ]; then
  if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import pulsekit' 2>/dev/null; then
    echo "test-sdk-elixir: creating .venv with the PulseKit server"
    python3 -m venv .venv
    .venv/bin/pip install -q -e '.[test]'
  fi
  export PULSEKIT_PYTHON="$ROOT/.venv/bin/python"
fi

# Mix keeps its own files under HOME; nothing is fetched (no hex, no rebar).
export HOME="${HOME:-/root}"
unset PULSEKIT_DSN PULSEKIT_ENDPOINT PULSEKIT_API_KEY

cd sdks/elixir
echo "== mix format --check-formatted"
mix format --check-formatted
echo "== mix compile --warnings-as-errors (SDK, conformance program, example project)"
MIX_ENV=dev mix compile --warnings-as-errors --force
MIX_ENV=test mix compile --warnings-as-errors --force
(cd conformance && MIX_ENV=dev mix compile --warnings-as-errors --force)
(cd examples/shop && MIX_ENV=dev mix compile --warnings-as-errors --force)
echo "== mix test"
MIX_ENV=test mix test --warnings-as-errors
