#!/usr/bin/env bash
# Reproduces the scoring figures of BENCHMARKS.md (issue 4): starts
# `qad serve` on a fresh database, creates the tokens scorebench needs with
# `qad token create`, and runs cmd/scorebench against it: 32 inspectors
# finalising every picked review while 20 supervisors watch their feedback
# streams, then the team report over every agent and week.
#
#   scripts/bench-scoring.sh                       # 2,000 agents × 12 weeks
#   scripts/bench-scoring.sh -agents 40 -weeks 2   # smoke run, seconds
#
# The HTTP API's calls are timed too (-http); -watch-over http holds the
# feedback streams over HTTP instead of gRPC, and SUPERVISORS_MAX=199 with
# -supervisors 200 gives 200 supervisors each watching (issue 10).
#
# Arguments go to scorebench (see `go run ./cmd/scorebench -h`). Output,
# results (scoring.json), server CPU profiles (finalise.cpu.pprof,
# report.cpu.pprof) and the server log go to $BENCH_DIR (default
# /tmp/qa-bench-scoring).
#
# With QA_BENCH_POSTGRES_DSN set (a database where schemas may be created
# and dropped, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)
# the server uses a fresh PostgreSQL schema instead of a SQLite file.
set -euo pipefail
DIR=${BENCH_DIR:-/tmp/qa-bench-scoring}
ADDR=127.0.0.1:7591
METRICS=127.0.0.1:7592
HTTP=127.0.0.1:7590
PROFILE_SECONDS=${PROFILE_SECONDS:-15}
cd "$(dirname "$0")/.."
mkdir -p "$DIR/bin"
go build -o "$DIR/bin/" ./cmd/qad ./cmd/scorebench
export PATH="$DIR/bin:$PATH"

PG=${QA_BENCH_POSTGRES_DSN:-}
if [ -z "$PG" ]; then
  backend=SQLite
  rm -f "$DIR/scoring.db" "$DIR/scoring.db-wal" "$DIR/scoring.db-shm"
  dsn="$DIR/scoring.db"
else
  backend=PostgreSQL
  psql -q "$PG" -c "DROP SCHEMA IF EXISTS bench_scoring CASCADE" -c "CREATE SCHEMA bench_scoring" >/dev/null
  case "$PG" in *\?*) dsn="$PG&search_path=bench_scoring" ;; *) dsn="$PG?search_path=bench_scoring" ;; esac
fi

qad serve --db "$dsn" --migrate --sample-schedule off --listen "$ADDR" --http-listen "$HTTP" --metrics-listen "$METRICS" --pprof \
  --log-level warn 2>"$DIR/qad.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/${ADDR%:*}/${ADDR#*:}") 2>/dev/null && break; sleep 0.1; done

# Tokens for everyone scorebench acts as. Inspectors and supervisors are
# created for the largest counts scorebench is likely to be given.
tokens="$DIR/tokens.txt"
: >"$tokens"
add_token() { echo "$1 $2 $(qad token create --db "$dsn" --role "$1" --subject "$2")" >>"$tokens"; }
add_token admin bench
add_token ingest bench
for i in $(seq -f %02g 0 ${INSPECTORS_MAX:-31}); do add_token inspector "insp-$i"; done
for i in $(seq -f %02g 0 ${SUPERVISORS_MAX:-19}); do add_token supervisor "sup-$i"; done

echo "== scorebench against qad serve on $backend, $(nproc) cores"
scorebench -addr "$ADDR" -http "http://$HTTP" -tokens "$tokens" -server-pid "$pid" \
  -pprof "http://$METRICS" -profile-dir "$DIR" -profile-seconds "$PROFILE_SECONDS" \
  -json "$DIR/scoring.json" "$@"
peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
echo "qad peak RSS   $((peak_kb / 1024)) MiB"
if [ -z "$PG" ]; then
  echo "database       $(( ($(stat -c %s "$DIR/scoring.db") + $(stat -c %s "$DIR/scoring.db-wal" 2>/dev/null || echo 0)) / 1048576 )) MiB (file + WAL)"
fi
kill -TERM "$pid"; wait "$pid" || true
