-- Recomputes the sessions with events ingested in [from_s, to_s) whose
-- cityHash64(tenant_id, user_id) % shards = shard, from all their events, into
-- session_state (see deploy/clickhouse/migrations/0011_session_state.sql): one live row per
-- started session under its current key (profile, start), merged exactly as the `sessions`
-- view merges it, and a tombstone under every other (profile, start) pair of its events —
-- the keys it may have had in an earlier cycle. Sessions not started yet get no row.
-- params: computed_at_ms Int64 = 0, version UInt64 = 1
-- params: from_s UInt32 = 0, to_s UInt32 = 4000000000, shards UInt64 = 1, shard UInt64 = 0
INSERT INTO session_state
(
    tenant_id, profile_id, started_at_ms, user_id, session_id, deleted, queued_at_ms,
    ended_at_ms, duration_ms, trigger, status, scope_items, changes, total_changes, failures,
    issues, conflicts, objects_type, objects_synchronized, objects_mail_to_crm_created,
    objects_mail_to_crm_updated, objects_mail_to_crm_deleted, objects_crm_to_mail_created,
    objects_crm_to_mail_updated, objects_crm_to_mail_deleted, error_category, error_source,
    message, exception, engine_id, engine_version, computed_at_ms, version
)
SELECT
    tenant_id,
    k_profile_id,
    k_started_at_ms,
    user_id,
    session_id,
    toUInt8(k_profile_id != m_profile_id OR k_started_at_ms != m_started_at_ms),
    m_queued_at_ms,
    m_ended_at_ms,
    if(m_ended_at_ms = 0, toInt64(0), m_ended_at_ms - m_started_at_ms),
    m_trigger,
    m_status,
    m_scope_items,
    m_changes,
    m_total_changes,
    m_failures,
    m_issues,
    m_conflicts,
    m_objects_type,
    m_objects_synchronized,
    m_objects_mail_to_crm_created,
    m_objects_mail_to_crm_updated,
    m_objects_mail_to_crm_deleted,
    m_objects_crm_to_mail_created,
    m_objects_crm_to_mail_updated,
    m_objects_crm_to_mail_deleted,
    m_error_category,
    m_error_source,
    m_message,
    m_exception,
    m_engine_id,
    m_engine_version,
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
            argMax(engine_version, occurred_at_ms) AS m_engine_version,
            groupUniqArray(profile_id) AS m_profiles,
            groupUniqArrayIf(started_at_ms, started_at_ms != 0) AS m_starts
        FROM session_events
        WHERE (tenant_id, user_id, session_id) IN
        (
            SELECT tenant_id, user_id, session_id
            FROM session_events
            WHERE ingested_at >= toDateTime(?) AND ingested_at < toDateTime(?)
                AND cityHash64(tenant_id, user_id) % ? = ?
        )
        GROUP BY tenant_id, user_id, session_id
    )
);
