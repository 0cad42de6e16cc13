-- The per-query memory limit of the aggregator's user (max_memory_usage, bytes; 0: none),
-- to size where a cycle's GROUP BY spills to disk (cycle::group_by_spill_bytes). Each
-- server answers its own configuration (the local stack's 18.16: 8 GiB; chdb: 0):
-- check: no-compare
SELECT toUInt64(value) FROM system.settings WHERE name = 'max_memory_usage';
