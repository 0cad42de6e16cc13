-- Users per bucket (the bucket's latest snapshot), effective status and sync state,
-- summed over the profiles the principal may see (or one profile), buckets starting in
-- [from_s, to_s).
-- params: tenant_id String = 'acme', all_profiles UInt8 = 1, profiles Array(String) = [''], profile_id String = '', profile_id String = ''
-- params: granularity String = 'day', from_s Int64 = 0, to_s Int64 = 4102444800
SELECT
    toInt64(toUInt32(t_bucket)) * 1000 AS bucket_ms,
    t_effective_status AS effective_status,
    t_sync_state AS sync_state,
    sum(t_users) AS users
FROM
(
    SELECT
        bucket AS t_bucket,
        effective_status AS t_effective_status,
        sync_state AS t_sync_state,
        users AS t_users
    FROM user_status_series
    WHERE tenant_id = ? AND (? = 1 OR has(?, profile_id)) AND (? = '' OR profile_id = ?)
        AND granularity = ? AND bucket >= toDateTime(?) AND bucket < toDateTime(?)
)
GROUP BY t_bucket, t_effective_status, t_sync_state;
