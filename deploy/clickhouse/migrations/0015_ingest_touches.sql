-- What was stored when, for the aggregator: one row per (insert, session) of session events,
-- per (insert, user) of user-state events and per (insert, user, day) of issue events,
-- written by materialized views as the events are inserted (ingest stamps one
-- `ingested_at` per batch, so an insert gives few rows). Sorted by `ingested_at`: a cycle
-- finds the users, sessions and days to recompute by reading its window's rows only. The
-- raw tables are sorted by user, and finding their rows by `ingested_at` reads that column
-- of every row ever stored, a cost that grew with the history kept.
--
-- Only the aggregator reads it; a row written twice (a retried insert) only repeats a
-- recomputation. Retention drops its months with `keep_days.touches`.
CREATE TABLE IF NOT EXISTS ingest_touches
(
    ingested_at DateTime,
    -- 'session', 'user_state' or 'issue': the table the events went to
    source String,
    tenant_id String,
    user_id String,
    -- the session of a 'session' row, '' otherwise
    session_id String,
    -- 1: the insert held a session_ended of the session
    ended UInt8,
    -- the day (UTC) of an 'issue' row's issues; the day of `ingested_at` otherwise
    day Date
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(ingested_at)
ORDER BY (ingested_at, source, tenant_id, user_id, session_id);

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

CREATE MATERIALIZED VIEW IF NOT EXISTS ingest_touches_user_states TO ingest_touches AS
SELECT
    ingested_at,
    'user_state' AS source,
    tenant_id,
    user_id,
    '' AS session_id,
    toUInt8(0) AS ended,
    toDate(ingested_at) AS day
FROM user_state_events
GROUP BY ingested_at, tenant_id, user_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS ingest_touches_issues TO ingest_touches AS
SELECT
    ingested_at,
    'issue' AS source,
    tenant_id,
    user_id,
    '' AS session_id,
    toUInt8(0) AS ended,
    toDate(occurred_at) AS day
FROM issue_events
GROUP BY ingested_at, tenant_id, user_id, day;

-- The events stored before this migration, so a cycle whose window starts before it finds
-- them (a one-off read of the raw tables; an event inserted while this runs may get two
-- rows, which only repeats its recomputation).
INSERT INTO ingest_touches (ingested_at, source, tenant_id, user_id, session_id, ended, day)
SELECT ingested_at, 'session', tenant_id, user_id, session_id,
    toUInt8(max(event_kind = 'session_ended')), toDate(ingested_at)
FROM session_events
GROUP BY ingested_at, tenant_id, user_id, session_id;

INSERT INTO ingest_touches (ingested_at, source, tenant_id, user_id, session_id, ended, day)
SELECT ingested_at, 'user_state', tenant_id, user_id, '', toUInt8(0), toDate(ingested_at)
FROM user_state_events
GROUP BY ingested_at, tenant_id, user_id;

INSERT INTO ingest_touches (ingested_at, source, tenant_id, user_id, session_id, ended, day)
SELECT ingested_at, 'issue', tenant_id, user_id, '', toUInt8(0), toDate(occurred_at) AS d
FROM issue_events
GROUP BY ingested_at, tenant_id, user_id, d;
