-- The users to recompute in a cycle: new session or user-state events ingested in
-- [from_s, to_s) (found in ingest_touches, sorted by ingestion time, so the window's rows
-- are all that is read), users of profiles with new profile-state events, and users whose
-- state changes by time alone by now (a session turning Stalled, "no recent session").
-- GLOBAL IN: profile_state_events is not sharded; on a cluster the subquery runs once, on
-- the node that received the query, and its result goes to every shard (a plain IN would be
-- sent to the shards unqualified and looked up in their default database).
-- On one server the aggregator sends IN (cycle::sql::for_topology): 18.16 does not use
-- the primary key for a GLOBAL IN set, and would read every raw row.
-- params: from_s UInt32 = 0, to_s UInt32 = 4000000000, from_s UInt32 = 0, to_s UInt32 = 4000000000, now_ms Int64 = 4102444800000, now_ms Int64 = 4102444800000
SELECT count()
FROM
(
    SELECT DISTINCT tenant_id, user_id
    FROM (
    SELECT tenant_id, user_id FROM ingest_touches
    WHERE ingested_at >= toDateTime(?) AND ingested_at < toDateTime(?)
        AND source IN ('session', 'user_state')
    UNION ALL
    SELECT tenant_id, user_id FROM user_state FINAL
    WHERE (tenant_id, profile_id) GLOBAL IN
    (
        SELECT tenant_id, profile_id FROM profile_state_events
        WHERE ingested_at >= toDateTime(?) AND ingested_at < toDateTime(?)
    )
    UNION ALL
    SELECT tenant_id, user_id FROM user_state FINAL
    -- FINAL over the candidates only (their rows found by the key), not every user
    WHERE (tenant_id, user_id) IN (SELECT tenant_id, user_id FROM user_state
        WHERE changes_at_ms > 0 AND changes_at_ms <= ?)
        AND changes_at_ms > 0 AND changes_at_ms <= ?
)
);
