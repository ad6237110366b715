#!/usr/bin/env bash
# Reproduces the "memory before authentication" figure of BENCHMARKS.md
# (issue 8): starts the real `qad serve` on a fresh SQLite file, makes 48
# concurrent GetTranscript calls carrying a 30 MB id each from 48
# connections (half without a token, half with an unknown one), and prints
# qad's VmRSS before and its VmHWM (peak) after, from /proc.
#
#   scripts/bench-unauth-memory.sh
#
# For the figure before the fix, run it on a checkout of 53bc602; the test
# then fails, reporting the growth.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -count=1 -run '^TestUnauthenticatedBodiesAreNotRead$' -v ./e2e/ | grep -E 'qad (RSS|peak)|^(--- |ok|FAIL)'
