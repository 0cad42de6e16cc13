#!/usr/bin/env bash
# The one command that sets up and runs the whole pipeline on this machine: the local
# stack (ClickHouse + broker), the ClickHouse schema, `ingest`, `aggregator`, `query-api` with
# the web console at http://$SYNCTEL_API_LISTEN/, and a simulated fleet of sync engines (one
# day of history, then live traffic). Safe to run again.
#
# Usage: deploy/run.sh [start|stop|status]    (default: start)
# Settings: deploy/stack.conf, plus SYNCTEL_DEMO_* below.
#
# SYNCTEL_TOPOLOGY=cluster runs the same pipeline on the local ClickHouse cluster
# (`stack.sh cluster`: ZooKeeper and 2 shards x 2 replicas) with two ingest instances in
# one consumer group and two aggregators sharing the lease; inserts wait for both replicas
# of a shard (SYNCTEL_CLICKHOUSE_INSERT_QUORUM, default 2).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/scripts/common.sh
. "$here/scripts/common.sh"
# shellcheck source=SCRIPTDIR/stack.conf
. "$here/stack.conf"
# shellcheck source=SCRIPTDIR/scripts/proc.sh
. "$here/scripts/proc.sh"

: "${SYNCTEL_DEMO_TENANTS:=3}"
: "${SYNCTEL_DEMO_PROFILES:=4}"       # per tenant
: "${SYNCTEL_DEMO_USERS:=25}"         # per profile
: "${SYNCTEL_DEMO_HISTORY_DAYS:=1}"   # published at once before live traffic
: "${SYNCTEL_DEMO_SEED:=1}"
: "${SYNCTEL_INGEST_LISTEN:=127.0.0.1:9464}"
: "${SYNCTEL_AGGREGATOR_LISTEN:=127.0.0.1:9465}"
: "${SYNCTEL_API_LISTEN:=127.0.0.1:8080}"
# Static group membership: an ingest restarted within its session timeout (30 s) takes its
# partitions back at once (about 6 s on tansu) instead of waiting for the group.
: "${SYNCTEL_INGEST_INSTANCE_ID:=ingest-1}"
export SYNCTEL_INGEST_LISTEN SYNCTEL_AGGREGATOR_LISTEN SYNCTEL_API_LISTEN SYNCTEL_INGEST_INSTANCE_ID
: "${SYNCTEL_TOPOLOGY:=single}"
# The second instances of cluster mode.
: "${SYNCTEL_INGEST2_LISTEN:=127.0.0.1:9466}"
: "${SYNCTEL_AGGREGATOR2_LISTEN:=127.0.0.1:9467}"

# The stack.sh verb prefix of the topology.
stack() {
  if [[ $SYNCTEL_TOPOLOGY == cluster ]]; then
    "$here/stack.sh" cluster "$@"
  else
    "$here/stack.sh" "$@"
  fi
}

# launch NAME LISTEN CMD...: starts a service unless it runs, waits for its /health.
launch() {
  local name=$1 listen=$2
  shift 2
  if svc_running "$name"; then
    log "$name: already running (pid $(svc_pid "$name"))"
    return
  fi
  svc_launch "$name" "$@"
  wait_until "$name" 60 curl -fsS "http://$listen/health" -- "$(out_file "$name")"
  log "$name: running, metrics at http://$listen/metrics"
}

# The services of the topology, in start order.
services() {
  if [[ $SYNCTEL_TOPOLOGY == cluster ]]; then
    echo ingest ingest-2 aggregator aggregator-2 query-api fleet-sim
  else
    echo ingest aggregator query-api fleet-sim
  fi
}

bin_dir() { echo "$SYNCTEL_ROOT/target/release"; }

start() {
  case $SYNCTEL_TOPOLOGY in
    single | cluster) ;;
    *) die "SYNCTEL_TOPOLOGY must be single or cluster, got $SYNCTEL_TOPOLOGY" ;;
  esac
  stack start
  eval "$(stack env)"
  log "building the services (release)"
  (cd "$SYNCTEL_ROOT" && cargo build --release --locked -p ingest -p aggregator -p query-api -p simulator >&2)
  "$here/console.sh" build
  export SYNCTEL_CONSOLE_DIR=$SYNCTEL_ROOT/console/dist
  if [[ $SYNCTEL_TOPOLOGY == cluster ]]; then
    : "${SYNCTEL_CLICKHOUSE_INSERT_QUORUM:=2}"
    export SYNCTEL_CLICKHOUSE_INSERT_QUORUM SYNCTEL_AGGREGATOR_LEASE=1
  fi
  "$(bin_dir)/ingest" migrate
  if [[ $SYNCTEL_TOPOLOGY == cluster ]]; then
    # Several instances on tansu: no static ids (tansu keeps a dead static member's
    # partitions until it comes back; docs/ops/cluster.md, "Scaling ingest").
    SYNCTEL_INGEST_INSTANCE_ID= launch ingest "$SYNCTEL_INGEST_LISTEN" "$(bin_dir)/ingest" --json-logs run
    SYNCTEL_INGEST_LISTEN=$SYNCTEL_INGEST2_LISTEN SYNCTEL_INGEST_INSTANCE_ID= \
      launch ingest-2 "$SYNCTEL_INGEST2_LISTEN" "$(bin_dir)/ingest" --json-logs run
  else
    launch ingest "$SYNCTEL_INGEST_LISTEN" "$(bin_dir)/ingest" --json-logs run
  fi
  launch aggregator "$SYNCTEL_AGGREGATOR_LISTEN" "$(bin_dir)/aggregator" --json-logs run
  if [[ $SYNCTEL_TOPOLOGY == cluster ]]; then
    SYNCTEL_AGGREGATOR_LISTEN=$SYNCTEL_AGGREGATOR2_LISTEN \
      launch aggregator-2 "$SYNCTEL_AGGREGATOR2_LISTEN" "$(bin_dir)/aggregator" --json-logs run
  fi
  launch query-api "$SYNCTEL_API_LISTEN" "$(bin_dir)/query-api" --json-logs run
  # A demo admin token for the first simulated tenant (printed once, kept for later runs).
  local token_file="$SYNCTEL_VAR/demo-api-token"
  if [[ ! -s $token_file ]]; then
    "$(bin_dir)/query-api" token create --tenant t0001 --role admin --label demo >"$token_file"
  fi
  local token
  token=$(cat "$token_file")
  if svc_running fleet-sim; then
    log "fleet-sim: already running (pid $(svc_pid fleet-sim))"
  else
    svc_launch fleet-sim "$(bin_dir)/fleet-sim" --mode live \
      --days "$SYNCTEL_DEMO_HISTORY_DAYS" --duration-secs 604800 \
      --seed "$SYNCTEL_DEMO_SEED" --tenants "$SYNCTEL_DEMO_TENANTS" \
      --profiles "$SYNCTEL_DEMO_PROFILES" --users "$SYNCTEL_DEMO_USERS" \
      --duplicate-rate 0.01 --reorder-rate 0.01 --malformed-rate 0.001 \
      --max-batch-messages 1 \
      --manifest "$SYNCTEL_VAR/demo-manifest.json"
    log "fleet-sim: publishing $SYNCTEL_DEMO_HISTORY_DAYS day(s) of history, then live traffic"
  fi
  status
  cat >&2 <<MSG

The pipeline runs. The web console: http://$SYNCTEL_API_LISTEN/  (sign in with the demo token
of tenant t0001, admin: $(cat "$token_file"), kept in $token_file). Try:
  clickhouse-client --port ${SYNCTEL_CLICKHOUSE_NATIVE##*:} --user $SYNCTEL_ANALYST_USER --password $SYNCTEL_ANALYST_PASSWORD \\
    -d $SYNCTEL_CLICKHOUSE_DATABASE -q "SELECT tenant_id, status, count() FROM sessions GROUP BY tenant_id, status ORDER BY 1, 2"
  curl -s http://$SYNCTEL_INGEST_LISTEN/metrics | grep ^ingest_
  # the query API (demo token of tenant t0001, admin; kept in $token_file)
  curl -s -H "Authorization: Bearer $token" http://$SYNCTEL_API_LISTEN/api/v1/profiles
  curl -s -H "Authorization: Bearer $token" http://$SYNCTEL_API_LISTEN/api/v1/monitor/cards
  curl -s -H "Authorization: Bearer $token" 'http://$SYNCTEL_API_LISTEN/api/v1/monitor/cards/LastSyncFailed/users?limit=5'
  curl -s -H "Authorization: Bearer $token" 'http://$SYNCTEL_API_LISTEN/api/v1/profiles/t0001-p01/sessions?status=Error&limit=5'
  curl -s -H "Authorization: Bearer $token" 'http://$SYNCTEL_API_LISTEN/api/v1/users?format=csv&bom=true&columns=user_id,display_name,effective_status,sync_state' -o users.csv
  curl -s -H "Authorization: Bearer $token" http://$SYNCTEL_API_LISTEN/api/v1/summary
  curl -s -H "Authorization: Bearer $token" 'http://$SYNCTEL_API_LISTEN/api/v1/trends?metric=issues&granularity=day&format=csv'
  # a user's session logs of the last hour as a ZIP (index.csv + one .log per session)
  curl -s -H "Authorization: Bearer $token" "http://$SYNCTEL_API_LISTEN/api/v1/users/t0001-u000001/logs?from=\$(( (\$(date +%s) - 3600) * 1000 ))" -o logs.zip
  # an admin action (published to the commands topic, audited; the same request_id again answers 200, publishes nothing)
  curl -s -X POST -H "Authorization: Bearer $token" -H 'content-type: application/json' \\
    -d '{"action": "force_sync", "request_id": "demo-force-sync-1"}' http://$SYNCTEL_API_LISTEN/api/v1/users/t0001-u000001/actions
  curl -s -H "Authorization: Bearer $token" 'http://$SYNCTEL_API_LISTEN/api/v1/audit?columns=request_id,user_id,action,result,issued_at_ms&limit=20'
  tail -f $(out_file ingest)
Stop with: deploy/run.sh stop   (services)   and   deploy/stack.sh stop   (servers; with
SYNCTEL_TOPOLOGY=cluster: deploy/stack.sh cluster stop)
MSG
}

stop() {
  local name
  for name in fleet-sim query-api aggregator-2 aggregator ingest-2 ingest; do
    svc_stop "$name"
  done
}

status() {
  stack status || true
  local name
  for name in $(services); do
    if svc_running "$name"; then
      echo "$name  running  pid $(svc_pid "$name")  log $(out_file "$name")"
    else
      echo "$name  stopped"
    fi
  done
}

case ${1:-start} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: deploy/run.sh [start|stop|status]" ;;
esac
