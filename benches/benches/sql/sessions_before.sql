-- The session list query as it was before the window pushdown (commit 5cb80e5), kept as the
-- "before" baseline of benches/benches/api_latency.rs. Not used by the services.
-- Sessions of one tenant (optionally one user, one session) the principal may see, started
-- in [from_ms, to_ms). The merge of the `sessions` view, with the tenant and user filters
-- applied before the merge (18.16 does not push predicates into views).
-- params: tenant_id String = 'acme', user_id String = '', user_id String = '', session_id String = '', session_id String = ''
-- params: all_profiles UInt8 = 1, profiles Array(String) = [''], from_ms Int64 = 0, to_ms Int64 = 9223372036854775807
SELECT
    session_id,
    user_id,
    m_profile_id AS profile_id,
    m_queued_at_ms AS queued_at_ms,
    m_started_at_ms AS started_at_ms,
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
    m_error_category AS error_category,
    m_error_source AS error_source,
    m_message AS message,
    m_exception AS exception,
    m_objects_type AS objects_type,
    m_objects_synchronized AS objects_synchronized,
    m_objects_mail_to_crm_created AS objects_mail_to_crm_created,
    m_objects_mail_to_crm_updated AS objects_mail_to_crm_updated,
    m_objects_mail_to_crm_deleted AS objects_mail_to_crm_deleted,
    m_objects_crm_to_mail_created AS objects_crm_to_mail_created,
    m_objects_crm_to_mail_updated AS objects_crm_to_mail_updated,
    m_objects_crm_to_mail_deleted AS objects_crm_to_mail_deleted,
    m_engine_id AS engine_id,
    m_engine_version AS engine_version
FROM
(
    SELECT
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
        argMaxIf(error_category, occurred_at_ms, event_kind = 'session_ended') AS m_error_category,
        argMaxIf(error_source, occurred_at_ms, event_kind = 'session_ended') AS m_error_source,
        argMaxIf(message, occurred_at_ms, event_kind = 'session_ended') AS m_message,
        argMaxIf(exception, occurred_at_ms, event_kind = 'session_ended') AS m_exception,
        argMaxIf(objects_type, occurred_at_ms, event_kind = 'session_ended') AS m_objects_type,
        argMaxIf(objects_synchronized, occurred_at_ms, event_kind = 'session_ended') AS m_objects_synchronized,
        argMaxIf(objects_mail_to_crm_created, occurred_at_ms, event_kind = 'session_ended') AS m_objects_mail_to_crm_created,
        argMaxIf(objects_mail_to_crm_updated, occurred_at_ms, event_kind = 'session_ended') AS m_objects_mail_to_crm_updated,
        argMaxIf(objects_mail_to_crm_deleted, occurred_at_ms, event_kind = 'session_ended') AS m_objects_mail_to_crm_deleted,
        argMaxIf(objects_crm_to_mail_created, occurred_at_ms, event_kind = 'session_ended') AS m_objects_crm_to_mail_created,
        argMaxIf(objects_crm_to_mail_updated, occurred_at_ms, event_kind = 'session_ended') AS m_objects_crm_to_mail_updated,
        argMaxIf(objects_crm_to_mail_deleted, occurred_at_ms, event_kind = 'session_ended') AS m_objects_crm_to_mail_deleted,
        argMax(engine_id, occurred_at_ms) AS m_engine_id,
        argMax(engine_version, occurred_at_ms) AS m_engine_version
    FROM session_events
    WHERE tenant_id = ? AND (? = '' OR user_id = ?) AND (? = '' OR session_id = ?)
    GROUP BY user_id, session_id
)
WHERE m_started_at_ms != 0 AND (? = 1 OR has(?, m_profile_id))
    AND m_started_at_ms >= ? AND m_started_at_ms < ?;
