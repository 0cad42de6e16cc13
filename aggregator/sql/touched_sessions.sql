-- About how many sessions have events ingested in [from_s, to_s) (to size the statements
-- of recompute_sessions.sql; `uniq` is approximate and needs little memory, which the exact
-- count over a first backfill would not), and the earliest day their new events carry
-- (migration 0020): the window's 'session' rows, its 'session_time' rows, and the least
-- day of those, as a time (seconds; midnight of the server's time zone). The cycle reads
-- the touched sessions' events from `cycle.session_lookback_days` before it when every
-- 'session' row has its 'session_time' row (cycle::occurred_from).
-- params: from_s UInt32 = 0, to_s UInt32 = 4000000000
SELECT
    uniqIf(tenant_id, user_id, session_id, source = 'session'),
    countIf(source = 'session'),
    countIf(source = 'session_time'),
    toUInt32(toDateTime(minIf(day, source = 'session_time')))
FROM ingest_touches
WHERE ingested_at >= toDateTime(?) AND ingested_at < toDateTime(?)
    AND source IN ('session', 'session_time');
