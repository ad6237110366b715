#!/usr/bin/env bash
# Measures a backfill whose chats arrive out of time order (a history
# export sorted by customer or id, spanning weeks) against the same chats
# in time order and against a naive insert of the same file, all in this
# one invocation (the machine is shared: compare the ratios):
#
#   (1) qactl ingest of N chats over WEEKS weeks in end-time order
#   (2) qactl ingest of the same chats shuffled (qagen --shuffle)
#   (3) naive insert of the shuffled file (storebench --naive: parse, one
#       INSERT a row into a text-keyed table with an (agent, time) index,
#       1000 rows a transaction)
#
#   scripts/bench-backfill.sh 100000 4
#
# Each ingest starts a fresh `qad serve` on a new SQLite file with the
# default settings (redaction and checks on). Files go to $BENCH_DIR
# (default /tmp/qa-bench).
set -euo pipefail
N=${1:-100000}
WEEKS=${2:-4}
DIR=${BENCH_DIR:-/tmp/qa-bench}
ADDR=${BENCH_ADDR:-127.0.0.1:7592}
cd "$(dirname "$0")/.."
mkdir -p "$DIR/bin"
go build -o "$DIR/bin/" ./cmd/qad ./cmd/qactl ./cmd/qagen ./cmd/storebench
export PATH="$DIR/bin:$PATH"

per_week=$((N / WEEKS))
data="$DIR/backfill-$N-$WEEKS"
if [ ! -s "$data/shuffled/transcripts.jsonl" ]; then
  echo "generating $N chats over $WEEKS weeks in $data"
  qagen --transcripts "$per_week" --weeks "$WEEKS" --out "$data/ordered"
  qagen --transcripts "$per_week" --weeks "$WEEKS" --out "$data/shuffled" --shuffle
fi

# ingest NAME FILE: a fresh qad, the file through qactl ingest; the rate
# and the server's CPU seconds land in $DIR/NAME.{json,cpu}.
ingest() {
  name=$1 file=$2
  db="$DIR/$name.db"
  rm -f "$db" "$db-wal" "$db-shm"
  qad serve --db "$db" --sample-schedule off --listen "$ADDR" --http-listen "" --metrics-listen "" --log-level warn 2>"$DIR/qad-$name.log" &
  pid=$!
  trap 'kill $pid 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/${ADDR%:*}/${ADDR#*:}") 2>/dev/null && break; sleep 0.1; done
  token=$(qad token create --db "$db" --role ingest --subject bench)
  qactl --addr "$ADDR" --token "$token" agents import --file "$data/ordered/agents.jsonl" >/dev/null
  qactl --addr "$ADDR" --token "$token" --json ingest --file "$file" | tee "$DIR/$name.json"
  awk '{print ($14+$15)/100}' "/proc/$pid/stat" >"$DIR/$name.cpu"
  kill -TERM "$pid"; wait "$pid" || true
}
rate() { sed -n 's/.*"transcripts_per_second":\([0-9.]*\).*/\1/p' "$DIR/$1.json"; }

echo "== (1) in time order"
ingest inorder "$data/ordered/transcripts.jsonl"
echo "== (2) shuffled"
ingest shuffled "$data/shuffled/transcripts.jsonl"
echo "== (3) naive insert of the shuffled file"
rm -f "$DIR/naive.db" "$DIR/naive.db-wal" "$DIR/naive.db-shm"
storebench --naive "$data/shuffled/transcripts.jsonl" --db "$DIR/naive.db" | tee "$DIR/naive.txt"
naive=$(sed -n 's/^naive insert: [0-9]* rows: \([0-9]*\) rows\/s.*/\1/p' "$DIR/naive.txt")

r1=$(rate inorder) r2=$(rate shuffled)
echo
echo "== summary, N=$N over $WEEKS weeks on $(nproc) cores, SQLite"
printf '(1) in order        %8.0f chats/s  qad CPU %.0f us/chat\n' "$r1" "$(echo "$(cat "$DIR/inorder.cpu") * 1000000 / $N" | bc -l)"
printf '(2) shuffled        %8.0f chats/s  qad CPU %.0f us/chat\n' "$r2" "$(echo "$(cat "$DIR/shuffled.cpu") * 1000000 / $N" | bc -l)"
printf '(3) naive, shuffled %8.0f rows/s\n' "$naive"
printf '(2)/(1)             %8.2f  (target >= 0.90)\n' "$(echo "$r2 / $r1" | bc -l)"
printf '(2)/(3)             %8.2f  (target >= 1.5)\n' "$(echo "$r2 / $naive" | bc -l)"
