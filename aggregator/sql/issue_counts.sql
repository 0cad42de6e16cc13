-- Issues per hour and per day (UTC) by error code, object type and direction, recomputed
-- for every (tenant, day) that got a new issue in [from_s, to_s).
-- params: version UInt64 = 1, from_s UInt32 = 0, to_s UInt32 = 4000000000
-- params: from_s UInt32 = 0, to_s UInt32 = 4000000000
INSERT INTO issue_counts
    (tenant_id, profile_id, granularity, bucket, error_code, object_type, direction, issues, version)
SELECT
    tenant_id,
    profile_id,
    g,
    if(g = 'hour', toStartOfHour(occurred_at), toStartOfDay(occurred_at)) AS b,
    error_code,
    object_type,
    direction,
    uniqExact(issue_id),
    toUInt64(?)
FROM issue_events
ARRAY JOIN ['hour', 'day'] AS g
WHERE (tenant_id, toDate(occurred_at)) IN
    (
        SELECT tenant_id, toDate(occurred_at)
        FROM issue_events
        WHERE ingested_at >= toDateTime(?) AND ingested_at < toDateTime(?)
    )
    AND occurred_at >=
    (
        SELECT toDateTime(min(toDate(occurred_at)))
        FROM issue_events
        WHERE ingested_at >= toDateTime(?) AND ingested_at < toDateTime(?)
    )
GROUP BY tenant_id, profile_id, g, b, error_code, object_type, direction;
