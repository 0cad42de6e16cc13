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
-- Binds: `query_api::query::params::Sessions`.
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
    tupleElement(m_end, 1) AS ended_at_ms,
    if(tupleElement(m_end, 1) = 0, toInt64(0), tupleElement(m_end, 1) - m_started_at_ms)
        AS duration_ms,
    m_trigger AS trigger,
    tupleElement(m_end, 2) AS status,
    tupleElement(m_end, 3) AS scope_items,
    tupleElement(m_end, 4) AS changes,
    tupleElement(m_end, 5) AS total_changes,
    tupleElement(m_end, 6) AS failures,
    tupleElement(m_end, 7) AS issues,
    tupleElement(m_end, 8) AS conflicts,
    tupleElement(m_end, 17) AS error_category,
    tupleElement(m_end, 18) AS error_source,
    tupleElement(m_end, 19) AS message,
    tupleElement(m_end, 20) AS exception,
    tupleElement(m_end, 9) AS objects_type,
    tupleElement(m_end, 10) AS objects_synchronized,
    tupleElement(m_end, 11) AS objects_mail_to_crm_created,
    tupleElement(m_end, 12) AS objects_mail_to_crm_updated,
    tupleElement(m_end, 13) AS objects_mail_to_crm_deleted,
    tupleElement(m_end, 14) AS objects_crm_to_mail_created,
    tupleElement(m_end, 15) AS objects_crm_to_mail_updated,
    tupleElement(m_end, 16) AS objects_crm_to_mail_deleted,
    tupleElement(m_engine, 1) AS engine_id,
    tupleElement(m_engine, 2) AS engine_version
FROM
(
    SELECT
        user_id,
        session_id,
        argMax(profile_id, (occurred_at_ms, event_id)) AS m_profile_id,
        minIf(occurred_at_ms, event_kind = 'session_queued') AS m_queued_at_ms,
        max(started_at_ms) AS m_started_at_ms,
        argMaxIf(trigger, (occurred_at_ms, event_id), event_kind = 'session_started') AS m_trigger,
        -- the whole end from one event: the greatest session_ended by (occurred_at_ms, event_id)
        argMaxIf(
            (ended_at_ms, status, scope_items, changes, total_changes, failures, issues,
            conflicts, objects_type, objects_synchronized, objects_mail_to_crm_created,
            objects_mail_to_crm_updated, objects_mail_to_crm_deleted,
            objects_crm_to_mail_created, objects_crm_to_mail_updated,
            objects_crm_to_mail_deleted, error_category, error_source, message, exception),
            (occurred_at_ms, event_id), event_kind = 'session_ended') AS m_end,
        argMax((engine_id, engine_version), (occurred_at_ms, event_id)) AS m_engine
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
