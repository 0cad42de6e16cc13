#!/usr/bin/env bash
# The Debian package `synctel` (ingest, aggregator, query-api, retention; docs/ops/packages.md).
#
# Usage: deploy/package.sh build   cargo-deb (built once into ~/.cache/synctel), the console,
#                                  the release binaries, then target/debian/synctel_*.deb
#        deploy/package.sh test    install that .deb with apt-get, check the user, files and
#                                  units (systemd-analyze verify), run the installed binaries
#                                  with the packaged config against the local stack (a
#                                  throwaway database), then purge the package
# `test` needs root, the stack running (deploy/stack.sh start) and no synctel package or
# user on the machine; it leaves the machine as it found it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/scripts/common.sh
. "$here/scripts/common.sh"
# shellcheck source=SCRIPTDIR/scripts/proc.sh
. "$here/scripts/proc.sh"
cd "$SYNCTEL_ROOT"

PKG=synctel
BINS=(ingest aggregator query-api retention)
UNITS=(synctel-ingest.service synctel-ingest@.service synctel-aggregator.service synctel-query-api.service
  synctel-retention.service synctel-retention.timer)

step() { log "package: $*"; }

build() {
  local t0 cargo_deb deb
  t0=$(date +%s)
  step "cargo-deb"
  cargo_deb=$("$here/scripts/install-cargo-deb.sh")
  step "web console (deploy/console.sh build)"
  "$here/console.sh" build
  local pkgs=()
  for b in "${BINS[@]}"; do pkgs+=(-p "$b"); done
  step "release build of ${BINS[*]}"
  cargo build --release --locked "${pkgs[@]}"
  step "cargo deb"
  # `depends = "$auto"`: the shared libraries' packages, found by dpkg-shlibdeps.
  ensure_apt dpkg-shlibdeps dpkg-dev
  rm -f target/debian/"$PKG"_*.deb
  # The binaries are built above; cargo-deb only strips them (debug info and all) and packs.
  deb=$(PATH="$(dirname "$cargo_deb"):$PATH" cargo deb -p ingest --no-build --locked --strip)
  step "built $deb ($(du -h "$deb" | cut -f1)) in $(( $(date +%s) - t0 )) s"
  dpkg-deb --info "$deb" | sed -n '/Package:/,$p' >&2
}

# --- test ------------------------------------------------------------------------------

pids=()
db=
installed=0

cleanup() {
  local rc=$? pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$db" ]; then
    ch "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
    ch "DROP DATABASE IF EXISTS ${db}_secrets" >/dev/null 2>&1 || true
  fi
  if [ "$installed" = 1 ]; then
    step "purging $PKG"
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -q -o Dpkg::Use-Pty=0 "$PKG" >&2 || rc=1
  fi
  if [ "$rc" != 0 ]; then
    log "package test FAILED (see above; service output in $work)"
  else
    rm -rf "$work"
  fi
  exit "$rc"
}

ch() { curl -fsS "$SYNCTEL_CLICKHOUSE_URL/" --data-binary "$1"; }

# A free loopback port (nothing answers on it).
free_port() {
  local p
  while :; do
    p=$(( 20000 + RANDOM % 20000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
}

# Runs an installed binary as the synctel user (so the config's permissions are tested too).
# setpriv execs it: started with `&`, $! is the service's own pid.
AS_SYNCTEL=(setpriv --reuid=synctel --regid=synctel --init-groups --)
as_synctel() { "${AS_SYNCTEL[@]}" "$@"; }

# Waits until URL answers 200 (up to 60 s) while the process PID lives; prints the body.
wait_health() {
  local url=$1 pid=$2 name=$3 i
  for i in $(seq 1 120); do
    if body=$(curl -fsS --max-time 2 "$url" 2>/dev/null); then
      echo "$body"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || die "$name exited before answering $url (output: $work/$name.out)"
    sleep 0.5
  done
  die "$name: no 200 from $url in 60 s (output: $work/$name.out)"
}

# SIGTERM, then the process must exit 0 within 30 s.
stop_clean() {
  local pid=$1 name=$2 i rc=0
  kill -TERM "$pid"
  for i in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill -0 "$pid" 2>/dev/null && die "$name did not stop within 30 s of SIGTERM"
  wait "$pid" || rc=$?
  [ "$rc" = 0 ] || die "$name exited $rc after SIGTERM (output: $work/$name.out)"
  pids=("${pids[@]/$pid}")
}

check() { "$@" || die "check failed: $*"; }

test_package() {
  local t0 deb unit units_dir out
  t0=$(date +%s)
  [ "$(id -u)" = 0 ] || die "package test needs root (apt-get install)"
  ensure_apt systemd-analyze systemd
  # `build` leaves exactly one.
  local debs=(target/debian/"$PKG"_*.deb)
  deb=${debs[-1]}
  [ -f "$deb" ] || die "no target/debian/${PKG}_*.deb: run deploy/package.sh build first"
  if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q 'installed'; then
    die "$PKG is already installed here; the test would purge it (apt-get purge $PKG first)"
  fi
  getent passwd synctel >/dev/null && die "a user synctel exists already; the test would delete it"
  [ -e /etc/synctel ] && die "/etc/synctel exists already; the test would delete it"
  eval "$("$here/stack.sh" env)"
  ch "SELECT 1" >/dev/null || die "ClickHouse does not answer at $SYNCTEL_CLICKHOUSE_URL (deploy/stack.sh start)"

  work=$(mktemp -d /tmp/synctel-pkgtest.XXXXXX)
  chmod 755 "$work"
  trap cleanup EXIT

  step "apt-get install ./$deb"
  installed=1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Use-Pty=0 "./$deb" >&2

  step "user, files, conffiles"
  check getent passwd synctel >/dev/null
  check test "$(getent passwd synctel | cut -d: -f7)" = /usr/sbin/nologin
  for b in "${BINS[@]}"; do check test -x "/usr/bin/$b"; done
  for f in ingest.toml aggregator.toml query-api.toml retention.toml ingest-1.env ingest-2.env; do
    check test "$(stat -c '%U:%G %a' "/etc/synctel/$f")" = "root:synctel 640"
    dpkg-query -W -f='${Conffiles}\n' "$PKG" | grep -q " /etc/synctel/$f " \
      || die "/etc/synctel/$f is not a conffile"
  done
  check test "$(stat -c '%U:%G %a' /etc/synctel)" = "root:synctel 750"
  check test -f /usr/share/synctel/console/index.html
  units_dir=$(dirname "$(dpkg -L "$PKG" | grep '/synctel-ingest.service$')")
  for unit in "${UNITS[@]}"; do check test -f "$units_dir/$unit"; done
  # Installing must not enable or start anything.
  check test ! -e /etc/systemd/system/multi-user.target.wants/synctel-ingest.service

  step "reinstall over an edited config (an upgrade keeps local edits, fixes permissions)"
  echo '# local edit' >>/etc/synctel/ingest.toml
  chmod 0644 /etc/synctel/ingest.toml
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Use-Pty=0 \
    -o Dpkg::Options::=--force-confold --reinstall "./$deb" >&2
  check grep -q '^# local edit$' /etc/synctel/ingest.toml
  check test "$(stat -c '%U:%G %a' /etc/synctel/ingest.toml)" = "root:synctel 640"

  step "systemd-analyze verify (units in $units_dir)"
  for unit in "${UNITS[@]}"; do
    # A template is verified through an instance (it needs /etc/synctel/ingest-1.env).
    unit=${unit/@./@1.}
    if ! out=$(systemd-analyze verify --man=no "$units_dir/${unit/@1./@.}" "$unit" 2>&1) || [ -n "$out" ]; then
      printf '%s\n' "$out" >&2
      die "systemd-analyze verify $unit"
    fi
    if [[ $unit == *.service ]]; then
      out=$(systemd-analyze security --offline=yes --no-pager "$units_dir/${unit/@1./@.}" 2>&1 | tail -n1)
      out="; systemd-analyze security exposure $(grep -oE '[0-9]+\.[0-9]+ [A-Z]+' <<<"$out" || echo "?")"
    else
      out=
    fi
    step "  $unit: verified$out"
  done

  step "systemctl enable synctel-ingest@1 synctel-aggregator synctel-retention.timer (offline: links only; purge must remove them)"
  local wants=/etc/systemd/system/multi-user.target.wants timers=/etc/systemd/system/timers.target.wants
  systemctl enable synctel-ingest@1.service synctel-aggregator.service synctel-retention.timer >&2 2>&1
  check test -L "$wants/synctel-ingest@1.service"
  check test -L "$wants/synctel-aggregator.service"
  check test -L "$timers/synctel-retention.timer"

  step "check the packaged configs (as user synctel)"
  # retention's check needs the tables: below, after the migrations.
  for b in ingest aggregator query-api; do
    as_synctel "/usr/bin/$b" --config "/etc/synctel/$b.toml" check >"$work/$b-check.out" \
      || die "$b check failed: $(cat "$work/$b-check.out")"
    check grep -q 'config ok' "$work/$b-check.out"
  done

  db=pkgtest_$(date +%s)_$RANDOM
  local group=pkgtest-$RANDOM$RANDOM
  export SYNCTEL_CLICKHOUSE_DATABASE=$db
  step "migrations into database $db (ingest migrate, aggregator migrate)"
  ch "CREATE DATABASE $db" >/dev/null
  as_synctel /usr/bin/ingest --config /etc/synctel/ingest.toml migrate >"$work/migrate.out" 2>&1 \
    || die "ingest migrate: $(tail -n 20 "$work/migrate.out")"
  as_synctel /usr/bin/aggregator --config /etc/synctel/aggregator.toml migrate >>"$work/migrate.out" 2>&1 \
    || die "aggregator migrate: $(tail -n 20 "$work/migrate.out")"
  step "  $(ch "SELECT count() FROM system.tables WHERE database = '$db'") tables"

  step "retention check, run --dry-run, run (the packaged config, database $db)"
  local r
  for r in check "run --dry-run" run; do
    # shellcheck disable=SC2086 # $r is two words on purpose
    as_synctel /usr/bin/retention --config /etc/synctel/retention.toml $r >"$work/retention.out" 2>&1 \
      || die "retention $r: $(tail -n 20 "$work/retention.out")"
  done

  local ip ap qp pid_i pid_a pid_q body
  ip=$(free_port); ap=$(free_port); qp=$(free_port)
  step "start ingest (:$ip, group $group), aggregator (:$ap), query-api (:$qp)"
  SYNCTEL_INGEST_LISTEN=127.0.0.1:$ip SYNCTEL_INGEST_GROUP_ID=$group SYNCTEL_INGEST_INSTANCE_ID=$group-1 \
    "${AS_SYNCTEL[@]}" /usr/bin/ingest --config /etc/synctel/ingest.toml run >"$work/ingest.out" 2>&1 &
  pid_i=$!; pids+=("$pid_i")
  SYNCTEL_AGGREGATOR_LISTEN=127.0.0.1:$ap \
    "${AS_SYNCTEL[@]}" /usr/bin/aggregator --config /etc/synctel/aggregator.toml run >"$work/aggregator.out" 2>&1 &
  pid_a=$!; pids+=("$pid_a")
  SYNCTEL_API_LISTEN=127.0.0.1:$qp \
    "${AS_SYNCTEL[@]}" /usr/bin/query-api --config /etc/synctel/query-api.toml run >"$work/query-api.out" 2>&1 &
  pid_q=$!; pids+=("$pid_q")

  body=$(wait_health "http://127.0.0.1:$ip/health" "$pid_i" ingest)
  step "  ingest /health: $body"
  # Joined the group with the packaged Kafka settings: partitions assigned.
  local i
  for i in $(seq 1 60); do
    body=$(curl -fsS "http://127.0.0.1:$ip/health")
    grep -q '"assigned_partitions":0,' <<<"$body" || break
    [ "$i" = 60 ] && die "ingest got no partitions in 60 s: $body"
    sleep 1
  done
  step "  ingest consumes: $(grep -oE '"assigned_partitions":[0-9]+' <<<"$body")"
  curl -fsS "http://127.0.0.1:$ip/metrics" | grep -q '^ingest_' || die "ingest /metrics has no ingest_ series"
  body=$(wait_health "http://127.0.0.1:$ap/health" "$pid_a" aggregator)
  step "  aggregator /health: $body"
  body=$(wait_health "http://127.0.0.1:$qp/health" "$pid_q" query-api)
  step "  query-api /health: $body"
  curl -fsS "http://127.0.0.1:$qp/" | grep -qi '<html' || die "query-api / does not serve the packaged console"
  step "  query-api / serves the console from /usr/share/synctel/console"

  step "stop (SIGTERM, each must exit 0)"
  stop_clean "$pid_i" ingest
  stop_clean "$pid_a" aggregator
  stop_clean "$pid_q" query-api

  step "drop databases $db, ${db}_secrets"
  ch "DROP DATABASE $db" >/dev/null
  ch "DROP DATABASE IF EXISTS ${db}_secrets" >/dev/null
  db=

  step "apt-get purge $PKG"
  DEBIAN_FRONTEND=noninteractive apt-get purge -y -q -o Dpkg::Use-Pty=0 "$PKG" >&2
  installed=0
  for b in "${BINS[@]}"; do check test ! -e "/usr/bin/$b"; done
  check test ! -e /etc/synctel
  check test ! -e "$units_dir/synctel-ingest.service"
  check test ! -e "$wants/synctel-ingest@1.service"
  check test ! -e "$wants/synctel-aggregator.service"
  check test ! -e "$timers/synctel-retention.timer"
  getent passwd synctel >/dev/null && die "purge left the user synctel"
  getent group synctel >/dev/null && die "purge left the group synctel"
  step "package test passed in $(( $(date +%s) - t0 )) s"
}

case ${1:-} in
  build) build ;;
  test) test_package ;;
  *) echo "usage: $0 build|test" >&2; exit 2 ;;
esac
