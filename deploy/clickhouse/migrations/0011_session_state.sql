-- One row per started session, merged from its events by `aggregator` (every cycle, for the
-- sessions with events ingested since the last one; all of them the first time), sorted
-- for the session lists of a profile: a profile's sessions of a time window are one key
-- range here, where the `sessions` view merges every event of the tenant's sessions first.
-- The lists of one user and the `sessions` view stay on the raw events (always fresh);
-- this table lags by one aggregator cycle, like `user_state`.
--
-- The sort key holds the session's profile and start, which can change as its events
-- arrive (a user moved during the session; an end event reporting another start than the
-- start event). ReplacingMergeTree only replaces rows of the same key, so when the key moves
-- the aggregator writes a tombstone (`deleted = 1`) under every key the session may have had
-- before (each (profile, start) pair of its events). Read it with FINAL and `deleted = 0`
-- applied outside the FINAL, e.g. `SELECT ... FROM (SELECT ... FROM session_state FINAL
-- WHERE tenant_id = ...) WHERE deleted = 0`; key columns may be filtered inside.
CREATE TABLE IF NOT EXISTS session_state
(
    tenant_id String,
    -- the profile of the session's latest event
    profile_id String,
    -- the session's start, ms (the latest start any of its events reported)
    started_at_ms Int64,
    user_id String,
    session_id String,
    -- 1: a tombstone, void under this key (the session's key moved)
    deleted UInt8,
    -- the columns of the `sessions` view, merged the same way
    queued_at_ms Int64,
    -- 0 while the session runs
    ended_at_ms Int64,
    duration_ms Int64,
    trigger String,
    status String,
    scope_items Int64,
    changes Int64,
    total_changes Int64,
    failures Int64,
    issues Int64,
    conflicts Int64,
    objects_type Array(String),
    objects_synchronized Array(Int64),
    objects_mail_to_crm_created Array(Int64),
    objects_mail_to_crm_updated Array(Int64),
    objects_mail_to_crm_deleted Array(Int64),
    objects_crm_to_mail_created Array(Int64),
    objects_crm_to_mail_updated Array(Int64),
    objects_crm_to_mail_deleted Array(Int64),
    error_category String,
    error_source String,
    message String,
    exception String,
    engine_id String,
    engine_version String,
    -- when the aggregator computed this row, ms since the Unix epoch
    computed_at_ms Int64,
    version UInt64,
    started_at DateTime DEFAULT toDateTime(intDiv(started_at_ms, 1000))
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(started_at)
ORDER BY (tenant_id, profile_id, started_at_ms, user_id, session_id);
