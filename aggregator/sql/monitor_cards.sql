-- The monitor cards of one tenant: users per sync state, and how many of them had no
-- session for the configured period.
-- params: tenant_id String = 'acme'
SELECT sync_state, count() AS users, countIf(no_recent_session = 1) AS no_recent_session
FROM monitor_users
WHERE tenant_id = ?
GROUP BY sync_state
ORDER BY sync_state;
