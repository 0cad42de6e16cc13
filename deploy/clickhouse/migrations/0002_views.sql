-- Stable views for analysts and services. Each reads its raw table without duplicates, so
-- counts are exact whether or not ClickHouse has merged the copies away yet.

-- One row per session: its queued, started and ended events merged, whatever order they
-- arrived in and however often. A session without an end has ended_at_ms = 0, status ''.
-- (Two levels because ClickHouse 18.16 resolves an alias named like a column inside the
-- aggregate that defines it.)
CREATE VIEW IF NOT EXISTS sessions AS
SELECT
    tenant_id,
    user_id,
    session_id,
    m_profile_id AS profile_id,
    m_queued_at_ms AS queued_at_ms,
    m_started_at_ms AS started_at_ms,
    toDateTime(intDiv(m_started_at_ms, 1000)) AS started_at,
    m_ended_at_ms AS ended_at_ms,
    if(m_ended_at_ms = 0, toInt64(0), m_ended_at_ms - m_started_at_ms) AS duration_ms,
    m_trigger AS trigger,
    m_status AS status,
    m_scope_items AS scope_items,
    m_changes AS changes,
    m_total_changes AS total_changes,
    m_failures AS failures,
    m_issues AS issues,
    m_conflicts AS conflicts,
    m_objects_type AS objects_type,
    m_objects_synchronized AS objects_synchronized,
    m_objects_mail_to_crm_created AS objects_mail_to_crm_created,
    m_objects_mail_to_crm_updated AS objects_mail_to_crm_updated,
    m_objects_mail_to_crm_deleted AS objects_mail_to_crm_deleted,
    m_objects_crm_to_mail_created AS objects_crm_to_mail_created,
    m_objects_crm_to_mail_updated AS objects_crm_to_mail_updated,
    m_objects_crm_to_mail_deleted AS objects_crm_to_mail_deleted,
    m_error_category AS error_category,
    m_error_source AS error_source,
    m_message AS message,
    m_exception AS exception,
    m_engine_id AS engine_id,
    m_engine_version AS engine_version
FROM
(
    SELECT
        tenant_id,
        user_id,
        session_id,
        argMax(profile_id, occurred_at_ms) AS m_profile_id,
        minIf(occurred_at_ms, event_kind = 'session_queued') AS m_queued_at_ms,
        max(started_at_ms) AS m_started_at_ms,
        maxIf(ended_at_ms, event_kind = 'session_ended') AS m_ended_at_ms,
        anyIf(trigger, event_kind = 'session_started') AS m_trigger,
        argMaxIf(status, occurred_at_ms, event_kind = 'session_ended') AS m_status,
        argMaxIf(scope_items, occurred_at_ms, event_kind = 'session_ended') AS m_scope_items,
        argMaxIf(changes, occurred_at_ms, event_kind = 'session_ended') AS m_changes,
        argMaxIf(total_changes, occurred_at_ms, event_kind = 'session_ended') AS m_total_changes,
        argMaxIf(failures, occurred_at_ms, event_kind = 'session_ended') AS m_failures,
        argMaxIf(issues, occurred_at_ms, event_kind = 'session_ended') AS m_issues,
        argMaxIf(conflicts, occurred_at_ms, event_kind = 'session_ended') AS m_conflicts,
        argMaxIf(objects_type, occurred_at_ms, event_kind = 'session_ended') AS m_objects_type,
        argMaxIf(objects_synchronized, occurred_at_ms, event_kind = 'session_ended') AS m_objects_synchronized,
        argMaxIf(objects_mail_to_crm_created, occurred_at_ms, event_kind = 'session_ended') AS m_objects_mail_to_crm_created,
        argMaxIf(objects_mail_to_crm_updated, occurred_at_ms, event_kind = 'session_ended') AS m_objects_mail_to_crm_updated,
        argMaxIf(objects_mail_to_crm_deleted, occurred_at_ms, event_kind = 'session_ended') AS m_objects_mail_to_crm_deleted,
        argMaxIf(objects_crm_to_mail_created, occurred_at_ms, event_kind = 'session_ended') AS m_objects_crm_to_mail_created,
        argMaxIf(objects_crm_to_mail_updated, occurred_at_ms, event_kind = 'session_ended') AS m_objects_crm_to_mail_updated,
        argMaxIf(objects_crm_to_mail_deleted, occurred_at_ms, event_kind = 'session_ended') AS m_objects_crm_to_mail_deleted,
        argMaxIf(error_category, occurred_at_ms, event_kind = 'session_ended') AS m_error_category,
        argMaxIf(error_source, occurred_at_ms, event_kind = 'session_ended') AS m_error_source,
        argMaxIf(message, occurred_at_ms, event_kind = 'session_ended') AS m_message,
        argMaxIf(exception, occurred_at_ms, event_kind = 'session_ended') AS m_exception,
        argMax(engine_id, occurred_at_ms) AS m_engine_id,
        argMax(engine_version, occurred_at_ms) AS m_engine_version
    FROM session_events
    GROUP BY tenant_id, user_id, session_id
);

CREATE VIEW IF NOT EXISTS issues AS
SELECT
    tenant_id, profile_id, user_id, session_id, issue_id, event_id, occurred_at_ms, occurred_at,
    engine_id, engine_version, object_type, direction, mail_system, crm_system, object_name,
    operation, error_code, description, error_source, target_object_id
FROM issue_events FINAL;

CREATE VIEW IF NOT EXISTS session_logs AS
SELECT
    tenant_id, profile_id, user_id, session_id, sequence, line_no, at_ms,
    toDateTime(intDiv(at_ms, 1000)) AS at, level, text
FROM log_lines FINAL;

CREATE VIEW IF NOT EXISTS user_state_history AS
SELECT
    tenant_id, profile_id, user_id, event_id, occurred_at_ms, occurred_at, change,
    display_name, mail_account, crm_user_name, mail_system, crm_system, sync_setting,
    crm_token_active, mail_token_authorized, last_token_error, saved_searches_name,
    saved_searches_object_type, saved_searches_conflict_resolution
FROM user_state_events FINAL;

CREATE VIEW IF NOT EXISTS profile_state_history AS
SELECT
    tenant_id, profile_id, event_id, occurred_at_ms, occurred_at, change, name, sync_enabled
FROM profile_state_events FINAL;

CREATE VIEW IF NOT EXISTS admin_audit AS
SELECT
    tenant_id, profile_id, user_id, request_id, command_id, action, issued_by, issued_at_ms,
    issued_at, result, detail, new_mail_account, new_crm_user_name
FROM admin_actions FINAL;
