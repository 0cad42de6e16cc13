#!/usr/bin/env bash
# The end-to-end benchmark tier in one command: starts the local stack if it is not running
# (deploy/stack.sh), builds the benches and the `ingest` binary, then runs each end-to-end
# bench in turn, saying which one runs and how long it took. Each bench prints its figures
# beside a baseline measured in the same run; the output of each also goes to
# target/bench-e2e/<UTC time>/<bench>.txt. Record the figures in benches/RESULTS.md.
#
# Usage: benches/run-e2e.sh [BENCH...]     (default: all, in this order)
#   ingest_e2e        K, C, I, ingest CPU and peak RSS, freshness          ~6 min
#   aggregator_scale  100k users / 10M sessions: recompute, cards          ~8 min
#   api_export        1M-row CSV through the API vs ClickHouse's CSV       ~1 min
#   api_logs          a ZIP of 1,000 session logs vs ClickHouse's TSV      <1 min
#   api_latency       API vs direct SQL at 100k users / 10M sessions      ~20 min
# Sizes: the benches' own variables (SYNCTEL_BENCH_USERS, ...; see each bench's header)
# apply to every bench that reads them; aggregator_scale and api_latency run with
# SYNCTEL_BENCH_USERS=100000 and SYNCTEL_BENCH_SESSIONS_PER_USER=115 unless those are set.
# The micro tier (no servers): cargo bench -p benches --bench micro
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

all=(ingest_e2e aggregator_scale api_export api_logs api_latency)
benches=("$@")
[ ${#benches[@]} -gt 0 ] || benches=("${all[@]}")
for b in "${benches[@]}"; do
  case " ${all[*]} " in
    *" $b "*) ;;
    *) echo "unknown bench: $b (one of: ${all[*]})" >&2; exit 2 ;;
  esac
done

say() { printf '\n[bench-e2e %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if ! deploy/stack.sh status >/dev/null 2>&1; then
  say "starting the stack (deploy/stack.sh start)"
  deploy/stack.sh start
fi
eval "$(deploy/stack.sh env)"

say "building the benches and the ingest binary"
cargo build --release --locked -p ingest --bin ingest
cargo bench --locked -p benches --no-run
export SYNCTEL_INGEST_BIN="$root/target/release/ingest"

out="target/bench-e2e/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
n=${#benches[@]}
i=0
t_all=$SECONDS
for b in "${benches[@]}"; do
  i=$((i + 1))
  t0=$SECONDS
  say "[$i/$n] $b (output: $out/$b.txt)"
  env=()
  case $b in
    aggregator_scale | api_latency)
      # The issue's size: 100k users, ~10M sessions (115 per user; disabled users and
      # jitter leave ~12% fewer than asked).
      env+=(SYNCTEL_BENCH_USERS="${SYNCTEL_BENCH_USERS:-100000}"
        SYNCTEL_BENCH_SESSIONS_PER_USER="${SYNCTEL_BENCH_SESSIONS_PER_USER:-115}") ;;
  esac
  # The figures (stdout) go to the terminal and the file; progress (stderr) to the terminal.
  env ${env[@]+"${env[@]}"} cargo bench --locked -p benches --bench "$b" | tee "$out/$b.txt"
  say "[$i/$n] $b done in $((SECONDS - t0)) s"
done
say "all done in $((SECONDS - t_all)) s; figures in $out/"
