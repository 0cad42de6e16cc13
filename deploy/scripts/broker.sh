# shellcheck shell=bash
# The Kafka-protocol broker of the local stack: tansu (pinned in common.sh, built once per
# machine by install-tansu.sh), storage from SYNCTEL_BROKER_STORAGE. Sourced by
# deploy/stack.sh; not run.

broker_addr() { echo "$SYNCTEL_HOST:$SYNCTEL_KAFKA_PORT"; }
broker_url() { echo "tcp://$(broker_addr)"; }
broker_dir() { echo "$SYNCTEL_VAR/tansu"; }
broker_state() { echo "$(run_dir)/broker.storage"; }

# The tansu binary; builds it (about 20 minutes, once per machine) when the cache lacks it.
tansu_bin() {
  local bin="$TANSU_ROOT/bin/tansu"
  if [ ! -x "$bin" ]; then
    log "broker: tansu $TANSU_VERSION is not in the cache yet; building or waiting for the build (log: stderr of install-tansu.sh)"
    bin=$("$SYNCTEL_ROOT/deploy/scripts/install-tansu.sh") || die "broker: building tansu failed"
  fi
  echo "$bin"
}

# The storage URL tansu is given; starts PostgreSQL first when the storage needs it.
broker_storage_url() {
  if [ -n "$SYNCTEL_BROKER_STORAGE_URL" ]; then
    echo "$SYNCTEL_BROKER_STORAGE_URL"
    return 0
  fi
  case $SYNCTEL_BROKER_STORAGE in
    memory) echo "$SYNCTEL_BROKER_MEMORY_URL" ;;
    postgres) pg_start && pg_url ;;
    *) die "SYNCTEL_BROKER_STORAGE must be memory or postgres (or set SYNCTEL_BROKER_STORAGE_URL), not '$SYNCTEL_BROKER_STORAGE'" ;;
  esac
}

redact_url() { sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' <<<"$1"; }

# True when the broker answers a Kafka Metadata request.
broker_ping() {
  port_open "$SYNCTEL_HOST" "$SYNCTEL_KAFKA_PORT" \
    && timeout 5 "$TANSU" topic list --broker "$(broker_url)" >/dev/null 2>&1
}

broker_start() {
  TANSU=$(tansu_bin)
  if svc_running broker; then
    local running
    running=$(cat "$(broker_state)" 2>/dev/null || echo unknown)
    log "broker: already running (pid $(svc_pid broker)) at $(broker_addr), storage $running"
    if [ -z "$SYNCTEL_BROKER_STORAGE_URL" ] && [ "${running%%:*}" != "$SYNCTEL_BROKER_STORAGE" ]; then
      log "broker: warning: SYNCTEL_BROKER_STORAGE=$SYNCTEL_BROKER_STORAGE but the running broker uses $running; 'stack.sh stop-broker' first to switch"
    fi
  else
    require_free_port broker "$SYNCTEL_KAFKA_PORT"
    local storage
    storage=$(broker_storage_url)
    mkdir -p "$(broker_dir)" "$(run_dir)"
    redact_url "$storage" >"$(broker_state)"
    log "broker: starting tansu on $(broker_addr), storage $(redact_url "$storage")"
    # tansu reads .env from its cwd and some unprefixed variables (SCHEMA_REGISTRY, ...):
    # run it from its own directory with only the settings given here.
    (cd "$(broker_dir)" && svc_launch broker env -u SCHEMA_REGISTRY -u OTEL_EXPORTER_OTLP_ENDPOINT \
      RUST_LOG="$SYNCTEL_BROKER_LOG" NO_COLOR=1 "$TANSU" broker \
      --cluster-id "$SYNCTEL_KAFKA_CLUSTER_ID" \
      --listener-url "$(broker_url)" \
      --advertised-listener-url "$(broker_url)" \
      --storage-engine "$storage")
    wait_until broker "$SYNCTEL_START_TIMEOUT" broker_ping -- "$(out_file broker)"
    log "broker: ready at $(broker_addr)"
  fi
  broker_create_topics
}

# Prints "name partitions" for every topic the broker has.
broker_list_topics() {
  ensure_apt jq jq
  timeout 30 "$TANSU" topic list --broker "$(broker_url)" \
    | jq -r '.[] | select(.name != null) | "\(.name) \(.partitions | length)"'
}

# Creates the topics of SYNCTEL_TOPICS that are missing (idempotent).
broker_create_topics() {
  local existing spec name partitions have
  existing=$(broker_list_topics) || die "broker: cannot list topics"
  for spec in $SYNCTEL_TOPICS; do
    name=${spec%%:*}
    partitions=${spec##*:}
    [[ $name != "$spec" && $partitions =~ ^[0-9]+$ ]] \
      || die "SYNCTEL_TOPICS: '$spec' is not name:partitions"
    have=$(awk -v n="$name" '$1 == n { print $2 }' <<<"$existing")
    if [ -z "$have" ]; then
      timeout 30 "$TANSU" topic create "$name" --partitions "$partitions" --broker "$(broker_url)" >/dev/null \
        || die "broker: creating topic $name failed"
      log "broker: created topic $name ($partitions partitions)"
    elif [ "$have" != "$partitions" ]; then
      log "broker: warning: topic $name has $have partitions, config says $partitions (reset to recreate)"
    fi
  done
}

broker_topics() {
  TANSU=$(tansu_bin)
  broker_create_topics
  broker_list_topics
}

broker_stop() {
  svc_stop broker
  rm -f "$(broker_state)"
  # PostgreSQL only serves the broker: stop it with it.
  if svc_running postgres; then pg_stop; fi
}

broker_status() {
  local pid rc=0
  pid=$(svc_pid broker)
  if [ -z "$pid" ]; then
    echo "broker      stopped"
    rc=1
  else
    echo "broker      running  pid $pid  $(broker_addr)  storage $(cat "$(broker_state)" 2>/dev/null || echo unknown)"
  fi
  if svc_running postgres || [ "$SYNCTEL_BROKER_STORAGE" = postgres ]; then
    pg_status || rc=1
  fi
  return "$rc"
}
