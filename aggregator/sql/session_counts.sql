-- Ended sessions per hour and per day (UTC) and status, each session counted once: under
-- its decided end (docs/status-rules.md, S1: the greatest `session_ended` of the session by
-- (occurred_at_ms, event_id), the end the `sessions` view and `session_state` show), in the
-- hour and day of that event's `occurred_at` and the profile it reports. A session ended
-- twice with different statuses is one session, under one status.
--
-- Recomputed for the given (tenant, day)s (tenants[i], days[i], 'YYYY-MM-DD'; the cycle
-- finds them with session_count_days.sql and passes them in chunks; first_day is the
-- chunk's first day): the sessions with an end in those days are decided from their ends,
-- and those decided in one of those days are counted. Every key already stored for those
-- days gets its new count too, 0 when no session is decided under it any more (a key's
-- count can fall), so the newest version of each key is exact.
-- params: version UInt64 = 1
-- params: tenants Array(String) = ['acme'], days Array(String) = ['2026-01-01'], first_day String = '2026-01-01', first_day String = '2026-01-01'
-- params: tenants Array(String) = ['acme'], days Array(String) = ['2026-01-01'], tenants Array(String) = ['acme'], days Array(String) = ['2026-01-01']
INSERT INTO session_counts (tenant_id, profile_id, granularity, bucket, status, sessions, version)
SELECT tenant_id, c_profile_id, c_granularity, c_bucket, c_status, sum(c_sessions), toUInt64(?)
FROM
(
    SELECT
        tenant_id,
        tupleElement(d_end, 1) AS c_profile_id,
        g AS c_granularity,
        if(g = 'hour', toStartOfHour(tupleElement(d_end, 2)), toStartOfDay(tupleElement(d_end, 2)))
            AS c_bucket,
        tupleElement(d_end, 3) AS c_status,
        toUInt64(1) AS c_sessions
    FROM
    (
        -- One row per session with an end in one of the days: its decided end. Only the
        -- ends from the first day on are read: an earlier end is earlier than the session's
        -- end in one of the days, so it cannot decide. The sessions are picked by a hash of
        -- their ids in PREWHERE (a set of integers: a set of id tuples on the sort key cost
        -- several times more on 18.16); a collision only adds a session, which the filter
        -- below keeps only if it is decided in one of the days, where it belongs.
        SELECT
            tenant_id,
            user_id,
            session_id,
            argMax((profile_id, occurred_at, status), (occurred_at_ms, event_id)) AS d_end
        FROM session_events
        PREWHERE cityHash64(tenant_id, user_id, session_id) IN
        (
            SELECT cityHash64(tenant_id, user_id, session_id)
            FROM session_events
            WHERE event_kind = 'session_ended'
                AND (tenant_id, toDate(occurred_at)) IN (SELECT t, toDate(d) FROM system.one ARRAY JOIN ? AS t, ? AS d)
                AND occurred_at >= toDateTime(toDate(?))
        )
        WHERE event_kind = 'session_ended' AND occurred_at >= toDateTime(toDate(?))
        GROUP BY tenant_id, user_id, session_id
    )
    ARRAY JOIN ['hour', 'day'] AS g
    WHERE (tenant_id, toDate(tupleElement(d_end, 2))) IN (SELECT t, toDate(d) FROM system.one ARRAY JOIN ? AS t, ? AS d)
    UNION ALL
    -- The keys stored for those days, at 0.
    SELECT
        tenant_id,
        profile_id AS c_profile_id,
        granularity AS c_granularity,
        bucket AS c_bucket,
        status AS c_status,
        toUInt64(0) AS c_sessions
    FROM session_counts FINAL
    WHERE (tenant_id, toDate(bucket)) IN (SELECT t, toDate(d) FROM system.one ARRAY JOIN ? AS t, ? AS d)
)
GROUP BY tenant_id, c_profile_id, c_granularity, c_bucket, c_status;
