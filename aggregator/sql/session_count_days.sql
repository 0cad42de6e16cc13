-- The (tenant, day)s whose session counts a cycle recomputes (session_counts.sql): every day
-- holding an end of a session that got a new `session_ended` in [from_s, to_s), since a new
-- end can move a session out of the day of its earlier end. Sorted by day, so that a chunk
-- of them spans few days. Run once per range of users of the sessions step
-- (session_key_ranges.sql): a first cycle's window holds every session, and their ids in one
-- IN set outgrew ClickHouse's memory limit (8 GiB at 44 M sessions); the cycle merges the
-- ranges' days. The ends are read from `occurred_from_s` on, as recompute_sessions.sql reads
-- the sessions.
-- params: occurred_from_s UInt32 = 0
-- params: from_s UInt32 = 0, to_s UInt32 = 4000000000
-- params: from_tenant String = '', from_tenant String = '', from_user String = ''
-- params: to_end UInt8 = 1, until_tenant String = '', until_tenant String = '', until_user String = ''
SELECT tenant_id, toString(toDate(occurred_at)) AS day
FROM session_events
WHERE occurred_at >= toDateTime(?) AND event_kind = 'session_ended'
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
GROUP BY tenant_id, day
ORDER BY day, tenant_id;
