-- The active partitions of one local table of a sharded table, over every shard (the
-- `cluster` table function reads one replica of each), with what dropping each would
-- remove. Not in the portability check: it needs a cluster to run.
-- params: cluster String = 'synctel', database String, table String = 'session_events_local'
SELECT
    partition_id,
    toUInt64(sum(rows)) AS rows,
    toUInt64(sum(bytes_on_disk)) AS bytes,
    toUInt64(count()) AS parts
FROM cluster(?, system, parts)
WHERE database = ? AND table = ? AND active
GROUP BY partition_id
ORDER BY partition_id;
