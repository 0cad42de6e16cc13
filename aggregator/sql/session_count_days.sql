-- The (tenant, day)s whose session counts a cycle recomputes (session_counts.sql): every day
-- holding an end of a session that got a new `session_ended` in [from_s, to_s), since a new
-- end can move a session out of the day of its earlier end. Sorted by day, so that a chunk
-- of them spans few days. Run once per shard of the sessions (cityHash64(tenant_id, user_id)
-- % shards = shard): a first cycle's window holds every session, and their ids in one IN set
-- outgrew ClickHouse's memory limit (8 GiB at 44 M sessions); the cycle merges the shards'
-- days.
-- params: from_s UInt32 = 0, to_s UInt32 = 4000000000, shards UInt64 = 1, shard UInt64 = 0
SELECT tenant_id, toString(toDate(occurred_at)) AS day
FROM session_events
WHERE event_kind = 'session_ended'
    AND (tenant_id, user_id, session_id) IN
    (
        SELECT tenant_id, user_id, session_id
        FROM ingest_touches
        WHERE ingested_at >= toDateTime(?) AND ingested_at < toDateTime(?)
            AND source = 'session' AND ended = 1
            AND cityHash64(tenant_id, user_id) % ? = ?
    )
GROUP BY tenant_id, day
ORDER BY day, tenant_id;
