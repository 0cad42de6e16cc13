-- A user's history in the user details: the newest sessions of one user (any start), with
-- the default columns of the session lists (`specs::SESSIONS`); the rows are the same as
-- `sessions.sql` wrapped by the list with `from=0&sort=-started_at_ms&limit=N` (a test
-- compares them: query-api/tests/details.rs). One query level instead of that form's
-- three: ClickHouse 18.16 analyses each nested level again, which cost 12-25 ms per
-- request before any row was read (0 rows: 14-27 ms; this form 2 ms), and there is no
-- window to pre-select candidates by, so the user's key range is merged directly. Only
-- the shown columns are read (no objects report, no exception). The end's tuple is
-- unpacked and the duration computed by the caller (`query_api::query::details`): an
-- alias named like a column would clash with the column inside the aggregates.
-- Order: as the list's `started_at_ms DESC, session_id`.
-- params: tenant_id String = 'acme', user_id String = 'alice', all_profiles UInt8 = 1, profiles Array(String) = ['']
-- params: limit UInt64 = 20
SELECT
    session_id,
    user_id,
    argMax(profile_id, (occurred_at_ms, event_id)) AS m_profile_id,
    max(started_at_ms) AS m_started_at_ms,
    argMaxIf(trigger, (occurred_at_ms, event_id), event_kind = 'session_started') AS m_trigger,
    -- the whole end from one event: the greatest session_ended by (occurred_at_ms, event_id)
    argMaxIf(
        (ended_at_ms, status, scope_items, changes, total_changes, failures, issues,
        conflicts, error_category, error_source, message),
        (occurred_at_ms, event_id), event_kind = 'session_ended') AS m_end
FROM session_events
WHERE tenant_id = ? AND user_id = ?
GROUP BY user_id, session_id
HAVING m_started_at_ms != 0 AND (? = 1 OR has(?, m_profile_id))
ORDER BY m_started_at_ms DESC, session_id
LIMIT ?;
