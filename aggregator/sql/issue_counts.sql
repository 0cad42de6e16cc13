-- Issues per hour and per day (UTC) by error code, object type and direction, recomputed
-- for every (tenant, day) that got a new issue in [from_s, to_s) (found in ingest_touches).
-- GLOBAL IN: on a cluster the (tenant, day)s are gathered from every shard first, so each
-- shard counts all its issues of those days, not only the days it got new issues of (a
-- plain IN reads each shard's own touches and the sum would miss the other shards' issues
-- of a day).
-- On one server the aggregator sends IN (cycle::sql::for_topology): 18.16 does not use
-- the primary key for a GLOBAL IN set, and would read every raw row.
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
WHERE (tenant_id, toDate(occurred_at)) GLOBAL IN
    (
        SELECT tenant_id, day
        FROM ingest_touches
        WHERE ingested_at >= toDateTime(?) AND ingested_at < toDateTime(?) AND source = 'issue'
    )
    -- the first touched day (a month partition and the parts before it are not read); a
    -- window with no new issue reads none (min() of nothing would be 1970)
    AND occurred_at >=
    (
        SELECT if(count() = 0, toDateTime(4000000000), toDateTime(min(day)))
        FROM ingest_touches
        WHERE ingested_at >= toDateTime(?) AND ingested_at < toDateTime(?) AND source = 'issue'
    )
GROUP BY tenant_id, profile_id, g, b, error_code, object_type, direction;
