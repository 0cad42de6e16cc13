#!/usr/bin/env bash
# The one command that sets up and runs the whole pipeline on this machine: the local
# stack (ClickHouse + broker), the ClickHouse schema, `ingest`, `aggregator`, `query-api` with
# the web console at http://$SYNCTEL_API_LISTEN/, and a simulated fleet of sync engines (one
# day of history, then live traffic). Safe to run again.
#
# Usage: deploy/run.sh [start|stop|status]    (default: start)
# Settings: deploy/stack.conf, plus SYNCTEL_DEMO_* below.
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

bin_dir() { echo "$SYNCTEL_ROOT/target/release"; }

start() {
  "$here/stack.sh" start
  eval "$("$here/stack.sh" env)"
  log "building the services (release)"
  (cd "$SYNCTEL_ROOT" && cargo build --release --locked -p ingest -p aggregator -p query-api -p simulator >&2)
  "$here/console.sh" build
  export SYNCTEL_CONSOLE_DIR=$SYNCTEL_ROOT/console/dist
  "$(bin_dir)/ingest" migrate
  if svc_running ingest; then
    log "ingest: already running (pid $(svc_pid ingest))"
  else
    svc_launch ingest "$(bin_dir)/ingest" --json-logs run
    wait_until ingest 60 curl -fsS "http://$SYNCTEL_INGEST_LISTEN/health" -- "$(out_file ingest)"
    log "ingest: running, metrics at http://$SYNCTEL_INGEST_LISTEN/metrics"
  fi
  if svc_running aggregator; then
    log "aggregator: already running (pid $(svc_pid aggregator))"
  else
    svc_launch aggregator "$(bin_dir)/aggregator" --json-logs run
    wait_until aggregator 60 curl -fsS "http://$SYNCTEL_AGGREGATOR_LISTEN/health" -- "$(out_file aggregator)"
    log "aggregator: running, metrics at http://$SYNCTEL_AGGREGATOR_LISTEN/metrics"
  fi
  if svc_running query-api; then
    log "query-api: already running (pid $(svc_pid query-api))"
  else
    svc_launch query-api "$(bin_dir)/query-api" --json-logs run
    wait_until query-api 60 curl -fsS "http://$SYNCTEL_API_LISTEN/health" -- "$(out_file query-api)"
    log "query-api: running at http://$SYNCTEL_API_LISTEN/api/v1"
  fi
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
Stop with: deploy/run.sh stop   (services)   and   deploy/stack.sh stop   (servers)
MSG
}

stop() {
  svc_stop fleet-sim
  svc_stop query-api
  svc_stop aggregator
  svc_stop ingest
}

status() {
  "$here/stack.sh" status || true
  local name
  for name in ingest aggregator query-api fleet-sim; do
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
