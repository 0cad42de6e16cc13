-- Example queries for analysts (docs/clickhouse-schema.md shows them with their output).
-- Every one runs on ClickHouse 18.16 and on current ClickHouse: deploy/clickhouse/portability/
-- check.py runs them on both against fixtures.sql and checks they return the same rows.
-- They read only the stable views (and the tables dead_letters and session_counts with
-- FINAL), as the read-only analyst user can. Replace the tenant / session ids with real ones.

-- 1. Sessions per hour over the last 24 hours, per tenant, by outcome.
SELECT
    tenant_id,
    toStartOfHour(started_at) AS hour_start,
    count() AS sessions_started,
    countIf(status = 'Success') AS succeeded,
    countIf(status = 'Error') AS failed,
    countIf(status IN ('Canceled', 'Skipped')) AS canceled_or_skipped,
    countIf(ended_at_ms = 0) AS not_ended
FROM sessions
WHERE started_at >= now() - INTERVAL 24 HOUR
GROUP BY tenant_id, hour_start
ORDER BY tenant_id, hour_start;

-- 2. Failed sessions per error category and source over the last 7 days, per tenant.
SELECT
    tenant_id,
    error_category,
    error_source,
    count() AS failed_sessions,
    uniqExact(user_id) AS users
FROM sessions
WHERE status = 'Error' AND started_at >= now() - INTERVAL 7 DAY
GROUP BY tenant_id, error_category, error_source
ORDER BY tenant_id, failed_sessions DESC, error_category, error_source;

-- 3. Users whose last session failed. The last outcome is that of the latest ended session
--    that was not Skipped (skipped sessions do not change it; running ones have no outcome).
--    Aliases must not repeat a column name used inside their own aggregate (18.16), hence
--    last_*.
SELECT
    tenant_id,
    last_profile_id,
    user_id,
    toDateTime(intDiv(last_started_at_ms, 1000)) AS last_started_at,
    last_error_category,
    last_error_source,
    last_message
FROM
(
    SELECT
        tenant_id,
        user_id,
        argMax(profile_id, started_at_ms) AS last_profile_id,
        max(started_at_ms) AS last_started_at_ms,
        argMax(status, started_at_ms) AS last_status,
        argMax(error_category, started_at_ms) AS last_error_category,
        argMax(error_source, started_at_ms) AS last_error_source,
        argMax(message, started_at_ms) AS last_message
    FROM sessions
    WHERE status IN ('Success', 'Error', 'Canceled')
    GROUP BY tenant_id, user_id
)
WHERE last_status = 'Error'
ORDER BY tenant_id, user_id;

-- 4. Top 3 issue descriptions per error code over the last 7 days (code 1: locked /
--    operation error, 2: already removed, 3: inaccessible or updated prematurely).
SELECT
    error_code,
    description,
    count() AS occurrences,
    uniqExact(user_id) AS users,
    groupUniqArray(object_type) AS object_types
FROM issues
WHERE occurred_at >= now() - INTERVAL 7 DAY
GROUP BY error_code, description
ORDER BY error_code, occurrences DESC, description
LIMIT 3 BY error_code;

-- 5. Issues per profile, object type, direction and operation over the last 7 days.
SELECT
    tenant_id,
    profile_id,
    object_type,
    direction,
    operation,
    count() AS occurrences
FROM issues
WHERE occurred_at >= now() - INTERVAL 7 DAY
GROUP BY tenant_id, profile_id, object_type, direction, operation
ORDER BY tenant_id, profile_id, occurrences DESC, object_type, direction, operation;

-- 6. One session's log, in order ("download logs").
SELECT
    at,
    level,
    text
FROM session_logs
WHERE tenant_id = 'acme' AND session_id = 's-a2'
ORDER BY sequence, line_no;

-- 7. One session's objects report, one row per object type.
SELECT
    session_id,
    status,
    object_type,
    synchronized,
    mail_to_crm_created,
    mail_to_crm_updated,
    mail_to_crm_deleted,
    crm_to_mail_created,
    crm_to_mail_updated,
    crm_to_mail_deleted
FROM sessions
ARRAY JOIN
    objects_type AS object_type,
    objects_synchronized AS synchronized,
    objects_mail_to_crm_created AS mail_to_crm_created,
    objects_mail_to_crm_updated AS mail_to_crm_updated,
    objects_mail_to_crm_deleted AS mail_to_crm_deleted,
    objects_crm_to_mail_created AS crm_to_mail_created,
    objects_crm_to_mail_updated AS crm_to_mail_updated,
    objects_crm_to_mail_deleted AS crm_to_mail_deleted
WHERE tenant_id = 'acme' AND session_id = 's-b1'
ORDER BY object_type;

-- 8. Session duration per tenant and trigger over the last 7 days (ended sessions only).
SELECT
    tenant_id,
    trigger,
    count() AS ended_sessions,
    min(duration_ms) AS min_ms,
    quantileExact(0.5)(duration_ms) AS median_ms,
    max(duration_ms) AS max_ms
FROM sessions
WHERE ended_at_ms != 0 AND started_at >= now() - INTERVAL 7 DAY
GROUP BY tenant_id, trigger
ORDER BY tenant_id, trigger;

-- 9. Sessions started more than an hour ago that never ended (stalled or lost ends).
SELECT
    tenant_id,
    profile_id,
    user_id,
    session_id,
    started_at,
    trigger,
    engine_id
FROM sessions
WHERE ended_at_ms = 0 AND started_at_ms != 0 AND started_at < now() - INTERVAL 1 HOUR
ORDER BY tenant_id, started_at;

-- 10. Each user's current state (latest state event; users whose latest change is Deleted
--     are left out) with the profile's current sync setting.
SELECT
    u.tenant_id AS tenant_id,
    u.user_id AS user_id,
    u.cur_profile_id AS profile_id,
    p.cur_profile_name AS profile_name,
    p.cur_profile_enabled AS profile_sync_enabled,
    u.cur_sync_setting AS sync_setting,
    u.cur_crm_token_active AS crm_token_active,
    u.cur_mail_token_authorized AS mail_token_authorized,
    u.cur_last_token_error AS last_token_error
FROM
(
    SELECT
        tenant_id,
        user_id,
        argMax(profile_id, occurred_at_ms) AS cur_profile_id,
        argMax(change, occurred_at_ms) AS cur_change,
        argMax(sync_setting, occurred_at_ms) AS cur_sync_setting,
        argMax(crm_token_active, occurred_at_ms) AS cur_crm_token_active,
        argMax(mail_token_authorized, occurred_at_ms) AS cur_mail_token_authorized,
        argMax(last_token_error, occurred_at_ms) AS cur_last_token_error
    FROM user_state_history
    GROUP BY tenant_id, user_id
) AS u
LEFT JOIN
(
    SELECT
        tenant_id,
        profile_id AS cur_profile_id,
        argMax(name, occurred_at_ms) AS cur_profile_name,
        argMax(sync_enabled, occurred_at_ms) AS cur_profile_enabled
    FROM profile_state_history
    GROUP BY tenant_id, profile_id
) AS p USING (tenant_id, cur_profile_id)
WHERE u.cur_change != 'Deleted'
ORDER BY tenant_id, user_id;

-- 11. Admin actions of the last 7 days with their current result.
SELECT
    issued_at,
    tenant_id,
    user_id,
    action,
    issued_by,
    result,
    detail
FROM admin_audit
WHERE issued_at >= now() - INTERVAL 7 DAY
ORDER BY issued_at DESC, request_id;

-- 12. Dead letters of the last 7 days by reason and topic (raw table: FINAL drops the rows a
--     redelivery stored twice).
SELECT
    error_kind,
    topic,
    count() AS messages,
    min(received_at) AS first_seen,
    max(received_at) AS last_seen,
    argMax(error_message, received_at_ms) AS latest_message
FROM dead_letters FINAL
WHERE received_at >= now() - INTERVAL 7 DAY
GROUP BY error_kind, topic
ORDER BY messages DESC, error_kind, topic;

-- 13. Users per effective status and sync state, per tenant, from the aggregator's current
--     state (monitor_users: one row per user, deleted users and users of deleted profiles
--     left out).
SELECT
    tenant_id,
    effective_status,
    count() AS users,
    countIf(sync_state = 'NeverSynced') AS never_synced,
    countIf(sync_state = 'InProgress') AS in_progress,
    countIf(sync_state = 'Stalled') AS stalled,
    countIf(sync_state = 'LastSyncFailed') AS last_failed,
    countIf(sync_state = 'LastSyncSucceeded') AS last_succeeded,
    countIf(no_recent_session = 1) AS no_recent_session
FROM monitor_users
GROUP BY tenant_id, effective_status
ORDER BY tenant_id, effective_status;

-- 14. Users whose last outcome is an error, with the error, from the aggregator's current
--     state (the "Last Sync Failed" card is sync_state = 'LastSyncFailed': it leaves out a
--     user whose next session is running, and one who never succeeded).
SELECT
    tenant_id,
    profile_id,
    user_id,
    sync_state,
    effective_status,
    consecutive_failures,
    last_error_category,
    last_error_source,
    last_error_message
FROM monitor_users
WHERE last_outcome = 'Error'
ORDER BY tenant_id, consecutive_failures DESC, user_id;

-- 15. Ended sessions per day and status over the last 7 days, per tenant, from the
--     aggregator's series (a table: read it with FINAL, which keeps each count's newest
--     version).
SELECT
    tenant_id,
    bucket AS day,
    sum(sessions) AS ended_sessions,
    sumIf(sessions, status = 'Success') AS succeeded,
    sumIf(sessions, status = 'Error') AS failed,
    sumIf(sessions, status = 'Canceled') AS canceled,
    sumIf(sessions, status = 'Skipped') AS skipped
FROM session_counts FINAL
WHERE granularity = 'day' AND bucket >= toStartOfDay(now()) - INTERVAL 7 DAY
GROUP BY tenant_id, day
ORDER BY tenant_id, day;

-- 16. "Statistics as of" per tenant: everything ingested before as_of is in the
--     aggregator's tables and views.
SELECT
    tenant_id,
    toDateTime(intDiv(as_of_ms, 1000)) AS statistics_as_of,
    toDateTime(intDiv(newest_event_at_ms, 1000)) AS newest_event_at,
    toDateTime(intDiv(computed_at_ms, 1000)) AS computed_at
FROM tenant_freshness
ORDER BY tenant_id;

-- 17. A profile's sessions of the last 3 days, newest first, from the aggregator's
--     session_state (one range of its sort key; FINAL first, then the tombstones out).
SELECT
    session_id,
    user_id,
    toDateTime(intDiv(started_at_ms, 1000)) AS started,
    duration_ms,
    status,
    message
FROM
(
    SELECT session_id, user_id, started_at_ms, duration_ms, status, message, deleted
    FROM session_state FINAL
    WHERE tenant_id = 'acme' AND profile_id = 'acme-sales'
        AND started_at_ms >= (toInt64(toUnixTimestamp(now())) - 3 * 86400) * 1000
)
WHERE deleted = 0
ORDER BY started_at_ms DESC, session_id;
