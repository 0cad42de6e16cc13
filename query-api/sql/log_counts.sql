-- Lines and bytes of text per session of the chosen sessions of a log export: one user's, or
-- a profile's of several users (the caller found them through `sessions.sql` or
-- `profile_sessions.sql` with the principal's scope). The caps of a log export are checked with it before anything is
-- streamed; the ZIP index shows the lines.
-- On the sort key (tenant_id, user_id, session_id, ...), in forms 18.16's key index uses
-- ("user empty or equal" and `has` of the session ids read the whole tenant):
-- - the user as a range: [u, u] for one user's export, ['', ID_MAX] for a profile's;
-- - the (user, session) pairs of the export, `IN` a subquery zipping two equal-length arrays
--   (18.16 takes no array on the right of IN).
-- Binds: `query_api::query::params::LogCounts`.
-- params: tenant_id String = 'acme', user_from String = 'alice', user_to String = 'alice'
-- params: users Array(String) = ['alice'], sessions Array(String) = ['s-a2']
-- params: all_profiles UInt8 = 1, profiles Array(String) = ['']
SELECT session_id, toUInt64(count()) AS lines, toUInt64(sum(length(text))) AS bytes
FROM log_lines FINAL
WHERE tenant_id = ? AND user_id >= ? AND user_id <= ?
    AND (user_id, session_id) IN (SELECT u, s FROM system.one ARRAY JOIN ? AS u, ? AS s)
    AND (? = 1 OR has(?, profile_id))
GROUP BY session_id
ORDER BY session_id;
