-- Drops one monthly partition on every node of a cluster (distributed DDL; needs
-- ZooKeeper and the cluster in the servers' remote_servers). Not in the portability check
-- (deploy/clickhouse/portability/run.sh reads */sql/): it needs a cluster to run.
-- params: table Identifier = dead_letters, cluster Identifier = synctel, partition_id String = '197001'
ALTER TABLE ? ON CLUSTER ? DROP PARTITION ID ?;
