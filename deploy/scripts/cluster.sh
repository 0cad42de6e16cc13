# shellcheck shell=bash
# The local ClickHouse cluster (SYNCTEL_TOPOLOGY=cluster): Debian's zookeeper (standalone,
# run with java from the package's jars) and four clickhouse-server processes, 2 shards x 2
# replicas, on loopback. Sourced by deploy/stack.sh after clickhouse.sh and broker.sh; not
# run. Services (pid and .out files, scripts/proc.sh): zookeeper, ch1 .. ch4.

CLUSTER_NODES="1 2 3 4"

cluster_dir() { echo "$SYNCTEL_VAR/cluster"; }

# --- ZooKeeper ---------------------------------------------------------------------------

zk_dir() { echo "$(cluster_dir)/zookeeper"; }
zk_addr() { echo "$SYNCTEL_HOST:$SYNCTEL_ZOOKEEPER_PORT"; }
zk_jar() { echo /usr/share/java/zookeeper.jar; }

zk_install() {
  if [ -f "$(zk_jar)" ] && command -v java >/dev/null 2>&1; then
    return 0
  fi
  # The package brings the jars (libzookeeper-java), a JRE and the scripts; its postinst
  # starts no service (zookeeperd would).
  apt_install zookeeper
  [ -f "$(zk_jar)" ] || die "zookeeper: $(zk_jar) missing after installing zookeeper"
  command -v java >/dev/null 2>&1 || die "zookeeper: no java after installing zookeeper"
}

# Our conf dir (zoo.cfg, log4j.properties) first, then the server jar: its manifest's
# Class-Path names its dependencies in /usr/share/java. The package's own scripts put only
# those two on the classpath, so slf4j finds no binding and ZooKeeper logs nothing; the
# slf4j -> log4j 1.2 binding (libslf4j-java, liblog4j1.2-java: dependencies of
# libzookeeper-java) is added when present.
zk_classpath() {
  local cp jar
  cp="$(zk_dir)/conf:$(zk_jar)"
  for jar in /usr/share/java/slf4j-log4j12.jar /usr/share/java/log4j-1.2.jar; do
    [ -f "$jar" ] && cp="$cp:$jar"
  done
  echo "$cp"
}

# shellcheck disable=SC2034
zk_render_config() {
  local dir
  dir=$(zk_dir)
  local ZK_DATA_DIR="$dir/data" ZK_PORT=$SYNCTEL_ZOOKEEPER_PORT ZK_HOST=$SYNCTEL_HOST
  mkdir -p "$dir/conf" "$dir/data" "$dir/log"
  render "$SYNCTEL_ROOT/deploy/clickhouse/cluster/zoo.cfg.in" "$dir/conf/zoo.cfg"
  cp "$SYNCTEL_ROOT/deploy/clickhouse/cluster/log4j.properties" "$dir/conf/log4j.properties"
}

# A four-letter-word command (the ones zoo.cfg.in whitelists); prints the answer.
zk_4lw() {
  # shellcheck disable=SC2016 # expanded by the inner bash
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2" && printf %s "$3" >&3 && cat <&3' \
    _ "$SYNCTEL_HOST" "$SYNCTEL_ZOOKEEPER_PORT" "$1" 2>/dev/null
}

# True when ZooKeeper serves sessions. "ruok" answers imok as soon as the port is open,
# while the server still loads its data and refuses sessions; a ClickHouse node started
# then exits ("All connection tries failed while connecting to ZooKeeper"). "srvr" names
# the mode only once the server runs.
zk_ping() { zk_4lw srvr | grep -q '^Mode: '; }

zk_start() {
  if svc_running zookeeper; then
    log "zookeeper: already running (pid $(svc_pid zookeeper)) at $(zk_addr)"
    return 0
  fi
  zk_install
  require_free_port zookeeper "$SYNCTEL_ZOOKEEPER_PORT"
  zk_render_config
  local dir
  dir=$(zk_dir)
  log "zookeeper: starting on $(zk_addr), data in $dir/data"
  (cd "$dir" && svc_launch zookeeper java "-Xmx$SYNCTEL_ZOOKEEPER_HEAP" -XX:+UseSerialGC \
    -Djava.awt.headless=true "-Dzookeeper.log.dir=$dir/log" \
    -cp "$(zk_classpath)" org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/conf/zoo.cfg")
  wait_until zookeeper "$SYNCTEL_START_TIMEOUT" zk_ping -- "$dir/log/zookeeper.log" "$(out_file zookeeper)"
  log "zookeeper: ready at $(zk_addr)"
}

zk_stop() { svc_stop zookeeper; }

# ZooKeeper, then (after an outage) until every running node has its session back and no
# read-only replicated table: the cluster takes inserts again when this returns.
zk_start_wait_nodes() {
  zk_start
  local n
  for n in $CLUSTER_NODES; do
    svc_running "ch$n" || continue
    wait_until "ch$n" "$SYNCTEL_START_TIMEOUT" node_writable "$n" -- \
      "$(node_dir "$n")/log/clickhouse-server.err.log"
  done
  log "zookeeper: every running node is connected and writable"
}

zk_status() {
  local pid mode
  pid=$(svc_pid zookeeper)
  if [ -z "$pid" ]; then
    echo "zookeeper   stopped  $(zk_addr)"
    return 1
  fi
  mode=$(zk_4lw srvr | sed -n 's/^Mode: //p')
  echo "zookeeper   running  pid $pid  $(zk_addr)  mode ${mode:-not answering}  data $(zk_dir)/data"
}

# --- ClickHouse nodes ----------------------------------------------------------------------

node_check() {
  case ${1:-} in
    1 | 2 | 3 | 4) ;;
    *) die "node must be 1, 2, 3 or 4, not '${1:-}'" ;;
  esac
}
node_dir() { echo "$(cluster_dir)/ch$1"; }
node_http_port() { echo $((SYNCTEL_CLUSTER_HTTP_PORT_BASE + $1)); }
node_tcp_port() { echo $((SYNCTEL_CLUSTER_TCP_PORT_BASE + $1)); }
node_interserver_port() { echo $((SYNCTEL_CLUSTER_INTERSERVER_PORT_BASE + $1)); }
node_url() { echo "http://$SYNCTEL_HOST:$(node_http_port "$1")"; }
node_native() { echo "$SYNCTEL_HOST:$(node_tcp_port "$1")"; }
node_shard() { echo $((($1 + 1) / 2)); }

# Every node's HTTP URL, comma separated.
cluster_node_urls() {
  local n urls=""
  for n in $CLUSTER_NODES; do urls="$urls${urls:+,}$(node_url "$n")"; done
  echo "$urls"
}

# The single server's config.xml and users.xml with node N's ports and paths, plus
# config.d/node.xml (ZooKeeper, macros, remote_servers, distributed DDL).
# shellcheck disable=SC2034
node_render_config() {
  local n=$1 dir
  dir=$(node_dir "$n")
  ch_render_config_in "$dir" "$(node_http_port "$n")" "$(node_tcp_port "$n")"
  local CH_LISTEN_HOST=$SYNCTEL_HOST CH_INTERSERVER_PORT
  CH_INTERSERVER_PORT=$(node_interserver_port "$n")
  local CH_ZOOKEEPER_HOST=$SYNCTEL_HOST CH_ZOOKEEPER_PORT=$SYNCTEL_ZOOKEEPER_PORT
  local CH_ZOOKEEPER_SESSION_TIMEOUT_MS=$SYNCTEL_ZOOKEEPER_SESSION_TIMEOUT_MS
  local CH_ZOOKEEPER_OPERATION_TIMEOUT_MS=$SYNCTEL_ZOOKEEPER_OPERATION_TIMEOUT_MS
  local CH_SHARD CH_REPLICA="ch$n"
  CH_SHARD=$(node_shard "$n")
  local CH_CLUSTER=$SYNCTEL_CLUSTER_NAME CH_CLUSTER_NODES=$SYNCTEL_CLUSTER_NODES_NAME
  local CH_CLUSTER_REPLICATED=$SYNCTEL_CLUSTER_REPLICATED_NAME name
  for name in "$CH_CLUSTER" "$CH_CLUSTER_NODES" "$CH_CLUSTER_REPLICATED"; do
    [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] \
      || die "cluster names (SYNCTEL_CLUSTER_*NAME) must be plain identifiers (XML element names): '$name'"
  done
  local CH_TCP_PORT_1 CH_TCP_PORT_2 CH_TCP_PORT_3 CH_TCP_PORT_4
  CH_TCP_PORT_1=$(node_tcp_port 1)
  CH_TCP_PORT_2=$(node_tcp_port 2)
  CH_TCP_PORT_3=$(node_tcp_port 3)
  CH_TCP_PORT_4=$(node_tcp_port 4)
  render "$SYNCTEL_ROOT/deploy/clickhouse/cluster/node.xml.in" "$dir/etc/config.d/node.xml"
}

# Usage: node_query N SQL [TIMEOUT_S]
node_query() {
  curl -fsS --max-time "${3:-30}" "$(node_url "$1")/" --data-binary "$2"
}

node_ping() {
  [ "$(curl -fsS --max-time 2 "$(node_url "$1")/?query=SELECT%201" 2>/dev/null)" = 1 ]
}

# True when node N has a working ZooKeeper session (replicated tables writable, DDL queue).
node_zk_ok() {
  node_query "$1" "SELECT count() FROM system.zookeeper WHERE path = '/'" 5 >/dev/null 2>&1
}

# True when node N has a ZooKeeper session and none of its replicated tables is read-only
# (after ZooKeeper comes back, a table leaves read-only mode within about 10 s).
node_writable() {
  node_zk_ok "$1" \
    && [ "$(node_query "$1" 'SELECT count() FROM system.replicas WHERE is_readonly' 5 2>/dev/null)" = 0 ]
}

# Launches node N when it is not running; does not wait (node_wait does).
node_launch() {
  local n=$1 name="ch$1" dir
  if svc_running "$name"; then
    log "$name: already running (pid $(svc_pid "$name")) at $(node_url "$n")"
    return 0
  fi
  require_free_port "$name" "$(node_http_port "$n")"
  require_free_port "$name" "$(node_tcp_port "$n")"
  require_free_port "$name" "$(node_interserver_port "$n")"
  node_render_config "$n"
  dir=$(node_dir "$n")
  mkdir -p "$dir/data/tmp" "$dir/data/user_files" "$dir/data/format_schemas" "$dir/log"
  node_err_size "$n" >"$(node_launch_mark "$n")"
  log "$name: starting shard $(node_shard "$n") replica $name on $SYNCTEL_HOST:$(node_http_port "$n") (http), :$(node_tcp_port "$n") (native), :$(node_interserver_port "$n") (interserver), data in $dir/data"
  (cd "$dir/etc" && svc_launch "$name" "$(ch_server_bin)" --config-file="$dir/etc/config.xml")
}

# Waits until node N answers, and, when ZooKeeper runs, until its ZooKeeper session works
# and its replicated tables are writable; creates the services' database on it.
node_wait() {
  local n=$1 name="ch$1" dir
  dir=$(node_dir "$n")
  wait_until "$name" "$SYNCTEL_START_TIMEOUT" node_ping "$n" -- \
    "$dir/log/clickhouse-server.err.log" "$(out_file "$name")"
  if zk_ping; then
    wait_until "$name" "$SYNCTEL_START_TIMEOUT" node_writable "$n" -- \
      "$dir/log/clickhouse-server.err.log" "$(out_file "$name")"
  else
    log "$name: warning: ZooKeeper does not answer: replicated tables are read-only, ON CLUSTER DDL waits"
  fi
  node_query "$n" "CREATE DATABASE IF NOT EXISTS \`$SYNCTEL_CLICKHOUSE_DATABASE\`" >/dev/null \
    || die "$name: cannot create database $SYNCTEL_CLICKHOUSE_DATABASE"
  log "$name: ready at $(node_url "$n")"
}

node_start() {
  node_check "$1"
  ch_install
  ensure_apt curl curl
  local mark
  mark=$(node_err_size "$1")
  node_launch "$1"
  node_restore_if_refused "$1" "$mark"
  node_wait "$1"
}

# The size of node N's error log, to read only what a launch adds to it.
node_err_size() {
  stat -c %s "$(node_dir "$1")/log/clickhouse-server.err.log" 2>/dev/null || echo 0
}

# The file holding node N's error log size when it was last launched.
node_launch_mark() { echo "$(node_dir "$1")/log/launch.mark"; }

# What node N's error log gained after MARK bytes.
node_err_since() {
  tail -c +"$(($2 + 1))" "$(node_dir "$1")/log/clickhouse-server.err.log" 2>/dev/null
}

# True when node N's DDLWorker stopped since the node was launched. ClickHouse 18.16 ends
# the thread on a ZooKeeper error it does not expect ("Unexpected ZooKeeper error: ...
# Terminating."; seen as "Node exists .../shards/.../executed" when a restarted replica
# and its peer both take a shard's task): the node then runs no ON CLUSTER DDL at all, and
# every one waits for it until its timeout. Only a restart brings the thread back.
node_ddl_worker_stopped() {
  local mark
  mark=$(cat "$(node_launch_mark "$1")" 2>/dev/null) || return 1
  node_err_since "$1" "$mark" | grep -q "DDLWorker: Unexpected ZooKeeper error"
}

# A node killed while it wrote a part may keep a part that ZooKeeper never recorded: the
# insert was not acknowledged, and its sender retries it. ClickHouse then refuses to load
# the table ("doesn't look like the set of parts in ZooKeeper") and exits. The documented
# way out is the force_restore_data flag: the server moves such parts to detached/
# (unexpected_*) and starts. This waits until node N answers or exits; when it exited on
# that error (in the lines of its error log after MARK bytes), it says so and launches the
# node once more with the flag.
node_restore_if_refused() {
  local n=$1 mark=$2 name="ch$1" dir start
  dir=$(node_dir "$n")
  start=$(date +%s)
  while svc_running "$name" && ! node_ping "$n"; do
    [ $(($(date +%s) - start)) -ge "$SYNCTEL_START_TIMEOUT" ] && return 0
    sleep 0.2
  done
  svc_running "$name" && return 0
  local added
  added=$(node_err_since "$n" "$mark")
  if grep -q "connecting to ZooKeeper" <<<"$added"; then
    # Its replicated tables could not load: ZooKeeper was not serving yet, or restarting.
    log "$name: warning: it exited, ZooKeeper did not take its session while it loaded its tables; starting it once more when ZooKeeper serves"
    wait_until zookeeper "$SYNCTEL_START_TIMEOUT" zk_ping -- "$(zk_dir)/log/zookeeper.log"
    node_launch "$n"
    return 0
  fi
  grep -q "doesn't look like the set of parts in ZooKeeper" <<<"$added" || return 0
  log "$name: warning: it holds parts that ZooKeeper never recorded (a write cut short by a kill); starting it once more with flags/force_restore_data, which moves them to the detached/ directory of their table"
  mkdir -p "$dir/data/flags"
  touch "$dir/data/flags/force_restore_data"
  node_launch "$n"
}

# Restarts every running node whose DDLWorker stopped (node_ddl_worker_stopped).
cluster_restart_stopped_ddl_workers() {
  local n
  for n in $CLUSTER_NODES; do
    svc_running "ch$n" && node_ddl_worker_stopped "$n" || continue
    log "ch$n: warning: its DDLWorker stopped on an unexpected ZooKeeper error (ON CLUSTER DDL would wait for it): restarting it"
    svc_stop "ch$n" TERM
    node_start "$n"
  done
}

# Usage: node_stop N [SIGNAL]
node_stop() {
  node_check "$1"
  svc_stop "ch$1" "${2:-TERM}"
}

node_status() {
  local n=$1 name="ch$1" pid version zk
  pid=$(svc_pid "$name")
  if [ -z "$pid" ]; then
    printf '%-11s stopped  %s\n' "$name" "$(node_url "$n")"
    return 1
  fi
  version=$(node_query "$n" 'SELECT version()' 3 2>/dev/null) || version="not answering"
  zk=ok
  node_zk_ok "$n" || zk=unavailable
  node_ddl_worker_stopped "$n" && zk="$zk (DDLWorker stopped: restart the node)"
  printf '%-11s running  pid %s  %s native %s  shard %s replica %s  version %s  zookeeper %s  data %s\n' \
    "$name" "$pid" "$(node_url "$n")" "$(node_native "$n")" "$(node_shard "$n")" "$name" \
    "$version" "$zk" "$(node_dir "$n")/data"
}

# --- the cluster as a whole ------------------------------------------------------------------

# ZooKeeper, then the four nodes (launched together, then waited for).
cluster_start() {
  ch_install
  ensure_apt curl curl
  zk_start
  local n marks=()
  for n in $CLUSTER_NODES; do marks[n]=$(node_err_size "$n"); node_launch "$n"; done
  for n in $CLUSTER_NODES; do node_restore_if_refused "$n" "${marks[n]}"; done
  for n in $CLUSTER_NODES; do node_wait "$n"; done
  cluster_restart_stopped_ddl_workers
  log "cluster: $SYNCTEL_CLUSTER_NAME (2 shards x 2 replicas), $SYNCTEL_CLUSTER_NODES_NAME (4 x 1), $SYNCTEL_CLUSTER_REPLICATED_NAME (1 x 4) ready: $(cluster_node_urls)"
}

# The nodes (together: each takes about 2 s to stop), then ZooKeeper.
cluster_stop() {
  local n pids=()
  for n in $CLUSTER_NODES; do
    svc_stop "ch$n" &
    pids+=($!)
  done
  wait "${pids[@]}" || true
  zk_stop
}

cluster_status() {
  local rc=0 n
  zk_status || rc=1
  for n in $CLUSTER_NODES; do node_status "$n" || rc=1; done
  return "$rc"
}

cluster_any_running() {
  local name
  for name in zookeeper ch1 ch2 ch3 ch4; do
    svc_running "$name" && return 0
  done
  return 1
}

cluster_render_users() {
  local n
  for n in $CLUSTER_NODES; do node_render_config "$n"; done
  log "cluster: users rendered into $(cluster_dir)/ch{1..4}/etc/users.xml (running servers reload them)"
}

# --- the broker in cluster mode --------------------------------------------------------------
# One broker serves both topologies. The cluster starts it only when none answers on
# SYNCTEL_KAFKA_PORT, and then records the pid in run/broker.cluster; `cluster stop` stops
# only a broker it started, and leaves even that one running while the single server of the
# same SYNCTEL_VAR runs (it shares the broker).

broker_cluster_mark() { echo "$(run_dir)/broker.cluster"; }

# True when the running broker was started by the cluster topology.
broker_started_by_cluster() {
  local pid
  pid=$(svc_pid broker)
  [ -n "$pid" ] && [ "$(cat "$(broker_cluster_mark)" 2>/dev/null)" = "$pid" ]
}

cluster_broker_start() {
  if ! svc_running broker && port_open "$SYNCTEL_HOST" "$SYNCTEL_KAFKA_PORT"; then
    # shellcheck disable=SC2034 # read by broker.sh
    TANSU=$(tansu_bin)
    broker_ping || die "broker: $(broker_addr) is taken by something that does not answer as a Kafka broker"
    log "broker: reusing the broker that answers at $(broker_addr) (not started from $SYNCTEL_VAR: cluster stop leaves it running)"
    broker_create_topics
    return 0
  fi
  local was_running=0
  svc_running broker && was_running=1
  broker_start
  if [ "$was_running" -eq 0 ]; then
    mkdir -p "$(run_dir)"
    svc_pid broker >"$(broker_cluster_mark)"
  fi
}

cluster_broker_stop() {
  if broker_started_by_cluster; then
    if svc_running clickhouse; then
      log "broker: left running (the single server of $SYNCTEL_VAR runs and shares it)"
      return 0
    fi
    broker_stop
    rm -f "$(broker_cluster_mark)"
  elif svc_running broker; then
    log "broker: left running (started by the single topology: 'deploy/stack.sh stop' or 'stop-broker' stops it)"
  else
    rm -f "$(broker_cluster_mark)"
    if port_open "$SYNCTEL_HOST" "$SYNCTEL_KAFKA_PORT"; then
      log "broker: left running ($(broker_addr) answers, not started from $SYNCTEL_VAR)"
    else
      log "broker: not running"
    fi
  fi
}

cluster_broker_status() {
  if ! svc_running broker && port_open "$SYNCTEL_HOST" "$SYNCTEL_KAFKA_PORT"; then
    echo "broker      shared   $(broker_addr)  (answers, not started from $SYNCTEL_VAR)"
    return 0
  fi
  broker_status
}
