-- The monitor cards of one tenant, limited to the profiles the principal may see: users per
-- sync state and how many had no session for the configured period (the logic of
-- aggregator/sql/monitor_cards.sql).
-- params: tenant_id String = 'acme', all_profiles UInt8 = 1, profiles Array(String) = ['']
SELECT sync_state, count() AS users, countIf(no_recent_session = 1) AS no_recent_session_users
FROM monitor_users
WHERE tenant_id = ? AND (? = 1 OR has(?, profile_id))
GROUP BY sync_state
ORDER BY sync_state;
