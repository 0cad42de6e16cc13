-- A snapshot of the users per effective status and sync state (monitor_users: deleted
-- users and deleted profiles left out; a moved user in its current profile only), stored as
-- the current hour's and day's value.
-- params: now_s UInt32 = 1767225600, now_s UInt32 = 1767225600, snapshot_version UInt64 = 1
INSERT INTO user_status_counts
    (tenant_id, profile_id, granularity, bucket, effective_status, sync_state, users, snapshot_version)
SELECT
    tenant_id,
    profile_id,
    g,
    if(g = 'hour', toStartOfHour(toDateTime(?)), toStartOfDay(toDateTime(?))) AS b,
    effective_status,
    sync_state,
    count(),
    toUInt64(?)
FROM
(
    SELECT tenant_id, profile_id, effective_status, sync_state
    FROM monitor_users
)
ARRAY JOIN ['hour', 'day'] AS g
GROUP BY tenant_id, profile_id, g, b, effective_status, sync_state;
