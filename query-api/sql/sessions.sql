-- Sessions of one tenant (optionally one user, one session) the principal may see, started
-- in [from_ms, to_ms): the merge of the `sessions` view, with the filters applied before the
-- merge wherever that keeps the result exact (18.16 does not push predicates into views or
-- subqueries):
-- - tenant, user and session on the sort key. The user and the session are ranges: [u, u]
--   for one, ['', ID_MAX] for any (ID_MAX sorts after every id of the contract's at most
--   256 bytes): ranges the key index uses, which "empty or equal" is not on 18.16 (that
--   scanned the whole tenant for one user's sessions);
-- - the window: only sessions with a row whose started_at_ms is in the window are merged
--   (the merged start is the max of the rows' started_at_ms, so the row holding it is one of
--   them). The candidates are a superset (compared by a 64-bit hash of the session id: a
--   set of integers is several times cheaper than one of strings, and a collision only adds
--   a candidate); the outer WHERE stays the exact test. They are tested in PREWHERE, so
--   the merged columns are read only for granules holding one;
-- - the profiles (the principal's, or the one profile a profile's list asks for) also on
--   the candidate rows: a session is a candidate when one of its rows started in the window
--   in one of them. The merged profile is the latest row's, and that row reports the start
--   too, so the only session missed is one whose user moved to another profile during it
--   AND whose reported starts fall on both sides of the window's edge;
-- - the principal's profiles and the window on the merged row (exact).
-- Binds: `query_api::list::session_binds`.
-- params: tenant_id String = 'acme', user_from String = '', user_to String = '\xF4\x8F\xBF\xBF\xF4\x8F\xBF\xBF', session_from String = '', session_to String = '\xF4\x8F\xBF\xBF'
-- params: from_ms Int64 = 0, to_ms Int64 = 9223372036854775807, all_profiles UInt8 = 1, profiles Array(String) = ['']
-- params: tenant_id String = 'acme', user_from String = '', user_to String = '\xF4\x8F\xBF\xBF', session_from String = '', session_to String = '\xF4\x8F\xBF\xBF'
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
    PREWHERE cityHash64(session_id) IN (
        SELECT cityHash64(session_id)
        FROM session_events
        WHERE tenant_id = ? AND user_id >= ? AND user_id <= ? AND session_id >= ? AND session_id <= ?
            AND started_at_ms >= ? AND started_at_ms < ?
            AND (? = 1 OR has(?, profile_id))
    )
    WHERE tenant_id = ? AND user_id >= ? AND user_id <= ? AND session_id >= ? AND session_id <= ?
    GROUP BY user_id, session_id
)
WHERE m_started_at_ms != 0 AND (? = 1 OR has(?, m_profile_id))
    AND m_started_at_ms >= ? AND m_started_at_ms < ?;
