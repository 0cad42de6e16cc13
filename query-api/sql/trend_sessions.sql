-- Ended sessions per bucket (hour or day of their end) and status, summed over the
-- profiles the principal may see (or one profile), buckets starting in [from_s, to_s).
-- A status no session is counted under any more (its sessions were decided by a later end,
-- aggregator/sql/session_counts.sql) is stored at 0 and left out.
-- params: tenant_id String = 'acme', all_profiles UInt8 = 1, profiles Array(String) = [''], profile_id String = '', profile_id String = ''
-- params: granularity String = 'day', from_s Int64 = 0, to_s Int64 = 4102444800
SELECT
    toInt64(toUInt32(t_bucket)) * 1000 AS bucket_ms,
    t_status AS status,
    sum(t_sessions) AS sessions
FROM
(
    SELECT bucket AS t_bucket, status AS t_status, sessions AS t_sessions
    FROM session_counts FINAL
    WHERE tenant_id = ? AND (? = 1 OR has(?, profile_id)) AND (? = '' OR profile_id = ?)
        AND granularity = ? AND bucket >= toDateTime(?) AND bucket < toDateTime(?)
)
GROUP BY t_bucket, t_status
HAVING sum(t_sessions) > 0;
