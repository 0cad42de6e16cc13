#!/usr/bin/env bash
# Builds the pinned tansu broker once into a cache shared by every checkout on this machine.
# Usage: deploy/scripts/install-tansu.sh   (prints the binary path on stdout)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/common.sh
. "$here/common.sh"

bin="$TANSU_ROOT/bin/tansu"
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$TANSU_ROOT"
log "building tansu $TANSU_VERSION (features: $TANSU_FEATURES) into $TANSU_ROOT; about 20 minutes on 2 cores, once per machine"
# A lock so two checkouts building at once do not race on the same cache.
exec 9>"$TANSU_ROOT.lock"
flock 9
if [ ! -x "$bin" ]; then
  CARGO_TARGET_DIR="$TANSU_ROOT/target" cargo install tansu \
    --version "$TANSU_VERSION" --features "$TANSU_FEATURES" --locked \
    --root "$TANSU_ROOT" >&2
  rm -rf "$TANSU_ROOT/target"
fi
echo "$bin"
