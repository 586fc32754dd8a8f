#!/usr/bin/env bash
# Our API against the Node peer (bench/peers/node), side by side in one run, with wrk.
#
#   bash bench/compare.sh            (from the repository root, after `make test` or
#                                     `make lint` bootstrapped .venv; see bench/README.md)
#
# One run: a fresh PostgreSQL database migrated by `marketsync migrate`; the mock
# marketplace in a process of its own; `marketsync serve` (one process, PostgreSQL +
# Redis) and the peer (one Node process) on their own ports, both calling that mock.
# Each path is measured with `wrk -t2 -c32` for 10 s after a 3 s warm-up, ours then the
# peer's, and a markdown table of requests/s, p99 and the ratio ours/peer is printed.
# Everything listens on 127.0.0.1; every process started here is bounded by `timeout`
# and stopped on exit; the database is dropped.
#
# Environment (all optional): BENCH_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/postgres,
# the admin connection), BENCH_REDIS_URL (redis://127.0.0.1:6379/2), BENCH_DURATION (10s),
# BENCH_WARMUP (3s), BENCH_THREADS (2), BENCH_CONNECTIONS (32), BENCH_KEEP_LOGS (0).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
VENV=$ROOT/.venv
PEER=$ROOT/bench/peers/node
PG_ADMIN=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
REDIS_URL=${BENCH_REDIS_URL:-redis://127.0.0.1:6379/2}
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-3s}
THREADS=${BENCH_THREADS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
# A slower answer than wrk's default 2 s still counts in p99 (ours waits 10 s for a marketplace).
WRK_TIMEOUT=10s
PROCESS_LIMIT_S=900 # no process started here outlives this, whatever happens to the script
SECRET_KEY=bench-compare-secret-key-0123456789-abcdef

fail() {
  echo "compare.sh: $*" >&2
  exit 2
}
need() { command -v "$1" >/dev/null || fail "$1 is missing ($2)"; }
need wrk "apt-get install -y wrk"
need node "Node 20"
need npm "Node 20's npm"
need psql "apt-get install -y postgresql-client"
need curl "apt-get install -y curl"
need timeout "coreutils"
[ -x "$VENV/bin/marketsync" ] || fail "no $VENV: run \`make test\` (or \`make lint\`) first"
for url in "$PG_ADMIN" "$REDIS_URL"; do
  [[ $url =~ ^[a-z]+://([^@/]*@)?(127\.[0-9.]+|localhost)(:[0-9]+)?(/|$) ]] ||
    fail "loopback only: $url"
done

if [ ! -f "$PEER/node_modules/.package-lock.json" ] ||
  [ "$PEER/package-lock.json" -nt "$PEER/node_modules/.package-lock.json" ]; then
  echo "installing the peer's packages (npm ci)…" >&2
  (cd "$PEER" && timeout 300 npm ci --no-audit --no-fund --loglevel=error >&2)
fi

LOGS=$(mktemp -d "${TMPDIR:-/tmp}/marketsync-compare.XXXXXX")
DB=marketsync_compare_$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
DB_CREATED=0
PIDS=()

cleanup() {
  local status=$? index pid
  # Newest first: the peer and the API stop before the marketplace they call.
  for ((index = ${#PIDS[@]} - 1; index >= 0; index--)); do
    pid=${PIDS[index]}
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  if [ "$DB_CREATED" = 1 ]; then
    timeout 60 psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 ||
      echo "compare.sh: could not drop database $DB" >&2
  fi
  # The mock's call counters (one hash field per receipt validated in this run).
  redis_del mock:calls:validate mock:calls:inventory mock:calls:batch ||
    echo "compare.sh: could not delete the mock's counters in $REDIS_URL" >&2
  if [ "$status" != 0 ] || [ "${BENCH_KEEP_LOGS:-0}" = 1 ]; then
    echo "compare.sh: logs kept in $LOGS" >&2
  else
    rm -rf "$LOGS"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

redis_del() {
  "$VENV/bin/python" -c '
import sys, redis
redis.Redis.from_url(sys.argv[1], socket_timeout=5, socket_connect_timeout=5).delete(*sys.argv[2:])
' "$REDIS_URL" "$@"
}

free_port() {
  "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start NAME COMMAND…: in the background, in its own process group (timeout makes one), logged.
start() {
  local name=$1
  shift
  timeout --kill-after=10 "$PROCESS_LIMIT_S" "$@" >"$LOGS/$name.log" 2>&1 &
  PIDS+=("$!")
}

# wait_http NAME URL: until URL answers 2xx, for 60 s at most, while the process lives.
wait_http() {
  local name=$1 url=$2 pid=${PIDS[-1]}
  for _ in $(seq 600); do
    curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$LOGS/$name.log" >&2; fail "$name exited"; }
    sleep 0.1
  done
  cat "$LOGS/$name.log" >&2
  fail "$name did not answer $url within 60 s"
}

post_json() { # URL BODY [AUTHORIZATION]
  curl -fsS --max-time 30 -H 'Content-Type: application/json' ${3:+-H "Authorization: $3"} \
    --data "$2" "$1"
}

json_get() { # PYTHON-EXPRESSION over `d` (the JSON document on stdin)
  "$VENV/bin/python" -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start" >&2

timeout 60 psql "$PG_ADMIN" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE \"$DB\"" >/dev/null
DB_CREATED=1
DATABASE_URL="${PG_ADMIN%/*}/$DB"
MOCK_PORT=$(free_port)
API_PORT=$(free_port)
MOCK_URL=http://127.0.0.1:$MOCK_PORT
API_URL=http://127.0.0.1:$API_PORT
export SECRET_KEY REDIS_URL LOG_LEVEL=WARNING
# Both pools open their 20 connections at start: a shared server's connection limit then
# fails start-up, not requests in the middle of a measurement.
export DATABASE_URL="$DATABASE_URL?minsize=20&maxsize=20" MARKETPLACE_BASE_URL=$MOCK_URL/mock
timeout 120 "$VENV/bin/marketsync" migrate >"$LOGS/migrate.log" 2>&1 ||
  { cat "$LOGS/migrate.log" >&2; fail "migrate failed"; }

# The marketplace in its own process: marketsync's mock app alone, on uvicorn, at /mock.
start mock "$VENV/bin/python" -c '
import sys
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount
from marketsync.config import get_settings
from marketsync.marketplaces.mock import build_mock_app
from marketsync.runtime import open_redis

settings = get_settings()
mock = build_mock_app(settings=settings, redis=open_redis(settings))
app = Starlette(routes=[Mount("/mock", mock)])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
' "$MOCK_PORT"
wait_http mock "$MOCK_URL/mock/_calls"

start api "$VENV/bin/marketsync" serve --host 127.0.0.1 --port "$API_PORT" --workers 1
wait_http api "$API_URL/ready"

PORT=0 HOST=127.0.0.1 start peer node "$PEER/server.js"
for _ in $(seq 300); do
  PEER_URL=$(sed -n 's/^peer listening on //p' "$LOGS/peer.log")
  [ -n "$PEER_URL" ] && break
  kill -0 "${PIDS[-1]}" 2>/dev/null || { cat "$LOGS/peer.log" >&2; fail "peer exited"; }
  sleep 0.1
done
[ -n "$PEER_URL" ] || fail "the peer printed no address"
wait_http peer "$PEER_URL/health"

# One store for each side, so neither run's rows or store-row updates touch the other's.
KEY=$(timeout 60 "$VENV/bin/marketsync" apikey create --org bench | tail -n 1)
REGISTER='mutation($i: RegisterStoreInput!) { registerStore(input: $i) { syncToken userErrors { code } } }'
register() { # EXTERNAL-ID → syncToken
  post_json "$API_URL/graphql" "{\"query\": \"$REGISTER\", \"variables\": {\"i\": {
    \"organizationId\": \"bench\", \"marketplace\": \"ETSY\", \"externalStoreId\": \"$1\",
    \"storeName\": \"Bench $1\", \"accessToken\": \"bench-token\", \"currency\": \"USD\"}}}" \
    "Bearer $KEY" | json_get 'd["data"]["registerStore"]["syncToken"]'
}
OURS_TOKEN=$(register ours)
PEER_TOKEN=$(register peer)

# The importOrder document wrk sends (bench/wrk/import_order.lua), for the answers checked below.
IMPORT=$(sed -n 's/^local QUERY = "\(.*\)"$/\1/p; s/^  \.\. "\(.*\)"$/\1/p' bench/wrk/import_order.lua |
  tr -d '\n')
[[ $IMPORT == mutation*updatedAt*userErrors* ]] || fail "no importOrder document in bench/wrk/import_order.lua"
# Before measuring: both sides answer the same inputs alike (ids and timestamps aside,
# nextRetryAt as seconds after updatedAt), then each has imported SEEN-1 once.
IMPORT=$IMPORT API_URL=$API_URL PEER_URL=$PEER_URL OURS_TOKEN=$OURS_TOKEN PEER_TOKEN=$PEER_TOKEN \
  "$VENV/bin/python" - "$LOGS/parity.json" <<'PY' || fail "the peer answers differently (see $LOGS)"
import json, os, sys, uuid
from datetime import datetime
from urllib.request import Request, urlopen

def ours(token, receipt):
    body = {"query": os.environ["IMPORT"], "variables": {"t": token, "r": receipt}}
    return post(os.environ["API_URL"] + "/graphql", body)

def peer(token, receipt):
    return post(os.environ["PEER_URL"] + "/importOrder", {"syncToken": token, "receipt": receipt})

def post(url, body):
    request = Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urlopen(request, timeout=30) as response:
        return json.load(response)

def seconds(later, earlier):
    parse = lambda text: datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (parse(later) - parse(earlier)).total_seconds()

def normal(answer):
    payload = dict(answer["data"]["importOrder"])
    log = payload["syncLog"]
    if log is not None:
        log = payload["syncLog"] = dict(log)
        if log["nextRetryAt"] is not None:
            log["nextRetryAt"] = seconds(log["nextRetryAt"], log["updatedAt"])
        for name in ("id", "createdAt", "updatedAt", "importedAt"):
            log[name] = log[name] is not None and f"<{name}>"
    return payload

cases = ["SEEN-1", "SEEN-1", "R-2", "R-2", "R-15", "  R-3\t", "   ", "x" * 256, "R-\x017"]
record = []
for receipt in cases:
    a = ours(os.environ["OURS_TOKEN"], receipt)
    b = peer(os.environ["PEER_TOKEN"], receipt)
    record.append({"receipt": receipt, "ours": a, "peer": b})
    with open(sys.argv[1], "w") as handle:
        json.dump(record, handle, indent=1)
    if list(a["data"]["importOrder"]) != list(b["data"]["importOrder"]) or normal(a) != normal(b):
        sys.exit(f"{receipt!r}: ours {normal(a)} / peer {normal(b)}")
unknown = str(uuid.uuid4())
a, b = normal(ours(unknown, "R-1")), normal(peer(unknown, "R-1"))
assert a == b and a["userErrors"][0]["code"] == "NOT_FOUND", (a, b)
seen = normal(record[1]["ours"])
assert seen["duplicate"] and seen["syncLog"]["status"] == "SUCCESS", seen
PY

# measure LABEL URL [LUA-SCRIPT LUA-ARGS…]: warm-up, then the measured run; prints "rps p99-ms".
measure() {
  local label=$1 url=$2
  shift 2
  local script=() args=()
  if [ $# -gt 0 ]; then
    script=(-s "$1")
    shift
    args=(-- "$@")
  fi
  local warm=("${args[@]}")
  # New receipts: the warm-up sends its own prefix, so the measured run meets no seen one.
  [ "${args[4]:-}" = new ] && warm[3]="${args[3]}W"
  local wrk=(timeout 120 wrk --timeout "$WRK_TIMEOUT" -t"$THREADS" -c"$CONNECTIONS")
  "${wrk[@]}" -d"$WARMUP" "${script[@]}" "$url" "${warm[@]}" >"$LOGS/warmup-$label.txt"
  "${wrk[@]}" -d"$DURATION" --latency "${script[@]}" "$url" "${args[@]}" >"$LOGS/wrk-$label.txt"
  # Prints "requests/s p99-ms errors": non-2xx answers, socket errors and 200s carrying errors.
  awk '
    /^Requests\/sec:/ { rps = $2 }
    /^ +99%/ {
      value = $2; unit = value; sub(/[0-9.]+/, "", unit); sub(/[a-z]+$/, "", value)
      p99 = value * (unit == "us" ? 0.001 : unit == "s" ? 1000 : unit == "m" ? 60000 : 1)
    }
    /Non-2xx or 3xx responses:/ { errors += $NF }
    /Socket errors:/ { gsub(/,/, ""); errors += $4 + $6 + $8 + $10 }
    /^Body errors:/ { errors += $3 }
    END { printf "%s %s %d\n", rps, p99, errors }
  ' "$LOGS/wrk-$label.txt"
}

echo "measuring (wrk --timeout $WRK_TIMEOUT -t$THREADS -c$CONNECTIONS, $WARMUP warm-up + $DURATION each)…" >&2
A_OURS=$(measure a-ours "$API_URL/graphql" bench/wrk/typename.lua)
A_PEER=$(measure a-peer "$PEER_URL/health")
B_OURS=$(measure b-ours "$API_URL/graphql" bench/wrk/import_order.lua graphql "$OURS_TOKEN" SEEN-1 seen)
B_PEER=$(measure b-peer "$PEER_URL/importOrder" bench/wrk/import_order.lua json "$PEER_TOKEN" SEEN-1 seen)
C_OURS=$(measure c-ours "$API_URL/graphql" bench/wrk/import_order.lua graphql "$OURS_TOKEN" OURS new)
C_PEER=$(measure c-peer "$PEER_URL/importOrder" bench/wrk/import_order.lua json "$PEER_TOKEN" PEER new)

# Every receipt wrk sent (they end in -1) became exactly one SUCCESS log after one
# attempt, and importedOrders counts each SUCCESS once; checked once the imports still in
# flight when wrk stopped are over (60 s at most).
FAILED=0
for _ in $(seq 120); do
  [ "$(timeout 30 psql "${PG_ADMIN%/*}/$DB" -Atc 'SELECT count(*) FROM sync_log WHERE attempt = 0')" = 0 ] &&
    break
  sleep 0.5
done
CHECK=$(timeout 60 psql "${PG_ADMIN%/*}/$DB" -At -F ' ' -c "
  SELECT s.external_store_id, s.imported_orders,
         count(l.id) FILTER (WHERE l.status = 'SUCCESS'),
         count(l.id) FILTER (WHERE l.receipt LIKE '%-1'),
         count(l.id) FILTER (WHERE l.receipt LIKE '%-1' AND l.status = 'SUCCESS' AND l.attempt = 1)
  FROM store s LEFT JOIN sync_log l ON l.store_id = s.id
  GROUP BY s.id ORDER BY s.external_store_id")
while read -r side imported successes sent good; do
  if [ "$imported" = "$successes" ] && [ "$sent" = "$good" ]; then
    echo "check $side: $sent receipts sent, each one SUCCESS log; importedOrders $imported" >&2
  else
    echo "CHECK FAILED $side: $sent sent, $good SUCCESS after one attempt;" \
      "importedOrders $imported for $successes SUCCESS logs" >&2
    FAILED=1
    timeout 30 psql "${PG_ADMIN%/*}/$DB" -c "
      SELECT l.status, l.error_details, l.attempt, count(*) FROM sync_log l
      JOIN store s ON s.id = l.store_id
      WHERE s.external_store_id = '$side' AND l.receipt LIKE '%-1'
      GROUP BY 1, 2, 3" >&2
  fi
done <<<"$CHECK"
echo "machine: load average $(cut -d' ' -f1-3 /proc/loadavg) at the end" >&2

row() { # PATH OURS PEER
  awk -v path="$1" -v ours="$2" -v peer="$3" 'BEGIN {
    split(ours, o, " "); split(peer, p, " ")
    printf "| %s | %s | %.1f ms | %s | %.1f ms | %.2f |\n", path, rate(o), o[2], rate(p), p[2],
      (p[1] > 0 ? o[1] / p[1] : 0)
  }
  function rate(m,   s) {
    s = sprintf("%.0f", m[1])
    while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s)
    return m[3] > 0 ? s " (" m[3] " errors)" : s
  }'
}

echo
echo "| path | ours req/s | ours p99 | peer req/s | peer p99 | ratio ours/peer |"
echo "| --- | --- | --- | --- | --- | --- |"
row '`{ __typename }` (peer: `GET /health`)' "$A_OURS" "$A_PEER"
row 'importOrder of a seen receipt' "$B_OURS" "$B_PEER"
row 'importOrder of new receipts' "$C_OURS" "$C_PEER"
for result in "$A_OURS" "$A_PEER" "$B_OURS" "$B_PEER" "$C_OURS" "$C_PEER"; do
  [ "${result##* }" = 0 ] || FAILED=1
done
[ "$FAILED" = 0 ] || { echo "compare.sh: errors or failed checks above: the figures do not count" >&2; exit 1; }
