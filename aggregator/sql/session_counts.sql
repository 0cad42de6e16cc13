-- Ended sessions per hour and per day (UTC, by end time) and status, recomputed for every
-- (tenant, day) that got a new session_ended event in [from_s, to_s). Counts of a key only
-- grow, so the newest version of each key is exact.
-- params: version UInt64 = 1, from_s UInt32 = 0, to_s UInt32 = 4000000000
-- params: from_s UInt32 = 0, to_s UInt32 = 4000000000
INSERT INTO session_counts (tenant_id, profile_id, granularity, bucket, status, sessions, version)
SELECT
    tenant_id,
    profile_id,
    g,
    if(g = 'hour', toStartOfHour(occurred_at), toStartOfDay(occurred_at)) AS b,
    status,
    uniqExact(session_id),
    toUInt64(?)
FROM session_events
ARRAY JOIN ['hour', 'day'] AS g
WHERE event_kind = 'session_ended'
    AND (tenant_id, toDate(occurred_at)) IN
    (
        SELECT tenant_id, toDate(occurred_at)
        FROM session_events
        WHERE event_kind = 'session_ended'
            AND ingested_at >= toDateTime(?) AND ingested_at < toDateTime(?)
    )
    AND occurred_at >=
    (
        SELECT toDateTime(min(toDate(occurred_at)))
        FROM session_events
        WHERE event_kind = 'session_ended'
            AND ingested_at >= toDateTime(?) AND ingested_at < toDateTime(?)
    )
GROUP BY tenant_id, profile_id, g, b, status;
