-- The log export's `query-api/sql/log_counts.sql` as it was before the key ranges (commit 5d46b28),
-- kept as the "before" of benches/benches/api_logs.rs. Not used by the services.
-- Lines and bytes of text per session of chosen sessions of one user, or of any user when
-- the user is empty (a profile's export, whose sessions the caller checked). The caps of a
-- log export are checked with it before anything is streamed; the ZIP index shows the lines.
-- params: tenant_id String = 'acme', user_id String = 'alice', user_id String = 'alice', sessions Array(String) = ['6f1c2a8e-3b7d-4e59-9a41-0c5d2e7f8b13']
-- params: all_profiles UInt8 = 1, profiles Array(String) = ['']
SELECT session_id, toUInt64(count()) AS lines, toUInt64(sum(length(text))) AS bytes
FROM log_lines FINAL
WHERE tenant_id = ? AND (? = '' OR user_id = ?) AND has(?, session_id)
    AND (? = 1 OR has(?, profile_id))
GROUP BY session_id
ORDER BY session_id;
