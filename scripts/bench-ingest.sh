#!/usr/bin/env bash
# Reproduces the ingest figures of BENCHMARKS.md for N transcripts (default
# 200000): (a) the store's own batched insert (cmd/storebench), then (b) an
# end-to-end `qactl ingest` of qagen's JSONL into a running `qad serve` on
# a fresh SQLite file, with the server's RSS sampled every second and the
# bytes on disk per transcript, then (c) the same ingest with redaction
# and the automatic checks off (OFF_FLAGS). All run in this one
# invocation so that b/a and b/c compare figures from the same machine
# state.
#
#   scripts/bench-ingest.sh 1000000
#
# Data and databases go to $BENCH_DIR (default /tmp/qa-bench; 1M
# transcripts take ~4.4 GB of JSONL and ~0.8 GB of database).
#
# With QA_BENCH_POSTGRES_DSN set (a database where schemas may be created
# and dropped, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)
# both runs use PostgreSQL instead, each in a fresh schema.
set -euo pipefail
N=${1:-200000}
DIR=${BENCH_DIR:-/tmp/qa-bench}
ADDR=${BENCH_ADDR:-127.0.0.1:7591}
cd "$(dirname "$0")/.."
mkdir -p "$DIR/bin"
go build -o "$DIR/bin/" ./cmd/qad ./cmd/qactl ./cmd/qagen ./cmd/storebench
export PATH="$DIR/bin:$PATH"

data="$DIR/data-$N"
if [ ! -s "$data/transcripts.jsonl" ]; then
  mkdir -p "$data"
  echo "generating $N transcripts in $data"
  qagen --transcripts "$N" --out "$data"
fi

PG=${QA_BENCH_POSTGRES_DSN:-}
# fresh_db NAME prints a DSN for a fresh database: a SQLite file, or a new
# PostgreSQL schema reached through search_path.
fresh_db() {
  if [ -z "$PG" ]; then
    rm -f "$DIR/$1.db" "$DIR/$1.db-wal" "$DIR/$1.db-shm"
    echo "$DIR/$1.db"
  else
    psql -q "$PG" -c "DROP SCHEMA IF EXISTS bench_$1 CASCADE" -c "CREATE SCHEMA bench_$1" >/dev/null
    case "$PG" in *\?*) echo "$PG&search_path=bench_$1" ;; *) echo "$PG?search_path=bench_$1" ;; esac
  fi
}
db_bytes() {
  if [ -z "$PG" ]; then
    echo $(( $(stat -c %s "$DIR/$1.db") + $(stat -c %s "$DIR/$1.db-wal" 2>/dev/null || echo 0) ))
  else
    psql -qtA "$PG" -c "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'bench_$1' AND c.relkind = 'r'"
  fi
}
backend=SQLite; [ -n "$PG" ] && backend=PostgreSQL

echo "== (a) store: batched insert, storebench --n $N ($backend)"
storebench --db "$(fresh_db a)" --n "$N" | tee "$DIR/a.txt"
a_rate=$(sed -n 's/^total [0-9]* rows: \([0-9]*\) rows\/s in UpsertTranscripts.*/\1/p' "$DIR/a.txt")

# ingest NAME FLAGS...: qactl ingest of the JSONL into a fresh `qad serve`
# started with FLAGS; leaves the rate, CPU, peak RSS and bytes in
# $DIR/NAME.{json,cpu,peak,bytes}.
ingest() {
  name=$1; shift
  dsn=$(fresh_db "$name")
  qad serve --db "$dsn" --migrate --sample-schedule off --listen "$ADDR" --http-listen "" --metrics-listen "" --log-level warn "$@" 2>"$DIR/qad-$name.log" &
  pid=$!
  trap 'kill $pid 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/${ADDR%:*}/${ADDR#*:}") 2>/dev/null && break; sleep 0.1; done
  token=$(qad token create --db "$dsn" --role ingest --subject bench)
  qactl --addr "$ADDR" --token "$token" agents import --file "$data/agents.jsonl" >/dev/null
  : >"$DIR/rss.txt"
  ( while kill -0 "$pid" 2>/dev/null; do
      awk '/VmRSS/ {print $2}' "/proc/$pid/status" >>"$DIR/rss.txt" 2>/dev/null || true
      sleep 1
    done ) &
  sampler=$!
  qactl --addr "$ADDR" --token "$token" --json ingest --file "$data/transcripts.jsonl" | tee "$DIR/$name.json"
  awk '/VmHWM/ {print $2}' "/proc/$pid/status" >"$DIR/$name.peak"
  awk '{print ($14+$15)/100}' "/proc/$pid/stat" >"$DIR/$name.cpu"
  kill -TERM "$pid"; wait "$pid" || true
  kill "$sampler" 2>/dev/null || true
  db_bytes "$name" >"$DIR/$name.bytes"
}
rate() { sed -n 's/.*"transcripts_per_second":\([0-9.]*\).*/\1/p' "$DIR/$1.json"; }

echo "== (b) end to end: qactl ingest into qad serve, redaction and checks on (the defaults) ($backend)"
ingest b
peak_kb=$(cat "$DIR/b.peak")
server_cpu=$(cat "$DIR/b.cpu")
b_rate=$(rate b)
bytes=$(cat "$DIR/b.bytes")
rss_b=$(cat "$DIR/rss.txt")
# (c): the same with what ingest computes beyond storing turned off
# (OFF_FLAGS), for the ratio on/off of the same run.
OFF_FLAGS=${OFF_FLAGS:---redact none --checks=false}
echo "== (c) the same with $OFF_FLAGS ($backend)"
# shellcheck disable=SC2086
ingest c $OFF_FLAGS
c_rate=$(rate c)
c_cpu=$(cat "$DIR/c.cpu")
echo "$rss_b" >"$DIR/rss.txt"

# RSS at each tenth of the run shows whether memory stays flat as the stream grows.
rss_profile=$(awk '{v[NR]=$1} END {for (i=1;i<=10;i++) {k=int(NR*i/10); if (k<1) k=1; printf "%d ", v[k]/1024}}' "$DIR/rss.txt")
echo
echo "== summary, N=$N on $(nproc) cores, $backend"
printf '(a) store batched insert      %8.0f transcripts/s\n' "$a_rate"
printf '(b) qactl ingest end to end   %8.0f transcripts/s\n' "$b_rate"
printf 'b/a                           %8.2f\n' "$(echo "$b_rate / $a_rate" | bc -l)"
printf 'bytes on disk per transcript  %8.0f  (SQLite: database + WAL; PostgreSQL: tables, indexes, TOAST)\n' "$(echo "$bytes / $N" | bc -l)"
printf 'qad peak RSS                  %8d MiB; RSS at each tenth of the run (MiB): %s\n' "$((peak_kb / 1024))" "$rss_profile"
printf 'qad CPU                       %8.1f s  (%.0f us per transcript)\n' "$server_cpu" "$(echo "$server_cpu * 1000000 / $N" | bc -l)"
printf '(c) end to end, %s  %8.0f transcripts/s, qad CPU %.0f us per transcript\n' "$OFF_FLAGS" "$c_rate" "$(echo "$c_cpu * 1000000 / $N" | bc -l)"
printf 'b/c (on/off)                  %8.2f  (CPU per transcript off/on: %.2f)\n' "$(echo "$b_rate / $c_rate" | bc -l)" "$(echo "$c_cpu / $server_cpu" | bc -l)"
