-- Recomputes the sessions with events ingested in [from_s, to_s) of one range of users
-- (tenant_id, user_id) (session_key_ranges.sql; all of them in a steady cycle), from all
-- their events, into
-- session_state (see deploy/clickhouse/migrations/0011_session_state.sql): one live row per
-- started session under its current key (profile, start), merged exactly as the `sessions`
-- view merges it, and a tombstone under every other (profile, start) pair of its events —
-- the keys it may have had in an earlier cycle. Sessions not started yet get no row. The
-- live rows are copied by a view into session_state_by_cycle (migration 0019), where the
-- same cycle's users step finds them by the version. Their events are read from
-- cycle.session_lookback_days before the earliest day the window's touches carry (all of
-- them when a touch lacks its day or the lookback is off).
-- params: computed_at_ms Int64 = 1767225600000, version UInt64 = 1
-- params: from_s UInt32 = 0, to_s UInt32 = 4000000000
-- params: from_tenant String = '', from_tenant String = '', from_user String = ''
-- params: to_end UInt8 = 1, until_tenant String = '', until_tenant String = '', until_user String = ''
-- params: from_s UInt32 = 0, to_s UInt32 = 4000000000
-- params: from_tenant String = '', from_tenant String = '', from_user String = ''
-- params: to_end UInt8 = 1, until_tenant String = '', until_tenant String = '', until_user String = ''
-- params: lookback_s UInt32 = 604800, lookback_s UInt32 = 604800, from_s UInt32 = 0, to_s UInt32 = 4000000000
-- params: from_tenant String = '', from_tenant String = '', from_user String = ''
-- params: to_end UInt8 = 1, until_tenant String = '', until_tenant String = '', until_user String = ''
INSERT INTO session_state
(
    tenant_id, profile_id, started_at_ms, first_started_at_ms, user_id, session_id, deleted,
    queued_at_ms, ended_at_ms, duration_ms, trigger, status, scope_items, changes,
    total_changes, failures, issues, conflicts, objects_type, objects_synchronized,
    objects_mail_to_crm_created, objects_mail_to_crm_updated, objects_mail_to_crm_deleted,
    objects_crm_to_mail_created, objects_crm_to_mail_updated, objects_crm_to_mail_deleted,
    error_category, error_source, message, exception, engine_id, engine_version,
    last_event_at_ms, computed_at_ms, version
)
SELECT
    tenant_id,
    k_profile_id,
    k_started_at_ms,
    m_first_started_at_ms,
    user_id,
    session_id,
    toUInt8(k_profile_id != m_profile_id OR k_started_at_ms != m_started_at_ms),
    m_queued_at_ms,
    tupleElement(m_end, 1),
    if(tupleElement(m_end, 1) = 0, toInt64(0), tupleElement(m_end, 1) - m_started_at_ms),
    m_trigger,
    tupleElement(m_end, 2),
    tupleElement(m_end, 3),
    tupleElement(m_end, 4),
    tupleElement(m_end, 5),
    tupleElement(m_end, 6),
    tupleElement(m_end, 7),
    tupleElement(m_end, 8),
    tupleElement(m_end, 9),
    tupleElement(m_end, 10),
    tupleElement(m_end, 11),
    tupleElement(m_end, 12),
    tupleElement(m_end, 13),
    tupleElement(m_end, 14),
    tupleElement(m_end, 15),
    tupleElement(m_end, 16),
    tupleElement(m_end, 17),
    tupleElement(m_end, 18),
    tupleElement(m_end, 19),
    tupleElement(m_end, 20),
    tupleElement(m_engine, 1),
    tupleElement(m_engine, 2),
    m_last_event_at_ms,
    toInt64(?),
    toUInt64(?)
FROM
(
    -- Two arrayJoins: every (profile, start) pair of the session's events.
    SELECT *, arrayJoin(m_profiles) AS k_profile_id, arrayJoin(m_starts) AS k_started_at_ms
    FROM
    (
        SELECT
            tenant_id,
            user_id,
            session_id,
            argMax(profile_id, (occurred_at_ms, event_id)) AS m_profile_id,
            minIf(occurred_at_ms, event_kind = 'session_queued') AS m_queued_at_ms,
            max(started_at_ms) AS m_started_at_ms,
            -- the users' rules' facts of the session (S1 in recompute_users.sql), from its
            -- started and ended events, for advance_users.sql (see migration 0019)
            minIf(started_at_ms, event_kind IN ('session_started', 'session_ended'))
                AS m_first_started_at_ms,
            maxIf(occurred_at_ms, event_kind IN ('session_started', 'session_ended'))
                AS m_last_event_at_ms,
            argMaxIf(trigger, (occurred_at_ms, event_id), event_kind = 'session_started') AS m_trigger,
            -- the whole end from one event: the greatest session_ended by (occurred_at_ms, event_id)
            argMaxIf(
                (ended_at_ms, status, scope_items, changes, total_changes, failures, issues,
                conflicts, objects_type, objects_synchronized, objects_mail_to_crm_created,
                objects_mail_to_crm_updated, objects_mail_to_crm_deleted,
                objects_crm_to_mail_created, objects_crm_to_mail_updated,
                objects_crm_to_mail_deleted, error_category, error_source, message, exception),
                (occurred_at_ms, event_id), event_kind = 'session_ended') AS m_end,
            argMax((engine_id, engine_version), (occurred_at_ms, event_id)) AS m_engine,
            groupUniqArray(profile_id) AS m_profiles,
            groupUniqArrayIf(started_at_ms, started_at_ms != 0) AS m_starts
        FROM session_events
        -- The sessions by a 64-bit hash of their ids in PREWHERE (a set of integers is
        -- cheaper to test than one of string tuples, and the other columns are read only
        -- for granules holding one); the exact ids in WHERE, which the key analysis uses to
        -- pick the granules.
        PREWHERE cityHash64(tenant_id, user_id, session_id) IN
        (
            SELECT cityHash64(tenant_id, user_id, session_id)
            FROM ingest_touches
            WHERE ingested_at >= toDateTime(?) AND ingested_at < toDateTime(?)
                AND source = 'session'
                -- the statement's range of users (cycle::UserRange)
                AND (tenant_id > ? OR (tenant_id = ? AND user_id >= ?))
                AND (? OR tenant_id < ? OR (tenant_id = ? AND user_id < ?))
        )
        WHERE (tenant_id, user_id, session_id) IN
        (
            SELECT tenant_id, user_id, session_id
            FROM ingest_touches
            WHERE ingested_at >= toDateTime(?) AND ingested_at < toDateTime(?)
                AND source = 'session'
                -- the statement's range of users (cycle::UserRange)
                AND (tenant_id > ? OR (tenant_id = ? AND user_id >= ?))
                AND (? OR tenant_id < ? OR (tenant_id = ? AND user_id < ?))
        )
            -- the touched sessions' events occurred after this: the parts and partitions
            -- whose `occurred_at` all falls before it are not read
            AND occurred_at >= toDateTime((
                -- the lookback (cycle::lookback_bind): from `lookback_s` before the earliest day the
                -- window's touches of the range carry (migration 0020), when every one has its day;
                -- else from the beginning. Read here, from the same replica as the sets above.
                SELECT if(countIf(source = 'session_time') > 0
                        AND countIf(source = 'session') = countIf(source = 'session_time')
                        AND toUInt32(toDateTime(minIf(day, source = 'session_time'))) > ?,
                    toUInt32(toDateTime(minIf(day, source = 'session_time'))) - ?, toUInt32(0))
                FROM ingest_touches
                WHERE ingested_at >= toDateTime(?) AND ingested_at < toDateTime(?)
                    AND source IN ('session', 'session_time')
                    AND (tenant_id > ? OR (tenant_id = ? AND user_id >= ?))
                    AND (? OR tenant_id < ? OR (tenant_id = ? AND user_id < ?))
            ))
        GROUP BY tenant_id, user_id, session_id
    )
);
