-- A profile's sessions started in [from_ms, to_ms), from `session_state`, the aggregator's
-- per-session rows (deploy/clickhouse/migrations/0011_session_state.sql): one key range,
-- where `sessions.sql` would merge the events of the profile's sessions first (6.8 s for
-- 3 days of a 1M-session profile on 18.16). It lags by one aggregator cycle; one user's
-- lists stay on the raw events. FINAL keeps each key's newest row; the tombstones of moved
-- keys are dropped outside it (a filter on a non-key column must not run before FINAL
-- picks the newest row). The principal's profiles are applied too.
-- Binds: `query_api::query::params::ProfileSessions`.
-- params: tenant_id String = 'acme', profile_id String = 'acme-sales', from_ms Int64 = 0, to_ms Int64 = 9223372036854775807
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
    WHERE tenant_id = ? AND profile_id = ? AND started_at_ms >= ? AND started_at_ms < ?
)
WHERE deleted = 0 AND (? = 1 OR has(?, profile_id));
