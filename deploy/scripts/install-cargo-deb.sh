#!/usr/bin/env bash
# Builds the pinned cargo-deb once into a cache shared by every checkout on this machine.
# Usage: deploy/scripts/install-cargo-deb.sh   (prints the binary path on stdout)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/common.sh
. "$here/common.sh"

CARGO_DEB_VERSION=${CARGO_DEB_VERSION:-3.8.0}
CARGO_DEB_ROOT=${CARGO_DEB_ROOT:-$SYNCTEL_CACHE/cargo-deb-$CARGO_DEB_VERSION}

bin="$CARGO_DEB_ROOT/bin/cargo-deb"
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$CARGO_DEB_ROOT"
log "building cargo-deb $CARGO_DEB_VERSION into $CARGO_DEB_ROOT; a few minutes on 2 cores, once per machine"
# A lock so two checkouts building at once do not race on the same cache.
exec 9>"$CARGO_DEB_ROOT.lock"
flock 9
if [ ! -x "$bin" ]; then
  CARGO_TARGET_DIR="$CARGO_DEB_ROOT/target" cargo install cargo-deb \
    --version "$CARGO_DEB_VERSION" --locked --root "$CARGO_DEB_ROOT" >&2
  rm -rf "$CARGO_DEB_ROOT/target"
fi
echo "$bin"
