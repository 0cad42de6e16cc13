# shellcheck shell=bash
# Background processes, pid files, ports, packages. Sourced by deploy/stack.sh after
# common.sh and stack.conf; not run.
# A service NAME has its pid in $SYNCTEL_VAR/run/NAME.pid and its console output in
# $SYNCTEL_VAR/log/NAME.out.

run_dir() { echo "$SYNCTEL_VAR/run"; }
log_dir() { echo "$SYNCTEL_VAR/log"; }
pid_file() { echo "$(run_dir)/$1.pid"; }
out_file() { echo "$(log_dir)/$1.out"; }

# The pid of service NAME if it runs (and is still the program we started), else nothing.
svc_pid() {
  local name=$1 pidf pid exe
  pidf=$(pid_file "$name")
  [ -s "$pidf" ] || return 0
  pid=$(<"$pidf")
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  # Guard against a recycled pid: the command line must name the expected program.
  exe=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
  case $exe in
    *"$(svc_program "$name")"*) echo "$pid" ;;
  esac
}

# The program name a live pid of service NAME must show in its command line.
svc_program() {
  case $1 in
    clickhouse) echo clickhouse-server ;;
    broker) echo tansu ;;
    postgres) echo postgres ;;
    # The local cluster (scripts/cluster.sh): node N runs with cluster/chN/etc/config.xml.
    ch[1-9]) echo "cluster/$1/etc/config.xml" ;;
    zookeeper) echo org.apache.zookeeper.server.quorum.QuorumPeerMain ;;
    # A second instance of a service (deploy/run.sh's cluster mode): the same program.
    *-[0-9]) echo "${1%-[0-9]}" ;;
    *) echo "$1" ;;
  esac
}

svc_running() { [ -n "$(svc_pid "$1")" ]; }

# Starts "$@" as service NAME in the background, detached from this shell and its
# terminal, output appended to its .out file; records the pid.
svc_launch() {
  local name=$1
  shift
  mkdir -p "$(run_dir)" "$(log_dir)"
  printf '\n=== %s start: %s\n' "$(date -Is)" "$*" >>"$(out_file "$name")"
  # fd 8 is stack.sh's lock: the server must not inherit (and so hold) it.
  setsid "$@" >>"$(out_file "$name")" 2>&1 </dev/null 8>&- &
  echo $! >"$(pid_file "$name")"
}

# SIGNAL (default TERM), wait up to SYNCTEL_STOP_TIMEOUT seconds, then SIGKILL.
# Usage: svc_stop NAME [SIGNAL]
svc_stop() {
  local name=$1 signal=${2:-TERM} pid waited=0
  pid=$(svc_pid "$name")
  if [ -z "$pid" ]; then
    rm -f "$(pid_file "$name")"
    log "$name: not running"
    return 0
  fi
  log "$name: stopping (pid $pid)"
  kill "-$signal" "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$waited" -ge $((SYNCTEL_STOP_TIMEOUT * 10)) ]; then
      log "$name: still running after ${SYNCTEL_STOP_TIMEOUT}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  rm -f "$(pid_file "$name")"
  log "$name: stopped"
}

# True when something accepts TCP connections on HOST:PORT.
port_open() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# Refuses to start NAME when its port is taken by a process we did not start.
require_free_port() {
  local name=$1 port=$2
  if port_open "$SYNCTEL_HOST" "$port"; then
    die "$name: port $SYNCTEL_HOST:$port is already in use by another process (not ours: no live pid in $(pid_file "$name")); stop it or choose another port in deploy/stack.conf"
  fi
}

# Polls CHECK (a command) every 0.2 s until it succeeds; on timeout prints the tail of
# LOGFILE(s) and dies. Usage: wait_until NAME TIMEOUT_S CHECK... -- LOGFILE...
wait_until() {
  local name=$1 timeout=$2 start now pid
  shift 2
  local check=() logs=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do check+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  logs=("$@")
  # Liveness by pid only: right after the fork the command line is still ours.
  pid=$(cat "$(pid_file "$name")" 2>/dev/null || true)
  start=$(date +%s)
  until "${check[@]}" >/dev/null 2>&1; do
    now=$(date +%s)
    if [ $((now - start)) -ge "$timeout" ] || ! kill -0 "$pid" 2>/dev/null; then
      local why="did not answer within ${timeout}s"
      kill -0 "$pid" 2>/dev/null || why="exited"
      log "$name: $why; last log lines:"
      local f
      for f in "${logs[@]}"; do
        [ -f "$f" ] || continue
        printf -- '--- %s\n' "$f" >&2
        tail -n 30 "$f" >&2
      done
      die "$name $why (logs: ${logs[*]})"
    fi
    sleep 0.2
  done
}

# Installs Debian packages (noninteractive; refreshes stale package lists first).
apt_install() {
  local sudo=() updated=0
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  log "installing $* (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  # Refresh the package lists when they are missing or a day old.
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 \( -name '*_Packages' -o -name '*_Packages.lz4' \) -mmin -1440 2>/dev/null | head -n 1)" ]; then
    "${sudo[@]}" apt-get update -q >&2 || die "apt-get update failed"
    updated=1
  fi
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "$@" >&2 && return 0
  # Lists younger than a day can still point at superseded versions: refresh once, retry.
  [ "$updated" -eq 0 ] || die "apt-get install $* failed"
  "${sudo[@]}" apt-get update -q >&2 || die "apt-get update failed"
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "$@" >&2 \
    || die "apt-get install $* failed"
}

# Installs Debian packages when a command is missing. Usage: ensure_apt CMD PACKAGE...
ensure_apt() {
  local cmd=$1
  shift
  command -v "$cmd" >/dev/null 2>&1 && return 0
  apt_install "$@"
  command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' still missing after installing $*"
}

# Replaces every @NAME@ in TEMPLATE with the value of shell variable NAME, writes OUT.
# Values are inserted verbatim (XML-escape them first where that matters).
render() {
  local template=$1 out=$2 text name value
  text=$(<"$template")
  for name in $(grep -o '@[A-Z0-9_]*@' "$template" | tr -d @ | sort -u); do
    [ -n "${!name+set}" ] || die "render $template: variable $name is not set"
    value=${!name}
    # Quoted replacement: bash 5.2 would otherwise expand '&' to the match.
    text=${text//@"$name"@/"$value"}
  done
  mkdir -p "$(dirname "$out")"
  printf '%s\n' "$text" >"$out.tmp"
  mv "$out.tmp" "$out"
}

xml_escape() {
  local s=$1
  s=${s//&/&amp;}
  s=${s//</&lt;}
  s=${s//>/&gt;}
  s=${s//\"/&quot;}
  printf '%s' "$s"
}
