-- Recomputes the state of the touched users (see touched_count.sql: the same set, found in
-- ingest_touches by ingestion time) of one range of users (cycle::UserRange; all of them
-- when they fit in one statement), from all their events, and writes one
-- new row each into user_state: the users advance_users.sql could not advance from their
-- stored row (it wrote the others just before, with version advanced_version; 0 when it
-- did not run), and every touched user when it did not run. Mirrors aggregator/src/rules.rs rule by rule (rule ids of
-- docs/status-rules.md in the comments); tests/sql_matches_rules.rs checks they agree.
-- The touched users' sets are written GLOBAL IN so that the file runs as it is anywhere
-- (the portability check, analysts); the aggregator sends IN (cycle::sql::users_query):
-- 18.16 does not use the primary key for a GLOBAL IN set and read every raw row. On a
-- cluster each shard then builds its own users' set from its local tables
-- (distributed_product_mode = 'local'), with profile_state_events named with its database.
-- params: now_ms Int64 = 4102444800000, stall_after_ms Int64 = 3600000
-- params: now_ms Int64 = 4102444800000, no_session_after_ms Int64 = 86400000
-- params: stall_after_ms Int64 = 3600000, now_ms Int64 = 4102444800000, stall_after_ms Int64 = 3600000
-- params: no_session_after_ms Int64 = 86400000, now_ms Int64 = 4102444800000, no_session_after_ms Int64 = 86400000
-- params: computed_at_ms Int64 = 0, version UInt64 = 1
-- params: from_s UInt32 = 0, to_s UInt32 = 4000000000, from_s UInt32 = 0, to_s UInt32 = 4000000000, now_ms Int64 = 4102444800000, now_ms Int64 = 4102444800000, advanced_version UInt64 = 0, from_tenant String = '', from_tenant String = '', from_user String = '', to_end UInt8 = 1, until_tenant String = '', until_tenant String = '', until_user String = ''
-- params: from_s UInt32 = 0, to_s UInt32 = 4000000000, from_s UInt32 = 0, to_s UInt32 = 4000000000, now_ms Int64 = 4102444800000, now_ms Int64 = 4102444800000, advanced_version UInt64 = 0, from_tenant String = '', from_tenant String = '', from_user String = '', to_end UInt8 = 1, until_tenant String = '', until_tenant String = '', until_user String = ''
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
        SELECT tenant_id, user_id FROM (
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
        -- not the users advance_users.sql wrote this cycle (version advanced_version)
        WHERE (tenant_id, user_id) NOT IN
            (SELECT tenant_id, user_id FROM user_state WHERE version = ?)
    )
            -- the statement's range of users (cycle::UserRange)
            AND (tenant_id > ? OR (tenant_id = ? AND user_id >= ?))
            AND (? OR tenant_id < ? OR (tenant_id = ? AND user_id < ?))
        GROUP BY tenant_id, user_id
    ) AS u
    ANY LEFT JOIN
    (
        -- S5. (18.16 prunes a column used only inside a lambda, so the latest success's
        -- start goes in as a second array.)
        SELECT
            *,
            toUInt64(if(l_ever_succeeded = 1,
                arrayCount((x, y) -> x > y, l_error_starts,
                    arrayResize([l_success_started_at_ms], length(l_error_starts), l_success_started_at_ms)),
                length(l_error_starts))) AS l_consecutive_failures
        FROM
        (
        -- S2-S4 over the user's sessions.
        SELECT
            tenant_id,
            user_id,
            toUInt8(1) AS has_sessions,
            argMax(session_id, (s_started_at_ms, session_id)) AS l_session_id,
            max(s_started_at_ms) AS l_started_at_ms,
            argMax(s_ended, (s_started_at_ms, session_id)) AS l_ended,
            argMax(s_ended_at_ms, (s_started_at_ms, session_id)) AS l_ended_at_ms,
            argMax(s_status, (s_started_at_ms, session_id)) AS l_status,
            argMaxIf(s_status, (s_started_at_ms, session_id), s_ended = 1 AND s_status != 'Skipped')
                AS l_outcome,
            argMaxIf(session_id, (s_started_at_ms, session_id), s_ended = 1 AND s_status != 'Skipped')
                AS l_outcome_session_id,
            maxIf(s_started_at_ms, s_ended = 1 AND s_status != 'Skipped') AS l_outcome_started_at_ms,
            toUInt8(countIf(s_ended = 1 AND s_status = 'Success') > 0) AS l_ever_succeeded,
            maxIf(s_started_at_ms, s_ended = 1 AND s_status = 'Success') AS l_success_started_at_ms,
            groupArrayIf(s_started_at_ms, s_ended = 1 AND s_status = 'Error') AS l_error_starts,
            argMaxIf(s_error_category, (s_started_at_ms, session_id), s_ended = 1 AND s_status = 'Error')
                AS l_error_category,
            argMaxIf(s_error_source, (s_started_at_ms, session_id), s_ended = 1 AND s_status = 'Error')
                AS l_error_source,
            argMaxIf(s_message, (s_started_at_ms, session_id), s_ended = 1 AND s_status = 'Error')
                AS l_error_message,
            argMaxIf(session_id, (s_started_at_ms, session_id), s_ended = 1 AND s_status = 'Error')
                AS l_error_session_id,
            maxIf(s_started_at_ms, s_ended = 1 AND s_status = 'Error') AS l_error_started_at_ms,
            max(s_last_event_at_ms) AS l_last_event_at_ms
        FROM
        (
            -- S1: one row per session, merged from its started and ended events.
            SELECT
                tenant_id,
                user_id,
                session_id,
                max(started_at_ms) AS s_started_at_ms,
                toUInt8(countIf(event_kind = 'session_ended') > 0) AS s_ended,
                -- The whole end from one event: the greatest session_ended by
                -- (occurred_at_ms, event_id), as the sessions view and session_state take it.
                argMaxIf((ended_at_ms, status, error_category, error_source, message),
                    (occurred_at_ms, event_id), event_kind = 'session_ended') AS s_end,
                tupleElement(s_end, 1) AS s_ended_at_ms,
                tupleElement(s_end, 2) AS s_status,
                tupleElement(s_end, 3) AS s_error_category,
                tupleElement(s_end, 4) AS s_error_source,
                tupleElement(s_end, 5) AS s_message,
                max(occurred_at_ms) AS s_last_event_at_ms
            FROM session_events
            WHERE (tenant_id, user_id) GLOBAL IN (
        SELECT tenant_id, user_id FROM (
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
        -- not the users advance_users.sql wrote this cycle (version advanced_version)
        WHERE (tenant_id, user_id) NOT IN
            (SELECT tenant_id, user_id FROM user_state WHERE version = ?)
    )
                -- the statement's range of users (cycle::UserRange)
                AND (tenant_id > ? OR (tenant_id = ? AND user_id >= ?))
                AND (? OR tenant_id < ? OR (tenant_id = ? AND user_id < ?))
                AND event_kind IN ('session_started', 'session_ended')
            GROUP BY tenant_id, user_id, session_id
        )
        GROUP BY tenant_id, user_id
        )
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
