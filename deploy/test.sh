#!/usr/bin/env bash
# The one command that runs every test: installs what is missing, starts the local stack
# (ClickHouse + broker on loopback) and the local ClickHouse cluster (ZooKeeper and 2 shards
# x 2 replicas, for aggregator/tests/cluster.rs), then checks formatting and lints and runs the whole
# test suite against the real servers. Safe to run again; the stack is left running
# (deploy/stack.sh stop stops it).
#
# Usage: deploy/test.sh [extra arguments for cargo nextest run]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/scripts/common.sh
. "$here/scripts/common.sh"
# shellcheck source=SCRIPTDIR/scripts/proc.sh
. "$here/scripts/proc.sh"
cd "$SYNCTEL_ROOT"

t0=$(date +%s)
"$here/stack.sh" start
eval "$("$here/stack.sh" env)"
# The cluster test kills and restarts its nodes and ZooKeeper; it is the only user.
"$here/stack.sh" cluster start
# The web console (npm packages, build) and Debian's chromium for its browser tests.
"$here/console.sh" setup

log "formatting"
cargo fmt --all -- --check
log "lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "tests"
# Tests that run the services as processes (the cluster test) use these binaries.
cargo build --locked -p ingest -p aggregator -p query-api -p simulator
profile=default
[ "${CI:-}" = true ] && profile=ci
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --profile "$profile" "$@"
  # nextest does not run doctests.
  cargo test --workspace --locked --doc
else
  cargo test --workspace --locked "$@"
fi
log "Debian package: build, install, run the installed binaries against the stack, purge"
"$here/package.sh" build
"$here/package.sh" test
log "Prometheus rules: promtool checks and unit tests, then a real Prometheus over a throwaway pipeline"
ensure_apt promtool prometheus
"$here/prometheus/check.sh" rules
"$here/prometheus/check.sh" live
log "ClickHouse portability: every migration and query on 18.16 and on current ClickHouse (chdb-core)"
"$here/clickhouse/portability/run.sh"
log "all tests passed in $(( $(date +%s) - t0 )) s"
