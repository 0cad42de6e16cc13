-- Advances the state of the touched users (see touched_count.sql: the same set, found in
-- ingest_touches by ingestion time) of one range of users (cycle::UserRange; all of them
-- when they fit in one statement)
-- from their stored user_state row and the sessions touched in the window, without reading
-- their older sessions: one new row each into user_state, equal to what
-- recompute_users.sql derives from all their events (rules S2-S5 merge: each "latest" is a
-- maximum, ever_succeeded an OR, S5 a count past a bound the row keeps). The rest of the
-- row (U, P, E, Y, N, T rules) is derived as recompute_users.sql does, in the same text
-- (cycle.rs tests that the two files differ only in the sessions' part).
--
-- A user is advanced only when the stored row tells exactly what the touched sessions
-- counted in it. Every session but the stored latest one (L) must have every event
-- starting after L's start: such a session had no event when the row was derived (it
-- would have been the latest). L's old row is known from the row (S2 columns); when it was
-- the latest outcome, error or success, the facts of the sessions before it are unknown,
-- so the touched rows must replace them. Any other user (no stored row, a row from before
-- migration 0018, a late event of an old session, an end that changed an ended latest
-- session's outcome into one the row cannot undo) is left to recompute_users.sql, which
-- runs after this file in the same shard and skips the users written here.
-- The touched users' sets are written GLOBAL IN, as in recompute_users.sql (which says why
-- the aggregator sends IN).
-- params: now_ms Int64 = 4102444800000, stall_after_ms Int64 = 3600000
-- params: now_ms Int64 = 4102444800000, no_session_after_ms Int64 = 86400000
-- params: stall_after_ms Int64 = 3600000, now_ms Int64 = 4102444800000, stall_after_ms Int64 = 3600000
-- params: no_session_after_ms Int64 = 86400000, now_ms Int64 = 4102444800000, no_session_after_ms Int64 = 86400000
-- params: computed_at_ms Int64 = 0, version UInt64 = 1
-- params: from_s UInt32 = 0, to_s UInt32 = 4000000000, from_s UInt32 = 0, to_s UInt32 = 4000000000, now_ms Int64 = 4102444800000, now_ms Int64 = 4102444800000, from_tenant String = '', from_tenant String = '', from_user String = '', to_end UInt8 = 1, until_tenant String = '', until_tenant String = '', until_user String = ''
-- params: from_s UInt32 = 0, to_s UInt32 = 4000000000, from_s UInt32 = 0, to_s UInt32 = 4000000000, now_ms Int64 = 4102444800000, now_ms Int64 = 4102444800000, from_tenant String = '', from_tenant String = '', from_user String = '', to_end UInt8 = 1, until_tenant String = '', until_tenant String = '', until_user String = ''
-- params: from_s UInt32 = 0, to_s UInt32 = 4000000000, from_tenant String = '', from_tenant String = '', from_user String = '', to_end UInt8 = 1, until_tenant String = '', until_tenant String = '', until_user String = ''
-- params: from_s UInt32 = 0, to_s UInt32 = 4000000000, from_tenant String = '', from_tenant String = '', from_user String = '', to_end UInt8 = 1, until_tenant String = '', until_tenant String = '', until_user String = ''
-- params: lookback_s UInt32 = 604800, lookback_s UInt32 = 604800, from_s UInt32 = 0, to_s UInt32 = 4000000000
-- params: from_tenant String = '', from_tenant String = '', from_user String = ''
-- params: to_end UInt8 = 1, until_tenant String = '', until_tenant String = '', until_user String = ''
-- params: from_s UInt32 = 0, to_s UInt32 = 4000000000, from_s UInt32 = 0, to_s UInt32 = 4000000000, now_ms Int64 = 4102444800000, now_ms Int64 = 4102444800000, from_tenant String = '', from_tenant String = '', from_user String = '', to_end UInt8 = 1, until_tenant String = '', until_tenant String = '', until_user String = ''
INSERT INTO user_state
(
    tenant_id, user_id, profile_id, display_name, mail_account, crm_user_name, deleted,
    profile_deleted, sync_setting, profile_status, effective_status, sync_state,
    no_recent_session, crm_token_active, mail_token_authorized, last_token_error,
    last_session_id, last_session_started_at_ms, last_session_ended_at_ms,
    last_session_duration_ms, last_session_status, last_outcome, last_outcome_session_id,
    last_outcome_started_at_ms, ever_succeeded, last_success_started_at_ms, last_error_category, last_error_source,
    last_error_message, last_error_session_id, last_error_started_at_ms, consecutive_failures,
    first_seen_ms, last_event_at_ms, changes_at_ms, computed_at_ms, version
)
SELECT
    tenant_id, user_id, profile_id, display_name, mail_account, crm_user_name, deleted,
    profile_deleted, sync_setting, profile_status, effective_status, sync_state,
    no_recent_session, crm_token_active, mail_token_authorized, last_token_error,
    last_session_id, last_session_started_at_ms, last_session_ended_at_ms,
    last_session_duration_ms, last_session_status, last_outcome, last_outcome_session_id,
    last_outcome_started_at_ms, ever_succeeded, last_success_started_at_ms, last_error_category, last_error_source,
    last_error_message, last_error_session_id, last_error_started_at_ms, consecutive_failures,
    first_seen_ms, last_event_at_ms, changes_at_ms, computed_at_ms, version
FROM
(
SELECT
    tenant_id,
    user_id,
    u_profile_id AS profile_id,
    u_display_name AS display_name,
    u_mail_account AS mail_account,
    u_crm_user_name AS crm_user_name,
    -- U3
    toUInt8(u_change = 'Deleted') AS deleted,
    toUInt8(p_known = 1 AND p_change = 'Deleted') AS profile_deleted,
    u_sync_setting AS sync_setting,
    -- P1-P4
    if(p_known = 1 AND (p_change = 'Deleted' OR p_sync_enabled = 0), 'Disabled', 'Enabled')
        AS profile_status,
    -- E1-E5
    multiIf(
        profile_status = 'Disabled', 'Disabled',
        u_sync_setting = 'DisabledByAdmin', 'Disabled',
        u_sync_setting = 'DisabledDueToError', 'DisabledDueToError',
        u_sync_setting = 'Suspended', 'Suspended',
        'Enabled') AS effective_status,
    toUInt8(has_sessions = 1 AND l_ended = 0) AS last_open,
    -- Y1-Y5
    multiIf(
        last_open = 1 AND ? - l_started_at_ms >= ?, 'Stalled',
        last_open = 1, 'InProgress',
        l_ever_succeeded = 0, 'NeverSynced',
        l_outcome IN ('Error', 'Canceled'), 'LastSyncFailed',
        'LastSyncSucceeded') AS sync_state,
    if(has_sessions = 1, l_started_at_ms, u_first_seen_ms) AS idle_since_ms,
    toUInt8(effective_status = 'Enabled' AND deleted = 0) AS should_sync,
    -- N1-N2
    toUInt8(should_sync = 1 AND ? - idle_since_ms >= ?) AS no_recent_session,
    -- T1
    u_crm_token_active AS crm_token_active,
    u_mail_token_authorized AS mail_token_authorized,
    u_last_token_error AS last_token_error,
    -- S2
    l_session_id AS last_session_id,
    l_started_at_ms AS last_session_started_at_ms,
    if(l_ended = 1, l_ended_at_ms, toInt64(0)) AS last_session_ended_at_ms,
    if(l_ended = 1, l_ended_at_ms - l_started_at_ms, toInt64(0)) AS last_session_duration_ms,
    if(l_ended = 1, l_status, '') AS last_session_status,
    -- S3
    l_outcome AS last_outcome,
    l_outcome_session_id AS last_outcome_session_id,
    l_outcome_started_at_ms AS last_outcome_started_at_ms,
    toUInt8(l_ever_succeeded) AS ever_succeeded,
    -- S5's bound, for advance_users.sql
    if(l_ever_succeeded = 1, l_success_started_at_ms, toInt64(0)) AS last_success_started_at_ms,
    -- S4
    l_error_category AS last_error_category,
    l_error_source AS last_error_source,
    l_error_message AS last_error_message,
    l_error_session_id AS last_error_session_id,
    l_error_started_at_ms AS last_error_started_at_ms,
    -- S5
    l_consecutive_failures AS consecutive_failures,
    u_first_seen_ms AS first_seen_ms,
    greatest(u_last_event_at_ms, l_last_event_at_ms) AS last_event_at_ms,
    -- N3
    if(last_open = 1 AND l_started_at_ms + ? > ?, l_started_at_ms + ?, toInt64(0)) AS stall_at_ms,
    if(should_sync = 1 AND idle_since_ms + ? > ?, idle_since_ms + ?, toInt64(0)) AS idle_at_ms,
    multiIf(stall_at_ms = 0, idle_at_ms, idle_at_ms = 0, stall_at_ms, least(stall_at_ms, idle_at_ms))
        AS changes_at_ms,
    toInt64(?) AS computed_at_ms,
    toUInt64(?) AS version
FROM
(
    SELECT *
    FROM
    (
        -- U1-U2: the latest user-state event; users without one get no row.
        SELECT
            tenant_id,
            user_id,
            argMax(profile_id, (occurred_at_ms, event_id)) AS u_profile_id,
            argMax(display_name, (occurred_at_ms, event_id)) AS u_display_name,
            argMax(mail_account, (occurred_at_ms, event_id)) AS u_mail_account,
            argMax(crm_user_name, (occurred_at_ms, event_id)) AS u_crm_user_name,
            argMax(change, (occurred_at_ms, event_id)) AS u_change,
            argMax(sync_setting, (occurred_at_ms, event_id)) AS u_sync_setting,
            argMax(crm_token_active, (occurred_at_ms, event_id)) AS u_crm_token_active,
            argMax(mail_token_authorized, (occurred_at_ms, event_id)) AS u_mail_token_authorized,
            argMax(last_token_error, (occurred_at_ms, event_id)) AS u_last_token_error,
            min(occurred_at_ms) AS u_first_seen_ms,
            max(occurred_at_ms) AS u_last_event_at_ms
        FROM user_state_events
        WHERE (tenant_id, user_id) GLOBAL IN (
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
            -- the statement's range of users (cycle::UserRange)
            AND (tenant_id > ? OR (tenant_id = ? AND user_id >= ?))
            AND (? OR tenant_id < ? OR (tenant_id = ? AND user_id < ?))
        GROUP BY tenant_id, user_id
    ) AS u
    ANY INNER JOIN
    (
        -- S2-S5 advanced: the stored row's facts (st_*) merged with the touched sessions'
        -- rows (r_*), for the users whose stored row allows it (see the header).
        SELECT
            tenant_id,
            user_id,
            toUInt8(st_l_id != '' OR r_sessions > 0) AS has_sessions,
            if(r_sessions > 0, r_l_id, st_l_id) AS l_session_id,
            if(r_sessions > 0, r_l_started_at_ms, st_l_started_at_ms) AS l_started_at_ms,
            if(r_sessions > 0, r_l_ended, toUInt8(st_l_status != '')) AS l_ended,
            if(r_sessions > 0, r_l_ended_at_ms, st_l_ended_at_ms) AS l_ended_at_ms,
            if(r_sessions > 0, r_l_status, st_l_status) AS l_status,
            if(r_has_outcome = 1, r_outcome, st_outcome) AS l_outcome,
            if(r_has_outcome = 1, r_outcome_session_id, st_outcome_session_id) AS l_outcome_session_id,
            if(r_has_outcome = 1, r_outcome_started_at_ms, st_outcome_started_at_ms)
                AS l_outcome_started_at_ms,
            toUInt8(r_has_success = 1 OR st_ever_succeeded = 1) AS l_ever_succeeded,
            if(r_has_success = 1, r_success_started_at_ms, st_success_started_at_ms)
                AS l_success_started_at_ms,
            if(r_has_error = 1, r_error_category, st_error_category) AS l_error_category,
            if(r_has_error = 1, r_error_source, st_error_source) AS l_error_source,
            if(r_has_error = 1, r_error_message, st_error_message) AS l_error_message,
            if(r_has_error = 1, r_error_session_id, st_error_session_id) AS l_error_session_id,
            if(r_has_error = 1, r_error_started_at_ms, st_error_started_at_ms) AS l_error_started_at_ms,
            greatest(st_last_event_at_ms, r_last_event_at_ms) AS l_last_event_at_ms,
            -- S5: a touched success bounds the count within the touched sessions (every
            -- stored session started no later); else the stored count, less the latest
            -- session's old Error when it was counted and is touched, plus the touched
            -- errors past the stored bound. (18.16 prunes a column used only inside a
            -- lambda: the bound goes in as an array.)
            toUInt64(if(r_has_success = 1,
                arrayCount((x, y) -> x > y, r_error_starts,
                    arrayResize([r_success_started_at_ms], length(r_error_starts), r_success_started_at_ms)),
                st_consecutive_failures
                    - toUInt64(r_l_touched > 0 AND st_l_status = 'Error'
                        AND (st_ever_succeeded = 0 OR st_l_started_at_ms > st_success_started_at_ms))
                    + r_failures_after_stored)) AS l_consecutive_failures
        FROM
        (
            -- The stored rows of the touched users.
            SELECT
                tenant_id,
                user_id,
                last_session_id AS st_l_id,
                last_session_started_at_ms AS st_l_started_at_ms,
                last_session_ended_at_ms AS st_l_ended_at_ms,
                last_session_status AS st_l_status,
                last_outcome AS st_outcome,
                last_outcome_session_id AS st_outcome_session_id,
                last_outcome_started_at_ms AS st_outcome_started_at_ms,
                ever_succeeded AS st_ever_succeeded,
                last_success_started_at_ms AS st_success_started_at_ms,
                last_error_category AS st_error_category,
                last_error_source AS st_error_source,
                last_error_message AS st_error_message,
                last_error_session_id AS st_error_session_id,
                last_error_started_at_ms AS st_error_started_at_ms,
                consecutive_failures AS st_consecutive_failures,
                last_event_at_ms AS st_last_event_at_ms
            FROM user_state FINAL
            WHERE (tenant_id, user_id) GLOBAL IN (
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
                -- the statement's range of users (cycle::UserRange)
                AND (tenant_id > ? OR (tenant_id = ? AND user_id >= ?))
                AND (? OR tenant_id < ? OR (tenant_id = ? AND user_id < ?))
        ) AS st
        ANY LEFT JOIN
        (
            -- The touched sessions of each user, summarized against the stored row.
            SELECT
                tenant_id,
                user_id,
                count() AS r_sessions,
                argMax(session_id, (r_started_at_ms, session_id)) AS r_l_id,
                max(r_started_at_ms) AS r_l_started_at_ms,
                argMax(r_ended, (r_started_at_ms, session_id)) AS r_l_ended,
                argMax(if(r_ended = 1, r_ended_at_ms, toInt64(0)), (r_started_at_ms, session_id))
                    AS r_l_ended_at_ms,
                argMax(if(r_ended = 1, r_status, ''), (r_started_at_ms, session_id)) AS r_l_status,
                toUInt8(countIf(r_ended = 1 AND r_status != 'Skipped') > 0) AS r_has_outcome,
                argMaxIf(r_status, (r_started_at_ms, session_id), r_ended = 1 AND r_status != 'Skipped')
                    AS r_outcome,
                argMaxIf(session_id, (r_started_at_ms, session_id), r_ended = 1 AND r_status != 'Skipped')
                    AS r_outcome_session_id,
                maxIf(r_started_at_ms, r_ended = 1 AND r_status != 'Skipped') AS r_outcome_started_at_ms,
                toUInt8(countIf(r_ended = 1 AND r_status = 'Success') > 0) AS r_has_success,
                maxIf(r_started_at_ms, r_ended = 1 AND r_status = 'Success') AS r_success_started_at_ms,
                toUInt8(countIf(r_ended = 1 AND r_status = 'Error') > 0) AS r_has_error,
                groupArrayIf(r_started_at_ms, r_ended = 1 AND r_status = 'Error') AS r_error_starts,
                argMaxIf(r_error_category, (r_started_at_ms, session_id), r_ended = 1 AND r_status = 'Error')
                    AS r_error_category,
                argMaxIf(r_error_source, (r_started_at_ms, session_id), r_ended = 1 AND r_status = 'Error')
                    AS r_error_source,
                argMaxIf(r_message, (r_started_at_ms, session_id), r_ended = 1 AND r_status = 'Error')
                    AS r_error_message,
                argMaxIf(session_id, (r_started_at_ms, session_id), r_ended = 1 AND r_status = 'Error')
                    AS r_error_session_id,
                maxIf(r_started_at_ms, r_ended = 1 AND r_status = 'Error') AS r_error_started_at_ms,
                max(r_last_event_at_ms) AS r_last_event_at_ms,
                -- the stored latest session is among them
                countIf(session_id = st_l_id) AS r_l_touched,
                -- another one had an event starting no later than the stored latest session:
                -- it may have been counted in the stored row (advancing would count it twice)
                countIf(session_id != st_l_id AND r_min_started_at_ms <= st_l_started_at_ms) AS r_early,
                countIf(r_ended = 1 AND r_status = 'Error'
                    AND (st_ever_succeeded = 0 OR r_started_at_ms > st_success_started_at_ms))
                    AS r_failures_after_stored
            FROM
            (
                SELECT *
                FROM
                (
                    -- S1 for the touched sessions: their rows as they are now.
                    SELECT
                        tenant_id,
                        user_id,
                        session_id,
                        max(started_at_ms) AS r_started_at_ms,
                        min(started_at_ms) AS r_min_started_at_ms,
                        toUInt8(countIf(event_kind = 'session_ended') > 0) AS r_ended,
                        argMaxIf((ended_at_ms, status, error_category, error_source, message),
                            (occurred_at_ms, event_id), event_kind = 'session_ended') AS r_end,
                        tupleElement(r_end, 1) AS r_ended_at_ms,
                        tupleElement(r_end, 2) AS r_status,
                        tupleElement(r_end, 3) AS r_error_category,
                        tupleElement(r_end, 4) AS r_error_source,
                        tupleElement(r_end, 5) AS r_message,
                        max(occurred_at_ms) AS r_last_event_at_ms
                    FROM session_events
                    -- The sessions by a 64-bit hash of their ids in PREWHERE (a set of
                    -- integers is cheaper to test than one of string tuples, and the other
                    -- columns are read only for granules holding one); the exact ids in
                    -- WHERE, which the key analysis uses to pick the granules.
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
                        AND event_kind IN ('session_started', 'session_ended')
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
                ) AS touched
                ANY INNER JOIN
                (
                    SELECT
                        tenant_id,
                        user_id,
                        last_session_id AS st_l_id,
                        last_session_started_at_ms AS st_l_started_at_ms,
                        ever_succeeded AS st_ever_succeeded,
                        last_success_started_at_ms AS st_success_started_at_ms
                    FROM user_state FINAL
                    WHERE (tenant_id, user_id) GLOBAL IN (
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
                        -- the statement's range of users (cycle::UserRange)
                        AND (tenant_id > ? OR (tenant_id = ? AND user_id >= ?))
                        AND (? OR tenant_id < ? OR (tenant_id = ? AND user_id < ?))
                ) AS stored USING (tenant_id, user_id)
            )
            GROUP BY tenant_id, user_id
        ) AS r USING (tenant_id, user_id)
        -- Advanced only when the stored row says what the touched sessions counted in it:
        -- it carries S5's bound (written since migration 0018), no touched session but the
        -- stored latest one may have been in it, and that one's old facts are not needed
        -- (its old row was an outcome, an Error or a Success that the touched rows replace).
        WHERE st_success_started_at_ms >= 0
            AND r_early = 0
            AND NOT (r_l_touched > 0 AND (
                (st_outcome_session_id = st_l_id AND r_has_outcome = 0)
                OR (st_error_session_id = st_l_id AND r_has_error = 0)
                OR (st_l_status = 'Success' AND r_has_success = 0)))
    ) AS s USING (tenant_id, user_id)
) AS us
ANY LEFT JOIN
(
    -- P2: the latest state event of each profile.
    SELECT
        tenant_id,
        profile_id AS u_profile_id,
        toUInt8(1) AS p_known,
        argMax(change, (occurred_at_ms, event_id)) AS p_change,
        argMax(sync_enabled, (occurred_at_ms, event_id)) AS p_sync_enabled
    FROM profile_state_events
    GROUP BY tenant_id, profile_id
) AS p USING (tenant_id, u_profile_id)
);
