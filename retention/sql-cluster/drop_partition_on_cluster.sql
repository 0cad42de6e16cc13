-- Drops one monthly partition of a sharded table's local replicated table on every shard
-- (distributed DDL; needs ZooKeeper and the cluster in the servers' remote_servers; each
-- shard's replicas follow through replication). Not in the portability check
-- (deploy/clickhouse/portability/run.sh reads */sql/): it needs a cluster to run.
-- params: database Identifier = synctel, table Identifier = session_events_local, cluster Identifier = synctel, partition_id String = '197001'
ALTER TABLE ?.? ON CLUSTER ? DROP PARTITION ID ?;
