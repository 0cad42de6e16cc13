-- Ended sessions per hour and per day (UTC) and status, each session counted once: under
-- its decided end (docs/status-rules.md, S1: the greatest `session_ended` of the session by
-- (occurred_at_ms, event_id), the end the `sessions` view and `session_state` show), in the
-- hour and day of that event's `occurred_at` and the profile it reports. A session ended
-- twice with different statuses is one session, under one status.
--
-- Recomputed for the touched (tenant, day)s: every day holding an end of a session that got
-- a new `session_ended` in [from_s, to_s), since a new end can move a session out of the
-- day of its earlier end. The sessions with an end in those days are decided from all their
-- ends; those decided in one of those days are counted. Every key already stored for those
-- days gets its new count too, 0 when no session is decided under it any more (a key's
-- count can fall), so the newest version of each key is exact.
-- params: version UInt64 = 1
-- params: from_s UInt32 = 0, to_s UInt32 = 4000000000, from_s UInt32 = 0, to_s UInt32 = 4000000000
-- params: from_s UInt32 = 0, to_s UInt32 = 4000000000, from_s UInt32 = 0, to_s UInt32 = 4000000000
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
        -- One row per session with an end in a touched day: its decided end.
        SELECT
            tenant_id,
            user_id,
            session_id,
            argMax((profile_id, occurred_at, status), (occurred_at_ms, event_id)) AS d_end
        FROM session_events
        WHERE event_kind = 'session_ended'
            AND (tenant_id, user_id, session_id) IN
            (
                SELECT tenant_id, user_id, session_id
                FROM session_events
                WHERE event_kind = 'session_ended'
                    AND (tenant_id, toDate(occurred_at)) IN
                    (
                    SELECT tenant_id, toDate(occurred_at)
                    FROM session_events
                    WHERE event_kind = 'session_ended'
                        AND (tenant_id, user_id, session_id) IN
                        (
                            SELECT tenant_id, user_id, session_id
                            FROM session_events
                            WHERE event_kind = 'session_ended'
                                AND ingested_at >= toDateTime(?) AND ingested_at < toDateTime(?)
                        )
                    )
                    AND occurred_at >=
                    (
                        SELECT toDateTime(min(toDate(occurred_at)))
                        FROM session_events
                        WHERE event_kind = 'session_ended'
                            AND (tenant_id, user_id, session_id) IN
                            (
                                SELECT tenant_id, user_id, session_id
                                FROM session_events
                                WHERE event_kind = 'session_ended'
                                    AND ingested_at >= toDateTime(?) AND ingested_at < toDateTime(?)
                            )
                    )
            )
        GROUP BY tenant_id, user_id, session_id
    )
    ARRAY JOIN ['hour', 'day'] AS g
    WHERE (tenant_id, toDate(tupleElement(d_end, 2))) IN
    (
        SELECT tenant_id, toDate(occurred_at)
        FROM session_events
        WHERE event_kind = 'session_ended'
            AND (tenant_id, user_id, session_id) IN
            (
                SELECT tenant_id, user_id, session_id
                FROM session_events
                WHERE event_kind = 'session_ended'
                    AND ingested_at >= toDateTime(?) AND ingested_at < toDateTime(?)
            )
    )
    UNION ALL
    -- The keys stored for the touched days, at 0.
    SELECT
        tenant_id,
        profile_id AS c_profile_id,
        granularity AS c_granularity,
        bucket AS c_bucket,
        status AS c_status,
        toUInt64(0) AS c_sessions
    FROM session_counts FINAL
    WHERE (tenant_id, toDate(bucket)) IN
    (
        SELECT tenant_id, toDate(occurred_at)
        FROM session_events
        WHERE event_kind = 'session_ended'
            AND (tenant_id, user_id, session_id) IN
            (
                SELECT tenant_id, user_id, session_id
                FROM session_events
                WHERE event_kind = 'session_ended'
                    AND ingested_at >= toDateTime(?) AND ingested_at < toDateTime(?)
            )
    )
)
GROUP BY tenant_id, c_profile_id, c_granularity, c_bucket, c_status;
