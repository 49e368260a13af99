#!/usr/bin/env bash
# The Go SDK's checks (issue #12): gofmt, go vet, staticcheck and `go test -race ./...` — unit
# tests on httptest servers, plus the quickstart and the example against a live `pulsekit serve`.
# Runs from the repository root (as root on a fresh Debian machine: it installs what is missing);
# a missing Go toolchain fails the run, it never skips. The conformance runner (pytest
# sdks/conformance -k go) is separate: its manifest builds the Go program itself.
set -euo pipefail
cd "$(dirname "$0")/.."

STATICCHECK_VERSION=v0.8.2 # honnef.co/go/tools 2025.x line; supports Go 1.26

if ! command -v go >/dev/null; then
  echo "error: 'go' is not on PATH; the Go SDK needs Go 1.22 or newer (https://go.dev/dl/)" >&2
  exit 1
fi
echo "==> $(go version)"

# -race needs cgo, hence a C compiler.
if ! command -v gcc >/dev/null; then
  echo "==> apt-get install gcc (for go test -race)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq gcc libc6-dev >/dev/null
fi

# The quickstart and example tests start a real server from the repository's virtualenv.
if [ ! -x .venv/bin/pulsekit ]; then
  echo "==> creating .venv with the PulseKit server (for the live-server tests)"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install -q -e .
fi

# staticcheck is installed once from the Go module proxy into a versioned cache folder.
TOOLS_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/pulsekit-go-tools/staticcheck-${STATICCHECK_VERSION}"
if [ ! -x "$TOOLS_DIR/staticcheck" ]; then
  echo "==> go install honnef.co/go/tools/cmd/staticcheck@${STATICCHECK_VERSION} (about a minute, once)"
  GOBIN="$TOOLS_DIR" go install "honnef.co/go/tools/cmd/staticcheck@${STATICCHECK_VERSION}"
fi

cd sdks/go
echo "==> gofmt -l"
unformatted="$(gofmt -l .)"
if [ -n "$unformatted" ]; then
  echo "error: gofmt would change these files:" >&2
  echo "$unformatted" >&2
  exit 1
fi
echo "==> go vet ./..."
go vet ./...
echo "==> staticcheck ./..."
"$TOOLS_DIR/staticcheck" ./...
echo "==> go test -race ./..."
go test -race -count=1 ./...
