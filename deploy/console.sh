#!/usr/bin/env bash
# The web console's front end (console/): installs what it needs and builds it into
# console/dist, which query-api serves at /.
#
# Usage: deploy/console.sh [setup|build|e2e-deps]
#   build     npm packages (from package-lock.json, only when it changed) + `npm run build`
#   setup     build, the formatting check (prettier), the unit tests (vitest), and Debian's
#             chromium for the browser tests (what deploy/test.sh runs)
#   e2e-deps  only chromium
# Needs Node.js >= 20.19 and npm (the machine's; Debian's nodejs is installed if none).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/scripts/common.sh
. "$here/scripts/common.sh"
# shellcheck source=SCRIPTDIR/scripts/proc.sh
. "$here/scripts/proc.sh"

console=$SYNCTEL_ROOT/console

node_ok() {
  ensure_apt node nodejs npm
  command -v npm >/dev/null 2>&1 || apt_install npm
  local v
  v=$(node -p 'process.versions.node')
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
    || die "Node.js $v is too old for Vite 8 (needs >= 20.19)"
}

packages() {
  # npm ci only when package-lock.json changed since the last install.
  if [[ ! -f $console/node_modules/.package-lock.json || $console/package-lock.json -nt $console/node_modules/.package-lock.json ]]; then
    log "console: installing npm packages (npm ci)"
    (cd "$console" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
}

build() {
  node_ok
  packages
  log "console: type check and build into console/dist"
  (cd "$console" && npm run --silent build >&2)
}

chromium_ok() {
  # Debian's Chromium drives the browser tests (playwright-core never downloads one).
  [ -x /usr/bin/chromium ] || apt_install chromium
  [ -x /usr/bin/chromium ] || die "chromium: /usr/bin/chromium missing after installing it"
}

case ${1:-build} in
  build) build ;;
  setup)
    build
    log "console: formatting (prettier --check; npm run format fixes it)"
    (cd "$console" && npm run --silent format:check >&2)
    log "console: unit tests (vitest)"
    (cd "$console" && CI=true npm run --silent test >&2)
    chromium_ok
    ;;
  e2e-deps) chromium_ok ;;
  *) die "usage: deploy/console.sh [setup|build|e2e-deps]" ;;
esac
