#!/usr/bin/env bash
# The local stack: ClickHouse and a Kafka-protocol broker (tansu) on loopback, as plain
# background processes, data under $SYNCTEL_VAR (default <repo>/.local).
#
# Usage: deploy/stack.sh COMMAND
#   start              install what is missing, start both, wait until they answer, create topics
#   stop               stop both (SIGTERM, then SIGKILL after SYNCTEL_STOP_TIMEOUT s)
#   status             what runs where (exit 1 if something is down)
#   reset              stop and delete all data under $SYNCTEL_VAR
#   env                print export lines: eval "$(deploy/stack.sh env)"
#   start-clickhouse | stop-clickhouse | start-broker | stop-broker
#   start-postgres | stop-postgres   (the broker's database, SYNCTEL_BROKER_STORAGE=postgres)
#   topics             create the configured topics (start does it) and list them
#   users              render ClickHouse's users.xml again from stack.conf (a running server
#                      reloads it within seconds; start renders it too)
# Settings: deploy/stack.conf (every value can be overridden from the environment).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/scripts/common.sh
. "$here/scripts/common.sh"
# shellcheck source=SCRIPTDIR/stack.conf
. "$here/stack.conf"
# shellcheck source=SCRIPTDIR/scripts/proc.sh
. "$here/scripts/proc.sh"
# shellcheck source=SCRIPTDIR/scripts/clickhouse.sh
. "$here/scripts/clickhouse.sh"
# shellcheck source=SCRIPTDIR/scripts/postgres.sh
. "$here/scripts/postgres.sh"
# shellcheck source=SCRIPTDIR/scripts/broker.sh
. "$here/scripts/broker.sh"

# clickhouse-server lives in /usr/sbin, which a non-root PATH may lack.
PATH=$PATH:/usr/sbin:/sbin

# A relative SYNCTEL_VAR would move with the servers' working directories.
case $SYNCTEL_VAR in
  /*) ;;
  *) SYNCTEL_VAR=$PWD/$SYNCTEL_VAR ;;
esac

# One stack.sh at a time changes the stack (parallel test processes may all call start).
lock_stack() {
  mkdir -p "$SYNCTEL_VAR"
  exec 8>"$SYNCTEL_VAR/stack.lock"
  flock 8
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

cmd_start() {
  local t0
  t0=$(date +%s.%N)
  ch_start
  broker_start
  log "stack ready in $(elapsed "$t0") s"
}

cmd_stop() {
  broker_stop
  ch_stop
}

cmd_status() {
  local rc=0
  ch_status || rc=1
  broker_status || rc=1
  return "$rc"
}

cmd_reset() {
  cmd_stop
  case $SYNCTEL_VAR in
    "" | / | "$HOME") die "refusing to wipe SYNCTEL_VAR='$SYNCTEL_VAR'" ;;
  esac
  log "deleting the contents of $SYNCTEL_VAR"
  # Everything but the lock we hold.
  find "$SYNCTEL_VAR" -mindepth 1 -maxdepth 1 ! -name stack.lock -exec rm -rf {} +
}

cmd_env() {
  local brokers="$SYNCTEL_HOST:$SYNCTEL_KAFKA_PORT"
  cat <<EOF
export SYNCTEL_VAR=$(printf '%q' "$SYNCTEL_VAR")
export SYNCTEL_CLICKHOUSE_URL=$(printf '%q' "$(ch_url)")
export SYNCTEL_CLICKHOUSE_NATIVE=$(printf '%q' "$SYNCTEL_HOST:$SYNCTEL_CLICKHOUSE_TCP_PORT")
export SYNCTEL_CLICKHOUSE_USER=default
export SYNCTEL_CLICKHOUSE_DATABASE=$(printf '%q' "$SYNCTEL_CLICKHOUSE_DATABASE")
export SYNCTEL_ANALYST_USER=$(printf '%q' "$SYNCTEL_ANALYST_USER")
export SYNCTEL_ANALYST_PASSWORD=$(printf '%q' "$SYNCTEL_ANALYST_PASSWORD")
export SYNCTEL_KAFKA_BROKERS=$(printf '%q' "$brokers")
export SYNCTEL_EVENTS_TOPIC=$(printf '%q' "$SYNCTEL_EVENTS_TOPIC")
export SYNCTEL_LOGS_TOPIC=$(printf '%q' "$SYNCTEL_LOGS_TOPIC")
export SYNCTEL_COMMANDS_TOPIC=$(printf '%q' "$SYNCTEL_COMMANDS_TOPIC")
export SYNCTEL_DEADLETTER_TOPIC=$(printf '%q' "$SYNCTEL_DEADLETTER_TOPIC")
export SYNCTEL_TOPICS=$(printf '%q' "$SYNCTEL_TOPICS")
export SYNCTEL_BROKER_STORAGE=$(printf '%q' "$SYNCTEL_BROKER_STORAGE")
EOF
  if [ "$SYNCTEL_BROKER_STORAGE" = postgres ]; then
    echo "export SYNCTEL_POSTGRES_URL=$(printf '%q' "$(pg_url)")"
  fi
}

elapsed() {
  local now
  now=$(date +%s.%N)
  awk -v a="$1" -v b="$now" 'BEGIN { printf "%.1f", b - a }'
}

main() {
  [ $# -ge 1 ] || usage
  case $1 in
    env | status | help | -h | --help) ;;
    *) lock_stack ;;
  esac
  case $1 in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    reset) cmd_reset ;;
    env) cmd_env ;;
    start-clickhouse) ch_start ;;
    stop-clickhouse) ch_stop ;;
    start-broker) broker_start ;;
    stop-broker) broker_stop ;;
    start-postgres) pg_start ;;
    stop-postgres) pg_stop ;;
    topics) broker_topics ;;
    users) ch_render_users ;;
    -h | --help | help) usage ;;
    *) log "unknown command: $1"; usage ;;
  esac
}

main "$@"
