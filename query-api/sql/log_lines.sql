-- The log lines of the chosen sessions of a log export, in the order of the export's sessions,
-- then as the engine wrote them (the rows of the `session_logs` view, read from
-- `log_lines FINAL` with the filters applied before the merge: 18.16 does not push predicates
-- into views). The caller already checked the sessions are visible to the principal.
-- The filters are those of `log_counts.sql` (on the sort key). The order: each session's
-- position in `in_order` (the export's session ids, each once), by `transform` (a hash
-- lookup; `indexOf` scanned the array for every line).
-- Binds: `query_api::query::params::LogLines` (`in_order`, then `LogCounts`).
-- params: in_order Array(String) = ['s-a2']
-- params: tenant_id String = 'acme', user_from String = 'alice', user_to String = 'alice'
-- params: users Array(String) = ['alice'], sessions Array(String) = ['s-a2']
-- params: all_profiles UInt8 = 1, profiles Array(String) = ['']
WITH ? AS in_order
SELECT session_id, at_ms, level, text
FROM log_lines FINAL
WHERE tenant_id = ? AND user_id >= ? AND user_id <= ?
    AND (user_id, session_id) IN (SELECT u, s FROM system.one ARRAY JOIN ? AS u, ? AS s)
    AND (? = 1 OR has(?, profile_id))
ORDER BY transform(session_id, in_order, arrayEnumerate(in_order), toUInt32(0)), sequence, line_no;
