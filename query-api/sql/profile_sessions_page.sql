-- The rows of a page of a profile's sessions, by the keys the page's first step found (the
-- list's query reading only the key, filter and order columns: `FINAL` over a window of a
-- million sessions costs half as much with 3 columns as with 17). One key range of
-- `session_state` with the page's starts, then the exact (start, user, session) keys; the
-- arrays are strings (converted here: 18.16 silently matches nothing when an IN set's type
-- differs from the column's). Same columns as `profile_sessions.sql`.
-- Binds: `query_api::query::params::ProfileSessionsPage`.
-- params: tenant_id String = 'acme', profile_id String = 'acme-sales', starts Array(String) = ['0']
-- params: starts Array(String) = ['0'], users Array(String) = ['alice'], sessions Array(String) = ['s-a2']
-- params: all_profiles UInt8 = 1, profiles Array(String) = ['']
SELECT
    session_id,
    user_id,
    profile_id,
    queued_at_ms,
    started_at_ms,
    ended_at_ms,
    duration_ms,
    trigger,
    status,
    scope_items,
    changes,
    total_changes,
    failures,
    issues,
    conflicts,
    error_category,
    error_source,
    message,
    exception,
    objects_type,
    objects_synchronized,
    objects_mail_to_crm_created,
    objects_mail_to_crm_updated,
    objects_mail_to_crm_deleted,
    objects_crm_to_mail_created,
    objects_crm_to_mail_updated,
    objects_crm_to_mail_deleted,
    engine_id,
    engine_version
FROM
(
    SELECT
        session_id, user_id, profile_id, queued_at_ms, started_at_ms, ended_at_ms, duration_ms,
        trigger, status, scope_items, changes, total_changes, failures, issues, conflicts,
        error_category, error_source, message, exception, objects_type, objects_synchronized,
        objects_mail_to_crm_created, objects_mail_to_crm_updated, objects_mail_to_crm_deleted,
        objects_crm_to_mail_created, objects_crm_to_mail_updated, objects_crm_to_mail_deleted,
        engine_id, engine_version, deleted
    FROM session_state FINAL
    WHERE tenant_id = ? AND profile_id = ?
        AND started_at_ms IN (SELECT toInt64(a) FROM system.one ARRAY JOIN ? AS a)
        AND (started_at_ms, user_id, session_id) IN
            (SELECT toInt64(a), b, c FROM system.one ARRAY JOIN ? AS a, ? AS b, ? AS c)
)
WHERE deleted = 0 AND (? = 1 OR has(?, profile_id));
