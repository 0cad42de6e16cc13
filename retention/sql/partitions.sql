-- The active partitions of one table of the database, with what dropping each would remove.
-- check: no-compare
-- params: database String, table String = 'session_events'
SELECT
    partition_id,
    toUInt64(sum(rows)) AS rows,
    toUInt64(sum(bytes_on_disk)) AS bytes,
    toUInt64(count()) AS parts
FROM system.parts
WHERE database = ? AND table = ? AND active
GROUP BY partition_id
ORDER BY partition_id;
