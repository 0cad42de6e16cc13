# shellcheck shell=bash
# ClickHouse of the local stack: Debian's clickhouse-server (18.16) run as a background
# process with the config rendered from deploy/clickhouse/*.xml.in. Sourced by
# deploy/stack.sh; not run.

ch_dir() { echo "$SYNCTEL_VAR/clickhouse"; }
ch_url() { echo "http://$SYNCTEL_HOST:$SYNCTEL_CLICKHOUSE_HTTP_PORT"; }

ch_install() {
  if [ -x "$(ch_server_bin)" ] && command -v clickhouse-client >/dev/null 2>&1; then
    return 0
  fi
  apt_install clickhouse-server clickhouse-client
  [ -x "$(ch_server_bin)" ] || die "clickhouse: $(ch_server_bin) missing after installing clickhouse-server"
  # Where no policy-rc.d forbids it, the package's postinst starts a system-wide server
  # (as user clickhouse, /etc/clickhouse-server) on the default ports: stop that one.
  if [ -x /etc/init.d/clickhouse-server ] && pgrep -u clickhouse -x clickhouse-server >/dev/null 2>&1; then
    log "clickhouse: stopping the system-wide server the package started"
    /etc/init.d/clickhouse-server stop >&2 || true
  fi
}

ch_server_bin() {
  command -v clickhouse-server 2>/dev/null || echo /usr/sbin/clickhouse-server
}

# Writes $SYNCTEL_VAR/clickhouse/etc/{config,users}.xml from the templates and stack.conf.
ch_render_config() {
  ch_render_config_in "$(ch_dir)" "$SYNCTEL_CLICKHOUSE_HTTP_PORT" "$SYNCTEL_CLICKHOUSE_TCP_PORT"
}

# Writes DIR/etc/{config,users}.xml for a server with its data and logs under DIR, on the
# given ports (the single server above; each node of the local cluster, scripts/cluster.sh).
# The CH_* locals are read by render through indirect expansion.
# Usage: ch_render_config_in DIR HTTP_PORT TCP_PORT
# shellcheck disable=SC2034
ch_render_config_in() {
  local dir=$1 src
  src="$SYNCTEL_ROOT/deploy/clickhouse"
  # Template variables (local: visible to render, which runs in this function's scope).
  local CH_LOG_LEVEL=$SYNCTEL_CLICKHOUSE_LOG_LEVEL CH_LOG_DIR="$dir/log" CH_DATA_DIR="$dir/data"
  local CH_LISTEN_HOST=$SYNCTEL_HOST CH_HTTP_PORT=$2
  local CH_TCP_PORT=$3 CH_TIMEZONE=$SYNCTEL_CLICKHOUSE_TIMEZONE
  local CH_DEFAULT_MAX_MEMORY_USAGE=$SYNCTEL_CLICKHOUSE_MAX_MEMORY_USAGE
  local CH_ANALYST_USER=$SYNCTEL_ANALYST_USER
  local CH_ANALYST_PASSWORD_SHA256
  CH_ANALYST_PASSWORD_SHA256=$(printf '%s' "$SYNCTEL_ANALYST_PASSWORD" | sha256sum | cut -d' ' -f1)
  local CH_ANALYST_MAX_EXECUTION_TIME=$SYNCTEL_ANALYST_MAX_EXECUTION_TIME
  local CH_ANALYST_MAX_MEMORY_USAGE=$SYNCTEL_ANALYST_MAX_MEMORY_USAGE
  local CH_ANALYST_MAX_RESULT_ROWS=$SYNCTEL_ANALYST_MAX_RESULT_ROWS
  local CH_ANALYST_MAX_ROWS_TO_READ=$SYNCTEL_ANALYST_MAX_ROWS_TO_READ
  local CH_ANALYST_MAX_THREADS=$SYNCTEL_ANALYST_MAX_THREADS
  local CH_ANALYST_QUERIES_PER_HOUR=$SYNCTEL_ANALYST_QUERIES_PER_HOUR
  local CH_DATABASE=$SYNCTEL_CLICKHOUSE_DATABASE
  [[ $CH_ANALYST_USER =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] \
    || die "SYNCTEL_ANALYST_USER must be a plain identifier (it is an XML element name): '$CH_ANALYST_USER'"
  [[ $CH_DATABASE =~ ^[A-Za-z0-9_]+$ ]] \
    || die "SYNCTEL_CLICKHOUSE_DATABASE must be letters, digits and _: '$CH_DATABASE'"
  CH_LOG_DIR=$(xml_escape "$CH_LOG_DIR")
  CH_DATA_DIR=$(xml_escape "$CH_DATA_DIR")
  mkdir -p "$dir/etc" "$dir/log" "$dir/data/tmp" "$dir/data/user_files" "$dir/data/format_schemas"
  render "$src/config.xml.in" "$dir/etc/config.xml"
  render "$src/users.xml.in" "$dir/etc/users.xml"
  chmod 600 "$dir/etc/users.xml"
}

# Renders users.xml again (after a change of stack.conf or users.xml.in): a running server
# reloads it within seconds, without a restart.
ch_render_users() {
  ch_render_config
  log "clickhouse: users rendered into $(ch_dir)/etc/users.xml (a running server reloads it)"
}

ch_ping() {
  [ "$(curl -fsS --max-time 2 "$(ch_url)/?query=SELECT%201" 2>/dev/null)" = 1 ]
}

ch_start() {
  if svc_running clickhouse; then
    log "clickhouse: already running (pid $(svc_pid clickhouse)) at $(ch_url)"
    return 0
  fi
  ch_install
  ensure_apt curl curl
  require_free_port clickhouse "$SYNCTEL_CLICKHOUSE_HTTP_PORT"
  require_free_port clickhouse "$SYNCTEL_CLICKHOUSE_TCP_PORT"
  ch_render_config
  local dir
  dir=$(ch_dir)
  log "clickhouse: starting on $SYNCTEL_HOST:$SYNCTEL_CLICKHOUSE_HTTP_PORT (http) and :$SYNCTEL_CLICKHOUSE_TCP_PORT (native), data in $dir/data"
  # The server resolves relative paths (users.xml, preprocessed configs) from its cwd.
  (cd "$dir/etc" && svc_launch clickhouse "$(ch_server_bin)" --config-file="$dir/etc/config.xml")
  wait_until clickhouse "$SYNCTEL_START_TIMEOUT" ch_ping -- \
    "$dir/log/clickhouse-server.err.log" "$(out_file clickhouse)"
  log "clickhouse: ready at $(ch_url)"
  ch_create_database
}

ch_query() {
  curl -fsS --max-time 30 "$(ch_url)/" --data-binary "$1"
}

ch_create_database() {
  ch_query "CREATE DATABASE IF NOT EXISTS \`$SYNCTEL_CLICKHOUSE_DATABASE\`" >/dev/null \
    || die "clickhouse: cannot create database $SYNCTEL_CLICKHOUSE_DATABASE"
}

ch_stop() { svc_stop clickhouse; }

ch_status() {
  local pid
  pid=$(svc_pid clickhouse)
  if [ -z "$pid" ]; then
    echo "clickhouse  stopped"
    return 1
  fi
  local version=""
  version=$(ch_query 'SELECT version()' 2>/dev/null) || version="not answering"
  echo "clickhouse  running  pid $pid  $(ch_url) native $SYNCTEL_HOST:$SYNCTEL_CLICKHOUSE_TCP_PORT  version $version  data $(ch_dir)/data"
}
