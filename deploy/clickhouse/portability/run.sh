#!/usr/bin/env bash
# Portability check of the ClickHouse SQL: runs the migrations, fixtures.sql, examples.sql,
# rewrite.sql (migration 0017 run as the migrator runs it)
# and every */sql/ directory of the workspace (query files of query-api, aggregator, ...) on
# chdb-core (current ClickHouse, in-process) and on the local ClickHouse 18.16 server, and
# fails if any statement fails on either or a query returns different rows. See check.py.
#
# Usage: deploy/clickhouse/portability/run.sh [--no-server] [extra check.py arguments]
#   --no-server   chdb only (no ClickHouse server needed)
# Environment:
#   SYNCTEL_CLICKHOUSE_URL  the server (default http://127.0.0.1:8123; see deploy/stack.sh env)
#   SYNCTEL_VAR             where the venv lives: $SYNCTEL_VAR/venv-portability (default
#                           <repo>/.local); created once, requirements reinstalled only when
#                           requirements.txt changes.
#   SYNCTEL_PYTHON          the Python that makes the venv (default python3; 3.9 or later)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
var=${SYNCTEL_VAR:-$root/.local}
venv=$var/venv-portability
python=${SYNCTEL_PYTHON:-python3}
url=${SYNCTEL_CLICKHOUSE_URL:-http://127.0.0.1:8123}

log() { printf '[portability %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

server=1
args=()
for a in "$@"; do
  case "$a" in
    --no-server) server=0 ;;
    *) args+=("$a") ;;
  esac
done

ensure_venv() {
  local stamp=$venv/.requirements.sha256 want
  want=$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)
  if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c '' 2>/dev/null \
    && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  command -v "$python" >/dev/null || die "$python not found (set SYNCTEL_PYTHON)"
  if ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
    # Debian splits venv/ensurepip out of python3.
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
      log "installing python3-venv (Debian)"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null \
        || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null; }
    else
      die "$python has no venv module: install python3-venv"
    fi
  fi
  if ! [ -x "$venv/bin/python" ] || ! "$venv/bin/python" -c '' 2>/dev/null; then
    log "creating $venv"
    rm -rf "$venv"
    "$python" -m venv "$venv"
  fi
  log "installing $(grep -v '^#' "$here/requirements.txt" | xargs) into $venv"
  "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$here/requirements.txt"
  echo "$want" >"$stamp"
}

mkdir -p "$var"
# One installer at a time (two test runs may start together).
exec 9>"$var/venv-portability.lock"
flock 9
ensure_venv
flock -u 9

# The checker's own tests (splitting, placeholders): well under a second.
if ! out=$("$venv/bin/python" -m unittest discover -q -s "$here" -p 'test_*.py' 2>&1); then
  printf '%s\n' "$out" >&2
  die "the checker's own tests failed"
fi
log "checker's own tests: $(printf '%s\n' "$out" | grep -E '^Ran ' || true)"

paths=("$root/deploy/clickhouse/migrations" "$here/fixtures.sql" "$here/examples.sql" "$here/rewrite.sql")
for d in "$root"/*/sql; do
  [ -d "$d" ] && paths+=("$d")
done

if [ "$server" = 1 ]; then
  args=(--clickhouse-url "$url" "${args[@]}")
fi
cd "$root"
# Relative paths in the output.
rel=()
for p in "${paths[@]}"; do rel+=("${p#"$root"/}"); done
exec "$venv/bin/python" "$here/check.py" "${args[@]}" "${rel[@]}"
