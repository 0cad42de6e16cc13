-- The log export's `query-api/sql/log_lines.sql` as it was before the key ranges (commit 5d46b28),
-- kept as the "before" of benches/benches/api_logs.rs. Not used by the services.
-- The log lines of chosen sessions of one user (any user when it is empty), in the order of
-- the given session ids, then as the engine wrote them (the rows of the `session_logs` view, read from `log_lines FINAL`
-- with the tenant and user filters applied before the merge: 18.16 does not push predicates
-- into views). The caller already checked the sessions are visible to the principal.
-- params: tenant_id String = 'acme', user_id String = 'alice', user_id String = 'alice', sessions Array(String) = ['6f1c2a8e-3b7d-4e59-9a41-0c5d2e7f8b13']
-- params: all_profiles UInt8 = 1, profiles Array(String) = [''], sessions Array(String) = ['6f1c2a8e-3b7d-4e59-9a41-0c5d2e7f8b13']
SELECT session_id, at_ms, level, text
FROM log_lines FINAL
WHERE tenant_id = ? AND (? = '' OR user_id = ?) AND has(?, session_id)
    AND (? = 1 OR has(?, profile_id))
ORDER BY indexOf(?, session_id), sequence, line_no;
