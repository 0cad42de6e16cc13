# shellcheck shell=bash
# Shared settings for the deploy scripts. Sourced, not run.
# Everything can be overridden from the environment.

SYNCTEL_ROOT=${SYNCTEL_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# Runtime data (ClickHouse data, broker data, logs, pid files): ignored by git.
SYNCTEL_VAR=${SYNCTEL_VAR:-$SYNCTEL_ROOT/.local}
# Machine-wide cache shared by every checkout (the tansu binary).
SYNCTEL_CACHE=${SYNCTEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/synctel}

TANSU_VERSION=${TANSU_VERSION:-0.6.0}
TANSU_FEATURES=${TANSU_FEATURES:-dynostore,postgres}
TANSU_ROOT=${TANSU_ROOT:-$SYNCTEL_CACHE/tansu-$TANSU_VERSION-${TANSU_FEATURES//,/-}}

log() { printf '[synctel %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
