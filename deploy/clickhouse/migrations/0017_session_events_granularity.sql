-- session_events rewritten with 1,024-row granules instead of 8,192 (issue 17).
--
-- The aggregator looks a touched user's and a touched session's events up by the sort key
-- (tenant_id, user_id, session_id, ...). ClickHouse reads whole granules, one or two per
-- touched user in every part, so with 8,192-row granules a cycle of 1,000 new sessions read
-- about half of a 40 M-row table, and more as history grew. With 1,024-row granules it reads
-- about a user's own rows: the cycle's cost follows the traffic, not the history
-- (benches/RESULTS.md, "As history grows"). The primary index held in memory grows 8x
-- (about 1 MB per 10 M rows).
--
-- The index granularity of a table cannot be altered, so this migration is not run as
-- written: the migrator runs it as a *rewrite* (store/src/rewrite.rs, README "Rewriting
-- session_events"), with the statements below as its inputs:
-- 1. the table's new definition, created under a scratch name, and every row copied in;
-- 2. the two tables swapped by RENAME (ingest may go on writing);
-- 3. the materialized view that reads session_events created again over the new table;
-- 4. the rows written to the old table during the copy copied over (duplicates merge away:
--    the table is a ReplacingMergeTree keyed by the event's identity);
-- 5. every session with rows ingested since the copy began touched again, stamped now, so
--    the next cycle recomputes it from the complete table;
-- 6. the old table dropped.
-- On an empty table (a new install, a test) the services apply it at start. With rows in
-- the table they leave it pending and keep working on the old layout, logging the command
-- that applies it (`aggregator migrate --rewrite` or `ingest migrate --rewrite`).

-- Step 1: the new definition.
CREATE TABLE IF NOT EXISTS session_events
(
    tenant_id String,
    profile_id String,
    user_id String,
    session_id String,
    -- session_queued, session_started or session_ended
    event_kind String,
    event_id String,
    occurred_at_ms Int64,
    occurred_at DateTime DEFAULT toDateTime(intDiv(occurred_at_ms, 1000)),
    engine_id String,
    engine_version String,
    -- session_started: Schedule, ForcedByUser, ForcedByAdmin, Adaptive
    trigger String,
    -- session_started: its occurred_at_ms; session_ended: the reported start; else 0
    started_at_ms Int64,
    -- session_ended only, else 0 / empty
    ended_at_ms Int64,
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
    ingested_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, user_id, session_id, event_kind, event_id)
SETTINGS index_granularity = 1024;

-- Step 3: the view over the new table (as in 0015).
CREATE MATERIALIZED VIEW IF NOT EXISTS ingest_touches_sessions TO ingest_touches AS
SELECT
    ingested_at,
    'session' AS source,
    tenant_id,
    user_id,
    session_id,
    toUInt8(max(event_kind = 'session_ended')) AS ended,
    toDate(ingested_at) AS day
FROM session_events
GROUP BY ingested_at, tenant_id, user_id, session_id;

-- Step 5: the sessions with rows ingested since the copy began, stamped now.
-- params: since_s UInt32 = 0
INSERT INTO ingest_touches (ingested_at, source, tenant_id, user_id, session_id, ended, day)
SELECT now(), 'session', tenant_id, user_id, session_id,
    toUInt8(max(event_kind = 'session_ended')), today()
FROM session_events
WHERE ingested_at >= toDateTime(?)
GROUP BY tenant_id, user_id, session_id;
