# shellcheck shell=bash
# PostgreSQL for the broker's postgres storage (SYNCTEL_BROKER_STORAGE=postgres): Debian's
# postgresql server binaries run directly (no pg_ctlcluster, no systemd), cluster under
# $SYNCTEL_VAR/postgres. Sourced by deploy/stack.sh; not run.

pg_dir() { echo "$SYNCTEL_VAR/postgres"; }

pg_url() {
  echo "postgres://$SYNCTEL_POSTGRES_USER:$SYNCTEL_POSTGRES_PASSWORD@$SYNCTEL_HOST:$SYNCTEL_POSTGRES_PORT/$SYNCTEL_POSTGRES_DATABASE"
}

# The newest installed server's bin directory (Debian keeps them out of PATH).
pg_bin() {
  local d
  d=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] && [ -x "$d/postgres" ] && [ -x "$d/initdb" ] && [ -x "$d/psql" ] && echo "$d"
}

pg_install() {
  [ -n "$(pg_bin)" ] && return 0
  # postgresql-common's postinst creates a "main" cluster on 5432; we leave it alone.
  apt_install postgresql
  [ -n "$(pg_bin)" ] || die "postgres: no server binaries under /usr/lib/postgresql/*/bin after installing postgresql"
}

# PostgreSQL refuses to run as root: as root, run the server as the package's postgres user.
pg_os_user() {
  if [ "$(id -u)" -eq 0 ]; then echo postgres; else id -un; fi
}

# Runs "$@" as pg_os_user (setpriv execs: no extra process between us and the server).
pg_as() {
  if [ "$(id -u)" -eq 0 ]; then
    setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
  else
    "$@"
  fi
}

# Gives the directory (and what is in it) to pg_os_user when we are root.
pg_chown() {
  if [ "$(id -u)" -eq 0 ]; then chown "$(pg_os_user):" "$@"; fi
}

# psql/createdb over TCP as the broker's database user.
pg_client() {
  local tool=$1
  shift
  PGPASSWORD=$SYNCTEL_POSTGRES_PASSWORD PGOPTIONS='-c client_min_messages=warning' \
    "$(pg_bin)/$tool" -h "$SYNCTEL_HOST" -p "$SYNCTEL_POSTGRES_PORT" -U "$SYNCTEL_POSTGRES_USER" "$@"
}

pg_init() {
  local dir data
  dir=$(pg_dir)
  data="$dir/data"
  mkdir -p "$dir/run"
  pg_chown "$dir" "$dir/run"
  pg_as test -w "$dir" \
    || die "postgres: user $(pg_os_user) cannot write $dir (a parent directory is not searchable?); set SYNCTEL_VAR elsewhere"
  [ -f "$data/PG_VERSION" ] && return 0
  log "postgres: initdb $data (superuser $SYNCTEL_POSTGRES_USER)"
  local pwfile="$dir/.pwfile"
  printf '%s\n' "$SYNCTEL_POSTGRES_PASSWORD" >"$pwfile"
  pg_chown "$pwfile"
  chmod 600 "$pwfile"
  pg_as "$(pg_bin)/initdb" -D "$data" -U "$SYNCTEL_POSTGRES_USER" --pwfile="$pwfile" \
    --auth-host=scram-sha-256 --auth-local=peer --encoding=UTF8 --no-locale \
    >>"$(out_file postgres)" 2>&1 || { rm -f "$pwfile"; die "postgres: initdb failed, see $(out_file postgres)"; }
  rm -f "$pwfile"
}

pg_ping() {
  "$(pg_bin)/pg_isready" -q -h "$SYNCTEL_HOST" -p "$SYNCTEL_POSTGRES_PORT"
}

pg_start() {
  if svc_running postgres; then
    log "postgres: already running (pid $(svc_pid postgres)) on $SYNCTEL_HOST:$SYNCTEL_POSTGRES_PORT"
    return 0
  fi
  pg_install
  require_free_port postgres "$SYNCTEL_POSTGRES_PORT"
  mkdir -p "$(log_dir)"
  pg_init
  local dir
  dir=$(pg_dir)
  log "postgres: starting on $SYNCTEL_HOST:$SYNCTEL_POSTGRES_PORT, data in $dir/data"
  local as=()
  [ "$(id -u)" -ne 0 ] || as=(setpriv --reuid=postgres --regid=postgres --init-groups --)
  (cd "$dir" && svc_launch postgres "${as[@]}" "$(pg_bin)/postgres" -D "$dir/data" \
    -c listen_addresses="$SYNCTEL_HOST" -p "$SYNCTEL_POSTGRES_PORT" \
    -c unix_socket_directories="$dir/run")
  wait_until postgres "$SYNCTEL_START_TIMEOUT" pg_ping -- "$(out_file postgres)"
  pg_prepare_database
  log "postgres: ready at $SYNCTEL_HOST:$SYNCTEL_POSTGRES_PORT, database $SYNCTEL_POSTGRES_DATABASE"
}

# Creates the broker's database if missing and applies tansu's schema (idempotent).
pg_prepare_database() {
  local exists
  exists=$(pg_client psql -d postgres -tAc \
    "select 1 from pg_database where datname = '$SYNCTEL_POSTGRES_DATABASE'") \
    || die "postgres: cannot connect as $SYNCTEL_POSTGRES_USER"
  if [ "$exists" != 1 ]; then
    pg_client createdb "$SYNCTEL_POSTGRES_DATABASE" || die "postgres: createdb failed"
  fi
  pg_client psql -d "$SYNCTEL_POSTGRES_DATABASE" -q -v ON_ERROR_STOP=1 \
    -f "$SYNCTEL_ROOT/deploy/broker/postgres-schema.sql" \
    || die "postgres: applying deploy/broker/postgres-schema.sql failed"
}

# SIGINT is PostgreSQL's "fast shutdown" (SIGTERM would wait for clients to leave).
pg_stop() { svc_stop postgres INT; }

pg_status() {
  local pid
  pid=$(svc_pid postgres)
  if [ -z "$pid" ]; then
    echo "postgres    stopped"
    return 1
  fi
  echo "postgres    running  pid $pid  $SYNCTEL_HOST:$SYNCTEL_POSTGRES_PORT  database $SYNCTEL_POSTGRES_DATABASE  data $(pg_dir)/data"
}
