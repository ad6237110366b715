#!/usr/bin/env bash
# The README's Quick tour, run as written against a real server: build,
# start qad on a fresh database and a free port, make tokens, generate and
# ingest a week of chats, sample it, skip, release, score, watch,
# acknowledge, dispute, report and audit, then stop the server. Every id
# the tour uses is read from what the tour itself created. Any failing
# command fails the script; on failure the server log is printed.
#
# The lines between "tour:begin" and "tour:end" are the README's Quick tour
# blocks (a blank line separates two blocks); e2e/tour_test.go checks that
# they match and runs this script. CI (.ci/run) runs it too.
set -euo pipefail
cd "$(dirname "$0")/.."

# Ports nobody listens on, so that the tour never meets another qad; below
# Linux's ephemeral range (32768 and up), where any outgoing connection may
# hold the port by the time qad listens (CI once lost a tour that way).
free_port() {
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 12000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
  return 1
}
port=$(free_port)
http_port=$(free_port)
export QA_LISTEN=127.0.0.1:$port QA_ADDR=127.0.0.1:$port QA_METRICS_LISTEN=
export QA_HTTP_LISTEN=127.0.0.1:$http_port QA_PUBLIC_URL=http://127.0.0.1:$http_port
unset QA_DB QA_TOKEN

finish() {
  status=$?
  if [ -n "${WATCH:-}" ]; then kill "$WATCH" 2>/dev/null || true; fi
  if [ -n "${QAD:-}" ]; then kill "$QAD" 2>/dev/null || true; wait "$QAD" 2>/dev/null || true; fi
  if [ "$status" != 0 ] && [ -n "${TOUR:-}" ] && [ -f "$TOUR/qad.log" ]; then
    echo "tour failed (exit $status); server log:" >&2
    tail -n 50 "$TOUR/qad.log" >&2
  fi
  if [ -n "${TOUR:-}" ]; then rm -rf "$TOUR"; fi
  exit "$status"
}
trap finish EXIT

# tour:begin
go build -o bin/ ./cmd/...             # bin/qad, bin/qactl, bin/qagen, ...
TOUR=$(mktemp -d)                      # the tour's database, sample data and server log
export QA_DB=$TOUR/qa.db               # the database of qad token and qad serve

# Tokens are made on the server host, here before the server creates the database;
# the command prints the token and nothing else.
ADMIN=$(bin/qad token create --role admin  --subject qa-lead)
INGEST=$(bin/qad token create --role ingest --subject chat-platform)
bin/qad token list                     # ids, roles, subjects, never secrets
bin/qad serve --sample-schedule off 2>"$TOUR/qad.log" &   # gRPC on $QA_LISTEN (default 127.0.0.1:7391), console on $QA_HTTP_LISTEN (7390)
QAD=$!
for _ in $(seq 1 100); do bin/qactl --token "$ADMIN" rubric get >/dev/null 2>&1 && break; sleep 0.2; done   # until it serves

LINK=$(bin/qad login-link --role admin --subject qa-lead)   # open it in a browser: the QA lead's weeks overview
curl -sf -c "$TOUR/cookies" -d "code=${LINK##*/login/}" "$QA_PUBLIC_URL/login" -o /dev/null   # what opening it does
curl -sf -b "$TOUR/cookies" "$QA_PUBLIC_URL/weeks" | grep -o '<h1>[^<]*</h1>'                 # → <h1>周次与抽样</h1>
curl -sf -H "Authorization: Bearer $ADMIN" -d '{}' "$QA_PUBLIC_URL/qa.v1.InfoService/GetServerInfo"   # every RPC as JSON too

# field prints the first value of key $1 in each line of JSON (jq does it too).
field() { awk -v key="\"$1\"" '{ i = index($0, key); if (!i) next; v = substr($0, i + length(key));
  sub(/^[ :]*"?/, "", v); sub(/[",}].*/, "", v); print v }'; }

# Sample data in the import format: 50 agents and 1,000 chats of 2026-W47.
bin/qagen --agents 50 --transcripts 1000 --out "$TOUR"

# The chat platform syncs its agent directory, then streams transcripts.
bin/qactl --token "$INGEST" agents import --file "$TOUR/agents.jsonl"
bin/qactl --token "$INGEST" ingest --file "$TOUR/transcripts.jsonl"
#  → 1000 accepted, 0 updated, 0 unchanged, 0 kept (already sampled), 0 rejected in …
#    each rejected line is printed as `line N: field: reason`; exit status 1 if any was rejected

# Read one back (admin).
CHAT=$(head -n 1 "$TOUR/transcripts.jsonl" | field external_id)
bin/qactl --token "$ADMIN" transcript get "$CHAT"

bin/qactl --token "$ADMIN" inspector add insp-1 --name "王芳"
bin/qactl --token "$ADMIN" inspector add insp-2 --name "Chen Jie"
bin/qactl --token "$ADMIN" --json policy get > "$TOUR/policy.json"   # edit, then:
bin/qactl --token "$ADMIN" policy set --file "$TOUR/policy.json"     # stores a new version if it changed
bin/qactl --token "$ADMIN" sample run --week 2026-W47 --dry-run
bin/qactl --token "$ADMIN" sample run --week 2026-W47

bin/qad login-link --role inspector --subject insp-1        # insp-1 opens it: their queue, the review page
INSP=$(bin/qad token create --role inspector --subject insp-1)
bin/qactl --token "$INSP" --json review queue > "$TOUR/queue.jsonl"   # only insp-1's items
SKIP=$(sed -n 1p "$TOUR/queue.jsonl" | field id)
RELEASE=$(sed -n 2p "$TOUR/queue.jsonl" | field id)
ITEM=$(sed -n 3p "$TOUR/queue.jsonl" | field id)
AGENT=$(sed -n 3p "$TOUR/queue.jsonl" | field agent_id)
bin/qactl --token "$INSP" review skip "$SKIP" --reason spam   # brings in the next pick, same agent, week and reason
bin/qactl --token "$INSP" review release "$RELEASE"           # to another eligible inspector, or the pool
bin/qactl --token "$ADMIN" inspector list                      # open items per inspector, and the pool
bin/qactl --token "$ADMIN" review reassign "$RELEASE" --to insp-1 --reason "back to insp-1"   # audited
bin/qactl --token "$ADMIN" sample list --week 2026-W47 --agent "$AGENT"

bin/qactl --token "$INSP" review show "$ITEM"                 # transcript, metrics, rubric, draft
bin/qactl --token "$INSP" review submit "$ITEM" --rating attitude=4 --rating knowledge=5 \
  --comment "polite, quick"                                   # a draft: merged with what was saved
bin/qactl --token "$INSP" review submit "$ITEM" --rating efficiency=3,communication=na,compliance=5 \
  --strength "greeted by name" --suggestion "confirm the delivery date" --final
#  → the ratings table, then: score 83.75  grade good

SUPERVISOR=$(grep "\"$AGENT\"" "$TOUR/agents.jsonl" | field supervisor_id)
TEAM=$(grep "\"$AGENT\"" "$TOUR/agents.jsonl" | field team_id)
SUP=$(bin/qad token create --role supervisor --subject "$SUPERVISOR")
bin/qactl --token "$SUP" --json feedback watch --after 0 > "$TOUR/watch.jsonl" &   # one JSON record per line as reviews are finalised
WATCH=$!
bin/qactl --token "$SUP" --json feedback list --unacked > "$TOUR/feedback.jsonl"    # id, review, agent_id, score, grade, ...
FEEDBACK=$(sed -n 1p "$TOUR/feedback.jsonl" | field id)
REVIEW=$(sed -n 1p "$TOUR/feedback.jsonl" | sed 's/.*"review": *{//' | field id)   # the id inside its review
bin/qactl --token "$SUP" feedback ack "$FEEDBACK" --note "went through it on Monday"
bin/qactl --token "$SUP" dispute open "$REVIEW" --reason "the customer asked for the refund twice"
bin/qactl --token "$SUP" dispute list
bin/qactl --token "$SUP" report agent "$AGENT" --weeks 8 --last-week 2026-W47   # mean, 95% CI, dimensions, weekly trend
bin/qactl --token "$SUP" report team "$TEAM" --last-week 2026-W47               # per agent, plus the team's common issues (共性问题)
for _ in $(seq 1 100); do [ -s "$TOUR/watch.jsonl" ] && break; sleep 0.2; done
field grade < "$TOUR/watch.jsonl"      # the record the watch received: good
kill "$WATCH"

bin/qactl --token "$ADMIN" rubric get                         # the active rubric
bin/qactl --token "$ADMIN" audit list --entity review --entity-id "$REVIEW"
kill "$QAD"                            # graceful shutdown: in-flight calls finish
# tour:end
wait "$QAD" || true
QAD=
echo "tour passed"
