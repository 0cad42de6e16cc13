-- The `sessions` view again (it was created by 0002_views.sql), now deciding every merged
-- field by the total order of docs/status-rules.md, (occurred_at_ms, event_id), where 0002
-- took each ended-session column with its own argMaxIf by occurred_at_ms alone: two end
-- events with the same time could give the status of one and the message of the other, and
-- the end time was the greatest any end reported. Now the whole end (end time, status,
-- counters, objects, error fields, message, exception) comes from one event, the greatest
-- `session_ended` by (occurred_at_ms, event_id), as in aggregator/src/rules.rs (S1) and
-- aggregator/sql/recompute_users.sql; the profile, the engine and the trigger are the
-- greatest event's (of all events; of the `session_started` events) by the same order. Same
-- columns and types as before. query-api/sql/sessions.sql and
-- aggregator/sql/recompute_sessions.sql merge exactly the same way.
-- (Two levels because ClickHouse 18.16 resolves an alias named like a column inside the
-- aggregate that defines it.)
DROP TABLE IF EXISTS sessions;

CREATE VIEW IF NOT EXISTS sessions AS
SELECT
    tenant_id,
    user_id,
    session_id,
    m_profile_id AS profile_id,
    m_queued_at_ms AS queued_at_ms,
    m_started_at_ms AS started_at_ms,
    toDateTime(intDiv(m_started_at_ms, 1000)) AS started_at,
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
    tupleElement(m_end, 9) AS objects_type,
    tupleElement(m_end, 10) AS objects_synchronized,
    tupleElement(m_end, 11) AS objects_mail_to_crm_created,
    tupleElement(m_end, 12) AS objects_mail_to_crm_updated,
    tupleElement(m_end, 13) AS objects_mail_to_crm_deleted,
    tupleElement(m_end, 14) AS objects_crm_to_mail_created,
    tupleElement(m_end, 15) AS objects_crm_to_mail_updated,
    tupleElement(m_end, 16) AS objects_crm_to_mail_deleted,
    tupleElement(m_end, 17) AS error_category,
    tupleElement(m_end, 18) AS error_source,
    tupleElement(m_end, 19) AS message,
    tupleElement(m_end, 20) AS exception,
    tupleElement(m_engine, 1) AS engine_id,
    tupleElement(m_engine, 2) AS engine_version
FROM
(
    SELECT
        tenant_id,
        user_id,
        session_id,
        argMax(profile_id, (occurred_at_ms, event_id)) AS m_profile_id,
        minIf(occurred_at_ms, event_kind = 'session_queued') AS m_queued_at_ms,
        max(started_at_ms) AS m_started_at_ms,
        argMaxIf(trigger, (occurred_at_ms, event_id), event_kind = 'session_started') AS m_trigger,
        argMaxIf(
            (ended_at_ms, status, scope_items, changes, total_changes, failures, issues,
             conflicts, objects_type, objects_synchronized, objects_mail_to_crm_created,
             objects_mail_to_crm_updated, objects_mail_to_crm_deleted,
             objects_crm_to_mail_created, objects_crm_to_mail_updated,
             objects_crm_to_mail_deleted, error_category, error_source, message, exception),
            (occurred_at_ms, event_id), event_kind = 'session_ended') AS m_end,
        argMax((engine_id, engine_version), (occurred_at_ms, event_id)) AS m_engine
    FROM session_events
    GROUP BY tenant_id, user_id, session_id
);
