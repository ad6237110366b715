#!/usr/bin/env bash
# Times the admin's team page (/team, 2,000 agents) and GetTeamReport over
# the HTTP API on a copy of the database scripts/bench-scoring.sh left in
# $BENCH_DIR: the first load after a start, warm loads, and loads while
# cmd/teammix writes 2 feedback records a second (disputes re-scored).
#
#   scripts/bench-team-page.sh [QAD [LABEL]]   # QAD: a qad binary to time
#
# Run it for two binaries in turn (e.g. before and after a change) and
# compare them run by run: the figures move with the machine's load.
set -uo pipefail
DIR=${BENCH_DIR:-/tmp/qa-bench-scoring}
cd "$(dirname "$0")/.."
go build -o "$DIR/bin/" ./cmd/qad ./cmd/teammix
QAD=${1:-$DIR/bin/qad}; LABEL=${2:-qad}
GRPC=${GRPC:-127.0.0.1:7691}; HTTP=${HTTP:-127.0.0.1:7690}
R=$DIR/team-page; mkdir -p "$R"
ADMIN=$(awk '$1=="admin"{print $3}' "$DIR/tokens.txt")
start() {
  cp "$DIR/scoring.db" "$R/db"; rm -f "$R/db-wal" "$R/db-shm"
  "$QAD" serve --db "$R/db" --sample-schedule off --listen "$GRPC" --http-listen "$HTTP" --log-level warn 2>>"$R/qad.log" &
  pid=$!
  for _ in $(seq 1 200); do curl -s -o /dev/null "http://$HTTP/" && break; sleep 0.05; done
}
cpu() { awk '{print $14+$15}' "/proc/$pid/stat"; }
page() { curl -s -o /dev/null -w '%{time_total}\n' -b "qa_session=$ADMIN" "http://$HTTP$1"; }
api() { curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' -d "$1" "http://$HTTP/qa.v1.ReportService/GetTeamReport"; }
stats() { sort -n | awk -v l="$1" -v who="$LABEL" '{a[NR]=$1*1000} END{printf "%s %-34s n=%d p50 %.1f ms p95 %.1f ms max %.1f ms\n", who, l, NR, a[int((NR+1)/2)], a[int(NR*0.95+0.999)], a[NR]}'; }

start
sleep 3
page /team | stats "/team first load (3 s after start)"
c0=$(cpu); for _ in $(seq 30); do page /team; done | stats "/team warm"; c1=$(cpu)
echo "$LABEL /team warm server CPU per page $(( (c1 - c0) * 10 / 30 )) ms"
for _ in $(seq 30); do page "/team?sort=mean&dir=desc&page=7"; done | stats "/team mean desc page 7 warm"
for _ in $(seq 20); do api '{"teamId":"team-1"}'; done | stats "API whole report warm"
for _ in $(seq 20); do api '{"teamId":"team-1","pageSize":100}'; done | stats "API page_size 100 warm"
"$DIR/bin/teammix" -addr "$GRPC" -tokens "$DIR/tokens.txt" -rate 2 2>"$R/mix.log" &
mix=$!
sleep 2
for _ in $(seq 30); do page /team; sleep 0.2; done | stats "/team, 2 re-scores/s meanwhile"
for _ in $(seq 20); do api '{"teamId":"team-1","pageSize":100}'; sleep 0.2; done | stats "API page 100, 2 re-scores/s"
for _ in $(seq 20); do api '{"teamId":"team-1"}'; sleep 0.2; done | stats "API whole, 2 re-scores/s"
kill $mix; wait $mix 2>/dev/null
kill $pid; wait $pid 2>/dev/null
start
page /team | stats "/team first load (at once)"
kill $pid; wait $pid 2>/dev/null
