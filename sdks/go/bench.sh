#!/usr/bin/env bash
# Prints the Go SDK's figures (README.md "Performance"): ns/op and allocs/op of Capture and
# CaptureException in the caller's goroutine, and events/s delivered end to end to a live
# `pulsekit serve` (started by the benchmark from ../../.venv, rate limit off). About 1–2 minutes.
set -euo pipefail
cd "$(dirname "$0")"
echo "# $(date -u +%FT%TZ), $(nproc) cores, $(go version | cut -d' ' -f3), load average $(cut -d' ' -f1-3 /proc/loadavg)"
go test -run '^$' -bench 'BenchmarkCapture' -benchmem -count "${COUNT:-5}" .
go test -run '^$' -bench 'BenchmarkDeliveredToLiveServer' -benchtime "${EVENTS:-20000}x" -count 1 .
