-- S1 for the touched sessions on one server: advance_users.sql's `touched` rows (the
-- sessions with events ingested in [from_s, to_s) of the statement's range of users),
-- taken from the rows this cycle's sessions step just wrote
-- (session_state_by_cycle, by the step's version: one key range) instead of from the raw
-- events. The cycle runs its sessions step first, over a window that holds the users'
-- one, so every touched session with a started or ended event has its row here; the
-- columns are the ones S1 derives, merged the same way (recompute_sessions.sql).
-- cycle::sql::advance_users_query puts this in advance_users.sql in place of the raw
-- read; on a cluster the raw read stays (a replica may not have fetched rows written a
-- moment ago).
-- params: version UInt64 = 1
-- params: from_s UInt32 = 0, to_s UInt32 = 4000000000, from_tenant String = '', from_tenant String = '', from_user String = '', to_end UInt8 = 1, until_tenant String = '', until_tenant String = '', until_user String = ''
SELECT
    tenant_id,
    user_id,
    session_id,
    started_at_ms AS r_started_at_ms,
    first_started_at_ms AS r_min_started_at_ms,
    toUInt8(status != '') AS r_ended,
    ended_at_ms AS r_ended_at_ms,
    status AS r_status,
    error_category AS r_error_category,
    error_source AS r_error_source,
    message AS r_message,
    last_event_at_ms AS r_last_event_at_ms
FROM session_state_by_cycle
WHERE version = ?
    AND (tenant_id, user_id, session_id) IN
    (
        SELECT tenant_id, user_id, session_id
        FROM ingest_touches
        WHERE ingested_at >= toDateTime(?) AND ingested_at < toDateTime(?)
            AND source = 'session'
            -- the statement's range of users (cycle::UserRange)
            AND (tenant_id > ? OR (tenant_id = ? AND user_id >= ?))
            AND (? OR tenant_id < ? OR (tenant_id = ? AND user_id < ?))
    )
