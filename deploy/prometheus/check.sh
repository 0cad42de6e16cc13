#!/usr/bin/env bash
# Checks the Prometheus rules of deploy/prometheus/rules (docs/ops/alerts.md).
#
# Usage: deploy/prometheus/check.sh rules   promtool check rules + promtool test rules
#        deploy/prometheus/check.sh live    a real Prometheus scraping a running pipeline
#
# `live` starts its own pipeline unless SYNCTEL_PROMTEST_EXTERNAL=1: ingest, aggregator and
# query-api from target/debug (or target/release; SYNCTEL_BIN_DIR to choose) on free loopback
# ports with a throwaway database (promtest_<random>) and topics, a little fleet-sim traffic
# (with malformed messages, so dead letters exist); at the end it stops them, drops the
# database and deletes the topics. With SYNCTEL_PROMTEST_EXTERNAL=1 it scrapes the services
# at SYNCTEL_INGEST_LISTEN, SYNCTEL_AGGREGATOR_LISTEN, SYNCTEL_API_LISTEN instead.
# Then it starts Prometheus on a free loopback port (never 9090) with the rules, waits for
# scrapes and evaluations, and checks through the HTTP API: every target up, every rule
# loaded with health ok, and every rule's expression returning series, or, when it is
# legitimately empty (an alert that does not fire, a counter with labels never incremented),
# every metric it reads known: with series in Prometheus, or, for a family with labels that
# has no sample yet (the encoder leaves it out of /metrics), registered under that name in
# the service's metrics.rs. Prometheus and its
# data directory are removed at the end. Needs: promtool and prometheus (apt-get install
# prometheus: do not leave its service running), curl, python3; the local stack for `live`
# (deploy/stack.sh start).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

log() { printf '[prometheus-check %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"; }

cmd_rules() {
  need promtool "apt-get install prometheus"
  promtool check rules "$here"/rules/*.yml
  (cd "$here" && promtool test rules tests/*.yml)
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Polls "$@" every half second for up to $1 seconds.
wait_for() {
  local secs=$1
  shift
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

pids=()
work=""
db=""
topics=()
tansu=""

cleanup() {
  local rc=$? pid
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[i]}
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
  done
  if [[ -n $db ]]; then
    # The migrations make <db> and <db>_secrets (the API tokens).
    for d in "$db" "${db}_secrets"; do
      curl -fsS "$SYNCTEL_CLICKHOUSE_URL/" -u "${SYNCTEL_CLICKHOUSE_USER:-default}:${SYNCTEL_CLICKHOUSE_PASSWORD:-}" \
        --data-binary "DROP DATABASE IF EXISTS $d" >/dev/null || log "warning: could not drop $d"
    done
  fi
  if [[ -n $tansu ]]; then
    for t in "${topics[@]}"; do
      timeout 30 "$tansu" topic delete "$t" --broker "tcp://$SYNCTEL_KAFKA_BROKERS" >/dev/null 2>&1 \
        || log "warning: could not delete topic $t"
    done
  fi
  if [[ -n $work && $rc -ne 0 ]]; then
    for f in "$work"/*.log; do
      [[ -e $f ]] || continue
      log "last lines of $(basename "$f"):"
      tail -n 15 "$f" >&2
    done
  fi
  [[ -n $work ]] && rm -rf "$work"
  exit "$rc"
}

bin_dir() {
  local d
  for d in ${SYNCTEL_BIN_DIR:-"$root/target/debug" "$root/target/release"}; do
    if [[ -x $d/ingest && -x $d/aggregator && -x $d/query-api && -x $d/fleet-sim ]]; then
      echo "$d"
      return 0
    fi
  done
  die "no ingest, aggregator, query-api and fleet-sim binaries: cargo build -p ingest -p aggregator -p query-api -p simulator"
}

# Starts ingest, aggregator and query-api on free ports with a throwaway database and topics.
start_pipeline() {
  eval "$("$root/deploy/stack.sh" env)"
  local bins suffix
  bins=$(bin_dir)
  suffix=$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
  db=promtest_$suffix
  export SYNCTEL_CLICKHOUSE_DATABASE=$db
  export SYNCTEL_EVENTS_TOPIC=promtest_$suffix.events SYNCTEL_LOGS_TOPIC=promtest_$suffix.logs
  export SYNCTEL_COMMANDS_TOPIC=promtest_$suffix.commands SYNCTEL_DEADLETTER_TOPIC=promtest_$suffix.deadletter
  export SYNCTEL_INGEST_GROUP_ID=promtest_$suffix SYNCTEL_INGEST_INSTANCE_ID=
  SYNCTEL_INGEST_LISTEN=127.0.0.1:$(free_port)
  SYNCTEL_AGGREGATOR_LISTEN=127.0.0.1:$(free_port)
  SYNCTEL_API_LISTEN=127.0.0.1:$(free_port)
  export SYNCTEL_INGEST_LISTEN SYNCTEL_AGGREGATOR_LISTEN SYNCTEL_API_LISTEN
  export SYNCTEL_AGGREGATOR_INTERVAL_MS=1000
  topics=("$SYNCTEL_EVENTS_TOPIC" "$SYNCTEL_LOGS_TOPIC" "$SYNCTEL_COMMANDS_TOPIC" "$SYNCTEL_DEADLETTER_TOPIC")
  tansu=$(find "${SYNCTEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/synctel}" -maxdepth 3 -path '*/bin/tansu' -type f 2>/dev/null | head -n 1)
  log "pipeline: database $db, topics promtest_$suffix.*, binaries in $bins"
  SYNCTEL_TOPICS="$SYNCTEL_EVENTS_TOPIC:2 $SYNCTEL_LOGS_TOPIC:2 $SYNCTEL_COMMANDS_TOPIC:1 $SYNCTEL_DEADLETTER_TOPIC:1" \
    "$root/deploy/stack.sh" topics >/dev/null
  "$bins/ingest" migrate >"$work/migrate.log" 2>&1 || die "ingest migrate failed"
  "$bins/ingest" run >"$work/ingest.log" 2>&1 &
  pids+=($!)
  "$bins/aggregator" run >"$work/aggregator.log" 2>&1 &
  pids+=($!)
  "$bins/query-api" run >"$work/query-api.log" 2>&1 &
  pids+=($!)
  wait_for 60 curl -fsS "http://$SYNCTEL_INGEST_LISTEN/health" || die "ingest did not answer /health"
  wait_for 60 curl -fsS "http://$SYNCTEL_AGGREGATOR_LISTEN/health" || die "aggregator did not answer /health"
  wait_for 60 curl -fsS "http://$SYNCTEL_API_LISTEN/health" || die "query-api did not answer /health"
  log "pipeline: running; publishing a little traffic (1 tenant, 5 users, 1 day, 5% malformed)"
  "$bins/fleet-sim" --mode history --days 1 --tenants 1 --profiles 1 --users 5 \
    --malformed-rate 0.05 --seed 7 >"$work/fleet-sim.log" 2>&1 || die "fleet-sim failed"
  local token
  token=$("$bins/query-api" token create --tenant t0001 --role admin --label promtest 2>>"$work/query-api.log")
  api_token=$token
}

# Some requests, so the request histogram has series (2xx and 4xx).
api_traffic() {
  local base="http://$SYNCTEL_API_LISTEN" path
  for path in /health /ready /metrics; do curl -s -o /dev/null "$base$path" || true; done
  for path in /api/v1/profiles /api/v1/users /api/v1/summary /api/v1/nonexistent; do
    curl -s -o /dev/null -H "Authorization: Bearer ${api_token:-none}" "$base$path" || true
  done
  curl -s -o /dev/null "$base/api/v1/profiles" || true # 401
}

cmd_live() {
  need prometheus "apt-get install prometheus"
  need promtool "apt-get install prometheus"
  need curl "apt-get install curl"
  need python3 "apt-get install python3"
  work=$(mktemp -d "${TMPDIR:-/tmp}/synctel-promcheck.XXXXXX")
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  api_token=""
  if [[ ${SYNCTEL_PROMTEST_EXTERNAL:-0} == 1 ]]; then
    : "${SYNCTEL_INGEST_LISTEN:?}" "${SYNCTEL_AGGREGATOR_LISTEN:?}" "${SYNCTEL_API_LISTEN:?}"
    log "scraping a running pipeline: $SYNCTEL_INGEST_LISTEN $SYNCTEL_AGGREGATOR_LISTEN $SYNCTEL_API_LISTEN"
  else
    start_pipeline
  fi
  api_traffic

  local port
  port=$(free_port)
  [[ $port != 9090 ]] || port=$(free_port)
  cat >"$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $here/rules/*.yml
scrape_configs:
  - job_name: ingest
    static_configs: [{targets: ["$SYNCTEL_INGEST_LISTEN"]}]
  - job_name: aggregator
    static_configs: [{targets: ["$SYNCTEL_AGGREGATOR_LISTEN"]}]
  - job_name: query-api
    static_configs: [{targets: ["$SYNCTEL_API_LISTEN"]}]
YAML
  promtool check config "$work/prometheus.yml" >/dev/null || die "invalid generated config"
  prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
    --web.listen-address="127.0.0.1:$port" --log.level=warn >"$work/prometheus.log" 2>&1 &
  pids+=($!)
  local prom="http://127.0.0.1:$port"
  wait_for 60 curl -fsS "$prom/-/ready" || die "prometheus did not become ready"
  log "prometheus: ready at $prom; waiting for scrapes and rule evaluations"
  # Rates need two samples: let a few scrape and evaluation rounds pass, with requests.
  local i
  for i in 1 2 3 4 5 6; do
    sleep 1
    api_traffic
  done
  sleep 3
  python3 - "$prom" "$here/rules" "$root" <<'PY'
import glob, json, re, sys, time, urllib.parse, urllib.request

prom, rules_dir, root = sys.argv[1], sys.argv[2], sys.argv[3]

def get(path, **params):
    url = prom + path + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(url, timeout=10) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise SystemExit(f"{path}: {body}")
    return body["data"]

failures = []

# Every target up.
deadline = time.time() + 30
while True:
    targets = get("/api/v1/targets")["activeTargets"]
    down = [t for t in targets if t["health"] != "up"]
    if len(targets) == 3 and not down:
        break
    if time.time() > deadline:
        for t in targets:
            if t["health"] != "up":
                failures.append(f"target {t['labels'].get('job')} {t['scrapeUrl']}: {t['health']} {t.get('lastError')}")
        if len(targets) != 3:
            failures.append(f"{len(targets)} targets, expected 3")
        break
    time.sleep(1)
print(f"targets: {len(targets)} ({', '.join(t['labels']['job'] for t in targets)}), all up: {not down}")

# Every rule of the files loaded, evaluated, healthy.
expected = 0
for f in glob.glob(rules_dir + "/*.yml"):
    expected += len(re.findall(r"^\s*- (?:alert|record):", open(f).read(), re.M))
deadline = time.time() + 30
while True:
    groups = get("/api/v1/rules")["groups"]
    rules = [r for g in groups for r in g["rules"]]
    unevaluated = [r for r in rules if r.get("lastEvaluation", "").startswith("0001")]
    if not unevaluated or time.time() > deadline:
        break
    time.sleep(1)
if len(rules) != expected:
    failures.append(f"{len(rules)} rules loaded, the files have {expected}")
for r in rules:
    if r.get("health") != "ok" or r.get("lastError"):
        failures.append(f"rule {r['name']}: health {r.get('health')} {r.get('lastError', '')}")
print(f"rules: {len(rules)} loaded of {expected}, groups {len(groups)}")

# Every metric a rule reads must be known; every expression returns series or is
# legitimately empty (then its metrics are checked).
metadata = get("/api/v1/metadata")
# A family with labels and no sample yet (a counter never incremented) has no series and
# Prometheus keeps no metadata for it: read its `# TYPE` line from the targets themselves.
declared = set()
for t in targets:
    with urllib.request.urlopen(t["scrapeUrl"], timeout=10) as r:
        declared |= set(re.findall(r"^# TYPE (\S+)", r.read().decode(), re.M))
# The encoder leaves out a family with labels until it has a child: such a metric (a
# failure counter) is checked against its registration in the crate's metrics.rs.
registered = {}
for crate in ("ingest", "aggregator", "query-api"):
    path = f"{root}/{crate}/src/metrics.rs"
    src = open(path).read()
    prefix = re.search(r'sub_registry_with_prefix\("([a-z_]+)"\)', src).group(1)
    for name in re.findall(r'\.register\(\s*"([a-z0-9_]+)"', src):
        registered[f"{prefix}_{name}"] = f"{crate}/src/metrics.rs"
recorded = {r["name"] for r in rules if r["type"] == "recording"}
name_re = re.compile(r"\b(up|(?:ingest|aggregator|query_api)_[a-z0-9_]+|instance:[a-z0-9_:]+)\b")
known_cache = {}

def known(metric):
    if metric in known_cache:
        return known_cache[metric]
    series = get("/api/v1/query", query=f'count({{__name__="{metric}"}})')["result"]
    ok = bool(series)
    how = "series" if ok else ""
    if not ok and metric in recorded:
        how = "recorded (empty)"
        ok = True
    if not ok:
        base = re.sub(r"_(total|bucket|count|sum|created)$", "", metric)
        if metric in metadata or base in metadata:
            ok, how = True, "metadata only (no sample yet)"
        elif metric in declared or base in declared:
            ok, how = True, "declared by the service, no sample yet"
        elif base in registered:
            ok, how = True, f"no sample yet, registered in {registered[base]}"
    known_cache[metric] = (ok, how)
    return ok, how

for r in rules:
    expr = r["query"]
    result = get("/api/v1/query", query=expr)["result"]
    stripped = re.sub(r'"[^"]*"', '""', expr)
    metrics = sorted(set(name_re.findall(stripped)))
    missing = []
    notes = []
    for m in metrics:
        ok, how = known(m)
        if not ok:
            missing.append(m)
        elif how != "series":
            notes.append(f"{m}: {how}")
    kind = "record" if r["type"] == "recording" else "alert "
    state = f"{len(result)} series" if result else "empty"
    if r["type"] == "alerting":
        state += f", state {r.get('state')}"
    line = f"  {kind} {r['name']}: {state}"
    if notes:
        line += " [" + "; ".join(notes) + "]"
    print(line)
    if missing:
        failures.append(f"rule {r['name']} reads metrics Prometheus does not know: {', '.join(missing)}")
    if r["type"] == "recording" and not result and not notes and not missing:
        failures.append(f"recording rule {r['name']} is empty though all its metrics have series")

if failures:
    print("FAILED:", *failures, sep="\n  ")
    sys.exit(1)
print("live check: OK")
PY
}

case "${1:-}" in
  rules) cmd_rules ;;
  live) cmd_live ;;
  *) die "usage: $0 rules|live" ;;
esac
