#!/usr/bin/env bash
# Reproduces the ingest figures of BENCHMARKS.md for N transcripts (default
# 200000): (a) the store's own batched insert (cmd/storebench), then (b) an
# end-to-end `qactl ingest` of qagen's JSONL into a running `qad serve` on
# a fresh SQLite file, with the server's RSS sampled every second and the
# bytes on disk per transcript. Both run in this one invocation so that
# b/a compares figures from the same machine state.
#
#   scripts/bench-ingest.sh 1000000
#
# Data and databases go to $BENCH_DIR (default /tmp/qa-bench; 1M
# transcripts take ~1.4 GB of JSONL and ~0.8 GB of database).
set -euo pipefail
N=${1:-200000}
DIR=${BENCH_DIR:-/tmp/qa-bench}
ADDR=127.0.0.1:7591
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

echo "== (a) store: batched insert, storebench --n $N"
rm -f "$DIR"/a.db*
storebench --db "$DIR/a.db" --n "$N" | tee "$DIR/a.txt"
a_rate=$(sed -n 's/^total [0-9]* rows: \([0-9]*\) rows\/s in UpsertTranscripts.*/\1/p' "$DIR/a.txt")

echo "== (b) end to end: qactl ingest into qad serve"
rm -f "$DIR"/b.db*
qad serve --db "$DIR/b.db" --listen "$ADDR" --metrics-listen "" --log-level warn 2>"$DIR/qad.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/${ADDR%:*}/${ADDR#*:}") 2>/dev/null && break; sleep 0.1; done
token=$(qad token create --db "$DIR/b.db" --role ingest --subject bench)
qactl --addr "$ADDR" --token "$token" agents import --file "$data/agents.jsonl"
: >"$DIR/rss.txt"
( while kill -0 "$pid" 2>/dev/null; do
    awk '/VmRSS/ {print $2}' "/proc/$pid/status" >>"$DIR/rss.txt" 2>/dev/null || true
    sleep 1
  done ) &
sampler=$!
qactl --addr "$ADDR" --token "$token" --json ingest --file "$data/transcripts.jsonl" | tee "$DIR/b.json"
peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
server_cpu=$(awk '{print ($14+$15)/100}' "/proc/$pid/stat")
kill -TERM "$pid"; wait "$pid" || true
kill "$sampler" 2>/dev/null || true
b_rate=$(sed -n 's/.*"transcripts_per_second":\([0-9.]*\).*/\1/p' "$DIR/b.json")
bytes=$(( $(stat -c %s "$DIR/b.db") + $(stat -c %s "$DIR/b.db-wal" 2>/dev/null || echo 0) ))

# RSS at each tenth of the run shows whether memory stays flat as the stream grows.
rss_profile=$(awk '{v[NR]=$1} END {for (i=1;i<=10;i++) {k=int(NR*i/10); if (k<1) k=1; printf "%d ", v[k]/1024}}' "$DIR/rss.txt")
echo
echo "== summary, N=$N on $(nproc) cores"
printf '(a) store batched insert      %8.0f transcripts/s\n' "$a_rate"
printf '(b) qactl ingest end to end   %8.0f transcripts/s\n' "$b_rate"
printf 'b/a                           %8.2f\n' "$(echo "$b_rate / $a_rate" | bc -l)"
printf 'bytes on disk per transcript  %8.0f  (database + WAL after the run)\n' "$(echo "$bytes / $N" | bc -l)"
printf 'qad peak RSS                  %8d MiB; RSS at each tenth of the run (MiB): %s\n' "$((peak_kb / 1024))" "$rss_profile"
printf 'qad CPU                       %8.1f s  (%.0f us per transcript)\n' "$server_cpu" "$(echo "$server_cpu * 1000000 / $N" | bc -l)"
