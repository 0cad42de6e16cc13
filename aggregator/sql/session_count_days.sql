-- The (tenant, day)s whose session counts a cycle recomputes (session_counts.sql): every day
-- holding an end of a session that got a new `session_ended` in [from_s, to_s), since a new
-- end can move a session out of the day of its earlier end. Sorted by day, so that a chunk
-- of them spans few days. Run once per range of users of the sessions step
-- (session_key_ranges.sql): a first cycle's window holds every session, and their ids in one
-- IN set outgrew ClickHouse's memory limit (8 GiB at 44 M sessions); the cycle merges the
-- ranges' days. The ends are read with recompute_sessions.sql's lookback.
-- params: from_s UInt32 = 0, to_s UInt32 = 4000000000
-- params: from_tenant String = '', from_tenant String = '', from_user String = ''
-- params: to_end UInt8 = 1, until_tenant String = '', until_tenant String = '', until_user String = ''
-- params: lookback_s UInt32 = 604800, lookback_s UInt32 = 604800, from_s UInt32 = 0, to_s UInt32 = 4000000000
-- params: from_tenant String = '', from_tenant String = '', from_user String = ''
-- params: to_end UInt8 = 1, until_tenant String = '', until_tenant String = '', until_user String = ''
SELECT tenant_id, toString(toDate(occurred_at)) AS day
FROM session_events
WHERE event_kind = 'session_ended'
    AND (tenant_id, user_id, session_id) IN
    (
        SELECT tenant_id, user_id, session_id
        FROM ingest_touches
        WHERE ingested_at >= toDateTime(?) AND ingested_at < toDateTime(?)
            AND source = 'session' AND ended = 1
            -- the statement's range of users (cycle::UserRange)
            AND (tenant_id > ? OR (tenant_id = ? AND user_id >= ?))
            AND (? OR tenant_id < ? OR (tenant_id = ? AND user_id < ?))
    )
    AND occurred_at >= toDateTime((
        -- the lookback (cycle::lookback_bind): from `lookback_s` before the earliest day the
        -- window's touches of the range carry (migration 0020), when every one has its day;
        -- else from the beginning. Read here, from the same replica as the sets above.
        SELECT if(countIf(source = 'session_time') > 0
                AND countIf(source = 'session') = countIf(source = 'session_time')
                AND toUInt32(toDateTime(minIf(day, source = 'session_time'))) > ?,
            toUInt32(toDateTime(minIf(day, source = 'session_time'))) - ?, toUInt32(0))
        FROM ingest_touches
        WHERE ingested_at >= toDateTime(?) AND ingested_at < toDateTime(?)
            AND source IN ('session', 'session_time')
            AND (tenant_id > ? OR (tenant_id = ? AND user_id >= ?))
            AND (? OR tenant_id < ? OR (tenant_id = ? AND user_id < ?))
    ))
GROUP BY tenant_id, day
ORDER BY day, tenant_id;
