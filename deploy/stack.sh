#!/usr/bin/env bash
# The local stack: ClickHouse and a Kafka-protocol broker (tansu) on loopback, as plain
# background processes, data under $SYNCTEL_VAR (default <repo>/.local).
#
# Usage: deploy/stack.sh [single|cluster] COMMAND
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
# Topology: SYNCTEL_TOPOLOGY=single (default: the one ClickHouse server) or cluster
# (ZooKeeper and 4 ClickHouse servers, 2 shards x 2 replicas, ports 8131..8134 / 9131..9134);
# `stack.sh cluster COMMAND` is short for SYNCTEL_TOPOLOGY=cluster stack.sh COMMAND. In
# cluster mode start, stop, status, reset, env, users, start-clickhouse, stop-clickhouse act
# on the cluster (and the broker), and also:
#   nodes              print each node's HTTP URL, one per line
#   stop-node N | kill-node N | start-node N      node N (1..4): SIGTERM and wait, SIGKILL, start
#   stop-zookeeper | start-zookeeper
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
# shellcheck source=SCRIPTDIR/scripts/cluster.sh
. "$here/scripts/cluster.sh"

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

is_cluster() { [ "$SYNCTEL_TOPOLOGY" = cluster ]; }

cmd_start() {
  local t0
  t0=$(date +%s.%N)
  if is_cluster; then
    cluster_start
    cluster_broker_start
  else
    ch_start
    broker_start
  fi
  log "stack ready in $(elapsed "$t0") s"
}

cmd_stop() {
  if is_cluster; then
    cluster_broker_stop
    cluster_stop
  else
    broker_stop
    ch_stop
  fi
}

cmd_status() {
  local rc=0
  if is_cluster; then
    cluster_status || rc=1
    cluster_broker_status || rc=1
  else
    ch_status || rc=1
    broker_status || rc=1
  fi
  return "$rc"
}

cmd_reset() {
  cmd_stop
  case $SYNCTEL_VAR in
    "" | / | "$HOME") die "refusing to wipe SYNCTEL_VAR='$SYNCTEL_VAR'" ;;
  esac
  if is_cluster; then
    # The cluster's own data only: the single server's (if any) stays.
    log "deleting $(cluster_dir)"
    rm -rf "$(cluster_dir)"
    return 0
  fi
  # The cluster's data goes too: stop its servers first.
  if cluster_any_running; then
    log "the local cluster runs from $SYNCTEL_VAR too: stopping it before deleting its data"
    cluster_stop
  fi
  log "deleting the contents of $SYNCTEL_VAR"
  # Everything but the lock we hold.
  find "$SYNCTEL_VAR" -mindepth 1 -maxdepth 1 ! -name stack.lock -exec rm -rf {} +
}

cmd_env() {
  local brokers="$SYNCTEL_HOST:$SYNCTEL_KAFKA_PORT" url native
  url=$(ch_url)
  native="$SYNCTEL_HOST:$SYNCTEL_CLICKHOUSE_TCP_PORT"
  if is_cluster; then
    url=$(node_url 1)
    native=$(node_native 1)
  fi
  cat <<EOF
export SYNCTEL_VAR=$(printf '%q' "$SYNCTEL_VAR")
export SYNCTEL_CLICKHOUSE_URL=$(printf '%q' "$url")
export SYNCTEL_CLICKHOUSE_NATIVE=$(printf '%q' "$native")
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
  echo "export SYNCTEL_TOPOLOGY=$(printf '%q' "$SYNCTEL_TOPOLOGY")"
  if is_cluster; then
    cat <<EOF
export SYNCTEL_CLICKHOUSE_CLUSTER=$(printf '%q' "$SYNCTEL_CLUSTER_NAME")
export SYNCTEL_CLICKHOUSE_CLUSTER_NODES=$(printf '%q' "$SYNCTEL_CLUSTER_NODES_NAME")
export SYNCTEL_CLICKHOUSE_CLUSTER_REPLICATED=$(printf '%q' "$SYNCTEL_CLUSTER_REPLICATED_NAME")
export SYNCTEL_CLICKHOUSE_NODE_URLS=$(printf '%q' "$(cluster_node_urls)")
export SYNCTEL_ZOOKEEPER=$(printf '%q' "$(zk_addr)")
EOF
  fi
}

cmd_nodes() {
  local n
  for n in $CLUSTER_NODES; do node_url "$n"; done
}

# Commands of the cluster topology only.
cluster_only() {
  is_cluster || die "'$1' is a cluster command: SYNCTEL_TOPOLOGY=cluster deploy/stack.sh $1, or deploy/stack.sh cluster $1"
}

elapsed() {
  local now
  now=$(date +%s.%N)
  awk -v a="$1" -v b="$now" 'BEGIN { printf "%.1f", b - a }'
}

main() {
  [ $# -ge 1 ] || usage
  case $1 in
    single | cluster)
      SYNCTEL_TOPOLOGY=$1
      shift
      [ $# -ge 1 ] || usage
      ;;
  esac
  case $SYNCTEL_TOPOLOGY in
    single | cluster) ;;
    *) die "SYNCTEL_TOPOLOGY must be single or cluster, not '$SYNCTEL_TOPOLOGY'" ;;
  esac
  case $1 in
    env | status | nodes | help | -h | --help) ;;
    *) lock_stack ;;
  esac
  case $1 in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    reset) cmd_reset ;;
    env) cmd_env ;;
    start-clickhouse) if is_cluster; then cluster_start; else ch_start; fi ;;
    stop-clickhouse) if is_cluster; then cluster_stop; else ch_stop; fi ;;
    nodes) cluster_only "$1"; cmd_nodes ;;
    start-node) cluster_only "$1"; node_start "${2:-}" ;;
    stop-node) cluster_only "$1"; node_stop "${2:-}" TERM ;;
    kill-node) cluster_only "$1"; node_stop "${2:-}" KILL ;;
    start-zookeeper) cluster_only "$1"; zk_start_wait_nodes ;;
    stop-zookeeper) cluster_only "$1"; zk_stop ;;
    start-broker) broker_start ;;
    stop-broker) broker_stop ;;
    start-postgres) pg_start ;;
    stop-postgres) pg_stop ;;
    topics) broker_topics ;;
    users) if is_cluster; then cluster_render_users; else ch_render_users; fi ;;
    -h | --help | help) usage ;;
    *) log "unknown command: $1"; usage ;;
  esac
}

main "$@"
