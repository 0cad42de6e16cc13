-- The sessions a cycle just recomputed, for the same cycle's users step: on one server the
-- aggregator advances a touched user from these rows (aggregator/sql/touched_session_rows.sql)
-- instead of reading the touched sessions' raw events a second time. A key lookup of a
-- thousand sessions in `session_events` decompresses a block of every column per session
-- and per part, a cost that grows with the history kept; these rows are one key range
-- (the cycle's version), whatever the history.
--
-- Two facts the users' rules take from a session's started and ended events, which the row
-- did not hold: the earliest start they reported and the latest of their times. Rows
-- written before this migration have 0 in both (nothing reads them there: the users step
-- reads only the rows of its own cycle).
ALTER TABLE session_state ADD COLUMN first_started_at_ms Int64 DEFAULT 0 AFTER started_at_ms;

ALTER TABLE session_state ADD COLUMN last_event_at_ms Int64 DEFAULT 0 AFTER engine_version;

-- Every live row written into `session_state`, sorted by the version (the cycle) that
-- wrote it. Only the aggregator reads it; retention drops its months with
-- `keep_days.touches`, as `ingest_touches`'.
CREATE TABLE IF NOT EXISTS session_state_by_cycle
(
    version UInt64,
    tenant_id String,
    user_id String,
    session_id String,
    started_at_ms Int64,
    first_started_at_ms Int64,
    ended_at_ms Int64,
    status String,
    error_category String,
    error_source String,
    message String,
    last_event_at_ms Int64,
    computed_at DateTime
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(computed_at)
ORDER BY (version, tenant_id, user_id, session_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS session_state_by_cycle_rows TO session_state_by_cycle AS
SELECT
    version,
    tenant_id,
    user_id,
    session_id,
    started_at_ms,
    first_started_at_ms,
    ended_at_ms,
    status,
    error_category,
    error_source,
    message,
    last_event_at_ms,
    toDateTime(intDiv(computed_at_ms, 1000)) AS computed_at
FROM session_state
WHERE deleted = 0;
