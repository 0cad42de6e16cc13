#!/usr/bin/env bash
# Smoke test of the local ClickHouse cluster (2 shards x 2 replicas), over HTTP with curl.
# Run after `deploy/stack.sh cluster start` (same SYNCTEL_* settings). In a scratch database
# it checks: ON CLUSTER DDL reaches all four nodes; a ReplicatedReplacingMergeTree sharded by
# cityHash64(tenant_id, user_id) behind a Distributed table takes synchronous inserts
# (insert_distributed_sync=1); after SYSTEM SYNC REPLICA both replicas of a shard hold the
# same rows and the Distributed count is what was inserted; an identical block inserted again
# is deduplicated; FINAL through Distributed collapses every key; a table replicated on all
# four nodes (ZooKeeper path without {shard}, cluster synctel_replicated) gets one node's
# rows everywhere and an ALTER ... ON CLUSTER reaches every replica. Drops the database ON
# CLUSTER at the end (also on failure). Exits 1 on the first mismatch.
#
# Usage: deploy/clickhouse/cluster/smoke.sh            (ROWS=20000 by default)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)

ROWS=${ROWS:-20000}
TENANTS=3
USERS=200
SMALL_ROWS=100

say() { printf '[smoke %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

# Node URLs: from `stack.sh env` when exported, else from the stack's settings.
if [ -n "${SYNCTEL_CLICKHOUSE_NODE_URLS:-}" ]; then
  IFS=, read -r -a urls <<<"$SYNCTEL_CLICKHOUSE_NODE_URLS"
else
  mapfile -t urls < <("$root/deploy/stack.sh" cluster nodes)
fi
[ "${#urls[@]}" -eq 4 ] || fail "expected 4 node URLs, got ${#urls[@]}: ${urls[*]}"
eval "$("$root/deploy/stack.sh" cluster env | grep -E '^export SYNCTEL_CLICKHOUSE_CLUSTER(_NODES|_REPLICATED)?=')"
cluster=${SYNCTEL_CLICKHOUSE_CLUSTER:-synctel}
cluster_all=${SYNCTEL_CLICKHOUSE_CLUSTER_REPLICATED:-synctel_replicated}

db="smoke_$(date +%s)_$$"

# q NODE SQL [URL_PARAMS]: runs SQL on node NODE (1..4), prints the answer; fails on any
# HTTP status but 200.
q() {
  local n=$1 sql=$2 params=${3:-} out code
  out=$(curl -sS --max-time 120 -w '\n%{http_code}' "${urls[$((n - 1))]}/?$params" --data-binary "$sql") \
    || fail "node $n: no answer to: $sql"
  code=${out##*$'\n'}
  out=${out%$'\n'*}
  [ "$code" = 200 ] || fail "node $n: HTTP $code for: $sql"$'\n'"$out"
  printf '%s' "$out"
}

# ddl SQL: ON CLUSTER DDL through node 1; every host of the cluster must report status 0.
ddl() {
  local out hosts bad
  out=$(q 1 "$1" "distributed_ddl_task_timeout=60")
  hosts=$(grep -c . <<<"$out" || true)
  bad=$(awk -F'\t' '$3 != 0' <<<"$out")
  if [ "$hosts" -ne 4 ] || [ -n "$bad" ]; then
    fail "DDL did not succeed on 4 hosts: $1"$'\n'"$out"
  fi
}

check() {
  [ "$2" = "$3" ] || fail "$1: expected $2, got $3"
  say "ok: $1 = $3"
}

cleanup() {
  local rc=$?
  curl -sS --max-time 60 "${urls[0]}/?distributed_ddl_task_timeout=30" \
    --data-binary "DROP DATABASE IF EXISTS $db ON CLUSTER $cluster" >/dev/null 2>&1 || true
  [ "$rc" -eq 0 ] || say "failed; scratch database $db dropped"
}
trap cleanup EXIT

t0=$(date +%s.%N)
for n in 1 2 3 4; do
  check "node $n answers (${urls[$((n - 1))]})" 1 "$(q "$n" 'SELECT 1')"
done

say "database $db ON CLUSTER $cluster"
ddl "CREATE DATABASE $db ON CLUSTER $cluster"

say "sharded, replicated table and its Distributed table"
ddl "CREATE TABLE $db.events_local ON CLUSTER $cluster (
       tenant_id String, user_id String, event_id UInt64, version UInt32, payload String)
     ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/$db/events_local', '{replica}', version)
     ORDER BY (tenant_id, user_id, event_id)"
ddl "CREATE TABLE $db.events ON CLUSTER $cluster AS $db.events_local
     ENGINE = Distributed($cluster, $db, events_local, cityHash64(tenant_id, user_id))"

# Rows: event i of tenant t(i % TENANTS), user u(i % USERS); version V.
rows_sql() {
  echo "SELECT concat('t', toString(number % $TENANTS)), concat('u', toString(number % $USERS)),
          number, $1, 'payload' FROM system.numbers LIMIT $ROWS"
}
sync_insert="insert_distributed_sync=1"
sync_replicas() {
  local n
  for n in 1 2 3 4; do q "$n" "SYSTEM SYNC REPLICA $db.$1" >/dev/null; done
}

say "insert $ROWS rows (version 1) through node 1's Distributed table, synchronously"
q 1 "INSERT INTO $db.events $(rows_sql 1)" "$sync_insert" >/dev/null
say "the same rows again through node 3: identical blocks, deduplicated by replication"
q 3 "INSERT INTO $db.events $(rows_sql 1)" "$sync_insert" >/dev/null
sync_replicas events_local
check "Distributed count() after the repeated insert" "$ROWS" "$(q 2 "SELECT count() FROM $db.events")"
say "the same keys with version 2 through node 4: new rows, collapsed by FINAL"
q 4 "INSERT INTO $db.events $(rows_sql 2)" "$sync_insert" >/dev/null

sync_replicas events_local
declare -a local_count
for n in 1 2 3 4; do
  local_count[n]=$(q "$n" "SELECT count() FROM $db.events_local")
  say "node $n holds ${local_count[n]} rows"
done
check "shard 1: ch2 rows equal ch1 rows" "${local_count[1]}" "${local_count[2]}"
check "shard 2: ch4 rows equal ch3 rows" "${local_count[3]}" "${local_count[4]}"
if [ "${local_count[1]}" -eq 0 ] || [ "${local_count[3]}" -eq 0 ]; then
  fail "a shard is empty: shard 1 ${local_count[1]}, shard 2 ${local_count[3]} rows"
fi
check "shard 1 + shard 2 rows" $((2 * ROWS)) $((local_count[1] + local_count[3]))
for n in 1 2 3 4; do
  check "Distributed count() through node $n" $((2 * ROWS)) "$(q "$n" "SELECT count() FROM $db.events")"
done
check "Distributed count() FINAL" "$ROWS" "$(q 2 "SELECT count() FROM $db.events FINAL")"
check "Distributed FINAL keeps version 2 only" "$ROWS" \
  "$(q 3 "SELECT countIf(version = 2) FROM $db.events FINAL")"
# Every (tenant, user) lives on one shard only.
pairs1=$(q 1 "SELECT DISTINCT tenant_id, user_id FROM $db.events_local ORDER BY tenant_id, user_id")
pairs2=$(q 3 "SELECT DISTINCT tenant_id, user_id FROM $db.events_local ORDER BY tenant_id, user_id")
check "(tenant, user) pairs on both shards" 0 "$(comm -12 <(echo "$pairs1") <(echo "$pairs2") | grep -c . || true)"
check "(tenant, user) pairs in all" $((TENANTS * USERS)) \
  "$(printf '%s\n%s\n' "$pairs1" "$pairs2" | grep -c . || true)"

say "a table replicated on all four nodes, ON CLUSTER $cluster_all"
ddl "CREATE TABLE $db.small ON CLUSTER $cluster_all (k UInt32, v String)
     ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/$db/small', '{replica}')
     ORDER BY k"
q 2 "INSERT INTO $db.small SELECT toUInt32(number), 'v' FROM system.numbers LIMIT $SMALL_ROWS" >/dev/null
sync_replicas small
for n in 1 2 3 4; do
  check "all-node table on node $n" "$SMALL_ROWS" "$(q "$n" "SELECT count() FROM $db.small")"
done
ddl "ALTER TABLE $db.small ON CLUSTER $cluster_all ADD COLUMN c UInt8"
for n in 1 2 3 4; do
  check "column added on node $n" 1 \
    "$(q "$n" "SELECT count() FROM system.columns WHERE database = '$db' AND table = 'small' AND name = 'c'")"
done

say "drop $db ON CLUSTER $cluster"
ddl "DROP DATABASE $db ON CLUSTER $cluster"
for n in 1 2 3 4; do
  check "database gone on node $n" 0 "$(q "$n" "SELECT count() FROM system.databases WHERE name = '$db'")"
done
say "passed in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
